//! slotgate-bench: a load generator for comparing slotgate with itself (prefork
//! and event) and with the proxies users would pick instead.
//!
//! ```text
//! slotgate-bench load --url http://127.0.0.1:8080/ --concurrency 1,16,64,256 --duration 5s
//! slotgate-bench load --target slotgate=http://127.0.0.1:8080/ --target nginx=http://127.0.0.1:8081/ \
//!                     --rounds 3 --json out.json --svg out.svg
//! ```
//!
//! `load` runs closed-loop HTTP/1.1 GETs from one thread and one mio poll
//! (see `load.rs`); with several targets, each concurrency level runs
//! `--rounds` interleaved rounds, the order of targets rotating each round,
//! and the figures are medians over the rounds; `--threads` spreads the
//! connections over several such threads. `burst` (see `burst.rs` and
//! `burst_mode.rs`) opens bursts of new connections on an open-loop schedule.

mod burst;
mod burst_mode;
#[path = "../cli.rs"]
mod cli;
mod compare;
mod conn;
mod histogram;
mod load;
mod peers;
mod procstat;
mod report;
mod response;
mod schedule;
mod svg;

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str =
    "usage: slotgate-bench load (--url URL | --target NAME=URL ...) [--concurrency 1,16,64,256]
                           [--duration 5s] [--warmup 1s] [--rounds N] [--close] [--timeout 10s]
                           [--threads N] [--pin CPULIST] [--json FILE] [--svg FILE]
       slotgate-bench burst (--url URL | --target NAME=URL ...) [--bursts 100,1000,5000,10000,20000]
                            [--rate CONN_PER_S] [--rounds N] [--timeout 10s] [--pause 500ms]
                            [--pin CPU] [--json FILE] [--svg FILE]";

/// An `http://host[:port]/path` URL, resolved once.
#[derive(Debug, Clone, PartialEq)]
struct Url {
    text: String,
    /// The Host header: host and port as written.
    authority: String,
    path: String,
    addr: SocketAddr,
}

struct Target {
    name: String,
    url: Url,
    request: Vec<u8>,
}

/// The `--url` and `--target` options, as given.
#[derive(Default)]
struct TargetArgs {
    /// (name, URL); the name is empty for `--url`.
    list: Vec<(String, String)>,
    have_url: bool,
}

impl TargetArgs {
    /// Take `--url URL` or `--target NAME=URL` (`arg` is the option).
    fn take(&mut self, arg: &str, v: String) -> Result<(), String> {
        if arg == "--url" {
            self.list.push((String::new(), v));
            self.have_url = true;
            return Ok(());
        }
        let (name, url) = v
            .split_once('=')
            .ok_or_else(|| format!("--target {v:?}: expected NAME=URL"))?;
        if name.is_empty() || self.list.iter().any(|(n, _)| n == name) {
            return Err(format!(
                "--target {v:?}: names must be present and distinct"
            ));
        }
        self.list.push((name.to_string(), url.to_string()));
        Ok(())
    }

    /// At least one target, and `--url` alone.
    fn check(&self) -> Result<(), String> {
        if self.list.is_empty() {
            return Err("give --url or at least one --target".into());
        }
        if self.have_url && self.list.len() > 1 {
            return Err("--url measures one target; use --target NAME=URL for several".into());
        }
        Ok(())
    }

    /// Resolve the URLs and build each target's request.
    fn resolve(&self, close: bool) -> Result<Vec<Target>, String> {
        let mut targets = Vec::new();
        for (name, text) in &self.list {
            let url = parse_url(text)?;
            let name = if name.is_empty() {
                url.authority.clone()
            } else {
                name.clone()
            };
            let request = request_bytes(&url, close);
            targets.push(Target { name, url, request });
        }
        Ok(targets)
    }
}

/// Rounds per cell: as asked, else one for one target and three for several.
fn rounds_for(asked: Option<usize>, targets: usize) -> usize {
    asked.unwrap_or(if targets > 1 { 3 } else { 1 })
}

/// The runs of one cell row, in order: (round, target index), the order of
/// the targets rotating each round.
fn interleaved(rounds: usize, targets: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..rounds).flat_map(move |round| (0..targets).map(move |k| (round, (k + round) % targets)))
}

/// `--OPTION N`: a positive whole number.
fn parse_positive(option: &str, v: &str) -> Result<usize, String> {
    v.parse()
        .ok()
        .filter(|&n: &usize| n > 0)
        .ok_or_else(|| format!("{option} {v:?}: expected a positive number"))
}

/// `--OPTION N,N,...`: positive whole numbers separated by commas.
fn parse_positive_list(option: &str, v: &str) -> Result<Vec<usize>, String> {
    v.split(',')
        .map(|n| n.trim().parse::<usize>().ok().filter(|&n| n > 0))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| format!("{option} {v:?}: expected positive numbers separated by commas"))
}

