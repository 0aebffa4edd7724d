//! Request and response heads: parsing with httparse into owned values, and the
//! framing rules of RFC 9112 §6 that decide how the body is delimited.

use std::cell::RefCell;

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
    /// A head with nothing in it (allocates nothing): a placeholder.
    pub fn empty() -> RequestHead {
        RequestHead {
            method: String::new(),
            target: String::new(),
            minor: 1,
            headers: Vec::new(),
            len: 0,
            framing: Framing::None,
        }
    }

    /// The first value of `name`, if present.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        find(&self.headers, name)
    }

    /// Whether the client asks to keep the connection open after this exchange.
    pub fn wants_keep_alive(&self) -> bool {
        if self.minor == 0 {
            self.connection_has("keep-alive")
        } else {
            !self.connection_has("close")
        }
    }

    pub fn is_head(&self) -> bool {
        self.method == "HEAD"
    }

    fn connection_has(&self, token: &str) -> bool {
        self.headers
            .iter()
            .any(|h| h.is("connection") && has_token(&h.value, token))
    }
}

impl Drop for RequestHead {
    fn drop(&mut self) {
        crate::recycle::give_string(std::mem::take(&mut self.method));
        crate::recycle::give_string(std::mem::take(&mut self.target));
        give_header_list(std::mem::take(&mut self.headers));
    }
}

impl Drop for ResponseHead {
    fn drop(&mut self) {
        crate::recycle::give_string(std::mem::take(&mut self.reason));
        give_header_list(std::mem::take(&mut self.headers));
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

/// Most spare header values kept per thread (see `crate::recycle`).
const KEEP_HEADERS: usize = 8192;
/// Most spare header lists kept per thread.
const KEEP_LISTS: usize = 1024;

thread_local! {
    /// Header values given back by dropped heads: their name and value keep
    /// their capacity, so parsing the next head allocates nothing.
    static SPARE_HEADERS: RefCell<Vec<Header>> = const { RefCell::new(Vec::new()) };
    static SPARE_LISTS: RefCell<Vec<Vec<Header>>> = const { RefCell::new(Vec::new()) };
}

/// An empty header list, from the free list when it has one (no allocation
/// once it holds some): for heads built by a codec rather than parsed
/// (`crate::codec::cgi`, `crate::codec::ajp`).
pub fn spare_header_list() -> Vec<Header> {
    SPARE_LISTS
        .with(|l| l.borrow_mut().pop())
        .unwrap_or_else(|| Vec::with_capacity(16))
}

/// Gives a head's header list back: its headers to one free list, the emptied
/// vector to another.
pub fn give_header_list(mut list: Vec<Header>) {
    if list.capacity() == 0 {
        return;
    }
    SPARE_HEADERS.with(|spare| {
        let mut spare = spare.borrow_mut();
        let room = KEEP_HEADERS.saturating_sub(spare.len());
        let keep = list.len().min(room);
        spare.extend(list.drain(..keep));
    });
    list.clear();
    SPARE_LISTS.with(|l| {
        let mut l = l.borrow_mut();
        if l.len() < KEEP_LISTS {
            l.push(list);
        }
    });
}

/// A header with this name and value, reusing a spare one (no allocation once
/// the free list holds some): for headers added by rules (`crate::rules`).
pub fn spare_header(name: &str, value: &[u8]) -> Header {
    let spare = SPARE_HEADERS.with(|spare| spare.borrow_mut().pop());
    let mut h = spare.unwrap_or_else(|| Header {
        name: String::new(),
        value: Vec::new(),
    });
    h.name.clear();
    h.name.push_str(name);
    h.value.clear();
    h.value.extend_from_slice(value);
    h
}

/// Gives one header back to the free list (one removed by a rule).
pub fn give_header(h: Header) {
    SPARE_HEADERS.with(|spare| {
        let mut spare = spare.borrow_mut();
        if spare.len() < KEEP_HEADERS {
            spare.push(h);
        }
    });
}

/// Copies httparse's borrowed headers into a header list, reusing spare ones.
fn owned_headers(raw: &[httparse::Header<'_>]) -> Vec<Header> {
    let mut list = spare_header_list();
    SPARE_HEADERS.with(|spare| {
        let mut spare = spare.borrow_mut();
        for h in raw {
            let header = match spare.pop() {
                Some(mut header) => {
                    header.name.clear();
                    header.name.push_str(h.name);
                    header.value.clear();
                    header.value.extend_from_slice(h.value);
                    header
                }
                None => Header {
                    name: h.name.to_string(),
                    value: h.value.to_vec(),
                },
            };
            list.push(header);
        }
    });
    list
}

/// httpd's request limits: `LimitRequestLine`, `LimitRequestFieldSize`,
/// `LimitRequestFields` (0 = no limit on the count).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub request_line: usize,
    pub field_size: usize,
    pub fields: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_line: MAX_REQUEST_LINE,
            field_size: 8190,
            fields: MAX_HEADERS,
        }
    }
}

