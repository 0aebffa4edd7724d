//! Tests of the selection skeleton (reference §3.1, §3.6), sticky selection
//! (§4) and the cross-process exactness of the counters.

use std::time::{Duration, Instant};

use scoreboard::flags::{
    DISABLED, DRAIN, ERROR, HC_FAILED, HOT_SPARE, HOT_STANDBY, IGNORE_ERRORS, INIT, SHUTDOWN,
    STOPPED,
};
use scoreboard::Scoreboard;

use super::testutil::{pick, test_balancer, Board, M, NOW, NO_KEYS, RETRY_MS};
use super::{usable_after_retry, Balancer, Choice, Method, NoMember, StickyKeys};

fn picks(board: &Board, b: &Balancer, n: usize) -> Vec<String> {
    (0..n).map(|_| pick(board, b)).collect()
}

// ---------------------------------------------------------------------------
// §3.1 the skeleton
// ---------------------------------------------------------------------------

#[test]
fn standby_of_lbset_0_is_used_before_normal_members_of_lbset_1() {
    let board = Board::new(3);
    let b = board.balancer(
        Method::ByRequests,
        &[
            M::new("d", 1).flags(INIT | DISABLED),
            M::new("h", 1).flags(INIT | HOT_STANDBY),
            M::new("n", 1).lbset(1),
        ],
    );
    assert_eq!(picks(&board, &b, 4), ["h", "h", "h", "h"]);
}

#[test]
fn spares_stand_in_for_unusable_members_only() {
    let board = Board::new(4);
    let b = board.balancer(
        Method::ByRequests,
        &[
            M::new("d", 1).flags(INIT | DISABLED),
            M::new("n", 1),
            M::new("r1", 1).flags(INIT | HOT_SPARE),
            M::new("r2", 1).flags(INIT | HOT_SPARE),
        ],
    );
    assert_eq!(picks(&board, &b, 4), ["n", "r1", "n", "r1"]);
    assert_eq!(board.elected(4), [0, 2, 2, 0], "r2 stays idle");
    // With every normal member usable no spare is offered.
    board.sb.member(0).set_status(INIT);
    assert_eq!(picks(&board, &b, 4), ["d", "n", "d", "n"]);
    assert_eq!(board.elected(4), [2, 4, 2, 0]);
}

#[test]
fn a_draining_member_lets_a_spare_stand_in() {
    let board = Board::new(3);
    let b = board.balancer(
        Method::ByRequests,
        &[
            M::new("n1", 1).flags(INIT | DRAIN),
            M::new("n2", 1),
            M::new("r", 1).flags(INIT | HOT_SPARE),
        ],
    );
    assert_eq!(picks(&board, &b, 4), ["n2", "r", "n2", "r"]);
}

#[test]
fn higher_lbset_only_when_lower_is_unusable() {
    let board = Board::new(3);
    let b = board.balancer(
        Method::ByRequests,
        &[
            M::new("a", 1).lbset(1),
            M::new("b", 1),
            M::new("c", 1).lbset(2),
        ],
    );
    assert_eq!(picks(&board, &b, 3), ["b", "b", "b"]);
    board.sb.member(1).set_status(INIT | DISABLED);
    assert_eq!(picks(&board, &b, 3), ["a", "a", "a"]);
    board.sb.member(0).set_status(INIT | STOPPED);
    assert_eq!(picks(&board, &b, 2), ["c", "c"]);
    // Members of other lbsets got no credit.
    assert_eq!(board.lbstatus(3), [0, 0, 0]);
}

#[test]
fn standby_only_when_no_normal_member_is_usable() {
    let board = Board::new(3);
    let b = board.balancer(
        Method::ByRequests,
        &[
            M::new("h", 1).flags(INIT | HOT_STANDBY),
            M::new("a", 1),
            M::new("b", 1),
        ],
    );
    assert_eq!(picks(&board, &b, 4), ["a", "b", "a", "b"]);
    board.sb.member(1).set_status(INIT | ERROR);
    board.sb.member(1).set_error_time(NOW);
    assert_eq!(picks(&board, &b, 2), ["b", "b"]);
    board.sb.member(2).set_status(INIT | HC_FAILED);
    assert_eq!(picks(&board, &b, 2), ["h", "h"]);
}

