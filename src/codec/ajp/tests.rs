//! The AJP codec against packets httpd sent (captured from httpd-oracle with a
//! recording AJP member) and against answers a member may give, good and bad.

use super::*;
use crate::http::{parse_request, RequestHead};
use crate::rules::env::Env;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn head(raw: &str) -> RequestHead {
    parse_request(raw.as_bytes()).unwrap().unwrap()
}

struct Req {
    head: RequestHead,
    target: &'static str,
    body: Option<u64>,
    client: &'static str,
    https: bool,
    env: Env,
}

impl Req {
    fn get(raw: &str, target: &'static str) -> Req {
        Req {
            head: head(raw),
            target,
            body: Some(0),
            client: "127.0.0.1:33384",
            https: false,
            env: Env::default(),
        }
    }

    fn outgoing(&self) -> Outgoing<'_> {
        Outgoing {
            head: &self.head,
            target: self.target,
            body_length: self.body,
            client: self.client.parse().unwrap(),
            local: "127.0.0.1:44247".parse().unwrap(),
            https: self.https,
            server_name: "proxy.test",
            env: &self.env,
            keep: true,
            http: Default::default(),
            cgi: None,
        }
    }
}

fn codec(secret: Option<&str>) -> Ajp {
    Ajp::new(&Settings {
        packet_size: DEFAULT_PACKET_SIZE,
        secret: secret.map(Arc::from),
        ping: false,
    })
}

/// A packet from the member.
fn from_member(payload: &[u8]) -> Vec<u8> {
    let mut p = b"AB".to_vec();
    p.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    p.extend_from_slice(payload);
    p
}

fn ajp_string(s: &[u8]) -> Vec<u8> {
    let mut v = (s.len() as u16).to_be_bytes().to_vec();
    v.extend_from_slice(s);
    v.push(0);
    v
}

fn send_headers(status: u16, headers: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut p = vec![wire::SEND_HEADERS];
    p.extend_from_slice(&status.to_be_bytes());
    p.extend(ajp_string(b"OK"));
    p.extend_from_slice(&(headers.len() as u16).to_be_bytes());
    for (name, value) in headers {
        match name {
            [0xA0, _] => p.extend_from_slice(name),
            _ => p.extend(ajp_string(name)),
        }
        p.extend(ajp_string(value));
    }
    from_member(&p)
}

fn body_chunk(data: &[u8]) -> Vec<u8> {
    let mut p = vec![wire::SEND_BODY_CHUNK];
    p.extend_from_slice(&(data.len() as u16).to_be_bytes());
    p.extend_from_slice(data);
    p.push(0);
    from_member(&p)
}

fn end_response(reuse: bool) -> Vec<u8> {
    from_member(&[wire::END_RESPONSE, u8::from(reuse)])
}

fn get_body_chunk(n: u16) -> Vec<u8> {
    let mut p = vec![wire::GET_BODY_CHUNK];
    p.extend_from_slice(&n.to_be_bytes());
    from_member(&p)
}

/// Decodes `input` to the end, collecting events (bodies as bytes).
fn decode_all(c: &mut Ajp, input: &[u8], out: &mut Vec<u8>) -> Result<Vec<String>, ProtocolError> {
    let mut at = 0;
    let mut events = Vec::new();
    // Bounded: every event consumes input, or the loop ends on Pending.
    for _ in 0..input.len() + 2 {
        let d = c.decode(&input[at..], out)?;
        let base = at;
        at += d.used;
        match d.event {
            Event::Pending => break,
            Event::Head(h) => events.push(format!("head {} {:?}", h.status, h.framing)),
            Event::Body(r) => events.push(format!(
                "body {}",
                String::from_utf8_lossy(&input[base + r.start..base + r.end])
            )),
            Event::End { reusable } => {
                events.push(format!("end reusable={reusable}"));
                break;
            }
            Event::Interim(_) => events.push("interim".into()),
        }
    }
    Ok(events)
}

