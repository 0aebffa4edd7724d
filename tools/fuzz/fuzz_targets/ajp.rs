//! The AJP member decoder (`codec::ajp`) over whatever a member sends, through
//! the driver the deterministic test uses (`tests/common/ajp_drive.rs`, included
//! by path), which checks every step (no panic, bounded calls, used ≤ given,
//! body ranges inside what was used, one head, nothing after the end, a
//! Content-Length kept, `eof` refusing an unfinished answer).
//!
//! Input layout: byte 0 picks the request (low two bits: GET, HEAD, POST of a
//! known length, chunked POST; the length is 100 × byte 1 for the POSTs), the
//! packet size (bit 2: 65536, else 8192) and how many piece-size bytes follow
//! (bits 3-4: 0..=3; each is `1 + b`). The rest is what the member sends.
//! GET and HEAD must give the same outcome whole and in pieces (a request
//! body makes the answer depend on when the client's bytes arrive).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../../tests/common/ajp_drive.rs"]
mod ajp_drive;

use ajp_drive::{drive, Ask};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (len, rest) = match rest.split_first() {
        Some((&b, r)) if mode & 2 != 0 => (usize::from(b) * 100, r),
        _ => (0, rest),
    };
    let ask = match mode & 3 {
        0 => Ask::Get,
        1 => Ask::Head,
        2 => Ask::Post(len.max(1)),
        _ => Ask::Chunked(len),
    };
    let packet = if mode & 4 != 0 { 65536 } else { 8192 };
    let n = usize::from((mode >> 3) & 3).min(rest.len());
    let (sizes, input) = rest.split_at(n);
    let pieces: Vec<usize> = sizes.iter().map(|&b| 1 + usize::from(b)).collect();
    let whole = drive(ask, packet, input, &[]);
    let split = drive(ask, packet, input, &pieces);
    if matches!(ask, Ask::Get | Ask::Head) {
        assert_eq!(whole.error, split.error, "whole vs pieces {pieces:?}");
        if whole.error.is_none() {
            assert_eq!(whole, split, "whole vs pieces {pieces:?}");
        }
    }
});
