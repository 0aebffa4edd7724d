//! AJP 1.3 members (`ajp://`), as httpd's mod_proxy_ajp speaks to them.
//!
//! A request is one FORWARD_REQUEST packet (method code, protocol, URI, the
//! client's address, the server name and port, TLS flag, headers with coded
//! names, then attributes: secret, query string, stored method, TLS facts,
//! `AJP_*` environment variables, the client port and local address). A body
//! goes in body packets: the first one unsolicited when the length is known and
//! non-zero, each later one only when the member asks with GET_BODY_CHUNK, an
//! empty one when it asks after the body ended. The member answers with
//! SEND_HEADERS, SEND_BODY_CHUNK packets and END_RESPONSE, whose flag says
//! whether the connection may carry another request.
//!
//! What httpd sends was captured from httpd-oracle with a recording AJP
//! member (see the tests): the client's headers as received (hop-by-hop ones
//! too), the Host header's name as server name, the local port as server port,
//! a null remote host (HostnameLookups Off), an empty query string attribute
//! for a bare `?`, and `AJP_REMOTE_PORT` / `AJP_LOCAL_ADDR` request attributes.
//!
//! Nothing a member sends can make this code panic or loop: every packet is
//! checked against `packetsize` before it is read, every field read is bounded
//! by its packet, and each turn of the decode loop consumes at least one packet
//! header.

mod wire;

#[cfg(test)]
mod tests;

use std::io::Write as _;
use std::sync::Arc;

use super::{Decoded, Event, MemberCodec, Outgoing, ProtocolError, Sink};
use crate::http::{Framing, ResponseHead};

pub use wire::{CPING_PACKET, CPONG_PACKET, DEFAULT_PACKET_SIZE, MAX_PACKET_SIZE};

/// An AJP member's settings, from its parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The largest packet either side may send, header included: httpd's
    /// `iobuffersize=` (else `ProxyIOBufferSize`) through [`packet_size`].
    pub packet_size: usize,
    /// `secret=`: sent with every request; Tomcat refuses requests without
    /// the secret its connector requires.
    pub secret: Option<Arc<str>>,
    /// `ping=`: a CPING goes before each request, and the member must answer
    /// CPONG before its response (within the member's timeout: slotgate has
    /// no separate time limit for it).
    pub ping: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            packet_size: DEFAULT_PACKET_SIZE,
            secret: None,
            ping: false,
        }
    }
}

impl Settings {
    /// A fresh codec for one member connection.
    pub fn codec(&self) -> Ajp {
        Ajp::new(self)
    }
}

/// The AJP packet size of a member whose I/O buffer size (`iobuffersize=`,
/// else `ProxyIOBufferSize`) is `io_buffer_size`: rounded up to a multiple of
/// 1024, then held between 8192 and 65536. httpd-oracle: `iobuffersize=512`
/// gave 8192-byte packets, `9000` gave 9216, `20000` gave 20480 (also as
/// `ProxyIOBufferSize 20000`), `100000` gave 65536. httpd has no `packetsize=`
/// parameter (Tomcat's connector calls its side `packetSize`).
pub fn packet_size(io_buffer_size: usize) -> usize {
    io_buffer_size
        .div_ceil(1024)
        .saturating_mul(1024)
        .clamp(DEFAULT_PACKET_SIZE, MAX_PACKET_SIZE)
}

/// Where decoding stands in the member's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rx {
    /// No request started on this codec.
    Idle,
    /// The request head did not fit in a packet: nothing was sent.
    Refused { size: usize },
    /// Expecting the CPONG answering the CPING sent before the request.
    Cpong,
    /// Expecting a packet header.
    Packet,
    /// Inside a SEND_BODY_CHUNK: `left` payload bytes to pass on, then `pad`
    /// bytes that end the packet (Tomcat sends one NUL).
    Data { left: usize, pad: usize },
    /// END_RESPONSE seen.
    Done,
}

