//! Request and response headers through the proxy (reference §8.2, §8.5):
//! Host, X-Forwarded-*, Via, hop-by-hop removal both ways, order kept.

mod common;

use common::*;

/// The values of `name` joined with ", " (how a list header reads as one).
fn joined(values: Vec<&str>) -> String {
    values.join(", ")
}

#[test]
fn host_is_the_targets_and_forwarded_headers_are_added() {
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPass / http://{a}/\n", &[&a]);
    let r = http_get(sg.port(), "/x", &[("Host", "front.example:8080")]);
    assert_eq!(r.status, 200, "{}", r.summary());
    let req = a.last_request();
    assert_eq!(
        req.header_all("host"),
        [a.addr().as_str()],
        "{:?}",
        req.headers
    );
    assert_eq!(
        req.header_names()[0],
        "host",
        "Host comes first: {:?}",
        req.headers
    );
    assert_eq!(req.header_all("x-forwarded-for"), ["127.0.0.1"]);
    assert_eq!(req.header_all("x-forwarded-host"), ["front.example:8080"]);
    assert_eq!(req.header_all("x-forwarded-server"), ["test.local"]);
    assert_eq!(req.version, "HTTP/1.1");
}

#[test]
fn preserve_host_passes_the_clients_host() {
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPreserveHost On\nProxyPass / http://{a}/\n", &[&a]);
    http_get(sg.port(), "/x", &[("Host", "front.example:8080")]);
    let req = a.last_request();
    assert_eq!(
        req.header_all("host"),
        ["front.example:8080"],
        "{:?}",
        req.headers
    );
}

#[test]
fn forwarded_headers_are_appended_to_existing_ones() {
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPass / http://{a}/\n", &[&a]);
    http_get(
        sg.port(),
        "/x",
        &[
            ("Host", "front.example"),
            ("X-Forwarded-For", "10.1.2.3"),
            ("X-Forwarded-Host", "edge.example"),
            ("X-Forwarded-Server", "edge"),
        ],
    );
    let req = a.last_request();
    assert_eq!(
        joined(req.header_all("x-forwarded-for")),
        "10.1.2.3, 127.0.0.1"
    );
    assert_eq!(
        joined(req.header_all("x-forwarded-host")),
        "edge.example, front.example"
    );
    assert_eq!(
        joined(req.header_all("x-forwarded-server")),
        "edge, test.local"
    );
}

#[test]
fn proxy_add_headers_off_adds_no_forwarded_headers() {
    let a = Origin::start("a");
    let sg = start_proxy("ProxyAddHeaders Off\nProxyPass / http://{a}/\n", &[&a]);
    http_get(sg.port(), "/x", &[("X-Forwarded-For", "10.9.9.9")]);
    let req = a.last_request();
    assert!(
        req.header("x-forwarded-host").is_none(),
        "{:?}",
        req.headers
    );
    assert!(
        req.header("x-forwarded-server").is_none(),
        "{:?}",
        req.headers
    );
    // The client's own header is an end-to-end header: passed on unchanged.
    assert_eq!(req.header_all("x-forwarded-for"), ["10.9.9.9"]);
}

#[test]
fn via_is_added_both_ways_with_proxy_via_on() {
    let a = Origin::start("a");
    a.set_response_headers(&[("Via", "1.0 origin-cache")]);
    let sg = start_proxy("ProxyVia On\nProxyPass / http://{a}/\n", &[&a]);
    let me = format!("1.1 test.local:{}", sg.port());
    let r = http_get(sg.port(), "/x", &[("Via", "1.0 upstream")]);
    assert_eq!(r.status, 200, "{}", r.summary());
    let req = a.last_request();
    assert_eq!(joined(req.header_all("via")), format!("1.0 upstream, {me}"));
    assert_eq!(
        joined(r.header_all("via")),
        format!("1.0 origin-cache, {me}")
    );

    let r = http_get(sg.port(), "/y", &[]);
    assert_eq!(joined(a.last_request().header_all("via")), me);
    assert_eq!(
        joined(r.header_all("via")),
        format!("1.0 origin-cache, {me}")
    );
}

#[test]
fn via_is_left_alone_by_default() {
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPass / http://{a}/\n", &[&a]);
    let r = http_get(sg.port(), "/x", &[("Via", "1.0 upstream")]);
    assert_eq!(a.last_request().header_all("via"), ["1.0 upstream"]);
    assert!(r.header("via").is_none(), "{}", r.summary());
}

