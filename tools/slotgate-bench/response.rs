//! An incremental HTTP/1.1 response parser for the load loop.
//!
//! The loop reads into one shared buffer and feeds every slice here as it
//! comes: the head is gathered in a buffer the parser keeps between
//! responses (so steady state allocates nothing) and parsed with httparse;
//! the body is then only counted, never kept. Bodies are framed by
//! `Transfer-Encoding: chunked`, `Content-Length`, or the end of the
//! connection; 1xx interim responses are skipped; 204, 304 and responses to
//! HEAD have none.

use std::fmt;

/// Longest response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Most headers accepted in one head.
const MAX_HEADERS: usize = 64;
/// Longest chunk-size line (size, extensions) or trailer line accepted.
const MAX_LINE: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// Body bytes received (after de-chunking).
    pub body_len: u64,
    /// Whether the connection may carry another request.
    pub keep_alive: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    HeadTooLong,
    BadHead(String),
    BadContentLength,
    BadChunkSize,
    BadChunkEnd,
    LineTooLong,
    /// The connection ended before the response did.
    Truncated,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::HeadTooLong => write!(f, "response head longer than {MAX_HEAD} bytes"),
            ParseError::BadHead(why) => write!(f, "malformed response head: {why}"),
            ParseError::BadContentLength => write!(f, "malformed Content-Length"),
            ParseError::BadChunkSize => write!(f, "malformed chunk size line"),
            ParseError::BadChunkEnd => write!(f, "chunk data not followed by CRLF"),
            ParseError::LineTooLong => write!(f, "chunk size or trailer line too long"),
            ParseError::Truncated => write!(f, "connection closed before the response ended"),
        }
    }
}

/// What a call to [`ResponseParser::feed`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fed {
    /// Bytes of the slice that belong to this response; the rest (if any)
    /// came after its end.
    pub consumed: usize,
    pub done: Option<Response>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Length(u64),
    UntilClose,
    Chunked(Chunk),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Reading the size line; `digits` hex digits seen, `ext` once past them.
    Size {
        size: u64,
        digits: u32,
        ext: bool,
        line: usize,
    },
    Data(u64),
    DataCr,
    DataLf,
    /// At the start (`line == 0`) or inside a trailer line.
    Trailer {
        line: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Body(Body),
}

pub struct ResponseParser {
    head: Vec<u8>,
    state: State,
    status: u16,
    keep_alive: bool,
    body_len: u64,
    /// Set when the request was HEAD: no body whatever the headers say.
    head_request: bool,
}

impl ResponseParser {
    pub fn new(head_request: bool) -> ResponseParser {
        ResponseParser {
            head: Vec::with_capacity(1024),
            state: State::Head,
            status: 0,
            keep_alive: true,
            body_len: 0,
            head_request,
        }
    }

    /// Forget any partial response, ready for the next one.
    pub fn reset(&mut self) {
        self.head.clear();
        self.state = State::Head;
        self.status = 0;
        self.keep_alive = true;
        self.body_len = 0;
    }

    /// Whether nothing of a response has been seen since the last reset.
    pub fn is_idle(&self) -> bool {
        self.state == State::Head && self.head.is_empty()
    }

    /// Parse the next bytes of the response.
    pub fn feed(&mut self, data: &[u8]) -> Result<Fed, ParseError> {
        let mut at = 0;
        loop {
            match self.state {
                State::Head => {
                    let before = self.head.len();
                    let room = MAX_HEAD - before;
                    let take = (data.len() - at).min(room);
                    self.head.extend_from_slice(&data[at..at + take]);
                    match self.parse_head()? {
                        None if take == data.len() - at => {
                            return Ok(Fed {
                                consumed: data.len(),
                                done: None,
                            })
                        }
                        None => return Err(ParseError::HeadTooLong),
                        Some(head_len) => {
                            at += head_len - before;
                            self.head.clear();
                            if let State::Head = self.state {
                                continue; // an interim 1xx response: the real one follows
                            }
                        }
                    }
                }
                State::Body(Body::Length(0)) => {
                    return Ok(Fed {
                        consumed: at,
                        done: Some(self.finish()),
                    })
                }
                State::Body(Body::Length(left)) => {
                    let take = left.min((data.len() - at) as u64);
                    self.body_len += take;
                    at += take as usize;
                    self.state = State::Body(Body::Length(left - take));
                    if left - take > 0 {
                        return Ok(Fed {
                            consumed: at,
                            done: None,
                        });
                    }
                }
                State::Body(Body::UntilClose) => {
                    self.body_len += (data.len() - at) as u64;
                    return Ok(Fed {
                        consumed: data.len(),
                        done: None,
                    });
                }
                State::Body(Body::Chunked(chunk)) => {
                    let (used, next) = self.chunked(chunk, &data[at..])?;
                    at += used;
                    match next {
                        Some(chunk) => {
                            self.state = State::Body(Body::Chunked(chunk));
                            return Ok(Fed {
                                consumed: at,
                                done: None,
                            });
                        }
                        None => {
                            return Ok(Fed {
                                consumed: at,
                                done: Some(self.finish()),
                            })
                        }
                    }
                }
            }
        }
    }

