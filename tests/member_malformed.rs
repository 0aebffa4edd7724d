//! Malformed and cut-short member responses (issue #13, points 5, 8 and 10).
//!
//! - While nothing of the response reached the client, a malformed response
//!   gets a 502, including a bad chunk size in body bytes that came with the
//!   head. httpd-oracle (Apache/2.4.71, `ProxyPass / http://origin/`),
//!   2026-12-07: an origin answering `HTTP/1.1 200 OK`, `Transfer-Encoding:
//!   chunked`, then `zz\r\nabc\r\n…` in the same write gets the client a
//!   `502 Bad Gateway` ("AH01110: error reading response").
//! - Once bytes reached the client, the cut is signalled by the close: no last
//!   chunk, or fewer bytes than Content-Length; never a clean end. (httpd-oracle,
//!   same day: `Content-Length: 100` with `abc` then a close gives the client
//!   `200`, `Content-Length: 100`, `abc`, and the close.)
//! - A member that resets the connection before answering gets a 502 whose
//!   log line names the reset. (httpd-oracle: 502 "Proxy Error" and
//!   "(104)Connection reset by peer: AH01102: error reading status line".)
//! - Each such exchange counts in the member's `errors` (and
//!   `slotgate_member_errors_total`), as does a 504; none puts the member in
//!   error state.

mod common;

use common::wire::*;
use common::*;
use scoreboard::flags;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

fn balanced(origin: &RawOrigin, extra: &str) -> Slotgate {
    start_proxy_raw(
        &format!(
            "<Proxy balancer://m>\n  BalancerMember http://{{{name}}}{extra}\n</Proxy>\n\
             ProxyPass / balancer://m/\n",
            name = origin.name()
        ),
        &[origin],
    )
}

/// Waits until the member of `origin` has counted `n` errors; checks it is
/// not in error state.
fn wait_errors(sg: &Slotgate, origin: &RawOrigin, n: u64) {
    let m = wait_member(sg, &origin.addr(), &format!("{n} errors"), WAIT, |m| {
        m.errors >= n
    });
    assert_eq!(m.errors, n, "{}", member_table(sg));
    assert!(
        !m.has(flags::ERROR),
        "a bad response put the member in error state: {}",
        m.display()
    );
}