/// The request body's side: what the member may be sent now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tx {
    /// May send one body packet of up to this many bytes; `asked`: the member
    /// asked for it (GET_BODY_CHUNK), rather than the unsolicited first chunk.
    Room { bytes: usize, asked: bool },
    /// Waiting for the member to ask.
    Wait,
    /// The client's body is complete; GET_BODY_CHUNK gets an empty packet.
    Ended,
}

/// The AJP 1.3 codec of one member connection.
#[derive(Debug)]
pub struct Ajp {
    packet_size: usize,
    secret: Option<Arc<str>>,
    ping: bool,
    rx: Rx,
    tx: Tx,
    /// The request was HEAD: no body in the response.
    head_request: bool,
    /// SEND_HEADERS arrived for this request.
    head_seen: bool,
    /// What SEND_HEADERS said: the body's length, if any.
    expect: Framing,
    delivered: u64,
    /// Where packets are built before they are queued (kept across requests,
    /// so a request allocates nothing once it has grown).
    scratch: Vec<u8>,
}

impl Ajp {
    pub fn new(settings: &Settings) -> Ajp {
        Ajp {
            packet_size: settings.packet_size,
            secret: settings.secret.clone(),
            ping: settings.ping,
            rx: Rx::Idle,
            tx: Tx::Ended,
            head_request: false,
            head_seen: false,
            expect: Framing::None,
            delivered: 0,
            scratch: Vec::new(),
        }
    }

    /// The most body data one packet carries.
    fn max_chunk(&self) -> usize {
        self.packet_size - wire::BODY_HEAD
    }

    fn error(&self, what: impl std::fmt::Display) -> ProtocolError {
        ProtocolError(format!("AJP member: {what}"))
    }

