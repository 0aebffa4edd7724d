//! Member connections kept alive between requests, per worker process and member
//! (httpd's `min`/`max`/`smax`/`ttl`/`enablereuse`, reference §2.3).
//!
//! A connection goes back to the pool when its response ended cleanly and both
//! sides allow reuse; it is taken again most-recent first (its peer is the most
//! likely to still hold it open), after a non-blocking peek that catches a member
//! that closed it meanwhile. `max` bounds open connections per member in this
//! process: a request finding none free waits (up to `acquire`) for one to be
//! handed back instead of failing.

use std::collections::VecDeque;
use std::io;
use std::time::{Duration, Instant};

use mio::net::TcpStream;

/// Pool settings of one member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolLimits {
    /// Whether connections are reused at all (`disablereuse` turns this off).
    pub reuse: bool,
    /// Connections opened in advance when the worker starts (`min`).
    pub min: usize,
    /// Most connections open to the member at once in this process; 0 = no limit.
    pub max: usize,
    /// Idle connections above this many are closed once idle for `ttl`.
    pub smax: usize,
    /// Idle time after which a pooled connection is closed rather than reused.
    pub ttl: Option<Duration>,
    /// How long a request waits for a connection when `max` are open; None = forever.
    pub acquire: Option<Duration>,
}

impl Default for PoolLimits {
    fn default() -> Self {
        PoolLimits {
            reuse: true,
            min: 0,
            max: 0,
            smax: 0,
            ttl: None,
            acquire: None,
        }
    }
}

struct Idle {
    stream: TcpStream,
    since: Instant,
}

#[derive(Default)]
struct MemberPool {
    idle: Vec<Idle>,
    /// Connections open to the member from this process (idle ones included).
    open: usize,
    /// Connections (slab index, connection id) waiting for `open` to drop below `max`.
    waiting: VecDeque<(usize, u64)>,
}

/// The pools of one worker process, indexed by member.
pub struct Pool {
    members: Vec<MemberPool>,
    limits: Vec<PoolLimits>,
}

/// What [`Pool::acquire`] gives.
pub enum Acquired {
    /// A pooled connection, checked alive: reuse it.
    Reused(TcpStream),
    /// Room to open a new connection (counted as open already).
    Open,
    /// `max` connections are open: wait for [`Pool::release`] to wake you.
    Full,
}

impl Pool {
    pub fn new(limits: Vec<PoolLimits>) -> Pool {
        let members = limits.iter().map(|_| MemberPool::default()).collect();
        Pool { members, limits }
    }

    pub fn limits(&self, member: usize) -> PoolLimits {
        self.limits[member]
    }

    /// A connection to `member`: a live pooled one, room for a new one, or Full.
    pub fn acquire(&mut self, member: usize, now: Instant) -> Acquired {
        let limits = self.limits[member];
        let p = &mut self.members[member];
        while let Some(idle) = p.idle.pop() {
            let expired = limits
                .ttl
                .is_some_and(|ttl| now.duration_since(idle.since) >= ttl);
            if !expired && is_alive(&idle.stream) {
                return Acquired::Reused(idle.stream);
            }
            p.open -= 1;
        }
        if limits.max > 0 && p.open >= limits.max {
            return Acquired::Full;
        }
        p.open += 1;
        Acquired::Open
    }

    /// Adds a connection opened in advance (`min`) as idle.
    pub fn add_idle(&mut self, member: usize, stream: TcpStream, now: Instant) {
        let p = &mut self.members[member];
        p.open += 1;
        p.idle.push(Idle { stream, since: now });
    }

    /// Queues a connection to be woken when `member` has room.
    pub fn wait(&mut self, member: usize, conn: (usize, u64)) {
        self.members[member].waiting.push_back(conn);
    }

    /// Forgets a waiting connection (it gave up or went away).
    pub fn cancel_wait(&mut self, member: usize, conn: (usize, u64)) {
        self.members[member].waiting.retain(|w| *w != conn);
    }

    /// The exchange is done with its connection: keep it for reuse when `reusable`,
    /// else close it. Returns a waiting connection to wake, if any.
    pub fn release(
        &mut self,
        member: usize,
        stream: Option<TcpStream>,
        reusable: bool,
        now: Instant,
    ) -> Option<(usize, u64)> {
        let limits = self.limits[member];
        let p = &mut self.members[member];
        match stream {
            Some(stream) if reusable && limits.reuse => p.idle.push(Idle { stream, since: now }),
            _ => p.open = p.open.saturating_sub(1),
        }
        // A waiter takes the freed room (or the idle connection) on its next acquire.
        p.waiting.pop_front()
    }

