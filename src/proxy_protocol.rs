//! HAProxy's PROXY protocol, versions 1 (text) and 2 (binary): the header an L4
//! balancer puts in front of a connection to pass on the client's address.
//!
//! Accepting (`RemoteIPProxyProtocol On`, as httpd's mod_remoteip): [`parse`]
//! looks at the first bytes of a client connection, however few have arrived,
//! and says whether a complete header is there, more is needed, or the bytes
//! cannot be one. It never allocates and never reads past [`MAX_HEADER`].
//!
//! Sending (member parameter `proxyprotocol=v1|v2`, a slotgate extension):
//! [`build`] writes the header for a client connection into a stack array.
//!
//! Version 1: `PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n` (at most 107
//! bytes; `PROXY UNKNOWN …\r\n` carries no address). Version 2: a 12-byte
//! signature, version/command, family/transport, a 2-byte length, the
//! addresses, then TLVs (skipped here). The LOCAL command (a balancer's own
//! health check) and the UNSPEC and UNIX families carry no client address:
//! the connection's own peer address stays.

use std::fmt;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The 12 bytes a version 2 header starts with.
pub const V2_SIGNATURE: [u8; 12] = *b"\r\n\r\n\0\r\nQUIT\n";
/// The longest version 1 header, CRLF included (spec §2.1).
pub const V1_MAX: usize = 107;
/// The longest version 2 header accepted: the 16 fixed bytes plus 2032 bytes of
/// addresses and TLVs (the spec allows 65535; real balancers send far less).
pub const MAX_HEADER: usize = 2048;
/// The longest header [`build`] writes.
pub const BUILD_MAX: usize = V1_MAX;

/// Which version to send to a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

impl Version {
    /// `proxyprotocol=v1|v2` (also `1`, `2`), any case.
    pub fn from_name(name: &str) -> Option<Version> {
        match name.to_ascii_lowercase().as_str() {
            "v1" | "1" => Some(Version::V1),
            "v2" | "2" => Some(Version::V2),
            _ => None,
        }
    }
}

/// A complete header at the start of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Its length in bytes: what to consume before the request.
    pub len: usize,
    /// Source (the client) and destination addresses; None for v1 UNKNOWN, v2
    /// LOCAL and the families without IP addresses.
    pub addrs: Option<(SocketAddr, SocketAddr)>,
}

/// Why the input is not a PROXY header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// Neither `PROXY ` nor the v2 signature.
    Signature,
    /// Longer than [`V1_MAX`] without CRLF, or a v2 length above [`MAX_HEADER`].
    TooLong,
    /// A v1 line or v2 block that breaks the format; says what.
    Malformed(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Signature => f.write_str("no PROXY protocol header"),
            Error::TooLong => f.write_str("PROXY protocol header too long"),
            Error::Malformed(why) => write!(f, "malformed PROXY protocol header: {why}"),
        }
    }
}

/// Parses the header at the start of `input`: Ok(None) while the bytes so far
/// could still begin one (read more), Ok(Some) once complete.
pub fn parse(input: &[u8]) -> Result<Option<Header>, Error> {
    let v1 = b"PROXY ";
    let n = input.len();
    if n >= 1 && input[0] == b'P' {
        if input[..n.min(v1.len())] != v1[..n.min(v1.len())] {
            return Err(Error::Signature);
        }
        return parse_v1(input);
    }
    if input[..n.min(12)] != V2_SIGNATURE[..n.min(12)] {
        return Err(Error::Signature);
    }
    parse_v2(input)
}

fn parse_v1(input: &[u8]) -> Result<Option<Header>, Error> {
    let window = &input[..input.len().min(V1_MAX)];
    let Some(cr) = window.iter().position(|&b| b == b'\r') else {
        if input.len() >= V1_MAX {
            return Err(Error::TooLong);
        }
        if window.contains(&b'\n') {
            return Err(Error::Malformed("bare LF"));
        }
        return Ok(None);
    };
    match window.get(cr + 1) {
        None if input.len() <= cr + 1 => return Ok(None),
        Some(b'\n') => {}
        _ => return Err(Error::Malformed("CR without LF")),
    }
    let len = cr + 2;
    let line = std::str::from_utf8(&input[6..cr]).map_err(|_| Error::Malformed("not ASCII"))?;
    let mut words = line.split(' ');
    let family = words.next().unwrap_or("");
    if family == "UNKNOWN" {
        // Whatever follows is ignored (spec §2.1).
        return Ok(Some(Header { len, addrs: None }));
    }
    let v6 = match family {
        "TCP4" => false,
        "TCP6" => true,
        _ => return Err(Error::Malformed("family is not TCP4, TCP6 or UNKNOWN")),
    };
    let mut next = || words.next().ok_or(Error::Malformed("missing field"));
    let (src, dst) = (ip(next()?, v6)?, ip(next()?, v6)?);
    let (sport, dport) = (port(next()?)?, port(next()?)?);
    if words.next().is_some() {
        return Err(Error::Malformed("extra field"));
    }
    Ok(Some(Header {
        len,
        addrs: Some((SocketAddr::new(src, sport), SocketAddr::new(dst, dport))),
    }))
}

