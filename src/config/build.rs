//! Directive tree → typed [`Config`]: the main server's own directives, `<VirtualHost>`
//! sections, and the final checks. Directive names are case-insensitive; messages use the
//! canonical spelling, except "unknown directive", which repeats the name as written.
//!
//! The main server and each `<VirtualHost>` collect the directives they share in a
//! [`Scope`] (see `scope.rs`); balancers go into one registry shared by all of them (see
//! [`super::BalancerConfig`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::address::{self, listen_addrs, server_name};
use super::balancer::{self, Registry};
use super::health;
use super::httpd;
use super::logs::piped_command;
use super::mpm;
use super::protocol;
use super::reader::{Directive, Tree};
use super::scope::{check, fail, flag, named, one_arg, unknown, Ctx, Scope};
use super::tls;
use super::values::{self, TimeUnit};
use super::{
    Config, ConfigError, Listen, LogLevel, Origin, ProxyBadHeader, ProxyPassRule, ProxyVia,
    RequestReadTimeout, VirtualHost,
};

/// Server-level directives httpd refuses inside `<VirtualHost>` (the process directives of
/// `mpm.rs` too).
pub(super) const GLOBAL_ONLY: &[&str] = &[
    "Listen",
    "PidFile",
    "ScoreboardFile",
    "StartServers",
    "ProxyHCTPsize",
    "ServerTokens",
    "ExtendedStatus",
];

/// Server-level directives httpd allows inside `<VirtualHost>` that slotgate only takes
/// for the whole server.
pub(super) const NOT_PER_VHOST: &[&str] = &[
    "Timeout",
    "KeepAlive",
    "KeepAliveTimeout",
    "MaxKeepAliveRequests",
    "LogLevel",
    "BalancerGrowth",
    "BalancerPersist",
    "ProxyStatus",
    "LimitRequestLine",
    "LimitRequestFieldSize",
    "LimitRequestFields",
    "LimitRequestBody",
    "RequestReadTimeout",
    "ProxyWebsocketFallbackToProxyHttp",
    "ProxyIOBufferSize",
    "Proxy100Continue",
    "ProxyBadHeader",
];

/// Where a vhost's ProxyPass routing differs from httpd 2.4's (reference §9
/// #1, which slotgate fixes): httpd applies the main server's rules even under
/// `ProxyPassInherit Off`, and tests them before the vhost's own, so a main
/// rule overlapping a vhost rule takes its requests there. A `-t` warning each.
fn inheritance_warnings(main: &[ProxyPassRule], v: &VirtualHost, warnings: &mut Vec<String>) {
    let name = v.server_name.as_deref().unwrap_or("without ServerName");
    if !v.proxy_pass_inherit {
        if let Some(first) = main.first() {
            warnings.push(format!(
                "{}: ProxyPassInherit Off: the main server's ProxyPass rules ({} in all, the \
                 first at {}) do not apply in <VirtualHost> {name}; httpd 2.4 still applies \
                 them (an httpd bug slotgate does not reproduce)",
                v.origin,
                main.len(),
                first.origin
            ));
        }
        return;
    }
    let trim = |p: &str| p.trim_end_matches('/').to_string();
    for own in v.proxy_pass.iter().filter(|r| !r.regex) {
        let o = trim(&own.path);
        if let Some(m) = main.iter().filter(|r| !r.regex).find(|m| {
            let m = trim(&m.path);
            m.starts_with(&o) || o.starts_with(&m)
        }) {
            warnings.push(format!(
                "{}: ProxyPass {} in <VirtualHost> {name} overlaps the main server's ProxyPass \
                 {} ({}): slotgate tests the vhost's rule first, httpd 2.4 the main server's \
                 (so there the main rule takes the requests both match)",
                own.origin, own.path, m.path, m.origin
            ));
        }
    }
}

