//! Crash recovery: a worker killed with SIGKILL is replaced (a new pid in the
//! process table within 5 s), its slot cleared, and the `busy` counts it held
//! on members given back, so that once the load is over every member's busy
//! count is 0 again. Also: workers do not outlive a supervisor killed hard.

mod common;

use common::daemon::*;
use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::thread;
use std::time::Duration;

/// The bound the brief sets on replacing a killed worker.
const REPLACE_WAIT: Duration = Duration::from_secs(5);

const TWO_WORKERS: &str =
    "Listen 127.0.0.1:0\nStartServers 2\nServerName test.local\nProxyPass / http://{a}/\n";

/// One GET on a fresh connection that never panics.
fn try_get(port: u16, path: &str) -> Result<u16, String> {
    let mut c = Client::try_connect(port)?;
    c.try_request("GET", path, &[("Connection", "close")], None)
        .map(|r| r.status)
}

fn sigkill(pid: i32) {
    kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap_or_else(|e| panic!("killing {pid}: {e}"));
}

/// Waits (5 s at most) until `victim` is out of the process table and `n`
/// live workers of the current generation are in it; returns the rows.
fn wait_replaced(sg: &Slotgate, victim: i32, n: usize) -> Vec<ProcRow> {
    let path = sg.scoreboard_path();
    wait_for(
        &format!("worker {victim} replaced ({n} live workers)"),
        REPLACE_WAIT,
        || {
            let gen = generation(path);
            let rows = proc_rows(path);
            let ok = rows.len() == n
                && rows
                    .iter()
                    .all(|r| r.pid != victim && r.generation == gen && !process_gone(r.pid));
            ok.then_some(rows)
        },
        || {
            format!(
                "victim {victim} ({}); {}",
                proc_state(victim),
                describe_rows(path)
            )
        },
    )
}

#[test]
fn killed_worker_is_replaced_and_its_slot_cleared() {
    let a = Origin::start("a");
    let sg = Slotgate::start(&render(TWO_WORKERS, &[&a]));
    let path = sg.scoreboard_path();
    sg.wait_workers(2, SIGNAL_WAIT);
    for i in 0..40 {
        assert_eq!(try_get(sg.port(), &format!("/r{i}")), Ok(200));
    }
    let victim = wait_for(
        "a worker that served requests",
        SIGNAL_WAIT,
        || {
            proc_rows(path)
                .into_iter()
                .max_by_key(|r| r.requests)
                .filter(|r| r.requests > 0)
        },
        || describe_rows(path),
    );
    let survivor: Vec<i32> = sg
        .worker_pids()
        .into_iter()
        .filter(|&p| p != victim.pid)
        .collect();
    sigkill(victim.pid);
    let rows = wait_replaced(&sg, victim.pid, 2);
    assert!(
        rows.iter().any(|r| r.pid == survivor[0]),
        "the other worker lives on: {}",
        describe_rows(path)
    );
    // The victim's slot holds nothing of it: empty, or a fresh replacement.
    if let Some(r) = rows.iter().find(|r| r.slot == victim.slot) {
        assert_eq!(
            (r.requests, r.total_connections),
            (0, 0),
            "slot {} was not cleared for the replacement: {}",
            victim.slot,
            describe_rows(path)
        );
    }
    for i in 0..10 {
        assert_eq!(try_get(sg.port(), &format!("/s{i}")), Ok(200));
    }
    assert!(!process_gone(sg.pid()), "the supervisor survives");
}

#[test]
fn worker_killed_again_and_again_is_replaced_each_time() {
    let a = Origin::start("a");
    let sg = Slotgate::start(&render(TWO_WORKERS, &[&a]));
    sg.wait_workers(2, SIGNAL_WAIT);
    let mut victims = Vec::new();
    for round in 0..4 {
        // Always the lowest slot: the same slot dies young, which is when a
        // back-off applies; the replacement must still come within the bound.
        let victim = proc_rows(sg.scoreboard_path())
            .into_iter()
            .min_by_key(|r| r.slot)
            .expect("a worker");
        sigkill(victim.pid);
        victims.push(victim.pid);
        let rows = wait_replaced(&sg, victim.pid, 2);
        assert!(
            rows.iter().all(|r| !victims.contains(&r.pid)),
            "round {round}: {}",
            describe_rows(sg.scoreboard_path())
        );
        assert_eq!(try_get(sg.port(), &format!("/round{round}")), Ok(200));
    }
}

