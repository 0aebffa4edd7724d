//! Health checks changed at run time (issue #8 point 3) against the real
//! binary: a member added through the balancer-manager (JSON API or form)
//! into a growth slot and given a check there is checked, goes to `C` when
//! its health endpoint fails and gets no traffic (counted at the origins);
//! a check set with `slotgate-top set … hcmethod=…` is followed the same way;
//! `hcexpr=` is checked against the configuration when there is one; and
//! `BalancerPersist On` keeps the checks of added members across a full
//! restart. Waits are bounded and generous (a loaded machine is slow).

mod common;

use std::time::Duration;

use common::daemon::{generation, wait_generation};
use common::*;
use scoreboard::{flags, Scoreboard};
use serde_json::json;

/// hcinterval of the tests.
const INTERVAL_MS: u64 = 200;
/// Slack on top of hcfails × hcinterval + one interval (the checker is
/// started within a second of the first check being asked for).
const SLACK: Duration = Duration::from_secs(10);

const MANAGER: &str = "<Location /balancer-manager>
  SetHandler balancer-manager
  Require ip 127.0.0.1
</Location>
ProxyPass /balancer-manager !
";

fn conf(a: &Origin, b: &Origin, extra: &str) -> String {
    render(
        &format!(
            "Listen 127.0.0.1:0
StartServers 2
LogLevel info
ServerName manager.test
ProxyHCExpr ok {{%{{REQUEST_STATUS}} =~ /^2/}}
{extra}
<Proxy balancer://app growth=1>
  BalancerMember http://{{a}}
  BalancerMember http://{{b}}
</Proxy>
{MANAGER}ProxyPass / balancer://app/
"
        ),
        &[a, b],
    )
}

fn slot_of(sb: &Scoreboard, origin: &Origin) -> usize {
    member_views(sb)
        .into_iter()
        .find(|m| m.names(&origin.addr()))
        .unwrap_or_else(|| panic!("no member slot for {}", origin.addr()))
        .slot
}

fn describe(sb: &Scoreboard) -> String {
    sb.members()
        .iter()
        .enumerate()
        .filter(|(_, m)| m.in_use())
        .map(|(i, m)| {
            format!(
                "slot {i} {} status {} method {} interval {} uri '{}' expr '{}' last {} \
                 result {:?} reason '{}'\n",
                m.url.get(),
                flags::letters(m.status()),
                m.hc_method(),
                m.hc_interval_ms(),
                m.hc_uri.get(),
                m.hc_expr.get(),
                m.hc_last_check(),
                m.hc_result(),
                m.hc_reason.get(),
            )
        })
        .collect()
}

fn wait_slot(
    sb: &Scoreboard,
    slot: usize,
    what: &str,
    checks: u64,
    check: impl Fn(&scoreboard::MemberSlot) -> bool,
) {
    wait_for(
        &format!("slot {slot}: {what}"),
        Duration::from_millis(checks * INTERVAL_MS) + SLACK,
        || check(sb.member(slot)).then_some(()),
        || describe(sb),
    );
}

fn has_c(m: &scoreboard::MemberSlot) -> bool {
    m.status() & flags::HC_FAILED != 0
}

/// Sends `n` requests through the balancer; returns how many each origin
/// got (health probes left out).
fn traffic(sg: &Slotgate, origins: &[&Origin], n: usize) -> Vec<usize> {
    let before: Vec<usize> = origins
        .iter()
        .map(|o| o.requests_besides_health())
        .collect();
    for _ in 0..n {
        let r = http_get(sg.port(), "/x", &[]);
        assert_eq!(r.status, 200, "{}", r.summary());
    }
    origins
        .iter()
        .zip(before)
        .map(|(o, b)| o.requests_besides_health() - b)
        .collect()
}

