//! A worker process: one mio event loop that accepts client connections on the
//! inherited listeners and proxies their requests to members.
//!
//! Connections live in a slab (`Vec<Option<Conn>>` + free list); the client
//! socket of slot `i` has token `CONN_BASE + 2i`, and the member connection of
//! pool id `j` (see `crate::pool`) `CONN_BASE + 2j + 1`, whichever client uses
//! it: the pool says which. Each event only sets readiness flags; [`Conn::drive`] then makes all
//! the progress it can and returns a [`Step`]. Timeouts sit in one binary heap
//! with at most one entry per connection, re-armed lazily.

mod buffer;
mod conn;
mod exchange;
mod express;
mod fault;
mod neighbour;
mod respond;
mod rewrite;
mod tls;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};
use scoreboard::{ProcessState, Scoreboard};

use crate::config::Config;
use crate::http::Limits;
use crate::pool::Pool;
use crate::proxy::Routes;
use conn::{Conn, Step};

/// Tokens below this are listeners (token = listener index) and the signal pipe.
const CONN_BASE: usize = 1 << 16;
/// The `HeartbeatListen` UDP socket (lbmethod=heartbeat).
const HEARTBEAT: Token = Token(CONN_BASE - 2);
/// The read end of the pipe signal-hook writes to when SIGUSR1 (graceful stop) arrives.
const SIGNAL_PIPE: Token = Token(CONN_BASE - 1);
/// Longest sleep in poll: how soon an idle worker notices a newer generation, and
/// how often it marks its progress for the supervisor's watchdog when idle
/// (`WorkerStallTimeout` is at least five times this).
const GENERATION_CHECK: Duration = Duration::from_secs(1);
/// Connections a worker may hold above its fair share before it leaves new ones
/// to the other workers (see `accept_all`).
const ACCEPT_SLACK: u64 = 8;
/// How soon a worker that left connections to others looks at the listeners again.
const ACCEPT_RETRY: Duration = Duration::from_millis(2);
/// How long accepting pauses after this process ran out of descriptors or
/// memory, unless one of its connections closes first (which frees some).
const ACCEPT_PAUSE: Duration = Duration::from_millis(200);
/// How long a gracefully stopping worker may take when GracefulShutdownTimeout is 0.
const GRACEFUL_DEFAULT: Duration = Duration::from_secs(300);

/// Everything a worker process needs, handed over by the supervisor before fork.
pub struct WorkerSetup {
    pub config: Arc<Config>,
    pub routes: Arc<Routes>,
    pub listeners: Vec<std::net::TcpListener>,
    pub scoreboard: Arc<Scoreboard>,
    /// This worker's process slot.
    pub slot: usize,
    /// Most client connections at once: `Config::connections_per_worker` (1 in prefork).
    pub max_connections: usize,
}

/// The context each connection step gets as `&mut`.
pub(crate) struct Ctx {
    pub registry: mio::Registry,
    pub config: Arc<Config>,
    pub routes: Arc<Routes>,
    pub scoreboard: Arc<Scoreboard>,
    pub slot: usize,
    pub now: Instant,
    /// Exchanges in progress in this process (for the process state letter).
    pub exchanges: usize,
    /// Member connections kept alive, per member.
    pub pool: Pool,
    /// Connections (slab index, id) to drive again because a pooled connection freed up.
    pub wake: Vec<(usize, u64)>,
    /// LimitRequestLine / LimitRequestFieldSize / LimitRequestFields.
    pub limits: Limits,
    /// Stopping gracefully: no new connections, no further keep-alive.
    pub graceful: bool,
    /// Per balancer, the balancer slot's `member_updated` stamp this worker
    /// last synchronised its member list with.
    pub members_seen: Vec<u64>,
    /// Mass reverse proxy: this process's maps and express members.
    pub express: express::Express,
    /// Local faults (descriptors, memory): counted, logged rate-limited.
    faults: fault::LocalFaults,
    /// Exchanges waiting to open a member connection after a local fault:
    /// while there are any, accepting stays paused (new clients would take
    /// the descriptors they wait for).
    pub local_waiters: usize,
}

impl Ctx {
    pub fn process(&self) -> &scoreboard::ProcessSlot {
        self.scoreboard.process(self.slot)
    }

