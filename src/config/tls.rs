//! mod_ssl's directives: front-end TLS (`SSLEngine`, `SSLCertificateFile`,
//! `SSLCertificateKeyFile`, `SSLProtocol`) and TLS to members (`SSLProxyEngine`,
//! `SSLProxyVerify`, `SSLProxyCACertificateFile`).
//!
//! Only the settings are read here (paths and where they were written); the files are
//! loaded by `crate::tls` when the routes of a generation are built, so `-t`, a start
//! and every restart read them again and name file:line when one is wrong.

use std::path::{Path, PathBuf};

use super::reader::Directive;
use super::scope::{check, fail, flag, one_arg};
use super::{ConfigError, Origin, VirtualHost};

/// TLS protocol versions slotgate can speak (rustls: TLS 1.2 and 1.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Protocols {
    pub tls12: bool,
    pub tls13: bool,
}

impl Default for Protocols {
    fn default() -> Self {
        Protocols {
            tls12: true,
            tls13: true,
        }
    }
}

/// The effective TLS settings of one server (the main server or a `<VirtualHost>`),
/// after a vhost inherited what it left unset from the main server (as mod_ssl merges).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SslServer {
    /// `SSLEngine On`.
    pub engine: bool,
    /// `SSLCertificateFile`: PEM, the server certificate first, then its chain.
    pub cert_file: Option<(PathBuf, Origin)>,
    /// `SSLCertificateKeyFile`: PEM private key (PKCS#8, PKCS#1 or SEC1). Default: the
    /// key is read from the certificate file (as mod_ssl does).
    pub key_file: Option<(PathBuf, Origin)>,
    /// `SSLProtocol`.
    pub protocols: Protocols,
    /// `SSLProxyEngine On`: `https://` members allowed.
    pub proxy_engine: bool,
    /// `SSLProxyVerify require` (default) or `none`.
    pub proxy_verify: bool,
    /// `SSLProxyCACertificateFile`: the roots members' certificates are checked against.
    pub proxy_ca_file: Option<(PathBuf, Origin)>,
    /// Where the server was defined (its `<VirtualHost>` line, or the `SSLEngine` line of
    /// the main server), for errors about it as a whole.
    pub origin: Option<Origin>,
}

/// TLS of the whole configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tls {
    /// Server 0 is the main server, server `k` is `vhosts[k - 1]`.
    pub servers: Vec<SslServer>,
    /// One entry per `Listen` address (same order): `None` for plain HTTP; for TLS, the
    /// servers (indexes as in `servers`) whose certificates it offers by SNI, the
    /// fallback (a client without SNI, or a name no server has) first.
    pub listeners: Vec<Option<Vec<usize>>>,
}

/// mod_ssl's settings of one scope, as written.
#[derive(Clone, Debug, Default)]
pub(super) struct SslDraft {
    engine: Option<(bool, Origin)>,
    cert_file: Option<(PathBuf, Origin)>,
    key_file: Option<(PathBuf, Origin)>,
    protocols: Option<Protocols>,
    proxy_engine: Option<bool>,
    proxy_verify: Option<bool>,
    proxy_ca_file: Option<(PathBuf, Origin)>,
    /// The first `SSLProxy*` line (server-wide only for now).
    proxy_origin: Option<Origin>,
}

/// Handles `d` if it is one of mod_ssl's directives slotgate knows.
pub(super) fn directive(s: &mut SslDraft, root: &Path, d: &Directive) -> Result<bool, ConfigError> {
    let path = |name: &str| -> Result<(PathBuf, Origin), ConfigError> {
        Ok((root.join(one_arg(d, name)?), d.origin.clone()))
    };
    let name = d.name.to_ascii_lowercase();
    if name.starts_with("sslproxy") && s.proxy_origin.is_none() {
        s.proxy_origin = Some(d.origin.clone());
    }
    match name.as_str() {
        "sslengine" => {
            let arg = one_arg(d, "SSLEngine")?;
            if arg.eq_ignore_ascii_case("optional") {
                return Err(fail(
                    d,
                    "SSLEngine optional (RFC 2817 upgrade) is not supported",
                ));
            }
            s.engine = Some((flag(d, "SSLEngine")?, d.origin.clone()));
        }
        "sslcertificatefile" => s.cert_file = Some(path("SSLCertificateFile")?),
        "sslcertificatekeyfile" => s.key_file = Some(path("SSLCertificateKeyFile")?),
        "sslprotocol" => s.protocols = Some(check(d, protocols(&d.args))?),
        "sslproxyengine" => s.proxy_engine = Some(flag(d, "SSLProxyEngine")?),
        "sslproxyverify" => {
            let arg = one_arg(d, "SSLProxyVerify")?;
            s.proxy_verify = Some(match arg.to_ascii_lowercase().as_str() {
                "none" => false,
                "require" => true,
                _ => {
                    return Err(fail(
                        d,
                        format!("SSLProxyVerify: expected none or require, got '{arg}' (optional and optional_no_ca are not supported)"),
                    ))
                }
            });
        }
        "sslproxycacertificatefile" => s.proxy_ca_file = Some(path("SSLProxyCACertificateFile")?),
        _ => return Ok(false),
    }
    Ok(true)
}

