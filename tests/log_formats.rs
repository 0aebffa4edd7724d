//! httpd's access-log format codes, written by the real binary (issue #14,
//! point 2): mod_logio's bytes on the wire (`%I %O %S`), the time taken in
//! each unit, `%k %X %R %L %A`, the port and id variants, `%V`, cookies, and
//! status conditions. Before issue #14 these passed `-t` and failed at start.
//!
//! httpd 2.4 (Debian's apache2, httpd-oracle, `Host: foo.example:81`,
//! `Cookie: c0=1; c1=v1`, a GET of a missing file on a kept-alive connection)
//! logged, for
//! `a=%a A=%A p=%p pc=%{canonical}p pl=%{local}p pr=%{remote}p k=%k X=%X R=%R
//! L=%L I=%I O=%O S=%S v=%v V=%V C=%{c1}C`:
//! `a=127.0.0.1 A=127.0.0.1 p=80 pc=80 pl=18777 pr=46756 k=0 X=+ R=- L=- I=110
//! O=412 S=522 v=proxy.test V=foo.example C=v1` — and for a proxied request
//! `R=proxy-server`; the second request on a connection `k=1`; a response after
//! which the connection closes `X=-`. `%O` counts the head and body sent, `%I`
//! the request's head (and body) received.

mod common;

use common::*;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const FORMAT: &str = "LogFormat \"I=%I O=%O S=%S k=%k X=%X R=%R A=%A a=%{c}a p=%p \
pc=%{canonical}p pl=%{local}p pr=%{remote}p P=%P Pp=%{pid}P V=%V v=%v C=%{sid}C L=%L \
ms=%{ms}T us=%{us}T D=%D s=%{s}T b=%b B=%B st=%>s ok=%200{X-Tag}i notok=%!200{X-Tag}i \
f=%f n=%{x}n sec=%{sec}t fr=%{msec_frac}t\" wire\nCustomLog wire.log wire\n";

/// The `key=value` fields of a line.
fn fields(line: &str) -> HashMap<&str, &str> {
    line.split(' ').filter_map(|f| f.split_once('=')).collect()
}

/// Writes `request` on a new connection and reads the whole answer (the
/// request asks to close): (the client's port, the bytes received).
fn exchange(port: u16, request: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    s.read_to_end(&mut answer)
        .expect("reading the answer to EOF");
    (s.local_addr().unwrap().port(), answer)
}

