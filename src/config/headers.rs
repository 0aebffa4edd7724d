//! mod_headers' directives: `Header [condition] action header [value
//! [replacement]] [early|env=[!]VAR|expr=…]` and `RequestHeader action header
//! [value [replacement]] [early|env=[!]VAR|expr=…]` (server, `<VirtualHost>`,
//! `<Location[Match]>`, `<Proxy[Match]>`; see `crate::rules::headers` for what
//! they do).

use regex::bytes::Regex;

use super::reader::Directive;
use super::scope::fail;
use super::ConfigError;
use crate::rules::headers::{Action, Condition, Format, HeaderRule, Table};
use crate::rules::Rules;

/// Takes `Header` and `RequestHeader` lines; false for any other directive.
/// `section`: the `<Location>`/`<Proxy>` tag the line is in (None: server or
/// vhost).
pub(super) fn directive(
    rules: &mut Rules,
    d: &Directive,
    section: Option<&str>,
) -> Result<bool, ConfigError> {
    let request = if d.is("RequestHeader") {
        true
    } else if d.is("Header") {
        false
    } else {
        return Ok(false);
    };
    let rule = parse(&d.args, request).map_err(|m| fail(d, format!("{}: {m}", d.name)))?;
    if let (true, Some(tag)) = (rule.early, section) {
        // httpd accepts it there but never applies it (its early rules are
        // read before any section is walked): refused rather than ignored.
        return Err(fail(
            d,
            format!(
                "{}: 'early' applies only in the server or a <VirtualHost> (httpd reads early \
                 rules before it looks at <{tag}>, so there it would do nothing)",
                d.name
            ),
        ));
    }
    if request {
        rules.request.push(rule);
    } else {
        rules.response.push(rule);
    }
    Ok(true)
}

fn parse(args: &[String], request: bool) -> Result<HeaderRule, String> {
    let mut args = args.iter().map(String::as_str);
    let mut word = args.next().ok_or("takes an action and a header name")?;
    let mut table = Table::OnSuccess;
    if !request {
        match word.to_ascii_lowercase().as_str() {
            "always" => table = Table::Always,
            "onsuccess" => table = Table::OnSuccess,
            _ => {}
        }
        if word.eq_ignore_ascii_case("always") || word.eq_ignore_ascii_case("onsuccess") {
            word = args.next().ok_or("takes an action after its condition")?;
        }
    }
    let action = match word.to_ascii_lowercase().as_str() {
        "set" => Action::Set,
        "append" => Action::Append,
        "add" => Action::Add,
        "unset" => Action::Unset,
        "edit" => Action::Edit { all: false },
        "edit*" => Action::Edit { all: true },
        "merge" => Action::Merge,
        "setifempty" => Action::SetIfEmpty,
        "echo" if !request => Action::Echo,
        "echo" => return Err("echo is only for Header (responses)".into()),
        "note" if !request => Action::Note,
        "note" => return Err("RequestHeader does not support the 'note' action (httpd)".into()),
        _ => {
            return Err(format!(
                "unknown action '{word}' (set, append, add, unset, edit, edit*, merge, \
                 setifempty{})",
                if request { "" } else { ", echo, note" }
            ))
        }
    };
    let name = args.next().ok_or("takes a header name after its action")?;
    let rest: Vec<&str> = args.collect();
    // How many value words the action takes before the optional condition.
    let values = match action {
        Action::Unset | Action::Echo => 0,
        Action::Edit { .. } => 2,
        _ => 1,
    };
    if rest.len() < values {
        return Err(match action {
            Action::Edit { .. } => format!("{word} takes a regular expression and a replacement"),
            _ => format!("{word} takes a value"),
        });
    }
    if rest.len() > values + 1 {
        return Err(format!("too many arguments for {word}"));
    }
    let (condition, early) = match rest.get(values) {
        None => (Condition::Always, false),
        Some(c) if c.eq_ignore_ascii_case("early") => (Condition::Always, true),
        Some(c) => (condition(c)?, false),
    };
    let (value, pattern) = match action {
        Action::Unset => (Format::default(), None),
        Action::Echo => (Format::default(), Some(regex(name)?)),
        Action::Edit { .. } => (value(rest[1])?, Some(regex(rest[0])?)),
        _ => (value(rest[0])?, None),
    };
    Ok(HeaderRule {
        table,
        action,
        name: name.to_string(),
        value,
        pattern,
        condition,
        early,
    })
}

