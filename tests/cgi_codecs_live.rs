//! The FastCGI, SCGI and uwsgi codecs driven directly (no slotgate process)
//! against the real servers users run: php-fpm (Debian php8.2-fpm) and uWSGI
//! (uwsgi-core + uwsgi-plugin-python3), over blocking sockets. What the
//! scripts saw is what httpd makes them see (see src/codec/cgi.rs); the
//! tests through the daemon are tests/fastcgi.rs and tests/scgi_uwsgi.rs.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::php_fpm::PhpFpm;
use common::uwsgi::Uwsgi;
use slotgate::codec::cgi::{Backend, ScriptFile, Site, NO_ADMIN};
use slotgate::codec::fcgi::FcgiCodec;
use slotgate::codec::scgi::ScgiCodec;
use slotgate::codec::uwsgi::UwsgiCodec;
use slotgate::codec::{Event, MemberCodec, Outgoing};
use slotgate::rules::env::Env;

/// What came back: status, headers, body, whether the member may be reused.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    reusable: bool,
}

impl Answer {
    fn line(&self, key: &str) -> Option<String> {
        let text = String::from_utf8_lossy(&self.body);
        let prefix = format!("{key}=");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
    }
}

/// One request through `codec` over `stream`, read until the codec's end.
fn exchange<S: Read + Write>(
    codec: &mut impl MemberCodec,
    mut stream: S,
    req: &Outgoing<'_>,
    body: &[u8],
) -> Result<Answer, String> {
    let mut out = Vec::new();
    codec.start(req, &mut out);
    for piece in body.chunks(100_000) {
        codec.body(piece, &mut out);
    }
    codec.end_body(&mut out);
    stream
        .write_all(&out)
        .map_err(|e| format!("writing: {e}"))?;
    let mut answer = Answer {
        status: 0,
        headers: Vec::new(),
        body: Vec::new(),
        reusable: false,
    };
    let mut held = Vec::new();
    let mut buf = vec![0u8; 65536];
    let mut sink = Vec::new();
    loop {
        let d = codec
            .decode(&held, &mut sink)
            .map_err(|e| format!("decoding: {e}"))?;
        let used = d.used;
        match d.event {
            Event::Pending => {
                held.drain(..used);
                let n = stream.read(&mut buf).map_err(|e| format!("reading: {e}"))?;
                if n == 0 {
                    match codec.eof().map_err(|e| format!("at eof: {e}"))? {
                        Event::End { reusable } => {
                            answer.reusable = reusable;
                            return Ok(answer);
                        }
                        other => return Err(format!("eof gave {other:?}")),
                    }
                }
                held.extend_from_slice(&buf[..n]);
                continue;
            }
            Event::Head(h) => {
                answer.status = h.status;
                answer.headers = h
                    .headers
                    .iter()
                    .map(|x| {
                        (
                            x.name.clone(),
                            String::from_utf8_lossy(&x.value).into_owned(),
                        )
                    })
                    .collect();
            }
            Event::Interim(_) => {}
            Event::Body(r) => answer.body.extend_from_slice(&held[r]),
            Event::End { reusable } => {
                answer.reusable = reusable;
                return Ok(answer);
            }
        }
        held.drain(..used);
    }
}

fn request(raw: &str) -> slotgate::http::RequestHead {
    slotgate::http::parse_request(raw.as_bytes())
        .unwrap()
        .unwrap()
}

fn site<'a>(member: &'a str, docroot: &'a str) -> Site<'a> {
    Site {
        member,
        document_root: docroot,
        server_software: "slotgate",
        server_admin: NO_ADMIN,
        backend: Backend::Fpm,
        file: None,
        fixups: &[],
    }
}

fn outgoing<'a>(
    head: &'a slotgate::http::RequestHead,
    target: &'a str,
    body: u64,
    env: &'a Env,
    site: &'a Site<'a>,
) -> Outgoing<'a> {
    Outgoing {
        head,
        target,
        body_length: Some(body),
        client: "127.0.0.1:40000".parse().unwrap(),
        local: "127.0.0.1:8080".parse().unwrap(),
        https: false,
        server_name: "proxy.test",
        env,
        keep: false,
        http: slotgate::codec::HttpFacts {
            front_port: 80,
            preserve_host: false,
            add_headers: false,
            via: slotgate::config::ProxyVia::Off,
            forward_expect: false,
            upgrade: None,
        },
        cgi: Some(site),
    }
}

const TIMEOUT: Duration = Duration::from_secs(20);

fn tcp(addr: &str) -> std::net::TcpStream {
    let s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(TIMEOUT)).unwrap();
    s
}

