//! mod_rewrite's server-context subset: RewriteRule / RewriteCond evaluated on
//! a request's normalised path before ProxyPass (httpd's translate_name order:
//! mod_rewrite runs before mod_proxy's ProxyPass; checked with httpd-oracle,
//! see tests/rewrite.rs). The directives are read in `crate::config::rewrite`.
//!
//! A rule set answers one [`Outcome`]: unchanged (the normal routing), proxy to
//! an URL (`[P]`), a redirect, a status (`[F]`, `[G]`), a new path for ProxyPass
//! (`[PT]`), or a file path (a rewrite without `[PT]`: httpd then serves a file,
//! slotgate has none and answers 404 as httpd does for a missing one).

pub mod map;
pub mod template;

use std::net::{IpAddr, SocketAddr};

use regex::Regex;

use crate::rules::env::Env;

pub use map::Map;
pub use template::{Template, TimePart, Var};

/// A compiled regular expression with the text it came from (compared by text).
#[derive(Clone, Debug)]
pub struct Pattern {
    pub text: String,
    pub re: Regex,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Pattern) -> bool {
        self.text == other.text && self.re.as_str() == other.re.as_str()
    }
}
impl Eq for Pattern {}

impl Pattern {
    /// `text` as a regex, case-insensitive with `nocase`.
    pub fn new(text: &str, nocase: bool) -> Result<Pattern, String> {
        let src = if nocase {
            format!("(?i){text}")
        } else {
            text.to_string()
        };
        let re = Regex::new(&src).map_err(|e| format!("bad regular expression '{text}': {e}"))?;
        Ok(Pattern {
            text: text.to_string(),
            re,
        })
    }
}

/// A RewriteCond's test (after its optional `!`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CondTest {
    Regex(Pattern),
    /// `-eq N`, `-ne`, `-lt`, `-le`, `-gt`, `-ge`: the input read as an integer
    /// (as C's atoi: leading digits, 0 for none) compared with N.
    Int(std::cmp::Ordering, bool, i64),
    /// `<x`, `>x`, `=x`, `<=x`, `>=x`: lexicographic comparison with the text.
    Less(String),
    Greater(String),
    Equal(String),
    LessEq(String),
    GreaterEq(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cond {
    pub input: Template,
    pub test: CondTest,
    pub negate: bool,
    pub nocase: bool,
    /// `[OR]`: ORed with the next condition instead of ANDed.
    pub or_next: bool,
}

/// What a matching rule does once its substitution is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Rewrite the URL (and go on to the next rule unless `[L]`).
    Rewrite,
    /// `[P]`: proxy to the substituted URL (implies `[L]`).
    Proxy,
    /// `[R=code]` (302 by default): redirect to it.
    Redirect(u16),
    /// `[F]` (403) or `[G]` (410).
    Status(u16),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub pattern: Pattern,
    pub negate: bool,
    /// None for `-` (no substitution).
    pub subst: Option<Template>,
    pub conds: Vec<Cond>,
    pub action: Action,
    pub last: bool,
    pub qsa: bool,
    pub qsd: bool,
    pub noescape: bool,
    pub passthrough: bool,
    /// `[C]`: chained with the next rule (when this one does not match, the
    /// rest of the chain is skipped).
    pub chain: bool,
    /// `[S=N]`: when this rule matches, the next N rules are skipped.
    pub skip: usize,
    /// `[QSL]`: the query starts at the last `?` of the substitution.
    pub qsl: bool,
    /// `[UnsafeAllow3F]`: a `?` that a back-reference brought in (a decoded
    /// `%3F` of the request) may start the query.
    pub allow_3f: bool,
    /// `[E=VAR:value]`, `[E=!VAR]`, in the order written.
    pub env: Vec<EnvSet>,
    /// `FILE:LINE` where the rule was written (for logs).
    pub origin: String,
}

/// One `[E=…]` flag of a rule: it applies when the rule matches (pattern and
/// conditions), before the rule's action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EnvSet {
    /// `[E=VAR:value]` (`[E=VAR]`: the empty value); the value may hold
    /// back-references and variables.
    Set { name: String, value: Template },
    /// `[E=!VAR]`.
    Unset { name: String },
}

