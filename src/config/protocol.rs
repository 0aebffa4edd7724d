//! The main server's HTTP protocol settings (reference §2.1, §8.4, §8.5, §8.7): request
//! limits (`LimitRequestLine`, `LimitRequestFieldSize`, `LimitRequestFields`,
//! `LimitRequestBody`), mod_reqtimeout's `RequestReadTimeout`, and the proxy's streaming
//! and upgrade switches (`ProxyIOBufferSize`, `Proxy100Continue`, `ProxyBadHeader`,
//! `ProxyWebsocketFallbackToProxyHttp`).
//!
//! httpd takes all of them per virtual host too, and some per directory; slotgate takes them
//! for the whole server for now (`build.rs` and `scope.rs` say "not supported yet"
//! elsewhere).

use std::time::Duration;

use super::params::DEFAULT_IO_BUFFER_SIZE;
use super::reader::Directive;
use super::scope::{check, fail, flag, one_arg};
use super::values;
use super::{Config, ConfigError, ProxyBadHeader, RateTimeout, RequestReadTimeout};

/// httpd's `DEFAULT_LIMIT_REQUEST_LINE`.
pub(super) const DEFAULT_LIMIT_REQUEST_LINE: usize = 8190;
/// httpd's `DEFAULT_LIMIT_REQUEST_FIELDSIZE`.
pub(super) const DEFAULT_LIMIT_REQUEST_FIELD_SIZE: usize = 8190;
/// httpd's `DEFAULT_LIMIT_REQUEST_FIELDS`.
pub(super) const DEFAULT_LIMIT_REQUEST_FIELDS: usize = 100;
/// httpd's `AP_DEFAULT_LIMIT_REQUEST_BODY` since 2.4.54 (1 GiB; 0 = unlimited before).
pub(super) const DEFAULT_LIMIT_REQUEST_BODY: u64 = 1 << 30;
/// The largest `LimitRequestLine` / `LimitRequestFieldSize` slotgate takes. httpd takes any
/// non-negative int; a line of more than 1 MiB is an attack, not a request.
const MAX_LINE_LIMIT: i64 = 1 << 20;
/// The documented upper bound of `LimitRequestFields`.
const MAX_FIELDS: i64 = 32767;

/// The `ProxyIOBufferSize` default.
pub(super) const DEFAULT_PROXY_IO_BUFFER_SIZE: usize = DEFAULT_IO_BUFFER_SIZE;

