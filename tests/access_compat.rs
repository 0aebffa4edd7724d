//! mod_access_compat (`Order`, `Allow from`, `Deny from`) and `Satisfy`, evaluated
//! as httpd 2.4 evaluates them beside `Require` (issue #15 point 4), in
//! `<Location>` sections with `SetHandler`.
//!
//! Every case below was run on httpd 2.4 (`../shared/tools/httpd-oracle` with the
//! same `<Location>` sections, `SetHandler server-status`, requests from 127.0.0.1
//! and from 127.0.0.2 with `curl --interface`); the expected statuses are its
//! answers.

mod common;

use common::*;

/// (path, rules, status from 127.0.0.1, status from 127.0.0.2): httpd's answers.
const CASES: &[(&str, &str, u16, u16)] = &[
    (
        "/a",
        "Order deny,allow\nDeny from all\nAllow from 127.0.0.1",
        200,
        403,
    ),
    ("/b", "Order allow,deny\nAllow from 127.0.0.1", 200, 403),
    ("/c", "Order deny,allow\nDeny from 127.0.0.2", 200, 403),
    // With Require: both must pass (Satisfy All, the default) ...
    (
        "/d",
        "Order deny,allow\nDeny from all\nAllow from 127.0.0.1\nRequire all granted",
        200,
        403,
    ),
    (
        "/e",
        "Order deny,allow\nDeny from all\nAllow from 127.0.0.1\nRequire ip 127.0.0.2",
        403,
        403,
    ),
    // ... or either, with Satisfy Any.
    (
        "/f",
        "Satisfy Any\nOrder deny,allow\nDeny from all\nAllow from 127.0.0.1\nRequire ip 127.0.0.2",
        200,
        200,
    ),
    (
        "/g",
        "Satisfy Any\nOrder deny,allow\nDeny from all\nRequire all denied",
        403,
        403,
    ),
    (
        "/h",
        "Order allow,deny\nAllow from 127.0.0.1\nDeny from 127.0.0.1",
        403,
        403,
    ),
    (
        "/i",
        "Order mutual-failure\nAllow from 127\nDeny from 127.0.0.2",
        200,
        403,
    ),
    ("/j", "Order allow,deny", 403, 403),
    // Allow alone, under the default Deny,Allow, refuses nobody.
    ("/k", "Allow from 127.0.0.1", 200, 200),
    // Satisfy Any: the (empty) Allow/Deny rules pass, so Require all denied does not matter.
    ("/l", "Satisfy Any\nRequire all denied", 200, 200),
    // Satisfy Any without Require: Require grants ("no directives"), so all pass.
    (
        "/n",
        "Satisfy Any\nOrder deny,allow\nDeny from all",
        200,
        200,
    ),
    ("/o", "Satisfy All\nRequire ip 127.0.0.2", 403, 200),
    (
        "/p",
        "Order Allow,Deny\nAllow from 127.0.0.0/255.0.0.0\nDeny from 127.0.0.2/32",
        200,
        403,
    ),
    (
        "/q",
        "Order Deny,Allow\nDeny from all\nAllow from 127.0.0.1 127.0.0.2",
        200,
        200,
    ),
];

#[test]
fn order_allow_deny_and_satisfy_as_httpd() {
    let mut conf = String::from("Listen 127.0.0.1:0\nLogLevel warn\n");
    for (path, rules, _, _) in CASES {
        conf.push_str(&format!(
            "<Location {path}>\nSetHandler server-status\n{rules}\n</Location>\n"
        ));
    }
    let sg = Slotgate::start(&conf);
    for &(path, rules, from_1, from_2) in CASES {
        assert_eq!(
            status_from("127.0.0.1", sg.port(), path, ""),
            from_1,
            "{path} from 127.0.0.1 with\n{rules}"
        );
        assert_eq!(
            status_from("127.0.0.2", sg.port(), path, ""),
            from_2,
            "{path} from 127.0.0.2 with\n{rules}"
        );
    }
}

