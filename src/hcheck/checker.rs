//! The health-checker child process (reference §5, issue #8).
//!
//! The supervisor forks it like a worker, after the scoreboard is ready, when
//! some member slot has a health-check method; it never accepts a client
//! connection (its copies of the listeners are closed). One mio loop ticks
//! every [`TICK`]: every member slot in use whose `hc_method` is not NONE and
//! that is neither disabled (D) nor stopped (S) is due when
//! `now >= hc_last_check + hc_interval`. A due member gets a probe unless one
//! is already in flight for it or `ProxyHCTPsize` probes (0 = one) are in
//! flight; the longest-waiting members go first.
//!
//! A probe is a non-blocking TCP connect (`TCP`: connected = passed), then
//! `OPTIONS * HTTP/1.x` / `HEAD path HTTP/1.x` / `GET path HTTP/1.x` with only
//! `Host: host:port`, the response head (and for GET the body to its end, at
//! most [`BODY_CAP`] bytes kept), then close; `CPING` (AJP members) sends the
//! CPING packet and passes on a CPONG. It passes when the named
//! `ProxyHCExpr` is true or, without one, the status is 200..=399. Each probe
//! has its own deadline (`connectiontimeout=`, else `timeout=`, else the
//! interval clamped to 1..5 s), so a member that hangs delays nobody else.
//!
//! Results go into the member slot: `hc_last_check`, `hc_last_result`,
//! `hc_reason`, and the counters, counted **back-to-back** ([`count`]; httpd
//! counts cumulatively, reference §9): `hcfails` failures in a row set `C`,
//! `hcpasses` passes in a row clear `C` and `E`.
//!
//! The settings are read from the slot at every tick, so members added at run
//! time and settings changed at run time are followed. SIGUSR1 (graceful
//! restart or stop) or a newer generation in the header ends the process; a
//! probe in flight is then dropped (its member is checked by the next checker).

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::pool::MemberStream;
use mio::{Events, Interest, Poll, Token};
use scoreboard::{flags, MemberSlot, Scoreboard};

use crate::config::{Config, HcMethod};
use crate::http::{BodyReader, Framing};
use crate::proxy::Routes;

/// How often due members are looked for (httpd's watchdog tick).
pub const TICK: Duration = Duration::from_millis(100);
/// Most body bytes of a GET check kept for the expression; the rest is not read.
pub const BODY_CAP: usize = 64 * 1024;
/// Most response-head bytes read before the response counts as malformed.
const HEAD_CAP: usize = 64 * 1024;
/// The interval of a member whose slot says 0 (httpd's default).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
/// The shortest interval (httpd's minimum).
const MIN_INTERVAL: Duration = Duration::from_millis(100);
/// Bounds of a probe's default time limit (the interval, clamped).
const DEFAULT_TIMEOUT_MIN: Duration = Duration::from_secs(1);
const DEFAULT_TIMEOUT_MAX: Duration = Duration::from_secs(5);
/// Token of the SIGUSR1 pipe; probes use their member slot number.
const SIGNAL: Token = Token(usize::MAX - 1);

/// What the checker needs, handed over by the supervisor before fork.
pub struct CheckerSetup {
    pub config: Arc<Config>,
    pub routes: Arc<Routes>,
    pub scoreboard: Arc<Scoreboard>,
}

/// Whether any member slot in use asks for a health check (the supervisor
/// starts a checker only then).
pub fn wanted(sb: &Scoreboard) -> bool {
    sb.members()
        .iter()
        .any(|m| m.in_use() && m.hc_method() != HcMethod::None.code())
}

/// The request path of an HTTP check (reference §5): the member URL's path,
/// `/` when both it and `hcuri` are non-empty, then `hcuri`; `/` if that
/// leaves nothing, and a leading `/` added when missing.
pub fn probe_path(member_path: &str, hcuri: &str) -> String {
    let sep = if !member_path.is_empty() && !hcuri.is_empty() {
        "/"
    } else {
        ""
    };
    let path = format!("{member_path}{sep}{hcuri}");
    if path.starts_with('/') {
        path
    } else {
        format!("/{path}")
    }
}

