//! Upgrade tunnels (reference §8.7): `ws://` members and `upgrade=` on http://
//! members forward `Upgrade`, check the member's 101, then carry bytes both
//! ways, half-closes included; members that do not accept the protocol never
//! see the Upgrade; a 101 naming another protocol gives 502; a balancer with
//! sticky sessions routes the upgrade request like any other.
//!
//! The origins here speak just enough of the handshake (a 101 with the
//! `Upgrade` value) and then echo raw bytes; WebSocket framing is not needed
//! to test a byte tunnel.

mod common;

use common::wire::*;
use common::*;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What an echo origin saw after the switch.
#[derive(Default)]
struct Seen {
    /// The client's end of input reached the origin.
    eof: AtomicBool,
    /// Bytes received after the origin half-closed (see `BYE`).
    after_bye: Mutex<Vec<u8>>,
}

/// Sent by a client, makes the echo origin shut down its sending side and
/// only read from then on.
const BYE: &[u8] = b"<bye>";

/// An origin that answers a request carrying `Upgrade` (and `Connection:
/// upgrade`) with 101 and `Upgrade: <answer>` (the requested value when
/// `answer` is None), then echoes bytes until end of input, then closes.
/// Other requests get `200 NAME plain TARGET upgrade=VALUE|none`.
fn echo_origin(name: &str, answer: Option<&'static str>, seen: Arc<Seen>) -> RawOrigin {
    RawOrigin::start(name, move |conn| {
        while let Some(request) = conn.read_request() {
            let upgrade = request.header("upgrade").map(str::to_string);
            let switching = upgrade.is_some() && request.has_token("connection", "upgrade");
            if !switching {
                let body = format!(
                    "{} plain {} upgrade={}",
                    conn.name(),
                    request.target,
                    upgrade.as_deref().unwrap_or("none")
                );
                if !conn.respond(200, &[], body.as_bytes()) {
                    return;
                }
                continue;
            }
            let protocol = answer.map(str::to_string).or(upgrade).unwrap_or_default();
            let head = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: {protocol}\r\nConnection: Upgrade\r\nX-Origin: {}\r\n\r\n",
                conn.name()
            );
            if !conn.write(head.as_bytes()) {
                return;
            }
            echo(conn, &seen);
            return;
        }
    })
}

fn echo(conn: &mut RawConn, seen: &Seen) {
    let mut half_closed = false;
    let mut tail = Vec::new();
    loop {
        match conn.read_some(Duration::from_secs(30)) {
            Ok(bytes) if bytes.is_empty() => {
                seen.eof.store(true, Ordering::SeqCst);
                conn.shutdown_write();
                return;
            }
            Ok(bytes) if half_closed => {
                seen.after_bye.lock().unwrap().extend_from_slice(&bytes);
            }
            Ok(bytes) => {
                tail.extend_from_slice(&bytes);
                if find_bytes(&tail, BYE).is_some() {
                    conn.shutdown_write();
                    half_closed = true;
                    continue;
                }
                let keep = tail.len().saturating_sub(BYE.len());
                tail.drain(..keep);
                if !conn.write(&bytes) {
                    return;
                }
            }
            Err(_) => return,
        }
    }
}

/// Sends an upgrade request for `path` asking for `protocol` and reads the
/// answer's head.
fn upgrade(port: u16, path: &str, protocol: &str, extra: &str) -> (Wire, Response) {
    let mut wire = Wire::connect(port);
    wire.send(
        format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: {protocol}\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
        )
        .as_bytes(),
    );
    let r = wire
        .read_head("GET", WIRE_WAIT)
        .unwrap_or_else(|e| panic!("no answer to the upgrade request: {e}"));
    (wire, r)
}

fn assert_switched(r: &Response, protocol: &str) {
    assert_eq!(r.status, 101, "{}", r.summary());
    assert_eq!(
        r.header("upgrade").map(str::to_ascii_lowercase),
        Some(protocol.to_ascii_lowercase()),
        "{}",
        r.summary()
    );
    assert!(
        r.header_all("connection")
            .iter()
            .any(|v| v.to_ascii_lowercase().contains("upgrade")),
        "no Connection: upgrade in {}",
        r.summary()
    );
}

/// Message `i` of the echo exchanges: a numbered line and a length varying
/// from 0 to ~2 KiB of pattern bytes.
fn message(i: usize) -> Vec<u8> {
    let mut m = format!("message {i:04}:").into_bytes();
    m.extend_from_slice(&pattern((i * 37) % 2000));
    m
}