/// `SSLProtocol [+|-]protocol …`: a word without a sign starts a new set. `all` is
/// TLSv1.2 and TLSv1.3 (rustls has nothing older); naming SSLv3, TLSv1 or TLSv1.1 to
/// enable it is refused, removing it is accepted (they are never enabled).
fn protocols(args: &[String]) -> Result<Protocols, String> {
    if args.is_empty() {
        return Err("SSLProtocol takes at least one protocol".into());
    }
    let mut p = Protocols {
        tls12: false,
        tls13: false,
    };
    for word in args {
        let (sign, name) = match word.as_bytes().first() {
            Some(b'+') => (Some(true), &word[1..]),
            Some(b'-') => (Some(false), &word[1..]),
            _ => (None, word.as_str()),
        };
        let on = sign.unwrap_or(true);
        if sign.is_none() {
            p = Protocols {
                tls12: false,
                tls13: false,
            };
        }
        match name.to_ascii_lowercase().as_str() {
            "all" => {
                p.tls12 = on;
                p.tls13 = on;
            }
            "tlsv1.2" => p.tls12 = on,
            "tlsv1.3" => p.tls13 = on,
            "sslv2" | "sslv3" | "tlsv1" | "tlsv1.1" if !on => {}
            "sslv2" | "sslv3" | "tlsv1" | "tlsv1.1" => {
                return Err(format!(
                    "SSLProtocol: {name} cannot be enabled: slotgate (rustls) speaks only TLSv1.2 and TLSv1.3"
                ))
            }
            _ => {
                return Err(format!(
                    "SSLProtocol: unknown protocol '{name}' (expected all, TLSv1.2, TLSv1.3, or -SSLv3, -TLSv1, -TLSv1.1)"
                ))
            }
        }
    }
    if !p.tls12 && !p.tls13 {
        return Err("SSLProtocol: no protocol left (slotgate speaks TLSv1.2 and TLSv1.3)".into());
    }
    Ok(p)
}

/// The effective settings of a server: `own`, with what it leaves unset taken from `main`.
fn merge(own: &SslDraft, main: Option<&SslDraft>, origin: Option<Origin>) -> SslServer {
    macro_rules! pick {
        ($field:ident) => {
            own.$field
                .clone()
                .or_else(|| main.and_then(|m| m.$field.clone()))
        };
    }
    let engine = pick!(engine);
    SslServer {
        engine: engine.as_ref().is_some_and(|e| e.0),
        cert_file: pick!(cert_file),
        key_file: pick!(key_file),
        protocols: pick!(protocols).unwrap_or_default(),
        proxy_engine: pick!(proxy_engine).unwrap_or(false),
        proxy_verify: pick!(proxy_verify).unwrap_or(true),
        proxy_ca_file: pick!(proxy_ca_file),
        origin: origin.or_else(|| engine.map(|e| e.1)),
    }
}