/// One server's rules (the vhost's own, plus the main server's with
/// `RewriteOptions Inherit`) and the maps they can use. Only built when
/// `RewriteEngine On` and there is at least one rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rewrite {
    pub rules: Vec<Rule>,
    pub maps: Vec<Map>,
}

/// The request as mod_rewrite sees it.
pub struct Request<'a> {
    /// The normalised (decoded) path.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub head: &'a crate::http::RequestHead,
    pub https: bool,
    /// The request's client (after RemoteIPHeader) and the local address.
    pub remote: SocketAddr,
    pub local: SocketAddr,
    /// The server's ServerName as written (`host[:port]`).
    pub server_name: &'a str,
    /// UseCanonicalName, ServerAdmin and the banner of the server.
    pub presentation: &'a crate::config::Presentation,
}

impl Request<'_> {
    /// Appends the value of `v`.
    pub fn var(&self, v: &Var, out: &mut String) {
        use std::fmt::Write;
        let header = |name: &str, out: &mut String| {
            if let Some(h) = self.head.header(name) {
                out.push_str(&String::from_utf8_lossy(h));
            }
        };
        match v {
            Var::HttpHost => header("host", out),
            Var::Header(h) => header(h, out),
            Var::RequestUri => out.push_str(self.path),
            Var::QueryString => out.push_str(self.query.unwrap_or("")),
            Var::Https => out.push_str(if self.https { "on" } else { "off" }),
            Var::RequestScheme => out.push_str(if self.https { "https" } else { "http" }),
            Var::RemoteAddr | Var::RemoteHost => {
                let _ = write!(out, "{}", self.remote.ip().to_canonical());
            }
            Var::RemotePort => {
                let _ = write!(out, "{}", self.remote.port());
            }
            Var::ServerAddr => {
                let _ = write!(out, "{}", self.local.ip().to_canonical());
            }
            Var::RequestMethod => out.push_str(&self.head.method),
            Var::ServerName => out.push_str(&self.name_and_port().0),
            Var::ServerPort => {
                let _ = write!(out, "{}", self.name_and_port().1);
            }
            Var::ServerProtocol => {
                let _ = write!(out, "HTTP/1.{}", self.head.minor);
            }
            Var::ServerSoftware => out.push_str(&self.presentation.server_header),
            Var::ServerAdmin => out.push_str(
                self.presentation
                    .server_admin
                    .as_deref()
                    .unwrap_or("[no address given]"),
            ),
            Var::Ipv6 => out.push_str(match self.remote.ip().to_canonical() {
                IpAddr::V6(_) => "on",
                IpAddr::V4(_) => "off",
            }),
            Var::Empty => {}
            Var::IsSubreq => out.push_str("false"),
            Var::Time(part) => {
                let (secs, _) = crate::text::date::unix_now();
                let c = crate::text::date::Civil::local(secs);
                let _ = match part {
                    TimePart::Year => write!(out, "{:04}", c.year),
                    TimePart::Month => write!(out, "{:02}", c.month),
                    TimePart::Day => write!(out, "{:02}", c.day),
                    TimePart::Hour => write!(out, "{:02}", c.hour),
                    TimePart::Minute => write!(out, "{:02}", c.minute),
                    TimePart::Second => write!(out, "{:02}", c.second),
                    TimePart::Weekday => write!(out, "{}", c.weekday),
                    TimePart::All => write!(
                        out,
                        "{:04}{:02}{:02}{:02}{:02}{:02}",
                        c.year, c.month, c.day, c.hour, c.minute, c.second
                    ),
                };
            }
            // The environment is the template's (`template::Context::env`).
            Var::Env(_) => {}
            Var::TheRequest => {
                let _ = write!(
                    out,
                    "{} {} HTTP/1.{}",
                    self.head.method, self.head.target, self.head.minor
                );
            }
        }
    }

    /// `SERVER_NAME` and `SERVER_PORT` as httpd computes them (checked with
    /// httpd-oracle): with UseCanonicalName Off the Host header's name and
    /// port (the scheme's default port when Host names none), without a Host
    /// ServerName and the local port; with On ServerName and its port (else
    /// the local port).
    fn name_and_port(&self) -> (String, u16) {
        use crate::config::split_port;
        let default = if self.https { 443 } else { 80 };
        let host = self
            .head
            .header("host")
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .filter(|h| !h.is_empty() && !self.presentation.use_canonical_name);
        match host {
            Some(h) => {
                let (name, port) = split_port(&h);
                (name.to_string(), port.unwrap_or(default))
            }
            None => {
                let (name, port) = split_port(self.server_name);
                (name.to_string(), port.unwrap_or(self.local.port()))
            }
        }
    }

    /// The request's own URL for a redirect to a local path (httpd's
    /// fully_qualify_uri): scheme, SERVER_NAME, SERVER_PORT unless the
    /// scheme's default.
    fn own_url(&self, path: &str) -> String {
        let (name, port) = self.name_and_port();
        let (scheme, default) = if self.https {
            ("https", 443)
        } else {
            ("http", 80)
        };
        match port == default {
            true => format!("{scheme}://{name}{path}"),
            false => format!("{scheme}://{name}:{port}{path}"),
        }
    }
}

