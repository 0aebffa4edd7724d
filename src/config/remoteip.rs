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
