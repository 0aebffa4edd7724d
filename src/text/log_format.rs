//! httpd's `LogFormat` language (mod_log_config, with mod_logio's `%I %O %S`):
//! [`Format::compile`] turns a format into pieces once, [`Format::render_into`]
//! writes one request's line. It is the one parser of the language: the
//! configuration checks a `LogFormat` with it, so `-t` accepts exactly what a start
//! can log; `logging::access` writes the lines.
//!
//! Rendering allocates nothing per request: numbers are written digit by digit,
//! header values are borrowed from the request and response, and `%t` is
//! formatted once per second.

use std::cell::RefCell;
use std::io::Write as _;
use std::net::SocketAddr;

use super::date::{self, Civil};
use super::escape::log_item_into;

/// Which port `%p` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PortKind {
    /// `%p`, `%{canonical}p`: the server's port (ServerName's, else the scheme's).
    Canonical,
    /// `%{local}p`: the port the connection arrived on.
    Local,
    /// `%{remote}p`: the client's port.
    Remote,
}

/// Which id `%P` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IdKind {
    Pid,
    Tid,
    HexTid,
}

/// The unit of `%T` / `%D`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Unit {
    Seconds,
    Millis,
    Micros,
}

/// What `%{…}t` writes.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Clock {
    /// `%t`: `[day/Mon/year:hh:mm:ss +zone]`.
    Common,
    /// `sec`, `msec`, `usec`: since the epoch.
    Since(Unit),
    /// `msec_frac`, `usec_frac`: the fraction of the current second.
    Fraction(Unit),
    /// A `strftime` format, as its pieces.
    Strftime(Vec<Stamp>),
}

/// One piece of a `strftime` format.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Stamp {
    Text(Box<str>),
    /// A conversion letter (one of [`STRFTIME`]).
    Conversion(u8),
}

/// The `strftime` conversions `%{format}t` understands.
const STRFTIME: &str = "aAbhBCdDeFHIjklmMnprRsStTuwyYz%";

/// One item of a compiled format.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    Text(Box<str>),
    /// `%a`, `%h` (no host name lookups): the client (the PROXY protocol's when
    /// one came); `%{c}a`, `%{c}h`: the peer of the connection itself.
    ClientIp {
        connection: bool,
    },
    /// `%A`.
    LocalIp,
    /// `%b` (`-` for none), `%B` (`0` for none).
    BodyBytes {
        dash: bool,
    },
    /// `%I`, `%O`, `%S`: bytes on the wire, heads included (mod_logio).
    BytesIn,
    BytesOut,
    BytesBoth,
    /// `%{name}C`: a cookie of the request.
    Cookie(Box<str>),
    /// `%D` (µs), `%T` / `%{s|ms|us}T`.
    Taken(Unit),
    Env(Box<str>),
    /// `%{name}n`: a request note (`Header note`).
    Note(Box<str>),
    /// `%f`, `%l`, `%u`, `%L`, `%^ti`, `%^to`, `%^FB`, `%{…}x`, `%{…}c`:
    /// facts slotgate never has (no files served, no identd, no authentication,
    /// no trailers kept, no SSL variables): `-`, as httpd writes for an unset
    /// value.
    Unset,
    Protocol,
    RequestHeader(Box<str>),
    ResponseHeader(Box<str>),
    /// `%k`: requests served on this connection before this one.
    KeepAlives,
    Method,
    Port(PortKind),
    Id(IdKind),
    Query,
    RequestLine,
    /// `%R`: the handler (`proxy-server`, `balancer-manager`, …; `-` for none).
    Handler,
    Status,
    /// `begin` true for the request's start (the default), false for `end:`.
    Time {
        clock: Clock,
        begin: bool,
    },
    Path,
    /// `%v`: the server's ServerName.
    ServerName,
    /// `%V`: the host name the request asked for (UseCanonicalName Off).
    HostName,
    /// `%X`: `X` aborted, `+` may be kept alive, `-` closed.
    ConnStatus,
}

