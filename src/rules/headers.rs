//! mod_headers: `Header` (the response to the client) and `RequestHeader` (the
//! request before it goes to the member).
//!
//! A response has two header tables, as in httpd: `onsuccess` rules (the
//! default) edit the member's headers, `always` rules edit a second table that
//! starts empty and is sent first. So `Header always unset X` does not remove a
//! member's `X`, and `Header always set X v` next to a member's `X` sends both
//! (httpd does the same). Locally generated answers (error pages) get the
//! `always` table only.
//!
//! Rules with fixed values edit the header list in place with headers from the
//! worker's free list (`crate::http::spare_header`): nothing is allocated per
//! request once the lists are warm.

use regex::bytes::Regex;

use super::env::Env;
use crate::http::{give_header, spare_header, Header};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Set,
    Append,
    Add,
    Unset,
    /// `edit` (first match) or `edit*` (every match).
    Edit {
        all: bool,
    },
    Merge,
    SetIfEmpty,
    /// `Header echo`: request headers whose names match are copied.
    Echo,
    /// `Header note`: the header's first value is copied into the request note
    /// the value names (the access log's `%{NAME}n` reads it).
    Note,
}

/// Which table of the response a `Header` rule edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    OnSuccess,
    Always,
}

/// One piece of a value's format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    /// `%{VAR}e`: the variable, or `(null)` when unset (as httpd).
    Env(String),
    /// `%t`: `t=` and the request's start in microseconds since the epoch.
    Time,
    /// `%D`: `D=` and the microseconds since the request started.
    Duration,
    /// `%l`: `l=` and the machine's load averages over 1, 5 and 15 minutes
    /// (`-1` each where the system does not tell), as httpd writes them.
    Load,
    /// `%i`: `i=` and the percentage of worker slots idle.
    Idle,
    /// `%b`: `b=` and the percentage of worker slots busy.
    Busy,
    /// `%{NAME}s`: an SSL variable of the client's connection (one of
    /// [`SSL_VARIABLES`]); `(null)` when it has none, as httpd.
    Ssl(SslVar),
    /// A value written `expr=…`: an ap_expr string (`crate::expr::parse_string`).
    Expr(crate::expr::Word),
}

/// The SSL variables slotgate knows of a client's TLS connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslVar {
    /// `HTTPS`: `on` or `off`.
    Https,
    /// `SSL_PROTOCOL`: `TLSv1.2` or `TLSv1.3`.
    Protocol,
    /// `SSL_CIPHER`: the cipher suite's IANA name.
    Cipher,
}

/// `%{NAME}s` names slotgate serves (httpd's mod_ssl has more: they are refused).
pub const SSL_VARIABLES: &[(&str, SslVar)] = &[
    ("HTTPS", SslVar::Https),
    ("SSL_PROTOCOL", SslVar::Protocol),
    ("SSL_CIPHER", SslVar::Cipher),
];

/// What slotgate knows of a client's TLS connection (`%{…}s`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tls {
    /// `TLSv1.2`, `TLSv1.3`.
    pub protocol: &'static str,
    /// The cipher suite's IANA name (for TLS 1.3 the same as OpenSSL's).
    pub cipher: &'static str,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Format {
    pieces: Vec<Piece>,
}

