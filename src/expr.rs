//! `ProxyHCExpr` expressions: the subset of httpd's ap_expr that operators use for health
//! checks (reference §5), parsed once at configuration time and evaluated against each
//! probe's response.
//!
//! Grammar (precedence from loosest to tightest: `||`, `&&`, `!`, as in ap_expr):
//!
//! ```text
//! expr    := and ( '||' and )*
//! and     := not ( '&&' not )*
//! not     := '!' not | primary
//! primary := 'true' | 'false' | '(' expr ')' | word op
//! op      := ( '=~' | '!~' ) regex
//!          | ( '==' | '=' | '!=' | '<' | '<=' | '>' | '>=' ) word
//!          | ( '-eq' | '-ne' | '-lt' | '-le' | '-gt' | '-ge' ) word
//! word    := '%{' VAR '}' | 'hc(' string ')' | string | digits
//! regex   := '/' … '/' [i] | 'm' DELIM … DELIM [i]
//! string  := '…' | "…"      (may hold %{VAR}, replaced by its value)
//! ```
//!
//! Variables: `REQUEST_STATUS` (the response status), `CONTENT_TYPE` (the response's
//! Content-Type, empty without one), `HC_BODY` (the body, like `hc('body')`). Names are
//! case-insensitive. Inside a regex, `\` before the delimiter stands for the delimiter.
//! Integer comparisons need both sides to be whole numbers; otherwise evaluation fails,
//! and a failed evaluation makes the whole expression false (as in httpd, where the check
//! then fails).

use std::borrow::Cow;
use std::fmt;

/// What a health-check expression is evaluated against.
#[derive(Clone, Copy, Debug)]
pub struct Probe<'a> {
    /// The response status.
    pub status: u16,
    /// The response's Content-Type, if any.
    pub content_type: Option<&'a str>,
    /// The response body (GET checks; empty otherwise).
    pub body: &'a [u8],
}

/// What an expression reads: a health probe's response ([`Probe`]), or a
/// request and its response (`Header … expr=`, see [`parse_request`]).
pub trait Vars {
    /// `%{REQUEST_STATUS}`.
    fn status(&self) -> u16;
    /// `%{CONTENT_TYPE}`.
    fn content_type(&self) -> Option<&str>;
    /// `%{HC_BODY}` / `hc('body')`.
    fn body(&self) -> &[u8] {
        b""
    }
    /// A request's variable (only expressions of [`parse_request`] hold one).
    fn request(&self, _var: &RequestVar) -> Cow<'_, str> {
        Cow::Borrowed("")
    }
}

impl Vars for Probe<'_> {
    fn status(&self) -> u16 {
        self.status
    }
    fn content_type(&self) -> Option<&str> {
        self.content_type
    }
    fn body(&self) -> &[u8] {
        self.body
    }
}

/// A request's value an expression of [`parse_request`] reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RequestVar {
    /// `req('Name')`, `http('Name')`, `%{HTTP:Name}`, `%{HTTP_HOST}`…: a request
    /// header ("" when absent).
    Header(String),
    /// `%{REQUEST_METHOD}`.
    Method,
    /// `%{REQUEST_URI}`: the path, without the query.
    Uri,
    /// `%{QUERY_STRING}`.
    Query,
    /// `%{REMOTE_ADDR}`.
    RemoteAddr,
    /// `%{SERVER_PROTOCOL}`: `HTTP/1.1`.
    Protocol,
    /// `%{HTTPS}`: `on` or `off`.
    Https,
    /// `%{REQUEST_SCHEME}`: `https` or `http`.
    Scheme,
    /// `reqenv('VAR')`: the request's environment variable.
    Env(String),
}

