//! The routing table of one generation: servers (the main server and each
//! `<VirtualHost>`), their ProxyPass rules, the members and balancers the rules
//! lead to, and virtual-host selection by local address and Host header.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use regex::Regex;
use scoreboard::flags;

use super::express::MapFile;
use crate::balancer::{Balancer, BalancerSpec, MemberSpec, Method};
use crate::config::{
    BalancerConfig, Config, CookieRule, CustomLog, LocationHandler, PassTarget,
    ProxyPassReverseRule, ProxyPassRule, ProxyVia, VhostAddr, WorkerParams,
};
use crate::logging::access::{AccessLog, Format};
use crate::pool::PoolLimits;
use crate::url::Protocol;
use crate::url::{
    encode_path, has_dot_segment, normalise_path, parse_member_url, prefix_match, split_target,
    wildcard_match, MemberUrl,
};

/// A member: where requests go, standalone (behind a plain `ProxyPass`) or in a
/// balancer. `slot` is its member slot in the scoreboard and its index here.
#[derive(Clone, Debug)]
pub struct Member {
    pub slot: usize,
    pub url: MemberUrl,
    /// `scheme://host[:port]` (`MemberUrl::authority_prefix`): how `<Proxy>`
    /// sections see the member's URLs (see `Routes::url_of_route`).
    pub authority: String,
    /// The member's protocol and its settings (chosen by the URL's scheme):
    /// each member connection gets a codec from it (`crate::codec`).
    pub codec: crate::codec::Settings,
    /// Resolved at start-up; the first address is used. Empty for a Unix-socket
    /// member (`url.socket`).
    pub addrs: Vec<SocketAddr>,
    /// `proxyprotocol=v1|v2`: each new connection starts with a PROXY protocol
    /// header carrying the client's addresses (such a member is never pooled).
    pub proxy_protocol: Option<crate::proxy_protocol::Version>,
    /// Socket I/O timeout: `timeout=`, else ProxyTimeout, else Timeout.
    pub timeout: Duration,
    /// Connect timeout: `connectiontimeout=`, else the I/O timeout.
    pub connect_timeout: Duration,
    pub retry: Duration,
    /// Initial status flags (scoreboard::flags).
    pub status: u32,
    pub keepalive: bool,
    pub lbfactor: u32,
    pub lbset: u32,
    pub route: String,
    pub redirect: String,
    /// Index into `Routes::balancers` for a balancer member.
    pub balancer: Option<usize>,
    /// Connection reuse: `enablereuse`/`disablereuse`, `max`, `smax`, `ttl`, `acquire`.
    pub pool: PoolLimits,
    /// The configured health check (`hcmethod=` …), written into the member
    /// slot by the supervisor; the health checker reads the slot.
    pub health: crate::config::HealthCheck,
    /// A health probe's time limit when one was configured: `connectiontimeout=`,
    /// else `timeout=` (the checker's default otherwise).
    pub hc_timeout: Option<Duration>,
    /// An `https://` (or `wss://`) member: the TLS client configuration and the name
    /// sent as SNI and checked against its certificate (the URL's host).
    pub tls: Option<(
        Arc<rustls::ClientConfig>,
        rustls::pki_types::ServerName<'static>,
    )>,
}

#[derive(Clone, Debug)]
enum Matcher {
    Prefix(String),
    Regex(Regex),
}

#[derive(Clone, Debug)]
enum RuleTarget {
    Exclude,
    /// The target URL as written (may hold `$n` for regex rules); `member` is the
    /// standalone member covering it, None for `balancer://` targets.
    Url {
        url: String,
        member: Option<usize>,
    },
}

#[derive(Clone, Debug)]
struct Rule {
    matcher: Matcher,
    target: RuleTarget,
    nocanon: bool,
}

/// A ProxyPassReverse rule with `balancer://` expanded into one rule per member.
#[derive(Clone, Debug)]
pub struct ReverseRule {
    pub path: String,
    pub url: String,
}

/// The main server or one virtual host, with the main server's settings merged in.
#[derive(Clone, Debug)]
pub struct Server {
    pub server_name: String,
    /// ServerName with the port it names (`host[:port]`): the name and port
    /// of self-referential URLs under UseCanonicalName On.
    pub canonical_name: String,
    rules: Vec<Rule>,
    pub reverse: Vec<ReverseRule>,
    pub cookie_path: Vec<CookieRule>,
    pub cookie_domain: Vec<CookieRule>,
    pub preserve_host: bool,
    pub add_headers: bool,
    pub via: ProxyVia,
    /// Indexes into `Routes::logs`.
    pub logs: Vec<usize>,
    /// `<Location>` handlers that apply, in file order (the main server's, then
    /// the vhost's own): the last one matching a path serves it.
    pub handlers: Vec<LocationHandler>,
    addrs: Vec<VhostAddr>,
    names: Vec<String>,
    /// Mass reverse proxy: the index in `Routes::express_maps` of the map this
    /// server looks requests up in, when it is on.
    pub express: Option<usize>,
    /// mod_headers / mod_env / mod_setenvif rules (`crate::rules`: the main server's, then the vhost's).
    pub neighbour_rules: crate::rules::Rules,
    /// mod_rewrite's rules, when this server's RewriteEngine is On and it has
    /// rules (None keeps the request path free of any rewrite work).
    pub rewrite: Option<Arc<crate::rules::rewrite::Rewrite>>,
    /// `<Location path>` access rules (the main server's, then the vhost's own),
    /// for proxied requests.
    pub access: Vec<crate::config::AccessSection>,
    /// `<Proxy pattern>` access rules (the main server's, then the vhost's own).
    pub proxy_access: Vec<crate::config::AccessSection>,
    /// mod_remoteip's `RemoteIPHeader` settings (the request's client address).
    pub remoteip: crate::rules::remoteip::RemoteIp,
    /// `DocumentRoot` (the vhost's, else the main server's, else httpd's default).
    pub document_root: String,
    /// `<FilesMatch>` proxy handlers (the main server's, then the vhost's):
    /// the pattern and the member each hands files to.
    pub files: Vec<(crate::config::FilePattern, usize)>,
    /// ServerSignature, UseCanonicalName, TraceEnable, ServerAdmin (a vhost's
    /// own over the main server's) and the server-wide ServerTokens banner.
    pub presentation: Arc<crate::config::Presentation>,
}

/// The access rules that apply to a proxied request (see [`Routes::access_for`]).
#[derive(Clone, Copy, Debug)]
pub struct MergedAccess<'a> {
    pub require: Option<&'a crate::access::Require>,
    pub compat: Option<&'a crate::access::compat::Compat>,
    pub satisfy_any: bool,
    /// The last matching section (for messages).
    pub last: &'a crate::config::AccessSection,
}

/// Whether `<Location location>` covers `path` (for `<Location>` handlers).
fn location_matches(location: &str, path: &[u8]) -> bool {
    crate::rules::Section::Location(location.to_string())
        .covers(&crate::rules::Place { path, url: None })
}

