//! A local fault is not a member fault (issue #13, point 6). Under
//! `prlimit --nofile=256` with 400 clients at once, slotgate runs out of
//! descriptors (EMFILE on accept and on the member sockets it opens). Before
//! the fix both healthy members went into error state ("Too many open
//! files"), stayed there for `retry`, and the error log got ~1,000 lines in
//! 10 ms. Now: accepting pauses and resumes, no member is blamed (no E flag,
//! no error counted), the log has one line per cause per second, and
//! server-status shows the fault.

mod common;

use common::*;
use scoreboard::flags;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

const CLIENTS: usize = 400;
/// Bound of each client's wait for its answer (accept pauses for a moment,
/// and a connection may wait in the listen queue until others close).
const CLIENT_WAIT: Duration = Duration::from_secs(60);

/// One request with `Connection: close`: the status, or None when the
/// connection failed or closed without an answer.
fn one_request(port: u16) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(CLIENT_WAIT)).ok()?;
    s.write_all(b"GET /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let line = String::from_utf8_lossy(&answer);
    line.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

#[test]
fn running_out_of_descriptors_blames_no_member_and_logs_once_a_second() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    // Slow answers keep many connections open at once.
    a.set_mode(Mode::Slow(Duration::from_millis(300)));
    b.set_mode(Mode::Slow(Duration::from_millis(300)));
    let conf = render(
        "Listen 127.0.0.1:0\nStartServers 1\nServerName faults.test\nMaxRequestWorkers 2000\n\
         <Location /server-status>\n  SetHandler server-status\n</Location>\n\
         ProxyPass /server-status !\n\
         <Proxy balancer://m>\n  BalancerMember http://{a} retry=60\n  \
         BalancerMember http://{b} retry=60\n</Proxy>\nProxyPass / balancer://m/\n",
        &[&a, &b],
    );
    let sg = Slotgate::try_start_wrapped(&conf, &[], &["prlimit", "--nofile=256:256", "--"])
        .unwrap_or_else(|e| panic!("{e}"));
    let port = sg.port();
    let started = Instant::now();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| thread::spawn(move || one_request(port)))
        .collect();
    let answers: Vec<Option<u16>> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    let elapsed = started.elapsed();
    let ok = answers.iter().filter(|a| **a == Some(200)).count();
    let busy = answers.iter().filter(|a| **a == Some(503)).count();
    let summary = format!("{ok} × 200, {busy} × 503, of {CLIENTS}");

    // No member was blamed.
    for o in [&a, &b] {
        let m = member(&sg, &o.addr());
        assert!(
            !m.has(flags::ERROR),
            "member {} went into error state for a local fault:{}",
            o.addr(),
            member_table(&sg)
        );
        assert_eq!(m.errors, 0, "{}", member_table(&sg));
    }
    // Every client got an answer: served, or a 503 for a local fault
    // (requests wait for a descriptor up to the member's connection timeout).
    assert_eq!(ok + busy, CLIENTS, "{summary}: {answers:?}\n{}", sg.logs());
    assert!(ok > 0, "{summary}");
    // The limit was reached (else this test proves nothing).
    let faults: u64 = sg
        .scoreboard()
        .processes()
        .iter()
        .map(|p| p.local_faults())
        .sum();
    assert!(
        faults > 0,
        "no local fault under nofile=256 ({summary})\n{}",
        sg.logs()
    );
    // And both still serve.
    a.set_mode(Mode::Normal);
    b.set_mode(Mode::Normal);
    let mut seen = std::collections::HashSet::new();
    for _ in 0..4 {
        let r = http_get(port, "/y", &[("Connection", "close")]);
        assert_eq!(r.status, 200, "{}", r.summary());
        seen.insert(r.header("x-origin").unwrap_or_default().to_string());
    }
    assert_eq!(seen.len(), 2, "{seen:?}");

    // The log: at most one line per cause per second (accept and connect
    // share the cause), plus the counts of what was not logged.
    let log = sg.error_log();
    let lines = log
        .lines()
        .filter(|l| l.contains("Too many open files"))
        .count();
    let bound = 2 * (elapsed.as_secs() as usize + 2);
    assert!(
        lines >= 1 && lines <= bound,
        "{lines} log lines about the fault in {elapsed:?} (at most {bound}):\n{log}"
    );
    assert!(
        !log.contains("is now in error state"),
        "a member was put in error state:\n{log}"
    );

    // server-status shows the fault and its cause.
    let status = http_get(port, "/server-status?auto", &[]);
    let text = String::from_utf8_lossy(&status.body).into_owned();
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}: ")))
            .unwrap_or_else(|| panic!("no {key} in:\n{text}"))
            .to_string()
    };
    assert_eq!(value("LocalFaults"), faults.to_string(), "{text}");
    assert!(
        value("LastLocalFault").contains("Too many open files"),
        "{text}"
    );
    let json = http_get(port, "/server-status?json", &[]);
    let json: serde_json::Value = serde_json::from_slice(&json.body).expect("server-status JSON");
    let slots = json["process_slots"].as_array().expect("process_slots");
    let counted: u64 = slots
        .iter()
        .filter_map(|p| p["local_faults"].as_u64())
        .sum();
    assert_eq!(counted, faults, "{json}");
    assert!(
        slots.iter().any(|p| p["last_local_fault"]["cause"]
            .as_str()
            .is_some_and(|c| c.contains("Too many open files"))),
        "{json}"
    );
    let html = http_get(port, "/server-status", &[]);
    assert!(
        String::from_utf8_lossy(&html.body).contains("Too many open files"),
        "the HTML page does not show the cause"
    );
}
