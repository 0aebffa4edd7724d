//! `Origin`: an HTTP/1.1 origin server inside the test process, on 127.0.0.1:0.
//!
//! One thread accepts, one thread serves each connection (keep-alive, Content-Length
//! and chunked request bodies). Every response carries `X-Origin: NAME`; every
//! request is counted and recorded for assertions. `set_mode` switches its
//! behaviour at run time (fail, close, hang, go slow). `stop_listening` closes
//! its listening socket (new connects are refused) while the connections it
//! already accepted are served to the end; `resume_listening` binds the same
//! port again. The port stays reserved for the origin's lifetime (see
//! `PortReservation`), so nothing else can take it meanwhile. Dropping it
//! stops every thread within a bounded time.
//!
//! Built-in endpoints (in `Mode::Normal` and `Mode::Slow`):
//! - `/bytes/N`: N bytes of `Pattern::new(N)` with Content-Length
//! - `/chunked/N`: the same bytes, chunked, in chunks of varied size
//! - `/close/N`: the same bytes, no Content-Length, `Connection: close`
//! - `/truncated/N`: Content-Length N, but only the first N/2 bytes, then close
//! - `/sha256`: `HEX LEN` of the request body
//! - `/redirect?to=URL`: 302 with `Location: URL`
//! - `/content-location?to=URL`: 200 with `Content-Location: URL` and `URI: URL`
//! - `/headers`: the request head exactly as received
//! - `/status/NNN`: that status (no body for 1xx, 204, 304)
//! - `/hop`: a response carrying hop-by-hop headers (Connection-listed, Keep-Alive,
//!   Proxy-Authenticate, TE, Trailer, Upgrade) beside `X-End-To-End: kept`
//! - `/health` (any path ending so): what `set_health` says, whatever the mode
//!   (default `Health::Ok`: 200 `healthy`)
//! - anything else: 200 `origin NAME`
//!
//! A path prefix before an endpoint is ignored (`/x/bytes/10` is `/bytes/10`), so
//! tests can map `/p/` to `http://origin/x/` and still use the endpoints.
//! A response to HEAD never has a body (its head is the one GET would get).

use super::data::{hex, Pattern};
use super::{poll_every, poll_true, PortReservation};
use sha2::{Digest, Sha256};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How the origin answers, switchable at run time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Built-in endpoints; `origin NAME` elsewhere.
    Normal,
    /// Every request gets this status (body `origin NAME status N` where allowed).
    Status(u16),
    /// Reads the request, then closes the connection without a byte of response.
    CloseWithoutResponse,
    /// Reads the request and never answers (until the origin is dropped).
    Hang,
    /// Waits this long after reading the request, then answers as `Normal`.
    Slow(Duration),
}

/// What the `/health` endpoint answers, switchable at run time apart from
/// `Mode` (health-check tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    /// 200 `healthy`.
    Ok,
    /// This status.
    Status(u16),
    /// 200 with this body.
    Body(String),
    /// Reads the request and answers nothing while the health stays `Hang`,
    /// then closes the connection.
    Hang,
}

/// One request as the origin received it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// The request target exactly as received (origin form: path and query).
    pub target: String,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    /// Header fields in the order received, names as spelled on the wire.
    pub headers: Vec<(String, String)>,
    /// The request head verbatim, request line to the empty line included.
    pub head: Vec<u8>,
    pub body_len: u64,
    pub body_sha256: String,
    /// The first 64 KiB of the body.
    pub body_prefix: Vec<u8>,
    /// Which of this origin's connections carried it (0, 1, 2 … in accept order).
    pub connection: usize,
    pub peer: SocketAddr,
}

impl Recorded {
    /// Every value of header `name` (case-insensitive), in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        super::header_values(&self.headers, name)
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_all(name).into_iter().next()
    }

    /// Header names in order, lower-cased.
    pub fn header_names(&self) -> Vec<String> {
        self.headers
            .iter()
            .map(|(n, _)| n.to_ascii_lowercase())
            .collect()
    }
}

/// Longest request head the origin accepts.
const MAX_HEAD: usize = 64 * 1024;
/// How often blocked reads wake up to look at the shutdown flag.
const POLL: Duration = Duration::from_millis(50);
/// How long a connection may stay idle before the origin closes it.
const IDLE: Duration = Duration::from_secs(30);
/// How long `Drop` waits for connection threads before leaving them behind.
const STOP_WAIT: Duration = Duration::from_secs(3);

