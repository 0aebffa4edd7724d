//! Tests of the whole path text → Config (the lexer and value parsers have their own unit
//! tests beside them).

mod balancers;
mod cgi;
mod directives;
mod express;
mod handlers;
mod health;
mod httpd_core;
mod logs;
mod mpm;
mod protocol;
mod proxy_pass;
mod reading;
mod regex_rules;
mod vhosts;
mod watchdog;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{load, parse_str, Config, ConfigError, PassTarget};

/// The main file every inline test pretends to be.
pub(super) const FILE: &str = "/etc/slotgate/test.conf";

/// A Listen line so that inline configurations are complete.
pub(super) const LISTEN: &str = "Listen 127.0.0.1:0\n";

pub(super) fn parse(text: &str) -> Result<Config, ConfigError> {
    parse_str(text, Path::new(FILE), &[])
}

pub(super) fn parse_with(text: &str, defines: &[&str]) -> Result<Config, ConfigError> {
    let defines: Vec<String> = defines.iter().map(|d| d.to_string()).collect();
    parse_str(text, Path::new(FILE), &defines)
}

/// The error text of a configuration that must fail.
pub(super) fn error(text: &str) -> String {
    match parse(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// The configuration of text that must parse (with a Listen line added in front).
pub(super) fn config(text: &str) -> Config {
    let text = format!("{LISTEN}{text}");
    parse(&text).unwrap_or_else(|e| panic!("{e}\n--- config:\n{text}"))
}

/// The ProxyPass paths in evaluation order.
pub(super) fn pass_paths(c: &Config) -> Vec<&str> {
    c.proxy_pass.iter().map(|r| r.path.as_str()).collect()
}

pub(super) fn pass_url(c: &Config, index: usize) -> &str {
    match &c.proxy_pass[index].target {
        PassTarget::Url(u) => u,
        PassTarget::Exclude => "!",
    }
}

/// A scratch directory under the system temp dir, removed on drop.
pub(super) struct ScratchDir(pub PathBuf);

impl ScratchDir {
    pub fn new(tag: &str) -> ScratchDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("slotgate-config-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        ScratchDir(dir)
    }

    /// Writes `text` to `relative` (creating directories) and returns the full path.
    pub fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.0.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn path(&self, relative: &str) -> String {
        self.0.join(relative).display().to_string()
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every example in conf/ must parse, so the examples never rot.
#[test]
fn every_example_in_conf_parses() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("conf");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no *.conf in {}", dir.display());
    let failures: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let expected = EXPECTED_ERRORS.iter().find(|(file, _)| *file == name);
            match (load(f, &[]), expected) {
                (Ok(_), None) => None,
                (Err(e), None) => Some(e.to_string()),
                (Err(e), Some((_, want))) if e.to_string().contains(want) => None,
                (Err(e), Some((_, want))) => Some(format!("{e} (expected an error with {want:?})")),
                (Ok(_), Some((_, want))) => Some(format!("{name} loaded; expected {want:?}")),
            }
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The examples in conf/ that must fail, and the error they fail with: the
/// talk's configuration has an h2c:// member (HTTP/2, issue #17).
const EXPECTED_ERRORS: &[(&str, &str)] = &[(
    "putting-it-all-together.conf",
    ":26: ProxyPass: 'h2c://pappy:80/': h2c:// members speak HTTP/2, which slotgate does not serve yet (issue #17)",
)];

#[test]
fn load_names_a_missing_file() {
    let scratch = ScratchDir::new("missing");
    let path = scratch.0.join("nope.conf");
    let err = load(&path, &[]).unwrap_err();
    assert_eq!(err.origin, None);
    assert!(
        err.to_string().starts_with(&format!(
            "could not open configuration file {}: ",
            path.display()
        )),
        "{err}"
    );
}

#[test]
fn load_reads_a_file_and_defaults_server_root_to_its_directory() {
    let scratch = ScratchDir::new("load");
    let main = scratch.write("main.conf", "Listen 127.0.0.1:0\nPidFile run/x.pid\n");
    let c = load(&main, &[]).unwrap();
    assert_eq!(c.file, main);
    assert_eq!(c.server_root, scratch.0);
    assert_eq!(c.pid_file, Some(scratch.0.join("run/x.pid")));
    assert_eq!(c.scoreboard_file, scratch.0.join("slotgate.scoreboard"));
}
