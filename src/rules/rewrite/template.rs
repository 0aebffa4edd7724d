//! A RewriteRule substitution or RewriteCond test string, split once (at
//! configuration time) into literal text, back-references, server variables
//! and map look-ups; expanded per request into a caller's `String`.

use super::map::Map;

/// A server variable a template may name (`%{NAME}`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Var {
    HttpHost,
    /// `%{HTTP:Name}` and the named `%{HTTP_USER_AGENT}`-style headers.
    Header(String),
    RequestUri,
    QueryString,
    Https,
    RemoteAddr,
    RequestMethod,
    ServerName,
    ServerPort,
    TheRequest,
    RequestScheme,
    /// `%{ENV:NAME}`: the request's environment (SetEnvIf, earlier rules'
    /// `[E=]`), else the server process's environment, as httpd looks it up.
    Env(String),
    RemotePort,
    /// `REMOTE_HOST`: the address (slotgate does no reverse DNS, as
    /// `HostnameLookups Off`).
    RemoteHost,
    ServerAddr,
    ServerProtocol,
    ServerSoftware,
    ServerAdmin,
    /// `on` when the client's address is IPv6 (not IPv4-mapped).
    Ipv6,
    /// Variables that are empty for every request slotgate serves: `HTTP2`
    /// (HTTP/1 only), `REMOTE_USER`, `REMOTE_IDENT`, `AUTH_TYPE`,
    /// `PATH_INFO`, `CONTEXT_PREFIX`, `CONTEXT_DOCUMENT_ROOT`.
    Empty,
    /// `IS_SUBREQ`: always `false` (slotgate makes no subrequests).
    IsSubreq,
    /// `TIME_YEAR` … `TIME_WDAY` and `TIME`, in local time as httpd.
    Time(TimePart),
}

/// A part of the local time (`TIME_…`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimePart {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Weekday,
    /// `TIME`: `YYYYMMDDhhmmss`.
    All,
}

impl Var {
    /// The variable `%{name}` stands for; Err names why it is refused.
    pub fn parse(name: &str) -> Result<Var, String> {
        if let Some(h) = name.strip_prefix("HTTP:") {
            return Ok(Var::Header(h.to_string()));
        }
        Ok(match name {
            "HTTP_HOST" => Var::HttpHost,
            "HTTP_USER_AGENT" => Var::Header("User-Agent".into()),
            "HTTP_REFERER" => Var::Header("Referer".into()),
            "HTTP_COOKIE" => Var::Header("Cookie".into()),
            "HTTP_ACCEPT" => Var::Header("Accept".into()),
            "HTTP_FORWARDED" => Var::Header("Forwarded".into()),
            "HTTP_PROXY_CONNECTION" => Var::Header("Proxy-Connection".into()),
            // In server context (before the URL is mapped to a file) httpd gives
            // REQUEST_FILENAME the value of REQUEST_URI.
            "REQUEST_URI" | "REQUEST_FILENAME" => Var::RequestUri,
            "QUERY_STRING" => Var::QueryString,
            "HTTPS" => Var::Https,
            "REMOTE_ADDR" => Var::RemoteAddr,
            "REQUEST_METHOD" => Var::RequestMethod,
            "SERVER_NAME" => Var::ServerName,
            "SERVER_PORT" => Var::ServerPort,
            "THE_REQUEST" => Var::TheRequest,
            "REQUEST_SCHEME" => Var::RequestScheme,
            "REMOTE_PORT" => Var::RemotePort,
            "REMOTE_HOST" => Var::RemoteHost,
            "SERVER_ADDR" => Var::ServerAddr,
            "SERVER_PROTOCOL" => Var::ServerProtocol,
            "SERVER_SOFTWARE" => Var::ServerSoftware,
            "SERVER_ADMIN" => Var::ServerAdmin,
            "IPV6" => Var::Ipv6,
            "IS_SUBREQ" => Var::IsSubreq,
            "HTTP2"
            | "REMOTE_USER"
            | "REMOTE_IDENT"
            | "AUTH_TYPE"
            | "PATH_INFO"
            | "CONTEXT_PREFIX"
            | "CONTEXT_DOCUMENT_ROOT" => Var::Empty,
            "TIME_YEAR" => Var::Time(TimePart::Year),
            "TIME_MON" => Var::Time(TimePart::Month),
            "TIME_DAY" => Var::Time(TimePart::Day),
            "TIME_HOUR" => Var::Time(TimePart::Hour),
            "TIME_MIN" => Var::Time(TimePart::Minute),
            "TIME_SEC" => Var::Time(TimePart::Second),
            "TIME_WDAY" => Var::Time(TimePart::Weekday),
            "TIME" => Var::Time(TimePart::All),
            "DOCUMENT_ROOT" | "SCRIPT_FILENAME" => {
                return Err(format!(
                    "%{{{name}}} is not supported: slotgate serves no files (its DocumentRoot \
                     is ignored)"
                ))
            }
            _ if name.len() > 4 && name[..4].eq_ignore_ascii_case("ENV:") => {
                Var::Env(name[4..].to_string())
            }
            _ => {
                return Err(format!(
                    "%{{{name}}}: unknown or unsupported server variable"
                ))
            }
        })
    }
}

