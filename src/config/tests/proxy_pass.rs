//! ProxyPass, ProxyPassReverse, worker parameters, rule order.

use std::time::Duration;

use super::*;
use crate::config::status_flags as f;
use crate::config::{parse_backend_url, BackendUrl, FlushPackets, WorkerParams};

fn rule_error(line: &str) -> String {
    error(&format!("{LISTEN}{line}\n"))
}

#[test]
fn a_plain_rule() {
    let c = config("ProxyPass /app/ http://127.0.0.1:8081/app/\n");
    let r = &c.proxy_pass[0];
    assert_eq!(r.path, "/app/");
    assert_eq!(
        r.target,
        PassTarget::Url("http://127.0.0.1:8081/app/".into())
    );
    assert_eq!(r.params, WorkerParams::default());
    assert_eq!(r.params.retry, Duration::from_secs(60));
    assert_eq!(r.params.status, f::INIT | f::IGNORE_ERRORS);
    assert!(!r.nocanon && !r.interpolate && !r.noquery && !r.from_location);
    assert_eq!(r.origin.to_string(), format!("{FILE}:2"));
    assert!(c.warnings.is_empty());
}

#[test]
fn typed_worker_parameters() {
    let c = config(
        "ProxyPass /a http://h/ timeout=5 connectiontimeout=250ms retry=0 disablereuse=on keepalive=On\n\
         ProxyPass /b http://h/ ConnectionTimeout=3 enablereuse=off RETRY=10 nocanon Interpolate NOQUERY\n\
         ProxyPass /c http://h/ disablereuse=on enablereuse=on\n",
    );
    let a = &c.proxy_pass[0].params;
    assert_eq!(a.timeout, Some(Duration::from_secs(5)));
    assert_eq!(a.connection_timeout, Some(Duration::from_millis(250)));
    assert_eq!(a.retry, Duration::ZERO);
    assert!(a.disable_reuse);
    assert!(a.keepalive);
    assert!(a.other.is_empty());
    let b = &c.proxy_pass[1];
    assert_eq!(b.params.connection_timeout, Some(Duration::from_secs(3)));
    assert!(b.params.disable_reuse);
    assert_eq!(b.params.retry, Duration::from_secs(10));
    assert!(b.nocanon && b.interpolate && b.noquery);
    assert!(!c.proxy_pass[2].params.disable_reuse, "the later key wins");
}

#[test]
fn untyped_parameters_are_validated_and_kept() {
    let c = config(
        "ProxyHCExpr ok {true}\nProxyHCTemplate t\n\
         ProxyPass /a http://h/ min=0 max=10 smax=5 \
         ttl=60 ping=100ms acquire=500 flushpackets=auto flushwait=20 iobuffersize=65536 \
         receivebuffersize=0 responsefieldsize=16384 addressttl=-1 upgrade=websocket secret=s \
         flusher=flush hcmethod=GET hcuri=/health hcinterval=5 hcpasses=2 hcfails=3 hcexpr=ok \
         hctemplate=t mapping=servlet MIN=4\n",
    );
    let p = &c.proxy_pass[0].params;
    let keys: Vec<&str> = p.other.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "min",
            "max",
            "smax",
            "ttl",
            "ping",
            "acquire",
            "flushpackets",
            "flushwait",
            "iobuffersize",
            "receivebuffersize",
            "responsefieldsize",
            "addressttl",
            "upgrade",
            "secret",
            "flusher",
            "hcmethod",
            "hcuri",
            "hcinterval",
            "hcpasses",
            "hcfails",
            "hcexpr",
            "hctemplate",
            "mapping",
        ]
    );
    assert_eq!(p.other_value("max"), Some("10"));
    assert_eq!(p.other_value("min"), Some("4"), "the later key wins");
    assert_eq!(p.other_value("mapping"), Some("servlet"));
    assert_eq!(p.other_value("nope"), None);
}

