//! Request limits with httpd's directive names and defaults (reference §2.1,
//! DESIGN "Bad input and faults"): LimitRequestLine (414), LimitRequestFieldSize
//! and LimitRequestFields (400), LimitRequestBody (413, for Content-Length and
//! for chunked bodies), HTTP versions other than 1.0 and 1.1 (505), and
//! `Expect: 100-continue` (reference §8.4: the member's interim 100 reaches the
//! client once).
//!
//! Lengths are chosen away from the exact limit by one byte on each side
//! (8189 and 8191 for a limit of 8190): httpd counts the line with its CRLF
//! against limit + 2, so the limit itself is where implementations may differ
//! by one.

mod common;

use common::wire::*;
use common::*;

fn proxy(directives: &str) -> (RawOrigin, Slotgate) {
    let a = http_origin("a", |_, _| {});
    let sg = start_proxy_raw(
        &format!("{directives}ProxyPass / http://{{a}}/ timeout=5\n"),
        &[&a],
    );
    (a, sg)
}

/// `GET /ppp… HTTP/1.1` exactly `len` bytes long (CRLF not counted).
fn request_line(len: usize) -> String {
    let fixed = "GET / HTTP/1.1".len();
    assert!(len > fixed);
    format!("GET /{} HTTP/1.1", "p".repeat(len - fixed))
}

/// A header line `X-Pad: vvv…` exactly `len` bytes long (CRLF not counted).
fn field_line(len: usize) -> String {
    let fixed = "X-Pad: ".len();
    assert!(len > fixed);
    format!("X-Pad: {}", "v".repeat(len - fixed))
}

