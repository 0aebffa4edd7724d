//! Members on Unix domain sockets (`unix:/path|http://host/`) and the PROXY
//! protocol, accepted from clients (`RemoteIPProxyProtocol On`) and sent to
//! members (`proxyprotocol=v1|v2`), against the real binary.

mod common;

use common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(10);

/// An HTTP/1.1 origin on a Unix socket in a fresh directory: answers every
/// request with `X-Origin: NAME` and its request head as the body, keeps
/// connections alive, counts connections and requests. Drop stops it and
/// removes the directory.
struct UnixOrigin {
    dir: PathBuf,
    path: PathBuf,
    stop: Arc<AtomicBool>,
    connections: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
    acceptor: Option<thread::JoinHandle<()>>,
}

impl UnixOrigin {
    fn start(name: &'static str) -> UnixOrigin {
        let dir = std::env::temp_dir().join(format!(
            "slotgate-uds-{}-{name}-{:?}",
            std::process::id(),
            Instant::now()
        ));
        let dir = PathBuf::from(dir.to_string_lossy().replace([' ', '{', '}', ':'], ""));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("origin.sock");
        let listener = UnixListener::bind(&path).unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Arc::new(AtomicUsize::new(0));
        let requests = Arc::new(AtomicUsize::new(0));
        let (s, c, r) = (stop.clone(), connections.clone(), requests.clone());
        let acceptor = thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        c.fetch_add(1, Ordering::Relaxed);
                        let (s, r) = (s.clone(), r.clone());
                        thread::spawn(move || serve_unix(stream, name, &s, &r));
                    }
                    // Idle wait of a non-blocking accept that looks at the
                    // stop flag in between, not a wait on a fact.
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        UnixOrigin {
            dir,
            path,
            stop,
            connections,
            requests,
            acceptor: Some(acceptor),
        }
    }
}

