//! `parse_response` on arbitrary bytes, as the answer to a HEAD and to anything else.
//!
//! Beyond not panicking, an accepted head must:
//! - take at most the bytes given, end in CRLF CRLF with no bare LF, carry a status in
//!   100..=999 and header names and values that cannot start a new line when forwarded;
//! - keep the default `responsefieldsize` (8192): no line longer, counted as the parser
//!   counts (status line up to its LF, fields as `name: value`), and never both
//!   Content-Length and Transfer-Encoding (refused as 502 since the member's framing is
//!   ambiguous);
//! - parse the same when given alone (`input[..len]`), and never be refused while only a
//!   prefix of it has arrived;
//! - as the answer to a HEAD, be the same head with no body; a status 1xx, 204 or 304
//!   has no body either; Length(n) comes only from a Content-Length of n.
#![no_main]

mod common;

use common::{check_head_bytes, check_header, content_length, count, cut_points, start_line};
use libfuzzer_sys::fuzz_target;
use slotgate::http::{parse_response, Framing, ResponseHead};

/// The default `responsefieldsize`.
const FIELD_SIZE: usize = 8192;

fn same_but_framing(a: &ResponseHead, b: &ResponseHead) {
    assert_eq!(a.status, b.status);
    assert_eq!(a.reason, b.reason);
    assert_eq!(a.minor, b.minor);
    assert_eq!(a.headers, b.headers);
    assert_eq!(a.len, b.len);
}

fn check(data: &[u8], head_request: bool) {
    let Ok(Some(head)) = parse_response(data, head_request) else {
        return;
    };
    assert!(
        head.len > 0 && head.len <= data.len(),
        "len {} of {}",
        head.len,
        data.len()
    );
    let bytes = &data[..head.len];
    check_head_bytes(bytes);
    assert!((100..=999).contains(&head.status));
    assert!(head.minor <= 1);
    assert!(!head.reason.bytes().any(|b| b == b'\r' || b == b'\n'));
    for h in &head.headers {
        check_header(h);
        let field = h.name.len() + 2 + h.value.len();
        assert!(
            field <= FIELD_SIZE,
            "field {:?} of {field} bytes accepted",
            h.name
        );
    }
    // +1: the parser counts the status line up to its LF, CR included.
    let line = start_line(bytes).len();
    assert!(
        line + 1 <= FIELD_SIZE,
        "status line of {line} bytes accepted"
    );

    let alone = parse_response(bytes, head_request)
        .expect("a head accepted in a longer buffer is refused alone")
        .expect("a head accepted in a longer buffer is incomplete alone");
    same_but_framing(&head, &alone);
    assert_eq!(head.framing, alone.framing);

    for cut in cut_points(bytes) {
        match parse_response(&data[..cut], head_request) {
            Ok(None) => {}
            Ok(Some(h)) => panic!("prefix of {cut} bytes already a head of {}", h.len),
            Err(e) => panic!("prefix of {cut} bytes refused ({e}) but the whole head is accepted"),
        }
    }

    let te = count(&head.headers, "transfer-encoding");
    let cl = count(&head.headers, "content-length");
    assert!(
        te == 0 || cl == 0,
        "accepted with both Content-Length and Transfer-Encoding"
    );
    let bodiless = head_request || head.status < 200 || head.status == 204 || head.status == 304;
    match head.framing {
        Framing::None => assert!(
            bodiless || (te == 0 && content_length(&head.headers) == Some(0)),
            "no body for status {} with TE {te}",
            head.status
        ),
        Framing::Chunked => assert!(!bodiless && te > 0),
        Framing::Length(n) => {
            assert!(!bodiless && te == 0 && n > 0);
            assert_eq!(content_length(&head.headers), Some(n));
        }
        Framing::Close => assert!(!bodiless),
    }

    if !head_request {
        // The same bytes answering a HEAD: the same head, never a body.
        let as_head = parse_response(data, true)
            .expect("accepted for GET but refused for HEAD")
            .expect("complete for GET but not for HEAD");
        same_but_framing(&head, &as_head);
        assert_eq!(as_head.framing, Framing::None);
    }
}

fuzz_target!(|data: &[u8]| {
    check(data, false);
    check(data, true);
});
