//! `conf/logrotate` with the real `logrotate` (Debian's package) against a
//! running slotgate: the shipped rules, with only their paths pointed at this
//! test's directories, rotate the error and access logs, and after their
//! postrotate command (`slotgate -k graceful`) slotgate writes to the new
//! files while the rotated ones keep what came before.

mod common;

use common::daemon::{generation, wait_generation};
use common::*;
use std::path::Path;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(15);

/// `text` with `from` replaced by `to`; panics when `from` is not there (the
/// shipped file changed and the test would no longer exercise it).
fn point(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "conf/logrotate no longer names {from}");
    text.replace(from, to)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn logrotate_rotates_the_logs_and_slotgate_writes_the_new_ones() {
    let Some(logrotate) = require_tool("logrotate", "logrotate") else {
        return;
    };
    let a = Origin::start("a");
    let logs = TempDir::new();
    let state = TempDir::new();
    let pid_file = state.path().join("slotgate.pid");
    let sg = Slotgate::start(&render(
        &format!(
            "Listen 127.0.0.1:0
StartServers 1
ErrorLog \"{logs}/error.log\"
CustomLog \"{logs}/access.log\" common
PidFile \"{pid}\"
ProxyPass / http://{{a}}/
",
            logs = logs.path().display(),
            pid = pid_file.display(),
        ),
        &[&a],
    ));
    assert_eq!(http_get(sg.port(), "/before-rotation", &[]).status, 200);
    let access = logs.path().join("access.log");
    let error = logs.path().join("error.log");
    wait_for(
        "the first request in access.log",
        LIMIT,
        || read(&access).contains("/before-rotation").then_some(()),
        || read(&access),
    );

    // The shipped rules, pointed at this test's files.
    let rules = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/conf/logrotate"))
        .expect("conf/logrotate");
    let rules = point(
        &rules,
        "/var/log/slotgate/",
        &format!("{}/", logs.path().display()),
    );
    let rules = point(
        &rules,
        "/run/slotgate/slotgate.pid",
        pid_file.to_str().unwrap(),
    );
    let rules = point(&rules, "/usr/local/sbin/slotgate", slotgate_exe());
    let rules = point(
        &rules,
        "/etc/slotgate/slotgate.conf",
        sg.conf_path().to_str().unwrap(),
    );
    let conf = state.write("logrotate.conf", &rules);
    let status_file = state.path().join("logrotate.status");

    let before = generation(sg.scoreboard_path());
    let out = run_command(
        logrotate.to_str().unwrap(),
        &[
            "-f",
            "-s",
            status_file.to_str().unwrap(),
            conf.to_str().unwrap(),
        ],
        &state,
        Duration::from_secs(60),
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert_eq!(out.stderr.trim(), "", "logrotate complained: {out:?}");

    // Rotated (delaycompress: the first rotation stays uncompressed).
    let rotated = read(&logs.path().join("access.log.1"));
    assert!(rotated.contains("/before-rotation"), "{rotated}");
    assert!(logs.path().join("error.log.1").exists());

    // The postrotate graceful restart: a new generation, writing new files.
    wait_generation(sg.scoreboard_path(), before + 1, LIMIT);
    assert_eq!(http_get(sg.port(), "/after-rotation", &[]).status, 200);
    wait_for(
        "the second request in the new access.log",
        LIMIT,
        || read(&access).contains("/after-rotation").then_some(()),
        || format!("access.log: {:?}\n{}", read(&access), sg.logs()),
    );
    assert!(!read(&access).contains("/before-rotation"));
    let rotated = read(&logs.path().join("access.log.1"));
    assert!(!rotated.contains("/after-rotation"), "{rotated}");
    wait_for(
        "a line in the new error.log",
        LIMIT,
        || (!read(&error).is_empty()).then_some(()),
        || read(&logs.path().join("error.log.1")),
    );
}
