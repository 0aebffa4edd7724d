//! `%t` in the access log is local time with its offset, as httpd writes it,
//! and follows `TZ` (before: always UTC with `+0000`).
//!
//! httpd-oracle (Debian's apache2 2.4), one request each, 2026-12-07 ~20:03 UTC:
//!   TZ=UTC-3            → `[07/Dec/2026:23:03:32 +0300]`
//!   TZ=America/St_Johns → `[07/Dec/2026:16:33:37 -0330]`
//!   TZ=<+0545>-5:45     → `[08/Dec/2026:01:48:42 +0545]`
//! The expected text here comes from the C library itself: GNU `date` run with
//! the same `TZ` for each second the request may have been logged in.

mod common;

use common::*;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `[dd/Mon/yyyy:HH:MM:SS +zzzz]` for `secs` as GNU date renders it under `tz`
/// (None: TZ unset).
fn date_under(tz: Option<&str>, secs: u64) -> String {
    let mut cmd = Command::new("date");
    cmd.arg("-d")
        .arg(format!("@{secs}"))
        .arg("+[%d/%b/%Y:%H:%M:%S %z]")
        .env("LC_ALL", "C");
    match tz {
        Some(tz) => cmd.env("TZ", tz),
        None => cmd.env_remove("TZ"),
    };
    let out = cmd.output().expect("running date");
    assert!(out.status.success(), "date: {out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// Starts slotgate under `tz`, makes one request and returns the `%t` it
/// logged with the texts `date` gives for the seconds around it.
fn logged_time(tz: Option<&str>) -> (String, Vec<String>) {
    let env: Vec<(&str, &str)> = tz.map(|tz| ("TZ", tz)).into_iter().collect();
    let sg = Slotgate::try_start_with_env(
        "Listen 127.0.0.1:0\nServerName test.local\nStartServers 1\n\
         LogFormat \"%t %>s\" t\nCustomLog access.log t\n",
        &[],
        &env,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let before = unix_now();
    assert_eq!(http_get(sg.port(), "/nothing", &[]).status, 404);
    let lines = wait_lines(&sg.dir().join("access.log"), 1, Duration::from_secs(10));
    let after = unix_now();
    let line = &lines[0];
    let time = line
        .strip_suffix(" 404")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"))
        .to_string();
    let expected = (before..=after).map(|s| date_under(tz, s)).collect();
    (time, expected)
}

#[test]
fn percent_t_is_local_time_with_its_offset() {
    let mut zones = vec![
        (Some("UTC-3"), "+0300"),
        (Some("<+0545>-5:45"), "+0545"),
        (Some("EST5EDT,M3.2.0,M11.1.0"), ""),
        (Some(""), "+0000"),
        (None, ""),
    ];
    if std::path::Path::new("/usr/share/zoneinfo/America/St_Johns").exists() {
        zones.push((Some("America/St_Johns"), ""));
        zones.push((Some(":Asia/Kathmandu"), "+0545"));
    }
    for (tz, offset) in zones {
        let (time, expected) = logged_time(tz);
        assert!(
            expected.contains(&time),
            "TZ={tz:?}: logged {time}, date gives one of {expected:?}"
        );
        assert!(time.ends_with(&format!("{offset}]")), "TZ={tz:?}: {time}");
    }
}
