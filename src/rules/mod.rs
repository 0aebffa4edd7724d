//! What httpd's neighbour modules do to a request or response on its way
//! through the proxy (DESIGN.md's `rules/`): one module per httpd module.
//! Their directives are read in `crate::config`.

pub mod remoteip;
pub mod rewrite;
