//! How values are written for people and files, each in one place: byte sizes
//! ([`size`]), escaping for HTML/XML, logs and terminals ([`escape`]), dates and
//! times ([`date`]) and the local time zone they use ([`zone`]), access-log lines
//! ([`log_format`]). A leaf module: it
//! needs nothing else of the crate, so every layer and the tools can use it.

pub mod date;
pub mod escape;
pub mod log_format;
pub mod size;
pub mod zone;
