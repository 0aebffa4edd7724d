//! slotgate-top against a running slotgate: the tables, `--json`, the
//! scoreboard path form, and its error messages; the live view (piped, with
//! `--interval`); the admin commands (`set`, `disable`, `enable`, `drain`)
//! writing the scoreboard, seen by every worker on the next request.

mod common;

use common::*;
use nix::poll::{poll, PollFd, PollFlags};
use nix::sys::signal::Signal;
use nix::sys::termios::{tcgetattr, LocalFlags};
use std::fs::File;
use std::process::{Command, Stdio};
use std::time::Duration;

const TOP_TIMEOUT: Duration = Duration::from_secs(15);

fn running(a: &Origin) -> Slotgate {
    Slotgate::start(&render(
        "Listen 127.0.0.1:0\nStartServers 2\nProxyPass /a/ http://{a}/\n",
        &[a],
    ))
}

fn top(args: &[&str], dir: &TempDir) -> RunOutput {
    run_command(slotgate_top_exe(), args, dir, TOP_TIMEOUT)
}

#[test]
fn top_prints_the_process_and_member_tables() {
    let a = Origin::start("a");
    let sg = running(&a);
    let pids = sg.wait_workers(2, Duration::from_secs(10));
    assert_eq!(http_get(sg.port(), "/a/x", &[]).status, 200);
    let dir = TempDir::new();
    let out = top(&["-f", sg.conf_path().to_str().unwrap()], &dir);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let text = &out.stdout;
    assert!(
        text.contains(&format!("supervisor pid {}", sg.pid())),
        "{text}"
    );
    assert!(text.contains("running"), "{text}");
    assert!(text.contains(&sg.port().to_string()), "{text}");
    for pid in pids {
        assert!(
            text.contains(&pid.to_string()),
            "worker {pid} missing:\n{text}"
        );
    }
    assert!(
        text.contains(&a.addr()),
        "member {} missing:\n{text}",
        a.addr()
    );
}

#[test]
fn top_json_has_processes_and_members() {
    let a = Origin::start("a");
    let sg = running(&a);
    let mut pids = sg.wait_workers(2, Duration::from_secs(10));
    assert_eq!(http_get(sg.port(), "/a/x", &[]).status, 200);
    let dir = TempDir::new();
    let out = top(&["--json", "-f", sg.conf_path().to_str().unwrap()], &dir);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", out.stdout));
    assert_eq!(v["phase"], "running", "{v}");
    assert_eq!(v["supervisor_pid"], sg.pid(), "{v}");
    // server-status's schema: every process slot, empty ones with pid 0.
    let mut listed: Vec<i32> = v["process_slots"]
        .as_array()
        .expect("process_slots array")
        .iter()
        .map(|p| p["pid"].as_i64().unwrap() as i32)
        .filter(|&pid| pid != 0)
        .collect();
    listed.sort();
    pids.sort();
    assert_eq!(listed, pids, "{v}");
    let members = all_members(&v);
    assert!(
        members
            .iter()
            .any(|m| m["url"].as_str().is_some_and(|u| u.contains(&a.addr()))),
        "{v}"
    );
}

#[test]
fn top_reads_the_scoreboard_by_path() {
    let a = Origin::start("a");
    let sg = running(&a);
    let dir = TempDir::new();
    let path = sg.scoreboard_path().to_str().unwrap().to_string();
    for args in [vec![path.as_str()], vec!["--scoreboard", path.as_str()]] {
        let out = top(&args, &dir);
        assert_eq!(out.code(), Some(0), "{args:?}: {out:?}");
        assert!(
            out.stdout.contains(&format!("supervisor pid {}", sg.pid())),
            "{out:?}"
        );
    }
}

#[test]
fn top_names_a_missing_scoreboard() {
    let dir = TempDir::new();
    let missing = dir.path().join("no.scoreboard");
    let out = top(&[missing.to_str().unwrap()], &dir);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("cannot open scoreboard {}", missing.display())),
        "{out:?}"
    );
}

#[test]
fn top_refuses_a_file_that_is_not_a_scoreboard() {
    let dir = TempDir::new();
    let junk = dir.write("junk.scoreboard", &"x".repeat(8192));
    let out = top(&[junk.to_str().unwrap()], &dir);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.stderr.contains(junk.to_str().unwrap()), "{out:?}");
}

#[test]
fn top_reports_configuration_errors_with_file_and_line() {
    let dir = TempDir::new();
    let conf = dir.write("bad.conf", "Listen 127.0.0.1:0\nWhatIsThis 1\n");
    let out = top(&["-f", conf.to_str().unwrap()], &dir);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(
        out.stderr.contains(&format!("{}:2:", conf.display())),
        "{out:?}"
    );
}