/// A parsed expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// `true`.
    True,
    /// `false`.
    False,
    /// `!e`.
    Not(Box<Expr>),
    /// `a && b` (b is evaluated only when a is true).
    And(Box<Expr>, Box<Expr>),
    /// `a || b` (b is evaluated only when a is false).
    Or(Box<Expr>, Box<Expr>),
    /// `-n word` (`empty`: `-z word`).
    Empty { word: Word, empty: bool },
    /// `word =~ /re/` (`negated`: `!~`).
    Match {
        word: Word,
        pattern: Pattern,
        negated: bool,
    },
    /// `left op right`, a string or integer comparison.
    Compare { left: Word, op: CmpOp, right: Word },
}

/// A value in an expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Word {
    /// `%{REQUEST_STATUS}`: the status as decimal digits.
    Status,
    /// `%{CONTENT_TYPE}`: the Content-Type, or empty.
    ContentType,
    /// `%{HC_BODY}` or `hc('body')`: the body (invalid UTF-8 replaced).
    Body,
    /// A string or integer literal.
    Literal(String),
    /// A string literal holding variables: its pieces, joined.
    Concat(Vec<Word>),
    /// A request's value (expressions of [`parse_request`] only).
    Request(RequestVar),
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    /// `==` (or `=`), `!=`, `<`, `<=`, `>`, `>=`: byte-wise string comparison.
    StrEq,
    StrNe,
    StrLt,
    StrLe,
    StrGt,
    StrGe,
    /// `-eq`, `-ne`, `-lt`, `-le`, `-gt`, `-ge`: both sides as whole numbers.
    IntEq,
    IntNe,
    IntLt,
    IntLe,
    IntGt,
    IntGe,
}

impl CmpOp {
    /// The operator as written (`==`, `-eq`, …).
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::StrEq => "==",
            CmpOp::StrNe => "!=",
            CmpOp::StrLt => "<",
            CmpOp::StrLe => "<=",
            CmpOp::StrGt => ">",
            CmpOp::StrGe => ">=",
            CmpOp::IntEq => "-eq",
            CmpOp::IntNe => "-ne",
            CmpOp::IntLt => "-lt",
            CmpOp::IntLe => "-le",
            CmpOp::IntGt => "-gt",
            CmpOp::IntGe => "-ge",
        }
    }
}

/// A compiled regular expression with the text it came from. Two patterns are equal when
/// their source and flag are.
#[derive(Clone, Debug)]
pub struct Pattern {
    /// The regex as written between the delimiters (a `\` before the delimiter removed).
    pub source: String,
    /// The `i` flag.
    pub case_insensitive: bool,
    regex: regex::Regex,
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.case_insensitive == other.case_insensitive
    }
}

impl Pattern {
    /// Compiles `source` (the `regex` crate's syntax, close to PCRE without look-around
    /// and back-references).
    pub fn new(source: &str, case_insensitive: bool) -> Result<Pattern, String> {
        let regex = regex::RegexBuilder::new(source)
            .case_insensitive(case_insensitive)
            .build()
            .map_err(|e| {
                let text = e.to_string();
                text.lines()
                    .find_map(|l| l.trim().strip_prefix("error: "))
                    .map_or_else(|| text.replace('\n', " "), str::to_string)
            })?;
        Ok(Pattern {
            source: source.to_string(),
            case_insensitive,
            regex,
        })
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }
}

