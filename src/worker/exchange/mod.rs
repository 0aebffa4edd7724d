//! The member side of one proxied request: choosing the member (a standalone one,
//! or through a balancer with sticky sessions and failover), connecting, sending
//! the request head and body, and reading the response into the client's buffer.
//!
//! Failover follows httpd (reference §3.7): only a failure before any byte reached
//! the member (connect refused, connect timeout) tries another member, up to the
//! balancer's `maxattempts`; nothing is retried once the member may have acted.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::Interest;

use super::buffer::Buffer;
use super::conn::BODY_BUFFER;
use super::fault::{ClientFault, Detour, Fault, LocalCause, MemberFault};
use super::{member_token, unix_ms, Ctx};
use crate::balancer::{usable_after_retry, NoMember, StickyKeys};
use crate::codec::{HttpFacts, MemberCodec, Outgoing};
use crate::http::{BodyReader, Framing, Header, RequestHead};
use crate::pool::{Acquired, MemberStream, Upstream};
use crate::proxy::forward;
use crate::proxy::{member_target, Route};
use crate::proxy_protocol;

mod member;
mod response;

use member::{hold, release_to_pool, walk_body, MemberConn, Phase};

/// How a (re)start of an exchange's member side went.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Started {
    /// A member connection is open (or opening) with the request queued.
    Connecting,
    /// No member is usable yet (balancer `timeout`) or its pool is full
    /// (`max`): choose again when woken or when the timer fires.
    Waiting,
}

pub(super) struct Exchange {
    pub head: RequestHead,
    pub server: usize,
    route: Route,
    /// The client asked for keep-alive and our limits allow it.
    pub keep_alive: bool,
    peer: SocketAddr,
    local: SocketAddr,
    /// Current member (index into `Routes::members`) and, when balanced, its index
    /// in the balancer.
    member: Option<usize>,
    in_balancer: Option<usize>,
    attempts: usize,
    last_error: String,
    phase: Phase,
    /// The target on the current member (for a replay).
    target: String,
    replayed: bool,
    /// Some request body bytes left the client's buffer (a replay is then impossible).
    body_consumed: bool,
    /// Slab index and id of the client connection (pool wake-ups, registration).
    index: usize,
    conn_id: u64,
    /// The protocol the client asked to switch to (the member's codec asks
    /// the member when its `upgrade=` accepts it).
    client_upgrade: Option<String>,
    continue_sent: bool,
    /// Request body payload bytes received (LimitRequestBody).
    body_in: u64,
    req_body: BodyReader,
    sent: u64,
    received: u64,
    /// The member's `errors` counter already moved for this exchange
    /// (failonstatus, failontimeout).
    error_counted: bool,
    pub started: Instant,
    /// The same instant, microseconds since the epoch (`%t`, `%D` in header rules).
    started_us: u64,
    /// The client's TLS connection (`%{HTTPS}`, `%{…}s` in header rules).
    pub tls: Option<crate::rules::headers::Tls>,
    /// The first request of its client connection (`proxy-initial-not-pooled`).
    pub initial: bool,
    /// The file under `DocumentRoot` a `<FilesMatch>` proxy handler routed
    /// the request by (its CGI variables name it).
    pub file: Option<crate::proxy::files::MappedFile>,
    /// For the access log.
    pub status: u16,
    pub body_bytes: u64,
    /// The request's environment (`crate::rules::env`).
    pub env: crate::rules::env::Env,
    /// The request's notes (`Header note`; the access log's `%{NAME}n`).
    pub notes: crate::rules::env::Env,
}

impl Drop for Exchange {
    /// The strings go back to the worker's free lists (`crate::recycle`).
    fn drop(&mut self) {
        use crate::recycle::give_string;
        give_string(std::mem::take(&mut self.target));
        give_string(std::mem::take(&mut self.last_error));
        if let Phase::Waiting { target, .. } = &mut self.phase {
            give_string(std::mem::take(target));
        }
        self.env.clear();
        self.notes.clear();
        match &mut self.route {
            Route::Proxy { target, .. } | Route::Balance { target, .. } => {
                give_string(std::mem::take(target));
            }
            Route::Local => {}
        }
    }
}

/// Where a routed request for `target` is, for the rules of
/// `<Location[Match]>` and `<Proxy[Match]>` sections (`crate::rules::Place`):
/// its normalised path goes into `buf`.
pub(super) fn place<'a>(
    ctx: &'a Ctx,
    route: &'a Route,
    target: &str,
    buf: &'a mut Vec<u8>,
) -> crate::rules::Place<'a> {
    crate::rules::section::request_path(target, buf);
    crate::rules::Place {
        path: buf,
        url: ctx.routes.url_of_route(route),
    }
}

/// The variables mod_proxy_balancer sets when it picks a member.
const BALANCER_VARIABLES: [&str; 6] = [
    "BALANCER_NAME",
    "BALANCER_WORKER_NAME",
    "BALANCER_WORKER_ROUTE",
    "BALANCER_SESSION_STICKY",
    "BALANCER_SESSION_ROUTE",
    "BALANCER_ROUTE_CHANGED",
];

