//! `WorkerStallTimeout`: the supervisor's limit on a worker whose loop stopped turning.

use std::time::Duration;

use super::*;

#[test]
fn default_is_sixty_seconds_and_zero_turns_it_off() {
    assert_eq!(config("").worker_stall_timeout, Duration::from_secs(60));
    let cases = [
        ("0", 0),
        ("5", 5),
        ("300", 300),
        ("workerstalltimeout 7", 7),
    ];
    for (text, secs) in cases {
        let line = if text.contains(' ') {
            format!("{text}\n")
        } else {
            format!("WorkerStallTimeout {text}\n")
        };
        assert_eq!(
            config(&line).worker_stall_timeout,
            Duration::from_secs(secs),
            "{line}"
        );
    }
}

#[test]
fn errors_name_file_line_and_value() {
    let cases = [
        ("WorkerStallTimeout 1", "WorkerStallTimeout must be 0 (off) or at least 5 seconds, got '1' (an idle worker marks its progress once a second)"),
        ("WorkerStallTimeout 4", "WorkerStallTimeout must be 0 (off) or at least 5 seconds, got '4' (an idle worker marks its progress once a second)"),
        ("WorkerStallTimeout 10s", "WorkerStallTimeout takes whole seconds without a unit, got '10s' (httpd would read it as 10 seconds)"),
        ("WorkerStallTimeout -1", "WorkerStallTimeout: expected a whole number of seconds, got '-1'"),
        ("WorkerStallTimeout", "WorkerStallTimeout takes one argument, got 0"),
        ("WorkerStallTimeout 5 6", "WorkerStallTimeout takes one argument, got 2"),
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
fn main_server_only() {
    let e = error(&format!(
        "{LISTEN}<VirtualHost *:80>\nWorkerStallTimeout 5\n</VirtualHost>\n"
    ));
    assert_eq!(
        e,
        format!("{FILE}:3: WorkerStallTimeout cannot occur within <VirtualHost> section")
    );
}
