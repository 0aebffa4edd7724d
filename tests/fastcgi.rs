//! FastCGI members through the real binary (issue #16 §3): the variables
//! httpd sends (a recording test origin), and a real php-fpm (Debian
//! php8.2-fpm, its own pools on a unix socket and TCP) behind the two
//! configurations people paste — `ProxyPassMatch … fcgi://…/$1` and
//! `<FilesMatch> SetHandler "proxy:unix:…|fcgi://localhost"` with
//! `DocumentRoot` — GET and POST, a 10 MB upload, `Status:` and headers, a
//! PHP fatal error, STDERR in the error log, a balancer of two pools, and a
//! member that breaks the protocol.

mod common;

use common::fcgi_origin::{answer, record, FcgiOrigin};
use common::php_fpm::PhpFpm;
use common::*;
use scoreboard::flags;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(10);

/// `KEY=VALUE` lines of a script's answer.
fn line(r: &Response, key: &str) -> Option<String> {
    let prefix = format!("{key}=");
    r.text()
        .lines()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
}

#[test]
fn the_variables_are_httpds() {
    // httpd-oracle (`SetEnv FOO bar`, `ProxyPass /fcgi/ fcgi://127.0.0.1:19000/srv/app/`,
    // curl POST /fcgi/a/b%20c?x=1&y=%20 with X-My-Head: 1): the recording
    // origin got FOO=bar, HTTP_X_MY_HEAD=1, CONTENT_TYPE, CONTENT_LENGTH=5,
    // SERVER_NAME=127.0.0.1 SERVER_PORT=<Host's>,
    // SCRIPT_FILENAME=proxy:fcgi://127.0.0.1:19000/srv/app/a/b%20c,
    // SCRIPT_NAME=/fcgi/a/b c, QUERY_STRING=x=1&y=%20,
    // REQUEST_URI=/fcgi/a/b%20c?x=1&y=%20, GATEWAY_INTERFACE=CGI/1.1,
    // BEGIN_REQUEST flags 0 (no enablereuse).
    let origin = FcgiOrigin::start(|_| answer(b"Content-Type: text/plain\r\n\r\nok"));
    let sg = start_proxy(
        &format!(
            "SetEnv FOO bar\nDocumentRoot /srv/htdocs\n\
             ProxyPass /fcgi/ fcgi://{}/srv/app/\n",
            origin.addr()
        ),
        &[],
    );
    let r = http_request(
        sg.port(),
        "POST",
        "/fcgi/a/b%20c?x=1&y=%20",
        &[("X-My-Head", "1"), ("Content-Type", "text/x")],
        Some(b"hello"),
    );
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "ok"),
        "{}",
        r.summary()
    );
    let got = &origin.requests()[0];
    let host = format!("127.0.0.1:{}", sg.port());
    let want = [
        ("FOO", "bar"),
        ("HTTP_X_MY_HEAD", "1"),
        ("HTTP_HOST", host.as_str()),
        ("CONTENT_TYPE", "text/x"),
        ("CONTENT_LENGTH", "5"),
        ("SERVER_NAME", "127.0.0.1"),
        ("SERVER_PORT", &sg.port().to_string()),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("DOCUMENT_ROOT", "/srv/htdocs"),
        ("REQUEST_METHOD", "POST"),
        ("QUERY_STRING", "x=1&y=%20"),
        ("REQUEST_URI", "/fcgi/a/b%20c?x=1&y=%20"),
        ("SCRIPT_NAME", "/fcgi/a/b c"),
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
    ];
    for (k, v) in want {
        assert_eq!(got.param(k), Some(v), "{k} in {:?}", got.params);
    }
    assert_eq!(
        got.param("SCRIPT_FILENAME"),
        Some(format!("proxy:fcgi://{}/srv/app/a/b%20c", origin.addr()).as_str())
    );
    assert_eq!(got.stdin, b"hello");
    assert_eq!(got.flags, 0, "KEEP_CONN only with enablereuse=on");
}

