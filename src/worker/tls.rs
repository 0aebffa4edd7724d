//! A client connection's TLS (a listener with `SSLEngine On`): rustls between the
//! socket and the connection's plaintext buffers. `conn.rs` reads plaintext through
//! [`TlsRead`] (which pulls records from the socket as it needs them) and hands
//! plaintext to rustls, whose records [`flush`] writes to the socket when it is
//! writable, even when no plaintext is left to send.

use std::io::{self, Read};

use mio::net::TcpStream;
use rustls::ServerConnection;

/// The TLS state of a client connection.
pub(super) struct ClientTls {
    pub conn: ServerConnection,
    /// `close_notify` was queued.
    pub closing: bool,
}

impl ClientTls {
    pub fn new(config: &std::sync::Arc<rustls::ServerConfig>) -> Option<Box<ClientTls>> {
        match ServerConnection::new(config.clone()) {
            Ok(conn) => Some(Box::new(ClientTls {
                conn,
                closing: false,
            })),
            Err(e) => {
                log::error!("starting a TLS connection: {e}");
                None
            }
        }
    }

    /// TLS records wait for the socket.
    pub fn pending(&self) -> bool {
        self.conn.wants_write()
    }

    /// Queues `close_notify` (once) and sends what can be sent.
    pub fn close(&mut self, sock: &mut TcpStream) {
        if !self.closing {
            self.closing = true;
            self.conn.send_close_notify();
        }
        let _ = flush(&mut self.conn, sock);
    }
}

/// Writes pending TLS records to `sock`: Ok(true) when none is left, Ok(false) when
/// the socket is full.
pub(super) fn flush(tls: &mut ServerConnection, sock: &mut TcpStream) -> io::Result<bool> {
    while tls.wants_write() {
        match tls.write_tls(sock) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Plaintext from a TLS client: `read` returns what rustls has decrypted, reading and
/// processing records from the socket when it has none (answering the handshake on the
/// way); WouldBlock only when the socket has nothing more. 0 is the end: the client's
/// `close_notify`, or the socket's EOF.
pub(super) struct TlsRead<'a> {
    pub tls: &'a mut ServerConnection,
    pub sock: &'a mut TcpStream,
}

impl Read for TlsRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.tls.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            match self.tls.read_tls(self.sock) {
                Ok(0) => return Ok(0),
                Ok(_) => {}
                Err(e) => return Err(e),
            }
            if let Err(e) = self.tls.process_new_packets() {
                // Send the alert rustls queued, then give up on the connection.
                let _ = flush(self.tls, self.sock);
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
            // Handshake messages (or a key update) for the client.
            flush(self.tls, self.sock)?;
        }
    }
}
