//! The connection-level state machine of an HTTP/2 server connection (RFC
//! 9113 §5, §6.5, §6.9): stream states, flow-control windows, the SETTINGS
//! exchange, PING answers, GOAWAY, and the limits that defend against the
//! known floods. A skeleton, not yet wired into the worker (issue #17).
//!
//! Bytes in, events out: [`Conn::receive`] takes what the client sent (from
//! the preface on), consumes whole frames, and pushes protocol-neutral
//! [`Event`]s (a request head on a new stream, body data, the end, a reset);
//! what the connection must answer by itself (SETTINGS ACK, PING ACK,
//! WINDOW_UPDATE, RST_STREAM, GOAWAY) is queued in its output, with what the
//! application sends ([`Conn::send_headers`], [`Conn::send_data`]). The
//! caller writes [`Conn::output`] to the socket and calls
//! [`Conn::output_written`].
//!
//! Flow control (receive side) follows the application: body data counts
//! against the stream's and the connection's windows until the application
//! says it has passed the bytes on ([`Conn::release`]); a WINDOW_UPDATE goes
//! out once half a window has been released. So a slow member holds the
//! client back by at most one window per stream and one per connection
//! (nothing is buffered beyond that), and a fast one never waits for more
//! than half a window's round trip.
//!
//! Defences (each a connection error, GOAWAY with ENHANCE_YOUR_CALM unless
//! the RFC names another code):
//! - streams over SETTINGS_MAX_CONCURRENT_STREAMS are refused
//!   (RST_STREAM REFUSED_STREAM);
//! - rapid reset (CVE-2023-44487): a stream the client resets before it was
//!   answered raises a score, an answered stream lowers it; past
//!   `Limits::max_reset_score` the connection ends;
//! - a field block (HEADERS + CONTINUATIONs) is gathered up to
//!   `Limits::max_field_block` bytes and `Limits::max_continuations` frames
//!   (CONTINUATION flood, CVE-2024-27316);
//! - HPACK bombs and oversized lists: `hpack::Decoder`'s bound
//!   (SETTINGS_MAX_HEADER_LIST_SIZE), answered per stream;
//! - frames that only make this side work (PING, SETTINGS, empty DATA and
//!   CONTINUATION, PRIORITY, RST_STREAM on closed streams): answers queued
//!   while the client does not read are bounded (`max_queued_control`), and
//!   empty frames are counted (`max_empty_frames`).

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::ops::Range;

use super::frame::{
    self, ErrorCode, Frame, FrameError, Parsed, Settings, StreamId, DEFAULT_WINDOW, MAX_WINDOW,
    PREFACE,
};
use super::hpack::{DecodeError, Decoder, Encoder, Field, HeaderList};

const DEFAULT_TABLE: usize = frame::DEFAULT_HEADER_TABLE_SIZE as usize;
const RECENTLY_CLOSED: usize = 64;

/// What this side advertises and enforces. Names after httpd's mod_http2
/// where it has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// H2MaxSessionStreams (httpd's default 100).
    pub max_concurrent_streams: u32,
    /// H2WindowSize: each stream's receive window (httpd's default 65535).
    pub stream_window: u32,
    /// The connection's receive window (what all streams share).
    pub connection_window: u32,
    pub max_frame_size: u32,
    pub header_table_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE (as RFC 9113 §6.5.2 counts).
    pub max_header_list_size: u32,
    /// Bytes of one field block, HEADERS and CONTINUATIONs together.
    pub max_field_block: usize,
    /// CONTINUATION frames in one field block.
    pub max_continuations: u32,
    pub max_reset_score: u32,
    pub max_empty_frames: u32,
    pub max_queued_control: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_concurrent_streams: 100,
            stream_window: DEFAULT_WINDOW,
            connection_window: 1 << 20,
            max_frame_size: frame::MIN_MAX_FRAME_SIZE,
            header_table_size: frame::DEFAULT_HEADER_TABLE_SIZE,
            max_header_list_size: 65_536,
            max_field_block: 128 * 1024,
            max_continuations: 64,
            max_reset_score: 100,
            max_empty_frames: 100,
            max_queued_control: 1_000,
        }
    }
}

