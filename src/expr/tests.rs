use super::*;

fn probe<'a>(status: u16, content_type: Option<&'a str>, body: &'a str) -> Probe<'a> {
    Probe {
        status,
        content_type,
        body: body.as_bytes(),
    }
}

fn ok200() -> Probe<'static> {
    probe(200, Some("text/html; charset=utf-8"), "all good\n")
}

/// Parses `text` (which must parse) and evaluates it against `p`.
fn eval(text: &str, p: &Probe<'_>) -> bool {
    parse(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .eval(p)
}

fn error(text: &str) -> String {
    match parse(text) {
        Ok(e) => panic!("accepted {text:?} as {e:?}"),
        Err(e) => e,
    }
}

#[test]
fn reference_examples() {
    let status = "%{REQUEST_STATUS} =~ /^[234]/";
    for (code, want) in [
        (200, true),
        (302, true),
        (404, true),
        (500, false),
        (503, false),
    ] {
        assert_eq!(eval(status, &probe(code, None, "")), want, "{code}");
    }
    let body = "hc('body') !~ /Under maintenance/";
    assert!(eval(body, &ok200()));
    assert!(!eval(
        body,
        &probe(200, None, "<h1>Under maintenance</h1> back soon")
    ));
    let var = "%{HC_BODY} !~ /Under maintenance/";
    assert_eq!(parse(var).unwrap(), parse(body).unwrap());
}

#[test]
fn parse_tree() {
    assert_eq!(
        parse("%{REQUEST_STATUS} -eq 200").unwrap(),
        Expr::Compare {
            left: Word::Status,
            op: CmpOp::IntEq,
            right: Word::Literal("200".to_string()),
        }
    );
    assert_eq!(parse("true").unwrap(), Expr::True);
    assert_eq!(parse("  false  ").unwrap(), Expr::False);
    assert_eq!(parse("!true").unwrap(), Expr::Not(Box::new(Expr::True)));
    // Variable names are case-insensitive, and so are true/false.
    assert_eq!(
        parse("%{request_status} == '200'").unwrap(),
        parse("%{REQUEST_STATUS} == \"200\"").unwrap()
    );
    assert_eq!(parse("TRUE").unwrap(), Expr::True);
}

#[test]
fn precedence_not_and_or() {
    let t = || Box::new(Expr::True);
    let f = || Box::new(Expr::False);
    // && binds tighter than ||.
    assert_eq!(
        parse("true || false && false").unwrap(),
        Expr::Or(t(), Box::new(Expr::And(f(), f())))
    );
    assert_eq!(
        parse("false && true || true").unwrap(),
        Expr::Or(Box::new(Expr::And(f(), t())), t())
    );
    // ! binds tighter than &&.
    assert_eq!(
        parse("!false && false").unwrap(),
        Expr::And(Box::new(Expr::Not(f())), f())
    );
    // ! applies to a whole comparison.
    assert!(!eval("!%{REQUEST_STATUS} == 200", &ok200()));
    assert!(eval("!%{REQUEST_STATUS} == 500", &ok200()));
    // Left-associative chains.
    assert_eq!(
        parse("true && true && false").unwrap(),
        Expr::And(Box::new(Expr::And(t(), t())), f())
    );
    let p = ok200();
    assert!(eval("true || false && false", &p));
    assert!(!eval("(true || false) && false", &p));
    assert!(eval("!false && true", &p));
    assert!(!eval("!(false || true)", &p));
    assert!(eval("!!true", &p));
}

#[test]
fn nested_parentheses() {
    let p = ok200();
    assert!(eval("((true))", &p));
    assert!(eval(
        "(%{REQUEST_STATUS} -ge 200 && (%{REQUEST_STATUS} -lt 300 || (false))) && !(hc('body') =~ /maint/)",
        &p
    ));
    assert!(!eval(
        "((%{REQUEST_STATUS} -ge 300) || ((%{CONTENT_TYPE} !~ m#^text/#)))",
        &p
    ));
    assert_eq!(parse("(((true)))").unwrap(), Expr::True);
}

#[test]
fn string_comparisons() {
    let p = ok200();
    assert!(eval("%{REQUEST_STATUS} == '200'", &p));
    assert!(eval("%{REQUEST_STATUS} = '200'", &p));
    assert!(eval("%{REQUEST_STATUS} != '201'", &p));
    assert!(eval("%{CONTENT_TYPE} == 'text/html; charset=utf-8'", &p));
    assert!(eval("'abc' < 'abd'", &p));
    assert!(eval("'abc' <= 'abc'", &p));
    assert!(!eval("'abc' > 'abd'", &p));
    assert!(eval("'b' >= 'abc'", &p));
    // Strings compare byte-wise: "1000" < "200".
    assert!(eval("'1000' < '200'", &p));
    // Without a Content-Type the variable is empty.
    assert!(eval("%{CONTENT_TYPE} == ''", &probe(200, None, "")));
    // Variables inside strings are replaced.
    assert!(eval("'status %{REQUEST_STATUS}!' == \"status 200!\"", &p));
    // Escaped quotes.
    assert!(eval(r#"'it\'s' == "it's""#, &p));
    assert!(eval(r#""a\"b" == 'a"b'"#, &p));
}

#[test]
fn integer_comparisons() {
    let p = probe(204, None, "");
    for (text, want) in [
        ("%{REQUEST_STATUS} -eq 204", true),
        ("%{REQUEST_STATUS} -ne 204", false),
        ("%{REQUEST_STATUS} -lt 300", true),
        ("%{REQUEST_STATUS} -le 204", true),
        ("%{REQUEST_STATUS} -gt 204", false),
        ("%{REQUEST_STATUS} -ge 200", true),
        ("1000 -gt 200", true),
        ("'007' -eq 7", true),
        ("%{REQUEST_STATUS} -EQ 204", true),
    ] {
        assert_eq!(eval(text, &p), want, "{text}");
    }
}

#[test]
fn evaluation_errors_are_false() {
    let p = probe(200, Some("text/plain"), "");
    let e = parse("%{CONTENT_TYPE} -eq 0").unwrap();
    assert!(e.try_eval(&p).is_err());
    assert!(!e.eval(&p));
    // The error makes the whole expression false, not just its operand.
    assert!(!eval("!(%{CONTENT_TYPE} -eq 0)", &p));
    assert!(!eval("true && %{CONTENT_TYPE} -lt 5", &p));
    // Short-circuit: the failing side is not evaluated.
    assert!(eval("true || %{CONTENT_TYPE} -lt 5", &p));
    assert!(!eval("false && %{CONTENT_TYPE} -lt 5", &p));
}

#[test]
fn regex_matches() {
    let p = ok200();
    assert!(eval("%{CONTENT_TYPE} =~ /^text\\/html/", &p));
    assert!(eval("%{CONTENT_TYPE} =~ m#^text/html#", &p));
    assert!(eval("%{CONTENT_TYPE} =~ m|^text/html|", &p));
    assert!(eval("%{CONTENT_TYPE} =~ m#\\#|html#", &p));
    assert!(eval("%{CONTENT_TYPE} !~ m,json,", &p));
    assert!(!eval("hc('body') =~ /ALL GOOD/", &p));
    assert!(eval("hc('body') =~ /ALL GOOD/i", &p));
    assert!(eval("hc('body') =~ m#ALL good#i", &p));
    assert!(eval("hc('body') !~ /ALL GOOD/", &p));
    assert!(eval("hc( \"body\" )=~/good\\n$/", &p));
    assert!(eval("%{REQUEST_STATUS}=~/^2/&&hc('body')=~/good/", &p));
    let e = parse("%{CONTENT_TYPE} =~ /x/i").unwrap();
    let Expr::Match { pattern, .. } = e else {
        panic!("{e:?}")
    };
    assert!(pattern.case_insensitive);
    assert_eq!(pattern.source, "x");
    // Bodies that are not UTF-8 are still searched.
    let binary = Probe {
        status: 200,
        content_type: None,
        body: b"\xff\xfeready\x00",
    };
    assert!(eval("hc('body') =~ /ready/", &binary));
}

#[test]
fn other_flags_are_refused() {
    let e = error("hc('body') =~ /good$/m");
    assert!(e.contains("column 22"), "{e}");
    assert!(e.contains("flag i"), "{e}");
}

#[test]
fn bad_input_errors() {
    let cases: &[(&str, &str)] = &[
        ("", "empty expression"),
        ("   ", "empty expression"),
        (
            "%{REQUEST_STATUS}",
            "at column 18: expected an operator after the value at column 1",
        ),
        (
            "%{REQUEST_STATUS} =~ ^2",
            "at column 22: expected a regular expression (/…/ or m#…#) after the match operator, found '^2'",
        ),
        (
            "%{REQUEST_STATUS} =~ /^2",
            "at column 22: unterminated regular expression (no closing /)",
        ),
        (
            "%{REQUEST_STATUS} =~ /(/",
            "at column 22: bad regular expression /(/: unclosed group",
        ),
        (
            "%{REQUEST_URI} == '/'",
            "at column 1: unknown variable %{REQUEST_URI} (a health check can use %{REQUEST_STATUS}, %{CONTENT_TYPE}, %{HC_BODY})",
        ),
        ("%{REQUEST_STATUS", "at column 1: unterminated %{"),
        (
            "hc('head') =~ /x/",
            "at column 4: hc() takes one argument, 'body'",
        ),
        ("hc(body) =~ /x/", "at column 4: expected a quoted argument"),
        ("hc('body' =~ /x/", "expected ')' closing hc("),
        ("env('X') == 'y'", "at column 1: unknown function env()"),
        (
            "status == 200",
            "at column 1: unexpected word 'status' (strings must be quoted",
        ),
        ("'abc == 'x'", "expected an operator"),
        ("'abc", "at column 1: unterminated string (no closing ')"),
        (
            "%{REQUEST_STATUS} -in 200",
            "at column 19: unsupported operator -in (supported: -eq -ne -lt -le -gt -ge)",
        ),
        (
            "%{REQUEST_STATUS} == ",
            "at column 22: expected a value after ==",
        ),
        (
            "(true",
            "at column 6: expected ')' (or '&&', '||'), found the end of the expression",
        ),
        (
            "true)",
            "at column 5: expected '&&', '||' or the end of the expression, found ')'",
        ),
        (
            "true &&",
            "at column 8: expected a condition: true, false, '!', '(' or a comparison",
        ),
        ("|| true", "at column 1: expected a condition"),
        ("true false", "at column 6: expected '&&', '||' or the end"),
        ("!", "at column 2: expected a condition"),
        ("200 =~ /2/ & true", "at column 12: expected '&&', '||'"),
    ];
    for (text, want) in cases {
        let got = error(text);
        assert!(got.contains(want), "{text:?}:\n  got  {got}\n  want {want}");
    }
}

#[test]
fn expressions_compare_by_source() {
    assert_eq!(parse("1 =~ /a/i").unwrap(), parse("1 =~ m#a#i").unwrap());
    assert_ne!(parse("1 =~ /a/i").unwrap(), parse("1 =~ /a/").unwrap());
    let e = parse("%{REQUEST_STATUS} =~ /^2/ && hc('body') !~ /x/").unwrap();
    assert_eq!(e.clone(), e);
}
