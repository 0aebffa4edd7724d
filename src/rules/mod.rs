//! What httpd's neighbour modules do to a request and its response (issue #15):
//! the request's environment with mod_env and mod_setenvif ([`env`],
//! [`setenvif`]), and mod_headers ([`headers`]).
//!
//! Per request, the worker calls, in httpd's order: [`Rules::prepare_env`] and [`Rules::edit_request`]
//! when the request is to be proxied (SetEnvIf, then SetEnv/UnsetEnv, then
//! RequestHeader, as httpd's post-read-request and fixups phases), the proxy
//! adds its `BALANCER_*` variables when it picks a member, and
//! [`Rules::edit_response`] before the response head goes to the client.

pub mod env;
pub mod headers;
pub mod setenvif;

use crate::http::Header;
use env::{Env, EnvRule};
use headers::{HeaderRule, RuleContext, Table};
use setenvif::{RequestFacts, SetEnvIf};

/// The rules of one server (the main server's followed by a vhost's own, as
/// httpd merges them).
#[derive(Clone, Debug, Default)]
pub struct Rules {
    pub set_env_if: Vec<SetEnvIf>,
    pub env: Vec<EnvRule>,
    /// `RequestHeader`.
    pub request: Vec<HeaderRule>,
    /// `Header`.
    pub response: Vec<HeaderRule>,
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
        }
    }

    pub fn is_empty(&self) -> bool {
        self.set_env_if.is_empty()
            && self.env.is_empty()
            && self.request.is_empty()
            && self.response.is_empty()
    }

    /// Fills `env` from the request: SetEnvIf, then SetEnv/UnsetEnv.
    pub fn prepare_env(&self, facts: &RequestFacts<'_>, env: &mut Env) {
        setenvif::apply(&self.set_env_if, facts, env);
        env::apply(&self.env, env);
    }

    /// Applies RequestHeader to the request's headers.
    pub fn edit_request(&self, headers: &mut Vec<Header>, env: &Env, started_us: u64) {
        if self.request.is_empty() {
            return;
        }
        let ctx = RuleContext {
            env,
            started_us,
            now_us: unix_us(),
            request: &[],
        };
        headers::apply(&self.request, headers, &ctx);
    }

    /// Applies `Header` to a proxied response's headers: `onsuccess` rules to
    /// them, `always` rules to a table that starts empty and is put first.
    pub fn edit_response(&self, headers: &mut Vec<Header>, ctx: &RuleContext<'_>) {
        if self.response.is_empty() {
            return;
        }
        let on_success = self.response.iter().filter(|r| r.table == Table::OnSuccess);
        headers::apply(on_success, headers, ctx);
        self.always_headers(headers, 0, ctx);
    }

    /// Applies the `always` rules to an empty table and inserts its headers
    /// into `headers` at `at` (a locally generated answer gets only these).
    pub fn always_headers(&self, headers: &mut Vec<Header>, at: usize, ctx: &RuleContext<'_>) {
        if !self.response.iter().any(|r| r.table == Table::Always) {
            return;
        }
        let rules = self.response.iter().filter(|r| r.table == Table::Always);
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