#[test]
fn wire_codes_count_what_crossed_the_connection() {
    let a = Origin::start("a");
    let sg = start_proxy(&format!("{FORMAT}ProxyPass /app http://{{a}}/app\n"), &[&a]);
    let request = "GET /app/bytes/100 HTTP/1.1\r\nHost: Foo.Example:81\r\n\
                   Cookie: c0=1; sid=abc\r\nX-Tag: t1\r\nConnection: close\r\n\r\n";
    let (client_port, answer) = exchange(sg.port(), request);
    let head_end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head")
        + 4;
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
    let lines = wait_lines(&sg.dir().join("wire.log"), 1, Duration::from_secs(10));
    let f = fields(&lines[0]);
    let pid = f["P"].parse::<i32>().unwrap();
    assert!(sg.worker_pids().contains(&pid), "{} not a worker", f["P"]);
    assert_eq!(f["Pp"], f["P"]);
    let expect = [
        ("I", request.len().to_string()),
        ("O", answer.len().to_string()),
        ("S", (request.len() + answer.len()).to_string()),
        ("b", (answer.len() - head_end).to_string()),
        ("B", "100".to_string()),
        ("st", "200".to_string()),
        ("k", "0".to_string()),
        ("X", "-".to_string()),
        ("R", "proxy-server".to_string()),
        ("A", "127.0.0.1".to_string()),
        ("a", "127.0.0.1".to_string()),
        ("p", "80".to_string()),
        ("pc", "80".to_string()),
        ("pl", sg.port().to_string()),
        ("pr", client_port.to_string()),
        ("V", "foo.example".to_string()),
        ("v", "test.local".to_string()),
        ("C", "abc".to_string()),
        ("L", "-".to_string()),
        ("ok", "t1".to_string()),
        ("notok", "-".to_string()),
        ("f", "-".to_string()),
        ("n", "-".to_string()),
    ];
    for (key, want) in expect {
        assert_eq!(f[key], want, "{key} in {}", lines[0]);
    }
    let us: u64 = f["us"].parse().unwrap();
    assert_eq!(f["D"], f["us"]);
    assert_eq!(f["ms"], (us / 1000).to_string());
    assert_eq!(f["s"], (us / 1_000_000).to_string());
    assert_eq!(f["fr"].len(), 3, "{}", lines[0]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let sec: u64 = f["sec"].parse().unwrap();
    assert!(sec <= now && now - sec < 3600, "sec={sec} now={now}");
}

#[test]
fn keep_alive_count_connection_status_and_handlers() {
    let a = Origin::start("a");
    let sg = start_proxy(
        &format!(
            "{FORMAT}ProxyPass /app http://{{a}}/app\n\
             <Location /status>\nSetHandler server-status\n</Location>\n"
        ),
        &[&a],
    );
    let mut c = Client::connect(sg.port());
    assert_eq!(c.get("/app/one").status, 200);
    assert_eq!(c.get("/status?auto").status, 200);
    // No route: answered locally, without a handler.
    assert_eq!(c.get("/nowhere").status, 404);
    let r = c.request("GET", "/app/two", &[("Connection", "close")], None);
    assert_eq!(r.status, 200);
    let lines = wait_lines(&sg.dir().join("wire.log"), 4, Duration::from_secs(10));
    let got: Vec<(String, String, String)> = lines
        .iter()
        .map(|l| {
            let f = fields(l);
            (f["k"].to_string(), f["X"].to_string(), f["R"].to_string())
        })
        .collect();
    let want = [
        ("0", "+", "proxy-server"),
        ("1", "+", "server-status"),
        ("2", "+", "-"),
        ("3", "-", "proxy-server"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(k, x, r)| (k.to_string(), x.to_string(), r.to_string()))
        .collect();
    assert_eq!(got, want, "{lines:#?}");
}

#[test]
fn debians_stock_formats_start_and_log() {
    // Debian's apache2.conf: `combined` and `vhost_combined` use mod_logio's %O.
    let a = Origin::start("a");
    let sg = start_proxy(
        "LogFormat \"%v:%p %h %l %u %t \\\"%r\\\" %>s %O \\\"%{Referer}i\\\" \\\"%{User-Agent}i\\\"\" vhost_combined\n\
          LogFormat \"%h %l %u %t \\\"%r\\\" %>s %O \\\"%{Referer}i\\\" \\\"%{User-Agent}i\\\"\" combined\n\
          CustomLog access.log combined\nCustomLog other_vhosts_access.log vhost_combined\n\
          ProxyPass /app http://{a}/app\n",
        &[&a],
    );
    let r = http_get(sg.port(), "/app/hello", &[("User-Agent", "ua/1")]);
    assert_eq!(r.status, 200);
    let combined = wait_lines(&sg.dir().join("access.log"), 1, Duration::from_secs(10));
    let vhost = wait_lines(
        &sg.dir().join("other_vhosts_access.log"),
        1,
        Duration::from_secs(10),
    );
    assert!(
        combined[0].starts_with("127.0.0.1 - - ["),
        "{}",
        combined[0]
    );
    assert!(
        combined[0].contains("\"GET /app/hello HTTP/1.1\" 200 ")
            && combined[0].ends_with(" \"-\" \"ua/1\""),
        "{}",
        combined[0]
    );
    // %O is the whole response, head included: more than the body.
    let sent: usize = combined[0]
        .split("\" 200 ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a byte count");
    assert!(sent > r.body.len(), "{sent} bytes for {}", combined[0]);
    assert!(
        vhost[0].starts_with("test.local:80 127.0.0.1 - - ["),
        "{}",
        vhost[0]
    );
}

#[test]
fn the_proxy_protocol_client_and_the_connection_peer() {
    // mod_remoteip: %a is the client the PROXY header names, %{c}a the peer of
    // the connection (the load balancer in front); %{remote}p the client's port.
    let a = Origin::start("a");
    let sg = start_proxy(
        "RemoteIPProxyProtocol On\nLogFormat \"%a %{c}a %h %{c}h %{remote}p\" peers\n\
         CustomLog peers.log peers\nProxyPass /app http://{a}/app\n",
        &[&a],
    );
    let request = "PROXY TCP4 203.0.113.7 127.0.0.1 40000 80\r\n\
                   GET /app/x HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
    let (_, answer) = exchange(sg.port(), request);
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{answer:?}");
    let lines = wait_lines(&sg.dir().join("peers.log"), 1, Duration::from_secs(10));
    assert_eq!(
        lines[0],
        "203.0.113.7 127.0.0.1 203.0.113.7 127.0.0.1 40000"
    );
}
