//! The supervisor: reads the configuration, binds every listener, creates the
//! scoreboard, forks the workers, replaces a worker that dies (with a back-off),
//! and handles httpd's signals: TERM/INT stop now, HUP restart, USR1 graceful
//! restart, WINCH graceful stop. It never serves a request and never starts a
//! thread, so it is always safe to fork from.
//!
//! When a member slot asks for a health check, it also forks the health
//! checker (`hcheck::checker`): a child without a process slot (it serves no
//! client; the header records its pid), replaced with the workers' back-off
//! when it dies and with each new generation, stopped like a worker.
//!
//! A restart is built beside the running generation and refused, leaving it
//! untouched, if any step fails (`next_generation`); children, their ends and
//! the watchdog for wedged workers are in `children`, USR2 in `upgrade`.

mod children;
mod control;
mod generation;
mod listeners;
mod upgrade;

/// The PidFile `-k` uses (`-S` shows it).
pub use control::pid_file;
pub use control::{signal_daemon, start_daemon, Command};

use std::collections::HashMap;
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use scoreboard::{Phase, Scoreboard};

use crate::config::{self, Config};
use crate::process::{self, Forked};
use crate::proxy::Routes;
use crate::worker::{self, WorkerSetup};
use children::{Child, Ending, BACKOFF_MAX};
use generation::{Generation, Listeners};

/// How long stopping children may take before they are killed outright.
const STOP_DEADLINE: Duration = Duration::from_secs(10);
/// How long a binary upgrade's new process may take to run.
const UPGRADE_DEADLINE: Duration = Duration::from_secs(30);
/// Set in the environment of the new binary of an upgrade.
pub const UPGRADE_ENV: &str = "SLOTGATE_UPGRADE";

/// What the command line asked for.
pub struct Options {
    /// Absolute: a daemon changes its working directory to `/`.
    pub config_file: PathBuf,
    pub defines: Vec<String>,
    /// Started by `-k start`: the PidFile is written even when not configured.
    pub daemon: bool,
}

/// Loads the configuration and checks everything `-t` can check without binding.
/// Several errors come one per line.
pub fn check(opts: &Options) -> Result<(Config, Routes), String> {
    prepare(&opts.config_file, &opts.defines).map_err(|e| e.join("\n"))
}

/// The one validation path of `-t`, a start and a reload: the configuration
/// (going on past a directive in error), what it needs of the machine
/// (`config::preflight`: accounts, files it writes; `tls::key_errors`: every
/// certificate and key), then the routing table (member URLs, patterns, log
/// formats, express maps). Every error found, each with its file and line.
fn prepare(file: &Path, defines: &[String]) -> Result<(Config, Routes), Vec<String>> {
    let (cfg, errors) = config::load_all(file, defines);
    let mut errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    if let Some(cfg) = cfg {
        let machine = config::preflight::environment(&cfg);
        let keys = crate::tls::key_errors(&cfg);
        errors.extend(machine.iter().chain(&keys).map(ToString::to_string));
        // The table repeats the configuration's findings: built once those are fixed.
        if errors.is_empty() {
            match Routes::new(&cfg) {
                Ok(routes) => return Ok((cfg, routes)),
                Err(e) => errors.push(e),
            }
        }
    }
    Err(errors)
}

/// Runs the server until it is stopped; returns the exit status. `ready` is told
/// once the server runs (or why it could not start): `-k start` waits on it.
pub fn run(opts: &Options, ready: Option<control::Ready>) -> i32 {
    raise_file_limit();
    let mut sup = match Supervisor::start(opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("slotgate: {e}");
            if let Some(r) = ready {
                r.failed(&e);
            }
            return 1;
        }
    };
    if let Some(r) = ready {
        r.running();
    }
    match sup.serve() {
        Ok(()) => 0,
        Err(e) => {
            log::error!("supervisor: {e}");
            eprintln!("slotgate: {e}");
            1
        }
    }
}

/// Raises the soft limit on open files to the hard one (as nginx's
/// `worker_rlimit_nofile` would): each client and member connection is a
/// descriptor, and the usual soft default of 1024 caps an event worker far
/// below what it can serve. Workers inherit the limit.
fn raise_file_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
                log::warn!("raising the open-file limit from {soft} to {hard}: {e}");
            }
        }
    }
}

