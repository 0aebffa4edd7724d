//! tools/demo.sh, run with the binaries under test (`BIN=`, no build): it
//! prints its URLs only once slotgate runs (the published phase, read with
//! `slotgate-top --json`), so the first request to a printed URL is answered;
//! a busy port is reported, before any URL, and the demo exits 1 having
//! stopped what it started.
//!
//! Before: the demo printed every URL first and then started slotgate, which
//! failed on the busy port after the URLs were on the screen.

mod common;

use common::*;
use nix::sys::signal::Signal;
use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// `tools/demo.sh` with `PORT=port`, stdout and stderr into one file of
/// `dir` (so the order of its lines is kept).
fn demo(port: u16, dir: &TempDir) -> (ChildGuard, std::path::PathBuf) {
    let out = dir.path().join("demo.out");
    let file = File::create(&out).unwrap();
    let bin = Path::new(slotgate_exe()).parent().unwrap();
    let child = Command::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tools/demo.sh"))
        .env("PORT", port.to_string())
        .env("BIN", bin)
        .env("TMPDIR", dir.path())
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        // Its own process group, so the test can stop it as Ctrl-C would.
        .process_group(0)
        .spawn()
        .expect("starting tools/demo.sh");
    (ChildGuard::new(child), out)
}

/// The demo's work directory (`slotgate-demo.*` under `dir`), if any.
fn work_dirs(dir: &TempDir) -> Vec<String> {
    std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("slotgate-demo."))
        .collect()
}

#[test]
fn a_busy_port_is_reported_before_any_url() {
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port();
    let dir = TempDir::new();
    let (mut demo, out) = demo(port, &dir);
    let status = demo.wait_timeout(LIMIT).expect("the demo gives up");
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(status.code(), Some(1), "{text}");
    let error = text
        .find("Address already in use")
        .unwrap_or_else(|| panic!("no bind error in:\n{text}"));
    assert!(
        text.contains(&format!("demo: slotgate did not start on 127.0.0.1:{port}")),
        "{text}"
    );
    // No URL at all, before or after the error.
    assert!(!text[..error].contains("http://"), "{text}");
    assert!(!text.contains("open:"), "{text}");
    // Everything it started is stopped and its directory removed.
    assert_eq!(work_dirs(&dir), Vec::<String>::new(), "{text}");
}

#[test]
fn the_urls_are_printed_once_slotgate_runs() {
    let dir = TempDir::new();
    // PORT=0: a free port, which the demo reads from the scoreboard.
    let (mut demo, out) = demo(0, &dir);
    let text = wait_for(
        "the demo's URLs",
        LIMIT,
        || {
            let text = std::fs::read_to_string(&out).ok()?;
            text.contains("slotgate runs until Ctrl-C").then_some(text)
        },
        || std::fs::read_to_string(&out).unwrap_or_default(),
    );
    let url = text
        .lines()
        .map(str::trim)
        .find(|l| l.ends_with("(origin b)"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no URL of origin b in:\n{text}"));
    let rest = url.strip_prefix("http://127.0.0.1:").expect(url);
    let port: u16 = rest.trim_end_matches("/b/").parse().expect(url);
    assert_ne!(port, 0, "{text}");
    // Printed after the phase running: the first request is served.
    let response = http_get(port, "/b/", &[]);
    assert_eq!(response.status, 200, "{text}");
    assert_eq!(response.header("X-Origin"), Some("b"), "{text}");

    // Ctrl-C (SIGINT to its process group) stops everything it started.
    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(demo.pid()), Signal::SIGINT).unwrap();
    assert!(
        demo.wait_timeout(LIMIT).is_some(),
        "the demo did not stop on Ctrl-C"
    );
    let stopped = poll_true(LIMIT, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
    });
    assert!(stopped, "slotgate still listening on {port}");
    assert_eq!(work_dirs(&dir), Vec::<String>::new());
}
