//! The access log: httpd's `LogFormat` language compiled once into pieces, and
//! one line per request written with a single `write` on an `O_APPEND` file
//! shared by every worker.

use std::net::IpAddr;
use std::path::Path;

use crate::text::date;
use crate::text::escape::log_item as escape;

/// One piece of a compiled format.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    Text(String),
    ClientIp,
    Dash,
    Time,
    RequestLine,
    Status,
    /// `%b`: body bytes, `-` for none; `%B`: `0` for none.
    Bytes {
        dash: bool,
    },
    Micros,
    Seconds,
    RequestHeader(String),
    ResponseHeader(String),
    Env(String),
    Path,
    Query,
    Method,
    Protocol,
    ServerName,
    Port,
    Pid,
}

/// A compiled `LogFormat` string.
#[derive(Clone, Debug)]
pub struct Format {
    pieces: Vec<Piece>,
}

/// What a log line can tell about one request.
pub struct Record<'a> {
    pub client_ip: IpAddr,
    pub request_line: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub protocol: &'a str,
    pub status: u16,
    pub body_bytes: u64,
    pub micros: u64,
    pub server_name: &'a str,
    pub port: u16,
    pub request_header: &'a dyn Fn(&str) -> Option<String>,
    pub response_header: &'a dyn Fn(&str) -> Option<String>,
    pub env: &'a dyn Fn(&str) -> Option<String>,
}

impl Format {
    /// Compiles a format; an unknown `%` directive is an error naming it.
    pub fn compile(s: &str) -> Result<Format, String> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut chars = s.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                text.push(c);
                continue;
            }
            let mut arg: Option<String> = None;
            // Modifiers httpd allows between % and the letter: status lists, '<', '>'.
            while let Some(&m) = chars.peek() {
                if m == '<' || m == '>' || m == '!' || m == ',' || m.is_ascii_digit() {
                    chars.next();
                } else {
                    break;
                }
            }
            if chars.peek() == Some(&'{') {
                chars.next();
                let mut a = String::new();
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    a.push(c);
                }
                arg = Some(a);
            }
            let Some(letter) = chars.next() else {
                return Err("format ends with '%'".into());
            };
            let piece = match (letter, arg) {
                ('%', _) => {
                    text.push('%');
                    continue;
                }
                ('h' | 'a', _) => Piece::ClientIp,
                ('l' | 'u', _) => Piece::Dash,
                ('t', _) => Piece::Time,
                ('r', _) => Piece::RequestLine,
                ('s', _) => Piece::Status,
                ('b', _) => Piece::Bytes { dash: true },
                ('B', _) => Piece::Bytes { dash: false },
                ('D', _) => Piece::Micros,
                ('T', _) => Piece::Seconds,
                ('i', Some(h)) => Piece::RequestHeader(h),
                ('o', Some(h)) => Piece::ResponseHeader(h),
                ('e', Some(v)) => Piece::Env(v),
                ('U', _) => Piece::Path,
                ('q', _) => Piece::Query,
                ('m', _) => Piece::Method,
                ('H', _) => Piece::Protocol,
                ('v' | 'V', _) => Piece::ServerName,
                ('p', _) => Piece::Port,
                ('P', _) => Piece::Pid,
                (l, _) => return Err(format!("unsupported log format directive '%{l}'")),
            };
            if !text.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut text)));
            }
            pieces.push(piece);
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Format { pieces })
    }

    /// Renders one line (with the final newline).
    pub fn render(&self, r: &Record<'_>) -> String {
        let mut out = String::with_capacity(160);
        for p in &self.pieces {
            match p {
                Piece::Text(t) => out.push_str(t),
                Piece::ClientIp => out.push_str(&r.client_ip.to_string()),
                Piece::Dash => out.push('-'),
                Piece::Time => {
                    // httpd's `%t`: local time with its offset (TZ as the C library reads it).
                    let (secs, _) = date::unix_now();
                    out.push_str(&date::clf(&date::Civil::local(secs)));
                }
                Piece::RequestLine => out.push_str(&escape(r.request_line)),
                Piece::Status => out.push_str(&r.status.to_string()),
                Piece::Bytes { dash } => {
                    if r.body_bytes == 0 && *dash {
                        out.push('-');
                    } else {
                        out.push_str(&r.body_bytes.to_string());
                    }
                }
                Piece::Micros => out.push_str(&r.micros.to_string()),
                Piece::Seconds => out.push_str(&(r.micros / 1_000_000).to_string()),
                Piece::RequestHeader(h) => push_opt(&mut out, (r.request_header)(h)),
                Piece::ResponseHeader(h) => push_opt(&mut out, (r.response_header)(h)),
                Piece::Env(v) => push_opt(&mut out, (r.env)(v)),
                Piece::Path => out.push_str(&escape(r.path)),
                Piece::Query => {
                    if let Some(q) = r.query {
                        out.push('?');
                        out.push_str(&escape(q));
                    }
                }
                Piece::Method => out.push_str(&escape(r.method)),
                Piece::Protocol => out.push_str(r.protocol),
                Piece::ServerName => out.push_str(r.server_name),
                Piece::Port => out.push_str(&r.port.to_string()),
                Piece::Pid => out.push_str(&std::process::id().to_string()),
            }
        }
        out.push('\n');
        out
    }
}

