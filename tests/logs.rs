//! The logs. ErrorLog lines in httpd's format
//! `[Mon Nov 23 12:00:00.123456 2026] [module:level] [pid N] message`;
//! CustomLog lines parsed back field by field (`%h %l %u %t "%r" %>s %b %D %T
//! %{User-Agent}i %{X-Origin}o %{BALANCER_WORKER_NAME}e`), the built-in
//! `common` and `combined` nicknames; piped logs (`|command`); and logs
//! reopened at a graceful restart, so that after logrotate renames a file the
//! new lines go to a fresh file at the configured path.

mod common;

use common::daemon::*;
use common::*;
use nix::sys::signal::Signal;
use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const LEVELS: [&str; 16] = [
    "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug", "trace1", "trace2",
    "trace3", "trace4", "trace5", "trace6", "trace7", "trace8",
];

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn month_number(name: &str) -> Option<u32> {
    MONTHS.iter().position(|&m| m == name).map(|i| i as u32 + 1)
}

/// `hh:mm:ss` to seconds of the day.
fn clock(text: &str) -> Option<i64> {
    let parts: Vec<&str> = text.split(':').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.len() != 2) {
        return None;
    }
    let n: Vec<i64> = parts
        .iter()
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    (n[0] < 24 && n[1] < 60 && n[2] < 61).then(|| n[0] * 3600 + n[1] * 60 + n[2])
}

/// Parses an error-log time `Mon Nov 23 12:00:00.123456 2026` (UTC) into Unix
/// seconds, checking every part and that the weekday fits the date.
fn error_log_time(text: &str) -> Result<i64, String> {
    let w: Vec<&str> = text.split(' ').collect();
    if w.len() != 5 {
        return Err(format!("want 5 words in the time {text:?}"));
    }
    let month = month_number(w[1]).ok_or(format!("month {:?}", w[1]))?;
    if w[2].len() != 2 {
        return Err(format!("day {:?} is not two digits", w[2]));
    }
    let day: u32 = w[2].parse().map_err(|_| format!("day {:?}", w[2]))?;
    let (hms, micros) = w[3]
        .split_once('.')
        .ok_or(format!("no microseconds in {:?}", w[3]))?;
    if micros.len() != 6 || !micros.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("microseconds {micros:?}"));
    }
    let secs = clock(hms).ok_or(format!("clock {hms:?}"))?;
    if w[4].len() != 4 {
        return Err(format!("year {:?}", w[4]));
    }
    let year: i64 = w[4].parse().map_err(|_| format!("year {:?}", w[4]))?;
    let days = days_from_civil(year, month, day);
    if WEEKDAYS[days.rem_euclid(7) as usize] != w[0] {
        return Err(format!("weekday {:?} does not fit the date", w[0]));
    }
    Ok(days * 86_400 + secs)
}

/// Parses a CLF time `23/Nov/2026:12:00:00 +0000` into Unix seconds.
fn clf_time(text: &str) -> Result<i64, String> {
    let (stamp, zone) = text.split_once(' ').ok_or(format!("no zone in {text:?}"))?;
    if zone != "+0000" {
        return Err(format!("zone {zone:?}"));
    }
    let (date, hms) = stamp
        .split_once(':')
        .ok_or(format!("no time in {stamp:?}"))?;
    let d: Vec<&str> = date.split('/').collect();
    if d.len() != 3 || d[0].len() != 2 || d[2].len() != 4 {
        return Err(format!("date {date:?}"));
    }
    let day: u32 = d[0].parse().map_err(|_| format!("day {:?}", d[0]))?;
    let month = month_number(d[1]).ok_or(format!("month {:?}", d[1]))?;
    let year: i64 = d[2].parse().map_err(|_| format!("year {:?}", d[2]))?;
    Ok(days_from_civil(year, month, day) * 86_400 + clock(hms).ok_or(format!("clock {hms:?}"))?)
}

