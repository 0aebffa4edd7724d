//! USR2, the binary upgrade (as nginx's): the executable now at our path is
//! started on the same configuration with our listening sockets; once its
//! scoreboard says it runs, this supervisor stops gracefully.

use std::time::Instant;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use scoreboard::{Phase, Scoreboard};

use super::{Supervisor, UPGRADE_DEADLINE, UPGRADE_ENV};
use crate::process;

impl Supervisor {
    /// USR2: starts the executable now at our path on our configuration (see
    /// `command_line`), handing it the listening sockets (they never close). Once it
    /// runs, this supervisor stops gracefully (see `successor_ready`); if it fails,
    /// this one goes on serving.
    pub(super) fn upgrade(&mut self) {
        if self.successor.is_some() {
            log::warn!("binary upgrade already in progress");
            return;
        }
        let handover = self.listeners.handover();
        // A listener the new binary would not inherit leaves a number in the
        // hand-over that names nothing, or something else, in it: no upgrade.
        if let Err(e) = self.listeners_inheritable(true) {
            log::error!("binary upgrade: {e}; the upgrade is not started");
            if let Err(e) = self.listeners_inheritable(false) {
                log::error!("binary upgrade: {e}");
            }
            return;
        }
        let spawned = std::process::Command::new(&self.exe)
            .args(self.command_line())
            .env(process::LISTEN_FDS_ENV, handover)
            .env(UPGRADE_ENV, "1")
            .spawn();
        if let Err(e) = self.listeners_inheritable(false) {
            log::error!("binary upgrade: {e}");
        }
        match spawned {
            Ok(child) => {
                log::info!(
                    "binary upgrade: started {} as pid {}",
                    self.exe.display(),
                    child.id()
                );
                self.successor = Some((Pid::from_raw(child.id() as i32), Instant::now()));
            }
            Err(e) => log::error!("binary upgrade: starting {}: {e}", self.exe.display()),
        }
    }

    /// The arguments that start the new binary of an upgrade on what this one
    /// runs: the configuration file by its absolute path (made so at start: a
    /// daemon's working directory is `/`), the `-D` defines, and `-k start` for
    /// a daemon. Not our own argv, whose relative `-f` would now name a file in `/`.
    fn command_line(&self) -> Vec<std::ffi::OsString> {
        let mut args: Vec<std::ffi::OsString> =
            vec!["-f".into(), self.options_file.clone().into_os_string()];
        for d in &self.defines {
            args.push("-D".into());
            args.push(d.into());
        }
        if self.daemon {
            args.push("-k".into());
            args.push("start".into());
        }
        args
    }

    /// Lets every listening socket survive an exec (`inherit`), or makes it
    /// close-on-exec again; stops at the first that fails, naming it.
    fn listeners_inheritable(&self, inherit: bool) -> Result<(), String> {
        for l in self.listeners.sockets() {
            process::set_inheritable(std::os::fd::AsFd::as_fd(l), inherit).map_err(|e| {
                let addr = l
                    .local_addr()
                    .map_or_else(|_| "?".to_string(), |a| a.to_string());
                let what = if inherit {
                    "letting it survive the exec"
                } else {
                    "making it close-on-exec again"
                };
                format!("listener {addr}: {what}: {e}")
            })?;
        }
        Ok(())
    }

    /// Whether the new binary of an upgrade runs (its scoreboard says so).
    pub(super) fn successor_ready(&mut self) -> bool {
        let Some((pid, since)) = self.successor else {
            return false;
        };
        if let Ok(sb) = Scoreboard::attach_readonly(&self.gen.config.scoreboard_file) {
            let h = sb.header();
            if h.supervisor_pid() == pid.as_raw() && h.phase() == Some(Phase::Running) {
                log::info!("binary upgrade: pid {pid} runs; stopping this supervisor gracefully");
                return true;
            }
        }
        if since.elapsed() > UPGRADE_DEADLINE {
            log::error!("binary upgrade: pid {pid} did not start in time; killing it");
            let _ = kill(pid, Signal::SIGTERM);
            self.successor = None;
        }
        false
    }
}
