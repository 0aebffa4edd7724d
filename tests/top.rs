//! slotgate-top against a running slotgate: the tables, `--json`, the
//! scoreboard path form, and its error messages.

mod common;

use common::*;
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
    let mut listed: Vec<i32> = v["processes"]
        .as_array()
        .expect("processes array")
        .iter()
        .map(|p| p["pid"].as_i64().unwrap() as i32)
        .collect();
    listed.sort();
    pids.sort();
    assert_eq!(listed, pids, "{v}");
    let members = v["members"].as_array().expect("members array");
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
