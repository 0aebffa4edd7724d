//! Sticky sessions (reference §4): the route comes from the URL parameter
//! (`;name=` path parameter or `?name=` / `&name=` query) or else from the
//! cookie; the route is the text after the first separator; the member whose
//! `route` equals it is chosen while usable; otherwise another member, or 503
//! with nofailover=On; `redirect=`; draining members get only their sessions;
//! sticky choices count towards byrequests' balance.

mod common;

use common::*;
use std::time::Duration;

/// Members a, b (routes a, b) behind `/`, with `ProxySet proxyset`.
fn pair(a: &Origin, b: &Origin, a_params: &str, proxyset: &str) -> Slotgate {
    start_proxy(
        &format!(
            "<Proxy balancer://c1>\n    BalancerMember http://{{a}} route=a {a_params}\n    \
             BalancerMember http://{{b}} route=b\n    ProxySet {proxyset}\n</Proxy>\n\
             ProxyPass / balancer://c1/\n"
        ),
        &[a, b],
    )
}

fn sticky_pair(a: &Origin, b: &Origin) -> Slotgate {
    pair(a, b, "", "stickysession=JSESSIONID|jsessionid")
}

/// X-Origins of `n` GETs of `path` with `headers`; each must be 200.
fn origins(sg: &Slotgate, path: &str, headers: &[(&str, &str)], n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let r = http_get(sg.port(), path, headers);
            assert_eq!(
                r.status,
                200,
                "{path} {headers:?} #{i}: {}{}",
                r.summary(),
                member_table(sg)
            );
            r.origin().to_string()
        })
        .collect()
}

fn all(got: &[String], name: &str) -> bool {
    got.iter().all(|o| o == name)
}

/// Balanced normally: sequential requests alternate between the two members.
fn alternates(got: &[String]) -> bool {
    got.windows(2).all(|w| w[0] != w[1])
}

#[test]
fn cookie_route_picks_the_member() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = sticky_pair(&a, &b);
    let got = origins(&sg, "/x", &[("Cookie", "JSESSIONID=abc123.b")], 10);
    assert!(all(&got, "b"), "{got:?}");
    let got = origins(&sg, "/x", &[("Cookie", "JSESSIONID=abc123.a")], 10);
    assert!(all(&got, "a"), "{got:?}");
}

#[test]
fn cookie_is_found_among_other_cookies() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = sticky_pair(&a, &b);
    for cookie in [
        "theme=dark; JSESSIONID=s1.b; lang=en",
        "theme=dark;JSESSIONID=s1.b",
        "theme=dark, JSESSIONID=s1.b",
        "JSESSIONID = s1.b",
    ] {
        let got = origins(&sg, "/x", &[("Cookie", cookie)], 4);
        assert!(all(&got, "b"), "Cookie: {cookie}: {got:?}");
    }
}

#[test]
fn path_parameter_route_picks_the_member() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = sticky_pair(&a, &b);
    let got = origins(&sg, "/shop/cart;jsessionid=xyz.b", &[], 10);
    assert!(all(&got, "b"), "{got:?}");
    // The path parameter is passed on as part of the path.
    assert_eq!(b.last_request().target, "/shop/cart;jsessionid=xyz.b");
}

#[test]
fn query_parameter_route_picks_the_member() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = sticky_pair(&a, &b);
    let got = origins(&sg, "/p?jsessionid=xyz.b", &[], 5);
    assert!(all(&got, "b"), "{got:?}");
    let got = origins(&sg, "/p?x=1&jsessionid=xyz.a&y=2", &[], 5);
    assert!(all(&got, "a"), "{got:?}");
}

#[test]
fn url_route_wins_over_the_cookie() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = sticky_pair(&a, &b);
    let got = origins(&sg, "/p?jsessionid=s.b", &[("Cookie", "JSESSIONID=s.a")], 6);
    assert!(all(&got, "b"), "{got:?}");
}

#[test]
fn one_name_serves_as_cookie_and_url_parameter() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = pair(&a, &b, "", "stickysession=JSESSIONID");
    let got = origins(&sg, "/x", &[("Cookie", "JSESSIONID=s.b")], 4);
    assert!(all(&got, "b"), "{got:?}");
    let got = origins(&sg, "/x;JSESSIONID=s.b", &[], 4);
    assert!(all(&got, "b"), "{got:?}");
}

#[test]
fn sticky_session_on_the_proxy_pass_line_applies() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "<Proxy balancer://c1>\n    BalancerMember http://{a} route=a\n    BalancerMember http://{b} route=b\n</Proxy>\nProxyPass / balancer://c1/ stickysession=JSESSIONID\n",
        &[&a, &b],
    );
    let got = origins(&sg, "/x", &[("Cookie", "JSESSIONID=s.b")], 6);
    assert!(all(&got, "b"), "{got:?}");
}

