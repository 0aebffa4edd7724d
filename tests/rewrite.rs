//! mod_rewrite's proxying subset in server and vhost context (issue #15 point 3).
//!
//! httpd-oracle's answers (Debian's apache2 2.4, with an origin that echoes the
//! path it saw), recorded for the configuration
//!
//! ```text
//! RewriteEngine On
//! RewriteRule ^/a/(.*) /b/$1 [PT]
//! RewriteRule ^/c/(.*) /b/$1
//! RewriteRule ^/p/(.*) http://ORIGIN/x/$1?y=1 [P]
//! RewriteRule ^/q/(.*) http://ORIGIN/x/$1 [P,QSA]
//! RewriteRule ^/r/(.*) http://www.example.com/$1 [R=301,L]
//! RewriteRule ^/s/(.*) http://www.example.com/$1
//! RewriteRule ^/f - [F]
//! RewriteRule ^/g - [G]
//! RewriteRule ^/n/(.*) http://www.example.com/$1 [R,NE]
//! ProxyPass /b/ http://ORIGIN/bb/
//! ProxyPass /p/ http://ORIGIN/pp/
//! ```
//!
//! - `/a/z` → 200, origin saw `/bb/z` ([PT] hands the new path to ProxyPass);
//! - `/c/z` → 404 (without [PT] the result is a file path);
//! - `/p/z?k=2` → origin saw `/x/z?y=1`: mod_rewrite runs BEFORE ProxyPass
//!   (`ProxyPass /p/` never sees it), and a substitution's query replaces the
//!   request's;
//! - `/q/z?k=2` → `/x/z?k=2` (no query in the substitution: the request's stays);
//! - `/r/a%20b` → 301 `Location: http://www.example.com/a%20b`;
//! - `/s/z` → 302 `Location: http://www.example.com/z` (absolute URL, no flag);
//! - `/f` → 403, `/g` → 410;
//! - `/n/a%20b?x` → 302 `Location: http://www.example.com/a b?x` ([NE]).
//!
//! The canonical-host recipe (`RewriteCond %{HTTP_HOST} !^www\.example\.com [NC]`,
//! `RewriteRule ^/(.*) http://www.example.com/$1 [R=301,L]`): Host `example.com`,
//! `/a%20b?x=1` → 301 `Location: http://www.example.com/a%20b?x=1`; Host
//! `WWW.EXAMPLE.COM` → not redirected. The WebSocket recipe's conditions with
//! `Upgrade: WebSocket` / `Connection: Upgrade` → proxied to `…/ws/chat/x`.
//! `RewriteCond %{QUERY_STRING} <m` + `[F]`: `?a` → 403, `?z` → not refused.
//! `RewriteMap up int:toupper` + `RewriteRule ^/map/(.*) http://ORIGIN/${up:$1} [P]`:
//! `/map/ab` → origin saw `/AB`.

mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::wire::*;
use common::*;

const ORACLE_RULES: &str = "RewriteEngine On
RewriteRule ^/a/(.*) /b/$1 [PT]
RewriteRule ^/c/(.*) /b/$1
RewriteRule ^/p/(.*) http://{a}/x/$1?y=1 [P]
RewriteRule ^/q/(.*) http://{a}/x/$1 [P,QSA]
RewriteRule ^/r/(.*) http://www.example.com/$1 [R=301,L]
RewriteRule ^/s/(.*) http://www.example.com/$1
RewriteRule ^/f - [F]
RewriteRule ^/g - [G]
RewriteRule ^/n/(.*) http://www.example.com/$1 [R,NE]
ProxyPass /b/ http://{a}/bb/
ProxyPass /p/ http://{a}/pp/
";

#[test]
fn rewrite_runs_before_proxypass_as_httpd_answers() {
    let a = Origin::start("a");
    let sg = start_proxy(ORACLE_RULES, &[&a]);
    let get = |path: &str| http_get(sg.port(), path, &[]);
    let r = get("/a/z");
    assert_eq!(
        (r.status, a.last_request().target),
        (200, "/bb/z".to_string())
    );
    assert_eq!(get("/c/z").status, 404);
    let r = get("/p/z?k=2");
    assert_eq!(
        (r.status, a.last_request().target),
        (200, "/x/z?y=1".to_string())
    );
    let r = get("/q/z?k=2");
    assert_eq!(
        (r.status, a.last_request().target),
        (200, "/x/z?k=2".to_string())
    );
    let r = get("/r/a%20b");
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("http://www.example.com/a%20b"));
    let r = get("/s/z");
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("http://www.example.com/z"));
    assert_eq!(get("/f").status, 403);
    assert_eq!(get("/g").status, 410);
    let r = get("/n/a%20b?x");
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("http://www.example.com/a b?x"));
    // Untouched by the rules: ProxyPass as usual.
    let r = get("/b/y");
    assert_eq!(
        (r.status, a.last_request().target),
        (200, "/bb/y".to_string())
    );
}

