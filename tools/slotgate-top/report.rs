//! A snapshot of the scoreboard, rendered as tables or as JSON.
//!
//! The snapshot copies every value out of the shared mapping first, so a
//! table is printed from one consistent read of each counter and the mapping
//! is not touched while formatting.

use scoreboard::{flags, Scoreboard};
use serde_json::{json, Value};
use slotgate::handlers::snapshot::Health;
use slotgate::text::escape::controls;
use slotgate::text::size::strfsize;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// State letters per line of the scoreboard string, as httpd's server-status.
const LETTERS_PER_LINE: usize = 64;

pub struct Snapshot {
    path: String,
    /// When it was taken (monotonic), for rates between two snapshots.
    taken: Instant,
    now_ms: u64,
    supervisor_pid: i32,
    /// The health checker's pid, 0 when none runs.
    checker_pid: i32,
    phase: String,
    generation: u64,
    start_time: u64,
    restarts: u64,
    ports: Vec<u16>,
    /// One state letter per process slot, used or not.
    letters: String,
    processes: Vec<Process>,
    balancers: Vec<BalancerRow>,
    members: Vec<Member>,
}

struct BalancerRow {
    name: String,
    lbmethod: String,
    sticky: String,
    sticky_param: String,
    nofailover: bool,
    timeout_ms: u64,
    max_attempts: u32,
}

struct Process {
    slot: usize,
    pid: i32,
    generation: u64,
    state: char,
    connections: u64,
    requests: u64,
    bytes_in: u64,
    bytes_out: u64,
    /// Unix ms; 0 = never.
    last_used: u64,
    allocations: u64,
    /// How long (ms) its event loop has not turned, when that is
    /// `STALL_SHOWN_AFTER_MS` or more (as server-status shows it).
    stalled_ms: Option<u64>,
    /// Times it ran out of descriptors or memory.
    local_faults: u64,
}

struct Member {
    id: usize,
    /// Balancer name, or None for a standalone ProxyPass worker.
    balancer: Option<String>,
    url: String,
    route: String,
    redirect: String,
    /// httpd stores lbfactor × 100.
    lbfactor: u32,
    lbset: u32,
    status: u32,
    elected: u64,
    busy: i64,
    lbstatus: i64,
    transferred: u64,
    read: u64,
    requests: u64,
    errors: u64,
    /// The health check: settings and last result.
    hc: Health,
}

impl Snapshot {
    pub fn take(sb: &Scoreboard, path: &Path) -> Snapshot {
        let header = sb.header();
        let slots = sb.processes();
        let monotonic = scoreboard::monotonic_ms();
        let processes = slots
            .iter()
            .enumerate()
            .filter(|(_, p)| p.pid() != 0)
            .map(|(slot, p)| Process {
                slot,
                pid: p.pid(),
                generation: p.generation(),
                state: p.state().letter(),
                connections: p.connections(),
                requests: p.requests(),
                bytes_in: p.bytes_in(),
                bytes_out: p.bytes_out(),
                last_used: p.last_used(),
                allocations: p.allocations(),
                stalled_ms: p
                    .is_stalled(monotonic)
                    .then(|| p.stalled_for(monotonic))
                    .flatten(),
                local_faults: p.local_faults(),
            })
            .collect();
        let balancers = sb.balancers();
        let balancer_rows = balancers
            .iter()
            .filter(|b| b.in_use())
            .map(|b| BalancerRow {
                name: b.name.get(),
                lbmethod: b.lbmethod.get(),
                sticky: b.sticky.get(),
                sticky_param: b.sticky_path.get(),
                nofailover: b.nofailover(),
                timeout_ms: b.timeout_ms(),
                max_attempts: b.max_attempts(),
            })
            .collect();
        let members = sb
            .members()
            .iter()
            .enumerate()
            .filter(|(_, m)| m.in_use())
            .map(|(id, m)| Member {
                id,
                balancer: balancers
                    .get(m.balancer() as usize)
                    .filter(|_| m.balancer() != scoreboard::NO_BALANCER)
                    .map(|b| b.name.get()),
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
                hc: Health::of(m),
            })
            .collect();
        Snapshot {
            path: path.display().to_string(),
            taken: Instant::now(),
            now_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
            supervisor_pid: header.supervisor_pid(),
            checker_pid: header.checker_pid(),
            phase: header
                .phase()
                .map(|p| p.name().to_string())
                .unwrap_or_else(|| "unknown".to_string()),
            generation: header.generation(),
            start_time: header.start_time(),
            restarts: header.restarts(),
            ports: header.ports(),
            letters: slots.iter().map(|p| p.state().letter()).collect(),
            processes,
            balancers: balancer_rows,
            members,
        }
    }

