//! One client connection: the state machine of read head → route → proxy (see
//! `exchange.rs` for the member side) → keep-alive or close.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use mio::net::TcpStream;

use super::buffer::{Buffer, Io};
use super::exchange::{Exchange, Started};
use super::fault::{ClientFault, Detour, Fault};
use super::tls::{self, ClientTls, TlsRead};
use super::{respond, unix_ms, Ctx, LINGER};
use crate::config::RateTimeout;
use crate::http::{parse_request_with, BodyReader, Framing, RequestHead};
use crate::logging::access::{ConnStatus, Lookup, Record};
use crate::proxy::Route;
use crate::proxy_protocol;
use crate::rules::env::Env;

/// Most bytes buffered in one direction of a body before reading pauses.
pub(super) const BODY_BUFFER: usize = 64 * 1024;

/// What the event loop does with a connection after a step.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Wait for readiness or the connection's deadline.
    Wait,
    /// Close the connection now.
    Close,
}

pub(super) enum State {
    /// Waiting for (the rest of) a request head.
    Head,
    /// A request is being proxied.
    Exchange(Box<Exchange>),
    /// A request for a local handler is read to its end.
    Local(Box<LocalRequest>),
    /// Flush what is left for the client, then close.
    Closing,
    /// Output flushed and write side shut; discard input until EOF or the deadline.
    Lingering,
}

pub struct Conn {
    pub(super) client: TcpStream,
    /// TLS of a connection to a listener with `SSLEngine On`; None for plain HTTP.
    tls: Option<Box<ClientTls>>,
    pub(super) peer: SocketAddr,
    /// The socket's own peer (`peer` becomes the client a PROXY header names).
    socket_peer: SocketAddr,
    /// The current request's client: `peer`, or what `RemoteIPHeader` found
    /// (`Require ip`, `%a`, `%h`, X-Forwarded-For, hashkey=ip).
    request_peer: SocketAddr,
    pub(super) local: SocketAddr,
    pub(super) input: Buffer,
    pub(super) output: Buffer,
    readable: bool,
    writable: bool,
    /// The peer's FIN was reported: keep reading to EOF even after a short read.
    hup: bool,
    /// Our side was shut for writing (a tunnel whose member closed).
    write_shut: bool,
    /// The last request was read to its end and answered in full: closing needs
    /// no lingering (nothing of the client's can still be on its way).
    clean_end: bool,
    pub(super) eof: bool,
    /// Whether a PROXY protocol header is still to come (`RemoteIPProxyProtocol`).
    proxy_header: ProxyHeader,
    pub(super) state: State,
    pub(super) served: u32,
    /// `(input consumed, output appended)` when the last request was logged:
    /// the start of the next request's bytes (`%I`, `%O`).
    logged: (u64, u64),
    /// The exchange being ended was answered with a whole (error) response.
    answered_in_full: bool,
    /// The request's environment before it is routed: the server's SetEnvIf
    /// and mod_rewrite's `[E=]` (`crate::worker::rewrite`); it moves into the
    /// exchange, or serves a local answer's headers and log line.
    early_env: crate::rules::env::Env,
    /// When the current request head began (accept, or its first byte after a
    /// kept-alive wait), and its bytes so far: mod_reqtimeout's header stage.
    head_started: Instant,
    head_bytes: usize,
    pub id: u64,
    pub last_activity: Instant,
    /// Deadline of this connection's pending timer entry, if any.
    pub armed: Option<Instant>,
    /// Already queued for a drive in this loop iteration.
    pub dirty: bool,
}

/// The PROXY protocol header of a connection (`RemoteIPProxyProtocol`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProxyHeader {
    /// Not yet known whether one is expected (decided on the first bytes).
    Unchecked,
    /// Expected before the first request.
    Awaited,
    /// Received, or not expected.
    Settled,
}

/// A request for a local handler (`SetHandler`), while its body arrives.
pub(super) struct LocalRequest {
    head: RequestHead,
    server: usize,
    /// Index in the server's `handlers`.
    handler: usize,
    body: BodyReader,
    collected: Vec<u8>,
    keep_alive: bool,
    started: Instant,
}

/// What the access log needs of a request answered without a member.
pub(super) struct LocalAnswer<'a> {
    pub head: &'a RequestHead,
    pub server: usize,
    pub status: u16,
    pub body_bytes: u64,
    pub started: Instant,
    /// `%R`: `proxy-server`, a local handler's name, or None.
    pub handler: Option<&'static str>,
}

/// What the access log needs of the connection a request came on.
struct Wire {
    peer: SocketAddr,
    socket_peer: SocketAddr,
    local: SocketAddr,
    received: u64,
    sent: u64,
    keep_alives: u32,
    connection: ConnStatus,
    default_port: u16,
}

impl Conn {
    pub fn new(
        client: TcpStream,
        peer: SocketAddr,
        local: SocketAddr,
        id: u64,
        now: Instant,
    ) -> Conn {
        Conn {
            client,
            tls: None,
            peer,
            socket_peer: peer,
            request_peer: peer,
            local,
            input: Buffer::new(),
            output: Buffer::new(),
            readable: false,
            writable: false,
            hup: false,
            write_shut: false,
            clean_end: false,
            eof: false,
            proxy_header: ProxyHeader::Unchecked,
            state: State::Head,
            served: 0,
            logged: (0, 0),
            answered_in_full: false,
            early_env: Default::default(),
            head_started: now,
            head_bytes: 0,
            id,
            last_activity: now,
            armed: None,
            dirty: false,
        }
    }

    /// Makes this a TLS connection (before its first step). When no PROXY protocol
    /// header is expected, TLS starts with the first byte; else the header is read
    /// in the clear and what follows it goes to rustls (see `feed_tls`).
    pub(super) fn start_tls(
        &mut self,
        ctx: &Ctx,
        config: &std::sync::Arc<rustls::ServerConfig>,
    ) -> bool {
        if !ctx.config.expects_proxy_header(self.local, self.peer) {
            self.proxy_header = ProxyHeader::Settled;
        }
        self.tls = ClientTls::new(config);
        self.tls.is_some()
    }

