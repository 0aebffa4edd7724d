//! `<VirtualHost>`: addresses, names, per-vhost rules and settings, misplaced directives.

use std::net::IpAddr;
use std::time::Duration;

use super::*;
use crate::config::{ProxyVia, VhostAddr};

fn addr(ip: Option<&str>, port: Option<u16>) -> VhostAddr {
    VhostAddr {
        ip: ip.map(|i| i.parse::<IpAddr>().unwrap()),
        port,
    }
}

#[test]
fn two_name_based_vhosts() {
    let c = config(
        "ProxyPass /global/ http://127.0.0.1:9/\n\
         <VirtualHost *:8080>\n\
         ServerName WWW.Example.org:8080\n\
         ServerAlias example.org *.Example.org\n\
         ServerAlias shop?.example.org\n\
         ProxyPass /static/ !\n\
         ProxyPass / http://127.0.0.1:8081/\n\
         ProxyPassReverse / http://127.0.0.1:8081/\n\
         <Location /api/>\n\
         ProxyPass http://127.0.0.1:8082/\n\
         </Location>\n\
         ProxyPreserveHost On\n\
         </VirtualHost>\n\
         <VirtualHost *:8080>\n\
         ServerName api.example.org\n\
         ProxyPassMatch ^/v1/(.*)$ http://127.0.0.1:8083/$1\n\
         ProxyAddHeaders Off\n\
         ProxyVia Full\n\
         ProxyTimeout 7\n\
         ProxyPassInherit Off\n\
         BalancerInherit On\n\
         ProxyRequests Off\n\
         </VirtualHost>\n",
    );
    assert_eq!(
        pass_paths(&c),
        ["/global/"],
        "vhost rules stay in their vhost"
    );
    assert_eq!(c.vhosts.len(), 2);
    let a = &c.vhosts[0];
    assert_eq!(a.origin.to_string(), format!("{FILE}:3"));
    assert_eq!(a.addrs, [addr(None, Some(8080))]);
    assert_eq!(a.server_name.as_deref(), Some("www.example.org"));
    assert_eq!(
        a.server_aliases,
        ["example.org", "*.example.org", "shop?.example.org"]
    );
    let paths: Vec<&str> = a.proxy_pass.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["/api/", "/static/", "/"], "Location rules first");
    assert!(a.proxy_pass[0].from_location);
    assert_eq!(a.proxy_pass_reverse.len(), 1);
    assert_eq!(a.proxy_preserve_host, Some(true));
    assert_eq!(a.proxy_add_headers, None);
    assert_eq!(a.proxy_via, None);
    assert_eq!(a.proxy_timeout, None);
    assert!(a.proxy_pass_inherit);
    let b = &c.vhosts[1];
    assert_eq!(b.server_name.as_deref(), Some("api.example.org"));
    assert!(b.server_aliases.is_empty());
    assert!(b.proxy_pass[0].regex);
    assert_eq!(b.proxy_preserve_host, None);
    assert_eq!(b.proxy_add_headers, Some(false));
    assert_eq!(b.proxy_via, Some(ProxyVia::Full));
    assert_eq!(b.proxy_timeout, Some(Duration::from_secs(7)));
    assert!(!b.proxy_pass_inherit);
    // Only where httpd 2.4 would route differently (reference §9 #1; see
    // where_httpd_routes_a_vhost_differently_it_is_warned_about).
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    assert!(
        c.warnings[0].contains("ProxyPass / in <VirtualHost> www.example.org overlaps")
            && c.warnings[1].contains("ProxyPassInherit Off"),
        "{:?}",
        c.warnings
    );
    // The main server's settings are untouched by the vhosts'.
    assert!(!c.proxy_preserve_host);
    assert!(c.proxy_add_headers);
}

#[test]
fn address_forms() {
    let cases: Vec<(&str, Vec<VhostAddr>)> = vec![
        ("*", vec![addr(None, None)]),
        ("*:80", vec![addr(None, Some(80))]),
        ("*:*", vec![addr(None, None)]),
        ("_default_", vec![addr(None, None)]),
        ("_default_:80", vec![addr(None, Some(80))]),
        ("127.0.0.1:8080", vec![addr(Some("127.0.0.1"), Some(8080))]),
        ("127.0.0.1", vec![addr(Some("127.0.0.1"), None)]),
        ("127.0.0.1:*", vec![addr(Some("127.0.0.1"), None)]),
        ("[::1]:8080", vec![addr(Some("::1"), Some(8080))]),
        ("[::1]", vec![addr(Some("::1"), None)]),
        (
            "127.0.0.1:80 [::1]:80 *:81 127.0.0.1:80",
            vec![
                addr(Some("127.0.0.1"), Some(80)),
                addr(Some("::1"), Some(80)),
                addr(None, Some(81)),
            ],
        ),
    ];
    for (arg, want) in cases {
        let c = config(&format!("<VirtualHost {arg}>\n</VirtualHost>\n"));
        assert_eq!(c.vhosts[0].addrs, want, "{arg}");
        assert_eq!(c.vhosts[0].server_name, None);
    }
    let c = config("<VirtualHost localhost:8080>\n</VirtualHost>\n");
    assert!(!c.vhosts[0].addrs.is_empty());
    for a in &c.vhosts[0].addrs {
        assert!(a.ip.unwrap().is_loopback());
        assert_eq!(a.port, Some(8080));
    }
}

