//! Load balancing: which member of a `balancer://` serves a request, with
//! httpd mod_proxy_balancer's semantics (reference §3 and §4) and every
//! counter in the shared scoreboard, so that all worker processes balance as
//! one server.
//!
//! # Who calls what, and when
//!
//! For each attempt of the failover loop (reference §3.7) the worker calls
//! [`Balancer::select`]: forced recovery (§3.6), then the sticky route (§4),
//! else the balancer's lbmethod over the selection skeleton (§3.1). A
//! successful selection has already added 1 to the member's `elected` and
//! `busy`; the worker calls [`Balancer::release`] when that attempt ends
//! (whatever the outcome) and [`Balancer::mark_error`] when it failed in a
//! way that puts the member in error (connect failure, a 500/503 from the
//! handler, [`Balancer::fails_on_status`], `failontimeout`). The balancer
//! `timeout` wait and `maxattempts` loop are the caller's.
//!
//! # Where the state lives
//!
//! Nowhere in this module: an lbmethod ([`ByRequests`](byrequests::ByRequests),
//! [`ByTraffic`](bytraffic::ByTraffic), [`ByBusyness`](bybusyness::ByBusyness))
//! is a zero-sized, stateless rule over member slots; `lbstatus`, `busy`,
//! `elected`, the byte counters, the status flags and the run-time lbmethod
//! all live in the scoreboard and survive restarts of any process.
//!
//! # Locking
//!
//! Every read-modify-write that must be globally exact — the lbmethod's
//! credit and debit, the pick itself, `elected`/`busy` of the winner, the
//! sticky credit, resets and the entry into error state — runs under the
//! balancer slot's cross-process spin lock. Deciding who is *offered*
//! (flags, lbsets, retry checks, string compares, allocation) happens before
//! the lock is taken, so the critical section is a few atomic operations over
//! a pre-built slice: no allocation and no system call. httpd only locks per
//! process, so racing processes skew the weights (reference §9 #14); with
//! this lock four processes with weights 1:4 give exactly 1:4 overall.
//!
//! # Deviations from httpd (each documented where it is implemented)
//!
//! * A method reset never clears `busy` (§9 #14).
//! * The route is looked for in every `Cookie` header, not only the first.
//! * An empty URL-parameter value (`jsessionid=&…`) is no value; httpd's
//!   tokenizer would skip the `&` and read the next parameter's text.

pub mod bybusyness;
pub mod bylatency;
pub mod byload;
pub mod byrequests;
pub mod bytraffic;
pub mod hash;
pub mod heartbeat;
mod select;
pub mod sticky;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod testutil;

use std::fmt;

use scoreboard::{flags, MemberSlot, Scoreboard};

pub use select::{credit_offered, first_best, random_u64, seed_random};

pub use crate::config::lbmethod::Method;

impl Method {
    /// The rule implementing this method. For `hash` this is the rule used
    /// when the request has no key (byrequests' counting); the keyed choice
    /// is [`hash::ByKey`], built per request.
    pub fn rule(self) -> &'static dyn LbMethod {
        match self {
            Method::ByRequests => &byrequests::ByRequests,
            Method::ByTraffic => &bytraffic::ByTraffic,
            Method::ByBusyness => &bybusyness::ByBusyness,
            Method::ByLatency => &bylatency::ByLatency,
            Method::ByLoad => &byload::ByLoad,
            Method::Hash => &hash::Hash,
            Method::Heartbeat => &heartbeat::Heartbeat,
        }
    }
}

/// Records a failed exchange on a member slot: one more error, the error
/// time, and the error state (E) unless the member ignores errors (I, as
/// httpd's standalone ProxyPass members do). True when E was newly set, so
/// the caller logs the change once. Balanced members call it under their
/// balancer's lock (`Balancer::mark_error`).
pub fn record_member_error(slot: &MemberSlot, now_ms: u64) -> bool {
    slot.add_error();
    slot.set_error_time(now_ms);
    let status = slot.status();
    if status & flags::IGNORE_ERRORS != 0 {
        return false;
    }
    slot.set_flags(flags::ERROR);
    status & flags::ERROR == 0
}

/// A usable member offered to an lbmethod's comparison.
#[derive(Clone, Copy, Debug)]
pub struct Candidate<'a> {
    /// Index into [`Balancer::members`].
    pub member: usize,
    /// Its scoreboard slot.
    pub slot: &'a MemberSlot,
}

