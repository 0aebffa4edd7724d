//! Event workers share new connections evenly (issue #6): all workers wait on
//! the same listening socket, and one that holds more than an even share (plus
//! a slack of 8) leaves the next connections to the others, so a burst of
//! keep-alive clients does not end up on whichever worker woke first.

mod common;

use common::*;
use std::time::Duration;

#[test]
fn a_burst_of_keep_alive_clients_is_spread_over_the_workers() {
    let a = Origin::start("a");
    let sg = Slotgate::start(&render(
        "Listen 127.0.0.1:0\nStartServers 2\nLogLevel warn\nProxyPass / http://{a}/\n",
        &[&a],
    ));
    wait_for(
        "two workers",
        Duration::from_secs(10),
        || (sg.worker_pids().len() == 2).then_some(()),
        || sg.process_table(),
    );
    // 64 connections opened at once, each then used for one request and kept.
    let mut clients: Vec<Client> = (0..64).map(|_| Client::connect(sg.port())).collect();
    for c in clients.iter_mut() {
        assert_eq!(c.get("/x").status, 200);
    }
    let sb = sg.scoreboard();
    let held = wait_for(
        "the workers to report 64 connections",
        Duration::from_secs(10),
        || {
            let held: Vec<u64> = sb
                .processes()
                .iter()
                .filter(|p| p.pid() != 0)
                .map(|p| p.connections())
                .collect();
            (held.iter().sum::<u64>() == 64).then_some(held)
        },
        || sg.process_table(),
    );
    assert_eq!(held.len(), 2);
    for n in &held {
        // An even share is 32; a worker stops taking new ones at 32 + 8.
        assert!(
            (24..=40).contains(n),
            "connections per worker {held:?}: not spread"
        );
    }
    drop(clients);
}
