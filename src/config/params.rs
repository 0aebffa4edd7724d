//! `ProxyPass`, `ProxyPassReverse` and the worker parameters (reference §2.2, §2.3, §2.8).
//!
//! Worker parameters are parsed by [`apply_worker_param`], shared by `ProxyPass`,
//! `BalancerMember` and `ProxySet`. Keys and keywords are case-insensitive, a key given twice
//! keeps the later value (httpd's parameter table does the same).

use std::net::Ipv6Addr;
use std::time::Duration;

use super::health::{self, Templates};
use super::reader::Directive;
use super::types::status_flags as flag;
use super::values::{self, TimeUnit};
use super::{
    ConfigError, FlushPackets, PassTarget, ProxyPassReverseRule, ProxyPassRule, WorkerParams,
};

/// Longest worker name httpd stores (`name_ex`, 384 bytes with the NUL).
const MAX_WORKER_NAME: usize = 384;
/// Longest host name httpd stores (`hostname_ex`, 256 bytes with the NUL).
const MAX_HOSTNAME: usize = 256;

/// A backend URL taken apart: `scheme://host[:port][/path]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendUrl {
    /// Lowercased: a scheme of `crate::url::SCHEMES`.
    pub scheme: String,
    /// Lowercased; an IPv6 literal keeps its brackets (`[::1]`), so `host:port` is an
    /// authority as it stands.
    pub host: String,
    /// The explicit port, else the scheme's default.
    pub port: u16,
    /// True when the URL named the port.
    pub explicit_port: bool,
    /// Everything after the authority, as written: empty or starting with `/`.
    pub path: String,
}

/// Parses an `http`, `https`, `ws` or `wss` URL. The error says what is wrong, without a
/// directive prefix.
pub fn parse_backend_url(url: &str) -> Result<BackendUrl, String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(format!(
            "'{url}' is not a URL (expected scheme://host[:port][/path])"
        ));
    };
    let scheme = scheme.to_ascii_lowercase();
    let Some(default_port) = crate::url::Scheme::named(&scheme).map(|s| s.default_port) else {
        if matches!(scheme.as_str(), "h2c" | "h2") {
            return Err(format!(
                "'{url}': {scheme}:// members speak HTTP/2, which slotgate does not serve yet (issue #17)"
            ));
        }
        return Err(format!("unsupported scheme '{scheme}' in '{url}'"));
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    if authority.contains('@') {
        return Err(format!("user information in '{url}' is not supported"));
    }
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let Some((literal, after)) = inner.split_once(']') else {
            return Err(format!("unclosed '[' in the host of '{url}'"));
        };
        if literal.parse::<Ipv6Addr>().is_err() {
            return Err(format!("bad IPv6 address '[{literal}]' in '{url}'"));
        }
        let port = match after {
            "" => None,
            _ => match after.strip_prefix(':') {
                Some(p) => Some(p),
                None => return Err(format!("unexpected '{after}' after the host of '{url}'")),
            },
        };
        (format!("[{}]", literal.to_ascii_lowercase()), port)
    } else {
        let (host, port) = match authority.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        if host.is_empty() {
            return Err(format!("no host in '{url}'"));
        }
        if let Some(bad) = host
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
        {
            return Err(format!("bad character '{bad}' in the host of '{url}'"));
        }
        (host.to_ascii_lowercase(), port)
    };
    if host.len() >= MAX_HOSTNAME {
        return Err(format!(
            "the host name of '{url}' is longer than {} bytes",
            MAX_HOSTNAME - 1
        ));
    }
    let (port, explicit_port) = match port {
        None => (default_port, false),
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => (n, true),
            _ => return Err(format!("bad port '{p}' in '{url}'")),
        },
    };
    Ok(BackendUrl {
        scheme,
        host,
        port,
        explicit_port,
        path: path.to_string(),
    })
}