    /// Builds the FORWARD_REQUEST packet into `scratch`; Err(size) when it is
    /// larger than `packetsize`.
    fn forward_request(&mut self, req: &Outgoing<'_>) -> Result<(), usize> {
        self.scratch.clear();
        let mut w = wire::PacketWriter::new(&mut self.scratch);
        w.byte(wire::FORWARD_REQUEST);
        let code = wire::method_code(&req.head.method);
        w.byte(code);
        w.string_with(|b| {
            let _ = write!(b, "HTTP/1.{}", req.head.minor);
        });
        let (path, query) = match req.target.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (req.target, None),
        };
        w.string(path.as_bytes());
        w.string_with(|b| {
            let _ = write!(b, "{}", req.client.ip());
        });
        // Remote host: null, as httpd with HostnameLookups Off.
        w.null_string();
        w.string_with(|b| server_name(req, b));
        w.int(req.local.port());
        w.byte(u8::from(req.https));
        let count = req.head.headers.len().min(u16::MAX as usize);
        w.int(count as u16);
        for h in &req.head.headers[..count] {
            match wire::request_header_code(&h.name) {
                Some(code) => w.int(code),
                None => w.string(h.name.as_bytes()),
            }
            w.string(&h.value);
        }
        if let Some(secret) = &self.secret {
            w.byte(wire::ATTR_SECRET);
            w.string(secret.as_bytes());
        }
        if let Some(q) = query {
            w.byte(wire::ATTR_QUERY_STRING);
            w.string(q.as_bytes());
        }
        if code == wire::METHOD_STORED {
            w.byte(wire::ATTR_STORED_METHOD);
            w.string(req.head.method.as_bytes());
        }
        attributes_from_env(req, &mut w);
        w.byte(wire::ATTR_REQ_ATTRIBUTE);
        w.string(b"AJP_REMOTE_PORT");
        w.string_with(|b| {
            let _ = write!(b, "{}", req.client.port());
        });
        w.byte(wire::ATTR_REQ_ATTRIBUTE);
        w.string(b"AJP_LOCAL_ADDR");
        w.string_with(|b| {
            let _ = write!(b, "{}", req.local.ip());
        });
        w.byte(wire::ATTR_END);
        w.finish(self.packet_size).map(|_| ())
    }

    /// Handles GET_BODY_CHUNK: the member wants up to `requested` bytes. A
    /// member asks once and waits for the answer (Tomcat does); asking again
    /// before it came is an error. Asking before the unsolicited first chunk
    /// went makes that chunk the answer.
    fn asked(&mut self, requested: usize, out: &mut impl Sink) -> Result<(), ProtocolError> {
        match self.tx {
            Tx::Ended => out.put(&wire::EMPTY_BODY),
            Tx::Room { asked: true, .. } => {
                return Err(self.error("GET_BODY_CHUNK while the last one is unanswered"))
            }
            Tx::Room { asked: false, .. } | Tx::Wait => {
                self.tx = Tx::Room {
                    bytes: requested.min(self.max_chunk()),
                    asked: true,
                }
            }
        }
        Ok(())
    }

    /// Reads SEND_HEADERS' payload (after the prefix code) into a head.
    fn response_head(&mut self, payload: &[u8]) -> Result<ResponseHead, ProtocolError> {
        let short = |_| self.error("SEND_HEADERS ends inside a field");
        let mut r = wire::PacketReader::new(payload);
        let status = r.int().map_err(short)?;
        if !(200..=999).contains(&status) {
            return Err(self.error(format_args!(
                "status {status} in SEND_HEADERS (AJP carries final responses only)"
            )));
        }
        let reason = r.string().map_err(short)?.unwrap_or_default();
        let count = r.int().map_err(short)?;
        let mut head = ResponseHead {
            status,
            reason: crate::recycle::string_from(std::str::from_utf8(reason).unwrap_or("")),
            minor: 1,
            headers: crate::http::spare_header_list(),
            len: payload.len() + wire::HEADER + 1,
            framing: Framing::None,
        };
        let mut length: Option<u64> = None;
        for _ in 0..count {
            let name: &str = if r.peek() == Some(0xA0) {
                let code = r.int().map_err(short)?;
                let i = (code & 0xFF) as usize;
                match i.checked_sub(1).and_then(|i| wire::RESPONSE_HEADERS.get(i)) {
                    Some(name) => name,
                    None => {
                        return Err(
                            self.error(format_args!("unknown response header code {code:#06x}"))
                        )
                    }
                }
            } else {
                let raw = r
                    .string()
                    .map_err(short)?
                    .ok_or_else(|| self.error("a null header name"))?;
                if raw.is_empty() || !raw.iter().all(|&b| is_tchar(b)) {
                    return Err(self.error("a header name that is not a token"));
                }
                // Checked above: all ASCII.
                std::str::from_utf8(raw).unwrap_or("")
            };
            let value = r.string().map_err(short)?.unwrap_or_default();
            if value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0) {
                return Err(
                    self.error(format_args!("header {name} has a value with CR, LF or NUL"))
                );
            }
            if name.eq_ignore_ascii_case("content-length") {
                let n = parse_length(value)
                    .ok_or_else(|| self.error("a Content-Length that is not a number"))?;
                if length.is_some_and(|l| l != n) {
                    return Err(self.error("two different Content-Length headers"));
                }
                length = Some(n);
            }
            head.headers.push(crate::http::spare_header(name, value));
        }
        let bodiless = self.head_request || status == 204 || status == 304;
        head.framing = match length {
            _ if bodiless => Framing::None,
            Some(0) => Framing::None,
            Some(n) => Framing::Length(n),
            None => Framing::Close,
        };
        Ok(head)
    }

    /// The response ended: check the body against its length.
    fn end(&mut self, reuse: bool) -> Result<Event, ProtocolError> {
        if let Framing::Length(n) = self.expect {
            if self.delivered != n {
                return Err(self.error(format_args!(
                    "END_RESPONSE after {} body bytes, Content-Length said {n}",
                    self.delivered
                )));
            }
        }
        self.rx = Rx::Done;
        // A GET_BODY_CHUNK left unanswered, or a body packet we could still
        // send, would be read as the next request: not reusable then.
        let clean = matches!(self.tx, Tx::Ended | Tx::Wait)
            || matches!(self.tx, Tx::Room { asked: false, .. });
        let reusable = reuse && clean;
        self.tx = Tx::Ended;
        Ok(Event::End { reusable })
    }
}

