//! Daemon control, as `httpd -k`: `start` detaches (double fork, setsid, PidFile)
//! and reports whether the server came up; `stop`, `restart`, `graceful` and
//! `graceful-stop` signal the daemon named by the PidFile. `restart` and
//! `graceful` then wait for the outcome the supervisor publishes in the
//! scoreboard header: a new generation running (exit 0, silent), or the refusal
//! and its reason (exit 1).

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use scoreboard::{Phase, Scoreboard};

use super::Options;
use crate::config::Config;
use crate::process::{self, Forked};

/// How long `-k start` waits for the daemon to say it runs, and `-k stop` for it to go.
const WAIT: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Start,
    Stop,
    Restart,
    Graceful,
    GracefulStop,
}

impl Command {
    pub fn parse(s: &str) -> Option<Command> {
        Some(match s {
            "start" => Command::Start,
            "stop" => Command::Stop,
            "restart" => Command::Restart,
            "graceful" => Command::Graceful,
            "graceful-stop" => Command::GracefulStop,
            _ => return None,
        })
    }
}

/// The PidFile of a configuration: `PidFile`, else `<ServerRoot>/slotgate.pid`.
pub fn pid_file(cfg: &Config) -> PathBuf {
    cfg.pid_file
        .clone()
        .unwrap_or_else(|| cfg.server_root.join("slotgate.pid"))
}

/// The running daemon named by `path`, or why there is none.
fn running_pid(path: &Path) -> Result<Pid, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "slotgate is not running (cannot read PidFile {}: {e})",
            path.display()
        )
    })?;
    let pid: i32 = text
        .trim()
        .parse()
        .map_err(|_| format!("PidFile {} does not hold a process id", path.display()))?;
    let pid = Pid::from_raw(pid);
    match kill(pid, None) {
        Ok(()) | Err(Errno::EPERM) => Ok(pid),
        Err(_) => Err(format!(
            "slotgate is not running (PidFile {} names pid {pid}, which does not exist)",
            path.display()
        )),
    }
}

