//! What the codecs' unit tests share: a driver that feeds member bytes as
//! the exchange does.

use super::{Event, MemberCodec, ProtocolError};

/// What a test sees from a decoder: heads, body bytes and the end.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    Head(u16, String),
    Body(Vec<u8>),
    End(bool),
}

/// Feeds `input` to `codec` `step` bytes at a time, as the exchange would
/// (unused bytes are presented again with the next ones); then EOF when
/// `eof`. Stops at End or the first error.
pub(crate) fn drive(
    codec: &mut impl MemberCodec,
    input: &[u8],
    step: usize,
    eof: bool,
) -> Result<Vec<Seen>, ProtocolError> {
    let mut seen = Vec::new();
    let mut held: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    let mut fed = 0;
    let mut rounds = 0;
    loop {
        rounds += 1;
        assert!(rounds < 10_000_000, "the decoder does not progress");
        let d = codec.decode(&held, &mut out)?;
        assert!(d.used <= held.len(), "used more than it was given");
        match d.event {
            Event::Pending => {
                held.drain(..d.used);
                if fed == input.len() {
                    if eof {
                        if let Event::End { reusable } = codec.eof()? {
                            seen.push(Seen::End(reusable));
                        }
                    }
                    return Ok(seen);
                }
                let n = step.min(input.len() - fed);
                held.extend_from_slice(&input[fed..fed + n]);
                fed += n;
                continue;
            }
            Event::Head(h) => seen.push(Seen::Head(h.status, h.reason.clone())),
            Event::Interim(h) => seen.push(Seen::Head(h.status, h.reason.clone())),
            Event::Body(r) => {
                assert!(r.end <= d.used, "a body range past what was used");
                match seen.last_mut() {
                    Some(Seen::Body(b)) => b.extend_from_slice(&held[r]),
                    _ => seen.push(Seen::Body(held[r].to_vec())),
                }
            }
            Event::End { reusable } => {
                seen.push(Seen::End(reusable));
                return Ok(seen);
            }
        }
        held.drain(..d.used);
    }
}

/// A member as the codec tests name it.
pub(crate) fn site(member: &'static str) -> super::cgi::Site<'static> {
    super::cgi::Site {
        member,
        document_root: "/var/www/html",
        server_software: "slotgate",
        server_admin: super::cgi::NO_ADMIN,
        backend: super::cgi::Backend::Fpm,
        file: None,
        fixups: &[],
    }
}

/// Starts `codec` for the request head `raw` mapped to `target` (body
/// length `body`; None: chunked) and returns what it wrote for the member.
pub(crate) fn start(
    codec: &mut impl MemberCodec,
    site: &super::cgi::Site<'_>,
    raw: &str,
    target: &str,
    body: Option<u64>,
) -> Vec<u8> {
    start_keep(codec, site, raw, target, body, false)
}

/// `start`, asking the member to keep the connection when `keep`.
pub(crate) fn start_keep(
    codec: &mut impl MemberCodec,
    site: &super::cgi::Site<'_>,
    raw: &str,
    target: &str,
    body: Option<u64>,
    keep: bool,
) -> Vec<u8> {
    let h = crate::http::parse_request(raw.as_bytes()).unwrap().unwrap();
    let env = crate::rules::env::Env::default();
    let req = super::Outgoing {
        head: &h,
        target,
        body_length: body,
        client: "10.0.0.1:5000".parse().unwrap(),
        local: "127.0.0.1:80".parse().unwrap(),
        https: false,
        server_name: "proxy.test",
        env: &env,
        keep,
        http: crate::codec::HttpFacts {
            front_port: 80,
            preserve_host: false,
            add_headers: false,
            via: crate::config::ProxyVia::Off,
            forward_expect: false,
            upgrade: None,
        },
        cgi: Some(site),
    };
    let mut out = Vec::new();
    codec.start(&req, &mut out);
    out
}
