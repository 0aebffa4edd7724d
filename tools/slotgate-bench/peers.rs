//! The processes `compare` runs: the origins and the proxies under test.
//!
//! Each proxy gets its own directory under one temporary directory, a
//! configuration generated here (pure functions, unit-tested), a check of that
//! configuration by the program itself (`-t` / `-c`), and a process started in
//! its own process group so that it, and every worker it forks, can be stopped
//! with one `killpg`. `Started` stops its group on drop; an interrupt handler
//! stops every group still registered, so Ctrl-C leaves nothing behind.

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::fmt::Write as _;
use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The proxies `compare` knows, in the order of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    SlotgateEvent,
    SlotgatePrefork,
    Nginx,
    Haproxy,
    HttpdEvent,
    HttpdPrefork,
}

impl Kind {
    pub const ALL: [Kind; 6] = [
        Kind::SlotgateEvent,
        Kind::SlotgatePrefork,
        Kind::Nginx,
        Kind::Haproxy,
        Kind::HttpdEvent,
        Kind::HttpdPrefork,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::SlotgateEvent => "slotgate-event",
            Kind::SlotgatePrefork => "slotgate-prefork",
            Kind::Nginx => "nginx",
            Kind::Haproxy => "haproxy",
            Kind::HttpdEvent => "httpd-event",
            Kind::HttpdPrefork => "httpd-prefork",
        }
    }

    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn is_slotgate(self) -> bool {
        matches!(self, Kind::SlotgateEvent | Kind::SlotgatePrefork)
    }
}

/// How big to make each proxy.
#[derive(Debug, Clone, Copy)]
pub struct Sizing {
    /// Processes (slotgate event, nginx, httpd event) or threads (HAProxy).
    pub workers: usize,
    /// The largest concurrency of the run: every proxy must serve that many
    /// connections at once.
    pub max_concurrency: usize,
}

impl Sizing {
    /// File descriptors / connections an event-style proxy should allow:
    /// one client and one origin connection per client, with room to spare.
    fn connections(&self) -> usize {
        (4 * self.max_concurrency).max(4096)
    }
}

/// The programs used, where they were found.
#[derive(Debug, Clone)]
pub struct Tools {
    pub slotgate: PathBuf,
    pub origin_bin: PathBuf,
    pub nginx: Option<PathBuf>,
    pub haproxy: Option<PathBuf>,
    pub apache2: Option<PathBuf>,
    pub apache_modules: PathBuf,
}

/// `name` on PATH, else in /usr/sbin or /usr/local/sbin.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into(), "/sbin".into()])
        .map(|d| d.join(name))
        .find(|p| {
            p.metadata()
                .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .unwrap_or(false)
        })
}

impl Tools {
    /// The binary of `kind`, or why it is missing.
    pub fn program(&self, kind: Kind) -> Result<&Path, String> {
        let (found, what) = match kind {
            Kind::SlotgateEvent | Kind::SlotgatePrefork => {
                return if self.slotgate.is_file() {
                    Ok(&self.slotgate)
                } else {
                    Err(format!(
                        "{} not found (build it: cargo build --release, or give --slotgate PATH)",
                        self.slotgate.display()
                    ))
                };
            }
            Kind::Nginx => (&self.nginx, "nginx is not installed"),
            Kind::Haproxy => (&self.haproxy, "haproxy is not installed"),
            Kind::HttpdEvent | Kind::HttpdPrefork => {
                if self.apache2.is_some() {
                    let m = if kind == Kind::HttpdEvent {
                        "mpm_event"
                    } else {
                        "mpm_prefork"
                    };
                    let so = self.apache_modules.join(format!("mod_{m}.so"));
                    if !so.is_file() {
                        return Err(format!("{} is missing", so.display()));
                    }
                }
                (&self.apache2, "apache2 (httpd) is not installed")
            }
        };
        found.as_deref().ok_or_else(|| what.to_string())
    }