/// A generation built by `next_generation`, not yet in use.
struct NextGeneration {
    generation: Generation,
    listeners: Listeners,
    /// A new (bigger) scoreboard file, when the configuration outgrew the old one.
    scoreboard: Option<Arc<Scoreboard>>,
    error_log: crate::logging::Opened,
}

/// Signals noted by their handlers, acted on by the loop.
struct Flags {
    upgrade: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    restart: Arc<AtomicBool>,
    graceful: Arc<AtomicBool>,
    graceful_stop: Arc<AtomicBool>,
}

struct Supervisor {
    /// Absolute (made so by `main` before a daemon changes its directory to `/`).
    options_file: PathBuf,
    defines: Vec<String>,
    /// Started by `-k start` (a binary upgrade starts the new binary the same way).
    daemon: bool,
    gen: Generation,
    listeners: Listeners,
    scoreboard: Arc<Scoreboard>,
    children: HashMap<Pid, Child>,
    /// Slots waiting for a new worker of the current generation: (when, slot).
    respawn: Vec<(Instant, usize)>,
    /// Quick deaths in a row per slot (the back-off exponent).
    failures: Vec<u32>,
    wake: UnixStream,
    flags: Flags,
    pid_file: Option<PathBuf>,
    /// Prefork spare-server maintenance: the next check, and how many workers the
    /// next short check may start (doubles each second up to 32, as httpd).
    next_maintenance: Instant,
    spawn_rate: usize,
    /// The supervisor's signal actions, removed in each child after fork.
    sig_ids: Vec<signal_hook::SigId>,
    /// Our executable, as it was at start (the path a binary upgrade re-executes).
    exe: PathBuf,
    /// The new binary of an upgrade in progress, and when it was started.
    successor: Option<(Pid, Instant)>,
    /// When to start the health checker again after it died, and its quick
    /// deaths in a row (the back-off exponent, as for a worker slot).
    checker_respawn: Option<Instant>,
    checker_failures: u32,
}

