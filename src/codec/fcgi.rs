//! FastCGI members (`fcgi://`, as mod_proxy_fcgi): the responder role over
//! one connection, one request at a time (request id 1, no multiplexing).
//!
//! To the member: BEGIN_REQUEST (KEEP_CONN when the connection is to be
//! reused: `enablereuse=on`), the CGI variables as PARAMS records, the body
//! as STDIN records, an empty STDIN to end it. httpd writes no padding and
//! neither do we.
//!
//! From the member: STDOUT is the script's output (a CGI head, then the body);
//! STDERR lines go to the error log naming the member (httpd: AH01071 "Got
//! error '…'"); END_REQUEST ends the response. Padding is skipped; records
//! with request id 0 (management answers) are skipped; anything else is a
//! [`ProtocolError`]. The decoder holds at most one record header, the END_REQUEST
//! body, the script's head (up to [`cgi::MAX_CGI_HEAD`]) and one STDERR line.

use super::cgi::{self, Dialect, Vars};
use super::{Decoded, Event, MemberCodec, Outgoing, ProtocolError, Sink};

const VERSION: u8 = 1;
const BEGIN_REQUEST: u8 = 1;
const END_REQUEST: u8 = 3;
const PARAMS: u8 = 4;
const STDIN: u8 = 5;
const STDOUT: u8 = 6;
const STDERR: u8 = 7;
const RESPONDER: u16 = 1;
const KEEP_CONN: u8 = 1;
/// The one request id used on a connection.
const REQUEST_ID: u16 = 1;
/// Most content one record carries.
const MAX_CONTENT: usize = 65535;
/// Longest STDERR line kept for the log; the rest of a longer line is cut.
const MAX_STDERR_LINE: usize = 4096;
/// Largest chunked request body held to learn its length (httpd spools it to
/// learn CONTENT_LENGTH, which php-fpm needs); past it the codec reports
/// [`FcgiCodec::spool_overflowed`] and the exchange answers 413.
pub const SPOOL_LIMIT: usize = 16 * 1024 * 1024;

/// Where the decoder is in the member's byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Read {
    /// Between records: `have` bytes of the next 8-byte header are in `header`.
    Header { have: usize },
    /// Inside a record's content: `left` bytes, then `padding`.
    Content {
        kind: u8,
        left: usize,
        padding: usize,
    },
    /// Skipping padding.
    Padding { left: usize },
    /// END_REQUEST seen and its padding skipped.
    Done,
}

/// One FastCGI member connection's codec.
#[derive(Debug)]
pub struct FcgiCodec {
    /// The member was asked to keep the connection (KEEP_CONN): the request's
    /// `keep` (a FastCGI member is pooled only with `enablereuse=on`).
    keep_conn: bool,
    vars: Vars,
    read: Read,
    header: [u8; 8],
    end_body: [u8; 8],
    end_have: usize,
    /// The script's head while it is incomplete.
    head: Vec<u8>,
    head_done: bool,
    head_request: bool,
    /// The response has no body (HEAD, 204, 304): STDOUT after the head is dropped.
    drop_body: bool,
    stderr: Vec<u8>,
    /// The member as the log names it (`fcgi://127.0.0.1:9000`).
    member: String,
    /// A chunked request body held until its end (PARAMS wait for its length).
    spool: Option<Vec<u8>>,
    spool_overflowed: bool,
}

/// The codec's strings go back to the worker's free lists.
impl Drop for FcgiCodec {
    fn drop(&mut self) {
        crate::recycle::give_string(std::mem::take(&mut self.member));
        crate::recycle::give_bytes(std::mem::take(&mut self.head));
        if let Some(spool) = self.spool.take() {
            crate::recycle::give_bytes(spool);
        }
    }
}

impl Default for FcgiCodec {
    fn default() -> Self {
        FcgiCodec::new()
    }
}

