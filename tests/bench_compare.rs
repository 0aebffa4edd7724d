//! `slotgate-bench compare`, run for real with the debug binaries: slotgate
//! event and prefork in front of two slotgate-origin processes (the origins
//! used when nginx is missing, forced here so the test behaves the same with
//! or without nginx), one short round. Nothing here asserts on speed.

mod common;

use common::*;
use nix::sys::signal::Signal;
use serde_json::Value;
use std::fs::{self, File};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Process starts, two 200 ms warm-ups and two 1 s windows in a debug build
/// on a loaded machine stay well inside this.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `slotgate-bench ARGS` in `dir`; on timeout sends SIGTERM first (its
/// handler stops the process groups it started), then SIGKILL on drop.
/// Returns (exit code, stdout, stderr).
fn bench(dir: &TempDir, args: &[&str]) -> (Option<i32>, String, String) {
    let out_path = dir.path().join("bench.stdout");
    let err_path = dir.path().join("bench.stderr");
    let child = Command::new(env!("CARGO_BIN_EXE_slotgate-bench"))
        .args(args)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .expect("starting slotgate-bench");
    let mut guard = ChildGuard::new(child);
    let status = guard.wait_timeout(RUN_TIMEOUT).or_else(|| {
        guard.signal(Signal::SIGTERM);
        guard.wait_timeout(Duration::from_secs(5))
    });
    let stdout = fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = fs::read_to_string(&err_path).unwrap_or_default();
    let Some(status) = status else {
        panic!("slotgate-bench {args:?} did not finish in {RUN_TIMEOUT:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    };
    (status.code(), stdout, stderr)
}

#[test]
fn compare_quick_run_of_both_slotgate_mpms_writes_complete_reports() {
    let dir = TempDir::new();
    let out = dir.path().join("report");
    let out_s = out.to_str().unwrap();
    let origin_bin = env!("CARGO_BIN_EXE_slotgate-origin");
    let (code, stdout, stderr) = bench(
        &dir,
        &[
            "compare",
            "--quick",
            "--only",
            "slotgate-event,slotgate-prefork",
            "--concurrency",
            "4",
            "--body",
            "100",
            "--pin",
            "none",
            "--origins",
            "slotgate-origin",
            "--slotgate",
            slotgate_exe(),
            "--origin-bin",
            origin_bin,
            "--out",
            out_s,
        ],
    );
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");

    let md = fs::read_to_string(out.join("report.md")).expect("report.md");
    for part in [
        "# slotgate-bench compare",
        "## Machine",
        "## Versions",
        "## Command",
        "## Settings",
        "| target | req/s median | req per proxy CPU-s median |",
        "| slotgate-event |",
        "| slotgate-prefork |",
        "slotgate-origin",
        "MPM prefork",
    ] {
        assert!(md.contains(part), "{part:?} missing in report.md:\n{md}");
    }
    let svg = fs::read_to_string(out.join("report.svg")).expect("report.svg");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));

    let text = fs::read_to_string(out.join("report.json")).expect("report.json");
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    let scenarios = v["scenarios"].as_array().expect("scenarios");
    assert_eq!(scenarios.len(), 1);
    assert_eq!(scenarios[0]["concurrency"], 4);
    let targets = scenarios[0]["targets"].as_array().expect("targets");
    let names: Vec<&str> = targets
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["slotgate-event", "slotgate-prefork"]);
    for t in targets {
        let rounds = t["rounds"].as_array().expect("rounds");
        assert_eq!(rounds.len(), 1, "--quick is one round: {t}");
        let r = &rounds[0];
        assert!(r["requests"].as_u64().unwrap() > 0, "no requests: {r}");
        assert_eq!(r["errors"]["total"], 0, "errors: {r}");
        assert!(r["proxy_cpu_s"].as_f64().unwrap() >= 0.0, "{r}");
        assert!(
            r["processes"].as_u64().unwrap() >= 2,
            "supervisor and a worker: {r}"
        );
        assert!(r["pss_kib"].as_u64().unwrap() > 0, "{r}");
        assert_eq!(t["summary"]["errors"], 0);
    }
    assert_eq!(v["settings"]["body_bytes"], 100);
    assert_eq!(v["settings"]["rounds"], 1);
}

/// Every target's generated configuration is accepted by the target itself
/// (`slotgate -t`, and `nginx -t`, `haproxy -c`, `apache2 -t` where installed).
#[test]
fn compare_configurations_pass_each_peers_own_check() {
    let dir = TempDir::new();
    let (code, stdout, stderr) = bench(
        &dir,
        &[
            "compare",
            "--check-configs",
            "--concurrency",
            "4,300",
            "--workers",
            "2",
            "--slotgate",
            slotgate_exe(),
        ],
    );
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    for name in ["slotgate-event", "slotgate-prefork"] {
        assert!(
            stdout.contains(&format!("{name}: configuration accepted by")),
            "{name} missing:\n{stdout}\nstderr:\n{stderr}"
        );
    }
}
