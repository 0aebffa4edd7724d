//! Host and request-target validation (issue #13, points 2 and 3; RFC 9112
//! §3.2): an HTTP/1.1 request needs exactly one valid Host field, an
//! absolute-form target's authority is the request's host, and a target is a
//! path, `*` for OPTIONS or an http(s) URL without a fragment. Everything else
//! gets 400 and never reaches a member.
//!
//! The answers recorded below are httpd 2.4.71's (tools/httpd-oracle,
//! `ProxyPass / http://origin/`), except where a comment says slotgate differs.

mod common;

use common::*;

const RULES: &str = "ProxyPass / http://{a}/\nProxyPassReverse / http://{a}/\n";

/// Sends `head` (a whole request head) on a fresh connection; returns the answer.
fn send(sg: &Slotgate, head: &[u8]) -> Response {
    let raw = send_raw(sg.port(), head);
    split_raw_response(&raw).unwrap_or_else(|| {
        panic!(
            "{:?}: no response: {:?}",
            String::from_utf8_lossy(head),
            String::from_utf8_lossy(&raw)
        )
    })
}

/// Asserts `head` gets 400 and the origin sees nothing.
fn refused(sg: &Slotgate, origin: &Origin, head: &[u8]) {
    let before = origin.requests();
    let r = send(sg, head);
    let what = String::from_utf8_lossy(head);
    assert_eq!(r.status, 400, "{what:?}: {}", r.summary());
    assert_eq!(
        origin.requests(),
        before,
        "{what:?} reached the origin as {:?}",
        origin.last_request().head
    );
}

/// `GET /x` with these header lines (each ending in CRLF).
fn with_headers(lines: &str) -> Vec<u8> {
    format!("GET /x HTTP/1.1\r\n{lines}Connection: close\r\n\r\n").into_bytes()
}

