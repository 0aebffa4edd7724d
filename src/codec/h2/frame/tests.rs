use super::*;

const BIG: u32 = MIN_MAX_FRAME_SIZE;

fn one(buf: &[u8]) -> Result<(Frame, usize), FrameError> {
    match parse(buf, BIG)? {
        Parsed::Frame { frame, len } => Ok((frame, len)),
        Parsed::Incomplete { need } => panic!("incomplete, need {need}"),
    }
}

fn raw(len: u32, kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    FrameHeader {
        len,
        kind,
        flags,
        stream,
    }
    .write(&mut v);
    v.extend_from_slice(payload);
    v
}

fn conn_code(r: Result<(Frame, usize), FrameError>) -> ErrorCode {
    match r {
        Err(FrameError::Connection { code, .. }) => code,
        other => panic!("expected a connection error, got {other:?}"),
    }
}

#[test]
fn header_round_trip_clears_the_reserved_bit() {
    // 24-bit length, type, flags, R bit + 31-bit stream id (RFC 9113 §4.1).
    let b = [0x01, 0x02, 0x03, 0x08, 0x05, 0xff, 0xff, 0xff, 0xff];
    let h = FrameHeader::read(&b).unwrap();
    assert_eq!(h.len, 0x010203);
    assert_eq!(h.kind, 8);
    assert_eq!(h.flags, 5);
    assert_eq!(h.stream, 0x7fff_ffff);
    let mut out = Vec::new();
    h.write(&mut out);
    assert_eq!(out, [0x01, 0x02, 0x03, 0x08, 0x05, 0x7f, 0xff, 0xff, 0xff]);
}

#[test]
fn incomplete_input_says_how_much_it_needs() {
    assert_eq!(parse(&[0, 0], BIG), Ok(Parsed::Incomplete { need: 9 }));
    let f = raw(10, kind::DATA, 0, 1, &[1, 2, 3]);
    assert_eq!(parse(&f, BIG), Ok(Parsed::Incomplete { need: 19 }));
}

#[test]
fn frame_longer_than_max_frame_size_is_refused_from_its_header() {
    // Only the header has arrived: refused without waiting for 16385 bytes.
    let f = raw(BIG + 1, kind::DATA, 0, 1, &[]);
    assert_eq!(conn_code(one(&f)), ErrorCode::FRAME_SIZE_ERROR);
    // Exactly the limit is fine.
    let f = raw(BIG, kind::DATA, 0, 1, &vec![7; BIG as usize]);
    assert!(matches!(one(&f), Ok((Frame::Data { .. }, n)) if n == 9 + BIG as usize));
}