/// An item and the statuses it is written for (`%400,501{User-Agent}i`,
/// `%!200,304{Referer}i`): `(negated, statuses)`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Piece {
    item: Item,
    when: Option<(bool, Vec<u16>)>,
}

/// A compiled `LogFormat` string.
#[derive(Clone, Debug)]
pub struct Format {
    pieces: Vec<Piece>,
}

/// How the connection ended after the response (`%X`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnStatus {
    /// The response was cut short.
    Aborted,
    /// The connection stays open for another request.
    KeepAlive,
    /// The connection closes after the response.
    Close,
}

/// Values of a request that a line may look up by name.
pub trait Lookup {
    fn request_header(&self, name: &str) -> Option<&[u8]>;
    fn response_header(&self, name: &str) -> Option<&[u8]>;
    fn env(&self, name: &str) -> Option<&str>;
    /// A request note (`%{NAME}n`: `Header note` sets them).
    fn note(&self, _name: &str) -> Option<&str> {
        None
    }
}

/// What a log line can tell about one request.
pub struct Record<'a> {
    /// The client: the connection's peer, or the address a PROXY protocol header gave.
    pub peer: SocketAddr,
    /// The connection's peer (a load balancer in front, with the PROXY protocol).
    pub connection_peer: SocketAddr,
    pub local: SocketAddr,
    pub method: &'a str,
    /// The request target as received.
    pub target: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub protocol: &'a str,
    pub status: u16,
    pub body_bytes: u64,
    /// Bytes of the request (head and body) and of the response (head and body).
    pub received: u64,
    pub sent: u64,
    /// Time taken, from the first byte of the request to the log line.
    pub micros: u64,
    /// The server's ServerName as configured (`host` or `host:port`).
    pub server_name: &'a str,
    /// The port of the server's scheme (80, 443), for `%p` when ServerName has none.
    pub default_port: u16,
    /// Requests served on the connection before this one.
    pub keep_alives: u32,
    pub connection: ConnStatus,
    pub handler: Option<&'a str>,
    pub lookup: &'a dyn Lookup,
}

/// Why a format does not compile.
fn unrecognized(what: &str, format: &str) -> String {
    format!("LogFormat: unrecognized directive {what} in \"{format}\"")
}

