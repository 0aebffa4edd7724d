//! Reverse-proxy routing: ProxyPass rules (with `!` exclusions and httpd's
//! prefix matching), virtual hosts, the members and balancers the rules lead to,
//! the headers sent each way, and ProxyPassReverse.

pub mod express;
pub mod files;
pub mod forward;
pub mod reverse;
pub mod routes;

pub use routes::{member_target, Member, Route, RouteError, Routes, Server};
