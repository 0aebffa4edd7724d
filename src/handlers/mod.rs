//! Local handlers, chosen by `SetHandler` inside `<Location>` (see
//! [`crate::config::LocationHandler`]): the balancer-manager, server-status and
//! Prometheus metrics. A handler is a function from a [`Request`] (a complete
//! request: head and a small body) and a [`Context`] (the scoreboard and the
//! generation's configuration and routes) to a [`Response`]; the worker reads
//! the request, checks the section's `Require` rules, calls the handler and
//! writes the answer.

pub mod edit;
pub mod manager;
pub mod metrics;
pub mod persist;
pub mod snapshot;
pub mod status;
#[cfg(test)]
pub(crate) mod testutil;

use std::net::IpAddr;

use scoreboard::Scoreboard;

use crate::config::{Config, HandlerKind, LocationHandler};
use crate::http::Header;
use crate::proxy::Routes;

/// Largest request body a handler accepts (a balancer-manager form); more is 413.
pub const MAX_BODY: usize = 64 * 1024;

/// A request for a handler.
pub struct Request<'a> {
    pub method: &'a str,
    /// The path of the request target (still %-encoded), without the query.
    pub path: &'a str,
    /// The query string, without `?`.
    pub query: Option<&'a str>,
    pub headers: &'a [Header],
    /// The request body (at most [`MAX_BODY`] bytes).
    pub body: &'a [u8],
    pub client: IpAddr,
    /// The `<Location>` path that chose the handler.
    pub location: &'a str,
    /// The ServerName of the server (main or vhost) that took the request.
    pub server_name: &'a str,
    /// The port the client connected to.
    pub local_port: u16,
}

impl Request<'_> {
    /// The first value of header `name`, as text (lossy).
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .find(|h| h.is(name))
            .map(|h| String::from_utf8_lossy(&h.value).into_owned())
    }
}

/// What a handler sees of the server.
pub struct Context<'a> {
    pub scoreboard: &'a Scoreboard,
    pub config: &'a Config,
    pub routes: &'a Routes,
    /// Unix time in milliseconds.
    pub now_ms: u64,
}

/// A handler's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub content_type: String,
    /// More header fields (never framing or Connection: the worker writes those).
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            content_type: content_type.to_string(),
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// A short plain-text answer (errors, refusals).
    pub fn text(status: u16, text: &str) -> Response {
        Response::new(status, "text/plain; charset=utf-8", format!("{text}\n"))
    }
}

/// Runs the handler `kind` for a request that passed the section's access rules.
pub fn serve(kind: HandlerKind, req: &Request, ctx: &Context) -> Response {
    match kind {
        HandlerKind::ServerStatus => status::serve(req, ctx),
        HandlerKind::Metrics => metrics::serve(req, ctx),
        HandlerKind::BalancerManager => manager::serve(req, ctx),
    }
}

/// Whether `client` passes the `Require` rules of the handler's section (none:
/// everybody does, except at the balancer-manager). `Require host` names come from a forward-confirmed reverse
/// lookup (blocking, so only when such a rule is reached).
///
/// `Order`/`Allow`/`Deny` combine with `Require` as in httpd 2.4: both must pass,
/// or either with `Satisfy Any`; a section without `Require` passes that half.
/// `env`: the request's environment as SetEnvIf left it (`Allow from env=`).
pub fn allowed(h: &LocationHandler, client: IpAddr, env: &crate::rules::env::Env) -> bool {
    if h.require.is_none() && h.compat.is_none() {
        // A balancer-manager without rules is refused (and warned about at start).
        return h.handler != HandlerKind::BalancerManager;
    }
    rules_allow(
        h.require.as_ref(),
        h.compat.as_ref(),
        h.satisfy_any,
        client,
        env,
    )
}

/// httpd 2.4's access decision for `client`: mod_access_compat's rules
/// (`compat`) and `Require` must both pass, or either with `Satisfy Any`; a
/// missing half passes. Host names come from the cached forward-confirmed lookup.
pub fn rules_allow(
    require: Option<&crate::access::Require>,
    compat: Option<&crate::access::compat::Compat>,
    satisfy_any: bool,
    client: IpAddr,
    env: &crate::rules::env::Env,
) -> bool {
    let compat_ok = compat.is_none_or(|c| c.allows_in(client, &mut lookup_host, env));
    let require_ok = || require.is_none_or(|r| r.allows(client, &mut lookup_host));
    if satisfy_any {
        compat_ok || require_ok()
    } else {
        compat_ok && require_ok()
    }
}

/// How long a worker trusts a looked-up client host name.
const HOST_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(60);
/// Most client addresses whose names a worker remembers.
const HOST_CACHE_MAX: usize = 1024;

thread_local! {
    static HOST_CACHE: std::cell::RefCell<
        std::collections::HashMap<IpAddr, (Option<String>, std::time::Instant)>,
    > = std::cell::RefCell::new(std::collections::HashMap::new());
}

/// The client's forward-confirmed host name (httpd's double reverse lookup),
/// remembered for a minute per worker: the lookup blocks the worker, so it is
/// made at most once a minute per client address, and only for `Require host`.
fn lookup_host(ip: IpAddr) -> Option<String> {
    let now = std::time::Instant::now();
    if let Some(name) = HOST_CACHE.with(|c| {
        c.borrow()
            .get(&ip)
            .filter(|(_, at)| now.duration_since(*at) < HOST_CACHE_TTL)
            .map(|(name, _)| name.clone())
    }) {
        return name;
    }
    let name = crate::access::forward_confirmed_host(ip);
    HOST_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= HOST_CACHE_MAX {
            c.clear();
        }
        c.insert(ip, (name.clone(), now));
    });
    name
}