struct Shared {
    name: String,
    mode: Mutex<Mode>,
    health: Mutex<Health>,
    extra_headers: Mutex<Vec<(String, String)>>,
    requests: AtomicUsize,
    connections: AtomicUsize,
    recorded: Mutex<Vec<Recorded>>,
    shutdown: AtomicBool,
    /// Asks the accept thread to close the listening socket.
    stop_listening: AtomicBool,
    /// Whether the listening socket is open (cleared by the accept thread
    /// right after it closed the socket).
    listening: AtomicBool,
    /// Connections accepted and not yet closed.
    open: AtomicUsize,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// An origin server; stops when dropped.
pub struct Origin {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Mutex<Option<JoinHandle<()>>>,
    /// Holds the port while the listening socket is closed (and after).
    port: PortReservation,
}

impl Origin {
    /// Starts an origin named `name` on 127.0.0.1 with an ephemeral port.
    pub fn start(name: &str) -> Origin {
        let port = PortReservation::new();
        let listener = port.listener();
        let addr = port.socket_addr();
        let shared = Arc::new(Shared {
            name: name.to_string(),
            mode: Mutex::new(Mode::Normal),
            health: Mutex::new(Health::Ok),
            extra_headers: Mutex::new(Vec::new()),
            requests: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            recorded: Mutex::new(Vec::new()),
            shutdown: AtomicBool::new(false),
            stop_listening: AtomicBool::new(false),
            listening: AtomicBool::new(true),
            open: AtomicUsize::new(0),
            threads: Mutex::new(Vec::new()),
        });
        let acceptor = spawn_acceptor(listener, &shared);
        Origin {
            addr,
            shared,
            acceptor: Mutex::new(Some(acceptor)),
            port,
        }
    }

    /// Closes the listening socket, so that from now on connecting to this
    /// origin is refused, as when its server is killed. Requests already read
    /// or arriving on open connections are answered (with `Connection:
    /// close`); idle connections are closed within a poll interval (50 ms).
    /// Returns once the socket is closed; panics if that takes over 5 s.
    ///
    /// The accept thread first accepts (and serves) every connection already
    /// queued, then closes the socket at once, so only a connect landing in
    /// the few microseconds between the last accept and the close can be reset.
    pub fn stop_listening(&self) {
        self.shared.stop_listening.store(true, Ordering::SeqCst);
        let closed = poll_every(Duration::from_millis(2), Duration::from_secs(5), || {
            (!self.shared.listening.load(Ordering::SeqCst)).then_some(())
        });
        assert!(
            closed.is_some(),
            "origin {}: the accept thread did not close its socket within 5 s",
            self.name()
        );
        if let Some(acceptor) = lock(&self.acceptor).take() {
            let _ = acceptor.join();
        }
        // Idle connections close within a poll interval and busy ones after
        // their response; wait for that (a hanging request may keep one open:
        // give up after 2 s).
        poll_every(Duration::from_millis(2), Duration::from_secs(2), || {
            (self.open_connections() == 0).then_some(())
        });
    }

    /// Connections accepted and not closed yet.
    pub fn open_connections(&self) -> usize {
        self.shared.open.load(Ordering::SeqCst)
    }

    /// Listens on the same (reserved) port again after `stop_listening` and
    /// accepts again.
    pub fn resume_listening(&self) {
        if self.is_listening() {
            return;
        }
        let listener = self.port.listener();
        self.shared.stop_listening.store(false, Ordering::SeqCst);
        self.shared.listening.store(true, Ordering::SeqCst);
        *lock(&self.acceptor) = Some(spawn_acceptor(listener, &self.shared));
    }

    /// Whether the listening socket is open.
    pub fn is_listening(&self) -> bool {
        self.shared.listening.load(Ordering::SeqCst)
    }

