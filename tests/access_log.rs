//! The balancer's environment variables in the access log (reference §4.4):
//! BALANCER_NAME, BALANCER_WORKER_NAME, BALANCER_WORKER_ROUTE,
//! BALANCER_SESSION_STICKY, BALANCER_SESSION_ROUTE, BALANCER_ROUTE_CHANGED,
//! logged with `%{VAR}e`; `-` when unset. Lines are written when a request
//! ends, so each test waits (bounded) for the number of lines it expects.

mod common;

use common::*;
use std::path::PathBuf;
use std::time::Duration;

const LOG_FORMAT: &str = "LogFormat \"%h \\\"%r\\\" %>s %{BALANCER_WORKER_ROUTE}e %{BALANCER_ROUTE_CHANGED}e %{BALANCER_SESSION_STICKY}e %{BALANCER_SESSION_ROUTE}e %{BALANCER_NAME}e %{BALANCER_WORKER_NAME}e\" lb\nCustomLog access.log lb\n";

/// One parsed line of the `lb` format.
#[derive(Debug, PartialEq, Eq)]
struct Line {
    host: String,
    request: String,
    status: String,
    worker_route: String,
    route_changed: String,
    session_sticky: String,
    session_route: String,
    balancer: String,
    worker: String,
}

fn parse(line: &str) -> Line {
    let (host, rest) = line
        .split_once(" \"")
        .unwrap_or_else(|| panic!("no quoted request in {line:?}"));
    let (request, rest) = rest
        .split_once("\" ")
        .unwrap_or_else(|| panic!("unterminated request in {line:?}"));
    let words: Vec<&str> = rest.split(' ').collect();
    assert_eq!(words.len(), 7, "want 7 fields after the request: {line:?}");
    Line {
        host: host.to_string(),
        request: request.to_string(),
        status: words[0].to_string(),
        worker_route: words[1].to_string(),
        route_changed: words[2].to_string(),
        session_sticky: words[3].to_string(),
        session_route: words[4].to_string(),
        balancer: words[5].to_string(),
        worker: words[6].to_string(),
    }
}

fn log_path(sg: &Slotgate) -> PathBuf {
    sg.dir().join("access.log")
}

/// Waits for `n` lines and parses them.
fn lines(sg: &Slotgate, n: usize) -> Vec<Line> {
    wait_lines(&log_path(sg), n, Duration::from_secs(5))
        .iter()
        .map(|l| parse(l))
        .collect()
}

/// Balancer c1 with members a (route a) and b (route b), sticky on
/// `ROUTEID|routeid`, one worker so that log lines are in request order.
fn sticky_pair(a: &Origin, b: &Origin, a_params: &str) -> Slotgate {
    start_proxy(
        &format!(
            "{LOG_FORMAT}<Proxy balancer://c1>\n    BalancerMember http://{{a}} route=a {a_params}\n    \
             BalancerMember http://{{b}} route=b\n    ProxySet stickysession=ROUTEID|routeid\n\
             </Proxy>\nProxyPass /app/ balancer://c1/\n"
        ),
        &[a, b],
    )
}

fn get(sg: &Slotgate, path: &str, headers: &[(&str, &str)]) -> Response {
    let r = http_get(sg.port(), path, headers);
    assert_eq!(r.status, 200, "{path}: {}{}", r.summary(), member_table(sg));
    r
}

#[test]
fn routed_request_logs_every_balancer_variable() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = sticky_pair(&a, &b, "");
    assert_eq!(
        get(&sg, "/app/x", &[("Cookie", "ROUTEID=.b")]).origin(),
        "b"
    );
    let got = lines(&sg, 1);
    assert_eq!(
        got[0],
        Line {
            host: "127.0.0.1".into(),
            request: "GET /app/x HTTP/1.1".into(),
            status: "200".into(),
            worker_route: "b".into(),
            route_changed: "-".into(),
            session_sticky: "ROUTEID".into(),
            session_route: "b".into(),
            balancer: "balancer://c1".into(),
            worker: b.url(),
        }
    );
}

#[test]
fn url_parameter_names_itself_as_the_sticky_session() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = sticky_pair(&a, &b, "");
    assert_eq!(get(&sg, "/app/x?routeid=s.a", &[]).origin(), "a");
    let got = lines(&sg, 1);
    assert_eq!(
        (
            got[0].session_sticky.as_str(),
            got[0].session_route.as_str(),
            got[0].worker_route.as_str(),
            got[0].route_changed.as_str()
        ),
        ("routeid", "a", "a", "-"),
        "{:?}",
        got[0]
    );
    assert_eq!(got[0].worker, a.url());
}

