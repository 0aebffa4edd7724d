//! Wire-level helpers for the strictness, limit, timeout, pool, upgrade and
//! streaming tests.
//!
//! - `RawOrigin`: a TCP origin on 127.0.0.1:0 whose every accepted connection
//!   is handed to a closure the test writes, on a thread of its own. The
//!   closure reads requests with `RawConn` and answers whatever bytes it likes
//!   (malformed responses, `101 Switching Protocols` and an echo, a body sent
//!   piece by piece). The origin counts accepted connections, connections open
//!   at once, requests in progress at once, and bytes received, and keeps every
//!   complete request it read.
//! - `http_origin`: a `RawOrigin` that answers every request with a small
//!   keep-alive `200` (Content-Length), after a hook the test gives.
//! - `Gate`: a one-way latch a test opens to let held origin threads go on.
//! - `Wire`: a client connection read piece by piece: one response head at a
//!   time (interim ones included), the body as it arrives, raw tunnel bytes,
//!   and the end of the stream.
//!
//! Every wait is bounded; everything listens and connects on 127.0.0.1.

use super::origin::join_within;
use super::{poll_every, Response, Slotgate, BASE_CONF};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Default bound of the waits below (a read that gets nothing, a head, a close).
pub const WIRE_WAIT: Duration = Duration::from_secs(10);
/// How long an origin connection waits for a request before giving up on it.
const ORIGIN_IDLE: Duration = Duration::from_secs(30);
/// How often blocked origin reads wake up to look at the shutdown flag.
const ORIGIN_POLL: Duration = Duration::from_millis(20);
/// How long `Drop` waits for the origin's threads.
const STOP_WAIT: Duration = Duration::from_secs(3);
/// Largest head either side reads before giving up.
const HEAD_LIMIT: usize = 512 * 1024;
/// Header fields either side can parse in one head.
const MAX_FIELDS: usize = 512;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking handler must not take the whole origin down.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Position of `needle` in `haystack`.
pub fn find_bytes(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
    )
}

/// One complete request as a `RawOrigin` read it.
#[derive(Clone, Debug)]
pub struct RawRequest {
    pub method: String,
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor: u8,
    pub headers: Vec<(String, String)>,
    /// The head verbatim, final CRLF included.
    pub head: Vec<u8>,
    /// The body, chunked framing removed.
    pub body: Vec<u8>,
    /// Which connection of the origin carried it (0, 1, … in accept order).
    pub connection: usize,
}

impl RawRequest {
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        super::header_values(&self.headers, name)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_all(name).into_iter().next()
    }

    /// Whether header `name` holds `token` in its comma-separated list.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.header_all(name)
            .iter()
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// Whether the sender asked to close the connection after this exchange.
    pub fn wants_close(&self) -> bool {
        if self.minor == 0 {
            !self.has_token("connection", "keep-alive")
        } else {
            self.has_token("connection", "close")
        }
    }

    fn chunked(&self) -> bool {
        self.header_all("transfer-encoding")
            .iter()
            .any(|v| v.to_ascii_lowercase().contains("chunked"))
    }
}

