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

/// Parameters of a worker: a standalone one (`ProxyPass /p http://h/ key=value…`) or a
/// balancer member (`BalancerMember http://h/ key=value…`), §2.3 of the reference. The keys
/// slotgate acts on, and the pool, upgrade and streaming keys, are typed; the others that
/// httpd knows are accepted, validated for form, and kept in `other` (which also keeps the
/// pool, upgrade and streaming keys as written, see `other`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerParams {
    /// `timeout=` (integer seconds): socket I/O timeout towards the member.
    pub timeout: Option<Duration>,
    /// `connectiontimeout=` (time, default unit s).
    pub connection_timeout: Option<Duration>,
    /// `retry=` (integer seconds), default 60.
    pub retry: Duration,
    /// `status=` flags as httpd bits (scoreboard::flags), after applying +/-. Standalone
    /// workers start with O|I (ignore errors) as in httpd, balancer members with O only.
    pub status: u32,
    /// `disablereuse=On` / `enablereuse=Off`.
    pub disable_reuse: bool,
    /// `enablereuse=` or `disablereuse=` was given (FastCGI members reuse
    /// connections only when told to, as mod_proxy_fcgi).
    pub reuse_given: bool,
    /// `keepalive=On` (TCP SO_KEEPALIVE on backend sockets).
    pub keepalive: bool,
    /// `loadfactor=` on httpd's ×100 scale: `loadfactor=1` is 100, `=2.5` is 250
    /// (range 100..=10000). Default 100.
    pub loadfactor: u32,
    /// `lbset=` (0..=99), the member's tier. Default 0.
    pub lbset: u32,
    /// `route=` (shorter than 64 bytes), the sticky-session route. Default "".
    pub route: String,
    /// `redirect=` (shorter than 64 bytes), the route to use when this member is unusable.
    /// Default "".
    pub redirect: String,
    /// `min=` (≥ 0): connections to keep open per process. Default 0. (httpd lowers a
    /// `min` above `smax` to `smax` at start-up; the consumer does the same.)
    pub min: usize,
    /// `max=` (≥ 0): hard limit on connections per process. None: not given, or `max=0`,
    /// which httpd also takes as "its default" (ThreadsPerChild).
    pub max: Option<usize>,
    /// `smax=` (≥ 0): soft limit; idle connections above it are closed after `ttl`. None:
    /// not given (httpd then uses `max`). `smax=0` is kept as `Some(0)`.
    pub smax: Option<usize>,
    /// `ttl=` (integer seconds ≥ 1): an idle pooled connection older than this is closed.
    pub ttl: Option<Duration>,
    /// `acquire=` (time, default unit **ms**, ≥ 1 ms): how long a request waits for a free
    /// connection once `max` is reached. None: wait as long as it takes.
    pub acquire: Option<Duration>,
    /// `upgrade=`: the protocols that may be tunnelled (reference §8.7), as written:
    /// `websocket`, `websocket,h2c` (comma-separated tokens), `*` or `ANY`. Shorter than
    /// 16 bytes. None when not given or empty; then a `ws://` worker accepts WebSocket
    /// only and an `http://` one nothing (see [`WorkerParams::accepts_upgrade`]).
    pub upgrade: Option<String>,
    /// `flushpackets=on|off|auto`, default Off.
    pub flush_packets: FlushPackets,
    /// `flushwait=` (whole milliseconds 0..=1000), default 10 ms; `flushwait=0` also means
    /// 10 ms, as in httpd.
    pub flush_wait: Duration,
    /// `ping=` (time, default unit s, ≥ 1 ms): how long to wait for the interim 100 of a
    /// request with a body (reference §8.4).
    pub ping: Option<Duration>,
    /// `responsefieldsize=` (bytes): the longest response status or header line the member
    /// may send. Default 8192; `0` also means 8192.
    pub response_field_size: usize,
    /// `iobuffersize=` (0, or ≥ 512 bytes): this worker's `ProxyIOBufferSize`; `0` gives
    /// 8192. None: not given (use [`Config::proxy_io_buffer_size`]).
    pub io_buffer_size: Option<usize>,
    /// The health check (`hcmethod=`, `hcuri=`, `hcinterval=`, `hcpasses=`, `hcfails=`,
    /// `hcexpr=`, `hctemplate=`; reference §5). Default: no check.
    pub health: HealthCheck,
    /// The keys this release stores as written: (key lowercased, value). A key given twice
    /// is stored once, with the later value (as httpd's parameter table). Holds every
    /// accepted key that has no typed field above, *and* the keys typed later (`min`,
    /// `max`, `smax`, `ttl`, `acquire`, `upgrade`, `flushpackets`, `flushwait`, `ping`,
    /// `responsefieldsize`, `iobuffersize`), which stay here too for code that reads them
    /// with [`WorkerParams::other_value`].
    pub other: Vec<(String, String)>,
}

