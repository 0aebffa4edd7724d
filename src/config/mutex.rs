//! `Mutex mechanism [mutex-name …] [OmitPID]` (httpd's core, main server only): which
//! lock mechanism serialises what.
//!
//! slotgate has one such lock: prefork's accept mutex (`mpm-accept`), which the
//! workers take in turn when they wait on several listeners (one listener needs none:
//! each idle worker blocks in accept, as httpd's prefork does with
//! SINGLE_LISTEN_UNSERIALIZED_ACCEPT). It is always a process-shared, robust pthread
//! mutex: httpd's default on Linux (`apache2 -V` shows APR_USE_PROC_PTHREAD_SERIALIZE).
//! The mechanisms map onto it as follows:
//!
//! - `default`, `yes`, `pthread`: the pthread mutex, as in httpd.
//! - `file`, `fcntl`, `flock`, `sysvsem`, `posixsem`, `sem`: the pthread mutex too,
//!   with a warning (the lock's behaviour, one worker at a time and released when its
//!   holder dies, is the same). Debian's stock `apache2.conf` says
//!   `Mutex file:${APACHE_LOCK_DIR} default`, so these must load.
//! - `none`, `no`: refused, as httpd refuses them for every lock it has.
//! - anything else: refused with httpd's list of mechanisms.
//!
//! Any mechanism may be written `mechanism:dir`; as httpd, a non-empty `dir`
//! (relative to ServerRoot) must be an existing directory, and is then unused.
//!
//! Mutex names (case-sensitive, as in httpd): `mpm-accept` and `default` apply; the
//! names of httpd's other locks (`rewrite-map`, `ssl-cache`, …) are accepted with a
//! warning that slotgate has no such lock; any other name is refused, as httpd refuses
//! it. `OmitPID` may stand among them (it names lock files, which slotgate has none of).

use std::path::Path;

use super::reader::Directive;
use super::scope::fail;
use super::ConfigError;

/// httpd's own wording of the valid mechanisms (its error message).
const MECHANISMS: &str = "'none', 'default', 'flock:/path/to/file', 'fcntl:/path/to/file', \
                          'file:/path/to/file', 'pthread', 'sysvsem', 'posixsem', 'sem'";

/// The mutex names httpd 2.4 registers (with the modules slotgate mirrors loaded),
/// other than `mpm-accept`: locks slotgate does not have.
const OTHER_LOCKS: &[&str] = &[
    "rewrite-map",
    "ssl-cache",
    "ssl-stapling",
    "ssl-stapling-refresh",
    "authdigest-client",
    "ldap-cache",
    "watchdog-callback",
    "proxy-balancer-shm",
    "proxy",
    "cache-socache",
];

/// Checks one `Mutex` line; Ok(warnings to print) when it loads.
pub(super) fn directive(server_root: &Path, d: &Directive) -> Result<Vec<String>, ConfigError> {
    let Some((mechanism, rest)) = d.args.split_first() else {
        return Err(fail(
            d,
            format!(
                "Mutex requires at least a mechanism argument (Mutex mechanisms are: {MECHANISMS})"
            ),
        ));
    };
    let (kind, dir) = match mechanism.split_once(':') {
        Some((kind, dir)) => (kind.to_ascii_lowercase(), Some(dir)),
        None => (mechanism.to_ascii_lowercase(), None),
    };
    let (none, substituted) = match kind.as_str() {
        "default" | "yes" | "pthread" => (false, false),
        "none" | "no" => (true, false),
        "file" | "fcntl" | "flock" | "sysvsem" | "posixsem" | "sem" => (false, true),
        _ => {
            return Err(fail(
                d,
                format!("Invalid Mutex argument {mechanism} (Mutex mechanisms are: {MECHANISMS})"),
            ))
        }
    };
    // Any mechanism may name a directory (httpd checks it whatever the mechanism;
    // empty means its default one).
    if let Some(dir) = dir.filter(|dir| !dir.is_empty()) {
        if !server_root.join(dir).is_dir() {
            return Err(fail(
                d,
                format!("Invalid Mutex directory in argument {mechanism}"),
            ));
        }
    }
    // Mutex names are case-sensitive (httpd refuses `MPM-ACCEPT` and `Default`);
    // `OmitPID` may stand anywhere among them.
    let mut names: Vec<&str> = rest
        .iter()
        .map(String::as_str)
        .filter(|a| !a.eq_ignore_ascii_case("omitpid"))
        .collect();
    if names.is_empty() {
        names.push("default");
    }
    let mut warnings = Vec::new();
    for name in names {
        let ours = name == "mpm-accept" || name == "default";
        if !ours && !OTHER_LOCKS.contains(&name) {
            return Err(fail(d, format!("Mutex type {name} is not valid")));
        }
        if none {
            return Err(fail(
                d,
                format!("None is not allowed for mutex type {name}"),
            ));
        }
        if !ours {
            warnings.push(format!(
                "Mutex {mechanism} {name} ignored: slotgate has no {name} lock"
            ));
        } else if substituted {
            warnings.push(format!(
                "Mutex {mechanism} {name}: slotgate's accept mutex is a process-shared \
                 pthread mutex (httpd's default on Linux); it serialises accept the same way"
            ));
        }
    }
    Ok(warnings)
}