    /// This process ran out of something (`cause`) while doing `what`: counted
    /// in its process slot (server-status shows it), logged one line per
    /// cause per second. Never a member's fault.
    fn local_fault(&mut self, cause: fault::LocalCause, what: &str) {
        let slot = self.scoreboard.process(self.slot);
        self.faults.record(slot, cause, what, self.now, unix_ms());
    }

    /// Before balancer `b` chooses: when the balancer-manager or slotgate-top
    /// changed its member list (the balancer slot's `member_updated` stamp
    /// moved), members added at run time join this worker's routing table.
    pub fn sync_members(&mut self, b: usize) {
        let stamp = self
            .scoreboard
            .balancer(self.routes.balancers[b].spec.slot)
            .member_updated();
        if self.members_seen.get(b) == Some(&stamp) {
            return;
        }
        if self.members_seen.len() <= b {
            self.members_seen.resize(b + 1, 0);
        }
        self.members_seen[b] = stamp;
        let mut routes = (*self.routes).clone();
        let pool = &mut self.pool;
        if routes.adopt_new_members(&self.config, &self.scoreboard, b, |l| pool.add_member(l)) > 0 {
            self.routes = Arc::new(routes);
        }
    }
}

fn client_token(i: usize) -> Token {
    Token(CONN_BASE + 2 * i)
}

fn member_token(id: usize) -> Token {
    Token(CONN_BASE + 2 * id + 1)
}

struct Slab {
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    live: usize,
}

impl Slab {
    fn insert(&mut self, c: Conn) -> usize {
        self.live += 1;
        match self.free.pop() {
            Some(i) => {
                self.conns[i] = Some(c);
                i
            }
            None => {
                self.conns.push(Some(c));
                self.conns.len() - 1
            }
        }
    }

    fn remove(&mut self, i: usize) {
        if self.conns[i].take().is_some() {
            self.live -= 1;
            self.free.push(i);
        }
    }
}

