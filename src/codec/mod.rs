//! Member-side protocols: one codec per scheme httpd's proxy speaks (DESIGN.md,
//! "Protocols"). A codec turns a request into the member's wire format and the
//! member's bytes back into protocol-neutral events (a response head, body
//! payload, the end and whether the connection may be reused); the exchange
//! (`crate::worker::exchange`) drives it and never looks at wire bytes itself.
//!
//! The scheme table (`crate::url::SCHEMES`, re-exported here) is the one place
//! that says which schemes exist, which protocol each speaks and its default port.
//!
//! Adding a protocol (AJP, FastCGI, SCGI, uwsgi):
//! 1. a row in `url::SCHEMES` (`scheme("ajp", Protocol::Ajp, 8009, false)`);
//! 2. a module here (`codec/ajp.rs`, a folder once it has more files) with
//!    the member's settings (built once, no allocation per request: share
//!    strings through `Arc`) and the per-connection codec implementing
//!    [`MemberCodec`];
//! 3. a variant in [`Settings`] and one in [`Codec`], with their arms in
//!    [`Settings::for_member`] (from the member's URL and `WorkerParams`),
//!    [`Settings::codec`], [`Settings::protocol`] and the six `MemberCodec`
//!    methods of `Codec`.
//!
//! The exchange (`crate::worker::exchange`) then creates one codec per member
//! connection and exchange (`Settings::codec`), calls `start` with the
//! [`Outgoing`] request, feeds the client's body (already freed of its
//! framing) through `body`/`end_body`, and hands every member byte to
//! `decode`; a [`ProtocolError`] is the member's fault (502, counted in its
//! `errors` like any bad response). What the codec queues goes out on the
//! member connection as it is; what it decodes reaches the client as an
//! HTTP/1.1 response (head through ProxyPassReverse and `Header` rules, body
//! re-chunked when its length is unknown).

pub mod ajp;
pub mod cgi;
pub mod fcgi;
pub mod h1;
pub mod h2;
#[cfg(test)]
mod random_tests;
pub mod scgi;
#[cfg(test)]
pub(crate) mod test_support;
pub mod uwsgi;

use std::net::SocketAddr;
use std::ops::Range;

use crate::config::ProxyVia;
use crate::http::{RequestHead, ResponseHead};

pub use crate::url::{Protocol, Scheme, SCHEMES};

/// A member's codec settings, built once per member from its scheme and
/// parameters (`crate::proxy::routes`, stored on `Member::codec`). A new
/// protocol adds a variant here, one in [`Codec`], and a row in `url::SCHEMES`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settings {
    Http1(h1::Settings),
    Fcgi(cgi::MemberSettings),
    Scgi(cgi::MemberSettings),
    Uwsgi(cgi::MemberSettings),
    Ajp(ajp::Settings),
}

impl Settings {
    /// A fresh codec for one member connection (no allocation: settings are
    /// shared through `Arc`s).
    pub fn codec(&self) -> Codec {
        match self {
            Settings::Http1(s) => Codec::Http1(s.codec()),
            Settings::Fcgi(_) => Codec::Fcgi(fcgi::FcgiCodec::new()),
            Settings::Scgi(_) => Codec::Scgi(scgi::ScgiCodec::new()),
            Settings::Uwsgi(_) => Codec::Uwsgi(uwsgi::UwsgiCodec::new()),
            Settings::Ajp(s) => Codec::Ajp(s.codec()),
        }
    }

    /// For the CGI-style protocols, the member as `SCRIPT_FILENAME` names it.
    pub fn cgi(&self) -> Option<&cgi::MemberSettings> {
        match self {
            Settings::Http1(_) | Settings::Ajp(_) => None,
            Settings::Fcgi(s) | Settings::Scgi(s) | Settings::Uwsgi(s) => Some(s),
        }
    }

    /// A member breaking this protocol before its answer began is put in
    /// error state, as httpd's handler for it does (mod_proxy_ajp; httpd's
    /// HTTP, FastCGI, SCGI and uwsgi handlers only fail the request).
    pub fn fault_takes_member_out(&self) -> bool {
        matches!(self, Settings::Ajp(_))
    }

