//! ProxyPass routing (reference §2.2): prefix matching at segment boundaries,
//! `!` exclusions, `<Location>` rules first, then server rules in file order,
//! target = URL + remainder + `?query`, and 404 when nothing matches.

mod common;

use common::*;

/// GETs `path` through slotgate and returns (status, X-Origin or "-").
fn route(sg: &Slotgate, path: &str) -> (u16, String) {
    let r = http_get(sg.port(), path, &[]);
    (r.status, r.header("x-origin").unwrap_or("-").to_string())
}

#[test]
fn prefix_matches_only_at_segment_boundaries() {
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPass /app http://{a}/t\n", &[&a]);
    assert_eq!(route(&sg, "/app"), (200, "a".into()));
    assert_eq!(a.last_request().target, "/t");
    assert_eq!(route(&sg, "/app/"), (200, "a".into()));
    assert_eq!(a.last_request().target, "/t/");
    assert_eq!(route(&sg, "/app/x/y"), (200, "a".into()));
    assert_eq!(a.last_request().target, "/t/x/y");
    assert_eq!(route(&sg, "/application"), (404, "-".into()));
    assert_eq!(route(&sg, "/ap"), (404, "-".into()));
    assert_eq!(a.requests(), 3, "{:?}", a.recorded());
}

#[test]
fn pattern_with_trailing_slash_does_not_match_the_bare_path() {
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPass /dir/ http://{a}/d/\n", &[&a]);
    assert_eq!(route(&sg, "/dir"), (404, "-".into()));
    assert_eq!(route(&sg, "/dir/"), (200, "a".into()));
    assert_eq!(a.last_request().target, "/d/");
    assert_eq!(route(&sg, "/dir/f"), (200, "a".into()));
    assert_eq!(a.last_request().target, "/d/f");
    assert_eq!(a.requests(), 2);
}

#[test]
fn matching_is_case_sensitive() {
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPass /App/ http://{a}/\n", &[&a]);
    assert_eq!(route(&sg, "/app/x"), (404, "-".into()));
    assert_eq!(route(&sg, "/App/x"), (200, "a".into()));
}

#[test]
fn exclusion_stops_the_search() {
    let a = Origin::start("a");
    let sg = start_proxy(
        "ProxyPass /app/private !\nProxyPass /app/ http://{a}/\n",
        &[&a],
    );
    assert_eq!(route(&sg, "/app/private"), (404, "-".into()));
    assert_eq!(route(&sg, "/app/private/x"), (404, "-".into()));
    assert_eq!(a.requests(), 0);
    // Segment boundary again: /app/privateer is not excluded.
    assert_eq!(route(&sg, "/app/privateer"), (200, "a".into()));
    assert_eq!(route(&sg, "/app/public"), (200, "a".into()));
    assert_eq!(a.last_request().target, "/public");
}

#[test]
fn exclusion_after_the_broader_rule_has_no_effect() {
    let a = Origin::start("a");
    let sg = start_proxy(
        "ProxyPass /app/ http://{a}/\nProxyPass /app/private !\n",
        &[&a],
    );
    assert_eq!(route(&sg, "/app/private/x"), (200, "a".into()));
    assert_eq!(a.last_request().target, "/private/x");
}

#[test]
fn first_matching_rule_wins_not_the_longest() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "ProxyPass /x/ http://{a}/\nProxyPass /x/y/ http://{b}/\n",
        &[&a, &b],
    );
    assert_eq!(route(&sg, "/x/y/z"), (200, "a".into()));
    assert_eq!(a.last_request().target, "/y/z");
    assert_eq!(b.requests(), 0);
}

#[test]
fn more_specific_rule_listed_first_wins() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "ProxyPass /x/y/ http://{b}/\nProxyPass /x/ http://{a}/\n",
        &[&a, &b],
    );
    assert_eq!(route(&sg, "/x/y/z"), (200, "b".into()));
    assert_eq!(b.last_request().target, "/z");
    assert_eq!(route(&sg, "/x/q"), (200, "a".into()));
    assert_eq!(a.last_request().target, "/q");
}

#[test]
fn location_rule_is_tested_before_server_rules() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    // The Location comes last in the file and still wins.
    let sg = start_proxy(
        "ProxyPass /loc/ http://{a}/\n<Location /loc/>\n    ProxyPass http://{b}/inner/\n</Location>\n",
        &[&a, &b],
    );
    assert_eq!(route(&sg, "/loc/x"), (200, "b".into()));
    assert_eq!(b.last_request().target, "/inner/x");
    assert_eq!(a.requests(), 0);
}

#[test]
fn location_rule_leaves_other_paths_to_server_rules() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "<Location /loc/>\n    ProxyPass http://{b}/\n</Location>\nProxyPass / http://{a}/\n",
        &[&a, &b],
    );
    assert_eq!(route(&sg, "/other"), (200, "a".into()));
    assert_eq!(a.last_request().target, "/other");
    assert_eq!(route(&sg, "/loc/y"), (200, "b".into()));
    assert_eq!(b.last_request().target, "/y");
}

#[test]
fn query_string_is_passed_on() {
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPass /s/ http://{a}/search/\n", &[&a]);
    assert_eq!(route(&sg, "/s/q?term=one&page=2"), (200, "a".into()));
    assert_eq!(a.last_request().target, "/search/q?term=one&page=2");
    assert_eq!(route(&sg, "/s/?x=%41"), (200, "a".into()));
    assert_eq!(a.last_request().target, "/search/?x=%41");
}

#[test]
fn target_joins_url_and_remainder_as_written() {
    // httpd's mapping (reference §2.2): `/j` → `http://b/` sends `/j/x` to `//x`.
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPass /j http://{a}/\n", &[&a]);
    assert_eq!(route(&sg, "/j/x"), (200, "a".into()));
    assert_eq!(a.last_request().target, "//x");
}

#[test]
fn root_rule_catches_everything_else() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "ProxyPass /b/ http://{b}/\nProxyPass / http://{a}/\n",
        &[&a, &b],
    );
    assert_eq!(route(&sg, "/b/1"), (200, "b".into()));
    assert_eq!(route(&sg, "/"), (200, "a".into()));
    assert_eq!(a.last_request().target, "/");
    assert_eq!(route(&sg, "/deep/er/path.html"), (200, "a".into()));
    assert_eq!(a.last_request().target, "/deep/er/path.html");
}

#[test]
fn unmatched_path_is_a_local_404() {
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPass /only/ http://{a}/\n", &[&a]);
    let r = http_get(sg.port(), "/elsewhere", &[]);
    assert_eq!(r.status, 404, "{}", r.summary());
    assert!(r.header("x-origin").is_none(), "{}", r.summary());
    assert_eq!(a.requests(), 0);
}

#[test]
fn percent_encoded_path_is_forwarded_encoded() {
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPass /e/ http://{a}/t/\n", &[&a]);
    assert_eq!(route(&sg, "/e/a%20b"), (200, "a".into()));
    assert_eq!(a.last_request().target, "/t/a%20b");
    // An encoded character in the prefix still matches the decoded rule.
    assert_eq!(route(&sg, "/%65/x"), (200, "a".into()));
    assert_eq!(a.last_request().target, "/t/x");
}
