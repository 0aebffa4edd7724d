//! Failover (reference §2.5, §3.1, §3.6, §3.7): a member whose connect fails
//! goes into error state (E) and is skipped until `retry` passes; the request
//! is tried on another member up to `maxattempts`; lbset tiers, hot standby,
//! disabled and stopped members; 503 when nothing is usable; failonstatus,
//! failontimeout, forcerecovery; a member killed under load loses no request.

mod common;

use common::*;
use scoreboard::flags;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

/// `<Proxy balancer://c1>` with one `BalancerMember http://ADDR PARAMS` line
/// per entry, `ProxySet proxyset` if not empty, and `ProxyPass / balancer://c1/`.
fn balancer(members: &[(String, &str)], proxyset: &str) -> String {
    let mut text = String::from("<Proxy balancer://c1>\n");
    for (addr, params) in members {
        text.push_str(&format!("    BalancerMember http://{addr} {params}\n"));
    }
    if !proxyset.is_empty() {
        text.push_str(&format!("    ProxySet {proxyset}\n"));
    }
    text.push_str("</Proxy>\nProxyPass / balancer://c1/\n");
    text
}

fn start(members: &[(String, &str)], proxyset: &str) -> Slotgate {
    start_proxy(&balancer(members, proxyset), &[])
}

fn get(sg: &Slotgate, path: &str) -> Response {
    http_get(sg.port(), path, &[])
}

/// `n` GETs that must all be 200; returns their X-Origins.
fn origins_of(sg: &Slotgate, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let r = get(sg, "/x");
            assert_eq!(
                r.status,
                200,
                "request {i}: {}{}",
                r.summary(),
                member_table(sg)
            );
            r.origin().to_string()
        })
        .collect()
}

fn all_from(got: &[String], name: &str) -> bool {
    got.iter().all(|o| o == name)
}

#[test]
fn refused_member_is_put_in_error_and_the_request_goes_to_the_other() {
    let dead = RefusingPort::new();
    let b = Origin::start("b");
    let sg = start(&[(dead.addr(), ""), (b.addr(), "")], "");
    // The first selection picks the dead member (a tie goes to the first).
    let r = get(&sg, "/x");
    assert_eq!(r.status, 200, "{}{}", r.summary(), member_table(&sg));
    assert_eq!(r.origin(), "b");
    let m = wait_member_in_error(&sg, &dead.addr());
    assert_eq!(m.display(), "Init Err ", "{}", member_table(&sg));
    assert!(m.errors >= 1, "{}", member_table(&sg));
    let got = origins_of(&sg, 10);
    assert!(all_from(&got, "b"), "{got:?}");
    assert_eq!(b.requests(), 11);
}

#[test]
fn member_in_error_stays_skipped_before_retry_passes() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start(&[(a.addr(), "retry=60"), (b.addr(), "")], "");
    a.stop_listening();
    assert_eq!(get(&sg, "/x").origin(), "b");
    wait_member_in_error(&sg, &a.addr());
    a.resume_listening();
    let got = origins_of(&sg, 20);
    assert!(all_from(&got, "b"), "{got:?}");
    assert_eq!(a.requests(), 0);
}

#[test]
fn member_is_used_again_once_retry_has_passed() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start(&[(a.addr(), "retry=1"), (b.addr(), "")], "");
    a.stop_listening();
    assert_eq!(get(&sg, "/x").origin(), "b");
    wait_member_in_error(&sg, &a.addr());
    a.resume_listening();
    // A request every poll until one reaches a (10 s at most).
    wait_for(
        "a used again after retry=1",
        Duration::from_secs(10),
        || {
            let r = get(&sg, "/x");
            assert_eq!(r.status, 200, "{}", r.summary());
            (a.requests() > 0).then_some(())
        },
        || member_table(&sg),
    );
    wait_member(
        &sg,
        &a.addr(),
        "out of error state",
        Duration::from_secs(5),
        |m| !m.has(flags::ERROR),
    );
}

#[test]
fn lbset_1_is_used_only_while_no_lbset_0_member_is_usable() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start(&[(a.addr(), "lbset=0"), (b.addr(), "lbset=1")], "");
    let got = origins_of(&sg, 10);
    assert!(all_from(&got, "a"), "{got:?}");
    a.stop_listening();
    let got = origins_of(&sg, 10);
    assert!(all_from(&got, "b"), "{got:?}");
    assert_eq!(b.requests(), 10);
}

#[test]
fn lower_lbsets_are_tried_first_whatever_the_order_of_the_lines() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let c = Origin::start("c");
    let sg = start(
        &[
            (a.addr(), "lbset=2"),
            (b.addr(), "lbset=1"),
            (c.addr(), "lbset=3"),
        ],
        "",
    );
    let got = origins_of(&sg, 5);
    assert!(all_from(&got, "b"), "{got:?}");
    b.stop_listening();
    let got = origins_of(&sg, 5);
    assert!(all_from(&got, "a"), "{got:?}");
}

