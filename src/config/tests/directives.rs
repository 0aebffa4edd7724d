//! Server-level directives: values, defaults, errors.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::config::{LogLevel, ProxyVia};

#[test]
fn defaults() {
    let c = parse("Listen 8080\n").unwrap();
    assert_eq!(c.file, PathBuf::from(FILE));
    assert_eq!(c.server_root, PathBuf::from("/etc/slotgate"));
    assert_eq!(c.server_name, "localhost");
    assert_eq!(c.pid_file, None);
    assert_eq!(c.error_log, None);
    assert_eq!(c.log_level, LogLevel::Warn);
    assert_eq!(
        c.scoreboard_file,
        PathBuf::from("/etc/slotgate/slotgate.scoreboard")
    );
    assert_eq!(c.start_servers, None);
    assert_eq!(c.timeout, Duration::from_secs(60));
    assert!(c.keep_alive);
    assert_eq!(c.keep_alive_timeout, Duration::from_secs(5));
    assert_eq!(c.max_keep_alive_requests, 100);
    assert!(!c.proxy_requests);
    assert!(!c.proxy_preserve_host);
    assert_eq!(c.proxy_timeout, None);
    assert_eq!(c.proxy_via, ProxyVia::Off);
    assert!(c.proxy_add_headers);
    assert!(c.proxy_pass.is_empty());
    assert!(c.proxy_pass_reverse.is_empty());
    assert!(c.warnings.is_empty());
}

#[test]
fn no_listen_is_an_error_about_the_main_file() {
    let err = parse("ProxyVia On\n").unwrap_err();
    assert_eq!(err.to_string(), format!("{FILE}: no Listen directive"));
    assert_eq!(err.origin.unwrap().line, 0);
}

#[test]
fn listen_forms() {
    let cases: &[(&str, &[&str])] = &[
        ("8080", &["0.0.0.0:8080"]),
        ("127.0.0.1:8080", &["127.0.0.1:8080"]),
        ("127.0.0.1:0", &["127.0.0.1:0"]),
        ("0.0.0.0:80", &["0.0.0.0:80"]),
        ("[::1]:8080", &["[::1]:8080"]),
        ("[::]:0", &["[::]:0"]),
        ("127.0.0.1:8080 http", &["127.0.0.1:8080"]),
        ("127.0.0.1:8080 HTTP", &["127.0.0.1:8080"]),
    ];
    for (arg, want) in cases {
        let c = parse(&format!("Listen {arg}\n")).unwrap();
        let got: Vec<SocketAddr> = c.listen.iter().map(|l| l.addr).collect();
        let want: Vec<SocketAddr> = want.iter().map(|w| w.parse().unwrap()).collect();
        assert_eq!(got, want, "Listen {arg}");
        assert_eq!(c.listen[0].origin.line, 1);
    }
}

#[test]
fn listen_several_lines_and_ephemeral_duplicates() {
    let c = parse("Listen 127.0.0.1:0\nListen 127.0.0.1:0\nListen [::1]:9\nListen 9\n").unwrap();
    let lines: Vec<usize> = c.listen.iter().map(|l| l.origin.line).collect();
    assert_eq!(lines, [1, 2, 3, 4]);
}

#[test]
fn listen_resolves_host_names() {
    let c = parse("Listen localhost:8080\n").unwrap();
    assert!(!c.listen.is_empty());
    for l in &c.listen {
        assert!(l.addr.ip().is_loopback(), "{}", l.addr);
        assert_eq!(l.addr.port(), 8080);
    }
}

