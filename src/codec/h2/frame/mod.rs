//! The HTTP/2 frame layer (RFC 9113 §4 and §6): the connection preface, the
//! 9-byte frame header, every frame type's payload, SETTINGS values with
//! their limits, and the error codes.
//!
//! Parsing is zero-copy and allocation-free: [`parse`] looks at a byte slice
//! (the connection's receive buffer) and returns a [`Frame`] whose payload
//! parts are `Range`s into that slice, with how many bytes the frame used.
//! It refuses a frame as soon as its header says it is longer than the
//! SETTINGS_MAX_FRAME_SIZE we advertised, so a receive buffer never needs to
//! hold more than one header plus that size. It never panics, on any input
//! (fuzzed by `tools/fuzz`'s `h2_frames`, and `random_input_never_panics`).
//!
//! What the frame layer checks is what a frame says about itself (length,
//! stream 0 or not, padding, SETTINGS values); what depends on the
//! connection's state (a DATA frame on an idle stream, a CONTINUATION that
//! does not follow a HEADERS) is `conn`'s business.
//!
//! Writing appends to a caller's `Vec<u8>` (a reused send buffer).

use std::fmt;
use std::ops::Range;

/// What a client sends first on every HTTP/2 connection (RFC 9113 §3.4),
/// before its SETTINGS frame.
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Length of the frame header (RFC 9113 §4.1).
pub const HEADER_LEN: usize = 9;

/// SETTINGS_MAX_FRAME_SIZE's initial value and lower bound (RFC 9113 §6.5.2).
pub const MIN_MAX_FRAME_SIZE: u32 = 16_384;
/// SETTINGS_MAX_FRAME_SIZE's upper bound: 2^24 − 1.
pub const MAX_MAX_FRAME_SIZE: u32 = (1 << 24) - 1;
/// The largest flow-control window: 2^31 − 1 (RFC 9113 §6.9.1).
pub const MAX_WINDOW: u32 = (1 << 31) - 1;
/// Initial flow-control window of a connection and of each stream (§6.9.2).
pub const DEFAULT_WINDOW: u32 = 65_535;
/// SETTINGS_HEADER_TABLE_SIZE's initial value (§6.5.2).
pub const DEFAULT_HEADER_TABLE_SIZE: u32 = 4_096;

/// A stream identifier: 31 bits, the reserved high bit cleared on receipt
/// (RFC 9113 §4.1: "MUST be ignored when receiving").
pub type StreamId = u32;

const STREAM_MASK: u32 = 0x7fff_ffff;

/// Frame type codes (RFC 9113 §6; 0x0–0x9).
pub mod kind {
    pub const DATA: u8 = 0x0;
    pub const HEADERS: u8 = 0x1;
    pub const PRIORITY: u8 = 0x2;
    pub const RST_STREAM: u8 = 0x3;
    pub const SETTINGS: u8 = 0x4;
    pub const PUSH_PROMISE: u8 = 0x5;
    pub const PING: u8 = 0x6;
    pub const GOAWAY: u8 = 0x7;
    pub const WINDOW_UPDATE: u8 = 0x8;
    pub const CONTINUATION: u8 = 0x9;
}

/// Frame flags (RFC 9113 §6). ACK shares END_STREAM's bit (SETTINGS, PING).
pub mod flag {
    pub const END_STREAM: u8 = 0x1;
    pub const ACK: u8 = 0x1;
    pub const END_HEADERS: u8 = 0x4;
    pub const PADDED: u8 = 0x8;
    pub const PRIORITY: u8 = 0x20;
}

/// An HTTP/2 error code (RFC 9113 §7). Kept as the number: an unknown code
/// received in RST_STREAM or GOAWAY "MUST NOT trigger any special
/// behavior" and is passed on as it is.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u32);