#[test]
fn forward_request_is_byte_for_byte_what_httpd_sends() {
    // httpd-oracle, `ProxyPass /app/ ajp://127.0.0.1:PORT/ctx/ secret=s3cr3t`,
    // `curl 'http://127.0.0.1:44247/app/x/y%20z?a=1&b=2' -H 'X-Custom: v'
    // -H 'Cookie: c=1'`: the recording member received exactly this packet.
    let captured = hex(
        "123400cd02020008485454502f312e3100000c2f6374782f782f792532307a00000931\
         32372e302e302e3100ffff00093132372e302e302e3100acd7000005a00b000f3132372e\
         302e302e313a343432343700a00e000b6375726c2f372e38382e3100a00100032a2f2a00\
         0008582d437573746f6d0000017600a0090003633d31000c000673336372337400050007\
         613d3126623d32000a000f414a505f52454d4f54455f504f52540000053333333834000a\
         000e414a505f4c4f43414c5f414444520000093132372e302e302e3100ff",
    );
    let req = Req::get(
        "GET /app/x/y%20z?a=1&b=2 HTTP/1.1\r\nHost: 127.0.0.1:44247\r\n\
         User-Agent: curl/7.88.1\r\nAccept: */*\r\nX-Custom: v\r\nCookie: c=1\r\n\r\n",
        "/ctx/x/y%20z?a=1&b=2",
    );
    let mut c = codec(Some("s3cr3t"));
    let mut out = Vec::new();
    c.start(&req.outgoing(), &mut out);
    assert_eq!(out, captured);
    assert_eq!(c.body_room(), 0, "a GET has no body");
}

#[test]
fn unknown_method_is_stored_as_an_attribute_as_httpd_does() {
    // httpd-oracle, `curl -X FOOBAR http://127.0.0.1:44247/nosec/p` to
    // `ProxyPass /nosec/ ajp://127.0.0.1:PORT/`: method 0xFF, attribute 0x0D.
    let captured = hex(
        "123400a102ff0008485454502f312e310000022f700000093132372e302e302e3100ffff\
         00093132372e302e302e3100acd7000003a00b000f3132372e302e302e313a3434323437\
         00a00e000b6375726c2f372e38382e3100a00100032a2f2a000d0006464f4f424152000a\
         000f414a505f52454d4f54455f504f52540000053438373530000a000e414a505f4c4f43\
         414c5f414444520000093132372e302e302e3100ff",
    );
    let mut req = Req::get(
        "FOOBAR /nosec/p HTTP/1.1\r\nHost: 127.0.0.1:44247\r\n\
         User-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n",
        "/p",
    );
    req.client = "127.0.0.1:48750";
    let mut c = codec(None);
    let mut out = Vec::new();
    c.start(&req.outgoing(), &mut out);
    assert_eq!(out, captured);
}

#[test]
fn server_name_comes_from_host_without_its_port_else_server_name() {
    // httpd-oracle: `Host: Example.COM` and `Host: example.com:81` both gave
    // server name "example.com" and the local port; no Host gave ServerName;
    // a bare `?` gave an empty query string attribute.
    for (host, name) in [
        ("Host: Example.COM\r\n", &b"example.com"[..]),
        ("Host: example.com:81\r\n", b"example.com"),
        ("Host: [::1]:8080\r\n", b"[::1]"),
        ("", b"proxy.test"),
    ] {
        let raw = format!("GET /h? HTTP/1.0\r\n{host}\r\n");
        let req = Req::get(&raw, "/h?");
        let mut c = codec(None);
        let mut out = Vec::new();
        c.start(&req.outgoing(), &mut out);
        let want = [&ajp_string(name)[..], &[0xac, 0xd7, 0]].concat();
        assert!(
            out.windows(want.len()).any(|w| w == want),
            "{host:?}: server name {name:?} and port 44247 not found"
        );
        let query = [wire::ATTR_QUERY_STRING, 0, 0, 0];
        assert!(out.windows(4).any(|w| w == query), "empty query attribute");
    }
}