impl Format {
    /// Compiles a format: `%[<>][!][statuses][{arg}]LETTER`, `%%` for a percent
    /// sign. An unknown directive is an error naming it.
    pub fn compile(s: &str) -> Result<Format, String> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                text.push(c);
                continue;
            }
            if chars.next_if_eq(&'%').is_some() {
                text.push('%');
                continue;
            }
            let mut arg: Option<String> = None;
            let mut negated = false;
            let mut statuses: Vec<u16> = Vec::new();
            let mut number = String::new();
            let letter = loop {
                match chars.next() {
                    None => {
                        return Err(format!(
                            "LogFormat: '%' without a directive at the end of \"{s}\""
                        ))
                    }
                    Some('<' | '>') => {}
                    Some('!') => negated = true,
                    Some(d @ '0'..='9') => number.push(d),
                    Some(',') => push_status(&mut statuses, &mut number, s)?,
                    Some('{') => {
                        let mut a = String::new();
                        let mut closed = false;
                        for c in chars.by_ref() {
                            if c == '}' {
                                closed = true;
                                break;
                            }
                            a.push(c);
                        }
                        if !closed {
                            return Err(format!("LogFormat: unterminated '%{{' in \"{s}\""));
                        }
                        arg = Some(a);
                    }
                    Some('^') => {
                        let two: String = chars.by_ref().take(2).collect();
                        match two.as_str() {
                            "ti" | "to" | "FB" => break '^',
                            _ => return Err(unrecognized(&format!("%^{two}"), s)),
                        }
                    }
                    Some(l) => break l,
                }
            };
            if !number.is_empty() {
                push_status(&mut statuses, &mut number, s)?;
            }
            let named = |what: &str| -> Result<Box<str>, String> {
                match &arg {
                    Some(a) if !a.is_empty() => Ok(a.as_str().into()),
                    _ => Err(format!(
                        "LogFormat: %{letter} needs a {what} in braces, as %{{Name}}{letter}, in \"{s}\""
                    )),
                }
            };
            let item = match letter {
                'a' | 'h' => match arg.as_deref() {
                    None => Item::ClientIp { connection: false },
                    Some("c") => Item::ClientIp { connection: true },
                    Some(o) => return Err(unrecognized(&format!("%{{{o}}}{letter}"), s)),
                },
                'A' => Item::LocalIp,
                'b' => Item::BodyBytes { dash: true },
                'B' => Item::BodyBytes { dash: false },
                'C' => Item::Cookie(named("cookie name")?),
                'D' => Item::Taken(Unit::Micros),
                'e' => Item::Env(named("variable name")?),
                'n' => Item::Note(named("note name")?),
                'f' | 'l' | 'u' | 'L' | '^' | 'x' | 'c' => Item::Unset,
                'H' => Item::Protocol,
                'i' => Item::RequestHeader(named("header name")?),
                'o' => Item::ResponseHeader(named("header name")?),
                'k' => Item::KeepAlives,
                'm' => Item::Method,
                'p' => Item::Port(match arg.as_deref() {
                    None | Some("canonical") => PortKind::Canonical,
                    Some("local") => PortKind::Local,
                    Some("remote") => PortKind::Remote,
                    Some(o) => return Err(unrecognized(&format!("%{{{o}}}p"), s)),
                }),
                'P' => Item::Id(match arg.as_deref() {
                    None | Some("pid") => IdKind::Pid,
                    Some("tid") => IdKind::Tid,
                    Some("hextid") => IdKind::HexTid,
                    Some(o) => return Err(unrecognized(&format!("%{{{o}}}P"), s)),
                }),
                'q' => Item::Query,
                'r' => Item::RequestLine,
                'R' => Item::Handler,
                's' => Item::Status,
                't' => time_item(arg.as_deref(), s)?,
                'T' => Item::Taken(match arg.as_deref() {
                    None | Some("s") => Unit::Seconds,
                    Some("ms") => Unit::Millis,
                    Some("us") => Unit::Micros,
                    Some(o) => return Err(unrecognized(&format!("%{{{o}}}T"), s)),
                }),
                'U' => Item::Path,
                'v' => Item::ServerName,
                'V' => Item::HostName,
                'X' => Item::ConnStatus,
                'I' => Item::BytesIn,
                'O' => Item::BytesOut,
                'S' => Item::BytesBoth,
                other => return Err(unrecognized(&format!("%{other}"), s)),
            };
            if !text.is_empty() {
                pieces.push(Piece {
                    item: Item::Text(std::mem::take(&mut text).into()),
                    when: None,
                });
            }
            pieces.push(Piece {
                item,
                when: (!statuses.is_empty()).then_some((negated, statuses)),
            });
        }
        if !text.is_empty() {
            pieces.push(Piece {
                item: Item::Text(text.into()),
                when: None,
            });
        }
        Ok(Format { pieces })
    }

    /// Appends one line (with the final newline) to `out`.
    pub fn render_into(&self, out: &mut Vec<u8>, r: &Record<'_>) {
        for p in &self.pieces {
            if let Some((negated, statuses)) = &p.when {
                if statuses.contains(&r.status) == *negated {
                    out.push(b'-');
                    continue;
                }
            }
            render_item(out, &p.item, r);
        }
        out.push(b'\n');
    }

    /// One line as a string (tests and tools; the workers render into a buffer
    /// they keep).
    pub fn render(&self, r: &Record<'_>) -> String {
        let mut out = Vec::with_capacity(160);
        self.render_into(&mut out, r);
        String::from_utf8_lossy(&out).into_owned()
    }
}

