//! The watchdog for wedged workers (issue #14, point 6). Each worker marks its
//! event loop's progress in its process slot (once per loop turn; the loop
//! wakes at least once a second when idle); server-status and slotgate-top
//! show a worker that has not progressed for 3 s or more as stalled, whatever
//! its state letter still says; the supervisor kills (SIGKILL) a worker
//! stalled past `WorkerStallTimeout` and replaces it, giving back the busy
//! counts it held on members. Before, workers stopped with SIGSTOP still showed
//! `_`, new requests hung and nothing reacted.

mod common;

use common::daemon::*;
use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use scoreboard::Scoreboard;
use std::path::Path;
use std::thread;

/// Slots shown as stalled now, by pid.
fn stalled_pids(path: &Path) -> Vec<i32> {
    let Ok(sb) = Scoreboard::attach_readonly(path) else {
        return Vec::new();
    };
    let now = scoreboard::monotonic_ms();
    sb.processes()
        .iter()
        .filter(|p| p.is_stalled(now))
        .map(|p| p.pid())
        .collect()
}

/// Resumes the stopped pids when dropped (a failing test must not leave a
/// stopped worker that nothing can stop with SIGTERM).
struct Resume(Vec<i32>);

impl Drop for Resume {
    fn drop(&mut self) {
        for &p in &self.0 {
            let _ = kill(Pid::from_raw(p), Signal::SIGCONT);
        }
    }
}

#[test]
fn stopped_workers_show_as_stalled_then_are_replaced_and_their_busy_given_back() {
    let a = Origin::start("a");
    let h = Origin::start("h");
    h.set_mode(Mode::Hang);
    let sg = Slotgate::start(&render(
        "Listen 127.0.0.1:0\nStartServers 2\nServerName test.local\nLogLevel info\n\
         WorkerStallTimeout 5\n\
         <Proxy balancer://slow>\n    BalancerMember http://{h}\n</Proxy>\n\
         ProxyPass /hang balancer://slow/\nProxyPass / http://{a}/\n",
        &[&a, &h],
    ));
    let path = sg.scoreboard_path().to_path_buf();
    let workers = sg.wait_workers(2, SIGNAL_WAIT);
    assert_eq!(http_get(sg.port(), "/x", &[]).status, 200);
    // One request held by a worker on member h (busy 1) when it wedges.
    let port = sg.port();
    let hung = thread::spawn(move || {
        Client::try_connect(port).and_then(|mut c| c.try_request("GET", "/hang", &[], None))
    });
    assert!(
        h.wait_requests(1, SIGNAL_WAIT),
        "the request never reached h"
    );
    assert_eq!(member(&sg, &h.addr()).busy, 1, "{}", member_table(&sg));

    let _resume = Resume(workers.clone());
    for &p in &workers {
        kill(Pid::from_raw(p), Signal::SIGSTOP).unwrap();
    }
    // Shown as stalled, by the scoreboard and by slotgate-top, while the
    // letters still say what the workers last did.
    wait_for(
        "both workers shown as stalled",
        SIGNAL_WAIT,
        || {
            let mut s = stalled_pids(&path);
            s.sort_unstable();
            let mut w = workers.clone();
            w.sort_unstable();
            (s == w).then_some(())
        },
        || sg.process_table(),
    );
    let dir = TempDir::new();
    let top = run_command(
        slotgate_top_exe(),
        &["--json", path.to_str().unwrap()],
        &dir,
        CONTROL_TIMEOUT,
    );
    let v: serde_json::Value = serde_json::from_str(&top.stdout)
        .unwrap_or_else(|e| panic!("slotgate-top --json ({e}): {top:?}"));
    let mut shown = 0;
    for p in v["process_slots"].as_array().expect("process_slots") {
        if workers.contains(&(p["pid"].as_i64().unwrap() as i32)) {
            assert!(p["stalled_seconds"].as_u64().is_some_and(|s| s >= 3), "{p}");
            shown += 1;
        }
    }
    assert_eq!(
        shown,
        workers.len(),
        "every stopped worker in slotgate-top --json: {v}"
    );

    // The supervisor kills and replaces both, and gives back the busy count.
    wait_for(
        "two new workers",
        SIGNAL_WAIT,
        || {
            let now = sg.worker_pids();
            (now.len() == 2
                && now.iter().all(|p| !workers.contains(p) && pid_alive(*p))
                && workers.iter().all(|&p| process_gone(p)))
            .then_some(())
        },
        || sg.logs(),
    );
    let log = sg.error_log();
    for p in &workers {
        let said = |what: &str| {
            log.lines()
                .any(|l| l.contains(&format!("(pid {p}, generation 1) {what}")))
        };
        assert!(
            said("made no progress for") && said("killed by the watchdog after"),
            "pid {p}:\n{log}"
        );
    }
    assert!(
        log.contains("held 1 requests on members; their busy counts are given back"),
        "{log}"
    );
    assert_eq!(member(&sg, &h.addr()).busy, 0, "{}", member_table(&sg));
    assert!(
        hung.join().unwrap().is_err(),
        "the wedged request got no answer"
    );
    assert_eq!(http_get(sg.port(), "/again", &[]).status, 200);
}

