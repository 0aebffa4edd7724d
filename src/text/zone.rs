//! The local time zone, found as the C library finds it, so `%t` in the access
//! log shows what httpd (which asks `localtime_r`) would show:
//!
//! - `TZ` unset: the zone file `/etc/localtime` (UTC when there is none);
//! - `TZ` empty: UTC;
//! - `TZ=:NAME` or `TZ=NAME`: the zone file `NAME` (absolute, or under `$TZDIR`,
//!   default `/usr/share/zoneinfo`); when `TZ` has no `:` and names no file, a
//!   POSIX rule such as `UTC-3`, `<+0545>-5:45` or `EST5EDT,M3.2.0,M11.1.0`;
//! - anything unreadable: UTC.
//!
//! Zone files are TZif (RFC 8536): the transitions, then the POSIX rule of its
//! footer after the last one. The zone is read once per process, on first use
//! (the supervisor reads it before forking, see `logging::init`).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::date::days_from_civil;

/// Seconds east of UTC of local time at `unix_secs`.
pub fn local_offset(unix_secs: i64) -> i32 {
    static ZONE: OnceLock<Zone> = OnceLock::new();
    ZONE.get_or_init(|| {
        let tz = std::env::var("TZ").ok();
        let dir = std::env::var_os("TZDIR")
            .map_or_else(|| PathBuf::from("/usr/share/zoneinfo"), PathBuf::from);
        Zone::find(tz.as_deref(), &dir, |p| std::fs::read(p).ok())
    })
    .offset_at(unix_secs)
}

/// A time zone: a fixed offset, a POSIX rule, or a zone file's transitions.
#[derive(Clone, Debug, PartialEq)]
pub enum Zone {
    Fixed(i32),
    Rule(PosixTz),
    File(TzFile),
}

impl Zone {
    /// The zone `tz` (the value of `TZ`, None when unset) names, zone files read
    /// by `read` from `dir` (see the module comment).
    pub fn find(tz: Option<&str>, dir: &Path, read: impl Fn(&Path) -> Option<Vec<u8>>) -> Zone {
        let file = |name: &str| -> Option<Zone> {
            let path = if name.starts_with('/') {
                PathBuf::from(name)
            } else if name.split('/').any(|part| part == "..") {
                return None;
            } else {
                dir.join(name)
            };
            TzFile::parse(&read(&path)?).map(Zone::File)
        };
        match tz {
            None => file("/etc/localtime").unwrap_or(Zone::Fixed(0)),
            Some("") => Zone::Fixed(0),
            Some(tz) => match tz.strip_prefix(':') {
                Some(name) => file(name).unwrap_or(Zone::Fixed(0)),
                None => file(tz)
                    .or_else(|| PosixTz::parse(tz).map(Zone::Rule))
                    .unwrap_or(Zone::Fixed(0)),
            },
        }
    }

    /// Seconds east of UTC at `t`.
    pub fn offset_at(&self, t: i64) -> i32 {
        match self {
            Zone::Fixed(off) => *off,
            Zone::Rule(rule) => rule.offset_at(t),
            Zone::File(file) => file.offset_at(t),
        }
    }
}

/// A POSIX `TZ` rule: standard time, and daylight saving time between two
/// dates each year.
#[derive(Clone, Debug, PartialEq)]
pub struct PosixTz {
    /// Seconds east of UTC (POSIX writes west: `UTC-3` is +3 h).
    std_offset: i32,
    dst: Option<Dst>,
}

#[derive(Clone, Debug, PartialEq)]
struct Dst {
    offset: i32,
    start: Change,
    end: Change,
}

/// When a change happens: a day of the year and a local time of that day.
#[derive(Clone, Debug, PartialEq)]
struct Change {
    day: Day,
    /// Seconds after local midnight (may be negative or past 24 h).
    time: i64,
}

