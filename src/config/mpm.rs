//! The MPM and the process directives: `MPM`, `ServerLimit`, `MaxRequestWorkers`,
//! `Min/MaxSpareServers`, `MaxConnectionsPerChild`, `GracefulShutdownTimeout`, `User`,
//! `Group`, `ThreadsPerChild`, `ListenBacklog` (httpd's mpm_common, prefork, event and
//! unixd), `Mutex` (the core's; checked in `mutex.rs`), and slotgate's own
//! `WorkerStallTimeout` (the supervisor's watchdog). All of them are main-server only.
//!
//! The MPM is chosen while the files are read ([`MpmSelection`], used by `reader.rs`),
//! because httpd loads modules then (`LoadModule` is EXEC_ON_READ) and an
//! `<IfModule mpm_prefork_module>` later in the file must see the choice. The other
//! directives are built by [`directive`] and checked together by [`finish`], once the MPM
//! is known.

use super::reader::Directive;
use super::scope::{check, fail, one_arg};
use super::values;
use super::{Config, ConfigError, Mpm, Origin};

/// The process directives, canonical spelling (all refused inside `<VirtualHost>` and
/// `<Location>`, as httpd). `MPM` is not here: the reader takes it.
pub(super) const DIRECTIVES: &[&str] = &[
    "ServerLimit",
    "MaxRequestWorkers",
    "MaxClients",
    "MinSpareServers",
    "MaxSpareServers",
    "MaxConnectionsPerChild",
    "MaxRequestsPerChild",
    "GracefulShutdownTimeout",
    "User",
    "Group",
    "ThreadsPerChild",
    "ListenBacklog",
    "WorkerStallTimeout",
    "Mutex",
];

/// `WorkerStallTimeout`'s default: a worker whose loop has not turned for a minute is
/// replaced.
pub(super) const DEFAULT_WORKER_STALL_TIMEOUT: std::time::Duration =
    std::time::Duration::from_secs(60);
/// The shortest `WorkerStallTimeout` but 0: an idle worker's loop turns once a second;
/// a shorter limit would replace healthy workers that a loaded host left waiting.
const MIN_WORKER_STALL_TIMEOUT: u64 = 5;

// The MPM defaults, each written once: every other place (the supervisor, the workers,
// warnings, README's table) asks the functions below.

/// httpd's default `StartServers` for prefork.
pub const PREFORK_START_SERVERS: usize = 5;
/// httpd's default `MaxRequestWorkers` for prefork (also its default `ServerLimit`).
pub const PREFORK_MAX_REQUEST_WORKERS: usize = 256;
/// httpd's default `ServerLimit` for event.
pub const EVENT_SERVER_LIMIT: usize = 16;
/// httpd's default `ThreadsPerChild` for event.
pub const EVENT_THREADS_PER_CHILD: usize = 25;
/// httpd's default `MaxRequestWorkers` for event (16 × 25).
pub const EVENT_MAX_REQUEST_WORKERS: usize = 400;
/// The largest `ServerLimit` slotgate takes (httpd event's compile-time limit).
pub const MAX_SERVER_LIMIT: usize = 20_000;

/// The `-D` names that ask for one worker process: `-X` defines `DEBUG`, as httpd's
/// does; httpd's MPMs also take `ONE_PROCESS`.
pub const ONE_PROCESS_DEFINES: &[&str] = &["DEBUG", "ONE_PROCESS"];

impl Config {
    /// `-X`: one worker process, whatever the process directives say (httpd serves
    /// from the parent process itself; slotgate's supervisor never serves, so it
    /// runs one worker). Prefork keeps a second process slot, so a graceful
    /// restart can start the new worker while the old one finishes.
    pub fn one_process(&mut self) {
        self.start_servers = Some(1);
        if self.mpm == Mpm::Prefork {
            self.max_request_workers = Some(1);
            self.server_limit = Some(2);
            self.min_spare_servers = 1;
            self.max_spare_servers = 1;
        }
    }

