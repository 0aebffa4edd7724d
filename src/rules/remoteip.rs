//! mod_remoteip's `RemoteIPHeader`: the client address of a request taken from a
//! header that proxies in front of slotgate fill (`X-Forwarded-For`, `X-Real-IP`).
//!
//! httpd's algorithm (`remoteip_modify_request`), applied per request from the
//! connection's address (the socket's peer, or the client a PROXY protocol header
//! named): the header's value is a comma-separated list; while the current address
//! is a proxy slotgate trusts, its rightmost element is taken off and becomes the
//! current address. Without any `RemoteIPInternalProxy` / `RemoteIPTrustedProxy`
//! (or their `…List` files) every peer is trusted, as a *trusted* (external)
//! proxy. With a list, only the addresses in it are, and the walk stops at the
//! first that is not. An element that is blank or not an IP address stops the
//! walk (it stays in the header); so does a private address (10/8, 127/8,
//! 169.254/16, 172.16/12, 192.168/16, or IPv6 outside 2000::/3) presented by a
//! trusted proxy: only internal proxies may present those. Once a trusted proxy
//! appeared, the proxies to its left count as trusted even when listed as
//! internal. The header is then rewritten to what is left (removed when nothing
//! is), and `RemoteIPProxiesHeader` is set to the trusted (not internal) proxies
//! walked through, in the order met, when there is any.
//!
//! Worked example (checked on httpd 2.4: `RemoteIPTrustedProxy 127.0.0.1 8.8.8.0/24`,
//! `RemoteIPInternalProxy 10.0.0.0/8`): a connection from 127.0.0.1 with
//! `X-Forwarded-For: 203.0.113.5, 10.1.1.1, 8.8.8.8` gives the client 8.8.8.8
//! (127.0.0.1 is trusted and 8.8.8.8 is public), then stops: 8.8.8.8 is a trusted,
//! not internal, proxy, so it may not present the private 10.1.1.1. The header
//! becomes `203.0.113.5, 10.1.1.1` and the proxies header `127.0.0.1`.

use std::net::{IpAddr, SocketAddr};

use crate::access::IpNet;
use crate::http::{Header, RequestHead};

/// One entry of the proxy lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proxy {
    pub net: IpNet,
    /// `RemoteIPInternalProxy` (may present private addresses) rather than
    /// `RemoteIPTrustedProxy`.
    pub internal: bool,
}

/// mod_remoteip's settings of one server (a vhost's already merged with the main
/// server's: each of the three is the vhost's own when it has one).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteIp {
    /// `RemoteIPHeader`; None: the module does nothing.
    pub header: Option<String>,
    /// `RemoteIPProxiesHeader`.
    pub proxies_header: Option<String>,
    /// The proxy lists in file order; None when none was configured (every peer
    /// is then a trusted proxy).
    pub proxies: Option<Vec<Proxy>>,
}

/// What the walk found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The request's client address.
    pub client: IpAddr,
    /// What is left of the header: None to remove it.
    pub rest: Option<String>,
    /// The trusted proxies walked through (`, `-separated), if any.
    pub proxies: Option<String>,
}

/// httpd's "private or nonsensical" test for an address a trusted proxy presents.
fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let b = v4.octets();
            b[0] == 10
                || b[0] == 127
                || (b[0] == 169 && b[1] == 254)
                || (b[0] == 172 && (b[1] & 0xf0) == 16)
                || (b[0] == 192 && b[1] == 168)
        }
        // Only global unicast, 2000::/3.
        IpAddr::V6(v6) => (v6.octets()[0] & 0xe0) != 0x20,
    }
}

impl RemoteIp {
    /// Walks `value` (the header's value, all its lines joined with `, `) from the
    /// connection's address `peer`. None when nothing changed: the client stays
    /// `peer` and the header stays as it is.
    pub fn resolve(&self, peer: IpAddr, value: &str) -> Option<Outcome> {
        let mut current = peer.to_canonical();
        // httpd starts "internal" when lists exist, and a trusted proxy ends it.
        let mut internal = self.proxies.is_some();
        let mut rest: &str = value;
        let mut proxies: Option<String> = None;
        let mut changed = false;
        // Where the walk stopped: what the header keeps (None: all taken).
        let kept: Option<String> = loop {
            if let Some(list) = &self.proxies {
                match list.iter().find(|p| p.net.contains(current)) {
                    None => break Some(rest.to_string()),
                    Some(p) => {
                        if internal {
                            internal = p.internal;
                        }
                    }
                }
            }
            let (before, element) = match rest.rfind(',') {
                Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
                None => (None, rest),
            };
            let trimmed = element.trim_start_matches(' ').trim_end_matches(' ');
            // What the header keeps when this element stops the walk: httpd puts the
            // comma back before the element (leading blanks kept, trailing ones
            // trimmed unless the element is blank); a first element keeps neither.
            let stop = |blank: bool| -> String {
                match before {
                    Some(b) if blank => format!("{b},{element}"),
                    Some(b) => format!("{b},{}", element.trim_end_matches(' ')),
                    None => trimmed.to_string(),
                }
            };
            if trimmed.is_empty() {
                break Some(stop(true));
            }
            let Ok(ip) = trimmed.parse::<IpAddr>() else {
                break Some(stop(false));
            };
            let ip = ip.to_canonical();
            if !internal && is_private(ip) {
                break Some(stop(false));
            }
            if !internal {
                let me = current.to_string();
                proxies = Some(match proxies {
                    Some(p) => format!("{p}, {me}"),
                    None => me,
                });
            }
            current = ip;
            changed = true;
            match before {
                Some(b) => rest = b,
                None => break None,
            }
        };
        changed.then_some(Outcome {
            client: current,
            rest: kept,
            proxies,
        })
    }
}

