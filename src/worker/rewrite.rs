//! mod_rewrite in a worker: the server's rules run on the normalised path
//! before ProxyPass (httpd's translate_name order, see tests/rewrite.rs), and
//! their outcome becomes a route or a local answer.

use std::net::SocketAddr;

use super::Ctx;
use crate::http::RequestHead;
use crate::proxy::{Route, RouteError};
use crate::rules::env::Env;
use crate::rules::rewrite::{Outcome, Request};

/// What the rules decided, when they decided something.
pub(crate) enum Rewritten {
    /// `[P]`, or `[PT]` then ProxyPass.
    Route(Result<Route, RouteError>),
    /// Answered here: `[R]` (with its Location), `[F]`, `[G]`, or a path
    /// rewritten without `[PT]` (httpd's file: 404, slotgate has no files).
    Answer {
        status: u16,
        location: Option<String>,
        why: &'static str,
    },
}

/// The connection facts mod_rewrite's variables need.
pub(crate) struct Peer {
    pub remote: SocketAddr,
    pub local: SocketAddr,
    pub https: bool,
}

impl Ctx {
    /// Runs `server`'s rewrite rules (the caller checked it has some) on the
    /// normalised `path`; None when they leave the request as it is. `env`
    /// first gets the server's SetEnvIf lines (httpd runs them before
    /// mod_rewrite: `%{ENV:…}` sees them), then the rules' `[E=]`.
    pub(crate) fn rewrite_route(
        &mut self,
        server: usize,
        head: &RequestHead,
        path: &[u8],
        query: Option<&str>,
        peer: &Peer,
        env: &mut Env,
    ) -> Option<Rewritten> {
        let rules = self.routes.servers[server].rewrite.clone()?;
        let facts = crate::rules::setenvif::RequestFacts {
            method: &head.method,
            path: crate::url::split_target(&head.target).0,
            minor: head.minor,
            headers: &head.headers,
            peer: peer.remote,
            local: peer.local,
        };
        self.routes.servers[server]
            .neighbour_rules
            .post_read_env(&facts, env);
        let path = String::from_utf8_lossy(path);
        let outcome = rules.apply(
            &Request {
                path: &path,
                query,
                head,
                https: peer.https,
                remote: peer.remote,
                local: peer.local,
                server_name: &self.routes.servers[server].canonical_name,
                presentation: &self.routes.servers[server].presentation,
            },
            env,
        );
        Some(match outcome {
            Outcome::Unchanged => return None,
            Outcome::Proxy { url } => Rewritten::Route(self.rewrite_proxy(&url)),
            Outcome::Path { path, query } => {
                match self
                    .routes
                    .route_path(server, path.as_bytes(), &path, query.as_deref())
                {
                    Ok(Route::Local) => Rewritten::Answer {
                        status: 404,
                        location: None,
                        why: "no ProxyPass rule maps the rewritten URL",
                    },
                    route => Rewritten::Route(route),
                }
            }
            Outcome::File { .. } => Rewritten::Answer {
                status: 404,
                location: None,
                why: "RewriteRule rewrote the URL to a file path (slotgate serves no files; \
                      [PT] passes it on to ProxyPass)",
            },
            Outcome::Redirect { status, location } => Rewritten::Answer {
                status,
                location: Some(location),
                why: "moved",
            },
            Outcome::Status(status) => Rewritten::Answer {
                status,
                location: None,
                why: "refused by a RewriteRule",
            },
        })
    }

    /// A `[P]` URL: the member or balancer defined for it, else a member added
    /// for its scheme, host and port (as httpd's default reverse worker).
    fn rewrite_proxy(&mut self, url: &str) -> Result<Route, RouteError> {
        if let Some(route) = self.routes.proxy_url(url) {
            return route;
        }
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(RouteError { status: 500 });
        };
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let base = format!("{scheme}://{}/", &rest[..end]);
        let member = self.added_member(&base, "RewriteRule [P] to")?;
        let target = match rest[end..].starts_with('/') {
            true => rest[end..].to_string(),
            false => format!("/{}", &rest[end..]),
        };
        Ok(Route::Proxy { member, target })
    }
}
