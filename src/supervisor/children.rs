//! The supervisor's children after fork: why one was asked to stop, how each
//! ended (reaping, replacement with a back-off, the log line it deserves), and
//! the watchdog that kills a worker whose event loop stopped turning.
//!
//! One rule for the log: a child that ends because the supervisor asked it to
//! (a restart, a stop, a retired prefork spare, the old supervisor of a binary
//! upgrade) is logged at info and never replaced; a child that dies on its
//! own, or that the watchdog killed, is logged as an error and replaced when
//! it belongs to the current generation.

use std::fmt;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use scoreboard::ProcessState;

use super::Supervisor;

/// A worker that lived this long is healthy: its next death restarts the back-off.
const HEALTHY_LIFETIME: Duration = Duration::from_secs(10);
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
pub(super) const BACKOFF_MAX: Duration = Duration::from_secs(10);

pub(super) struct Child {
    /// Its process slot; `usize::MAX` for the health checker (and for old
    /// workers whose slots went with a replaced scoreboard).
    pub slot: usize,
    pub started: Instant,
    pub generation: u64,
    /// The health checker rather than a worker.
    pub checker: bool,
    /// Why the supervisor asked it to stop (or killed it); None while it serves.
    pub ending: Option<Ending>,
}

/// Why the supervisor ended a child.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ending {
    /// USR1: finish what it holds, then exit (SIGUSR1).
    GracefulRestart,
    /// HUP: stop at once (SIGTERM).
    Restart,
    /// Prefork: an idle worker above MaxSpareServers (SIGUSR1).
    Retired,
    /// WINCH (SIGUSR1).
    GracefulStop,
    /// TERM or INT (SIGTERM).
    Stop,
    /// USR2: the new binary serves; this supervisor stops gracefully (SIGUSR1).
    Upgraded,
    /// The watchdog: no progress for this long (SIGKILL).
    Stalled(Duration),
}

impl Ending {
    /// The signal that asks for it.
    pub fn signal(self) -> Signal {
        match self {
            Ending::Restart | Ending::Stop => Signal::SIGTERM,
            Ending::Stalled(_) => Signal::SIGKILL,
            _ => Signal::SIGUSR1,
        }
    }
}

impl fmt::Display for Ending {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ending::GracefulRestart => f.write_str("graceful restart"),
            Ending::Restart => f.write_str("restart"),
            Ending::Retired => f.write_str("prefork: spare worker retired"),
            Ending::GracefulStop => f.write_str("graceful stop"),
            Ending::Stop => f.write_str("stop"),
            Ending::Upgraded => f.write_str("binary upgrade: the new binary serves"),
            Ending::Stalled(d) => write!(f, "no progress for {:.1}s", d.as_secs_f64()),
        }
    }
}

/// How a child ended, from `waitpid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ended {
    Exit(i32),
    Signal(Signal),
}

impl Ended {
    /// What a child asked to stop ends with: exit status 0 (it finished), or
    /// SIGTERM (whose default action ends a worker).
    fn as_asked(self) -> bool {
        matches!(self, Ended::Exit(0) | Ended::Signal(Signal::SIGTERM))
    }
}

impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ended::Exit(code) => write!(f, "exit status {code}"),
            Ended::Signal(sig) => write!(f, "signal {sig}"),
        }
    }
}

/// How long to wait before replacing a child after `fails` quick deaths in a
/// row: at once for the first, then 100 ms doubling up to 10 s.
pub(super) fn backoff(fails: u32) -> Duration {
    if fails <= 1 {
        Duration::ZERO
    } else {
        (BACKOFF_FIRST * 2u32.saturating_pow(fails - 2)).min(BACKOFF_MAX)
    }
}

/// The child's name in log lines.
fn worker_name(pid: Pid, child: &Child) -> String {
    if child.slot == usize::MAX {
        format!("worker (pid {pid}, generation {})", child.generation)
    } else {
        format!(
            "worker {} (pid {pid}, generation {})",
            child.slot, child.generation
        )
    }
}

