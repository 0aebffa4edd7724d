//! The request's environment (httpd's `subprocess_env`) and mod_env's `SetEnv` /
//! `UnsetEnv`.
//!
//! One [`Env`] per exchange, kept with the exchange's box across requests: its
//! strings come from and go back to the worker's free lists (`crate::recycle`),
//! so a request that sets nothing allocates nothing, and one that sets a few
//! variables reuses the strings of earlier requests. Names compare without
//! regard to case, as httpd's tables do.

use crate::recycle::{give_string, string_from};

/// Variables, name → value, in the order they were first set.
#[derive(Debug, Default)]
pub struct Env {
    vars: Vec<(String, String)>,
    /// The server's own `SetEnvIf` lines already ran (httpd's post-read-request
    /// phase, before mod_rewrite: `crate::rules::Rules::post_read_env`).
    post_read: bool,
}

impl Env {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn is_set(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets `name` to `value` (replacing an earlier value).
    pub fn set(&mut self, name: &str, value: &str) {
        match self
            .vars
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            Some((_, v)) => {
                v.clear();
                v.push_str(value);
            }
            None => self.vars.push((string_from(name), string_from(value))),
        }
    }

    /// Sets `name` to a value already in a (recycled) string.
    pub fn set_owned(&mut self, name: &str, value: String) {
        match self
            .vars
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            Some((_, v)) => give_string(std::mem::replace(v, value)),
            None => self.vars.push((string_from(name), value)),
        }
    }

    pub fn unset(&mut self, name: &str) {
        if let Some(i) = self
            .vars
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            let (k, v) = self.vars.remove(i);
            give_string(k);
            give_string(v);
        }
    }

    /// Empties the environment, its strings back to the free list (the vector
    /// keeps its capacity).
    pub fn clear(&mut self) {
        for (k, v) in self.vars.drain(..) {
            give_string(k);
            give_string(v);
        }
        self.post_read = false;
    }

    /// Whether the server's `SetEnvIf` lines already ran on this request.
    pub fn post_read_done(&self) -> bool {
        self.post_read
    }

    pub fn mark_post_read(&mut self) {
        self.post_read = true;
    }

    /// Moves `other`'s variables (and its post-read mark) into this
    /// environment, replacing values of the same names; `other` is left empty
    /// with its capacity.
    pub fn absorb(&mut self, other: &mut Env) {
        for (k, v) in other.vars.drain(..) {
            self.set_owned(&k, v);
            give_string(k);
        }
        self.post_read |= std::mem::take(&mut other.post_read);
    }

    pub fn is_empty(&self) -> bool {
        self.vars.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        self.clear();
    }
}

/// One `SetEnv NAME [value]` or `UnsetEnv NAME…` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvRule {
    Set { name: String, value: String },
    Unset { name: String },
}

/// Applies mod_env's lines in order (httpd runs them in the fixups phase: after
/// `SetEnvIf`, before `RequestHeader`).
pub fn apply(rules: &[EnvRule], env: &mut Env) {
    for rule in rules {
        match rule {
            EnvRule::Set { name, value } => env.set(name, value),
            EnvRule::Unset { name } => env.unset(name),
        }
    }
}

/// mod_proxy's environment switches: the variables its handlers read, and
/// whether slotgate acts on each (where: `crate::codec::h1` for the request's
/// form, `crate::worker::exchange` for pooling and interim answers). Setting
/// one slotgate does not act on is warned about at `-t` ([`switch_warning`]).
pub const PROXY_SWITCHES: &[(&str, bool)] = &[
    // `Connection: close` to the member; the connection is not pooled.
    ("proxy-nokeepalive", true),
    // HTTP/1.0 request line, no Connection header, no Expect, not pooled;
    // a chunked body is spooled and sent with Content-Length.
    ("force-proxy-request-1.0", true),
    // The first request of a client connection takes no pooled connection.
    ("proxy-initial-not-pooled", true),
    // Bodies of unknown length go chunked (slotgate's way anyway).
    ("proxy-sendchunked", true),
    ("proxy-sendchunks", true),
    // A chunked body is spooled and sent with Content-Length.
    ("proxy-sendcl", true),
    // RFC (default) passes 1xx answers to the client, Suppress does not.
    ("proxy-interim-response", true),
    // Bypasses ProxyRemote, which slotgate does not serve.
    ("no-proxy", false),
];

/// The `-t` warning for setting `name`, when it is a proxy switch slotgate
/// ignores.
pub fn switch_warning(name: &str) -> Option<String> {
    PROXY_SWITCHES
        .iter()
        .find(|(n, served)| !served && n.eq_ignore_ascii_case(name))
        .map(|(n, _)| {
            format!(
                "the environment variable {n} makes mod_proxy bypass ProxyRemote, which \
                 slotgate does not serve (it forwards to members directly): it is set, and \
                 readable by %{{{n}}}e and env=, but changes nothing"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_without_case_and_values_replace() {
        let mut env = Env::default();
        env.set("Foo", "1");
        env.set("FOO", "2");
        assert_eq!(env.get("foo"), Some("2"));
        assert_eq!(env.iter().count(), 1);
        env.unset("fOO");
        assert!(env.is_empty());
    }

    #[test]
    fn absorb_moves_variables_and_the_post_read_mark() {
        let mut early = Env::default();
        early.set("A", "1");
        early.mark_post_read();
        let mut env = Env::default();
        env.set("a", "0");
        env.set("b", "2");
        env.absorb(&mut early);
        assert_eq!((env.get("A"), env.get("b")), (Some("1"), Some("2")));
        assert!(env.post_read_done() && early.is_empty() && !early.post_read_done());
        env.clear();
        assert!(!env.post_read_done());
    }

    #[test]
    fn setenv_and_unsetenv_apply_in_order() {
        let rules = [
            EnvRule::Set {
                name: "a".into(),
                value: "1".into(),
            },
            EnvRule::Set {
                name: "b".into(),
                value: String::new(),
            },
            EnvRule::Unset { name: "A".into() },
        ];
        let mut env = Env::default();
        apply(&rules, &mut env);
        assert_eq!(env.get("a"), None);
        assert_eq!(env.get("b"), Some(""));
    }

    #[test]
    fn only_unserved_switches_are_warned_about() {
        assert!(switch_warning("proxy-nokeepalive").is_none());
        assert!(switch_warning("Force-Proxy-Request-1.0").is_none());
        assert!(switch_warning("proxy-sendcl").is_none());
        assert!(switch_warning("No-Proxy").is_some());
        assert!(switch_warning("anything").is_none());
    }
}
