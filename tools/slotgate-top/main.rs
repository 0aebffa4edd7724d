//! slotgate-top: shows what a running slotgate is doing by reading its
//! scoreboard file, and changes balancer and member settings by writing it.
//! It works even when the daemon is wedged, because it never talks to the
//! daemon: it only maps the shared file.
//!
//! ```text
//! slotgate-top -f /etc/slotgate/slotgate.conf      # live view (on a terminal), q quits
//! slotgate-top /run/slotgate/slotgate.scoreboard   # or name the file itself
//! slotgate-top --once …                            # one snapshot (the default when piped)
//! slotgate-top --json …                            # server-status's ?json object instead of tables
//! slotgate-top --interval 2 …                      # refresh every 2 s (also when piped; -d 2)
//! slotgate-top -f CONF set balancer://b/http://h:80 loadfactor=3
//! slotgate-top -f CONF set balancer://b lbmethod=bybusyness timeout=5 maxattempts=2
//! slotgate-top -f CONF set balancer://b/http://h:80 hcmethod=GET hcinterval=500ms hcuri=/health
//! slotgate-top -f CONF disable|enable|drain balancer://b http://h:80
//! ```

mod admin;
#[path = "../cli.rs"]
mod cli;
mod live;
mod report;

use scoreboard::Scoreboard;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
usage: slotgate-top [-f CONFIG [-D NAME]… | [--scoreboard] PATH] [--once | --interval SECS] [--json]
       (--interval SECS, or -d SECS: refresh every SECS, 0.1 to 86400; --json: server-status's ?json schema)
       slotgate-top (-f CONFIG | --scoreboard PATH) set balancer://NAME/MEMBER-URL KEY=VALUE…
              (loadfactor=1..100 lbset=0..99 route=R redirect=R status=+D|-D…
               hcmethod=NONE|TCP|OPTIONS|HEAD|GET[11] hcinterval=TIME (500ms, 2s; bare: s)
               hcpasses=N hcfails=N hcuri=PATH hcexpr=NAME (a ProxyHCExpr; checked with -f))
       slotgate-top (-f CONFIG | --scoreboard PATH) set balancer://NAME KEY=VALUE…
              (lbmethod=byrequests|bytraffic|bybusyness|bylatency|byload|hash|heartbeat timeout=SECS maxattempts=N
               stickysession=COOKIE[|PARAM] nofailover=On|Off)
       slotgate-top (-f CONFIG | --scoreboard PATH) disable|enable|drain balancer://NAME MEMBER-URL
live view keys: q or Ctrl-C quit, space redraws now";

/// The refresh interval of the live view when none is given.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// What the command line asked for.
#[derive(Debug)]
struct Options {
    config: Option<PathBuf>,
    defines: Vec<String>,
    scoreboard: Option<PathBuf>,
    json: bool,
    once: bool,
    interval: Option<Duration>,
    /// An admin command (`set`, `disable`, `enable`, `drain`).
    admin: Option<admin::Command>,
}

/// How to show the scoreboard.
#[derive(Debug, PartialEq)]
enum Mode {
    Once,
    Live(Duration),
}

impl Options {
    /// `--once` → once; `--interval` → live; otherwise live on a terminal
    /// (not with `--json`) and once when piped, as before the live view.
    fn mode(&self, stdout_is_terminal: bool) -> Mode {
        match (self.once, self.interval) {
            (true, _) => Mode::Once,
            (false, Some(interval)) => Mode::Live(interval),
            (false, None) if stdout_is_terminal && !self.json => Mode::Live(DEFAULT_INTERVAL),
            (false, None) => Mode::Once,
        }
    }
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(msg) if msg == "help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(msg) => {
            eprintln!("slotgate-top: {msg}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("slotgate-top: {}", report::terminal_text(&msg));
            ExitCode::FAILURE
        }
    }
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        config: None,
        defines: Vec::new(),
        scoreboard: None,
        json: false,
        once: false,
        interval: None,
        admin: None,
    };
    let mut positional: Vec<String> = Vec::new();
    let mut args = cli::Args::new(args);
    while let Some(word) = args.next()? {
        let flag = match word {
            cli::Word::Value(v) => {
                positional.push(v);
                continue;
            }
            cli::Word::Option(flag) => flag,
        };
        match flag.as_str() {
            "-f" | "--config" => options.config = Some(PathBuf::from(args.value()?)),
            "-D" => options.defines.push(args.value()?),
            "--scoreboard" => {
                if options.scoreboard.is_some() {
                    return Err("more than one scoreboard path".to_string());
                }
                options.scoreboard = Some(PathBuf::from(args.value()?));
            }
            "--json" => options.json = true,
            "--once" => options.once = true,
            // -d as top(1)'s delay.
            "--interval" | "-d" => {
                let text = args.value()?;
                options.interval = Some(parse_interval(&text)?);
            }
            "-h" | "--help" => return Err("help".to_string()),
            other => return Err(format!("unknown option '{other}'")),
        }
    }
    // [PATH] [COMMAND ARGS…]
    let command_at = positional.iter().position(|w| admin::is_command(w));
    let (paths, command) = match command_at {
        Some(i) => positional.split_at(i),
        None => (&positional[..], &[][..]),
    };
    match paths {
        [] => {}
        [path] => {
            if options.scoreboard.is_some() {
                return Err(format!("more than one scoreboard path ('{path}')"));
            }
            options.scoreboard = Some(PathBuf::from(path));
        }
        [_, extra, ..] => return Err(format!("unexpected argument '{extra}'")),
    }
    if options.config.is_some() == options.scoreboard.is_some() {
        return Err("give either -f CONFIG or the scoreboard file's path".to_string());
    }
    if !command.is_empty() {
        if options.json || options.once || options.interval.is_some() {
            return Err(format!(
                "--json, --once and --interval are for viewing, not with '{}'",
                command[0]
            ));
        }
        options.admin = Some(admin::parse(command)?);
    }
    if options.once && options.interval.is_some() {
        return Err("--once and --interval exclude each other".to_string());
    }
    Ok(options)
}

