//! Deterministic test data: a xorshift byte stream seeded by its length, so an
//! origin can serve `/bytes/N` and a test can compute the expected SHA-256 of N
//! bytes without ever holding them all.

use sha2::{Digest, Sha256};
use std::io::{self, Read};

/// The byte stream behind `/bytes/N`, `/chunked/N` and `/close/N`: `len` bytes
/// of xorshift64 output, seeded by `len`.
pub struct Pattern {
    state: u64,
    word: [u8; 8],
    used: usize,
    remaining: u64,
}

impl Pattern {
    pub fn new(len: u64) -> Pattern {
        let seed = len.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03;
        Pattern {
            state: if seed == 0 { 1 } else { seed },
            word: [0; 8],
            used: 8,
            remaining: len,
        }
    }

    pub fn remaining(&self) -> u64 {
        self.remaining
    }

    fn next_word(&mut self) {
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        self.word = x.to_le_bytes();
        self.used = 0;
    }
}

impl Read for Pattern {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = out
            .len()
            .min(self.remaining.min(usize::MAX as u64) as usize);
        for byte in &mut out[..n] {
            if self.used == 8 {
                self.next_word();
            }
            *byte = self.word[self.used];
            self.used += 1;
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// The first `n` bytes of the pattern for length `n`, in memory.
pub fn pattern(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n);
    Pattern::new(n as u64)
        .read_to_end(&mut out)
        .expect("reading a pattern cannot fail");
    out
}

/// SHA-256 (lower-case hex) of `pattern(n)`, computed as a stream.
pub fn pattern_sha256(n: u64) -> String {
    let mut source = Pattern::new(n);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let got = source
            .read(&mut buf)
            .expect("reading a pattern cannot fail");
        if got == 0 {
            break;
        }
        hasher.update(&buf[..got]);
    }
    hex(&hasher.finalize())
}

/// SHA-256 (lower-case hex) of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// Encodes `body` as a chunked message body with chunks cycling through `sizes`
/// (each at least 1), followed by the last chunk and the final CRLF.
pub fn chunk_encode(body: &[u8], sizes: &[usize]) -> Vec<u8> {
    assert!(!sizes.is_empty() && sizes.iter().all(|&s| s > 0));
    let mut out = Vec::with_capacity(body.len() + body.len() / 8 + 16);
    let mut rest = body;
    let mut i = 0;
    while !rest.is_empty() {
        let n = sizes[i % sizes.len()].min(rest.len());
        out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        out.extend_from_slice(&rest[..n]);
        out.extend_from_slice(b"\r\n");
        rest = &rest[n..];
        i += 1;
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}
