//! slotgate-origin: a small HTTP/1.1 origin server for demos.
//!
//! `slotgate-origin --listen 127.0.0.1:0 --name a` binds, prints
//! `listening on 127.0.0.1:PORT` on one line, and serves each connection on its
//! own thread, with keep-alive and Content-Length or chunked request bodies.
//! Every response carries `X-Origin: NAME`.
//!
//! Routes: `/echo` answers in text/plain with the request line and the header
//! lines as received; every other path gets a small HTML page naming the origin
//! and showing the request's method, path and headers. `--delay MS` makes every
//! answer wait that long first (a slow member, for tools/bench-bylatency.sh).
//!
//! It is deliberately simple (std only, blocking I/O): the integration tests use
//! their own in-process origin in `tests/common/`.

#[path = "../cli.rs"]
mod cli;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

const USAGE: &str = "\
usage: slotgate-origin [--listen ADDR:PORT] [--name NAME] [--delay MS]
  -l, --listen ADDR:PORT  where to listen (default 127.0.0.1:0, a free port);
                          prints \"listening on ADDR:PORT\" once bound
  -n, --name NAME         sent as X-Origin: NAME on every response (default origin)
      --delay MS          every answer waits MS milliseconds first
routes: /echo (the request as received, text/plain), /bytes/N (N bytes),
        anything else (an HTML page naming the origin)";

/// Longest request head accepted, in bytes.
const MAX_HEAD: usize = 64 * 1024;
/// Longest request body accepted, in bytes (it is read and thrown away).
const MAX_BODY: u64 = 64 * 1024 * 1024;
/// How long an idle keep-alive connection is kept.
const IDLE_TIMEOUT: Duration = Duration::from_secs(30);

struct Options {
    listen: String,
    name: String,
    /// `--delay MS`: every answer waits this long first (a slow member).
    delay: Duration,
}

/// One request as received: the request line's parts and the header lines.
struct Request {
    method: String,
    path: String,
    version: String,
    headers: Vec<(String, String)>,
    body_len: u64,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether the client wants the connection kept open after this request.
    fn keep_alive(&self) -> bool {
        let tokens: Vec<String> = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("connection"))
            .flat_map(|(_, v)| v.split(','))
            .map(|t| t.trim().to_ascii_lowercase())
            .collect();
        if self.version == "HTTP/1.0" {
            tokens.iter().any(|t| t == "keep-alive")
        } else {
            !tokens.iter().any(|t| t == "close")
        }
    }
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("slotgate-origin: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let listener = match TcpListener::bind(&options.listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("slotgate-origin: cannot listen on {}: {e}", options.listen);
            return ExitCode::FAILURE;
        }
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("slotgate-origin: cannot read the bound address: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("listening on {addr}");
    // Whoever started us reads this line to learn the port.
    let _ = io::stdout().flush();

    let name: Arc<str> = Arc::from(options.name.as_str());
    let delay = options.delay;
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                // Head and body are written separately: without this, Nagle's
                // algorithm and the peer's delayed ACK hold the body ~40 ms.
                let _ = stream.set_nodelay(true);
                let name = Arc::clone(&name);
                thread::spawn(move || {
                    if let Err(e) = serve(stream, &name, delay) {
                        // An idle keep-alive connection timing out is a normal end.
                        if !matches!(
                            e.kind(),
                            io::ErrorKind::UnexpectedEof
                                | io::ErrorKind::WouldBlock
                                | io::ErrorKind::TimedOut
                        ) {
                            eprintln!("slotgate-origin {name}: connection: {e}");
                        }
                    }
                });
            }
            Err(e) => eprintln!("slotgate-origin {name}: accept: {e}"),
        }
    }
    ExitCode::SUCCESS
}