/// Builds the configuration. `file` is the main file (absolute).
pub(crate) fn build(tree: Tree, file: &Path) -> Result<Config, ConfigError> {
    match build_all(tree, file) {
        (Some(config), errors) if errors.is_empty() => Ok(config),
        (_, mut errors) => Err(errors.swap_remove(0)),
    }
}

/// Builds the configuration, going on past a directive in error so that every
/// error is found: the configuration without the directives in error (None when
/// the final checks fail too), and the errors in file order (then those of the
/// final checks). Each line of a `<VirtualHost>`, `<Proxy>` or `<Location>` section
/// is checked on its own.
pub(crate) fn build_all(tree: Tree, file: &Path) -> (Option<Config>, Vec<ConfigError>) {
    let root = tree.server_root.clone();
    let mut b = Builder {
        seen: mpm::Seen::default(),
        config: Config {
            file: file.to_path_buf(),
            scoreboard_file: default_scoreboard(&root, std::env::var_os("RUNTIME_DIRECTORY")),
            server_root: root.clone(),
            server_name: "localhost".to_string(),
            listen: Vec::new(),
            pid_file: None,
            error_log: None,
            error_log_pipe: None,
            log_level: LogLevel::Warn,
            start_servers: None,
            mpm: tree.mpm,
            server_limit: None,
            max_request_workers: None,
            min_spare_servers: mpm::DEFAULT_MIN_SPARE_SERVERS,
            max_spare_servers: mpm::DEFAULT_MAX_SPARE_SERVERS,
            max_connections_per_child: 0,
            graceful_shutdown_timeout: Duration::ZERO,
            user: None,
            group: None,
            threads_per_child: None,
            listen_backlog: mpm::DEFAULT_LISTEN_BACKLOG,
            worker_stall_timeout: mpm::DEFAULT_WORKER_STALL_TIMEOUT,
            timeout: Duration::from_secs(60),
            presentation: Default::default(),
            keep_alive: true,
            keep_alive_timeout: Duration::from_secs(5),
            max_keep_alive_requests: 100,
            proxy_requests: false,
            proxy_preserve_host: false,
            remoteip_proxy_protocol: false,
            remoteip_proxy_exceptions: Vec::new(),
            remoteip: Default::default(),
            proxy_timeout: None,
            proxy_via: ProxyVia::Off,
            proxy_add_headers: true,
            proxy_pass: Vec::new(),
            proxy_pass_reverse: Vec::new(),
            cookie_path: Vec::new(),
            cookie_domain: Vec::new(),
            balancers: Vec::new(),
            balancer_growth: 5,
            balancer_persist: false,
            proxy_status: false,
            custom_logs: Vec::new(),
            handlers: Vec::new(),
            access: Vec::new(),
            proxy_access: Vec::new(),
            hc_exprs: Vec::new(),
            hc_templates: Vec::new(),
            hc_tpsize: 16,
            express: Default::default(),
            rewrite: None,
            rules: Default::default(),
            heartbeat_listen: None,
            heartbeat_max_servers: 10,
            vhosts: Vec::new(),
            warnings: Vec::new(),
            origins: Default::default(),
            limit_request_line: protocol::DEFAULT_LIMIT_REQUEST_LINE,
            limit_request_field_size: protocol::DEFAULT_LIMIT_REQUEST_FIELD_SIZE,
            limit_request_fields: protocol::DEFAULT_LIMIT_REQUEST_FIELDS,
            limit_request_body: protocol::DEFAULT_LIMIT_REQUEST_BODY,
            request_read_timeout: RequestReadTimeout::default(),
            proxy_websocket_fallback: true,
            proxy_io_buffer_size: protocol::DEFAULT_PROXY_IO_BUFFER_SIZE,
            proxy_100_continue: true,
            proxy_bad_header: ProxyBadHeader::IsError,
            tls: Default::default(),
        },
        ctx: Ctx {
            balancers: Registry::default(),
            health: health::Defs::default(),
            warnings: tree.warnings,
            root,
            errors: Vec::new(),
        },
        main: Scope::default(),
        vhosts: Vec::new(),
        ssl: Default::default(),
        errors: Vec::new(),
    };
    for d in &tree.directives {
        let result = b.server_directive(d);
        b.errors.append(&mut b.ctx.errors);
        if let Err(e) = result {
            b.errors.push(e);
        }
    }
    let mut errors = std::mem::take(&mut b.errors);
    match b.finish(file) {
        Ok(config) => (Some(config), errors),
        Err(e) => {
            errors.push(e);
            (None, errors)
        }
    }
}

