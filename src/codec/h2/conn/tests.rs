//! Byte-level scripts: a client written with the frame writers and an HPACK
//! encoder, the server connection under test, and its output parsed back.
use super::*;
use crate::codec::h2::frame::{flag, kind, setting, Priority};

/// The client side of a script.
struct Client {
    enc: Encoder,
    dec: Decoder,
    wire: Vec<u8>,
}

impl Client {
    fn new() -> Client {
        let mut wire = PREFACE.to_vec();
        frame::write_settings(&mut wire, &[]);
        Client {
            enc: Encoder::new(4096),
            dec: Decoder::new(4096, 1 << 20),
            wire,
        }
    }
    fn block(&mut self, fields: &[(&str, &str)]) -> Vec<u8> {
        let mut b = Vec::new();
        self.enc.encode(
            fields
                .iter()
                .map(|(n, v)| Field::new(n.as_bytes(), v.as_bytes())),
            &mut b,
        );
        b
    }
    fn get(&mut self, stream: StreamId, end_stream: bool) -> &mut Client {
        let b = self.block(GET);
        frame::write_headers(&mut self.wire, stream, &b, end_stream, 16_384);
        self
    }
    fn raw(
        &mut self,
        len: u32,
        kind: u8,
        flags: u8,
        stream: StreamId,
        payload: &[u8],
    ) -> &mut Client {
        frame::FrameHeader {
            len,
            kind,
            flags,
            stream,
        }
        .write(&mut self.wire);
        self.wire.extend_from_slice(payload);
        self
    }
    fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.wire)
    }
}

const GET: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "https"),
    (":path", "/"),
    (":authority", "example.com"),
];

/// What the server sent, frame by frame (payload bytes copied out).
#[derive(Debug, PartialEq, Eq)]
enum Out {
    Settings(Vec<(u16, u32)>),
    SettingsAck,
    WindowUpdate(StreamId, u32),
    Rst(StreamId, ErrorCode),
    GoAway(StreamId, ErrorCode),
    Ping(bool, [u8; 8]),
    Headers(StreamId, Vec<(String, String)>, bool),
    Data(StreamId, Vec<u8>, bool),
}

fn server_frames(c: &mut Conn, client: &mut Client) -> Vec<Out> {
    let out = c.output().to_vec();
    c.output_written(out.len());
    let mut v = Vec::new();
    let mut at = 0;
    while at < out.len() {
        let Ok(Parsed::Frame { frame: f, len }) =
            frame::parse(&out[at..], frame::MAX_MAX_FRAME_SIZE)
        else {
            panic!("server wrote a bad frame at {at}")
        };
        let b = &out[at..at + len];
        v.push(match f {
            Frame::Settings { ack: true, .. } => Out::SettingsAck,
            Frame::Settings { params, .. } => Out::Settings(frame::settings(b, params).collect()),
            Frame::WindowUpdate { stream, increment } => Out::WindowUpdate(stream, increment),
            Frame::RstStream { stream, code } => Out::Rst(stream, code),
            Frame::GoAway {
                last_stream, code, ..
            } => Out::GoAway(last_stream, code),
            Frame::Ping { ack, data } => Out::Ping(ack, data),
            Frame::Headers {
                stream,
                block,
                end_stream,
                end_headers,
                ..
            } => {
                assert!(end_headers);
                let mut l = HeaderList::default();
                client.dec.decode(&b[block], &mut l).unwrap();
                let fields = l
                    .iter()
                    .map(|f| {
                        (
                            String::from_utf8_lossy(f.name).into(),
                            String::from_utf8_lossy(f.value).into(),
                        )
                    })
                    .collect();
                Out::Headers(stream, fields, end_stream)
            }
            Frame::Data {
                stream,
                data,
                end_stream,
                ..
            } => Out::Data(stream, b[data].to_vec(), end_stream),
            f => panic!("unexpected {f:?}"),
        });
        at += len;
    }
    v
}

/// Feeds everything; returns the events and the result.
fn feed(c: &mut Conn, bytes: &[u8]) -> (Vec<Event>, Result<usize, ConnError>) {
    let mut ev = Vec::new();
    let r = c.receive(bytes, &mut ev);
    (ev, r)
}

/// A connection past the handshake (its opening frames read).
fn started(limits: Limits) -> (Conn, Client) {
    let mut c = Conn::new(limits);
    let mut cl = Client::new();
    let w = cl.take();
    let (ev, r) = feed(&mut c, &w);
    assert_eq!(r, Ok(w.len()));
    assert!(ev.is_empty());
    server_frames(&mut c, &mut cl);
    (c, cl)
}

