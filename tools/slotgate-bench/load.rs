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
//! When the window closes no new request is started, and the requests in
//! flight are waited for (at most `timeout`): they are not in the window's
//! figures, but `requests_total` counts every response of the run (warm-up,
//! window and this drain), so it can be checked against what the server saw.
//!
//! `run_threads` splits the connections over several threads, each with its
//! own poll and engine over the same window, and merges their results.

use crate::conn::{Exchange as Conn, Failure, Step, READ_BUFFER};
use crate::histogram::Histogram;
use crate::response::Response;
use mio::{Events, Poll};
use std::io::{self, ErrorKind};
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

/// How often timeouts and the end of the run are checked when idle.
const TICK: Duration = Duration::from_millis(50);

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

    pub fn add(&mut self, other: &ErrorCounts) {
        self.connect += other.connect;
        self.write += other.write;
        self.read += other.read;
        self.status += other.status;
        self.timeout += other.timeout;
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
    pub fn add(&mut self, other: &TimeSplit) {
        self.connect_ns += other.connect_ns;
        self.connects += other.connects;
        self.write_ns += other.write_ns;
        self.wait_ns += other.wait_ns;
        self.read_ns += other.read_ns;
        self.requests += other.requests;
        self.close_ns += other.close_ns;
        self.closes += other.closes;
    }

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
    /// Responses completed over the whole run: warm-up, window and drain.
    pub requests_total: u64,
    /// Of `requests_total`, those completed after the window closed (in
    /// flight when it did).
    pub drained: u64,
    /// Errors over the whole run (`errors` has the window's).
    pub errors_total: u64,
    /// Generator threads that ran the load.
    pub threads: usize,
}

impl LoadResult {
    fn empty(duration: Duration) -> LoadResult {
        LoadResult {
            elapsed: duration,
            requests: 0,
            body_bytes: 0,
            errors: ErrorCounts::default(),
            connections: 0,
            latency: Histogram::new(),
            split: TimeSplit::default(),
            cpu_seconds: 0.0,
            first_error: None,
            requests_total: 0,
            drained: 0,
            errors_total: 0,
            threads: 1,
        }
    }

    /// Add the figures of another thread's run over the same window.
    pub fn merge(&mut self, other: &LoadResult) {
        self.elapsed = self.elapsed.max(other.elapsed);
        self.requests += other.requests;
        self.body_bytes += other.body_bytes;
        self.errors.add(&other.errors);
        self.connections += other.connections;
        self.latency.merge(&other.latency);
        self.split.add(&other.split);
        self.cpu_seconds += other.cpu_seconds;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        self.requests_total += other.requests_total;
        self.drained += other.drained;
        self.errors_total += other.errors_total;
        self.threads += other.threads;
    }

