//! `LogFormat`, `CustomLog`, `TransferLog` (mod_log_config).
//!
//! As in httpd, nicknames are resolved once everything is read, so a `LogFormat` written
//! after the `CustomLog` that uses it still applies, and a vhost sees the main server's
//! nicknames (its own win). `common` and `combined` are known even when no `LogFormat`
//! defines them (httpd leaves that to the distribution's httpd.conf). A format argument
//! that is not a nickname is the format itself.
//!
//! A log target that starts with `|` is a piped log: a command that reads the lines on its
//! standard input ([`piped_command`]), for `ErrorLog` as well.

use std::path::{Path, PathBuf};

use super::reader::Directive;
use super::{ConfigError, CustomLog, Origin};

/// httpd's `common` format (also its built-in default format).
pub(crate) const COMMON: &str = "%h %l %u %t \"%r\" %>s %b";
/// httpd's `combined` format.
pub(crate) const COMBINED: &str = "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"";

/// The logging directives of one server (the main server or a vhost).
#[derive(Debug, Default)]
pub(crate) struct LogScope {
    /// `LogFormat format nickname`, in file order (a later one with the same nickname wins).
    formats: Vec<(String, String)>,
    /// `LogFormat format` (no nickname): the format or nickname of `TransferLog` lines.
    default_format: Option<String>,
    pending: Vec<Pending>,
}

#[derive(Debug)]
struct Pending {
    /// Empty for a piped log.
    path: PathBuf,
    pipe: Option<String>,
    /// None: the default format.
    format: Option<String>,
    env: Option<(bool, String)>,
    origin: Origin,
}

impl LogScope {
    /// `LogFormat format [nickname]`.
    pub fn log_format(&mut self, d: &Directive) -> Result<(), ConfigError> {
        let (format, nickname) = match d.args.as_slice() {
            [format] => (format, None),
            [format, nickname] => (format, Some(nickname)),
            _ => {
                return Err(ConfigError::at(
                    &d.origin,
                    "LogFormat takes a format and an optional nickname",
                ))
            }
        };
        match nickname {
            Some(nickname) => {
                check_format(format).map_err(|m| ConfigError::at(&d.origin, m))?;
                self.formats
                    .retain(|(n, _)| !n.eq_ignore_ascii_case(nickname));
                self.formats.push((nickname.clone(), format.clone()));
            }
            // A single argument may be a format or the nickname of one; decided at the end.
            None => {
                if format.contains('%') {
                    check_format(format).map_err(|m| ConfigError::at(&d.origin, m))?;
                }
                self.default_format = Some(format.clone());
            }
        }
        Ok(())
    }

    /// `CustomLog path format|nickname [env=[!]VAR]` (`transfer` false) or
    /// `TransferLog path` (`transfer` true). Paths are resolved against `root`.
    /// `CustomLog path` without a format is accepted (an extension; httpd requires the
    /// format) and uses the default format, as `TransferLog`.
    pub fn custom_log(
        &mut self,
        d: &Directive,
        root: &Path,
        transfer: bool,
    ) -> Result<(), ConfigError> {
        let what = if transfer { "TransferLog" } else { "CustomLog" };
        let fail = |m: String| ConfigError::at(&d.origin, format!("{what}: {m}"));
        let (path, format, condition) =
            match (transfer, d.args.as_slice()) {
                (true, [path]) => (path, None, None),
                (true, _) => {
                    return Err(ConfigError::at(
                        &d.origin,
                        "TransferLog takes one argument, a file name",
                    ))
                }
                (false, [path]) => (path, None, None),
                (false, [path, format]) => (path, Some(format), None),
                (false, [path, format, condition]) => (path, Some(format), Some(condition)),
                (false, _) => return Err(ConfigError::at(
                    &d.origin,
                    "CustomLog takes a file name, a format or nickname, and an optional env=[!]VAR",
                )),
            };
        let pipe = piped_command(path).transpose().map_err(&fail)?;
        if path.is_empty() {
            return Err(fail("empty file name".to_string()));
        }
        if let Some(format) = format {
            // A nickname has no '%'; a format is checked now, for its line number.
            if format.contains('%') {
                check_format(format).map_err(&fail)?;
            }
        }
        let env = match condition {
            None => None,
            Some(c) => Some(env_condition(c).map_err(&fail)?),
        };
        self.pending.push(Pending {
            path: match pipe {
                Some(_) => PathBuf::new(),
                None => root.join(path),
            },
            pipe,
            format: format.cloned(),
            env,
            origin: d.origin.clone(),
        });
        Ok(())
    }

