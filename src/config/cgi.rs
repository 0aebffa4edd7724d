//! What FastCGI, SCGI and uwsgi members need from the configuration beyond
//! their URL: `ProxyFCGIBackendType` (mod_proxy_fcgi), `DocumentRoot` (core),
//! and the handler form php-fpm's packaging pastes,
//!
//! ```text
//! <FilesMatch "\.php$">
//!     SetHandler "proxy:unix:/run/php/php8.2-fpm.sock|fcgi://localhost"
//! </FilesMatch>
//! ```
//!
//! which sends a request whose path maps to a matching file under
//! `DocumentRoot` to that member (see `crate::proxy::files`).

use super::reader::Directive;
use super::scope::{check, fail, named, one_arg, Ctx};
use super::{ConfigError, Origin};
use crate::codec::cgi::{Backend, EnvFixup};

/// The CGI-related settings of the main server or of one virtual host.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CgiConfig {
    /// `DocumentRoot`, without a trailing '/'.
    pub document_root: Option<String>,
    /// Where `DocumentRoot` was set (for the warning when no handler uses it).
    pub document_root_origin: Option<Origin>,
    /// `ProxyFCGIBackendType` (main server only).
    pub backend: Option<Backend>,
    /// `<Files>` / `<FilesMatch>` sections with `SetHandler "proxy:…"`, in file order.
    pub file_handlers: Vec<FileHandler>,
    /// `ProxyFCGISetEnvIf` lines (main server only), in file order.
    pub fixups: Vec<EnvFixup>,
}

/// A `<Files>` / `<FilesMatch>` section that hands matching files to a member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileHandler {
    pub pattern: FilePattern,
    /// The member URL, `proxy:` removed (`unix:/sock|fcgi://localhost`).
    pub url: String,
    pub origin: Origin,
}

/// How a section names files: matched against the file's name (its last
/// path segment), as httpd matches `<Files>` sections.
#[derive(Clone, Debug)]
pub enum FilePattern {
    /// `<FilesMatch re>` or `<Files ~ re>`.
    Regex(regex::Regex),
    /// `<Files name>`: `*` and `?` wildcards.
    Wildcard(String),
}

