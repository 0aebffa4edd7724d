//! Member connection pool (reference §2.3 `max`, `acquire`, `ttl`,
//! `disablereuse`; §8.5 "Connection reuse"). The pool is per worker process,
//! so every proxy here runs one (`StartServers 1`). The origins count the
//! connections they accept and the requests they hold at once.

mod common;

use common::wire::*;
use common::*;
use std::thread;
use std::time::Duration;

/// The body `http_origin` answers: `NAME conn C TARGET`; returns C.
fn conn_of(r: &Response) -> usize {
    let text = r.text();
    let mut words = text.split_whitespace();
    let (_, label, n) = (words.next(), words.next(), words.next());
    assert_eq!(
        label,
        Some("conn"),
        "not an http_origin answer: {}",
        r.summary()
    );
    n.and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no connection number in {}", r.summary()))
}

#[test]
fn sequential_requests_reuse_one_member_connection() {
    let a = http_origin("a", |_, _| {});
    let sg = start_proxy_raw("ProxyPass / http://{a}/\n", &[&a]);
    // Each request on a client connection of its own, with Connection: close.
    for i in 0..20 {
        let r = http_get(sg.port(), &format!("/r/{i}"), &[]);
        assert_eq!(r.status, 200, "request {i}: {}", r.summary());
        assert_eq!(conn_of(&r), 0, "request {i}: {}", r.summary());
    }
    assert_eq!(a.request_count(), 20);
    assert_eq!(a.accepted(), 1, "{}", a.summary());
    // The client's Connection: close is hop-by-hop: it does not reach the member.
    assert!(
        a.requests().iter().all(|q| !q.wants_close()),
        "a request asked the member to close: {:?}",
        a.requests()[0].headers
    );
}

#[test]
fn one_keep_alive_client_reuses_one_member_connection() {
    let a = http_origin("a", |_, _| {});
    let sg = start_proxy_raw("ProxyPass / http://{a}/\n", &[&a]);
    let mut c = Client::connect(sg.port());
    for i in 0..20 {
        let r = c.get(&format!("/k/{i}"));
        assert_eq!(r.status, 200, "request {i}: {}", r.summary());
    }
    assert_eq!(a.accepted(), 1, "{}", a.summary());
}

#[test]
fn disablereuse_opens_a_member_connection_per_request() {
    let a = http_origin("a", |_, _| {});
    let sg = start_proxy_raw("ProxyPass / http://{a}/ disablereuse=On\n", &[&a]);
    let mut c = Client::connect(sg.port());
    for i in 0..20 {
        let r = c.get(&format!("/d/{i}"));
        assert_eq!(r.status, 200, "request {i}: {}", r.summary());
        assert_eq!(conn_of(&r), i, "request {i}: {}", r.summary());
    }
    assert_eq!(a.accepted(), 20, "{}", a.summary());
    // Reference §2.3: with reuse off, `Connection: close` is sent.
    let asked_close = a.requests().iter().filter(|q| q.wants_close()).count();
    assert_eq!(asked_close, 20, "requests without Connection: close");
}

#[test]
fn enablereuse_off_is_disablereuse_on() {
    let a = http_origin("a", |_, _| {});
    let sg = start_proxy_raw("ProxyPass / http://{a}/ enablereuse=Off\n", &[&a]);
    for i in 0..5 {
        assert_eq!(http_get(sg.port(), &format!("/e/{i}"), &[]).status, 200);
    }
    assert_eq!(a.accepted(), 5, "{}", a.summary());
}

