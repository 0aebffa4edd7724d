//! `slotgate-top --json` and server-status `?json` are one schema: the same
//! names for the same facts (`sent`/`received`, `uptime_seconds`,
//! `process_slots`, `balancers[].members`, the health check), because both
//! come from one serializer over `slotgate::handlers::snapshot`.
//! slotgate-top adds only the file it read (`scoreboard_file`).
//!
//! Before: slotgate-top had its own names (`uptime_secs`, `transferred`,
//! `read`, a flat `members` list, `processes` as an array where server-status
//! has a count), so a script written against one broke on the other.

mod common;

use common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

/// Every key path of `v` (`balancers[].members[].sent`), arrays merged.
fn key_paths(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                out.insert(path.clone());
                key_paths(child, &path, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                key_paths(item, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

fn paths(v: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    key_paths(v, "", &mut out);
    out
}

#[test]
fn top_json_has_server_status_json_names() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = Slotgate::start(&render(
        "Listen 127.0.0.1:0
StartServers 2
ServerName schema.test
ProxyStatus On
<Location /server-status>
  SetHandler server-status
</Location>
ProxyPass /server-status !
<Proxy balancer://app>
  BalancerMember http://{a} route=a hcmethod=TCP hcinterval=1
</Proxy>
ProxyPass /app/ balancer://app/
ProxyPass /b/ http://{b}/
",
        &[&a, &b],
    ));
    sg.wait_workers(2, Duration::from_secs(10));
    assert_eq!(http_get(sg.port(), "/app/x", &[]).status, 200);
    assert_eq!(http_get(sg.port(), "/b/x", &[]).status, 200);

    let status = http_get(sg.port(), "/server-status?json", &[]);
    assert_eq!(status.status, 200);
    let status: Value = serde_json::from_slice(&status.body).expect("server-status JSON");
    let dir = TempDir::new();
    let out = run_command(
        slotgate_top_exe(),
        &["--json", "-f", sg.conf_path().to_str().unwrap()],
        &dir,
        Duration::from_secs(15),
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    let top: Value = serde_json::from_str(&out.stdout).expect("slotgate-top JSON");

    // The same names, and slotgate-top's one addition.
    let (status_paths, top_paths) = (paths(&status), paths(&top));
    let extra: Vec<&String> = top_paths.difference(&status_paths).collect();
    let missing: Vec<&String> = status_paths.difference(&top_paths).collect();
    assert_eq!(extra, ["scoreboard_file"], "only in slotgate-top");
    assert!(missing.is_empty(), "missing in slotgate-top: {missing:?}");
    for name in [
        "uptime_seconds",
        "checker_pid",
        "process_slots[].pid",
        "balancers[].members[].sent",
        "balancers[].members[].received",
        "balancers[].members[].health.method",
        "standalone_members[].url",
    ] {
        assert!(top_paths.contains(name), "{name} missing in {top}");
    }

    // The same facts.
    assert_eq!(top["server_name"], "schema.test");
    assert_eq!(top["server_mpm"], status["server_mpm"]);
    assert_eq!(top["supervisor_pid"], sg.pid());
    assert_eq!(top["checker_pid"], status["checker_pid"]);
    assert!(top["checker_pid"].as_i64().unwrap() > 0, "{top}");
    let member = &top["balancers"][0]["members"][0];
    assert!(member["url"].as_str().unwrap().contains(&a.addr()));
    assert_eq!(member["health"]["method"], "TCP");
    assert!(member["sent"].as_u64().unwrap() > 0, "{member}");
    assert!(top["standalone_members"][0]["url"]
        .as_str()
        .unwrap()
        .contains(&b.addr()));
    assert_eq!(
        top["scoreboard_file"],
        sg.scoreboard_path().to_str().unwrap()
    );
}
