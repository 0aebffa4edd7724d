//! The HTTP/2 server connection state machine (`codec::h2::conn`) fed a
//! client's bytes in pieces, with the application answering as it goes.
//!
//! Input layout: byte 0 picks the limits (bits 0-1: max concurrent streams
//! 1..=4; bit 2: stream window 100 instead of 65535; bit 3: header-list
//! bound 200 instead of 64 KiB; bit 4: no preface prepended); byte 1 is the
//! piece size (1 + byte); the rest is what the client sends after the
//! preface.
//!
//! Checks beyond "does not panic": `receive` uses at most what it was given;
//! the streams open never pass the limit; everything the server writes
//! parses as frames of at most the client's frame size, and its header
//! blocks decode, in order, with one HPACK decoder (so the encoder and the
//! client's view of its table stay in step); after a connection error the
//! last frame written is GOAWAY.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slotgate::codec::h2::conn::{Conn, Event, Limits};
use slotgate::codec::h2::frame::{self, ErrorCode, Frame, Parsed, PREFACE};
use slotgate::codec::h2::hpack::{Decoder, Field, HeaderList};

/// Reads what the server wrote; returns the last frame's kind.
fn drain(c: &mut Conn, reader: &mut Decoder) -> Option<u8> {
    let out = c.output().to_vec();
    c.output_written(out.len());
    let mut at = 0;
    let mut last = None;
    let mut list = HeaderList::default();
    while at < out.len() {
        let max = c.peer_settings().max_frame_size;
        let Ok(Parsed::Frame { frame: f, len }) = frame::parse(&out[at..], max) else {
            panic!("the server wrote a bad frame at {at}");
        };
        if let Frame::Headers { block, .. } = &f {
            reader
                .decode(&out[at..][block.clone()], &mut list)
                .expect("the server's header block decodes");
        }
        last = Some(out[at + 3]);
        at += len;
    }
    last
}

fuzz_target!(|input: &[u8]| {
    if input.len() < 2 {
        return;
    }
    let limits = Limits {
        max_concurrent_streams: 1 + (input[0] & 3) as u32,
        stream_window: if input[0] & 4 != 0 { 100 } else { 65_535 },
        max_header_list_size: if input[0] & 8 != 0 { 200 } else { 65_536 },
        max_reset_score: 10,
        max_empty_frames: 20,
        max_queued_control: 50,
        ..Limits::default()
    };
    let piece = 1 + input[1] as usize;
    let mut wire = Vec::new();
    if input[0] & 16 == 0 {
        wire.extend_from_slice(PREFACE);
    }
    wire.extend_from_slice(&input[2..]);

    let mut c = Conn::new(limits);
    let mut reader = Decoder::new(4096, 1 << 24);
    drain(&mut c, &mut reader);
    let mut buf = Vec::new();
    let body = vec![b'b'; 40_000];
    for chunk in wire.chunks(piece) {
        buf.extend_from_slice(chunk);
        let mut events = Vec::new();
        let r = c.receive(&buf, &mut events);
        assert!(c.active_streams() <= limits.max_concurrent_streams as usize);
        for e in events {
            match e {
                Event::Request { stream, end_stream, .. } => {
                    // By id: answered at once, reset, or left waiting.
                    match stream % 3 {
                        0 => c.send_headers(stream, [Field::new(b":status", b"200")], end_stream),
                        1 => c.reset(stream, ErrorCode::CANCEL),
                        _ => {}
                    }
                }
                Event::RequestTooLarge { stream, .. } => {
                    c.send_headers(stream, [Field::new(b":status", b"431")], true)
                }
                Event::Data { stream, data, end_stream } => {
                    c.release(stream, data.len());
                    if end_stream {
                        c.send_headers(stream, [Field::new(b":status", b"200")], false);
                        c.send_data(stream, &body[..(data.len() * 10).min(body.len())], true);
                    }
                }
                _ => {}
            }
        }
        match r {
            Ok(used) => {
                assert!(used <= buf.len());
                buf.drain(..used);
                drain(&mut c, &mut reader);
            }
            Err(_) => {
                assert_eq!(drain(&mut c, &mut reader), Some(frame::kind::GOAWAY));
                return;
            }
        }
    }
});
