//! Daemon control as httpd's `-k`: `start` detaches, writes the PidFile (the
//! configured one, else `<ServerRoot>/slotgate.pid`) and exits 0 once the
//! server runs, or 1 with the reason; `stop`, `restart`, `graceful` and
//! `graceful-stop` signal the daemon the PidFile names (and `stop` with none
//! running says "not running"); a detached daemon without ErrorLog writes its
//! stderr to `<ServerRoot>/slotgate-stderr.log`. Also: the binary upgrade
//! (USR2) and, as root, `User` for the workers.
//!
//! Every daemon here is a `Daemon` guard, stopped by the PID in its PidFile
//! when the test ends.

mod common;

use common::daemon::*;
use common::wire::{http_origin, render_raw, Gate};
use common::*;
use nix::sys::signal::Signal;
use nix::unistd::{getsid, Pid};
use scoreboard::Phase;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::thread;
use std::time::Duration;

const TWO_WORKERS: &str =
    "Listen 127.0.0.1:0\nStartServers 2\nServerName test.local\nProxyPass / http://{a}/\n";

fn get_ok(port: u16, path: &str) -> Response {
    let r = http_get(port, path, &[]);
    assert_eq!(r.status, 200, "GET {path}: {}", r.summary());
    r
}

/// One GET on a fresh connection: Ok(status, body) or why not (never panics).
fn try_get(port: u16, path: &str) -> Result<(u16, Vec<u8>), String> {
    let mut c = Client::try_connect(port)?;
    c.try_request("GET", path, &[("Connection", "close")], None)
        .map(|r| (r.status, r.body))
}

/// The parent pid of `pid` (field 4 of /proc/PID/stat).
fn parent_pid(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// A gated origin: requests to `/slow…` wait for the gate, others answer at once.
fn gated_origin(gate: &Gate) -> common::wire::RawOrigin {
    let held = gate.clone();
    http_origin("a", move |req, _| {
        if req.target.starts_with("/slow") {
            held.wait(Duration::from_secs(60));
        }
    })
}

#[test]
fn k_start_detaches_writes_the_pid_file_and_k_stop_stops_it() {
    let a = Origin::start("a");
    let d = Daemon::new(&render(TWO_WORKERS, &[&a]), DaemonOptions::default());
    d.start_ok();
    let pid = d.pid();
    assert_eq!(
        fs::read_to_string(d.pid_file()).unwrap(),
        format!("{pid}\n"),
        "the PidFile holds the daemon's pid"
    );
    let sb = d.scoreboard();
    assert_eq!(sb.header().supervisor_pid(), pid);
    assert_eq!(sb.header().phase(), Some(Phase::Running));
    // Detached: not our child, and in a session of its own.
    assert_ne!(parent_pid(pid), Some(std::process::id() as i32));
    assert_ne!(
        getsid(Some(Pid::from_raw(pid))).ok(),
        getsid(None).ok(),
        "the daemon left our session"
    );
    assert_eq!(get_ok(d.port(), "/x").origin(), "a");
    let workers = d.worker_pids();
    assert_eq!(workers.len(), 2, "{}", describe_rows(d.scoreboard_path()));

    let out = d.control("stop");
    assert_eq!(out.code(), Some(0), "-k stop: {out:?}\n{}", d.logs());
    // -k stop waits until the daemon is gone.
    assert!(
        process_gone(pid),
        "the daemon ({}) still runs after -k stop returned",
        proc_state(pid)
    );
    for p in workers {
        assert!(Daemon::wait_gone(p, SIGNAL_WAIT), "worker {p} left behind");
    }
    assert!(!d.pid_file().exists(), "the PidFile is removed at stop");
}

#[test]
fn k_start_without_pid_file_uses_server_root_slotgate_pid() {
    let a = Origin::start("a");
    let d = Daemon::new(
        &render(TWO_WORKERS, &[&a]),
        DaemonOptions {
            pid_file: false,
            ..DaemonOptions::default()
        },
    );
    assert_eq!(d.pid_file(), d.dir().join("slotgate.pid"));
    d.start_ok();
    let pid = d.pid();
    assert_eq!(d.scoreboard().header().supervisor_pid(), pid);
    get_ok(d.port(), "/x");
    let out = d.control("stop");
    assert_eq!(out.code(), Some(0), "-k stop: {out:?}\n{}", d.logs());
    assert!(Daemon::wait_gone(pid, SIGNAL_WAIT));
}

#[test]
fn k_start_fails_with_the_reason_when_the_port_is_in_use() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let a = Origin::start("a");
    let d = Daemon::new(
        &render(
            &format!("Listen 127.0.0.1:{port}\nStartServers 1\nProxyPass / http://{{a}}/\n"),
            &[&a],
        ),
        DaemonOptions::default(),
    );
    let out = d.control("start");
    assert_eq!(out.code(), Some(1), "-k start on a busy port: {out:?}");
    let said = format!("{}{}", out.stdout, out.stderr).to_ascii_lowercase();
    assert!(
        said.contains(&port.to_string()) || said.contains("in use"),
        "the reason names the port or says it is in use: {out:?}"
    );
    // Nothing stays behind.
    if let Some(pid) = d.pid_from_file() {
        assert!(
            Daemon::wait_gone(pid, SIGNAL_WAIT),
            "a failed start left pid {pid} running"
        );
    }
    drop(holder);
}