    /// The logs of this scope with every nickname resolved; `parent` is the main server's
    /// scope for a vhost. Formats that are neither nicknames nor contain a `%` directive
    /// would be logged literally, which is rarely meant: they give a warning.
    pub fn resolve(&self, parent: Option<&LogScope>, warnings: &mut Vec<String>) -> Vec<CustomLog> {
        let lookup = |name: &str| -> Option<String> {
            let found = |scope: &LogScope| {
                scope
                    .formats
                    .iter()
                    .rev()
                    .find(|(n, _)| n.eq_ignore_ascii_case(name))
                    .map(|(_, f)| f.clone())
            };
            found(self).or_else(|| parent.and_then(found)).or_else(|| {
                match name.to_ascii_lowercase().as_str() {
                    "common" => Some(COMMON.to_string()),
                    "combined" => Some(COMBINED.to_string()),
                    _ => None,
                }
            })
        };
        let default = self
            .default_format
            .as_ref()
            .or(parent.and_then(|p| p.default_format.as_ref()))
            .map_or_else(
                || COMMON.to_string(),
                |f| lookup(f).unwrap_or_else(|| f.clone()),
            );
        self.pending
            .iter()
            .map(|p| {
                let format = match &p.format {
                    None => default.clone(),
                    Some(f) => lookup(f).unwrap_or_else(|| {
                        if !f.contains('%') {
                            warnings.push(format!(
                                "{}: '{f}' is not a LogFormat nickname; it is used as the format, \
                                 so every line will read '{f}'",
                                p.origin
                            ));
                        }
                        f.clone()
                    }),
                };
                CustomLog {
                    path: p.path.clone(),
                    pipe: p.pipe.clone(),
                    format,
                    env: p.env.clone(),
                    origin: p.origin.clone(),
                }
            })
            .collect()
    }
}

/// The command of a piped log target (`ErrorLog`, `CustomLog`, `TransferLog`): None when
/// `target` does not start with `|`; else the rest after `|`, `||` or `|$` (httpd 2.4's
/// forms: `|` and `||` run the program without a shell, `|$` with one), blanks around it
/// trimmed. An empty command is an error.
pub(crate) fn piped_command(target: &str) -> Option<Result<String, String>> {
    let rest = target.strip_prefix('|')?;
    let command = rest
        .strip_prefix('|')
        .or_else(|| rest.strip_prefix('$'))
        .unwrap_or(rest)
        .trim();
    Some(if command.is_empty() {
        Err(format!("no command after '|' in '{target}'"))
    } else {
        Ok(command.to_string())
    })
}

/// `env=VAR` / `env=!VAR`.
fn env_condition(condition: &str) -> Result<(bool, String), String> {
    if let Some(expr) = condition.strip_prefix("expr=") {
        return Err(format!(
            "expr= conditions are not supported yet, got 'expr={expr}'"
        ));
    }
    let Some(var) = condition.strip_prefix("env=") else {
        return Err(format!("expected env=[!]VAR, got '{condition}'"));
    };
    let (negated, var) = match var.strip_prefix('!') {
        Some(v) => (true, v),
        None => (false, var),
    };
    if var.is_empty() {
        return Err(format!("no variable name in '{condition}'"));
    }
    Ok((negated, var.to_string()))
}

/// Checks a format with the access log's own compiler (`crate::text::log_format`),
/// so that `-t` accepts exactly the formats a start can log.
pub(crate) fn check_format(format: &str) -> Result<(), String> {
    crate::text::log_format::Format::compile(format).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        for ok in [
            COMMON,
            COMBINED,
            "%v:%p %h %{X-Forwarded-For}i %>s %<s %!200,304,302r %400,501{User-agent}i",
            "100%% %D %{ms}T %^ti %I %O %{c}a %{BALANCER_WORKER_NAME}e",
            "%L %k %X %R %A %S %{us}T %{local}p %{tid}P %{c1}C %{end:%d/%b/%Y}t %{msec_frac}t",
            "no directives at all",
        ] {
            assert_eq!(check_format(ok), Ok(()), "{ok}");
        }
        for (bad, want) in [
            ("%h %Z", "LogFormat: unrecognized directive %Z in \"%h %Z\""),
            (
                "%h %",
                "LogFormat: '%' without a directive at the end of \"%h %\"",
            ),
            (
                "%{Referer i",
                "LogFormat: unterminated '%{' in \"%{Referer i\"",
            ),
            ("%^t", "LogFormat: unrecognized directive %^t in \"%^t\""),
        ] {
            assert_eq!(check_format(bad), Err(want.to_string()), "{bad}");
        }
    }

    #[test]
    fn env_conditions() {
        assert_eq!(env_condition("env=X"), Ok((false, "X".to_string())));
        assert_eq!(
            env_condition("env=!dontlog"),
            Ok((true, "dontlog".to_string()))
        );
        assert!(env_condition("env=").is_err());
        assert!(env_condition("env=!").is_err());
        assert!(env_condition("expr=%{X} == 1").is_err());
        assert!(env_condition("X").is_err());
    }
}