/// The recipe of issue #15: a balancer-manager locked to localhost the 2.2 way.
#[test]
fn manager_locked_down_the_old_way() {
    let a = Origin::start("a");
    let conf = render(
        "Listen 127.0.0.1:0
LogLevel warn
<IfModule mod_access_compat.c>
<Location /balancer-manager>
    SetHandler balancer-manager
    Order deny,allow
    Deny from all
    Allow from 127.0.0.1
</Location>
</IfModule>
ProxyPass /balancer-manager !
<Proxy balancer://app>
    BalancerMember http://{a}
</Proxy>
ProxyPass / balancer://app/
",
        &[&a],
    );
    let dir = TempDir::new();
    let (run, _) = check_config(&dir, "recipe.conf", &conf);
    assert_eq!(run.code(), Some(0), "{}", run.stderr);
    assert!(
        !run.stderr.contains("access") && !run.stderr.contains("Require"),
        "no warning about access control: {}",
        run.stderr
    );
    let sg = Slotgate::start(&conf);
    assert_eq!(
        status_from("127.0.0.1", sg.port(), "/balancer-manager", ""),
        200
    );
    assert_eq!(
        status_from("127.0.0.2", sg.port(), "/balancer-manager", ""),
        403
    );
    // The proxied site stays open to both.
    assert_eq!(status_from("127.0.0.2", sg.port(), "/x", ""), 200);
}