    /// The number of workers to start: `StartServers` if given; else, as httpd, 5 for
    /// prefork; else (event) one per CPU (`std::thread::available_parallelism`, 1 when
    /// that is unknown). httpd's event starts 3 by default, but each of its processes runs
    /// 25 threads; a slotgate event worker is one thread, so one per CPU.
    pub fn start_servers_or_default(&self) -> usize {
        match (self.start_servers, self.mpm) {
            (Some(n), _) => n,
            (None, Mpm::Prefork) => PREFORK_START_SERVERS,
            (None, Mpm::Event) => std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }

    /// The most worker processes that can exist at once: the process slots to allocate.
    ///
    /// - `ServerLimit` if given.
    /// - prefork: `max(MaxRequestWorkers, StartServers)`, MaxRequestWorkers defaulting to
    ///   256 (httpd's default ServerLimit and MaxRequestWorkers), at most 20000. (httpd
    ///   instead lowers a MaxRequestWorkers above its default ServerLimit of 256; slotgate
    ///   sizes the slots to what was asked.)
    /// - event: `max(16, 2 × start_servers_or_default())`: httpd's default ServerLimit of
    ///   16, or room for a whole second generation of workers during a graceful restart
    ///   when more start than 8.
    pub fn process_limit(&self) -> usize {
        if let Some(n) = self.server_limit {
            return n;
        }
        match self.mpm {
            Mpm::Prefork => self
                .max_request_workers
                .unwrap_or(PREFORK_MAX_REQUEST_WORKERS)
                .max(self.start_servers_or_default())
                .min(MAX_SERVER_LIMIT),
            Mpm::Event => EVENT_SERVER_LIMIT.max(2 * self.start_servers_or_default()),
        }
    }

    /// `MaxRequestWorkers` as httpd would apply it.
    ///
    /// - prefork (the most workers, one connection each): the value given, else 256, at
    ///   most [`Config::process_limit`] (httpd lowers it to ServerLimit the same way; a
    ///   warning says so when it was written larger).
    /// - event (the most client connections of all workers together): the value given;
    ///   else httpd's default, 400, lowered to `ServerLimit × ThreadsPerChild` when that
    ///   is smaller (16 and 25 when not given), as httpd lowers it (ServerLimit 4 gives
    ///   100). This is the only use of ThreadsPerChild. (httpd also lowers a value given
    ///   above ServerLimit × ThreadsPerChild; slotgate keeps it, since its ServerLimit
    ///   counts single-threaded workers that each hold many connections.)
    pub fn max_request_workers_or_default(&self) -> usize {
        match self.mpm {
            Mpm::Prefork => self
                .max_request_workers
                .unwrap_or(PREFORK_MAX_REQUEST_WORKERS)
                .min(self.process_limit()),
            Mpm::Event => self.max_request_workers.unwrap_or_else(|| {
                let threads = self.server_limit.unwrap_or(EVENT_SERVER_LIMIT)
                    * self.threads_per_child.unwrap_or(EVENT_THREADS_PER_CHILD);
                EVENT_MAX_REQUEST_WORKERS.min(threads)
            }),
        }
    }

    /// Client connections one worker holds at most when `workers` workers run: 1 in
    /// prefork; in event, [`Config::max_request_workers_or_default`] shared out evenly,
    /// rounded up (400 over 4 workers: 100 each; over 3: 134 each, so the sum can pass the
    /// bound by less than one per worker). Never 0: every worker can hold a connection.
    pub fn connections_per_worker(&self, workers: usize) -> usize {
        match self.mpm {
            Mpm::Prefork => 1,
            Mpm::Event => self
                .max_request_workers_or_default()
                .div_ceil(workers.max(1))
                .max(1),
        }
    }
}

/// httpd's default `ListenBacklog` (DEFAULT_LISTENBACKLOG).
pub(super) const DEFAULT_LISTEN_BACKLOG: u32 = 511;
/// httpd's prefork defaults.
pub(super) const DEFAULT_MIN_SPARE_SERVERS: usize = 5;
pub(super) const DEFAULT_MAX_SPARE_SERVERS: usize = 10;
/// httpd event's MAX_THREAD_LIMIT, the largest ThreadsPerChild it could take.
const MAX_THREADS_PER_CHILD: i64 = 100_000;

/// The MPM chosen so far while reading, and what was decided before a choice was made.
#[derive(Debug, Default)]
pub(crate) struct MpmSelection {
    /// The MPM, the line that chose it and how it was written (`MPM prefork`,
    /// `LoadModule mpm_prefork_module`).
    chosen: Option<(Mpm, Origin, String)>,
    /// The first `<IfModule>` naming an MPM module that was decided while no MPM was
    /// chosen, i.e. for the default (event): a later choice of prefork would make that
    /// decision wrong.
    assumed: Option<(Origin, String)>,
}

impl MpmSelection {
    /// The MPM at the end of reading.
    pub fn mpm(&self) -> Mpm {
        self.chosen.as_ref().map_or(Mpm::default(), |c| c.0)
    }

