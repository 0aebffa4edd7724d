//! The typed configuration: what the rest of the daemon reads. Built from the
//! directive tree by `build.rs`; every value that came from a file remembers
//! where (`Origin`) so later checks can still name file and line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Where a directive was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub file: Arc<PathBuf>,
    pub line: usize,
}

impl Origin {
    /// An origin that names only a file (line 0), for findings about the file as a whole.
    pub fn file_only(file: Arc<PathBuf>) -> Origin {
        Origin { file, line: 0 }
    }
}

/// `FILE:LINE`, or just `FILE` when the line is 0 (a finding about the whole file).
impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file.display())
        } else {
            write!(f, "{}:{}", self.file.display(), self.line)
        }
    }
}

/// `LogLevel`, httpd's names. Ordered from most to least severe.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum LogLevel {
    Emerg,
    Alert,
    Crit,
    Error,
    Warn,
    Notice,
    Info,
    Debug,
    /// trace1..trace8 are all mapped here.
    Trace,
}

/// `ProxyVia Off|On|Full|Block`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyVia {
    Off,
    On,
    Full,
    Block,
}

/// One `Listen` line. `addr` may have port 0 (an extension: an ephemeral port).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Listen {
    pub addr: SocketAddr,
    pub origin: Origin,
}

/// Parameters of a standalone worker (`ProxyPass /p http://h/ key=value…`), §2.3 of
/// the reference. Only the keys this release acts on are typed; the others that httpd
/// knows are accepted, validated for form, and kept in `other`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerParams {
    /// `timeout=` (integer seconds): socket I/O timeout towards the member.
    pub timeout: Option<Duration>,
    /// `connectiontimeout=` (time, default unit s).
    pub connection_timeout: Option<Duration>,
    /// `retry=` (integer seconds), default 60.
    pub retry: Duration,
    /// `status=` flags as httpd bits (scoreboard::flags), after applying +/-; standalone
    /// workers start with I (ignore errors) as in httpd.
    pub status: u32,
    /// `disablereuse=On` / `enablereuse=Off`.
    pub disable_reuse: bool,
    /// `keepalive=On` (TCP SO_KEEPALIVE on backend sockets).
    pub keepalive: bool,
    /// Accepted keys this release stores but does not act on yet: (key lowercased, value).
    /// A key given twice is stored once, with the later value (as httpd's parameter table).
    pub other: Vec<(String, String)>,
}

impl WorkerParams {
    /// The value of an untyped key (`loadfactor`, `route`, …) as written, if it was given.
    pub fn other_value(&self, key: &str) -> Option<&str> {
        self.other
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

/// The parameters of a standalone worker nobody configured: retry 60 s, status `I`
/// (plus the automatic `O`, initialised), reuse on, no SO_KEEPALIVE.
impl Default for WorkerParams {
    fn default() -> Self {
        WorkerParams {
            timeout: None,
            connection_timeout: None,
            retry: Duration::from_secs(60),
            status: status_flags::INIT | status_flags::IGNORE_ERRORS,
            disable_reuse: false,
            keepalive: false,
            other: Vec::new(),
        }
    }
}

/// Member status bits, httpd's values (reference §2.5 and §7.2). The scoreboard stores the
/// same bits; `status=` letters map onto them.
pub mod status_flags {
    /// `O`: initialised (set automatically, not by `status=`).
    pub const INIT: u32 = 0x1;
    /// `I`: ignore errors.
    pub const IGNORE_ERRORS: u32 = 0x2;
    /// `N`: draining.
    pub const DRAIN: u32 = 0x4;
    /// `G`: generic internal worker (not settable by `status=`).
    pub const GENERIC: u32 = 0x8;
    /// `U`: shutting down (not settable by `status=`).
    pub const SHUTDOWN: u32 = 0x10;
    /// `D`: disabled.
    pub const DISABLED: u32 = 0x20;
    /// `S`: stopped.
    pub const STOPPED: u32 = 0x40;
    /// `E`: in error.
    pub const ERROR: u32 = 0x80;
    /// `H`: hot standby.
    pub const HOT_STANDBY: u32 = 0x100;
    /// `F`: slot free (not settable by `status=`).
    pub const FREE: u32 = 0x200;
    /// `C`: failed health check.
    pub const HC_FAILED: u32 = 0x400;
    /// `R`: hot spare.
    pub const HOT_SPARE: u32 = 0x800;
}

/// What a `ProxyPass` maps to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PassTarget {
    /// `!`: stop searching; the request is not proxied.
    Exclude,
    /// A URL such as `http://127.0.0.1:8080/app/`, kept as written.
    Url(String),
}

/// One `ProxyPass` rule (server level, or from a `<Location>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyPassRule {
    /// The URL-path prefix (for a `<Location>` rule: the Location's path).
    pub path: String,
    pub target: PassTarget,
    pub params: WorkerParams,
    /// `nocanon` keyword.
    pub nocanon: bool,
    /// `interpolate` keyword (acts only with `ProxyPassInterpolateEnv On`, not supported yet).
    pub interpolate: bool,
    /// `noquery` keyword (FastCGI only; no effect for HTTP).
    pub noquery: bool,
    /// True when the rule came from inside `<Location>`; such rules are tested first.
    pub from_location: bool,
    pub origin: Origin,
}

