//! One read of the scoreboard for the server-status and metrics handlers.
//!
//! Every counter is copied out of the shared mapping once, before anything is
//! formatted, so each page is computed from one value per counter (counters
//! keep moving while the page is built; a page is a snapshot, not a
//! transaction).

use scoreboard::{flags, LatencyHistogram, ProcessState, Scoreboard, NO_BALANCER};

use super::Context;

/// Server-wide values: the header and the sums over the process slots.
pub struct Server {
    pub version: String,
    pub mpm: &'static str,
    pub now_ms: u64,
    /// Supervisor start time, unix seconds (0 = not recorded).
    pub start_time: u64,
    pub generation: u64,
    pub restarts: u64,
    pub phase: &'static str,
    pub supervisor_pid: i32,
    /// The health checker's pid, 0 when none runs.
    pub checker_pid: i32,
    /// The ports the supervisor bound, as published in the header.
    pub ports: Vec<u16>,
}

impl Server {
    /// Seconds since the supervisor started (0 when unknown or in the future).
    pub fn uptime_secs(&self) -> u64 {
        if self.start_time == 0 {
            return 0;
        }
        (self.now_ms / 1000).saturating_sub(self.start_time)
    }
}

/// One process slot (used or not).
pub struct Process {
    pub slot: usize,
    pub pid: i32,
    pub generation: u64,
    pub state: ProcessState,
    pub connections: u64,
    pub total_connections: u64,
    pub requests: u64,
    pub bytes_in: u64,
    pub bytes_out: u64,
    pub started_ms: u64,
    pub last_used_ms: u64,
    /// How long (ms) the process has made no progress, when that is
    /// `STALL_SHOWN_AFTER_MS` or more: its event loop is wedged or stopped,
    /// whatever its state letter still says.
    pub stalled_ms: Option<u64>,
    /// Times the process ran out of descriptors or memory, and the last
    /// time (unix ms) with its errno.
    pub local_faults: u64,
    pub last_local_fault: Option<(u64, i32)>,
}

impl Process {
    /// The last local fault's cause as the OS words it, e.g. "Too many open
    /// files (os error 24)".
    pub fn last_local_fault_cause(&self) -> Option<String> {
        self.last_local_fault
            .map(|(_, errno)| std::io::Error::from_raw_os_error(errno).to_string())
    }
}

/// How the status pages count a process state (httpd's mod_status rules:
/// `_` is idle; `R W K C G` are busy, `G` also graceful; `S`, `.` and a dead
/// process are neither).
pub fn is_busy(state: ProcessState) -> bool {
    matches!(
        state,
        ProcessState::Reading
            | ProcessState::Writing
            | ProcessState::KeepAlive
            | ProcessState::Closing
            | ProcessState::Graceful
    )
}

/// mod_headers' `%i` and `%b`: the percentages of the process slots that are
/// idle and busy, counted as server-status counts IdleWorkers and BusyWorkers
/// (httpd takes its worker slots' shares the same way: starting and empty
/// slots are neither).
pub fn worker_shares(sb: &scoreboard::Scoreboard) -> (u32, u32) {
    let slots = sb.processes();
    let total = slots.len().max(1) as u32;
    let (mut idle, mut busy) = (0u32, 0u32);
    for p in slots {
        match p.state() {
            ProcessState::Idle => idle += 1,
            s if is_busy(s) => busy += 1,
            _ => {}
        }
    }
    (idle * 100 / total, busy * 100 / total)
}

/// One member slot.
pub struct Member {
    pub slot: usize,
    pub url: String,
    pub route: String,
    pub redirect: String,
    /// ×100, as stored.
    pub lbfactor: u32,
    pub lbset: u32,
    pub status: u32,
    pub elected: u64,
    pub busy: i64,
    pub lbstatus: i64,
    pub transferred: u64,
    pub read: u64,
    pub requests: u64,
    pub errors: u64,
    pub error_time_ms: u64,
    pub hc_pcount: u32,
    pub hc_fcount: u32,
    pub latency_ewma_us: u64,
    pub latency: LatencyHistogram,
    /// The health check: the slot's settings and last result.
    pub hc: Health,
}