/// `flushpackets=` of a worker.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FlushPackets {
    /// Flush only when the output buffer is full (default).
    #[default]
    Off,
    /// Flush after every read from the member.
    On,
    /// Flush when no more data arrives within `flushwait`.
    Auto,
}

impl WorkerParams {
    /// The parameters of a balancer member nobody configured: as [`WorkerParams::default`]
    /// but with status O only (errors are not ignored), as httpd.
    pub fn member_default() -> WorkerParams {
        WorkerParams {
            status: status_flags::INIT,
            ..WorkerParams::default()
        }
    }

    /// The value of a key kept in `other` (`min`, `hcmethod`, …) as written, if it was given.
    pub fn other_value(&self, key: &str) -> Option<&str> {
        self.other
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// Whether a client's `Upgrade: protocol` may be tunnelled to this worker, whose URL
    /// has scheme `scheme` (httpd's `ap_proxy_worker_can_upgrade`, reference §8.7): with an
    /// `upgrade=` list, `*` or `ANY` accept anything, otherwise `protocol` must be one of
    /// the list's tokens; without one, a `ws`/`wss` worker accepts `WebSocket` and any
    /// other accepts nothing. Comparisons ignore ASCII case.
    pub fn accepts_upgrade(&self, scheme: &str, protocol: &str) -> bool {
        let protocol = protocol.trim();
        if protocol.is_empty() {
            return false;
        }
        match self.upgrade.as_deref() {
            Some(list) => {
                list == "*"
                    || list.eq_ignore_ascii_case("any")
                    || list
                        .split([',', ' ', '\t'])
                        .any(|token| token.eq_ignore_ascii_case(protocol))
            }
            None => {
                (scheme.eq_ignore_ascii_case("ws") || scheme.eq_ignore_ascii_case("wss"))
                    && protocol.eq_ignore_ascii_case("websocket")
            }
        }
    }
}

/// The parameters of a standalone worker nobody configured: retry 60 s, status `I`
/// (plus the automatic `O`, initialised), reuse on, no SO_KEEPALIVE, no pool limits,
/// no upgrade list, flushpackets off with flushwait 10 ms, response fields up to 8192 bytes.
impl Default for WorkerParams {
    fn default() -> Self {
        WorkerParams {
            timeout: None,
            connection_timeout: None,
            retry: Duration::from_secs(60),
            status: status_flags::INIT | status_flags::IGNORE_ERRORS,
            disable_reuse: false,
            reuse_given: false,
            keepalive: false,
            loadfactor: 100,
            lbset: 0,
            route: String::new(),
            redirect: String::new(),
            min: 0,
            max: None,
            smax: None,
            ttl: None,
            acquire: None,
            upgrade: None,
            flush_packets: FlushPackets::Off,
            flush_wait: Duration::from_millis(10),
            ping: None,
            response_field_size: 8192,
            io_buffer_size: None,
            health: HealthCheck::default(),
            other: Vec::new(),
        }
    }
}

/// `hcmethod=` (reference §5).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HcMethod {
    /// No check (the default for a member).
    #[default]
    None,
    /// Connect only.
    Tcp,
    /// `OPTIONS * HTTP/1.0`, or HTTP/1.1 for `OPTIONS11`.
    Options,
    Options11,
    /// `HEAD <path> HTTP/1.0` / `HEAD11`.
    Head,
    Head11,
    /// `GET <path> HTTP/1.0` / `GET11`.
    Get,
    Get11,
    /// AJP's CPING, answered by CPONG (AJP members only).
    Cping,
}

impl HcMethod {
    /// The methods a member of this protocol can be checked with: TCP for
    /// all, CPING for AJP only, the HTTP requests for HTTP members only.
    pub fn fits(self, protocol: crate::url::Protocol) -> bool {
        use crate::url::Protocol;
        match self {
            HcMethod::None | HcMethod::Tcp => true,
            HcMethod::Cping => protocol == Protocol::Ajp,
            _ => protocol == Protocol::Http1,
        }
    }

    /// Why this method cannot check a member of `scheme` (None when it can):
    /// one sentence for `-t` and the balancer-manager.
    pub fn misfit(self, scheme: &crate::url::Scheme) -> Option<String> {
        if self.fits(scheme.protocol) {
            return None;
        }
        let fitting: Vec<&str> = (1..HcMethod::COUNT)
            .map(HcMethod::from_code)
            .filter(|m| m.fits(scheme.protocol))
            .map(HcMethod::name)
            .collect();
        let only = match self {
            HcMethod::Cping => "CPING is for AJP members only",
            _ => "OPTIONS, HEAD and GET are for HTTP members only",
        };
        Some(format!(
            "hcmethod {} cannot check a {}:// member ({only}; it takes {})",
            self.name(),
            scheme.name,
            fitting.join(", ")
        ))
    }

    /// The number stored in a member slot (`hc_method`).
    pub fn code(self) -> u32 {
        self as u32
    }

