//! The open-loop burst engine, as httperf measures: N new connections, each
//! sending one `Connection: close` request and reading the whole response.
//!
//! The connections are started on a `Schedule`: at `rate` per second, or
//! all due at once (rate 0). The engine starts the due ones in batches of
//! `BATCH` per poll turn, so responses are read while a large burst is still
//! being opened. Each connection's response time is measured from its
//! *intended* start (the schedule's), not from when the engine got round to
//! its `connect`: a generator or server backlog then shows in the figures
//! instead of quietly delaying the requests (the coordinated-omission
//! correction of wrk2 and HdrHistogram). The uncorrected time, from the
//! actual `connect`, is kept beside it as the service time.

use crate::conn::{nanos, Exchange, Failure, Step, READ_BUFFER};
use crate::histogram::Histogram;
use crate::load::{cpu_time, ErrorCounts, TimeSplit};
use crate::response::Response;
use crate::schedule::Schedule;
use mio::{Events, Poll};
use std::collections::BTreeMap;
use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Connects started per poll turn at most.
const BATCH: usize = 128;
/// How often timeouts are checked.
const TICK: Duration = Duration::from_millis(20);
/// Distinct error kinds kept by name; further ones are counted as "other".
const MAX_KINDS: usize = 32;
/// File descriptors kept free for everything but the burst's sockets.
pub const SPARE_FDS: u64 = 32;

/// One burst to run.
pub struct BurstParams<'a> {
    pub addr: SocketAddr,
    /// The whole request (with `Connection: close`), ready to write.
    pub request: &'a [u8],
    /// Connections in the burst.
    pub count: usize,
    /// Connections started per second; 0 = all at once.
    pub rate: f64,
    /// A connection with no complete response this long after its connect
    /// started is an error.
    pub timeout: Duration,
}

/// What one burst measured.
pub struct BurstResult {
    /// Connections the burst was to make.
    pub count: u64,
    /// Complete responses with a status below 500.
    pub ok: u64,
    /// Complete responses, 5xx included.
    pub responses: u64,
    pub body_bytes: u64,
    pub errors: ErrorCounts,
    /// Errors by step and cause, e.g. "connect: Cannot assign requested address".
    pub error_kinds: BTreeMap<String, u64>,
    /// Response time of each complete response, from its intended start
    /// (coordinated-omission corrected), in ns.
    pub latency: Histogram,
    /// The same, from the actual start of its connect (service time), in ns.
    pub service: Histogram,
    pub split: TimeSplit,
    /// From the burst's start to its last response or failure.
    pub elapsed: Duration,
    /// From the burst's start to its last connect being issued.
    pub issued_in: Duration,
    /// CPU time the generator used during the burst, in seconds.
    pub cpu_seconds: f64,
}

struct Conn {
    exchange: Exchange,
    /// When the schedule meant this connection to start.
    intended: Instant,
}

struct Engine<'a> {
    params: &'a BurstParams<'a>,
    poll: Poll,
    conns: Vec<Option<Conn>>,
    live: usize,
    buffer: Vec<u8>,
    last_event: Instant,
    result: BurstResult,
}

/// Run one burst.
pub fn run(params: &BurstParams) -> io::Result<BurstResult> {
    let schedule = Schedule::new(params.rate, params.count as u64);
    let mut engine = Engine {
        params,
        poll: Poll::new()?,
        conns: (0..params.count).map(|_| None).collect(),
        live: 0,
        buffer: vec![0; READ_BUFFER],
        last_event: Instant::now(),
        result: BurstResult {
            count: params.count as u64,
            ok: 0,
            responses: 0,
            body_bytes: 0,
            errors: ErrorCounts::default(),
            error_kinds: BTreeMap::new(),
            latency: Histogram::new(),
            service: Histogram::new(),
            split: TimeSplit::default(),
            elapsed: Duration::ZERO,
            issued_in: Duration::ZERO,
            cpu_seconds: 0.0,
        },
    };
    let mut events = Events::with_capacity(1024);
    let cpu_start = cpu_time();
    let t0 = Instant::now();
    engine.last_event = t0;
    let mut issued = 0usize;
    let mut last_sweep = t0;
    // Every connection ends by its timeout; this bounds the whole loop even
    // if a connect were never reported.
    let mut hard_deadline = None;
    loop {
        let now = Instant::now();
        let due = schedule.due(now - t0) as usize;
        let upto = due.min(issued + BATCH);
        while issued < upto {
            let intended = t0 + schedule.intended(issued as u64);
            engine.open(issued, intended);
            issued += 1;
        }
        if issued == params.count && hard_deadline.is_none() {
            let now = Instant::now();
            engine.result.issued_in = now - t0;
            hard_deadline = Some(now + params.timeout + Duration::from_secs(1));
        }
        if issued == params.count && engine.live == 0 {
            break;
        }
        if hard_deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        // More due already: only look at the events. Otherwise sleep until
        // the next one is due (or a tick, for the timeouts).
        let wait = if issued < due {
            Duration::ZERO
        } else {
            match schedule.next_due(issued as u64) {
                Some(next) => TICK.min((t0 + next).saturating_duration_since(Instant::now())),
                None => TICK,
            }
        };
        match engine.poll.poll(&mut events, Some(wait)) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for event in events.iter() {
            engine.ready(event.token().0);
        }
        let now = Instant::now();
        if now - last_sweep >= TICK {
            last_sweep = now;
            engine.sweep_timeouts(now);
        }
    }
    // Past the hard deadline (not expected): what is left timed out.
    for slot in 0..engine.conns.len() {
        if let Some(conn) = engine.conns[slot].take() {
            engine.finish_failed(conn, Failure::Timeout);
        }
    }
    engine.result.elapsed = engine.last_event - t0;
    engine.result.cpu_seconds = cpu_time() - cpu_start;
    Ok(engine.result)
}

