//! One client connection and, while a request is being proxied, its member
//! connection: the state machine of read head → route → connect → forward →
//! stream the response → keep-alive or close.

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::Interest;
use scoreboard::flags;

use super::buffer::{Buffer, Io};
use super::respond;
use super::{member_token, unix_ms, Ctx, LINGER};
use crate::http::{parse_request, parse_response, BodyReader, ChunkEncoder, Framing, RequestHead};
use crate::proxy::forward::{self, RequestContext, ResponseContext};
use crate::proxy::{reverse, Member, Route};

/// Most bytes buffered in one direction of a body before reading pauses.
const BODY_BUFFER: usize = 64 * 1024;
/// Most bytes of client input held while waiting for a request head.
const HEAD_BUFFER: usize = 64 * 1024 + 1;

/// What the event loop does with a connection after a step.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Wait for readiness or the connection's deadline.
    Wait,
    /// Close the connection now.
    Close,
}

#[derive(Debug, PartialEq, Eq)]
enum State {
    /// Waiting for (the rest of) a request head.
    Head,
    /// A request is being proxied (`exchange` is set).
    Exchange,
    /// Flush what is left for the client, then close.
    Closing,
    /// Output flushed and write side shut; discard input until EOF or the deadline.
    Lingering,
}

struct MemberConn {
    stream: TcpStream,
    connected: bool,
    readable: bool,
    writable: bool,
    eof: bool,
    input: Buffer,
    output: Buffer,
}

struct ResponseState {
    body: BodyReader,
    /// Re-chunk the body for the client.
    chunked_out: bool,
    finished: bool,
}

struct Exchange {
    member: usize,
    head_request: bool,
    client_minor: u8,
    /// The client asked for keep-alive and our limits allow it.
    keep_alive: bool,
    /// The client's Host header (for ProxyPassReverse).
    host: String,
    req_body: BodyReader,
    req_chunked: bool,
    req_last_chunk_sent: bool,
    conn: MemberConn,
    response: Option<ResponseState>,
    sent: u64,
    received: u64,
    started: Instant,
}

pub struct Conn {
    client: TcpStream,
    peer: SocketAddr,
    front_port: u16,
    input: Buffer,
    output: Buffer,
    readable: bool,
    writable: bool,
    eof: bool,
    state: State,
    exchange: Option<Box<Exchange>>,
    served: u32,
    pub id: u64,
    pub last_activity: Instant,
    /// Deadline of this connection's pending timer entry, if any.
    pub armed: Option<Instant>,
    /// Already queued for a drive in this loop iteration.
    pub dirty: bool,
}

/// Why an exchange ended early: the member failed before any of its response
/// reached the client (answer with `status`), or after (cut the client off).
enum Failure {
    Respond(u16, String),
    Abort(String),
}

impl Conn {
    pub fn new(
        client: TcpStream,
        peer: SocketAddr,
        front_port: u16,
        id: u64,
        now: Instant,
    ) -> Conn {
        Conn {
            client,
            peer,
            front_port,
            input: Buffer::new(),
            output: Buffer::new(),
            readable: false,
            writable: false,
            eof: false,
            state: State::Head,
            exchange: None,
            served: 0,
            id,
            last_activity: now,
            armed: None,
            dirty: false,
        }
    }

    pub fn mark_ready(&mut self, member_side: bool, readable: bool, writable: bool) {
        if member_side {
            if let Some(ex) = self.exchange.as_mut() {
                ex.conn.readable |= readable;
                ex.conn.writable |= writable;
            }
        } else {
            self.readable |= readable;
            self.writable |= writable;
        }
    }

    /// The inactivity limit of the current state.
    pub fn timeout(&self, ctx: &Ctx) -> Duration {
        let cfg = &ctx.config;
        match self.state {
            State::Head if self.served > 0 && self.input.is_empty() => cfg.keep_alive_timeout,
            State::Head | State::Closing => cfg.timeout,
            State::Lingering => LINGER,
            State::Exchange => match &self.exchange {
                Some(ex) if !ex.conn.connected => ctx.routes.members[ex.member].connect_timeout,
                Some(ex) => ctx.routes.members[ex.member].timeout,
                None => cfg.timeout,
            },
        }
    }

