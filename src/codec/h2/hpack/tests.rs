use super::*;
use crate::codec::h2::frame::DEFAULT_HEADER_TABLE_SIZE;

const BIG: usize = 1 << 20;

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn pairs(l: &HeaderList) -> Vec<(String, String)> {
    l.iter()
        .map(|f| {
            (
                String::from_utf8_lossy(f.name).into_owned(),
                String::from_utf8_lossy(f.value).into_owned(),
            )
        })
        .collect()
}

fn table_of(t: &DynamicTable) -> Vec<(String, String)> {
    (0..t.len())
        .map(|i| {
            let (n, v) = t.get(i).unwrap();
            (
                String::from_utf8_lossy(n).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
}

fn owned(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn c1_integers() {
    // C.1.1: 10 with a 5-bit prefix is one byte 0x0a.
    let mut out = Vec::new();
    encode_int(10, 5, 0, &mut out);
    assert_eq!(out, [0x0a]);
    // C.1.2: 1337 with a 5-bit prefix is 1f 9a 0a.
    out.clear();
    encode_int(1337, 5, 0, &mut out);
    assert_eq!(out, [0x1f, 0x9a, 0x0a]);
    // C.1.3: 42 at an octet boundary (8-bit prefix) is 0x2a.
    out.clear();
    encode_int(42, 8, 0, &mut out);
    assert_eq!(out, [0x2a]);
    let mut pos = 0;
    assert_eq!(decode_int(&[0x1f, 0x9a, 0x0a], &mut pos, 5), Ok(1337));
    assert_eq!(pos, 3);
    // Round trips at the edges of each prefix and of u32.
    for n in 1..=8u8 {
        for v in [
            0,
            1,
            (1 << n) - 2,
            (1 << n) - 1,
            1 << n,
            127,
            128,
            16_383,
            1 << 21,
            u32::MAX as usize,
        ] {
            let mut out = Vec::new();
            encode_int(v, n, 0, &mut out);
            let mut pos = 0;
            assert_eq!(
                decode_int(&out, &mut pos, n),
                Ok(v as u32),
                "{v} in {n} bits"
            );
            assert_eq!(pos, out.len());
        }
    }
}

#[test]
fn oversized_and_cut_integers_are_refused() {
    // 2^32 with a 5-bit prefix.
    let mut out = Vec::new();
    encode_int(1 << 32, 5, 0, &mut out);
    let mut pos = 0;
    assert!(matches!(
        decode_int(&out, &mut pos, 5),
        Err(DecodeError::Compression(_))
    ));
    // Endless continuation bytes (value stays 31 + 0).
    let mut b = vec![0x1f];
    b.extend([0x80; 20]);
    b.push(0);
    let mut pos = 0;
    assert_eq!(
        decode_int(&b, &mut pos, 5),
        Err(DecodeError::Compression("integer encoding too long"))
    );
    let mut pos = 0;
    assert_eq!(
        decode_int(&[0x1f, 0x80], &mut pos, 5),
        Err(DecodeError::Compression("integer cut short"))
    );
}

/// (hex block, expected list, expected dynamic table newest first, size)
type Case<'a> = (
    &'a str,
    &'a [(&'a str, &'a str)],
    &'a [(&'a str, &'a str)],
    usize,
);

fn run_decoder(table_size: usize, cases: &[Case]) {
    let mut d = Decoder::new(table_size, BIG);
    let mut l = HeaderList::default();
    for (i, (block, list, table, size)) in cases.iter().enumerate() {
        d.decode(&hex(block), &mut l)
            .unwrap_or_else(|e| panic!("block {i}: {e}"));
        assert_eq!(pairs(&l), owned(list), "block {i}");
        assert_eq!(table_of(d.table()), owned(table), "block {i}");
        assert_eq!(d.table().size(), *size, "block {i}");
    }
}

/// Encodes each case's list with one encoder and checks the RFC's bytes.
fn run_encoder(mut e: Encoder, cases: &[Case]) {
    for (i, (block, list, table, size)) in cases.iter().enumerate() {
        let mut out = Vec::new();
        e.encode(
            list.iter()
                .map(|(n, v)| Field::new(n.as_bytes(), v.as_bytes())),
            &mut out,
        );
        assert_eq!(out, hex(block), "block {i}");
        assert_eq!(table_of(e.table()), owned(table), "block {i}");
        assert_eq!(e.table().size(), *size, "block {i}");
    }
}

#[test]
fn c2_field_representations() {
    // C.2.1 literal with indexing: custom-key: custom-header, table size 55.
    run_decoder(
        4096,
        &[(
            "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
            &[("custom-key", "custom-header")],
            &[("custom-key", "custom-header")],
            55,
        )],
    );
    // C.2.2 literal without indexing: :path /sample/path, table empty.
    run_decoder(
        4096,
        &[(
            "040c 2f73 616d 706c 652f 7061 7468",
            &[(":path", "/sample/path")],
            &[],
            0,
        )],
    );
    // C.2.3 never indexed: password: secret, table empty, marked sensitive.
    let mut d = Decoder::new(4096, BIG);
    let mut l = HeaderList::default();
    d.decode(&hex("1008 7061 7373 776f 7264 0673 6563 7265 74"), &mut l)
        .unwrap();
    assert_eq!(
        l.get(0),
        Some(Field {
            name: b"password",
            value: b"secret",
            sensitive: true
        })
    );
    assert!(d.table().is_empty());
    // C.2.4 indexed: :method GET.
    run_decoder(4096, &[("82", &[(":method", "GET")], &[], 0)]);
}

const C3: [Case; 3] = [
    (
        "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
        &[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "www.example.com"),
        ],
        &[(":authority", "www.example.com")],
        57,
    ),
    (
        "8286 84be 5808 6e6f 2d63 6163 6865",
        &[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "www.example.com"),
            ("cache-control", "no-cache"),
        ],
        &[
            ("cache-control", "no-cache"),
            (":authority", "www.example.com"),
        ],
        110,
    ),
    (
        "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
        &[
            (":method", "GET"),
            (":scheme", "https"),
            (":path", "/index.html"),
            (":authority", "www.example.com"),
            ("custom-key", "custom-value"),
        ],
        &[
            ("custom-key", "custom-value"),
            ("cache-control", "no-cache"),
            (":authority", "www.example.com"),
        ],
        164,
    ),
];

const C4: [Case; 3] = [
    (
        "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
        C3[0].1,
        C3[0].2,
        57,
    ),
    ("8286 84be 5886 a8eb 1064 9cbf", C3[1].1, C3[1].2, 110),
    (
        "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
        C3[2].1,
        C3[2].2,
        164,
    ),
];

const C5_LIST_1: &[(&str, &str)] = &[
    (":status", "302"),
    ("cache-control", "private"),
    ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
    ("location", "https://www.example.com"),
];
const C5_TABLE_1: &[(&str, &str)] = &[
    ("location", "https://www.example.com"),
    ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
    ("cache-control", "private"),
    (":status", "302"),
];
const C5_LIST_2: &[(&str, &str)] = &[
    (":status", "307"),
    ("cache-control", "private"),
    ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
    ("location", "https://www.example.com"),
];
const C5_TABLE_2: &[(&str, &str)] = &[
    (":status", "307"),
    ("location", "https://www.example.com"),
    ("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
    ("cache-control", "private"),
];
const C5_LIST_3: &[(&str, &str)] = &[
    (":status", "200"),
    ("cache-control", "private"),
    ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
    ("location", "https://www.example.com"),
    ("content-encoding", "gzip"),
    (
        "set-cookie",
        "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
    ),
];
const C5_TABLE_3: &[(&str, &str)] = &[
    (
        "set-cookie",
        "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
    ),
    ("content-encoding", "gzip"),
    ("date", "Mon, 21 Oct 2013 20:13:22 GMT"),
];

const C5: [Case; 3] = [
    (
        "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
         2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
         6c65 2e63 6f6d",
        C5_LIST_1,
        C5_TABLE_1,
        222,
    ),
    ("4803 3330 37c1 c0bf", C5_LIST_2, C5_TABLE_2, 222),
    (
        "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
         54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
         5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
         3d31",
        C5_LIST_3,
        C5_TABLE_3,
        215,
    ),
];

const C6: [Case; 3] = [
    (
        "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
         2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
        C5_LIST_1,
        C5_TABLE_1,
        222,
    ),
    ("4883 640e ffc1 c0bf", C5_LIST_2, C5_TABLE_2, 222),
    (
        "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
         77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
         9587 3160 65c0 03ed 4ee5 b106 3d50 07",
        C5_LIST_3,
        C5_TABLE_3,
        215,
    ),
];

/// An encoder whose table is `size` from the start, as the RFC's examples
/// assume (the size is agreed by SETTINGS, so no update is sent).
fn encoder(size: usize, huffman: bool) -> Encoder {
    let mut e = Encoder::new(size);
    e.pending = None;
    e.set_huffman(huffman);
    e
}

#[test]
fn c3_requests_without_huffman() {
    run_decoder(4096, &C3);
    run_encoder(encoder(4096, false), &C3);
}

#[test]
fn c4_requests_with_huffman() {
    run_decoder(4096, &C4);
    run_encoder(encoder(4096, true), &C4);
}

#[test]
fn c5_responses_without_huffman() {
    run_decoder(256, &C5);
    run_encoder(encoder(256, false), &C5);
}

#[test]
fn c6_responses_with_huffman() {
    run_decoder(256, &C6);
    run_encoder(encoder(256, true), &C6);
}

#[test]
fn table_size_updates() {
    let mut d = Decoder::new(4096, BIG);
    let mut l = HeaderList::default();
    d.decode(&hex(C3[0].0), &mut l).unwrap();
    assert_eq!(d.table().len(), 1);
    // An update to 0 at the start empties the table; then one back to 4096.
    let mut block = Vec::new();
    encode_int(0, 5, 0x20, &mut block);
    encode_int(4096, 5, 0x20, &mut block);
    block.push(0x82);
    d.decode(&block, &mut l).unwrap();
    assert!(d.table().is_empty());
    assert_eq!(d.table().max_size(), 4096);
    // Above the advertised limit.
    let mut block = Vec::new();
    encode_int(4097, 5, 0x20, &mut block);
    assert_eq!(
        d.decode(&block, &mut l),
        Err(DecodeError::Compression(
            "table size update above SETTINGS_HEADER_TABLE_SIZE"
        ))
    );
    // After a field.
    let mut d = Decoder::new(4096, BIG);
    assert_eq!(
        d.decode(&[0x82, 0x20], &mut l),
        Err(DecodeError::Compression("table size update after a field"))
    );
    // This side lowered its SETTINGS_HEADER_TABLE_SIZE: the next block must
    // start with an update, at most the new limit.
    let mut d = Decoder::new(4096, BIG);
    d.set_settings_limit(100);
    assert!(matches!(
        d.decode(&[0x82], &mut l),
        Err(DecodeError::Compression(_))
    ));
    let mut d = Decoder::new(4096, BIG);
    d.set_settings_limit(100);
    let mut block = Vec::new();
    encode_int(100, 5, 0x20, &mut block);
    block.push(0x82);
    d.decode(&block, &mut l).unwrap();
    assert_eq!(d.table().max_size(), 100);
    d.decode(&[0x82], &mut l).unwrap();

    // The encoder says its own smaller size first, and the smallest size
    // the table went through before the final one.
    let mut e = Encoder::new(1024);
    let mut out = Vec::new();
    e.encode([Field::new(b":method", b"GET")], &mut out);
    let mut want = Vec::new();
    encode_int(1024, 5, 0x20, &mut want);
    want.push(0x82);
    assert_eq!(out, want);
    e.set_peer_limit(0);
    e.set_peer_limit(512);
    out.clear();
    e.encode([Field::new(b":method", b"GET")], &mut out);
    let mut want = Vec::new();
    encode_int(0, 5, 0x20, &mut want);
    encode_int(512, 5, 0x20, &mut want);
    want.push(0x82);
    assert_eq!(out, want);
    let mut d = Decoder::new(DEFAULT_HEADER_TABLE_SIZE as usize, BIG);
    d.decode(&out, &mut l).unwrap();
    assert_eq!(d.table().max_size(), 512);
}

#[test]
fn malformed_blocks_are_compression_errors() {
    let mut d = Decoder::new(4096, BIG);
    let mut l = HeaderList::default();
    for (block, why) in [
        (&[0x80][..], "index 0"),
        (&[0xbe][..], "index beyond the tables"),
        (&[0x40, 0x05, b'a'][..], "string longer than the block"),
        (&[0x00][..], "string cut short"),
        (&[0x40, 0x81, 0xff][..], "bad Huffman padding"),
        (
            &[0x04, 0x84, 0xff, 0xff, 0xff, 0xff][..],
            "EOS in a Huffman string",
        ),
    ] {
        assert_eq!(d.decode(block, &mut l), Err(DecodeError::Compression(why)));
    }
}

#[test]
fn hpack_bomb_stops_collecting_and_keeps_the_table_in_step() {
    // One 4000-byte entry, then a block that indexes it 10 000 times:
    // 40 MB of fields from 10 kB of block.
    let limit = 16 * 1024;
    let mut d = Decoder::new(4096, limit);
    let mut l = HeaderList::default();
    let big = vec![b'x'; 4000];
    let mut block = vec![0x40];
    encode_str(b"x-bomb", false, &mut block);
    encode_str(&big, false, &mut block);
    d.decode(&block, &mut l).unwrap();
    assert_eq!(d.table().len(), 1);
    let mut bomb = vec![0xbe; 10_000];
    // A literal with indexing after the bound is passed still enters the
    // table (so the next block sees the same table the peer has).
    bomb.push(0x40);
    encode_str(b"after", false, &mut bomb);
    encode_str(b"bomb", true, &mut bomb);
    assert_eq!(
        d.decode(&bomb, &mut l),
        Err(DecodeError::ListTooLarge { limit })
    );
    assert!(l.list_size() <= limit);
    assert_eq!(l.len(), 4); // 4 × 4038 fit in 16384
    assert_eq!(d.table().get(0), Some((&b"after"[..], &b"bomb"[..])));
    // The connection goes on: the next block decodes against that table.
    d.decode(&[0xbe, 0xbf], &mut l).unwrap();
    assert_eq!(
        pairs(&l),
        owned(&[("after", "bomb"), ("x-bomb", &"x".repeat(4000))])
    );
}

#[test]
fn oversized_strings_are_skipped_before_allocating() {
    // A 1 MB literal without indexing against a 8 KiB list bound: refused,
    // and the decoder's scratch and the list never grow past the bound.
    let limit = 8192;
    let mut d = Decoder::new(4096, limit);
    let mut l = HeaderList::default();
    let mut block = vec![0x00];
    encode_str(b"x-big", true, &mut block);
    encode_str(&vec![b'a'; 1 << 20], true, &mut block);
    assert_eq!(
        d.decode(&block, &mut l),
        Err(DecodeError::ListTooLarge { limit })
    );
    assert!(
        d.scratch.capacity() <= limit,
        "scratch grew to {}",
        d.scratch.capacity()
    );
    assert!(l.is_empty());
    // A literal with indexing larger than the table empties it and is not
    // kept, without being copied either.
    let mut d = Decoder::new(4096, limit);
    d.decode(&hex(C3[0].0), &mut l).unwrap();
    let mut block = vec![0x40];
    encode_str(b"x-big", false, &mut block);
    encode_str(&vec![b'a'; 100_000], false, &mut block);
    assert_eq!(
        d.decode(&block, &mut l),
        Err(DecodeError::ListTooLarge { limit })
    );
    assert!(d.table().is_empty());
    assert!(d.scratch.capacity() <= limit);
    // The exact bound: a field of size == limit fits, one more byte does not.
    let mut d = Decoder::new(4096, 32 + 2 + 10);
    let mut block = vec![0x00];
    encode_str(b"ab", false, &mut block);
    encode_str(b"0123456789", false, &mut block);
    d.decode(&block, &mut l).unwrap();
    assert_eq!(l.list_size(), 44);
    d.set_max_list_size(43);
    assert!(matches!(
        d.decode(&block, &mut l),
        Err(DecodeError::ListTooLarge { .. })
    ));
}

#[test]
fn encoder_round_trip_and_sensitive_fields() {
    let mut e = Encoder::new(4096);
    let mut d = Decoder::new(4096, BIG);
    let mut l = HeaderList::default();
    let fields: Vec<(Vec<u8>, Vec<u8>)> = (0..300u32)
        .map(|i| {
            (
                format!("x-h{}", i % 37).into_bytes(),
                format!("v{}", i * 7919 % 101)
                    .repeat(1 + (i % 5) as usize)
                    .into_bytes(),
            )
        })
        .collect();
    for chunk in fields.chunks(17) {
        let mut out = Vec::new();
        e.encode(chunk.iter().map(|(n, v)| Field::new(n, v)), &mut out);
        d.decode(&out, &mut l).unwrap();
        let got: Vec<(Vec<u8>, Vec<u8>)> = l
            .iter()
            .map(|f| (f.name.to_vec(), f.value.to_vec()))
            .collect();
        assert_eq!(got, chunk);
        assert_eq!(table_of(e.table()), table_of(d.table()));
    }
    // Never indexed: marked so by the decoder, and not in either table.
    let mut out = Vec::new();
    e.encode(
        [
            Field {
                name: b"x-secret",
                value: b"s3",
                sensitive: true,
            },
            Field::new(b"authorization", b"Basic Zm9vOmJhcg=="),
        ],
        &mut out,
    );
    d.decode(&out, &mut l).unwrap();
    assert!(l.iter().all(|f| f.sensitive));
    assert_eq!(d.table().find(b"x-secret", b"s3"), (0, 0));
    assert_eq!(table_of(e.table()), table_of(d.table()));
}

#[test]
fn random_blocks_never_panic() {
    // Random bytes, and valid blocks with random bytes flipped, against small
    // bounds; each decoder is reused so table state carries across blocks.
    let mut rng = crate::codec::h2::frame::tests::Rng(0x2545_f491_4f6c_dd1d);
    let mut d = Decoder::new(256, 512);
    let mut l = HeaderList::default();
    let seeds: Vec<Vec<u8>> = C3
        .iter()
        .chain(&C4)
        .chain(&C5)
        .chain(&C6)
        .map(|c| hex(c.0))
        .collect();
    for i in 0..100_000 {
        let block: Vec<u8> = if i % 2 == 0 {
            let n = rng.below(48) as usize;
            (0..n).map(|_| rng.next() as u8).collect()
        } else {
            let mut b = seeds[rng.below(seeds.len() as u64) as usize].clone();
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(b.len() as u64) as usize;
                b[at] ^= 1 << rng.below(8);
            }
            b
        };
        match d.decode(&block, &mut l) {
            Ok(()) => assert!(l.list_size() <= 512),
            Err(DecodeError::ListTooLarge { .. }) => assert!(l.list_size() <= 512),
            Err(DecodeError::Compression(_)) => d = Decoder::new(256, 512),
        }
        assert!(d.table().size() <= 256);
    }
}
