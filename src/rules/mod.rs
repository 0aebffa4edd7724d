//! What httpd's neighbour modules of mod_proxy do to a request, one file per module.

pub mod remoteip;