/// Runs the worker until the process is told to stop (the supervisor sends
/// SIGTERM, whose default action ends the process).
pub fn run(setup: WorkerSetup) -> io::Result<()> {
    // Balancer locks record their holder's pid; a forked worker announces its own.
    scoreboard::set_current_pid(std::process::id() as i32);
    let mut poll = Poll::new()?;
    let mut listeners = Vec::new();
    // A listener bound to one address gives every connection that local address:
    // no getsockname per accept. (A wildcard one needs it, for vhosts by address.)
    let mut bound: Vec<Option<std::net::SocketAddr>> = Vec::new();
    for (i, l) in setup.listeners.into_iter().enumerate() {
        bound.push(l.local_addr().ok().filter(|a| !a.ip().is_unspecified()));
        l.set_nonblocking(true)?;
        let mut l = TcpListener::from_std(l);
        poll.registry()
            .register(&mut l, Token(i), Interest::READABLE)?;
        listeners.push(l);
    }
    let bound = bound;
    // `min`: connections to each member opened now, ready for the first requests.
    let mut pool = Pool::new(setup.routes.members.iter().map(|m| m.pool).collect());
    for (i, m) in setup.routes.members.iter().enumerate() {
        for _ in 0..m.pool.min.min(m.pool.max.max(m.pool.min)) {
            let socket = m.url.socket.as_deref().map(std::path::Path::new);
            let addr = m.addrs.first().copied();
            let connected = crate::pool::MemberStream::connect(socket, addr, m.keepalive).and_then(
                |s| match &m.tls {
                    Some((config, name)) => s.start_tls(config, name.clone()),
                    None => Ok(s),
                },
            );
            match connected {
                Ok(mut s) => {
                    let id = pool.new_id(None);
                    let interest = Interest::READABLE | Interest::WRITABLE;
                    if poll
                        .registry()
                        .register(&mut s, member_token(id), interest)
                        .is_ok()
                    {
                        pool.add_idle(i, crate::pool::Upstream { stream: s, id }, Instant::now());
                    } else {
                        pool.free_id(id);
                    }
                }
                Err(e) => {
                    log::warn!("opening a min= connection to {}: {e}", m.url.name);
                    break;
                }
            }
        }
    }
    let limits = Limits {
        request_line: setup.config.limit_request_line,
        field_size: setup.config.limit_request_field_size,
        fields: setup.config.limit_request_fields,
    };
    let mut ctx = Ctx {
        registry: poll.registry().try_clone()?,
        config: setup.config,
        express: express::Express::new(&setup.routes),
        routes: setup.routes,
        scoreboard: setup.scoreboard,
        slot: setup.slot,
        now: Instant::now(),
        exchanges: 0,
        pool,
        wake: Vec::new(),
        limits,
        graceful: false,
        members_seen: Vec::new(),
        faults: fault::LocalFaults::default(),
        local_waiters: 0,
    };
    // SIGUSR1 from the supervisor: finish what is in flight, then exit (graceful
    // restart or stop). The handler only sets a flag and writes to a pipe.
    let stop_flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (signal_rx, signal_tx) = std::os::unix::net::UnixStream::pair()?;
    signal_rx.set_nonblocking(true)?;
    signal_tx.set_nonblocking(true)?;
    signal_hook::flag::register(signal_hook::consts::SIGUSR1, stop_flag.clone())?;
    signal_hook::low_level::pipe::register(signal_hook::consts::SIGUSR1, signal_tx)?;
    crate::process::accept_stop_signal()?;
    let mut signal_rx = mio::net::UnixStream::from_std(signal_rx);
    poll.registry()
        .register(&mut signal_rx, SIGNAL_PIPE, Interest::READABLE)?;
    // HeartbeatListen: every worker binds its own SO_REUSEPORT socket; the
    // kernel spreads unicast beacons over them and storing one (in the member
    // slots) is a few relaxed stores. To move into the health-checker child
    // once it exists (one socket, no worker involved).
    let heartbeat = ctx.config.heartbeat_listen.and_then(|addr| {
        let sock = crate::balancer::heartbeat::bind(addr)
            .map_err(|e| log::error!("HeartbeatListen {addr}: {e}"))
            .ok()?;
        let mut sock = mio::net::UdpSocket::from_std(sock);
        poll.registry()
            .register(&mut sock, HEARTBEAT, Interest::READABLE)
            .map_err(|e| log::error!("HeartbeatListen {addr}: {e}"))
            .ok()?;
        Some(sock)
    });
    let mut heartbeat_errors = crate::balancer::heartbeat::ReceiveErrors::default();
    let mut stop_deadline: Option<Instant> = None;
    // Prefork: one connection at a time. Event: MaxRequestWorkers shared out.
    let max_conns = setup.max_connections;
    let per_child = ctx.config.max_connections_per_child;
    let mut accepting = true;
    let mut accept_deferred = false;
    // After a local fault on accept: until when accepting pauses, and how many
    // connections we held then (one closing ends the pause early).
    let mut accept_paused: Option<(Instant, usize)> = None;
    let my_generation = ctx.process().generation();
    ctx.process().set_state(ProcessState::Idle);
    let mut slab = Slab {
        conns: Vec::new(),
        free: Vec::new(),
        live: 0,
    };
    // (deadline, slab index, connection id)
    let mut timers: BinaryHeap<Reverse<(Instant, usize, u64)>> = BinaryHeap::new();
    let mut events = Events::with_capacity(1024);
    let mut dirty: Vec<usize> = Vec::new();
    let mut next_id: u64 = 0;
    let mut next_prune = Instant::now();
    // The progress mark (the supervisor's watchdog reads it): the monotonic
    // clock in ms, taken from `ctx.now` (itself CLOCK_MONOTONIC) against one
    // reading at start, so a loop turn costs one relaxed store and no clock read.
    let (epoch, epoch_ms) = (Instant::now(), scoreboard::monotonic_ms());
    loop {
        // Wake at least once a second to notice a newer generation (see below).
        let mut timeout = timers
            .peek()
            .map(|Reverse((t, _, _))| t.saturating_duration_since(Instant::now()))
            .unwrap_or(GENERATION_CHECK)
            .min(GENERATION_CHECK);
        if accept_deferred {
            timeout = timeout.min(ACCEPT_RETRY);
        }
        if let Some((until, _)) = accept_paused {
            timeout = timeout.min(until.saturating_duration_since(Instant::now()));
        }
        if let Err(e) = poll.poll(&mut events, Some(timeout)) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        ctx.now = Instant::now();
        // Every turn, at least once a second (GENERATION_CHECK bounds the poll).
        ctx.process()
            .mark_progress(epoch_ms + ctx.now.duration_since(epoch).as_millis() as u64);
        if ctx.local_waiters > 0 && accept_paused.is_none() {
            accept_paused = Some((ctx.now + ACCEPT_PAUSE, slab.live));
        }
        for ev in events.iter() {
            let t = ev.token().0;
            if ev.token() == SIGNAL_PIPE {
                let mut sink = [0u8; 64];
                while matches!(std::io::Read::read(&mut signal_rx, &mut sink), Ok(n) if n > 0) {}
                continue;
            }
            if ev.token() == HEARTBEAT {
                if let (Some(sock), Some(addr)) = (heartbeat.as_ref(), ctx.config.heartbeat_listen)
                {
                    let got = crate::balancer::heartbeat::receive(
                        |buf| sock.recv_from(buf),
                        &ctx.scoreboard,
                    );
                    if let Some(line) = got
                        .err()
                        .and_then(|e| heartbeat_errors.note(addr, &e, ctx.now))
                    {
                        log::error!("{line}");
                    }
                }
                continue;
            }
            if t < CONN_BASE && (ctx.graceful || accept_paused.is_some()) {
                continue;
            }
            if t < CONN_BASE {
                let got = accept_all(
                    &mut ctx,
                    (&mut listeners[t], bound[t], t),
                    &mut slab,
                    &mut dirty,
                    &mut next_id,
                    max_conns,
                    my_generation,
                );
                accept_deferred |= got == Accepted::Deferred;
                if got == Accepted::Paused {
                    accept_paused = Some((ctx.now + ACCEPT_PAUSE, slab.live));
                }
                if got == Accepted::Full && accepting {
                    // At capacity (always after one connection in prefork): let the
                    // other workers take new connections until one of ours closes.
                    for l in listeners.iter_mut() {
                        let _ = poll.registry().deregister(l);
                    }
                    accepting = false;
                }
                if per_child > 0 && next_id >= per_child {
                    // MaxConnectionsPerChild: finish, exit, be replaced.
                    stop_flag.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                continue;
            }
            let member_side = (t - CONN_BASE) % 2 == 1;
            let i = if member_side {
                let id = (t - CONN_BASE) / 2;
                match ctx.pool.holder(id) {
                    Some(i) => i,
                    None => {
                        // An idle pooled connection stirred: the member may have
                        // closed it; it is checked before it is reused.
                        if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                            ctx.pool.mark_suspect(id);
                        }
                        continue;
                    }
                }
            } else {
                (t - CONN_BASE) / 2
            };
            let Some(Some(c)) = slab.conns.get_mut(i) else {
                continue;
            };
            let readable = ev.is_readable() || ev.is_read_closed() || ev.is_error();
            let writable = ev.is_writable() || ev.is_write_closed() || ev.is_error();
            c.mark_ready(member_side, readable, writable, ev.is_read_closed());
            if !c.dirty {
                c.dirty = true;
                dirty.push(i);
            }
        }
        if let Some((until, live)) = accept_paused {
            if (ctx.now >= until || slab.live < live) && ctx.local_waiters == 0 {
                // The pause is over: whatever queued meanwhile is taken now
                // (the listener's readiness edge may have passed).
                accept_paused = None;
                accept_deferred = true;
            }
        }
        if accept_deferred && accepting && !ctx.graceful && accept_paused.is_none() {
            // Connections left to busier-than-us workers may still be queued:
            // take them now if our share allows (someone always does).
            accept_deferred = false;
            for (t, (l, b)) in listeners.iter_mut().zip(&bound).enumerate() {
                let got = accept_all(
                    &mut ctx,
                    (l, *b, t),
                    &mut slab,
                    &mut dirty,
                    &mut next_id,
                    max_conns,
                    my_generation,
                );
                accept_deferred |= got == Accepted::Deferred;
                if got == Accepted::Paused {
                    accept_paused = Some((ctx.now + ACCEPT_PAUSE, slab.live));
                    break;
                }
            }
        }
        for i in dirty.drain(..) {
            drive(&mut ctx, &mut slab, &mut timers, i);
        }
        // Requests that waited for a pooled connection (bounded: each wake-up
        // comes from a connection given back, and a retry consumes it).
        while let Some((i, id)) = ctx.wake.pop() {
            let Some(Some(c)) = slab.conns.get_mut(i) else {
                continue;
            };
            if c.id == id && c.waits_for_pool() {
                c.failover(&mut ctx, i);
                drive(&mut ctx, &mut slab, &mut timers, i);
            }
        }
        if ctx.now >= next_prune {
            ctx.pool.prune(ctx.now);
            ctx.express.refresh(ctx.now);
            ctx.faults.flush(ctx.now);
            next_prune = ctx.now + Duration::from_secs(1);
        }
        while let Some(Reverse((when, i, id))) = timers.peek().copied() {
            if when > ctx.now {
                break;
            }
            timers.pop();
            let Some(Some(c)) = slab.conns.get_mut(i) else {
                continue;
            };
            if c.id != id {
                continue;
            }
            c.armed = None;
            let timeout = c.timeout(&ctx);
            if c.last_activity + timeout <= ctx.now {
                let step = c.on_timeout(&mut ctx, i);
                finish_step(&mut ctx, &mut slab, &mut timers, i, step);
            } else {
                arm(&mut timers, c, i, c.last_activity + timeout);
            }
        }
        // A newer generation runs: the supervisor's SIGUSR1 may have come before our
        // handler was installed (a restart right after our fork), so look as well.
        if !ctx.graceful && ctx.scoreboard.header().generation() > my_generation {
            stop_flag.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        if stop_flag.load(std::sync::atomic::Ordering::Relaxed) && !ctx.graceful {
            ctx.graceful = true;
            for l in listeners.iter_mut() {
                let _ = poll.registry().deregister(l);
            }
            // Our copies of the listening sockets close; the supervisor's stay open.
            listeners.clear();
            let limit = match ctx.config.graceful_shutdown_timeout {
                d if d.is_zero() => GRACEFUL_DEFAULT,
                d => d,
            };
            stop_deadline = Some(ctx.now + limit);
            // Kept-alive connections are not cut: a request may be on its way. Each
            // gets its next answer with `Connection: close`, or its KeepAliveTimeout.
            log::debug!(
                "worker {} stopping gracefully with {} connections",
                ctx.slot,
                slab.live
            );
        }
        if !accepting && !ctx.graceful && (max_conns == 0 || slab.live < max_conns) {
            for (i, l) in listeners.iter_mut().enumerate() {
                poll.registry().register(l, Token(i), Interest::READABLE)?;
            }
            accepting = true;
        }
        if ctx.graceful {
            if slab.live == 0 || stop_deadline.is_some_and(|d| ctx.now >= d) {
                ctx.process().set_state(ProcessState::Graceful);
                return Ok(());
            }
            ctx.process().set_state(ProcessState::Graceful);
            ctx.process().set_connections(slab.live as u64);
            continue;
        }
        let state = if ctx.exchanges > 0 {
            ProcessState::Writing
        } else if slab.live > 0 {
            ProcessState::KeepAlive
        } else {
            ProcessState::Idle
        };
        let p = ctx.process();
        p.set_state(state);
        p.set_connections(slab.live as u64);
        p.set_allocations(crate::process::allocations());
    }
}

fn drive(
    ctx: &mut Ctx,
    slab: &mut Slab,
    timers: &mut BinaryHeap<Reverse<(Instant, usize, u64)>>,
    i: usize,
) {
    let Some(Some(c)) = slab.conns.get_mut(i) else {
        return;
    };
    c.dirty = false;
    let step = c.drive(ctx, i);
    finish_step(ctx, slab, timers, i, step);
}

fn finish_step(
    ctx: &mut Ctx,
    slab: &mut Slab,
    timers: &mut BinaryHeap<Reverse<(Instant, usize, u64)>>,
    i: usize,
    step: Step,
) {
    let Some(Some(c)) = slab.conns.get_mut(i) else {
        return;
    };
    match step {
        Step::Close => {
            c.close(ctx);
            slab.remove(i);
        }
        Step::Wait => {
            let deadline = c.last_activity + c.timeout(ctx);
            if c.armed.is_none_or(|a| deadline < a) {
                arm(timers, c, i, deadline);
            }
        }
    }
}

fn arm(
    timers: &mut BinaryHeap<Reverse<(Instant, usize, u64)>>,
    c: &mut Conn,
    i: usize,
    at: Instant,
) {
    c.armed = Some(at);
    timers.push(Reverse((at, i, c.id)));
}

/// How [`accept_all`] stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Accepted {
    /// The listener would block.
    Drained,
    /// This worker holds `max` connections.
    Full,
    /// This worker holds more than its fair share; the rest is left to others.
    Deferred,
    /// This process ran out of descriptors or memory: accepting pauses (see
    /// `ACCEPT_PAUSE`), the connection waits in the listen queue.
    Paused,
}

