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
    // The logger itself is installed once; later calls only change its target.
    let _ = log::set_logger(&ErrorLog);
    log::set_max_level(filter(opened.level));
}

/// `Mon Nov 23 10:54:31.123456 2026`, UTC.
fn timestamp() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days as i64);
    const WD: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MO: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {:02} {:02}:{:02}:{:02}.{:06} {}",
        WD[(days % 7) as usize],
        MO[(m - 1) as usize],
        d,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_micros(),
        y
    )
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_414), (2025, 11, 22));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