/// Builds [`Tls`]: merges each vhost with the main server and decides which listeners
/// terminate TLS. A listener whose address some `<VirtualHost>` matches (IP or `*`, and
/// port or none) belongs to those vhosts; otherwise to the main server. A listener is
/// TLS when its servers have `SSLEngine On`; mixing TLS and plain vhosts on one address
/// is refused (one socket speaks one protocol).
pub(super) fn finish(
    listen: &[super::Listen],
    main: &SslDraft,
    vhosts: &[(&VirtualHost, &SslDraft)],
) -> Result<Tls, ConfigError> {
    let mut servers = vec![merge(main, None, None)];
    for (v, draft) in vhosts {
        if let Some(at) = &draft.proxy_origin {
            return Err(ConfigError::at(
                at,
                "SSLProxyEngine, SSLProxyVerify and SSLProxyCACertificateFile inside \
                 <VirtualHost> are not supported yet (set them for the whole server)",
            ));
        }
        servers.push(merge(draft, Some(main), Some(v.origin.clone())));
    }
    for s in servers.iter().filter(|s| s.engine) {
        if s.cert_file.is_none() {
            let at = s.origin.clone().expect("an enabled server has an origin");
            return Err(ConfigError::at(
                &at,
                "SSLEngine On needs SSLCertificateFile (in this server or the main server)",
            ));
        }
    }
    let mut listeners = Vec::new();
    for l in listen {
        let on: Vec<usize> = (0..vhosts.len())
            .filter(|&k| {
                vhosts[k].0.addrs.iter().any(|a| {
                    a.port.is_none_or(|p| p == l.addr.port())
                        && a.ip
                            .is_none_or(|ip| ip == l.addr.ip() || l.addr.ip().is_unspecified())
                })
            })
            .map(|k| k + 1)
            .collect();
        let group = if on.is_empty() { vec![0] } else { on };
        let tls = group.iter().filter(|&&i| servers[i].engine).count();
        if tls == 0 {
            listeners.push(None);
            continue;
        }
        if tls < group.len() {
            let plain = group
                .iter()
                .find(|&&i| !servers[i].engine)
                .copied()
                .unwrap_or(0);
            let what = match &servers[plain].origin {
                Some(o) if plain > 0 => format!("the <VirtualHost> at {o}"),
                _ => "the main server".to_string(),
            };
            return Err(ConfigError::at(
                &l.origin,
                format!(
                    "Listen {}: the virtual hosts on this address mix SSLEngine On and Off \
                     ({what} has no SSLEngine On); one address speaks either TLS or plain HTTP",
                    l.addr
                ),
            ));
        }
        listeners.push(Some(group));
    }
    Ok(Tls { servers, listeners })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(words: &[&str]) -> Result<Protocols, String> {
        protocols(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>())
    }

    fn parse(text: &str) -> Result<crate::config::Config, String> {
        crate::config::parse_str(text, Path::new("/tmp/t.conf"), &[]).map_err(|e| e.to_string())
    }

    #[test]
    fn listeners_follow_their_vhosts_and_vhosts_inherit() {
        let c = parse(
            "Listen 127.0.0.1:8443\nListen 127.0.0.1:8080\n\
             SSLCertificateFile main.pem\nSSLProtocol TLSv1.3\n\
             <VirtualHost *:8443>\nServerName a\nSSLEngine On\n</VirtualHost>\n\
             <VirtualHost *:8443>\nServerName b\nSSLEngine On\nSSLCertificateFile b.pem\n</VirtualHost>\n\
             <VirtualHost *:8080>\nServerName c\n</VirtualHost>\n",
        )
        .unwrap();
        assert_eq!(c.tls.listeners, vec![Some(vec![1, 2]), None]);
        let a = &c.tls.servers[1];
        assert_eq!(a.cert_file.as_ref().unwrap().0, Path::new("/tmp/main.pem"));
        assert!(!a.protocols.tls12 && a.protocols.tls13);
        assert_eq!(
            c.tls.servers[2].cert_file.as_ref().unwrap().0,
            Path::new("/tmp/b.pem")
        );
        assert!(!c.tls.servers[3].engine);
        // SSLEngine On in the main server: its listeners, unless a vhost says Off.
        let c = parse("Listen 127.0.0.1:0\nSSLEngine On\nSSLCertificateFile m.pem\n").unwrap();
        assert_eq!(c.tls.listeners, vec![Some(vec![0])]);
    }

    #[test]
    fn refused_combinations_name_file_and_line() {
        let mixed = parse(
            "Listen 127.0.0.1:0\n<VirtualHost *>\nSSLEngine On\nSSLCertificateFile a.pem\n\
             </VirtualHost>\n<VirtualHost *>\nServerName plain\n</VirtualHost>\n",
        )
        .unwrap_err();
        assert!(mixed.starts_with("/tmp/t.conf:1: Listen"), "{mixed}");
        assert!(mixed.contains("/tmp/t.conf:6"), "{mixed}");
        let no_cert = parse("Listen 127.0.0.1:0\nSSLEngine on\n").unwrap_err();
        assert!(
            no_cert.starts_with("/tmp/t.conf:2: SSLEngine On needs"),
            "{no_cert}"
        );
        let per_vhost =
            parse("Listen 127.0.0.1:0\n<VirtualHost *>\nSSLProxyEngine On\n</VirtualHost>\n")
                .unwrap_err();
        assert!(
            per_vhost.starts_with("/tmp/t.conf:3: SSLProxyEngine"),
            "{per_vhost}"
        );
        let optional = parse("Listen 127.0.0.1:0\nSSLEngine optional\n").unwrap_err();
        assert!(optional.contains("not supported"), "{optional}");
    }

    #[test]
    fn protocol_lists() {
        let both = Protocols {
            tls12: true,
            tls13: true,
        };
        assert_eq!(p(&["all", "-SSLv3", "-TLSv1", "-TLSv1.1"]), Ok(both));
        assert_eq!(p(&["all", "-SSLv3"]), Ok(both));
        assert_eq!(p(&["+TLSv1.2", "+TLSv1.3"]), Ok(both));
        assert_eq!(
            p(&["TLSv1.3"]),
            Ok(Protocols {
                tls12: false,
                tls13: true
            })
        );
        assert_eq!(
            p(&["all", "-TLSv1.3"]),
            Ok(Protocols {
                tls12: true,
                tls13: false
            })
        );
        assert!(p(&["+TLSv1.1"]).unwrap_err().contains("cannot be enabled"));
        assert!(p(&["all", "-TLSv1.2", "-TLSv1.3"]).is_err());
        assert!(p(&["TLSv9"]).unwrap_err().contains("unknown protocol"));
    }
}