/// What the client did, in protocol-neutral terms. Ranges index the slice
/// given to [`Conn::receive`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A new stream and its request head.
    Request {
        stream: StreamId,
        fields: HeaderList,
        end_stream: bool,
    },
    /// A new stream whose head passed SETTINGS_MAX_HEADER_LIST_SIZE: the
    /// answer is 431 (as httpd's), then the stream ends.
    RequestTooLarge {
        stream: StreamId,
        end_stream: bool,
    },
    /// Trailers, which end the request body.
    Trailers {
        stream: StreamId,
        fields: HeaderList,
    },
    /// Request body bytes; pass them on, then [`Conn::release`] them.
    Data {
        stream: StreamId,
        data: Range<usize>,
        end_stream: bool,
    },
    /// The client reset the stream.
    Reset {
        stream: StreamId,
        code: ErrorCode,
    },
    /// This side reset the stream (its RST_STREAM is queued).
    Refused {
        stream: StreamId,
        code: ErrorCode,
        reason: &'static str,
    },
    /// The client will open no more streams.
    GoAway {
        last_stream: StreamId,
        code: ErrorCode,
    },
    PingAck {
        data: [u8; 8],
    },
    SettingsAcked,
}

/// Why the connection ended: which side and why, and the GOAWAY code sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnError {
    pub code: ErrorCode,
    pub reason: &'static str,
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP/2 client: {} (GOAWAY {})", self.reason, self.code)
    }
}

impl std::error::Error for ConnError {}

fn conn_err(code: ErrorCode, reason: &'static str) -> ConnError {
    ConnError { code, reason }
}

/// A stream's state (RFC 9113 §5.1) once it left idle; closed streams are
/// dropped from the table. Server side: no reserved states (no push).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamState {
    Open,
    /// The client sent END_STREAM.
    HalfClosedRemote,
    /// This side sent END_STREAM.
    HalfClosedLocal,
}

#[derive(Clone, Debug)]
struct Stream {
    state: StreamState,
    /// What the client may still send on it.
    recv_window: i64,
    /// Bytes the application released and no WINDOW_UPDATE returned yet.
    recv_released: u32,
    /// Body bytes handed out in events and not released yet: given back to
    /// the connection window if the stream ends first.
    buffered: u32,
    /// What this side may still send on it.
    send_window: i64,
    /// This side sent a response head.
    answered: bool,
}

/// Where the connection is in its life.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for the 24-byte client preface.
    Preface,
    /// Preface seen; the first frame must be SETTINGS.
    FirstSettings,
    Running,
    /// Gathering a field block: CONTINUATIONs of `stream` must follow.
    Continuation {
        stream: StreamId,
        end_stream: bool,
        frames: u32,
        /// The HEADERS made the stream depend on itself: refused once the
        /// block is decoded (§5.3.1).
        self_dependent: bool,
    },
    /// A GOAWAY for an error was queued; nothing more is read.
    Closed,
}

/// One client connection.
#[derive(Debug)]
pub struct Conn {
    limits: Limits,
    phase: Phase,
    /// The client's settings.
    peer: Settings,
    /// This side's settings were acknowledged by the client.
    settings_acked: bool,
    decoder: Decoder,
    encoder: Encoder,
    streams: HashMap<StreamId, Stream>,
    /// The highest stream id the client opened (0: none).
    last_peer_stream: StreamId,
    /// What the client may still send on the connection.
    conn_recv_window: i64,
    conn_recv_released: u32,
    conn_send_window: i64,
    /// The field block being gathered.
    block: Vec<u8>,
    reset_score: u32,
    empty_frames: u32,
    queued_control: u32,
    /// The last streams that closed, to tell a frame on a closed stream
    /// (STREAM_CLOSED) from one on a skipped id (PROTOCOL_ERROR).
    recently_closed: VecDeque<StreamId>,
    /// After this side's GOAWAY: streams above it are ignored.
    goaway_sent: Option<StreamId>,
    out: Vec<u8>,
}

