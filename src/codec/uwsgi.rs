//! uwsgi members (`uwsgi://`, as mod_proxy_uwsgi): a 4-byte packet header
//! (modifier1 0 — a WSGI request —, the size of the variables as 16-bit
//! little-endian, modifier2 0), the CGI variables as length-prefixed pairs
//! (16-bit little-endian lengths), then the body. The answer is plain HTTP
//! (uWSGI writes a status line and headers), read as any member's head; its
//! body runs to its Content-Length, through its chunks, or to the
//! connection's end. A connection carries one request.
//!
//! The variables must fit in 65535 bytes (the size field); a request whose
//! variables do not is refused before anything is sent
//! ([`UwsgiCodec::oversized`]: the exchange answers 431, the request being at
//! fault). Like SCGI, a body needs a known length (httpd: 411).

use super::cgi::{self, Dialect, Vars};
use super::{Decoded, Event, MemberCodec, Outgoing, ProtocolError, Sink};
use crate::http::{BodyReader, Framing};

#[derive(Debug)]
pub struct UwsgiCodec {
    vars: Vars,
    scratch: Vec<u8>,
    head_request: bool,
    body: Option<BodyReader>,
    oversized: bool,
}

impl Default for UwsgiCodec {
    fn default() -> Self {
        UwsgiCodec::new()
    }
}

impl UwsgiCodec {
    /// A request body must have a known length (httpd: 411 Length Required).
    pub const NEEDS_LENGTH: bool = true;

    pub fn new() -> UwsgiCodec {
        UwsgiCodec {
            vars: Vars::default(),
            scratch: Vec::new(),
            head_request: false,
            body: None,
            oversized: false,
        }
    }

    /// The variables of the last request did not fit a uwsgi packet: nothing
    /// was sent.
    pub fn oversized(&self) -> bool {
        self.oversized
    }

    pub fn vars(&self) -> &Vars {
        &self.vars
    }
}

impl MemberCodec for UwsgiCodec {
    fn start(&mut self, req: &Outgoing<'_>, out: &mut impl Sink) {
        self.head_request = req.head.is_head();
        self.body = None;
        let site = req.cgi.expect("a uwsgi request carries its CGI facts");
        cgi::build(req, site, Dialect::Uwsgi, &mut self.vars);
        self.scratch.clear();
        self.oversized = false;
        for (name, value) in self.vars.iter() {
            if name.len() > usize::from(u16::MAX) || value.len() > usize::from(u16::MAX) {
                self.oversized = true;
                break;
            }
            self.scratch
                .extend_from_slice(&(name.len() as u16).to_le_bytes());
            self.scratch.extend_from_slice(name.as_bytes());
            self.scratch
                .extend_from_slice(&(value.len() as u16).to_le_bytes());
            self.scratch.extend_from_slice(value);
        }
        if self.oversized || self.scratch.len() > usize::from(u16::MAX) {
            self.oversized = true;
            return;
        }
        let [lo, hi] = (self.scratch.len() as u16).to_le_bytes();
        out.put(&[0, lo, hi, 0]);
        out.put(&self.scratch);
    }

    fn refused(&self) -> Option<super::Refusal> {
        self.oversized().then_some(super::Refusal::FieldsTooLarge)
    }

    fn body_room(&self) -> usize {
        usize::MAX
    }

    fn body(&mut self, data: &[u8], out: &mut impl Sink) {
        if !self.oversized {
            out.put(data);
        }
    }

    fn end_body(&mut self, _out: &mut impl Sink) {}

    fn decode(&mut self, input: &[u8], _out: &mut impl Sink) -> Result<Decoded, ProtocolError> {
        let Some(reader) = &mut self.body else {
            let head = crate::http::parse_response(input, self.head_request)
                .map_err(|e| ProtocolError(format!("the uwsgi member's answer: {}", e.reason)))?;
            let Some(mut head) = head else {
                return Ok(Decoded {
                    used: 0,
                    event: Event::Pending,
                });
            };
            let used = head.len;
            if head.status < 200 {
                return Ok(Decoded {
                    used,
                    event: Event::Interim(head),
                });
            }
            // The body reaches the exchange freed of its framing: a chunked
            // one is walked here and announced as running to its end.
            if head.framing == Framing::Chunked {
                head.headers.retain(|h| !h.is("transfer-encoding"));
                self.body = Some(BodyReader::new(Framing::Chunked));
                head.framing = Framing::Close;
            } else {
                self.body = Some(BodyReader::new(head.framing));
            }
            return Ok(Decoded {
                used,
                event: Event::Head(head),
            });
        };
        if reader.is_done() {
            return Ok(Decoded {
                used: 0,
                event: Event::End { reusable: false },
            });
        }
        let (used, payload) = reader
            .step(input)
            .map_err(|e| ProtocolError(format!("the uwsgi member's chunked body: {e:?}")))?;
        let event = if !payload.is_empty() {
            Event::Body(payload)
        } else if reader.is_done() {
            Event::End { reusable: false }
        } else {
            Event::Pending
        };
        Ok(Decoded { used, event })
    }

    fn eof(&mut self) -> Result<Event, ProtocolError> {
        match &mut self.body {
            Some(reader) => {
                reader.finish_on_eof().map_err(|_| {
                    ProtocolError("the uwsgi member closed the connection inside the body".into())
                })?;
                Ok(Event::End { reusable: false })
            }
            None => Err(ProtocolError(
                "the uwsgi member closed the connection before its response head".into(),
            )),
        }
    }
}

#[cfg(test)]
#[path = "uwsgi_tests.rs"]
mod tests;