impl FcgiCodec {
    pub fn new() -> FcgiCodec {
        FcgiCodec {
            keep_conn: false,
            vars: Vars::default(),
            read: Read::Header { have: 0 },
            header: [0; 8],
            end_body: [0; 8],
            end_have: 0,
            head: Vec::new(),
            head_done: false,
            head_request: false,
            drop_body: false,
            stderr: Vec::new(),
            member: String::new(),
            spool: None,
            spool_overflowed: false,
        }
    }

    /// The chunked request body outgrew [`SPOOL_LIMIT`]: nothing was sent to
    /// the member; the client gets 413.
    pub fn spool_overflowed(&self) -> bool {
        self.spool_overflowed
    }

    /// The variables of the last request (for tests and `ProxyFCGISetEnvIf`).
    pub fn vars(&self) -> &Vars {
        &self.vars
    }

    fn send_params(&mut self, out: &mut impl Sink) {
        let vars = &self.vars;
        crate::recycle::with_bytes(|pairs| {
            for (name, value) in vars.iter() {
                put_length(pairs, name.len());
                put_length(pairs, value.len());
                pairs.extend_from_slice(name.as_bytes());
                pairs.extend_from_slice(value);
            }
            for piece in pairs.chunks(MAX_CONTENT) {
                record(out, PARAMS, piece);
            }
        });
        record(out, PARAMS, &[]);
    }

    fn log_stderr(&mut self, last: bool) {
        while let Some(nl) = self.stderr.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.stderr.drain(..=nl).collect();
            self.log_line(&line[..line.len() - 1]);
        }
        if last && !self.stderr.is_empty() {
            let line = std::mem::take(&mut self.stderr);
            self.log_line(&line);
        }
    }

    fn log_line(&self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.is_empty() {
            log::error!(
                "FastCGI member {}: the script wrote to stderr: {}",
                self.member,
                String::from_utf8_lossy(line).escape_debug()
            );
        }
    }

    /// STDOUT content `data` (a slice of the input starting at `at`): the
    /// event it makes, and how much of it was used.
    fn stdout(&mut self, data: &[u8]) -> Result<(usize, Option<Event>), ProtocolError> {
        if self.head_done {
            if self.drop_body {
                return Ok((data.len(), None));
            }
            return Ok((data.len(), Some(Event::Body(0..data.len()))));
        }
        let before = self.head.len();
        let parsed = if before == 0 {
            cgi::parse_head(data, self.head_request)?
        } else {
            self.head.extend_from_slice(data);
            cgi::parse_head(&self.head, self.head_request)?
        };
        match parsed {
            Some(head) => {
                // The head ends inside this piece: its end lies past what was held.
                let used = head.len - before;
                self.head.clear();
                self.head_done = true;
                self.drop_body = head.framing == crate::http::Framing::None;
                Ok((used, Some(Event::Head(head))))
            }
            None => {
                if before == 0 {
                    self.head.extend_from_slice(data);
                }
                Ok((data.len(), None))
            }
        }
    }
}

/// A FastCGI name or value length: one byte below 128, else four with the top bit set.
fn put_length(out: &mut Vec<u8>, n: usize) {
    if n < 128 {
        out.push(n as u8);
    } else {
        out.extend_from_slice(&((n as u32) | 0x8000_0000).to_be_bytes());
    }
}

fn record(out: &mut impl Sink, kind: u8, content: &[u8]) {
    let len = content.len() as u16;
    let [hi, lo] = len.to_be_bytes();
    let [id_hi, id_lo] = REQUEST_ID.to_be_bytes();
    out.put(&[VERSION, kind, id_hi, id_lo, hi, lo, 0, 0]);
    out.put(content);
}

