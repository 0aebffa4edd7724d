//! Deterministic, bounded random input for the member decoders (the fuzz
//! targets in tools/fuzz do the same at length): random bytes and mutated
//! valid answers, each fed whole, one byte at a time and seven at a time.
//! Every walk must end (the driver bounds it), never panic, and give the same
//! outcome however the bytes arrive.

use super::fcgi::FcgiCodec;
use super::scgi::ScgiCodec;
use super::test_support::{drive, site, start, Seen};
use super::uwsgi::UwsgiCodec;
use super::MemberCodec;

/// xorshift64*: a fixed seed, so a failure names a reproducible case.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn fcgi_record(kind: u8, content: &[u8], padding: u8) -> Vec<u8> {
    let mut v = vec![1, kind, 0, 1];
    v.extend_from_slice(&(content.len() as u16).to_be_bytes());
    v.push(padding);
    v.push(0);
    v.extend_from_slice(content);
    v.extend(std::iter::repeat_n(0, padding as usize));
    v
}

fn seeds(kind: &str) -> Vec<Vec<u8>> {
    match kind {
        "fcgi" => {
            let end = fcgi_record(3, &[0; 8], 0);
            vec![
                [
                    fcgi_record(6, b"Content-type: text/html\r\n\r\nhello", 3),
                    fcgi_record(7, b"warning\n", 0),
                    fcgi_record(6, b"", 0),
                    end.clone(),
                ]
                .concat(),
                [fcgi_record(6, b"Status: 404 Nope\r\n\r\nx", 0), end].concat(),
            ]
        }
        "scgi" => vec![b"Status: 200 OK\r\nX-A: 1\r\n\r\nbody".to_vec()],
        _ => vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello".to_vec(),
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n".to_vec(),
            b"HTTP/1.0 200 OK\r\n\r\nto the end".to_vec(),
        ],
    }
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(4) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            1 if !v.is_empty() => v.truncate(rng.below(v.len())),
            2 => {
                let i = rng.below(v.len() + 1);
                v.insert(i, rng.next() as u8);
            }
            _ => {
                let i = rng.below(v.len() + 1);
                let b = [b'\r', b'\n', b':', b'0', 0xff, 0][rng.below(6)];
                v.insert(i, b);
            }
        }
    }
    v
}

/// One walk of `input` through a fresh codec of `kind`, `step` bytes at a time.
fn walk(kind: &str, input: &[u8], step: usize) -> Result<Vec<Seen>, String> {
    fn run(
        mut c: impl MemberCodec,
        member: &'static str,
        input: &[u8],
        step: usize,
    ) -> Result<Vec<Seen>, String> {
        let s = site(member);
        start(
            &mut c,
            &s,
            "GET /x HTTP/1.1\r\nHost: h\r\n\r\n",
            "/x",
            Some(0),
        );
        drive(&mut c, input, step, true).map_err(|e| e.0)
    }
    match kind {
        "fcgi" => run(FcgiCodec::new(), "fcgi://h", input, step),
        "scgi" => run(ScgiCodec::new(), "scgi://h", input, step),
        _ => run(UwsgiCodec::new(), "uwsgi://h", input, step),
    }
}

/// The same outcome whole, one byte and seven bytes at a time.
fn same_outcome(kind: &str, input: &[u8]) {
    let whole = walk(kind, input, input.len().max(1));
    for step in [1, 7] {
        let got = walk(kind, input, step);
        assert_eq!(
            got.is_ok(),
            whole.is_ok(),
            "{kind} step {step} vs whole differ for {input:?}: {got:?} / {whole:?}"
        );
        if let (Ok(a), Ok(b)) = (&got, &whole) {
            assert_eq!(a, b, "{kind} step {step} for {input:?}");
        }
    }
}

#[test]
fn random_and_mutated_member_answers_end_the_same_however_they_arrive() {
    let mut rng = Rng(0x5107_6a7e_0016_0c0d);
    for kind in ["fcgi", "scgi", "uwsgi"] {
        let seeds = seeds(kind);
        for round in 0..1500 {
            let input = if round % 3 == 0 {
                let n = rng.below(200);
                (0..n).map(|_| rng.next() as u8).collect::<Vec<u8>>()
            } else {
                let seed = &seeds[rng.below(seeds.len())];
                mutate(&mut rng, seed)
            };
            same_outcome(kind, &input);
        }
        // The unmutated seeds decode.
        for seed in &seeds {
            assert!(walk(kind, seed, seed.len()).is_ok(), "{kind} seed {seed:?}");
        }
    }
}