struct Shared {
    name: String,
    accepted: AtomicUsize,
    open: AtomicUsize,
    max_open: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    bytes_in: AtomicUsize,
    bytes_framed: AtomicUsize,
    requests: Mutex<Vec<RawRequest>>,
    shutdown: AtomicBool,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

type Handler = Arc<dyn Fn(&mut RawConn) + Send + Sync>;

/// An origin whose connections are served by a closure; stops when dropped.
pub struct RawOrigin {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl RawOrigin {
    /// Listens on 127.0.0.1:0 and runs `handler` for each accepted connection
    /// on a thread of its own; the connection is closed when it returns.
    pub fn start<F>(name: &str, handler: F) -> RawOrigin
    where
        F: Fn(&mut RawConn) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding an origin on 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("making the origin's listener non-blocking");
        let addr = listener.local_addr().expect("origin address");
        let shared = Arc::new(Shared {
            name: name.to_string(),
            accepted: AtomicUsize::new(0),
            open: AtomicUsize::new(0),
            max_open: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            bytes_in: AtomicUsize::new(0),
            bytes_framed: AtomicUsize::new(0),
            requests: Mutex::new(Vec::new()),
            shutdown: AtomicBool::new(false),
            threads: Mutex::new(Vec::new()),
        });
        let handler: Handler = Arc::new(handler);
        let for_acceptor = Arc::clone(&shared);
        let acceptor = thread::Builder::new()
            .name(format!("raw-{name}-accept"))
            .spawn(move || accept_loop(listener, for_acceptor, handler))
            .expect("spawning the origin's accept thread");
        RawOrigin {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// `127.0.0.1:PORT`
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connections whose handler is still running.
    pub fn open(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }

    /// The most connections that were open at once.
    pub fn max_open(&self) -> usize {
        self.shared.max_open.load(Ordering::SeqCst)
    }

    /// Requests being held by `http_origin`'s hook right now.
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// The most requests that were in progress at once (see `RawConn::busy`).
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }

    /// Bytes received on all connections.
    pub fn bytes_in(&self) -> usize {
        self.shared.bytes_in.load(Ordering::SeqCst)
    }

    /// Bytes taken up by complete request heads and bodies; `bytes_in()`
    /// minus this is what arrived without forming a complete request.
    pub fn bytes_framed(&self) -> usize {
        self.shared.bytes_framed.load(Ordering::SeqCst)
    }

    /// Every complete request read so far, in the order they were read.
    pub fn requests(&self) -> Vec<RawRequest> {
        lock(&self.shared.requests).clone()
    }

    pub fn request_count(&self) -> usize {
        lock(&self.shared.requests).len()
    }

    /// Waits (at most `timeout`) until `check` holds; false if it never did.
    pub fn wait_until(&self, timeout: Duration, check: impl Fn(&RawOrigin) -> bool) -> bool {
        poll_every(Duration::from_millis(5), timeout, || {
            check(self).then_some(())
        })
        .is_some()
    }

    /// One line for assertion messages.
    pub fn summary(&self) -> String {
        format!(
            "origin {}: accepted {} open {} (max {}) in flight max {} bytes in {} framed {} requests {:?}",
            self.name(),
            self.accepted(),
            self.open(),
            self.max_open(),
            self.max_in_flight(),
            self.bytes_in(),
            self.bytes_framed(),
            self.requests()
                .iter()
                .map(|r| format!("{} {} (conn {})", r.method, r.target, r.connection))
                .collect::<Vec<_>>()
        )
    }
}

impl Drop for RawOrigin {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + STOP_WAIT;
        let mut handles: Vec<JoinHandle<()>> = self.acceptor.take().into_iter().collect();
        handles.extend(lock(&self.shared.threads).drain(..));
        for h in handles {
            // A thread still blocked after the deadline is left behind; its
            // socket timeouts end it.
            join_within(h, deadline);
        }
    }
}

/// Decrements the open count when a connection thread ends, even by a panic.
struct OpenGuard(Arc<Shared>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>, handler: Handler) {
    while !shared.shutdown.load(Ordering::SeqCst) {
        let stream = match listener.accept() {
            Ok((stream, _)) => stream,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => {
                // Idle wait of the non-blocking accept (it looks at the
                // shutdown flag in between), not a wait on a fact.
                thread::sleep(Duration::from_millis(2));
                continue;
            }
        };
        let index = shared.accepted.fetch_add(1, Ordering::SeqCst);
        let open = shared.open.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_open.fetch_max(open, Ordering::SeqCst);
        let guard = OpenGuard(Arc::clone(&shared));
        let for_conn = Arc::clone(&shared);
        let handler = Arc::clone(&handler);
        let spawned = thread::Builder::new()
            .name(format!("raw-{}-conn{index}", shared.name))
            .spawn(move || {
                let _guard = guard;
                let mut conn = RawConn::new(stream, for_conn, index);
                handler(&mut conn);
            });
        if let Ok(handle) = spawned {
            let mut threads = lock(&shared.threads);
            threads.retain(|t| !t.is_finished());
            threads.push(handle);
        }
    }
}

/// Marks a request in progress at its origin while alive (see `RawConn::busy`).
pub struct InFlight(Arc<Shared>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One accepted origin connection, as the handler sees it.
pub struct RawConn {
    stream: TcpStream,
    buf: Vec<u8>,
    index: usize,
    shared: Arc<Shared>,
}

impl RawConn {
    fn new(stream: TcpStream, shared: Arc<Shared>, index: usize) -> RawConn {
        let _ = stream.set_nonblocking(false);
        let _ = stream.set_read_timeout(Some(ORIGIN_POLL));
        let _ = stream.set_write_timeout(Some(WIRE_WAIT));
        let _ = stream.set_nodelay(true);
        RawConn {
            stream,
            buf: Vec::new(),
            index,
            shared,
        }
    }

    /// This connection's number (0, 1, … in accept order).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The origin's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// Whether the origin is being dropped.
    pub fn stopping(&self) -> bool {
        self.shared.shutdown.load(Ordering::SeqCst)
    }

    /// Requests in progress at the whole origin right now.
    pub fn origin_in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::SeqCst)
    }

