//! Rule sets as tables: the directives, a request, the outcome.

use super::*;
use crate::config::parse_str;
use crate::http::RequestHead;
use crate::rules::env::Env;

fn rules(text: &str) -> Rewrite {
    let cfg = parse_str(
        &format!("Listen 127.0.0.1:0\n{text}"),
        Path::new("/tmp/t.conf"),
        &[],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    cfg.rewrite.expect("RewriteEngine On with rules")
}

use std::path::Path;

fn head(target: &str, headers: &[(&str, &str)]) -> RequestHead {
    let mut raw = format!("GET {target} HTTP/1.1\r\n");
    for (n, v) in headers {
        raw.push_str(&format!("{n}: {v}\r\n"));
    }
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        raw.push_str("Host: proxy.test\r\n");
    }
    raw.push_str("\r\n");
    crate::http::parse_request(raw.as_bytes()).unwrap().unwrap()
}

fn run(rw: &Rewrite, target: &str, headers: &[(&str, &str)]) -> Outcome {
    run_env(rw, target, headers, &mut Env::default())
}

fn run_env(rw: &Rewrite, target: &str, headers: &[(&str, &str)], env: &mut Env) -> Outcome {
    let h = head(target, headers);
    let (raw, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    // The rules see the decoded path.
    let path = map::unescape(raw);
    rw.apply(
        &Request {
            path: &path,
            query,
            head: &h,
            https: false,
            remote: "127.0.0.1:40000".parse().unwrap(),
            local: "127.0.0.1:80".parse().unwrap(),
            server_name: "proxy.test",
            presentation: &crate::config::Presentation::default(),
        },
        env,
    )
}

fn proxy(url: &str) -> Outcome {
    Outcome::Proxy { url: url.into() }
}

#[test]
fn websocket_recipe() {
    let rw = rules(
        "RewriteEngine On\nRewriteCond %{HTTP:Upgrade} websocket [NC]\n\
         RewriteCond %{HTTP:Connection} upgrade [NC]\nRewriteRule ^/?(.*) \"ws://backend/$1\" [P,L]\n",
    );
    let up = [("Upgrade", "WebSocket"), ("Connection", "Upgrade")];
    assert_eq!(run(&rw, "/chat/x", &up), proxy("ws://backend/chat/x"));
    assert_eq!(
        run(&rw, "/chat/x", &[("Upgrade", "h2c")]),
        Outcome::Unchanged
    );
    assert_eq!(run(&rw, "/chat/x", &[]), Outcome::Unchanged);
}

#[test]
fn canonical_host_redirect() {
    let rw = rules(
        "RewriteEngine On\nRewriteCond %{HTTP_HOST} !^www\\.example\\.com [NC]\n\
         RewriteRule ^/(.*) http://www.example.com/$1 [R=301,L]\n",
    );
    assert_eq!(
        run(&rw, "/a%20b?x=1", &[("Host", "example.com")]),
        Outcome::Redirect {
            status: 301,
            // httpd-oracle: `Location: http://www.example.com/a%20b?x=1`.
            location: "http://www.example.com/a%20b?x=1".into()
        }
    );
    assert_eq!(
        run(&rw, "/a", &[("Host", "WWW.example.com")]),
        Outcome::Unchanged
    );
}

#[test]
fn or_chains_and_cond_backreferences() {
    let rw = rules(
        "RewriteEngine On\nRewriteCond %{HTTP_HOST} ^(a)\\. [OR]\nRewriteCond %{HTTP_HOST} ^(b)\\.\n\
         RewriteCond %{REQUEST_METHOD} =GET\nRewriteRule ^/(.*) http://%1.in/$1 [P]\n",
    );
    assert_eq!(run(&rw, "/x", &[("Host", "a.t")]), proxy("http://a.in/x"));
    assert_eq!(run(&rw, "/x", &[("Host", "b.t")]), proxy("http://b.in/x"));
    assert_eq!(run(&rw, "/x", &[("Host", "c.t")]), Outcome::Unchanged);
}

#[test]
fn lexicographic_tests() {
    let rw = rules(
        "RewriteEngine On\nRewriteCond %{QUERY_STRING} <m\nRewriteRule ^/ - [F]\n\
         RewriteCond %{QUERY_STRING} !>=x\nRewriteRule ^/ - [G]\n",
    );
    assert_eq!(run(&rw, "/?a", &[]), Outcome::Status(403));
    assert_eq!(run(&rw, "/?q", &[]), Outcome::Status(410));
    assert_eq!(run(&rw, "/?y", &[]), Outcome::Unchanged);
}

#[test]
fn query_strings_and_passthrough() {
    let rw = rules(
        "RewriteEngine On\nRewriteRule ^/p/(.*) http://o/x/$1?y=1 [P]\n\
         RewriteRule ^/q/(.*) http://o/x/$1?y=1 [P,QSA]\nRewriteRule ^/d/(.*) http://o/$1 [P,QSD]\n\
         RewriteRule ^/a/(.*) /b/$1 [PT]\nRewriteRule ^/c/(.*) /b/$1 [L]\n",
    );
    assert_eq!(run(&rw, "/p/z?k=2", &[]), proxy("http://o/x/z?y=1"));
    assert_eq!(run(&rw, "/q/z?k=2", &[]), proxy("http://o/x/z?y=1&k=2"));
    assert_eq!(run(&rw, "/d/z?k=2", &[]), proxy("http://o/z"));
    assert_eq!(
        run(&rw, "/a/z?k", &[]),
        Outcome::Path {
            path: "/b/z".into(),
            query: Some("k".into())
        }
    );
    assert_eq!(
        run(&rw, "/c/z", &[]),
        Outcome::File {
            path: "/b/z".into()
        }
    );
}

#[test]
fn internal_maps_in_substitutions() {
    let rw = rules(
        "RewriteEngine On\nRewriteMap up int:toupper\n\
         RewriteRule ^/u/(.*) http://o/${up:$1|none} [P]\n",
    );
    assert_eq!(run(&rw, "/u/ab", &[]), proxy("http://o/AB"));
}

#[test]
fn refused_at_t() {
    let cases = [
        ("RewriteRule ^/ - [N]", "flag 'N'"),
        ("RewriteRule ^/ /x [E=:b]", "has no name"),
        ("RewriteRule ^/ /x [E=!A:b]", "names one variable"),
        (
            "RewriteCond /x -f\nRewriteRule ^/ - [F]",
            "file tests are not supported",
        ),
        ("RewriteBase /", "per-directory"),
        ("RewriteMap m prg:/bin/cat", "not supported"),
        ("RewriteRule ^/ /x [P]", "absolute URL"),
        (
            "<Location /x>\nRewriteRule ^ - [F]\n</Location>",
            "inside <Location>",
        ),
        (
            "RewriteRule ^/(.*) ${nomap:$1} [P]",
            "no RewriteMap named 'nomap'",
        ),
    ];
    for (text, why) in cases {
        let conf = format!("Listen 127.0.0.1:0\nRewriteEngine On\n{text}\n");
        let e = parse_str(&conf, Path::new("/tmp/t.conf"), &[]).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(why) && msg.contains("/tmp/t.conf"),
            "{text}: {msg}"
        );
    }
}

