//! The `slotgate` command: run the server in the foreground, or check a configuration.

use std::path::PathBuf;
use std::process::ExitCode;

use slotgate::supervisor::{self, Options};

const USAGE: &str = "usage: slotgate [-f FILE] [-D NAME]... [-t] [-v] [-h]
  -f FILE   configuration file (default /etc/slotgate/slotgate.conf)
  -D NAME   define NAME for <IfDefine NAME>
  -t        check the configuration, print 'Syntax OK' or the error, and exit
  -v        print the version and exit";

enum Mode {
    Run,
    Test,
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut opts = Options {
        config_file: PathBuf::from("/etc/slotgate/slotgate.conf"),
        defines: Vec::new(),
    };
    let mut mode = Mode::Run;
    while let Some(a) = args.next() {
        match a.as_str() {
            "-f" | "-D" => {
                let Some(v) = args.next() else {
                    eprintln!("slotgate: {a} needs an argument\n{USAGE}");
                    return ExitCode::from(2);
                };
                if a == "-f" {
                    opts.config_file = PathBuf::from(v);
                } else {
                    opts.defines.push(v);
                }
            }
            "-t" => mode = Mode::Test,
            "-v" => {
                println!("slotgate {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            "-k" => {
                eprintln!("slotgate: -k (daemon control) is not available yet; run with -f in the foreground");
                return ExitCode::from(2);
            }
            _ => {
                eprintln!("slotgate: unknown argument '{a}'\n{USAGE}");
                return ExitCode::from(2);
            }
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
        Mode::Run => ExitCode::from(supervisor::run(&opts) as u8),
    }
}