#[test]
fn listen_errors() {
    let cases = [
        ("Listen", "Listen takes an address and an optional protocol"),
        (
            "Listen 1 http x",
            "Listen takes an address and an optional protocol",
        ),
        (
            "Listen 127.0.0.1",
            "Listen: port must be specified in '127.0.0.1'",
        ),
        ("Listen [::1]", "Listen: port must be specified in '[::1]'"),
        ("Listen [::1:80", "Listen: unclosed '[' in '[::1:80'"),
        (
            "Listen [zz]:80",
            "Listen: bad IPv6 address '[zz]' in '[zz]:80'",
        ),
        (
            "Listen ::1:80",
            "Listen: IPv6 addresses must be in brackets: '::1:80'",
        ),
        (
            "Listen 127.0.0.1:99999",
            "Listen: bad port '99999' in '127.0.0.1:99999'",
        ),
        (
            "Listen 127.0.0.1:x",
            "Listen: bad port 'x' in '127.0.0.1:x'",
        ),
        ("Listen 70000", "Listen: bad port '70000' in '70000'"),
        ("Listen :80", "Listen: no address before the port in ':80'"),
        (
            "Listen 127.0.0.1:80 ftp",
            "Listen: protocol 'ftp' is not supported (only http and https)",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(
            error(&format!("{text}\n")),
            format!("{FILE}:1: {want}"),
            "{text}"
        );
    }
    assert_eq!(
        error("Listen 127.0.0.1:8080\nListen 127.0.0.1:8080\n"),
        format!("{FILE}:2: Listen: 127.0.0.1:8080 is already a listener (at {FILE}:1)")
    );
}

#[test]
fn simple_values() {
    let c = config(
        "ServerName proxy.example:8443\n\
         PidFile run/slotgate.pid\n\
         ErrorLog /var/log/slotgate/error.log\n\
         LogLevel info\n\
         ScoreboardFile run/sb\n\
         StartServers 4\n\
         Timeout 30\n\
         KeepAlive off\n\
         KeepAliveTimeout 250ms\n\
         MaxKeepAliveRequests 0\n\
         ProxyRequests Off\n\
         ProxyPreserveHost ON\n\
         ProxyTimeout 7\n\
         ProxyVia Block\n\
         ProxyAddHeaders off\n",
    );
    assert_eq!(c.server_name, "proxy.example:8443");
    assert_eq!(
        c.pid_file,
        Some(PathBuf::from("/etc/slotgate/run/slotgate.pid"))
    );
    assert_eq!(
        c.error_log,
        Some(PathBuf::from("/var/log/slotgate/error.log"))
    );
    assert_eq!(c.log_level, LogLevel::Info);
    assert_eq!(c.scoreboard_file, PathBuf::from("/etc/slotgate/run/sb"));
    assert_eq!(c.start_servers, Some(4));
    assert_eq!(c.timeout, Duration::from_secs(30));
    assert!(!c.keep_alive);
    assert_eq!(c.keep_alive_timeout, Duration::from_millis(250));
    assert_eq!(c.max_keep_alive_requests, 0);
    assert!(!c.proxy_requests);
    assert!(c.proxy_preserve_host);
    assert_eq!(c.proxy_timeout, Some(Duration::from_secs(7)));
    assert_eq!(c.proxy_via, ProxyVia::Block);
    assert!(!c.proxy_add_headers);
}

#[test]
fn later_lines_win() {
    let c = config("ServerName a\nServerName b\nProxyVia On\nProxyVia Full\n");
    assert_eq!(c.server_name, "b");
    assert_eq!(c.proxy_via, ProxyVia::Full);
}

#[test]
fn server_name_forms() {
    let cases = [
        ("example.org", "example.org"),
        ("example.org:8080", "example.org:8080"),
        ("http://example.org", "example.org"),
        ("[::1]:81", "[::1]:81"),
        ("10.0.0.1", "10.0.0.1"),
    ];
    for (arg, want) in cases {
        assert_eq!(config(&format!("ServerName {arg}\n")).server_name, want);
    }
    for (arg, want) in [
        (
            "example.org:http",
            "ServerName: bad port 'http' in 'example.org:http'",
        ),
        (":80", "ServerName: no host name in ':80'"),
        ("[::1]x", "ServerName: unexpected 'x' in '[::1]x'"),
    ] {
        assert_eq!(
            error(&format!("{LISTEN}ServerName {arg}\n")),
            format!("{FILE}:2: {want}")
        );
    }
}

#[test]
fn log_levels() {
    let cases = [
        ("emerg", LogLevel::Emerg),
        ("ALERT", LogLevel::Alert),
        ("crit", LogLevel::Crit),
        ("error", LogLevel::Error),
        ("warn", LogLevel::Warn),
        ("notice", LogLevel::Notice),
        ("info", LogLevel::Info),
        ("debug", LogLevel::Debug),
        ("trace1", LogLevel::Trace),
        ("trace8", LogLevel::Trace),
        ("info proxy:debug", LogLevel::Info),
        ("proxy:trace2 notice", LogLevel::Notice),
        ("proxy:debug", LogLevel::Warn),
        ("debug error", LogLevel::Debug),
    ];
    for (arg, want) in cases {
        assert_eq!(
            config(&format!("LogLevel {arg}\n")).log_level,
            want,
            "LogLevel {arg}"
        );
    }
    let bad =
        "LogLevel: expected emerg, alert, crit, error, warn, notice, info, debug or trace1..trace8";
    for (arg, want) in [
        ("", "LogLevel takes at least one argument".to_string()),
        ("loud", format!("{bad}, got 'loud'")),
        ("trace9", format!("{bad}, got 'trace9'")),
        ("warn proxy:loud", format!("{bad}, got 'loud'")),
        (
            "warn :debug",
            "LogLevel: no module name in ':debug'".to_string(),
        ),
    ] {
        assert_eq!(
            error(&format!("{LISTEN}LogLevel {arg}\n")),
            format!("{FILE}:2: {want}")
        );
    }
}

#[test]
fn value_errors_name_the_directive() {
    let cases = [
        ("ServerName", "ServerName takes one argument, got 0"),
        ("PidFile a b", "PidFile takes one argument, got 2"),
        ("ErrorLog \"| \"", "ErrorLog: no command after '|' in '| '"),
        ("ErrorLog \"|$\"", "ErrorLog: no command after '|' in '|$'"),
        ("ErrorLog syslog:local7", "ErrorLog: syslog is not supported, got 'syslog:local7'"),
        ("ErrorLog syslog", "ErrorLog: syslog is not supported, got 'syslog'"),
        ("StartServers 0", "StartServers must be an integer from 1 to 65535, got '0'"),
        ("StartServers many", "StartServers must be an integer from 1 to 65535, got 'many'"),
        ("Timeout 0", "Timeout must be at least 1 second, got '0'"),
        ("Timeout 30s", "Timeout takes whole seconds without a unit, got '30s' (httpd would read it as 30 seconds)"),
        ("KeepAlive yes", "KeepAlive: expected On or Off, got 'yes'"),
        ("KeepAliveTimeout 5x", "KeepAliveTimeout: expected a time such as 5, 5s, 500ms, 2mi or 1hr, got '5x'"),
        ("MaxKeepAliveRequests -1", "MaxKeepAliveRequests must be an integer of at least 0, got '-1'"),
        ("ProxyRequests On", "forward proxying (ProxyRequests On) is not supported"),
        ("ProxyRequests maybe", "ProxyRequests: expected On or Off, got 'maybe'"),
        ("ProxyPreserveHost", "ProxyPreserveHost takes one argument, got 0"),
        ("ProxyTimeout 0", "ProxyTimeout must be at least 1 second, got '0'"),
        ("ProxyTimeout 500ms", "ProxyTimeout takes whole seconds without a unit, got '500ms' (httpd would read it as 500 seconds)"),
        ("ProxyVia x", "ProxyVia: expected Off, On, Full or Block, got 'x'"),
        ("ProxyVia On Off", "ProxyVia takes one argument, got 2"),
        ("ProxyAddHeaders 1", "ProxyAddHeaders: expected On or Off, got '1'"),
    ];
    for (text, want) in cases {
        assert_eq!(
            error(&format!("{LISTEN}{text}\n")),
            format!("{FILE}:2: {want}"),
            "{text}"
        );
    }
}

#[test]
fn keep_alive_timeout_units() {
    for (arg, millis) in [("5", 5000), ("1s", 1000), ("1500ms", 1500), ("1mi", 60_000)] {
        let c = config(&format!("KeepAliveTimeout {arg}\n"));
        assert_eq!(c.keep_alive_timeout, Duration::from_millis(millis), "{arg}");
    }
}

#[test]
fn location_misuse() {
    let cases = [
        (
            "<Location>\n</Location>",
            "<Location> takes one argument, a URL path",
        ),
        (
            "<Location /a /b>\n</Location>",
            "<Location> takes one argument, a URL path",
        ),
        (
            "<Location ~ \"^/(x\">\n</Location>",
            "<Location>: bad regular expression '^/(x': unclosed group",
        ),
        (
            "<LocationMatch>\n</LocationMatch>",
            "<LocationMatch> takes one argument, a regular expression",
        ),
        (
            "<Location a>\n</Location>",
            "<Location>: path must begin with '/', got 'a'",
        ),
        (
            "<Location /a/*>\n</Location>",
            "<Location /a/*>: wildcard paths are not supported yet",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(
            error(&format!("{LISTEN}{text}\n")),
            format!("{FILE}:2: {want}"),
            "{text}"
        );
    }
    let inner = [
        (
            "<Location /b>\n</Location>",
            "<Location> cannot occur within <Location> section",
        ),
        (
            "<Proxy *>\n</Proxy>",
            "<Proxy> cannot occur within <Location> section",
        ),
        (
            "<VirtualHost *>\n</VirtualHost>",
            "<VirtualHost> cannot occur within <Location> section",
        ),
        ("Listen 1", "Listen cannot occur within <Location> section"),
        (
            "ProxyPreserveHost On",
            "ProxyPreserveHost inside <Location> is not supported yet",
        ),
        ("Frob", "unknown directive 'Frob'"),
    ];
    for (text, want) in inner {
        let text = format!("{LISTEN}<Location /a>\n{text}\n</Location>\n");
        assert_eq!(error(&text), format!("{FILE}:3: {want}"), "{text}");
    }
}
