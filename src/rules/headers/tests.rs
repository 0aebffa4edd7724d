use super::*;

fn rule(
    table: Table,
    action: Action,
    name: &str,
    value: &str,
    pattern: Option<&str>,
) -> HeaderRule {
    HeaderRule {
        table,
        action,
        name: name.into(),
        value: Format::parse(value).unwrap(),
        pattern: pattern.map(|p| Regex::new(p).unwrap()),
        condition: Condition::Always,
        early: false,
    }
}

fn list(pairs: &[(&str, &str)]) -> Vec<Header> {
    pairs
        .iter()
        .map(|(n, v)| Header {
            name: (*n).into(),
            value: v.as_bytes().to_vec(),
        })
        .collect()
}

fn text(headers: &[Header]) -> Vec<String> {
    headers
        .iter()
        .map(|h| format!("{}: {}", h.name, String::from_utf8_lossy(&h.value)))
        .collect()
}

/// A rule, the headers before, the headers after.
type Case = (
    HeaderRule,
    &'static [(&'static str, &'static str)],
    &'static [&'static str],
);

#[test]
fn each_action_edits_the_list_as_httpd_does() {
    let mut env = Env::default();
    env.set("BALANCER_WORKER_ROUTE", "r1");
    let request = list(&[("X-Echo-A", "1"), ("Other", "2"), ("X-Echo-B", "3")]);
    let ctx = RuleContext {
        env: &env,
        started_us: 1_000,
        now_us: 1_500,
        request: &request,
        facts: None,
        workers: None,
    };
    let t = Table::OnSuccess;
    let cases: Vec<Case> = vec![
        (
            rule(t, Action::Set, "a", "v", None),
            &[("A", "1"), ("b", "x"), ("a", "2")],
            &["A: v", "b: x"],
        ),
        (rule(t, Action::Set, "a", "v", None), &[], &["a: v"]),
        (
            rule(t, Action::Append, "a", "v", None),
            &[("a", "1"), ("a", "2")],
            &["a: 1, v", "a: 2"],
        ),
        (
            rule(t, Action::Merge, "a", "v", None),
            &[("a", "x, v")],
            &["a: x, v"],
        ),
        (
            rule(t, Action::Merge, "a", "v", None),
            &[("a", "x")],
            &["a: x, v"],
        ),
        (
            rule(t, Action::Add, "a", "v", None),
            &[("a", "1")],
            &["a: 1", "a: v"],
        ),
        (
            rule(t, Action::SetIfEmpty, "a", "v", None),
            &[("a", "1")],
            &["a: 1"],
        ),
        (rule(t, Action::SetIfEmpty, "a", "v", None), &[], &["a: v"]),
        (
            rule(t, Action::Unset, "a", "", None),
            &[("a", "1"), ("b", "2"), ("A", "3")],
            &["b: 2"],
        ),
        (
            rule(
                t,
                Action::Edit { all: false },
                "loc",
                "https:$1",
                Some("^http:(//)?"),
            ),
            &[("loc", "http://h/http:")],
            &["loc: https://h/http:"],
        ),
        (
            rule(t, Action::Edit { all: true }, "a", "-", Some("o")),
            &[("a", "foo"), ("a", "bo")],
            &["a: f--", "a: b-"],
        ),
        (
            rule(t, Action::Echo, "", "", Some("^X-Echo")),
            &[],
            &["X-Echo-A: 1", "X-Echo-B: 3"],
        ),
        (
            rule(
                t,
                Action::Add,
                "Set-Cookie",
                "ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/ %{NOPE}e %t %D 100%%",
                None,
            ),
            &[],
            &["Set-Cookie: ROUTEID=.r1; path=/ (null) t=1000 D=500 100%"],
        ),
    ];
    for (i, (r, before, after)) in cases.into_iter().enumerate() {
        let mut headers = list(before);
        apply([&r], &mut headers, &ctx, &mut Env::default());
        assert_eq!(text(&headers), after, "case {i}: {:?}", r.action);
    }
}

#[test]
fn env_conditions_choose_the_rules_that_apply() {
    let mut env = Env::default();
    env.set("on", "");
    let ctx = RuleContext {
        env: &env,
        started_us: 0,
        now_us: 0,
        request: &[],
        facts: None,
        workers: None,
    };
    let mut a = rule(Table::OnSuccess, Action::Add, "a", "1", None);
    a.condition = Condition::Env {
        name: "ON".into(),
        negated: false,
    };
    let mut b = rule(Table::OnSuccess, Action::Add, "b", "1", None);
    b.condition = Condition::Env {
        name: "on".into(),
        negated: true,
    };
    let mut c = rule(Table::OnSuccess, Action::Add, "c", "1", None);
    c.condition = Condition::Env {
        name: "off".into(),
        negated: true,
    };
    let mut headers = Vec::new();
    apply([&a, &b, &c], &mut headers, &ctx, &mut Env::default());
    assert_eq!(text(&headers), ["a: 1", "c: 1"]);
}