/// Where a request goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// No rule matched, or a `!` rule did: served locally (404 for now).
    Local,
    /// To a standalone member, with this origin-form target (path and query).
    Proxy { member: usize, target: String },
    /// Through a balancer; `target` is appended to the chosen member's path.
    Balance { balancer: usize, target: String },
}

/// A request target that cannot be routed; `status` is the client's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteError {
    pub status: u16,
}

/// The routing table of one generation. A worker may extend its copy with
/// members added at run time (balancer-manager, slotgate-top): see
/// [`Routes::adopt_new_members`].
#[derive(Clone, Debug)]
pub struct Routes {
    /// Every member; `Member::slot` is its member slot in the scoreboard, which
    /// after a restart need not equal its index here.
    pub members: Vec<Member>,
    pub balancers: Vec<Balancer>,
    /// For each balancer, the index in `members` of each of its members (in the
    /// order of `Balancer::members`).
    pub balancer_members: Vec<Vec<usize>>,
    /// `servers[0]` is the main server, then the virtual hosts in file order.
    pub servers: Vec<Server>,
    /// Opened by the supervisor with [`Routes::open_logs`] (not by `-t`).
    pub logs: Arc<Vec<AccessLog>>,
    log_specs: Vec<(CustomLog, Format)>,
    /// The mass reverse proxy maps (one per distinct ProxyExpressDBMFile), as read
    /// at start; each worker keeps its own copy up to date (`worker::express`).
    pub express_maps: Vec<MapFile>,
    /// The member (`express://*`) whose scoreboard slot counts every express
    /// request: the members a worker adds for express backends share its slot.
    pub express_member: Option<usize>,
    /// Per `Listen` entry (same order), the TLS server configuration of a listener
    /// that terminates TLS (certificates loaded here, so every generation reads them).
    pub tls: Vec<Option<Arc<rustls::ServerConfig>>>,
}

impl std::fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessLog")
    }
}

struct Builder<'a> {
    cfg: &'a Config,
    members: Vec<Member>,
    balancers: Vec<Balancer>,
    balancer_members: Vec<Vec<usize>>,
    log_specs: Vec<(CustomLog, Format)>,
}

impl Routes {
    /// Builds the table from the configuration and resolves member host names.
    pub fn new(cfg: &Config) -> Result<Routes, String> {
        let mut b = Builder {
            cfg,
            members: Vec::new(),
            balancers: Vec::new(),
            balancer_members: Vec::new(),
            log_specs: Vec::new(),
        };
        if let Some((path, at)) = cfg
            .tls
            .servers
            .first()
            .and_then(|s| s.proxy_ca_file.as_ref())
        {
            // Checked once here, so an unreadable file is named at its own line.
            crate::tls::read_certs(path)
                .map_err(|m| format!("{at}: SSLProxyCACertificateFile {}: {m}", path.display()))?;
        }
        for bc in &cfg.balancers {
            b.add_balancer(bc)?;
        }
        let main_logs = b.add_logs(&cfg.custom_logs)?;
        let main_rules = b.rules(&cfg.proxy_pass)?;
        let main_files = b.file_handlers(&cfg.cgi.file_handlers)?;
        let mut servers = vec![Server {
            server_name: cfg.server_name.clone(),
            canonical_name: cfg.server_name.clone(),
            rules: main_rules.clone(),
            reverse: b.reverse(&cfg.proxy_pass_reverse),
            cookie_path: cfg.cookie_path.clone(),
            cookie_domain: cfg.cookie_domain.clone(),
            preserve_host: cfg.proxy_preserve_host,
            add_headers: cfg.proxy_add_headers,
            via: cfg.proxy_via,
            logs: main_logs.clone(),
            handlers: cfg.handlers.clone(),
            addrs: Vec::new(),
            names: Vec::new(),
            express: None,
            rewrite: cfg.rewrite.clone().map(Arc::new),
            access: cfg.access.clone(),
            proxy_access: cfg.proxy_access.clone(),
            remoteip: cfg.remoteip.clone(),
            neighbour_rules: cfg.rules.clone(),
            document_root: document_root(None, cfg),
            files: main_files.clone(),
            presentation: Arc::new(cfg.presentation.clone()),
        }];
        for v in &cfg.vhosts {
            // slotgate tests a vhost's own rules before the main server's, and
            // ProxyPassInherit Off drops the main server's (reference §9 #1: httpd
            // does neither).
            let mut rules = b.rules(&v.proxy_pass)?;
            if v.proxy_pass_inherit {
                rules.extend(main_rules.iter().cloned());
            }
            let mut reverse = b.reverse(&cfg.proxy_pass_reverse);
            reverse.extend(b.reverse(&v.proxy_pass_reverse));
            let mut files = main_files.clone();
            files.extend(b.file_handlers(&v.cgi.file_handlers)?);
            let logs = if v.custom_logs.is_empty() {
                main_logs.clone()
            } else {
                b.add_logs(&v.custom_logs)?
            };
            // Lowercase: the Host header is compared without case.
            let names: Vec<String> = v
                .server_name
                .iter()
                .chain(&v.server_aliases)
                .map(|n| n.to_ascii_lowercase())
                .collect();
            let canonical_name = match (&v.server_name, v.server_port) {
                (Some(name), Some(port)) => format!("{name}:{port}"),
                (Some(name), None) => name.clone(),
                (None, _) => cfg.server_name.clone(),
            };
            servers.push(Server {
                canonical_name,
                server_name: v
                    .server_name
                    .clone()
                    .unwrap_or_else(|| cfg.server_name.clone()),
                rules,
                reverse,
                cookie_path: [cfg.cookie_path.clone(), v.cookie_path.clone()].concat(),
                cookie_domain: [cfg.cookie_domain.clone(), v.cookie_domain.clone()].concat(),
                preserve_host: v.proxy_preserve_host.unwrap_or(cfg.proxy_preserve_host),
                add_headers: v.proxy_add_headers.unwrap_or(cfg.proxy_add_headers),
                via: v.proxy_via.unwrap_or(cfg.proxy_via),
                logs,
                handlers: [cfg.handlers.clone(), v.handlers.clone()].concat(),
                addrs: v.addrs.clone(),
                names,
                express: None,
                rewrite: v.rewrite.clone().map(Arc::new),
                access: [cfg.access.clone(), v.access.clone()].concat(),
                proxy_access: [cfg.proxy_access.clone(), v.proxy_access.clone()].concat(),
                remoteip: v.remoteip.clone(),
                neighbour_rules: crate::rules::Rules::merged(&cfg.rules, &v.rules),
                document_root: document_root(Some(v), cfg),
                files,
                presentation: Arc::new(v.presentation.over(&cfg.presentation)),
            });
        }
        // Mass reverse proxy: one map per distinct file, read here so that `-t` and
        // a restart report its errors.
        let mut express_maps: Vec<MapFile> = Vec::new();
        let settings = std::iter::once(&cfg.express).chain(cfg.vhosts.iter().map(|v| &v.express));
        for (server, e) in servers.iter_mut().zip(settings) {
            let Some(path) = e.active_map() else {
                continue;
            };
            let i = match express_maps.iter().position(|m| m.path == path) {
                Some(i) => i,
                None => {
                    let map = MapFile::load(path).map_err(|err| match &e.origin {
                        Some(o) => format!("{o}: ProxyExpressDBMFile: {err}"),
                        None => err,
                    })?;
                    express_maps.push(map);
                    express_maps.len() - 1
                }
            };
            server.express = Some(i);
        }
        // A `[P]` rule to an URL no member covers gets a member added at run time
        // the way mass reverse proxying adds one: both count on this shared slot.
        let rewrite_proxies = servers
            .iter()
            .filter_map(|s| s.rewrite.as_ref())
            .any(|r| r.proxies());
        let express_member = match express_maps.is_empty() && !rewrite_proxies {
            true => None,
            false => Some(b.express_member()?),
        };
        Ok(Routes {
            members: b.members,
            balancers: b.balancers,
            balancer_members: b.balancer_members,
            servers,
            logs: Arc::new(Vec::new()),
            log_specs: b.log_specs,
            express_maps,
            express_member,
            tls: crate::tls::server_configs(cfg).map_err(|e| e.to_string())?,
        })
    }

