//! Values set at run time refuse control characters (issue #13, point 8), as
//! `hcuri` already did: route, redirect, stickysession and a new member's URL,
//! through the balancer-manager's JSON API and form and through `slotgate-top
//! set`. And slotgate-top never prints a raw control byte: a value that is in
//! the scoreboard anyway (written here straight into the file, as a buggy or
//! older writer could) is shown escaped, in the table and in the live view.
//! Before: `route=ESC[2J` was stored, and slotgate-top sent the ESC sequence
//! to the operator's terminal.

mod common;

use common::*;
use scoreboard::Scoreboard;
use serde_json::json;
use std::fs::File;
use std::process::{Command, Stdio};
use std::time::Duration;

const MANAGER: &str = "<Location /balancer-manager>\n  SetHandler balancer-manager\n  \
                       Require ip 127.0.0.1\n</Location>\nProxyPass /balancer-manager !\n";

fn start(a: &Origin) -> Slotgate {
    Slotgate::start(&render(
        &format!(
            "Listen 127.0.0.1:0\nServerName manager.test\nStartServers 1\n\
             <Proxy balancer://app growth=1>\n  BalancerMember http://{{a}} route=r1\n</Proxy>\n\
             {MANAGER}ProxyPass / balancer://app/\n"
        ),
        &[a],
    ))
}

/// The member slot whose URL names `addr`.
fn slot_of(sb: &Scoreboard, addr: &str) -> usize {
    (0..sb.members().len())
        .find(|&i| sb.member(i).in_use() && sb.member(i).url.get().contains(addr))
        .unwrap_or_else(|| panic!("no member {addr}"))
}

const NASTY: [&str; 4] = ["\x1b[2J", "r\x07", "a\r\nSet-Cookie: x=1", "r\u{9b}1m"];

#[test]
fn manager_refuses_control_characters_in_runtime_values() {
    let a = Origin::start("a");
    let sg = start(&a);
    let port = sg.port();
    let n = manager_nonce(port);
    let wa = format!("http://{}", a.addr());
    let sb = sg.scoreboard();
    let m = slot_of(&sb, &a.addr());
    for bad in NASTY {
        for key in ["route", "redirect"] {
            let (status, v) = manager_json_post(
                port,
                &json!({"balancer": "app", "nonce": n, "member": wa, key: bad}),
            );
            assert_eq!(status, 400, "{key}={bad:?}: {v}");
            let error = v["error"].as_str().unwrap_or_default();
            assert!(error.contains("control character"), "{error}");
            assert!(!error.contains(char::is_control), "{error:?}");
        }
        let (status, v) = manager_json_post(
            port,
            &json!({"balancer": "app", "nonce": n, "stickysession": bad}),
        );
        assert_eq!(status, 400, "stickysession={bad:?}: {v}");
        let (status, v) = manager_json_post(
            port,
            &json!({"balancer": "app", "nonce": n, "add_member": format!("http://127.0.0.1:9/{bad}")}),
        );
        assert_eq!(status, 400, "add_member with {bad:?}: {v}");
    }
    // The HTML form: the change is refused with a note, the route is kept.
    let body = format!(
        "b=app&w={}&nonce={}&w_wr={}",
        form_encode(&wa),
        form_encode(&n),
        form_encode("\x1b[2J")
    );
    let r = manager_form_post(port, &body);
    assert!(!r.body.contains(&0x1b), "{}", r.text());
    assert_eq!(sb.member(m).route.get(), "r1");
    assert_eq!(sb.member(m).redirect.get(), "");
    assert_eq!(
        manager_state(port)["balancers"][0]["members"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "no member added"
    );
    // A plain value still goes through.
    let (status, v) = manager_json_post(
        port,
        &json!({"balancer": "app", "nonce": n, "member": wa, "route": "r2"}),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(sb.member(m).route.get(), "r2");
}

#[test]
fn slotgate_top_set_refuses_control_characters_without_echoing_them() {
    let a = Origin::start("a");
    let sg = start(&a);
    let dir = TempDir::new();
    let sb = sg.scoreboard();
    let m = slot_of(&sb, &a.addr());
    let member = format!("balancer://app/http://{}", a.addr());
    for bad in NASTY {
        for key in ["route", "redirect"] {
            let setting = format!("{key}={bad}");
            let out = run_command(
                slotgate_top_exe(),
                &[
                    "--scoreboard",
                    sg.scoreboard_path().to_str().unwrap(),
                    "set",
                    &member,
                    &setting,
                ],
                &dir,
                Duration::from_secs(20),
            );
            assert_ne!(out.code(), Some(0), "{setting:?}: {out:?}");
            assert!(out.stderr.contains("control character"), "{out:?}");
            assert!(
                !out.stderr.replace('\n', "").contains(char::is_control),
                "raw control byte in {:?}",
                out.stderr
            );
        }
    }
    assert_eq!(sb.member(m).route.get(), "r1");
}

#[test]
fn slotgate_top_prints_control_bytes_escaped() {
    let a = Origin::start("a");
    let sg = start(&a);
    let sb = Scoreboard::attach(sg.scoreboard_path()).expect("attach read-write");
    let m = slot_of(&sb, &a.addr());
    // Straight into the file, past every check, as a foreign writer could.
    sb.member(m).route.set("\x1b]0;owned\x07\x1b[2J");
    sb.balancer(0).sticky.set("S\x1b[31m");
    let dir = TempDir::new();
    let path = sg.scoreboard_path().to_str().unwrap().to_string();
    let out = run_command(
        slotgate_top_exe(),
        &["--once", "--scoreboard", &path],
        &dir,
        Duration::from_secs(20),
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    let raw = out.stdout.replace('\n', "");
    assert!(
        !raw.contains(char::is_control),
        "raw control bytes: {:?}",
        out.stdout
    );
    assert!(
        out.stdout.contains("\\x1b]0;owned\\x07\\x1b[2J"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("S\\x1b[31m"), "{}", out.stdout);

    // The live view, piped: frames have no escapes of their own, so any control
    // byte but the line ends would be the route's.
    let out_path = dir.path().join("live.stdout");
    let child = Command::new(slotgate_top_exe())
        .args(["--scoreboard", &path, "--interval", "0.2"])
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting slotgate-top");
    let mut top = ChildGuard::new(child);
    let text = wait_for(
        "a live frame with the member",
        Duration::from_secs(20),
        || {
            let text = std::fs::read_to_string(&out_path).ok()?;
            text.contains("(_ idle").then_some(text)
        },
        || std::fs::read_to_string(&out_path).unwrap_or_default(),
    );
    top.signal(nix::sys::signal::Signal::SIGTERM);
    let _ = top.wait_timeout(Duration::from_secs(5));
    assert!(
        !text.replace('\n', "").contains(char::is_control),
        "raw control bytes in the live view: {text:?}"
    );
    assert!(text.contains("\\x1b]0;owned"), "{text}");
}