impl Conn {
    /// A server connection; its SETTINGS (and the connection window's
    /// WINDOW_UPDATE) are queued at once, as §3.4 lets a server do.
    pub fn new(limits: Limits) -> Conn {
        let mut c = Conn {
            limits,
            phase: Phase::Preface,
            peer: Settings::default(),
            settings_acked: false,
            decoder: Decoder::new(DEFAULT_TABLE, limits.max_header_list_size as usize),
            encoder: Encoder::new(frame::DEFAULT_HEADER_TABLE_SIZE as usize),
            streams: HashMap::new(),
            last_peer_stream: 0,
            conn_recv_window: DEFAULT_WINDOW as i64,
            conn_recv_released: 0,
            conn_send_window: DEFAULT_WINDOW as i64,
            block: Vec::new(),
            reset_score: 0,
            empty_frames: 0,
            queued_control: 0,
            recently_closed: VecDeque::new(),
            goaway_sent: None,
            out: Vec::new(),
        };
        // Both sides start from a 4096-byte table; the client may resize up
        // to our setting as soon as it has read it.
        c.decoder
            .set_settings_limit((limits.header_table_size as usize).max(DEFAULT_TABLE));
        c.own_settings().write(&mut c.out);
        if limits.connection_window > DEFAULT_WINDOW {
            let more = limits.connection_window - DEFAULT_WINDOW;
            frame::write_window_update(&mut c.out, 0, more);
            c.conn_recv_window += more as i64;
        }
        c
    }

    fn own_settings(&self) -> Settings {
        Settings {
            header_table_size: self.limits.header_table_size,
            enable_push: false,
            max_concurrent_streams: Some(self.limits.max_concurrent_streams),
            initial_window_size: self.limits.stream_window,
            max_frame_size: self.limits.max_frame_size,
            max_header_list_size: Some(self.limits.max_header_list_size),
            enable_connect_protocol: false,
        }
    }

    /// Bytes queued for the client.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// The first `n` bytes of [`Conn::output`] were written.
    pub fn output_written(&mut self, n: usize) {
        self.out.drain(..n.min(self.out.len()));
        if self.out.is_empty() {
            self.queued_control = 0;
        }
    }

    pub fn stream_state(&self, stream: StreamId) -> Option<StreamState> {
        self.streams.get(&stream).map(|s| s.state)
    }

    /// Streams open or half-closed (what SETTINGS_MAX_CONCURRENT_STREAMS
    /// counts).
    pub fn active_streams(&self) -> usize {
        self.streams.len()
    }

    pub fn peer_settings(&self) -> &Settings {
        &self.peer
    }

    /// Reads whole frames from `input` and returns how many bytes were used
    /// (the rest is an incomplete frame: keep it and call again with more).
    /// A connection error queues GOAWAY and ends reading.
    pub fn receive(&mut self, input: &[u8], events: &mut Vec<Event>) -> Result<usize, ConnError> {
        let mut at = 0;
        loop {
            let rest = &input[at..];
            match self.phase {
                Phase::Closed => return Ok(at),
                Phase::Preface => {
                    let n = rest.len().min(PREFACE.len());
                    if rest[..n] != PREFACE[..n] {
                        return Err(self.fail(conn_err(
                            ErrorCode::PROTOCOL_ERROR,
                            "not the HTTP/2 client preface",
                        )));
                    }
                    if n < PREFACE.len() {
                        return Ok(at);
                    }
                    at += n;
                    self.phase = Phase::FirstSettings;
                    continue;
                }
                _ => {}
            }
            let parsed = match frame::parse(rest, self.limits.max_frame_size) {
                Ok(p) => p,
                Err(FrameError::Connection { code, reason }) => {
                    return Err(self.fail(conn_err(code, reason)))
                }
                Err(FrameError::Stream {
                    stream,
                    code,
                    reason,
                    frame_len,
                }) => {
                    if let Phase::Continuation { .. } = self.phase {
                        return Err(self.fail(conn_err(
                            ErrorCode::PROTOCOL_ERROR,
                            "another frame inside a field block",
                        )));
                    }
                    self.stream_error(stream, code, reason, events);
                    at += frame_len;
                    continue;
                }
            };
            let (f, len) = match parsed {
                Parsed::Incomplete { .. } => return Ok(at),
                Parsed::Frame { frame, len } => (frame, len),
            };
            if let Err(e) = self.on_frame(f, at, input, events) {
                return Err(self.fail(e));
            }
            at += len;
            if self.queued_control > self.limits.max_queued_control {
                return Err(self.fail(conn_err(
                    ErrorCode::ENHANCE_YOUR_CALM,
                    "too many answers queued while the client does not read",
                )));
            }
        }
    }

