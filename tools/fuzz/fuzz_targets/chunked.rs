//! `BodyReader` over chunked framing, fed in pieces the fuzzer chooses.
//!
//! Input layout: byte 0 picks the mode (high bit) and how many split bytes follow
//! (low three bits, 1..=8); each split byte is one piece size, used in turn.
//!
//! - Raw mode: the rest is the wire. Fed whole, one byte at a time and in the chosen
//!   pieces, the reader must give the same payload, the same end (done, error kind, or
//!   waiting for more) and use the same number of bytes; every step uses at most the bytes
//!   it was given, its payload is the tail of what it used, and the walk terminates.
//! - Round-trip mode: the rest is payload, cut into chunks written here (hex in either
//!   case, leading zeros, extensions, a trailer) and followed by the next message; the
//!   reader must give back exactly that payload and stop right before the next message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slotgate::http::{BodyReader, Framing};

/// How one walk ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Done,
    /// Ran out of input before the body ended; finish_on_eof must then refuse it.
    Waiting,
    Failed(String),
}

#[derive(Debug, PartialEq, Eq)]
struct Walk {
    payload: Vec<u8>,
    end: End,
    /// Bytes the reader used (up to the error, for a failed walk).
    used: usize,
}

fn piece_size(b: u8) -> usize {
    if b & 0x80 != 0 {
        1 + (b & 0x7f) as usize * 8
    } else {
        1 + (b & 0x0f) as usize
    }
}

/// Feeds `wire` in pieces of `sizes` (cycled), keeping unused bytes as the worker does:
/// `buf[start..]` is what has arrived and not been used.
fn walk(wire: &[u8], sizes: &[usize]) -> Walk {
    let mut reader = BodyReader::new(Framing::Chunked);
    let mut payload = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut start = 0;
    let mut fed = 0;
    let mut used_total = 0;
    let mut steps = 0usize;
    let mut piece = sizes.iter().cycle();
    while !reader.is_done() && fed < wire.len() {
        let end = fed.saturating_add(*piece.next().unwrap()).min(wire.len());
        buf.drain(..start);
        start = 0;
        buf.extend_from_slice(&wire[fed..end]);
        fed = end;
        loop {
            steps += 1;
            // Each step that does not wait uses at least one byte.
            assert!(
                steps <= 2 * wire.len() + 2 * sizes.len() + 8,
                "reader does not terminate"
            );
            let input = &buf[start..];
            let (used, data) = match reader.step(input) {
                Ok(r) => r,
                Err(e) => {
                    return Walk {
                        payload,
                        end: End::Failed(format!("{e:?}")),
                        used: used_total,
                    }
                }
            };
            assert!(used <= input.len(), "used {used} of {}", input.len());
            assert!(
                data.start <= data.end && data.end == used,
                "payload {data:?} used {used}"
            );
            payload.extend_from_slice(&input[data]);
            start += used;
            used_total += used;
            if used == 0 || reader.is_done() {
                break;
            }
        }
    }
    let end = if reader.is_done() {
        assert_eq!(reader.finish_on_eof(), Ok(()));
        End::Done
    } else {
        assert!(
            reader.finish_on_eof().is_err(),
            "unfinished chunked body accepted at EOF"
        );
        End::Waiting
    };
    Walk {
        payload,
        end,
        used: used_total,
    }
}

fn raw(wire: &[u8], sizes: &[usize]) {
    let whole = walk(wire, &[usize::MAX]);
    let bytewise = walk(wire, &[1]);
    assert_eq!(whole.payload, bytewise.payload, "whole vs byte at a time");
    assert_eq!(whole.end, bytewise.end, "whole vs byte at a time");
    let split = walk(wire, sizes);
    assert_eq!(whole.payload, split.payload, "whole vs pieces {sizes:?}");
    assert_eq!(whole.end, split.end, "whole vs pieces {sizes:?}");
    match whole.end {
        // A failed walk counts only the steps before the failing one, which may have
        // started at a different byte depending on the split.
        End::Failed(_) => {}
        // Every byte is framing or payload: nothing is left over while waiting.
        End::Waiting => {
            assert_eq!(whole.used, wire.len());
            assert_eq!(split.used, wire.len());
            assert_eq!(bytewise.used, wire.len());
        }
        End::Done => {
            assert_eq!(whole.used, bytewise.used);
            assert_eq!(whole.used, split.used);
        }
    }
    assert!(whole.used <= wire.len());
    assert!(whole.payload.len() <= wire.len());
}

fn round_trip(body: &[u8], sizes: &[usize]) {
    const NEXT: &[u8] = b"GET /next HTTP/1.1\r\n\r\n";
    let mut wire = Vec::new();
    let mut expected = Vec::new();
    let mut rest = body;
    while let Some((&ctl, after)) = rest.split_first() {
        let len = (1 + (ctl & 0x3f) as usize).min(after.len());
        if len == 0 {
            break;
        }
        let (chunk, after) = after.split_at(len);
        match ctl >> 6 {
            0 => wire.extend_from_slice(format!("{len:x}\r\n").as_bytes()),
            1 => wire.extend_from_slice(format!("{len:X}\r\n").as_bytes()),
            2 => wire.extend_from_slice(format!("{len:08x}\r\n").as_bytes()),
            _ => wire.extend_from_slice(format!("{len:x};name=\"v;1\" ;x\r\n").as_bytes()),
        }
        wire.extend_from_slice(chunk);
        wire.extend_from_slice(b"\r\n");
        expected.extend_from_slice(chunk);
        rest = after;
    }
    wire.extend_from_slice(b"0\r\n");
    if body.len() % 2 == 1 {
        wire.extend_from_slice(b"X-Checksum: 1\r\nX-Other:\r\n");
    }
    wire.extend_from_slice(b"\r\n");
    let body_len = wire.len();
    wire.extend_from_slice(NEXT);
    for s in [sizes, &[1][..], &[usize::MAX][..]] {
        let got = walk(&wire, s);
        assert_eq!(got.end, End::Done, "pieces {s:?}");
        assert_eq!(got.payload, expected, "pieces {s:?}");
        assert_eq!(got.used, body_len, "pieces {s:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let n = 1 + (mode & 0x07) as usize;
    if rest.len() < n {
        return;
    }
    let (split, rest) = rest.split_at(n);
    let sizes: Vec<usize> = split.iter().map(|&b| piece_size(b)).collect();
    if mode & 0x80 == 0 {
        raw(rest, &sizes);
    } else {
        round_trip(rest, &sizes);
    }
});
