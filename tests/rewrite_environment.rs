//! mod_rewrite and the request's environment (issue #15 point 3): `[E=VAR:value]`
//! and `[E=!VAR]` set and unset variables that `%{ENV:VAR}`, `Header … env=`,
//! `RequestHeader … env=`, `%{VAR}e` and `CustomLog … env=` see; SetEnvIf runs
//! before the rules; an `[R]` without `[L]` goes on through the rules; no
//! `Vary` is added; a changed map file is read again.
//!
//! httpd-oracle's answers (Debian's apache2 2.4.x, an origin echoing what it
//! saw) for `ENV_RULES` below:
//! - `X-Mode: fast`, `/e/abc` → the origin saw `/fast/abc?m=fast&p=abc` and
//!   `X-Req-Mode: fast`; the response carries `X-Mode-Seen: fast`;
//! - `X-Mode: slow` → `/slow/abc?m=slow`, `X-Mode-Seen: slow`;
//! - no X-Mode → `/slow/abc?m=`, no X-Mode-Seen, no X-Req-Mode;
//! - `/u/abc` ([E=NOPE:1] then [E=!NOPE]) → `/u/abc?n=`;
//! - `X-Pre: hello`, `/pre/abc` (SetEnvIf, read by %{ENV:PRE}) → `/pre/abc?pre=hello`;
//! - `/forb` ([E=WHY:no,F]) → 403 with `X-Why: no` (Header always);
//! - `/ra/x` ([R] then an unanchored `/rb/(.*) http://other.example/rc/$1
//!   [R=301]`) → 301 `Location: http://other.example/rc/x`;
//! - `X-A: a`, `/va/x` (a condition on a header, [P]) → 200, no `Vary`;
//!   `User-Agent: bot`, `/vr/x` (a condition on %{HTTP_USER_AGENT}, [R]) →
//!   302, no `Vary` (httpd adds Vary only to a response it serves itself from
//!   a file; a proxied response and a redirect have none);
//! - modes.log (`CustomLog … env=MODE`): `/e/abc fast -`, `/e/abc slow -`;
//!   why.log (`env=WHY`): `/forb - no`.

mod common;

use std::time::{Duration, SystemTime};

use common::*;

const ENV_RULES: &str = r#"RewriteEngine On
RewriteCond %{HTTP:X-Mode} ^(\w+)
RewriteRule ^/e/(.*) - [E=MODE:%1,E=PATHV:$1]
RewriteCond %{ENV:MODE} =fast
RewriteRule ^/e/(.*) http://{a}/fast/$1?m=%{ENV:MODE}&p=%{ENV:PATHV} [P]
RewriteRule ^/e/(.*) http://{a}/slow/$1?m=%{ENV:MODE} [P]
RewriteRule ^/u/ - [E=NOPE:1]
RewriteRule ^/u/ - [E=!NOPE]
RewriteRule ^/u/(.*) http://{a}/u/$1?n=%{ENV:NOPE} [P]
SetEnvIf X-Pre (.+) PRE=$1
RewriteRule ^/pre/(.*) http://{a}/pre/$1?pre=%{ENV:PRE} [P]
RewriteRule ^/forb - [E=WHY:no,F]
RewriteRule ^/ra/(.*) /rb/$1 [R]
RewriteRule /rb/(.*) http://other.example/rc/$1 [R=301]
RewriteCond %{HTTP:X-A} a
RewriteRule ^/va/(.*) http://{a}/va/$1 [P]
RewriteCond %{HTTP_USER_AGENT} bot
RewriteRule ^/vr/(.*) http://other.example/vr/$1 [R]
Header set X-Mode-Seen "%{MODE}e" env=MODE
Header always set X-Why "%{WHY}e" env=WHY
RequestHeader set X-Req-Mode "%{MODE}e" env=MODE
LogFormat "%U %{MODE}e %{WHY}e" modes
CustomLog modes.log modes env=MODE
CustomLog why.log modes env=WHY
"#;

