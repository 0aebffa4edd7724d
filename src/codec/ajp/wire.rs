//! AJP 1.3 on the wire: packet framing, the code tables and the integer and
//! string encodings (the protocol reference in httpd's mod_proxy_ajp docs).
//!
//! A packet is a 4-byte header and a payload: `0x12 0x34` + length for packets
//! to the container, `'A' 'B'` + length for packets from it; the length (big
//! endian) counts the payload only. Integers are 2 bytes, big endian; a string
//! is its length (2 bytes), its bytes and a NUL; length 0xFFFF is the null
//! string, with no bytes and no NUL.

/// Magic of packets slotgate sends (web server → container).
pub const TO_MEMBER: [u8; 2] = [0x12, 0x34];
/// Magic of packets the member sends (container → web server).
pub const FROM_MEMBER: [u8; 2] = *b"AB";
/// Packet header: magic + payload length.
pub const HEADER: usize = 4;
/// A body packet's overhead before its data: the header and the data length.
pub const BODY_HEAD: usize = HEADER + 2;

/// The packet size's default (and least) and largest values.
pub const DEFAULT_PACKET_SIZE: usize = 8192;
pub const MAX_PACKET_SIZE: usize = 65536;

/// Prefix codes of packets to the member.
pub const FORWARD_REQUEST: u8 = 2;
pub const CPING: u8 = 10;
/// Prefix codes of packets from the member.
pub const SEND_BODY_CHUNK: u8 = 3;
pub const SEND_HEADERS: u8 = 4;
pub const END_RESPONSE: u8 = 5;
pub const GET_BODY_CHUNK: u8 = 6;
pub const CPONG_REPLY: u8 = 9;

/// The whole CPING packet and the whole CPONG answer.
pub const CPING_PACKET: [u8; 5] = [0x12, 0x34, 0x00, 0x01, CPING];
pub const CPONG_PACKET: [u8; 5] = [b'A', b'B', 0x00, 0x01, CPONG_REPLY];

/// The end of a request body: a body packet with no data.
pub const EMPTY_BODY: [u8; 6] = [0x12, 0x34, 0x00, 0x02, 0x00, 0x00];

/// Method codes (1-based: OPTIONS is 1). A method not listed is sent as
/// [`METHOD_STORED`] with its name in the [`ATTR_STORED_METHOD`] attribute.
pub const METHODS: [&str; 27] = [
    "OPTIONS",
    "GET",
    "HEAD",
    "POST",
    "PUT",
    "DELETE",
    "TRACE",
    "PROPFIND",
    "PROPPATCH",
    "MKCOL",
    "COPY",
    "MOVE",
    "LOCK",
    "UNLOCK",
    "ACL",
    "REPORT",
    "VERSION-CONTROL",
    "CHECKIN",
    "CHECKOUT",
    "UNCHECKOUT",
    "SEARCH",
    "MKWORKSPACE",
    "UPDATE",
    "LABEL",
    "MERGE",
    "BASELINE-CONTROL",
    "MKACTIVITY",
];
pub const METHOD_STORED: u8 = 0xFF;

/// Request header names sent as a code, `0xA0` then the 1-based index.
pub const REQUEST_HEADERS: [&str; 14] = [
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "authorization",
    "connection",
    "content-type",
    "content-length",
    "cookie",
    "cookie2",
    "host",
    "pragma",
    "referer",
    "user-agent",
];

/// Response header names the member may send as a code (`0xA0`, 1-based index).
pub const RESPONSE_HEADERS: [&str; 11] = [
    "Content-Type",
    "Content-Language",
    "Content-Length",
    "Date",
    "Last-Modified",
    "Location",
    "Set-Cookie",
    "Set-Cookie2",
    "Servlet-Engine",
    "Status",
    "WWW-Authenticate",
];

/// Request attribute codes.
pub const ATTR_REMOTE_USER: u8 = 0x03;
pub const ATTR_AUTH_TYPE: u8 = 0x04;
pub const ATTR_QUERY_STRING: u8 = 0x05;
pub const ATTR_SSL_CERT: u8 = 0x07;
pub const ATTR_SSL_CIPHER: u8 = 0x08;
pub const ATTR_SSL_SESSION: u8 = 0x09;
pub const ATTR_REQ_ATTRIBUTE: u8 = 0x0A;
pub const ATTR_SSL_KEY_SIZE: u8 = 0x0B;
pub const ATTR_SECRET: u8 = 0x0C;
pub const ATTR_STORED_METHOD: u8 = 0x0D;
pub const ATTR_END: u8 = 0xFF;

/// The method's code, or [`METHOD_STORED`].
pub fn method_code(method: &str) -> u8 {
    METHODS
        .iter()
        .position(|m| *m == method)
        .map_or(METHOD_STORED, |i| i as u8 + 1)
}

/// The request header's code (`0xA0xx`), if it has one.
pub fn request_header_code(name: &str) -> Option<u16> {
    REQUEST_HEADERS
        .iter()
        .position(|h| h.eq_ignore_ascii_case(name))
        .map(|i| 0xA000 | (i as u16 + 1))
}

/// Writes a packet to the member into `buf`: the magic, a length filled in by
/// [`PacketWriter::finish`], then the payload.
pub struct PacketWriter<'a> {
    buf: &'a mut Vec<u8>,
    start: usize,
}

impl<'a> PacketWriter<'a> {
    pub fn new(buf: &'a mut Vec<u8>) -> Self {
        let start = buf.len();
        buf.extend_from_slice(&TO_MEMBER);
        buf.extend_from_slice(&[0, 0]);
        PacketWriter { buf, start }
    }

