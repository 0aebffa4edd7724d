//! The integration-test harness: the real `slotgate` binary started on a
//! configuration written by the test (`Slotgate`), origin servers inside the
//! test process (`Origin`), a small HTTP client, and deterministic data.
//!
//! Rules every helper keeps: each wait is bounded in time; each process a test
//! starts is stopped by PID from a `Drop` guard, also when the test panics;
//! everything listens and connects on 127.0.0.1 only.

// Each test file uses a different part of the harness.
#![allow(dead_code, unused_imports)]

pub mod ajp;
pub mod ajp_drive;
mod client;
pub mod daemon;
mod data;
pub mod fcgi_origin;
mod load;
mod manager;
mod members;
mod origin;
pub mod php_fpm;
pub mod tomcat;
pub mod uwsgi;
pub mod webdriver;
pub mod wire;

pub use client::{
    http_get, http_request, request_bytes, send_raw, split_raw_response, status_from, Client,
    Response,
};
pub use data::{chunk_encode, hex, pattern, pattern_sha256, sha256_hex, Pattern};
pub use load::{run_load, LoadRequest, LoadResult, LOAD_DEADLINE};
pub use manager::{
    form_encode, manager_form_post, manager_json_post, manager_nonce, manager_state,
};
pub use members::{
    balancer_names, find_member, member, member_table, member_views, url_names, wait_member,
    wait_member_in_error, MemberView,
};
pub use origin::{Health, Mode, Origin, Recorded};

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use scoreboard::{Phase, Scoreboard};
use std::fs::{self, File};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long `Slotgate::start` waits for the phase `running`.
pub const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long `Drop` waits after SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Polling interval of every wait in the harness.
const POLL: Duration = Duration::from_millis(20);

/// The daemon binary under test.
pub fn slotgate_exe() -> &'static str {
    env!("CARGO_BIN_EXE_slotgate")
}

/// The inspection tool.
pub fn slotgate_top_exe() -> &'static str {
    env!("CARGO_BIN_EXE_slotgate-top")
}

/// Every value of header `name` (case-insensitive) in `headers`, in order.
pub fn header_values<'a>(headers: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// Replaces `{name}` in `template` with `127.0.0.1:PORT` of the origin of that name.
pub fn render(template: &str, origins: &[&Origin]) -> String {
    let mut text = template.to_string();
    for origin in origins {
        text = text.replace(&format!("{{{}}}", origin.name()), &origin.addr());
    }
    assert!(
        !text.contains("{a}") && !text.contains("{b}"),
        "unfilled placeholder in config:\n{text}"
    );
    text
}

/// The lines most proxy tests start with: one ephemeral listener, one worker
/// process, a fixed ServerName.
pub const BASE_CONF: &str = "Listen 127.0.0.1:0\nStartServers 1\nServerName test.local\n";

/// Starts slotgate on `BASE_CONF` followed by `rules` with `{name}` replaced by
/// the address of the origin of that name.
pub fn start_proxy(rules: &str, origins: &[&Origin]) -> Slotgate {
    Slotgate::start(&format!("{BASE_CONF}{}", render(rules, origins)))
}

/// Waits (at most `timeout`) until the file at `path` holds at least `n`
/// complete lines (ending in a newline); returns them. Panics with what the
/// file holds on timeout. For access logs, which are written at the end of
/// each request, possibly after the client has its response.
pub fn wait_lines(path: &Path, n: usize, timeout: Duration) -> Vec<String> {
    wait_for(
        &format!("{n} lines in {}", path.display()),
        timeout,
        || {
            let text = fs::read_to_string(path).ok()?;
            let complete = match text.rfind('\n') {
                Some(end) => &text[..end + 1],
                None => "",
            };
            let lines: Vec<String> = complete.lines().map(str::to_string).collect();
            (lines.len() >= n).then_some(lines)
        },
        || format!("{:?}", fs::read_to_string(path).unwrap_or_default()),
    )
}

/// `slotgate -t -f <dir>/NAME` on `text` written to NAME in `dir`; returns the
/// run and the file's path as written in messages.
pub fn check_config(dir: &TempDir, name: &str, text: &str) -> (RunOutput, String) {
    let path = dir.write(name, text);
    let path = path.to_str().expect("utf-8 temp path").to_string();
    (run_slotgate(&["-t", "-f", &path], dir), path)
}

