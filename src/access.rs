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
