//! One client connection's request and response, shared by the load and
//! burst engines: connect, write the request, read and parse the response,
//! each step as far as it goes without blocking.

use crate::load::ErrorCounts;
use crate::response::{ParseError, Response, ResponseParser};
use mio::net::TcpStream;
use mio::{Interest, Poll, Token};
use std::io::{self, ErrorKind, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Shared read buffer: responses are parsed as they arrive, never kept.
pub const READ_BUFFER: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Connecting,
    Writing,
    Reading,
}

/// A connection and the timestamps of its current request.
pub struct Exchange {
    pub stream: TcpStream,
    pub phase: Phase,
    pub written: usize,
    pub parser: ResponseParser,
    /// When this request started (connect start if it opened the connection).
    pub started: Instant,
    /// Connect duration, if this request opened the connection.
    pub connect: Option<Duration>,
    /// When writing the request began (the connect completed).
    pub write_start: Instant,
    pub sent: Instant,
    pub first_byte: Option<Instant>,
}

/// Which step failed, to count it.
pub enum Failure {
    Connect(io::Error),
    Write(io::Error),
    Read(io::Error),
    Parse(ParseError),
    Timeout,
}

impl Failure {
    /// Count the failure under its step in `errors`.
    pub fn tally(&self, errors: &mut ErrorCounts) {
        match self {
            Failure::Connect(_) => errors.connect += 1,
            Failure::Write(_) => errors.write += 1,
            Failure::Read(_) | Failure::Parse(_) => errors.read += 1,
            Failure::Timeout => errors.timeout += 1,
        }
    }
}

/// What a step left the connection wanting.
pub enum Step {
    /// Wait for the next readiness event.
    Wait,
    /// The response is complete.
    Done(Response),
    Fail(Failure),
}

impl Exchange {
    /// Start a connect to `addr`, registered in `poll` under `slot`.
    /// Out of ports (EADDRNOTAVAIL) or descriptors (EMFILE) fail here.
    pub fn connect(
        poll: &Poll,
        addr: SocketAddr,
        slot: usize,
        started: Instant,
    ) -> io::Result<Self> {
        let mut stream = TcpStream::connect(addr)?;
        let _ = stream.set_nodelay(true);
        poll.registry().register(
            &mut stream,
            Token(slot),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        Ok(Exchange {
            stream,
            phase: Phase::Connecting,
            written: 0,
            parser: ResponseParser::new(false),
            started,
            connect: None,
            write_start: started,
            sent: started,
            first_byte: None,
        })
    }

    /// Move the connection as far as it can go without blocking.
    pub fn advance(&mut self, request: &[u8], buffer: &mut [u8]) -> Step {
        loop {
            match self.phase {
                Phase::Connecting => {
                    match self.stream.take_error() {
                        Ok(None) => {}
                        Ok(Some(e)) | Err(e) => return Step::Fail(Failure::Connect(e)),
                    }
                    match self.stream.peer_addr() {
                        Ok(_) => {}
                        Err(e) if e.kind() == ErrorKind::NotConnected => return Step::Wait,
                        Err(e) => return Step::Fail(Failure::Connect(e)),
                    }
                    let now = Instant::now();
                    self.connect = Some(now - self.started);
                    self.write_start = now;
                    self.phase = Phase::Writing;
                }
                Phase::Writing => {
                    while self.written < request.len() {
                        match self.stream.write(&request[self.written..]) {
                            Ok(0) => {
                                return Step::Fail(Failure::Write(ErrorKind::WriteZero.into()))
                            }
                            Ok(n) => self.written += n,
                            Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Wait,
                            Err(e) if e.kind() == ErrorKind::Interrupted => {}
                            Err(e) => return Step::Fail(Failure::Write(e)),
                        }
                    }
                    self.sent = Instant::now();
                    self.phase = Phase::Reading;
                }
                Phase::Reading => return self.read(buffer),
            }
        }
    }

    fn read(&mut self, buffer: &mut [u8]) -> Step {
        loop {
            match self.stream.read(buffer) {
                Ok(0) => {
                    return match self.parser.eof() {
                        Ok(response) => Step::Done(response),
                        // Closed before answering: a keep-alive race or a refusal.
                        Err(_) if self.parser.is_idle() => {
                            Step::Fail(Failure::Read(io::Error::new(
                                ErrorKind::UnexpectedEof,
                                "closed before any response byte",
                            )))
                        }
                        Err(e) => Step::Fail(Failure::Parse(e)),
                    };
                }
                Ok(n) => {
                    if self.first_byte.is_none() {
                        self.first_byte = Some(Instant::now());
                    }
                    match self.parser.feed(&buffer[..n]) {
                        Ok(fed) => {
                            if let Some(response) = fed.done {
                                // Bytes after the response: we never pipeline,
                                // so the server sent more than it should.
                                if fed.consumed < n {
                                    return Step::Fail(Failure::Parse(ParseError::BadHead(
                                        "bytes after the end of the response".into(),
                                    )));
                                }
                                return Step::Done(response);
                            }
                        }
                        Err(e) => return Step::Fail(Failure::Parse(e)),
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Step::Wait,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Step::Fail(Failure::Read(e)),
            }
        }
    }

    /// Ready the connection for its next request (keep-alive), started `now`.
    pub fn reuse(&mut self, now: Instant) {
        self.phase = Phase::Writing;
        self.written = 0;
        self.connect = None;
        self.started = now;
        self.write_start = now;
        self.first_byte = None;
    }

    /// Deregister and close the connection.
    pub fn close(mut self, poll: &Poll) {
        let _ = poll.registry().deregister(&mut self.stream);
    }
}

/// A duration in nanoseconds, saturating.
pub fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