#[test]
fn pool_upgrade_and_stream_defaults() {
    let p = WorkerParams::default();
    assert_eq!(
        (p.min, p.max, p.smax, p.ttl, p.acquire),
        (0, None, None, None, None)
    );
    assert_eq!(p.upgrade, None);
    assert_eq!(p.flush_packets, FlushPackets::Off);
    assert_eq!(p.flush_wait, Duration::from_millis(10));
    assert_eq!(p.ping, None);
    assert_eq!(p.response_field_size, 8192);
    assert_eq!(p.io_buffer_size, None);
    let m = WorkerParams::member_default();
    assert_eq!(
        (m.min, m.max, m.flush_wait, m.response_field_size),
        (0, None, p.flush_wait, 8192)
    );
}

#[test]
fn pool_upgrade_and_stream_parameters_are_typed() {
    type Check = fn(&WorkerParams) -> String;
    let ms = |n: u64| Some(Duration::from_millis(n));
    let cases: &[(&str, Check, String)] = &[
        ("min=3", |p| format!("{}", p.min), "3".into()),
        ("max=10", |p| format!("{:?}", p.max), "Some(10)".into()),
        ("max=0", |p| format!("{:?}", p.max), "None".into()),
        ("smax=5", |p| format!("{:?}", p.smax), "Some(5)".into()),
        ("smax=0", |p| format!("{:?}", p.smax), "Some(0)".into()),
        (
            "ttl=60",
            |p| format!("{:?}", p.ttl),
            format!("{:?}", Some(Duration::from_secs(60))),
        ),
        (
            "acquire=500",
            |p| format!("{:?}", p.acquire),
            format!("{:?}", ms(500)),
        ),
        (
            "acquire=2s",
            |p| format!("{:?}", p.acquire),
            format!("{:?}", ms(2000)),
        ),
        (
            "acquire=250ms",
            |p| format!("{:?}", p.acquire),
            format!("{:?}", ms(250)),
        ),
        (
            "acquire=1mi",
            |p| format!("{:?}", p.acquire),
            format!("{:?}", ms(60_000)),
        ),
        (
            "ping=2",
            |p| format!("{:?}", p.ping),
            format!("{:?}", ms(2000)),
        ),
        (
            "ping=100ms",
            |p| format!("{:?}", p.ping),
            format!("{:?}", ms(100)),
        ),
        (
            "upgrade=websocket",
            |p| format!("{:?}", p.upgrade),
            "Some(\"websocket\")".into(),
        ),
        (
            "upgrade=WebSocket,h2c",
            |p| format!("{:?}", p.upgrade),
            "Some(\"WebSocket,h2c\")".into(),
        ),
        (
            "\"upgrade=a, b\"",
            |p| format!("{:?}", p.upgrade),
            "Some(\"a, b\")".into(),
        ),
        (
            "upgrade=*",
            |p| format!("{:?}", p.upgrade),
            "Some(\"*\")".into(),
        ),
        (
            "upgrade=ANY",
            |p| format!("{:?}", p.upgrade),
            "Some(\"ANY\")".into(),
        ),
        ("upgrade=", |p| format!("{:?}", p.upgrade), "None".into()),
        (
            "flushpackets=on",
            |p| format!("{:?}", p.flush_packets),
            "On".into(),
        ),
        (
            "flushpackets=AUTO",
            |p| format!("{:?}", p.flush_packets),
            "Auto".into(),
        ),
        (
            "flushpackets=Off",
            |p| format!("{:?}", p.flush_packets),
            "Off".into(),
        ),
        (
            "flushwait=20",
            |p| format!("{:?}", p.flush_wait),
            format!("{:?}", Duration::from_millis(20)),
        ),
        (
            "flushwait=1000",
            |p| format!("{:?}", p.flush_wait),
            format!("{:?}", Duration::from_millis(1000)),
        ),
        (
            "flushwait=0",
            |p| format!("{:?}", p.flush_wait),
            format!("{:?}", Duration::from_millis(10)),
        ),
        (
            "responsefieldsize=16384",
            |p| format!("{}", p.response_field_size),
            "16384".into(),
        ),
        (
            "responsefieldsize=0",
            |p| format!("{}", p.response_field_size),
            "8192".into(),
        ),
        (
            "iobuffersize=65536",
            |p| format!("{:?}", p.io_buffer_size),
            "Some(65536)".into(),
        ),
        (
            "iobuffersize=0",
            |p| format!("{:?}", p.io_buffer_size),
            "Some(8192)".into(),
        ),
        ("max=1 MAX=7", |p| format!("{:?}", p.max), "Some(7)".into()),
    ];
    for (param, get, want) in cases {
        let c = config(&format!("ProxyPass /a http://h/ {param}\n"));
        assert_eq!(&get(&c.proxy_pass[0].params), want, "{param}");
    }
}

