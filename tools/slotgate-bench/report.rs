//! Turning runs into figures: medians and spread over rounds, the table on
//! stdout and the JSON file.

use crate::load::{ErrorCounts, LoadResult, TimeSplit};
use serde_json::{json, Value};
use std::fmt::Write as _;

/// All rounds of one target at one concurrency.
pub struct Cell {
    pub target: String,
    pub url: String,
    pub concurrency: usize,
    pub runs: Vec<LoadResult>,
}

/// Median and extremes of one figure over the rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// The median is the middle value, or the mean of the two middle ones.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Spread {
        let mut v: Vec<f64> = values.into_iter().collect();
        if v.is_empty() {
            return Spread {
                median: 0.0,
                min: 0.0,
                max: 0.0,
            };
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Spread {
            median,
            min: v[0],
            max: v[n - 1],
        }
    }

    pub fn json(&self) -> Value {
        json!({ "median": self.median, "min": self.min, "max": self.max })
    }
}

/// The percentiles reported, as (label, quantile).
pub const PERCENTILES: [(&str, f64); 4] =
    [("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("p99.9", 0.999)];

/// What the table and chart show for one cell.
pub struct Summary {
    pub rps: Spread,
    /// Latency percentiles in milliseconds, as in `PERCENTILES`.
    pub latency_ms: [Spread; 4],
    pub errors: ErrorCounts,
    /// Average time split in microseconds: connect, write, wait, read, close.
    pub split_us: [f64; 5],
    /// CPU use of the load generator, in percent of one core.
    pub cpu_percent: Spread,
}

impl Cell {
    pub fn summary(&self) -> Summary {
        let mut errors = ErrorCounts::default();
        let mut split = TimeSplit::default();
        for r in &self.runs {
            errors.add(&r.errors);
            split.add(&r.split);
        }
        Summary {
            rps: Spread::of(self.runs.iter().map(LoadResult::requests_per_second)),
            latency_ms: PERCENTILES.map(|(_, q)| {
                Spread::of(self.runs.iter().map(|r| r.latency.quantile(q) as f64 / 1e6))
            }),
            errors,
            split_us: split.averages().map(|ns| ns / 1e3),
            cpu_percent: Spread::of(
                self.runs
                    .iter()
                    .map(|r| 100.0 * r.cpu_seconds / r.elapsed.as_secs_f64().max(1e-9)),
            ),
        }
    }
}

/// The table printed on stdout, one row per target and concurrency.
pub fn table(cells: &[Cell]) -> String {
    let multi_round = cells.iter().any(|c| c.runs.len() > 1);
    let mut header = vec!["target", "conc", "req/s"];
    if multi_round {
        header.push("req/s min..max");
    }
    header.extend([
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "p99.9 ms",
        "errors",
        "open µs",
        "write µs",
        "wait µs",
        "read µs",
        "close µs",
        "cpu %",
    ]);
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for cell in cells {
        let s = cell.summary();
        let mut row = vec![
            cell.target.clone(),
            cell.concurrency.to_string(),
            format!("{:.0}", s.rps.median),
        ];
        if multi_round {
            row.push(format!("{:.0}..{:.0}", s.rps.min, s.rps.max));
        }
        row.extend(s.latency_ms.iter().map(|p| format!("{:.3}", p.median)));
        row.push(s.errors.total().to_string());
        row.extend(s.split_us.iter().map(|us| format!("{us:.1}")));
        row.push(format!("{:.0}", s.cpu_percent.median));
        rows.push(row);
    }
    let mut out = aligned(&rows);
    // The first error of each cell, so a wall of errors explains itself.
    for cell in cells {
        if let Some(message) = cell.runs.iter().find_map(|r| r.first_error.as_ref()) {
            let _ = writeln!(
                out,
                "{} at {}: first error: {message}",
                cell.target, cell.concurrency
            );
        }
    }
    out
}

/// Rows as columns two spaces apart, each as wide as its widest field: the
/// first (the target name, text) left-aligned, the figures right-aligned.
pub fn aligned(rows: &[Vec<String>]) -> String {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        for (i, field) in row.iter().enumerate() {
            let pad = widths[i] - field.chars().count();
            if i == 0 {
                let _ = write!(out, "{field}{}", " ".repeat(pad));
            } else {
                let _ = write!(out, "  {}{field}", " ".repeat(pad));
            }
        }
        out.push('\n');
    }
    out
}

/// The average time split, in microseconds, by step.
pub fn split_us_json(split_us: [f64; 5]) -> Value {
    let [connect, write, wait, read, close] = split_us;
    json!({ "connect": connect, "write": write, "wait": wait, "read": read, "close": close })
}

/// Everything measured, per cell: the summary and every round's raw numbers.
pub fn json(cells: &[Cell], settings: Value) -> Value {
    let results: Vec<Value> = cells
        .iter()
        .map(|cell| {
            let s = cell.summary();
            let rounds: Vec<Value> = cell.runs.iter().map(run_json).collect();
            let mut latency = serde_json::Map::new();
            for ((label, _), spread) in PERCENTILES.iter().zip(&s.latency_ms) {
                latency.insert(label.to_string(), spread.json());
            }
            json!({
                "target": cell.target,
                "url": cell.url,
                "concurrency": cell.concurrency,
                "requests_per_second": s.rps.json(),
                "latency_ms": latency,
                "errors": errors_json(&s.errors),
                "time_split_us": split_us_json(s.split_us),
                "generator_cpu_percent": s.cpu_percent.json(),
                "requests_total": cell.runs.iter().map(|r| r.requests_total).sum::<u64>(),
                "errors_total": cell.runs.iter().map(|r| r.errors_total).sum::<u64>(),
                "rounds": rounds,
            })
        })
        .collect();
    json!({ "tool": "slotgate-bench", "mode": "load", "settings": settings, "results": results })
}

pub fn errors_json(e: &ErrorCounts) -> Value {
    json!({
        "connect": e.connect, "write": e.write, "read": e.read,
        "status": e.status, "timeout": e.timeout, "total": e.total(),
    })
}

fn run_json(r: &LoadResult) -> Value {
    let h = &r.latency;
    let mut latency = serde_json::Map::new();
    for (label, q) in PERCENTILES {
        latency.insert(label.to_string(), json!(h.quantile(q) as f64 / 1e6));
    }
    latency.insert("samples".into(), json!(h.count()));
    latency.insert("min".into(), json!(h.min() as f64 / 1e6));
    latency.insert("mean".into(), json!(h.mean() / 1e6));
    latency.insert("max".into(), json!(h.max() as f64 / 1e6));
    latency.insert("stddev".into(), json!(h.stddev() / 1e6));
    let [connect, write, wait, read, close] = r.split.averages().map(|ns| ns / 1e3);
    json!({
        "elapsed_s": r.elapsed.as_secs_f64(),
        "requests": r.requests,
        "requests_total": r.requests_total,
        "drained": r.drained,
        "errors_total": r.errors_total,
        "threads": r.threads,
        "requests_per_second": r.requests_per_second(),
        "body_bytes": r.body_bytes,
        "connections_opened": r.connections,
        "errors": errors_json(&r.errors),
        "first_error": r.first_error,
        "latency_ms": latency,
        "time_split_us": {
            "connect": connect, "connects": r.split.connects,
            "write": write, "wait": wait, "read": read,
            "close": close, "closes": r.split.closes,
        },
        "generator_cpu_s": r.cpu_seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_takes_the_middle() {
        assert_eq!(
            Spread::of([3.0, 1.0, 2.0]),
            Spread {
                median: 2.0,
                min: 1.0,
                max: 3.0
            }
        );
        assert_eq!(
            Spread::of([4.0, 1.0, 2.0, 3.0]),
            Spread {
                median: 2.5,
                min: 1.0,
                max: 4.0
            }
        );
        assert_eq!(
            Spread::of([]),
            Spread {
                median: 0.0,
                min: 0.0,
                max: 0.0
            }
        );
    }
}