#[test]
fn draining_member_is_skipped_by_the_method_but_taken_by_route() {
    let board = Board::new(2);
    let b = board.balancer(
        Method::ByRequests,
        &[
            M::new("n", 1).route("rn").flags(INIT | DRAIN),
            M::new("a", 1).route("ra"),
        ],
    );
    board.sb.balancer(0).sticky.set("ROUTEID");
    assert_eq!(picks(&board, &b, 3), ["a", "a", "a"]);
    let c = select_with_cookie(&board, &b, "ROUTEID=.rn").unwrap();
    assert_eq!(c.member, 0);
    assert!(!c.route_changed);
}

#[test]
fn disabled_stopped_shutting_down_and_uninitialised_are_never_chosen() {
    let board = Board::new(5);
    let b = board.balancer(
        Method::ByRequests,
        &[
            M::new("d", 1).flags(INIT | DISABLED),
            M::new("s", 1).flags(INIT | STOPPED),
            M::new("u", 1).flags(INIT | SHUTDOWN),
            M::new("o", 1).flags(0),
            M::new("ok", 1),
        ],
    );
    assert_eq!(picks(&board, &b, 3), ["ok", "ok", "ok"]);
    board.sb.member(4).set_status(INIT | STOPPED);
    assert_eq!(
        b.select(&board.sb, &NO_KEYS, NOW + 10 * RETRY_MS),
        Err(NoMember::AllUnusable)
    );
}

#[test]
fn error_member_is_skipped_until_retry_passes() {
    let board = Board::new(2);
    let b = board.balancer(
        Method::ByRequests,
        &[
            M::new("e", 1).flags(INIT | ERROR).error_at(NOW),
            M::new("a", 1),
        ],
    );
    for _ in 0..3 {
        assert_eq!(board.choose(&b).member, 1);
    }
    assert_eq!(board.sb.member(0).retries(), 0);
    // At exactly error_time + retry it is not due yet ("now > …").
    assert_eq!(
        b.select(&board.sb, &NO_KEYS, NOW + RETRY_MS)
            .unwrap()
            .member,
        1
    );
    // Due: the retry check clears E and counts a retry; e and a tie on
    // lbstatus and e is offered first.
    let later = NOW + RETRY_MS + 1;
    assert_eq!(b.select(&board.sb, &NO_KEYS, later).unwrap().member, 0);
    let e = board.sb.member(0);
    assert_eq!(e.status(), INIT);
    assert_eq!(e.retries(), 1);
}

#[test]
fn configured_error_status_is_retried_on_first_selection() {
    // status=+E with error_time 0 has no real effect (§2.5 [obs]).
    let board = Board::new(1);
    let b = board.balancer(Method::ByRequests, &[M::new("e", 1).flags(INIT | ERROR)]);
    assert_eq!(pick(&board, &b), "e");
}

#[test]
fn all_unusable_and_no_members() {
    let board = Board::new(2);
    let b = board.balancer(
        Method::ByRequests,
        &[
            M::new("d", 1).flags(INIT | DISABLED),
            M::new("h", 1).flags(INIT | HOT_STANDBY | DISABLED),
        ],
    );
    assert_eq!(
        b.select(&board.sb, &NO_KEYS, NOW),
        Err(NoMember::AllUnusable)
    );

    let empty = test_balancer(Method::ByRequests, 0);
    assert_eq!(
        empty.select(&board.sb, &NO_KEYS, NOW),
        Err(NoMember::NoMembers)
    );
    // Slots not in use are absent.
    board.sb.member(0).set_in_use(false);
    board.sb.member(1).set_in_use(false);
    assert_eq!(b.select(&board.sb, &NO_KEYS, NOW), Err(NoMember::NoMembers));
}

// ---------------------------------------------------------------------------
// §3.6 retry check and forcerecovery
// ---------------------------------------------------------------------------