#[test]
fn vhosts_inherit_only_when_told() {
    let conf = "Listen 127.0.0.1:0\nRewriteEngine On\nRewriteRule ^/m - [F]\n\
                <VirtualHost *:80>\nRewriteEngine On\nRewriteRule ^/v - [G]\n</VirtualHost>\n\
                <VirtualHost *:81>\nRewriteEngine On\nRewriteOptions Inherit\nRewriteRule ^/v - [G]\n</VirtualHost>\n\
                <VirtualHost *:82>\n</VirtualHost>\n";
    let cfg = parse_str(conf, Path::new("/tmp/t.conf"), &[]).unwrap();
    let own = cfg.vhosts[0].rewrite.as_ref().unwrap();
    assert_eq!(run(own, "/m", &[]), Outcome::Unchanged);
    let inh = cfg.vhosts[1].rewrite.as_ref().unwrap();
    assert_eq!(run(inh, "/m", &[]), Outcome::Status(403));
    assert_eq!(run(inh, "/v", &[]), Outcome::Status(410));
    assert!(cfg.vhosts[2].rewrite.is_none());
}

#[test]
fn urls_are_escaped_as_httpd_escapes_them() {
    // httpd-oracle, for `RewriteRule ^/p/(.*) http://ORIGIN/a\%20/$1 [P]` (`%2`
    // alone would be a RewriteCond back-reference: `\%` is a literal `%`) and
    // the same with [R], [P,NE]: `/p/x%20y` → the origin saw `/a%2520/x%20y`;
    // [R] → `Location: http://ORIGIN/a%2520/x%20y`; [P,NE]: `/p/x%2541y` → the
    // origin saw `/a%20/x%41y`, `/p/x%20y` → 403.
    let rw = rules(
        "RewriteEngine On\nRewriteRule ^/p/(.*) http://[::1]:8080/a\\%20/$1 [P]\n\
         RewriteRule ^/r/(.*) http://[::1]:8080/a\\%20/$1 [R]\n\
         RewriteRule ^/ne/(.*) http://[::1]:8080/a\\%20/$1 [P,NE]\n",
    );
    assert_eq!(
        run(&rw, "/p/x%20y", &[]),
        proxy("http://[::1]:8080/a%2520/x%20y")
    );
    assert_eq!(
        run(&rw, "/r/x%20y", &[]),
        Outcome::Redirect {
            status: 302,
            location: "http://[::1]:8080/a%2520/x%20y".into()
        }
    );
    assert_eq!(
        run(&rw, "/ne/x%2541y", &[]),
        proxy("http://[::1]:8080/a%20/x%41y")
    );
    assert_eq!(run(&rw, "/ne/x%20y", &[]), Outcome::Status(403));
}

