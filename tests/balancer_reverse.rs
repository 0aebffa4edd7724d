//! Response header rewriting through a balancer (reference §2.8):
//! `ProxyPassReverse PATH balancer://c1/` maps a Location naming any member
//! back to the client's host and PATH; `ProxyPassReverseCookiePath` and
//! `ProxyPassReverseCookieDomain` rewrite Set-Cookie attributes (the whole
//! path is replaced: httpd's quirk, §9 #4).

mod common;

use common::*;

const CLUSTER: &str = "<Proxy balancer://c1>\n    BalancerMember http://{a}\n    BalancerMember http://{b}\n</Proxy>\n";

/// GETs `/app/redirect?to=TO` with `Host: front.example`; returns the response.
fn redirect(sg: &Slotgate, to: &str) -> Response {
    let r = http_get(
        sg.port(),
        &format!("/app/redirect?to={to}"),
        &[("Host", "front.example")],
    );
    assert_eq!(r.status, 302, "{}", r.summary());
    r
}

#[test]
fn location_naming_any_member_is_mapped_back() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        &format!("{CLUSTER}ProxyPass /app/ balancer://c1/\nProxyPassReverse /app balancer://c1/\n"),
        &[&a, &b],
    );
    // Whichever member answers, a Location naming either member is rewritten.
    for origin in [&a, &b, &a, &b] {
        let r = redirect(&sg, &format!("{}/x?k=v", origin.url()));
        assert_eq!(
            r.header("location"),
            Some("http://front.example/app/x?k=v"),
            "answered by {}: {}",
            r.origin(),
            r.summary()
        );
    }
    assert_eq!((a.requests(), b.requests()), (2, 2));
}

#[test]
fn location_outside_the_members_passes_unchanged() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        &format!("{CLUSTER}ProxyPass /app/ balancer://c1/\nProxyPassReverse /app balancer://c1/\n"),
        &[&a, &b],
    );
    for to in [
        "http://elsewhere.example/x".to_string(),
        format!("http://127.0.0.1:{}/x", unused_port()),
    ] {
        let r = redirect(&sg, &to);
        assert_eq!(r.header("location"), Some(to.as_str()), "{}", r.summary());
    }
}

#[test]
fn balancer_path_in_the_reverse_rule_is_part_of_the_prefix() {
    // BalancerMember http://m + ProxyPassReverse /app balancer://c1/base:
    // http://m/base/x becomes /app/x (reference §2.8).
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        &format!("{CLUSTER}ProxyPass /app/ balancer://c1/base/\nProxyPassReverse /app balancer://c1/base\n"),
        &[&a, &b],
    );
    let r = redirect(&sg, &format!("{}/base/x", a.url()));
    assert_eq!(
        r.header("location"),
        Some("http://front.example/app/x"),
        "{}",
        r.summary()
    );
    // Outside /base the value is left alone.
    let to = format!("{}/other/x", b.url());
    let r = redirect(&sg, &to);
    assert_eq!(r.header("location"), Some(to.as_str()), "{}", r.summary());
}

#[test]
fn content_location_is_mapped_back_too() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        &format!("{CLUSTER}ProxyPass /app/ balancer://c1/\nProxyPassReverse /app balancer://c1/\n"),
        &[&a, &b],
    );
    let r = http_get(
        sg.port(),
        &format!("/app/content-location?to={}/doc", b.url()),
        &[("Host", "front.example")],
    );
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(
        r.header("content-location"),
        Some("http://front.example/app/doc"),
        "{}",
        r.summary()
    );
}

fn cookie_proxy(a: &Origin, b: &Origin) -> Slotgate {
    start_proxy(
        &format!(
            "{CLUSTER}ProxyPass /app/ balancer://c1/\n\
             ProxyPassReverseCookiePath /internal /pub\n\
             ProxyPassReverseCookieDomain internal.example public.example\n"
        ),
        &[a, b],
    )
}