/// Why an evaluation failed (the expression is then false).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EvalError(pub String);

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Expr {
    /// Evaluates against a probe's response; an evaluation error is `false`.
    pub fn eval<V: Vars + ?Sized>(&self, probe: &V) -> bool {
        self.try_eval(probe).unwrap_or(false)
    }

    /// Evaluates against a probe's response, telling why an evaluation failed (a
    /// non-numeric operand of `-eq` and the like).
    pub fn try_eval<V: Vars + ?Sized>(&self, probe: &V) -> Result<bool, EvalError> {
        Ok(match self {
            Expr::True => true,
            Expr::False => false,
            Expr::Not(e) => !e.try_eval(probe)?,
            Expr::And(a, b) => a.try_eval(probe)? && b.try_eval(probe)?,
            Expr::Or(a, b) => a.try_eval(probe)? || b.try_eval(probe)?,
            Expr::Empty { word, empty } => word.value(probe).is_empty() == *empty,
            Expr::Match {
                word,
                pattern,
                negated,
            } => pattern.is_match(&word.value(probe)) != *negated,
            Expr::Compare { left, op, right } => {
                let (l, r) = (left.value(probe), right.value(probe));
                match op {
                    CmpOp::StrEq => l == r,
                    CmpOp::StrNe => l != r,
                    CmpOp::StrLt => l < r,
                    CmpOp::StrLe => l <= r,
                    CmpOp::StrGt => l > r,
                    CmpOp::StrGe => l >= r,
                    _ => {
                        let (l, r) = (integer(&l, *op)?, integer(&r, *op)?);
                        match op {
                            CmpOp::IntEq => l == r,
                            CmpOp::IntNe => l != r,
                            CmpOp::IntLt => l < r,
                            CmpOp::IntLe => l <= r,
                            CmpOp::IntGt => l > r,
                            _ => l >= r,
                        }
                    }
                }
            }
        })
    }
}

/// An operand of an integer comparison: optional sign, digits, blanks around allowed.
fn integer(text: &str, op: CmpOp) -> Result<i64, EvalError> {
    text.trim().parse::<i64>().map_err(|_| {
        EvalError(format!(
            "{}: '{}' is not an integer",
            op.symbol(),
            text.chars().take(40).collect::<String>()
        ))
    })
}

impl Word {
    /// The word's value for a probe.
    pub fn value<'a, V: Vars + ?Sized>(&'a self, probe: &'a V) -> Cow<'a, str> {
        match self {
            Word::Status => Cow::Owned(probe.status().to_string()),
            Word::ContentType => Cow::Borrowed(probe.content_type().unwrap_or("")),
            Word::Body => String::from_utf8_lossy(probe.body()),
            Word::Request(var) => probe.request(var),
            Word::Literal(s) => Cow::Borrowed(s),
            Word::Concat(parts) => Cow::Owned(parts.iter().map(|p| p.value(probe)).collect()),
        }
    }
}

/// Parses an expression (the text between `ProxyHCExpr name {` and `}`). The error names
/// the column (1-based, in characters) and what was expected there.
pub fn parse(text: &str) -> Result<Expr, String> {
    parse_with(text, false)
}

/// Parses an expression about a request and its response (`Header … expr=`):
/// besides [`parse`]'s, the variables `%{REQUEST_METHOD}`, `%{REQUEST_URI}`,
/// `%{QUERY_STRING}`, `%{REMOTE_ADDR}`, `%{SERVER_PROTOCOL}`, `%{HTTPS}`,
/// `%{REQUEST_SCHEME}`, `%{HTTP_HOST}` (and the other `%{HTTP_…}` of ap_expr),
/// `%{HTTP:Name}`, and the functions `req('Name')` / `http('Name')` (a request
/// header) and `reqenv('VAR')`.
pub fn parse_request(text: &str) -> Result<Expr, String> {
    parse_with(text, true)
}

/// Parses an ap_expr string expression about a request (a `Header … expr=…`
/// value): text in which `%{VAR}` is a variable of [`parse_request`] and
/// `%{req:Name}`, `%{http:Name}`, `%{reqenv:VAR}` call the function; `\`
/// makes the next character plain text.
pub fn parse_request_string(text: &str) -> Result<Word, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' if i + 1 < chars.len() => {
                lit.push(chars[i + 1]);
                i += 2;
            }
            '%' if chars.get(i + 1) == Some(&'{') => {
                let Some(len) = chars[i + 2..].iter().position(|&c| c == '}') else {
                    return Err(format!(
                        "at column {}: unterminated %{{ (expected %{{NAME}})",
                        i + 1
                    ));
                };
                let name: String = chars[i + 2..i + 2 + len].iter().collect();
                if !lit.is_empty() {
                    parts.push(Word::Literal(std::mem::take(&mut lit)));
                }
                parts
                    .push(string_variable(&name).map_err(|m| format!("at column {}: {m}", i + 1))?);
                i += len + 3;
            }
            c => {
                lit.push(c);
                i += 1;
            }
        }
    }
    if !lit.is_empty() {
        parts.push(Word::Literal(lit));
    }
    Ok(match parts.len() {
        0 => Word::Literal(String::new()),
        1 => parts.pop().expect("one part"),
        _ => Word::Concat(parts),
    })
}

