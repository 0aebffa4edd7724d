//! `lbmethod=heartbeat` (httpd's mod_lbmethod_heartbeat, reference §3.5) and
//! the receiving side of mod_heartmonitor (`HeartbeatListen`).
//!
//! # The beacons
//!
//! A member's mod_heartbeat (or anything else) sends, once a second, one UDP
//! datagram to the `HeartbeatListen` address (unicast, or a multicast group,
//! which is joined):
//!
//! ```text
//! v=1&ready=12&busy=3
//! v=1&ready=12&busy=3&port=8080
//! ```
//!
//! a query string as httpd's `qs_to_table` reads it: `ready` = idle worker
//! slots, `busy` = busy ones; `v`, `ready` and `busy` must be present (else
//! the datagram is ignored, as mod_heartmonitor does), `port` is optional.
//! [`receive`] stores ready, busy and the time in the slot of every member
//! whose URL host is the sender's IP address, exactly as written (so
//! members must be configured by IP, as in httpd) and, when the beacon
//! names a `port` (which mod_heartmonitor's HTTP variant also reads), whose
//! URL port is that port (several members on one host). The data lives in
//! the member slots, not in a table of `HeartbeatMaxServers` entries, so
//! that directive is accepted and has no effect.
//!
//! # The choice (§3.5)
//!
//! Not the selection skeleton: lbsets and the H, R and N flags are ignored.
//!
//! 1. a member is eligible when it is usable (after the retry check) and
//!    its last beacon is younger than [`FRESH_MS`] (10 s);
//! 2. damping: with `busy == 0` and `ready > 0`, `ready` is divided by 4
//!    (integer), not to flood a server that has just started;
//! 3. `pick` is uniform in `[0, Σready]`; walking the eligible members in
//!    configuration order with a running sum c, every member whose range
//!    `[c, c + ready]` contains pick becomes the candidate, and the last one
//!    wins (a pick on a boundary goes to the later member — even one with
//!    ready 0, as in httpd);
//! 4. with Σready = 0 (or nobody eligible) nobody is chosen: 503.
//!
//! Worked example: A ready 10 busy 2, B ready 20 busy 0 (damped to 5),
//! C ready 30 beacon 11 s old (not eligible): Σ = 15, A covers [0, 10], B
//! [10, 15]: picks 0–9 → A, 10–15 → B (10 is on the boundary: B).

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use scoreboard::{MemberSlot, Scoreboard};

use super::{random_u64, usable_after_retry, Balancer, Candidate, Context, LbMethod, Method};

/// A beacon older than this (ms) makes its member ineligible.
pub const FRESH_MS: u64 = 10_000;

/// Longest datagram read (mod_heartmonitor's `MAX_MSG_LEN`).
pub const MAX_MSG_LEN: usize = 1000;

/// One parsed beacon.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Beacon {
    pub ready: u32,
    pub busy: u32,
    /// `port=`, when given.
    pub port: Option<u16>,
}

/// Parses a beacon (`v=1&ready=N&busy=M[&port=P]`); `None` without `v`,
/// `ready` or `busy`. Numbers are read as `atoi` would (leading digits; a
/// value without any counts as 0).
pub fn parse(msg: &[u8]) -> Option<Beacon> {
    let (mut v, mut ready, mut busy, mut port) = (false, None, None, None);
    for pair in msg.split(|&b| b == b'&') {
        let (key, val) = match pair.iter().position(|&b| b == b'=') {
            Some(eq) => (&pair[..eq], &pair[eq + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        match key {
            b"v" => v = true,
            b"ready" => ready = Some(atoi(val)),
            b"busy" => busy = Some(atoi(val)),
            b"port" => port = u16::try_from(atoi(val)).ok().filter(|&p| p != 0),
            _ => {}
        }
    }
    if !v {
        return None;
    }
    Some(Beacon {
        ready: ready?,
        busy: busy?,
        port,
    })
}

/// Leading decimal digits, saturating; 0 without any.
fn atoi(val: &[u8]) -> u32 {
    val.iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0u32, |n, &d| {
            n.saturating_mul(10).saturating_add(u32::from(d - b'0'))
        })
}

/// Host and port of a member URL `scheme://host[:port]/…` (the port
/// defaulting to 80, or 443 for https); `[v6]` hosts without brackets.
fn url_host_port(url: &str) -> Option<(&str, u16)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let default = if scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("wss") {
        443
    } else {
        80
    };
    if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        let port = after
            .strip_prefix(':')
            .map_or(Some(default), |p| p.parse().ok())?;
        return Some((host, port));
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host, port.parse().ok()?)),
        None => Some((authority, default)),
    }
}

