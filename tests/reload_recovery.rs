//! A refused reload never poisons the next one (issue #14, point 1): a
//! restart (HUP) or graceful restart (USR1) whose configuration cannot be put
//! in place (a port in use, a syntax error, a bad certificate, a log that
//! cannot be opened) is refused, and leaves the running generation, its
//! workers and the listener set exactly as they were; restoring the file and
//! signalling again succeeds, on the same socket.
//!
//! Before the fix, the refused bind had already taken the running listeners
//! out of the supervisor (and closed them there), so the next restart bound
//! the server's own port anew and was refused with `could not bind to address
//! …: Address already in use` until a full stop and start.

mod common;

use common::daemon::*;
use common::*;
use nix::sys::signal::Signal;
use scoreboard::{Phase, Scoreboard};
use std::net::TcpStream;
use std::path::Path;

fn get_ok(port: u16, path: &str) -> Response {
    let r = http_get(port, path, &[]);
    assert_eq!(r.status, 200, "GET {path}: {}", r.summary());
    r
}

/// (generation, refused reloads, last refusal, phase, ports) from the header.
fn reload_state(path: &Path) -> (u64, u64, String, Option<Phase>, Vec<u16>) {
    let sb = Scoreboard::attach_readonly(path).expect("scoreboard readable");
    let h = sb.header();
    (
        h.generation(),
        h.reloads_refused(),
        h.reload_refusal(),
        h.phase(),
        h.ports(),
    )
}

/// Waits until the header counts `n` refused reloads with the phase back to
/// running; returns the published reason. Panics if a new generation starts
/// instead.
fn wait_refused(sg: &Slotgate, n: u64, generation: u64) -> String {
    let path = sg.scoreboard_path();
    wait_for(
        &format!("refused reload number {n}"),
        SIGNAL_WAIT,
        || {
            let (g, refused, why, phase, _) = reload_state(path);
            assert_eq!(g, generation, "the refused reload started a generation");
            (refused == n && phase == Some(Phase::Running)).then_some(why)
        },
        || format!("{:?}\n{}", reload_state(path), sg.logs()),
    )
}

/// Sorted worker pids.
fn pids(sg: &Slotgate) -> Vec<i32> {
    let mut p = sg.worker_pids();
    p.sort_unstable();
    p
}

/// A server on the fixed port `own` in front of origin `a`, two workers.
fn conf(own: &PortReservation, a: &Origin) -> String {
    render(
        &format!(
            "Listen {}\nStartServers 2\nServerName test.local\nProxyPass / http://{{a}}/\n",
            own.addr()
        ),
        &[a],
    )
}

/// The sequence: start on a Listen port; `first` with an added Listen
/// on a port in use → refused; restore the file; `first` again must start the
/// next generation on the same port, and so must `second`.
fn refused_bind_then_recover(first: Signal, second: Signal) {
    let a = Origin::start("a");
    let own = PortReservation::new();
    let busy = PortReservation::new();
    let _in_use = busy.listener();
    let sg = Slotgate::start(&conf(&own, &a));
    let path = sg.scoreboard_path();
    assert_eq!(sg.ports(), [own.port()]);
    get_ok(own.port(), "/before");
    let (g0, refused0, _, _, _) = reload_state(path);
    let workers = pids(&sg);

    let listen = format!("Listen {}\n", own.addr());
    edit_conf(
        sg.conf_path(),
        &listen,
        &format!("{listen}Listen {}\n", busy.addr()),
    );
    sg.signal(first);
    let why = wait_refused(&sg, refused0 + 1, g0);
    assert!(
        why.contains(&format!("could not bind to address {}", busy.addr()))
            && why.contains("Address already in use"),
        "{why}"
    );
    let (g, _, _, _, ports) = reload_state(path);
    assert_eq!((g, ports), (g0, vec![own.port()]), "{}", sg.logs());
    assert_eq!(pids(&sg), workers, "the running workers go on");
    get_ok(own.port(), "/after-refusal");

    // Restored: the same signal succeeds, on the very same port.
    edit_conf(
        sg.conf_path(),
        &format!("{listen}Listen {}\n", busy.addr()),
        &listen,
    );
    for (n, signal) in [first, second].into_iter().enumerate() {
        let old = sg.worker_pids();
        let next = g0 + n as u64 + 1;
        sg.signal(signal);
        wait_generation(path, next, SIGNAL_WAIT);
        wait_older_generations_gone(path, next, &old, SIGNAL_WAIT);
        let (_, refused, _, _, ports) = reload_state(path);
        assert_eq!(
            refused,
            refused0 + 1,
            "{signal} after the restore was refused too:\n{}",
            sg.logs()
        );
        assert_eq!(ports, vec![own.port()]);
        get_ok(own.port(), &format!("/after-{signal}"));
    }
    let log = sg.error_log();
    assert_eq!(
        log.matches(" refused: ").count(),
        1,
        "one refusal only:\n{log}"
    );
}

