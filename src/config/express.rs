//! mod_proxy_express's directives (reference §2.11): `ProxyExpressEnable`,
//! `ProxyExpressDBMFile` and `ProxyExpressDBMType`. The map itself is read by
//! `crate::proxy::express`.

use std::path::{Path, PathBuf};

use super::reader::Directive;
use super::scope::{fail, flag, one_arg};
use super::{ConfigError, Origin};

/// The mass reverse proxy settings of one server (the main server or a vhost).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Express {
    /// `ProxyExpressEnable`, default Off. A vhost takes its own setting, else the
    /// main server's: unlike httpd (which ORs the two, reference §9 #15), a vhost
    /// can turn it Off.
    pub enable: bool,
    /// `ProxyExpressDBMFile`, resolved against ServerRoot: the text map
    /// (`hostname backend-URL` lines). A vhost without one uses the main server's.
    pub map_file: Option<PathBuf>,
    /// Where `ProxyExpressDBMFile` was written.
    pub origin: Option<Origin>,
}

impl Express {
    /// The map to look requests up in: Some when enabled and a map is named.
    pub fn active_map(&self) -> Option<&Path> {
        self.map_file.as_deref().filter(|_| self.enable)
    }
}

/// The express directives of one scope while building.
#[derive(Default)]
pub(super) struct ExpressScope {
    enable: Option<(bool, Origin)>,
    file: Option<(PathBuf, Origin)>,
}

impl ExpressScope {
    /// One express directive; Ok(false) when `d` is not one.
    pub fn directive(&mut self, d: &Directive, root: &Path) -> Result<bool, ConfigError> {
        match d.name.to_ascii_lowercase().as_str() {
            "proxyexpressenable" => {
                self.enable = Some((flag(d, "ProxyExpressEnable")?, d.origin.clone()));
            }
            "proxyexpressdbmfile" => {
                let arg = one_arg(d, "ProxyExpressDBMFile")?;
                if arg.is_empty() {
                    return Err(fail(d, "ProxyExpressDBMFile: empty path"));
                }
                self.file = Some((root.join(arg), d.origin.clone()));
            }
            "proxyexpressdbmtype" => {
                let arg = one_arg(d, "ProxyExpressDBMType")?;
                if !arg.eq_ignore_ascii_case("txt") {
                    return Err(fail(
                        d,
                        format!(
                            "ProxyExpressDBMType {arg}: only 'txt' is supported (slotgate reads \
                             the text map that httxt2dbm would compile: name that file in \
                             ProxyExpressDBMFile)"
                        ),
                    ));
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The settings of this scope, a vhost's falling back on `main`'s.
    pub fn resolve(&self, main: Option<&ExpressScope>, warnings: &mut Vec<String>) -> Express {
        let enable = self
            .enable
            .as_ref()
            .or(main.and_then(|m| m.enable.as_ref()));
        let file = self.file.as_ref().or(main.and_then(|m| m.file.as_ref()));
        if let (Some((true, origin)), None) = (enable, file) {
            // Reported once, where it was written (a vhost inheriting it stays silent).
            if self.enable.is_some() {
                warnings.push(format!(
                    "{origin}: ProxyExpressEnable On without ProxyExpressDBMFile: no request \
                     is mapped (as httpd)"
                ));
            }
        }
        Express {
            enable: enable.is_some_and(|(on, _)| *on),
            map_file: file.map(|(p, _)| p.clone()),
            origin: file.map(|(_, o)| o.clone()),
        }
    }
}