/// One piece of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Part {
    Lit(String),
    /// `$N`: group N of the RewriteRule pattern.
    RuleRef(usize),
    /// `%N`: group N of the last RewriteCond regex that matched.
    CondRef(usize),
    Var(Var),
    /// `${map:key|default}`, the map found by name when the rule runs (a
    /// vhost's rules see the main server's maps too).
    Map {
        map: String,
        key: Template,
        default: Option<Template>,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Template {
    pub parts: Vec<Part>,
}

/// What a template is expanded against.
pub struct Context<'a> {
    pub request: &'a super::Request<'a>,
    /// The URL as it stands when the rule applies (matched by its pattern).
    pub rule_caps: &'a [Option<(usize, usize)>],
    pub rule_text: &'a str,
    pub cond_caps: &'a [Option<(usize, usize)>],
    pub cond_text: &'a str,
    pub maps: &'a [Map],
    /// The request's environment (`%{ENV:…}`).
    pub env: &'a crate::rules::env::Env,
}

impl Template {
    /// Splits `text` into its parts.
    pub fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if c == b'\\' && i + 1 < b.len() {
                // `\$` and `\%` (and any escaped character) are literal.
                let ch = text[i + 1..].chars().next().unwrap_or('\\');
                lit.push(ch);
                i += 1 + ch.len_utf8();
                continue;
            }
            if (c == b'$' || c == b'%') && i + 1 < b.len() && b[i + 1].is_ascii_digit() {
                flush(&mut lit, &mut parts);
                let n = usize::from(b[i + 1] - b'0');
                parts.push(if c == b'$' {
                    Part::RuleRef(n)
                } else {
                    Part::CondRef(n)
                });
                i += 2;
                continue;
            }
            if c == b'%' && b.get(i + 1) == Some(&b'{') {
                let end = text[i..]
                    .find('}')
                    .ok_or_else(|| format!("'{text}': %{{ without its closing }}"))?;
                flush(&mut lit, &mut parts);
                parts.push(Part::Var(Var::parse(&text[i + 2..i + end])?));
                i += end + 1;
                continue;
            }
            if c == b'$' && b.get(i + 1) == Some(&b'{') {
                let end = closing(&text[i + 2..])
                    .ok_or_else(|| format!("'{text}': ${{ without its closing }}"))?;
                let inner = &text[i + 2..i + 2 + end];
                let (name, rest) = inner
                    .split_once(':')
                    .ok_or_else(|| format!("'${{{inner}}}': a map look-up is ${{map:key}}"))?;
                let map = name.to_string();
                let (key, default) = match split_default(rest) {
                    Some((k, d)) => (k, Some(Template::parse(d)?)),
                    None => (rest, None),
                };
                flush(&mut lit, &mut parts);
                parts.push(Part::Map {
                    map,
                    key: Template::parse(key)?,
                    default,
                });
                i += end + 3;
                continue;
            }
            let ch = text[i..].chars().next().unwrap_or('?');
            lit.push(ch);
            i += ch.len_utf8();
        }
        flush(&mut lit, &mut parts);
        Ok(Template { parts })
    }

    /// Every map name this template looks up in.
    pub fn map_names<'a>(&'a self, out: &mut Vec<&'a str>) {
        for p in &self.parts {
            if let Part::Map { map, key, default } = p {
                out.push(map);
                key.map_names(out);
                if let Some(d) = default {
                    d.map_names(out);
                }
            }
        }
    }

    /// Whether expanding needs no request (plain text).
    pub fn literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [Part::Lit(s)] => Some(s),
            _ => None,
        }
    }

    /// Appends the expansion to `out`.
    pub fn expand(&self, cx: &Context<'_>, out: &mut String) {
        self.expand_marked(cx, out, None);
    }

    /// Whether a back-reference (`$N`, `%N`) is part of this template.
    fn has_refs(&self) -> bool {
        self.parts.iter().any(|p| match p {
            Part::RuleRef(_) | Part::CondRef(_) => true,
            Part::Map { key, default, .. } => {
                key.has_refs() || default.as_ref().is_some_and(Template::has_refs)
            }
            _ => false,
        })
    }

    /// [`expand`](Self::expand), noting in `marks` the byte ranges of `out`
    /// that back-references wrote (and map values looked up with one): where
    /// a decoded `?` of the request may have come in (httpd's UnsafeAllow3F).
    pub fn expand_marked(
        &self,
        cx: &Context<'_>,
        out: &mut String,
        mut marks: Option<&mut Vec<(usize, usize)>>,
    ) {
        for p in &self.parts {
            let start = out.len();
            let from_ref = match p {
                Part::RuleRef(_) | Part::CondRef(_) => true,
                Part::Map { key, default, .. } => {
                    key.has_refs() || default.as_ref().is_some_and(Template::has_refs)
                }
                _ => false,
            };
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::RuleRef(n) => push_group(cx.rule_caps, cx.rule_text, *n, out),
                Part::CondRef(n) => push_group(cx.cond_caps, cx.cond_text, *n, out),
                Part::Var(Var::Env(name)) => match cx.env.get(name) {
                    Some(v) => out.push_str(v),
                    None => {
                        if let Ok(v) = std::env::var(name) {
                            out.push_str(&v);
                        }
                    }
                },
                Part::Var(v) => cx.request.var(v, out),
                Part::Map { map, key, default } => {
                    let mut k = String::new();
                    key.expand(cx, &mut k);
                    match cx
                        .maps
                        .iter()
                        .find(|m| m.name == *map)
                        .and_then(|m| m.lookup(&k))
                    {
                        Some(v) => out.push_str(&v),
                        None => {
                            if let Some(d) = default {
                                d.expand(cx, out);
                            }
                        }
                    }
                }
            }
            if let Some(m) = marks
                .as_deref_mut()
                .filter(|_| from_ref && out.len() > start)
            {
                m.push((start, out.len()));
            }
        }
    }
}