#[test]
fn k_stop_and_k_graceful_without_a_daemon_say_not_running() {
    let a = Origin::start("a");
    let d = Daemon::new(&render(TWO_WORKERS, &[&a]), DaemonOptions::default());
    for cmd in ["stop", "graceful", "restart", "graceful-stop"] {
        let out = d.control(cmd);
        assert_eq!(out.code(), Some(1), "-k {cmd} with no daemon: {out:?}");
        assert!(
            out.stderr.contains("not running"),
            "-k {cmd}: the message says not running: {out:?}"
        );
    }
    // A stale PidFile naming a process that does not exist: the same.
    fs::write(d.pid_file(), "999999\n").unwrap();
    let out = d.control("stop");
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.stderr.contains("not running"), "{out:?}");
}

#[test]
fn second_k_start_refuses_while_the_daemon_runs() {
    let a = Origin::start("a");
    let d = Daemon::new(&render(TWO_WORKERS, &[&a]), DaemonOptions::default());
    d.start_ok();
    let pid = d.pid();
    let out = d.control("start");
    assert_eq!(out.code(), Some(1), "a second -k start: {out:?}");
    assert!(out.stderr.contains("already running"), "{out:?}");
    assert_eq!(d.pid(), pid, "the PidFile still names the first daemon");
    assert!(!process_gone(pid));
    get_ok(d.port(), "/x");
}

#[test]
fn k_graceful_and_k_restart_start_new_generations() {
    let a = Origin::start("a");
    let d = Daemon::start(&render(TWO_WORKERS, &[&a]));
    let path = d.scoreboard_path();
    let pid = d.pid();
    let (g0, r0, _, _) = header_facts(path).unwrap();
    for (n, cmd) in ["graceful", "restart"].into_iter().enumerate() {
        let old = d.worker_pids();
        let out = d.control(cmd);
        assert_eq!(out.code(), Some(0), "-k {cmd}: {out:?}\n{}", d.logs());
        let g = g0 + n as u64 + 1;
        wait_generation(path, g, SIGNAL_WAIT);
        wait_older_generations_gone(path, g, &old, SIGNAL_WAIT);
        let (gen, restarts, phase, sup) = header_facts(path).unwrap();
        assert_eq!((gen, restarts), (g, r0 + n as u64 + 1), "after -k {cmd}");
        assert_eq!((phase, sup), (Some(Phase::Running), pid), "after -k {cmd}");
        get_ok(d.port(), "/x");
    }
    assert_eq!(d.pid(), pid, "restarts keep the supervisor");
}

