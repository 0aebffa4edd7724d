//! The supervisor: reads the configuration, binds every listener, creates the
//! scoreboard, forks the workers, replaces a worker that dies (with a back-off),
//! and on SIGTERM/SIGINT stops every child and exits 0. It never serves a
//! request and never starts a thread, so it is always safe to fork from.

mod listeners;
pub mod process;

use std::collections::HashMap;
use std::io::Read;
use std::net::TcpListener;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use scoreboard::{flags, Layout, Phase, Scoreboard, NO_BALANCER};

use crate::config::{self, Config};
use crate::proxy::Routes;
use crate::worker::{self, WorkerSetup};
use process::Forked;

/// How long stopping children may take before they are killed outright.
const STOP_DEADLINE: Duration = Duration::from_secs(10);
/// A worker that lived this long is healthy: its next death restarts the back-off.
const HEALTHY_LIFETIME: Duration = Duration::from_secs(10);
const BACKOFF_FIRST: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// What the command line asked for.
pub struct Options {
    pub config_file: PathBuf,
    pub defines: Vec<String>,
}

/// Everything prepared before the first fork.
struct Prepared {
    config: Arc<Config>,
    routes: Arc<Routes>,
    listeners: Vec<TcpListener>,
    scoreboard: Arc<Scoreboard>,
    workers: usize,
}

/// Loads the configuration and checks everything `-t` can check without binding.
pub fn check(opts: &Options) -> Result<(Config, Routes), String> {
    let cfg = config::load(&opts.config_file, &opts.defines).map_err(|e| e.to_string())?;
    let routes = Routes::new(&cfg)?;
    Ok((cfg, routes))
}

fn prepare(opts: &Options) -> Result<Prepared, String> {
    let (cfg, mut routes) = check(opts)?;
    crate::logging::init(cfg.error_log.as_deref(), cfg.log_level).map_err(|e| e.to_string())?;
    for w in &cfg.warnings {
        log::warn!("{w}");
    }
    let mut listeners = Vec::new();
    for l in &cfg.listen {
        let sock = listeners::bind(l.addr)
            .map_err(|e| format!("{}: could not bind to address {}: {e}", l.origin, l.addr))?;
        listeners.push(sock);
    }
    let workers = cfg
        .start_servers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    routes.open_logs()?;
    let layout = Layout {
        processes: workers as u32,
        balancers: routes.balancers.len() as u32,
        members: routes.member_slots(&cfg) as u32,
    };
    let sb = Scoreboard::create(&cfg.scoreboard_file, layout)
        .map_err(|e| format!("creating the scoreboard: {e}"))?;
    init_slots(&sb, &cfg, &routes);
    let ports: Vec<u16> = listeners
        .iter()
        .filter_map(|l| l.local_addr().ok())
        .map(|a| a.port())
        .collect();
    let h = sb.header();
    h.set_supervisor_pid(std::process::id() as i32);
    h.set_generation(1);
    h.set_ports(&ports);
    Ok(Prepared {
        config: Arc::new(cfg),
        routes: Arc::new(routes),
        listeners,
        scoreboard: Arc::new(sb),
        workers,
    })
}

/// Fills the balancer and member slots of a fresh scoreboard from the configuration.
fn init_slots(sb: &Scoreboard, cfg: &Config, routes: &Routes) {
    for m in &routes.members {
        let slot = sb.member(m.slot);
        slot.url.set(&m.url.name);
        slot.route.set(&m.route);
        slot.redirect.set(&m.redirect);
        slot.set_balancer(m.balancer.map_or(NO_BALANCER, |b| b as u32));
        slot.set_lbfactor(m.lbfactor);
        slot.set_lbset(m.lbset);
        slot.set_status(m.status | flags::INIT);
        slot.set_in_use(true);
    }
    for (b, bc) in routes.balancers.iter().zip(&cfg.balancers) {
        let slot = sb.balancer(b.spec.slot);
        slot.name.set(&b.spec.name);
        slot.lbmethod.set(b.spec.method.name());
        slot.sticky
            .set(b.spec.sticky_cookie.as_deref().unwrap_or(""));
        slot.sticky_path
            .set(b.spec.sticky_param.as_deref().unwrap_or(""));
        slot.nonce.set(bc.params.nonce.as_deref().unwrap_or(""));
        slot.set_timeout_ms(bc.params.timeout.as_millis() as u64);
        slot.set_max_attempts(b.spec.max_attempts as u32);
        slot.set_nofailover(b.spec.nofailover);
        slot.set_sticky_separator(b.spec.sticky_separator.map_or('\0', char::from));
        slot.set_in_use(true);
    }
}

/// Runs the server in the foreground until SIGTERM or SIGINT; returns the exit status.
pub fn run(opts: &Options) -> i32 {
    let p = match prepare(opts) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("slotgate: {e}");
            return 1;
        }
    };
    match Supervisor::new(p).and_then(|mut s| s.serve()) {
        Ok(()) => 0,
        Err(e) => {
            log::error!("supervisor: {e}");
            eprintln!("slotgate: {e}");
            1
        }
    }
}

struct Child {
    slot: usize,
    started: Instant,
}

struct Supervisor {
    p: Prepared,
    children: HashMap<Pid, Child>,
    /// Slots waiting for a new worker: (when, slot).
    respawn: Vec<(Instant, usize)>,
    /// Quick deaths in a row per slot (the back-off exponent).
    failures: Vec<u32>,
    wake: UnixStream,
    stop: Arc<AtomicBool>,
    pid_file: Option<PathBuf>,
}

