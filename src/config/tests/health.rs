//! Health checks: the hc* member parameters, ProxyHCExpr, ProxyHCTemplate, ProxyHCTPsize
//! (reference §2.10, §5).

use std::time::Duration;

use super::*;
use crate::config::{HcMethod, HealthCheck};
use crate::expr;

/// The health check of the only member of `balancer://c` written with `params`, after the
/// lines of `before`.
fn member_health(before: &str, params: &str) -> HealthCheck {
    let c = config(&format!(
        "{before}<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1 {params}\n</Proxy>\n"
    ));
    c.balancers[0].members[0].params.health.clone()
}

/// The error of a configuration (a Listen line added in front; lines count from 2).
fn hc_error(text: &str) -> String {
    error(&format!("{LISTEN}{text}"))
}

#[test]
fn member_parameters_fill_the_health_check() {
    let c = config(
        "ProxyHCExpr ok234 {%{REQUEST_STATUS} =~ /^[234]/}\n\
         <Proxy balancer://c>\n\
         BalancerMember http://127.0.0.1:1 hcmethod=GET hcuri=/health hcinterval=5 \
         hcpasses=2 hcfails=3 hcexpr=ok234\n\
         BalancerMember http://127.0.0.1:2\n\
         </Proxy>\n\
         BalancerMember balancer://c http://127.0.0.1:3 HCMETHOD=head11 hcinterval=300ms\n",
    );
    let members = &c.balancers[0].members;
    assert_eq!(
        members[0].params.health,
        HealthCheck {
            method: HcMethod::Get,
            uri: "/health".to_string(),
            interval: Duration::from_secs(5),
            passes: 2,
            fails: 3,
            expr: Some("ok234".to_string()),
        }
    );
    assert_eq!(members[1].params.health, HealthCheck::default());
    assert_eq!(members[1].params.health.method, HcMethod::None);
    assert_eq!(members[1].params.health.interval, Duration::from_secs(30));
    assert_eq!(members[2].params.health.method, HcMethod::Head11);
    assert_eq!(
        members[2].params.health.interval,
        Duration::from_millis(300)
    );
    // The keys stay in `other` too, as written.
    assert_eq!(members[0].params.other_value("hcmethod"), Some("GET"));
}

#[test]
fn every_method_name() {
    for (name, method) in [
        ("NONE", HcMethod::None),
        ("tcp", HcMethod::Tcp),
        ("OPTIONS", HcMethod::Options),
        ("options11", HcMethod::Options11),
        ("HEAD", HcMethod::Head),
        ("HEAD11", HcMethod::Head11),
        ("Get", HcMethod::Get),
        ("GET11", HcMethod::Get11),
    ] {
        assert_eq!(
            member_health("", &format!("hcmethod={name}")).method,
            method,
            "{name}"
        );
    }
}

#[test]
fn intervals_counts_and_their_limits() {
    for (value, want) in [
        ("5", Duration::from_secs(5)),
        ("100ms", Duration::from_millis(100)),
        ("2mi", Duration::from_secs(120)),
        ("1hr", Duration::from_secs(3600)),
        ("10s", Duration::from_secs(10)),
    ] {
        assert_eq!(
            member_health("", &format!("hcinterval={value}")).interval,
            want,
            "{value}"
        );
    }
    // 0 behaves like 1 in httpd; slotgate stores 1.
    let h = member_health("", "hcpasses=0 hcfails=0");
    assert_eq!((h.passes, h.fails), (1, 1));
    let h = member_health("", "hcpasses=7 hcfails=9");
    assert_eq!((h.passes, h.fails), (7, 9));
    let cases = [
        ("hcinterval=99ms", "hcinterval must be at least 100 ms, got '99ms'"),
        ("hcinterval=0", "hcinterval must be at least 100 ms, got '0'"),
        (
            "hcinterval=soon",
            "hcinterval: expected a time such as 5, 5s, 500ms, 2mi or 1hr, got 'soon'",
        ),
        ("hcpasses=-1", "hcpasses must be an integer of at least 0, got '-1'"),
        ("hcfails=x", "hcfails must be an integer"),
        ("hcmethod=POST", "hcmethod: expected one of NONE, TCP, OPTIONS, OPTIONS11, HEAD, HEAD11, GET, GET11, CPING, got 'POST'"),
        ("hcexpr=", "hcexpr: empty expression name"),
        ("hcexpr=0123456789abcdef", "hcexpr must be shorter than 16 bytes, got 16 bytes"),
        (
            &*format!("hcuri=/{}", "x".repeat(63)),
            "hcuri must be shorter than 64 bytes, got 64 bytes",
        ),
    ];
    // A method the member's protocol cannot answer (httpd accepts it and
    // fails every check).
    let got = hc_error(
        "<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1 hcmethod=cping\n</Proxy>\n",
    );
    assert_eq!(got, format!("{FILE}:3: BalancerMember http://127.0.0.1:1: hcmethod CPING cannot check a http:// member (CPING is for AJP members only; it takes TCP, OPTIONS, OPTIONS11, HEAD, HEAD11, GET, GET11)"));
    let got =
        hc_error("<Proxy balancer://c>\nBalancerMember ajp://127.0.0.1:1 hcmethod=GET\n</Proxy>\n");
    assert_eq!(got, format!("{FILE}:3: BalancerMember ajp://127.0.0.1:1: hcmethod GET cannot check a ajp:// member (OPTIONS, HEAD and GET are for HTTP members only; it takes TCP, CPING)"));
    for (param, want) in cases {
        let got = hc_error(&format!(
            "<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1 {param}\n</Proxy>\n"
        ));
        assert!(
            got.starts_with(&format!("{FILE}:3: BalancerMember: {want}")),
            "{param}:\n  got  {got}\n  want {want}"
        );
    }
}