/// One of this module's directives, applied to `c`. Ok(false) when `d` is none of them.
pub(super) fn directive(c: &mut Config, d: &Directive) -> Result<bool, ConfigError> {
    match d.name.to_ascii_lowercase().as_str() {
        "limitrequestline" => c.limit_request_line = line_limit(d, "LimitRequestLine")?,
        "limitrequestfieldsize" => {
            c.limit_request_field_size = line_limit(d, "LimitRequestFieldSize")?
        }
        "limitrequestfields" => {
            let arg = one_arg(d, "LimitRequestFields")?;
            let n = check(d, values::integer("LimitRequestFields", arg, 0, MAX_FIELDS))?;
            c.limit_request_fields = n as usize;
        }
        "limitrequestbody" => {
            c.limit_request_body = check(d, request_body(one_arg(d, "LimitRequestBody")?))?
        }
        "requestreadtimeout" => check(
            d,
            apply_request_read_timeout(&mut c.request_read_timeout, &d.args),
        )?,
        "proxywebsocketfallbacktoproxyhttp" => {
            c.proxy_websocket_fallback = flag(d, "ProxyWebsocketFallbackToProxyHttp")?
        }
        "proxyiobuffersize" => {
            let arg = one_arg(d, "ProxyIOBufferSize")?;
            c.proxy_io_buffer_size = match check(d, values::buffer_size("ProxyIOBufferSize", arg))?
            {
                0 => DEFAULT_PROXY_IO_BUFFER_SIZE,
                n => n,
            };
        }
        "proxy100continue" => c.proxy_100_continue = flag(d, "Proxy100Continue")?,
        "proxybadheader" => {
            let arg = one_arg(d, "ProxyBadHeader")?;
            c.proxy_bad_header = match arg.to_ascii_lowercase().as_str() {
                "iserror" => ProxyBadHeader::IsError,
                "ignore" => ProxyBadHeader::Ignore,
                "startbody" => ProxyBadHeader::StartBody,
                _ => {
                    return Err(fail(
                        d,
                        format!(
                            "ProxyBadHeader: expected IsError, Ignore or StartBody, got '{arg}'"
                        ),
                    ))
                }
            };
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// `LimitRequestLine` / `LimitRequestFieldSize`: bytes from 1 to 1 MiB.
fn line_limit(d: &Directive, name: &str) -> Result<usize, ConfigError> {
    let arg = one_arg(d, name)?;
    Ok(check(d, values::integer(name, arg, 1, MAX_LINE_LIMIT))? as usize)
}

/// `LimitRequestBody`: bytes from 0 (unlimited) to 2^63-1, httpd's `apr_off_t` range.
fn request_body(value: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "LimitRequestBody must be a number of bytes from 0 (unlimited) to {}, got '{value}'",
            i64::MAX
        )
    };
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match value.parse::<u64>() {
        Ok(n) if n <= i64::MAX as u64 => Ok(n),
        _ => Err(bad()),
    }
}

/// Applies the `key=value` words of one `RequestReadTimeout` line to `rrt`, in order. A
/// stage named replaces that stage as a whole; the others keep what they had (the default,
/// or an earlier line's value), as in mod_reqtimeout.
pub(super) fn apply_request_read_timeout(
    rrt: &mut RequestReadTimeout,
    words: &[String],
) -> Result<(), String> {
    if words.is_empty() {
        return Err(
            "RequestReadTimeout takes one or more of handshake=…, header=…, body=…".to_string(),
        );
    }
    for word in words {
        let Some((key, value)) = word.split_once('=') else {
            return Err(format!(
                "RequestReadTimeout: parameters must be key=value (handshake=, header= or body=), got '{word}'"
            ));
        };
        let stage = match key.to_ascii_lowercase().as_str() {
            "handshake" => &mut rrt.handshake,
            "header" => &mut rrt.header,
            "body" => &mut rrt.body,
            _ => {
                return Err(format!(
                    "RequestReadTimeout: unknown parameter '{key}' in '{word}' (expected handshake, header or body)"
                ))
            }
        };
        *stage = rate_timeout(value).map_err(|m| format!("RequestReadTimeout: {word}: {m}"))?;
    }
    Ok(())
}

/// One stage: `T`, `T,MinRate=R` or `T-MAX,MinRate=R` (whole seconds, bytes per second;
/// `MinRate` in any case). None when `T` is 0: the stage is off. A `MAX` of 0 means no
/// maximum, as in httpd.
fn rate_timeout(value: &str) -> Result<Option<RateTimeout>, String> {
    const MIN_RATE: &str = ",minrate=";
    // to_ascii_lowercase keeps byte offsets, so the index is valid in `value`.
    let (times, rate) = match value.to_ascii_lowercase().find(MIN_RATE) {
        Some(i) => (&value[..i], Some(&value[i + MIN_RATE.len()..])),
        None => (value, None),
    };
    let min_rate = match rate {
        None => 0,
        Some(r) => match number(r) {
            Some(0) => return Err("MinRate must be at least 1 byte per second".to_string()),
            Some(n) => n,
            None => {
                return Err(format!(
                    "MinRate: expected a whole number of bytes per second, got '{r}'"
                ))
            }
        },
    };
    let (first, max) = match times.split_once('-') {
        Some((first, max)) => (first, Some(max)),
        None => (times, None),
    };
    let seconds =
        |s: &str| number(s).ok_or_else(|| format!("expected a whole number of seconds, got '{s}'"));
    // "-5" reads as a range with no start; say what is wrong with the whole of it.
    let first = seconds(if first.is_empty() { times } else { first })?;
    let max = match max {
        None => 0,
        Some(_) if min_rate == 0 => {
            return Err(format!(
                "a timeout range needs MinRate (such as {times},MinRate=500)"
            ))
        }
        Some(m) => seconds(m)?,
    };
    if max != 0 && first >= max {
        return Err(format!(
            "the maximum timeout ({max}) must be larger than the initial one ({first})"
        ));
    }
    if first == 0 {
        return Ok(None);
    }
    Ok(Some(RateTimeout {
        first: Duration::from_secs(u64::from(first)),
        max: (max != 0).then(|| Duration::from_secs(u64::from(max))),
        min_rate,
    }))
}

/// A non-negative decimal that fits httpd's `int`.
fn number(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u32>().ok().filter(|&n| n <= i32::MAX as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    fn rt(first: u64, max: Option<u64>, min_rate: u32) -> Option<RateTimeout> {
        Some(RateTimeout {
            first: secs(first),
            max: max.map(secs),
            min_rate,
        })
    }

    #[test]
    fn stage_forms() {
        let cases = [
            ("20-40,MinRate=500", rt(20, Some(40), 500)),
            ("20-40,minrate=500", rt(20, Some(40), 500)),
            ("10", rt(10, None, 0)),
            ("10,MinRate=1000", rt(10, None, 1000)),
            ("0", None),
            ("0,MinRate=500", None),
            ("0-40,MinRate=5", None),
            ("20-0,MinRate=5", rt(20, None, 5)),
            ("2147483647", rt(2_147_483_647, None, 0)),
        ];
        for (value, want) in cases {
            assert_eq!(rate_timeout(value), Ok(want), "{value}");
        }
    }

    #[test]
    fn stage_errors() {
        let cases = [
            ("", "expected a whole number of seconds, got ''"),
            ("20s", "expected a whole number of seconds, got '20s'"),
            ("-1", "expected a whole number of seconds, got '-1'"),
            ("1.5", "expected a whole number of seconds, got '1.5'"),
            (
                "2147483648",
                "expected a whole number of seconds, got '2147483648'",
            ),
            (
                "20-40",
                "a timeout range needs MinRate (such as 20-40,MinRate=500)",
            ),
            (
                "20-4x,MinRate=5",
                "expected a whole number of seconds, got '4x'",
            ),
            (
                "40-20,MinRate=5",
                "the maximum timeout (20) must be larger than the initial one (40)",
            ),
            (
                "20-20,MinRate=5",
                "the maximum timeout (20) must be larger than the initial one (20)",
            ),
            ("20,MinRate=0", "MinRate must be at least 1 byte per second"),
            (
                "20,MinRate=",
                "MinRate: expected a whole number of bytes per second, got ''",
            ),
            (
                "20,MinRate=5,MinRate=6",
                "MinRate: expected a whole number of bytes per second, got '5,MinRate=6'",
            ),
            (
                "20,foo=1",
                "expected a whole number of seconds, got '20,foo=1'",
            ),
        ];
        for (value, want) in cases {
            assert_eq!(rate_timeout(value), Err(want.to_string()), "{value}");
        }
    }

    #[test]
    fn lines_replace_only_the_stages_they_name() {
        let words = |s: &str| -> Vec<String> { s.split(' ').map(str::to_string).collect() };
        let mut r = RequestReadTimeout::default();
        apply_request_read_timeout(&mut r, &words("header=10")).unwrap();
        assert_eq!(r.header, rt(10, None, 0), "a named stage is replaced whole");
        assert_eq!(r.body, RequestReadTimeout::default().body);
        assert_eq!(r.handshake, None);
        apply_request_read_timeout(&mut r, &words("HANDSHAKE=5 Body=0 header=30,MinRate=100"))
            .unwrap();
        assert_eq!(r.handshake, rt(5, None, 0));
        assert_eq!(r.body, None);
        assert_eq!(r.header, rt(30, None, 100));
        apply_request_read_timeout(&mut r, &words("header=1 header=2")).unwrap();
        assert_eq!(r.header, rt(2, None, 0), "the later word wins");
    }

    #[test]
    fn request_bodies() {
        assert_eq!(request_body("0"), Ok(0));
        assert_eq!(request_body("102400"), Ok(102_400));
        assert_eq!(request_body("9223372036854775807"), Ok(i64::MAX as u64));
        for v in ["9223372036854775808", "-1", "10k", "", "+5", "1e6"] {
            assert_eq!(
                request_body(v),
                Err(format!(
                    "LimitRequestBody must be a number of bytes from 0 (unlimited) to 9223372036854775807, got '{v}'"
                ))
            );
        }
    }
}
