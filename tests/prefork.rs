//! The MPMs. Prefork (`MPM prefork` or `LoadModule mpm_prefork_module …`): a
//! worker holds one connection at a time, and the supervisor keeps
//! MinSpareServers..MaxSpareServers idle workers, at most MaxRequestWorkers in
//! all: workers are added as concurrent load rises and retired as it falls.
//! `MaxConnectionsPerChild`: a worker exits after that many connections and is
//! replaced. Event: `MaxRequestWorkers` bounds the connections of all workers
//! together; the rest wait in the listen backlog and are served later.
//!
//! Requests are held at a gated origin, so "in flight" is a fact the test
//! controls, not a matter of timing.

mod common;

use common::daemon::*;
use common::wire::{http_origin, render_raw, Gate, RawOrigin};
use common::*;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

/// Bound on a client waiting in the listen backlog for its answer.
const PATIENT: Duration = Duration::from_secs(90);

/// An origin whose `/slow…` requests wait for `gate`.
fn gated_origin(gate: &Gate) -> RawOrigin {
    let held = gate.clone();
    http_origin("a", move |req, _| {
        if req.target.starts_with("/slow") {
            held.wait(Duration::from_secs(60));
        }
    })
}

/// `GET path` with `Connection: close` on a fresh connection, reading up to
/// `PATIENT` for the answer (a request may wait in the listen backlog);
/// Ok(status) or why not.
fn patient_get(port: u16, path: &str) -> Result<u16, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(PATIENT))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(PATIENT))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("write: {e}"))?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&out);
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no status line in {text:?}"))?;
    Ok(status)
}

/// Live workers (pid alive, not a zombie) in the process table.
fn live_rows(path: &Path) -> Vec<ProcRow> {
    proc_rows(path)
        .into_iter()
        .filter(|r| !process_gone(r.pid))
        .collect()
}

#[test]
fn prefork_worker_holds_one_connection_at_a_time() {
    for choice in ["MPM prefork", "LoadModule mpm_prefork_module x"] {
        let gate = Gate::new();
        let a = gated_origin(&gate);
        let sg = Slotgate::start(&render_raw(
            &format!(
                "{choice}\nListen 127.0.0.1:0\nServerName test.local\nStartServers 4\n\
                 MinSpareServers 1\nMaxSpareServers 4\nMaxRequestWorkers 4\nProxyPass / http://{{a}}/\n"
            ),
            &[&a],
        ));
        let path = sg.scoreboard_path();
        sg.wait_workers(4, SIGNAL_WAIT);
        let port = sg.port();
        let clients: Vec<_> = (0..4)
            .map(|i| thread::spawn(move || patient_get(port, &format!("/slow/{i}"))))
            .collect();
        let mut most = 0;
        wait_for(
            &format!("{choice}: four requests in flight"),
            Duration::from_secs(30),
            || {
                most = most.max(
                    proc_rows(path)
                        .iter()
                        .map(|r| r.connections)
                        .max()
                        .unwrap_or(0),
                );
                (a.in_flight() == 4).then_some(())
            },
            || format!("{}; {}", a.summary(), describe_rows(path)),
        );
        // Four requests, four workers, one connection each.
        let busy = wait_for(
            &format!("{choice}: four workers with one connection each"),
            SIGNAL_WAIT,
            || {
                let rows = proc_rows(path);
                most = most.max(rows.iter().map(|r| r.connections).max().unwrap_or(0));
                let busy: Vec<i32> = rows
                    .iter()
                    .filter(|r| r.connections == 1)
                    .map(|r| r.pid)
                    .collect();
                (busy.len() == 4).then_some(busy)
            },
            || describe_rows(path),
        );
        assert_eq!(
            busy.iter().collect::<std::collections::BTreeSet<_>>().len(),
            4
        );
        assert_eq!(most, 1, "{choice}: a worker held several connections");
        gate.open();
        for c in clients {
            assert_eq!(c.join().unwrap(), Ok(200), "{choice}");
        }
    }
}

