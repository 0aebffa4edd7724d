//! TLS (issue #9, point 4): front-end termination with rustls (`SSLEngine`,
//! `SSLCertificateFile`, `SSLCertificateKeyFile`, `SSLProtocol`, SNI per
//! `<VirtualHost>`), against the real binary. The certificates come from a test CA
//! generated here with rcgen; the client is rustls over a blocking TcpStream. Then
//! `https://` members (`SSLProxyEngine`, `SSLProxyVerify`, `SSLProxyCACertificateFile`)
//! against a small rustls origin on a thread.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};

/// A test CA and the certificates it issued, written as PEM files in `dir`.
struct Pki {
    dir: TempDir,
    ca_der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

/// A leaf certificate: its DER, and the paths of its PEM files.
struct Leaf {
    der: CertificateDer<'static>,
    cert: String,
    key: String,
}

impl Pki {
    fn new(ca_name: &str) -> Pki {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, ca_name);
        let cert = params.self_signed(&key).unwrap();
        let dir = TempDir::new();
        dir.write("ca.pem", &cert.pem());
        Pki {
            dir,
            ca_der: cert.der().clone(),
            issuer: Issuer::new(params, key),
        }
    }

    /// A certificate for `names` (SANs), written as `FILE.pem` / `FILE.key`.
    fn leaf(&self, file: &str, names: &[&str]) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let c = self.dir.write(&format!("{file}.pem"), &cert.pem());
        let k = self.dir.write(&format!("{file}.key"), &key.serialize_pem());
        Leaf {
            der: cert.der().clone(),
            cert: c.display().to_string(),
            key: k.display().to_string(),
        }
    }

    fn ca_path(&self) -> String {
        self.dir.path().join("ca.pem").display().to_string()
    }

    fn client_config(&self) -> Arc<ClientConfig> {
        let mut roots = RootCertStore::empty();
        roots.add(self.ca_der.clone()).unwrap();
        Arc::new(
            ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth(),
        )
    }
}

type Tls = StreamOwned<ClientConnection, TcpStream>;

/// A TLS connection to `port` with SNI `name`, handshake done.
fn connect(port: u16, name: &str, config: &Arc<ClientConfig>) -> Result<Tls, String> {
    let sock = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    sock.set_write_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let conn = ClientConnection::new(
        config.clone(),
        ServerName::try_from(name.to_string()).unwrap(),
    )
    .map_err(|e| e.to_string())?;
    let mut tls = StreamOwned::new(conn, sock);
    while tls.conn.is_handshaking() {
        tls.conn
            .complete_io(&mut tls.sock)
            .map_err(|e| format!("handshake: {e}"))?;
    }
    Ok(tls)
}

/// Sends `request` and reads to the end (the request says `Connection: close`); the
/// end must be a clean TLS close (close_notify), else an error.
fn exchange(tls: &mut Tls, request: &[u8]) -> Result<Vec<u8>, String> {
    tls.write_all(request).map_err(|e| e.to_string())?;
    tls.flush().map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    tls.read_to_end(&mut out)
        .map_err(|e| format!("reading: {e} after {} bytes", out.len()))?;
    Ok(out)
}

fn get(port: u16, sni: &str, path: &str, config: &Arc<ClientConfig>) -> Response {
    let mut tls = connect(port, sni, config).unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n");
    let raw = exchange(&mut tls, req.as_bytes()).unwrap();
    split_raw_response(&raw).unwrap_or_else(|| panic!("no response in {raw:?}"))
}

