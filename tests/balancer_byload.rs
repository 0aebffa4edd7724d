//! byload: members report their load in `X-Backend-Load: l=… i=… b=…`; the
//! lowest reported load per weight gets the next request, a member that
//! never reported counts as the average.

mod common;

use common::*;

fn origin_of(sg: &Slotgate) -> String {
    let r = http_get(sg.port(), "/x", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    r.origin().to_string()
}

#[test]
fn traffic_follows_the_reported_load() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    a.set_response_headers(&[("X-Backend-Load", "l=4.0 i=2 b=14")]);
    b.set_response_headers(&[("X-Backend-Load", "l=1.0 i=12 b=4")]);
    let sg = start_proxy(
        "<Proxy balancer://c1>\n    BalancerMember http://{a}\n    BalancerMember http://{b}\n    \
         ProxySet lbmethod=byload\n</Proxy>\nProxyPass / balancer://c1/\n",
        &[&a, &b],
    );
    // Nobody reported: a (first); a reports 4, b (unreported) counts as the
    // average 4, wins on lbstatus; b reports 1: b from then on.
    let got: Vec<String> = (0..30).map(|_| origin_of(&sg)).collect();
    assert_eq!(got[..2], ["a", "b"], "{got:?}");
    assert!(
        got[2..].iter().all(|o| o == "b"),
        "{got:?}{}",
        member_table(&sg)
    );
    // b's load rises above a's: its next answer reports it, then a.
    b.set_response_headers(&[("X-Backend-Load", "l=9")]);
    assert_eq!(origin_of(&sg), "b");
    let got: Vec<String> = (0..10).map(|_| origin_of(&sg)).collect();
    assert!(got.iter().all(|o| o == "a"), "{got:?}");
}

#[test]
fn loadfactor_divides_the_load() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    // Same load, but b has 4 times the weight.
    a.set_response_headers(&[("X-Backend-Load", "l=2")]);
    b.set_response_headers(&[("X-Backend-Load", "l=2")]);
    let sg = start_proxy(
        "<Proxy balancer://c1>\n    BalancerMember http://{a} loadfactor=1\n    \
         BalancerMember http://{b} loadfactor=4\n    ProxySet lbmethod=byload\n</Proxy>\n\
         ProxyPass / balancer://c1/\n",
        &[&a, &b],
    );
    // Until a reports, it counts as the average and gets its lbstatus turn;
    // once it has reported (2 per weight 1 against 2 per weight 4): b only.
    let got: Vec<String> = (0..20).map(|_| origin_of(&sg)).collect();
    assert!(got.iter().filter(|o| *o == "a").count() <= 2, "{got:?}");
    assert!(got[5..].iter().all(|o| o == "b"), "{got:?}");
}
