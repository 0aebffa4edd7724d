//! A worker process: one mio event loop that accepts client connections on the
//! inherited listeners and proxies their requests to members.
//!
//! Connections live in a slab (`Vec<Option<Conn>>` + free list); slot `i` owns
//! two tokens, `CONN_BASE + 2i` for the client socket and `+ 1` for its member
//! socket. Each event only sets readiness flags; [`Conn::drive`] then makes all
//! the progress it can and returns a [`Step`]. Timeouts sit in one binary heap
//! with at most one entry per connection, re-armed lazily.

mod buffer;
mod conn;
mod exchange;
mod respond;

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

/// Tokens below this are listeners (token = listener index).
const CONN_BASE: usize = 1 << 16;

/// Everything a worker process needs, handed over by the supervisor before fork.
pub struct WorkerSetup {
    pub config: Arc<Config>,
    pub routes: Arc<Routes>,
    pub listeners: Vec<std::net::TcpListener>,
    pub scoreboard: Arc<Scoreboard>,
    /// This worker's process slot.
    pub slot: usize,
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
}

impl Ctx {
    pub fn process(&self) -> &scoreboard::ProcessSlot {
        self.scoreboard.process(self.slot)
    }
}

fn client_token(i: usize) -> Token {
    Token(CONN_BASE + 2 * i)
}

fn member_token(i: usize) -> Token {
    Token(CONN_BASE + 2 * i + 1)
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
    for (i, l) in setup.listeners.into_iter().enumerate() {
        l.set_nonblocking(true)?;
        let mut l = TcpListener::from_std(l);
        poll.registry()
            .register(&mut l, Token(i), Interest::READABLE)?;
        listeners.push(l);
    }
    let limits = Limits {
        request_line: setup.config.limit_request_line,
        field_size: setup.config.limit_request_field_size,
        fields: setup.config.limit_request_fields,
    };
    let pool = Pool::new(setup.routes.members.iter().map(|m| m.pool).collect());
    let mut ctx = Ctx {
        registry: poll.registry().try_clone()?,
        config: setup.config,
        routes: setup.routes,
        scoreboard: setup.scoreboard,
        slot: setup.slot,
        now: Instant::now(),
        exchanges: 0,
        pool,
        wake: Vec::new(),
        limits,
    };
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
    loop {
        let timeout = timers
            .peek()
            .map(|Reverse((t, _, _))| t.saturating_duration_since(Instant::now()));
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        ctx.now = Instant::now();
        for ev in events.iter() {
            let t = ev.token().0;
            if t < CONN_BASE {
                accept_all(
                    &mut ctx,
                    &mut listeners[t],
                    &mut slab,
                    &mut dirty,
                    &mut next_id,
                );
                continue;
            }
            let i = (t - CONN_BASE) / 2;
            let Some(Some(c)) = slab.conns.get_mut(i) else {
                continue;
            };
            let readable = ev.is_readable() || ev.is_read_closed() || ev.is_error();
            let writable = ev.is_writable() || ev.is_write_closed() || ev.is_error();
            c.mark_ready(
                (t - CONN_BASE) % 2 == 1,
                readable,
                writable,
                ev.is_read_closed(),
            );
            if !c.dirty {
                c.dirty = true;
                dirty.push(i);
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

fn accept_all(
    ctx: &mut Ctx,
    l: &mut TcpListener,
    slab: &mut Slab,
    dirty: &mut Vec<usize>,
    next_id: &mut u64,
) {
    loop {
        match l.accept() {
            Ok((mut stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let local = match stream.local_addr() {
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
                    log::error!("registering client connection from {peer}: {e}");
                    continue;
                }
                *next_id += 1;
                let c = Conn::new(stream, peer, local, *next_id, ctx.now);
                let got = slab.insert(c);
                debug_assert_eq!(got, i);
                ctx.process().add_connection();
                if let Some(Some(c)) = slab.conns.get_mut(i) {
                    c.dirty = true;
                }
                dirty.push(i);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                // EMFILE and friends: log and retry on the next event rather than spin.
                log::error!("accepting a connection: {e}");
                return;
            }
        }
    }
}

/// Milliseconds since the Unix epoch, for scoreboard timestamps.
pub(crate) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// How long a closing connection keeps reading (and discarding) after its last
/// response, so unread input does not turn the close into a reset.
const LINGER: Duration = Duration::from_secs(2);
