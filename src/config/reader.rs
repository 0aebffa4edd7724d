//! Files → directive tree. This is the part of httpd's configuration reading that happens
//! while the text is read ("EXEC_ON_READ" in httpd): `Include`/`IncludeOptional`,
//! `Define`/`UnDefine` and `${NAME}`, `<IfDefine>`/`<IfModule>`, `ServerRoot` (which
//! changes the base of later relative `Include` paths), and the choice of MPM (`MPM`,
//! `LoadModule mpm_…_module`, which later `<IfModule>`s see; see `mpm.rs`). Everything
//! else, `LoadModule` included, is kept as a [`Directive`] for the builder.
//!
//! Sections must be closed in the file that opened them, as in httpd: each included file
//! starts with no open section. A true `<IfDefine>`/`<IfModule>` disappears from the tree
//! (its body is spliced into the enclosing level); a false one is skipped without
//! substituting or including anything, but its body must still be well nested.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::lexer::{self, Line, LineKind};
use super::mpm::MpmSelection;
use super::{ConfigError, Mpm, Origin};

/// How many files deep `Include` may nest (the main file is level 0).
pub(crate) const MAX_INCLUDE_DEPTH: usize = 32;

/// Modules slotgate stands in for, by httpd base name: `<IfModule>` is true for
/// `mod_NAME.c` and `NAME_module`, compared case-insensitively (httpd compares these exactly;
/// a false `<IfModule>` because of case would only confuse).
const MODULES: &[&str] = &[
    // Built into httpd itself (Debian's `apache2 -l`): the core and the modules of
    // LoadModule, LogFormat/CustomLog, %I/%O, User/Group; then RequestReadTimeout.
    "core",
    "so",
    "http",
    "log_config",
    "logio",
    "unixd",
    "reqtimeout",
    "proxy",
    "proxy_http",
    "proxy_balancer",
    "lbmethod_byrequests",
    "lbmethod_bytraffic",
    "lbmethod_bybusyness",
    "lbmethod_heartbeat",
    "heartmonitor",
    "proxy_hcheck",
    "proxy_wstunnel",
    "proxy_express",
    "remoteip",
    "rewrite",
    "access_compat",
    "headers",
    "env",
    "setenvif",
    "slotmem_shm",
    "ssl",
    "status",
    "watchdog",
];

/// A directive or a section as written, after substitution and conditionals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Directive {
    /// The name as written; for a section, without `<` and `>`.
    pub name: String,
    pub args: Vec<String>,
    pub origin: Origin,
    /// `Some` for a section: the directives inside it.
    pub children: Option<Vec<Directive>>,
}