#[test]
fn address_errors() {
    let cases = [
        ("", "<VirtualHost> takes at least one address, such as *:80"),
        ("*:0", "<VirtualHost>: bad port '0' in '*:0'"),
        ("*:http", "<VirtualHost>: bad port 'http' in '*:http'"),
        (
            "1.2.3.4:70000",
            "<VirtualHost>: bad port '70000' in '1.2.3.4:70000'",
        ),
        ("[::1", "<VirtualHost>: unclosed '[' in '[::1'"),
        (
            "[zz]:80",
            "<VirtualHost>: bad IPv6 address '[zz]' in '[zz]:80'",
        ),
        ("[::1]x", "<VirtualHost>: unexpected 'x' in '[::1]x'"),
        (
            "::1",
            "<VirtualHost>: IPv6 addresses must be in brackets: '::1'",
        ),
        (":80", "<VirtualHost>: no address in ':80'"),
    ];
    for (arg, want) in cases {
        let text = format!("{LISTEN}<VirtualHost {arg}>\n</VirtualHost>\n");
        assert_eq!(error(&text), format!("{FILE}:2: {want}"), "{arg}");
    }
}

#[test]
fn misplaced_directives_inside_a_vhost() {
    let cases = [
        ("Listen 127.0.0.1:8081", "Listen cannot occur within <VirtualHost> section"),
        ("StartServers 2", "StartServers cannot occur within <VirtualHost> section"),
        ("PidFile x.pid", "PidFile cannot occur within <VirtualHost> section"),
        ("ScoreboardFile sb", "ScoreboardFile cannot occur within <VirtualHost> section"),
        ("ServerRoot /", "ServerRoot cannot occur within <VirtualHost> section"),
        ("<VirtualHost *>\n</VirtualHost>", "<VirtualHost> cannot occur within <VirtualHost> section"),
        ("Timeout 5", "Timeout inside <VirtualHost> is not supported yet (set it for the whole server)"),
        ("KeepAlive Off", "KeepAlive inside <VirtualHost> is not supported yet (set it for the whole server)"),
        ("LogLevel debug", "LogLevel inside <VirtualHost> is not supported yet (set it for the whole server)"),
        ("BalancerGrowth 3", "BalancerGrowth inside <VirtualHost> is not supported yet (set it for the whole server)"),
        ("ProxyStatus On", "ProxyStatus inside <VirtualHost> is not supported yet (set it for the whole server)"),
        ("ServerName", "ServerName takes one argument, got 0"),
        ("ServerName a b", "ServerName takes one argument, got 2"),
        ("ServerName *.x", "ServerName: bad character '*' in '*.x'"),
        ("ServerAlias", "ServerAlias takes at least one host name"),
        ("ServerAlias a:b", "ServerAlias: bad port 'b' in 'a:b'"),
        ("ProxyRequests On", "forward proxying (ProxyRequests On) is not supported"),
        ("ErrorLog syslog:daemon", "ErrorLog: syslog is not supported, got 'syslog:daemon'"),
        ("ErrorLog |", "ErrorLog: no command after '|' in '|'"),
        ("Frobnicate", "unknown directive 'Frobnicate'"),
    ];
    for (text, want) in cases {
        let text = format!("{LISTEN}<VirtualHost *:80>\n{text}\n</VirtualHost>\n");
        assert_eq!(error(&text), format!("{FILE}:3: {want}"), "{text}");
    }
    assert_eq!(
        error(&format!("{LISTEN}ServerAlias www.example.org\n")),
        format!("{FILE}:2: ServerAlias only used in <VirtualHost>")
    );
}

#[test]
fn error_log_and_load_module_inside_a_vhost() {
    let c = config(
        "<VirtualHost *>\n\
         ErrorLog logs/vhost-error.log\n\
         LoadModule proxy_module modules/mod_proxy.so\n\
         </VirtualHost>\n",
    );
    assert_eq!(
        c.warnings,
        [format!("{FILE}:3: ErrorLog inside <VirtualHost> is ignored: slotgate writes one error log, the main server's")]
    );
    assert_eq!(c.error_log, None);
}

#[test]
fn proxy_pass_inherit_comes_from_the_main_server_unless_set() {
    let c = config(
        "<VirtualHost *>\n</VirtualHost>\n\
         <VirtualHost *:81>\nProxyPassInherit On\n</VirtualHost>\n\
         ProxyPassInherit Off\n",
    );
    assert!(
        !c.vhosts[0].proxy_pass_inherit,
        "the main server's Off, even written later"
    );
    assert!(c.vhosts[1].proxy_pass_inherit);
    let c = config("<VirtualHost *>\n</VirtualHost>\n");
    assert!(c.vhosts[0].proxy_pass_inherit, "default On");
}