/// 1000 messages, each written then read back whole.
fn echo_messages(wire: &mut Wire) {
    for i in 0..1000 {
        let m = message(i);
        wire.send(&m);
        let back = wire
            .read_exact_bytes(m.len(), WIRE_WAIT)
            .unwrap_or_else(|e| panic!("message {i}: {e}"));
        assert!(back == m, "message {i} came back changed");
    }
}

#[test]
fn ws_member_tunnels_a_thousand_messages_both_ways() {
    let seen = Arc::new(Seen::default());
    let a = echo_origin("a", None, Arc::clone(&seen));
    let sg = start_proxy_raw("ProxyPass /ws ws://{a}/\n", &[&a]);
    let (mut wire, r) = upgrade(sg.port(), "/ws", "websocket", "");
    assert_switched(&r, "websocket");
    echo_messages(&mut wire);
    let got = a.requests();
    assert_eq!(got.len(), 1, "{}", a.summary());
    assert_eq!(got[0].header("upgrade"), Some("websocket"));
    assert!(
        got[0].has_token("connection", "upgrade"),
        "{:?}",
        got[0].headers
    );
}

#[test]
fn http_member_with_upgrade_websocket_tunnels_too() {
    let seen = Arc::new(Seen::default());
    let a = echo_origin("a", None, Arc::clone(&seen));
    let sg = start_proxy_raw("ProxyPass /ws http://{a}/ upgrade=websocket\n", &[&a]);
    let (mut wire, r) = upgrade(sg.port(), "/ws", "WebSocket", "");
    assert_switched(&r, "websocket");
    echo_messages(&mut wire);
}

#[test]
fn tunnel_carries_megabytes_in_both_directions_at_once() {
    let seen = Arc::new(Seen::default());
    let a = echo_origin("a", None, Arc::clone(&seen));
    let sg = start_proxy_raw("ProxyPass /ws ws://{a}/\n", &[&a]);
    let (mut wire, r) = upgrade(sg.port(), "/ws", "websocket", "");
    assert_switched(&r, "websocket");
    const TOTAL: usize = 8 * 1024 * 1024;
    let data = pattern(TOTAL);
    let mut writer = wire
        .stream()
        .try_clone()
        .expect("cloning the client socket");
    let to_send = data.clone();
    // Writing all before reading any would fill every buffer on the way and
    // stall both sides, unless the tunnel moves both directions at once.
    let sender = thread::spawn(move || {
        for piece in to_send.chunks(64 * 1024) {
            writer.write_all(piece).expect("writing into the tunnel");
        }
    });
    let back = wire
        .read_exact_bytes(TOTAL, WIRE_WAIT)
        .unwrap_or_else(|e| panic!("reading the echo: {e}"));
    sender.join().expect("the sending thread panicked");
    assert!(back == data, "the echoed bytes differ");
}

#[test]
fn client_half_close_reaches_the_member_and_its_close_comes_back() {
    let seen = Arc::new(Seen::default());
    let a = echo_origin("a", None, Arc::clone(&seen));
    let sg = start_proxy_raw("ProxyPass /ws ws://{a}/\n", &[&a]);
    let (mut wire, r) = upgrade(sg.port(), "/ws", "websocket", "");
    assert_switched(&r, "websocket");
    wire.send(b"last words");
    // Read the echo before shutting down, so nothing is in flight but the EOF.
    let back = wire.read_exact_bytes(10, WIRE_WAIT).unwrap();
    assert_eq!(back, b"last words");
    wire.shutdown_write();
    assert!(
        a.wait_until(WIRE_WAIT, |_| seen.eof.load(Ordering::SeqCst)),
        "the member never saw the client's end of input"
    );
    let ending = wire.read_to_close(WIRE_WAIT);
    assert!(ending.closed, "the client never saw the member's close");
    assert!(
        ending.bytes.is_empty(),
        "unexpected bytes after the close: {:?}",
        String::from_utf8_lossy(&ending.bytes)
    );
}

#[test]
fn member_half_close_still_carries_the_clients_bytes() {
    let seen = Arc::new(Seen::default());
    let a = echo_origin("a", None, Arc::clone(&seen));
    let sg = start_proxy_raw("ProxyPass /ws ws://{a}/\n", &[&a]);
    let (mut wire, r) = upgrade(sg.port(), "/ws", "websocket", "");
    assert_switched(&r, "websocket");
    wire.send(BYE);
    // The member shut its sending side: the client reads end of input…
    let ending = wire.read_to_close(WIRE_WAIT);
    assert!(
        ending.closed,
        "the member's half-close never reached the client"
    );
    // …and can still send, until it closes too.
    wire.send(b"after the member's close");
    wire.shutdown_write();
    assert!(
        a.wait_until(WIRE_WAIT, |_| seen.eof.load(Ordering::SeqCst)),
        "the member never saw the client's end of input"
    );
    assert_eq!(
        String::from_utf8_lossy(&seen.after_bye.lock().unwrap()),
        "after the member's close"
    );
}

