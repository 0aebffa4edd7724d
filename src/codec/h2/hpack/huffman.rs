//! HPACK's static Huffman code (RFC 7541 §5.2 and Appendix B).
//!
//! The code is canonical: codes of one length are consecutive numbers in
//! symbol order, and each length's first code follows the previous length's
//! last, shifted. So the 257 code lengths of Appendix B determine every code,
//! and the table below holds only them; `CODES` is computed from them at
//! compile time, and the tests check it against codes Appendix B lists.
//!
//! Decoding is canonical too: a 32-bit window of the input, left-aligned, is
//! compared with each length's limit (the first code of the next length,
//! left-aligned); the first length whose limit is above the window is the
//! symbol's length, and its offset from that length's first code picks the
//! symbol. No per-bit loop and no 256-entry state tables.

/// Code length of each symbol 0..=255 and of EOS (256), RFC 7541 Appendix B.
const LENGTHS: [u8; 257] = [
    13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28, // 0..
    28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28, // 16..
    6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6, // 32..
    5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10, // 48..
    13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, // 64..
    7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6, // 80..
    15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5, // 96..
    6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28, // 112..
    20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23, // 128..
    24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24, // 144..
    22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23, // 160..
    21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23, // 176..
    26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25, // 192..
    19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27, // 208..
    20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23, // 224..
    26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26, // 240..
    30, // 256: EOS
];

const EOS: u16 = 256;
const MAX_LEN: usize = 30;

/// Everything derived from `LENGTHS`.
struct Canonical {
    /// Each symbol's code (right-aligned).
    codes: [u32; 257],
    /// Symbols sorted by (length, symbol): the decoding order.
    sorted: [u16; 257],
    /// Index in `sorted` of each length's first symbol.
    offset: [u16; MAX_LEN + 1],
    /// Each length's first code.
    first: [u32; MAX_LEN + 1],
    /// Left-aligned (in 32 bits, as u64 so 2^32 fits) limit of each length:
    /// a window below it and at or above the previous length's limit holds
    /// a code of this length.
    limit: [u64; MAX_LEN + 1],
}

const fn canonical() -> Canonical {
    let mut c = Canonical {
        codes: [0; 257],
        sorted: [0; 257],
        offset: [0; MAX_LEN + 1],
        first: [0; MAX_LEN + 1],
        limit: [0; MAX_LEN + 1],
    };
    let mut code: u32 = 0;
    let mut n: usize = 0;
    let mut len = 1;
    while len <= MAX_LEN {
        c.first[len] = code;
        c.offset[len] = n as u16;
        let mut sym = 0;
        while sym < 257 {
            if LENGTHS[sym] as usize == len {
                c.codes[sym] = code;
                c.sorted[n] = sym as u16;
                n += 1;
                code += 1;
            }
            sym += 1;
        }
        c.limit[len] = (code as u64) << (32 - len);
        code <<= 1;
        len += 1;
    }
    c
}

static TABLE: Canonical = canonical();

/// The code of `sym` (0..=256) and its length in bits.
pub fn code(sym: u16) -> (u32, u8) {
    (TABLE.codes[sym as usize], LENGTHS[sym as usize])
}

/// Bytes `src` takes Huffman-encoded.
pub fn encoded_len(src: &[u8]) -> usize {
    let bits: usize = src.iter().map(|&b| LENGTHS[b as usize] as usize).sum();
    bits.div_ceil(8)
}

/// Appends `src` Huffman-encoded, padded with the most significant bits of
/// EOS (ones) to a whole byte (§5.2).
pub fn encode(src: &[u8], out: &mut Vec<u8>) {
    let mut acc: u64 = 0;
    let mut nbits: u32 = 0;
    for &b in src {
        let (code, len) = code(b as u16);
        acc = (acc << len) | code as u64;
        nbits += len as u32;
        while nbits >= 8 {
            nbits -= 8;
            out.push((acc >> nbits) as u8);
        }
    }
    if nbits > 0 {
        let pad = 8 - nbits;
        out.push(((acc << pad) | ((1 << pad) - 1)) as u8);
    }
}

/// Why a Huffman string was refused (§5.2: each is a decoding error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HuffmanError {
    /// The EOS symbol inside the string.
    Eos,
    /// More than 7 bits of padding, or padding that is not all ones.
    BadPadding,
    /// The decoded string would be longer than the caller's cap.
    TooLong,
}

