//! `SetHandler metrics`: the scoreboard in Prometheus' text exposition format
//! 0.0.4 (`text/plain; version=0.0.4; charset=utf-8`).
//!
//! Every metric is named `slotgate_…` and has its `# HELP` and `# TYPE`
//! lines, then its samples. Member metrics carry the labels `balancer`
//! (`balancer://name`, empty for a member behind a plain `ProxyPass`),
//! `member` (its URL) and `route`. Members are those of the current
//! configuration plus members added at run time; processes are the slots with
//! a live process. Counters start again from 0 when a member slot is given
//! to a new member or a process slot to a new process (Prometheus' `rate()`
//! handles such resets). The metric list is in README, "Status and metrics".
//!
//! Only GET and HEAD are served (405 otherwise).

use std::fmt::Write as _;

use scoreboard::{flags, ProcessState, LATENCY_BOUNDS_US};

use super::snapshot::{Member, Snapshot};
use super::{Context, Request, Response};

/// The Content-Type of the text format 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Process states shown by `slotgate_process_state`, with their label value.
const STATES: [(ProcessState, &str); 8] = [
    (ProcessState::Starting, "starting"),
    (ProcessState::Idle, "idle"),
    (ProcessState::Reading, "reading"),
    (ProcessState::Writing, "writing"),
    (ProcessState::KeepAlive, "keepalive"),
    (ProcessState::Closing, "closing"),
    (ProcessState::Graceful, "graceful"),
    (ProcessState::Dead, "dead"),
];

pub fn serve(req: &Request, ctx: &Context) -> Response {
    if req.method != "GET" && req.method != "HEAD" {
        let mut r = Response::text(405, "metrics answers GET and HEAD only");
        r.headers.push(("Allow".into(), "GET, HEAD".into()));
        return r;
    }
    Response::new(200, CONTENT_TYPE, render(&Snapshot::take(ctx)))
}

/// One metric family being written: HELP and TYPE once, then samples.
struct Out {
    text: String,
}

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.text, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: impl std::fmt::Display) {
        self.text.push_str(name);
        if !labels.is_empty() {
            self.text.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.text.push(',');
                }
                let _ = write!(self.text, "{k}=\"{}\"", escape_label(v));
            }
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {value}");
    }
}

/// `\` and newline escaped, as HELP text needs.
fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

/// `\`, `"` and newline escaped, as label values need.
fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A µs amount in seconds, exactly (no float noise for the bucket bounds).
fn seconds(us: u64) -> String {
    let frac = us % 1_000_000;
    if frac == 0 {
        return format!("{}", us / 1_000_000);
    }
    let digits = format!("{frac:06}");
    format!("{}.{}", us / 1_000_000, digits.trim_end_matches('0'))
}

