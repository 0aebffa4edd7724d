//! mod_rewrite flags and variables beyond the first subset (issue #15 point 3):
//! `[C]`, `[UnsafeAllow3F]`, integer tests, and the server variables httpd
//! gives (SERVER_NAME/SERVER_PORT from the Host header under UseCanonicalName
//! Off, REMOTE_PORT, SERVER_PROTOCOL), on the real binary. httpd-oracle's
//! answers (apache2 2.4.71) for the same rules:
//! - `X-N: 10` → `/big/x`, `X-N: abc` → `/small/x`;
//! - `/c/a/x` → `/chained/c/x`, `/c/b/x` → `/after/b/x`;
//! - `/q/a%3Fb` (`$1` holds the decoded `?`) → 403; `/u/a%3Fb` with
//!   `[UnsafeAllow3F]` → the origin saw `/u/a?b`;
//! - `Host: foo.example:99`, `/v/x` → `sn=foo.example&port=99`;
//! - `^/m503 - [R=503,L]` → 503 with `Header always`'s header.
//!
//! With `UseCanonicalName On` in a vhost named `canonical.example:8443`,
//! `Host: other.example:7`: `^/r/(.*) /r2/$1 [R]` → `Location:
//! http://canonical.example:8443/r2/x`, and %{SERVER_NAME}/%{SERVER_PORT} are
//! `canonical.example`/`8443` (httpd-oracle).

mod common;

use common::*;

const RULES: &str = r#"RewriteEngine On
RewriteCond %{HTTP:X-N} -gt5
RewriteRule ^/int/(.*) http://{a}/big/$1 [P]
RewriteRule ^/int/(.*) http://{a}/small/$1 [P]
RewriteRule ^/c/a/(.*) /c/b/$1 [C]
RewriteRule ^/c/b/(.*) /c/c/$1 [C]
RewriteRule ^/c/(.*) http://{a}/chained/$1 [P]
RewriteRule ^/c/(.*) http://{a}/after/$1 [P]
RewriteRule ^/q/(.*) http://{a}/q/$1 [P]
RewriteRule ^/u/(.*) http://{a}/u/$1 [P,UnsafeAllow3F]
RewriteRule ^/m503 - [R=503,L]
RewriteRule ^/gone - [G]
Header always set X-Always yes
RewriteRule ^/v/(.*) http://{a}/v/$1?sn=%{SERVER_NAME}&port=%{SERVER_PORT}&sp=%{SERVER_PROTOCOL}&rp=%{REMOTE_PORT} [P,NE]
"#;

#[test]
fn flags_tests_and_variables_on_the_wire_as_httpd_answers() {
    let a = Origin::start("a");
    let sg = start_proxy(RULES, &[&a]);
    let get = |path: &str, headers: &[(&str, &str)]| http_get(sg.port(), path, headers);
    let seen = |r: Response| {
        assert_eq!(r.status, 200, "{}", r.summary());
        a.last_request().target
    };
    assert_eq!(seen(get("/int/x", &[("X-N", "10")])), "/big/x");
    assert_eq!(seen(get("/int/x", &[("X-N", "abc")])), "/small/x");
    assert_eq!(seen(get("/c/a/x", &[])), "/chained/c/x");
    assert_eq!(seen(get("/c/b/x", &[])), "/after/b/x");
    let before = a.requests();
    assert_eq!(get("/q/a%3Fb", &[]).status, 403);
    assert_eq!(a.requests(), before, "a refused request reached the origin");
    assert_eq!(seen(get("/u/a%3Fb", &[])), "/u/a?b");
    // `[R=503]`: httpd answers 503 with the always headers (httpd-oracle); [G]'s
    // status line says Gone.
    let r = get("/m503", &[]);
    assert_eq!((r.status, r.header("x-always")), (503, Some("yes")));
    let r = get("/gone", &[]);
    assert_eq!((r.status, r.reason.as_str()), (410, "Gone"));
    let target = seen(get("/v/x", &[("Host", "foo.example:99")]));
    assert!(
        target.starts_with("/v/x?sn=foo.example&port=99&sp=HTTP/1.1&rp="),
        "{target}"
    );
    let port: u16 = target.rsplit('=').next().unwrap().parse().unwrap();
    assert_ne!(port, 0, "{target}");
}

#[test]
fn a_relative_redirect_names_the_canonical_server_under_use_canonical_name_on() {
    let sg = start_proxy(
        "<VirtualHost *>\nServerName canonical.example:8443\nUseCanonicalName On\n\
         RewriteEngine On\nRewriteRule ^/r/(.*) /r2/$1 [R]\n</VirtualHost>\n",
        &[],
    );
    let r = http_get(sg.port(), "/r/x", &[("Host", "other.example:7")]);
    assert_eq!(r.status, 302, "{}", r.summary());
    assert_eq!(
        r.header("location"),
        Some("http://canonical.example:8443/r2/x")
    );
}