/// A URL a standalone worker or a balancer member can have: `http://host[:port][/path]`
/// or `ws://host[:port][/path]` (forwarded as HTTP, accepting a WebSocket upgrade by
/// default, reference §8.7), and `https` / `wss` (the same over TLS, which needs
/// `SSLProxyEngine On`: checked when the routes are built). Shorter than httpd's
/// 384-byte worker name.
pub(crate) fn http_worker_url(url: &str) -> Result<BackendUrl, String> {
    if !url.contains("://") {
        return Err(format!(
            "'{url}' is not a URL (expected http://host[:port][/path])"
        ));
    }
    let parsed = parse_backend_url(url)?;
    if url.len() >= MAX_WORKER_NAME {
        return Err(format!(
            "URL '{url}' is longer than {} bytes",
            MAX_WORKER_NAME - 1
        ));
    }
    Ok(parsed)
}

/// The worker name of a member URL: [`worker_name`] of an `http_worker_url`, or for a
/// Unix-socket member (`unix:/path|http://host/…`, httpd's syntax) `unix:/path|` and
/// the worker name of the URL after `|` (a missing host there becomes `localhost`).
pub(crate) fn member_url_name(url: &str) -> Result<String, String> {
    let Some((socket, rest)) = crate::url::split_unix(url)? else {
        return Ok(worker_name(&http_worker_url(url)?));
    };
    let name = format!("unix:{socket}|{}", worker_name(&http_worker_url(&rest)?));
    if name.len() >= MAX_WORKER_NAME {
        return Err(format!(
            "URL '{url}' is longer than {} bytes",
            MAX_WORKER_NAME - 1
        ));
    }
    Ok(name)
}

/// The worker name of a URL (reference §2.6): scheme and host lowercased, a port equal to
/// the scheme's default dropped, the path kept as written.
pub(crate) fn worker_name(url: &BackendUrl) -> String {
    if url.port == crate::url::default_port(&url.scheme) {
        format!("{}://{}{}", url.scheme, url.host, url.path)
    } else {
        format!("{}://{}:{}{}", url.scheme, url.host, url.port, url.path)
    }
}

