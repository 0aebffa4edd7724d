//! The closed-loop load engine: one thread, one mio `Poll`, N connections.
//!
//! Each connection sends a GET, waits for the whole response, and sends the
//! next one at once (closed loop: the load adapts to the server, so latency
//! here is service time, not what an open-loop arrival rate would see). With
//! keep-alive the connection is reused until the server closes it; with
//! `close` every request gets a new connection, and we close it after the
//! response. Connections live in a `Vec` indexed by their token.
//!
//! Only requests that *complete* inside the measurement window (after the
//! warm-up) are counted; the time split is taken from the same requests.

use crate::histogram::Histogram;
use crate::response::{ParseError, Response, ResponseParser};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// How often timeouts and the end of the run are checked when idle.
const TICK: Duration = Duration::from_millis(50);
/// Shared read buffer: responses are parsed as they arrive, never kept.
const READ_BUFFER: usize = 64 * 1024;

/// What to run.
pub struct LoadParams<'a> {
    pub addr: SocketAddr,
    /// The whole request, ready to write.
    pub request: &'a [u8],
    pub concurrency: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub close: bool,
    pub timeout: Duration,
}

/// Errors by the step that failed.
#[derive(Debug, Default, Clone, Copy)]
pub struct ErrorCounts {
    pub connect: u64,
    pub write: u64,
    pub read: u64,
    /// Responses with status >= 500 (they still count as completed).
    pub status: u64,
    pub timeout: u64,
}

impl ErrorCounts {
    pub fn total(&self) -> u64 {
        self.connect + self.write + self.read + self.status + self.timeout
    }
}

/// Sums of the per-request time split, in nanoseconds, over `requests`.
/// `connects` and `closes` count the requests that paid for one (with
/// keep-alive most requests reuse a connection and pay neither).
#[derive(Debug, Default, Clone, Copy)]
pub struct TimeSplit {
    pub connect_ns: u128,
    pub connects: u64,
    pub write_ns: u128,
    pub wait_ns: u128,
    pub read_ns: u128,
    pub requests: u64,
    pub close_ns: u128,
    pub closes: u64,
}

impl TimeSplit {
    fn avg(sum: u128, n: u64) -> f64 {
        if n == 0 {
            0.0
        } else {
            sum as f64 / n as f64
        }
    }
    /// Averages in nanoseconds: (connect, write, wait, read, close).
    pub fn averages(&self) -> [f64; 5] {
        [
            Self::avg(self.connect_ns, self.connects),
            Self::avg(self.write_ns, self.requests),
            Self::avg(self.wait_ns, self.requests),
            Self::avg(self.read_ns, self.requests),
            Self::avg(self.close_ns, self.closes),
        ]
    }
}

/// What one run measured.
pub struct LoadResult {
    /// Length of the measurement window.
    pub elapsed: Duration,
    pub requests: u64,
    pub body_bytes: u64,
    pub errors: ErrorCounts,
    /// Connections opened in the window.
    pub connections: u64,
    pub latency: Histogram,
    pub split: TimeSplit,
    /// CPU time this process used in the window, in seconds.
    pub cpu_seconds: f64,
    /// The first error message seen, to tell the user what went wrong.
    pub first_error: Option<String>,
}

impl LoadResult {
    pub fn requests_per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting,
    Writing,
    Reading,
}

/// One client connection and the timestamps of its current request.
struct Conn {
    stream: TcpStream,
    phase: Phase,
    written: usize,
    parser: ResponseParser,
    /// When this request started (connect start if it opened the connection).
    started: Instant,
    /// Connect duration, if this request opened the connection.
    connect: Option<Duration>,
    write_start: Instant,
    sent: Instant,
    first_byte: Option<Instant>,
}

/// Which step failed, to count it.
enum Failure {
    Connect(io::Error),
    Write(io::Error),
    Read(io::Error),
    Parse(ParseError),
    Timeout,
}

/// What a step left the connection wanting.
enum Step {
    /// Wait for the next readiness event.
    Wait,
    /// The response is complete.
    Done(Response),
    Fail(Failure),
}

/// The loop's state, passed by `&mut` into each step.
struct Engine<'a> {
    params: &'a LoadParams<'a>,
    poll: Poll,
    conns: Vec<Option<Conn>>,
    buffer: Vec<u8>,
    measure_from: Instant,
    measure_to: Instant,
    result: LoadResult,
}