/// A port on 127.0.0.1 where connects are refused, held for the guard's
/// lifetime: a TCP socket bound without SO_REUSEADDR and never listening, so
/// no other test can bind the port meanwhile (unlike `unused_port`).
pub struct RefusingPort {
    socket: socket2::Socket,
    port: u16,
}

impl RefusingPort {
    pub fn new() -> RefusingPort {
        use socket2::{Domain, Protocol, SockAddr, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))
            .expect("creating a TCP socket");
        let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        socket
            .bind(&SockAddr::from(any))
            .expect("binding 127.0.0.1:0");
        let port = socket
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .map(|a| a.port())
            .expect("local address of the bound socket");
        RefusingPort { socket, port }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Default for RefusingPort {
    fn default() -> Self {
        RefusingPort::new()
    }
}

/// A port on 127.0.0.1 held for the guard's lifetime by a TCP socket bound
/// with SO_REUSEADDR that never listens. While nothing listens on it, connects
/// are refused; the kernel never hands the port out to another socket (bind to
/// port 0, or a connect's source port), and a plain bind of it fails. A
/// listener bound with SO_REUSEADDR can still take it (Linux lets such sockets
/// share a port as long as none of the others listens): `listener` here, or
/// slotgate's own listeners (which set SO_REUSEADDR) for a `Listen` of
/// `addr()`. So a test can close a listener and open it again on the same
/// port, or give slotgate a fixed port, without racing other tests for it.
pub struct PortReservation {
    socket: socket2::Socket,
    addr: std::net::SocketAddr,
}

impl PortReservation {
    pub fn new() -> PortReservation {
        use socket2::{Domain, Protocol, SockAddr, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))
            .expect("creating a TCP socket");
        socket
            .set_reuse_address(true)
            .expect("setting SO_REUSEADDR");
        let any: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
        socket
            .bind(&SockAddr::from(any))
            .expect("binding 127.0.0.1:0");
        let addr = socket
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .expect("local address of the bound socket");
        PortReservation { socket, addr }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `127.0.0.1:PORT`
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    pub fn socket_addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// A listening socket on the reserved port (SO_REUSEADDR). Panics if
    /// something else listens there already.
    pub fn listener(&self) -> TcpListener {
        use socket2::{Domain, Protocol, SockAddr, Socket, Type};
        let socket = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))
            .expect("creating a TCP socket");
        socket
            .set_reuse_address(true)
            .expect("setting SO_REUSEADDR");
        socket
            .bind(&SockAddr::from(self.addr))
            .unwrap_or_else(|e| panic!("binding the reserved {}: {e}", self.addr));
        socket
            .listen(1024)
            .unwrap_or_else(|e| panic!("listening on the reserved {}: {e}", self.addr));
        socket.into()
    }
}

impl Default for PortReservation {
    fn default() -> Self {
        PortReservation::new()
    }
}

/// The first executable file called `name` in the directories of `PATH`.
pub fn find_tool(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| {
            fs::metadata(candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Program `name` (from the Debian package `package`) for a test that needs
/// it: Some(path) when it is in `PATH`, else see `tool_missing`.
pub fn require_tool(name: &str, package: &str) -> Option<PathBuf> {
    find_tool(name).or_else(|| tool_missing(name, package))
}

/// What a test does without program `name`: under `CI=true` it fails (panics
/// naming the package); in a local run it prints that it is skipped and which
/// package to install, and gets None (the test then returns, passing).
pub fn tool_missing(name: &str, package: &str) -> Option<PathBuf> {
    let install = format!("apt-get install {package}");
    let ci = std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
    if ci {
        panic!("{name} not installed, and CI=true makes that a failure ({install})");
    }
    // Straight to the stderr file descriptor, past the test harness's output
    // capture, so that `cargo test` shows it for a passing test.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "skipped: {name} not installed ({install})"
    );
    None
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released): only
/// for a port number that is never connected to nor bound (e.g. written in a
/// header); use `RefusingPort` or `PortReservation` for anything else.
pub fn unused_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
    listener.local_addr().unwrap().port()
}

/// The one bounded poll of the harness (every `wait_*` helper goes through
/// it): calls `check` until it returns Some, every `every`, for at most
/// `timeout` (`check` runs at least once, and once more at the deadline);
/// None on timeout.
pub fn poll_every<T>(
    every: Duration,
    timeout: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return None;
        }
        thread::sleep(every.min(left));
    }
}

