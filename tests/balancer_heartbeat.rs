//! heartbeat (reference §3.5) with the receiving side of mod_heartmonitor:
//! members announce `v=1&ready=N&busy=M&port=P` over UDP to HeartbeatListen;
//! without a fresh beacon nobody is chosen (503); traffic follows `ready`.

mod common;

use common::*;
use scoreboard::ProcessState;
use std::net::UdpSocket;
use std::time::Duration;

/// A UDP port on 127.0.0.1 held by a socket with SO_REUSEADDR and
/// SO_REUSEPORT, as slotgate's HeartbeatListen sockets are: its workers can
/// bind the port while the test still holds it, and no other socket can take
/// it in between. Drop it once they have (`workers_listening`), so that no
/// beacon is spread onto it.
fn reserve_udp_port() -> (socket2::Socket, u16) {
    use socket2::{Domain, Protocol, SockAddr, Socket, Type};
    let sock = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).unwrap();
    sock.set_reuse_address(true).unwrap();
    sock.set_reuse_port(true).unwrap();
    let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
    sock.bind(&SockAddr::from(any)).unwrap();
    let port = sock.local_addr().unwrap().as_socket().unwrap().port();
    (sock, port)
}

/// Waits until `n` workers left the state `Starting`: each has bound its
/// HeartbeatListen socket by then (it binds before it says it is idle).
fn workers_listening(sg: &Slotgate, n: usize) {
    wait_for(
        &format!("{n} workers past starting"),
        Duration::from_secs(10),
        || {
            let sb = sg.scoreboard();
            let ready = sb
                .processes()
                .iter()
                .filter(|p| p.pid() != 0 && p.state() != ProcessState::Starting)
                .count();
            (ready == n).then_some(())
        },
        || sg.process_table(),
    );
}

/// Waits until the member of `to` holds a beacon saying `ready`.
fn beacon_stored(sg: &Slotgate, to: &Origin, ready: u32) {
    wait_for(
        &format!("the beacon ready={ready} stored for {}", to.addr()),
        Duration::from_secs(5),
        || {
            let sb = sg.scoreboard();
            let slot = member(sg, &to.addr()).slot;
            let hb = sb.member(slot).heartbeat();
            (hb.seen_ms != 0 && hb.ready == ready).then_some(())
        },
        || member_table(sg),
    );
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
    let (reservation, port) = reserve_udp_port();
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
    workers_listening(&sg, 2);
    drop(reservation);
    // No beacon yet: nobody is eligible.
    assert_eq!(origins(&sg, 3), ["503", "503", "503"]);

    let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
    let send = |ready: u32, busy: u32, to: &Origin| {
        let msg = format!("v=1&ready={ready}&busy={busy}&port={}", to.port());
        tx.send_to(msg.as_bytes(), ("127.0.0.1", port)).unwrap();
    };
    let until = |want: &str| {
        wait_for(
            &format!("a response from {want}"),
            Duration::from_secs(5),
            || (origins(&sg, 1)[0] == want).then_some(()),
            || member_table(&sg),
        )
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
    beacon_stored(&sg, &a, 10);
    let got = origins(&sg, 200);
    let to_a = got.iter().filter(|o| *o == "a").count();
    assert!((20..=90).contains(&to_a), "a got {to_a} of 200");
    assert_eq!(got.iter().filter(|o| *o == "b").count(), 200 - to_a);
}