#[test]
fn generic_backends_set_env_if_and_a_chunked_body() {
    // httpd-oracle: GENERIC → SCRIPT_FILENAME=/srv/gen/a (no query); a chunked
    // body of 10 bytes → CONTENT_LENGTH=10; `ProxyFCGISetEnvIf "true" !HTTP_ACCEPT`
    // removes it, and a value expression reads reqenv().
    let origin = FcgiOrigin::start(|_| answer(b"X: 1\r\n\r\n"));
    let sg = start_proxy(
        &format!(
            "ProxyFCGIBackendType GENERIC\n\
             ProxyFCGISetEnvIf \"true\" !HTTP_ACCEPT\n\
             ProxyFCGISetEnvIf \"reqenv('QUERY_STRING') =~ /magic/\" MAGIC \"%{{reqenv:REQUEST_METHOD}}!\"\n\
             ProxyPass /g/ fcgi://{}/srv/gen/ enablereuse=on\n",
            origin.addr()
        ),
        &[],
    );
    let r = send_raw(
        sg.port(),
        b"POST /g/a?magic HTTP/1.1\r\nHost: h\r\nAccept: */*\r\nTransfer-Encoding: chunked\r\n\
          Connection: close\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n",
    );
    assert!(
        r.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&r)
    );
    let got = &origin.requests()[0];
    assert_eq!(got.param("SCRIPT_FILENAME"), Some("/srv/gen/a"));
    assert_eq!(got.param("CONTENT_LENGTH"), Some("10"));
    assert_eq!(got.param("HTTP_ACCEPT"), None);
    assert_eq!(got.param("MAGIC"), Some("POST!"));
    assert_eq!(got.stdin, b"helloworld");
    assert_eq!(got.flags, 1, "enablereuse=on asks KEEP_CONN");
}

#[test]
fn a_member_breaking_the_protocol_gets_502_and_counts_an_error() {
    // A malformed script head, an OVERLOADED end, a close inside the head:
    // 502, the member's error count goes up, and it is not put in error state
    // (as a malformed HTTP response: tests/member_malformed.rs). (A close after
    // the head reached the client cuts the body short: tests/member_malformed.rs
    // shows how that is signalled.)
    let origin = FcgiOrigin::start(|req| match req.param("QUERY_STRING") {
        Some("head") => record(6, b"no colon\r\n\r\n"),
        Some("overloaded") => [
            record(6, b"X: 1\r\n\r\n"),
            record(3, &[0, 0, 0, 0, 2, 0, 0, 0]),
        ]
        .concat(),
        _ => record(6, b"X: 1\r\n"),
    });
    let sg = start_proxy(
        &format!(
            "<Proxy balancer://php>\nBalancerMember fcgi://{}\n</Proxy>\nProxyPass / balancer://php/\n",
            origin.addr()
        ),
        &[],
    );
    for (n, q) in ["head", "overloaded", "close"].iter().enumerate() {
        let r = http_get(sg.port(), &format!("/x.php?{q}"), &[]);
        assert_eq!(r.status, 502, "{q}: {}", r.summary());
        let m = wait_member(&sg, &origin.addr(), "errors counted", WAIT, |m| {
            m.errors > n as u64
        });
        assert!(!m.has(flags::ERROR), "{}", m.display());
    }
    let log = sg.error_log();
    assert!(log.contains("malformed header from script"), "{log}");
    assert!(log.contains("OVERLOADED"), "{log}");
}