    /// One line naming the version of `kind`'s program.
    pub fn version(&self, kind: Kind) -> String {
        let Ok(program) = self.program(kind) else {
            return "not installed".into();
        };
        let arg = if kind == Kind::Haproxy { "-vq" } else { "-v" };
        let first_line = |arg: &str| {
            Command::new(program)
                .arg(arg)
                .stdin(Stdio::null())
                .output()
                .ok()
                .and_then(|o| {
                    // nginx prints its version on stderr.
                    let text = String::from_utf8_lossy(&o.stdout).to_string()
                        + &String::from_utf8_lossy(&o.stderr);
                    text.lines()
                        .map(str::trim)
                        .find(|l| !l.is_empty())
                        .map(str::to_string)
                })
        };
        first_line(arg)
            .filter(|l| !l.contains("unknown option"))
            .or_else(|| first_line("-v"))
            .unwrap_or_else(|| "unknown".into())
    }
}

/// `n` distinct free ports on 127.0.0.1 (bound together, then released).
pub fn free_ports(n: usize) -> Result<Vec<u16>, String> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("finding a free port: {e}"))?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("finding a free port: {e}"))
}

// ---------------------------------------------------------------------------
// Configurations (pure).

/// The body the origins serve: `size` bytes of `x`.
pub fn body_text(size: usize) -> String {
    "x".repeat(size)
}

/// Bodies up to this size go inline in nginx's `return`; larger ones are a file.
pub const INLINE_BODY_MAX: usize = 4096;

/// The path the load requests (slotgate-origin answers `/bytes/N`; nginx
/// answers any path with the body).
pub fn request_path(body: usize) -> String {
    format!("/bytes/{body}")
}

fn nginx_temp_paths(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "  client_body_temp_path {d}/tmp-body;\n  proxy_temp_path {d}/tmp-proxy;\n  \
         fastcgi_temp_path {d}/tmp-fastcgi;\n  uwsgi_temp_path {d}/tmp-uwsgi;\n  \
         scgi_temp_path {d}/tmp-scgi;\n"
    )
}

/// One nginx, one worker, answering on both origin ports with the body
/// (inline under `INLINE_BODY_MAX`, else the file `DIR/htdocs/body`).
pub fn nginx_origin_config(dir: &Path, ports: [u16; 2], body: usize) -> String {
    let d = dir.display();
    let answer = if body <= INLINE_BODY_MAX {
        format!("return 200 \"{}\";", body_text(body))
    } else {
        format!("root {d}/htdocs; try_files /body =404;")
    };
    let mut out = format!(
        "worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         worker_rlimit_nofile 65536;\n\
         events {{ worker_connections 16384; }}\n\
         http {{\n  access_log off;\n  default_type application/octet-stream;\n  \
         keepalive_requests 1000000;\n  keepalive_timeout 300s;\n"
    );
    out += &nginx_temp_paths(dir);
    for p in ports {
        let _ = writeln!(
            out,
            "  server {{ listen 127.0.0.1:{p}; location / {{ {answer} }} }}"
        );
    }
    out += "}\n";
    out
}

/// slotgate in front of the two origins, event or prefork.
pub fn slotgate_config(
    dir: &Path,
    port: u16,
    origins: [u16; 2],
    prefork: bool,
    s: &Sizing,
) -> String {
    let d = dir.display();
    let mut out = format!(
        "# slotgate-bench compare: slotgate-{}\nServerRoot \"{d}\"\nListen 127.0.0.1:{port}\n\
         ErrorLog \"{d}/slotgate.err\"\nLogLevel warn\nKeepAlive On\nMaxKeepAliveRequests 0\n",
        if prefork { "prefork" } else { "event" }
    );
    if prefork {
        // One connection per process: as many processes as connections, all
        // started at once and none retired between runs.
        let n = s.max_concurrency;
        let _ = write!(
            out,
            "MPM prefork\nServerLimit {n}\nMaxRequestWorkers {n}\nStartServers {n}\n\
             MinSpareServers 1\nMaxSpareServers {}\n",
            n.max(2)
        );
    } else {
        let _ = write!(
            out,
            "MPM event\nStartServers {}\nMaxRequestWorkers {}\n",
            s.workers,
            s.max_concurrency.max(256)
        );
    }
    let _ = write!(
        out,
        "<Proxy balancer://b>\n  BalancerMember http://127.0.0.1:{}\n  BalancerMember http://127.0.0.1:{}\n\
         </Proxy>\nProxyPass / balancer://b/\n",
        origins[0], origins[1]
    );
    out
}