impl Limits {
    /// The largest head these limits allow (capped at 1 MiB): the size of the
    /// buffer a client's head may fill before it is refused.
    pub fn max_head(&self) -> usize {
        let fields = if self.fields == 0 { 1000 } else { self.fields };
        (self.request_line + 2 + fields * (self.field_size + 2) + 2).min(1 << 20)
    }
}

/// Parses a request head from the start of `buf` with httpd's default limits.
/// `Ok(None)` means more bytes are needed.
pub fn parse_request(buf: &[u8]) -> Result<Option<RequestHead>, HttpError> {
    parse_request_with(buf, &Limits::default())
}

/// Parses a request head from the start of `buf`, enforcing `limits` as httpd does:
/// 414 for the request line, 400 for a field too long or too many fields.
pub fn parse_request_with(buf: &[u8], limits: &Limits) -> Result<Option<RequestHead>, HttpError> {
    let count = if limits.fields == 0 {
        1000
    } else {
        limits.fields
    };
    let mut stack = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut heap;
    let slots: &mut [httparse::Header<'_>] = if count <= MAX_HEADERS {
        &mut stack[..count]
    } else {
        heap = vec![httparse::EMPTY_HEADER; count];
        &mut heap
    };
    let mut req = httparse::Request::new(slots);
    let status = req.parse(buf).map_err(|e| match e {
        httparse::Error::Version => version_error(buf),
        httparse::Error::TooManyHeaders => {
            HttpError::new(400, "the request header fields exceed LimitRequestFields")
        }
        _ => HttpError::new(400, "malformed request head"),
    });
    let len = match status? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => {
            return match check_partial(buf, limits) {
                Some(e) => Err(e),
                None => Ok(None),
            };
        }
    };
    if has_bare_lf(&buf[..len]) {
        return Err(HttpError::new(400, "line ending without CR"));
    }
    let start = after_empty_lines(&buf[..len]);
    let line_len = start
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(start.len());
    if line_len > limits.request_line + 1 {
        return Err(HttpError::new(414, "request line too long"));
    }
    if req
        .headers
        .iter()
        .any(|h| h.name.len() + 2 + h.value.len() > limits.field_size)
    {
        return Err(HttpError::new(
            400,
            "a request header field exceeds LimitRequestFieldSize",
        ));
    }
    let method = req.method.unwrap_or("GET");
    let target = req.path.unwrap_or("/");
    let minor = req.version.unwrap_or(1);
    let authority = target_authority(method, target)?;
    check_host(req.headers, minor)?;
    let mut headers = owned_headers(req.headers);
    if let Some(authority) = authority {
        set_host(&mut headers, authority.as_bytes());
    }
    let framing = request_framing(&headers, minor)?;
    Ok(Some(RequestHead {
        method: crate::recycle::string_from(method),
        target: crate::recycle::string_from(target),
        minor,
        headers,
        len,
        framing,
    }))
}

/// httparse's "bad version": 505 for a well-formed request line naming a
/// version other than 1.0 and 1.1 (`GET / HTTP/2.0`), 400 for a line that is
/// not `method SP target SP HTTP/d.d` at all, such as a target holding a space
/// (`GET /a b HTTP/1.1`: httparse reads `b HTTP/1.1` as the version).
fn version_error(buf: &[u8]) -> HttpError {
    let start = after_empty_lines(buf);
    let end = start
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(start.len());
    let mut parts = start[..end].split(|&b| b == b' ');
    let well_formed = matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some(m), Some(t), Some(v), None)
            if !m.is_empty() && !t.is_empty() && is_version(v)
    );
    if well_formed {
        HttpError::new(505, "unsupported HTTP version")
    } else {
        HttpError::new(400, "malformed request line")
    }
}

/// `HTTP/d.d`.
fn is_version(v: &[u8]) -> bool {
    matches!(v, [b'H', b'T', b'T', b'P', b'/', a, b'.', b] if a.is_ascii_digit() && b.is_ascii_digit())
}

