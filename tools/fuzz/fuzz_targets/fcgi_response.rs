//! The FastCGI decoder (`codec::fcgi::FcgiCodec`) on whatever a member sends:
//! no panic, no endless loop, the decoder contract on every step (see
//! `member.rs`), and the same outcome — heads, body, end or refusal — whether
//! the bytes come whole, one at a time or in the pieces the input chooses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slotgate::codec::fcgi::FcgiCodec;

#[path = "member.rs"]
mod member;

fuzz_target!(|data: &[u8]| {
    let Some((flags, sizes, input)) = member::split(data) else {
        return;
    };
    let head_request = flags & 1 != 0;
    let keep = flags & 2 != 0;
    let run = |sizes: &[usize]| {
        let mut c = FcgiCodec::new();
        member::start(&mut c, head_request, keep);
        member::walk(&mut c, input, sizes)
    };
    let whole = run(&[input.len().max(1)]);
    assert_eq!(run(&[1]), whole, "one byte at a time");
    assert_eq!(run(&sizes), whole, "in pieces {sizes:?}");
    if let member::End::Done { reusable } = whole.end {
        assert_eq!(reusable, keep, "reuse follows KEEP_CONN");
    }
    if head_request {
        assert!(whole.body.is_empty(), "a body for HEAD");
    }
});
