//! Timeouts on both sides (reference §2.1, §2.3, §2.4, §8.6): RequestReadTimeout
//! for a head or a body that trickles in, Timeout for a client that stops
//! sending its body, KeepAliveTimeout between requests, a slowloris crowd that
//! must not keep others from being served, the member `connectiontimeout`
//! (against a blackholed port), the member `timeout` (504) and the balancer's
//! `failontimeout`.
//!
//! No test asserts how long anything took: each waits, within a bound, for the
//! event (a 408, a close, a status, a flag) and counts what it saw.

mod common;

use common::wire::*;
use common::*;
use scoreboard::flags;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// Interval between the bytes of a trickling client.
const TRICKLE: Duration = Duration::from_millis(200);

/// What a trickling client saw.
struct Trickled {
    /// Bytes written after the prefix.
    sent: usize,
    /// What the server answered.
    answer: Vec<u8>,
    /// Whether the server closed the connection (or reset it).
    closed: bool,
}

/// Sends `prefix`, then one more byte of `filler` every 200 ms, at most
/// `max_bytes` of them, until the server answers and closes, or closes.
fn trickle(port: u16, prefix: &[u8], filler: u8, max_bytes: usize) -> Trickled {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connecting to slotgate");
    stream.set_read_timeout(Some(TRICKLE)).unwrap();
    stream.set_write_timeout(Some(WIRE_WAIT)).unwrap();
    let _ = stream.set_nodelay(true);
    stream.write_all(prefix).expect("writing the prefix");
    let mut answer = Vec::new();
    let mut sent = 0;
    let mut buf = [0u8; 4096];
    let mut writing = true;
    for _ in 0..max_bytes {
        if writing {
            if stream.write_all(&[filler]).is_ok() {
                sent += 1;
            } else {
                // Refused: what was answered before is still readable.
                writing = false;
            }
        }
        match stream.read(&mut buf) {
            Ok(0) => {
                return Trickled {
                    sent,
                    answer,
                    closed: true,
                }
            }
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(_) => {
                return Trickled {
                    sent,
                    answer,
                    closed: true,
                }
            }
        }
    }
    Trickled {
        sent,
        answer,
        closed: false,
    }
}

#[test]
fn trickled_request_head_is_cut_off_by_request_read_timeout() {
    let a = Origin::start("a");
    let sg = start_proxy(
        "RequestReadTimeout header=1-2,MinRate=500\nProxyPass / http://{a}/\n",
        &[&a],
    );
    // 75 bytes at 5 per second: 15 s, far past the 2 s the stage allows.
    let t = trickle(
        sg.port(),
        b"GET /slow HTTP/1.1\r\nHost: x\r\nX-Trickle: ",
        b'a',
        75,
    );
    assert!(
        t.closed,
        "the connection was still open after {} trickled bytes (answer {:?})",
        t.sent,
        String::from_utf8_lossy(&t.answer)
    );
    if !t.answer.is_empty() {
        let r = split_raw_response(&t.answer).unwrap_or_else(|| {
            panic!("unparsable answer {:?}", String::from_utf8_lossy(&t.answer))
        });
        assert_eq!(r.status, 408, "{}", r.summary());
    }
    assert_eq!(a.requests(), 0);
    // And the proxy still serves.
    let r = http_get(sg.port(), "/bytes/5", &[]);
    assert_eq!((r.status, r.body), (200, pattern(5)));
}

