//! mod_setenvif: `SetEnvIf`, `SetEnvIfNoCase`, `BrowserMatch`,
//! `BrowserMatchNoCase`. Each rule tests one attribute of the request against
//! a regular expression and, when it matches, sets or unsets variables.
//!
//! As in httpd, an attribute that is absent (a missing header) is tested as
//! the empty string, so `^$` matches it; a plain name that is no request
//! header falls back to a variable set by an earlier rule; a name with other
//! characters than letters, digits, `-` and `_` is a regular expression on
//! header names (the first header whose name and value both match counts).

use std::net::SocketAddr;

use regex::Regex;

use super::env::Env;
use crate::http::Header;

#[derive(Clone, Debug)]
pub enum Attribute {
    RemoteHost,
    RemoteAddr,
    ServerAddr,
    RequestMethod,
    RequestProtocol,
    RequestUri,
    /// A request header (or, when absent, an earlier rule's variable).
    Header(String),
    /// A regular expression on request header names.
    HeaderNames(Regex),
}

impl Attribute {
    pub fn parse(name: &str, no_case: bool) -> Result<Attribute, String> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "remote_host" => Attribute::RemoteHost,
            "remote_addr" => Attribute::RemoteAddr,
            "server_addr" => Attribute::ServerAddr,
            "request_method" => Attribute::RequestMethod,
            "request_protocol" => Attribute::RequestProtocol,
            "request_uri" => Attribute::RequestUri,
            _ if name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                Attribute::Header(name.to_string())
            }
            _ => Attribute::HeaderNames(compile(name, no_case)?),
        })
    }
}

/// One variable a matching rule changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Assign {
    /// `VAR=value` (`$1`…`$9` are the match's groups) or `VAR` (value "1").
    Set { name: String, value: String },
    /// `!VAR`.
    Unset { name: String },
}

impl Assign {
    pub fn parse(word: &str) -> Result<Assign, String> {
        if let Some(name) = word.strip_prefix('!') {
            if name.is_empty() {
                return Err("'!' must be followed by a variable name".into());
            }
            return Ok(Assign::Unset { name: name.into() });
        }
        let (name, value) = word.split_once('=').unwrap_or((word, "1"));
        if name.is_empty() {
            return Err(format!("'{word}' names no variable"));
        }
        Ok(Assign::Set {
            name: name.into(),
            value: value.into(),
        })
    }

    pub fn name(&self) -> &str {
        match self {
            Assign::Set { name, .. } | Assign::Unset { name } => name,
        }
    }
}

#[derive(Clone, Debug)]
pub struct SetEnvIf {
    pub attribute: Attribute,
    pub regex: Regex,
    pub assigns: Vec<Assign>,
    /// Some value has a `$n` back-reference.
    pub substitutes: bool,
}

/// Compiles a rule's regular expression (`NoCase`: without regard to case).
pub fn compile(pattern: &str, no_case: bool) -> Result<Regex, String> {
    let full = if no_case {
        format!("(?i){pattern}")
    } else {
        pattern.to_string()
    };
    Regex::new(&full).map_err(|e| format!("bad regular expression '{pattern}': {e}"))
}

/// What a rule may test.
pub struct RequestFacts<'a> {
    pub method: &'a str,
    /// The path, without the query.
    pub path: &'a str,
    pub minor: u8,
    pub headers: &'a [Header],
    pub peer: SocketAddr,
    pub local: SocketAddr,
}

