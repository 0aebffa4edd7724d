//! Balancer configuration (reference §2.3–2.7): `<Proxy balancer://…>` with
//! BalancerMember and ProxySet, balancer parameters on a ProxyPass line, what
//! `slotgate -t` refuses (with FILE:LINE), and what ends up in the scoreboard
//! and in `slotgate-top`.

mod common;

use common::*;
use scoreboard::flags;
use std::time::Duration;

/// The contract's example, with members on fixed unused addresses (-t does
/// not connect).
const EXAMPLE: &str = "\
Listen 127.0.0.1:0
ServerName test.local
<Proxy balancer://c1>
    BalancerMember http://127.0.0.1:9 route=a loadfactor=1
    BalancerMember http://127.0.0.1:10 route=b loadfactor=4 lbset=0 status=+H
    ProxySet lbmethod=byrequests stickysession=ROUTEID|routeid nofailover=Off maxattempts=1
</Proxy>
ProxyPass /app balancer://c1/ stickysession=JSESSIONID
ProxyPassReverse /app balancer://c1/
ProxyPassReverseCookiePath /internal /pub
ProxyPassReverseCookieDomain internal.example public.example
ProxyPassMatch ^/img/(.*)$ http://127.0.0.1:11/images/$1
";

fn assert_syntax_ok(out: &RunOutput) {
    assert_eq!(out.code(), Some(0), "expected exit 0: {out:?}");
    assert!(
        out.stdout.contains("Syntax OK") || out.stderr.contains("Syntax OK"),
        "no 'Syntax OK': {out:?}"
    );
}

/// Exit 1, `PATH:LINE:` on stderr, and every one of `needles` in that message.
fn assert_refused_at(out: &RunOutput, path: &str, line: usize, needles: &[&str]) {
    assert_eq!(out.code(), Some(1), "expected exit 1: {out:?}");
    let at = format!("{path}:{line}:");
    let message = out
        .stderr
        .lines()
        .find(|l| l.contains(&at))
        .unwrap_or_else(|| panic!("stderr does not name {at}: {out:?}"));
    for needle in needles {
        assert!(
            message.contains(needle),
            "the message {message:?} does not mention {needle:?}"
        );
    }
    assert!(!out.stdout.contains("Syntax OK"), "{out:?}");
}

#[test]
fn contract_example_is_syntax_ok() {
    let dir = TempDir::new();
    let (out, _) = check_config(&dir, "slotgate.conf", EXAMPLE);
    assert_syntax_ok(&out);
}

#[test]
fn every_lbmethod_and_member_parameter_is_accepted() {
    let dir = TempDir::new();
    for lbmethod in ["byrequests", "bytraffic", "bybusyness"] {
        let text = format!(
            "Listen 127.0.0.1:0
<Proxy balancer://c1>
    BalancerMember http://127.0.0.1:9 loadfactor=100 lbset=2 route=r1 redirect=r2 status=-E retry=0 timeout=5 connectiontimeout=2
    BalancerMember http://127.0.0.1:10/base loadfactor=2.5 route=r2 status=+D+S+I+H+E+N retry=30
    ProxySet lbmethod={lbmethod} stickysession=S|s stickysessionsep=: scolonpathdelim=On nofailover=On
    ProxySet maxattempts=3 timeout=2 growth=4 forcerecovery=Off failonstatus=500,503 failontimeout=On
</Proxy>
ProxyPass /a/ balancer://c1/
"
        );
        let (out, _) = check_config(&dir, "ok.conf", &text);
        assert_syntax_ok(&out);
    }
}

#[test]
fn proxy_pass_written_before_its_balancer_section_is_accepted() {
    // An httpd.conf may name the balancer before defining it.
    let dir = TempDir::new();
    let (out, _) = check_config(
        &dir,
        "slotgate.conf",
        "Listen 127.0.0.1:0\nProxyPass /a/ balancer://late/\n<Proxy balancer://late>\n    BalancerMember http://127.0.0.1:9\n</Proxy>\n",
    );
    assert_syntax_ok(&out);
}