#[derive(Clone, Debug, PartialEq)]
enum Day {
    /// `Jn`: 1..=365, February 29 never counted.
    NoLeap(u32),
    /// `n`: 0..=365, February 29 counted.
    Leap(u32),
    /// `Mm.w.d`: weekday d (0 = Sunday) of week w (5 = the last) of month m.
    Week { month: u32, week: u32, weekday: u32 },
}

impl PosixTz {
    /// `std offset [dst [offset] [,start[/time],end[/time]]]`; None when malformed.
    pub fn parse(s: &str) -> Option<PosixTz> {
        let (_, rest) = name(s)?;
        let (west, rest) = offset(rest)?;
        let std_offset = -west;
        if rest.is_empty() {
            return Some(PosixTz {
                std_offset,
                dst: None,
            });
        }
        let (_, rest) = name(rest)?;
        let (dst_offset, rest) = match rest.chars().next() {
            Some(c) if c.is_ascii_digit() || c == '+' || c == '-' => {
                let (west, rest) = offset(rest)?;
                (-west, rest)
            }
            _ => (std_offset + 3600, rest),
        };
        // No rule: the US rule, as glibc assumes.
        let rules = if rest.is_empty() {
            ",M3.2.0,M11.1.0"
        } else {
            rest
        };
        let rules = rules.strip_prefix(',')?;
        let (start, end) = rules.split_once(',')?;
        Some(PosixTz {
            std_offset,
            dst: Some(Dst {
                offset: dst_offset,
                start: change(start)?,
                end: change(end)?,
            }),
        })
    }

    /// Seconds east of UTC at `t`.
    pub fn offset_at(&self, t: i64) -> i32 {
        let Some(dst) = &self.dst else {
            return self.std_offset;
        };
        let year = super::date::Civil::at(t, self.std_offset).year;
        // Each change happens at a local time: the start in standard time, the end in
        // daylight saving time.
        let start = dst.start.local_secs(year) - i64::from(self.std_offset);
        let end = dst.end.local_secs(year) - i64::from(dst.offset);
        let in_dst = if start < end {
            start <= t && t < end
        } else {
            !(end <= t && t < start)
        };
        if in_dst {
            dst.offset
        } else {
            self.std_offset
        }
    }
}

impl Change {
    /// Local seconds since the epoch of this change in `year`.
    fn local_secs(&self, year: i64) -> i64 {
        let jan1 = days_from_civil(year, 1, 1);
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let day = match self.day {
            Day::NoLeap(n) => jan1 + i64::from(n) - 1 + i64::from(leap && n >= 60),
            Day::Leap(n) => jan1 + i64::from(n),
            Day::Week {
                month,
                week,
                weekday,
            } => {
                let first = days_from_civil(year, month, 1);
                let next_month = if month == 12 {
                    days_from_civil(year + 1, 1, 1)
                } else {
                    days_from_civil(year, month + 1, 1)
                };
                let first_weekday = (first + 4).rem_euclid(7);
                let mut day = first
                    + (i64::from(weekday) - first_weekday).rem_euclid(7)
                    + 7 * (i64::from(week) - 1);
                while day >= next_month {
                    day -= 7;
                }
                day
            }
        };
        day * 86_400 + self.time
    }
}

/// A zone name: `<…>` quoted, or three or more letters. Returns (name, rest).
fn name(s: &str) -> Option<(&str, &str)> {
    if let Some(quoted) = s.strip_prefix('<') {
        let close = quoted.find('>')?;
        return Some((&quoted[..close], &quoted[close + 1..]));
    }
    let len = s
        .find(|c: char| !c.is_ascii_alphabetic())
        .unwrap_or(s.len());
    (len >= 3).then(|| (&s[..len], &s[len..]))
}

/// `[+-]hh[:mm[:ss]]` as seconds (sign kept as written). Returns (secs, rest).
fn offset(s: &str) -> Option<(i32, &str)> {
    let (secs, rest) = clock(s, 24)?;
    Some((secs as i32, rest))
}

