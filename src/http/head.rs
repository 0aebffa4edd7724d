//! Request and response heads: parsing with httparse into owned values, and the
//! framing rules of RFC 9112 §6 that decide how the body is delimited.

use super::{has_token, trim, Framing};

/// Most header fields accepted in one head (httpd's `LimitRequestFields` default).
pub const MAX_HEADERS: usize = 100;
/// Longest request line (httpd's `LimitRequestLine` default).
const MAX_REQUEST_LINE: usize = 8190;
/// Largest whole head accepted; a head still incomplete past this is refused.
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// One header field as received: the name keeps its case, the value its bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: Vec<u8>,
}

impl Header {
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// Why a head could not be accepted; `status` is what the client gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpError {
    pub status: u16,
    pub reason: &'static str,
}

impl HttpError {
    fn new(status: u16, reason: &'static str) -> Self {
        HttpError { status, reason }
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.reason, self.status)
    }
}

#[derive(Clone, Debug)]
pub struct RequestHead {
    pub method: String,
    /// The request-target exactly as sent.
    pub target: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub minor: u8,
    pub headers: Vec<Header>,
    /// Bytes the head took in the buffer, final CRLF included.
    pub len: usize,
    pub framing: Framing,
}

impl RequestHead {
    /// The first value of `name`, if present.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        find(&self.headers, name)
    }

    /// Whether the client asks to keep the connection open after this exchange.
    pub fn wants_keep_alive(&self) -> bool {
        let conn = self.connection_tokens();
        if self.minor == 0 {
            has_any(&conn, "keep-alive")
        } else {
            !has_any(&conn, "close")
        }
    }

    pub fn is_head(&self) -> bool {
        self.method == "HEAD"
    }

    fn connection_tokens(&self) -> Vec<&[u8]> {
        self.headers
            .iter()
            .filter(|h| h.is("connection"))
            .map(|h| h.value.as_slice())
            .collect()
    }
}

#[derive(Clone, Debug)]
pub struct ResponseHead {
    pub status: u16,
    pub reason: String,
    pub minor: u8,
    pub headers: Vec<Header>,
    pub len: usize,
    pub framing: Framing,
}

impl ResponseHead {
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        find(&self.headers, name)
    }

    /// Whether the member lets us reuse its connection after this response.
    pub fn allows_reuse(&self) -> bool {
        let close = self
            .headers
            .iter()
            .filter(|h| h.is("connection"))
            .any(|h| has_token(&h.value, "close"));
        self.minor == 1 && !close && self.framing != Framing::Close
    }
}

fn find<'a>(headers: &'a [Header], name: &str) -> Option<&'a [u8]> {
    headers
        .iter()
        .find(|h| h.is(name))
        .map(|h| h.value.as_slice())
}

fn has_any(values: &[&[u8]], token: &str) -> bool {
    values.iter().any(|v| has_token(v, token))
}

fn owned_headers(raw: &[httparse::Header<'_>]) -> Vec<Header> {
    raw.iter()
        .map(|h| Header {
            name: h.name.to_string(),
            value: h.value.to_vec(),
        })
        .collect()
}

/// Parses a request head from the start of `buf`. `Ok(None)` means more bytes are needed.
pub fn parse_request(buf: &[u8]) -> Result<Option<RequestHead>, HttpError> {
    // httpd tolerates (and skips) empty lines before a request line.
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let status = req.parse(buf).map_err(|e| match e {
        httparse::Error::Version => HttpError::new(505, "unsupported HTTP version"),
        httparse::Error::TooManyHeaders => HttpError::new(400, "too many header fields"),
        _ => HttpError::new(400, "malformed request head"),
    });
    let len = match status? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => {
            return match check_partial(buf) {
                Some(e) => Err(e),
                None => Ok(None),
            };
        }
    };
    if has_bare_lf(&buf[..len]) {
        return Err(HttpError::new(400, "line ending without CR"));
    }
    let line_len = buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len());
    if line_len > MAX_REQUEST_LINE {
        return Err(HttpError::new(414, "request line too long"));
    }
    let headers = owned_headers(req.headers);
    let minor = req.version.unwrap_or(1);
    let framing = request_framing(&headers, minor)?;
    Ok(Some(RequestHead {
        method: req.method.unwrap_or("GET").to_string(),
        target: req.path.unwrap_or("/").to_string(),
        minor,
        headers,
        len,
        framing,
    }))
}

