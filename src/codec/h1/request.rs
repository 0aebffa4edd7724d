//! The request head an HTTP/1.1 member gets (reference §8.2): hop-by-hop
//! headers removed, the member's Host (or the client's), the forwarding
//! headers merged, the body's framing and the connection's fate. The header
//! helpers are shared with the response head to the client
//! (`crate::proxy::forward`).

use std::io::Write;
use std::net::IpAddr;

use crate::config::ProxyVia;
use crate::http::{Framing, Header, RequestHead};

/// Request headers never forwarded: hop-by-hop, framing (recomputed), and Host
/// (written first, by us).
const REQUEST_DROP: &[&str] = &[
    "host",
    "connection",
    "keep-alive",
    "te",
    "trailer",
    "transfer-encoding",
    "content-length",
    "upgrade",
];
/// What the request head to a member depends on besides the client's head.
pub struct RequestContext<'a> {
    pub client_ip: IpAddr,
    /// `ServerName`.
    pub server_name: &'a str,
    /// The port the client connected to (for Via).
    pub front_port: u16,
    pub preserve_host: bool,
    pub add_headers: bool,
    pub via: ProxyVia,
    /// The member's own Host value.
    pub member_host: &'a str,
    /// Whether the member connection may be kept for another request.
    pub reuse: bool,
    /// `Proxy100Continue On`: `Expect` goes to the member (Off: removed).
    pub forward_expect: bool,
    /// The protocol to ask the member to switch to (the client's `Upgrade`, when
    /// the member accepts it, reference §8.7).
    pub upgrade: Option<&'a str>,
    /// `force-proxy-request-1.0`: an HTTP/1.0 request line and, as httpd, no
    /// `Connection` header (the connection is not kept).
    pub http10: bool,
}

/// Whether the head's Connection headers list `name` (without case).
pub(crate) fn connection_lists(headers: &[Header], name: &str) -> bool {
    headers
        .iter()
        .filter(|h| h.is("connection"))
        .flat_map(|h| h.value.split(|&b| b == b','))
        .any(|t| crate::http::trim(t).eq_ignore_ascii_case(name.as_bytes()))
}

/// Whether a header is not passed on: one of `fixed`, or named by Connection
/// (`has_connection`: whether the head has a Connection header at all).
pub(crate) fn dropped(
    name: &str,
    fixed: &[&str],
    headers: &[Header],
    has_connection: bool,
) -> bool {
    fixed.iter().any(|d| name.eq_ignore_ascii_case(d))
        || (has_connection && connection_lists(headers, name))
}

/// A value of ours for a merged header.
#[derive(Clone, Copy)]
pub(crate) enum Add<'a> {
    Nothing,
    Ip(IpAddr),
    Text(&'a [u8]),
    /// A Via entry: `1.{minor} {server_name}[:{port}]`, with the product when full.
    Via {
        minor: u8,
        server_name: &'a str,
        port: u16,
        full: bool,
    },
}

impl Add<'_> {
    fn is_some(&self) -> bool {
        !matches!(self, Add::Nothing)
    }

    fn write(&self, out: &mut Vec<u8>) {
        match *self {
            Add::Nothing => {}
            Add::Ip(ip) => {
                let _ = write!(out, "{ip}");
            }
            Add::Text(t) => out.extend_from_slice(t),
            Add::Via {
                minor,
                server_name,
                port,
                full,
            } => {
                let _ = write!(out, "1.{minor} {server_name}");
                if port != 80 {
                    let _ = write!(out, ":{port}");
                }
                if full {
                    let _ = write!(out, " (slotgate/{})", env!("CARGO_PKG_VERSION"));
                }
            }
        }
    }
}

pub(crate) fn via_entry(minor: u8, server_name: &str, port: u16, via: ProxyVia) -> Add<'_> {
    match via {
        ProxyVia::On | ProxyVia::Full => Add::Via {
            minor,
            server_name,
            port,
            full: via == ProxyVia::Full,
        },
        ProxyVia::Off | ProxyVia::Block => Add::Nothing,
    }
}

/// Headers merged with a value of ours (`X-Forwarded-*`, `Via`): every occurrence
/// is joined with `, `, our value appended, and written where the first one was.
pub(crate) struct Merged<'a> {
    pub name: &'a str,
    pub add: Add<'a>,
}

pub(crate) fn write_merged(
    out: &mut Vec<u8>,
    headers: &[Header],
    m: &Merged<'_>,
    first_name: &str,
) {
    if !m.add.is_some() {
        return;
    }
    out.extend_from_slice(first_name.as_bytes());
    out.extend_from_slice(b": ");
    let start = out.len();
    for h in headers.iter().filter(|h| h.is(m.name)) {
        if out.len() > start {
            out.extend_from_slice(b", ");
        }
        out.extend_from_slice(&h.value);
    }
    if out.len() > start {
        out.extend_from_slice(b", ");
    }
    m.add.write(out);
    out.extend_from_slice(b"\r\n");
}

