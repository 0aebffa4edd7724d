//! bybusyness (reference §3.3): the member with fewer requests in flight (the
//! scoreboard's `busy`, shared by every worker) wins; with no load it is
//! byrequests. Assertions are on counts, never on time.

mod common;

use common::*;
use std::time::Duration;

fn busy_pair(a: &Origin, b: &Origin, servers: usize, weights: (u32, u32)) -> Slotgate {
    let sg = Slotgate::start(&render(
        &format!(
            "Listen 127.0.0.1:0\nStartServers {servers}\nServerName test.local\n\
             <Proxy balancer://c1>\n    BalancerMember http://{{a}} loadfactor={}\n    \
             BalancerMember http://{{b}} loadfactor={}\n    ProxySet lbmethod=bybusyness\n\
             </Proxy>\nProxyPass / balancer://c1/\n",
            weights.0, weights.1
        ),
        &[a, b],
    ));
    sg.wait_workers(servers, Duration::from_secs(10));
    sg
}

#[test]
fn slow_member_gets_fewer_requests_under_concurrency() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    a.set_mode(Mode::Slow(Duration::from_millis(300)));
    let sg = busy_pair(&a, &b, 2, (1, 1));
    let result = run_load(sg.port(), 8, 160, &|_| LoadRequest::get("/x"), None);
    assert_eq!(result.failed, 0, "{:?}", result.failures);
    let (na, nb) = (result.from("a"), result.from("b"));
    assert_eq!(na + nb, 160, "{result:?}");
    // byrequests would give 80/80; bybusyness keeps a's share down to about
    // the number of clients stuck on it at any time.
    assert!(
        nb >= 2 * na,
        "slow a got {na}, fast b got {nb}: want b >= 2 a{}",
        member_table(&sg)
    );
}

#[test]
fn busy_returns_to_zero_when_the_load_is_over() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    a.set_mode(Mode::Slow(Duration::from_millis(100)));
    let sg = busy_pair(&a, &b, 2, (1, 1));
    let result = run_load(sg.port(), 8, 80, &|_| LoadRequest::get("/x"), None);
    assert_eq!(result.failed, 0, "{:?}", result.failures);
    for origin in [&a, &b] {
        wait_member(
            &sg,
            &origin.addr(),
            "busy back to 0",
            Duration::from_secs(5),
            |m| m.busy == 0,
        );
    }
}

#[test]
fn busy_counts_requests_in_flight() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    a.set_mode(Mode::Hang);
    b.set_mode(Mode::Hang);
    let sg = Slotgate::start(&render(
        "Listen 127.0.0.1:0\nStartServers 2\nServerName test.local\n<Proxy balancer://c1>\n    BalancerMember http://{a} timeout=30\n    BalancerMember http://{b} timeout=30\n    ProxySet lbmethod=bybusyness\n</Proxy>\nProxyPass / balancer://c1/\n",
        &[&a, &b],
    ));
    // Four requests left hanging: two on each member, whatever worker holds them.
    let mut clients = Vec::new();
    for _ in 0..4 {
        let mut c = Client::connect(sg.port());
        c.send(&request_bytes(sg.port(), "GET", "/x", &[], None));
        clients.push(c);
    }
    let arrived =
        a.wait_requests(2, Duration::from_secs(10)) && b.wait_requests(2, Duration::from_secs(10));
    assert!(
        arrived,
        "a got {}, b got {} of 4 hanging requests{}",
        a.requests(),
        b.requests(),
        member_table(&sg)
    );
    for origin in [&a, &b] {
        wait_member(&sg, &origin.addr(), "busy 2", Duration::from_secs(5), |m| {
            m.busy == 2
        });
    }
    drop(clients);
}

#[test]
fn without_load_bybusyness_follows_the_weights() {
    // Sequential requests on one connection: busy is 0 at every selection, so
    // the byrequests credit decides: 1:4 exactly.
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = busy_pair(&a, &b, 1, (1, 4));
    let mut client = Client::connect(sg.port());
    let mut got = Vec::new();
    for i in 0..50 {
        let r = client.get("/x");
        assert_eq!(r.status, 200, "request {i}: {}", r.summary());
        got.push(r.origin().to_string());
    }
    let na = got.iter().filter(|o| *o == "a").count();
    assert_eq!((na, 50 - na), (10, 40), "{got:?}{}", member_table(&sg));
}