#[test]
fn expressions_are_parsed_and_stored() {
    let c = config(
        "ProxyHCExpr ok234 {%{REQUEST_STATUS} =~ /^[234]/}\n\
         ProxyHCExpr gdown {hc('body') !~ /Under maintenance/}\n\
         ProxyHCExpr html {%{CONTENT_TYPE} == \"text/html\" && %{REQUEST_STATUS} -eq 200}\n\
         ProxyHCExpr quoted \"%{REQUEST_STATUS} =~ /^2/\"\n\
         ProxyHCExpr  nested   { ( ( true ) ) && !(%{HC_BODY} =~ m#\\{x\\}#) }\n",
    );
    let names: Vec<&str> = c.hc_exprs.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["ok234", "gdown", "html", "quoted", "nested"]);
    let want = [
        "%{REQUEST_STATUS} =~ /^[234]/",
        "hc('body') !~ /Under maintenance/",
        "%{CONTENT_TYPE} == \"text/html\" && %{REQUEST_STATUS} -eq 200",
        "%{REQUEST_STATUS} =~ /^2/",
        " ( ( true ) ) && !(%{HC_BODY} =~ m#\\{x\\}#) ",
    ];
    for (def, text) in c.hc_exprs.iter().zip(want) {
        assert_eq!(def.expr, expr::parse(text).unwrap(), "{}", def.name);
    }
    assert_eq!(c.hc_exprs[0].origin.to_string(), format!("{FILE}:2"));
    // The quotes inside the braces reach the expression.
    let probe = expr::Probe {
        status: 200,
        content_type: Some("text/html"),
        body: b"",
    };
    assert!(c.hc_exprs[2].expr.eval(&probe));
    assert!(c.hc_exprs[4].expr.eval(&probe));
}

#[test]
fn expression_errors_name_file_and_line() {
    let cases = [
        (
            "ProxyHCExpr bad {%{REQUEST_STATUS} =~ ^2}\n",
            "2: ProxyHCExpr: bad {%{REQUEST_STATUS} =~ ^2}: at column 22: expected a regular expression",
        ),
        (
            "\n\nProxyHCExpr bad {%{NOPE} == 'x'}\n",
            "4: ProxyHCExpr: bad {%{NOPE} == 'x'}: at column 1: unknown variable %{NOPE}",
        ),
        (
            "ProxyHCExpr ok %{REQUEST_STATUS} =~ /^2/\n",
            "2: ProxyHCExpr: unexpected '=~' after the expression (write the expression in braces",
        ),
        (
            "ProxyHCExpr ok\n",
            "2: ProxyHCExpr: expected a name and an expression in braces: ProxyHCExpr NAME {EXPRESSION}",
        ),
        (
            "ProxyHCExpr ok {%{REQUEST_STATUS} =~ /^2/\n",
            "2: unterminated {…}: no '}' closes {%{REQUEST_STATUS} =~ /^2/",
        ),
        (
            "ProxyHCExpr ok {}\n",
            "2: ProxyHCExpr: ok {}: empty expression",
        ),
        (
            "ProxyHCExpr sixteen_chars_xx {true}\n",
            "2: ProxyHCExpr: the name 'sixteen_chars_xx' is longer than 15 characters",
        ),
        (
            "ProxyHCExpr ok {true}\nProxyHCExpr OK {false}\n",
            "3: ProxyHCExpr: OK is already defined (at /etc/slotgate/test.conf:2); expression names are global in slotgate",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1\nProxyHCExpr ok {true}\n</Proxy>\n",
            "4: ProxyHCExpr cannot occur within <Proxy> section",
        ),
    ];
    for (text, want) in cases {
        let got = hc_error(text);
        assert!(
            got.starts_with(&format!("{FILE}:{want}")),
            "{text:?}:\n  got  {got}\n  want {FILE}:{want}"
        );
    }
    // A fifteen-character name is fine.
    let c = config("ProxyHCExpr fifteen_chars_x {true}\n");
    assert_eq!(c.hc_exprs[0].name, "fifteen_chars_x");
}