#[test]
fn env_ajp_variables_and_tls_facts_become_attributes() {
    let mut req = Req::get("GET / HTTP/1.1\r\nHost: h\r\n\r\n", "/");
    req.https = true;
    req.env.set("AJP_tenant", "blue");
    req.env.set("SSL_CIPHER", "TLS_AES_128_GCM_SHA256");
    req.env.set("SSL_CIPHER_USEKEYSIZE", "128");
    req.env.set("OTHER", "x");
    let mut c = codec(None);
    let mut out = Vec::new();
    c.start(&req.outgoing(), &mut out);
    let attr = [
        &[wire::ATTR_REQ_ATTRIBUTE][..],
        &ajp_string(b"tenant"),
        &ajp_string(b"blue"),
    ]
    .concat();
    assert!(out.windows(attr.len()).any(|w| w == attr));
    let cipher = [
        &[wire::ATTR_SSL_CIPHER][..],
        &ajp_string(b"TLS_AES_128_GCM_SHA256"),
    ]
    .concat();
    assert!(out.windows(cipher.len()).any(|w| w == cipher));
    assert!(out
        .windows(3)
        .any(|w| w == [wire::ATTR_SSL_KEY_SIZE, 0, 128]));
    assert!(!out.windows(5).any(|w| w == b"OTHER"));
    // is_ssl is the byte after the server port.
    let port_at = out.windows(3).position(|w| w == [0, 0xac, 0xd7]).unwrap();
    assert_eq!(out[port_at + 3], 1);
}

#[test]
fn known_length_body_sends_the_first_chunk_unsolicited_then_on_request() {
    // httpd-oracle (POST of 6 bytes): FORWARD_REQUEST, then `1234 0008 0006
    // abcdef` unsolicited; asked again after the body, it sent `1234 0002 0000`.
    let mut req = Req::get(
        "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 20000\r\n\r\n",
        "/p",
    );
    req.body = Some(20000);
    let mut c = codec(None);
    let mut out = Vec::new();
    c.start(&req.outgoing(), &mut out);
    assert_eq!(c.body_room(), 8186, "packetsize 8192 less 6");
    out.clear();
    c.body(&[b'x'; 8186], &mut out);
    assert_eq!(&out[..6], [0x12, 0x34, 0x1f, 0xfc, 0x1f, 0xfa]);
    assert_eq!(out.len(), 8192);
    assert_eq!(c.body_room(), 0, "one packet per request");
    out.clear();
    let events = decode_all(&mut c, &get_body_chunk(8186), &mut out).unwrap();
    assert!(events.is_empty());
    assert!(out.is_empty(), "nothing is sent before the client's bytes");
    assert_eq!(c.body_room(), 8186);
    c.body(b"abc", &mut out);
    assert_eq!(out, [0x12, 0x34, 0, 5, 0, 3, b'a', b'b', b'c']);
    // The member may ask for less than a packet; asking twice without an
    // answer is an error.
    decode_all(&mut c, &get_body_chunk(100), &mut out).unwrap();
    assert_eq!(c.body_room(), 100);
    let mut twice = c_clone_for_double_ask();
    assert!(decode_all(
        &mut twice,
        &[get_body_chunk(10), get_body_chunk(10)].concat(),
        &mut Vec::new()
    )
    .unwrap_err()
    .0
    .contains("unanswered"));
    out.clear();
    c.end_body(&mut out);
    assert_eq!(
        out,
        wire::EMPTY_BODY,
        "asked after the end: an empty packet"
    );
    out.clear();
    decode_all(&mut c, &get_body_chunk(8186), &mut out).unwrap();
    assert_eq!(out, wire::EMPTY_BODY);
    let mut input = send_headers(200, &[(&[0xA0, 0x03], b"2")]);
    input.extend(body_chunk(b"ok"));
    input.extend(end_response(true));
    let events = decode_all(&mut c, &input, &mut out).unwrap();
    assert_eq!(
        events,
        ["head 200 Length(2)", "body ok", "end reusable=true"]
    );
}

/// A codec in the middle of a chunked POST, waiting for the member to ask.
fn c_clone_for_double_ask() -> Ajp {
    let mut req = Req::get(
        "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
        "/c",
    );
    req.body = None;
    let mut c = codec(None);
    c.start(&req.outgoing(), &mut Vec::new());
    c
}

#[test]
fn chunked_body_waits_for_get_body_chunk() {
    // httpd-oracle (chunked POST): nothing after FORWARD_REQUEST until the
    // member asked; then the data, then an empty packet.
    let mut req = Req::get(
        "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
        "/c",
    );
    req.body = None;
    let mut c = codec(None);
    let mut out = Vec::new();
    c.start(&req.outgoing(), &mut out);
    assert_eq!(c.body_room(), 0);
    out.clear();
    decode_all(&mut c, &get_body_chunk(8186), &mut out).unwrap();
    c.body(b"abcdef", &mut out);
    assert_eq!(hex("123400080006616263646566"), out);
    out.clear();
    c.end_body(&mut out);
    assert!(out.is_empty(), "not asked yet");
    decode_all(&mut c, &get_body_chunk(8186), &mut out).unwrap();
    assert_eq!(hex("123400020000"), out);
}

