use super::*;
use crate::codec::test_support::{drive, site, start, Seen};

const GET: &str = "GET /u2/a/b HTTP/1.1\r\nHost: v.test\r\n\r\n";

/// A packet taken apart: its modifiers, its pairs, and what follows it.
type Packet<'a> = ((u8, u8), Vec<(String, String)>, &'a [u8]);

fn packet(out: &[u8]) -> Packet<'_> {
    let size = usize::from(u16::from_le_bytes([out[1], out[2]]));
    let mut vars = &out[4..4 + size];
    let mut pairs = Vec::new();
    while !vars.is_empty() {
        let mut take = || {
            let n = usize::from(u16::from_le_bytes([vars[0], vars[1]]));
            let s = String::from_utf8_lossy(&vars[2..2 + n]).into_owned();
            vars = &vars[2 + n..];
            s
        };
        let k = take();
        let v = take();
        pairs.push((k, v));
    }
    ((out[0], out[3]), pairs, &out[4 + size..])
}

#[test]
fn the_request_is_a_uwsgi_packet_then_the_body() {
    // httpd to a recording uwsgi origin: modifier1=0 modifier2=0,
    // PATH_INFO=/a/b SCRIPT_NAME=/u2 for ProxyPass /u2/ uwsgi://127.0.0.1:19002/
    let mut c = UwsgiCodec::new();
    let s = site("uwsgi://127.0.0.1:19002");
    let mut out = start(
        &mut c,
        &s,
        "POST /u2/a/b HTTP/1.1\r\nHost: v.test\r\nContent-Length: 3\r\n\r\n",
        "/a/b",
        Some(3),
    );
    c.body(b"abc", &mut out);
    c.end_body(&mut out);
    let (mods, pairs, rest) = packet(&out);
    assert_eq!(mods, (0, 0));
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(get("PATH_INFO"), Some("/a/b"));
    assert_eq!(get("SCRIPT_NAME"), Some("/u2"));
    assert_eq!(get("CONTENT_LENGTH"), Some("3"));
    assert_eq!(rest, b"abc");
    assert!(!c.oversized());
}

#[test]
fn variables_past_the_size_field_send_nothing() {
    let mut c = UwsgiCodec::new();
    let big = format!(
        "GET / HTTP/1.1\r\nHost: h\r\n{}\r\n",
        "X-A: 0123456789\r\n".repeat(99)
    );
    // 99 headers of ~28 bytes fit; one huge cookie made of many does not.
    let out = start(&mut c, &site("uwsgi://h"), &big, "/", Some(0));
    assert!(!c.oversized() && !out.is_empty());
    let line = "v".repeat(8000);
    let mut raw = String::from("GET / HTTP/1.1\r\nHost: h\r\n");
    for i in 0..9 {
        raw.push_str(&format!("X-{i}: {line}\r\n"));
    }
    raw.push_str("\r\n");
    let out = start(&mut c, &site("uwsgi://h"), &raw, "/", Some(0));
    assert!(c.oversized());
    assert!(out.is_empty());
}

#[test]
fn the_answer_is_http_with_any_framing() {
    let cases: [(&[u8], &[u8]); 3] = [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", b"hello"),
        (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nto the end", b"to the end"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
            b"abcde",
        ),
    ];
    for (answer, body) in cases {
        for step in [1, 3, 1000] {
            let mut c = UwsgiCodec::new();
            start(&mut c, &site("uwsgi://h"), GET, "/a/b", Some(0));
            assert_eq!(
                drive(&mut c, answer, step, true).unwrap(),
                [
                    Seen::Head(200, "OK".into()),
                    Seen::Body(body.to_vec()),
                    Seen::End(false)
                ],
                "{} step {step}",
                String::from_utf8_lossy(answer)
            );
        }
    }
}

#[test]
fn broken_answers_are_errors() {
    for bad in [
        &b"Status: 200\r\n\r\n"[..],
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\n",
    ] {
        let mut c = UwsgiCodec::new();
        start(&mut c, &site("uwsgi://h"), GET, "/", Some(0));
        assert!(
            drive(&mut c, bad, 2, true).is_err(),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
}