    /// Queues GOAWAY for a connection error and stops reading. Every stream
    /// is closed with it, so what the application still sends on one is
    /// dropped rather than written after the GOAWAY.
    fn fail(&mut self, e: ConnError) -> ConnError {
        self.streams.clear();
        frame::write_goaway(
            &mut self.out,
            self.last_peer_stream,
            e.code,
            e.reason.as_bytes(),
        );
        self.phase = Phase::Closed;
        e
    }

    /// A graceful shutdown: GOAWAY(NO_ERROR) with the last stream this side
    /// will serve; streams above it are ignored, open ones may finish.
    pub fn shutdown(&mut self) {
        if self.goaway_sent.is_none() {
            frame::write_goaway(
                &mut self.out,
                self.last_peer_stream,
                ErrorCode::NO_ERROR,
                b"",
            );
            self.goaway_sent = Some(self.last_peer_stream);
        }
    }

    fn stream_error(
        &mut self,
        stream: StreamId,
        code: ErrorCode,
        reason: &'static str,
        events: &mut Vec<Event>,
    ) {
        frame::write_rst_stream(&mut self.out, stream, code);
        self.queued_control += 1;
        self.drop_stream(stream);
        events.push(Event::Refused {
            stream,
            code,
            reason,
        });
    }

    /// Removes a stream: what it still held of the connection window goes
    /// back, and its id is remembered as closed.
    fn drop_stream(&mut self, stream: StreamId) -> Option<Stream> {
        let s = self.streams.remove(&stream)?;
        self.release_conn(s.buffered);
        if self.recently_closed.len() == RECENTLY_CLOSED {
            self.recently_closed.pop_front();
        }
        self.recently_closed.push_back(stream);
        Some(s)
    }

    /// The client opens streams with odd ids; a stream it has not opened
    /// and whose id is above every one it has is idle.
    fn is_idle(&self, stream: StreamId) -> bool {
        stream > self.last_peer_stream && !self.streams.contains_key(&stream)
    }

    /// A stream the client opened after this side's GOAWAY: its frames are
    /// ignored (§6.8).
    fn ignored_after_goaway(&self, stream: StreamId) -> bool {
        self.goaway_sent.is_some_and(|last| stream > last) && !self.streams.contains_key(&stream)
    }

