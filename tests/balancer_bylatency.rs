//! bylatency: power of two choices over the scoreboard's latency average and
//! requests in flight. With one member 5× slower than the other, it gets at
//! most a fifth of the traffic under concurrent load, over several workers
//! (the figures are in the scoreboard, shared by all of them).

mod common;

use common::*;
use std::time::Duration;

/// The members' latency averages (µs), from the scoreboard.
fn ewmas(sg: &Slotgate) -> Vec<u64> {
    let sb = scoreboard::Scoreboard::attach_readonly(sg.scoreboard_path()).unwrap();
    (0..2).map(|i| sb.member(i).latency_ewma_us()).collect()
}

#[test]
fn a_member_5x_slower_gets_at_most_a_fifth() {
    let fast = Origin::start("fast");
    let slow = Origin::start("slow");
    fast.set_mode(Mode::Slow(Duration::from_millis(10)));
    slow.set_mode(Mode::Slow(Duration::from_millis(50)));
    let sg = Slotgate::start(&render(
        "Listen 127.0.0.1:0\nStartServers 2\nServerName test.local\n\
         <Proxy balancer://c1>\n    BalancerMember http://{fast}\n    \
         BalancerMember http://{slow}\n    ProxySet lbmethod=bylatency\n</Proxy>\n\
         ProxyPass / balancer://c1/\n",
        &[&fast, &slow],
    ));
    sg.wait_workers(2, Duration::from_secs(10));
    // Warm-up: the first requests open the pooled connections and fill the
    // latency averages.
    let warm = run_load(sg.port(), 8, 300, &|_| LoadRequest::get("/x"), None);
    assert_eq!(warm.failed, 0, "{:?}", warm.failures);
    let r = run_load(sg.port(), 8, 600, &|_| LoadRequest::get("/x"), None);
    assert_eq!(r.failed, 0, "{:?}", r.failures);
    let (f, s) = (r.from("fast"), r.from("slow"));
    assert_eq!(f + s, 600);
    assert!(
        s * 5 <= 600,
        "slow member got {s} of 600 (fast {f}); latency averages {:?} µs{}",
        ewmas(&sg),
        member_table(&sg)
    );
    assert!(s > 0, "the slow member is still sampled");
}

#[test]
fn without_samples_every_member_is_probed() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "<Proxy balancer://c1>\n    BalancerMember http://{a}\n    BalancerMember http://{b}\n    \
         ProxySet lbmethod=bylatency\n</Proxy>\nProxyPass / balancer://c1/\n",
        &[&a, &b],
    );
    for i in 0..20 {
        let r = http_get(sg.port(), "/x", &[]);
        assert_eq!(r.status, 200, "request {i}: {}", r.summary());
    }
    assert!(a.requests() > 0 && b.requests() > 0, "both probed");
}
