//! slotgate-top: shows what a running slotgate is doing by reading its
//! scoreboard file read-only. It works even when the daemon is wedged, because
//! it never talks to the daemon: it only maps the shared file.
//!
//! ```text
//! slotgate-top -f /etc/slotgate/slotgate.conf      # the ScoreboardFile of a config
//! slotgate-top /run/slotgate/slotgate.scoreboard   # or the file itself
//! slotgate-top --json …                            # one JSON object instead of tables
//! slotgate-top --watch 2 …                         # refresh every 2 s until Ctrl-C
//! ```

mod report;

use scoreboard::Scoreboard;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str =
    "usage: slotgate-top [-f CONFIG [-D NAME]…] [--scoreboard] [PATH] [--json] [--watch SECS]";

/// What the command line asked for.
struct Options {
    config: Option<PathBuf>,
    defines: Vec<String>,
    scoreboard: Option<PathBuf>,
    json: bool,
    watch: Option<Duration>,
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(msg) => {
            eprintln!("slotgate-top: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("slotgate-top: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        config: None,
        defines: Vec::new(),
        scoreboard: None,
        json: false,
        watch: None,
    };
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or(format!("{flag} needs a value"));
        match arg.as_str() {
            "-f" | "--config" => options.config = Some(PathBuf::from(value(&arg)?)),
            "-D" => options.defines.push(value(&arg)?),
            "--scoreboard" => options.scoreboard = Some(PathBuf::from(value(&arg)?)),
            "--json" => options.json = true,
            "--watch" => {
                let text = value(&arg)?;
                let secs: f64 = text
                    .parse()
                    .ok()
                    .filter(|s: &f64| s.is_finite() && *s >= 0.1)
                    .ok_or(format!(
                        "--watch needs seconds (at least 0.1), not '{text}'"
                    ))?;
                options.watch = Some(Duration::from_secs_f64(secs));
            }
            "-h" | "--help" => return Err("help".to_string()),
            other if other.starts_with('-') => return Err(format!("unknown option '{other}'")),
            path => {
                if options.scoreboard.is_some() {
                    return Err(format!("more than one scoreboard path ('{path}')"));
                }
                options.scoreboard = Some(PathBuf::from(path));
            }
        }
    }
    if options.config.is_some() == options.scoreboard.is_some() {
        return Err("give either -f CONFIG or the scoreboard file's path".to_string());
    }
    Ok(options)
}

fn run(options: &Options) -> Result<(), String> {
    let path = match (&options.scoreboard, &options.config) {
        (Some(path), _) => path.clone(),
        (None, Some(config)) => {
            // ConfigError displays as `FILE:LINE: message`.
            let cfg =
                slotgate::config::load(config, &options.defines).map_err(|e| e.to_string())?;
            cfg.scoreboard_file
        }
        (None, None) => unreachable!("parse_args requires one of them"),
    };
    let sb = attach(&path)?;
    loop {
        let snapshot = report::Snapshot::take(&sb, &path);
        if options.json {
            println!("{}", snapshot.to_json());
        } else {
            if options.watch.is_some() {
                // Home the cursor and clear the screen, as top(1) does.
                print!("\x1b[H\x1b[2J");
            }
            print!("{}", snapshot.to_text());
        }
        match options.watch {
            Some(interval) => std::thread::sleep(interval),
            None => return Ok(()),
        }
    }
}

/// Attaches read-only, with a message naming the file on failure.
fn attach(path: &std::path::Path) -> Result<Scoreboard, String> {
    // Tell "no such file" apart from "not a scoreboard this build understands".
    if let Err(e) = std::fs::metadata(path) {
        return Err(format!("cannot open scoreboard {}: {e}", path.display()));
    }
    Scoreboard::attach_readonly(path).map_err(|e| {
        let msg = e.to_string();
        let shown = path.display().to_string();
        if msg.contains(&shown) {
            msg
        } else {
            format!("cannot open scoreboard {shown}: {msg}")
        }
    })
}
