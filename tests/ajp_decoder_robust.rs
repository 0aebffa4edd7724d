//! The AJP decoder against many member answers, well-formed, cut short,
//! mutated and random, from a seeded generator (deterministic: the same cases
//! on every run). Whatever a member sends, decoding never panics, never loops,
//! and keeps every promise `common::ajp_drive` checks; well-formed answers give
//! the same result whole and in any pieces.

mod common;

use common::ajp::{body_chunk, container_packet, end_response, send_headers};
use common::ajp_drive::{drive, Ask, Outcome};

/// xorshift64*: small, seeded, good enough to pick cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// A well-formed answer: headers (some with a Content-Length), body chunks,
/// GET_BODY_CHUNKs in between when the request has a body, the end.
fn answer(rng: &mut Rng, ask: Ask) -> (Vec<u8>, Vec<u8>) {
    let mut body = Vec::new();
    for _ in 0..rng.below(5) {
        let n = rng.below(3000);
        body.extend((0..n).map(|i| (i * 7 + n) as u8));
    }
    let len = body.len().to_string();
    let mut headers: Vec<(&str, &str)> = vec![("Content-Type", "text/plain"), ("X-Y", "z")];
    if rng.below(2) == 0 {
        headers.push(("Content-Length", &len));
    }
    let mut wire = Vec::new();
    if let Ask::Post(_) | Ask::Chunked(_) = ask {
        // The member reads the body before answering, one ask at a time; the
        // driver sends as soon as it may, so asks only follow answers in
        // pieces-independent order when each is separate: one ask here.
        wire.extend(container_packet(&[6, 0x1f, 0xfa]));
    }
    wire.extend(send_headers(200, &headers));
    let mut at = 0;
    while at < body.len() {
        let n = (1 + rng.below(8000)).min(body.len() - at);
        wire.extend(body_chunk(&body[at..at + n]));
        at += n;
    }
    wire.extend(end_response(rng.below(4) != 0));
    let expected = if let Ask::Head = ask {
        Vec::new()
    } else {
        body
    };
    (wire, expected)
}

fn ask(rng: &mut Rng) -> Ask {
    match rng.below(4) {
        0 => Ask::Get,
        1 => Ask::Head,
        2 => Ask::Post(1 + rng.below(20_000)),
        _ => Ask::Chunked(rng.below(20_000)),
    }
}

fn pieces(rng: &mut Rng) -> Vec<usize> {
    (0..1 + rng.below(6)).map(|_| 1 + rng.below(300)).collect()
}

#[test]
fn well_formed_answers_decode_the_same_whole_and_in_pieces() {
    let mut rng = Rng(0x5107_6a7e_0001);
    for case in 0..400 {
        let a = ask(&mut rng);
        let (wire, expected) = answer(&mut rng, a);
        let whole = drive(a, 8192, &wire, &[]);
        assert_eq!(whole.error, None, "case {case} {a:?}");
        assert_eq!(whole.body, expected, "case {case} {a:?}");
        assert!(whole.end.is_some(), "case {case}");
        let p = pieces(&mut rng);
        let split = drive(a, 8192, &wire, &p);
        assert_eq!(split, whole, "case {case} {a:?} pieces {p:?}");
    }
}

#[test]
fn cut_mutated_and_random_answers_never_panic_nor_loop() {
    let mut rng = Rng(0x5107_6a7e_0002);
    let mut errors = 0;
    for case in 0..3000 {
        let a = ask(&mut rng);
        let (mut wire, _) = answer(&mut rng, a);
        match rng.below(4) {
            // Cut anywhere: the member closed.
            0 => wire.truncate(rng.below(wire.len())),
            // Flip bytes (lengths, codes, magic, NULs).
            1 => {
                for _ in 0..1 + rng.below(4) {
                    let i = rng.below(wire.len());
                    wire[i] ^= 1 << rng.below(8);
                }
            }
            // Insert random bytes somewhere.
            2 => {
                let at = rng.below(wire.len());
                let junk: Vec<u8> = (0..1 + rng.below(16)).map(|_| rng.next() as u8).collect();
                wire.splice(at..at, junk);
            }
            // Random bytes, sometimes behind a valid magic.
            _ => {
                let n = rng.below(600);
                wire = (0..n).map(|_| rng.next() as u8).collect();
                if rng.below(2) == 0 && n >= 2 {
                    wire[..2].copy_from_slice(b"AB");
                }
            }
        }
        let packet = if rng.below(3) == 0 { 65536 } else { 8192 };
        let whole: Outcome = drive(a, packet, &wire, &[]);
        let _ = drive(a, packet, &wire, &pieces(&mut rng));
        errors += usize::from(whole.error.is_some());
        if let Some(e) = &whole.error {
            assert!(e.starts_with("AJP member: "), "case {case}: {e}");
        }
    }
    // The mutations do break most answers (the test would be empty otherwise).
    assert!(
        errors > 1500,
        "only {errors} of 3000 broken answers were refused"
    );
}

#[test]
fn packets_over_the_packet_size_are_refused_at_their_header() {
    // A SEND_BODY_CHUNK of 9000 bytes: too large for 8192, fine for 65536.
    let mut wire = send_headers(200, &[]);
    wire.extend(body_chunk(&[1; 9000]));
    wire.extend(end_response(true));
    let small = drive(Ask::Get, 8192, &wire, &[]);
    assert!(small.error.unwrap().contains("larger than packetsize=8192"));
    assert!(
        small.body.is_empty(),
        "refused before any of it is passed on"
    );
    let big = drive(Ask::Get, 65536, &wire, &[]);
    assert_eq!(big.error, None);
    assert_eq!(big.body.len(), 9000);
}