/// `[+-]h[h[h]][:mm[:ss]]` with at most `max_hours` hours.
fn clock(s: &str, max_hours: i64) -> Option<(i64, &str)> {
    let (sign, s) = match s.as_bytes().first() {
        Some(b'-') => (-1, &s[1..]),
        Some(b'+') => (1, &s[1..]),
        _ => (1, s),
    };
    let mut rest = s;
    let mut total = 0;
    for (i, (limit, scale)) in [(max_hours, 3600), (59, 60), (59, 1)]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            match rest.strip_prefix(':') {
                Some(r) => rest = r,
                None => break,
            }
        }
        let len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if len == 0 || len > 3 {
            return None;
        }
        let n: i64 = rest[..len].parse().ok()?;
        if n > limit {
            return None;
        }
        total += n * scale;
        rest = &rest[len..];
    }
    Some((sign * total, rest))
}

/// `date[/time]` of a rule.
fn change(s: &str) -> Option<Change> {
    let (date, time) = match s.split_once('/') {
        Some((d, t)) => {
            let (secs, rest) = clock(t, 167)?;
            if !rest.is_empty() {
                return None;
            }
            (d, secs)
        }
        None => (s, 7200),
    };
    let number =
        |t: &str, lo: u32, hi: u32| t.parse::<u32>().ok().filter(|n| (lo..=hi).contains(n));
    let day = if let Some(n) = date.strip_prefix('J') {
        Day::NoLeap(number(n, 1, 365)?)
    } else if let Some(mwd) = date.strip_prefix('M') {
        let mut parts = mwd.split('.');
        let month = number(parts.next()?, 1, 12)?;
        let week = number(parts.next()?, 1, 5)?;
        let weekday = number(parts.next()?, 0, 6)?;
        if parts.next().is_some() {
            return None;
        }
        Day::Week {
            month,
            week,
            weekday,
        }
    } else {
        Day::Leap(number(date, 0, 365)?)
    };
    Some(Change { day, time })
}

/// A TZif zone file: its transitions and, for times after the last one, its
/// footer's POSIX rule.
#[derive(Clone, Debug, PartialEq)]
pub struct TzFile {
    /// Transition times, ascending, with the offset (east) in force from each.
    transitions: Vec<(i64, i32)>,
    /// The offset before the first transition (the first local time type).
    initial: i32,
    footer: Option<PosixTz>,
}

impl TzFile {
    /// Reads a TZif file (version 1, 2, 3 or 4); None when it is not one.
    pub fn parse(b: &[u8]) -> Option<TzFile> {
        let header = |at: usize| -> Option<(u8, [usize; 6])> {
            if b.get(at..at + 4)? != b"TZif" {
                return None;
            }
            let mut counts = [0usize; 6];
            for (i, c) in counts.iter_mut().enumerate() {
                let o = at + 20 + 4 * i;
                *c = u32::from_be_bytes(b.get(o..o + 4)?.try_into().ok()?) as usize;
            }
            Some((*b.get(at + 4)?, counts))
        };
        let (version, counts) = header(0)?;
        let block = |counts: [usize; 6], time_size: usize| {
            let [isut, isstd, leap, time, typ, chars] = counts;
            time * (time_size + 1) + typ * 6 + chars + leap * (time_size + 4) + isstd + isut
        };
        let (at, counts, time_size) = if version >= b'2' {
            let second = 44 + block(counts, 4);
            let (_, counts) = header(second)?;
            (second + 44, counts, 8)
        } else {
            (44, counts, 4)
        };
        let [_, _, _, time_count, type_count, _] = counts;
        if type_count == 0 {
            return None;
        }
        let data = b.get(at..at + block(counts, time_size))?;
        let types_at = time_count * (time_size + 1);
        let offset_of = |i: usize| -> Option<i32> {
            let o = types_at + 6 * i;
            Some(i32::from_be_bytes(data.get(o..o + 4)?.try_into().ok()?))
        };
        let mut transitions = Vec::with_capacity(time_count);
        for i in 0..time_count {
            let raw = &data[i * time_size..(i + 1) * time_size];
            let t = if time_size == 8 {
                i64::from_be_bytes(raw.try_into().ok()?)
            } else {
                i64::from(i32::from_be_bytes(raw.try_into().ok()?))
            };
            let kind = usize::from(data[time_count * time_size + i]);
            if kind >= type_count {
                return None;
            }
            transitions.push((t, offset_of(kind)?));
        }
        let footer = if version >= b'2' {
            let rest = b.get(at + data.len()..)?;
            let text = std::str::from_utf8(rest.strip_prefix(b"\n")?).ok()?;
            let rule = text.split('\n').next()?;
            PosixTz::parse(rule)
        } else {
            None
        };
        Some(TzFile {
            transitions,
            initial: offset_of(0)?,
            footer,
        })
    }

