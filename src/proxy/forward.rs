//! The heads sent to the client: the response (reference §8.5) with hop-by-hop
//! headers removed and ProxyPassReverse applied, 101 and interim answers, and
//! what the client's request asks of them. (The request head to an HTTP
//! member is the member codec's: `crate::codec::h1::request`.)

use std::io::Write;

use crate::codec::h1::request::{dropped, via_entry, write_header, write_merged, Merged};
use crate::config::ProxyVia;
use crate::http::{has_token, Framing, RequestHead, ResponseHead};

/// Response headers never forwarded to the client.
const RESPONSE_DROP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "content-length",
    "upgrade",
];

/// What the response head to the client depends on besides the member's head.
pub struct ResponseContext<'a> {
    /// The client's request version (minor).
    pub client_minor: u8,
    pub server_name: &'a str,
    pub front_port: u16,
    pub via: ProxyVia,
    /// Framing chosen for the client: Length, Chunked (re-chunked), Close or None.
    pub framing: Framing,
    /// Whether the client connection stays open after this response.
    pub keep_alive: bool,
    /// Rewrites a Location-like value (ProxyPassReverse); None leaves it.
    pub reverse: &'a dyn Fn(&str) -> Option<String>,
    /// Rewrites a Set-Cookie value (ProxyPassReverseCookiePath/Domain); None leaves it.
    pub cookie: &'a dyn Fn(&str) -> Option<String>,
    /// The `Server` header written when the member sent none (httpd adds its own
    /// banner then; ServerTokens).
    pub server: &'a str,
}

/// Headers that ProxyPassReverse rewrites.
const REVERSE_MAPPED: &[&str] = &["location", "content-location", "uri"];

/// Applies `ctx`'s ProxyPassReverse and cookie mappings to `headers` in place
/// (before mod_headers' rules see them, as in httpd); [`response_head`] is then
/// given a context that maps nothing.
pub fn map_in_place(headers: &mut [crate::http::Header], ctx: &ResponseContext<'_>) {
    for h in headers.iter_mut() {
        let map = if h.is("set-cookie") {
            ctx.cookie
        } else if REVERSE_MAPPED.iter().any(|n| h.is(n)) {
            ctx.reverse
        } else {
            continue;
        };
        if let Some(mapped) = std::str::from_utf8(&h.value).ok().and_then(map) {
            h.value.clear();
            h.value.extend_from_slice(mapped.as_bytes());
        }
    }
}

/// Writes the head of the response to the client into `out`.
pub fn response_head(out: &mut Vec<u8>, resp: &ResponseHead, ctx: &ResponseContext<'_>) {
    let has_connection = resp.headers.iter().any(|h| h.is("connection"));
    let reason = if resp.reason.is_empty() {
        crate::http::reason_phrase(resp.status)
    } else {
        resp.reason.as_str()
    };
    let _ = write!(out, "HTTP/1.1 {} {}\r\n", resp.status, reason);
    let via = Merged {
        name: "Via",
        // Like the request's entry, it names the client's protocol version (reference §8.2).
        add: via_entry(ctx.client_minor, ctx.server_name, ctx.front_port, ctx.via),
    };
    let mut via_written = false;
    let no_body_keeps_length = ctx.framing == Framing::None;
    for h in &resp.headers {
        if h.is("content-length") && no_body_keeps_length {
            // HEAD and 304 answers describe the body they would have had.
            write_header(out, h);
            continue;
        }
        if dropped(&h.name, RESPONSE_DROP, &resp.headers, has_connection) {
            continue;
        }
        if h.is("via") {
            match ctx.via {
                ProxyVia::Block => continue,
                ProxyVia::On | ProxyVia::Full if !via_written => {
                    write_merged(out, &resp.headers, &via, &h.name);
                    via_written = true;
                    continue;
                }
                ProxyVia::On | ProxyVia::Full => continue,
                ProxyVia::Off => {}
            }
        }
        if h.is("set-cookie") {
            if let Some(mapped) = std::str::from_utf8(&h.value).ok().and_then(ctx.cookie) {
                let _ = write!(out, "{}: {}\r\n", h.name, mapped);
                continue;
            }
        }
        if REVERSE_MAPPED.iter().any(|n| h.is(n)) {
            if let Some(mapped) = std::str::from_utf8(&h.value).ok().and_then(ctx.reverse) {
                let _ = write!(out, "{}: {}\r\n", h.name, mapped);
                continue;
            }
        }
        write_header(out, h);
    }
    if !via_written {
        write_merged(out, &resp.headers, &via, "Via");
    }
    if !resp.headers.iter().any(|h| h.is("server")) {
        let _ = write!(out, "Server: {}\r\n", ctx.server);
    }
    framing_and_connection(out, ctx.framing, ctx.keep_alive, ctx.client_minor);
}