    pub fn name(&self) -> &str {
        &self.shared.name
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `127.0.0.1:PORT`
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_mode(&self, mode: Mode) {
        *lock(&self.shared.mode) = mode;
    }

    /// What `/health` answers from now on.
    pub fn set_health(&self, health: Health) {
        *lock(&self.shared.health) = health;
    }

    /// Requests read so far whose path does not end in `/health`.
    pub fn requests_besides_health(&self) -> usize {
        lock(&self.shared.recorded)
            .iter()
            .filter(|r| {
                !r.target
                    .split('?')
                    .next()
                    .unwrap_or("")
                    .ends_with("/health")
            })
            .count()
    }

    /// Header fields added to every response from now on.
    pub fn set_response_headers(&self, headers: &[(&str, &str)]) {
        *lock(&self.shared.extra_headers) = headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
    }

    /// Requests read so far (whatever the mode did with them).
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// Every request read so far, in the order they were read.
    pub fn recorded(&self) -> Vec<Recorded> {
        lock(&self.shared.recorded).clone()
    }

    /// The most recent request; panics if there is none.
    pub fn last_request(&self) -> Recorded {
        lock(&self.shared.recorded)
            .last()
            .cloned()
            .unwrap_or_else(|| panic!("origin {} has received no request", self.name()))
    }

    /// Waits (bounded) until at least `n` requests were read; false on timeout.
    pub fn wait_requests(&self, n: usize, timeout: Duration) -> bool {
        poll_true(timeout, || self.requests() >= n)
    }
}

impl Drop for Origin {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        // The accept thread polls with a timeout of POLL and sees the flag.
        if let Some(acceptor) = lock(&self.acceptor).take() {
            join_within(acceptor, Instant::now() + STOP_WAIT);
        }
        let threads: Vec<JoinHandle<()>> = lock(&self.shared.threads).drain(..).collect();
        let deadline = Instant::now() + STOP_WAIT;
        for t in threads {
            // A thread still blocked in a write after the deadline is left behind;
            // its write timeout ends it.
            join_within(t, deadline);
        }
    }
}

/// Joins `t` if it ends before `deadline`; else leaves it behind.
pub(super) fn join_within(t: JoinHandle<()>, deadline: Instant) {
    let left = deadline.saturating_duration_since(Instant::now());
    if poll_every(Duration::from_millis(5), left, || {
        t.is_finished().then_some(())
    })
    .is_some()
    {
        let _ = t.join();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking connection thread must not take the whole origin down.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn spawn_acceptor(listener: TcpListener, shared: &Arc<Shared>) -> JoinHandle<()> {
    let for_acceptor = Arc::clone(shared);
    thread::Builder::new()
        .name(format!("origin-{}-accept", shared.name))
        .spawn(move || accept_loop(listener, for_acceptor))
        .expect("spawning the origin's accept thread")
}

/// Accepts until shutdown or `stop_listening`. The socket is non-blocking and
/// polled with a timeout of POLL, so both flags are seen without a wake-up
/// connection (which could be mistaken for a client).
fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    if listener.set_nonblocking(true).is_err() {
        shared.listening.store(false, Ordering::SeqCst);
        return;
    }
    loop {
        if shared.shutdown.load(Ordering::SeqCst) {
            break;
        }
        // Read the flag before draining the queue: what was queued when it was
        // set is accepted and served, then the socket is closed at once.
        let stopping = shared.stop_listening.load(Ordering::SeqCst);
        loop {
            match listener.accept() {
                Ok((stream, _)) => serve_connection(stream, &shared),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                // WouldBlock: the queue is empty. Other errors (EMFILE…): try
                // again after the poll.
                Err(_) => break,
            }
        }
        if stopping {
            break;
        }
        let mut fds = [nix::poll::PollFd::new(
            listener.as_fd(),
            nix::poll::PollFlags::POLLIN,
        )];
        let _ = nix::poll::poll(
            &mut fds,
            nix::poll::PollTimeout::from(POLL.as_millis() as u16),
        );
    }
    drop(listener);
    shared.listening.store(false, Ordering::SeqCst);
}

/// Serves one accepted connection on a thread of its own.
fn serve_connection(stream: TcpStream, shared: &Arc<Shared>) {
    // Linux does not pass O_NONBLOCK on from the listener; make sure anyway.
    let _ = stream.set_nonblocking(false);
    // Heads and bodies are written separately: without this, Nagle's algorithm
    // and the proxy's delayed ACK hold a body back ~40 ms.
    let _ = stream.set_nodelay(true);
    let index = shared.connections.fetch_add(1, Ordering::SeqCst);
    // Counted here, before the thread runs, so that `stop_listening` never
    // sees an accepted connection as closed.
    shared.open.fetch_add(1, Ordering::SeqCst);
    let for_conn = Arc::clone(shared);
    let spawned = thread::Builder::new()
        .name(format!("origin-{}-conn{index}", shared.name))
        .spawn(move || {
            let shared = Arc::clone(&for_conn);
            let mut conn = Conn::new(stream, for_conn, index);
            // Errors end the connection; the test sees the effect on the proxy.
            let _ = conn.serve();
            drop(conn);
            shared.open.fetch_sub(1, Ordering::SeqCst);
        });
    if spawned.is_err() {
        shared.open.fetch_sub(1, Ordering::SeqCst);
    }
    if let Ok(handle) = spawned {
        let mut threads = lock(&shared.threads);
        threads.retain(|t| !t.is_finished());
        threads.push(handle);
    }
}

/// One accepted connection with its input buffer.
struct Conn {
    stream: TcpStream,
    shared: Arc<Shared>,
    index: usize,
    peer: SocketAddr,
    buf: Vec<u8>,
}

/// A request head parsed from the wire.
struct Head {
    method: String,
    target: String,
    version: String,
    headers: Vec<(String, String)>,
    raw: Vec<u8>,
}

impl Head {
    fn header(&self, name: &str) -> Option<&str> {
        super::header_values(&self.headers, name).into_iter().next()
    }

    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or("")
    }

    fn query_param(&self, key: &str) -> Option<&str> {
        let query = self.target.split_once('?')?.1;
        query.split('&').find_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            (k == key).then_some(v)
        })
    }

    fn wants_close(&self) -> bool {
        let tokens: Vec<String> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
            .flat_map(|(_, v)| v.split(','))
            .map(|t| t.trim().to_ascii_lowercase())
            .collect();
        if self.version == "HTTP/1.0" {
            !tokens.iter().any(|t| t == "keep-alive")
        } else {
            tokens.iter().any(|t| t == "close")
        }
    }
}