#[test]
fn engine_off_means_no_rules() {
    let cfg = parse_str(
        "Listen 127.0.0.1:0\nRewriteEngine Off\nRewriteRule ^/ - [F]\nRewriteCond a b\n",
        Path::new("/tmp/t.conf"),
        &[],
    )
    .unwrap();
    assert!(cfg.rewrite.is_none());
    assert!(
        cfg.warnings
            .iter()
            .any(|w| w.contains("t.conf:4: RewriteCond without a RewriteRule")),
        "{:?}",
        cfg.warnings
    );
}

fn redirect(status: u16, location: &str) -> Outcome {
    Outcome::Redirect {
        status,
        location: location.into(),
    }
}

#[test]
fn env_flags_set_and_unset_and_env_conditions_read_them() {
    // httpd-oracle (tests/rewrite.rs has the configuration): `X-Mode: fast`
    // → the origin saw `/fast/abc?m=fast&p=abc`; `slow` → `/slow/abc?m=slow`;
    // `[E=!NOPE]` then `%{ENV:NOPE}` → empty.
    let rw = rules(
        "RewriteEngine On\nRewriteCond %{HTTP:X-Mode} ^(\\w+)\n\
         RewriteRule ^/e/(.*) - [E=MODE:%1,E=PATHV:$1]\n\
         RewriteCond %{ENV:MODE} =fast\n\
         RewriteRule ^/e/(.*) http://o/fast/$1?m=%{ENV:MODE}&p=%{ENV:PATHV} [P]\n\
         RewriteRule ^/e/(.*) http://o/slow/$1?m=%{ENV:mode} [P]\n\
         RewriteRule ^/u/ - [E=NOPE:1,E=EMPTY]\n\
         RewriteRule ^/u/ - [E=!nope]\n\
         RewriteRule ^/u/(.*) http://o/u/$1?n=%{ENV:NOPE} [P]\n",
    );
    let mut env = Env::default();
    let fast = run_env(&rw, "/e/abc", &[("X-Mode", "fast")], &mut env);
    assert_eq!(fast, proxy("http://o/fast/abc?m=fast&p=abc"));
    assert_eq!(
        (env.get("mode"), env.get("PATHV")),
        (Some("fast"), Some("abc"))
    );
    let mut env = Env::default();
    let slow = run_env(&rw, "/e/abc", &[("X-Mode", "slow")], &mut env);
    assert_eq!(slow, proxy("http://o/slow/abc?m=slow"));
    let mut env = Env::default();
    env.set("MODE", "fast");
    // A variable set before the rules (SetEnvIf) is seen by %{ENV:…}.
    assert_eq!(
        run_env(&rw, "/e/x", &[], &mut env),
        proxy("http://o/fast/x?m=fast&p=")
    );
    let mut env = Env::default();
    assert_eq!(
        run_env(&rw, "/u/z", &[], &mut env),
        proxy("http://o/u/z?n=")
    );
    assert_eq!((env.get("NOPE"), env.get("EMPTY")), (None, Some("")));
}