    /// The protocol cannot carry a request body of unknown length (SCGI,
    /// uwsgi): such a request gets 411, as from httpd.
    pub fn needs_length(&self) -> bool {
        matches!(self, Settings::Scgi(_) | Settings::Uwsgi(_))
    }

    /// The settings of the member at `url` with parameters `params`;
    /// `io_buffer_size` is `ProxyIOBufferSize` (a member's `iobuffersize=`
    /// overrides it).
    pub fn for_member(
        url: &crate::url::MemberUrl,
        params: &crate::config::WorkerParams,
        io_buffer_size: usize,
    ) -> Result<Settings, String> {
        let scheme = Scheme::named(&url.scheme)
            .ok_or_else(|| format!("{}: unsupported scheme '{}'", url.name, url.scheme))?;
        match scheme.protocol {
            Protocol::Http1 => {
                let upgrade =
                    params.upgrade.as_deref().map(Into::into).or_else(|| {
                        matches!(scheme.name, "ws" | "wss").then(|| "websocket".into())
                    });
                Ok(Settings::Http1(h1::Settings {
                    host: url.host_header().into(),
                    upgrade,
                }))
            }
            Protocol::Fcgi => Ok(Settings::Fcgi(cgi::MemberSettings::for_url(url))),
            Protocol::Scgi => Ok(Settings::Scgi(cgi::MemberSettings::for_url(url))),
            Protocol::Uwsgi => Ok(Settings::Uwsgi(cgi::MemberSettings::for_url(url))),
            Protocol::Ajp => Ok(Settings::Ajp(ajp::Settings {
                packet_size: ajp::packet_size(params.io_buffer_size.unwrap_or(io_buffer_size)),
                secret: params.other_value("secret").map(Into::into),
                ping: params.ping.is_some(),
            })),
        }
    }

    pub fn protocol(&self) -> Protocol {
        match self {
            Settings::Http1(_) => Protocol::Http1,
            Settings::Fcgi(_) => Protocol::Fcgi,
            Settings::Scgi(_) => Protocol::Scgi,
            Settings::Uwsgi(_) => Protocol::Uwsgi,
            Settings::Ajp(_) => Protocol::Ajp,
        }
    }
}

/// The codec of one member connection: the exchange holds this enum and calls
/// the [`MemberCodec`] methods on it (static dispatch).
#[derive(Debug)]
pub enum Codec {
    Http1(h1::H1),
    Fcgi(fcgi::FcgiCodec),
    Scgi(scgi::ScgiCodec),
    Uwsgi(uwsgi::UwsgiCodec),
    Ajp(ajp::Ajp),
}

/// Why a codec cannot send a request, through no fault of the member
/// ([`MemberCodec::refused`]): the client's request exceeds a limit of the
/// member's protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The request head needs an AJP packet of `size` bytes, more than the
    /// member's packet size: 400, as httpd (AH00988).
    HeadTooLarge { size: usize, packet_size: usize },
    /// A chunked body FastCGI must count first grew past
    /// [`fcgi::SPOOL_LIMIT`]: 413.
    BodyTooLarge,
    /// The variables do not fit a uwsgi packet (64 KiB): 431.
    FieldsTooLarge,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Refusal::BodyTooLarge => {
                "its chunked body is larger than the 16 MiB slotgate holds to count it for a \
                 FastCGI member"
            }
            Refusal::FieldsTooLarge => "its variables do not fit a uwsgi packet (64 KiB)",
            Refusal::HeadTooLarge { size, packet_size } => {
                return write!(
                    f,
                    "the request head needs an AJP packet of {size} bytes, more than the \
                     packet size {packet_size} (iobuffersize=)"
                );
            }
        })
    }
}

impl Refusal {
    /// What the client did wrong, for its answer (400, 413 or 431).
    pub fn status(self) -> u16 {
        match self {
            Refusal::HeadTooLarge { .. } => 400,
            Refusal::BodyTooLarge => 413,
            Refusal::FieldsTooLarge => 431,
        }
    }
}