impl Supervisor {
    fn new(p: Prepared) -> Result<Supervisor, String> {
        let (wake, notify) = UnixStream::pair().map_err(|e| format!("signal pipe: {e}"))?;
        notify.set_nonblocking(true).map_err(|e| e.to_string())?;
        let stop = Arc::new(AtomicBool::new(false));
        for s in process::SUPERVISOR_SIGNALS {
            let n = s as i32;
            let fd = notify.try_clone().map_err(|e| e.to_string())?;
            signal_hook::low_level::pipe::register(n, fd)
                .map_err(|e| format!("installing the handler of {s}: {e}"))?;
            if matches!(s, Signal::SIGTERM | Signal::SIGINT) {
                signal_hook::flag::register(n, stop.clone()).map_err(|e| e.to_string())?;
            }
        }
        let pid_file = p.config.pid_file.clone();
        if let Some(path) = &pid_file {
            std::fs::write(path, format!("{}\n", std::process::id()))
                .map_err(|e| format!("writing PidFile {}: {e}", path.display()))?;
        }
        let n = p.workers;
        Ok(Supervisor {
            p,
            children: HashMap::new(),
            respawn: Vec::new(),
            failures: vec![0; n],
            wake,
            stop,
            pid_file,
        })
    }

    fn serve(&mut self) -> Result<(), String> {
        for slot in 0..self.p.workers {
            self.spawn(slot)?;
        }
        let sb = self.p.scoreboard.clone();
        sb.header().set_phase(Phase::Running);
        let addrs: Vec<String> = self
            .p
            .listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .map(|a| a.to_string())
            .collect();
        log::info!(
            "slotgate {} running: {} workers, listening on {}",
            env!("CARGO_PKG_VERSION"),
            self.p.workers,
            addrs.join(", ")
        );
        while !self.stop.load(Ordering::SeqCst) {
            self.wait_for_signal();
            self.reap();
            self.respawn_due()?;
        }
        self.shutdown();
        Ok(())
    }

    /// Sleeps until a signal arrives or the next respawn is due (at most a second).
    fn wait_for_signal(&mut self) {
        let now = Instant::now();
        let wait = self
            .respawn
            .iter()
            .map(|(t, _)| t.saturating_duration_since(now))
            .min()
            .unwrap_or(Duration::from_secs(1))
            .clamp(Duration::from_millis(1), Duration::from_secs(1));
        let _ = self.wake.set_read_timeout(Some(wait));
        let mut buf = [0u8; 64];
        let _ = self.wake.read(&mut buf);
    }

    fn spawn(&mut self, slot: usize) -> Result<(), String> {
        let sb = &self.p.scoreboard;
        let generation = sb.header().generation();
        sb.process(slot).reset_for(0, generation);
        let listeners: Vec<TcpListener> = self
            .p
            .listeners
            .iter()
            .map(|l| l.try_clone())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("duplicating a listener: {e}"))?;
        let supervisor = nix::unistd::getpid();
        match process::fork().map_err(|e| format!("fork: {e}"))? {
            Forked::Child => {
                process::init_child(supervisor);
                let me = std::process::id() as i32;
                sb.process(slot).set_pid(me);
                let setup = WorkerSetup {
                    config: self.p.config.clone(),
                    routes: self.p.routes.clone(),
                    listeners,
                    scoreboard: self.p.scoreboard.clone(),
                    slot,
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
                    },
                );
                log::debug!("worker {slot} started as pid {pid}");
                Ok(())
            }
        }
    }

    /// Collects every exited child and schedules its replacement.
    fn reap(&mut self) {
        loop {
            let (pid, how) = match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => (pid, format!("exit status {code}")),
                Ok(WaitStatus::Signaled(pid, sig, _)) => (pid, format!("signal {sig}")),
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(_) => continue,
            };
            let Some(child) = self.children.remove(&pid) else {
                continue;
            };
            self.p.scoreboard.process(child.slot).clear();
            if self.stop.load(Ordering::SeqCst) {
                continue;
            }
            let lived = child.started.elapsed();
            let fails = &mut self.failures[child.slot];
            *fails = if lived >= HEALTHY_LIFETIME {
                0
            } else {
                *fails + 1
            };
            let delay = if *fails <= 1 {
                Duration::ZERO
            } else {
                (BACKOFF_FIRST * 2u32.saturating_pow(*fails - 2)).min(BACKOFF_MAX)
            };
            log::error!(
                "worker {} (pid {pid}) ended with {how} after {:.1}s; replacing it in {:?}",
                child.slot,
                lived.as_secs_f64(),
                delay
            );
            self.respawn.push((Instant::now() + delay, child.slot));
        }
    }

    fn respawn_due(&mut self) -> Result<(), String> {
        let now = Instant::now();
        let (due, later): (Vec<_>, Vec<_>) = self.respawn.drain(..).partition(|(t, _)| *t <= now);
        self.respawn = later;
        for (_, slot) in due {
            if let Err(e) = self.spawn(slot) {
                // Try again later rather than give up on the slot.
                log::error!("replacing worker {slot}: {e}");
                self.respawn.push((now + BACKOFF_MAX, slot));
            }
        }
        Ok(())
    }

    /// Stops every child (TERM, then KILL after the deadline) and marks the scoreboard.
    fn shutdown(&mut self) {
        let sb = self.p.scoreboard.clone();
        sb.header().set_phase(Phase::Stopping);
        log::info!("stopping {} workers", self.children.len());
        for pid in self.children.keys() {
            let _ = kill(*pid, Signal::SIGTERM);
        }
        let deadline = Instant::now() + STOP_DEADLINE;
        while !self.children.is_empty() && Instant::now() < deadline {
            self.reap();
            if !self.children.is_empty() {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        for (pid, child) in self.children.drain() {
            log::warn!(
                "worker {} (pid {pid}) did not stop in time; killing it",
                child.slot
            );
            let _ = kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
            sb.process(child.slot).clear();
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