/// Checks the request-target's form (RFC 9112 §3.2): origin-form (`/path`),
/// `*` for OPTIONS, or absolute-form with an `http` or `https` scheme, whose
/// authority is returned (it is the request's host, §3.2.2). Anything else
/// (authority-form, a relative path, another scheme, a fragment, userinfo) is
/// 400. httparse has already refused spaces and control bytes.
fn target_authority<'a>(method: &str, target: &'a str) -> Result<Option<&'a str>, HttpError> {
    if target.contains('#') {
        return Err(HttpError::new(400, "a fragment (#) in the request target"));
    }
    if target.starts_with('/') {
        return Ok(None);
    }
    if target == "*" {
        return match method {
            "OPTIONS" => Ok(None),
            _ => Err(HttpError::new(400, "the target * is only for OPTIONS")),
        };
    }
    let rest = target
        .split_once("://")
        .filter(|(scheme, _)| {
            scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")
        })
        .map(|(_, rest)| rest)
        .ok_or(HttpError::new(
            400,
            "the request target is neither a path nor an http(s) URL",
        ))?;
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    if !valid_host(authority.as_bytes()) {
        return Err(HttpError::new(400, "invalid host in the request target"));
    }
    Ok(Some(authority))
}

/// RFC 9112 §3.2: exactly one Host field in an HTTP/1.1 request, at most one
/// in HTTP/1.0, and a valid value (see [`valid_host`]); 400 otherwise. This
/// holds for an absolute-form target too (whose authority then replaces the
/// value: httpd 2.4 does not look at the field in that case).
fn check_host(headers: &[httparse::Header<'_>], minor: u8) -> Result<(), HttpError> {
    let mut hosts = headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("host"));
    match (hosts.next(), hosts.next()) {
        (None, _) if minor >= 1 => Err(HttpError::new(400, "an HTTP/1.1 request without Host")),
        (None, _) => Ok(()),
        (Some(_), Some(_)) => Err(HttpError::new(400, "more than one Host header field")),
        (Some(h), None) if !valid_host(h.value) => {
            Err(HttpError::new(400, "invalid Host header value"))
        }
        (Some(_), None) => Ok(()),
    }
}

/// The Host field's value becomes `authority` (absolute-form: the URI's
/// authority is the host for virtual hosts, forwarded Host and
/// X-Forwarded-Host, and reverse mapping); added first when absent.
fn set_host(headers: &mut Vec<Header>, authority: &[u8]) {
    match headers.iter_mut().find(|h| h.is("host")) {
        Some(h) => {
            h.value.clear();
            h.value.extend_from_slice(authority);
        }
        None => headers.insert(
            0,
            Header {
                name: "Host".to_string(),
                value: authority.to_vec(),
            },
        ),
    }
}

/// A valid `Host` value or URI authority: `host[:port]` (RFC 9110 §7.2, RFC
/// 3986 §3.2.2), checked as httpd 2.4 does (`fix_hostname`): the host is an IPv6
/// literal in brackets, or a name of letters, digits, `-`, `_` and `.` without
/// an empty label (one final `.` allowed); a name of only digits and dots must
/// be an IPv4 address. The port, when there is a `:`, is 1 to 65535 in digits.
/// Spaces, `@`, `/`, `?`, `#`, `%`, control and non-ASCII bytes all fail.
/// Surrounding blanks are ignored.
pub fn valid_host(value: &[u8]) -> bool {
    let v = value.trim_ascii();
    let (host_ok, port) = match v.strip_prefix(b"[") {
        Some(inner) => {
            let Some(close) = inner.iter().position(|&b| b == b']') else {
                return false;
            };
            let literal = std::str::from_utf8(&inner[..close])
                .ok()
                .and_then(|t| t.parse::<std::net::Ipv6Addr>().ok());
            let after = &inner[close + 1..];
            let port = match after {
                [] => None,
                [b':', port @ ..] => Some(port),
                _ => return false,
            };
            (literal.is_some(), port)
        }
        None => {
            let mut parts = v.splitn(2, |&b| b == b':');
            let name = parts.next().unwrap_or_default();
            (valid_name(name), parts.next())
        }
    };
    host_ok && port.is_none_or(valid_port)
}

fn valid_name(name: &[u8]) -> bool {
    if name.windows(2).any(|w| w == b"..") {
        return false;
    }
    let name = name.strip_suffix(b".").unwrap_or(name);
    if name.is_empty()
        || !name
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return false;
    }
    if name.iter().all(|&b| b.is_ascii_digit() || b == b'.') {
        return std::str::from_utf8(name)
            .ok()
            .and_then(|t| t.parse::<std::net::Ipv4Addr>().ok())
            .is_some();
    }
    true
}

