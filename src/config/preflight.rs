//! What a start needs of the machine, checked without changing it: the accounts
//! of `User` and `Group` and the files slotgate writes (logs, PidFile, the
//! scoreboard); the certificates are `tls::key_errors`'. `-t`, a start and a
//! reload all run these checks (`supervisor::check`), so `-t` answers "this
//! configuration will start", and each finding names the line that asked for the
//! file or account.

use std::path::Path;

use nix::unistd::{access, AccessFlags, Group, User};

use super::{Config, ConfigError, Origin};

/// Every problem found, in the order: accounts, files.
pub fn environment(cfg: &Config) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    let at = |origin: &Option<Origin>| origin.clone().unwrap_or_else(|| config_file(cfg));
    if let Some(user) = &cfg.user {
        if let Err(m) = account("User", user, |n| User::from_name(n).map(|u| u.is_some())) {
            errors.push(ConfigError::at(&at(&cfg.origins.user), m));
        }
    }
    if let Some(group) = &cfg.group {
        if let Err(m) = account("Group", group, |n| Group::from_name(n).map(|g| g.is_some())) {
            errors.push(ConfigError::at(&at(&cfg.origins.group), m));
        }
    }
    if let Some(path) = &cfg.error_log {
        if let Err(m) = writable_file(path) {
            let origin = at(&cfg.origins.error_log);
            errors.push(ConfigError::at(
                &origin,
                format!("ErrorLog {}: {m}", path.display()),
            ));
        }
    }
    let logs = cfg
        .custom_logs
        .iter()
        .chain(cfg.vhosts.iter().flat_map(|v| &v.custom_logs));
    for log in logs.filter(|l| l.pipe.is_none()) {
        if let Err(m) = writable_file(&log.path) {
            let message = format!("CustomLog {}: {m}", log.path.display());
            errors.push(ConfigError::at(&log.origin, message));
        }
    }
    if let Some(path) = &cfg.pid_file {
        if let Err(m) = writable_file(path) {
            let origin = at(&cfg.origins.pid_file);
            errors.push(ConfigError::at(
                &origin,
                format!("PidFile {}: {m}", path.display()),
            ));
        }
    }
    // The scoreboard is created beside its final name and renamed over it.
    if let Err(m) = writable_directory(&cfg.scoreboard_file) {
        let origin = at(&cfg.origins.scoreboard_file);
        let message = format!("ScoreboardFile {}: {m}", cfg.scoreboard_file.display());
        errors.push(ConfigError::at(&origin, message));
    }
    errors
}

/// The main configuration file, for a default that no line set.
fn config_file(cfg: &Config) -> Origin {
    Origin::file_only(std::sync::Arc::new(cfg.file.clone()))
}

/// `name` or `#id` names an account (an id is taken as it is, as httpd does).
fn account(
    what: &str,
    name: &str,
    exists: impl Fn(&str) -> nix::Result<bool>,
) -> Result<(), String> {
    if name.starts_with('#') {
        return Ok(());
    }
    match exists(name) {
        Ok(true) => Ok(()),
        Ok(false) => Err(format!(
            "{what} '{name}': no such {}",
            what.to_ascii_lowercase()
        )),
        Err(e) => Err(format!("{what} '{name}': looking it up: {e}")),
    }
}

/// A file slotgate appends to: writable if it exists, else its directory exists
/// and is writable.
fn writable_file(path: &Path) -> Result<(), String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Err("is a directory".to_string()),
        Ok(_) => access(path, AccessFlags::W_OK)
            .map_err(|e| format!("cannot be written by this user: {}", e.desc())),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            writable_directory(path)
        }
        Err(e) => Err(e.to_string()),
    }
}

/// The directory of `path` exists and files can be created in it.
fn writable_directory(path: &Path) -> Result<(), String> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    match std::fs::metadata(dir) {
        Ok(m) if !m.is_dir() => Err(format!("{} is not a directory", dir.display())),
        Ok(_) => access(dir, AccessFlags::W_OK | AccessFlags::X_OK)
            .map_err(|e| format!("no file can be created in {}: {}", dir.display(), e.desc())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(format!("the directory {} does not exist", dir.display()))
        }
        Err(e) => Err(format!("{}: {e}", dir.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_directories() {
        let dir = std::env::temp_dir().join(format!("slotgate-preflight-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(writable_file(&dir.join("new.log")), Ok(()));
        assert_eq!(writable_file(&dir), Err("is a directory".to_string()));
        let missing = dir.join("missing/new.log");
        assert_eq!(
            writable_file(&missing),
            Err(format!(
                "the directory {} does not exist",
                dir.join("missing").display()
            ))
        );
        std::fs::write(dir.join("plain"), "").unwrap();
        assert_eq!(
            writable_file(&dir.join("plain/x.log")),
            Err(format!(
                "{} is not a directory",
                dir.join("plain").display()
            ))
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn accounts() {
        assert_eq!(account("User", "#1234", |_| Ok(false)), Ok(()));
        assert_eq!(account("User", "svc", |_| Ok(true)), Ok(()));
        assert_eq!(
            account("Group", "nosuch", |_| Ok(false)),
            Err("Group 'nosuch': no such group".to_string())
        );
    }
}