#[test]
fn php_fpm_runs_a_script_named_the_proxypassmatch_way() {
    let Some(fpm) = PhpFpm::start(1) else { return };
    let docroot = fpm.docroot().display().to_string();
    // ProxyPassMatch "^/(.*\.php(/.*)?)$" "fcgi://127.0.0.1:PORT/DOCROOT/$1"
    let target = format!("{docroot}/index.php/x/y?a=b");
    let member = format!("fcgi://{}", fpm.tcp(0));
    let s = site(&member, &docroot);
    let head = request("POST /index.php/x/y?a=b HTTP/1.1\r\nHost: v.test\r\nContent-Length: 11\r\nContent-Type: text/plain\r\n\r\n");
    let env = Env::default();
    let req = outgoing(&head, &target, 11, &env, &s);
    let a = exchange(
        &mut FcgiCodec::new(),
        tcp(&fpm.tcp(0)),
        &req,
        b"hello world",
    )
    .unwrap();
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    // What php saw through httpd for the same request (httpd-oracle):
    // SCRIPT_FILENAME=DOCROOT/index.php PATH_INFO=/x/y SCRIPT_NAME=/index.php
    assert_eq!(a.line("POOL").as_deref(), Some("tcp_a"));
    assert_eq!(
        a.line("SCRIPT_FILENAME"),
        Some(format!("{docroot}/index.php"))
    );
    assert_eq!(a.line("PATH_INFO").as_deref(), Some("/x/y"));
    assert_eq!(a.line("SCRIPT_NAME").as_deref(), Some("/index.php"));
    assert_eq!(a.line("QUERY_STRING").as_deref(), Some("a=b"));
    assert_eq!(a.line("BODY_LEN").as_deref(), Some("11"));
    assert_eq!(a.line("REQUEST_METHOD").as_deref(), Some("POST"));
    assert_eq!(a.line("CONTENT_TYPE").as_deref(), Some("text/plain"));
    assert!(a
        .headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v.starts_with("text/plain")));
}

#[test]
fn php_fpm_over_its_unix_socket_with_a_file_under_document_root() {
    let Some(fpm) = PhpFpm::start(0) else { return };
    let docroot = fpm.docroot().display().to_string();
    let filename = format!("{docroot}/index.php");
    let mut s = site("fcgi://localhost", &docroot);
    s.file = Some(ScriptFile {
        filename: &filename,
        path_info: "/x/y",
    });
    let head = request("GET /index.php/x/y?a=b HTTP/1.1\r\nHost: v.test\r\n\r\n");
    let env = Env::default();
    let req = outgoing(&head, "/index.php/x/y?a=b", 0, &env, &s);
    let stream = std::os::unix::net::UnixStream::connect(fpm.socket()).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let a = exchange(&mut FcgiCodec::new(), stream, &req, b"").unwrap();
    assert_eq!(a.status, 200);
    // httpd-oracle, <FilesMatch "\.php$"> SetHandler "proxy:unix:…|fcgi://localhost":
    // PATH_TRANSLATED=DOCROOT/x/y PATH_INFO=/x/y SCRIPT_NAME=/index.php
    assert_eq!(a.line("POOL").as_deref(), Some("unix"));
    assert_eq!(a.line("SCRIPT_FILENAME"), Some(filename.clone()));
    assert_eq!(a.line("PATH_INFO").as_deref(), Some("/x/y"));
    assert_eq!(a.line("PATH_TRANSLATED"), Some(format!("{docroot}/x/y")));
    assert_eq!(a.line("SCRIPT_NAME").as_deref(), Some("/index.php"));
    assert_eq!(a.line("DOCUMENT_ROOT"), Some(docroot.clone()));
}

#[test]
fn php_fpm_status_headers_missing_files_fatal_errors_and_a_kept_connection() {
    let Some(fpm) = PhpFpm::start(1) else { return };
    let docroot = fpm.docroot().display().to_string();
    let member = format!("fcgi://{}", fpm.tcp(0));
    let s = site(&member, &docroot);
    let env = Env::default();
    // One connection, KEEP_CONN: php-fpm keeps it for the next request.
    let stream = tcp(&fpm.tcp(0));
    let mut codec = FcgiCodec::new();
    let ask = |codec: &mut FcgiCodec, path: &str| {
        let head = request(&format!("GET {path} HTTP/1.1\r\nHost: v.test\r\n\r\n"));
        let target = format!("{docroot}{path}");
        let mut req = outgoing(&head, &target, 0, &env, &s);
        req.keep = true;
        exchange(codec, &stream, &req, b"").unwrap()
    };
    let a = ask(&mut codec, "/status.php");
    assert_eq!(a.status, 418);
    assert!(a.headers.contains(&("X-Script".into(), "status".into())));
    let cookies: Vec<_> = a
        .headers
        .iter()
        .filter(|(k, _)| k == "Set-Cookie")
        .collect();
    assert_eq!(cookies.len(), 2);
    assert_eq!(a.body, b"short and stout\n");
    assert!(a.reusable);
    // php-fpm's own answer for a script that is not there (httpd passes it on).
    let a = ask(&mut codec, "/none.php");
    assert_eq!(a.status, 404);
    assert_eq!(String::from_utf8_lossy(&a.body).trim(), "File not found.");
    // A fatal error: php-fpm answers 500.
    let a = ask(&mut codec, "/fatal.php");
    assert_eq!(a.status, 500);
    let a = ask(&mut codec, "/index.php");
    assert_eq!(a.status, 200);
    assert_eq!(a.line("POOL").as_deref(), Some("tcp_a"));
}