/// Two patterns are the same when written the same (a regex by its source).
impl PartialEq for FilePattern {
    fn eq(&self, other: &FilePattern) -> bool {
        match (self, other) {
            (FilePattern::Regex(a), FilePattern::Regex(b)) => a.as_str() == b.as_str(),
            (FilePattern::Wildcard(a), FilePattern::Wildcard(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for FilePattern {}

impl FilePattern {
    pub fn matches(&self, name: &str) -> bool {
        match self {
            FilePattern::Regex(re) => re.is_match(name),
            FilePattern::Wildcard(w) => wildcard(w.as_bytes(), name.as_bytes()),
        }
    }
}

/// `*` (any run) and `?` (one byte) against `text`, the rest literally.
fn wildcard(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

/// The schemes a file handler may name: the CGI-style protocols, whose
/// members are given the file (`SCRIPT_FILENAME`); an HTTP member would be
/// sent only the path.
const FILE_SCHEMES: &[&str] = &["fcgi", "scgi", "uwsgi"];

/// A directive of this file at server or vhost level; Ok(false) when `d` is
/// none of them. `main`: the main server (where `ProxyFCGIBackendType` goes).
pub(super) fn directive(
    cfg: &mut CgiConfig,
    ctx: &mut Ctx,
    d: &Directive,
    main: bool,
) -> Result<bool, ConfigError> {
    if d.children.is_some() {
        if named(d, &["Files", "FilesMatch"]).is_none() || !has_proxy_handler(d) {
            return Ok(false);
        }
        cfg.file_handlers.push(file_handler(ctx, d)?);
        return Ok(true);
    }
    if d.is("DocumentRoot") {
        let path = one_arg(d, "DocumentRoot")?;
        if !path.starts_with('/') {
            return Err(fail(
                d,
                format!("DocumentRoot '{path}' must be an absolute path"),
            ));
        }
        let trimmed = path.trim_end_matches('/');
        cfg.document_root = Some(if trimmed.is_empty() { "/" } else { trimmed }.to_string());
        cfg.document_root_origin = Some(d.origin.clone());
        return Ok(true);
    }
    if d.is("ProxyFCGISetEnvIf") {
        if !main {
            return Err(fail(
                d,
                "ProxyFCGISetEnvIf is supported at server level only (it applies to every \
                 fcgi:// member); not inside <VirtualHost>",
            ));
        }
        cfg.fixups.push(fixup(d)?);
        return Ok(true);
    }
    if let Some(name) = named(d, &["ProxySCGIInternalRedirect", "ProxySCGISendfile"]) {
        // slotgate passes a script's `Location: /path` to the client and
        // sends no file a header names: what `Off` says.
        let arg = one_arg(d, name)?;
        if !arg.eq_ignore_ascii_case("off") {
            return Err(fail(
                d,
                format!(
                    "{name} {arg} is not supported: slotgate follows no internal redirect and \
                     sends no file for an SCGI script (only {name} Off)"
                ),
            ));
        }
        return Ok(true);
    }
    if d.is("ProxyFCGIBackendType") {
        let arg = one_arg(d, "ProxyFCGIBackendType")?;
        if !main {
            return Err(fail(
                d,
                "ProxyFCGIBackendType is supported at server level only (it applies to every \
                 fcgi:// member); not inside <VirtualHost>",
            ));
        }
        cfg.backend = Some(check(d, backend(arg))?);
        return Ok(true);
    }
    Ok(false)
}

/// `ProxyFCGISetEnvIf condition [!]NAME [value]`.
fn fixup(d: &Directive) -> Result<EnvFixup, ConfigError> {
    let (condition, name, value) = match d.args.as_slice() {
        [c, n] => (c, n, None),
        [c, n, v] => (c, n, Some(v)),
        _ => {
            return Err(fail(
                d,
                "ProxyFCGISetEnvIf takes a condition, a variable name (! to unset it) and an \
                 optional value",
            ))
        }
    };
    let condition = check(
        d,
        crate::expr::parse_request(condition)
            .map_err(|m| format!("ProxyFCGISetEnvIf: the condition '{condition}': {m}")),
    )?;
    let (unset, name) = match name.strip_prefix('!') {
        Some(n) => (true, n),
        None => (false, name.as_str()),
    };
    if name.is_empty() {
        return Err(fail(d, "ProxyFCGISetEnvIf: empty variable name"));
    }
    let value = match (unset, value) {
        (true, Some(_)) => {
            return Err(fail(
                d,
                format!("ProxyFCGISetEnvIf: !{name} removes the variable and takes no value"),
            ))
        }
        (true, None) => None,
        (false, None) => Some(crate::expr::Word::Literal(String::new())),
        (false, Some(v)) => {
            let bytes = v.as_bytes();
            if bytes
                .windows(2)
                .any(|w| w[0] == b'$' && w[1].is_ascii_digit())
            {
                return Err(fail(
                    d,
                    format!(
                        "ProxyFCGISetEnvIf: the value '{v}' uses regular-expression \
                         back-references ($1…), which slotgate does not support yet"
                    ),
                ));
            }
            Some(check(
                d,
                crate::expr::parse_request_string(v)
                    .map_err(|m| format!("ProxyFCGISetEnvIf: the value '{v}': {m}")),
            )?)
        }
    };
    Ok(EnvFixup {
        condition,
        name: name.to_string(),
        value,
    })
}

/// Once a server's lines are read: a `DocumentRoot` that no `<FilesMatch>`
/// proxy handler of that server uses is worth a warning (it serves no files).
pub(super) fn finish(cfg: &CgiConfig, ctx: &mut Ctx) {
    if let (Some(origin), true) = (&cfg.document_root_origin, cfg.file_handlers.is_empty()) {
        ctx.warn(
            origin,
            "DocumentRoot serves no files in slotgate: it only maps requests for <FilesMatch> \
             proxy handlers and is DOCUMENT_ROOT for FastCGI, SCGI and uwsgi members",
        );
    }
}

fn backend(arg: &str) -> Result<Backend, String> {
    match arg.to_ascii_lowercase().as_str() {
        "fpm" => Ok(Backend::Fpm),
        "generic" => Ok(Backend::Generic),
        _ => Err(format!(
            "ProxyFCGIBackendType: expected FPM or GENERIC, got '{arg}'"
        )),
    }
}

/// Whether a section holds `SetHandler "proxy:…"`.
pub(super) fn has_proxy_handler(d: &Directive) -> bool {
    d.children.iter().flatten().any(|c| {
        c.is("SetHandler")
            && c.args
                .first()
                .and_then(|a| a.get(..6))
                .is_some_and(|p| p.eq_ignore_ascii_case("proxy:"))
    })
}

fn file_handler(ctx: &mut Ctx, d: &Directive) -> Result<FileHandler, ConfigError> {
    let tag = if d.is("FilesMatch") {
        "FilesMatch"
    } else {
        "Files"
    };
    let pattern = match (tag, d.args.as_slice()) {
        ("FilesMatch", [re]) => regex_pattern(d, tag, re)?,
        ("Files", [tilde, re]) if tilde == "~" => regex_pattern(d, tag, re)?,
        ("Files", [name]) => FilePattern::Wildcard(name.clone()),
        _ => {
            return Err(fail(
                d,
                format!("<{tag}> takes one argument (a file name pattern)"),
            ))
        }
    };
    let mut url = None;
    for c in d.children.iter().flatten() {
        if c.is("SetHandler") {
            let arg = one_arg(c, "SetHandler")?;
            let member = &arg[6..];
            let scheme = crate::url::after_socket(member)
                .split_once("://")
                .map(|(s, _)| s.to_ascii_lowercase())
                .unwrap_or_default();
            if !FILE_SCHEMES.contains(&scheme.as_str()) {
                return Err(fail(
                    c,
                    format!(
                        "SetHandler \"{arg}\" inside <{tag}>: only fcgi://, scgi:// and uwsgi:// \
                         members take files (use ProxyPass for an HTTP member)"
                    ),
                ));
            }
            // The URL is checked as any member's (scheme, host, port, socket path).
            check(c, crate::url::parse_member_url(member).map(|_| ()))?;
            check(
                c,
                super::parse_backend_url(crate::url::after_socket(member))
                    .map(|_| ())
                    .map_err(|m| format!("SetHandler: {m}")),
            )?;
            url = Some(member.to_string());
        } else if c.children.is_some() {
            return Err(fail(
                c,
                format!(
                    "<{}> inside <{tag}> with SetHandler is not supported",
                    c.name
                ),
            ));
        } else if !access_line(ctx, c, tag)? {
            return Err(fail(
                c,
                format!(
                    "{} inside <{tag}> with SetHandler \"proxy:…\" is not supported (only \
                     SetHandler and access lines that grant access)",
                    c.name
                ),
            ));
        }
    }
    Ok(FileHandler {
        pattern,
        url: url.expect("has_proxy_handler found it"),
        origin: d.origin.clone(),
    })
}

/// An access line inside a `<FilesMatch>` proxy handler (pasted sections
/// carry them): one that only grants access is ignored with a warning; one
/// that restricts access is refused, since ignoring it would open what the
/// operator meant to close. Ok(false) when `d` is no access line.
fn access_line(ctx: &mut Ctx, d: &Directive, tag: &str) -> Result<bool, ConfigError> {
    let Some(name) = named(d, &["Require", "Order", "Allow", "Deny", "Satisfy"]) else {
        return Ok(false);
    };
    let args: Vec<String> = d.args.iter().map(|a| a.to_ascii_lowercase()).collect();
    let grants = match name {
        "Require" => args == ["all", "granted"],
        "Allow" => args == ["from", "all"],
        "Order" | "Satisfy" => true,
        _ => false,
    };
    let line = format!("{name} {}", d.args.join(" "));
    if !grants {
        return Err(fail(
            d,
            format!(
                "'{}' inside <{tag}> with SetHandler \"proxy:…\" is not supported yet: slotgate \
                 enforces access rules in <Location> and <Proxy> sections, and ignoring a \
                 restriction would open access",
                line.trim_end()
            ),
        ));
    }
    ctx.warn(
        &d.origin,
        format!(
            "'{}' inside <{tag}> is ignored (everything is allowed there)",
            line.trim_end()
        ),
    );
    Ok(true)
}

fn regex_pattern(d: &Directive, tag: &str, re: &str) -> Result<FilePattern, ConfigError> {
    let re = regex::Regex::new(re).map_err(|e| format!("<{tag}>: bad regular expression: {e}"));
    Ok(FilePattern::Regex(check(d, re)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_files_sections_do() {
        for (p, name, want) in [
            ("*.php", "index.php", true),
            ("*.php", "index.phps", false),
            ("index.?hp", "index.php", true),
            ("*", "", true),
            ("a*b*c", "aXXbYc", true),
            ("a*b*c", "aXXbY", false),
            ("wp-login.php", "wp-login.php", true),
        ] {
            assert_eq!(wildcard(p.as_bytes(), name.as_bytes()), want, "{p} {name}");
        }
    }
}
