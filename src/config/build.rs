//! Directive tree → typed [`Config`]. Directive names are case-insensitive; messages use
//! the canonical spelling, except "unknown directive", which repeats the name as written.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::params;
use super::reader::{Directive, Tree};
use super::values::{self, TimeUnit};
use super::{Config, ConfigError, Listen, LogLevel, Origin, ProxyPassRule, ProxyVia};

/// Directives that httpd also allows per directory, so that inside `<Location>` they are
/// "not supported yet" rather than misplaced.
const PER_DIRECTORY: &[&str] = &["ProxyPreserveHost", "ProxyAddHeaders"];

/// Every server-level directive this builder knows, canonical spelling.
const SERVER_LEVEL: &[&str] = &[
    "Listen",
    "ServerName",
    "PidFile",
    "ErrorLog",
    "LogLevel",
    "ScoreboardFile",
    "StartServers",
    "Timeout",
    "KeepAlive",
    "KeepAliveTimeout",
    "MaxKeepAliveRequests",
    "ProxyRequests",
    "ProxyPreserveHost",
    "ProxyTimeout",
    "ProxyVia",
    "ProxyAddHeaders",
    "LoadModule",
];

/// Builds the configuration. `file` is the main file (absolute).
pub(crate) fn build(tree: Tree, file: &Path) -> Result<Config, ConfigError> {
    let root = tree.server_root.clone();
    let mut b = Builder {
        config: Config {
            file: file.to_path_buf(),
            scoreboard_file: root.join("slotgate.scoreboard"),
            server_root: root,
            server_name: "localhost".to_string(),
            listen: Vec::new(),
            pid_file: None,
            error_log: None,
            log_level: LogLevel::Warn,
            start_servers: None,
            timeout: Duration::from_secs(60),
            keep_alive: true,
            keep_alive_timeout: Duration::from_secs(5),
            max_keep_alive_requests: 100,
            proxy_requests: false,
            proxy_preserve_host: false,
            proxy_timeout: None,
            proxy_via: ProxyVia::Off,
            proxy_add_headers: true,
            proxy_pass: Vec::new(),
            proxy_pass_reverse: Vec::new(),
            warnings: tree.warnings,
        },
        location_rules: Vec::new(),
        server_rules: Vec::new(),
    };
    for d in &tree.directives {
        b.server_directive(d)?;
    }
    if b.config.listen.is_empty() {
        return Err(ConfigError::at(
            &Origin::file_only(Arc::new(file.to_path_buf())),
            "no Listen directive",
        ));
    }
    // httpd merges every <Location> that matches a request in file order, so the *last*
    // matching Location's ProxyPass wins, not the most specific one (checked on httpd 2.4:
    // with <Location /z/y> written before <Location /z>, /z/y/x goes to /z's URL). As
    // usual the specific one is written after the broader one, and then it wins. Routing takes the first matching rule, so the
    // Location rules go first in reverse file order, then the server-level rules in file
    // order (reference §2.2).
    b.location_rules.reverse();
    b.config.proxy_pass = b.location_rules;
    b.config.proxy_pass.append(&mut b.server_rules);
    Ok(b.config)
}

struct Builder {
    config: Config,
    location_rules: Vec<ProxyPassRule>,
    server_rules: Vec<ProxyPassRule>,
}

fn fail(d: &Directive, message: impl Into<String>) -> ConfigError {
    ConfigError::at(&d.origin, message)
}

fn unknown(d: &Directive) -> ConfigError {
    match d.children {
        Some(_) => fail(d, format!("unknown directive '<{}>'", d.name)),
        None => fail(d, format!("unknown directive '{}'", d.name)),
    }
}

/// A value parser's message as an error at `d`.
fn check<T>(d: &Directive, parsed: Result<T, String>) -> Result<T, ConfigError> {
    parsed.map_err(|m| fail(d, m))
}

/// The single argument of `d`, or an error naming `name`.
fn one_arg<'a>(d: &'a Directive, name: &str) -> Result<&'a str, ConfigError> {
    match d.args.as_slice() {
        [arg] => Ok(arg),
        args => Err(fail(
            d,
            format!("{name} takes one argument, got {}", args.len()),
        )),
    }
}