    /// A member for the express backend `url`, added by a worker the first time
    /// a request goes there: default member settings (connections are pooled),
    /// errors ignored (as httpd's generic reverse worker: one dead backend must
    /// not block the others), counted on the `express://*` member's scoreboard
    /// slot. Host names are resolved here (blocking). Returns its index.
    pub fn add_express_member(&mut self, cfg: &Config, url: &str) -> Result<usize, String> {
        let shared = self
            .express_member
            .map(|m| self.members[m].slot)
            .ok_or_else(|| "mass reverse proxying is off".to_string())?;
        let mut builder = Builder {
            cfg,
            members: std::mem::take(&mut self.members),
            balancers: Vec::new(),
            balancer_members: Vec::new(),
            log_specs: Vec::new(),
        };
        let made = builder.new_member(url, &express_params(), None);
        self.members = builder.members;
        let id = made?;
        self.members[id].slot = shared;
        Ok(id)
    }

    /// Whether member `m` is one a worker added for an express backend.
    pub fn is_express(&self, m: usize) -> bool {
        self.express_member
            .is_some_and(|e| e != m && self.members[e].slot == self.members[m].slot)
    }

    /// Gives every member its scoreboard slot: `slot_of(balancer name or None, URL)`
    /// answers an existing slot to keep (a restart), or None for a new one, which
    /// takes the next free index from `free` (an iterator of unused slots).
    pub fn assign_slots(
        &mut self,
        mut slot_of: impl FnMut(Option<&str>, &str) -> Option<usize>,
        mut free: impl Iterator<Item = usize>,
    ) -> Result<(), String> {
        for i in 0..self.members.len() {
            let balancer = self.members[i]
                .balancer
                .map(|b| self.balancers[b].spec.name.clone());
            let slot = match slot_of(balancer.as_deref(), &self.members[i].url.name) {
                Some(s) => s,
                None => free
                    .next()
                    .ok_or_else(|| "no free member slot in the scoreboard".to_string())?,
            };
            self.members[i].slot = slot;
        }
        for (b, ids) in self.balancers.iter_mut().zip(&self.balancer_members) {
            for (spec, &id) in b.members.iter_mut().zip(ids) {
                spec.slot = self.members[id].slot;
            }
        }
        Ok(())
    }

    /// Opens every CustomLog file (the supervisor, before forking).
    pub fn open_logs(&mut self) -> Result<(), String> {
        let mut logs = Vec::new();
        for (spec, format) in &self.log_specs {
            let log = AccessLog::open(
                &spec.path,
                spec.pipe.as_deref(),
                format.clone(),
                spec.env.clone(),
            )
            .map_err(|e| format!("{}: {e}", spec.origin))?;
            logs.push(log);
        }
        self.logs = Arc::new(logs);
        Ok(())
    }

    /// Members that the balancer-manager or slotgate-top added to balancer `b`
    /// at run time (in-use member slots of its balancer slot that this table does
    /// not know yet) are added to the table, with the default member settings of
    /// `cfg` (a `BalancerMember` line without parameters). Returns how many; each
    /// new member's pool limits are appended to `pool`. Host names are resolved
    /// here (blocking; an address keeps the worker from waiting).
    pub fn adopt_new_members(
        &mut self,
        cfg: &Config,
        sb: &scoreboard::Scoreboard,
        b: usize,
        mut pool: impl FnMut(PoolLimits),
    ) -> usize {
        let bslot = self.balancers[b].spec.slot;
        let known: Vec<usize> = self.balancers[b].members.iter().map(|m| m.slot).collect();
        let mut added = 0;
        for slot in 0..sb.members().len() {
            let m = sb.member(slot);
            if !m.in_use() || m.balancer() as usize != bslot || known.contains(&slot) {
                continue;
            }
            let url = m.url.get();
            let mut builder = Builder {
                cfg,
                members: std::mem::take(&mut self.members),
                balancers: Vec::new(),
                balancer_members: Vec::new(),
                log_specs: Vec::new(),
            };
            let params = WorkerParams::default();
            let made = builder.new_member(&url, &params, Some(b));
            self.members = builder.members;
            match made {
                Ok(id) => {
                    self.members[id].slot = slot;
                    pool(self.members[id].pool);
                    self.balancers[b].members.push(MemberSpec {
                        slot,
                        retry_ms: params.retry.as_millis() as u64,
                    });
                    self.balancer_members[b].push(id);
                    log::info!(
                        "{}: using member {url}, added at run time",
                        self.balancers[b].spec.name
                    );
                    added += 1;
                }
                Err(e) => log::error!(
                    "{}: member {url} added at run time cannot be used: {e}",
                    self.balancers[b].spec.name
                ),
            }
        }
        added
    }

    /// Member slots the scoreboard needs: every member plus each balancer's growth.
    pub fn member_slots(&self, cfg: &Config) -> usize {
        self.members.len()
            + cfg
                .balancers
                .iter()
                .map(|b| b.params.growth as usize)
                .sum::<usize>()
    }