/// The exposition text of a snapshot.
pub(crate) fn render(snap: &Snapshot) -> String {
    let mut o = Out {
        text: String::new(),
    };
    let s = &snap.server;

    // Server.
    o.family(
        "slotgate_info",
        "gauge",
        "Build and MPM of the running server (always 1).",
    );
    o.sample(
        "slotgate_info",
        &[("version", env!("CARGO_PKG_VERSION")), ("mpm", s.mpm)],
        1,
    );
    o.family(
        "slotgate_generation",
        "gauge",
        "Configuration generation (bumped by every restart).",
    );
    o.sample("slotgate_generation", &[], s.generation);
    o.family(
        "slotgate_restarts_total",
        "counter",
        "Restarts since the scoreboard was created.",
    );
    o.sample("slotgate_restarts_total", &[], s.restarts);
    o.family(
        "slotgate_start_time_seconds",
        "gauge",
        "Supervisor start time, unix seconds.",
    );
    o.sample("slotgate_start_time_seconds", &[], s.start_time);
    o.family(
        "slotgate_uptime_seconds",
        "gauge",
        "Seconds since the supervisor started.",
    );
    o.sample("slotgate_uptime_seconds", &[], s.uptime_secs());
    o.family(
        "slotgate_processes",
        "gauge",
        "Worker processes alive (process slots with a pid).",
    );
    o.sample("slotgate_processes", &[], snap.live_processes());
    o.family(
        "slotgate_process_slots",
        "gauge",
        "Process slots of the scoreboard (the process limit).",
    );
    o.sample("slotgate_process_slots", &[], snap.processes.len());
    o.family(
        "slotgate_busy_workers",
        "gauge",
        "Processes in a busy state (R W K C G), as server-status' BusyWorkers.",
    );
    o.sample("slotgate_busy_workers", &[], snap.busy_workers());
    o.family(
        "slotgate_idle_workers",
        "gauge",
        "Processes waiting for a connection (_), as server-status' IdleWorkers.",
    );
    o.sample("slotgate_idle_workers", &[], snap.idle_workers());

    // Processes.
    let live: Vec<_> = snap.processes.iter().filter(|p| p.pid != 0).collect();
    o.family(
        "slotgate_process_state",
        "gauge",
        "1 for the state a worker process is in, 0 for the others.",
    );
    for p in &live {
        let slot = p.slot.to_string();
        let pid = p.pid.to_string();
        for (state, name) in STATES {
            o.sample(
                "slotgate_process_state",
                &[("slot", &slot), ("pid", &pid), ("state", name)],
                u8::from(p.state == state),
            );
        }
    }
    type Field = fn(&super::snapshot::Process) -> u64;
    let per_process: [(&str, &str, &str, Field); 7] = [
        (
            "slotgate_process_requests_total",
            "counter",
            "Requests read by the process.",
            |p| p.requests,
        ),
        (
            "slotgate_process_local_faults_total",
            "counter",
            "Times the process ran out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM).",
            |p| p.local_faults,
        ),
        (
            "slotgate_process_connections",
            "gauge",
            "Client connections the process holds open.",
            |p| p.connections,
        ),
        (
            "slotgate_process_connections_total",
            "counter",
            "Client connections the process accepted.",
            |p| p.total_connections,
        ),
        (
            "slotgate_process_accept_misses_total",
            "counter",
            "Times the process was woken for a client connection that another process took.",
            |p| p.accept_misses,
        ),
        (
            "slotgate_process_received_bytes_total",
            "counter",
            "Bytes the process read from clients.",
            |p| p.bytes_in,
        ),
        (
            "slotgate_process_sent_bytes_total",
            "counter",
            "Bytes the process wrote to clients.",
            |p| p.bytes_out,
        ),
    ];
    for (name, kind, help, field) in per_process {
        o.family(name, kind, help);
        for p in &live {
            let slot = p.slot.to_string();
            let pid = p.pid.to_string();
            o.sample(name, &[("slot", &slot), ("pid", &pid)], field(p));
        }
    }

    // Members: (balancer name, member) in a stable order.
    let members: Vec<(&str, &Member)> = snap
        .balancers
        .iter()
        .flat_map(|b| b.members.iter().map(move |m| (b.name.as_str(), m)))
        .chain(snap.standalone.iter().map(|m| ("", m)))
        .collect();
    type MemberField = fn(&Member) -> String;
    let per_member: [(&str, &str, &str, MemberField); 11] = [
        (
            "slotgate_member_elected_total",
            "counter",
            "Times the load balancer chose the member.",
            |m| m.elected.to_string(),
        ),
        (
            "slotgate_member_requests_total",
            "counter",
            "Requests the member finished (answered or failed).",
            |m| m.requests.to_string(),
        ),
        (
            "slotgate_member_sent_bytes_total",
            "counter",
            "Bytes sent to the member.",
            |m| m.transferred.to_string(),
        ),
        (
            "slotgate_member_received_bytes_total",
            "counter",
            "Bytes received from the member.",
            |m| m.read.to_string(),
        ),
        (
            "slotgate_member_errors_total",
            "counter",
            "Failed exchanges with the member (connect failures, malformed or cut-short responses, timeouts, failonstatus).",
            |m| m.errors.to_string(),
        ),
        (
            "slotgate_member_busy",
            "gauge",
            "Requests in flight to the member.",
            |m| m.busy.to_string(),
        ),
        (
            "slotgate_member_lbstatus",
            "gauge",
            "The load balancer's working value for the member (byrequests' score).",
            |m| m.lbstatus.to_string(),
        ),
        (
            "slotgate_member_lbfactor",
            "gauge",
            "The member's loadfactor.",
            |m| m.factor(),
        ),
        (
            "slotgate_member_lbset",
            "gauge",
            "The member's lbset.",
            |m| m.lbset.to_string(),
        ),
        (
            "slotgate_member_up",
            "gauge",
            "1 if the member is usable (initialised, and not disabled, stopped, in error or failing health checks).",
            |m| u8::from(m.usable()).to_string(),
        ),
        (
            "slotgate_member_health_check_ok",
            "gauge",
            "0 while the member fails its health checks (flag C), else 1.",
            |m| u8::from(m.status & flags::HC_FAILED == 0).to_string(),
        ),
    ];
    for (name, kind, help, field) in per_member {
        o.family(name, kind, help);
        for (balancer, m) in &members {
            o.sample(name, &member_labels(balancer, m), field(m));
        }
    }
    o.family(
        "slotgate_member_health_last_check_seconds",
        "gauge",
        "Unix time of the member's last health check (members with hcmethod, once checked).",
    );
    for (balancer, m) in &members {
        if m.hc.checked() && m.hc.last_check_ms > 0 {
            let mut labels = member_labels(balancer, m);
            labels.push(("method", m.hc.method_name()));
            let ms = m.hc.last_check_ms;
            o.sample(
                "slotgate_member_health_last_check_seconds",
                &labels,
                format!("{}.{:03}", ms / 1000, ms % 1000),
            );
        }
    }
    o.family(
        "slotgate_member_health_up",
        "gauge",
        "1 if the member's last health check passed, 0 if it failed; reason: its short result text.",
    );
    for (balancer, m) in &members {
        if let (true, Some((passed, _))) = (m.hc.checked(), m.hc.result) {
            let mut labels = member_labels(balancer, m);
            labels.push(("method", m.hc.method_name()));
            labels.push(("reason", m.hc.reason.as_str()));
            o.sample("slotgate_member_health_up", &labels, u8::from(passed));
        }
    }
    o.family(
        "slotgate_member_status",
        "gauge",
        "1 for each status flag the member has set, 0 for the others (httpd's letters).",
    );
    for (balancer, m) in &members {
        for (bit, letter, _) in flags::TABLE {
            let letter = letter.to_string();
            let mut labels = member_labels(balancer, m);
            labels.push(("flag", &letter));
            o.sample(
                "slotgate_member_status",
                &labels,
                u8::from(m.status & bit != 0),
            );
        }
    }
    o.family(
        "slotgate_member_latency_seconds",
        "histogram",
        "Time from sending a request to the member to the end of its response.",
    );
    let bounds: Vec<String> = LATENCY_BOUNDS_US.iter().map(|&b| seconds(b)).collect();
    for (balancer, m) in &members {
        let cumulative = m.latency.cumulative();
        for (le, count) in bounds
            .iter()
            .map(String::as_str)
            .chain(["+Inf"])
            .zip(cumulative)
        {
            let mut labels = member_labels(balancer, m);
            labels.push(("le", le));
            o.sample("slotgate_member_latency_seconds_bucket", &labels, count);
        }
        let labels = member_labels(balancer, m);
        o.sample(
            "slotgate_member_latency_seconds_sum",
            &labels,
            seconds(m.latency.sum_us),
        );
        o.sample(
            "slotgate_member_latency_seconds_count",
            &labels,
            cumulative[cumulative.len() - 1],
        );
    }
    o.text
}