/// One `ProxyPassReverse [path] url` rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyPassReverseRule {
    pub path: String,
    pub url: String,
    /// `interpolate` keyword.
    pub interpolate: bool,
    pub origin: Origin,
}

/// The whole configuration of one generation.
#[derive(Clone, Debug)]
pub struct Config {
    /// The main file given with -f (absolute).
    pub file: PathBuf,
    /// `ServerRoot`; default: the directory holding the main file.
    pub server_root: PathBuf,
    /// `ServerName`; default: "localhost".
    pub server_name: String,
    pub listen: Vec<Listen>,
    /// `PidFile`, resolved against ServerRoot. Default: none in the foreground.
    pub pid_file: Option<PathBuf>,
    /// `ErrorLog` path resolved against ServerRoot; None = stderr.
    pub error_log: Option<PathBuf>,
    /// `LogLevel`, default warn.
    pub log_level: LogLevel,
    /// `ScoreboardFile` resolved against ServerRoot; default `<ServerRoot>/slotgate.scoreboard`.
    pub scoreboard_file: PathBuf,
    /// `StartServers`; None = one per CPU.
    pub start_servers: Option<usize>,
    /// `Timeout`, default 60 s.
    pub timeout: Duration,
    /// `KeepAlive`, default On.
    pub keep_alive: bool,
    /// `KeepAliveTimeout`, default 5 s (time, default unit s; `ms` allowed as httpd).
    pub keep_alive_timeout: Duration,
    /// `MaxKeepAliveRequests`, default 100; 0 = unlimited.
    pub max_keep_alive_requests: u32,
    /// `ProxyRequests`, only Off is supported.
    pub proxy_requests: bool,
    /// `ProxyPreserveHost`, default Off.
    pub proxy_preserve_host: bool,
    /// `ProxyTimeout`; None = use `Timeout`.
    pub proxy_timeout: Option<Duration>,
    /// `ProxyVia`, default Off.
    pub proxy_via: ProxyVia,
    /// `ProxyAddHeaders`, default On.
    pub proxy_add_headers: bool,
    /// All ProxyPass rules in evaluation order: `<Location>` rules first, then server-level
    /// rules in file order.
    pub proxy_pass: Vec<ProxyPassRule>,
    pub proxy_pass_reverse: Vec<ProxyPassReverseRule>,
    /// Non-fatal findings (e.g. the trailing-slash mismatch of reference §9 #2), each
    /// already prefixed with `FILE:LINE: `. `-t` prints them; the daemon logs them.
    pub warnings: Vec<String>,
}
