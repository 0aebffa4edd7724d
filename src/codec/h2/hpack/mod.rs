//! HPACK, RFC 7541: header compression for HTTP/2.
//!
//! [`Decoder`] turns a whole field block (HEADERS + CONTINUATIONs, gathered
//! by the connection under its own bound) into a [`HeaderList`]; [`Encoder`]
//! turns fields into a block. Each side has a dynamic table bounded by
//! SETTINGS_HEADER_TABLE_SIZE ([`table::DynamicTable`]).
//!
//! The decoder's defences (issue #17's hardening):
//! - **Header-list bound.** The list it returns is bounded by
//!   SETTINGS_MAX_HEADER_LIST_SIZE as RFC 9113 §6.5.2 counts it (name +
//!   value + 32 per field). Once a field would pass the bound it stops
//!   collecting: nothing more is copied out, strings are skipped without
//!   being Huffman-decoded unless the dynamic table needs them, and the block
//!   ends in [`DecodeError::ListTooLarge`], a stream-level error (answer 431
//!   or RST_STREAM). The rest of the block is still walked, so the dynamic
//!   table stays in step with the peer's and the connection can go on: the
//!   work is linear in the block's length and the memory is the bound plus
//!   the table. So an "HPACK bomb" (a small block that indexes a big table
//!   entry thousands of times) costs one walk over its bytes, not the list
//!   it expands to.
//! - **No allocation before the check.** A string's length is checked
//!   against what it may still use (the list's remaining budget, or the
//!   table's maximum for one it indexes) before a byte is copied, and a
//!   Huffman string is decoded under that cap; a length beyond the block is
//!   an error before anything is read.
//! - **Integers** longer than 32 bits (or with more continuation bytes than
//!   that needs) are refused.
//! - **Table size updates** only at the start of a block, never above the
//!   SETTINGS_HEADER_TABLE_SIZE this side advertised, and required after
//!   this side lowered it (§4.2).
//!
//! Names and values are returned as bytes: whether they are valid HTTP
//! (lowercase names, no pseudo-header after a regular one, …) is the
//! connection's check (RFC 9113 §8.2/§8.3), a stream error, not a
//! compression error.

pub mod huffman;
pub mod table;

use std::fmt;
use std::ops::Range;

use table::{entry_size, find_static, DynamicTable, STATIC};

/// Why a field block could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The block is malformed (§5, §6): a connection error of type
    /// COMPRESSION_ERROR (RFC 9113 §4.3), since the dynamic table can no
    /// longer be trusted.
    Compression(&'static str),
    /// The decoded list passed the bound; the block was walked to its end
    /// and the dynamic table is in step. A stream error: the connection
    /// goes on.
    ListTooLarge { limit: usize },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Compression(why) => write!(f, "peer's HPACK block: {why}"),
            DecodeError::ListTooLarge { limit } => write!(
                f,
                "peer's header list is larger than SETTINGS_MAX_HEADER_LIST_SIZE ({limit})"
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// One field of a [`HeaderList`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field<'a> {
    pub name: &'a [u8],
    pub value: &'a [u8],
    /// Sent as "never indexed" (§6.2.3): an intermediary re-encodes it the
    /// same way (§7.1.3).
    pub sensitive: bool,
}

impl<'a> Field<'a> {
    pub fn new(name: &'a [u8], value: &'a [u8]) -> Field<'a> {
        Field {
            name,
            value,
            sensitive: false,
        }
    }
}

#[derive(Clone, Debug)]
struct FieldAt {
    name: Range<usize>,
    value: Range<usize>,
    sensitive: bool,
}

/// A decoded field list, in order. Its buffers are kept between blocks
/// (`clear` keeps their capacity).
#[derive(Clone, Debug, Default)]
pub struct HeaderList {
    bytes: Vec<u8>,
    fields: Vec<FieldAt>,
    size: usize,
}

/// Lists are equal when their fields are, in order (not their buffers).
impl PartialEq for HeaderList {
    fn eq(&self, other: &HeaderList) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for HeaderList {}

impl HeaderList {
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.fields.clear();
        self.size = 0;
    }

    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The list's size as RFC 9113 §6.5.2 counts it.
    pub fn list_size(&self) -> usize {
        self.size
    }