fn resolve(root: &Path, path: &str) -> PathBuf {
    root.join(path)
}

impl Builder {
    fn server_directive(&mut self, d: &Directive) -> Result<(), ConfigError> {
        if d.children.is_some() {
            return if d.is("Location") {
                self.location(d)
            } else {
                Err(unknown(d))
            };
        }
        let c = &mut self.config;
        match d.name.to_ascii_lowercase().as_str() {
            "listen" => self.listen(d)?,
            "servername" => {
                c.server_name = server_name(one_arg(d, "ServerName")?).map_err(|m| fail(d, m))?
            }
            "pidfile" => c.pid_file = Some(resolve(&c.server_root, one_arg(d, "PidFile")?)),
            "errorlog" => {
                let target = one_arg(d, "ErrorLog")?;
                if target.starts_with('|') || target.to_ascii_lowercase().starts_with("syslog") {
                    return Err(fail(
                        d,
                        format!(
                            "ErrorLog: piped and syslog logs are not supported, got '{target}'"
                        ),
                    ));
                }
                c.error_log = Some(resolve(&c.server_root, target));
            }
            "loglevel" => c.log_level = check(d, log_level(&d.args))?.unwrap_or(c.log_level),
            "scoreboardfile" => {
                c.scoreboard_file = resolve(&c.server_root, one_arg(d, "ScoreboardFile")?)
            }
            "startservers" => {
                let n = check(
                    d,
                    values::integer(
                        "StartServers",
                        one_arg(d, "StartServers")?,
                        1,
                        i64::from(u16::MAX),
                    ),
                )?;
                c.start_servers = Some(n as usize);
            }
            "timeout" => {
                c.timeout = check(
                    d,
                    values::whole_seconds("Timeout", one_arg(d, "Timeout")?, 1),
                )?
            }
            "keepalive" => {
                c.keep_alive = check(d, values::on_off("KeepAlive", one_arg(d, "KeepAlive")?))?
            }
            "keepalivetimeout" => {
                let arg = one_arg(d, "KeepAliveTimeout")?;
                c.keep_alive_timeout =
                    check(d, values::time("KeepAliveTimeout", arg, TimeUnit::Seconds))?;
            }
            "maxkeepaliverequests" => {
                let arg = one_arg(d, "MaxKeepAliveRequests")?;
                let n = check(
                    d,
                    values::integer("MaxKeepAliveRequests", arg, 0, i64::from(u32::MAX)),
                )?;
                c.max_keep_alive_requests = n as u32;
            }
            "proxyrequests" => {
                if check(
                    d,
                    values::on_off("ProxyRequests", one_arg(d, "ProxyRequests")?),
                )? {
                    return Err(fail(
                        d,
                        "forward proxying (ProxyRequests On) is not supported",
                    ));
                }
                c.proxy_requests = false;
            }
            "proxypreservehost" => {
                let arg = one_arg(d, "ProxyPreserveHost")?;
                c.proxy_preserve_host = check(d, values::on_off("ProxyPreserveHost", arg))?;
            }
            "proxytimeout" => {
                let arg = one_arg(d, "ProxyTimeout")?;
                c.proxy_timeout = Some(check(d, values::whole_seconds("ProxyTimeout", arg, 1))?);
            }
            "proxyvia" => c.proxy_via = check(d, proxy_via(one_arg(d, "ProxyVia")?))?,
            "proxyaddheaders" => {
                let arg = one_arg(d, "ProxyAddHeaders")?;
                c.proxy_add_headers = check(d, values::on_off("ProxyAddHeaders", arg))?;
            }
            "proxypass" => {
                let (rule, warning) = params::proxy_pass(d, None)?;
                self.warn(&d.origin, warning);
                self.server_rules.push(rule);
            }
            "proxypassreverse" => {
                let rule = params::proxy_pass_reverse(d, None)?;
                self.config.proxy_pass_reverse.push(rule);
            }
            "loadmodule" => {
                if d.args.len() != 2 {
                    return Err(fail(
                        d,
                        "LoadModule takes two arguments, a module name and a path",
                    ));
                }
            }
            _ => return Err(unknown(d)),
        }
        Ok(())
    }