/// nginx as the proxy: `W` workers, keep-alive to the upstream.
pub fn nginx_proxy_config(dir: &Path, port: u16, origins: [u16; 2], s: &Sizing) -> String {
    let d = dir.display();
    let conns = s.connections();
    let mut out = format!(
        "worker_processes {};\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         worker_rlimit_nofile {};\nevents {{ worker_connections {conns}; }}\nhttp {{\n  \
         access_log off;\n  keepalive_requests 1000000;\n  keepalive_timeout 300s;\n",
        s.workers,
        2 * conns + 64
    );
    out += &nginx_temp_paths(dir);
    let _ = write!(
        out,
        "  upstream b {{\n    server 127.0.0.1:{};\n    server 127.0.0.1:{};\n    \
         keepalive 1024;\n    keepalive_requests 1000000;\n  }}\n  \
         server {{\n    listen 127.0.0.1:{port};\n    location / {{\n      \
         proxy_pass http://b;\n      proxy_http_version 1.1;\n      \
         proxy_set_header Connection \"\";\n      proxy_buffers 16 8k;\n    }}\n  }}\n}}\n",
        origins[0], origins[1]
    );
    out
}

/// HAProxy as the proxy: `W` threads, connection reuse to the servers.
pub fn haproxy_config(port: u16, origins: [u16; 2], s: &Sizing) -> String {
    let conns = s.connections();
    format!(
        "global\n  nbthread {}\n  maxconn {conns}\n\n\
         defaults\n  mode http\n  option http-keep-alive\n  http-reuse always\n  \
         timeout connect 5s\n  timeout client 60s\n  timeout server 60s\n  \
         timeout http-keep-alive 300s\n  maxconn {conns}\n\n\
         frontend f\n  bind 127.0.0.1:{port}\n  default_backend b\n\n\
         backend b\n  balance roundrobin\n  server o1 127.0.0.1:{}\n  server o2 127.0.0.1:{}\n",
        s.workers, origins[0], origins[1]
    )
}

/// Apache httpd as the proxy, event or prefork MPM, from Debian's modules.
pub fn httpd_config(
    dir: &Path,
    port: u16,
    origins: [u16; 2],
    prefork: bool,
    s: &Sizing,
    modules: &Path,
    as_root: bool,
) -> String {
    let d = dir.display();
    let mut out = format!(
        "ServerRoot \"{d}\"\nListen 127.0.0.1:{port}\nServerName proxy.test\n\
         PidFile \"{d}/httpd.pid\"\nErrorLog \"{d}/error.log\"\nLogLevel warn\n\
         DefaultRuntimeDir \"{d}\"\nMutex \"file:{d}\" default\n"
    );
    if as_root {
        out += "User www-data\nGroup www-data\n";
    }
    let mpm = if prefork { "mpm_prefork" } else { "mpm_event" };
    for m in [
        mpm,
        "authz_core",
        "unixd",
        "slotmem_shm",
        "proxy",
        "proxy_http",
        "proxy_balancer",
        "lbmethod_byrequests",
    ] {
        // Built into some builds (Debian's has unixd): load only when missing.
        let _ = writeln!(
            out,
            "<IfModule !{m}_module>\n  LoadModule {m}_module \"{}/mod_{m}.so\"\n</IfModule>",
            modules.display()
        );
    }
    out += "KeepAlive On\nMaxKeepAliveRequests 0\nKeepAliveTimeout 5\nTimeout 60\n";
    if prefork {
        let n = s.max_concurrency;
        let _ = write!(
            out,
            "ServerLimit {n}\nMaxRequestWorkers {n}\nStartServers {n}\nMinSpareServers 1\n\
             MaxSpareServers {}\nMaxConnectionsPerChild 0\n",
            n.max(2)
        );
    } else {
        // W processes with threads for the largest concurrency plus a
        // quarter: with no idle thread left, the event MPM closes keep-alive
        // connections as they go idle, which the client sees as errors.
        let w = s.workers;
        let per_process = s.max_concurrency.div_ceil(w);
        let threads = (per_process + per_process / 4).max(25);
        let _ = write!(
            out,
            "ServerLimit {w}\nStartServers {w}\nThreadLimit {threads}\nThreadsPerChild {threads}\n\
             MaxRequestWorkers {}\nMinSpareThreads 1\nMaxSpareThreads {}\n\
             MaxConnectionsPerChild 0\n",
            w * threads,
            w * threads
        );
    }
    let _ = write!(
        out,
        "ProxyRequests Off\n<Proxy balancer://b>\n  BalancerMember http://127.0.0.1:{}\n  \
         BalancerMember http://127.0.0.1:{}\n</Proxy>\nProxyPass / balancer://b/\n",
        origins[0], origins[1]
    );
    out
}