impl Format {
    /// Parses mod_headers' format specifiers; what slotgate cannot expand is
    /// refused.
    pub fn parse(text: &str) -> Result<Format, String> {
        let mut pieces = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(i) = rest.find('%') {
            lit.push_str(&rest[..i]);
            let spec = &rest[i + 1..];
            let mut take = |p: Piece, lit: &mut String| {
                if !lit.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(lit)));
                }
                pieces.push(p);
            };
            if let Some(braced) = spec.strip_prefix('{') {
                let end = braced
                    .find('}')
                    .ok_or_else(|| format!("'%{{' without its '}}' in '{text}'"))?;
                let name = &braced[..end];
                let kind = braced[end + 1..].chars().next();
                match kind {
                    Some('e') => take(Piece::Env(name.to_string()), &mut lit),
                    Some('s') => {
                        let Some((_, var)) = SSL_VARIABLES
                            .iter()
                            .find(|(n, _)| n.eq_ignore_ascii_case(name))
                        else {
                            let known: Vec<&str> = SSL_VARIABLES.iter().map(|(n, _)| *n).collect();
                            return Err(format!(
                                "%{{{name}}}s: slotgate knows the SSL variables {} of a \
                                 client's connection, not this one",
                                known.join(", ")
                            ));
                        };
                        take(Piece::Ssl(*var), &mut lit)
                    }
                    Some(c) => return Err(format!("unrecognized header format %{{{name}}}{c}")),
                    None => return Err(format!("'%{{{name}}}' lacks its format letter")),
                }
                rest = &braced[end + 2..];
                continue;
            }
            match spec.chars().next() {
                Some('%') => lit.push('%'),
                Some('t') => take(Piece::Time, &mut lit),
                Some('D') => take(Piece::Duration, &mut lit),
                Some('l') => take(Piece::Load, &mut lit),
                Some('i') => take(Piece::Idle, &mut lit),
                Some('b') => take(Piece::Busy, &mut lit),
                Some(c) => return Err(format!("unrecognized header format %{c}")),
                None => return Err(format!("'%' at the end of '{text}'")),
            }
            rest = &spec[1..];
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            pieces.push(Piece::Text(lit));
        }
        Ok(Format { pieces })
    }

    /// A value written `expr=STRING` (httpd 2.4.10+): STRING is an ap_expr
    /// string expression (text with `%{VAR}` and `%{func:arg}`).
    pub fn expr(text: &str) -> Result<Format, String> {
        let word = crate::expr::parse_request_string(text)?;
        Ok(Format {
            pieces: vec![Piece::Expr(word)],
        })
    }

    /// The fixed text, when the format has no specifier.
    fn fixed(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [] => Some(""),
            [Piece::Text(t)] => Some(t),
            _ => None,
        }
    }

    fn expand(&self, r: &RuleContext<'_>, out: &mut Vec<u8>) {
        use std::io::Write;
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.extend_from_slice(t.as_bytes()),
                Piece::Env(name) => {
                    out.extend_from_slice(r.env.get(name).unwrap_or("(null)").as_bytes())
                }
                Piece::Time => {
                    let _ = write!(out, "t={}", r.started_us);
                }
                Piece::Duration => {
                    let _ = write!(out, "D={}", r.now_us.saturating_sub(r.started_us));
                }
                Piece::Load => {
                    let (one, five, fifteen) = load_average();
                    let _ = write!(out, "l={one:.2}/{five:.2}/{fifteen:.2}");
                }
                Piece::Idle | Piece::Busy => {
                    let (idle, busy) = r.workers.map_or((0, 0), |w| w());
                    let _ = match p {
                        Piece::Idle => write!(out, "i={idle}"),
                        _ => write!(out, "b={busy}"),
                    };
                }
                Piece::Ssl(var) => {
                    let tls = r.facts.and_then(|f| f.tls);
                    let value = match (var, tls) {
                        (SslVar::Https, t) => Some(if t.is_some() { "on" } else { "off" }),
                        (SslVar::Protocol, t) => t.map(|t| t.protocol),
                        (SslVar::Cipher, t) => t.map(|t| t.cipher),
                    };
                    out.extend_from_slice(value.unwrap_or("(null)").as_bytes());
                }
                Piece::Expr(word) => {
                    if let Some(f) = r.facts {
                        out.extend_from_slice(word.value(f).as_bytes());
                    }
                }
            }
        }
    }
}

/// The load averages (`%l`); -1 each where the system does not tell.
fn load_average() -> (f64, f64, f64) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    if let Ok(info) = nix::sys::sysinfo::sysinfo() {
        return info.load_average();
    }
    (-1.0, -1.0, -1.0)
}

/// When a rule applies.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    Always,
    /// `env=VAR` (set) or `env=!VAR` (not set).
    Env {
        name: String,
        negated: bool,
    },
    /// `expr=…` (`crate::expr::parse_request`); false where no request is at
    /// hand or evaluating fails, as in httpd.
    Expr(Box<crate::expr::Expr>),
}

/// What a rule's `expr=` reads: the request, its environment and (for
/// `Header`) the response's status and type.
pub struct ExprFacts<'a> {
    pub head: &'a crate::http::RequestHead,
    pub peer: std::net::IpAddr,
    /// The client's TLS connection (None: plain HTTP).
    pub tls: Option<Tls>,
    /// The response's status (0 for `RequestHeader`).
    pub status: u16,
    pub content_type: Option<&'a str>,
    pub env: &'a Env,
}