    /// `<IfModule name>` for the MPM modules, in httpd's two spellings
    /// (`mpm_prefork_module`, `prefork.c`; `mpm_event_module`, `event.c`): whether that MPM
    /// is the one chosen at this point of the files (event, the default, when none is yet).
    /// None when `name` is no MPM slotgate has.
    pub fn if_module(&mut self, name: &str, origin: &Origin) -> Option<bool> {
        let mpm = match name.to_ascii_lowercase().as_str() {
            "mpm_event_module" | "event.c" => Mpm::Event,
            "mpm_prefork_module" | "prefork.c" => Mpm::Prefork,
            _ => return None,
        };
        if self.chosen.is_none() && self.assumed.is_none() {
            self.assumed = Some((origin.clone(), format!("<IfModule {name}>")));
        }
        Some(self.mpm() == mpm)
    }

    /// A plain line at read time: `MPM …` is taken here (Ok(true)); `LoadModule mpm_…`
    /// chooses the MPM and is passed on (Ok(false)) for the builder's own checks, as is
    /// everything else. `section` is the innermost enclosing section, if any.
    pub fn line(
        &mut self,
        name: &str,
        args: &[String],
        origin: &Origin,
        section: Option<&str>,
    ) -> Result<bool, ConfigError> {
        let at = |m: String| ConfigError::at(origin, m);
        let (mpm, how, taken) = if name.eq_ignore_ascii_case("MPM") {
            if let Some(section) = section {
                return Err(at(format!("MPM cannot occur within <{section}> section")));
            }
            let [value] = args else {
                return Err(at(format!("MPM takes one argument, got {}", args.len())));
            };
            let mpm = match value.to_ascii_lowercase().as_str() {
                "event" => Mpm::Event,
                "prefork" => Mpm::Prefork,
                _ => return Err(at(format!("MPM: expected event or prefork, got '{value}'"))),
            };
            (mpm, format!("MPM {value}"), true)
        } else if name.eq_ignore_ascii_case("LoadModule") {
            // A LoadModule with the wrong number of words is the builder's to refuse.
            let [module, _] = args else {
                return Ok(false);
            };
            let lower = module.to_ascii_lowercase();
            let Some(base) = lower
                .strip_prefix("mpm_")
                .and_then(|m| m.strip_suffix("_module"))
            else {
                return Ok(false);
            };
            let mpm = match base {
                "event" => Mpm::Event,
                "prefork" => Mpm::Prefork,
                _ => {
                    return Err(at(format!(
                        "LoadModule {module}: the {base} MPM is not supported \
                         (slotgate runs event or prefork)"
                    )))
                }
            };
            if let Some(section) = section {
                return Err(at(format!(
                    "LoadModule {module} cannot occur within <{section}> section \
                     (it selects the MPM for the whole server)"
                )));
            }
            (mpm, format!("LoadModule {module}"), false)
        } else {
            return Ok(false);
        };
        match &self.chosen {
            Some((earlier, earlier_origin, earlier_how)) if *earlier != mpm => {
                return Err(at(format!(
                    "{how} selects the {mpm} MPM, but {earlier_how} at {earlier_origin} \
                     already selected {earlier}: only one MPM can be loaded"
                )));
            }
            Some(_) => {}
            None => {
                if let Some((assumed_at, test)) = &self.assumed {
                    if mpm != Mpm::default() {
                        return Err(at(format!(
                            "{how} comes after {test} at {assumed_at}, which was decided \
                             for the default MPM ({}); select the MPM before any \
                             <IfModule> that tests one",
                            Mpm::default()
                        )));
                    }
                }
                self.chosen = Some((mpm, origin.clone(), how));
            }
        }
        Ok(taken)
    }
}

/// Where the directives [`finish`] looks at again were written.
#[derive(Debug, Default)]
pub(super) struct Seen {
    min_spare: Option<Origin>,
    max_spare: Option<Origin>,
    max_workers: Option<Origin>,
    threads: Option<Origin>,
    /// Warnings of `Mutex` lines (see `mutex.rs`), printed by [`finish`].
    mutex_notes: Vec<(Origin, String)>,
}

/// One of the process directives at main-server level. Ok(false) when `d` is none of them.
pub(super) fn directive(
    c: &mut Config,
    seen: &mut Seen,
    d: &Directive,
) -> Result<bool, ConfigError> {
    let lower = d.name.to_ascii_lowercase();
    let Some(name) = DIRECTIVES.iter().find(|n| n.eq_ignore_ascii_case(&lower)) else {
        return Ok(false);
    };
    if lower == "mutex" {
        let notes = super::mutex::directive(&c.server_root, d)?;
        seen.mutex_notes
            .extend(notes.into_iter().map(|n| (d.origin.clone(), n)));
        return Ok(true);
    }
    let arg = one_arg(d, name)?;
    let count = |min: i64, max: i64| check(d, values::integer(name, arg, min, max));
    let here = Some(d.origin.clone());
    match lower.as_str() {
        "serverlimit" => c.server_limit = Some(count(1, MAX_SERVER_LIMIT as i64)? as usize),
        "maxrequestworkers" | "maxclients" => {
            c.max_request_workers = Some(count(1, i64::from(i32::MAX))? as usize);
            seen.max_workers = here;
        }
        "minspareservers" => {
            c.min_spare_servers = count(1, i64::from(i32::MAX))? as usize;
            seen.min_spare = here;
        }
        "maxspareservers" => {
            c.max_spare_servers = count(1, i64::from(i32::MAX))? as usize;
            seen.max_spare = here;
        }
        "maxconnectionsperchild" | "maxrequestsperchild" => {
            c.max_connections_per_child = count(0, i64::MAX)? as u64;
        }
        "gracefulshutdowntimeout" => {
            c.graceful_shutdown_timeout = check(d, values::whole_seconds(name, arg, 0))?;
        }
        "user" => {
            check(d, account(name, arg))?;
            if arg == "root"
                || arg
                    .strip_prefix('#')
                    .is_some_and(|id| id.parse() == Ok(0u32))
            {
                return Err(fail(
                    d,
                    format!("User {arg}: workers must not run as root (httpd refuses uid 0 too)"),
                ));
            }
            c.user = Some(arg.to_string());
            c.origins.user = Some(d.origin.clone());
        }
        "group" => {
            check(d, account(name, arg))?;
            c.group = Some(arg.to_string());
            c.origins.group = Some(d.origin.clone());
        }
        "threadsperchild" => {
            c.threads_per_child = Some(count(1, MAX_THREADS_PER_CHILD)? as usize);
            seen.threads = here;
        }
        "listenbacklog" => c.listen_backlog = count(1, i64::from(i32::MAX))? as u32,
        "workerstalltimeout" => {
            let limit = check(d, values::whole_seconds(name, arg, 0))?;
            if (1..MIN_WORKER_STALL_TIMEOUT).contains(&limit.as_secs()) {
                return Err(fail(
                    d,
                    format!(
                        "{name} must be 0 (off) or at least {MIN_WORKER_STALL_TIMEOUT} \
                         seconds, got '{arg}' (an idle worker marks its progress once a second)"
                    ),
                ));
            }
            c.worker_stall_timeout = limit;
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// A `User` / `Group` value: `#` and a decimal id, or a name without blanks, `:` or `/`
/// that does not start with `-` or `#`.
fn account(what: &str, value: &str) -> Result<(), String> {
    if let Some(id) = value.strip_prefix('#') {
        // httpd reads "#abc" as 0 (atoi), that is root; an id is digits only.
        return match id.parse::<u32>() {
            Ok(n) if n != u32::MAX && id.bytes().all(|b| b.is_ascii_digit()) => Ok(()),
            _ => Err(format!(
                "{what}: expected a name or #id with a decimal id, got '{value}'"
            )),
        };
    }
    let bad = value.is_empty()
        || value.starts_with('-')
        || value
            .chars()
            .any(|ch| ch.is_whitespace() || ch.is_control() || matches!(ch, ':' | '/'));
    if bad {
        return Err(format!("{what}: '{value}' is not a valid name"));
    }
    Ok(())
}

/// The checks that need every process directive and the MPM: MaxSpareServers above
/// MinSpareServers, directives of the other MPM, MaxRequestWorkers above ServerLimit.
pub(super) fn finish(c: &mut Config, seen: &Seen, warnings: &mut Vec<String>) {
    let mut warn = |origin: &Origin, text: String| warnings.push(format!("{origin}: {text}"));
    for (origin, text) in &seen.mutex_notes {
        warn(origin, text.clone());
    }
    if c.max_spare_servers <= c.min_spare_servers {
        let raised = c.min_spare_servers + 1;
        if let Some(origin) = seen.max_spare.as_ref().or(seen.min_spare.as_ref()) {
            warn(
                origin,
                format!(
                    "MaxSpareServers {} is not above MinSpareServers {}; using {raised} \
                     (httpd raises it the same way)",
                    c.max_spare_servers, c.min_spare_servers
                ),
            );
        }
        c.max_spare_servers = raised;
    }
    match c.mpm {
        Mpm::Event => {
            for (origin, name) in [
                (&seen.min_spare, "MinSpareServers"),
                (&seen.max_spare, "MaxSpareServers"),
            ] {
                if let Some(origin) = origin {
                    warn(
                        origin,
                        format!("{name} has no effect with the event MPM (only with prefork)"),
                    );
                }
            }
            if let Some(origin) = &seen.threads {
                warn(
                    origin,
                    format!(
                        "ThreadsPerChild: slotgate workers are single-threaded (an event \
                         worker serves many connections on one thread); the value only counts \
                         toward the default of MaxRequestWorkers ({})",
                        c.max_request_workers_or_default()
                    ),
                );
            }
        }
        Mpm::Prefork => {
            if let Some(origin) = &seen.threads {
                warn(
                    origin,
                    "ThreadsPerChild has no effect with the prefork MPM".to_string(),
                );
            }
            let limit = c.process_limit();
            match (c.max_request_workers, &seen.max_workers) {
                (Some(n), Some(origin)) if n > limit => warn(
                    origin,
                    format!(
                        "MaxRequestWorkers {n} is more than {} {limit}: at most {limit} \
                         workers will run",
                        if c.server_limit.is_some() {
                            "ServerLimit"
                        } else {
                            "the largest ServerLimit,"
                        }
                    ),
                ),
                _ => {}
            }
        }
    }
}