#[test]
fn retry_check() {
    let board = Board::new(1);
    board.balancer(Method::ByRequests, &[M::new("m", 1)]);
    let slot = board.sb.member(0);
    let due = NOW + RETRY_MS + 1;
    let cases: [(u32, u64, bool, u32); 8] = [
        // (status, now, usable, status after)
        (INIT, NOW, true, INIT),
        (INIT | ERROR, NOW, false, INIT | ERROR),
        (INIT | ERROR, due, true, INIT),
        (
            INIT | ERROR | IGNORE_ERRORS,
            NOW,
            true,
            INIT | IGNORE_ERRORS,
        ),
        (INIT | ERROR | STOPPED, due, false, INIT | ERROR | STOPPED),
        (INIT | ERROR | DISABLED, due, false, INIT | DISABLED),
        (INIT | DISABLED, due, false, INIT | DISABLED),
        (ERROR, due, false, 0),
    ];
    for (status, now, usable, after) in cases {
        slot.set_status(status);
        slot.set_error_time(NOW);
        slot.set_retries(0);
        assert_eq!(
            usable_after_retry(slot, RETRY_MS, now),
            usable,
            "{status:#x}"
        );
        assert_eq!(slot.status(), after, "{status:#x}");
        let retried = status & ERROR != 0 && after & ERROR == 0;
        assert_eq!(slot.retries(), u32::from(retried), "{status:#x}");
    }
}

fn all_in_error(board: &Board, n: usize) {
    for i in 0..n {
        let slot = board.sb.member(i);
        slot.set_flags(ERROR);
        slot.set_error_time(NOW);
    }
}

#[test]
fn forcerecovery_clears_error_when_every_member_is_in_error() {
    let board = Board::new(2);
    let b = board.balancer(Method::ByRequests, &[M::new("a", 1), M::new("b", 1)]);
    all_in_error(&board, 2);
    assert_eq!(pick(&board, &b), "a");
    assert_eq!(board.sb.member(0).status(), INIT);
    assert_eq!(board.sb.member(1).status(), INIT);
    assert_eq!(board.sb.member(1).retries(), 1);
}

#[test]
fn forcerecovery_off_answers_503_until_retry_passes() {
    let board = Board::new(2);
    let mut b = board.balancer(Method::ByRequests, &[M::new("a", 1), M::new("b", 1)]);
    b.spec.force_recovery = false;
    all_in_error(&board, 2);
    assert_eq!(
        b.select(&board.sb, &NO_KEYS, NOW),
        Err(NoMember::AllUnusable)
    );
    assert_eq!(board.sb.member(0).status(), INIT | ERROR);
    let c = b.select(&board.sb, &NO_KEYS, NOW + RETRY_MS + 1).unwrap();
    assert_eq!(c.member, 0);
}

#[test]
fn one_disabled_member_blocks_forcerecovery() {
    // §9 #13, reproduced: D without E counts as healthy.
    let board = Board::new(3);
    let b = board.balancer(
        Method::ByRequests,
        &[
            M::new("a", 1),
            M::new("b", 1),
            M::new("d", 1).flags(INIT | DISABLED),
        ],
    );
    all_in_error(&board, 2);
    assert_eq!(
        b.select(&board.sb, &NO_KEYS, NOW),
        Err(NoMember::AllUnusable)
    );
    assert_eq!(board.sb.member(0).status(), INIT | ERROR);
}

// ---------------------------------------------------------------------------
// Counters: release, mark_error, reset, the live lbmethod
// ---------------------------------------------------------------------------

#[test]
fn release_takes_busy_back_and_counts_bytes() {
    let board = Board::new(1);
    let b = board.balancer(Method::ByRequests, &[M::new("a", 1)]);
    board.choose(&b);
    board.choose(&b);
    assert_eq!(board.busy(1), [2]);
    b.release(&board.sb, 0, 10, 20);
    b.release(&board.sb, 0, 1, 2);
    b.release(&board.sb, 0, 0, 0);
    assert_eq!(board.busy(1), [0], "busy never goes below 0");
    assert_eq!(board.traffic(1), [(11, 22)]);
    assert_eq!(board.elected(1), [2]);
}

