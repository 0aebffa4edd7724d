//! Process primitives: the one place in the daemon outside the scoreboard crate
//! with `unsafe` (fork, and signal dispositions in a fresh child).

use std::io;

use nix::sys::signal::{signal, SigHandler, Signal};
use nix::unistd::{fork as nix_fork, ForkResult, Pid};

/// Which side of a fork we are on.
pub enum Forked {
    Parent(Pid),
    Child,
}

/// Forks the calling process.
///
/// Must only be called while the process has a single thread (the supervisor
/// never starts threads), so the child inherits no lock held by another thread.
pub fn fork() -> io::Result<Forked> {
    // SAFETY: the supervisor is single-threaded (it starts no threads and
    // signal-hook's pipe and flag registration spawn none), so the child gets a
    // consistent copy of every lock and allocator state.
    match unsafe { nix_fork() } {
        Ok(ForkResult::Parent { child }) => Ok(Forked::Parent(child)),
        Ok(ForkResult::Child) => Ok(Forked::Child),
        Err(e) => Err(io::Error::from(e)),
    }
}

/// The signals the supervisor handles; a child puts them back to their defaults.
pub const SUPERVISOR_SIGNALS: [Signal; 6] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGCHLD,
    Signal::SIGHUP,
    Signal::SIGUSR1,
    Signal::SIGWINCH,
];

/// First thing a child does: default signal actions (so SIGTERM ends a worker and
/// the supervisor's handlers, which write to the supervisor's pipe, never run in
/// it), and SIGTERM when the supervisor dies, so no worker outlives it.
///
/// SIGUSR1 is the exception: the worker installs its own action for it through
/// signal-hook, whose handler is already installed in this process (inherited);
/// resetting it here would leave signal-hook believing it is installed while the
/// default action (terminate) applies. The supervisor's actions on it are removed
/// by unregistering `inherited` (its ids), so until the worker adds its own, a
/// SIGUSR1 does nothing.
pub fn init_child(supervisor: Pid, inherited: &[signal_hook::SigId]) {
    for id in inherited {
        signal_hook::low_level::unregister(*id);
    }
    for s in SUPERVISOR_SIGNALS {
        if s == Signal::SIGUSR1 {
            continue;
        }
        // SIGINT from a terminal reaches the whole process group; stopping is the
        // supervisor's decision, so workers ignore it.
        let action = if s == Signal::SIGINT {
            SigHandler::SigIgn
        } else {
            SigHandler::SigDfl
        };
        // SAFETY: installing SIG_DFL or SIG_IGN runs no handler code; the child is single-threaded.
        let _ = unsafe { signal(s, action) };
    }
    let _ = nix::sys::prctl::set_pdeathsig(Some(Signal::SIGTERM));
    // The supervisor may have died between fork and prctl: then nobody would tell us.
    if nix::unistd::getppid() != supervisor {
        std::process::exit(0);
    }
}

/// Detaches the calling process from its terminal: a new session, a second fork
/// (so it can never reacquire a terminal; the intermediate process exits), the
/// root directory as working directory, stdin from /dev/null, stdout and stderr to
/// `stderr_log`. Returns in the final daemon process only.
pub fn detach(stderr_log: &std::path::Path) -> io::Result<()> {
    nix::unistd::setsid().map_err(io::Error::from)?;
    match fork()? {
        Forked::Parent(_) => std::process::exit(0),
        Forked::Child => {}
    }
    std::env::set_current_dir("/")?;
    let null = std::fs::File::open("/dev/null")?;
    let err = super::control::stderr_file(stderr_log)?;
    nix::unistd::dup2_stdin(&null).map_err(io::Error::from)?;
    nix::unistd::dup2_stdout(&err).map_err(io::Error::from)?;
    nix::unistd::dup2_stderr(&err).map_err(io::Error::from)?;
    Ok(())
}