/// Where a `ProxyPass` is written.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PassContext<'a> {
    /// Server or virtual-host level: the line names its path.
    Server,
    /// Inside `<Location path>`.
    Location(&'a str),
    /// Inside `<LocationMatch regex>` / `<Location ~ regex>`: the rule is a regex rule.
    LocationMatch(&'a str),
}

/// One parsed `ProxyPass` / `ProxyPassMatch`.
#[derive(Debug)]
pub(crate) struct Pass {
    pub rule: ProxyPassRule,
    /// When path and URL disagree about a trailing slash (without the `FILE:LINE: ` prefix).
    pub warning: Option<String>,
    /// For a `balancer://` target: the balancer's name and the line's key=value
    /// parameters, which are balancer parameters (reference §2.2), in the order written.
    pub balancer: Option<(String, Vec<(String, String)>)>,
}

/// The target of a `ProxyPass`: `!`, a balancer (its name) or a URL this release can
/// forward to. `regex`: the rule is a regex rule, whose URL may hold `$n`.
fn pass_target(target: &str, regex: bool) -> Result<(PassTarget, Option<String>), String> {
    if target == "!" {
        return Ok((PassTarget::Exclude, None));
    }
    if let Some(parsed) = super::balancer::balancer_url(target) {
        let (name, rest) = parsed?;
        let url = format!("{name}{rest}");
        return Ok((PassTarget::Url(url), Some(name)));
    }
    if !target.contains("://") {
        return Err(format!(
            "'{target}' is not a URL (expected http://host[:port][/path] or !)"
        ));
    }
    if regex {
        let url = crate::url::after_socket(target);
        let rest = url.split_once("://").map_or("", |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or("");
        if authority.contains('$') {
            return Err(format!(
                "a $n in the host or port of '{target}' is not supported yet"
            ));
        }
    }
    member_url_name(target)?;
    Ok((PassTarget::Url(target.to_string()), None))
}

/// Checks a regular expression of `ProxyPassMatch`, `<LocationMatch>` and the like with
/// the `regex` crate (whose syntax is close to PCRE's, without look-around and
/// back-references). The error is one line.
pub(crate) fn check_regex(pattern: &str) -> Result<(), String> {
    match regex::Regex::new(pattern) {
        Ok(_) => Ok(()),
        Err(e) => {
            let text = e.to_string();
            let reason = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("error: "))
                .map_or_else(|| text.replace('\n', " "), str::to_string);
            Err(format!("bad regular expression '{pattern}': {reason}"))
        }
    }
}

/// Parses one `ProxyPass` or `ProxyPassMatch` (`d.name` tells which) written at `at`;
/// `hctemplate=` copies one of `templates`.
pub(crate) fn proxy_pass(
    d: &Directive,
    at: PassContext,
    templates: &Templates,
) -> Result<Pass, ConfigError> {
    let is_match = d.is("ProxyPassMatch");
    let what = if is_match {
        "ProxyPassMatch"
    } else {
        "ProxyPass"
    };
    let fail = |m: String| ConfigError::at(&d.origin, format!("{what}: {m}"));
    let (path, target, rest, regex) = match at {
        PassContext::Location(location) | PassContext::LocationMatch(location) => {
            let regex = matches!(at, PassContext::LocationMatch(_));
            let tag = if regex { "LocationMatch" } else { "Location" };
            let Some(target) = d.args.first() else {
                return Err(ConfigError::at(
                    &d.origin,
                    format!("{what} inside <{tag}> takes a URL (or !)"),
                ));
            };
            if target.starts_with('/') || target == "~" {
                return Err(fail(format!(
                    "inside <{tag}> the path is the {tag}'s ({location}); write {what} URL"
                )));
            }
            (location.to_string(), target, &d.args[1..], regex)
        }
        PassContext::Server => {
            let mut args: &[String] = &d.args;
            let mut regex = is_match;
            if args.first().is_some_and(|a| a == "~") {
                if is_match {
                    return Err(fail(
                        "'~' is not allowed: ProxyPassMatch always takes a regular expression"
                            .to_string(),
                    ));
                }
                regex = true;
                args = &args[1..];
            }
            let [path, target, rest @ ..] = args else {
                let form = if regex {
                    "a regular expression"
                } else {
                    "a path"
                };
                return Err(ConfigError::at(
                    &d.origin,
                    format!("{what} takes {form} and a URL (or !)"),
                ));
            };
            if !regex && !path.starts_with('/') {
                return Err(fail(format!("path must begin with '/', got '{path}'")));
            }
            (path.clone(), target, rest, regex)
        }
    };
    if regex {
        check_regex(&path).map_err(fail)?;
    }
    let (target, balancer) = pass_target(target, regex).map_err(fail)?;
    if target == PassTarget::Exclude {
        if let Some(extra) = rest.first() {
            return Err(fail(format!(
                "no parameters are allowed after '!', got '{extra}'"
            )));
        }
    }
    let mut rule = ProxyPassRule {
        path,
        target,
        params: WorkerParams::default(),
        nocanon: false,
        interpolate: false,
        noquery: false,
        from_location: !matches!(at, PassContext::Server),
        regex,
        origin: d.origin.clone(),
    };
    let mut balancer_params = Vec::new();
    for arg in rest {
        match arg.to_ascii_lowercase().as_str() {
            "nocanon" => rule.nocanon = true,
            "interpolate" => rule.interpolate = true,
            "noquery" => rule.noquery = true,
            _ => match arg.split_once('=') {
                Some((key, value)) if key.eq_ignore_ascii_case("mapping") => {
                    if !value.eq_ignore_ascii_case("encoded")
                        && !value.eq_ignore_ascii_case("servlet")
                    {
                        return Err(fail(format!(
                            "mapping: expected encoded or servlet, got '{value}'"
                        )));
                    }
                    set_other(&mut rule.params, "mapping", value);
                }
                Some((key, value)) if balancer.is_some() => {
                    balancer_params.push((key.to_string(), value.to_string()))
                }
                Some((key, value)) => {
                    apply_worker_param(&mut rule.params, key, value, templates).map_err(fail)?
                }
                None => {
                    return Err(fail(format!(
                        "'{arg}' is neither key=value nor one of nocanon, interpolate, noquery"
                    )))
                }
            },
        }
    }
    let warning = match &rule.target {
        PassTarget::Url(url) if !regex => slash_mismatch(&rule.path, url),
        _ => None,
    };
    Ok(Pass {
        rule,
        warning,
        balancer: balancer.map(|name| (name, balancer_params)),
    })
}

/// Reference §9 #2: httpd joins the rest of the path to the URL as it is, so a trailing
/// slash on one side only doubles or loses a slash. We map the same way and warn.
fn slash_mismatch(path: &str, url: &str) -> Option<String> {
    if path.ends_with('/') == url.ends_with('/') {
        return None;
    }
    let example = if path.ends_with('/') {
        format!("{path}x")
    } else {
        format!("{path}/x")
    };
    let sent = format!("{url}{}", &example[path.len()..]);
    Some(format!(
        "ProxyPass {path} {url}: trailing slashes of path and URL differ; \
         {example} will be sent as {sent}"
    ))
}

/// Parses one `ProxyPassReverse [path] url [interpolate]`.
pub(crate) fn proxy_pass_reverse(
    d: &Directive,
    location: Option<&str>,
) -> Result<ProxyPassReverseRule, ConfigError> {
    let mut args: &[String] = &d.args;
    let mut interpolate = false;
    if let [head @ .., last] = args {
        if !head.is_empty() && last.eq_ignore_ascii_case("interpolate") {
            interpolate = true;
            args = head;
        }
    }
    let (path, url) = match (location, args) {
        (Some(location), [url]) => (location.to_string(), url.clone()),
        (Some(location), [_, _]) => {
            return Err(ConfigError::at(
                &d.origin,
                format!(
                    "ProxyPassReverse: inside <Location> the path is the Location's ({location}); \
                     write ProxyPassReverse URL"
                ),
            ))
        }
        (None, [path, url]) => {
            if !path.starts_with('/') {
                return Err(ConfigError::at(
                    &d.origin,
                    format!("ProxyPassReverse: path must begin with '/', got '{path}'"),
                ));
            }
            (path.clone(), url.clone())
        }
        (Some(_), _) => {
            return Err(ConfigError::at(
                &d.origin,
                "ProxyPassReverse inside <Location> takes a URL [interpolate]",
            ))
        }
        (None, _) => {
            return Err(ConfigError::at(
                &d.origin,
                "ProxyPassReverse takes a path and a URL [interpolate]",
            ))
        }
    };
    if url.is_empty() {
        return Err(ConfigError::at(&d.origin, "ProxyPassReverse: empty URL"));
    }
    Ok(ProxyPassReverseRule {
        path,
        url,
        interpolate,
        origin: d.origin.clone(),
    })
}

/// The `key=value` words of `ProxySet` or a `<Proxy>` line, split; `what` prefixes the
/// error for a word without `=`.
pub(crate) fn key_values<'a>(
    words: &'a [String],
    d: &Directive,
    what: &str,
) -> Result<Vec<(&'a str, &'a str)>, ConfigError> {
    words
        .iter()
        .map(|word| {
            word.split_once('=').ok_or_else(|| {
                ConfigError::at(
                    &d.origin,
                    format!("{what}: parameters must be key=value, got '{word}'"),
                )
            })
        })
        .collect()
}