fn push_status(statuses: &mut Vec<u16>, number: &mut String, format: &str) -> Result<(), String> {
    let n = number
        .parse::<u16>()
        .ok()
        .filter(|n| (100..=999).contains(n))
        .ok_or_else(|| {
            format!("LogFormat: bad status '{number}' in a condition of \"{format}\"")
        })?;
    statuses.push(n);
    number.clear();
    Ok(())
}

/// `%t` and `%{[begin:|end:]format}t`.
fn time_item(arg: Option<&str>, format: &str) -> Result<Item, String> {
    let Some(arg) = arg else {
        return Ok(Item::Time {
            clock: Clock::Common,
            begin: true,
        });
    };
    let (begin, spec) = match (arg.strip_prefix("begin:"), arg.strip_prefix("end:")) {
        (Some(rest), _) => (true, rest),
        (_, Some(rest)) => (false, rest),
        _ => (true, arg),
    };
    let clock = match spec {
        "" => Clock::Common,
        "sec" => Clock::Since(Unit::Seconds),
        "msec" => Clock::Since(Unit::Millis),
        "usec" => Clock::Since(Unit::Micros),
        "msec_frac" => Clock::Fraction(Unit::Millis),
        "usec_frac" => Clock::Fraction(Unit::Micros),
        _ => {
            let mut stamps = Vec::new();
            let mut text = String::new();
            let mut chars = spec.chars();
            while let Some(c) = chars.next() {
                if c != '%' {
                    text.push(c);
                    continue;
                }
                match chars.next() {
                    Some(l) if l.is_ascii() && STRFTIME.contains(l) => {
                        if !text.is_empty() {
                            stamps.push(Stamp::Text(std::mem::take(&mut text).into()));
                        }
                        stamps.push(Stamp::Conversion(l as u8));
                    }
                    Some(l) => {
                        return Err(format!(
                            "LogFormat: %{{{arg}}}t: the time conversion %{l} is not supported \
                             (supported: {}), in \"{format}\"",
                            STRFTIME
                                .chars()
                                .map(|c| format!("%{c}"))
                                .collect::<Vec<_>>()
                                .join(" ")
                        ))
                    }
                    None => return Err(format!("LogFormat: %{{{arg}}}t ends with '%'")),
                }
            }
            if !text.is_empty() {
                stamps.push(Stamp::Text(text.into()));
            }
            Clock::Strftime(stamps)
        }
    };
    Ok(Item::Time { clock, begin })
}

/// Appends `n` in decimal.
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

/// Appends `n` in decimal, zero-padded to `width` digits.
fn push_padded(out: &mut Vec<u8>, n: u64, width: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    while n > 0 || digits.len() - i < width {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    if i == digits.len() {
        i -= 1;
    }
    out.extend_from_slice(&digits[i..]);
}

/// `value` escaped, or `-` when unset or empty (as httpd).
fn push_value(out: &mut Vec<u8>, value: Option<&[u8]>) {
    match value {
        Some(v) if !v.is_empty() => log_item_into(out, v),
        _ => out.push(b'-'),
    }
}

/// `host` and `port` of a ServerName (`host`, `host:port`, `[v6]:port`).
fn host_port(name: &str) -> (&str, Option<u16>) {
    match name.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && (!host.contains(':') || host.ends_with(']')) => {
            (host, port.parse().ok())
        }
        _ => (name, None),
    }
}

/// The value of cookie `name` in a `Cookie` header.
fn cookie<'v>(header: &'v [u8], name: &str) -> Option<&'v [u8]> {
    header.split(|&b| b == b';').find_map(|pair| {
        let pair = pair.trim_ascii();
        let eq = pair.iter().position(|&b| b == b'=')?;
        (pair[..eq].trim_ascii() == name.as_bytes()).then(|| pair[eq + 1..].trim_ascii())
    })
}

