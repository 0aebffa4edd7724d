//! The member side's state: the connection (its codec, buffers and
//! readiness), the exchange's [`Phase`], and the response body's way from the
//! member's buffer to the client's.

use std::io;
use std::time::Instant;

use super::super::buffer::{Buffer, Io};
use super::super::conn::BODY_BUFFER;
use super::super::fault::{Detour, Fault, MemberFault};
use super::super::Ctx;
use crate::codec::{Codec, Event, MemberCodec, ProtocolError};
use crate::http::{ChunkEncoder, ResponseHead};
use crate::pool::{MemberStream, Upstream};

/// One connection to a member, while an exchange holds it.
pub(super) struct MemberConn {
    /// The member's protocol on this connection (a fresh one per exchange).
    pub(super) codec: Codec,
    /// The codec was told the request body is complete.
    pub(super) body_ended: bool,
    pub(super) stream: MemberStream,
    /// The connection's id in the pool (its poll token derives from it).
    pub(super) id: usize,
    /// Taken from the pool (it may have been closed by the member meanwhile).
    pub(super) reused: bool,
    /// The member's FIN was reported: read to EOF even after a short read.
    pub(super) hup: bool,
    pub(super) readable: bool,
    pub(super) writable: bool,
    /// No more bytes will come: the member closed, or reading failed (`error`).
    pub(super) eof: bool,
    /// Why reading from the member failed (a reset, a TLS error): the response
    /// ends there, and never cleanly.
    pub(super) error: Option<io::Error>,
    pub(super) input: Buffer,
    pub(super) output: Buffer,
}

/// The response as it goes to the client.
pub(super) struct ResponseState {
    /// Re-chunk the body for the client.
    pub(super) chunked_out: bool,
    pub(super) finished: bool,
    /// The member's codec said at the end that the connection may carry
    /// another request.
    pub(super) reusable: bool,
    /// The member's head (its headers are what the access log's `%{…}o` reads).
    pub(super) head: ResponseHead,
    /// Bytes of this response queued for the client (head, body, framing):
    /// while the client's buffer still holds them all, nothing of it reached
    /// the client, and a fault can still be answered with an error page.
    pub(super) queued: usize,
}

/// Where an exchange is, with what that phase needs. The member it holds
/// (`Exchange::member`: counted busy from its choice to the end) spans the
/// phases from `Waiting` on, so it stays beside the phase.
pub(super) enum Phase {
    /// No member chosen yet, or the last one failed before anything reached
    /// it. `wait_until`: none is usable and the balancer's `timeout` lets the
    /// request wait until then (choosing again every timeout/100).
    Choosing { wait_until: Option<Instant> },
    /// A member is chosen (`member`, with the request's `target` on it) but no
    /// connection to it can be had yet: its pool is full (`max`; given up at
    /// `acquire_until`), or opening one failed for want of something local
    /// (tried again every `LOCAL_RETRY` until `local_until`, the wait counted
    /// in `Ctx::local_waiters`).
    Waiting {
        member: usize,
        target: String,
        acquire_until: Option<Instant>,
        local_until: Option<Instant>,
    },
    /// A new member connection is being opened, the request queued on it.
    Connecting(MemberConn),
    /// Connected: the request goes out and the response head is awaited.
    Sending(MemberConn),
    /// The response head went to the client's buffer; its body follows
    /// (while the rest of the request body may still go out).
    Body(MemberConn, ResponseState),
    /// After a 101: bytes flow both ways untouched until both sides close.
    /// `member_write_shut`: the client closed its side, and so did we ours
    /// to the member.
    Tunnel {
        conn: MemberConn,
        response: ResponseState,
        member_write_shut: bool,
    },
    /// The member connection is gone (handed back or closed); the response,
    /// if one began, stays for the access log.
    Done(Option<ResponseState>),
}