    pub fn from_code(code: u32) -> HcMethod {
        match code {
            1 => HcMethod::Tcp,
            2 => HcMethod::Options,
            3 => HcMethod::Options11,
            4 => HcMethod::Head,
            5 => HcMethod::Head11,
            6 => HcMethod::Get,
            7 => HcMethod::Get11,
            8 => HcMethod::Cping,
            _ => HcMethod::None,
        }
    }

    /// httpd's name: `TCP`, `OPTIONS11`, …
    pub fn name(self) -> &'static str {
        match self {
            HcMethod::None => "NONE",
            HcMethod::Tcp => "TCP",
            HcMethod::Options => "OPTIONS",
            HcMethod::Options11 => "OPTIONS11",
            HcMethod::Head => "HEAD",
            HcMethod::Head11 => "HEAD11",
            HcMethod::Get => "GET",
            HcMethod::Get11 => "GET11",
            HcMethod::Cping => "CPING",
        }
    }

    /// How many methods there are: their codes are `0..COUNT`.
    pub const COUNT: u32 = 9;

    pub fn from_name(name: &str) -> Option<HcMethod> {
        (0..HcMethod::COUNT)
            .map(HcMethod::from_code)
            .find(|m| m.name().eq_ignore_ascii_case(name))
    }
}

/// A member's health check settings (reference §5).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthCheck {
    pub method: HcMethod,
    /// `hcuri=`: appended to the member URL's path.
    pub uri: String,
    /// `hcinterval=` (default 30 s, at least 100 ms).
    pub interval: Duration,
    /// `hcpasses=` / `hcfails=` (0 behaves like 1; default 1).
    pub passes: u32,
    pub fails: u32,
    /// `hcexpr=`: the name of a `ProxyHCExpr`.
    pub expr: Option<String>,
}

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck {
            method: HcMethod::None,
            uri: String::new(),
            interval: Duration::from_secs(30),
            passes: 1,
            fails: 1,
            expr: None,
        }
    }
}

/// `ProxyHCExpr name {expression}`.
#[derive(Clone, Debug, PartialEq)]
pub struct HcExprDef {
    pub name: String,
    pub expr: crate::expr::Expr,
    pub origin: Origin,
}

/// Member status bits, httpd's values (reference §2.5 and §7.2): the scoreboard's, so the
/// bits `status=` sets are the bits the scoreboard stores (one table, in `scoreboard::flags`).
pub use scoreboard::flags as status_flags;

/// What a `ProxyPass` maps to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PassTarget {
    /// `!`: stop searching; the request is not proxied.
    Exclude,
    /// A URL such as `http://127.0.0.1:8080/app/`, kept as written; or a balancer target
    /// `balancer://name[/path]`, whose scheme and name are lowercased (the rest is kept as
    /// written). A balancer target always names a balancer of [`Config::balancers`].
    Url(String),
}

/// One `ProxyPass` / `ProxyPassMatch` rule (server level, or from a `<Location>` /
/// `<LocationMatch>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProxyPassRule {
    /// The URL-path prefix (for a `<Location>` rule: the Location's path); for a regex rule
    /// (`regex` true) the regular expression, already checked with the `regex` crate.
    pub path: String,
    pub target: PassTarget,
    /// Worker parameters. For a balancer target the key=value parameters of the line are
    /// *balancer* parameters (reference §2.2) and went to the balancer; this stays default.
    pub params: WorkerParams,
    /// `nocanon` keyword.
    pub nocanon: bool,
    /// `interpolate` keyword (acts only with `ProxyPassInterpolateEnv On`, not supported yet).
    pub interpolate: bool,
    /// `noquery` keyword (FastCGI only; no effect for HTTP).
    pub noquery: bool,
    /// True when the rule came from inside `<Location>`; such rules are tested first.
    pub from_location: bool,
    /// True for `ProxyPassMatch`, `ProxyPass ~ regex` and a `ProxyPass` inside
    /// `<LocationMatch>` / `<Location ~>`: `path` is a regular expression matched against
    /// the decoded path; `$1`…`$9` in the URL are its captures, and a URL without any `$n`
    /// gets the whole path appended (reference §2.2).
    pub regex: bool,
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