    /// Chooses the server for a request, as httpd does: the virtual hosts whose
    /// address matches the connection (exact IP before wildcard), then the first of
    /// them whose ServerName or ServerAlias matches the Host header, else the first
    /// of them; the main server when no virtual host matches the address.
    pub fn server_for(&self, local: SocketAddr, host: Option<&[u8]>) -> usize {
        if self.servers.len() == 1 {
            return 0;
        }
        let addr_match = |a: &VhostAddr, exact: bool| {
            a.port.is_none_or(|p| p == local.port())
                && match a.ip {
                    Some(ip) => exact && same_ip(ip, local.ip()),
                    None => !exact,
                }
        };
        let host = host.map(host_name);
        for exact in [true, false] {
            let mut first = None;
            for i in 1..self.servers.len() {
                if !self.servers[i].addrs.iter().any(|a| addr_match(a, exact)) {
                    continue;
                }
                first.get_or_insert(i);
                if let Some(h) = host {
                    if self.servers[i].names.iter().any(|n| wildcard_match(n, h)) {
                        return i;
                    }
                }
            }
            if let Some(i) = first {
                return i;
            }
        }
        0
    }

    /// The `<Location>` handler for a request path on `server` (an index into its
    /// `handlers`): the last section (in file order) whose path is a prefix of
    /// `path` at a segment boundary. `path` is the normalised path
    /// ([`normalise_path`]), so `/x/../server-status` finds `<Location /server-status>`.
    pub fn handler_for(&self, server: usize, path: &[u8]) -> Option<usize> {
        self.servers[server]
            .handlers
            .iter()
            .rposition(|h| location_matches(&h.path, path))
    }

    /// The access rules of the `<Location[Match]>` sections that match a
    /// proxied request's normalised `path`, merged as httpd merges them (file
    /// order; the last section with `Require` lines brings those, the last with
    /// `Order`/`Allow`/`Deny` those, the last `Satisfy` wins). None when no
    /// section with rules matches.
    ///
    /// The `<Proxy[Match]>` sections that match the URL the request goes to
    /// (`balancer://name/path`, `http://host[:port]/path`) come first, as httpd
    /// merges them before the Locations (`crate::rules::section`).
    pub fn access_for(
        &self,
        server: usize,
        path: &[u8],
        route: &Route,
    ) -> Option<MergedAccess<'_>> {
        let s = &self.servers[server];
        let at = crate::rules::Place {
            path,
            url: self.url_of_route(route),
        };
        let proxies = s.proxy_access.iter().filter(|a| a.section.covers(&at));
        let locations = s.access.iter().filter(|a| a.section.covers(&at));
        let mut merged: Option<MergedAccess<'_>> = None;
        for a in proxies.chain(locations) {
            let m = merged.get_or_insert(MergedAccess {
                require: None,
                compat: None,
                satisfy_any: false,
                last: a,
            });
            if a.require.is_some() {
                m.require = a.require.as_ref();
            }
            if a.compat.is_some() {
                m.compat = a.compat.as_ref();
            }
            if let Some(any) = a.satisfy_any {
                m.satisfy_any = any;
            }
            m.last = a;
        }
        merged
    }

    /// The URL a proxied request goes to, as httpd's `<Proxy>` sections see it,
    /// in two pieces (`crate::rules::Place`): `balancer://name` or
    /// `http://host[:port]` (the port written unless it is the scheme's
    /// default), then the path and query. None for a local route.
    pub fn url_of_route<'a>(&'a self, route: &'a Route) -> Option<(&'a str, &'a str)> {
        match route {
            Route::Local => None,
            Route::Balance { balancer, target } => Some((
                self.balancers[*balancer].spec.name.as_str(),
                target.as_str(),
            )),
            Route::Proxy { member, target } => {
                Some((self.members[*member].authority.as_str(), target.as_str()))
            }
        }
    }

    /// A request no ProxyPass rule took, for a file under `DocumentRoot` that
    /// a `<FilesMatch>` proxy handler hands to its member (see
    /// [`crate::proxy::files`]): the member and the file. `path` is the
    /// normalised path.
    pub fn file_route(
        &self,
        server: usize,
        path: &[u8],
    ) -> Option<(usize, crate::proxy::files::MappedFile)> {
        let s = &self.servers[server];
        if s.files.is_empty() {
            return None;
        }
        let path = std::str::from_utf8(path).ok()?;
        let mapped = crate::proxy::files::map_to_file(&s.document_root, path)?;
        let name = mapped.name();
        let (_, member) = s.files.iter().rev().find(|(p, _)| p.matches(name))?;
        Some((*member, mapped))
    }

    /// Routes a request-target (origin-form or absolute-form) on `server`: its
    /// path is normalised ([`normalise_path`]), then [`Routes::route_path`].
    pub fn route(&self, server: usize, request_target: &str) -> Result<Route, RouteError> {
        let (raw_path, query) = split_target(request_target);
        if !raw_path.starts_with('/') {
            return Ok(Route::Local);
        }
        let mut buf = crate::recycle::bytes();
        let route = match normalise_path(raw_path, &mut buf) {
            Ok(path) => self.route_path(server, path, raw_path, query),
            Err(e) => Err(RouteError { status: e.status() }),
        };
        crate::recycle::give_bytes(buf);
        route
    }

    /// Routes a request on `server` by its normalised path `path` (every rule
    /// matches against it); `raw_path` (as received) is only what a `nocanon`
    /// rule forwards, and `query` goes along unchanged.
    pub fn route_path(
        &self,
        server: usize,
        path: &[u8],
        raw_path: &str,
        query: Option<&str>,
    ) -> Result<Route, RouteError> {
        for rule in &self.servers[server].rules {
            let Some(mut full) = rule.expand(path, raw_path) else {
                continue;
            };
            let RuleTarget::Url { member, .. } = &rule.target else {
                crate::recycle::give_string(full);
                return Ok(Route::Local);
            };
            if let Some(q) = query {
                full.push('?');
                full.push_str(q);
            }
            let route = match member {
                Some(m) => Ok(Route::Proxy {
                    member: *m,
                    target: origin_form(&full),
                }),
                None => self.balanced(&full),
            };
            crate::recycle::give_string(full);
            return route;
        }
        Ok(Route::Local)
    }

    /// Where a `RewriteRule … [P]` URL goes, as httpd finds its worker: a
    /// `balancer://` URL through that balancer; otherwise the member (standalone
    /// or in a balancer) whose URL is the longest prefix of `url`, sent the
    /// URL's whole path and query. None: no member is defined for it.
    pub fn proxy_url(&self, url: &str) -> Option<Result<Route, RouteError>> {
        if is_balancer(url) {
            return Some(self.balanced(url));
        }
        let covers = |m: &Member| {
            let name = m.url.name.trim_end_matches('/');
            url.len() >= name.len()
                && url.as_bytes()[..name.len()].eq_ignore_ascii_case(name.as_bytes())
                && matches!(url.as_bytes().get(name.len()), None | Some(b'/' | b'?'))
        };
        let (index, _) = self
            .members
            .iter()
            .enumerate()
            .filter(|(i, m)| m.url.socket.is_none() && Some(*i) != self.express_member)
            .filter(|(_, m)| covers(m))
            .max_by_key(|(_, m)| m.url.name.len())?;
        Some(Ok(Route::Proxy {
            member: index,
            target: origin_form(url),
        }))
    }

    /// `balancer://name/rest`: the balancer and what goes after the member's URL.
    fn balanced(&self, full: &str) -> Result<Route, RouteError> {
        let after = &full["balancer://".len()..];
        let end = after.find(['/', '?']).unwrap_or(after.len());
        // Balancer names are stored lowercased; the URL's name matches in any case.
        let asked = &after.as_bytes()[..end];
        let same = |b: &Balancer| {
            let stored = &b.spec.name.as_bytes()["balancer://".len()..];
            stored.len() == asked.len()
                && stored
                    .iter()
                    .zip(asked)
                    .all(|(s, a)| *s == a.to_ascii_lowercase())
        };
        // `ProxyPass / balancer://c` turns /foo into balancer://cfoo, which does not
        // exist: httpd's 500 (reference §2.2, §9 #2; `-t` warns about the rule).
        let balancer = self
            .balancers
            .iter()
            .position(same)
            .ok_or(RouteError { status: 500 })?;
        Ok(Route::Balance {
            balancer,
            target: crate::recycle::string_from(&after[end..]),
        })
    }
}

