//! Prefork accepts as httpd's prefork does (issue #18): the kernel wakes one idle
//! worker per connection. With one listener each idle worker blocks in accept;
//! with several they take turns with the accept mutex (`Mutex`, pthread by default
//! as in httpd on Linux). A worker woken for a connection that another took counts
//! an *accept miss* in its process slot (`accept_misses`); before this change every
//! idle worker had the listener in its own epoll set, so each connection woke them
//! all and all but one counted a miss.
//!
//! Facts, not timing: the process slots publish connections, misses and each
//! worker's progress mark (its loop turns at least once a second when idle), and
//! a gated origin holds requests "in flight" for as long as a test needs.

mod common;

use common::daemon::*;
use common::wire::{http_origin, render_raw, Gate, RawOrigin};
use common::*;
use nix::sys::signal::Signal;
use scoreboard::Scoreboard;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::thread;
use std::time::Duration;

/// Bound on one client's wait for its answer.
const PATIENT: Duration = Duration::from_secs(60);

/// An origin whose `/slow…` requests wait for `gate`.
fn gated_origin(gate: &Gate) -> RawOrigin {
    let held = gate.clone();
    http_origin("a", move |req, _| {
        if req.target.starts_with("/slow") {
            held.wait(Duration::from_secs(60));
        }
    })
}

/// `GET path` on a fresh connection to 127.0.0.1:`port` with `Connection: close`;
/// Ok(status) or why not.
fn get(port: u16, path: &str) -> Result<u16, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| format!("connect: {e}"))?;
    s.set_read_timeout(Some(PATIENT))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("write: {e}"))?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).map_err(|e| format!("read: {e}"))?;
    let text = String::from_utf8_lossy(&out);
    text.strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("no status line in {text:?}"))
}

/// Per live worker of `generation`: (pid, state letter, total connections,
/// accept misses, progress mark).
fn workers(path: &Path, generation: u64) -> Vec<(i32, char, u64, u64, u64)> {
    let Ok(sb) = Scoreboard::attach_readonly(path) else {
        return Vec::new();
    };
    sb.processes()
        .iter()
        .filter(|p| p.pid() != 0 && p.generation() == generation && !process_gone(p.pid()))
        .map(|p| {
            (
                p.pid(),
                p.state().letter(),
                p.total_connections(),
                p.accept_misses(),
                p.progress_ms(),
            )
        })
        .collect()
}

/// Waits until every live worker of generation 1 has turned its loop after now,
/// so whatever woke it before now (a miss included) is in its slot; returns
/// (connections accepted, accept misses) over those workers.
fn settled_counts(path: &Path) -> (u64, u64) {
    let now = scoreboard::monotonic_ms();
    wait_for(
        "every worker's loop to turn once more",
        Duration::from_secs(20),
        || {
            let rows = workers(path, 1);
            (!rows.is_empty() && rows.iter().all(|r| r.4 > now)).then(|| {
                (
                    rows.iter().map(|r| r.2).sum::<u64>(),
                    rows.iter().map(|r| r.3).sum::<u64>(),
                )
            })
        },
        || describe_rows(path),
    )
}

/// Waits until `n` workers of generation 1 are idle (`_`), waiting to accept.
fn wait_idle(path: &Path, n: usize) {
    wait_for(
        &format!("{n} idle workers"),
        SIGNAL_WAIT,
        || (workers(path, 1).iter().filter(|r| r.1 == '_').count() == n).then_some(()),
        || describe_rows(path),
    );
}

// One listener, eight idle workers, thirty connections one after the other:
// thirty accepts and no worker woken for nothing. (Before: every connection
// woke the epoll sets of all eight; most woken workers found the listener
// drained inside epoll_wait and slept again, the others returned and counted a
// miss: 8 misses for the 30 connections in the run that checked this test.)
#[test]
fn sequential_connections_wake_one_idle_prefork_worker_each() {
    let gate = Gate::new();
    let a = gated_origin(&gate);
    let sg = Slotgate::start(&render_raw(
        "MPM prefork\nListen 127.0.0.1:0\nServerName test.local\nStartServers 8\n\
         MinSpareServers 8\nMaxSpareServers 10\nMaxRequestWorkers 16\nProxyPass / http://{a}/\n",
        &[&a],
    ));
    let path = sg.scoreboard_path();
    wait_idle(path, 8);
    for i in 0..30 {
        assert_eq!(get(sg.port(), &format!("/n/{i}")), Ok(200), "request {i}");
    }
    let (accepted, misses) = settled_counts(path);
    assert_eq!(accepted, 30, "{}", describe_rows(path));
    assert_eq!(
        misses,
        0,
        "idle workers woken for connections others took: {:?}",
        workers(path, 1)
    );
}