impl Supervisor {
    /// Sends `why`'s signal to the child `pid` and remembers why (a watchdog
    /// kill is never overwritten: its end is still an error).
    pub(super) fn tell_to_stop(&mut self, pid: Pid, why: Ending) {
        let Some(c) = self.children.get_mut(&pid) else {
            return;
        };
        if !matches!(c.ending, Some(Ending::Stalled(_))) {
            c.ending = Some(why);
        }
        let _ = kill(pid, why.signal());
    }

    /// Once a loop turn: kills (SIGKILL) every worker past its start whose
    /// progress mark is older than `WorkerStallTimeout`; `reap` then gives back what it held
    /// and replaces it. A stopped (SIGSTOP) or wedged worker takes no new
    /// connection and finishes none, while its slot still says what it was
    /// doing.
    pub(super) fn watchdog(&mut self) {
        let limit = self.gen.config.worker_stall_timeout;
        if limit.is_zero() {
            return;
        }
        let sb = self.scoreboard.clone();
        let now = scoreboard::monotonic_ms();
        let stalled: Vec<(Pid, Duration)> = self
            .children
            .iter()
            .filter(|(_, c)| !c.checker && c.slot < sb.processes().len())
            .filter(|(_, c)| !matches!(c.ending, Some(Ending::Stalled(_))))
            .filter_map(|(pid, c)| {
                let p = sb.process(c.slot);
                // A worker still starting (`S`: opening `min=` connections, which
                // block) is shown as stalled but not killed: its replacement
                // would block the same way.
                if p.pid() != pid.as_raw() || p.state() == ProcessState::Starting {
                    return None;
                }
                let idle = Duration::from_millis(p.stalled_for(now)?);
                (idle > limit).then_some((*pid, idle))
            })
            .collect();
        for (pid, idle) in stalled {
            if let Some(c) = self.children.get(&pid) {
                log::error!(
                    "{} made no progress for {:.1}s (WorkerStallTimeout {}): killing it (SIGKILL)",
                    worker_name(pid, c),
                    idle.as_secs_f64(),
                    limit.as_secs()
                );
            }
            self.tell_to_stop(pid, Ending::Stalled(idle));
        }
    }

