//! Addresses and host names: `Listen`, `<VirtualHost>` addresses, `ServerName` and
//! `ServerAlias`. All of them take `host[:port]` or `[ipv6][:port]`, split by
//! [`split_host_port`]; host names are resolved by [`resolve_host`], every address, as
//! httpd does.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};

use super::VhostAddr;

/// The host of a `host[:port]` argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Host<'a> {
    /// `[ipv6]`.
    V6(Ipv6Addr),
    /// Anything else as written: an IPv4 address, a name, `*`; possibly empty.
    Name(&'a str),
}

/// Splits `host[:port]` / `[ipv6][:port]` into the host and the port text (not yet
/// checked). An IPv6 address must be in brackets.
pub(crate) fn split_host_port(value: &str) -> Result<(Host<'_>, Option<&str>), String> {
    if let Some(inner) = value.strip_prefix('[') {
        let Some((ip, rest)) = inner.split_once(']') else {
            return Err(format!("unclosed '[' in '{value}'"));
        };
        let ip: Ipv6Addr = ip
            .parse()
            .map_err(|_| format!("bad IPv6 address '[{ip}]' in '{value}'"))?;
        return match rest {
            "" => Ok((Host::V6(ip), None)),
            _ => match rest.strip_prefix(':') {
                Some(port) => Ok((Host::V6(ip), Some(port))),
                None => Err(format!("unexpected '{rest}' in '{value}'")),
            },
        };
    }
    let (host, port) = match value.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (value, None),
    };
    if port.is_some_and(|p| p.contains(':')) {
        return Err(format!("IPv6 addresses must be in brackets: '{value}'"));
    }
    Ok((Host::Name(host), port))
}

/// A port of digits only, 0..=65535.
fn port_number(value: &str, port: &str) -> Result<u16, String> {
    match port.parse::<u16>() {
        Ok(n) if port.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(format!("bad port '{port}' in '{value}'")),
    }
}

