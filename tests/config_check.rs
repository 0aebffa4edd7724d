//! The configuration contract seen from the command line: `slotgate -t`
//! (Syntax OK / `FILE:LINE: message`, exit status), unknown directives,
//! Include / IncludeOptional, Define / ${VAR}, <IfDefine> with `-D`,
//! <IfModule>, LoadModule.

mod common;

use common::*;

/// `slotgate -t -f FILE [extra…]` on `text` written to `slotgate.conf` in `dir`.
fn check(dir: &TempDir, text: &str, extra: &[&str]) -> (RunOutput, String) {
    let path = dir.write("slotgate.conf", text);
    let path = path.to_str().unwrap().to_string();
    let mut args = vec!["-t", "-f", path.as_str()];
    args.extend_from_slice(extra);
    (run_slotgate(&args, dir), path)
}

fn assert_syntax_ok(out: &RunOutput) {
    assert_eq!(out.code(), Some(0), "expected exit 0: {out:?}");
    assert!(
        out.stdout.contains("Syntax OK") || out.stderr.contains("Syntax OK"),
        "no 'Syntax OK': {out:?}"
    );
}

fn assert_fails_with(out: &RunOutput, needle: &str) {
    assert_eq!(out.code(), Some(1), "expected exit 1: {out:?}");
    assert!(
        out.stderr.contains(needle),
        "stderr lacks {needle:?}: {out:?}"
    );
    assert!(!out.stdout.contains("Syntax OK"), "{out:?}");
}

#[test]
fn valid_configuration_is_syntax_ok() {
    let dir = TempDir::new();
    let text = "\
# a comment
LoadModule proxy_module modules/mod_proxy.so
LoadModule proxy_http_module modules/mod_proxy_http.so
ServerName test.local
Listen 127.0.0.1:0
StartServers 2
Timeout 30
KeepAlive On
KeepAliveTimeout 5
MaxKeepAliveRequests 100
ProxyRequests Off
<IfModule mod_proxy.c>
    ProxyTimeout 10
</IfModule>
ProxyPreserveHost Off
ProxyVia On
ProxyAddHeaders On
ProxyPass /static/ !
ProxyPass /app/ http://127.0.0.1:9/app/ timeout=5
ProxyPassReverse /app/ http://127.0.0.1:9/app/
<Location /loc/>
    ProxyPass http://127.0.0.1:9/loc/
    ProxyPassReverse http://127.0.0.1:9/loc/
</Location>
";
    let (out, _) = check(&dir, text, &[]);
    assert_syntax_ok(&out);
}

#[test]
fn unknown_directive_names_file_and_line() {
    let dir = TempDir::new();
    let (out, path) = check(&dir, "Listen 127.0.0.1:0\n# comment\nFrobnicate on\n", &[]);
    assert_fails_with(&out, &format!("{path}:3: unknown directive 'Frobnicate'"));
}

#[test]
fn unknown_directive_stops_the_daemon_too() {
    let dir = TempDir::new();
    let path = dir.write(
        "slotgate.conf",
        &format!(
            "ServerRoot \"{root}\"\nScoreboardFile \"{root}/sb\"\nListen 127.0.0.1:0\nFrobnicate on\n",
            root = dir.path().display()
        ),
    );
    let out = run_slotgate(&["-f", path.to_str().unwrap()], &dir);
    assert_fails_with(
        &out,
        &format!("{}:4: unknown directive 'Frobnicate'", path.display()),
    );
}

#[test]
fn error_in_included_file_names_that_file() {
    let dir = TempDir::new();
    let sub = dir.write("conf.d/sub.conf", "ProxyVia On\nNoSuchThing 1\n");
    let (out, _) = check(&dir, "Listen 127.0.0.1:0\nInclude conf.d/sub.conf\n", &[]);
    assert_fails_with(
        &out,
        &format!("{}:2: unknown directive 'NoSuchThing'", sub.display()),
    );
}

