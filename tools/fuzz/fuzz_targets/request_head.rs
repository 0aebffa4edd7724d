//! `parse_request` on arbitrary bytes.
//!
//! Beyond not panicking, an accepted head must:
//! - take at most the bytes given, end in CRLF CRLF with no bare LF, and carry header
//!   names and values that cannot start a new line when forwarded;
//! - keep httpd's default limits: a request line of at most 8190 bytes
//!   (LimitRequestLine), fields of at most 8190 bytes counted as `name: value`
//!   (LimitRequestFieldSize), at most 100 fields (LimitRequestFields);
//! - parse the same when given alone (`input[..len]`), and never be refused while only a
//!   prefix of it has arrived (the worker parses growing buffers, so a read may end
//!   anywhere: mid-line, between CR and LF, at a line start);
//! - be framed one way only: never both Content-Length and Transfer-Encoding, chunked only
//!   in HTTP/1.1 with Transfer-Encoding present, Length(n) only from a Content-Length of n;
//! - have a target that is a path, `*` for OPTIONS or an http(s) URL, without a fragment
//!   (RFC 9112 §3.2), and one valid Host field (HTTP/1.1; at most one in HTTP/1.0), which
//!   for an absolute-form target is the URL's authority (§3.2.2).
#![no_main]

mod common;

use common::{check_head_bytes, check_header, content_length, count, cut_points, start_line};
use libfuzzer_sys::fuzz_target;
use slotgate::http::{parse_request, valid_host, Framing, RequestHead, MAX_HEADERS};

/// httpd's LimitRequestLine and LimitRequestFieldSize defaults.
const LINE_LIMIT: usize = 8190;

fn same(a: &RequestHead, b: &RequestHead) {
    assert_eq!(a.method, b.method);
    assert_eq!(a.target, b.target);
    assert_eq!(a.minor, b.minor);
    assert_eq!(a.headers, b.headers);
    assert_eq!(a.len, b.len);
    assert_eq!(a.framing, b.framing);
}

fuzz_target!(|data: &[u8]| {
    let Ok(Some(head)) = parse_request(data) else {
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
    assert!(head.minor <= 1);
    assert!(!head.method.is_empty());
    assert!(!head.target.is_empty());
    assert!(!head
        .target
        .bytes()
        .any(|b| b == b' ' || b == b'\r' || b == b'\n'));
    for h in &head.headers {
        check_header(h);
        let field = h.name.len() + 2 + h.value.len();
        assert!(
            field <= LINE_LIMIT,
            "field {:?} of {field} bytes accepted",
            h.name
        );
    }
    assert!(head.headers.len() <= MAX_HEADERS);
    let line = start_line(bytes).len();
    assert!(line <= LINE_LIMIT, "request line of {line} bytes accepted");

    let alone = parse_request(bytes)
        .expect("a head accepted in a longer buffer is refused alone")
        .expect("a head accepted in a longer buffer is incomplete alone");
    same(&head, &alone);

    for cut in cut_points(bytes) {
        match parse_request(&data[..cut]) {
            Ok(None) => {}
            Ok(Some(h)) => panic!("prefix of {cut} bytes already a head of {}", h.len),
            Err(e) => panic!("prefix of {cut} bytes refused ({e}) but the whole head is accepted"),
        }
    }

    let t = head.target.as_str();
    assert!(!t.contains('#'), "a fragment accepted: {t:?}");
    let lower = t.to_ascii_lowercase();
    let absolute = lower.starts_with("http://") || lower.starts_with("https://");
    assert!(
        t.starts_with('/') || (t == "*" && head.method == "OPTIONS") || absolute,
        "target {t:?} accepted for {}",
        head.method
    );
    let hosts = count(&head.headers, "host");
    assert!(
        hosts == 1 || (hosts == 0 && head.minor == 0),
        "{hosts} Host fields accepted in HTTP/1.{}",
        head.minor
    );
    if let Some(host) = head.header("host") {
        assert!(valid_host(host), "Host {:?} accepted", String::from_utf8_lossy(host));
    }
    if absolute {
        let rest = &t[t.find("://").expect("absolute") + 3..];
        let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
        assert_eq!(head.header("host"), Some(authority.as_bytes()));
    }

    let te = count(&head.headers, "transfer-encoding");
    let cl = count(&head.headers, "content-length");
    assert!(
        te == 0 || cl == 0,
        "accepted with both Content-Length and Transfer-Encoding"
    );
    match head.framing {
        Framing::Chunked => assert!(te > 0 && head.minor == 1),
        Framing::Length(n) => {
            assert!(te == 0 && n > 0);
            assert_eq!(content_length(&head.headers), Some(n));
        }
        Framing::None => {
            assert_eq!(te, 0);
            assert!(matches!(content_length(&head.headers), None | Some(0)));
            assert!(cl == 0 || content_length(&head.headers) == Some(0));
        }
        Framing::Close => panic!("a request framed by close"),
    }
});
