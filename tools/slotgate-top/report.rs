//! A snapshot of the scoreboard, rendered as tables or as JSON.
//!
//! The snapshot copies every value out of the shared mapping first, so a
//! table is printed from one consistent read of each counter and the mapping
//! is not touched while formatting.

use scoreboard::{flags, Scoreboard};
use serde_json::{json, Value};
use slotgate::handlers::snapshot::{self as data, Member, Process};
use slotgate::text::escape::controls;
use slotgate::text::size::strfsize;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// State letters per line of the scoreboard string, as httpd's server-status.
const LETTERS_PER_LINE: usize = 64;

/// One read of the scoreboard (the same one server-status takes,
/// `slotgate::handlers::snapshot`), with where and when it was taken.
pub struct Snapshot {
    path: String,
    /// ServerName of the configuration, empty without one.
    server_name: String,
    /// When it was taken (monotonic), for rates between two snapshots.
    taken: Instant,
    data: data::Snapshot,
}

/// What slotgate-top knows of the configuration (nothing with a bare
/// scoreboard path).
#[derive(Default)]
pub struct Known {
    pub server_name: String,
    pub mpm: &'static str,
}

impl Snapshot {
    pub fn take(sb: &Scoreboard, path: &Path, known: &Known) -> Snapshot {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Snapshot {
            path: path.display().to_string(),
            server_name: known.server_name.clone(),
            taken: Instant::now(),
            data: data::Snapshot::of_scoreboard(sb, known.mpm, now_ms),
        }
    }

    /// Slots with a process.
    fn processes(&self) -> impl Iterator<Item = &Process> {
        self.data.processes.iter().filter(|p| p.pid != 0)
    }

    /// Every member with its balancer's name (None for a plain ProxyPass
    /// member): the balancers' in slot order, then the standalone ones.
    fn members(&self) -> impl Iterator<Item = (Option<&str>, &Member)> {
        self.data
            .balancers
            .iter()
            .flat_map(|b| b.members.iter().map(move |m| (Some(b.name.as_str()), m)))
            .chain(self.data.standalone.iter().map(|m| (None, m)))
    }

    fn member_count(&self) -> usize {
        self.members().count()
    }

    fn letters(&self) -> String {
        self.data.letters()
    }

    fn ports(&self) -> String {
        let ports: Vec<String> = self.data.server.ports.iter().map(u16::to_string).collect();
        if ports.is_empty() {
            "-".to_string()
        } else {
            ports.join(",")
        }
    }

    /// "health checker pid N", or "no health checker".
    fn checker(&self) -> String {
        match self.data.server.checker_pid {
            0 => "no health checker".to_string(),
            pid => format!("health checker pid {pid}"),
        }
    }