/// Two name-based vhosts on one TLS address, each with its own certificate.
fn two_sites(pki: &Pki, a: &Origin, b: &Origin) -> String {
    let la = pki.leaf("a", &["a.test"]);
    let lb = pki.leaf("b", &["b.test", "*.b.test"]);
    format!(
        "{BASE_CONF}\
<VirtualHost *>
    ServerName a.test
    SSLEngine On
    SSLCertificateFile \"{}\"
    SSLCertificateKeyFile \"{}\"
    SSLProtocol all -SSLv3 -TLSv1 -TLSv1.1
    ProxyPass / http://{}/
</VirtualHost>
<VirtualHost *>
    ServerName b.test
    ServerAlias *.b.test
    SSLEngine On
    SSLCertificateFile \"{}\"
    SSLCertificateKeyFile \"{}\"
    ProxyPass / http://{}/
</VirtualHost>
",
        la.cert,
        la.key,
        a.addr(),
        lb.cert,
        lb.key,
        b.addr()
    )
}

#[test]
fn requests_over_tls_reach_a_plain_origin_and_sni_picks_the_certificate() {
    let pki = Pki::new("slotgate test CA");
    let (a, b) = (Origin::start("a"), Origin::start("b"));
    let sg = Slotgate::start(&two_sites(&pki, &a, &b));
    let config = pki.client_config();

    for (sni, origin, file) in [
        ("a.test", "a", "a"),
        ("b.test", "b", "b"),
        ("x.b.test", "b", "b"),
    ] {
        let mut tls = connect(sg.port(), sni, &config).unwrap();
        // The certificate is the one of the vhost the name belongs to (the client
        // checked it against the name, and it is that very certificate).
        let peer = tls.conn.peer_certificates().unwrap()[0].clone();
        let want = CertificateDer::from_pem_file(pki.dir.path().join(format!("{file}.pem")));
        assert_eq!(peer, want.unwrap(), "{sni}: certificate of {file}.test");
        let req = format!("GET /x HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n");
        let raw = exchange(&mut tls, req.as_bytes()).unwrap();
        let r = split_raw_response(&raw).unwrap();
        assert_eq!(r.status, 200, "{sni}");
        assert_eq!(r.header("x-origin"), Some(origin), "{sni}");
    }

    // No SNI name this address knows: the first vhost's certificate (a.test), which
    // a client asking for another name refuses.
    let err = connect(sg.port(), "unknown.test", &config)
        .map(|_| ())
        .unwrap_err();
    assert!(
        err.contains("NotValidForName") || err.contains("certificate"),
        "{err}"
    );

    // Keep-alive over TLS: two requests on one connection.
    let mut tls = connect(sg.port(), "a.test", &config).unwrap();
    let raw = exchange(
        &mut tls,
        b"GET /1 HTTP/1.1\r\nHost: a.test\r\n\r\nGET /2 HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert_eq!(text.matches("HTTP/1.1 200").count(), 2, "{text}");
    assert_eq!(a.last_request().target, "/2");
}

#[test]
fn large_bodies_cross_tls_both_ways() {
    let pki = Pki::new("slotgate test CA");
    let (a, b) = (Origin::start("a"), Origin::start("b"));
    let sg = Slotgate::start(&two_sites(&pki, &a, &b));
    let config = pki.client_config();
    // A 3 MB response: many TLS records, socket full on the way.
    let n = 3_000_000;
    let r = get(sg.port(), "a.test", &format!("/bytes/{n}"), &config);
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), n);
    assert_eq!(sha256_hex(&r.body), pattern_sha256(n as u64));
    // A 2 MB request body.
    let body = pattern(2_000_000);
    let mut tls = connect(sg.port(), "b.test", &config).unwrap();
    let mut req = format!(
        "POST /sha256 HTTP/1.1\r\nHost: b.test\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    let raw = exchange(&mut tls, &req).unwrap();
    let r = split_raw_response(&raw).unwrap();
    assert_eq!(r.status, 200);
    assert_eq!(
        String::from_utf8_lossy(&r.body).trim(),
        format!("{} {}", sha256_hex(&body), body.len())
    );
}

