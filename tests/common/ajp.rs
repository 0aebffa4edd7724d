//! `AjpOrigin`: a small AJP 1.3 member inside the test process, on
//! 127.0.0.1, for the cases a real Tomcat will not produce (a bad packet
//! magic, a packet larger than the packet size, a close in the middle of a
//! response) and for recording exactly what slotgate sent.
//!
//! Written from the AJP 1.3 protocol reference, independently of slotgate's
//! codec (which is what it tests). One thread accepts, one thread serves each
//! connection; CPING gets CPONG (unless `AjpMode::BadCpong`); a request's body
//! is read as Tomcat reads it (the first chunk unsolicited when the length is
//! known, then GET_BODY_CHUNK until the length or an empty chunk). In
//! `AjpMode::Normal` the answer is 200 with `X-Origin: NAME`, Content-Length
//! and the body `ajp NAME METHOD URI body=N`, then END_RESPONSE with reuse.
//! Dropping it stops every thread within a bounded time.

use super::{poll_true, PortReservation};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How the AJP origin answers a request, switchable at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AjpMode {
    Normal,
    /// Answers with a packet whose magic is `XY`, not `AB`.
    BadMagic,
    /// Answers SEND_HEADERS, then a SEND_BODY_CHUNK packet of 9000 bytes
    /// (larger than the default packet size of 8192).
    Oversized,
    /// Answers SEND_HEADERS and half a body chunk, then closes.
    CloseMidResponse,
    /// Serves requests, but answers CPING with END_RESPONSE.
    BadCpong,
}

/// One FORWARD_REQUEST as the origin read it.
#[derive(Clone, Debug, Default)]
pub struct AjpRequest {
    pub method: String,
    pub protocol: String,
    pub uri: String,
    pub remote_addr: String,
    pub server_name: String,
    pub server_port: u16,
    pub is_ssl: bool,
    /// Header names as sent (coded ones by their lowercase name).
    pub headers: Vec<(String, String)>,
    /// Attributes: `secret`, `query_string`, `stored_method`, and request
    /// attributes by their name.
    pub attributes: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The raw packet.
    pub packet: Vec<u8>,
}

impl AjpRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

const METHODS: [&str; 27] = [
    "OPTIONS",
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "TRACE",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "ACL",
    "REPORT",
    "VERSION-CONTROL",
    "CHECKIN",
    "CHECKOUT",
    "UNCHECKOUT",
    "SEARCH",
    "MKWORKSPACE",
    "UPDATE",
    "LABEL",
    "MERGE",
    "BASELINE-CONTROL",
    "MKACTIVITY",
];
const HEADERS: [&str; 14] = [
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "authorization",
    "connection",
    "content-type",
    "content-length",
    "cookie",
    "cookie2",
    "host",
    "pragma",
    "referer",
    "user-agent",
];

