//! The load generator `slotgate-bench`, run for real against slotgate in
//! front of an in-process origin: its JSON is complete and consistent, and
//! it counts exactly the requests the origin served. Runs are kept short and
//! nothing here asserts on speed (a debug build on a loaded machine).

mod common;

use common::*;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// A whole bench run (warm-up, window, drain, process start) stays well
/// inside this.
const RUN_TIMEOUT: Duration = Duration::from_secs(90);

fn bench_exe() -> &'static str {
    env!("CARGO_BIN_EXE_slotgate-bench")
}

/// Runs `slotgate-bench ARGS` to completion; panics with its output unless
/// it succeeded; returns the JSON it wrote to `json`.
fn bench(dir: &TempDir, args: &[&str], json: &Path) -> Value {
    let out = run_command(bench_exe(), args, dir, RUN_TIMEOUT);
    assert_eq!(
        out.code(),
        Some(0),
        "slotgate-bench {args:?} failed\nstdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    let text = std::fs::read_to_string(json)
        .unwrap_or_else(|e| panic!("reading {}: {e}\nstderr:\n{}", json.display(), out.stderr));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("parsing the JSON: {e}\n{text}"))
}

fn u(v: &Value, what: &str) -> u64 {
    v.as_u64()
        .unwrap_or_else(|| panic!("{what}: expected a count, got {v}"))
}

fn f(v: &Value, what: &str) -> f64 {
    v.as_f64()
        .unwrap_or_else(|| panic!("{what}: expected a number, got {v}"))
}

/// `names` read from `map` in order are non-decreasing.
fn assert_monotone(map: &Value, names: &[&str], pick: impl Fn(&Value) -> &Value) {
    let values: Vec<f64> = names.iter().map(|n| f(pick(&map[*n]), n)).collect();
    for w in values.windows(2) {
        assert!(w[0] <= w[1], "{names:?} not monotone: {values:?} in {map}");
    }
}

/// Runs `slotgate-bench MODE --url URL EXTRA... --json DIR/JSON_NAME`; returns
/// the JSON it wrote.
fn bench_url(dir: &TempDir, mode: &str, url: &str, extra: &[&str], json_name: &str) -> Value {
    let json_path = dir.path().join(json_name);
    let mut args = vec![mode, "--url", url];
    args.extend_from_slice(extra);
    args.extend(["--json", json_path.to_str().unwrap()]);
    bench(dir, &args, &json_path)
}

/// An origin with slotgate in front of it, and a scratch folder. (Fields
/// drop in this order: the folder, the proxy, the origin.)
struct Setup {
    dir: TempDir,
    _sg: Slotgate,
    a: Origin,
    /// `/bytes/100` through the proxy.
    url: String,
}

impl Setup {
    fn new() -> Setup {
        let a = Origin::start("a");
        let sg = start_proxy("ProxyPass / http://{a}/\n", &[&a]);
        let dir = TempDir::new();
        let url = format!("http://{}/bytes/100", sg.addr());
        Setup {
            dir,
            _sg: sg,
            a,
            url,
        }
    }

    /// `bench_url` against the proxy; also returns how many requests the
    /// origin served meanwhile.
    fn bench(&self, mode: &str, extra: &[&str], json_name: &str) -> (Value, u64) {
        let before = self.a.requests() as u64;
        let v = bench_url(&self.dir, mode, &self.url, extra, json_name);
        (v, self.a.requests() as u64 - before)
    }
}