#[test]
fn config_errors_name_file_and_line() {
    // (what, configuration, line of the error, words the message must contain)
    let cases: [(&str, &str, usize, &[&str]); 7] = [
        (
            "loadfactor=0",
            "Listen 127.0.0.1:0\n<Proxy balancer://c1>\n    BalancerMember http://127.0.0.1:9 loadfactor=0\n</Proxy>\nProxyPass / balancer://c1/\n",
            3,
            &["loadfactor"],
        ),
        (
            "loadfactor=101",
            "Listen 127.0.0.1:0\n<Proxy balancer://c1>\n    BalancerMember http://127.0.0.1:9\n    BalancerMember http://127.0.0.1:10 loadfactor=101\n</Proxy>\nProxyPass / balancer://c1/\n",
            4,
            &["loadfactor"],
        ),
        (
            "unknown status flag",
            "Listen 127.0.0.1:0\n<Proxy balancer://c1>\n    BalancerMember http://127.0.0.1:9 status=+Q\n</Proxy>\nProxyPass / balancer://c1/\n",
            3,
            &["status"],
        ),
        (
            "unknown lbmethod in ProxySet",
            "Listen 127.0.0.1:0\n<Proxy balancer://c1>\n    BalancerMember http://127.0.0.1:9\n    ProxySet lbmethod=roundrobin\n</Proxy>\nProxyPass / balancer://c1/\n",
            4,
            &["roundrobin"],
        ),
        (
            "unknown lbmethod on the ProxyPass line",
            "Listen 127.0.0.1:0\n<Proxy balancer://c1>\n    BalancerMember http://127.0.0.1:9\n</Proxy>\n\nProxyPass / balancer://c1/ lbmethod=nosuchmethod\n",
            6,
            &["nosuchmethod"],
        ),
        (
            "ProxyPass to an undefined balancer",
            "Listen 127.0.0.1:0\n<Proxy balancer://c1>\n    BalancerMember http://127.0.0.1:9\n</Proxy>\nProxyPass /x/ balancer://nosuch/\n",
            5,
            &["nosuch"],
        ),
        (
            "unknown member parameter",
            "Listen 127.0.0.1:0\n<Proxy balancer://c1>\n    BalancerMember http://127.0.0.1:9 weight=3\n</Proxy>\nProxyPass / balancer://c1/\n",
            3,
            &["weight"],
        ),
    ];
    let dir = TempDir::new();
    for (i, (what, text, line, needles)) in cases.iter().enumerate() {
        let (out, path) = check_config(&dir, &format!("case{i}.conf"), text);
        // Each case on its own, so a failure names it.
        let result = std::panic::catch_unwind(|| assert_refused_at(&out, &path, *line, needles));
        if let Err(e) = result {
            let message = e
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "(no message)".to_string());
            panic!("case {what:?}: {message}");
        }
    }
}

#[test]
fn unknown_lbmethod_message_lists_the_valid_ones() {
    let dir = TempDir::new();
    let (out, path) = check_config(
        &dir,
        "slotgate.conf",
        "Listen 127.0.0.1:0\n<Proxy balancer://c1>\n    BalancerMember http://127.0.0.1:9\n    ProxySet lbmethod=roundrobin\n</Proxy>\n",
    );
    assert_refused_at(&out, &path, 4, &["byrequests", "bytraffic", "bybusyness"]);
}

fn contract_config(a: &Origin, b: &Origin, c: &Origin) -> String {
    render(
        "Listen 127.0.0.1:0
StartServers 1
<Proxy balancer://c1>
    BalancerMember http://{a} route=a loadfactor=1
    BalancerMember http://{b} route=b loadfactor=4 lbset=0 status=+H
    BalancerMember http://{c} route=c loadfactor=2.5 lbset=1 redirect=a
    ProxySet lbmethod=byrequests stickysession=ROUTEID|routeid nofailover=Off
</Proxy>
ProxyPass /app/ balancer://c1/
",
        &[a, b, c],
    )
}

#[test]
fn scoreboard_holds_the_configured_balancer_and_members() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let c = Origin::start("c");
    let sg = Slotgate::start(&contract_config(&a, &b, &c));
    let sb = sg.scoreboard();
    let balancers = balancer_names(&sb);
    let (index, _) = balancers
        .iter()
        .find(|(_, name)| name == "balancer://c1")
        .unwrap_or_else(|| panic!("no balancer://c1 in {balancers:?}"));
    assert_eq!(sb.balancers()[*index].lbmethod.get(), "byrequests");
    // Default maxattempts: members - 1 (reference §2.4).
    assert_eq!(sb.balancers()[*index].max_attempts(), 2);

    let table = member_table(&sg);
    let ma = member(&sg, &a.addr());
    let mb = member(&sg, &b.addr());
    let mc = member(&sg, &c.addr());
    for m in [&ma, &mb, &mc] {
        assert_eq!(m.balancer.as_deref(), Some("balancer://c1"), "{table}");
        assert!(m.has(flags::INIT), "{table}");
        assert!(!m.has(flags::ERROR), "{table}");
    }
    assert_eq!(ma.url, a.url(), "member names are normalised URLs: {table}");
    assert_eq!(
        (ma.route.as_str(), ma.lbfactor, ma.lbset),
        ("a", 100, 0),
        "{table}"
    );
    assert_eq!(
        (mb.route.as_str(), mb.lbfactor, mb.lbset),
        ("b", 400, 0),
        "{table}"
    );
    assert_eq!(
        (mc.route.as_str(), mc.lbfactor, mc.lbset),
        ("c", 250, 1),
        "{table}"
    );
    assert_eq!(mc.redirect, "a", "{table}");
    assert!(mb.has(flags::HOT_STANDBY), "{table}");
    assert!(!ma.has(flags::HOT_STANDBY), "{table}");
    assert_eq!(mb.display(), "Init Stby Ok ", "{table}");
    assert_eq!(ma.display(), "Init Ok ", "{table}");
}

