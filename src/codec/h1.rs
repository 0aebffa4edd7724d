//! The HTTP/1.1 member codec (`http://`, `https://`, `ws://`, `wss://`, as
//! mod_proxy_http and mod_proxy_wstunnel): the request head as reference §8.2
//! writes it (`crate::proxy::forward::request_head`), the body in the client's
//! framing (chunks re-made, lengths kept), and the member's response parsed
//! with the same scrutiny as a client's request (reference §8.5).
//!
//! What only HTTP needs travels in [`Outgoing::http`] (per request: the
//! front's ProxyPreserveHost, ProxyVia, X-Forwarded-*, Expect, the client's
//! Upgrade) and in [`Settings`] (per member: its Host value, its `upgrade=`).

use std::sync::Arc;

use super::{Decoded, Event, MemberCodec, Outgoing, ProtocolError, Sink};
use crate::http::{parse_response, BodyReader, ChunkEncoder, Framing};
use crate::proxy::forward::{self, RequestContext};

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
        forward::upgrade_allowed(list, proto).then_some(proto)
    }
}

impl MemberCodec for H1 {
    fn start(&mut self, req: &Outgoing<'_>, out: &mut impl Sink) {
        let upgrade = self.upgrade(req);
        self.phase = Phase::Head;
        self.head_request = req.head.is_head();
        if let Some(s) = self.upgrade_sent.take() {
            crate::recycle::give_string(s);
        }
        self.upgrade_sent = upgrade.map(crate::recycle::string_from);
        self.keep = req.keep && upgrade.is_none();
        let framing = req.head.framing;
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
            forward_expect: http.forward_expect,
            upgrade,
        };
        crate::recycle::with_bytes(|head| {
            forward::request_head(head, req.head, req.target, framing, &rctx);
            out.put(head);
        });
    }

    fn body_room(&self) -> usize {
        usize::MAX
    }

    fn body(&mut self, data: &[u8], out: &mut impl Sink) {
        if !self.chunked {
            out.put(data);
        } else if !data.is_empty() {
            let mut size = [0u8; 18];
            out.put(ChunkEncoder::head(&mut size, data.len()));
            out.put(data);
            out.put(b"\r\n");
        }
    }

    fn end_body(&mut self, out: &mut impl Sink) {
        if self.chunked {
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
