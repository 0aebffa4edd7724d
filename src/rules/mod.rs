//! What httpd's neighbour modules do to a request and its response (issue #15,
//! DESIGN.md's `rules/`), one module per httpd module; their directives are read
//! in `crate::config`: the request's environment with mod_env and mod_setenvif
//! ([`env`], [`setenvif`]), mod_headers ([`headers`]), mod_rewrite's server and
//! vhost rules ([`rewrite`]) and mod_remoteip's client address ([`remoteip`]).
//!
//! Per request, the worker calls, in httpd's order: [`Rules::prepare_env`] and
//! [`Rules::edit_request`] once the request is routed to a member or balancer
//! (SetEnvIf, then SetEnv/UnsetEnv, then RequestHeader, as httpd's
//! post-read-request and fixups phases), the proxy adds its `BALANCER_*`
//! variables when it picks a member, and [`Rules::edit_response`] before the
//! response head goes to the client ([`Rules::always_headers`] for an error
//! page slotgate writes). Each step runs the server's lines, then those of the
//! matching `<Proxy>` sections, then those of the matching `<Location>`
//! sections ([`Place`]).

pub mod env;
pub mod headers;
pub mod remoteip;
pub mod rewrite;
pub mod setenvif;

use crate::http::Header;
use env::{Env, EnvRule};
use headers::{HeaderRule, RuleContext, Table};
use setenvif::{RequestFacts, SetEnvIf};

/// The rules of one server (the main server's followed by a vhost's own, as
/// httpd merges them), with those of its `<Location path>` sections.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    pub set_env_if: Vec<SetEnvIf>,
    pub env: Vec<EnvRule>,
    /// `RequestHeader`.
    pub request: Vec<HeaderRule>,
    /// `Header`.
    pub response: Vec<HeaderRule>,
    /// `<Location path>` sections' rules, in file order: they apply after the
    /// server's to a request whose path is `path` or below it (at a segment
    /// boundary, as `<Location>` handlers).
    pub locations: Vec<(String, Rules)>,
    /// `<Proxy balancer://name>` (Some(name)) and `<Proxy *>` (None) sections'
    /// rules, in file order: they apply after the server's and before the
    /// Locations' to requests proxied through that balancer (any request
    /// proxied, for `*`).
    pub proxies: Vec<(Option<String>, Rules)>,
}

/// Where a request is: its path and, once routed, the balancer it goes
/// through (`Some("")` for a standalone member: only `<Proxy *>` matches).
#[derive(Clone, Copy, Debug)]
pub struct Place<'a> {
    pub path: &'a str,
    pub balancer: Option<&'a str>,
}

impl PartialEq for Rules {
    /// Compiled expressions have no equality: the rules compare as written.
    fn eq(&self, other: &Rules) -> bool {
        format!("{self:?}") == format!("{other:?}")
    }
}

impl Eq for Rules {}

/// Whether `<Location location>` covers `path`.
fn covers(location: &str, path: &str) -> bool {
    let p = location.trim_end_matches('/');
    path.strip_prefix(p)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || p.is_empty())
}

