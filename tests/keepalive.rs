//! Client connections: KeepAlive, MaxKeepAliveRequests, KeepAliveTimeout,
//! HTTP/1.0 clients, many clients at once, and clients that leave early.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const CLOSE_WAIT: Duration = Duration::from_secs(10);

#[test]
fn keep_alive_off_closes_after_each_response() {
    let a = Origin::start("a");
    let sg = start_proxy("KeepAlive Off\nProxyPass / http://{a}/\n", &[&a]);
    let mut c = Client::connect(sg.port());
    let r = c.get("/bytes/10");
    assert_eq!(r.body, pattern(10));
    assert!(
        c.closed_by_peer(CLOSE_WAIT),
        "connection stayed open with KeepAlive Off"
    );
}

#[test]
fn max_keep_alive_requests_limits_one_connection() {
    let a = Origin::start("a");
    let sg = start_proxy("MaxKeepAliveRequests 2\nProxyPass / http://{a}/\n", &[&a]);
    let mut c = Client::connect(sg.port());
    assert_eq!(c.get("/bytes/1").body, pattern(1));
    assert!(
        !c.closed_by_peer(Duration::from_millis(200)),
        "closed after one request"
    );
    assert_eq!(c.get("/bytes/2").body, pattern(2));
    assert!(
        c.closed_by_peer(CLOSE_WAIT),
        "connection served more than 2 requests"
    );
}

#[test]
fn idle_connection_is_closed_after_keep_alive_timeout() {
    let a = Origin::start("a");
    let sg = start_proxy("KeepAliveTimeout 1\nProxyPass / http://{a}/\n", &[&a]);
    let mut c = Client::connect(sg.port());
    assert_eq!(c.get("/bytes/3").body, pattern(3));
    assert!(
        c.closed_by_peer(CLOSE_WAIT),
        "idle connection was never closed"
    );
}

#[test]
fn http10_client_gets_no_chunked_response() {
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPass / http://{a}/\n", &[&a]);
    let raw = send_raw(sg.port(), b"GET /chunked/5000 HTTP/1.0\r\nHost: x\r\n\r\n");
    let r = split_raw_response(&raw)
        .unwrap_or_else(|| panic!("no response: {:?}", String::from_utf8_lossy(&raw)));
    assert_eq!(r.status, 200, "{}", r.summary());
    assert!(
        !r.chunked,
        "chunked sent to an HTTP/1.0 client: {}",
        r.summary()
    );
    let body = match r.header("content-length") {
        Some(cl) => r.body[..cl.parse::<usize>().unwrap()].to_vec(),
        None => r.body.clone(),
    };
    assert_eq!(body, pattern(5000));
}

#[test]
fn http10_request_is_answered_and_closed() {
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPass / http://{a}/\n", &[&a]);
    // send_raw returns when slotgate closes; the body must be complete.
    let raw = send_raw(sg.port(), b"GET /bytes/100 HTTP/1.0\r\n\r\n");
    let r = split_raw_response(&raw).expect("a response");
    assert_eq!((r.status, r.body), (200, pattern(100)));
}

#[test]
fn many_clients_at_once_get_their_own_responses() {
    let a = Origin::start("a");
    let sg = Slotgate::start(&render(
        "Listen 127.0.0.1:0\nStartServers 2\nProxyPass / http://{a}/\n",
        &[&a],
    ));
    let port = sg.port();
    let threads: Vec<_> = (0..16)
        .map(|t| {
            std::thread::spawn(move || {
                let mut c = Client::connect(port);
                for i in 0..8 {
                    let n = 1000 * t + i + 1;
                    let r = c.get(&format!("/bytes/{n}"));
                    assert_eq!(r.status, 200, "client {t} request {i}: {}", r.summary());
                    assert_eq!(r.body, pattern(n), "client {t} request {i}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a client thread failed");
    }
    assert_eq!(a.requests(), 16 * 8);
}

#[test]
fn client_leaving_mid_response_does_not_hurt_the_worker() {
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPass / http://{a}/\n", &[&a]);
    let workers = sg.wait_workers(1, Duration::from_secs(10));
    {
        let mut s = TcpStream::connect(("127.0.0.1", sg.port())).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s.write_all(b"GET /bytes/67108864 HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut got = vec![0u8; 64 * 1024];
        s.read_exact(&mut got).unwrap();
        // Dropped here, with most of the 64 MiB unread.
    }
    for _ in 0..3 {
        let r = http_get(sg.port(), "/bytes/1000", &[]);
        assert_eq!((r.status, r.body), (200, pattern(1000)));
    }
    assert_eq!(sg.worker_pids(), workers, "the worker was replaced");
}