/// Runs `n` concurrent GETs of `/c/I` (one client thread each); returns the statuses.
fn concurrent_gets(port: u16, n: usize) -> Vec<u16> {
    let threads: Vec<_> = (0..n)
        .map(|i| {
            thread::spawn(move || {
                let mut c = Client::connect(port);
                c.try_request("GET", &format!("/c/{i}"), &[("Connection", "close")], None)
                    .map(|r| r.status)
                    .unwrap_or(0)
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("client thread panicked"))
        .collect()
}

/// Waits until the (standalone) member of `origin` has `n` requests given to
/// it and not finished (its `busy` count in the scoreboard).
fn wait_busy(sg: &Slotgate, origin: &RawOrigin, n: i64) {
    wait_for(
        &format!("{n} requests on member {}", origin.addr()),
        WIRE_WAIT,
        || {
            member_views(&sg.scoreboard())
                .iter()
                .any(|m| m.names(&origin.addr()) && m.busy == n)
                .then_some(())
        },
        || format!("{}{}", member_table(sg), origin.summary()),
    )
}

#[test]
fn max_bounds_member_connections_and_requests_wait_for_one() {
    // Each request takes 300 ms at the origin. Not a wait on a fact: a slow
    // member is the scenario (requests pile up behind max=2).
    let a = http_origin("a", |_, _| thread::sleep(Duration::from_millis(300)));
    let sg = start_proxy_raw("ProxyPass / http://{a}/ max=2\n", &[&a]);
    let statuses = concurrent_gets(sg.port(), 10);
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    assert_eq!(a.request_count(), 10, "{}", a.summary());
    assert!(
        a.max_in_flight() <= 2,
        "the origin held {} requests at once: {}",
        a.max_in_flight(),
        a.summary()
    );
    assert!(
        a.max_open() <= 2 && a.accepted() <= 2,
        "more than 2 member connections: {}",
        a.summary()
    );
}

/// The control for the test above: without `max`, concurrent requests do go
/// out at once. The origin holds each request until 10 are in at once (or
/// 10 s have passed), then lets them all go.
#[test]
fn without_max_concurrent_requests_use_concurrent_connections() {
    let all_in = Gate::new();
    let gate = all_in.clone();
    let a = http_origin("a", move |_, conn| {
        for _ in 0..1000 {
            if conn.origin_in_flight() >= 10 {
                gate.open();
            }
            if gate.wait(Duration::from_millis(10)) {
                break;
            }
        }
    });
    let sg = start_proxy_raw("ProxyPass / http://{a}/\n", &[&a]);
    let statuses = concurrent_gets(sg.port(), 10);
    assert!(
        statuses.iter().all(|&s| s == 200),
        "{statuses:?} {}",
        a.summary()
    );
    assert_eq!(a.max_in_flight(), 10, "{}", a.summary());
    assert_eq!(a.accepted(), 10, "{}", a.summary());
}

#[test]
fn acquire_timeout_gives_503_when_max_connections_are_busy() {
    let gate = Gate::new();
    let held = gate.clone();
    // The first request is held until the test opens the gate (at most 20 s).
    let a = http_origin("a", move |_, _| {
        held.wait(Duration::from_secs(20));
    });
    let sg = start_proxy_raw("ProxyPass / http://{a}/ max=1 acquire=200\n", &[&a]);
    let port = sg.port();
    let first = thread::spawn(move || http_get(port, "/first", &[]));
    assert!(
        a.wait_until(WIRE_WAIT, |o| o.in_flight() == 1),
        "the first request never reached the origin: {}",
        a.summary()
    );
    let second = http_get(port, "/second", &[]);
    gate.open();
    let first = first.join().expect("first client panicked");
    assert_eq!(second.status, 503, "{}", second.summary());
    assert!(second.header("x-origin").is_none(), "{}", second.summary());
    assert_eq!(first.status, 200, "{}", first.summary());
    let targets: Vec<String> = a.requests().iter().map(|q| q.target.clone()).collect();
    assert_eq!(targets, ["/first"], "{}", a.summary());
    assert_eq!(a.accepted(), 1, "{}", a.summary());
}

#[test]
fn without_acquire_a_request_waits_for_the_busy_connection() {
    let gate = Gate::new();
    let held = gate.clone();
    let a = http_origin("a", move |request, _| {
        if request.target == "/first" {
            held.wait(Duration::from_secs(20));
        }
    });
    let sg = start_proxy_raw("ProxyPass / http://{a}/ max=1\n", &[&a]);
    let port = sg.port();
    let first = thread::spawn(move || http_get(port, "/first", &[]));
    assert!(
        a.wait_until(WIRE_WAIT, |o| o.in_flight() == 1),
        "the first request never reached the origin: {}",
        a.summary()
    );
    let second = thread::spawn(move || http_get(port, "/second", &[]));
    // The second is given to the member (busy 2) and waits for the only
    // connection: it does not reach the origin, and once the first is done
    // it goes out on the same connection (accepted stays 1 below).
    wait_busy(&sg, &a, 2);
    assert_eq!(a.request_count(), 1, "{}", a.summary());
    gate.open();
    let first = first.join().expect("first client panicked");
    let second = second.join().expect("second client panicked");
    assert_eq!((first.status, second.status), (200, 200));
    assert_eq!(a.accepted(), 1, "{}", a.summary());
}

/// An origin that answers each request on its first connection and then
/// closes that connection without saying so (no `Connection: close`): the
/// pooled connection is dead when the next request comes.
#[test]
fn member_closing_an_idle_pooled_connection_is_not_seen_by_the_client() {
    let a = RawOrigin::start("a", |conn| {
        while let Some(request) = conn.read_request() {
            let body = format!("a conn {} {}", conn.index(), request.target);
            if !conn.respond(200, &[], body.as_bytes()) {
                return;
            }
            if conn.index() == 0 {
                conn.close();
                return;
            }
        }
    });
    let sg = start_proxy_raw("ProxyPass / http://{a}/\n", &[&a]);
    let r = http_get(sg.port(), "/one", &[]);
    assert_eq!((r.status, conn_of(&r)), (200, 0), "{}", r.summary());
    // The member's close has happened (its handler returned).
    assert!(
        a.wait_until(WIRE_WAIT, |o| o.open() == 0),
        "{}",
        a.summary()
    );
    let r = http_get(sg.port(), "/two", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(conn_of(&r), 1, "{}", r.summary());
    assert_eq!(a.accepted(), 2, "{}", a.summary());
}

/// The race the liveness check cannot catch: the member reads the next
/// request on its kept-alive connection and closes without a byte of answer.
/// A GET that reached nothing but a dead reused connection is sent again on a
/// fresh one.
#[test]
fn get_on_a_reused_connection_closed_by_the_member_is_replayed() {
    let a = RawOrigin::start("a", |conn| {
        let mut served = 0;
        while let Some(request) = conn.read_request() {
            if conn.index() == 0 && served == 1 {
                // The second request on the first connection: drop it.
                conn.close();
                return;
            }
            let body = format!("a conn {} {}", conn.index(), request.target);
            if !conn.respond(200, &[], body.as_bytes()) {
                return;
            }
            served += 1;
        }
    });
    let sg = start_proxy_raw("ProxyPass / http://{a}/\n", &[&a]);
    let r = http_get(sg.port(), "/one", &[]);
    assert_eq!((r.status, conn_of(&r)), (200, 0), "{}", r.summary());
    let r = http_get(sg.port(), "/two", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(conn_of(&r), 1, "{}", r.summary());
    let got: Vec<(String, usize)> = a
        .requests()
        .iter()
        .map(|q| (q.target.clone(), q.connection))
        .collect();
    assert_eq!(
        got,
        [
            ("/one".to_string(), 0),
            ("/two".to_string(), 0),
            ("/two".to_string(), 1)
        ],
        "{}",
        a.summary()
    );
}

#[test]
fn ttl_retires_an_idle_pooled_connection() {
    let a = http_origin("a", |_, _| {});
    let sg = start_proxy_raw("ProxyPass / http://{a}/ ttl=1\n", &[&a]);
    let r = http_get(sg.port(), "/one", &[]);
    assert_eq!((r.status, conn_of(&r)), (200, 0), "{}", r.summary());
    let r = http_get(sg.port(), "/two", &[]);
    assert_eq!(
        (r.status, conn_of(&r)),
        (200, 0),
        "reused within the ttl: {}",
        r.summary()
    );
    // The pool closes it once idle for ttl (checked once a second).
    assert!(
        a.wait_until(Duration::from_secs(10), |o| o.open() == 0),
        "the idle connection was not closed after ttl=1: {}",
        a.summary()
    );
    let r = http_get(sg.port(), "/three", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(
        conn_of(&r),
        1,
        "an idle connection older than ttl was reused"
    );
    assert_eq!(a.accepted(), 2, "{}", a.summary());
}

/// The control for the ttl test: without ttl the same idle time does not
/// retire the connection. The idle time is measured by a second member with
/// ttl=1, whose connection was made after a's: once the pool has closed it,
/// a's has been idle longer than a ttl of 1 s would allow.
#[test]
fn without_ttl_an_idle_pooled_connection_is_reused() {
    let a = http_origin("a", |_, _| {});
    let clock = http_origin("clock", |_, _| {});
    let sg = start_proxy_raw(
        "ProxyPass /clock/ http://{clock}/ ttl=1\nProxyPass / http://{a}/\n",
        &[&a, &clock],
    );
    assert_eq!(http_get(sg.port(), "/one", &[]).status, 200);
    assert_eq!(http_get(sg.port(), "/clock/one", &[]).status, 200);
    assert!(
        clock.wait_until(Duration::from_secs(10), |o| o.open() == 0),
        "the ttl=1 member's idle connection was not closed: {}",
        clock.summary()
    );
    let r = http_get(sg.port(), "/two", &[]);
    assert_eq!((r.status, conn_of(&r)), (200, 0), "{}", r.summary());
    assert_eq!(a.accepted(), 1, "{}", a.summary());
}

#[test]
fn member_saying_connection_close_is_not_reused() {
    let a = RawOrigin::start("a", |conn| {
        while let Some(request) = conn.read_request() {
            let body = format!("a conn {} {}", conn.index(), request.target);
            // Says close, but keeps the socket open: only the proxy decides.
            if !conn.respond(200, &[("Connection", "close")], body.as_bytes()) {
                return;
            }
        }
    });
    let sg = start_proxy_raw("ProxyPass / http://{a}/\n", &[&a]);
    for i in 0..3 {
        let r = http_get(sg.port(), &format!("/c/{i}"), &[]);
        assert_eq!((r.status, conn_of(&r)), (200, i), "{}", r.summary());
    }
    assert_eq!(a.accepted(), 3, "{}", a.summary());
}

#[test]
fn http_1_0_member_response_is_not_reused() {
    let a = RawOrigin::start("a", |conn| {
        while let Some(request) = conn.read_request() {
            let body = format!("a conn {} {}", conn.index(), request.target);
            let head = format!(
                "HTTP/1.0 200 OK\r\nX-Origin: a\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            if !conn.write(head.as_bytes()) || !conn.write(body.as_bytes()) {
                return;
            }
        }
    });
    let sg = start_proxy_raw("ProxyPass / http://{a}/\n", &[&a]);
    for i in 0..3 {
        let r = http_get(sg.port(), &format!("/h/{i}"), &[]);
        assert_eq!((r.status, conn_of(&r)), (200, i), "{}", r.summary());
    }
    assert_eq!(a.accepted(), 3, "{}", a.summary());
}