/// A member's health check as its slot holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Health {
    /// `HcMethod` code; 0 = NONE (not checked).
    pub method: u32,
    pub interval_ms: u32,
    pub passes: u32,
    pub fails: u32,
    pub uri: String,
    pub expr: String,
    /// Last check, unix ms; 0 = never.
    pub last_check_ms: u64,
    /// (passed, HTTP status or 0) of the last check.
    pub result: Option<(bool, u16)>,
    /// Short text of the last result (`ok`, `status 500`, `timeout`, ...).
    pub reason: String,
}

impl Health {
    pub fn of(m: &scoreboard::MemberSlot) -> Health {
        Health {
            method: m.hc_method(),
            interval_ms: m.hc_interval_ms(),
            passes: m.hc_passes(),
            fails: m.hc_fails(),
            uri: m.hc_uri.get(),
            expr: m.hc_expr.get(),
            last_check_ms: m.hc_last_check(),
            result: m.hc_result(),
            reason: m.hc_reason.get(),
        }
    }

    /// httpd's method name: `NONE`, `TCP`, `GET11`, ...
    pub fn method_name(&self) -> &'static str {
        crate::config::HcMethod::from_code(self.method).name()
    }

    /// Whether the member is health-checked at all.
    pub fn checked(&self) -> bool {
        self.method != 0
    }
}

impl Member {
    pub fn usable(&self) -> bool {
        flags::is_usable(self.status)
    }

    /// `loadfactor` as written: `1.00`, `2.50`.
    pub fn factor(&self) -> String {
        format!("{}.{:02}", self.lbfactor / 100, self.lbfactor % 100)
    }

    /// Scheme of the URL (`http`), empty if it has none.
    pub fn scheme(&self) -> &str {
        self.url.split_once("://").map_or("", |(s, _)| s)
    }

    /// Host of the URL without port and brackets (`10.0.0.1`, `::1`).
    pub fn host(&self) -> &str {
        let rest = self.url.split_once("://").map_or(&*self.url, |(_, r)| r);
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if let Some(v6) = authority.strip_prefix('[') {
            return v6.split(']').next().unwrap_or("");
        }
        authority.split(':').next().unwrap_or("")
    }
}

/// One balancer of the routing table with its members.
pub struct Balancer {
    pub name: String,
    /// The live method (the balancer slot's; the configured one if unset).
    pub lbmethod: String,
    /// `stickysession` (`COOKIE|param`, or one name), empty if none.
    pub sticky: String,
    pub timeout_ms: u64,
    pub max_attempts: u32,
    pub nofailover: bool,
    pub members: Vec<Member>,
}

pub struct Snapshot {
    pub server: Server,
    /// Every process slot, in slot order.
    pub processes: Vec<Process>,
    pub balancers: Vec<Balancer>,
    /// Members behind a plain `ProxyPass` (no balancer).
    pub standalone: Vec<Member>,
}

impl Snapshot {
    pub fn take(ctx: &Context) -> Snapshot {
        let sb = ctx.scoreboard;
        let server = server(sb, ctx.config.mpm.name(), ctx.now_ms);
        let processes = process_slots(sb);
        let members = sb.members();
        let balancer_slots = sb.balancers();
        let mut balancers = Vec::new();
        for b in &ctx.routes.balancers {
            let spec = &b.spec;
            let Some(bslot) = balancer_slots.get(spec.slot) else {
                continue;
            };
            // The configured members in configuration order, then members
            // added at run time (growth slots) in slot order.
            let mut slots: Vec<usize> = b.members.iter().map(|m| m.slot).collect();
            for (i, m) in members.iter().enumerate() {
                if m.in_use() && m.balancer() as usize == spec.slot && !slots.contains(&i) {
                    slots.push(i);
                }
            }
            balancers.push(balancer(sb, bslot, &spec.name, spec.method.name(), slots));
        }
        let standalone = ctx
            .routes
            .members
            .iter()
            .filter(|m| m.balancer.is_none())
            .map(|m| m.slot)
            .filter(|&i| {
                members
                    .get(i)
                    .is_some_and(|m| m.in_use() && m.balancer() == NO_BALANCER)
            })
            .map(|i| member(sb, i))
            .collect();
        Snapshot {
            server,
            processes,
            balancers,
            standalone,
        }
    }