    /// Counts one request in progress at the origin until the guard is dropped
    /// (for the origin's `max_in_flight`).
    pub fn busy(&self) -> InFlight {
        let now = self.shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(Arc::clone(&self.shared))
    }

    /// Reads more input into the buffer: Ok(n > 0), Ok(0) at end of input, an
    /// error after `deadline`, on shutdown or on a socket error.
    fn fill(&mut self, deadline: Instant) -> io::Result<usize> {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            if self.stopping() {
                return Err(io::Error::other("origin stopping"));
            }
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    self.shared.bytes_in.fetch_add(n, Ordering::SeqCst);
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if is_timeout(&e) => {
                    if Instant::now() >= deadline {
                        return Err(io::Error::new(io::ErrorKind::TimedOut, "no input"));
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Takes `n` buffered bytes that belong to a request's framing.
    fn consume(&mut self, n: usize) -> Vec<u8> {
        self.shared.bytes_framed.fetch_add(n, Ordering::SeqCst);
        self.buf.drain(..n).collect()
    }

    /// Reads the next request head (waiting up to 30 s for it). None at end
    /// of input, on a timeout, on shutdown, or when the head does not parse.
    /// The body is left unread: see `read_body`.
    pub fn read_head(&mut self) -> Option<RawRequest> {
        let deadline = Instant::now() + ORIGIN_IDLE;
        let end = loop {
            if let Some(end) = find_bytes(&self.buf, b"\r\n\r\n") {
                break end + 4;
            }
            if self.buf.len() > HEAD_LIMIT {
                return None;
            }
            match self.fill(deadline) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        };
        let mut fields = vec![httparse::EMPTY_HEADER; MAX_FIELDS];
        let mut parsed = httparse::Request::new(&mut fields);
        match parsed.parse(&self.buf[..end]) {
            Ok(httparse::Status::Complete(_)) => {}
            _ => return None,
        }
        let request = RawRequest {
            method: parsed.method.unwrap_or("").to_string(),
            target: parsed.path.unwrap_or("").to_string(),
            minor: parsed.version.unwrap_or(1),
            headers: parsed
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_string(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect(),
            head: Vec::new(),
            body: Vec::new(),
            connection: self.index,
        };
        let head = self.consume(end);
        Some(RawRequest { head, ..request })
    }

    /// One CRLF-terminated line of body framing, CRLF removed.
    fn framing_line(&mut self, deadline: Instant) -> Option<Vec<u8>> {
        loop {
            if let Some(end) = find_bytes(&self.buf, b"\r\n") {
                let mut line = self.consume(end + 2);
                line.truncate(end);
                return Some(line);
            }
            if self.buf.len() > HEAD_LIMIT {
                return None;
            }
            match self.fill(deadline) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }

    fn body_bytes(&mut self, n: usize, deadline: Instant) -> Option<Vec<u8>> {
        while self.buf.len() < n {
            match self.fill(deadline) {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            }
        }
        Some(self.consume(n))
    }

    /// Reads the body of `request` (Content-Length or chunked) into
    /// `request.body` and records the request. False (nothing recorded) if
    /// the body is malformed or ends early.
    pub fn read_body(&mut self, request: &mut RawRequest) -> bool {
        let deadline = Instant::now() + ORIGIN_IDLE;
        let mut body = Vec::new();
        if request.chunked() {
            loop {
                let Some(line) = self.framing_line(deadline) else {
                    return false;
                };
                let text = String::from_utf8_lossy(&line);
                let size_text = text.split(';').next().unwrap_or("").trim();
                let Ok(size) = usize::from_str_radix(size_text, 16) else {
                    return false;
                };
                if size == 0 {
                    break;
                }
                let Some(data) = self.body_bytes(size, deadline) else {
                    return false;
                };
                body.extend_from_slice(&data);
                match self.framing_line(deadline) {
                    Some(l) if l.is_empty() => {}
                    _ => return false,
                }
            }
            loop {
                match self.framing_line(deadline) {
                    Some(l) if l.is_empty() => break,
                    Some(_) => {}
                    None => return false,
                }
            }
        } else if let Some(cl) = request.header("content-length") {
            let Ok(n) = cl.trim().parse::<usize>() else {
                return false;
            };
            let Some(data) = self.body_bytes(n, deadline) else {
                return false;
            };
            body = data;
        }
        request.body = body;
        lock(&self.shared.requests).push(request.clone());
        true
    }

    /// `read_head` then `read_body`: the next complete request, recorded.
    pub fn read_request(&mut self) -> Option<RawRequest> {
        let mut request = self.read_head()?;
        self.read_body(&mut request).then_some(request)
    }

    /// Writes `bytes`; false if the peer is gone.
    pub fn write(&mut self, bytes: &[u8]) -> bool {
        self.stream
            .write_all(bytes)
            .and_then(|_| self.stream.flush())
            .is_ok()
    }

    /// Writes a response: status line, `X-Origin: NAME`, `headers`,
    /// `Content-Length`, then `body`.
    pub fn respond(&mut self, status: u16, headers: &[(&str, &str)], body: &[u8]) -> bool {
        let mut out = format!(
            "HTTP/1.1 {status} {}\r\nX-Origin: {}\r\n",
            super::origin::reason(status),
            self.name()
        );
        for (n, v) in headers {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut bytes = out.into_bytes();
        bytes.extend_from_slice(body);
        self.write(&bytes)
    }

    /// The bytes buffered or arriving next (within `timeout`): Ok(non-empty),
    /// Ok(empty) at end of input, an error on timeout, reset or shutdown.
    pub fn read_some(&mut self, timeout: Duration) -> io::Result<Vec<u8>> {
        if self.buf.is_empty() && self.fill(Instant::now() + timeout)? == 0 {
            return Ok(Vec::new());
        }
        Ok(std::mem::take(&mut self.buf))
    }

    /// Reads and drops input until the peer closes (true) or `timeout` passes
    /// or the connection fails otherwise (false).
    pub fn wait_eof(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            self.buf.clear();
            match self.fill(deadline) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) => return is_reset(&e),
            }
        }
    }

    /// Closes the sending side (the peer reads end of input).
    pub fn shutdown_write(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Closes both sides at once.
    pub fn close(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Makes the coming close a reset (SO_LINGER 0): the peer's next read
    /// fails with "connection reset" instead of seeing end of input.
    pub fn reset_on_close(&mut self) {
        let _ = socket2::SockRef::from(&self.stream).set_linger(Some(Duration::ZERO));
    }
}

/// An origin answering every request with `200` and a body naming the origin,
/// the connection and the target (`NAME conn C TARGET`), keeping the
/// connection open unless the request asks to close it. `before` runs after
/// each request was read and before it is answered, with the request counted
/// in progress (`max_in_flight`); it may wait, to make the origin slow.
pub fn http_origin<F>(name: &str, before: F) -> RawOrigin
where
    F: Fn(&RawRequest, &RawConn) + Send + Sync + 'static,
{
    RawOrigin::start(name, move |conn| {
        while let Some(request) = conn.read_request() {
            let busy = conn.busy();
            before(&request, conn);
            drop(busy);
            let body = format!("{} conn {} {}", conn.name(), conn.index(), request.target);
            let close = request.wants_close();
            let headers: &[(&str, &str)] = if close {
                &[("Connection", "close")]
            } else {
                &[]
            };
            if !conn.respond(200, headers, body.as_bytes()) || close {
                return;
            }
        }
    })
}

/// An origin for upgraded connections (WebSocket and the like): a request that
/// asks for an upgrade (`Upgrade` with `Connection: upgrade`) is answered
/// `101 Switching Protocols` (its Upgrade value echoed, `X-Origin: NAME`,
/// `X-Target: TARGET`), then every byte is echoed back until the client
/// closes; any other request gets `200` with `X-Origin: NAME` and a body
/// naming its target.
pub fn upgrade_echo_origin(name: &str) -> RawOrigin {
    RawOrigin::start(name, |conn| {
        while let Some(request) = conn.read_request() {
            let upgrade = request.header("upgrade").map(str::to_string);
            let Some(protocol) = upgrade.filter(|_| request.has_token("connection", "upgrade"))
            else {
                let body = format!("{} plain {}", conn.name(), request.target);
                if !conn.respond(200, &[], body.as_bytes()) {
                    return;
                }
                continue;
            };
            let head = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: {protocol}\r\nConnection: Upgrade\r\n\
                 X-Origin: {}\r\nX-Target: {}\r\n\r\n",
                conn.name(),
                request.target
            );
            if !conn.write(head.as_bytes()) {
                return;
            }
            while let Ok(bytes) = conn.read_some(Duration::from_secs(30)) {
                if bytes.is_empty() || !conn.write(&bytes) {
                    return;
                }
            }
            return;
        }
    })
}

/// Replaces `{name}` in `template` with `127.0.0.1:PORT` of the raw origin of
/// that name; panics if a `{a}`-style placeholder of one letter is left.
pub fn render_raw(template: &str, origins: &[&RawOrigin]) -> String {
    let mut text = template.to_string();
    for origin in origins {
        text = text.replace(&format!("{{{}}}", origin.name()), &origin.addr());
    }
    for c in 'a'..='z' {
        assert!(
            !text.contains(&format!("{{{c}}}")),
            "unfilled placeholder {{{c}}} in config:\n{text}"
        );
    }
    text
}

/// Starts slotgate on `BASE_CONF` (one worker process) followed by `rules`
/// with `{name}` replaced by the address of the raw origin of that name.
pub fn start_proxy_raw(rules: &str, origins: &[&RawOrigin]) -> Slotgate {
    Slotgate::start(&format!("{BASE_CONF}{}", render_raw(rules, origins)))
}

/// A latch: threads `wait` (bounded) until a test `open`s it; open stays open.
#[derive(Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    pub fn new() -> Gate {
        Gate::default()
    }

    pub fn open(&self) {
        let (flag, cond) = &*self.0;
        *lock(flag) = true;
        cond.notify_all();
    }

    /// Waits until open, at most `timeout`; whether it is open.
    pub fn wait(&self, timeout: Duration) -> bool {
        let (flag, cond) = &*self.0;
        let deadline = Instant::now() + timeout;
        let mut open = lock(flag);
        while !*open {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            open = cond
                .wait_timeout(open, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }
}

/// How the rest of a response body is delimited on a `Wire`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyLeft {
    /// No body (or it was read to its end).
    Done,
    Length(u64),
    /// Chunked; Some(n): n bytes of the current chunk left, None: at a size line.
    Chunked(Option<u64>),
    /// Until the connection closes.
    Close,
}

/// How a stream ended in `Wire::read_to_close`.
#[derive(Clone, Debug)]
pub struct Ending {
    /// Everything read.
    pub bytes: Vec<u8>,
    /// Whether the peer closed (end of input or reset); false if the wait ran out.
    pub closed: bool,
}

/// A client connection read piece by piece.
pub struct Wire {
    stream: TcpStream,
    buf: Vec<u8>,
    port: u16,
    body: BodyLeft,
}

impl Wire {
    /// Connects to 127.0.0.1:`port`; panics if it cannot.
    pub fn connect(port: u16) -> Wire {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("connecting to 127.0.0.1:{port}: {e}"));
        stream.set_read_timeout(Some(WIRE_WAIT)).unwrap();
        stream.set_write_timeout(Some(WIRE_WAIT)).unwrap();
        let _ = stream.set_nodelay(true);
        Wire {
            stream,
            buf: Vec::new(),
            port,
            body: BodyLeft::Done,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The underlying socket (for timeouts or a non-blocking peek).
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// Writes `bytes`; panics if it cannot.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap_or_else(|e| {
            panic!(
                "writing {} bytes to 127.0.0.1:{}: {e}",
                bytes.len(),
                self.port
            )
        });
    }

    /// Writes `bytes`, reporting failure (the server may refuse and close early).
    pub fn try_send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes)
    }

    /// Closes our sending side (the server reads end of input).
    pub fn shutdown_write(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Reads more input, each read bounded by `timeout`; Ok(0) at end of input.
    fn fill(&mut self, timeout: Duration) -> Result<usize, String> {
        self.stream.set_read_timeout(Some(timeout)).unwrap();
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(format!(
                        "read from 127.0.0.1:{} failed ({e}) with {} bytes buffered: {:?}",
                        self.port,
                        self.buf.len(),
                        String::from_utf8_lossy(&self.buf[..self.buf.len().min(300)])
                    ))
                }
            }
        }
    }

    /// Reads the next response head, interim ones (1xx) included, within
    /// `timeout` for each read. `method` is the request's (a HEAD response has
    /// no body). The body is left for `next_body_bytes` / `read_body`.
    pub fn read_head(&mut self, method: &str, timeout: Duration) -> Result<Response, String> {
        let end = loop {
            if let Some(end) = find_bytes(&self.buf, b"\r\n\r\n") {
                break end + 4;
            }
            if self.buf.len() > HEAD_LIMIT {
                return Err("response head too large".to_string());
            }
            if self.fill(timeout)? == 0 {
                return Err(format!(
                    "connection closed before a complete response head (got {:?})",
                    String::from_utf8_lossy(&self.buf)
                ));
            }
        };
        let raw: Vec<u8> = self.buf.drain(..end).collect();
        let mut fields = vec![httparse::EMPTY_HEADER; MAX_FIELDS];
        let mut parsed = httparse::Response::new(&mut fields);
        match parsed.parse(&raw) {
            Ok(httparse::Status::Complete(_)) => {}
            other => {
                return Err(format!(
                    "unparsable response head {:?}: {other:?}",
                    String::from_utf8_lossy(&raw)
                ))
            }
        }
        let headers: Vec<(String, String)> = parsed
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect();
        let status = parsed.code.unwrap_or(0);
        let chunked = super::header_values(&headers, "transfer-encoding")
            .iter()
            .any(|v| v.to_ascii_lowercase().contains("chunked"));
        let length = super::header_values(&headers, "content-length")
            .first()
            .map(|v| v.trim().parse::<u64>());
        self.body = if method.eq_ignore_ascii_case("HEAD")
            || (100..200).contains(&status)
            || status == 204
            || status == 304
        {
            BodyLeft::Done
        } else if chunked {
            BodyLeft::Chunked(None)
        } else {
            match length {
                Some(Ok(n)) => BodyLeft::Length(n),
                Some(Err(_)) => return Err(format!("bad Content-Length in {headers:?}")),
                None => BodyLeft::Close,
            }
        };
        Ok(Response {
            version: format!("HTTP/1.{}", parsed.version.unwrap_or(1)),
            status,
            reason: parsed.reason.unwrap_or("").to_string(),
            headers,
            body: Vec::new(),
            chunked,
        })
    }

    fn line(&mut self, timeout: Duration) -> Result<Vec<u8>, String> {
        loop {
            if let Some(end) = find_bytes(&self.buf, b"\r\n") {
                let mut line: Vec<u8> = self.buf.drain(..end + 2).collect();
                line.truncate(end);
                return Ok(line);
            }
            if self.buf.len() > HEAD_LIMIT {
                return Err("framing line too long".to_string());
            }
            if self.fill(timeout)? == 0 {
                return Err("connection closed inside a chunked body".to_string());
            }
        }
    }

    /// The next body bytes of the response whose head was read last, as soon
    /// as any arrive (chunked framing removed): Ok(Some(bytes)), or Ok(None)
    /// once the body is complete. Each read waits at most `timeout`.
    pub fn next_body_bytes(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>, String> {
        loop {
            match self.body {
                BodyLeft::Done => return Ok(None),
                BodyLeft::Length(0) => {
                    self.body = BodyLeft::Done;
                    return Ok(None);
                }
                BodyLeft::Length(left) => {
                    if self.buf.is_empty() && self.fill(timeout)? == 0 {
                        return Err(format!("connection closed with {left} body bytes missing"));
                    }
                    let k = (self.buf.len() as u64).min(left) as usize;
                    self.body = BodyLeft::Length(left - k as u64);
                    return Ok(Some(self.buf.drain(..k).collect()));
                }
                BodyLeft::Chunked(None) => {
                    let line = self.line(timeout)?;
                    let text = String::from_utf8_lossy(&line).into_owned();
                    let size_text = text.split(';').next().unwrap_or("").trim();
                    let size = u64::from_str_radix(size_text, 16)
                        .map_err(|_| format!("bad chunk size line {text:?}"))?;
                    if size == 0 {
                        while !self.line(timeout)?.is_empty() {}
                        self.body = BodyLeft::Done;
                        return Ok(None);
                    }
                    self.body = BodyLeft::Chunked(Some(size));
                }
                BodyLeft::Chunked(Some(left)) => {
                    if self.buf.is_empty() && self.fill(timeout)? == 0 {
                        return Err(format!(
                            "connection closed with {left} bytes of a chunk missing"
                        ));
                    }
                    let k = (self.buf.len() as u64).min(left) as usize;
                    let data: Vec<u8> = self.buf.drain(..k).collect();
                    if left - k as u64 == 0 {
                        let after = self.line(timeout)?;
                        if !after.is_empty() {
                            return Err(format!("chunk not followed by CRLF but {after:?}"));
                        }
                        self.body = BodyLeft::Chunked(None);
                    } else {
                        self.body = BodyLeft::Chunked(Some(left - k as u64));
                    }
                    return Ok(Some(data));
                }
                BodyLeft::Close => {
                    if self.buf.is_empty() && self.fill(timeout)? == 0 {
                        self.body = BodyLeft::Done;
                        return Ok(None);
                    }
                    return Ok(Some(std::mem::take(&mut self.buf)));
                }
            }
        }
    }

    /// The rest of the body of the response whose head was read last.
    pub fn read_body(&mut self, timeout: Duration) -> Result<Vec<u8>, String> {
        let mut body = Vec::new();
        while let Some(bytes) = self.next_body_bytes(timeout)? {
            body.extend_from_slice(&bytes);
        }
        Ok(body)
    }

    /// Reads responses until a final one (not 1xx, or 101) and its body;
    /// returns the interim responses seen before it and the final one.
    pub fn read_final(
        &mut self,
        method: &str,
        timeout: Duration,
    ) -> Result<(Vec<Response>, Response), String> {
        let mut interim = Vec::new();
        loop {
            let mut response = self.read_head(method, timeout)?;
            if (100..200).contains(&response.status) && response.status != 101 {
                interim.push(response);
                continue;
            }
            response.body = self.read_body(timeout)?;
            return Ok((interim, response));
        }
    }

    /// Exactly `n` raw bytes (buffered ones first), each read waiting at most `timeout`.
    pub fn read_exact_bytes(&mut self, n: usize, timeout: Duration) -> Result<Vec<u8>, String> {
        while self.buf.len() < n {
            if self.fill(timeout)? == 0 {
                return Err(format!(
                    "connection closed after {} of {n} bytes: {:?}",
                    self.buf.len(),
                    String::from_utf8_lossy(&self.buf[..self.buf.len().min(200)])
                ));
            }
        }
        Ok(self.buf.drain(..n).collect())
    }

    /// Reads until the peer closes or nothing arrives for `timeout`.
    pub fn read_to_close(&mut self, timeout: Duration) -> Ending {
        let mut bytes = std::mem::take(&mut self.buf);
        self.stream.set_read_timeout(Some(timeout)).unwrap();
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    return Ending {
                        bytes,
                        closed: true,
                    }
                }
                Ok(n) => bytes.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_reset(&e) => {
                    return Ending {
                        bytes,
                        closed: true,
                    }
                }
                Err(_) => {
                    return Ending {
                        bytes,
                        closed: false,
                    }
                }
            }
        }
    }

    /// Whether the peer has closed the connection already: a non-blocking
    /// look (nothing is consumed). False while it is open and silent, or has
    /// sent bytes.
    pub fn peer_closed_now(&self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        self.stream.set_nonblocking(true).unwrap();
        let mut byte = [0u8; 1];
        let closed = match self.stream.peek(&mut byte) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => is_reset(&e),
        };
        self.stream.set_nonblocking(false).unwrap();
        closed
    }
}