fn valid_port(port: &[u8]) -> bool {
    !port.is_empty()
        && port.iter().all(u8::is_ascii_digit)
        && port
            .iter()
            .try_fold(0u32, |n, &d| {
                let n = n * 10 + u32::from(d - b'0');
                (n <= 65535).then_some(n)
            })
            .is_some_and(|n| n > 0)
}

/// True when a line of the head ends in LF alone. httparse accepts that; a proxy
/// must not, or it would read a head differently from a strict member.
fn has_bare_lf(head: &[u8]) -> bool {
    head.iter()
        .enumerate()
        .any(|(i, &b)| b == b'\n' && (i == 0 || head[i - 1] != b'\r'))
}

/// The head without the empty lines httparse skips before the start line, so that
/// the start line is what gets measured (found by fuzzing: `\r\n` + an over-long
/// request line used to pass the limit).
fn after_empty_lines(mut buf: &[u8]) -> &[u8] {
    loop {
        match buf {
            [b'\r', b'\n', rest @ ..] | [b'\n', rest @ ..] => buf = rest,
            _ => return buf,
        }
    }
}

/// A partial head that can already be refused: a request line, a field or the
/// whole head too long.
fn check_partial(buf: &[u8], limits: &Limits) -> Option<HttpError> {
    let start = after_empty_lines(buf);
    let Some(first) = start.iter().position(|&b| b == b'\n') else {
        return (start.len() > limits.request_line + 1)
            .then(|| HttpError::new(414, "request line too long"));
    };
    if first > limits.request_line + 1 {
        return Some(HttpError::new(414, "request line too long"));
    }
    // The field being received (after the last complete line) may already be too long.
    let last_line_start = buf.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    if buf.len() - last_line_start > limits.field_size + 2 {
        return Some(HttpError::new(
            400,
            "a request header field exceeds LimitRequestFieldSize",
        ));
    }
    (buf.len() >= limits.max_head()).then(|| HttpError::new(400, "request head too large"))
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
    parse_response_with(buf, head_request, 8192)
}

/// Parses a response head; `field_size` is the member's `responsefieldsize`.
/// A member's head gets the same scrutiny as a client's: bare LF line ends, a
/// line over `field_size`, both Content-Length and Transfer-Encoding, or
/// differing Content-Length values make it malformed (502).
pub fn parse_response_with(
    buf: &[u8],
    head_request: bool,
    field_size: usize,
) -> Result<Option<ResponseHead>, HttpError> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut headers);
    let bad = HttpError::new(502, "malformed response head from member");
    let len = match resp.parse(buf).map_err(|_| bad.clone())? {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial if buf.len() >= MAX_HEAD => return Err(bad),
        httparse::Status::Partial => return Ok(None),
    };
    let status = resp.code.unwrap_or(0);
    if !(100..=999).contains(&status) || has_bare_lf(&buf[..len]) {
        return Err(bad);
    }
    let start = after_empty_lines(&buf[..len]);
    let line_len = start
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(start.len());
    if line_len > field_size
        || resp
            .headers
            .iter()
            .any(|h| h.name.len() + 2 + h.value.len() > field_size)
    {
        return Err(HttpError::new(
            502,
            "a member's response header line exceeds responsefieldsize",
        ));
    }
    let headers = owned_headers(resp.headers);
    if find(&headers, "transfer-encoding").is_some() && find(&headers, "content-length").is_some() {
        return Err(HttpError::new(
            502,
            "member sent both Content-Length and Transfer-Encoding",
        ));
    }
    let framing = if head_request || status < 200 || status == 204 || status == 304 {
        Framing::None
    } else if find(&headers, "transfer-encoding").is_some() {
        let last = headers
            .iter()
            .filter(|h| h.is("transfer-encoding"))
            .flat_map(|h| h.value.split(|&b| b == b','))
            .map(trim)
            .next_back();
        if last.is_some_and(|c| c.eq_ignore_ascii_case(b"chunked")) {
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
        reason: crate::recycle::string_from(resp.reason.unwrap_or("")),
        minor: resp.version.unwrap_or(1),
        headers,
        len,
        framing,
    }))
}

