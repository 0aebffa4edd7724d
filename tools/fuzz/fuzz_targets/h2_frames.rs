//! The HTTP/2 frame parser and the HPACK decoder, over a stream of frames.
//!
//! Input layout: byte 0 picks SETTINGS_MAX_FRAME_SIZE (high bit: 2^24-1, else
//! 16384) and whether the stream starts with the client preface (bit 6);
//! byte 1 × 16 is the HPACK table size; (byte 2 + 1) × 64 the header-list
//! bound. The rest is parsed frame after frame, as a connection would.
//!
//! Checks beyond "does not panic":
//! - a frame uses at most the input, its ranges lie inside it, and a frame
//!   parses the same with more bytes after it;
//! - every shorter cut of a frame is `Incomplete` (or the same size error,
//!   found from the header), never a different answer;
//! - each frame written back with `frame::write_*` parses to the same frame;
//! - field blocks (HEADERS/PUSH_PROMISE + CONTINUATION, gathered up to
//!   64 KiB) decode to a list within the bound, with a table within its size;
//!   a list decoded whole re-encodes with `Encoder` and decodes back the same
//!   through a second decoder that follows it block after block.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slotgate::codec::h2::frame::{self, Frame, FrameError, Parsed, PREFACE};
use slotgate::codec::h2::hpack::{DecodeError, Decoder, Encoder, Field, HeaderList};

const MAX_BLOCK: usize = 64 * 1024;

fn ranges(f: &Frame) -> Vec<std::ops::Range<usize>> {
    match f {
        Frame::Data { data, .. } => vec![data.clone()],
        Frame::Headers { block, .. }
        | Frame::PushPromise { block, .. }
        | Frame::Continuation { block, .. } => vec![block.clone()],
        Frame::Settings { params, .. } => vec![params.clone()],
        Frame::GoAway { debug, .. } => vec![debug.clone()],
        _ => vec![],
    }
}

/// The frame written back by the writers, when there is one for it.
fn rewrite(f: &Frame, buf: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match f {
        Frame::Data {
            stream,
            data,
            end_stream,
            ..
        } => frame::write_data(&mut out, *stream, &buf[data.clone()], *end_stream),
        Frame::Priority { stream, priority } => frame::write_priority(&mut out, *stream, *priority),
        Frame::RstStream { stream, code } => frame::write_rst_stream(&mut out, *stream, *code),
        Frame::Settings { ack: true, .. } => frame::write_settings_ack(&mut out),
        Frame::Settings { ack: false, params } => {
            let p: Vec<(u16, u32)> = frame::settings(buf, params.clone()).collect();
            frame::write_settings(&mut out, &p);
        }
        Frame::Ping { ack, data } => frame::write_ping(&mut out, *ack, *data),
        Frame::GoAway {
            last_stream,
            code,
            debug,
        } if debug.len() <= 16_000 => {
            frame::write_goaway(&mut out, *last_stream, *code, &buf[debug.clone()])
        }
        Frame::WindowUpdate { stream, increment } => {
            frame::write_window_update(&mut out, *stream, *increment)
        }
        Frame::Continuation {
            stream,
            block,
            end_headers,
        } => frame::write_continuation(&mut out, *stream, &buf[block.clone()], *end_headers),
        _ => return None,
    }
    Some(out)
}

/// The same frame, comparing payload bytes instead of positions.
fn same(a: &Frame, abuf: &[u8], b: &Frame, bbuf: &[u8]) -> bool {
    let ra = ranges(a);
    let rb = ranges(b);
    let bytes_equal = ra.len() == rb.len()
        && ra
            .iter()
            .zip(&rb)
            .all(|(x, y)| abuf[x.clone()] == bbuf[y.clone()]);
    let strip = |f: &Frame| match f.clone() {
        Frame::Data {
            stream, end_stream, ..
        } => Frame::Data {
            stream,
            end_stream,
            data: 0..0,
            flow_len: 0,
        },
        Frame::Continuation {
            stream,
            end_headers,
            ..
        } => Frame::Continuation {
            stream,
            end_headers,
            block: 0..0,
        },
        Frame::Settings { ack, .. } => Frame::Settings { ack, params: 0..0 },
        Frame::GoAway {
            last_stream, code, ..
        } => Frame::GoAway {
            last_stream,
            code,
            debug: 0..0,
        },
        other => other,
    };
    bytes_equal && strip(a) == strip(b)
}

struct Hpack {
    decoder: Decoder,
    list: HeaderList,
    limit: usize,
    table: usize,
    /// Re-encodes each whole list; `echo` decodes it back.
    encoder: Encoder,
    echo: Decoder,
    echo_list: HeaderList,
    /// A compression error ends the connection: nothing more is decoded.
    dead: bool,
}