/// One load-balancing method: a stateless rule over member slots.
///
/// The selection skeleton decides who is offered (lbset, usability, drain,
/// spares, standbys); a method only says which offered candidate is best and
/// how the counters are credited.
pub trait LbMethod: Sync {
    /// Which [`Method`] this is.
    fn method(&self) -> Method;

    /// Credits the counters of the `offered` candidates (given in offer
    /// order), picks the best one, debits it and returns its index into
    /// `offered`; `None` only when `offered` is empty.
    ///
    /// Called by the skeleton with the balancer's cross-process lock held:
    /// it must not allocate, block or take another lock. `ctx` carries the
    /// clock of the selection.
    fn elect(&self, offered: &[Candidate<'_>], ctx: &Context) -> Option<usize>;

    /// Resets the method's counters in one member slot (lbmethod change,
    /// member re-enabled; reference §3.2–3.4). Never touches `busy`. Called
    /// with the balancer lock held.
    fn reset(&self, slot: &MemberSlot);
}

/// What a method may know about a selection besides its candidates.
#[derive(Clone, Copy, Debug)]
pub struct Context {
    /// The time of the selection, unix ms.
    pub now_ms: u64,
}

/// Static settings of one balancer, built by the caller from the
/// configuration.
#[derive(Clone, Debug)]
pub struct BalancerSpec {
    /// `balancer://name`.
    pub name: String,
    /// Its balancer slot in the scoreboard.
    pub slot: usize,
    /// The configured method. The live value is the slot's `lbmethod`
    /// string (the manager may change it); this is the fallback when that
    /// string is empty or unknown.
    pub method: Method,
    /// Cookie name of `stickysession` (left part of `COOKIE|URLPARAM`), as
    /// configured; the live names are the balancer slot's `sticky` and
    /// `sticky_path`.
    pub sticky_cookie: Option<String>,
    /// URL-parameter name of `stickysession` (right part, or the one name).
    pub sticky_param: Option<String>,
    /// `stickysessionsep`; `None` = `Off` (the whole value is the route).
    pub sticky_separator: Option<u8>,
    /// `scolonpathdelim`.
    pub scolon_path_delim: bool,
    /// `nofailover` as configured; the live value is the balancer slot's.
    pub nofailover: bool,
    /// `maxattempts`, already resolved (httpd's default: members − 1).
    pub max_attempts: usize,
    /// `forcerecovery`.
    pub force_recovery: bool,
    /// `failonstatus`.
    pub fail_on_status: Vec<u16>,
    /// `failontimeout`.
    pub fail_on_timeout: bool,
    /// `hashkey=`: where `lbmethod=hash` finds the request's key.
    pub hash_key: hash::HashKey,
}

/// One member of a balancer, in configuration order.
#[derive(Clone, Debug)]
pub struct MemberSpec {
    /// Member slot index in the scoreboard.
    pub slot: usize,
    /// `retry=`, in ms.
    pub retry_ms: u64,
}

/// A balancer: its settings and its members in configuration order.
///
/// A member whose slot is not `in_use` is treated as absent.
#[derive(Clone, Debug)]
pub struct Balancer {
    pub spec: BalancerSpec,
    pub members: Vec<MemberSpec>,
    /// `lbmethod=hash`'s lookup table, built at the first keyed selection
    /// and rebuilt when the members change (per process, never shared).
    pub hash_table: hash::TableCache,
}

/// What a request offers for stickiness and for `lbmethod=hash`; borrowed
/// from the request, nothing is copied.
#[derive(Clone, Copy, Debug)]
pub struct StickyKeys<'a> {
    /// The request-target as received: `path;params?query`.
    pub url: &'a str,
    /// Every `Cookie` header value, in order.
    pub cookie_headers: &'a [&'a [u8]],
    /// Every request header (`hashkey=header:NAME`).
    pub headers: &'a [crate::http::Header],
    /// The client's address (`hashkey=ip`), if known.
    pub client_ip: Option<std::net::IpAddr>,
}

/// The result of a successful selection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Choice {
    /// Index into [`Balancer::members`].
    pub member: usize,
    /// `BALANCER_SESSION_STICKY`: the cookie or URL-parameter name that
    /// supplied the route; set whenever the request carried a route.
    pub session_sticky: Option<String>,
    /// `BALANCER_SESSION_ROUTE`: the route the request carried.
    pub session_route: Option<String>,
    /// `BALANCER_ROUTE_CHANGED` (reference §4.4): sticky sessions are
    /// configured and the request had no usable route, or the chosen
    /// member's route differs from it (a `redirect`).
    pub route_changed: bool,
}