fn ip(text: &str, v6: bool) -> Result<IpAddr, Error> {
    let bad = Error::Malformed("bad address");
    if v6 {
        text.parse::<Ipv6Addr>().map(IpAddr::V6).map_err(|_| bad)
    } else {
        text.parse::<Ipv4Addr>().map(IpAddr::V4).map_err(|_| bad)
    }
}

/// A decimal port 0..=65535 without sign or leading zero.
fn port(text: &str) -> Result<u16, Error> {
    let bad = Error::Malformed("bad port");
    if text.is_empty()
        || !text.bytes().all(|b| b.is_ascii_digit())
        || (text.len() > 1 && text.starts_with('0'))
    {
        return Err(bad);
    }
    text.parse().map_err(|_| bad)
}

fn parse_v2(input: &[u8]) -> Result<Option<Header>, Error> {
    if input.len() < 16 {
        if input.len() >= 13 && input[12] >> 4 != 2 {
            return Err(Error::Malformed("version is not 2"));
        }
        return Ok(None);
    }
    let (ver_cmd, fam) = (input[12], input[13]);
    if ver_cmd >> 4 != 2 {
        return Err(Error::Malformed("version is not 2"));
    }
    let body = u16::from_be_bytes([input[14], input[15]]) as usize;
    let len = 16 + body;
    if len > MAX_HEADER {
        return Err(Error::TooLong);
    }
    let local = match ver_cmd & 0x0f {
        0 => true,
        1 => false,
        _ => return Err(Error::Malformed("command is neither LOCAL nor PROXY")),
    };
    if input.len() < len {
        return Ok(None);
    }
    if local {
        return Ok(Some(Header { len, addrs: None }));
    }
    let b = &input[16..len];
    let short = Error::Malformed("length too short for the address family");
    let addrs = match fam >> 4 {
        // UNSPEC, UNIX: no IP address to take.
        0 | 3 => None,
        1 => {
            let a: &[u8; 12] = b.get(..12).and_then(|s| s.try_into().ok()).ok_or(short)?;
            let src = Ipv4Addr::new(a[0], a[1], a[2], a[3]);
            let dst = Ipv4Addr::new(a[4], a[5], a[6], a[7]);
            Some((
                SocketAddr::new(src.into(), u16::from_be_bytes([a[8], a[9]])),
                SocketAddr::new(dst.into(), u16::from_be_bytes([a[10], a[11]])),
            ))
        }
        2 => {
            let a: &[u8; 36] = b.get(..36).and_then(|s| s.try_into().ok()).ok_or(short)?;
            let mut s = [0u8; 16];
            let mut d = [0u8; 16];
            s.copy_from_slice(&a[..16]);
            d.copy_from_slice(&a[16..32]);
            Some((
                SocketAddr::new(Ipv6Addr::from(s).into(), u16::from_be_bytes([a[32], a[33]])),
                SocketAddr::new(Ipv6Addr::from(d).into(), u16::from_be_bytes([a[34], a[35]])),
            ))
        }
        _ => return Err(Error::Malformed("unknown address family")),
    };
    Ok(Some(Header { len, addrs }))
}

