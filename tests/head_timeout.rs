//! `Timeout` bounds every client read, the request head's too (issue #13,
//! point 4): httpd applies both `Timeout` (to each read) and
//! `RequestReadTimeout` (to the header stage), so the shorter wins.
//!
//! httpd-oracle (Apache/2.4.71, `Timeout 2`, default mod_reqtimeout
//! `header=20-40,MinRate=500`), asked 2026-12-07:
//! - `GET / HTTP/1.1\r\nHost: x\r\nX-Half: y` then silence: after 2 s,
//!   `HTTP/1.1 408 Request Timeout` with `Connection: close`, then the close;
//! - `GET /ab` then silence: after 2 s, a close without a byte of answer
//!   (its access log says 408 for `"-"`).
//!
//! Before the fix slotgate kept both connections open for the header stage's
//! 20 s; the tests wait at most 10 s for the close (a bound on a fact, not a
//! timing assertion: the answer must come from `Timeout`, as the header
//! stage would only end it after 20).

mod common;

use common::wire::*;
use common::*;
use std::time::Duration;

/// Longest wait for slotgate's close: well under the header stage's 20 s.
const CLOSE_WITHIN: Duration = Duration::from_secs(10);

#[test]
fn a_head_stalled_after_its_request_line_gets_408_at_timeout() {
    let a = Origin::start("a");
    let sg = start_proxy(
        "Timeout 1\nRequestReadTimeout header=20-40,MinRate=500\nProxyPass / http://{a}/\n",
        &[&a],
    );
    let mut wire = Wire::connect(sg.port());
    wire.send(b"GET / HTTP/1.1\r\nHost: x\r\nX-Half: y");
    let ending = wire.read_to_close(CLOSE_WITHIN);
    assert!(
        ending.closed,
        "a head stalled half-way was still open after {CLOSE_WITHIN:?} under Timeout 1: {:?}\n{}",
        String::from_utf8_lossy(&ending.bytes),
        sg.logs()
    );
    let r = split_raw_response(&ending.bytes).unwrap_or_else(|| {
        panic!(
            "no response before the close: {:?}",
            String::from_utf8_lossy(&ending.bytes)
        )
    });
    assert_eq!(r.status, 408, "{}", r.summary());
    assert_eq!(a.requests(), 0);
    // A client's slowness is logged at info, not as an error.
    let log = sg.error_log();
    let line = log
        .lines()
        .find(|l| l.contains("request head not received in time"))
        .unwrap_or_else(|| panic!("no log line for the stalled head:\n{log}"));
    assert!(line.contains(":info]"), "{line}");
}

#[test]
fn a_head_stalled_in_its_request_line_is_closed_without_an_answer_at_timeout() {
    let a = Origin::start("a");
    let sg = start_proxy("Timeout 1\nProxyPass / http://{a}/\n", &[&a]);
    let mut wire = Wire::connect(sg.port());
    wire.send(b"GET /ab");
    let ending = wire.read_to_close(CLOSE_WITHIN);
    assert!(
        ending.closed,
        "a request line stalled half-way was still open after {CLOSE_WITHIN:?} under Timeout 1"
    );
    assert!(
        ending.bytes.is_empty(),
        "httpd closes without an answer; got {:?}",
        String::from_utf8_lossy(&ending.bytes)
    );
    assert_eq!(a.requests(), 0);
    // The proxy still serves.
    let r = http_get(sg.port(), "/bytes/5", &[]);
    assert_eq!((r.status, r.body), (200, pattern(5)));
}

#[test]
fn request_read_timeout_still_ends_a_head_when_it_is_the_shorter() {
    let a = Origin::start("a");
    let sg = start_proxy(
        "Timeout 60\nRequestReadTimeout header=1\nProxyPass / http://{a}/\n",
        &[&a],
    );
    let mut wire = Wire::connect(sg.port());
    wire.send(b"GET / HTTP/1.1\r\nHost: x\r\n");
    let ending = wire.read_to_close(CLOSE_WITHIN);
    assert!(
        ending.closed,
        "the header stage of 1 s did not end the head"
    );
    let r = split_raw_response(&ending.bytes).expect("a 408 before the close");
    assert_eq!(r.status, 408, "{}", r.summary());
}