/// Whether this worker, holding `live` connections, has its share: an even
/// share of all the connections the workers of its generation hold (their
/// counts from the scoreboard, ours live), plus `ACCEPT_SLACK`. Never when it
/// is the only worker.
///
/// All workers wait on the same listening socket and each wake-up may accept
/// many connections, so without this the first worker to wake takes most of a
/// burst and keeps it (keep-alive). SO_REUSEPORT would spread connections by
/// hash instead, but a worker's own socket loses its queued connections when
/// the worker exits (graceful restarts, prefork's spare shrinking) and cannot
/// follow a changing number of workers; a shared socket plus this share keeps
/// restarts lossless.
fn fair_share(ctx: &Ctx, generation: u64) -> impl Fn(usize) -> bool {
    let (mut others, mut workers) = (0u64, 1u64);
    for (i, p) in ctx.scoreboard.processes().iter().enumerate() {
        if i != ctx.slot && p.pid() != 0 && p.generation() == generation {
            others += p.connections();
            workers += 1;
        }
    }
    move |live| {
        let live = live as u64;
        workers > 1 && live >= (others + live).div_ceil(workers) + ACCEPT_SLACK
    }
}

/// Accepts until the listener would block, this worker is full (`max`
/// connections, 0 = no limit), or (event MPM) it holds more than its fair share.
fn accept_all(
    ctx: &mut Ctx,
    (l, bound, index): (&mut TcpListener, Option<std::net::SocketAddr>, usize),
    slab: &mut Slab,
    dirty: &mut Vec<usize>,
    next_id: &mut u64,
    max: usize,
    generation: u64,
) -> Accepted {
    // Prefork (one connection per worker) needs no share.
    let has_share = (max != 1).then(|| fair_share(ctx, generation));
    loop {
        if max > 0 && slab.live >= max {
            return Accepted::Full;
        }
        if has_share.as_ref().is_some_and(|has| has(slab.live)) {
            return Accepted::Deferred;
        }
        match l.accept() {
            Ok((mut stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let local = match bound.map_or_else(|| stream.local_addr(), Ok) {
                    Ok(a) => a,
                    Err(e) => {
                        log::debug!("client connection from {peer} closed at once: {e}");
                        continue;
                    }
                };
                let i = slab.free.last().copied().unwrap_or(slab.conns.len());
                if let Err(e) = ctx.registry.register(
                    &mut stream,
                    client_token(i),
                    Interest::READABLE | Interest::WRITABLE,
                ) {
                    if let Some(cause) = fault::LocalCause::of(&e) {
                        ctx.local_fault(cause, "registering a client connection");
                        return Accepted::Paused;
                    }
                    log::error!("registering client connection from {peer}: {e}");
                    continue;
                }
                *next_id += 1;
                let mut c = Conn::new(stream, peer, local, *next_id, ctx.now);
                if let Some(Some(tls)) = ctx.routes.tls.get(index) {
                    if !c.start_tls(ctx, tls) {
                        continue;
                    }
                }
                let got = slab.insert(c);
                debug_assert_eq!(got, i);
                ctx.process().add_connection();
                if let Some(Some(c)) = slab.conns.get_mut(i) {
                    c.dirty = true;
                }
                dirty.push(i);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Accepted::Drained,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
            Err(e) => {
                if let Some(cause) = fault::LocalCause::of(&e) {
                    // EMFILE and friends: pause rather than spin on the
                    // connection we cannot take (it stays queued).
                    ctx.local_fault(cause, "accepting a connection");
                    return Accepted::Paused;
                }
                log::error!("accepting a connection: {e}");
                return Accepted::Drained;
            }
        }
    }
}

/// Milliseconds since the Unix epoch, for scoreboard timestamps.
pub(crate) use scoreboard::unix_time_ms as unix_ms;

/// How long a closing connection keeps reading (and discarding) after its last
/// response, so unread input does not turn the close into a reset.
const LINGER: Duration = Duration::from_secs(2);