#[test]
fn k_graceful_lets_the_request_in_flight_finish() {
    let gate = Gate::new();
    let a = gated_origin(&gate);
    let d = Daemon::start(&render_raw(
        "Listen 127.0.0.1:0\nStartServers 1\nServerName test.local\nProxyPass / http://{a}/\n",
        &[&a],
    ));
    let path = d.scoreboard_path();
    let port = d.port();
    let old = d.worker_pids();
    let slow = thread::spawn(move || try_get(port, "/slow/k"));
    assert!(
        a.wait_until(SIGNAL_WAIT, |o| o.in_flight() == 1),
        "{}",
        a.summary()
    );
    let next = generation(path) + 1;
    let out = d.control("graceful");
    assert_eq!(out.code(), Some(0), "{out:?}");
    wait_generation(path, next, SIGNAL_WAIT);
    assert!(
        old.iter().all(|&p| !process_gone(p)),
        "the old worker waits for its request: {}",
        describe_rows(path)
    );
    gate.open();
    let (status, _) = slow.join().unwrap().expect("the in-flight request");
    assert_eq!(status, 200);
    wait_older_generations_gone(path, next, &old, SIGNAL_WAIT);
}

#[test]
fn k_graceful_stop_returns_after_the_request_in_flight_finished() {
    let gate = Gate::new();
    let a = gated_origin(&gate);
    let d = Daemon::start(&render_raw(
        "Listen 127.0.0.1:0\nStartServers 2\nServerName test.local\nProxyPass / http://{a}/\n",
        &[&a],
    ));
    let pid = d.pid();
    let port = d.port();
    let workers = d.worker_pids();
    let path = d.scoreboard_path().to_path_buf();
    thread::scope(|s| {
        let slow = s.spawn(move || try_get(port, "/slow/stop"));
        assert!(
            a.wait_until(SIGNAL_WAIT, |o| o.in_flight() == 1),
            "{}",
            a.summary()
        );
        let control = s.spawn(|| d.control("graceful-stop"));
        wait_for(
            "phase stopping",
            SIGNAL_WAIT,
            || (header_facts(&path)?.2 == Some(Phase::Stopping)).then_some(()),
            || format!("{:?}", header_facts(&path)),
        );
        assert!(
            !process_gone(pid),
            "the daemon waits for the request in flight"
        );
        assert!(
            !control.is_finished(),
            "-k graceful-stop returned while a request was in flight"
        );
        gate.open();
        let (status, _) = slow.join().unwrap().expect("the in-flight request");
        assert_eq!(status, 200);
        let out = control.join().unwrap();
        assert_eq!(
            out.code(),
            Some(0),
            "-k graceful-stop: {out:?}\n{}",
            d.logs()
        );
    });
    assert!(
        process_gone(pid),
        "the daemon ({}) still runs after -k graceful-stop returned",
        proc_state(pid)
    );
    for p in workers {
        assert!(Daemon::wait_gone(p, SIGNAL_WAIT), "worker {p} left behind");
    }
    assert!(!d.pid_file().exists(), "the PidFile is removed");
}

#[test]
fn detached_daemon_without_error_log_writes_stderr_to_server_root() {
    let a = Origin::start("a");
    let d = Daemon::new(
        &render(&format!("LogLevel info\n{TWO_WORKERS}"), &[&a]),
        DaemonOptions {
            error_log: false,
            ..DaemonOptions::default()
        },
    );
    assert!(!fs::read_to_string(d.conf_path())
        .unwrap()
        .contains("ErrorLog"));
    d.start_ok();
    let pid = d.pid();
    let log = d.dir().join("slotgate-stderr.log");
    wait_for(
        "the start logged in slotgate-stderr.log",
        SIGNAL_WAIT,
        || {
            let text = fs::read_to_string(&log).ok()?;
            text.lines()
                .any(|l| l.contains(&format!("[pid {pid}]")) && l.contains("running"))
                .then_some(())
        },
        || fs::read_to_string(&log).unwrap_or_else(|e| format!("({e})")),
    );
    assert!(!d.dir().join("error.log").exists());
}