/// Where the rules send a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// No rule changed anything: route as usual.
    Unchanged,
    /// `[PT]`: route this (decoded) path and query through ProxyPass.
    Path {
        path: String,
        query: Option<String>,
    },
    /// Rewritten to a path without `[PT]`: httpd maps it to a file.
    File {
        path: String,
    },
    /// `[P]`: the absolute URL (path encoded, with its query).
    Proxy {
        url: String,
    },
    Redirect {
        status: u16,
        location: String,
    },
    Status(u16),
}

impl Rewrite {
    /// Whether a rule proxies (`[P]`).
    pub fn proxies(&self) -> bool {
        self.rules.iter().any(|r| r.action == Action::Proxy)
    }

    /// Runs the rules on `req` (server context: the pattern sees the path with
    /// its leading `/`); `[E=]` flags set and unset variables of `env`, which
    /// `%{ENV:…}` reads.
    ///
    /// An `[R]` rule without `[L]` does not end the rules (httpd-oracle, see
    /// tests/rewrite.rs): the URL becomes absolute (the request's own scheme and
    /// host before a path) and the next rules see it; the redirect keeps the
    /// `[R]` status unless a later rule changes the URL again (without `[R]`:
    /// a 302; a later `[R=code]`: its own; a `-` rule changes nothing), `[F]`
    /// or `[P]` still win, and a later rule back to a path makes it a local URL
    /// again.
    pub fn apply(&self, req: &Request<'_>, env: &mut Env) -> Outcome {
        let mut current = req.path.to_string();
        let mut query: Option<String> = req.query.map(str::to_string);
        let mut changed = false;
        let mut passthrough = false;
        // The status of the last rule that changed the URL, when it was an [R] one.
        let mut redirect: Option<u16> = None;
        // [NE] of the last rule that changed the URL.
        let mut noescape = false;
        let mut rule_caps: Vec<Option<(usize, usize)>> = Vec::new();
        let mut cond_caps: Vec<Option<(usize, usize)>> = Vec::new();
        let mut next = 0;
        while let Some(rule) = self.rules.get(next) {
            next += 1;
            rule_caps.clear();
            let pattern_holds = if rule.negate {
                !rule.pattern.re.is_match(&current)
            } else {
                match rule.pattern.re.captures(&current) {
                    Some(c) => {
                        rule_caps.extend(c.iter().map(|m| m.map(|m| (m.start(), m.end()))));
                        true
                    }
                    None => false,
                }
            };
            cond_caps.clear();
            let mut cond_text = String::new();
            if !pattern_holds
                || !self.conds_hold(
                    rule,
                    req,
                    env,
                    (&current, &rule_caps),
                    &mut cond_caps,
                    &mut cond_text,
                )
            {
                // [C]: the rest of the chain (up to its last rule) is skipped.
                while rule.chain && next < self.rules.len() && self.rules[next - 1].chain {
                    next += 1;
                }
                continue;
            }
            for set in &rule.env {
                match set {
                    EnvSet::Set { name, value } => {
                        let mut v = crate::recycle::string_from("");
                        let cx = template::Context {
                            request: req,
                            rule_caps: &rule_caps,
                            rule_text: &current,
                            cond_caps: &cond_caps,
                            cond_text: &cond_text,
                            maps: &self.maps,
                            env,
                        };
                        value.expand(&cx, &mut v);
                        env.set_owned(name, v);
                    }
                    EnvSet::Unset { name } => env.unset(name),
                }
            }
            if let Action::Status(s) = rule.action {
                return Outcome::Status(s);
            }
            let Some(subst) = &rule.subst else {
                if rule.last {
                    break;
                }
                next += rule.skip;
                continue;
            };
            let cx = template::Context {
                request: req,
                rule_caps: &rule_caps,
                rule_text: &current,
                cond_caps: &cond_caps,
                cond_text: &cond_text,
                maps: &self.maps,
                env,
            };
            let mut new = String::new();
            let mut marks = Vec::new();
            subst.expand_marked(&cx, &mut new, Some(&mut marks));
            let split = match rule.qsl {
                true => new.rfind('?'),
                false => new.find('?'),
            };
            if let Some(q) = split {
                // httpd 2.4.60+ (CVE-2024-38474; httpd-oracle): a `?` that a
                // back-reference brought in must not start the query.
                if !rule.allow_3f && marks.iter().any(|&(s, e)| s <= q && q < e) {
                    log::info!(
                        "{}: RewriteRule refused: a back-reference puts a '?' (an encoded %3F of \
                         the request) where the query would start ([UnsafeAllow3F] allows it)",
                        rule.origin
                    );
                    return Outcome::Status(403);
                }
            }
            let (new_path, new_query) = match split {
                Some(q) => (new[..q].to_string(), Some(new[q + 1..].to_string())),
                None => (new.clone(), None),
            };
            query = match (new_query, query.take()) {
                (Some(n), Some(o)) if rule.qsa && !o.is_empty() => Some(format!("{n}&{o}")),
                (Some(n), _) => Some(n).filter(|n| !n.is_empty()),
                (None, _) if rule.qsd => None,
                (None, o) => o,
            };
            let absolute = has_scheme(&new_path);
            changed = true;
            noescape = rule.noescape;
            match rule.action {
                Action::Proxy => {
                    let url = match rule.noescape {
                        // httpd-oracle: `[P,NE]` sends the URL as it is, and
                        // refuses one with a space with 403.
                        true if !sendable(&new_path) => return Outcome::Status(403),
                        true => new_path,
                        false => encode_url(&new_path),
                    };
                    return Outcome::Proxy {
                        url: with_query(&url, query.as_deref()),
                    };
                }
                Action::Redirect(status) => {
                    current = if absolute {
                        new_path
                    } else {
                        req.own_url(&new_path)
                    };
                    redirect = Some(status);
                }
                _ => {
                    current = new_path;
                    redirect = None;
                    passthrough |= rule.passthrough;
                    // [PT] implies [L] (httpd's documentation of the flag).
                    if rule.passthrough {
                        break;
                    }
                }
            }
            if rule.last {
                break;
            }
            next += rule.skip;
        }
        if changed && has_scheme(&current) {
            // An absolute URL, [R] or not, is an external redirect (httpd).
            let url = if noescape {
                current
            } else {
                encode_url(&current)
            };
            return Outcome::Redirect {
                status: redirect.unwrap_or(302),
                location: with_query(&url, query.as_deref()),
            };
        }
        match (changed, passthrough) {
            (false, _) => Outcome::Unchanged,
            (true, true) => Outcome::Path {
                path: current,
                query,
            },
            (true, false) => Outcome::File { path: current },
        }
    }

