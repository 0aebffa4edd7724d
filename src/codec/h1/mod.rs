//! The HTTP/1.1 member codec (`http://`, `https://`, `ws://`, `wss://`, as
//! mod_proxy_http and mod_proxy_wstunnel): the request head as reference §8.2
//! writes it ([`request::request_head`]), the body in the client's
//! framing (chunks re-made, lengths kept), and the member's response parsed
//! with the same scrutiny as a client's request (reference §8.5).
//!
//! What only HTTP needs travels in [`Outgoing::http`] (per request: the
//! front's ProxyPreserveHost, ProxyVia, X-Forwarded-*, Expect, the client's
//! Upgrade) and in [`Settings`] (per member: its Host value, its `upgrade=`).
//!
//! mod_proxy_http's environment switches are read here, from the request's
//! environment ([`Outgoing::env`]), as httpd reads them (httpd-oracle,
//! 2.4.71, an origin recording what it received):
//! - `force-proxy-request-1.0`: the request line says HTTP/1.0, no
//!   `Connection` header, `Expect` is not forwarded, the connection is not
//!   kept, and a chunked body is spooled and sent with `Content-Length`;
//! - `proxy-sendcl`: a chunked body is spooled and sent with
//!   `Content-Length` (unless `proxy-sendchunked`/`proxy-sendchunks` is set
//!   too: then, as httpd, as if neither were);
//! - `proxy-sendchunked` / `proxy-sendchunks`: bodies of unknown length go
//!   chunked — what slotgate always does (it streams; httpd sends a small
//!   chunked body, read whole before it connects, with a Content-Length).

use std::sync::Arc;

pub mod request;

use super::{Decoded, Event, MemberCodec, Outgoing, ProtocolError, Sink};
use crate::http::{parse_response, BodyReader, ChunkEncoder, Framing};
use request::RequestContext;

/// An HTTP/1.1 member's settings, built once per member (`crate::proxy::routes`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The member's own `Host` value (`host[:port]` of its URL).
    pub host: Arc<str>,
    /// Protocols a client may switch to through this member (`upgrade=`;
    /// `ws://` members accept WebSocket by default).
    pub upgrade: Option<Arc<str>>,
}

impl Settings {
    pub fn codec(&self) -> H1 {
        H1 {
            settings: self.clone(),
            phase: Phase::Head,
            head_request: false,
            chunked: false,
            keep: false,
            upgrade_sent: None,
            spool: None,
        }
    }
}

/// Where the response is.
#[derive(Debug)]
enum Phase {
    /// Waiting for the (final) head.
    Head,
    /// Walking the body; `reusable` is the head's word on the connection.
    Body { body: BodyReader, reusable: bool },
    /// The response ended (or switched protocols: the exchange tunnels).
    Done,
}

/// One HTTP/1.1 member connection's codec.
#[derive(Debug)]
pub struct H1 {
    settings: Settings,
    phase: Phase,
    /// The request is a HEAD: the response has no body whatever it says.
    head_request: bool,
    /// The request body goes chunked.
    chunked: bool,
    /// The request asked the member to keep the connection.
    keep: bool,
    /// The protocol the member was asked to switch to (a recycled string).
    upgrade_sent: Option<String>,
    /// A chunked request body held whole to be sent with its length
    /// (`proxy-sendcl`, `force-proxy-request-1.0`): the head without its
    /// last empty line, then the payload so far.
    spool: Option<Spool>,
}

#[derive(Debug)]
struct Spool {
    bytes: Vec<u8>,
    head_len: usize,
}

impl Drop for H1 {
    fn drop(&mut self) {
        if let Some(s) = self.upgrade_sent.take() {
            crate::recycle::give_string(s);
        }
    }
}

impl H1 {
    /// The protocol this member would be asked to switch to for `req`: the
    /// client's `Upgrade` when the member's `upgrade=` list accepts it.
    fn upgrade<'a>(&self, req: &Outgoing<'a>) -> Option<&'a str> {
        let proto = req.http.upgrade?;
        let list = self.settings.upgrade.as_deref()?;
        request::upgrade_allowed(list, proto).then_some(proto)
    }
}