fn push_opt(out: &mut String, v: Option<String>) {
    match v {
        Some(v) if !v.is_empty() => out.push_str(&escape(&v)),
        _ => out.push('-'),
    }
}

/// One `CustomLog`: a file, a format, and an optional `env=[!]VAR` condition.
pub struct AccessLog {
    sink: super::sink::Sink,
    format: Format,
    condition: Option<(bool, String)>,
}

impl AccessLog {
    /// Opens a CustomLog: the file at `path`, or `pipe`'s command when given.
    pub fn open(
        path: &Path,
        pipe: Option<&str>,
        format: &str,
        condition: Option<(bool, String)>,
    ) -> Result<AccessLog, String> {
        let format = Format::compile(format)?;
        let sink = match pipe {
            Some(cmd) => super::sink::Sink::pipe(cmd)
                .map_err(|e| format!("starting the piped CustomLog '{cmd}': {e}"))?,
            None => super::sink::Sink::file(path)
                .map_err(|e| format!("opening CustomLog {}: {e}", path.display()))?,
        };
        Ok(AccessLog {
            sink,
            format,
            condition,
        })
    }

    pub fn write(&self, r: &Record<'_>) {
        if let Some((negated, var)) = &self.condition {
            let set = (r.env)(var).is_some();
            if set == *negated {
                return;
            }
        }
        let line = self.format.render(r);
        self.sink.write_line(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_render_like_httpd() {
        let f = Format::compile(
            "%h %l %u \"%r\" %>s %b %{X-A}i %{BALANCER_WORKER_ROUTE}e %{Nope}e %% %U%q",
        )
        .unwrap();
        let req = |h: &str| (h == "X-A").then(|| "1".to_string());
        let none = |_: &str| None;
        let env = |v: &str| (v == "BALANCER_WORKER_ROUTE").then(|| "r1".to_string());
        let r = Record {
            client_ip: "127.0.0.1".parse().unwrap(),
            request_line: "GET /a?b HTTP/1.1",
            method: "GET",
            path: "/a",
            query: Some("b"),
            protocol: "HTTP/1.1",
            status: 200,
            body_bytes: 0,
            micros: 1500,
            server_name: "s",
            port: 80,
            request_header: &req,
            response_header: &none,
            env: &env,
        };
        assert_eq!(
            f.render(&r),
            "127.0.0.1 - - \"GET /a?b HTTP/1.1\" 200 - 1 r1 - % /a?b\n"
        );
        assert!(Format::compile("%Z").is_err());
    }
}