struct Shared {
    name: String,
    mode: Mutex<AjpMode>,
    requests: AtomicUsize,
    cpings: AtomicUsize,
    connections: AtomicUsize,
    recorded: Mutex<Vec<AjpRequest>>,
    shutdown: AtomicBool,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// An AJP member; stops when dropped.
pub struct AjpOrigin {
    port: PortReservation,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl AjpOrigin {
    pub fn start(name: &str) -> AjpOrigin {
        let port = PortReservation::new();
        let listener = port.listener();
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let shared = Arc::new(Shared {
            name: name.to_string(),
            mode: Mutex::new(AjpMode::Normal),
            requests: AtomicUsize::new(0),
            cpings: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            recorded: Mutex::new(Vec::new()),
            shutdown: AtomicBool::new(false),
            threads: Mutex::new(Vec::new()),
        });
        let for_acceptor = Arc::clone(&shared);
        let acceptor = thread::Builder::new()
            .name(format!("ajp-{name}-accept"))
            .spawn(move || accept_loop(listener, for_acceptor))
            .expect("spawning the AJP origin's accept thread");
        AjpOrigin {
            port,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// `127.0.0.1:PORT`
    pub fn addr(&self) -> String {
        self.port.addr()
    }

    /// `ajp://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("ajp://{}", self.addr())
    }

    pub fn set_mode(&self, mode: AjpMode) {
        *lock(&self.shared.mode) = mode;
    }

    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    pub fn cpings(&self) -> usize {
        self.shared.cpings.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    pub fn recorded(&self) -> Vec<AjpRequest> {
        lock(&self.shared.recorded).clone()
    }

    pub fn last_request(&self) -> AjpRequest {
        self.recorded()
            .pop()
            .expect("the AJP origin has received no request")
    }

    pub fn wait_cpings(&self, n: usize, timeout: Duration) -> bool {
        poll_true(timeout, || self.cpings() >= n)
    }
}

impl Drop for AjpOrigin {
    fn drop(&mut self) {
        self.shared.shutdown.store(true, Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(3);
        if let Some(t) = self.acceptor.take() {
            super::origin::join_within(t, deadline);
        }
        let threads: Vec<JoinHandle<()>> = lock(&self.shared.threads).drain(..).collect();
        for t in threads {
            super::origin::join_within(t, deadline);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    while !shared.shutdown.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                shared.connections.fetch_add(1, Ordering::SeqCst);
                let for_conn = Arc::clone(&shared);
                if let Ok(t) = thread::Builder::new()
                    .name(format!("ajp-{}-conn", shared.name))
                    .spawn(move || {
                        let _ = serve(stream, &for_conn);
                    })
                {
                    let mut threads = lock(&shared.threads);
                    threads.retain(|t| !t.is_finished());
                    threads.push(t);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(10))
            }
            Err(_) => thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Reads one packet to the container (`0x12 0x34`, length, payload); None at
/// a clean end of stream or on shutdown.
fn read_packet(stream: &mut TcpStream, shared: &Shared) -> io::Result<Option<Vec<u8>>> {
    let mut head = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        if shared.shutdown.load(Ordering::SeqCst) {
            return Ok(None);
        }
        match stream.read(&mut head[got..]) {
            Ok(0) => return Ok(None),
            Ok(n) => got += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
    }
    if head[..2] != [0x12, 0x34] {
        return Err(io::Error::other(format!("bad magic {:02x?}", &head[..2])));
    }
    let len = u16::from_be_bytes([head[2], head[3]]) as usize;
    let mut payload = vec![0u8; len];
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = 0;
    while got < len {
        if Instant::now() > deadline {
            return Err(io::Error::other("packet payload did not arrive"));
        }
        match stream.read(&mut payload[got..]) {
            Ok(0) => return Err(io::Error::other("closed inside a packet")),
            Ok(n) => got += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Some(payload))
}

/// A packet from the container: `AB`, length, payload.
pub fn container_packet(payload: &[u8]) -> Vec<u8> {
    let mut p = b"AB".to_vec();
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(payload);
    p
}

/// An AJP string: length, bytes, NUL.
pub fn ajp_string(s: &[u8]) -> Vec<u8> {
    let mut v = (s.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(s);
    v.push(0);
    v
}

/// SEND_HEADERS with a status and string-named headers.
pub fn send_headers(status: u16, headers: &[(&str, &str)]) -> Vec<u8> {
    let mut p = vec![4];
    p.extend_from_slice(&status.to_be_bytes());
    p.extend(ajp_string(b"OK"));
    p.extend_from_slice(&(headers.len() as u16).to_be_bytes());
    for (k, v) in headers {
        p.extend(ajp_string(k.as_bytes()));
        p.extend(ajp_string(v.as_bytes()));
    }
    container_packet(&p)
}

/// SEND_BODY_CHUNK with `data` (and the NUL Tomcat ends it with).
pub fn body_chunk(data: &[u8]) -> Vec<u8> {
    let mut p = vec![3];
    p.extend_from_slice(&(data.len() as u16).to_be_bytes());
    p.extend_from_slice(data);
    p.push(0);
    container_packet(&p)
}

pub fn end_response(reuse: bool) -> Vec<u8> {
    container_packet(&[5, u8::from(reuse)])
}

struct Reader<'a> {
    p: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> io::Result<u8> {
        let b = *self
            .p
            .get(self.at)
            .ok_or_else(|| io::Error::other("short"))?;
        self.at += 1;
        Ok(b)
    }
    fn int(&mut self) -> io::Result<u16> {
        Ok(u16::from_be_bytes([self.byte()?, self.byte()?]))
    }
    fn string(&mut self) -> io::Result<String> {
        let n = self.int()?;
        if n == 0xFFFF {
            return Ok(String::new());
        }
        let s = self
            .p
            .get(self.at..self.at + n as usize)
            .ok_or_else(|| io::Error::other("short string"))?;
        let s = String::from_utf8_lossy(s).into_owned();
        self.at += n as usize;
        if self.byte()? != 0 {
            return Err(io::Error::other("string without NUL"));
        }
        Ok(s)
    }
}

/// Parses a FORWARD_REQUEST payload (after its prefix code).
pub fn parse_forward_request(payload: &[u8]) -> io::Result<AjpRequest> {
    let mut r = Reader { p: payload, at: 1 };
    let code = r.byte()?;
    let mut req = AjpRequest {
        method: METHODS
            .get((code as usize).wrapping_sub(1))
            .map_or(String::new(), |m| m.to_string()),
        protocol: r.string()?,
        uri: r.string()?,
        remote_addr: r.string()?,
        ..AjpRequest::default()
    };
    let _remote_host = r.string()?;
    req.server_name = r.string()?;
    req.server_port = r.int()?;
    req.is_ssl = r.byte()? != 0;
    let count = r.int()?;
    for _ in 0..count {
        let name = if r.p.get(r.at) == Some(&0xA0) {
            let c = r.int()? & 0xFF;
            HEADERS
                .get((c as usize).wrapping_sub(1))
                .ok_or_else(|| io::Error::other("bad header code"))?
                .to_string()
        } else {
            r.string()?
        };
        let value = r.string()?;
        req.headers.push((name, value));
    }
    loop {
        let code = r.byte()?;
        let (name, value) = match code {
            0xFF => break,
            0x0A => (r.string()?, r.string()?),
            0x0B => ("ssl_key_size".to_string(), r.int()?.to_string()),
            c => {
                let name = match c {
                    0x01 => "context",
                    0x02 => "servlet_path",
                    0x03 => "remote_user",
                    0x04 => "auth_type",
                    0x05 => "query_string",
                    0x06 => "route",
                    0x07 => "ssl_cert",
                    0x08 => "ssl_cipher",
                    0x09 => "ssl_session",
                    0x0C => "secret",
                    0x0D => "stored_method",
                    _ => return Err(io::Error::other(format!("bad attribute {c:#x}"))),
                };
                (name.to_string(), r.string()?)
            }
        };
        if name == "stored_method" {
            req.method = value.clone();
        }
        req.attributes.push((name, value));
    }
    req.packet = payload.to_vec();
    Ok(req)
}

fn serve(mut stream: TcpStream, shared: &Shared) -> io::Result<()> {
    let _ = stream.set_nodelay(true);
    stream.set_read_timeout(Some(Duration::from_millis(100)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    while let Some(payload) = read_packet(&mut stream, shared)? {
        match payload.first() {
            Some(10) => {
                shared.cpings.fetch_add(1, Ordering::SeqCst);
                if *lock(&shared.mode) == AjpMode::BadCpong {
                    stream.write_all(&end_response(true))?;
                } else {
                    stream.write_all(&container_packet(&[9]))?;
                }
            }
            Some(2) => {
                let mut req = parse_forward_request(&payload)?;
                read_body(&mut stream, shared, &mut req)?;
                shared.requests.fetch_add(1, Ordering::SeqCst);
                let mode = *lock(&shared.mode);
                let answer = format!(
                    "ajp {} {} {} body={}",
                    shared.name,
                    req.method,
                    req.uri,
                    req.body.len()
                );
                lock(&shared.recorded).push(req);
                match mode {
                    AjpMode::Normal | AjpMode::BadCpong => {
                        let len = answer.len().to_string();
                        let mut out = send_headers(
                            200,
                            &[
                                ("Content-Type", "text/plain"),
                                ("Content-Length", &len),
                                ("X-Origin", &shared.name),
                            ],
                        );
                        out.extend(body_chunk(answer.as_bytes()));
                        out.extend(end_response(true));
                        stream.write_all(&out)?;
                    }
                    AjpMode::BadMagic => {
                        let mut out = send_headers(200, &[]);
                        out[..2].copy_from_slice(b"XY");
                        stream.write_all(&out)?;
                        return Ok(());
                    }
                    AjpMode::Oversized => {
                        let mut out = send_headers(200, &[("Content-Type", "text/plain")]);
                        out.extend(body_chunk(&[b'o'; 9000]));
                        out.extend(end_response(true));
                        stream.write_all(&out)?;
                    }
                    AjpMode::CloseMidResponse => {
                        let mut out = send_headers(200, &[("Content-Length", "100")]);
                        let chunk = body_chunk(&[b'p'; 50]);
                        out.extend_from_slice(&chunk[..chunk.len() / 2]);
                        stream.write_all(&out)?;
                        return Ok(());
                    }
                }
            }
            other => return Err(io::Error::other(format!("unexpected packet {other:?}"))),
        }
    }
    Ok(())
}

/// Reads the body as Tomcat does: unsolicited first chunk for a known
/// length, GET_BODY_CHUNK for the rest, until the length or an empty chunk.
fn read_body(stream: &mut TcpStream, shared: &Shared, req: &mut AjpRequest) -> io::Result<()> {
    let length: Option<usize> = req.header("content-length").and_then(|v| v.parse().ok());
    let chunked = length.is_none()
        && req
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if length == Some(0) || (length.is_none() && !chunked) {
        return Ok(());
    }
    let mut first = length.is_some();
    loop {
        if !first {
            stream.write_all(&container_packet(&[6, 0x1f, 0xfa]))?;
        }
        first = false;
        let Some(p) = read_packet(stream, shared)? else {
            return Err(io::Error::other("closed inside the body"));
        };
        if p.len() < 2 {
            break;
        }
        let n = u16::from_be_bytes([p[0], p[1]]) as usize;
        if n == 0 {
            break;
        }
        req.body.extend_from_slice(p.get(2..2 + n).unwrap_or(&[]));
        if length.is_some_and(|l| req.body.len() >= l) {
            break;
        }
    }
    Ok(())
}
