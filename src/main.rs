//! The `slotgate` command: run the server, check a configuration, or control a
//! running daemon (`-k`), with httpd's options.

use std::path::PathBuf;
use std::process::ExitCode;

use slotgate::config;
use slotgate::supervisor::{self, Command, Options};

/// Counts allocations so each worker can publish its count in the scoreboard.
#[global_allocator]
static ALLOCATOR: slotgate::process::CountingAllocator = slotgate::process::CountingAllocator;

const USAGE: &str = "usage: slotgate [-f FILE] [-D NAME]... [-t] [-S] [-M] [-V] [-X] [-k start|stop|restart|graceful|graceful-stop|configtest] [-v] [-h]
  -f FILE   configuration file (default /etc/slotgate/slotgate.conf)
  -D NAME   define NAME for <IfDefine NAME>
  -t        check the configuration as a start would (directives, log formats, User and
            Group, the files it writes, certificates); print 'Syntax OK', or every error
            with its file and line, and exit 1
  -S        check, then show the listeners and virtual hosts (as httpd's -S)
  -M        check, then list the httpd modules whose directives slotgate serves
  -V        print the version and build settings
  -X        debug: run in the foreground with one worker process (defines DEBUG)
  -k CMD    start: run as a daemon (detached, PidFile written);
            stop | restart | graceful | graceful-stop: signal the daemon named by PidFile
            (TERM, HUP, USR1, WINCH); restart and graceful wait for the new generation
            (silent, exit 0) or print why it was refused (exit 1); configtest: as -t
  -v        print the version and exit
Without -t, -S, -M or -k, slotgate runs in the foreground (systemd Type=simple).";

enum Mode {
    Run,
    Test,
    /// `-S` (true) or `-M` (false): check, then dump.
    Dump(bool),
    Version,
    Control(Command),
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut config_file = PathBuf::from("/etc/slotgate/slotgate.conf");
    let mut defines = Vec::new();
    let mut mode = Mode::Run;
    let mut one_process = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "-f" | "-D" | "-k" => {
                let Some(v) = args.next() else {
                    eprintln!("slotgate: {a} needs an argument\n{USAGE}");
                    return ExitCode::from(2);
                };
                match a.as_str() {
                    "-f" => config_file = PathBuf::from(v),
                    "-D" => defines.push(v),
                    _ if v == "configtest" => mode = Mode::Test,
                    _ => match Command::parse(&v) {
                        Some(c) => mode = Mode::Control(c),
                        None => {
                            eprintln!("slotgate: unknown -k command '{v}'\n{USAGE}");
                            return ExitCode::from(2);
                        }
                    },
                }
            }
            "-t" => mode = Mode::Test,
            // As httpd: -S is -t -D DUMP_VHOSTS -D DUMP_RUN_CFG, -M is -t -D DUMP_MODULES.
            "-S" => {
                mode = Mode::Dump(true);
                defines.extend(["DUMP_VHOSTS".to_string(), "DUMP_RUN_CFG".to_string()]);
            }
            "-M" => {
                mode = Mode::Dump(false);
                defines.push("DUMP_MODULES".to_string());
            }
            "-V" => mode = Mode::Version,
            "-X" => one_process = true,
            "-v" => {
                println!("slotgate {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ => {
                eprintln!("slotgate: unknown argument '{a}'\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let config_file = std::path::absolute(&config_file).unwrap_or(config_file);
    if one_process {
        // httpd's -X: no detaching, one worker (see `Config::one_process`).
        defines.push("DEBUG".to_string());
        if matches!(mode, Mode::Control(Command::Start)) {
            mode = Mode::Run;
        }
    }
    let mut opts = Options {
        config_file,
        defines,
        daemon: false,
    };
    if std::env::var_os(supervisor::UPGRADE_ENV).is_some() {
        // Started by a binary upgrade: already detached if the old one was; run here.
        if matches!(mode, Mode::Control(Command::Start)) {
            opts.daemon = true;
            mode = Mode::Run;
        }
    }
    match mode {
        Mode::Test => match supervisor::check(&opts) {
            Ok((cfg, _)) => {
                for w in &cfg.warnings {
                    eprintln!("warning: {w}");
                }
                println!("Syntax OK");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
        Mode::Dump(vhosts) => match supervisor::check(&opts) {
            Ok((cfg, _)) => {
                for w in &cfg.warnings {
                    eprintln!("warning: {w}");
                }
                if vhosts {
                    let pid_file = supervisor::pid_file(&cfg);
                    print!("{}", config::dump::vhosts(&cfg, &opts.defines, &pid_file));
                } else {
                    print!("{}", config::dump::modules(&cfg));
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::FAILURE
            }
        },
        Mode::Version => {
            let cfg = config::load(&opts.config_file, &opts.defines).ok();
            print!("{}", config::dump::version(cfg.as_ref(), &opts.config_file));
            ExitCode::SUCCESS
        }
        Mode::Run => ExitCode::from(supervisor::run(&opts, None) as u8),
        Mode::Control(cmd) => {
            let cfg = match supervisor::check(&opts) {
                Ok((cfg, _)) => cfg,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::FAILURE;
                }
            };
            if cmd == Command::Start {
                opts.daemon = true;
                return ExitCode::from(supervisor::start_daemon(&opts, &cfg) as u8);
            }
            match supervisor::signal_daemon(&cfg, cmd) {
                Ok(msg) => {
                    if let Some(msg) = msg {
                        println!("{msg}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("slotgate: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