    /// TLS after a PROXY protocol header: the bytes read in the clear after it are
    /// the start of the TLS stream; rustls takes them, and reads go through TLS from
    /// now on.
    fn feed_tls(&mut self) -> bool {
        let Some(t) = self.tls.as_mut() else {
            return false;
        };
        let mut data = self.input.data();
        let mut failed = false;
        while !data.is_empty() && !failed {
            failed = match t.conn.read_tls(&mut data) {
                Ok(_) => t.conn.process_new_packets().is_err(),
                Err(_) => true,
            };
        }
        let _ = tls::flush(&mut t.conn, &mut self.client);
        let n = self.input.len();
        self.input.consume(n);
        self.head_bytes = 0;
        if failed {
            log::info!("client {}: TLS handshake failed", self.peer);
            self.eof = true;
            self.state = State::Closing;
        }
        // Plaintext may wait in rustls already.
        self.readable = true;
        true
    }

    /// TLS records still to be written to the client.
    fn tls_pending(&self) -> bool {
        self.tls.as_ref().is_some_and(|t| t.pending())
    }

    /// Shuts the write side: TLS's `close_notify` first.
    fn shutdown_write(&mut self) {
        if let Some(t) = self.tls.as_mut() {
            t.close(&mut self.client);
        }
        let _ = self.client.shutdown(Shutdown::Write);
    }

    pub fn mark_ready(&mut self, member_side: bool, readable: bool, writable: bool, hup: bool) {
        if member_side {
            if let State::Exchange(ex) = &mut self.state {
                ex.mark_ready(readable, writable, hup);
            }
        } else {
            self.readable |= readable;
            self.writable |= writable;
            self.hup |= hup;
        }
    }

    /// The inactivity limit of the current state.
    pub fn timeout(&self, ctx: &Ctx) -> Duration {
        let cfg = &ctx.config;
        match &self.state {
            State::Head if self.served > 0 && self.input.is_empty() => cfg.keep_alive_timeout,
            // httpd applies both `Timeout` (to each read) and
            // `RequestReadTimeout` (to the stage): the shorter wins.
            State::Head => match cfg.request_read_timeout.header {
                Some(rt) => rate_deadline(self.head_started, self.head_bytes, rt)
                    .saturating_duration_since(self.last_activity)
                    .min(cfg.timeout),
                None => cfg.timeout,
            },
            State::Closing | State::Local(_) => cfg.timeout,
            State::Lingering => LINGER,
            // Waiting on the client (its body, or room to write to it) is bounded by
            // `Timeout`; waiting on the member by the member's timeout.
            State::Exchange(ex) if ex.waits_for_client_body(self.input.is_empty()) => {
                match cfg.request_read_timeout.body {
                    Some(rt) => {
                        let (started, got) = ex.body_progress();
                        rate_deadline(started, got as usize, rt)
                            .saturating_duration_since(self.last_activity)
                            .min(cfg.timeout)
                    }
                    None => cfg.timeout,
                }
            }
            State::Exchange(_) if self.output.len() >= BODY_BUFFER => cfg.timeout,
            State::Exchange(ex) => ex.timeout(ctx),
        }
    }

    pub fn on_timeout(&mut self, ctx: &mut Ctx, index: usize) -> Step {
        if matches!(self.state, State::Head) && !self.input.is_empty() {
            // A head still incomplete at its deadline: slowloris, or a dead
            // client. As httpd: a 408 once the request line is in, a plain
            // close while it is not.
            log::info!("client {}: request head not received in time", self.peer);
            if request_line_complete(self.input.data()) {
                let banner = self.banner(ctx, None);
                respond::error(
                    &mut self.output,
                    408,
                    "the request head was not received in time",
                    false,
                    &banner,
                );
            }
            self.state = State::Closing;
            return self.drive(ctx, index);
        }
        if let Some(local) = self.take_local() {
            let why = "the request body was not received in time";
            self.answer_locally(ctx, &local.head, local.server, 408, why, false);
            return self.drive(ctx, index);
        }
        let State::Exchange(ex) = &mut self.state else {
            return Step::Close;
        };
        if ex.waits_for_client_body(self.input.is_empty()) {
            let why = format!(
                "client {}: request body not received within Timeout",
                self.peer
            );
            self.fail(ctx, Fault::Client(ClientFault::TimedOut, why));
            return self.drive(ctx, index);
        }
        if self.output.len() >= BODY_BUFFER {
            let why = format!("client {} stopped reading its response", self.peer);
            self.fail(ctx, Fault::Client(ClientFault::Gone, why));
            return self.drive(ctx, index);
        }
        match ex.on_timeout(ctx) {
            Some(Detour::Retry) => {
                self.last_activity = ctx.now;
                self.failover(ctx, index);
            }
            Some(Detour::Fail(f)) => self.fail(ctx, f),
            Some(Detour::Replay) | None => {}
        }
        // Whatever the timeout produced (an error page, a retry) goes out now.
        self.drive(ctx, index)
    }

    /// Makes all the progress possible now.
    pub fn drive(&mut self, ctx: &mut Ctx, index: usize) -> Step {
        loop {
            let mut progress = false;
            match self.read_client(ctx) {
                Ok(p) => progress |= p,
                Err(e) => return self.client_failed(ctx, "reading", &e),
            }
            match self.state {
                State::Head => progress |= self.try_start(ctx, index),
                State::Exchange(_) => progress |= self.pump(ctx, index),
                State::Local(_) => progress |= self.pump_local(ctx),
                State::Closing | State::Lingering => {}
            }
            match self.write_client(ctx) {
                Ok(p) => progress |= p,
                Err(e) => return self.client_failed(ctx, "writing", &e),
            }
            if !self.write_shut
                && self.output.is_empty()
                && self.exchange().is_some_and(|e| e.tunnel_member_closed())
            {
                // The member closed its side of the tunnel: pass the close on.
                self.shutdown_write();
                self.write_shut = true;
                progress = true;
            }
            if progress {
                self.last_activity = ctx.now;
            } else {
                break;
            }
        }
        self.after_io()
    }