#[test]
fn typed_pool_keys_stay_in_other_as_written() {
    // src/proxy reads max, smax, ttl and acquire through other_value().
    let c = config(
        "ProxyPass /a http://h/ min=1 max=0 smax=2 ttl=30 acquire=2s upgrade=websocket \
         flushpackets=auto flushwait=0 ping=1 responsefieldsize=0 iobuffersize=0\n",
    );
    let p = &c.proxy_pass[0].params;
    for (key, value) in [
        ("min", "1"),
        ("max", "0"),
        ("smax", "2"),
        ("ttl", "30"),
        ("acquire", "2s"),
        ("upgrade", "websocket"),
        ("flushpackets", "auto"),
        ("flushwait", "0"),
        ("ping", "1"),
        ("responsefieldsize", "0"),
        ("iobuffersize", "0"),
    ] {
        assert_eq!(p.other_value(key), Some(value), "{key}");
    }
    assert_eq!(p.other.len(), 11);
}

#[test]
fn pool_upgrade_and_stream_parameter_errors() {
    let cases = [
        ("flushwait=1001", "flushwait must be an integer from 0 to 1000, got '1001'"),
        ("flushwait=-1", "flushwait must be an integer from 0 to 1000, got '-1'"),
        ("flushwait=10ms", "flushwait must be an integer from 0 to 1000, got '10ms'"),
        ("acquire=5x", "acquire: expected a time such as 5, 5s, 500ms, 2mi or 1hr, got '5x'"),
        ("acquire=1.5s", "acquire: expected a time such as 5, 5s, 500ms, 2mi or 1hr, got '1.5s'"),
        ("acquire=0", "acquire must be at least 1 ms, got '0'"),
        ("ping=0s", "ping must be at least 1 ms, got '0s'"),
        ("max=-1", "max must be an integer of at least 0, got '-1'"),
        ("smax=x", "smax must be an integer of at least 0, got 'x'"),
        ("responsefieldsize=-1", "responsefieldsize must be an integer of at least 0, got '-1'"),
        ("iobuffersize=511", "iobuffersize must be 0 or at least 512, got '511'"),
        ("receivebuffersize=1", "receivebuffersize must be 0 or at least 512, got '1'"),
        ("upgrade=websocket,", "upgrade: expected protocol names separated by commas, * or ANY, got 'websocket,'"),
        ("upgrade=,h2c", "upgrade: expected protocol names separated by commas, * or ANY, got ',h2c'"),
        ("upgrade=web/socket", "upgrade: expected protocol names separated by commas, * or ANY, got 'web/socket'"),
        ("\"upgrade=web socket\"", "upgrade: expected protocol names separated by commas, * or ANY, got 'web socket'"),
        ("upgrade=websocket,*", "upgrade: * must stand alone (it is a wildcard only as the whole list), got 'websocket,*'"),
        ("upgrade=any,h2c", "upgrade: any must stand alone (it is a wildcard only as the whole list), got 'any,h2c'"),
        ("upgrade=websocket,h2c,xy", "upgrade must be shorter than 16 bytes, got 16 bytes"),
    ];
    for (param, want) in cases {
        assert_eq!(
            rule_error(&format!("ProxyPass /a http://h/ {param}")),
            format!("{FILE}:2: ProxyPass: {want}"),
            "{param}"
        );
    }
}