#[test]
fn hot_standby_is_used_only_when_no_other_member_is_usable() {
    let a = Origin::start("a");
    let h = Origin::start("h");
    let sg = start(&[(h.addr(), "status=+H"), (a.addr(), "")], "");
    let got = origins_of(&sg, 10);
    assert!(all_from(&got, "a"), "{got:?}");
    assert_eq!(h.requests(), 0);
    a.stop_listening();
    let got = origins_of(&sg, 10);
    assert!(all_from(&got, "h"), "{got:?}");
}

#[test]
fn standby_of_lbset_0_is_used_before_members_of_lbset_1() {
    // reference §3.1 [obs]: lbset 0 = {D, H}, lbset 1 = {normal}: all to H.
    let d = Origin::start("d");
    let h = Origin::start("h");
    let n = Origin::start("n");
    let sg = start(
        &[
            (d.addr(), "status=+D"),
            (h.addr(), "status=+H"),
            (n.addr(), "lbset=1"),
        ],
        "",
    );
    let got = origins_of(&sg, 10);
    assert!(all_from(&got, "h"), "{got:?}");
}

#[test]
fn disabled_and_stopped_members_are_never_chosen() {
    let d = Origin::start("d");
    let s = Origin::start("s");
    let b = Origin::start("b");
    let sg = start(
        &[
            (d.addr(), "status=+D"),
            (s.addr(), "status=+S"),
            (b.addr(), ""),
        ],
        "",
    );
    let got = origins_of(&sg, 20);
    assert!(all_from(&got, "b"), "{got:?}");
    assert_eq!((d.requests(), s.requests()), (0, 0));
    let md = member(&sg, &d.addr());
    let ms = member(&sg, &s.addr());
    assert_eq!(md.display(), "Init Dis ", "{}", member_table(&sg));
    assert_eq!(ms.display(), "Init Stop ", "{}", member_table(&sg));
}

#[test]
fn status_e_in_the_configuration_is_retried_at_once() {
    // reference §2.5 [obs]: error_time starts at 0, so the member is usable
    // on its first selection.
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start(&[(a.addr(), "status=+E"), (b.addr(), "")], "");
    let got = origins_of(&sg, 4);
    assert_eq!(got, ["a", "b", "a", "b"]);
}

#[test]
fn every_member_refusing_gives_503_naming_the_balancer_in_the_error_log() {
    let dead1 = RefusingPort::new();
    let dead2 = RefusingPort::new();
    let sg = start(&[(dead1.addr(), ""), (dead2.addr(), "")], "");
    let r = get(&sg, "/x");
    assert_eq!(r.status, 503, "{}", r.summary());
    wait_member_in_error(&sg, &dead1.addr());
    wait_member_in_error(&sg, &dead2.addr());
    let r = get(&sg, "/x");
    assert_eq!(r.status, 503, "{}", r.summary());
    wait_for(
        "the error log to name balancer://c1",
        Duration::from_secs(5),
        || sg.error_log().contains("balancer://c1").then_some(()),
        || sg.error_log(),
    );
}

#[test]
fn every_member_disabled_gives_503() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start(&[(a.addr(), "status=+D"), (b.addr(), "status=+S")], "");
    let r = get(&sg, "/x");
    assert_eq!(r.status, 503, "{}", r.summary());
    assert_eq!((a.requests(), b.requests()), (0, 0));
    wait_for(
        "the error log to name balancer://c1",
        Duration::from_secs(5),
        || sg.error_log().contains("balancer://c1").then_some(()),
        || sg.error_log(),
    );
}

#[test]
fn maxattempts_zero_answers_503_without_trying_another_member() {
    let dead = RefusingPort::new();
    let b = Origin::start("b");
    let sg = start(&[(dead.addr(), ""), (b.addr(), "")], "maxattempts=0");
    let r = get(&sg, "/x");
    assert_eq!(r.status, 503, "{}", r.summary());
    assert_eq!(b.requests(), 0);
    // The dead member is now in error, so the next request goes to b.
    wait_member_in_error(&sg, &dead.addr());
    assert_eq!(origins_of(&sg, 3), ["b", "b", "b"]);
}

#[test]
fn default_maxattempts_tries_every_member() {
    let dead1 = RefusingPort::new();
    let dead2 = RefusingPort::new();
    let c = Origin::start("c");
    let sg = start(
        &[(dead1.addr(), ""), (dead2.addr(), ""), (c.addr(), "")],
        "",
    );
    let r = get(&sg, "/x");
    assert_eq!(r.status, 200, "{}{}", r.summary(), member_table(&sg));
    assert_eq!(r.origin(), "c");
    wait_member_in_error(&sg, &dead1.addr());
    wait_member_in_error(&sg, &dead2.addr());
}