#[test]
fn hcexpr_must_name_an_expression_anywhere_in_the_file() {
    // Defined after its use: fine (httpd wants it before), and matched without case.
    let c = config(
        "<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1 hcmethod=GET hcexpr=OK\n</Proxy>\n\
         ProxyHCExpr ok {%{REQUEST_STATUS} -lt 400}\n",
    );
    assert_eq!(
        c.balancers[0].members[0].params.health.expr.as_deref(),
        Some("ok"),
        "rewritten in the definition's spelling"
    );
    let got = hc_error(
        "ProxyHCExpr ok {true}\n\
         <Proxy balancer://c>\n\
         BalancerMember http://127.0.0.1:1\n\
         BalancerMember http://127.0.0.1:2 hcmethod=GET hcexpr=nope\n\
         </Proxy>\n",
    );
    assert_eq!(
        got,
        format!(
            "{FILE}:5: BalancerMember http://127.0.0.1:2: hcexpr=nope names no ProxyHCExpr (defined: ok)"
        )
    );
    let got = hc_error("ProxyPass /a http://h/ hcexpr=nope\n");
    assert_eq!(
        got,
        format!("{FILE}:2: ProxyPass /a: hcexpr=nope names no ProxyHCExpr (none is defined)")
    );
    let got = hc_error("ProxyHCTemplate t hcexpr=nope\n");
    assert_eq!(
        got,
        format!("{FILE}:2: ProxyHCTemplate t: hcexpr=nope names no ProxyHCExpr (none is defined)")
    );
}

#[test]
fn templates_are_copied_and_later_keys_override() {
    let before = "ProxyHCExpr ok {%{REQUEST_STATUS} =~ /^2/}\n\
                  ProxyHCTemplate web hcmethod=GET11 hcuri=/status hcinterval=10 hcpasses=2 \
                  hcfails=4 hcexpr=ok\n\
                  ProxyHCTemplate bare\n\
                  ProxyHCTemplate derived hctemplate=web hcuri=/other\n";
    let web = HealthCheck {
        method: HcMethod::Get11,
        uri: "/status".to_string(),
        interval: Duration::from_secs(10),
        passes: 2,
        fails: 4,
        expr: Some("ok".to_string()),
    };
    assert_eq!(member_health(before, "hctemplate=web"), web);
    assert_eq!(member_health(before, "hctemplate=WEB"), web);
    // Keys after hctemplate= override the template's...
    assert_eq!(
        member_health(before, "hctemplate=web hcfails=1 hcmethod=HEAD"),
        HealthCheck {
            fails: 1,
            method: HcMethod::Head,
            ..web.clone()
        }
    );
    // ...keys before it are overwritten by all six of the template's fields.
    assert_eq!(
        member_health(before, "hcfails=9 hcuri=/mine hctemplate=web"),
        web
    );
    // A template without keys: method TCP (not NONE), passes 1, fails 1, interval 30 s.
    let bare = member_health(before, "hcuri=/x hctemplate=bare");
    assert_eq!(
        bare,
        HealthCheck {
            method: HcMethod::Tcp,
            uri: String::new(),
            interval: Duration::from_secs(30),
            passes: 1,
            fails: 1,
            expr: None,
        }
    );
    // A template built on another.
    assert_eq!(
        member_health(before, "hctemplate=derived"),
        HealthCheck {
            uri: "/other".to_string(),
            ..web.clone()
        }
    );
    let c = config(before);
    let names: Vec<&str> = c.hc_templates.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["web", "bare", "derived"]);
    assert_eq!(c.hc_templates[0].1, web);
    // On a ProxyPass worker and through ProxySet too.
    let c = config(&format!(
        "{before}ProxyPass /a http://h/ hctemplate=web\nProxyPass /b http://g/\n\
         ProxySet http://g/ hctemplate=bare hcinterval=1\n"
    ));
    assert_eq!(c.proxy_pass[0].params.health, web);
    assert_eq!(c.proxy_pass[1].params.health.method, HcMethod::Tcp);
    assert_eq!(
        c.proxy_pass[1].params.health.interval,
        Duration::from_secs(1)
    );
}