// Two listeners: the workers take turns with the accept mutex. Sequential
// connections alternate between the ports with no miss; a request held on each
// port shows that a worker lets go of the mutex as soon as it has its one
// connection (both are served at once); a graceful restart ends the workers
// waiting on the mutex or polling the listeners, and the new ones serve both.
#[test]
fn several_listeners_take_turns_with_the_accept_mutex() {
    let gate = Gate::new();
    let a = gated_origin(&gate);
    let sg = Slotgate::start(&render_raw(
        "MPM prefork\nListen 127.0.0.1:0\nListen 127.0.0.1:0\nServerName test.local\n\
         StartServers 4\nMinSpareServers 4\nMaxSpareServers 6\nMaxRequestWorkers 8\n\
         Mutex default\nProxyPass / http://{a}/\n",
        &[&a],
    ));
    let path = sg.scoreboard_path();
    let ports = sg.ports().to_vec();
    assert_eq!(ports.len(), 2, "{ports:?}");
    wait_idle(path, 4);
    for i in 0..20 {
        let port = ports[i % 2];
        assert_eq!(
            get(port, &format!("/n/{i}")),
            Ok(200),
            "request {i} on {port}"
        );
    }
    let (accepted, misses) = settled_counts(path);
    assert_eq!(accepted, 20, "{}", describe_rows(path));
    assert_eq!(misses, 0, "{:?}", workers(path, 1));

    let held: Vec<_> = ports
        .iter()
        .map(|&port| thread::spawn(move || get(port, "/slow")))
        .collect();
    wait_for(
        "a request from each listener held at the origin",
        Duration::from_secs(30),
        || (a.in_flight() == 2).then_some(()),
        || format!("{}; {}", a.summary(), describe_rows(path)),
    );
    gate.open();
    for h in held {
        assert_eq!(h.join().unwrap(), Ok(200));
    }

    sg.signal(Signal::SIGUSR1);
    wait_for(
        "generation 2 idle on both listeners, generation 1 gone",
        SIGNAL_WAIT,
        || {
            let old = workers(path, 1).len();
            let new = workers(path, 2).iter().filter(|r| r.1 == '_').count();
            (old == 0 && new >= 4).then_some(())
        },
        || describe_rows(path),
    );
    for &port in &ports {
        assert_eq!(get(port, "/after"), Ok(200), "port {port}");
    }
}

// A burst of held requests grows the workers past MaxSpareServers (each holds
// one connection); once it is served, spare-server maintenance brings the idle
// workers back to MaxSpareServers. Blocking accept never wakes a worker for
// nothing, burst included.
#[test]
fn workers_grow_for_a_burst_and_come_back_to_max_spare_servers() {
    let gate = Gate::new();
    let a = gated_origin(&gate);
    let sg = Slotgate::start(&render_raw(
        "MPM prefork\nListen 127.0.0.1:0\nServerName test.local\nStartServers 2\n\
         MinSpareServers 2\nMaxSpareServers 3\nMaxRequestWorkers 12\nProxyPass / http://{a}/\n",
        &[&a],
    ));
    let path = sg.scoreboard_path();
    let port = sg.port();
    let burst: Vec<_> = (0..10)
        .map(|i| thread::spawn(move || get(port, &format!("/slow/{i}"))))
        .collect();
    let mut most = 0;
    wait_for(
        "ten requests in flight, one per worker",
        Duration::from_secs(60),
        || {
            let rows = workers(path, 1);
            most = most.max(rows.len());
            (a.in_flight() == 10).then_some(())
        },
        || format!("{}; {}", a.summary(), describe_rows(path)),
    );
    assert!(
        workers(path, 1).len() >= 10,
        "ten held connections need ten workers: {}",
        describe_rows(path)
    );
    gate.open();
    for b in burst {
        assert_eq!(b.join().unwrap(), Ok(200));
    }
    wait_for(
        "idle workers retired down to MaxSpareServers (3)",
        Duration::from_secs(60),
        || {
            let rows = workers(path, 1);
            most = most.max(rows.len());
            (rows.len() <= 3 && rows.iter().all(|r| r.1 == '_')).then_some(())
        },
        || describe_rows(path),
    );
    assert!(most >= 10, "grew to {most} workers");
    let (accepted, misses) = settled_counts(path);
    assert_eq!(misses, 0, "{:?}", workers(path, 1));
    assert!(accepted <= 10, "{}", describe_rows(path));
    assert_eq!(get(port, "/after"), Ok(200));
}