/// How often a request whose member connection could not be opened for a
/// local fault tries again.
const LOCAL_RETRY: Duration = Duration::from_millis(20);

/// Most finished exchanges a worker keeps for reuse.
const KEEP_EXCHANGES: usize = 1024;

thread_local! {
    // The boxes are the point: reusing one saves the allocation of a new one.
    #[allow(clippy::vec_box)]
    /// Boxes of finished exchanges, emptied, for the next requests: a request
    /// then allocates no `Exchange`.
    static SPARE: std::cell::RefCell<Vec<Box<Exchange>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

impl Exchange {
    /// `ex` in a box from the free list (or a new one).
    pub fn boxed(ex: Exchange) -> Box<Exchange> {
        match SPARE.with(|s| s.borrow_mut().pop()) {
            Some(mut b) => {
                let env = std::mem::take(&mut b.env);
                *b = ex;
                b.env = env;
                b
            }
            None => Box::new(ex),
        }
    }

    /// Empties a finished exchange (its head, response and strings go back to
    /// their free lists) and keeps its box for [`boxed`](Self::boxed).
    pub fn recycle(mut b: Box<Exchange>) {
        let mut env = std::mem::take(&mut b.env);
        env.clear();
        let (now, peer, local) = (b.started, b.peer, b.local);
        *b = Exchange::new(
            now,
            RequestHead::empty(),
            0,
            Route::Local,
            false,
            peer,
            local,
        );
        b.env = env;
        SPARE.with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < KEEP_EXCHANGES {
                s.push(b);
            }
        });
    }

    pub fn new(
        now: Instant,
        head: RequestHead,
        server: usize,
        route: Route,
        keep_alive: bool,
        peer: SocketAddr,
        local: SocketAddr,
    ) -> Exchange {
        let framing = head.framing;
        let client_upgrade = forward::requested_upgrade(&head);
        Exchange {
            head,
            server,
            route,
            keep_alive,
            peer,
            local,
            member: None,
            in_balancer: None,
            attempts: 0,
            last_error: String::new(),
            phase: Phase::Choosing { wait_until: None },
            target: String::new(),
            replayed: false,
            body_consumed: false,
            index: 0,
            conn_id: 0,
            client_upgrade,
            continue_sent: false,
            body_in: 0,
            req_body: BodyReader::new(framing),
            sent: 0,
            received: 0,
            error_counted: false,
            started: now,
            started_us: 0,
            tls: None,
            initial: false,
            file: None,
            status: 0,
            body_bytes: 0,
            env: Default::default(),
            notes: Default::default(),
        }
    }

    /// Fills the environment (SetEnvIf, SetEnv, UnsetEnv) and applies
    /// RequestHeader, before a member is chosen (`crate::rules`).
    pub fn prepare(&mut self, ctx: &Ctx) {
        let rules = &ctx.routes.servers[self.server].neighbour_rules;
        if rules.is_empty() {
            return;
        }
        self.started_us = crate::rules::unix_us();
        let (path, _) = crate::url::split_target(&self.head.target);
        let facts = crate::rules::setenvif::RequestFacts {
            method: &self.head.method,
            path,
            minor: self.head.minor,
            headers: &self.head.headers,
            peer: self.peer,
            local: self.local,
        };
        let mut buf = crate::recycle::bytes();
        let at = place(ctx, &self.route, &self.head.target, &mut buf);
        rules.prepare_env(at, &facts, &mut self.env);
        let workers = || crate::handlers::snapshot::worker_shares(&ctx.scoreboard);
        let side = crate::rules::RequestSide {
            peer: self.peer.ip(),
            tls: self.tls,
            env: &self.env,
            started_us: self.started_us,
            workers: Some(&workers),
        };
        rules.edit_request(at, &mut self.head, &side);
        crate::recycle::give_bytes(buf);
    }

    pub fn mark_ready(&mut self, readable: bool, writable: bool, hup: bool) {
        if let Some(c) = self.phase.conn_mut() {
            c.readable |= readable;
            c.writable |= writable;
            c.hup |= hup;
        }
    }

    pub fn waits_for_pool(&self) -> bool {
        matches!(self.phase, Phase::Waiting { .. })
    }

    /// Whether the exchange waits for more of the request body from the client
    /// (everything received so far has been sent on to the member).
    pub fn waits_for_client_body(&self, input_empty: bool) -> bool {
        !self.req_body.is_done()
            && input_empty
            && match &self.phase {
                Phase::Sending(c) | Phase::Body(c, _) => c.output.is_empty(),
                _ => false,
            }
    }

    /// Whether the client's request body (if any) was read to its end.
    pub fn request_read(&self) -> bool {
        self.req_body.is_done()
    }

    /// Whether the client has been sent the start of a response.
    /// The route the exchange follows.
    pub fn route(&self) -> &Route {
        &self.route
    }

    pub fn answered(&self) -> bool {
        self.phase.response().is_some()
    }

    pub fn response_headers(&self) -> &[Header] {
        self.phase.response().map_or(&[], |r| &r.head.headers)
    }

    /// The response is complete and the request body fully read (or the
    /// connection will close anyway).
    pub fn is_complete(&self) -> bool {
        self.phase.response().is_some_and(|r| r.finished)
            && (self.req_body.is_done() || !self.keep_alive)
    }

    pub fn timeout(&self, ctx: &Ctx) -> Duration {
        let member = self.member.map(|m| &ctx.routes.members[m]);
        match (&self.phase, member) {
            (
                Phase::Waiting {
                    local_until: Some(_),
                    ..
                },
                _,
            ) => LOCAL_RETRY,
            // Waiting for a pooled connection: re-check at the acquire deadline, or
            // every second as a safety net against a missed wake-up.
            (Phase::Waiting { acquire_until, .. }, _) => acquire_until
                .map_or(Duration::from_secs(1), |t| {
                    t.saturating_duration_since(ctx.now)
                })
                .min(Duration::from_secs(1)),
            (
                Phase::Choosing {
                    wait_until: Some(_),
                },
                _,
            ) if self.balancer().is_some() => {
                // httpd polls every timeout/100 while it waits for a usable member.
                let b = self.balancer().unwrap_or_default();
                let wait = ctx
                    .scoreboard
                    .balancer(ctx.routes.balancers[b].spec.slot)
                    .timeout_ms();
                Duration::from_millis((wait / 100).max(10))
            }
            (_, None) => ctx.config.timeout,
            // A tunnel idles up to the longer of the client and member timeouts (§8.7).
            (Phase::Tunnel { .. }, Some(m)) => m.timeout.max(ctx.config.timeout),
            (Phase::Sending(_) | Phase::Body(..), Some(m)) => m.timeout,
            (_, Some(m)) => m.connect_timeout,
        }
    }

    /// The exchange's deadline passed; returns how it goes on.
    pub fn on_timeout(&mut self, ctx: &mut Ctx) -> Option<Detour> {
        if matches!(
            self.phase,
            Phase::Choosing {
                wait_until: Some(_)
            } | Phase::Waiting { .. }
        ) {
            return Some(Detour::Retry);
        }
        let m = self.member?;
        let name = ctx.routes.members[m].url.name.clone();
        if matches!(self.phase, Phase::Connecting(_)) {
            self.member_failed(ctx, "connect timed out");
            return Some(Detour::Retry);
        }
        if self.phase.response().is_none() {
            if let (Some(b), Some(i)) = (self.balancer(), self.in_balancer) {
                let balancer = &ctx.routes.balancers[b];
                if balancer.spec.fail_on_timeout {
                    self.error_counted = true;
                    if balancer.mark_error(&ctx.scoreboard, i, unix_ms()) {
                        log::error!(
                            "member {name} of {} is now in error state: read timeout (failontimeout)",
                            balancer.spec.name
                        );
                    }
                }
            }
            // httpd answers 502 here; RFC 9110 §15.6.5 says 504, and so do we.
            let timeout = ctx.routes.members[m].timeout;
            return Some(Detour::Fail(Fault::Member(
                MemberFault::TimedOut,
                format!("member {name} did not answer within {timeout:?}"),
            )));
        }
        Some(Detour::Fail(Fault::Member(
            MemberFault::TimedOut,
            format!("member {name} stalled mid-response"),
        )))
    }

    /// Counts a failed exchange in its member's `errors` (once per exchange;
    /// see [`Fault::counts_against_member`]).
    pub fn count_fault(&mut self, ctx: &Ctx, fault: &Fault) {
        if self.error_counted || !fault.counts_against_member() {
            return;
        }
        if let Some(m) = self.member {
            ctx.scoreboard
                .member(ctx.routes.members[m].slot)
                .add_error();
            self.error_counted = true;
        }
    }

    fn balancer(&self) -> Option<usize> {
        match self.route {
            Route::Balance { balancer, .. } => Some(balancer),
            _ => None,
        }
    }

    /// Chooses a member and starts connecting to it, trying further members while
    /// connects fail at once and attempts remain.
    pub fn choose_and_connect(
        &mut self,
        ctx: &mut Ctx,
        index: usize,
        conn_id: u64,
    ) -> Result<Started, Fault> {
        self.index = index;
        self.conn_id = conn_id;
        loop {
            let waited = std::mem::replace(&mut self.phase, Phase::Done(None));
            let (member, target, mut acquire_until, local_until) = match waited {
                Phase::Waiting {
                    member,
                    target,
                    acquire_until,
                    local_until,
                } => (member, target, acquire_until, local_until),
                Phase::Choosing { wait_until } => {
                    self.phase = Phase::Choosing { wait_until };
                    match self.choose(ctx)? {
                        Some((member, target)) => (member, target, None, None),
                        None => return Ok(Started::Waiting),
                    }
                }
                other => {
                    // A member connection is in use: nothing to choose.
                    self.phase = other;
                    return Err(Fault::Local(
                        "choosing a member while a member connection is in use".into(),
                    ));
                }
            };
            // Until it connects or gives up, the exchange waits on this member.
            self.phase = Phase::Waiting {
                member,
                target,
                acquire_until: None,
                local_until,
            };
            // `proxy-initial-not-pooled`: the first request of a client
            // connection never takes a pooled member connection (a member
            // closing an idle one could not be reported to this client).
            let fresh = self.initial && self.env.is_set("proxy-initial-not-pooled");
            let acquired = match fresh {
                true => ctx.pool.acquire_new(member),
                false => ctx.pool.acquire(member, index, ctx.now),
            };
            let stream = match acquired {
                Acquired::Full => {
                    let limits = ctx.pool.limits(member);
                    let now = ctx.now;
                    let until = *acquire_until.get_or_insert_with(|| {
                        limits
                            .acquire
                            .map_or(now + Duration::from_secs(86_400 * 365), |a| now + a)
                    });
                    if let Phase::Waiting {
                        acquire_until: a, ..
                    } = &mut self.phase
                    {
                        *a = Some(until);
                    }
                    if now >= until {
                        let name = &ctx.routes.members[member].url.name;
                        return Err(Fault::Member(
                            MemberFault::Unavailable,
                            format!("no free connection to member {name} within acquire"),
                        ));
                    }
                    ctx.pool.wait(member, (index, conn_id));
                    return Ok(Started::Waiting);
                }
                Acquired::Reused(s) => Some(s),
                Acquired::Open => None,
            };
            self.attempts += 1;
            let reused = stream.is_some();
            let target = match &mut self.phase {
                Phase::Waiting { target, .. } => std::mem::take(target),
                _ => String::new(),
            };
            match self.open(ctx, index, member, &target, stream) {
                Ok(c) => {
                    self.end_local_wait(ctx);
                    // A pooled connection is connected already.
                    self.phase = match c.reused {
                        true => Phase::Sending(c),
                        false => Phase::Connecting(c),
                    };
                    self.target = target;
                    return Ok(Started::Connecting);
                }
                Err(e) => {
                    if !reused {
                        release_to_pool(ctx, member, None, false);
                    }
                    if let Some(cause) = LocalCause::of(&e) {
                        // Not the member's attempt: keep it, and try again
                        // when a descriptor may have been freed.
                        self.attempts -= 1;
                        let Phase::Waiting {
                            target: waiting_for,
                            local_until,
                            ..
                        } = &mut self.phase
                        else {
                            return Err(self.local_fault(ctx, cause, &e));
                        };
                        *waiting_for = target;
                        // (Counted once per request, not per retry.)
                        if local_until.is_none() {
                            ctx.local_waiters += 1;
                            let m = &ctx.routes.members[member];
                            *local_until = Some(ctx.now + m.connect_timeout);
                            let what = format!("connecting to member {}", m.url.name);
                            ctx.local_fault(cause, &what);
                        }
                        if local_until.is_some_and(|until| ctx.now < until) {
                            return Ok(Started::Waiting);
                        }
                        return Err(self.local_fault(ctx, cause, &e));
                    }
                    crate::recycle::give_string(target);
                    self.end_local_wait(ctx);
                    self.member_failed(ctx, &e.to_string());
                }
            }
        }
    }

    /// The exchange no longer waits for a descriptor (see `Phase::Waiting`).
    fn end_local_wait(&mut self, ctx: &mut Ctx) {
        if let Phase::Waiting { local_until, .. } = &mut self.phase {
            if local_until.take().is_some() {
                ctx.local_waiters -= 1;
            }
        }
    }

    /// Whether a wait for a descriptor is on (see `Phase::Waiting`).
    fn waits_locally(&self) -> bool {
        matches!(
            self.phase,
            Phase::Waiting {
                local_until: Some(_),
                ..
            }
        )
    }

    /// Opening a connection failed for want of something local (descriptors,
    /// memory) and waiting longer is not allowed: the member is let go of
    /// without blame, the fault is counted in the process slot, and the
    /// request gets a 503.
    fn local_fault(&mut self, ctx: &mut Ctx, cause: LocalCause, e: &io::Error) -> Fault {
        let name = self
            .member
            .map_or_else(String::new, |m| ctx.routes.members[m].url.name.clone());
        let what = format!("connecting to member {name}");
        if !self.waits_locally() {
            // (A request that waited was counted when its wait began.)
            ctx.local_fault(cause, &what);
        }
        self.end_local_wait(ctx);
        self.let_go(ctx);
        Fault::Local(format!("{what}: {e} (local fault)"))
    }

    /// Gives the current member back (held, busy, its connection) without
    /// counting anything against it.
    fn let_go(&mut self, ctx: &mut Ctx) {
        let Some(m) = self.member.take() else {
            return;
        };
        if let Some(c) = self.phase.take_conn() {
            release_to_pool(ctx, m, Some(c.upstream()), false);
        }
        if let Phase::Waiting { target, .. } = &mut self.phase {
            crate::recycle::give_string(std::mem::take(target));
            self.phase = Phase::Choosing { wait_until: None };
        }
        let member = &ctx.routes.members[m];
        hold(ctx, member.slot, false);
        let sb = &ctx.scoreboard;
        match (self.balancer(), self.in_balancer.take()) {
            (Some(b), Some(i)) => ctx.routes.balancers[b].release(sb, i, 0, 0),
            _ => sb.member(member.slot).dec_busy(),
        }
    }

    /// Sends the request again on a fresh connection to the same member (see
    /// [`Detour::Replay`]).
    pub fn replay(&mut self, ctx: &mut Ctx) -> Result<Started, Fault> {
        let Some(m) = self.member else {
            let (index, id) = (self.index, self.conn_id);
            return self.choose_and_connect(ctx, index, id);
        };
        if let Some(c) = self.phase.take_conn() {
            release_to_pool(ctx, m, Some(c.upstream()), false);
        }
        self.replayed = true;
        self.sent = 0;
        log::debug!(
            "member {}: pooled connection was closed; sending the request again",
            ctx.routes.members[m].url.name
        );
        self.phase = Phase::Waiting {
            member: m,
            target: std::mem::take(&mut self.target),
            acquire_until: None,
            local_until: None,
        };
        self.attempts = self.attempts.saturating_sub(1);
        let (index, id) = (self.index, self.conn_id);
        self.choose_and_connect(ctx, index, id)
    }

    /// Picks the member for the next attempt: Ok(Some((member, origin-form
    /// target))), or Ok(None) to wait for one (balancer `timeout`).
    fn choose(&mut self, ctx: &mut Ctx) -> Result<Option<(usize, String)>, Fault> {
        if let Route::Balance { balancer, .. } = &self.route {
            ctx.sync_members(*balancer);
        }
        let sb = &ctx.scoreboard;
        match &self.route {
            Route::Proxy { member, target } => {
                let m = &ctx.routes.members[*member];
                if self.attempts > 0 {
                    return Err(Fault::Member(
                        MemberFault::Unavailable,
                        format!("connecting to member {}: {}", m.url.name, self.last_error),
                    ));
                }
                let slot = sb.member(m.slot);
                slot.add_elected();
                if !usable_after_retry(slot, m.retry.as_millis() as u64, unix_ms()) {
                    return Err(Fault::Member(
                        MemberFault::Unavailable,
                        format!("member {} is in error state", m.url.name),
                    ));
                }
                // held before busy: a worker dying in between leaves busy low, not high.
                hold(ctx, m.slot, true);
                slot.inc_busy();
                self.member = Some(*member);
                Ok(Some((*member, crate::recycle::string_from(target))))
            }
            Route::Balance { balancer, target } => {
                let b = &ctx.routes.balancers[*balancer];
                if self.attempts > b.spec.max_attempts {
                    return Err(Fault::Member(
                        MemberFault::Unavailable,
                        format!(
                            "{}: no member could be reached (last: {})",
                            b.spec.name, self.last_error
                        ),
                    ));
                }
                let cookies: smallvec::SmallVec<[&[u8]; 8]> = self
                    .head
                    .headers
                    .iter()
                    .filter(|h| h.is("cookie"))
                    .map(|h| h.value.as_slice())
                    .collect();
                let keys = StickyKeys {
                    url: &self.head.target,
                    cookie_headers: &cookies,
                    headers: &self.head.headers,
                    client_ip: Some(self.peer.ip()),
                };
                let selected = b.select(sb, &keys, unix_ms());
                drop(cookies);
                let choice = match selected {
                    Ok(c) => c,
                    Err(NoMember::AllUnusable)
                        if self.may_wait(ctx.now, sb.balancer(b.spec.slot).timeout_ms()) =>
                    {
                        return Ok(None);
                    }
                    Err(e) => {
                        return Err(Fault::Member(
                            MemberFault::Unavailable,
                            format!("{}: {e}", b.spec.name),
                        ))
                    }
                };
                self.phase = Phase::Choosing { wait_until: None };
                let index = ctx.routes.balancer_members[*balancer][choice.member];
                let m = &ctx.routes.members[index];
                use crate::recycle::string_from;
                // A failover's choice replaces the earlier one's variables.
                for name in BALANCER_VARIABLES {
                    self.env.unset(name);
                }
                self.env.set("BALANCER_NAME", &b.spec.name);
                self.env.set("BALANCER_WORKER_NAME", &m.url.name);
                self.env.set_owned(
                    "BALANCER_WORKER_ROUTE",
                    sb.member(m.slot).route.with(string_from),
                );
                if let Some(s) = choice.session_sticky {
                    self.env.set_owned("BALANCER_SESSION_STICKY", s);
                }
                if let Some(r) = choice.session_route {
                    self.env.set_owned("BALANCER_SESSION_ROUTE", r);
                }
                if choice.route_changed {
                    self.env.set("BALANCER_ROUTE_CHANGED", "1");
                }
                self.member = Some(index);
                self.in_balancer = Some(choice.member);
                hold(ctx, m.slot, true);
                Ok(Some((index, member_target(m, target))))
            }
            Route::Local => Err(Fault::Local(
                "a request answered locally has no member to choose".into(),
            )),
        }
    }

    /// Whether a request that found no usable member may wait (balancer `timeout`).
    fn may_wait(&mut self, now: Instant, timeout_ms: u64) -> bool {
        if timeout_ms == 0 {
            return false;
        }
        let Phase::Choosing { wait_until } = &mut self.phase else {
            return false;
        };
        let until = *wait_until.get_or_insert(now + Duration::from_millis(timeout_ms));
        now < until
    }

    /// Opens a connection to `member` and queues the request head for it.
    fn open(
        &mut self,
        ctx: &mut Ctx,
        index: usize,
        member: usize,
        target: &str,
        pooled: Option<Upstream>,
    ) -> io::Result<MemberConn> {
        let reused = pooled.is_some();
        let (stream, id) = match pooled {
            Some(up) => (up.stream, up.id),
            None => {
                let m = &ctx.routes.members[member];
                // TCP, or the socket file of a `unix:` member; `keepalive=On`:
                // TCP keep-alive probes on the member socket.
                let socket = m.url.socket.as_deref().map(std::path::Path::new);
                let mut s = MemberStream::connect(socket, m.addrs.first().copied(), m.keepalive)?;
                if let Some((config, name)) = &m.tls {
                    s = s.start_tls(config, name.clone())?;
                }
                // Registered once for its whole life, under its pool id's token.
                let id = ctx.pool.new_id(Some(index));
                let interest = Interest::READABLE | Interest::WRITABLE;
                if let Err(e) = ctx.registry.register(&mut s, member_token(id), interest) {
                    ctx.pool.free_id(id);
                    return Err(e);
                }
                (s, id)
            }
        };
        let m = &ctx.routes.members[member];
        let server = &ctx.routes.servers[self.server];
        // FastCGI, SCGI and uwsgi members: what their CGI variables need.
        let site = m.codec.cgi().map(|c| {
            let p = &server.presentation;
            crate::codec::cgi::Site {
                member: &c.script,
                document_root: &server.document_root,
                server_software: &p.server_header,
                server_admin: p
                    .server_admin
                    .as_deref()
                    .unwrap_or(crate::codec::cgi::NO_ADMIN),
                backend: ctx.config.cgi.backend.unwrap_or_default(),
                file: self.file.as_ref().map(|f| crate::codec::cgi::ScriptFile {
                    filename: &f.filename,
                    path_info: &f.path_info,
                }),
                fixups: &ctx.config.cgi.fixups,
            }
        });
        let out = Outgoing {
            head: &self.head,
            target,
            body_length: match self.head.framing {
                Framing::None => Some(0),
                Framing::Length(n) => Some(n),
                Framing::Chunked | Framing::Close => None,
            },
            client: self.peer,
            local: self.local,
            https: self.tls.is_some(),
            server_name: &server.server_name,
            env: &self.env,
            // `proxy-nokeepalive`: `Connection: close` to the member, never pooled.
            keep: m.pool.reuse && !self.env.is_set("proxy-nokeepalive"),
            http: HttpFacts {
                front_port: via_port(&self.head),
                preserve_host: server.preserve_host,
                add_headers: server.add_headers,
                via: server.via,
                forward_expect: ctx.config.proxy_100_continue,
                upgrade: self.client_upgrade.as_deref(),
            },
            cgi: site.as_ref(),
        };
        let mut codec = m.codec.codec();
        let mut output = Buffer::new();
        if let (Some(version), false) = (m.proxy_protocol, reused) {
            // `proxyprotocol=`: a new connection starts with the client's
            // addresses (such members are never pooled: see README).
            let mut header = [0u8; proxy_protocol::BUILD_MAX];
            let n = proxy_protocol::build(version, self.peer, self.local, &mut header);
            output.extend(&header[..n]);
        }
        codec.start(&out, &mut output);
        Ok(MemberConn {
            codec,
            body_ended: false,
            stream,
            id,
            reused,
            hup: false,
            readable: false,
            // A pooled connection is written at once (its writable edge came
            // long ago); a new one waits for its connect to finish.
            writable: reused,
            eof: false,
            error: None,
            input: Buffer::new(),
            output,
        })
    }

    /// The current member could not be reached: record it and let go of it.
    fn member_failed(&mut self, ctx: &mut Ctx, why: &str) {
        let Some(m) = self.member else {
            return;
        };
        let member = &ctx.routes.members[m];
        self.last_error.clear();
        self.last_error.push_str(why);
        log::debug!("connecting to member {}: {why}", member.url.name);
        let sb = &ctx.scoreboard;
        let now = unix_ms();
        match (self.balancer(), self.in_balancer) {
            (Some(b), Some(i)) => {
                let balancer = &ctx.routes.balancers[b];
                if balancer.mark_error(sb, i, now) {
                    log::error!(
                        "member {} of {} is now in error state: {why}",
                        member.url.name,
                        balancer.spec.name
                    );
                }
            }
            _ => {
                if crate::balancer::record_member_error(sb.member(member.slot), now) {
                    log::error!("member {} is now in error state: {why}", member.url.name);
                }
            }
        }
        self.let_go(ctx);
    }

    /// A member whose protocol failure takes it out
    /// (`codec::Settings::fault_takes_member_out`: AJP) broke its protocol (or
    /// closed) before the response head reached the client: it is put in
    /// error state, as httpd's mod_proxy_ajp does (httpd-oracle, 2026-12-07: a
    /// bad packet magic, a packet over the packet size, a close inside the
    /// first body chunk each left the member `Init Err`; after body bytes
    /// reached the client the response is cut short and the member stays
    /// `Init Ok`, as for HTTP members). The client gets 502 like for any
    /// member breaking its protocol (issue #16; httpd answers 503 there). No
    /// other member is tried: the member may have acted on the request.
    fn member_broke_protocol(&mut self, ctx: &mut Ctx, why: String) -> Detour {
        self.member_failed(ctx, &why);
        Fault::Member(MemberFault::BadResponse, why).into()
    }

    /// The exchange is over: accounting on the member slot, member connection dropped.
    pub fn finish(&mut self, ctx: &mut Ctx) {
        self.end_local_wait(ctx);
        let Some(m) = self.member.take() else {
            return;
        };
        if let Phase::Waiting { target, .. } = &mut self.phase {
            crate::recycle::give_string(std::mem::take(target));
            ctx.pool.cancel_wait(m, (self.index, self.conn_id));
            self.phase = Phase::Done(None);
        }
        let connected = matches!(self.phase, Phase::Sending(_) | Phase::Body(..));
        let response_reusable = self
            .phase
            .response()
            .is_some_and(|r| r.finished && r.reusable);
        if let Some(c) = self.phase.take_conn() {
            let reusable = connected
                && !c.eof
                && c.output.is_empty()
                && c.input.is_empty()
                && self.req_body.is_done()
                && response_reusable;
            release_to_pool(ctx, m, Some(c.upstream()), reusable);
        }
        if let Phase::Choosing { .. } = self.phase {
            self.phase = Phase::Done(None);
        }
        hold(ctx, ctx.routes.members[m].slot, false);
        let sb = &ctx.scoreboard;
        let slot = sb.member(ctx.routes.members[m].slot);
        slot.add_request();
        slot.record_latency_us(ctx.now.saturating_duration_since(self.started).as_micros() as u64);
        match (self.balancer(), self.in_balancer.take()) {
            (Some(b), Some(i)) => ctx.routes.balancers[b].release(sb, i, self.sent, self.received),
            _ => {
                slot.dec_busy();
                slot.add_transferred(self.sent);
                slot.add_read(self.received);
            }
        }
    }

    /// Moves bytes: client body → member, member response → client buffer.
    pub fn pump(
        &mut self,
        ctx: &mut Ctx,
        input: &mut Buffer,
        output: &mut Buffer,
        client_eof: bool,
    ) -> Result<bool, Detour> {
        let Some(m) = self.member else {
            return Ok(false);
        };
        let mut progress = false;
        match self.phase {
            Phase::Tunnel { .. } => return self.pump_tunnel(input, output, client_eof),
            Phase::Connecting(_) => {
                if !self.connected(ctx, m)? {
                    return Ok(false);
                }
                progress = true;
            }
            _ => {}
        }
        let name = &ctx.routes.members[m].url.name;
        let answered = self.phase.response().is_some();
        let Some(conn) = self.phase.conn_mut() else {
            return Ok(progress);
        };
        // A request the member's protocol cannot carry: SCGI and uwsgi need
        // the body's length first (411, as httpd); a codec may refuse the
        // request itself (a limit of its protocol: `MemberCodec::refused`).
        if self.head.framing == Framing::Chunked && ctx.routes.members[m].codec.needs_length() {
            let msg = format!(
                "client {}: a chunked request body for member {name}, whose protocol needs \
                 its length",
                self.peer
            );
            return Err(Fault::Client(ClientFault::LengthRequired, msg).into());
        }
        if let Some(refusal) = conn.codec.refused() {
            return Err(refused(self.peer, name, refusal).into());
        }
        // Client body → member.
        while !self.req_body.is_done() && conn.output.len() < BODY_BUFFER && !input.is_empty() {
            let room = (BODY_BUFFER - conn.output.len()).min(conn.codec.body_room());
            if room == 0 {
                break;
            }
            let avail = &input.data()[..input.len().min(room)];
            let (used, data) = self.req_body.step(avail).map_err(|e| {
                let msg = format!("client {}: bad request body: {e}", self.peer);
                Fault::Client(ClientFault::BadRequest, msg)
            })?;
            if used == 0 {
                break;
            }
            self.body_in += data.len() as u64;
            conn.codec.body(&avail[data], &mut conn.output);
            if let Some(refusal) = conn.codec.refused() {
                return Err(refused(self.peer, name, refusal).into());
            }
            input.consume(used);
            self.body_consumed = true;
            let limit = ctx.config.limit_request_body;
            if limit > 0 && self.body_in > limit {
                let msg = format!(
                    "client {}: the request body exceeds LimitRequestBody ({limit} bytes)",
                    self.peer
                );
                return Err(Fault::Client(ClientFault::TooLarge, msg).into());
            }
            progress = true;
        }
        if self.req_body.is_done() && !conn.body_ended {
            conn.codec.end_body(&mut conn.output);
            conn.body_ended = true;
        }
        if client_eof && !self.req_body.is_done() && input.is_empty() {
            return Err(Fault::Client(
                ClientFault::Gone,
                format!("client {} closed during its request body", self.peer),
            )
            .into());
        }
        // → member socket.
        match conn.send(&mut self.sent) {
            Ok(p) => progress |= p,
            Err(e) if answered => {
                // The member answered early and stopped reading: not an error for the answer.
                conn.output = Buffer::new();
                self.keep_alive = false;
                log::debug!("member {name} stopped reading the request body: {e}");
            }
            Err(_)
                if conn.reused && self.received == 0 && !self.body_consumed && !self.replayed =>
            {
                return Err(Detour::Replay);
            }
            Err(e) => {
                return Err(Fault::Member(
                    MemberFault::BadResponse,
                    format!("sending the request to member {name}: {e}"),
                )
                .into());
            }
        }
        // Member socket → buffer.
        progress |= conn.receive(&mut self.received);
        if !answered {
            match self.response_head(ctx, m, output) {
                Ok(p) => progress |= p,
                Err(Detour::Fail(Fault::Member(MemberFault::BadResponse, why)))
                    if ctx.routes.members[m].codec.fault_takes_member_out() =>
                {
                    return Err(self.member_broke_protocol(ctx, why));
                }
                Err(d) => return Err(d),
            }
        }
        // Response body → client buffer.
        let Phase::Body(conn, resp) = &mut self.phase else {
            return Ok(progress);
        };
        let walked = walk_body(resp, conn, output, &mut self.body_bytes);
        progress |= walked.moved;
        if let Some(why) = walked.fault {
            let fault = Fault::Member(MemberFault::BadResponse, format!("member {name}: {why}"));
            if output.len() >= resp.queued {
                // Nothing of the response reached the client yet (the body
                // came with the head, or the client was slow to take it):
                // take it back and answer 502, as httpd does, which reads
                // the start of the body before it commits the head.
                output.unextend(resp.queued);
                if let Phase::Body(conn, _) = std::mem::replace(&mut self.phase, Phase::Done(None))
                {
                    self.phase = Phase::Sending(conn);
                }
                self.status = 0;
                self.body_bytes = 0;
                if ctx.routes.members[m].codec.fault_takes_member_out() {
                    return Err(self.member_broke_protocol(ctx, fault.why().to_string()));
                }
            }
            return Err(fault.into());
        }
        Ok(progress)
    }

    /// In `Connecting`: whether the connection is open now (then `Sending`).
    /// A refused or failed connect lets the member go (Retry).
    fn connected(&mut self, ctx: &mut Ctx, m: usize) -> Result<bool, Detour> {
        let Phase::Connecting(conn) = &mut self.phase else {
            return Ok(true);
        };
        if !conn.writable {
            return Ok(false);
        }
        match conn.stream.connect_result() {
            Ok(true) => {
                ctx.scoreboard
                    .member(ctx.routes.members[m].slot)
                    .set_error_time(0);
                if let Phase::Connecting(c) = std::mem::replace(&mut self.phase, Phase::Done(None))
                {
                    self.phase = Phase::Sending(c);
                }
                Ok(true)
            }
            Ok(false) => {
                conn.writable = false;
                Ok(false)
            }
            Err(e) => {
                if let Some(cause) = LocalCause::of(&e) {
                    return Err(self.local_fault(ctx, cause, &e).into());
                }
                let why = e.to_string();
                self.member_failed(ctx, &why);
                Err(Detour::Retry)
            }
        }
    }
}