/// The HTTP request a probe sends; `None` for TCP (connect only), NONE and
/// CPING (whose packet is [`crate::codec::ajp::CPING_PACKET`]).
pub fn request(method: HcMethod, path: &str, host_port: &str) -> Option<String> {
    let (verb, target, version) = match method {
        HcMethod::None | HcMethod::Tcp | HcMethod::Cping => return None,
        HcMethod::Options => ("OPTIONS", "*", "1.0"),
        HcMethod::Options11 => ("OPTIONS", "*", "1.1"),
        HcMethod::Head => ("HEAD", path, "1.0"),
        HcMethod::Head11 => ("HEAD", path, "1.1"),
        HcMethod::Get => ("GET", path, "1.0"),
        HcMethod::Get11 => ("GET", path, "1.1"),
    };
    Some(format!(
        "{verb} {target} HTTP/{version}\r\nHost: {host_port}\r\n\r\n"
    ))
}

/// A member's health-check counters and what one result does to them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Passes in a row while the member is out (C or E).
    pub pcount: u32,
    /// Failures in a row while the member has no C.
    pub fcount: u32,
}

/// What [`count`] decided besides the new counters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    None,
    /// `hcfails` failures in a row: set C (and the error time).
    SetFailed,
    /// `hcpasses` passes in a row while out: clear C and E.
    Recovered,
}

/// slotgate's counting, **back-to-back** (reference §9 fixes httpd's
/// cumulative counters): every result resets the opposite counter. A
/// failure of a member without C adds to `fcount`, and at
/// `fcount >= max(fails, 1)` sets C (fcount back to 0); a pass of a member
/// with C or E adds to `pcount`, and at `pcount >= max(passes, 1)` clears C
/// and E (pcount back to 0). A pass of a usable member and a failure of a
/// member already in C only reset the other counter.
pub fn count(
    before: Counts,
    status: u32,
    passed: bool,
    passes: u32,
    fails: u32,
) -> (Counts, Transition) {
    let out = status & (flags::HC_FAILED | flags::ERROR) != 0;
    if passed {
        if !out {
            return (Counts::default(), Transition::None);
        }
        let pcount = before.pcount.saturating_add(1);
        if pcount >= passes.max(1) {
            (Counts::default(), Transition::Recovered)
        } else {
            (Counts { pcount, fcount: 0 }, Transition::None)
        }
    } else {
        if status & flags::HC_FAILED != 0 {
            return (Counts::default(), Transition::None);
        }
        let fcount = before.fcount.saturating_add(1);
        if fcount >= fails.max(1) {
            (Counts::default(), Transition::SetFailed)
        } else {
            (Counts { pcount: 0, fcount }, Transition::None)
        }
    }
}

/// The outcome of one probe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub passed: bool,
    /// The response status, 0 without one (TCP, or no response).
    pub status: u16,
    /// Short text for `hc_reason`: `ok`, `status 500`, `timeout`, ...
    pub reason: String,
}

impl Outcome {
    fn fail(reason: impl Into<String>) -> Outcome {
        Outcome {
            passed: false,
            status: 0,
            reason: reason.into(),
        }
    }
}

/// Writes one probe's outcome into the member slot, applies [`count`] and
/// logs a change of state. `name` is the member's URL for the log.
pub fn record(slot: &MemberSlot, outcome: &Outcome, now_ms: u64) -> Transition {
    slot.set_hc_last_check(now_ms);
    slot.set_hc_result(outcome.passed, outcome.status);
    slot.hc_reason.set(&outcome.reason);
    let before = Counts {
        pcount: slot.hc_pcount(),
        fcount: slot.hc_fcount(),
    };
    let (after, t) = count(
        before,
        slot.status(),
        outcome.passed,
        slot.hc_passes(),
        slot.hc_fails(),
    );
    slot.set_hc_pcount(after.pcount);
    slot.set_hc_fcount(after.fcount);
    let url = slot.url.get();
    match t {
        Transition::SetFailed => {
            slot.set_error_time(now_ms);
            slot.set_flags(flags::HC_FAILED);
            log::error!(
                "health check: member {url} failed {} check(s) in a row ({}); taken out (+C)",
                slot.hc_fails().max(1),
                outcome.reason
            );
        }
        Transition::Recovered => {
            slot.clear_flags(flags::HC_FAILED | flags::ERROR);
            log::info!(
                "health check: member {url} passed {} check(s) in a row; back in service",
                slot.hc_passes().max(1)
            );
        }
        Transition::None => {}
    }
    t
}

