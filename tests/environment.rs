//! The request's environment (issue #15 point 2): mod_setenvif and mod_env fill
//! it, mod_proxy_balancer adds its `BALANCER_*` variables, the access log's
//! `%{VAR}e` reads it, and mod_proxy's switches act on it.
//!
//! httpd-oracle (2.4.71), with `environment_config` below and one member
//! (route a), logged for `GET /app/nk`, `GET /app/x` and `GET /app/x` with
//! `User-Agent: testbot/1`:
//!   `1 l1 - a`, `1 l1 - a`, `- l1 1 a`
//! and the member saw `Connection: close` for /app/nk (proxy-nokeepalive set
//! by SetEnvIfNoCase) and `Connection: Keep-Alive` for /app/x.

mod common;

use common::*;
use std::time::Duration;

const ENVIRONMENT_CONFIG: &str = "\
SetEnvIfNoCase Request_URI \"^/app/NK\" proxy-nokeepalive
SetEnvIf Request_Method \"^GET$\" ISGET
SetEnvIf Remote_Addr \"^127\\.0\\.0\\.(1)$\" LOCAL=l$1
BrowserMatchNoCase \"^TESTBOT\" bot !ISGET
UnsetEnv NOTHING
LogFormat \"%{ISGET}e %{LOCAL}e %{bot}e %{BALANCER_WORKER_ROUTE}e\" envs
CustomLog envs.log envs
<Proxy balancer://c>
BalancerMember http://{a} route=a
</Proxy>
ProxyPass /app balancer://c/app
";

#[test]
fn setenvif_feeds_the_access_log_and_proxy_nokeepalive_closes_the_member_connection() {
    let a = Origin::start("a");
    let sg = start_proxy(ENVIRONMENT_CONFIG, &[&a]);
    let r = http_get(sg.port(), "/app/nk", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    let seen = a.last_request();
    assert!(
        seen.header("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close")),
        "proxy-nokeepalive: {:?}",
        seen.headers
    );
    let r = http_get(sg.port(), "/app/x", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    let seen = a.last_request();
    assert!(
        !seen
            .header("connection")
            .is_some_and(|c| c.eq_ignore_ascii_case("close")),
        "without the switch: {:?}",
        seen.headers
    );
    let r = http_get(sg.port(), "/app/x", &[("User-Agent", "testbot/1")]);
    assert_eq!(r.status, 200, "{}", r.summary());
    let lines = wait_lines(&sg.dir().join("envs.log"), 3, Duration::from_secs(5));
    assert_eq!(lines, ["1 l1 - a", "1 l1 - a", "- l1 1 a"]);
}

#[test]
fn of_the_proxy_switches_only_no_proxy_is_warned_about_at_check_time() {
    // slotgate acts on every mod_proxy switch but no-proxy, which only
    // bypasses ProxyRemote (tests/proxy_env_switches.rs).
    let dir = TempDir::new();
    let (out, _) = check_config(
        &dir,
        "e.conf",
        "Listen 127.0.0.1:0\nSetEnv force-proxy-request-1.0 1\n\
         BrowserMatch \"^Old\" proxy-sendcl\nSetEnv proxy-nokeepalive 1\nSetEnv no-proxy 1\n",
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    let all = format!("{}{}", out.stdout, out.stderr);
    assert!(
        all.contains("no-proxy makes mod_proxy bypass ProxyRemote"),
        "{all}"
    );
    for served in [
        "force-proxy-request-1.0",
        "proxy-sendcl",
        "proxy-nokeepalive",
    ] {
        assert!(!all.contains(&format!("variable {served} ")), "{all}");
    }
}

#[test]
fn the_modules_are_present_for_ifmodule_and_dash_m() {
    let dir = TempDir::new();
    let path = dir.write(
        "m.conf",
        "Listen 127.0.0.1:0\n\
         <IfModule !mod_headers.c>\nNoSuchDirective\n</IfModule>\n\
         <IfModule !env_module>\nNoSuchDirective\n</IfModule>\n\
         <IfModule !mod_setenvif.c>\nNoSuchDirective\n</IfModule>\n",
    );
    let path = path.display().to_string();
    let out = run_slotgate(&["-t", "-f", &path], &dir);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let out = run_slotgate(&["-M", "-f", &path], &dir);
    for m in ["headers_module", "env_module", "setenvif_module"] {
        assert!(out.stdout.contains(m), "{m}: {}", out.stdout);
    }
}

#[test]
fn bad_environment_lines_are_refused() {
    let dir = TempDir::new();
    for (line, why) in [
        ("SetEnvIf User-Agent", "takes a regular expression"),
        ("SetEnvIf User-Agent ^x", "at least one variable"),
        ("SetEnvIf User-Agent ( x", "bad regular expression"),
        ("SetEnv", "SetEnv takes"),
        ("UnsetEnv", "UnsetEnv takes"),
        ("SetEnvIfExpr \"true\" x", "not supported"),
    ] {
        let conf = format!("Listen 127.0.0.1:0\n{line}\n");
        let (out, _) = check_config(&dir, "e.conf", &conf);
        assert_ne!(out.code(), Some(0), "{line}: accepted");
        assert!(out.stderr.contains(why), "{line}: {}", out.stderr);
    }
}