    /// The same read from the scoreboard file alone, without the
    /// generation's configuration (slotgate-top): balancers and members in
    /// slot order; `mpm` is empty when the configuration is not known.
    pub fn of_scoreboard(sb: &Scoreboard, mpm: &'static str, now_ms: u64) -> Snapshot {
        let members = sb.members();
        let balancers = sb
            .balancers()
            .iter()
            .enumerate()
            .filter(|(_, b)| b.in_use())
            .map(|(index, bslot)| {
                let slots = (0..members.len())
                    .filter(|&i| members[i].in_use() && members[i].balancer() as usize == index)
                    .collect();
                balancer(sb, bslot, &bslot.name.get(), "", slots)
            })
            .collect();
        let standalone = (0..members.len())
            .filter(|&i| members[i].in_use() && members[i].balancer() == NO_BALANCER)
            .map(|i| member(sb, i))
            .collect();
        Snapshot {
            server: server(sb, mpm, now_ms),
            processes: process_slots(sb),
            balancers,
            standalone,
        }
    }

    /// Requests counted by the live process slots.
    pub fn total_accesses(&self) -> u64 {
        self.processes.iter().map(|p| p.requests).sum()
    }

    /// Bytes written to clients by the live process slots.
    pub fn total_bytes(&self) -> u64 {
        self.processes.iter().map(|p| p.bytes_out).sum()
    }

    pub fn busy_workers(&self) -> usize {
        self.processes.iter().filter(|p| is_busy(p.state)).count()
    }

    pub fn graceful_workers(&self) -> usize {
        self.processes
            .iter()
            .filter(|p| p.state == ProcessState::Graceful)
            .count()
    }

    pub fn idle_workers(&self) -> usize {
        self.processes
            .iter()
            .filter(|p| p.state == ProcessState::Idle)
            .count()
    }

    /// Live processes shown as stalled (see [`Process::stalled_ms`]).
    pub fn stalled_workers(&self) -> usize {
        self.processes
            .iter()
            .filter(|p| p.pid != 0 && p.stalled_ms.is_some())
            .count()
    }

    /// Slots with a live process.
    pub fn live_processes(&self) -> usize {
        self.processes.iter().filter(|p| p.pid != 0).count()
    }

    /// Connections open now, over every process.
    pub fn connections(&self) -> u64 {
        self.processes
            .iter()
            .filter(|p| p.pid != 0)
            .map(|p| p.connections)
            .sum()
    }

    /// httpd's scoreboard string: one state letter per process slot.
    pub fn letters(&self) -> String {
        self.processes.iter().map(|p| p.state.letter()).collect()
    }
}

/// The header's values.
fn server(sb: &Scoreboard, mpm: &'static str, now_ms: u64) -> Server {
    let header = sb.header();
    Server {
        version: format!("slotgate/{}", env!("CARGO_PKG_VERSION")),
        mpm,
        now_ms,
        start_time: header.start_time(),
        generation: header.generation(),
        restarts: header.restarts(),
        phase: header.phase().map_or("unknown", |p| p.name()),
        supervisor_pid: header.supervisor_pid(),
        checker_pid: header.checker_pid(),
        ports: header.ports(),
    }
}

/// Every process slot, in slot order.
fn process_slots(sb: &Scoreboard) -> Vec<Process> {
    let monotonic = scoreboard::monotonic_ms();
    sb.processes()
        .iter()
        .enumerate()
        .map(|(slot, p)| {
            let pid = p.pid();
            Process {
                slot,
                pid,
                generation: p.generation(),
                // A slot without a process shows `.` whatever it holds.
                state: if pid == 0 {
                    ProcessState::Empty
                } else {
                    p.state()
                },
                connections: p.connections(),
                total_connections: p.total_connections(),
                requests: p.requests(),
                bytes_in: p.bytes_in(),
                bytes_out: p.bytes_out(),
                started_ms: p.started(),
                last_used_ms: p.last_used(),
                stalled_ms: p
                    .is_stalled(monotonic)
                    .then(|| p.stalled_for(monotonic))
                    .flatten(),
                local_faults: p.local_faults(),
                last_local_fault: p.last_local_fault(),
            }
        })
        .collect()
}