    /// A read or write on the client's socket failed (a reset, mostly): the
    /// client's business, logged at info; an exchange in flight ends.
    fn client_failed(&mut self, ctx: &mut Ctx, what: &str, e: &io::Error) -> Step {
        let why = format!("client {}: connection failed while {what}: {e}", self.peer);
        if self.exchange().is_some() {
            self.fail(ctx, Fault::Client(ClientFault::Gone, why));
        } else if !matches!(self.state, State::Lingering | State::Closing) {
            log::info!("{why}");
        }
        Step::Close
    }

    fn after_io(&mut self) -> Step {
        match self.state {
            State::Head if self.eof => {
                if self.output.is_empty() && !self.tls_pending() {
                    return Step::Close;
                }
                self.state = State::Closing;
                Step::Wait
            }
            State::Head => {
                self.input.release_if_empty();
                Step::Wait
            }
            State::Closing if self.output.is_empty() && !self.tls_pending() => {
                if self.eof || (self.clean_end && self.input.is_empty()) {
                    // Nothing unread: a plain close (a FIN, never a reset), as
                    // nginx does; otherwise linger so unread input cannot turn
                    // the close into a reset that destroys the response.
                    if let Some(t) = self.tls.as_mut() {
                        t.close(&mut self.client);
                    }
                    return Step::Close;
                }
                self.shutdown_write();
                self.state = State::Lingering;
                Step::Wait
            }
            State::Lingering if self.eof => Step::Close,
            _ => Step::Wait,
        }
    }

    /// How many bytes of client input the current state holds at most; a head may
    /// fill up to one byte past what the limits allow, so that it is refused.
    fn input_limit(&self, ctx: &Ctx) -> usize {
        match self.state {
            State::Head if self.proxy_header != ProxyHeader::Settled => {
                (ctx.limits.max_head() + 1).max(proxy_protocol::MAX_HEADER)
            }
            State::Head => ctx.limits.max_head() + 1,
            _ => BODY_BUFFER,
        }
    }

    fn wants_client_input(&self, ctx: &Ctx) -> bool {
        match self.state {
            State::Head => self.input.len() < self.input_limit(ctx),
            State::Exchange(_) | State::Local(_) => self.input.len() < BODY_BUFFER,
            State::Closing => false,
            State::Lingering => true,
        }
    }

    fn read_client(&mut self, ctx: &Ctx) -> io::Result<bool> {
        if !self.readable || self.eof || !self.wants_client_input(ctx) {
            return Ok(false);
        }
        let limit = self.input_limit(ctx);
        let was_empty = self.input.is_empty();
        let io = match self.tls.as_mut() {
            // (A PROXY protocol header before TLS is read in the clear.)
            Some(t) if self.proxy_header == ProxyHeader::Settled => {
                let mut src = TlsRead {
                    tls: &mut t.conn,
                    sock: &mut self.client,
                };
                self.input.read_from(&mut src, limit)?
            }
            _ => self.input.read_from(&mut self.client, limit)?,
        };
        match io {
            Io::Done(n) | Io::Short(n) => {
                // (TLS: a short read says nothing of the socket; only
                // WouldBlock does.)
                let plain = self.tls.is_none() || self.proxy_header != ProxyHeader::Settled;
                if matches!(io, Io::Short(_)) && !self.hup && plain {
                    // A short read drained the socket: skip the read that would block.
                    self.readable = false;
                }
                ctx.process().add_bytes_in(n as u64);
                if matches!(self.state, State::Head) {
                    if was_empty && self.served > 0 && self.head_bytes == 0 {
                        // The kept-alive wait is over: the header stage starts now.
                        self.head_started = ctx.now;
                    }
                    self.head_bytes += n;
                }
                if matches!(self.state, State::Lingering) {
                    let n = self.input.len();
                    self.input.consume(n);
                }
                Ok(n > 0)
            }
            Io::Eof => {
                self.eof = true;
                Ok(true)
            }
            Io::WouldBlock => {
                self.readable = false;
                Ok(false)
            }
        }
    }

    fn write_client(&mut self, ctx: &Ctx) -> io::Result<bool> {
        // (A refused PROXY protocol header is answered in the clear.)
        if self.tls.is_some() && self.proxy_header == ProxyHeader::Settled {
            return self.write_client_tls(ctx);
        }
        if !self.writable || self.output.is_empty() {
            return Ok(false);
        }
        match self.output.write_to(&mut self.client)? {
            Io::Done(n) | Io::Short(n) => {
                if !self.output.is_empty() {
                    // A short write filled the socket buffer: wait for writability.
                    self.writable = false;
                }
                ctx.process().add_bytes_out(n as u64);
                self.output.release_if_empty();
                Ok(n > 0)
            }
            Io::Eof => Ok(false),
            Io::WouldBlock => {
                self.writable = false;
                Ok(false)
            }
        }
    }

    /// `write_client` on TLS: records left from before go out first; then plaintext
    /// goes to rustls (as much as its buffer takes) and its records to the socket.
    fn write_client_tls(&mut self, ctx: &Ctx) -> io::Result<bool> {
        let Some(t) = self.tls.as_mut() else {
            return Ok(false);
        };
        if !self.writable || (self.output.is_empty() && !t.conn.wants_write()) {
            return Ok(false);
        }
        if !tls::flush(&mut t.conn, &mut self.client)? {
            self.writable = false;
            return Ok(false);
        }
        if self.output.is_empty() || t.conn.is_handshaking() {
            return Ok(false);
        }
        let n = io::Write::write(&mut t.conn.writer(), self.output.data())?;
        self.output.consume(n);
        ctx.process().add_bytes_out(n as u64);
        self.output.release_if_empty();
        if !tls::flush(&mut t.conn, &mut self.client)? {
            self.writable = false;
        }
        Ok(n > 0)
    }

