//! mod_remoteip's request directives: `RemoteIPHeader`, `RemoteIPProxiesHeader`,
//! `RemoteIPInternalProxy`, `RemoteIPTrustedProxy` and their `…List` forms (files,
//! relative to ServerRoot), in the main server and in `<VirtualHost>`. The
//! PROXY protocol directives are in `scope.rs`; the walk itself is
//! `crate::rules::remoteip`.

use std::path::Path;

use crate::rules::remoteip::{self, Proxy, RemoteIp};

use super::reader::Directive;
use super::scope::{fail, one_arg};
use super::ConfigError;

/// The directives of one server, as written.
#[derive(Default)]
pub(super) struct RemoteIpScope {
    header: Option<String>,
    proxies_header: Option<String>,
    proxies: Option<Vec<Proxy>>,
}

impl RemoteIpScope {
    /// One directive; Ok(false) when `d` is none of this module's.
    pub fn directive(&mut self, d: &Directive, root: &Path) -> Result<bool, ConfigError> {
        let name = d.name.to_ascii_lowercase();
        match name.as_str() {
            "remoteipheader" => {
                self.header = Some(header_name(d, "RemoteIPHeader")?);
            }
            "remoteipproxiesheader" => {
                self.proxies_header = Some(header_name(d, "RemoteIPProxiesHeader")?);
            }
            "remoteipinternalproxy" | "remoteiptrustedproxy" => {
                let internal = name == "remoteipinternalproxy";
                let what = if internal {
                    "RemoteIPInternalProxy"
                } else {
                    "RemoteIPTrustedProxy"
                };
                if d.args.is_empty() {
                    return Err(fail(
                        d,
                        format!("{what} takes one or more addresses, networks or host names"),
                    ));
                }
                let list = self.proxies.get_or_insert_with(Vec::new);
                for a in &d.args {
                    let parsed = remoteip::parse_proxy(a, internal)
                        .map_err(|m| fail(d, format!("{what}: {m}")))?;
                    list.extend(parsed);
                }
            }
            "remoteipinternalproxylist" | "remoteiptrustedproxylist" => {
                let internal = name == "remoteipinternalproxylist";
                let what = if internal {
                    "RemoteIPInternalProxyList"
                } else {
                    "RemoteIPTrustedProxyList"
                };
                let file = root.join(one_arg(d, what)?);
                let text = std::fs::read_to_string(&file).map_err(|e| {
                    fail(
                        d,
                        format!("{what}: could not open file {}: {e}", file.display()),
                    )
                })?;
                let parsed = remoteip::parse_list(&text, internal)
                    .map_err(|m| fail(d, format!("{what}: {}: {m}", file.display())))?;
                self.proxies.get_or_insert_with(Vec::new).extend(parsed);
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The settings of this server: each its own when set, else `main`'s (httpd's
    /// merge of mod_remoteip's server configuration).
    pub fn resolve(&self, main: Option<&RemoteIpScope>) -> RemoteIp {
        let inherit = |own: &Option<String>, f: fn(&RemoteIpScope) -> &Option<String>| {
            own.clone().or_else(|| main.and_then(|m| f(m).clone()))
        };
        RemoteIp {
            header: inherit(&self.header, |m| &m.header),
            proxies_header: inherit(&self.proxies_header, |m| &m.proxies_header),
            proxies: self
                .proxies
                .clone()
                .or_else(|| main.and_then(|m| m.proxies.clone())),
        }
    }
}

fn header_name(d: &Directive, what: &str) -> Result<String, ConfigError> {
    let name = one_arg(d, what)?;
    let token = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !token {
        return Err(fail(d, format!("{what}: '{name}' is not a header name")));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn config(text: &str) -> crate::config::Config {
        crate::config::parse_str(text, Path::new("/etc/slotgate/t.conf"), &[]).unwrap()
    }

    /// httpd's merge: a vhost keeps each setting it has and takes the others from
    /// the main server.
    #[test]
    fn a_vhost_inherits_what_it_does_not_set() {
        let c = config(
            "Listen 127.0.0.1:0\nRemoteIPHeader X-Forwarded-For\nRemoteIPProxiesHeader X-By\n\
             RemoteIPTrustedProxy 10.0.0.1\n<VirtualHost *:*>\nRemoteIPHeader X-Real-IP\n\
             </VirtualHost>\n<VirtualHost *:*>\nRemoteIPInternalProxy 10.0.0.0/8 \
             192.168.0.0/16\n</VirtualHost>\n",
        );
        assert_eq!(c.remoteip.header.as_deref(), Some("X-Forwarded-For"));
        let one = &c.vhosts[0].remoteip;
        assert_eq!(one.header.as_deref(), Some("X-Real-IP"));
        assert_eq!(one.proxies_header.as_deref(), Some("X-By"));
        assert_eq!(one.proxies, c.remoteip.proxies);
        let two = &c.vhosts[1].remoteip;
        assert_eq!(two.header.as_deref(), Some("X-Forwarded-For"));
        let list = two.proxies.as_ref().unwrap();
        assert_eq!(list.len(), 2);
        assert!(list.iter().all(|p| p.internal));
        // Nothing configured: the module does nothing.
        assert_eq!(config("Listen 127.0.0.1:0\n").remoteip.header, None);
    }

    #[test]
    fn errors_name_the_directive() {
        let err = |text: &str| {
            crate::config::parse_str(text, Path::new("/etc/slotgate/t.conf"), &[])
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("RemoteIPHeader X Y\n"),
            "/etc/slotgate/t.conf:1: RemoteIPHeader takes one argument, got 2"
        );
        assert_eq!(
            err("RemoteIPProxiesHeader a:b\n"),
            "/etc/slotgate/t.conf:1: RemoteIPProxiesHeader: 'a:b' is not a header name"
        );
        assert!(err("RemoteIPTrustedProxy\n").contains("takes one or more addresses"));
    }
}