/// A balancer from its slot, with the members of `slots` that are in use;
/// `configured` is the lbmethod shown when the slot has none.
fn balancer(
    sb: &Scoreboard,
    bslot: &scoreboard::BalancerSlot,
    name: &str,
    configured: &str,
    slots: Vec<usize>,
) -> Balancer {
    let members = sb.members();
    let lbmethod = bslot.lbmethod.get();
    // The live names (the manager may change them).
    let sticky = match (bslot.sticky.get(), bslot.sticky_path.get()) {
        (c, p) if c.is_empty() => p,
        (c, p) if p.is_empty() || c == p => c,
        (c, p) => format!("{c}|{p}"),
    };
    Balancer {
        name: name.to_string(),
        lbmethod: if lbmethod.is_empty() {
            configured.to_string()
        } else {
            lbmethod
        },
        sticky,
        timeout_ms: bslot.timeout_ms(),
        max_attempts: bslot.max_attempts(),
        nofailover: bslot.nofailover(),
        members: slots
            .into_iter()
            .filter(|&i| members.get(i).is_some_and(|m| m.in_use()))
            .map(|i| member(sb, i))
            .collect(),
    }
}

fn member(sb: &scoreboard::Scoreboard, i: usize) -> Member {
    let m = sb.member(i);
    Member {
        slot: i,
        url: m.url.get(),
        route: m.route.get(),
        redirect: m.redirect.get(),
        lbfactor: m.lbfactor(),
        lbset: m.lbset(),
        status: m.status(),
        elected: m.elected(),
        busy: m.busy(),
        lbstatus: m.lbstatus(),
        transferred: m.transferred(),
        read: m.read(),
        requests: m.requests(),
        errors: m.errors(),
        error_time_ms: m.error_time(),
        hc_pcount: m.hc_pcount(),
        hc_fcount: m.hc_fcount(),
        latency_ewma_us: m.latency_ewma_us(),
        latency: m.latency_histogram(),
        hc: Health::of(m),
    }
}

/// HTML escaping (`crate::text::escape::html`), under the name the pages use.
pub use crate::text::escape::html;

/// Times as server-status shows them (`crate::text::date::status_time`).
pub use crate::text::date::status_time as http_time;

/// httpd's uptime wording: ` 1 day 2 hours 5 seconds` (zero parts left out;
/// empty for 0).
pub fn uptime_words(secs: u64) -> String {
    let mut out = String::new();
    for (n, unit) in [
        (secs / 86_400, "day"),
        (secs % 86_400 / 3600, "hour"),
        (secs % 3600 / 60, "minute"),
        (secs % 60, "second"),
    ] {
        if n != 0 {
            out.push_str(&format!(" {n} {unit}{}", if n == 1 { "" } else { "s" }));
        }
    }
    out
}

