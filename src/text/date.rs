//! Dates and times in the formats slotgate writes: the access log's `%t`
//! ([`clf`]), the error log's stamp ([`error_log`]), server-status's
//! ([`status_time`]) and plain dates ([`ymd`]). One calendar ([`Civil`]) under all
//! of them; the local offset comes from [`super::zone`].

use std::time::{SystemTime, UNIX_EPOCH};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
/// Sunday first, as `tm_wday`.
const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// A moment on the proleptic Gregorian calendar at some offset from UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    /// 1..=12.
    pub month: u32,
    /// 1..=31.
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Sunday.
    pub weekday: u32,
    /// Seconds east of UTC.
    pub offset: i32,
}

impl Civil {
    /// `unix_secs` seen at `offset` seconds east of UTC.
    pub fn at(unix_secs: i64, offset: i32) -> Civil {
        let local = unix_secs + i64::from(offset);
        let days = local.div_euclid(86_400);
        let rem = local.rem_euclid(86_400) as u32;
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem % 3600 / 60,
            second: rem % 60,
            // 1970-01-01 was a Thursday.
            weekday: (days + 4).rem_euclid(7) as u32,
            offset,
        }
    }

    /// `unix_secs` in the local time zone ([`super::zone::local_offset`]).
    pub fn local(unix_secs: i64) -> Civil {
        Civil::at(unix_secs, super::zone::local_offset(unix_secs))
    }

    pub fn month_name(&self) -> &'static str {
        MONTHS[(self.month - 1) as usize]
    }

    pub fn weekday_name(&self) -> &'static str {
        WEEKDAYS[self.weekday as usize]
    }
}

/// Seconds and microseconds since the Unix epoch (0 before it).
pub fn unix_now() -> (i64, u32) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs() as i64, d.subsec_micros())
}

/// The access log's `%t`, as httpd: `[07/Dec/2026:19:53:49 +0000]`, local time
/// with its offset.
pub fn clf(c: &Civil) -> String {
    let mut out = Vec::with_capacity(28);
    write_clf(&mut out, c);
    String::from_utf8(out).unwrap_or_default()
}

/// [`clf`] appended to `out` without allocating (beyond `out`'s own growth).
pub fn write_clf(out: &mut Vec<u8>, c: &Civil) {
    use std::io::Write;
    let _ = write!(
        out,
        "[{:02}/{}/{}:{:02}:{:02}:{:02} ",
        c.day,
        c.month_name(),
        c.year,
        c.hour,
        c.minute,
        c.second,
    );
    write_offset(out, c);
    out.push(b']');
}

/// `strftime`'s `%z` (`+0300`, `-0330`) appended to `out`.
pub fn write_offset(out: &mut Vec<u8>, c: &Civil) {
    use std::io::Write;
    let sign = if c.offset < 0 { '-' } else { '+' };
    let off = c.offset.unsigned_abs();
    let _ = write!(out, "{sign}{:02}{:02}", off / 3600, off % 3600 / 60);
}

/// The error log's stamp, as httpd: `Mon Dec 07 19:53:49.123456 2026` (local
/// time, no offset).
pub fn error_log(c: &Civil, micros: u32) -> String {
    format!(
        "{} {} {:02} {:02}:{:02}:{:02}.{micros:06} {}",
        &c.weekday_name()[..3],
        c.month_name(),
        c.day,
        c.hour,
        c.minute,
        c.second,
        c.year
    )
}

/// httpd's `DEFAULT_TIME_FORMAT` in UTC, as server-status shows times:
/// `Monday, 23-Nov-2026 10:54:31 UTC`.
pub fn status_time(unix_secs: u64) -> String {
    let c = Civil::at(unix_secs as i64, 0);
    format!(
        "{}, {:02}-{}-{} {:02}:{:02}:{:02} UTC",
        c.weekday_name(),
        c.day,
        c.month_name(),
        c.year,
        c.hour,
        c.minute,
        c.second
    )
}

/// `YYYY-MM-DD` (UTC) of `t`.
pub fn ymd(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let c = Civil::at(secs as i64, 0);
    format!("{:04}-{:02}-{:02}", c.year, c.month, c.day)
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month, day) to days since 1970-01-01, the inverse of
/// [`civil_from_days`] (Hinnant's `days_from_civil`).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_both_ways() {
        for (days, ymd) in [
            (0, (1970, 1, 1)),
            (20_414, (2025, 11, 22)),
            (11_016, (2000, 2, 29)),
            (-1, (1969, 12, 31)),
            (-719_468, (0, 3, 1)),
        ] {
            assert_eq!(civil_from_days(days), ymd);
            assert_eq!(days_from_civil(ymd.0, ymd.1, ymd.2), days);
        }
        for days in -1000..1000 {
            let (y, m, d) = civil_from_days(days * 37);
            assert_eq!(days_from_civil(y, m, d), days * 37);
        }
    }

    #[test]
    fn formats() {
        // 2026-12-07 19:53:49 UTC, a Monday.
        let t = 1_796_673_229;
        let utc = Civil::at(t, 0);
        assert_eq!(clf(&utc), "[07/Dec/2026:19:53:49 +0000]");
        assert_eq!(error_log(&utc, 1234), "Mon Dec 07 19:53:49.001234 2026");
        assert_eq!(status_time(t as u64), "Monday, 07-Dec-2026 19:53:49 UTC");
        assert_eq!(clf(&Civil::at(t, 3 * 3600)), "[07/Dec/2026:22:53:49 +0300]");
        assert_eq!(
            clf(&Civil::at(t, -(3 * 3600 + 1800))),
            "[07/Dec/2026:16:23:49 -0330]"
        );
        // Across midnight and the year.
        assert_eq!(
            clf(&Civil::at(1_798_761_599, 5 * 3600 + 45 * 60)),
            "[01/Jan/2027:05:44:59 +0545]"
        );
        assert_eq!(
            ymd(UNIX_EPOCH + std::time::Duration::from_secs(t as u64)),
            "2026-12-07"
        );
    }
}
