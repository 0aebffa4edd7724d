//! `-t` means "this configuration will start" (issue #14, point 2): `-t`, a
//! start and a reload run one validation path, which reports every error it
//! finds, each with its file and line — directives, log formats, the accounts
//! of User and Group, the files slotgate writes (logs, PidFile, scoreboard) and
//! the certificates it serves.

mod common;

use common::*;

/// `slotgate -t -f FILE` on `text` written to `name` in `dir`.
fn check(dir: &TempDir, name: &str, text: &str) -> (RunOutput, String) {
    check_config(dir, name, text)
}

/// The lines of `-t`'s stderr that report an error at `path`.
fn error_lines<'a>(out: &'a RunOutput, path: &str) -> Vec<&'a str> {
    out.stderr
        .lines()
        .filter(|l| l.starts_with(&format!("{path}:")))
        .collect()
}

#[test]
fn every_directive_error_is_reported_with_its_line() {
    let dir = TempDir::new();
    let text = "\
Listen 127.0.0.1:0
Frobnicate on
Timeout soon
<VirtualHost *>
    ServerName a.test
    ProxyPass / http://127.0.0.1:9/ retry=never
    LogFormat \"%h %Z\" broken
</VirtualHost>
KeepAlive perhaps
ProxyPass /ok http://127.0.0.1:9/
";
    let (out, path) = check(&dir, "slotgate.conf", text);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(!out.stdout.contains("Syntax OK"), "{out:?}");
    let lines = error_lines(&out, &path);
    let want = [
        format!("{path}:2: unknown directive 'Frobnicate'"),
        format!("{path}:3: "),
        format!("{path}:6: "),
        format!("{path}:7: LogFormat: unrecognized directive %Z"),
        format!("{path}:9: "),
    ];
    assert_eq!(lines.len(), want.len(), "{}", out.stderr);
    for (line, want) in lines.iter().zip(&want) {
        assert!(
            line.starts_with(want.as_str()),
            "{line:?} should start with {want:?}"
        );
    }
}

#[test]
fn files_accounts_and_scoreboard_are_checked_and_all_reported() {
    let dir = TempDir::new();
    let missing = dir.path().join("no-such-dir");
    let m = missing.display();
    // Before issue #14, `-t` said "Syntax OK" to all of these and the start failed.
    let text = format!(
        "Listen 127.0.0.1:0
ErrorLog {m}/error.log
PidFile {m}/slotgate.pid
ScoreboardFile {m}/slotgate.scoreboard
User no-such-user-slotgate
Group no-such-group-slotgate
CustomLog {m}/access.log combined
<VirtualHost *>
    ServerName a.test
    CustomLog {m}/a.log common
    CustomLog \"|cat >/dev/null\" common
</VirtualHost>
ProxyPass / http://127.0.0.1:9/
"
    );
    let (out, path) = check(&dir, "slotgate.conf", &text);
    assert_eq!(out.code(), Some(1), "{out:?}");
    let lines = error_lines(&out, &path);
    let absent = format!("the directory {m} does not exist");
    let want = [
        format!("{path}:5: User 'no-such-user-slotgate': no such user"),
        format!("{path}:6: Group 'no-such-group-slotgate': no such group"),
        format!("{path}:2: ErrorLog {m}/error.log: {absent}"),
        format!("{path}:7: CustomLog {m}/access.log: {absent}"),
        format!("{path}:10: CustomLog {m}/a.log: {absent}"),
        format!("{path}:3: PidFile {m}/slotgate.pid: {absent}"),
        format!("{path}:4: ScoreboardFile {m}/slotgate.scoreboard: {absent}"),
    ];
    assert_eq!(lines, want, "{}", out.stderr);
    // Nothing was created by the check.
    assert!(!missing.exists());
}