/// `poll_every` at the harness's interval (20 ms).
pub fn poll_until<T>(timeout: Duration, check: impl FnMut() -> Option<T>) -> Option<T> {
    poll_every(POLL, timeout, check)
}

/// `poll_until` for a condition; whether it held in time.
pub fn poll_true(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    poll_until(timeout, || check().then_some(())).is_some()
}

/// Polls `check` every 20 ms until it returns Some, for at most `timeout`;
/// panics naming `what` (and the last state `describe` gives) on timeout.
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    check: impl FnMut() -> Option<T>,
    describe: impl Fn() -> String,
) -> T {
    poll_until(timeout, check).unwrap_or_else(|| {
        panic!(
            "timed out after {timeout:?} waiting for {what}; state: {}",
            describe()
        )
    })
}

/// Whether process `pid` exists (kill(pid, 0) succeeds or is refused by permission).
pub fn pid_alive(pid: i32) -> bool {
    match kill(Pid::from_raw(pid), None) {
        Ok(()) => true,
        Err(Errno::ESRCH) => false,
        Err(_) => true,
    }
}

/// The state letter of /proc/PID/stat (R, S, Z…), for messages.
pub fn proc_state(pid: i32) -> String {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or("?")
            .to_string(),
        Err(_) => "gone".to_string(),
    }
}

/// A fresh directory under the system temp dir; removed on drop unless the
/// thread is panicking (then its path is printed to help debugging).
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new() -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "slotgate-test-{}-{}-{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("creating {}: {e}", path.display()));
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `text` to `name` inside the directory and returns its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path.join(name);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        path
    }

    /// Contents of `name` inside the directory ("" if missing).
    pub fn read(&self, name: &str) -> String {
        fs::read_to_string(self.path.join(name)).unwrap_or_default()
    }
}

