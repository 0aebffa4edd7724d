//! `config::parse_str` on arbitrary text (invalid UTF-8 replaced), as the file
//! `$TMPDIR/slotgate-fuzz/fuzz.conf` (which does not exist) with `-D FUZZ`.
//!
//! It must never panic; errors are fine, but an error must name the fuzzed file and a
//! line that exists in it, format without panicking, and be the same when the text is
//! parsed again.
//!
//! Hermetic: the parse must touch neither the filesystem's contents nor the network.
//! - Inputs that could run `Include` / `IncludeOptional` are skipped: any input holding
//!   "include" in any case once line continuations (`\` + newline) are joined, and any
//!   input that both substitutes (`${`) and defines (`define`), since a `Define`d value
//!   can spell the directive. (`${NAME}` also reads the environment: run with an
//!   environment that holds no part of "include" in a value; a usual one does not.)
//! - Host names (`Listen name:80`, `<VirtualHost name:80>`, `ServerName`) would be looked
//!   up with getaddrinfo, asking the machine's resolver; this binary defines its own
//!   `getaddrinfo`, which the linker prefers to libc's, and which finds no name. IP
//!   literals never reach it (std parses them first).
//! `ServerRoot DIR` still checks that DIR is a directory (a stat, no read).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::os::raw::{c_char, c_int, c_void};
use std::path::PathBuf;
use std::sync::OnceLock;

/// glibc's EAI_NONAME ("Name or service not known").
const EAI_NONAME: c_int = -2;

/// Replaces libc's resolver for this binary: no name resolves, nothing is sent. std only
/// reads `res` on success, so it is left untouched.
#[no_mangle]
pub extern "C" fn getaddrinfo(
    _node: *const c_char,
    _service: *const c_char,
    _hints: *const c_void,
    _res: *mut *mut c_void,
) -> c_int {
    EAI_NONAME
}

/// Whether parsing `text` could reach `Include`: see the module comment.
fn could_include(text: &str) -> bool {
    let joined = text
        .replace("\\\r\n", "")
        .replace("\\\n", "")
        .to_ascii_lowercase();
    joined.contains("include") || (joined.contains("${") && joined.contains("define"))
}

fn fake_file() -> &'static PathBuf {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| std::env::temp_dir().join("slotgate-fuzz").join("fuzz.conf"))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if could_include(&text) {
        return;
    }
    let file = fake_file();
    let defines = ["FUZZ".to_string()];
    let Err(err) = slotgate::config::parse_str(&text, file, &defines) else {
        return;
    };
    let shown = err.to_string();
    assert!(!shown.is_empty());
    if let Some(origin) = &err.origin {
        assert_eq!(origin.file.as_path(), file.as_path(), "{shown}");
        let lines = text.split('\n').count();
        assert!(origin.line <= lines, "{shown}: the text has {lines} lines");
    }
    let again =
        slotgate::config::parse_str(&text, file, &defines).expect_err("parsed the second time");
    assert_eq!(err, again, "two parses of the same text disagree");
});