    pub fn byte(&mut self, b: u8) {
        self.buf.push(b);
    }

    pub fn int(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    /// A string; one of 0xFFFF bytes or more cannot be written, and makes the
    /// packet too large at [`finish`](PacketWriter::finish).
    pub fn string(&mut self, s: &[u8]) {
        match u16::try_from(s.len()) {
            Ok(n) if n != 0xFFFF => {
                self.int(n);
                self.buf.extend_from_slice(s);
                self.buf.push(0);
            }
            // Longer than any packet: make sure finish() refuses it.
            _ => self.buf.resize(self.buf.len() + MAX_PACKET_SIZE, 0),
        }
    }

    /// A string written by `f` (a number, an address) without a temporary.
    pub fn string_with(&mut self, f: impl FnOnce(&mut Vec<u8>)) {
        let at = self.buf.len();
        self.int(0);
        f(self.buf);
        let n = self.buf.len() - at - 2;
        match u16::try_from(n) {
            Ok(n) if n != 0xFFFF => self.buf[at..at + 2].copy_from_slice(&n.to_be_bytes()),
            _ => self.buf.resize(self.buf.len() + MAX_PACKET_SIZE, 0),
        }
        self.buf.push(0);
    }

    pub fn null_string(&mut self) {
        self.int(0xFFFF);
    }

    /// Fills in the length; Err(size) when the packet would be larger than
    /// `packet_size` (the packet is then removed from `buf`).
    pub fn finish(self, packet_size: usize) -> Result<usize, usize> {
        let size = self.buf.len() - self.start;
        if size > packet_size {
            self.buf.truncate(self.start);
            return Err(size);
        }
        let payload = (size - HEADER) as u16;
        self.buf[self.start + 2..self.start + 4].copy_from_slice(&payload.to_be_bytes());
        Ok(size)
    }
}

/// Reads the payload of one packet from the member; every read is bounded by
/// the payload, so a lying length gives an error, never a panic.
pub struct PacketReader<'a> {
    data: &'a [u8],
    at: usize,
}

/// The payload ended inside a field.
#[derive(Debug)]
pub struct Short;

impl<'a> PacketReader<'a> {
    pub fn new(payload: &'a [u8]) -> Self {
        PacketReader {
            data: payload,
            at: 0,
        }
    }

    pub fn int(&mut self) -> Result<u16, Short> {
        let b = self.data.get(self.at..self.at + 2).ok_or(Short)?;
        self.at += 2;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// Peeks at the next byte.
    pub fn peek(&self) -> Option<u8> {
        self.data.get(self.at).copied()
    }

    /// A string (None for the null string); its NUL must follow.
    pub fn string(&mut self) -> Result<Option<&'a [u8]>, Short> {
        let n = self.int()?;
        if n == 0xFFFF {
            return Ok(None);
        }
        let n = n as usize;
        let s = self.data.get(self.at..self.at + n).ok_or(Short)?;
        if self.data.get(self.at + n) != Some(&0) {
            return Err(Short);
        }
        self.at += n + 1;
        Ok(Some(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_codes_follow_the_table() {
        assert_eq!(method_code("OPTIONS"), 1);
        assert_eq!(method_code("GET"), 2);
        assert_eq!(method_code("POST"), 4);
        // httpd-oracle sent PROPFIND as 8 (captured FORWARD_REQUEST).
        assert_eq!(method_code("PROPFIND"), 8);
        assert_eq!(method_code("MKACTIVITY"), 27);
        assert_eq!(method_code("FOOBAR"), METHOD_STORED);
        assert_eq!(method_code("get"), METHOD_STORED);
    }

    #[test]
    fn request_header_codes_ignore_case() {
        assert_eq!(request_header_code("Host"), Some(0xA00B));
        assert_eq!(request_header_code("user-agent"), Some(0xA00E));
        assert_eq!(request_header_code("Accept"), Some(0xA001));
        assert_eq!(request_header_code("X-Custom"), None);
    }

    #[test]
    fn writer_fills_in_the_length_and_refuses_oversized_packets() {
        let mut buf = Vec::new();
        let mut w = PacketWriter::new(&mut buf);
        w.byte(7);
        w.string(b"ab");
        w.null_string();
        assert_eq!(w.finish(8192), Ok(12));
        assert_eq!(buf, [0x12, 0x34, 0, 8, 7, 0, 2, b'a', b'b', 0, 0xFF, 0xFF]);

        let mut buf = vec![1, 2];
        let mut w = PacketWriter::new(&mut buf);
        w.string(&[b'x'; 2000]);
        assert_eq!(w.finish(1024), Err(2007));
        assert_eq!(buf, [1, 2]);
    }

    #[test]
    fn string_with_measures_what_was_written() {
        let mut buf = Vec::new();
        let mut w = PacketWriter::new(&mut buf);
        w.string_with(|b| b.extend_from_slice(b"12345"));
        w.finish(100).unwrap();
        assert_eq!(&buf[4..], [0, 5, b'1', b'2', b'3', b'4', b'5', 0]);
    }

    #[test]
    fn reader_refuses_fields_past_the_payload() {
        let mut r = PacketReader::new(&[0, 5, b'a', b'b']);
        assert!(r.string().is_err());
        let mut r = PacketReader::new(&[0, 2, b'a', b'b', 1]);
        assert!(r.string().is_err(), "a string must end with NUL");
        let mut r = PacketReader::new(&[0xFF, 0xFF, 0, 1, b'z', 0]);
        assert_eq!(r.string().unwrap(), None);
        assert_eq!(r.string().unwrap(), Some(&b"z"[..]));
        assert!(r.int().is_err());
    }
}
