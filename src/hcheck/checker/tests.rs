use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::thread;

use super::*;
use crate::handlers::testutil::Board;

const C: u32 = flags::HC_FAILED;
const E: u32 = flags::ERROR;
const O: u32 = flags::INIT;

/// httpd's mod_proxy_hcheck counters (reference §5), for comparison: a member
/// with C or E counts passes, others count failures, and nothing resets the
/// counter of the other kind.
fn httpd(
    before: Counts,
    status: u32,
    passed: bool,
    passes: u32,
    fails: u32,
) -> (Counts, Transition) {
    let mut c = before;
    if status & (C | E) != 0 {
        if passed {
            c.pcount += 1;
            if c.pcount >= passes.max(1) {
                c.pcount = 0;
                return (c, Transition::Recovered);
            }
        }
    } else if !passed {
        c.fcount += 1;
        if c.fcount >= fails.max(1) {
            c.fcount = 0;
            return (c, Transition::SetFailed);
        }
    }
    (c, Transition::None)
}

type Rule = fn(Counts, u32, bool, u32, u32) -> (Counts, Transition);

/// Feeds `results` (true = pass) through `rule` from a usable member and
/// returns the status bits after each result.
fn run(rule: Rule, results: &[bool], passes: u32, fails: u32) -> Vec<u32> {
    let mut status = O;
    let mut counts = Counts::default();
    let mut out = Vec::new();
    for &passed in results {
        let (next, t) = rule(counts, status, passed, passes, fails);
        counts = next;
        match t {
            Transition::SetFailed => status |= C,
            Transition::Recovered => status &= !(C | E),
            Transition::None => {}
        }
        out.push(status);
    }
    out
}

#[test]
fn failures_must_be_back_to_back() {
    // hcfails=3: two failures, a pass, one more failure. httpd's cumulative
    // counter takes the member out (its quirk, §9); slotgate does not.
    let results = [false, false, true, false];
    assert_eq!(run(httpd, &results, 1, 3).last(), Some(&(O | C)));
    assert_eq!(run(count, &results, 1, 3).last(), Some(&O));
    // Three in a row do it in both.
    let results = [false, true, false, false, false];
    assert_eq!(run(count, &results, 1, 3), vec![O, O, O, O, O | C]);
    // httpd already took it out at the third failure, counting the first.
    assert_eq!(run(httpd, &results, 1, 3)[3], O | C);
}

#[test]
fn passes_must_be_back_to_back() {
    // Out with hcfails=1, then hcpasses=3: pass, pass, fail, pass. httpd
    // ignores the failure and brings the member back; slotgate starts over.
    let results = [false, true, true, false, true];
    assert_eq!(run(httpd, &results, 3, 1).last(), Some(&O));
    assert_eq!(run(count, &results, 3, 1).last(), Some(&(O | C)));
    let results = [false, true, true, false, true, true, true];
    assert_eq!(
        run(count, &results, 3, 1),
        vec![O | C, O | C, O | C, O | C, O | C, O | C, O]
    );
}

#[test]
fn zero_thresholds_behave_like_one_and_e_is_cleared_by_passes() {
    assert_eq!(run(count, &[false, true], 0, 0), vec![O | C, O]);
    // A member in E (live traffic) comes back after hcpasses passes, without
    // waiting for retry; a usable member's passes count nothing.
    let (c, t) = count(Counts::default(), O | E, true, 2, 1);
    assert_eq!(
        (c, t),
        (
            Counts {
                pcount: 1,
                fcount: 0
            },
            Transition::None
        )
    );
    let (c, t) = count(c, O | E, true, 2, 1);
    assert_eq!((c, t), (Counts::default(), Transition::Recovered));
    assert_eq!(
        count(Counts::default(), O, true, 2, 1),
        (Counts::default(), Transition::None)
    );
    // A failure of a member already out changes nothing but the pass count.
    assert_eq!(
        count(
            Counts {
                pcount: 1,
                fcount: 0
            },
            O | C,
            false,
            2,
            2
        ),
        (Counts::default(), Transition::None)
    );
}