/// A `<VirtualHost>` being built.
struct VhostDraft {
    vhost: VirtualHost,
    scope: Scope,
    ssl: tls::SslDraft,
}

struct Builder {
    config: Config,
    /// Where the process directives `mpm::finish` checks again were written.
    seen: mpm::Seen,
    ctx: Ctx,
    main: Scope,
    vhosts: Vec<VhostDraft>,
    /// The main server's mod_ssl settings.
    ssl: tls::SslDraft,
    /// Errors of the directives read so far (each skipped).
    errors: Vec<ConfigError>,
}

/// Where the scoreboard goes without `ScoreboardFile`: the runtime directory
/// systemd made for the service (`RuntimeDirectory=` sets `$RUNTIME_DIRECTORY`,
/// its first absolute entry when there are several), else ServerRoot. Under a
/// unit with `ProtectSystem=` ServerRoot (`/etc/slotgate`) is read-only, and
/// the runtime directory is the place for run-time files.
fn default_scoreboard(root: &Path, runtime_directory: Option<std::ffi::OsString>) -> PathBuf {
    let runtime =
        runtime_directory.and_then(|dirs| std::env::split_paths(&dirs).find(|d| d.is_absolute()));
    runtime
        .as_deref()
        .unwrap_or(root)
        .join("slotgate.scoreboard")
}

#[cfg(test)]
#[test]
fn the_default_scoreboard_is_in_the_runtime_directory_when_systemd_made_one() {
    let root = Path::new("/etc/slotgate");
    let under = |env: Option<&str>| default_scoreboard(root, env.map(Into::into));
    assert_eq!(under(None), root.join("slotgate.scoreboard"));
    assert_eq!(
        under(Some("/run/slotgate")),
        Path::new("/run/slotgate/slotgate.scoreboard")
    );
    assert_eq!(
        under(Some("/run/slotgate:/run/other")),
        Path::new("/run/slotgate/slotgate.scoreboard")
    );
    // Not a place to trust: a relative or empty value is ignored.
    assert_eq!(under(Some("run")), root.join("slotgate.scoreboard"));
    assert_eq!(under(Some("")), root.join("slotgate.scoreboard"));
}

fn resolve(root: &Path, path: &str) -> PathBuf {
    root.join(path)
}

/// Where `ErrorLog` sends the log.
enum ErrorLogTarget<'a> {
    /// A file name as written.
    File(&'a str),
    /// `|command`: the command (see [`Config::error_log_pipe`]).
    Pipe(String),
}

/// `ErrorLog` target: a file or a piped command; syslog is refused.
fn error_log_target(d: &Directive) -> Result<ErrorLogTarget<'_>, ConfigError> {
    let target = one_arg(d, "ErrorLog")?;
    if let Some(command) = piped_command(target) {
        return Ok(ErrorLogTarget::Pipe(check(
            d,
            command.map_err(|m| format!("ErrorLog: {m}")),
        )?));
    }
    if target.to_ascii_lowercase().starts_with("syslog") {
        return Err(fail(
            d,
            format!("ErrorLog: syslog is not supported, got '{target}'"),
        ));
    }
    Ok(ErrorLogTarget::File(target))
}