    fn uptime_secs(&self) -> u64 {
        if self.start_time == 0 {
            return 0;
        }
        (self.now_ms / 1000).saturating_sub(self.start_time)
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
        let _ = writeln!(out, "scoreboard {}", self.path);
        let _ = writeln!(
            out,
            "supervisor pid {}  phase {}  generation {}  restarts {}  uptime {}  ports {}",
            self.supervisor_pid,
            self.phase,
            self.generation,
            self.restarts,
            duration(self.uptime_secs()),
            if ports.is_empty() {
                "-".to_string()
            } else {
                ports.join(",")
            }
        );
        if self.checker_pid != 0 {
            let _ = writeln!(out, "health checker pid {}", self.checker_pid);
        }
        out.push('\n');

        let mut table = Table::new(&[
            "slot",
            "pid",
            "gen",
            "st",
            "conns",
            "reqs",
            "in",
            "out",
            "last used",
            "local faults",
            "stalled",
        ]);
        for p in &self.processes {
            table.row(vec![
                p.slot.to_string(),
                p.pid.to_string(),
                p.generation.to_string(),
                p.state.to_string(),
                p.connections.to_string(),
                p.requests.to_string(),
                strfsize(p.bytes_in),
                strfsize(p.bytes_out),
                self.ago(p.last_used),
                p.local_faults.to_string(),
                stalled_cell(p.stalled_ms),
            ]);
        }
        out.push_str(&table.render());
        out.push_str("\nscoreboard:\n");
        let letters: Vec<char> = self.letters.chars().collect();
        for line in letters.chunks(LETTERS_PER_LINE) {
            out.extend(line.iter());
            out.push('\n');
        }
        out.push_str(
            "(_ idle, S starting, R reading, W writing, K keep-alive, C closing, G finishing, . empty)\n\n",
        );

        if !self.balancers.is_empty() {
            let mut table = Table::new(&[
                "balancer",
                "lbmethod",
                "sticky",
                "nofailover",
                "timeout",
                "maxattempts",
            ]);
            for b in &self.balancers {
                let sticky = match (b.sticky.as_str(), b.sticky_param.as_str()) {
                    ("", "") => "(none)".to_string(),
                    (c, p) if c == p => c.to_string(),
                    (c, p) => format!("{c}|{p}"),
                };
                table.row(vec![
                    b.name.clone(),
                    b.lbmethod.clone(),
                    sticky,
                    if b.nofailover { "On" } else { "Off" }.to_string(),
                    format!("{}s", b.timeout_ms / 1000),
                    b.max_attempts.to_string(),
                ]);
            }
            out.push_str(&table.render());
            out.push('\n');
        }
        let mut table = Table::new(&[
            "id", "balancer", "url", "route", "factor", "set", "status", "elected", "busy", "load",
            "to", "from", "errors", "hc", "checked", "result",
        ]);
        for m in &self.members {
            table.row(vec![
                m.id.to_string(),
                m.balancer.clone().unwrap_or_else(|| "-".to_string()),
                m.url.clone(),
                if m.route.is_empty() {
                    "-".to_string()
                } else {
                    m.route.clone()
                },
                format!("{}.{:02}", m.lbfactor / 100, m.lbfactor % 100),
                m.lbset.to_string(),
                flags::display(m.status).trim_end().to_string(),
                m.elected.to_string(),
                m.busy.to_string(),
                m.lbstatus.to_string(),
                strfsize(m.transferred),
                strfsize(m.read),
                m.errors.to_string(),
                if m.hc.checked() {
                    m.hc.method_name().to_string()
                } else {
                    "-".to_string()
                },
                self.ago(m.hc.last_check_ms),
                if m.hc.reason.is_empty() {
                    "-".to_string()
                } else {
                    m.hc.reason.clone()
                },
            ]);
        }
        if self.members.is_empty() {
            out.push_str("no members\n");
        } else {
            out.push_str(&table.render());
        }
        terminal_text(&out)
    }