/// Why no member was selected (the caller answers 503).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoMember {
    /// The balancer has no member.
    NoMembers,
    /// No member is usable in any lbset.
    AllUnusable,
    /// `nofailover=On` and the route names members none of which is usable.
    StickyRouteUnusable { route: String },
}

impl fmt::Display for NoMember {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoMember::NoMembers => f.write_str("no members in balancer"),
            NoMember::AllUnusable => f.write_str("all members are in error state"),
            NoMember::StickyRouteUnusable { route } => write!(
                f,
                "all members for route {route} are in error state (nofailover)"
            ),
        }
    }
}

impl std::error::Error for NoMember {}

/// The retry check of reference §3.6, run lazily whenever a member is
/// evaluated; also for standalone members.
///
/// A usable member stays usable. A stopped (S) member is never retried. A
/// member in error (E) that ignores errors (I), or whose `retry` has passed
/// since `error_time` (`now > error_time + retry`), leaves E and counts a
/// retry; it is then usable unless another flag (D, U, C, no O) blocks it.
/// Anything else is unusable. Clearing E does not probe the backend: the
/// next real request does.
pub fn usable_after_retry(slot: &MemberSlot, retry_ms: u64, now_ms: u64) -> bool {
    let status = slot.status();
    if flags::is_usable(status) {
        return true;
    }
    if status & flags::STOPPED != 0 || status & flags::ERROR == 0 {
        return false;
    }
    let ignores = status & flags::IGNORE_ERRORS != 0;
    if ignores || now_ms > slot.error_time().saturating_add(retry_ms) {
        slot.clear_flags(flags::ERROR);
        slot.add_retry();
        log::info!(
            "member {} leaves error state: {}",
            slot.url.get(),
            if ignores {
                "it ignores errors"
            } else {
                "retry expired"
            }
        );
        return slot.is_usable();
    }
    false
}