impl Default for TempDir {
    fn default() -> Self {
        TempDir::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("keeping test directory {}", self.path.display());
        } else {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

/// The result of running a command to completion.
#[derive(Debug)]
pub struct RunOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl RunOutput {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// A child process killed (SIGKILL) and reaped when dropped, unless already reaped.
pub struct ChildGuard {
    child: Child,
    reaped: Option<ExitStatus>,
}

impl ChildGuard {
    pub fn new(child: Child) -> ChildGuard {
        ChildGuard {
            child,
            reaped: None,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Polls for the exit for at most `timeout`; None if still running.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if let Some(status) = self.reaped {
            return Some(status);
        }
        let child = &mut self.child;
        self.reaped = poll_until(timeout, || child.try_wait().ok().flatten());
        self.reaped
    }

    /// Sends `signal` unless the child was already reaped (its PID may be reused).
    pub fn signal(&self, signal: Signal) {
        if self.reaped.is_none() {
            let _ = kill(Pid::from_raw(self.pid()), signal);
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if self.reaped.is_none() {
            let _ = kill(Pid::from_raw(self.pid()), Signal::SIGKILL);
            // SIGKILL cannot be ignored: the wait ends; still bounded.
            let _ = self.wait_timeout(STOP_TIMEOUT);
        }
    }
}

/// Runs `exe args…` to completion with stdout/stderr captured in files of
/// `dir`; kills it if it has not finished after `timeout`.
pub fn run_command(exe: &str, args: &[&str], dir: &TempDir, timeout: Duration) -> RunOutput {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, Ordering::SeqCst);
    let out_path = dir.path().join(format!("run{n}.stdout"));
    let err_path = dir.path().join(format!("run{n}.stderr"));
    let child = Command::new(exe)
        .args(args)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).unwrap())
        .stderr(File::create(&err_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {exe}: {e}"));
    let mut guard = ChildGuard::new(child);
    let status = guard.wait_timeout(timeout);
    let stdout = fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = fs::read_to_string(&err_path).unwrap_or_default();
    match status {
        Some(status) => RunOutput {
            status,
            stdout,
            stderr,
        },
        None => panic!(
            "{exe} {args:?} did not finish within {timeout:?}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        ),
    }
}

/// Runs `slotgate args…` to completion (bounded: 15 s).
pub fn run_slotgate(args: &[&str], dir: &TempDir) -> RunOutput {
    run_command(slotgate_exe(), args, dir, START_TIMEOUT)
}

/// Whether `text` has a line whose first word is `directive` (case-insensitive).
fn has_directive(text: &str, directive: &str) -> bool {
    directive_argument(text, directive).is_some()
}

/// The first argument of the first `directive` line in `text`, quotes removed.
fn directive_argument(text: &str, directive: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        let first = words.next()?;
        if !first.eq_ignore_ascii_case(directive) {
            return None;
        }
        Some(words.next().unwrap_or("").trim_matches('"').to_string())
    })
}

/// A running `slotgate -f <dir>/slotgate.conf`. Dropping it sends SIGTERM,
/// waits up to 5 s, then SIGKILLs; then the temp dir is removed (kept and
/// printed if the test is panicking).
pub struct Slotgate {
    child: ChildGuard,
    conf_path: PathBuf,
    scoreboard_path: PathBuf,
    ports: Vec<u16>,
    /// Worker pids seen at start and at each `worker_pids` call, so `Drop` can
    /// make sure none outlives the test.
    seen_workers: std::cell::RefCell<Vec<i32>>,
    // Last field: dropped after the process is gone.
    dir: TempDir,
}

impl Slotgate {
    /// Starts slotgate on `conf` (see `try_start`); panics with its logs if it
    /// does not reach the phase `running`.
    pub fn start(conf: &str) -> Slotgate {
        Slotgate::try_start(conf).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Writes `conf` to a fresh temp dir, prefixed with `ServerRoot`,
    /// `ScoreboardFile`, `ErrorLog` and `LogLevel debug` (each only if `conf`
    /// does not set it), starts `slotgate -f` on it and waits (15 s at most)
    /// for the scoreboard to say `running` with at least one port.
    pub fn try_start(conf: &str) -> Result<Slotgate, String> {
        Slotgate::try_start_with_args(conf, &[])
    }

    /// `try_start` with extra command-line arguments (e.g. `-D NAME`).
    pub fn try_start_with_args(conf: &str, args: &[&str]) -> Result<Slotgate, String> {
        Slotgate::try_start_full(conf, args, &[], &[])
    }

    /// `try_start_with_args`, the binary run by `wrapper` (a program and its
    /// arguments that exec the command after them, e.g. `prlimit
    /// --nofile=256 --`), so the child's pid is still slotgate's.
    pub fn try_start_wrapped(
        conf: &str,
        args: &[&str],
        wrapper: &[&str],
    ) -> Result<Slotgate, String> {
        Slotgate::try_start_full(conf, args, wrapper, &[])
    }

    /// `try_start_with_args` with variables added to the daemon's environment
    /// (e.g. `TZ`).
    pub fn try_start_with_env(
        conf: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Slotgate, String> {
        Slotgate::try_start_full(conf, args, &[], env)
    }

    /// The start every `try_start*` goes through: arguments, a wrapper
    /// command (or none) and added environment variables.
    pub fn try_start_full(
        conf: &str,
        args: &[&str],
        wrapper: &[&str],
        env: &[(&str, &str)],
    ) -> Result<Slotgate, String> {
        let dir = TempDir::new();
        let root = dir.path().to_path_buf();
        let mut text = String::new();
        if !has_directive(conf, "ServerRoot") {
            text.push_str(&format!("ServerRoot \"{}\"\n", root.display()));
        }
        let scoreboard_path = match directive_argument(conf, "ScoreboardFile") {
            Some(p) => root.join(p),
            None => {
                let p = root.join("slotgate.scoreboard");
                text.push_str(&format!("ScoreboardFile \"{}\"\n", p.display()));
                p
            }
        };
        if !has_directive(conf, "ErrorLog") {
            text.push_str(&format!(
                "ErrorLog \"{}\"\n",
                root.join("error.log").display()
            ));
        }
        if !has_directive(conf, "LogLevel") {
            text.push_str("LogLevel debug\n");
        }
        text.push_str(conf);
        text.push('\n');
        let conf_path = dir.write("slotgate.conf", &text);

        let mut command = match wrapper.split_first() {
            Some((program, wrapper_args)) => {
                let mut c = Command::new(program);
                c.args(wrapper_args).arg(slotgate_exe());
                c
            }
            None => Command::new(slotgate_exe()),
        };
        command
            .arg("-f")
            .arg(&conf_path)
            .args(args)
            .envs(env.iter().copied())
            .current_dir(&root)
            .stdin(Stdio::null())
            .stdout(File::create(root.join("stdout.log")).unwrap())
            .stderr(File::create(root.join("stderr.log")).unwrap());
        let child = command
            .spawn()
            .map_err(|e| format!("starting {}: {e}", slotgate_exe()))?;
        let mut sg = Slotgate {
            child: ChildGuard::new(child),
            conf_path,
            scoreboard_path,
            ports: Vec::new(),
            seen_workers: std::cell::RefCell::new(Vec::new()),
            dir,
        };
        sg.ports = sg.wait_running()?;
        let _ = sg.worker_pids();
        Ok(sg)
    }

    /// Waits for phase Running with ports published; returns the ports.
    fn wait_running(&mut self) -> Result<Vec<u16>, String> {
        let mut last = String::from("scoreboard not attached yet");
        let outcome = poll_until(START_TIMEOUT, || {
            if let Some(status) = self.child.wait_timeout(Duration::ZERO) {
                return Some(Err(format!(
                    "slotgate exited with {status} before running ({last})\n{}",
                    self.logs()
                )));
            }
            match Scoreboard::attach_readonly(&self.scoreboard_path) {
                Ok(sb) => {
                    let header = sb.header();
                    let phase = header.phase();
                    let ports = header.ports();
                    if phase == Some(Phase::Running) && !ports.is_empty() {
                        return Some(Ok(ports));
                    }
                    last = format!("phase {phase:?}, ports {ports:?}");
                }
                Err(e) => last = format!("attaching {}: {e}", self.scoreboard_path.display()),
            }
            None
        });
        outcome.unwrap_or_else(|| {
            Err(format!(
                "slotgate did not reach phase running within {START_TIMEOUT:?} ({last})\n{}",
                self.logs()
            ))
        })
    }

    /// The configuration file, error log, stdout and stderr, for messages.
    pub fn logs(&self) -> String {
        format!(
            "--- {} ---\n{}\n--- error.log ---\n{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.conf_path.display(),
            fs::read_to_string(&self.conf_path).unwrap_or_default(),
            self.error_log(),
            self.dir.read("stdout.log"),
            self.dir.read("stderr.log"),
        )
    }

    /// The first published port.
    pub fn port(&self) -> u16 {
        self.ports[0]
    }

    pub fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// `127.0.0.1:PORT` of the first port.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port())
    }

    /// The supervisor's pid.
    pub fn pid(&self) -> i32 {
        self.child.pid()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn conf_path(&self) -> &Path {
        &self.conf_path
    }

    pub fn scoreboard_path(&self) -> &Path {
        &self.scoreboard_path
    }

    /// A fresh read-only attachment to the scoreboard.
    pub fn scoreboard(&self) -> Scoreboard {
        Scoreboard::attach_readonly(&self.scoreboard_path).unwrap_or_else(|e| {
            panic!(
                "attaching {}: {e}\n{}",
                self.scoreboard_path.display(),
                self.logs()
            )
        })
    }

    pub fn error_log(&self) -> String {
        self.dir.read("error.log")
    }

    /// Pids of the process slots that hold one (pid != 0).
    pub fn worker_pids(&self) -> Vec<i32> {
        let sb = self.scoreboard();
        let pids: Vec<i32> = sb
            .processes()
            .iter()
            .map(|p| p.pid())
            .filter(|&pid| pid != 0)
            .collect();
        let mut seen = self.seen_workers.borrow_mut();
        for &pid in &pids {
            if !seen.contains(&pid) {
                seen.push(pid);
            }
        }
        pids
    }

    /// The process table as text, for assertion messages.
    pub fn process_table(&self) -> String {
        match Scoreboard::attach_readonly(&self.scoreboard_path) {
            Ok(sb) => sb
                .processes()
                .iter()
                .enumerate()
                .filter(|(_, p)| p.pid() != 0)
                .map(|(i, p)| {
                    format!(
                        "slot {i}: pid {} ({}) state {} requests {}",
                        p.pid(),
                        proc_state(p.pid()),
                        p.state().letter(),
                        p.requests()
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            Err(e) => format!("scoreboard unreadable: {e}"),
        }
    }

    /// Waits (bounded by `timeout`) until exactly `n` process slots hold a pid
    /// and each of those processes exists; returns the pids.
    pub fn wait_workers(&self, n: usize, timeout: Duration) -> Vec<i32> {
        wait_for(
            &format!("{n} live workers"),
            timeout,
            || {
                let pids = self.worker_pids();
                (pids.len() == n && pids.iter().all(|&p| pid_alive(p))).then_some(pids)
            },
            || self.process_table(),
        )
    }

    /// Waits (bounded by `timeout`) until the error log holds `needle`;
    /// returns the log. Panics with the logs on timeout.
    pub fn wait_error_log(&self, needle: &str, timeout: Duration) -> String {
        wait_for(
            &format!("{needle:?} in the error log"),
            timeout,
            || Some(self.error_log()).filter(|log| log.contains(needle)),
            || self.logs(),
        )
    }

    /// Waits (bounded by `timeout`) until every worker holding a process slot
    /// says it has no connection left. A worker publishes its state at the end
    /// of each event-loop turn, so everything it did for the connections it
    /// had (counters, member flags, log lines) is done by then.
    pub fn wait_idle(&self, timeout: Duration) {
        wait_for(
            "every worker without connections",
            timeout,
            || {
                let sb = self.scoreboard();
                let busy =
                    sb.processes().iter().filter(|p| p.pid() != 0).any(|p| {
                        p.connections() != 0 || p.state() != scoreboard::ProcessState::Idle
                    });
                (!busy).then_some(())
            },
            || self.process_table(),
        )
    }

    /// Sends `signal` to the supervisor (unless it was already reaped).
    pub fn signal(&self, signal: Signal) {
        self.child.signal(signal);
    }

    /// Waits at most `timeout` for the supervisor to exit; None if it has not.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.child.wait_timeout(timeout)
    }

    /// SIGTERM, then waits (10 s at most) for the exit; panics if it does not exit.
    pub fn stop(&mut self) -> ExitStatus {
        let _ = self.worker_pids();
        self.signal(Signal::SIGTERM);
        match self.wait_exit(Duration::from_secs(10)) {
            Some(status) => status,
            None => panic!(
                "slotgate (pid {}) did not exit within 10 s of SIGTERM\n{}",
                self.pid(),
                self.logs()
            ),
        }
    }

    /// Kills every worker pid this guard has seen that still runs our binary
    /// (a supervisor killed hard may leave them behind).
    fn kill_stray_workers(&self) {
        let exe = fs::canonicalize(slotgate_exe()).ok();
        for &pid in self.seen_workers.borrow().iter() {
            if pid <= 0 || pid == self.pid() || !pid_alive(pid) {
                continue;
            }
            let runs_slotgate = fs::read_link(format!("/proc/{pid}/exe"))
                .ok()
                .zip(exe.as_ref())
                .is_some_and(|(a, b)| &a == b);
            if runs_slotgate {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }
}

impl Drop for Slotgate {
    fn drop(&mut self) {
        if Scoreboard::attach_readonly(&self.scoreboard_path).is_ok() {
            let _ = self.worker_pids();
        }
        if self.child.wait_timeout(Duration::ZERO).is_none() {
            self.child.signal(Signal::SIGTERM);
            if self.child.wait_timeout(STOP_TIMEOUT).is_none() {
                eprintln!(
                    "slotgate (pid {}) ignored SIGTERM for {STOP_TIMEOUT:?}; killing it",
                    self.pid()
                );
                self.child.signal(Signal::SIGKILL);
                let _ = self.child.wait_timeout(STOP_TIMEOUT);
            }
        }
        // Workers should be gone with their supervisor; give them a moment.
        poll_true(Duration::from_secs(2), || {
            !self
                .seen_workers
                .borrow()
                .iter()
                .any(|&p| pid_alive(p) && proc_state(p) != "Z")
        });
        self.kill_stray_workers();
        if thread::panicking() {
            eprintln!("slotgate logs:\n{}", self.logs());
        }
    }
}