/// The Set-Cookie values of a GET through `sg` when both origins send `cookies`.
fn set_cookies(sg: &Slotgate, a: &Origin, b: &Origin, cookies: &[&str]) -> Vec<String> {
    let headers: Vec<(&str, &str)> = cookies.iter().map(|c| ("Set-Cookie", *c)).collect();
    a.set_response_headers(&headers);
    b.set_response_headers(&headers);
    let r = http_get(sg.port(), "/app/x", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    r.header_all("set-cookie")
        .into_iter()
        .map(str::to_string)
        .collect()
}

#[test]
fn cookie_path_is_replaced_whole_and_domain_rewritten() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = cookie_proxy(&a, &b);
    let got = set_cookies(
        &sg,
        &a,
        &b,
        &["SID=1; Path=/internal/sub; Domain=internal.example; HttpOnly"],
    );
    assert_eq!(got, ["SID=1; Path=/pub; Domain=public.example; HttpOnly"]);
}

#[test]
fn cookie_attributes_match_case_insensitively_paths_case_sensitively() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = cookie_proxy(&a, &b);
    let got = set_cookies(
        &sg,
        &a,
        &b,
        &[
            "one=1;path=/internal;domain=INTERNAL.example",
            "two=2; PATH=/Internal/x; Secure",
            "three=3; Path=/other; Domain=other.example",
        ],
    );
    assert_eq!(
        got,
        [
            "one=1;path=/pub;domain=public.example",
            // The path prefix is case-sensitive: /Internal is not /internal.
            "two=2; PATH=/Internal/x; Secure",
            "three=3; Path=/other; Domain=other.example",
        ]
    );
}

#[test]
fn cookie_path_prefix_has_no_segment_boundary() {
    // reference §2.8 [obs]: a plain `starts with`, so /internalx matches too.
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = cookie_proxy(&a, &b);
    let got = set_cookies(&sg, &a, &b, &["c=1; Path=/internalx/y"]);
    assert_eq!(got, ["c=1; Path=/pub"]);
}

#[test]
fn cookie_without_path_or_domain_is_unchanged() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = cookie_proxy(&a, &b);
    let got = set_cookies(&sg, &a, &b, &["plain=v; Max-Age=60"]);
    assert_eq!(got, ["plain=v; Max-Age=60"]);
}

#[test]
fn root_reverse_rule_does_not_double_the_slash() {
    // httpd's edge case: with the public path `/`, `http://member/x` becomes
    // `/x`, not `//x`.
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        &format!("{CLUSTER}ProxyPass / balancer://c1/\nProxyPassReverse / balancer://c1/\n"),
        &[&a, &b],
    );
    let r = http_get(
        sg.port(),
        &format!("/redirect?to={}/x", b.url()),
        &[("Host", "front.example")],
    );
    assert_eq!(r.status, 302, "{}", r.summary());
    assert_eq!(
        r.header("location"),
        Some("http://front.example/x"),
        "{}",
        r.summary()
    );
}

#[test]
fn member_url_in_a_location_matches_case_insensitively() {
    // Scheme and host compare without case (httpd's strncasecmp, and
    // slotgate's normalised comparison).
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        &format!("{CLUSTER}ProxyPass /app/ balancer://c1/\nProxyPassReverse /app balancer://c1/\n"),
        &[&a, &b],
    );
    let r = redirect(&sg, &format!("HTTP://{}/x", a.addr()));
    assert_eq!(
        r.header("location"),
        Some("http://front.example/app/x"),
        "{}",
        r.summary()
    );
}

#[test]
fn member_written_with_a_trailing_slash_keeps_the_slash_in_location() {
    // reference §9 #3: httpd turns http://m/x into /appx when the member is
    // written `http://m/`; slotgate keeps the slash.
    let a = Origin::start("a");
    let sg = start_proxy(
        "<Proxy balancer://c1>\n    BalancerMember http://{a}/\n</Proxy>\nProxyPass /app/ balancer://c1/\nProxyPassReverse /app balancer://c1/\n",
        &[&a],
    );
    let r = redirect(&sg, &format!("{}/x", a.url()));
    assert_eq!(
        r.header("location"),
        Some("http://front.example/app/x"),
        "{}",
        r.summary()
    );
}