/// Balancer parameters (reference §2.4), from `<Proxy balancer://…  key=value…>`, `ProxySet`
/// and the key=value parameters of a `ProxyPass` to `balancer://…`. Later settings win.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BalancerParams {
    /// `lbmethod=`: "byrequests" (default), "bytraffic", "bybusyness", "bylatency", "byload",
    /// "hash" or "heartbeat" (always lowercase;
    /// the value is accepted in any case).
    pub lbmethod: String,
    /// `stickysession=COOKIE|PARAM`: the cookie name. With one name (`stickysession=A`)
    /// cookie and URL parameter are both A. Each shorter than 64 bytes.
    pub sticky_cookie: Option<String>,
    /// `stickysession=COOKIE|PARAM`: the URL-parameter name.
    pub sticky_param: Option<String>,
    /// `stickysessionsep=`: one byte, default `.`; `Off` gives None (the whole value is the
    /// route).
    pub sticky_separator: Option<u8>,
    /// `scolonpathdelim=On|Off`, default Off.
    pub scolon_path_delim: bool,
    /// `nofailover=On|Off`, default Off.
    pub nofailover: bool,
    /// `maxattempts=` (≥ 0). None: httpd's default, members − 1 (0 for a single member),
    /// computed by the consumer.
    pub max_attempts: Option<u32>,
    /// `timeout=` (whole seconds ≥ 1): how long to wait for a usable member. Default 0: do
    /// not wait.
    pub timeout: std::time::Duration,
    /// `growth=` (1..=100): spare member slots. Default 0.
    pub growth: u32,
    /// `forcerecovery=On|Off`, default On.
    pub force_recovery: bool,
    /// `failonstatus=` codes (each 100..=599), in the order written; a later
    /// `failonstatus=` replaces the list.
    pub fail_on_status: Vec<u16>,
    /// `failontimeout=On|Off`, default Off.
    pub fail_on_timeout: bool,
    /// `nonce=`: `None` (the word) gives `Some("")`, another value `Some(value)` (shorter
    /// than 37 bytes). Default None: a random one is made at start-up.
    pub nonce: Option<String>,
    /// True when `lbmethod=` was given explicitly (for merging).
    pub lbmethod_set: bool,
    /// `hashkey=ip|header:NAME|cookie:NAME` (for `lbmethod=hash`), default `ip`.
    pub hash_key: crate::config::lbmethod::HashKey,
}

impl Default for BalancerParams {
    fn default() -> Self {
        BalancerParams {
            lbmethod: "byrequests".to_string(),
            sticky_cookie: None,
            sticky_param: None,
            sticky_separator: Some(b'.'),
            scolon_path_delim: false,
            nofailover: false,
            max_attempts: None,
            timeout: Duration::ZERO,
            growth: 0,
            force_recovery: true,
            fail_on_status: Vec::new(),
            fail_on_timeout: false,
            nonce: None,
            lbmethod_set: false,
            hash_key: crate::config::lbmethod::HashKey::Ip,
        }
    }
}

/// One `BalancerMember`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BalancerMemberConfig {
    /// The member's worker name (reference §2.6): the URL with scheme and host lowercased
    /// and a default port dropped (`HTTP://H:80/app` → `http://h/app`); the path is kept as
    /// written. Unique within its balancer.
    pub url: String,
    /// Member parameters; status starts as O only ([`WorkerParams::member_default`]).
    pub params: WorkerParams,
    pub origin: Origin,
}

/// One balancer, `balancer://name`.
///
/// slotgate keeps one global namespace of balancers: a balancer defined in a
/// `<VirtualHost>` is the same balancer as one of the same name in the main server or in
/// another vhost, and every vhost sees every balancer. (httpd keeps balancers per server
/// and merges the main server's into each vhost, §2.9; `BalancerInherit Off` is therefore
/// accepted but has no effect.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BalancerConfig {
    /// `balancer://name`: scheme and name lowercased, any path after the name dropped.
    pub name: String,
    pub params: BalancerParams,
    /// In configuration order. Never empty.
    pub members: Vec<BalancerMemberConfig>,
    /// Where it was first defined (`<Proxy balancer://…>` or the first `BalancerMember`).
    pub origin: Origin,
}

/// One `ProxyPassReverseCookiePath` / `ProxyPassReverseCookieDomain internal public` rule.
/// The `interpolate` keyword is accepted and dropped (`ProxyPassInterpolateEnv` is not
/// supported, so it could have no effect).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookieRule {
    pub internal: String,
    pub public: String,
    pub origin: Origin,
}

/// One `CustomLog` or `TransferLog`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomLog {
    /// Resolved against ServerRoot. Empty for a piped log (see `pipe`).
    pub path: PathBuf,
    /// `CustomLog "|command" …` / `TransferLog "|command"`: the command that reads the
    /// log lines on its standard input, with the `|` (or `||`, `|$`) in front removed, as
    /// for [`Config::error_log_pipe`]. None for a file.
    pub pipe: Option<String>,
    /// The format string; a `LogFormat` nickname (or the built-in `common`, `combined`) is
    /// already replaced by its format. `TransferLog` gets the default format: the last
    /// `LogFormat` without a nickname, else `common`.
    pub format: String,
    /// `env=VAR` → `Some((false, "VAR"))`, `env=!VAR` → `Some((true, "VAR"))`: log only when
    /// the request has (has not) the variable.
    pub env: Option<(bool, String)>,
    pub origin: Origin,
}

/// One address of a `<VirtualHost>` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VhostAddr {
    /// None for `*` or `_default_`.
    pub ip: Option<std::net::IpAddr>,
    /// None for `*` or when no port was given.
    pub port: Option<u16>,
}