    pub fn to_json(&self) -> Value {
        let processes: Vec<Value> = self
            .processes
            .iter()
            .map(|p| {
                json!({
                    "slot": p.slot,
                    "pid": p.pid,
                    "generation": p.generation,
                    "state": p.state.to_string(),
                    "connections": p.connections,
                    "requests": p.requests,
                    "bytes_in": p.bytes_in,
                    "bytes_out": p.bytes_out,
                    "last_used_unix_ms": p.last_used,
                    "allocations": p.allocations,
                    "stalled_seconds": p.stalled_ms.map(|ms| ms / 1000),
                    "local_faults": p.local_faults,
                })
            })
            .collect();
        let members: Vec<Value> = self
            .members
            .iter()
            .map(|m| {
                json!({
                    "id": m.id,
                    "balancer": m.balancer,
                    "url": m.url,
                    "route": m.route,
                    "redirect": m.redirect,
                    "lbfactor": m.lbfactor as f64 / 100.0,
                    "lbset": m.lbset,
                    "status": flags::display(m.status).trim_end(),
                    "status_flags": flags::letters(m.status),
                    "elected": m.elected,
                    "busy": m.busy,
                    "lbstatus": m.lbstatus,
                    "transferred": m.transferred,
                    "read": m.read,
                    "requests": m.requests,
                    "errors": m.errors,
                    "health": {
                        "method": m.hc.method_name(),
                        "interval_ms": m.hc.interval_ms,
                        "passes": m.hc.passes,
                        "fails": m.hc.fails,
                        "uri": m.hc.uri,
                        "expr": m.hc.expr,
                        "last_check_unix_ms": m.hc.last_check_ms,
                        "passed": m.hc.result.map(|(p, _)| p),
                        "reason": m.hc.reason,
                        "failed": m.status & flags::HC_FAILED != 0,
                    },
                })
            })
            .collect();
        let balancers: Vec<Value> = self
            .balancers
            .iter()
            .map(|b| {
                json!({
                    "name": b.name,
                    "lbmethod": b.lbmethod,
                    "stickysession": b.sticky,
                    "stickysession_param": b.sticky_param,
                    "nofailover": b.nofailover,
                    "timeout_ms": b.timeout_ms,
                    "maxattempts": b.max_attempts,
                })
            })
            .collect();
        json!({
            "scoreboard": self.path,
            "supervisor_pid": self.supervisor_pid,
            "checker_pid": self.checker_pid,
            "phase": self.phase,
            "generation": self.generation,
            "restarts": self.restarts,
            "start_time_unix": self.start_time,
            "uptime_secs": self.uptime_secs(),
            "ports": self.ports,
            "scoreboard_string": self.letters,
            "processes": processes,
            "balancers": balancers,
            "members": members,
        })
    }

    /// "3s ago" for a unix-ms time, "-" for never.
    fn ago(&self, unix_ms: u64) -> String {
        if unix_ms == 0 {
            return "-".to_string();
        }
        format!(
            "{} ago",
            duration(self.now_ms.saturating_sub(unix_ms) / 1000)
        )
    }
}

/// A counter's increase per second between two readings `secs` apart.
/// `None` when no time passed or the counter went backwards (the slot was
/// reused by another process or member, or the daemon restarted).
pub fn per_sec(before: u64, after: u64, secs: f64) -> Option<f64> {
    if secs.is_nan() || secs <= 0.0 || after < before {
        return None;
    }
    Some((after - before) as f64 / secs)
}

/// Requests per second between two snapshots, per member and per process.
/// A member is matched by slot and URL, a process by slot and pid, so a
/// reused slot gives no rate rather than a wrong one.
pub struct Rates {
    /// Member slot id → requests/s.
    members: HashMap<usize, f64>,
    /// Process slot → requests/s.
    processes: HashMap<usize, f64>,
}

