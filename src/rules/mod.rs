//! What httpd's neighbour modules do to a request and its response (issue #15,
//! DESIGN.md's `rules/`), one module per httpd module; their directives are read
//! in `crate::config`: the request's environment with mod_env and mod_setenvif
//! ([`env`], [`setenvif`]), mod_headers ([`headers`]), mod_rewrite's server and
//! vhost rules ([`rewrite`]) and mod_remoteip's client address ([`remoteip`]).
//!
//! Per request, the worker calls, in httpd's order:
//! [`Rules::edit_early_request`] when the head is read (`RequestHeader …
//! early`, httpd's post_read_request), [`Rules::access_env`] for the access
//! rules (SetEnvIf runs before them), [`Rules::prepare_env`] and
//! [`Rules::edit_request`] once the request is routed to a member or balancer
//! (SetEnvIf, then SetEnv/UnsetEnv, then RequestHeader, as httpd's
//! header_parser and fixups phases), the proxy adds its `BALANCER_*`
//! variables when it picks a member, and [`Rules::edit_response`] before the
//! response head goes to the client ([`Rules::always_headers`] for an error
//! page slotgate writes, [`Rules::edit_handler_response`] for its handlers'
//! pages). Each step runs the server's lines, then those of the matching
//! `<Proxy[Match]>` sections, then those of the matching `<Location[Match]>`
//! sections ([`section`]).

pub mod env;
pub mod headers;
pub mod remoteip;
pub mod rewrite;
pub mod section;
pub mod setenvif;

use crate::http::{Header, RequestHead};
use env::{Env, EnvRule};
use headers::{HeaderRule, RuleContext, Table};
pub use section::{Place, Section};
use setenvif::{RequestFacts, SetEnvIf};

/// The rules of one server (the main server's followed by a vhost's own, as
/// httpd merges them), with those of its `<Location[Match]>` and
/// `<Proxy[Match]>` sections.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    pub set_env_if: Vec<SetEnvIf>,
    pub env: Vec<EnvRule>,
    /// `RequestHeader`.
    pub request: Vec<HeaderRule>,
    /// `Header`.
    pub response: Vec<HeaderRule>,
    /// The sections' rules, in file order: those of the `<Proxy[Match]>`
    /// sections covering the request apply after the server's, then those of
    /// the `<Location[Match]>` sections (see [`section`]).
    pub sections: Vec<(Section, Rules)>,
}

/// What a `RequestHeader` rule reads besides the request head.
pub struct RequestSide<'a> {
    pub peer: std::net::IpAddr,
    pub tls: Option<headers::Tls>,
    pub env: &'a Env,
    /// The request's start, microseconds since the epoch.
    pub started_us: u64,
    /// `%i`, `%b` (see `headers::RuleContext::workers`).
    pub workers: Option<&'a dyn Fn() -> (u32, u32)>,
}

impl PartialEq for Rules {
    /// Compiled expressions have no equality: the rules compare as written.
    fn eq(&self, other: &Rules) -> bool {
        format!("{self:?}") == format!("{other:?}")
    }
}

impl Eq for Rules {}