    /// In `Head`: parses a request head if one is complete and starts its exchange.
    fn try_start(&mut self, ctx: &mut Ctx, index: usize) -> bool {
        if self.input.is_empty() {
            return false;
        }
        if self.proxy_header != ProxyHeader::Settled {
            match self.take_proxy_header(ctx) {
                Some(progress) => return progress,
                None if self.tls.is_some() => return self.feed_tls(),
                None if self.input.is_empty() => return true,
                None => {}
            }
        }
        self.clean_end = false;
        self.request_peer = self.peer;
        self.early_env.clear();
        let mut head = match parse_request_with(self.input.data(), &ctx.limits) {
            Ok(Some(h)) => h,
            Ok(None) => {
                if self.eof {
                    // The client went away in the middle of a head.
                    self.state = State::Closing;
                    return true;
                }
                return false;
            }
            Err(e) => {
                log::info!("client {}: refused request: {}", self.peer, e);
                let banner = self.banner(ctx, None);
                respond::error(&mut self.output, e.status, e.reason, false, &banner);
                self.state = State::Closing;
                return true;
            }
        };
        self.input.consume(head.len);
        self.head_bytes = self.input.len();
        self.head_started = ctx.now;
        ctx.process().add_request();
        ctx.process().set_last_used(unix_ms());
        let cfg = &ctx.config;
        let keep_alive = head.wants_keep_alive()
            && cfg.keep_alive
            && !ctx.graceful
            && (cfg.max_keep_alive_requests == 0 || self.served + 1 < cfg.max_keep_alive_requests)
            && !self.eof;
        let server = ctx.routes.server_for(self.local, head.header("host"));
        self.request_peer = crate::rules::remoteip::apply(
            &ctx.routes.servers[server].remoteip,
            self.peer,
            &mut head,
        );
        super::neighbour::edit_early(ctx, server, &mut head, self.request_peer, self.tls_facts());
        if head.method == "TRACE" && !ctx.routes.servers[server].presentation.trace_enable {
            // TraceEnable Off: refused for every URL, proxied or not (httpd-oracle: 405).
            let why = "TRACE is disabled (TraceEnable Off)";
            self.answer_locally(ctx, &head, server, 405, why, keep_alive);
            return true;
        }
        let limit = cfg.limit_request_body;
        if let Framing::Length(n) = head.framing {
            if limit > 0 && n > limit {
                self.answer_locally(
                    ctx,
                    &head,
                    server,
                    413,
                    "the request body exceeds LimitRequestBody",
                    false,
                );
                return true;
            }
        }
        // Every rule, handler and express lookup sees the normalised path
        // (dot-segments removed, slashes merged, escapes decoded); the parser
        // let through only `*` (OPTIONS) as a target without a path.
        let (raw_path, query) = crate::url::split_target(&head.target);
        let mut buf = crate::recycle::bytes();
        let (route, handler, denied) = match crate::url::normalise_path(raw_path, &mut buf) {
            _ if !raw_path.starts_with('/') => (Ok(Route::Local), None, None),
            Err(e) => {
                log::info!(
                    "client {}: refused request for {}: {}",
                    self.peer,
                    head.target,
                    e.reason()
                );
                crate::recycle::give_bytes(buf);
                self.answer_locally(ctx, &head, server, e.status(), e.reason(), keep_alive);
                return true;
            }
            Ok(path) => {
                let (route, handler) = if ctx.routes.servers[server].rewrite.is_some() {
                    // REMOTE_ADDR is the request's client (after RemoteIPHeader).
                    let peer = super::rewrite::Peer {
                        remote: self.request_peer,
                        local: self.local,
                        https: self.tls.is_some(),
                    };
                    let mut env = std::mem::take(&mut self.early_env);
                    let rewritten = ctx.rewrite_route(server, &head, path, query, &peer, &mut env);
                    self.early_env = env;
                    match rewritten {
                        Some(super::rewrite::Rewritten::Route(route)) => (route, None),
                        Some(super::rewrite::Rewritten::Answer {
                            status,
                            location,
                            why,
                        }) => {
                            crate::recycle::give_bytes(buf);
                            let at = location.as_deref();
                            self.answer_locally_at(ctx, &head, server, status, why, at, keep_alive);
                            return true;
                        }
                        None => self.route_normally(ctx, server, &head, path, raw_path, query),
                    }
                } else {
                    self.route_normally(ctx, server, &head, path, raw_path, query)
                };
                let denied = self.access_denied(ctx, server, &head, path, &route);
                (route, handler, denied)
            }
        };
        crate::recycle::give_bytes(buf);
        if let Some(location) = denied {
            log::info!(
                "client {}: access to {} denied by the rules of <{location}>",
                self.request_peer,
                head.target
            );
            self.answer_locally(
                ctx,
                &head,
                server,
                403,
                "the access rules of this location refuse the client",
                keep_alive,
            );
            return true;
        }
        match route {
            Err(e) => {
                let why = match e.status {
                    500 => "no balancer of that name",
                    502 => "the backend (mass reverse proxy or RewriteRule [P]) cannot be used",
                    _ => "the request path cannot be mapped",
                };
                self.answer_locally(ctx, &head, server, e.status, why, keep_alive);
            }
            Ok(Route::Local) => match handler {
                Some(handler) => {
                    let framing = head.framing;
                    self.state = State::Local(Box::new(LocalRequest {
                        head,
                        server,
                        handler,
                        body: BodyReader::new(framing),
                        collected: Vec::new(),
                        keep_alive,
                        started: ctx.now,
                    }));
                }
                None => self.answer_locally(
                    ctx,
                    &head,
                    server,
                    404,
                    "no ProxyPass rule maps this URL",
                    keep_alive,
                ),
            },
            Ok(route) => {
                let ex = Exchange::new(
                    ctx.now,
                    head,
                    server,
                    route,
                    keep_alive,
                    self.request_peer,
                    self.local,
                );
                let mut ex = Exchange::boxed(ex);
                ex.env.absorb(&mut self.early_env);
                ex.tls = self.tls_facts();
                ex.initial = self.served == 0;
                ex.prepare(ctx);
                if (!ctx.config.proxy_100_continue || ex.env.is_set("force-proxy-request-1.0"))
                    && ex.head.minor == 1
                    && ex.head.framing != Framing::None
                    && crate::proxy::forward::expects_continue(&ex.head)
                {
                    // Proxy100Continue Off (or an HTTP/1.0 member, which must
                    // not see the Expect): we answer it ourselves, as httpd's
                    // input layer does when it starts reading the body.
                    self.output.extend(b"HTTP/1.1 100 Continue\r\n\r\n");
                }
                self.state = State::Exchange(ex);
                ctx.exchanges += 1;
                self.failover(ctx, index);
            }
        }
        true
    }