#[test]
fn idle_workers_keep_marking_progress_and_are_not_replaced() {
    let a = Origin::start("a");
    let sg = Slotgate::start(&render(
        "Listen 127.0.0.1:0\nStartServers 2\nServerName test.local\nWorkerStallTimeout 5\n\
         ProxyPass / http://{a}/\n",
        &[&a],
    ));
    let path = sg.scoreboard_path().to_path_buf();
    let workers = sg.wait_workers(2, SIGNAL_WAIT);
    // No request at all: each worker's mark must still move, turn after turn,
    // for twice WorkerStallTimeout; a loop that slept until an event would be
    // killed by the watchdog after 5 s.
    let marks = |slot: usize| sg.scoreboard().process(slot).progress_ms();
    let slots: Vec<usize> = proc_rows(&path).iter().map(|r| r.slot).collect();
    let seen = std::cell::RefCell::new(
        slots
            .iter()
            .map(|&s| vec![marks(s)])
            .collect::<Vec<Vec<u64>>>(),
    );
    wait_for(
        "progress marks spanning 10 s from each idle worker",
        std::time::Duration::from_secs(40),
        || {
            let mut seen = seen.borrow_mut();
            for (i, &s) in slots.iter().enumerate() {
                let m = marks(s);
                if seen[i].last() != Some(&m) {
                    seen[i].push(m);
                }
            }
            seen.iter()
                .all(|v| v.last().unwrap() - v[0] > 10_000)
                .then_some(())
        },
        || format!("{:?}\n{}", seen.borrow(), sg.process_table()),
    );
    let seen = seen.into_inner();
    assert!(
        seen.iter().all(|v| v.len() > 3),
        "each worker marked its idle loop's turns: {seen:?}"
    );
    assert_eq!(sg.wait_workers(2, SIGNAL_WAIT), workers, "{}", sg.logs());
    assert!(
        !sg.error_log().contains("made no progress"),
        "{}",
        sg.logs()
    );
    assert!(stalled_pids(&path).is_empty());
}

#[test]
fn server_status_shows_a_stalled_worker_and_zero_turns_the_watchdog_off() {
    let a = Origin::start("a");
    let sg = Slotgate::start(&render(
        "Listen 127.0.0.1:0\nStartServers 2\nServerName status.test\nWorkerStallTimeout 0\n\
         <Location /server-status>\n  SetHandler server-status\n</Location>\n\
         ProxyPass /server-status !\nProxyPass / http://{a}/\n",
        &[&a],
    ));
    let workers = sg.wait_workers(2, SIGNAL_WAIT);
    let victim = workers[0];
    let resume = Resume(vec![victim]);
    kill(Pid::from_raw(victim), Signal::SIGSTOP).unwrap();
    // Every connection goes to the other worker: the stopped one accepts none.
    let auto = wait_for(
        "server-status?auto to count a stalled worker",
        SIGNAL_WAIT,
        || {
            let r = http_get(sg.port(), "/server-status?auto", &[]);
            let text = String::from_utf8_lossy(&r.body).into_owned();
            text.lines()
                .any(|l| l == "StalledWorkers: 1")
                .then_some(text)
        },
        || sg.process_table(),
    );
    assert!(auto.lines().any(|l| l == "Processes: 2"), "{auto}");
    let r = http_get(sg.port(), "/server-status?json", &[]);
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
    assert_eq!(v["stalled_workers"], 1, "{v}");
    let slots = v["process_slots"].as_array().unwrap();
    let row = |pid: i32| {
        slots
            .iter()
            .find(|p| p["pid"] == pid)
            .unwrap_or_else(|| panic!("no slot of {pid}: {v}"))
    };
    assert!(
        row(victim)["stalled_seconds"]
            .as_u64()
            .is_some_and(|s| s >= 3),
        "{v}"
    );
    assert_eq!(row(workers[1])["stalled_seconds"], serde_json::Value::Null);
    let page =
        String::from_utf8_lossy(&http_get(sg.port(), "/server-status", &[]).body).into_owned();
    assert!(page.contains("<b>1 stalled</b>"), "{page}");
    // WorkerStallTimeout 0: nothing was killed; resumed, it is not stalled.
    assert!(pid_alive(victim) && !process_gone(victim));
    drop(resume);
    wait_for(
        "the resumed worker to mark progress again",
        SIGNAL_WAIT,
        || {
            let r = http_get(sg.port(), "/server-status?auto", &[]);
            String::from_utf8_lossy(&r.body)
                .lines()
                .any(|l| l == "StalledWorkers: 0")
                .then_some(())
        },
        || sg.process_table(),
    );
    assert_eq!(sg.wait_workers(2, SIGNAL_WAIT), workers);
    assert!(
        !sg.error_log().contains("made no progress"),
        "{}",
        sg.logs()
    );
}
