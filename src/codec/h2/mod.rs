//! HTTP/2 (RFC 9113) foundations, protocol-neutral and not yet wired into the
//! worker (issue #17): the frame layer ([`frame`]) and header compression
//! ([`hpack`], RFC 7541). Both are pure: bytes in, frames or header lists
//! out, bounded in memory by the limits the caller gives them, and they never
//! panic on any input (`tools/fuzz` target `h2_frames`).

pub mod conn;
pub mod frame;
pub mod hpack;