#[test]
fn a_redirect_without_l_goes_on_through_the_rules() {
    // httpd-oracle (Host 127.0.0.1:18080 there, proxy.test here):
    // [R] then `/rb/(.*) http://other.example/rc/$1 [R=301]` (unanchored: it
    // matches the absolute URL) → 301; [R=301] then a `-` rule that matches
    // → 301; [R=301] then a rule rewriting the absolute URL without [R] → 302;
    // [R=301] then [R=303] → 303; [R] then [F] → 403; [R] then
    // [P] → proxied; [R,L] → the redirect; [R=301] then a rule back to a path
    // → 404 (a file path); [R=301] then a rule that does not match → 301.
    let rw = rules(
        "RewriteEngine On\n\
         RewriteRule ^/ra/(.*) /rb/$1 [R]\nRewriteRule /rb/(.*) http://other.example/rc/$1 [R=301]\n\
         RewriteRule ^/a/(.*) /b/$1 [R=301]\nRewriteRule ^http://[^/]+/b/ - [E=X:1]\n\
         RewriteRule ^/g/(.*) /h/$1 [R=301]\nRewriteRule ^(http://.*/h/.*)$ $1?added=1\n\
         RewriteRule ^/c/(.*) /d/$1 [R=301]\nRewriteRule /d/(.*) /e/$1 [R=303]\n\
         RewriteRule ^/fa/(.*) /fb/$1 [R]\nRewriteRule /fb/ - [F]\n\
         RewriteRule ^/pa/(.*) /pb/$1 [R]\nRewriteRule /pb/(.*) http://o/pc/$1 [P]\n\
         RewriteRule ^/la/(.*) /lb/$1 [R,L]\nRewriteRule /lb/ - [F]\n\
         RewriteRule ^/j/(.*) /k/$1 [R=301]\nRewriteRule ^http://[^/]+/k/(.*) /l/$1\n\
         RewriteRule ^/q/(.*) /r/$1 [R=301]\nRewriteRule ^/r/ - [F]\n",
    );
    let cases = [
        ("/ra/x", redirect(301, "http://other.example/rc/x")),
        ("/a/x", redirect(301, "http://proxy.test/b/x")),
        ("/g/x", redirect(302, "http://proxy.test/h/x?added=1")),
        ("/c/x", redirect(303, "http://proxy.test/e/x")),
        ("/fa/x", Outcome::Status(403)),
        ("/pa/x", proxy("http://o/pc/x")),
        ("/la/x", redirect(302, "http://proxy.test/lb/x")),
        (
            "/j/x",
            Outcome::File {
                path: "/l/x".into(),
            },
        ),
        ("/q/x", redirect(301, "http://proxy.test/r/x")),
    ];
    for (path, want) in cases {
        assert_eq!(run(&rw, path, &[]), want, "{path}");
    }
}

#[test]
fn passthrough_implies_last() {
    // httpd's documentation of [PT]: "The PT flag implies the L flag";
    // httpd-oracle: `/pt/x` → proxied by `ProxyPass /b/`, not refused.
    let rw = rules("RewriteEngine On\nRewriteRule ^/pt/(.*) /b/$1 [PT]\nRewriteRule ^/b/ - [F]\n");
    assert_eq!(
        run(&rw, "/pt/x", &[]),
        Outcome::Path {
            path: "/b/x".into(),
            query: None
        }
    );
}

