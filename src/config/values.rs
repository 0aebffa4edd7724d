//! Parsers for the value forms httpd uses: On/Off, whole seconds, times with a unit,
//! bounded integers. Each returns a message that starts with `what` (the directive or key
//! name) so callers only add their own prefix.

use std::time::Duration;

/// `On` / `Off`, case-insensitive.
pub(crate) fn on_off(what: &str, value: &str) -> Result<bool, String> {
    if value.eq_ignore_ascii_case("on") {
        Ok(true)
    } else if value.eq_ignore_ascii_case("off") {
        Ok(false)
    } else {
        Err(format!("{what}: expected On or Off, got '{value}'"))
    }
}

/// The leading run of ASCII digits of `value`, and the rest.
fn split_digits(value: &str) -> (&str, &str) {
    let end = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    value.split_at(end)
}

/// A whole number of seconds, at least `min`. httpd reads these with `atoi`, so it takes
/// `timeout=500ms` as 500 seconds; we refuse any unit instead (reference §9 #11).
pub(crate) fn whole_seconds(what: &str, value: &str, min: u64) -> Result<Duration, String> {
    let (digits, rest) = split_digits(value);
    if digits.is_empty() {
        return Err(format!(
            "{what}: expected a whole number of seconds, got '{value}'"
        ));
    }
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{what}: '{value}' is too large"))?;
    if !rest.is_empty() {
        return Err(format!(
            "{what} takes whole seconds without a unit, got '{value}' \
             (httpd would read it as {n} seconds)"
        ));
    }
    if n < min {
        let unit = if min == 1 { "second" } else { "seconds" };
        return Err(format!(
            "{what} must be at least {min} {unit}, got '{value}'"
        ));
    }
    Ok(Duration::from_secs(n))
}

/// The unit a bare number means in [`time`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TimeUnit {
    Millis,
    Seconds,
}

/// A time as httpd's `ap_timeout_parameter_parse`: a whole number with an optional unit
/// `ms`, `s`, `mi` (minutes) or `hr` (hours), case-insensitive; a bare number is in
/// `default_unit`.
pub(crate) fn time(what: &str, value: &str, default_unit: TimeUnit) -> Result<Duration, String> {
    let bad = || format!("{what}: expected a time such as 5, 5s, 500ms, 2mi or 1hr, got '{value}'");
    let (digits, unit) = split_digits(value);
    if digits.is_empty() {
        return Err(bad());
    }
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{what}: '{value}' is too large"))?;
    let millis = match unit.to_ascii_lowercase().as_str() {
        "" => match default_unit {
            TimeUnit::Millis => Some(n),
            TimeUnit::Seconds => n.checked_mul(1000),
        },
        "ms" => Some(n),
        "s" => n.checked_mul(1000),
        "mi" => n.checked_mul(60_000),
        "hr" => n.checked_mul(3_600_000),
        _ => return Err(bad()),
    };
    millis
        .map(Duration::from_millis)
        .ok_or_else(|| format!("{what}: '{value}' is too large"))
}

/// [`time`] that must be at least `min`.
pub(crate) fn time_at_least(
    what: &str,
    value: &str,
    default_unit: TimeUnit,
    min: Duration,
) -> Result<Duration, String> {
    let t = time(what, value, default_unit)?;
    if t < min {
        return Err(format!(
            "{what} must be at least {}, got '{value}'",
            show_duration(min)
        ));
    }
    Ok(t)
}

fn show_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// A decimal integer in `min..=max`. A `max` of `i32::MAX` or more is only mentioned when
/// it is exceeded.
pub(crate) fn integer(what: &str, value: &str, min: i64, max: i64) -> Result<i64, String> {
    let open_ended = max >= i64::from(i32::MAX);
    let range = if open_ended {
        format!("an integer of at least {min}")
    } else {
        format!("an integer from {min} to {max}")
    };
    match value.parse::<i64>() {
        Ok(n) if (min..=max).contains(&n) && !value.starts_with('+') => Ok(n),
        Ok(n) if open_ended && n > max && !value.starts_with('+') => {
            Err(format!("{what}: '{value}' is too large (at most {max})"))
        }
        _ => Err(format!("{what} must be {range}, got '{value}'")),
    }
}

/// A buffer size as httpd's `ProxyIOBufferSize` and `iobuffersize=` take it: 0 (the
/// caller's default) or at least 512 bytes, at most `i32::MAX`. Returns the number as
/// written (0 stays 0).
pub(crate) fn buffer_size(what: &str, value: &str) -> Result<usize, String> {
    match integer(what, value, 0, i64::from(i32::MAX)) {
        Ok(n) if n == 0 || n >= 512 => Ok(n as usize),
        _ => Err(format!("{what} must be 0 or at least 512, got '{value}'")),
    }
}

