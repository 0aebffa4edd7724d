//! Member connections kept alive between requests, per worker process and member
//! (httpd's `min`/`max`/`smax`/`ttl`/`enablereuse`, reference §2.3).
//!
//! A connection goes back to the pool when its response ended cleanly and both
//! sides allow reuse; it is taken again most-recent first (its peer is the most
//! likely to still hold it open). `max` bounds open connections per member in
//! this process: a request finding none free waits (up to `acquire`) for one to
//! be handed back instead of failing.
//!
//! Every member connection has an id for its whole life, from which the worker
//! derives its poll token: it is registered once, when opened, and never
//! re-registered as it moves between requests (one `epoll_ctl` saved per
//! request). The pool records who holds each id. A readiness event for an idle
//! connection means the member closed it or sent stray bytes — or is a late
//! edge for bytes already read — so the pool marks it suspect, and only a
//! suspect connection gets a non-blocking `peek` before reuse (no syscall per
//! request otherwise). A close that races with reuse is caught by the worker's
//! replay.

mod stream;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

pub use stream::MemberStream;

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

/// A connection to a member and its id (see the module comment).
pub struct Upstream {
    pub stream: MemberStream,
    pub id: usize,
}

struct Idle {
    up: Upstream,
    since: Instant,
}

/// Who holds a connection id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Holder {
    /// No connection has this id.
    Free,
    /// In an idle list; `suspect` once an event came for it there.
    Idle { suspect: bool },
    /// Used by the client connection of this slab index.
    Client(usize),
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
    holders: Vec<Holder>,
    free_ids: Vec<usize>,
}

/// What [`Pool::acquire`] gives.
pub enum Acquired {
    /// A pooled connection, not known to be closed: reuse it.
    Reused(Upstream),
    /// Room to open a new connection (counted as open already).
    Open,
    /// `max` connections are open: wait for [`Pool::release`] to wake you.
    Full,
}

impl Pool {
    pub fn new(limits: Vec<PoolLimits>) -> Pool {
        let members = limits.iter().map(|_| MemberPool::default()).collect();
        Pool {
            members,
            limits,
            holders: Vec::new(),
            free_ids: Vec::new(),
        }
    }

    /// An id for a new connection, held by the client connection `client`
    /// (None: opened in advance, to be added with [`add_idle`](Self::add_idle)).
    pub fn new_id(&mut self, client: Option<usize>) -> usize {
        let holder = client.map_or(Holder::Idle { suspect: false }, Holder::Client);
        match self.free_ids.pop() {
            Some(id) => {
                self.holders[id] = holder;
                id
            }
            None => {
                self.holders.push(holder);
                self.holders.len() - 1
            }
        }
    }

    /// The id's connection is gone (closed, or never opened).
    pub fn free_id(&mut self, id: usize) {
        if self.holders.get(id).is_some_and(|h| *h != Holder::Free) {
            self.holders[id] = Holder::Free;
            self.free_ids.push(id);
        }
    }

    /// The client connection (slab index) using connection `id`, if any.
    pub fn holder(&self, id: usize) -> Option<usize> {
        match self.holders.get(id) {
            Some(Holder::Client(i)) => Some(*i),
            _ => None,
        }
    }

    /// A readiness event came for connection `id`: when it is idle, the member
    /// may have closed it or sent something unasked; check before reuse.
    pub fn mark_suspect(&mut self, id: usize) {
        if let Some(h @ Holder::Idle { .. }) = self.holders.get_mut(id) {
            *h = Holder::Idle { suspect: true };
        }
    }

    fn close(&mut self, up: Upstream) {
        self.free_id(up.id);
        drop(up.stream);
    }

    /// A member added at run time gets the next index.
    pub fn add_member(&mut self, limits: PoolLimits) {
        self.members.push(MemberPool::default());
        self.limits.push(limits);
    }

    pub fn limits(&self, member: usize) -> PoolLimits {
        self.limits[member]
    }