/// Writes the head of the request to the member into `out`.
pub fn request_head<'a>(
    out: &mut Vec<u8>,
    req: &'a RequestHead,
    target: &str,
    body: Framing,
    ctx: &RequestContext<'a>,
) {
    let has_connection = req.headers.iter().any(|h| h.is("connection"));
    let minor = if ctx.http10 { 0 } else { 1 };
    let _ = write!(out, "{} {} HTTP/1.{minor}\r\nHost: ", req.method, target);
    match req.header("host").filter(|_| ctx.preserve_host) {
        Some(h) => out.extend_from_slice(h),
        None => out.extend_from_slice(ctx.member_host.as_bytes()),
    }
    out.extend_from_slice(b"\r\n");

    let ours = |add: Add<'a>| if ctx.add_headers { add } else { Add::Nothing };
    let merged = [
        Merged {
            name: "X-Forwarded-For",
            add: ours(Add::Ip(ctx.client_ip)),
        },
        Merged {
            name: "X-Forwarded-Host",
            add: req
                .header("host")
                .map_or(Add::Nothing, |h| ours(Add::Text(h))),
        },
        Merged {
            name: "X-Forwarded-Server",
            add: ours(Add::Text(ctx.server_name.as_bytes())),
        },
        Merged {
            name: "Via",
            add: via_entry(req.minor, ctx.server_name, ctx.front_port, ctx.via),
        },
    ];
    let mut written = [false; 4];
    for h in &req.headers {
        if dropped(&h.name, REQUEST_DROP, &req.headers, has_connection)
            || h.name.len() > 6 && h.name[..6].eq_ignore_ascii_case("proxy-")
        {
            continue;
        }
        if (ctx.via == ProxyVia::Block && h.is("via")) || (!ctx.forward_expect && h.is("expect")) {
            continue;
        }
        if let Some(i) = merged.iter().position(|m| h.is(m.name)) {
            if merged[i].add.is_some() {
                if !written[i] {
                    write_merged(out, &req.headers, &merged[i], &h.name);
                    written[i] = true;
                }
                continue;
            }
        }
        write_header(out, h);
    }
    for (i, m) in merged.iter().enumerate() {
        if !written[i] {
            write_merged(out, &req.headers, m, m.name);
        }
    }
    match body {
        Framing::Length(n) => {
            let _ = write!(out, "Content-Length: {n}\r\n");
        }
        Framing::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        Framing::None | Framing::Close => {}
    }
    if let Some(proto) = ctx.upgrade {
        let _ = write!(out, "Upgrade: {proto}\r\nConnection: Upgrade\r\n\r\n");
    } else if ctx.http10 {
        out.extend_from_slice(b"\r\n");
    } else if ctx.reuse {
        out.extend_from_slice(b"Connection: Keep-Alive\r\n\r\n");
    } else {
        out.extend_from_slice(b"Connection: close\r\n\r\n");
    }
}

pub(crate) fn write_header(out: &mut Vec<u8>, h: &Header) {
    out.extend_from_slice(h.name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(&h.value);
    out.extend_from_slice(b"\r\n");
}

/// Whether a member's `upgrade=` list accepts `proto` (tokens compared without
/// case; `*` or `ANY` accept anything).
pub fn upgrade_allowed(list: &str, proto: &str) -> bool {
    list.split([',', ' '])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .any(|t| t == "*" || t.eq_ignore_ascii_case("any") || t.eq_ignore_ascii_case(proto))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::parse_request;

    fn ctx<'a>(preserve: bool, via: ProxyVia) -> RequestContext<'a> {
        RequestContext {
            client_ip: "10.1.2.3".parse().unwrap(),
            server_name: "front.test",
            front_port: 8080,
            preserve_host: preserve,
            add_headers: true,
            via,
            member_host: "127.0.0.1:9001",
            http10: false,
            reuse: false,
            forward_expect: true,
            upgrade: None,
        }
    }

    fn request(raw: &str, c: &RequestContext<'_>) -> String {
        let req = parse_request(raw.as_bytes()).unwrap().unwrap();
        let mut out = Vec::new();
        request_head(&mut out, &req, "/x", req.framing, c);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn request_head_rewrites_host_and_drops_hop_by_hop() {
        let got = request(
            "GET /p HTTP/1.1\r\nHost: pub.test\r\nAccept: */*\r\nConnection: keep-alive, X-Secret\r\n\
             X-Secret: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\nProxy-Authorization: x\r\nUpgrade: h2c\r\n\
             X-Forwarded-For: 1.1.1.1\r\nCookie: a=b\r\n\r\n",
            &ctx(false, ProxyVia::Off),
        );
        assert_eq!(
            got,
            "GET /x HTTP/1.1\r\nHost: 127.0.0.1:9001\r\nAccept: */*\r\n\
             X-Forwarded-For: 1.1.1.1, 10.1.2.3\r\nCookie: a=b\r\n\
             X-Forwarded-Host: pub.test\r\nX-Forwarded-Server: front.test\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn preserve_host_and_via() {
        let got = request(
            "POST /p HTTP/1.0\r\nHost: pub.test:81\r\nVia: 1.0 up\r\nContent-Length: 3\r\n\r\n",
            &ctx(true, ProxyVia::On),
        );
        assert!(
            got.starts_with(
                "POST /x HTTP/1.1\r\nHost: pub.test:81\r\nVia: 1.0 up, 1.0 front.test:8080\r\n"
            ),
            "{got}"
        );
        assert!(
            got.ends_with("Content-Length: 3\r\nConnection: close\r\n\r\n"),
            "{got}"
        );
    }
}
