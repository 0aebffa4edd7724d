//! A small blocking HTTP/1.1 client for talking to slotgate from tests:
//! one-shot requests (`http_get`, `http_request`), a keep-alive `Client` that
//! reads responses one by one (pipelining included), and `send_raw` for bytes
//! that no well-behaved client would send. Every read is bounded by `READ_TIMEOUT`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

/// Bound on each blocking read and write.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on reading one whole response.
const RESPONSE_DEADLINE: Duration = Duration::from_secs(60);
const MAX_HEAD: usize = 64 * 1024;

/// A response as the client received it.
#[derive(Clone, Debug)]
pub struct Response {
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    pub status: u16,
    pub reason: String,
    /// Header fields in order, as received.
    pub headers: Vec<(String, String)>,
    /// The body after removing the chunked framing.
    pub body: Vec<u8>,
    /// Whether the body was chunked on the wire.
    pub chunked: bool,
}

impl Response {
    /// Every value of header `name` (case-insensitive), in order.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        super::header_values(&self.headers, name)
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_all(name).into_iter().next()
    }

    /// The body as (lossy) UTF-8.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// `X-Origin` of the response; panics with the response if it has none.
    pub fn origin(&self) -> &str {
        self.header("x-origin")
            .unwrap_or_else(|| panic!("response has no X-Origin header: {}", self.summary()))
    }

    /// One line for assertion messages: status, headers and the start of the body.
    pub fn summary(&self) -> String {
        let mut body = self.text();
        if body.len() > 300 {
            let mut cut = 300;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body.truncate(cut);
            body.push('…');
        }
        format!(
            "{} {} {} {:?} body({} bytes): {:?}",
            self.version,
            self.status,
            self.reason,
            self.headers,
            self.body.len(),
            body
        )
    }
}

/// A connection to a server, kept open across requests.
pub struct Client {
    stream: TcpStream,
    port: u16,
    buf: Vec<u8>,
}

