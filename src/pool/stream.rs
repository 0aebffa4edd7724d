//! A connection to a member: TCP, or a Unix domain socket for a member written
//! `unix:/path|http://host/` (httpd's syntax). Both are non-blocking mio
//! streams; the worker reads, writes, registers and pools them alike.

use std::io::{self, Read, Write};
use std::mem::MaybeUninit;
use std::net::{Shutdown, SocketAddr};
use std::path::Path;

use mio::net::{TcpStream, UnixStream};
use mio::{event, Interest, Registry, Token};

pub enum MemberStream {
    Tcp(TcpStream),
    Unix(UnixStream),
    /// An `https://` member: rustls over TCP. Reads give plaintext; a write hands
    /// plaintext to rustls and sends what the socket takes ([`MemberStream::flush_tls`]
    /// sends the rest when it is writable again).
    Tls(Box<TlsMember>),
}

/// The TCP socket and TLS state of an `https://` member connection.
pub struct TlsMember {
    sock: TcpStream,
    conn: rustls::ClientConnection,
}

impl MemberStream {
    /// Starts a non-blocking connect: to the socket file when `socket` is set,
    /// else to `addr`. TCP gets TCP_NODELAY, and SO_KEEPALIVE when `keepalive`.
    pub fn connect(
        socket: Option<&Path>,
        addr: Option<SocketAddr>,
        keepalive: bool,
    ) -> io::Result<MemberStream> {
        if let Some(path) = socket {
            return UnixStream::connect(path).map(MemberStream::Unix);
        }
        let addr = addr.ok_or_else(|| io::Error::other("the member has no address"))?;
        let s = TcpStream::connect(addr)?;
        if keepalive {
            socket2::SockRef::from(&s).set_keepalive(true)?;
        }
        let _ = s.set_nodelay(true);
        Ok(MemberStream::Tcp(s))
    }

    /// Starts TLS on a TCP connection (before any byte went through it): `name` is
    /// sent as SNI and checked against the member's certificate.
    pub fn start_tls(
        self,
        config: &std::sync::Arc<rustls::ClientConfig>,
        name: rustls::pki_types::ServerName<'static>,
    ) -> io::Result<MemberStream> {
        match self {
            MemberStream::Tcp(sock) => {
                let conn = rustls::ClientConnection::new(config.clone(), name)
                    .map_err(io::Error::other)?;
                Ok(MemberStream::Tls(Box::new(TlsMember { sock, conn })))
            }
            _ => Err(io::Error::other("TLS is only spoken over TCP")),
        }
    }

    /// TLS: reads give plaintext, so a short read says nothing of the socket.
    pub fn is_tls(&self) -> bool {
        matches!(self, MemberStream::Tls(_))
    }

    /// TLS records wait for the socket.
    pub fn tls_pending(&self) -> bool {
        matches!(self, MemberStream::Tls(t) if t.conn.wants_write())
    }

    /// Sends pending TLS records: Ok(true) when none is left.
    pub fn flush_tls(&mut self) -> io::Result<bool> {
        match self {
            MemberStream::Tls(t) => crate::tls::flush(&mut t.conn, &mut t.sock),
            _ => Ok(true),
        }
    }

    /// Whether a non-blocking connect finished: Ok(true) connected, Ok(false)
    /// still going, Err why it failed.
    pub fn connect_result(&self) -> io::Result<bool> {
        let (error, peer) = match self {
            MemberStream::Tcp(s) => (s.take_error()?, s.peer_addr().map(drop)),
            MemberStream::Unix(s) => (s.take_error()?, s.peer_addr().map(drop)),
            MemberStream::Tls(t) => (t.sock.take_error()?, t.sock.peer_addr().map(drop)),
        };
        if let Some(e) = error {
            return Err(e);
        }
        match peer {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Shuts a side down (TLS: `close_notify` first when the write side is shut).
    pub fn shutdown(&mut self, how: Shutdown) -> io::Result<()> {
        match self {
            MemberStream::Tcp(s) => s.shutdown(how),
            MemberStream::Unix(s) => s.shutdown(how),
            MemberStream::Tls(t) => {
                if how != Shutdown::Read {
                    t.conn.send_close_notify();
                    let _ = crate::tls::flush(&mut t.conn, &mut t.sock);
                }
                t.sock.shutdown(how)
            }
        }
    }

    /// A pooled connection is alive when a peek would block: no EOF, no stray bytes.
    pub fn is_alive(&self) -> bool {
        let mut b = [MaybeUninit::<u8>::uninit(); 1];
        let peeked = match self {
            MemberStream::Tcp(s) => socket2::SockRef::from(s).peek(&mut b),
            MemberStream::Unix(s) => socket2::SockRef::from(s).peek(&mut b),
            // (A TLS 1.3 member's session tickets were read with the response.)
            MemberStream::Tls(t) => socket2::SockRef::from(&t.sock).peek(&mut b),
        };
        matches!(peeked, Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

impl From<TcpStream> for MemberStream {
    fn from(s: TcpStream) -> MemberStream {
        MemberStream::Tcp(s)
    }
}

impl Read for MemberStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            MemberStream::Tcp(s) => s.read(buf),
            MemberStream::Unix(s) => s.read(buf),
            MemberStream::Tls(t) => crate::tls::read_plain(&mut t.conn, &mut t.sock, buf),
        }
    }
}

impl Write for MemberStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            MemberStream::Tcp(s) => s.write(buf),
            MemberStream::Unix(s) => s.write(buf),
            MemberStream::Tls(t) => {
                // Records left from before go first: a full socket keeps the
                // plaintext with the caller.
                if !crate::tls::flush(&mut t.conn, &mut t.sock)? {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                let n = t.conn.writer().write(buf)?;
                crate::tls::flush(&mut t.conn, &mut t.sock)?;
                if n == 0 && !buf.is_empty() {
                    return Err(io::ErrorKind::WouldBlock.into());
                }
                Ok(n)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl event::Source for MemberStream {
    fn register(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            MemberStream::Tcp(s) => s.register(r, t, i),
            MemberStream::Unix(s) => s.register(r, t, i),
            MemberStream::Tls(x) => x.sock.register(r, t, i),
        }
    }

    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            MemberStream::Tcp(s) => s.reregister(r, t, i),
            MemberStream::Unix(s) => s.reregister(r, t, i),
            MemberStream::Tls(x) => x.sock.reregister(r, t, i),
        }
    }

    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        match self {
            MemberStream::Tcp(s) => s.deregister(r),
            MemberStream::Unix(s) => s.deregister(r),
            MemberStream::Tls(x) => x.sock.deregister(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn unix_members_connect_and_report_a_close() {
        let dir = std::env::temp_dir().join(format!("slotgate-stream-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("m.sock");
        let _ = std::fs::remove_file(&path);
        let l = UnixListener::bind(&path).unwrap();
        let s = MemberStream::connect(Some(&path), None, true).unwrap();
        assert!(s.connect_result().unwrap());
        let (server, _) = l.accept().unwrap();
        assert!(s.is_alive());
        drop(server);
        assert!(!s.is_alive());
        let missing = dir.join("none.sock");
        assert!(MemberStream::connect(Some(&missing), None, false).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
