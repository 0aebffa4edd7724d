//! slotgate's AJP codec (`slotgate::codec::ajp`) driven directly over a
//! blocking TcpStream, against a real Tomcat 10 (Debian `tomcat10`) and
//! against the test AJP origin: what it sends is what Tomcat understands
//! (secret, attributes, bodies larger than a packet, chunked bodies, a kept
//! connection), and what the origin records is what httpd sends.

mod common;

use common::ajp::{AjpMode, AjpOrigin};
use common::tomcat::Tomcat;
use slotgate::codec::ajp::{Ajp, Settings};
use slotgate::codec::{Event, MemberCodec, Outgoing};
use slotgate::http::{parse_request, Framing};
use slotgate::rules::env::Env;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    framing: Framing,
    body: Vec<u8>,
    reusable: bool,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn codec(secret: Option<&str>) -> Ajp {
    Settings {
        packet_size: 8192,
        secret: secret.map(Arc::from),
        ping: false,
    }
    .codec()
}

/// One request on `stream` through `codec`: the head (raw HTTP/1.1 text, as
/// a client sent it), the member target and the body; bounded by the socket
/// timeouts and a step count.
fn exchange(
    stream: &mut TcpStream,
    codec: &mut Ajp,
    raw_head: &str,
    target: &str,
    body: Option<&[u8]>,
    chunked: bool,
) -> Answer {
    let head = parse_request(raw_head.as_bytes()).unwrap().unwrap();
    let env = Env::default();
    let body = body.unwrap_or(&[]);
    let req = Outgoing {
        head: &head,
        target,
        body_length: if chunked {
            None
        } else {
            Some(body.len() as u64)
        },
        client: "10.1.2.3:4567".parse().unwrap(),
        local: "127.0.0.1:8080".parse().unwrap(),
        https: false,
        server_name: "proxy.test",
        env: &env,
        keep: true,
        http: Default::default(),
        cgi: None,
    };
    let mut out = Vec::new();
    codec.start(&req, &mut out);
    let mut sent = 0;
    let mut ended = false;
    let mut buf = Vec::new();
    let mut answer = Answer {
        status: 0,
        headers: Vec::new(),
        framing: Framing::None,
        body: Vec::new(),
        reusable: false,
    };
    for _ in 0..10_000 {
        // Send whatever the member may take now.
        while sent < body.len() && codec.body_room() > 0 {
            let n = codec.body_room().min(body.len() - sent);
            codec.body(&body[sent..sent + n], &mut out);
            sent += n;
        }
        if sent == body.len() && !ended {
            codec.end_body(&mut out);
            ended = true;
        }
        if !out.is_empty() {
            stream.write_all(&out).unwrap();
            out.clear();
        }
        // Decode what arrived; read more when nothing is complete.
        let d = codec.decode(&buf, &mut out).expect("a protocol error");
        let used = d.used;
        match d.event {
            Event::Pending => {
                buf.drain(..used);
                // A GET_BODY_CHUNK answered, or room for more body: send first.
                if !out.is_empty() || (sent < body.len() && codec.body_room() > 0) {
                    continue;
                }
                let mut chunk = [0u8; 16384];
                let n = stream.read(&mut chunk).expect("reading from the member");
                assert!(n > 0, "the member closed: {:?}", codec.eof());
                buf.extend_from_slice(&chunk[..n]);
                continue;
            }
            Event::Head(h) => {
                answer.status = h.status;
                answer.framing = h.framing;
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
            Event::Body(r) => answer.body.extend_from_slice(&buf[r]),
            Event::End { reusable } => {
                answer.reusable = reusable;
                buf.drain(..used);
                assert!(buf.is_empty(), "bytes after END_RESPONSE");
                return answer;
            }
            Event::Interim(_) => panic!("AJP has no interim responses"),
        }
        buf.drain(..used);
    }
    panic!("no END_RESPONSE within 10000 steps");
}

fn connect(addr: &str) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(60))).unwrap();
    s
}