impl Directive {
    /// Case-insensitive name test.
    pub fn is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// What reading produced.
#[derive(Debug)]
pub(crate) struct Tree {
    pub directives: Vec<Directive>,
    /// `ServerRoot` as it stood at the end of reading.
    pub server_root: PathBuf,
    /// Already prefixed with `FILE:LINE: `.
    pub warnings: Vec<String>,
    /// The MPM chosen by `MPM` or `LoadModule mpm_…_module` (default event).
    pub mpm: Mpm,
}

/// The httpd modules whose directives slotgate serves, by base name (`proxy` for
/// `proxy_module`), httpd's built-in ones first, `mpm` (`mpm_event` or
/// `mpm_prefork`) after them: what `-M` lists.
pub(crate) fn served_modules(mpm: &'static str) -> Vec<&'static str> {
    let mut out = MODULES.to_vec();
    let builtin = out.iter().position(|&m| m == "reqtimeout").unwrap_or(0);
    out.insert(builtin, mpm);
    out
}

/// True when `<IfModule name>` (without `!`) holds for a module slotgate serves.
pub(crate) fn module_present(name: &str) -> bool {
    module_base(name).is_some_and(|b| MODULES.contains(&b.as_str()))
}

/// `headers` for `mod_headers.c` and `headers_module` (lower case).
fn module_base(name: &str) -> Option<String> {
    let name = name.to_ascii_lowercase();
    name.strip_prefix("mod_")
        .and_then(|n| n.strip_suffix(".c"))
        .or_else(|| name.strip_suffix("_module"))
        .map(str::to_string)
}

/// An open section while its body is read.
struct OpenSection {
    /// As written, without `<`.
    name: String,
    /// `<Location /x>` for messages.
    tag: String,
    origin: Origin,
}

pub(crate) struct Reader {
    /// `-D` names and `Define`s. A `-D` name and a `Define NAME` without a value have the
    /// empty value, so `${NAME}` becomes "". httpd instead leaves `${NAME}` undefined for
    /// them (checked on 2.4: "Config variable ${NAME} is not defined"), which is never what
    /// the operator meant.
    defines: HashMap<String, String>,
    server_root: PathBuf,
    warnings: Vec<String>,
    /// Files being read, outermost first (canonical paths where possible): include loops.
    files: Vec<PathBuf>,
    /// Names of the enclosing real sections (not IfDefine/IfModule), innermost last.
    sections: Vec<String>,
    mpm: MpmSelection,
    /// Modules named by `LoadModule` so far (base names): later `<IfModule>`s hold for
    /// them, as in httpd, so their bodies are read and each directive served or refused.
    loaded: Vec<String>,
}

fn at(origin: &Origin, message: impl Into<String>) -> ConfigError {
    ConfigError::at(origin, message)
}

fn canonical(path: &Path) -> PathBuf {
    fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

impl Reader {
    pub fn new(server_root: PathBuf, defines: &[String]) -> Reader {
        Reader {
            defines: defines.iter().map(|d| (d.clone(), String::new())).collect(),
            server_root,
            warnings: Vec::new(),
            files: Vec::new(),
            sections: Vec::new(),
            mpm: MpmSelection::default(),
            loaded: Vec::new(),
        }
    }

    /// Reads the main file, given its (absolute) path and text.
    pub fn read_main(mut self, file: &Path, text: &str) -> Result<Tree, ConfigError> {
        let mut directives = Vec::new();
        self.files.push(canonical(file));
        self.read_text(Arc::new(file.to_path_buf()), text, &mut directives)?;
        Ok(Tree {
            directives,
            server_root: self.server_root,
            warnings: self.warnings,
            mpm: self.mpm.mpm(),
        })
    }

    fn read_text(
        &mut self,
        file: Arc<PathBuf>,
        text: &str,
        out: &mut Vec<Directive>,
    ) -> Result<(), ConfigError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let lines = lexer::logical_lines(text);
        let mut pos = 0;
        self.read_block(&file, &lines, &mut pos, None, out)
    }

    /// Reads lines until the close of `open` (or the end of the file when `open` is None).
    fn read_block(
        &mut self,
        file: &Arc<PathBuf>,
        lines: &[Line],
        pos: &mut usize,
        open: Option<&OpenSection>,
        out: &mut Vec<Directive>,
    ) -> Result<(), ConfigError> {
        while let Some(line) = lines.get(*pos) {
            *pos += 1;
            let origin = Origin {
                file: file.clone(),
                line: line.number,
            };
            let substituted = self.substitute(&line.text, &origin);
            // A value may add blanks around the line, or be all there is on it.
            let text = substituted.trim();
            if text.is_empty() {
                continue;
            }
            match lexer::classify(text).map_err(|m| at(&origin, m))? {
                LineKind::Close { name } => return close_section(open, name, &origin),
                LineKind::Open { name, args } => {
                    let args = lexer::split_words(args).map_err(|m| at(&origin, m))?;
                    let section = OpenSection {
                        name: name.to_string(),
                        tag: tag_text(name, &args),
                        origin: origin.clone(),
                    };
                    match self
                        .conditional(name, &args, &origin)
                        .map_err(|m| at(&origin, m))?
                    {
                        Some(true) => self.read_block(file, lines, pos, Some(&section), out)?,
                        Some(false) => skip_block(lines, pos, &section)?,
                        None => {
                            let mut children = Vec::new();
                            self.sections.push(section.name.clone());
                            let read =
                                self.read_block(file, lines, pos, Some(&section), &mut children);
                            self.sections.pop();
                            read?;
                            out.push(Directive {
                                name: section.name,
                                args,
                                origin,
                                children: Some(children),
                            });
                        }
                    }
                }
                LineKind::Plain => {
                    // ProxyHCExpr takes its expression in braces (httpd's ap_getword_conf2).
                    let braced = text
                        .split_whitespace()
                        .next()
                        .is_some_and(|name| name.eq_ignore_ascii_case("ProxyHCExpr"));
                    let words = match braced {
                        true => lexer::split_words_braced(text),
                        false => lexer::split_words(text),
                    };
                    let mut words = words.map_err(|m| at(&origin, m))?;
                    let name = words.remove(0);
                    self.plain(name, words, origin, out)?;
                }
            }
        }
        match open {
            Some(section) => Err(at(
                &section.origin,
                format!("<{}> was not closed", section.name),
            )),
            None => Ok(()),
        }
    }

    /// A directive line: the read-time directives act here, the rest go into `out`.
    fn plain(
        &mut self,
        name: String,
        args: Vec<String>,
        origin: Origin,
        out: &mut Vec<Directive>,
    ) -> Result<(), ConfigError> {
        let section = self.sections.last().map(String::as_str);
        if self.mpm.line(&name, &args, &origin, section)? {
            return Ok(());
        }
        if name.eq_ignore_ascii_case("LoadModule") {
            if let Some(base) = args.first().and_then(|m| module_base(m)) {
                self.loaded.push(base);
            }
        }
        match name.to_ascii_lowercase().as_str() {
            "define" => {
                let (var, value) = match args.as_slice() {
                    [var] => (var, String::new()),
                    [var, value] => (var, value.clone()),
                    _ => return Err(at(&origin, "Define takes one or two arguments")),
                };
                if var.contains(':') {
                    return Err(at(
                        &origin,
                        format!("Define: variable name must not contain ':', got '{var}'"),
                    ));
                }
                self.defines.insert(var.clone(), value);
            }
            "undefine" => match args.as_slice() {
                [var] => {
                    self.defines.remove(var);
                }
                _ => return Err(at(&origin, "UnDefine takes one argument")),
            },
            "include" | "includeoptional" => {
                let optional = name.eq_ignore_ascii_case("includeoptional");
                let what = if optional {
                    "IncludeOptional"
                } else {
                    "Include"
                };
                match args.as_slice() {
                    [pattern] => self.include(pattern, optional, &origin, out)?,
                    _ => return Err(at(&origin, format!("{what} takes one argument"))),
                }
            }
            "serverroot" => {
                if let Some(section) = self.sections.last() {
                    return Err(at(
                        &origin,
                        format!("ServerRoot cannot occur within <{section}> section"),
                    ));
                }
                let [dir] = args.as_slice() else {
                    return Err(at(&origin, "ServerRoot takes one argument"));
                };
                let dir = self.server_root.join(dir);
                if !dir.is_dir() {
                    return Err(at(
                        &origin,
                        format!(
                            "ServerRoot must be a valid directory, '{}' is not",
                            dir.display()
                        ),
                    ));
                }
                self.server_root = dir;
            }
            _ => out.push(Directive {
                name,
                args,
                origin,
                children: None,
            }),
        }
        Ok(())
    }

    /// `Some(holds)` for `<IfDefine [!]NAME>` / `<IfModule [!]module>`, `None` for other
    /// sections. IfDefine holds for `-D` names and `Define`d names alike; an MPM module is
    /// present when it is the MPM chosen so far (see [`MpmSelection::if_module`]).
    fn conditional(
        &mut self,
        name: &str,
        args: &[String],
        origin: &Origin,
    ) -> Result<Option<bool>, String> {
        let is_define = name.eq_ignore_ascii_case("IfDefine");
        if !is_define && !name.eq_ignore_ascii_case("IfModule") {
            return Ok(None);
        }
        let [arg] = args else {
            return Err(format!("<{name}> takes one argument"));
        };
        let (negated, subject) = match arg.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, arg.as_str()),
        };
        if subject.is_empty() {
            return Err(format!("<{name}> needs a name after '!'"));
        }
        let holds = if is_define {
            self.defines.contains_key(subject)
        } else {
            self.mpm.if_module(subject, origin).unwrap_or_else(|| {
                module_present(subject)
                    || module_base(subject).is_some_and(|b| self.loaded.contains(&b))
            })
        };
        Ok(Some(holds != negated))
    }