impl Rule {
    /// The target URL for this decoded path (without the query), if the rule matches.
    fn expand(&self, decoded: &[u8], raw_path: &str) -> Option<String> {
        let url = match &self.target {
            RuleTarget::Exclude => "",
            RuleTarget::Url { url, .. } => url.as_str(),
        };
        match &self.matcher {
            Matcher::Prefix(p) => {
                let n = prefix_match(p.as_bytes(), decoded)?;
                let mut full = crate::recycle::string_from(url);
                // nocanon sends the rest of the raw path when the raw path matches
                // the rule too (httpd) and holds no dot-segment (slotgate: a member
                // never receives one through a mapping; httpd would send
                // `/raw/../raw/y` as `/app/../raw/y`). Otherwise the normalised
                // rest goes, re-encoded.
                match self
                    .nocanon
                    .then(|| prefix_match(p.as_bytes(), raw_path.as_bytes()))
                    .flatten()
                    .filter(|&raw_n| !has_dot_segment(&raw_path.as_bytes()[raw_n..]))
                {
                    Some(raw_n) => full.push_str(&raw_path[raw_n..]),
                    None => encode_path(&decoded[n..], &mut full),
                }
                Some(full)
            }
            Matcher::Regex(re) => {
                let text = String::from_utf8_lossy(decoded);
                let caps = re.captures(&text)?;
                if !url.contains('$') {
                    // httpd appends the whole path when the URL has no substitution.
                    let mut full = url.to_string();
                    encode_path(decoded, &mut full);
                    return Some(full);
                }
                let mut full = String::new();
                let mut chars = url.chars().peekable();
                while let Some(c) = chars.next() {
                    match (c, chars.peek().and_then(|d| d.to_digit(10))) {
                        ('$', Some(d)) => {
                            chars.next();
                            if let Some(m) = caps.get(d as usize) {
                                encode_path(m.as_str().as_bytes(), &mut full);
                            }
                        }
                        _ => full.push(c),
                    }
                }
                Some(full)
            }
        }
    }
}