#[test]
fn busy_counts_held_by_a_killed_worker_are_given_back() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    a.set_mode(Mode::Slow(Duration::from_millis(3000)));
    b.set_mode(Mode::Slow(Duration::from_millis(3000)));
    let sg = Slotgate::start(&render(
        "Listen 127.0.0.1:0\nStartServers 2\nServerName test.local\n\
         <Proxy balancer://app>\n    BalancerMember http://{a}\n    BalancerMember http://{b}\n\
             ProxySet lbmethod=bybusyness\n</Proxy>\nProxyPass / balancer://app/\n",
        &[&a, &b],
    ));
    let path = sg.scoreboard_path();
    sg.wait_workers(2, SIGNAL_WAIT);
    let port = sg.port();
    let clients: Vec<_> = (0..12)
        .map(|i| thread::spawn(move || try_get(port, &format!("/slow/{i}"))))
        .collect();
    wait_for(
        "12 requests busy on the members",
        SIGNAL_WAIT,
        || {
            let busy: i64 = member_views(&sg.scoreboard()).iter().map(|m| m.busy).sum();
            (busy == 12).then_some(())
        },
        || member_table(&sg),
    );
    let victim = proc_rows(path)
        .into_iter()
        .max_by_key(|r| r.connections)
        .filter(|r| r.connections > 0)
        .unwrap_or_else(|| panic!("no worker holds a connection: {}", describe_rows(path)));
    sigkill(victim.pid);
    let outcomes: Vec<Result<u16, String>> =
        clients.into_iter().map(|c| c.join().unwrap()).collect();
    let cut = outcomes.iter().filter(|o| o.is_err()).count();
    assert!(
        cut >= 1,
        "the killed worker held {} connections; none of its requests failed: {outcomes:?}",
        victim.connections
    );
    assert!(
        outcomes.iter().all(|o| matches!(o, Ok(200) | Err(_))),
        "{outcomes:?}"
    );
    wait_replaced(&sg, victim.pid, 2);
    // The origins answer the orphaned requests too; then nothing is in flight.
    wait_for(
        "every member's busy count back to 0",
        SIGNAL_WAIT,
        || {
            member_views(&sg.scoreboard())
                .iter()
                .all(|m| m.busy == 0)
                .then_some(())
        },
        || member_table(&sg),
    );
    a.set_mode(Mode::Normal);
    b.set_mode(Mode::Normal);
    for i in 0..4 {
        assert_eq!(try_get(port, &format!("/after{i}")), Ok(200));
    }
    assert!(
        member_views(&sg.scoreboard()).iter().all(|m| m.busy == 0),
        "{}",
        member_table(&sg)
    );
}

const PREFORK_SPARES: &str =
    "MPM prefork\nListen 127.0.0.1:0\nServerName test.local\nStartServers 2\n\
     MinSpareServers 2\nMaxSpareServers 3\nMaxRequestWorkers 8\nProxyPass / http://{a}/\n";

#[test]
fn killed_prefork_worker_is_replaced() {
    let a = Origin::start("a");
    let sg = Slotgate::start(&render(PREFORK_SPARES, &[&a]));
    let path = sg.scoreboard_path();
    sg.wait_workers(2, SIGNAL_WAIT);
    let victim = sg.worker_pids()[0];
    sigkill(victim);
    wait_for(
        &format!("worker {victim} replaced"),
        REPLACE_WAIT,
        || {
            let rows = proc_rows(path);
            let live = rows.iter().filter(|r| !process_gone(r.pid)).count();
            (live >= 2 && rows.iter().all(|r| r.pid != victim)).then_some(())
        },
        || describe_rows(path),
    );
    for i in 0..6 {
        assert_eq!(try_get(sg.port(), &format!("/p{i}")), Ok(200));
    }
    let live = proc_rows(path)
        .iter()
        .filter(|r| !process_gone(r.pid))
        .count();
    assert!(
        (2..=3).contains(&live),
        "Min/MaxSpareServers 2..3: {}",
        describe_rows(path)
    );
}

/// Kills the supervisor with SIGKILL and checks its workers go by themselves.
fn workers_go_with_a_killed_supervisor(extra: &str) {
    let a = Origin::start("a");
    let mut sg = Slotgate::start(&render(&format!("{extra}{TWO_WORKERS}"), &[&a]));
    let workers = sg.wait_workers(2, SIGNAL_WAIT);
    assert_eq!(try_get(sg.port(), "/x"), Ok(200));
    sg.signal(Signal::SIGKILL);
    assert!(
        sg.wait_exit(SIGNAL_WAIT).is_some(),
        "SIGKILL did not end the supervisor"
    );
    for w in workers {
        assert!(
            Daemon::wait_gone(w, SIGNAL_WAIT),
            "{extra:?}: worker {w} ({}) outlived its supervisor",
            proc_state(w)
        );
    }
}

#[test]
fn workers_do_not_outlive_a_supervisor_killed_hard() {
    workers_go_with_a_killed_supervisor("");
}

#[test]
fn workers_running_as_nobody_do_not_outlive_a_supervisor_killed_hard() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: User needs the test to run as root");
        return;
    }
    workers_go_with_a_killed_supervisor("User nobody\n");
}