#[test]
fn response_head_body_and_end_decode_across_any_split() {
    let mut input = send_headers(
        200,
        &[
            (&[0xA0, 0x01], b"text/plain"),
            (b"X-Foo", b"bar"),
            (&[0xA0, 0x07], b"JSESSIONID=abc.tc1; Path=/"),
        ],
    );
    input.extend(body_chunk(b"hello "));
    input.extend(body_chunk(b""));
    input.extend(body_chunk(b"world"));
    input.extend(end_response(true));
    // Every split point: feed a prefix, then the rest, as a buffer would.
    for split in 0..input.len() {
        let req = Req::get("GET / HTTP/1.1\r\nHost: h\r\n\r\n", "/");
        let mut c = codec(None);
        let mut out = Vec::new();
        c.start(&req.outgoing(), &mut out);
        let mut buf: Vec<u8> = input[..split].to_vec();
        let mut fed = split;
        let mut body = Vec::new();
        let mut heads = 0;
        let mut end = None;
        for _ in 0..100 {
            let d = c.decode(&buf, &mut out).unwrap();
            match d.event {
                Event::Head(h) => {
                    heads += 1;
                    assert_eq!(h.status, 200);
                    assert_eq!(h.header("content-type"), Some(&b"text/plain"[..]));
                    assert_eq!(h.header("x-foo"), Some(&b"bar"[..]));
                    assert_eq!(
                        h.header("set-cookie"),
                        Some(&b"JSESSIONID=abc.tc1; Path=/"[..])
                    );
                    assert_eq!(h.framing, Framing::Close);
                }
                Event::Body(r) => body.extend_from_slice(&buf[r]),
                Event::End { reusable } => {
                    end = Some(reusable);
                    break;
                }
                Event::Pending => {
                    buf.drain(..d.used);
                    assert!(
                        fed < input.len(),
                        "pending at the end of input (split {split})"
                    );
                    buf.extend_from_slice(&input[fed..]);
                    fed = input.len();
                    continue;
                }
                Event::Interim(_) => panic!("no interim in AJP"),
            }
            buf.drain(..d.used);
        }
        assert_eq!(heads, 1, "split {split}");
        assert_eq!(body, b"hello world", "split {split}");
        assert_eq!(end, Some(true), "split {split}");
    }
}

#[test]
fn end_response_reuse_flag_and_unanswered_requests_decide_reuse() {
    let req = Req::get("GET / HTTP/1.1\r\nHost: h\r\n\r\n", "/");
    let mut c = codec(None);
    let mut out = Vec::new();
    c.start(&req.outgoing(), &mut out);
    let mut input = send_headers(204, &[]);
    input.extend(end_response(false));
    let events = decode_all(&mut c, &input, &mut out).unwrap();
    assert_eq!(events, ["head 204 None", "end reusable=false"]);

    // A body the member asked for and never got: the connection is not clean.
    let mut req = Req::get(
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9000\r\n\r\n",
        "/",
    );
    req.body = Some(9000);
    c.start(&req.outgoing(), &mut out);
    c.body(&[0; 8186], &mut out);
    let mut input = get_body_chunk(8186);
    input.extend(send_headers(413, &[]));
    input.extend(end_response(true));
    let events = decode_all(&mut c, &input, &mut out).unwrap();
    assert_eq!(events, ["head 413 Close", "end reusable=false"]);
    assert_eq!(c.body_room(), 0, "no body after the end");
}

#[test]
fn head_request_has_no_body_whatever_the_length() {
    let req = Req::get("HEAD / HTTP/1.1\r\nHost: h\r\n\r\n", "/");
    let mut c = codec(None);
    let mut out = Vec::new();
    c.start(&req.outgoing(), &mut out);
    let mut input = send_headers(200, &[(&[0xA0, 0x03], b"1234")]);
    input.extend(end_response(true));
    let events = decode_all(&mut c, &input, &mut out).unwrap();
    assert_eq!(events, ["head 200 None", "end reusable=true"]);
}

