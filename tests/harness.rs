//! Tests of the harness itself (origin, client, data), without the daemon, so a
//! failure elsewhere can be told apart from a broken harness.

mod common;

use common::*;
use std::time::Duration;

#[test]
fn pattern_is_deterministic_and_streamed_hash_matches() {
    assert_eq!(pattern(1000), pattern(1000));
    assert_ne!(pattern(1000)[..999], pattern(999)[..]);
    assert_eq!(pattern_sha256(100_000), sha256_hex(&pattern(100_000)));
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn origin_serves_fixed_chunked_and_close_delimited_bodies() {
    let origin = Origin::start("a");
    for path in ["/bytes/100000", "/chunked/100000", "/close/100000"] {
        let r = http_get(origin.port(), path, &[]);
        assert_eq!(r.status, 200, "{path}: {}", r.summary());
        assert_eq!(r.origin(), "a");
        assert_eq!(r.body.len(), 100_000, "{path}");
        assert_eq!(sha256_hex(&r.body), pattern_sha256(100_000), "{path}");
    }
    let r = http_get(origin.port(), "/chunked/5000", &[]);
    assert!(r.chunked, "{}", r.summary());
    assert_eq!(origin.requests(), 4);
}

#[test]
fn origin_hashes_request_bodies_in_both_framings() {
    let origin = Origin::start("a");
    let body = pattern(300_000);
    let r = http_request(origin.port(), "POST", "/sha256", &[], Some(&body));
    assert_eq!(r.text(), format!("{} 300000", pattern_sha256(300_000)));
    let chunked = chunk_encode(&body, &[1, 999, 70_000]);
    let r = http_request(
        origin.port(),
        "POST",
        "/sha256",
        &[("Transfer-Encoding", "chunked")],
        Some(&chunked),
    );
    assert_eq!(r.text(), format!("{} 300000", pattern_sha256(300_000)));
    let rec = origin.last_request();
    assert_eq!(rec.body_len, 300_000);
    assert_eq!(rec.header("transfer-encoding"), Some("chunked"));
}

#[test]
fn client_keeps_alive_and_reads_pipelined_responses() {
    let origin = Origin::start("a");
    let mut c = Client::connect(origin.port());
    assert_eq!(c.get("/x").text(), "origin a");
    let r = c.request("HEAD", "/bytes/10", &[], None);
    assert_eq!(r.header("content-length"), Some("10"));
    assert!(r.body.is_empty());
    assert_eq!(c.get("/status/204").status, 204);
    let mut batch = Vec::new();
    for p in ["/bytes/7", "/chunked/9", "/headers"] {
        batch.extend(request_bytes(origin.port(), "GET", p, &[], None));
    }
    c.send(&batch);
    assert_eq!(c.read_response("GET").body, pattern(7));
    assert_eq!(c.read_response("GET").body, pattern(9));
    assert!(c
        .read_response("GET")
        .text()
        .starts_with("GET /headers HTTP/1.1\r\n"));
    assert_eq!(origin.connections(), 1);
    assert_eq!(origin.requests(), 6);
}

#[test]
fn origin_modes_change_its_answers() {
    let origin = Origin::start("b");
    origin.set_mode(Mode::Status(503));
    assert_eq!(http_get(origin.port(), "/", &[]).status, 503);
    origin.set_mode(Mode::Slow(Duration::from_millis(100)));
    assert_eq!(http_get(origin.port(), "/", &[]).text(), "origin b");
    origin.set_mode(Mode::CloseWithoutResponse);
    let raw = send_raw(
        origin.port(),
        &request_bytes(origin.port(), "GET", "/", &[], None),
    );
    assert!(raw.is_empty(), "{:?}", String::from_utf8_lossy(&raw));
    origin.set_mode(Mode::Normal);
    let r = http_get(origin.port(), "/redirect?to=http://x/y", &[]);
    assert_eq!((r.status, r.header("location")), (302, Some("http://x/y")));
    assert_eq!(origin.requests(), 4);
    let rec = origin.last_request();
    assert_eq!(rec.target, "/redirect?to=http://x/y");
    assert_eq!(rec.header_names(), ["host", "connection"]);
}

#[test]
fn hanging_origin_stops_on_drop() {
    let origin = Origin::start("h");
    origin.set_mode(Mode::Hang);
    let mut c = Client::connect(origin.port());
    c.send(&request_bytes(origin.port(), "GET", "/", &[], None));
    assert!(origin.wait_requests(1, Duration::from_secs(5)));
    drop(origin);
    // The origin closed the connection without answering.
    assert!(c.try_read_response("GET").is_err());
}
