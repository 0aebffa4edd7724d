//! `BalancerPersist On` (to be filled).

use scoreboard::Scoreboard;

/// Balancer slot flag bit set by the supervisor on every balancer when
/// `BalancerPersist On`: manager and `slotgate-top` changes are saved.
pub const PERSIST_FLAG: u32 = 0x1;

/// Saves when persistence is on (to be filled).
pub fn save_if_enabled(_sb: &Scoreboard) {}