impl Rates {
    pub fn between(before: &Snapshot, after: &Snapshot) -> Rates {
        let secs = after
            .taken
            .saturating_duration_since(before.taken)
            .as_secs_f64();
        let members = after
            .members
            .iter()
            .filter_map(|m| {
                let old = before
                    .members
                    .iter()
                    .find(|o| o.id == m.id && o.url == m.url)?;
                Some((m.id, per_sec(old.requests, m.requests, secs)?))
            })
            .collect();
        let processes = after
            .processes
            .iter()
            .filter_map(|p| {
                let old = before
                    .processes
                    .iter()
                    .find(|o| o.slot == p.slot && o.pid == p.pid)?;
                Some((p.slot, per_sec(old.requests, p.requests, secs)?))
            })
            .collect();
        Rates { members, processes }
    }

    pub fn member(&self, id: usize) -> Option<f64> {
        self.members.get(&id).copied()
    }

    pub fn process(&self, slot: usize) -> Option<f64> {
        self.processes.get(&slot).copied()
    }

    /// Sum over the processes (the server's request rate).
    pub fn total(&self) -> f64 {
        self.processes.values().sum()
    }
}

/// "12.3", or "-" before there are two snapshots.
fn rate_cell(rate: Option<f64>) -> String {
    match rate {
        Some(r) if r >= 100.0 => format!("{r:.0}"),
        Some(r) => format!("{r:.1}"),
        None => "-".to_string(),
    }
}

impl Snapshot {
    /// `to_json` plus `requests_per_sec` on every member and process (null
    /// before there are two snapshots): the live view's `--json` lines.
    pub fn to_json_with_rates(&self, rates: Option<&Rates>) -> Value {
        let mut v = self.to_json();
        if let Some(members) = v["members"].as_array_mut() {
            for m in members {
                let id = m["id"].as_u64().unwrap_or(u64::MAX) as usize;
                m["requests_per_sec"] = json!(rates.and_then(|r| r.member(id)));
            }
        }
        if let Some(processes) = v["processes"].as_array_mut() {
            for p in processes {
                let slot = p["slot"].as_u64().unwrap_or(u64::MAX) as usize;
                p["requests_per_sec"] = json!(rates.and_then(|r| r.process(slot)));
            }
        }
        v
    }

    /// One frame of the live view, as lines (no line ends, no escapes):
    /// header, balancers, members with their request rate, processes.
    /// `note` (if any) is shown under the header (e.g. "scoreboard replaced").
    pub fn live_lines(
        &self,
        rates: Option<&Rates>,
        interval: Duration,
        note: Option<&str>,
    ) -> Vec<String> {
        let mut lines = Vec::new();
        let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
        lines.push(format!(
            "slotgate-top  {}  every {}s  (q quit)",
            self.path,
            trim_secs(interval)
        ));
        lines.push(format!(
            "phase {}  generation {}  uptime {}  restarts {}  supervisor pid {}  ports {}",
            self.phase,
            self.generation,
            duration(self.uptime_secs()),
            self.restarts,
            self.supervisor_pid,
            if ports.is_empty() {
                "-".to_string()
            } else {
                ports.join(",")
            }
        ));
        let busy_members: i64 = self.members.iter().map(|m| m.busy.max(0)).sum();
        let connections: u64 = self.processes.iter().map(|p| p.connections).sum();
        lines.push(format!(
            "requests/s {}  in flight {}  connections {}  processes {}",
            rate_cell(rates.map(Rates::total)),
            busy_members,
            connections,
            self.processes.len()
        ));
        if let Some(note) = note {
            lines.push(note.to_string());
        }
        lines.push(String::new());

        for b in &self.balancers {
            lines.push(format!(
                "{}  lbmethod {}  timeout {}s  maxattempts {}{}",
                b.name,
                b.lbmethod,
                b.timeout_ms / 1000,
                b.max_attempts,
                if b.sticky.is_empty() {
                    String::new()
                } else {
                    format!("  sticky {}", b.sticky)
                }
            ));
        }
        if !self.balancers.is_empty() {
            lines.push(String::new());
        }

        let mut table = Table::new(&[
            "balancer", "member", "req/s", "busy", "errors", "status", "load", "elected", "factor",
            "set", "route",
        ]);
        for m in &self.members {
            table.row(vec![
                m.balancer.clone().unwrap_or_else(|| "-".to_string()),
                m.url.clone(),
                rate_cell(rates.and_then(|r| r.member(m.id))),
                m.busy.to_string(),
                m.errors.to_string(),
                flags::display(m.status).trim_end().to_string(),
                m.lbstatus.to_string(),
                m.elected.to_string(),
                format!("{}.{:02}", m.lbfactor / 100, m.lbfactor % 100),
                m.lbset.to_string(),
                if m.route.is_empty() {
                    "-".to_string()
                } else {
                    m.route.clone()
                },
            ]);
        }
        if self.members.is_empty() {
            lines.push("no members".to_string());
        } else {
            lines.extend(table.render().lines().map(str::to_string));
        }
        lines.push(String::new());

        let mut table = Table::new(&[
            "slot", "pid", "gen", "st", "conns", "req/s", "reqs", "stalled",
        ]);
        for p in &self.processes {
            table.row(vec![
                p.slot.to_string(),
                p.pid.to_string(),
                p.generation.to_string(),
                p.state.to_string(),
                p.connections.to_string(),
                rate_cell(rates.and_then(|r| r.process(p.slot))),
                p.requests.to_string(),
                stalled_cell(p.stalled_ms),
            ]);
        }
        lines.extend(table.render().lines().map(str::to_string));
        let used = self.letters.trim_end_matches('.');
        let shown = if used.is_empty() {
            &self.letters[..self.letters.len().min(LETTERS_PER_LINE)]
        } else {
            used
        };
        lines.push(String::new());
        let letters: Vec<char> = shown.chars().collect();
        for (i, chunk) in letters.chunks(LETTERS_PER_LINE).enumerate() {
            let label = if i == 0 { "states " } else { "       " };
            lines.push(format!("{label}{}", chunk.iter().collect::<String>()));
        }
        lines.push(
            "(_ idle, S starting, R reading, W writing, K keep-alive, C closing, G finishing, . empty)"
                .to_string(),
        );
        // Values from the scoreboard (the note, a path) never reach the terminal raw.
        lines.iter().map(|l| controls(l)).collect()
    }
}