impl Builder {
    fn server_directive(&mut self, d: &Directive) -> Result<(), ConfigError> {
        if d.children.is_some() {
            if d.is("VirtualHost") {
                return self.virtual_host(d);
            }
            if self.main.directive(&mut self.ctx, d)?
                || httpd::directive(&mut self.config.presentation, &mut self.ctx, d)?
            {
                return Ok(());
            }
            return Err(unknown(d));
        }
        let c = &mut self.config;
        match d.name.to_ascii_lowercase().as_str() {
            "listen" => self.listen(d)?,
            "servername" => {
                c.server_name = server_name(one_arg(d, "ServerName")?).map_err(|m| fail(d, m))?
            }
            "serveralias" => return Err(fail(d, "ServerAlias only used in <VirtualHost>")),
            "pidfile" => {
                c.pid_file = Some(resolve(&c.server_root, one_arg(d, "PidFile")?));
                c.origins.pid_file = Some(d.origin.clone());
            }
            "errorlog" => match error_log_target(d)? {
                ErrorLogTarget::File(path) => {
                    c.error_log = Some(resolve(&c.server_root, path));
                    c.origins.error_log = Some(d.origin.clone());
                    c.error_log_pipe = None;
                }
                ErrorLogTarget::Pipe(command) => {
                    c.error_log = None;
                    c.error_log_pipe = Some(command);
                }
            },
            "loglevel" => c.log_level = check(d, log_level(&d.args))?.unwrap_or(c.log_level),
            "scoreboardfile" => {
                c.scoreboard_file = resolve(&c.server_root, one_arg(d, "ScoreboardFile")?);
                c.origins.scoreboard_file = Some(d.origin.clone());
            }
            "startservers" => {
                let n = check(
                    d,
                    values::integer(
                        "StartServers",
                        one_arg(d, "StartServers")?,
                        1,
                        i64::from(u16::MAX),
                    ),
                )?;
                c.start_servers = Some(n as usize);
            }
            "timeout" => {
                c.timeout = check(
                    d,
                    values::whole_seconds("Timeout", one_arg(d, "Timeout")?, 1),
                )?
            }
            "keepalive" => c.keep_alive = flag(d, "KeepAlive")?,
            "keepalivetimeout" => {
                let arg = one_arg(d, "KeepAliveTimeout")?;
                c.keep_alive_timeout =
                    check(d, values::time("KeepAliveTimeout", arg, TimeUnit::Seconds))?;
            }
            "maxkeepaliverequests" => {
                let arg = one_arg(d, "MaxKeepAliveRequests")?;
                let n = check(
                    d,
                    values::integer("MaxKeepAliveRequests", arg, 0, i64::from(u32::MAX)),
                )?;
                c.max_keep_alive_requests = n as u32;
            }
            "balancergrowth" => {
                let arg = one_arg(d, "BalancerGrowth")?;
                c.balancer_growth =
                    check(d, values::integer("BalancerGrowth", arg, 0, 1000))? as u32;
            }
            "balancerpersist" => c.balancer_persist = flag(d, "BalancerPersist")?,
            "heartbeatlisten" => {
                let arg = one_arg(d, "HeartbeatListen")?;
                let addr = arg.parse::<std::net::SocketAddr>().map_err(|_| {
                    fail(d, format!("HeartbeatListen: expected IP:port, got '{arg}'"))
                })?;
                c.heartbeat_listen = Some(addr);
            }
            "heartbeatmaxservers" => {
                let arg = one_arg(d, "HeartbeatMaxServers")?;
                c.heartbeat_max_servers =
                    check(d, values::integer("HeartbeatMaxServers", arg, 0, 10_000))? as u32;
            }
            "proxystatus" => {
                let arg = one_arg(d, "ProxyStatus")?;
                c.proxy_status = match arg.to_ascii_lowercase().as_str() {
                    "off" => false,
                    "on" | "full" => true,
                    _ => {
                        return Err(fail(
                            d,
                            format!("ProxyStatus: expected Off, On or Full, got '{arg}'"),
                        ))
                    }
                };
            }
            "loadmodule" => load_module(d)?,
            _ => {
                if !protocol::directive(c, d)?
                    && !tls::directive(&mut self.ssl, &c.server_root, d)?
                    && !mpm::directive(c, &mut self.seen, d)?
                    && !health::server_directive(c, d)?
                    && !self.main.directive(&mut self.ctx, d)?
                    && !httpd::directive(&mut c.presentation, &mut self.ctx, d)?
                {
                    return Err(unknown(d));
                }
            }
        }
        Ok(())
    }