/// Every address of a host name, without repeats.
pub(crate) fn resolve_host(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    let mut addrs: Vec<SocketAddr> = Vec::new();
    let resolved = (host, port)
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

/// The addresses of one `Listen` argument: `port`, `ipv4:port`, `[ipv6]:port` or
/// `host:port`. A bare port means `0.0.0.0:port` only; httpd would also listen on
/// `[::]:port` where IPv6 is available. Port 0 is allowed: an ephemeral port (slotgate's
/// extension).
pub(crate) fn listen_addrs(value: &str) -> Result<Vec<SocketAddr>, String> {
    if value.bytes().all(|b| b.is_ascii_digit()) && !value.is_empty() {
        let port = port_number(value, value)?;
        return Ok(vec![SocketAddr::new(
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port,
        )]);
    }
    let (host, port) = split_host_port(value)?;
    let Some(port) = port else {
        return Err(format!("port must be specified in '{value}'"));
    };
    let port = port_number(value, port)?;
    match host {
        Host::V6(ip) => Ok(vec![SocketAddr::new(IpAddr::V6(ip), port)]),
        Host::Name("") => Err(format!("no address before the port in '{value}'")),
        Host::Name(host) => match host.parse::<Ipv4Addr>() {
            Ok(ip) => Ok(vec![SocketAddr::new(IpAddr::V4(ip), port)]),
            Err(_) => resolve_host(host, port),
        },
    }
}

/// The addresses of a `<VirtualHost addr[:port] …>` line: `*`, `_default_`, an IPv4
/// address, `[IPv6]` or a host name, each with an optional `:port` or `:*`.
pub(crate) fn vhost_addrs(args: &[String]) -> Result<Vec<VhostAddr>, String> {
    if args.is_empty() {
        return Err("<VirtualHost> takes at least one address, such as *:80".to_string());
    }
    let mut out: Vec<VhostAddr> = Vec::new();
    for arg in args {
        for addr in vhost_addr(arg).map_err(|m| format!("<VirtualHost>: {m}"))? {
            if !out.contains(&addr) {
                out.push(addr);
            }
        }
    }
    Ok(out)
}

fn vhost_addr(value: &str) -> Result<Vec<VhostAddr>, String> {
    let (host, port) = split_host_port(value)?;
    let port = match port {
        None | Some("*") => None,
        Some(p) => match port_number(value, p)? {
            0 => return Err(format!("bad port '{p}' in '{value}'")),
            n => Some(n),
        },
    };
    let ip = |ip: IpAddr| VhostAddr { ip: Some(ip), port };
    match host {
        Host::V6(v6) => Ok(vec![ip(IpAddr::V6(v6))]),
        Host::Name("*" | "_default_") => Ok(vec![VhostAddr { ip: None, port }]),
        Host::Name("") => Err(format!("no address in '{value}'")),
        Host::Name(name) => match name.parse::<IpAddr>() {
            Ok(addr) => Ok(vec![ip(addr)]),
            Err(_) => Ok(resolve_host(name, 0)?
                .into_iter()
                .map(|a| ip(a.ip()))
                .collect()),
        },
    }
}

/// `ServerName [scheme://]host[:port]` of the main server: the scheme is dropped, the port
/// checked, the rest kept as written.
pub(crate) fn server_name(value: &str) -> Result<String, String> {
    let name = value.split_once("://").map_or(value, |(_, rest)| rest);
    name_port(name).map_err(|m| format!("ServerName: {m}"))?;
    Ok(name.to_string())
}

/// The port a (checked) `ServerName` value names, if any.
pub(crate) fn server_name_port(value: &str) -> Option<u16> {
    let name = value.split_once("://").map_or(value, |(_, rest)| rest);
    let (_, port) = split_host_port(name).ok()?;
    port.and_then(|p| p.parse().ok())
}

/// The host of `host[:port]`, with brackets for IPv6, after checking the port.
fn name_port(name: &str) -> Result<String, String> {
    let (host, port) = split_host_port(name)?;
    let host = match host {
        Host::V6(ip) => format!("[{ip}]"),
        Host::Name("") => return Err(format!("no host name in '{name}'")),
        Host::Name(host) => host.to_string(),
    };
    if let Some(port) = port {
        port_number(name, port)?;
    }
    Ok(host)
}

/// A vhost's `ServerName` / `ServerAlias` name as it is matched: lowercased, without a
/// scheme or port. `alias` allows the `*` and `?` wildcards.
pub(crate) fn host_name(what: &str, value: &str, alias: bool) -> Result<String, String> {
    let name = value.split_once("://").map_or(value, |(_, rest)| rest);
    let host = name_port(name).map_err(|m| format!("{what}: {m}"))?;
    if let Some(bad) = host.chars().find(|c| {
        !(c.is_ascii_alphanumeric()
            || matches!(c, '-' | '.' | '_' | '[' | ']' | ':')
            || (alias && matches!(c, '*' | '?')))
    }) {
        return Err(format!("{what}: bad character '{bad}' in '{value}'"));
    }
    Ok(host.to_ascii_lowercase())
}

impl super::Config {
    /// Whether a client connection from `peer` to `local` must start with a PROXY
    /// header: `RemoteIPProxyProtocol On` in the main server, or in a `<VirtualHost>`
    /// one of whose addresses `local` matches (the header comes before any Host
    /// header, so the setting is per address, as in httpd), unless `peer` is in
    /// `RemoteIPProxyProtocolExceptions`. No allocation.
    pub fn expects_proxy_header(&self, local: SocketAddr, peer: SocketAddr) -> bool {
        let on = self.remoteip_proxy_protocol
            || self.vhosts.iter().any(|v| {
                v.remoteip_proxy_protocol == Some(true)
                    && v.addrs.iter().any(|a| {
                        a.port.is_none_or(|p| p == local.port())
                            && a.ip
                                .is_none_or(|ip| ip.to_canonical() == local.ip().to_canonical())
                    })
            });
        on && !self
            .remoteip_proxy_exceptions
            .iter()
            .any(|net| net.contains(peer.ip().to_canonical()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitting() {
        let v6 = |s: &str| Host::V6(s.parse().unwrap());
        assert_eq!(split_host_port("a:80"), Ok((Host::Name("a"), Some("80"))));
        assert_eq!(split_host_port("a"), Ok((Host::Name("a"), None)));
        assert_eq!(split_host_port(":80"), Ok((Host::Name(""), Some("80"))));
        assert_eq!(split_host_port("[::1]:8"), Ok((v6("::1"), Some("8"))));
        assert_eq!(split_host_port("[::1]"), Ok((v6("::1"), None)));
        for (bad, want) in [
            ("[::1", "unclosed '[' in '[::1'"),
            ("[x]", "bad IPv6 address '[x]' in '[x]'"),
            ("[::1]x", "unexpected 'x' in '[::1]x'"),
            ("::1", "IPv6 addresses must be in brackets: '::1'"),
        ] {
            assert_eq!(split_host_port(bad), Err(want.to_string()), "{bad}");
        }
    }

    #[test]
    fn names() {
        let ok = |what, value, alias| host_name(what, value, alias);
        assert_eq!(
            ok("ServerName", "A.Example:8080", false),
            Ok("a.example".into())
        );
        assert_eq!(ok("ServerName", "http://X.org", false), Ok("x.org".into()));
        assert_eq!(ok("ServerName", "[::1]:81", false), Ok("[::1]".into()));
        assert_eq!(ok("ServerAlias", "*.Example", true), Ok("*.example".into()));
        for (what, value, alias, want) in [
            (
                "ServerName",
                "*.example",
                false,
                "ServerName: bad character '*' in '*.example'",
            ),
            (
                "ServerName",
                "a:b",
                false,
                "ServerName: bad port 'b' in 'a:b'",
            ),
            (
                "ServerAlias",
                ":80",
                true,
                "ServerAlias: no host name in ':80'",
            ),
        ] {
            assert_eq!(
                host_name(what, value, alias),
                Err(want.to_string()),
                "{value}"
            );
        }
    }
}