fn fails(input: &[u8], why: &str) {
    let req = Req::get("GET / HTTP/1.1\r\nHost: h\r\n\r\n", "/");
    let mut c = codec(None);
    let mut out = Vec::new();
    c.start(&req.outgoing(), &mut out);
    let err = decode_all(&mut c, input, &mut out).expect_err(why);
    assert!(err.0.starts_with("AJP member: "), "{why}: {err}");
}

#[test]
fn member_protocol_faults_are_errors() {
    fails(b"HTTP/1.1 200 OK\r\n\r\n", "bad magic");
    fails(
        &from_member(&[wire::SEND_BODY_CHUNK, 0, 1, b'x', 0]),
        "body before head",
    );
    fails(&end_response(true), "end before head");
    fails(&from_member(&[wire::CPONG_REPLY]), "CPONG mid-request");
    fails(&from_member(&[42]), "unknown packet type");
    fails(&b"AB\x00\x00"[..], "empty packet");
    let mut big = b"AB".to_vec();
    big.extend_from_slice(&8189u16.to_be_bytes());
    fails(&big, "packet larger than packetsize");
    fails(&send_headers(101, &[]), "101 cannot be carried");
    fails(
        &send_headers(200, &[(&[0xA0, 0x0C], b"x")]),
        "unknown header code",
    );
    fails(
        &send_headers(200, &[(b"Bad Name", b"x")]),
        "header name not a token",
    );
    fails(
        &send_headers(200, &[(b"X", b"a\r\nInjected: 1")]),
        "CRLF in a value",
    );
    fails(&send_headers(200, &[(&[0xA0, 0x03], b"12x")]), "bad length");
    let mut two = send_headers(200, &[]);
    two.extend(send_headers(200, &[]));
    fails(&two, "second SEND_HEADERS");
    let mut long = send_headers(200, &[(&[0xA0, 0x03], b"2")]);
    long.extend(body_chunk(b"abc"));
    fails(&long, "more than Content-Length");
    let mut short = send_headers(200, &[(&[0xA0, 0x03], b"5")]);
    short.extend(body_chunk(b"abc"));
    short.extend(end_response(true));
    fails(&short, "less than Content-Length");
    // A body chunk whose length runs past its packet.
    let mut lying = send_headers(200, &[]);
    lying.extend(from_member(&[wire::SEND_BODY_CHUNK, 0, 50, b'x', 0]));
    fails(&lying, "chunk longer than packet");
    // A header count larger than the headers present.
    let mut p = vec![wire::SEND_HEADERS, 0, 200];
    p.extend(ajp_string(b"OK"));
    p.extend_from_slice(&[0, 5]);
    fails(&from_member(&p), "header count past the packet");
}

#[test]
fn closing_mid_response_is_an_error_and_after_end_is_not() {
    let req = Req::get("GET / HTTP/1.1\r\nHost: h\r\n\r\n", "/");
    let mut c = codec(None);
    let mut out = Vec::new();
    c.start(&req.outgoing(), &mut out);
    assert!(c.eof().unwrap_err().0.contains("before SEND_HEADERS"));
    c.start(&req.outgoing(), &mut out);
    let mut input = send_headers(200, &[]);
    input.extend(body_chunk(b"partial"));
    decode_all(&mut c, &input, &mut out).unwrap();
    assert!(c.eof().unwrap_err().0.contains("before END_RESPONSE"));
    c.start(&req.outgoing(), &mut out);
    input.extend(end_response(true));
    decode_all(&mut c, &input, &mut out).unwrap();
    assert!(matches!(c.eof(), Ok(Event::End { reusable: false })));
}