/// A process's stall: `12s`, or `-` while its loop turns.
fn stalled_cell(ms: Option<u64>) -> String {
    ms.map_or_else(|| "-".to_string(), |ms| format!("{}s", ms / 1000))
}

/// 1.0 s → "1", 0.5 s → "0.5".
fn trim_secs(d: Duration) -> String {
    let text = format!("{:.2}", d.as_secs_f64());
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// `text` for a terminal: each line with its control characters escaped
/// (`slotgate::text::escape::controls`), line ends kept.
pub fn terminal_text(text: &str) -> String {
    let lines: Vec<String> = text.split('\n').map(controls).collect();
    lines.join("\n")
}

/// Left-aligned text columns sized to their widest cell.
struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    fn new(titles: &[&str]) -> Table {
        Table {
            rows: vec![titles.iter().map(|t| t.to_string()).collect()],
        }
    }

    /// Adds a row; control characters in a cell are escaped here, before the
    /// widths are measured, so a value from the scoreboard never reaches the
    /// terminal raw and the columns stay aligned.
    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells.iter().map(|c| controls(c)).collect());
    }

    fn render(&self) -> String {
        let columns = self.rows[0].len();
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                self.rows
                    .iter()
                    .map(|r| r[c].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for row in &self.rows {
            let mut line = String::new();
            for (cell, width) in row.iter().zip(&widths) {
                let _ = write!(line, "{cell:<width$}  ");
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Seconds as "42s", "3m05s", "2h07m", "5d03h".
fn duration(secs: u64) -> String {
    match secs {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        s => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_sec_divides_the_increase_by_the_time() {
        assert_eq!(per_sec(100, 150, 0.5), Some(100.0));
        assert_eq!(per_sec(7, 7, 1.0), Some(0.0));
        assert_eq!(per_sec(0, 30, 2.0), Some(15.0));
    }

    #[test]
    fn per_sec_gives_nothing_without_time_or_on_a_reset() {
        assert_eq!(per_sec(1, 2, 0.0), None);
        assert_eq!(per_sec(1, 2, -1.0), None);
        assert_eq!(per_sec(1, 2, f64::NAN), None);
        assert_eq!(per_sec(50, 3, 1.0), None);
    }

    fn member(id: usize, url: &str, requests: u64) -> Member {
        Member {
            id,
            balancer: Some("balancer://b".to_string()),
            url: url.to_string(),
            route: String::new(),
            redirect: String::new(),
            lbfactor: 100,
            lbset: 0,
            status: flags::INIT,
            elected: requests,
            busy: 0,
            lbstatus: 0,
            transferred: 0,
            read: 0,
            requests,
            errors: 0,
            hc: Health::default(),
        }
    }

    fn process(slot: usize, pid: i32, requests: u64) -> Process {
        Process {
            slot,
            pid,
            generation: 1,
            state: '_',
            connections: 0,
            requests,
            bytes_in: 0,
            bytes_out: 0,
            last_used: 0,
            allocations: 0,
            stalled_ms: None,
            local_faults: 0,
        }
    }

    fn snapshot(taken: Instant, members: Vec<Member>, processes: Vec<Process>) -> Snapshot {
        Snapshot {
            path: "test.scoreboard".to_string(),
            taken,
            now_ms: 0,
            supervisor_pid: 1,
            checker_pid: 0,
            phase: "running".to_string(),
            generation: 1,
            start_time: 0,
            restarts: 0,
            ports: vec![8080],
            letters: "__..".to_string(),
            processes,
            balancers: Vec::new(),
            members,
        }
    }

    #[test]
    fn rates_match_members_by_slot_and_url_and_processes_by_pid() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_secs(2);
        let before = snapshot(
            t0,
            vec![member(0, "http://a", 10), member(1, "http://b", 10)],
            vec![process(0, 100, 5), process(1, 101, 5)],
        );
        let after = snapshot(
            t1,
            // Slot 1 now holds another member: no rate for it.
            vec![member(0, "http://a", 30), member(1, "http://c", 40)],
            // Slot 1 now holds another process: no rate for it.
            vec![process(0, 100, 25), process(1, 202, 1)],
        );
        let rates = Rates::between(&before, &after);
        assert_eq!(rates.member(0), Some(10.0));
        assert_eq!(rates.member(1), None);
        assert_eq!(rates.process(0), Some(10.0));
        assert_eq!(rates.process(1), None);
        assert_eq!(rates.total(), 10.0);

        let lines = after.live_lines(Some(&rates), Duration::from_millis(500), None);
        let text = lines.join("\n");
        assert!(text.contains("every 0.5s"), "{text}");
        assert!(text.contains("phase running  generation 1"), "{text}");
        let a = lines.iter().find(|l| l.contains("http://a")).unwrap();
        assert!(a.contains("10.0"), "{a}");
        let c = lines.iter().find(|l| l.contains("http://c")).unwrap();
        assert!(c.split_whitespace().nth(2) == Some("-"), "{c}");

        let json = after.to_json_with_rates(Some(&rates));
        assert_eq!(json["members"][0]["requests_per_sec"], 10.0);
        assert!(json["members"][1]["requests_per_sec"].is_null());
    }

    #[test]
    fn a_stalled_process_shows_its_seconds_in_every_view() {
        let mut stalled = process(0, 100, 5);
        stalled.stalled_ms = Some(12_400);
        let snap = snapshot(
            Instant::now(),
            Vec::new(),
            vec![stalled, process(1, 101, 5)],
        );
        let row = |text: &str, pid: &str| {
            text.lines()
                .find(|l| l.split_whitespace().nth(1) == Some(pid))
                .unwrap_or_else(|| panic!("no row of {pid}: {text}"))
                .split_whitespace()
                .last()
                .unwrap()
                .to_string()
        };
        let live = snap
            .live_lines(None, Duration::from_secs(1), None)
            .join("\n");
        assert_eq!(
            (row(&live, "100"), row(&live, "101")),
            ("12s".into(), "-".into())
        );
        let text = snap.to_text();
        assert_eq!(
            (row(&text, "100"), row(&text, "101")),
            ("12s".into(), "-".into())
        );
        let json = snap.to_json();
        assert_eq!(json["processes"][0]["stalled_seconds"], 12);
        assert!(json["processes"][1]["stalled_seconds"].is_null());
    }

    #[test]
    fn rate_cells_round_by_size() {
        assert_eq!(rate_cell(None), "-");
        assert_eq!(rate_cell(Some(2.345)), "2.3");
        assert_eq!(rate_cell(Some(1234.6)), "1235");
        assert_eq!(trim_secs(Duration::from_secs(1)), "1");
        assert_eq!(trim_secs(Duration::from_millis(250)), "0.25");
    }
}