#[test]
fn route_is_the_text_after_the_first_separator() {
    // `id.n1.n2` has the route `n1.n2` (reference §4.1 [obs]).
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "<Proxy balancer://c1>\n    BalancerMember http://{a} route=n1\n    BalancerMember http://{b} route=n1.n2\n    ProxySet stickysession=JSESSIONID\n</Proxy>\nProxyPass / balancer://c1/\n",
        &[&a, &b],
    );
    let got = origins(&sg, "/x", &[("Cookie", "JSESSIONID=id.n1.n2")], 6);
    assert!(all(&got, "b"), "{got:?}");
    let got = origins(&sg, "/x", &[("Cookie", "JSESSIONID=id.n1")], 6);
    assert!(all(&got, "a"), "{got:?}");
}

#[test]
fn value_without_a_separator_gives_no_route() {
    // reference §4.1 / §9 #5 [obs][quirk]: `JSESSIONID=b` is balanced normally.
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = sticky_pair(&a, &b);
    let got = origins(&sg, "/x", &[("Cookie", "JSESSIONID=b")], 6);
    assert!(alternates(&got), "{got:?}");
}

#[test]
fn empty_route_counts_as_none() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = sticky_pair(&a, &b);
    let got = origins(&sg, "/x", &[("Cookie", "JSESSIONID=session.")], 6);
    assert!(alternates(&got), "{got:?}");
}

#[test]
fn cookie_names_are_case_sensitive() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    // Cookie name JSESSIONID, URL parameter name sid: a cookie called
    // jsessionid or XJSESSIONID is not the session cookie.
    let sg = pair(&a, &b, "", "stickysession=JSESSIONID|sid");
    for cookie in ["jsessionid=s.b", "XJSESSIONID=s.b", "JSessionID=s.b"] {
        let got = origins(&sg, "/x", &[("Cookie", cookie)], 6);
        assert!(alternates(&got), "Cookie: {cookie}: {got:?}");
    }
    let got = origins(&sg, "/x", &[("Cookie", "JSESSIONID=s.b")], 4);
    assert!(all(&got, "b"), "{got:?}");
}

#[test]
fn route_names_are_case_sensitive() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = sticky_pair(&a, &b);
    let got = origins(&sg, "/x", &[("Cookie", "JSESSIONID=s.B")], 6);
    assert!(alternates(&got), "{got:?}");
}

#[test]
fn url_parameter_name_is_found_as_a_substring() {
    // reference §4.1 [obs]: a plain substring search, so `xjsessionid=` matches.
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = sticky_pair(&a, &b);
    let got = origins(&sg, "/p?xjsessionid=s.b", &[], 4);
    assert!(all(&got, "b"), "{got:?}");
}

#[test]
fn stickysessionsep_sets_the_separator() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = pair(&a, &b, "", "stickysession=JSESSIONID stickysessionsep=:");
    // With `:` as the separator, `s.b` has no route. (First: routed requests
    // would tilt the byrequests counters, see the last tests.)
    let got = origins(&sg, "/x", &[("Cookie", "JSESSIONID=s.b")], 4);
    assert!(alternates(&got), "{got:?}");
    let got = origins(&sg, "/x", &[("Cookie", "JSESSIONID=s:b")], 4);
    assert!(all(&got, "b"), "{got:?}");
}

#[test]
fn stickysessionsep_off_takes_the_whole_value_as_the_route() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = pair(&a, &b, "", "stickysession=JSESSIONID stickysessionsep=Off");
    let got = origins(&sg, "/x", &[("Cookie", "JSESSIONID=b")], 4);
    assert!(all(&got, "b"), "{got:?}");
}

#[test]
fn scolonpathdelim_ends_the_url_value_at_a_semicolon() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let path = "/p;jsessionid=s.b;v=1";
    let sg = pair(
        &a,
        &b,
        "",
        "stickysession=JSESSIONID|jsessionid scolonpathdelim=On",
    );
    let got = origins(&sg, path, &[], 4);
    assert!(all(&got, "b"), "scolonpathdelim=On: {got:?}");
    drop(sg);
    // Off (the default): the route is `b;v=1`, which no member has.
    let sg = sticky_pair(&a, &b);
    let got = origins(&sg, path, &[], 4);
    assert!(alternates(&got), "scolonpathdelim=Off: {got:?}");
}

#[test]
fn routed_member_in_error_sends_the_session_to_another_member() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = sticky_pair(&a, &b);
    a.stop_listening();
    let got = origins(&sg, "/x", &[("Cookie", "JSESSIONID=s.a")], 5);
    assert!(all(&got, "b"), "{got:?}");
    wait_member_in_error(&sg, &a.addr());
}