/// True when a line of the head ends in LF alone. httparse accepts that; a proxy
/// must not, or it would read a head differently from a strict member.
fn has_bare_lf(head: &[u8]) -> bool {
    head.iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || head[i - 1] != b'\r'))
}

/// A partial head that can already be refused: a request line or head too long.
fn check_partial(buf: &[u8]) -> Option<HttpError> {
    match buf.iter().position(|&b| b == b'\n') {
        None if buf.len() > MAX_REQUEST_LINE => Some(HttpError::new(414, "request line too long")),
        _ if buf.len() >= MAX_HEAD => Some(HttpError::new(400, "request head too large")),
        _ => None,
    }
}

/// RFC 9112 §6.3 for requests, refusing what could be framed two ways.
fn request_framing(headers: &[Header], minor: u8) -> Result<Framing, HttpError> {
    let te: Vec<&Header> = headers
        .iter()
        .filter(|h| h.is("transfer-encoding"))
        .collect();
    let cl = content_length(headers).map_err(|_| HttpError::new(400, "invalid Content-Length"))?;
    if !te.is_empty() {
        if cl.is_some() {
            return Err(HttpError::new(
                400,
                "both Content-Length and Transfer-Encoding",
            ));
        }
        if minor == 0 {
            return Err(HttpError::new(
                400,
                "Transfer-Encoding in an HTTP/1.0 request",
            ));
        }
        let codings: Vec<&[u8]> = te
            .iter()
            .flat_map(|h| h.value.split(|&b| b == b','))
            .map(trim)
            .collect();
        let last_chunked = codings
            .last()
            .is_some_and(|c| c.eq_ignore_ascii_case(b"chunked"));
        if !last_chunked {
            return Err(HttpError::new(
                400,
                "Transfer-Encoding does not end in chunked",
            ));
        }
        if codings.len() > 1 {
            return Err(HttpError::new(501, "unsupported Transfer-Encoding"));
        }
        return Ok(Framing::Chunked);
    }
    Ok(match cl {
        Some(0) | None => Framing::None,
        Some(n) => Framing::Length(n),
    })
}

/// The Content-Length of a head: None when absent; an error when any value is not
/// a plain decimal number or the values differ.
fn content_length(headers: &[Header]) -> Result<Option<u64>, ()> {
    let mut found: Option<u64> = None;
    for h in headers.iter().filter(|h| h.is("content-length")) {
        for part in h.value.split(|&b| b == b',') {
            let part = trim(part);
            if part.is_empty() || part.len() > 18 || !part.iter().all(u8::is_ascii_digit) {
                return Err(());
            }
            let n: u64 = std::str::from_utf8(part)
                .map_err(|_| ())?
                .parse()
                .map_err(|_| ())?;
            match found {
                Some(prev) if prev != n => return Err(()),
                _ => found = Some(n),
            }
        }
    }
    Ok(found)
}

/// Parses a response head from the start of `buf`. `head_request` says whether it
/// answers a HEAD (no body whatever the headers say).
pub fn parse_response(buf: &[u8], head_request: bool) -> Result<Option<ResponseHead>, HttpError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let bad = HttpError::new(502, "malformed response head from member");
    let len = match resp.parse(buf).map_err(|_| bad.clone())? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial if buf.len() >= MAX_HEAD => return Err(bad),
        httparse::Status::Partial => return Ok(None),
    };
    let status = resp.code.unwrap_or(0);
    if !(100..=999).contains(&status) {
        return Err(bad);
    }
    let headers = owned_headers(resp.headers);
    let framing = if head_request || status < 200 || status == 204 || status == 304 {
        Framing::None
    } else if find(&headers, "transfer-encoding").is_some() {
        let all: Vec<&[u8]> = headers
            .iter()
            .filter(|h| h.is("transfer-encoding"))
            .flat_map(|h| h.value.split(|&b| b == b','))
            .map(trim)
            .collect();
        if all
            .last()
            .is_some_and(|c| c.eq_ignore_ascii_case(b"chunked"))
        {
            Framing::Chunked
        } else {
            Framing::Close
        }
    } else {
        match content_length(&headers).map_err(|_| bad.clone())? {
            Some(0) => Framing::None,
            Some(n) => Framing::Length(n),
            None => Framing::Close,
        }
    };
    Ok(Some(ResponseHead {
        status,
        reason: resp.reason.unwrap_or("").to_string(),
        minor: resp.version.unwrap_or(1),
        headers,
        len,
        framing,
    }))
}