    /// The connection ended: completes a close-delimited response, and is an
    /// error anywhere else except before the first byte of a response.
    pub fn eof(&mut self) -> Result<Response, ParseError> {
        match self.state {
            State::Body(Body::UntilClose) => {
                let mut done = self.finish();
                done.keep_alive = false;
                Ok(done)
            }
            _ => Err(ParseError::Truncated),
        }
    }

    fn finish(&mut self) -> Response {
        let done = Response {
            status: self.status,
            body_len: self.body_len,
            keep_alive: self.keep_alive,
        };
        self.reset();
        done
    }

    /// Try to parse the gathered head: `None` while incomplete, else the
    /// head's length, with the state moved to the body (or back to `Head`
    /// after an interim response).
    fn parse_head(&mut self) -> Result<Option<usize>, ParseError> {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut response = httparse::Response::new(&mut headers);
        let head_len = match response.parse(&self.head) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(ParseError::BadHead(e.to_string())),
        };
        let status = response.code.unwrap_or(0);
        let http10 = response.version == Some(0);
        if (100..200).contains(&status) && status != 101 {
            return Ok(Some(head_len));
        }
        let mut chunked = false;
        let mut length: Option<u64> = None;
        let mut connection_close = http10;
        for header in response.headers.iter() {
            let value = std::str::from_utf8(header.value).unwrap_or("").trim();
            if header.name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value
                    .rsplit(',')
                    .next()
                    .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"));
            } else if header.name.eq_ignore_ascii_case("content-length") {
                let n: u64 = value.parse().map_err(|_| ParseError::BadContentLength)?;
                if length.is_some_and(|old| old != n) {
                    return Err(ParseError::BadContentLength);
                }
                length = Some(n);
            } else if header.name.eq_ignore_ascii_case("connection") {
                for token in value.split(',').map(str::trim) {
                    if token.eq_ignore_ascii_case("close") {
                        connection_close = true;
                    } else if http10 && token.eq_ignore_ascii_case("keep-alive") {
                        connection_close = false;
                    }
                }
            }
        }
        self.status = status;
        self.keep_alive = !connection_close;
        let no_body = self.head_request || status == 204 || status == 304;
        let body = if no_body {
            Body::Length(0)
        } else if chunked {
            Body::Chunked(Chunk::Size {
                size: 0,
                digits: 0,
                ext: false,
                line: 0,
            })
        } else if let Some(n) = length {
            Body::Length(n)
        } else {
            self.keep_alive = false;
            Body::UntilClose
        };
        self.state = State::Body(body);
        Ok(Some(head_len))
    }

    /// Run the chunked decoder over `data`: bytes used, and the state to
    /// continue in, or `None` once the last chunk and trailers are over.
    fn chunked(
        &mut self,
        mut chunk: Chunk,
        data: &[u8],
    ) -> Result<(usize, Option<Chunk>), ParseError> {
        let mut at = 0;
        while at < data.len() {
            let byte = data[at];
            chunk = match chunk {
                Chunk::Size {
                    size,
                    digits,
                    ext,
                    line,
                } => {
                    at += 1;
                    if line + 1 > MAX_LINE {
                        return Err(ParseError::LineTooLong);
                    }
                    match byte {
                        b'\n' if digits == 0 => return Err(ParseError::BadChunkSize),
                        b'\n' if size == 0 => Chunk::Trailer { line: 0 },
                        b'\n' => Chunk::Data(size),
                        _ if ext => Chunk::Size {
                            size,
                            digits,
                            ext,
                            line: line + 1,
                        },
                        b';' | b' ' | b'\t' | b'\r' if digits > 0 => Chunk::Size {
                            size,
                            digits,
                            ext: true,
                            line: line + 1,
                        },
                        _ => {
                            let digit = (byte as char)
                                .to_digit(16)
                                .ok_or(ParseError::BadChunkSize)?;
                            if digits >= 15 {
                                return Err(ParseError::BadChunkSize);
                            }
                            Chunk::Size {
                                size: size * 16 + u64::from(digit),
                                digits: digits + 1,
                                ext,
                                line: line + 1,
                            }
                        }
                    }
                }
                Chunk::Data(left) => {
                    let take = left.min((data.len() - at) as u64);
                    at += take as usize;
                    self.body_len += take;
                    if left == take {
                        Chunk::DataCr
                    } else {
                        Chunk::Data(left - take)
                    }
                }
                Chunk::DataCr => {
                    at += 1;
                    match byte {
                        b'\r' => Chunk::DataLf,
                        b'\n' => Chunk::Size {
                            size: 0,
                            digits: 0,
                            ext: false,
                            line: 0,
                        },
                        _ => return Err(ParseError::BadChunkEnd),
                    }
                }
                Chunk::DataLf => {
                    at += 1;
                    match byte {
                        b'\n' => Chunk::Size {
                            size: 0,
                            digits: 0,
                            ext: false,
                            line: 0,
                        },
                        _ => return Err(ParseError::BadChunkEnd),
                    }
                }
                Chunk::Trailer { line } => {
                    at += 1;
                    match byte {
                        b'\n' if line == 0 => return Ok((at, None)),
                        b'\n' => Chunk::Trailer { line: 0 },
                        // A CR right at the start of a line stays at "empty so far".
                        b'\r' if line == 0 => Chunk::Trailer { line: 0 },
                        _ if line + 1 > MAX_LINE => return Err(ParseError::LineTooLong),
                        _ => Chunk::Trailer { line: line + 1 },
                    }
                }
            };
        }
        Ok((at, Some(chunk)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feed `wire` split at `cut`, then the connection end if `eof`; returns
    /// the responses completed and the bytes left over after the last one.
    fn run_split(
        wire: &[u8],
        cut: usize,
        eof: bool,
        head_request: bool,
    ) -> Result<Vec<Response>, ParseError> {
        let mut parser = ResponseParser::new(head_request);
        let mut done = Vec::new();
        for part in [&wire[..cut], &wire[cut..]] {
            let mut rest = part;
            while !rest.is_empty() {
                let fed = parser.feed(rest)?;
                rest = &rest[fed.consumed..];
                if let Some(r) = fed.done {
                    done.push(r);
                } else {
                    assert!(rest.is_empty(), "bytes left without a completed response");
                }
            }
        }
        if eof && !parser.is_idle() {
            done.push(parser.eof()?);
        }
        Ok(done)
    }

    /// Every split point gives the same answer as the whole.
    fn every_split(wire: &[u8], eof: bool) -> Vec<Response> {
        let whole = run_split(wire, wire.len(), eof, false).expect("whole");
        for cut in 0..=wire.len() {
            assert_eq!(
                run_split(wire, cut, eof, false).expect("split"),
                whole,
                "cut at {cut}"
            );
        }
        // And byte by byte.
        let mut parser = ResponseParser::new(false);
        let mut done = Vec::new();
        for b in wire {
            if let Some(r) = parser.feed(std::slice::from_ref(b)).expect("byte").done {
                done.push(r);
            }
        }
        if eof && !parser.is_idle() {
            done.push(parser.eof().expect("eof"));
        }
        assert_eq!(done, whole);
        whole
    }

    fn ok(status: u16, body_len: u64, keep_alive: bool) -> Response {
        Response {
            status,
            body_len,
            keep_alive,
        }
    }

    #[test]
    fn content_length_responses_back_to_back() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 503 Busy\r\ncontent-length: 0\r\n\r\n";
        assert_eq!(
            every_split(wire, false),
            vec![ok(200, 5, true), ok(503, 0, true)]
        );
    }

    #[test]
    fn chunked_split_at_every_byte() {
        let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                     5;name=value\r\nhello\r\n10\r\n0123456789abcdef\r\n0\r\nX-Trailer: 1\r\n\r\n\
                     HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
        assert_eq!(
            every_split(wire, false),
            vec![ok(200, 21, true), ok(200, 3, false)]
        );
    }

    #[test]
    fn close_delimited_body_ends_at_eof() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this until the end";
        assert_eq!(every_split(wire, true), vec![ok(200, 25, false)]);
    }

    #[test]
    fn interim_responses_are_skipped_and_empty_bodies_need_no_length() {
        let wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 304 Not Modified\r\nContent-Length: 99\r\n\r\n";
        assert_eq!(
            every_split(wire, false),
            vec![ok(204, 0, true), ok(304, 0, true)]
        );
    }

    #[test]
    fn http10_closes_unless_keep_alive() {
        let wire = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx";
        assert_eq!(
            every_split(wire, false),
            vec![ok(200, 2, false), ok(200, 1, true)]
        );
    }

    #[test]
    fn head_request_response_has_no_body() {
        let wire = b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n";
        assert_eq!(
            run_split(wire, 10, false, true).unwrap(),
            vec![ok(200, 0, true)]
        );
    }

    #[test]
    fn truncated_and_malformed_responses_are_errors() {
        let cases: &[(&[u8], ParseError)] = &[
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
                ParseError::Truncated,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
                ParseError::Truncated,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
                ParseError::BadContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                ParseError::BadContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                ParseError::BadChunkSize,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
                ParseError::BadChunkSize,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n",
                ParseError::BadChunkEnd,
            ),
        ];
        for (wire, want) in cases {
            assert_eq!(
                run_split(wire, wire.len(), true, false).unwrap_err(),
                *want,
                "{}",
                String::from_utf8_lossy(wire)
            );
        }
        let err = run_split(b"HTXP/1.1 200 OK\r\n\r\n", 19, false, false).unwrap_err();
        assert!(matches!(err, ParseError::BadHead(_)), "{err:?}");
    }

    #[test]
    fn an_endless_head_is_refused() {
        let mut parser = ResponseParser::new(false);
        parser.feed(b"HTTP/1.1 200 OK\r\n").unwrap();
        let line = [b'a'; 1000];
        let err = (0..100)
            .find_map(|_| parser.feed(&line).err())
            .expect("refused");
        assert!(
            matches!(err, ParseError::HeadTooLong | ParseError::BadHead(_)),
            "{err:?}"
        );
    }
}