fn member_labels<'a>(balancer: &'a str, m: &'a Member) -> Vec<(&'static str, &'a str)> {
    vec![
        ("balancer", balancer),
        ("member", m.url.as_str()),
        ("route", m.route.as_str()),
    ]
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use scoreboard::ProcessState;

    use super::super::snapshot::fixture::{get, Fixture};
    use super::*;

    const NOW_MS: u64 = 1_795_427_671_500;

    const CONF: &str = "\
<Proxy balancer://c>
    BalancerMember http://127.0.0.1:9001 route=a
    BalancerMember http://127.0.0.1:9002 route=b loadfactor=2.5
</Proxy>
ProxyPass /s http://127.0.0.1:9003/
ProxyPass / balancer://c/
";

    /// One sample line: name, labels, value.
    #[derive(Debug)]
    struct Sample {
        name: String,
        labels: BTreeMap<String, String>,
        value: f64,
    }

    /// A strict reader of the text format 0.0.4 as this handler writes it:
    /// HELP then TYPE before a family's samples, every sample of a declared
    /// family, label values quoted with escapes, values numbers. Returns the
    /// samples and each family's type.
    fn parse(text: &str) -> (Vec<Sample>, HashMap<String, String>) {
        let mut types = HashMap::new();
        let mut helps = HashMap::new();
        let mut samples = Vec::new();
        assert!(text.ends_with('\n'));
        for line in text.lines() {
            assert!(!line.is_empty(), "empty line");
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').expect("HELP text");
                assert!(!help.is_empty());
                assert!(
                    helps.insert(name.to_string(), ()).is_none(),
                    "two HELP for {name}"
                );
                continue;
            }
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE kind");
                assert!(helps.contains_key(name), "TYPE before HELP for {name}");
                assert!(["counter", "gauge", "histogram"].contains(&kind), "{kind}");
                assert!(types.insert(name.to_string(), kind.to_string()).is_none());
                continue;
            }
            assert!(!line.starts_with('#'), "stray comment {line}");
            let (head, value) = line.rsplit_once(' ').expect("sample value");
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("value in {line}")),
            };
            let (name, labels) = match head.split_once('{') {
                None => (head.to_string(), BTreeMap::new()),
                Some((name, rest)) => (name.to_string(), labels(rest.strip_suffix('}').unwrap())),
            };
            assert!(
                name.starts_with("slotgate_")
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{name}"
            );
            let family = ["_bucket", "_sum", "_count"]
                .iter()
                .filter_map(|s| name.strip_suffix(s))
                .find(|f| types.get(*f).is_some_and(|t| t == "histogram"))
                .unwrap_or(&name);
            assert!(types.contains_key(family), "sample before TYPE: {line}");
            if types[family] == "counter" {
                assert!(name.ends_with("_total"), "{name}");
            }
            samples.push(Sample {
                name,
                labels,
                value,
            });
        }
        (samples, types)
    }

    fn labels(mut s: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        while !s.is_empty() {
            let (key, rest) = s.split_once("=\"").expect("label =\"");
            let mut value = String::new();
            let mut chars = rest.char_indices();
            let end = loop {
                match chars.next().expect("closing quote") {
                    (_, '\\') => match chars.next().expect("escape").1 {
                        'n' => value.push('\n'),
                        c @ ('\\' | '"') => value.push(c),
                        c => panic!("bad escape \\{c}"),
                    },
                    (i, '"') => break i,
                    (_, c) => value.push(c),
                }
            };
            assert!(out.insert(key.to_string(), value).is_none());
            s = &rest[end + 1..];
            s = s.strip_prefix(',').unwrap_or(s);
        }
        out
    }

    /// Histograms: per label set (without `le`), buckets in ascending `le`,
    /// counts monotone, the last `+Inf` and equal to `_count`.
    fn check_histograms(samples: &[Sample], types: &HashMap<String, String>) -> usize {
        let mut checked = 0;
        for (family, _) in types.iter().filter(|(_, t)| *t == "histogram") {
            let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
            let mut counts: BTreeMap<String, f64> = BTreeMap::new();
            for s in samples {
                let mut labels = s.labels.clone();
                let le = labels.remove("le");
                let key = format!("{labels:?}");
                if s.name == format!("{family}_bucket") {
                    let le = le.expect("bucket le");
                    let le = if le == "+Inf" {
                        f64::INFINITY
                    } else {
                        le.parse().unwrap()
                    };
                    series.entry(key).or_default().push((le, s.value));
                } else if s.name == format!("{family}_count") {
                    counts.insert(key, s.value);
                }
            }
            assert_eq!(series.len(), counts.len(), "{family}");
            for (key, buckets) in &series {
                assert!(
                    buckets.windows(2).all(|w| w[0].0 < w[1].0),
                    "{key}: le order"
                );
                assert!(
                    buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                    "{key}: monotone"
                );
                let last = buckets.last().unwrap();
                assert_eq!(last.0, f64::INFINITY, "{key}: +Inf last");
                assert_eq!(Some(&last.1), counts.get(key), "{key}: +Inf == count");
                checked += 1;
            }
        }
        checked
    }

    fn value(samples: &[Sample], name: &str, want: &[(&str, &str)]) -> f64 {
        let found: Vec<&Sample> = samples
            .iter()
            .filter(|s| {
                s.name == name
                    && want
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect();
        assert_eq!(found.len(), 1, "{name} {want:?}: {found:?}");
        found[0].value
    }

    fn filled() -> Fixture {
        let f = Fixture::new(CONF, 3);
        let sb = &f.sb;
        sb.header().set_start_time(NOW_MS / 1000 - 60);
        sb.header().set_generation(2);
        sb.header().add_restart();
        sb.header().add_restart();
        let p = sb.process(0);
        p.set_pid(4242);
        p.set_state(ProcessState::KeepAlive);
        p.add_request();
        p.add_request();
        p.add_connection();
        p.add_accept_miss();
        p.add_accept_miss();
        p.add_accept_miss();
        p.set_connections(1);
        p.add_bytes_out(500);
        let c = &f.routes.balancers[0];
        let a = sb.member(c.members[0].slot);
        for us in [500, 1_500, 30_000, 20_000_000] {
            a.add_elected();
            a.add_request();
            a.record_latency_us(us);
        }
        a.add_transferred(123);
        a.add_read(4567);
        a.add_error();
        a.set_busy(1);
        let b = sb.member(c.members[1].slot);
        b.set_flags(scoreboard::flags::HC_FAILED | scoreboard::flags::DRAIN);
        f
    }

    #[test]
    fn exposition_parses_and_matches_the_scoreboard() {
        let f = filled();
        let r = serve(&get("GET", None), &f.ctx(NOW_MS));
        assert_eq!(r.status, 200);
        assert_eq!(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
        let text = String::from_utf8(r.body).unwrap();
        let (samples, types) = parse(&text);
        assert_eq!(check_histograms(&samples, &types), 3, "one per member");

        assert_eq!(value(&samples, "slotgate_generation", &[]), 2.0);
        assert_eq!(value(&samples, "slotgate_restarts_total", &[]), 2.0);
        assert_eq!(value(&samples, "slotgate_uptime_seconds", &[]), 60.0);
        assert_eq!(value(&samples, "slotgate_processes", &[]), 1.0);
        assert_eq!(value(&samples, "slotgate_process_slots", &[]), 3.0);
        assert_eq!(value(&samples, "slotgate_busy_workers", &[]), 1.0);
        let pid = [("pid", "4242")];
        assert_eq!(
            value(&samples, "slotgate_process_requests_total", &pid),
            2.0
        );
        assert_eq!(value(&samples, "slotgate_process_connections", &pid), 1.0);
        assert_eq!(
            value(&samples, "slotgate_process_connections_total", &pid),
            1.0
        );
        assert_eq!(
            value(&samples, "slotgate_process_sent_bytes_total", &pid),
            500.0
        );
        assert_eq!(
            value(&samples, "slotgate_process_accept_misses_total", &pid),
            3.0
        );
        let states: Vec<(&str, f64)> = samples
            .iter()
            .filter(|s| s.name == "slotgate_process_state")
            .map(|s| (s.labels["state"].as_str(), s.value))
            .collect();
        assert_eq!(states.len(), STATES.len());
        assert_eq!(
            states.iter().filter(|(_, v)| *v == 1.0).collect::<Vec<_>>(),
            [&("keepalive", 1.0)]
        );

        let a = [
            ("balancer", "balancer://c"),
            ("member", "http://127.0.0.1:9001"),
            ("route", "a"),
        ];
        assert_eq!(value(&samples, "slotgate_member_elected_total", &a), 4.0);
        assert_eq!(value(&samples, "slotgate_member_requests_total", &a), 4.0);
        assert_eq!(
            value(&samples, "slotgate_member_sent_bytes_total", &a),
            123.0
        );
        assert_eq!(
            value(&samples, "slotgate_member_received_bytes_total", &a),
            4567.0
        );
        assert_eq!(value(&samples, "slotgate_member_errors_total", &a), 1.0);
        assert_eq!(value(&samples, "slotgate_member_busy", &a), 1.0);
        assert_eq!(value(&samples, "slotgate_member_lbfactor", &a), 1.0);
        assert_eq!(value(&samples, "slotgate_member_up", &a), 1.0);
        assert_eq!(value(&samples, "slotgate_member_health_check_ok", &a), 1.0);
        let bucket = |le: &str| {
            let mut l = a.to_vec();
            l.push(("le", le));
            value(&samples, "slotgate_member_latency_seconds_bucket", &l)
        };
        assert_eq!(bucket("0.001"), 1.0);
        assert_eq!(bucket("0.0025"), 2.0);
        assert_eq!(bucket("0.025"), 2.0);
        assert_eq!(bucket("0.05"), 3.0);
        assert_eq!(bucket("10"), 3.0);
        assert_eq!(bucket("+Inf"), 4.0);
        assert_eq!(
            value(&samples, "slotgate_member_latency_seconds_count", &a),
            4.0
        );
        assert_eq!(
            value(&samples, "slotgate_member_latency_seconds_sum", &a),
            20.032
        );

        let b = [("member", "http://127.0.0.1:9002")];
        assert_eq!(value(&samples, "slotgate_member_lbfactor", &b), 2.5);
        assert_eq!(value(&samples, "slotgate_member_up", &b), 0.0);
        assert_eq!(value(&samples, "slotgate_member_health_check_ok", &b), 0.0);
        let flag = |f: &str| {
            let mut l = b.to_vec();
            l.push(("flag", f));
            value(&samples, "slotgate_member_status", &l)
        };
        assert_eq!(
            (flag("O"), flag("N"), flag("C"), flag("E"), flag("D")),
            (1.0, 1.0, 1.0, 0.0, 0.0)
        );

        // The standalone member: empty balancer label, I (ignore errors) set.
        let s = [("balancer", ""), ("member", "http://127.0.0.1:9003/")];
        assert_eq!(value(&samples, "slotgate_member_requests_total", &s), 0.0);
        let mut ign = s.to_vec();
        ign.push(("flag", "I"));
        assert_eq!(value(&samples, "slotgate_member_status", &ign), 1.0);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(escape_help("a\\b\nc"), "a\\\\b\\nc");
        assert_eq!(seconds(1_000), "0.001");
        assert_eq!(seconds(2_500), "0.0025");
        assert_eq!(seconds(10_000_000), "10");
        assert_eq!(seconds(0), "0");
        assert_eq!(seconds(1_234_567), "1.234567");
        let parsed = labels(r#"a="x\"y",b="\\",c="""#);
        assert_eq!(parsed["a"], "x\"y");
        assert_eq!(parsed["b"], "\\");
        assert_eq!(parsed["c"], "");
    }

    #[test]
    fn an_empty_server_still_declares_every_family() {
        let f = Fixture::new("ProxyPass / http://127.0.0.1:9001/\n", 2);
        let text = String::from_utf8(serve(&get("GET", None), &f.ctx(NOW_MS)).body).unwrap();
        let (samples, types) = parse(&text);
        assert!(types.contains_key("slotgate_member_latency_seconds"));
        assert_eq!(check_histograms(&samples, &types), 1);
        assert_eq!(value(&samples, "slotgate_processes", &[]), 0.0);
    }

    #[test]
    fn only_get_and_head() {
        let f = Fixture::new(CONF, 1);
        assert_eq!(serve(&get("PUT", None), &f.ctx(NOW_MS)).status, 405);
        assert_eq!(serve(&get("HEAD", None), &f.ctx(NOW_MS)).status, 200);
    }

    /// `promtool check metrics` (Debian package `prometheus`) on the output;
    /// skipped, saying so, where promtool is not installed.
    #[test]
    fn promtool_accepts_the_exposition() {
        let f = filled();
        let text = serve(&get("GET", None), &f.ctx(NOW_MS)).body;
        match promtool_check(&text) {
            None => eprintln!("skipped: promtool not installed (apt-get install prometheus)"),
            Some((ok, report)) => assert!(ok, "promtool check metrics failed:\n{report}"),
        }
    }

    /// Runs `promtool check metrics` with `text` on stdin: None when promtool
    /// cannot be started, else (success, its output).
    fn promtool_check(text: &[u8]) -> Option<(bool, String)> {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let mut child = Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .ok()?;
        child.stdin.take().unwrap().write_all(text).unwrap();
        let out = child.wait_with_output().unwrap();
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // Lint findings are printed but only problems fail the exit status;
        // hold the output to the stricter standard: no findings at all.
        Some((out.status.success() && report.trim().is_empty(), report))
    }
}