#[test]
fn maxattempts_one_gives_up_after_the_second_member() {
    // Selection order with equal weights: dead1, then dead2 (c keeps its
    // credit but loses the tie), so the one extra attempt is spent on dead2.
    let dead1 = RefusingPort::new();
    let dead2 = RefusingPort::new();
    let c = Origin::start("c");
    let sg = start(
        &[(dead1.addr(), ""), (dead2.addr(), ""), (c.addr(), "")],
        "maxattempts=1",
    );
    let r = get(&sg, "/x");
    assert_eq!(r.status, 503, "{}{}", r.summary(), member_table(&sg));
    assert_eq!(c.requests(), 0);
    assert_eq!(origins_of(&sg, 2), ["c", "c"]);
}

#[test]
fn failed_attempt_replays_the_request_body_to_the_next_member() {
    let dead = RefusingPort::new();
    let b = Origin::start("b");
    let sg = start(&[(dead.addr(), ""), (b.addr(), "")], "");
    let body = pattern(100_000);
    let r = http_request(sg.port(), "POST", "/sha256", &[], Some(&body));
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(r.origin(), "b");
    assert_eq!(r.text(), format!("{} {}", sha256_hex(&body), body.len()));
}

#[test]
fn failonstatus_puts_the_member_in_error_after_forwarding_the_response() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    a.set_mode(Mode::Status(500));
    let sg = start(&[(a.addr(), ""), (b.addr(), "")], "failonstatus=500,503");
    let r = get(&sg, "/x");
    assert_eq!(
        r.status,
        500,
        "the response still goes to the client: {}",
        r.summary()
    );
    assert_eq!(r.origin(), "a");
    wait_member_in_error(&sg, &a.addr());
    let got = origins_of(&sg, 10);
    assert!(all_from(&got, "b"), "{got:?}");
}

#[test]
fn status_not_listed_in_failonstatus_keeps_the_member() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    a.set_mode(Mode::Status(502));
    let sg = start(&[(a.addr(), ""), (b.addr(), "")], "failonstatus=500");
    let statuses: Vec<u16> = (0..4).map(|_| get(&sg, "/x").status).collect();
    assert_eq!(statuses, [502, 200, 502, 200]);
    assert!(
        !member(&sg, &a.addr()).has(flags::ERROR),
        "{}",
        member_table(&sg)
    );
}

#[test]
fn failontimeout_puts_the_member_in_error() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    a.set_mode(Mode::Hang);
    let sg = start(
        &[(a.addr(), "timeout=1"), (b.addr(), "timeout=1")],
        "failontimeout=On",
    );
    let r = get(&sg, "/x");
    // httpd answers 502 here [obs]; slotgate answers a member timeout with 504.
    assert!(r.status == 502 || r.status == 504, "{}", r.summary());
    assert_eq!(
        a.requests(),
        1,
        "the request was sent, so it is not retried"
    );
    wait_member_in_error(&sg, &a.addr());
    let got = origins_of(&sg, 5);
    assert!(all_from(&got, "b"), "{got:?}");
}

#[test]
fn forcerecovery_brings_back_a_balancer_whose_members_are_all_in_error() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start(&[(a.addr(), "retry=60"), (b.addr(), "retry=60")], "");
    a.stop_listening();
    b.stop_listening();
    assert_eq!(get(&sg, "/x").status, 503);
    wait_member_in_error(&sg, &a.addr());
    wait_member_in_error(&sg, &b.addr());
    a.resume_listening();
    b.resume_listening();
    // Both in E, neither due for retry: forcerecovery (On by default) clears E.
    let r = get(&sg, "/x");
    assert_eq!(r.status, 200, "{}{}", r.summary(), member_table(&sg));
}

#[test]
fn forcerecovery_off_leaves_a_balancer_whose_members_are_all_in_error_at_503() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start(
        &[(a.addr(), "retry=60"), (b.addr(), "retry=60")],
        "forcerecovery=Off",
    );
    a.stop_listening();
    b.stop_listening();
    assert_eq!(get(&sg, "/x").status, 503);
    wait_member_in_error(&sg, &a.addr());
    wait_member_in_error(&sg, &b.addr());
    a.resume_listening();
    b.resume_listening();
    let r = get(&sg, "/x");
    assert_eq!(r.status, 503, "{}{}", r.summary(), member_table(&sg));
    assert_eq!((a.requests(), b.requests()), (0, 0));
}

