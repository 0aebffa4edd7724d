//! ProxyPassReverse (reference §2.8): Location, Content-Location and URI from
//! the origin that start with the rule's URL are rewritten to the client's
//! Host and the public path; other values pass unchanged.

mod common;

use common::*;

const RULES: &str = "ProxyPass /p/ http://{a}/x/\nProxyPassReverse /p/ http://{a}/x/\n";

#[test]
fn location_is_rewritten_to_the_clients_host() {
    let a = Origin::start("a");
    let sg = start_proxy(RULES, &[&a]);
    let to = format!("{}/x/target?k=v", a.url());
    let r = http_get(
        sg.port(),
        &format!("/p/redirect?to={to}"),
        &[("Host", "front.example:8080")],
    );
    assert_eq!(r.status, 302, "{}", r.summary());
    assert_eq!(
        r.header("location"),
        Some("http://front.example:8080/p/target?k=v"),
        "{}",
        r.summary()
    );
}

#[test]
fn location_uses_the_default_host_when_the_client_sends_ours() {
    let a = Origin::start("a");
    let sg = start_proxy(RULES, &[&a]);
    let to = format!("{}/x/", a.url());
    // http_get sends Host: 127.0.0.1:<slotgate port>.
    let r = http_get(sg.port(), &format!("/p/redirect?to={to}"), &[]);
    assert_eq!(
        r.header("location"),
        Some(format!("http://127.0.0.1:{}/p/", sg.port()).as_str()),
        "{}",
        r.summary()
    );
}

#[test]
fn content_location_and_uri_are_rewritten() {
    let a = Origin::start("a");
    let sg = start_proxy(RULES, &[&a]);
    let to = format!("{}/x/doc.html", a.url());
    let r = http_get(
        sg.port(),
        &format!("/p/content-location?to={to}"),
        &[("Host", "front.example")],
    );
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(
        r.header("content-location"),
        Some("http://front.example/p/doc.html"),
        "{}",
        r.summary()
    );
    assert_eq!(
        r.header("uri"),
        Some("http://front.example/p/doc.html"),
        "{}",
        r.summary()
    );
}

#[test]
fn unrelated_locations_pass_unchanged() {
    let a = Origin::start("a");
    let sg = start_proxy(RULES, &[&a]);
    for to in [
        "http://elsewhere.example/x/y".to_string(),
        // Same origin, outside the rule's path.
        format!("{}/other/y", a.url()),
        "/relative/path".to_string(),
    ] {
        let r = http_get(
            sg.port(),
            &format!("/p/redirect?to={to}"),
            &[("Host", "front.example")],
        );
        assert_eq!(r.header("location"), Some(to.as_str()), "{}", r.summary());
    }
}

#[test]
fn without_proxy_pass_reverse_location_is_not_touched() {
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPass /p/ http://{a}/x/\n", &[&a]);
    let to = format!("{}/x/target", a.url());
    let r = http_get(
        sg.port(),
        &format!("/p/redirect?to={to}"),
        &[("Host", "front.example")],
    );
    assert_eq!(r.header("location"), Some(to.as_str()), "{}", r.summary());
}

#[test]
fn reverse_rule_inside_location_uses_its_path() {
    let a = Origin::start("a");
    let sg = start_proxy(
        "<Location /loc/>\n    ProxyPass http://{a}/x/\n    ProxyPassReverse http://{a}/x/\n</Location>\n",
        &[&a],
    );
    let to = format!("{}/x/next", a.url());
    let r = http_get(
        sg.port(),
        &format!("/loc/redirect?to={to}"),
        &[("Host", "front.example")],
    );
    assert_eq!(r.status, 302, "{}", r.summary());
    assert_eq!(r.header("location"), Some("http://front.example/loc/next"));
}