#[test]
fn nofailover_on_answers_503_when_the_routed_member_is_unusable() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = pair(
        &a,
        &b,
        "",
        "stickysession=JSESSIONID|jsessionid nofailover=On",
    );
    a.stop_listening();
    let r = http_get(sg.port(), "/x", &[("Cookie", "JSESSIONID=s.a")]);
    assert_eq!(r.status, 503, "{}{}", r.summary(), member_table(&sg));
    wait_member_in_error(&sg, &a.addr());
    // Still 503 while a is in error, although b is fine.
    let r = http_get(sg.port(), "/x", &[("Cookie", "JSESSIONID=s.a")]);
    assert_eq!(r.status, 503, "{}{}", r.summary(), member_table(&sg));
    assert_eq!(b.requests(), 0);
    // Other sessions and requests without a session are unaffected.
    let got = origins(&sg, "/x", &[("Cookie", "JSESSIONID=s.b")], 3);
    assert!(all(&got, "b"), "{got:?}");
    let got = origins(&sg, "/x", &[], 3);
    assert!(all(&got, "b"), "{got:?}");
}

#[test]
fn route_of_no_member_is_balanced_even_with_nofailover() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = pair(&a, &b, "", "stickysession=JSESSIONID nofailover=On");
    let got = origins(&sg, "/x", &[("Cookie", "JSESSIONID=s.nosuchroute")], 6);
    assert!(alternates(&got), "{got:?}");
}

#[test]
fn redirect_sends_a_disabled_members_sessions_to_the_named_route() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let c = Origin::start("c");
    let sg = start_proxy(
        "<Proxy balancer://c1>\n    BalancerMember http://{a} route=a status=+D redirect=c\n    BalancerMember http://{b} route=b\n    BalancerMember http://{c} route=c\n    ProxySet stickysession=JSESSIONID\n</Proxy>\nProxyPass / balancer://c1/\n",
        &[&a, &b, &c],
    );
    let got = origins(&sg, "/x", &[("Cookie", "JSESSIONID=s.a")], 10);
    assert!(all(&got, "c"), "{got:?}");
    assert_eq!(a.requests(), 0);
}

#[test]
fn draining_member_gets_only_requests_routed_to_it() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = pair(&a, &b, "status=+N", "stickysession=JSESSIONID");
    let got = origins(&sg, "/x", &[], 10);
    assert!(all(&got, "b"), "{got:?}");
    assert_eq!(a.requests(), 0);
    let got = origins(&sg, "/x", &[("Cookie", "JSESSIONID=s.a")], 5);
    assert!(all(&got, "a"), "{got:?}");
}

#[test]
fn hot_standby_member_is_found_by_its_route() {
    // The route lookup's second pass looks at standby members (reference §4.2).
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = pair(&a, &b, "status=+H", "stickysession=JSESSIONID");
    let got = origins(&sg, "/x", &[], 4);
    assert!(all(&got, "b"), "{got:?}");
    let got = origins(&sg, "/x", &[("Cookie", "JSESSIONID=s.a")], 4);
    assert!(all(&got, "a"), "{got:?}");
}

#[test]
fn sticky_requests_count_towards_the_byrequests_balance() {
    // reference §3.2: a routed request credits every usable member and debits
    // the routed one. After 10 sessions on a (a: -1000, b: +1000), the next 10
    // unrouted requests all go to b, then a and b alternate again.
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = sticky_pair(&a, &b);
    let got = origins(&sg, "/x", &[("Cookie", "JSESSIONID=s.a")], 10);
    assert!(all(&got, "a"), "{got:?}");
    let got = origins(&sg, "/x", &[], 10);
    assert!(all(&got, "b"), "{got:?}{}", member_table(&sg));
    let got = origins(&sg, "/x", &[], 4);
    assert_eq!(got, ["a", "b", "a", "b"], "{}", member_table(&sg));
}

#[test]
fn sticky_routing_holds_across_workers() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = Slotgate::start(&render(
        "Listen 127.0.0.1:0\nStartServers 4\n<Proxy balancer://c1>\n    BalancerMember http://{a} route=a\n    BalancerMember http://{b} route=b\n    ProxySet stickysession=JSESSIONID\n</Proxy>\nProxyPass / balancer://c1/\n",
        &[&a, &b],
    ));
    sg.wait_workers(4, Duration::from_secs(10));
    let make = |k: usize| LoadRequest {
        path: "/x".to_string(),
        headers: vec![
            (
                "Cookie".to_string(),
                format!(
                    "JSESSIONID=s{k}.{}",
                    if k.is_multiple_of(3) { "a" } else { "b" }
                ),
            ),
            ("Connection".to_string(), "close".to_string()),
        ],
    };
    let result = run_load(sg.port(), 8, 300, &make, None);
    assert_eq!(result.failed, 0, "{:?}", result.failures);
    assert_eq!(
        (result.from("a"), result.from("b")),
        (100, 200),
        "{result:?}"
    );
    for r in a.recorded() {
        assert!(r.header("cookie").unwrap_or("").ends_with(".a"), "{r:?}");
    }
}