    /// `${NAME}` from the defines, else from the environment (as httpd); undefined names
    /// stay as written and give a warning.
    fn substitute(&mut self, text: &str, origin: &Origin) -> String {
        if !text.contains("${") {
            return text.to_string();
        }
        let (text, undefined) = lexer::substitute(text, |name| {
            self.defines
                .get(name)
                .cloned()
                .or_else(|| std::env::var(name).ok())
        });
        for name in undefined {
            self.warnings.push(format!(
                "{origin}: config variable ${{{name}}} is not defined"
            ));
        }
        text
    }

    /// `Include` / `IncludeOptional`: a file, a directory (every file in it and below, in
    /// sorted order) or a glob pattern (matches in sorted order), relative to the current
    /// ServerRoot. `Include` fails when nothing is found; `IncludeOptional` does not.
    fn include(
        &mut self,
        pattern: &str,
        optional: bool,
        origin: &Origin,
        out: &mut Vec<Directive>,
    ) -> Result<(), ConfigError> {
        let what = if optional {
            "IncludeOptional"
        } else {
            "Include"
        };
        let has_wildcard = pattern.contains(['*', '?', '[']);
        let full = self.server_root.join(pattern);
        let mut files = Vec::new();
        if has_wildcard {
            let glob_text = if Path::new(pattern).is_absolute() {
                pattern.to_string()
            } else {
                let root = self
                    .server_root
                    .to_str()
                    .ok_or_else(|| at(origin, format!("{what}: ServerRoot is not valid UTF-8")))?;
                format!("{}/{pattern}", glob::Pattern::escape(root))
            };
            let options = glob::MatchOptions {
                case_sensitive: true,
                require_literal_separator: true,
                require_literal_leading_dot: true,
            };
            let paths = glob::glob_with(&glob_text, options)
                .map_err(|e| at(origin, format!("{what}: bad pattern '{pattern}': {e}")))?;
            let mut matched: Vec<PathBuf> = paths.filter_map(Result::ok).collect();
            matched.sort();
            if matched.is_empty() && !optional {
                return Err(at(
                    origin,
                    format!("Include: no file matches '{}'", full.display()),
                ));
            }
            for path in matched {
                collect_files(&path, &mut files).map_err(|e| at(origin, format!("{what}: {e}")))?;
            }
        } else if full.exists() {
            collect_files(&full, &mut files).map_err(|e| at(origin, format!("{what}: {e}")))?;
        } else if !optional {
            return Err(at(
                origin,
                format!("Include: '{}' does not exist", full.display()),
            ));
        }
        for file in files {
            self.read_included(&file, what, origin, out)?;
        }
        Ok(())
    }