pub fn run(params: &LoadParams) -> io::Result<LoadResult> {
    let start = Instant::now();
    let measure_from = start + params.warmup;
    let mut engine = Engine {
        params,
        poll: Poll::new()?,
        conns: (0..params.concurrency).map(|_| None).collect(),
        buffer: vec![0; READ_BUFFER],
        measure_from,
        measure_to: measure_from + params.duration,
        result: LoadResult {
            elapsed: params.duration,
            requests: 0,
            body_bytes: 0,
            errors: ErrorCounts::default(),
            connections: 0,
            latency: Histogram::new(),
            split: TimeSplit::default(),
            cpu_seconds: 0.0,
            first_error: None,
        },
    };
    let mut cpu_start = None;
    for slot in 0..params.concurrency {
        engine.open(slot, Instant::now());
    }
    let mut events = Events::with_capacity(1024);
    let mut last_sweep = Instant::now();
    loop {
        let now = Instant::now();
        if cpu_start.is_none() && now >= engine.measure_from {
            cpu_start = Some(cpu_time());
        }
        if now >= engine.measure_to {
            break;
        }
        let wait = TICK.min(engine.measure_to - now);
        match engine.poll.poll(&mut events, Some(wait)) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            let slot = event.token().0;
            engine.ready(slot);
        }
        let now = Instant::now();
        if now - last_sweep >= TICK {
            last_sweep = now;
            engine.sweep_timeouts(now);
        }
    }
    let cpu_end = cpu_time();
    engine.result.cpu_seconds = cpu_end - cpu_start.unwrap_or(cpu_end);
    // Drop the connections outside the window: their close is not measured.
    for slot in engine.conns.iter_mut() {
        if let Some(mut conn) = slot.take() {
            let _ = engine.poll.registry().deregister(&mut conn.stream);
        }
    }
    Ok(engine.result)
}