impl crate::expr::Vars for ExprFacts<'_> {
    fn status(&self) -> u16 {
        self.status
    }

    fn content_type(&self) -> Option<&str> {
        self.content_type
    }

    fn request(&self, var: &crate::expr::RequestVar) -> std::borrow::Cow<'_, str> {
        use crate::expr::RequestVar as V;
        use std::borrow::Cow;
        let (path, query) = crate::url::split_target(&self.head.target);
        match var {
            V::Header(name) => self
                .head
                .header(name)
                .map_or(Cow::Borrowed(""), String::from_utf8_lossy),
            V::Method => Cow::Borrowed(&self.head.method),
            // httpd's r->uri: decoded and normalised (httpd-oracle: /app/%6d/../x%20y
            // is `/app/x y`).
            V::Uri => {
                let mut buf = Vec::new();
                match crate::url::normalise_path(path, &mut buf) {
                    Ok(p) if p.as_ptr() == path.as_ptr() => Cow::Borrowed(path),
                    Ok(p) => Cow::Owned(String::from_utf8_lossy(p).into_owned()),
                    Err(_) => Cow::Borrowed(path),
                }
            }
            V::Query => Cow::Borrowed(query.unwrap_or("")),
            V::RemoteAddr => Cow::Owned(self.peer.to_string()),
            V::Protocol if self.head.minor == 0 => Cow::Borrowed("HTTP/1.0"),
            V::Protocol => Cow::Borrowed("HTTP/1.1"),
            V::Https => Cow::Borrowed(if self.tls.is_some() { "on" } else { "off" }),
            V::Scheme => Cow::Borrowed(if self.tls.is_some() { "https" } else { "http" }),
            V::Env(name) => Cow::Borrowed(self.env.get(name).unwrap_or("")),
        }
    }
}

#[derive(Clone, Debug)]
pub struct HeaderRule {
    pub table: Table,
    pub action: Action,
    /// The header's name (for `echo`: unused, see `pattern`).
    pub name: String,
    pub value: Format,
    /// `edit`'s regular expression on values, `echo`'s on names.
    pub pattern: Option<Regex>,
    pub condition: Condition,
    /// `early`: applied when the request is read, before it is routed (httpd's
    /// post_read_request), with an empty environment; server and vhost only.
    pub early: bool,
}

/// What a rule's value and condition read.
pub struct RuleContext<'a> {
    pub env: &'a Env,
    /// The request's start, microseconds since the epoch.
    pub started_us: u64,
    pub now_us: u64,
    /// The client's request headers (for `Header echo`).
    pub request: &'a [Header],
    /// For `expr=` conditions and values, `%{…}s` (None: conditions do not
    /// hold, values are empty).
    pub facts: Option<&'a ExprFacts<'a>>,
    /// `%i` and `%b`: the percentages of worker slots idle and busy, asked
    /// only when a value holds them (None: 0).
    pub workers: Option<&'a dyn Fn() -> (u32, u32)>,
}

impl HeaderRule {
    fn holds(&self, r: &RuleContext<'_>) -> bool {
        match &self.condition {
            Condition::Always => true,
            Condition::Env { name, negated } => r.env.is_set(name) != *negated,
            Condition::Expr(e) => r.facts.is_some_and(|f| e.eval(f)),
        }
    }
}

/// Applies `rules` (of one table) to `headers` in order; `note` rules write
/// into `notes`.
pub fn apply<'r>(
    rules: impl IntoIterator<Item = &'r HeaderRule>,
    headers: &mut Vec<Header>,
    r: &RuleContext<'_>,
    notes: &mut Env,
) {
    for rule in rules {
        if !rule.holds(r) {
            continue;
        }
        crate::recycle::with_bytes(|scratch| {
            let v = value(rule, r, scratch);
            if rule.action == Action::Note {
                note(rule, headers, v, notes);
            } else {
                apply_one(rule, headers, v, r.request);
            }
        });
    }
}

/// Applies `RequestHeader` rules to a request head: each rule's condition and
/// value read the head as the rules before it left it (as httpd's
/// `r->headers_in`).
pub fn apply_to_request<'r>(
    rules: impl IntoIterator<Item = &'r HeaderRule>,
    head: &mut crate::http::RequestHead,
    side: &super::RequestSide<'_>,
) {
    let now_us = super::unix_us();
    for rule in rules {
        crate::recycle::with_bytes(|scratch| {
            let holds = {
                let facts = ExprFacts {
                    head: &*head,
                    peer: side.peer,
                    tls: side.tls,
                    status: 0,
                    content_type: None,
                    env: side.env,
                };
                let r = RuleContext {
                    env: side.env,
                    started_us: side.started_us,
                    now_us,
                    request: &[],
                    facts: Some(&facts),
                    workers: side.workers,
                };
                let holds = rule.holds(&r);
                if holds && rule.value.fixed().is_none() {
                    scratch.clear();
                    rule.value.expand(&r, scratch);
                }
                holds
            };
            if holds {
                let v = rule.value.fixed().map_or(&scratch[..], str::as_bytes);
                apply_one(rule, &mut head.headers, v, &[]);
            }
        });
    }
}