impl Phase {
    pub(super) fn conn_mut(&mut self) -> Option<&mut MemberConn> {
        match self {
            Phase::Connecting(c) | Phase::Sending(c) | Phase::Body(c, _) => Some(c),
            Phase::Tunnel { conn, .. } => Some(conn),
            Phase::Choosing { .. } | Phase::Waiting { .. } | Phase::Done(_) => None,
        }
    }

    pub(super) fn response(&self) -> Option<&ResponseState> {
        match self {
            Phase::Body(_, r) | Phase::Tunnel { response: r, .. } | Phase::Done(Some(r)) => Some(r),
            _ => None,
        }
    }

    /// Takes the member connection out; the exchange is then `Done` when a
    /// response began, else back to `Choosing`.
    pub(super) fn take_conn(&mut self) -> Option<MemberConn> {
        let (conn, response) = match std::mem::replace(self, Phase::Done(None)) {
            Phase::Connecting(c) | Phase::Sending(c) => (Some(c), None),
            Phase::Body(c, r) => (Some(c), Some(r)),
            Phase::Tunnel { conn, response, .. } => (Some(conn), Some(response)),
            Phase::Done(r) => (None, r),
            other => {
                *self = other;
                return None;
            }
        };
        *self = match response {
            Some(r) => Phase::Done(Some(r)),
            None => Phase::Choosing { wait_until: None },
        };
        conn
    }
}

/// What [`walk_body`] did.
pub(super) struct Walked {
    pub(super) moved: bool,
    /// Why the body cannot go on: a framing error, a read error, or a close
    /// short of what the framing announced.
    pub(super) fault: Option<String>,
}

/// Moves response body bytes from the member's buffer to the client's through
/// the member's codec (re-chunked when the client gets chunks) and ends the
/// body where the codec says it ends. A body ends cleanly only by its
/// protocol, or by the member's close when the protocol allows it: never by a
/// read error.
pub(super) fn walk_body(
    resp: &mut ResponseState,
    conn: &mut MemberConn,
    output: &mut Buffer,
    body_bytes: &mut u64,
) -> Walked {
    let mut w = Walked {
        moved: false,
        fault: None,
    };
    while !resp.finished {
        // (With no room left the codec still reports an end it has reached.)
        let room = BODY_BUFFER.saturating_sub(output.len());
        let avail = &conn.input.data()[..conn.input.len().min(room)];
        let queued = conn.output.len();
        let decoded = match conn.codec.decode(avail, &mut conn.output) {
            Ok(d) => d,
            Err(e) => {
                w.fault = Some(e.to_string());
                return w;
            }
        };
        w.moved |= decoded.used > 0 || conn.output.len() != queued;
        match decoded.event {
            Event::Pending => {
                conn.input.consume(decoded.used);
                break;
            }
            Event::Body(data) => {
                *body_bytes += data.len() as u64;
                let before = output.len();
                if resp.chunked_out {
                    put_chunk(output, &avail[data]);
                } else {
                    output.extend(&avail[data]);
                }
                resp.queued += output.len() - before;
                conn.input.consume(decoded.used);
            }
            Event::End { reusable } => {
                conn.input.consume(decoded.used);
                end_body(resp, output, reusable);
                w.moved = true;
            }
            Event::Head(_) | Event::Interim(_) => {
                w.fault = Some("a second response head within a body".into());
                return w;
            }
        }
    }
    if !resp.finished && conn.eof && conn.input.is_empty() {
        if let Some(e) = &conn.error {
            w.fault = Some(format!("response body: reading from the member: {e}"));
            return w;
        }
        match conn.codec.eof() {
            Ok(Event::End { reusable }) => {
                end_body(resp, output, reusable);
                w.moved = true;
            }
            Ok(_) => {
                w.fault = Some("closed the connection within a response".into());
            }
            Err(e) => w.fault = Some(e.to_string()),
        }
    }
    w
}