/// `Allow from localhost`: the client's forward-confirmed host name (httpd gave
/// 200 from 127.0.0.1, whose name is localhost, and 403 from 127.0.0.2).
#[test]
fn allow_from_a_host_name() {
    let sg = Slotgate::start(
        "Listen 127.0.0.1:0\nLogLevel warn\n<Location /m>\nSetHandler server-status\n\
         Order deny,allow\nDeny from all\nAllow from localhost\n</Location>\n",
    );
    let name = std::process::Command::new("getent")
        .args(["hosts", "127.0.0.1"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    assert_eq!(status_from("127.0.0.2", sg.port(), "/m", ""), 403);
    if name.split_whitespace().skip(1).any(|n| n == "localhost") {
        assert_eq!(status_from("127.0.0.1", sg.port(), "/m", ""), 200);
    }
}

/// What `-t` refuses, with httpd's reasons; and the module names.
#[test]
fn configuration_errors_and_modules() {
    let dir = TempDir::new();
    let loc = |body: &str| {
        format!(
            "Listen 127.0.0.1:0\n<Location /s>\nSetHandler server-status\n{body}\n</Location>\n"
        )
    };
    for (body, expected) in [
        // httpd: "order takes one argument, 'allow,deny', 'deny,allow', or 'mutual-failure'"
        (
            "Order deny, allow",
            "Order takes one argument, 'allow,deny', 'deny,allow', or 'mutual-failure'",
        ),
        // httpd: "allow requires at least two arguments, 'from' followed by hostnames or IP-address wildcards"
        (
            "Allow 127.0.0.1",
            "Allow requires at least two arguments, 'from' followed by hostnames",
        ),
        ("Deny from env=", "Deny from env=: names no variable"),
        (
            "Allow from 10.0.0.0/33",
            "Allow from: '10.0.0.0/33' is not an IP address or network",
        ),
        ("Satisfy Some", "Satisfy takes 'All' or 'Any'"),
    ] {
        let (run, path) = check_config(&dir, "bad.conf", &loc(body));
        assert_ne!(run.code(), Some(0), "{body} accepted");
        assert!(
            run.stderr.contains(&format!("{path}:4: {expected}")),
            "{body}: {}",
            run.stderr
        );
    }
    // httpd: "order not allowed here" at server level.
    let (run, path) = check_config(&dir, "top.conf", "Listen 127.0.0.1:0\nOrder deny,allow\n");
    assert_ne!(run.code(), Some(0));
    assert!(
        run.stderr
            .contains(&format!("{path}:2: Order not allowed here")),
        "{}",
        run.stderr
    );
    let m = run_slotgate(
        &[
            "-M",
            "-f",
            dir.write("m.conf", "Listen 127.0.0.1:0\n")
                .to_str()
                .unwrap(),
        ],
        &dir,
    );
    assert!(m.stdout.contains("access_compat_module"), "{}", m.stdout);
}

/// Proxied requests are guarded by the `<Location>` sections above them, merged
/// as httpd merges them: the last section with `Require` brings those rules, the
/// last with Order/Allow/Deny those, the last `Satisfy` wins. httpd-oracle, with
/// the same sections and `ProxyPass / http://origin/`, answered (from 127.0.0.1 /
/// 127.0.0.2): /app/ 200/403, /app/inner/ 403/403 (Allow/Deny of /app and Require
/// of /app/inner must both pass), /app/any allowed/allowed (Satisfy Any: either
/// half), /open/ and /x 200/200.
#[test]
fn proxied_locations_merge_their_rules() {
    let a = Origin::start("a");
    let conf = render(
        "Listen 127.0.0.1:0
LogLevel warn
<Location /app>
  Order deny,allow
  Deny from all
  Allow from 127.0.0.1
</Location>
<Location /app/inner>
  Require ip 127.0.0.2
</Location>
<Location /app/any>
  Satisfy Any
  Require ip 127.0.0.2
</Location>
<Location /open>
  Require all granted
</Location>
ProxyPass / http://{a}/
",
        &[&a],
    );
    let sg = Slotgate::start(&conf);
    for (path, from_1, from_2) in [
        ("/app/", 200, 403),
        ("/app/inner/", 403, 403),
        ("/app/any", 200, 200),
        ("/open/", 200, 200),
        ("/x", 200, 200),
        // The normalised path is what is matched.
        ("/open/../app/", 200, 403),
    ] {
        assert_eq!(
            status_from("127.0.0.1", sg.port(), path, ""),
            from_1,
            "{path} from 127.0.0.1"
        );
        assert_eq!(
            status_from("127.0.0.2", sg.port(), path, ""),
            from_2,
            "{path} from 127.0.0.2"
        );
    }
    // Nothing refused reached the origin: 6 + 5 requests were allowed.
    assert_eq!(a.requests(), 6 + 5 - 2 - 1);
}

/// `<Proxy>` sections guard the requests proxied to the URLs they match, merged
/// before the Locations as in httpd. httpd-oracle, with these sections (the
/// member a local origin), answered from 127.0.0.1 / 127.0.0.2: /b/x 200/403,
/// /b/open/ 200/403 (the Location's Require replaces nothing of the Proxy's
/// Order/Allow/Deny), /open/ 403/200 (the wildcard `<Proxy>` matches
/// `http://127.0.0.1:PORT/open/`), /x 200/200.
#[test]
fn proxy_sections_guard_their_urls() {
    let a = Origin::start("a");
    let conf = render(
        "Listen 127.0.0.1:0
LogLevel warn
<Proxy balancer://app>
  BalancerMember http://{a}
  Order deny,allow
  Deny from all
  Allow from 127.0.0.1
</Proxy>
<Proxy http://{a}/open*>
  Require ip 127.0.0.2
</Proxy>
<Location /b/open>
  Require all granted
</Location>
ProxyPass /b/ balancer://app/
ProxyPass / http://{a}/
",
        &[&a],
    );
    let sg = Slotgate::start(&conf);
    for (path, from_1, from_2) in [
        ("/b/x", 200, 403),
        ("/b/open/", 200, 403),
        ("/open/", 403, 200),
        ("/x", 200, 200),
    ] {
        assert_eq!(
            status_from("127.0.0.1", sg.port(), path, ""),
            from_1,
            "{path} from 127.0.0.1"
        );
        assert_eq!(
            status_from("127.0.0.2", sg.port(), path, ""),
            from_2,
            "{path} from 127.0.0.2"
        );
    }
}

/// `Allow from env=VAR` / `Deny from env=!VAR` read the request's environment
/// as SetEnvIf leaves it; mod_env's SetEnv runs after the access checks, so a
/// variable it sets lets nobody in. httpd-oracle, with the sections below
/// (origin behind ProxyPass), answered: /deny 200 with `X-Let: yes`, 403
/// without; /deny2 (SetEnv LETIN2) 403; /app/neg (`Deny from env=!GOOD`)
/// 200 with `X-Good: 1`, 403 without; /env-status (server-status with `Allow
/// from env=LETIN`) 200 with `X-Let: yes`, 403 without.
#[test]
fn allow_from_env_reads_what_setenvif_set() {
    let a = Origin::start("a");
    let sg = start_proxy(
        "ProxyPass /deny http://{a}/deny\n\
         ProxyPass /deny2 http://{a}/deny2\n\
         ProxyPass /app http://{a}/app\n\
         <Location /deny>\nOrder deny,allow\nDeny from all\nAllow from env=LETIN\n</Location>\n\
         <Location /deny2>\nOrder deny,allow\nDeny from all\nAllow from env=LETIN2\n</Location>\n\
         <ProxyMatch /app/neg>\nOrder deny,allow\nDeny from env=!GOOD\n</ProxyMatch>\n\
         <Location /env-status>\nSetHandler server-status\nOrder deny,allow\nDeny from all\n\
         Allow from env=LETIN\n</Location>\n\
         SetEnvIf X-Let yes LETIN\n\
         SetEnvIf X-Good 1 GOOD\n\
         SetEnv LETIN2 1\n",
        &[&a],
    );
    let port = sg.port();
    let status = |path: &str, headers: &str| status_from("127.0.0.1", port, path, headers);
    assert_eq!(status("/deny", "X-Let: yes\r\n"), 200);
    assert_eq!(status("/deny", ""), 403);
    assert_eq!(status("/deny2", ""), 403);
    assert_eq!(status("/app/neg", "X-Good: 1\r\n"), 200);
    assert_eq!(status("/app/neg", ""), 403);
    assert_eq!(status("/env-status", "X-Let: yes\r\n"), 200);
    assert_eq!(status("/env-status", ""), 403);
}

/// `<LocationMatch>`, `<ProxyMatch>` and `<Proxy member-URL>` guard what they
/// cover, merged as httpd merges them (Proxies first, then Locations, each in
/// file order). httpd-oracle, with the sections below, answered: /app/priv/x
/// 403, /app/p2 403, /app/p3/y 403, /app/open/z 200 (the LocationMatch's
/// grant comes after the Proxy's refusal), /app/x 200.
#[test]
fn match_and_member_url_sections_guard_what_they_cover() {
    let a = Origin::start("a");
    let sg = start_proxy(
        "ProxyPass /app http://{a}/app\n\
         <LocationMatch \"^/app/priv\">\nRequire all denied\n</LocationMatch>\n\
         <ProxyMatch \"^http://{a}/app/p2\">\nOrder allow,deny\nDeny from all\n</ProxyMatch>\n\
         <Proxy \"http://{a}/app/p3\">\nRequire all denied\n</Proxy>\n\
         <Proxy \"http://{a}/app/open\">\nRequire all denied\n</Proxy>\n\
         <LocationMatch \"^/app/open\">\nRequire all granted\n</LocationMatch>\n",
        &[&a],
    );
    let port = sg.port();
    for (path, want) in [
        ("/app/priv/x", 403),
        ("/app/p2", 403),
        ("/app/p3/y", 403),
        ("/app/open/z", 200),
        ("/app/x", 200),
    ] {
        assert_eq!(status_from("127.0.0.1", port, path, ""), want, "{path}");
    }
    // Nothing refused reached the member.
    assert_eq!(a.requests(), 2);
}