#[test]
fn template_errors() {
    let cases = [
        (
            "<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1 hctemplate=web\n</Proxy>\n",
            "3: BalancerMember: hctemplate: unknown ProxyHCTemplate 'web' (a template must be defined before it is used; none is defined)",
        ),
        (
            "ProxyHCTemplate a\nProxyPass /x http://h/ hctemplate=b\n",
            "3: ProxyPass: hctemplate: unknown ProxyHCTemplate 'b' (a template must be defined before it is used; defined: a)",
        ),
        (
            "ProxyHCTemplate t timeout=5\n",
            "2: ProxyHCTemplate: t: only health-check parameters (hcmethod, hcuri, hcinterval, hcpasses, hcfails, hcexpr, hctemplate) are allowed, got 'timeout'",
        ),
        (
            "ProxyHCTemplate t hcmethod=PUT\n",
            "2: ProxyHCTemplate: t: hcmethod: expected one of NONE",
        ),
        (
            "ProxyHCTemplate t hcmethod\n",
            "2: ProxyHCTemplate: t: parameters must be key=value, got 'hcmethod'",
        ),
        (
            "ProxyHCTemplate hcmethod=GET\n",
            "2: ProxyHCTemplate: expected a template name first, got 'hcmethod=GET'",
        ),
        ("ProxyHCTemplate\n", "2: ProxyHCTemplate: expected a name"),
        (
            "ProxyHCTemplate t\n<VirtualHost *:80>\nProxyHCTemplate T hcmethod=GET\n</VirtualHost>\n",
            "4: ProxyHCTemplate: T is already defined (at /etc/slotgate/test.conf:2); template names are global in slotgate",
        ),
    ];
    for (text, want) in cases {
        let got = hc_error(text);
        assert!(
            got.starts_with(&format!("{FILE}:{want}")),
            "{text:?}:\n  got  {got}\n  want {FILE}:{want}"
        );
    }
}

#[test]
fn tpsize_is_global() {
    assert_eq!(config("").hc_tpsize, 16);
    assert_eq!(config("ProxyHCTPsize 0\n").hc_tpsize, 0);
    assert_eq!(config("proxyhctpsize 64\n").hc_tpsize, 64);
    let cases = [
        (
            "ProxyHCTPsize -1\n",
            "2: ProxyHCTPsize must be an integer of at least 0, got '-1'",
        ),
        (
            "ProxyHCTPsize\n",
            "2: ProxyHCTPsize takes one argument, a number of probes (0 or more)",
        ),
        (
            "<VirtualHost *:80>\nProxyHCTPsize 4\n</VirtualHost>\n",
            "3: ProxyHCTPsize cannot occur within <VirtualHost> section",
        ),
    ];
    for (text, want) in cases {
        let got = hc_error(text);
        assert!(
            got.starts_with(&format!("{FILE}:{want}")),
            "{text:?}:\n  got  {got}\n  want {FILE}:{want}"
        );
    }
}

#[test]
fn vhosts_share_expressions_and_templates() {
    let c = config(
        "<VirtualHost *:80>\n\
         ProxyHCExpr ok {%{REQUEST_STATUS} == '200'}\n\
         ProxyHCTemplate t hcmethod=OPTIONS hcexpr=ok\n\
         <Proxy balancer://v>\nBalancerMember http://127.0.0.1:1 hctemplate=t\n</Proxy>\n\
         </VirtualHost>\n\
         <Proxy balancer://m>\nBalancerMember http://127.0.0.1:2 hctemplate=t hcpasses=3\n</Proxy>\n",
    );
    assert_eq!(c.hc_exprs.len(), 1);
    for b in &c.balancers {
        let h = &b.members[0].params.health;
        assert_eq!(h.method, HcMethod::Options, "{}", b.name);
        assert_eq!(h.expr.as_deref(), Some("ok"));
    }
    assert_eq!(c.balancers[1].members[0].params.health.passes, 3);
}

#[test]
fn a_check_on_a_standalone_worker_warns() {
    let c = config("ProxyPass /a/ http://h/ hcmethod=GET\nProxyPass /b/ http://g/\n");
    assert_eq!(c.proxy_pass[0].params.health.method, HcMethod::Get);
    assert_eq!(
        c.warnings,
        [format!(
            "{FILE}:2: ProxyPass /a/: hcmethod=GET on a standalone worker is accepted but never \
             run (only balancer members are checked)"
        )]
    );
}

#[test]
fn hc_keys_are_not_balancer_parameters() {
    let got = hc_error(
        "<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1\nProxySet hcmethod=GET\n</Proxy>\n",
    );
    assert!(
        got.starts_with(&format!(
            "{FILE}:4: ProxySet: unknown Balancer parameter 'hcmethod'"
        )),
        "{got}"
    );
}