impl Drop for UnixOrigin {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Reads a request head (no bodies in these tests) and answers it, until the
/// peer closes, the origin stops, or 10 s pass idle.
fn serve_unix(stream: UnixStream, name: &str, stop: &AtomicBool, requests: &AtomicUsize) {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut idle = Instant::now();
    while !stop.load(Ordering::Relaxed) && idle.elapsed() < WAIT {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            match reader.read_line(&mut line) {
                Ok(0) => return,
                Ok(_) => {
                    head.push_str(&line);
                    if line == "\r\n" {
                        break;
                    }
                }
                Err(_) if stop.load(Ordering::Relaxed) => return,
                Err(_) => continue,
            }
        }
        requests.fetch_add(1, Ordering::Relaxed);
        idle = Instant::now();
        let reply = format!(
            "HTTP/1.1 200 OK\r\nX-Origin: {name}\r\nContent-Length: {}\r\n\r\n{head}",
            head.len()
        );
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

#[test]
fn a_unix_socket_member_serves_requests_over_kept_alive_connections() {
    let u = UnixOrigin::start("u");
    let sock = u.path.display().to_string();
    let sg = Slotgate::start(&format!(
        "{BASE_CONF}ProxyPass /app/ \"unix:{sock}|http://app.internal/base/\"\n\
         <Proxy balancer://uds>\n  BalancerMember unix:{sock}|http://\n</Proxy>\n\
         ProxyPass /lb/ balancer://uds/\n"
    ));
    let mut c = Client::connect(sg.port());
    for i in 0..5 {
        let r = c.get(&format!("/app/x{i}?q=1"));
        assert_eq!(r.status, 200, "{}", r.summary());
        assert_eq!(r.header("x-origin"), Some("u"));
        let head = r.text();
        assert!(
            head.starts_with(&format!("GET /base/x{i}?q=1 HTTP/1.1\r\n")),
            "{head}"
        );
        assert!(head.contains("Host: app.internal\r\n"), "{head}");
        assert!(head.contains("X-Forwarded-For: 127.0.0.1\r\n"), "{head}");
    }
    // The balancer member: no host after `|`, so Host: localhost.
    let r = c.get("/lb/y");
    assert_eq!(r.status, 200, "{}", r.summary());
    assert!(r.text().starts_with("GET /y HTTP/1.1\r\n"), "{}", r.text());
    assert!(r.text().contains("Host: localhost\r\n"), "{}", r.text());
    assert_eq!(u.requests.load(Ordering::Relaxed), 6);
    // One worker: the standalone and the balanced member each kept one connection.
    assert_eq!(
        u.connections.load(Ordering::Relaxed),
        2,
        "member connections were not reused"
    );
}

#[test]
fn a_missing_socket_file_is_a_503_naming_the_member() {
    let sg = Slotgate::start(&format!(
        "{BASE_CONF}ProxyPass / unix:/nonexistent/slotgate.sock|http://x/\n"
    ));
    let r = http_get(sg.port(), "/", &[]);
    assert_eq!(r.status, 503, "{}", r.summary());
}

#[test]
fn a_bad_unix_member_is_a_config_error_with_file_and_line() {
    let err = Slotgate::try_start(&format!(
        "{BASE_CONF}ProxyPass / \"unix:relative.sock|http://x/\"\n"
    ))
    .err()
    .expect("a relative socket path is refused");
    assert!(
        err.contains("slotgate.conf:8: ProxyPass:") && err.contains("must be absolute"),
        "{err}"
    );
}

/// `PROXY TCP4 …` (or v2) + a GET of `/headers` with Connection: close, sent in
/// two writes cut inside the header; the response.
fn through_proxy_header(port: u16, header: &[u8], cut: usize) -> Response {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    s.write_all(&header[..cut]).unwrap();
    s.flush().unwrap();
    // A header cut in two reads is the scenario: a pause between the writes.
    thread::sleep(Duration::from_millis(50));
    s.write_all(&header[cut..]).unwrap();
    s.write_all(b"GET /headers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    split_raw_response(&out).unwrap_or_else(|| panic!("no response: {out:?}"))
}

fn v2_header(src: [u8; 16], sport: u16) -> Vec<u8> {
    let mut h = b"\r\n\r\n\0\r\nQUIT\n".to_vec();
    h.extend_from_slice(&[0x21, 0x21, 0, 36 + 7]);
    h.extend_from_slice(&src);
    h.extend_from_slice(&[0; 15]);
    h.push(1);
    h.extend_from_slice(&sport.to_be_bytes());
    h.extend_from_slice(&[0, 80]);
    // A TLV to skip (PP2_TYPE_AUTHORITY "lb").
    h.extend_from_slice(&[0x02, 0, 4]);
    h.extend_from_slice(b"lb.x");
    h
}

#[test]
fn client_addresses_from_proxy_v1_and_v2_headers_reach_the_member_and_the_log() {
    let a = Origin::start("a");
    let sg = start_proxy(
        "RemoteIPProxyProtocol On\n\
         LogFormat \"%h %a %>s\" short\nCustomLog access.log short\n\
         ProxyPass / http://{a}/\n",
        &[&a],
    );
    let v1 = b"PROXY TCP4 203.0.113.7 127.0.0.1 40000 80\r\n";
    for cut in [1, 6, 20, v1.len()] {
        let r = through_proxy_header(sg.port(), v1, cut);
        assert_eq!(r.status, 200, "{}", r.summary());
        let head = String::from_utf8_lossy(&r.body);
        assert!(head.contains("X-Forwarded-For: 203.0.113.7\r\n"), "{head}");
    }
    let mut v6 = [0u8; 16];
    v6[0] = 0x20;
    v6[1] = 0x01;
    v6[2] = 0x0d;
    v6[3] = 0xb8;
    v6[15] = 9;
    let v2 = v2_header(v6, 5555);
    for cut in [3, 12, 15, 16, 40, v2.len()] {
        let r = through_proxy_header(sg.port(), &v2, cut);
        assert_eq!(r.status, 200, "{}", r.summary());
        let head = String::from_utf8_lossy(&r.body);
        assert!(head.contains("X-Forwarded-For: 2001:db8::9\r\n"), "{head}");
    }
    // The access log's %h and %a show the address from the header.
    let log = sg.dir().join("access.log");
    let lines = wait_lines(&log, 10, WAIT);
    assert!(
        lines[0].starts_with("203.0.113.7 203.0.113.7 200"),
        "{lines:?}"
    );
    assert!(
        lines[9].starts_with("2001:db8::9 2001:db8::9 200"),
        "{lines:?}"
    );
}

#[test]
fn without_a_valid_proxy_header_the_client_gets_400() {
    let a = Origin::start("a");
    let sg = start_proxy(
        "<VirtualHost *>\n  RemoteIPProxyProtocol On\n  ProxyPass / http://{a}/\n</VirtualHost>\n",
        &[&a],
    );
    for bad in [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".as_slice(),
        b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x04abcdGET / HTTP/1.1\r\n\r\n",
    ] {
        let raw = send_raw(sg.port(), bad);
        let r = split_raw_response(&raw).unwrap_or_else(|| panic!("no response: {raw:?}"));
        assert_eq!(r.status, 400, "{}", r.summary());
    }
    assert_eq!(a.requests(), 0, "a refused connection reached the member");
}

#[test]
fn proxy_protocol_exceptions_connect_without_a_header() {
    let a = Origin::start("a");
    let sg = start_proxy(
        "RemoteIPProxyProtocol On\nRemoteIPProxyProtocolExceptions 127.0.0.0/8\n\
         ProxyPass / http://{a}/\n",
        &[&a],
    );
    let r = http_get(sg.port(), "/bytes/3", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
}

/// A member on a raw listener that records the first bytes of each connection
/// (the PROXY header) and answers one request per connection with close.
/// What a member connection's first bytes were, one entry per connection.
type Seen = Arc<Mutex<Vec<Vec<u8>>>>;

fn header_member() -> (SocketAddr, Seen, Arc<AtomicBool>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.set_nonblocking(true).unwrap();
    let addr = l.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (seen2, stop2) = (seen.clone(), stop.clone());
    thread::spawn(move || {
        while !stop2.load(Ordering::Relaxed) {
            let Ok((mut s, _)) = l.accept() else {
                // Idle wait of a non-blocking accept (stop flag), not a fact.
                thread::sleep(Duration::from_millis(5));
                continue;
            };
            s.set_nonblocking(false).unwrap();
            s.set_read_timeout(Some(WAIT)).unwrap();
            let mut got = Vec::new();
            let mut buf = [0u8; 4096];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            seen2.lock().unwrap().push(got);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        }
    });
    (addr, seen, stop)
}

#[test]
fn members_with_proxyprotocol_get_the_header_on_every_new_connection() {
    let (v2_member, seen_v2, stop_v2) = header_member();
    let (v1_member, seen_v1, stop_v1) = header_member();
    let sg = Slotgate::start(&format!(
        "{BASE_CONF}ProxyPass /two/ http://{v2_member}/ proxyprotocol=v2\n\
         ProxyPass /one/ http://{v1_member}/ proxyprotocol=v1\n"
    ));
    let mut c = Client::connect(sg.port());
    let client = c.local_addr();
    assert_eq!(c.get("/two/a").status, 200);
    assert_eq!(c.get("/two/b").status, 200);
    assert_eq!(c.get("/one/c").status, 200);
    stop_v2.store(true, Ordering::Relaxed);
    stop_v1.store(true, Ordering::Relaxed);
    let seen = seen_v2.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "a connection with a PROXY header was reused");
    for (got, path) in seen.iter().zip(["/a", "/b"]) {
        let (h, rest) = got.split_at(28);
        assert_eq!(&h[..13], b"\r\n\r\n\0\r\nQUIT\n\x21", "{got:?}");
        assert_eq!(h[13], 0x11, "TCP over IPv4");
        assert_eq!(&h[14..16], &[0, 12]);
        assert_eq!(&h[16..20], &[127, 0, 0, 1]);
        assert_eq!(u16::from_be_bytes([h[24], h[25]]), client.port());
        assert_eq!(u16::from_be_bytes([h[26], h[27]]), sg.port());
        let req = String::from_utf8_lossy(rest);
        assert!(
            req.starts_with(&format!("GET {path} HTTP/1.1\r\n")),
            "{req}"
        );
        assert!(req.contains("Connection: close\r\n"), "{req}");
    }
    let seen = seen_v1.lock().unwrap().clone();
    let text = String::from_utf8_lossy(&seen[0]);
    let want = format!(
        "PROXY TCP4 127.0.0.1 127.0.0.1 {} {}\r\nGET /c HTTP/1.1\r\n",
        client.port(),
        sg.port()
    );
    assert!(text.starts_with(&want), "{text}");
}

#[test]
fn an_accepted_client_address_is_passed_on_in_the_member_header() {
    let (member, seen, stop) = header_member();
    let sg = Slotgate::start(&format!(
        "{BASE_CONF}RemoteIPProxyProtocol On\nProxyPass / http://{member}/ proxyprotocol=v1\n"
    ));
    let raw = send_raw(
        sg.port(),
        b"PROXY TCP6 2001:db8::5 2001:db8::1 4321 443\r\nGET /x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    );
    stop.store(true, Ordering::Relaxed);
    assert_eq!(
        split_raw_response(&raw).map(|r| r.status),
        Some(200),
        "{raw:?}"
    );
    let seen = seen.lock().unwrap().clone();
    let text = String::from_utf8_lossy(&seen[0]);
    // The destination is slotgate's own listener (mapped into IPv6).
    let want = format!(
        "PROXY TCP6 2001:db8::5 ::ffff:127.0.0.1 4321 {}\r\n",
        sg.port()
    );
    assert!(text.starts_with(&want), "{text}");
    assert!(text.contains("X-Forwarded-For: 2001:db8::5\r\n"), "{text}");
}

#[test]
fn a_unix_socket_member_is_health_checked_over_its_socket() {
    let u = UnixOrigin::start("u");
    let sock = u.path.display().to_string();
    let sg = Slotgate::start(&format!(
        "{BASE_CONF}<Proxy balancer://uds>\n  \
         BalancerMember unix:{sock}|http://app.internal/ hcmethod=GET hcinterval=200ms hcfails=1\n\
         </Proxy>\nProxyPass /lb/ balancer://uds/\n"
    ));
    let sb = sg.scoreboard();
    let slot = || {
        sb.members()
            .iter()
            .find(|m| m.in_use() && m.url.get().starts_with("unix:"))
            .expect("the unix member's slot")
    };
    // The checker reaches the origin over the socket file: a passed GET.
    wait_for(
        "a passed check of the unix member",
        Duration::from_secs(10),
        || (slot().hc_result() == Some((true, 200))).then_some(()),
        || format!("{:?} {}", slot().hc_result(), slot().hc_reason.get()),
    );
    assert!(
        u.requests.load(Ordering::Relaxed) > 0,
        "the probes came over the socket"
    );
    assert_eq!(slot().status() & scoreboard::flags::HC_FAILED, 0);
    // The origin goes away (its socket file with it): the next check fails.
    drop(u);
    wait_for(
        "the unix member in C",
        Duration::from_secs(10),
        || (slot().status() & scoreboard::flags::HC_FAILED != 0).then_some(()),
        || format!("{:?} {}", slot().hc_result(), slot().hc_reason.get()),
    );
}
