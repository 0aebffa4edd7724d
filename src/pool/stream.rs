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

    /// Whether a non-blocking connect finished: Ok(true) connected, Ok(false)
    /// still going, Err why it failed.
    pub fn connect_result(&self) -> io::Result<bool> {
        let (error, peer) = match self {
            MemberStream::Tcp(s) => (s.take_error()?, s.peer_addr().map(drop)),
            MemberStream::Unix(s) => (s.take_error()?, s.peer_addr().map(drop)),
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

    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            MemberStream::Tcp(s) => s.shutdown(how),
            MemberStream::Unix(s) => s.shutdown(how),
        }
    }

    /// A pooled connection is alive when a peek would block: no EOF, no stray bytes.
    pub fn is_alive(&self) -> bool {
        let mut b = [MaybeUninit::<u8>::uninit(); 1];
        let peeked = match self {
            MemberStream::Tcp(s) => socket2::SockRef::from(s).peek(&mut b),
            MemberStream::Unix(s) => socket2::SockRef::from(s).peek(&mut b),
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
        }
    }
}

impl Write for MemberStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            MemberStream::Tcp(s) => s.write(buf),
            MemberStream::Unix(s) => s.write(buf),
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
        }
    }

    fn reregister(&mut self, r: &Registry, t: Token, i: Interest) -> io::Result<()> {
        match self {
            MemberStream::Tcp(s) => s.reregister(r, t, i),
            MemberStream::Unix(s) => s.reregister(r, t, i),
        }
    }

    fn deregister(&mut self, r: &Registry) -> io::Result<()> {
        match self {
            MemberStream::Tcp(s) => s.deregister(r),
            MemberStream::Unix(s) => s.deregister(r),
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
