//! httpd's access control (mod_authz_core, mod_authz_host) for `<Location>`
//! sections: `Require ip|host|local|all|not`, `<RequireAll>`, `<RequireAny>`.
//!
//! (Being written: issue #7. Until it is, the type exists so the configuration
//! and the handlers can name it.)

/// The access rules of a section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Require {
    /// `Require all granted` (true) / `Require all denied` (false).
    All(bool),
}

impl Require {
    /// Whether `client` may pass; `host_of` gives the client's host name when a
    /// `Require host` rule needs it.
    pub fn allows(
        &self,
        _client: std::net::IpAddr,
        _host_of: &mut dyn FnMut(std::net::IpAddr) -> Option<String>,
    ) -> bool {
        match self {
            Require::All(granted) => *granted,
        }
    }
}
