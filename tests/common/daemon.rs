//! Helpers for the tests of the daemon's life cycle (restarts, `-k` control,
//! prefork, crashes, logs):
//!
//! - scoreboard facts: the header's generation and restart count, the process
//!   table as plain rows (`ProcRow`), bounded waits on a generation and on the
//!   end of the workers of older generations;
//! - `edit_conf`: rewrites a running server's configuration file in place
//!   (atomically, by rename) before a restart signal;
//! - `Daemon`: `slotgate -k start` on a configuration in a temp dir; dropping
//!   it stops the daemon by the PID in its PidFile (SIGTERM, then SIGKILL) and
//!   kills any of its processes left behind;
//! - `KeepAliveLoad`: client threads in the background, each on a keep-alive
//!   connection that it replaces when a response says `Connection: close` or
//!   the connection fails; it counts responses, failures and resets, so a test
//!   can assert that none failed while it restarted the server.
//!
//! Every wait is bounded; every process is found and stopped by PID.

use super::{
    pid_alive, poll_true, proc_state, run_command, slotgate_exe, wait_for, Client, RunOutput,
    TempDir,
};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use scoreboard::{Phase, Scoreboard};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Bound on a `slotgate -k …` command (it waits up to 30 s itself).
pub const CONTROL_TIMEOUT: Duration = Duration::from_secs(45);
/// Generous bound on waits for the supervisor to act on a signal.
pub const SIGNAL_WAIT: Duration = Duration::from_secs(15);

// ---------------------------------------------------------------------------
// Scoreboard facts
// ---------------------------------------------------------------------------

/// One process slot holding a pid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcRow {
    pub slot: usize,
    pub pid: i32,
    pub generation: u64,
    pub state: char,
    pub connections: u64,
    pub total_connections: u64,
    pub requests: u64,
}

/// The process slots of the scoreboard at `path` that hold a pid (empty if
/// the file cannot be attached).
pub fn proc_rows(path: &Path) -> Vec<ProcRow> {
    let Ok(sb) = Scoreboard::attach_readonly(path) else {
        return Vec::new();
    };
    sb.processes()
        .iter()
        .enumerate()
        .filter(|(_, p)| p.pid() != 0)
        .map(|(slot, p)| ProcRow {
            slot,
            pid: p.pid(),
            generation: p.generation(),
            state: p.state().letter(),
            connections: p.connections(),
            total_connections: p.total_connections(),
            requests: p.requests(),
        })
        .collect()
}

