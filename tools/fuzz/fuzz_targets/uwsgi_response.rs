//! The uwsgi decoder (`codec::uwsgi::UwsgiCodec`: an HTTP head, then a body
//! by Content-Length, chunks or to the end) on whatever a member sends: no
//! panic, no endless loop, the decoder contract on every step (see
//! `member.rs`), the same outcome whole, byte by byte and in chosen pieces,
//! and a uwsgi connection is never reused.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slotgate::codec::uwsgi::UwsgiCodec;

#[path = "member.rs"]
mod member;

fuzz_target!(|data: &[u8]| {
    let Some((flags, sizes, input)) = member::split(data) else {
        return;
    };
    let head_request = flags & 1 != 0;
    let run = |sizes: &[usize]| {
        let mut c = UwsgiCodec::new();
        member::start(&mut c, head_request, false);
        member::walk(&mut c, input, sizes)
    };
    let whole = run(&[input.len().max(1)]);
    assert_eq!(run(&[1]), whole, "one byte at a time");
    assert_eq!(run(&sizes), whole, "in pieces {sizes:?}");
    assert_ne!(whole.end, member::End::Done { reusable: true });
    if head_request {
        assert!(whole.body.is_empty(), "a body for HEAD");
    }
});