/// The error-log lines at level error that contain `needle`.
fn error_lines(sg: &Slotgate, needle: &str) -> Vec<String> {
    sg.error_log()
        .lines()
        .filter(|l| l.contains(":error]") && l.contains(needle))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_bad_chunk_size_that_came_with_the_head_gets_502() {
    let a = RawOrigin::start("a", |conn| {
        if conn.read_request().is_some() {
            conn.write(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
            );
        }
    });
    let sg = balanced(&a, "");
    let r = http_get(sg.port(), "/x", &[]);
    assert_eq!(r.status, 502, "{}", r.summary());
    wait_errors(&sg, &a, 1);
    assert!(
        !error_lines(&sg, "invalid chunk size").is_empty(),
        "no error line names the bad chunk:\n{}",
        sg.error_log()
    );
}

#[test]
fn a_bad_chunk_size_after_bytes_reached_the_client_ends_without_the_last_chunk() {
    let gate = Gate::new();
    let opened = gate.clone();
    let a = RawOrigin::start("a", move |conn| {
        if conn.read_request().is_some() {
            conn.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
            opened.wait(WAIT);
            conn.write(b"zz\r\nmore\r\n0\r\n\r\n");
        }
    });
    let sg = balanced(&a, "");
    let mut wire = Wire::connect(sg.port());
    wire.send(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    let head = wire.read_head("GET", WAIT).expect("the response head");
    assert_eq!(head.status, 200);
    let first = wire.next_body_bytes(WAIT).expect("the first chunk");
    assert_eq!(first.as_deref(), Some(&b"hello"[..]));
    gate.open();
    let ending = wire.read_to_close(WAIT);
    assert!(
        ending.closed,
        "the connection stayed open after the bad chunk"
    );
    assert!(
        find_bytes(&ending.bytes, b"0\r\n\r\n").is_none(),
        "a cut-short body ended with the last chunk: {:?}",
        String::from_utf8_lossy(&ending.bytes)
    );
    wait_errors(&sg, &a, 1);
}

#[test]
fn a_body_short_of_its_content_length_ends_with_the_close_and_counts_an_error() {
    let gate = Gate::new();
    let opened = gate.clone();
    let a = RawOrigin::start("a", move |conn| {
        if conn.read_request().is_some() {
            conn.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc");
            opened.wait(WAIT);
        }
    });
    let sg = balanced(&a, "");
    let mut wire = Wire::connect(sg.port());
    wire.send(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    let head = wire.read_head("GET", WAIT).expect("the response head");
    assert_eq!(
        (head.status, head.header("content-length")),
        (200, Some("100"))
    );
    let first = wire
        .read_exact_bytes(3, WAIT)
        .expect("the first body bytes");
    assert_eq!(first, b"abc");
    gate.open();
    let ending = wire.read_to_close(WAIT);
    assert!(
        ending.closed,
        "the connection stayed open short of its length"
    );
    assert!(ending.bytes.is_empty(), "{:?}", ending.bytes);
    wait_errors(&sg, &a, 1);
}

#[test]
fn a_reset_in_a_close_delimited_body_is_no_clean_end() {
    let gate = Gate::new();
    let opened = gate.clone();
    let a = RawOrigin::start("a", move |conn| {
        if conn.read_request().is_some() {
            // No length, no chunks: the close ends the body, a reset cuts it.
            conn.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello");
            opened.wait(WAIT);
            conn.reset_on_close();
        }
    });
    let sg = balanced(&a, "");
    let mut wire = Wire::connect(sg.port());
    wire.send(b"GET /x HTTP/1.1\r\nHost: x\r\n\r\n");
    let head = wire.read_head("GET", WAIT).expect("the response head");
    assert_eq!(head.status, 200);
    assert!(
        head.chunked,
        "an HTTP/1.1 client gets a close-delimited body in chunks"
    );
    let first = wire.next_body_bytes(WAIT).expect("the first bytes");
    assert_eq!(first.as_deref(), Some(&b"hello"[..]));
    gate.open();
    let ending = wire.read_to_close(WAIT);
    assert!(ending.closed, "the connection stayed open after the reset");
    assert!(
        find_bytes(&ending.bytes, b"0\r\n\r\n").is_none(),
        "a body cut by a reset ended with the last chunk: {:?}",
        String::from_utf8_lossy(&ending.bytes)
    );
    wait_errors(&sg, &a, 1);
    // And a clean close still ends such a body cleanly.
    let b = RawOrigin::start("b", |conn| {
        if conn.read_request().is_some() {
            conn.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nhello");
        }
    });
    let sg = balanced(&b, "");
    let r = http_get(sg.port(), "/x", &[]);
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello"[..]));
    assert_eq!(member(&sg, &b.addr()).errors, 0);
}

#[test]
fn a_reset_before_the_head_gets_502_and_the_log_names_the_reset() {
    let a = RawOrigin::start("a", |conn| {
        if conn.read_request().is_some() {
            conn.reset_on_close();
        }
    });
    let sg = balanced(&a, "");
    let r = http_get(sg.port(), "/x", &[]);
    assert_eq!(r.status, 502, "{}", r.summary());
    wait_errors(&sg, &a, 1);
    let log = sg.error_log();
    assert!(
        !error_lines(&sg, "Connection reset by peer").is_empty(),
        "the 502's log line does not name the reset:\n{log}"
    );
    assert!(
        !log.contains("without a response"),
        "a reset was logged as a close:\n{log}"
    );
}

#[test]
fn a_member_timeout_counts_an_error_in_the_scoreboard_and_the_metrics() {
    let a = RawOrigin::start("a", |conn| {
        if conn.read_request().is_some() {
            // Never answers; the proxy gives up after timeout=1.
            conn.wait_eof(WAIT);
        }
    });
    let sg = start_proxy_raw(
        "<Location /metrics>\n  SetHandler metrics\n</Location>\nProxyPass /metrics !\n\
         <Proxy balancer://m>\n  BalancerMember http://{a} timeout=1\n</Proxy>\n\
         ProxyPass / balancer://m/\n",
        &[&a],
    );
    let r = http_get(sg.port(), "/x", &[]);
    assert_eq!(r.status, 504, "{}", r.summary());
    wait_errors(&sg, &a, 1);
    let metrics = http_get(sg.port(), "/metrics", &[]);
    let text = String::from_utf8_lossy(&metrics.body).into_owned();
    let line = text
        .lines()
        .find(|l| l.starts_with("slotgate_member_errors_total{") && l.contains(&a.addr()))
        .unwrap_or_else(|| panic!("no errors sample for {}:\n{text}", a.addr()));
    assert!(line.ends_with(" 1"), "{line}");
}