/// Applies the rules in order to `env`.
pub fn apply(rules: &[SetEnvIf], r: &RequestFacts<'_>, env: &mut Env) {
    for rule in rules {
        let mut ip = [0u8; 40];
        // An earlier rule's variable, copied: the rule may change it.
        let mut earlier: Option<String> = None;
        let value: &[u8] = match &rule.attribute {
            Attribute::RemoteHost | Attribute::RemoteAddr => write_ip(&mut ip, r.peer),
            Attribute::ServerAddr => write_ip(&mut ip, r.local),
            Attribute::RequestMethod => r.method.as_bytes(),
            Attribute::RequestProtocol if r.minor == 0 => b"HTTP/1.0",
            Attribute::RequestProtocol => b"HTTP/1.1",
            Attribute::RequestUri => r.path.as_bytes(),
            Attribute::Header(name) => match r.headers.iter().find(|h| h.is(name)) {
                Some(h) => &h.value,
                None => earlier
                    .insert(crate::recycle::string_from(env.get(name).unwrap_or("")))
                    .as_bytes(),
            },
            Attribute::HeaderNames(names) => {
                let found = r.headers.iter().find(|h| {
                    names.is_match(&h.name)
                        && std::str::from_utf8(&h.value).is_ok_and(|v| rule.regex.is_match(v))
                });
                match found {
                    Some(h) => &h.value,
                    None => continue,
                }
            }
        };
        let Ok(text) = std::str::from_utf8(value) else {
            continue;
        };
        // Captures cost an allocation: taken only for a `$n` to fill.
        let caps = if rule.substitutes {
            match rule.regex.captures(text) {
                Some(c) => Some(c),
                None => continue,
            }
        } else if rule.regex.is_match(text) {
            None
        } else {
            continue;
        };
        for a in &rule.assigns {
            match (a, &caps) {
                (Assign::Unset { name }, _) => env.unset(name),
                (Assign::Set { name, value }, Some(caps)) if value.contains('$') => {
                    let mut out = crate::recycle::string();
                    substitute(value, caps, &mut out);
                    env.set_owned(name, out);
                }
                (Assign::Set { name, value }, _) => env.set(name, value),
            }
        }
        drop(caps);
        if let Some(s) = earlier {
            crate::recycle::give_string(s);
        }
    }
}

/// The address's text in `buf`, without allocating.
fn write_ip(buf: &mut [u8; 40], addr: SocketAddr) -> &[u8] {
    use std::io::Write;
    let mut cursor = std::io::Cursor::new(&mut buf[..]);
    let _ = write!(cursor, "{}", addr.ip());
    let n = cursor.position() as usize;
    &buf[..n]
}

/// `$0`…`$9` replaced by the match's groups (an unmatched group is empty),
/// `\$` by a `$`.
pub fn substitute(template: &str, caps: &regex::Captures<'_>, out: &mut String) {
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'$') => {
                out.push('$');
                chars.next();
            }
            '$' if chars.peek().is_some_and(|d| d.is_ascii_digit()) => {
                let n = chars.next().and_then(|d| d.to_digit(10)).unwrap_or(0) as usize;
                out.push_str(caps.get(n).map_or("", |m| m.as_str()));
            }
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(attr: &str, re: &str, assigns: &[&str], no_case: bool) -> SetEnvIf {
        SetEnvIf {
            attribute: Attribute::parse(attr, no_case).unwrap(),
            regex: compile(re, no_case).unwrap(),
            assigns: assigns.iter().map(|a| Assign::parse(a).unwrap()).collect(),
            substitutes: assigns.iter().any(|a| a.contains('$')),
        }
    }

    fn header(name: &str, value: &str) -> Header {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }

    #[test]
    fn rules_set_unset_and_substitute_in_order() {
        let headers = [
            header("User-Agent", "Mozilla/5.0 (X11)"),
            header("X-Tenant-Id", "acme"),
        ];
        let facts = RequestFacts {
            method: "GET",
            path: "/app/x",
            minor: 1,
            headers: &headers,
            peer: "10.1.2.3:5000".parse().unwrap(),
            local: "127.0.0.1:80".parse().unwrap(),
        };
        let rules = [
            rule(
                "User-Agent",
                "^mozilla/([0-9])",
                &["moz=v$1", "browser"],
                true,
            ),
            rule("Remote_Addr", r"^10\.", &["internal"], false),
            rule("Request_URI", "^/app/", &["app", "!browser"], false),
            rule("^X-Tenant", "^(.*)$", &["tenant=$1"], false),
            rule("X-Missing", "^$", &["missing"], false),
            rule("Request_Method", "^POST$", &["post"], false),
            // A plain name that is no header: an earlier rule's variable.
            rule("app", "^1$", &["seen_app"], false),
            rule("User-Agent", "^mozilla", &["case_sensitive"], false),
        ];
        let mut env = Env::default();
        apply(&rules, &facts, &mut env);
        let got: Vec<(&str, &str)> = env.iter().collect();
        assert_eq!(
            got,
            [
                ("moz", "v5"),
                ("internal", "1"),
                ("app", "1"),
                ("tenant", "acme"),
                ("missing", "1"),
                ("seen_app", "1"),
            ]
        );
    }

    #[test]
    fn bad_words_are_refused() {
        assert!(Assign::parse("!").is_err());
        assert!(Assign::parse("=x").is_err());
        assert!(Attribute::parse("X-(", false).is_err());
    }
}
