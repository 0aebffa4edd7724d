//! mod_proxy's environment switches (issue #15 §2), set by `SetEnvIf` and read
//! where the request goes to the member. What httpd does, asked of
//! httpd-oracle (Apache/2.4.71, `ProxyPass / http://origin/`, the same
//! `SetEnvIf` lines, an origin recording what it received), 2026-12-07:
//! - `force-proxy-request-1.0`: `POST /f10 HTTP/1.0`, no `Connection` header,
//!   every request on a new member connection; a chunked body (5 bytes, and
//!   40000 bytes) arrives with `Content-Length`; a client's
//!   `Expect: 100-continue` gets `100 Continue` from httpd and the member sees
//!   no `Expect`.
//! - `proxy-sendcl`: a chunked body of 40000 bytes arrives with
//!   `Content-Length: 40000` and `Connection: Keep-Alive`.
//! - `proxy-sendchunked` (and no switch): a chunked body of 40000 bytes
//!   arrives chunked. (httpd sends a chunked body it could read whole before
//!   connecting, ≤ 16 KiB, with a Content-Length even without a switch;
//!   slotgate streams: see README.)
//! - `proxy-interim-response` unset: a member's `103 Early Hints` with a
//!   `Link` header reaches an HTTP/1.1 client, header included; `Suppress`:
//!   the client sees only the 200.
//! - `proxy-nokeepalive`: `Connection: close` to the member.
//! - `proxy-initial-not-pooled`: documented as "no pooled connection will be
//!   reused if the client request is the initial request on the frontend
//!   connection"; the oracle's first request went on a new connection with
//!   `Connection: Keep-Alive`, and the second request of the same client
//!   connection reused it.

mod common;

use common::wire::*;
use common::*;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

const SWITCHES: &str = r#"
SetEnvIf Request_URI "^/f10" force-proxy-request-1.0=1
SetEnvIf Request_URI "^/scl" proxy-sendcl=1
SetEnvIf Request_URI "^/both" proxy-sendcl=1
SetEnvIf Request_URI "^/both" proxy-sendchunked=1
SetEnvIf Request_URI "^/sup" proxy-interim-response=Suppress
SetEnvIf Request_URI "^/inp" proxy-initial-not-pooled=1
SetEnvIf Request_URI "^/nka" proxy-nokeepalive=1
ProxyPass / http://{a}/
"#;

/// An origin that records each request and answers `200 ok`, after a
/// `103 Early Hints` when the path holds "interim"; it closes when asked to.
fn recording_origin() -> RawOrigin {
    RawOrigin::start("a", |conn| {
        while let Some(req) = conn.read_request() {
            if req.target.contains("interim") {
                conn.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n");
            }
            let close = req.wants_close() || req.minor == 0;
            let answer: &[u8] = match close {
                true => b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                false => b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            };
            if !conn.write(answer) || close {
                break;
            }
        }
    })
}

/// A chunked POST of `len` bytes of 'x' to `path` on `client`; returns the status.
fn post_chunked(client: &mut Client, path: &str, len: usize) -> u16 {
    let body = vec![b'x'; len];
    let mut bytes =
        format!("POST {path} HTTP/1.1\r\nHost: front\r\nTransfer-Encoding: chunked\r\n\r\n")
            .into_bytes();
    for part in body.chunks(7000) {
        bytes.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        bytes.extend_from_slice(part);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    client.send(&bytes);
    client.read_response("POST").status
}

/// The request the origin recorded for `path`.
fn seen(origin: &RawOrigin, path: &str) -> RawRequest {
    assert!(
        origin.wait_until(WAIT, |o| o.requests().iter().any(|r| r.target == path)),
        "the origin never saw {path}: {}",
        origin.summary()
    );
    origin
        .requests()
        .into_iter()
        .find(|r| r.target == path)
        .unwrap()
}

#[test]
fn force_proxy_request_1_0_sends_http_1_0_with_a_length_and_no_connection_header() {
    let a = recording_origin();
    let sg = start_proxy_raw(SWITCHES, &[&a]);
    let mut client = Client::connect(sg.port());
    assert_eq!(post_chunked(&mut client, "/f10-small", 5), 200);
    assert_eq!(post_chunked(&mut client, "/f10-big", 40_000), 200);
    for (path, len) in [("/f10-small", 5), ("/f10-big", 40_000)] {
        let r = seen(&a, path);
        assert_eq!(r.minor, 0, "{path}: {}", String::from_utf8_lossy(&r.head));
        assert_eq!(r.header("Connection"), None, "{path}");
        assert_eq!(r.header("Transfer-Encoding"), None, "{path}");
        assert_eq!(r.header("Content-Length"), Some(len.to_string().as_str()));
        assert_eq!(r.body, vec![b'x'; len], "{path}");
    }
    // Each on a connection of its own: an HTTP/1.0 request keeps none.
    assert_eq!(a.accepted(), 2, "{}", a.summary());
}

#[test]
fn force_proxy_request_1_0_answers_expect_itself() {
    let a = recording_origin();
    let sg = start_proxy_raw(SWITCHES, &[&a]);
    let raw = send_raw(
        sg.port(),
        b"POST /f10-expect HTTP/1.1\r\nHost: front\r\nExpect: 100-continue\r\n\
          Content-Length: 5\r\nConnection: close\r\n\r\nhello",
    );
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 "),
        "{text}"
    );
    let r = seen(&a, "/f10-expect");
    assert_eq!(r.minor, 0);
    assert_eq!(r.header("Expect"), None);
    assert_eq!(r.body, b"hello");
}