    fn read_included(
        &mut self,
        file: &Path,
        what: &str,
        origin: &Origin,
        out: &mut Vec<Directive>,
    ) -> Result<(), ConfigError> {
        let key = canonical(file);
        if self.files.contains(&key) {
            return Err(at(
                origin,
                format!(
                    "{what}: include loop: '{}' is already being read",
                    file.display()
                ),
            ));
        }
        if self.files.len() > MAX_INCLUDE_DEPTH {
            return Err(at(
                origin,
                format!("{what}: files nested more than {MAX_INCLUDE_DEPTH} levels deep"),
            ));
        }
        let text = fs::read_to_string(file).map_err(|e| {
            at(
                origin,
                format!("{what}: could not read '{}': {e}", file.display()),
            )
        })?;
        self.files.push(key);
        let read = self.read_text(Arc::new(file.to_path_buf()), &text, out);
        self.files.pop();
        read
    }
}

/// A file as itself; a directory as all files in it and in its subdirectories, sorted by
/// name at each level.
fn collect_files(path: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    if !path.is_dir() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    let entries = fs::read_dir(path)
        .map_err(|e| format!("could not read directory '{}': {e}", path.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("could not read directory '{}': {e}", path.display()))?;
    paths.sort();
    for p in paths {
        collect_files(&p, files)?;
    }
    Ok(())
}

fn tag_text(name: &str, args: &[String]) -> String {
    if args.is_empty() {
        format!("<{name}>")
    } else {
        format!("<{name} {}>", args.join(" "))
    }
}

/// Checks that a closing tag closes `open`; Ok ends the block.
fn close_section(
    open: Option<&OpenSection>,
    name: &str,
    origin: &Origin,
) -> Result<(), ConfigError> {
    match open {
        None => Err(at(
            origin,
            format!("</{name}> without matching <{name}> section"),
        )),
        Some(section) if section.name.eq_ignore_ascii_case(name) => Ok(()),
        Some(section) => Err(at(
            origin,
            format!(
                "</{name}> closes {} opened at {}",
                section.tag, section.origin
            ),
        )),
    }
}

/// Skips the body of a false conditional section, checking only that it is well nested.
fn skip_block(lines: &[Line], pos: &mut usize, open: &OpenSection) -> Result<(), ConfigError> {
    while let Some(line) = lines.get(*pos) {
        *pos += 1;
        let origin = Origin {
            file: open.origin.file.clone(),
            line: line.number,
        };
        match lexer::classify(&line.text).map_err(|m| at(&origin, m))? {
            LineKind::Close { name } => return close_section(Some(open), name, &origin),
            LineKind::Open { name, args } => {
                let inner = OpenSection {
                    name: name.to_string(),
                    tag: format!("<{name}{args}>"),
                    origin,
                };
                skip_block(lines, pos, &inner)?;
            }
            LineKind::Plain => {}
        }
    }
    Err(at(&open.origin, format!("<{}> was not closed", open.name)))
}