impl Supervisor {
    fn start(opts: &Options) -> Result<Supervisor, String> {
        let (cfg, mut routes) = check(opts)?;
        crate::logging::init(
            cfg.error_log.as_deref(),
            cfg.error_log_pipe.as_deref(),
            cfg.log_level,
        )
        .map_err(|e| e.to_string())?;
        for w in &cfg.warnings {
            log::warn!("{w}");
        }
        let listeners = Listeners::bind(&cfg)?;
        let accept_mutex = generation::accept_mutex(&cfg, &listeners)?;
        routes.open_logs()?;
        let workers = cfg.start_servers_or_default();
        let layout = generation::layout_for(&cfg, &routes, workers);
        // A binary upgrade: the predecessor's scoreboard carries the statistics over.
        let predecessor = std::env::var_os(UPGRADE_ENV)
            .and_then(|_| Scoreboard::attach_readonly(&cfg.scoreboard_file).ok());
        std::env::remove_var(UPGRADE_ENV);
        let sb = Scoreboard::create(&cfg.scoreboard_file, layout)
            .map_err(|e| format!("creating the scoreboard: {e}"))?;
        share_scoreboard(&cfg)?;
        generation::place(&sb, &cfg, &mut routes, None)?;
        if let Some(old) = &predecessor {
            generation::carry_over(old, &sb);
        }
        if cfg.balancer_persist {
            // Manager changes of the previous run, added members included.
            crate::handlers::persist::restore(&sb, false, &cfg.hc_exprs);
        }
        let h = sb.header();
        h.set_supervisor_pid(std::process::id() as i32);
        h.set_generation(1);
        h.set_ports(&listeners.ports());

        let (wake, notify) = UnixStream::pair().map_err(|e| format!("signal pipe: {e}"))?;
        notify.set_nonblocking(true).map_err(|e| e.to_string())?;
        let flags = Flags {
            upgrade: Arc::new(AtomicBool::new(false)),
            stop: Arc::new(AtomicBool::new(false)),
            restart: Arc::new(AtomicBool::new(false)),
            graceful: Arc::new(AtomicBool::new(false)),
            graceful_stop: Arc::new(AtomicBool::new(false)),
        };
        let mut sig_ids = Vec::new();
        for s in process::SUPERVISOR_SIGNALS {
            let n = s as i32;
            let fd = notify.try_clone().map_err(|e| e.to_string())?;
            sig_ids.push(
                signal_hook::low_level::pipe::register(n, fd)
                    .map_err(|e| format!("installing the handler of {s}: {e}"))?,
            );
            let flag = match s {
                Signal::SIGTERM | Signal::SIGINT => Some(&flags.stop),
                Signal::SIGHUP => Some(&flags.restart),
                Signal::SIGUSR1 => Some(&flags.graceful),
                Signal::SIGWINCH => Some(&flags.graceful_stop),
                Signal::SIGUSR2 => Some(&flags.upgrade),
                _ => None,
            };
            if let Some(f) = flag {
                sig_ids.push(signal_hook::flag::register(n, f.clone()).map_err(|e| e.to_string())?);
            }
        }
        let pid_file = cfg
            .pid_file
            .clone()
            .or_else(|| opts.daemon.then(|| control::pid_file(&cfg)));
        if let Some(path) = &pid_file {
            std::fs::write(path, format!("{}\n", std::process::id()))
                .map_err(|e| format!("writing PidFile {}: {e}", path.display()))?;
        }
        let slots = sb.processes().len();
        let gen = Generation::new(1, cfg, routes, accept_mutex);
        Ok(Supervisor {
            options_file: opts.config_file.clone(),
            defines: opts.defines.clone(),
            daemon: opts.daemon,
            gen,
            listeners,
            scoreboard: Arc::new(sb),
            children: HashMap::new(),
            respawn: Vec::new(),
            failures: vec![0; slots],
            wake,
            flags,
            pid_file,
            next_maintenance: Instant::now(),
            spawn_rate: 1,
            sig_ids,
            exe: std::env::current_exe().map_err(|e| format!("finding our executable: {e}"))?,
            successor: None,
            checker_respawn: None,
            checker_failures: 0,
        })
    }

    fn serve(&mut self) -> Result<(), String> {
        for _ in 0..self.gen.workers {
            let slot = self.free_slot().ok_or("no free process slot")?;
            self.spawn(slot)?;
        }
        self.start_checker();
        self.scoreboard.header().set_phase(Phase::Running);
        log::info!(
            "slotgate {} running: {} workers, listening on {}",
            env!("CARGO_PKG_VERSION"),
            self.gen.workers,
            self.listeners.addresses().join(", ")
        );
        loop {
            if self.flags.stop.load(Ordering::SeqCst) {
                self.shutdown(Ending::Stop);
                return Ok(());
            }
            if self.flags.graceful_stop.swap(false, Ordering::SeqCst) {
                self.shutdown(Ending::GracefulStop);
                return Ok(());
            }
            if self.flags.restart.swap(false, Ordering::SeqCst) {
                self.restart(false);
            }
            if self.flags.graceful.swap(false, Ordering::SeqCst) {
                self.restart(true);
            }
            if self.flags.upgrade.swap(false, Ordering::SeqCst) {
                self.upgrade();
            }
            if self.successor_ready() {
                // The new binary serves: stop ours gracefully, leave it the PidFile.
                self.pid_file = None;
                self.shutdown(Ending::Upgraded);
                return Ok(());
            }
            self.wait_for_signal();
            self.watchdog();
            self.reap();
            self.respawn_due();
            self.maintain_checker();
            if self.gen.config.mpm == crate::config::Mpm::Prefork {
                self.maintain_spares();
            }
        }
    }

