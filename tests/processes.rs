//! The process model: StartServers workers in the process table, SIGTERM stops
//! everything with status 0, a killed worker is replaced, the header publishes
//! the supervisor pid and the phase.

mod common;

use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use scoreboard::Phase;
use std::time::Duration;

fn two_workers(a: &Origin) -> Slotgate {
    Slotgate::start(&render(
        "Listen 127.0.0.1:0\nStartServers 2\nProxyPass / http://{a}/\n",
        &[a],
    ))
}

#[test]
fn start_servers_gives_that_many_live_workers() {
    let a = Origin::start("a");
    let sg = two_workers(&a);
    let pids = sg.wait_workers(2, Duration::from_secs(10));
    assert_ne!(pids[0], pids[1]);
    for pid in &pids {
        assert_ne!(*pid, sg.pid(), "the supervisor must not serve");
        assert!(pid_alive(*pid));
    }
    let sb = sg.scoreboard();
    assert_eq!(sb.header().supervisor_pid(), sg.pid());
    assert_eq!(sb.header().phase(), Some(Phase::Running));
}

#[test]
fn header_stays_running_while_serving() {
    let a = Origin::start("a");
    let sg = two_workers(&a);
    for _ in 0..5 {
        assert_eq!(http_get(sg.port(), "/x", &[]).status, 200);
    }
    assert_eq!(sg.scoreboard().header().phase(), Some(Phase::Running));
    assert!(sg.scoreboard().header().ports().contains(&sg.port()));
}

#[test]
fn requests_are_counted_in_the_process_slots() {
    let a = Origin::start("a");
    let sg = two_workers(&a);
    for _ in 0..4 {
        assert_eq!(http_get(sg.port(), "/bytes/100", &[]).status, 200);
    }
    wait_for(
        "4 requests in the process slots",
        Duration::from_secs(5),
        || {
            let total: u64 = sg
                .scoreboard()
                .processes()
                .iter()
                .map(|p| p.requests())
                .sum();
            (total >= 4).then_some(())
        },
        || sg.process_table(),
    );
}

#[test]
fn sigterm_stops_the_supervisor_and_every_worker() {
    let a = Origin::start("a");
    let mut sg = two_workers(&a);
    let pids = sg.wait_workers(2, Duration::from_secs(10));
    assert_eq!(http_get(sg.port(), "/x", &[]).status, 200);
    let status = sg.stop();
    assert!(
        status.success(),
        "slotgate exited with {status}\n{}",
        sg.logs()
    );
    wait_for(
        "every worker to be gone",
        Duration::from_secs(5),
        || pids.iter().all(|&p| !pid_alive(p)).then_some(()),
        || {
            pids.iter()
                .map(|&p| format!("{p}: {}", proc_state(p)))
                .collect::<Vec<_>>()
                .join(", ")
        },
    );
}

#[test]
fn killed_worker_is_replaced_and_service_continues() {
    let a = Origin::start("a");
    let sg = two_workers(&a);
    let before = sg.wait_workers(2, Duration::from_secs(10));
    let victim = before[0];
    kill(Pid::from_raw(victim), Signal::SIGKILL).expect("killing a worker");
    let after = wait_for(
        "a replacement worker",
        Duration::from_secs(10),
        || {
            let pids = sg.worker_pids();
            let replaced =
                pids.len() == 2 && !pids.contains(&victim) && pids.iter().all(|&p| pid_alive(p));
            replaced.then_some(pids)
        },
        || sg.process_table(),
    );
    assert!(
        after.contains(&before[1]),
        "the other worker should live on: {after:?}"
    );
    for _ in 0..6 {
        let r = http_get(sg.port(), "/bytes/10", &[]);
        assert_eq!((r.status, r.body), (200, pattern(10)));
    }
    assert!(pid_alive(sg.pid()), "the supervisor died");
}

#[test]
fn every_listen_line_gets_a_port_and_serves() {
    let a = Origin::start("a");
    let sg = Slotgate::start(&render(
        "Listen 127.0.0.1:0\nListen 127.0.0.1:0\nStartServers 1\nProxyPass / http://{a}/\n",
        &[&a],
    ));
    assert_eq!(sg.ports().len(), 2, "{:?}", sg.ports());
    assert_ne!(sg.ports()[0], sg.ports()[1]);
    for &port in sg.ports() {
        let r = http_get(port, "/bytes/5", &[]);
        assert_eq!((r.status, r.body), (200, pattern(5)), "port {port}");
    }
}

#[test]
fn dropping_the_guard_leaves_no_process_behind() {
    let a = Origin::start("a");
    let sg = two_workers(&a);
    let mut pids = sg.wait_workers(2, Duration::from_secs(10));
    pids.push(sg.pid());
    drop(sg);
    wait_for(
        "the supervisor and its workers to be gone",
        Duration::from_secs(5),
        || pids.iter().all(|&p| !pid_alive(p)).then_some(()),
        || {
            format!(
                "{:?}",
                pids.iter().map(|&p| (p, proc_state(p))).collect::<Vec<_>>()
            )
        },
    );
}
