//! `<Location>` with `SetHandler` and `Require` (the handlers of issue #7), and the
//! access rules of a proxied `<Location>`.

use std::net::IpAddr;

use super::*;
use crate::access::{IpNet, Require};
use crate::config::{HandlerKind, LocationHandler};

fn ip(text: &str) -> IpNet {
    IpNet::parse(text).unwrap()
}

fn no_host(_: IpAddr) -> Option<String> {
    None
}

fn allows(h: &LocationHandler, client: &str) -> bool {
    match &h.require {
        None => true,
        Some(r) => r.allows(client.parse().unwrap(), &mut no_host),
    }
}

#[test]
fn handlers_in_file_order_with_their_rules() {
    let c = config(
        "<Location /balancer-manager>\n\
         SetHandler balancer-manager\n\
         Require ip 127.0.0.1 10.0.0.0/8\n\
         Require local\n\
         </Location>\n\
         ProxyPass /server-status !\n\
         <Location /server-status>\n\
         Require all granted\n\
         SetHandler Server-Status\n\
         </Location>\n\
         <Location /metrics>\n\
         SetHandler metrics\n\
         <RequireAll>\n\
         Require ip 10.0.0.0/8\n\
         Require not ip 10.9\n\
         </RequireAll>\n\
         </Location>\n",
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let paths: Vec<(&str, HandlerKind, usize)> = c
        .handlers
        .iter()
        .map(|h| (h.path.as_str(), h.handler, h.origin.line))
        .collect();
    assert_eq!(
        paths,
        [
            ("/balancer-manager", HandlerKind::BalancerManager, 2),
            ("/server-status", HandlerKind::ServerStatus, 8),
            ("/metrics", HandlerKind::Metrics, 12),
        ]
    );
    assert_eq!(
        c.handlers[0].require,
        Some(Require::AnyOf(vec![
            Require::Ip(vec![ip("127.0.0.1"), ip("10.0.0.0/8")]),
            Require::Local,
        ]))
    );
    assert_eq!(c.handlers[1].require, Some(Require::All(true)));
    assert_eq!(
        c.handlers[2].require,
        Some(Require::AllOf(vec![
            Require::Ip(vec![ip("10.0.0.0/8")]),
            Require::Not(Box::new(Require::Ip(vec![ip("10.9")]))),
        ]))
    );
    let m = &c.handlers[2];
    assert!(allows(m, "10.1.2.3"));
    assert!(!allows(m, "10.9.2.3"));
    assert!(!allows(m, "127.0.0.1"));
    // The ProxyPass ... ! rule stays a rule; handlers do not touch routing.
    assert_eq!(pass_paths(&c), ["/server-status"]);
}

#[test]
fn handlers_of_a_virtual_host() {
    let c = config(
        "<Location /status>\n\
         SetHandler server-status\n\
         </Location>\n\
         <VirtualHost *:80>\n\
         ServerName admin.example\n\
         <Location /balancer-manager>\n\
         SetHandler balancer-manager\n\
         Require host example.com\n\
         </Location>\n\
         </VirtualHost>\n",
    );
    assert_eq!(c.handlers.len(), 1);
    assert_eq!(c.handlers[0].require, None);
    let v = &c.vhosts[0];
    assert_eq!(v.handlers.len(), 1);
    assert_eq!(v.handlers[0].path, "/balancer-manager");
    assert_eq!(
        v.handlers[0].require,
        Some(Require::Host(vec!["example.com".into()]))
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn open_balancer_manager_warns() {
    let c = config("<Location /bm>\nSetHandler balancer-manager\n</Location>\n");
    assert_eq!(c.handlers.len(), 1);
    assert_eq!(
        c.warnings,
        [format!(
            "{FILE}:2: <Location /bm> with SetHandler balancer-manager has no Require line \
             (nor Order/Allow/Deny): it refuses every client (403) until one is added, e.g. \
             Require ip 127.0.0.1"
        )]
    );
    // server-status and metrics without a rule are open without a warning (as httpd's).
    let c = config("<Location /s>\nSetHandler server-status\n</Location>\n");
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn set_handler_none_and_last_wins() {
    let c = config("<Location /x>\nSetHandler None\n</Location>\n");
    assert!(c.handlers.is_empty());
    let c = config(
        "<Location /x>\nSetHandler server-status\nSetHandler metrics\nRequire local\n</Location>\n",
    );
    assert_eq!(c.handlers[0].handler, HandlerKind::Metrics);
}

#[test]
fn handler_errors() {
    let cases: &[(&str, &str)] = &[
        (
            "<Location /x>\nSetHandler server-info\n</Location>",
            "3: SetHandler 'server-info' is not supported (balancer-manager, server-status or metrics)",
        ),
        (
            "<Location /x>\nSetHandler\n</Location>",
            "3: SetHandler takes one argument, got 0",
        ),
        (
            "<LocationMatch ^/status>\nSetHandler server-status\n</LocationMatch>",
            "3: SetHandler inside <LocationMatch> is not supported; use <Location path>",
        ),
        (
            "<Location ~ ^/status>\nSetHandler server-status\n</Location>",
            "3: SetHandler inside <Location> is not supported; use <Location path>",
        ),
        (
            "<Location /x>\nProxyPass http://127.0.0.1:1/\nSetHandler metrics\n</Location>",
            "4: SetHandler and ProxyPass (at /etc/slotgate/test.conf:3) in the same <Location>",
        ),
        // Rules are checked with httpd's messages, at the line that has them.
        (
            "<Location /x>\nSetHandler metrics\nRequire ip 10.0.0.300\n</Location>",
            "4: Require ip: '10.0.0.300' is not an IP address or network",
        ),
        (
            "<Location /x>\nSetHandler metrics\nRequire not ip 10.1\n</Location>",
            "4: negative Require directive has no effect in <RequireAny> directive",
        ),
        (
            "<Location /x>\nSetHandler metrics\n<RequireNone>\nRequire ip 10.1\n</RequireNone>\n</Location>",
            "4: negative <RequireNone> directive has no effect in <RequireAny> directive",
        ),
        (
            "<Location /x>\nSetHandler metrics\n<RequireAll>\nRequire not ip 10.1\n</RequireAll>\n</Location>",
            "4: <RequireAll> directive contains only negative authorization directives",
        ),
        (
            "<Location /x>\nSetHandler metrics\n<RequireAny>\n</RequireAny>\n</Location>",
            "4: <RequireAny> directive contains no authorization directives",
        ),
        (
            "<Location /x>\nSetHandler metrics\n<RequireAll>\nRequire local\n<RequireAny>\nRequire all granted\nRequire not local\n</RequireAny>\n</RequireAll>\n</Location>",
            "8: negative Require directive has no effect in <RequireAny> directive",
        ),
        (
            "<Location /x>\nSetHandler metrics\n<RequireAll>\nSetHandler metrics\n</RequireAll>\n</Location>",
            "5: SetHandler cannot occur within <RequireAll> section",
        ),
        (
            "<Location /x>\nSetHandler metrics\n<RequireAll all>\nRequire local\n</RequireAll>\n</Location>",
            "4: <RequireAll> takes no arguments, got 'all'",
        ),
        (
            "<Location /x>\nSetHandler metrics\nRequire valid-user\n</Location>",
            "4: Require valid-user is not supported",
        ),
    ];
    for (text, want) in cases {
        let got = error(&format!("{LISTEN}{text}\n"));
        let want = format!("{FILE}:{want}");
        assert!(
            got.starts_with(&want),
            "{text:?}:\n got {got}\nwant {want}…"
        );
    }
}

/// A proxied Location (no SetHandler) keeps its rules for the proxied requests
/// below it; a `<LocationMatch>` does not enforce them yet, so there a grant is
/// ignored with a warning and a restriction refused.
#[test]
fn rules_of_a_proxied_location() {
    let c = config(
        "<Location /app>\nProxyPass http://127.0.0.1:1/app\nRequire ip 10.0.0.0/8\nOrder allow,deny\n\
         Allow from 10.1\nSatisfy Any\n</Location>\n",
    );
    assert!(c.handlers.is_empty());
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.access.len(), 1);
    let a = &c.access[0];
    assert_eq!(a.section.text(), "/app");
    assert_eq!(
        a.require,
        Some(Require::Ip(vec![
            crate::access::IpNet::parse("10.0.0.0/8").unwrap()
        ]))
    );
    assert_eq!(
        a.compat.as_ref().unwrap().order,
        crate::access::compat::Order::AllowDeny
    );
    assert_eq!(a.satisfy_any, Some(true));
    // <LocationMatch> keeps them too (with its regular expression).
    let c = config(
        "<LocationMatch ^/app.*>\nProxyPass http://127.0.0.1:1/app\nDeny from all\n\
         <RequireAll>\nRequire local\n</RequireAll>\n</LocationMatch>\n",
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.access.len(), 1);
    assert_eq!(c.access[0].section.tag(), "LocationMatch");
    assert!(c.access[0].compat.is_some() && c.access[0].require.is_some());
    let c = config("<Location /s>\nSetHandler server-status\nDeny from all\n</Location>\n");
    let compat = c.handlers[0].compat.as_ref().expect("kept");
    assert_eq!(compat.deny, [crate::access::compat::From::All]);
}