#[test]
fn request_without_a_route_is_marked_route_changed() {
    // Sticky is configured and the request carried no route (reference §4.4).
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = sticky_pair(&a, &b, "");
    assert_eq!(get(&sg, "/app/x", &[]).origin(), "a");
    assert_eq!(get(&sg, "/app/y", &[]).origin(), "b");
    let got = lines(&sg, 2);
    for (line, (route, member)) in got.iter().zip([("a", a.url()), ("b", b.url())]) {
        assert_eq!(line.worker_route, route, "{line:?}");
        assert_eq!(line.worker, member, "{line:?}");
        assert_eq!(line.route_changed, "1", "{line:?}");
        assert_eq!(
            (line.session_sticky.as_str(), line.session_route.as_str()),
            ("-", "-"),
            "{line:?}"
        );
        assert_eq!(line.balancer, "balancer://c1", "{line:?}");
    }
}

#[test]
fn failover_of_a_routed_request_is_marked_route_changed() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = sticky_pair(&a, &b, "");
    a.stop_listening();
    assert_eq!(
        get(&sg, "/app/x", &[("Cookie", "ROUTEID=.a")]).origin(),
        "b"
    );
    let got = lines(&sg, 1);
    assert_eq!(
        (
            got[0].worker_route.as_str(),
            got[0].route_changed.as_str(),
            got[0].session_sticky.as_str(),
            got[0].session_route.as_str()
        ),
        ("b", "1", "ROUTEID", "a"),
        "{:?}",
        got[0]
    );
    assert_eq!(got[0].worker, b.url());
}

#[test]
fn redirect_is_marked_route_changed() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = sticky_pair(&a, &b, "status=+D redirect=b");
    assert_eq!(
        get(&sg, "/app/x", &[("Cookie", "ROUTEID=.a")]).origin(),
        "b"
    );
    let got = lines(&sg, 1);
    assert_eq!(
        (got[0].worker_route.as_str(), got[0].route_changed.as_str()),
        ("b", "1"),
        "{:?}",
        got[0]
    );
}

#[test]
fn balancer_without_sticky_sessions_sets_no_session_variables() {
    let a = Origin::start("a");
    let sg = start_proxy(
        &format!(
            "{LOG_FORMAT}<Proxy balancer://plain>\n    BalancerMember http://{{a}} route=r1\n</Proxy>\nProxyPass / balancer://plain/\n"
        ),
        &[&a],
    );
    get(&sg, "/x", &[("Cookie", "ROUTEID=.a")]);
    let got = lines(&sg, 1);
    assert_eq!(
        got[0],
        Line {
            host: "127.0.0.1".into(),
            request: "GET /x HTTP/1.1".into(),
            status: "200".into(),
            worker_route: "r1".into(),
            route_changed: "-".into(),
            session_sticky: "-".into(),
            session_route: "-".into(),
            balancer: "balancer://plain".into(),
            worker: a.url(),
        }
    );
}

#[test]
fn standalone_worker_sets_no_balancer_variables() {
    let a = Origin::start("a");
    let sg = start_proxy(&format!("{LOG_FORMAT}ProxyPass / http://{{a}}/\n"), &[&a]);
    get(&sg, "/x", &[]);
    let got = lines(&sg, 1);
    assert_eq!(
        [
            &got[0].worker_route,
            &got[0].route_changed,
            &got[0].session_sticky,
            &got[0].session_route,
            &got[0].balancer,
            &got[0].worker
        ],
        ["-"; 6],
        "{:?}",
        got[0]
    );
}

#[test]
fn one_line_per_request_in_order() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = sticky_pair(&a, &b, "");
    let mut want = Vec::new();
    for i in 0..10 {
        let path = format!("/app/n{i}");
        let origin = get(&sg, &path, &[]).origin().to_string();
        want.push((format!("GET {path} HTTP/1.1"), origin));
    }
    let got = lines(&sg, 10);
    assert_eq!(got.len(), 10, "{got:?}");
    for (line, (request, origin)) in got.iter().zip(&want) {
        assert_eq!(&line.request, request);
        assert_eq!(&line.worker_route, origin, "{line:?}");
    }
}

#[test]
fn request_answered_503_by_the_balancer_is_logged() {
    let dead = RefusingPort::new();
    let sg = start_proxy(
        &format!(
            "{LOG_FORMAT}<Proxy balancer://c1>\n    BalancerMember http://{} route=d\n</Proxy>\nProxyPass / balancer://c1/\n",
            dead.addr()
        ),
        &[],
    );
    let r = http_get(sg.port(), "/x", &[]);
    assert_eq!(r.status, 503, "{}", r.summary());
    let got = lines(&sg, 1);
    assert_eq!(got[0].status, "503", "{:?}", got[0]);
    assert_eq!(got[0].balancer, "balancer://c1", "{:?}", got[0]);
}
