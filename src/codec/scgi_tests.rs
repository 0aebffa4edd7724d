use super::*;
use crate::codec::test_support::{drive, site, start, Seen};

const GET: &str = "GET /scgi/a/b?q HTTP/1.1\r\nHost: 127.0.0.1:19080\r\n\r\n";

/// The netstring's pairs and what follows it.
fn netstring(out: &[u8]) -> (Vec<(String, String)>, &[u8]) {
    let colon = out.iter().position(|&b| b == b':').unwrap();
    let n: usize = std::str::from_utf8(&out[..colon]).unwrap().parse().unwrap();
    let body = &out[colon + 1..colon + 1 + n];
    assert_eq!(out[colon + 1 + n], b',', "the netstring ends with ','");
    let parts: Vec<String> = body
        .split(|&b| b == 0)
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    assert_eq!(
        parts.last().map(String::as_str),
        Some(""),
        "ends with a NUL"
    );
    let pairs = parts[..parts.len() - 1]
        .chunks(2)
        .map(|c| (c[0].clone(), c[1].clone()))
        .collect();
    (pairs, &out[colon + 2 + n..])
}

#[test]
fn the_request_is_a_netstring_then_the_body() {
    // httpd to a recording SCGI origin: CONTENT_LENGTH first, then SCGI=1.
    let mut c = ScgiCodec::new();
    let s = site("scgi://127.0.0.1:19001");
    let mut out = start(
        &mut c,
        &s,
        "POST /scgi/x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n",
        "/srv/app/x",
        Some(5),
    );
    c.body(b"hello", &mut out);
    c.end_body(&mut out);
    let (pairs, rest) = netstring(&out);
    assert_eq!(pairs[0], ("CONTENT_LENGTH".into(), "5".into()));
    assert_eq!(pairs[1], ("SCGI".into(), "1".into()));
    assert!(pairs.contains(&(
        "SCRIPT_FILENAME".into(),
        "proxy:scgi://127.0.0.1:19001/srv/app/x".into()
    )));
    assert_eq!(rest, b"hello");
}

#[test]
fn the_answer_is_cgi_output_to_the_end_of_the_connection() {
    let answer = b"Status: 404 Nope\r\nX-A: 1\r\n\r\ngone and gone";
    for step in [1, 2, 5, 100] {
        let mut c = ScgiCodec::new();
        start(&mut c, &site("scgi://h"), GET, "/", Some(0));
        assert_eq!(
            drive(&mut c, answer, step, true).unwrap(),
            [
                Seen::Head(404, "Nope".into()),
                Seen::Body(b"gone and gone".to_vec()),
                Seen::End(false)
            ],
            "step {step}"
        );
    }
}

#[test]
fn a_member_closing_before_its_head_or_sending_http_is_an_error() {
    // httpd answered 500 to "HTTP/1.0 201 Made" from an SCGI member.
    for bad in [
        &b"X-A: 1\r\n"[..],
        b"",
        b"HTTP/1.0 201 Made\r\nX-C: 1\r\n\r\nc",
    ] {
        let mut c = ScgiCodec::new();
        start(&mut c, &site("scgi://h"), GET, "/", Some(0));
        assert!(drive(&mut c, bad, 4, true).is_err(), "{bad:?}");
    }
}