/// One `%{…}` of a string expression: `func:arg` or a request variable.
fn string_variable(name: &str) -> Result<Word, String> {
    if let Some((func, arg)) = name.split_once(':') {
        let var = match func.to_ascii_lowercase().as_str() {
            "req" | "http" => RequestVar::Header(arg.to_string()),
            "reqenv" => RequestVar::Env(arg.to_string()),
            _ => {
                return Err(format!(
                    "%{{{name}}}: slotgate's string expressions call req, http and reqenv, \
                     not {func}"
                ))
            }
        };
        return Ok(Word::Request(var));
    }
    if let Some(var) = request_variable(name.trim()) {
        return Ok(Word::Request(var));
    }
    VARIABLES
        .iter()
        .find(|(known, _)| known.eq_ignore_ascii_case(name.trim()))
        .map(|(_, word)| word.clone())
        .ok_or_else(|| format!("unknown variable %{{{name}}}"))
}

fn parse_with(text: &str, request: bool) -> Result<Expr, String> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
        request,
    };
    p.skip_blanks();
    if p.at_end() {
        return Err("empty expression".to_string());
    }
    let expr = p.or()?;
    p.skip_blanks();
    if !p.at_end() {
        return Err(p.error("'&&', '||' or the end of the expression"));
    }
    Ok(expr)
}

/// The variables `%{…}` may name.
const VARIABLES: &[(&str, Word)] = &[
    ("REQUEST_STATUS", Word::Status),
    ("CONTENT_TYPE", Word::ContentType),
    ("HC_BODY", Word::Body),
];

/// The delimiters `m` may take (ap_expr's set).
const M_DELIMITERS: &str = "/#$%^,;:_?|-!.'\"";

struct Parser {
    chars: Vec<char>,
    pos: usize,
    /// Request variables and functions are known ([`parse_request`]).
    request: bool,
}

/// ap_expr's `%{HTTP_…}` variables and the header each reads.
const HTTP_VARIABLES: &[(&str, &str)] = &[
    ("HTTP_ACCEPT", "Accept"),
    ("HTTP_COOKIE", "Cookie"),
    ("HTTP_FORWARDED", "Forwarded"),
    ("HTTP_HOST", "Host"),
    ("HTTP_PROXY_CONNECTION", "Proxy-Connection"),
    ("HTTP_REFERER", "Referer"),
    ("HTTP_USER_AGENT", "User-Agent"),
];

/// A request variable's name, when it is one.
fn request_variable(name: &str) -> Option<RequestVar> {
    if name
        .get(..5)
        .is_some_and(|p| p.eq_ignore_ascii_case("HTTP:"))
    {
        return Some(RequestVar::Header(name[5..].to_string()));
    }
    if let Some((_, header)) = HTTP_VARIABLES
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        return Some(RequestVar::Header((*header).to_string()));
    }
    Some(match name.to_ascii_uppercase().as_str() {
        "REQUEST_METHOD" => RequestVar::Method,
        "REQUEST_URI" => RequestVar::Uri,
        "QUERY_STRING" => RequestVar::Query,
        "REMOTE_ADDR" => RequestVar::RemoteAddr,
        "SERVER_PROTOCOL" => RequestVar::Protocol,
        "HTTPS" => RequestVar::Https,
        "REQUEST_SCHEME" => RequestVar::Scheme,
        _ => return None,
    })
}