#[test]
fn canonical_host_redirect() {
    let a = Origin::start("a");
    let sg = start_proxy(
        "<IfModule mod_rewrite.c>\nRewriteEngine On\n\
         RewriteCond %{HTTP_HOST} !^www\\.example\\.com [NC]\n\
         RewriteRule ^/(.*) http://www.example.com/$1 [R=301,L]\n</IfModule>\n\
         ProxyPass / http://{a}/\n",
        &[&a],
    );
    let r = http_get(sg.port(), "/a%20b?x=1", &[("Host", "example.com")]);
    assert_eq!(r.status, 301, "{}", r.summary());
    assert_eq!(
        r.header("location"),
        Some("http://www.example.com/a%20b?x=1")
    );
    assert_eq!(a.requests(), 0);
    let r = http_get(sg.port(), "/a", &[("Host", "WWW.EXAMPLE.COM")]);
    assert_eq!((r.status, r.origin()), (200, "a"));
}

#[test]
fn p_goes_through_the_balancer_or_member_defined_for_the_url() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "<Proxy balancer://c>\nBalancerMember http://{b}/base\n</Proxy>\n\
         RewriteEngine On\nRewriteRule ^/lb/(.*) balancer://c/$1 [P]\n\
         RewriteRule ^/m/(.*) http://{a}/app/$1 [P,L]\n\
         ProxyPass /app http://{a}/app\n",
        &[&a, &b],
    );
    let r = http_get(sg.port(), "/lb/x?q", &[]);
    assert_eq!((r.status, r.origin()), (200, "b"), "{}", r.summary());
    assert_eq!(b.last_request().target, "/base/x?q");
    let r = http_get(sg.port(), "/m/y", &[]);
    assert_eq!((r.status, r.origin()), (200, "a"), "{}", r.summary());
    assert_eq!(a.last_request().target, "/app/y");
}

#[test]
fn p_to_an_url_without_a_member_adds_one() {
    let a = Origin::start("a");
    let sg = start_proxy(
        "RewriteEngine On\nRewriteMap up int:toupper\n\
         RewriteRule ^/map/(.*) http://{a}/${up:$1} [P]\n",
        &[&a],
    );
    for _ in 0..3 {
        let r = http_get(sg.port(), "/map/ab", &[]);
        assert_eq!((r.status, r.origin()), (200, "a"), "{}", r.summary());
        assert_eq!(a.last_request().target, "/AB");
    }
}

#[test]
fn rnd_maps_balance_between_origins() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let dir = TempDir::new();
    let map = dir.write(
        "servers.map",
        &render("# older balancing\napp {a}|{b}\n", &[&a, &b]),
    );
    let sg = start_proxy(
        &format!(
            "RewriteEngine On\nRewriteMap servers rnd:{}\n\
             RewriteRule ^/(.*) http://${{servers:app}}/$1 [P,L]\n",
            map.display()
        ),
        &[],
    );
    let mut seen = HashSet::new();
    // Bounded: the chance that 200 fair draws miss an origin is 2^-199.
    for _ in 0..200 {
        let r = http_get(sg.port(), "/x", &[]);
        assert_eq!(r.status, 200, "{}", r.summary());
        seen.insert(r.origin().to_string());
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(seen.len(), 2, "{seen:?}");
}

#[test]
fn vhost_rules_apply_to_their_vhost_only() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "RewriteEngine On\nRewriteRule ^/main - [F]\n\
         <VirtualHost *>\nServerName one.test\nRewriteEngine On\n\
         RewriteCond %{REQUEST_METHOD} =GET\nRewriteRule ^/(.*) http://{a}/one/$1 [P]\n</VirtualHost>\n\
         <VirtualHost *>\nServerName two.test\nProxyPass / http://{b}/\n</VirtualHost>\n",
        &[&a, &b],
    );
    let r = http_get(sg.port(), "/main", &[("Host", "one.test")]);
    assert_eq!((r.status, r.origin()), (200, "a"));
    assert_eq!(a.last_request().target, "/one/main");
    let r = http_get(sg.port(), "/main", &[("Host", "two.test")]);
    assert_eq!((r.status, r.origin()), (200, "b"));
}

