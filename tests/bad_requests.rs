//! Malformed and ambiguous requests (DESIGN "Bad input and faults"): each one
//! gets a 4xx/5xx from the allowed set or a closed connection, and none
//! reaches the origin — in particular no request can be smuggled past
//! slotgate's framing.

mod common;

use common::*;

/// Statuses DESIGN.md allows for a malformed request.
const ALLOWED: [u16; 6] = [400, 413, 414, 431, 501, 505];

/// Sends `bytes` on a fresh connection and checks the answer is a refusal
/// (or a plain close) and that the origin saw nothing. Returns the status, if any.
fn assert_refused(sg: &Slotgate, origin: &Origin, what: &str, bytes: &[u8]) -> Option<u16> {
    let raw = send_raw(sg.port(), bytes);
    let status = if raw.is_empty() {
        None
    } else {
        let r = split_raw_response(&raw).unwrap_or_else(|| {
            panic!(
                "{what}: unparsable answer {:?}",
                String::from_utf8_lossy(&raw)
            )
        });
        assert!(
            ALLOWED.contains(&r.status),
            "{what}: expected one of {ALLOWED:?} or a close, got {}",
            r.summary()
        );
        assert!(r.header("x-origin").is_none(), "{what}: {}", r.summary());
        Some(r.status)
    };
    let seen = origin.recorded();
    assert!(
        seen.is_empty(),
        "{what}: the origin received {:?}",
        seen.iter()
            .map(|r| (&r.method, &r.target))
            .collect::<Vec<_>>()
    );
    status
}

fn proxy() -> (Origin, Slotgate) {
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPass / http://{a}/\n", &[&a]);
    (a, sg)
}

#[test]
fn content_length_with_transfer_encoding_is_refused() {
    let (a, sg) = proxy();
    assert_refused(
        &sg,
        &a,
        "CL + TE",
        b"POST /sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: 41\r\nTransfer-Encoding: chunked\r\n\r\n\
          0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    );
}

#[test]
fn differing_duplicate_content_lengths_are_refused() {
    let (a, sg) = proxy();
    assert_refused(
        &sg,
        &a,
        "CL 5 and CL 6",
        b"POST /sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    );
}

#[test]
fn malformed_content_length_is_refused() {
    let (a, sg) = proxy();
    for cl in ["-1", "5x", "0x10", "1 2", ""] {
        let req = format!("POST /sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: {cl}\r\n\r\nhello");
        assert_refused(&sg, &a, &format!("Content-Length {cl:?}"), req.as_bytes());
    }
}

#[test]
fn bad_chunk_size_is_refused() {
    let (a, sg) = proxy();
    assert_refused(
        &sg,
        &a,
        "chunk size zz",
        b"POST /sha256 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    );
}

#[test]
fn unsupported_transfer_coding_is_refused() {
    let (a, sg) = proxy();
    assert_refused(
        &sg,
        &a,
        "Transfer-Encoding: gzip",
        b"POST /sha256 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nhello",
    );
}

#[test]
fn obsolete_line_folding_is_refused() {
    let (a, sg) = proxy();
    assert_refused(
        &sg,
        &a,
        "obs-fold",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Folded: one\r\n two\r\n\r\n",
    );
}

#[test]
fn bare_line_feeds_are_refused() {
    let (a, sg) = proxy();
    assert_refused(&sg, &a, "bare LF", b"GET / HTTP/1.1\nHost: x\n\n");
}

#[test]
fn space_before_the_colon_is_refused() {
    let (a, sg) = proxy();
    assert_refused(
        &sg,
        &a,
        "space in field name",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Bad : value\r\n\r\n",
    );
}

#[test]
fn unsupported_http_version_is_refused() {
    let (a, sg) = proxy();
    assert_refused(&sg, &a, "HTTP/2.0", b"GET / HTTP/2.0\r\nHost: x\r\n\r\n");
    assert_refused(&sg, &a, "HTTP/3.1", b"GET / HTTP/3.1\r\nHost: x\r\n\r\n");
}

#[test]
fn oversized_request_line_and_headers_are_refused() {
    let (a, sg) = proxy();
    let long_uri = format!(
        "GET /{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(100 * 1024)
    );
    assert_refused(&sg, &a, "100 KiB request line", long_uri.as_bytes());
    let long_header = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(100 * 1024)
    );
    assert_refused(&sg, &a, "100 KiB header", long_header.as_bytes());
}

#[test]
fn well_formed_request_after_refusals_still_works() {
    let (a, sg) = proxy();
    assert_refused(
        &sg,
        &a,
        "CL + TE",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    let r = http_get(sg.port(), "/bytes/10", &[]);
    assert_eq!((r.status, r.body), (200, pattern(10)));
}
