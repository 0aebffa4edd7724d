//! Message bodies through the proxy (reference §8.3, §8.5): Content-Length
//! and chunked request bodies, fixed, chunked and close-delimited responses,
//! bodiless responses (HEAD, 204, 304), keep-alive and pipelining.

mod common;

use common::*;

const MIB: usize = 1024 * 1024;

fn proxy_to(a: &Origin) -> Slotgate {
    start_proxy("ProxyPass / http://{a}/\n", &[a])
}

#[test]
fn large_content_length_request_body_arrives_intact() {
    let a = Origin::start("a");
    let sg = proxy_to(&a);
    let body = pattern(8 * MIB);
    let r = http_request(sg.port(), "POST", "/sha256", &[], Some(&body));
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(r.text(), format!("{} {}", sha256_hex(&body), body.len()));
    assert_eq!(a.last_request().body_len, body.len() as u64);
}

#[test]
fn large_chunked_request_body_arrives_intact() {
    let a = Origin::start("a");
    let sg = proxy_to(&a);
    let body = pattern(8 * MIB);
    let encoded = chunk_encode(&body, &[1, 1000, 65_536, 7, 300_000]);
    let r = http_request(
        sg.port(),
        "POST",
        "/sha256",
        &[("Transfer-Encoding", "chunked")],
        Some(&encoded),
    );
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(r.text(), format!("{} {}", sha256_hex(&body), body.len()));
}

#[test]
fn small_bodies_arrive_intact_in_both_framings() {
    let a = Origin::start("a");
    let sg = proxy_to(&a);
    let r = http_request(sg.port(), "POST", "/sha256", &[], Some(b"hello"));
    assert_eq!(r.text(), format!("{} 5", sha256_hex(b"hello")));
    assert_eq!(a.last_request().body_prefix, b"hello");
    let r = http_request(
        sg.port(),
        "PUT",
        "/sha256",
        &[("Transfer-Encoding", "chunked")],
        Some(&chunk_encode(b"hello world", &[3])),
    );
    assert_eq!(r.text(), format!("{} 11", sha256_hex(b"hello world")));
    let req = a.last_request();
    assert_eq!(
        (req.method.as_str(), req.body_prefix.as_slice()),
        ("PUT", &b"hello world"[..])
    );
}

#[test]
fn empty_post_reaches_the_origin_without_a_body() {
    let a = Origin::start("a");
    let sg = proxy_to(&a);
    let r = http_request(sg.port(), "POST", "/sha256", &[], Some(b""));
    assert_eq!(r.text(), format!("{} 0", sha256_hex(b"")));
}

#[test]
fn large_fixed_length_response_arrives_intact() {
    let a = Origin::start("a");
    let sg = proxy_to(&a);
    let n = 8 * MIB;
    let r = http_get(sg.port(), &format!("/bytes/{n}"), &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some(n.to_string().as_str()));
    assert_eq!(r.body.len(), n);
    assert_eq!(sha256_hex(&r.body), pattern_sha256(n as u64));
}

#[test]
fn chunked_response_arrives_intact() {
    let a = Origin::start("a");
    let sg = proxy_to(&a);
    let n = 3 * MIB + 17;
    let r = http_get(sg.port(), &format!("/chunked/{n}"), &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), n);
    assert_eq!(sha256_hex(&r.body), pattern_sha256(n as u64));
}

#[test]
fn close_delimited_response_arrives_intact() {
    let a = Origin::start("a");
    let sg = proxy_to(&a);
    let n = 2 * MIB + 5;
    let r = http_get(sg.port(), &format!("/close/{n}"), &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), n);
    assert_eq!(sha256_hex(&r.body), pattern_sha256(n as u64));
}

