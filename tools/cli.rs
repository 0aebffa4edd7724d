//! Reading a tool's command line, shared by slotgate-top, slotgate-bench and
//! slotgate-origin (each includes this file with `#[path]`).
//!
//! The splitting is lexopt's (a small parser without dependencies or
//! macros): `--name value` and `--name=value`, `-f value` and `-fvalue`,
//! grouped short flags (`-ab`), and `--` ending the options. Each tool keeps
//! its own `match` over the option names as written (`"-f" | "--config"`), so
//! its options, defaults and messages are its own; this file only turns
//! lexopt's items into those names and its errors into the tools' wording
//! (`--interval needs a value`).

use lexopt::Arg;

/// One item of the command line.
#[derive(Debug, PartialEq, Eq)]
pub enum Word {
    /// An option as written, without a value attached by `=`: `-f`, `--json`.
    Option(String),
    /// Anything else (a path, a mode, an admin command word).
    Value(String),
}

/// The arguments after the program name.
pub struct Args {
    parser: lexopt::Parser,
    /// The last option returned, for the wording of errors.
    last: String,
}

impl Args {
    pub fn new<I, S>(args: I) -> Args
    where
        I: IntoIterator<Item = S>,
        S: Into<std::ffi::OsString>,
    {
        Args {
            parser: lexopt::Parser::from_args(args),
            last: String::new(),
        }
    }

    /// The next item, None at the end.
    pub fn next(&mut self) -> Result<Option<Word>, String> {
        let arg = match self.parser.next() {
            Ok(Some(arg)) => arg,
            Ok(None) => return Ok(None),
            Err(e) => return Err(self.wording(e)),
        };
        Ok(Some(match arg {
            Arg::Short(c) => {
                self.last = format!("-{c}");
                Word::Option(self.last.clone())
            }
            Arg::Long(name) => {
                self.last = format!("--{name}");
                Word::Option(self.last.clone())
            }
            Arg::Value(v) => Word::Value(
                v.into_string()
                    .map_err(|v| format!("argument {v:?} is not valid UTF-8"))?,
            ),
        }))
    }

    /// The value of the option just read: `--name=value`, `-fvalue` or the
    /// next argument (whatever it looks like: `--rate -1` gives "-1").
    pub fn value(&mut self) -> Result<String, String> {
        let value = self.parser.value().map_err(|e| self.wording(e))?;
        value
            .into_string()
            .map_err(|v| format!("{}: {v:?} is not valid UTF-8", self.last))
    }

    fn wording(&self, e: lexopt::Error) -> String {
        match e {
            lexopt::Error::MissingValue { option } => {
                format!(
                    "{} needs a value",
                    option.unwrap_or_else(|| self.last.clone())
                )
            }
            lexopt::Error::UnexpectedValue { option, .. } => format!("{option} takes no value"),
            other => other.to_string(),
        }
    }
}

#[cfg(test)]
mod cli_tests {
    use super::*;

    fn words(line: &str) -> Result<Vec<Word>, String> {
        let mut args = Args::new(line.split_whitespace());
        let mut out = Vec::new();
        while let Some(word) = args.next()? {
            let takes_value = matches!(&word, Word::Option(o) if o == "-f" || o == "--interval");
            out.push(word);
            if takes_value {
                out.push(Word::Value(args.value()?));
            }
        }
        Ok(out)
    }

    fn opt(name: &str) -> Word {
        Word::Option(name.to_string())
    }

    fn val(text: &str) -> Word {
        Word::Value(text.to_string())
    }

    #[test]
    fn options_values_and_their_forms() {
        let want = vec![opt("-f"), val("a.conf"), opt("--interval"), val("2")];
        assert_eq!(words("-f a.conf --interval 2").unwrap(), want);
        assert_eq!(words("-fa.conf --interval=2").unwrap(), want);
        assert_eq!(
            words("--json -ab x -- --not-an-option").unwrap(),
            vec![
                opt("--json"),
                opt("-a"),
                opt("-b"),
                val("x"),
                val("--not-an-option")
            ]
        );
        // A value may look like an option.
        assert_eq!(
            words("--interval -1").unwrap(),
            vec![opt("--interval"), val("-1")]
        );
    }

    #[test]
    fn errors_in_the_tools_wording() {
        assert_eq!(words("--interval").unwrap_err(), "--interval needs a value");
        assert_eq!(words("--json=1").unwrap_err(), "--json takes no value");
    }
}