/// A value: a format with `%` specifiers, or `expr=STRING` (httpd 2.4.10+).
fn value(text: &str) -> Result<Format, String> {
    match text.strip_prefix("expr=") {
        Some(e) => Format::expr(e).map_err(|m| format!("'{text}': {m}")),
        None => Format::parse(text),
    }
}

fn regex(pattern: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|e| format!("bad regular expression '{pattern}': {e}"))
}

fn condition(word: &str) -> Result<Condition, String> {
    if let Some(var) = word.strip_prefix("env=") {
        let (name, negated) = match var.strip_prefix('!') {
            Some(n) => (n, true),
            None => (var, false),
        };
        if name.is_empty() {
            return Err(format!("'{word}' names no variable"));
        }
        return Ok(Condition::Env {
            name: name.to_string(),
            negated,
        });
    }
    if let Some(text) = word.strip_prefix("expr=") {
        let e = crate::expr::parse_request(text)
            .map_err(|m| format!("expr= '{text}' cannot be evaluated by slotgate: {m}"))?;
        return Ok(Condition::Expr(Box::new(e)));
    }
    Err(format!(
        "'{word}' is not a condition (expected early, env=[!]VAR or expr=…)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split(' ').map(str::to_string).collect()
    }

    #[test]
    fn lines_parse_into_rules() {
        let r = parse(&words("always set X-Frame-Options SAMEORIGIN"), false).unwrap();
        assert_eq!(
            (r.table, r.action, r.name.as_str()),
            (Table::Always, Action::Set, "X-Frame-Options")
        );
        let r = parse(
            &words("add Set-Cookie ROUTEID=.%{BALANCER_WORKER_ROUTE}e env=BALANCER_ROUTE_CHANGED"),
            false,
        )
        .unwrap();
        assert_eq!(
            r.condition,
            Condition::Env {
                name: "BALANCER_ROUTE_CHANGED".into(),
                negated: false
            }
        );
        let r = parse(&words("edit* Location ^http: https: env=!no"), false).unwrap();
        assert_eq!(r.action, Action::Edit { all: true });
        assert!(r.pattern.is_some());
        assert!(parse(&words("unset X-A"), true).is_ok());
        let r = parse(&words("set X y expr=%{REQUEST_URI}=~m#^/a#"), false).unwrap();
        assert!(matches!(r.condition, Condition::Expr(_)));
        let r = parse(&words("set X y expr=%{HTTP:X}=='a'"), true).unwrap();
        assert!(matches!(r.condition, Condition::Expr(_)));
        let r = parse(&words("set X y early"), true).unwrap();
        assert!(r.early && r.condition == Condition::Always);
        let r = parse(&words("note X-Origin from"), false).unwrap();
        assert_eq!(r.action, Action::Note);
        assert!(parse(
            &words("set X expr=https://%{HTTP_HOST}%{REQUEST_URI}"),
            false
        )
        .is_ok());
        assert!(parse(&words("set X %{HTTPS}s/%{SSL_PROTOCOL}s"), false).is_ok());
    }

    #[test]
    fn what_cannot_be_done_is_refused() {
        for (line, request, why) in [
            ("set X v expr=%{REQUEST_URI}", false, "expected an operator"),
            ("set X v expr=%{NOPE}==1", false, "unknown variable %{NOPE}"),
            ("set X expr=%{NOPE}", false, "unknown variable %{NOPE}"),
            ("set X expr=%{resp:A}", false, "not resp"),
            ("note X n", true, "does not support the 'note' action"),
            (
                "set X %{SSL_CLIENT_S_DN}s",
                false,
                "knows the SSL variables",
            ),
            ("echo X", true, "only for Header"),
            ("always set X v", true, "unknown action 'always'"),
            ("set X %q", false, "unrecognized header format %q"),
            ("set X", false, "set takes a value"),
            ("edit X ^a", false, "regular expression and a replacement"),
            ("unset X v", false, "is not a condition"),
            ("set X v env=a b", false, "too many"),
        ] {
            let e = parse(&words(line), request).unwrap_err();
            assert!(e.contains(why), "{line}: {e}");
        }
    }
}