fn render_item(out: &mut Vec<u8>, item: &Item, r: &Record<'_>) {
    match item {
        Item::Text(t) => out.extend_from_slice(t.as_bytes()),
        Item::ClientIp { connection } => {
            let peer = if *connection {
                r.connection_peer
            } else {
                r.peer
            };
            let _ = write!(out, "{}", peer.ip());
        }
        Item::LocalIp => {
            let _ = write!(out, "{}", r.local.ip());
        }
        Item::BodyBytes { dash } => {
            if r.body_bytes == 0 && *dash {
                out.push(b'-');
            } else {
                push_u64(out, r.body_bytes);
            }
        }
        Item::BytesIn => push_u64(out, r.received),
        Item::BytesOut => push_u64(out, r.sent),
        Item::BytesBoth => push_u64(out, r.received + r.sent),
        Item::Cookie(name) => push_value(
            out,
            r.lookup
                .request_header("Cookie")
                .and_then(|h| cookie(h, name)),
        ),
        Item::Taken(unit) => push_u64(
            out,
            match unit {
                Unit::Seconds => r.micros / 1_000_000,
                Unit::Millis => r.micros / 1_000,
                Unit::Micros => r.micros,
            },
        ),
        Item::Env(name) => push_value(out, r.lookup.env(name).map(str::as_bytes)),
        Item::Note(name) => push_value(out, r.lookup.note(name).map(str::as_bytes)),
        Item::Unset => out.push(b'-'),
        Item::Protocol => out.extend_from_slice(r.protocol.as_bytes()),
        Item::RequestHeader(name) => push_value(out, r.lookup.request_header(name)),
        Item::ResponseHeader(name) => push_value(out, r.lookup.response_header(name)),
        Item::KeepAlives => push_u64(out, u64::from(r.keep_alives)),
        Item::Method => log_item_into(out, r.method.as_bytes()),
        Item::Port(kind) => push_u64(
            out,
            u64::from(match kind {
                PortKind::Canonical => host_port(r.server_name).1.unwrap_or(r.default_port),
                PortKind::Local => r.local.port(),
                PortKind::Remote => r.peer.port(),
            }),
        ),
        Item::Id(kind) => {
            let pid = std::process::id();
            match kind {
                IdKind::Pid => push_u64(out, u64::from(pid)),
                // Workers are single-threaded: the thread is the process's main thread.
                IdKind::Tid => push_u64(out, u64::from(nix::unistd::gettid().as_raw() as u32)),
                IdKind::HexTid => {
                    let _ = write!(out, "{:x}", nix::unistd::gettid().as_raw());
                }
            }
        }
        Item::Query => {
            if let Some(q) = r.query {
                out.push(b'?');
                log_item_into(out, q.as_bytes());
            }
        }
        Item::RequestLine => {
            log_item_into(out, r.method.as_bytes());
            out.push(b' ');
            log_item_into(out, r.target.as_bytes());
            out.push(b' ');
            out.extend_from_slice(r.protocol.as_bytes());
        }
        Item::Handler => push_value(out, r.handler.map(str::as_bytes)),
        Item::Status => push_u64(out, u64::from(r.status)),
        Item::Time { clock, begin } => {
            let (secs, micros) = date::unix_now();
            let mut at = secs as u64 * 1_000_000 + u64::from(micros);
            if *begin {
                at = at.saturating_sub(r.micros);
            }
            push_time(out, clock, at);
        }
        Item::Path => log_item_into(out, r.path.as_bytes()),
        Item::ServerName => log_item_into(out, host_port(r.server_name).0.as_bytes()),
        Item::HostName => {
            let host = r
                .lookup
                .request_header("Host")
                .and_then(|h| std::str::from_utf8(h).ok())
                .map(|h| host_port(h.trim()).0)
                .filter(|h| !h.is_empty())
                .unwrap_or_else(|| host_port(r.server_name).0);
            let start = out.len();
            log_item_into(out, host.as_bytes());
            out[start..].make_ascii_lowercase();
        }
        Item::ConnStatus => out.push(match r.connection {
            ConnStatus::Aborted => b'X',
            ConnStatus::KeepAlive => b'+',
            ConnStatus::Close => b'-',
        }),
    }
}