// `Mutex` as httpd 2.4.71 (Debian's apache2, `apache2 -t` with mod_mpm_prefork and
// mod_rewrite loaded) reads it: every mechanism loads but an unknown one, whose
// error lists them; `none` is refused; a `mechanism:dir`'s directory must exist
// (empty is fine); mutex names are case-sensitive and an unknown one is refused;
// `OmitPID` may stand anywhere among the names. slotgate runs the
// accept mutex as a pthread mutex (httpd's default on Linux) and says so when
// another mechanism was asked for.
#[test]
fn mutex_directive_loads_and_refuses_as_httpd() {
    let dir = TempDir::new();
    let lock_dir = dir.path().join("lock");
    std::fs::create_dir_all(&lock_dir).unwrap();
    let base = "MPM prefork\nListen 127.0.0.1:0\nServerName test.local\n";
    let refused = [
        // AH00526: Syntax error …: Invalid Mutex argument bogus (Mutex mechanisms are: …)
        (
            "Mutex bogus",
            "Invalid Mutex argument bogus (Mutex mechanisms are: 'none'",
        ),
        ("Mutex", "Mutex requires at least a mechanism argument"),
        ("Mutex pthread nonsense", "Mutex type nonsense is not valid"),
        ("Mutex none", "None is not allowed for mutex type default"),
        (
            "Mutex no mpm-accept",
            "None is not allowed for mutex type mpm-accept",
        ),
        (
            "Mutex none rewrite-map",
            "None is not allowed for mutex type rewrite-map",
        ),
        (
            "Mutex DEFAULT MPM-ACCEPT",
            "Mutex type MPM-ACCEPT is not valid",
        ),
        ("Mutex pthread Default", "Mutex type Default is not valid"),
        (
            "Mutex sysvsem:/nonexistent mpm-accept",
            "Invalid Mutex directory in argument sysvsem:/nonexistent",
        ),
        (
            "Mutex bogus:/tmp",
            "Invalid Mutex argument bogus:/tmp (Mutex mechanisms are",
        ),
        (
            "Mutex fcntl:/nonexistent/dir mpm-accept",
            "Invalid Mutex directory in argument fcntl:/nonexistent/dir",
        ),
        (
            "<VirtualHost 127.0.0.1:80>\nMutex default\n</VirtualHost>",
            "Mutex cannot occur within <VirtualHost> section",
        ),
    ];
    for (line, message) in refused {
        let (out, _) = check_config(&dir, "refused.conf", &format!("{base}{line}\n"));
        assert_ne!(out.code(), Some(0), "{line}: {out:?}");
        assert!(
            out.stderr.contains(message),
            "{line}: expected {message:?} in {out:?}"
        );
    }
    let lock = lock_dir.to_str().unwrap();
    let loaded = [
        ("Mutex default".to_string(), None),
        ("Mutex pthread mpm-accept".to_string(), None),
        ("Mutex yes".to_string(), None),
        ("Mutex Default mpm-accept".to_string(), None),
        ("Mutex pthread:/tmp OmitPID mpm-accept".to_string(), None),
        (
            "Mutex file: default".to_string(),
            Some("slotgate's accept mutex is a process-shared pthread mutex"),
        ),
        (
            format!("Mutex file:{lock} default"),
            Some("slotgate's accept mutex is a process-shared pthread mutex"),
        ),
        (
            "Mutex sysvsem mpm-accept OmitPID".to_string(),
            Some("slotgate's accept mutex is a process-shared pthread mutex"),
        ),
        (
            "Mutex pthread rewrite-map".to_string(),
            Some("ignored: slotgate has no rewrite-map lock"),
        ),
    ];
    for (line, warning) in loaded {
        let (out, _) = check_config(&dir, "loaded.conf", &format!("{base}{line}\n"));
        assert_eq!(out.code(), Some(0), "{line}: {out:?}");
        match warning {
            Some(w) => assert!(out.stderr.contains(w), "{line}: expected {w:?} in {out:?}"),
            None => assert!(!out.stderr.contains("Mutex"), "{line}: {out:?}"),
        }
    }
}

// The accept mutex is robust: SIGKILL every idle worker of a two-listener
// prefork server (one of them holds the mutex at almost any instant: it polls
// the listeners while the others wait for it). The supervisor replaces them;
// the first new worker to lock takes the dead holder's mutex over (EOWNERDEAD)
// and both ports serve. (A plain mutex would stay locked for ever: every
// request below would wait until PATIENT ran out.)
#[test]
fn a_worker_killed_holding_the_accept_mutex_hands_it_on() {
    let a = Origin::start("a");
    let sg = Slotgate::start(&render(
        "MPM prefork\nListen 127.0.0.1:0\nListen 127.0.0.1:0\nServerName test.local\n\
         StartServers 3\nMinSpareServers 3\nMaxSpareServers 4\nMaxRequestWorkers 6\n\
         ProxyPass / http://{a}/\n",
        &[&a],
    ));
    let path = sg.scoreboard_path();
    wait_idle(path, 3);
    let first: Vec<i32> = workers(path, 1).iter().map(|r| r.0).collect();
    for &pid in &first {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), Signal::SIGKILL);
    }
    wait_for(
        "three new idle workers",
        SIGNAL_WAIT,
        || {
            let rows = workers(path, 1);
            let fresh = rows
                .iter()
                .filter(|r| !first.contains(&r.0) && r.1 == '_')
                .count();
            (fresh >= 3).then_some(())
        },
        || describe_rows(path),
    );
    for _ in 0..3 {
        for &port in sg.ports() {
            assert_eq!(get(port, "/after"), Ok(200), "port {port}");
        }
    }
}