#[test]
fn always_rules_edit_their_own_table_sent_first() {
    let rules = crate::rules::Rules {
        response: vec![
            rule(
                Table::Always,
                Action::Set,
                "X-Frame-Options",
                "SAMEORIGIN",
                None,
            ),
            rule(Table::Always, Action::Unset, "Server", "", None),
            rule(Table::OnSuccess, Action::Set, "X-A", "1", None),
        ],
        ..Default::default()
    };
    let env = Env::default();
    let ctx = RuleContext {
        env: &env,
        started_us: 0,
        now_us: 0,
        request: &[],
        facts: None,
        workers: None,
    };
    let mut headers = list(&[("Server", "member"), ("X-Frame-Options", "DENY")]);
    let at = crate::rules::Place {
        path: b"/",
        url: None,
    };
    rules.edit_response(at, &mut headers, &ctx, &mut Env::default());
    // httpd: `always unset` does not reach the member's Server, and both
    // X-Frame-Options go out, the always table's first.
    assert_eq!(
        text(&headers),
        [
            "X-Frame-Options: SAMEORIGIN",
            "Server: member",
            "X-Frame-Options: DENY",
            "X-A: 1"
        ]
    );
}

#[test]
fn expr_conditions_read_the_request_its_environment_and_the_status() {
    let mut head = crate::http::RequestHead::empty();
    head.method.push_str("GET");
    head.target.push_str("/api/x?debug=1");
    head.headers = list(&[("X-Trace", "on"), ("Host", "front")]);
    let mut env = Env::default();
    env.set("tenant", "acme");
    let facts = ExprFacts {
        head: &head,
        peer: "10.0.0.7".parse().unwrap(),
        tls: Some(Tls {
            protocol: "TLSv1.3",
            cipher: "TLS_AES_128_GCM_SHA256",
        }),
        status: 404,
        content_type: Some("text/html"),
        env: &env,
    };
    let ctx = RuleContext {
        env: &env,
        started_us: 0,
        now_us: 0,
        request: &[],
        facts: Some(&facts),
        workers: None,
    };
    for (text, holds) in [
        ("%{REQUEST_URI} =~ m#^/api/#", true),
        ("%{QUERY_STRING} == 'debug=1'", true),
        ("-n %{HTTP:X-Trace} && -z req('X-None')", true),
        ("http('host') == 'front' && %{HTTP_HOST} == 'front'", true),
        ("reqenv('tenant') == 'acme'", true),
        (
            "%{REQUEST_STATUS} -ge 400 && %{CONTENT_TYPE} =~ /html/",
            true,
        ),
        ("%{HTTPS} == 'on' && %{REQUEST_SCHEME} == 'https'", true),
        (
            "%{REMOTE_ADDR} == '10.0.0.7' && %{REQUEST_METHOD} == 'GET'",
            true,
        ),
        ("%{SERVER_PROTOCOL} == 'HTTP/1.1'", true),
        ("%{REQUEST_URI} == '/api'", false),
        ("-z %{HTTP:X-Trace}", false),
    ] {
        let mut r = rule(Table::OnSuccess, Action::Add, "a", "1", None);
        r.condition = Condition::Expr(Box::new(crate::expr::parse_request(text).unwrap()));
        let mut headers = Vec::new();
        apply([&r], &mut headers, &ctx, &mut Env::default());
        assert_eq!(!headers.is_empty(), holds, "{text}");
        // Without facts (no request at hand), an expr= condition never holds.
        let none = RuleContext { facts: None, ..ctx };
        let mut headers = Vec::new();
        apply([&r], &mut headers, &none, &mut Env::default());
        assert!(headers.is_empty(), "{text}");
    }
    // A health check's parser still refuses request variables.
    assert!(crate::expr::parse("%{REQUEST_URI} == '/'").is_err());
}