impl Builder<'_> {
    fn io_timeout(&self) -> Duration {
        self.cfg.proxy_timeout.unwrap_or(self.cfg.timeout)
    }

    fn new_member(
        &mut self,
        url: &str,
        params: &WorkerParams,
        balancer: Option<usize>,
    ) -> Result<usize, String> {
        let parsed = parse_member_url(url)?;
        let tls = match crate::url::Scheme::named(&parsed.scheme).is_some_and(|s| s.tls) {
            true => Some(self.member_tls(&parsed)?),
            false => None,
        };
        if tls.is_some()
            && !matches!(
                params.health.method,
                crate::config::HcMethod::None | crate::config::HcMethod::Tcp
            )
        {
            // The health checker speaks plain HTTP.
            return Err(format!(
                "{}: hcmethod={} on an https member is not supported yet (hcmethod=TCP is)",
                parsed.name,
                params.health.method.name()
            ));
        }
        let addrs = match parsed.socket {
            Some(_) => Vec::new(),
            None => resolve(&parsed).map_err(|e| format!("resolving {}: {e}", parsed.name))?,
        };
        let proxy_protocol = params
            .other_value("proxyprotocol")
            .and_then(crate::proxy_protocol::Version::from_name);
        let timeout = params.timeout.unwrap_or(self.io_timeout());
        let codec =
            crate::codec::Settings::for_member(&parsed, params, self.cfg.proxy_io_buffer_size)?;
        // A check the member's protocol cannot answer (however the method
        // reached it: ProxySet, a template): the configuration's own rule.
        let scheme = crate::url::Scheme::named(&parsed.scheme);
        if let Some(why) = scheme.and_then(|s| params.health.method.misfit(&s)) {
            return Err(format!("{}: {why}", parsed.name));
        }
        let pool = pool_limits(params, proxy_protocol.is_some(), codec.protocol());
        let slot = self.members.len();
        self.members.push(Member {
            slot,
            authority: parsed.authority_prefix(),
            codec,
            url: parsed,
            addrs,
            proxy_protocol,
            timeout,
            connect_timeout: params.connection_timeout.unwrap_or(timeout),
            retry: params.retry,
            status: params.status | flags::INIT,
            keepalive: params.keepalive,
            lbfactor: params.loadfactor,
            lbset: params.lbset,
            route: params.route.clone(),
            redirect: params.redirect.clone(),
            balancer,
            pool,
            health: params.health.clone(),
            hc_timeout: params.connection_timeout.or(params.timeout),
            tls,
        });
        Ok(slot)
    }

    /// The TLS settings of an `https://` member: `SSLProxyEngine On` is required (as
    /// httpd's mod_ssl), then see [`crate::tls::member_config`].
    fn member_tls(
        &self,
        url: &MemberUrl,
    ) -> Result<
        (
            Arc<rustls::ClientConfig>,
            rustls::pki_types::ServerName<'static>,
        ),
        String,
    > {
        if !self.cfg.tls.servers.first().is_some_and(|s| s.proxy_engine) {
            return Err(format!(
                "{}: a {} member needs SSLProxyEngine On",
                url.name, url.scheme
            ));
        }
        if url.socket.is_some() {
            return Err(format!(
                "{}: TLS over a Unix socket is not supported",
                url.name
            ));
        }
        let name = rustls::pki_types::ServerName::try_from(url.host.clone())
            .map_err(|e| format!("{}: {e}", url.name))?;
        Ok((crate::tls::member_config(self.cfg)?, name))
    }

    /// The `express://*` member: never connected to, it only holds the member
    /// slot that express traffic is counted on (status `I`, as httpd's generic
    /// reverse worker).
    fn express_member(&mut self) -> Result<usize, String> {
        let id = self.new_member("http://127.0.0.1/", &express_params(), None)?;
        let m = &mut self.members[id];
        m.url = parse_member_url(EXPRESS_MEMBER)?;
        m.addrs.clear();
        Ok(id)
    }

    fn add_balancer(&mut self, bc: &BalancerConfig) -> Result<(), String> {
        let index = self.balancers.len();
        let mut specs = Vec::new();
        let mut ids = Vec::new();
        for m in &bc.members {
            let id = self
                .new_member(&m.url, &m.params, Some(index))
                .map_err(|e| format!("{}: BalancerMember: {e}", m.origin))?;
            ids.push(id);
            specs.push(MemberSpec {
                slot: id,
                retry_ms: m.params.retry.as_millis() as u64,
            });
        }
        self.balancer_members.push(ids);
        let p = &bc.params;
        let method = Method::from_name(&p.lbmethod)
            .ok_or_else(|| format!("{}: unknown lbmethod '{}'", bc.origin, p.lbmethod))?;
        let n = specs.len();
        self.balancers.push(Balancer {
            spec: BalancerSpec {
                name: bc.name.clone(),
                slot: index,
                method,
                sticky_cookie: p.sticky_cookie.clone(),
                sticky_param: p.sticky_param.clone(),
                sticky_separator: p.sticky_separator,
                scolon_path_delim: p.scolon_path_delim,
                nofailover: p.nofailover,
                max_attempts: p.max_attempts.map_or(n.saturating_sub(1), |m| m as usize),
                force_recovery: p.force_recovery,
                fail_on_status: p.fail_on_status.clone(),
                fail_on_timeout: p.fail_on_timeout,
                hash_key: p.hash_key.clone(),
            },
            members: specs,
            hash_table: Default::default(),
        });
        Ok(())
    }

    /// Compiles each log's format (the one parser `-t` and a start share).
    fn add_logs(&mut self, logs: &[CustomLog]) -> Result<Vec<usize>, String> {
        logs.iter()
            .map(|l| {
                let format =
                    Format::compile(&l.format).map_err(|e| format!("{}: {e}", l.origin))?;
                self.log_specs.push((l.clone(), format));
                Ok(self.log_specs.len() - 1)
            })
            .collect()
    }

    fn rules(&mut self, rules: &[ProxyPassRule]) -> Result<Vec<Rule>, String> {
        let mut out = Vec::new();
        for r in rules {
            let matcher = if r.regex {
                Matcher::Regex(Regex::new(&r.path).map_err(|e| format!("{}: {e}", r.origin))?)
            } else {
                Matcher::Prefix(r.path.clone())
            };
            let target = match &r.target {
                PassTarget::Exclude => RuleTarget::Exclude,
                PassTarget::Url(u) if is_balancer(u) => RuleTarget::Url {
                    url: u.clone(),
                    member: None,
                },
                PassTarget::Url(u) => {
                    let member = self
                        .standalone(u, &r.params)
                        .map_err(|e| format!("{}: {e}", r.origin))?;
                    RuleTarget::Url {
                        // The request's target comes from the URL after `unix:…|`.
                        url: crate::url::after_socket(u).to_string(),
                        member: Some(member),
                    }
                }
            };
            out.push(Rule {
                matcher,
                target,
                nocanon: r.nocanon,
            });
        }
        Ok(out)
    }

    /// The members `<FilesMatch>` proxy handlers name (standalone members with
    /// default parameters, shared as a ProxyPass URL's are).
    fn file_handlers(
        &mut self,
        handlers: &[crate::config::FileHandler],
    ) -> Result<Vec<(crate::config::FilePattern, usize)>, String> {
        let params = WorkerParams::default();
        handlers
            .iter()
            .map(|h| {
                let member = self
                    .standalone(&h.url, &params)
                    .map_err(|e| format!("{}: SetHandler: {e}", h.origin))?;
                Ok((h.pattern.clone(), member))
            })
            .collect()
    }

    /// The standalone member for a ProxyPass URL. httpd shares a member whose name
    /// is a prefix of this URL (reference §2.6); `$n` placeholders are cut off first.
    fn standalone(&mut self, url: &str, params: &WorkerParams) -> Result<usize, String> {
        let base = url.split('$').next().unwrap_or(url);
        let parsed = parse_member_url(base)?;
        let shared = self
            .members
            .iter()
            .filter(|m| {
                m.balancer.is_none()
                    && m.url.socket == parsed.socket
                    && parsed.name.starts_with(&m.url.name)
                    && m.url.authority_prefix() == parsed.authority_prefix()
            })
            .max_by_key(|m| m.url.name.len())
            .map(|m| m.slot);
        match shared {
            Some(i) => Ok(i),
            None => self.new_member(base, params, None),
        }
    }

    /// Expands `balancer://` rules into one rule per member URL (with the slash
    /// fixed: reference §9 #3).
    fn reverse(&self, rules: &[ProxyPassReverseRule]) -> Vec<ReverseRule> {
        let mut out = Vec::new();
        for r in rules {
            if !is_balancer(&r.url) {
                out.push(ReverseRule {
                    path: r.path.clone(),
                    url: r.url.clone(),
                });
                continue;
            }
            let after = &r.url["balancer://".len()..];
            let end = after.find('/').unwrap_or(after.len());
            let name = format!("balancer://{}", after[..end].to_ascii_lowercase());
            let rest = &after[end..];
            // httpd drops the slash between the rule's path and the rest of the value
            // (`/rv` + `http://m/target` → `/rvtarget`, reference §9 #3): keep it.
            let path = if rest.ends_with('/') && !r.path.ends_with('/') {
                format!("{}/", r.path)
            } else {
                r.path.clone()
            };
            if let Some(b) = self.balancers.iter().find(|b| b.spec.name == name) {
                for m in &b.members {
                    let base = self.members[m.slot].url.http_name().trim_end_matches('/');
                    out.push(ReverseRule {
                        path: path.clone(),
                        url: format!("{base}{rest}"),
                    });
                }
            }
        }
        out
    }
}

/// The pool settings of a member from its parameters. A member sent PROXY
/// protocol headers is never pooled: a connection carries the address of the
/// client it was opened for, so it must not serve another client.
fn pool_limits(p: &WorkerParams, proxy_protocol: bool, protocol: Protocol) -> PoolLimits {
    let max = p.max.unwrap_or(0);
    // mod_proxy_fcgi keeps FastCGI connections only with `enablereuse=on`;
    // SCGI and uwsgi carry one request per connection.
    let allowed = match protocol {
        Protocol::Fcgi => p.reuse_given,
        Protocol::Scgi | Protocol::Uwsgi => false,
        _ => true,
    };
    let reuse = allowed && !p.disable_reuse && !proxy_protocol;
    PoolLimits {
        reuse,
        min: if reuse { p.min } else { 0 },
        max,
        smax: p.smax.unwrap_or(max),
        ttl: p.ttl,
        acquire: p.acquire,
    }
}