/// The client address of a request that came from `peer` (the connection's
/// client: the socket's peer or what a PROXY protocol header said), with the
/// server's `RemoteIPHeader` applied to `head`: the header rewritten to what is
/// left, the proxies header set. Every line of the header counts, joined with
/// `, ` (httpd merges repeated request headers). The port of an address taken
/// from the header is 0, as in httpd (not known). Allocates nothing when the
/// header is not configured or absent.
pub fn apply(config: &RemoteIp, peer: SocketAddr, head: &mut RequestHead) -> SocketAddr {
    let Some(name) = config.header.as_deref() else {
        return peer;
    };
    let mut lines = head.headers.iter().filter(|h| h.is(name));
    let Some(first) = lines.next() else {
        return peer;
    };
    let mut value = String::from_utf8_lossy(&first.value).into_owned();
    for h in lines {
        value.push_str(", ");
        value.push_str(&String::from_utf8_lossy(&h.value));
    }
    let Some(outcome) = config.resolve(peer.ip(), &value) else {
        return peer;
    };
    set_header(head, name, outcome.rest);
    if let (Some(proxies), Some(pname)) = (outcome.proxies, config.proxies_header.as_deref()) {
        set_header(head, pname, Some(proxies));
    }
    SocketAddr::new(outcome.client, 0)
}

/// Replaces every line of `name` with one line of `value` (where the first was),
/// or removes them all.
fn set_header(head: &mut RequestHead, name: &str, value: Option<String>) {
    let at = head.headers.iter().position(|h| h.is(name));
    head.headers.retain(|h| !h.is(name));
    if let Some(v) = value {
        let header = Header {
            name: name.to_string(),
            value: v.into_bytes(),
        };
        let at = at.unwrap_or(head.headers.len()).min(head.headers.len());
        head.headers.insert(at, header);
    }
}

/// httpd's `RemoteIP…Proxy` argument: an address or network (`10.1`, `10.0.0.0/8`,
/// `2001:db8::/32`), or a host name, which stands for every address it resolves
/// to when the configuration is read.
pub fn parse_proxy(word: &str, internal: bool) -> Result<Vec<Proxy>, String> {
    if let Ok(net) = IpNet::parse(word) {
        return Ok(vec![Proxy { net, internal }]);
    }
    let looks_like_name = !word.contains('/')
        && !word.contains(':')
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        && word.chars().any(|c| c.is_ascii_alphabetic());
    if !looks_like_name {
        return Err(format!(
            "'{word}' is not an IP address, a network (10.0.0.0/8) or a host name"
        ));
    }
    let addrs = dns_lookup::lookup_host(word)
        .map_err(|e| format!("host name '{word}' cannot be resolved: {e}"))?;
    let mut out = Vec::new();
    for a in addrs {
        let a = a.to_canonical();
        let net = IpNet::parse(&a.to_string())?;
        if !out.iter().any(|p: &Proxy| p.net == net) {
            out.push(Proxy { net, internal });
        }
    }
    if out.is_empty() {
        return Err(format!("host name '{word}' resolves to no address"));
    }
    Ok(out)
}

