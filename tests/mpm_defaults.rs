//! The MPM defaults as applied, computed once in the configuration
//! (`src/config/mpm.rs`): with no `MaxRequestWorkers` the event MPM holds at
//! most httpd's default, 400 client connections of all workers together, and
//! the next one waits in the listen backlog until one closes (before: no
//! limit, 2,000 connections were accepted).
//!
//! Facts, not timing: the workers publish the connections they accepted in the
//! scoreboard, and the kernel publishes the listen socket's accept queue
//! (`/proc/net/tcp`, rx_queue of the LISTEN row).

mod common;

use common::daemon::*;
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use slotgate::config::{EVENT_MAX_REQUEST_WORKERS, PREFORK_MAX_REQUEST_WORKERS};

/// Connections accepted by every worker together, as the scoreboard says.
fn accepted(path: &Path) -> u64 {
    proc_rows(path).iter().map(|r| r.total_connections).sum()
}

/// Connections waiting in the accept queue of the socket listening on
/// 127.0.0.1:`port` (the rx_queue of its LISTEN row in /proc/net/tcp), None
/// when there is no such row.
fn accept_queue(port: u16) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let local = format!("0100007F:{port:04X}");
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        // sl local_address rem_address st tx_queue:rx_queue …; 0A is LISTEN.
        if f.get(1) != Some(&local.as_str()) || f.get(3) != Some(&"0A") {
            return None;
        }
        let (_, rx) = f.get(4)?.split_once(':')?;
        u64::from_str_radix(rx, 16).ok()
    })
}

#[test]
fn event_without_max_request_workers_holds_400_connections() {
    assert_eq!(EVENT_MAX_REQUEST_WORKERS, 400);
    // One worker, so its share is the whole bound; the head timeouts are long
    // enough that no idle connection is closed while the test runs.
    let sg = Slotgate::start(
        "MPM event\nListen 127.0.0.1:0\nServerName test.local\nStartServers 1\n\
         Timeout 300\nRequestReadTimeout header=300 body=300\n",
    );
    let port = sg.port();
    let sb_path = sg.scoreboard_path().to_path_buf();
    let bound = EVENT_MAX_REQUEST_WORKERS as u64;
    let mut held: Vec<TcpStream> = (0..bound)
        .map(|i| {
            TcpStream::connect(("127.0.0.1", port)).unwrap_or_else(|e| panic!("connect {i}: {e}"))
        })
        .collect();
    wait_for(
        "400 connections accepted",
        Duration::from_secs(30),
        || (accepted(&sb_path) == bound).then_some(()),
        || format!("accepted {}", accepted(&sb_path)),
    );
    let mut last = TcpStream::connect(("127.0.0.1", port)).expect("connect 401");
    // The 401st stays in the accept queue while the worker holds 400.
    wait_for(
        "the 401st connection queued, 400 accepted",
        Duration::from_secs(30),
        || (accept_queue(port) == Some(1) && accepted(&sb_path) == bound).then_some(()),
        || {
            format!(
                "accepted {}, accept queue {:?}; {}",
                accepted(&sb_path),
                accept_queue(port),
                describe_rows(&sb_path)
            )
        },
    );
    assert_eq!(accepted(&sb_path), bound, "{}", describe_rows(&sb_path));
    // One closes: the waiting one is taken and served.
    drop(held.remove(0));
    wait_for(
        "the 401st connection accepted after one closed",
        Duration::from_secs(30),
        || (accept_queue(port) == Some(0) && accepted(&sb_path) == bound + 1).then_some(()),
        || {
            format!(
                "accepted {}, accept queue {:?}",
                accepted(&sb_path),
                accept_queue(port)
            )
        },
    );
    last.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        last,
        "GET /none HTTP/1.1\r\nHost: test.local\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    last.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
}

#[test]
fn event_default_follows_server_limit_times_threads() {
    // httpd lowers the default 400 to ServerLimit × ThreadsPerChild (here 2 × 3 = 6);
    // the 7th connection waits.
    let sg = Slotgate::start(
        "MPM event\nListen 127.0.0.1:0\nServerName test.local\nStartServers 1\n\
         ServerLimit 2\nThreadsPerChild 3\nTimeout 300\nRequestReadTimeout header=300 body=300\n",
    );
    let port = sg.port();
    let sb_path = sg.scoreboard_path().to_path_buf();
    let _held: Vec<TcpStream> = (0..7)
        .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    wait_for(
        "6 connections accepted, 1 queued",
        Duration::from_secs(30),
        || (accept_queue(port) == Some(1) && accepted(&sb_path) == 6).then_some(()),
        || {
            format!(
                "accepted {}, accept queue {:?}",
                accepted(&sb_path),
                accept_queue(port)
            )
        },
    );
}

#[test]
fn readme_table_states_the_defaults_as_applied() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let row = |name: &str| {
        readme
            .lines()
            .find(|l| l.starts_with(&format!("| `MaxRequestWorkers n` ({name})")))
            .unwrap_or_else(|| panic!("README has no MaxRequestWorkers row for {name}"))
            .to_string()
    };
    assert!(
        row("event").contains(&format!("| {EVENT_MAX_REQUEST_WORKERS} ")),
        "{}",
        row("event")
    );
    assert!(
        row("prefork").contains(&format!("| {PREFORK_MAX_REQUEST_WORKERS} ")),
        "{}",
        row("prefork")
    );
}
