//! httpd-syntax configuration: a lexer that turns files into a directive tree
//! (comments, continuations, quotes, sections, Include, Define, IfDefine, IfModule)
//! and a builder that turns the tree into the typed [`Config`]. Every error names
//! file and line.

mod types;

pub use types::*;

use std::path::Path;

/// A configuration error; `Display` gives `FILE:LINE: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub origin: Option<Origin>,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.origin {
            Some(o) => write!(f, "{}: {}", o, self.message),
            None => write!(f, "{}", self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Reads `path` (and everything it includes) with the `-D` names in `defines`.
pub fn load(path: &Path, defines: &[String]) -> Result<Config, ConfigError> {
    let _ = (path, defines);
    todo!("config helper")
}