#[test]
fn balancers_in_vhosts_share_one_namespace() {
    let c = config(
        "<Proxy balancer://shared>\nBalancerMember http://127.0.0.1:1\n</Proxy>\n\
         <VirtualHost *:8080>\n\
         ServerName a\n\
         <Proxy balancer://own>\n\
         BalancerMember http://127.0.0.1:2\n\
         </Proxy>\n\
         ProxyPass /s balancer://shared lbmethod=bytraffic\n\
         ProxyPass /o balancer://own\n\
         </VirtualHost>\n\
         <VirtualHost *:8080>\n\
         ServerName b\n\
         BalancerMember balancer://own http://127.0.0.1:3\n\
         ProxyPass /o balancer://own\n\
         </VirtualHost>\n",
    );
    let names: Vec<&str> = c.balancers.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["balancer://shared", "balancer://own"]);
    assert_eq!(c.balancers[0].params.lbmethod, "bytraffic");
    assert_eq!(c.balancers[1].members.len(), 2);
    assert_eq!(c.balancers[1].origin.line, 7);
}

#[test]
fn cookie_rules() {
    let c = config(
        "ProxyPassReverseCookiePath /app /\n\
         ProxyPassReverseCookieDomain backend.internal example.org interpolate\n\
         <Location /l>\n\
         ProxyPassReverseCookiePath /l-internal /l\n\
         </Location>\n\
         <VirtualHost *>\n\
         ProxyPassReverseCookieDomain a.internal a.example\n\
         <Location /v>\n\
         ProxyPassReverseCookiePath /v-internal /v\n\
         </Location>\n\
         </VirtualHost>\n",
    );
    let rules = |r: &[crate::config::CookieRule]| -> Vec<(String, String, usize)> {
        r.iter()
            .map(|r| (r.internal.clone(), r.public.clone(), r.origin.line))
            .collect()
    };
    let s = |a: &str| a.to_string();
    assert_eq!(
        rules(&c.cookie_path),
        [(s("/app"), s("/"), 2), (s("/l-internal"), s("/l"), 5)]
    );
    assert_eq!(
        rules(&c.cookie_domain),
        [(s("backend.internal"), s("example.org"), 3)]
    );
    let v = &c.vhosts[0];
    assert_eq!(rules(&v.cookie_path), [(s("/v-internal"), s("/v"), 10)]);
    assert_eq!(
        rules(&v.cookie_domain),
        [(s("a.internal"), s("a.example"), 8)]
    );
    for (text, want) in [
        ("ProxyPassReverseCookiePath /a", "ProxyPassReverseCookiePath takes an internal and a public value, and optionally interpolate"),
        ("ProxyPassReverseCookieDomain a b c d", "ProxyPassReverseCookieDomain takes an internal and a public value, and optionally interpolate"),
        ("ProxyPassReverseCookiePath /a /b frob", "ProxyPassReverseCookiePath: the third argument can only be 'interpolate', got 'frob'"),
    ] {
        assert_eq!(error(&format!("{LISTEN}{text}\n")), format!("{FILE}:2: {want}"), "{text}");
    }
}

#[test]
fn where_httpd_routes_a_vhost_differently_it_is_warned_about() {
    // Reference §9 #1, checked with httpd-oracle (apache2 2.4): with
    // `ProxyPass /shared …` and `ProxyPass /own/main …` in the main server, a
    // vhost with `ProxyPassInherit Off` still proxies /shared/x there, and a
    // vhost's `ProxyPass /own …` loses /own/main/x to the main server's rule
    // (tested first). slotgate does neither, and says so at -t.
    let c = config(
        "ProxyPass /shared http://127.0.0.1:9/shared\n\
         ProxyPass /own/main http://127.0.0.1:9/mainown\n\
         <VirtualHost *:8080>\nServerName inherits.test\n\
         ProxyPass /own http://127.0.0.1:9/own\nProxyPass /other http://127.0.0.1:9/\n\
         </VirtualHost>\n\
         <VirtualHost *:8080>\nServerName alone.test\nProxyPassInherit Off\n\
         ProxyPass /own http://127.0.0.1:9/own\n</VirtualHost>\n",
    );
    let w = c.warnings.join("\n");
    assert!(
        w.contains("ProxyPass /own in <VirtualHost> inherits.test overlaps the main server's ProxyPass /own/main"),
        "{w}"
    );
    assert!(!w.contains("ProxyPass /other in"), "{w}");
    assert!(
        w.contains("ProxyPassInherit Off: the main server's ProxyPass rules (2 in all")
            && w.contains("<VirtualHost> alone.test; httpd 2.4 still applies them"),
        "{w}"
    );
    assert_eq!(w.matches("overlaps").count(), 1, "{w}");
}