#[test]
fn hop_by_hop_request_headers_are_removed() {
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPass / http://{a}/\n", &[&a]);
    let r = http_get(
        sg.port(),
        "/x",
        &[
            ("Connection", "X-Listed, close"),
            ("X-Listed", "secret"),
            ("Keep-Alive", "timeout=300"),
            ("TE", "trailers"),
            ("Trailer", "X-Checksum"),
            ("Upgrade", "h2c"),
            ("Proxy-Connection", "keep-alive"),
            ("Proxy-Authorization", "Basic dXNlcjpwYXNz"),
            ("X-End-To-End", "kept"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.summary());
    let req = a.last_request();
    for gone in [
        "x-listed",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "proxy-connection",
        "proxy-authorization",
    ] {
        assert!(
            req.header(gone).is_none(),
            "{gone} reached the origin: {:?}",
            req.headers
        );
    }
    for value in req.header_all("connection") {
        assert!(
            !value.to_ascii_lowercase().contains("x-listed"),
            "client's Connection reached the origin: {:?}",
            req.headers
        );
    }
    assert_eq!(req.header_all("x-end-to-end"), ["kept"]);
}

#[test]
fn hop_by_hop_response_headers_are_removed() {
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPass / http://{a}/\n", &[&a]);
    let r = http_get(sg.port(), "/hop", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(r.text(), "hop-by-hop headers");
    for gone in [
        "x-hop-listed",
        "keep-alive",
        "proxy-authenticate",
        "te",
        "trailer",
        "upgrade",
    ] {
        assert!(
            r.header(gone).is_none(),
            "{gone} reached the client: {}",
            r.summary()
        );
    }
    for value in r.header_all("connection") {
        assert!(
            !value.to_ascii_lowercase().contains("x-hop-listed"),
            "{}",
            r.summary()
        );
    }
    assert_eq!(r.header_all("x-end-to-end"), ["kept"]);
    assert_eq!(r.origin(), "a");
}

#[test]
fn end_to_end_request_headers_keep_their_order_and_repeats() {
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPass / http://{a}/\n", &[&a]);
    let sent = [
        ("X-First", "1"),
        ("Accept", "text/plain"),
        ("X-Dup", "one"),
        ("Cookie", "a=b"),
        ("X-Dup", "two"),
        ("X-Last", "z"),
    ];
    http_get(sg.port(), "/x", &sent);
    let req = a.last_request();
    let wanted: Vec<String> = sent.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
    let got: Vec<(String, String)> = req
        .headers
        .iter()
        .filter(|(n, _)| wanted.contains(&n.to_ascii_lowercase()))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
        .collect();
    let expected: Vec<(String, String)> = sent
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_string()))
        .collect();
    assert_eq!(got, expected, "origin saw {:?}", req.headers);
}

#[test]
fn end_to_end_response_headers_keep_their_order_and_repeats() {
    let a = Origin::start("a");
    a.set_response_headers(&[
        ("X-R1", "first"),
        ("Set-Cookie", "s=1; Path=/"),
        ("X-R2", "second"),
        ("Set-Cookie", "t=2; Path=/"),
    ]);
    let sg = start_proxy("ProxyPass / http://{a}/\n", &[&a]);
    let r = http_get(sg.port(), "/x", &[]);
    let got: Vec<(String, &str)> = r
        .headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.as_str()))
        .filter(|(n, _)| n.starts_with("x-r") || n == "set-cookie")
        .collect();
    let expected: Vec<(String, &str)> = [
        ("x-r1", "first"),
        ("set-cookie", "s=1; Path=/"),
        ("x-r2", "second"),
        ("set-cookie", "t=2; Path=/"),
    ]
    .iter()
    .map(|&(n, v)| (n.to_string(), v))
    .collect();
    assert_eq!(got, expected, "{}", r.summary());
}

#[test]
fn via_names_the_clients_protocol_version() {
    // Reference §8.2 [obs]: the entry carries the client's protocol version. The port is
    // the Host header's, none when Host names none (httpd-oracle, ServerName test.local:
    // `Host: front.example` gives `Via: 1.0 test.local`, `Host: front.example:7777`
    // gives `Via: 1.0 test.local:7777`).
    let a = Origin::start("a");
    let sg = start_proxy("ProxyVia On\nProxyPass / http://{a}/\n", &[&a]);
    let raw = send_raw(sg.port(), b"GET /x HTTP/1.0\r\nHost: front.example\r\n\r\n");
    let r = split_raw_response(&raw).expect("a response");
    assert_eq!(r.status, 200, "{}", r.summary());
    let me = "1.0 test.local";
    assert_eq!(joined(a.last_request().header_all("via")), me);
    assert_eq!(joined(r.header_all("via")), me, "{}", r.summary());
    let raw = send_raw(
        sg.port(),
        b"GET /x HTTP/1.0\r\nHost: front.example:7777\r\n\r\n",
    );
    let r = split_raw_response(&raw).expect("a response");
    assert_eq!(
        joined(r.header_all("via")),
        "1.0 test.local:7777",
        "{}",
        r.summary()
    );
}