#[test]
fn upgrade_acceptance() {
    let with = |list: Option<&str>| WorkerParams {
        upgrade: list.map(str::to_string),
        ..WorkerParams::default()
    };
    let cases = [
        (None, "ws", "websocket", true),
        (None, "WS", "WebSocket", true),
        (None, "wss", "websocket", true),
        (None, "http", "websocket", false),
        (None, "ws", "h2c", false),
        (Some("websocket"), "http", "WebSocket", true),
        (Some("websocket"), "http", "h2c", false),
        (Some("h2c"), "ws", "websocket", false),
        (Some("WebSocket,h2c"), "http", "h2c", true),
        (Some("a, b"), "http", "b", true),
        (Some("*"), "http", "anything", true),
        (Some("ANY"), "http", "anything", true),
        (Some("any"), "ws", "h2c", true),
        (Some("*"), "http", "", false),
        (None, "ws", "", false),
    ];
    for (list, scheme, protocol, want) in cases {
        assert_eq!(
            with(list).accepts_upgrade(scheme, protocol),
            want,
            "{list:?} {scheme} {protocol}"
        );
    }
}

#[test]
fn ws_urls_are_workers() {
    let c = config(
        "ProxyPass /chat/ ws://127.0.0.1:8081/chat/ upgrade=websocket\n\
         ProxyPass /live WS://Live.Example/live\n\
         ProxyPassMatch ^/ws/(.*)$ ws://127.0.0.1:8082/$1\n\
         <Location /loc/>\n\
         ProxyPass ws://127.0.0.1:8083/\n\
         </Location>\n",
    );
    let urls: Vec<&str> = (0..c.proxy_pass.len()).map(|i| pass_url(&c, i)).collect();
    assert_eq!(
        urls,
        [
            "ws://127.0.0.1:8083/",
            "ws://127.0.0.1:8081/chat/",
            "WS://Live.Example/live",
            "ws://127.0.0.1:8082/$1"
        ]
    );
    assert_eq!(c.proxy_pass[1].params.upgrade.as_deref(), Some("websocket"));
    assert_eq!(c.proxy_pass[2].params.upgrade, None);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    // ProxySet finds a ws:// worker by its worker name.
    let c = config("ProxyPass /a ws://h:80/a\nProxySet WS://H/a ping=5\n");
    assert_eq!(c.proxy_pass[0].params.ping, Some(Duration::from_secs(5)));
    // wss:// (TLS) parses; SSLProxyEngine is checked with the routes (tests/tls.rs).
    let c = config("ProxyPass /a wss://h/\n");
    assert_eq!(c.proxy_pass[0].params.upgrade, None);
}

#[test]
fn status_letters() {
    let base = f::INIT | f::IGNORE_ERRORS;
    let cases = [
        ("D", base | f::DISABLED),
        ("d", base | f::DISABLED),
        ("+H", base | f::HOT_STANDBY),
        ("DH", base | f::DISABLED | f::HOT_STANDBY),
        ("S-E", base | f::STOPPED),
        ("-I", f::INIT),
        ("-I+E", f::INIT | f::ERROR),
        ("NCR", base | f::DRAIN | f::HC_FAILED | f::HOT_SPARE),
        ("+D-D", base),
        ("I", base),
    ];
    for (value, want) in cases {
        let c = config(&format!("ProxyPass /a http://h/ status={value}\n"));
        assert_eq!(c.proxy_pass[0].params.status, want, "status={value}");
    }
}