impl Exchange {
    /// When the request began and how much of its body arrived (RequestReadTimeout).
    pub fn body_progress(&self) -> (Instant, u64) {
        (self.started, self.body_in)
    }
}

/// The port a `Via` entry names, as httpd's ap_get_server_port (UseCanonicalName Off):
/// the Host header's, else 80 (then not shown). httpd-oracle, ServerName test.local,
/// HTTP/1.0: `Host: front.example` and no Host give `Via: 1.0 test.local`,
/// `Host: front.example:7777` gives `Via: 1.0 test.local:7777`.
fn via_port(head: &RequestHead) -> u16 {
    let Some(host) = head.header("host") else {
        return 80;
    };
    let host = String::from_utf8_lossy(host);
    match host.rsplit_once(':') {
        Some((_, port)) if !port.contains(']') => port.parse().unwrap_or(80),
        _ => 80,
    }
}

/// The client's fault when a member's protocol cannot carry its request
/// (`MemberCodec::refused`): 400, 413 or 431 as the refusal says.
fn refused(peer: SocketAddr, member: &str, refusal: crate::codec::Refusal) -> Fault {
    let fault = match refusal.status() {
        413 => ClientFault::TooLarge,
        431 => ClientFault::FieldsTooLarge,
        _ => ClientFault::BadRequest,
    };
    let msg = format!("client {peer}: request for member {member}: {refusal}");
    Fault::Client(fault, msg)
}