/// Writes the header for a connection from `src` to `dst` into `out`; returns
/// its length. Both addresses are given the same family (an IPv4 one is mapped
/// into IPv6 when the other is IPv6), as the spec requires. No allocation.
pub fn build(
    version: Version,
    src: SocketAddr,
    dst: SocketAddr,
    out: &mut [u8; BUILD_MAX],
) -> usize {
    let (s, d) = (src.ip().to_canonical(), dst.ip().to_canonical());
    let (s, d) = match (s, d) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (IpAddr::V4(a), IpAddr::V4(b)),
        (a, b) => (IpAddr::V6(to_v6(a)), IpAddr::V6(to_v6(b))),
    };
    let (sp, dp) = (src.port(), dst.port());
    match version {
        Version::V1 => {
            let family = if s.is_ipv4() { "TCP4" } else { "TCP6" };
            let mut w: &mut [u8] = &mut out[..];
            let room = w.len();
            // At most 104 bytes: "PROXY TCP6 " + 2 × 39 + 2 × 5 + 3 spaces + CRLF.
            let _ = write!(w, "PROXY {family} {s} {d} {sp} {dp}\r\n");
            room - w.len()
        }
        Version::V2 => {
            out[..12].copy_from_slice(&V2_SIGNATURE);
            out[12] = 0x21; // version 2, PROXY
            let body = match (s, d) {
                (IpAddr::V4(a), IpAddr::V4(b)) => {
                    out[13] = 0x11; // INET, STREAM
                    out[16..20].copy_from_slice(&a.octets());
                    out[20..24].copy_from_slice(&b.octets());
                    out[24..26].copy_from_slice(&sp.to_be_bytes());
                    out[26..28].copy_from_slice(&dp.to_be_bytes());
                    12
                }
                (a, b) => {
                    out[13] = 0x21; // INET6, STREAM
                    out[16..32].copy_from_slice(&to_v6(a).octets());
                    out[32..48].copy_from_slice(&to_v6(b).octets());
                    out[48..50].copy_from_slice(&sp.to_be_bytes());
                    out[50..52].copy_from_slice(&dp.to_be_bytes());
                    36
                }
            };
            out[14..16].copy_from_slice(&(body as u16).to_be_bytes());
            16 + body
        }
    }
}