/// The origin `o` of member slot `slot` with hcfails=1: fails → C, no
/// traffic; recovers → C cleared, traffic again.
fn out_and_back(sg: &Slotgate, sb: &Scoreboard, slot: usize, o: &Origin, all: &[&Origin]) {
    let i = all
        .iter()
        .position(|x| x.addr() == o.addr())
        .expect("o among all");
    wait_slot(sb, slot, "a passed check", 1, |m| {
        m.hc_result() == Some((true, 200))
    });
    let probe = o
        .recorded()
        .into_iter()
        .find(|r| r.target == "/health")
        .expect("a probe of /health");
    assert_eq!(probe.method, "GET");
    let spread = traffic(sg, all, 30 * all.len());
    assert!(
        spread[i] >= 5,
        "the checked member gets traffic: {spread:?}"
    );

    o.set_health(Health::Status(500));
    wait_slot(sb, slot, "+C after one failure", 2, has_c);
    // `status 500`, or `expr ok false (status 500)` with the expression.
    let reason = sb.member(slot).hc_reason.get();
    assert!(reason.contains("status 500"), "{reason}");
    let spread = traffic(sg, all, 30);
    assert_eq!(spread[i], 0, "a member with C gets no traffic: {spread:?}");
    assert_eq!(spread.iter().sum::<usize>(), 30);

    o.set_health(Health::Ok);
    wait_slot(sb, slot, "C cleared", 1, |m| !has_c(m));
    let spread = traffic(sg, all, 30 * all.len());
    assert!(spread[i] >= 5, "traffic returns: {spread:?}");
}

#[test]
fn a_member_added_through_the_json_api_is_checked() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let c = Origin::start("c");
    let sg = Slotgate::start(&conf(&a, &b, ""));
    let port = sg.port();
    let sb = Scoreboard::attach(sg.scoreboard_path()).expect("attaching the scoreboard");
    let n = manager_nonce(port);
    let wc = c.url();
    let (status, v) = manager_json_post(
        port,
        &json!({"balancer": "app", "nonce": n, "add_member": wc}),
    );
    assert_eq!(status, 200, "{v}");
    let sc = slot_of(&sb, &c);
    assert!(sb.member(sc).added());
    assert_eq!(sb.header().checker_pid(), 0, "no check yet, no checker");

    // A wrong nonce changes nothing.
    let (status, _) = manager_json_post(
        port,
        &json!({"balancer": "app", "nonce": "wrong", "member": wc, "health": {"method": "GET"}}),
    );
    assert_eq!(status, 403);
    assert_eq!(sb.member(sc).hc_method(), 0);
    // An expression that the configuration does not define is refused.
    let (status, v) = manager_json_post(
        port,
        &json!({"balancer": "app", "nonce": n, "member": wc,
                "health": {"method": "GET", "expr": "nosuch"}}),
    );
    assert_eq!(status, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("defined: ok"), "{v}");

    let (status, v) = manager_json_post(
        port,
        &json!({"balancer": "app", "nonce": n, "member": wc, "status": {"D": false},
                "health": {"method": "GET", "uri": "/health", "interval_ms": INTERVAL_MS,
                           "fails": 1, "passes": 1, "expr": "ok"}}),
    );
    assert_eq!(status, 200, "{v}");
    let h = &v["balancers"][0]["members"][2]["health"];
    assert_eq!(
        (&h["method"], &h["interval_ms"], &h["uri"], &h["expr"]),
        (
            &json!("GET"),
            &json!(INTERVAL_MS),
            &json!("/health"),
            &json!("ok")
        ),
        "{v}"
    );
    out_and_back(&sg, &sb, sc, &c, &[&a, &b, &c]);
    // The configured members were never checked.
    assert_eq!(sb.member(slot_of(&sb, &a)).hc_last_check(), 0);

    // Turned off (NONE): no more probes, and the expression is gone.
    let (status, _) = manager_json_post(
        port,
        &json!({"balancer": "app", "nonce": n, "member": wc, "health": {"method": "NONE"}}),
    );
    assert_eq!(status, 200);
    assert_eq!(sb.member(sc).hc_expr.get(), "");
    // The checker's clock: a check on b, set after c's was turned off, at
    // the same interval. Once b has had two probes the checker has taken in
    // both changes (and a probe of c begun before them is over); five more
    // probes of b later, c still has had none.
    let (status, v) = manager_json_post(
        port,
        &json!({"balancer": "app", "nonce": n, "member": b.url(),
                "health": {"method": "GET", "uri": "/health", "interval_ms": INTERVAL_MS,
                           "fails": 1, "passes": 1}}),
    );
    assert_eq!(status, 200, "{v}");
    let probes = |o: &Origin| o.recorded().len() - o.requests_besides_health();
    let probes_of_b = |at_least: usize| {
        wait_for(
            &format!("{at_least} probes of b"),
            Duration::from_millis(at_least as u64 * INTERVAL_MS) + SLACK,
            || (probes(&b) >= at_least).then_some(()),
            || describe(&sb),
        )
    };
    probes_of_b(2);
    let (of_b, of_c) = (probes(&b), probes(&c));
    probes_of_b(of_b + 5);
    assert_eq!(probes(&c), of_c, "probes after hcmethod NONE");
}