/// A response the origin is about to write.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
    close: bool,
}

enum Body {
    Bytes(Vec<u8>),
    /// `Pattern::new(n)` with Content-Length.
    Pattern(u64),
    /// `Pattern::new(n)` chunked.
    PatternChunked(u64),
    /// `Pattern::new(n)` delimited by closing the connection.
    PatternClose(u64),
    /// Content-Length n, the first n/2 bytes of `Pattern::new(n)`, then close.
    Truncated(u64),
}

impl Conn {
    fn new(stream: TcpStream, shared: Arc<Shared>, index: usize) -> Conn {
        let peer = stream
            .peer_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        Conn {
            stream,
            shared,
            index,
            peer,
            buf: Vec::new(),
        }
    }

    fn stopping(&self) -> bool {
        self.shared.shutdown.load(Ordering::SeqCst)
    }

    fn serve(&mut self) -> io::Result<()> {
        self.stream.set_read_timeout(Some(POLL))?;
        self.stream
            .set_write_timeout(Some(Duration::from_secs(10)))?;
        loop {
            let Some(head) = self.read_head()? else {
                return Ok(());
            };
            let (body_len, body_sha256, body_prefix) = self.read_body(&head)?;
            let record = Recorded {
                method: head.method.clone(),
                target: head.target.clone(),
                version: head.version.clone(),
                headers: head.headers.clone(),
                head: head.raw.clone(),
                body_len,
                body_sha256: body_sha256.clone(),
                body_prefix,
                connection: self.index,
                peer: self.peer,
            };
            lock(&self.shared.recorded).push(record);
            self.shared.requests.fetch_add(1, Ordering::SeqCst);

            let mode = lock(&self.shared.mode).clone();
            let health = lock(&self.shared.health).clone();
            let reply = match mode {
                _ if head.path().ends_with("/health") => match health {
                    Health::Ok => Reply {
                        status: 200,
                        headers: vec![("Content-Type".into(), "text/plain".into())],
                        body: Body::Bytes(b"healthy".to_vec()),
                        close: false,
                    },
                    Health::Status(code) => self.status_reply(code),
                    Health::Body(text) => Reply {
                        status: 200,
                        headers: vec![("Content-Type".into(), "text/html".into())],
                        body: Body::Bytes(text.into_bytes()),
                        close: false,
                    },
                    Health::Hang => {
                        // A hanging member is the scenario: wait for the test to end it.
                        while !self.stopping() && *lock(&self.shared.health) == Health::Hang {
                            thread::sleep(POLL);
                        }
                        let _ = self.stream.shutdown(Shutdown::Both);
                        return Ok(());
                    }
                },
                Mode::Normal => self.route(&head, body_len, &body_sha256),
                Mode::Status(code) => self.status_reply(code),
                Mode::CloseWithoutResponse => {
                    let _ = self.stream.shutdown(Shutdown::Both);
                    return Ok(());
                }
                Mode::Hang => {
                    // A hanging member is the scenario: wait for the test to end it.
                    while !self.stopping() {
                        thread::sleep(POLL);
                    }
                    return Ok(());
                }
                Mode::Slow(delay) => {
                    // A slow member is the scenario: the delay the test asked for.
                    let until = Instant::now() + delay;
                    while Instant::now() < until {
                        if self.stopping() {
                            return Ok(());
                        }
                        thread::sleep(POLL.min(until.saturating_duration_since(Instant::now())));
                    }
                    self.route(&head, body_len, &body_sha256)
                }
            };
            // A stopped origin finishes what it accepted but keeps no
            // connection alive, as a server going away would.
            let close = reply.close
                || head.wants_close()
                || self.shared.stop_listening.load(Ordering::SeqCst);
            self.write_reply(&head, reply, close)?;
            if close {
                let _ = self.stream.shutdown(Shutdown::Write);
                return Ok(());
            }
        }
    }

