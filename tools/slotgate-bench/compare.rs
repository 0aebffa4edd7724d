//! `slotgate-bench compare`: slotgate (event and prefork), nginx, HAProxy and
//! httpd (event and prefork) in front of the same two origins, measured in
//! interleaved rounds, with a report in Markdown, SVG and JSON (issue 6).
//!
//! Per scenario (a concurrency level; keep-alive or `--close`; the body size)
//! and round, each target in turn (the order rotating every round) gets a
//! warm-up run, then a measured run between two samples of the CPU time of
//! its process tree; the PSS of the tree is taken right after. The efficiency
//! figure is *requests per proxy CPU-second*: on a small shared machine the
//! generator, the origins and the proxy compete for the same cores, so req/s
//! says as much about the neighbours as about the proxy, while the CPU the
//! proxy spent per request is its own.

use crate::load::{self, ErrorCounts, LoadParams, LoadResult};
use crate::peers::{self, Kind, Sizing, Started, TempDir, Tools};
use crate::procstat;
use crate::report::Spread;
use serde_json::{json, Value};
use slotgate::text::escape::xml as escape;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, SystemTime};

const USAGE: &str =
    "usage: slotgate-bench compare [--only NAME,NAME] [--concurrency 64,256] [--close]
                              [--body 100] [--rounds 5] [--duration 5s] [--warmup 1s]
                              [--timeout 10s] [--workers 1] [--threads 1] [--pin 0|CPULIST|none]
                              [--out DIR] [--slotgate PATH] [--origin-bin PATH]
                              [--origins auto|nginx|slotgate-origin] [--keep-temp] [--quick] [--check-configs]
targets: slotgate-event slotgate-prefork nginx haproxy httpd-event httpd-prefork";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OriginChoice {
    Auto,
    Nginx,
    SlotgateOrigin,
}

/// What the command line asked for.
#[derive(Debug, Clone)]
struct Options {
    only: Option<Vec<Kind>>,
    concurrency: Vec<usize>,
    close: bool,
    body: usize,
    rounds: usize,
    duration: Duration,
    warmup: Duration,
    timeout: Duration,
    workers: usize,
    threads: usize,
    /// CPUs for the generator threads; empty: not pinned.
    pin: Vec<usize>,
    out: PathBuf,
    slotgate: PathBuf,
    origin_bin: PathBuf,
    origins: OriginChoice,
    keep_temp: bool,
    quick: bool,
    /// Only write each target's configuration and have the target check it.
    check_configs: bool,
}