/// A server's `DocumentRoot`: the vhost's own, else the main server's, else
/// httpd's default (Debian's build).
fn document_root(vhost: Option<&crate::config::VirtualHost>, cfg: &Config) -> String {
    vhost
        .and_then(|v| v.cgi.document_root.clone())
        .or_else(|| cfg.cgi.document_root.clone())
        .unwrap_or_else(|| crate::codec::cgi::DEFAULT_DOCUMENT_ROOT.to_string())
}

/// The URL of the member whose scoreboard slot counts express traffic.
pub const EXPRESS_MEMBER: &str = "express://*";

/// Member settings for express backends: the defaults, ignoring errors.
fn express_params() -> WorkerParams {
    WorkerParams {
        status: flags::IGNORE_ERRORS,
        ..WorkerParams::default()
    }
}

pub(crate) fn is_balancer(url: &str) -> bool {
    url.len() >= 11 && url[..11].eq_ignore_ascii_case("balancer://")
}

/// The path-and-query of an absolute URL, `/` when it has none.
fn origin_form(full: &str) -> String {
    let rest = full.split_once("://").map_or(full, |(_, r)| r);
    let mut out = crate::recycle::string();
    match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => out.push_str(&rest[i..]),
        Some(i) => {
            out.push('/');
            out.push_str(&rest[i..]);
        }
        None => out.push('/'),
    }
    out
}

/// The origin-form target for a balanced request on `member`: its path, then the rest.
pub fn member_target(member: &Member, rest: &str) -> String {
    let mut out = crate::recycle::string();
    let path = &member.url.path;
    if !(path.starts_with('/') || path.is_empty() && rest.starts_with('/')) {
        out.push('/');
    }
    out.push_str(&member.url.path);
    out.push_str(rest);
    out
}

fn resolve(u: &MemberUrl) -> std::io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = (u.host.as_str(), u.port).to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(std::io::Error::other("no address"));
    }
    Ok(addrs)
}

fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