impl ErrorCode {
    pub const NO_ERROR: ErrorCode = ErrorCode(0x0);
    pub const PROTOCOL_ERROR: ErrorCode = ErrorCode(0x1);
    pub const INTERNAL_ERROR: ErrorCode = ErrorCode(0x2);
    pub const FLOW_CONTROL_ERROR: ErrorCode = ErrorCode(0x3);
    pub const SETTINGS_TIMEOUT: ErrorCode = ErrorCode(0x4);
    pub const STREAM_CLOSED: ErrorCode = ErrorCode(0x5);
    pub const FRAME_SIZE_ERROR: ErrorCode = ErrorCode(0x6);
    pub const REFUSED_STREAM: ErrorCode = ErrorCode(0x7);
    pub const CANCEL: ErrorCode = ErrorCode(0x8);
    pub const COMPRESSION_ERROR: ErrorCode = ErrorCode(0x9);
    pub const CONNECT_ERROR: ErrorCode = ErrorCode(0xa);
    pub const ENHANCE_YOUR_CALM: ErrorCode = ErrorCode(0xb);
    pub const INADEQUATE_SECURITY: ErrorCode = ErrorCode(0xc);
    pub const HTTP_1_1_REQUIRED: ErrorCode = ErrorCode(0xd);

    /// The RFC's name of the code, or None for a code it does not define.
    pub fn name(self) -> Option<&'static str> {
        const NAMES: [&str; 14] = [
            "NO_ERROR",
            "PROTOCOL_ERROR",
            "INTERNAL_ERROR",
            "FLOW_CONTROL_ERROR",
            "SETTINGS_TIMEOUT",
            "STREAM_CLOSED",
            "FRAME_SIZE_ERROR",
            "REFUSED_STREAM",
            "CANCEL",
            "COMPRESSION_ERROR",
            "CONNECT_ERROR",
            "ENHANCE_YOUR_CALM",
            "INADEQUATE_SECURITY",
            "HTTP_1_1_REQUIRED",
        ];
        NAMES.get(self.0 as usize).copied()
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "error code {:#x}", self.0),
        }
    }
}

/// The 9-byte frame header (RFC 9113 §4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Payload length (24 bits).
    pub len: u32,
    pub kind: u8,
    pub flags: u8,
    pub stream: StreamId,
}

impl FrameHeader {
    /// Reads a header from the first 9 bytes of `buf`, or None if fewer have
    /// arrived.
    pub fn read(buf: &[u8]) -> Option<FrameHeader> {
        let h = buf.get(..HEADER_LEN)?;
        Some(FrameHeader {
            len: u32::from_be_bytes([0, h[0], h[1], h[2]]),
            kind: h[3],
            flags: h[4],
            stream: u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & STREAM_MASK,
        })
    }

    /// Appends the header to `out`. `len` must fit in 24 bits (the writers
    /// below never pass more than [`MAX_MAX_FRAME_SIZE`]).
    pub fn write(&self, out: &mut Vec<u8>) {
        debug_assert!(self.len <= MAX_MAX_FRAME_SIZE);
        let l = self.len.to_be_bytes();
        out.extend_from_slice(&[l[1], l[2], l[3], self.kind, self.flags]);
        out.extend_from_slice(&(self.stream & STREAM_MASK).to_be_bytes());
    }

    fn has(&self, f: u8) -> bool {
        self.flags & f != 0
    }
}

/// A stream dependency from a HEADERS or PRIORITY frame (RFC 9113 §5.3.2,
/// deprecated: slotgate reads it to stay in step and otherwise ignores it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priority {
    pub exclusive: bool,
    pub depends_on: StreamId,
    /// The weight field as sent (the weight is this + 1).
    pub weight: u8,
}

