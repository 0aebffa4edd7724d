//! mod_remoteip's `RemoteIPHeader` (issue #15 point 4): the client address of a
//! request taken from `X-Forwarded-For` / `X-Real-IP` as far as the proxy lists
//! allow, and used by `Require ip`, the access log's `%a`/`%h`, the
//! X-Forwarded-For sent to members and `hashkey=ip` (`%{c}a` stays the
//! connection's peer).
//!
//! Expected values are httpd 2.4's (httpd-oracle with the same directives, a
//! `LogFormat "%a %{c}a %h xff=\"%{X-Forwarded-For}i\" xby=\"%{X-Forwarded-By}i\""`):
//! - no proxy list, `X-Forwarded-For: 203.0.113.5` from 127.0.0.1 →
//!   `a=203.0.113.5 c=127.0.0.1 h=203.0.113.5 xff="-" xby="127.0.0.1"`;
//! - no proxy list, `203.0.113.5, 10.1.1.1` → unchanged (`a=127.0.0.1`, the header
//!   kept): a trusted proxy may not present a private address;
//! - `RemoteIPTrustedProxy 127.0.0.1 8.8.8.0/24`, `RemoteIPInternalProxy 10.0.0.0/8`,
//!   `203.0.113.5, 10.1.1.1, 8.8.8.8` → `a=8.8.8.8 xff="203.0.113.5, 10.1.1.1"
//!   xby="127.0.0.1"`;
//! - `RemoteIPHeader X-Real-IP` with `RemoteIPInternalProxyList` (a file with
//!   `10.0.0.0/8`, a comment line, `127.0.0.1 # tail`) and `Require ip 203.0.113.9`:
//!   `X-Real-IP: 203.0.113.9` gives 200 from 127.0.0.1 and 403 from 127.0.0.2
//!   (not in the list).

mod common;

use common::*;
use std::time::Duration;

const LOG: &str = "LogFormat \"%a %{c}a %h xff=\\\"%{X-Forwarded-For}i\\\" xby=\\\"%{X-Forwarded-By}i\\\"\" ri\nCustomLog remoteip.log ri\n";

fn log_lines(sg: &Slotgate, n: usize) -> Vec<String> {
    wait_lines(&sg.dir().join("remoteip.log"), n, Duration::from_secs(10))
}

#[test]
fn the_client_comes_from_the_header_for_log_and_members() {
    let a = Origin::start("a");
    let sg = start_proxy(
        &format!(
            "{LOG}RemoteIPHeader X-Forwarded-For\nRemoteIPProxiesHeader X-Forwarded-By\n\
             ProxyPass / http://{{a}}/\n"
        ),
        &[&a],
    );
    // Every peer is a trusted proxy when no list is configured.
    let r = http_get(sg.port(), "/one", &[("X-Forwarded-For", "203.0.113.5")]);
    assert_eq!(r.status, 200, "{}", r.summary());
    let seen = a.last_request();
    // The header was used up; the member gets the client, as httpd sends it.
    assert_eq!(seen.header("x-forwarded-for"), Some("203.0.113.5"));
    assert_eq!(seen.header("x-forwarded-by"), Some("127.0.0.1"));
    // A private address from a trusted proxy is not believed: nothing changes.
    let r = http_get(
        sg.port(),
        "/two",
        &[("X-Forwarded-For", "203.0.113.5, 10.1.1.1")],
    );
    assert_eq!(r.status, 200);
    let seen = a.last_request();
    assert_eq!(
        seen.header("x-forwarded-for"),
        Some("203.0.113.5, 10.1.1.1, 127.0.0.1")
    );
    assert_eq!(seen.header("x-forwarded-by"), None);
    let lines = log_lines(&sg, 2);
    assert_eq!(
        lines,
        [
            "203.0.113.5 127.0.0.1 203.0.113.5 xff=\"-\" xby=\"127.0.0.1\"",
            "127.0.0.1 127.0.0.1 127.0.0.1 xff=\"203.0.113.5, 10.1.1.1\" xby=\"-\"",
        ]
    );
}

#[test]
fn trusted_and_internal_proxies() {
    let a = Origin::start("a");
    let sg = start_proxy(
        &format!(
            "{LOG}RemoteIPHeader X-Forwarded-For\nRemoteIPProxiesHeader X-Forwarded-By\n\
             RemoteIPTrustedProxy 127.0.0.1 8.8.8.0/24\nRemoteIPInternalProxy 10.0.0.0/8\n\
             ProxyPass / http://{{a}}/\n"
        ),
        &[&a],
    );
    let r = http_get(
        sg.port(),
        "/",
        &[("X-Forwarded-For", "203.0.113.5, 10.1.1.1, 8.8.8.8")],
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        a.last_request().header("x-forwarded-for"),
        Some("203.0.113.5, 10.1.1.1, 8.8.8.8")
    );
    assert_eq!(
        log_lines(&sg, 1),
        ["8.8.8.8 127.0.0.1 8.8.8.8 xff=\"203.0.113.5, 10.1.1.1\" xby=\"127.0.0.1\""]
    );
}