#[test]
fn php_fpm_through_proxypassmatch_get_post_and_a_ten_megabyte_upload() {
    let Some(fpm) = PhpFpm::start(1) else { return };
    let docroot = fpm.docroot().display().to_string();
    let sg = start_proxy(
        &format!(
            "ProxyPassMatch \"^/(.*\\.php(/.*)?)$\" \"fcgi://{}{docroot}/$1\"\n",
            fpm.tcp(0)
        ),
        &[],
    );
    // What php saw through httpd for the same request (httpd-oracle):
    // SCRIPT_FILENAME=DOCROOT/index.php PATH_INFO=/x/y SCRIPT_NAME=/index.php
    let r = http_get(sg.port(), "/index.php/x/y?a=b", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(line(&r, "POOL").as_deref(), Some("tcp_a"));
    assert_eq!(
        line(&r, "SCRIPT_FILENAME"),
        Some(format!("{docroot}/index.php"))
    );
    assert_eq!(line(&r, "PATH_INFO").as_deref(), Some("/x/y"));
    assert_eq!(line(&r, "SCRIPT_NAME").as_deref(), Some("/index.php"));
    assert_eq!(line(&r, "QUERY_STRING").as_deref(), Some("a=b"));
    let r = http_request(sg.port(), "POST", "/index.php", &[], Some(b"a=1&b=2"));
    assert_eq!(line(&r, "BODY_LEN").as_deref(), Some("7"));
    let body = pattern(10 * 1024 * 1024);
    let r = http_request(
        sg.port(),
        "PUT",
        "/index.php",
        &[("Content-Type", "application/octet-stream")],
        Some(&body),
    );
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(line(&r, "BODY_LEN"), Some(body.len().to_string()));
    assert_eq!(line(&r, "BODY_SHA256"), Some(sha256_hex(&body)));
}

#[test]
fn php_fpm_status_headers_fatal_errors_and_stderr() {
    let Some(fpm) = PhpFpm::start(1) else { return };
    let docroot = fpm.docroot().display().to_string();
    let sg = start_proxy(
        &format!(
            "ProxyPassMatch \"^/(.*\\.php)$\" \"fcgi://{}{docroot}/$1\" enablereuse=on\n",
            fpm.tcp(0)
        ),
        &[],
    );
    let r = http_get(sg.port(), "/status.php", &[]);
    assert_eq!(
        (r.status, r.reason.as_str()),
        (418, "I am a teapot"),
        "{}",
        r.summary()
    );
    assert_eq!(r.header("x-script"), Some("status"));
    assert_eq!(r.header_all("set-cookie"), ["a=1", "b=2"]);
    assert_eq!(r.text(), "short and stout\n");
    let r = http_get(sg.port(), "/fatal.php", &[]);
    assert_eq!(r.status, 500, "{}", r.summary());
    let r = http_get(sg.port(), "/stderr.php", &[]);
    assert_eq!(r.text(), "ok\n");
    let member = format!("fcgi://{}", fpm.tcp(0));
    wait_for(
        "php's stderr line in the error log",
        WAIT,
        || {
            let log = sg.error_log();
            log.lines()
                .any(|l| l.contains("a line for the error log") && l.contains(&member))
                .then_some(())
        },
        || sg.error_log(),
    );
    // The fatal error went to stderr too (log_errors on, display_errors off).
    assert!(
        sg.error_log().contains("no_such_function"),
        "{}",
        sg.error_log()
    );
}

#[test]
fn files_match_set_handler_over_the_unix_socket() {
    let Some(fpm) = PhpFpm::start(0) else { return };
    let docroot = fpm.docroot().display().to_string();
    let sg = start_proxy(
        &format!(
            "DocumentRoot {docroot}\n<FilesMatch \"\\.php$\">\n\
             SetHandler \"proxy:unix:{}|fcgi://localhost\"\n</FilesMatch>\n",
            fpm.socket().display()
        ),
        &[],
    );
    // httpd-oracle, the same lines: POOL=unix SCRIPT_FILENAME=DOCROOT/index.php
    // PATH_INFO=/x/y SCRIPT_NAME=/index.php PATH_TRANSLATED=DOCROOT/x/y
    let r = http_get(sg.port(), "/index.php/x/y?a=b", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(line(&r, "POOL").as_deref(), Some("unix"));
    assert_eq!(
        line(&r, "SCRIPT_FILENAME"),
        Some(format!("{docroot}/index.php"))
    );
    assert_eq!(line(&r, "PATH_INFO").as_deref(), Some("/x/y"));
    assert_eq!(line(&r, "PATH_TRANSLATED"), Some(format!("{docroot}/x/y")));
    assert_eq!(line(&r, "SCRIPT_NAME").as_deref(), Some("/index.php"));
    assert_eq!(line(&r, "DOCUMENT_ROOT"), Some(docroot.clone()));
    // No such script: php-fpm's own answer, passed on (httpd: the same).
    let r = http_get(sg.port(), "/missing.php", &[]);
    assert_eq!(r.status, 404, "{}", r.summary());
    assert_eq!(r.text().trim(), "File not found.");
    // Under a directory that does not exist: nobody takes it (httpd: 404).
    let r = http_get(sg.port(), "/nodir/x.php", &[]);
    assert_eq!(r.status, 404, "{}", r.summary());
    assert!(!r.text().contains("File not found."));
}

#[test]
fn a_balancer_of_two_php_fpm_pools() {
    let Some(fpm) = PhpFpm::start(2) else { return };
    let docroot = fpm.docroot().display().to_string();
    let sg = start_proxy(
        &format!(
            "<Proxy balancer://php>\nBalancerMember fcgi://{}{docroot}\n\
             BalancerMember fcgi://{}{docroot}\n</Proxy>\nProxyPass / balancer://php/\n",
            fpm.tcp(0),
            fpm.tcp(1)
        ),
        &[],
    );
    let pools: Vec<String> = (0..6)
        .map(|_| {
            let r = http_get(sg.port(), "/index.php", &[]);
            assert_eq!(r.status, 200, "{}", r.summary());
            line(&r, "POOL").unwrap_or_default()
        })
        .collect();
    // byrequests with equal weights: every other request.
    assert_eq!(
        pools.iter().filter(|p| *p == "tcp_a").count(),
        3,
        "{pools:?}"
    );
    assert_eq!(
        pools.iter().filter(|p| *p == "tcp_b").count(),
        3,
        "{pools:?}"
    );
}

#[test]
fn a_fastcgi_member_added_at_run_time_serves() {
    // The balancer-manager's add_member (here through the library it calls):
    // the new fcgi:// member gets the FastCGI codec once enabled.
    use scoreboard::Scoreboard;
    use slotgate::handlers::edit;
    let a = FcgiOrigin::start(|_| answer(b"X-Who: a\r\n\r\na"));
    let b = FcgiOrigin::start(|_| answer(b"X-Who: b\r\n\r\nb"));
    let sg = start_proxy(
        &format!(
            "<Proxy balancer://php growth=1>\nBalancerMember fcgi://{}\n</Proxy>\n\
             ProxyPass / balancer://php/\n",
            a.addr()
        ),
        &[],
    );
    assert_eq!(http_get(sg.port(), "/x.php", &[]).text(), "a");
    let sb = Scoreboard::attach(sg.scoreboard_path()).expect("attaching the scoreboard");
    let bal = edit::find_balancer(&sb, "php").expect("balancer php");
    let m = edit::add_member(&sb, bal, &format!("fcgi://{}", b.addr())).expect("a growth slot");
    edit::enable(&sb, bal, m).expect("enabling the new member");
    let seen: Vec<String> = (0..6)
        .map(|_| http_get(sg.port(), "/x.php", &[]).text())
        .collect();
    assert!(seen.iter().any(|t| t == "b"), "{seen:?}");
    assert!(b
        .requests()
        .iter()
        .all(|r| r.param("SCRIPT_FILENAME")
            == Some(format!("proxy:fcgi://{}/x.php", b.addr()).as_str())));
}
