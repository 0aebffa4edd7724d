//! HPACK's indexing tables (RFC 7541 §2.3): the static table of Appendix A
//! (indexes 1..=61) followed by the dynamic table (62 and up, newest first).

use std::collections::VecDeque;

/// RFC 7541 Appendix A, in order (index 1 first).
pub const STATIC: [(&str, &str); 61] = [
    (":authority", ""),
    (":method", "GET"),
    (":method", "POST"),
    (":path", "/"),
    (":path", "/index.html"),
    (":scheme", "http"),
    (":scheme", "https"),
    (":status", "200"),
    (":status", "204"),
    (":status", "206"),
    (":status", "304"),
    (":status", "400"),
    (":status", "404"),
    (":status", "500"),
    ("accept-charset", ""),
    ("accept-encoding", "gzip, deflate"),
    ("accept-language", ""),
    ("accept-ranges", ""),
    ("accept", ""),
    ("access-control-allow-origin", ""),
    ("age", ""),
    ("allow", ""),
    ("authorization", ""),
    ("cache-control", ""),
    ("content-disposition", ""),
    ("content-encoding", ""),
    ("content-language", ""),
    ("content-length", ""),
    ("content-location", ""),
    ("content-range", ""),
    ("content-type", ""),
    ("cookie", ""),
    ("date", ""),
    ("etag", ""),
    ("expect", ""),
    ("expires", ""),
    ("from", ""),
    ("host", ""),
    ("if-match", ""),
    ("if-modified-since", ""),
    ("if-none-match", ""),
    ("if-range", ""),
    ("if-unmodified-since", ""),
    ("last-modified", ""),
    ("link", ""),
    ("location", ""),
    ("max-forwards", ""),
    ("proxy-authenticate", ""),
    ("proxy-authorization", ""),
    ("range", ""),
    ("referer", ""),
    ("refresh", ""),
    ("retry-after", ""),
    ("server", ""),
    ("set-cookie", ""),
    ("strict-transport-security", ""),
    ("transfer-encoding", ""),
    ("user-agent", ""),
    ("vary", ""),
    ("via", ""),
    ("www-authenticate", ""),
];

/// What an entry adds to a table's size besides its name and value (§4.1).
pub const ENTRY_OVERHEAD: usize = 32;

/// The size RFC 7541 §4.1 gives an entry (and RFC 9113 §6.5.2 a field).
pub fn entry_size(name: &[u8], value: &[u8]) -> usize {
    name.len() + value.len() + ENTRY_OVERHEAD
}

/// One dynamic entry: where its name and value lie in the arena.
#[derive(Clone, Copy, Debug)]
struct Entry {
    start: usize,
    name_len: usize,
    value_len: usize,
}

/// The dynamic table, bounded by its maximum size (§4.2, §4.4).
///
/// Entries' bytes live one after another in one arena, oldest first from
/// `base`; evicting the oldest only moves `base`, and the arena is compacted
/// (its live bytes moved to the front) when the dead prefix is at least as
/// long as the live part. So there is no allocation per entry, slices are
/// contiguous, and the arena holds at most about twice the maximum size.
#[derive(Debug, Default)]
pub struct DynamicTable {
    arena: Vec<u8>,
    base: usize,
    /// Newest first: `entries[0]` is index 62.
    entries: VecDeque<Entry>,
    size: usize,
    max_size: usize,
}

impl DynamicTable {
    pub fn new(max_size: usize) -> DynamicTable {
        DynamicTable {
            max_size,
            ..DynamicTable::default()
        }
    }

    /// The table's size as §4.1 counts it.
    pub fn size(&self) -> usize {
        self.size
    }

