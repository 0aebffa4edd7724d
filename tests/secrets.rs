//! Secrets (issue #13, point 9). The scoreboard file holds the balancer-manager
//! nonces: it is created with mode 0640 (before: 0644, readable by every local
//! user) and, when the supervisor runs as root with `User`, belongs to the
//! workers' run group, so root and that group can read it and nobody else can.
//! The nonce itself comes from the OS CSPRNG (unit test in
//! `src/supervisor/generation.rs`).

mod common;

use common::*;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

const CONF: &str = "Listen 127.0.0.1:0\nServerName test.local\nStartServers 1\n\
     <Proxy balancer://pool>\n  BalancerMember http://127.0.0.1:9/\n</Proxy>\n\
     ProxyPass /p/ balancer://pool/\n";

/// The permission bits of the scoreboard file.
fn mode(sg: &Slotgate) -> u32 {
    std::fs::metadata(sg.scoreboard_path())
        .expect("scoreboard file")
        .mode()
        & 0o777
}

#[test]
fn scoreboard_file_is_not_readable_by_other_users() {
    let sg = Slotgate::start(CONF);
    let m = mode(&sg);
    assert_eq!(m & 0o007, 0, "mode {m:o}: others must not read the nonces");
    assert_eq!(m & 0o600, 0o600, "mode {m:o}: the owner reads and writes");
    assert_eq!(m & 0o022, 0, "mode {m:o}: only the owner writes");
}

/// slotgate-top run as `uid`:`gid` (no supplementary groups) on the
/// scoreboard at `path` (std drops the supplementary groups when root sets a
/// uid): its exit status and stderr.
fn top_as(uid: u32, gid: u32, path: &std::path::Path) -> (Option<i32>, String) {
    let out = Command::new(slotgate_top_exe())
        .args(["--once", "--scoreboard"])
        .arg(path)
        .uid(uid)
        .gid(gid)
        .stdin(Stdio::null())
        .output()
        .expect("running slotgate-top");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn with_user_the_run_group_reads_the_scoreboard_and_others_do_not() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("skipped: User needs the test to run as root");
        return;
    }
    let nobody = nix::unistd::User::from_name("nobody")
        .ok()
        .flatten()
        .expect("user nobody");
    let other = nix::unistd::User::from_name("daemon")
        .ok()
        .flatten()
        .expect("user daemon");
    assert_ne!(other.gid, nobody.gid);
    let sg = Slotgate::start(&format!("User nobody\n{CONF}"));
    let meta = std::fs::metadata(sg.scoreboard_path()).unwrap();
    assert_eq!(meta.uid(), 0, "root owns the scoreboard");
    assert_eq!(
        meta.gid(),
        nobody.gid.as_raw(),
        "the scoreboard belongs to the run group"
    );
    assert_eq!(meta.mode() & 0o007, 0, "mode {:o}", meta.mode() & 0o777);
    // The directory the test made is open to everyone, so the file's own mode decides.
    let path = sg.scoreboard_path();
    let (code, err) = top_as(nobody.uid.as_raw(), nobody.gid.as_raw(), path);
    assert_eq!(code, Some(0), "slotgate-top as the run user: {err}");
    let (code, err) = top_as(other.uid.as_raw(), other.gid.as_raw(), path);
    assert_ne!(code, Some(0), "slotgate-top as another user must fail");
    assert!(err.contains("ermission denied"), "{err}");
}
