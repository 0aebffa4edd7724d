//! LogFormat, CustomLog, TransferLog.

use std::path::PathBuf;

use super::*;
use crate::config::CustomLog;

const COMMON: &str = "%h %l %u %t \"%r\" %>s %b";
const COMBINED: &str = "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"";

fn formats(logs: &[CustomLog]) -> Vec<&str> {
    logs.iter().map(|l| l.format.as_str()).collect()
}

#[test]
fn nicknames_are_resolved() {
    let c = config(
        "CustomLog logs/common.log common\n\
         CustomLog /var/log/combined.log Combined\n\
         LogFormat \"%h %>s worker=%{BALANCER_WORKER_NAME}e\" balancer\n\
         CustomLog logs/balancer.log balancer env=BALANCER_NAME\n\
         CustomLog logs/literal.log \"%h %U\" env=!dontlog\n\
         LogFormat \"%h mine\" common\n\
         TransferLog logs/transfer.log\n\
         CustomLog logs/default.log\n",
    );
    let logs = &c.custom_logs;
    assert_eq!(
        formats(logs),
        [
            "%h mine",
            COMBINED,
            "%h %>s worker=%{BALANCER_WORKER_NAME}e",
            "%h %U",
            COMMON,
            COMMON,
        ],
        "a LogFormat written later still applies; built-ins can be redefined"
    );
    let paths: Vec<PathBuf> = logs.iter().map(|l| l.path.clone()).collect();
    assert_eq!(
        paths,
        [
            PathBuf::from("/etc/slotgate/logs/common.log"),
            PathBuf::from("/var/log/combined.log"),
            PathBuf::from("/etc/slotgate/logs/balancer.log"),
            PathBuf::from("/etc/slotgate/logs/literal.log"),
            PathBuf::from("/etc/slotgate/logs/transfer.log"),
            PathBuf::from("/etc/slotgate/logs/default.log"),
        ]
    );
    assert_eq!(logs[0].env, None);
    assert_eq!(logs[2].env, Some((false, "BALANCER_NAME".to_string())));
    assert_eq!(logs[3].env, Some((true, "dontlog".to_string())));
    assert_eq!(logs[0].origin.line, 2);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn the_default_format() {
    // LogFormat without a nickname: a format, or the nickname of one.
    let c = config("LogFormat \"%h %r\"\nTransferLog a.log\n");
    assert_eq!(formats(&c.custom_logs), ["%h %r"]);
    let c = config("LogFormat combined\nTransferLog a.log\n");
    assert_eq!(formats(&c.custom_logs), [COMBINED]);
    let c = config("TransferLog a.log\nLogFormat \"%h x\" mine\nLogFormat mine\n");
    assert_eq!(formats(&c.custom_logs), ["%h x"]);
}

#[test]
fn vhosts_see_the_main_servers_nicknames() {
    let c = config(
        "LogFormat \"%h main\" short\n\
         LogFormat \"%h main-default\"\n\
         <VirtualHost *>\n\
         CustomLog logs/a.log short\n\
         TransferLog logs/b.log\n\
         </VirtualHost>\n\
         <VirtualHost *:81>\n\
         LogFormat \"%h vhost\" short\n\
         LogFormat \"%h vhost-default\"\n\
         CustomLog logs/c.log short\n\
         TransferLog logs/d.log\n\
         </VirtualHost>\n\
         CustomLog logs/main.log short\n",
    );
    assert_eq!(formats(&c.custom_logs), ["%h main"]);
    assert_eq!(
        formats(&c.vhosts[0].custom_logs),
        ["%h main", "%h main-default"]
    );
    assert_eq!(
        formats(&c.vhosts[1].custom_logs),
        ["%h vhost", "%h vhost-default"]
    );
}

#[test]
fn a_word_that_is_no_nickname_warns() {
    let c = config("CustomLog a.log combnied\n");
    assert_eq!(formats(&c.custom_logs), ["combnied"]);
    assert_eq!(
        c.warnings,
        [format!("{FILE}:2: 'combnied' is not a LogFormat nickname; it is used as the format, so every line will read 'combnied'")]
    );
}

#[test]
fn log_errors() {
    let cases = [
        (
            "CustomLog \"|\" common",
            "CustomLog: no command after '|' in '|'",
        ),
        (
            "TransferLog \"||  \"",
            "TransferLog: no command after '|' in '||  '",
        ),
        (
            "CustomLog",
            "CustomLog takes a file name, a format or nickname, and an optional env=[!]VAR",
        ),
        (
            "CustomLog a b env=X d",
            "CustomLog takes a file name, a format or nickname, and an optional env=[!]VAR",
        ),
        (
            "CustomLog a common X",
            "CustomLog: expected env=[!]VAR, got 'X'",
        ),
        (
            "CustomLog a common env=",
            "CustomLog: no variable name in 'env='",
        ),
        (
            "CustomLog a common expr=true",
            "CustomLog: expr= conditions are not supported yet, got 'expr=true'",
        ),
        (
            "CustomLog a \"%h %Z\"",
            "CustomLog: LogFormat: unrecognized directive %Z in \"%h %Z\"",
        ),
        ("TransferLog", "TransferLog takes one argument, a file name"),
        (
            "TransferLog a b",
            "TransferLog takes one argument, a file name",
        ),
        (
            "LogFormat",
            "LogFormat takes a format and an optional nickname",
        ),
        (
            "LogFormat \"%h %Z\" bad",
            "LogFormat: unrecognized directive %Z in \"%h %Z\"",
        ),
        (
            "LogFormat \"%h %\"",
            "LogFormat: '%' without a directive at the end of \"%h %\"",
        ),
    ];
    for (text, want) in cases {
        assert_eq!(
            error(&format!("{LISTEN}{text}\n")),
            format!("{FILE}:2: {want}"),
            "{text}"
        );
    }
    assert_eq!(
        error(&format!(
            "{LISTEN}<Location /x>\nCustomLog a.log common\n</Location>\n"
        )),
        format!("{FILE}:3: CustomLog cannot occur within <Location> section")
    );
}