    /// Reads more input into `buf`. Ok(0) at end of input; an error on shutdown
    /// or after `IDLE` without input.
    fn fill(&mut self) -> io::Result<usize> {
        self.fill_or_stop(false)
    }

    /// `fill`; with `idle` (no request begun), also Ok(0) once `stop_listening`
    /// was called and nothing arrived within a poll interval: the connection
    /// is closed like an idle keep-alive connection of a server going away.
    fn fill_or_stop(&mut self, idle: bool) -> io::Result<usize> {
        let deadline = Instant::now() + IDLE;
        let mut chunk = [0u8; 16 * 1024];
        loop {
            if self.stopping() {
                return Err(io::Error::other("origin shutting down"));
            }
            match self.stream.read(&mut chunk) {
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return Ok(n);
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) =>
                {
                    if idle && self.shared.stop_listening.load(Ordering::SeqCst) {
                        return Ok(0);
                    }
                    if Instant::now() >= deadline {
                        return Err(io::Error::new(io::ErrorKind::TimedOut, "idle connection"));
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Reads and parses a request head; None when the peer closed between requests.
    fn read_head(&mut self) -> io::Result<Option<Head>> {
        loop {
            // Tolerate empty lines before a request line (RFC 9112 §2.2).
            while self.buf.starts_with(b"\r\n") {
                self.buf.drain(..2);
            }
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let raw: Vec<u8> = self.buf.drain(..end + 4).collect();
                return parse_head(raw).map(Some);
            }
            if self.buf.len() > MAX_HEAD {
                self.send_error(431)?;
                return Err(invalid("request head too large"));
            }
            let idle = self.buf.is_empty();
            if self.fill_or_stop(idle)? == 0 {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Takes exactly `n` bytes off the input, feeding them to `sink`.
    fn take(&mut self, mut n: u64, sink: &mut dyn FnMut(&[u8])) -> io::Result<()> {
        while n > 0 {
            if self.buf.is_empty() && self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            let k = (self.buf.len() as u64).min(n) as usize;
            sink(&self.buf[..k]);
            self.buf.drain(..k);
            n -= k as u64;
        }
        Ok(())
    }

    /// Takes one CRLF-terminated line off the input (without the CRLF).
    fn line(&mut self) -> io::Result<String> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..end + 2).collect();
                return Ok(String::from_utf8_lossy(&line[..end]).into_owned());
            }
            if self.buf.len() > MAX_HEAD {
                return Err(invalid("line too long"));
            }
            if self.fill()? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// Reads the request body: (length, sha256 hex, first 64 KiB).
    fn read_body(&mut self, head: &Head) -> io::Result<(u64, String, Vec<u8>)> {
        let mut hasher = Sha256::new();
        let mut prefix = Vec::new();
        let mut len = 0u64;
        let mut sink = |data: &[u8]| {
            hasher.update(data);
            let room = (64 * 1024usize).saturating_sub(prefix.len());
            prefix.extend_from_slice(&data[..room.min(data.len())]);
            len += data.len() as u64;
        };
        let chunked = head
            .header("transfer-encoding")
            .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
        if chunked {
            loop {
                let size_line = self.line()?;
                let size_text = size_line.split(';').next().unwrap_or("").trim();
                let size = u64::from_str_radix(size_text, 16)
                    .map_err(|_| invalid("bad chunk size line"))?;
                if size == 0 {
                    break;
                }
                self.take(size, &mut sink)?;
                if !self.line()?.is_empty() {
                    return Err(invalid("chunk data not followed by CRLF"));
                }
            }
            // Trailer fields up to the empty line.
            while !self.line()?.is_empty() {}
        } else if let Some(cl) = head.header("content-length") {
            let n: u64 = cl
                .trim()
                .parse()
                .map_err(|_| invalid("bad Content-Length"))?;
            self.take(n, &mut sink)?;
        }
        Ok((len, hex(&hasher.finalize()), prefix))
    }

    fn status_reply(&self, code: u16) -> Reply {
        let body = if has_no_body(code) {
            Vec::new()
        } else {
            format!("origin {} status {code}", self.shared.name).into_bytes()
        };
        Reply {
            status: code,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: Body::Bytes(body),
            close: false,
        }
    }

    fn route(&self, head: &Head, body_len: u64, body_sha256: &str) -> Reply {
        let path = endpoint(head.path());
        let text = |status: u16, body: String| Reply {
            status,
            headers: vec![("Content-Type".into(), "text/plain".into())],
            body: Body::Bytes(body.into_bytes()),
            close: false,
        };
        let number = |prefix: &str| -> Option<u64> { path.strip_prefix(prefix)?.parse().ok() };
        if let Some(n) = number("/bytes/") {
            return Reply {
                status: 200,
                headers: vec![("Content-Type".into(), "application/octet-stream".into())],
                body: Body::Pattern(n),
                close: false,
            };
        }
        if let Some(n) = number("/chunked/") {
            return Reply {
                status: 200,
                headers: vec![("Content-Type".into(), "application/octet-stream".into())],
                body: Body::PatternChunked(n),
                close: false,
            };
        }
        if let Some(n) = number("/close/") {
            return Reply {
                status: 200,
                headers: vec![("Content-Type".into(), "application/octet-stream".into())],
                body: Body::PatternClose(n),
                close: true,
            };
        }
        if let Some(n) = number("/truncated/") {
            return Reply {
                status: 200,
                headers: vec![("Content-Type".into(), "application/octet-stream".into())],
                body: Body::Truncated(n),
                close: true,
            };
        }
        if let Some(code) = number("/status/") {
            return self.status_reply(code as u16);
        }
        match path {
            "/sha256" => text(200, format!("{body_sha256} {body_len}")),
            "/headers" => Reply {
                status: 200,
                headers: vec![("Content-Type".into(), "text/plain".into())],
                body: Body::Bytes(head.raw.clone()),
                close: false,
            },
            "/redirect" => {
                let to = head.query_param("to").unwrap_or("/").to_string();
                let mut reply = text(302, format!("moved to {to}"));
                reply.headers.push(("Location".into(), to));
                reply
            }
            "/content-location" => {
                let to = head.query_param("to").unwrap_or("/").to_string();
                let mut reply = text(200, format!("content at {to}"));
                reply.headers.push(("Content-Location".into(), to.clone()));
                reply.headers.push(("URI".into(), to));
                reply
            }
            "/hop" => {
                let mut reply = text(200, "hop-by-hop headers".to_string());
                for (n, v) in [
                    ("Connection", "X-Hop-Listed"),
                    ("X-Hop-Listed", "dropped"),
                    ("Keep-Alive", "timeout=5"),
                    ("Proxy-Authenticate", "Basic realm=\"origin\""),
                    ("TE", "trailers"),
                    ("Trailer", "X-Checksum"),
                    ("Upgrade", "h2c"),
                    ("X-End-To-End", "kept"),
                ] {
                    reply.headers.push((n.into(), v.into()));
                }
                reply
            }
            _ => text(200, format!("origin {}", self.shared.name)),
        }
    }

    fn write_reply(&mut self, head: &Head, reply: Reply, close: bool) -> io::Result<()> {
        let mut out = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
        out.push_str(&format!("X-Origin: {}\r\n", self.shared.name));
        for (n, v) in reply
            .headers
            .iter()
            .chain(lock(&self.shared.extra_headers).iter())
        {
            out.push_str(&format!("{n}: {v}\r\n"));
        }
        let no_body = has_no_body(reply.status);
        match &reply.body {
            Body::Bytes(b) if !no_body => out.push_str(&format!("Content-Length: {}\r\n", b.len())),
            Body::Pattern(n) | Body::Truncated(n) => {
                out.push_str(&format!("Content-Length: {n}\r\n"))
            }
            Body::PatternChunked(_) => out.push_str("Transfer-Encoding: chunked\r\n"),
            _ => {}
        }
        if close {
            out.push_str("Connection: close\r\n");
        }
        out.push_str("\r\n");
        self.stream.write_all(out.as_bytes())?;
        if head.method == "HEAD" || no_body {
            return self.stream.flush();
        }
        match reply.body {
            Body::Bytes(b) => self.stream.write_all(&b)?,
            Body::Pattern(n) | Body::PatternClose(n) => {
                let mut source = Pattern::new(n);
                io::copy(&mut source, &mut self.stream)?;
            }
            Body::Truncated(n) => {
                let mut source = Pattern::new(n).take(n / 2);
                io::copy(&mut source, &mut self.stream)?;
            }
            Body::PatternChunked(n) => {
                // Chunk sizes cycle so that chunk boundaries fall everywhere.
                const SIZES: [usize; 7] = [1, 10, 100, 1000, 4096, 10_000, 65_536];
                let mut source = Pattern::new(n);
                let mut buf = vec![0u8; 65_536];
                let mut i = 0;
                while source.remaining() > 0 {
                    let want = SIZES[i % SIZES.len()].min(source.remaining() as usize);
                    source.read_exact(&mut buf[..want])?;
                    self.stream.write_all(format!("{want:x}\r\n").as_bytes())?;
                    self.stream.write_all(&buf[..want])?;
                    self.stream.write_all(b"\r\n")?;
                    i += 1;
                }
                self.stream.write_all(b"0\r\n\r\n")?;
            }
        }
        self.stream.flush()
    }

    /// Answers a request the origin could not read, then the caller closes.
    fn send_error(&mut self, status: u16) -> io::Result<()> {
        let msg = format!(
            "HTTP/1.1 {status} {}\r\nX-Origin: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            reason(status),
            self.shared.name
        );
        self.stream.write_all(msg.as_bytes())
    }
}

fn parse_head(raw: Vec<u8>) -> io::Result<Head> {
    let mut fields = [httparse::EMPTY_HEADER; 128];
    let mut req = httparse::Request::new(&mut fields);
    match req.parse(&raw) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(invalid("incomplete request head")),
        Err(e) => return Err(invalid(&format!("unparsable request head: {e}"))),
    }
    let headers = req
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    Ok(Head {
        method: req.method.unwrap_or("").to_string(),
        target: req.path.unwrap_or("").to_string(),
        version: format!("HTTP/1.{}", req.version.unwrap_or(1)),
        headers,
        raw,
    })
}

/// The built-in endpoint a path names: the path itself, or the longest suffix
/// starting at a `/` that is an endpoint, so `/x/y/bytes/10` is `/bytes/10` and
/// a proxy's path prefix does not get in the way.
fn endpoint(path: &str) -> &str {
    const EXACT: [&str; 5] = [
        "/sha256",
        "/headers",
        "/redirect",
        "/content-location",
        "/hop",
    ];
    const NUMBERED: [&str; 5] = ["/bytes/", "/chunked/", "/close/", "/truncated/", "/status/"];
    let is_endpoint = |p: &str| {
        EXACT.contains(&p)
            || NUMBERED.iter().any(|prefix| {
                p.strip_prefix(prefix)
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            })
    };
    path.char_indices()
        .filter(|&(_, c)| c == '/')
        .map(|(i, _)| &path[i..])
        .find(|p| is_endpoint(p))
        .unwrap_or(path)
}

fn has_no_body(status: u16) -> bool {
    (100..200).contains(&status) || status == 204 || status == 304
}

/// Reason phrases for the statuses tests use; others get "Status".
pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_string())
}