fn set_other(params: &mut WorkerParams, key: &str, value: &str) {
    match params.other.iter_mut().find(|(k, _)| k == key) {
        Some(entry) => entry.1 = value.to_string(),
        None => params.other.push((key.to_string(), value.to_string())),
    }
}

/// Applies one worker `key=value` (reference §2.3) to `params`. The typed keys go into
/// their fields; the others are validated and stored in `params.other` under the lowercased
/// key. The health-check keys go into `params.health` and stay in `other` too;
/// `hctemplate=` copies one of `templates` (the `ProxyHCTemplate`s defined so far). The
/// error has no directive prefix.
pub(crate) fn apply_worker_param(
    params: &mut WorkerParams,
    key: &str,
    value: &str,
    templates: &Templates,
) -> Result<(), String> {
    let key = key.to_ascii_lowercase();
    let k = key.as_str();
    let ms = Duration::from_millis(1);
    match k {
        "timeout" => params.timeout = Some(values::whole_seconds(k, value, 1)?),
        "connectiontimeout" => {
            params.connection_timeout =
                Some(values::time_at_least(k, value, TimeUnit::Seconds, ms)?)
        }
        "retry" => params.retry = values::whole_seconds(k, value, 0)?,
        "status" => apply_status(&mut params.status, value)?,
        "disablereuse" => {
            params.disable_reuse = values::on_off(k, value)?;
            params.reuse_given = true;
        }
        "enablereuse" => {
            params.disable_reuse = !values::on_off(k, value)?;
            params.reuse_given = true;
        }
        "keepalive" => params.keepalive = values::on_off(k, value)?,
        "loadfactor" => params.loadfactor = loadfactor(value)?,
        "lbset" => params.lbset = values::integer(k, value, 0, 99)? as u32,
        "route" => {
            values::short_string(k, value, 64)?;
            params.route = value.to_string();
        }
        "redirect" => {
            values::short_string(k, value, 64)?;
            params.redirect = value.to_string();
        }
        _ => {
            if !apply_pool_or_stream_param(params, k, value)?
                && !health::apply_param(&mut params.health, k, value, templates)?
            {
                check_untyped(k, value)?;
            }
            set_other(params, k, value);
        }
    }
    Ok(())
}