fn push_group(caps: &[Option<(usize, usize)>], text: &str, n: usize, out: &mut String) {
    if let Some(Some((s, e))) = caps.get(n) {
        out.push_str(&text[*s..*e]);
    }
}

fn flush(lit: &mut String, parts: &mut Vec<Part>) {
    if !lit.is_empty() {
        parts.push(Part::Lit(std::mem::take(lit)));
    }
}

/// The offset of the `}` closing a `${`, nested `${…}` and `%{…}` skipped.
fn closing(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let b = s.as_bytes();
    for i in 0..b.len() {
        match b[i] {
            b'{' if i > 0 && (b[i - 1] == b'$' || b[i - 1] == b'%') => depth += 1,
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
    }
    None
}

/// `key|default` at the top level (not inside a nested `${…}` or `%{…}`).
fn split_default(s: &str) -> Option<(&str, &str)> {
    let mut depth = 0usize;
    let b = s.as_bytes();
    for i in 0..b.len() {
        match b[i] {
            b'{' if i > 0 && (b[i - 1] == b'$' || b[i - 1] == b'%') => depth += 1,
            b'}' if depth > 0 => depth -= 1,
            b'|' if depth == 0 => return Some((&s[..i], &s[i + 1..])),
            _ => {}
        }
    }
    None
}