    fn warn(&mut self, origin: &Origin, warning: Option<String>) {
        if let Some(w) = warning {
            self.config.warnings.push(format!("{origin}: {w}"));
        }
    }

    fn listen(&mut self, d: &Directive) -> Result<(), ConfigError> {
        let (addr, protocol) = match d.args.as_slice() {
            [addr] => (addr, None),
            [addr, protocol] => (addr, Some(protocol)),
            _ => return Err(fail(d, "Listen takes an address and an optional protocol")),
        };
        if let Some(p) = protocol {
            if !p.eq_ignore_ascii_case("http") {
                return Err(fail(
                    d,
                    format!("Listen: protocol '{p}' is not supported (only http)"),
                ));
            }
        }
        for addr in listen_addrs(addr).map_err(|m| fail(d, format!("Listen: {m}")))? {
            if addr.port() != 0 {
                if let Some(earlier) = self.config.listen.iter().find(|l| l.addr == addr) {
                    return Err(fail(
                        d,
                        format!(
                            "Listen: {addr} is already a listener (at {})",
                            earlier.origin
                        ),
                    ));
                }
            }
            self.config.listen.push(Listen {
                addr,
                origin: d.origin.clone(),
            });
        }
        Ok(())
    }

    fn location(&mut self, section: &Directive) -> Result<(), ConfigError> {
        let path = match section.args.as_slice() {
            [path] => path.as_str(),
            [tilde, _] if tilde == "~" => {
                return Err(fail(section, "<Location ~ regex> is not supported yet"))
            }
            _ => return Err(fail(section, "<Location> takes one argument, a URL path")),
        };
        if !path.starts_with('/') {
            return Err(fail(
                section,
                format!("<Location>: path must begin with '/', got '{path}'"),
            ));
        }
        if path.contains(['*', '?', '[']) {
            return Err(fail(
                section,
                format!("<Location {path}>: wildcard paths are not supported yet"),
            ));
        }
        let mut pass: Option<&Directive> = None;
        for d in section.children.iter().flatten() {
            if d.children.is_some() {
                if d.is("Location") {
                    return Err(fail(d, "<Location> cannot occur within <Location> section"));
                }
                return Err(unknown(d));
            }
            if d.is("ProxyPass") {
                if let Some(first) = pass {
                    return Err(fail(
                        d,
                        format!(
                            "ProxyPass: only one per <Location>; this one already has the one at {}",
                            first.origin
                        ),
                    ));
                }
                pass = Some(d);
                let (rule, warning) = params::proxy_pass(d, Some(path))?;
                self.warn(&d.origin, warning);
                self.location_rules.push(rule);
            } else if d.is("ProxyPassReverse") {
                let rule = params::proxy_pass_reverse(d, Some(path))?;
                self.config.proxy_pass_reverse.push(rule);
            } else if let Some(name) = PER_DIRECTORY.iter().find(|n| d.is(n)) {
                return Err(fail(
                    d,
                    format!("{name} inside <Location> is not supported yet"),
                ));
            } else if let Some(name) = SERVER_LEVEL.iter().find(|n| d.is(n)) {
                return Err(fail(
                    d,
                    format!("{name} cannot occur within <Location> section"),
                ));
            } else {
                return Err(unknown(d));
            }
        }
        Ok(())
    }
}

/// `ServerName [scheme://]host[:port]`; the scheme is dropped, the port checked.
fn server_name(value: &str) -> Result<String, String> {
    let name = value.split_once("://").map_or(value, |(_, rest)| rest);
    let host_end = if name.starts_with('[') {
        name.find(']').map_or(name.len(), |i| i + 1)
    } else {
        name.find(':').unwrap_or(name.len())
    };
    let (host, port) = name.split_at(host_end);
    if host.is_empty() {
        return Err(format!("ServerName: no host name in '{value}'"));
    }
    if let Some(port) = port.strip_prefix(':') {
        if port.parse::<u16>().is_err() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("ServerName: bad port '{port}' in '{value}'"));
        }
    } else if !port.is_empty() {
        return Err(format!("ServerName: unexpected '{port}' in '{value}'"));
    }
    Ok(name.to_string())
}