/// Members a and b of balancer://c1 behind `/`, on `servers` workers.
fn balanced(a: &Origin, b: &Origin, servers: usize) -> Slotgate {
    let sg = Slotgate::start(&render(
        &format!(
            "Listen 127.0.0.1:0\nStartServers {servers}\nServerName test.local\n\
             <Proxy balancer://c1>\n    BalancerMember http://{{a}}\n    \
             BalancerMember http://{{b}}\n</Proxy>\nProxyPass / balancer://c1/\n"
        ),
        &[a, b],
    ));
    sg.wait_workers(servers, Duration::from_secs(10));
    sg
}

/// `slotgate-top -f CONF ARGS…` against `sg`.
fn top_conf(sg: &Slotgate, args: &[&str], dir: &TempDir) -> RunOutput {
    let conf = sg.conf_path().to_str().unwrap().to_string();
    let mut all = vec!["-f", conf.as_str()];
    all.extend_from_slice(args);
    top(&all, dir)
}

/// Every member of a `--json` object (server-status's schema): the
/// balancers' members, then the standalone ones.
fn all_members(v: &serde_json::Value) -> Vec<serde_json::Value> {
    let balancers = v["balancers"].as_array().expect("balancers array");
    let standalone = v["standalone_members"]
        .as_array()
        .expect("standalone_members array");
    balancers
        .iter()
        .flat_map(|b| b["members"].as_array().expect("members array").clone())
        .chain(standalone.iter().cloned())
        .collect()
}

/// The `--json` member entry whose URL contains `addr`.
fn member_json(sg: &Slotgate, addr: &str, dir: &TempDir) -> serde_json::Value {
    let out = top_conf(sg, &["--json"], dir);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    all_members(&v)
        .into_iter()
        .find(|m| m["url"].as_str().is_some_and(|u| u.contains(addr)))
        .unwrap_or_else(|| panic!("no member {addr} in {v}"))
        .clone()
}

/// Sends `n` GETs on fresh connections (so they spread over the workers);
/// returns how many reached origins a and b, counted at the origins.
fn send_and_count(sg: &Slotgate, a: &Origin, b: &Origin, n: usize) -> (usize, usize) {
    let (a0, b0) = (a.requests(), b.requests());
    for i in 0..n {
        let r = http_get(sg.port(), "/x", &[]);
        assert_eq!(r.status, 200, "request {i}: {}", r.summary());
    }
    (a.requests() - a0, b.requests() - b0)
}

#[test]
fn top_once_prints_balancer_and_member_fields() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = balanced(&a, &b, 2);
    assert_eq!(http_get(sg.port(), "/x", &[]).status, 200);
    let dir = TempDir::new();
    let out = top_conf(&sg, &["--once"], &dir);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let text = &out.stdout;
    assert!(!text.contains('\x1b'), "no escapes in --once: {text:?}");
    for field in [
        "phase running",
        "generation",
        "uptime",
        "balancer://c1",
        "byrequests",
        "factor",
        "status",
        "elected",
        "busy",
        "errors",
        "Init Ok",
        &a.addr(),
        &b.addr(),
    ] {
        assert!(text.contains(field), "'{field}' missing:\n{text}");
    }
    // One table row per member, each naming its balancer.
    let rows = text
        .lines()
        .filter(|l| l.contains("balancer://c1") && l.contains("http://"))
        .count();
    assert_eq!(rows, 2, "{text}");
}