    /// Closes idle connections past `ttl` beyond `smax`; called now and then.
    pub fn prune(&mut self, now: Instant) {
        for (p, limits) in self.members.iter_mut().zip(&self.limits) {
            let Some(ttl) = limits.ttl else { continue };
            let keep = limits.smax;
            let before = p.idle.len();
            let mut kept = 0;
            // Oldest first in the vector: keep the newest `keep` regardless of age.
            let n = p.idle.len();
            p.idle = std::mem::take(&mut p.idle)
                .into_iter()
                .enumerate()
                .filter(|(i, idle)| {
                    let young = now.duration_since(idle.since) < ttl;
                    let protected = n - i <= keep;
                    let k = young || protected;
                    kept += usize::from(k);
                    k
                })
                .map(|(_, idle)| idle)
                .collect();
            p.open -= before - kept;
        }
    }

    /// Idle connections held for `member` (for tests and the scoreboard).
    pub fn idle(&self, member: usize) -> usize {
        self.members[member].idle.len()
    }

    pub fn open(&self, member: usize) -> usize {
        self.members[member].open
    }
}

/// A pooled connection is alive when a peek would block: no EOF, no stray bytes.
fn is_alive(stream: &TcpStream) -> bool {
    let mut b = [0u8; 1];
    matches!(stream.peek(&mut b), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    fn pair(l: &TcpListener) -> (TcpStream, std::net::TcpStream) {
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        c.set_nonblocking(true).unwrap();
        (TcpStream::from_std(c), s)
    }

    #[test]
    fn connections_are_reused_until_the_peer_closes_them() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut pool = Pool::new(vec![PoolLimits::default()]);
        let now = Instant::now();
        assert!(matches!(pool.acquire(0, now), Acquired::Open));
        let (c, server) = pair(&l);
        assert_eq!(pool.release(0, Some(c), true, now), None);
        assert_eq!((pool.idle(0), pool.open(0)), (1, 1));
        assert!(matches!(pool.acquire(0, now), Acquired::Reused(_)));
        // Give one back, then have the member close it: the next acquire opens anew.
        let (c, server2) = pair(&l);
        pool.release(0, Some(c), true, now);
        drop(server2);
        std::thread::sleep(Duration::from_millis(20));
        assert!(matches!(pool.acquire(0, now), Acquired::Open));
        drop(server);
    }

    #[test]
    fn stray_bytes_make_a_connection_stale() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut pool = Pool::new(vec![PoolLimits::default()]);
        let now = Instant::now();
        pool.acquire(0, now);
        let (c, mut server) = pair(&l);
        pool.release(0, Some(c), true, now);
        server.write_all(b"x").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert!(matches!(pool.acquire(0, now), Acquired::Open));
        assert_eq!(pool.open(0), 1);
    }

    #[test]
    fn max_makes_requests_wait_and_release_wakes_them() {
        let limits = PoolLimits {
            max: 1,
            ..PoolLimits::default()
        };
        let mut pool = Pool::new(vec![limits]);
        let now = Instant::now();
        assert!(matches!(pool.acquire(0, now), Acquired::Open));
        assert!(matches!(pool.acquire(0, now), Acquired::Full));
        pool.wait(0, (7, 70));
        assert_eq!(pool.release(0, None, false, now), Some((7, 70)));
        assert!(matches!(pool.acquire(0, now), Acquired::Open));
    }

    #[test]
    fn ttl_and_smax_trim_idle_connections() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let limits = PoolLimits {
            smax: 1,
            ttl: Some(Duration::from_secs(1)),
            ..PoolLimits::default()
        };
        let mut pool = Pool::new(vec![limits]);
        let t0 = Instant::now();
        let mut servers = Vec::new();
        for _ in 0..3 {
            pool.acquire(0, t0);
        }
        for _ in 0..3 {
            let (c, s) = pair(&l);
            servers.push(s);
            pool.release(0, Some(c), true, t0);
        }
        pool.prune(t0 + Duration::from_millis(500));
        assert_eq!(pool.idle(0), 3, "young connections stay");
        pool.prune(t0 + Duration::from_secs(2));
        assert_eq!(
            (pool.idle(0), pool.open(0)),
            (1, 1),
            "smax connections stay"
        );
        // An expired connection is not reused.
        assert!(matches!(
            pool.acquire(0, t0 + Duration::from_secs(5)),
            Acquired::Open
        ));
    }
}