#[test]
fn env_flags_reach_conditions_headers_and_the_log_as_httpd_answers() {
    let a = Origin::start("a");
    let sg = start_proxy(ENV_RULES, &[&a]);
    let get = |path: &str, headers: &[(&str, &str)]| http_get(sg.port(), path, headers);

    let r = get("/e/abc", &[("X-Mode", "fast")]);
    assert_eq!(r.status, 200, "{}", r.summary());
    let seen = a.last_request();
    assert_eq!(seen.target, "/fast/abc?m=fast&p=abc");
    assert_eq!(seen.header("x-req-mode"), Some("fast"));
    assert_eq!(r.header("x-mode-seen"), Some("fast"));

    let r = get("/e/abc", &[("X-Mode", "slow")]);
    assert_eq!(a.last_request().target, "/slow/abc?m=slow");
    assert_eq!(r.header("x-mode-seen"), Some("slow"));

    let r = get("/e/abc", &[]);
    let seen = a.last_request();
    assert_eq!(seen.target, "/slow/abc?m=");
    assert_eq!(
        (r.header("x-mode-seen"), seen.header("x-req-mode")),
        (None, None)
    );

    get("/u/abc", &[]);
    assert_eq!(a.last_request().target, "/u/abc?n=");
    get("/pre/abc", &[("X-Pre", "hello")]);
    assert_eq!(a.last_request().target, "/pre/abc?pre=hello");

    // A local answer carries what [E=] set.
    let r = get("/forb", &[]);
    assert_eq!((r.status, r.header("x-why")), (403, Some("no")));

    let modes = wait_lines(&sg.dir().join("modes.log"), 2, Duration::from_secs(5));
    assert_eq!(modes, ["/e/abc fast -", "/e/abc slow -"]);
    let why = wait_lines(&sg.dir().join("why.log"), 1, Duration::from_secs(5));
    assert_eq!(why, ["/forb - no"]);
}

#[test]
fn a_redirect_goes_on_through_the_rules_and_no_vary_is_added() {
    let a = Origin::start("a");
    let sg = start_proxy(ENV_RULES, &[&a]);
    let r = http_get(sg.port(), "/ra/x", &[]);
    assert_eq!(r.status, 301, "{}", r.summary());
    assert_eq!(r.header("location"), Some("http://other.example/rc/x"));

    let r = http_get(sg.port(), "/va/x", &[("X-A", "a")]);
    assert_eq!((r.status, r.origin()), (200, "a"), "{}", r.summary());
    assert_eq!(r.header("vary"), None);
    let r = http_get(sg.port(), "/vr/x", &[("User-Agent", "bot")]);
    assert_eq!(r.status, 302, "{}", r.summary());
    assert_eq!(r.header("vary"), None);
}

#[test]
fn a_map_file_changed_on_disk_is_read_again() {
    // httpd stats a txt: map on every look-up and reads it again when its
    // modification time changed (mod_rewrite's documentation, "RewriteMap").
    let a = Origin::start("a");
    let b = Origin::start("b");
    let dir = TempDir::new();
    let map = dir.write("backends.map", &render("app {a}\n", &[&a, &b]));
    let sg = start_proxy(
        &format!(
            "RewriteEngine On\nRewriteMap backends txt:{}\n\
             RewriteRule ^/(.*) http://${{backends:app|127.0.0.1:9}}/$1 [P]\n",
            map.display()
        ),
        &[],
    );
    let r = http_get(sg.port(), "/x", &[]);
    assert_eq!((r.status, r.origin()), (200, "a"), "{}", r.summary());
    std::fs::write(&map, render("app {b}\n", &[&a, &b])).unwrap();
    // A new modification time, set rather than waited for.
    std::fs::File::options()
        .write(true)
        .open(&map)
        .unwrap()
        .set_modified(SystemTime::now() + Duration::from_secs(10))
        .unwrap();
    let r = http_get(sg.port(), "/x", &[]);
    assert_eq!((r.status, r.origin()), (200, "b"), "{}", r.summary());
    assert_eq!(b.last_request().target, "/x");
}

#[test]
fn env_flags_are_accepted_and_their_mistakes_refused_at_t() {
    let dir = TempDir::new();
    let ok = format!(
        "{BASE_CONF}RewriteEngine On\nRewriteRule ^/ - [E=A:b,E=!C,E=D]\n\
         RewriteCond %{{ENV:A}} b\nRewriteRule ^/ - [F]\n"
    );
    let (out, _) = check_config(&dir, "ok.conf", &ok);
    assert_eq!(out.code(), Some(0), "{}{}", out.stdout, out.stderr);
    for (i, (flag, why)) in [
        ("[E=:b]", "has no name"),
        ("[E=!A:b]", "names one variable"),
    ]
    .into_iter()
    .enumerate()
    {
        let conf = format!("{BASE_CONF}RewriteEngine On\nRewriteRule ^/ - {flag}\n");
        let (out, path) = check_config(&dir, &format!("bad{i}.conf"), &conf);
        let all = format!("{}{}", out.stdout, out.stderr);
        assert_ne!(out.code(), Some(0), "{flag}: accepted");
        assert!(
            all.contains(why) && all.contains(&format!("{path}:5")),
            "{all}"
        );
    }
}
