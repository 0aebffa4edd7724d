//! Name-based virtual hosts: the Host header picks the `<VirtualHost>` by
//! ServerName / ServerAlias (wildcards, case-insensitive, port ignored); no
//! match means the first vhost of the address; a vhost's own ProxyPass rules
//! are tested before the main server's (slotgate's fix of reference §9 #1) and
//! `ProxyPassInherit Off` drops the main server's rules.

mod common;

use common::*;

/// GETs `path` with `Host: host` ("" sends no Host); returns (status, X-Origin or "-").
fn via(sg: &Slotgate, host: &str, path: &str) -> (u16, String) {
    let r = http_get(sg.port(), path, &[("Host", host)]);
    (r.status, r.header("x-origin").unwrap_or("-").to_string())
}

const TWO_VHOSTS: &str = "\
<VirtualHost *>
    ServerName a.test
    ProxyPass / http://{a}/
</VirtualHost>
<VirtualHost *>
    ServerName b.test
    ServerAlias *.b.test other.example b?.test
    ProxyPass / http://{b}/
</VirtualHost>
";

#[test]
fn host_header_picks_the_vhost_by_server_name() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(TWO_VHOSTS, &[&a, &b]);
    assert_eq!(via(&sg, "a.test", "/x"), (200, "a".into()));
    assert_eq!(via(&sg, "b.test", "/x"), (200, "b".into()));
    assert_eq!(b.last_request().target, "/x");
}

#[test]
fn server_alias_with_wildcards_matches() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(TWO_VHOSTS, &[&a, &b]);
    for host in ["www.b.test", "deep.sub.b.test", "other.example", "b1.test"] {
        assert_eq!(via(&sg, host, "/x"), (200, "b".into()), "Host: {host}");
    }
    // `*.b.test` needs something before the dot; `b?.test` exactly one character.
    for host in ["b12.test", "xb.test"] {
        assert_eq!(via(&sg, host, "/x"), (200, "a".into()), "Host: {host}");
    }
}

#[test]
fn host_names_match_case_insensitively_and_without_the_port() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(TWO_VHOSTS, &[&a, &b]);
    assert_eq!(via(&sg, "B.TEST", "/x"), (200, "b".into()));
    assert_eq!(via(&sg, "b.test:8080", "/x"), (200, "b".into()));
    assert_eq!(via(&sg, "WWW.B.Test:81", "/x"), (200, "b".into()));
}

#[test]
fn unknown_host_goes_to_the_first_vhost() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(TWO_VHOSTS, &[&a, &b]);
    assert_eq!(via(&sg, "unknown.example", "/x"), (200, "a".into()));
    // http_get's own Host (127.0.0.1:PORT) matches no name either.
    let r = http_get(sg.port(), "/x", &[]);
    assert_eq!(r.origin(), "a", "{}", r.summary());
}

#[test]
fn http_1_0_request_without_host_goes_to_the_first_vhost() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(TWO_VHOSTS, &[&a, &b]);
    let raw = send_raw(sg.port(), b"GET /x HTTP/1.0\r\n\r\n");
    let r = split_raw_response(&raw)
        .unwrap_or_else(|| panic!("no response: {:?}", String::from_utf8_lossy(&raw)));
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(r.header("x-origin"), Some("a"), "{}", r.summary());
}

#[test]
fn wildcard_alias_does_not_match_the_bare_domain() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "<VirtualHost *>\n    ServerName default.test\n    ProxyPass / http://{a}/\n</VirtualHost>\n<VirtualHost *>\n    ServerName x.test\n    ServerAlias *.b.test\n    ProxyPass / http://{b}/\n</VirtualHost>\n",
        &[&a, &b],
    );
    assert_eq!(via(&sg, "b.test", "/x"), (200, "a".into()));
    assert_eq!(via(&sg, "w.b.test", "/x"), (200, "b".into()));
}

#[test]
fn vhost_any_address_and_port_form_is_accepted() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        &TWO_VHOSTS.replace("<VirtualHost *>", "<VirtualHost *:*>"),
        &[&a, &b],
    );
    assert_eq!(via(&sg, "a.test", "/x"), (200, "a".into()));
    assert_eq!(via(&sg, "b.test", "/x"), (200, "b".into()));
}

#[test]
fn vhost_bound_to_the_listening_port_is_used() {
    // The port is only known after start, so the config is written for a
    // fixed port first, then started on that port. A vhost for another port
    // of the same address is not used. Both ports stay reserved by the test
    // (slotgate's SO_REUSEADDR listener can still bind the first one).
    let a = Origin::start("a");
    let b = Origin::start("b");
    let reserved = PortReservation::new();
    let elsewhere = RefusingPort::new();
    let (port, other) = (reserved.port(), elsewhere.port());
    let sg = Slotgate::start(&render(
        &format!(
            "Listen 127.0.0.1:{port}\nStartServers 1\nServerName main.test\n\
             <VirtualHost 127.0.0.1:{other}>\n    ServerName a.test\n    ProxyPass / http://{{a}}/\n</VirtualHost>\n\
             <VirtualHost 127.0.0.1:{port}>\n    ServerName b.test\n    ProxyPass / http://{{b}}/\n</VirtualHost>\n"
        ),
        &[&a, &b],
    ));
    assert_eq!(sg.port(), port);
    assert_eq!(via(&sg, "a.test", "/x"), (200, "b".into()));
    assert_eq!(via(&sg, "b.test", "/x"), (200, "b".into()));
    assert_eq!(a.requests(), 0);
}