// ---------------------------------------------------------------------------
// Processes.

/// Process groups and directories to clean up on an interrupt.
static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());
static DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// On SIGINT, SIGTERM or SIGHUP: stop every registered process group, remove
/// the temporary directories, and exit 130.
pub fn install_interrupt_handler() -> Result<(), String> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .map_err(|e| format!("installing the signal handler: {e}"))?;
    std::thread::spawn(move || {
        if let Some(signal) = signals.forever().next() {
            eprintln!("slotgate-bench: signal {signal}: stopping everything started");
            let groups = GROUPS.lock().map(|g| g.clone()).unwrap_or_default();
            for &g in &groups {
                let _ = killpg(Pid::from_raw(g), Signal::SIGTERM);
            }
            std::thread::sleep(Duration::from_millis(300));
            for &g in &groups {
                let _ = killpg(Pid::from_raw(g), Signal::SIGKILL);
            }
            for d in DIRS.lock().map(|d| d.clone()).unwrap_or_default() {
                let _ = fs::remove_dir_all(d);
            }
            std::process::exit(130);
        }
    });
    Ok(())
}

/// A temporary directory, removed on drop (unless `keep`).
pub struct TempDir {
    pub path: PathBuf,
    pub keep: bool,
}

impl TempDir {
    pub fn new(prefix: &str) -> Result<TempDir, String> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&path).map_err(|e| format!("creating {}: {e}", path.display()))?;
        // Workers that drop privileges (nginx, httpd as root) read files here.
        let _ = fs::set_permissions(&path, fs::Permissions::from_mode(0o755));
        if let Ok(mut d) = DIRS.lock() {
            d.push(path.clone());
        }
        Ok(TempDir { path, keep: false })
    }

    /// A subdirectory, created world-readable.
    pub fn sub(&self, name: &str) -> Result<PathBuf, String> {
        let p = self.path.join(name);
        fs::create_dir_all(&p).map_err(|e| format!("creating {}: {e}", p.display()))?;
        let _ = fs::set_permissions(&p, fs::Permissions::from_mode(0o755));
        Ok(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Ok(mut d) = DIRS.lock() {
            d.retain(|p| p != &self.path);
        }
        if !self.keep {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// A process we started, in its own process group; stopped on drop.
pub struct Started {
    pub name: String,
    pub child: Child,
    pub pid: i32,
    pub port: u16,
    /// Files that may explain a failure (error log, captured stdout/stderr).
    pub logs: Vec<PathBuf>,
}

impl Started {
    /// Start `program args` in directory `dir`, stdout and stderr to files there.
    pub fn spawn(
        name: &str,
        program: &Path,
        args: &[&str],
        dir: &Path,
        port: u16,
    ) -> Result<Started, String> {
        let out_path = dir.join("stdout.log");
        let err_path = dir.join("stderr.log");
        let file =
            |p: &Path| fs::File::create(p).map_err(|e| format!("creating {}: {e}", p.display()));
        let child = Command::new(program)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(file(&out_path)?)
            .stderr(file(&err_path)?)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("{name}: starting {}: {e}", program.display()))?;
        let pid = child.id() as i32;
        if let Ok(mut g) = GROUPS.lock() {
            g.push(pid);
        }
        Ok(Started {
            name: name.to_string(),
            child,
            pid,
            port,
            logs: vec![err_path, out_path],
        })
    }

    /// The last lines of each log, for an error message.
    pub fn log_tail(&self) -> String {
        let mut out = String::new();
        for p in &self.logs {
            let Ok(text) = fs::read_to_string(p) else {
                continue;
            };
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            if lines.is_empty() {
                continue;
            }
            let _ = writeln!(out, "--- {} (last lines):", p.display());
            for l in &lines[lines.len().saturating_sub(12)..] {
                let _ = writeln!(out, "    {l}");
            }
        }
        if out.is_empty() {
            out = "(its logs are empty)\n".into();
        }
        out
    }

    /// Wait until `self.port` accepts connections, at most `limit`.
    pub fn wait_listening(&mut self, limit: Duration) -> Result<(), String> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "{} exited at start ({status}) before listening on {addr}\n{}",
                    self.name,
                    self.log_tail()
                ));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} does not accept connections on {addr} after {limit:?}\n{}",
                    self.name,
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// TERM to the group, up to 3 s for the leader to go, then KILL the group.
    fn stop(&mut self) {
        let group = Pid::from_raw(self.pid);
        let _ = killpg(group, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Workers left behind by the leader, or a leader that ignored TERM.
        let _ = killpg(group, Signal::SIGKILL);
        let _ = self.child.wait();
        if let Ok(mut g) = GROUPS.lock() {
            g.retain(|&p| p != self.pid);
        }
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Run a configuration check; its output on failure.
fn check(name: &str, program: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{name}: running {}: {e}", program.display()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{name}: the generated configuration is refused by `{} {}`:\n{}{}",
            program.display(),
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn write_file(path: &Path, text: &str) -> Result<(), String> {
    fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
    let _ = fs::set_permissions(path, fs::Permissions::from_mode(0o644));
    Ok(())
}

fn path_str(p: &Path) -> Result<&str, String> {
    p.to_str()
        .ok_or_else(|| format!("{}: not UTF-8", p.display()))
}

/// How long a peer may take to start listening.
pub const START_LIMIT: Duration = Duration::from_secs(10);

/// The origins: their processes, their ports, and how they were made.
pub struct Origins {
    pub procs: Vec<Started>,
    pub ports: [u16; 2],
    pub description: String,
}

/// Start the two origins: one nginx with two `server` blocks if `use_nginx`,
/// else two `slotgate-origin` processes.
pub fn start_origins(
    tools: &Tools,
    tmp: &TempDir,
    body: usize,
    use_nginx: bool,
) -> Result<Origins, String> {
    let p = free_ports(2)?;
    let ports = [p[0], p[1]];
    let mut procs = Vec::new();
    let description;
    if use_nginx {
        let nginx = tools.nginx.as_deref().ok_or("nginx is not installed")?;
        let dir = tmp.sub("origin")?;
        if body > INLINE_BODY_MAX {
            let htdocs = dir.join("htdocs");
            fs::create_dir_all(&htdocs)
                .map_err(|e| format!("creating {}: {e}", htdocs.display()))?;
            let _ = fs::set_permissions(&htdocs, fs::Permissions::from_mode(0o755));
            write_file(&htdocs.join("body"), &body_text(body))?;
        }
        let conf = dir.join("nginx.conf");
        write_file(&conf, &nginx_origin_config(&dir, ports, body))?;
        let early = dir.join("startup.log");
        let (c, e) = (path_str(&conf)?, path_str(&early)?);
        check("origin nginx", nginx, &["-t", "-q", "-e", e, "-c", c])?;
        let mut s = Started::spawn("origin nginx", nginx, &["-e", e, "-c", c], &dir, ports[0])?;
        s.logs.insert(0, dir.join("error.log"));
        s.wait_listening(START_LIMIT)?;
        s.port = ports[1];
        s.wait_listening(START_LIMIT)?;
        procs.push(s);
        description = format!(
            "one nginx (1 worker process) with two `server` blocks on ports {} and {}, {}",
            ports[0],
            ports[1],
            if body > INLINE_BODY_MAX {
                "serving a file of the body's size"
            } else {
                "answering `return 200 \"x…\"`"
            }
        );
    } else {
        let bin = &tools.origin_bin;
        if !bin.is_file() {
            return Err(format!(
                "nginx is not installed and the fallback origin {} does not exist \
                 (build it: cargo build --release, or give --origin-bin PATH)",
                bin.display()
            ));
        }
        for (i, port) in ports.iter().enumerate() {
            let name = ["a", "b"][i];
            let dir = tmp.sub(&format!("origin-{name}"))?;
            let listen = format!("127.0.0.1:{port}");
            let mut s = Started::spawn(
                &format!("origin slotgate-origin {name}"),
                bin,
                &["--listen", &listen, "--name", name],
                &dir,
                *port,
            )?;
            s.wait_listening(START_LIMIT)?;
            procs.push(s);
        }
        description = format!(
            "two slotgate-origin processes (thread per connection, `/bytes/N`) on ports {} and {} — \
             nginx was not used, so the origins cost more CPU than nginx would",
            ports[0], ports[1]
        );
    }
    Ok(Origins {
        procs,
        ports,
        description,
    })
}

/// Write `kind`'s configuration under `tmp`, check it, start it, and wait
/// until it listens. Returns the process and the configuration text.
pub fn start_proxy(
    kind: Kind,
    tools: &Tools,
    tmp: &TempDir,
    origins: [u16; 2],
    sizing: &Sizing,
) -> Result<(Started, String), String> {
    let p = prepare_proxy(kind, tools, tmp, origins, sizing)?;
    let args: Vec<&str> = p.run_args.iter().map(String::as_str).collect();
    let mut started = Started::spawn(kind.name(), p.program, &args, &p.dir, p.port)?;
    if !started.logs.contains(&p.error_log) {
        started.logs.insert(0, p.error_log);
    }
    started.wait_listening(START_LIMIT)?;
    Ok((started, p.config))
}

/// A proxy's configuration, written and accepted by the proxy's own check.
pub struct Prepared<'a> {
    pub program: &'a Path,
    pub dir: PathBuf,
    pub port: u16,
    pub run_args: Vec<String>,
    pub error_log: PathBuf,
    pub config: String,
}

/// Write `kind`'s configuration under `tmp` and have the program check it
/// (`slotgate -t`, `nginx -t`, `haproxy -c`, `apache2 -t`).
pub fn prepare_proxy<'a>(
    kind: Kind,
    tools: &'a Tools,
    tmp: &TempDir,
    origins: [u16; 2],
    sizing: &Sizing,
) -> Result<Prepared<'a>, String> {
    let name = kind.name();
    let program = tools.program(kind).map_err(|e| format!("{name}: {e}"))?;
    let dir = tmp.sub(name)?;
    let port = free_ports(1)?[0];
    let as_root = nix::unistd::geteuid().is_root();
    let (conf_name, text) = match kind {
        Kind::SlotgateEvent | Kind::SlotgatePrefork => (
            "slotgate.conf",
            slotgate_config(&dir, port, origins, kind == Kind::SlotgatePrefork, sizing),
        ),
        Kind::Nginx => (
            "nginx.conf",
            nginx_proxy_config(&dir, port, origins, sizing),
        ),
        Kind::Haproxy => ("haproxy.cfg", haproxy_config(port, origins, sizing)),
        Kind::HttpdEvent | Kind::HttpdPrefork => (
            "httpd.conf",
            httpd_config(
                &dir,
                port,
                origins,
                kind == Kind::HttpdPrefork,
                sizing,
                &tools.apache_modules,
                as_root,
            ),
        ),
    };
    let conf = dir.join(conf_name);
    write_file(&conf, &text)?;
    let c = path_str(&conf)?;
    let early = dir.join("startup.log");
    let e = path_str(&early)?;
    let (check_args, run_args, error_log): (Vec<&str>, Vec<&str>, PathBuf) = match kind {
        Kind::SlotgateEvent | Kind::SlotgatePrefork => {
            (vec!["-t", "-f", c], vec!["-f", c], dir.join("slotgate.err"))
        }
        Kind::Nginx => (
            vec!["-t", "-q", "-e", e, "-c", c],
            vec!["-e", e, "-c", c],
            dir.join("error.log"),
        ),
        Kind::Haproxy => (
            vec!["-c", "-q", "-f", c],
            vec!["-db", "-f", c],
            dir.join("stderr.log"),
        ),
        Kind::HttpdEvent | Kind::HttpdPrefork => (
            vec!["-t", "-f", c],
            vec!["-f", c, "-DFOREGROUND"],
            dir.join("error.log"),
        ),
    };
    check(name, program, &check_args)?;
    Ok(Prepared {
        program,
        port,
        run_args: run_args.iter().map(|a| a.to_string()).collect(),
        error_log,
        config: text,
        dir,
    })
}