/// What the command line asked for.
struct Options {
    targets: TargetArgs,
    concurrency: Vec<usize>,
    duration: Duration,
    warmup: Duration,
    rounds: Option<usize>,
    close: bool,
    timeout: Duration,
    json: Option<String>,
    svg: Option<String>,
    /// Generator threads (`load`).
    threads: usize,
    /// CPUs to pin the generator threads to, in turn.
    pin: Vec<usize>,
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let result = match args.next().as_deref() {
        Some("load") => match parse_load(args) {
            Ok(Some(o)) => run_load(&o),
            Ok(None) => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            Err(e) => Err(e),
        },
        Some("burst") => burst_mode::main(args),
        Some("compare") => return compare::main(args),
        Some("-h") | Some("--help") => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => Err("expected a mode".into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("slotgate-bench: {message}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// `5s`, `500ms`, `2m`, or a bare number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("bad duration {text:?} (examples: 5s, 500ms, 1m)");
    let (number, unit) = match text.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let value: f64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "ms" => value / 1e3,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(bad()),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| bad())
}

/// `0`, `0,2`, `0-3` or `0-1,4`: CPU numbers, in the order given.
fn parse_cpu_list(text: &str) -> Result<Vec<usize>, String> {
    let bad = || format!("bad CPU list {text:?} (examples: 0, 0,1, 0-3)");
    let mut cpus = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let (low, high) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let low: usize = low.parse().map_err(|_| bad())?;
        let high: usize = high.parse().map_err(|_| bad())?;
        if low > high || high >= 1024 {
            return Err(bad());
        }
        cpus.extend(low..=high);
    }
    Ok(cpus)
}

fn parse_url(text: &str) -> Result<Url, String> {
    let rest = text
        .strip_prefix("http://")
        .ok_or_else(|| format!("unsupported URL {text:?}: only http:// is measured"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(format!("URL {text:?} has no host"));
    }
    let with_port = if authority.ends_with(']') || !authority.contains(':') {
        format!("{authority}:80")
    } else {
        authority.to_string()
    };
    let addr = with_port
        .to_socket_addrs()
        .map_err(|e| format!("resolving {authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("resolving {authority}: no address"))?;
    Ok(Url {
        text: text.to_string(),
        authority: authority.to_string(),
        path: path.to_string(),
        addr,
    })
}

fn request_bytes(url: &Url, close: bool) -> Vec<u8> {
    let connection = if close { "Connection: close\r\n" } else { "" };
    format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: slotgate-bench\r\nAccept: */*\r\n{connection}\r\n",
        url.path, url.authority
    )
    .into_bytes()
}

/// Write `value` to `path`, pretty-printed, with a final newline.
fn write_json(path: &str, value: &serde_json::Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).expect("JSON of plain values");
    std::fs::write(path, text + "\n").map_err(|e| format!("writing {path}: {e}"))
}

/// `Ok(None)` for `--help`.
fn parse_load(args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut o = Options {
        targets: TargetArgs::default(),
        concurrency: vec![1, 16, 64, 256],
        duration: Duration::from_secs(5),
        warmup: Duration::from_secs(1),
        rounds: None,
        close: false,
        timeout: Duration::from_secs(10),
        json: None,
        svg: None,
        threads: 1,
        pin: Vec::new(),
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
            "--concurrency" | "-c" => {
                o.concurrency = parse_positive_list("--concurrency", &value("--concurrency")?)?
            }
            "--duration" | "-d" => o.duration = parse_duration(&value("--duration")?)?,
            "--warmup" => o.warmup = parse_duration(&value("--warmup")?)?,
            "--timeout" => o.timeout = parse_duration(&value("--timeout")?)?,
            "--rounds" => o.rounds = Some(parse_positive("--rounds", &value("--rounds")?)?),
            "--close" => o.close = true,
            "--json" => o.json = Some(value("--json")?),
            "--svg" => o.svg = Some(value("--svg")?),
            "--threads" | "-t" => o.threads = parse_positive("--threads", &value("--threads")?)?,
            "--pin" => o.pin = parse_cpu_list(&value("--pin")?)?,
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    o.targets.check()?;
    if o.duration.is_zero() {
        return Err("--duration must be more than 0".into());
    }
    Ok(Some(o))
}

fn run_load(o: &Options) -> Result<(), String> {
    let targets = o.targets.resolve(o.close)?;
    let rounds = rounds_for(o.rounds, targets.len());
    let mut cells: Vec<report::Cell> = Vec::new();
    for &concurrency in &o.concurrency {
        let first = cells.len();
        for t in &targets {
            cells.push(report::Cell {
                target: t.name.clone(),
                url: t.url.text.clone(),
                concurrency,
                runs: Vec::new(),
            });
        }
        for (round, i) in interleaved(rounds, targets.len()) {
            let t = &targets[i];
            eprintln!(
                "slotgate-bench: {} at concurrency {concurrency}, round {}/{rounds}",
                t.name,
                round + 1
            );
            let params = load::LoadParams {
                addr: t.url.addr,
                request: &t.request,
                concurrency,
                warmup: o.warmup,
                duration: o.duration,
                close: o.close,
                timeout: o.timeout,
            };
            let result = if o.pin.is_empty() {
                load::run_threads(&params, o.threads)
            } else {
                load::run_pinned(&params, o.threads, &o.pin)
            }
            .map_err(|e| format!("running the load against {}: {e}", t.url.text))?;
            cells[first + i].runs.push(result);
        }
    }
    print!("{}", report::table(&cells));
    if let Some(path) = &o.json {
        let settings = serde_json::json!({
            "concurrency": o.concurrency,
            "duration_s": o.duration.as_secs_f64(),
            "warmup_s": o.warmup.as_secs_f64(),
            "rounds": rounds,
            "keep_alive": !o.close,
            "timeout_s": o.timeout.as_secs_f64(),
            "threads": o.threads,
            "pin": o.pin,
        });
        write_json(path, &report::json(&cells, settings))?;
    }
    if let Some(path) = &o.svg {
        let series: Vec<svg::Series> = targets
            .iter()
            .map(|t| svg::Series {
                name: t.name.clone(),
                points: cells
                    .iter()
                    .filter(|c| c.target == t.name)
                    .map(|c| {
                        let s = c.summary();
                        (c.concurrency, s.rps.median, s.latency_ms[2].median)
                    })
                    .collect(),
            })
            .collect();
        let mode = if o.close {
            "connection per request"
        } else {
            "keep-alive"
        };
        let title = format!(
            "slotgate-bench load: {mode}, {:?} per run, medians of {rounds} round(s)",
            o.duration
        );
        std::fs::write(path, svg::chart(&title, &o.concurrency, &series))
            .map_err(|e| format!("writing {path}: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(line: &str) -> Result<Option<Options>, String> {
        parse_load(line.split_whitespace().map(str::to_string))
    }

    /// The message of a refused command line.
    fn refused(line: &str) -> String {
        match load(line) {
            Err(message) => message,
            Ok(_) => panic!("accepted {line:?}"),
        }
    }

    #[test]
    fn load_options_in_every_form() {
        let o = load("--url=http://127.0.0.1:9/ -c 1,2 --duration=2s -t2 --close")
            .unwrap()
            .unwrap();
        assert_eq!(o.concurrency, vec![1, 2]);
        assert_eq!(o.duration, Duration::from_secs(2));
        assert_eq!(o.threads, 2);
        assert!(o.close);
        assert!(load("--help").unwrap().is_none());
        assert_eq!(refused("--url"), "--url needs a value");
        assert_eq!(
            refused("--url http://x/ extra"),
            "unknown argument \"extra\""
        );
        assert_eq!(refused("--bogus"), "unknown argument \"--bogus\"");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("s").is_err());
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(parse_cpu_list("0"), Ok(vec![0]));
        assert_eq!(parse_cpu_list("0,1"), Ok(vec![0, 1]));
        assert_eq!(parse_cpu_list("2-4,0"), Ok(vec![2, 3, 4, 0]));
        assert!(parse_cpu_list("").is_err());
        assert!(parse_cpu_list("3-1").is_err());
        assert!(parse_cpu_list("a").is_err());
    }

    #[test]
    fn urls() {
        let u = parse_url("http://127.0.0.1:8080/a/b?c=d").unwrap();
        assert_eq!(
            (u.authority.as_str(), u.path.as_str()),
            ("127.0.0.1:8080", "/a/b?c=d")
        );
        assert_eq!(u.addr, "127.0.0.1:8080".parse().unwrap());
        let u = parse_url("http://127.0.0.1").unwrap();
        assert_eq!((u.path.as_str(), u.addr.port()), ("/", 80));
        let u = parse_url("http://[::1]:81/").unwrap();
        assert_eq!(u.addr, "[::1]:81".parse().unwrap());
        assert!(parse_url("https://127.0.0.1/").is_err());
        assert!(parse_url("http:///x").is_err());
    }

    #[test]
    fn request_has_host_and_optional_close() {
        let u = parse_url("http://127.0.0.1:9/x").unwrap();
        assert_eq!(request_bytes(&u, false), b"GET /x HTTP/1.1\r\nHost: 127.0.0.1:9\r\nUser-Agent: slotgate-bench\r\nAccept: */*\r\n\r\n");
        assert!(String::from_utf8(request_bytes(&u, true))
            .unwrap()
            .contains("Connection: close\r\n"));
    }
}
