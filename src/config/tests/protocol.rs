//! The main server's protocol directives: LimitRequest*, RequestReadTimeout,
//! ProxyIOBufferSize, Proxy100Continue, ProxyBadHeader, ProxyWebsocketFallbackToProxyHttp.

use std::time::Duration;

use super::*;
use crate::config::{ProxyBadHeader, RateTimeout, RequestReadTimeout};

fn rt(first: u64, max: Option<u64>, min_rate: u32) -> Option<RateTimeout> {
    Some(RateTimeout {
        first: Duration::from_secs(first),
        max: max.map(Duration::from_secs),
        min_rate,
    })
}

#[test]
fn defaults_are_httpds() {
    let c = config("");
    assert_eq!(c.limit_request_line, 8190);
    assert_eq!(c.limit_request_field_size, 8190);
    assert_eq!(c.limit_request_fields, 100);
    assert_eq!(c.limit_request_body, 1_073_741_824);
    assert_eq!(
        c.request_read_timeout,
        RequestReadTimeout {
            header: rt(20, Some(40), 500),
            body: rt(20, None, 500),
            handshake: None,
        }
    );
    assert_eq!(c.request_read_timeout, RequestReadTimeout::default());
    assert!(c.proxy_websocket_fallback);
    assert_eq!(c.proxy_io_buffer_size, 8192);
    assert!(c.proxy_100_continue);
    assert_eq!(c.proxy_bad_header, ProxyBadHeader::IsError);
}

#[test]
fn values() {
    let c = config(
        "LimitRequestLine 4094\n\
         limitrequestfieldsize 16380\n\
         LimitRequestFields 0\n\
         LimitRequestBody 0\n\
         ProxyWebsocketFallbackToProxyHttp off\n\
         ProxyIOBufferSize 65536\n\
         Proxy100Continue OFF\n\
         ProxyBadHeader startbody\n",
    );
    assert_eq!(c.limit_request_line, 4094);
    assert_eq!(c.limit_request_field_size, 16380);
    assert_eq!(c.limit_request_fields, 0, "0 = unlimited, stored as 0");
    assert_eq!(c.limit_request_body, 0, "0 = unlimited, stored as 0");
    assert!(!c.proxy_websocket_fallback);
    assert_eq!(c.proxy_io_buffer_size, 65536);
    assert!(!c.proxy_100_continue);
    assert_eq!(c.proxy_bad_header, ProxyBadHeader::StartBody);
}

#[test]
fn value_tables() {
    type Check = fn(&Config) -> u64;
    let cases: &[(&str, Check, u64)] = &[
        ("LimitRequestLine 1", |c| c.limit_request_line as u64, 1),
        (
            "LimitRequestLine 1048576",
            |c| c.limit_request_line as u64,
            1_048_576,
        ),
        (
            "LimitRequestFieldSize 1",
            |c| c.limit_request_field_size as u64,
            1,
        ),
        (
            "LimitRequestFieldSize 1048576",
            |c| c.limit_request_field_size as u64,
            1_048_576,
        ),
        (
            "LimitRequestFields 32767",
            |c| c.limit_request_fields as u64,
            32767,
        ),
        ("LimitRequestBody 102400", |c| c.limit_request_body, 102_400),
        (
            "LimitRequestBody 9223372036854775807",
            |c| c.limit_request_body,
            i64::MAX as u64,
        ),
        (
            "ProxyIOBufferSize 0",
            |c| c.proxy_io_buffer_size as u64,
            8192,
        ),
        (
            "ProxyIOBufferSize 512",
            |c| c.proxy_io_buffer_size as u64,
            512,
        ),
        (
            "ProxyBadHeader IsError",
            |c| c.proxy_bad_header as u64,
            ProxyBadHeader::IsError as u64,
        ),
        (
            "ProxyBadHeader ignore",
            |c| c.proxy_bad_header as u64,
            ProxyBadHeader::Ignore as u64,
        ),
        (
            "ProxyBadHeader STARTBODY",
            |c| c.proxy_bad_header as u64,
            ProxyBadHeader::StartBody as u64,
        ),
        ("Proxy100Continue On", |c| c.proxy_100_continue as u64, 1),
        ("Proxy100Continue Off", |c| c.proxy_100_continue as u64, 0),
        (
            "ProxyWebsocketFallbackToProxyHttp On",
            |c| c.proxy_websocket_fallback as u64,
            1,
        ),
        (
            "ProxyWebsocketFallbackToProxyHttp Off",
            |c| c.proxy_websocket_fallback as u64,
            0,
        ),
        (
            "LimitRequestLine 100\nLimitRequestLine 200",
            |c| c.limit_request_line as u64,
            200,
        ),
    ];
    for (text, get, want) in cases {
        assert_eq!(get(&config(&format!("{text}\n"))), *want, "{text}");
    }
}