impl MemberCodec for Codec {
    fn start(&mut self, req: &Outgoing<'_>, out: &mut impl Sink) {
        match self {
            Codec::Http1(c) => c.start(req, out),
            Codec::Fcgi(c) => c.start(req, out),
            Codec::Scgi(c) => c.start(req, out),
            Codec::Uwsgi(c) => c.start(req, out),
            Codec::Ajp(c) => c.start(req, out),
        }
    }

    fn body_room(&self) -> usize {
        match self {
            Codec::Http1(c) => c.body_room(),
            Codec::Fcgi(c) => c.body_room(),
            Codec::Scgi(c) => c.body_room(),
            Codec::Uwsgi(c) => c.body_room(),
            Codec::Ajp(c) => c.body_room(),
        }
    }

    fn body(&mut self, data: &[u8], out: &mut impl Sink) {
        match self {
            Codec::Http1(c) => c.body(data, out),
            Codec::Fcgi(c) => c.body(data, out),
            Codec::Scgi(c) => c.body(data, out),
            Codec::Uwsgi(c) => c.body(data, out),
            Codec::Ajp(c) => c.body(data, out),
        }
    }

    fn end_body(&mut self, out: &mut impl Sink) {
        match self {
            Codec::Http1(c) => c.end_body(out),
            Codec::Fcgi(c) => c.end_body(out),
            Codec::Scgi(c) => c.end_body(out),
            Codec::Uwsgi(c) => c.end_body(out),
            Codec::Ajp(c) => c.end_body(out),
        }
    }

    fn decode(&mut self, input: &[u8], out: &mut impl Sink) -> Result<Decoded, ProtocolError> {
        match self {
            Codec::Http1(c) => c.decode(input, out),
            Codec::Fcgi(c) => c.decode(input, out),
            Codec::Scgi(c) => c.decode(input, out),
            Codec::Uwsgi(c) => c.decode(input, out),
            Codec::Ajp(c) => c.decode(input, out),
        }
    }

    fn eof(&mut self) -> Result<Event, ProtocolError> {
        match self {
            Codec::Http1(c) => c.eof(),
            Codec::Fcgi(c) => c.eof(),
            Codec::Scgi(c) => c.eof(),
            Codec::Uwsgi(c) => c.eof(),
            Codec::Ajp(c) => c.eof(),
        }
    }

    fn refused(&self) -> Option<Refusal> {
        match self {
            Codec::Http1(c) => c.refused(),
            Codec::Fcgi(c) => c.refused(),
            Codec::Scgi(c) => c.refused(),
            Codec::Uwsgi(c) => c.refused(),
            Codec::Ajp(c) => c.refused(),
        }
    }
}

/// Facts only the HTTP codecs use (added with the HTTP/1.1 codec): other
/// codecs ignore them.
#[derive(Clone, Copy, Debug)]
pub struct HttpFacts<'a> {
    /// The port the client addressed (its Host header's; for Via).
    pub front_port: u16,
    /// `ProxyPreserveHost On`.
    pub preserve_host: bool,
    /// `ProxyAddHeaders` (X-Forwarded-For, -Host, -Server).
    pub add_headers: bool,
    pub via: ProxyVia,
    /// `Proxy100Continue On`: `Expect` goes to the member (Off: removed).
    pub forward_expect: bool,
    /// The protocol the client asked to switch to (its `Upgrade`, when its
    /// `Connection` names it); the codec asks the member only when the
    /// member's `upgrade=` accepts it.
    pub upgrade: Option<&'a str>,
}

/// No HTTP facts: what requests to other protocols' members carry in tests
/// (added with the AJP codec).
impl Default for HttpFacts<'_> {
    fn default() -> Self {
        HttpFacts {
            front_port: 0,
            preserve_host: false,
            add_headers: false,
            via: ProxyVia::Off,
            forward_expect: false,
            upgrade: None,
        }
    }
}

