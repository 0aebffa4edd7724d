//! A snapshot of the scoreboard, rendered as tables or as JSON.
//!
//! The snapshot copies every value out of the shared mapping first, so a
//! table is printed from one consistent read of each counter and the mapping
//! is not touched while formatting.

use scoreboard::{flags, Scoreboard};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// State letters per line of the scoreboard string, as httpd's server-status.
const LETTERS_PER_LINE: usize = 64;

pub struct Snapshot {
    path: String,
    now_ms: u64,
    supervisor_pid: i32,
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
}

struct Member {
    id: usize,
    /// Balancer name, or None for a standalone ProxyPass worker.
    balancer: Option<String>,
    url: String,
    route: String,
    /// httpd stores lbfactor × 100.
    lbfactor: u32,
    lbset: u32,
    status: u32,
    elected: u64,
    busy: i64,
    lbstatus: i64,
    transferred: u64,
    read: u64,
    errors: u64,
}

impl Snapshot {
    pub fn take(sb: &Scoreboard, path: &Path) -> Snapshot {
        let header = sb.header();
        let slots = sb.processes();
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
                lbfactor: m.lbfactor(),
                lbset: m.lbset(),
                status: m.status(),
                elected: m.elected(),
                busy: m.busy(),
                lbstatus: m.lbstatus(),
                transferred: m.transferred(),
                read: m.read(),
                errors: m.errors(),
            })
            .collect();
        Snapshot {
            path: path.display().to_string(),
            now_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
            supervisor_pid: header.supervisor_pid(),
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
        ]);
        for p in &self.processes {
            table.row(vec![
                p.slot.to_string(),
                p.pid.to_string(),
                p.generation.to_string(),
                p.state.to_string(),
                p.connections.to_string(),
                p.requests.to_string(),
                bytes(p.bytes_in),
                bytes(p.bytes_out),
                self.ago(p.last_used),
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
            "to", "from", "errors",
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
                bytes(m.transferred),
                bytes(m.read),
                m.errors.to_string(),
            ]);
        }
        if self.members.is_empty() {
            out.push_str("no members\n");
        } else {
            out.push_str(&table.render());
        }
        out
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
                    "lbfactor": m.lbfactor as f64 / 100.0,
                    "lbset": m.lbset,
                    "status": flags::display(m.status).trim_end(),
                    "status_flags": flags::letters(m.status),
                    "elected": m.elected,
                    "busy": m.busy,
                    "lbstatus": m.lbstatus,
                    "transferred": m.transferred,
                    "read": m.read,
                    "errors": m.errors,
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

    fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
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

/// 1536 → "1.5K".
fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
    if n < 1024 {
        return n.to_string();
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1}{}", UNITS[unit])
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