#[test]
fn top_set_changes_member_and_balancer_settings_in_the_scoreboard() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = balanced(&a, &b, 2);
    let dir = TempDir::new();
    let member = format!("balancer://c1/http://{}", a.addr());

    let out = top_conf(&sg, &["set", &member, "loadfactor=3"], &dir);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stdout.contains("loadfactor 1 → 3"), "{out:?}");
    let sb = sg.scoreboard();
    let slot = sb
        .members()
        .iter()
        .find(|m| m.in_use() && m.url.get().contains(&a.addr()))
        .expect("member a");
    assert_eq!(slot.lbfactor(), 300);
    assert_eq!(member_json(&sg, &a.addr(), &dir)["lbfactor"], 3.0);

    let out = top_conf(
        &sg,
        &[
            "set",
            &member,
            "lbset=1",
            "route=r1",
            "redirect=r2",
            "status=+H",
        ],
        &dir,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    for line in [
        "lbset 0 → 1",
        "route (none) → r1",
        "redirect (none) → r2",
        "Stby",
    ] {
        assert!(out.stdout.contains(line), "'{line}' missing: {out:?}");
    }
    let m = member_json(&sg, &a.addr(), &dir);
    assert_eq!(m["lbset"], 1, "{m}");
    assert_eq!(m["route"], "r1", "{m}");
    assert_eq!(m["redirect"], "r2", "{m}");
    assert!(m["status_flags"].as_str().unwrap().contains('H'), "{m}");

    // The same member given as a separate word; status back with -H.
    let out = top_conf(
        &sg,
        &[
            "set",
            "balancer://c1",
            &format!("http://{}", a.addr()),
            "status=-H",
        ],
        &dir,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    let m = member_json(&sg, &a.addr(), &dir);
    assert!(!m["status_flags"].as_str().unwrap().contains('H'), "{m}");

    let out = top_conf(
        &sg,
        &[
            "set",
            "balancer://c1",
            "lbmethod=bybusyness",
            "timeout=5",
            "maxattempts=2",
        ],
        &dir,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    for line in [
        "lbmethod byrequests → bybusyness",
        "timeout 0s → 5s",
        "maxattempts",
    ] {
        assert!(out.stdout.contains(line), "'{line}' missing: {out:?}");
    }
    let out = top_conf(&sg, &["--json"], &dir);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let bal = &v["balancers"][0];
    assert_eq!(bal["lbmethod"], "bybusyness", "{v}");
    assert_eq!(bal["timeout_ms"], 5000, "{v}");
    assert_eq!(bal["maxattempts"], 2, "{v}");

    // Through the scoreboard path instead of the configuration.
    let path = sg.scoreboard_path().to_str().unwrap().to_string();
    let out = top(
        &["--scoreboard", &path, "set", &member, "loadfactor=1.5"],
        &dir,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stdout.contains("loadfactor 3 → 1.5"), "{out:?}");
    // Still serving.
    assert_eq!(http_get(sg.port(), "/x", &[]).status, 200);
}

#[test]
fn top_admin_errors_are_clear_and_change_nothing() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = balanced(&a, &b, 1);
    let dir = TempDir::new();

    let out = top_conf(
        &sg,
        &["disable", "balancer://nope", "http://127.0.0.1:1"],
        &dir,
    );
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(
        out.stderr.contains("no balancer named balancer://nope"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains("balancer://c1"),
        "lists the known ones: {out:?}"
    );

    let out = top_conf(
        &sg,
        &["disable", "balancer://c1", "http://127.0.0.1:1"],
        &dir,
    );
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(
        out.stderr.contains("no member http://127.0.0.1:1"),
        "{out:?}"
    );
    assert!(out.stderr.contains(&a.addr()), "lists the members: {out:?}");

    // A bad value anywhere: nothing is applied (loadfactor stays 1).
    let member = format!("balancer://c1/http://{}", a.addr());
    let out = top_conf(&sg, &["set", &member, "loadfactor=3", "lbset=500"], &dir);
    assert_eq!(out.code(), Some(2), "{out:?}");
    assert!(out.stderr.contains("lbset must be 0 to 99"), "{out:?}");
    assert_eq!(member_json(&sg, &a.addr(), &dir)["lbfactor"], 1.0);

    let out = top_conf(&sg, &["set", &member, "weight=3"], &dir);
    assert_eq!(out.code(), Some(2), "{out:?}");
    assert!(
        out.stderr.contains("unknown member setting 'weight'"),
        "{out:?}"
    );
}

#[test]
fn top_disable_reaches_all_4_workers_and_enable_brings_the_member_back() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = balanced(&a, &b, 4);
    let dir = TempDir::new();
    let (to_a, to_b) = send_and_count(&sg, &a, &b, 20);
    assert!(
        to_a > 0 && to_b > 0,
        "both serve at first: a {to_a}, b {to_b}"
    );

    let out = top_conf(
        &sg,
        &["disable", "balancer://c1", &format!("http://{}", a.addr())],
        &dir,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stdout.contains("status Init Ok → Init Dis"), "{out:?}");
    let (to_a, to_b) = send_and_count(&sg, &a, &b, 100);
    assert_eq!(
        (to_a, to_b),
        (0, 100),
        "after disable\n{}",
        sg.process_table()
    );
    // The 100 requests were spread over the workers.
    let out = top_conf(&sg, &["--json"], &dir);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let serving = v["process_slots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["requests"].as_u64().unwrap_or(0) > 0)
        .count();
    assert!(serving >= 2, "requests spread over the workers: {v}");

    let out = top_conf(
        &sg,
        &["enable", &format!("balancer://c1/http://{}", a.addr())],
        &dir,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stdout.contains("status Init Dis → Init Ok"), "{out:?}");
    let (to_a, to_b) = send_and_count(&sg, &a, &b, 20);
    assert!(to_a > 0 && to_b > 0, "both serve again: a {to_a}, b {to_b}");

    // drain without sticky sessions: no new request goes to a.
    let out = top_conf(
        &sg,
        &["drain", "balancer://c1", &format!("http://{}", a.addr())],
        &dir,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stdout.contains("Drn"), "{out:?}");
    let (to_a, to_b) = send_and_count(&sg, &a, &b, 40);
    assert_eq!((to_a, to_b), (0, 40), "while draining");
}

#[test]
fn top_live_view_refreshes_when_piped_and_stops_on_sigterm() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = balanced(&a, &b, 2);
    let dir = TempDir::new();
    let out_path = dir.path().join("live.stdout");
    let err_path = dir.path().join("live.stderr");
    let child = Command::new(slotgate_top_exe())
        .args(["-f", sg.conf_path().to_str().unwrap(), "--interval", "0.5"])
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .expect("starting slotgate-top");
    let mut top = ChildGuard::new(child);
    // Traffic while it watches, so a rate shows, until it has drawn three
    // frames (a rate needs two; the last one is read below).
    let frames = || {
        std::fs::read_to_string(&out_path)
            .unwrap_or_default()
            .matches("phase running")
            .count()
    };
    wait_for(
        "three frames from slotgate-top under traffic",
        Duration::from_secs(10),
        || {
            assert_eq!(http_get(sg.port(), "/x", &[]).status, 200);
            (frames() >= 3).then_some(())
        },
        || std::fs::read_to_string(&err_path).unwrap_or_default(),
    );
    assert!(
        top.wait_timeout(Duration::ZERO).is_none(),
        "still running after three frames: {}",
        std::fs::read_to_string(&err_path).unwrap_or_default()
    );
    top.signal(Signal::SIGTERM);
    let status = top
        .wait_timeout(Duration::from_secs(5))
        .expect("slotgate-top stops on SIGTERM");
    let text = std::fs::read_to_string(&out_path).unwrap();
    let stderr = std::fs::read_to_string(&err_path).unwrap();
    assert!(status.success(), "{status:?}\n{stderr}");
    let frames = text.matches("phase running").count();
    assert!(frames >= 2, "{frames} frames:\n{text}\n{stderr}");
    assert!(!text.contains('\x1b'), "no escapes when piped: {text:?}");
    assert!(text.contains("req/s"), "{text}");
    // From the second frame on, the members have a rate; with traffic to
    // both, some rate is above zero.
    let last = text.rsplit("slotgate-top ").next().unwrap();
    let rated = last
        .lines()
        .filter(|l| l.contains("balancer://c1") && l.contains("http://"))
        .filter_map(|l| l.split_whitespace().nth(2)?.parse::<f64>().ok())
        .filter(|r| *r > 0.0)
        .count();
    assert!(
        rated > 0,
        "no member rate above 0 in the last frame:\n{last}"
    );

    // --json with --interval: one object per line.
    let out_path = dir.path().join("live.json");
    let child = Command::new(slotgate_top_exe())
        .args([
            "--scoreboard",
            sg.scoreboard_path().to_str().unwrap(),
            "--json",
            "--interval",
            "0.2",
        ])
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting slotgate-top");
    let mut top = ChildGuard::new(child);
    wait_for(
        "two JSON lines",
        Duration::from_secs(5),
        || {
            let text = std::fs::read_to_string(&out_path).ok()?;
            (text.lines().count() >= 2).then_some(())
        },
        || std::fs::read_to_string(&out_path).unwrap_or_default(),
    );
    top.signal(Signal::SIGTERM);
    assert!(top.wait_timeout(Duration::from_secs(5)).is_some());
    let text = std::fs::read_to_string(&out_path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert!(all_members(&lines[0])[0]["requests_per_sec"].is_null());
    assert!(all_members(&lines[1])[0]["requests_per_sec"].is_number());
}

#[test]
fn top_set_is_saved_when_balancer_persist_is_on() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = Slotgate::start(&render(
        "Listen 127.0.0.1:0\nStartServers 1\nServerName test.local\nBalancerPersist On\n\
         <Proxy balancer://c1>\n    BalancerMember http://{a}\n    BalancerMember http://{b}\n\
         </Proxy>\nProxyPass / balancer://c1/\n",
        &[&a, &b],
    ));
    let dir = TempDir::new();
    let persist = std::path::PathBuf::from(format!("{}.persist", sg.scoreboard_path().display()));
    let member = format!("balancer://c1/http://{}", a.addr());
    let out = top_conf(&sg, &["set", &member, "loadfactor=7", "status=+D"], &dir);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(
        out.stdout.contains(&format!(
            "saved to {} (BalancerPersist On)",
            persist.display()
        )),
        "{out:?}"
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&persist).expect("persist file")).unwrap();
    let m = saved["balancers"][0]["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["url"].as_str().is_some_and(|u| u.contains(&a.addr())))
        .unwrap_or_else(|| panic!("member a in {saved}"))
        .clone();
    assert_eq!(m["lbfactor"], 700, "{saved}");
    assert!(m["flags"].as_str().unwrap().contains('D'), "{saved}");
}

#[test]
fn top_set_saves_nothing_without_balancer_persist() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = balanced(&a, &b, 1);
    let dir = TempDir::new();
    let member = format!("balancer://c1/http://{}", a.addr());
    let out = top_conf(&sg, &["set", &member, "loadfactor=2"], &dir);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(!out.stdout.contains("saved"), "{out:?}");
    let persist = format!("{}.persist", sg.scoreboard_path().display());
    assert!(!std::path::Path::new(&persist).exists());
}

