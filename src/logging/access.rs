//! The access log: one line per request, in a compiled `LogFormat`
//! ([`crate::text::log_format`]), written with a single `write` on an `O_APPEND`
//! file shared by every worker (or a piped logger's stdin). The line is built in
//! a buffer each worker reuses, so logging allocates nothing per request.

use std::cell::RefCell;
use std::path::Path;

pub use crate::text::log_format::{ConnStatus, Format, Lookup, Record};

thread_local! {
    /// The line being built (each worker is single-threaded: one buffer, reused).
    static LINE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// One `CustomLog`: a file, a format, and an optional `env=[!]VAR` condition.
pub struct AccessLog {
    sink: super::sink::Sink,
    format: Format,
    condition: Option<(bool, String)>,
}

impl AccessLog {
    /// Opens a CustomLog with its compiled `format`: the file at `path`, or
    /// `pipe`'s command when given.
    pub fn open(
        path: &Path,
        pipe: Option<&str>,
        format: Format,
        condition: Option<(bool, String)>,
    ) -> Result<AccessLog, String> {
        let sink = match pipe {
            Some(cmd) => super::sink::Sink::pipe(cmd)
                .map_err(|e| format!("starting the piped CustomLog '{cmd}': {e}"))?,
            None => super::sink::Sink::file(path)
                .map_err(|e| format!("opening CustomLog {}: {e}", path.display()))?,
        };
        Ok(AccessLog {
            sink,
            format,
            condition,
        })
    }

    /// Writes the line of `r`, built in the process's reused line buffer.
    pub fn write(&self, r: &Record<'_>) {
        if let Some((negated, var)) = &self.condition {
            let set = r.lookup.env(var).is_some();
            if set == *negated {
                return;
            }
        }
        LINE.with(|line| {
            let mut line = line.borrow_mut();
            line.clear();
            self.format.render_into(&mut line, r);
            self.sink.write_line(&line);
        });
    }
}