/// The standard reason phrase for the statuses slotgate produces itself.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        301 => "Moved Permanently",
        302 => "Found",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        413 => "Content Too Large",
        414 => "URI Too Long",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Proxy Error",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(raw: &str) -> Result<Option<RequestHead>, HttpError> {
        parse_request(raw.as_bytes())
    }

    #[test]
    fn request_framing_table() {
        let cases: &[(&str, Result<Framing, u16>)] = &[
            ("GET / HTTP/1.1\r\nHost: a\r\n\r\n", Ok(Framing::None)),
            (
                "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
                Ok(Framing::Length(5)),
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n",
                Ok(Framing::Length(5)),
            ),
            (
                "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                Err(400),
            ),
            ("POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", Err(400)),
            (
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
                Ok(Framing::Chunked),
            ),
            (
                "POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n",
                Ok(Framing::Chunked),
            ),
            (
                "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                Err(400),
            ),
            (
                "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
                Err(400),
            ),
            (
                "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
                Err(501),
            ),
            (
                "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
                Err(400),
            ),
            ("GET / HTTP/2.0\r\n\r\n", Err(505)),
            ("GET / HTTP/1.1\nHost: a\n\n", Err(400)),
            ("GET / HTTP/1.1\r\nHost: a\n\r\n", Err(400)),
        ];
        for (raw, want) in cases {
            let got = req(raw).map(|h| h.expect("complete").framing);
            assert_eq!(got.map_err(|e| e.status), *want, "{raw:?}");
        }
    }

    #[test]
    fn partial_head_waits_and_long_line_is_414() {
        assert!(req("GET / HTTP/1.1\r\nHost: a\r\n").unwrap().is_none());
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(9000));
        assert_eq!(req(&long).unwrap_err().status, 414);
        let partial = format!("GET /{}", "a".repeat(9000));
        assert_eq!(req(&partial).unwrap_err().status, 414);
    }

    #[test]
    fn keep_alive_defaults_follow_the_version() {
        let h = req("GET / HTTP/1.1\r\n\r\n").unwrap().unwrap();
        assert!(h.wants_keep_alive());
        let h = req("GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!h.wants_keep_alive());
        let h = req("GET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert!(!h.wants_keep_alive());
        let h = req("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(h.wants_keep_alive());
    }

    #[test]
    fn response_framing_table() {
        let cases: &[(&str, bool, Result<Framing, u16>)] = &[
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n",
                false,
                Ok(Framing::Length(3)),
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n",
                true,
                Ok(Framing::None),
            ),
            ("HTTP/1.1 204 No Content\r\n\r\n", false, Ok(Framing::None)),
            (
                "HTTP/1.1 304 Not Modified\r\nContent-Length: 9\r\n\r\n",
                false,
                Ok(Framing::None),
            ),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                false,
                Ok(Framing::Chunked),
            ),
            ("HTTP/1.1 200 OK\r\n\r\n", false, Ok(Framing::Close)),
            (
                "HTTP/1.0 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
                false,
                Ok(Framing::Close),
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
                false,
                Err(502),
            ),
            ("HTTP/1.1 2000 OK\r\n\r\n", false, Err(502)),
            ("garbage\r\n\r\n", false, Err(502)),
        ];
        for (raw, head, want) in cases {
            let got = parse_response(raw.as_bytes(), *head).map(|h| h.expect("complete").framing);
            assert_eq!(got.map_err(|e| e.status), *want, "{raw:?}");
        }
    }
}