fn to_v6(ip: IpAddr) -> Ipv6Addr {
    match ip {
        IpAddr::V4(a) => a.to_ipv6_mapped(),
        IpAddr::V6(a) => a,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// Every prefix of a valid header asks for more; the whole of it parses.
    fn split_everywhere(bytes: &[u8], want: Header) {
        for cut in 0..want.len {
            assert_eq!(parse(&bytes[..cut]), Ok(None), "cut at {cut}");
        }
        assert_eq!(parse(bytes), Ok(Some(want)));
    }

    #[test]
    fn v1_tcp4_with_a_request_behind_it() {
        let text = b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET / HTTP/1.1\r\n";
        let want = Header {
            len: 45,
            addrs: Some((sa("192.0.2.1:56324"), sa("198.51.100.2:443"))),
        };
        split_everywhere(text, want);
    }

    #[test]
    fn v1_tcp6_and_unknown() {
        let text = b"PROXY TCP6 2001:db8::1 2001:db8::2 1 65535\r\n";
        let h = parse(text).unwrap().unwrap();
        assert_eq!(
            h.addrs,
            Some((sa("[2001:db8::1]:1"), sa("[2001:db8::2]:65535")))
        );
        split_everywhere(text, h);
        let h = parse(b"PROXY UNKNOWN ffff:f...f:ffff 1.2.3.4\r\n")
            .unwrap()
            .unwrap();
        assert_eq!((h.len, h.addrs), (39, None));
        assert_eq!(parse(b"PROXY UNKNOWN\r\n").unwrap().unwrap().len, 15);
    }

    #[test]
    fn v1_refusals() {
        let bad: &[&[u8]] = &[
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n",
            b"PROXY TCP4 ::1 ::1 1 2\r\n",
            b"PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n",
            b"PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX",
            b"PROXY TCP4 1.2.3.4\n",
        ];
        for b in bad {
            assert!(
                matches!(parse(b), Err(Error::Malformed(_))),
                "{:?} accepted",
                String::from_utf8_lossy(b)
            );
        }
        let long = [b"PROXY UNKNOWN ".as_slice(), &[b'x'; 100]].concat();
        assert_eq!(parse(&long), Err(Error::TooLong));
    }

    #[test]
    fn anything_else_is_refused_at_its_first_wrong_byte() {
        assert_eq!(parse(b"G"), Err(Error::Signature));
        assert_eq!(parse(b"GET / HTTP/1.1\r\n"), Err(Error::Signature));
        assert_eq!(parse(b"PROX"), Ok(None));
        assert_eq!(parse(b"PROXX"), Err(Error::Signature));
        assert_eq!(parse(b"PROXY"), Ok(None));
        assert_eq!(parse(b"PROXY\t"), Err(Error::Signature));
        assert_eq!(parse(b"\r\n\r\n\0\r\nQUI"), Ok(None));
        assert_eq!(parse(b"\r\n\r\n\0\r\nQUIX"), Err(Error::Signature));
        assert_eq!(parse(b"\r\n\r\nGET"), Err(Error::Signature));
        assert_eq!(parse(b""), Ok(None));
    }

    fn v2(cmd: u8, fam: u8, body: &[u8]) -> Vec<u8> {
        let mut v = V2_SIGNATURE.to_vec();
        v.push(cmd);
        v.push(fam);
        v.extend_from_slice(&(body.len() as u16).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn v2_inet_with_tlvs_skipped() {
        let mut body = vec![10, 0, 0, 1, 10, 0, 0, 2, 0x1f, 0x90, 0x01, 0xbb];
        // PP2_TYPE_AUTHORITY "example.com", then a NOOP.
        body.extend_from_slice(&[0x02, 0, 11]);
        body.extend_from_slice(b"example.com");
        body.extend_from_slice(&[0x04, 0, 2, 0, 0]);
        let mut bytes = v2(0x21, 0x11, &body);
        let want = Header {
            len: bytes.len(),
            addrs: Some((sa("10.0.0.1:8080"), sa("10.0.0.2:443"))),
        };
        bytes.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
        split_everywhere(&bytes, want);
    }

    #[test]
    fn v2_inet6_local_unspec_unix() {
        let mut body = Vec::new();
        body.extend_from_slice(&"2001:db8::7".parse::<Ipv6Addr>().unwrap().octets());
        body.extend_from_slice(&"::1".parse::<Ipv6Addr>().unwrap().octets());
        body.extend_from_slice(&[0, 80, 0, 81]);
        let bytes = v2(0x21, 0x21, &body);
        let want = Header {
            len: 52,
            addrs: Some((sa("[2001:db8::7]:80"), sa("[::1]:81"))),
        };
        split_everywhere(&bytes, want);
        // LOCAL: addresses (if any) ignored.
        let bytes = v2(0x20, 0x11, &[1; 12]);
        assert_eq!(
            parse(&bytes),
            Ok(Some(Header {
                len: 28,
                addrs: None
            }))
        );
        assert_eq!(parse(&v2(0x20, 0x00, &[])).unwrap().unwrap().addrs, None);
        // UNSPEC and UNIX under PROXY: no IP address, the peer's stays.
        assert_eq!(parse(&v2(0x21, 0x00, &[])).unwrap().unwrap().addrs, None);
        assert_eq!(
            parse(&v2(0x21, 0x31, &[0; 216])).unwrap().unwrap().addrs,
            None
        );
    }

    #[test]
    fn v2_refusals() {
        assert!(matches!(
            parse(&v2(0x11, 0x11, &[0; 12])),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            parse(&v2(0x22, 0x11, &[0; 12])),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            parse(&v2(0x21, 0x11, &[0; 8])),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            parse(&v2(0x21, 0x21, &[0; 12])),
            Err(Error::Malformed(_))
        ));
        assert!(matches!(
            parse(&v2(0x21, 0x41, &[0; 12])),
            Err(Error::Malformed(_))
        ));
        // The length is checked before the body arrives.
        let mut head = V2_SIGNATURE.to_vec();
        head.extend_from_slice(&[0x21, 0x11, 0xff, 0xff]);
        assert_eq!(parse(&head), Err(Error::TooLong));
        assert_eq!(
            parse(&[&V2_SIGNATURE[..], &[0x31]].concat()),
            Err(Error::Malformed("version is not 2"))
        );
    }

    #[test]
    fn built_headers_parse_back() {
        let cases = [
            (sa("192.0.2.1:56324"), sa("198.51.100.2:443")),
            (sa("[2001:db8::1]:1"), sa("[::1]:8080")),
            // Mixed families: the IPv4 one is mapped.
            (sa("192.0.2.1:5"), sa("[::1]:6")),
            // A v4-mapped client on a v6 listener is sent as TCP4 when both map.
            (sa("[::ffff:192.0.2.9]:7"), sa("[::ffff:127.0.0.1]:8")),
        ];
        for (src, dst) in cases {
            for version in [Version::V1, Version::V2] {
                let mut out = [0u8; BUILD_MAX];
                let n = build(version, src, dst, &mut out);
                let h = parse(&out[..n]).unwrap().unwrap();
                assert_eq!(h.len, n, "{version:?} {src} {dst}");
                let (s, d) = h.addrs.unwrap();
                assert_eq!(
                    (s.ip().to_canonical(), s.port()),
                    (src.ip().to_canonical(), src.port())
                );
                assert_eq!(
                    (d.ip().to_canonical(), d.port()),
                    (dst.ip().to_canonical(), dst.port())
                );
            }
        }
        let mut out = [0u8; BUILD_MAX];
        let n = build(Version::V1, sa("1.2.3.4:5"), sa("6.7.8.9:10"), &mut out);
        assert_eq!(&out[..n], b"PROXY TCP4 1.2.3.4 6.7.8.9 5 10\r\n");
        let longest = sa("[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535");
        let n = build(Version::V1, longest, longest, &mut out);
        assert_eq!(n, 104);
        assert_eq!(&out[n - 2..n], b"\r\n");
    }
}