#[test]
fn close_delimited_response_keeps_a_keep_alive_client_correct() {
    // However slotgate frames it (chunked, or closing the client connection),
    // the client must be able to tell where the body ends.
    let a = Origin::start("a");
    let sg = proxy_to(&a);
    let mut c = Client::connect(sg.port());
    let r = c.get("/close/1000");
    assert_eq!(r.body, pattern(1000), "{}", r.summary());
    let closes = r
        .header_all("connection")
        .iter()
        .any(|v| v.eq_ignore_ascii_case("close"));
    if !closes {
        assert_eq!(c.get("/bytes/10").body, pattern(10));
    }
}

#[test]
fn head_response_has_no_body() {
    let a = Origin::start("a");
    let sg = proxy_to(&a);
    let mut c = Client::connect(sg.port());
    let r = c.request("HEAD", "/bytes/5000", &[], None);
    assert_eq!(r.status, 200, "{}", r.summary());
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-length"), Some("5000"), "{}", r.summary());
    assert_eq!(a.last_request().method, "HEAD");
    // Had a body followed the head, this response would be garbage.
    let r = c.get("/bytes/10");
    assert_eq!(r.body, pattern(10), "{}", r.summary());
}

#[test]
fn no_content_and_not_modified_have_no_body() {
    let a = Origin::start("a");
    let sg = proxy_to(&a);
    let mut c = Client::connect(sg.port());
    assert_eq!(c.get("/status/204").status, 204);
    assert_eq!(c.get("/status/304").status, 304);
    let r = c.get("/bytes/33");
    assert_eq!((r.status, r.body), (200, pattern(33)));
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let a = Origin::start("a");
    let sg = proxy_to(&a);
    let mut c = Client::connect(sg.port());
    for n in [1usize, 100, 10_000, 70_000, 5] {
        let r = c.get(&format!("/bytes/{n}"));
        assert_eq!(r.status, 200, "{}", r.summary());
        assert_eq!(r.body, pattern(n));
    }
    let r = c.request("POST", "/sha256", &[], Some(b"abc"));
    assert_eq!(r.text(), format!("{} 3", sha256_hex(b"abc")));
    assert_eq!(a.requests(), 6);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let a = Origin::start("a");
    let sg = proxy_to(&a);
    let mut c = Client::connect(sg.port());
    let mut batch = Vec::new();
    batch.extend(request_bytes(sg.port(), "GET", "/bytes/100", &[], None));
    batch.extend(request_bytes(sg.port(), "GET", "/chunked/5000", &[], None));
    batch.extend(request_bytes(
        sg.port(),
        "POST",
        "/sha256",
        &[],
        Some(b"xyz"),
    ));
    batch.extend(request_bytes(sg.port(), "GET", "/bytes/7", &[], None));
    c.send(&batch);
    assert_eq!(c.read_response("GET").body, pattern(100));
    assert_eq!(c.read_response("GET").body, pattern(5000));
    assert_eq!(
        c.read_response("POST").text(),
        format!("{} 3", sha256_hex(b"xyz"))
    );
    assert_eq!(c.read_response("GET").body, pattern(7));
}

#[test]
fn connection_close_from_the_client_is_honoured() {
    let a = Origin::start("a");
    let sg = proxy_to(&a);
    let mut c = Client::connect(sg.port());
    let r = c.request("GET", "/bytes/10", &[("Connection", "close")], None);
    assert_eq!(r.body, pattern(10));
    assert!(
        c.closed_by_peer(std::time::Duration::from_secs(10)),
        "slotgate kept the connection open after Connection: close"
    );
}

#[test]
fn expect_continue_request_body_arrives_intact() {
    let a = Origin::start("a");
    let sg = proxy_to(&a);
    let body = pattern(100_000);
    let mut c = Client::connect(sg.port());
    // Head and body in one go, as clients do once they stop waiting for 100.
    c.send(&request_bytes(
        sg.port(),
        "POST",
        "/sha256",
        &[("Expect", "100-continue")],
        Some(&body),
    ));
    let r = c.read_response("POST");
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(r.text(), format!("{} 100000", sha256_hex(&body)));
}