#[test]
fn a_member_added_through_the_form_is_checked() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let c = Origin::start("c");
    let sg = Slotgate::start(&conf(&a, &b, ""));
    let port = sg.port();
    let sb = Scoreboard::attach(sg.scoreboard_path()).expect("attaching the scoreboard");
    let n = manager_nonce(port);
    let wc = c.url();
    let r = manager_form_post(
        port,
        &format!("b=app&nonce={n}&b_nwrkr={}&b_wyes=1", form_encode(&wc)),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let sc = slot_of(&sb, &c);
    // The member's edit form offers the check's inputs.
    let q = format!("/balancer-manager?b=app&w={}&nonce={n}", form_encode(&wc));
    let page = http_get(
        port,
        &q,
        &[("Referer", "http://manager.test/balancer-manager")],
    )
    .text();
    for field in ["w_hm", "w_hi", "w_hp", "w_hf", "w_hu", "w_he"] {
        assert!(
            page.contains(&format!("name=\"{field}\"")),
            "{field}:\n{page}"
        );
    }
    // What the form sends: every field, a bare interval in ms.
    let r = manager_form_post(
        port,
        &format!(
            "b=app&w={}&nonce={n}&w_status_D=0&w_hm=GET&w_hi={INTERVAL_MS}&w_hp=1&w_hf=1\
             &w_hu=%2Fhealth&w_he=",
            form_encode(&wc)
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(!r.text().contains("class=\"note\""), "{}", r.text());
    assert_eq!(sb.member(sc).hc_interval_ms(), INTERVAL_MS as u32);
    out_and_back(&sg, &sb, sc, &c, &[&a, &b, &c]);
}

/// `slotgate-top -f CONF ARGS…` (or `--scoreboard PATH ARGS…`).
fn top(args: &[&str]) -> RunOutput {
    let dir = TempDir::new();
    run_command(slotgate_top_exe(), args, &dir, Duration::from_secs(20))
}

#[test]
fn a_check_set_through_slotgate_top_is_followed() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = Slotgate::start(&conf(&a, &b, ""));
    let sb = Scoreboard::attach(sg.scoreboard_path()).expect("attaching the scoreboard");
    let sbb = slot_of(&sb, &b);
    let conf = sg.conf_path().to_str().unwrap().to_string();
    let target = format!("balancer://app/{}", b.url());

    // With -f an unknown expression is refused, and nothing is written.
    let out = top(&["-f", &conf, "set", &target, "hcmethod=GET", "hcexpr=nosuch"]);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.stderr.contains("names no ProxyHCExpr"), "{out:?}");
    assert_eq!(sb.member(sbb).hc_method(), 0);

    let out = top(&[
        "-f",
        &conf,
        "set",
        &target,
        "hcmethod=GET",
        "hcinterval=200ms",
        "hcpasses=1",
        "hcfails=1",
        "hcuri=/health",
        "hcexpr=OK",
    ]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    for line in [
        "hcmethod NONE → GET",
        "hcinterval 30000ms → 200ms",
        "hcuri (none) → /health",
        "hcexpr (none) → ok",
    ] {
        assert!(out.stdout.contains(line), "'{line}' missing: {out:?}");
    }
    out_and_back(&sg, &sb, sbb, &b, &[&a, &b]);

    // Given only the scoreboard, the tool cannot know the expressions: the
    // name is taken, and the checker reports it as a failed check.
    let path = sg.scoreboard_path().to_str().unwrap().to_string();
    let out = top(&["--scoreboard", &path, "set", &target, "hcexpr=nosuch"]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    wait_slot(&sb, sbb, "C by an unknown expression", 2, has_c);
    assert_eq!(sb.member(sbb).hc_reason.get(), "no ProxyHCExpr nosuch");
    let out = top(&["--scoreboard", &path, "set", &target, "hcmethod=TCP"]);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stdout.contains("hcmethod GET → TCP"), "{out:?}");
    assert_eq!(
        sb.member(sbb).hc_expr.get(),
        "",
        "TCP clears the expression"
    );
    wait_slot(&sb, sbb, "C cleared by a TCP check", 1, |m| !has_c(m));
}

#[test]
fn checks_of_added_members_survive_a_full_restart_with_balancer_persist() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let c = Origin::start("c");
    let keep = TempDir::new();
    let sb_path = keep.path().join("slotgate.scoreboard");
    let text = conf(
        &a,
        &b,
        &format!(
            "BalancerPersist On\nScoreboardFile \"{}\"",
            sb_path.display()
        ),
    );
    let health = json!({"method": "GET", "uri": "/health", "interval_ms": INTERVAL_MS,
                        "passes": 1, "fails": 1, "expr": "ok"});
    {
        let mut sg = Slotgate::start(&text);
        let port = sg.port();
        let n = manager_nonce(port);
        for change in [
            json!({"balancer": "app", "nonce": n, "add_member": c.url()}),
            json!({"balancer": "app", "nonce": n, "member": c.url(), "status": {"D": false},
                   "health": health}),
            json!({"balancer": "app", "nonce": n, "member": b.url(),
                   "health": {"method": "TCP", "interval_ms": 1000}}),
        ] {
            let (status, v) = manager_json_post(port, &change);
            assert_eq!(status, 200, "{v}");
        }
        // Stopped once the checker runs (a stop in the instant the checker
        // is forked is not what this test is about).
        let sb = Scoreboard::attach(sg.scoreboard_path()).expect("attaching the scoreboard");
        let sc = slot_of(&sb, &c);
        wait_slot(&sb, sc, "a passed check", 1, |m| {
            m.hc_result() == Some((true, 200))
        });
        sg.stop();
    }
    let saved = std::fs::read_to_string(keep.path().join("slotgate.scoreboard.persist"))
        .expect("the persist file");
    assert!(saved.contains("\"health\""), "{saved}");

    let sg = Slotgate::start(&text);
    let s = manager_state(sg.port());
    let members = s["balancers"][0]["members"].as_array().expect("members");
    let find = |o: &Origin| {
        members
            .iter()
            .find(|m| m["url"] == o.url())
            .unwrap_or_else(|| panic!("no {} in {s}", o.url()))
    };
    let hc = &find(&c)["health"];
    for k in ["method", "uri", "interval_ms", "expr", "fails"] {
        assert_eq!(hc[k], health[k], "{k}: {s}");
    }
    assert_eq!(find(&b)["health"]["method"], "TCP", "{s}");
    assert_eq!(find(&b)["health"]["interval_ms"], 1000, "{s}");
    assert_eq!(find(&a)["health"]["method"], "NONE", "{s}");
    let sb = Scoreboard::attach(sg.scoreboard_path()).expect("attaching the scoreboard");
    let sc = slot_of(&sb, &c);
    out_and_back(&sg, &sb, sc, &c, &[&a, &b, &c]);
}