#[test]
fn vhost_rules_are_tested_before_main_server_rules() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "ProxyPass /x/ http://{a}/main/\n<VirtualHost *>\n    ServerName first.test\n</VirtualHost>\n<VirtualHost *>\n    ServerName b.test\n    ProxyPass /x/ http://{b}/vhost/\n</VirtualHost>\n",
        &[&a, &b],
    );
    assert_eq!(via(&sg, "b.test", "/x/1"), (200, "b".into()));
    assert_eq!(b.last_request().target, "/vhost/1");
    // A vhost without its own rule for the path inherits the main server's.
    assert_eq!(via(&sg, "first.test", "/x/1"), (200, "a".into()));
    assert_eq!(a.last_request().target, "/main/1");
}

#[test]
fn main_server_rules_apply_in_a_vhost_after_its_own() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "ProxyPass /shared/ http://{a}/s/\n<VirtualHost *>\n    ServerName b.test\n    ProxyPass /own/ http://{b}/o/\n</VirtualHost>\n",
        &[&a, &b],
    );
    assert_eq!(via(&sg, "b.test", "/own/1"), (200, "b".into()));
    assert_eq!(via(&sg, "b.test", "/shared/1"), (200, "a".into()));
    assert_eq!(a.last_request().target, "/s/1");
}

#[test]
fn proxy_pass_inherit_off_drops_the_main_server_rules() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "ProxyPass /shared/ http://{a}/s/\n<VirtualHost *>\n    ServerName inherit.test\n</VirtualHost>\n<VirtualHost *>\n    ServerName b.test\n    ProxyPassInherit Off\n    ProxyPass /own/ http://{b}/o/\n</VirtualHost>\n",
        &[&a, &b],
    );
    assert_eq!(via(&sg, "b.test", "/own/1"), (200, "b".into()));
    assert_eq!(via(&sg, "b.test", "/shared/1"), (404, "-".into()));
    assert_eq!(via(&sg, "inherit.test", "/shared/1"), (200, "a".into()));
    assert_eq!(a.requests(), 1);
}

#[test]
fn vhost_uses_a_balancer_defined_in_the_main_server() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "<Proxy balancer://c1>\n    BalancerMember http://{a}\n    BalancerMember http://{b}\n</Proxy>\n<VirtualHost *>\n    ServerName lb.test\n    ProxyPass /app/ balancer://c1/\n</VirtualHost>\n",
        &[&a, &b],
    );
    let got: Vec<String> = (0..4).map(|_| via(&sg, "lb.test", "/app/x").1).collect();
    assert_eq!(got, ["a", "b", "a", "b"]);
    assert_eq!(a.last_request().target, "/x");
}

#[test]
fn balancer_defined_inside_a_vhost_serves_it() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "<VirtualHost *>\n    ServerName first.test\n    ProxyPass / http://{a}/\n</VirtualHost>\n<VirtualHost *>\n    ServerName lb.test\n    <Proxy balancer://inner>\n        BalancerMember http://{b}\n    </Proxy>\n    ProxyPass / balancer://inner/\n</VirtualHost>\n",
        &[&a, &b],
    );
    assert_eq!(via(&sg, "lb.test", "/x"), (200, "b".into()));
    assert_eq!(via(&sg, "first.test", "/x"), (200, "a".into()));
}

#[test]
fn vhost_without_a_matching_rule_answers_404() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        TWO_VHOSTS
            .replace("ProxyPass / http://{b}/", "ProxyPass /only/ http://{b}/")
            .as_str(),
        &[&a, &b],
    );
    assert_eq!(via(&sg, "b.test", "/elsewhere"), (404, "-".into()));
    assert_eq!(via(&sg, "b.test", "/only/x"), (200, "b".into()));
}

#[test]
fn vhost_reverse_rules_use_the_vhost_mapping() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "<VirtualHost *>\n    ServerName a.test\n    ProxyPass /pa/ http://{a}/\n    ProxyPassReverse /pa/ http://{a}/\n</VirtualHost>\n<VirtualHost *>\n    ServerName b.test\n    ProxyPass /pb/ http://{a}/\n    ProxyPassReverse /pb/ http://{a}/\n</VirtualHost>\n",
        &[&a, &b],
    );
    let to = format!("{}/next", a.url());
    let r = http_get(
        sg.port(),
        &format!("/pb/redirect?to={to}"),
        &[("Host", "b.test")],
    );
    assert_eq!(r.status, 302, "{}", r.summary());
    assert_eq!(
        r.header("location"),
        Some("http://b.test/pb/next"),
        "{}",
        r.summary()
    );
}