    /// Before the first request: takes the PROXY protocol header when one is
    /// expected, and its client address becomes the connection's peer address
    /// (X-Forwarded-For, the access log, `Require ip`, balancer hashing). None
    /// when the request head may be parsed now; Some(progress) otherwise. A
    /// missing or malformed header gets a 400 and the connection closes, as
    /// with httpd's mod_remoteip.
    fn take_proxy_header(&mut self, ctx: &Ctx) -> Option<bool> {
        if self.proxy_header == ProxyHeader::Unchecked {
            self.proxy_header = if ctx.config.expects_proxy_header(self.local, self.peer) {
                ProxyHeader::Awaited
            } else {
                ProxyHeader::Settled
            };
        }
        if self.proxy_header == ProxyHeader::Settled {
            return None;
        }
        match proxy_protocol::parse(self.input.data()) {
            Ok(Some(h)) => {
                self.input.consume(h.len);
                self.head_bytes = self.input.len();
                if let Some((client, _)) = h.addrs {
                    log::debug!("client {}: PROXY protocol says {client}", self.peer);
                    self.peer = client;
                    self.request_peer = client;
                }
                self.proxy_header = ProxyHeader::Settled;
                None
            }
            Ok(None) if self.eof => {
                self.state = State::Closing;
                Some(true)
            }
            Ok(None) => Some(false),
            Err(e) => {
                log::info!("client {}: refused connection: {e}", self.peer);
                let banner = self.banner(ctx, None);
                respond::error(
                    &mut self.output,
                    400,
                    "a PROXY protocol header was expected",
                    false,
                    &banner,
                );
                self.state = State::Closing;
                Some(true)
            }
        }
    }

    /// In `Local`: reads the request body (at most `handlers::MAX_BODY` bytes),
    /// then checks the section's access rules, runs the handler and queues its
    /// answer.
    fn pump_local(&mut self, ctx: &mut Ctx) -> bool {
        let State::Local(local) = &mut self.state else {
            return false;
        };
        let mut progress = false;
        while !local.body.is_done() && !self.input.is_empty() {
            let avail = self.input.data();
            let (used, data) = match local.body.step(avail) {
                Ok(step) => step,
                Err(e) => {
                    let Some(local) = self.take_local() else {
                        return true;
                    };
                    log::info!("client {}: bad request body: {e}", self.peer);
                    let why = "malformed request body";
                    self.answer_locally(ctx, &local.head, local.server, 400, why, false);
                    return true;
                }
            };
            if used == 0 {
                break;
            }
            if local.collected.len() + data.len() > crate::handlers::MAX_BODY {
                let Some(local) = self.take_local() else {
                    return true;
                };
                let why = "the request body is too large for this handler";
                self.answer_locally(ctx, &local.head, local.server, 413, why, false);
                return true;
            }
            local.collected.extend_from_slice(&avail[data]);
            self.input.consume(used);
            progress = true;
        }
        if !local.body.is_done() {
            if self.eof {
                // The client went away in the middle of its body.
                self.state = State::Closing;
                return true;
            }
            return progress;
        }
        let Some(local) = self.take_local() else {
            return progress;
        };
        let server = &ctx.routes.servers[local.server];
        let h = &server.handlers[local.handler];
        let head = &local.head;
        let addrs = (self.request_peer, self.local);
        let compat = h.compat.as_ref();
        let env = super::neighbour::access_env(ctx, local.server, head, compat, None, addrs);
        let mut response = if crate::handlers::allowed(h, self.request_peer.ip(), &env) {
            let (path, query) = crate::url::split_target(&head.target);
            let req = crate::handlers::Request {
                method: &head.method,
                path,
                query,
                headers: &head.headers,
                body: &local.collected,
                client: self.request_peer.ip(),
                location: &h.path,
                server_name: &server.server_name,
                local_port: self.local.port(),
            };
            let hctx = crate::handlers::Context {
                scoreboard: &ctx.scoreboard,
                config: &ctx.config,
                routes: &ctx.routes,
                now_ms: unix_ms(),
            };
            crate::handlers::serve(h.handler, &req, &hctx)
        } else {
            log::info!(
                "client {}: access to {} denied by the rules of <Location {}>",
                self.request_peer,
                head.target,
                h.path
            );
            // httpd's error page (type, signature), as for every other local error.
            let banner = self.banner(ctx, Some((head, local.server)));
            let why = "You don't have permission to access this resource.";
            let page = respond::error_page(403, why, &banner);
            crate::handlers::Response::new(403, "text/html; charset=utf-8", page)
        };
        let tls = self.tls_facts();
        let (page_env, notes) =
            super::neighbour::handler_page(ctx, local.server, head, &mut response, addrs, tls);
        let n = respond::handler(
            &mut self.output,
            &response,
            local.keep_alive,
            head.is_head(),
            &ctx.config.presentation.server_header,
        );
        let connection = match local.keep_alive {
            true => ConnStatus::KeepAlive,
            false => ConnStatus::Close,
        };
        let wire = self.wire(connection);
        log_request(
            ctx,
            &wire,
            &LocalAnswer {
                head,
                server: local.server,
                status: response.status,
                body_bytes: n,
                started: local.started,
                handler: Some(h.handler.name()),
            },
            Some((&page_env, &notes)),
            &[],
        );
        self.served += 1;
        self.clean_end = true;
        self.state = if local.keep_alive {
            State::Head
        } else {
            State::Closing
        };
        true
    }