/// httpd: 400 without Host in HTTP/1.1, 200 in HTTP/1.0; 400 for two Host
/// fields, equal or not, in either version.
#[test]
fn http_1_1_needs_exactly_one_host() {
    let a = Origin::start("a");
    let sg = start_proxy(RULES, &[&a]);
    refused(&sg, &a, b"GET /x HTTP/1.1\r\nConnection: close\r\n\r\n");
    refused(&sg, &a, &with_headers("Host: a.test\r\nHost: b.test\r\n"));
    refused(&sg, &a, &with_headers("Host: a.test\r\nhOsT: a.test\r\n"));
    refused(
        &sg,
        &a,
        b"GET /x HTTP/1.0\r\nHost: a.test\r\nHost: b.test\r\n\r\n",
    );
    let r = send(&sg, b"GET /x HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(a.last_request().target, "/x");
}

/// httpd: 400 for each of these values (its `fix_hostname` rules).
#[test]
fn invalid_host_values_are_refused() {
    let a = Origin::start("a");
    let sg = start_proxy(RULES, &[&a]);
    for value in [
        "",
        "a b",
        "a@b",
        "x/y?",
        "a/b",
        "a?b",
        "a#b",
        "a\x01b",
        "a\x7fb",
        "a:99999",
        "a:80x",
        "a:0",
        "a:",
        "a:b:c",
        "a, b",
        "a..b",
        "a%20b",
        "[::1",
        "::1",
        "[1.2.3.4]",
    ] {
        refused(&sg, &a, &with_headers(&format!("Host: {value}\r\n")));
    }
    for value in [
        "front.test",
        "Front.Test.:8080",
        "a_b",
        "[::1]:81",
        "10.0.0.1",
    ] {
        let r = send(&sg, &with_headers(&format!("Host: {value}\r\n")));
        assert_eq!(r.status, 200, "Host: {value}: {}", r.summary());
        assert_eq!(a.last_request().header("x-forwarded-host"), Some(value));
    }
}

/// An invalid Host used to reach the rewritten Location header
/// (`Location: http://x/y?/foo`); a valid one is what the client sees there.
#[test]
fn an_invalid_host_never_reaches_a_rewritten_location() {
    let a = Origin::start("a");
    let sg = start_proxy(RULES, &[&a]);
    let to = format!("{}/foo", a.url());
    let head = |host: &str| {
        format!("GET /redirect?to={to} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")
            .into_bytes()
    };
    refused(&sg, &a, &head("x/y?"));
    let r = send(&sg, &head("front.test:8080"));
    assert_eq!(r.status, 302, "{}", r.summary());
    assert_eq!(
        r.header("location"),
        Some("http://front.test:8080/foo"),
        "{}",
        r.summary()
    );
}

/// httpd: for `GET http://abs.test/x` with `Host: hdr.test`, X-Forwarded-Host
/// and the rewritten Location carry `abs.test` (RFC 9112 §3.2.2: the Host
/// field is ignored). slotgate also picks the virtual host by the authority
/// and, with ProxyPreserveHost On, sends it as Host.
#[test]
fn an_absolute_form_target_names_the_host() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "<VirtualHost *>\n  ServerName a.test\n  ProxyPass / http://{a}/\n  ProxyPassReverse / http://{a}/\n</VirtualHost>\n\
         <VirtualHost *>\n  ServerName b.test\n  ProxyPreserveHost On\n  ProxyPass / http://{b}/\n  ProxyPassReverse / http://{b}/\n</VirtualHost>\n",
        &[&a, &b],
    );
    let to = format!("{}/foo", b.url());
    let r = send(
        &sg,
        format!("GET http://b.test:8080/redirect?to={to} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(r.status, 302, "{}", r.summary());
    assert_eq!(r.header("x-origin"), Some("b"), "{}", r.summary());
    assert_eq!(
        r.header("location"),
        Some("http://b.test:8080/foo"),
        "{}",
        r.summary()
    );
    let seen = b.last_request();
    assert_eq!(seen.target, format!("/redirect?to={to}"));
    assert_eq!(seen.header_all("host"), ["b.test:8080"]);
    assert_eq!(seen.header("x-forwarded-host"), Some("b.test:8080"));
    // HTTP/1.0 needs no Host field: the authority is the host all the same.
    let r = send(&sg, b"GET HTTP://B.test/x?q HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(r.header("x-origin"), Some("b"), "{}", r.summary());
    assert_eq!(b.last_request().target, "/x?q");
    assert_eq!(b.last_request().header_all("host"), ["B.test"]);
    assert_eq!(a.requests(), 0);
}

/// httpd: 400 for each (a space, a control byte, a fragment, a target that is
/// not a path, `*` but for OPTIONS, another scheme, userinfo, authority-form).
/// slotgate used to answer 505 to a target with a space and forward
/// `/x#frag` as `/x%23frag`. (httpd forwards `?q` as `/?q` and a CONNECT as
/// `CONNECT /`; slotgate refuses both.)
#[test]
fn malformed_targets_are_refused() {
    let a = Origin::start("a");
    let sg = start_proxy(RULES, &[&a]);
    for target in [
        "/a b",
        "/a\x01b",
        "/a\x7fb",
        "/a\tb",
        "/x#frag",
        "/x?q#frag",
        "http://front.test/x#f",
        "x/y",
        "?q",
        "*",
        "front.test:80",
        "ftp://front.test/x",
        "http://u:p@front.test/x",
        "http:///x",
    ] {
        let head =
            format!("GET {target} HTTP/1.1\r\nHost: front.test\r\nConnection: close\r\n\r\n");
        refused(&sg, &a, head.as_bytes());
    }
    refused(
        &sg,
        &a,
        b"CONNECT front.test:80 HTTP/1.1\r\nHost: front.test:80\r\n\r\n",
    );
    // A well-formed line naming another version is still 505.
    let r = send(&sg, b"GET / HTTP/2.0\r\nHost: front.test\r\n\r\n");
    assert_eq!(r.status, 505, "{}", r.summary());
    // OPTIONS * is a valid target (answered locally, never forwarded).
    let r = send(
        &sg,
        b"OPTIONS * HTTP/1.1\r\nHost: front.test\r\nConnection: close\r\n\r\n",
    );
    assert_ne!(r.status, 400, "{}", r.summary());
    assert_eq!(a.requests(), 0);
}