    fn on_frame(
        &mut self,
        f: Frame,
        at: usize,
        input: &[u8],
        events: &mut Vec<Event>,
    ) -> Result<(), ConnError> {
        let buf = &input[at..];
        match (&self.phase, &f) {
            (Phase::FirstSettings, Frame::Settings { ack: false, .. }) => {
                self.phase = Phase::Running;
            }
            (Phase::FirstSettings, _) => {
                return Err(conn_err(
                    ErrorCode::PROTOCOL_ERROR,
                    "the first frame after the preface is not SETTINGS",
                ))
            }
            (Phase::Continuation { stream, .. }, Frame::Continuation { stream: s, .. })
                if s == stream => {}
            (Phase::Continuation { .. }, _) => {
                return Err(conn_err(
                    ErrorCode::PROTOCOL_ERROR,
                    "another frame inside a field block",
                ))
            }
            _ => {}
        }
        match f {
            Frame::Settings { ack: true, .. } => {
                if !self.settings_acked {
                    self.settings_acked = true;
                    self.decoder
                        .set_settings_limit(self.limits.header_table_size as usize);
                }
                events.push(Event::SettingsAcked);
            }
            Frame::Settings { ack: false, params } => {
                for (id, value) in frame::settings(buf, params) {
                    self.apply_setting(id, value)?;
                }
                frame::write_settings_ack(&mut self.out);
                self.queued_control += 1;
            }
            Frame::Ping { ack: true, data } => events.push(Event::PingAck { data }),
            Frame::Ping { ack: false, data } => {
                frame::write_ping(&mut self.out, true, data);
                self.queued_control += 1;
            }
            Frame::GoAway {
                last_stream, code, ..
            } => events.push(Event::GoAway { last_stream, code }),
            Frame::WindowUpdate {
                stream: 0,
                increment,
            } => {
                self.conn_send_window += increment as i64;
                if self.conn_send_window > MAX_WINDOW as i64 {
                    return Err(conn_err(
                        ErrorCode::FLOW_CONTROL_ERROR,
                        "connection window above 2^31-1",
                    ));
                }
            }
            Frame::WindowUpdate { stream, increment } => {
                if self.is_idle(stream) {
                    return Err(conn_err(
                        ErrorCode::PROTOCOL_ERROR,
                        "WINDOW_UPDATE on an idle stream",
                    ));
                }
                if let Some(s) = self.streams.get_mut(&stream) {
                    s.send_window += increment as i64;
                    if s.send_window > MAX_WINDOW as i64 {
                        self.stream_error(
                            stream,
                            ErrorCode::FLOW_CONTROL_ERROR,
                            "stream window above 2^31-1",
                            events,
                        );
                    }
                }
            }
            Frame::Priority { stream, priority } => {
                if priority.depends_on == stream {
                    self.stream_error(
                        stream,
                        ErrorCode::PROTOCOL_ERROR,
                        "stream depends on itself",
                        events,
                    );
                }
                self.count_idle_work()?;
            }
            Frame::RstStream { stream, code } => {
                if self.is_idle(stream) {
                    return Err(conn_err(
                        ErrorCode::PROTOCOL_ERROR,
                        "RST_STREAM on an idle stream",
                    ));
                }
                if self.ignored_after_goaway(stream) {
                    return Ok(());
                }
                match self.drop_stream(stream) {
                    Some(s) => {
                        if !s.answered {
                            self.reset_score += 1;
                            if self.reset_score > self.limits.max_reset_score {
                                return Err(conn_err(
                                    ErrorCode::ENHANCE_YOUR_CALM,
                                    "too many streams reset before their answer (rapid reset)",
                                ));
                            }
                        }
                        events.push(Event::Reset { stream, code });
                    }
                    None => self.count_idle_work()?,
                }
            }
            Frame::PushPromise { .. } => {
                return Err(conn_err(
                    ErrorCode::PROTOCOL_ERROR,
                    "PUSH_PROMISE from a client",
                ))
            }
            Frame::Data {
                stream,
                data,
                end_stream,
                flow_len,
            } => self.on_data(stream, at, data, end_stream, flow_len, events)?,
            Frame::Headers {
                stream,
                block,
                end_stream,
                end_headers,
                priority,
            } => {
                if stream % 2 == 0 {
                    return Err(conn_err(
                        ErrorCode::PROTOCOL_ERROR,
                        "HEADERS on an even (server) stream id",
                    ));
                }
                self.block.clear();
                self.add_to_block(&buf[block])?;
                let self_dependent = priority.is_some_and(|p| p.depends_on == stream);
                self.phase = Phase::Continuation {
                    stream,
                    end_stream,
                    frames: 0,
                    self_dependent,
                };
                if end_headers {
                    self.end_block(events)?;
                }
            }
            Frame::Continuation {
                stream: _,
                block,
                end_headers,
            } => {
                let Phase::Continuation { ref mut frames, .. } = self.phase else {
                    return Err(conn_err(
                        ErrorCode::PROTOCOL_ERROR,
                        "CONTINUATION without a field block",
                    ));
                };
                *frames += 1;
                if *frames > self.limits.max_continuations {
                    return Err(conn_err(
                        ErrorCode::ENHANCE_YOUR_CALM,
                        "too many CONTINUATION frames in one field block",
                    ));
                }
                if block.is_empty() && !end_headers {
                    self.count_idle_work()?;
                }
                self.add_to_block(&buf[block])?;
                if end_headers {
                    self.end_block(events)?;
                }
            }
            Frame::Unknown { .. } => {}
        }
        Ok(())
    }