impl MemberCodec for FcgiCodec {
    fn start(&mut self, req: &Outgoing<'_>, out: &mut impl Sink) {
        self.keep_conn = req.keep;
        self.read = Read::Header { have: 0 };
        self.end_have = 0;
        self.head.clear();
        self.head_done = false;
        self.drop_body = false;
        self.head_request = req.head.is_head();
        self.stderr.clear();
        self.spool_overflowed = false;
        let site = req.cgi.expect("a FastCGI request carries its CGI facts");
        if self.member.capacity() == 0 {
            self.member = crate::recycle::string();
        }
        self.member.clear();
        self.member.push_str(site.member);
        cgi::build(req, site, Dialect::Fcgi, &mut self.vars);
        cgi::apply_fixups(req, site.fixups, &mut self.vars);
        let [role_hi, role_lo] = RESPONDER.to_be_bytes();
        let flags = if self.keep_conn { KEEP_CONN } else { 0 };
        record(
            out,
            BEGIN_REQUEST,
            &[role_hi, role_lo, flags, 0, 0, 0, 0, 0],
        );
        if req.body_length.is_none() {
            // PARAMS go out with the length once the body is complete.
            let mut spool = self.spool.take().unwrap_or_default();
            spool.clear();
            self.spool = Some(spool);
            return;
        }
        self.spool = None;
        self.send_params(out);
    }

    fn refused(&self) -> Option<super::Refusal> {
        self.spool_overflowed
            .then_some(super::Refusal::BodyTooLarge)
    }

    fn body_room(&self) -> usize {
        usize::MAX
    }

    fn body(&mut self, data: &[u8], out: &mut impl Sink) {
        if let Some(spool) = &mut self.spool {
            if spool.len() + data.len() > SPOOL_LIMIT {
                self.spool_overflowed = true;
                spool.clear();
            } else if !self.spool_overflowed {
                spool.extend_from_slice(data);
            }
            return;
        }
        for piece in data.chunks(MAX_CONTENT) {
            record(out, STDIN, piece);
        }
    }

    fn end_body(&mut self, out: &mut impl Sink) {
        if let Some(spool) = self.spool.take() {
            if self.spool_overflowed {
                self.spool = Some(spool);
                return;
            }
            self.vars.set_display("CONTENT_LENGTH", spool.len());
            self.send_params(out);
            for piece in spool.chunks(MAX_CONTENT) {
                record(out, STDIN, piece);
            }
            self.spool = Some(spool);
        }
        record(out, STDIN, &[]);
    }

    fn decode(&mut self, input: &[u8], _out: &mut impl Sink) -> Result<Decoded, ProtocolError> {
        let mut at = 0;
        loop {
            match self.read {
                Read::Done => {
                    return Ok(Decoded {
                        used: at,
                        event: Event::End {
                            reusable: self.keep_conn,
                        },
                    })
                }
                Read::Header { have } => {
                    let take = (8 - have).min(input.len() - at);
                    self.header[have..have + take].copy_from_slice(&input[at..at + take]);
                    at += take;
                    if have + take < 8 {
                        self.read = Read::Header { have: have + take };
                        return Ok(Decoded {
                            used: at,
                            event: Event::Pending,
                        });
                    }
                    self.read = self.begin_record()?;
                }
                Read::Padding { left } => {
                    let take = left.min(input.len() - at);
                    at += take;
                    if take < left {
                        self.read = Read::Padding { left: left - take };
                        return Ok(Decoded {
                            used: at,
                            event: Event::Pending,
                        });
                    }
                    self.read = if self.end_have == 8 {
                        Read::Done
                    } else {
                        Read::Header { have: 0 }
                    };
                }
                Read::Content {
                    kind,
                    left,
                    padding,
                } => {
                    if left == 0 {
                        if kind == STDERR {
                            self.log_stderr(true);
                        }
                        if kind == END_REQUEST {
                            self.end_request()?;
                        }
                        self.read = Read::Padding { left: padding };
                        continue;
                    }
                    if at == input.len() {
                        return Ok(Decoded {
                            used: at,
                            event: Event::Pending,
                        });
                    }
                    let take = left.min(input.len() - at);
                    let data = &input[at..at + take];
                    let (used, event) = match kind {
                        STDOUT => self.stdout(data)?,
                        STDERR => {
                            let room = MAX_STDERR_LINE.saturating_sub(self.stderr.len());
                            self.stderr.extend_from_slice(&data[..take.min(room)]);
                            if take > room {
                                self.stderr.push(b'\n');
                            }
                            self.log_stderr(false);
                            (take, None)
                        }
                        END_REQUEST => {
                            let n = take.min(8 - self.end_have);
                            self.end_body[self.end_have..self.end_have + n]
                                .copy_from_slice(&data[..n]);
                            self.end_have += n;
                            (take, None)
                        }
                        _ => (take, None),
                    };
                    self.read = Read::Content {
                        kind,
                        left: left - used,
                        padding,
                    };
                    if let Some(event) = event {
                        let event = match event {
                            Event::Body(r) => Event::Body(r.start + at..r.end + at),
                            e => e,
                        };
                        return Ok(Decoded {
                            used: at + used,
                            event,
                        });
                    }
                    at += used;
                }
            }
        }
    }

