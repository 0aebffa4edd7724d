//! The variables and the response-head parser, against what httpd 2.4 sent a
//! recording origin (httpd-oracle, `ProxyPass /fcgi/ fcgi://127.0.0.1:19000/srv/app/`
//! and its SCGI/uwsgi twins, `SetEnv FOO bar`, curl as the client).

use super::*;
use crate::http::parse_request;
use crate::rules::env::Env;

fn head(raw: &str) -> crate::http::RequestHead {
    parse_request(raw.as_bytes()).unwrap().unwrap()
}

fn outgoing<'a>(
    head: &'a crate::http::RequestHead,
    target: &'a str,
    env: &'a Env,
    body_length: Option<u64>,
) -> Outgoing<'a> {
    Outgoing {
        head,
        target,
        body_length,
        client: "127.0.0.1:54876".parse().unwrap(),
        local: "127.0.0.1:19080".parse().unwrap(),
        https: false,
        server_name: "proxy.test",
        env,
        keep: false,
        http: crate::codec::HttpFacts {
            front_port: 80,
            preserve_host: false,
            add_headers: false,
            via: crate::config::ProxyVia::Off,
            forward_expect: false,
            upgrade: None,
        },
        cgi: None,
    }
}

fn site(member: &str) -> Site<'_> {
    Site {
        member,
        document_root: "/srv/htdocs",
        server_software: "slotgate",
        server_admin: NO_ADMIN,
        backend: Backend::Fpm,
        file: None,
        fixups: &[],
    }
}