/// `LogLevel level [module:level…]`: the first plain level sets the level; per-module
/// levels are checked and ignored (slotgate has one log level). None when only module
/// levels are given.
fn log_level(args: &[String]) -> Result<Option<LogLevel>, String> {
    if args.is_empty() {
        return Err("LogLevel takes at least one argument".to_string());
    }
    let mut level = None;
    for arg in args {
        match arg.split_once(':') {
            Some((module, l)) => {
                if module.is_empty() {
                    return Err(format!("LogLevel: no module name in '{arg}'"));
                }
                parse_level(l)?;
            }
            None => {
                let l = parse_level(arg)?;
                level.get_or_insert(l);
            }
        }
    }
    Ok(level)
}

fn parse_level(value: &str) -> Result<LogLevel, String> {
    let l = value.to_ascii_lowercase();
    Ok(match l.as_str() {
        "emerg" => LogLevel::Emerg,
        "alert" => LogLevel::Alert,
        "crit" => LogLevel::Crit,
        "error" => LogLevel::Error,
        "warn" => LogLevel::Warn,
        "notice" => LogLevel::Notice,
        "info" => LogLevel::Info,
        "debug" => LogLevel::Debug,
        "trace1" | "trace2" | "trace3" | "trace4" | "trace5" | "trace6" | "trace7" | "trace8" => {
            LogLevel::Trace
        }
        _ => {
            return Err(format!(
                "LogLevel: expected emerg, alert, crit, error, warn, notice, info, debug or trace1..trace8, got '{value}'"
            ))
        }
    })
}

fn proxy_via(value: &str) -> Result<ProxyVia, String> {
    Ok(match value.to_ascii_lowercase().as_str() {
        "off" => ProxyVia::Off,
        "on" => ProxyVia::On,
        "full" => ProxyVia::Full,
        "block" => ProxyVia::Block,
        _ => {
            return Err(format!(
                "ProxyVia: expected Off, On, Full or Block, got '{value}'"
            ))
        }
    })
}

/// The addresses of one `Listen` argument: `port`, `ipv4:port`, `[ipv6]:port` or
/// `host:port` (resolved now, every address, as httpd does). A bare port means
/// `0.0.0.0:port` only; httpd would also listen on `[::]:port` where IPv6 is available.
/// Port 0 is allowed: an ephemeral port (slotgate's extension).
fn listen_addrs(value: &str) -> Result<Vec<SocketAddr>, String> {
    let port = |p: &str| match p.parse::<u16>() {
        Ok(n) if p.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(format!("bad port '{p}' in '{value}'")),
    };
    if value.bytes().all(|b| b.is_ascii_digit()) && !value.is_empty() {
        return Ok(vec![SocketAddr::new(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port(value)?,
        )]);
    }
    if let Some(inner) = value.strip_prefix('[') {
        let Some((ip, rest)) = inner.split_once(']') else {
            return Err(format!("unclosed '[' in '{value}'"));
        };
        let ip: std::net::Ipv6Addr = ip
            .parse()
            .map_err(|_| format!("bad IPv6 address '[{ip}]' in '{value}'"))?;
        let Some(p) = rest.strip_prefix(':') else {
            return Err(format!("port must be specified in '{value}'"));
        };
        return Ok(vec![SocketAddr::new(IpAddr::V6(ip), port(p)?)]);
    }
    let Some((host, p)) = value.rsplit_once(':') else {
        return Err(format!("port must be specified in '{value}'"));
    };
    if host.contains(':') {
        return Err(format!("IPv6 addresses must be in brackets: '{value}'"));
    }
    let p = port(p)?;
    if host.is_empty() {
        return Err(format!("no address before the port in '{value}'"));
    }
    if let Ok(ip) = host.parse::<Ipv4Addr>() {
        return Ok(vec![SocketAddr::new(IpAddr::V4(ip), p)]);
    }
    let mut addrs: Vec<SocketAddr> = Vec::new();
    let resolved = (host, p)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve '{host}': {e}"))?;
    for a in resolved {
        if !addrs.contains(&a) {
            addrs.push(a);
        }
    }
    if addrs.is_empty() {
        return Err(format!("'{host}' has no address"));
    }
    Ok(addrs)
}