    /// Collects every exited child: gives back what it held on members, clears
    /// its slot, logs its end (see the module doc) and schedules a replacement
    /// when it died unasked in the current generation.
    pub(super) fn reap(&mut self) {
        loop {
            let (pid, ended) = match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => (pid, Ended::Exit(code)),
                Ok(WaitStatus::Signaled(pid, sig, _)) => (pid, Ended::Signal(sig)),
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(_) => continue,
            };
            if self.successor.is_some_and(|(p, _)| p == pid) {
                log::error!(
                    "binary upgrade: the new binary (pid {pid}) ended with {ended}; this one goes on"
                );
                self.successor = None;
                continue;
            }
            let Some(child) = self.children.remove(&pid) else {
                continue;
            };
            if child.checker {
                self.reap_checker(pid, &child, ended);
                continue;
            }
            let sb = &self.scoreboard;
            if child.slot < sb.processes().len() {
                let given = sb.release_held(child.slot);
                if given > 0 {
                    log::info!("worker pid {pid} held {given} requests on members; their busy counts are given back");
                }
                sb.process(child.slot).clear();
            }
            let name = worker_name(pid, &child);
            let lived = child.started.elapsed();
            let planned = match child.ending {
                Some(Ending::Stalled(_)) => false,
                Some(why) if ended.as_asked() => {
                    log::info!("{name} stopped ({why})");
                    continue;
                }
                Some(why) => {
                    log::error!("{name} ended with {ended} while stopping ({why})");
                    continue;
                }
                None => ended == Ended::Exit(0),
            };
            if child.generation != self.gen.number {
                log::error!(
                    "{name} of an older generation ended with {ended} after {:.1}s",
                    lived.as_secs_f64()
                );
                continue;
            }
            let fails = &mut self.failures[child.slot];
            // A worker that chose to exit (MaxConnectionsPerChild) did not fail.
            *fails = if planned || lived >= HEALTHY_LIFETIME {
                0
            } else {
                *fails + 1
            };
            let delay = backoff(*fails);
            if planned {
                let per_child = self.gen.config.max_connections_per_child;
                let why = if per_child > 0 {
                    format!("after MaxConnectionsPerChild {per_child}")
                } else {
                    "with exit status 0".to_string()
                };
                log::info!("{name} exited on its own {why}; starting another");
            } else if let Some(Ending::Stalled(_)) = child.ending {
                log::error!(
                    "{name} killed by the watchdog after {:.1}s; replacing it in {delay:?}",
                    lived.as_secs_f64()
                );
            } else {
                log::error!(
                    "{name} ended with {ended} after {:.1}s; replacing it in {delay:?}",
                    lived.as_secs_f64()
                );
            }
            self.respawn.push((Instant::now() + delay, child.slot));
        }
    }

    /// The health checker ended: logged at info when it was asked to stop;
    /// otherwise an error, and replaced (with the workers' back-off) when it
    /// belonged to the current generation.
    fn reap_checker(&mut self, pid: Pid, child: &Child, ended: Ended) {
        let h = self.scoreboard.header();
        if h.checker_pid() == pid.as_raw() {
            h.set_checker_pid(0);
        }
        let name = format!(
            "health checker (pid {pid}, generation {})",
            child.generation
        );
        match child.ending {
            Some(why) if ended.as_asked() => {
                log::info!("{name} stopped ({why})");
                return;
            }
            Some(why) => {
                log::error!("{name} ended with {ended} while stopping ({why})");
                return;
            }
            None => {}
        }
        let lived = child.started.elapsed();
        if child.generation != self.gen.number {
            log::error!(
                "{name} of an older generation ended with {ended} after {:.1}s",
                lived.as_secs_f64()
            );
            return;
        }
        self.checker_failures = if lived >= HEALTHY_LIFETIME {
            0
        } else {
            self.checker_failures + 1
        };
        let delay = backoff(self.checker_failures);
        log::error!(
            "{name} ended with {ended} after {:.1}s; replacing it in {delay:?}",
            lived.as_secs_f64()
        );
        self.checker_respawn = Some(Instant::now() + delay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_immediate_then_doubles_to_ten_seconds() {
        let table = [
            (0, 0),
            (1, 0),
            (2, 100),
            (3, 200),
            (4, 400),
            (8, 6400),
            (9, 10_000),
            (40, 10_000),
        ];
        for (fails, ms) in table {
            assert_eq!(backoff(fails), Duration::from_millis(ms), "{fails} fails");
        }
    }

    #[test]
    fn asked_children_end_with_status_zero_or_sigterm() {
        assert!(Ended::Exit(0).as_asked());
        assert!(Ended::Signal(Signal::SIGTERM).as_asked());
        assert!(!Ended::Exit(1).as_asked());
        assert!(!Ended::Signal(Signal::SIGSEGV).as_asked());
        assert!(!Ended::Signal(Signal::SIGKILL).as_asked());
        assert_eq!(Ended::Signal(Signal::SIGKILL).to_string(), "signal SIGKILL");
    }

    #[test]
    fn each_stop_has_its_signal_and_words() {
        let table = [
            (Ending::GracefulRestart, Signal::SIGUSR1, "graceful restart"),
            (Ending::Restart, Signal::SIGTERM, "restart"),
            (
                Ending::Retired,
                Signal::SIGUSR1,
                "prefork: spare worker retired",
            ),
            (Ending::GracefulStop, Signal::SIGUSR1, "graceful stop"),
            (Ending::Stop, Signal::SIGTERM, "stop"),
            (
                Ending::Upgraded,
                Signal::SIGUSR1,
                "binary upgrade: the new binary serves",
            ),
            (
                Ending::Stalled(Duration::from_millis(61_300)),
                Signal::SIGKILL,
                "no progress for 61.3s",
            ),
        ];
        for (stop, signal, words) in table {
            assert_eq!((stop.signal(), stop.to_string().as_str()), (signal, words));
        }
    }
}