/// One `<VirtualHost>` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VirtualHost {
    pub addrs: Vec<VhostAddr>,
    /// `ServerName`, lowercased, scheme and port stripped.
    pub server_name: Option<String>,
    /// `ServerAlias` names, lowercased, in order; may contain `*` and `?` wildcards.
    /// The port `ServerName host:port` names (UseCanonicalName On's port).
    pub server_port: Option<u16>,
    pub server_aliases: Vec<String>,
    /// The vhost's own rules in evaluation order (its `<Location>` rules first, latest
    /// Location first, then its server-level rules in file order), NOT including the main
    /// server's.
    pub proxy_pass: Vec<ProxyPassRule>,
    pub proxy_pass_reverse: Vec<ProxyPassReverseRule>,
    pub cookie_path: Vec<CookieRule>,
    pub cookie_domain: Vec<CookieRule>,
    /// None = inherit the main server's.
    pub proxy_preserve_host: Option<bool>,
    pub proxy_add_headers: Option<bool>,
    pub proxy_via: Option<ProxyVia>,
    pub proxy_timeout: Option<Duration>,
    /// `ProxyPassInherit`: the vhost's own setting, else the main server's, else On.
    pub proxy_pass_inherit: bool,
    /// `RemoteIPProxyProtocol` in this vhost: On makes connections to its
    /// addresses start with a PROXY protocol header (see [`Config::remoteip_proxy_protocol`]).
    pub remoteip_proxy_protocol: Option<bool>,
    /// `RemoteIPHeader` and its proxy lists, the main server's merged in.
    pub remoteip: crate::rules::remoteip::RemoteIp,
    pub custom_logs: Vec<CustomLog>,
    /// The vhost's own `<Location>` handlers, in file order (the main server's
    /// apply too, before these: see [`LocationHandler`]).
    pub handlers: Vec<LocationHandler>,
    /// The vhost's own `DocumentRoot` and `<FilesMatch>` proxy handlers.
    pub cgi: super::CgiConfig,
    /// The vhost's own `<Location>` access rules for proxied requests.
    pub access: Vec<AccessSection>,
    /// The vhost's own `<Proxy>` access rules.
    pub proxy_access: Vec<AccessSection>,
    /// Mass reverse proxy (mod_proxy_express), merged with the main server's.
    pub express: super::Express,
    /// mod_rewrite: the vhost's rules (with the main server's under
    /// `RewriteOptions Inherit`); None when its RewriteEngine is not On.
    pub rewrite: Option<crate::rules::rewrite::Rewrite>,
    /// mod_headers, mod_env and mod_setenvif lines (this server's own; a vhost's
    /// run after the main server's).
    pub rules: crate::rules::Rules,
    /// ServerSignature, UseCanonicalName, TraceEnable and ServerAdmin set here
    /// (the rest are the main server's: [`Config::presentation`]).
    pub presentation: super::httpd::VhostPresentation,
    pub origin: Origin,
}

/// What `SetHandler` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HandlerKind {
    /// `balancer-manager` (reference §6).
    BalancerManager,
    /// `server-status` (reference §7.5, §6.6).
    ServerStatus,
    /// `metrics`: Prometheus text exposition (slotgate's own).
    Metrics,
}

impl HandlerKind {
    pub fn from_name(name: &str) -> Option<HandlerKind> {
        match name.to_ascii_lowercase().as_str() {
            "balancer-manager" => Some(HandlerKind::BalancerManager),
            "server-status" => Some(HandlerKind::ServerStatus),
            "metrics" => Some(HandlerKind::Metrics),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            HandlerKind::BalancerManager => "balancer-manager",
            HandlerKind::ServerStatus => "server-status",
            HandlerKind::Metrics => "metrics",
        }
    }
}

/// A `<Location path>` section with `SetHandler`, and its access rules.
///
/// As in httpd, a request is served by the handler of the *last* Location (in
/// file order, the main server's before the vhost's) whose path matches, and only
/// when no `ProxyPass` rule proxies it (write `ProxyPass /balancer-manager !`
/// before `ProxyPass / …`). The path matches the request path as a prefix at a
/// segment boundary: `/status` matches `/status`, `/status/` and `/status/x`, not
/// `/statusx`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocationHandler {
    pub path: String,
    pub handler: HandlerKind,
    /// The section's `Require` lines (several are an implicit `<RequireAny>`);
    /// None when it has none.
    pub require: Option<crate::access::Require>,
    /// The section's `Order`, `Allow` and `Deny` (mod_access_compat); None when
    /// it has none of them nor `Satisfy`.
    pub compat: Option<crate::access::compat::Compat>,
    /// `Satisfy Any`: `Require` or the `Allow`/`Deny` rules suffice (default
    /// `All`: both must pass).
    pub satisfy_any: bool,
    pub origin: Origin,
}