#[test]
fn disabled_member_prevents_forcerecovery() {
    // reference §3.6 / §9 #13: a member with D but without E counts as healthy.
    let a = Origin::start("a");
    let d = Origin::start("d");
    let sg = start(&[(a.addr(), "retry=60"), (d.addr(), "status=+D")], "");
    a.stop_listening();
    assert_eq!(get(&sg, "/x").status, 503);
    wait_member_in_error(&sg, &a.addr());
    a.resume_listening();
    let r = get(&sg, "/x");
    assert_eq!(r.status, 503, "{}{}", r.summary(), member_table(&sg));
}

#[test]
fn member_ignoring_errors_is_never_put_in_error() {
    let dead = RefusingPort::new();
    let b = Origin::start("b");
    let sg = start(&[(dead.addr(), "status=+I"), (b.addr(), "")], "");
    for _ in 0..4 {
        let _ = get(&sg, "/x");
    }
    wait_member(
        &sg,
        &dead.addr(),
        "errors counted",
        Duration::from_secs(5),
        |m| m.errors >= 1,
    );
    let m = member(&sg, &dead.addr());
    assert!(!m.has(flags::ERROR), "{}", member_table(&sg));
}

#[test]
fn member_killed_under_load_loses_no_request() {
    // 2000 requests from 16 keep-alive clients over 4 workers; after 500
    // answers b stops listening. Connects to b are refused before anything is
    // sent, so each such request goes to a; what b had accepted it finishes.
    const TOTAL: usize = 2000;
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = Slotgate::start(&render(
        &format!(
            "Listen 127.0.0.1:0\nStartServers 4\nServerName test.local\n{}",
            balancer(&[("{a}".into(), ""), ("{b}".into(), "")], "")
        ),
        &[&a, &b],
    ));
    sg.wait_workers(4, Duration::from_secs(10));
    let done = AtomicUsize::new(0);
    let mut b_before_stop = 0;
    let result = thread::scope(|scope| {
        let killer = scope.spawn(|| {
            wait_for(
                "500 requests done",
                LOAD_DEADLINE,
                || (done.load(Ordering::SeqCst) >= 500).then_some(()),
                || format!("{} done", done.load(Ordering::SeqCst)),
            );
            let before = b.requests();
            b.stop_listening();
            before
        });
        let result = run_load(
            sg.port(),
            16,
            TOTAL,
            &|_| LoadRequest::get("/x"),
            Some(&done),
        );
        b_before_stop = killer.join().expect("the thread stopping b");
        result
    });
    assert_eq!(
        result.failed,
        0,
        "{} failed: {:?}{}",
        result.failed,
        result.failures,
        member_table(&sg)
    );
    assert_eq!(result.statuses.get(&200), Some(&TOTAL), "{result:?}");
    assert!(
        b_before_stop > 0,
        "b served nothing before it stopped: {result:?}"
    );
    assert!(
        result.from("a") > TOTAL / 2,
        "a took over after b stopped: {result:?}"
    );
    // Each request reached exactly one origin.
    assert_eq!(a.requests() + b.requests(), TOTAL);
    wait_member_in_error(&sg, &b.addr());
}

#[test]
fn hot_spare_stands_in_for_a_failed_member() {
    // reference §3.1: a usable spare is offered once per unusable normal
    // member of its lbset; the second spare stays idle.
    let a = Origin::start("a");
    let b = Origin::start("b");
    let r1 = Origin::start("r1");
    let r2 = Origin::start("r2");
    let sg = start(
        &[
            (a.addr(), ""),
            (b.addr(), ""),
            (r1.addr(), "status=+R"),
            (r2.addr(), "status=+R"),
        ],
        "",
    );
    let got = origins_of(&sg, 4);
    assert_eq!(got, ["a", "b", "a", "b"]);
    a.stop_listening();
    // The request that finds a refusing goes on to another member.
    let _ = origins_of(&sg, 1);
    wait_member_in_error(&sg, &a.addr());
    let got = origins_of(&sg, 10);
    assert_eq!(got.iter().filter(|o| *o == "b").count(), 5, "{got:?}");
    assert_eq!(got.iter().filter(|o| *o == "r1").count(), 5, "{got:?}");
    assert_eq!(r2.requests(), 0);
}

#[test]
fn balancer_timeout_waits_for_a_member_to_become_usable() {
    // a is in error with retry=2 and the disabled d keeps forcerecovery from
    // clearing it; with timeout=10 the balancer polls until a's retry is due
    // instead of answering 503 at once.
    let a = Origin::start("a");
    let d = Origin::start("d");
    let sg = start(
        &[(a.addr(), "retry=2"), (d.addr(), "status=+D")],
        "timeout=10",
    );
    a.stop_listening();
    let _ = get(&sg, "/x");
    wait_member_in_error(&sg, &a.addr());
    a.resume_listening();
    let r = get(&sg, "/x");
    assert_eq!(r.status, 200, "{}{}", r.summary(), member_table(&sg));
    assert_eq!(r.origin(), "a");
}
