//! slotgate: a reverse proxy and HTTP load balancer with httpd's mod_proxy semantics.
pub mod config;
