//! No false alarms (issue #14, point 5): workers and the health checker that
//! end because the supervisor asked them to (graceful restart, restart,
//! graceful stop, the old supervisor after a binary upgrade) are logged at
//! info, and none is "replaced"; a worker that dies on its own is still an
//! error, with its replacement. Before, a graceful stop logged `worker N (pid
//! P) ended with exit status 0 …; replacing it in 0ns` at error for every
//! worker, and the old supervisor of an upgrade did the same.

mod common;

use common::daemon::*;
use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use scoreboard::Phase;

/// Two workers in front of `{a}`, a health-checked balancer member (so a
/// health checker runs too), logging at info.
const CONF: &str = "Listen 127.0.0.1:0\nStartServers 2\nServerName test.local\nLogLevel info\n\
<Proxy balancer://app>\n    BalancerMember http://{a} hcmethod=GET hcinterval=1\n</Proxy>\n\
ProxyPass / balancer://app/\n";

/// The supervisor's error lines.
fn supervisor_errors(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| l.contains("[supervisor:error]"))
        .collect()
}

/// Waits until the header names a health checker; returns its pid.
fn checker_pid(path: &std::path::Path, logs: impl Fn() -> String) -> i32 {
    wait_for(
        "a health checker",
        SIGNAL_WAIT,
        || {
            let sb = scoreboard::Scoreboard::attach_readonly(path).ok()?;
            let pid = sb.header().checker_pid();
            (pid > 0).then_some(pid)
        },
        logs,
    )
}

#[test]
fn restarts_and_a_graceful_stop_log_the_children_they_stop_at_info() {
    let a = Origin::start("a");
    let mut sg = Slotgate::start(&render(CONF, &[&a]));
    let path = sg.scoreboard_path().to_path_buf();
    let mut stops = Vec::new();
    for (signal, why) in [
        (Signal::SIGUSR1, "graceful restart"),
        (Signal::SIGHUP, "restart"),
    ] {
        let workers = sg.wait_workers(2, SIGNAL_WAIT);
        let checker = checker_pid(&path, || sg.logs());
        let next = generation(&path) + 1;
        sg.signal(signal);
        wait_generation(&path, next, SIGNAL_WAIT);
        wait_older_generations_gone(&path, next, &workers, SIGNAL_WAIT);
        for pid in workers {
            stops.push(format!(
                "(pid {pid}, generation {}) stopped ({why})",
                next - 1
            ));
        }
        stops.push(format!(
            "health checker (pid {checker}, generation {}) stopped ({why})",
            next - 1
        ));
    }
    let workers = sg.wait_workers(2, SIGNAL_WAIT);
    let checker = checker_pid(&path, || sg.logs());
    let g = generation(&path);
    sg.signal(Signal::SIGWINCH);
    let status = sg.wait_exit(SIGNAL_WAIT).expect("graceful stop ends");
    assert!(status.success(), "{status}\n{}", sg.logs());
    for pid in workers {
        stops.push(format!(
            "(pid {pid}, generation {g}) stopped (graceful stop)"
        ));
    }
    stops.push(format!(
        "health checker (pid {checker}, generation {g}) stopped (graceful stop)"
    ));
    let log = sg.error_log();
    for s in &stops {
        let line = log
            .lines()
            .find(|l| l.contains(s.as_str()))
            .unwrap_or_else(|| panic!("no line with {s:?}:\n{log}"));
        assert!(line.contains("[supervisor:info]"), "{line}");
    }
    assert_eq!(supervisor_errors(&log), Vec::<&str>::new(), "{log}");
    assert!(!log.contains("replacing"), "{log}");
}

#[test]
fn the_old_supervisor_of_a_binary_upgrade_logs_its_workers_at_info() {
    let a = Origin::start("a");
    let d = Daemon::new(&render(CONF, &[&a]), DaemonOptions::default());
    d.start_ok();
    let old = d.pid();
    let workers = d.worker_pids();
    assert_eq!(workers.len(), 2, "{}", d.logs());
    d.signal(Signal::SIGUSR2);
    wait_for(
        "the new binary to run",
        SIGNAL_WAIT,
        || {
            let (_, _, phase, sup) = header_facts(d.scoreboard_path())?;
            (sup != old && phase == Some(Phase::Running)).then_some(())
        },
        || d.logs(),
    );
    assert!(Daemon::wait_gone(old, SIGNAL_WAIT), "{}", d.logs());
    let log = d.error_log();
    for pid in workers {
        let want =
            format!("(pid {pid}, generation 1) stopped (binary upgrade: the new binary serves)");
        let line = log
            .lines()
            .find(|l| l.contains(&want))
            .unwrap_or_else(|| panic!("no line with {want:?}:\n{log}"));
        assert!(
            line.contains(&format!("[supervisor:info] [pid {old}]")),
            "{line}"
        );
    }
    assert_eq!(supervisor_errors(&log), Vec::<&str>::new(), "{log}");
}

#[test]
fn a_worker_that_dies_on_its_own_is_an_error_and_is_replaced() {
    let a = Origin::start("a");
    let sg = Slotgate::start(&render(CONF, &[&a]));
    let workers = sg.wait_workers(2, SIGNAL_WAIT);
    let victim = workers[0];
    let slot = proc_rows(sg.scoreboard_path())
        .into_iter()
        .find(|r| r.pid == victim)
        .expect("the victim's slot")
        .slot;
    kill(Pid::from_raw(victim), Signal::SIGKILL).unwrap();
    let log = sg.wait_error_log(
        &format!("worker {slot} (pid {victim}, generation 1) ended with signal SIGKILL after"),
        SIGNAL_WAIT,
    );
    let line = log
        .lines()
        .find(|l| l.contains(&format!("(pid {victim}, generation 1) ended")))
        .unwrap();
    assert!(
        line.contains("[supervisor:error]") && line.contains("; replacing it in"),
        "{line}"
    );
    wait_for(
        "a new worker in the victim's slot",
        SIGNAL_WAIT,
        || {
            proc_rows(sg.scoreboard_path())
                .into_iter()
                .any(|r| r.slot == slot && r.pid != victim && pid_alive(r.pid))
                .then_some(())
        },
        || sg.logs(),
    );
}

#[test]
fn a_worker_that_reaches_max_connections_per_child_is_replaced_at_info() {
    let a = Origin::start("a");
    let sg = Slotgate::start(&render(
        "Listen 127.0.0.1:0\nStartServers 1\nServerName test.local\nLogLevel info\n\
         MaxConnectionsPerChild 1\nProxyPass / http://{a}/\n",
        &[&a],
    ));
    let first = sg.wait_workers(1, SIGNAL_WAIT)[0];
    let r = http_request(sg.port(), "GET", "/x", &[("Connection", "close")], None);
    assert_eq!(r.status, 200, "{}", r.summary());
    let log = sg.wait_error_log(
        &format!("(pid {first}, generation 1) exited on its own after MaxConnectionsPerChild 1; starting another"),
        SIGNAL_WAIT,
    );
    assert_eq!(supervisor_errors(&log), Vec::<&str>::new(), "{log}");
    wait_for(
        "a new worker",
        SIGNAL_WAIT,
        || {
            let pids = sg.worker_pids();
            (pids.len() == 1 && pids[0] != first).then_some(())
        },
        || sg.logs(),
    );
}