#[test]
fn integer_tests_chains_skips_and_qslast() {
    // httpd-oracle: `X-N: 10` → /big, `3` → /small, `abc` and none → /small
    // (atoi: 0), `007` → /big; /c/a/x → /chained/c/x (the whole chain),
    // /c/b/x → /after/b/x (the chain's first rule fails: the rest is
    // skipped); [S=2] skips two rules; [NS] changes nothing; [QSL] with a
    // literal `?x=y` after `$1` = `a?b` → path /qsl/a%3Fb, query x=y.
    let rw = rules(
        "RewriteEngine On\n\
         RewriteCond %{HTTP:X-N} -gt5\nRewriteRule ^/int/(.*) http://o/big/$1 [P]\n\
         RewriteCond %{HTTP:X-N} -le5\nRewriteRule ^/int/(.*) http://o/small/$1 [P]\n\
         RewriteRule ^/c/a/(.*) /c/b/$1 [C]\nRewriteRule ^/c/b/(.*) /c/c/$1 [C]\n\
         RewriteRule ^/c/(.*) http://o/chained/$1 [P]\nRewriteRule ^/c/(.*) http://o/after/$1 [P]\n\
         RewriteRule ^/s/ - [S=2]\nRewriteRule ^/s/(.*) http://o/skipped1/$1 [P]\n\
         RewriteRule ^/s/(.*) http://o/skipped2/$1 [P]\nRewriteRule ^/s/(.*) http://o/s3/$1 [P,NS]\n\
         RewriteRule ^/qsl/(.*) http://o/qsl/$1?x=y [P,QSL]\n",
    );
    let n = |v: &str| run(&rw, "/int/x", &[("X-N", v)]);
    assert_eq!(n("10"), proxy("http://o/big/x"));
    assert_eq!(n("3"), proxy("http://o/small/x"));
    assert_eq!(n("abc"), proxy("http://o/small/x"));
    assert_eq!(n("007"), proxy("http://o/big/x"));
    assert_eq!(run(&rw, "/int/x", &[]), proxy("http://o/small/x"));
    assert_eq!(run(&rw, "/c/a/x", &[]), proxy("http://o/chained/c/x"));
    assert_eq!(run(&rw, "/c/b/x", &[]), proxy("http://o/after/b/x"));
    assert_eq!(run(&rw, "/c/z/x", &[]), proxy("http://o/after/z/x"));
    assert_eq!(run(&rw, "/s/x", &[]), proxy("http://o/s3/x"));
    assert_eq!(
        run(&rw, "/qsl/a%3Fb?c=d", &[]),
        proxy("http://o/qsl/a%3Fb?x=y")
    );
}

#[test]
fn a_question_mark_from_a_back_reference_is_refused_as_httpd_refuses_it() {
    // httpd 2.4.71 (httpd-oracle; CVE-2024-38474's fix): with `$1` = `a?b` (the
    // request had `%3F`), `[P]` to `…/$1?y=1`, to `…/$1`, `[P,QSA]`, `[P,QSL]`
    // without a literal `?`, `[R]`, `[PT]`, a path rewrite and a map look-up
    // of `$1` → 403; a `?` in the query only (`/p/ab?z=%3f`) → proxied; a
    // substitution without back-reference → proxied; `[UnsafeAllow3F]` →
    // the origin saw `/u/a?b`.
    let rw = rules(
        "RewriteEngine On\nRewriteMap up int:toupper\n\
         RewriteRule ^/p/(.*) http://o/p/$1?y=1 [P]\nRewriteRule ^/q/(.*) http://o/q/$1 [P]\n\
         RewriteRule ^/w3/(.*) http://o/w3/$1?k=v [P,QSA]\nRewriteRule ^/w4/(.*) http://o/w4/$1 [P,QSL]\n\
         RewriteRule ^/r/(.*) http://other.example/r/$1 [R]\nRewriteRule ^/t/(.*) /b/$1 [PT]\n\
         RewriteRule ^/w5/(.*) /w5x/$1\nRewriteRule ^/w6/(.*) http://o/w6/${up:$1} [P]\n\
         RewriteRule ^/w/ http://o/fixed?k=v [P]\nRewriteRule ^/u/(.*) http://o/u/$1 [P,UnsafeAllow3F]\n",
    );
    for path in [
        "/p/a%3Fb",
        "/q/a%3Fb",
        "/w3/a%3Fb?c=d",
        "/w4/a%3Fb",
        "/r/a%3Fb",
        "/t/a%3Fb",
        "/w5/a%3Fb",
        "/w6/a%3Fb",
    ] {
        assert_eq!(run(&rw, path, &[]), Outcome::Status(403), "{path}");
    }
    assert_eq!(run(&rw, "/p/ab?z=%3f", &[]), proxy("http://o/p/ab?y=1"));
    assert_eq!(run(&rw, "/w/a%3Fb", &[]), proxy("http://o/fixed?k=v"));
    assert_eq!(run(&rw, "/u/a%3Fb", &[]), proxy("http://o/u/a?b"));
}