    /// The banner of an answer: for the request `head` (its Host) answered by server
    /// number `server`, or, before a request head named them, for the main server.
    fn banner(&self, ctx: &Ctx, request: Option<(&RequestHead, usize)>) -> respond::Banner {
        let host = request
            .and_then(|(head, _)| head.header("host"))
            .and_then(|h| std::str::from_utf8(h).ok());
        let (server_name, presentation) = match request {
            Some((_, server)) => {
                let s = &ctx.routes.servers[server];
                (&s.canonical_name, &*s.presentation)
            }
            None => (&ctx.config.server_name, &ctx.config.presentation),
        };
        let default_port = if self.tls.is_some() { 443 } else { 80 };
        respond::Banner::new(
            presentation,
            host,
            server_name,
            self.local.port(),
            default_port,
        )
    }

    /// Answers with a local error page and logs the request.
    fn answer_locally(
        &mut self,
        ctx: &mut Ctx,
        head: &RequestHead,
        server: usize,
        status: u16,
        why: &str,
        keep_alive: bool,
    ) {
        self.answer_locally_at(ctx, head, server, status, why, None, keep_alive);
    }

    /// The routing of a request that mod_rewrite left alone: ProxyPass, then the
    /// mass reverse proxy, then a `<Location>` handler.
    fn route_normally(
        &mut self,
        ctx: &mut Ctx,
        server: usize,
        head: &RequestHead,
        path: &[u8],
        raw_path: &str,
        query: Option<&str>,
    ) -> (Result<Route, crate::proxy::RouteError>, Option<usize>) {
        let mut route = ctx.routes.route_path(server, path, raw_path, query);
        if route == Ok(Route::Local) && ctx.routes.servers[server].express.is_some() {
            route = ctx.express_route(server, head.header("host"), path, query);
        }
        let handler = match route {
            Ok(Route::Local) => ctx.routes.handler_for(server, path),
            _ => None,
        };
        (route, handler)
    }

    /// The `<Location>` / `<Proxy>` access rules of a proxied request: the path
    /// of the section that refuses the client, or None (allocates only to name
    /// the section that refused).
    fn access_denied(
        &self,
        ctx: &Ctx,
        server: usize,
        head: &RequestHead,
        path: &[u8],
        route: &Result<Route, crate::proxy::RouteError>,
    ) -> Option<String> {
        let Ok(r @ (Route::Proxy { .. } | Route::Balance { .. })) = route else {
            return None;
        };
        let a = ctx.routes.access_for(server, path, r)?;
        // `Allow from env=` reads what SetEnvIf made of the request.
        let (url, addrs) = (ctx.routes.url_of_route(r), (self.request_peer, self.local));
        let env = super::neighbour::access_env(ctx, server, head, a.compat, url, addrs);
        let client = self.request_peer.ip();
        if crate::handlers::rules_allow(a.require, a.compat, a.satisfy_any, client, &env) {
            return None;
        }
        Some(format!(
            "{} {}",
            a.last.section.tag(),
            a.last.section.text()
        ))
    }

    /// What mod_headers' `%{…}s` reads of the client's TLS connection.
    fn tls_facts(&self) -> Option<crate::rules::headers::Tls> {
        self.tls.as_ref().map(|t| t.facts())
    }

    /// [`Conn::answer_locally`], a redirect to `location` when there is one.
    #[allow(clippy::too_many_arguments)]
    fn answer_locally_at(
        &mut self,
        ctx: &mut Ctx,
        head: &RequestHead,
        server: usize,
        status: u16,
        why: &str,
        location: Option<&str>,
        keep_alive: bool,
    ) {
        // A local answer cannot leave an unread body behind on a kept connection.
        let keep_alive = keep_alive && head.framing == Framing::None;
        self.clean_end = head.framing == Framing::None;
        let banner = self.banner(ctx, Some((head, server)));
        let mut env = std::mem::take(&mut self.early_env);
        let (mut extra, notes) = local_always_headers(
            ctx,
            (server, &mut env),
            head,
            (self.request_peer, self.local),
            (self.tls_facts(), status),
        );
        if status == 405 {
            // RFC 9110 §15.5.6: a 405 names the allowed methods. The only one
            // slotgate writes here refuses TRACE (TraceEnable Off), and httpd
            // then sends an empty Allow (the corpus compares it).
            extra.push(crate::http::Header {
                name: "Allow".into(),
                value: Vec::new(),
            });
        }
        let n = match location {
            Some(at) => {
                respond::redirect(&mut self.output, status, at, keep_alive, &banner, &extra)
            }
            None => respond::error_with_headers(
                &mut self.output,
                status,
                why,
                keep_alive,
                &banner,
                &extra,
            ),
        };
        crate::http::give_header_list(extra);
        let wire = self.wire(match keep_alive {
            true => ConnStatus::KeepAlive,
            false => ConnStatus::Close,
        });
        log_request(
            ctx,
            &wire,
            &LocalAnswer {
                head,
                server,
                status,
                body_bytes: n,
                started: ctx.now,
                handler: None,
            },
            Some((&env, &notes)),
            &[],
        );
        env.clear();
        self.early_env = env;
        self.served += 1;
        self.state = if keep_alive {
            State::Head
        } else {
            State::Closing
        };
    }