/// The response body is complete: the client's framing ends it.
fn end_body(resp: &mut ResponseState, output: &mut Buffer, reusable: bool) {
    resp.finished = true;
    resp.reusable = reusable;
    if resp.chunked_out {
        output.extend(ChunkEncoder::LAST);
        resp.queued += ChunkEncoder::LAST.len();
    }
}

/// A member's protocol error as the exchange's fault (502).
pub(super) fn member_broke(name: &str, e: &ProtocolError) -> Detour {
    Fault::Member(MemberFault::BadResponse, format!("member {name}: {e}")).into()
}

/// Appends `data` as one chunk (nothing for empty data: that would end the body).
fn put_chunk(out: &mut Buffer, data: &[u8]) {
    if data.is_empty() {
        return;
    }
    let mut size = [0u8; 18];
    out.extend(ChunkEncoder::head(&mut size, data.len()));
    out.extend(data);
    out.extend(b"\r\n");
}

/// Notes in this process's row of the scoreboard that it holds (or no longer
/// holds) a request on a member, so the supervisor can give the member's `busy`
/// back if this process dies.
pub(super) fn hold(ctx: &Ctx, member_slot: usize, taken: bool) {
    let held = ctx.scoreboard.held(ctx.slot, member_slot);
    if taken {
        held.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    } else {
        let _ = held.fetch_update(
            std::sync::atomic::Ordering::Relaxed,
            std::sync::atomic::Ordering::Relaxed,
            |n| n.checked_sub(1),
        );
    }
}

impl MemberConn {
    /// The connection, for the pool.
    pub(super) fn upstream(self) -> Upstream {
        Upstream {
            stream: self.stream,
            id: self.id,
        }
    }

    /// Writes what is queued for the member while it takes it; counts the bytes.
    pub(super) fn send(&mut self, sent: &mut u64) -> io::Result<bool> {
        let mut progress = false;
        if self.writable && self.output.is_empty() && self.stream.tls_pending() {
            // TLS records of plaintext already taken still wait for the socket.
            if !self.stream.flush_tls()? {
                self.writable = false;
            }
        }
        while self.writable && !self.output.is_empty() {
            match self.output.write_to(&mut self.stream)? {
                Io::Done(n) => *sent += n as u64,
                Io::Short(n) => {
                    *sent += n as u64;
                    self.writable = false;
                }
                Io::WouldBlock | Io::Eof => {
                    self.writable = false;
                    continue;
                }
            }
            progress = true;
        }
        Ok(progress)
    }

    /// Reads from the member while there is room; a read error ends the input
    /// like a close, and is kept in `error` for the fault it causes.
    pub(super) fn receive(&mut self, received: &mut u64) -> bool {
        let mut progress = false;
        while self.readable && !self.eof && self.input.len() < BODY_BUFFER {
            match self.input.read_from(&mut self.stream, BODY_BUFFER) {
                Ok(Io::Done(n)) => *received += n as u64,
                Ok(Io::Short(n)) => {
                    *received += n as u64;
                    // Drained for now, unless its FIN is pending (then read on to EOF).
                    // (TLS: a short read says nothing of the socket; only
                    // WouldBlock does.)
                    self.readable = self.hup || self.stream.is_tls();
                }
                Ok(Io::Eof) => self.eof = true,
                Ok(Io::WouldBlock) => {
                    self.readable = false;
                    if self.stream.is_tls() {
                        // The handshake may have ended and released plaintext the
                        // socket then took: try writing again.
                        self.writable = true;
                    }
                    continue;
                }
                Err(e) => {
                    self.error = Some(e);
                    self.eof = true;
                }
            }
            progress = true;
        }
        progress
    }
}

/// Hands a member connection back to the pool (or closes it) and queues the wake-up
/// of a request waiting for room at that member.
pub(super) fn release_to_pool(ctx: &mut Ctx, member: usize, up: Option<Upstream>, reusable: bool) {
    if let Some(w) = ctx.pool.release(member, up, reusable, ctx.now) {
        ctx.wake.push(w);
    }
}