thread_local! {
    /// The last `%t` written by this process: (second, text).
    static COMMON_TIME: RefCell<(i64, Vec<u8>)> = const { RefCell::new((i64::MIN, Vec::new())) };
}

/// Appends the time `at` (µs since the epoch) as `clock` says.
fn push_time(out: &mut Vec<u8>, clock: &Clock, at: u64) {
    let secs = (at / 1_000_000) as i64;
    match clock {
        Clock::Common => COMMON_TIME.with(|cache| {
            let mut cache = cache.borrow_mut();
            if cache.0 != secs {
                cache.1.clear();
                date::write_clf(&mut cache.1, &Civil::local(secs));
                cache.0 = secs;
            }
            out.extend_from_slice(&cache.1);
        }),
        Clock::Since(unit) => push_u64(
            out,
            match unit {
                Unit::Seconds => at / 1_000_000,
                Unit::Millis => at / 1_000,
                Unit::Micros => at,
            },
        ),
        Clock::Fraction(Unit::Millis) => push_padded(out, at % 1_000_000 / 1_000, 3),
        Clock::Fraction(_) => push_padded(out, at % 1_000_000, 6),
        Clock::Strftime(stamps) => {
            let c = Civil::local(secs);
            for s in stamps {
                match s {
                    Stamp::Text(t) => out.extend_from_slice(t.as_bytes()),
                    Stamp::Conversion(l) => push_conversion(out, *l, &c, secs),
                }
            }
        }
    }
}

/// One `strftime` conversion (C locale).
fn push_conversion(out: &mut Vec<u8>, letter: u8, c: &Civil, secs: i64) {
    let two = |out: &mut Vec<u8>, n: u32| push_padded(out, u64::from(n), 2);
    let space_two = |out: &mut Vec<u8>, n: u32| {
        if n < 10 {
            out.push(b' ');
        }
        push_u64(out, u64::from(n));
    };
    let hour12 = if c.hour.is_multiple_of(12) {
        12
    } else {
        c.hour % 12
    };
    match letter {
        b'a' => out.extend_from_slice(&c.weekday_name().as_bytes()[..3]),
        b'A' => out.extend_from_slice(c.weekday_name().as_bytes()),
        b'b' | b'h' => out.extend_from_slice(c.month_name().as_bytes()),
        b'B' => out.extend_from_slice(MONTH_NAMES[(c.month - 1) as usize].as_bytes()),
        b'C' => two(out, c.year.div_euclid(100) as u32),
        b'd' => two(out, c.day),
        b'D' => {
            for (i, l) in [b'm', b'd', b'y'].into_iter().enumerate() {
                if i > 0 {
                    out.push(b'/');
                }
                push_conversion(out, l, c, secs);
            }
        }
        b'e' => space_two(out, c.day),
        b'F' => {
            let _ = write!(out, "{:04}-{:02}-{:02}", c.year, c.month, c.day);
        }
        b'H' => two(out, c.hour),
        b'I' => two(out, hour12),
        b'j' => {
            let yday = date::days_from_civil(c.year, c.month, c.day)
                - date::days_from_civil(c.year, 1, 1)
                + 1;
            push_padded(out, yday as u64, 3);
        }
        b'k' => space_two(out, c.hour),
        b'l' => space_two(out, hour12),
        b'm' => two(out, c.month),
        b'M' => two(out, c.minute),
        b'n' => out.push(b'\n'),
        b'p' => out.extend_from_slice(if c.hour < 12 { b"AM" } else { b"PM" }),
        b'r' => {
            let _ = write!(
                out,
                "{hour12:02}:{:02}:{:02} {}",
                c.minute,
                c.second,
                if c.hour < 12 { "AM" } else { "PM" }
            );
        }
        b'R' => {
            let _ = write!(out, "{:02}:{:02}", c.hour, c.minute);
        }
        b's' => {
            let _ = write!(out, "{secs}");
        }
        b'S' => two(out, c.second),
        b't' => out.push(b'\t'),
        b'T' => {
            let _ = write!(out, "{:02}:{:02}:{:02}", c.hour, c.minute, c.second);
        }
        b'u' => push_u64(out, u64::from(if c.weekday == 0 { 7 } else { c.weekday })),
        b'w' => push_u64(out, u64::from(c.weekday)),
        b'y' => two(out, c.year.rem_euclid(100) as u32),
        b'Y' => {
            let _ = write!(out, "{}", c.year);
        }
        b'z' => date::write_offset(out, c),
        _ => out.push(b'%'),
    }
}

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