#[test]
fn explicit_maxattempts_is_kept() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "<Proxy balancer://c1>\n    BalancerMember http://{a}\n    BalancerMember http://{b}\n    ProxySet maxattempts=0\n</Proxy>\nProxyPass / balancer://c1/\n",
        &[&a, &b],
    );
    let sb = sg.scoreboard();
    let (index, _) = balancer_names(&sb)
        .into_iter()
        .find(|(_, name)| name == "balancer://c1")
        .expect("balancer://c1 in the scoreboard");
    assert_eq!(sb.balancers()[index].max_attempts(), 0);
}

#[test]
fn balancer_parameters_on_the_proxy_pass_line_apply_to_the_balancer() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "<Proxy balancer://c1>\n    BalancerMember http://{a}\n    BalancerMember http://{b}\n</Proxy>\nProxyPass / balancer://c1/ lbmethod=bytraffic\n",
        &[&a, &b],
    );
    let sb = sg.scoreboard();
    let (index, _) = balancer_names(&sb)
        .into_iter()
        .find(|(_, name)| name == "balancer://c1")
        .expect("balancer://c1 in the scoreboard");
    assert_eq!(sb.balancers()[index].lbmethod.get(), "bytraffic");
}

#[test]
fn balancer_names_are_lowercased() {
    let a = Origin::start("a");
    let sg = start_proxy(
        "<Proxy balancer://MyCluster>\n    BalancerMember http://{a}\n</Proxy>\nProxyPass / balancer://mycluster/\n",
        &[&a],
    );
    let r = http_get(sg.port(), "/x", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(r.origin(), "a");
    let names = balancer_names(&sg.scoreboard());
    assert!(
        names.iter().any(|(_, n)| n == "balancer://mycluster"),
        "{names:?}"
    );
}

#[test]
fn balancer_member_outside_a_section_names_its_balancer() {
    // reference §2.7: `BalancerMember balancer://name url` creates the balancer.
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "BalancerMember balancer://out http://{a}\nBalancerMember balancer://out http://{b}\nProxyPass / balancer://out/\n",
        &[&a, &b],
    );
    let mut seen = Vec::new();
    for _ in 0..4 {
        let r = http_get(sg.port(), "/x", &[]);
        assert_eq!(r.status, 200, "{}", r.summary());
        seen.push(r.origin().to_string());
    }
    assert_eq!(seen, ["a", "b", "a", "b"]);
}

#[test]
fn slotgate_top_shows_route_factor_set_and_status_of_members() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let c = Origin::start("c");
    let sg = Slotgate::start(&contract_config(&a, &b, &c));
    assert_eq!(http_get(sg.port(), "/app/x", &[]).status, 200);
    let dir = TempDir::new();
    let out = run_command(
        slotgate_top_exe(),
        &["-f", sg.conf_path().to_str().unwrap()],
        &dir,
        Duration::from_secs(15),
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    let line_of = |addr: &str| -> String {
        out.stdout
            .lines()
            .find(|l| url_names(l, addr))
            .unwrap_or_else(|| panic!("no line for {addr}:\n{}", out.stdout))
            .to_string()
    };
    let lb = line_of(&b.addr());
    let words: Vec<&str> = lb.split_whitespace().collect();
    for want in ["balancer://c1", "b", "4.00", "0"] {
        assert!(words.contains(&want), "{want:?} missing in {lb:?}");
    }
    assert!(lb.contains("Init Stby Ok"), "{lb:?}");
    let lc = line_of(&c.addr());
    let words: Vec<&str> = lc.split_whitespace().collect();
    for want in ["c", "2.50", "1"] {
        assert!(words.contains(&want), "{want:?} missing in {lc:?}");
    }
    // The request went to a: its elected column says 1. The columns after the
    // (two-word) status are one word each, so count from the right, as far as
    // the header's "elected" is from its end.
    let header: Vec<&str> = out
        .stdout
        .lines()
        .find(|l| l.split_whitespace().any(|w| w == "elected"))
        .unwrap_or_else(|| panic!("no member header:\n{}", out.stdout))
        .split_whitespace()
        .collect();
    let from_right = header.len() - header.iter().position(|w| *w == "elected").unwrap();
    let la = line_of(&a.addr());
    assert!(la.contains("Init Ok"), "{la:?}");
    let words: Vec<&str> = la.split_whitespace().collect();
    assert_eq!(
        words[words.len() - from_right],
        "1",
        "elected of a in {la:?}"
    );
}

#[test]
fn trailing_slash_mismatch_to_a_balancer_is_a_warning() {
    // reference §9 #2: reproduce the mapping, but let -t say so.
    let dir = TempDir::new();
    let (out, path) = check_config(
        &dir,
        "slotgate.conf",
        "Listen 127.0.0.1:0\n<Proxy balancer://c1>\n    BalancerMember http://127.0.0.1:9\n</Proxy>\nProxyPass /app balancer://c1/\n",
    );
    assert_syntax_ok(&out);
    assert!(
        out.stderr.contains(&format!("{path}:5:")),
        "no warning naming line 5: {out:?}"
    );
}
