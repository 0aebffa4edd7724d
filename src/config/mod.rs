//! httpd-syntax configuration: a lexer that turns files into a directive tree
//! (comments, continuations, quotes, sections, Include, Define, IfDefine, IfModule)
//! and a builder that turns the tree into the typed [`Config`]. Every error names
//! file and line.
//!
//! - `lexer`: text → logical lines → words, `${NAME}` substitution.
//! - `reader`: files → directive tree; the read-time directives (Include, Define,
//!   IfDefine, IfModule, ServerRoot).
//! - `build`: tree → [`Config`] (the main server's own directives, `<VirtualHost>`,
//!   final checks).
//! - `scope`: what the main server and a vhost share (ProxyPass and friends, `<Location>`,
//!   `<Proxy>`, ProxySet, BalancerMember, logs).
//! - `params`: ProxyPass / ProxyPassMatch / ProxyPassReverse and worker parameters.
//! - `balancer`: balancer names and parameters, `BalancerMember`, the balancer registry.
//! - `health`: the hc* worker parameters, ProxyHCExpr, ProxyHCTemplate, ProxyHCTPsize.
//! - `protocol`: the main server's request limits, RequestReadTimeout and the proxy's
//!   streaming switches (ProxyIOBufferSize, Proxy100Continue, ProxyBadHeader,
//!   ProxyWebsocketFallbackToProxyHttp).
//! - `logs`: LogFormat, CustomLog, TransferLog (files and piped logs).
//! - `mpm`: the MPM (`MPM`, `LoadModule mpm_…_module`, chosen while reading) and the
//!   process directives (ServerLimit, MaxRequestWorkers, spare servers, User, Group, …).
//! - `address`: Listen and `<VirtualHost>` addresses, ServerName / ServerAlias.
//! - `express`: mod_proxy_express's directives (the mass reverse proxy's map file).
//! - `rewrite`: mod_rewrite's directives in server and vhost context.
//! - `remoteip`: mod_remoteip's RemoteIPHeader and proxy lists.
//! - `tls`: mod_ssl's directives (front-end TLS per server, TLS to members).
//! - `values`: On/Off, seconds, times, bounded integers.
//! - `lbmethod`: the names of `lbmethod=` and the `hashkey=` values.
//! - `httpd`: httpd's core directives outside the proxy family (ServerTokens,
//!   ServerSignature, …), the directives accepted and ignored, and the table naming the
//!   module of a directive slotgate does not serve.
//! - `dump`: what `-S`, `-M` and `-V` print.
//! - `preflight`: what a start needs of the machine (accounts, files it writes,
//!   certificates), checked by `-t`, a start and a reload alike.

mod address;
mod balancer;
mod build;
pub mod dump;
mod env;
mod express;
mod headers;
mod health;
mod httpd;
pub mod lbmethod;
mod lexer;
mod logs;
mod mpm;
mod params;
pub mod preflight;
mod protocol;
mod reader;
mod remoteip;
mod rewrite;
mod scope;
mod tls;
mod types;
mod values;

#[cfg(test)]
mod tests;

pub use express::Express;
pub(crate) use httpd::split_port;
pub use httpd::{Presentation, ServerSignature, ServerTokens};
pub use mpm::{
    EVENT_MAX_REQUEST_WORKERS, EVENT_SERVER_LIMIT, EVENT_THREADS_PER_CHILD, MAX_SERVER_LIMIT,
    PREFORK_MAX_REQUEST_WORKERS, PREFORK_START_SERVERS,
};
pub use params::{parse_backend_url, BackendUrl};
pub use tls::{Protocols, SslServer, Tls};
pub use types::*;

use std::path::{Path, PathBuf};

/// A configuration error; `Display` gives `FILE:LINE: message` (`FILE: message` when the
/// error is about a whole file, `message` when there is no file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub origin: Option<Origin>,
    pub message: String,
}

impl ConfigError {
    /// An error at `origin`.
    pub fn at(origin: &Origin, message: impl Into<String>) -> ConfigError {
        ConfigError {
            origin: Some(origin.clone()),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.origin {
            Some(o) => write!(f, "{}: {}", o, self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Reads `path` (and everything it includes) with the `-D` names in `defines`; the
/// first error found.
pub fn load(path: &Path, defines: &[String]) -> Result<Config, ConfigError> {
    match load_all(path, defines) {
        (Some(config), errors) if errors.is_empty() => Ok(config),
        (_, mut errors) => Err(errors.swap_remove(0)),
    }
}

/// As [`load`], going on past errors: every error found (each with its file and
/// line), and the configuration without the directives in error when one could
/// be built. Errors of the file's structure (sections, quotes, `Include`) stop the
/// reading; errors of directives do not.
pub fn load_all(path: &Path, defines: &[String]) -> (Option<Config>, Vec<ConfigError>) {
    let file = absolute(path);
    let text = match std::fs::read_to_string(&file) {
        Ok(text) => text,
        Err(e) => {
            let message = format!("could not open configuration file {}: {e}", file.display());
            return (
                None,
                vec![ConfigError {
                    origin: None,
                    message,
                }],
            );
        }
    };
    let root = file
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    let (mut config, errors) = match reader::Reader::new(root, defines).read_main(&file, &text) {
        Ok(tree) => build::build_all(tree, &file),
        Err(e) => (None, vec![e]),
    };
    if defines
        .iter()
        .any(|d| mpm::ONE_PROCESS_DEFINES.contains(&d.as_str()))
    {
        if let Some(c) = config.as_mut() {
            c.one_process();
        }
    }
    (config, errors)
}

/// Parses `text` as if it were the file `file` (which need not exist): ServerRoot defaults
/// to the directory of `file`, and relative `Include`s are found from there.
pub fn parse_str(text: &str, file: &Path, defines: &[String]) -> Result<Config, ConfigError> {
    parse_absolute(text, absolute(file), defines)
}

fn parse_absolute(text: &str, file: PathBuf, defines: &[String]) -> Result<Config, ConfigError> {
    let root = file
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    let tree = reader::Reader::new(root, defines).read_main(&file, text)?;
    build::build(tree, &file)
}

/// `path` made absolute against the current directory (not canonicalised: symbolic links
/// stay as the operator wrote them).
fn absolute(path: &Path) -> PathBuf {
    if path.is_absolute() {
        return path.to_path_buf();
    }
    match std::env::current_dir() {
        Ok(dir) => dir.join(path),
        Err(_) => path.to_path_buf(),
    }
}
