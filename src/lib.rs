//! slotgate: a reverse proxy and HTTP load balancer with Apache httpd's
//! mod_proxy semantics and configuration syntax.
//!
//! Architecture: a supervisor process (`supervisor`) reads the httpd-syntax
//! configuration (`config`), binds every listener, creates the shared scoreboard
//! (the `scoreboard` crate: a memory-mapped file of process and member slots) and
//! forks worker processes. Each worker (`worker`) runs one mio event loop that
//! accepts connections, parses requests (`http`), routes them with the ProxyPass
//! rules (`proxy`) and streams them to members and back, keeping its process slot
//! and the member slots current, so every process and `slotgate-top` sees the
//! state of the whole server. How values are written for people and files (byte
//! sizes, escaping, dates, the local time zone) lives once, in the leaf module
//! `text`, which every layer and the tools use.

pub mod access;
pub mod balancer;
pub mod config;
pub mod handlers;
pub mod hcheck;
pub mod http;
pub mod logging;
pub mod pool;
pub mod proxy;
pub mod recycle;
pub mod supervisor;
pub mod text;
pub mod tls;
pub mod worker;
