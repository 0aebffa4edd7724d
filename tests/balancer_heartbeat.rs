//! heartbeat (reference §3.5) with the receiving side of mod_heartmonitor:
//! members announce `v=1&ready=N&busy=M&port=P` over UDP to HeartbeatListen;
//! without a fresh beacon nobody is chosen (503); traffic follows `ready`.

mod common;

use common::*;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn origins(sg: &Slotgate, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let r = http_get(sg.port(), "/x", &[]);
            if r.status == 200 {
                r.origin().to_string()
            } else {
                r.status.to_string()
            }
        })
        .collect()
}

#[test]
fn beacons_move_traffic() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let port = free_udp_port();
    let sg = Slotgate::start(&render(
        &format!(
            "Listen 127.0.0.1:0\nStartServers 2\nServerName test.local\n\
             HeartbeatListen 127.0.0.1:{port}\nHeartbeatMaxServers 10\n\
             <Proxy balancer://hb>\n    BalancerMember http://{{a}}\n    \
             BalancerMember http://{{b}}\n    ProxySet lbmethod=heartbeat\n</Proxy>\n\
             ProxyPass / balancer://hb/\n"
        ),
        &[&a, &b],
    ));
    sg.wait_workers(2, Duration::from_secs(10));
    // No beacon yet: nobody is eligible.
    assert_eq!(origins(&sg, 3), ["503", "503", "503"]);

    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let send = |ready: u32, busy: u32, to: &Origin| {
        let msg = format!("v=1&ready={ready}&busy={busy}&port={}", to.port());
        tx.send_to(msg.as_bytes(), ("127.0.0.1", port)).unwrap();
    };
    let until = |want: &str| {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let got = origins(&sg, 1);
            if got[0] == want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "never {want}: {got:?}{}",
                member_table(&sg)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    // Only a announces itself: everything to a.
    send(10, 2, &a);
    until("a");
    assert!(origins(&sg, 20).iter().all(|o| o == "a"));
    // b has 30 ready, a none: everything to b.
    send(30, 2, &b);
    send(0, 12, &a);
    until("b");
    assert!(origins(&sg, 20).iter().all(|o| o == "b"));
    // Both ready: both get traffic, about 1:3.
    send(10, 2, &a);
    std::thread::sleep(Duration::from_millis(100));
    let got = origins(&sg, 200);
    let to_a = got.iter().filter(|o| *o == "a").count();
    assert!((20..=90).contains(&to_a), "a got {to_a} of 200");
    assert_eq!(got.iter().filter(|o| *o == "b").count(), 200 - to_a);
}