/// One error-log line taken apart: (unix seconds, module, level, pid, message).
fn parse_error_line(line: &str) -> Result<(i64, String, String, i32, String), String> {
    let rest = line.strip_prefix('[').ok_or("no '[' at the start")?;
    let (time, rest) = rest.split_once("] [").ok_or("no '] [' after the time")?;
    let secs = error_log_time(time)?;
    let (tag, rest) = rest
        .split_once("] [pid ")
        .ok_or("no '] [pid ' after the tag")?;
    let (module, level) = tag
        .split_once(':')
        .ok_or(format!("tag {tag:?} lacks ':'"))?;
    if module.is_empty() || !module.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return Err(format!("module {module:?}"));
    }
    if !LEVELS.contains(&level) {
        return Err(format!("level {level:?}"));
    }
    let (pid, message) = rest.split_once("] ").ok_or("no '] ' after the pid")?;
    let pid: i32 = pid.parse().map_err(|_| format!("pid {pid:?}"))?;
    if message.trim().is_empty() {
        return Err("empty message".into());
    }
    Ok((secs, module.into(), level.into(), pid, message.into()))
}

/// The index after the closing quote of a quoted field starting at `s[0]`,
/// skipping `\"` escapes; and the field's text.
fn quoted(s: &str) -> Result<(String, &str), String> {
    let body = s.strip_prefix('"').ok_or(format!("no quote at {s:?}"))?;
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            '\\' if !escaped => escaped = true,
            '"' if !escaped => return Ok((body[..i].to_string(), &body[i + 1..])),
            _ => escaped = false,
        }
    }
    Err(format!("unterminated quote in {s:?}"))
}

/// The fields of the brief's format, in order.
#[derive(Debug)]
struct Fields {
    host: String,
    ident: String,
    user: String,
    time: i64,
    request: String,
    status: String,
    bytes: String,
    micros: u64,
    seconds: u64,
    agent: String,
    origin: String,
    worker: String,
}

const FULL_FORMAT: &str = "LogFormat \"%h %l %u %t \\\"%r\\\" %>s %b %D %T %{User-Agent}i %{X-Origin}o %{BALANCER_WORKER_NAME}e\" fmt\n";

fn parse_full(line: &str) -> Result<Fields, String> {
    let mut words = line.splitn(4, ' ');
    let host = words.next().ok_or("no %h")?.to_string();
    let ident = words.next().ok_or("no %l")?.to_string();
    let user = words.next().ok_or("no %u")?.to_string();
    let rest = words.next().ok_or("nothing after %u")?;
    let rest = rest.strip_prefix('[').ok_or("no '[' for %t")?;
    let (time, rest) = rest.split_once("] ").ok_or("no ']' after %t")?;
    let time = clf_time(time)?;
    let (request, rest) = quoted(rest)?;
    let tail: Vec<&str> = rest.trim_start().split(' ').collect();
    if tail.len() != 7 {
        return Err(format!("want 7 fields after the request, got {tail:?}"));
    }
    Ok(Fields {
        host,
        ident,
        user,
        time,
        request,
        status: tail[0].into(),
        bytes: tail[1].into(),
        micros: tail[2].parse().map_err(|_| format!("%D {:?}", tail[2]))?,
        seconds: tail[3].parse().map_err(|_| format!("%T {:?}", tail[3]))?,
        agent: tail[4].into(),
        origin: tail[5].into(),
        worker: tail[6].into(),
    })
}