/// `-k stop|restart|graceful|graceful-stop`: signals the daemon; `stop` and
/// `graceful-stop` wait (bounded) until it is gone, `restart` and `graceful`
/// until it runs the new generation or refused it (Err with the reason). Ok
/// holds a message for the user, None when success is silent.
pub fn signal_daemon(cfg: &Config, cmd: Command) -> Result<Option<String>, String> {
    let path = pid_file(cfg);
    let pid = running_pid(&path)?;
    let signal = match cmd {
        Command::Stop => Signal::SIGTERM,
        Command::Restart => Signal::SIGHUP,
        Command::Graceful => Signal::SIGUSR1,
        Command::GracefulStop => Signal::SIGWINCH,
        Command::Start => return Err(format!("slotgate is already running as pid {pid}")),
    };
    if matches!(cmd, Command::Restart | Command::Graceful) {
        return reload(cfg, pid, signal);
    }
    kill(pid, signal).map_err(|e| format!("signalling pid {pid}: {e}"))?;
    if matches!(cmd, Command::Stop | Command::GracefulStop) {
        let limit = if cmd == Command::Stop {
            WAIT
        } else {
            cfg.graceful_shutdown_timeout.max(WAIT)
        };
        let until = Instant::now() + limit;
        while kill(pid, None).is_ok() {
            if Instant::now() >= until {
                return Err(format!("pid {pid} did not stop within {limit:?}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        return Ok(Some(format!("slotgate (pid {pid}) stopped")));
    }
    Ok(Some(format!("sent {signal} to slotgate (pid {pid})")))
}

/// What the scoreboard header says about restarts, at one look.
struct ReloadFacts {
    generation: u64,
    phase: Option<Phase>,
    /// Refused restarts so far, and the last one's reason.
    refused: u64,
    refusal: String,
    supervisor: i32,
}

impl ReloadFacts {
    fn read(path: &Path) -> Result<ReloadFacts, String> {
        let sb = Scoreboard::attach_readonly(path)
            .map_err(|e| format!("reading the scoreboard {}: {e}", path.display()))?;
        let h = sb.header();
        // The count first: the reason was stored before it was raised.
        let refused = h.reloads_refused();
        Ok(ReloadFacts {
            generation: h.generation(),
            phase: h.phase(),
            refused,
            refusal: h.reload_refusal(),
            supervisor: h.supervisor_pid(),
        })
    }
}

/// Sends the restart `signal` (HUP, USR1) to `pid` and waits (bounded) until its
/// scoreboard shows a newer generation running (Ok(None): silent, for
/// logrotate's postrotate and cron) or one more refused restart (Err: the reason
/// the supervisor published). The file is attached anew at each look: a
/// restart that outgrows it renames a new one into place.
fn reload(cfg: &Config, pid: Pid, signal: Signal) -> Result<Option<String>, String> {
    let path = &cfg.scoreboard_file;
    let before = ReloadFacts::read(path).and_then(|f| {
        if f.supervisor == pid.as_raw() {
            Ok(f)
        } else {
            Err(format!(
                "the scoreboard {} names supervisor pid {}, not pid {pid} of the PidFile",
                path.display(),
                f.supervisor
            ))
        }
    });
    kill(pid, signal).map_err(|e| format!("signalling pid {pid}: {e}"))?;
    let before = before.map_err(|e| {
        format!("sent {signal} to pid {pid}, but cannot tell whether it restarted: {e}")
    })?;
    let until = Instant::now() + WAIT;
    loop {
        if kill(pid, None).is_err() {
            return Err(format!(
                "pid {pid} exited after {signal} (see its ErrorLog)"
            ));
        }
        if let Ok(now) = ReloadFacts::read(path) {
            if now.refused > before.refused {
                return Err(now.refusal);
            }
            if now.generation > before.generation
                && now.phase == Some(Phase::Running)
                && now.supervisor == pid.as_raw()
            {
                return Ok(None);
            }
        }
        if Instant::now() >= until {
            return Err(format!(
                "sent {signal} to pid {pid}; no new generation and no refusal within {WAIT:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The daemon's way to tell `-k start` how its start went.
pub struct Ready {
    pipe: UnixStream,
}

impl Ready {
    pub fn running(mut self) {
        let _ = self.pipe.write_all(b"ok\n");
    }

    pub fn failed(mut self, why: &str) {
        let _ = writeln!(self.pipe, "error: {why}");
    }
}

/// `-k start`: detaches and runs the server; the calling process waits until the
/// daemon runs (exit 0) or reports why it could not start (exit 1).
pub fn start_daemon(opts: &Options, cfg: &Config) -> i32 {
    if let Ok(pid) = running_pid(&pid_file(cfg)) {
        eprintln!("slotgate: already running as pid {pid}");
        return 1;
    }
    let (mut report, tell) = match UnixStream::pair() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("slotgate: {e}");
            return 1;
        }
    };
    match process::fork() {
        Err(e) => {
            eprintln!("slotgate: fork: {e}");
            1
        }
        Ok(Forked::Parent(_)) => {
            drop(tell);
            let _ = report.set_read_timeout(Some(WAIT));
            let mut line = String::new();
            let _ = BufReader::new(&mut report).read_line(&mut line);
            match line.trim_end() {
                "ok" => 0,
                "" => {
                    eprintln!("slotgate: the daemon exited without saying why (see its ErrorLog)");
                    1
                }
                msg => {
                    eprintln!("slotgate: {}", msg.trim_start_matches("error: "));
                    1
                }
            }
        }
        Ok(Forked::Child) => {
            drop(report);
            let log = cfg.server_root.join("slotgate-stderr.log");
            let code = match process::detach(&log) {
                Ok(()) => super::run(opts, Some(Ready { pipe: tell })),
                Err(e) => {
                    Ready { pipe: tell }.failed(&format!("detaching: {e}"));
                    1
                }
            };
            std::process::exit(code);
        }
    }
}