#[test]
fn worker_parameter_errors() {
    let cases = [
        ("foo=1", "unknown Worker parameter 'foo'"),
        ("Foo=1", "unknown Worker parameter 'foo'"),
        ("=1", "unknown Worker parameter ''"),
        ("loadfactor=0", "loadfactor must be a number from 1 to 100 with at most 2 decimals, got '0'"),
        ("loadfactor=101", "loadfactor must be a number from 1 to 100 with at most 2 decimals, got '101'"),
        ("loadfactor=100.01", "loadfactor must be a number from 1 to 100 with at most 2 decimals, got '100.01'"),
        ("loadfactor=1.555", "loadfactor must be a number from 1 to 100 with at most 2 decimals, got '1.555'"),
        ("loadfactor=x", "loadfactor must be a number from 1 to 100 with at most 2 decimals, got 'x'"),
        ("lbset=100", "lbset must be an integer from 0 to 99, got '100'"),
        ("timeout=500ms", "timeout takes whole seconds without a unit, got '500ms' (httpd would read it as 500 seconds)"),
        ("timeout=0", "timeout must be at least 1 second, got '0'"),
        ("retry=5s", "retry takes whole seconds without a unit, got '5s' (httpd would read it as 5 seconds)"),
        ("ttl=1mi", "ttl takes whole seconds without a unit, got '1mi' (httpd would read it as 1 seconds)"),
        ("ttl=0", "ttl must be at least 1 second, got '0'"),
        ("connectiontimeout=0", "connectiontimeout must be at least 1 ms, got '0'"),
        ("connectiontimeout=fast", "connectiontimeout: expected a time such as 5, 5s, 500ms, 2mi or 1hr, got 'fast'"),
        ("acquire=0ms", "acquire must be at least 1 ms, got '0ms'"),
        ("status=X", "status: unknown flag 'X' in 'X'; valid flags are I N D S E H C R"),
        ("status=DO", "status: unknown flag 'O' in 'DO'; valid flags are I N D S E H C R"),
        ("status=D-", "status: 'D-' ends with a sign"),
        ("status=+-D", "status: two signs in a row in '+-D'"),
        ("status=", "status: expected flag letters such as D, +H or S-E, got ''"),
        ("keepalive=yes", "keepalive: expected On or Off, got 'yes'"),
        ("disablereuse=1", "disablereuse: expected On or Off, got '1'"),
        ("min=-1", "min must be an integer of at least 0, got '-1'"),
        ("flushwait=1001", "flushwait must be an integer from 0 to 1000, got '1001'"),
        ("flushpackets=sometimes", "flushpackets: expected On, Off or Auto, got 'sometimes'"),
        ("iobuffersize=100", "iobuffersize must be 0 or at least 512, got '100'"),
        ("addressttl=-2", "addressttl must be an integer of at least -1, got '-2'"),
        // httpd-oracle: "ProxyPass unknown Worker hcheck parameter" (httpd takes
        // an AJP member's packet size from iobuffersize=).
        ("packetsize=8192", "unknown Worker parameter 'packetsize' (an AJP member's packet size is iobuffersize=, as in httpd)"),
        ("hcinterval=50ms", "hcinterval must be at least 100 ms, got '50ms'"),
        ("mapping=raw", "mapping: expected encoded or servlet, got 'raw'"),
        ("hctemplate=", "hctemplate: empty template name"),
        ("route=0123456789012345678901234567890123456789012345678901234567890123", "route must be shorter than 64 bytes, got 64 bytes"),
        ("upgrade=0123456789abcdef", "upgrade must be shorter than 16 bytes, got 16 bytes"),
        ("canon", "'canon' is neither key=value nor one of nocanon, interpolate, noquery"),
    ];
    for (param, want) in cases {
        assert_eq!(
            rule_error(&format!("ProxyPass /a http://h/ {param}")),
            format!("{FILE}:2: ProxyPass: {want}"),
            "{param}"
        );
    }
}

