//! Mass reverse proxy (mod_proxy_express, reference §2.11): the Host header is
//! looked up in a `hostname backend-URL` text map; the request goes to the
//! backend URL followed by its path; an unknown host gets the normal handling
//! (404 here); ProxyPass rules come first; the map is re-read when it changes,
//! and a broken rewrite keeps the old map.

mod common;

use std::time::Duration;

use common::*;

/// GETs `path` with `Host: host`; returns (status, X-Origin or "-").
fn via(sg: &Slotgate, host: &str, path: &str) -> (u16, String) {
    let r = http_get(sg.port(), path, &[("Host", host)]);
    (r.status, r.header("x-origin").unwrap_or("-").to_string())
}

/// slotgate with express on, reading `map` (rendered with the origins' addresses)
/// from a file of its own; returns the proxy and the map's directory.
fn start(map: &str, extra: &str, origins: &[&Origin]) -> (Slotgate, TempDir) {
    let dir = TempDir::new();
    let path = dir.write("map.txt", &render(map, origins));
    let conf = format!(
        "ProxyExpressEnable On\nProxyExpressDBMFile \"{}\"\nProxyExpressDBMType txt\n{}",
        path.display(),
        render(extra, origins)
    );
    (start_proxy(&conf, &[]), dir)
}

const MAP: &str = "# two hosts\na.test http://{a}\n\nb.test  http://{b}/base\n";

#[test]
fn two_hosts_go_to_two_origins_with_the_path_appended() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let (sg, _map) = start(MAP, "", &[&a, &b]);
    assert_eq!(via(&sg, "a.test", "/x"), (200, "a".into()));
    assert_eq!(a.last_request().target, "/x");
    assert_eq!(via(&sg, "B.Test:8080", "/echo?z=1"), (200, "b".into()));
    assert_eq!(b.last_request().target, "/base/echo?z=1");
    // Several requests reuse the member (and its pooled connections).
    for _ in 0..5 {
        assert_eq!(via(&sg, "a.test", "/y"), (200, "a".into()));
    }
}

#[test]
fn an_unknown_host_gets_the_normal_handling() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let (sg, _map) = start(MAP, "", &[&a, &b]);
    assert_eq!(via(&sg, "c.test", "/x").0, 404);
    assert_eq!(via(&sg, "a.test.evil", "/x").0, 404);
    assert_eq!(a.requests() + b.requests(), 0);
}

#[test]
fn proxypass_rules_come_first() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let (sg, _map) = start(MAP, "ProxyPass /pp http://{b}/pp\n", &[&a, &b]);
    assert_eq!(via(&sg, "a.test", "/pp/x"), (200, "b".into()));
    assert_eq!(b.last_request().target, "/pp/x");
    assert_eq!(via(&sg, "a.test", "/other"), (200, "a".into()));
}

/// Waits (5 s at most) until `host` reaches origin `want`.
fn reaches(sg: &Slotgate, host: &str, want: &str) {
    wait_for(
        &format!("{host} to reach origin {want}"),
        Duration::from_secs(5),
        || (via(sg, host, "/x").1 == want).then_some(()),
        || sg.logs(),
    )
}

/// Replaces the map file in one step (a new file renamed over the old), so
/// the once-a-second check never reads it half-written.
fn rewrite_map(dir: &TempDir, text: &str) {
    let new = dir.write("map.txt.new", text);
    std::fs::rename(&new, dir.path().join("map.txt")).expect("renaming the new map");
}

#[test]
fn a_rewritten_map_is_used_without_a_restart_and_a_broken_one_is_not() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let (sg, dir) = start(MAP, "", &[&a, &b]);
    assert_eq!(via(&sg, "a.test", "/x"), (200, "a".into()));
    assert_eq!(via(&sg, "c.test", "/x").0, 404);
    rewrite_map(
        &dir,
        &render("a.test http://{b}\nc.test http://{a}\n", &[&a, &b]),
    );
    reaches(&sg, "a.test", "b");
    assert_eq!(via(&sg, "c.test", "/x"), (200, "a".into()));
    assert_eq!(via(&sg, "b.test", "/x").0, 404, "gone from the new map");

    // A rewrite with an error: the old map stays, the error names file:line.
    rewrite_map(&dir, &render("a.test http://{a}\nbroken-line\n", &[&a, &b]));
    sg.wait_error_log(
        "map.txt:2: no backend URL for 'broken-line'",
        Duration::from_secs(5),
    );
    assert_eq!(via(&sg, "a.test", "/x"), (200, "b".into()));
    assert_eq!(via(&sg, "c.test", "/x"), (200, "a".into()));
    // Fixed again: picked up.
    rewrite_map(&dir, &render("a.test http://{a}\n", &[&a, &b]));
    reaches(&sg, "a.test", "a");
}

#[test]
fn a_broken_map_stops_the_start_with_file_and_line() {
    let dir = TempDir::new();
    let map = dir.write("map.txt", "ok.test http://127.0.0.1:1\nbad.test ftp://x\n");
    let (out, _) = check_config(
        &dir,
        "slotgate.conf",
        &format!(
            "Listen 127.0.0.1:0\nProxyExpressEnable On\nProxyExpressDBMFile \"{}\"\n",
            map.display()
        ),
    );
    let text = format!("{}{}", out.stdout, out.stderr);
    assert_eq!(out.code(), Some(1), "{text}");
    assert!(text.contains("map.txt:2: "), "{text}");
    assert!(
        text.contains("slotgate.conf:3: ProxyExpressDBMFile"),
        "{text}"
    );
}