    /// The rule's conditions, with httpd's `[OR]` chaining; `cond_caps` and
    /// `cond_text` hold the groups of the last regex condition that matched.
    fn conds_hold(
        &self,
        rule: &Rule,
        req: &Request<'_>,
        env: &Env,
        (current, rule_caps): (&str, &[Option<(usize, usize)>]),
        cond_caps: &mut Vec<Option<(usize, usize)>>,
        cond_text: &mut String,
    ) -> bool {
        let mut i = 0;
        while i < rule.conds.len() {
            let c = &rule.conds[i];
            let mut input = String::new();
            let cx = template::Context {
                request: req,
                rule_caps,
                rule_text: current,
                cond_caps,
                cond_text,
                maps: &self.maps,
                env,
            };
            c.input.expand(&cx, &mut input);
            let ok = c.holds(&input, cond_caps, cond_text);
            if c.or_next {
                if ok {
                    // Skip the rest of this OR chain (its last member included).
                    while i < rule.conds.len() && rule.conds[i].or_next {
                        i += 1;
                    }
                }
            } else if !ok {
                return false;
            }
            i += 1;
        }
        true
    }
}

impl Cond {
    fn holds(
        &self,
        input: &str,
        cond_caps: &mut Vec<Option<(usize, usize)>>,
        cond_text: &mut String,
    ) -> bool {
        let cmp = |x: &str| match self.nocase {
            true => input.to_lowercase().cmp(&x.to_lowercase()),
            false => input.cmp(x),
        };
        use std::cmp::Ordering::*;
        let ok = match &self.test {
            CondTest::Regex(p) => match p.re.captures(input) {
                Some(c) if !self.negate => {
                    cond_caps.clear();
                    cond_caps.extend(c.iter().map(|m| m.map(|m| (m.start(), m.end()))));
                    cond_text.clear();
                    cond_text.push_str(input);
                    true
                }
                Some(_) => true,
                None => false,
            },
            // (ordering, negated): -eq (Equal, false), -ne (Equal, true), -lt
            // (Less, false), -ge (Less, true), -gt (Greater, false), -le (Greater, true).
            CondTest::Int(ord, not, n) => (atoi(input).cmp(n) == *ord) != *not,
            CondTest::Less(x) => cmp(x) == Less,
            CondTest::Greater(x) => cmp(x) == Greater,
            CondTest::Equal(x) => cmp(x) == Equal,
            CondTest::LessEq(x) => cmp(x) != Greater,
            CondTest::GreaterEq(x) => cmp(x) != Less,
        };
        ok != self.negate
    }
}