#[test]
fn error_log_lines_have_httpds_format() {
    let start = now_secs() as i64;
    let a = Origin::start("a");
    let sg = Slotgate::start(&render(
        "Listen 127.0.0.1:0\nStartServers 2\nServerName test.local\nProxyPass / http://{a}/\n",
        &[&a],
    ));
    let mut workers = sg.wait_workers(2, SIGNAL_WAIT);
    assert_eq!(http_get(sg.port(), "/x", &[]).status, 200);
    // A graceful restart makes workers log too ("stopping gracefully").
    let next = generation(sg.scoreboard_path()) + 1;
    sg.signal(Signal::SIGUSR1);
    wait_generation(sg.scoreboard_path(), next, SIGNAL_WAIT);
    wait_older_generations_gone(sg.scoreboard_path(), next, &workers, SIGNAL_WAIT);
    workers.extend(sg.worker_pids());
    let end = now_secs() as i64;
    let text = sg.error_log();
    assert!(text.ends_with('\n'), "every line ends: {text:?}");
    let mut from_supervisor = 0;
    let mut from_workers = 0;
    for line in text.lines() {
        let (secs, _, _, pid, _) =
            parse_error_line(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        assert!(
            (start - 1..=end + 1).contains(&secs),
            "the time is now (UTC): {line:?}"
        );
        if pid == sg.pid() {
            from_supervisor += 1;
        } else {
            assert!(
                workers.contains(&pid),
                "pid {pid} is neither supervisor nor worker: {line:?}"
            );
            from_workers += 1;
        }
    }
    assert!(from_supervisor > 0 && from_workers > 0, "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains(":info] ") && l.contains("running")),
        "the start is logged at info: {text}"
    );
}

#[test]
fn custom_log_fields_parse_back() {
    let a = Origin::start("a");
    let sg = start_proxy(
        &format!(
            "{FULL_FORMAT}CustomLog access.log fmt\n<Proxy balancer://app>\n    \
             BalancerMember http://{{a}}\n</Proxy>\nProxyPass /p/ balancer://app/\n"
        ),
        &[&a],
    );
    let log = sg.dir().join("access.log");
    let before = now_secs() as i64;
    let r = http_get(
        sg.port(),
        "/p/bytes/1234?x=1",
        &[("User-Agent", "tester/1.0")],
    );
    assert_eq!(r.status, 200);
    let r = http_get(sg.port(), "/p/status/204", &[]);
    assert_eq!(r.status, 204);
    a.set_mode(Mode::Slow(Duration::from_millis(1100)));
    let slow = http_get(sg.port(), "/p/slow", &[("User-Agent", "slow/2")]);
    assert_eq!(slow.status, 200);
    let after = now_secs() as i64;
    let lines = wait_lines(&log, 3, SIGNAL_WAIT);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    let f: Vec<Fields> = lines
        .iter()
        .map(|l| parse_full(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect();
    let worker = format!("http://{}", a.addr());
    for (line, x) in lines.iter().zip(&f) {
        assert_eq!(
            (x.host.as_str(), x.ident.as_str(), x.user.as_str()),
            ("127.0.0.1", "-", "-"),
            "{line}"
        );
        assert!(
            (before..=after).contains(&x.time),
            "%t is the request's time: {line}"
        );
        assert_eq!(x.origin, "a", "{line}");
        assert_eq!(x.worker, worker, "{line}");
        assert_eq!(
            x.seconds,
            x.micros / 1_000_000,
            "%T is %D in whole seconds: {line}"
        );
    }
    assert_eq!(f[0].request, "GET /p/bytes/1234?x=1 HTTP/1.1");
    assert_eq!((f[0].status.as_str(), f[0].bytes.as_str()), ("200", "1234"));
    assert_eq!(f[0].agent, "tester/1.0");
    assert_eq!(f[1].request, "GET /p/status/204 HTTP/1.1");
    assert_eq!(
        (f[1].status.as_str(), f[1].bytes.as_str()),
        ("204", "-"),
        "%b of no body is -"
    );
    assert_eq!(f[1].agent, "-", "no User-Agent");
    assert_eq!(f[2].request, "GET /p/slow HTTP/1.1");
    assert_eq!(f[2].bytes, slow.body.len().to_string(), "{}", lines[2]);
    assert_eq!(f[2].agent, "slow/2");
    // The origin waited 1.1 s before answering: the request cannot have taken less.
    assert!(
        f[2].micros >= 1_100_000,
        "%D {} below the origin's delay",
        f[2].micros
    );
    assert!(f[2].seconds >= 1);
}

#[test]
fn common_and_combined_nicknames_are_built_in() {
    let a = Origin::start("a");
    let sg = start_proxy(
        "CustomLog common.log common\nCustomLog combined.log combined\nProxyPass / http://{a}/\n",
        &[&a],
    );
    let r = http_get(
        sg.port(),
        "/bytes/77?q=1",
        &[
            ("Referer", "http://ref.example/page"),
            ("User-Agent", "Mozilla/5.0 (X11; \"quoted\")"),
        ],
    );
    assert_eq!(r.status, 200);
    let common = wait_lines(&sg.dir().join("common.log"), 1, SIGNAL_WAIT);
    let combined = wait_lines(&sg.dir().join("combined.log"), 1, SIGNAL_WAIT);
    let (head, time_rest) = common[0].split_once(" [").expect("a [time] in common");
    assert_eq!(head, "127.0.0.1 - -");
    let (time, tail) = time_rest.split_once("] ").expect("a closing ]");
    clf_time(time).unwrap_or_else(|e| panic!("{e}: {}", common[0]));
    assert_eq!(
        tail, "\"GET /bytes/77?q=1 HTTP/1.1\" 200 77",
        "{}",
        common[0]
    );
    assert_eq!(
        combined[0],
        format!(
            "{} \"http://ref.example/page\" \"Mozilla/5.0 (X11; \\\"quoted\\\")\"",
            common[0]
        ),
        "combined is common plus the quoted Referer and User-Agent (quotes escaped)"
    );
}

/// Processes whose working directory is `dir` (a piped logger started by the
/// supervisor runs there).
fn processes_in(dir: &Path) -> Vec<i32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == dir)
                && proc_state(*pid) != "Z"
        })
        .collect()
}