    fn add_to_block(&mut self, bytes: &[u8]) -> Result<(), ConnError> {
        if self.block.len() + bytes.len() > self.limits.max_field_block {
            return Err(conn_err(
                ErrorCode::ENHANCE_YOUR_CALM,
                "field block larger than this side accepts",
            ));
        }
        self.block.extend_from_slice(bytes);
        Ok(())
    }

    /// A frame that makes this side work and carries nothing: counted.
    fn count_idle_work(&mut self) -> Result<(), ConnError> {
        self.empty_frames += 1;
        if self.empty_frames > self.limits.max_empty_frames {
            return Err(conn_err(
                ErrorCode::ENHANCE_YOUR_CALM,
                "too many frames that carry nothing",
            ));
        }
        Ok(())
    }

    fn apply_setting(&mut self, id: u16, value: u32) -> Result<(), ConnError> {
        if id == frame::setting::INITIAL_WINDOW_SIZE {
            // §6.9.2: the change applies to every stream's send window.
            let delta = value as i64 - self.peer.initial_window_size as i64;
            for s in self.streams.values_mut() {
                s.send_window += delta;
                if s.send_window > MAX_WINDOW as i64 {
                    return Err(conn_err(
                        ErrorCode::FLOW_CONTROL_ERROR,
                        "SETTINGS_INITIAL_WINDOW_SIZE puts a stream window above 2^31-1",
                    ));
                }
            }
        }
        if id == frame::setting::HEADER_TABLE_SIZE {
            self.encoder.set_peer_limit(value as usize);
        }
        self.peer.apply(id, value);
        Ok(())
    }

    /// The field block is whole (END_HEADERS): decode it, then open the
    /// stream or take the trailers.
    fn end_block(&mut self, events: &mut Vec<Event>) -> Result<(), ConnError> {
        let Phase::Continuation {
            stream,
            end_stream,
            self_dependent,
            ..
        } = self.phase
        else {
            return Ok(());
        };
        self.phase = Phase::Running;
        let mut fields = HeaderList::default();
        let decoded = self.decoder.decode(&self.block, &mut fields);
        if let Err(DecodeError::Compression(why)) = decoded {
            return Err(conn_err(ErrorCode::COMPRESSION_ERROR, why));
        }
        let too_large = decoded.is_err();
        if let Some(s) = self.streams.get_mut(&stream) {
            // Trailers: only on an open stream, and they end it.
            if s.state != StreamState::Open && s.state != StreamState::HalfClosedLocal {
                self.stream_error(
                    stream,
                    ErrorCode::STREAM_CLOSED,
                    "HEADERS after the request ended",
                    events,
                );
                return Ok(());
            }
            if !end_stream || too_large {
                self.stream_error(
                    stream,
                    ErrorCode::PROTOCOL_ERROR,
                    "trailers without END_STREAM, or too large",
                    events,
                );
                return Ok(());
            }
            self.remote_end(stream);
            events.push(Event::Trailers { stream, fields });
            return Ok(());
        }
        if !self.is_idle(stream) {
            return Err(if self.recently_closed.contains(&stream) {
                conn_err(ErrorCode::STREAM_CLOSED, "HEADERS on a closed stream")
            } else {
                conn_err(
                    ErrorCode::PROTOCOL_ERROR,
                    "HEADERS on a stream id below one already used",
                )
            });
        }
        self.last_peer_stream = stream;
        if self.goaway_sent.is_some_and(|last| stream > last) {
            // After our GOAWAY: decoded (HPACK stays in step), then ignored.
            return Ok(());
        }
        if self_dependent {
            self.stream_error(
                stream,
                ErrorCode::PROTOCOL_ERROR,
                "stream depends on itself",
                events,
            );
            return Ok(());
        }
        if self.streams.len() >= self.limits.max_concurrent_streams as usize {
            self.stream_error(
                stream,
                ErrorCode::REFUSED_STREAM,
                "over SETTINGS_MAX_CONCURRENT_STREAMS",
                events,
            );
            return Ok(());
        }
        let recv_window = if self.settings_acked {
            self.limits.stream_window
        } else {
            // Until the client saw our SETTINGS, it may count on 65535.
            self.limits.stream_window.max(DEFAULT_WINDOW)
        };
        self.streams.insert(
            stream,
            Stream {
                state: if end_stream {
                    StreamState::HalfClosedRemote
                } else {
                    StreamState::Open
                },
                recv_window: recv_window as i64,
                recv_released: 0,
                buffered: 0,
                send_window: self.peer.initial_window_size as i64,
                answered: false,
            },
        );
        self.empty_frames = self.empty_frames.saturating_sub(1);
        events.push(if too_large {
            Event::RequestTooLarge { stream, end_stream }
        } else {
            Event::Request {
                stream,
                fields,
                end_stream,
            }
        });
        Ok(())
    }