    fn eof(&mut self) -> Result<Event, ProtocolError> {
        match self.read {
            Read::Done => Ok(Event::End {
                reusable: self.keep_conn,
            }),
            _ => Err(ProtocolError(
                "the FastCGI member closed the connection before END_REQUEST".into(),
            )),
        }
    }
}

impl FcgiCodec {
    /// Checks the record header in `self.header`; the state its content starts.
    fn begin_record(&mut self) -> Result<Read, ProtocolError> {
        let h = self.header;
        if h[0] != VERSION {
            return Err(ProtocolError(format!(
                "the FastCGI member sent a record of version {} (expected 1)",
                h[0]
            )));
        }
        let kind = h[1];
        let id = u16::from_be_bytes([h[2], h[3]]);
        let left = usize::from(u16::from_be_bytes([h[4], h[5]]));
        let padding = usize::from(h[6]);
        let kind = match (id, kind) {
            // A management record (GET_VALUES_RESULT, UNKNOWN_TYPE): skipped.
            (0, _) => 0,
            (REQUEST_ID, STDOUT | STDERR) => kind,
            (REQUEST_ID, END_REQUEST) if left >= 8 => kind,
            (REQUEST_ID, END_REQUEST) => {
                return Err(ProtocolError(format!(
                    "the FastCGI member sent an END_REQUEST of {left} bytes (expected 8)"
                )))
            }
            (REQUEST_ID, other) => {
                return Err(ProtocolError(format!(
                    "the FastCGI member sent a record of type {other}, not STDOUT, STDERR or END_REQUEST"
                )))
            }
            (other, _) => {
                return Err(ProtocolError(format!(
                    "the FastCGI member answered request id {other} (it was sent 1)"
                )))
            }
        };
        Ok(Read::Content {
            kind,
            left,
            padding,
        })
    }

    /// END_REQUEST is complete: the member's protocol status must be
    /// REQUEST_COMPLETE and the script must have sent its head.
    fn end_request(&mut self) -> Result<(), ProtocolError> {
        self.log_stderr(true);
        let status = self.end_body[4];
        let why = match status {
            0 => None,
            1 => Some("cannot multiplex connections (CANT_MPX_CONN)"),
            2 => Some("is overloaded (OVERLOADED)"),
            3 => Some("does not play the responder role (UNKNOWN_ROLE)"),
            _ => Some("ended the request with an unknown protocol status"),
        };
        if let Some(why) = why {
            return Err(ProtocolError(format!("the FastCGI member {why}")));
        }
        if !self.head_done {
            return Err(ProtocolError(if self.head.is_empty() {
                "the FastCGI member ended the request without any output".into()
            } else {
                "the FastCGI member ended the request inside the script's response head".into()
            }));
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "fcgi_tests.rs"]
mod tests;
