//! bytraffic (reference §3.4): the member with the lowest
//! `transferred / lbfactor + read / lbfactor` wins, ties to the first offered.
//! The counters are the scoreboard's `transferred` (bytes to the member) and
//! `read` (bytes from it). Each test waits on the counters before relying on
//! them, since they may be updated just after the client has its response.

mod common;

use common::*;
use std::time::Duration;

fn traffic_pair(a: &Origin, b: &Origin, weights: (u32, u32)) -> Slotgate {
    start_proxy(
        &format!(
            "<Proxy balancer://c1>\n    BalancerMember http://{{a}} loadfactor={}\n    \
             BalancerMember http://{{b}} loadfactor={}\n    ProxySet lbmethod=bytraffic\n\
             </Proxy>\nProxyPass / balancer://c1/\n",
            weights.0, weights.1
        ),
        &[a, b],
    )
}

/// GETs `path`, expects 200 with the body of `n` pattern bytes; returns X-Origin.
fn fetch(sg: &Slotgate, path: &str, n: u64) -> String {
    let r = http_get(sg.port(), path, &[]);
    assert_eq!(r.status, 200, "{path}: {}", r.summary());
    assert_eq!(r.body.len() as u64, n, "{path}");
    r.origin().to_string()
}

fn wait_read(sg: &Slotgate, origin: &Origin, at_least: u64) {
    wait_member(
        sg,
        &origin.addr(),
        &format!("read >= {at_least}"),
        Duration::from_secs(5),
        |m| m.read >= at_least,
    );
}

/// `n` small GETs; returns their X-Origins.
fn small_requests(sg: &Slotgate, n: usize) -> Vec<String> {
    (0..n).map(|_| fetch(sg, "/bytes/10", 10)).collect()
}

#[test]
fn after_a_large_response_from_a_small_requests_go_to_b() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = traffic_pair(&a, &b, (1, 1));
    // Nothing has flowed: a tie at 0, the first member wins.
    assert_eq!(fetch(&sg, "/bytes/1048576", 1_048_576), "a");
    wait_read(&sg, &a, 1_048_576);
    let got = small_requests(&sg, 30);
    assert!(got.iter().all(|o| o == "b"), "{got:?}{}", member_table(&sg));
}

#[test]
fn traffic_swings_back_once_b_has_moved_more() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = traffic_pair(&a, &b, (1, 1));
    assert_eq!(fetch(&sg, "/bytes/1048576", 1_048_576), "a");
    wait_read(&sg, &a, 1_048_576);
    // b has less traffic, so b serves the next large body, and then has more.
    assert_eq!(fetch(&sg, "/bytes/2097152", 2_097_152), "b");
    wait_read(&sg, &b, 2_097_152);
    let got = small_requests(&sg, 30);
    assert!(got.iter().all(|o| o == "a"), "{got:?}{}", member_table(&sg));
}

#[test]
fn loadfactor_divides_the_traffic() {
    // a (factor 1) moved 100 000 bytes: traffic 1000. b (factor 4) then moves
    // 300 000: traffic 750, still the lowest, so small requests stay on b.
    // Without the division b would count 300 000 and lose to a.
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = traffic_pair(&a, &b, (1, 4));
    assert_eq!(fetch(&sg, "/bytes/100000", 100_000), "a");
    wait_read(&sg, &a, 100_000);
    assert_eq!(fetch(&sg, "/bytes/300000", 300_000), "b");
    wait_read(&sg, &b, 300_000);
    let got = small_requests(&sg, 20);
    assert!(got.iter().all(|o| o == "b"), "{got:?}{}", member_table(&sg));
}

#[test]
fn request_bodies_count_as_traffic_to_the_member() {
    // A 1 MiB upload to a makes a the busier member for small requests too.
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = traffic_pair(&a, &b, (1, 1));
    let body = pattern(1_048_576);
    let r = http_request(sg.port(), "POST", "/sha256", &[], Some(&body));
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(r.origin(), "a");
    wait_member(
        &sg,
        &a.addr(),
        "transferred >= 1 MiB",
        Duration::from_secs(5),
        |m| m.transferred >= 1_048_576,
    );
    let got = small_requests(&sg, 20);
    assert!(got.iter().all(|o| o == "b"), "{got:?}{}", member_table(&sg));
}

#[test]
fn counters_hold_bytes_to_and_from_each_member() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = traffic_pair(&a, &b, (1, 1));
    assert_eq!(fetch(&sg, "/bytes/50000", 50_000), "a");
    let m = wait_member(
        &sg,
        &a.addr(),
        "read >= 50000",
        Duration::from_secs(5),
        |m| m.read >= 50_000 && m.transferred > 0,
    );
    // The request head went out (a few dozen bytes at least); the response
    // body came back, plus at most a status line and headers.
    assert!(
        m.transferred >= 20 && m.transferred < 4096,
        "{}",
        member_table(&sg)
    );
    assert!(m.read < 50_000 + 4096, "{}", member_table(&sg));
    let mb = member(&sg, &b.addr());
    assert_eq!((mb.transferred, mb.read), (0, 0), "{}", member_table(&sg));
}