    pub fn to_text(&self) -> String {
        let s = &self.data.server;
        let mut out = String::new();
        let _ = writeln!(out, "scoreboard {}", self.path);
        let _ = writeln!(
            out,
            "supervisor pid {}  phase {}  generation {}  restarts {}  uptime {}  ports {}",
            s.supervisor_pid,
            s.phase,
            s.generation,
            s.restarts,
            duration(s.uptime_secs()),
            self.ports()
        );
        let _ = writeln!(out, "{}", self.checker());
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
            "accept misses",
            "stalled",
        ]);
        for p in self.processes() {
            table.row(vec![
                p.slot.to_string(),
                p.pid.to_string(),
                p.generation.to_string(),
                p.state.letter().to_string(),
                p.connections.to_string(),
                p.requests.to_string(),
                strfsize(p.bytes_in),
                strfsize(p.bytes_out),
                self.ago(p.last_used_ms),
                p.local_faults.to_string(),
                p.accept_misses.to_string(),
                stalled_cell(p.stalled_ms),
            ]);
        }
        out.push_str(&table.render());
        out.push_str("\nscoreboard:\n");
        let letters: Vec<char> = self.letters().chars().collect();
        for line in letters.chunks(LETTERS_PER_LINE) {
            out.extend(line.iter());
            out.push('\n');
        }
        out.push_str(STATE_KEY);
        out.push_str("\n\n");

        if !self.data.balancers.is_empty() {
            let mut table = Table::new(&[
                "balancer",
                "lbmethod",
                "sticky",
                "nofailover",
                "timeout",
                "maxattempts",
            ]);
            for b in &self.data.balancers {
                table.row(vec![
                    b.name.clone(),
                    b.lbmethod.clone(),
                    if b.sticky.is_empty() {
                        "(none)".to_string()
                    } else {
                        b.sticky.clone()
                    },
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
        for (balancer, m) in self.members() {
            let mut row = vec![
                m.slot.to_string(),
                balancer.unwrap_or("-").to_string(),
                m.url.clone(),
                dash(&m.route),
                m.factor(),
                m.lbset.to_string(),
                flags::display(m.status).trim_end().to_string(),
                m.elected.to_string(),
                m.busy.to_string(),
                m.lbstatus.to_string(),
                strfsize(m.transferred),
                strfsize(m.read),
                m.errors.to_string(),
            ];
            row.extend(self.health_cells(m));
            table.row(row);
        }
        if self.member_count() == 0 {
            out.push_str("no members\n");
        } else {
            out.push_str(&table.render());
        }
        terminal_text(&out)
    }

    /// The health-check cells of a member: method, last check, last result.
    fn health_cells(&self, m: &Member) -> [String; 3] {
        [
            if m.hc.checked() {
                m.hc.method_name().to_string()
            } else {
                "-".to_string()
            },
            self.ago(m.hc.last_check_ms),
            dash(&m.hc.reason),
        ]
    }

    /// server-status's `?json` object (`slotgate::handlers::status::json_value`,
    /// with the balancers), plus the file's path as `scoreboard_file`.
    pub fn to_json(&self) -> Value {
        let mut v = slotgate::handlers::status::json_value(&self.data, &self.server_name, true);
        v["scoreboard_file"] = json!(self.path);
        v
    }

    /// "3s ago" for a unix-ms time, "-" for never.
    fn ago(&self, unix_ms: u64) -> String {
        if unix_ms == 0 {
            return "-".to_string();
        }
        format!(
            "{} ago",
            duration(self.data.server.now_ms.saturating_sub(unix_ms) / 1000)
        )
    }
}

/// The key to the state letters.
const STATE_KEY: &str =
    "(_ idle, S starting, R reading, W writing, K keep-alive, C closing, G finishing, . empty)";

/// `text`, or "-" when it is empty.
fn dash(text: &str) -> String {
    if text.is_empty() {
        "-".to_string()
    } else {
        text.to_string()
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
            .members()
            .filter_map(|(_, m)| {
                let (_, old) = before
                    .members()
                    .find(|(_, o)| o.slot == m.slot && o.url == m.url)?;
                Some((m.slot, per_sec(old.requests, m.requests, secs)?))
            })
            .collect();
        let processes = after
            .processes()
            .filter_map(|p| {
                let old = before
                    .processes()
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
    /// `to_json` plus `requests_per_sec` on every member and live process
    /// slot (null before there are two snapshots, and on empty slots): the
    /// live view's `--json` lines.
    pub fn to_json_with_rates(&self, rates: Option<&Rates>) -> Value {
        let mut v = self.to_json();
        let member_rate = |m: &mut Value| {
            let slot = m["slot"].as_u64().unwrap_or(u64::MAX) as usize;
            m["requests_per_sec"] = json!(rates.and_then(|r| r.member(slot)));
        };
        if let Some(balancers) = v["balancers"].as_array_mut() {
            for b in balancers {
                b["members"]
                    .as_array_mut()
                    .into_iter()
                    .flatten()
                    .for_each(member_rate);
            }
        }
        v["standalone_members"]
            .as_array_mut()
            .into_iter()
            .flatten()
            .for_each(member_rate);
        if let Some(processes) = v["process_slots"].as_array_mut() {
            for p in processes {
                let slot = p["slot"].as_u64().unwrap_or(u64::MAX) as usize;
                p["requests_per_sec"] = json!(rates.and_then(|r| r.process(slot)));
            }
        }
        v
    }

    /// One frame of the live view, as lines (no line ends, no escapes):
    /// header, balancers, members with their request rate and health check,
    /// processes. `note` (if any) is shown under the header (e.g.
    /// "scoreboard replaced").
    pub fn live_lines(
        &self,
        rates: Option<&Rates>,
        interval: Duration,
        note: Option<&str>,
    ) -> Vec<String> {
        let s = &self.data.server;
        let mut lines = Vec::new();
        lines.push(format!(
            "slotgate-top  {}  every {}s  (q quit)",
            self.path,
            trim_secs(interval)
        ));
        lines.push(format!(
            "phase {}  generation {}  uptime {}  restarts {}  supervisor pid {}  {}  ports {}",
            s.phase,
            s.generation,
            duration(s.uptime_secs()),
            s.restarts,
            s.supervisor_pid,
            self.checker(),
            self.ports()
        ));
        let busy_members: i64 = self.members().map(|(_, m)| m.busy.max(0)).sum();
        lines.push(format!(
            "requests/s {}  in flight {}  connections {}  processes {}",
            rate_cell(rates.map(Rates::total)),
            busy_members,
            self.data.connections(),
            self.data.live_processes()
        ));
        if let Some(note) = note {
            lines.push(note.to_string());
        }
        lines.push(String::new());

        for b in &self.data.balancers {
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
        if !self.data.balancers.is_empty() {
            lines.push(String::new());
        }

        let mut table = Table::new(&[
            "balancer", "member", "req/s", "busy", "errors", "status", "load", "elected", "factor",
            "set", "route", "hc", "checked", "result",
        ]);
        for (balancer, m) in self.members() {
            let mut row = vec![
                balancer.unwrap_or("-").to_string(),
                m.url.clone(),
                rate_cell(rates.and_then(|r| r.member(m.slot))),
                m.busy.to_string(),
                m.errors.to_string(),
                flags::display(m.status).trim_end().to_string(),
                m.lbstatus.to_string(),
                m.elected.to_string(),
                m.factor(),
                m.lbset.to_string(),
                dash(&m.route),
            ];
            row.extend(self.health_cells(m));
            table.row(row);
        }
        if self.member_count() == 0 {
            lines.push("no members".to_string());
        } else {
            lines.extend(table.render().lines().map(str::to_string));
        }
        lines.push(String::new());

        let mut table = Table::new(&[
            "slot", "pid", "gen", "st", "conns", "req/s", "reqs", "stalled",
        ]);
        for p in self.processes() {
            table.row(vec![
                p.slot.to_string(),
                p.pid.to_string(),
                p.generation.to_string(),
                p.state.letter().to_string(),
                p.connections.to_string(),
                rate_cell(rates.and_then(|r| r.process(p.slot))),
                p.requests.to_string(),
                stalled_cell(p.stalled_ms),
            ]);
        }
        lines.extend(table.render().lines().map(str::to_string));
        let letters = self.letters();
        let used = letters.trim_end_matches('.');
        let shown = if used.is_empty() {
            &letters[..letters.len().min(LETTERS_PER_LINE)]
        } else {
            used
        };
        lines.push(String::new());
        let letters: Vec<char> = shown.chars().collect();
        for (i, chunk) in letters.chunks(LETTERS_PER_LINE).enumerate() {
            let label = if i == 0 { "states " } else { "       " };
            lines.push(format!("{label}{}", chunk.iter().collect::<String>()));
        }
        lines.push(STATE_KEY.to_string());
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

    fn member(slot: usize, url: &str, requests: u64) -> Member {
        Member {
            slot,
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
            error_time_ms: 0,
            hc_pcount: 0,
            hc_fcount: 0,
            latency_ewma_us: 0,
            latency: scoreboard::LatencyHistogram::default(),
            hc: data::Health::default(),
        }
    }

    /// `m` with a GET check whose last result was a 500.
    fn checked(mut m: Member) -> Member {
        m.hc.method = slotgate::config::HcMethod::Get.code();
        m.hc.reason = "status 500".to_string();
        m
    }

    fn process(slot: usize, pid: i32, requests: u64) -> Process {
        Process {
            slot,
            pid,
            generation: 1,
            state: scoreboard::ProcessState::Idle,
            connections: 0,
            total_connections: 0,
            requests,
            bytes_in: 0,
            bytes_out: 0,
            started_ms: 0,
            last_used_ms: 0,
            stalled_ms: None,
            local_faults: 0,
            last_local_fault: None,
            accept_misses: 0,
        }
    }

    fn snapshot(taken: Instant, members: Vec<Member>, processes: Vec<Process>) -> Snapshot {
        Snapshot {
            path: "test.scoreboard".to_string(),
            server_name: String::new(),
            taken,
            data: data::Snapshot {
                server: data::Server {
                    version: "slotgate/test".to_string(),
                    mpm: "",
                    now_ms: 0,
                    start_time: 0,
                    generation: 1,
                    restarts: 0,
                    phase: "running",
                    supervisor_pid: 1,
                    checker_pid: 77,
                    ports: vec![8080],
                },
                processes,
                balancers: vec![data::Balancer {
                    name: "balancer://b".to_string(),
                    lbmethod: "byrequests".to_string(),
                    sticky: String::new(),
                    timeout_ms: 0,
                    max_attempts: 1,
                    nofailover: false,
                    members,
                }],
                standalone: Vec::new(),
            },
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
            vec![
                member(0, "http://a", 30),
                checked(member(1, "http://c", 40)),
            ],
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
        // The live view names the health checker, as --once does.
        assert!(text.contains("health checker pid 77"), "{text}");
        let a = lines.iter().find(|l| l.contains("http://a")).unwrap();
        assert!(a.contains("10.0"), "{a}");
        let c = lines.iter().find(|l| l.contains("http://c")).unwrap();
        assert!(c.split_whitespace().nth(2) == Some("-"), "{c}");
        // The health columns: method, last check (never), last result.
        let words: Vec<&str> = c.split_whitespace().collect();
        assert_eq!(
            words[words.len() - 4..],
            ["GET", "-", "status", "500"],
            "{c}"
        );
        let head = lines.iter().find(|l| l.starts_with("balancer  ")).unwrap();
        assert!(head.ends_with("route  hc   checked  result"), "{head}");

        let json = after.to_json_with_rates(Some(&rates));
        let members = &json["balancers"][0]["members"];
        assert_eq!(members[0]["requests_per_sec"], 10.0);
        assert!(members[1]["requests_per_sec"].is_null());
        assert_eq!(json["process_slots"][0]["requests_per_sec"], 10.0);
        assert_eq!(json["checker_pid"], 77);
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
        assert_eq!(json["process_slots"][0]["stalled_seconds"], 12);
        assert!(json["process_slots"][1]["stalled_seconds"].is_null());
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