/// The entry point: run, print the error if any.
pub fn main(args: impl Iterator<Item = String>) -> ExitCode {
    let options = match parse(args) {
        Ok(Some(o)) => o,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("slotgate-bench compare: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("slotgate-bench compare: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The directory of the running binary (where cargo puts its siblings).
fn exe_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."))
}

fn parse_list(name: &str, text: &str) -> Result<Vec<usize>, String> {
    text.split(',')
        .map(|n| n.trim().parse::<usize>().ok().filter(|&n| n > 0))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| format!("{name} {text:?}: expected positive numbers separated by commas"))
}

fn parse_positive(name: &str, text: &str) -> Result<usize, String> {
    text.parse()
        .ok()
        .filter(|&n: &usize| n > 0)
        .ok_or_else(|| format!("{name} {text:?}: expected a positive number"))
}

/// `Ok(None)` for `--help`.
fn parse(args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let dir = exe_dir();
    let mut o = Options {
        only: None,
        concurrency: vec![64, 256],
        close: false,
        body: 100,
        rounds: 5,
        duration: Duration::from_secs(5),
        warmup: Duration::from_secs(1),
        timeout: Duration::from_secs(10),
        workers: 1,
        threads: 1,
        pin: vec![0],
        out: PathBuf::from(format!(
            "docs/benchmarks/compare-{}",
            date_of(SystemTime::now())
        )),
        slotgate: dir.join("slotgate"),
        origin_bin: dir.join("slotgate-origin"),
        origins: OriginChoice::Auto,
        keep_temp: false,
        quick: false,
        check_configs: false,
    };
    // Explicit options win over --quick wherever it appears.
    let (mut rounds, mut duration, mut warmup) = (None, None, None);
    let mut args = crate::cli::Args::new(args);
    while let Some(word) = args.next()? {
        let arg = match word {
            crate::cli::Word::Option(arg) => arg,
            crate::cli::Word::Value(v) => return Err(format!("unknown argument {v:?}")),
        };
        // The option's name is in `arg` already (errors name it as given).
        let mut value = |_: &str| args.value();
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--only" => {
                let v = value("--only")?;
                let kinds = v
                    .split(',')
                    .map(|n| {
                        Kind::from_name(n.trim())
                            .ok_or_else(|| format!("--only: unknown target {n:?}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                o.only = Some(kinds);
            }
            "--concurrency" | "-c" => {
                o.concurrency = parse_list("--concurrency", &value("--concurrency")?)?
            }
            "--close" => o.close = true,
            "--body" => {
                let v = value("--body")?;
                o.body = v
                    .parse()
                    .map_err(|_| format!("--body {v:?}: expected a number of bytes"))?;
            }
            "--rounds" => rounds = Some(parse_positive("--rounds", &value("--rounds")?)?),
            "--duration" | "-d" => duration = Some(crate::parse_duration(&value("--duration")?)?),
            "--warmup" => warmup = Some(crate::parse_duration(&value("--warmup")?)?),
            "--timeout" => o.timeout = crate::parse_duration(&value("--timeout")?)?,
            "--workers" => o.workers = parse_positive("--workers", &value("--workers")?)?,
            "--threads" => o.threads = parse_positive("--threads", &value("--threads")?)?,
            "--pin" => {
                let v = value("--pin")?;
                o.pin = if v == "none" {
                    Vec::new()
                } else {
                    crate::parse_cpu_list(&v)?
                };
            }
            "--out" => o.out = PathBuf::from(value("--out")?),
            "--slotgate" => o.slotgate = PathBuf::from(value("--slotgate")?),
            "--origin-bin" => o.origin_bin = PathBuf::from(value("--origin-bin")?),
            "--origins" => {
                o.origins = match value("--origins")?.as_str() {
                    "auto" => OriginChoice::Auto,
                    "nginx" => OriginChoice::Nginx,
                    "slotgate-origin" => OriginChoice::SlotgateOrigin,
                    other => {
                        return Err(format!(
                            "--origins {other:?}: auto, nginx or slotgate-origin"
                        ))
                    }
                }
            }
            "--keep-temp" => o.keep_temp = true,
            "--quick" => o.quick = true,
            "--check-configs" => o.check_configs = true,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if o.quick {
        o.rounds = 1;
        o.duration = Duration::from_secs(1);
        o.warmup = Duration::from_millis(200);
    }
    o.rounds = rounds.unwrap_or(o.rounds);
    o.duration = duration.unwrap_or(o.duration);
    o.warmup = warmup.unwrap_or(o.warmup);
    if o.duration.is_zero() {
        return Err("--duration must be more than 0".into());
    }
    if let Some(&c) = o.pin.iter().find(|&&c| c >= nproc()) {
        return Err(format!(
            "--pin: CPU {c} does not exist (this machine has {})",
            nproc()
        ));
    }
    Ok(Some(o))
}

fn nproc() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

// ---------------------------------------------------------------------------
// Figures.

/// One measured run of one target.
#[derive(Debug, Clone, Default)]
pub struct Round {
    pub round: usize,
    /// Completed in the window.
    pub requests: u64,
    /// Completed between the two CPU samples (window + drain).
    pub requests_sampled: u64,
    pub window_s: f64,
    pub rps: f64,
    pub proxy_cpu_s: f64,
    pub origin_cpu_s: f64,
    pub generator_cpu_s: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub errors: ErrorCounts,
    pub first_error: Option<String>,
    pub pss_kib: u64,
    pub processes: usize,
    pub body_bytes: u64,
    pub connections: u64,
}

impl Round {
    fn from_result(round: usize, r: &LoadResult, proxy_cpu_s: f64, origin_cpu_s: f64) -> Round {
        let q = |q: f64| r.latency.quantile(q) as f64 / 1e6;
        Round {
            round,
            requests: r.requests,
            requests_sampled: r.requests_total,
            window_s: r.elapsed.as_secs_f64(),
            rps: r.requests_per_second(),
            proxy_cpu_s,
            origin_cpu_s,
            generator_cpu_s: r.cpu_seconds,
            p50_ms: q(0.5),
            p90_ms: q(0.9),
            p99_ms: q(0.99),
            p999_ms: q(0.999),
            errors: r.errors,
            first_error: r.first_error.clone(),
            pss_kib: 0,
            processes: 0,
            body_bytes: r.body_bytes,
            connections: r.connections,
        }
    }

    /// Requests per proxy CPU-second: every response completed between the
    /// two CPU samples over the CPU time between them (None if no CPU time
    /// was measured, below the clock tick).
    pub fn per_cpu_second(&self) -> Option<f64> {
        (self.proxy_cpu_s > 0.0).then(|| self.requests_sampled as f64 / self.proxy_cpu_s)
    }

    fn json(&self) -> Value {
        let e = &self.errors;
        json!({
            "round": self.round,
            "requests": self.requests,
            "requests_between_cpu_samples": self.requests_sampled,
            "window_s": self.window_s,
            "req_per_s": self.rps,
            "proxy_cpu_s": self.proxy_cpu_s,
            "req_per_proxy_cpu_s": self.per_cpu_second(),
            "origin_cpu_s": self.origin_cpu_s,
            "generator_cpu_s": self.generator_cpu_s,
            "latency_ms": { "p50": self.p50_ms, "p90": self.p90_ms, "p99": self.p99_ms, "p99.9": self.p999_ms },
            "errors": { "connect": e.connect, "write": e.write, "read": e.read, "status": e.status,
                        "timeout": e.timeout, "total": e.total() },
            "first_error": self.first_error,
            "pss_kib": self.pss_kib,
            "processes": self.processes,
            "body_bytes": self.body_bytes,
            "connections_opened": self.connections,
        })
    }
}

/// All rounds of one target in one scenario.
#[derive(Debug, Clone)]
pub struct Row {
    pub target: String,
    pub rounds: Vec<Round>,
}

/// Medians over the rounds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowSummary {
    pub rps: Spread,
    pub per_cpu: Spread,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub pss_mib: f64,
    pub errors: u64,
    /// Proxy CPU in % of one core over the run.
    pub cpu_percent: f64,
    /// The origins' CPU, in % of one core.
    pub origin_cpu_percent: f64,
    /// The generator's CPU, in % of one core.
    pub generator_cpu_percent: f64,
}

impl Row {
    pub fn summary(&self) -> RowSummary {
        let r = &self.rounds;
        RowSummary {
            rps: Spread::of(r.iter().map(|x| x.rps)),
            per_cpu: Spread::of(r.iter().filter_map(Round::per_cpu_second)),
            p50_ms: Spread::of(r.iter().map(|x| x.p50_ms)).median,
            p99_ms: Spread::of(r.iter().map(|x| x.p99_ms)).median,
            pss_mib: Spread::of(r.iter().map(|x| x.pss_kib as f64 / 1024.0)).median,
            errors: r.iter().map(|x| x.errors.total()).sum(),
            cpu_percent: Self::percent(r, |x| x.proxy_cpu_s),
            origin_cpu_percent: Self::percent(r, |x| x.origin_cpu_s),
            generator_cpu_percent: Self::percent(r, |x| x.generator_cpu_s),
        }
    }

    /// Median over the rounds of `seconds` in % of the window.
    fn percent(rounds: &[Round], seconds: impl Fn(&Round) -> f64) -> f64 {
        Spread::of(
            rounds
                .iter()
                .map(|x| 100.0 * seconds(x) / x.window_s.max(1e-9)),
        )
        .median
    }
}

/// `a / b`, when `b` is a usable divisor.
pub fn ratio(a: f64, b: f64) -> Option<f64> {
    (b > 0.0 && a.is_finite() && b.is_finite()).then(|| a / b)
}

/// The peer (not slotgate) with the most requests per proxy CPU-second.
pub fn best_peer(rows: &[(String, RowSummary)]) -> Option<usize> {
    rows.iter()
        .enumerate()
        .filter(|(_, (name, _))| !name.starts_with("slotgate"))
        .max_by(|a, b| a.1 .1.per_cpu.median.total_cmp(&b.1 .1.per_cpu.median))
        .map(|(i, _)| i)
}

fn spread_cell(s: &Spread, many: bool) -> String {
    if many {
        format!("{:.0} ({:.0}..{:.0})", s.median, s.min, s.max)
    } else {
        format!("{:.0}", s.median)
    }
}

/// The Markdown table of one scenario, then the "best peer" lines.
pub fn scenario_markdown(rows: &[(String, RowSummary)], rounds: usize) -> String {
    let many = rounds > 1;
    let spread = if many { " (min..max)" } else { "" };
    let mut out = format!(
        "| target | req/s median{spread} | req per proxy CPU-s median{spread} | p50 ms | p99 ms | PSS MiB | errors | proxy CPU % | origins CPU % | generator CPU % |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    );
    for (name, s) in rows {
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {:.2} | {:.2} | {:.1} | {} | {:.0} | {:.0} | {:.0} |",
            spread_cell(&s.rps, many),
            spread_cell(&s.per_cpu, many),
            s.p50_ms,
            s.p99_ms,
            s.pss_mib,
            s.errors,
            s.cpu_percent,
            s.origin_cpu_percent,
            s.generator_cpu_percent
        );
    }
    out.push('\n');
    match best_peer(rows) {
        None => out.push_str("Best peer: none measured (only slotgate targets ran).\n"),
        Some(b) => {
            let (peer, p) = &rows[b];
            let _ = writeln!(
                out,
                "Best peer (most requests per proxy CPU-second): **{peer}**, {:.0} req/s, {:.0} req/CPU-s, p99 {:.2} ms.\n",
                p.rps.median, p.per_cpu.median, p.p99_ms
            );
            for (name, s) in rows.iter().filter(|(n, _)| n.starts_with("slotgate")) {
                let f = |x: Option<f64>| x.map_or("n/a".to_string(), |x| format!("×{x:.2}"));
                let _ = writeln!(
                    out,
                    "- {name} ÷ {peer}: req/s {}, req per CPU-s {}, p99 {} (above 1 is better for the first two, below 1 for p99)",
                    f(ratio(s.rps.median, p.rps.median)),
                    f(ratio(s.per_cpu.median, p.per_cpu.median)),
                    f(ratio(s.p99_ms, p.p99_ms)),
                );
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Environment.

/// `YYYY-MM-DD` (UTC) of `t`.
pub use slotgate::text::date::ymd as date_of;

/// The machine, as (label, value) lines.
fn machine() -> Vec<(&'static str, String)> {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpuinfo = read("/proc/cpuinfo");
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown".to_string(), |(_, v)| v.trim().to_string());
    let kernel = format!(
        "{} {} {}",
        read("/proc/sys/kernel/ostype").trim(),
        read("/proc/sys/kernel/osrelease").trim(),
        std::env::consts::ARCH
    );
    let ram = read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or("unknown".to_string(), |kib| {
            format!("{:.1} GiB", kib / 1024.0 / 1024.0)
        });
    vec![
        ("CPUs (nproc)", nproc().to_string()),
        ("CPU model", model),
        ("kernel", kernel),
        ("RAM", ram),
    ]
}

fn git_commit() -> String {
    let cwd_commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    cwd_commit.unwrap_or_else(|| "unknown (not run inside the git checkout)".into())
}

/// The command line, quoted for a POSIX shell where needed.
fn command_line() -> String {
    std::env::args()
        .map(|a| {
            if !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=,:+".contains(c))
            {
                a
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------
// The run.

struct Target {
    kind: Kind,
    proc: Started,
    config: String,
}

fn run(o: &Options) -> Result<(), String> {
    let tools = Tools {
        slotgate: o.slotgate.clone(),
        origin_bin: o.origin_bin.clone(),
        nginx: peers::find_program("nginx"),
        haproxy: peers::find_program("haproxy"),
        apache2: peers::find_program("apache2"),
        apache_modules: PathBuf::from("/usr/lib/apache2/modules"),
    };
    // Which targets: the ones asked for (all must exist), or every installed one.
    let mut kinds = Vec::new();
    let mut skipped = Vec::new();
    match &o.only {
        Some(only) => {
            for &k in only {
                tools.program(k).map_err(|e| format!("{}: {e}", k.name()))?;
                if !kinds.contains(&k) {
                    kinds.push(k);
                }
            }
        }
        None => {
            for k in Kind::ALL {
                match tools.program(k) {
                    Ok(_) => kinds.push(k),
                    Err(e) => {
                        eprintln!("slotgate-bench compare: skipping {}: {e}", k.name());
                        skipped.push((k.name(), e));
                    }
                }
            }
        }
    }
    let use_nginx_origins = match o.origins {
        OriginChoice::Nginx => {
            if tools.nginx.is_none() {
                return Err("--origins nginx: nginx is not installed".into());
            }
            true
        }
        OriginChoice::SlotgateOrigin => false,
        OriginChoice::Auto => tools.nginx.is_some(),
    };
    let max_concurrency = *o.concurrency.iter().max().unwrap_or(&1);
    let sizing = Sizing {
        workers: o.workers,
        max_concurrency,
    };

    peers::install_interrupt_handler()?;
    let mut tmp = TempDir::new("slotgate-compare")?;
    if o.check_configs {
        // Nothing is started: the origin ports only need to be well-formed.
        let ports = peers::free_ports(2)?;
        for &k in &kinds {
            let p = peers::prepare_proxy(k, &tools, &tmp, [ports[0], ports[1]], &sizing)?;
            println!(
                "{}: configuration accepted by {}",
                k.name(),
                p.program.display()
            );
        }
        return Ok(());
    }
    tmp.keep = o.keep_temp;
    if o.keep_temp {
        eprintln!(
            "slotgate-bench compare: configurations and logs in {}",
            tmp.path.display()
        );
    }
    let origins = peers::start_origins(&tools, &tmp, o.body, use_nginx_origins)?;
    let path = peers::request_path(o.body);
    for &port in &origins.ports {
        peers::probe(port, &path, o.body).map_err(|e| format!("origin on port {port}: {e}"))?;
    }
    eprintln!("slotgate-bench compare: origins: {}", origins.description);
    let mut targets = Vec::new();
    for &k in &kinds {
        let (proc, config) = peers::start_proxy(k, &tools, &tmp, origins.ports, &sizing)?;
        peers::probe(proc.port, &path, o.body).map_err(|e| {
            format!(
                "{}: a first request through it failed: {e}\n{}",
                k.name(),
                proc.log_tail()
            )
        })?;
        eprintln!(
            "slotgate-bench compare: {} listening on 127.0.0.1:{} (pid {})",
            k.name(),
            proc.port,
            proc.pid
        );
        targets.push(Target {
            kind: k,
            proc,
            config,
        });
    }
    let pinned = if o.pin.is_empty() {
        "nothing pinned".to_string()
    } else {
        format!(
            "generator thread(s) pinned to CPU {}; proxies and origins not pinned",
            o.pin
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(",")
        )
    };
    eprintln!("slotgate-bench compare: {pinned}");

    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slotgate-bench\r\nAccept: */*\r\n{}\r\n",
        if o.close { "Connection: close\r\n" } else { "" }
    )
    .into_bytes();
    let origin_pids: Vec<i32> = origins.procs.iter().map(|p| p.pid).collect();
    let origin_cpu = || -> f64 {
        origin_pids
            .iter()
            .map(|&p| procstat::tree_cpu_seconds(p))
            .sum()
    };

    // scenarios[s][t]: rounds of target t at concurrency s.
    let mut scenarios: Vec<Vec<Row>> = Vec::new();
    for &concurrency in &o.concurrency {
        let mut rows: Vec<Row> = targets
            .iter()
            .map(|t| Row {
                target: t.kind.name().to_string(),
                rounds: Vec::new(),
            })
            .collect();
        for round in 0..o.rounds {
            for k in 0..targets.len() {
                let i = (k + round) % targets.len();
                let t = &targets[i];
                eprintln!(
                    "slotgate-bench compare: {} at concurrency {concurrency}, round {}/{}",
                    t.kind.name(),
                    round + 1,
                    o.rounds
                );
                let mut params = LoadParams {
                    addr: SocketAddr::from(([127, 0, 0, 1], t.proc.port)),
                    request: &request,
                    concurrency,
                    warmup: Duration::ZERO,
                    duration: o.warmup,
                    close: o.close,
                    timeout: o.timeout,
                };
                let load = |p: &LoadParams| {
                    if o.pin.is_empty() {
                        load::run_threads(p, o.threads)
                    } else {
                        load::run_pinned(p, o.threads, &o.pin)
                    }
                    .map_err(|e| format!("loading {}: {e}", t.kind.name()))
                };
                if !o.warmup.is_zero() {
                    load(&params)?;
                }
                params.duration = o.duration;
                let (cpu0, ocpu0) = (procstat::tree_cpu_seconds(t.proc.pid), origin_cpu());
                let result = load(&params)?;
                let (cpu1, ocpu1) = (procstat::tree_cpu_seconds(t.proc.pid), origin_cpu());
                let (pss, processes) = procstat::tree_pss_kib(t.proc.pid);
                let mut r = Round::from_result(round + 1, &result, cpu1 - cpu0, ocpu1 - ocpu0);
                r.pss_kib = pss;
                r.processes = processes;
                eprintln!(
                    "    {:.0} req/s, {} req per proxy CPU-s, p99 {:.2} ms, {} errors",
                    r.rps,
                    r.per_cpu_second()
                        .map_or("n/a".into(), |x| format!("{x:.0}")),
                    r.p99_ms,
                    r.errors.total()
                );
                rows[i].rounds.push(r);
            }
        }
        scenarios.push(rows);
    }

    // Versions and the report.
    let versions: Vec<(String, String)> = {
        let mut v = Vec::new();
        let mut seen = Vec::new();
        for t in &targets {
            let key = if t.kind.is_slotgate() {
                "slotgate"
            } else if matches!(t.kind, Kind::HttpdEvent | Kind::HttpdPrefork) {
                "httpd"
            } else {
                t.kind.name()
            };
            if !seen.contains(&key) {
                seen.push(key);
                v.push((key.to_string(), tools.version(t.kind)));
            }
        }
        if use_nginx_origins && !seen.contains(&"nginx") {
            v.push(("nginx (origins)".into(), tools.version(Kind::Nginx)));
        }
        v
    };
    let info = ReportInfo {
        date: date_of(SystemTime::now()),
        command: command_line(),
        commit: git_commit(),
        machine: machine(),
        versions,
        origins: origins.description.clone(),
        pinned,
        skipped: skipped.iter().map(|(n, e)| format!("{n}: {e}")).collect(),
    };
    std::fs::create_dir_all(&o.out).map_err(|e| format!("creating {}: {e}", o.out.display()))?;
    let write = |name: &str, text: String| {
        let p = o.out.join(name);
        std::fs::write(&p, text).map_err(|e| format!("writing {}: {e}", p.display()))
    };
    write("report.md", markdown(o, &info, &scenarios, &targets))?;
    write("report.svg", chart(o, &info, &scenarios))?;
    let json = serde_json::to_string_pretty(&report_json(o, &info, &scenarios, &targets))
        .expect("JSON of plain values");
    write("report.json", json + "\n")?;
    println!(
        "slotgate-bench compare: wrote {}/report.md, report.svg and report.json",
        o.out.display()
    );
    print!("{}", tables(o, &scenarios));
    drop(targets);
    drop(origins);
    Ok(())
}

struct ReportInfo {
    date: String,
    command: String,
    commit: String,
    machine: Vec<(&'static str, String)>,
    versions: Vec<(String, String)>,
    origins: String,
    pinned: String,
    skipped: Vec<String>,
}

fn scenario_title(o: &Options, concurrency: usize) -> String {
    format!(
        "{concurrency} connections, {}, {}-byte body",
        if o.close {
            "connection per request"
        } else {
            "keep-alive"
        },
        o.body
    )
}

fn summaries(rows: &[Row]) -> Vec<(String, RowSummary)> {
    rows.iter()
        .map(|r| (r.target.clone(), r.summary()))
        .collect()
}

fn tables(o: &Options, scenarios: &[Vec<Row>]) -> String {
    let mut out = String::new();
    for (rows, &c) in scenarios.iter().zip(&o.concurrency) {
        let _ = writeln!(out, "\n### {}\n", scenario_title(o, c));
        out += &scenario_markdown(&summaries(rows), o.rounds);
        let errors: Vec<String> = rows
            .iter()
            .flat_map(|r| {
                r.rounds.iter().filter_map(move |x| {
                    x.first_error
                        .as_ref()
                        .map(|e| format!("- {} round {}: {e}", r.target, x.round))
                })
            })
            .collect();
        if !errors.is_empty() {
            out += "\nFirst error of each round that had one:\n\n";
            out += &errors.join("\n");
            out.push('\n');
        }
    }
    out
}

fn markdown(o: &Options, info: &ReportInfo, scenarios: &[Vec<Row>], targets: &[Target]) -> String {
    let mut out = format!("# slotgate-bench compare — {}\n\n", info.date);
    out += "Proxies in front of the same two origins (a round-robin balancer of two members, \
            keep-alive to the origins), loaded by slotgate-bench's closed-loop generator on the \
            same machine.\n\n";
    let _ = writeln!(out, "## Machine\n");
    for (k, v) in &info.machine {
        let _ = writeln!(out, "- {k}: {v}");
    }
    let _ = writeln!(out, "\n## Versions\n");
    let _ = writeln!(out, "- slotgate git commit: `{}`", info.commit);
    for (k, v) in &info.versions {
        let _ = writeln!(out, "- {k}: `{v}`");
    }
    let _ = writeln!(out, "\n## Command\n\n```sh\n{}\n```\n", info.command);
    let _ = writeln!(out, "## Settings\n");
    let settings = [
        (
            "body",
            format!("{} bytes (`GET /bytes/{}`)", o.body, o.body),
        ),
        (
            "client connections",
            if o.close {
                "a new connection per request (`Connection: close`)".to_string()
            } else {
                "keep-alive".to_string()
            },
        ),
        ("concurrency", format!("{:?}", o.concurrency)),
        (
            "rounds",
            format!(
                "{} interleaved (the order of the targets rotates every round)",
                o.rounds
            ),
        ),
        (
            "warm-up",
            format!(
                "{:?} before each measured run (separate run, not counted)",
                o.warmup
            ),
        ),
        ("measured run", format!("{:?}", o.duration)),
        ("timeout", format!("{:?}", o.timeout)),
        (
            "workers",
            format!(
                "{} (processes for slotgate-event, nginx and httpd-event; threads for haproxy; \
                 the prefork targets have one process per connection, sized for {} connections)",
                o.workers,
                o.concurrency.iter().max().unwrap_or(&0)
            ),
        ),
        ("generator threads", o.threads.to_string()),
        ("pinning", info.pinned.clone()),
        ("origins", info.origins.clone()),
    ];
    for (k, v) in settings {
        let _ = writeln!(out, "- {k}: {v}");
    }
    if !info.skipped.is_empty() {
        let _ = writeln!(out, "- not measured: {}", info.skipped.join("; "));
    }
    out += "\nHow to read it: every figure is the **median over the rounds**, with the lowest and \
            highest round in brackets. *req per proxy CPU-s* is the number of responses completed \
            between two samples of the proxy's CPU time (utime + stime of the proxy's whole process \
            tree, from `/proc/PID/stat`, including reaped children) divided by that CPU time: the \
            efficiency figure, independent of how the machine's cores were shared between the \
            generator, the origins and the proxy. *proxy CPU %* is that CPU time over the window, \
            in % of one core; *origins CPU %* and *generator CPU %* the same for the two origins \
            together and for the load generator: on a shared machine they show who had the \
            cores. PSS is the proportional set size of the proxy's process tree \
            (`/proc/PID/smaps_rollup`), sampled just after each measured run. Latencies are from \
            the start of a request (its connect, if it opened one) to the last byte of its \
            response.\n";
    out += &tables(o, scenarios);
    out += "\n## Configurations\n\nThe configuration each target ran (ports and paths are \
            per run):\n";
    for t in targets {
        let _ = writeln!(out, "\n### {}\n\n```\n{}```", t.kind.name(), t.config);
    }
    out
}

fn report_json(
    o: &Options,
    info: &ReportInfo,
    scenarios: &[Vec<Row>],
    targets: &[Target],
) -> Value {
    let s: Vec<Value> = scenarios
        .iter()
        .zip(&o.concurrency)
        .map(|(rows, &c)| {
            let targets: Vec<Value> = rows
                .iter()
                .map(|r| {
                    let s = r.summary();
                    let spread =
                        |x: &Spread| json!({ "median": x.median, "min": x.min, "max": x.max });
                    json!({
                        "target": r.target,
                        "summary": {
                            "req_per_s": spread(&s.rps),
                            "req_per_proxy_cpu_s": spread(&s.per_cpu),
                            "p50_ms": s.p50_ms,
                            "p99_ms": s.p99_ms,
                            "pss_mib": s.pss_mib,
                            "errors": s.errors,
                            "proxy_cpu_percent": s.cpu_percent,
                            "origins_cpu_percent": s.origin_cpu_percent,
                            "generator_cpu_percent": s.generator_cpu_percent,
                        },
                        "rounds": r.rounds.iter().map(Round::json).collect::<Vec<_>>(),
                    })
                })
                .collect();
            json!({ "concurrency": c, "title": scenario_title(o, c), "targets": targets })
        })
        .collect();
    json!({
        "date": info.date,
        "command": info.command,
        "commit": info.commit,
        "machine": info.machine.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "versions": info.versions.iter().map(|(k, v)| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "settings": {
            "body_bytes": o.body,
            "keep_alive": !o.close,
            "concurrency": o.concurrency,
            "rounds": o.rounds,
            "warmup_s": o.warmup.as_secs_f64(),
            "duration_s": o.duration.as_secs_f64(),
            "timeout_s": o.timeout.as_secs_f64(),
            "workers": o.workers,
            "generator_threads": o.threads,
            "pin": o.pin,
            "origins": info.origins,
        },
        "skipped": info.skipped,
        "configs": targets.iter().map(|t| (t.kind.name().to_string(), json!(t.config))).collect::<serde_json::Map<_, _>>(),
        "scenarios": s,
    })
}

// ---------------------------------------------------------------------------
// The chart.

const COLOURS: [&str; 6] = [
    "#1f77b4", "#17becf", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd",
];

/// A round top for an axis: 1, 2 or 5 times a power of ten.
fn axis_top(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let p = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * p)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * p)
}

/// 37562 → `37.6k`, 20000 → `20k`, 950 → `950`.
fn short(v: f64) -> String {
    let k = v / 1000.0;
    if v < 1000.0 {
        format!("{v:.0}")
    } else if (k - k.round()).abs() < 0.05 {
        format!("{:.0}k", k.round())
    } else {
        format!("{k:.1}k")
    }
}

/// Bar charts, one panel per figure: a group per scenario, a bar per target
/// (the median), a whisker for min..max.
pub fn bar_chart(
    title: &str,
    groups: &[String],
    targets: &[String],
    panels: &[(&str, Vec<Vec<Spread>>)],
) -> String {
    const PANEL_H: f64 = 260.0;
    const LEFT: f64 = 70.0;
    const TOP: f64 = 50.0;
    let bar_w = 22.0;
    let group_w = bar_w * targets.len().max(1) as f64 + 30.0;
    let width = (LEFT + 20.0 + group_w * groups.len().max(1) as f64).max(760.0);
    let legend_h = 20.0 * targets.len() as f64 + 10.0;
    let height = TOP + PANEL_H * panels.len() as f64 + legend_h;
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">
<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>
<text x="{}" y="22" text-anchor="middle" font-size="14">{}</text>
"#,
        width / 2.0,
        escape(title)
    );
    for (p, (label, values)) in panels.iter().enumerate() {
        let y_top = TOP + PANEL_H * p as f64 + 20.0;
        let y0 = TOP + PANEL_H * (p + 1) as f64 - 40.0;
        let max = values.iter().flatten().map(|s| s.max).fold(0.0, f64::max);
        // Room above the highest whisker for the rotated value labels.
        let top = axis_top(max * 1.3);
        let y_of = |v: f64| y0 - (y0 - y_top) * (v / top).clamp(0.0, 1.0);
        let _ = writeln!(
            out,
            r#"<text x="{LEFT}" y="{}" font-weight="bold">{}</text>"#,
            y_top - 8.0,
            escape(label)
        );
        // The top is 1, 2 or 5 × 10^n: fifths are round numbers.
        for t in 0..=5 {
            let v = top * t as f64 / 5.0;
            let y = y_of(v);
            let _ = writeln!(
                out,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e0e0e0"/><text x="{}" y="{:.1}" text-anchor="end">{}</text>"##,
                width - 20.0,
                LEFT - 6.0,
                y + 4.0,
                short(v)
            );
        }
        let _ = writeln!(
            out,
            r#"<line x1="{LEFT}" y1="{y0}" x2="{:.1}" y2="{y0}" stroke="black"/>"#,
            width - 20.0
        );
        for (g, group) in groups.iter().enumerate() {
            let gx = LEFT + 15.0 + group_w * g as f64;
            for (t, target) in targets.iter().enumerate() {
                let Some(s) = values.get(g).and_then(|v| v.get(t)) else {
                    continue;
                };
                let x = gx + bar_w * t as f64;
                let y = y_of(s.median);
                let colour = COLOURS[t % COLOURS.len()];
                let _ = writeln!(
                    out,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="{colour}"><title>{} — {}: {:.0} (min {:.0}, max {:.0})</title></rect>"#,
                    bar_w - 3.0,
                    (y0 - y).max(0.0),
                    escape(target),
                    escape(group),
                    s.median,
                    s.min,
                    s.max
                );
                let cx = x + (bar_w - 3.0) / 2.0;
                let _ = writeln!(
                    out,
                    r#"<line x1="{cx:.1}" y1="{:.1}" x2="{cx:.1}" y2="{:.1}" stroke="black"/>"#,
                    y_of(s.min),
                    y_of(s.max)
                );
                // The median, written upwards above the whisker.
                let (lx, ly) = (cx + 4.0, y_of(s.max.max(s.median)) - 4.0);
                let _ = writeln!(
                    out,
                    r#"<text x="{lx:.1}" y="{ly:.1}" font-size="10" transform="rotate(-90 {lx:.1} {ly:.1})">{}</text>"#,
                    short(s.median)
                );
            }
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                gx + bar_w * targets.len() as f64 / 2.0,
                y0 + 16.0,
                escape(group)
            );
        }
    }
    for (t, target) in targets.iter().enumerate() {
        let y = TOP + PANEL_H * panels.len() as f64 + 20.0 * t as f64;
        let _ = writeln!(
            out,
            r#"<rect x="{LEFT}" y="{}" width="14" height="14" fill="{}"/><text x="{}" y="{}">{}</text>"#,
            y - 11.0,
            COLOURS[t % COLOURS.len()],
            LEFT + 20.0,
            y,
            escape(target)
        );
    }
    out += "</svg>\n";
    out
}

fn chart(o: &Options, info: &ReportInfo, scenarios: &[Vec<Row>]) -> String {
    let targets: Vec<String> = scenarios
        .first()
        .map(|rows| rows.iter().map(|r| r.target.clone()).collect())
        .unwrap_or_default();
    let groups: Vec<String> = o
        .concurrency
        .iter()
        .map(|c| format!("{c} connections"))
        .collect();
    let sums: Vec<Vec<RowSummary>> = scenarios
        .iter()
        .map(|rows| rows.iter().map(Row::summary).collect())
        .collect();
    let rps = sums
        .iter()
        .map(|r| r.iter().map(|s| s.rps).collect())
        .collect();
    let cpu = sums
        .iter()
        .map(|r| r.iter().map(|s| s.per_cpu).collect())
        .collect();
    let title = format!(
        "slotgate-bench compare {}: {}, {}-byte body, medians of {} round(s)",
        info.date,
        if o.close {
            "connection per request"
        } else {
            "keep-alive"
        },
        o.body,
        o.rounds
    );
    bar_chart(
        &title,
        &groups,
        &targets,
        &[("requests/s", rps), ("requests per proxy CPU-second", cpu)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn args(s: &str) -> impl Iterator<Item = String> + '_ {
        s.split_whitespace().map(String::from)
    }

    fn summary(rps: f64, per_cpu: f64, p99: f64) -> RowSummary {
        let s = |m: f64| Spread {
            median: m,
            min: m * 0.9,
            max: m * 1.1,
        };
        RowSummary {
            rps: s(rps),
            per_cpu: s(per_cpu),
            p50_ms: p99 / 4.0,
            p99_ms: p99,
            pss_mib: 3.25,
            errors: 0,
            cpu_percent: 99.0,
            origin_cpu_percent: 40.0,
            generator_cpu_percent: 70.0,
        }
    }

    #[test]
    fn options_and_quick() {
        let o = parse(args(
            "--only slotgate-event,nginx --concurrency 4,8 --body 65536 --quick --rounds 2",
        ))
        .unwrap()
        .unwrap();
        assert_eq!(o.only, Some(vec![Kind::SlotgateEvent, Kind::Nginx]));
        assert_eq!(o.concurrency, vec![4, 8]);
        assert_eq!(o.body, 65536);
        assert_eq!(o.rounds, 2, "an explicit --rounds wins over --quick");
        assert_eq!(o.duration, Duration::from_secs(1));
        assert_eq!(o.warmup, Duration::from_millis(200));
        assert_eq!(o.pin, vec![0]);
        let d = parse(args("--pin none")).unwrap().unwrap();
        assert!(d.pin.is_empty());
        assert_eq!(
            (d.rounds, d.concurrency.clone(), d.body),
            (5, vec![64, 256], 100)
        );
        assert!(d
            .out
            .to_string_lossy()
            .starts_with("docs/benchmarks/compare-"));
        assert!(parse(args("--only apache")).is_err());
        assert!(parse(args("--concurrency 0")).is_err());
        assert!(parse(args("--bogus")).is_err());
        assert!(parse(args("--help")).unwrap().is_none());
    }

    #[test]
    fn per_cpu_second_and_medians() {
        let round = |rps: f64, cpu: f64, sampled: u64| Round {
            rps,
            proxy_cpu_s: cpu,
            requests_sampled: sampled,
            window_s: 1.0,
            ..Round::default()
        };
        assert_eq!(round(0.0, 2.0, 1000).per_cpu_second(), Some(500.0));
        assert_eq!(round(0.0, 0.0, 1000).per_cpu_second(), None);
        let row = Row {
            target: "x".into(),
            rounds: vec![
                round(100.0, 1.0, 100),
                round(300.0, 0.5, 100),
                round(200.0, 0.0, 100),
            ],
        };
        let s = row.summary();
        assert_eq!((s.rps.median, s.rps.min, s.rps.max), (200.0, 100.0, 300.0));
        // The round without CPU time is left out of req/CPU-s: median of 100 and 200.
        assert_eq!(s.per_cpu.median, 150.0);
        assert_eq!(s.cpu_percent, 50.0);
        assert_eq!(ratio(3.0, 2.0), Some(1.5));
        assert_eq!(ratio(3.0, 0.0), None);
    }

    #[test]
    fn best_peer_is_the_most_efficient_non_slotgate_target() {
        let rows = vec![
            (
                "slotgate-event".to_string(),
                summary(50_000.0, 90_000.0, 2.0),
            ),
            ("nginx".to_string(), summary(48_000.0, 60_000.0, 2.5)),
            ("haproxy".to_string(), summary(52_000.0, 55_000.0, 1.0)),
        ];
        assert_eq!(best_peer(&rows), Some(1));
        assert_eq!(best_peer(&rows[..1]), None);
    }

    #[test]
    fn markdown_table() {
        let rows = vec![
            (
                "slotgate-event".to_string(),
                summary(50_000.0, 90_000.0, 2.0),
            ),
            ("nginx".to_string(), summary(40_000.0, 60_000.0, 2.5)),
        ];
        let md = scenario_markdown(&rows, 3);
        let lines: Vec<&str> = md.lines().collect();
        assert_eq!(
            lines[0],
            "| target | req/s median (min..max) | req per proxy CPU-s median (min..max) | p50 ms | p99 ms | PSS MiB | errors | proxy CPU % | origins CPU % | generator CPU % |"
        );
        assert_eq!(
            lines[2],
            "| slotgate-event | 50000 (45000..55000) | 90000 (81000..99000) | 0.50 | 2.00 | 3.2 | 0 | 99 | 40 | 70 |"
        );
        assert!(lines[3].starts_with("| nginx | 40000 (36000..44000) |"));
        assert!(md.contains("Best peer (most requests per proxy CPU-second): **nginx**"));
        assert!(
            md.contains("- slotgate-event ÷ nginx: req/s ×1.25, req per CPU-s ×1.50, p99 ×0.80")
        );
        let one = scenario_markdown(&rows[..1], 1);
        assert!(one.starts_with("| target | req/s median | req per proxy CPU-s median |"));
        assert!(one.contains("| slotgate-event | 50000 | 90000 |"));
        assert!(one.contains("Best peer: none measured"));
    }

    #[test]
    fn dates() {
        assert_eq!(
            date_of(UNIX_EPOCH + Duration::from_secs(1_795_435_200)),
            "2026-11-23"
        );
    }

    #[test]
    fn chart_is_self_contained_svg() {
        let s = |m: f64| Spread {
            median: m,
            min: m - 1.0,
            max: m + 1.0,
        };
        let svg = bar_chart(
            "t <&>",
            &["64 connections".into(), "256 connections".into()],
            &["slotgate-event".into(), "nginx".into()],
            &[(
                "req/s",
                vec![vec![s(10.0), s(20.0)], vec![s(30.0), s(40.0)]],
            )],
        );
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("t &lt;&amp;&gt;"));
        // 4 bars + 2 legend squares + the background.
        assert_eq!(svg.matches("<rect").count(), 7);
        assert!(!svg.contains("<script"));
        assert_eq!(short(37_562.0), "37.6k");
        assert_eq!(short(20_000.0), "20k");
        assert_eq!(short(950.0), "950");
    }
}
