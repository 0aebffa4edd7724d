//! Members added at run time into a balancer's `growth` slots (issue #7): every
//! worker adopts them on its next use of the balancer, and once enabled they
//! take their share of the traffic. The change is made the way slotgate-top's
//! admin commands make it: straight into the scoreboard file.

mod common;

use common::*;
use scoreboard::Scoreboard;
use slotgate::handlers::edit;

fn served(origin: &Origin) -> usize {
    origin.requests()
}

#[test]
fn a_member_added_to_a_growth_slot_gets_traffic_in_every_worker() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let c = Origin::start("c");
    let sg = Slotgate::start(&render(
        "Listen 127.0.0.1:0
StartServers 2
LogLevel warn
<Proxy balancer://app growth=2>
  BalancerMember http://{a}
  BalancerMember http://{b}
</Proxy>
ProxyPass / balancer://app/
",
        &[&a, &b],
    ));
    for _ in 0..20 {
        assert_eq!(http_get(sg.port(), "/x", &[]).status, 200);
    }
    assert_eq!(served(&c), 0);

    let sb = Scoreboard::attach(sg.scoreboard_path()).expect("attaching the scoreboard");
    let bal = edit::find_balancer(&sb, "app").expect("balancer app in the scoreboard");
    let m = edit::add_member(&sb, bal, &format!("http://{}", c.addr())).expect("a growth slot");
    // Added members start disabled: nothing reaches c yet.
    for _ in 0..20 {
        assert_eq!(http_get(sg.port(), "/x", &[]).status, 200);
    }
    assert_eq!(served(&c), 0, "a disabled new member gets nothing");
    edit::enable(&sb, bal, m).expect("enabling the new member");
    let before = (served(&a), served(&b));
    for _ in 0..90 {
        assert_eq!(http_get(sg.port(), "/x", &[]).status, 200);
    }
    // byrequests over three equal members, across two workers with one shared
    // state: an even third each, give or take the workers' interleaving.
    let (da, db, dc) = (served(&a) - before.0, served(&b) - before.1, served(&c));
    assert_eq!(da + db + dc, 90);
    assert!(
        (20..=40).contains(&dc),
        "the new member got {dc} of 90 (a {da}, b {db})"
    );

    // A balancer without room refuses another member.
    let _ = edit::add_member(&sb, bal, "http://127.0.0.1:9").expect("the second growth slot");
    assert!(edit::add_member(&sb, bal, "http://127.0.0.1:10").is_err());
}