/// `Ok(None)` for `--help`.
fn parse_args(args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        listen: "127.0.0.1:0".to_string(),
        name: "origin".to_string(),
        delay: Duration::ZERO,
    };
    let mut args = cli::Args::new(args);
    while let Some(word) = args.next()? {
        let flag = match word {
            cli::Word::Option(flag) => flag,
            cli::Word::Value(v) => return Err(format!("unexpected argument '{v}'")),
        };
        match flag.as_str() {
            "--listen" | "-l" => options.listen = args.value()?,
            "--name" | "-n" => options.name = args.value()?,
            "--delay" => {
                let ms = args.value()?;
                let ms: u64 = ms
                    .parse()
                    .map_err(|_| format!("--delay: expected milliseconds, got '{ms}'"))?;
                options.delay = Duration::from_millis(ms);
            }
            "--help" | "-h" => return Ok(None),
            other => return Err(format!("unknown option '{other}'")),
        }
    }
    Ok(Some(options))
}

/// Serves requests on one connection until the client closes it or asks to.
fn serve(stream: TcpStream, name: &str, delay: Duration) -> io::Result<()> {
    stream.set_read_timeout(Some(IDLE_TIMEOUT))?;
    stream.set_write_timeout(Some(IDLE_TIMEOUT))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    loop {
        let request = match read_request(&mut reader)? {
            Some(r) => r,
            None => return Ok(()),
        };
        let keep_alive = request.keep_alive();
        if !delay.is_zero() {
            thread::sleep(delay);
        }
        if let Some(n) = request
            .path
            .strip_prefix("/bytes/")
            .and_then(|n| n.parse::<u64>().ok())
        {
            stream_bytes(&mut writer, name, n, keep_alive, request.method == "HEAD")?;
            if !keep_alive {
                return Ok(());
            }
            continue;
        }
        let (content_type, body) = match request.path.split('?').next() {
            Some("/echo") => ("text/plain; charset=utf-8", echo_body(&request)),
            _ => ("text/html; charset=utf-8", html_page(name, &request)),
        };
        let mut head = format!(
            "HTTP/1.1 200 OK\r\nX-Origin: {name}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
            body.len()
        );
        if !keep_alive {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        writer.write_all(head.as_bytes())?;
        if request.method != "HEAD" {
            writer.write_all(body.as_bytes())?;
        }
        writer.flush()?;
        if !keep_alive {
            return Ok(());
        }
    }
}

/// `/bytes/N`: N bytes of a repeating pattern, streamed in 64 KiB writes (for
/// tools/bench-rss.sh: a body of any size without holding it).
fn stream_bytes(
    w: &mut TcpStream,
    name: &str,
    n: u64,
    keep_alive: bool,
    head: bool,
) -> io::Result<()> {
    let close = if keep_alive {
        ""
    } else {
        "Connection: close\r\n"
    };
    let h = format!(
        "HTTP/1.1 200 OK\r\nX-Origin: {name}\r\nContent-Type: application/octet-stream\r\nContent-Length: {n}\r\n{close}\r\n"
    );
    w.write_all(h.as_bytes())?;
    if head {
        return Ok(());
    }
    let block: Vec<u8> = (0..65_536u32).map(|i| (i % 251) as u8).collect();
    let mut left = n;
    while left > 0 {
        let k = left.min(block.len() as u64) as usize;
        w.write_all(&block[..k])?;
        left -= k as u64;
    }
    w.flush()
}

/// Reads one request head and its body. `None` when the client closed the
/// connection cleanly between requests.
fn read_request(reader: &mut impl BufRead) -> io::Result<Option<Request>> {
    let mut line = String::new();
    let mut head_len = 0;
    // Tolerate empty lines before the request line (RFC 9112 §2.2).
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        if n == 0 {
            return Ok(None);
        }
        head_len += n;
        if head_len > MAX_HEAD {
            return Err(invalid("request head too long"));
        }
        if !line.trim_end().is_empty() {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let (method, path, version) = match (parts.next(), parts.next(), parts.next()) {
        (Some(m), Some(p), Some(v)) => (m.to_string(), p.to_string(), v.to_string()),
        _ => return Err(invalid("malformed request line")),
    };
    let mut headers = Vec::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head_len += n;
        if head_len > MAX_HEAD {
            return Err(invalid("request head too long"));
        }
        let text = line.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            break;
        }
        let (name, value) = text
            .split_once(':')
            .ok_or_else(|| invalid("header line without a colon"))?;
        headers.push((name.to_string(), value.trim().to_string()));
    }
    let mut request = Request {
        method,
        path,
        version,
        headers,
        body_len: 0,
    };
    let chunked = request
        .header("transfer-encoding")
        .is_some_and(|te| te.to_ascii_lowercase().contains("chunked"));
    request.body_len = if chunked {
        skip_chunked(reader)?
    } else if let Some(cl) = request.header("content-length") {
        let len: u64 = cl.parse().map_err(|_| invalid("bad Content-Length"))?;
        if len > MAX_BODY {
            return Err(invalid("request body too large"));
        }
        let copied = io::copy(&mut reader.take(len), &mut io::sink())?;
        if copied != len {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        len
    } else {
        0
    };
    Ok(Some(request))
}

/// Reads a chunked body and its trailers, returning the body's length.
fn skip_chunked(reader: &mut impl BufRead) -> io::Result<u64> {
    let mut total = 0u64;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let size_text = line.trim_end().split(';').next().unwrap_or("").trim();
        let size = u64::from_str_radix(size_text, 16).map_err(|_| invalid("bad chunk size"))?;
        if size == 0 {
            break;
        }
        total += size;
        if total > MAX_BODY {
            return Err(invalid("request body too large"));
        }
        // The chunk's data and its CRLF.
        let want = size + 2;
        if io::copy(&mut reader.take(want), &mut io::sink())? != want {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    // Trailers up to the empty line.
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if line.trim_end().is_empty() {
            return Ok(total);
        }
    }
}

fn echo_body(request: &Request) -> String {
    let mut body = format!("{} {} {}\n", request.method, request.path, request.version);
    for (name, value) in &request.headers {
        body.push_str(&format!("{name}: {value}\n"));
    }
    if request.body_len > 0 {
        body.push_str(&format!("\n({} body bytes)\n", request.body_len));
    }
    body
}

fn html_page(name: &str, request: &Request) -> String {
    let mut rows = String::new();
    for (n, v) in &request.headers {
        rows.push_str(&format!(
            "<tr><th>{}</th><td>{}</td></tr>\n",
            escape(n),
            escape(v)
        ));
    }
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>slotgate demo origin {n}</title></head>\n\
         <body>\n<h1>slotgate demo origin {n}</h1>\n<p><code>{m} {p} {v}</code></p>\n\
         <table>\n{rows}</table>\n</body></html>\n",
        n = escape(name),
        m = escape(&request.method),
        p = escape(&request.path),
        v = escape(&request.version),
    )
}

use slotgate::handlers::snapshot::html as escape;

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Option<Options>, String> {
        parse_args(line.split_whitespace().map(str::to_string))
    }

    /// The message of a refused command line.
    fn refused(line: &str) -> String {
        match parse(line) {
            Err(message) => message,
            Ok(_) => panic!("accepted {line:?}"),
        }
    }

    #[test]
    fn options() {
        let o = parse("--listen=127.0.0.1:9 -n a --delay 5")
            .unwrap()
            .unwrap();
        assert_eq!(o.listen, "127.0.0.1:9");
        assert_eq!(o.name, "a");
        assert_eq!(o.delay, Duration::from_millis(5));
        let o = parse("").unwrap().unwrap();
        assert_eq!(
            (o.listen.as_str(), o.name.as_str()),
            ("127.0.0.1:0", "origin")
        );
        assert!(parse("-h").unwrap().is_none());
        assert_eq!(refused("--delay"), "--delay needs a value");
        assert_eq!(
            refused("--delay soon"),
            "--delay: expected milliseconds, got 'soon'"
        );
        assert_eq!(refused("--port 1"), "unknown option '--port'");
        assert_eq!(refused("a"), "unexpected argument 'a'");
    }
}
