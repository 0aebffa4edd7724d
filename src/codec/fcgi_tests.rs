use super::*;
use crate::codec::cgi::{Backend, Site, NO_ADMIN};
use crate::codec::test_support::{drive, Seen};
use crate::http::{parse_request, RequestHead};
use crate::rules::env::Env;

pub(crate) fn rec(kind: u8, id: u16, content: &[u8], padding: u8) -> Vec<u8> {
    let mut v = vec![1, kind];
    v.extend_from_slice(&id.to_be_bytes());
    v.extend_from_slice(&(content.len() as u16).to_be_bytes());
    v.push(padding);
    v.push(0);
    v.extend_from_slice(content);
    v.extend(std::iter::repeat_n(0xAA, padding as usize));
    v
}

pub(crate) fn end_request(status: u8) -> Vec<u8> {
    rec(END_REQUEST, 1, &[0, 0, 0, 0, status, 0, 0, 0], 0)
}

fn head(raw: &str) -> RequestHead {
    parse_request(raw.as_bytes()).unwrap().unwrap()
}

fn site() -> Site<'static> {
    Site {
        member: "fcgi://127.0.0.1:9000",
        document_root: "/var/www/html",
        server_software: "slotgate",
        server_admin: NO_ADMIN,
        backend: Backend::Fpm,
        file: None,
        fixups: &[],
    }
}

/// Starts `codec` for `raw` with `body` (None: chunked) and returns what it
/// wrote; KEEP_CONN when the codec is `keep`'s.
fn start(codec: &mut FcgiCodec, raw: &str, target: &str, body: Option<u64>) -> Vec<u8> {
    let keep = codec.keep_conn;
    crate::codec::test_support::start_keep(codec, &site(), raw, target, body, keep)
}

/// The records in `bytes`: (type, request id, content).
fn records(mut bytes: &[u8]) -> Vec<(u8, u16, Vec<u8>)> {
    let mut v = Vec::new();
    while !bytes.is_empty() {
        assert_eq!(bytes[0], 1, "version");
        let len = usize::from(u16::from_be_bytes([bytes[4], bytes[5]]));
        let pad = usize::from(bytes[6]);
        v.push((
            bytes[1],
            u16::from_be_bytes([bytes[2], bytes[3]]),
            bytes[8..8 + len].to_vec(),
        ));
        bytes = &bytes[8 + len + pad..];
    }
    v
}

/// Decodes FastCGI name-value pairs.
fn pairs(mut b: &[u8]) -> Vec<(String, String)> {
    fn len(b: &mut &[u8]) -> usize {
        if b[0] & 0x80 == 0 {
            let n = b[0] as usize;
            *b = &b[1..];
            n
        } else {
            let n = (u32::from_be_bytes([b[0], b[1], b[2], b[3]]) & 0x7fff_ffff) as usize;
            *b = &b[4..];
            n
        }
    }
    let mut v = Vec::new();
    while !b.is_empty() {
        let (n, l) = (len(&mut b), len(&mut b));
        v.push((
            String::from_utf8_lossy(&b[..n]).into_owned(),
            String::from_utf8_lossy(&b[n..n + l]).into_owned(),
        ));
        b = &b[n + l..];
    }
    v
}

#[test]
fn the_request_is_begin_params_and_stdin_as_httpd_sends_them() {
    // httpd-oracle with a recording FastCGI origin: BEGIN_REQUEST (role 1,
    // flags 0), one PARAMS record, an empty PARAMS, STDIN, an empty STDIN; no
    // padding; request id 1.
    let mut c = FcgiCodec::new();
    let mut out = start(
        &mut c,
        "POST /app/x.php?a=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n",
        "/srv/x.php?a=1",
        Some(5),
    );
    c.body(b"hello", &mut out);
    c.end_body(&mut out);
    let recs = records(&out);
    let kinds: Vec<u8> = recs.iter().map(|r| r.0).collect();
    assert_eq!(kinds, [BEGIN_REQUEST, PARAMS, PARAMS, STDIN, STDIN]);
    assert!(recs.iter().all(|r| r.1 == 1));
    assert_eq!(recs[0].2, [0, 1, 0, 0, 0, 0, 0, 0]);
    let p = pairs(&recs[1].2);
    let get = |k: &str| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    assert_eq!(
        get("SCRIPT_FILENAME"),
        Some("proxy:fcgi://127.0.0.1:9000/srv/x.php")
    );
    assert_eq!(get("CONTENT_LENGTH"), Some("5"));
    assert_eq!(get("QUERY_STRING"), Some("a=1"));
    assert_eq!(get("REMOTE_ADDR"), Some("10.0.0.1"));
    assert!(recs[2].2.is_empty());
    assert_eq!(recs[3].2, b"hello");
    assert!(recs[4].2.is_empty());
}