#[test]
fn probe_paths_follow_httpd() {
    assert_eq!(probe_path("", "/health"), "/health");
    assert_eq!(probe_path("/base", "health"), "/base/health");
    assert_eq!(probe_path("/base", "/health"), "/base//health");
    assert_eq!(probe_path("/base", ""), "/base");
    assert_eq!(probe_path("", ""), "/");
    assert_eq!(probe_path("", "health"), "/health");
}

#[test]
fn requests_carry_only_host() {
    assert_eq!(request(HcMethod::Tcp, "/x", "h:1"), None);
    assert_eq!(request(HcMethod::None, "/x", "h:1"), None);
    assert_eq!(
        request(HcMethod::Options, "/x", "h:1").unwrap(),
        "OPTIONS * HTTP/1.0\r\nHost: h:1\r\n\r\n"
    );
    assert_eq!(
        request(HcMethod::Head11, "/x", "h:1").unwrap(),
        "HEAD /x HTTP/1.1\r\nHost: h:1\r\n\r\n"
    );
    assert_eq!(
        request(HcMethod::Get, "/a/health", "[::1]:8080").unwrap(),
        "GET /a/health HTTP/1.0\r\nHost: [::1]:8080\r\n\r\n"
    );
}

/// A tiny origin: answers every connection with what `answer` says for the
/// request head, then closes. `None` = hang (hold the connection, answer nothing).
struct TestOrigin {
    port: u16,
    requests: Arc<AtomicUsize>,
}

fn origin(answer: fn(&str) -> Option<String>) -> TestOrigin {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let counted = counted.clone();
            thread::spawn(move || {
                let mut head = Vec::new();
                let mut b = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut b) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&b[..n]),
                    }
                }
                counted.fetch_add(1, Ordering::SeqCst);
                match answer(&String::from_utf8_lossy(&head)) {
                    Some(reply) => {
                        let _ = s.write_all(reply.as_bytes());
                    }
                    None => thread::sleep(Duration::from_secs(30)),
                }
            });
        }
    });
    TestOrigin { port, requests }
}

