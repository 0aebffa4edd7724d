//! TLS with rustls (ring provider): the server configurations of the TLS listeners,
//! built from [`crate::config::Tls`] when a generation's routes are built (so `-t`, a
//! start and every restart, USR1 included, read the certificate files again, in the
//! supervisor, before it forks), and the certificate chosen by SNI among the virtual
//! hosts of a listener.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;

use crate::config::{Config, ConfigError, Origin, SslServer};

/// The crypto provider of every TLS configuration slotgate builds.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// One `rustls::ServerConfig` per `Listen` entry that terminates TLS (None: plain HTTP),
/// in `Listen` order.
pub fn server_configs(cfg: &Config) -> Result<Vec<Option<Arc<ServerConfig>>>, ConfigError> {
    let provider = provider();
    let mut keys: Vec<Option<Arc<CertifiedKey>>> = vec![None; cfg.tls.servers.len()];
    let mut out = Vec::new();
    for group in &cfg.tls.listeners {
        let Some(group) = group else {
            out.push(None);
            continue;
        };
        let mut entries = Vec::new();
        for &i in group {
            let key = match &keys[i] {
                Some(k) => k.clone(),
                None => {
                    let k = Arc::new(certified_key(&cfg.tls.servers[i], &provider)?);
                    keys[i] = Some(k.clone());
                    k
                }
            };
            let names = match i {
                0 => vec![cfg.server_name.to_ascii_lowercase()],
                k => {
                    let v = &cfg.vhosts[k - 1];
                    v.server_name
                        .iter()
                        .chain(&v.server_aliases)
                        .cloned()
                        .collect()
                }
            };
            entries.push((names, key));
        }
        // The fallback server's SSLProtocol applies to the whole address.
        let first = &cfg.tls.servers[group[0]];
        let mut versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
        if first.protocols.tls13 {
            versions.push(&rustls::version::TLS13);
        }
        if first.protocols.tls12 {
            versions.push(&rustls::version::TLS12);
        }
        let at = first
            .origin
            .clone()
            .unwrap_or_else(|| Origin::file_only(Arc::new(cfg.file.clone())));
        let mut sc = ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&versions)
            .map_err(|e| ConfigError::at(&at, format!("TLS: {e}")))?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Sni { entries }));
        sc.alpn_protocols = vec![b"http/1.1".to_vec()];
        out.push(Some(Arc::new(sc)));
    }
    Ok(out)
}

/// The certificate chain and key of `s` (`SSLEngine On`, so `cert_file` is set), with
/// errors at the directive that named the file.
/// Every certificate and key error of the servers that terminate TLS (where
/// [`server_configs`] stops at the first): `-t` reports them all.
pub fn key_errors(cfg: &Config) -> Vec<ConfigError> {
    let provider = provider();
    let mut used: Vec<usize> = cfg
        .tls
        .listeners
        .iter()
        .flatten()
        .flatten()
        .copied()
        .collect();
    used.sort_unstable();
    used.dedup();
    used.into_iter()
        .filter_map(|i| certified_key(&cfg.tls.servers[i], &provider).err())
        .collect()
}

fn certified_key(s: &SslServer, provider: &CryptoProvider) -> Result<CertifiedKey, ConfigError> {
    let (cert_path, cert_at) = s.cert_file.as_ref().expect("checked by the config");
    let certs = read_certs(cert_path).map_err(|m| {
        ConfigError::at(
            cert_at,
            format!("SSLCertificateFile {}: {m}", cert_path.display()),
        )
    })?;
    let (key_path, key_at, what) = match &s.key_file {
        Some((p, o)) => (p, o, "SSLCertificateKeyFile"),
        None => (
            cert_path,
            cert_at,
            "SSLCertificateFile (no SSLCertificateKeyFile)",
        ),
    };
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|e| {
        ConfigError::at(
            key_at,
            format!(
                "{what} {}: no usable private key: {}",
                key_path.display(),
                pem_error(e)
            ),
        )
    })?;
    CertifiedKey::from_der(certs, key, provider).map_err(|e| {
        ConfigError::at(
            key_at,
            format!(
                "{what} {}: the key does not fit the certificate of {} ({e})",
                key_path.display(),
                cert_path.display()
            ),
        )
    })
}