impl Engine<'_> {
    fn open(&mut self, slot: usize, intended: Instant) {
        let started = Instant::now();
        self.last_event = started;
        let exchange = match Exchange::connect(&self.poll, self.params.addr, slot, started) {
            Ok(exchange) => exchange,
            Err(e) => return self.count_failure(Failure::Connect(e)),
        };
        self.live += 1;
        self.conns[slot] = Some(Conn { exchange, intended });
    }

    fn ready(&mut self, slot: usize) {
        let Some(mut conn) = self.conns.get_mut(slot).and_then(Option::take) else {
            return;
        };
        match conn.exchange.advance(self.params.request, &mut self.buffer) {
            Step::Wait => self.conns[slot] = Some(conn),
            Step::Done(response) => self.complete(conn, response),
            Step::Fail(failure) => self.finish_failed(conn, failure),
        }
    }

    fn complete(&mut self, conn: Conn, response: Response) {
        let Conn { exchange, intended } = conn;
        let now = Instant::now();
        let r = &mut self.result;
        r.responses += 1;
        r.body_bytes += response.body_len;
        if response.status >= 500 {
            r.errors.status += 1;
            *r.error_kinds
                .entry(format!("status {}", response.status))
                .or_default() += 1;
        } else {
            r.ok += 1;
        }
        r.latency.record(nanos(now - intended));
        r.service.record(nanos(now - exchange.started));
        let first = exchange.first_byte.unwrap_or(now);
        let s = &mut r.split;
        s.requests += 1;
        s.connect_ns += (exchange.write_start - exchange.started).as_nanos();
        s.connects += 1;
        s.write_ns += (exchange.sent - exchange.write_start).as_nanos();
        s.wait_ns += (first - exchange.sent).as_nanos();
        s.read_ns += (now - first).as_nanos();
        let close_start = Instant::now();
        exchange.close(&self.poll);
        let closed = Instant::now();
        self.result.split.close_ns += (closed - close_start).as_nanos();
        self.result.split.closes += 1;
        self.live -= 1;
        self.last_event = closed;
    }

    fn finish_failed(&mut self, conn: Conn, failure: Failure) {
        conn.exchange.close(&self.poll);
        self.live -= 1;
        self.count_failure(failure);
    }

    fn count_failure(&mut self, failure: Failure) {
        self.last_event = Instant::now();
        failure.tally(&mut self.result.errors);
        let kind = match failure {
            Failure::Connect(err) => format!("connect: {}", err),
            Failure::Write(err) => format!("write: {}", err),
            Failure::Read(err) => format!("read: {}", err),
            Failure::Parse(err) => format!("read: malformed response: {err}"),
            Failure::Timeout => format!(
                "timeout: no complete response within {:?}",
                self.params.timeout
            ),
        };
        let kinds = &mut self.result.error_kinds;
        let key = if kinds.contains_key(&kind) || kinds.len() < MAX_KINDS {
            kind
        } else {
            "other".to_string()
        };
        *kinds.entry(key).or_default() += 1;
    }

    fn sweep_timeouts(&mut self, now: Instant) {
        for slot in 0..self.conns.len() {
            let expired = self.conns[slot]
                .as_ref()
                .is_some_and(|c| now - c.exchange.started >= self.params.timeout);
            if expired {
                let conn = self.conns[slot].take().expect("checked");
                self.finish_failed(conn, Failure::Timeout);
            }
        }
    }
}

/// Raise the soft limit on open files to the hard limit; returns the soft
/// limit now in force.
pub fn raise_nofile_limit() -> io::Result<u64> {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(io::Error::from)?;
    if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).map_err(io::Error::from)?;
        return Ok(hard);
    }
    Ok(soft)
}