/// USR2: the supervisor runs the file now at its path, hands it the listening
/// sockets, and goes once the new one runs. The file is replaced by a script
/// that records its pid and runs the real binary, so the test knows which
/// file ran.
#[test]
fn binary_upgrade_runs_the_file_now_at_the_path_and_loses_no_request() {
    // Declared first: dropped after the daemon.
    let bin = TempDir::new();
    let exe = bin.path().join("slotgate");
    fs::copy(slotgate_exe(), &exe).expect("copying the binary");
    let a = Origin::start("a");
    let d = Daemon::new(
        &render(TWO_WORKERS, &[&a]),
        DaemonOptions {
            exe: Some(exe.clone()),
            ..DaemonOptions::default()
        },
    );
    d.start_ok();
    let old = d.pid();
    let old_workers = d.worker_pids();
    let port = d.port();
    let load = KeepAliveLoad::start(port, 16, "/bytes/256");
    assert!(
        load.wait_done(500, Duration::from_secs(60)),
        "load: {}",
        load.done()
    );

    let marker = bin.path().join("upgraded.pid");
    let script = format!(
        "#!/bin/sh\necho \"$$\" > '{}'\nexec '{}' \"$@\"\n",
        marker.display(),
        slotgate_exe()
    );
    let staged = bin.path().join("slotgate.new");
    fs::write(&staged, script).unwrap();
    fs::set_permissions(&staged, fs::Permissions::from_mode(0o755)).unwrap();
    fs::rename(&staged, &exe).unwrap();

    d.signal(Signal::SIGUSR2);
    let new = wait_for(
        "a new supervisor in the PidFile and the scoreboard",
        Duration::from_secs(30),
        || {
            let p = d.pid_from_file()?;
            let (_, _, phase, sup) = header_facts(d.scoreboard_path())?;
            (p != old && sup == p && phase == Some(Phase::Running)).then_some(p)
        },
        || {
            format!(
                "PidFile {:?}, header {:?}\n{}",
                d.pid_from_file(),
                header_facts(d.scoreboard_path()),
                d.logs()
            )
        },
    );
    d.wait_running(new, SIGNAL_WAIT);
    assert_eq!(
        fs::read_to_string(&marker)
            .ok()
            .map(|t| t.trim().to_string()),
        Some(new.to_string()),
        "the new supervisor is the file now at the path"
    );
    assert!(
        Daemon::wait_gone(old, Duration::from_secs(30)),
        "the old supervisor did not go\n{}",
        d.logs()
    );
    for p in &old_workers {
        assert!(
            Daemon::wait_gone(*p, SIGNAL_WAIT),
            "old worker {p} left behind"
        );
    }
    let now = load.done();
    assert!(
        load.wait_done(now + 2000, Duration::from_secs(60)),
        "load stalled at {}",
        load.done()
    );
    let tally = load.finish();
    assert_eq!(
        (tally.failed, tally.resets),
        (0, 0),
        "{} requests across the upgrade; samples {:#?}",
        tally.total(),
        tally.samples
    );
    assert_eq!(
        d.scoreboard().header().ports(),
        vec![port],
        "the same socket"
    );
    assert_eq!(get_ok(port, "/after").origin(), "a");
    let out = d.control("stop");
    assert_eq!(out.code(), Some(0), "-k stop after the upgrade: {out:?}");
    assert!(Daemon::wait_gone(new, SIGNAL_WAIT));
}

#[test]
fn workers_switch_to_user_nobody_when_started_as_root() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: User needs the test to run as root");
        return;
    }
    let nobody = nix::unistd::User::from_name("nobody")
        .ok()
        .flatten()
        .expect("user nobody");
    let a = Origin::start("a");
    let d = Daemon::start(&render(&format!("User nobody\n{TWO_WORKERS}"), &[&a]));
    let sup = d.pid();
    let workers = d.worker_pids();
    assert_eq!(workers.len(), 2);
    assert_eq!(process_uids(sup), Some((0, 0)), "the supervisor stays root");
    for w in workers {
        let uid = nobody.uid.as_raw();
        wait_for(
            &format!("worker {w} running as nobody"),
            SIGNAL_WAIT,
            || (process_uids(w) == Some((uid, uid))).then_some(()),
            || format!("{:?}", process_uids(w)),
        );
    }
    assert_eq!(get_ok(d.port(), "/as-nobody").origin(), "a");
}