#[test]
fn mark_error_enters_error_once() {
    let board = Board::new(2);
    let b = board.balancer(
        Method::ByRequests,
        &[M::new("a", 1), M::new("i", 1).flags(INIT | IGNORE_ERRORS)],
    );
    assert!(b.mark_error(&board.sb, 0, NOW));
    assert!(!b.mark_error(&board.sb, 0, NOW + 5));
    let a = board.sb.member(0);
    assert_eq!(a.status(), INIT | ERROR);
    assert_eq!(a.errors(), 2);
    assert_eq!(a.error_time(), NOW + 5);

    assert!(!b.mark_error(&board.sb, 1, NOW));
    let i = board.sb.member(1);
    assert_eq!(i.status(), INIT | IGNORE_ERRORS);
    assert_eq!(i.errors(), 1);
    assert_eq!(i.error_time(), 0);
    // The error member is avoided, the I member keeps serving.
    assert_eq!(picks(&board, &b, 2), ["i", "i"]);
}

#[test]
fn fails_on_status() {
    let board = Board::new(1);
    let mut b = board.balancer(Method::ByRequests, &[M::new("a", 1)]);
    assert!(!b.fails_on_status(503));
    b.spec.fail_on_status = vec![500, 503];
    assert!(b.fails_on_status(503));
    assert!(!b.fails_on_status(502));
}

#[test]
fn the_slot_lbmethod_overrides_the_configured_one() {
    let board = Board::new(2);
    let b = board.balancer(Method::ByRequests, &[M::new("a", 1), M::new("b", 1)]);
    assert_eq!(b.method(&board.sb), Method::ByRequests);
    board.sb.balancer(0).lbmethod.set("bytraffic");
    assert_eq!(b.method(&board.sb), Method::ByTraffic);
    // bytraffic without traffic: always the first.
    assert_eq!(picks(&board, &b, 3), ["a", "a", "a"]);
    board.sb.balancer(0).lbmethod.set("roundrobin");
    assert_eq!(
        b.method(&board.sb),
        Method::ByRequests,
        "unknown: the configured one"
    );
}

#[test]
fn method_names() {
    for name in Method::ALL {
        let m = Method::from_name(name).unwrap();
        assert_eq!(m.name(), name);
        assert_eq!(m.rule().method(), m);
        assert_eq!(m.to_string(), name);
    }
    assert_eq!(Method::from_name("ByRequests"), None);
    assert_eq!(Method::from_name("roundrobin"), None);
}

#[test]
fn loadfactor_change_restarts_lbstatus_at_lbfactor() {
    let board = Board::new(2);
    let b = board.balancer(Method::ByRequests, &[M::new("a", 1), M::new("b", 3)]);
    board.choose(&b);
    b.loadfactor_changed(&board.sb);
    assert_eq!(board.lbstatus(2), [100, 300]);
}

// ---------------------------------------------------------------------------
// §4 sticky selection
// ---------------------------------------------------------------------------

fn select_with_cookie(board: &Board, b: &Balancer, cookie: &str) -> Result<Choice, NoMember> {
    let headers = [cookie.as_bytes()];
    let keys = StickyKeys {
        url: "/app",
        cookie_headers: &headers,
        headers: &[],
        client_ip: None,
    };
    b.select(&board.sb, &keys, NOW)
}

/// a (r1), b (r2), c (r3), sticky on cookie ROUTEID.
fn sticky_board() -> (Board, Balancer) {
    let board = Board::new(3);
    let b = board.balancer(
        Method::ByRequests,
        &[
            M::new("a", 1).route("r1"),
            M::new("b", 1).route("r2"),
            M::new("c", 1).route("r3"),
        ],
    );
    board.sb.balancer(0).sticky.set("ROUTEID");
    board.sb.balancer(0).sticky_path.set("routeid");
    (board, b)
}

#[test]
fn route_to_a_usable_member() {
    let (board, b) = sticky_board();
    let c = select_with_cookie(&board, &b, "ROUTEID=.r2").unwrap();
    assert_eq!(
        c,
        Choice {
            member: 1,
            session_sticky: Some("ROUTEID".to_owned()),
            session_route: Some("r2".to_owned()),
            route_changed: false,
        }
    );
    assert_eq!(board.elected(3), [0, 1, 0]);
    assert_eq!(board.busy(3), [0, 1, 0]);
    // The sticky credit: everyone +100, the routed member −300.
    assert_eq!(board.lbstatus(3), [100, -200, 100]);
    // From the URL parameter.
    let keys = StickyKeys {
        url: "/app?routeid=x.r3",
        cookie_headers: &[],
        headers: &[],
        client_ip: None,
    };
    let c = b.select(&board.sb, &keys, NOW).unwrap();
    assert_eq!(
        (c.member, c.session_sticky.as_deref()),
        (2, Some("routeid"))
    );
}