/// `Header note NAME NOTE`: the first `NAME` header's value into note `NOTE`
/// (nothing when there is no such header).
fn note(rule: &HeaderRule, headers: &[Header], note: &[u8], notes: &mut Env) {
    let Some(h) = headers.iter().find(|h| h.is(&rule.name)) else {
        return;
    };
    notes.set(
        &String::from_utf8_lossy(note),
        &String::from_utf8_lossy(&h.value),
    );
}

fn value<'v>(rule: &'v HeaderRule, r: &RuleContext<'_>, scratch: &'v mut Vec<u8>) -> &'v [u8] {
    match rule.value.fixed() {
        Some(t) => t.as_bytes(),
        None => {
            scratch.clear();
            rule.value.expand(r, scratch);
            scratch
        }
    }
}

/// One rule (its condition held) with its value `v` expanded; `request`: the
/// client's request headers (`echo`).
fn apply_one(rule: &HeaderRule, headers: &mut Vec<Header>, v: &[u8], request: &[Header]) {
    let name = rule.name.as_str();
    let first = headers.iter().position(|h| h.is(name));
    match rule.action {
        Action::Set => match first {
            Some(i) => {
                headers[i].value.clear();
                headers[i].value.extend_from_slice(v);
                remove_after(headers, name, i);
            }
            None => headers.push(spare_header(name, v)),
        },
        Action::SetIfEmpty => {
            if first.is_none() {
                headers.push(spare_header(name, v));
            }
        }
        Action::Add => headers.push(spare_header(name, v)),
        Action::Append | Action::Merge => match first {
            Some(i) => {
                if rule.action == Action::Merge && has_element(&headers[i].value, v) {
                    return;
                }
                let h = &mut headers[i].value;
                h.extend_from_slice(b", ");
                h.extend_from_slice(v);
            }
            None => headers.push(spare_header(name, v)),
        },
        Action::Unset => {
            if let Some(i) = first {
                remove_from(headers, name, i);
            }
        }
        Action::Edit { all } => {
            let Some(re) = &rule.pattern else {
                return;
            };
            for h in headers.iter_mut().filter(|h| h.is(name)) {
                let Some(_) = re.find(&h.value) else {
                    continue;
                };
                let mut out = crate::recycle::bytes();
                let mut last = 0;
                for caps in re.captures_iter(&h.value) {
                    let m = caps.get(0).expect("group 0");
                    out.extend_from_slice(&h.value[last..m.start()]);
                    substitute(v, &caps, &mut out);
                    last = m.end();
                    if !all {
                        break;
                    }
                }
                out.extend_from_slice(&h.value[last..]);
                std::mem::swap(&mut h.value, &mut out);
                crate::recycle::give_bytes(out);
            }
        }
        // Handled by `apply` (it needs the notes).
        Action::Note => {}
        Action::Echo => {
            let Some(re) = &rule.pattern else {
                return;
            };
            for h in request.iter().filter(|h| re.is_match(h.name.as_bytes())) {
                headers.push(spare_header(&h.name, &h.value));
            }
        }
    }
}

/// Removes every header named `name` at or after `from`.
fn remove_from(headers: &mut Vec<Header>, name: &str, from: usize) {
    let mut i = from;
    while i < headers.len() {
        if headers[i].is(name) {
            give_header(headers.remove(i));
        } else {
            i += 1;
        }
    }
}

fn remove_after(headers: &mut Vec<Header>, name: &str, kept: usize) {
    remove_from(headers, name, kept + 1);
}

/// Whether `value` is already one of the comma-separated elements of `list`
/// (`merge`: compared exactly, after trimming spaces).
fn has_element(list: &[u8], value: &[u8]) -> bool {
    list.split(|&b| b == b',')
        .any(|e| crate::http::trim(e) == crate::http::trim(value))
}

/// `$0`…`$9` replaced by the match's groups (an unmatched group is empty),
/// `\$` by a `$`.
fn substitute(template: &[u8], caps: &regex::bytes::Captures<'_>, out: &mut Vec<u8>) {
    let mut i = 0;
    while i < template.len() {
        let c = template[i];
        if c == b'\\' && template.get(i + 1) == Some(&b'$') {
            out.push(b'$');
            i += 2;
        } else if c == b'$' && template.get(i + 1).is_some_and(u8::is_ascii_digit) {
            let n = (template[i + 1] - b'0') as usize;
            out.extend_from_slice(caps.get(n).map_or(&b""[..], |m| m.as_bytes()));
            i += 2;
        } else {
            out.push(c);
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests;