#[test]
fn require_ip_sees_the_client_of_the_header() {
    // The list file is found relative to ServerRoot.
    let root = TempDir::new();
    root.write("proxies.lst", "10.0.0.0/8\n# comment\n127.0.0.1 # tail\n");
    let sg = Slotgate::start(&format!(
        "ServerRoot \"{}\"\nListen 127.0.0.1:0\nLogLevel warn\n<VirtualHost *:*>\n\
         RemoteIPHeader X-Real-IP\nRemoteIPInternalProxyList proxies.lst\n<Location />\n\
         SetHandler server-status\nRequire ip 203.0.113.9\n</Location>\n</VirtualHost>\n",
        root.path().display()
    ));
    let real = "X-Real-IP: 203.0.113.9\r\n";
    assert_eq!(status_from("127.0.0.1", sg.port(), "/", real), 200);
    assert_eq!(status_from("127.0.0.1", sg.port(), "/", ""), 403);
    // 127.0.0.2 is no proxy of the list: its header is not believed.
    assert_eq!(status_from("127.0.0.2", sg.port(), "/", real), 403);
}

#[test]
fn hashkey_ip_balances_on_the_client_of_the_header() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "RemoteIPHeader X-Forwarded-For\n<Proxy balancer://c>\n\
         BalancerMember http://{a}\nBalancerMember http://{b}\n\
         ProxySet lbmethod=hash hashkey=ip\n</Proxy>\nProxyPass / balancer://c/\n",
        &[&a, &b],
    );
    let member = |k: usize| {
        let ip = format!("198.51.100.{k}");
        let r = http_get(sg.port(), "/", &[("X-Forwarded-For", &ip)]);
        assert_eq!(r.status, 200, "{}", r.summary());
        r.origin().to_string()
    };
    let first: Vec<String> = (1..=40).map(member).collect();
    let again: Vec<String> = (1..=40).map(member).collect();
    assert_eq!(first, again, "one client address, one member");
    // All connections come from 127.0.0.1: only the header's addresses can spread.
    assert!(
        first.iter().any(|m| m == "a") && first.iter().any(|m| m == "b"),
        "{first:?}"
    );
}

#[test]
fn configuration_errors() {
    let dir = TempDir::new();
    for (line, expected) in [
        (
            "RemoteIPTrustedProxy 10.0.0.0/40",
            "RemoteIPTrustedProxy: '10.0.0.0/40' is not an IP address, a network (10.0.0.0/8) or a host name",
        ),
        ("RemoteIPHeader", "RemoteIPHeader takes one argument, got 0"),
        (
            "RemoteIPInternalProxyList missing.lst",
            "RemoteIPInternalProxyList: could not open file",
        ),
        (
            "<Location />\nRemoteIPHeader X-Real-IP\n</Location>",
            "RemoteIPHeader cannot occur within <Location> section",
        ),
    ] {
        let (run, path) = check_config(&dir, "bad.conf", &format!("Listen 127.0.0.1:0\n{line}\n"));
        assert_ne!(run.code(), Some(0), "{line} accepted");
        assert!(
            run.stderr.contains(&path) && run.stderr.contains(expected),
            "{line}: {}",
            run.stderr
        );
    }
    let (run, _) = check_config(
        &dir,
        "good.conf",
        "Listen 127.0.0.1:0\n<IfModule mod_remoteip.c>\nRemoteIPHeader X-Forwarded-For\n\
         RemoteIPTrustedProxy localhost\n</IfModule>\n",
    );
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
}

/// With `RemoteIPProxyProtocol On`, the PROXY header's client is where the walk
/// starts (httpd: `r->useragent_addr`, set from the PROXY header, before the
/// connection's address).
#[test]
fn the_walk_starts_at_the_proxy_protocol_client() {
    let a = Origin::start("a");
    let sg = start_proxy(
        &format!(
            "{LOG}RemoteIPProxyProtocol On\nRemoteIPHeader X-Forwarded-For\n\
             RemoteIPInternalProxy 10.0.0.0/8\nProxyPass / http://{{a}}/\n"
        ),
        &[&a],
    );
    let out = send_raw(
        sg.port(),
        b"PROXY TCP4 10.9.9.9 127.0.0.1 5555 80\r\nGET / HTTP/1.1\r\nHost: x\r\n\
          X-Forwarded-For: 203.0.113.7\r\nConnection: close\r\n\r\n",
    );
    assert!(
        out.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert_eq!(
        a.last_request().header("x-forwarded-for"),
        Some("203.0.113.7")
    );
    let line = &log_lines(&sg, 1)[0];
    assert!(line.starts_with("203.0.113.7 "), "{line}");
    assert!(line.ends_with("xff=\"-\" xby=\"-\""), "{line}");
}