impl Priority {
    fn read(b: &[u8]) -> Priority {
        let v = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
        Priority {
            exclusive: v & !STREAM_MASK != 0,
            depends_on: v & STREAM_MASK,
            weight: b[4],
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        let e = if self.exclusive { !STREAM_MASK } else { 0 };
        out.extend_from_slice(&(self.depends_on & STREAM_MASK | e).to_be_bytes());
        out.push(self.weight);
    }
}

/// One parsed frame. Ranges index the slice given to [`parse`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    Data {
        stream: StreamId,
        /// The data, padding removed.
        data: Range<usize>,
        end_stream: bool,
        /// The whole payload length, padding included: what flow control
        /// counts (RFC 9113 §6.1).
        flow_len: u32,
    },
    Headers {
        stream: StreamId,
        /// The field block fragment, padding and priority removed.
        block: Range<usize>,
        end_stream: bool,
        end_headers: bool,
        priority: Option<Priority>,
    },
    Priority {
        stream: StreamId,
        priority: Priority,
    },
    RstStream {
        stream: StreamId,
        code: ErrorCode,
    },
    /// A SETTINGS frame; its values (already checked) are read with
    /// [`settings`] over `params`. An ACK has none.
    Settings {
        ack: bool,
        params: Range<usize>,
    },
    PushPromise {
        stream: StreamId,
        promised: StreamId,
        block: Range<usize>,
        end_headers: bool,
    },
    Ping {
        ack: bool,
        data: [u8; 8],
    },
    GoAway {
        last_stream: StreamId,
        code: ErrorCode,
        debug: Range<usize>,
    },
    WindowUpdate {
        stream: StreamId,
        increment: u32,
    },
    Continuation {
        stream: StreamId,
        block: Range<usize>,
        end_headers: bool,
    },
    /// A frame of a type RFC 9113 does not define: to be ignored (§4.1),
    /// except that it breaks a header block (§6.10), which `conn` checks.
    Unknown {
        kind: u8,
        stream: StreamId,
    },
}

/// A frame the peer got wrong. A connection error ends the connection with
/// GOAWAY(code); a stream error resets that stream with RST_STREAM(code)
/// and the connection goes on after skipping `frame_len` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    Connection {
        code: ErrorCode,
        reason: &'static str,
    },
    Stream {
        stream: StreamId,
        code: ErrorCode,
        reason: &'static str,
        /// Bytes the whole frame (header and payload) takes.
        frame_len: usize,
    },
}

impl FrameError {
    pub fn code(&self) -> ErrorCode {
        match self {
            FrameError::Connection { code, .. } | FrameError::Stream { code, .. } => *code,
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Connection { code, reason } => {
                write!(f, "peer's frame: {reason} (connection error {code})")
            }
            FrameError::Stream {
                stream,
                code,
                reason,
                ..
            } => write!(f, "peer's frame: {reason} (stream {stream} error {code})"),
        }
    }
}

impl std::error::Error for FrameError {}

/// What [`parse`] found at the start of the buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole frame, using the first `len` bytes.
    Frame { frame: Frame, len: usize },
    /// Not a whole frame yet: at least `need` bytes in all are needed.
    Incomplete { need: usize },
}

const fn conn(code: ErrorCode, reason: &'static str) -> FrameError {
    FrameError::Connection { code, reason }
}

/// Parses the frame at the start of `buf`. `max_frame_size` is the
/// SETTINGS_MAX_FRAME_SIZE this side advertised: a longer frame is a
/// connection error (FRAME_SIZE_ERROR), found from its header alone.
///
/// A FRAME_SIZE_ERROR is treated as a connection error for every type (RFC
/// 9113 §4.2 allows that for all and requires it for most).
pub fn parse(buf: &[u8], max_frame_size: u32) -> Result<Parsed, FrameError> {
    let Some(h) = FrameHeader::read(buf) else {
        return Ok(Parsed::Incomplete { need: HEADER_LEN });
    };
    if h.len > max_frame_size {
        return Err(conn(
            ErrorCode::FRAME_SIZE_ERROR,
            "frame longer than SETTINGS_MAX_FRAME_SIZE",
        ));
    }
    let total = HEADER_LEN + h.len as usize;
    if buf.len() < total {
        return Ok(Parsed::Incomplete { need: total });
    }
    let payload = &buf[HEADER_LEN..total];
    let frame = parse_payload(&h, payload, total)?;
    Ok(Parsed::Frame { frame, len: total })
}