    pub fn on_timeout(&mut self, ctx: &mut Ctx) -> Step {
        if self.state != State::Exchange {
            return Step::Close;
        }
        let Some(ex) = self.exchange.as_ref() else {
            return Step::Close;
        };
        let member = &ctx.routes.members[ex.member];
        let failure = if !ex.conn.connected {
            member_error(ctx, member, "connect timed out");
            Failure::Respond(
                503,
                format!("connecting to member {} timed out", member.url.name),
            )
        } else if ex.response.is_none() {
            // httpd answers 502 here; RFC 9110 §15.6.5 says 504, and so do we.
            Failure::Respond(
                504,
                format!(
                    "member {} did not answer within {:?}",
                    member.url.name, member.timeout
                ),
            )
        } else {
            Failure::Abort(format!("member {} stalled mid-response", member.url.name))
        };
        self.fail(ctx, failure);
        self.drive_client_output();
        self.after_io(ctx)
    }

    /// Makes all the progress possible now.
    pub fn drive(&mut self, ctx: &mut Ctx, index: usize) -> Step {
        loop {
            let mut progress = false;
            match self.read_client(ctx) {
                Ok(p) => progress |= p,
                Err(_) => return Step::Close,
            }
            match self.state {
                State::Head => progress |= self.try_start(ctx, index),
                State::Exchange => progress |= self.pump_exchange(ctx),
                State::Closing | State::Lingering => {}
            }
            match self.write_client(ctx) {
                Ok(p) => progress |= p,
                Err(_) => return Step::Close,
            }
            if progress {
                self.last_activity = ctx.now;
            } else {
                break;
            }
        }
        self.after_io(ctx)
    }

    fn after_io(&mut self, _ctx: &mut Ctx) -> Step {
        match self.state {
            State::Head if self.eof => {
                if self.input.is_empty() && self.output.is_empty() {
                    return Step::Close;
                }
                if self.output.is_empty() {
                    return Step::Close;
                }
                self.state = State::Closing;
                Step::Wait
            }
            State::Head => {
                if self.input.is_empty() {
                    self.input.release_if_empty();
                }
                Step::Wait
            }
            State::Closing if self.output.is_empty() => {
                if self.eof {
                    return Step::Close;
                }
                let _ = self.client.shutdown(Shutdown::Write);
                self.state = State::Lingering;
                Step::Wait
            }
            State::Lingering if self.eof => Step::Close,
            _ => Step::Wait,
        }
    }

    fn wants_client_input(&self) -> bool {
        match self.state {
            State::Head => self.input.len() < HEAD_BUFFER,
            State::Exchange => self.input.len() < BODY_BUFFER,
            State::Closing => false,
            State::Lingering => true,
        }
    }