impl MemberCodec for H1 {
    fn start(&mut self, req: &Outgoing<'_>, out: &mut impl Sink) {
        let http10 = req.env.is_set("force-proxy-request-1.0");
        let upgrade = self.upgrade(req).filter(|_| !http10);
        self.phase = Phase::Head;
        self.head_request = req.head.is_head();
        if let Some(s) = self.upgrade_sent.take() {
            crate::recycle::give_string(s);
        }
        self.upgrade_sent = upgrade.map(crate::recycle::string_from);
        self.keep = req.keep && upgrade.is_none() && !http10;
        let sendcl = req.env.is_set("proxy-sendcl")
            && !req.env.is_set("proxy-sendchunked")
            && !req.env.is_set("proxy-sendchunks");
        let spool = req.head.framing == Framing::Chunked && (http10 || sendcl);
        let framing = match spool {
            true => Framing::None,
            false => req.head.framing,
        };
        self.chunked = framing == Framing::Chunked;
        let http = &req.http;
        let rctx = RequestContext {
            client_ip: req.client.ip(),
            server_name: req.server_name,
            front_port: http.front_port,
            preserve_host: http.preserve_host,
            add_headers: http.add_headers,
            via: http.via,
            member_host: &self.settings.host,
            reuse: self.keep,
            // An HTTP/1.0 member must not see an Expect (RFC 9110 §10.1.1):
            // slotgate answers it then (`crate::worker::conn`).
            forward_expect: http.forward_expect && !http10,
            upgrade,
            http10,
        };
        if spool {
            let mut bytes = Vec::with_capacity(1024);
            request::request_head(&mut bytes, req.head, req.target, framing, &rctx);
            bytes.truncate(bytes.len() - 2);
            let head_len = bytes.len();
            self.spool = Some(Spool { bytes, head_len });
            return;
        }
        self.spool = None;
        crate::recycle::with_bytes(|head| {
            request::request_head(head, req.head, req.target, framing, &rctx);
            out.put(head);
        });
    }

    fn body_room(&self) -> usize {
        usize::MAX
    }

    fn body(&mut self, data: &[u8], out: &mut impl Sink) {
        if let Some(spool) = self.spool.as_mut() {
            spool.bytes.extend_from_slice(data);
        } else if !self.chunked {
            out.put(data);
        } else if !data.is_empty() {
            let mut size = [0u8; 18];
            out.put(ChunkEncoder::head(&mut size, data.len()));
            out.put(data);
            out.put(b"\r\n");
        }
    }

    fn end_body(&mut self, out: &mut impl Sink) {
        if let Some(spool) = self.spool.take() {
            let (head, body) = spool.bytes.split_at(spool.head_len);
            out.put(head);
            let mut line = [0u8; 40];
            let n = {
                use std::io::Write;
                let mut at = &mut line[..];
                let _ = write!(at, "Content-Length: {}\r\n\r\n", body.len());
                40 - at.len()
            };
            out.put(&line[..n]);
            out.put(body);
        } else if self.chunked {
            out.put(ChunkEncoder::LAST);
        }
    }

    fn decode(&mut self, input: &[u8], _out: &mut impl Sink) -> Result<Decoded, ProtocolError> {
        match &mut self.phase {
            Phase::Head => {
                let head = match parse_response(input, self.head_request) {
                    Ok(Some(h)) => h,
                    Ok(None) => {
                        return Ok(Decoded {
                            used: 0,
                            event: Event::Pending,
                        })
                    }
                    Err(e) => return Err(ProtocolError(e.reason.to_string())),
                };
                let used = head.len;
                if head.status == 101 {
                    let agreed = self.upgrade_sent.as_deref().is_some_and(|p| {
                        head.header("upgrade").is_some_and(|u| {
                            crate::http::trim(u).eq_ignore_ascii_case(p.as_bytes())
                        })
                    });
                    if !agreed {
                        return Err(ProtocolError(
                            "switched protocols without a matching Upgrade".into(),
                        ));
                    }
                    self.phase = Phase::Done;
                    return Ok(Decoded {
                        used,
                        event: Event::Head(head),
                    });
                }
                if head.status < 200 {
                    return Ok(Decoded {
                        used,
                        event: Event::Interim(head),
                    });
                }
                self.phase = Phase::Body {
                    body: BodyReader::new(head.framing),
                    reusable: self.keep && head.allows_reuse(),
                };
                Ok(Decoded {
                    used,
                    event: Event::Head(head),
                })
            }
            Phase::Body { body, reusable } => {
                let reusable = *reusable;
                if body.is_done() {
                    self.phase = Phase::Done;
                    return Ok(Decoded {
                        used: 0,
                        event: Event::End { reusable },
                    });
                }
                let (used, data) = body
                    .step(input)
                    .map_err(|e| ProtocolError(format!("response body: {e}")))?;
                let event = match used {
                    0 => Event::Pending,
                    _ => Event::Body(data),
                };
                Ok(Decoded { used, event })
            }
            Phase::Done => Ok(Decoded {
                used: 0,
                event: Event::End { reusable: false },
            }),
        }
    }