/// A rate as httpd's `%g`: at most 6 significant digits, no trailing zeros,
/// no exponent for ordinary values (`0`, `12.5`, `0.0232558`).
pub fn g(v: f64) -> String {
    if !v.is_finite() || v == 0.0 {
        return "0".to_string();
    }
    let digits = 6i32 - 1 - v.abs().log10().floor() as i32;
    let s = format!("{:.*}", digits.clamp(0, 17) as usize, v);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(http_time(0), "Thursday, 01-Jan-1970 00:00:00 UTC");
        assert_eq!(http_time(1_795_427_671), "Monday, 23-Nov-2026 09:54:31 UTC");
        assert_eq!(uptime_words(0), "");
        assert_eq!(uptime_words(1), " 1 second");
        assert_eq!(uptime_words(90_061), " 1 day 1 hour 1 minute 1 second");
        assert_eq!(uptime_words(7_320), " 2 hours 2 minutes");
        assert_eq!(g(0.0), "0");
        assert_eq!(g(12.5), "12.5");
        assert_eq!(g(1.0 / 43.0), "0.0232558");
        assert_eq!(g(123_456_789.0), "123456789");
        assert_eq!(g(2.0), "2");
        assert_eq!(
            html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn member_url_parts() {
        let mut m = member_for_test("http://10.0.0.1:8080/app/");
        assert_eq!((m.scheme(), m.host()), ("http", "10.0.0.1"));
        m.url = "https://[::1]:8443".into();
        assert_eq!((m.scheme(), m.host()), ("https", "::1"));
        m.url = "ws://example.com".into();
        assert_eq!((m.scheme(), m.host()), ("ws", "example.com"));
    }

    fn member_for_test(url: &str) -> Member {
        Member {
            slot: 0,
            url: url.into(),
            route: String::new(),
            redirect: String::new(),
            lbfactor: 250,
            lbset: 0,
            status: flags::INIT,
            elected: 0,
            busy: 0,
            lbstatus: 0,
            transferred: 0,
            read: 0,
            requests: 0,
            errors: 0,
            error_time_ms: 0,
            hc_pcount: 0,
            hc_fcount: 0,
            latency_ewma_us: 0,
            latency: LatencyHistogram::default(),
            hc: Health::default(),
        }
    }
}

/// Test fixtures for the status and metrics handlers: a configuration, its
/// routes and a scoreboard file filled as the supervisor fills it.
#[cfg(test)]
pub(crate) mod fixture {
    use std::net::{IpAddr, Ipv4Addr};
    use std::path::PathBuf;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use scoreboard::{flags, Layout, Scoreboard, NO_BALANCER};

    use crate::config::Config;
    use crate::handlers::{Context, Request};
    use crate::proxy::Routes;

    pub struct Fixture {
        pub sb: Scoreboard,
        pub config: Config,
        pub routes: Routes,
        path: PathBuf,
    }

    impl Fixture {
        /// `conf` gets a `Listen 127.0.0.1:0` line in front; `processes`
        /// process slots, every member and balancer in the slot of its index.
        pub fn new(conf: &str, processes: u32) -> Fixture {
            static COUNTER: AtomicUsize = AtomicUsize::new(0);
            let config = crate::config::parse_str(
                &format!("Listen 127.0.0.1:0\n{conf}"),
                std::path::Path::new("/tmp/status-test.conf"),
                &[],
            )
            .expect("test configuration");
            let mut routes = Routes::new(&config).expect("test routes");
            for (i, b) in routes.balancers.iter_mut().enumerate() {
                b.spec.slot = i;
            }
            let path = std::env::temp_dir().join(format!(
                "slotgate-status-test-{}-{}.sb",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed)
            ));
            let layout = Layout {
                processes,
                balancers: routes.balancers.len() as u32,
                members: routes.member_slots(&config) as u32,
            };
            let sb = Scoreboard::create(&path, layout).expect("test scoreboard");
            for b in &routes.balancers {
                let slot = sb.balancer(b.spec.slot);
                slot.name.set(&b.spec.name);
                slot.lbmethod.set(b.spec.method.name());
                slot.sticky
                    .set(b.spec.sticky_cookie.as_deref().unwrap_or(""));
                slot.sticky_path
                    .set(b.spec.sticky_param.as_deref().unwrap_or(""));
                slot.set_max_attempts(b.spec.max_attempts as u32);
                slot.set_in_use(true);
            }
            for m in &routes.members {
                let slot = sb.member(m.slot);
                slot.url.set(&m.url.name);
                slot.route.set(&m.route);
                slot.redirect.set(&m.redirect);
                slot.set_lbfactor(m.lbfactor);
                slot.set_lbset(m.lbset);
                slot.set_status(m.status | flags::INIT);
                slot.set_balancer(
                    m.balancer
                        .map_or(NO_BALANCER, |b| routes.balancers[b].spec.slot as u32),
                );
                slot.set_in_use(true);
            }
            Fixture {
                sb,
                config,
                routes,
                path,
            }
        }

        pub fn ctx(&self, now_ms: u64) -> Context<'_> {
            Context {
                scoreboard: &self.sb,
                config: &self.config,
                routes: &self.routes,
                now_ms,
            }
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.path);
        }
    }

    /// A GET from 127.0.0.1 for `/server-status?query` on `status.test`.
    pub fn get<'a>(method: &'a str, query: Option<&'a str>) -> Request<'a> {
        Request {
            method,
            path: "/server-status",
            query,
            headers: &[],
            body: &[],
            client: IpAddr::V4(Ipv4Addr::LOCALHOST),
            location: "/server-status",
            server_name: "status.test",
            local_port: 8080,
        }
    }
}
