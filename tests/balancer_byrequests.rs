//! byrequests (reference §3.2): httpd's weighted request counting, exact
//! across worker processes because the counters live in the scoreboard and
//! are updated under the balancer's lock: the worked example's order, exact
//! 1:4 shares over 4 workers, 1:4 within ±1% under 16 concurrent clients,
//! `elected` counts and the constant sum of `lbstatus`.

mod common;

use common::*;
use std::time::Duration;

/// Members a (loadfactor 1) and b (loadfactor 4) behind `/`, on `servers` workers.
fn one_to_four(a: &Origin, b: &Origin, servers: usize) -> Slotgate {
    let sg = Slotgate::start(&render(
        &format!(
            "Listen 127.0.0.1:0\nStartServers {servers}\nServerName test.local\n\
             <Proxy balancer://c1>\n    BalancerMember http://{{a}} loadfactor=1\n    \
             BalancerMember http://{{b}} loadfactor=4\n    ProxySet lbmethod=byrequests\n\
             </Proxy>\nProxyPass / balancer://c1/\n"
        ),
        &[a, b],
    ));
    sg.wait_workers(servers, Duration::from_secs(10));
    sg
}

/// Sends `n` sequential GETs on fresh connections; returns the X-Origins in order.
fn sequence(sg: &Slotgate, path: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let r = http_get(sg.port(), path, &[]);
            assert_eq!(r.status, 200, "request {i}: {}", r.summary());
            r.origin().to_string()
        })
        .collect()
}

fn count(origins: &[String], name: &str) -> usize {
    origins.iter().filter(|o| *o == name).count()
}

#[test]
fn worked_example_1_2_3_gives_c_b_a_c_b_c() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let c = Origin::start("c");
    let sg = start_proxy(
        "<Proxy balancer://c1>\n    BalancerMember http://{a} loadfactor=1\n    BalancerMember http://{b} loadfactor=2\n    BalancerMember http://{c} loadfactor=3\n</Proxy>\nProxyPass / balancer://c1/\n",
        &[&a, &b, &c],
    );
    let got = sequence(&sg, "/x", 12);
    assert_eq!(
        got.join(""),
        "cbacbccbacbc",
        "reference §3.2 table, twice{}",
        member_table(&sg)
    );
}

#[test]
fn equal_weights_alternate_starting_with_the_first_member() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "<Proxy balancer://c1>\n    BalancerMember http://{a}\n    BalancerMember http://{b}\n</Proxy>\nProxyPass / balancer://c1/\n",
        &[&a, &b],
    );
    assert_eq!(sequence(&sg, "/x", 6).join(""), "ababab");
}

#[test]
fn sequential_requests_split_exactly_1_to_4_across_4_workers() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = one_to_four(&a, &b, 4);
    let got = sequence(&sg, "/x", 1000);
    assert_eq!(
        (count(&got, "a"), count(&got, "b")),
        (200, 800),
        "{}{}",
        sg.process_table(),
        member_table(&sg)
    );
    assert_eq!((a.requests(), b.requests()), (200, 800));
    // Every 5 requests hold exactly one for a (the schedule is b b a b b for
    // lbstatus starting at 0: a never waits more than 4 in a row).
    for (i, window) in got.chunks(5).enumerate() {
        assert_eq!(
            count(window, "a"),
            1,
            "requests {}..{}: {window:?}",
            i * 5,
            i * 5 + 5
        );
    }
    let ma = wait_member(&sg, &a.addr(), "elected 200", Duration::from_secs(5), |m| {
        m.elected == 200
    });
    let mb = wait_member(&sg, &b.addr(), "elected 800", Duration::from_secs(5), |m| {
        m.elected == 800
    });
    assert_eq!(
        ma.lbstatus + mb.lbstatus,
        0,
        "the sum of lbstatus stays constant (reference §3.2){}",
        member_table(&sg)
    );
}

#[test]
fn sixteen_concurrent_clients_split_1_to_4_within_one_percent() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = one_to_four(&a, &b, 4);
    // A connection per request, so that every worker accepts some.
    let make = |_| LoadRequest {
        path: "/x".to_string(),
        headers: vec![("Connection".to_string(), "close".to_string())],
    };
    let result = run_load(sg.port(), 16, 1000, &make, None);
    assert_eq!(result.failed, 0, "{:?}", result.failures);
    assert_eq!(result.from("a") + result.from("b"), 1000, "{result:?}");
    let (na, nb) = (result.from("a"), result.from("b"));
    assert!(
        (190..=210).contains(&na) && (790..=810).contains(&nb),
        "a {na}, b {nb}: want 200/800 ±10{}{}",
        sg.process_table(),
        member_table(&sg)
    );
    // Several workers took part (otherwise this is not the cross-process case).
    let serving = sg
        .scoreboard()
        .processes()
        .iter()
        .filter(|p| p.pid() != 0 && p.requests() > 0)
        .count();
    assert!(
        serving >= 2,
        "only {serving} worker served the 1000 requests: {}",
        sg.process_table()
    );
}

#[test]
fn weights_hold_with_keep_alive_clients_on_different_workers() {
    // Four keep-alive connections, most likely held by different workers,
    // sending in turn: the shared schedule still gives exactly 1:4.
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = one_to_four(&a, &b, 4);
    let mut clients: Vec<Client> = (0..4).map(|_| Client::connect(sg.port())).collect();
    let mut got = Vec::new();
    for round in 0..50 {
        for (i, client) in clients.iter_mut().enumerate() {
            let r = client.get("/x");
            assert_eq!(r.status, 200, "round {round} client {i}: {}", r.summary());
            got.push(r.origin().to_string());
        }
    }
    assert_eq!((count(&got, "a"), count(&got, "b")), (40, 160));
}

#[test]
fn member_in_another_lbset_gets_no_credit() {
    // c sits in lbset 1 and is never offered while a and b are usable, so it
    // gets nothing and a:b stays 1:4 (reference §3.1/§3.2).
    let a = Origin::start("a");
    let b = Origin::start("b");
    let c = Origin::start("c");
    let sg = start_proxy(
        "<Proxy balancer://c1>\n    BalancerMember http://{a} loadfactor=1\n    BalancerMember http://{b} loadfactor=4\n    BalancerMember http://{c} loadfactor=100 lbset=1\n</Proxy>\nProxyPass / balancer://c1/\n",
        &[&a, &b, &c],
    );
    let got = sequence(&sg, "/x", 50);
    assert_eq!(
        (count(&got, "a"), count(&got, "b"), count(&got, "c")),
        (10, 40, 0)
    );
}

#[test]
fn fractional_loadfactors_are_weights_too() {
    // 1.5 : 3 is 1 : 2 (stored as 150 and 300).
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "<Proxy balancer://c1>\n    BalancerMember http://{a} loadfactor=1.5\n    BalancerMember http://{b} loadfactor=3\n</Proxy>\nProxyPass / balancer://c1/\n",
        &[&a, &b],
    );
    let got = sequence(&sg, "/x", 30);
    assert_eq!((count(&got, "a"), count(&got, "b")), (10, 20));
}