#[test]
fn proxy_sendcl_sends_a_chunked_body_with_its_length_unless_sendchunked_too() {
    let a = recording_origin();
    let sg = start_proxy_raw(SWITCHES, &[&a]);
    let mut client = Client::connect(sg.port());
    assert_eq!(post_chunked(&mut client, "/scl", 40_000), 200);
    assert_eq!(post_chunked(&mut client, "/both", 40_000), 200);
    assert_eq!(post_chunked(&mut client, "/plain", 40_000), 200);
    let r = seen(&a, "/scl");
    assert_eq!(r.minor, 1);
    assert_eq!(r.header("Content-Length"), Some("40000"));
    assert_eq!(r.header("Transfer-Encoding"), None);
    assert_eq!(r.header("Connection"), Some("Keep-Alive"));
    assert_eq!(r.body, vec![b'x'; 40_000]);
    // Both switches, or none: streamed chunked, as httpd does with a body
    // too large to read before connecting.
    for path in ["/both", "/plain"] {
        let r = seen(&a, path);
        assert_eq!(r.header("Transfer-Encoding"), Some("chunked"), "{path}");
        assert_eq!(r.header("Content-Length"), None, "{path}");
        assert_eq!(r.body, vec![b'x'; 40_000], "{path}");
    }
}

#[test]
fn interim_answers_reach_the_client_with_their_headers_unless_suppressed() {
    let a = recording_origin();
    let sg = start_proxy_raw(SWITCHES, &[&a]);
    let get = |path: &str| {
        let req = format!("GET {path} HTTP/1.1\r\nHost: front\r\nConnection: close\r\n\r\n");
        String::from_utf8_lossy(&send_raw(sg.port(), req.as_bytes())).into_owned()
    };
    let passed = get("/interim");
    assert!(
        passed.starts_with(
            "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 200 "
        ),
        "{passed}"
    );
    let suppressed = get("/sup-interim");
    assert!(suppressed.starts_with("HTTP/1.1 200 "), "{suppressed}");
    assert!(!suppressed.contains("103"), "{suppressed}");
}

#[test]
fn proxy_nokeepalive_closes_the_member_connection() {
    let a = recording_origin();
    let sg = start_proxy_raw(SWITCHES, &[&a]);
    let mut client = Client::connect(sg.port());
    assert_eq!(client.get("/nka-1").status, 200);
    assert_eq!(client.get("/nka-2").status, 200);
    assert_eq!(seen(&a, "/nka-1").header("Connection"), Some("close"));
    assert_eq!(a.accepted(), 2, "{}", a.summary());
}

#[test]
fn proxy_initial_not_pooled_opens_a_new_connection_for_a_first_request() {
    let a = recording_origin();
    let sg = start_proxy_raw(SWITCHES, &[&a]);
    // A plain request leaves a pooled connection, which a plain first request
    // of another client connection takes…
    assert_eq!(Client::connect(sg.port()).get("/plain-1").status, 200);
    assert_eq!(Client::connect(sg.port()).get("/plain-2").status, 200);
    assert_eq!(seen(&a, "/plain-2").connection, 0, "{}", a.summary());
    // …but not one with the switch: it opens a new one (kept, as httpd).
    let mut client = Client::connect(sg.port());
    assert_eq!(client.get("/inp-1").status, 200);
    let first = seen(&a, "/inp-1");
    assert_eq!(first.connection, 1, "{}", a.summary());
    assert_eq!(first.header("Connection"), Some("Keep-Alive"));
    // The next request of the same client connection may take a pooled one.
    assert_eq!(client.get("/inp-2").status, 200);
    assert_ne!(seen(&a, "/inp-2").connection, 2, "{}", a.summary());
}
