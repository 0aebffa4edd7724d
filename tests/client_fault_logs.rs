//! Client faults are the client's business: logged at info, never as errors
//! (issue #13, point 10) — a malformed request body (400), a body over
//! `LimitRequestBody` (413), a body that stops coming (408), a client that
//! resets its connection mid-request. Each answer (where one is possible) is
//! checked too, and the member is not blamed.

mod common;

use common::wire::*;
use common::*;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// Waits for a log line containing `needle`; returns it.
fn wait_log_line(sg: &Slotgate, needle: &str) -> String {
    wait_for(
        &format!("a log line with {needle:?}"),
        WAIT,
        || {
            sg.error_log()
                .lines()
                .find(|l| l.contains(needle))
                .map(str::to_string)
        },
        || sg.error_log(),
    )
}

/// The line is at info, and the log has no error line at all.
fn assert_info_only(sg: &Slotgate, line: &str) {
    assert!(line.contains(":info]"), "not at info: {line}");
    let log = sg.error_log();
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(":error]")).collect();
    assert!(
        errors.is_empty(),
        "a client fault logged as an error:\n{log}"
    );
}

fn assert_member_unblamed(sg: &Slotgate, a: &Origin) {
    let m = member(sg, &a.addr());
    assert_eq!(m.errors, 0, "{}", member_table(sg));
}

fn proxy(a: &Origin, extra: &str) -> Slotgate {
    start_proxy(
        &format!(
            "{extra}<Proxy balancer://m>\n  BalancerMember http://{{a}}\n</Proxy>\n\
             ProxyPass / balancer://m/\n"
        ),
        &[a],
    )
}

#[test]
fn a_malformed_request_body_gets_400_logged_at_info() {
    let a = Origin::start("a");
    let sg = proxy(&a, "");
    let answer = exchange_raw(
        sg.port(),
        b"POST /sha256 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n",
    );
    assert_eq!(answer.status(), Some(400), "{}", answer.text());
    let line = wait_log_line(&sg, "bad request body");
    assert_info_only(&sg, &line);
    assert_member_unblamed(&sg, &a);
}

#[test]
fn a_chunked_body_over_limit_request_body_gets_413_logged_at_info() {
    let a = Origin::start("a");
    let sg = proxy(&a, "LimitRequestBody 10\n");
    let answer = exchange_raw(
        sg.port(),
        b"POST /sha256 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n01234567890123456789\r\n0\r\n\r\n",
    );
    assert_eq!(answer.status(), Some(413), "{}", answer.text());
    let line = wait_log_line(&sg, "exceeds LimitRequestBody");
    assert_info_only(&sg, &line);
    assert_member_unblamed(&sg, &a);
}

#[test]
fn a_body_that_stops_coming_gets_408_logged_at_info() {
    let a = Origin::start("a");
    let sg = proxy(&a, "Timeout 1\nRequestReadTimeout body=0\n");
    let mut wire = Wire::connect(sg.port());
    wire.send(b"POST /sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
    let ending = wire.read_to_close(WAIT);
    assert!(ending.closed, "still open with 90 body bytes missing");
    let r = split_raw_response(&ending.bytes).expect("a 408 before the close");
    assert_eq!(r.status, 408, "{}", r.summary());
    let line = wait_log_line(&sg, "request body not received");
    assert_info_only(&sg, &line);
    assert_member_unblamed(&sg, &a);
}

#[test]
fn a_client_reset_mid_body_is_logged_at_info() {
    let a = Origin::start("a");
    let sg = proxy(&a, "");
    {
        let mut wire = Wire::connect(sg.port());
        wire.send(b"POST /sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
        // The request is on its way to the member before the client goes.
        wait_for(
            "the member to receive the request head",
            WAIT,
            || (a.connections() > 0).then_some(()),
            || sg.error_log(),
        );
        socket2::SockRef::from(wire.stream())
            .set_linger(Some(Duration::ZERO))
            .unwrap();
    }
    let line = wait_log_line(&sg, "Connection reset by peer");
    assert!(line.contains("client 127.0.0.1"), "{line}");
    assert_info_only(&sg, &line);
    assert_member_unblamed(&sg, &a);
}