#[cfg(test)]
mod tests {
    use super::*;

    struct Values;

    impl Lookup for Values {
        fn request_header(&self, name: &str) -> Option<&[u8]> {
            match name.to_ascii_lowercase().as_str() {
                "x-a" => Some(b"1"),
                "cookie" => Some(b"c0=1; c1=v1"),
                "host" => Some(b"Foo.Example:81"),
                _ => None,
            }
        }
        fn response_header(&self, _: &str) -> Option<&[u8]> {
            None
        }
        fn env(&self, name: &str) -> Option<&str> {
            (name == "BALANCER_WORKER_ROUTE").then_some("r1")
        }
    }

    fn record() -> Record<'static> {
        Record {
            peer: "127.0.0.1:46756".parse().unwrap(),
            connection_peer: "10.0.0.9:5000".parse().unwrap(),
            local: "127.0.0.2:18777".parse().unwrap(),
            method: "GET",
            target: "/a?b",
            path: "/a",
            query: Some("b"),
            protocol: "HTTP/1.1",
            status: 404,
            body_bytes: 0,
            received: 110,
            sent: 412,
            micros: 1500,
            server_name: "proxy.test",
            default_port: 80,
            keep_alives: 1,
            connection: ConnStatus::KeepAlive,
            handler: None,
            lookup: &Values,
        }
    }

    #[test]
    fn formats_render_like_httpd() {
        let f = Format::compile(
            "%h %l %u \"%r\" %>s %b %{X-A}i %{BALANCER_WORKER_ROUTE}e %{Nope}e %% %U%q",
        )
        .unwrap();
        assert_eq!(
            f.render(&record()),
            "127.0.0.1 - - \"GET /a?b HTTP/1.1\" 404 - 1 r1 - % /a?b\n"
        );
        assert!(Format::compile("%Z").is_err());
    }

    #[test]
    fn every_httpd_code_renders() {
        // The values httpd 2.4 (Debian's apache2) logged for a GET of a missing
        // file with `Host: foo.example:81` and `Cookie: c0=1; c1=v1`, with
        //   a=%a A=%A p=%p pc=%{canonical}p pl=%{local}p pr=%{remote}p k=%k X=%X
        //   R=%R L=%L I=%I O=%O S=%S ms=%{ms}T us=%{us}T s=%{s}T v=%v V=%V C=%{c1}C
        //   c4=%404{User-Agent}i nc=%!404{X-A}i
        // were: a=127.0.0.1 A=127.0.0.1 p=80 pc=80 pl=18777 pr=46756 k=0 X=+ R=- L=-
        //   I=110 O=412 S=522 ms=0 us=222 s=0 v=proxy.test V=foo.example C=v1 …
        let f = Format::compile(
            "a=%a A=%A p=%p pc=%{canonical}p pl=%{local}p pr=%{remote}p k=%k X=%X R=%R L=%L \
             I=%I O=%O S=%S ms=%{ms}T us=%{us}T s=%{s}T D=%D v=%v V=%V C=%{c1}C c4=%404{X-A}i \
             nc=%!404{X-A}i f=%f l=%l u=%u n=%{x}n ti=%^ti",
        )
        .unwrap();
        assert_eq!(
            f.render(&record()),
            "a=127.0.0.1 A=127.0.0.2 p=80 pc=80 pl=18777 pr=46756 k=1 X=+ R=- L=- I=110 O=412 \
             S=522 ms=1 us=1500 s=0 D=1500 v=proxy.test V=foo.example C=v1 c4=1 nc=- f=- l=- \
             u=- n=- ti=-\n"
        );
        let mut r = record();
        r.server_name = "proxy.test:8080";
        r.connection = ConnStatus::Aborted;
        r.handler = Some("proxy-server");
        assert_eq!(
            Format::compile("%p %v %X %R %{pid}P %{c}a %{c}h")
                .unwrap()
                .render(&r),
            format!(
                "8080 proxy.test X proxy-server {} 10.0.0.9 10.0.0.9\n",
                std::process::id()
            )
        );
    }

    #[test]
    fn times() {
        let f = Format::compile("%{%Y-%m-%d %H:%M:%S %z|%j|%e|%a %b|%s}t").unwrap();
        let c = Civil::local(1_796_676_309);
        let mut out = Vec::new();
        push_time(&mut out, &Clock::Common, 1_796_676_309_943_000);
        assert_eq!(out, date::clf(&c).into_bytes());
        let Item::Time { clock, begin } = &f.pieces[0].item else {
            panic!("{:?}", f.pieces)
        };
        assert!(begin);
        let mut out = Vec::new();
        push_time(&mut out, clock, 1_796_676_309_943_000);
        let mut zone = Vec::new();
        date::write_offset(&mut zone, &c);
        let want = format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} {}|{:03}|{:>2}|{} {}|1796676309",
            c.year,
            c.month,
            c.day,
            c.hour,
            c.minute,
            c.second,
            String::from_utf8(zone).unwrap(),
            date::days_from_civil(c.year, c.month, c.day) - date::days_from_civil(c.year, 1, 1) + 1,
            c.day,
            &c.weekday_name()[..3],
            c.month_name(),
        );
        assert_eq!(String::from_utf8(out).unwrap(), want);
        for (spec, want) in [
            ("msec_frac", "943"),
            ("usec_frac", "943000"),
            ("end:sec", "1796676309"),
        ] {
            let Item::Time { clock, .. } = time_item(Some(spec), "").unwrap() else {
                panic!()
            };
            let mut out = Vec::new();
            push_time(&mut out, &clock, 1_796_676_309_943_000);
            assert_eq!(out, want.as_bytes(), "{spec}");
        }
        assert!(Format::compile("%{%Q}t").is_err());
    }

    #[test]
    fn bad_formats_are_named() {
        for (bad, want) in [
            ("%h %Z", "LogFormat: unrecognized directive %Z in \"%h %Z\""),
            (
                "%h %",
                "LogFormat: '%' without a directive at the end of \"%h %\"",
            ),
            (
                "%{Referer i",
                "LogFormat: unterminated '%{' in \"%{Referer i\"",
            ),
            ("%^t", "LogFormat: unrecognized directive %^t in \"%^t\""),
            (
                "%{bogus}p",
                "LogFormat: unrecognized directive %{bogus}p in \"%{bogus}p\"",
            ),
            (
                "%99{X}i",
                "LogFormat: bad status '99' in a condition of \"%99{X}i\"",
            ),
        ] {
            assert_eq!(
                Format::compile(bad).map(|_| ()),
                Err(want.to_string()),
                "{bad}"
            );
        }
    }

    #[test]
    fn numbers() {
        let mut out = Vec::new();
        push_u64(&mut out, 0);
        out.push(b' ');
        push_u64(&mut out, u64::MAX);
        out.push(b' ');
        push_padded(&mut out, 7, 3);
        out.push(b' ');
        push_padded(&mut out, 0, 2);
        assert_eq!(out, b"0 18446744073709551615 007 00");
    }
}