    fn listen(&mut self, d: &Directive) -> Result<(), ConfigError> {
        let (addr, protocol) = match d.args.as_slice() {
            [addr] => (addr, None),
            [addr, protocol] => (addr, Some(protocol)),
            _ => return Err(fail(d, "Listen takes an address and an optional protocol")),
        };
        if let Some(p) = protocol {
            // `https` names the protocol only (as in httpd): TLS comes from SSLEngine.
            if !p.eq_ignore_ascii_case("http") && !p.eq_ignore_ascii_case("https") {
                return Err(fail(
                    d,
                    format!("Listen: protocol '{p}' is not supported (only http and https)"),
                ));
            }
        }
        for addr in listen_addrs(addr).map_err(|m| fail(d, format!("Listen: {m}")))? {
            if addr.port() != 0 {
                if let Some(earlier) = self.config.listen.iter().find(|l| l.addr == addr) {
                    return Err(fail(
                        d,
                        format!(
                            "Listen: {addr} is already a listener (at {})",
                            earlier.origin
                        ),
                    ));
                }
            }
            self.config.listen.push(Listen {
                addr,
                origin: d.origin.clone(),
            });
        }
        Ok(())
    }

    fn virtual_host(&mut self, section: &Directive) -> Result<(), ConfigError> {
        let addrs = check(section, address::vhost_addrs(&section.args))?;
        let mut draft = VhostDraft {
            vhost: VirtualHost {
                addrs,
                server_name: None,
                server_port: None,
                server_aliases: Vec::new(),
                proxy_pass: Vec::new(),
                proxy_pass_reverse: Vec::new(),
                cookie_path: Vec::new(),
                cookie_domain: Vec::new(),
                proxy_preserve_host: None,
                proxy_add_headers: None,
                proxy_via: None,
                proxy_timeout: None,
                proxy_pass_inherit: true,
                remoteip_proxy_protocol: None,
                remoteip: Default::default(),
                custom_logs: Vec::new(),
                handlers: Vec::new(),
                access: Vec::new(),
                proxy_access: Vec::new(),
                express: Default::default(),
                rewrite: None,
                rules: Default::default(),
                presentation: Default::default(),
                origin: section.origin.clone(),
            },
            scope: Scope::default(),
            ssl: Default::default(),
        };
        for d in section.children.iter().flatten() {
            let result = self.vhost_directive(&mut draft, d);
            self.errors.append(&mut self.ctx.errors);
            if let Err(e) = result {
                self.errors.push(e);
            }
        }
        self.vhosts.push(draft);
        Ok(())
    }