fn goaway_code(c: &mut Conn, cl: &mut Client) -> ErrorCode {
    match server_frames(c, cl).pop() {
        Some(Out::GoAway(_, code)) => code,
        other => panic!("no GOAWAY last: {other:?}"),
    }
}

#[test]
fn handshake_settings_window_and_ack() {
    let mut c = Conn::new(Limits::default());
    let mut cl = Client::new();
    let w = cl.take();
    // Fed one byte at a time: the same as all at once.
    let mut buf = Vec::new();
    let mut used_total = 0;
    for &b in &w {
        buf.push(b);
        let (ev, r) = feed(&mut c, &buf);
        assert!(ev.is_empty());
        let used = r.unwrap();
        buf.drain(..used);
        used_total += used;
    }
    assert_eq!(used_total, w.len());
    assert_eq!(
        server_frames(&mut c, &mut cl),
        [
            Out::Settings(vec![
                (setting::ENABLE_PUSH, 0),
                (setting::MAX_CONCURRENT_STREAMS, 100),
                (setting::MAX_HEADER_LIST_SIZE, 65_536),
            ]),
            Out::WindowUpdate(0, (1 << 20) - 65_535),
            Out::SettingsAck,
        ]
    );
    let mut ack = Vec::new();
    frame::write_settings_ack(&mut ack);
    assert_eq!(feed(&mut c, &ack).0, [Event::SettingsAcked]);
}