/// A GET with `Host` and `extra` more header fields (so `extra + 1` in all).
fn with_fields(extra: usize) -> Vec<u8> {
    let mut head = String::from("GET /fields HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
    // Connection is one of the `extra`.
    for i in 1..extra {
        head.push_str(&format!("X-Field-{i}: {i}\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// Checks a refusal: `status`, a closed connection, nothing at the origin.
fn assert_refused_with(sg: &Slotgate, origin: &RawOrigin, what: &str, bytes: &[u8], status: u16) {
    let before = origin.request_count();
    let answer = exchange_raw(sg.port(), bytes);
    assert_eq!(answer.status(), Some(status), "{what}: {}", answer.text());
    assert!(answer.closed, "{what}: connection left open");
    assert_eq!(
        origin.request_count(),
        before,
        "{what}: reached the origin: {}",
        origin.summary()
    );
}

/// Checks the request is served: 200 from the origin.
fn assert_served(sg: &Slotgate, origin: &RawOrigin, what: &str, bytes: &[u8]) -> RawRequest {
    let before = origin.request_count();
    let answer = exchange_raw(sg.port(), bytes);
    let r = answer
        .response()
        .unwrap_or_else(|| panic!("{what}: no response: {}", answer.text()));
    assert_eq!(r.status, 200, "{what}: {}", r.summary());
    assert_eq!(r.header("x-origin"), Some("a"), "{what}: {}", r.summary());
    let got = origin.requests();
    assert_eq!(got.len(), before + 1, "{what}: {}", origin.summary());
    got[before].clone()
}

#[test]
fn request_line_over_limit_request_line_gets_414() {
    let (a, sg) = proxy("");
    let ok = format!(
        "{}\r\nHost: x\r\nConnection: close\r\n\r\n",
        request_line(8189)
    );
    let got = assert_served(&sg, &a, "8189-byte request line", ok.as_bytes());
    assert_eq!(got.target.len(), 8189 - "GET  HTTP/1.1".len());
    for len in [8191, 8300, 100_000] {
        let bytes = format!("{}\r\nHost: x\r\n\r\n", request_line(len));
        assert_refused_with(
            &sg,
            &a,
            &format!("{len}-byte request line"),
            bytes.as_bytes(),
            414,
        );
    }
}

#[test]
fn configured_limit_request_line_applies() {
    let (a, sg) = proxy("LimitRequestLine 100\n");
    let ok = format!(
        "{}\r\nHost: x\r\nConnection: close\r\n\r\n",
        request_line(99)
    );
    assert_served(&sg, &a, "99-byte request line", ok.as_bytes());
    for len in [101, 8000] {
        let bytes = format!("{}\r\nHost: x\r\n\r\n", request_line(len));
        assert_refused_with(
            &sg,
            &a,
            &format!("{len}-byte request line"),
            bytes.as_bytes(),
            414,
        );
    }
}

#[test]
fn header_line_over_limit_request_field_size_gets_400() {
    let (a, sg) = proxy("");
    let ok = format!(
        "GET /f HTTP/1.1\r\nHost: x\r\n{}\r\nConnection: close\r\n\r\n",
        field_line(8189)
    );
    let got = assert_served(&sg, &a, "8189-byte header line", ok.as_bytes());
    assert_eq!(
        got.header("x-pad").map(str::len),
        Some(8189 - "X-Pad: ".len())
    );
    for len in [8191, 8300, 60_000] {
        let bytes = format!("GET /f HTTP/1.1\r\nHost: x\r\n{}\r\n\r\n", field_line(len));
        assert_refused_with(
            &sg,
            &a,
            &format!("{len}-byte header line"),
            bytes.as_bytes(),
            400,
        );
    }
}

#[test]
fn configured_limit_request_field_size_applies() {
    let (a, sg) = proxy("LimitRequestFieldSize 200\n");
    let ok = format!(
        "GET /f HTTP/1.1\r\nHost: x\r\n{}\r\nConnection: close\r\n\r\n",
        field_line(150)
    );
    assert_served(&sg, &a, "150-byte header line", ok.as_bytes());
    let bytes = format!("GET /f HTTP/1.1\r\nHost: x\r\n{}\r\n\r\n", field_line(250));
    assert_refused_with(&sg, &a, "250-byte header line", bytes.as_bytes(), 400);
}

#[test]
fn more_than_limit_request_fields_gets_400() {
    let (a, sg) = proxy("");
    let got = assert_served(&sg, &a, "100 fields", &with_fields(99));
    assert!(got.header("x-field-98").is_some());
    assert_refused_with(&sg, &a, "101 fields", &with_fields(100), 400);
    assert_refused_with(&sg, &a, "300 fields", &with_fields(299), 400);
}

#[test]
fn configured_limit_request_fields_applies_both_ways() {
    let (a, sg) = proxy("LimitRequestFields 10\n");
    assert_served(&sg, &a, "10 fields with a limit of 10", &with_fields(9));
    assert_refused_with(
        &sg,
        &a,
        "11 fields with a limit of 10",
        &with_fields(10),
        400,
    );

    let (b, sg) = proxy("LimitRequestFields 150\n");
    let got = assert_served(&sg, &b, "150 fields with a limit of 150", &with_fields(149));
    assert!(
        got.header("x-field-148").is_some(),
        "fields lost on the way"
    );
    assert_refused_with(
        &sg,
        &b,
        "151 fields with a limit of 150",
        &with_fields(150),
        400,
    );
}

#[test]
fn limit_request_fields_zero_means_unlimited() {
    let (a, sg) = proxy("LimitRequestFields 0\n");
    let got = assert_served(&sg, &a, "300 fields with no limit", &with_fields(299));
    assert!(
        got.header("x-field-298").is_some(),
        "fields lost on the way"
    );
}

#[test]
fn content_length_over_limit_request_body_gets_413_before_the_body() {
    let (a, sg) = proxy("LimitRequestBody 1000\n");
    // The head alone: the answer must not wait for the body.
    let mut wire = Wire::connect(sg.port());
    wire.send(b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n");
    let r = wire
        .read_head("POST", WIRE_WAIT)
        .unwrap_or_else(|e| panic!("no answer to a 1001-byte Content-Length: {e}"));
    assert_eq!(r.status, 413, "{}", r.summary());
    assert_eq!(a.accepted(), 0, "{}", a.summary());
    assert_eq!(a.bytes_in(), 0, "{}", a.summary());

    let body = pattern(1000);
    let r = http_request(sg.port(), "POST", "/exact", &[], Some(&body));
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(a.requests()[0].body, body);
}

/// The body of a refused Content-Length request is never read as requests of
/// its own, whether the connection is closed or the body skipped.
#[test]
fn body_of_a_413_request_is_not_taken_as_a_request() {
    let (a, sg) = proxy("LimitRequestBody 100\n");
    let mut body = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n".to_vec();
    body.resize(101, b'\r');
    let mut bytes = b"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n".to_vec();
    bytes.extend_from_slice(&body);
    bytes.extend_from_slice(b"GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let mut wire = Wire::connect(sg.port());
    let _ = wire.try_send(&bytes);
    let (_, first) = wire
        .read_final("POST", WIRE_WAIT)
        .unwrap_or_else(|e| panic!("no answer: {e}"));
    assert_eq!(first.status, 413, "{}", first.summary());
    // Either the connection ends here, or the next real request (/next) is
    // what gets answered next.
    let rest = wire.read_to_close(WIRE_WAIT);
    assert!(rest.closed, "the connection neither closed nor answered");
    if let Some(second) = split_raw_response(&rest.bytes) {
        assert_eq!(second.status, 200, "{}", second.summary());
        assert!(second.text().contains("/next"), "{}", second.summary());
    }
    let targets: Vec<String> = a.requests().iter().map(|q| q.target.clone()).collect();
    assert!(
        targets.iter().all(|t| t == "/next"),
        "the origin received {targets:?}"
    );
}

#[test]
fn chunked_body_growing_past_limit_request_body_gets_413_and_a_close() {
    let (a, sg) = proxy("LimitRequestBody 1000\n");
    let mut bytes = b"POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    bytes.extend_from_slice(&chunk_encode(&pattern(2000), &[100]));
    let answer = exchange_raw(sg.port(), &bytes);
    assert_eq!(answer.status(), Some(413), "{}", answer.text());
    assert!(answer.closed, "connection left open after 413");
    assert_eq!(
        a.request_count(),
        0,
        "the origin received a complete request: {}",
        a.summary()
    );

    let mut bytes = b"POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        .to_vec();
    bytes.extend_from_slice(&chunk_encode(&pattern(900), &[100]));
    let got = assert_served(&sg, &a, "900-byte chunked body", &bytes);
    assert_eq!(got.body, pattern(900));
}

#[test]
fn limit_request_body_zero_means_unlimited() {
    let (a, sg) = proxy("LimitRequestBody 0\n");
    let body = pattern(2 * 1024 * 1024);
    let r = http_request(sg.port(), "POST", "/big", &[], Some(&body));
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(a.requests()[0].body.len(), body.len());
    assert!(a.requests()[0].body == body, "body changed on the way");
}

#[test]
fn default_limit_request_body_is_one_gibibyte() {
    let (a, sg) = proxy("");
    let mut wire = Wire::connect(sg.port());
    wire.send(b"POST /huge HTTP/1.1\r\nHost: x\r\nContent-Length: 1073741825\r\n\r\n");
    let r = wire
        .read_head("POST", WIRE_WAIT)
        .unwrap_or_else(|e| panic!("no answer to a 1 GiB + 1 Content-Length: {e}"));
    assert_eq!(r.status, 413, "{}", r.summary());
    assert_eq!(a.bytes_in(), 0, "{}", a.summary());
}

#[test]
fn http_versions_other_than_1_0_and_1_1_get_505() {
    let (a, sg) = proxy("");
    for version in ["HTTP/1.2", "HTTP/2.0", "HTTP/3.0", "HTTP/0.9", "HTTP/9.9"] {
        let bytes = format!("GET / {version}\r\nHost: x\r\n\r\n");
        assert_refused_with(&sg, &a, version, bytes.as_bytes(), 505);
    }
    for version in ["HTTP/1.0", "HTTP/1.1"] {
        let bytes = format!("GET /v {version}\r\nHost: x\r\nConnection: close\r\n\r\n");
        assert_served(&sg, &a, version, bytes.as_bytes());
    }
}

/// An origin that answers `Expect: 100-continue` with an interim 100, then
/// reads the body and answers 200 with the body's length.
fn continue_origin() -> RawOrigin {
    RawOrigin::start("a", |conn| {
        while let Some(mut request) = conn.read_head() {
            let expects = request
                .header("expect")
                .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"));
            if expects && !conn.write(b"HTTP/1.1 100 Continue\r\n\r\n") {
                return;
            }
            if !conn.read_body(&mut request) {
                return;
            }
            let body = format!("got {} bytes", request.body.len());
            if !conn.respond(200, &[], body.as_bytes()) {
                return;
            }
        }
    })
}

/// Sends a head with `Expect: 100-continue`, waits for the 100, sends the
/// body, reads the final response, then a second request on the same
/// connection. Returns how many 100s came and the two final responses.
fn expect_continue_exchange(port: u16) -> (usize, Response, Response) {
    let mut wire = Wire::connect(port);
    wire.send(
        b"POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n",
    );
    let first = wire
        .read_head("POST", WIRE_WAIT)
        .unwrap_or_else(|e| panic!("no interim response to Expect: 100-continue: {e}"));
    assert_eq!(first.status, 100, "{}", first.summary());
    wire.send(b"0123456789");
    let (interim, last) = wire
        .read_final("POST", WIRE_WAIT)
        .unwrap_or_else(|e| panic!("no final response after the body: {e}"));
    wire.send(b"GET /next HTTP/1.1\r\nHost: x\r\n\r\n");
    let (interim_next, next) = wire
        .read_final("GET", WIRE_WAIT)
        .unwrap_or_else(|e| panic!("no response to the next request: {e}"));
    let continues = 1
        + interim.iter().filter(|r| r.status == 100).count()
        + interim_next.iter().filter(|r| r.status == 100).count();
    (continues, last, next)
}

#[test]
fn expect_continue_passes_the_members_100_once() {
    let a = continue_origin();
    let sg = start_proxy_raw("ProxyPass / http://{a}/ timeout=5\n", &[&a]);
    let (continues, last, next) = expect_continue_exchange(sg.port());
    assert_eq!(continues, 1, "100 Continue was sent {continues} times");
    assert_eq!(last.status, 200, "{}", last.summary());
    assert_eq!(last.text(), "got 10 bytes");
    assert_eq!(next.status, 200, "{}", next.summary());
    let got = a.requests();
    assert_eq!(
        got[0]
            .header("expect")
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("100-continue"),
        "Expect did not reach the member: {:?}",
        got[0].headers
    );
    assert_eq!(got[0].body, b"0123456789");
}

#[test]
fn proxy_100_continue_off_answers_100_itself_and_drops_expect() {
    let a = continue_origin();
    let sg = start_proxy_raw(
        "Proxy100Continue Off\nProxyPass / http://{a}/ timeout=5\n",
        &[&a],
    );
    let (continues, last, next) = expect_continue_exchange(sg.port());
    assert_eq!(continues, 1, "100 Continue was sent {continues} times");
    assert_eq!(last.text(), "got 10 bytes", "{}", last.summary());
    assert_eq!(next.status, 200, "{}", next.summary());
    let got = a.requests();
    assert!(
        got[0].header("expect").is_none(),
        "Expect reached the member: {:?}",
        got[0].headers
    );
}