#[test]
fn keep_conn_is_asked_only_with_enablereuse() {
    let mut c = FcgiCodec::new();
    c.keep_conn = true;
    let out = start(&mut c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "/", Some(0));
    assert_eq!(records(&out)[0].2, [0, 1, KEEP_CONN, 0, 0, 0, 0, 0]);
    let mut input = rec(STDOUT, 1, b"X: 1\r\n\r\nok", 0);
    input.extend(end_request(0));
    assert_eq!(
        drive(&mut c, &input, 64, false).unwrap().last(),
        Some(&Seen::End(true))
    );
}

#[test]
fn long_values_and_bodies_are_split_into_records() {
    let long = "v".repeat(200_000);
    let mut c = FcgiCodec::new();
    let raw =
        format!("POST / HTTP/1.1\r\nHost: h\r\nX-Long: {long}\r\nContent-Length: 70000\r\n\r\n");
    let h = parse_request(raw.as_bytes());
    // The head parser refuses such a line; the codec must still encode a
    // long environment value: set it through SetEnv instead.
    assert!(h.is_err());
    let hd = head("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 70000\r\n\r\n");
    let mut env = Env::default();
    env.set("LONG", &long);
    let s = site();
    let req = Outgoing {
        head: &hd,
        target: "/",
        body_length: Some(70_000),
        client: "10.0.0.1:5000".parse().unwrap(),
        local: "127.0.0.1:80".parse().unwrap(),
        https: false,
        server_name: "proxy.test",
        env: &env,
        keep: false,
        http: crate::codec::HttpFacts {
            front_port: 80,
            preserve_host: false,
            add_headers: false,
            via: crate::config::ProxyVia::Off,
            forward_expect: false,
            upgrade: None,
        },
        cgi: Some(&s),
    };
    let mut out = Vec::new();
    c.start(&req, &mut out);
    c.body(&vec![7u8; 70_000], &mut out);
    c.end_body(&mut out);
    let recs = records(&out);
    let params: Vec<u8> = recs
        .iter()
        .filter(|r| r.0 == PARAMS)
        .flat_map(|r| r.2.clone())
        .collect();
    assert!(recs.iter().filter(|r| r.0 == PARAMS).count() >= 5);
    let p = pairs(&params);
    assert_eq!(p[0], ("LONG".to_string(), long));
    let stdin: Vec<&Vec<u8>> = recs.iter().filter(|r| r.0 == STDIN).map(|r| &r.2).collect();
    assert_eq!(
        stdin.iter().map(|s| s.len()).collect::<Vec<_>>(),
        [65535, 4465, 0]
    );
}

#[test]
fn a_chunked_body_is_counted_before_the_params_go() {
    // httpd sent CONTENT_LENGTH=10 for a chunked 10-byte body (it spools it).
    let mut c = FcgiCodec::new();
    let mut out = start(
        &mut c,
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
        "/",
        None,
    );
    assert_eq!(
        records(&out).len(),
        1,
        "only BEGIN_REQUEST before the body ends"
    );
    c.body(b"hello", &mut out);
    c.body(b"world", &mut out);
    c.end_body(&mut out);
    let recs = records(&out);
    let p = pairs(&recs[1].2);
    assert!(p.contains(&("CONTENT_LENGTH".into(), "10".into())));
    assert!(!p.iter().any(|(k, _)| k == "HTTP_TRANSFER_ENCODING"));
    let kinds: Vec<u8> = recs.iter().map(|r| r.0).collect();
    assert_eq!(kinds, [BEGIN_REQUEST, PARAMS, PARAMS, STDIN, STDIN]);
    assert_eq!(recs[3].2, b"helloworld");
    assert!(!c.spool_overflowed());
}

fn php_answer() -> Vec<u8> {
    // What php-fpm sends: headers and body in one STDOUT, padded to 8, an
    // empty STDOUT, END_REQUEST.
    let mut v = rec(
        STDOUT,
        1,
        b"Status: 201 Created\r\nContent-type: text/html; charset=UTF-8\r\n\r\nhello world",
        5,
    );
    v.extend(rec(STDERR, 1, b"PHP Warning: x\n", 1));
    v.extend(rec(STDOUT, 1, b"!", 7));
    v.extend(rec(STDOUT, 1, b"", 0));
    v.extend(end_request(0));
    v
}