    /// Prefork, as httpd's parent: keeps MinSpareServers..MaxSpareServers idle
    /// workers (read from the process slots), at most MaxRequestWorkers in all,
    /// spawning 1, 2, 4 … 32 per second while short and retiring one idle worker
    /// per second while over.
    fn maintain_spares(&mut self) {
        let now = Instant::now();
        if now < self.next_maintenance {
            return;
        }
        self.next_maintenance = now + Duration::from_secs(1);
        let cfg = self.gen.config.clone();
        let sb = self.scoreboard.clone();
        let current: Vec<(Pid, usize)> = self
            .children
            .iter()
            .filter(|(_, c)| c.generation == self.gen.number && c.slot < sb.processes().len())
            .filter(|(_, c)| !c.checker && c.ending.is_none())
            .map(|(p, c)| (*p, c.slot))
            .collect();
        let idle: Vec<(Pid, usize)> = current
            .iter()
            .copied()
            .filter(|(_, s)| sb.process(*s).state() == scoreboard::ProcessState::Idle)
            .collect();
        let limit = cfg
            .max_request_workers_or_default()
            .min(sb.processes().len());
        if idle.len() < cfg.min_spare_servers && current.len() + self.respawn.len() < limit {
            let want = (cfg.min_spare_servers - idle.len())
                .min(self.spawn_rate)
                .min(limit - current.len() - self.respawn.len());
            for _ in 0..want {
                let Some(slot) = self.free_slot() else { break };
                if let Err(e) = self.spawn(slot) {
                    log::error!("spawning a spare worker: {e}");
                    break;
                }
            }
            if want > 0 {
                log::debug!("prefork: {} idle workers, started {want} more", idle.len());
            }
            self.spawn_rate = (self.spawn_rate * 2).min(32);
        } else {
            self.spawn_rate = 1;
            if idle.len() > cfg.max_spare_servers {
                if let Some((pid, slot)) = idle.iter().max_by_key(|(_, s)| *s) {
                    log::debug!(
                        "prefork: {} idle workers, retiring worker {slot}",
                        idle.len()
                    );
                    // Retired, not replaced (a child asked to stop never is).
                    self.tell_to_stop(*pid, Ending::Retired);
                }
            }
        }
    }

    /// Re-reads the configuration and starts a new generation of workers. The old
    /// workers finish their requests first (graceful) or stop at once. A
    /// configuration that does not load, a listener that cannot be bound, a log
    /// that cannot be opened: the restart is refused, logged and published in the
    /// scoreboard header (for `-k graceful|restart`), and the running generation
    /// goes on with its listeners exactly as they were.
    fn restart(&mut self, graceful: bool) {
        let kind = if graceful {
            "graceful restart"
        } else {
            "restart"
        };
        self.scoreboard.header().set_phase(Phase::Restarting);
        match self.next_generation() {
            Ok(next) => self.switch_to(next, graceful),
            Err(e) => {
                let why = format!("{kind} refused: {e}");
                log::error!("{why}; the running configuration stays");
                self.scoreboard.header().add_reload_refused(&why);
            }
        }
        self.scoreboard.header().set_phase(Phase::Running);
    }

    /// Builds the next generation beside the running one. Every step that can
    /// fail comes before the first change to what runs (the error log in use,
    /// the listeners, the scoreboard's slots), so an Err leaves all of it as it
    /// was; the new listeners and logs opened on the way are dropped with it.
    /// The configuration is checked as `-t` checks it ([`prepare`]).
    fn next_generation(&mut self) -> Result<NextGeneration, String> {
        let (cfg, mut routes) =
            prepare(&self.options_file, &self.defines).map_err(|e| e.join("; "))?;
        routes.open_logs()?;
        // The error log is reopened (logrotate moves the file, then sends USR1),
        // but only put in use by `switch_to`.
        let error_log = crate::logging::open(
            cfg.error_log.as_deref(),
            cfg.error_log_pipe.as_deref(),
            cfg.log_level,
        )
        .map_err(|e| e.to_string())?;
        let listeners = self.listeners.rebind(&cfg)?;
        let accept_mutex = generation::accept_mutex(&cfg, &listeners)?;
        let workers = cfg.start_servers_or_default();
        let layout = generation::layout_for(&cfg, &routes, workers);
        let current = self.scoreboard.layout();
        let mut new_sb = None;
        if layout.fits_in(&current) {
            // Last step that may fail; it fails before it writes a slot.
            generation::place(&self.scoreboard, &cfg, &mut routes, Some(&self.gen.routes))?;
            if cfg.balancer_persist {
                // The kept slots hold the run-time settings; members added at
                // run time were released by `place` and come back.
                crate::handlers::persist::restore(&self.scoreboard, true, &cfg.hc_exprs);
            }
        } else {
            // The file is replaced (renamed over); old workers keep their mapping of
            // the old one until they exit.
            let grown = scoreboard::Layout {
                processes: layout.processes.max(current.processes),
                balancers: layout.balancers.max(current.balancers),
                members: layout.members.max(current.members),
            };
            let sb = Scoreboard::create(&self.gen.config.scoreboard_file, grown)
                .map_err(|e| format!("growing the scoreboard: {e}"))?;
            share_scoreboard(&cfg)?;
            generation::place(&sb, &cfg, &mut routes, None)?;
            generation::carry_over(&self.scoreboard, &sb);
            if cfg.balancer_persist {
                crate::handlers::persist::restore(&sb, false, &cfg.hc_exprs);
            }
            let (old, new) = (self.scoreboard.header(), sb.header());
            new.set_start_time(old.start_time());
            for _ in 0..old.restarts() {
                new.add_restart();
            }
            new.set_reloads_refused(old.reloads_refused(), &old.reload_refusal());
            new_sb = Some(Arc::new(sb));
        }
        Ok(NextGeneration {
            generation: Generation::new(self.gen.number + 1, cfg, routes, accept_mutex),
            listeners,
            scoreboard: new_sb,
            error_log,
        })
    }