#[test]
fn a_client_that_does_not_trust_the_ca_fails_the_handshake() {
    let pki = Pki::new("slotgate test CA");
    let other = Pki::new("another CA");
    let (a, b) = (Origin::start("a"), Origin::start("b"));
    let sg = Slotgate::start(&two_sites(&pki, &a, &b));
    let err = connect(sg.port(), "a.test", &other.client_config())
        .map(|_| ())
        .unwrap_err();
    assert!(err.contains("UnknownIssuer"), "{err}");
    assert_eq!(a.requests(), 0);
    // A plain-HTTP client on the TLS port gets no HTTP answer.
    let raw = send_raw(sg.port(), b"GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
    assert!(!raw.starts_with(b"HTTP/"), "{raw:?}");
    // The server still serves.
    assert_eq!(
        get(sg.port(), "a.test", "/", &pki.client_config()).status,
        200
    );
}

#[test]
fn config_errors_name_file_and_line() {
    let pki = Pki::new("slotgate test CA");
    let leaf = pki.leaf("a", &["a.test"]);
    let other = pki.leaf("o", &["o.test"]);
    let dir = TempDir::new();
    let conf = |cert: &str, key: &str, extra: &str| {
        format!(
            "Listen 127.0.0.1:0\n<VirtualHost *>\nServerName a.test\nSSLEngine On\n\
             SSLCertificateFile \"{cert}\"\nSSLCertificateKeyFile \"{key}\"\n{extra}\
             ProxyPass / http://127.0.0.1:9/\n</VirtualHost>\n"
        )
    };
    // Missing key file: line 6.
    let missing = dir.path().join("missing.key").display().to_string();
    let (out, path) = check_config(&dir, "a.conf", &conf(&leaf.cert, &missing, ""));
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert!(out.stderr.contains(&format!("{path}:6:")), "{}", out.stderr);
    assert!(out.stderr.contains("missing.key"), "{}", out.stderr);
    // Unreadable certificate file: line 5.
    let (out, path) = check_config(&dir, "b.conf", &conf(&missing, &leaf.key, ""));
    assert!(out.stderr.contains(&format!("{path}:5:")), "{}", out.stderr);
    // A key that is not the certificate's: line 6.
    let (out, path) = check_config(&dir, "c.conf", &conf(&leaf.cert, &other.key, ""));
    assert!(out.stderr.contains(&format!("{path}:6:")), "{}", out.stderr);
    assert!(out.stderr.contains("does not fit"), "{}", out.stderr);
    // SSLProtocol asking for what rustls cannot do: line 7.
    let (out, path) = check_config(
        &dir,
        "d.conf",
        &conf(&leaf.cert, &leaf.key, "SSLProtocol +TLSv1.1\n"),
    );
    assert!(out.stderr.contains(&format!("{path}:7:")), "{}", out.stderr);
    assert!(out.stderr.contains("TLSv1.2 and TLSv1.3"), "{}", out.stderr);
    // SSLEngine On without a certificate: at the <VirtualHost> (line 2).
    let (out, path) = check_config(
        &dir,
        "e.conf",
        "Listen 127.0.0.1:0\n<VirtualHost *>\nSSLEngine On\n</VirtualHost>\n",
    );
    assert!(out.stderr.contains(&format!("{path}:2:")), "{}", out.stderr);
    assert!(out.stderr.contains("SSLCertificateFile"), "{}", out.stderr);
    // And a good one passes.
    let (out, _) = check_config(
        &dir,
        "f.conf",
        &conf(&leaf.cert, &leaf.key, "SSLProtocol TLSv1.3\n"),
    );
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
}

#[test]
fn a_graceful_restart_reloads_the_certificates() {
    let pki = Pki::new("slotgate test CA");
    let (a, b) = (Origin::start("a"), Origin::start("b"));
    let sg = Slotgate::start(&two_sites(&pki, &a, &b));
    let config = pki.client_config();
    let before = connect(sg.port(), "a.test", &config)
        .unwrap()
        .conn
        .peer_certificates()
        .unwrap()[0]
        .clone();
    // A new certificate for a.test in the same files, then USR1.
    let renewed = pki.leaf("a", &["a.test"]);
    assert_ne!(before, renewed.der);
    let gen = common::daemon::generation(sg.scoreboard_path());
    sg.signal(nix::sys::signal::Signal::SIGUSR1);
    common::daemon::wait_generation(sg.scoreboard_path(), gen + 1, Duration::from_secs(10));
    wait_for(
        "the renewed certificate",
        Duration::from_secs(10),
        || {
            let tls = connect(sg.port(), "a.test", &config).ok()?;
            (tls.conn.peer_certificates()?[0] == renewed.der).then_some(())
        },
        || sg.logs(),
    );
}

/// A TLS origin: rustls over std sockets, one thread per connection, keep-alive,
/// Content-Length bodies; answers `sni=NAME host=HOST path=PATH body=SHA256/LEN`, or
/// N bytes of pattern for `/big/N`. Listens on 127.0.0.1 (and [::1] when it
/// can, for a `localhost` that resolves there first). Stops accepting when dropped.
struct TlsOrigin {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl TlsOrigin {
    fn start(leaf: &Leaf) -> TlsOrigin {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&leaf.cert)
            .unwrap()
            .map(|c| c.unwrap())
            .collect();
        let key = rustls::pki_types::PrivateKeyDer::from_pem_file(&leaf.key).unwrap();
        let config = Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
        );
        let v4 = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = v4.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let mut listeners = vec![v4];
        if let Ok(v6) = TcpListener::bind(("::1", port)) {
            listeners.push(v6);
        }
        for l in listeners {
            l.set_nonblocking(true).unwrap();
            let (config, stop) = (config.clone(), stop.clone());
            std::thread::spawn(move || {
                // Bounded: at most 2 minutes, or until the test drops the origin.
                let deadline = std::time::Instant::now() + Duration::from_secs(120);
                while !stop.load(Ordering::Relaxed) && std::time::Instant::now() < deadline {
                    match l.accept() {
                        Ok((sock, _)) => {
                            let config = config.clone();
                            std::thread::spawn(move || serve_tls(sock, config));
                        }
                        // Idle wait of a non-blocking accept (stop flag), not a fact.
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            });
        }
        TlsOrigin { port, stop }
    }
}

impl Drop for TlsOrigin {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve_tls(sock: TcpStream, config: Arc<rustls::ServerConfig>) {
    sock.set_nonblocking(false).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let conn = rustls::ServerConnection::new(config).unwrap();
    let mut tls = StreamOwned::new(conn, sock);
    let mut buf = Vec::new();
    loop {
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            let mut chunk = [0u8; 4096];
            match tls.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        buf.drain(..end + 4);
        let path = head.split(' ').nth(1).unwrap_or("").to_string();
        let host = head
            .lines()
            .find_map(|l| {
                l.strip_prefix("Host: ")
                    .or_else(|| l.strip_prefix("host: "))
            })
            .unwrap_or("-")
            .to_string();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        while buf.len() < length {
            let mut chunk = [0u8; 65536];
            match tls.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body: Vec<u8> = buf.drain(..length).collect();
        let sni = tls.conn.server_name().unwrap_or("-").to_string();
        let reply = match path.strip_prefix("/big/") {
            Some(n) => pattern(n.parse().unwrap()),
            None if length > 0 => format!(
                "sni={sni} host={host} path={path} body={}/{length}",
                sha256_hex(&body)
            )
            .into_bytes(),
            None => format!("sni={sni} host={host} path={path}").into_bytes(),
        };
        let mut resp = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nX-Origin: tls\r\n\r\n",
            reply.len()
        )
        .into_bytes();
        resp.extend_from_slice(&reply);
        if tls.write_all(&resp).and_then(|_| tls.flush()).is_err() {
            return;
        }
    }
}

fn https_member_conf(extra: &str, port: u16) -> String {
    format!("{BASE_CONF}SSLProxyEngine On\n{extra}ProxyPass / https://localhost:{port}/\n")
}

#[test]
fn an_https_member_with_a_ca_file_is_proxied_with_sni() {
    let pki = Pki::new("slotgate test CA");
    let origin = TlsOrigin::start(&pki.leaf("origin", &["localhost"]));
    let conf = https_member_conf(
        &format!("SSLProxyCACertificateFile \"{}\"\n", pki.ca_path()),
        origin.port,
    );
    let sg = Slotgate::start(&conf);
    for i in 0..3 {
        let r = http_get(sg.port(), &format!("/p{i}"), &[]);
        assert_eq!(r.status, 200, "{}\n{}", r.text(), sg.logs());
        assert_eq!(
            r.text(),
            format!("sni=localhost host=localhost:{} path=/p{i}", origin.port)
        );
    }
    // Large bodies both ways through the member's TLS.
    let n = 3_000_000;
    let r = http_get(sg.port(), &format!("/big/{n}"), &[]);
    assert_eq!(r.status, 200);
    assert_eq!(sha256_hex(&r.body), pattern_sha256(n as u64));
    let body = pattern(2_000_000);
    let mut c = Client::connect(sg.port());
    let r = c.request("POST", "/up", &[], Some(&body));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text()
            .ends_with(&format!("body={}/{}", sha256_hex(&body), body.len())),
        "{}",
        r.text()
    );
    // Over TLS at both ends: a TLS front end to the https member.
    let front = pki.leaf("front", &["front.test"]);
    let both = format!(
        "{conf}SSLEngine On\nSSLCertificateFile \"{}\"\nSSLCertificateKeyFile \"{}\"\n",
        front.cert, front.key
    );
    drop(sg);
    let sg = Slotgate::start(&both);
    let r = get(sg.port(), "front.test", "/both", &pki.client_config());
    assert_eq!(r.status, 200);
    assert!(r.text().ends_with("path=/both"), "{}", r.text());
}

#[test]
fn a_member_with_a_bad_certificate_gets_502_unless_verify_is_none() {
    let pki = Pki::new("slotgate test CA");
    let rogue = Pki::new("rogue CA");
    let origin = TlsOrigin::start(&rogue.leaf("origin", &["localhost"]));
    let sg = Slotgate::start(&https_member_conf(
        &format!("SSLProxyCACertificateFile \"{}\"\n", pki.ca_path()),
        origin.port,
    ));
    let r = http_get(sg.port(), "/", &[]);
    assert_eq!(r.status, 502, "{}", r.text());
    // A certificate for another name, from the right CA: 502 too.
    let wrong_name = TlsOrigin::start(&pki.leaf("other", &["other.test"]));
    let sg2 = Slotgate::start(&https_member_conf(
        &format!("SSLProxyCACertificateFile \"{}\"\n", pki.ca_path()),
        wrong_name.port,
    ));
    assert_eq!(http_get(sg2.port(), "/", &[]).status, 502);
    // SSLProxyVerify none takes any certificate.
    let sg3 = Slotgate::start(&https_member_conf("SSLProxyVerify none\n", origin.port));
    let r = http_get(sg3.port(), "/ok", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().ends_with("path=/ok"));
    drop((sg, sg2));
}

#[test]
fn https_members_need_ssl_proxy_engine_and_a_ca_file() {
    let dir = TempDir::new();
    let (out, _) = check_config(
        &dir,
        "a.conf",
        "Listen 127.0.0.1:0\nProxyPass / https://127.0.0.1:9/\n",
    );
    assert_eq!(out.code(), Some(1));
    assert!(out.stderr.contains("SSLProxyEngine On"), "{}", out.stderr);
    let (out, _) = check_config(
        &dir,
        "b.conf",
        "Listen 127.0.0.1:0\nSSLProxyEngine On\nProxyPass / https://127.0.0.1:9/\n",
    );
    assert_eq!(out.code(), Some(1));
    assert!(
        out.stderr.contains("SSLProxyCACertificateFile"),
        "{}",
        out.stderr
    );
    let missing = dir.path().join("nope.pem").display().to_string();
    let (out, path) = check_config(
        &dir,
        "c.conf",
        &format!(
            "Listen 127.0.0.1:0\nSSLProxyEngine On\nSSLProxyCACertificateFile \"{missing}\"\n\
             ProxyPass / https://127.0.0.1:9/\n"
        ),
    );
    assert!(out.stderr.contains(&format!("{path}:3:")), "{}", out.stderr);
    let (out, _) = check_config(
        &dir,
        "d.conf",
        "Listen 127.0.0.1:0\nSSLProxyEngine On\nSSLProxyVerify none\nProxyPass / https://127.0.0.1:9/\n",
    );
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
}

#[test]
fn a_proxy_protocol_header_may_precede_tls() {
    let pki = Pki::new("slotgate test CA");
    let leaf = pki.leaf("a", &["a.test"]);
    let origin = Origin::start("a");
    let sg = Slotgate::start(&format!(
        "{BASE_CONF}RemoteIPProxyProtocol On\nSSLEngine On\n\
         SSLCertificateFile \"{}\"\nSSLCertificateKeyFile \"{}\"\nProxyPass / http://{}/\n",
        leaf.cert,
        leaf.key,
        origin.addr()
    ));
    let config = pki.client_config();
    // The header and the ClientHello in one segment, then in two.
    for split in [false, true] {
        let mut sock = TcpStream::connect(("127.0.0.1", sg.port())).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let header = b"PROXY TCP4 192.0.2.7 127.0.0.1 4000 443\r\n";
        let mut conn =
            ClientConnection::new(config.clone(), ServerName::try_from("a.test").unwrap()).unwrap();
        let mut first = header.to_vec();
        if !split {
            conn.write_tls(&mut first).unwrap();
        }
        sock.write_all(&first).unwrap();
        let mut tls = StreamOwned::new(conn, sock);
        let raw = exchange(
            &mut tls,
            b"GET /pp HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
        let r = split_raw_response(&raw).unwrap();
        assert_eq!(r.status, 200, "split={split}");
        let seen = origin.last_request();
        assert_eq!(
            header_values(&seen.headers, "x-forwarded-for"),
            vec!["192.0.2.7"],
            "split={split}"
        );
    }
    // No header: refused in the clear, and closed.
    let raw = send_raw(sg.port(), b"GET / HTTP/1.1\r\n\r\n");
    assert!(
        raw.starts_with(b"HTTP/1.1 400"),
        "{:?}",
        String::from_utf8_lossy(&raw)
    );
}

/// mod_headers' `%{NAME}s` (issue #15): what slotgate knows of the client's
/// TLS session, named as httpd's mod_ssl names it (`on`, `TLSv1.3`, and for
/// TLS 1.3 the suite's name, which OpenSSL spells as IANA does). Over plain
/// HTTP httpd-oracle gave `off` and `(null)` (tests/headers_module.rs).
#[test]
fn header_rules_read_the_client_tls_session() {
    let pki = Pki::new("slotgate test CA");
    let a = Origin::start("a");
    let leaf = pki.leaf("a", &["a.test"]);
    let conf = format!(
        "{BASE_CONF}SSLEngine On\nSSLCertificateFile \"{}\"\nSSLCertificateKeyFile \"{}\"\n\
         Header set X-TLS \"%{{HTTPS}}s %{{SSL_PROTOCOL}}s %{{SSL_CIPHER}}s\"\n\
         Header set X-Scheme \"expr=%{{REQUEST_SCHEME}}\"\n\
         ProxyPass / http://{}/\n",
        leaf.cert,
        leaf.key,
        a.addr()
    );
    let sg = Slotgate::start(&conf);
    let r = get(sg.port(), "a.test", "/x", &pki.client_config());
    assert_eq!(r.status, 200, "{}", r.summary());
    let tls = r.header("x-tls").unwrap_or_default();
    assert!(tls.starts_with("on TLSv1.3 TLS_"), "{}", r.summary());
    assert!(!tls.contains("TLS13"), "{}", r.summary());
    assert_eq!(r.header("x-scheme"), Some("https"), "{}", r.summary());
}
