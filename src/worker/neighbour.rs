//! The worker's calls into `crate::rules` at the points where httpd's
//! neighbour modules act and no exchange exists yet (or none will): the
//! `RequestHeader … early` lines when a head is read, the environment the
//! access rules see, and mod_headers on the pages of slotgate's own handlers.
//! Each is one call from `conn.rs`.

use std::net::SocketAddr;

use super::Ctx;
use crate::http::{Header, RequestHead};
use crate::rules::env::Env;
use crate::rules::headers::{ExprFacts, RuleContext, Tls};
use crate::rules::setenvif::RequestFacts;
use crate::rules::{Place, RequestSide};

/// `RequestHeader … early` (httpd's post_read_request): applied to a head
/// just read, before mod_rewrite, routing and SetEnvIf see it.
pub(super) fn edit_early(
    ctx: &Ctx,
    server: usize,
    head: &mut RequestHead,
    peer: SocketAddr,
    tls: Option<Tls>,
) {
    let rules = &ctx.routes.servers[server].neighbour_rules;
    if !rules.edits_early() {
        return;
    }
    let env = Env::default();
    let workers = || crate::handlers::snapshot::worker_shares(&ctx.scoreboard);
    let side = RequestSide {
        peer: peer.ip(),
        tls,
        env: &env,
        started_us: crate::rules::unix_us(),
        workers: Some(&workers),
    };
    rules.edit_early_request(head, &side);
}

/// The environment `Allow|Deny from env=` reads: what SetEnvIf makes of the
/// request (httpd's access checks run after SetEnvIf, before SetEnv), which
/// goes to `url` (None: a handler); empty (and free) unless `compat` has such
/// a rule.
pub(super) fn access_env(
    ctx: &Ctx,
    server: usize,
    head: &RequestHead,
    compat: Option<&crate::access::compat::Compat>,
    url: Option<(&str, &str)>,
    (peer, local): (SocketAddr, SocketAddr),
) -> Env {
    let mut env = Env::default();
    if !compat.is_some_and(|c| c.reads_env()) {
        return env;
    }
    let mut path = crate::recycle::bytes();
    crate::rules::section::request_path(&head.target, &mut path);
    let at = Place { path: &path, url };
    let facts = RequestFacts {
        method: &head.method,
        path: crate::url::split_target(&head.target).0,
        minor: head.minor,
        headers: &head.headers,
        peer,
        local,
    };
    ctx.routes.servers[server]
        .neighbour_rules
        .access_env(at, &facts, &mut env);
    crate::recycle::give_bytes(path);
    env
}

/// mod_headers on a page of a `<Location>` handler (balancer-manager,
/// server-status, metrics), as httpd applies it to every response: a page the
/// handler wrote gets both tables, a refusal (4xx/5xx) the `always` one only.
/// Returns the request's environment and notes, for its log line.
pub(super) fn handler_page(
    ctx: &Ctx,
    server: usize,
    head: &RequestHead,
    response: &mut crate::handlers::Response,
    (peer, local): (SocketAddr, SocketAddr),
    tls: Option<Tls>,
) -> (Env, Env) {
    let rules = &ctx.routes.servers[server].neighbour_rules;
    let (mut env, mut notes) = (Env::default(), Env::default());
    if rules.is_empty() {
        return (env, notes);
    }
    let mut path = crate::recycle::bytes();
    crate::rules::section::request_path(&head.target, &mut path);
    let at = Place {
        path: &path,
        url: None,
    };
    let facts = RequestFacts {
        method: &head.method,
        path: crate::url::split_target(&head.target).0,
        minor: head.minor,
        headers: &head.headers,
        peer,
        local,
    };
    rules.prepare_env(at, &facts, &mut env);
    if !rules.edits_responses() {
        crate::recycle::give_bytes(path);
        return (env, notes);
    }
    let mut headers: Vec<Header> = response
        .headers
        .drain(..)
        .map(|(name, value)| Header {
            name,
            value: value.into_bytes(),
        })
        .collect();
    let now = crate::rules::unix_us();
    let facts = ExprFacts {
        head,
        peer: peer.ip(),
        tls,
        status: response.status,
        content_type: Some(&response.content_type),
        env: &env,
    };
    let workers = || crate::handlers::snapshot::worker_shares(&ctx.scoreboard);
    let rule_ctx = RuleContext {
        env: &env,
        started_us: now,
        now_us: now,
        request: &head.headers,
        facts: Some(&facts),
        workers: Some(&workers),
    };
    if response.status < 400 {
        rules.edit_handler_response(at, &mut headers, &rule_ctx, &mut notes);
    } else {
        rules.always_headers(at, &mut headers, 0, &rule_ctx, &mut notes);
    }
    response.headers = headers
        .into_iter()
        .map(|h| (h.name, String::from_utf8_lossy(&h.value).into_owned()))
        .collect();
    crate::recycle::give_bytes(path);
    (env, notes)
}