impl Rules {
    /// The main server's rules, then `own`'s.
    pub fn merged(main: &Rules, own: &Rules) -> Rules {
        Rules {
            set_env_if: [main.set_env_if.clone(), own.set_env_if.clone()].concat(),
            env: [main.env.clone(), own.env.clone()].concat(),
            request: [main.request.clone(), own.request.clone()].concat(),
            response: [main.response.clone(), own.response.clone()].concat(),
            locations: [main.locations.clone(), own.locations.clone()].concat(),
            proxies: [main.proxies.clone(), own.proxies.clone()].concat(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.set_env_if.is_empty()
            && self.env.is_empty()
            && self.request.is_empty()
            && self.response.is_empty()
            && self.locations.is_empty()
            && self.proxies.is_empty()
    }

    /// Whether any `Header` line may apply.
    pub fn edits_responses(&self) -> bool {
        !self.response.is_empty()
            || self.locations.iter().any(|(_, r)| !r.response.is_empty())
            || self.proxies.iter().any(|(_, r)| !r.response.is_empty())
    }

    /// This server's rules, then those of each `<Proxy>` matching the balancer,
    /// then those of each `<Location>` covering the path (httpd's merge order:
    /// checked with httpd-oracle).
    fn sets<'a>(&'a self, at: Place<'a>) -> impl Iterator<Item = &'a Rules> + Clone + 'a {
        let proxies = self
            .proxies
            .iter()
            .filter(move |(b, _)| match (b, at.balancer) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(name), Some(chosen)) => name.eq_ignore_ascii_case(chosen),
            });
        std::iter::once(self).chain(proxies.map(|(_, r)| r)).chain(
            self.locations
                .iter()
                .filter(move |(l, _)| covers(l, at.path))
                .map(|(_, r)| r),
        )
    }

    /// The server's own SetEnvIf lines (httpd's post-read-request phase: before
    /// mod_rewrite, whose `%{ENV:…}` sees them); runs once per request.
    pub fn post_read_env(&self, facts: &RequestFacts<'_>, env: &mut Env) {
        if !env.post_read_done() {
            setenvif::apply(&self.set_env_if, facts, env);
            env.mark_post_read();
        }
    }

    /// Fills `env` from the request: SetEnvIf (the server's unless
    /// [`post_read_env`](Self::post_read_env) ran them already, then the
    /// sections'), then SetEnv/UnsetEnv.
    pub fn prepare_env(&self, at: Place<'_>, facts: &RequestFacts<'_>, env: &mut Env) {
        self.post_read_env(facts, env);
        for set in self.sets(at).skip(1) {
            setenvif::apply(&set.set_env_if, facts, env);
        }
        for set in self.sets(at) {
            env::apply(&set.env, env);
        }
    }

    /// Applies RequestHeader to the request's headers (`path`: the request's).
    pub fn edit_request(
        &self,
        at: Place<'_>,
        headers: &mut Vec<Header>,
        env: &Env,
        started_us: u64,
    ) {
        let mut sets = self.sets(at).filter(|s| !s.request.is_empty()).peekable();
        if sets.peek().is_none() {
            return;
        }
        let ctx = RuleContext {
            env,
            started_us,
            now_us: unix_us(),
            request: &[],
            // RequestHeader takes no expr= (refused at -t).
            facts: None,
        };
        headers::apply(sets.flat_map(|s| &s.request), headers, &ctx);
    }

    /// Applies `Header` to a proxied response's headers: `onsuccess` rules to
    /// them, `always` rules to a table that starts empty and is put first.
    pub fn edit_response(&self, at: Place<'_>, headers: &mut Vec<Header>, ctx: &RuleContext<'_>) {
        if !self.edits_responses() {
            return;
        }
        let on_success = self
            .sets(at)
            .flat_map(|s| &s.response)
            .filter(|r| r.table == Table::OnSuccess);
        headers::apply(on_success, headers, ctx);
        self.always_headers(at, headers, 0, ctx);
    }

    /// Applies the `always` rules to an empty table and inserts its headers
    /// into `headers` at `at` (a locally generated answer gets only these).
    pub fn always_headers(
        &self,
        place: Place<'_>,
        headers: &mut Vec<Header>,
        at: usize,
        ctx: &RuleContext<'_>,
    ) {
        let mut rules = self
            .sets(place)
            .flat_map(|s| &s.response)
            .filter(|r| r.table == Table::Always)
            .peekable();
        if rules.peek().is_none() {
            return;
        }
        // (Allocates a small table per request: only with `always` rules.)
        let mut table: Vec<Header> = Vec::new();
        headers::apply(rules, &mut table, ctx);
        headers.splice(at..at, table);
    }
}

/// Microseconds since the epoch (`%t`, `%D`).
pub fn unix_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}