#[test]
fn piped_custom_log_receives_lines_and_ends_with_the_server() {
    let a = Origin::start("a");
    let mut sg = start_proxy(
        "LogFormat \"%>s %U\" short\nCustomLog \"|cat >> piped.log\" short\nProxyPass / http://{a}/\n",
        &[&a],
    );
    for i in 0..5 {
        assert_eq!(http_get(sg.port(), &format!("/piped/{i}"), &[]).status, 200);
    }
    let lines = wait_lines(&sg.dir().join("piped.log"), 5, SIGNAL_WAIT);
    assert_eq!(
        lines,
        (0..5)
            .map(|i| format!("200 /piped/{i}"))
            .collect::<Vec<_>>()
    );
    let dir = fs::canonicalize(sg.dir()).unwrap();
    assert!(
        !processes_in(&dir).is_empty(),
        "no logger process runs in {}",
        dir.display()
    );
    assert!(sg.stop().success());
    wait_for(
        "the piped logger to end with the server",
        SIGNAL_WAIT,
        || processes_in(&dir).is_empty().then_some(()),
        || format!("{:?}", processes_in(&dir)),
    );
}

#[test]
fn piped_custom_log_goes_on_after_a_graceful_restart() {
    let a = Origin::start("a");
    let sg = start_proxy(
        "LogFormat \"%>s %U\" short\nCustomLog \"|cat >> piped.log\" short\nProxyPass / http://{a}/\n",
        &[&a],
    );
    let path = sg.dir().join("piped.log");
    assert_eq!(http_get(sg.port(), "/before", &[]).status, 200);
    wait_lines(&path, 1, SIGNAL_WAIT);
    let old = sg.worker_pids();
    let next = generation(sg.scoreboard_path()) + 1;
    sg.signal(Signal::SIGUSR1);
    wait_generation(sg.scoreboard_path(), next, SIGNAL_WAIT);
    wait_older_generations_gone(sg.scoreboard_path(), next, &old, SIGNAL_WAIT);
    for i in 0..3 {
        assert_eq!(http_get(sg.port(), &format!("/after/{i}"), &[]).status, 200);
    }
    let lines = wait_lines(&path, 4, SIGNAL_WAIT);
    assert_eq!(
        lines,
        vec![
            "200 /before",
            "200 /after/0",
            "200 /after/1",
            "200 /after/2"
        ]
    );
}