#[test]
fn server_variables_as_httpd_gives_them() {
    // httpd-oracle, `Host: foo.example:99` → SERVER_NAME foo.example,
    // SERVER_PORT 99; `Host: foo.example` → 80; REMOTE_PORT the client's,
    // SERVER_PROTOCOL HTTP/1.1, IS_SUBREQ false, HTTP2 and REMOTE_USER empty,
    // IPV6 off, SERVER_ADMIN the ServerAdmin.
    let cfg = parse_str(
        "Listen 127.0.0.1:0\nServerAdmin ops@example.com\nRewriteEngine On\n\
         RewriteRule ^/v/(.*) http://o/v?sn=%{SERVER_NAME}&port=%{SERVER_PORT}&rp=%{REMOTE_PORT}&sp=%{SERVER_PROTOCOL}&sub=%{IS_SUBREQ}&h2=%{HTTP2}&ru=%{REMOTE_USER}&ipv6=%{IPV6}&ad=%{SERVER_ADMIN}&sa=%{SERVER_ADDR}&ty=%{TIME_YEAR} [P,NE]\n",
        Path::new("/tmp/t.conf"),
        &[],
    )
    .unwrap();
    let rw = cfg.rewrite.clone().unwrap();
    let h = head("/v/x", &[("Host", "foo.example:99")]);
    let year = crate::text::date::Civil::local(crate::text::date::unix_now().0).year;
    let out = rw.apply(
        &Request {
            path: "/v/x",
            query: None,
            head: &h,
            https: false,
            remote: "127.0.0.1:42520".parse().unwrap(),
            local: "127.0.0.1:18080".parse().unwrap(),
            server_name: "proxy.test",
            presentation: &cfg.presentation,
        },
        &mut Env::default(),
    );
    assert_eq!(
        out,
        proxy(&format!(
            "http://o/v?sn=foo.example&port=99&rp=42520&sp=HTTP/1.1&sub=false&h2=&ru=&ipv6=off\
             &ad=ops@example.com&sa=127.0.0.1&ty={year}"
        ))
    );
    let h = head("/v/x", &[("Host", "foo.example")]);
    let out = rw.apply(
        &Request {
            path: "/v/x",
            query: None,
            head: &h,
            https: false,
            remote: "127.0.0.1:42520".parse().unwrap(),
            local: "127.0.0.1:18080".parse().unwrap(),
            server_name: "proxy.test",
            presentation: &cfg.presentation,
        },
        &mut Env::default(),
    );
    let Outcome::Proxy { url } = out else {
        panic!("{out:?}")
    };
    assert!(url.contains("sn=foo.example&port=80&"), "{url}");
}

#[test]
fn r_with_an_error_status_answers_with_it() {
    // httpd-oracle: `^/m503 - [R=503,L]` → 503, `^/m404 /x [R=404]` → 404 (the
    // substitution dropped, the rules stopped: a later [F] does not apply);
    // `[R=418]`, `[R=299]`, `[R=600]` are refused at start-up.
    let rw = rules(
        "RewriteEngine On\nRewriteRule ^/m503 - [R=503,L]\nRewriteRule ^/m404 /x [R=404]\n\
         RewriteRule ^/m404 - [F]\n",
    );
    assert_eq!(run(&rw, "/m503", &[]), Outcome::Status(503));
    assert_eq!(run(&rw, "/m404", &[]), Outcome::Status(404));
    for code in ["418", "299", "600", "200"] {
        let conf = format!("Listen 127.0.0.1:0\nRewriteEngine On\nRewriteRule ^/ - [R={code}]\n");
        let e = parse_str(&conf, Path::new("/tmp/t.conf"), &[]).unwrap_err();
        assert!(
            e.to_string().contains("a redirect status is 300..399"),
            "{e}"
        );
    }
}
