//! `ProxyPass`, `ProxyPassReverse` and the worker parameters (reference §2.2, §2.3, §2.8).
//!
//! Worker parameters are parsed by [`apply_worker_param`] so that `BalancerMember` and
//! `ProxySet` can share it later. Keys and keywords are case-insensitive, a key given twice
//! keeps the later value (httpd's parameter table does the same).

use std::net::Ipv6Addr;
use std::time::Duration;

use super::reader::Directive;
use super::types::status_flags as flag;
use super::values::{self, TimeUnit};
use super::{ConfigError, PassTarget, ProxyPassReverseRule, ProxyPassRule, WorkerParams};

/// Longest worker name httpd stores (`name_ex`, 384 bytes with the NUL).
const MAX_WORKER_NAME: usize = 384;
/// Longest host name httpd stores (`hostname_ex`, 256 bytes with the NUL).
const MAX_HOSTNAME: usize = 256;

/// A backend URL taken apart: `scheme://host[:port][/path]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendUrl {
    /// Lowercased: `http`, `https`, `ws` or `wss`.
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
    let default_port = match scheme.as_str() {
        "http" | "ws" => 80,
        "https" | "wss" => 443,
        _ => return Err(format!("unsupported scheme '{scheme}' in '{url}'")),
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

/// The target of a `ProxyPass`: `!` or a URL this release can forward to.
fn pass_target(target: &str) -> Result<PassTarget, String> {
    if target == "!" {
        return Ok(PassTarget::Exclude);
    }
    let scheme = target
        .split_once("://")
        .map(|(s, _)| s.to_ascii_lowercase());
    if scheme.as_deref() == Some("balancer") {
        let rest = &target["balancer://".len()..];
        let name = rest.split('/').next().unwrap_or("").to_ascii_lowercase();
        return Err(format!("balancer://{name} is not defined"));
    }
    if scheme.is_none() {
        return Err(format!(
            "'{target}' is not a URL (expected http://host[:port][/path] or !)"
        ));
    }
    let url = parse_backend_url(target)?;
    if url.scheme != "http" {
        return Err(format!("scheme {} is not supported yet", url.scheme));
    }
    if target.len() >= MAX_WORKER_NAME {
        return Err(format!(
            "URL '{target}' is longer than {} bytes",
            MAX_WORKER_NAME - 1
        ));
    }
    Ok(PassTarget::Url(target.to_string()))
}

/// Parses one `ProxyPass`. `location` is the enclosing `<Location>` path, if any. Returns
/// the rule and, when path and URL disagree about a trailing slash, a warning (without the
/// `FILE:LINE: ` prefix).
pub(crate) fn proxy_pass(
    d: &Directive,
    location: Option<&str>,
) -> Result<(ProxyPassRule, Option<String>), ConfigError> {
    let fail = |m: String| ConfigError::at(&d.origin, format!("ProxyPass: {m}"));
    let (path, target, rest) = match location {
        Some(location) => {
            let Some(target) = d.args.first() else {
                return Err(ConfigError::at(
                    &d.origin,
                    "ProxyPass inside <Location> takes a URL (or !)",
                ));
            };
            if target.starts_with('/') || target == "~" {
                return Err(fail(format!(
                    "inside <Location> the path is the Location's ({location}); write ProxyPass URL"
                )));
            }
            (location.to_string(), target, &d.args[1..])
        }
        None => {
            let [path, target, rest @ ..] = d.args.as_slice() else {
                return Err(ConfigError::at(
                    &d.origin,
                    "ProxyPass takes a path and a URL (or !)",
                ));
            };
            if path == "~" {
                return Err(fail(
                    "regular expressions (ProxyPass ~) are not supported yet".to_string(),
                ));
            }
            if !path.starts_with('/') {
                return Err(fail(format!("path must begin with '/', got '{path}'")));
            }
            (path.clone(), target, rest)
        }
    };
    let target = pass_target(target).map_err(fail)?;
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
        from_location: location.is_some(),
        origin: d.origin.clone(),
    };
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
                Some((key, value)) => {
                    apply_worker_param(&mut rule.params, key, value).map_err(fail)?
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
        PassTarget::Url(url) => slash_mismatch(&rule.path, url),
        PassTarget::Exclude => None,
    };
    Ok((rule, warning))
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

fn set_other(params: &mut WorkerParams, key: &str, value: &str) {
    match params.other.iter_mut().find(|(k, _)| k == key) {
        Some(entry) => entry.1 = value.to_string(),
        None => params.other.push((key.to_string(), value.to_string())),
    }
}

/// The `hcmethod=` values for HTTP members (CPING is AJP only).
const HC_METHODS: &[&str] = &[
    "NONE",
    "TCP",
    "OPTIONS",
    "HEAD",
    "GET",
    "OPTIONS11",
    "HEAD11",
    "GET11",
];

/// Applies one worker `key=value` (reference §2.3) to `params`. The typed keys go into
/// their fields; the others are validated and stored in `params.other` under the lowercased
/// key. The error has no directive prefix.
pub(crate) fn apply_worker_param(
    params: &mut WorkerParams,
    key: &str,
    value: &str,
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
        "disablereuse" => params.disable_reuse = values::on_off(k, value)?,
        "enablereuse" => params.disable_reuse = !values::on_off(k, value)?,
        "keepalive" => params.keepalive = values::on_off(k, value)?,
        _ => {
            check_untyped(k, value)?;
            set_other(params, k, value);
        }
    }
    Ok(())
}