    /// Puts the next generation in place: its error log, listeners and (grown)
    /// scoreboard; tells the old children to stop and starts the new ones.
    fn switch_to(&mut self, next: NextGeneration, graceful: bool) {
        let kind = if graceful {
            "graceful restart"
        } else {
            "restart"
        };
        crate::logging::install(next.error_log);
        let cfg = &next.generation.config;
        for w in &cfg.warnings {
            log::warn!("{w}");
        }
        if cfg.scoreboard_file != self.gen.config.scoreboard_file {
            log::warn!("ScoreboardFile changed; it takes effect at the next full start");
        }
        let old = self.gen.number;
        self.gen = next.generation;
        // The sockets of Listen lines gone close here (old workers keep theirs
        // until they exit); the kept ones are the very same sockets.
        self.listeners = next.listeners;
        if let Some(new_sb) = next.scoreboard {
            self.scoreboard = new_sb;
            self.failures.resize(self.scoreboard.processes().len(), 0);
            // Old workers' process slots are not in the new file: forget their slots.
            for c in self.children.values_mut() {
                c.slot = usize::MAX;
            }
        }
        let h = self.scoreboard.header();
        h.set_generation(self.gen.number);
        h.add_restart();
        h.set_ports(&self.listeners.ports());
        h.set_supervisor_pid(std::process::id() as i32);
        let why = if graceful {
            Ending::GracefulRestart
        } else {
            Ending::Restart
        };
        // The old health checker goes with the old workers.
        let olds: Vec<Pid> = self
            .children
            .iter()
            .filter(|(_, c)| c.generation == old && c.ending.is_none())
            .map(|(p, _)| *p)
            .collect();
        for pid in olds {
            self.tell_to_stop(pid, why);
        }
        // Slots waiting for a respawn belong to the old generation.
        self.respawn.clear();
        for _ in 0..self.gen.workers {
            match self.free_slot() {
                Some(slot) => {
                    if let Err(e) = self.spawn(slot) {
                        log::error!("{kind}: {e}");
                    }
                }
                None => {
                    log::error!("{kind}: no free process slot for a new worker (raise ServerLimit)")
                }
            }
        }
        self.checker_respawn = None;
        self.checker_failures = 0;
        self.start_checker();
        log::info!(
            "{kind}: generation {} running, listening on {}",
            self.gen.number,
            self.listeners.addresses().join(", ")
        );
    }

    /// A process slot no child uses and no respawn waits for.
    fn free_slot(&self) -> Option<usize> {
        let sb = &self.scoreboard;
        (0..sb.processes().len()).find(|&s| {
            sb.process(s).pid() == 0
                && !self.children.values().any(|c| c.slot == s)
                && !self.respawn.iter().any(|(_, r)| *r == s)
        })
    }