/// Splits PADDED framing off a payload: the range of what lies between the
/// pad-length byte (and `fixed` more bytes) and the padding, relative to the
/// payload.
fn unpad(h: &FrameHeader, payload: &[u8], fixed: usize) -> Result<Range<usize>, FrameError> {
    let (start, pad) = if h.has(flag::PADDED) {
        let Some(&pad) = payload.first() else {
            return Err(conn(
                ErrorCode::FRAME_SIZE_ERROR,
                "PADDED frame without its pad length",
            ));
        };
        (1, pad as usize)
    } else {
        (0, 0)
    };
    if payload.len() < start + fixed {
        return Err(conn(
            ErrorCode::FRAME_SIZE_ERROR,
            "frame shorter than its fixed fields",
        ));
    }
    // §6.1/§6.2: padding as long as the payload or longer is a connection
    // PROTOCOL_ERROR.
    if pad > payload.len() - start - fixed {
        return Err(conn(
            ErrorCode::PROTOCOL_ERROR,
            "padding longer than the frame payload",
        ));
    }
    Ok(start..payload.len() - pad)
}

fn offset(r: Range<usize>) -> Range<usize> {
    r.start + HEADER_LEN..r.end + HEADER_LEN
}

fn u32_at(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn parse_payload(h: &FrameHeader, payload: &[u8], total: usize) -> Result<Frame, FrameError> {
    let stream = h.stream;
    let needs_stream = |what| {
        if stream == 0 {
            Err(conn(ErrorCode::PROTOCOL_ERROR, what))
        } else {
            Ok(())
        }
    };
    let needs_zero = |what| {
        if stream != 0 {
            Err(conn(ErrorCode::PROTOCOL_ERROR, what))
        } else {
            Ok(())
        }
    };
    let exact = |n: usize, what| {
        if payload.len() != n {
            Err(conn(ErrorCode::FRAME_SIZE_ERROR, what))
        } else {
            Ok(())
        }
    };
    match h.kind {
        kind::DATA => {
            needs_stream("DATA on stream 0")?;
            let data = unpad(h, payload, 0)?;
            Ok(Frame::Data {
                stream,
                data: offset(data),
                end_stream: h.has(flag::END_STREAM),
                flow_len: h.len,
            })
        }
        kind::HEADERS => {
            needs_stream("HEADERS on stream 0")?;
            let fixed = if h.has(flag::PRIORITY) { 5 } else { 0 };
            let inner = unpad(h, payload, fixed)?;
            let priority =
                (fixed == 5).then(|| Priority::read(&payload[inner.start..inner.start + 5]));
            Ok(Frame::Headers {
                stream,
                block: offset(inner.start + fixed..inner.end),
                end_stream: h.has(flag::END_STREAM),
                end_headers: h.has(flag::END_HEADERS),
                priority,
            })
        }
        kind::PRIORITY => {
            needs_stream("PRIORITY on stream 0")?;
            if payload.len() != 5 {
                // §6.3: a stream error, unlike most size errors.
                return Err(FrameError::Stream {
                    stream,
                    code: ErrorCode::FRAME_SIZE_ERROR,
                    reason: "PRIORITY frame not 5 bytes long",
                    frame_len: total,
                });
            }
            Ok(Frame::Priority {
                stream,
                priority: Priority::read(payload),
            })
        }
        kind::RST_STREAM => {
            needs_stream("RST_STREAM on stream 0")?;
            exact(4, "RST_STREAM frame not 4 bytes long")?;
            Ok(Frame::RstStream {
                stream,
                code: ErrorCode(u32_at(payload)),
            })
        }
        kind::SETTINGS => {
            needs_zero("SETTINGS on a stream")?;
            let ack = h.has(flag::ACK);
            if ack && !payload.is_empty() {
                return Err(conn(
                    ErrorCode::FRAME_SIZE_ERROR,
                    "SETTINGS ACK with a payload",
                ));
            }
            if !payload.len().is_multiple_of(6) {
                return Err(conn(
                    ErrorCode::FRAME_SIZE_ERROR,
                    "SETTINGS length not a multiple of 6",
                ));
            }
            for p in payload.chunks_exact(6) {
                let id = u16::from_be_bytes([p[0], p[1]]);
                check_setting(id, u32_at(&p[2..]))?;
            }
            Ok(Frame::Settings {
                ack,
                params: HEADER_LEN..total,
            })
        }
        kind::PUSH_PROMISE => {
            needs_stream("PUSH_PROMISE on stream 0")?;
            let inner = unpad(h, payload, 4)?;
            let promised = u32_at(&payload[inner.start..]) & STREAM_MASK;
            Ok(Frame::PushPromise {
                stream,
                promised,
                block: offset(inner.start + 4..inner.end),
                end_headers: h.has(flag::END_HEADERS),
            })
        }
        kind::PING => {
            needs_zero("PING on a stream")?;
            exact(8, "PING frame not 8 bytes long")?;
            let mut data = [0; 8];
            data.copy_from_slice(payload);
            Ok(Frame::Ping {
                ack: h.has(flag::ACK),
                data,
            })
        }
        kind::GOAWAY => {
            needs_zero("GOAWAY on a stream")?;
            if payload.len() < 8 {
                return Err(conn(
                    ErrorCode::FRAME_SIZE_ERROR,
                    "GOAWAY frame shorter than 8 bytes",
                ));
            }
            Ok(Frame::GoAway {
                last_stream: u32_at(payload) & STREAM_MASK,
                code: ErrorCode(u32_at(&payload[4..])),
                debug: HEADER_LEN + 8..total,
            })
        }
        kind::WINDOW_UPDATE => {
            exact(4, "WINDOW_UPDATE frame not 4 bytes long")?;
            let increment = u32_at(payload) & STREAM_MASK;
            if increment == 0 {
                // §6.9: a stream error on a stream, a connection error on 0.
                return Err(if stream == 0 {
                    conn(ErrorCode::PROTOCOL_ERROR, "WINDOW_UPDATE of 0")
                } else {
                    FrameError::Stream {
                        stream,
                        code: ErrorCode::PROTOCOL_ERROR,
                        reason: "WINDOW_UPDATE of 0",
                        frame_len: total,
                    }
                });
            }
            Ok(Frame::WindowUpdate { stream, increment })
        }
        kind::CONTINUATION => {
            needs_stream("CONTINUATION on stream 0")?;
            Ok(Frame::Continuation {
                stream,
                block: HEADER_LEN..total,
                end_headers: h.has(flag::END_HEADERS),
            })
        }
        other => Ok(Frame::Unknown {
            kind: other,
            stream,
        }),
    }
}

/// SETTINGS parameter identifiers (RFC 9113 §6.5.2, RFC 8441 §3).
pub mod setting {
    pub const HEADER_TABLE_SIZE: u16 = 0x1;
    pub const ENABLE_PUSH: u16 = 0x2;
    pub const MAX_CONCURRENT_STREAMS: u16 = 0x3;
    pub const INITIAL_WINDOW_SIZE: u16 = 0x4;
    pub const MAX_FRAME_SIZE: u16 = 0x5;
    pub const MAX_HEADER_LIST_SIZE: u16 = 0x6;
    /// RFC 8441: extended CONNECT (WebSocket over HTTP/2).
    pub const ENABLE_CONNECT_PROTOCOL: u16 = 0x8;
    /// RFC 9218 §2.1.
    pub const NO_RFC7540_PRIORITIES: u16 = 0x9;
}

/// The limits RFC 9113 §6.5.2 (and RFC 8441, RFC 9218) put on SETTINGS values.
fn check_setting(id: u16, value: u32) -> Result<(), FrameError> {
    match id {
        setting::ENABLE_PUSH
        | setting::ENABLE_CONNECT_PROTOCOL
        | setting::NO_RFC7540_PRIORITIES
            if value > 1 =>
        {
            Err(conn(
                ErrorCode::PROTOCOL_ERROR,
                "SETTINGS flag neither 0 nor 1",
            ))
        }
        setting::INITIAL_WINDOW_SIZE if value > MAX_WINDOW => Err(conn(
            ErrorCode::FLOW_CONTROL_ERROR,
            "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1",
        )),
        setting::MAX_FRAME_SIZE if !(MIN_MAX_FRAME_SIZE..=MAX_MAX_FRAME_SIZE).contains(&value) => {
            Err(conn(
                ErrorCode::PROTOCOL_ERROR,
                "SETTINGS_MAX_FRAME_SIZE outside 16384..=16777215",
            ))
        }
        _ => Ok(()),
    }
}

/// The (identifier, value) pairs of a SETTINGS frame's `params` range, in
/// order (a later value for the same identifier wins, §6.5.3). Unknown
/// identifiers are included: [`Settings::apply`] ignores them.
pub fn settings(buf: &[u8], params: Range<usize>) -> impl Iterator<Item = (u16, u32)> + '_ {
    buf.get(params)
        .unwrap_or(&[])
        .chunks_exact(6)
        .map(|p| (u16::from_be_bytes([p[0], p[1]]), u32_at(&p[2..])))
}