#[test]
fn data_with_padding() {
    let mut out = Vec::new();
    write_data(&mut out, 3, b"hello", true);
    let (f, n) = one(&out).unwrap();
    assert_eq!(n, out.len());
    let Frame::Data {
        stream,
        data,
        end_stream,
        flow_len,
    } = f
    else {
        panic!("{f:?}")
    };
    assert_eq!(
        (stream, &out[data], end_stream, flow_len),
        (3, &b"hello"[..], true, 5)
    );

    // PADDED: pad length 2, "ab", 2 bytes of padding; flow control counts 5.
    let f = raw(5, kind::DATA, flag::PADDED, 1, &[2, b'a', b'b', 0, 0]);
    let (fr, _) = one(&f).unwrap();
    let Frame::Data { data, flow_len, .. } = fr else {
        panic!()
    };
    assert_eq!((&f[data], flow_len), (&b"ab"[..], 5));
    // Padding of the whole payload (len 3, pad 3): PROTOCOL_ERROR (§6.1).
    let f = raw(3, kind::DATA, flag::PADDED, 1, &[3, 0, 0]);
    assert_eq!(conn_code(one(&f)), ErrorCode::PROTOCOL_ERROR);
    // Pad length 2 of 3: empty data, fine.
    let f = raw(3, kind::DATA, flag::PADDED, 1, &[2, 0, 0]);
    assert!(matches!(one(&f), Ok((Frame::Data { data, .. }, _)) if data.is_empty()));
    // PADDED with no payload at all.
    let f = raw(0, kind::DATA, flag::PADDED, 1, &[]);
    assert_eq!(conn_code(one(&f)), ErrorCode::FRAME_SIZE_ERROR);
    // DATA on stream 0.
    let f = raw(0, kind::DATA, 0, 0, &[]);
    assert_eq!(conn_code(one(&f)), ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn headers_with_padding_and_priority() {
    let p = Priority {
        exclusive: true,
        depends_on: 3,
        weight: 200,
    };
    let mut out = Vec::new();
    write_headers_padded(&mut out, 5, b"\x82\x86", flag::END_HEADERS, Some(p), 4);
    let (f, n) = one(&out).unwrap();
    assert_eq!(n, out.len());
    let Frame::Headers {
        stream,
        block,
        end_stream,
        end_headers,
        priority,
    } = f
    else {
        panic!()
    };
    assert_eq!(stream, 5);
    assert_eq!(&out[block], b"\x82\x86");
    assert!(!end_stream && end_headers);
    assert_eq!(priority, Some(p));

    // PRIORITY flag but only 4 bytes: too short for its fields.
    let f = raw(4, kind::HEADERS, flag::PRIORITY, 1, &[0, 0, 0, 0]);
    assert_eq!(conn_code(one(&f)), ErrorCode::FRAME_SIZE_ERROR);
    // Padding reaching into the priority fields.
    let f = raw(
        7,
        kind::HEADERS,
        flag::PADDED | flag::PRIORITY,
        1,
        &[2, 0, 0, 0, 0, 16, 0],
    );
    assert_eq!(conn_code(one(&f)), ErrorCode::PROTOCOL_ERROR);
    let f = raw(1, kind::HEADERS, 0, 0, &[0x82]);
    assert_eq!(conn_code(one(&f)), ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn headers_split_into_continuations_by_the_peers_frame_size() {
    let block: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
    let mut out = Vec::new();
    write_headers(&mut out, 7, &block, true, BIG);
    let mut at = 0;
    let mut got = Vec::new();
    let mut kinds = Vec::new();
    while at < out.len() {
        let (f, n) = one(&out[at..]).unwrap();
        match f {
            Frame::Headers {
                block: b,
                end_stream,
                end_headers,
                ..
            } => {
                assert!(end_stream);
                kinds.push(("H", end_headers));
                got.extend_from_slice(&out[at..][b]);
            }
            Frame::Continuation {
                stream,
                block: b,
                end_headers,
            } => {
                assert_eq!(stream, 7);
                kinds.push(("C", end_headers));
                got.extend_from_slice(&out[at..][b]);
            }
            f => panic!("{f:?}"),
        }
        at += n;
    }
    assert_eq!(got, block);
    assert_eq!(kinds, [("H", false), ("C", false), ("C", true)]);
    // An empty block is one HEADERS with END_HEADERS.
    let mut out = Vec::new();
    write_headers(&mut out, 1, &[], false, BIG);
    assert_eq!(out, raw(0, kind::HEADERS, flag::END_HEADERS, 1, &[]));
}

#[test]
fn priority_frame() {
    let p = Priority {
        exclusive: false,
        depends_on: 0,
        weight: 15,
    };
    let mut out = Vec::new();
    write_priority(&mut out, 9, p);
    assert_eq!(
        one(&out),
        Ok((
            Frame::Priority {
                stream: 9,
                priority: p
            },
            14
        ))
    );
    // Wrong length: a stream error (§6.3), with the length to skip.
    let f = raw(4, kind::PRIORITY, 0, 9, &[0; 4]);
    assert_eq!(
        one(&f),
        Err(FrameError::Stream {
            stream: 9,
            code: ErrorCode::FRAME_SIZE_ERROR,
            reason: "PRIORITY frame not 5 bytes long",
            frame_len: 13
        })
    );
    let f = raw(5, kind::PRIORITY, 0, 0, &[0; 5]);
    assert_eq!(conn_code(one(&f)), ErrorCode::PROTOCOL_ERROR);
}

#[test]
fn rst_stream_ping_goaway_window_update() {
    let mut out = Vec::new();
    write_rst_stream(&mut out, 3, ErrorCode::CANCEL);
    assert_eq!(
        one(&out),
        Ok((
            Frame::RstStream {
                stream: 3,
                code: ErrorCode::CANCEL
            },
            13
        ))
    );
    assert_eq!(
        conn_code(one(&raw(3, kind::RST_STREAM, 0, 3, &[0; 3]))),
        ErrorCode::FRAME_SIZE_ERROR
    );
    assert_eq!(
        conn_code(one(&raw(4, kind::RST_STREAM, 0, 0, &[0; 4]))),
        ErrorCode::PROTOCOL_ERROR
    );

    let mut out = Vec::new();
    write_ping(&mut out, true, *b"12345678");
    assert_eq!(
        one(&out),
        Ok((
            Frame::Ping {
                ack: true,
                data: *b"12345678"
            },
            17
        ))
    );
    assert_eq!(
        conn_code(one(&raw(7, kind::PING, 0, 0, &[0; 7]))),
        ErrorCode::FRAME_SIZE_ERROR
    );
    assert_eq!(
        conn_code(one(&raw(8, kind::PING, 0, 1, &[0; 8]))),
        ErrorCode::PROTOCOL_ERROR
    );

    let mut out = Vec::new();
    write_goaway(&mut out, 0xffff_ffff, ErrorCode(0x77), b"bye");
    let (f, _) = one(&out).unwrap();
    let Frame::GoAway {
        last_stream,
        code,
        debug,
    } = f
    else {
        panic!()
    };
    assert_eq!(
        (last_stream, code, &out[debug]),
        (0x7fff_ffff, ErrorCode(0x77), &b"bye"[..])
    );
    assert_eq!(code.to_string(), "error code 0x77");
    assert_eq!(
        conn_code(one(&raw(7, kind::GOAWAY, 0, 0, &[0; 7]))),
        ErrorCode::FRAME_SIZE_ERROR
    );

    let mut out = Vec::new();
    write_window_update(&mut out, 0, MAX_WINDOW);
    assert_eq!(
        one(&out),
        Ok((
            Frame::WindowUpdate {
                stream: 0,
                increment: MAX_WINDOW
            },
            13
        ))
    );
    // Increment 0: connection error on stream 0, stream error elsewhere (§6.9).
    assert_eq!(
        conn_code(one(&raw(4, kind::WINDOW_UPDATE, 0, 0, &[0; 4]))),
        ErrorCode::PROTOCOL_ERROR
    );
    assert!(matches!(
        one(&raw(4, kind::WINDOW_UPDATE, 0, 5, &[0x80, 0, 0, 0])),
        Err(FrameError::Stream {
            stream: 5,
            code: ErrorCode::PROTOCOL_ERROR,
            frame_len: 13,
            ..
        })
    ));
    assert_eq!(
        conn_code(one(&raw(5, kind::WINDOW_UPDATE, 0, 5, &[0; 5]))),
        ErrorCode::FRAME_SIZE_ERROR
    );
}

#[test]
fn settings_values_and_their_limits() {
    let ours = Settings {
        header_table_size: 0,
        enable_push: false,
        max_concurrent_streams: Some(100),
        initial_window_size: MAX_WINDOW,
        max_frame_size: MAX_MAX_FRAME_SIZE,
        max_header_list_size: Some(8192),
        enable_connect_protocol: true,
    };
    let mut out = Vec::new();
    ours.write(&mut out);
    let (f, _) = one(&out).unwrap();
    let Frame::Settings { ack, params } = f else {
        panic!()
    };
    assert!(!ack);
    let mut theirs = Settings::default();
    for (id, v) in settings(&out, params) {
        theirs.apply(id, v);
    }
    assert_eq!(theirs, ours);
    // The defaults write an empty SETTINGS frame.
    let mut out = Vec::new();
    Settings::default().write(&mut out);
    assert_eq!(out, raw(0, kind::SETTINGS, 0, 0, &[]));

    let bad = |id: u16, v: u32| {
        let mut out = Vec::new();
        write_settings(&mut out, &[(id, v)]);
        one(&out).err().map(|e| e.code())
    };
    assert_eq!(
        bad(setting::ENABLE_PUSH, 2),
        Some(ErrorCode::PROTOCOL_ERROR)
    );
    assert_eq!(bad(setting::ENABLE_PUSH, 1), None);
    assert_eq!(
        bad(setting::INITIAL_WINDOW_SIZE, MAX_WINDOW + 1),
        Some(ErrorCode::FLOW_CONTROL_ERROR)
    );
    assert_eq!(
        bad(setting::MAX_FRAME_SIZE, MIN_MAX_FRAME_SIZE - 1),
        Some(ErrorCode::PROTOCOL_ERROR)
    );
    assert_eq!(
        bad(setting::MAX_FRAME_SIZE, MAX_MAX_FRAME_SIZE + 1),
        Some(ErrorCode::PROTOCOL_ERROR)
    );
    assert_eq!(
        bad(setting::ENABLE_CONNECT_PROTOCOL, 7),
        Some(ErrorCode::PROTOCOL_ERROR)
    );
    // Unknown identifiers are accepted and ignored.
    assert_eq!(bad(0xabcd, 0xffff_ffff), None);
    let mut s = Settings::default();
    s.apply(0xabcd, 1);
    assert_eq!(s, Settings::default());

    let mut out = Vec::new();
    write_settings_ack(&mut out);
    assert!(matches!(
        one(&out),
        Ok((Frame::Settings { ack: true, .. }, 9))
    ));
    assert_eq!(
        conn_code(one(&raw(6, kind::SETTINGS, flag::ACK, 0, &[0; 6]))),
        ErrorCode::FRAME_SIZE_ERROR
    );
    assert_eq!(
        conn_code(one(&raw(5, kind::SETTINGS, 0, 0, &[0; 5]))),
        ErrorCode::FRAME_SIZE_ERROR
    );
    assert_eq!(
        conn_code(one(&raw(0, kind::SETTINGS, 0, 1, &[]))),
        ErrorCode::PROTOCOL_ERROR
    );
}

#[test]
fn push_promise_continuation_and_unknown_types() {
    let mut out = Vec::new();
    write_push_promise(&mut out, 1, 2, b"\x82", true);
    assert_eq!(
        one(&out),
        Ok((
            Frame::PushPromise {
                stream: 1,
                promised: 2,
                block: 13..14,
                end_headers: true
            },
            14
        ))
    );
    assert_eq!(
        conn_code(one(&raw(3, kind::PUSH_PROMISE, 0, 1, &[0; 3]))),
        ErrorCode::FRAME_SIZE_ERROR
    );

    let mut out = Vec::new();
    write_continuation(&mut out, 1, b"abc", false);
    assert_eq!(
        one(&out),
        Ok((
            Frame::Continuation {
                stream: 1,
                block: 9..12,
                end_headers: false
            },
            12
        ))
    );
    assert_eq!(
        conn_code(one(&raw(0, kind::CONTINUATION, 0, 0, &[]))),
        ErrorCode::PROTOCOL_ERROR
    );

    // An unknown type with odd flags and any payload: returned to be ignored.
    let f = raw(3, 0xfa, 0xff, 0, b"xyz");
    assert_eq!(
        one(&f),
        Ok((
            Frame::Unknown {
                kind: 0xfa,
                stream: 0
            },
            12
        ))
    );
}

#[test]
fn error_codes_have_the_rfc_names() {
    assert_eq!(ErrorCode::NO_ERROR.to_string(), "NO_ERROR");
    assert_eq!(
        ErrorCode::HTTP_1_1_REQUIRED.to_string(),
        "HTTP_1_1_REQUIRED"
    );
    assert_eq!(ErrorCode(0xe).name(), None);
    assert_eq!(ErrorCode::ENHANCE_YOUR_CALM.0, 0xb);
    assert_eq!(PREFACE.len(), 24);
}

/// A small deterministic generator (xorshift64*), so the test is the same on
/// every run and needs no crate.
pub(crate) struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[test]
fn random_input_never_panics() {
    // Half the inputs start from a valid header of a random known type with a
    // short length, so payload checks run, not only the length check.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..200_000 {
        let n = rng.below(40) as usize;
        let mut buf: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        if rng.below(2) == 0 && buf.len() >= 9 {
            let len = (buf.len() - 9) as u32 - rng.below(2) as u32 * (buf.len() > 9) as u32;
            let l = len.to_be_bytes();
            buf[..3].copy_from_slice(&l[1..]);
            buf[3] = rng.below(11) as u8;
        }
        let max = [BIG, 20, 0][rng.below(3) as usize];
        match parse(&buf, max) {
            Ok(Parsed::Frame { frame, len }) => {
                assert!(len <= buf.len());
                let ranges = match &frame {
                    Frame::Data { data, .. } => vec![data.clone()],
                    Frame::Headers { block, .. }
                    | Frame::PushPromise { block, .. }
                    | Frame::Continuation { block, .. } => vec![block.clone()],
                    Frame::Settings { params, .. } => vec![params.clone()],
                    Frame::GoAway { debug, .. } => vec![debug.clone()],
                    _ => vec![],
                };
                for r in ranges {
                    assert!(r.start >= HEADER_LEN && r.start <= r.end && r.end <= len);
                }
                if let Frame::Settings { params, .. } = frame {
                    assert!(settings(&buf, params).count() <= len / 6);
                }
            }
            Ok(Parsed::Incomplete { need }) => assert!(need > buf.len()),
            Err(_) => {}
        }
    }
}