    /// Sleeps until a signal arrives or the next respawn is due (at most a second).
    fn wait_for_signal(&mut self) {
        let now = Instant::now();
        let wait = self
            .respawn
            .iter()
            .map(|(t, _)| t)
            .chain(&self.checker_respawn)
            .map(|t| t.saturating_duration_since(now))
            .min()
            .unwrap_or(Duration::from_secs(1))
            .clamp(Duration::from_millis(1), Duration::from_secs(1));
        let _ = self.wake.set_read_timeout(Some(wait));
        let mut buf = [0u8; 64];
        let _ = self.wake.read(&mut buf);
    }

    fn spawn(&mut self, slot: usize) -> Result<(), String> {
        let sb = self.scoreboard.clone();
        let generation = self.gen.number;
        sb.process(slot).reset_for(0, generation);
        let listeners = self
            .listeners
            .sockets()
            .map(|l| l.try_clone())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("duplicating a listener: {e}"))?;
        let supervisor = nix::unistd::getpid();
        match process::fork_child().map_err(|e| format!("fork: {e}"))? {
            Forked::Child => {
                if let Err(e) = process::init_child(supervisor, &self.sig_ids) {
                    log::error!("worker {slot}: {e}");
                    std::process::exit(1);
                }
                let cfg = &self.gen.config;
                if let Err(e) = process::drop_privileges(cfg.user.as_deref(), cfg.group.as_deref())
                {
                    log::error!("worker {slot}: switching to User/Group: {e}");
                    std::process::exit(1);
                }
                if let Err(e) = process::die_with(supervisor) {
                    log::error!("worker {slot}: {e}");
                    std::process::exit(1);
                }
                sb.process(slot).set_pid(std::process::id() as i32);
                let setup = WorkerSetup {
                    config: self.gen.config.clone(),
                    routes: self.gen.routes.clone(),
                    listeners,
                    scoreboard: sb.clone(),
                    slot,
                    max_connections: self.gen.max_connections(),
                    accept_mutex: self.gen.accept_mutex.clone(),
                };
                let code = match worker::run(setup) {
                    Ok(()) => 0,
                    Err(e) => {
                        log::error!("worker {slot}: {e}");
                        1
                    }
                };
                std::process::exit(code);
            }
            Forked::Parent(pid) => {
                sb.process(slot).set_pid(pid.as_raw());
                self.children.insert(
                    pid,
                    Child {
                        slot,
                        started: Instant::now(),
                        generation,
                        checker: false,
                        ending: None,
                    },
                );
                log::debug!("worker {slot} (generation {generation}) started as pid {pid}");
                Ok(())
            }
        }
    }

    /// Starts the health checker of the current generation when some member
    /// slot asks for a check (errors are logged; the back-off retries).
    fn start_checker(&mut self) {
        if !crate::hcheck::checker::wanted(&self.scoreboard) {
            return;
        }
        if let Err(e) = self.spawn_checker() {
            log::error!("starting the health checker: {e}");
            self.checker_respawn = Some(Instant::now() + BACKOFF_MAX);
        }
    }

    /// Once a loop turn (at most a second apart): a check set at run time
    /// (a member slot given a method while no checker runs) starts one.
    fn maintain_checker(&mut self) {
        let running = self
            .children
            .values()
            .any(|c| c.checker && c.generation == self.gen.number);
        if !running && self.checker_respawn.is_none() {
            self.start_checker();
        }
    }

    fn spawn_checker(&mut self) -> Result<(), String> {
        let sb = self.scoreboard.clone();
        let generation = self.gen.number;
        let supervisor = nix::unistd::getpid();
        match process::fork_child().map_err(|e| format!("fork: {e}"))? {
            Forked::Child => {
                if let Err(e) = process::init_child(supervisor, &self.sig_ids) {
                    log::error!("health checker: {e}");
                    std::process::exit(1);
                }
                // It never accepts: its copies of the listening sockets go.
                self.listeners.close();
                let cfg = &self.gen.config;
                if let Err(e) = process::drop_privileges(cfg.user.as_deref(), cfg.group.as_deref())
                {
                    log::error!("health checker: switching to User/Group: {e}");
                    std::process::exit(1);
                }
                if let Err(e) = process::die_with(supervisor) {
                    log::error!("health checker: {e}");
                    std::process::exit(1);
                }
                let setup = crate::hcheck::checker::CheckerSetup {
                    config: self.gen.config.clone(),
                    routes: self.gen.routes.clone(),
                    scoreboard: sb,
                };
                let code = match crate::hcheck::checker::run(setup) {
                    Ok(()) => 0,
                    Err(e) => {
                        log::error!("health checker: {e}");
                        1
                    }
                };
                std::process::exit(code);
            }
            Forked::Parent(pid) => {
                sb.header().set_checker_pid(pid.as_raw());
                self.children.insert(
                    pid,
                    Child {
                        slot: usize::MAX,
                        started: Instant::now(),
                        generation,
                        checker: true,
                        ending: None,
                    },
                );
                log::debug!("health checker (generation {generation}) started as pid {pid}");
                Ok(())
            }
        }
    }

    fn respawn_due(&mut self) {
        let now = Instant::now();
        if self.checker_respawn.is_some_and(|t| t <= now) {
            self.checker_respawn = None;
            self.start_checker();
        }
        let (due, later): (Vec<_>, Vec<_>) = self.respawn.drain(..).partition(|(t, _)| *t <= now);
        self.respawn = later;
        for (_, slot) in due {
            if let Err(e) = self.spawn(slot) {
                // Try again later rather than give up on the slot.
                log::error!("replacing worker {slot}: {e}");
                self.respawn.push((now + BACKOFF_MAX, slot));
            }
        }
    }

    /// Stops every child and marks the scoreboard. Gracefully (WINCH, or the old
    /// supervisor of a binary upgrade): children finish their requests first, for
    /// at most GracefulShutdownTimeout (when set); otherwise (TERM/INT) they are
    /// told to stop at once, then killed after 10 s. The watchdog goes on.
    fn shutdown(&mut self, why: Ending) {
        let sb = self.scoreboard.clone();
        sb.header().set_phase(Phase::Stopping);
        let graceful = why.signal() == Signal::SIGUSR1;
        let deadline = if graceful {
            let t = self.gen.config.graceful_shutdown_timeout;
            // 0 means "no limit" as in httpd; workers still bound themselves (5 min).
            let limit = if t.is_zero() {
                Duration::from_secs(3600)
            } else {
                t + Duration::from_secs(1)
            };
            Instant::now() + limit
        } else {
            Instant::now() + STOP_DEADLINE
        };
        log::info!(
            "stopping {} workers{}",
            self.children.len(),
            if graceful { " gracefully" } else { "" }
        );
        let pids: Vec<Pid> = self.children.keys().copied().collect();
        for pid in pids {
            self.tell_to_stop(pid, why);
        }
        while !self.children.is_empty() && Instant::now() < deadline {
            self.watchdog();
            self.reap();
            if !self.children.is_empty() {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        for (pid, child) in self.children.drain() {
            if child.checker {
                log::warn!("health checker (pid {pid}) did not stop in time; killing it");
                sb.header().set_checker_pid(0);
            } else {
                log::warn!(
                    "worker {} (pid {pid}) did not stop in time; killing it",
                    child.slot
                );
            }
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
            if child.slot < sb.processes().len() {
                sb.release_held(child.slot);
                sb.process(child.slot).clear();
            }
        }
        if let Some(p) = &self.pid_file {
            remove_quietly(p);
        }
        sb.header().set_phase(Phase::Stopped);
        log::info!("stopped");
    }
}

fn remove_quietly(p: &Path) {
    if let Err(e) = std::fs::remove_file(p) {
        log::warn!("removing {}: {e}", p.display());
    }
}

/// The scoreboard file just created goes to the workers' run group (see
/// `process::share_scoreboard`).
fn share_scoreboard(cfg: &Config) -> Result<(), String> {
    process::share_scoreboard(
        &cfg.scoreboard_file,
        cfg.user.as_deref(),
        cfg.group.as_deref(),
    )
    .map_err(|e| {
        format!(
            "local: giving the scoreboard {} to the run group: {e}",
            cfg.scoreboard_file.display()
        )
    })
}