#[test]
fn value_errors_name_file_and_line() {
    let body =
        "LimitRequestBody must be a number of bytes from 0 (unlimited) to 9223372036854775807";
    let cases = [
        (
            "LimitRequestLine 0",
            "LimitRequestLine must be an integer from 1 to 1048576, got '0'".to_string(),
        ),
        (
            "LimitRequestLine 1048577",
            "LimitRequestLine must be an integer from 1 to 1048576, got '1048577'".to_string(),
        ),
        (
            "LimitRequestLine -1",
            "LimitRequestLine must be an integer from 1 to 1048576, got '-1'".to_string(),
        ),
        (
            "LimitRequestLine 8k",
            "LimitRequestLine must be an integer from 1 to 1048576, got '8k'".to_string(),
        ),
        (
            "LimitRequestLine",
            "LimitRequestLine takes one argument, got 0".to_string(),
        ),
        (
            "LimitRequestFieldSize 0",
            "LimitRequestFieldSize must be an integer from 1 to 1048576, got '0'".to_string(),
        ),
        (
            "LimitRequestFieldSize abc",
            "LimitRequestFieldSize must be an integer from 1 to 1048576, got 'abc'".to_string(),
        ),
        (
            "LimitRequestFields -1",
            "LimitRequestFields must be an integer from 0 to 32767, got '-1'".to_string(),
        ),
        (
            "LimitRequestFields 32768",
            "LimitRequestFields must be an integer from 0 to 32767, got '32768'".to_string(),
        ),
        (
            "LimitRequestFields 1 2",
            "LimitRequestFields takes one argument, got 2".to_string(),
        ),
        ("LimitRequestBody -1", format!("{body}, got '-1'")),
        ("LimitRequestBody 10k", format!("{body}, got '10k'")),
        (
            "LimitRequestBody 9223372036854775808",
            format!("{body}, got '9223372036854775808'"),
        ),
        (
            "ProxyIOBufferSize 100",
            "ProxyIOBufferSize must be 0 or at least 512, got '100'".to_string(),
        ),
        (
            "ProxyIOBufferSize -1",
            "ProxyIOBufferSize must be 0 or at least 512, got '-1'".to_string(),
        ),
        (
            "ProxyIOBufferSize 8k",
            "ProxyIOBufferSize must be 0 or at least 512, got '8k'".to_string(),
        ),
        (
            "ProxyBadHeader foo",
            "ProxyBadHeader: expected IsError, Ignore or StartBody, got 'foo'".to_string(),
        ),
        (
            "ProxyBadHeader",
            "ProxyBadHeader takes one argument, got 0".to_string(),
        ),
        (
            "Proxy100Continue yes",
            "Proxy100Continue: expected On or Off, got 'yes'".to_string(),
        ),
        (
            "ProxyWebsocketFallbackToProxyHttp 1",
            "ProxyWebsocketFallbackToProxyHttp: expected On or Off, got '1'".to_string(),
        ),
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
fn request_read_timeout_forms() {
    let default = RequestReadTimeout::default();
    let cases = [
        (
            "header=20-40,MinRate=500 body=20,MinRate=500",
            RequestReadTimeout {
                header: rt(20, Some(40), 500),
                body: rt(20, None, 500),
                handshake: None,
            },
        ),
        (
            "header=10",
            RequestReadTimeout {
                header: rt(10, None, 0),
                ..default
            },
        ),
        (
            "body=10,MinRate=1000",
            RequestReadTimeout {
                body: rt(10, None, 1000),
                ..default
            },
        ),
        (
            "header=0",
            RequestReadTimeout {
                header: None,
                ..default
            },
        ),
        (
            "header=0 body=0",
            RequestReadTimeout {
                header: None,
                body: None,
                handshake: None,
            },
        ),
        (
            "handshake=5",
            RequestReadTimeout {
                handshake: rt(5, None, 0),
                ..default
            },
        ),
        (
            "handshake=5-10,MinRate=50 header=15-30,minrate=250 body=60",
            RequestReadTimeout {
                handshake: rt(5, Some(10), 50),
                header: rt(15, Some(30), 250),
                body: rt(60, None, 0),
            },
        ),
        (
            "HEADER=7 Body=8",
            RequestReadTimeout {
                header: rt(7, None, 0),
                body: rt(8, None, 0),
                handshake: None,
            },
        ),
        (
            "header=1 header=2,MinRate=9",
            RequestReadTimeout {
                header: rt(2, None, 9),
                ..default
            },
        ),
        (
            "\"header=5\" \"body=6\"",
            RequestReadTimeout {
                header: rt(5, None, 0),
                body: rt(6, None, 0),
                handshake: None,
            },
        ),
    ];
    for (args, want) in cases {
        let c = config(&format!("RequestReadTimeout {args}\n"));
        assert_eq!(c.request_read_timeout, want, "RequestReadTimeout {args}");
    }
    // Several lines: each replaces only the stages it names.
    let c = config("RequestReadTimeout header=10\nRequestReadTimeout body=0\n");
    assert_eq!(
        c.request_read_timeout,
        RequestReadTimeout {
            header: rt(10, None, 0),
            body: None,
            handshake: None
        }
    );
}

#[test]
fn request_read_timeout_errors() {
    let cases = [
        ("", "RequestReadTimeout takes one or more of handshake=…, header=…, body=…"),
        ("header", "RequestReadTimeout: parameters must be key=value (handshake=, header= or body=), got 'header'"),
        ("header=10 body", "RequestReadTimeout: parameters must be key=value (handshake=, header= or body=), got 'body'"),
        ("foo=1", "RequestReadTimeout: unknown parameter 'foo' in 'foo=1' (expected handshake, header or body)"),
        ("header=20-40", "RequestReadTimeout: header=20-40: a timeout range needs MinRate (such as 20-40,MinRate=500)"),
        ("body=20,MinRate=0", "RequestReadTimeout: body=20,MinRate=0: MinRate must be at least 1 byte per second"),
        ("header=40-20,MinRate=5", "RequestReadTimeout: header=40-20,MinRate=5: the maximum timeout (20) must be larger than the initial one (40)"),
        ("header=20s", "RequestReadTimeout: header=20s: expected a whole number of seconds, got '20s'"),
        ("header=-1", "RequestReadTimeout: header=-1: expected a whole number of seconds, got '-1'"),
        ("header=", "RequestReadTimeout: header=: expected a whole number of seconds, got ''"),
        ("body=10,MinRate=fast", "RequestReadTimeout: body=10,MinRate=fast: MinRate: expected a whole number of bytes per second, got 'fast'"),
        ("header=10 body=20-x,MinRate=5", "RequestReadTimeout: body=20-x,MinRate=5: expected a whole number of seconds, got 'x'"),
    ];
    for (args, want) in cases {
        assert_eq!(
            error(&format!("{LISTEN}RequestReadTimeout {args}\n")),
            format!("{FILE}:2: {want}"),
            "RequestReadTimeout {args}"
        );
    }
}

/// The directives this module added, with a valid argument each.
const EVERY: &[&str] = &[
    "LimitRequestLine 100",
    "LimitRequestFieldSize 100",
    "LimitRequestFields 10",
    "LimitRequestBody 10",
    "RequestReadTimeout header=5",
    "ProxyWebsocketFallbackToProxyHttp Off",
    "ProxyIOBufferSize 1024",
    "Proxy100Continue Off",
    "ProxyBadHeader Ignore",
];

#[test]
fn main_server_only_for_now() {
    for line in EVERY {
        let name = line.split(' ').next().unwrap();
        let text = format!("{LISTEN}<VirtualHost *:80>\nServerName a\n{line}\n</VirtualHost>\n");
        assert_eq!(
            error(&text),
            format!(
                "{FILE}:4: {name} inside <VirtualHost> is not supported yet (set it for the whole server)"
            ),
            "{line}"
        );
    }
}

#[test]
fn inside_location_and_proxy_sections() {
    // httpd takes these three per directory too: "not supported yet"; the others are
    // server-level only (httpd: "not allowed in <Location> context").
    let per_directory = [
        "LimitRequestBody",
        "Proxy100Continue",
        "ProxyWebsocketFallbackToProxyHttp",
    ];
    let sections = [
        ("<Location /a>", "</Location>", "Location"),
        ("<Proxy http://127.0.0.1:1/>", "</Proxy>", "Proxy"),
    ];
    for line in EVERY {
        let name = line.split(' ').next().unwrap();
        for (open, close, tag) in sections {
            let text = format!("{LISTEN}{open}\n{line}\n{close}\n");
            let want = if per_directory.contains(&name) {
                format!("{FILE}:3: {name} inside <{tag}> is not supported yet")
            } else {
                format!("{FILE}:3: {name} cannot occur within <{tag}> section")
            };
            assert_eq!(error(&text), want, "{line} in {open}");
        }
    }
}