#[test]
fn a_run_time_check_survives_a_graceful_restart() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = Slotgate::start(&conf(&a, &b, ""));
    let port = sg.port();
    let sb_path = sg.scoreboard_path().to_path_buf();
    let (status, v) = manager_json_post(
        port,
        &json!({"balancer": "app", "nonce": manager_nonce(port), "member": b.url(),
                "health": {"method": "HEAD", "uri": "/health", "interval_ms": INTERVAL_MS}}),
    );
    assert_eq!(status, 200, "{v}");
    let gen = generation(&sb_path);
    sg.signal(nix::sys::signal::Signal::SIGUSR1);
    wait_generation(&sb_path, gen + 1, Duration::from_secs(20));
    let sb = Scoreboard::attach(&sb_path).expect("attaching the scoreboard");
    let sbb = slot_of(&sb, &b);
    let m = sb.member(sbb);
    assert_eq!(
        (m.hc_method(), m.hc_interval_ms(), m.hc_uri.get()),
        (
            slotgate::config::HcMethod::Head.code(),
            INTERVAL_MS as u32,
            "/health".to_string()
        ),
        "{}",
        describe(&sb)
    );
    wait_slot(&sb, sbb, "checked after the restart", 2, |m| {
        m.hc_result() == Some((true, 200))
    });
}
