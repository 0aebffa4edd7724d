//! Drives slotgate's AJP decoder over whatever bytes a member might send, as
//! the exchange does: start a request, hand over body bytes while the codec
//! has room, decode what arrived (whole, or in the pieces given), keep what it
//! did not use, and check what every step promises. Shared by
//! `tests/ajp_decoder_robust.rs` and the fuzz target `tools/fuzz/fuzz_targets/ajp.rs`
//! (which includes this file by path), so both check the same things:
//!
//! - no panic; each call uses at most what it was given; a body range lies
//!   inside what the call used and is not empty;
//! - a bounded number of calls (each call uses bytes, or waits, or ends);
//! - one head, body only after it, nothing after the end; a body of a length
//!   given by the head is exactly that long at the end;
//! - at the end of the input without an end, `eof` is an error.

use slotgate::codec::ajp::Settings;
use slotgate::codec::{Event, MemberCodec, Outgoing};
use slotgate::http::{parse_request, Framing};
use slotgate::rules::env::Env;
use std::sync::Arc;

/// The request the member answers.
#[derive(Clone, Copy, Debug)]
pub enum Ask {
    Get,
    Head,
    /// A body of this many bytes, its length known.
    Post(usize),
    /// A body of this many bytes, chunked by the client (no length).
    Chunked(usize),
}

/// What came of it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// `status framing headers` of the head, if any.
    pub head: Option<String>,
    pub body: Vec<u8>,
    /// The end and its reuse flag.
    pub end: Option<bool>,
    /// The protocol error (from `decode`, or from `eof` at the end of input).
    pub error: Option<String>,
    /// Everything the codec queued for the member after the request packet.
    pub queued: Vec<u8>,
}

/// Runs one request against `input`; `pieces` are the sizes it arrives in
/// (cycled; empty: all at once).
pub fn drive(ask: Ask, packet_size: usize, input: &[u8], pieces: &[usize]) -> Outcome {
    let (raw, length) = match ask {
        Ask::Get => ("GET /x HTTP/1.1\r\nHost: h\r\n\r\n".to_string(), Some(0)),
        Ask::Head => ("HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n".to_string(), Some(0)),
        Ask::Post(n) => (
            format!("POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: {n}\r\n\r\n"),
            Some(n as u64),
        ),
        Ask::Chunked(_) => (
            "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n".to_string(),
            None,
        ),
    };
    let body_len = match ask {
        Ask::Post(n) | Ask::Chunked(n) => n,
        _ => 0,
    };
    let head = parse_request(raw.as_bytes()).unwrap().unwrap();
    let env = Env::default();
    let req = Outgoing {
        head: &head,
        target: "/x",
        body_length: length,
        client: "127.0.0.1:40000".parse().unwrap(),
        local: "127.0.0.1:80".parse().unwrap(),
        https: false,
        server_name: "proxy.test",
        env: &env,
        keep: true,
        http: Default::default(),
        cgi: None,
    };
    let mut codec = Settings {
        packet_size,
        secret: Some(Arc::from("s")),
        ping: false,
    }
    .codec();
    let mut out = Vec::new();
    codec.start(&req, &mut out);
    assert!(
        !out.is_empty() && out.len() <= packet_size,
        "the request packet"
    );
    out.clear();

    let mut outcome = Outcome::default();
    let mut sent = 0;
    // end_body comes once the client's body is complete: at once without one.
    let mut ended = false;
    let mut framing = Framing::None;
    let mut buf: Vec<u8> = Vec::new();
    let mut fed = 0;
    let mut piece = 0;
    let limit = 2 * input.len() + 2 * pieces.len() + 64;
    let mut calls = 0;
    loop {
        // The client's body is all there: send what the member takes now.
        while sent < body_len && codec.body_room() > 0 {
            let n = codec.body_room().min(body_len - sent);
            let data: Vec<u8> = (sent..sent + n).map(|i| (i % 251) as u8).collect();
            codec.body(&data, &mut out);
            sent += n;
        }
        if sent == body_len && !ended {
            codec.end_body(&mut out);
            ended = true;
        }
        outcome.queued.append(&mut out);

        calls += 1;
        assert!(calls <= limit, "more than {limit} decode calls");
        let before = buf.len();
        let d = match codec.decode(&buf, &mut out) {
            Ok(d) => d,
            Err(e) => {
                outcome.error = Some(e.0);
                return outcome;
            }
        };
        assert!(d.used <= before, "used {} of {before}", d.used);
        match d.event {
            Event::Pending => {
                buf.drain(..d.used);
                if d.used > 0 || !out.is_empty() {
                    continue;
                }
                if fed == input.len() {
                    match codec.eof() {
                        Ok(Event::End { .. }) => panic!("eof ends a response that did not end"),
                        Ok(e) => panic!("eof gave {e:?}"),
                        Err(e) => outcome.error = Some(e.0),
                    }
                    return outcome;
                }
                let size = match pieces {
                    [] => input.len() - fed,
                    _ => pieces[piece % pieces.len()].max(1),
                };
                piece += 1;
                let next = (fed + size).min(input.len());
                buf.extend_from_slice(&input[fed..next]);
                fed = next;
            }
            Event::Head(h) => {
                assert!(outcome.head.is_none(), "a second head");
                framing = h.framing;
                outcome.head = Some(format!("{} {:?} {}", h.status, h.framing, h.headers.len()));
                buf.drain(..d.used);
            }
            Event::Body(r) => {
                assert!(outcome.head.is_some(), "body before the head");
                assert!(
                    r.start < r.end && r.end <= d.used,
                    "body {r:?} used {}",
                    d.used
                );
                outcome.body.extend_from_slice(&buf[r]);
                buf.drain(..d.used);
            }
            Event::End { reusable } => {
                assert!(outcome.head.is_some(), "end before the head");
                if let Framing::Length(n) = framing {
                    assert_eq!(outcome.body.len() as u64, n, "body length at the end");
                }
                assert_eq!(codec.body_room(), 0, "room after the end");
                outcome.end = Some(reusable);
                outcome.queued.append(&mut out);
                return outcome;
            }
            Event::Interim(_) => panic!("AJP has no interim responses"),
        }
    }
}