    fn read_client(&mut self, ctx: &Ctx) -> io::Result<bool> {
        if !self.readable || self.eof || !self.wants_client_input() {
            return Ok(false);
        }
        let limit = if self.state == State::Head {
            HEAD_BUFFER
        } else {
            BODY_BUFFER
        };
        match self.input.read_from(&mut self.client, limit)? {
            Io::Done(n) => {
                ctx.process().add_bytes_in(n as u64);
                if self.state == State::Lingering {
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
        if !self.writable || self.output.is_empty() {
            return Ok(false);
        }
        match self.output.write_to(&mut self.client)? {
            Io::Done(n) => {
                ctx.process().add_bytes_out(n as u64);
                if self.output.is_empty() {
                    self.output.release_if_empty();
                }
                Ok(n > 0)
            }
            Io::Eof => Ok(false),
            Io::WouldBlock => {
                self.writable = false;
                Ok(false)
            }
        }
    }

    /// A best-effort flush used outside `drive` (timeouts).
    fn drive_client_output(&mut self) {
        if !self.output.is_empty() {
            let _ = self.output.write_to(&mut self.client);
        }
    }

    /// In `Head`: parses a request head if one is complete and starts its exchange.
    fn try_start(&mut self, ctx: &mut Ctx, index: usize) -> bool {
        if self.input.is_empty() {
            return false;
        }
        let head = match parse_request(self.input.data()) {
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
                respond::error(&mut self.output, e.status, e.reason, false);
                self.state = State::Closing;
                return true;
            }
        };
        self.input.consume(head.len);
        ctx.process().add_request();
        ctx.process().set_last_used(unix_ms());
        let keep_alive = head.wants_keep_alive()
            && ctx.config.keep_alive
            && (ctx.config.max_keep_alive_requests == 0
                || self.served + 1 < ctx.config.max_keep_alive_requests)
            && !self.eof;
        // A local answer cannot leave an unread body behind on a kept connection.
        let local_keep_alive = keep_alive && head.framing == Framing::None;
        let route = ctx.routes.route(&head.target);
        match route {
            Err(e) => self.local(
                e.status,
                "the request path cannot be mapped",
                local_keep_alive,
            ),
            Ok(Route::Local) => {
                self.local(404, "no ProxyPass rule maps this URL", local_keep_alive)
            }
            Ok(Route::Proxy { member, target }) => {
                self.start_exchange(ctx, index, head, member, target, keep_alive)
            }
        }
        true
    }

    fn local(&mut self, status: u16, why: &str, keep_alive: bool) {
        respond::error(&mut self.output, status, why, keep_alive);
        self.served += 1;
        self.state = if keep_alive {
            State::Head
        } else {
            State::Closing
        };
    }

    fn start_exchange(
        &mut self,
        ctx: &mut Ctx,
        index: usize,
        head: RequestHead,
        member_id: usize,
        target: String,
        keep_alive: bool,
    ) {
        let member = &ctx.routes.members[member_id];
        let slot = ctx.scoreboard.member(member.slot);
        slot.add_elected();
        if !member_available(member, slot) {
            let msg = format!("member {} is in error state", member.url.name);
            log::error!("{msg}");
            self.local(503, &msg, keep_alive && head.framing == Framing::None);
            return;
        }
        let addr = member.addrs[0];
        let mut stream = match TcpStream::connect(addr) {
            Ok(s) => s,
            Err(e) => {
                member_error(ctx, member, &e.to_string());
                let msg = format!("connecting to member {}: {e}", member.url.name);
                self.local(503, &msg, keep_alive && head.framing == Framing::None);
                return;
            }
        };
        if let Err(e) = ctx.registry.register(
            &mut stream,
            member_token(index),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            log::error!("registering member connection: {e}");
            self.local(500, "internal error", false);
            return;
        }
        let _ = stream.set_nodelay(true);
        let mut output = Buffer::new();
        let mut head_bytes = Vec::with_capacity(512);
        let rctx = RequestContext {
            client_ip: self.peer.ip(),
            server_name: &ctx.config.server_name,
            front_port: self.front_port,
            preserve_host: ctx.config.proxy_preserve_host,
            add_headers: ctx.config.proxy_add_headers,
            via: ctx.config.proxy_via,
            member_host: &member.host_header,
        };
        forward::request_head(&mut head_bytes, &head, &target, head.framing, &rctx);
        output.extend(&head_bytes);
        slot.inc_busy();
        ctx.exchanges += 1;
        let host = head
            .header("host")
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .unwrap_or_else(|| format!("{}:{}", ctx.config.server_name, self.front_port));
        self.exchange = Some(Box::new(Exchange {
            member: member_id,
            head_request: head.is_head(),
            client_minor: head.minor,
            keep_alive,
            host,
            req_body: BodyReader::new(head.framing),
            req_chunked: head.framing == Framing::Chunked,
            req_last_chunk_sent: false,
            conn: MemberConn {
                stream,
                connected: false,
                readable: false,
                writable: false,
                eof: false,
                input: Buffer::new(),
                output,
            },
            response: None,
            sent: 0,
            received: 0,
            started: ctx.now,
        }));
        self.state = State::Exchange;
    }

    /// Moves bytes between the client and the member; returns whether anything moved.
    fn pump_exchange(&mut self, ctx: &mut Ctx) -> bool {
        match self.pump_exchange_inner(ctx) {
            Ok(p) => p,
            Err(f) => {
                self.fail(ctx, f);
                true
            }
        }
    }

    fn pump_exchange_inner(&mut self, ctx: &mut Ctx) -> Result<bool, Failure> {
        let Some(ex) = self.exchange.as_mut() else {
            return Ok(false);
        };
        let member = &ctx.routes.members[ex.member];
        let mut progress = false;
        if !ex.conn.connected {
            if !ex.conn.writable {
                return Ok(false);
            }
            match connect_result(&ex.conn.stream) {
                Ok(true) => {
                    ex.conn.connected = true;
                    let slot = ctx.scoreboard.member(member.slot);
                    slot.set_error_time(0);
                    progress = true;
                }
                Ok(false) => {
                    ex.conn.writable = false;
                    return Ok(false);
                }
                Err(e) => {
                    member_error(ctx, member, &e.to_string());
                    return Err(Failure::Respond(
                        503,
                        format!("connecting to member {}: {e}", member.url.name),
                    ));
                }
            }
        }
        // Client body → member.
        while !ex.req_body.is_done() && ex.conn.output.len() < BODY_BUFFER && !self.input.is_empty()
        {
            let room = BODY_BUFFER - ex.conn.output.len();
            let avail = &self.input.data()[..self.input.len().min(room)];
            let (used, data) = match ex.req_body.step(avail) {
                Ok(r) => r,
                Err(e) => {
                    return Err(if ex.response.is_none() {
                        Failure::Respond(
                            400,
                            format!("client {}: bad request body: {e}", self.peer),
                        )
                    } else {
                        Failure::Abort(format!("client {}: bad request body: {e}", self.peer))
                    });
                }
            };
            if used == 0 {
                break;
            }
            if ex.req_chunked {
                if !data.is_empty() {
                    let mut h = Vec::with_capacity(ChunkEncoder::OVERHEAD);
                    ChunkEncoder::head(&mut h, data.len());
                    ex.conn.output.extend(&h);
                    ex.conn.output.extend(&avail[data]);
                    ex.conn.output.extend(b"\r\n");
                }
            } else {
                ex.conn.output.extend(&avail[data]);
            }
            self.input.consume(used);
            progress = true;
        }
        if ex.req_chunked && ex.req_body.is_done() && !ex.req_last_chunk_sent {
            ex.conn.output.extend(ChunkEncoder::LAST);
            ex.req_last_chunk_sent = true;
        }
        if self.eof && !ex.req_body.is_done() && self.input.is_empty() {
            return Err(Failure::Abort(format!(
                "client {} closed during its request body",
                self.peer
            )));
        }
        // → member socket.
        while ex.conn.writable && !ex.conn.output.is_empty() {
            match ex.conn.output.write_to(&mut ex.conn.stream) {
                Ok(Io::Done(n)) => {
                    ex.sent += n as u64;
                    progress = true;
                }
                Ok(Io::WouldBlock) | Ok(Io::Eof) => ex.conn.writable = false,
                Err(e) if ex.response.is_some() => {
                    // The member answered early and stopped reading: not an error for the answer.
                    ex.conn.output = Buffer::new();
                    ex.keep_alive = false;
                    log::debug!(
                        "member {} stopped reading the request body: {e}",
                        member.url.name
                    );
                }
                Err(e) => {
                    return Err(Failure::Respond(
                        502,
                        format!("sending the request to member {}: {e}", member.url.name),
                    ))
                }
            }
        }
        // Member socket → buffer.
        while ex.conn.readable && !ex.conn.eof && ex.conn.input.len() < BODY_BUFFER {
            match ex.conn.input.read_from(&mut ex.conn.stream, BODY_BUFFER) {
                Ok(Io::Done(n)) => {
                    ex.received += n as u64;
                    progress = true;
                }
                Ok(Io::Eof) => {
                    ex.conn.eof = true;
                    progress = true;
                }
                Ok(Io::WouldBlock) => ex.conn.readable = false,
                Err(e) => {
                    log::debug!("reading from member {}: {e}", member.url.name);
                    ex.conn.eof = true;
                    progress = true;
                }
            }
        }
        // Response head.
        while ex.response.is_none() && !ex.conn.input.is_empty() {
            let head = match parse_response(ex.conn.input.data(), ex.head_request) {
                Ok(Some(h)) => h,
                Ok(None) => break,
                Err(e) => {
                    return Err(Failure::Respond(
                        502,
                        format!("member {}: {}", member.url.name, e.reason),
                    ))
                }
            };
            ex.conn.input.consume(head.len);
            progress = true;
            if (100..200).contains(&head.status) {
                if head.status == 101 {
                    return Err(Failure::Respond(
                        502,
                        format!("member {} switched protocols unasked", member.url.name),
                    ));
                }
                if ex.client_minor == 1 {
                    self.output.extend(
                        format!("HTTP/1.1 {} {}\r\n\r\n", head.status, head.reason).as_bytes(),
                    );
                }
                continue;
            }
            // The request body must be complete for the connection to stay usable.
            if !ex.req_body.is_done() {
                ex.keep_alive = false;
            }
            let framing = match head.framing {
                Framing::None => Framing::None,
                Framing::Length(n) => Framing::Length(n),
                Framing::Chunked | Framing::Close if ex.client_minor == 1 => Framing::Chunked,
                Framing::Chunked | Framing::Close => {
                    ex.keep_alive = false;
                    Framing::Close
                }
            };
            let rules = &ctx.config.proxy_pass_reverse;
            let host = ex.host.as_str();
            let map = |v: &str| reverse::map(rules, v, host);
            let rctx = ResponseContext {
                client_minor: ex.client_minor,
                server_name: &ctx.config.server_name,
                front_port: self.front_port,
                via: ctx.config.proxy_via,
                framing,
                keep_alive: ex.keep_alive,
                reverse: &map,
            };
            let mut out = Vec::with_capacity(512);
            forward::response_head(&mut out, &head, &rctx);
            self.output.extend(&out);
            ex.response = Some(ResponseState {
                body: BodyReader::new(head.framing),
                chunked_out: framing == Framing::Chunked,
                finished: false,
            });
        }
        if ex.response.is_none() && ex.conn.eof {
            return Err(Failure::Respond(
                502,
                format!(
                    "member {} closed the connection without a response",
                    member.url.name
                ),
            ));
        }
        // Response body → client buffer.
        if let Some(resp) = ex.response.as_mut() {
            while !resp.finished && self.output.len() < BODY_BUFFER && !ex.conn.input.is_empty() {
                let room = BODY_BUFFER - self.output.len();
                let avail = &ex.conn.input.data()[..ex.conn.input.len().min(room)];
                let (used, data) = match resp.body.step(avail) {
                    Ok(r) => r,
                    Err(e) => {
                        return Err(Failure::Abort(format!(
                            "member {}: response body: {e}",
                            member.url.name
                        )))
                    }
                };
                if used == 0 {
                    break;
                }
                if resp.chunked_out {
                    if !data.is_empty() {
                        let mut h = Vec::with_capacity(ChunkEncoder::OVERHEAD);
                        ChunkEncoder::head(&mut h, data.len());
                        self.output.extend(&h);
                        self.output.extend(&avail[data]);
                        self.output.extend(b"\r\n");
                    }
                } else {
                    self.output.extend(&avail[data]);
                }
                ex.conn.input.consume(used);
                progress = true;
                if resp.body.is_done() {
                    break;
                }
            }
            if !resp.body.is_done() && ex.conn.eof && ex.conn.input.is_empty() {
                if let Err(e) = resp.body.finish_on_eof() {
                    return Err(Failure::Abort(format!(
                        "member {}: response body: {e}",
                        member.url.name
                    )));
                }
            }
            if resp.body.is_done() && !resp.finished {
                resp.finished = true;
                if resp.chunked_out {
                    self.output.extend(ChunkEncoder::LAST);
                }
                progress = true;
            }
            if resp.finished && (ex.req_body.is_done() || !ex.keep_alive) {
                self.end_exchange(ctx, true);
                return Ok(true);
            }
        }
        Ok(progress)
    }

    /// Ends the exchange: accounts it on the member slot and drops the member connection.
    fn end_exchange(&mut self, ctx: &mut Ctx, completed: bool) {
        let Some(mut ex) = self.exchange.take() else {
            return;
        };
        let _ = ctx.registry.deregister(&mut ex.conn.stream);
        let member = &ctx.routes.members[ex.member];
        let slot = ctx.scoreboard.member(member.slot);
        slot.dec_busy();
        slot.add_request();
        slot.add_transferred(ex.sent);
        slot.add_read(ex.received);
        slot.record_latency_us(ctx.now.duration_since(ex.started).as_micros() as u64);
        ctx.exchanges -= 1;
        self.served += 1;
        self.state = if completed && ex.keep_alive && !self.eof {
            State::Head
        } else {
            State::Closing
        };
    }

    fn fail(&mut self, ctx: &mut Ctx, failure: Failure) {
        match failure {
            Failure::Respond(status, msg)
                if self.exchange.as_ref().is_some_and(|e| e.response.is_none()) =>
            {
                log::error!("{msg}");
                self.end_exchange(ctx, false);
                respond::error(&mut self.output, status, &msg, false);
                self.state = State::Closing;
            }
            Failure::Respond(_, msg) | Failure::Abort(msg) => {
                log::error!("{msg}; closing the client connection");
                self.end_exchange(ctx, false);
                // Whatever was already buffered for the client goes out; the missing rest
                // is signalled by the close (no final chunk, or fewer bytes than announced).
                self.state = State::Closing;
            }
        }
    }

    /// Releases everything before the connection is dropped.
    pub fn close(&mut self, ctx: &mut Ctx) {
        self.end_exchange(ctx, false);
        let _ = ctx.registry.deregister(&mut self.client);
    }
}

/// Whether a non-blocking connect finished: Ok(true) connected, Ok(false) still going.
fn connect_result(stream: &TcpStream) -> io::Result<bool> {
    if let Some(e) = stream.take_error()? {
        return Err(e);
    }
    match stream.peer_addr() {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(e) => Err(e),
    }
}

/// A member may take a request unless it is in error state and its `retry` has not
/// passed (reference §3.6); an expired error is cleared here.
fn member_available(member: &Member, slot: &scoreboard::MemberSlot) -> bool {
    let status = slot.status();
    if status & (flags::DISABLED | flags::STOPPED) != 0 {
        return false;
    }
    if status & flags::ERROR == 0 {
        return true;
    }
    if status & flags::IGNORE_ERRORS != 0
        || unix_ms() > slot.error_time() + member.retry.as_millis() as u64
    {
        slot.clear_flags(flags::ERROR);
        slot.add_retry();
        return true;
    }
    false
}

/// Records a failure to reach a member: its error count and time, and error state
/// unless the member ignores errors (standalone workers do, as in httpd).
fn member_error(ctx: &Ctx, member: &Member, why: &str) {
    let slot = ctx.scoreboard.member(member.slot);
    slot.add_error();
    slot.set_error_time(unix_ms());
    if slot.status() & flags::IGNORE_ERRORS == 0 && slot.status() & flags::ERROR == 0 {
        slot.set_flags(flags::ERROR);
        log::error!("member {} is now in error state: {why}", member.url.name);
    }
}