/// httpd's `HUGE_STRING_LEN`: the default `responsefieldsize`.
const DEFAULT_RESPONSE_FIELD_SIZE: usize = 8192;
/// httpd's `AP_IOBUFSIZE`: what `iobuffersize=0` and `ProxyIOBufferSize 0` mean.
pub(crate) const DEFAULT_IO_BUFFER_SIZE: usize = 8192;
/// httpd's `PROXY_FLUSH_WAIT`: the default `flushwait`, and what `flushwait=0` means.
const DEFAULT_FLUSH_WAIT: Duration = Duration::from_millis(10);

/// The pool, upgrade and streaming keys (`min`, `max`, `smax`, `ttl`, `acquire`,
/// `upgrade`, `flushpackets`, `flushwait`, `ping`, `responsefieldsize`, `iobuffersize`):
/// sets the typed field and returns true, or returns false for any other key. The caller
/// also keeps the value as written in `other`, where code written before these fields
/// were typed reads it.
fn apply_pool_or_stream_param(
    params: &mut WorkerParams,
    k: &str,
    value: &str,
) -> Result<bool, String> {
    let ms = Duration::from_millis(1);
    let count = |v: &str| values::integer(k, v, 0, i64::from(i32::MAX)).map(|n| n as usize);
    match k {
        "min" => params.min = count(value)?,
        // httpd takes max=0 as "not set" (its default, ThreadsPerChild).
        "max" => params.max = Some(count(value)?).filter(|&n| n > 0),
        "smax" => params.smax = Some(count(value)?),
        "ttl" => params.ttl = Some(values::whole_seconds(k, value, 1)?),
        "acquire" => params.acquire = Some(values::time_at_least(k, value, TimeUnit::Millis, ms)?),
        "ping" => params.ping = Some(values::time_at_least(k, value, TimeUnit::Seconds, ms)?),
        "upgrade" => params.upgrade = upgrade_list(value)?,
        "flushpackets" => {
            params.flush_packets = match value.to_ascii_lowercase().as_str() {
                "on" => FlushPackets::On,
                "off" => FlushPackets::Off,
                "auto" => FlushPackets::Auto,
                _ => return Err(format!("{k}: expected On, Off or Auto, got '{value}'")),
            }
        }
        "flushwait" => {
            let n = values::integer(k, value, 0, 1000)? as u64;
            params.flush_wait = match n {
                0 => DEFAULT_FLUSH_WAIT,
                n => Duration::from_millis(n),
            };
        }
        "responsefieldsize" => {
            params.response_field_size = match count(value)? {
                0 => DEFAULT_RESPONSE_FIELD_SIZE,
                n => n,
            }
        }
        "iobuffersize" => {
            params.io_buffer_size = Some(match values::buffer_size(k, value)? {
                0 => DEFAULT_IO_BUFFER_SIZE,
                n => n,
            })
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// `upgrade=`: `*`, `ANY`, or protocol names (HTTP tokens) separated by commas, blanks
/// allowed around them; shorter than httpd's 16 bytes. Empty means "not set", as in httpd.
/// `*` and `ANY` are wildcards only on their own (httpd would look for a protocol named
/// `*` in a list), so in a list they are refused.
fn upgrade_list(value: &str) -> Result<Option<String>, String> {
    values::short_string("upgrade", value, 16)?;
    if value.trim().is_empty() {
        return Ok(None);
    }
    let tokens: Vec<&str> = value
        .split(',')
        .map(|t| t.trim_matches([' ', '\t']))
        .collect();
    if tokens.len() > 1 {
        if let Some(wild) = tokens
            .iter()
            .find(|t| **t == "*" || t.eq_ignore_ascii_case("any"))
        {
            return Err(format!(
                "upgrade: {wild} must stand alone (it is a wildcard only as the whole list), got '{value}'"
            ));
        }
    }
    for token in &tokens {
        if token.is_empty() || !token.bytes().all(is_tchar) {
            return Err(format!(
                "upgrade: expected protocol names separated by commas, * or ANY, got '{value}'"
            ));
        }
    }
    Ok(Some(value.to_string()))
}

/// An HTTP token character (RFC 9110 `tchar`).
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Validates the form of a worker key this release stores without acting on it.
fn check_untyped(k: &str, value: &str) -> Result<(), String> {
    match k {
        "secret" => values::short_string(k, value, 64),
        "flusher" => values::short_string(k, value, 16),
        "receivebuffersize" => values::buffer_size(k, value).map(drop),
        "addressttl" => values::integer(k, value, -1, i64::from(i32::MAX)).map(drop),
        // slotgate's own: send a PROXY protocol header on each new connection.
        "proxyprotocol" => match crate::proxy_protocol::Version::from_name(value) {
            Some(_) => Ok(()),
            None => Err(format!("proxyprotocol: expected v1 or v2, got '{value}'")),
        },
        // Tomcat's connector calls it packetSize; httpd (and slotgate) take the
        // AJP packet size from iobuffersize= (refused as unknown by httpd too).
        "packetsize" => Err(format!(
            "unknown Worker parameter '{k}' (an AJP member's packet size is iobuffersize=, as in httpd)"
        )),
        _ => Err(format!("unknown Worker parameter '{k}'")),
    }
}

/// `loadfactor`: a decimal from 1 to 100 with at most two decimals; returns it ×100.
pub(crate) fn loadfactor(value: &str) -> Result<u32, String> {
    let bad = || {
        format!("loadfactor must be a number from 1 to 100 with at most 2 decimals, got '{value}'")
    };
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 3
        || !digits(whole)
        || fraction.len() > 2
        || !digits(fraction)
    {
        return Err(bad());
    }
    let whole: u32 = whole.parse().map_err(|_| bad())?;
    let fraction: u32 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    let scaled = whole * 100 + fraction;
    if !(100..=10_000).contains(&scaled) {
        return Err(bad());
    }
    Ok(scaled)
}

/// The `status=` letters that may be set from a configuration, with their bits.
const STATUS_LETTERS: &[(char, u32)] = &[
    ('I', flag::IGNORE_ERRORS),
    ('N', flag::DRAIN),
    ('D', flag::DISABLED),
    ('S', flag::STOPPED),
    ('E', flag::ERROR),
    ('H', flag::HOT_STANDBY),
    ('C', flag::HC_FAILED),
    ('R', flag::HOT_SPARE),
];

/// Applies `status=` to `status`: each letter sets its flag, unless the sign before it is
/// `-` (clear); a sign applies to the next letter only. Letters are case-insensitive.
/// httpd also takes the internal letters O, G, U and F here; we refuse them.
pub(crate) fn apply_status(status: &mut u32, value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("status: expected flag letters such as D, +H or S-E, got ''".to_string());
    }
    let mut sign = None;
    for c in value.chars() {
        if c == '+' || c == '-' {
            if sign.is_some() {
                return Err(format!("status: two signs in a row in '{value}'"));
            }
            sign = Some(c);
            continue;
        }
        let upper = c.to_ascii_uppercase();
        let Some(&(_, bit)) = STATUS_LETTERS.iter().find(|(l, _)| *l == upper) else {
            let valid: Vec<String> = STATUS_LETTERS.iter().map(|(l, _)| l.to_string()).collect();
            return Err(format!(
                "status: unknown flag '{c}' in '{value}'; valid flags are {}",
                valid.join(" ")
            ));
        };
        if sign == Some('-') {
            *status &= !bit;
        } else {
            *status |= bit;
        }
        sign = None;
    }
    if sign.is_some() {
        return Err(format!("status: '{value}' ends with a sign"));
    }
    Ok(())
}