/// Where and how to probe one member slot (cached per slot, rebuilt when its
/// URL changes).
struct Target {
    url: String,
    addr: Option<SocketAddr>,
    /// The socket file of a `unix:/path|http://host/` member.
    socket: Option<std::path::PathBuf>,
    /// `host:port` for the Host header.
    host_port: String,
    /// The URL's path.
    path: String,
    timeout: Option<Duration>,
}

impl Target {
    fn new(routes: &Routes, slot: usize, url: &str) -> Target {
        if let Some(m) = routes
            .members
            .iter()
            .find(|m| m.slot == slot && m.url.name == url)
        {
            return Target {
                url: url.to_string(),
                addr: m.addrs.first().copied(),
                socket: m.url.socket.as_ref().map(std::path::PathBuf::from),
                host_port: host_port(&m.url.host, m.url.port),
                path: m.url.path.clone(),
                timeout: m.hc_timeout,
            };
        }
        // A member added at run time: resolved here, once (a name lookup
        // blocks; IP literals, the usual case, do not).
        match crate::url::parse_member_url(url) {
            Ok(u) => Target {
                url: url.to_string(),
                addr: (u.host.as_str(), u.port)
                    .to_socket_addrs()
                    .ok()
                    .and_then(|mut a| a.next())
                    .filter(|_| u.socket.is_none()),
                socket: u.socket.as_ref().map(std::path::PathBuf::from),
                host_port: host_port(&u.host, u.port),
                path: u.path,
                timeout: None,
            },
            Err(_) => Target {
                url: url.to_string(),
                addr: None,
                socket: None,
                host_port: String::new(),
                path: String::new(),
                timeout: None,
            },
        }
    }
}

fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The interval of a slot's settings (0 = default; at least 100 ms).
fn interval_of(slot: &MemberSlot) -> Duration {
    match slot.hc_interval_ms() {
        0 => DEFAULT_INTERVAL,
        ms => Duration::from_millis(u64::from(ms)).max(MIN_INTERVAL),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Phase {
    Connecting,
    Sending { written: usize },
    Receiving,
}

/// One check in flight.
struct Probe {
    slot: usize,
    url: String,
    method: HcMethod,
    expr: String,
    stream: MemberStream,
    deadline: Instant,
    phase: Phase,
    request: Vec<u8>,
    buf: Vec<u8>,
    /// Once the head is parsed: status, Content-Type, body walker, body kept.
    head: Option<(u16, Option<String>, BodyReader)>,
    body: Vec<u8>,
}

impl Probe {
    /// Makes all the progress the socket allows; `Some` once the probe is over.
    fn advance(&mut self, config: &Config) -> Option<Outcome> {
        loop {
            match self.phase {
                Phase::Connecting => {
                    match self.stream.connect_result() {
                        Ok(true) => {}
                        Ok(false) => return None,
                        Err(e) => return Some(connect_failure(&e)),
                    }
                    if self.method == HcMethod::Tcp {
                        return Some(Outcome {
                            passed: true,
                            status: 0,
                            reason: "ok".into(),
                        });
                    }
                    self.phase = Phase::Sending { written: 0 };
                }
                Phase::Sending { written } => match self.stream.write(&self.request[written..]) {
                    Ok(n) if written + n == self.request.len() => {
                        self.phase = Phase::Receiving;
                    }
                    Ok(n) => {
                        self.phase = Phase::Sending {
                            written: written + n,
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return None,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => return Some(Outcome::fail(short_io("send", &e))),
                },
                Phase::Receiving => {
                    let mut chunk = [0u8; 16 * 1024];
                    match self.stream.read(&mut chunk) {
                        Ok(0) => return Some(self.on_eof(config)),
                        Ok(n) => {
                            if let Some(done) = self.take(&chunk[..n], config) {
                                return Some(done);
                            }
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => return None,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(e) => return Some(Outcome::fail(short_io("receive", &e))),
                    }
                }
            }
        }
    }

    /// Takes received bytes; `Some` once the response is complete enough.
    fn take(&mut self, input: &[u8], config: &Config) -> Option<Outcome> {
        if self.head.is_some() {
            return self.take_body(input, config);
        }
        self.buf.extend_from_slice(input);
        if self.method == HcMethod::Cping {
            return match crate::codec::ajp::read_cpong(&self.buf) {
                Ok(Some(_)) => Some(Outcome {
                    passed: true,
                    status: 0,
                    reason: "ok".into(),
                }),
                Ok(None) => None,
                Err(_) => Some(Outcome::fail("bad CPONG")),
            };
        }
        let is_head = matches!(self.method, HcMethod::Head | HcMethod::Head11);
        let parsed = match crate::http::parse_response(&self.buf, is_head) {
            Ok(Some(h)) => h,
            Ok(None) if self.buf.len() < HEAD_CAP => return None,
            Ok(None) | Err(_) => return Some(Outcome::fail("bad response")),
        };
        let content_type = parsed
            .header("content-type")
            .map(|v| String::from_utf8_lossy(v).into_owned());
        // HEAD and OPTIONS: the head is all we read.
        let get = matches!(self.method, HcMethod::Get | HcMethod::Get11);
        let framing = if get { parsed.framing } else { Framing::None };
        self.head = Some((parsed.status, content_type, BodyReader::new(framing)));
        let rest = self.buf.split_off(parsed.len);
        self.buf.clear();
        self.take_body(&rest, config)
    }

    /// Walks body bytes, keeping at most [`BODY_CAP`] of them.
    fn take_body(&mut self, mut data: &[u8], config: &Config) -> Option<Outcome> {
        let (_, _, reader) = self.head.as_mut()?;
        while !reader.is_done() && !data.is_empty() && self.body.len() < BODY_CAP {
            match reader.step(data) {
                Ok((0, _)) => break,
                Ok((used, payload)) => {
                    let part = &data[payload];
                    let room = BODY_CAP - self.body.len();
                    self.body.extend_from_slice(&part[..part.len().min(room)]);
                    data = &data[used..];
                }
                Err(e) => return Some(Outcome::fail(format!("bad body: {e}"))),
            }
        }
        // Complete, or enough to judge by (the rest is not read).
        (reader.is_done() || self.body.len() >= BODY_CAP).then(|| self.judge(config))
    }

    fn on_eof(&mut self, config: &Config) -> Outcome {
        match self.head.as_mut() {
            None => Outcome::fail("closed without response"),
            Some((_, _, reader)) => match reader.finish_on_eof() {
                Ok(()) => self.judge(config),
                Err(_) => Outcome::fail("body truncated"),
            },
        }
    }

    /// The pass criterion: the expression, else 200..=399.
    fn judge(&self, config: &Config) -> Outcome {
        let Some((status, content_type, _)) = &self.head else {
            return Outcome::fail("no response");
        };
        let status = *status;
        let (passed, reason) = if self.expr.is_empty() {
            let ok = (200..=399).contains(&status);
            (
                ok,
                if ok {
                    "ok".into()
                } else {
                    format!("status {status}")
                },
            )
        } else {
            match config.hc_exprs.iter().find(|d| d.name == self.expr) {
                Some(def) => {
                    let probe = crate::expr::Probe {
                        status,
                        content_type: content_type.as_deref(),
                        body: &self.body,
                    };
                    if def.expr.eval(&probe) {
                        (true, "ok".into())
                    } else {
                        (false, format!("expr {} false (status {status})", self.expr))
                    }
                }
                None => (false, format!("no ProxyHCExpr {}", self.expr)),
            }
        };
        Outcome {
            passed,
            status,
            reason,
        }
    }
}

fn connect_failure(e: &io::Error) -> Outcome {
    Outcome::fail(match e.kind() {
        ErrorKind::ConnectionRefused => "connect refused".to_string(),
        _ => short_io("connect", e),
    })
}

fn short_io(what: &str, e: &io::Error) -> String {
    match e.kind() {
        ErrorKind::ConnectionReset => format!("{what}: reset"),
        ErrorKind::ConnectionRefused => format!("{what}: refused"),
        ErrorKind::TimedOut => "timeout".to_string(),
        _ => format!("{what}: {e}"),
    }
}

/// The checker's state between ticks.
struct Checker {
    config: Arc<Config>,
    routes: Arc<Routes>,
    sb: Arc<Scoreboard>,
    poll: Poll,
    /// Indexed by member slot: the probe in flight, if any.
    probes: Vec<Option<Probe>>,
    in_flight: usize,
    targets: Vec<Option<Target>>,
    next_tick: Instant,
}

impl Checker {
    fn limit(&self) -> usize {
        self.config.hc_tpsize.max(1)
    }

    /// Starts probes for the due members, longest waiting first.
    fn schedule(&mut self, now: Instant) {
        let now_ms = scoreboard::unix_time_ms();
        let mut due: Vec<(u64, usize)> = Vec::new();
        for (i, m) in self.sb.members().iter().enumerate() {
            if i >= self.probes.len() || self.probes[i].is_some() || !m.in_use() {
                continue;
            }
            if HcMethod::from_code(m.hc_method()) == HcMethod::None
                || m.status() & (flags::DISABLED | flags::STOPPED) != 0
            {
                continue;
            }
            let last = m.hc_last_check();
            if now_ms >= last.saturating_add(interval_of(m).as_millis() as u64) {
                due.push((last, i));
            }
        }
        due.sort_unstable();
        for (_, i) in due {
            if self.in_flight >= self.limit() {
                break;
            }
            self.start(i, now, now_ms);
        }
    }

    fn start(&mut self, i: usize, now: Instant, now_ms: u64) {
        let m = self.sb.member(i);
        let url = m.url.get();
        if self.targets[i].as_ref().is_none_or(|t| t.url != url) {
            self.targets[i] = Some(Target::new(&self.routes, i, &url));
        }
        let Some(target) = self.targets[i].as_ref() else {
            return;
        };
        let method = HcMethod::from_code(m.hc_method());
        if target.addr.is_none() && target.socket.is_none() {
            record(m, &Outcome::fail("no address"), now_ms);
            return;
        }
        let interval = interval_of(m);
        let timeout = target
            .timeout
            .unwrap_or_else(|| interval.clamp(DEFAULT_TIMEOUT_MIN, DEFAULT_TIMEOUT_MAX));
        let path = probe_path(&target.path, &m.hc_uri.get());
        let req = request(method, &path, &target.host_port).unwrap_or_default();
        // TCP, or the socket file of a `unix:` member.
        let mut stream = match MemberStream::connect(target.socket.as_deref(), target.addr, false) {
            Ok(s) => s,
            Err(e) => {
                record(m, &connect_failure(&e), now_ms);
                return;
            }
        };
        let interest = Interest::READABLE | Interest::WRITABLE;
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut stream, Token(i), interest)
        {
            record(m, &Outcome::fail(format!("poll: {e}")), now_ms);
            return;
        }
        log::trace!("health check: {} {url} ({path})", method.name());
        self.probes[i] = Some(Probe {
            slot: i,
            url,
            method,
            expr: m.hc_expr.get(),
            stream,
            deadline: now + timeout,
            phase: Phase::Connecting,
            request: match method {
                HcMethod::Cping => crate::codec::ajp::CPING_PACKET.to_vec(),
                _ => req.into_bytes(),
            },
            buf: Vec::new(),
            head: None,
            body: Vec::new(),
        });
        self.in_flight += 1;
    }

    /// Ends the probe of slot `i` with `outcome` (closing its connection).
    fn finish(&mut self, i: usize, outcome: Outcome) {
        let Some(mut p) = self.probes[i].take() else {
            return;
        };
        self.in_flight -= 1;
        let _ = self.poll.registry().deregister(&mut p.stream);
        drop(p.stream);
        let m = self.sb.member(p.slot);
        // The slot may have been given to another member meanwhile.
        if m.in_use() && m.url.get() == p.url {
            record(m, &outcome, scoreboard::unix_time_ms());
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.probes.iter().flatten().map(|p| p.deadline).min()
    }

    fn expire(&mut self, now: Instant) {
        for i in 0..self.probes.len() {
            if self.probes[i].as_ref().is_some_and(|p| p.deadline <= now) {
                self.finish(i, Outcome::fail("timeout"));
            }
        }
    }
}

impl Checker {
    fn new(config: Arc<Config>, routes: Arc<Routes>, sb: Arc<Scoreboard>) -> io::Result<Checker> {
        let members = sb.members().len();
        Ok(Checker {
            config,
            routes,
            sb,
            poll: Poll::new()?,
            probes: (0..members).map(|_| None).collect(),
            in_flight: 0,
            targets: (0..members).map(|_| None).collect(),
            next_tick: Instant::now(),
        })
    }

    /// One turn of the loop: waits for I/O at most until the next tick or
    /// the nearest probe deadline, advances the probes that can move, ends
    /// the ones past their deadline, and on a tick starts the due ones.
    /// Returns whether `signal`'s token was among the events.
    fn turn(&mut self, events: &mut Events, signal: Token) -> io::Result<bool> {
        let now = Instant::now();
        let wake = self
            .next_deadline()
            .map_or(self.next_tick, |d| d.min(self.next_tick));
        if let Err(e) = self
            .poll
            .poll(events, Some(wake.saturating_duration_since(now)))
        {
            if e.kind() != ErrorKind::Interrupted {
                return Err(e);
            }
        }
        let mut signalled = false;
        for ev in events.iter() {
            if ev.token() == signal {
                signalled = true;
                continue;
            }
            let i = ev.token().0;
            let config = self.config.clone();
            let done = self
                .probes
                .get_mut(i)
                .and_then(|p| p.as_mut()?.advance(&config));
            if let Some(outcome) = done {
                self.finish(i, outcome);
            }
        }
        let now = Instant::now();
        self.expire(now);
        if now >= self.next_tick {
            self.schedule(now);
            self.next_tick = now + TICK;
        }
        Ok(signalled)
    }
}

/// Runs the health checker until SIGUSR1, SIGTERM (default action) or a newer
/// generation in the scoreboard header.
pub fn run(setup: CheckerSetup) -> io::Result<()> {
    scoreboard::set_current_pid(std::process::id() as i32);
    let generation = setup.scoreboard.header().generation();
    let mut c = Checker::new(setup.config, setup.routes, setup.scoreboard)?;
    let stop = Arc::new(AtomicBool::new(false));
    let (signal_rx, signal_tx) = std::os::unix::net::UnixStream::pair()?;
    signal_rx.set_nonblocking(true)?;
    signal_tx.set_nonblocking(true)?;
    signal_hook::flag::register(signal_hook::consts::SIGUSR1, stop.clone())?;
    signal_hook::low_level::pipe::register(signal_hook::consts::SIGUSR1, signal_tx)?;
    crate::process::accept_stop_signal()?;
    let mut signal_rx = mio::net::UnixStream::from_std(signal_rx);
    c.poll
        .registry()
        .register(&mut signal_rx, SIGNAL, Interest::READABLE)?;
    log::debug!(
        "health checker (pid {}) running, at most {} probes at once",
        std::process::id(),
        c.limit()
    );
    let mut events = Events::with_capacity(256);
    loop {
        if c.turn(&mut events, SIGNAL)? {
            let mut sink = [0u8; 64];
            while matches!(signal_rx.read(&mut sink), Ok(n) if n > 0) {}
        }
        if stop.load(Ordering::Relaxed) || c.sb.header().generation() > generation {
            log::debug!("health checker (pid {}) stopping", std::process::id());
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests;