#[test]
fn prefork_spare_workers_follow_the_load_within_max_request_workers() {
    let gate = Gate::new();
    let a = gated_origin(&gate);
    let sg = Slotgate::start(&render_raw(
        "MPM prefork\nListen 127.0.0.1:0\nServerName test.local\nStartServers 2\n\
         MinSpareServers 2\nMaxSpareServers 4\nMaxRequestWorkers 16\nProxyPass / http://{a}/\n",
        &[&a],
    ));
    let path = sg.scoreboard_path();
    let start = live_rows(path).len();
    assert!(
        (2..=4).contains(&start),
        "StartServers 2 within spare limits: {}",
        describe_rows(path)
    );
    let port = sg.port();
    // Twenty requests held at the origin: the workers grow to 16, four wait.
    let clients: Vec<_> = (0..20)
        .map(|i| thread::spawn(move || patient_get(port, &format!("/slow/{i}"))))
        .collect();
    let mut most = 0;
    wait_for(
        "16 workers, each holding a request",
        Duration::from_secs(60),
        || {
            let rows = live_rows(path);
            most = most.max(rows.len());
            (rows.len() == 16 && a.in_flight() == 16).then_some(())
        },
        || format!("{}; {}", a.summary(), describe_rows(path)),
    );
    // A few more maintenance rounds: still no more than 16. An observation
    // window of a negative check, sampled every 50 ms: time passing is the
    // scenario (no fact marks "the supervisor would have forked by now").
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        most = most.max(live_rows(path).len());
        assert!(a.in_flight() <= 16, "{}", a.summary());
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(most, 16, "MaxRequestWorkers 16: at most 16 workers");
    assert_eq!(a.max_in_flight(), 16, "{}", a.summary());

    gate.open();
    let statuses: Vec<Result<u16, String>> =
        clients.into_iter().map(|c| c.join().unwrap()).collect();
    assert!(
        statuses.iter().all(|s| *s == Ok(200)),
        "every request, the four that waited included: {statuses:?}"
    );
    // Load gone: idle workers are retired down to MaxSpareServers.
    wait_for(
        "idle workers retired down to MaxSpareServers (4)",
        Duration::from_secs(60),
        || (live_rows(path).len() <= 4).then_some(()),
        || describe_rows(path),
    );
    let idle = live_rows(path).iter().filter(|r| r.state == '_').count();
    assert!(
        idle >= 2,
        "MinSpareServers 2 idle workers remain: {}",
        describe_rows(path)
    );
    assert_eq!(patient_get(port, "/after"), Ok(200));
}

/// Serves 12 one-connection requests with `MaxConnectionsPerChild 3`; the
/// access log's `%P` says which worker served each.
fn max_connections_per_child(mpm_lines: &str) {
    let a = Origin::start("a");
    let sg = Slotgate::start(&render(
        &format!(
            "{mpm_lines}Listen 127.0.0.1:0\nServerName test.local\nMaxConnectionsPerChild 3\n\
             LogFormat \"%P %>s\" pids\nCustomLog pids.log pids\nProxyPass / http://{{a}}/\n"
        ),
        &[&a],
    ));
    let sup = sg.pid();
    for i in 0..12 {
        let r = http_get(sg.port(), &format!("/bytes/{i}"), &[]);
        assert_eq!(
            (r.status, r.body),
            (200, pattern(i)),
            "{mpm_lines}request {i}"
        );
    }
    let lines = wait_lines(&sg.dir().join("pids.log"), 12, SIGNAL_WAIT);
    let mut by_pid: BTreeMap<String, usize> = BTreeMap::new();
    for l in &lines {
        let (pid, status) = l.split_once(' ').expect("two fields");
        assert_eq!(status, "200", "{l}");
        *by_pid.entry(pid.to_string()).or_default() += 1;
    }
    assert!(
        by_pid.values().all(|&n| n <= 3),
        "{mpm_lines}no worker serves more than 3 connections: {by_pid:?}"
    );
    assert!(
        by_pid.len() >= 4,
        "{mpm_lines}12 connections need 4 workers: {by_pid:?}"
    );
    assert!(
        !by_pid.contains_key(&sup.to_string()),
        "the supervisor served"
    );
    assert!(!process_gone(sup));
}

#[test]
fn max_connections_per_child_replaces_the_worker_in_event() {
    max_connections_per_child("StartServers 1\n");
}

#[test]
fn max_connections_per_child_replaces_the_worker_in_prefork() {
    max_connections_per_child(
        "MPM prefork\nStartServers 1\nMinSpareServers 1\nMaxSpareServers 2\nMaxRequestWorkers 4\n",
    );
}

#[test]
fn event_max_request_workers_bounds_connections_and_the_rest_wait() {
    let gate = Gate::new();
    let a = gated_origin(&gate);
    let sg = Slotgate::start(&render_raw(
        "Listen 127.0.0.1:0\nServerName test.local\nStartServers 2\nMaxRequestWorkers 4\n\
         ProxyPass / http://{a}/\n",
        &[&a],
    ));
    let path = sg.scoreboard_path();
    let workers = sg.wait_workers(2, SIGNAL_WAIT);
    let port = sg.port();
    let clients: Vec<_> = (0..10)
        .map(|i| thread::spawn(move || patient_get(port, &format!("/slow/{i}"))))
        .collect();
    wait_for(
        "four requests in flight",
        Duration::from_secs(30),
        || (a.in_flight() == 4).then_some(()),
        || format!("{}; {}", a.summary(), describe_rows(path)),
    );
    // An observation window of a negative check (no fifth connection taken
    // in), sampled every 50 ms: time passing is the scenario.
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        let open: u64 = proc_rows(path).iter().map(|r| r.connections).sum();
        assert!(open <= 4, "MaxRequestWorkers 4: {}", describe_rows(path));
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(a.max_in_flight(), 4, "{}", a.summary());
    gate.open();
    for (i, c) in clients.into_iter().enumerate() {
        assert_eq!(c.join().unwrap(), Ok(200), "request {i}");
    }
    assert_eq!(a.max_in_flight(), 4, "{}", a.summary());
    let mut now = sg.worker_pids();
    now.sort_unstable();
    let mut before = workers;
    before.sort_unstable();
    assert_eq!(now, before, "no worker was lost on the way");
}
