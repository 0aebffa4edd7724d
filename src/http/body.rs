//! Body framing: walking a body through whatever bytes have arrived, without
//! holding it, and writing chunked framing for the other side.

use std::ops::Range;

/// How a message body is delimited (RFC 9112 §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body at all.
    None,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Everything until the connection closes (responses only).
    Close,
}

/// Longest chunk-size line accepted, extensions included (a defence against
/// chunk-extension abuse: the line is skipped, never stored).
const MAX_CHUNK_LINE: usize = 4096;
/// Largest total trailer section accepted.
const MAX_TRAILERS: usize = 16 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    /// Reading hex digits of the size; `digits` so far.
    Size {
        size: u64,
        digits: u8,
        line: usize,
    },
    /// After the digits, optional whitespace (BWS) before `;` or the CR.
    SizeWs {
        size: u64,
        line: usize,
    },
    /// After `;`: extensions up to CR.
    Ext {
        size: u64,
        line: usize,
    },
    /// CR seen, LF expected; then data of `size` bytes (0: trailers).
    SizeLf {
        size: u64,
    },
    Data {
        left: u64,
    },
    DataCr,
    DataLf,
    /// Inside the trailer section: a field line is a token name, `:`, a value.
    /// `name` counts name bytes so far; `colon` once it is seen.
    Trailer {
        name: usize,
        colon: bool,
        total: usize,
    },
    TrailerLf {
        empty_line: bool,
        total: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Length(u64),
    Chunked(Chunk),
    Close,
    Done,
}

/// Why a body could not be walked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyError {
    BadChunkSize,
    ChunkLineTooLong,
    MissingCrlf,
    TrailersTooLarge,
    /// A trailer line that is not `name: value`.
    BadTrailer,
    /// The connection ended before the framing said the body was complete.
    Truncated,
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BodyError::BadChunkSize => "invalid chunk size",
            BodyError::ChunkLineTooLong => "chunk-size line too long",
            BodyError::MissingCrlf => "chunk not terminated by CRLF",
            BodyError::TrailersTooLarge => "trailer section too large",
            BodyError::BadTrailer => "malformed trailer field",
            BodyError::Truncated => "body ended early",
        })
    }
}

/// Walks one body. The caller hands it the bytes it has; it answers how many it
/// used and which of them are payload.
#[derive(Clone, Debug)]
pub struct BodyReader {
    state: State,
}

impl BodyReader {
    pub fn new(framing: Framing) -> Self {
        let state = match framing {
            Framing::None | Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::Chunked(Chunk::Size {
                size: 0,
                digits: 0,
                line: 0,
            }),
            Framing::Close => State::Close,
        };
        BodyReader { state }
    }

    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Bytes of payload still expected, when the framing says (Content-Length).
    pub fn remaining(&self) -> Option<u64> {
        match self.state {
            State::Length(n) => Some(n),
            State::Done => Some(0),
            _ => None,
        }
    }

    /// Consumes framing at the start of `input` and returns `(used, payload)`: the
    /// number of bytes of `input` used, and the range of them that is payload (always
    /// the tail of the used part). `used == 0` means more input is needed (or done).
    pub fn step(&mut self, input: &[u8]) -> Result<(usize, Range<usize>), BodyError> {
        match self.state {
            State::Done => Ok((0, 0..0)),
            State::Close => Ok((input.len(), 0..input.len())),
            State::Length(left) => {
                let n = left.min(input.len() as u64) as usize;
                self.state = if left == n as u64 {
                    State::Done
                } else {
                    State::Length(left - n as u64)
                };
                Ok((n, 0..n))
            }
            State::Chunked(_) => self.step_chunked(input),
        }
    }

    /// The connection delivering the body closed: fine for close-delimited bodies.
    pub fn finish_on_eof(&mut self) -> Result<(), BodyError> {
        match self.state {
            State::Close | State::Done => {
                self.state = State::Done;
                Ok(())
            }
            _ => Err(BodyError::Truncated),
        }
    }