/// The standard reason phrase of a status slotgate writes itself (the
/// statuses httpd 2.4 knows; a RewriteRule's `[R=code]` may name any of them).
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        102 => "Processing",
        103 => "Early Hints",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        205 => "Reset Content",
        206 => "Partial Content",
        207 => "Multi-Status",
        208 => "Already Reported",
        226 => "IM Used",
        300 => "Multiple Choices",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        305 => "Use Proxy",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        402 => "Payment Required",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        423 => "Locked",
        424 => "Failed Dependency",
        425 => "Too Early",
        426 => "Upgrade Required",
        428 => "Precondition Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        451 => "Unavailable For Legal Reasons",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Proxy Error",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        507 => "Insufficient Storage",
        508 => "Loop Detected",
        510 => "Not Extended",
        511 => "Network Authentication Required",
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
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n",
                Ok(Framing::Length(5)),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n",
                Ok(Framing::Length(5)),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                Err(400),
            ),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", Err(400)),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n",
                Ok(Framing::Chunked),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n",
                Ok(Framing::Chunked),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
                Err(400),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n",
                Err(400),
            ),
            (
                "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
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

    fn status_of(raw: &[u8]) -> u16 {
        match parse_request(raw) {
            Ok(Some(_)) => 200,
            Ok(None) => 0,
            Err(e) => e.status,
        }
    }

    /// httpd-oracle (2.4.71) answered 400 to every refused line here, except
    /// where a comment says otherwise.
    #[test]
    fn host_fields_are_checked_as_rfc_9112_3_2() {
        let cases: &[(&[u8], u16)] = &[
            (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 200),
            (b"GET / HTTP/1.1\r\n\r\n", 400),
            (b"GET / HTTP/1.0\r\n\r\n", 200),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a\r\nhOsT: a\r\n\r\n", 400),
            (b"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: \r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
            (b"GET / HTTP/1.0\r\nHost: a b\r\n\r\n", 400),
            (b"GET / HTTP/1.1\r\nHost:  a \r\n\r\n", 200),
        ];
        for (raw, want) in cases {
            assert_eq!(status_of(raw), *want, "{:?}", String::from_utf8_lossy(raw));
        }
    }

    #[test]
    fn host_values_are_checked_as_httpd() {
        let good: &[&[u8]] = &[
            b"a",
            b"A.Example.COM.",
            b"a:8080",
            b"a:080",
            b"a:000080",
            b"a_b",
            b"-a",
            b".a",
            b"1.2.3.4:65535",
            b"[::1]",
            b"[::1]:8080",
            b"[::ffff:1.2.3.4]",
            b"xn--bcher-kva.example",
        ];
        let bad: &[&[u8]] = &[
            b"",
            b"a b",
            b"a@b",
            b"x/y?",
            b"a/b",
            b"a?b",
            b"a#b",
            b"a\x01b",
            b"a\x7fb",
            b"a\tb",
            b"a:99999",
            b"a:65536",
            b"a:80x",
            b"a:",
            b"a:0",
            b"a:-1",
            b"a:+80",
            b"a:b:c",
            b"a, b",
            b"a..b",
            b"a..",
            b".",
            b"123",
            b"1.2.3.4.5",
            b"a%20b",
            b"a\\b",
            b"a\"b",
            b"a!b",
            b"a;b",
            b"a+b",
            b"a=b",
            b"a~b",
            b"\xc3\xa9",
            b"[::1",
            b"::1",
            b"[zz]",
            b"[::1]x",
            b"[::1]:",
            b"[fe80::1%25eth0]",
            b"[v1.x]",
            b"[1.2.3.4]",
        ];
        for h in good {
            assert!(valid_host(h), "{:?} refused", String::from_utf8_lossy(h));
        }
        for h in bad {
            assert!(!valid_host(h), "{:?} accepted", String::from_utf8_lossy(h));
        }
    }

    #[test]
    fn request_targets_are_checked() {
        let cases: &[(&[u8], u16)] = &[
            (b"GET /a?q=\"<> HTTP/1.1\r\nHost: a\r\n\r\n", 200),
            (b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", 200),
            (b"GET http://abs.test/n/x HTTP/1.1\r\nHost: h\r\n\r\n", 200),
            (b"GET HTTP://ABS.test?q HTTP/1.1\r\nHost: h\r\n\r\n", 200),
            (b"GET https://abs.test HTTP/1.0\r\n\r\n", 200),
            // A space in the target: httparse reads it as a bad version; 400, not 505.
            (b"GET /n/a b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET /n/a  HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET  /n/a HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET / HTTP/1.1 x\r\nHost: a\r\n\r\n", 400),
            (b"GET / HTTP/3\r\nHost: a\r\n\r\n", 400),
            (b"GET / http/1.1\r\nHost: a\r\n\r\n", 400),
            // A well-formed line with another version stays 505 (httpd serves
            // HTTP/1.2 and 2.0 as 1.1; slotgate refuses them).
            (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
            (b"GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505),
            (b"GET /n/a\x01b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET /n/a\x7fb HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET /n/a\tb HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET /n/a#frag HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET /n/a?q#frag HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET http://abs.test#f HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET n/a HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            // httpd forwards this one as /?q.
            (b"GET ?q HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET abs.test:80 HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            // httpd (ProxyRequests Off) forwards this one as CONNECT /.
            (
                b"CONNECT abs.test:80 HTTP/1.1\r\nHost: abs.test:80\r\n\r\n",
                400,
            ),
            (b"GET ftp://abs.test/x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET http://u:p@abs.test/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET http://abs..test/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            // httpd takes an empty authority, port 0 and an empty port here.
            (b"GET http:///n/x HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET http://abs.test:0/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            (b"GET http://abs.test:/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
            // HTTP/1.1 needs Host even with an absolute-form target.
            (b"GET http://abs.test:8080/n/x HTTP/1.1\r\n\r\n", 400),
        ];
        for (raw, want) in cases {
            assert_eq!(status_of(raw), *want, "{:?}", String::from_utf8_lossy(raw));
        }
    }

    /// RFC 9112 §3.2.2: the authority of an absolute-form target is the host;
    /// the field's value is replaced (httpd-oracle: X-Forwarded-Host and the
    /// rewritten Location carry `abs.test`, not the Host field).
    #[test]
    fn an_absolute_form_target_sets_the_host() {
        let h = req("GET http://abs.test:81/x?q HTTP/1.1\r\nA: 1\r\nHost: hdr.test\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(h.header("host"), Some(&b"abs.test:81"[..]));
        assert_eq!(h.headers.len(), 2);
        assert_eq!(h.target, "http://abs.test:81/x?q");
        let h = req("GET http://abs.test HTTP/1.0\r\nA: 1\r\n\r\n")
            .unwrap()
            .unwrap();
        assert_eq!(h.headers[0].name, "Host");
        assert_eq!(h.header("host"), Some(&b"abs.test"[..]));
    }

    #[test]
    fn limits_are_enforced_as_httpd() {
        let small = Limits {
            request_line: 20,
            field_size: 20,
            fields: 2,
        };
        let p = |raw: &str| {
            parse_request_with(raw.as_bytes(), &small)
                .map(|h| h.is_some())
                .map_err(|e| e.status)
        };
        assert_eq!(p("GET /a HTTP/1.1\r\nHost: a\r\nB: 2\r\n\r\n"), Ok(true));
        assert_eq!(p("GET /aaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n"), Err(414));
        assert_eq!(p("GET /aaaaaaaaaaaaaaaaaaaaa"), Err(414));
        assert_eq!(
            p("\r\n\r\nGET /aaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n"),
            Err(414)
        );
        assert_eq!(p("\r\nGET /aaaaaaaaaaaaaaaaaaaaa"), Err(414));
        assert_eq!(
            p("GET / HTTP/1.1\r\nA: 123456789012345678\r\n\r\n"),
            Err(400)
        );
        assert_eq!(p("GET / HTTP/1.1\r\nA: 12345678901234567890123"), Err(400));
        assert_eq!(
            p("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"),
            Err(400)
        );
        let many = Limits {
            fields: 150,
            ..Limits::default()
        };
        let head = format!(
            "GET / HTTP/1.1\r\nHost: a\r\n{}\r\n",
            "X: y\r\n".repeat(140)
        );
        assert!(parse_request_with(head.as_bytes(), &many)
            .unwrap()
            .is_some());
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
        let h = req("GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap().unwrap();
        assert!(h.wants_keep_alive());
        let h = req("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
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
            ("HTTP/1.1 200 OK\nContent-Length: 1\n\n", false, Err(502)),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
                false,
                Err(502),
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                false,
                Err(502),
            ),
            ("garbage\r\n\r\n", false, Err(502)),
        ];
        for (raw, head, want) in cases {
            let got = parse_response(raw.as_bytes(), *head).map(|h| h.expect("complete").framing);
            assert_eq!(got.map_err(|e| e.status), *want, "{raw:?}");
        }
    }
}