    /// The client ended its side of `stream`.
    fn remote_end(&mut self, stream: StreamId) {
        if let Some(s) = self.streams.get_mut(&stream) {
            match s.state {
                StreamState::Open => s.state = StreamState::HalfClosedRemote,
                StreamState::HalfClosedLocal => self.close(stream),
                StreamState::HalfClosedRemote => {}
            }
        }
    }

    fn close(&mut self, stream: StreamId) {
        if let Some(s) = self.drop_stream(stream) {
            if s.answered {
                self.reset_score = self.reset_score.saturating_sub(1);
            }
        }
    }

    fn on_data(
        &mut self,
        stream: StreamId,
        at: usize,
        data: Range<usize>,
        end_stream: bool,
        flow_len: u32,
        events: &mut Vec<Event>,
    ) -> Result<(), ConnError> {
        if self.is_idle(stream) {
            return Err(conn_err(
                ErrorCode::PROTOCOL_ERROR,
                "DATA on an idle stream",
            ));
        }
        // Connection flow control counts every DATA frame, on any stream.
        if flow_len as i64 > self.conn_recv_window {
            return Err(conn_err(
                ErrorCode::FLOW_CONTROL_ERROR,
                "DATA beyond the connection window",
            ));
        }
        self.conn_recv_window -= flow_len as i64;
        if flow_len == 0 && !end_stream {
            self.count_idle_work()?;
        } else {
            self.empty_frames = self.empty_frames.saturating_sub(1);
        }
        if self.ignored_after_goaway(stream) {
            // §6.8: frames on streams above our GOAWAY's last stream are
            // ignored; their flow-control bytes still count, and go back.
            self.release_conn(flow_len);
            return Ok(());
        }
        let padding = flow_len - data.len() as u32;
        let state = self.streams.get(&stream).map(|s| (s.state, s.recv_window));
        match state {
            Some((StreamState::Open | StreamState::HalfClosedLocal, window)) => {
                if flow_len as i64 > window {
                    self.release_conn(flow_len);
                    self.stream_error(
                        stream,
                        ErrorCode::FLOW_CONTROL_ERROR,
                        "DATA beyond the stream window",
                        events,
                    );
                    return Ok(());
                }
                if let Some(s) = self.streams.get_mut(&stream) {
                    s.recv_window -= flow_len as i64;
                    s.buffered += flow_len - padding;
                    // Padding is nobody's to pass on: released at once.
                    s.recv_released += padding;
                }
                self.release_conn(padding);
                events.push(Event::Data {
                    stream,
                    data: at + data.start..at + data.end,
                    end_stream,
                });
                if end_stream {
                    self.remote_end(stream);
                }
            }
            _ => {
                // Closed or half-closed (remote): STREAM_CLOSED (§5.1); the
                // connection window is given back, the data dropped.
                self.release_conn(flow_len);
                self.stream_error(
                    stream,
                    ErrorCode::STREAM_CLOSED,
                    "DATA after the stream ended",
                    events,
                );
            }
        }
        Ok(())
    }
}

mod send;

#[cfg(test)]
mod tests;
