//! The error log: httpd's line format (`[time] [module:level] [pid N] message`)
//! to stderr or the `ErrorLog` file, filtered by `LogLevel`. Each line is written
//! with one `write` on an `O_APPEND` descriptor, so lines from the supervisor and
//! every worker interleave whole.

pub mod access;
pub mod sink;

use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

use crate::config::LogLevel;
use crate::text::date;
use sink::Sink;

/// Where error-log lines go now; None = stderr. Replaced by [`init`] at each
/// (re)start, so a graceful restart reopens the file logrotate moved away.
/// Processes are single-threaded, so the lock is never contended (nor held at fork).
static TARGET: Mutex<Option<Sink>> = Mutex::new(None);

struct ErrorLog;

fn filter(level: LogLevel) -> log::LevelFilter {
    match level {
        LogLevel::Emerg | LogLevel::Alert | LogLevel::Crit | LogLevel::Error => {
            log::LevelFilter::Error
        }
        LogLevel::Warn => log::LevelFilter::Warn,
        LogLevel::Notice | LogLevel::Info => log::LevelFilter::Info,
        LogLevel::Debug => log::LevelFilter::Debug,
        LogLevel::Trace => log::LevelFilter::Trace,
    }
}

impl log::Log for ErrorLog {
    fn enabled(&self, m: &log::Metadata<'_>) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            log::Level::Error => "error",
            log::Level::Warn => "warn",
            log::Level::Info => "info",
            log::Level::Debug => "debug",
            log::Level::Trace => "trace1",
        };
        let module = record
            .module_path()
            .and_then(|m| m.split("::").nth(1))
            .unwrap_or("core");
        let line = format!(
            "[{}] [{module}:{level}] [pid {}] {}\n",
            timestamp(),
            std::process::id(),
            record.args()
        );
        let target = TARGET.lock().unwrap_or_else(|e| e.into_inner());
        match target.as_ref() {
            Some(sink) => sink.write_line(line.as_bytes()),
            None => {
                let _ = std::io::stderr().lock().write_all(line.as_bytes());
            }
        }
    }

    fn flush(&self) {}
}

/// Points the error log at `error_log` (a file), `pipe` (a `|command`), or stderr,
/// with `level`: [`open`] then [`install`]. Called at start (once, by the
/// supervisor before it forks; workers inherit the logger).
pub fn init(error_log: Option<&Path>, pipe: Option<&str>, level: LogLevel) -> std::io::Result<()> {
    install(open(error_log, pipe, level)?);
    Ok(())
}

/// An error log opened (file created, piped logger started) but not yet in use:
/// a restart opens the new one before it decides, and only installs it once
/// nothing else can refuse the restart.
pub struct Opened {
    sink: Option<Sink>,
    level: LogLevel,
}

/// Opens the error log `error_log` (a file), `pipe` (a `|command`) or stderr
/// (neither) anew, for [`install`]; the log in use is not touched.
pub fn open(
    error_log: Option<&Path>,
    pipe: Option<&str>,
    level: LogLevel,
) -> std::io::Result<Opened> {
    let sink = match (pipe, error_log) {
        (Some(cmd), _) => Some(Sink::pipe(cmd).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("starting the piped ErrorLog '{cmd}': {e}"),
            )
        })?),
        (None, Some(p)) => Some(Sink::file(p).map_err(|e| {
            std::io::Error::new(e.kind(), format!("opening ErrorLog {}: {e}", p.display()))
        })?),
        (None, None) => None,
    };
    Ok(Opened { sink, level })
}

/// Makes `opened` the error log (the previous one is closed) with its level.
pub fn install(opened: Opened) {
    *TARGET.lock().unwrap_or_else(|e| e.into_inner()) = opened.sink;
    // Read the local time zone now, before the workers are forked, so each inherits it
    // instead of reading the zone file again.
    let _ = crate::text::zone::local_offset(0);
    // The logger itself is installed once; later calls only change its target.
    let _ = log::set_logger(&ErrorLog);
    log::set_max_level(filter(opened.level));
}

/// `Mon Dec 07 19:53:49.123456 2026`: local time, as httpd stamps error log lines.
fn timestamp() -> String {
    let (secs, micros) = date::unix_now();
    date::error_log(&date::Civil::local(secs), micros)
}
