//! A byte buffer with a read cursor: bytes arrive at the end (`space` + `fill`,
//! or `extend`) and leave from the front (`data` + `consume`).

use std::cell::RefCell;
use std::io::{self, Read, Write};

/// Size of a pooled buffer allocation.
const BLOCK: usize = 64 * 1024;
/// Most free blocks a worker keeps for reuse.
const KEEP_FREE: usize = 256;

thread_local! {
    /// Free blocks of this worker (a worker is one thread): taking one costs no
    /// allocation and no zero-filling, which a fresh 64 KiB block per request did.
    static FREE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

fn take_block() -> Vec<u8> {
    FREE.with(|f| f.borrow_mut().pop())
        .unwrap_or_else(|| vec![0; BLOCK])
}

fn give_block(v: Vec<u8>) {
    if v.len() != BLOCK {
        return;
    }
    FREE.with(|f| {
        let mut f = f.borrow_mut();
        if f.len() < KEEP_FREE {
            f.push(v);
        }
    });
}

pub struct Buffer {
    buf: Vec<u8>,
    start: usize,
    end: usize,
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

    pub fn consume(&mut self, n: usize) {
        debug_assert!(n <= self.len());
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
            if self.buf.is_empty() && want <= BLOCK {
                self.buf = take_block();
                return;
            }
            let new_len = (self.end + want).next_power_of_two().max(BLOCK);
            self.buf.resize(new_len, 0);
        }
    }

    pub fn extend(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        self.buf[self.end..self.end + bytes.len()].copy_from_slice(bytes);
        self.end += bytes.len();
    }

    /// Reads once from `src` into free space, keeping the buffer at most `limit`
    /// bytes long. Call only when `len() < limit`.
    pub fn read_from(&mut self, src: &mut impl Read, limit: usize) -> io::Result<Io> {
        let room = limit.saturating_sub(self.len());
        if room == 0 {
            return Ok(Io::Done(0));
        }
        self.reserve(room.min(64 * 1024));
        let end = (self.end + room).min(self.buf.len());
        loop {
            return match src.read(&mut self.buf[self.end..end]) {
                Ok(0) => Ok(Io::Eof),
                Ok(n) => {
                    let asked = end - self.end;
                    self.end += n;
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

impl Drop for Buffer {
    fn drop(&mut self) {
        give_block(std::mem::take(&mut self.buf));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