/// Seconds, at least 0.1 (fractions allowed).
fn parse_interval(text: &str) -> Result<Duration, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && (0.1..=86_400.0).contains(s))
        .map(Duration::from_secs_f64)
        .ok_or(format!(
            "--interval needs seconds (0.1 to 86400), not '{text}'"
        ))
}

fn run(options: &Options) -> Result<(), String> {
    let config = match &options.config {
        // ConfigError displays as `FILE:LINE: message`.
        Some(path) => {
            Some(slotgate::config::load(path, &options.defines).map_err(|e| e.to_string())?)
        }
        None => None,
    };
    let known = config
        .as_ref()
        .map(|c| report::Known {
            server_name: c.server_name.clone(),
            mpm: c.mpm.name(),
        })
        .unwrap_or_default();
    let path = match (&options.scoreboard, &config) {
        (Some(path), _) => path.clone(),
        (None, Some(cfg)) => cfg.scoreboard_file.clone(),
        (None, None) => unreachable!("parse_args requires one of them"),
    };
    if let Some(command) = &options.admin {
        let exprs = config.as_ref().map(|c| c.hc_exprs.as_slice());
        return admin::run(command, &path, exprs);
    }
    match options.mode(std::io::stdout().is_terminal()) {
        Mode::Once => {
            let sb = attach(&path)?;
            let snapshot = report::Snapshot::take(&sb, &path, &known);
            if options.json {
                println!("{}", snapshot.to_json());
            } else {
                print!("{}", snapshot.to_text());
            }
            Ok(())
        }
        Mode::Live(interval) => live::run(
            &path,
            &live::LiveOptions {
                interval,
                json: options.json,
                known,
            },
        ),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Options, String> {
        parse_args(line.split_whitespace().map(str::to_string))
    }

    #[test]
    fn view_modes() {
        let o = parse("-f x.conf").unwrap();
        assert_eq!(o.mode(true), Mode::Live(DEFAULT_INTERVAL));
        assert_eq!(o.mode(false), Mode::Once);
        let o = parse("-f x.conf --json").unwrap();
        assert_eq!(o.mode(true), Mode::Once);
        let o = parse("x.scoreboard --once").unwrap();
        assert_eq!(o.scoreboard, Some(PathBuf::from("x.scoreboard")));
        assert_eq!(o.mode(true), Mode::Once);
        let o = parse("--scoreboard x.scoreboard --interval 0.5").unwrap();
        assert_eq!(o.mode(false), Mode::Live(Duration::from_millis(500)));
        let o = parse("x.scoreboard -d 2 --json").unwrap();
        assert_eq!(o.mode(true), Mode::Live(Duration::from_secs(2)));
        // --watch, an old undocumented name of --interval, is gone.
        assert!(parse("x.scoreboard --watch 2")
            .unwrap_err()
            .contains("unknown option '--watch'"));
    }

    #[test]
    fn view_errors() {
        assert!(parse("").unwrap_err().contains("either -f CONFIG"));
        assert!(parse("-f x.conf y.scoreboard")
            .unwrap_err()
            .contains("either -f CONFIG"));
        assert!(parse("a b")
            .unwrap_err()
            .contains("unexpected argument 'b'"));
        assert!(parse("a --interval 0.01").unwrap_err().contains("0.1 to"));
        assert!(parse("a --interval soon").unwrap_err().contains("'soon'"));
        assert!(parse("a --interval").unwrap_err().contains("needs a value"));
        assert!(parse("a --once --interval 1")
            .unwrap_err()
            .contains("exclude"));
        assert!(parse("a --bogus").unwrap_err().contains("unknown option"));
        assert_eq!(parse("--help").unwrap_err(), "help");
    }

    #[test]
    fn admin_commands_after_the_scoreboard() {
        let o = parse("-f x.conf disable balancer://b http://h:1").unwrap();
        assert_eq!(o.config, Some(PathBuf::from("x.conf")));
        assert!(matches!(
            o.admin,
            Some(admin::Command::Status {
                action: admin::Action::Disable,
                ..
            })
        ));
        // The scoreboard path form, and -f after the command.
        let o = parse("x.scoreboard set balancer://b timeout=5").unwrap();
        assert_eq!(o.scoreboard, Some(PathBuf::from("x.scoreboard")));
        assert!(o.admin.is_some());
        let o = parse("set balancer://b/http://h:1 status=-D -f x.conf").unwrap();
        assert_eq!(o.config, Some(PathBuf::from("x.conf")));
        assert!(matches!(o.admin, Some(admin::Command::SetMember { .. })));
    }

    #[test]
    fn admin_errors() {
        assert!(parse("set balancer://b timeout=5")
            .unwrap_err()
            .contains("either -f CONFIG"));
        assert!(parse("-f x.conf --json enable balancer://b http://h:1")
            .unwrap_err()
            .contains("for viewing"));
        assert!(parse("-f x.conf drain balancer://b")
            .unwrap_err()
            .contains("needs a member"));
    }
}