    pub fn requests_per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
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

/// Run the load from one thread (the caller's).
pub fn run(params: &LoadParams) -> io::Result<LoadResult> {
    run_engine(params, params.concurrency, Instant::now())
}

/// Run the load from `threads` threads (at most one per connection), the
/// connections split as evenly as possible, over one common window.
pub fn run_threads(params: &LoadParams, threads: usize) -> io::Result<LoadResult> {
    if threads <= 1 {
        run(params)
    } else {
        run_pinned(params, threads, &[])
    }
}

/// `run_threads`, thread `i` pinned to CPU `cpus[i % cpus.len()]` (no
/// pinning when `cpus` is empty).
pub fn run_pinned(params: &LoadParams, threads: usize, cpus: &[usize]) -> io::Result<LoadResult> {
    let threads = threads.clamp(1, params.concurrency.max(1));
    let start = Instant::now();
    if threads == 1 && cpus.is_empty() {
        return run_engine(params, params.concurrency, start);
    }
    let shares: Vec<usize> = (0..threads)
        .map(|i| params.concurrency / threads + usize::from(i < params.concurrency % threads))
        .collect();
    let results: Vec<io::Result<LoadResult>> = thread::scope(|scope| {
        let handles: Vec<_> = shares
            .iter()
            .enumerate()
            .map(|(i, &share)| {
                let cpu = (!cpus.is_empty()).then(|| cpus[i % cpus.len()]);
                thread::Builder::new()
                    .name(format!("load-{i}"))
                    .spawn_scoped(scope, move || {
                        if let Some(cpu) = cpu {
                            pin_current_thread(cpu)?;
                        }
                        run_engine(params, share, start)
                    })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| match h {
                Ok(h) => h
                    .join()
                    .unwrap_or_else(|_| Err(io::Error::other("a load thread panicked"))),
                Err(e) => Err(e),
            })
            .collect()
    });
    let mut merged: Option<LoadResult> = None;
    for result in results {
        let result = result?;
        match &mut merged {
            None => merged = Some(result),
            Some(m) => m.merge(&result),
        }
    }
    Ok(merged.expect("at least one thread"))
}

/// Pin the calling thread to one CPU.
pub fn pin_current_thread(cpu: usize) -> io::Result<()> {
    use nix::sched::{sched_setaffinity, CpuSet};
    use nix::unistd::Pid;
    let mut set = CpuSet::new();
    set.set(cpu)
        .map_err(|e| io::Error::other(format!("CPU {cpu}: {e}")))?;
    sched_setaffinity(Pid::from_raw(0), &set)
        .map_err(|e| io::Error::other(format!("pinning a thread to CPU {cpu}: {e}")))
}

/// One engine with `concurrency` connections, its window starting
/// `params.warmup` after `start`.
fn run_engine(params: &LoadParams, concurrency: usize, start: Instant) -> io::Result<LoadResult> {
    let measure_from = start + params.warmup;
    let mut engine = Engine {
        params,
        poll: Poll::new()?,
        conns: (0..concurrency).map(|_| None).collect(),
        buffer: vec![0; READ_BUFFER],
        measure_from,
        measure_to: measure_from + params.duration,
        result: LoadResult::empty(params.duration),
    };
    let mut cpu_start = None;
    for slot in 0..concurrency {
        engine.open(slot, Instant::now());
    }
    let mut events = Events::with_capacity(1024);
    let mut last_sweep = Instant::now();
    let mut cpu_end = None;
    // The window, then the drain: no new requests, the ones in flight are
    // waited for (each bounded by the timeout sweep, the whole by this).
    let drain_deadline = engine.measure_to + params.timeout + TICK;
    loop {
        let now = Instant::now();
        if cpu_start.is_none() && now >= engine.measure_from {
            cpu_start = Some(cpu_time());
        }
        if now >= engine.measure_to {
            if cpu_end.is_none() {
                cpu_end = Some(cpu_time());
            }
            if engine.conns.iter().all(Option::is_none) || now >= drain_deadline {
                break;
            }
        }
        let until = if now < engine.measure_to {
            engine.measure_to
        } else {
            drain_deadline
        };
        let wait = TICK.min(until.saturating_duration_since(now));
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
    let cpu_end = cpu_end.unwrap_or_else(cpu_time);
    engine.result.cpu_seconds = cpu_end - cpu_start.unwrap_or(cpu_end);
    // Whatever is left after the drain deadline is dropped unmeasured.
    for slot in engine.conns.iter_mut() {
        if let Some(conn) = slot.take() {
            conn.close(&engine.poll);
        }
    }
    Ok(engine.result)
}

/// CPU seconds (user + system) the calling thread has used.
pub(crate) fn cpu_time() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    match getrusage(UsageWho::RUSAGE_THREAD) {
        Ok(usage) => {
            let secs = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
            secs(usage.user_time()) + secs(usage.system_time())
        }
        Err(_) => 0.0,
    }
}

impl Engine<'_> {
    fn in_window(&self, t: Instant) -> bool {
        t >= self.measure_from && t < self.measure_to
    }

    /// Whether the window has closed: no new request is started.
    fn draining(&self) -> bool {
        Instant::now() >= self.measure_to
    }

    /// Open a connection in `slot` and start a request on it (not once the
    /// window has closed: the slot stays empty).
    fn open(&mut self, slot: usize, started: Instant) {
        if self.draining() {
            self.conns[slot] = None;
            return;
        }
        let conn = match Conn::connect(&self.poll, self.params.addr, slot, started) {
            Ok(conn) => conn,
            Err(e) => {
                self.count_failure(Failure::Connect(e), started);
                return self.retry_later(slot);
            }
        };
        if self.in_window(started) {
            self.result.connections += 1;
        }
        self.conns[slot] = Some(conn);
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
        conn.advance(self.params.request, &mut self.buffer)
    }

    /// A response is complete: record it and start the next request (in a
    /// loop, as the next response may already be readable).
    fn complete(&mut self, slot: usize, mut conn: Conn, mut response: Response) {
        loop {
            let now = Instant::now();
            let counted = self.in_window(now);
            self.result.requests_total += 1;
            if response.status >= 500 {
                self.result.errors_total += 1;
            }
            if now >= self.measure_to {
                self.result.drained += 1;
            }
            if counted {
                self.record(&conn, &response, now);
            }
            if now >= self.measure_to {
                // Draining: this connection's work is done.
                self.close(conn, false);
                return;
            }
            if self.params.close || !response.keep_alive {
                self.close(conn, counted);
                self.open(slot, Instant::now());
                return;
            }
            conn.reuse(now);
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
    fn close(&mut self, conn: Conn, measure: bool) {
        let start = Instant::now();
        conn.close(&self.poll);
        if measure {
            self.result.split.close_ns += start.elapsed().as_nanos();
            self.result.split.closes += 1;
        }
    }

    fn count_failure(&mut self, failure: Failure, started: Instant) {
        self.result.errors_total += 1;
        if !self.in_window(Instant::now()) && !self.in_window(started) {
            return;
        }
        failure.tally(&mut self.result.errors);
        let message = match failure {
            Failure::Connect(err) => format!("connecting to {}: {err}", self.params.addr),
            Failure::Write(err) => format!("writing the request: {err}"),
            Failure::Read(err) => format!("reading the response: {err}"),
            Failure::Parse(err) => format!("parsing the response: {err}"),
            Failure::Timeout => format!("no complete response within {:?}", self.params.timeout),
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