/// A string shorter than `limit` bytes (httpd's limits count the terminating NUL).
pub(crate) fn short_string(what: &str, value: &str, limit: usize) -> Result<(), String> {
    if value.len() >= limit {
        return Err(format!(
            "{what} must be shorter than {limit} bytes, got {} bytes",
            value.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_off_values() {
        for (v, want) in [("On", true), ("on", true), ("OFF", false), ("off", false)] {
            assert_eq!(on_off("KeepAlive", v), Ok(want));
        }
        for v in ["", "yes", "1", "onn"] {
            assert_eq!(
                on_off("KeepAlive", v),
                Err(format!("KeepAlive: expected On or Off, got '{v}'"))
            );
        }
    }

    #[test]
    fn whole_second_values() {
        assert_eq!(whole_seconds("timeout", "5", 1), Ok(Duration::from_secs(5)));
        assert_eq!(whole_seconds("retry", "0", 0), Ok(Duration::ZERO));
        let cases = [
            ("timeout", "0", 1, "timeout must be at least 1 second, got '0'"),
            (
                "timeout",
                "500ms",
                1,
                "timeout takes whole seconds without a unit, got '500ms' (httpd would read it as 500 seconds)",
            ),
            (
                "ttl",
                "5s",
                1,
                "ttl takes whole seconds without a unit, got '5s' (httpd would read it as 5 seconds)",
            ),
            ("retry", "-1", 0, "retry: expected a whole number of seconds, got '-1'"),
            ("retry", "", 0, "retry: expected a whole number of seconds, got ''"),
            ("retry", "99999999999999999999999", 0, "retry: '99999999999999999999999' is too large"),
        ];
        for (what, v, min, want) in cases {
            assert_eq!(whole_seconds(what, v, min), Err(want.to_string()), "{v}");
        }
    }

    #[test]
    fn time_values() {
        let s = TimeUnit::Seconds;
        let ms = TimeUnit::Millis;
        let cases = [
            ("5", s, 5_000),
            ("5", ms, 5),
            ("5s", ms, 5_000),
            ("250ms", s, 250),
            ("250MS", s, 250),
            ("2mi", s, 120_000),
            ("1hr", ms, 3_600_000),
            ("0", s, 0),
        ];
        for (v, unit, millis) in cases {
            assert_eq!(time("t", v, unit), Ok(Duration::from_millis(millis)), "{v}");
        }
        for v in ["", "s", "5m", "5 s", "1.5", "-1", "5sec", "5h"] {
            assert!(time("t", v, s).is_err(), "{v} accepted");
        }
        assert_eq!(
            time_at_least("ping", "0", s, Duration::from_millis(1)),
            Err("ping must be at least 1 ms, got '0'".to_string())
        );
        assert_eq!(
            time_at_least("hcinterval", "50ms", s, Duration::from_millis(100)),
            Err("hcinterval must be at least 100 ms, got '50ms'".to_string())
        );
    }

    #[test]
    fn integer_values() {
        assert_eq!(integer("lbset", "0", 0, 99), Ok(0));
        assert_eq!(integer("lbset", "99", 0, 99), Ok(99));
        assert_eq!(
            integer("lbset", "100", 0, 99),
            Err("lbset must be an integer from 0 to 99, got '100'".to_string())
        );
        assert_eq!(
            integer("min", "-1", 0, i64::MAX),
            Err("min must be an integer of at least 0, got '-1'".to_string())
        );
        assert_eq!(
            integer("max", "2147483648", 0, i64::from(i32::MAX)),
            Err("max: '2147483648' is too large (at most 2147483647)".to_string())
        );
        assert!(integer("min", "+1", 0, 10).is_err());
        for (v, want) in [("0", Ok(0)), ("512", Ok(512)), ("65536", Ok(65536))] {
            assert_eq!(buffer_size("iobuffersize", v), want, "{v}");
        }
        for v in ["511", "1", "-1", "8k", "", "2147483648"] {
            assert_eq!(
                buffer_size("ProxyIOBufferSize", v),
                Err(format!(
                    "ProxyIOBufferSize must be 0 or at least 512, got '{v}'"
                ))
            );
        }
        assert!(integer("min", "1x", 0, 10).is_err());
        assert_eq!(short_string("route", &"r".repeat(63), 64), Ok(()));
        assert_eq!(
            short_string("route", &"r".repeat(64), 64),
            Err("route must be shorter than 64 bytes, got 64 bytes".to_string())
        );
    }
}