#[test]
fn target_errors() {
    let cases = [
        ("ProxyPass", "ProxyPass takes a path and a URL (or !)"),
        ("ProxyPass /a", "ProxyPass takes a path and a URL (or !)"),
        (
            "ProxyPass a http://h/",
            "ProxyPass: path must begin with '/', got 'a'",
        ),
        (
            "ProxyPass ~ ^/x",
            "ProxyPass takes a regular expression and a URL (or !)",
        ),
        (
            "ProxyPass /a h:80",
            "ProxyPass: 'h:80' is not a URL (expected http://host[:port][/path] or !)",
        ),
        (
            "ProxyPass /a balancer://MyCluster/x",
            "ProxyPass: balancer://mycluster is not defined (no <Proxy balancer://mycluster> or BalancerMember balancer://mycluster anywhere)",
        ),
        (
            "ProxyPass /a gopher://h/",
            "ProxyPass: unsupported scheme 'gopher' in 'gopher://h/'",
        ),
        (
            "ProxyPass /a http://h:0/",
            "ProxyPass: bad port '0' in 'http://h:0/'",
        ),
        (
            "ProxyPass /a http://h:65536/",
            "ProxyPass: bad port '65536' in 'http://h:65536/'",
        ),
        (
            "ProxyPass /a http://h:x/",
            "ProxyPass: bad port 'x' in 'http://h:x/'",
        ),
        (
            "ProxyPass /a http:///x",
            "ProxyPass: no host in 'http:///x'",
        ),
        (
            "ProxyPass /a http://u@h/",
            "ProxyPass: user information in 'http://u@h/' is not supported",
        ),
        (
            "ProxyPass /a http://[::1/",
            "ProxyPass: unclosed '[' in the host of 'http://[::1/'",
        ),
        (
            "ProxyPass /a http://h?x/",
            "ProxyPass: bad character '?' in the host of 'http://h?x/'",
        ),
        (
            "ProxyPass /a ! timeout=5",
            "ProxyPass: no parameters are allowed after '!', got 'timeout=5'",
        ),
        (
            "ProxyPass /a ! nocanon",
            "ProxyPass: no parameters are allowed after '!', got 'nocanon'",
        ),
    ];
    for (line, want) in cases {
        assert_eq!(rule_error(line), format!("{FILE}:2: {want}"), "{line}");
    }
    let long = format!("ProxyPass /a http://h/{}", "x".repeat(400));
    assert!(rule_error(&long).contains("is longer than 383 bytes"));
}

#[test]
fn exclusions() {
    let c = config("ProxyPass /balancer-manager !\nProxyPass / http://127.0.0.1:8081/\n");
    assert_eq!(c.proxy_pass[0].target, PassTarget::Exclude);
    assert_eq!(c.proxy_pass[0].params, WorkerParams::default());
    assert_eq!(pass_paths(&c), ["/balancer-manager", "/"]);
    assert!(
        c.warnings.is_empty(),
        "no slash warning for '!': {:?}",
        c.warnings
    );
}

#[test]
fn location_rules_come_first_latest_location_first() {
    let c = config(
        "ProxyPass /server1 http://127.0.0.1:1/s1\n\
         <Location /app>\n\
         ProxyPass http://127.0.0.1:2/app timeout=9\n\
         ProxyPassReverse http://127.0.0.1:2/app\n\
         </Location>\n\
         ProxyPass /server2 http://127.0.0.1:1/s2\n\
         <Location /app/static>\n\
         ProxyPass !\n\
         </Location>\n\
         <Location /other>\n\
         ProxyPassReverse http://127.0.0.1:3/\n\
         </Location>\n",
    );
    assert_eq!(
        pass_paths(&c),
        ["/app/static", "/app", "/server1", "/server2"]
    );
    let from: Vec<bool> = c.proxy_pass.iter().map(|r| r.from_location).collect();
    assert_eq!(from, [true, true, false, false]);
    assert_eq!(c.proxy_pass[1].params.timeout, Some(Duration::from_secs(9)));
    assert_eq!(c.proxy_pass[0].target, PassTarget::Exclude);
    let reverse: Vec<(&str, &str)> = c
        .proxy_pass_reverse
        .iter()
        .map(|r| (r.path.as_str(), r.url.as_str()))
        .collect();
    assert_eq!(
        reverse,
        [
            ("/app", "http://127.0.0.1:2/app"),
            ("/other", "http://127.0.0.1:3/")
        ]
    );
}

#[test]
fn location_proxy_pass_errors() {
    let cases = [
        ("ProxyPass", "ProxyPass inside <Location> takes a URL (or !)"),
        ("ProxyPass /x http://h/", "ProxyPass: inside <Location> the path is the Location's (/l); write ProxyPass URL"),
        ("ProxyPass http://h/\nProxyPass http://h/", "ProxyPass: only one per <Location>; this one already has the one at {FILE}:3"),
        ("ProxyPassReverse /x http://h/", "ProxyPassReverse: inside <Location> the path is the Location's (/l); write ProxyPassReverse URL"),
        ("ProxyPassReverse", "ProxyPassReverse inside <Location> takes a URL [interpolate]"),
    ];
    for (body, want) in cases {
        let text = format!("{LISTEN}<Location /l>\n{body}\n</Location>\n");
        let line = 2 + body.lines().count();
        let want = want.replace("{FILE}", FILE);
        assert_eq!(error(&text), format!("{FILE}:{line}: {want}"), "{body}");
    }
}