    pub fn max_size(&self) -> usize {
        self.max_size
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entry `i` (0: the newest), or None.
    pub fn get(&self, i: usize) -> Option<(&[u8], &[u8])> {
        let e = self.entries.get(i)?;
        let name_end = e.start + e.name_len;
        Some((
            &self.arena[e.start..name_end],
            &self.arena[name_end..name_end + e.value_len],
        ))
    }

    /// Changes the maximum size, evicting the oldest entries above it (§4.3).
    pub fn set_max_size(&mut self, max_size: usize) {
        self.max_size = max_size;
        self.evict_to(max_size);
    }

    /// Empties the table; its maximum size stays.
    pub fn evict_all(&mut self) {
        self.evict_to(0);
    }

    fn evict_to(&mut self, target: usize) {
        while self.size > target {
            let Some(e) = self.entries.pop_back() else {
                break;
            };
            self.size -= e.name_len + e.value_len + ENTRY_OVERHEAD;
            self.base = e.start + e.name_len + e.value_len;
        }
        if self.entries.is_empty() {
            self.arena.clear();
            self.base = 0;
        }
    }

    /// Adds an entry (§4.4): evicts the oldest until it fits; one larger than
    /// the maximum size empties the table and is not added (not an error).
    pub fn insert(&mut self, name: &[u8], value: &[u8]) {
        let size = entry_size(name, value);
        if size > self.max_size {
            self.evict_to(0);
            return;
        }
        self.evict_to(self.max_size - size);
        let live = self.arena.len() - self.base;
        if self.base > 0 && self.base >= live {
            self.arena.drain(..self.base);
            for e in self.entries.iter_mut() {
                e.start -= self.base;
            }
            self.base = 0;
        }
        let start = self.arena.len();
        self.arena.extend_from_slice(name);
        self.arena.extend_from_slice(value);
        self.entries.push_front(Entry {
            start,
            name_len: name.len(),
            value_len: value.len(),
        });
        self.size += size;
    }

    /// Index (1-based within the dynamic table, 0 = none) of an entry equal
    /// to (name, value), and of the newest entry with this name.
    pub fn find(&self, name: &[u8], value: &[u8]) -> (usize, usize) {
        let mut by_name = 0;
        for i in 0..self.entries.len() {
            let Some((n, v)) = self.get(i) else { break };
            if n == name {
                if v == value {
                    return (i + 1, i + 1);
                }
                if by_name == 0 {
                    by_name = i + 1;
                }
            }
        }
        (0, by_name)
    }

    /// Bytes the arena holds (tests check the bound).
    #[cfg(test)]
    pub fn arena_len(&self) -> usize {
        self.arena.len()
    }
}

/// Static index (1..=61) of (name, value) and of the first entry with this
/// name; 0 for none.
pub fn find_static(name: &[u8], value: &[u8]) -> (usize, usize) {
    let mut by_name = 0;
    for (i, (n, v)) in STATIC.iter().enumerate() {
        if n.as_bytes() == name {
            if v.as_bytes() == value {
                return (i + 1, i + 1);
            }
            if by_name == 0 {
                by_name = i + 1;
            }
        }
    }
    (0, by_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_table_spot_checks() {
        // Appendix A: 1 :authority, 2 :method GET, 16 accept-encoding
        // "gzip, deflate", 32 cookie, 61 www-authenticate.
        assert_eq!(STATIC[0], (":authority", ""));
        assert_eq!(STATIC[1], (":method", "GET"));
        assert_eq!(STATIC[15], ("accept-encoding", "gzip, deflate"));
        assert_eq!(STATIC[31], ("cookie", ""));
        assert_eq!(STATIC[60], ("www-authenticate", ""));
        assert_eq!(find_static(b":status", b"404"), (13, 13));
        assert_eq!(find_static(b":status", b"418"), (0, 8));
        assert_eq!(find_static(b"x-nope", b""), (0, 0));
    }

    #[test]
    fn eviction_and_the_arena_bound() {
        let mut t = DynamicTable::new(100);
        t.insert(b"a", b"1"); // 34
        t.insert(b"b", b"22"); // 35
        assert_eq!((t.len(), t.size()), (2, 69));
        t.insert(b"c", b"333"); // 36: evicts "a"
        assert_eq!((t.len(), t.size()), (2, 71));
        assert_eq!(t.get(0), Some((&b"c"[..], &b"333"[..])));
        assert_eq!(t.get(1), Some((&b"b"[..], &b"22"[..])));
        assert_eq!(t.find(b"b", b"22"), (2, 2));
        assert_eq!(t.find(b"c", b"x"), (0, 1));
        // An entry larger than the table empties it.
        t.insert(b"big", &[b'x'; 80]);
        assert!(t.is_empty());
        assert_eq!(t.size(), 0);
        // Many insertions keep the arena near the maximum size.
        let mut t = DynamicTable::new(4096);
        for i in 0..10_000u32 {
            let v = i.to_string().repeat(1 + (i % 7) as usize);
            t.insert(b"x-counter", v.as_bytes());
            assert!(t.size() <= 4096);
            assert!(t.arena_len() <= 2 * 4096 + 200, "arena {}", t.arena_len());
            assert_eq!(t.get(0).unwrap().1, v.as_bytes());
        }
        t.set_max_size(0);
        assert!(t.is_empty());
    }
}