#[test]
fn a_response_decodes_whatever_the_pieces() {
    let want = vec![
        Seen::Head(201, "Created".into()),
        Seen::Body(b"hello world!".to_vec()),
        Seen::End(false),
    ];
    for step in [1, 2, 3, 7, 8, 9, 64, 4096] {
        let mut c = FcgiCodec::new();
        start(&mut c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "/", Some(0));
        assert_eq!(
            drive(&mut c, &php_answer(), step, false).unwrap(),
            want,
            "step {step}"
        );
    }
}

#[test]
fn a_head_split_over_records_and_management_records_between() {
    let mut input = rec(STDOUT, 1, b"X-A: 1\r", 0);
    input.extend(rec(10, 0, b"\x07\x01MPXS_CONNS0", 3));
    input.extend(rec(STDOUT, 1, b"\n\r", 0));
    input.extend(rec(STDOUT, 1, b"\nbody", 0));
    input.extend(end_request(0));
    let mut c = FcgiCodec::new();
    start(&mut c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "/", Some(0));
    assert_eq!(
        drive(&mut c, &input, 5, false).unwrap(),
        [
            Seen::Head(200, "OK".into()),
            Seen::Body(b"body".to_vec()),
            Seen::End(false)
        ]
    );
}

#[test]
fn a_head_request_gets_no_body() {
    let mut c = FcgiCodec::new();
    start(&mut c, "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", "/", Some(0));
    let mut input = rec(STDOUT, 1, b"X: 1\r\n\r\nbody that should not be", 0);
    input.extend(end_request(0));
    let seen = drive(&mut c, &input, 100, false).unwrap();
    assert_eq!(seen, [Seen::Head(200, "OK".into()), Seen::End(false)]);
}

#[test]
fn members_breaking_the_protocol_are_errors() {
    let ok_head = rec(STDOUT, 1, b"X: 1\r\n\r\n", 0);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("version 2", {
            let mut v = ok_head.clone();
            v[0] = 2;
            v
        }),
        ("request id 2", rec(STDOUT, 2, b"X: 1\r\n\r\n", 0)),
        ("a STDIN record", rec(STDIN, 1, b"x", 0)),
        ("CANT_MPX_CONN", [ok_head.clone(), end_request(1)].concat()),
        ("OVERLOADED", [ok_head.clone(), end_request(2)].concat()),
        ("no output", end_request(0)),
        (
            "half a head",
            [rec(STDOUT, 1, b"X: 1\r\n", 0), end_request(0)].concat(),
        ),
        (
            "short END_REQUEST",
            [ok_head.clone(), rec(END_REQUEST, 1, &[0; 4], 0)].concat(),
        ),
        ("a bad head", rec(STDOUT, 1, b"no colon\r\n\r\n", 0)),
    ];
    for (what, input) in cases {
        let mut c = FcgiCodec::new();
        start(&mut c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "/", Some(0));
        assert!(drive(&mut c, &input, 3, true).is_err(), "{what}");
    }
}

#[test]
fn the_member_closing_early_is_an_error_and_after_the_end_is_not() {
    let mut c = FcgiCodec::new();
    start(&mut c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "/", Some(0));
    let input = rec(STDOUT, 1, b"X: 1\r\n\r\nabc", 0);
    let err = drive(&mut c, &input, 100, true).unwrap_err();
    assert!(err.0.contains("before END_REQUEST"), "{err}");
    let mut c = FcgiCodec::new();
    start(&mut c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "/", Some(0));
    let mut input = rec(STDOUT, 1, b"X: 1\r\n\r\n", 0);
    input.extend(end_request(0));
    assert_eq!(
        drive(&mut c, &input, 100, false).unwrap(),
        [Seen::Head(200, "OK".into()), Seen::End(false)]
    );
    assert!(matches!(c.eof(), Ok(Event::End { reusable: false })));
}

#[test]
fn a_kept_codec_starts_clean_for_the_next_request() {
    let mut c = FcgiCodec::new();
    c.keep_conn = true;
    for _ in 0..3 {
        start(&mut c, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", "/", Some(0));
        let seen = drive(&mut c, &php_answer(), 13, false).unwrap();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[2], Seen::End(true));
    }
}