    /// Picks a member for the exchange (again, after a failure before anything was
    /// sent) and opens the connection to it; answers 503 when there is none.
    pub(super) fn failover(&mut self, ctx: &mut Ctx, index: usize) {
        let State::Exchange(ex) = &mut self.state else {
            return;
        };
        match ex.choose_and_connect(ctx, index, self.id) {
            Ok(Started::Connecting | Started::Waiting) => {}
            Err(f) => self.fail(ctx, f),
        }
    }

    /// Whether the exchange waits for a pooled connection to be handed back.
    pub fn waits_for_pool(&self) -> bool {
        self.exchange().is_some_and(|e| e.waits_for_pool())
    }

    /// Moves bytes between the client and the member; returns whether anything moved.
    fn pump(&mut self, ctx: &mut Ctx, index: usize) -> bool {
        let State::Exchange(ex) = &mut self.state else {
            return false;
        };
        match ex.pump(ctx, &mut self.input, &mut self.output, self.eof) {
            Ok(true) if ex.is_complete() => {
                self.end_exchange(ctx, true);
                true
            }
            Ok(p) => p,
            Err(Detour::Retry) => {
                self.failover(ctx, index);
                true
            }
            Err(Detour::Replay) => {
                if let Err(f) = ex.replay(ctx) {
                    self.fail(ctx, f);
                }
                true
            }
            Err(Detour::Fail(f)) => {
                self.fail(ctx, f);
                true
            }
        }
    }

    /// Ends the exchange: accounts it, writes the access log, drops the member connection.
    pub(super) fn end_exchange(&mut self, ctx: &mut Ctx, completed: bool) {
        let mut ex = match std::mem::replace(&mut self.state, State::Closing) {
            State::Exchange(ex) => ex,
            other => {
                self.state = other;
                return;
            }
        };
        self.clean_end = completed && ex.request_read();
        ex.finish(ctx);
        let answered_in_full = std::mem::take(&mut self.answered_in_full);
        let connection = if completed && ex.keep_alive && !self.eof {
            ConnStatus::KeepAlive
        } else if completed || answered_in_full {
            ConnStatus::Close
        } else {
            ConnStatus::Aborted
        };
        let wire = self.wire(connection);
        let answer = LocalAnswer {
            head: &ex.head,
            server: ex.server,
            status: ex.status,
            body_bytes: ex.body_bytes,
            started: ex.started,
            handler: Some("proxy-server"),
        };
        let env = Some((&ex.env, &ex.notes));
        log_request(ctx, &wire, &answer, env, ex.response_headers());
        ctx.exchanges -= 1;
        self.served += 1;
        self.state = if completed && ex.keep_alive && !self.eof {
            State::Head
        } else {
            State::Closing
        };
        Exchange::recycle(ex);
    }

    /// Ends the exchange on `fault`: counts it against the member when it is
    /// the member's, logs it at its side's level (local faults were logged,
    /// rate-limited, where they happened), and answers with its status while
    /// nothing of a response reached the client; otherwise the close itself
    /// tells the client the response is cut short (no final chunk, or fewer
    /// bytes than announced).
    pub(super) fn fail(&mut self, ctx: &mut Ctx, fault: Fault) {
        let answered = self.exchange().is_some_and(|e| e.answered());
        let logged = !matches!(fault, Fault::Local(..));
        if let State::Exchange(ex) = &mut self.state {
            ex.count_fault(ctx, &fault);
            if !answered {
                ex.status = fault.status();
            }
            ex.keep_alive = false;
        }
        if !answered && fault.answerable() {
            if logged {
                log::log!(fault.level(), "{}", fault.why());
            }
            let request = self.exchange().map(|ex| (&ex.head, ex.server));
            let banner = self.banner(ctx, request);
            let facts = (self.request_peer.ip(), self.tls_facts(), fault.status());
            let extra = match self.exchange_mut() {
                Some(ex) => {
                    let mut notes = std::mem::take(&mut ex.notes);
                    let env = (&ex.env, &mut notes);
                    let extra = always_headers(ctx, ex.server, env, &ex.head, ex.route(), facts);
                    ex.notes = notes;
                    extra
                }
                None => Vec::new(),
            };
            let n = respond::error_with_headers(
                &mut self.output,
                fault.status(),
                fault.why(),
                false,
                &banner,
                &extra,
            );
            crate::http::give_header_list(extra);
            if let State::Exchange(ex) = &mut self.state {
                ex.body_bytes = n;
            }
            self.answered_in_full = true;
        } else if logged {
            log::log!(
                fault.level(),
                "{}; closing the client connection",
                fault.why()
            );
        }
        self.end_exchange(ctx, false);
        self.state = State::Closing;
    }

    /// The exchange in progress, if any.
    fn exchange(&self) -> Option<&Exchange> {
        match &self.state {
            State::Exchange(ex) => Some(ex),
            _ => None,
        }
    }

    fn exchange_mut(&mut self) -> Option<&mut Exchange> {
        match &mut self.state {
            State::Exchange(ex) => Some(ex),
            _ => None,
        }
    }

    /// Takes the local request out of `State::Local` (the state is then
    /// `Closing` until the answer sets it).
    fn take_local(&mut self) -> Option<Box<LocalRequest>> {
        match std::mem::replace(&mut self.state, State::Closing) {
            State::Local(local) => Some(local),
            other => {
                self.state = other;
                None
            }
        }
    }

    /// The connection's side of the request being logged; the next request's
    /// bytes count from here.
    fn wire(&mut self, connection: ConnStatus) -> Wire {
        let now = (self.input.consumed(), self.output.appended());
        let wire = Wire {
            peer: self.request_peer,
            socket_peer: self.socket_peer,
            local: self.local,
            received: now.0.saturating_sub(self.logged.0),
            sent: now.1.saturating_sub(self.logged.1),
            keep_alives: self.served,
            connection,
            default_port: if self.tls.is_some() { 443 } else { 80 },
        };
        self.logged = now;
        wire
    }

