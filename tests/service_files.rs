//! Installing slotgate as a service: README's install section puts the
//! binaries where `conf/slotgate.service` and `conf/logrotate` run them,
//! `systemd-analyze verify` accepts the unit once they are there, and the
//! default scoreboard location works under the unit's `ProtectSystem=full`
//! (ServerRoot `/etc/slotgate` read-only) thanks to `RuntimeDirectory=`.
//!
//! Before: the unit's comment asked the configuration to move the scoreboard;
//! with the default, slotgate could not create `/etc/slotgate/slotgate.scoreboard`
//! under `ProtectSystem=full` and did not start.

mod common;

use common::*;
use scoreboard::{Phase, Scoreboard};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const REPO: &str = env!("CARGO_MANIFEST_DIR");

fn repo_file(name: &str) -> String {
    let path = Path::new(REPO).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The program of each `Exec…=` line of a unit (a leading `-`, `@`, `+`,
/// `!` or `:` prefix removed).
fn exec_programs(unit: &str) -> Vec<String> {
    unit.lines()
        .filter(|l| l.starts_with("Exec"))
        .filter_map(|l| l.split_once('='))
        .filter_map(|(_, command)| command.split_whitespace().next())
        .map(|p| p.trim_start_matches(['-', '@', '+', '!', ':']).to_string())
        .collect()
}

/// The destinations of README's `install … SOURCE DEST` lines (in the
/// "Installing as a service" section), as (source, destination).
fn readme_installs() -> Vec<(String, String)> {
    let readme = repo_file("README.md");
    let section = readme
        .split("### Installing as a service")
        .nth(1)
        .expect("README has an \"Installing as a service\" section");
    section
        .lines()
        .take_while(|l| !l.starts_with("### "))
        .filter(|l| l.starts_with("install ") && !l.contains(" -d "))
        .map(|l| {
            // Words before a trailing comment.
            let words: Vec<&str> = l.split('#').next().unwrap().split_whitespace().collect();
            let n = words.len();
            (words[n - 2].to_string(), words[n - 1].to_string())
        })
        .collect()
}

#[test]
fn readme_installs_the_binaries_the_unit_and_logrotate_run() {
    let installs = readme_installs();
    let installed = |path: &str| installs.iter().any(|(_, dest)| dest == path);
    let unit = repo_file("conf/slotgate.service");
    let programs = exec_programs(&unit);
    assert!(
        programs.iter().any(|p| p.ends_with("/slotgate")),
        "{programs:?}"
    );
    for program in programs.iter().filter(|p| p.contains("slotgate")) {
        assert!(
            installed(program),
            "the unit runs {program}; README installs {installs:?}"
        );
    }
    // The logrotate script's slotgate, and the files in their places.
    let logrotate = repo_file("conf/logrotate");
    for word in logrotate
        .split_whitespace()
        .filter(|w| w.ends_with("/slotgate"))
    {
        assert!(installed(word), "conf/logrotate runs {word}");
    }
    for (source, dest) in [
        (
            "conf/slotgate.service",
            "/etc/systemd/system/slotgate.service",
        ),
        ("conf/logrotate", "/etc/logrotate.d/slotgate"),
        ("conf/slotgate.conf", "/etc/slotgate/slotgate.conf"),
    ] {
        assert!(
            installs.iter().any(|(s, d)| s == source && d == dest),
            "{source} → {dest} in {installs:?}"
        );
    }
    // The unit reads the configuration README installs.
    assert!(unit.contains(" -f /etc/slotgate/slotgate.conf"));
    assert!(unit.contains("RuntimeDirectory=slotgate"));
    assert!(unit.contains("ProtectSystem=full"));
}

#[test]
fn systemd_analyze_verifies_the_installed_unit() {
    let Some(analyze) = require_tool("systemd-analyze", "systemd") else {
        return;
    };
    // An image of the installed system: README's destinations under ROOT,
    // the slotgate binary under test in the unit's binary path.
    let dir = TempDir::new();
    let root = dir.path().join("root");
    let unit = repo_file("conf/slotgate.service");
    let place = |dest: &str, from: &Path| {
        let to = root.join(dest.trim_start_matches('/'));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, &to).unwrap_or_else(|e| panic!("{} → {}: {e}", from.display(), dest));
    };
    for (source, dest) in readme_installs() {
        let from = match source.as_str() {
            "target/release/slotgate" => PathBuf::from(slotgate_exe()),
            "target/release/slotgate-top" => PathBuf::from(slotgate_top_exe()),
            other => Path::new(REPO).join(other),
        };
        place(&dest, &from);
    }
    // The other programs the unit runs (/bin/kill), from this system.
    for program in exec_programs(&unit) {
        if !root.join(program.trim_start_matches('/')).exists() {
            place(&program, Path::new(&program));
        }
    }
    let unit_path = root.join("etc/systemd/system/slotgate.service");
    let verify = |unit_path: &Path| {
        run_command(
            analyze.to_str().unwrap(),
            &[
                "verify",
                &format!("--root={}", root.display()),
                // Only this unit: the image has no sysinit.target & co.
                "--recursive-errors=no",
                "--man=no",
                unit_path.to_str().unwrap(),
            ],
            &dir,
            Duration::from_secs(60),
        )
    };
    let out = verify(&unit_path);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert_eq!(out.stderr.trim(), "", "warnings: {out:?}");

    // The check can fail: a unit whose binary is not installed is refused.
    std::fs::remove_file(root.join("usr/local/sbin/slotgate")).unwrap();
    let out = verify(&unit_path);
    assert_ne!(out.code(), Some(0), "{out:?}");
    assert!(out.stderr.contains("/usr/local/sbin/slotgate"), "{out:?}");
}

/// Starts slotgate on `conf` in a mount namespace where `read_only` is a
/// read-only bind mount (what `ProtectSystem=full` does to /etc), with
/// `RUNTIME_DIRECTORY` set when `runtime` is Some.
fn start_protected(
    conf: &Path,
    read_only: &Path,
    runtime: Option<&Path>,
    dir: &TempDir,
) -> ChildGuard {
    let script = format!(
        "mount --bind '{ro}' '{ro}' && mount -o remount,ro,bind '{ro}' '{ro}' && exec '{exe}' -f '{conf}'",
        ro = read_only.display(),
        exe = slotgate_exe(),
        conf = conf.display(),
    );
    let mut command = Command::new("unshare");
    command
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .env_remove("RUNTIME_DIRECTORY")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.path().join("stdout.log")).unwrap())
        .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap());
    if let Some(runtime) = runtime {
        command.env("RUNTIME_DIRECTORY", runtime);
    }
    ChildGuard::new(command.spawn().expect("starting unshare"))
}