#[test]
fn codec_speaks_to_a_real_tomcat_on_one_kept_connection() {
    let Some(tomcat) = Tomcat::start("tc1", "s3cr3t") else {
        return;
    };
    let mut s = connect(&tomcat.addr());
    let mut c = codec(Some("s3cr3t"));

    // GET with a query, a custom header and a Host: the JSP sees the client's
    // address and port (AJP_REMOTE_PORT), Host's name and the local port.
    let a = exchange(
        &mut s,
        &mut c,
        "GET /app/echo.jsp?a=1&b=x%20y HTTP/1.1\r\nHost: Example.TEST:9\r\nX-Custom: v\r\n\r\n",
        "/echo.jsp?a=1&b=x%20y",
        None,
        false,
    );
    let text = a.text();
    assert_eq!(a.status, 200, "{text}\n{}", tomcat.logs());
    for line in [
        "method=GET",
        "uri=/echo.jsp",
        "query=a=1&b=x%20y",
        "remote=10.1.2.3",
        "remoteport=4567",
        // Tomcat takes the server name and port from Host when there is one.
        "server=Example.TEST:9",
        "secure=false",
        "body=0",
        "h:X-Custom=v",
        "h:host=Example.TEST:9",
    ] {
        assert!(text.lines().any(|l| l == line), "no {line:?} in:\n{text}");
    }
    assert!(a.header("content-type").unwrap().starts_with("text/plain"));
    assert!(a.reusable, "Tomcat keeps the connection");

    // A POST body of 3 packets and more, on the same connection.
    let body: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
    let a = exchange(
        &mut s,
        &mut c,
        "POST /echo.jsp HTTP/1.1\r\nHost: h\r\nContent-Length: 20000\r\nContent-Type: application/octet-stream\r\n\r\n",
        "/echo.jsp",
        Some(&body),
        false,
    );
    assert_eq!(a.status, 200);
    assert!(a.text().contains("\nbody=20000\n"), "{}", a.text());
    assert!(a.reusable);

    // A chunked body (no length): Tomcat asks for every chunk.
    let a = exchange(
        &mut s,
        &mut c,
        "POST /echo.jsp HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
        "/echo.jsp",
        Some(&body[..12_345]),
        true,
    );
    assert!(a.text().contains("\nbody=12345\n"), "{}", a.text());
    assert!(a.reusable);

    // HEAD of a static file: a length, no body.
    let a = exchange(
        &mut s,
        &mut c,
        "HEAD /hello.txt HTTP/1.1\r\nHost: h\r\n\r\n",
        "/hello.txt",
        None,
        false,
    );
    assert_eq!(a.status, 200);
    assert_eq!(a.framing, Framing::None);
    assert!(a.body.is_empty());

    // A session id carries the jvmRoute.
    let a = exchange(
        &mut s,
        &mut c,
        "GET /echo.jsp?session=1 HTTP/1.1\r\nHost: h\r\n\r\n",
        "/echo.jsp?session=1",
        None,
        false,
    );
    let cookie = a.header("set-cookie").expect("a session cookie");
    assert!(
        cookie.starts_with("JSESSIONID=") && cookie.contains(".tc1;"),
        "{cookie}"
    );

    // Without the secret Tomcat answers 403 (secretRequired, its default).
    let mut s2 = connect(&tomcat.addr());
    let mut bare = codec(None);
    let a = exchange(
        &mut s2,
        &mut bare,
        "GET /hello.txt HTTP/1.1\r\nHost: h\r\n\r\n",
        "/hello.txt",
        None,
        false,
    );
    assert_eq!(a.status, 403);
}

#[test]
fn codec_requests_match_what_the_test_origin_records() {
    let origin = AjpOrigin::start("a");
    let mut s = connect(&origin.addr());
    let mut c = codec(Some("pw"));
    let body = vec![7u8; 9000];
    let a = exchange(
        &mut s,
        &mut c,
        "PUT /x/y?q=1 HTTP/1.1\r\nHost: h:81\r\nContent-Length: 9000\r\nX-A: b\r\n\r\n",
        "/base/y?q=1",
        Some(&body),
        false,
    );
    assert_eq!(a.status, 200);
    assert_eq!(a.text(), "ajp a PUT /base/y body=9000");
    assert!(a.reusable);
    let r = origin.last_request();
    assert_eq!(r.protocol, "HTTP/1.1");
    assert_eq!(r.remote_addr, "10.1.2.3");
    assert_eq!(r.server_name, "h");
    assert_eq!(r.server_port, 8080);
    assert_eq!(r.header("x-a"), Some("b"));
    assert_eq!(r.attribute("secret"), Some("pw"));
    assert_eq!(r.attribute("query_string"), Some("q=1"));
    assert_eq!(r.attribute("AJP_REMOTE_PORT"), Some("4567"));
    assert_eq!(r.attribute("AJP_LOCAL_ADDR"), Some("127.0.0.1"));

    // A fault: the codec reports it, it does not hang or panic.
    origin.set_mode(AjpMode::Oversized);
    let head = parse_request(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
        .unwrap()
        .unwrap();
    let env = Env::default();
    let req = Outgoing {
        head: &head,
        target: "/",
        body_length: Some(0),
        client: "10.1.2.3:4567".parse().unwrap(),
        local: "127.0.0.1:8080".parse().unwrap(),
        https: false,
        server_name: "proxy.test",
        env: &env,
        keep: true,
        http: Default::default(),
        cgi: None,
    };
    let mut out = Vec::new();
    c.start(&req, &mut out);
    s.write_all(&out).unwrap();
    let mut buf = Vec::new();
    let err = 'read: loop {
        let mut chunk = [0u8; 16384];
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "closed before the fault");
        buf.extend_from_slice(&chunk[..n]);
        // Decode all that arrived before reading again.
        loop {
            match c.decode(&buf, &mut out) {
                Err(e) => break 'read e,
                Ok(d) => {
                    buf.drain(..d.used);
                    if let Event::Pending = d.event {
                        break;
                    }
                }
            }
        }
    };
    assert!(err.0.contains("larger than packetsize=8192"), "{err}");
}