#[test]
fn packetsize_bounds_packets_both_ways() {
    let mut c = Ajp::new(&Settings {
        packet_size: 65536,
        secret: None,
        ping: false,
    });
    let mut req = Req::get(
        "PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n",
        "/",
    );
    req.body = Some(100_000);
    let mut out = Vec::new();
    c.start(&req.outgoing(), &mut out);
    assert_eq!(c.body_room(), 65530);
    // A 20000-byte body chunk fits a 65536 packet, not an 8192 one.
    let mut input = send_headers(200, &[]);
    input.extend(body_chunk(&[b'z'; 20000]));
    input.extend(end_response(true));
    let events = decode_all(&mut c, &input, &mut out).unwrap();
    assert_eq!(events.len(), 3, "head, one body event, end");
    fails(
        &[&send_headers(200, &[])[..], &body_chunk(&[b'z'; 20000])].concat(),
        "oversized",
    );

    // httpd-oracle, iobuffersize= → packet size (FORWARD_REQUEST's first body
    // packet of a 200 kB POST): 512 → 8192, 9000 → 9216, 20000 → 20480,
    // 100000 → 65536.
    for (io, packet) in [
        (512, 8192),
        (8192, 8192),
        (9000, 9216),
        (20000, 20480),
        (100_000, 65536),
    ] {
        assert_eq!(packet_size(io), packet, "iobuffersize={io}");
    }
}

#[test]
fn a_head_larger_than_packetsize_is_refused_before_sending() {
    let mut req = Req::get("GET / HTTP/1.1\r\nHost: h\r\n\r\n", "/");
    req.head
        .headers
        .push(crate::http::spare_header("X-Big", &[b'v'; 9000]));
    let mut c = codec(None);
    let mut out = Vec::new();
    c.start(&req.outgoing(), &mut out);
    assert!(out.is_empty(), "nothing sent");
    assert!(c
        .refused()
        .unwrap()
        .to_string()
        .contains("packet size 8192"));
    assert_eq!(c.body_room(), 0);
}

#[test]
fn cpong_is_read_and_anything_else_refused() {
    assert_eq!(read_cpong(&CPONG_PACKET), Ok(Some(5)));
    assert_eq!(read_cpong(&CPONG_PACKET[..3]), Ok(None));
    assert_eq!(read_cpong(&[]), Ok(None));
    assert!(read_cpong(b"AB\x00\x02\x05\x01").is_err());
    assert!(read_cpong(b"HTTP/1.1").is_err());
    assert_eq!(CPING_PACKET, [0x12, 0x34, 0, 1, 10]);
}

#[test]
fn ping_sends_cping_first_and_wants_cpong_before_the_answer() {
    let req = Req::get("GET / HTTP/1.1\r\nHost: h\r\n\r\n", "/");
    let mut c = Ajp::new(&Settings {
        ping: true,
        ..Settings::default()
    });
    let mut out = Vec::new();
    c.start(&req.outgoing(), &mut out);
    assert_eq!(out[..5], CPING_PACKET);
    assert_eq!(out[5..7], [0x12, 0x34], "FORWARD_REQUEST follows");
    let mut input = CPONG_PACKET.to_vec();
    input.extend(send_headers(200, &[]));
    input.extend(end_response(true));
    let events = decode_all(&mut c, &input, &mut out).unwrap();
    assert_eq!(events, ["head 200 Close", "end reusable=true"]);

    c.start(&req.outgoing(), &mut out);
    let err = decode_all(&mut c, &send_headers(200, &[]), &mut out).unwrap_err();
    assert!(err.0.contains("other than CPONG"), "{err}");
    c.start(&req.outgoing(), &mut out);
    assert!(c.eof().unwrap_err().0.contains("before CPONG"));
}

#[test]
fn member_settings_come_from_its_parameters() {
    use crate::codec::Settings as Any;
    let url = crate::url::parse_member_url("ajp://tc1:8009/app").unwrap();
    let mut params = crate::config::WorkerParams::default();
    let ajp = |params: &crate::config::WorkerParams, io| match Any::for_member(&url, params, io) {
        Ok(Any::Ajp(s)) => s,
        other => panic!("{other:?}"),
    };
    assert_eq!(ajp(&params, 8192), Settings::default());
    assert_eq!(ajp(&params, 20000).packet_size, 20480, "ProxyIOBufferSize");
    params.io_buffer_size = Some(100_000);
    params.other.push(("secret".into(), "pw".into()));
    params.ping = Some(std::time::Duration::from_secs(1));
    let s = ajp(&params, 8192);
    assert_eq!(s.packet_size, 65536, "iobuffersize= wins");
    assert_eq!(s.secret.as_deref(), Some("pw"));
    assert!(s.ping);
    assert_eq!(url.port, 8009, "AJP's default port");
}