/// `Host`'s name (lowercased, without port) or else the virtual host's
/// ServerName: httpd's server name with UseCanonicalName Off.
fn server_name(req: &Outgoing<'_>, b: &mut Vec<u8>) {
    let host = req.head.header("host").filter(|h| !h.is_empty());
    match host {
        Some(h) => {
            let name = if h.first() == Some(&b'[') {
                h.iter().position(|&c| c == b']').map_or(h, |i| &h[..=i])
            } else {
                h.iter().position(|&c| c == b':').map_or(h, |i| &h[..i])
            };
            b.extend(name.iter().map(u8::to_ascii_lowercase));
        }
        None => b.extend_from_slice(req.server_name.as_bytes()),
    }
}

/// Attributes the request's environment gives: TLS facts when the client came
/// over TLS, `REMOTE_USER` / `AUTH_TYPE`, and every `AJP_*` variable under its
/// name without the prefix (mod_proxy_ajp's documented environment variables).
fn attributes_from_env(req: &Outgoing<'_>, w: &mut wire::PacketWriter<'_>) {
    let env = req.env;
    if let Some(user) = env.get("REMOTE_USER") {
        w.byte(wire::ATTR_REMOTE_USER);
        w.string(user.as_bytes());
    }
    if let Some(auth) = env.get("AUTH_TYPE") {
        w.byte(wire::ATTR_AUTH_TYPE);
        w.string(auth.as_bytes());
    }
    if req.https {
        for (name, code) in [
            ("SSL_CLIENT_CERT", wire::ATTR_SSL_CERT),
            ("SSL_CIPHER", wire::ATTR_SSL_CIPHER),
            ("SSL_SESSION_ID", wire::ATTR_SSL_SESSION),
        ] {
            if let Some(v) = env.get(name) {
                w.byte(code);
                w.string(v.as_bytes());
            }
        }
        if let Some(bits) = env
            .get("SSL_CIPHER_USEKEYSIZE")
            .and_then(|v| v.parse::<u16>().ok())
        {
            w.byte(wire::ATTR_SSL_KEY_SIZE);
            w.int(bits);
        }
    }
    for (name, value) in env.iter() {
        let Some(key) = name
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case("AJP_"))
            .map(|_| &name[4..])
        else {
            continue;
        };
        if key.is_empty() {
            continue;
        }
        w.byte(wire::ATTR_REQ_ATTRIBUTE);
        w.string(key.as_bytes());
        w.string(value.as_bytes());
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn parse_length(v: &[u8]) -> Option<u64> {
    let v = crate::http::trim(v);
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

impl MemberCodec for Ajp {
    fn start(&mut self, req: &Outgoing<'_>, out: &mut impl Sink) {
        self.head_request = req.head.is_head();
        self.head_seen = false;
        self.expect = Framing::None;
        self.delivered = 0;
        if let Err(size) = self.forward_request(req) {
            self.rx = Rx::Refused { size };
            self.tx = Tx::Ended;
            return;
        }
        if self.ping {
            out.put(&CPING_PACKET);
        }
        out.put(&self.scratch);
        self.rx = if self.ping { Rx::Cpong } else { Rx::Packet };
        // The first chunk of a body of known length goes unsolicited; a body
        // of unknown length (chunked) waits for GET_BODY_CHUNK, as httpd does
        // and as Tomcat expects.
        self.tx = match req.body_length {
            Some(0) => Tx::Ended,
            Some(n) => Tx::Room {
                bytes: (n.min(self.max_chunk() as u64)) as usize,
                asked: false,
            },
            None => Tx::Wait,
        };
    }

    fn body_room(&self) -> usize {
        match self.tx {
            Tx::Room { bytes, .. } if self.rx != Rx::Done => bytes,
            _ => 0,
        }
    }

    /// One call sends one body packet; `data` must not exceed
    /// [`body_room`](MemberCodec::body_room) (it is cut there otherwise, and
    /// the rest must be offered again).
    fn body(&mut self, data: &[u8], out: &mut impl Sink) {
        let room = self.body_room();
        debug_assert!(data.len() <= room, "AJP body: {} > room {room}", data.len());
        let data = &data[..data.len().min(room)];
        if data.is_empty() {
            return;
        }
        let mut head = [0x12, 0x34, 0, 0, 0, 0];
        head[2..4].copy_from_slice(&((data.len() + 2) as u16).to_be_bytes());
        head[4..6].copy_from_slice(&(data.len() as u16).to_be_bytes());
        out.put(&head);
        out.put(data);
        self.tx = Tx::Wait;
    }

    fn end_body(&mut self, out: &mut impl Sink) {
        if let Tx::Room { asked: true, .. } = self.tx {
            out.put(&wire::EMPTY_BODY);
        }
        self.tx = Tx::Ended;
    }

    fn decode(&mut self, input: &[u8], out: &mut impl Sink) -> Result<Decoded, ProtocolError> {
        let mut used = 0;
        loop {
            let rest = &input[used..];
            let pending = Ok(Decoded {
                used,
                event: Event::Pending,
            });
            match self.rx {
                Rx::Idle => return Err(self.error("sent bytes before any request")),
                Rx::Refused { .. } => {
                    return Err(ProtocolError(
                        self.refused().map(|r| r.to_string()).unwrap_or_default(),
                    ))
                }
                Rx::Done => return Err(self.error("sent bytes after END_RESPONSE")),
                Rx::Cpong => match read_cpong(rest)? {
                    Some(n) => {
                        used += n;
                        self.rx = Rx::Packet;
                    }
                    None => return pending,
                },
                Rx::Data { left, pad } if left > 0 => {
                    if rest.is_empty() {
                        return pending;
                    }
                    let n = left.min(rest.len());
                    self.rx = Rx::Data {
                        left: left - n,
                        pad,
                    };
                    if self.expect == Framing::None {
                        // HEAD, 204, 304: a body is dropped.
                        used += n;
                        continue;
                    }
                    self.delivered += n as u64;
                    if let Framing::Length(max) = self.expect {
                        if self.delivered > max {
                            return Err(self
                                .error(format_args!("more body than its Content-Length ({max})")));
                        }
                    }
                    return Ok(Decoded {
                        used: used + n,
                        event: Event::Body(used..used + n),
                    });
                }
                Rx::Data { pad, .. } => {
                    if pad == 0 {
                        self.rx = Rx::Packet;
                        continue;
                    }
                    let n = pad.min(rest.len());
                    if n == 0 {
                        return pending;
                    }
                    used += n;
                    self.rx = Rx::Data {
                        left: 0,
                        pad: pad - n,
                    };
                }
                Rx::Packet => {
                    if rest.len() < 2 {
                        return pending;
                    }
                    if rest[..2] != wire::FROM_MEMBER {
                        return Err(self.error(format_args!(
                            "bad packet magic {:02x}{:02x} (expected 'AB')",
                            rest[0], rest[1]
                        )));
                    }
                    if rest.len() < wire::HEADER {
                        return pending;
                    }
                    let len = u16::from_be_bytes([rest[2], rest[3]]) as usize;
                    if len == 0 {
                        return Err(self.error("an empty packet"));
                    }
                    if len + wire::HEADER > self.packet_size {
                        return Err(self.error(format_args!(
                            "a packet of {} bytes, larger than packetsize={}",
                            len + wire::HEADER,
                            self.packet_size
                        )));
                    }
                    let Some(&code) = rest.get(wire::HEADER) else {
                        return pending;
                    };
                    if code == wire::SEND_BODY_CHUNK {
                        if rest.len() < wire::HEADER + 3 {
                            return pending;
                        }
                        if len < 3 {
                            return Err(self.error("SEND_BODY_CHUNK without a length"));
                        }
                        if !self.head_seen {
                            return Err(self.error("SEND_BODY_CHUNK before SEND_HEADERS"));
                        }
                        let n = u16::from_be_bytes([rest[5], rest[6]]) as usize;
                        if n + 3 > len {
                            return Err(self.error(format_args!(
                                "SEND_BODY_CHUNK of {n} bytes in a {len}-byte packet"
                            )));
                        }
                        used += wire::HEADER + 3;
                        self.rx = Rx::Data {
                            left: n,
                            pad: len - 3 - n,
                        };
                        continue;
                    }
                    // Every other packet is read whole.
                    if rest.len() < wire::HEADER + len {
                        return pending;
                    }
                    let payload = &rest[wire::HEADER + 1..wire::HEADER + len];
                    used += wire::HEADER + len;
                    match code {
                        wire::SEND_HEADERS => {
                            if self.head_seen {
                                return Err(self.error("a second SEND_HEADERS"));
                            }
                            let head = self.response_head(payload)?;
                            self.expect = head.framing;
                            self.head_seen = true;
                            return Ok(Decoded {
                                used,
                                event: Event::Head(head),
                            });
                        }
                        wire::END_RESPONSE => {
                            if !self.head_seen {
                                return Err(self.error("END_RESPONSE before SEND_HEADERS"));
                            }
                            let reuse = payload.first() == Some(&1);
                            let event = self.end(reuse)?;
                            return Ok(Decoded { used, event });
                        }
                        wire::GET_BODY_CHUNK => {
                            let [a, b, ..] = *payload else {
                                return Err(self.error("GET_BODY_CHUNK without a length"));
                            };
                            self.asked(u16::from_be_bytes([a, b]) as usize, out)?;
                        }
                        wire::CPONG_REPLY => {
                            return Err(self.error("CPONG while answering a request"))
                        }
                        other => {
                            return Err(self.error(format_args!(
                                "unknown packet type {other} while answering a request"
                            )))
                        }
                    }
                }
            }
        }
    }

    /// The request head does not fit in one packet: nothing was sent.
    /// httpd-oracle: a head of three 4000-byte headers to an AJP member with
    /// 8192-byte packets got `400` (AH00988 "ajp_marshal_into_msgb failed").
    fn refused(&self) -> Option<super::Refusal> {
        match self.rx {
            Rx::Refused { size } => Some(super::Refusal::HeadTooLarge {
                size,
                packet_size: self.packet_size,
            }),
            _ => None,
        }
    }

    fn eof(&mut self) -> Result<Event, ProtocolError> {
        match self.rx {
            Rx::Done => Ok(Event::End { reusable: false }),
            Rx::Refused { .. } => Err(ProtocolError(
                self.refused().map(|r| r.to_string()).unwrap_or_default(),
            )),
            Rx::Cpong => Err(self.error("closed the connection before CPONG")),
            Rx::Packet if !self.head_seen => {
                Err(self.error("closed the connection before SEND_HEADERS"))
            }
            _ => Err(self.error("closed the connection before END_RESPONSE")),
        }
    }
}

/// Reads a CPONG answer to [`CPING_PACKET`]: Ok(Some(5)) once it is complete,
/// Ok(None) while more bytes are needed, an error for anything else.
pub fn read_cpong(input: &[u8]) -> Result<Option<usize>, ProtocolError> {
    let n = input.len().min(CPONG_PACKET.len());
    if input[..n] != CPONG_PACKET[..n] {
        return Err(ProtocolError(
            "AJP member: answered CPING with something other than CPONG".to_string(),
        ));
    }
    Ok((n == CPONG_PACKET.len()).then_some(n))
}