/// The Host header's name: port and IPv6 brackets removed (compared without case).
fn host_name(h: &[u8]) -> &[u8] {
    let s = h.trim_ascii();
    if let Some(rest) = s.strip_prefix(b"[") {
        return rest.split(|&b| b == b']').next().unwrap_or(b"");
    }
    let name = s.split(|&b| b == b':').next().unwrap_or(b"");
    let mut end = name.len();
    while end > 0 && name[end - 1] == b'.' {
        end -= 1;
    }
    &name[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(conf: &str) -> Routes {
        let cfg = crate::config::parse_str(
            &format!("Listen 127.0.0.1:0\n{conf}"),
            std::path::Path::new("/tmp/t.conf"),
            &[],
        )
        .unwrap();
        Routes::new(&cfg).unwrap()
    }

    fn proxy(m: usize, t: &str) -> Route {
        Route::Proxy {
            member: m,
            target: t.to_string(),
        }
    }

    #[test]
    fn rules_apply_in_order_with_exclusions() {
        let r = routes(
            "ProxyPass /app/static !\n\
             ProxyPass /app http://127.0.0.1:9001/x\n\
             ProxyPass / http://127.0.0.1:9002/\n",
        );
        assert_eq!(r.route(0, "/app/static/a.css").unwrap(), Route::Local);
        assert_eq!(r.route(0, "/app/y?q=1").unwrap(), proxy(0, "/x/y?q=1"));
        assert_eq!(r.route(0, "/app").unwrap(), proxy(0, "/x"));
        assert_eq!(
            r.route(0, "/application").unwrap(),
            proxy(1, "/application")
        );
        assert_eq!(r.route(0, "/a%20b").unwrap(), proxy(1, "/a%20b"));
        assert_eq!(r.route(0, "/a%2Fb").unwrap_err().status, 404);
        assert_eq!(r.route(0, "/a%zz").unwrap_err().status, 400);
        assert_eq!(r.route(0, "*").unwrap(), Route::Local);
    }

    /// httpd-oracle (2.4.71), same rules: `/n/../secret`, `/n/%2e%2e/secret`
    /// and `/n/./../secret` get 404 (the exclusion), `/n/x/../y` goes to
    /// `/app/y`, `//secret` gets 404 (MergeSlashes), `/n/../../x` gets 400.
    #[test]
    fn rules_match_the_normalised_path() {
        let r = routes(
            "ProxyPass /secret !\n\
             ProxyPass /n/ http://127.0.0.1:9001/app/\n\
             ProxyPass /raw/ http://127.0.0.1:9001/app/ nocanon\n\
             ProxyPassMatch ^/m/(.*)$ http://127.0.0.1:9001/mm/$1\n\
             ProxyPass / http://127.0.0.1:9001/\n",
        );
        for bypass in [
            "/n/../secret",
            "/n/%2e%2e/secret",
            "/n/%2E./secret",
            "/n/./../secret",
            "/n/../secret?x",
            "//secret",
            "/raw/../secret",
            "/m/x/../../secret",
            "http://h/n/../secret",
        ] {
            assert_eq!(r.route(0, bypass), Ok(Route::Local), "{bypass}");
        }
        assert_eq!(r.route(0, "/n/x/../y"), Ok(proxy(0, "/app/y")));
        assert_eq!(
            r.route(0, "/n/x/%2e/y?q=/../"),
            Ok(proxy(0, "/app/x/y?q=/../"))
        );
        assert_eq!(r.route(0, "/n//x//y"), Ok(proxy(0, "/app/x/y")));
        assert_eq!(r.route(0, "/n/.."), Ok(proxy(2, "/")));
        assert_eq!(r.route(0, "/m/x/../y"), Ok(proxy(1, "/mm/y")));
        assert_eq!(r.route(0, "/n/../../x").unwrap_err().status, 400);
        assert_eq!(r.route(0, "/n/%2f/../x"), Ok(proxy(0, "/app/x")));
        // nocanon: the raw rest as received, unless it holds a dot-segment
        // (httpd would send /app/../raw/y for the last one).
        assert_eq!(r.route(0, "/raw/a%41b//c"), Ok(proxy(0, "/app/a%41b//c")));
        assert_eq!(r.route(0, "/raw/x/../y%20z"), Ok(proxy(0, "/app/y%20z")));
        assert_eq!(r.route(0, "/raw/../raw/y"), Ok(proxy(0, "/app/y")));
        assert_eq!(r.route(0, "/raw/%2e%2e/raw/y"), Ok(proxy(0, "/app/y")));
    }

    #[test]
    fn handlers_are_found_by_the_normalised_path() {
        let r = routes("<Location /server-status>\nSetHandler server-status\n</Location>\n");
        let h = |p: &str| {
            let mut buf = Vec::new();
            let path = normalise_path(p, &mut buf).unwrap();
            r.handler_for(0, path)
        };
        assert_eq!(h("/server-status"), Some(0));
        assert_eq!(h("/x/../server-status"), Some(0));
        assert_eq!(h("/x/%2e%2e/server-status/"), Some(0));
        assert_eq!(h("//server-status"), Some(0));
        assert_eq!(h("/server-statusx"), None);
    }

    #[test]
    fn trailing_slash_mismatch_is_reproduced() {
        let r = routes("ProxyPass /a http://127.0.0.1:9001/\n");
        assert_eq!(r.route(0, "/a/x").unwrap(), proxy(0, "//x"));
    }

    #[test]
    fn members_sharing_a_prefix_are_one_member() {
        let r = routes(
            "ProxyPass /a http://127.0.0.1:9001/\n\
             ProxyPass /b http://127.0.0.1:9001/b/\n\
             ProxyPass /c http://127.0.0.1:9002/\n",
        );
        assert_eq!(r.members.len(), 2);
        let crate::codec::Settings::Http1(h1) = &r.members[0].codec else {
            panic!("an http:// member has the HTTP/1.1 codec");
        };
        assert_eq!(&*h1.host, "127.0.0.1:9001");
    }

    #[test]
    fn regex_rules_substitute_captures() {
        let r = routes(
            "ProxyPassMatch ^/img/(.*)\\.gif$ http://127.0.0.1:9001/gifs/$1\n\
             ProxyPassMatch \\.png$ http://127.0.0.1:9002\n",
        );
        assert_eq!(
            r.route(0, "/img/a b.gif?x=1").unwrap(),
            proxy(0, "/gifs/a%20b?x=1")
        );
        assert_eq!(r.route(0, "/x/y.png").unwrap(), proxy(1, "/x/y.png"));
        assert_eq!(r.route(0, "/x/y.jpg").unwrap(), Route::Local);
    }

    #[test]
    fn balancer_targets_keep_their_path() {
        let r = routes(
            "<Proxy balancer://c1>\nBalancerMember http://127.0.0.1:9001/app\nBalancerMember http://127.0.0.1:9002\n</Proxy>\n\
             ProxyPass /b balancer://c1/base\n\
             ProxyPass / balancer://c1\n",
        );
        assert_eq!(
            r.route(0, "/b/x?q").unwrap(),
            Route::Balance {
                balancer: 0,
                target: "/base/x?q".into()
            }
        );
        assert_eq!(member_target(&r.members[0], "/base/x"), "/app/base/x");
        assert_eq!(member_target(&r.members[1], ""), "/");
        // httpd's quirk: "/" + "balancer://c1" + "foo" names balancer://c1foo.
        assert_eq!(r.route(0, "/foo").unwrap_err().status, 500);
    }

    #[test]
    fn reverse_rules_expand_balancers_without_doubling_slashes() {
        let r = routes(
            "<Proxy balancer://c1>\nBalancerMember http://127.0.0.1:9001/\nBalancerMember http://127.0.0.1:9002\n</Proxy>\n\
             ProxyPass /p/ balancer://c1/\nProxyPassReverse /p/ balancer://c1/\n",
        );
        let urls: Vec<&str> = r.servers[0]
            .reverse
            .iter()
            .map(|x| x.url.as_str())
            .collect();
        assert_eq!(urls, ["http://127.0.0.1:9001/", "http://127.0.0.1:9002/"]);
    }

    #[test]
    fn virtual_hosts_are_chosen_by_address_then_name() {
        let r = routes(
            "ProxyPass / http://127.0.0.1:9000/\n\
             <VirtualHost *>\nServerName a.test\nServerAlias *.a.test\nProxyPass / http://127.0.0.1:9001/\n</VirtualHost>\n\
             <VirtualHost *:8080>\nServerName b.test\nProxyPass / http://127.0.0.1:9002/\n</VirtualHost>\n\
             <VirtualHost 127.0.0.2:8080>\nServerName c.test\n</VirtualHost>\n",
        );
        let l80: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let l8080: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let exact: SocketAddr = "127.0.0.2:8080".parse().unwrap();
        assert_eq!(r.server_for(l80, Some(b"a.test")), 1);
        assert_eq!(r.server_for(l80, Some(b"www.A.test:80")), 1);
        assert_eq!(
            r.server_for(l80, Some(b"other")),
            1,
            "first vhost of the address is the default"
        );
        assert_eq!(r.server_for(l8080, Some(b"b.test")), 2);
        assert_eq!(r.server_for(l8080, Some(b"a.test")), 1);
        assert_eq!(
            r.server_for(exact, Some(b"b.test")),
            3,
            "an exact IP beats wildcards"
        );
    }

    /// The merge of the sections that match (file order, Proxy before Location).
    #[test]
    fn access_sections_merge() {
        let r = routes(
            "<Proxy *>\nRequire ip 10.0.0.0/8\nSatisfy Any\n</Proxy>\n\
             <Location /a>\nOrder allow,deny\n</Location>\n\
             <Location /a/b>\nRequire all granted\n</Location>\n\
             ProxyPass / http://127.0.0.1:1/\n",
        );
        let route = r.route(0, "/a/b/c").unwrap();
        let m = r.access_for(0, b"/a/b/c", &route).unwrap();
        assert_eq!(m.require, Some(&crate::access::Require::All(true)));
        assert_eq!(
            m.compat.unwrap().order,
            crate::access::compat::Order::AllowDeny
        );
        assert!(m.satisfy_any);
        assert_eq!(m.last.section.text(), "/a/b");
        let route = r.route(0, "/z").unwrap();
        let m = r.access_for(0, b"/z", &route).unwrap();
        assert_eq!(m.last.section.text(), "*");
        assert!(m.compat.is_none());
    }

    #[test]
    fn cgi_style_members_pool_as_httpd_does() {
        // mod_proxy_fcgi: no reuse unless enablereuse=on; SCGI and uwsgi
        // connections carry one request whatever the parameters say.
        let r = routes(
            "ProxyPass /a fcgi://127.0.0.1:9000/\n\
             ProxyPass /b fcgi://127.0.0.1:9001/ enablereuse=on\n\
             ProxyPass /c scgi://127.0.0.1:4000/ enablereuse=on\n\
             ProxyPass /d uwsgi://127.0.0.1:3031/\n\
             ProxyPass /e http://127.0.0.1:8080/\n",
        );
        let reuse: Vec<bool> = r.members.iter().map(|m| m.pool.reuse).collect();
        assert_eq!(reuse, [false, true, false, false, true]);
        let protocols: Vec<Protocol> = r.members.iter().map(|m| m.codec.protocol()).collect();
        assert_eq!(
            protocols,
            [
                Protocol::Fcgi,
                Protocol::Fcgi,
                Protocol::Scgi,
                Protocol::Uwsgi,
                Protocol::Http1
            ]
        );
        let script = r.members[0].codec.cgi().map(|c| c.script.to_string());
        assert_eq!(script.as_deref(), Some("fcgi://127.0.0.1:9000"));
    }
}