    fn step_chunked(&mut self, input: &[u8]) -> Result<(usize, Range<usize>), BodyError> {
        let mut i = 0;
        while i < input.len() {
            let State::Chunked(chunk) = self.state else {
                break;
            };
            if let Chunk::Data { left } = chunk {
                let n = left.min((input.len() - i) as u64) as usize;
                let next = if left == n as u64 {
                    Chunk::DataCr
                } else {
                    Chunk::Data {
                        left: left - n as u64,
                    }
                };
                self.state = State::Chunked(next);
                return Ok((i + n, i..i + n));
            }
            self.state = advance(chunk, input[i])?;
            i += 1;
        }
        Ok((i, i..i))
    }
}

/// One byte of chunk framing (everything except payload).
fn advance(chunk: Chunk, b: u8) -> Result<State, BodyError> {
    let next = match chunk {
        Chunk::Size { size, digits, line } => match hex(b) {
            Some(d) => {
                if digits >= 15 {
                    return Err(BodyError::BadChunkSize);
                }
                Chunk::Size {
                    size: size * 16 + d,
                    digits: digits + 1,
                    line: line + 1,
                }
            }
            None if digits == 0 => return Err(BodyError::BadChunkSize),
            None => return after_size(size, line, b),
        },
        Chunk::SizeWs { size, line } => return after_size(size, line, b),
        Chunk::Ext { size, line } => return ext_byte(size, line, b),
        Chunk::SizeLf { size } => {
            if b != b'\n' {
                return Err(BodyError::MissingCrlf);
            }
            if size == 0 {
                Chunk::Trailer {
                    name: 0,
                    colon: false,
                    total: 0,
                }
            } else {
                Chunk::Data { left: size }
            }
        }
        Chunk::Data { .. } => unreachable!("payload is handled by the caller"),
        Chunk::DataCr if b == b'\r' => Chunk::DataLf,
        Chunk::DataLf if b == b'\n' => Chunk::Size {
            size: 0,
            digits: 0,
            line: 0,
        },
        Chunk::DataCr | Chunk::DataLf => return Err(BodyError::MissingCrlf),
        Chunk::Trailer { name, colon, total } => {
            if total >= MAX_TRAILERS {
                return Err(BodyError::TrailersTooLarge);
            }
            let total = total + 1;
            match (colon, b) {
                (_, b'\n') => return Err(BodyError::MissingCrlf),
                (false, b'\r') if name == 0 => Chunk::TrailerLf {
                    empty_line: true,
                    total,
                },
                (false, b':') if name > 0 => Chunk::Trailer {
                    name,
                    colon: true,
                    total,
                },
                (false, c) if is_tchar(c) => Chunk::Trailer {
                    name: name + 1,
                    colon,
                    total,
                },
                (false, _) => return Err(BodyError::BadTrailer),
                (true, b'\r') => Chunk::TrailerLf {
                    empty_line: false,
                    total,
                },
                (true, 0) => return Err(BodyError::BadTrailer),
                (true, _) => Chunk::Trailer { name, colon, total },
            }
        }
        Chunk::TrailerLf { empty_line, total } => {
            if b != b'\n' {
                return Err(BodyError::MissingCrlf);
            }
            if empty_line {
                return Ok(State::Done);
            }
            Chunk::Trailer {
                name: 0,
                colon: false,
                total,
            }
        }
    };
    Ok(State::Chunked(next))
}

/// A byte after the size digits: whitespace, `;` starting an extension, or the CR
/// (RFC 9112 §7.1.1; `0x5` or `5 5` are refused, not read as 0 or 5).
fn after_size(size: u64, line: usize, b: u8) -> Result<State, BodyError> {
    if line >= MAX_CHUNK_LINE {
        return Err(BodyError::ChunkLineTooLong);
    }
    let next = match b {
        b' ' | b'\t' => Chunk::SizeWs {
            size,
            line: line + 1,
        },
        b';' => Chunk::Ext {
            size,
            line: line + 1,
        },
        b'\r' => Chunk::SizeLf { size },
        b'\n' => return Err(BodyError::MissingCrlf),
        _ => return Err(BodyError::BadChunkSize),
    };
    Ok(State::Chunked(next))
}

/// RFC 9110 token characters.
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// A byte after the size digits: an extension (skipped, bounded) or the CR.
fn ext_byte(size: u64, line: usize, b: u8) -> Result<State, BodyError> {
    if line >= MAX_CHUNK_LINE {
        return Err(BodyError::ChunkLineTooLong);
    }
    let next = match b {
        b'\r' => Chunk::SizeLf { size },
        b'\n' | 0 => return Err(BodyError::MissingCrlf),
        _ => Chunk::Ext {
            size,
            line: line + 1,
        },
    };
    Ok(State::Chunked(next))
}