#[test]
fn slowloris_crowd_does_not_keep_a_normal_client_from_being_served() {
    const TRICKLERS: usize = 200;
    let a = Origin::start("a");
    // A long header stage, so the crowd stays connected for the whole test.
    let sg = start_proxy(
        "RequestReadTimeout header=30-60,MinRate=500\nProxyPass / http://{a}/\n",
        &[&a],
    );
    let mut crowd = Vec::with_capacity(TRICKLERS);
    for i in 0..TRICKLERS {
        let mut s = TcpStream::connect(("127.0.0.1", sg.port()))
            .unwrap_or_else(|e| panic!("connecting trickler {i}: {e}"));
        s.set_write_timeout(Some(WIRE_WAIT)).unwrap();
        s.write_all(b"GET /never HTTP/1.1\r\nHost: x\r\nX-Trickle: ")
            .unwrap_or_else(|e| panic!("trickler {i}: {e}"));
        crowd.push(s);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let stop_flag = Arc::clone(&stop);
    let trickler = thread::spawn(move || {
        // At most 100 rounds (20 s), whatever the main thread does.
        let mut rounds = 0;
        while !stop_flag.load(Ordering::SeqCst) && rounds < 100 {
            for s in crowd.iter_mut() {
                let _ = s.write_all(b"a");
            }
            rounds += 1;
            // Pacing of the slow clients: trickling is the scenario.
            thread::sleep(TRICKLE);
        }
        crowd
    });
    // The whole crowd is connected to the proxy before the normal client comes.
    wait_for(
        &format!("{TRICKLERS} client connections in the worker"),
        Duration::from_secs(20),
        || {
            let open: u64 = sg
                .scoreboard()
                .processes()
                .iter()
                .map(|p| p.connections())
                .sum();
            (open >= TRICKLERS as u64).then_some(())
        },
        || sg.process_table(),
    );
    let mut statuses = Vec::new();
    for i in 0..20 {
        let r = http_get(sg.port(), &format!("/bytes/{}", i + 1), &[]);
        statuses.push(r.status);
        assert_eq!(r.body, pattern(i + 1), "request {i}: {}", r.summary());
    }
    stop.store(true, Ordering::SeqCst);
    let crowd = trickler.join().expect("the trickling thread panicked");
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    assert_eq!(
        a.requests(),
        20,
        "only the normal requests reach the origin"
    );
    // The crowd was still there while the normal client was served.
    let still_open = crowd
        .iter()
        .filter(|s| {
            s.set_nonblocking(true).unwrap();
            let mut b = [0u8; 1];
            let open = matches!(s.peek(&mut b), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
            s.set_nonblocking(false).unwrap();
            open
        })
        .count();
    assert_eq!(
        still_open, TRICKLERS,
        "tricklers were closed or answered during the test"
    );
}

#[test]
fn keep_alive_timeout_closes_only_an_idle_connection() {
    let a = Origin::start("a");
    let sg = start_proxy("KeepAliveTimeout 1\nProxyPass / http://{a}/\n", &[&a]);
    let mut c = Client::connect(sg.port());
    for i in 1..=5 {
        let r = c.get(&format!("/bytes/{i}"));
        assert_eq!((r.status, r.body), (200, pattern(i)), "request {i}");
    }
    assert!(
        c.closed_by_peer(WIRE_WAIT),
        "the idle connection was never closed"
    );
    assert_eq!(a.requests(), 5);
}

#[test]
fn keep_alive_timeout_does_not_cut_a_request_waiting_for_its_member() {
    let a = Origin::start("a");
    a.set_mode(Mode::Slow(Duration::from_millis(2500)));
    let sg = start_proxy(
        "KeepAliveTimeout 1\nProxyPass / http://{a}/ timeout=30\n",
        &[&a],
    );
    let mut c = Client::connect(sg.port());
    let r = c.get("/bytes/7");
    assert_eq!((r.status, r.body), (200, pattern(7)));
}

#[test]
fn timeout_ends_a_client_that_stops_sending_its_body() {
    let a = Origin::start("a");
    let sg = start_proxy(
        "Timeout 1\nRequestReadTimeout body=0\nProxyPass / http://{a}/ timeout=30\n",
        &[&a],
    );
    let mut wire = Wire::connect(sg.port());
    wire.send(b"POST /sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
    let ending = wire.read_to_close(Duration::from_secs(20));
    assert!(
        ending.closed,
        "the connection was still open with 90 body bytes missing: {:?}",
        String::from_utf8_lossy(&ending.bytes)
    );
    if let Some(r) = split_raw_response(&ending.bytes) {
        assert_eq!(r.status, 408, "{}", r.summary());
    }
    assert_eq!(a.recorded().len(), 0, "the origin got a complete request");
}

#[test]
fn request_read_timeout_body_stage_ends_a_stalled_body() {
    let a = Origin::start("a");
    let sg = start_proxy(
        "Timeout 60\nRequestReadTimeout body=1\nProxyPass / http://{a}/ timeout=30\n",
        &[&a],
    );
    let mut wire = Wire::connect(sg.port());
    wire.send(b"POST /sha256 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
    let ending = wire.read_to_close(Duration::from_secs(20));
    assert!(
        ending.closed,
        "the connection was still open with 90 body bytes missing: {:?}",
        String::from_utf8_lossy(&ending.bytes)
    );
    if let Some(r) = split_raw_response(&ending.bytes) {
        assert_eq!(r.status, 408, "{}", r.summary());
    }
    assert_eq!(a.recorded().len(), 0, "the origin got a complete request");
}

/// A listening socket whose accept queue is full, so further SYNs are
/// dropped and connects hang: a blackhole on loopback. None if this system
/// does not behave so (the test is then skipped).
struct Blackhole {
    _listener: socket2::Socket,
    _queued: Vec<TcpStream>,
    addr: SocketAddr,
}

fn blackhole() -> Option<Blackhole> {
    use socket2::{Domain, Protocol, SockAddr, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).ok()?;
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    listener.bind(&SockAddr::from(any)).ok()?;
    listener.listen(0).ok()?;
    let addr = listener.local_addr().ok()?.as_socket()?;
    let mut queued = Vec::new();
    for _ in 0..8 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(s) => queued.push(s),
            Err(_) => {
                return Some(Blackhole {
                    _listener: listener,
                    _queued: queued,
                    addr,
                })
            }
        }
    }
    None
}

#[test]
fn connection_timeout_gives_up_on_a_member_that_never_answers_the_connect() {
    let Some(hole) = blackhole() else {
        eprintln!("skipped: could not make a port that drops connects on this system");
        return;
    };
    let sg = start_proxy(
        &format!(
            "ProxyPass /bh/ http://{}/ connectiontimeout=1 timeout=60\n",
            hole.addr
        ),
        &[],
    );
    // Without connectiontimeout the connect would wait for `timeout` (60 s),
    // past the client's 10 s read bound.
    let r = http_get(sg.port(), "/bh/x", &[]);
    assert_eq!(r.status, 503, "{}", r.summary());
}

#[test]
fn member_timeout_gives_504_for_a_hanging_origin() {
    let a = Origin::start("a");
    a.set_mode(Mode::Hang);
    let sg = start_proxy("ProxyPass /h/ http://{a}/ timeout=1\n", &[&a]);
    let r = http_get(sg.port(), "/h/x", &[]);
    assert_eq!(r.status, 504, "{}", r.summary());
    assert_eq!(a.requests(), 1);
    a.set_mode(Mode::Normal);
    let r = http_get(sg.port(), "/h/bytes/3", &[]);
    assert_eq!((r.status, r.body), (200, pattern(3)));
}

fn timeout_balancer(failontimeout: &str, a: &Origin) -> Slotgate {
    start_proxy(
        &format!(
            "<Proxy balancer://slow>\n    BalancerMember http://{{a}} timeout=1 retry=60\n</Proxy>\n\
             ProxyPass /b/ balancer://slow/ failontimeout={failontimeout}\n"
        ),
        &[a],
    )
}

#[test]
fn failontimeout_puts_the_member_in_error_after_a_504() {
    let a = Origin::start("a");
    a.set_mode(Mode::Hang);
    let sg = timeout_balancer("On", &a);
    assert!(
        !member(&sg, &a.addr()).has(flags::ERROR),
        "{}",
        member_table(&sg)
    );
    let r = http_get(sg.port(), "/b/x", &[]);
    assert_eq!(r.status, 504, "{}", r.summary());
    let m = wait_member_in_error(&sg, &a.addr());
    assert!(m.has(flags::ERROR));
}

#[test]
fn without_failontimeout_a_504_leaves_the_member_usable() {
    let a = Origin::start("a");
    a.set_mode(Mode::Hang);
    let sg = timeout_balancer("Off", &a);
    let r = http_get(sg.port(), "/b/x", &[]);
    assert_eq!(r.status, 504, "{}", r.summary());
    // The flag would be set with the 504; look once the worker is done with
    // the exchange.
    sg.wait_idle(Duration::from_secs(5));
    assert!(
        !member(&sg, &a.addr()).has(flags::ERROR),
        "member in error without failontimeout:{}",
        member_table(&sg)
    );
    a.set_mode(Mode::Normal);
    let r = http_get(sg.port(), "/b/bytes/4", &[]);
    assert_eq!((r.status, r.body), (200, pattern(4)));
}