/// The access rules of a `<Location[Match]>` (with or without `SetHandler`) or
/// `<Proxy[Match]>` section, which guard the proxied requests it covers. httpd
/// merges every matching section (the Proxies', then the Locations', each in
/// file order): the last one with `Require` lines brings the `Require` rules,
/// the last one with `Order`/`Allow`/`Deny` those, the last `Satisfy` wins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccessSection {
    /// Which requests the section covers.
    pub section: crate::rules::Section,
    pub require: Option<crate::access::Require>,
    pub compat: Option<crate::access::compat::Compat>,
    /// `Satisfy Any` (true) / `All` (false), if the section says.
    pub satisfy_any: Option<bool>,
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
    /// `ErrorLog "|command"` (also `"||command"`, `"|$command"`): the command that reads
    /// the error log on its standard input, with the `|`, `||` or `|$` in front removed and
    /// the blanks around it trimmed (`|$/usr/bin/logger -t x` gives `/usr/bin/logger -t x`). A
    /// program path is kept as written, not resolved against ServerRoot (httpd neither).
    /// httpd runs `|$` through the shell and `|`, `||` without one, splitting the words
    /// itself; running every form with `/bin/sh -c` gives the same result for ordinary
    /// command lines. When this is Some, `error_log` is None: the later `ErrorLog` wins.
    pub error_log_pipe: Option<String>,
    /// `LogLevel`, default warn.
    pub log_level: LogLevel,
    /// `ScoreboardFile` resolved against ServerRoot; default `<ServerRoot>/slotgate.scoreboard`.
    pub scoreboard_file: PathBuf,
    /// `StartServers`; None = one per CPU.
    pub start_servers: Option<usize>,
    /// The MPM: `MPM event|prefork` (slotgate's directive), or httpd's way,
    /// `LoadModule mpm_event_module …` / `LoadModule mpm_prefork_module …`. Default event.
    /// The selection happens while the files are read (as httpd loads modules), so an
    /// `<IfModule mpm_prefork_module>` after it sees it; selecting two different MPMs is an
    /// error.
    pub mpm: Mpm,
    /// `ServerLimit` (1..=20000): the most worker processes at once, which sizes the
    /// scoreboard's process slots. None: derived, see [`Config::process_limit`]. (httpd
    /// clamps out-of-range values with a warning; slotgate refuses them. httpd's
    /// compile-time maximum is 20000 for event, 200000 for prefork.)
    pub server_limit: Option<usize>,
    /// `MaxRequestWorkers` (or its old name `MaxClients`), ≥ 1: prefork, the most worker
    /// processes (each serves one connection at a time); event, the most client
    /// connections of all workers together. None: not given, see
    /// [`Config::max_request_workers_or_default`].
    pub max_request_workers: Option<usize>,
    /// `MinSpareServers` (≥ 1), default 5: prefork keeps at least this many idle workers.
    /// Only acts with prefork (httpd's event refuses the directive; slotgate warns).
    pub min_spare_servers: usize,
    /// `MaxSpareServers` (≥ 1), default 10: prefork stops idle workers above this many.
    /// Always larger than `min_spare_servers`: when written at or below it, it is raised to
    /// `min_spare_servers + 1` with a warning (httpd raises it silently).
    pub max_spare_servers: usize,
    /// `MaxConnectionsPerChild` (or its old name `MaxRequestsPerChild`): a worker exits
    /// after this many client connections. Default 0: never.
    pub max_connections_per_child: u64,
    /// `GracefulShutdownTimeout` (whole seconds), default 0: a graceful stop waits for
    /// the old workers as long as they need (httpd's "no limit").
    pub graceful_shutdown_timeout: Duration,
    /// `User name` or `User #uid`, as written: the user workers run as when slotgate is
    /// started as root. Only the form is checked here (the name is looked up at start,
    /// where it is used); `root` and `#0` are refused, as httpd refuses uid 0.
    pub user: Option<String>,
    /// `Group name` or `Group #gid`, as written (form checked only, as `user`).
    pub group: Option<String>,
    /// `ThreadsPerChild` (1..=100000): accepted and stored. slotgate workers are
    /// single-threaded (an event worker serves many connections on one thread), so it only
    /// counts toward the default of MaxRequestWorkers in event mode, see
    /// [`Config::max_request_workers_or_default`]; a warning says so.
    pub threads_per_child: Option<usize>,
    /// `WorkerStallTimeout` (whole seconds, 0 = off, else at least 5), default 60: the
    /// supervisor kills (SIGKILL) and replaces a worker whose event loop has not turned
    /// for this long (its progress mark in the process slot), as a wedged worker takes
    /// no new connection. slotgate's own directive; httpd has no watchdog for its children.
    pub worker_stall_timeout: Duration,
    /// `ListenBacklog` (1..=2147483647), default 511: the backlog given to `listen()` (the
    /// kernel caps it at `net.core.somaxconn`).
    pub listen_backlog: u32,
    /// `Timeout`, default 60 s.
    pub timeout: Duration,
    /// ServerTokens, ServerSignature, UseCanonicalName, ServerAdmin (`httpd.rs`).
    pub presentation: super::Presentation,
    /// `KeepAlive`, default On.
    pub keep_alive: bool,
    /// `KeepAliveTimeout`, default 5 s (time, default unit s; `ms` allowed as httpd).
    pub keep_alive_timeout: Duration,
    /// `MaxKeepAliveRequests`, default 100; 0 = unlimited.
    pub max_keep_alive_requests: u32,
    /// `ProxyRequests`, only Off is supported.
    pub proxy_requests: bool,
    /// `RemoteIPProxyProtocol On` in the main server (mod_remoteip): every
    /// connection must start with a PROXY protocol v1 or v2 header, whose client
    /// address replaces the peer's. Default Off. A vhost's On applies to the
    /// connections to its addresses (httpd: the setting is per address).
    pub remoteip_proxy_protocol: bool,
    /// `RemoteIPProxyProtocolExceptions` of the main server and every vhost:
    /// clients in these networks connect without a PROXY header.
    pub remoteip_proxy_exceptions: Vec<crate::access::IpNet>,
    /// The main server's `RemoteIPHeader` and proxy lists.
    pub remoteip: crate::rules::remoteip::RemoteIp,
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
    /// `ProxyPassReverseCookiePath` rules of the main server (its `<Location>`s' included),
    /// in file order.
    pub cookie_path: Vec<CookieRule>,
    /// `ProxyPassReverseCookieDomain` rules of the main server, in file order.
    pub cookie_domain: Vec<CookieRule>,
    /// Every balancer, from the main server and every vhost (one global namespace, see
    /// [`BalancerConfig`]), in order of first mention (a `ProxyPass` naming a balancer
    /// before its `<Proxy>` section counts).
    pub balancers: Vec<BalancerConfig>,
    /// `BalancerGrowth` (0..=1000, default 5): accepted and stored.
    pub balancer_growth: u32,
    /// `BalancerPersist`, default Off.
    pub balancer_persist: bool,
    /// `ProxyStatus`: Off (default) is false, On and Full are true.
    pub proxy_status: bool,
    /// The main server's `CustomLog` / `TransferLog` lines.
    pub custom_logs: Vec<CustomLog>,
    /// The main server's `<Location>` handlers, in file order.
    pub handlers: Vec<LocationHandler>,
    /// The main server's `DocumentRoot`, `<FilesMatch>` proxy handlers and
    /// `ProxyFCGIBackendType`.
    pub cgi: super::CgiConfig,
    /// The main server's `<Location>` access rules for proxied requests, in file order.
    pub access: Vec<AccessSection>,
    /// The main server's `<Proxy>` access rules (`path` is the pattern), in file order.
    pub proxy_access: Vec<AccessSection>,
    /// `ProxyHCExpr` definitions, in file order (names unique).
    pub hc_exprs: Vec<HcExprDef>,
    /// `ProxyHCTemplate name key=value…`: the health-check settings of each template.
    pub hc_templates: Vec<(String, HealthCheck)>,
    /// `ProxyHCTPsize` (default 16): most probes in flight at once; 0 = one at a time.
    pub hc_tpsize: usize,
    /// Mass reverse proxy (mod_proxy_express) of the main server.
    pub express: super::Express,
    /// mod_rewrite in the main server; None when RewriteEngine is not On.
    pub rewrite: Option<crate::rules::rewrite::Rewrite>,
    /// mod_headers, mod_env and mod_setenvif lines (this server's own; a vhost's
    /// run after the main server's).
    pub rules: crate::rules::Rules,
    /// `HeartbeatListen addr:port` (mod_heartmonitor): where members' heartbeats
    /// (`v=1&ready=N&busy=M`) arrive over UDP, for `lbmethod=heartbeat`; a multicast
    /// address is joined. None (default): not listening.
    pub heartbeat_listen: Option<std::net::SocketAddr>,
    /// `HeartbeatMaxServers` (default 10, 0..=10000): accepted, no effect (httpd: the size
    /// of its table; slotgate stores heartbeats in the member slots).
    pub heartbeat_max_servers: u32,
    /// `<VirtualHost>` sections in file order.
    pub vhosts: Vec<VirtualHost>,
    /// `LimitRequestLine` (bytes, 1..=1048576), default 8190: the longest request line.
    /// httpd also takes 0 and any larger number; slotgate refuses them.
    pub limit_request_line: usize,
    /// `LimitRequestFieldSize` (bytes, 1..=1048576), default 8190: the longest request
    /// header line. httpd also takes 0 and any larger number; slotgate refuses them.
    pub limit_request_field_size: usize,
    /// `LimitRequestFields` (0..=32767, httpd's documented range), default 100: the most
    /// request header lines. **0 means unlimited**, as in httpd.
    pub limit_request_fields: usize,
    /// `LimitRequestBody` (bytes, 0..=2^63-1), default 1 GiB (1073741824, httpd's default
    /// since 2.4.54; it was 0 before). **0 means unlimited.** Main server only for now
    /// (httpd also takes it per vhost and per directory).
    pub limit_request_body: u64,
    /// `RequestReadTimeout` (mod_reqtimeout): see [`RequestReadTimeout`].
    pub request_read_timeout: RequestReadTimeout,
    /// `ProxyWebsocketFallbackToProxyHttp`, default On (reference §8.7): Off makes a `ws://`
    /// rule take only requests that ask for an upgrade.
    pub proxy_websocket_fallback: bool,
    /// `ProxyIOBufferSize` (0, or ≥ 512 bytes), default 8192; 0 gives 8192. The read chunk
    /// for bodies; a worker's `iobuffersize=` overrides it.
    pub proxy_io_buffer_size: usize,
    /// `Proxy100Continue`, default On (reference §8.4).
    pub proxy_100_continue: bool,
    /// `ProxyBadHeader`, default IsError (reference §2.1).
    pub proxy_bad_header: ProxyBadHeader,
    /// mod_ssl: TLS per server and which listeners terminate it.
    pub tls: super::Tls,
    /// Non-fatal findings (e.g. the trailing-slash mismatch of reference §9 #2), each
    /// already prefixed with `FILE:LINE: `. `-t` prints them; the daemon logs them.
    pub warnings: Vec<String>,
    /// Where the server-wide file and account directives were written, for the
    /// start-up checks' messages (`preflight`).
    pub origins: Origins,
}