    /// Seconds east of UTC at `t`.
    pub fn offset_at(&self, t: i64) -> i32 {
        let n = self.transitions.partition_point(|&(at, _)| at <= t);
        match (n, &self.footer) {
            (0, Some(rule)) if self.transitions.is_empty() => rule.offset_at(t),
            (0, _) => self.initial,
            (n, Some(rule)) if n == self.transitions.len() => rule.offset_at(t),
            (n, _) => self.transitions[n - 1].1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-07 19:53:49 UTC and 2026-07-07 19:53:49 UTC.
    const WINTER: i64 = 1_796_673_229;
    const SUMMER: i64 = 1_783_454_029;

    fn rule(s: &str) -> PosixTz {
        PosixTz::parse(s).unwrap_or_else(|| panic!("{s} should parse"))
    }

    #[test]
    fn posix_rules() {
        // (TZ, offset in winter, offset in summer), hours east × 3600.
        let cases: &[(&str, i32, i32)] = &[
            ("UTC0", 0, 0),
            ("UTC-3", 3 * 3600, 3 * 3600),
            ("<+0545>-5:45", 5 * 3600 + 2700, 5 * 3600 + 2700),
            ("EST5EDT,M3.2.0,M11.1.0", -5 * 3600, -4 * 3600),
            ("EST5EDT", -5 * 3600, -4 * 3600),
            ("CET-1CEST,M3.5.0,M10.5.0/3", 3600, 7200),
            (
                "NST3:30NDT,M3.2.0,M11.1.0",
                -(3 * 3600 + 1800),
                -(2 * 3600 + 1800),
            ),
            // Southern hemisphere: summer in December.
            ("AEST-10AEDT,M10.1.0,M4.1.0/3", 11 * 3600, 10 * 3600),
            ("XXX3YYY,J60/2,300", -3 * 3600, -2 * 3600),
        ];
        for &(tz, winter, summer) in cases {
            let r = rule(tz);
            assert_eq!(
                (r.offset_at(WINTER), r.offset_at(SUMMER)),
                (winter, summer),
                "{tz}"
            );
        }
        for bad in [
            "",
            "U",
            "UTC",
            "UTC+25",
            "EST5EDT,M13.1.0,M11.1.0",
            "<abc",
            "EST5EDT,M3.2.0",
        ] {
            assert_eq!(PosixTz::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn dst_changes_at_the_local_time_the_rule_says() {
        // US 2026: DST from Sunday 8 March 02:00 EST (07:00 UTC) to Sunday 1 November
        // 02:00 EDT (06:00 UTC).
        let r = rule("EST5EDT,M3.2.0,M11.1.0");
        let at = |y, m, d, h: i64| days_from_civil(y, m, d) * 86_400 + h * 3600;
        assert_eq!(r.offset_at(at(2026, 3, 8, 7) - 1), -5 * 3600);
        assert_eq!(r.offset_at(at(2026, 3, 8, 7)), -4 * 3600);
        assert_eq!(r.offset_at(at(2026, 11, 1, 6) - 1), -4 * 3600);
        assert_eq!(r.offset_at(at(2026, 11, 1, 6)), -5 * 3600);
    }

    #[test]
    fn where_the_zone_comes_from() {
        let dir = Path::new("/zones");
        let utc_file = tzif(&[], &[0], "UTC0");
        let read = |p: &Path| match p.to_str()? {
            "/etc/localtime" | "/zones/Etc/UTC" => Some(utc_file.clone()),
            "/zones/Fake" => Some(tzif(&[(0, 1)], &[3600, 7200], "")),
            _ => None,
        };
        let off = |tz: Option<&str>| Zone::find(tz, dir, read).offset_at(WINTER);
        assert_eq!(off(None), 0);
        assert_eq!(off(Some("")), 0);
        assert_eq!(off(Some("UTC-3")), 3 * 3600);
        assert_eq!(off(Some(":UTC-3")), 0, "':' names a file only");
        assert_eq!(off(Some("Fake")), 7200);
        assert_eq!(off(Some(":Fake")), 7200);
        assert_eq!(off(Some("Nowhere/Zone")), 0);
        assert_eq!(off(Some("../zones/Fake")), 0);
        assert_eq!(Zone::find(None, dir, |_| None), Zone::Fixed(0));
    }

    /// A version-2 TZif file: `transitions` as (time, type), `offsets` per type.
    fn tzif(transitions: &[(i64, u8)], offsets: &[i32], footer: &str) -> Vec<u8> {
        let header = |out: &mut Vec<u8>| {
            out.extend_from_slice(b"TZif2");
            out.extend_from_slice(&[0; 15]);
            for n in [0, 0, 0, transitions.len(), offsets.len(), 4] {
                out.extend_from_slice(&(n as u32).to_be_bytes());
            }
        };
        let data = |out: &mut Vec<u8>, wide: bool| {
            for (t, _) in transitions {
                if wide {
                    out.extend_from_slice(&t.to_be_bytes());
                } else {
                    out.extend_from_slice(&(*t as i32).to_be_bytes());
                }
            }
            out.extend(transitions.iter().map(|(_, k)| *k));
            for o in offsets {
                out.extend_from_slice(&o.to_be_bytes());
                out.extend_from_slice(&[0, 0]);
            }
            out.extend_from_slice(b"ZZZ\0");
        };
        let mut out = Vec::new();
        header(&mut out);
        data(&mut out, false);
        header(&mut out);
        data(&mut out, true);
        out.extend_from_slice(format!("\n{footer}\n").as_bytes());
        out
    }

    #[test]
    fn zone_files() {
        let f = TzFile::parse(&tzif(&[(100, 1), (200, 0)], &[3600, 7200], "")).unwrap();
        assert_eq!(
            [
                f.offset_at(99),
                f.offset_at(100),
                f.offset_at(199),
                f.offset_at(200)
            ],
            [3600, 7200, 7200, 3600]
        );
        // After the last transition the footer rule decides.
        let f = TzFile::parse(&tzif(&[(100, 0)], &[0], "UTC-3")).unwrap();
        assert_eq!((f.offset_at(50), f.offset_at(WINTER)), (0, 3 * 3600));
        assert_eq!(TzFile::parse(b"TZif2 short"), None);
        assert_eq!(
            TzFile::parse(b"not a zone file at all, but long enough to have a header"),
            None
        );
    }

    #[test]
    fn the_system_zone_files_when_installed() {
        let dir = Path::new("/usr/share/zoneinfo");
        if !dir.join("America/St_Johns").exists() {
            eprintln!("skipped: no zone files");
            return;
        }
        let off = |tz| Zone::find(Some(tz), dir, |p| std::fs::read(p).ok()).offset_at(WINTER);
        // httpd-oracle with TZ=America/St_Johns logged `[07/Dec/2026:16:33:37 -0330]`.
        assert_eq!(off("America/St_Johns"), -(3 * 3600 + 1800));
        assert_eq!(off("Asia/Kathmandu"), 5 * 3600 + 2700);
        assert_eq!(off("Europe/Paris"), 3600);
        let paris = Zone::find(Some("Europe/Paris"), dir, |p| std::fs::read(p).ok());
        assert_eq!(paris.offset_at(SUMMER), 7200);
    }
}