#[test]
fn php_fpm_reads_a_ten_megabyte_body() {
    let Some(fpm) = PhpFpm::start(1) else { return };
    let docroot = fpm.docroot().display().to_string();
    let member = format!("fcgi://{}", fpm.tcp(0));
    let s = site(&member, &docroot);
    let env = Env::default();
    let body = common::pattern(10 * 1024 * 1024);
    let head = request(&format!(
        "PUT /index.php HTTP/1.1\r\nHost: v.test\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\n\r\n",
        body.len()
    ));
    let target = format!("{docroot}/index.php");
    let req = outgoing(&head, &target, body.len() as u64, &env, &s);
    let a = exchange(&mut FcgiCodec::new(), tcp(&fpm.tcp(0)), &req, &body).unwrap();
    assert_eq!(a.status, 200, "{}", String::from_utf8_lossy(&a.body));
    assert_eq!(a.line("BODY_LEN"), Some(body.len().to_string()));
    assert_eq!(a.line("BODY_SHA256"), Some(common::sha256_hex(&body)));
}

#[test]
fn uwsgi_over_its_uwsgi_socket_and_its_scgi_socket() {
    let Some(u) = Uwsgi::start() else { return };
    let env = Env::default();
    let member = format!("uwsgi://{}", u.uwsgi_addr());
    let s = site(&member, "/var/www/html");
    // ProxyPass /u/ uwsgi://HOST:PORT/ — httpd-oracle's app saw
    // PATH_INFO=/a/b SCRIPT_NAME=/u BODY_LEN=5
    let head = request("POST /u/a/b?x=1 HTTP/1.1\r\nHost: v.test\r\nContent-Length: 5\r\n\r\n");
    let req = outgoing(&head, "/a/b?x=1", 5, &env, &s);
    let a = exchange(&mut UwsgiCodec::new(), tcp(&u.uwsgi_addr()), &req, b"hello").unwrap();
    assert_eq!(a.status, 200);
    assert!(a.headers.contains(&("X-App".into(), "wsgi".into())));
    assert_eq!(a.line("PATH_INFO").as_deref(), Some("/a/b"));
    assert_eq!(a.line("SCRIPT_NAME").as_deref(), Some("/u"));
    assert_eq!(a.line("QUERY_STRING").as_deref(), Some("x=1"));
    assert_eq!(a.line("BODY_LEN").as_deref(), Some("5"));
    assert!(!a.reusable);

    // ProxyPass /s/ scgi://HOST:PORT/ — the app saw SCRIPT_NAME=/s/a/b.
    let member = format!("scgi://{}", u.scgi_addr());
    let s = site(&member, "/var/www/html");
    let head = request("GET /s/a/b?status=404 HTTP/1.1\r\nHost: v.test\r\n\r\n");
    let req = outgoing(&head, "/a/b?status=404", 0, &env, &s);
    let a = exchange(&mut ScgiCodec::new(), tcp(&u.scgi_addr()), &req, b"").unwrap();
    assert_eq!(a.status, 404);
    assert_eq!(a.line("SCRIPT_NAME").as_deref(), Some("/s/a/b"));
    assert_eq!(a.line("SCGI").as_deref(), Some("1"));
    assert_eq!(a.line("BODY_LEN").as_deref(), Some("0"));
}

#[test]
fn a_test_fastcgi_origin_records_params_and_breaks_the_protocol_on_demand() {
    use common::fcgi_origin::{answer, record, FcgiOrigin};
    let origin = FcgiOrigin::start(|req| match req.param("QUERY_STRING") {
        Some("broken") => record(6, b"no colon here\r\n\r\n"),
        Some("overloaded") => [
            record(6, b"X: 1\r\n\r\n"),
            record(3, &[0, 0, 0, 0, 2, 0, 0, 0]),
        ]
        .concat(),
        _ => answer(b"Status: 201 Made\r\nX-Seen: yes\r\n\r\nmade"),
    });
    let env = Env::default();
    let member = format!("fcgi://{}", origin.addr());
    let s = site(&member, "/var/www/html");
    let head = request("GET /app/x?ok HTTP/1.1\r\nHost: v.test\r\n\r\n");
    let req = outgoing(&head, "/srv/x?ok", 0, &env, &s);
    let a = exchange(&mut FcgiCodec::new(), tcp(&origin.addr()), &req, b"").unwrap();
    assert_eq!((a.status, a.body.as_slice()), (201, &b"made"[..]));
    let got = &origin.requests()[0];
    assert_eq!(got.flags, 0);
    assert_eq!(
        got.param("SCRIPT_FILENAME"),
        Some(format!("proxy:{member}/srv/x").as_str())
    );
    assert_eq!(got.param("REQUEST_URI"), Some("/app/x?ok"));
    for q in ["broken", "overloaded"] {
        let head = request(&format!("GET /app/x?{q} HTTP/1.1\r\nHost: v.test\r\n\r\n"));
        let target = format!("/srv/x?{q}");
        let req = outgoing(&head, &target, 0, &env, &s);
        let e = exchange(&mut FcgiCodec::new(), tcp(&origin.addr()), &req, b"").unwrap_err();
        assert!(e.contains("decoding"), "{q}: {e}");
    }
}
