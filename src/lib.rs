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
//! state of the whole server.
//!
//! Layers, lowest first; a module uses only those below it. Leaves, which
//! depend on nothing else in the crate: `url` (URL and path pieces), `expr`
//! (the ap_expr subset), `access` (`Require`), `proxy_protocol` (the PROXY
//! header codec), `process` (fork, allocation count), `recycle`, and `text`
//! (how values are written for people and files: byte sizes, escaping, dates,
//! the local time zone; the tools use it too). Then `http`, `config` (which
//! owns the values it names, such as `config::lbmethod`), `tls`, `logging`,
//! `pool`, `balancer`, `codec` (one member protocol per codec: how a request
//! is written for a member and its answer read back), `proxy` (routes of a
//! generation), `handlers`, `hcheck`, `worker`, and on top `supervisor`.

pub mod access;
pub mod balancer;
pub mod codec;
pub mod config;
pub mod expr;
pub mod handlers;
pub mod hcheck;
pub mod http;
pub mod logging;
pub mod pool;
pub mod process;
pub mod proxy;
pub mod proxy_protocol;
pub mod recycle;
pub mod rules;
pub mod supervisor;
pub mod text;
pub mod tls;
pub mod url;
pub mod worker;