/// The process table as one line, for messages.
pub fn describe_rows(path: &Path) -> String {
    let rows = proc_rows(path);
    if rows.is_empty() {
        return "no process slot holds a pid".to_string();
    }
    rows.iter()
        .map(|r| {
            format!(
                "slot {} pid {} ({}) gen {} state {} conns {} total {} requests {}",
                r.slot,
                r.pid,
                proc_state(r.pid),
                r.generation,
                r.state,
                r.connections,
                r.total_connections,
                r.requests
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// (generation, restarts, phase, supervisor pid) from the header.
pub fn header_facts(path: &Path) -> Option<(u64, u64, Option<Phase>, i32)> {
    let sb = Scoreboard::attach_readonly(path).ok()?;
    let h = sb.header();
    Some((h.generation(), h.restarts(), h.phase(), h.supervisor_pid()))
}

/// The header's generation; panics if the scoreboard cannot be read.
pub fn generation(path: &Path) -> u64 {
    header_facts(path)
        .unwrap_or_else(|| panic!("scoreboard {} unreadable", path.display()))
        .0
}

/// Waits until the header says generation `gen`, phase running, and at least
/// one live worker of that generation sits in the process table. Panics (with
/// the header and the process table) if that takes over `timeout`, or if the
/// generation goes past `gen` (a restart counted twice).
pub fn wait_generation(path: &Path, gen: u64, timeout: Duration) {
    wait_for(
        &format!("generation {gen} running with a worker"),
        timeout,
        || {
            let (g, _, phase, _) = header_facts(path)?;
            assert!(
                g <= gen,
                "generation went to {g}, past {gen}: {}",
                describe_rows(path)
            );
            let has_worker = proc_rows(path)
                .iter()
                .any(|r| r.generation == gen && pid_alive(r.pid) && proc_state(r.pid) != "Z");
            (g == gen && phase == Some(Phase::Running) && has_worker).then_some(())
        },
        || format!("header {:?}; {}", header_facts(path), describe_rows(path)),
    )
}

/// Waits until no process slot holds a worker of a generation below `gen` and
/// every pid in `old_pids` is gone (exited or a zombie).
pub fn wait_older_generations_gone(path: &Path, gen: u64, old_pids: &[i32], timeout: Duration) {
    wait_for(
        &format!("the workers of generations below {gen} to be gone"),
        timeout,
        || {
            let rows_clear = proc_rows(path).iter().all(|r| r.generation >= gen);
            let pids_gone = old_pids.iter().all(|&p| process_gone(p));
            (rows_clear && pids_gone).then_some(())
        },
        || {
            format!(
                "{}; old pids {:?}",
                describe_rows(path),
                old_pids
                    .iter()
                    .map(|&p| (p, proc_state(p)))
                    .collect::<Vec<_>>()
            )
        },
    )
}

/// Whether `pid` has exited (gone, or a zombie nobody has reaped yet).
pub fn process_gone(pid: i32) -> bool {
    !pid_alive(pid) || proc_state(pid) == "Z"
}

/// Rewrites the configuration file at `path` with `to` in place of `from`
/// (which must be there), by writing a new file and renaming it over the old
/// one, so the supervisor never reads half a file.
pub fn edit_conf(path: &Path, from: &str, to: &str) {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    assert!(
        text.contains(from),
        "{} does not contain {from:?}:\n{text}",
        path.display()
    );
    write_atomically(path, &text.replacen(from, to, 1));
}

/// Writes `text` to `path` through a temporary file renamed over it.
pub fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp-edit");
    fs::write(&tmp, text).unwrap_or_else(|e| panic!("writing {}: {e}", tmp.display()));
    fs::rename(&tmp, path).unwrap_or_else(|e| panic!("renaming over {}: {e}", path.display()));
}

/// The uid (real, effective) of process `pid` from /proc/PID/status.
pub fn process_uids(pid: i32) -> Option<(u32, u32)> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    let mut ids = line.split_whitespace().skip(1).map(|w| w.parse::<u32>());
    Some((ids.next()?.ok()?, ids.next()?.ok()?))
}

// ---------------------------------------------------------------------------
// Daemon: slotgate -k start
// ---------------------------------------------------------------------------

/// What `Daemon::new` adds to the configuration body.
#[derive(Clone, Debug)]
pub struct DaemonOptions {
    /// Add `ErrorLog <dir>/error.log` (unless the body sets one).
    pub error_log: bool,
    /// Add `PidFile <dir>/run/slotgate.pid` (unless the body sets one).
    pub pid_file: bool,
    /// The binary to run (default: the one cargo built).
    pub exe: Option<PathBuf>,
}

impl Default for DaemonOptions {
    fn default() -> Self {
        DaemonOptions {
            error_log: true,
            pid_file: true,
            exe: None,
        }
    }
}

/// A daemon started with `slotgate -k start -f <dir>/slotgate.conf`. Dropping
/// it sends SIGTERM to the PID in its PidFile (and to every supervisor pid it
/// saw), waits up to 5 s, then SIGKILLs; afterwards every process still
/// running with this configuration file on its command line is killed.
pub struct Daemon {
    conf_path: PathBuf,
    pid_file: PathBuf,
    scoreboard_path: PathBuf,
    exe: PathBuf,
    seen: Mutex<Vec<i32>>,
    // Last: removed once the processes are gone.
    dir: TempDir,
}

fn has_line(text: &str, directive: &str) -> bool {
    text.lines().any(|l| {
        l.split_whitespace()
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case(directive))
    })
}

impl Daemon {
    /// Writes the configuration: `ServerRoot` (the temp dir, absolute: the
    /// daemon runs in `/`), `ScoreboardFile`, `LogLevel debug` and, as
    /// `options` say, `ErrorLog` and `PidFile`, then `body`. Starts nothing.
    pub fn new(body: &str, options: DaemonOptions) -> Daemon {
        let dir = TempDir::new();
        let root = dir.path().to_path_buf();
        fs::create_dir_all(root.join("run")).unwrap();
        let mut text = format!(
            "ServerRoot \"{}\"\nScoreboardFile \"{}\"\n",
            root.display(),
            root.join("slotgate.scoreboard").display()
        );
        if !has_line(body, "LogLevel") {
            text.push_str("LogLevel debug\n");
        }
        if options.error_log && !has_line(body, "ErrorLog") {
            text.push_str(&format!(
                "ErrorLog \"{}\"\n",
                root.join("error.log").display()
            ));
        }
        let pid_file = if has_line(body, "PidFile") {
            let line = body
                .lines()
                .find(|l| {
                    l.split_whitespace()
                        .next()
                        .is_some_and(|w| w.eq_ignore_ascii_case("PidFile"))
                })
                .unwrap();
            let arg = line
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .trim_matches('"');
            root.join(arg)
        } else if options.pid_file {
            let p = root.join("run").join("slotgate.pid");
            text.push_str(&format!("PidFile \"{}\"\n", p.display()));
            p
        } else {
            // slotgate's default for a daemon.
            root.join("slotgate.pid")
        };
        text.push_str(body);
        text.push('\n');
        let conf_path = dir.write("slotgate.conf", &text);
        Daemon {
            conf_path,
            pid_file,
            scoreboard_path: root.join("slotgate.scoreboard"),
            exe: options.exe.unwrap_or_else(|| PathBuf::from(slotgate_exe())),
            seen: Mutex::new(Vec::new()),
            dir,
        }
    }

    /// Starts the daemon and waits until it runs; panics with the output and
    /// the logs if `-k start` fails.
    pub fn start(body: &str) -> Daemon {
        let d = Daemon::new(body, DaemonOptions::default());
        d.start_ok();
        d
    }

    /// `-k start`, asserting exit 0; then waits for the scoreboard to say
    /// running with the PidFile's pid as supervisor.
    pub fn start_ok(&self) -> RunOutput {
        let out = self.control("start");
        assert_eq!(
            out.code(),
            Some(0),
            "slotgate -k start failed: {out:?}\n{}",
            self.logs()
        );
        self.wait_running(self.pid(), SIGNAL_WAIT);
        out
    }

    /// Runs `slotgate -k CMD -f CONF` to completion (bounded).
    pub fn control(&self, cmd: &str) -> RunOutput {
        let exe = self.exe.to_str().expect("utf-8 exe path").to_string();
        let conf = self
            .conf_path
            .to_str()
            .expect("utf-8 conf path")
            .to_string();
        run_command(&exe, &["-k", cmd, "-f", &conf], &self.dir, CONTROL_TIMEOUT)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn conf_path(&self) -> &Path {
        &self.conf_path
    }

    pub fn pid_file(&self) -> &Path {
        &self.pid_file
    }

    pub fn scoreboard_path(&self) -> &Path {
        &self.scoreboard_path
    }

    /// The pid written in the PidFile, if there is one.
    pub fn pid_from_file(&self) -> Option<i32> {
        fs::read_to_string(&self.pid_file)
            .ok()
            .and_then(|t| t.trim().parse().ok())
    }

    /// The PidFile's pid; panics with the logs if there is none.
    pub fn pid(&self) -> i32 {
        let pid = self.pid_from_file().unwrap_or_else(|| {
            panic!(
                "no pid in PidFile {}\n{}",
                self.pid_file.display(),
                self.logs()
            )
        });
        self.remember(pid);
        pid
    }

    fn remember(&self, pid: i32) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if pid > 0 && !seen.contains(&pid) {
            seen.push(pid);
        }
    }

    /// Waits until the scoreboard says running with `pid` as its supervisor.
    pub fn wait_running(&self, pid: i32, timeout: Duration) {
        self.remember(pid);
        wait_for(
            &format!("the scoreboard to say running under supervisor {pid}"),
            timeout,
            || {
                let (_, _, phase, sup) = header_facts(&self.scoreboard_path)?;
                let ports = Scoreboard::attach_readonly(&self.scoreboard_path)
                    .ok()?
                    .header()
                    .ports();
                (phase == Some(Phase::Running) && sup == pid && !ports.is_empty()).then_some(())
            },
            || {
                format!(
                    "header {:?}\n{}",
                    header_facts(&self.scoreboard_path),
                    self.logs()
                )
            },
        );
        let _ = self.worker_pids();
    }

    pub fn scoreboard(&self) -> Scoreboard {
        Scoreboard::attach_readonly(&self.scoreboard_path).unwrap_or_else(|e| {
            panic!(
                "attaching {}: {e}\n{}",
                self.scoreboard_path.display(),
                self.logs()
            )
        })
    }

    /// The first port published in the scoreboard header.
    pub fn port(&self) -> u16 {
        let ports = self.scoreboard().header().ports();
        *ports
            .first()
            .unwrap_or_else(|| panic!("no port published\n{}", self.logs()))
    }

    /// Pids in the process table (remembered for `Drop`).
    pub fn worker_pids(&self) -> Vec<i32> {
        let pids: Vec<i32> = proc_rows(&self.scoreboard_path)
            .iter()
            .map(|r| r.pid)
            .collect();
        for &p in &pids {
            self.remember(p);
        }
        pids
    }

    /// Sends `signal` to the PidFile's pid.
    pub fn signal(&self, signal: Signal) {
        let pid = self.pid();
        kill(Pid::from_raw(pid), signal)
            .unwrap_or_else(|e| panic!("sending {signal} to {pid}: {e}"));
    }

    pub fn error_log(&self) -> String {
        self.dir.read("error.log")
    }

    /// Configuration, error log and the detached daemon's stderr, for messages.
    pub fn logs(&self) -> String {
        format!(
            "--- {} ---\n{}\n--- error.log ---\n{}\n--- slotgate-stderr.log ---\n{}",
            self.conf_path.display(),
            fs::read_to_string(&self.conf_path).unwrap_or_default(),
            self.error_log(),
            self.dir.read("slotgate-stderr.log"),
        )
    }

    /// Whether `pid` is a live process started on this daemon's configuration
    /// (its command line names our configuration file: supervisor, workers,
    /// and the supervisor of a binary upgrade all do).
    pub fn is_ours(&self, pid: i32) -> bool {
        if pid <= 0 || process_gone(pid) {
            return false;
        }
        let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
            return false;
        };
        let conf = self.conf_path.to_string_lossy();
        cmdline
            .split(|&b| b == 0)
            .any(|arg| String::from_utf8_lossy(arg) == conf)
    }

    /// Waits (bounded) until `pid` is gone; false on timeout.
    pub fn wait_gone(pid: i32, timeout: Duration) -> bool {
        poll_true(timeout, || process_gone(pid))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.worker_pids();
        let mut supervisors: Vec<i32> = Vec::new();
        if let Some(p) = self.pid_from_file() {
            supervisors.push(p);
        }
        if let Some((_, _, _, p)) = header_facts(&self.scoreboard_path) {
            supervisors.push(p);
        }
        supervisors.extend(self.seen.lock().unwrap_or_else(|e| e.into_inner()).iter());
        supervisors.retain(|&p| self.is_ours(p));
        supervisors.sort_unstable();
        supervisors.dedup();
        for &p in &supervisors {
            let _ = kill(Pid::from_raw(p), Signal::SIGTERM);
        }
        poll_true(Duration::from_secs(5), || {
            !supervisors.iter().any(|&p| self.is_ours(p))
        });
        for &p in &supervisors {
            if self.is_ours(p) {
                eprintln!("daemon pid {p} ignored SIGTERM for 5 s; killing it");
                let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
            }
        }
        // Workers go with their supervisor; whatever is left is killed.
        let all: Vec<i32> = self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone();
        poll_true(Duration::from_secs(2), || {
            !all.iter().any(|&p| self.is_ours(p))
        });
        for &p in &all {
            if self.is_ours(p) {
                let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
            }
        }
        if thread::panicking() {
            eprintln!("daemon logs:\n{}", self.logs());
        }
    }
}