    /// Releases everything before the connection is dropped (closing the socket
    /// takes it out of the poll: no deregistration needed).
    pub fn close(&mut self, ctx: &mut Ctx) {
        self.end_exchange(ctx, false);
    }
}

/// Whether a (partial) request head holds its whole request line (leading
/// empty lines, which RFC 9112 §2.2 lets a server skip, aside).
fn request_line_complete(head: &[u8]) -> bool {
    let start = head
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(head.len());
    head[start..].contains(&b'\n')
}

/// mod_reqtimeout's deadline for a stage that began at `start` and has received
/// `bytes`: `first`, extended by a second per `min_rate` bytes, up to `max`.
pub(super) fn rate_deadline(start: Instant, bytes: usize, rt: RateTimeout) -> Instant {
    let mut allowed = rt.first;
    if rt.min_rate > 0 {
        allowed += Duration::from_secs_f64(bytes as f64 / f64::from(rt.min_rate));
    }
    if let Some(max) = rt.max {
        allowed = allowed.min(max);
    }
    start + allowed
}

/// mod_headers' `always` table for an answer slotgate writes itself (`note`
/// lines write into the request's notes).
fn always_headers(
    ctx: &Ctx,
    server: usize,
    (env, notes): (&crate::rules::env::Env, &mut crate::rules::env::Env),
    head: &RequestHead,
    route: &Route,
    facts: (std::net::IpAddr, Option<crate::rules::headers::Tls>, u16),
) -> Vec<crate::http::Header> {
    let rules = &ctx.routes.servers[server].neighbour_rules;
    let mut out = Vec::new();
    if !rules.edits_responses() {
        return out;
    }
    let request = &head.headers[..];
    let now = crate::rules::unix_us();
    let (peer, tls, status) = facts;
    let facts = crate::rules::headers::ExprFacts {
        head,
        peer,
        tls,
        status,
        content_type: Some("text/html; charset=utf-8"),
        env,
    };
    let workers = || crate::handlers::snapshot::worker_shares(&ctx.scoreboard);
    let rule_ctx = crate::rules::headers::RuleContext {
        env,
        started_us: now,
        now_us: now,
        request,
        facts: Some(&facts),
        workers: Some(&workers),
    };
    crate::recycle::with_bytes(|buf| {
        let at = super::exchange::place(ctx, route, &head.target, buf);
        rules.always_headers(at, &mut out, 0, &rule_ctx, notes);
    });
    out
}

/// [`always_headers`] for a request answered without an exchange: its
/// environment `env` (what mod_rewrite's `[E=]` set) gets what SetEnvIf and
/// SetEnv make of the request. Returns the headers and the notes (for the log
/// line, beside `env`).
fn local_always_headers(
    ctx: &Ctx,
    (server, env): (usize, &mut crate::rules::env::Env),
    head: &RequestHead,
    (peer, local): (std::net::SocketAddr, std::net::SocketAddr),
    (tls, status): (Option<crate::rules::headers::Tls>, u16),
) -> (Vec<crate::http::Header>, Env) {
    let rules = &ctx.routes.servers[server].neighbour_rules;
    let mut notes = Env::default();
    if rules.is_empty() {
        return (Vec::new(), notes);
    }
    let facts = crate::rules::setenvif::RequestFacts {
        method: &head.method,
        path: crate::url::split_target(&head.target).0,
        minor: head.minor,
        headers: &head.headers,
        peer,
        local,
    };
    crate::recycle::with_bytes(|buf| {
        let at = super::exchange::place(ctx, &Route::Local, &head.target, buf);
        rules.prepare_env(at, &facts, env);
    });
    let facts = (peer.ip(), tls, status);
    let out = always_headers(ctx, server, (&*env, &mut notes), head, &Route::Local, facts);
    (out, notes)
}

/// The request's values a log format looks up by name.
struct Lookups<'a> {
    head: &'a RequestHead,
    response: &'a [crate::http::Header],
    /// The request's environment and notes.
    env: Option<(&'a crate::rules::env::Env, &'a crate::rules::env::Env)>,
}

impl Lookup for Lookups<'_> {
    fn request_header(&self, name: &str) -> Option<&[u8]> {
        self.head.header(name)
    }

    fn response_header(&self, name: &str) -> Option<&[u8]> {
        self.response
            .iter()
            .find(|h| h.is(name))
            .map(|h| &h.value[..])
    }

    fn env(&self, name: &str) -> Option<&str> {
        self.env.and_then(|(e, _)| e.get(name))
    }

    fn note(&self, name: &str) -> Option<&str> {
        self.env.and_then(|(_, n)| n.get(name))
    }
}

/// Writes one line per CustomLog of the request's server (allocating nothing:
/// see `crate::logging::access`).
fn log_request(
    ctx: &Ctx,
    wire: &Wire,
    a: &LocalAnswer<'_>,
    env: Option<(&crate::rules::env::Env, &crate::rules::env::Env)>,
    response_headers: &[crate::http::Header],
) {
    let server = &ctx.routes.servers[a.server];
    if server.logs.is_empty() {
        return;
    }
    let head = a.head;
    let (path, query) = crate::url::split_target(&head.target);
    let lookups = Lookups {
        head,
        response: response_headers,
        env,
    };
    let record = Record {
        peer: wire.peer,
        connection_peer: wire.socket_peer,
        local: wire.local,
        method: &head.method,
        target: &head.target,
        path,
        query,
        protocol: if head.minor == 0 {
            "HTTP/1.0"
        } else {
            "HTTP/1.1"
        },
        status: a.status,
        body_bytes: a.body_bytes,
        received: wire.received,
        sent: wire.sent,
        micros: ctx.now.saturating_duration_since(a.started).as_micros() as u64,
        server_name: &server.server_name,
        default_port: wire.default_port,
        keep_alives: wire.keep_alives,
        connection: wire.connection,
        handler: a.handler,
        lookup: &lookups,
    };
    for &i in &server.logs {
        ctx.routes.logs[i].write(&record);
    }
}