    fn vhost_directive(
        &mut self,
        draft: &mut VhostDraft,
        d: &Directive,
    ) -> Result<(), ConfigError> {
        if d.children.is_some() {
            if d.is("VirtualHost") {
                return Err(fail(
                    d,
                    "<VirtualHost> cannot occur within <VirtualHost> section",
                ));
            }
            if draft.scope.directive(&mut self.ctx, d)?
                || httpd::directive(&mut Default::default(), &mut self.ctx, d)?
            {
                return Ok(());
            }
            return Err(unknown(d));
        }
        if let Some(name) = named(d, GLOBAL_ONLY).or_else(|| named(d, mpm::DIRECTIVES)) {
            return Err(fail(
                d,
                format!("{name} cannot occur within <VirtualHost> section"),
            ));
        }
        if let Some(name) = named(d, NOT_PER_VHOST) {
            return Err(fail(
                d,
                format!("{name} inside <VirtualHost> is not supported yet (set it for the whole server)"),
            ));
        }
        let v = &mut draft.vhost;
        match d.name.to_ascii_lowercase().as_str() {
            "servername" => {
                let name = one_arg(d, "ServerName")?;
                v.server_name = Some(check(d, address::host_name("ServerName", name, false))?);
                v.server_port = address::server_name_port(name);
            }
            "serveralias" => {
                if d.args.is_empty() {
                    return Err(fail(d, "ServerAlias takes at least one host name"));
                }
                for a in &d.args {
                    v.server_aliases
                        .push(check(d, address::host_name("ServerAlias", a, true))?);
                }
            }
            "errorlog" => {
                error_log_target(d)?;
                self.ctx.warn(
                    &d.origin,
                    "ErrorLog inside <VirtualHost> is ignored: slotgate writes one error log, \
                     the main server's",
                );
            }
            "loadmodule" => load_module(d)?,
            _ if v.presentation.directive(&mut self.ctx, d)? => {}
            _ => {
                if !tls::directive(&mut draft.ssl, &self.config.server_root, d)?
                    && !draft.scope.directive(&mut self.ctx, d)?
                    && !httpd::directive(&mut Default::default(), &mut self.ctx, d)?
                {
                    return Err(unknown(d));
                }
            }
        }
        Ok(())
    }

    fn finish(mut self, file: &Path) -> Result<Config, ConfigError> {
        let balancers = std::mem::take(&mut self.ctx.balancers).finish()?;
        if self.config.listen.is_empty() {
            return Err(ConfigError::at(
                &Origin::file_only(Arc::new(file.to_path_buf())),
                "no Listen directive",
            ));
        }
        // ProxyPassReverse balancer://x: the consumer expands the members, so x should exist.
        let reverse = self
            .main
            .reverse
            .iter()
            .chain(self.vhosts.iter().flat_map(|v| v.scope.reverse.iter()));
        for rule in reverse {
            if let Some(Ok((name, _))) = balancer::balancer_url(&rule.url) {
                if !balancers.iter().any(|b| b.name == name) {
                    self.ctx.warnings.push(format!(
                        "{}: ProxyPassReverse: {name} is not defined; the rule is compared as a plain URL",
                        rule.origin
                    ));
                }
            }
        }
        let c = &mut self.config;
        let main = &mut self.main;
        c.proxy_pass = main.take_rules();
        c.proxy_pass_reverse = std::mem::take(&mut main.reverse);
        c.cookie_path = std::mem::take(&mut main.cookie_path);
        c.cookie_domain = std::mem::take(&mut main.cookie_domain);
        c.proxy_preserve_host = main.preserve_host.unwrap_or(c.proxy_preserve_host);
        c.proxy_add_headers = main.add_headers.unwrap_or(c.proxy_add_headers);
        c.proxy_via = main.via.unwrap_or(c.proxy_via);
        c.proxy_timeout = main.timeout.or(c.proxy_timeout);
        c.remoteip_proxy_protocol = main.proxy_protocol.unwrap_or(false);
        c.remoteip_proxy_exceptions = std::mem::take(&mut main.proxy_protocol_exceptions);
        c.remoteip = main.remoteip.resolve(None);
        c.custom_logs = main.logs.resolve(None, &mut self.ctx.warnings);
        c.handlers = std::mem::take(&mut main.handlers);
        c.access = std::mem::take(&mut main.access);
        c.proxy_access = std::mem::take(&mut main.proxy_access);
        c.express = main.express.resolve(None, &mut self.ctx.warnings);
        c.rewrite = main.rewrite.resolve(None, &mut self.ctx.warnings)?;
        c.rules = std::mem::take(&mut main.rules);
        let ssl: Vec<_> = self.vhosts.iter().map(|v| (&v.vhost, &v.ssl)).collect();
        c.tls = tls::finish(&c.listen, &self.ssl, &ssl)?;
        for mut draft in self.vhosts {
            let v = &mut draft.vhost;
            let s = &mut draft.scope;
            v.proxy_pass = s.take_rules();
            v.proxy_pass_reverse = std::mem::take(&mut s.reverse);
            v.cookie_path = std::mem::take(&mut s.cookie_path);
            v.cookie_domain = std::mem::take(&mut s.cookie_domain);
            v.proxy_preserve_host = s.preserve_host;
            v.proxy_add_headers = s.add_headers;
            v.proxy_via = s.via;
            v.proxy_timeout = s.timeout;
            v.remoteip_proxy_protocol = s.proxy_protocol;
            v.remoteip = s.remoteip.resolve(Some(&main.remoteip));
            c.remoteip_proxy_exceptions
                .append(&mut s.proxy_protocol_exceptions);
            // httpd merges the flag: the vhost's own setting, else the main server's.
            v.proxy_pass_inherit = s.pass_inherit.or(main.pass_inherit).unwrap_or(true);
            inheritance_warnings(&c.proxy_pass, v, &mut self.ctx.warnings);
            v.custom_logs = s.logs.resolve(Some(&main.logs), &mut self.ctx.warnings);
            v.handlers = std::mem::take(&mut s.handlers);
            v.access = std::mem::take(&mut s.access);
            v.proxy_access = std::mem::take(&mut s.proxy_access);
            v.rules = std::mem::take(&mut s.rules);
            v.express = s
                .express
                .resolve(Some(&main.express), &mut self.ctx.warnings);
            v.rewrite = s
                .rewrite
                .resolve(Some(&main.rewrite), &mut self.ctx.warnings)?;
            c.vhosts.push(draft.vhost);
        }
        c.balancers = balancers;
        c.presentation.server_header = c.presentation.server_banner();
        mpm::finish(c, &self.seen, &mut self.ctx.warnings);
        let defs = std::mem::take(&mut self.ctx.health);
        health::finish(c, defs, &mut self.ctx.warnings)?;
        c.warnings = self.ctx.warnings;
        Ok(self.config)
    }
}