fn reply(status: u16, body: &str) -> Option<String> {
    Some(format!(
        "HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ))
}

fn checker(board: &Board, tpsize: usize) -> Checker {
    let mut cfg = crate::config::parse_str("Listen 127.0.0.1:0\n", Path::new("t.conf"), &[])
        .expect("minimal configuration");
    cfg.hc_tpsize = tpsize;
    let routes = Routes::new(&cfg).expect("routes");
    let sb = Scoreboard::attach(&board.path).expect("attach");
    Checker::new(Arc::new(cfg), Arc::new(routes), Arc::new(sb)).expect("checker")
}

fn configure(board: &Board, slot: usize, method: HcMethod, uri: &str, interval_ms: u32) {
    let m = board.sb.member(slot);
    m.set_hc_method(method.code());
    m.set_hc_interval_ms(interval_ms);
    m.set_hc_passes(1);
    m.set_hc_fails(1);
    m.hc_uri.set(uri);
}

/// Turns the checker until `done` or `limit` passes; false on timeout.
fn turn_until(c: &mut Checker, limit: Duration, done: impl Fn() -> bool) -> bool {
    let mut events = Events::with_capacity(64);
    let end = Instant::now() + limit;
    while Instant::now() < end {
        c.turn(&mut events, SIGNAL).unwrap();
        if done() {
            return true;
        }
    }
    false
}

#[test]
fn checker_sets_and_clears_c_from_real_probes() {
    static STATUS: AtomicUsize = AtomicUsize::new(200);
    let o = origin(|head| {
        assert!(head.starts_with("GET /app/health HTTP/1.0\r\nHost: 127.0.0.1:"));
        reply(STATUS.load(Ordering::SeqCst) as u16, "fine")
    });
    let url = format!("http://127.0.0.1:{}/app", o.port);
    let board = Board::new(&[("b", &[url.as_str()], 0)]);
    configure(&board, 0, HcMethod::Get, "health", 100);
    let mut c = checker(&board, 16);
    let m = board.sb.member(0);
    assert!(turn_until(&mut c, Duration::from_secs(10), || m
        .hc_result()
        .is_some()));
    assert_eq!(m.hc_result(), Some((true, 200)));
    assert_eq!(m.hc_reason.get(), "ok");
    assert!(m.hc_last_check() > 0);
    STATUS.store(500, Ordering::SeqCst);
    assert!(turn_until(&mut c, Duration::from_secs(10), || m.status()
        & C
        != 0));
    assert_eq!(m.hc_reason.get(), "status 500");
    assert_eq!(m.hc_result(), Some((false, 500)));
    assert!(m.error_time() > 0);
    STATUS.store(204, Ordering::SeqCst);
    assert!(turn_until(&mut c, Duration::from_secs(10), || m.status()
        & C
        == 0));
    assert!(o.requests.load(Ordering::SeqCst) >= 3);
}

#[test]
fn tcp_check_of_a_closed_port_fails_and_disabled_members_are_not_checked() {
    // A port that was just free: connecting is refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let o = origin(|_| reply(200, "x"));
    let closed = format!("http://127.0.0.1:{port}");
    let disabled = format!("http://127.0.0.1:{}", o.port);
    let board = Board::new(&[("b", &[closed.as_str(), disabled.as_str()], 0)]);
    configure(&board, 0, HcMethod::Tcp, "", 100);
    configure(&board, 1, HcMethod::Get, "/", 100);
    board.sb.member(1).set_flags(flags::DISABLED);
    let mut c = checker(&board, 16);
    let m = board.sb.member(0);
    assert!(turn_until(&mut c, Duration::from_secs(10), || m.status()
        & C
        != 0));
    assert_eq!(m.hc_reason.get(), "connect refused");
    assert_eq!(m.hc_result(), Some((false, 0)));
    assert_eq!(board.sb.member(1).hc_result(), None);
    assert_eq!(o.requests.load(Ordering::SeqCst), 0);
}

#[test]
fn a_hanging_member_does_not_delay_another_and_times_out() {
    let hang = origin(|_| None);
    let fine = origin(|_| reply(200, "ok"));
    let h = format!("http://127.0.0.1:{}", hang.port);
    let f = format!("http://127.0.0.1:{}", fine.port);
    let board = Board::new(&[("b", &[h.as_str(), f.as_str()], 0)]);
    // Interval 100 ms: the hanging probe's own limit is 1 s.
    configure(&board, 0, HcMethod::Get, "/health", 100);
    configure(&board, 1, HcMethod::Get, "/health", 100);
    // One probe at a time would let the hang hold the other back; the default
    // pool of 16 must not.
    let mut c = checker(&board, 16);
    let start = Instant::now();
    assert!(turn_until(&mut c, Duration::from_secs(10), || {
        fine.requests.load(Ordering::SeqCst) >= 5
    }));
    // Five checks of the healthy member happened while the first probe of the
    // hanging one was still within its 1 s limit (or just past it).
    assert!(board.sb.member(1).hc_result() == Some((true, 200)));
    let m = board.sb.member(0);
    assert!(turn_until(&mut c, Duration::from_secs(10), || m.status()
        & C
        != 0));
    assert_eq!(m.hc_reason.get(), "timeout");
    assert!(start.elapsed() >= Duration::from_millis(900));
    // Never more than one probe in flight per member.
    assert!(hang.requests.load(Ordering::SeqCst) <= 1 + start.elapsed().as_secs() as usize);
}

#[test]
fn a_body_is_read_to_its_end_and_judged_by_the_expression() {
    let o = origin(|_| {
        let body = "x".repeat(100_000) + "Under maintenance";
        Some(format!(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
            body.len()
        ))
    });
    let url = format!("http://127.0.0.1:{}", o.port);
    let board = Board::new(&[("b", &[url.as_str()], 0)]);
    configure(&board, 0, HcMethod::Get11, "/health", 100);
    // No expression: status 200 passes, whatever the body.
    let mut c = checker(&board, 0);
    let m = board.sb.member(0);
    assert!(turn_until(&mut c, Duration::from_secs(10), || m
        .hc_result()
        .is_some()));
    assert_eq!(m.hc_result(), Some((true, 200)));
    // An expression name that is not defined fails.
    m.hc_expr.set("nosuch");
    m.set_hc_last_check(0);
    assert!(turn_until(&mut c, Duration::from_secs(10), || m.status()
        & C
        != 0));
    assert_eq!(m.hc_reason.get(), "no ProxyHCExpr nosuch");
}