fn hex(b: u8) -> Option<u64> {
    (b as char).to_digit(16).map(u64::from)
}

/// Writes chunked framing for payload of known pieces.
pub struct ChunkEncoder;

impl ChunkEncoder {
    /// The final chunk with an empty trailer section.
    pub const LAST: &'static [u8] = b"0\r\n\r\n";

    /// The size line `{len:x}\r\n`, built in `buf` (no allocation).
    pub fn head(buf: &mut [u8; 18], len: usize) -> &[u8] {
        let mut n = len;
        let mut i = buf.len() - 2;
        buf[i..].copy_from_slice(b"\r\n");
        loop {
            i -= 1;
            buf[i] = b"0123456789abcdef"[n & 0xf];
            n >>= 4;
            if n == 0 {
                break;
            }
        }
        &buf[i..]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `piece` bytes and collects the payload.
    fn decode(input: &[u8], piece: usize) -> Result<(Vec<u8>, bool, usize), BodyError> {
        let mut r = BodyReader::new(Framing::Chunked);
        let mut out = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut fed = 0;
        let mut used_total = 0;
        while !r.is_done() && fed < input.len() {
            let end = (fed + piece).min(input.len());
            buf.extend_from_slice(&input[fed..end]);
            fed = end;
            loop {
                let (used, data) = r.step(&buf)?;
                out.extend_from_slice(&buf[data]);
                buf.drain(..used);
                used_total += used;
                if used == 0 || r.is_done() {
                    break;
                }
            }
        }
        Ok((out, r.is_done(), used_total))
    }

    #[test]
    fn chunked_bodies_decode_whatever_the_split() {
        let wire = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\nNEXT";
        for piece in [1, 2, 3, 7, 100] {
            let (out, done, used) = decode(wire, piece).unwrap();
            assert_eq!(out, b"hello world", "piece {piece}");
            assert!(done);
            assert_eq!(used, wire.len() - 4, "stops before the next message");
        }
    }

    #[test]
    fn chunked_errors_table() {
        let cases: &[(&[u8], BodyError)] = &[
            (b"x\r\n", BodyError::BadChunkSize),
            (b"\r\n", BodyError::BadChunkSize),
            (b"10000000000000000\r\n", BodyError::BadChunkSize),
            (b"5\nhello\r\n", BodyError::MissingCrlf),
            (b"5\r\nhelloXX", BodyError::MissingCrlf),
            (b"0\r\nbad\n\r\n", BodyError::MissingCrlf),
            (b"0x5\r\nhello\r\n0\r\n\r\n", BodyError::BadChunkSize),
            (b"5 5\r\nhello\r\n", BodyError::BadChunkSize),
            (b"0\r\nno colon here\r\n\r\n", BodyError::BadTrailer),
            (b"0\r\n: empty name\r\n\r\n", BodyError::BadTrailer),
            (b"0\r\n folded\r\n\r\n", BodyError::BadTrailer),
        ];
        for (wire, want) in cases {
            assert_eq!(
                decode(wire, 100).unwrap_err(),
                *want,
                "{:?}",
                String::from_utf8_lossy(wire)
            );
        }
        let long_ext = format!("5;{}\r\n", "a".repeat(5000));
        assert_eq!(
            decode(long_ext.as_bytes(), 100).unwrap_err(),
            BodyError::ChunkLineTooLong
        );
    }

    #[test]
    fn length_and_close_framing() {
        let mut r = BodyReader::new(Framing::Length(5));
        assert_eq!(r.step(b"abc").unwrap(), (3, 0..3));
        assert_eq!(r.remaining(), Some(2));
        assert_eq!(r.step(b"defgh").unwrap(), (2, 0..2));
        assert!(r.is_done());
        assert_eq!(r.finish_on_eof(), Ok(()));

        let mut r = BodyReader::new(Framing::Length(5));
        r.step(b"ab").unwrap();
        assert_eq!(r.finish_on_eof(), Err(BodyError::Truncated));

        let mut r = BodyReader::new(Framing::Close);
        assert_eq!(r.step(b"abc").unwrap(), (3, 0..3));
        assert!(!r.is_done());
        r.finish_on_eof().unwrap();
        assert!(r.is_done());
    }
}