fn load_module(d: &Directive) -> Result<(), ConfigError> {
    if d.args.len() != 2 {
        return Err(fail(
            d,
            "LoadModule takes two arguments, a module name and a path",
        ));
    }
    Ok(())
}

/// `LogLevel level [module:level…]`: the first plain level sets the level; per-module
/// levels are checked and ignored (slotgate has one log level). None when only module
/// levels are given.
fn log_level(args: &[String]) -> Result<Option<LogLevel>, String> {
    if args.is_empty() {
        return Err("LogLevel takes at least one argument".to_string());
    }
    let mut level = None;
    for arg in args {
        match arg.split_once(':') {
            Some((module, l)) => {
                if module.is_empty() {
                    return Err(format!("LogLevel: no module name in '{arg}'"));
                }
                parse_level(l)?;
            }
            None => {
                let l = parse_level(arg)?;
                level.get_or_insert(l);
            }
        }
    }
    Ok(level)
}

fn parse_level(value: &str) -> Result<LogLevel, String> {
    let l = value.to_ascii_lowercase();
    Ok(match l.as_str() {
        "emerg" => LogLevel::Emerg,
        "alert" => LogLevel::Alert,
        "crit" => LogLevel::Crit,
        "error" => LogLevel::Error,
        "warn" => LogLevel::Warn,
        "notice" => LogLevel::Notice,
        "info" => LogLevel::Info,
        "debug" => LogLevel::Debug,
        "trace1" | "trace2" | "trace3" | "trace4" | "trace5" | "trace6" | "trace7" | "trace8" => {
            LogLevel::Trace
        }
        _ => {
            return Err(format!(
                "LogLevel: expected emerg, alert, crit, error, warn, notice, info, debug or trace1..trace8, got '{value}'"
            ))
        }
    })
}