/// Whether `slot`'s URL names `ip` (and `port`, when the beacon gave one).
fn matches(slot: &MemberSlot, ip: IpAddr, port: Option<u16>) -> bool {
    slot.url.with(|url| {
        url_host_port(url).is_some_and(|(host, p)| {
            host.parse::<IpAddr>().is_ok_and(|h| h == ip) && port.is_none_or(|want| want == p)
        })
    })
}

/// Stores one beacon from `from` in every matching member slot in use;
/// returns how many members it updated.
pub fn store(sb: &Scoreboard, from: IpAddr, beacon: Beacon, now_ms: u64) -> usize {
    let from = from.to_canonical();
    let mut n = 0;
    for i in 0..sb.layout().members as usize {
        let slot = sb.member(i);
        if slot.in_use() && matches(slot, from, beacon.port) {
            slot.set_heartbeat(scoreboard::Heartbeat {
                ready: beacon.ready,
                busy: beacon.busy,
                seen_ms: now_ms.max(1),
            });
            n += 1;
        }
    }
    n
}

/// The receiver: reads every datagram waiting (until `WouldBlock`: the
/// socket is non-blocking and, under mio, edge-triggered) through
/// `recv_from` (`|buf| sock.recv_from(buf)` for a std or mio UDP socket) and
/// stores each valid beacon. Returns the number of datagrams read; another
/// error ends the call and is returned (what was read before it is stored);
/// give it to a [`ReceiveErrors`] to log it.
pub fn receive(
    mut recv_from: impl FnMut(&mut [u8]) -> std::io::Result<(usize, SocketAddr)>,
    sb: &Scoreboard,
) -> std::io::Result<usize> {
    let mut buf = [0u8; MAX_MSG_LEN];
    let mut read = 0;
    loop {
        let (len, from) = match recv_from(&mut buf) {
            Ok(got) => got,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        read += 1;
        match parse(&buf[..len]) {
            Some(beacon) => {
                let n = store(sb, from.ip(), beacon, scoreboard::unix_time_ms());
                log::debug!("heartbeat from {from}: {beacon:?}, {n} member(s)");
            }
            None => log::debug!("heartbeat from {from}: not a beacon, ignored"),
        }
    }
    Ok(read)
}

/// How often at most a receive error of the HeartbeatListen socket is logged.
pub const RECEIVE_ERROR_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// Rate-limits the log of [`receive`] errors: one line per
/// [`RECEIVE_ERROR_LOG_INTERVAL`] at most, saying how many errors went
/// unlogged since the previous line. (`WouldBlock` is never an error here:
/// [`receive`] stops at it.)
#[derive(Debug, Default)]
pub struct ReceiveErrors {
    /// When the next line may be written; None before the first.
    next_line: Option<Instant>,
    unlogged: u64,
}

impl ReceiveErrors {
    /// Notes error `e` of the socket bound to `addr` at `now`; returns the
    /// line to log, when one is due.
    pub fn note(&mut self, addr: SocketAddr, e: &std::io::Error, now: Instant) -> Option<String> {
        if self.next_line.is_some_and(|at| now < at) {
            self.unlogged += 1;
            return None;
        }
        self.next_line = Some(now + RECEIVE_ERROR_LOG_INTERVAL);
        let more = std::mem::take(&mut self.unlogged);
        let mut line = format!("HeartbeatListen {addr}: receiving a beacon: {e}");
        if more > 0 {
            line.push_str(&format!(
                " ({more} more receive errors since the last report)"
            ));
        }
        Some(line)
    }
}

/// A UDP socket bound to `addr` for [`receive`], non-blocking, with
/// `SO_REUSEADDR` and `SO_REUSEPORT` (each worker process may bind its own:
/// the kernel spreads unicast datagrams over them, and every one gets a
/// copy of multicast ones — storing a beacon twice is harmless). A
/// multicast `addr` is joined on every interface.
pub fn bind(addr: SocketAddr) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let sock = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    sock.set_reuse_address(true)?;
    sock.set_reuse_port(true)?;
    sock.set_nonblocking(true)?;
    sock.bind(&addr.into())?;
    match addr.ip() {
        IpAddr::V4(g) if g.is_multicast() => {
            sock.join_multicast_v4(&g, &std::net::Ipv4Addr::UNSPECIFIED)?
        }
        IpAddr::V6(g) if g.is_multicast() => sock.join_multicast_v6(&g, 0)?,
        _ => {}
    }
    Ok(sock.into())
}