/// The words of a `RemoteIP…ProxyList` file: blank-separated, `#` starts a
/// comment to the end of the line.
pub fn parse_list(text: &str, internal: bool) -> Result<Vec<Proxy>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        for word in line.split_whitespace() {
            if word.starts_with('#') {
                break;
            }
            out.extend(parse_proxy(word, internal).map_err(|m| format!("line {}: {m}", i + 1))?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn cfg(trusted: &[&str], internal: &[&str]) -> RemoteIp {
        let mut list = Vec::new();
        for t in trusted {
            list.extend(parse_proxy(t, false).unwrap());
        }
        for t in internal {
            list.extend(parse_proxy(t, true).unwrap());
        }
        RemoteIp {
            header: Some("X-Forwarded-For".into()),
            proxies_header: Some("X-Forwarded-By".into()),
            proxies: if trusted.is_empty() && internal.is_empty() {
                None
            } else {
                Some(list)
            },
        }
    }

    /// (peer, header, client, header left, proxies header), each row checked on
    /// httpd 2.4 (httpd-oracle, `%a`, `%{X-Forwarded-For}i`, `%{X-Forwarded-By}i`
    /// logged after the module ran).
    #[test]
    fn walks_as_httpd_does() {
        let none = cfg(&[], &[]);
        let internal = cfg(&[], &["127.0.0.1"]);
        let trusted = cfg(&["127.0.0.1", "8.8.8.0/24"], &["10.0.0.0/8"]);
        type Row<'a> = (
            &'a RemoteIp,
            &'a str,
            &'a str,
            &'a str,
            Option<&'a str>,
            Option<&'a str>,
        );
        let rows: &[Row] = &[
            (
                &none,
                "127.0.0.1",
                "203.0.113.5",
                "203.0.113.5",
                None,
                Some("127.0.0.1"),
            ),
            (
                &none,
                "127.0.0.1",
                "203.0.113.5, 198.51.100.7",
                "203.0.113.5",
                None,
                Some("127.0.0.1, 198.51.100.7"),
            ),
            (
                &internal,
                "127.0.0.1",
                "203.0.113.5, 10.1.1.1",
                "10.1.1.1",
                Some("203.0.113.5"),
                None,
            ),
            (
                &trusted,
                "127.0.0.1",
                "203.0.113.5, 10.1.1.1, 8.8.8.8",
                "8.8.8.8",
                Some("203.0.113.5, 10.1.1.1"),
                Some("127.0.0.1"),
            ),
            (
                &trusted,
                "127.0.0.1",
                "garbage, 8.8.8.8",
                "8.8.8.8",
                Some("garbage"),
                Some("127.0.0.1"),
            ),
            (
                &trusted,
                "127.0.0.1",
                ",8.8.8.8",
                "8.8.8.8",
                Some(""),
                Some("127.0.0.1"),
            ),
            (
                &trusted,
                "127.0.0.1",
                "203.0.113.5,   ,8.8.8.8",
                "8.8.8.8",
                Some("203.0.113.5,   "),
                Some("127.0.0.1"),
            ),
            (
                &trusted,
                "127.0.0.1",
                "::ffff:8.8.8.9",
                "8.8.8.9",
                None,
                Some("127.0.0.1"),
            ),
            (
                &trusted,
                "127.0.0.1",
                "2001:db8::1",
                "2001:db8::1",
                None,
                Some("127.0.0.1"),
            ),
        ];
        for &(c, peer, header, client, rest, proxies) in rows {
            let got = c.resolve(ip(peer), header).expect(header);
            assert_eq!(
                got,
                Outcome {
                    client: ip(client),
                    rest: rest.map(str::to_string),
                    proxies: proxies.map(str::to_string),
                },
                "{header}"
            );
        }
    }

    /// Rows where httpd changed nothing (same oracle run).
    #[test]
    fn stops_where_httpd_stops() {
        let none = cfg(&[], &[]);
        let internal = cfg(&[], &["127.0.0.1"]);
        let trusted = cfg(&["127.0.0.1", "8.8.8.0/24"], &["10.0.0.0/8"]);
        // A trusted proxy may not present a private address.
        assert_eq!(none.resolve(ip("127.0.0.1"), "203.0.113.5, 10.1.1.1"), None);
        assert_eq!(
            trusted.resolve(ip("127.0.0.1"), "203.0.113.5, 8.8.8.8, 10.1.1.1"),
            None
        );
        assert_eq!(trusted.resolve(ip("127.0.0.1"), "10.2.2.2, 10.1.1.1"), None);
        // A peer outside the lists is the client.
        assert_eq!(
            internal.resolve(ip("127.0.0.2"), "203.0.113.5, 10.1.1.1"),
            None
        );
    }

    #[test]
    fn list_files_take_comments() {
        let list = parse_list("10.0.0.0/8\n# comment\n127.0.0.1 # tail\n", true).unwrap();
        assert_eq!(list.len(), 2);
        assert!(list.iter().all(|p| p.internal));
        assert!(list[1].net.contains(ip("127.0.0.1")));
        assert!(parse_list("10.0.0.0/40\n", true)
            .unwrap_err()
            .starts_with("line 1: "));
    }
}
