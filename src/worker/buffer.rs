//! A byte buffer with a read cursor: bytes arrive at the end (`space` + `fill`,
//! or `extend`) and leave from the front (`data` + `consume`).

use std::cell::RefCell;
use std::io::{self, Read, Write};

/// Size of a small block: what a buffer starts with. Request heads and small
/// responses fit, so a busy connection with small messages holds 4 KiB a side.
const SMALL: usize = 4 * 1024;
/// Size of a big block: a buffer moves to one when a body streams through it.
const BLOCK: usize = 64 * 1024;
/// Most free blocks of each size a worker keeps for reuse (4 MiB each).
const KEEP_SMALL: usize = 1024;
const KEEP_BIG: usize = 64;
/// A read into a buffer with less free room than this moves it to a big block.
const MIN_READ: usize = 1024;

thread_local! {
    /// Free blocks of this worker (a worker is one thread): taking one costs no
    /// allocation and no zero-filling, which a fresh block per request did.
    static FREE_SMALL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    static FREE_BIG: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

fn take_block(size: usize) -> Vec<u8> {
    let list = if size == SMALL {
        &FREE_SMALL
    } else {
        &FREE_BIG
    };
    list.with(|f| f.borrow_mut().pop())
        .unwrap_or_else(|| vec![0; size])
}

fn give_block(v: Vec<u8>) {
    let (list, keep) = match v.len() {
        SMALL => (&FREE_SMALL, KEEP_SMALL),
        BLOCK => (&FREE_BIG, KEEP_BIG),
        _ => return,
    };
    list.with(|f| {
        let mut f = f.borrow_mut();
        if f.len() < keep {
            f.push(v);
        }
    });
}

pub struct Buffer {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes ever appended and consumed (the access log's `%I`, `%O`).
    appended: u64,
    consumed: u64,
}

/// What one read or write attempt did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Io {
    /// This many bytes moved.
    Done(usize),
    /// Fewer bytes moved than there was room (or data) for: the socket is drained
    /// (reads) or full (writes) for now, so the next attempt would only block.
    Short(usize),
    /// The peer closed its side (reads only).
    Eof,
    /// Nothing to do until the next readiness event.
    WouldBlock,
}

impl Buffer {
    /// An empty buffer; `capacity` bytes are allocated on first use.
    pub fn new() -> Self {
        Buffer {
            buf: Vec::new(),
            start: 0,
            end: 0,
            appended: 0,
            consumed: 0,
        }
    }

    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Bytes ever appended to the buffer (taken-back ones aside).
    pub fn appended(&self) -> u64 {
        self.appended
    }

    /// Bytes ever consumed from the front of the buffer.
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    pub fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.len());
        self.consumed += n as u64;
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Makes room for at least `want` more bytes at the end, moving data to the
    /// front or growing the allocation.
    fn reserve(&mut self, want: usize) {
        if self.buf.len() - self.end >= want {
            return;
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < want {
            let need = self.end + want;
            let size = if need <= SMALL {
                SMALL
            } else if need <= BLOCK {
                BLOCK
            } else {
                // Beyond a big block (a large head, a long tunnel burst): grow.
                let new_len = need.next_power_of_two();
                self.buf.resize(new_len, 0);
                return;
            };
            let mut block = take_block(size);
            block[..self.end].copy_from_slice(&self.buf[..self.end]);
            give_block(std::mem::replace(&mut self.buf, block));
        }
    }

    pub fn extend(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        self.buf[self.end..self.end + bytes.len()].copy_from_slice(bytes);
        self.end += bytes.len();
        self.appended += bytes.len() as u64;
    }

    /// Takes back the last `n` bytes appended (a response head that may not
    /// go out after all).
    pub fn unextend(&mut self, n: usize) {
        debug_assert!(n <= self.len());
        self.appended -= n.min(self.len()) as u64;
        self.end -= n.min(self.len());
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Reads once from `src` into free space, keeping the buffer at most `limit`
    /// bytes long. Call only when `len() < limit`.
    pub fn read_from(&mut self, src: &mut impl Read, limit: usize) -> io::Result<Io> {
        let room = limit.saturating_sub(self.len());
        if room == 0 {
            return Ok(Io::Done(0));
        }
        // Start small; move to a big block once a read would have little room
        // (a body is streaming through).
        if self.buf.is_empty() {
            self.reserve(room.min(SMALL));
        } else if self.buf.len() - self.end < MIN_READ.min(room) {
            self.reserve(room.min(BLOCK));
        }
        let end = (self.end + room).min(self.buf.len());
        loop {
            return match src.read(&mut self.buf[self.end..end]) {
                Ok(0) => Ok(Io::Eof),
                Ok(n) => {
                    let asked = end - self.end;
                    self.end += n;
                    self.appended += n as u64;
                    Ok(if n < asked { Io::Short(n) } else { Io::Done(n) })
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Io::WouldBlock),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
        }
    }

    /// Writes once from the front of the buffer to `dst`.
    pub fn write_to(&mut self, dst: &mut impl Write) -> io::Result<Io> {
        loop {
            return match dst.write(self.data()) {
                Ok(n) => {
                    let asked = self.len();
                    self.consume(n);
                    Ok(if n < asked { Io::Short(n) } else { Io::Done(n) })
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Io::WouldBlock),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => Err(e),
            };
        }
    }

    /// Frees the allocation of an empty buffer (idle keep-alive connections hold none).
    pub fn release_if_empty(&mut self) {
        if self.is_empty() && !self.buf.is_empty() {
            give_block(std::mem::take(&mut self.buf));
        }
    }
}

/// A member codec writes the member's bytes straight into the connection's buffer.
impl crate::codec::Sink for Buffer {
    fn put(&mut self, bytes: &[u8]) {
        self.extend(bytes);
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        give_block(std::mem::take(&mut self.buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unextend_takes_back_the_newest_bytes() {
        let mut b = Buffer::new();
        b.extend(b"100 Continue|");
        b.consume(4);
        b.extend(b"head");
        b.unextend(4);
        assert_eq!(b.data(), b"Continue|");
        b.unextend(9);
        assert!(b.is_empty());
    }

    #[test]
    fn bytes_leave_in_the_order_they_came() {
        let mut b = Buffer::new();
        b.extend(b"hello ");
        b.extend(b"world");
        assert_eq!(b.data(), b"hello world");
        b.consume(6);
        assert_eq!(b.data(), b"world");
        let mut src: &[u8] = b"!!";
        // Two bytes where 95 would have fitted: a short read (the source is drained).
        assert_eq!(b.read_from(&mut src, 100).unwrap(), Io::Short(2));
        assert_eq!(b.data(), b"world!!");
        let mut out = Vec::new();
        assert_eq!(b.write_to(&mut out).unwrap(), Io::Done(7));
        assert!(b.is_empty());
        let mut empty: &[u8] = b"";
        assert_eq!(b.read_from(&mut empty, 100).unwrap(), Io::Eof);
    }

    #[test]
    fn reads_respect_the_limit() {
        let mut b = Buffer::new();
        let data = vec![7u8; 10_000];
        let mut src: &[u8] = &data;
        assert_eq!(b.read_from(&mut src, 4096).unwrap(), Io::Done(4096));
        assert_eq!(b.read_from(&mut src, 4096).unwrap(), Io::Done(0));
        b.consume(4000);
        assert_eq!(b.read_from(&mut src, 4096).unwrap(), Io::Done(4000));
        assert_eq!(b.len(), 4096);
    }

    #[test]
    fn a_buffer_starts_small_and_grows_when_a_body_streams() {
        let mut b = Buffer::new();
        let mut head: &[u8] = b"GET / HTTP/1.1\r\n\r\n";
        assert!(matches!(
            b.read_from(&mut head, 64 * 1024).unwrap(),
            Io::Short(_)
        ));
        assert_eq!(b.buf.len(), SMALL, "a head fits a small block");
        let body = vec![1u8; 100_000];
        let mut src: &[u8] = &body;
        // The small block fills, then the buffer moves to a big one, data kept.
        assert_eq!(
            b.read_from(&mut src, 64 * 1024).unwrap(),
            Io::Done(SMALL - 18)
        );
        assert_eq!(
            b.read_from(&mut src, 64 * 1024).unwrap(),
            Io::Done(BLOCK - SMALL)
        );
        assert_eq!(b.buf.len(), BLOCK);
        assert_eq!(&b.data()[..18], b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(b.len(), BLOCK);
        b.consume(BLOCK);
        b.release_if_empty();
        assert!(b.buf.is_empty());
    }

    #[test]
    fn extend_beyond_a_big_block_grows() {
        let mut b = Buffer::new();
        b.extend(&[7u8; 10]);
        assert_eq!(b.buf.len(), SMALL);
        b.extend(&vec![8u8; 70_000]);
        assert_eq!(b.len(), 70_010);
        assert!(b.buf.len() >= 70_010);
        assert_eq!(b.data()[9], 7);
        assert_eq!(b.data()[10], 8);
    }
}