#[test]
fn piped_error_log_receives_lines() {
    let a = Origin::start("a");
    let sg = start_proxy(
        "ErrorLog \"|cat >> errors-piped.log\"\nLogLevel info\nProxyPass / http://{a}/\n",
        &[&a],
    );
    let path = sg.dir().join("errors-piped.log");
    let pid = sg.pid();
    let text = wait_for(
        "the start logged through the pipe",
        SIGNAL_WAIT,
        || {
            let t = fs::read_to_string(&path).ok()?;
            t.lines()
                .any(|l| l.contains(&format!("[pid {pid}]")) && l.contains("running"))
                .then_some(t)
        },
        || fs::read_to_string(&path).unwrap_or_default(),
    );
    for line in text.lines() {
        parse_error_line(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    }
    assert!(!sg.dir().join("error.log").exists());
}

#[test]
fn access_log_is_reopened_at_a_graceful_restart() {
    let a = Origin::start("a");
    let sg = start_proxy(
        "LogFormat \"%>s %U\" short\nCustomLog access.log short\nProxyPass / http://{a}/\n",
        &[&a],
    );
    let log = sg.dir().join("access.log");
    let rotated = sg.dir().join("access.log.1");
    for p in ["/one", "/two"] {
        assert_eq!(http_get(sg.port(), p, &[]).status, 200);
    }
    wait_lines(&log, 2, SIGNAL_WAIT);
    fs::rename(&log, &rotated).unwrap();
    let old = sg.worker_pids();
    let next = generation(sg.scoreboard_path()) + 1;
    sg.signal(Signal::SIGUSR1);
    wait_generation(sg.scoreboard_path(), next, SIGNAL_WAIT);
    wait_older_generations_gone(sg.scoreboard_path(), next, &old, SIGNAL_WAIT);
    for p in ["/three", "/four", "/five"] {
        assert_eq!(http_get(sg.port(), p, &[]).status, 200);
    }
    let fresh = wait_lines(&log, 3, SIGNAL_WAIT);
    assert_eq!(fresh, vec!["200 /three", "200 /four", "200 /five"]);
    assert_eq!(
        fs::read_to_string(&rotated).unwrap(),
        "200 /one\n200 /two\n",
        "the renamed file keeps the old lines and gets no new ones"
    );
}

#[test]
fn error_log_is_reopened_at_a_graceful_restart() {
    let a = Origin::start("a");
    let sg = start_proxy("LogLevel info\nProxyPass / http://{a}/\n", &[&a]);
    let log = sg.dir().join("error.log");
    let rotated = sg.dir().join("error.log.1");
    wait_for(
        "the start in the error log",
        SIGNAL_WAIT,
        || sg.error_log().contains("running").then_some(()),
        || sg.error_log(),
    );
    fs::rename(&log, &rotated).unwrap();
    let next = generation(sg.scoreboard_path()) + 1;
    sg.signal(Signal::SIGUSR1);
    wait_generation(sg.scoreboard_path(), next, SIGNAL_WAIT);
    let fresh = wait_for(
        "a fresh error.log with the restart",
        SIGNAL_WAIT,
        || {
            let t = fs::read_to_string(&log).ok()?;
            t.contains(&format!("generation {next}")).then_some(t)
        },
        || fs::read_to_string(&log).unwrap_or_else(|e| format!("({e})")),
    );
    for line in fresh.lines() {
        parse_error_line(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    }
    let old = fs::read_to_string(&rotated).unwrap();
    assert!(old.contains("running"), "{old}");
    assert!(
        !old.contains(&format!("generation {next} running")),
        "the restart went to the renamed file:\n{old}"
    );
}