/// What came back for raw request bytes on a fresh connection.
#[derive(Clone, Debug)]
pub struct RawAnswer {
    /// Everything read.
    pub bytes: Vec<u8>,
    /// Whether the server closed the connection (within `WIRE_WAIT` of the
    /// last byte it sent).
    pub closed: bool,
}

impl RawAnswer {
    /// The status of the first response, if the answer starts with a parsable head.
    pub fn status(&self) -> Option<u16> {
        super::split_raw_response(&self.bytes).map(|r| r.status)
    }

    /// The first response head (body undecoded), if any.
    pub fn response(&self) -> Option<Response> {
        super::split_raw_response(&self.bytes)
    }

    /// The answer as text, for messages.
    pub fn text(&self) -> String {
        let shown = &self.bytes[..self.bytes.len().min(600)];
        format!(
            "{:?}{} (closed: {})",
            String::from_utf8_lossy(shown),
            if self.bytes.len() > 600 { "…" } else { "" },
            self.closed
        )
    }
}

/// Writes `bytes` on a fresh connection (a failed write is ignored: the
/// server may refuse before reading everything) and reads until the server
/// closes or stays silent for `WIRE_WAIT`.
pub fn exchange_raw(port: u16, bytes: &[u8]) -> RawAnswer {
    let mut wire = Wire::connect(port);
    let _ = wire.try_send(bytes);
    let ending = wire.read_to_close(WIRE_WAIT);
    RawAnswer {
        bytes: ending.bytes,
        closed: ending.closed,
    }
}