/// Appends the decoding of `src` to `out`, refusing before it would grow
/// `out` by more than `cap` bytes.
pub fn decode(src: &[u8], out: &mut Vec<u8>, cap: usize) -> Result<(), HuffmanError> {
    // `acc` holds `nbits` unread bits, left-aligned.
    let mut acc: u64 = 0;
    let mut nbits: u32 = 0;
    let mut input = src.iter();
    let start = out.len();
    loop {
        while nbits <= 56 {
            match input.next() {
                Some(&b) => {
                    acc |= (b as u64) << (56 - nbits);
                    nbits += 8;
                }
                None => break,
            }
        }
        if nbits == 0 {
            return Ok(());
        }
        let window = acc >> 32;
        // Codes are at least 5 bits long; lengths without codes have the
        // previous length's limit and never match first.
        let mut len = 5;
        while len < MAX_LEN && window >= TABLE.limit[len] {
            len += 1;
        }
        if len as u32 > nbits {
            // The input ended inside a code: padding (§5.2), < 8 ones.
            let ones = !(u64::MAX >> nbits);
            return if nbits < 8 && acc & ones == ones {
                Ok(())
            } else {
                Err(HuffmanError::BadPadding)
            };
        }
        let code = (window >> (32 - len)) as u32;
        let sym = TABLE.sorted[TABLE.offset[len] as usize + (code - TABLE.first[len]) as usize];
        if sym == EOS {
            return Err(HuffmanError::Eos);
        }
        if out.len() - start >= cap {
            return Err(HuffmanError::TooLong);
        }
        out.push(sym as u8);
        acc <<= len;
        nbits -= len as u32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_ones_appendix_b_lists() {
        // (sym, code as hex, len) rows copied from RFC 7541 Appendix B.
        let rows: [(u16, u32, u8); 12] = [
            (0, 0x1ff8, 13),
            (1, 0x7fffd8, 23),
            (9, 0xffffea, 24),
            (10, 0x3ffffffc, 30),
            (22, 0x3ffffffe, 30),
            (32, 0x14, 6),
            (48, 0x0, 5),
            (b'a' as u16, 0x3, 5),
            (b'e' as u16, 0x5, 5),
            (b'z' as u16, 0x7b, 7),
            (b'~' as u16, 0x1ffd, 13),
            (256, 0x3fffffff, 30),
        ];
        for (sym, hex, len) in rows {
            assert_eq!(code(sym), (hex, len), "symbol {sym}");
        }
    }

    #[test]
    fn the_code_is_complete_and_prefix_free() {
        // Kraft sum of a complete prefix code is exactly 1.
        let kraft: u64 = LENGTHS
            .iter()
            .map(|&l| 1u64 << (MAX_LEN - l as usize))
            .sum();
        assert_eq!(kraft, 1 << MAX_LEN);
        // Every symbol decodes to itself, alone and between others.
        for sym in 0..=255u8 {
            let src = [b'a', sym, b'/'];
            let mut enc = Vec::new();
            encode(&src, &mut enc);
            assert_eq!(enc.len(), encoded_len(&src));
            let mut dec = Vec::new();
            decode(&enc, &mut dec, 100).unwrap();
            assert_eq!(dec, src);
        }
    }

    #[test]
    fn rfc_examples() {
        // RFC 7541 C.4.1: "www.example.com" is f1e3 c2e5 f23a 6ba0 ab90 f4ff.
        let mut enc = Vec::new();
        encode(b"www.example.com", &mut enc);
        assert_eq!(
            enc,
            [0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff]
        );
        // C.4.2: "no-cache" is a8eb 1064 9cbf.
        enc.clear();
        encode(b"no-cache", &mut enc);
        assert_eq!(enc, [0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf]);
        let mut dec = Vec::new();
        decode(&enc, &mut dec, 8).unwrap();
        assert_eq!(dec, b"no-cache");
    }

    #[test]
    fn bad_padding_eos_and_cap_are_refused() {
        // '0' is 00000: one byte 00000111 is '0' + 3 bits of ones padding.
        let mut out = Vec::new();
        assert_eq!(decode(&[0x07], &mut out, 10), Ok(()));
        assert_eq!(out, b"0");
        // Padding with a zero bit in it.
        out.clear();
        assert_eq!(decode(&[0x06], &mut out, 10), Err(HuffmanError::BadPadding));
        // A whole byte of ones is 8 bits of padding: too long.
        out.clear();
        assert_eq!(decode(&[0xff], &mut out, 10), Err(HuffmanError::BadPadding));
        assert_eq!(
            decode(&[0x07, 0xff], &mut out, 10),
            Err(HuffmanError::BadPadding)
        );
        // EOS itself (30 ones) plus 2 bits of padding.
        out.clear();
        assert_eq!(
            decode(&[0xff, 0xff, 0xff, 0xff], &mut out, 10),
            Err(HuffmanError::Eos)
        );
        // The cap: "no-cache" is 8 bytes.
        let mut enc = Vec::new();
        encode(b"no-cache", &mut enc);
        out.clear();
        assert_eq!(decode(&enc, &mut out, 7), Err(HuffmanError::TooLong));
        assert!(out.len() <= 7);
        // The empty string.
        out.clear();
        assert_eq!(decode(&[], &mut out, 0), Ok(()));
        assert!(out.is_empty());
    }
}