impl Hpack {
    fn block(&mut self, block: &[u8]) {
        if self.dead {
            return;
        }
        let r = self.decoder.decode(block, &mut self.list);
        assert!(self.list.list_size() <= self.limit);
        assert!(self.decoder.table().size() <= self.table);
        match r {
            Ok(()) => {
                let mut out = Vec::new();
                self.encoder.encode(self.list.iter(), &mut out);
                self.echo
                    .decode(&out, &mut self.echo_list)
                    .expect("our own block decodes");
                let a: Vec<Field> = self.list.iter().collect();
                let b: Vec<Field> = self.echo_list.iter().collect();
                assert_eq!(a.len(), b.len());
                for (x, y) in a.iter().zip(&b) {
                    assert_eq!((x.name, x.value), (y.name, y.value));
                    assert!(!x.sensitive || y.sensitive, "never-indexed kept");
                }
            }
            Err(DecodeError::ListTooLarge { .. }) => {}
            Err(DecodeError::Compression(_)) => self.dead = true,
        }
    }
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 3 {
        return;
    }
    let max_frame = if input[0] & 0x80 != 0 {
        frame::MAX_MAX_FRAME_SIZE
    } else {
        frame::MIN_MAX_FRAME_SIZE
    };
    let table = input[1] as usize * 16;
    let limit = (input[2] as usize + 1) * 64;
    let mut wire = Vec::with_capacity(input.len() + PREFACE.len());
    if input[0] & 0x40 != 0 {
        wire.extend_from_slice(PREFACE);
    }
    wire.extend_from_slice(&input[3..]);
    let mut hp = Hpack {
        decoder: Decoder::new(table, limit),
        list: HeaderList::default(),
        limit,
        table,
        encoder: Encoder::new(table),
        echo: Decoder::new(frame::DEFAULT_HEADER_TABLE_SIZE as usize, 1 << 24),
        echo_list: HeaderList::default(),
        dead: false,
    };
    let mut at = if wire.starts_with(PREFACE) { PREFACE.len() } else { 0 };
    let mut block: Option<Vec<u8>> = None;
    let mut steps = 0;
    while at < wire.len() {
        steps += 1;
        assert!(steps <= wire.len(), "each step uses at least one byte");
        let rest = &wire[at..];
        let parsed = frame::parse(rest, max_frame);
        // Cuts of the frame: incomplete, or the same size error.
        let whole = match &parsed {
            Ok(Parsed::Frame { len, .. }) => *len,
            _ => rest.len(),
        };
        for cut in [0, 8, 9, whole.saturating_sub(1)] {
            if cut < whole {
                match frame::parse(&rest[..cut], max_frame) {
                    Ok(Parsed::Incomplete { need }) => assert!(need > cut),
                    Err(e) => assert_eq!(Err(e), parsed.clone().map(|_| ())),
                    Ok(p) => panic!("a cut at {cut} of {whole} parsed: {p:?}"),
                }
            }
        }
        match parsed {
            Ok(Parsed::Incomplete { need }) => {
                assert!(need > rest.len());
                break;
            }
            Err(FrameError::Connection { .. }) => break,
            Err(FrameError::Stream { frame_len, .. }) => {
                assert!(frame_len <= rest.len() && frame_len >= frame::HEADER_LEN);
                at += frame_len;
            }
            Ok(Parsed::Frame { frame: f, len }) => {
                assert!(len >= frame::HEADER_LEN && len <= rest.len());
                for r in ranges(&f) {
                    assert!(r.start >= frame::HEADER_LEN && r.start <= r.end && r.end <= len);
                }
                // The same with more bytes after it.
                let mut longer = rest[..len].to_vec();
                longer.extend_from_slice(b"\0\x01\x02");
                assert_eq!(
                    frame::parse(&longer, max_frame),
                    Ok(Parsed::Frame {
                        frame: f.clone(),
                        len
                    })
                );
                if let Some(again) = rewrite(&f, rest) {
                    match frame::parse(&again, frame::MAX_MAX_FRAME_SIZE) {
                        Ok(Parsed::Frame { frame: g, len: n }) => {
                            assert_eq!(n, again.len());
                            assert!(same(&f, rest, &g, &again), "{f:?} != {g:?}");
                        }
                        other => panic!("{f:?} written back parses as {other:?}"),
                    }
                }
                match &f {
                    Frame::Headers {
                        block: b,
                        end_headers,
                        ..
                    }
                    | Frame::PushPromise {
                        block: b,
                        end_headers,
                        ..
                    } => {
                        let v = rest[b.clone()].to_vec();
                        if *end_headers {
                            hp.block(&v);
                        } else {
                            block = Some(v);
                        }
                    }
                    Frame::Continuation {
                        block: b,
                        end_headers,
                        ..
                    } => {
                        if let Some(mut v) = block.take() {
                            if v.len() + b.len() > MAX_BLOCK {
                                break;
                            }
                            v.extend_from_slice(&rest[b.clone()]);
                            if *end_headers {
                                hp.block(&v);
                            } else {
                                block = Some(v);
                            }
                        }
                    }
                    _ => {}
                }
                at += len;
            }
        }
    }
});
