//! Per-worker free lists for the small heap values a request needs (strings,
//! byte vectors, header lists), so that serving requests in steady state
//! allocates nothing: a value given back keeps its capacity, and the next
//! request takes it again. A worker is one thread, so the lists are
//! thread-local and need no lock; a value taken in one thread and given back in
//! another simply changes lists.
//!
//! Taking from an empty list allocates as before; giving to a full list frees.
//! The lists hold at most what was in use at once (up to their caps), so their
//! memory follows the peak concurrency, like the buffer blocks of
//! `worker::buffer`.

use std::cell::RefCell;

/// Most strings kept per thread.
const KEEP_STRINGS: usize = 4096;
/// Most byte vectors kept per thread.
const KEEP_BYTES: usize = 256;
/// A fresh string's capacity: most targets, names and values fit.
const STRING_CAPACITY: usize = 64;
/// Largest capacity a kept string or vector may have (bigger ones are freed,
/// so one huge value does not stay pinned).
const KEEP_MAX_CAPACITY: usize = 16 * 1024;

thread_local! {
    static STRINGS: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static BYTES: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// An empty string, from the free list when it has one.
pub fn string() -> String {
    STRINGS
        .with(|s| s.borrow_mut().pop())
        .unwrap_or_else(|| String::with_capacity(STRING_CAPACITY))
}

/// A copy of `text` in a string from the free list.
pub fn string_from(text: &str) -> String {
    let mut s = string();
    s.push_str(text);
    s
}

/// Gives a string back (cleared, keeping its capacity).
pub fn give_string(mut s: String) {
    if s.capacity() == 0 || s.capacity() > KEEP_MAX_CAPACITY {
        return;
    }
    s.clear();
    STRINGS.with(|l| {
        let mut l = l.borrow_mut();
        if l.len() < KEEP_STRINGS {
            l.push(s);
        }
    });
}

/// An empty byte vector, from the free list when it has one.
pub fn bytes() -> Vec<u8> {
    BYTES
        .with(|b| b.borrow_mut().pop())
        .unwrap_or_else(|| Vec::with_capacity(512))
}

/// Gives a byte vector back (cleared, keeping its capacity).
pub fn give_bytes(mut v: Vec<u8>) {
    if v.capacity() == 0 || v.capacity() > KEEP_MAX_CAPACITY {
        return;
    }
    v.clear();
    BYTES.with(|l| {
        let mut l = l.borrow_mut();
        if l.len() < KEEP_BYTES {
            l.push(v);
        }
    });
}

/// Runs `f` with a scratch byte vector from the free list and gives it back.
pub fn with_bytes<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    let mut v = bytes();
    let r = f(&mut v);
    give_bytes(v);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_string_given_back_comes_back_empty_with_its_capacity() {
        let mut s = string();
        s.push_str(&"x".repeat(300));
        let cap = s.capacity();
        let ptr = s.as_ptr();
        give_string(s);
        let again = string();
        assert!(again.is_empty());
        assert_eq!(again.capacity(), cap);
        assert_eq!(again.as_ptr(), ptr);
    }

    #[test]
    fn huge_values_are_not_kept() {
        let s = String::with_capacity(KEEP_MAX_CAPACITY + 1);
        give_string(s);
        assert!(string().capacity() <= KEEP_MAX_CAPACITY);
    }

    #[test]
    fn scratch_bytes_are_reused() {
        let first = with_bytes(|v| {
            v.extend_from_slice(b"head");
            v.as_ptr()
        });
        let second = with_bytes(|v| {
            assert!(v.is_empty());
            v.as_ptr()
        });
        assert_eq!(first, second);
    }
}
