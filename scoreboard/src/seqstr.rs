//! Fixed-capacity strings in shared memory, guarded by a sequence lock.

use std::fmt;
use std::sync::atomic::{fence, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::spinlock::Backoff;

/// A writer that finds the same odd sequence number for this long assumes
/// the previous writer died mid-write and takes over.
pub const SEQ_WRITER_TAKEOVER: Duration = Duration::from_millis(100);

/// A reader that cannot get a consistent snapshot for this long gives up and
/// returns what it last read.
pub const SEQ_READER_GIVE_UP: Duration = Duration::from_millis(100);

/// A string of at most `W * 8` bytes kept in `W` atomic words, guarded by a
/// sequence lock so that readers never see a mix of two values.
///
/// Layout (`repr(C)`, `8 + 8 * W` bytes, 8-aligned): `seq: u32`, `len: u32`,
/// then the UTF-8 bytes packed little-endian into `W` words, zero-padded.
///
/// * `seq` is even when no write is in progress. A writer moves it from even
///   to odd with a compare-and-swap (which also serialises writers), stores
///   `len` and the words, then makes it even again.
/// * A reader loads `seq`, the data, then `seq` again, and retries unless both
///   loads gave the same even value.
///
/// Everything is an atomic, so a torn or corrupt value is at worst garbage
/// text, never undefined behaviour. Neither side waits forever: see
/// [`SEQ_WRITER_TAKEOVER`] and [`SEQ_READER_GIVE_UP`].
#[repr(C)]
pub struct SeqStr<const W: usize> {
    seq: AtomicU32,
    len: AtomicU32,
    words: [AtomicU64; W],
}

impl<const W: usize> SeqStr<W> {
    /// Capacity in bytes.
    pub const CAPACITY: usize = W * 8;

    /// An empty string (for use outside a mapping; zero-filled slots in a
    /// mapping are already empty strings).
    pub const fn new() -> Self {
        SeqStr {
            seq: AtomicU32::new(0),
            len: AtomicU32::new(0),
            words: [const { AtomicU64::new(0) }; W],
        }
    }

    /// Stores `s`. If it is longer than [`Self::CAPACITY`] bytes it is cut at
    /// the last character boundary that fits, and `false` is returned.
    pub fn set(&self, s: &str) -> bool {
        let (value, complete) = truncate(s, Self::CAPACITY);
        let mut packed = [0u64; W];
        for (word, chunk) in packed.iter_mut().zip(value.as_bytes().chunks(8)) {
            let mut bytes = [0u8; 8];
            bytes[..chunk.len()].copy_from_slice(chunk);
            *word = u64::from_le_bytes(bytes);
        }

        let odd = self.begin_write();
        // Keep the data stores below from becoming visible before the odd
        // sequence number (pairs with the reader's acquire fence).
        fence(Ordering::Release);
        // `value.len() <= CAPACITY`, which is far below u32::MAX.
        self.len.store(value.len() as u32, Ordering::Relaxed);
        for (slot, word) in self.words.iter().zip(packed) {
            slot.store(word, Ordering::Relaxed);
        }
        // Finish unless another writer has taken over from us in the
        // meantime (only possible if we stalled for SEQ_WRITER_TAKEOVER); then
        // it finishes instead, and our data may be mixed with its data.
        let _ = self.seq.compare_exchange(
            odd,
            odd.wrapping_add(1),
            Ordering::Release,
            Ordering::Relaxed,
        );
        complete
    }

    /// Test hook: overwrite the sequence number (e.g. leave it odd, as a
    /// writer that died mid-write would).
    #[cfg(test)]
    pub(crate) fn force_seq(&self, v: u32) {
        self.seq.store(v, Ordering::SeqCst);
    }

    #[cfg(test)]
    pub(crate) fn seq(&self) -> u32 {
        self.seq.load(Ordering::SeqCst)
    }

    /// Sets the empty string.
    pub fn clear(&self) {
        self.set("");
    }

    /// Moves the sequence to an odd value we own and returns that value.
    fn begin_write(&self) -> u32 {
        let mut backoff = Backoff::new();
        let mut stuck: Option<(u32, Instant)> = None;
        loop {
            let cur = self.seq.load(Ordering::Relaxed);
            if cur & 1 == 0 {
                let next = cur.wrapping_add(1);
                if self
                    .seq
                    .compare_exchange_weak(cur, next, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return next;
                }
            } else if backoff.is_slow() {
                match stuck {
                    Some((value, since)) if value == cur => {
                        if since.elapsed() >= SEQ_WRITER_TAKEOVER {
                            // Still odd and unchanged: the writer is presumed
                            // dead. Take over with a different odd value so
                            // that its late finish (if it was merely slow)
                            // fails its compare-and-swap.
                            let next = cur.wrapping_add(2);
                            if self
                                .seq
                                .compare_exchange(cur, next, Ordering::Acquire, Ordering::Relaxed)
                                .is_ok()
                            {
                                return next;
                            }
                        }
                    }
                    _ => stuck = Some((cur, Instant::now())),
                }
            }
            backoff.wait();
        }
    }

    /// Reads the value. Retries while a write is in progress; if no
    /// consistent snapshot can be had within [`SEQ_READER_GIVE_UP`] (a writer
    /// died mid-write), returns the last bytes read, decoded lossily.
    pub fn get(&self) -> String {
        self.read().0
    }

    /// Reads the value (as [`get`](Self::get) does) and hands it to `f` without
    /// allocating: the bytes are decoded on the stack.
    pub fn with<R>(&self, f: impl FnOnce(&str) -> R) -> R {
        let (len, words, _) = self.read_words();
        let mut bytes = [0u8; 48 * 8];
        let len = (len as usize).min(W * 8).min(bytes.len());
        for (chunk, w) in bytes.chunks_mut(8).zip(&words) {
            chunk.copy_from_slice(&w.to_le_bytes());
        }
        match std::str::from_utf8(&bytes[..len]) {
            Ok(s) => f(s),
            Err(_) => f(&String::from_utf8_lossy(&bytes[..len])),
        }
    }

    /// Like [`get`](Self::get) but returns `None` instead of a possibly torn
    /// value when no consistent snapshot could be had in time.
    pub fn try_get(&self) -> Option<String> {
        match self.read() {
            (s, true) => Some(s),
            (_, false) => None,
        }
    }

    fn read(&self) -> (String, bool) {
        let (len, words, consistent) = self.read_words();
        (decode(len, &words), consistent)
    }

    /// A snapshot of the length and words, and whether it is consistent.
    fn read_words(&self) -> (u32, [u64; W], bool) {
        let mut backoff = Backoff::new();
        let mut started: Option<Instant> = None;
        let mut words = [0u64; W];
        loop {
            let before = self.seq.load(Ordering::Acquire);
            let len = self.len.load(Ordering::Relaxed);
            for (out, slot) in words.iter_mut().zip(&self.words) {
                *out = slot.load(Ordering::Relaxed);
            }
            // Keep the data loads above from moving below the second
            // sequence load (pairs with the writer's release fence).
            fence(Ordering::Acquire);
            let after = self.seq.load(Ordering::Relaxed);
            let consistent = before == after && before & 1 == 0;
            if consistent {
                return (len, words, true);
            }
            if backoff.is_slow() {
                let since = *started.get_or_insert_with(Instant::now);
                if since.elapsed() >= SEQ_READER_GIVE_UP {
                    return (len, words, false);
                }
            }
            backoff.wait();
        }
    }
}

impl<const W: usize> Default for SeqStr<W> {
    fn default() -> Self {
        SeqStr::new()
    }
}

impl<const W: usize> fmt::Debug for SeqStr<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.get(), f)
    }
}

/// `s` cut to at most `cap` bytes at a character boundary, and whether it was
/// left whole.
fn truncate(s: &str, cap: usize) -> (&str, bool) {
    if s.len() <= cap {
        return (s, true);
    }
    let mut end = cap;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    (&s[..end], false)
}

/// Turns the stored words back into text. A corrupt length is clamped to the
/// capacity and invalid UTF-8 is replaced, so any bit pattern decodes.
fn decode(len: u32, words: &[u64]) -> String {
    let len = (len as usize).min(words.len() * 8);
    let bytes: Vec<u8> = words
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .take(len)
        .collect();
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}