/// A pseudo-terminal: (master, slave) with the slave sized `cols`×`rows`.
fn open_pty(cols: u16, rows: u16) -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
    let ws = nix::pty::Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    let pty = nix::pty::openpty(&ws, None).unwrap_or_else(|e| panic!("openpty: {e}"));
    (pty.master, pty.slave)
}

fn lflag(fd: &std::os::fd::OwnedFd) -> LocalFlags {
    tcgetattr(fd)
        .unwrap_or_else(|e| panic!("tcgetattr: {e}"))
        .local_flags
}

#[test]
fn top_live_view_on_a_terminal_draws_full_screen_and_quits_on_q() {
    use std::io::{Read, Write};
    use std::os::fd::AsFd;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};

    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = balanced(&a, &b, 2);
    let (master, slave) = open_pty(160, 50);
    let before = lflag(&slave);
    assert!(before.contains(LocalFlags::ECHO), "a fresh pty echoes");
    let child = Command::new(slotgate_top_exe())
        .args(["-f", sg.conf_path().to_str().unwrap(), "--interval", "0.3"])
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave.try_clone().unwrap()))
        .spawn()
        .expect("starting slotgate-top");
    let mut top = ChildGuard::new(child);

    // Read the screen in the background (a full pty buffer would block it).
    let screen = Arc::new(Mutex::new(Vec::<u8>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut reader = std::fs::File::from(master.try_clone().unwrap());
    let reader_thread = {
        let (screen, stop) = (screen.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !stop.load(Ordering::Relaxed) {
                let mut fds = [PollFd::new(reader.as_fd(), PollFlags::POLLIN)];
                if !matches!(poll(&mut fds, 50u8), Ok(n) if n > 0) {
                    continue;
                }
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => screen.lock().unwrap().extend_from_slice(&buf[..n]),
                }
            }
        })
    };
    let text = || String::from_utf8_lossy(&screen.lock().unwrap()).into_owned();
    wait_for(
        "two frames on the terminal",
        Duration::from_secs(5),
        || (text().matches("phase running").count() >= 2).then_some(()),
        text,
    );
    // Keys are read unbuffered without echo while it runs.
    assert!(!lflag(&slave).intersects(LocalFlags::ECHO | LocalFlags::ICANON));
    let mut keys = std::fs::File::from(master.try_clone().unwrap());
    keys.write_all(b"q").unwrap();
    let status = top
        .wait_timeout(Duration::from_secs(5))
        .unwrap_or_else(|| panic!("q did not quit:\n{}", text()));
    assert!(status.success(), "{status:?}");
    // Its last words (cursor shown, alternate screen left) reach the reader.
    wait_for(
        "the terminal restored on the screen",
        Duration::from_secs(5),
        || text().trim_end().ends_with("\x1b[?1049l").then_some(()),
        text,
    );
    stop.store(true, Ordering::Relaxed);
    reader_thread.join().unwrap();
    let shown = text();
    assert!(
        shown.starts_with("\x1b[?1049h"),
        "enters the alternate screen: {shown:?}"
    );
    assert!(shown.contains("\x1b[H"), "homes the cursor");
    assert!(
        shown.contains(&a.addr()) && shown.contains("req/s"),
        "{shown}"
    );
    assert!(
        shown.trim_end().ends_with("\x1b[?25h\x1b[?1049l"),
        "shows the cursor and leaves the alternate screen: {shown:?}"
    );
    assert_eq!(lflag(&slave), before, "terminal modes restored");
}