impl Rules {
    /// The main server's rules, then `own`'s.
    pub fn merged(main: &Rules, own: &Rules) -> Rules {
        Rules {
            set_env_if: [main.set_env_if.clone(), own.set_env_if.clone()].concat(),
            env: [main.env.clone(), own.env.clone()].concat(),
            request: [main.request.clone(), own.request.clone()].concat(),
            response: [main.response.clone(), own.response.clone()].concat(),
            sections: [main.sections.clone(), own.sections.clone()].concat(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.set_env_if.is_empty()
            && self.env.is_empty()
            && self.request.is_empty()
            && self.response.is_empty()
            && self.sections.is_empty()
    }

    /// Whether any `Header` line may apply.
    pub fn edits_responses(&self) -> bool {
        !self.response.is_empty() || self.sections.iter().any(|(_, r)| !r.response.is_empty())
    }

    /// This server's rules, then those of each `<Proxy[Match]>` covering the
    /// request, then those of each `<Location[Match]>` (httpd's merge order:
    /// checked with httpd-oracle).
    fn sets<'a>(&'a self, at: Place<'a>) -> impl Iterator<Item = &'a Rules> + Clone + 'a {
        let of = move |proxy: bool| {
            self.sections
                .iter()
                .filter(move |(s, _)| s.is_proxy() == proxy && s.covers(&at))
                .map(|(_, r)| r)
        };
        std::iter::once(self).chain(of(true)).chain(of(false))
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
        self.access_env(at, facts, env);
        for set in self.sets(at) {
            env::apply(&set.env, env);
        }
    }

    /// Fills `env` with what SetEnvIf makes of the request: the environment
    /// httpd's access checks (`Allow from env=`) see, before mod_env's SetEnv
    /// (checked with httpd-oracle, tests/access_compat.rs).
    /// The server's own lines run once ([`post_read_env`](Self::post_read_env)).
    pub fn access_env(&self, at: Place<'_>, facts: &RequestFacts<'_>, env: &mut Env) {
        self.post_read_env(facts, env);
        for set in self.sets(at).skip(1) {
            setenvif::apply(&set.set_env_if, facts, env);
        }
    }

    /// Whether some `RequestHeader … early` line exists.
    pub fn edits_early(&self) -> bool {
        self.request.iter().any(|r| r.early)
    }

    /// Applies the `RequestHeader … early` lines (server and vhost only) to a
    /// request just read, before rewriting and routing (httpd's
    /// post_read_request): they see an empty environment.
    pub fn edit_early_request(&self, head: &mut RequestHead, side: &RequestSide<'_>) {
        let empty = Env::default();
        let side = RequestSide {
            env: &empty,
            ..*side
        };
        headers::apply_to_request(self.request.iter().filter(|r| r.early), head, &side);
    }

    /// Applies RequestHeader (all but `early`) to the request's head.
    pub fn edit_request(&self, at: Place<'_>, head: &mut RequestHead, side: &RequestSide<'_>) {
        let mut sets = self.sets(at).filter(|s| !s.request.is_empty()).peekable();
        if sets.peek().is_none() {
            return;
        }
        let rules = sets.flat_map(|s| &s.request).filter(|r| !r.early);
        headers::apply_to_request(rules, head, side);
    }

    /// Applies `Header` to a proxied response's headers: `onsuccess` rules to
    /// them, `always` rules to a table that starts empty and is put first.
    /// `note` rules write into `notes`.
    pub fn edit_response(
        &self,
        at: Place<'_>,
        headers: &mut Vec<Header>,
        ctx: &RuleContext<'_>,
        notes: &mut Env,
    ) {
        if !self.edits_responses() {
            return;
        }
        self.on_success(at, headers, ctx, notes, false);
        self.always_headers(at, headers, 0, ctx, notes);
    }

    /// [`Rules::edit_response`] for a page of slotgate's own handlers
    /// (balancer-manager, server-status, metrics): as httpd's handlers, they
    /// also get the `Header … early` lines' `onsuccess` table (a proxied
    /// response replaces it).
    pub fn edit_handler_response(
        &self,
        at: Place<'_>,
        headers: &mut Vec<Header>,
        ctx: &RuleContext<'_>,
        notes: &mut Env,
    ) {
        if !self.edits_responses() {
            return;
        }
        self.on_success(at, headers, ctx, notes, true);
        self.always_headers(at, headers, 0, ctx, notes);
    }

    fn on_success(
        &self,
        at: Place<'_>,
        headers: &mut Vec<Header>,
        ctx: &RuleContext<'_>,
        notes: &mut Env,
        early_too: bool,
    ) {
        let of_table = |r: &&HeaderRule| r.table == Table::OnSuccess;
        if early_too {
            let empty = Env::default();
            let early_ctx = RuleContext {
                env: &empty,
                ..*ctx
            };
            let early = self.response.iter().filter(of_table).filter(|r| r.early);
            headers::apply(early, headers, &early_ctx, notes);
        }
        let rules = self
            .sets(at)
            .flat_map(|s| &s.response)
            .filter(of_table)
            .filter(|r| !r.early);
        headers::apply(rules, headers, ctx, notes);
    }

    /// Applies the `always` rules to an empty table and inserts its headers
    /// into `headers` at `at` (a locally generated answer gets only these).
    /// The `early` ones come first, with an empty environment, as httpd
    /// applies them when the request is read.
    pub fn always_headers(
        &self,
        place: Place<'_>,
        headers: &mut Vec<Header>,
        at: usize,
        ctx: &RuleContext<'_>,
        notes: &mut Env,
    ) {
        let of_table = |r: &&HeaderRule| r.table == Table::Always;
        let mut rules = self
            .sets(place)
            .flat_map(|s| &s.response)
            .filter(of_table)
            .peekable();
        if rules.peek().is_none() {
            return;
        }
        // (Allocates a small table per request: only with `always` rules.)
        let mut table: Vec<Header> = Vec::new();
        let empty = Env::default();
        let early_ctx = RuleContext {
            env: &empty,
            ..*ctx
        };
        let early = self.response.iter().filter(of_table).filter(|r| r.early);
        headers::apply(early, &mut table, &early_ctx, notes);
        headers::apply(rules.filter(|r| !r.early), &mut table, ctx, notes);
        headers.splice(at..at, table);
    }
}

/// Microseconds since the epoch (`%t`, `%D`).
pub fn unix_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}
