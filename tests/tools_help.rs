//! Every binary answers `--help` (and `-h`) with its usage on stdout and exit
//! status 0, nothing on stderr; a wrong option is still exit 2 with the
//! usage on stderr. Before: `slotgate-origin --help` printed "help" and the
//! usage on stderr and exited 2; `slotgate-bench load --help` and `burst
//! --help` exited 2 ("unknown argument").

mod common;

use common::*;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(15);

fn exe(name: &str) -> &'static str {
    match name {
        "slotgate" => env!("CARGO_BIN_EXE_slotgate"),
        "slotgate-top" => env!("CARGO_BIN_EXE_slotgate-top"),
        "slotgate-bench" => env!("CARGO_BIN_EXE_slotgate-bench"),
        "slotgate-origin" => env!("CARGO_BIN_EXE_slotgate-origin"),
        other => panic!("no binary {other}"),
    }
}

/// (binary, arguments before the help flag).
const TOOLS: &[(&str, &[&str])] = &[
    ("slotgate", &[]),
    ("slotgate-top", &[]),
    ("slotgate-bench", &[]),
    ("slotgate-bench", &["load"]),
    ("slotgate-bench", &["burst"]),
    ("slotgate-bench", &["compare"]),
    ("slotgate-origin", &[]),
];

#[test]
fn every_tool_answers_help_on_stdout_with_exit_0() {
    let dir = TempDir::new();
    for (name, before) in TOOLS {
        for flag in ["--help", "-h"] {
            let mut args = before.to_vec();
            args.push(flag);
            let out = run_command(exe(name), &args, &dir, LIMIT);
            assert_eq!(out.code(), Some(0), "{name} {args:?}: {out:?}");
            assert!(
                out.stdout.starts_with("usage: "),
                "{name} {args:?}: usage on stdout: {out:?}"
            );
            assert!(out.stdout.contains(name), "{name} {args:?}: {out:?}");
            assert_eq!(out.stderr, "", "{name} {args:?}: nothing on stderr");
        }
    }
}

#[test]
fn a_wrong_option_is_exit_2_with_the_usage_on_stderr() {
    let dir = TempDir::new();
    for (name, before) in TOOLS {
        let mut args = before.to_vec();
        args.push("--no-such-option");
        let out = run_command(exe(name), &args, &dir, LIMIT);
        assert_eq!(out.code(), Some(2), "{name} {args:?}: {out:?}");
        assert!(out.stderr.contains("usage"), "{name} {args:?}: {out:?}");
        assert_eq!(out.stdout, "", "{name} {args:?}: nothing on stdout");
    }
}