    /// A connection to `member` for the client connection `client` (slab
    /// index): a pooled one, room for a new one, or Full.
    pub fn acquire(&mut self, member: usize, client: usize, now: Instant) -> Acquired {
        let limits = self.limits[member];
        while let Some(idle) = self.members[member].idle.pop() {
            let expired = limits
                .ttl
                .is_some_and(|ttl| now.duration_since(idle.since) >= ttl);
            let suspect = self.holders[idle.up.id] != Holder::Idle { suspect: false };
            if !expired && (!suspect || idle.up.stream.is_alive()) {
                self.holders[idle.up.id] = Holder::Client(client);
                return Acquired::Reused(idle.up);
            }
            self.members[member].open -= 1;
            self.close(idle.up);
        }
        let p = &mut self.members[member];
        if limits.max > 0 && p.open >= limits.max {
            return Acquired::Full;
        }
        p.open += 1;
        Acquired::Open
    }

    /// Room for a new connection to `member`, never a pooled one
    /// (`proxy-initial-not-pooled`): when the pool is full, an idle
    /// connection is closed to make room; Full when none is idle.
    pub fn acquire_new(&mut self, member: usize) -> Acquired {
        let max = self.limits[member].max;
        if max > 0 && self.members[member].open >= max {
            let Some(idle) = self.members[member].idle.pop() else {
                return Acquired::Full;
            };
            self.members[member].open -= 1;
            self.close(idle.up);
        }
        self.members[member].open += 1;
        Acquired::Open
    }

    /// Adds a connection opened in advance (`min`) as idle.
    pub fn add_idle(&mut self, member: usize, up: Upstream, now: Instant) {
        self.holders[up.id] = Holder::Idle { suspect: false };
        let p = &mut self.members[member];
        p.open += 1;
        p.idle.push(Idle { up, since: now });
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
        up: Option<Upstream>,
        reusable: bool,
        now: Instant,
    ) -> Option<(usize, u64)> {
        let limits = self.limits[member];
        match up {
            Some(up) if reusable && limits.reuse => {
                self.holders[up.id] = Holder::Idle { suspect: false };
                self.members[member].idle.push(Idle { up, since: now });
            }
            other => {
                let p = &mut self.members[member];
                p.open = p.open.saturating_sub(1);
                if let Some(up) = other {
                    self.close(up);
                }
            }
        }
        // A waiter takes the freed room (or the idle connection) on its next acquire.
        self.members[member].waiting.pop_front()
    }