/// The multi-processing module: how workers take connections (DESIGN.md, "MPM modes").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mpm {
    /// Each worker holds many client connections at once (default).
    #[default]
    Event,
    /// Each worker holds one client connection at a time; the supervisor keeps
    /// `MinSpareServers`..`MaxSpareServers` idle workers.
    Prefork,
}

impl Mpm {
    /// `event` or `prefork`, as the `MPM` directive takes it.
    pub fn name(self) -> &'static str {
        match self {
            Mpm::Event => "event",
            Mpm::Prefork => "prefork",
        }
    }
}

impl std::fmt::Display for Mpm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `ProxyBadHeader IsError|Ignore|StartBody`: what to do with a response header line
/// from a member that has no colon.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProxyBadHeader {
    /// Answer 502 (default).
    #[default]
    IsError,
    /// Skip the line.
    Ignore,
    /// Take the line and everything after it as the start of the body.
    StartBody,
}

/// One stage of `RequestReadTimeout` (mod_reqtimeout): `first` seconds to receive the
/// stage's data; with `min_rate`, every `min_rate` bytes received extend the deadline by
/// one second, up to `max` after the stage began (no limit when `max` is None).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateTimeout {
    /// The initial timeout (whole seconds, ≥ 1: a stage written with 0 is off, [`None`]).
    pub first: Duration,
    /// The most the deadline may be extended to (from the `T-MAX` form); larger than
    /// `first`. Only with a `min_rate`.
    pub max: Option<Duration>,
    /// `MinRate=` in bytes per second; 0 = none (the timeout is not extended).
    pub min_rate: u32,
}