#[test]
fn the_default_scoreboard_works_with_a_read_only_server_root() {
    let Some(_) = require_tool("unshare", "util-linux") else {
        return;
    };
    let dir = TempDir::new();
    // ServerRoot holds the configuration and is read-only, as /etc/slotgate
    // under ProtectSystem=full; logs go elsewhere (/var/log stays writable).
    let etc = dir.path().join("etc");
    let run = dir.path().join("run");
    std::fs::create_dir_all(&etc).unwrap();
    std::fs::create_dir_all(&run).unwrap();
    let conf = etc.join("slotgate.conf");
    std::fs::write(
        &conf,
        format!(
            "ServerRoot \"{}\"\nListen 127.0.0.1:0\nStartServers 1\nErrorLog \"{}\"\nLogLevel info\n",
            etc.display(),
            dir.path().join("error.log").display()
        ),
    )
    .unwrap();

    // Without $RUNTIME_DIRECTORY the scoreboard's default is ServerRoot: it
    // cannot be created there, and slotgate says so and exits.
    let mut refused = start_protected(&conf, &etc, None, &dir);
    let status = refused
        .wait_timeout(Duration::from_secs(15))
        .expect("slotgate exits when it cannot create its scoreboard");
    assert!(!status.success());
    let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
        + &dir.read("stderr.log");
    assert!(
        log.contains(&etc.join("slotgate.scoreboard").display().to_string()),
        "the error names the scoreboard: {log}"
    );

    // With it (RuntimeDirectory=), the scoreboard goes there and slotgate runs.
    let mut sg = start_protected(&conf, &etc, Some(&run), &dir);
    let scoreboard = run.join("slotgate.scoreboard");
    let running = poll_until(Duration::from_secs(15), || {
        let sb = Scoreboard::attach_readonly(&scoreboard).ok()?;
        let header = sb.header();
        (header.phase() == Some(Phase::Running) && !header.ports().is_empty()).then_some(())
    });
    let logs = || {
        std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
            + &dir.read("stderr.log")
    };
    assert!(running.is_some(), "not running: {}", logs());
    assert!(!etc.join("slotgate.scoreboard").exists());
    let out = run_command(
        slotgate_top_exe(),
        &["--json", scoreboard.to_str().unwrap()],
        &dir,
        Duration::from_secs(15),
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["supervisor_pid"], sg.pid(), "{v}");
    sg.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(sg.wait_timeout(Duration::from_secs(15)).is_some());
}