#[test]
fn bad_preface_and_missing_settings_are_connection_errors() {
    let mut c = Conn::new(Limits::default());
    let mut cl = Client::new();
    let (_, r) = feed(&mut c, b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(r.unwrap_err().code, ErrorCode::PROTOCOL_ERROR);
    assert_eq!(goaway_code(&mut c, &mut cl), ErrorCode::PROTOCOL_ERROR);

    let mut c = Conn::new(Limits::default());
    let mut w = PREFACE.to_vec();
    frame::write_ping(&mut w, false, [0; 8]);
    assert_eq!(
        feed(&mut c, &w).1.unwrap_err().code,
        ErrorCode::PROTOCOL_ERROR
    );
}

#[test]
fn get_request_and_response() {
    let (mut c, mut cl) = started(Limits::default());
    let w = cl.get(1, true).take();
    let (ev, _) = feed(&mut c, &w);
    let [Event::Request {
        stream: 1,
        fields,
        end_stream: true,
    }] = &ev[..]
    else {
        panic!("{ev:?}")
    };
    assert_eq!(fields.get(2).unwrap().value, b"/");
    assert_eq!(c.stream_state(1), Some(StreamState::HalfClosedRemote));
    c.send_headers(1, [Field::new(b":status", b"200")], false);
    assert_eq!(c.send_data(1, b"hello", true), 5);
    assert_eq!(c.stream_state(1), None);
    assert_eq!(
        server_frames(&mut c, &mut cl),
        [
            Out::Headers(1, vec![(":status".into(), "200".into())], false),
            Out::Data(1, b"hello".to_vec(), true),
        ]
    );
}

#[test]
fn request_body_flow_control_and_window_updates() {
    let limits = Limits {
        stream_window: 1000,
        connection_window: 65_535,
        ..Limits::default()
    };
    let (mut c, mut cl) = started(limits);
    let mut ack = Vec::new();
    frame::write_settings_ack(&mut ack);
    assert!(feed(&mut c, &ack).1.is_ok());
    let w = cl.get(1, false).take();
    assert!(feed(&mut c, &w).1.is_ok());
    // 400 bytes with 99 of padding (flow control counts 500).
    let mut p = vec![99];
    p.extend([b'x'; 400]);
    p.extend([0; 99]);
    let w = cl.raw(500, kind::DATA, flag::PADDED, 1, &p).take();
    let (ev, _) = feed(&mut c, &w);
    let [Event::Data {
        stream: 1,
        data,
        end_stream: false,
    }] = &ev[..]
    else {
        panic!("{ev:?}")
    };
    assert_eq!(&w[data.clone()], &[b'x'; 400][..]);
    // Nothing returned until half a window (500) is released: padding 100.
    assert_eq!(server_frames(&mut c, &mut cl), []);
    c.release(1, 399);
    assert_eq!(server_frames(&mut c, &mut cl), []);
    c.release(1, 1);
    assert_eq!(server_frames(&mut c, &mut cl), [Out::WindowUpdate(1, 500)]);
    // The window is now 1000 - 500 + 500 = 1000: 1001 bytes is too many.
    let w = cl.raw(1001, kind::DATA, 0, 1, &[0; 1001]).take();
    let (ev, r) = feed(&mut c, &w);
    assert!(r.is_ok());
    assert!(matches!(
        ev[..],
        [Event::Refused {
            stream: 1,
            code: ErrorCode::FLOW_CONTROL_ERROR,
            ..
        }]
    ));
    assert_eq!(
        server_frames(&mut c, &mut cl),
        [Out::Rst(1, ErrorCode::FLOW_CONTROL_ERROR)]
    );

    // The connection window (65535) is shared: a stream cannot pass it.
    let limits = Limits {
        stream_window: frame::MAX_WINDOW,
        connection_window: 65_535,
        ..Limits::default()
    };
    let (mut c, mut cl) = started(limits);
    cl.get(1, false);
    for _ in 0..4 {
        cl.raw(16_384, kind::DATA, 0, 1, &[0; 16_384]);
    }
    let w = cl.take();
    let (ev, r) = feed(&mut c, &w);
    assert_eq!(ev.len(), 4); // the request and 3 DATA frames
    assert_eq!(r.unwrap_err().code, ErrorCode::FLOW_CONTROL_ERROR);
    assert_eq!(goaway_code(&mut c, &mut cl), ErrorCode::FLOW_CONTROL_ERROR);
}

#[test]
fn ending_a_stream_gives_its_unreleased_bytes_back_to_the_connection() {
    let limits = Limits {
        connection_window: 65_535,
        ..Limits::default()
    };
    let (mut c, mut cl) = started(limits);
    cl.get(1, false);
    for _ in 0..2 {
        cl.raw(16_384, kind::DATA, 0, 1, &[0; 16_384]);
    }
    let w = cl.rst(1).take();
    assert!(feed(&mut c, &w).1.is_ok());
    // 32768 ≥ half of 65535: returned at once, though never released.
    assert_eq!(
        server_frames(&mut c, &mut cl),
        [Out::WindowUpdate(0, 32_768)]
    );
}

impl Client {
    fn rst(&mut self, stream: StreamId) -> &mut Client {
        frame::write_rst_stream(&mut self.wire, stream, ErrorCode::CANCEL);
        self
    }
}

#[test]
fn ping_is_answered_with_its_data() {
    let (mut c, mut cl) = started(Limits::default());
    let mut w = Vec::new();
    frame::write_ping(&mut w, false, *b"abcdefgh");
    frame::write_ping(&mut w, true, *b"12345678");
    let (ev, _) = feed(&mut c, &w);
    assert_eq!(ev, [Event::PingAck { data: *b"12345678" }]);
    assert_eq!(
        server_frames(&mut c, &mut cl),
        [Out::Ping(true, *b"abcdefgh")]
    );
}

#[test]
fn continuation_frames_and_their_limits() {
    let (mut c, mut cl) = started(Limits::default());
    let b = cl.block(GET);
    let (x, y) = b.split_at(3);
    let w = cl
        .raw(x.len() as u32, kind::HEADERS, flag::END_STREAM, 1, x)
        .raw(0, kind::CONTINUATION, 0, 1, &[])
        .raw(y.len() as u32, kind::CONTINUATION, flag::END_HEADERS, 1, y)
        .take();
    let (ev, r) = feed(&mut c, &w);
    assert!(r.is_ok());
    assert!(matches!(
        ev[..],
        [Event::Request {
            stream: 1,
            end_stream: true,
            ..
        }]
    ));

    // Any other frame inside a field block.
    let (mut c, mut cl) = started(Limits::default());
    let b = cl.block(GET);
    let w = cl.raw(b.len() as u32, kind::HEADERS, 0, 1, &b).take();
    let mut w2 = w.clone();
    frame::write_ping(&mut w2, false, [0; 8]);
    assert_eq!(
        feed(&mut c, &w2).1.unwrap_err().code,
        ErrorCode::PROTOCOL_ERROR
    );
    // A CONTINUATION on another stream.
    let (mut c, _) = started(Limits::default());
    let mut w3 = w.clone();
    frame::write_continuation(&mut w3, 3, &[], true);
    assert_eq!(
        feed(&mut c, &w3).1.unwrap_err().code,
        ErrorCode::PROTOCOL_ERROR
    );
    // CVE-2024-27316: an endless field block of empty CONTINUATIONs...
    let (mut c, mut cl) = started(Limits::default());
    let mut w4 = w.clone();
    for _ in 0..100 {
        frame::write_continuation(&mut w4, 1, &[], false);
    }
    assert_eq!(
        feed(&mut c, &w4).1.unwrap_err().code,
        ErrorCode::ENHANCE_YOUR_CALM
    );
    assert_eq!(goaway_code(&mut c, &mut cl), ErrorCode::ENHANCE_YOUR_CALM);
    // ... or of full ones, beyond the block bound.
    let (mut c, _) = started(Limits {
        max_field_block: 40_000,
        ..Limits::default()
    });
    let mut w5 = w.clone();
    for _ in 0..3 {
        frame::write_continuation(&mut w5, 1, &[0x82; 16_384], false);
    }
    let (ev, r) = feed(&mut c, &w5);
    assert!(ev.is_empty());
    assert_eq!(r.unwrap_err().code, ErrorCode::ENHANCE_YOUR_CALM);
}

#[test]
fn max_concurrent_streams_refuses_the_next_one() {
    let (mut c, mut cl) = started(Limits {
        max_concurrent_streams: 2,
        ..Limits::default()
    });
    let w = cl.get(1, true).get(3, true).get(5, true).take();
    let (ev, _) = feed(&mut c, &w);
    assert_eq!(ev.len(), 3);
    assert!(matches!(
        ev[2],
        Event::Refused {
            stream: 5,
            code: ErrorCode::REFUSED_STREAM,
            ..
        }
    ));
    assert_eq!(c.active_streams(), 2);
    assert_eq!(
        server_frames(&mut c, &mut cl),
        [Out::Rst(5, ErrorCode::REFUSED_STREAM)]
    );
    // Answering one makes room.
    c.send_headers(1, [Field::new(b":status", b"204")], true);
    let w = cl.get(7, true).take();
    let (ev, _) = feed(&mut c, &w);
    assert!(matches!(ev[..], [Event::Request { stream: 7, .. }]));
}

#[test]
fn rapid_reset_ends_the_connection() {
    // CVE-2023-44487: open and cancel streams before any answer.
    let (mut c, mut cl) = started(Limits {
        max_reset_score: 10,
        ..Limits::default()
    });
    for i in 0..11 {
        cl.get(1 + 2 * i, false).rst(1 + 2 * i);
    }
    let w = cl.take();
    let (ev, r) = feed(&mut c, &w);
    assert_eq!(r.unwrap_err().code, ErrorCode::ENHANCE_YOUR_CALM);
    assert_eq!(
        ev.iter()
            .filter(|e| matches!(e, Event::Reset { .. }))
            .count(),
        10
    );
    assert_eq!(goaway_code(&mut c, &mut cl), ErrorCode::ENHANCE_YOUR_CALM);

    // A client that also lets streams finish is not cut off.
    let (mut c, mut cl) = started(Limits {
        max_reset_score: 10,
        ..Limits::default()
    });
    for i in 0..50u32 {
        let w = cl
            .get(1 + 4 * i, false)
            .rst(1 + 4 * i)
            .get(3 + 4 * i, true)
            .take();
        let (_, r) = feed(&mut c, &w);
        assert!(r.is_ok(), "round {i}");
        c.send_headers(3 + 4 * i, [Field::new(b":status", b"200")], true);
    }
}

#[test]
fn stream_state_errors() {
    // DATA on an idle stream: connection PROTOCOL_ERROR.
    let (mut c, mut cl) = started(Limits::default());
    let w = cl.raw(1, kind::DATA, 0, 1, b"x").take();
    assert_eq!(
        feed(&mut c, &w).1.unwrap_err().code,
        ErrorCode::PROTOCOL_ERROR
    );
    // DATA after END_STREAM: stream STREAM_CLOSED, connection goes on.
    let (mut c, mut cl) = started(Limits::default());
    let w = cl.get(1, true).raw(1, kind::DATA, 0, 1, b"x").take();
    let (ev, r) = feed(&mut c, &w);
    assert!(r.is_ok());
    assert!(matches!(
        ev[1],
        Event::Refused {
            stream: 1,
            code: ErrorCode::STREAM_CLOSED,
            ..
        }
    ));
    // HEADERS reusing a closed stream: STREAM_CLOSED; a skipped lower id:
    // PROTOCOL_ERROR (§5.1.1).
    let w = cl.get(1, true).take();
    assert_eq!(
        feed(&mut c, &w).1.unwrap_err().code,
        ErrorCode::STREAM_CLOSED
    );
    let (mut c, mut cl) = started(Limits::default());
    let w = cl.get(5, true).get(3, true).take();
    assert_eq!(
        feed(&mut c, &w).1.unwrap_err().code,
        ErrorCode::PROTOCOL_ERROR
    );
    // An even stream id, a PUSH_PROMISE, RST_STREAM and WINDOW_UPDATE on
    // idle streams.
    for w in [
        Client::new().get(2, true).take(),
        Client::new()
            .raw(
                5,
                kind::PUSH_PROMISE,
                flag::END_HEADERS,
                1,
                &[0, 0, 0, 2, 0x82],
            )
            .take(),
        Client::new().rst(1).take(),
        Client::new()
            .raw(4, kind::WINDOW_UPDATE, 0, 1, &[0, 0, 0, 1])
            .take(),
    ] {
        let mut c = Conn::new(Limits::default());
        assert_eq!(
            feed(&mut c, &w).1.unwrap_err().code,
            ErrorCode::PROTOCOL_ERROR
        );
    }
    // A stream that depends on itself: a stream error, HPACK still in step.
    let (mut c, mut cl) = started(Limits::default());
    let b = cl.block(GET);
    frame::write_headers_padded(
        &mut cl.wire,
        1,
        &b,
        flag::END_HEADERS | flag::END_STREAM,
        Some(Priority {
            exclusive: false,
            depends_on: 1,
            weight: 0,
        }),
        0,
    );
    let w = cl.get(3, true).take();
    let (ev, r) = feed(&mut c, &w);
    assert!(r.is_ok());
    assert!(matches!(
        ev[0],
        Event::Refused {
            stream: 1,
            code: ErrorCode::PROTOCOL_ERROR,
            ..
        }
    ));
    assert!(matches!(ev[1], Event::Request { stream: 3, .. }));
}

#[test]
fn trailers_end_the_request() {
    let (mut c, mut cl) = started(Limits::default());
    let t = cl.block(&[("x-checksum", "abc")]);
    cl.get(1, false).raw(2, kind::DATA, 0, 1, b"hi");
    frame::write_headers(&mut cl.wire, 1, &t, true, 16_384);
    let w = cl.take();
    let (ev, _) = feed(&mut c, &w);
    assert!(
        matches!(&ev[2], Event::Trailers { stream: 1, fields } if fields.get(0).unwrap().value == b"abc")
    );
    assert_eq!(c.stream_state(1), Some(StreamState::HalfClosedRemote));
    // Trailers without END_STREAM are malformed.
    let (mut c, mut cl) = started(Limits::default());
    let t = cl.block(&[("x-checksum", "abc")]);
    cl.get(1, false);
    frame::write_headers(&mut cl.wire, 1, &t, false, 16_384);
    let w = cl.take();
    let (ev, _) = feed(&mut c, &w);
    assert!(matches!(
        ev[1],
        Event::Refused {
            stream: 1,
            code: ErrorCode::PROTOCOL_ERROR,
            ..
        }
    ));
}

#[test]
fn oversized_header_list_is_answered_per_stream() {
    let (mut c, mut cl) = started(Limits {
        max_header_list_size: 1024,
        ..Limits::default()
    });
    let big = "v".repeat(2000);
    let b = cl.block(&[(":method", "GET"), ("x-big", &big)]);
    frame::write_headers(&mut cl.wire, 1, &b, true, 16_384);
    let w = cl.get(3, true).take();
    let (ev, r) = feed(&mut c, &w);
    assert!(r.is_ok());
    assert!(matches!(
        ev[0],
        Event::RequestTooLarge {
            stream: 1,
            end_stream: true
        }
    ));
    assert!(matches!(ev[1], Event::Request { stream: 3, .. }));
}

#[test]
fn settings_change_send_windows_and_frame_size() {
    let (mut c, mut cl) = started(Limits::default());
    let w = cl.get(1, true).take();
    assert!(feed(&mut c, &w).1.is_ok());
    assert_eq!(c.send_window(1), 65_535);
    let mut w = Vec::new();
    frame::write_settings(&mut w, &[(setting::INITIAL_WINDOW_SIZE, 100)]);
    assert!(feed(&mut c, &w).1.is_ok());
    assert_eq!(c.send_window(1), 100);
    assert_eq!(server_frames(&mut c, &mut cl), [Out::SettingsAck]);
    c.send_headers(1, [Field::new(b":status", b"200")], false);
    assert_eq!(c.send_data(1, &[7; 300], true), 100);
    assert_eq!(c.stream_state(1), Some(StreamState::HalfClosedRemote));
    assert_eq!(c.send_data(1, &[7; 200], true), 0);
    // A WINDOW_UPDATE on the stream lets the rest go; END_STREAM with it.
    let mut w = Vec::new();
    frame::write_window_update(&mut w, 1, 500);
    assert!(feed(&mut c, &w).1.is_ok());
    assert_eq!(c.send_data(1, &[7; 200], true), 200);
    assert_eq!(c.stream_state(1), None);
    let frames = server_frames(&mut c, &mut cl);
    assert!(matches!(&frames[1], Out::Data(1, d, false) if d.len() == 100));
    assert!(matches!(&frames[2], Out::Data(1, d, true) if d.len() == 200));
    // Windows above 2^31-1.
    let (mut c, _) = started(Limits::default());
    let mut w = Vec::new();
    frame::write_window_update(&mut w, 0, frame::MAX_WINDOW);
    assert_eq!(
        feed(&mut c, &w).1.unwrap_err().code,
        ErrorCode::FLOW_CONTROL_ERROR
    );
    let (mut c, mut cl) = started(Limits::default());
    let mut w = cl.get(1, false).take();
    frame::write_window_update(&mut w, 1, frame::MAX_WINDOW);
    let (ev, r) = feed(&mut c, &w);
    assert!(r.is_ok());
    assert!(matches!(
        ev[1],
        Event::Refused {
            stream: 1,
            code: ErrorCode::FLOW_CONTROL_ERROR,
            ..
        }
    ));
    // Large DATA is split by the client's SETTINGS_MAX_FRAME_SIZE.
    let (mut c, mut cl) = started(Limits::default());
    let mut w = cl.get(1, true).take();
    frame::write_window_update(&mut w, 1, 100_000);
    frame::write_window_update(&mut w, 0, 100_000);
    assert!(feed(&mut c, &w).1.is_ok());
    assert_eq!(c.send_data(1, &[1; 40_000], true), 40_000);
    let sizes: Vec<usize> = server_frames(&mut c, &mut cl)
        .iter()
        .map(|f| match f {
            Out::Data(_, d, _) => d.len(),
            f => panic!("{f:?}"),
        })
        .collect();
    assert_eq!(sizes, [16_384, 16_384, 7_232]);
}

#[test]
fn graceful_shutdown_sends_goaway_and_ignores_later_streams() {
    let (mut c, mut cl) = started(Limits::default());
    let w = cl.get(1, false).take();
    assert!(feed(&mut c, &w).1.is_ok());
    c.shutdown();
    assert_eq!(
        server_frames(&mut c, &mut cl),
        [Out::GoAway(1, ErrorCode::NO_ERROR)]
    );
    // Stream 3 arrives after, with a body and a reset: all ignored, no
    // RST_STREAM answers them; stream 1 finishes.
    let w = cl
        .get(3, false)
        .raw(4, kind::DATA, 0, 3, b"body")
        .rst(3)
        .raw(2, kind::DATA, flag::END_STREAM, 1, b"ok")
        .take();
    let (ev, r) = feed(&mut c, &w);
    assert!(r.is_ok());
    assert!(matches!(
        ev[..],
        [Event::Data {
            stream: 1,
            end_stream: true,
            ..
        }]
    ));
    assert_eq!(server_frames(&mut c, &mut cl), []);
}

#[test]
fn control_frame_floods_are_bounded() {
    // PINGs while not reading the answers.
    let (mut c, mut cl) = started(Limits {
        max_queued_control: 50,
        ..Limits::default()
    });
    let mut w = Vec::new();
    for _ in 0..51 {
        frame::write_ping(&mut w, false, [0; 8]);
    }
    assert_eq!(
        feed(&mut c, &w).1.unwrap_err().code,
        ErrorCode::ENHANCE_YOUR_CALM
    );
    assert_eq!(goaway_code(&mut c, &mut cl), ErrorCode::ENHANCE_YOUR_CALM);
    // The same number, read as they come: fine.
    let (mut c, mut cl) = started(Limits {
        max_queued_control: 50,
        ..Limits::default()
    });
    for _ in 0..200 {
        let mut w = Vec::new();
        frame::write_ping(&mut w, false, [0; 8]);
        frame::write_settings(&mut w, &[]);
        assert!(feed(&mut c, &w).1.is_ok());
        server_frames(&mut c, &mut cl);
    }
    // Empty DATA frames and PRIORITY frames that carry nothing.
    let (mut c, mut cl) = started(Limits {
        max_empty_frames: 20,
        ..Limits::default()
    });
    cl.get(1, false);
    for _ in 0..21 {
        cl.raw(0, kind::DATA, 0, 1, &[]);
    }
    let w = cl.take();
    assert_eq!(
        feed(&mut c, &w).1.unwrap_err().code,
        ErrorCode::ENHANCE_YOUR_CALM
    );
    let (mut c, mut cl) = started(Limits {
        max_empty_frames: 20,
        ..Limits::default()
    });
    for i in 0..21 {
        frame::write_priority(
            &mut cl.wire,
            1 + 2 * i,
            Priority {
                exclusive: false,
                depends_on: 0,
                weight: 1,
            },
        );
    }
    let w = cl.take();
    assert_eq!(
        feed(&mut c, &w).1.unwrap_err().code,
        ErrorCode::ENHANCE_YOUR_CALM
    );
}

/// Found by the `h2_conn` fuzz target (regressions/h2_conn-1.bin): the
/// application answering a stream after the connection failed wrote frames
/// after the GOAWAY.
#[test]
fn nothing_is_written_after_a_connection_errors_goaway() {
    let (mut c, mut cl) = started(Limits::default());
    cl.get(1, false).get(3, false);
    let w = cl.raw(8, kind::PING, 0, 0x3f, b"pingpong").take();
    let (ev, r) = feed(&mut c, &w);
    assert_eq!(ev.len(), 2);
    assert_eq!(r.unwrap_err().code, ErrorCode::PROTOCOL_ERROR);
    c.send_headers(1, [Field::new(b":status", b"200")], false);
    assert_eq!(c.send_data(1, b"", true), 0);
    assert_eq!(c.send_data(3, b"late", true), 0);
    c.reset(3, ErrorCode::CANCEL);
    assert_eq!(goaway_code(&mut c, &mut cl), ErrorCode::PROTOCOL_ERROR);
    assert_eq!(c.active_streams(), 0);
}

#[test]
fn pieces_give_the_same_events_as_the_whole() {
    // A script fed whole and in pieces of every size 1..=40 (keeping the
    // unused tail, as the worker will) gives the same events.
    let script = |cl: &mut Client| {
        let t = cl.block(&[("x-t", "1")]);
        cl.get(1, false)
            .raw(3, kind::DATA, 0, 1, b"abc")
            .get(3, true);
        frame::write_headers(&mut cl.wire, 1, &t, true, 16_384);
        frame::write_ping(&mut cl.wire, false, *b"pingpong");
        cl.take()
    };
    let norm = |ev: Vec<Event>, w: &[u8]| -> Vec<String> {
        ev.into_iter()
            .map(|e| match e {
                Event::Data {
                    stream,
                    data,
                    end_stream,
                } => {
                    format!("data {stream} {:?} {end_stream}", &w[data])
                }
                e => format!("{e:?}"),
            })
            .collect()
    };
    let mut c = Conn::new(Limits::default());
    let mut cl = Client::new();
    let mut w = cl.take();
    w.extend(script(&mut cl));
    let (ev, r) = feed(&mut c, &w);
    assert_eq!(r, Ok(w.len()));
    let whole = norm(ev, &w);
    for piece in 1..=40 {
        let mut c = Conn::new(Limits::default());
        let mut cl = Client::new();
        let mut w = cl.take();
        w.extend(script(&mut cl));
        let mut got = Vec::new();
        let mut buf = Vec::new();
        for chunk in w.chunks(piece) {
            buf.extend_from_slice(chunk);
            let (ev, r) = feed(&mut c, &buf);
            got.extend(norm(ev, &buf));
            buf.drain(..r.unwrap());
        }
        assert!(buf.is_empty());
        assert_eq!(got, whole, "pieces of {piece}");
    }
}

/// Random scripts: frames of every type with random ids, flags, lengths and
/// values (some valid, most not), fed in random pieces, with the
/// application's calls in between. Nothing panics, every byte the server
/// writes parses as a frame, and the stream limit holds.
#[test]
fn random_scripts_never_panic_and_output_stays_well_formed() {
    let mut rng = crate::codec::h2::frame::tests::Rng(0x5eed_0fc0_ffee);
    // What the scripts reached, so the test shows it goes past the first
    // error: requests opened, body frames, connections ended by an error.
    let (mut requests, mut bodies, mut errors) = (0, 0, 0);
    for round in 0..300 {
        let limits = Limits {
            max_concurrent_streams: 1 + rng.below(4) as u32,
            stream_window: [1, 100, 65_535, frame::MAX_WINDOW][rng.below(4) as usize],
            connection_window: [65_535, 1 << 20, frame::MAX_WINDOW][rng.below(3) as usize],
            max_header_list_size: [0, 100, 65_536][rng.below(3) as usize],
            max_reset_score: 5,
            max_empty_frames: 20,
            max_queued_control: 30,
            ..Limits::default()
        };
        let mut c = Conn::new(limits);
        let mut cl = Client::new();
        // Reads all the server writes, in order, so its HPACK state follows.
        let mut reader = Client::new_reader();
        // Mostly valid frames on streams the script opened.
        let mut next_stream = 1;
        for _ in 0..60 {
            // A stream the script opened (1, 3, … below next_stream), or
            // now and then any id.
            let stream = if rng.below(20) == 0 {
                rng.below(12) as u32
            } else {
                1 + 2 * rng.below(next_stream as u64 / 2) as u32
            };
            let flags = rng.next() as u8;
            let end = if rng.below(3) == 0 {
                flag::END_STREAM
            } else {
                0
            };
            // The first frame opens stream 1.
            let action = match rng.below(50) {
                _ if next_stream == 1 => 0,
                // Anything at all: one frame in 300.
                48 | 49 if rng.below(6) != 0 => 40,
                a => a,
            };
            match action {
                0..=14 => {
                    let b = cl.block(GET);
                    let cut = if rng.below(4) == 0 {
                        rng.below(b.len() as u64) as usize
                    } else {
                        b.len()
                    };
                    let eh = if cut == b.len() { flag::END_HEADERS } else { 0 };
                    cl.raw(cut as u32, kind::HEADERS, end | eh, next_stream, &b[..cut]);
                    if cut < b.len() {
                        let rest = &b[cut..];
                        cl.raw(
                            rest.len() as u32,
                            kind::CONTINUATION,
                            flag::END_HEADERS,
                            next_stream,
                            rest,
                        );
                    }
                    next_stream += 2;
                }
                15..=29 => {
                    let n = rng.below(3000) as usize;
                    if rng.below(4) == 0 {
                        let pad = rng.below(20) as u8;
                        let mut p = vec![pad];
                        p.extend(vec![b'd'; n]);
                        p.extend(vec![0; pad as usize]);
                        cl.raw(p.len() as u32, kind::DATA, end | flag::PADDED, stream, &p);
                    } else {
                        cl.raw(n as u32, kind::DATA, end, stream, &vec![b'd'; n]);
                    }
                }
                30..=32 => {
                    let v = [0, 1, 100, 16_384, 65_535][rng.below(5) as usize];
                    let id = [1, 3, 4, 6, 0x99][rng.below(5) as usize];
                    frame::write_settings(&mut cl.wire, &[(id, v)]);
                }
                33..=36 => {
                    let inc = [1, 1000, 65_535][rng.below(3) as usize];
                    let on = if rng.below(2) == 0 { 0 } else { stream };
                    frame::write_window_update(&mut cl.wire, on, inc);
                }
                37..=39 => {
                    cl.rst(stream);
                }
                40..=42 => frame::write_ping(&mut cl.wire, rng.below(2) == 0, [1; 8]),
                43..=44 => frame::write_priority(
                    &mut cl.wire,
                    stream,
                    Priority {
                        exclusive: false,
                        depends_on: 0,
                        weight: 0,
                    },
                ),
                45..=47 => frame::write_settings_ack(&mut cl.wire),
                48 => {
                    let n = rng.below(20) as usize;
                    let payload: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                    cl.raw(
                        n as u32,
                        rng.below(16) as u8,
                        flags,
                        rng.below(12) as u32,
                        &payload,
                    );
                }
                _ => {
                    let v = [0, 1, 100, frame::MAX_WINDOW, u32::MAX][rng.below(5) as usize];
                    frame::write_settings(&mut cl.wire, &[(1 + rng.below(9) as u16, v)]);
                }
            }
        }
        let wire = cl.take();
        let mut buf = Vec::new();
        let mut fed = 0;
        let mut dead = false;
        while fed < wire.len() && !dead {
            let n = (1 + rng.below(200) as usize).min(wire.len() - fed);
            buf.extend_from_slice(&wire[fed..fed + n]);
            fed += n;
            let mut ev = Vec::new();
            match c.receive(&buf, &mut ev) {
                Ok(used) => {
                    assert!(used <= buf.len());
                    buf.drain(..used);
                }
                Err(_) => {
                    errors += 1;
                    dead = true
                }
            }
            assert!(
                c.active_streams() <= limits.max_concurrent_streams as usize,
                "round {round}"
            );
            for e in ev {
                match e {
                    Event::Request { stream, .. } | Event::RequestTooLarge { stream, .. } => {
                        requests += 1;
                        match rng.below(3) {
                            0 => c.send_headers(
                                stream,
                                [Field::new(b":status", b"200")],
                                rng.below(2) == 0,
                            ),
                            1 => c.reset(stream, ErrorCode::CANCEL),
                            _ => {}
                        }
                    }
                    Event::Data { stream, data, .. } => {
                        bodies += 1;
                        c.release(stream, data.len());
                        let body = vec![0; rng.below(70_000) as usize];
                        c.send_data(stream, &body, rng.below(2) == 0);
                    }
                    _ => {}
                }
            }
            if rng.below(10) == 0 {
                c.shutdown();
            }
            if rng.below(3) == 0 {
                server_frames(&mut c, &mut reader);
            }
        }
        server_frames(&mut c, &mut reader);
    }
    eprintln!("{requests} requests, {bodies} body frames, {errors} connection errors");
    assert!(requests > 300 && bodies > 150 && errors > 30 && errors < 250);
}

impl Client {
    /// A reader of server output (no preface or SETTINGS of its own).
    fn new_reader() -> Client {
        Client {
            enc: Encoder::new(4096),
            dec: Decoder::new(4096, 1 << 20),
            wire: Vec::new(),
        }
    }
}