    pub fn get(&self, i: usize) -> Option<Field<'_>> {
        let f = self.fields.get(i)?;
        Some(Field {
            name: &self.bytes[f.name.clone()],
            value: &self.bytes[f.value.clone()],
            sensitive: f.sensitive,
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = Field<'_>> + '_ {
        (0..self.fields.len()).filter_map(|i| self.get(i))
    }

    pub fn push(&mut self, f: Field<'_>) {
        let n = self.bytes.len();
        self.bytes.extend_from_slice(f.name);
        self.bytes.extend_from_slice(f.value);
        let name = n..n + f.name.len();
        let value = name.end..self.bytes.len();
        self.fields.push(FieldAt {
            name,
            value,
            sensitive: f.sensitive,
        });
        self.size += entry_size(f.name, f.value);
    }
}

/// Reads an integer with an `n`-bit prefix (§5.1) at `*pos`, advancing it.
/// Values above u32::MAX, and encodings longer than such a value needs, are
/// refused.
pub fn decode_int(buf: &[u8], pos: &mut usize, n: u8) -> Result<u32, DecodeError> {
    const TRUNCATED: DecodeError = DecodeError::Compression("integer cut short");
    let mask = (1u32 << n) - 1;
    let first = *buf.get(*pos).ok_or(TRUNCATED)? as u32 & mask;
    *pos += 1;
    if first < mask {
        return Ok(first);
    }
    let mut value = first as u64;
    let mut shift = 0;
    loop {
        let b = *buf.get(*pos).ok_or(TRUNCATED)?;
        *pos += 1;
        value += ((b & 0x7f) as u64) << shift;
        if value > u32::MAX as u64 {
            return Err(DecodeError::Compression("integer above 2^32-1"));
        }
        if b & 0x80 == 0 {
            return Ok(value as u32);
        }
        shift += 7;
        if shift > 28 {
            return Err(DecodeError::Compression("integer encoding too long"));
        }
    }
}

/// Appends `value` with an `n`-bit prefix (§5.1); `high` holds the bits
/// above the prefix in the first byte.
pub fn encode_int(value: usize, n: u8, high: u8, out: &mut Vec<u8>) {
    let mask = (1usize << n) - 1;
    if value < mask {
        out.push(high | value as u8);
        return;
    }
    out.push(high | mask as u8);
    let mut rest = value - mask;
    while rest >= 0x80 {
        out.push(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    out.push(rest as u8);
}

/// Appends a string literal (§5.2), Huffman-coded when `huffman` is set and
/// that is not longer (as RFC 7541's C.6 examples do: "307" is 3 bytes both
/// ways and is sent Huffman-coded).
pub fn encode_str(s: &[u8], huffman: bool, out: &mut Vec<u8>) {
    let h = if huffman {
        huffman::encoded_len(s)
    } else {
        usize::MAX
    };
    if h <= s.len() && !s.is_empty() {
        encode_int(h, 7, 0x80, out);
        huffman::encode(s, out);
    } else {
        encode_int(s.len(), 7, 0, out);
        out.extend_from_slice(s);
    }
}

/// What became of a string read under a cap.
enum Str {
    /// Appended to the scratch buffer.
    Kept,
    /// Longer than the cap: skipped, nothing kept.
    TooLong,
}

/// Reads a string literal at `*pos` into `out` if its decoded length is at
/// most `cap`; else skips it. Advances `*pos` past it either way.
fn read_str(
    buf: &[u8],
    pos: &mut usize,
    out: &mut Vec<u8>,
    cap: usize,
) -> Result<Str, DecodeError> {
    let huff = buf
        .get(*pos)
        .ok_or(DecodeError::Compression("string cut short"))?
        & 0x80
        != 0;
    let len = decode_int(buf, pos, 7)? as usize;
    let end = pos
        .checked_add(len)
        .filter(|&e| e <= buf.len())
        .ok_or(DecodeError::Compression("string longer than the block"))?;
    let src = &buf[*pos..end];
    *pos = end;
    if !huff {
        if len > cap {
            return Ok(Str::TooLong);
        }
        out.extend_from_slice(src);
        return Ok(Str::Kept);
    }
    // A Huffman code is at most 30 bits long: fewer than len*8/30 symbols
    // cannot fill len bytes, so this many is sure to be over the cap.
    if len * 8 / 30 > cap {
        return Ok(Str::TooLong);
    }
    let before = out.len();
    match huffman::decode(src, out, cap) {
        Ok(()) => Ok(Str::Kept),
        Err(huffman::HuffmanError::TooLong) => {
            out.truncate(before);
            Ok(Str::TooLong)
        }
        Err(huffman::HuffmanError::Eos) => Err(DecodeError::Compression("EOS in a Huffman string")),
        Err(huffman::HuffmanError::BadPadding) => {
            Err(DecodeError::Compression("bad Huffman padding"))
        }
    }
}

/// The decoding side of one connection.
#[derive(Debug)]
pub struct Decoder {
    table: DynamicTable,
    /// SETTINGS_HEADER_TABLE_SIZE this side advertised (and the peer
    /// acknowledged): the most a size update may ask for.
    settings_limit: usize,
    /// This side lowered its limit below the table's size: the next block
    /// must start with a size update (§4.2).
    update_required: bool,
    /// SETTINGS_MAX_HEADER_LIST_SIZE this side advertised.
    max_list_size: usize,
    /// The field being decoded: name then value.
    scratch: Vec<u8>,
}

impl Decoder {
    /// A decoder with a dynamic table of at most `table_size` bytes and
    /// returned lists of at most `max_list_size` (as §6.5.2 counts).
    pub fn new(table_size: usize, max_list_size: usize) -> Decoder {
        Decoder {
            table: DynamicTable::new(table_size),
            settings_limit: table_size,
            update_required: false,
            max_list_size,
            scratch: Vec::new(),
        }
    }

    /// The peer acknowledged a new SETTINGS_HEADER_TABLE_SIZE from this side.
    pub fn set_settings_limit(&mut self, limit: usize) {
        if limit < self.table.max_size() {
            self.update_required = true;
        }
        self.settings_limit = limit;
    }

    pub fn set_max_list_size(&mut self, n: usize) {
        self.max_list_size = n;
    }

    pub fn table(&self) -> &DynamicTable {
        &self.table
    }

    /// Decodes one whole field block into `out` (cleared first).
    pub fn decode(&mut self, block: &[u8], out: &mut HeaderList) -> Result<(), DecodeError> {
        out.clear();
        let mut pos = 0;
        let mut at_start = true;
        let mut overflow = false;
        while pos < block.len() {
            let b = block[pos];
            if b & 0xe0 == 0x20 {
                // Dynamic table size update (§6.3).
                if !at_start {
                    return Err(DecodeError::Compression("table size update after a field"));
                }
                let size = decode_int(block, &mut pos, 5)? as usize;
                if size > self.settings_limit {
                    return Err(DecodeError::Compression(
                        "table size update above SETTINGS_HEADER_TABLE_SIZE",
                    ));
                }
                self.table.set_max_size(size);
                self.update_required = false;
                continue;
            }
            if self.update_required {
                return Err(DecodeError::Compression(
                    "no table size update after SETTINGS_HEADER_TABLE_SIZE was lowered",
                ));
            }
            at_start = false;
            let budget = self.max_list_size.saturating_sub(out.list_size());
            if b & 0x80 != 0 {
                // Indexed field (§6.1).
                let i = decode_int(block, &mut pos, 7)? as usize;
                let (name, value) = lookup(&self.table, i)?;
                if !overflow && entry_size(name, value) <= budget {
                    out.push(Field::new(name, value));
                } else {
                    overflow = true;
                }
                continue;
            }
            // Literals: with incremental indexing (01, 6-bit index), without
            // indexing (0000) or never indexed (0001), 4-bit index (§6.2).
            let (indexing, sensitive, prefix) = if b & 0xc0 == 0x40 {
                (true, false, 6)
            } else {
                (false, b & 0x10 != 0, 4)
            };
            let name_index = decode_int(block, &mut pos, prefix)? as usize;
            // What the strings may use: the list's remaining budget, or the
            // table's maximum for an entry it will index.
            let out_cap = if overflow {
                0
            } else {
                budget.saturating_sub(table::ENTRY_OVERHEAD)
            };
            let table_cap = if indexing {
                self.table.max_size().saturating_sub(table::ENTRY_OVERHEAD)
            } else {
                0
            };
            let cap = out_cap.max(table_cap);
            self.scratch.clear();
            let mut kept = true;
            if name_index == 0 {
                kept = matches!(
                    read_str(block, &mut pos, &mut self.scratch, cap)?,
                    Str::Kept
                );
            } else {
                let (name, _) = lookup(&self.table, name_index)?;
                if name.len() <= cap {
                    self.scratch.extend_from_slice(name);
                } else {
                    kept = false;
                }
            }
            let name_len = self.scratch.len();
            let value_cap = if kept { cap - name_len } else { 0 };
            kept &= matches!(
                read_str(block, &mut pos, &mut self.scratch, value_cap)?,
                Str::Kept
            );
            let (name, value) = self.scratch.split_at(name_len);
            if indexing {
                if kept {
                    self.table.insert(name, value);
                } else {
                    // Longer than the table's maximum: as the insertion of
                    // an entry larger than the maximum, it empties the
                    // table (§4.4).
                    self.table.evict_all();
                }
            }
            if !overflow && kept && entry_size(name, value) <= budget {
                out.push(Field {
                    name,
                    value,
                    sensitive,
                });
            } else {
                overflow = true;
            }
        }
        if overflow {
            return Err(DecodeError::ListTooLarge {
                limit: self.max_list_size,
            });
        }
        Ok(())
    }
}

/// Index `i` (1-based, static then dynamic) as (name, value).
fn lookup(table: &DynamicTable, i: usize) -> Result<(&[u8], &[u8]), DecodeError> {
    match i {
        0 => Err(DecodeError::Compression("index 0")),
        1..=61 => {
            let (n, v) = STATIC[i - 1];
            Ok((n.as_bytes(), v.as_bytes()))
        }
        _ => table
            .get(i - 62)
            .ok_or(DecodeError::Compression("index beyond the tables")),
    }
}

/// The encoding side of one connection.
#[derive(Debug)]
pub struct Encoder {
    table: DynamicTable,
    /// The largest table this side is willing to keep, whatever the peer
    /// allows.
    own_limit: usize,
    /// Size updates owed at the start of the next block: the smallest size
    /// the table went through, then the final one (§4.2).
    pending: Option<(usize, usize)>,
    /// Huffman-code strings where that is shorter (the default).
    huffman: bool,
}

impl Encoder {
    /// An encoder that keeps at most `own_limit` bytes of table (and never
    /// more than the peer allows: 4096 until its SETTINGS say otherwise).
    pub fn new(own_limit: usize) -> Encoder {
        let size = own_limit.min(frame_default_table());
        let mut e = Encoder {
            table: DynamicTable::new(frame_default_table()),
            own_limit,
            pending: None,
            huffman: true,
        };
        if size != frame_default_table() {
            e.resize(size);
        }
        e
    }

    /// Whether to Huffman-code strings where that is shorter (on by default;
    /// off reproduces RFC 7541 C.3 and C.5).
    pub fn set_huffman(&mut self, on: bool) {
        self.huffman = on;
    }

    /// The peer's SETTINGS_HEADER_TABLE_SIZE changed.
    pub fn set_peer_limit(&mut self, peer: usize) {
        let size = peer.min(self.own_limit);
        if size != self.table.max_size() {
            self.resize(size);
        }
    }

    fn resize(&mut self, size: usize) {
        let min = match self.pending {
            Some((m, _)) => m.min(size),
            None => self.table.max_size().min(size),
        };
        self.pending = Some((min, size));
        self.table.set_max_size(size);
    }

    /// Appends the block for `fields` to `out`.
    ///
    /// Policy: an exact match in either table is indexed; a sensitive field
    /// (and any `authorization`/`proxy-authorization`, and `cookie` values
    /// under 20 bytes, as §7.1.3 suggests) is never indexed; anything else
    /// is a literal added to the table if it takes at most half of it.
    pub fn encode<'a>(&mut self, fields: impl IntoIterator<Item = Field<'a>>, out: &mut Vec<u8>) {
        if let Some((min, size)) = self.pending.take() {
            if min < size {
                encode_int(min, 5, 0x20, out);
            }
            encode_int(size, 5, 0x20, out);
        }
        for f in fields {
            let sensitive = f.sensitive
                || f.name == b"authorization"
                || f.name == b"proxy-authorization"
                || (f.name == b"cookie" && f.value.len() < 20);
            let (s_full, s_name) = find_static(f.name, f.value);
            let (d_full, d_name) = self.table.find(f.name, f.value);
            if !sensitive {
                if s_full != 0 {
                    encode_int(s_full, 7, 0x80, out);
                    continue;
                }
                if d_full != 0 {
                    encode_int(d_full + 61, 7, 0x80, out);
                    continue;
                }
            }
            let name_index = if s_name != 0 {
                s_name
            } else if d_name != 0 {
                d_name + 61
            } else {
                0
            };
            let index = !sensitive && entry_size(f.name, f.value) * 2 <= self.table.max_size();
            if index {
                encode_int(name_index, 6, 0x40, out);
            } else if sensitive {
                encode_int(name_index, 4, 0x10, out);
            } else {
                encode_int(name_index, 4, 0x00, out);
            }
            if name_index == 0 {
                encode_str(f.name, self.huffman, out);
            }
            encode_str(f.value, self.huffman, out);
            if index {
                self.table.insert(f.name, f.value);
            }
        }
    }

    pub fn table(&self) -> &DynamicTable {
        &self.table
    }
}

fn frame_default_table() -> usize {
    super::frame::DEFAULT_HEADER_TABLE_SIZE as usize
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