// ---------------------------------------------------------------------------
// KeepAliveLoad: background clients that count failures
// ---------------------------------------------------------------------------

/// What the clients of a `KeepAliveLoad` observed.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Complete responses with status 200.
    pub ok: usize,
    /// Requests without a complete 200 response (errors and other statuses).
    pub failed: usize,
    /// Failures where the connection was reset (ECONNRESET, EPIPE, aborted).
    pub resets: usize,
    /// Connections opened.
    pub connects: usize,
    /// Responses that carried `Connection: close` (the client then reconnected).
    pub closes: usize,
    /// Responses by `X-Origin`.
    pub origins: BTreeMap<String, usize>,
    /// Up to 20 failure descriptions.
    pub samples: Vec<String>,
}

impl Tally {
    fn merge(&mut self, other: Tally) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.resets += other.resets;
        self.connects += other.connects;
        self.closes += other.closes;
        for (k, v) in other.origins {
            *self.origins.entry(k).or_default() += v;
        }
        for s in other.samples {
            if self.samples.len() < 20 {
                self.samples.push(s);
            }
        }
    }

    fn fail(&mut self, what: String) {
        self.failed += 1;
        let lower = what.to_ascii_lowercase();
        if lower.contains("reset")
            || lower.contains("broken pipe")
            || lower.contains("aborted")
            || lower.contains("os error 104")
            || lower.contains("os error 32")
        {
            self.resets += 1;
        }
        if self.samples.len() < 20 {
            self.samples.push(what);
        }
    }

    /// Responses from origin `name`.
    pub fn from(&self, name: &str) -> usize {
        self.origins.get(name).copied().unwrap_or(0)
    }

    /// Requests that got an answer or failed.
    pub fn total(&self) -> usize {
        self.ok + self.failed
    }
}