#[test]
fn a_start_refuses_what_the_check_refuses_with_the_same_words() {
    let dir = TempDir::new();
    let log = dir.path().join("missing/access.log");
    let text = format!(
        "Listen 127.0.0.1:0\nScoreboardFile slotgate.scoreboard\nCustomLog {} combined\n\
         ProxyPass / http://127.0.0.1:9/\n",
        log.display()
    );
    let (checked, path) = check(&dir, "slotgate.conf", &text);
    assert_eq!(checked.code(), Some(1), "{checked:?}");
    let want = format!(
        "{path}:3: CustomLog {}: the directory {} does not exist",
        log.display(),
        log.parent().unwrap().display()
    );
    assert!(checked.stderr.contains(&want), "{checked:?}");
    // The foreground start stops before binding anything, with the same error.
    let started = run_slotgate(&["-f", &path], &dir);
    assert_eq!(started.code(), Some(1), "{started:?}");
    assert!(started.stderr.contains(&want), "{started:?}");
}

#[test]
fn every_missing_certificate_is_reported() {
    let dir = TempDir::new();
    let a = dir.path().join("a.pem");
    let b = dir.path().join("b.key");
    let text = format!(
        "Listen 127.0.0.1:0 https
<VirtualHost *>
    ServerName a.test
    SSLEngine On
    SSLCertificateFile {}
    SSLCertificateKeyFile {}
</VirtualHost>
<VirtualHost *>
    ServerName b.test
    SSLEngine On
    SSLCertificateFile {}
    SSLCertificateKeyFile {}
</VirtualHost>
ProxyPass / http://127.0.0.1:9/
",
        a.display(),
        a.display(),
        b.display(),
        b.display()
    );
    let (out, path) = check(&dir, "slotgate.conf", &text);
    assert_eq!(out.code(), Some(1), "{out:?}");
    let lines = error_lines(&out, &path);
    assert_eq!(lines.len(), 2, "{}", out.stderr);
    assert!(lines[0].starts_with(&format!("{path}:5: ")), "{lines:?}");
    assert!(lines[0].contains("a.pem"), "{lines:?}");
    assert!(lines[1].starts_with(&format!("{path}:11: ")), "{lines:?}");
    assert!(lines[1].contains("b.key"), "{lines:?}");
}

#[test]
fn a_good_configuration_passes_and_starts() {
    let dir = TempDir::new();
    let text = format!(
        "Listen 127.0.0.1:0\nErrorLog {d}/error.log\nPidFile {d}/slotgate.pid\n\
         ScoreboardFile {d}/slotgate.scoreboard\nCustomLog {d}/access.log combined\n\
         LogFormat \"%h %t \\\"%r\\\" %>s %O %I %{{ms}}T %L %k %X %R %A\" wire\n\
         CustomLog {d}/wire.log wire\nProxyPass / http://127.0.0.1:9/\n",
        d = dir.path().display()
    );
    let (out, _) = check(&dir, "slotgate.conf", &text);
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stdout.contains("Syntax OK"), "{out:?}");
    // And what `-t` passed starts (the log formats included).
    let sg = Slotgate::start(&text);
    assert!(sg.port() > 0);
}

#[test]
fn every_line_of_a_proxy_or_location_section_is_checked() {
    let dir = TempDir::new();
    let text = "\
Listen 127.0.0.1:0
<Proxy balancer://x>
  BalancerMember http://127.0.0.1:9 retry=soon
  BalancerMember http://127.0.0.1:10 loadfactor=abc
  BalancerMember http://127.0.0.1:11
  ProxySet lbmethod=nosuch
  Frobnicate 1
</Proxy>
ProxyPass / balancer://x/
Timeout never
<Location /s>
  SetHandler no-such-handler
  Require ip not-an-address
  Frobnicate 2
</Location>
";
    let (out, path) = check(&dir, "slotgate.conf", text);
    assert_eq!(out.code(), Some(1), "{out:?}");
    let lines = error_lines(&out, &path);
    let at: Vec<&str> = lines
        .iter()
        .map(|l| l[path.len() + 1..].split(':').next().unwrap_or(""))
        .collect();
    assert_eq!(
        at,
        ["3", "4", "6", "7", "10", "12", "13", "14"],
        "{}",
        out.stderr
    );
    assert!(lines[2].contains("unknown lbmethod 'nosuch'"), "{lines:?}");
    assert!(
        lines[3].contains("unknown directive 'Frobnicate'"),
        "{lines:?}"
    );
}
