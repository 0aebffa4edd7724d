//! HTTP/1.x message heads and body framing, shared by the client side and the
//! member side of a proxied exchange.
//!
//! Heads are parsed with httparse into owned [`RequestHead`] / [`ResponseHead`]
//! values; bodies are never held whole: [`BodyReader`] walks Content-Length,
//! chunked and close-delimited framing over whatever bytes have arrived.

mod body;
mod head;

pub use body::{BodyReader, ChunkEncoder, Framing};
pub use head::{
    give_header, give_header_list, header_list, parse_request, parse_request_with, parse_response,
    parse_response_with, reason_phrase, spare_header, valid_host, Header, HttpError, Limits,
    RequestHead, ResponseHead, MAX_HEADERS,
};

/// True when `list` (a comma-separated header value) contains `token`, compared
/// case-insensitively as RFC 9110 tokens are.
pub fn has_token(list: &[u8], token: &str) -> bool {
    list.split(|&b| b == b',')
        .any(|t| trim(t).eq_ignore_ascii_case(token.as_bytes()))
}

/// Strips optional whitespace (SP / HTAB) from both ends.
pub fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_found_case_insensitively() {
        assert!(has_token(b"keep-alive, Upgrade", "upgrade"));
        assert!(has_token(b"close", "Close"));
        assert!(!has_token(b"closed", "close"));
        assert!(!has_token(b"", "close"));
    }

    #[test]
    fn trim_strips_ows_only() {
        assert_eq!(trim(b"  a b\t"), b"a b");
        assert_eq!(trim(b""), b"");
        assert_eq!(trim(b" \t "), b"");
    }
}