impl Parser {
    fn at_end(&self) -> bool {
        self.pos >= self.chars.len()
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn skip_blanks(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// Whether the text at the cursor starts with `s`.
    fn looking_at(&self, s: &str) -> bool {
        s.chars()
            .enumerate()
            .all(|(i, c)| self.peek_at(i) == Some(c))
    }

    /// Consumes `s` if the text at the cursor starts with it.
    fn eat(&mut self, s: &str) -> bool {
        if self.looking_at(s) {
            self.pos += s.chars().count();
            true
        } else {
            false
        }
    }

    /// What is at the cursor, for messages.
    fn found(&self) -> String {
        if self.at_end() {
            return "the end of the expression".to_string();
        }
        let rest: String = self.chars[self.pos..].iter().take(20).collect();
        let more = if self.chars.len() - self.pos > 20 {
            "…"
        } else {
            ""
        };
        format!("'{rest}{more}'")
    }

    fn error_at(&self, pos: usize, message: impl fmt::Display) -> String {
        format!("at column {}: {message}", pos + 1)
    }

    /// "at column N: expected X, found Y".
    fn error(&self, expected: &str) -> String {
        self.error_at(
            self.pos,
            format!("expected {expected}, found {}", self.found()),
        )
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        loop {
            self.skip_blanks();
            if !self.eat("||") {
                return Ok(left);
            }
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.not()?;
        loop {
            self.skip_blanks();
            if !self.eat("&&") {
                return Ok(left);
            }
            let right = self.not()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
    }

    fn not(&mut self) -> Result<Expr, String> {
        self.skip_blanks();
        if self.peek() == Some('!') && !matches!(self.peek_at(1), Some('=' | '~')) {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, String> {
        self.skip_blanks();
        if self.eat("(") {
            let inner = self.or()?;
            self.skip_blanks();
            if !self.eat(")") {
                return Err(self.error("')' (or '&&', '||')"));
            }
            return Ok(inner);
        }
        if let Some(keyword) = self.keyword() {
            match keyword.as_str() {
                "true" => {
                    self.pos += 4;
                    return Ok(Expr::True);
                }
                "false" => {
                    self.pos += 5;
                    return Ok(Expr::False);
                }
                _ => {}
            }
        }
        if let Some(empty) = ["-n", "-z"]
            .iter()
            .position(|op| self.looking_at(op) && self.peek_at(2).is_some_and(char::is_whitespace))
        {
            self.pos += 2;
            self.skip_blanks();
            let Some(word) = self.word()? else {
                return Err(self.error("a value after -n or -z"));
            };
            return Ok(Expr::Empty {
                word,
                empty: empty == 1,
            });
        }
        let start = self.pos;
        let Some(word) = self.word()? else {
            return Err(self.error(
                "a condition: true, false, '!', '(' or a comparison starting with \
                 %{VARIABLE}, hc('body'), a quoted string or a number",
            ));
        };
        self.skip_blanks();
        let op_pos = self.pos;
        if self.eat("=~") || self.eat("!~") {
            let negated = self.chars[op_pos] == '!';
            let pattern = self.regex()?;
            return Ok(Expr::Match {
                word,
                pattern,
                negated,
            });
        }
        let op = if self.eat("==") || self.eat("=") {
            CmpOp::StrEq
        } else if self.eat("!=") {
            CmpOp::StrNe
        } else if self.eat("<=") {
            CmpOp::StrLe
        } else if self.eat("<") {
            CmpOp::StrLt
        } else if self.eat(">=") {
            CmpOp::StrGe
        } else if self.eat(">") {
            CmpOp::StrGt
        } else if self.peek() == Some('-') && self.peek_at(1).is_some_and(|c| c.is_alphabetic()) {
            self.pos += 1;
            let name = self.take_while(char::is_alphanumeric);
            match name.to_ascii_lowercase().as_str() {
                "eq" => CmpOp::IntEq,
                "ne" => CmpOp::IntNe,
                "lt" => CmpOp::IntLt,
                "le" => CmpOp::IntLe,
                "gt" => CmpOp::IntGt,
                "ge" => CmpOp::IntGe,
                _ => {
                    return Err(self.error_at(
                        op_pos,
                        format!(
                            "unsupported operator -{name} (supported: -eq -ne -lt -le -gt -ge)"
                        ),
                    ))
                }
            }
        } else {
            let what = if self.at_end() {
                "the end of the expression".to_string()
            } else {
                self.found()
            };
            return Err(self.error_at(
                op_pos,
                format!(
                    "expected an operator after the value at column {} (=~ !~ == != < <= > >= \
                     -eq -ne -lt -le -gt -ge), found {what}",
                    start + 1
                ),
            ));
        };
        self.skip_blanks();
        let Some(right) = self.word()? else {
            return Err(self.error(&format!(
                "a value after {} (%{{VARIABLE}}, hc('body'), a quoted string or a number)",
                op.symbol()
            )));
        };
        Ok(Expr::Compare {
            left: word,
            op,
            right,
        })
    }

    /// The identifier at the cursor (letters, digits, `_`), lowercased, without consuming it.
    fn keyword(&self) -> Option<String> {
        let word: String = self.chars[self.pos..]
            .iter()
            .take_while(|c| c.is_alphanumeric() || **c == '_')
            .collect();
        (!word.is_empty() && !word.starts_with(|c: char| c.is_ascii_digit()))
            .then(|| word.to_ascii_lowercase())
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> String {
        let start = self.pos;
        while self.peek().is_some_and(&keep) {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    /// A word, or None when none starts at the cursor (nothing consumed then).
    fn word(&mut self) -> Result<Option<Word>, String> {
        match self.peek() {
            Some('%') if self.peek_at(1) == Some('{') => self.variable().map(Some),
            Some(q @ ('\'' | '"')) => {
                self.pos += 1;
                self.string(q).map(Some)
            }
            Some(c) if c.is_ascii_digit() => {
                Ok(Some(Word::Literal(self.take_while(|c| c.is_ascii_digit()))))
            }
            Some(_) => match self.keyword() {
                Some(name) if !matches!(name.as_str(), "true" | "false") => {
                    self.function().map(Some)
                }
                _ => Ok(None),
            },
            None => Ok(None),
        }
    }

    /// `%{NAME}` at the cursor.
    fn variable(&mut self) -> Result<Word, String> {
        let start = self.pos;
        self.pos += 2;
        let name = self.take_while(|c| c != '}');
        if !self.eat("}") {
            return Err(self.error_at(start, "unterminated %{ (expected %{NAME})"));
        }
        if self.request {
            if let Some(var) = request_variable(name.trim()) {
                return Ok(Word::Request(var));
            }
        }
        VARIABLES
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name.trim()))
            .map(|(_, word)| word.clone())
            .ok_or_else(|| {
                let known: Vec<String> =
                    VARIABLES.iter().map(|(n, _)| format!("%{{{n}}}")).collect();
                self.error_at(
                    start,
                    format!(
                        "unknown variable %{{{name}}} (a health check can use {})",
                        known.join(", ")
                    ),
                )
            })
    }

    /// The rest of a string literal opened by `quote` (already consumed). `\` escapes the
    /// quote and `\` itself; `%{VAR}` inside is replaced by its value.
    fn string(&mut self, quote: char) -> Result<Word, String> {
        let start = self.pos - 1;
        let mut parts = Vec::new();
        let mut text = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(
                        self.error_at(start, format!("unterminated string (no closing {quote})"))
                    )
                }
                Some(c) if c == quote => {
                    self.pos += 1;
                    break;
                }
                Some('\\') if matches!(self.peek_at(1), Some(c) if c == quote || c == '\\') => {
                    text.push(self.chars[self.pos + 1]);
                    self.pos += 2;
                }
                Some('%') if self.peek_at(1) == Some('{') => {
                    if !text.is_empty() {
                        parts.push(Word::Literal(std::mem::take(&mut text)));
                    }
                    parts.push(self.variable()?);
                }
                Some(c) => {
                    text.push(c);
                    self.pos += 1;
                }
            }
        }
        if parts.is_empty() {
            return Ok(Word::Literal(text));
        }
        if !text.is_empty() {
            parts.push(Word::Literal(text));
        }
        Ok(match parts.len() {
            1 => parts.pop().expect("one part"),
            _ => Word::Concat(parts),
        })
    }

    /// `name(argument)` at the cursor: only `hc('body')`.
    fn function(&mut self) -> Result<Word, String> {
        let start = self.pos;
        let name = self.take_while(|c| c.is_alphanumeric() || c == '_');
        self.skip_blanks();
        if self.peek() != Some('(') {
            return Err(self.error_at(
                start,
                format!(
                    "unexpected word '{name}' (strings must be quoted; a function is \
                     written hc('body'))"
                ),
            ));
        }
        let lower = name.to_ascii_lowercase();
        if self.request && matches!(lower.as_str(), "req" | "http" | "reqenv") {
            self.pos += 1;
            self.skip_blanks();
            let argument = match self.peek() {
                Some(q @ ('\'' | '"')) => {
                    self.pos += 1;
                    self.string(q)?
                }
                _ => return Err(self.error(&format!("a quoted argument, as in {lower}('Name')"))),
            };
            let Word::Literal(argument) = argument else {
                return Err(self.error_at(start, format!("{lower}() takes a plain string")));
            };
            self.skip_blanks();
            if !self.eat(")") {
                return Err(self.error(&format!("')' closing {lower}(")));
            }
            return Ok(Word::Request(match lower.as_str() {
                "reqenv" => RequestVar::Env(argument),
                _ => RequestVar::Header(argument),
            }));
        }
        if !name.eq_ignore_ascii_case("hc") {
            return Err(self.error_at(
                start,
                format!("unknown function {name}() (a health check can use hc('body'))"),
            ));
        }
        self.pos += 1;
        self.skip_blanks();
        let arg_pos = self.pos;
        let argument = match self.peek() {
            Some(q @ ('\'' | '"')) => {
                self.pos += 1;
                self.string(q)?
            }
            _ => return Err(self.error("a quoted argument, as in hc('body')")),
        };
        if argument != Word::Literal("body".to_string()) {
            return Err(self.error_at(
                arg_pos,
                "hc() takes one argument, 'body' (the response body)",
            ));
        }
        self.skip_blanks();
        if !self.eat(")") {
            return Err(self.error("')' closing hc("));
        }
        Ok(Word::Body)
    }

    /// The regex after `=~` / `!~`: `/re/` or `m` + delimiter, then an optional `i`.
    fn regex(&mut self) -> Result<Pattern, String> {
        self.skip_blanks();
        let start = self.pos;
        let delimiter = match (self.peek(), self.peek_at(1)) {
            (Some('/'), _) => {
                self.pos += 1;
                '/'
            }
            (Some('m'), Some(d)) if M_DELIMITERS.contains(d) => {
                self.pos += 2;
                d
            }
            _ => {
                return Err(
                    self.error("a regular expression (/…/ or m#…#) after the match operator")
                )
            }
        };
        let mut source = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(self.error_at(
                        start,
                        format!("unterminated regular expression (no closing {delimiter})"),
                    ))
                }
                Some(c) if c == delimiter => {
                    self.pos += 1;
                    break;
                }
                Some('\\') if self.peek_at(1) == Some(delimiter) => {
                    source.push_str(&regex::escape(&delimiter.to_string()));
                    self.pos += 2;
                }
                Some(c) => {
                    source.push(c);
                    self.pos += 1;
                }
            }
        }
        let case_insensitive = self.peek() == Some('i')
            && !self
                .peek_at(1)
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
        if case_insensitive {
            self.pos += 1;
        } else if self.peek().is_some_and(|c| c.is_alphanumeric()) {
            return Err(self.error("the flag i or a blank after the regular expression"));
        }
        Pattern::new(&source, case_insensitive).map_err(|reason| {
            self.error_at(
                start,
                format!("bad regular expression {delimiter}{source}{delimiter}: {reason}"),
            )
        })
    }
}

#[cfg(test)]
mod tests;
