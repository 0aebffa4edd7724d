//! Member (worker) status bits, with the same values, letters and display
//! names as httpd's `PROXY_WORKER_*` flags.

/// Initialised (letter `O`).
pub const INIT: u32 = 0x1;
/// Ignore errors: never put in error state (letter `I`).
pub const IGNORE_ERRORS: u32 = 0x2;
/// Draining: only sticky requests (letter `N`).
pub const DRAIN: u32 = 0x4;
/// Generic (default) worker (letter `G`).
pub const GENERIC: u32 = 0x8;
/// Shutting down (letter `U`).
pub const SHUTDOWN: u32 = 0x10;
/// Disabled by the administrator (letter `D`).
pub const DISABLED: u32 = 0x20;
/// Stopped by the administrator (letter `S`).
pub const STOPPED: u32 = 0x40;
/// In error state (letter `E`).
pub const ERROR: u32 = 0x80;
/// Hot standby (letter `H`).
pub const HOT_STANDBY: u32 = 0x100;
/// Free slot (letter `F`).
pub const FREE: u32 = 0x200;
/// Health check failed (letter `C`).
pub const HC_FAILED: u32 = 0x400;
/// Hot spare (letter `R`).
pub const HOT_SPARE: u32 = 0x800;

/// Bits that make a member unusable even when initialised.
pub const NOT_USABLE: u32 = SHUTDOWN | DISABLED | STOPPED | ERROR | HC_FAILED;

/// Every flag in display order: (bit, letter, display name).
pub const TABLE: [(u32, char, &str); 12] = [
    (INIT, 'O', "Init "),
    (IGNORE_ERRORS, 'I', "Ign "),
    (DRAIN, 'N', "Drn "),
    (GENERIC, 'G', "Gen "),
    (SHUTDOWN, 'U', "Shut "),
    (DISABLED, 'D', "Dis "),
    (STOPPED, 'S', "Stop "),
    (ERROR, 'E', "Err "),
    (HOT_STANDBY, 'H', "Stby "),
    (FREE, 'F', "Free "),
    (HC_FAILED, 'C', "HcFl "),
    (HOT_SPARE, 'R', "Spar "),
];

/// httpd's status string: the names of the set flags in table order, `"??? "`
/// if none is set, then `"Ok "` if the member is usable.
/// E.g. `"Init Ok "`, `"Init Err "`, `"Init Stby Ok "`, `"Init Dis "`.
pub fn display(bits: u32) -> String {
    let mut out = String::new();
    for (bit, _, name) in TABLE {
        if bits & bit != 0 {
            out.push_str(name);
        }
    }
    if out.is_empty() {
        out.push_str("??? ");
    }
    if is_usable(bits) {
        out.push_str("Ok ");
    }
    out
}

/// Initialised and none of [`NOT_USABLE`] set.
pub fn is_usable(bits: u32) -> bool {
    bits & INIT != 0 && bits & NOT_USABLE == 0
}

/// The letters of the set flags in table order, e.g. `"OE"`, `"OIH"`;
/// empty if none is set.
pub fn letters(bits: u32) -> String {
    TABLE
        .iter()
        .filter(|(bit, _, _)| bits & bit != 0)
        .map(|&(_, letter, _)| letter)
        .collect()
}

/// The bit for a status letter (case-insensitive, as in the balancer
/// manager's `w_status_X` parameters), or `None` for an unknown letter.
pub fn from_letter(letter: char) -> Option<u32> {
    let upper = letter.to_ascii_uppercase();
    TABLE
        .iter()
        .find(|&&(_, l, _)| l == upper)
        .map(|&(bit, _, _)| bit)
}