/// CPU seconds (user + system) this process has used.
fn cpu_time() -> f64 {
    // SAFETY: getrusage only writes into the zeroed struct we pass it.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

impl Engine<'_> {
    fn in_window(&self, t: Instant) -> bool {
        t >= self.measure_from && t < self.measure_to
    }

    /// Open a connection in `slot` and start a request on it.
    fn open(&mut self, slot: usize, started: Instant) {
        let mut stream = match TcpStream::connect(self.params.addr) {
            Ok(s) => s,
            Err(e) => {
                self.count_failure(Failure::Connect(e), started);
                return self.retry_later(slot);
            }
        };
        let _ = stream.set_nodelay(true);
        if let Err(e) = self.poll.registry().register(
            &mut stream,
            Token(slot),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            self.count_failure(Failure::Connect(e), started);
            return self.retry_later(slot);
        }
        if self.in_window(started) {
            self.result.connections += 1;
        }
        self.conns[slot] = Some(Conn {
            stream,
            phase: Phase::Connecting,
            written: 0,
            parser: ResponseParser::new(false),
            started,
            connect: None,
            write_start: started,
            sent: started,
            first_byte: None,
        });
    }

    /// A connect that failed at once (say, out of ephemeral ports) is retried
    /// on the next sweep rather than in a tight loop.
    fn retry_later(&mut self, slot: usize) {
        self.conns[slot] = None;
    }

    fn ready(&mut self, slot: usize) {
        let Some(mut conn) = self.conns[slot].take() else {
            return;
        };
        let step = self.advance(&mut conn);
        match step {
            Step::Wait => self.conns[slot] = Some(conn),
            Step::Done(response) => self.complete(slot, conn, response),
            Step::Fail(failure) => self.fail(slot, conn, failure),
        }
    }

    /// Count a failure and replace the connection: at once, or on the next
    /// sweep after a connect failure so a refusing server is not hammered.
    fn fail(&mut self, slot: usize, conn: Conn, failure: Failure) {
        let reconnect_now = !matches!(failure, Failure::Connect(_));
        self.count_failure(failure, conn.started);
        self.close(conn, false);
        if reconnect_now {
            self.open(slot, Instant::now());
        }
    }

    /// Move the connection as far as it can go without blocking.
    fn advance(&mut self, conn: &mut Conn) -> Step {
        loop {
            match conn.phase {
                Phase::Connecting => {
                    match conn.stream.take_error() {
                        Ok(None) => {}
                        Ok(Some(e)) | Err(e) => return Step::Fail(Failure::Connect(e)),
                    }
                    match conn.stream.peer_addr() {
                        Ok(_) => {}
                        Err(e) if e.kind() == ErrorKind::NotConnected => return Step::Wait,
                        Err(e) => return Step::Fail(Failure::Connect(e)),
                    }
                    let now = Instant::now();
                    conn.connect = Some(now - conn.started);
                    conn.write_start = now;
                    conn.phase = Phase::Writing;
                }
                Phase::Writing => {
                    let request = self.params.request;
                    while conn.written < request.len() {
                        match conn.stream.write(&request[conn.written..]) {
                            Ok(0) => {
                                return Step::Fail(Failure::Write(ErrorKind::WriteZero.into()))
                            }
                            Ok(n) => conn.written += n,
                            Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Wait,
                            Err(e) if e.kind() == ErrorKind::Interrupted => {}
                            Err(e) => return Step::Fail(Failure::Write(e)),
                        }
                    }
                    conn.sent = Instant::now();
                    conn.phase = Phase::Reading;
                }
                Phase::Reading => return self.read(conn),
            }
        }
    }

    fn read(&mut self, conn: &mut Conn) -> Step {
        loop {
            match conn.stream.read(&mut self.buffer) {
                Ok(0) => {
                    return match conn.parser.eof() {
                        Ok(response) => Step::Done(response),
                        // Closed before answering: a keep-alive race or a refusal.
                        Err(_) if conn.parser.is_idle() => {
                            Step::Fail(Failure::Read(io::Error::new(
                                ErrorKind::UnexpectedEof,
                                "closed before any response byte",
                            )))
                        }
                        Err(e) => Step::Fail(Failure::Parse(e)),
                    };
                }
                Ok(n) => {
                    if conn.first_byte.is_none() {
                        conn.first_byte = Some(Instant::now());
                    }
                    match conn.parser.feed(&self.buffer[..n]) {
                        Ok(fed) => {
                            if let Some(response) = fed.done {
                                // Bytes after the response: we never pipeline,
                                // so the server sent more than it should.
                                if fed.consumed < n {
                                    return Step::Fail(Failure::Parse(ParseError::BadHead(
                                        "bytes after the end of the response".into(),
                                    )));
                                }
                                return Step::Done(response);
                            }
                        }
                        Err(e) => return Step::Fail(Failure::Parse(e)),
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Wait,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Step::Fail(Failure::Read(e)),
            }
        }
    }

    /// A response is complete: record it and start the next request (in a
    /// loop, as the next response may already be readable).
    fn complete(&mut self, slot: usize, mut conn: Conn, mut response: Response) {
        loop {
            let now = Instant::now();
            let counted = self.in_window(now);
            if counted {
                self.record(&conn, &response, now);
            }
            if self.params.close || !response.keep_alive {
                self.close(conn, counted);
                self.open(slot, Instant::now());
                return;
            }
            conn.phase = Phase::Writing;
            conn.written = 0;
            conn.connect = None;
            conn.started = now;
            conn.write_start = now;
            conn.first_byte = None;
            match self.advance(&mut conn) {
                Step::Wait => {
                    self.conns[slot] = Some(conn);
                    return;
                }
                Step::Done(next) => response = next,
                Step::Fail(failure) => return self.fail(slot, conn, failure),
            }
        }
    }

    fn record(&mut self, conn: &Conn, response: &Response, now: Instant) {
        let r = &mut self.result;
        r.requests += 1;
        r.body_bytes += response.body_len;
        if response.status >= 500 {
            r.errors.status += 1;
            if r.first_error.is_none() {
                r.first_error = Some(format!("status {}", response.status));
            }
        }
        r.latency.record((now - conn.started).as_nanos() as u64);
        let first = conn.first_byte.unwrap_or(now);
        let s = &mut r.split;
        s.requests += 1;
        if let Some(c) = conn.connect {
            s.connect_ns += c.as_nanos();
            s.connects += 1;
        }
        s.write_ns += (conn.sent - conn.write_start).as_nanos();
        s.wait_ns += (first - conn.sent).as_nanos();
        s.read_ns += (now - first).as_nanos();
    }

    /// Close a connection; `measure` adds the time the close took.
    fn close(&mut self, mut conn: Conn, measure: bool) {
        let start = Instant::now();
        let _ = self.poll.registry().deregister(&mut conn.stream);
        drop(conn);
        if measure {
            self.result.split.close_ns += start.elapsed().as_nanos();
            self.result.split.closes += 1;
        }
    }

    fn count_failure(&mut self, failure: Failure, started: Instant) {
        if !self.in_window(Instant::now()) && !self.in_window(started) {
            return;
        }
        let e = &mut self.result.errors;
        let message = match failure {
            Failure::Connect(err) => {
                e.connect += 1;
                format!("connecting to {}: {err}", self.params.addr)
            }
            Failure::Write(err) => {
                e.write += 1;
                format!("writing the request: {err}")
            }
            Failure::Read(err) => {
                e.read += 1;
                format!("reading the response: {err}")
            }
            Failure::Parse(err) => {
                e.read += 1;
                format!("parsing the response: {err}")
            }
            Failure::Timeout => {
                e.timeout += 1;
                format!("no complete response within {:?}", self.params.timeout)
            }
        };
        self.result.first_error.get_or_insert(message);
    }

    /// Fail requests older than the timeout, and reopen empty slots.
    fn sweep_timeouts(&mut self, now: Instant) {
        for slot in 0..self.conns.len() {
            match &self.conns[slot] {
                None => self.open(slot, now),
                Some(conn) if now - conn.started >= self.params.timeout => {
                    let conn = self.conns[slot].take().expect("checked");
                    self.count_failure(Failure::Timeout, conn.started);
                    self.close(conn, false);
                    self.open(slot, now);
                }
                Some(_) => {}
            }
        }
    }
}