/// Hard bound on a load's life, whatever the test does.
const LOAD_LIFETIME: Duration = Duration::from_secs(300);

/// `clients` threads sending `GET path` on keep-alive connections to
/// 127.0.0.1:`port` until `finish` (or drop), each starting a new connection
/// after a response with `Connection: close` or a failure.
pub struct KeepAliveLoad {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    threads: Vec<JoinHandle<Tally>>,
}

impl KeepAliveLoad {
    pub fn start(port: u16, clients: usize, path: &str) -> KeepAliveLoad {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicUsize::new(0));
        let failed = Arc::new(AtomicUsize::new(0));
        let threads = (0..clients)
            .map(|i| {
                let stop = stop.clone();
                let done = done.clone();
                let failed = failed.clone();
                let path = path.to_string();
                thread::Builder::new()
                    .name(format!("load-client-{i}"))
                    .spawn(move || client_loop(port, &path, &stop, &done, &failed))
                    .expect("spawning a load client")
            })
            .collect();
        KeepAliveLoad {
            stop,
            done,
            failed,
            threads,
        }
    }

    /// Requests finished so far (answered or failed).
    pub fn done(&self) -> usize {
        self.done.load(Ordering::SeqCst)
    }

    /// Failures so far.
    pub fn failed(&self) -> usize {
        self.failed.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` requests finished; false after `timeout`.
    pub fn wait_done(&self, n: usize, timeout: Duration) -> bool {
        poll_true(timeout, || self.done() >= n)
    }

    /// Stops the clients (each after its current request) and adds up.
    pub fn finish(mut self) -> Tally {
        self.stop.store(true, Ordering::SeqCst);
        let mut total = Tally::default();
        for t in self.threads.drain(..) {
            match t.join() {
                Ok(tally) => total.merge(tally),
                Err(_) => total.fail("a load client panicked".to_string()),
            }
        }
        total
    }
}

impl Drop for KeepAliveLoad {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn client_loop(
    port: u16,
    path: &str,
    stop: &AtomicBool,
    done: &AtomicUsize,
    failed: &AtomicUsize,
) -> Tally {
    let mut tally = Tally::default();
    let mut client: Option<Client> = None;
    let deadline = Instant::now() + LOAD_LIFETIME;
    let mut k = 0usize;
    while !stop.load(Ordering::SeqCst) && Instant::now() < deadline {
        k += 1;
        if client.is_none() {
            match Client::try_connect(port) {
                Ok(c) => {
                    tally.connects += 1;
                    client = Some(c);
                }
                Err(e) => {
                    tally.fail(format!("request {k}: {e}"));
                    failed.fetch_add(1, Ordering::SeqCst);
                    done.fetch_add(1, Ordering::SeqCst);
                    // Pacing, not a wait on a fact: do not spin on a refused port.
                    thread::sleep(Duration::from_millis(10));
                    continue;
                }
            }
        }
        let c = client.as_mut().expect("connected above");
        match c.try_request("GET", path, &[], None) {
            Ok(r) => {
                let closing = r
                    .header_all("connection")
                    .iter()
                    .any(|v| v.to_ascii_lowercase().contains("close"));
                if closing {
                    tally.closes += 1;
                    client = None;
                }
                if r.status == 200 {
                    tally.ok += 1;
                    let origin = r.header("x-origin").unwrap_or("-").to_string();
                    *tally.origins.entry(origin).or_default() += 1;
                } else {
                    tally.fail(format!("request {k}: status {}", r.summary()));
                    failed.fetch_add(1, Ordering::SeqCst);
                }
            }
            Err(e) => {
                tally.fail(format!("request {k} (connection {}): {e}", tally.connects));
                failed.fetch_add(1, Ordering::SeqCst);
                client = None;
            }
        }
        done.fetch_add(1, Ordering::SeqCst);
    }
    tally
}