impl Balancer {
    /// The members whose slots are in use: (index, spec, slot).
    fn live<'a>(
        &'a self,
        sb: &'a Scoreboard,
    ) -> impl Iterator<Item = (usize, &'a MemberSpec, &'a MemberSlot)> + 'a {
        self.members
            .iter()
            .enumerate()
            .map(move |(i, m)| (i, m, sb.member(m.slot)))
            .filter(|(_, _, slot)| slot.in_use())
    }

    /// The method in force: the balancer slot's `lbmethod` (the manager may
    /// have changed it), else the configured one.
    pub fn method(&self, sb: &Scoreboard) -> Method {
        sb.balancer(self.spec.slot)
            .lbmethod
            .with(Method::from_name)
            .unwrap_or(self.spec.method)
    }

    /// Whether `stickysession` is in force: the balancer slot's sticky
    /// names (the manager may have changed them; the configured ones are
    /// stored there at start-up).
    pub fn is_sticky(&self, sb: &Scoreboard) -> bool {
        let slot = sb.balancer(self.spec.slot);
        !slot.sticky.with(str::is_empty) || !slot.sticky_path.with(str::is_empty)
    }

    /// One selection (reference §3.1 and §4): forced recovery, then the
    /// request's sticky route, else the lbmethod over the selection
    /// skeleton. On success the member's `elected` and `busy` are already
    /// incremented; call [`release`](Self::release) when the attempt ends.
    pub fn select(
        &self,
        sb: &Scoreboard,
        keys: &StickyKeys<'_>,
        now_ms: u64,
    ) -> Result<Choice, NoMember> {
        if self.live(sb).next().is_none() {
            return Err(NoMember::NoMembers);
        }
        self.force_recovery(sb, now_ms);

        // The live sticky names and nofailover are the balancer slot's (the
        // manager may change them); read on the stack, without allocating.
        let bslot = sb.balancer(self.spec.slot);
        let (sticky, carried) = bslot.sticky.with(|cookie| {
            bslot.sticky_path.with(|param| {
                let cookie = (!cookie.is_empty()).then_some(cookie);
                let param = (!param.is_empty()).then_some(param);
                if cookie.is_none() && param.is_none() {
                    return (false, None);
                }
                let carried = sticky::route_from_request(
                    keys,
                    cookie,
                    param,
                    self.spec.sticky_separator,
                    self.spec.scolon_path_delim,
                );
                (true, carried)
            })
        });
        let (session_sticky, session_route) = match carried {
            Some((name, route)) => (Some(name), Some(route)),
            None => (None, None),
        };

        if let Some(route) = &session_route {
            if let Some(member) = sticky::member_for_route(sb, &self.members, route, now_ms) {
                self.take_routed(sb, member);
                let chosen_route = sb.member(self.members[member].slot).route.get();
                return Ok(Choice {
                    member,
                    route_changed: chosen_route != *route,
                    session_sticky,
                    session_route,
                });
            }
            if bslot.nofailover() && sticky::route_exists(sb, &self.members, route) {
                return Err(NoMember::StickyRouteUnusable {
                    route: route.clone(),
                });
            }
            log::debug!(
                "{}: no usable member for route {route}, balancing",
                self.spec.name
            );
        }

        let ctx = Context { now_ms };
        let member = match self.method(sb) {
            Method::Heartbeat => self.elect_heartbeat(sb, &ctx),
            Method::Hash => match self.spec.hash_key.hash_of(keys) {
                Some(key) => {
                    let table = self.hash_table.get(sb, self);
                    self.elect_by_method(sb, &hash::ByKey { table: &table, key }, &ctx)
                }
                None => self.elect_by_method(sb, &hash::Hash, &ctx),
            },
            method => self.elect_by_method(sb, method.rule(), &ctx),
        }
        .ok_or(NoMember::AllUnusable)?;
        // Balanced although sticky sessions are configured: the request had
        // no route, or none of its members was usable (httpd sets
        // BALANCER_ROUTE_CHANGED here unconditionally).
        Ok(Choice {
            member,
            session_sticky,
            session_route,
            route_changed: sticky,
        })
    }

    /// The attempt on `member` ended, successfully or not: `busy` − 1 (never
    /// below 0), and the bytes written to it (`transferred`) and read from
    /// it (`read`, reference §3.4) added.
    pub fn release(&self, sb: &Scoreboard, member: usize, transferred: u64, read: u64) {
        let Some(m) = self.members.get(member) else {
            debug_assert!(false, "release of unknown member {member}");
            return;
        };
        let slot = sb.member(m.slot);
        slot.dec_busy();
        if transferred > 0 {
            slot.add_transferred(transferred);
        }
        if read > 0 {
            slot.add_read(read);
        }
    }

    /// The member failed (connect failure, a 500/503 from the handler,
    /// `failonstatus`, `failontimeout`; reference §3.6 "Entering E"): its
    /// error count goes up and, unless it ignores errors (I), it enters E
    /// with `error_time = now`. Returns true only for the call that moved it
    /// into E, in any process, so the caller logs the change once.
    pub fn mark_error(&self, sb: &Scoreboard, member: usize, now_ms: u64) -> bool {
        let Some(m) = self.members.get(member) else {
            debug_assert!(false, "mark_error of unknown member {member}");
            return false;
        };
        let _guard = sb.balancer(self.spec.slot).lock();
        record_member_error(sb.member(m.slot), now_ms)
    }

    /// Whether a backend response with `status` puts the member in error
    /// (`failonstatus`).
    pub fn fails_on_status(&self, status: u16) -> bool {
        self.spec.fail_on_status.contains(&status)
    }

    /// Resets the counters of the method in force (call it after storing a
    /// new lbmethod in the slot, or when a member is re-enabled; reference
    /// §3.2–3.4). `lbstatus` goes to 0 for every method (the sticky credit
    /// uses it whatever the method); bytraffic also zeroes the byte
    /// counters. Never clears `busy`, unlike httpd's bybusyness (§9 #14):
    /// requests in flight still end and subtract 1.
    pub fn reset(&self, sb: &Scoreboard) {
        let rule = self.method(sb).rule();
        let _guard = sb.balancer(self.spec.slot).lock();
        for (_, _, slot) in self.live(sb) {
            slot.set_lbstatus(0);
            rule.reset(slot);
        }
    }

    /// After a `loadfactor` change through the manager every member's
    /// `lbstatus` restarts at its own `lbfactor` (reference §3.2, "Reset").
    pub fn loadfactor_changed(&self, sb: &Scoreboard) {
        let _guard = sb.balancer(self.spec.slot).lock();
        for (_, _, slot) in self.live(sb) {
            slot.set_lbstatus(i64::from(slot.lbfactor()));
        }
    }
}
