//! `-k graceful` and `-k restart` report the outcome (issue #14, point 3):
//! they wait until the scoreboard shows the new generation running (exit 0,
//! nothing on stdout or stderr, so logrotate's postrotate and cron stay
//! silent), or the refusal the supervisor published (exit 1, the reason on
//! stderr). Before, they printed "sent SIGUSR1 to slotgate (pid N)" and exited
//! 0 while the error log said "refused".
//!
//! httpd's `apachectl graceful` runs a configuration test first and reports a
//! syntax error itself; slotgate's `-k` does the same (it loads the file
//! before signalling), so the refusals left to the daemon are the ones only it
//! can see, such as a port already in use: that is what the tests provoke.

mod common;

use common::daemon::*;
use common::*;
use scoreboard::Phase;

const TWO_WORKERS: &str =
    "Listen 127.0.0.1:0\nStartServers 2\nServerName test.local\nProxyPass / http://{a}/\n";

fn get_ok(port: u16, path: &str) {
    let r = http_get(port, path, &[]);
    assert_eq!(r.status, 200, "GET {path}: {}", r.summary());
}

#[test]
fn k_graceful_and_k_restart_are_silent_and_return_once_the_new_generation_runs() {
    let a = Origin::start("a");
    let d = Daemon::start(&render(TWO_WORKERS, &[&a]));
    let path = d.scoreboard_path();
    let pid = d.pid();
    let (g0, _, _, _) = header_facts(path).unwrap();
    for (n, cmd) in ["graceful", "restart", "graceful"].into_iter().enumerate() {
        let out = d.control(cmd);
        assert_eq!(out.code(), Some(0), "-k {cmd}: {out:?}\n{}", d.logs());
        assert_eq!(
            (out.stdout.as_str(), out.stderr.as_str()),
            ("", ""),
            "-k {cmd} is quiet on success"
        );
        // Already true when the command returns: no wait here.
        let (g, _, phase, sup) = header_facts(path).unwrap();
        assert_eq!(
            (g, phase, sup),
            (g0 + n as u64 + 1, Some(Phase::Running), pid),
            "after -k {cmd}"
        );
        get_ok(d.port(), "/x");
    }
    assert_eq!(d.scoreboard().header().reloads_refused(), 0);
}

#[test]
fn k_graceful_and_k_restart_exit_one_with_the_reason_when_refused() {
    let a = Origin::start("a");
    let busy = PortReservation::new();
    let _in_use = busy.listener();
    let d = Daemon::start(&render(TWO_WORKERS, &[&a]));
    let path = d.scoreboard_path();
    let (g0, _, _, _) = header_facts(path).unwrap();
    let port = d.port();
    edit_conf(
        d.conf_path(),
        "Listen 127.0.0.1:0\n",
        &format!("Listen 127.0.0.1:0\nListen {}\n", busy.addr()),
    );
    let text = std::fs::read_to_string(d.conf_path()).unwrap();
    let line = 1 + text
        .lines()
        .position(|l| l == format!("Listen {}", busy.addr()))
        .unwrap();
    for (n, (cmd, kind)) in [("graceful", "graceful restart"), ("restart", "restart")]
        .into_iter()
        .enumerate()
    {
        let out = d.control(cmd);
        assert_eq!(out.code(), Some(1), "-k {cmd}: {out:?}\n{}", d.logs());
        assert_eq!(out.stdout, "", "-k {cmd}");
        let want = format!(
            "slotgate: {kind} refused: {}:{line}: could not bind to address {}: \
             Address already in use",
            d.conf_path().display(),
            busy.addr()
        );
        assert!(
            out.stderr.starts_with(&want),
            "-k {cmd}: {:?}\nwanted {want:?}",
            out.stderr
        );
        let sb = d.scoreboard();
        let h = sb.header();
        assert_eq!(h.reloads_refused(), n as u64 + 1);
        assert_eq!((h.generation(), h.phase()), (g0, Some(Phase::Running)));
        assert_eq!(h.ports(), vec![port]);
        get_ok(port, "/still-serving");
    }
    // Fixed: the next one succeeds, silently.
    edit_conf(d.conf_path(), &format!("Listen {}\n", busy.addr()), "");
    let out = d.control("graceful");
    assert_eq!(out.code(), Some(0), "{out:?}\n{}", d.logs());
    assert_eq!((out.stdout.as_str(), out.stderr.as_str()), ("", ""));
    assert_eq!(header_facts(path).unwrap().0, g0 + 1);
}
