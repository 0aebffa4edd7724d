//! Local handlers behind httpd's `Require` (issue #7): a `<Location>` with
//! `SetHandler` answers only requests no ProxyPass rule proxies, only at its
//! path (segment boundary), and only to clients its rules allow.

mod common;

use common::*;

/// The manager under `rules`, beside a proxied site.
fn start(rules: &str, a: &Origin) -> Slotgate {
    Slotgate::start(&render(
        &format!(
            "Listen 127.0.0.1:0
StartServers 2
LogLevel warn
<Location /balancer-manager>
  SetHandler balancer-manager
{rules}
</Location>
ProxyPass /balancer-manager !
<Proxy balancer://app>
  BalancerMember http://{{a}}
</Proxy>
ProxyPass / balancer://app/
"
        ),
        &[a],
    ))
}

#[test]
fn require_ip_of_the_client_lets_it_in() {
    let a = Origin::start("a");
    let sg = start("  Require ip 127.0.0.1", &a);
    let r = http_get(sg.port(), "/balancer-manager", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    assert!(r.text().contains("balancer://app"), "{}", r.text());
    // Proxied paths are untouched, and nothing reached the origin for the manager.
    assert_eq!(http_get(sg.port(), "/x", &[]).status, 200);
    assert_eq!(a.requests(), 1);
}

#[test]
fn rules_that_exclude_the_client_give_403() {
    for rules in [
        "  Require all denied",
        "  Require ip 10.0.0.0/8 192.168.1.1",
        "  <RequireAll>\n    Require all granted\n    Require not ip 127.0.0.1\n  </RequireAll>",
    ] {
        let a = Origin::start("a");
        let sg = start(rules, &a);
        let r = http_get(sg.port(), "/balancer-manager", &[]);
        assert_eq!(r.status, 403, "rules {rules:?}: {}", r.summary());
        assert!(!r.text().contains("balancer://app"));
    }
}

#[test]
fn cidr_and_any_of_several_lines() {
    let a = Origin::start("a");
    // Several Require lines: any one of them suffices (an implicit RequireAny).
    let sg = start("  Require ip 10.1.2.3\n  Require ip 127.0.0.0/8", &a);
    assert_eq!(http_get(sg.port(), "/balancer-manager", &[]).status, 200);
}

#[test]
fn the_location_matches_at_a_segment_boundary_and_proxying_wins_elsewhere() {
    let a = Origin::start("a");
    let sg = start("  Require ip 127.0.0.1", &a);
    assert_eq!(
        http_get(sg.port(), "/balancer-manager/", &[]).status,
        200,
        "below the location"
    );
    // Not the location: /balancer-managerx is proxied like any other path.
    let r = http_get(sg.port(), "/balancer-managerx", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-origin"), Some("a"));
}

#[test]
fn a_handler_reads_the_body_and_refuses_a_huge_one() {
    let a = Origin::start("a");
    let sg = start("  Require ip 127.0.0.1", &a);
    let mut c = Client::connect(sg.port());
    // A small form without a nonce is read and refused (no change), on a
    // connection that stays usable.
    let r = c.request(
        "POST",
        "/balancer-manager",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        Some(b"b=app&w=http://x&w_lf=5"),
    );
    assert!(r.status < 500, "{}", r.summary());
    assert_eq!(c.get("/balancer-manager").status, 200, "kept alive");
    let big = vec![b'x'; 70 * 1024];
    let r = http_request(sg.port(), "POST", "/balancer-manager", &[], Some(&big));
    assert_eq!(r.status, 413, "{}", r.summary());
}

#[test]
fn head_gets_the_head_only() {
    let a = Origin::start("a");
    let sg = start("  Require ip 127.0.0.1", &a);
    let mut c = Client::connect(sg.port());
    let r = c.request("HEAD", "/balancer-manager", &[], None);
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert!(r.header("content-length").is_some_and(|n| n != "0"));
    assert_eq!(
        c.get("/balancer-manager").status,
        200,
        "the connection stayed in step"
    );
}

#[test]
fn a_balancer_manager_without_require_refuses_everyone() {
    let a = Origin::start("a");
    let sg = start("", &a);
    let r = http_get(sg.port(), "/balancer-manager", &[]);
    assert_eq!(r.status, 403, "{}", r.summary());
    assert!(
        sg.error_log().contains("has no Require line"),
        "the start-up log warns:\n{}",
        sg.error_log()
    );
}