    /// Closes idle connections past `ttl` beyond `smax`; called now and then.
    pub fn prune(&mut self, now: Instant) {
        let mut gone: Vec<usize> = Vec::new();
        let Pool {
            members,
            limits,
            holders,
            ..
        } = self;
        for (p, limits) in members.iter_mut().zip(limits.iter()) {
            let n = p.idle.len();
            let mut i = 0;
            // Oldest first in the vector: keep the newest `smax` regardless of age.
            p.idle.retain(|idle| {
                let suspect = holders[idle.up.id] != Holder::Idle { suspect: false };
                let young = limits
                    .ttl
                    .is_none_or(|ttl| now.duration_since(idle.since) < ttl);
                let protected = n - i <= limits.smax;
                i += 1;
                let keep = (young || protected) && (!suspect || idle.up.stream.is_alive());
                if !keep {
                    gone.push(idle.up.id);
                }
                keep
            });
            p.open -= n - p.idle.len();
        }
        for id in gone {
            self.free_id(id);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    /// A connection to `l` with a fresh id held by client 0.
    fn pair(pool: &mut Pool, l: &TcpListener) -> (Upstream, std::net::TcpStream) {
        let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (s, _) = l.accept().unwrap();
        c.set_nonblocking(true).unwrap();
        let id = pool.new_id(Some(0));
        (
            Upstream {
                stream: mio::net::TcpStream::from_std(c).into(),
                id,
            },
            s,
        )
    }

    #[test]
    fn suspect_connections_are_checked_and_dropped_when_the_member_closed_them() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut pool = Pool::new(vec![PoolLimits::default()]);
        let now = Instant::now();
        assert!(matches!(pool.acquire(0, 3, now), Acquired::Open));
        let (c, server) = pair(&mut pool, &l);
        let id = c.id;
        assert_eq!(pool.holder(id), Some(0));
        assert_eq!(pool.release(0, Some(c), true, now), None);
        assert_eq!((pool.idle(0), pool.open(0)), (1, 1));
        assert_eq!(pool.holder(id), None, "idle: nobody holds it");
        let Acquired::Reused(c) = pool.acquire(0, 5, now) else {
            panic!("the idle connection is reused")
        };
        assert_eq!((c.id, pool.holder(c.id)), (id, Some(5)));
        // An event while idle that was only a late edge: still reused after a peek.
        pool.release(0, Some(c), true, now);
        pool.mark_suspect(id);
        let Acquired::Reused(c) = pool.acquire(0, 5, now) else {
            panic!("a suspect but live connection is reused")
        };
        // The member closes it while idle: the peek sees it, a new one is opened.
        pool.release(0, Some(c), true, now);
        drop(server);
        std::thread::sleep(Duration::from_millis(20));
        pool.mark_suspect(id);
        assert!(matches!(pool.acquire(0, 5, now), Acquired::Open));
        assert_eq!(
            pool.open(0),
            1,
            "the stale one was closed, the new one counted"
        );
        // Its id is free again for the next connection.
        assert_eq!(pool.new_id(Some(1)), id);
    }

    #[test]
    fn an_event_for_a_held_connection_does_not_make_it_stale() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut pool = Pool::new(vec![PoolLimits::default()]);
        let now = Instant::now();
        pool.acquire(0, 0, now);
        let (c, _server) = pair(&mut pool, &l);
        pool.mark_suspect(c.id);
        pool.release(0, Some(c), true, now);
        assert!(matches!(pool.acquire(0, 0, now), Acquired::Reused(_)));
    }

    #[test]
    fn a_connection_not_reusable_is_closed_and_its_id_freed() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut pool = Pool::new(vec![PoolLimits::default()]);
        let now = Instant::now();
        pool.acquire(0, 0, now);
        let (c, _server) = pair(&mut pool, &l);
        let id = c.id;
        pool.release(0, Some(c), false, now);
        assert_eq!((pool.idle(0), pool.open(0)), (0, 0));
        assert_eq!(pool.new_id(None), id);
    }

    #[test]
    fn max_makes_requests_wait_and_release_wakes_them() {
        let limits = PoolLimits {
            max: 1,
            ..PoolLimits::default()
        };
        let mut pool = Pool::new(vec![limits]);
        let now = Instant::now();
        assert!(matches!(pool.acquire(0, 0, now), Acquired::Open));
        assert!(matches!(pool.acquire(0, 1, now), Acquired::Full));
        pool.wait(0, (7, 70));
        assert_eq!(pool.release(0, None, false, now), Some((7, 70)));
        assert!(matches!(pool.acquire(0, 7, now), Acquired::Open));
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
            pool.acquire(0, 0, t0);
        }
        for _ in 0..3 {
            let (c, s) = pair(&mut pool, &l);
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
            pool.acquire(0, 0, t0 + Duration::from_secs(5)),
            Acquired::Open
        ));
    }

    #[test]
    fn prune_closes_connections_the_member_closed_without_ttl() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut pool = Pool::new(vec![PoolLimits::default()]);
        let now = Instant::now();
        pool.acquire(0, 0, now);
        let (c, server) = pair(&mut pool, &l);
        let id = c.id;
        pool.release(0, Some(c), true, now);
        drop(server);
        std::thread::sleep(Duration::from_millis(20));
        pool.mark_suspect(id);
        pool.prune(now);
        assert_eq!((pool.idle(0), pool.open(0)), (0, 0));
    }
}