#[test]
fn refused_graceful_restart_does_not_poison_the_next_graceful_restart_or_restart() {
    refused_bind_then_recover(Signal::SIGUSR1, Signal::SIGHUP);
}

#[test]
fn refused_restart_does_not_poison_the_next_restart_or_graceful_restart() {
    refused_bind_then_recover(Signal::SIGHUP, Signal::SIGUSR1);
}

#[test]
fn every_kind_of_refusal_leaves_generation_workers_and_listeners_as_they_were() {
    let a = Origin::start("a");
    let own = PortReservation::new();
    let busy = PortReservation::new();
    let _in_use = busy.listener();
    // Free: bound by a refused reload on its way, which must close it again.
    let fresh = PortReservation::new();
    let sg = Slotgate::start(&conf(&own, &a));
    let dir = sg.dir().to_path_buf();
    std::fs::write(dir.join("bad.pem"), "not a certificate\n").unwrap();
    let error_log = format!("ErrorLog \"{}\"", dir.join("error.log").display());
    let listen = format!("Listen {}\n", own.addr());
    let kinds: Vec<(&str, String, String, &str)> = vec![
        (
            "a second new Listen in use after a first one bound",
            listen.clone(),
            format!("{listen}Listen {}\nListen {}\n", fresh.addr(), busy.addr()),
            "Address already in use",
        ),
        (
            "a syntax error",
            listen.clone(),
            format!("{listen}NoSuchDirective 1\n"),
            "NoSuchDirective",
        ),
        (
            "a certificate that does not load",
            listen.clone(),
            format!(
                "{listen}<VirtualHost *>\nServerName tls.test\nSSLEngine On\n\
                 SSLCertificateFile \"{0}\"\nSSLCertificateKeyFile \"{0}\"\n</VirtualHost>\n",
                dir.join("bad.pem").display()
            ),
            "SSLCertificateFile",
        ),
        (
            "an ErrorLog that cannot be opened",
            error_log.clone(),
            format!(
                "ErrorLog \"{}\"",
                dir.join("missing").join("error.log").display()
            ),
            // Found by the check a start runs too (`-t`), before anything opens.
            "ErrorLog",
        ),
        (
            "a CustomLog that cannot be opened",
            listen.clone(),
            format!(
                "{listen}CustomLog \"{}\" common\n",
                dir.join("missing").join("access.log").display()
            ),
            "access.log",
        ),
    ];
    let path = sg.scoreboard_path();
    let (g0, mut refused, _, _, _) = reload_state(path);
    let workers = pids(&sg);
    for (signal, (kind, from, to, says)) in [Signal::SIGUSR1, Signal::SIGHUP]
        .into_iter()
        .cycle()
        .zip(&kinds)
    {
        edit_conf(sg.conf_path(), from, to);
        sg.signal(signal);
        refused += 1;
        let why = wait_refused(&sg, refused, g0);
        assert!(why.contains(says), "{kind}: {why}");
        let (g, _, _, _, ports) = reload_state(path);
        assert_eq!((g, ports), (g0, vec![own.port()]), "{kind}");
        assert_eq!(pids(&sg), workers, "{kind}: the running workers go on");
        assert!(
            TcpStream::connect(fresh.socket_addr()).is_err(),
            "{kind}: a listener bound by the refused reload stays open"
        );
        get_ok(own.port(), "/x");
        assert!(
            sg.error_log().contains(&why),
            "{kind}: the refusal is logged in the running ErrorLog:\n{}",
            sg.logs()
        );
        edit_conf(sg.conf_path(), to, from);
    }
    let old = sg.worker_pids();
    sg.signal(Signal::SIGUSR1);
    wait_generation(path, g0 + 1, SIGNAL_WAIT);
    wait_older_generations_gone(path, g0 + 1, &old, SIGNAL_WAIT);
    assert_eq!(reload_state(path).4, vec![own.port()]);
    get_ok(own.port(), "/restored");
}
