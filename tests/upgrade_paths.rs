//! Binary upgrade (USR2) of a daemon started with a relative `-f` (issue #14,
//! point 4). slotgate resolves a relative `-f` against the working directory
//! of the command, once, before the daemon changes its directory to `/`, and
//! the new binary of an upgrade gets that absolute path, the `-D` defines and
//! `-k start`. Before, the new binary got the old argv (`-f good.conf`) and
//! failed in `/` with "could not open configuration file /good.conf".
//!
//! httpd resolves a relative `-f` against ServerRoot instead (the `-d`
//! directory, else its compiled-in root): asked on Debian's apache2 2.4,
//! `apache2 -d /tmp/r14/h -f nothere.conf -t` answers "Could not open
//! configuration file /tmp/r14/h/nothere.conf". slotgate has no `-d`; the
//! README says which directory it uses.

mod common;

use common::daemon::*;
use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use scoreboard::Phase;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Kills, when dropped, every remembered pid still running our binary: the
/// `Daemon` guard finds its processes by the absolute configuration path on
/// their command line, which a daemon started with a relative `-f` lacks.
struct Remembered(std::cell::RefCell<Vec<i32>>);

impl Remembered {
    fn add(&self, pids: &[i32]) {
        let mut all = self.0.borrow_mut();
        for &p in pids {
            if p > 0 && !all.contains(&p) {
                all.push(p);
            }
        }
    }
}

impl Drop for Remembered {
    fn drop(&mut self) {
        let exe = std::fs::canonicalize(slotgate_exe()).ok();
        let ours = |pid: i32| {
            !process_gone(pid)
                && std::fs::read_link(format!("/proc/{pid}/exe"))
                    .ok()
                    .zip(exe.as_ref())
                    .is_some_and(|(a, b)| &a == b)
        };
        let pids = self.0.borrow().clone();
        for &p in &pids {
            if ours(p) {
                let _ = kill(Pid::from_raw(p), Signal::SIGTERM);
            }
        }
        poll_true(Duration::from_secs(5), || !pids.iter().any(|&p| ours(p)));
        for &p in &pids {
            if ours(p) {
                let _ = kill(Pid::from_raw(p), Signal::SIGKILL);
            }
        }
    }
}

/// The arguments of process `pid`.
fn cmdline(pid: i32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// Runs `slotgate args…` in `dir` (bounded), returning (exit code, stderr).
fn slotgate_in(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let err = dir.join("command.stderr");
    let child = Command::new(slotgate_exe())
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .expect("starting slotgate");
    let status = ChildGuard::new(child)
        .wait_timeout(CONTROL_TIMEOUT)
        .unwrap_or_else(|| panic!("slotgate {args:?} did not finish"));
    (
        status.code(),
        std::fs::read_to_string(&err).unwrap_or_default(),
    )
}

#[test]
fn binary_upgrade_of_a_daemon_started_with_a_relative_f_and_defines() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let d = Daemon::new(
        &render(
            "Listen 127.0.0.1:0\nStartServers 1\nServerName test.local\n\
             <IfDefine WITH_B>\nProxyPass /b http://{b}/\n</IfDefine>\n\
             ProxyPass / http://{a}/\n",
            &[&a, &b],
        ),
        DaemonOptions::default(),
    );
    let left = Remembered(Default::default());
    let (code, stderr) = slotgate_in(
        d.dir(),
        &["-k", "start", "-f", "slotgate.conf", "-D", "WITH_B"],
    );
    assert_eq!(code, Some(0), "{stderr}\n{}", d.logs());
    let old = d.pid();
    left.add(&[old]);
    d.wait_running(old, SIGNAL_WAIT);
    left.add(&d.worker_pids());
    let port = d.port();
    assert_eq!(http_get(port, "/b/x", &[]).origin(), "b");

    kill(Pid::from_raw(old), Signal::SIGUSR2).unwrap();
    let new = wait_for(
        "the new binary to run the server",
        SIGNAL_WAIT,
        || {
            let log = d.error_log();
            assert!(
                !log.contains("binary upgrade: the new binary"),
                "the upgrade failed:\n{}",
                d.logs()
            );
            let (_, _, phase, sup) = header_facts(d.scoreboard_path())?;
            (sup != old && sup > 0 && phase == Some(Phase::Running)).then_some(sup)
        },
        || d.logs(),
    );
    left.add(&[new]);
    left.add(&d.worker_pids());
    assert!(
        Daemon::wait_gone(old, SIGNAL_WAIT),
        "the old supervisor stops once the new one runs:\n{}",
        d.logs()
    );
    wait_for(
        "the PidFile to name the new supervisor",
        SIGNAL_WAIT,
        || (d.pid_from_file() == Some(new)).then_some(()),
        || d.logs(),
    );
    let conf = d.conf_path().display().to_string();
    assert_eq!(
        cmdline(new)[1..],
        ["-f", conf.as_str(), "-D", "WITH_B", "-k", "start"],
        "the new binary gets the absolute path, the defines and -k start"
    );
    assert_eq!(d.scoreboard().header().ports(), vec![port], "same listener");
    assert_eq!(http_get(port, "/b/x", &[]).origin(), "b", "-D WITH_B kept");
    assert_eq!(http_get(port, "/x", &[]).origin(), "a");

    // The relative -f of a control command names the same file.
    let (code, stderr) = slotgate_in(d.dir(), &["-k", "graceful", "-f", "slotgate.conf"]);
    assert_eq!(code, Some(0), "{stderr}\n{}", d.logs());
}