/// `s` as C's atoi reads it: optional blanks and sign, then the leading
/// digits (0 when there are none; saturating).
fn atoi(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = digits
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |n, d| {
            n.saturating_mul(10).saturating_add(i64::from(d - b'0'))
        });
    if neg {
        -n
    } else {
        n
    }
}

/// Whether `s` starts with `scheme://`.
pub fn has_scheme(s: &str) -> bool {
    s.find("://").is_some_and(|i| {
        i > 0
            && s[..i]
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
    })
}

/// The URL with its path re-encoded, every `%` included (httpd's
/// escape_absolute_uri, for `[R]` and `[P]` alike: httpd-oracle sends
/// `http://o/a\%20/$1 [P]` as `/a%2520/…`); scheme and authority are kept.
fn encode_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let start = match url.find("://") {
        Some(i) if has_scheme(url) => url[i + 3..].find('/').map_or(url.len(), |j| i + 3 + j),
        _ => 0,
    };
    out.push_str(&url[..start]);
    crate::url::encode_path(&url.as_bytes()[start..], &mut out);
    out
}

/// Whether `url` can go on a request line as it is (`[P,NE]`).
fn sendable(url: &str) -> bool {
    url.bytes().all(|c| c.is_ascii_graphic())
}

fn with_query(url: &str, query: Option<&str>) -> String {
    match query {
        Some(q) => format!("{url}?{q}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests;