impl Client {
    /// Connects to 127.0.0.1:`port`; panics if it cannot.
    pub fn connect(port: u16) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("connecting to 127.0.0.1:{port}: {e}"));
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
        let _ = stream.set_nodelay(true);
        Client {
            stream,
            port,
            buf: Vec::new(),
        }
    }

    /// The client side's address (what the server sees as its peer).
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.stream.local_addr().unwrap()
    }

    /// Connects to 127.0.0.1:`port`, or says why it could not.
    pub fn try_connect(port: u16) -> Result<Client, String> {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .map_err(|e| format!("connecting to 127.0.0.1:{port}: {e}"))?;
        stream
            .set_read_timeout(Some(READ_TIMEOUT))
            .and_then(|_| stream.set_write_timeout(Some(READ_TIMEOUT)))
            .map_err(|e| format!("setting timeouts: {e}"))?;
        let _ = stream.set_nodelay(true);
        Ok(Client {
            stream,
            port,
            buf: Vec::new(),
        })
    }

    /// `request` that returns errors instead of panicking (for load threads,
    /// which count failures rather than stop at the first).
    pub fn try_request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Response, String> {
        let bytes = request_bytes(self.port, method, path, headers, body);
        self.stream
            .write_all(&bytes)
            .map_err(|e| format!("writing {method} {path}: {e}"))?;
        self.try_read_response(method)
    }

    /// Writes raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap_or_else(|e| {
            panic!(
                "writing {} bytes to 127.0.0.1:{}: {e}",
                bytes.len(),
                self.port
            )
        });
    }

    /// Sends one request (see `request_bytes`) and reads its response.
    pub fn request(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Response {
        let bytes = request_bytes(self.port, method, path, headers, body);
        self.send(&bytes);
        self.read_response(method)
    }

    /// `GET path` on this connection.
    pub fn get(&mut self, path: &str) -> Response {
        self.request("GET", path, &[], None)
    }

    /// Reads the next response; `method` is the request's (HEAD has no body).
    /// Panics on error or timeout.
    pub fn read_response(&mut self, method: &str) -> Response {
        self.try_read_response(method).unwrap_or_else(|e| {
            panic!(
                "reading a response to {method} from 127.0.0.1:{}: {e}",
                self.port
            )
        })
    }

    /// Reads the next final response, skipping interim (1xx other than 101) ones.
    pub fn try_read_response(&mut self, method: &str) -> Result<Response, String> {
        let deadline = Instant::now() + RESPONSE_DEADLINE;
        loop {
            let response = self.read_one(method, deadline)?;
            if (100..200).contains(&response.status) && response.status != 101 {
                continue;
            }
            return Ok(response);
        }
    }

    /// True if the server closes the connection (EOF) within `timeout` without
    /// sending anything more; false if it stays open or sends bytes.
    pub fn closed_by_peer(&mut self, timeout: Duration) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        self.stream.set_read_timeout(Some(timeout)).unwrap();
        let mut byte = [0u8; 1];
        let result = match self.stream.read(&mut byte) {
            Ok(0) => true,
            Ok(_) => {
                self.buf.push(byte[0]);
                false
            }
            Err(e) => e.kind() == io::ErrorKind::ConnectionReset,
        };
        self.stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        result
    }

    /// Closes our sending side (the server sees EOF after what was sent).
    pub fn shutdown_write(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// Reads more input; Ok(0) at EOF.
    fn fill(&mut self, deadline: Instant) -> Result<usize, String> {
        if Instant::now() >= deadline {
            return Err("response deadline passed".to_string());
        }
        let mut chunk = [0u8; 64 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(n)
            }
            Err(e) => Err(format!(
                "read failed after {} buffered bytes: {e}",
                self.buf.len()
            )),
        }
    }

    fn line(&mut self, deadline: Instant) -> Result<String, String> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..end + 2).collect();
                return Ok(String::from_utf8_lossy(&line[..end]).into_owned());
            }
            if self.buf.len() > MAX_HEAD {
                return Err("line too long".to_string());
            }
            if self.fill(deadline)? == 0 {
                return Err("connection closed inside a chunked body".to_string());
            }
        }
    }

    fn take(&mut self, n: usize, out: &mut Vec<u8>, deadline: Instant) -> Result<(), String> {
        let mut left = n;
        while left > 0 {
            if self.buf.is_empty() && self.fill(deadline)? == 0 {
                return Err(format!(
                    "connection closed with {left} of {n} body bytes missing"
                ));
            }
            let k = self.buf.len().min(left);
            out.extend_from_slice(&self.buf[..k]);
            self.buf.drain(..k);
            left -= k;
        }
        Ok(())
    }

    fn read_one(&mut self, method: &str, deadline: Instant) -> Result<Response, String> {
        let head_end = loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                break end + 4;
            }
            if self.buf.len() > MAX_HEAD {
                return Err("response head too large".to_string());
            }
            if self.fill(deadline)? == 0 {
                return Err(format!(
                    "connection closed before a complete response head (got {:?})",
                    String::from_utf8_lossy(&self.buf)
                ));
            }
        };
        let raw: Vec<u8> = self.buf.drain(..head_end).collect();
        let mut fields = [httparse::EMPTY_HEADER; 128];
        let mut parsed = httparse::Response::new(&mut fields);
        match parsed.parse(&raw) {
            Ok(httparse::Status::Complete(_)) => {}
            other => {
                return Err(format!(
                    "unparsable response head {:?}: {other:?}",
                    String::from_utf8_lossy(&raw)
                ))
            }
        }
        let mut response = Response {
            version: format!("HTTP/1.{}", parsed.version.unwrap_or(1)),
            status: parsed.code.unwrap_or(0),
            reason: parsed.reason.unwrap_or("").to_string(),
            headers: parsed
                .headers
                .iter()
                .map(|h| {
                    (
                        h.name.to_string(),
                        String::from_utf8_lossy(h.value).into_owned(),
                    )
                })
                .collect(),
            body: Vec::new(),
            chunked: false,
        };
        let status = response.status;
        if method.eq_ignore_ascii_case("HEAD")
            || (100..200).contains(&status)
            || status == 204
            || status == 304
        {
            return Ok(response);
        }
        let chunked = response
            .header_all("transfer-encoding")
            .iter()
            .any(|v| v.to_ascii_lowercase().contains("chunked"));
        let mut body = Vec::new();
        if chunked {
            response.chunked = true;
            loop {
                let size_line = self.line(deadline)?;
                let size_text = size_line.split(';').next().unwrap_or("").trim();
                let size = usize::from_str_radix(size_text, 16)
                    .map_err(|_| format!("bad chunk size line {size_line:?}"))?;
                if size == 0 {
                    break;
                }
                self.take(size, &mut body, deadline)?;
                let after = self.line(deadline)?;
                if !after.is_empty() {
                    return Err(format!("chunk not followed by CRLF but {after:?}"));
                }
            }
            while !self.line(deadline)?.is_empty() {}
        } else if let Some(cl) = response.header("content-length") {
            let n: usize = cl
                .trim()
                .parse()
                .map_err(|_| format!("bad Content-Length {cl:?}"))?;
            self.take(n, &mut body, deadline)?;
        } else {
            // Delimited by the end of the connection.
            while self.fill(deadline)? > 0 {}
            body = std::mem::take(&mut self.buf);
        }
        response.body = body;
        Ok(response)
    }
}