/// Every certificate of a PEM file, in order; at least one.
pub fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(pem_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem_error)?;
    if certs.is_empty() {
        return Err("no certificate (PEM \"BEGIN CERTIFICATE\") in the file".into());
    }
    Ok(certs)
}

fn pem_error(e: rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(e) => format!("cannot read: {e}"),
        rustls::pki_types::pem::Error::NoItemsFound => "no PEM item of the right kind".into(),
        e => format!("{e:?}"),
    }
}

/// Chooses the certificate by the client's SNI name among the servers of one address
/// (ServerName and ServerAlias, wildcards as ServerAlias takes them); the first server's
/// when no name matches or the client sent none.
#[derive(Debug)]
struct Sni {
    entries: Vec<(Vec<String>, Arc<CertifiedKey>)>,
}

impl ResolvesServerCert for Sni {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        if let Some(name) = hello.server_name() {
            let name = name.as_bytes();
            for (names, key) in &self.entries {
                if names.iter().any(|n| crate::url::wildcard_match(n, name)) {
                    return Some(key.clone());
                }
            }
        }
        self.entries.first().map(|e| e.1.clone())
    }
}

/// Writes pending TLS records of `tls` to `sock`: Ok(true) when none is left, Ok(false)
/// when the socket is full.
pub fn flush<D>(
    tls: &mut rustls::ConnectionCommon<D>,
    sock: &mut impl std::io::Write,
) -> std::io::Result<bool> {
    use std::io::ErrorKind;
    while tls.wants_write() {
        match tls.write_tls(sock) {
            Ok(0) => return Err(ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

/// Plaintext from a TLS peer: what rustls has decrypted, reading and processing records
/// from `sock` when it has none (answering the handshake on the way). WouldBlock only
/// when the socket has nothing more; 0 is the end (`close_notify`, or the socket's EOF).
pub fn read_plain<D>(
    tls: &mut rustls::ConnectionCommon<D>,
    sock: &mut (impl std::io::Read + std::io::Write),
    buf: &mut [u8],
) -> std::io::Result<usize> {
    use std::io::{ErrorKind, Read};
    loop {
        match tls.reader().read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(0),
            Err(e) => return Err(e),
        }
        if tls.read_tls(sock)? == 0 {
            return Ok(0);
        }
        if let Err(e) = tls.process_new_packets() {
            // Send the alert rustls queued, then give up on the connection.
            let _ = flush(tls, sock);
            return Err(std::io::Error::new(ErrorKind::InvalidData, e));
        }
        // Handshake messages (or a key update) for the peer.
        flush(tls, sock)?;
    }
}

/// The client configuration for `https://` members (`SSLProxyEngine On`), from the main
/// server's `SSLProxyVerify` and `SSLProxyCACertificateFile`. `require` (the default)
/// checks the member's certificate against the CA file and its name against the member's
/// host (also sent as SNI); it needs a CA file (slotgate does not read the system's
/// roots). `none` accepts any certificate.
pub fn member_config(cfg: &Config) -> Result<Arc<rustls::ClientConfig>, String> {
    let s = &cfg.tls.servers[0];
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?;
    let mut config = if s.proxy_verify {
        let Some((path, at)) = &s.proxy_ca_file else {
            return Err(
                "https:// members: SSLProxyVerify require (the default) needs \
                 SSLProxyCACertificateFile (or SSLProxyVerify none)"
                    .into(),
            );
        };
        let mut roots = rustls::RootCertStore::empty();
        for c in read_certs(path)
            .map_err(|m| format!("{at}: SSLProxyCACertificateFile {}: {m}", path.display()))?
        {
            roots
                .add(c)
                .map_err(|e| format!("{at}: SSLProxyCACertificateFile {}: {e}", path.display()))?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth()
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// `SSLProxyVerify none`: any certificate is accepted (the handshake's signatures are
/// still checked, so the key is the certificate's).
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