#[test]
fn load_counts_every_request_the_origin_served() {
    let setup = Setup::new();
    for threads in ["1", "2"] {
        let (v, served) = setup.bench(
            "load",
            &[
                "--concurrency",
                "4",
                "--duration",
                "1s",
                "--warmup",
                "200ms",
                "--threads",
                threads,
            ],
            &format!("load-{threads}.json"),
        );
        assert_eq!(v["mode"], "load");
        assert_eq!(v["settings"]["threads"], threads.parse::<u64>().unwrap());
        let results = v["results"].as_array().expect("results");
        assert_eq!(results.len(), 1, "{v}");
        let rounds = results[0]["rounds"].as_array().expect("rounds");
        assert_eq!(rounds.len(), 1, "{v}");
        let r = &rounds[0];
        let requests = u(&r["requests"], "requests");
        let total = u(&r["requests_total"], "requests_total");
        let drained = u(&r["drained"], "drained");
        assert!(requests > 0, "no request in the window: {r}");
        assert_eq!(u(&r["errors"]["total"], "errors"), 0, "{r}");
        assert_eq!(u(&r["errors_total"], "errors_total"), 0, "{r}");
        assert!(
            requests + drained <= total,
            "window {requests} + drained {drained} > total {total}"
        );
        assert_eq!(
            total, served,
            "the bench counted {total} requests, the origin served {served}: {r}"
        );
        assert_eq!(u(&r["threads"], "threads"), threads.parse::<u64>().unwrap());
        assert_eq!(u(&r["body_bytes"], "body_bytes"), requests * 100, "{r}");
        let latency = &r["latency_ms"];
        assert_eq!(u(&latency["samples"], "samples"), requests);
        assert_monotone(
            latency,
            &["min", "p50", "p90", "p99", "p99.9", "max"],
            |x| x,
        );
        assert!(f(&latency["mean"], "mean") <= f(&latency["max"], "max"));
        assert!(f(&r["requests_per_second"], "req/s") > 0.0);
        // The summary agrees with the single round.
        assert_eq!(u(&results[0]["requests_total"], "summary total"), total);
        assert_monotone(
            &results[0]["latency_ms"],
            &["p50", "p90", "p99", "p99.9"],
            |x| &x["median"],
        );
    }
}

#[test]
fn burst_counts_every_connection_and_corrects_for_coordinated_omission() {
    let setup = Setup::new();
    let svg_path = setup.dir.path().join("burst.svg");
    let (v, served) = setup.bench(
        "burst",
        &[
            "--bursts",
            "50,200",
            "--pause",
            "100ms",
            "--timeout",
            "30s",
            "--svg",
            svg_path.to_str().unwrap(),
        ],
        "burst.json",
    );
    assert_eq!(v["mode"], "burst");
    let results = v["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "{v}");
    let mut responses = 0;
    for (cell, size) in results.iter().zip([50u64, 200]) {
        assert_eq!(u(&cell["burst"], "burst"), size);
        let r = &cell["rounds"][0];
        assert_eq!(u(&r["connections"], "connections"), size);
        assert_eq!(u(&r["errors"]["total"], "errors"), 0, "{r}");
        assert_eq!(u(&r["ok"], "ok"), size, "{r}");
        assert_eq!(u(&r["samples"], "samples"), size);
        assert_eq!(u(&r["body_bytes"], "body_bytes"), size * 100);
        responses += u(&r["responses"], "responses");
        let order = ["min", "p50", "p90", "p99", "p99.9", "max"];
        assert_monotone(&r["response_time_ms"], &order, |x| x);
        assert_monotone(&r["service_time_ms"], &order, |x| x);
        // Measured from the intended start, which is never after the actual
        // connect: each corrected figure is at least the uncorrected one.
        for name in order.iter().chain(&["avg"]) {
            let corrected = f(&r["response_time_ms"][*name], name);
            let service = f(&r["service_time_ms"][*name], name);
            assert!(
                corrected >= service,
                "{name}: corrected {corrected} < service {service}: {r}"
            );
        }
        assert!(f(&r["burst_s"], "burst_s") >= f(&r["issued_s"], "issued_s"));
        assert!(f(&r["response_time_ms"]["max"], "max") <= f(&r["burst_s"], "burst_s") * 1e3);
        for step in ["connect", "write", "wait", "read", "close"] {
            assert!(f(&r["time_split_us"][step], step) >= 0.0, "{r}");
        }
    }
    assert_eq!(
        responses, served,
        "the bench saw {responses} responses, the origin served {served}"
    );
    let svg = std::fs::read_to_string(&svg_path).expect("the SVG");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
}

#[test]
fn burst_against_a_refusing_port_counts_connect_errors() {
    let refusing = RefusingPort::new();
    let dir = TempDir::new();
    let url = format!("http://{}/", refusing.addr());
    let v = bench_url(
        &dir,
        "burst",
        &url,
        &["--bursts", "20", "--timeout", "5s"],
        "refused.json",
    );
    let r = &v["results"][0]["rounds"][0];
    assert_eq!(u(&r["ok"], "ok"), 0, "{r}");
    assert_eq!(u(&r["errors"]["connect"], "connect errors"), 20, "{r}");
    assert_eq!(u(&r["errors"]["total"], "errors"), 20, "{r}");
    let kinds = r["error_kinds"].as_object().expect("error kinds");
    assert!(kinds.keys().all(|k| k.starts_with("connect:")), "{kinds:?}");
}