/// The bytes of one request: the request line, `Host: 127.0.0.1:PORT` unless
/// `headers` has a Host (an empty Host value means: send no Host at all), the
/// given headers, and `Content-Length` when a body is given and the headers do
/// not say Transfer-Encoding (then `body` must already be chunk-encoded).
pub fn request_bytes(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    let has = |name: &str| headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    if !has("host") {
        head.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    for (n, v) in headers {
        if n.eq_ignore_ascii_case("host") && v.is_empty() {
            continue;
        }
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    if let Some(b) = body {
        if !has("transfer-encoding") && !has("content-length") {
            head.push_str(&format!("Content-Length: {}\r\n", b.len()));
        }
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    if let Some(b) = body {
        bytes.extend_from_slice(b);
    }
    bytes
}

/// One request on a fresh connection with `Connection: close`.
pub fn http_request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Response {
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    if !all
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("connection"))
    {
        all.push(("Connection", "close"));
    }
    let mut client = Client::connect(port);
    client.request(method, path, &all, body)
}

/// `GET path` on a fresh connection with `Connection: close`.
pub fn http_get(port: u16, path: &str, headers: &[(&str, &str)]) -> Response {
    http_request(port, "GET", path, headers, None)
}

/// Writes `bytes` on a fresh connection and returns everything read until the
/// server closes (or `READ_TIMEOUT` passes without input, or 60 s in all).
pub fn send_raw(port: u16, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("connecting to 127.0.0.1:{port}: {e}"));
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
    // The server may refuse and close before reading everything; what it
    // answered is still worth reading.
    let _ = stream.write_all(bytes);
    let deadline = Instant::now() + RESPONSE_DEADLINE;
    let mut out = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    while Instant::now() < deadline {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
        }
    }
    out
}

/// Splits bytes read by `send_raw` into the first response's head and
/// everything after it, undecoded (`body` holds the raw rest, `chunked` says
/// whether the head announced chunked framing). None if there is no complete,
/// parsable head.
pub fn split_raw_response(bytes: &[u8]) -> Option<Response> {
    let end = find(bytes, b"\r\n\r\n")? + 4;
    let mut fields = [httparse::EMPTY_HEADER; 128];
    let mut parsed = httparse::Response::new(&mut fields);
    match parsed.parse(&bytes[..end]) {
        Ok(httparse::Status::Complete(_)) => {}
        _ => return None,
    }
    let headers: Vec<(String, String)> = parsed
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let chunked = super::header_values(&headers, "transfer-encoding")
        .iter()
        .any(|v| v.to_ascii_lowercase().contains("chunked"));
    Some(Response {
        version: format!("HTTP/1.{}", parsed.version.unwrap_or(1)),
        status: parsed.code.unwrap_or(0),
        reason: parsed.reason.unwrap_or("").to_string(),
        headers,
        body: bytes[end..].to_vec(),
        chunked,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// `GET path` with `headers` (each line ending in CRLF) on a fresh connection
/// from the local address `from` (a loopback address such as 127.0.0.2): the status.
pub fn status_from(from: &str, port: u16, path: &str, headers: &str) -> u16 {
    let sock =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    let local: std::net::SocketAddr = format!("{from}:0").parse().unwrap();
    sock.bind(&socket2::SockAddr::from(local))
        .expect("binding the client address");
    let server: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    sock.connect_timeout(&socket2::SockAddr::from(server), Duration::from_secs(10))
        .expect("connecting");
    let mut stream: TcpStream = sock.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n"
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    let mut chunk = [0u8; 16384];
    while Instant::now() < deadline {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
        }
    }
    let text = String::from_utf8_lossy(&out);
    text.get(9..12)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line from {path}: {text:?}"))
}
