//! What the member-codec targets share: a request to start the codec with,
//! and a walk that feeds the member's bytes as the exchange does (bytes a
//! call leaves unused come again with the next ones), checking the decoder
//! contract on every step.

use slotgate::codec::cgi::{Backend, Site, NO_ADMIN};
use slotgate::codec::{Event, MemberCodec, Outgoing};

/// How one walk ended.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// `Event::End`, from decode or at EOF.
    Done { reusable: bool },
    /// The codec refused the bytes (a 502 in the daemon).
    Failed,
}

/// What a walk saw: head statuses, body bytes, the end.
#[derive(Debug, PartialEq, Eq)]
pub struct Walk {
    pub heads: Vec<u16>,
    pub body: Vec<u8>,
    pub end: End,
}

/// Starts `codec` for a GET (or HEAD) without a body; `keep`: ask the
/// member to keep the connection.
pub fn start(codec: &mut impl MemberCodec, head_request: bool, keep: bool) {
    let raw: &[u8] = if head_request {
        b"HEAD /x.php?a=1 HTTP/1.1\r\nHost: h\r\n\r\n"
    } else {
        b"GET /x.php?a=1 HTTP/1.1\r\nHost: h\r\n\r\n"
    };
    let head = slotgate::http::parse_request(raw).unwrap().unwrap();
    let env = slotgate::rules::env::Env::default();
    let site = Site {
        member: "fcgi://127.0.0.1:9000",
        document_root: "/var/www/html",
        server_software: "slotgate",
        server_admin: NO_ADMIN,
        backend: Backend::Fpm,
        file: None,
        fixups: &[],
    };
    let req = Outgoing {
        head: &head,
        target: "/var/www/html/x.php?a=1",
        body_length: Some(0),
        client: "127.0.0.1:1".parse().unwrap(),
        local: "127.0.0.1:2".parse().unwrap(),
        https: false,
        server_name: "h",
        env: &env,
        keep,
        http: slotgate::codec::HttpFacts {
            front_port: 80,
            preserve_host: false,
            add_headers: false,
            via: slotgate::config::ProxyVia::Off,
            forward_expect: false,
            upgrade: None,
        },
        cgi: Some(&site),
    };
    let mut out = Vec::new();
    codec.start(&req, &mut out);
    codec.end_body(&mut out);
}

/// Feeds `input` in pieces of the sizes `sizes` gives (cycled), then EOF.
/// Checks: `used` never exceeds what was given; a body range lies inside
/// what was used; a head comes before any body, and once (1xx aside); the
/// walk ends within a bounded number of calls.
pub fn walk(codec: &mut impl MemberCodec, input: &[u8], sizes: &[usize]) -> Walk {
    let mut w = Walk {
        heads: Vec::new(),
        body: Vec::new(),
        end: End::Failed,
    };
    let mut held: Vec<u8> = Vec::new();
    let mut sink = Vec::new();
    let mut fed = 0;
    let mut piece = 0;
    let mut calls = 0usize;
    let mut final_head = false;
    loop {
        calls += 1;
        assert!(calls < 4 * input.len() + 100, "the decoder does not progress");
        let d = match codec.decode(&held, &mut sink) {
            Ok(d) => d,
            Err(_) => return w,
        };
        assert!(d.used <= held.len(), "used {} of {}", d.used, held.len());
        match d.event {
            Event::Pending => {
                held.drain(..d.used);
                if fed == input.len() {
                    w.end = match codec.eof() {
                        Ok(Event::End { reusable }) => End::Done { reusable },
                        Ok(other) => panic!("eof gave {other:?}"),
                        Err(_) => End::Failed,
                    };
                    if w.end != End::Failed {
                        assert!(final_head, "ended without a final head");
                    }
                    return w;
                }
                let n = sizes[piece % sizes.len()].min(input.len() - fed);
                piece += 1;
                held.extend_from_slice(&input[fed..fed + n]);
                fed += n;
                continue;
            }
            Event::Interim(h) => {
                assert!(!final_head, "an interim head after the final one");
                assert!(h.status < 200);
            }
            Event::Head(h) => {
                assert!(!final_head, "two final heads");
                assert!(h.status >= 200, "a final head with status {}", h.status);
                final_head = true;
                w.heads.push(h.status);
            }
            Event::Body(r) => {
                assert!(final_head, "body before the head");
                assert!(r.start <= r.end && r.end <= d.used, "body {r:?} past used {}", d.used);
                w.body.extend_from_slice(&held[r]);
            }
            Event::End { reusable } => {
                assert!(final_head, "ended without a final head");
                w.end = End::Done { reusable };
                return w;
            }
        }
        held.drain(..d.used);
    }
}

/// Byte 0: bit 0 a HEAD request, bit 1 (FastCGI) KEEP_CONN, bits 4..6 how
/// many piece-size bytes follow (1..=8), each `1 + (b & 0x3f)`, or
/// `1 + (b & 0x7f) * 64` with the high bit. The rest is the member's bytes.
pub fn split(data: &[u8]) -> Option<(u8, Vec<usize>, &[u8])> {
    let (&flags, rest) = data.split_first()?;
    let n = 1 + usize::from((flags >> 4) & 7);
    if rest.len() < n {
        return None;
    }
    let sizes = rest[..n]
        .iter()
        .map(|&b| {
            if b & 0x80 != 0 {
                1 + usize::from(b & 0x7f) * 64
            } else {
                1 + usize::from(b & 0x3f)
            }
        })
        .collect();
    Some((flags, sizes, &rest[n..]))
}