#[test]
fn include_of_a_missing_file_fails_and_include_optional_does_not() {
    let dir = TempDir::new();
    let (out, path) = check(&dir, "Listen 127.0.0.1:0\nInclude missing.conf\n", &[]);
    assert_fails_with(&out, &format!("{path}:2:"));
    let (out, _) = check(
        &dir,
        "Listen 127.0.0.1:0\nIncludeOptional nothing-here/*.conf\n",
        &[],
    );
    assert_syntax_ok(&out);
}

#[test]
fn include_with_a_glob_reads_every_match() {
    let dir = TempDir::new();
    dir.write("conf.d/a.conf", "ProxyVia On\n");
    let bad = dir.write("conf.d/b.conf", "\n\nBogusB x\n");
    let (out, _) = check(&dir, "Listen 127.0.0.1:0\nInclude conf.d/*.conf\n", &[]);
    assert_fails_with(
        &out,
        &format!("{}:3: unknown directive 'BogusB'", bad.display()),
    );
}

#[test]
fn dash_d_enables_ifdefine_sections() {
    let dir = TempDir::new();
    let text = "Listen 127.0.0.1:0\n<IfDefine WITH_BOGUS>\nBogus on\n</IfDefine>\n<IfDefine !WITH_BOGUS>\nProxyVia On\n</IfDefine>\n";
    let (out, _) = check(&dir, text, &[]);
    assert_syntax_ok(&out);
    let (out, path) = check(&dir, text, &["-D", "WITH_BOGUS"]);
    assert_fails_with(&out, &format!("{path}:3: unknown directive 'Bogus'"));
}

#[test]
fn negated_ifdefine_skips_when_defined() {
    let dir = TempDir::new();
    let text = "Listen 127.0.0.1:0\n<IfDefine !QUIET>\nBogus on\n</IfDefine>\n";
    let (out, _) = check(&dir, text, &["-D", "QUIET"]);
    assert_syntax_ok(&out);
    let (out, path) = check(&dir, text, &[]);
    assert_fails_with(&out, &format!("{path}:3: unknown directive 'Bogus'"));
}

#[test]
fn define_directive_feeds_ifdefine() {
    let dir = TempDir::new();
    let text = "Listen 127.0.0.1:0\nDefine STRICT\n<IfDefine STRICT>\nBogus on\n</IfDefine>\n";
    let (out, path) = check(&dir, text, &[]);
    assert_fails_with(&out, &format!("{path}:4: unknown directive 'Bogus'"));
}

#[test]
fn defined_variable_is_substituted_in_proxy_pass() {
    let origin = Origin::start("a");
    let conf = format!(
        "Listen 127.0.0.1:0\nStartServers 1\nDefine backend {}\nProxyPass /v/ http://${{backend}}/w/\n",
        origin.addr()
    );
    let sg = Slotgate::start(&conf);
    let r = http_get(sg.port(), "/v/x", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(r.origin(), "a");
    assert_eq!(origin.last_request().target, "/w/x");
}

#[test]
fn missing_configuration_file_fails() {
    let dir = TempDir::new();
    let missing = dir.path().join("nope.conf");
    let out = run_slotgate(&["-t", "-f", missing.to_str().unwrap()], &dir);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.stderr.contains("nope.conf"), "{out:?}");
}

#[test]
fn section_left_open_is_an_error() {
    let dir = TempDir::new();
    let (out, path) = check(
        &dir,
        "Listen 127.0.0.1:0\n<Location /x/>\nProxyPass http://127.0.0.1:9/\n",
        &[],
    );
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.stderr.contains(&path), "{out:?}");
}

#[test]
fn harness_reports_a_daemon_that_cannot_start() {
    match Slotgate::try_start("Listen 127.0.0.1:0\nBogusDirective x\n") {
        Ok(sg) => panic!("slotgate started (pid {}) on a bad configuration", sg.pid()),
        Err(e) => assert!(e.contains("unknown directive 'BogusDirective'"), "{e}"),
    }
}