#[test]
fn route_to_an_error_member_falls_back_to_balancing() {
    let (board, b) = sticky_board();
    board.sb.member(0).set_status(INIT | ERROR);
    board.sb.member(0).set_error_time(NOW);
    let c = select_with_cookie(&board, &b, "ROUTEID=.r1").unwrap();
    assert_eq!(c.member, 1);
    assert!(c.route_changed);
    assert_eq!(c.session_route.as_deref(), Some("r1"));
    assert_eq!(c.session_sticky.as_deref(), Some("ROUTEID"));
    // §9 #18: every later request with the dead route is re-balanced.
    let c = select_with_cookie(&board, &b, "ROUTEID=.r1").unwrap();
    assert_eq!(c.member, 2);
    assert!(c.route_changed);
}

#[test]
fn nofailover_answers_503_for_an_unusable_route() {
    let (board, b) = sticky_board();
    board.sb.balancer(0).set_nofailover(true);
    board.sb.member(0).set_status(INIT | DISABLED);
    assert_eq!(
        select_with_cookie(&board, &b, "ROUTEID=.r1"),
        Err(NoMember::StickyRouteUnusable {
            route: "r1".to_owned()
        })
    );
    // A route no member has is balanced normally.
    let c = select_with_cookie(&board, &b, "ROUTEID=.zz").unwrap();
    assert!(c.route_changed);
    // A usable redirect still serves it.
    board.sb.member(0).redirect.set("r3");
    assert_eq!(
        select_with_cookie(&board, &b, "ROUTEID=.r1")
            .unwrap()
            .member,
        2
    );
}

#[test]
fn redirect_r1_to_r2() {
    let (board, b) = sticky_board();
    board.sb.member(0).set_status(INIT | DISABLED);
    board.sb.member(0).redirect.set("r2");
    let c = select_with_cookie(&board, &b, "ROUTEID=.r1").unwrap();
    assert_eq!(c.member, 1);
    assert!(c.route_changed, "the chosen member's route differs");
    assert_eq!(c.session_route.as_deref(), Some("r1"));
}

#[test]
fn draining_member_is_taken_by_route() {
    let (board, b) = sticky_board();
    board.sb.member(2).set_status(INIT | DRAIN);
    assert_eq!(
        select_with_cookie(&board, &b, "ROUTEID=.r3")
            .unwrap()
            .member,
        2
    );
    assert_eq!(picks(&board, &b, 4), ["a", "b", "a", "b"]);
}

#[test]
fn unknown_or_missing_route_is_balanced() {
    let (board, b) = sticky_board();
    let c = select_with_cookie(&board, &b, "ROUTEID=.nope").unwrap();
    assert_eq!(c.member, 0);
    assert!(c.route_changed);
    assert_eq!(c.session_route.as_deref(), Some("nope"));

    let c = select_with_cookie(&board, &b, "ROUTEID=nosep").unwrap();
    assert_eq!(c.member, 1);
    assert!(c.route_changed);
    assert_eq!((c.session_sticky, c.session_route), (None, None));

    // Without stickysession nothing is looked at and nothing "changes" (the
    // live sticky names are the balancer slot's).
    board.sb.balancer(0).sticky.clear();
    board.sb.balancer(0).sticky_path.clear();
    let plain = test_balancer(Method::ByRequests, 3);
    let c = select_with_cookie(&board, &plain, "ROUTEID=.r1").unwrap();
    assert_eq!(c.member, 2);
    assert!(!c.route_changed);
    assert_eq!(c.session_route, None);
}

