//! Rule sets as tables: the directives, a request, the outcome.

use super::*;
use crate::config::parse_str;
use crate::http::RequestHead;

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
    let h = head(target, headers);
    let (raw, query) = match target.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    // The rules see the decoded path.
    let path = map::unescape(raw);
    rw.apply(&Request {
        path: &path,
        query,
        head: &h,
        https: false,
        remote: "127.0.0.1".parse().unwrap(),
        server_name: "proxy.test",
        server_port: 80,
    })
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
        ("RewriteRule ^/ - [C]", "flag 'C'"),
        ("RewriteRule ^/ /x [E=A:b]", "not supported yet"),
        (
            "RewriteCond %{ENV:X} y\nRewriteRule ^/ - [F]",
            "not supported yet",
        ),
        (
            "RewriteCond /x -f\nRewriteRule ^/ - [F]",
            "file and integer tests",
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