/// What every codec knows about the request it sends: the client's head
/// (after `RequestHeader` rules), where it goes on the member, and who asked.
pub struct Outgoing<'a> {
    /// The client's request head (method, target, version, headers).
    pub head: &'a RequestHead,
    /// Path and query on the member: what ProxyPass (or a rewrite) mapped the
    /// request to, in origin form.
    pub target: &'a str,
    /// The request body's length when known (`Some(0)`: no body); None when
    /// the client sends it chunked.
    pub body_length: Option<u64>,
    /// The client (after mod_remoteip) and the local address it connected to.
    pub client: SocketAddr,
    pub local: SocketAddr,
    /// The client came over TLS.
    pub https: bool,
    /// The virtual host's `ServerName`.
    pub server_name: &'a str,
    /// The request's environment (SetEnv, SetEnvIf, BALANCER_*).
    pub env: &'a crate::rules::env::Env,
    /// Ask the member to keep the connection for another request (the pool
    /// may reuse it, and `proxy-nokeepalive` is not set). Added with the
    /// HTTP/1.1 codec.
    pub keep: bool,
    /// HTTP-only facts (added with the HTTP/1.1 codec; others ignore them).
    pub http: HttpFacts<'a>,
    /// For FastCGI, SCGI and uwsgi members: the facts their CGI variables
    /// need beyond the above (None for the others).
    pub cgi: Option<&'a cgi::Site<'a>>,
}

/// What a codec read from the member.
#[derive(Debug)]
pub enum Event {
    /// Nothing complete yet: more bytes are needed.
    Pending,
    /// An interim (1xx) answer, passed to an HTTP/1.1 client once.
    Interim(ResponseHead),
    /// The final response head. Its `framing` is `Length(n)` when the member
    /// said how long the body is, `None` when there is none, else `Close`
    /// (the body ends with [`Event::End`]); `minor` is 1 for non-HTTP codecs.
    Head(ResponseHead),
    /// Body payload: this range of the input handed to [`Decoded`]'s call.
    Body(Range<usize>),
    /// The response is complete; whether the member connection may carry
    /// another request.
    End { reusable: bool },
}

/// One step of decoding: how many input bytes were used, and what they said.
#[derive(Debug)]
pub struct Decoded {
    pub used: usize,
    pub event: Event,
}

/// The member broke its protocol: the reason, for the error log and the 502.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub String);

impl std::fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a codec writes bytes for the member (the worker's connection buffer,
/// or a `Vec<u8>` in tests).
pub trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// What each member codec does; the exchange holds the codecs in one enum and
/// calls these (static dispatch, no allocation per request).
///
/// The order of calls for one request: [`start`](MemberCodec::start), then
/// [`body`](MemberCodec::body) while [`body_room`](MemberCodec::body_room) allows
/// and [`end_body`](MemberCodec::end_body) once the client's body is complete
/// (at once for a request without a body), interleaved with
/// [`decode`](MemberCodec::decode) whenever member bytes arrive, until it
/// returns [`Event::End`] (or [`eof`](MemberCodec::eof) when the member closed).
/// A codec is reset by `start` and may be reused for the next request on a
/// kept connection.
pub trait MemberCodec {
    /// Queues the request head (and whatever the protocol sends before the body).
    fn start(&mut self, req: &Outgoing<'_>, out: &mut impl Sink);
    /// How many body payload bytes the member takes now (AJP asks for them;
    /// the others take any amount: `usize::MAX`).
    fn body_room(&self) -> usize;
    /// Queues request body payload (already freed of the client's framing).
    fn body(&mut self, data: &[u8], out: &mut impl Sink);
    /// The client's body is complete: queue whatever ends it.
    fn end_body(&mut self, out: &mut impl Sink);
    /// Decodes what the member sent (`input` starts where the last call's
    /// `used` ended); may queue bytes for the member (AJP's body chunks).
    fn decode(&mut self, input: &[u8], out: &mut impl Sink) -> Result<Decoded, ProtocolError>;
    /// The member closed its side: the response ends here ([`Event::End`]) when
    /// the protocol allows it, else a [`ProtocolError`].
    fn eof(&mut self) -> Result<Event, ProtocolError>;
    /// Why this request cannot go to the member at all (checked after `start`
    /// and after each `body`): the client's request exceeds a limit of the
    /// protocol (an AJP head must fit one packet, a uwsgi packet holds 64 KiB
    /// of variables, a chunked body FastCGI must count is held up to 16 MiB);
    /// the exchange answers the client ([`Refusal::status`]) without waiting
    /// for the member.
    fn refused(&self) -> Option<Refusal> {
        None
    }
}