/// The heartbeat rule: §3.5 over the candidates it is given (every usable
/// member, see [`Balancer::elect_heartbeat`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Heartbeat;

/// The member's ready count for the choice: 0 unless its beacon is fresh,
/// damped when it is idle. `None` when not eligible.
pub fn weight(slot: &MemberSlot, now_ms: u64) -> Option<u64> {
    let hb = slot.heartbeat();
    if hb.seen_ms == 0 || now_ms.saturating_sub(hb.seen_ms) >= FRESH_MS {
        return None;
    }
    let ready = if hb.busy == 0 && hb.ready > 0 {
        hb.ready / 4
    } else {
        hb.ready
    };
    Some(u64::from(ready))
}

/// §3.5 steps 3–4 for a given `pick` source: `pick(total)` returns a value
/// in `[0, total]`.
pub fn choose(
    offered: &[Candidate<'_>],
    now_ms: u64,
    pick: impl FnOnce(u64) -> u64,
) -> Option<usize> {
    let total: u64 = offered.iter().filter_map(|c| weight(c.slot, now_ms)).sum();
    if total == 0 {
        return None;
    }
    let pick = pick(total);
    let mut c = 0u64;
    let mut chosen = None;
    for (i, cand) in offered.iter().enumerate() {
        let Some(ready) = weight(cand.slot, now_ms) else {
            continue;
        };
        if pick >= c && pick <= c + ready {
            chosen = Some(i);
        }
        c += ready;
    }
    chosen
}

impl LbMethod for Heartbeat {
    fn method(&self) -> Method {
        Method::Heartbeat
    }

    fn elect(&self, offered: &[Candidate<'_>], ctx: &Context) -> Option<usize> {
        choose(offered, ctx.now_ms, |total| random_u64() % (total + 1))
    }

    fn reset(&self, _slot: &MemberSlot) {}
}

impl Balancer {
    /// `lbmethod=heartbeat`: every member in use that is usable after the
    /// retry check, in configuration order, whatever its lbset or H/R/N
    /// flags, offered to [`Heartbeat`].
    pub(super) fn elect_heartbeat(&self, sb: &Scoreboard, ctx: &Context) -> Option<usize> {
        let offered: smallvec::SmallVec<[Candidate<'_>; 16]> = self
            .live(sb)
            .filter(|(_, spec, slot)| usable_after_retry(slot, spec.retry_ms, ctx.now_ms))
            .map(|(member, _, slot)| Candidate { member, slot })
            .collect();
        self.elect_locked(sb, &Heartbeat, &offered, ctx)
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, UdpSocket};

    use scoreboard::flags;

    use super::super::testutil::{Board, M, NOW};
    use super::super::{seed_random, Candidate, Method};
    use super::{
        choose, parse, receive, store, url_host_port, Beacon, ReceiveErrors, FRESH_MS,
        RECEIVE_ERROR_LOG_INTERVAL,
    };

    fn beat(board: &Board, i: usize, ready: u32, busy: u32, seen_ms: u64) {
        board.sb.member(i).set_heartbeat(scoreboard::Heartbeat {
            ready,
            busy,
            seen_ms,
        });
    }

    #[test]
    fn worked_example_damping_freshness_boundary() {
        let board = Board::new(3);
        board.balancer(
            Method::Heartbeat,
            &[M::new("A", 1), M::new("B", 1), M::new("C", 1)],
        );
        beat(&board, 0, 10, 2, NOW - 1000);
        beat(&board, 1, 20, 0, NOW - 1000);
        beat(&board, 2, 30, 5, NOW - FRESH_MS - 1000);
        let offered: Vec<Candidate<'_>> = (0..3)
            .map(|i| Candidate {
                member: i,
                slot: board.sb.member(i),
            })
            .collect();
        let at = |p: u64| {
            choose(&offered, NOW, |total| {
                assert_eq!(total, 15);
                p
            })
        };
        assert_eq!(at(0), Some(0));
        assert_eq!(at(9), Some(0));
        assert_eq!(at(10), Some(1), "boundary: the later member");
        assert_eq!(at(15), Some(1));
        // Nobody ready: nobody.
        beat(&board, 0, 0, 2, NOW);
        beat(&board, 1, 3, 0, NOW); // damped to 0
        assert_eq!(choose(&offered, NOW, |_| 0), None);
    }

    #[test]
    fn selection_follows_ready_and_ignores_lbset_and_standby() {
        seed_random(3);
        let board = Board::new(3);
        let b = board.balancer(
            Method::Heartbeat,
            &[
                M::new("a", 1),
                M::new("b", 1)
                    .lbset(1)
                    .flags(flags::INIT | flags::HOT_STANDBY),
                M::new("c", 1).flags(flags::INIT | flags::DISABLED),
            ],
        );
        beat(&board, 0, 10, 10, NOW);
        beat(&board, 1, 30, 10, NOW);
        beat(&board, 2, 100, 10, NOW);
        let mut n = [0u32; 3];
        for _ in 0..4000 {
            let m = board.choose(&b).member;
            b.release(&board.sb, m, 0, 0);
            n[m] += 1;
        }
        assert_eq!(n[2], 0, "a disabled member is never chosen");
        assert!((800..1200).contains(&n[0]), "{n:?}");
        // No fresh beacon at all: 503.
        beat(&board, 0, 10, 10, 0);
        beat(&board, 1, 30, 10, NOW - FRESH_MS);
        assert!(b
            .select(&board.sb, &super::super::testutil::NO_KEYS, NOW)
            .is_err());
    }

    #[test]
    fn beacon_format() {
        let b = |r, bz, p| {
            Some(Beacon {
                ready: r,
                busy: bz,
                port: p,
            })
        };
        assert_eq!(parse(b"v=1&ready=12&busy=3"), b(12, 3, None));
        assert_eq!(
            parse(b"busy=3&ready=12&v=1&port=8080"),
            b(12, 3, Some(8080))
        );
        assert_eq!(parse(b"v=1&ready=7x&busy="), b(7, 0, None), "atoi");
        assert_eq!(parse(b"v=1&ready=1&busy=1&port=99999"), b(1, 1, None));
        assert_eq!(parse(b"ready=12&busy=3"), None, "no v");
        assert_eq!(parse(b"v=1&ready=12"), None, "no busy");
        assert_eq!(parse(b""), None);
        assert_eq!(
            url_host_port("http://10.0.0.1:8080/x"),
            Some(("10.0.0.1", 8080))
        );
        assert_eq!(url_host_port("http://10.0.0.1"), Some(("10.0.0.1", 80)));
        assert_eq!(url_host_port("https://[::1]/"), Some(("::1", 443)));
    }

    #[test]
    fn store_matches_ip_and_port() {
        let board = Board::new(3);
        board.balancer(
            Method::Heartbeat,
            &[
                M::new("127.0.0.1:8001", 1),
                M::new("127.0.0.1:8002", 1),
                M::new("10.0.0.1", 1),
            ],
        );
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        let one = Beacon {
            ready: 5,
            busy: 1,
            port: Some(8002),
        };
        assert_eq!(store(&board.sb, lo, one, NOW), 1);
        assert_eq!(board.sb.member(1).heartbeat().ready, 5);
        assert_eq!(board.sb.member(0).heartbeat().seen_ms, 0);
        let any = Beacon { port: None, ..one };
        assert_eq!(
            store(&board.sb, lo, any, NOW),
            2,
            "no port: every member on the IP"
        );
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(store(&board.sb, mapped, any, NOW), 1);
    }

    #[test]
    fn receive_reads_datagrams() {
        let board = Board::new(1);
        board.balancer(Method::Heartbeat, &[M::new("127.0.0.1:9", 1)]);
        let sock = super::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let to = sock.local_addr().unwrap();
        let tx = UdpSocket::bind("127.0.0.1:0").unwrap();
        tx.send_to(b"garbage", to).unwrap();
        tx.send_to(b"v=1&ready=40&busy=2&port=9", to).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert_eq!(receive(|b| sock.recv_from(b), &board.sb).unwrap(), 2);
        let hb = board.sb.member(0).heartbeat();
        assert_eq!((hb.ready, hb.busy), (40, 2));
        assert!(hb.seen_ms > 0);
        assert_eq!(receive(|b| sock.recv_from(b), &board.sb).unwrap(), 0);
    }

    #[test]
    fn a_receive_error_ends_the_read_and_is_returned_after_what_was_stored() {
        let board = Board::new(1);
        board.balancer(Method::Heartbeat, &[M::new("127.0.0.1:9", 1)]);
        let from: std::net::SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mut script = vec![
            Err(std::io::Error::from_raw_os_error(libc::ENOBUFS)),
            Ok(b"v=1&ready=7&busy=1&port=9".to_vec()),
        ];
        let got = receive(
            |buf| {
                let next = script.pop().expect("no read after the error");
                next.map(|msg| {
                    buf[..msg.len()].copy_from_slice(&msg);
                    (msg.len(), from)
                })
            },
            &board.sb,
        );
        let e = got.expect_err("the error is returned, not dropped");
        assert_eq!(e.raw_os_error(), Some(libc::ENOBUFS));
        assert_eq!(board.sb.member(0).heartbeat().ready, 7, "stored before it");
    }

    #[test]
    fn receive_errors_are_logged_once_per_interval_with_a_count() {
        let addr: std::net::SocketAddr = "127.0.0.1:27999".parse().unwrap();
        let e = std::io::Error::from_raw_os_error(libc::ENOMEM);
        let t0 = std::time::Instant::now();
        let mut log = ReceiveErrors::default();
        let first = log.note(addr, &e, t0).expect("the first is logged");
        assert!(
            first.starts_with("HeartbeatListen 127.0.0.1:27999: receiving a beacon: "),
            "{first}"
        );
        assert!(!first.contains("more"), "{first}");
        for i in 1..=3 {
            assert_eq!(
                log.note(addr, &e, t0 + i * RECEIVE_ERROR_LOG_INTERVAL / 4),
                None
            );
        }
        let next = log
            .note(addr, &e, t0 + RECEIVE_ERROR_LOG_INTERVAL)
            .expect("one line per interval");
        assert!(
            next.ends_with("(3 more receive errors since the last report)"),
            "{next}"
        );
    }
}