/// One side's SETTINGS, starting from the RFC's initial values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    pub header_table_size: u32,
    pub enable_push: bool,
    /// None: unlimited (the initial value).
    pub max_concurrent_streams: Option<u32>,
    pub initial_window_size: u32,
    pub max_frame_size: u32,
    /// None: unlimited (the initial value).
    pub max_header_list_size: Option<u32>,
    pub enable_connect_protocol: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            header_table_size: DEFAULT_HEADER_TABLE_SIZE,
            enable_push: true,
            max_concurrent_streams: None,
            initial_window_size: DEFAULT_WINDOW,
            max_frame_size: MIN_MAX_FRAME_SIZE,
            max_header_list_size: None,
            enable_connect_protocol: false,
        }
    }
}

impl Settings {
    /// Applies one received value (already checked by [`parse`]); unknown
    /// identifiers are ignored (§6.5.2).
    pub fn apply(&mut self, id: u16, value: u32) {
        match id {
            setting::HEADER_TABLE_SIZE => self.header_table_size = value,
            setting::ENABLE_PUSH => self.enable_push = value == 1,
            setting::MAX_CONCURRENT_STREAMS => self.max_concurrent_streams = Some(value),
            setting::INITIAL_WINDOW_SIZE => self.initial_window_size = value,
            setting::MAX_FRAME_SIZE => self.max_frame_size = value,
            setting::MAX_HEADER_LIST_SIZE => self.max_header_list_size = Some(value),
            setting::ENABLE_CONNECT_PROTOCOL => self.enable_connect_protocol = value == 1,
            _ => {}
        }
    }