/// The closing lines of a head to the client: framing, then Connection.
pub fn framing_and_connection(
    out: &mut Vec<u8>,
    framing: Framing,
    keep_alive: bool,
    client_minor: u8,
) {
    match framing {
        Framing::Length(n) => {
            let _ = write!(out, "Content-Length: {n}\r\n");
        }
        Framing::Chunked => out.extend_from_slice(b"Transfer-Encoding: chunked\r\n"),
        Framing::None | Framing::Close => {}
    }
    if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    } else if client_minor == 0 {
        out.extend_from_slice(b"Connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
}

/// The protocol a client asks to switch to: its `Upgrade` value when `Connection`
/// names `upgrade`.
pub fn requested_upgrade(req: &RequestHead) -> Option<String> {
    let asked = req
        .headers
        .iter()
        .any(|h| h.is("connection") && has_token(&h.value, "upgrade"));
    let value = req.header("upgrade")?;
    asked.then(|| String::from_utf8_lossy(crate::http::trim(value)).into_owned())
}

/// The head of a 101 answer to the client: the member's headers minus hop-by-hop
/// ones, then the upgrade pair.
pub fn switching_head(out: &mut Vec<u8>, resp: &ResponseHead, proto: &str) {
    out.extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
    for h in &resp.headers {
        if !dropped(&h.name, RESPONSE_DROP, &resp.headers, true) {
            write_header(out, h);
        }
    }
    let _ = write!(out, "Upgrade: {proto}\r\nConnection: Upgrade\r\n\r\n");
}

/// The head of an interim (1xx) answer to an HTTP/1.1 client: the member's
/// status and headers minus hop-by-hop ones (httpd-oracle: a member's
/// `103 Early Hints` reaches the client with its `Link` header).
pub fn interim_head(out: &mut Vec<u8>, resp: &ResponseHead) {
    let reason = match resp.reason.is_empty() {
        true => crate::http::reason_phrase(resp.status),
        false => resp.reason.as_str(),
    };
    let _ = write!(out, "HTTP/1.1 {} {}\r\n", resp.status, reason);
    let has_connection = resp.headers.iter().any(|h| h.is("connection"));
    for h in &resp.headers {
        if !dropped(&h.name, RESPONSE_DROP, &resp.headers, has_connection) {
            write_header(out, h);
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// True when the client's request carries `Expect: 100-continue`.
pub fn expects_continue(req: &RequestHead) -> bool {
    req.headers
        .iter()
        .any(|h| h.is("expect") && has_token(&h.value, "100-continue"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::parse_response;

    #[test]
    fn response_head_drops_hop_by_hop_and_reverse_maps() {
        let resp = parse_response(
            b"HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:9001/x/y\r\nConnection: close, X-Hop\r\n\
              X-Hop: 1\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=b; path=/x\r\n\r\n",
            false,
        )
        .unwrap()
        .unwrap();
        let map = |v: &str| {
            v.strip_prefix("http://127.0.0.1:9001/x/")
                .map(|r| format!("http://pub.test/p/{r}"))
        };
        let c = ResponseContext {
            client_minor: 1,
            server_name: "front.test",
            front_port: 8080,
            via: ProxyVia::On,
            framing: Framing::Chunked,
            keep_alive: true,
            reverse: &map,
            cookie: &|v: &str| v.strip_suffix("; path=/x").map(|c| format!("{c}; path=/p")),
            server: "slotgate",
        };
        let mut out = Vec::new();
        response_head(&mut out, &resp, &c);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "HTTP/1.1 302 Found\r\nLocation: http://pub.test/p/y\r\nSet-Cookie: a=b; path=/p\r\n\
             Via: 1.1 front.test:8080\r\nServer: slotgate\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
    }
}
