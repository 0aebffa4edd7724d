//! `slotgate-bench burst`: the command line, the interleaved rounds over the
//! targets, and the table, JSON and SVG of the results (the engine is in
//! `burst.rs`).

use crate::burst::{self, BurstParams, BurstResult, SPARE_FDS};
use crate::histogram::Histogram;
use crate::load::{ErrorCounts, TimeSplit};
use crate::report::{aligned, errors_json, split_us_json, Spread, PERCENTILES};
use crate::{
    interleaved, parse_duration, parse_positive, parse_positive_list, rounds_for, svg, write_json,
    TargetArgs,
};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

struct Options {
    targets: TargetArgs,
    bursts: Vec<usize>,
    rate: f64,
    rounds: Option<usize>,
    timeout: Duration,
    pause: Duration,
    pin: Option<usize>,
    json: Option<String>,
    svg: Option<String>,
}

/// `Ok(None)` for `--help`.
fn parse(args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut o = Options {
        targets: TargetArgs::default(),
        bursts: vec![100, 1000, 5000, 10000, 20000],
        rate: 0.0,
        rounds: None,
        timeout: Duration::from_secs(10),
        pause: Duration::from_millis(500),
        pin: None,
        json: None,
        svg: None,
    };
    let mut args = crate::cli::Args::new(args);
    while let Some(word) = args.next()? {
        let arg = match word {
            crate::cli::Word::Option(arg) => arg,
            crate::cli::Word::Value(v) => return Err(format!("unknown argument {v:?}")),
        };
        // The option's name is in `arg` already (errors name it as given).
        let mut value = |_: &str| args.value();
        match arg.as_str() {
            "--url" | "--target" => o.targets.take(&arg, value(&arg)?)?,
            "--bursts" | "-b" => o.bursts = parse_positive_list("--bursts", &value("--bursts")?)?,
            "--rate" => {
                let v = value("--rate")?;
                o.rate = v
                    .parse::<f64>()
                    .ok()
                    .filter(|r| r.is_finite() && *r >= 0.0)
                    .ok_or_else(|| {
                        format!("--rate {v:?}: expected connections per second (0: all at once)")
                    })?;
            }
            "--rounds" => o.rounds = Some(parse_positive("--rounds", &value("--rounds")?)?),
            "--timeout" => o.timeout = parse_duration(&value("--timeout")?)?,
            "--pause" => o.pause = parse_duration(&value("--pause")?)?,
            "--pin" => {
                let v = value("--pin")?;
                o.pin = Some(
                    v.parse()
                        .map_err(|_| format!("--pin {v:?}: expected one CPU number"))?,
                );
            }
            "--json" => o.json = Some(value("--json")?),
            "--svg" => o.svg = Some(value("--svg")?),
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    o.targets.check()?;
    if o.timeout.is_zero() {
        return Err("--timeout must be more than 0".into());
    }
    Ok(Some(o))
}

/// All rounds of one target at one burst size.
struct Cell {
    target: String,
    url: String,
    burst: usize,
    runs: Vec<BurstResult>,
}

/// The figures of one histogram: min, avg, max, stddev, then `PERCENTILES`.
const FIGURES: [&str; 8] = ["min", "avg", "max", "stddev", "p50", "p90", "p99", "p99.9"];

fn figures_ms(h: &Histogram) -> [f64; 8] {
    let ms = |ns: f64| ns / 1e6;
    let mut out = [
        ms(h.min() as f64),
        ms(h.mean()),
        ms(h.max() as f64),
        ms(h.stddev()),
        0.0,
        0.0,
        0.0,
        0.0,
    ];
    for (i, (_, q)) in PERCENTILES.iter().enumerate() {
        out[4 + i] = ms(h.quantile(*q) as f64);
    }
    out
}

struct Summary {
    ok: Spread,
    /// Summed over the rounds.
    errors: ErrorCounts,
    kinds: BTreeMap<String, u64>,
    /// Medians (and spread) over the rounds of `FIGURES`, corrected.
    response_ms: [Spread; 8],
    /// The same, uncorrected (service time).
    service_ms: [Spread; 8],
    burst_s: Spread,
    split_us: [f64; 5],
}

impl Cell {
    fn summary(&self) -> Summary {
        let mut errors = ErrorCounts::default();
        let mut kinds = BTreeMap::new();
        let mut split = TimeSplit::default();
        for r in &self.runs {
            errors.add(&r.errors);
            split.add(&r.split);
            for (k, n) in &r.error_kinds {
                *kinds.entry(k.clone()).or_default() += n;
            }
        }
        let response: Vec<[f64; 8]> = self.runs.iter().map(|r| figures_ms(&r.latency)).collect();
        let service: Vec<[f64; 8]> = self.runs.iter().map(|r| figures_ms(&r.service)).collect();
        Summary {
            ok: Spread::of(self.runs.iter().map(|r| r.ok as f64)),
            errors,
            kinds,
            response_ms: std::array::from_fn(|i| Spread::of(response.iter().map(|f| f[i]))),
            service_ms: std::array::from_fn(|i| Spread::of(service.iter().map(|f| f[i]))),
            burst_s: Spread::of(self.runs.iter().map(|r| r.elapsed.as_secs_f64())),
            split_us: split.averages().map(|ns| ns / 1e3),
        }
    }
}

/// `slotgate-bench burst ARGS`.
pub fn main(args: impl Iterator<Item = String>) -> Result<(), String> {
    let Some(o) = parse(args)? else {
        println!("{}", crate::USAGE);
        return Ok(());
    };
    let targets = o.targets.resolve(true)?;
    if let Some(cpu) = o.pin {
        crate::load::pin_current_thread(cpu).map_err(|e| e.to_string())?;
    }
    // Every connection of a burst is open at once: make room for them.
    let limit = burst::raise_nofile_limit()
        .map_err(|e| format!("reading the open-files limit (RLIMIT_NOFILE): {e}"))?;
    let largest = limit.saturating_sub(SPARE_FDS).max(1) as usize;
    let mut bursts: Vec<usize> = Vec::new();
    for &b in &o.bursts {
        let capped = b.min(largest);
        if capped < b {
            eprintln!(
                "slotgate-bench: the open-files limit (RLIMIT_NOFILE, hard limit {limit}) is too low \
                 for a burst of {b} connections: running {capped} instead \
                 (raise the hard limit, e.g. `ulimit -Hn {}` as root, to run {b})",
                b as u64 + SPARE_FDS
            );
        }
        if !bursts.contains(&capped) {
            bursts.push(capped);
        }
    }
    let rounds = rounds_for(o.rounds, targets.len());
    let mut cells: Vec<Cell> = Vec::new();
    let mut first_run = true;
    for &size in &bursts {
        let first = cells.len();
        for t in &targets {
            cells.push(Cell {
                target: t.name.clone(),
                url: t.url.text.clone(),
                burst: size,
                runs: Vec::new(),
            });
        }
        for (round, i) in interleaved(rounds, targets.len()) {
            let t = &targets[i];
            if !first_run {
                // Let the server (and the kernel's TIME_WAIT sockets) settle.
                std::thread::sleep(o.pause);
            }
            first_run = false;
            eprintln!(
                "slotgate-bench: {} burst of {size}, round {}/{rounds}",
                t.name,
                round + 1
            );
            let params = BurstParams {
                addr: t.url.addr,
                request: &t.request,
                count: size,
                rate: o.rate,
                timeout: o.timeout,
            };
            let result = burst::run(&params)
                .map_err(|e| format!("running a burst against {}: {e}", t.url.text))?;
            cells[first + i].runs.push(result);
        }
    }
    print!("{}", table(&cells, o.rate));
    if let Some(path) = &o.json {
        let settings = json!({
            "bursts_requested": o.bursts,
            "bursts": bursts,
            "rate_per_s": o.rate,
            "all_at_once": o.rate == 0.0,
            "rounds": rounds,
            "timeout_s": o.timeout.as_secs_f64(),
            "pause_s": o.pause.as_secs_f64(),
            "open_files_limit": limit,
            "pin": o.pin,
            "response_time": "from each connection's intended start on the schedule (coordinated-omission corrected)",
            "service_time": "from the actual start of each connect (uncorrected)",
        });
        write_json(path, &to_json(&cells, settings))?;
    }
    if let Some(path) = &o.svg {
        let series: Vec<svg::MultiSeries> = targets
            .iter()
            .map(|t| svg::MultiSeries {
                name: t.name.clone(),
                points: cells
                    .iter()
                    .filter(|c| c.target == t.name)
                    .map(|c| {
                        let s = c.summary();
                        let r = &s.response_ms;
                        (c.burst, vec![r[1].median, r[6].median, r[2].median])
                    })
                    .collect(),
            })
            .collect();
        let pace = if o.rate == 0.0 {
            "all connections at once".to_string()
        } else {
            format!("{} connections/s", o.rate)
        };
        let title = format!(
            "slotgate-bench burst: {pace}, Connection: close, medians of {rounds} round(s)"
        );
        std::fs::write(
            path,
            svg::chart_panels(
                &title,
                "burst size (connections)",
                &[
                    "avg response time (ms)",
                    "p99 response time (ms)",
                    "max response time (ms)",
                ],
                &bursts,
                &series,
            ),
        )
        .map_err(|e| format!("writing {path}: {e}"))?;
    }
    Ok(())
}

fn table(cells: &[Cell], rate: f64) -> String {
    let header = [
        "target",
        "burst",
        "ok",
        "errors",
        "min ms*",
        "avg ms*",
        "max ms*",
        "sd ms*",
        "p50 ms*",
        "p90 ms*",
        "p99 ms*",
        "p99.9 ms*",
        "svc p99 ms",
        "time s",
        "open µs",
        "write µs",
        "wait µs",
        "read µs",
        "close µs",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for cell in cells {
        let s = cell.summary();
        let mut row = vec![
            cell.target.clone(),
            cell.burst.to_string(),
            format!("{:.0}", s.ok.median),
            s.errors.total().to_string(),
        ];
        row.extend(s.response_ms.iter().map(|f| format!("{:.3}", f.median)));
        row.push(format!("{:.3}", s.service_ms[6].median));
        row.push(format!("{:.3}", s.burst_s.median));
        row.extend(s.split_us.iter().map(|us| format!("{us:.1}")));
        rows.push(row);
    }
    let mut out = aligned(&rows);
    let start = if rate == 0.0 {
        "the burst's start (all connections are due at once)".to_string()
    } else {
        format!("its slot in the schedule ({rate} connections/s)")
    };
    let _ = writeln!(
        out,
        "* response time from each connection's intended start, {start}: \
         coordinated-omission corrected. `svc p99` is from the actual connect."
    );
    for cell in cells {
        let s = cell.summary();
        if !s.kinds.is_empty() {
            let kinds: Vec<String> = s.kinds.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
            let _ = writeln!(
                out,
                "{} burst {}: errors: {}",
                cell.target,
                cell.burst,
                kinds.join("; ")
            );
        }
    }
    out
}

fn figures_json(values: impl Fn(usize) -> Value) -> Value {
    let mut map = serde_json::Map::new();
    for (i, name) in FIGURES.iter().enumerate() {
        map.insert(name.to_string(), values(i));
    }
    Value::Object(map)
}

fn to_json(cells: &[Cell], settings: Value) -> Value {
    let results: Vec<Value> = cells
        .iter()
        .map(|cell| {
            let s = cell.summary();
            let rounds: Vec<Value> = cell
                .runs
                .iter()
                .map(|r| {
                    let response = figures_ms(&r.latency);
                    let service = figures_ms(&r.service);
                    json!({
                        "connections": r.count,
                        "ok": r.ok,
                        "responses": r.responses,
                        "body_bytes": r.body_bytes,
                        "errors": errors_json(&r.errors),
                        "error_kinds": r.error_kinds,
                        "response_time_ms": figures_json(|i| json!(response[i])),
                        "service_time_ms": figures_json(|i| json!(service[i])),
                        "samples": r.latency.count(),
                        "burst_s": r.elapsed.as_secs_f64(),
                        "issued_s": r.issued_in.as_secs_f64(),
                        "time_split_us": split_us_json(r.split.averages().map(|ns| ns / 1e3)),
                        "generator_cpu_s": r.cpu_seconds,
                    })
                })
                .collect();
            json!({
                "target": cell.target,
                "url": cell.url,
                "burst": cell.burst,
                "ok": Spread::json(&s.ok),
                "errors": errors_json(&s.errors),
                "error_kinds": s.kinds,
                "response_time_ms": figures_json(|i| Spread::json(&s.response_ms[i])),
                "service_time_ms": figures_json(|i| Spread::json(&s.service_ms[i])),
                "burst_s": Spread::json(&s.burst_s),
                "time_split_us": split_us_json(s.split_us),
                "rounds": rounds,
            })
        })
        .collect();
    json!({ "tool": "slotgate-bench", "mode": "burst", "settings": settings, "results": results })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> impl Iterator<Item = String> + '_ {
        text.split_whitespace().map(str::to_string)
    }

    #[test]
    fn options_and_defaults() {
        let o = parse(args("--url http://127.0.0.1:9/")).unwrap().unwrap();
        assert_eq!(o.bursts, vec![100, 1000, 5000, 10000, 20000]);
        assert_eq!(o.rate, 0.0);
        let o = parse(args(
            "--target a=http://127.0.0.1:9/ --target b=http://127.0.0.1:8/ --bursts 5,50 --rate 2000 --pin 1",
        ))
        .unwrap()
        .unwrap();
        assert_eq!((o.bursts, o.rate, o.pin), (vec![5, 50], 2000.0, Some(1)));
        assert!(parse(args("--url http://x/ --bursts 0")).is_err());
        assert!(parse(args("--url http://x/ --rate -1")).is_err());
        assert!(parse(args("--bursts 5")).is_err());
        assert!(parse(args("--help")).unwrap().is_none());
    }

    #[test]
    fn table_marks_corrected_columns_and_lists_error_kinds() {
        let mut latency = Histogram::new();
        let mut service = Histogram::new();
        for ms in 1..=10u64 {
            latency.record(ms * 2_000_000);
            service.record(ms * 1_000_000);
        }
        let errors = ErrorCounts {
            connect: 2,
            ..Default::default()
        };
        let run = BurstResult {
            count: 12,
            ok: 10,
            responses: 10,
            body_bytes: 1000,
            errors,
            error_kinds: BTreeMap::from([("connect: refused".to_string(), 2)]),
            latency,
            service,
            split: TimeSplit::default(),
            elapsed: Duration::from_millis(25),
            issued_in: Duration::from_millis(1),
            cpu_seconds: 0.01,
        };
        let cells = vec![Cell {
            target: "t".into(),
            url: "http://127.0.0.1:9/".into(),
            burst: 12,
            runs: vec![run],
        }];
        let text = table(&cells, 0.0);
        assert!(text.contains("p99 ms*"), "{text}");
        assert!(text.contains("coordinated-omission corrected"), "{text}");
        assert!(text.contains("connect: refused ×2"), "{text}");
        let v = to_json(&cells, json!({}));
        let r = &v["results"][0];
        assert_eq!(r["errors"]["total"], 2);
        assert_eq!(r["rounds"][0]["ok"], 10);
        assert_eq!(r["response_time_ms"]["max"]["median"], 20.0);
        assert_eq!(r["service_time_ms"]["max"]["median"], 10.0);
    }
}