#[test]
fn websocket_recipe_tunnels_through_a_ws_member() {
    let ws = upgrade_echo_origin("ws");
    let sg = start_proxy_raw(
        "RewriteEngine On\nRewriteCond %{HTTP:Upgrade} websocket [NC]\n\
         RewriteCond %{HTTP:Connection} upgrade [NC]\n\
         RewriteRule ^/?(.*) \"ws://{ws}/$1\" [P,L]\n",
        &[&ws],
    );
    let mut wire = Wire::connect(sg.port());
    wire.send(
        b"GET /chat/x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: WebSocket\r\n\
          Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    let r = wire
        .read_head("GET", WIRE_WAIT)
        .expect("an answer to the upgrade");
    assert_eq!(r.status, 101, "{}", r.summary());
    assert_eq!(r.header("x-target"), Some("/chat/x"));
    wire.send(b"ping");
    assert_eq!(wire.read_exact_bytes(4, WIRE_WAIT).unwrap(), b"ping");
    // Without the Upgrade header the rule does not apply: no ProxyPass, 404.
    let r = http_get(sg.port(), "/chat/x", &[]);
    assert_eq!(r.status, 404);
}

#[test]
fn what_is_refused_is_refused_at_t_with_file_and_line() {
    let dir = TempDir::new();
    let cases = [
        ("RewriteRule ^/ /x [N]", "unknown or not supported"),
        (
            "RewriteCond %{REQUEST_FILENAME} !-f\nRewriteRule ^/ - [F]",
            "file tests are not supported",
        ),
        ("RewriteBase /app", "per-directory"),
        ("RewriteMap m prg:/bin/cat", "not supported"),
        ("RewriteRule ^/ - [CO=a:b:c]", "unknown or not supported"),
        (
            "<Location /x>\nRewriteEngine On\n</Location>",
            "inside <Location>",
        ),
    ];
    for (i, (text, why)) in cases.into_iter().enumerate() {
        // The refused line: the fifth, or the sixth inside a section.
        let line = if text.starts_with('<') { 6 } else { 5 };
        let conf = format!("{BASE_CONF}RewriteEngine On\n{text}\n");
        let (out, path) = check_config(&dir, &format!("c{i}.conf"), &conf);
        assert_ne!(out.code(), Some(0), "{text}: accepted");
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(
            all.contains(why) && all.contains(&format!("{path}:{line}")),
            "{text}: {all}"
        );
    }
    // `-M` lists the module, `<IfModule rewrite_module>` holds.
    let conf = format!("{BASE_CONF}<IfModule rewrite_module>\nRewriteEngine On\nRewriteRule ^/ - [F]\n</IfModule>\n");
    let (out, _) = check_config(&dir, "ok.conf", &conf);
    assert_eq!(out.code(), Some(0), "{}{}", out.stdout, out.stderr);
}

#[test]
fn p_counts_on_the_defined_member_slot() {
    // The request goes through the ProxyPass member (its slot, its pool), not
    // through a member added at run time (counted on `express://*`).
    let a = Origin::start("a");
    let sg = start_proxy(
        "RewriteEngine On\nRewriteRule ^/m/(.*) http://{a}/app/$1 [P]\nProxyPass /app http://{a}/app\n",
        &[&a],
    );
    for _ in 0..3 {
        assert_eq!(http_get(sg.port(), "/m/y", &[]).status, 200);
    }
    let addr = a.addr();
    wait_for(
        "the ProxyPass member to count 3 requests",
        Duration::from_secs(5),
        || {
            member_views(&sg.scoreboard())
                .into_iter()
                .find(|m| m.balancer.is_none() && m.names(&addr))
                .filter(|m| m.elected == 3)
        },
        || member_table(&sg),
    );
    let express = member_views(&sg.scoreboard())
        .into_iter()
        .find(|m| m.url.starts_with("express://"))
        .map_or(0, |m| m.elected);
    assert_eq!(express, 0, "{}", member_table(&sg));
}
