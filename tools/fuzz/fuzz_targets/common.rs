//! Checks shared by the head targets: what any accepted head must look like, whether it
//! is a request or a response.

use slotgate::http::Header;

/// An accepted head is `len` bytes that end with the empty line, and every line in it
/// ends in CRLF (a bare LF would let a strict member read a different head).
pub fn check_head_bytes(head: &[u8]) {
    assert!(
        head.ends_with(b"\r\n\r\n"),
        "head does not end in CRLF CRLF"
    );
    for (i, &b) in head.iter().enumerate() {
        if b == b'\n' {
            assert!(
                i > 0 && head[i - 1] == b'\r',
                "bare LF at {i} in an accepted head"
            );
        }
    }
}

/// Header names are non-empty tokens; values hold no CR, LF or NUL, so nothing a
/// proxy forwards can start a new line on the other side.
pub fn check_header(h: &Header) {
    assert!(!h.name.is_empty(), "empty header name");
    assert!(
        h.name.bytes().all(|b| b.is_ascii_graphic() && b != b':'),
        "header name {:?} is not a token",
        h.name
    );
    assert!(
        !h.value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0),
        "header value of {:?} holds CR, LF or NUL: {:?}",
        h.name,
        h.value
    );
}

/// How many fields are named `name` (case-insensitively).
pub fn count(headers: &[Header], name: &str) -> usize {
    headers.iter().filter(|h| h.is(name)).count()
}

/// The single Content-Length every `content-length` field agrees on, if any (the
/// harness's own reading, to compare with the framing the parser chose).
pub fn content_length(headers: &[Header]) -> Option<u64> {
    let mut found = None;
    for h in headers.iter().filter(|h| h.is("content-length")) {
        for part in h.value.split(|&b| b == b',') {
            let part = std::str::from_utf8(part).ok()?;
            let n: u64 = part.trim_matches([' ', '\t']).parse().ok()?;
            found = Some(n);
        }
    }
    found
}

/// Where a worker's read could end inside `head` (its first `len` bytes): a few fixed
/// points, plus just before and just after each LF (a buffer ending in CR, or at a line
/// start), for the first 64 lines.
pub fn cut_points(head: &[u8]) -> Vec<usize> {
    let mut cuts = vec![1, head.len() / 2, head.len() - 1];
    for (i, _) in head
        .iter()
        .enumerate()
        .filter(|(_, &b)| b == b'\n')
        .take(64)
    {
        cuts.push(i);
        cuts.push(i + 1);
    }
    cuts.retain(|&c| c > 0 && c < head.len());
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// The first line of `head` that is not empty (httparse skips empty lines before the
/// start line), without its CRLF.
pub fn start_line(head: &[u8]) -> &[u8] {
    let mut rest = head;
    while let Some(after) = rest.strip_prefix(b"\r\n") {
        rest = after;
    }
    let end = rest
        .windows(2)
        .position(|w| w == b"\r\n")
        .unwrap_or(rest.len());
    &rest[..end]
}