/// `RequestReadTimeout [handshake=…] [header=…] [body=…]`, each stage written
/// `T`, `T,MinRate=R` or `T-MAX,MinRate=R` in whole seconds and bytes per second; `0` turns
/// the stage off (None). A stage not named keeps its default; a stage named again is
/// replaced as a whole, as in httpd. Defaults (httpd ≥ 2.4.39, also when the directive is
/// absent): `handshake=0 header=20-40,MinRate=500 body=20,MinRate=500`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestReadTimeout {
    /// Reading the request line and headers.
    pub header: Option<RateTimeout>,
    /// Reading the request body.
    pub body: Option<RateTimeout>,
    /// The TLS handshake: accepted and stored; slotgate has no TLS yet. Default off.
    pub handshake: Option<RateTimeout>,
}

impl Default for RequestReadTimeout {
    fn default() -> Self {
        RequestReadTimeout {
            header: Some(RateTimeout {
                first: Duration::from_secs(20),
                max: Some(Duration::from_secs(40)),
                min_rate: 500,
            }),
            body: Some(RateTimeout {
                first: Duration::from_secs(20),
                max: None,
                min_rate: 500,
            }),
            handshake: None,
        }
    }
}

/// Where `PidFile`, `ErrorLog`, `ScoreboardFile`, `User` and `Group` were written
/// (None: not written, the default applies).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Origins {
    pub pid_file: Option<Origin>,
    pub error_log: Option<Origin>,
    pub scoreboard_file: Option<Origin>,
    pub user: Option<Origin>,
    pub group: Option<Origin>,
}