/// Validates the form of a worker key this release stores without acting on it.
fn check_untyped(k: &str, value: &str) -> Result<(), String> {
    let ms = Duration::from_millis(1);
    match k {
        "loadfactor" => loadfactor(value).map(drop),
        "lbset" => values::integer(k, value, 0, 99).map(drop),
        "route" | "redirect" | "secret" | "hcuri" => values::short_string(k, value, 64),
        "upgrade" | "flusher" | "hcexpr" => values::short_string(k, value, 16),
        "min" | "max" | "smax" | "responsefieldsize" | "hcpasses" | "hcfails" => {
            values::integer(k, value, 0, i64::from(i32::MAX)).map(drop)
        }
        "ttl" => values::whole_seconds(k, value, 1).map(drop),
        "ping" => values::time_at_least(k, value, TimeUnit::Seconds, ms).map(drop),
        "acquire" => values::time_at_least(k, value, TimeUnit::Millis, ms).map(drop),
        "hcinterval" => {
            values::time_at_least(k, value, TimeUnit::Seconds, Duration::from_millis(100)).map(drop)
        }
        "flushpackets" => match value.to_ascii_lowercase().as_str() {
            "on" | "off" | "auto" => Ok(()),
            _ => Err(format!("{k}: expected On, Off or Auto, got '{value}'")),
        },
        "flushwait" => values::integer(k, value, 0, 1000).map(drop),
        "iobuffersize" | "receivebuffersize" => {
            match values::integer(k, value, 0, i64::from(i32::MAX)) {
                Ok(n) if n == 0 || n >= 512 => Ok(()),
                _ => Err(format!("{k} must be 0 or at least 512, got '{value}'")),
            }
        }
        "addressttl" => values::integer(k, value, -1, i64::from(i32::MAX)).map(drop),
        "hcmethod" => {
            if HC_METHODS.iter().any(|m| m.eq_ignore_ascii_case(value)) {
                Ok(())
            } else {
                Err(format!(
                    "hcmethod: expected one of {}, got '{value}'",
                    HC_METHODS.join(", ")
                ))
            }
        }
        "hctemplate" => match value.is_empty() {
            true => Err("hctemplate: empty template name".to_string()),
            false => Ok(()),
        },
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
