//! A client connection's TLS (a listener with `SSLEngine On`): rustls between the
//! socket and the connection's plaintext buffers. `conn.rs` reads plaintext through
//! [`TlsRead`] (which pulls records from the socket as it needs them) and hands
//! plaintext to rustls, whose records [`flush`] writes to the socket when it is
//! writable, even when no plaintext is left to send.

use std::io::{self, Read};

use mio::net::TcpStream;
use rustls::ServerConnection;

pub(super) use crate::tls::flush;

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

/// Plaintext from a TLS client (see [`crate::tls::read_plain`]).
pub(super) struct TlsRead<'a> {
    pub tls: &'a mut ServerConnection,
    pub sock: &'a mut TcpStream,
}

impl Read for TlsRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        crate::tls::read_plain(self.tls, self.sock, buf)
    }
}