/// One GET through `port` with `Connection: close`: the status must be 200
/// and at least `body` bytes must follow the head.
pub fn probe(port: u16, path: &str, body: usize) -> Result<(), String> {
    use std::io::{Read, Write};
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connecting: {e}"))?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("writing: {e}"))?;
    let mut data = Vec::new();
    s.read_to_end(&mut data)
        .map_err(|e| format!("reading: {e}"))?;
    let text = String::from_utf8_lossy(&data);
    let status = text.lines().next().unwrap_or("");
    if !(status.starts_with("HTTP/1.1 200") || status.starts_with("HTTP/1.0 200")) {
        return Err(format!("answered {status:?} instead of 200"));
    }
    let head_end = text.find("\r\n\r\n").map(|i| i + 4).unwrap_or(data.len());
    if data.len() - head_end < body {
        return Err(format!(
            "answered {} body bytes, expected {body}",
            data.len() - head_end
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizing() -> Sizing {
        Sizing {
            workers: 2,
            max_concurrency: 300,
        }
    }

    #[test]
    fn names_round_trip() {
        for k in Kind::ALL {
            assert_eq!(Kind::from_name(k.name()), Some(k));
        }
        assert_eq!(Kind::from_name("apache"), None);
    }

    #[test]
    fn slotgate_event_config() {
        let c = slotgate_config(Path::new("/t/d"), 8080, [9001, 9002], false, &sizing());
        assert!(
            c.contains("ServerRoot \"/t/d\"\nListen 127.0.0.1:8080\n"),
            "{c}"
        );
        assert!(
            c.contains("MPM event\nStartServers 2\nMaxRequestWorkers 300\n"),
            "{c}"
        );
        assert!(c.contains("MaxKeepAliveRequests 0\n"));
        assert!(c.contains(
            "<Proxy balancer://b>\n  BalancerMember http://127.0.0.1:9001\n  BalancerMember http://127.0.0.1:9002\n</Proxy>\nProxyPass / balancer://b/\n"
        ));
    }

    #[test]
    fn slotgate_prefork_config_has_a_process_per_connection() {
        let c = slotgate_config(Path::new("/t"), 1, [2, 3], true, &sizing());
        for line in [
            "MPM prefork",
            "ServerLimit 300",
            "MaxRequestWorkers 300",
            "StartServers 300",
            "MinSpareServers 1",
            "MaxSpareServers 300",
        ] {
            assert!(c.lines().any(|l| l == line), "{line} missing in\n{c}");
        }
    }

    #[test]
    fn nginx_configs() {
        let o = nginx_origin_config(Path::new("/t/o"), [9001, 9002], 5);
        assert!(o.contains("listen 127.0.0.1:9001; location / { return 200 \"xxxxx\"; }"));
        assert!(o.contains("listen 127.0.0.1:9002;"));
        assert!(o.contains("daemon off;") && o.contains("pid /t/o/nginx.pid;"));
        let big = nginx_origin_config(Path::new("/t/o"), [9001, 9002], 65536);
        assert!(big.contains("root /t/o/htdocs; try_files /body =404;"));
        assert!(!big.contains("return 200"));
        let p = nginx_proxy_config(Path::new("/t/p"), 8080, [9001, 9002], &sizing());
        for part in [
            "worker_processes 2;",
            "daemon off;",
            "access_log off;",
            "keepalive_requests 1000000;",
            "server 127.0.0.1:9001;",
            "server 127.0.0.1:9002;",
            "keepalive 1024;",
            "listen 127.0.0.1:8080;",
            "proxy_pass http://b;",
            "proxy_http_version 1.1;",
            "proxy_set_header Connection \"\";",
            "worker_connections 4096;",
        ] {
            assert!(p.contains(part), "{part} missing in\n{p}");
        }
        // Braces balance.
        assert_eq!(p.matches('{').count(), p.matches('}').count());
        assert_eq!(o.matches('{').count(), o.matches('}').count());
    }

    #[test]
    fn haproxy_config_text() {
        let c = haproxy_config(8080, [9001, 9002], &sizing());
        for part in [
            "nbthread 2",
            "mode http",
            "http-reuse always",
            "bind 127.0.0.1:8080",
            "balance roundrobin",
            "server o1 127.0.0.1:9001",
            "server o2 127.0.0.1:9002",
            "timeout connect",
            "timeout client",
            "timeout server",
        ] {
            assert!(c.contains(part), "{part} missing in\n{c}");
        }
        assert!(!c.contains("log "), "no logging");
    }

    #[test]
    fn httpd_configs() {
        let m = Path::new("/usr/lib/apache2/modules");
        let e = httpd_config(
            Path::new("/t/h"),
            8080,
            [9001, 9002],
            false,
            &sizing(),
            m,
            true,
        );
        for part in [
            "<IfModule !mpm_event_module>\n  LoadModule mpm_event_module \"/usr/lib/apache2/modules/mod_mpm_event.so\"\n</IfModule>",
            "LoadModule proxy_balancer_module",
            "LoadModule lbmethod_byrequests_module",
            "LoadModule slotmem_shm_module",
            "User www-data",
            "MaxKeepAliveRequests 0",
            "ServerLimit 2\n",
            "ThreadsPerChild 187\n",
            "MaxRequestWorkers 374\n",
            "Mutex \"file:/t/h\" default",
            "ProxyPass / balancer://b/",
            "BalancerMember http://127.0.0.1:9002",
        ] {
            assert!(e.contains(part), "{part} missing in\n{e}");
        }
        assert!(!e.contains("CustomLog"));
        let p = httpd_config(
            Path::new("/t/h"),
            8080,
            [9001, 9002],
            true,
            &sizing(),
            m,
            false,
        );
        assert!(p.contains("mod_mpm_prefork.so"));
        assert!(
            p.contains("MaxRequestWorkers 300\nStartServers 300\n"),
            "{p}"
        );
        assert!(!p.contains("User "));
    }

    #[test]
    fn free_ports_are_distinct() {
        let p = free_ports(3).unwrap();
        assert!(p[0] != p[1] && p[1] != p[2] && p[0] != p[2]);
    }
}
