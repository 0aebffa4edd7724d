//! What httpd's `-S`, `-M` and `-V` print, for slotgate: the virtual hosts and
//! listeners of a configuration ([`vhosts`]), the httpd modules whose directives
//! slotgate serves ([`modules`]), and the version and build settings
//! ([`version`]). Each keeps httpd's layout where an operator's scripts may read
//! it (`apache2 -S`, `apache2 -M`, `apache2 -V` of Debian's httpd 2.4).

use std::fmt::Write as _;
use std::path::Path;

use super::{
    Config, Mpm, Origin, VhostAddr, EVENT_SERVER_LIMIT, MAX_SERVER_LIMIT,
    PREFORK_MAX_REQUEST_WORKERS,
};

/// One `<VirtualHost>` as `-S` lists it under an address.
struct Entry<'a> {
    name: &'a str,
    aliases: &'a [String],
    origin: &'a Origin,
}

/// `127.0.0.1:80`, `*:80`, `*:*`, `[::1]:443`, as httpd writes a vhost address.
fn address(a: &VhostAddr) -> String {
    let ip = match a.ip {
        Some(std::net::IpAddr::V6(ip)) => format!("[{ip}]"),
        Some(ip) => ip.to_string(),
        None => "*".to_string(),
    };
    match a.port {
        Some(p) => format!("{ip}:{p}"),
        None => format!("{ip}:*"),
    }
}

/// httpd's `-S`: the virtual hosts by address (an address with one vhost on one
/// line; with several, the NameVirtualHost block whose first vhost is the default
/// server), then the listeners (slotgate's addition) and the run-time settings. `defines` are the
/// `-D` names.
pub fn vhosts(cfg: &Config, defines: &[String], pid_file: &Path) -> String {
    let mut out = String::from("VirtualHost configuration:\n");
    // Addresses with an IP first, then the wildcards, each in file order (as httpd).
    let mut groups: Vec<(VhostAddr, Vec<Entry<'_>>)> = Vec::new();
    for v in &cfg.vhosts {
        for a in &v.addrs {
            let entry = Entry {
                name: v.server_name.as_deref().unwrap_or(&cfg.server_name),
                aliases: &v.server_aliases,
                origin: &v.origin,
            };
            match groups.iter_mut().find(|(g, _)| g == a) {
                Some((_, list)) => list.push(entry),
                None => groups.push((a.clone(), vec![entry])),
            }
        }
    }
    groups.sort_by_key(|(a, _)| a.ip.is_none());
    for (addr, entries) in &groups {
        let shown = address(addr);
        if let [one] = entries.as_slice() {
            let _ = writeln!(out, "{shown:<22} {} ({})", one.name, one.origin);
            continue;
        }
        let _ = writeln!(out, "{shown:<22} is a NameVirtualHost");
        let port = addr.port.map_or("*".to_string(), |p| p.to_string());
        let _ = writeln!(
            out,
            "{:>8} default server {} ({})",
            "", entries[0].name, entries[0].origin
        );
        for e in entries {
            let _ = writeln!(
                out,
                "{:>8} port {port} namevhost {} ({})",
                "", e.name, e.origin
            );
            for alias in e.aliases {
                let _ = writeln!(out, "{:>16} alias {alias}", "");
            }
        }
    }
    for l in &cfg.listen {
        let _ = writeln!(out, "Listen: {} ({})", l.addr, l.origin);
    }
    let _ = writeln!(out, "ServerRoot: \"{}\"", cfg.server_root.display());
    let _ = writeln!(out, "Main ServerName: \"{}\"", cfg.server_name);
    match (&cfg.error_log, &cfg.error_log_pipe) {
        (_, Some(command)) => {
            let _ = writeln!(out, "Main ErrorLog: \"|{command}\"");
        }
        (Some(path), None) => {
            let _ = writeln!(out, "Main ErrorLog: \"{}\"", path.display());
        }
        (None, None) => out.push_str("Main ErrorLog: stderr\n"),
    }
    let _ = writeln!(out, "PidFile: \"{}\"", pid_file.display());
    let _ = writeln!(out, "ScoreboardFile: \"{}\"", cfg.scoreboard_file.display());
    for d in defines {
        let _ = writeln!(out, "Define: {d}");
    }
    if let Some(user) = &cfg.user {
        let _ = writeln!(out, "User: name=\"{user}\"{}", account_id(user, true));
    }
    if let Some(group) = &cfg.group {
        let _ = writeln!(out, "Group: name=\"{group}\"{}", account_id(group, false));
    }
    out
}

/// ` id=N` for an account that exists (httpd prints the id it switches to).
fn account_id(name: &str, user: bool) -> String {
    if let Some(id) = name.strip_prefix('#') {
        return format!(" id={id}");
    }
    let id = if user {
        nix::unistd::User::from_name(name)
            .ok()
            .flatten()
            .map(|u| u.uid.as_raw())
    } else {
        nix::unistd::Group::from_name(name)
            .ok()
            .flatten()
            .map(|g| g.gid.as_raw())
    };
    id.map_or_else(String::new, |id| format!(" id={id}"))
}

/// httpd's `-M`: the modules whose directives slotgate serves, each as httpd
/// names it; all are built in, hence `(static)`. The MPM is the configured one.
pub fn modules(cfg: &Config) -> String {
    let mut out = String::from("Loaded Modules:\n");
    let mpm = match cfg.mpm {
        Mpm::Event => "mpm_event",
        Mpm::Prefork => "mpm_prefork",
    };
    for name in super::reader::served_modules(mpm) {
        let _ = writeln!(out, " {name}_module (static)");
    }
    out
}

/// httpd's `-V`: the version, the MPM (`cfg`'s when the configuration loads,
/// else the default) and the build-time settings.
pub fn version(cfg: Option<&Config>, config_file: &Path) -> String {
    let mpm = cfg.map_or(Mpm::Event, |c| c.mpm);
    let (name, forked) = match mpm {
        Mpm::Event => ("event", "yes (fixed process count: StartServers)"),
        Mpm::Prefork => ("prefork", "yes (variable process count)"),
    };
    let root = config_file.parent().unwrap_or(Path::new("/"));
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Server version: slotgate/{}",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(out, "Server built:   {build} build");
    let _ = writeln!(out, "Architecture:   {}-bit", usize::BITS);
    let _ = writeln!(out, "Server MPM:     {name}");
    let _ = writeln!(out, "  threaded:     no (one event loop per process)");
    let _ = writeln!(out, "    forked:     {forked}");
    out.push_str("Server compiled with....\n");
    let defines = [
        format!("SERVER_CONFIG_FILE=\"{}\"", config_file.display()),
        format!("HTTPD_ROOT=\"{}\"", root.display()),
        "DEFAULT_PIDLOG=\"slotgate.pid\"".to_string(),
        "DEFAULT_SCOREBOARD=\"slotgate.scoreboard\"".to_string(),
        "DEFAULT_ERRORLOG=\"stderr\"".to_string(),
        format!("MAX_SERVER_LIMIT={MAX_SERVER_LIMIT}"),
        format!("EVENT_SERVER_LIMIT={EVENT_SERVER_LIMIT}"),
        format!("PREFORK_MAX_REQUEST_WORKERS={PREFORK_MAX_REQUEST_WORKERS}"),
        "TLS=\"rustls\"".to_string(),
    ];
    for d in defines {
        let _ = writeln!(out, " -D {d}");
    }
    out
}
