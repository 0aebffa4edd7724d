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

    /// What mod_headers' `%{…}s` reads of the session, as mod_ssl names it
    /// (`SSL_PROTOCOL` `TLSv1.3`, `SSL_CIPHER` in OpenSSL's spelling).
    pub fn facts(&self) -> crate::rules::headers::Tls {
        use rustls::{CipherSuite as C, ProtocolVersion as P};
        let protocol = match self.conn.protocol_version() {
            Some(P::TLSv1_3) => "TLSv1.3",
            Some(P::TLSv1_2) => "TLSv1.2",
            _ => "",
        };
        let suite = self.conn.negotiated_cipher_suite().map(|s| s.suite());
        let cipher = match suite {
            Some(C::TLS13_AES_128_GCM_SHA256) => "TLS_AES_128_GCM_SHA256",
            Some(C::TLS13_AES_256_GCM_SHA384) => "TLS_AES_256_GCM_SHA384",
            Some(C::TLS13_CHACHA20_POLY1305_SHA256) => "TLS_CHACHA20_POLY1305_SHA256",
            Some(C::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256) => "ECDHE-ECDSA-AES128-GCM-SHA256",
            Some(C::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384) => "ECDHE-ECDSA-AES256-GCM-SHA384",
            Some(C::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256) => {
                "ECDHE-ECDSA-CHACHA20-POLY1305"
            }
            Some(C::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256) => "ECDHE-RSA-AES128-GCM-SHA256",
            Some(C::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384) => "ECDHE-RSA-AES256-GCM-SHA384",
            Some(C::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256) => "ECDHE-RSA-CHACHA20-POLY1305",
            Some(other) => other.as_str().unwrap_or(""),
            None => "",
        };
        crate::rules::headers::Tls { protocol, cipher }
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