    /// Appends a SETTINGS frame carrying every value that differs from the
    /// RFC's initial one (what a peer that starts from those needs).
    pub fn write(&self, out: &mut Vec<u8>) {
        let d = Settings::default();
        let mut params: [(u16, u32); 7] = [(0, 0); 7];
        let mut n = 0;
        let mut push = |id, v| {
            params[n] = (id, v);
            n += 1;
        };
        if self.header_table_size != d.header_table_size {
            push(setting::HEADER_TABLE_SIZE, self.header_table_size);
        }
        if self.enable_push != d.enable_push {
            push(setting::ENABLE_PUSH, self.enable_push as u32);
        }
        if let Some(m) = self.max_concurrent_streams {
            push(setting::MAX_CONCURRENT_STREAMS, m);
        }
        if self.initial_window_size != d.initial_window_size {
            push(setting::INITIAL_WINDOW_SIZE, self.initial_window_size);
        }
        if self.max_frame_size != d.max_frame_size {
            push(setting::MAX_FRAME_SIZE, self.max_frame_size);
        }
        if let Some(m) = self.max_header_list_size {
            push(setting::MAX_HEADER_LIST_SIZE, m);
        }
        if self.enable_connect_protocol != d.enable_connect_protocol {
            push(
                setting::ENABLE_CONNECT_PROTOCOL,
                self.enable_connect_protocol as u32,
            );
        }
        write_settings(out, &params[..n]);
    }
}

mod write;
pub use write::*;

#[cfg(test)]
pub(crate) mod tests;
