//! Failures towards the origin (reference §8.6, with slotgate's 504 for a
//! timeout): refused connection → 503, timeout → 504, closed without a
//! response → 502, and the member's error counter in the scoreboard.

mod common;

use common::*;
use std::time::Duration;

#[test]
fn refused_connection_gives_503() {
    let dead = RefusingPort::new();
    let port = dead.port();
    let sg = start_proxy(&format!("ProxyPass /down/ http://127.0.0.1:{port}/\n"), &[]);
    let r = http_get(sg.port(), "/down/x", &[]);
    assert_eq!(r.status, 503, "{}", r.summary());
    assert!(r.header("x-origin").is_none());
}

#[test]
fn refused_connection_counts_an_error_on_the_member() {
    let dead = RefusingPort::new();
    let port = dead.port();
    let sg = start_proxy(&format!("ProxyPass /down/ http://127.0.0.1:{port}/\n"), &[]);
    assert_eq!(http_get(sg.port(), "/down/x", &[]).status, 503);
    let needle = format!("127.0.0.1:{port}");
    wait_for(
        "the member's error count to reach 1",
        Duration::from_secs(5),
        || {
            let sb = sg.scoreboard();
            let found = sb
                .members()
                .iter()
                .any(|m| m.in_use() && m.url.get().contains(&needle) && m.errors() >= 1);
            found.then_some(())
        },
        || {
            let sb = sg.scoreboard();
            let members: Vec<String> = sb
                .members()
                .iter()
                .filter(|m| m.in_use())
                .map(|m| {
                    format!(
                        "{} errors {} status {}",
                        m.url.get(),
                        m.errors(),
                        m.status()
                    )
                })
                .collect();
            format!("members: {members:?}")
        },
    );
}

#[test]
fn origin_past_the_member_timeout_gives_504() {
    let a = Origin::start("a");
    a.set_mode(Mode::Hang);
    let sg = start_proxy("ProxyPass /hang/ http://{a}/ timeout=1\n", &[&a]);
    let r = http_get(sg.port(), "/hang/x", &[]);
    assert_eq!(r.status, 504, "{}", r.summary());
    assert!(r.header("x-origin").is_none());
    assert_eq!(a.requests(), 1);
}

#[test]
fn slow_origin_within_the_timeout_is_waited_for() {
    let a = Origin::start("a");
    a.set_mode(Mode::Slow(Duration::from_millis(300)));
    let sg = start_proxy("ProxyPass /s/ http://{a}/ timeout=5\n", &[&a]);
    let r = http_get(sg.port(), "/s/bytes/64", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(r.body, pattern(64));
}

#[test]
fn origin_closing_without_a_response_gives_502() {
    let a = Origin::start("a");
    a.set_mode(Mode::CloseWithoutResponse);
    let sg = start_proxy("ProxyPass / http://{a}/\n", &[&a]);
    let r = http_request(sg.port(), "POST", "/x", &[], Some(b"data"));
    assert_eq!(r.status, 502, "{}", r.summary());
    assert!(r.header("x-origin").is_none());
}

#[test]
fn origin_error_statuses_pass_through_unchanged() {
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPass / http://{a}/\n", &[&a]);
    for code in [500u16, 502, 503, 404] {
        a.set_mode(Mode::Status(code));
        let r = http_get(sg.port(), "/x", &[]);
        assert_eq!(r.status, code, "{}", r.summary());
        assert_eq!(r.origin(), "a");
        assert_eq!(r.text(), format!("origin a status {code}"));
    }
}

#[test]
fn proxy_keeps_serving_after_origin_failures() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "ProxyPass /a/ http://{a}/ timeout=1\nProxyPass /b/ http://{b}/\n",
        &[&a, &b],
    );
    a.set_mode(Mode::CloseWithoutResponse);
    assert_eq!(http_get(sg.port(), "/a/x", &[]).status, 502);
    a.set_mode(Mode::Hang);
    assert_eq!(http_get(sg.port(), "/a/x", &[]).status, 504);
    let r = http_get(sg.port(), "/b/bytes/10", &[]);
    assert_eq!((r.status, r.body), (200, pattern(10)));
    a.set_mode(Mode::Normal);
    let r = http_get(sg.port(), "/a/bytes/10", &[]);
    assert_eq!(
        (r.status, r.origin().to_string()),
        (200, "a".to_string()),
        "{}",
        r.summary()
    );
}

#[test]
fn server_proxy_timeout_applies_without_a_member_timeout() {
    let a = Origin::start("a");
    a.set_mode(Mode::Hang);
    let sg = start_proxy("ProxyTimeout 1\nProxyPass / http://{a}/\n", &[&a]);
    let r = http_get(sg.port(), "/x", &[]);
    assert_eq!(r.status, 504, "{}", r.summary());
}

#[test]
fn origin_dying_mid_body_does_not_look_like_a_complete_response() {
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPass / http://{a}/\n", &[&a]);
    let mut c = Client::connect(sg.port());
    c.send(&request_bytes(
        sg.port(),
        "GET",
        "/truncated/200000",
        &[],
        None,
    ));
    match c.try_read_response("GET") {
        Err(_) => {}
        Ok(r) => panic!(
            "a cut-off body was delivered as complete ({} of 200000 bytes): {}",
            r.body.len(),
            r.summary()
        ),
    }
    let r = http_get(sg.port(), "/bytes/10", &[]);
    assert_eq!((r.status, r.body), (200, pattern(10)));
}