    fn eof(&mut self) -> Result<Event, ProtocolError> {
        match &mut self.phase {
            Phase::Head => Err(ProtocolError(
                "closed the connection without a response".into(),
            )),
            Phase::Body { body, .. } => {
                body.finish_on_eof()
                    .map_err(|e| ProtocolError(format!("response body: {e}")))?;
                self.phase = Phase::Done;
                Ok(Event::End { reusable: false })
            }
            Phase::Done => Ok(Event::End { reusable: false }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::HttpFacts;
    use crate::config::ProxyVia;
    use crate::http::{parse_request, RequestHead};
    use crate::rules::env::Env;

    fn settings(upgrade: Option<&str>) -> Settings {
        Settings {
            host: "127.0.0.1:9001".into(),
            upgrade: upgrade.map(Into::into),
        }
    }

    /// Starts `codec` on `request` (keep-alive asked) and returns what it wrote.
    fn start(codec: &mut H1, head: &RequestHead, keep: bool) -> String {
        start_with(codec, head, keep, &Env::default())
    }

    fn start_with(codec: &mut H1, head: &RequestHead, keep: bool, env: &Env) -> String {
        let req = Outgoing {
            head,
            target: "/app/x",
            body_length: None,
            client: "10.1.2.3:5555".parse().unwrap(),
            local: "127.0.0.1:80".parse().unwrap(),
            https: false,
            server_name: "front.test",
            env,
            keep,
            http: HttpFacts {
                front_port: 80,
                preserve_host: false,
                add_headers: false,
                via: ProxyVia::Off,
                forward_expect: false,
                upgrade: crate::proxy::forward::requested_upgrade(head)
                    .as_deref()
                    .map(|_| "websocket"),
            },
        };
        let mut out = Vec::new();
        codec.start(&req, &mut out);
        String::from_utf8(out).unwrap()
    }

    fn request(text: &str) -> RequestHead {
        parse_request(text.as_bytes()).unwrap().unwrap()
    }

    /// Feeds `input` to the codec until it wants more; returns the events
    /// (bodies as text) and how much was used.
    fn feed(codec: &mut H1, input: &[u8]) -> Result<(Vec<String>, usize), ProtocolError> {
        let mut events = Vec::new();
        let mut at = 0;
        loop {
            let d = codec.decode(&input[at..], &mut Vec::new())?;
            let event = match d.event {
                Event::Pending => break,
                Event::Interim(h) => format!("interim {}", h.status),
                Event::Head(h) => format!("head {}", h.status),
                Event::Body(r) => format!("body {}", String::from_utf8_lossy(&input[at..][r])),
                Event::End { reusable } => format!("end reusable={reusable}"),
            };
            at += d.used;
            let end = event.starts_with("end");
            events.push(event);
            if end || event_is_switch(&events) {
                break;
            }
        }
        Ok((events, at))
    }

    fn event_is_switch(events: &[String]) -> bool {
        events.last().is_some_and(|e| e == "head 101")
    }

    #[test]
    fn chunked_request_body_is_rechunked_and_ended() {
        let head = request("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
        let mut c = settings(None).codec();
        let sent = start(&mut c, &head, true);
        assert!(
            sent.starts_with("POST /app/x HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n"),
            "{sent}"
        );
        assert!(sent.contains("Transfer-Encoding: chunked\r\n"), "{sent}");
        assert!(sent.ends_with("Connection: Keep-Alive\r\n\r\n"), "{sent}");
        let mut out = Vec::new();
        c.body(b"hello", &mut out);
        c.body(b"", &mut out);
        c.end_body(&mut out);
        assert_eq!(out, b"5\r\nhello\r\n0\r\n\r\n");
    }

    #[test]
    fn sendcl_and_http10_spool_a_chunked_body_and_send_its_length() {
        let head = request("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n");
        // (switches, request line, Connection line)
        let table: &[(&[&str], &str, &str)] = &[
            (&["proxy-sendcl"], "HTTP/1.1", "Connection: Keep-Alive\r\n"),
            (&["force-proxy-request-1.0"], "HTTP/1.0", ""),
        ];
        for (switches, version, connection) in table {
            let mut env = Env::default();
            for s in *switches {
                env.set(s, "1");
            }
            let mut c = settings(None).codec();
            assert_eq!(start_with(&mut c, &head, true, &env), "", "{switches:?}");
            let mut out = Vec::new();
            c.body(b"hello ", &mut out);
            c.body(b"world", &mut out);
            assert!(out.is_empty(), "{switches:?}");
            c.end_body(&mut out);
            let sent = String::from_utf8(out).unwrap();
            assert!(
                sent.starts_with(&format!("POST /app/x {version}\r\n")),
                "{sent}"
            );
            assert!(
                sent.ends_with(&format!(
                    "{connection}Content-Length: 11\r\n\r\nhello world"
                )),
                "{sent}"
            );
            assert!(!sent.contains("chunked"), "{sent}");
        }
        // proxy-sendcl with proxy-sendchunked: as if neither were set.
        let mut env = Env::default();
        env.set("proxy-sendcl", "1");
        env.set("proxy-sendchunked", "1");
        let mut c = settings(None).codec();
        let sent = start_with(&mut c, &head, true, &env);
        assert!(sent.contains("Transfer-Encoding: chunked\r\n"), "{sent}");
    }

    #[test]
    fn length_request_body_goes_as_is() {
        let head = request("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n");
        let mut c = settings(None).codec();
        let sent = start(&mut c, &head, false);
        assert!(sent.contains("Content-Length: 5\r\n"), "{sent}");
        assert!(sent.ends_with("Connection: close\r\n\r\n"), "{sent}");
        let mut out = Vec::new();
        c.body(b"hello", &mut out);
        c.end_body(&mut out);
        assert_eq!(out, b"hello");
    }

    #[test]
    fn responses_decode_to_events() {
        let get = request("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
        let head_req = request("HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n");
        // (request, keep asked, member's bytes, events)
        let table: &[(&RequestHead, bool, &str, &[&str])] = &[
            (
                &get,
                true,
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
                &["head 200", "body hi", "end reusable=true"],
            ),
            (
                &get,
                false,
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
                &["head 200", "body hi", "end reusable=false"],
            ),
            (
                &get,
                true,
                "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
                &["interim 100", "head 204", "end reusable=true"],
            ),
            (
                &get,
                true,
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
                &["head 200", "body hi", "body ", "end reusable=true"],
            ),
            (
                &get,
                true,
                "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx",
                &["head 200", "body x", "end reusable=false"],
            ),
            (
                &get,
                true,
                "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx",
                &["head 200", "body x", "end reusable=false"],
            ),
            (
                &head_req,
                true,
                "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
                &["head 200", "end reusable=true"],
            ),
        ];
        for (req, keep, bytes, want) in table {
            let mut c = settings(None).codec();
            start(&mut c, req, *keep);
            let (events, used) = feed(&mut c, bytes.as_bytes()).unwrap();
            assert_eq!(events, *want, "{bytes:?}");
            assert_eq!(used, bytes.len(), "{bytes:?}");
        }
    }

    #[test]
    fn a_close_delimited_body_ends_at_eof_and_a_short_one_fails() {
        let get = request("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
        let mut c = settings(None).codec();
        start(&mut c, &get, true);
        let (events, _) = feed(&mut c, b"HTTP/1.1 200 OK\r\n\r\nabc").unwrap();
        assert_eq!(events, ["head 200", "body abc"]);
        assert!(matches!(c.eof(), Ok(Event::End { reusable: false })));

        let mut c = settings(None).codec();
        start(&mut c, &get, true);
        feed(&mut c, b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc").unwrap();
        let e = c.eof().unwrap_err();
        assert_eq!(e.0, "response body: body ended early");

        let mut c = settings(None).codec();
        start(&mut c, &get, true);
        let e = c.eof().unwrap_err();
        assert_eq!(e.0, "closed the connection without a response");
    }

    #[test]
    fn switching_protocols_needs_the_upgrade_asked() {
        let ws = request(
            "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
        );
        let switch = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\n\r\nframes";
        // The member accepts websocket: asked, and its 101 is a head.
        let mut c = settings(Some("websocket")).codec();
        let sent = start(&mut c, &ws, true);
        assert!(
            sent.ends_with("Upgrade: websocket\r\nConnection: Upgrade\r\n\r\n"),
            "{sent}"
        );
        let (events, used) = feed(&mut c, switch).unwrap();
        assert_eq!(events, ["head 101"]);
        assert_eq!(&switch[used..], b"frames");
        // Not asked (no upgrade= on the member): a 101 breaks the protocol.
        let mut c = settings(None).codec();
        let sent = start(&mut c, &ws, true);
        assert!(!sent.contains("Upgrade"), "{sent}");
        let e = feed(&mut c, switch).unwrap_err();
        assert_eq!(e.0, "switched protocols without a matching Upgrade");
        // Asked, but the member switches to something else.
        let mut c = settings(Some("*")).codec();
        start(&mut c, &ws, true);
        let other = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n";
        assert!(feed(&mut c, other).is_err());
    }

    #[test]
    fn a_malformed_head_is_a_protocol_error() {
        let get = request("GET /x HTTP/1.1\r\nHost: a\r\n\r\n");
        let mut c = settings(None).codec();
        start(&mut c, &get, true);
        let bad = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(feed(&mut c, bad).is_err());
    }
}