#[test]
fn sticky_credit_keeps_byrequests_fair() {
    // a and b at equal weight; every other request is stuck to a. The
    // credit makes the balanced requests go to b, so the totals stay 1:1
    // (without it a would get 3 requests out of 4).
    let board = Board::new(2);
    let b = board.balancer(
        Method::ByRequests,
        &[M::new("a", 1).route("ra"), M::new("b", 1).route("rb")],
    );
    board.sb.balancer(0).sticky.set("ROUTEID");
    for _ in 0..100 {
        assert_eq!(
            select_with_cookie(&board, &b, "ROUTEID=.ra")
                .unwrap()
                .member,
            0
        );
        assert_eq!(board.choose(&b).member, 1);
    }
    assert_eq!(board.elected(2), [100, 100]);
    assert_eq!(board.lbstatus(2), [0, 0]);
}

#[test]
fn sticky_credit_reaches_every_usable_member() {
    // Standbys, spares and other lbsets are credited; unusable members not.
    let board = Board::new(4);
    let b = board.balancer(
        Method::ByRequests,
        &[
            M::new("a", 1).route("ra"),
            M::new("h", 2).flags(INIT | HOT_STANDBY),
            M::new("s", 3).lbset(1),
            M::new("d", 4).flags(INIT | DISABLED),
        ],
    );
    board.sb.balancer(0).sticky.set("ROUTEID");
    select_with_cookie(&board, &b, "ROUTEID=.ra").unwrap();
    assert_eq!(board.lbstatus(4), [100 - 600, 200, 300, 0]);
}

// ---------------------------------------------------------------------------
// Exactness across processes
// ---------------------------------------------------------------------------

/// The scoreboard path handed to [`child_worker`] processes.
const CHILD_ENV: &str = "SLOTGATE_BALANCER_TEST_SCOREBOARD";
const CHILDREN: usize = 4;
const PER_CHILD: usize = 250;

/// Waits until the parent opens the gate (header generation 1), so the
/// children select at the same time.
fn wait_for_gate(sb: &Scoreboard) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while sb.header().generation() != 1 {
        assert!(
            Instant::now() < deadline,
            "the parent never opened the gate"
        );
        std::thread::yield_now();
    }
}

fn select_and_release(sb: &Scoreboard, b: &Balancer, n: usize) {
    for _ in 0..n {
        let c = b
            .select(sb, &NO_KEYS, scoreboard::unix_time_ms())
            .expect("a member");
        b.release(sb, c.member, 0, 0);
    }
}

/// Run by [`byrequests_is_exact_across_processes`] as a child process (this
/// test binary re-executed); does nothing in a normal test run.
#[test]
fn child_worker() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let sb = Scoreboard::attach(std::path::Path::new(&path)).expect("attach");
    let b = test_balancer(Method::ByRequests, 2);
    wait_for_gate(&sb);
    select_and_release(&sb, &b, PER_CHILD);
}

#[test]
fn byrequests_is_exact_across_processes() {
    let board = Board::new(2);
    board.balancer(Method::ByRequests, &[M::new("a", 1), M::new("b", 4)]);
    let exe = std::env::current_exe().expect("test binary");
    let children: Vec<_> = (0..CHILDREN)
        .map(|_| {
            std::process::Command::new(&exe)
                .args([
                    "--exact",
                    "balancer::tests::child_worker",
                    "--nocapture",
                    "--test-threads",
                    "1",
                ])
                .env(CHILD_ENV, board.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn child")
        })
        .collect();
    board.sb.header().set_generation(1);
    for child in children {
        let out = child.wait_with_output().expect("wait for child");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "child failed: {}\n{stdout}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(board.elected(2), [200, 800]);
    assert_eq!(board.lbstatus(2), [0, 0]);
    assert_eq!(board.busy(2), [0, 0]);
}

#[test]
fn byrequests_is_exact_across_attachments_in_threads() {
    let board = Board::new(2);
    board.balancer(Method::ByRequests, &[M::new("a", 1), M::new("b", 4)]);
    std::thread::scope(|scope| {
        for _ in 0..CHILDREN {
            scope.spawn(|| {
                let sb = Scoreboard::attach(board.path()).expect("attach");
                let b = test_balancer(Method::ByRequests, 2);
                wait_for_gate(&sb);
                select_and_release(&sb, &b, PER_CHILD);
            });
        }
        board.sb.header().set_generation(1);
    });
    assert_eq!(board.elected(2), [200, 800]);
    assert_eq!(board.lbstatus(2), [0, 0]);
}