fn text(vars: &Vars, name: &str) -> Option<String> {
    vars.get(name)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

fn names(vars: &Vars) -> Vec<&str> {
    vars.iter().map(|(k, _)| k).collect()
}

const POST: &str = "POST /fcgi/a/b%20c?x=1&y=%20 HTTP/1.1\r\nHost: 127.0.0.1:19080\r\n\
    User-Agent: curl/7.88.1\r\nAccept: */*\r\nX-My-Head: 1\r\nContent-Type: text/x\r\n\
    Content-Length: 5\r\n\r\n";

#[test]
fn fastcgi_variables_are_httpds() {
    // httpd sent, in this order: FOO=bar HTTP_HOST=127.0.0.1:19080
    // HTTP_USER_AGENT HTTP_ACCEPT HTTP_X_MY_HEAD=1 CONTENT_TYPE=text/x
    // CONTENT_LENGTH=5 PATH SERVER_SIGNATURE= SERVER_SOFTWARE SERVER_NAME=127.0.0.1
    // SERVER_ADDR=127.0.0.1 SERVER_PORT=19080 REMOTE_ADDR=127.0.0.1 DOCUMENT_ROOT
    // REQUEST_SCHEME=http CONTEXT_PREFIX= CONTEXT_DOCUMENT_ROOT
    // SERVER_ADMIN=[no address given]
    // SCRIPT_FILENAME=proxy:fcgi://127.0.0.1:19000/srv/app/a/b%20c REMOTE_PORT=54876
    // GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 REQUEST_METHOD=POST
    // QUERY_STRING=x=1&y=%20 REQUEST_URI=/fcgi/a/b%20c?x=1&y=%20 SCRIPT_NAME=/fcgi/a/b c
    let h = head(POST);
    let mut env = Env::default();
    env.set("FOO", "bar");
    let req = outgoing(&h, "/srv/app/a/b%20c?x=1&y=%20", &env, Some(5));
    let mut vars = Vars::default();
    build(
        &req,
        &site("fcgi://127.0.0.1:19000"),
        Dialect::Fcgi,
        &mut vars,
    );
    assert_eq!(
        names(&vars),
        [
            "FOO",
            "HTTP_HOST",
            "HTTP_USER_AGENT",
            "HTTP_ACCEPT",
            "HTTP_X_MY_HEAD",
            "CONTENT_TYPE",
            "CONTENT_LENGTH",
            "PATH",
            "SERVER_SIGNATURE",
            "SERVER_SOFTWARE",
            "SERVER_NAME",
            "SERVER_ADDR",
            "SERVER_PORT",
            "REMOTE_ADDR",
            "DOCUMENT_ROOT",
            "REQUEST_SCHEME",
            "CONTEXT_PREFIX",
            "CONTEXT_DOCUMENT_ROOT",
            "SERVER_ADMIN",
            "SCRIPT_FILENAME",
            "REMOTE_PORT",
            "GATEWAY_INTERFACE",
            "SERVER_PROTOCOL",
            "REQUEST_METHOD",
            "QUERY_STRING",
            "REQUEST_URI",
            "SCRIPT_NAME",
        ]
    );
    let want = [
        ("FOO", "bar"),
        ("HTTP_HOST", "127.0.0.1:19080"),
        ("HTTP_X_MY_HEAD", "1"),
        ("CONTENT_TYPE", "text/x"),
        ("CONTENT_LENGTH", "5"),
        ("SERVER_SIGNATURE", ""),
        ("SERVER_NAME", "127.0.0.1"),
        ("SERVER_ADDR", "127.0.0.1"),
        ("SERVER_PORT", "19080"),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("REMOTE_PORT", "54876"),
        ("REQUEST_SCHEME", "http"),
        ("CONTEXT_PREFIX", ""),
        ("DOCUMENT_ROOT", "/srv/htdocs"),
        ("SERVER_ADMIN", "[no address given]"),
        (
            "SCRIPT_FILENAME",
            "proxy:fcgi://127.0.0.1:19000/srv/app/a/b%20c",
        ),
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("REQUEST_METHOD", "POST"),
        ("QUERY_STRING", "x=1&y=%20"),
        ("REQUEST_URI", "/fcgi/a/b%20c?x=1&y=%20"),
        ("SCRIPT_NAME", "/fcgi/a/b c"),
    ];
    for (k, v) in want {
        assert_eq!(text(&vars, k).as_deref(), Some(v), "{k}");
    }
    assert_eq!(text(&vars, "PATH_INFO"), None);
    assert_eq!(text(&vars, "HTTPS"), None);
}

#[test]
fn generic_backend_sends_the_bare_path() {
    // httpd, `ProxyFCGIBackendType GENERIC`, GET /g/a/b%20c?z to
    // fcgi://127.0.0.1:19000/srv/gen/: SCRIPT_FILENAME=/srv/gen/a/b%20c
    let h = head("GET /g/a/b%20c?z HTTP/1.1\r\nHost: v.test\r\n\r\n");
    let env = Env::default();
    let req = outgoing(&h, "/srv/gen/a/b%20c?z", &env, Some(0));
    let mut s = site("fcgi://127.0.0.1:19000");
    s.backend = Backend::Generic;
    let mut vars = Vars::default();
    build(&req, &s, Dialect::Fcgi, &mut vars);
    assert_eq!(text(&vars, "SCRIPT_FILENAME").unwrap(), "/srv/gen/a/b%20c");
    assert_eq!(text(&vars, "SCRIPT_NAME").unwrap(), "/g/a/b c");
    // Host without a port: SERVER_PORT is the scheme's (httpd said 80 on 19080).
    assert_eq!(text(&vars, "SERVER_NAME").unwrap(), "v.test");
    assert_eq!(text(&vars, "SERVER_PORT").unwrap(), "80");
    assert_eq!(text(&vars, "CONTENT_LENGTH"), None);
}

#[test]
fn a_file_under_document_root_splits_script_and_path_info() {
    // httpd, <FilesMatch "\.php$"> SetHandler "proxy:fcgi://127.0.0.1:19000",
    // DocumentRoot /tmp/c-disc/docroot, GET /index.php/extra/x?k=v:
    // SCRIPT_FILENAME=proxy:fcgi://127.0.0.1:19000/tmp/c-disc/docroot/index.php
    // SCRIPT_NAME=/index.php PATH_INFO=/extra/x
    // PATH_TRANSLATED=/tmp/c-disc/docroot/extra/x
    let h = head("GET /index.php/extra/x?k=v HTTP/1.1\r\nHost: v.test\r\n\r\n");
    let env = Env::default();
    let req = outgoing(&h, "/index.php/extra/x?k=v", &env, Some(0));
    let mut s = site("fcgi://127.0.0.1:19000");
    s.document_root = "/tmp/c-disc/docroot";
    s.file = Some(ScriptFile {
        filename: "/tmp/c-disc/docroot/index.php",
        path_info: "/extra/x",
    });
    let mut vars = Vars::default();
    build(&req, &s, Dialect::Fcgi, &mut vars);
    let got: Vec<_> = [
        "SCRIPT_FILENAME",
        "SCRIPT_NAME",
        "PATH_INFO",
        "PATH_TRANSLATED",
        "QUERY_STRING",
    ]
    .iter()
    .map(|k| text(&vars, k).unwrap())
    .collect();
    assert_eq!(
        got,
        [
            "proxy:fcgi://127.0.0.1:19000/tmp/c-disc/docroot/index.php",
            "/index.php",
            "/extra/x",
            "/tmp/c-disc/docroot/extra/x",
            "k=v",
        ]
    );
}

#[test]
fn scgi_puts_content_length_first_and_has_no_gateway_interface() {
    // httpd to SCGI, GET /scgi/a/b?q: CONTENT_LENGTH=0 SCGI=1 first, no
    // GATEWAY_INTERFACE, SCRIPT_FILENAME=proxy:scgi://127.0.0.1:19001/srv/app/a/b
    let h = head("GET /scgi/a/b?q HTTP/1.1\r\nHost: 127.0.0.1:19080\r\n\r\n");
    let mut env = Env::default();
    env.set("FOO", "bar");
    let req = outgoing(&h, "/srv/app/a/b?q", &env, Some(0));
    let mut vars = Vars::default();
    build(
        &req,
        &site("scgi://127.0.0.1:19001"),
        Dialect::Scgi,
        &mut vars,
    );
    assert_eq!(
        names(&vars)[..4],
        ["CONTENT_LENGTH", "SCGI", "FOO", "HTTP_HOST"]
    );
    assert_eq!(text(&vars, "CONTENT_LENGTH").unwrap(), "0");
    assert_eq!(text(&vars, "GATEWAY_INTERFACE"), None);
    assert_eq!(
        text(&vars, "SCRIPT_FILENAME").unwrap(),
        "proxy:scgi://127.0.0.1:19001/srv/app/a/b"
    );
    assert_eq!(text(&vars, "SCRIPT_NAME").unwrap(), "/scgi/a/b");
}

#[test]
fn uwsgi_path_info_and_script_name_follow_mod_proxy_uwsgi() {
    // httpd to uwsgi (request, ProxyPass, then what it sent):
    // /u2/a/b  /u2/ -> uwsgi://h/    PATH_INFO=/a/b   SCRIPT_NAME=/u2
    // /u2/     /u2/ -> uwsgi://h/    PATH_INFO=/      SCRIPT_NAME=/u2/
    // /u3/q    /u3  -> uwsgi://h/x   PATH_INFO=/x/q   SCRIPT_NAME=/
    // /u3      /u3  -> uwsgi://h/x   PATH_INFO=/x     SCRIPT_NAME=/
    // /uwsgi/a/b /uwsgi/ -> uwsgi://h/srv/app/ PATH_INFO=/srv/app/a/b SCRIPT_NAME=/uwsgi/a/b
    let cases = [
        ("/u2/a/b", "/a/b", "/a/b", "/u2"),
        ("/u2/", "/", "/", "/u2/"),
        ("/u3/q", "/x/q", "/x/q", "/"),
        ("/u3", "/x", "/x", "/"),
        ("/", "/", "/", ""),
        ("/uwsgi/a/b", "/srv/app/a/b", "/srv/app/a/b", "/uwsgi/a/b"),
        ("/w/a%20b", "/a%20b", "/a b", "/w"),
    ];
    for (path, target, path_info, script_name) in cases {
        let h = head(&format!(
            "GET {path} HTTP/1.1\r\nHost: v.test\r\nAuthorization: Basic\r\n\r\n"
        ));
        let env = Env::default();
        let req = outgoing(&h, target, &env, Some(0));
        let mut vars = Vars::default();
        build(
            &req,
            &site("uwsgi://127.0.0.1:19002"),
            Dialect::Uwsgi,
            &mut vars,
        );
        assert_eq!(text(&vars, "PATH_INFO").unwrap(), path_info, "{path}");
        assert_eq!(text(&vars, "SCRIPT_NAME").unwrap(), script_name, "{path}");
        // uwsgi alone passes Authorization, last.
        assert_eq!(names(&vars).last(), Some(&"HTTP_AUTHORIZATION"));
    }
}

#[test]
fn headers_httpd_will_not_export_are_left_out() {
    // httpd dropped X_Under (underscore), Authorization and Proxy-Authorization
    // (CGIPassAuth Off), Proxy (httpoxy); repeated headers were joined with ", "
    // (X-A: 1 + X-A: 2 -> HTTP_X_A=1, 2); Connection went through.
    let h = head(
        "GET /g/ HTTP/1.1\r\nHost: v.test\r\nX_Under: 1\r\nAuthorization: x\r\n\
         Proxy-Authorization: y\r\nProxy: evil\r\nX-A: 1\r\nX-A: 2\r\nConnection: keep-alive\r\n\r\n",
    );
    let env = Env::default();
    let req = outgoing(&h, "/", &env, Some(0));
    for dialect in [Dialect::Fcgi, Dialect::Scgi] {
        let mut vars = Vars::default();
        build(&req, &site("fcgi://h"), dialect, &mut vars);
        for gone in [
            "HTTP_X_UNDER",
            "HTTP_AUTHORIZATION",
            "HTTP_PROXY_AUTHORIZATION",
            "HTTP_PROXY",
        ] {
            assert_eq!(text(&vars, gone), None, "{gone}");
        }
        assert_eq!(text(&vars, "HTTP_X_A").unwrap(), "1, 2");
        assert_eq!(text(&vars, "HTTP_CONNECTION").unwrap(), "keep-alive");
    }
}

#[test]
fn tls_clients_get_https_on() {
    let h = head("GET / HTTP/1.1\r\nHost: v.test\r\n\r\n");
    let env = Env::default();
    let mut req = outgoing(&h, "/", &env, Some(0));
    req.https = true;
    let mut vars = Vars::default();
    build(&req, &site("fcgi://h"), Dialect::Fcgi, &mut vars);
    assert_eq!(text(&vars, "HTTPS").unwrap(), "on");
    assert_eq!(text(&vars, "REQUEST_SCHEME").unwrap(), "https");
    assert_eq!(text(&vars, "SERVER_PORT").unwrap(), "443");
}

#[test]
fn script_prefix_leaves_out_default_ports() {
    assert_eq!(script_prefix("fcgi", "localhost", 8000), "fcgi://localhost");
    assert_eq!(
        script_prefix("fcgi", "127.0.0.1", 9000),
        "fcgi://127.0.0.1:9000"
    );
    assert_eq!(script_prefix("scgi", "::1", 4000), "scgi://[::1]");
    assert_eq!(script_prefix("uwsgi", "h", 3032), "uwsgi://h:3032");
}

fn parsed(raw: &str) -> ResponseHead {
    parse_head(raw.as_bytes(), false).unwrap().unwrap()
}

#[test]
fn script_heads_as_httpd_answers_them() {
    // httpd-oracle, a FastCGI/SCGI script answering (→ what the client got):
    // "Status: 404 Nope\r\nX-A: 1\r\n\r\ngone"     → 404 Nope, X-A: 1
    // "Location: http://x.test/y\r\n\r\nbody"      → 200 with the Location
    // "Location: http://x/\r\nStatus: 301\r\n\r\n" → 301 Moved Permanently
    // "Content-Length: 3\r\n\r\nabcdef"            → 200, all six bytes
    // "X-B: 2\r\n\r\nplain"                        → 200 OK
    let h = parsed("Status: 404 Nope\r\nX-A: 1\r\n\r\ngone");
    assert_eq!((h.status, h.reason.as_str()), (404, "Nope"));
    assert_eq!(h.header("x-a"), Some(&b"1"[..]));
    assert_eq!(h.header("status"), None);
    assert_eq!(h.len, "Status: 404 Nope\r\nX-A: 1\r\n\r\n".len());
    assert_eq!(h.framing, Framing::Close);

    let h = parsed("Location: http://x.test/y\r\n\r\nbody");
    assert_eq!(h.status, 200);
    assert_eq!(h.header("location"), Some(&b"http://x.test/y"[..]));

    let h = parsed("Location: http://x/\r\nStatus: 301\r\n\r\n");
    assert_eq!((h.status, h.reason.as_str()), (301, "Moved Permanently"));

    let h = parsed("Content-Length: 3\r\n\r\nabcdef");
    assert_eq!(h.header("content-length"), None);
    assert_eq!(h.framing, Framing::Close);

    let h = parsed("X-B: 2\n\nplain");
    assert_eq!((h.status, h.reason.as_str()), (200, "OK"));
    assert_eq!(h.len, 8);

    let h = parsed("Status: 304\r\n\r\n");
    assert_eq!(h.framing, Framing::None);
    let h = parse_head(b"X: 1\r\n\r\n", true).unwrap().unwrap();
    assert_eq!(h.framing, Framing::None);
}

#[test]
fn broken_script_heads_are_member_errors() {
    // httpd answered 500 to each ("Invalid status line from script",
    // "malformed header from script"); slotgate: a protocol error (502).
    for bad in [
        "Status: abc\r\n\r\n",
        "Status: 20\r\n\r\n",
        "Status: 2000\r\n\r\n",
        "Status: 100 Continue\r\n\r\n",
        "bad header line\r\n\r\n",
        "HTTP/1.0 201 Made\r\nX-C: 1\r\n\r\n",
        ": no name\r\n\r\n",
    ] {
        assert!(parse_head(bad.as_bytes(), false).is_err(), "{bad:?}");
    }
}

#[test]
fn an_unfinished_head_waits_then_gives_up_past_the_limit() {
    assert!(parse_head(b"X-A: 1\r\n", false).unwrap().is_none());
    assert!(parse_head(b"", false).unwrap().is_none());
    let mut long = b"X-A: ".to_vec();
    long.resize(MAX_CGI_HEAD + 10, b'a');
    assert!(parse_head(&long, false).is_err());
    let mut many = String::new();
    for i in 0..=crate::http::MAX_HEADERS {
        many.push_str(&format!("X-{i}: 1\r\n"));
    }
    many.push_str("\r\n");
    assert!(parse_head(many.as_bytes(), false).is_err());
}

#[test]
fn set_env_if_lines_change_the_variables_in_order() {
    // httpd-oracle with these four lines and GET /f/x?magic=1 (Host 127.0.0.1:19080):
    // HTTP_ACCEPT gone, MAGIC=yes GET 127.0.0.1:19080, EMPTYVAR=,
    // SEEN=yes GET 127.0.0.1:19080!; with ?plain only EMPTYVAR= was added.
    let lines = [
        ("true", "!HTTP_ACCEPT"),
        (
            "reqenv('QUERY_STRING') =~ /magic/",
            "MAGIC=yes %{reqenv:REQUEST_METHOD} %{HTTP_HOST}",
        ),
        ("true", "EMPTYVAR="),
        ("-n reqenv('MAGIC')", "SEEN=%{reqenv:MAGIC}!"),
        ("false", "NEVER=x"),
    ];
    let fixups: Vec<EnvFixup> = lines
        .iter()
        .map(|(c, a)| {
            let condition = crate::expr::parse_request(c).unwrap();
            match a.strip_prefix('!') {
                Some(name) => EnvFixup {
                    condition,
                    name: name.into(),
                    value: None,
                },
                None => {
                    let (name, v) = a.split_once('=').unwrap();
                    EnvFixup {
                        condition,
                        name: name.into(),
                        value: Some(crate::expr::parse_request_string(v).unwrap()),
                    }
                }
            }
        })
        .collect();
    for (query, magic) in [("magic=1", true), ("plain", false)] {
        let raw =
            format!("GET /f/x?{query} HTTP/1.1\r\nHost: 127.0.0.1:19080\r\nAccept: */*\r\n\r\n");
        let h = head(&raw);
        let env = Env::default();
        let target = format!("/srv/x?{query}");
        let req = outgoing(&h, &target, &env, Some(0));
        let mut vars = Vars::default();
        build(
            &req,
            &site("fcgi://127.0.0.1:19000"),
            Dialect::Fcgi,
            &mut vars,
        );
        apply_fixups(&req, &fixups, &mut vars);
        assert_eq!(text(&vars, "HTTP_ACCEPT"), None);
        assert_eq!(text(&vars, "EMPTYVAR").as_deref(), Some(""));
        assert_eq!(text(&vars, "NEVER"), None);
        if magic {
            assert_eq!(
                text(&vars, "MAGIC").as_deref(),
                Some("yes GET 127.0.0.1:19080")
            );
            assert_eq!(
                text(&vars, "SEEN").as_deref(),
                Some("yes GET 127.0.0.1:19080!")
            );
        } else {
            assert_eq!(text(&vars, "MAGIC"), None);
            assert_eq!(text(&vars, "SEEN"), None);
        }
    }
}