#[test]
fn upgrade_is_removed_for_a_member_that_does_not_accept_it() {
    let seen = Arc::new(Seen::default());
    let a = echo_origin("a", None, Arc::clone(&seen));
    let sg = start_proxy_raw(
        "ProxyPass /plain/ http://{a}/\nProxyPass /h2c/ http://{a}/ upgrade=h2c\n",
        &[&a],
    );
    for (path, protocol) in [("/plain/x", "websocket"), ("/h2c/x", "websocket")] {
        let (mut wire, r) = upgrade(sg.port(), path, protocol, "");
        assert_eq!(r.status, 200, "{path}: {}", r.summary());
        let body = wire.read_body(WIRE_WAIT).unwrap();
        assert!(
            String::from_utf8_lossy(&body).ends_with("upgrade=none"),
            "{path}: the member saw an Upgrade: {:?}",
            String::from_utf8_lossy(&body)
        );
        let got = a
            .requests()
            .last()
            .map(|q| q.headers.clone())
            .unwrap_or_default();
        assert!(
            !got.iter().any(|(n, v)| n.eq_ignore_ascii_case("connection")
                && v.to_ascii_lowercase().contains("upgrade")),
            "{path}: Connection still names upgrade: {got:?}"
        );
    }
}

#[test]
fn upgrade_star_accepts_any_protocol() {
    let seen = Arc::new(Seen::default());
    let a = echo_origin("a", None, Arc::clone(&seen));
    let sg = start_proxy_raw("ProxyPass /any http://{a}/ upgrade=*\n", &[&a]);
    let (mut wire, r) = upgrade(sg.port(), "/any", "my-protocol", "");
    assert_switched(&r, "my-protocol");
    wire.send(b"ping");
    assert_eq!(wire.read_exact_bytes(4, WIRE_WAIT).unwrap(), b"ping");
}

#[test]
fn ws_member_answers_plain_requests_as_http() {
    let seen = Arc::new(Seen::default());
    let a = echo_origin("a", None, Arc::clone(&seen));
    let sg = start_proxy_raw("ProxyPass /ws/ ws://{a}/\n", &[&a]);
    let r = http_get(sg.port(), "/ws/page", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(r.text(), "a plain /page upgrade=none");
}

#[test]
fn switching_to_another_protocol_than_asked_gives_502() {
    let seen = Arc::new(Seen::default());
    let a = echo_origin("a", Some("h2c"), Arc::clone(&seen));
    let sg = start_proxy_raw("ProxyPass /ws ws://{a}/\n", &[&a]);
    let (mut wire, r) = upgrade(sg.port(), "/ws", "websocket", "");
    assert_eq!(r.status, 502, "{}", r.summary());
    // No tunnel: nothing written now comes back.
    let _ = wire.try_send(b"hello?");
    let ending = wire.read_to_close(WIRE_WAIT);
    assert!(
        find_bytes(&ending.bytes, b"hello?").is_none(),
        "bytes were tunnelled after the 502"
    );
    // The proxy still serves.
    let r = http_get(sg.port(), "/ws", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
}

#[test]
fn sticky_balancer_routes_the_upgrade_and_tunnels() {
    let seen_a = Arc::new(Seen::default());
    let seen_b = Arc::new(Seen::default());
    let a = echo_origin("a", None, Arc::clone(&seen_a));
    let b = echo_origin("b", None, Arc::clone(&seen_b));
    let sg = start_proxy_raw(
        "<Proxy balancer://live>\n    BalancerMember ws://{a} route=ra\n    BalancerMember ws://{b} route=rb\n</Proxy>\n\
         ProxyPass /live balancer://live stickysession=ROUTEID\n",
        &[&a, &b],
    );
    for (route, want) in [("rb", "b"), ("ra", "a"), ("rb", "b")] {
        let (mut wire, r) = upgrade(
            sg.port(),
            "/live",
            "websocket",
            &format!("Cookie: ROUTEID=session.{route}\r\n"),
        );
        assert_switched(&r, "websocket");
        assert_eq!(r.header("x-origin"), Some(want), "{}", r.summary());
        for i in 0..50 {
            let m = message(i);
            wire.send(&m);
            let back = wire.read_exact_bytes(m.len(), WIRE_WAIT).unwrap();
            assert!(back == m, "route {route}: message {i} changed");
        }
    }
    assert_eq!((a.request_count(), b.request_count()), (1, 2));
}
