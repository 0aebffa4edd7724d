//! SCGI members (`scgi://`, as mod_proxy_scgi): the request is a netstring
//! of the CGI variables (`CONTENT_LENGTH` first, `SCGI=1`), then the body;
//! the answer is CGI output (`Status:` and headers, then the body), which
//! ends when the member closes the connection. A connection carries one
//! request and is never reused.
//!
//! SCGI has no way to send a body of unknown length: the exchange answers a
//! chunked request with 411, as httpd does ([`ScgiCodec::NEEDS_LENGTH`]).

use super::cgi::{self, Dialect, Vars};
use super::{Decoded, Event, MemberCodec, Outgoing, ProtocolError, Sink};

#[derive(Debug, Default)]
pub struct ScgiCodec {
    vars: Vars,
    scratch: Vec<u8>,
    head_done: bool,
    head_request: bool,
    drop_body: bool,
}

impl ScgiCodec {
    /// A request body must have a known length (httpd: 411 Length Required).
    pub const NEEDS_LENGTH: bool = true;

    pub fn new() -> ScgiCodec {
        ScgiCodec::default()
    }

    /// The variables of the last request.
    pub fn vars(&self) -> &Vars {
        &self.vars
    }
}

impl MemberCodec for ScgiCodec {
    fn start(&mut self, req: &Outgoing<'_>, out: &mut impl Sink) {
        self.head_done = false;
        self.drop_body = false;
        self.head_request = req.head.is_head();
        let site = req.cgi.expect("an SCGI request carries its CGI facts");
        cgi::build(req, site, Dialect::Scgi, &mut self.vars);
        self.scratch.clear();
        for (name, value) in self.vars.iter() {
            self.scratch.extend_from_slice(name.as_bytes());
            self.scratch.push(0);
            // A NUL inside a value would end it early: httpd sends it cut there.
            let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
            self.scratch.extend_from_slice(&value[..end]);
            self.scratch.push(0);
        }
        out.put(self.scratch.len().to_string().as_bytes());
        out.put(b":");
        out.put(&self.scratch);
        out.put(b",");
    }

    fn body_room(&self) -> usize {
        usize::MAX
    }

    fn body(&mut self, data: &[u8], out: &mut impl Sink) {
        out.put(data);
    }

    fn end_body(&mut self, _out: &mut impl Sink) {}

    fn decode(&mut self, input: &[u8], _out: &mut impl Sink) -> Result<Decoded, ProtocolError> {
        decode_cgi_stream(
            input,
            self.head_request,
            &mut self.head_done,
            &mut self.drop_body,
        )
    }

    fn eof(&mut self) -> Result<Event, ProtocolError> {
        if self.head_done {
            Ok(Event::End { reusable: false })
        } else {
            Err(ProtocolError(
                "the SCGI member closed the connection before its response head".into(),
            ))
        }
    }
}

/// A CGI answer that runs to the connection's end: the head once complete
/// (input is kept, unused, until then), then every byte as body.
fn decode_cgi_stream(
    input: &[u8],
    head_request: bool,
    head_done: &mut bool,
    drop_body: &mut bool,
) -> Result<Decoded, ProtocolError> {
    if *head_done {
        let event = if input.is_empty() || *drop_body {
            Event::Pending
        } else {
            Event::Body(0..input.len())
        };
        return Ok(Decoded {
            used: input.len(),
            event,
        });
    }
    match cgi::parse_head(input, head_request)? {
        Some(head) => {
            *head_done = true;
            *drop_body = head.framing == crate::http::Framing::None;
            Ok(Decoded {
                used: head.len,
                event: Event::Head(head),
            })
        }
        None => Ok(Decoded {
            used: 0,
            event: Event::Pending,
        }),
    }
}

#[cfg(test)]
#[path = "scgi_tests.rs"]
mod tests;