#[test]
fn expr_values_ssl_variables_and_notes_follow_httpd() {
    // httpd-oracle (tests/headers_module.rs): `Header set X-Uri
    // "expr=%{REQUEST_URI}"` gave the path without the query; over plain HTTP
    // `%{HTTPS}s` gave `off` and `%{SSL_PROTOCOL}s` `(null)`.
    let mut head = crate::http::RequestHead::empty();
    head.method.push_str("GET");
    head.target.push_str("/api/x?debug=1");
    head.headers = list(&[("X-Trace", "on"), ("Host", "front")]);
    let mut env = Env::default();
    env.set("tenant", "acme");
    let tls = Some(Tls {
        protocol: "TLSv1.3",
        cipher: "TLS_AES_128_GCM_SHA256",
    });
    for (value, over_tls, want) in [
        (Format::expr("%{REQUEST_URI}"), tls, "/api/x"),
        (
            Format::expr("https://%{HTTP_HOST}%{REQUEST_URI}?%{QUERY_STRING}"),
            tls,
            "https://front/api/x?debug=1",
        ),
        (
            Format::expr("%{reqenv:tenant}-%{req:X-Trace}-\\%{x}"),
            None,
            "acme-on-%{x}",
        ),
        (
            Format::parse("%{HTTPS}s %{SSL_PROTOCOL}s %{SSL_CIPHER}s"),
            tls,
            "on TLSv1.3 TLS_AES_128_GCM_SHA256",
        ),
        (
            Format::parse("%{HTTPS}s %{SSL_PROTOCOL}s %{SSL_CIPHER}s"),
            None,
            "off (null) (null)",
        ),
    ] {
        let facts = ExprFacts {
            head: &head,
            peer: "10.0.0.7".parse().unwrap(),
            tls: over_tls,
            status: 200,
            content_type: None,
            env: &env,
        };
        let ctx = RuleContext {
            env: &env,
            started_us: 0,
            now_us: 0,
            request: &[],
            facts: Some(&facts),
            workers: None,
        };
        let mut r = rule(Table::OnSuccess, Action::Set, "x", "", None);
        r.value = value.unwrap();
        let mut headers = Vec::new();
        apply([&r], &mut headers, &ctx, &mut Env::default());
        assert_eq!(text(&headers), [format!("x: {want}")]);
    }
    // `%i`, `%b`: the shares the worker gives.
    let workers = || (75u32, 25u32);
    let ctx = RuleContext {
        env: &env,
        started_us: 0,
        now_us: 0,
        request: &[],
        facts: None,
        workers: Some(&workers),
    };
    let mut r = rule(Table::OnSuccess, Action::Set, "x", "", None);
    r.value = Format::parse("%i %b").unwrap();
    let mut headers = Vec::new();
    apply([&r], &mut headers, &ctx, &mut Env::default());
    assert_eq!(text(&headers), ["x: i=75 b=25"]);
    // `Header note X-Origin from`: the header's value in note `from`.
    let ctx = RuleContext {
        env: &env,
        started_us: 0,
        now_us: 0,
        request: &[],
        facts: None,
        workers: None,
    };
    let r = rule(Table::OnSuccess, Action::Note, "X-Origin", "from", None);
    let mut notes = Env::default();
    let mut headers = list(&[("X-Origin", "a"), ("X-Origin", "b")]);
    apply([&r], &mut headers, &ctx, &mut notes);
    assert_eq!(notes.get("from"), Some("a"));
    assert_eq!(headers.len(), 2);
}

#[test]
fn request_rules_see_the_head_as_earlier_rules_left_it() {
    // `RequestHeader set X-A 1` then `RequestHeader set X-B 2 "expr=-n
    // %{HTTP:X-A}"` then `RequestHeader set X-C "expr=%{req:X-B}"`.
    let mut head = crate::http::RequestHead::empty();
    head.method.push_str("GET");
    head.target.push('/');
    let a = rule(Table::OnSuccess, Action::Set, "X-A", "1", None);
    let mut b = rule(Table::OnSuccess, Action::Set, "X-B", "2", None);
    b.condition = Condition::Expr(Box::new(
        crate::expr::parse_request("-n %{HTTP:X-A}").unwrap(),
    ));
    let mut c = rule(Table::OnSuccess, Action::Set, "X-C", "", None);
    c.value = Format::expr("%{req:X-B}").unwrap();
    let env = Env::default();
    let side = crate::rules::RequestSide {
        peer: "10.0.0.7".parse().unwrap(),
        tls: None,
        env: &env,
        started_us: 0,
        workers: None,
    };
    apply_to_request([&a, &b, &c], &mut head, &side);
    assert_eq!(text(&head.headers), ["X-A: 1", "X-B: 2", "X-C: 2"]);
}