#[test]
fn trailing_slash_mismatch_warns() {
    let c = config(
        "ProxyPass /a http://b/\n\
         ProxyPass /c/ http://d\n\
         ProxyPass /e/ http://f/\n\
         ProxyPass /g http://h\n\
         ProxyPass / http://i\n\
         <Location /j>\n\
         ProxyPass http://k/\n\
         </Location>\n",
    );
    assert_eq!(
        c.warnings,
        [
            format!("{FILE}:2: ProxyPass /a http://b/: trailing slashes of path and URL differ; /a/x will be sent as http://b//x"),
            format!("{FILE}:3: ProxyPass /c/ http://d: trailing slashes of path and URL differ; /c/x will be sent as http://dx"),
            format!("{FILE}:6: ProxyPass / http://i: trailing slashes of path and URL differ; /x will be sent as http://ix"),
            format!("{FILE}:8: ProxyPass /j http://k/: trailing slashes of path and URL differ; /j/x will be sent as http://k//x"),
        ]
    );
}

#[test]
fn proxy_pass_reverse_forms() {
    let c = config(
        "ProxyPassReverse /a http://127.0.0.1:8081/a\n\
         ProxyPassReverse /b balancer://c/ interpolate\n\
         ProxyPassReverse / /internal/\n",
    );
    let got: Vec<(&str, &str, bool, usize)> = c
        .proxy_pass_reverse
        .iter()
        .map(|r| {
            (
                r.path.as_str(),
                r.url.as_str(),
                r.interpolate,
                r.origin.line,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("/a", "http://127.0.0.1:8081/a", false, 2),
            ("/b", "balancer://c/", true, 3),
            ("/", "/internal/", false, 4),
        ]
    );
    for (line, want) in [
        (
            "ProxyPassReverse",
            "ProxyPassReverse takes a path and a URL [interpolate]",
        ),
        (
            "ProxyPassReverse http://h/",
            "ProxyPassReverse takes a path and a URL [interpolate]",
        ),
        (
            "ProxyPassReverse /a b c d",
            "ProxyPassReverse takes a path and a URL [interpolate]",
        ),
        (
            "ProxyPassReverse a http://h/",
            "ProxyPassReverse: path must begin with '/', got 'a'",
        ),
        ("ProxyPassReverse /a \"\"", "ProxyPassReverse: empty URL"),
    ] {
        assert_eq!(rule_error(line), format!("{FILE}:2: {want}"), "{line}");
    }
}

#[test]
fn backend_urls() {
    let url = |scheme: &str, host: &str, port: u16, explicit_port: bool, path: &str| BackendUrl {
        scheme: scheme.into(),
        host: host.into(),
        port,
        explicit_port,
        path: path.into(),
    };
    let cases = [
        ("http://h", url("http", "h", 80, false, "")),
        (
            "HTTP://Host.Example:8080/App/",
            url("http", "host.example", 8080, true, "/App/"),
        ),
        ("https://h/x", url("https", "h", 443, false, "/x")),
        ("ws://h:81", url("ws", "h", 81, true, "")),
        ("wss://h", url("wss", "h", 443, false, "")),
        (
            "http://[::1]:8080/a",
            url("http", "[::1]", 8080, true, "/a"),
        ),
        (
            "http://[FE80::1]/",
            url("http", "[fe80::1]", 80, false, "/"),
        ),
        (
            "http://10.0.0.1:80/",
            url("http", "10.0.0.1", 80, true, "/"),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(parse_backend_url(text), Ok(want), "{text}");
    }
    for bad in [
        "h:80",
        "http://",
        "http://h:",
        "http://[::1]x/",
        "http://[nope]/",
        "ftp://h/",
    ] {
        assert!(parse_backend_url(bad).is_err(), "{bad} accepted");
    }
    let long_host = format!("http://{}/", "h".repeat(256));
    assert!(parse_backend_url(&long_host).is_err());
}
