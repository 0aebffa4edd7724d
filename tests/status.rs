//! server-status and metrics against the real binary (issue #7): requests
//! sent through a balancer over 4 workers show up in `?auto`, `?json` and the
//! Prometheus exposition, which `promtool check metrics` accepts (promtool,
//! from the package `prometheus`, is required under `CI=true`; a local run
//! without it skips that check, saying so).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use common::*;

const REQUESTS: usize = 60;

fn start(a: &Origin, b: &Origin) -> Slotgate {
    Slotgate::start(&render(
        "Listen 127.0.0.1:0
StartServers 4
ServerName status.test
LogLevel warn
ProxyStatus On
<Location /server-status>
  SetHandler server-status
  Require ip 127.0.0.1
</Location>
<Location /metrics>
  SetHandler metrics
</Location>
ProxyPass /server-status !
ProxyPass /metrics !
<Proxy balancer://c>
  BalancerMember http://{a} route=a
  BalancerMember http://{b} route=b
</Proxy>
ProxyPass / balancer://c/
",
        &[a, b],
    ))
}

/// `?auto` as key → value (the first line, the server name, has no key).
fn auto(port: u16) -> (String, BTreeMap<String, String>) {
    let r = http_get(port, "/server-status?auto", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    let text = r.text();
    let mut lines = text.lines();
    let name = lines.next().unwrap_or("").to_string();
    let map = lines
        .map(|l| {
            let (k, v) = l.split_once(": ").unwrap_or_else(|| panic!("line {l:?}"));
            (k.to_string(), v.to_string())
        })
        .collect();
    (name, map)
}

/// A sample of the exposition: name, labels, value.
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Reads the exposition strictly (HELP and TYPE before samples, quoted label
/// values, numeric values) and checks every histogram: ascending `le`,
/// monotone counts, `+Inf` last and equal to `_count`.
fn parse_metrics(text: &str) -> Vec<Sample> {
    let mut types: HashMap<String, String> = HashMap::new();
    let mut helped = Vec::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            helped.push(rest.split_once(' ').expect("HELP text").0.to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE kind");
            assert!(
                helped.iter().any(|h| h == name),
                "TYPE without HELP: {name}"
            );
            types.insert(name.to_string(), kind.to_string());
            continue;
        }
        let (head, value) = line.rsplit_once(' ').expect("sample value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("value in {line:?}"));
        let (name, labels) = match head.split_once('{') {
            None => (head.to_string(), BTreeMap::new()),
            Some((name, rest)) => {
                let mut labels = BTreeMap::new();
                let mut rest = rest.strip_suffix('}').expect("closing brace");
                while !rest.is_empty() {
                    let (key, after) = rest.split_once("=\"").expect("label");
                    let mut value = String::new();
                    let mut end = None;
                    let mut chars = after.char_indices();
                    while let Some((i, c)) = chars.next() {
                        match c {
                            '\\' => value.push(chars.next().expect("escape").1),
                            '"' => {
                                end = Some(i);
                                break;
                            }
                            c => value.push(c),
                        }
                    }
                    let end = end.expect("closing quote");
                    labels.insert(key.to_string(), value);
                    rest = after[end + 1..].trim_start_matches(',');
                }
                (name.to_string(), labels)
            }
        };
        assert!(name.starts_with("slotgate_"), "{name}");
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .filter_map(|s| name.strip_suffix(s))
            .find(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            .unwrap_or(&name)
            .to_string();
        assert!(types.contains_key(&family), "sample before TYPE: {line}");
        samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    // Histograms.
    let mut buckets: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    let mut counts: BTreeMap<String, f64> = BTreeMap::new();
    for s in &samples {
        let mut labels = s.labels.clone();
        let le = labels.remove("le");
        if let Some(family) = s.name.strip_suffix("_bucket") {
            let le = le.expect("le");
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                le.parse().unwrap()
            };
            buckets
                .entry(format!("{family}{labels:?}"))
                .or_default()
                .push((le, s.value));
        } else if let Some(family) = s.name.strip_suffix("_count") {
            counts.insert(format!("{family}{labels:?}"), s.value);
        }
    }
    assert!(!buckets.is_empty());
    for (key, b) in &buckets {
        assert!(b.windows(2).all(|w| w[0].0 < w[1].0), "{key}: le order");
        assert!(b.windows(2).all(|w| w[0].1 <= w[1].1), "{key}: monotone");
        let last = b.last().unwrap();
        assert_eq!(last.0, f64::INFINITY, "{key}");
        assert_eq!(Some(&last.1), counts.get(key), "{key}: +Inf == count");
    }
    samples
}

fn member_sum(samples: &[Sample], name: &str) -> f64 {
    samples
        .iter()
        .filter(|s| {
            s.name == name && s.labels.get("balancer").map(String::as_str) == Some("balancer://c")
        })
        .map(|s| s.value)
        .sum()
}

fn metrics(port: u16) -> (String, Vec<Sample>) {
    let r = http_get(port, "/metrics", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = r.text();
    let samples = parse_metrics(&text);
    (text, samples)
}

#[test]
fn status_and_metrics_count_the_requests_sent() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start(&a, &b);
    sg.wait_workers(4, START_TIMEOUT);
    for i in 0..REQUESTS {
        let r = http_get(sg.port(), &format!("/item/{i}"), &[]);
        assert_eq!(r.status, 200, "{}", r.summary());
    }
    assert_eq!(a.requests() + b.requests(), REQUESTS);

    // A member's counters move when its exchange ends, just after the
    // client has the response: wait until all are in.
    let (text, samples) = wait_for(
        "member requests to add up",
        Duration::from_secs(10),
        || {
            let (text, samples) = metrics(sg.port());
            (member_sum(&samples, "slotgate_member_requests_total") == REQUESTS as f64)
                .then_some((text, samples))
        },
        || metrics(sg.port()).0,
    );
    assert_eq!(
        member_sum(&samples, "slotgate_member_elected_total"),
        REQUESTS as f64
    );
    assert_eq!(
        member_sum(&samples, "slotgate_member_latency_seconds_count"),
        REQUESTS as f64
    );
    assert!(member_sum(&samples, "slotgate_member_received_bytes_total") > 0.0);
    for (origin, route) in [(&a, "a"), (&b, "b")] {
        let requests = samples
            .iter()
            .find(|s| {
                s.name == "slotgate_member_requests_total"
                    && s.labels["route"] == route
                    && s.labels["member"] == origin.url()
            })
            .unwrap_or_else(|| panic!("no member {route} in\n{text}"));
        assert_eq!(requests.value, origin.requests() as f64, "route {route}");
    }
    let processes = samples
        .iter()
        .find(|s| s.name == "slotgate_processes")
        .unwrap();
    assert_eq!(processes.value, 4.0);
    let process_requests: f64 = samples
        .iter()
        .filter(|s| s.name == "slotgate_process_requests_total")
        .map(|s| s.value)
        .sum();
    assert!(process_requests >= REQUESTS as f64, "{process_requests}");

    if let Some(promtool) = require_tool("promtool", "prometheus") {
        let (ok, report) = promtool_check(&promtool, text.as_bytes());
        assert!(ok, "promtool check metrics:\n{report}\n{text}");
    }

    let (name, auto) = auto(sg.port());
    assert_eq!(name, "status.test");
    let num = |k: &str| -> u64 {
        auto.get(k)
            .unwrap_or_else(|| panic!("no {k} in {auto:?}"))
            .parse()
            .unwrap_or_else(|_| panic!("{k} not a number: {auto:?}"))
    };
    assert!(num("Total Accesses") >= REQUESTS as u64, "{auto:?}");
    assert_eq!(num("Processes"), 4);
    assert!(num("BusyWorkers") + num("IdleWorkers") <= 4, "{auto:?}");
    // The worker answering this request is busy (it is writing it).
    assert!(num("BusyWorkers") >= 1, "{auto:?}");
    assert!(auto["ServerVersion"].starts_with("slotgate/"));
    assert_eq!(auto["ServerMPM"], "event");
    let letters = &auto["Scoreboard"];
    assert_eq!(
        letters.chars().filter(|c| *c != '.').count(),
        4,
        "{letters}"
    );
    assert_eq!(auto["ProxyBalancer[0]Name"], "balancer://c");
    let elected: u64 = (0..2)
        .map(|j| {
            auto[&format!("ProxyBalancer[0]Worker[{j}]Elected")]
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(elected, REQUESTS as u64);
    assert_eq!(auto["ProxyBalancer[0]Worker[0]Name"], a.url());
    assert_eq!(auto["ProxyBalancer[0]Worker[0]Status"], "Init Ok ");

    let r = http_get(sg.port(), "/server-status?json", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
    assert!(v["total_accesses"].as_u64().unwrap() >= REQUESTS as u64);
    assert_eq!(v["processes"], 4);
    let members = v["balancers"][0]["members"].as_array().unwrap();
    let total: u64 = members
        .iter()
        .map(|m| m["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(total, REQUESTS as u64);

    let r = http_get(sg.port(), "/server-status", &[]);
    assert_eq!(r.status, 200);
    let page = r.text();
    assert!(
        page.contains("Proxy LoadBalancer Status for balancer://c"),
        "{page}"
    );
    assert!(page.contains("Scoreboard Key"), "{page}");

    // Nothing of this reached the origins.
    assert_eq!(a.requests() + b.requests(), REQUESTS);
}

#[test]
fn server_status_is_refused_to_other_addresses() {
    let a = Origin::start("a");
    let sg = Slotgate::start(&render(
        "Listen 127.0.0.1:0
StartServers 1
LogLevel warn
<Location /server-status>
  SetHandler server-status
  Require ip 10.9.8.7
</Location>
ProxyPass /server-status !
ProxyPass / http://{a}/
",
        &[&a],
    ));
    assert_eq!(http_get(sg.port(), "/server-status?auto", &[]).status, 403);
    // /metrics has no handler here: it is proxied like any other path.
    assert_eq!(http_get(sg.port(), "/metrics", &[]).status, 200);
    assert_eq!(a.requests(), 1);
}

/// `promtool check metrics` with `text` on stdin: (no problems and no lint
/// findings, its output).
fn promtool_check(promtool: &std::path::Path, text: &[u8]) -> (bool, String) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", promtool.display()));
    child.stdin.take().unwrap().write_all(text).unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && report.trim().is_empty(), report)
}
