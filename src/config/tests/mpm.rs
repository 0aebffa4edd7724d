//! The MPM (`MPM`, `LoadModule mpm_…_module`, `<IfModule mpm_…>`), the process directives
//! and their derived values, User/Group, piped logs.

use std::path::PathBuf;
use std::time::Duration;

use super::*;
use crate::config::Mpm;

/// Reads one field of a configuration as text, for tables.
type Field = fn(&Config) -> String;

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[test]
fn defaults() {
    let c = config("");
    assert_eq!(c.mpm, Mpm::Event);
    assert_eq!(c.server_limit, None);
    assert_eq!(c.max_request_workers, None);
    assert_eq!(c.min_spare_servers, 5);
    assert_eq!(c.max_spare_servers, 10);
    assert_eq!(c.max_connections_per_child, 0);
    assert_eq!(c.graceful_shutdown_timeout, Duration::ZERO);
    assert_eq!(c.user, None);
    assert_eq!(c.group, None);
    assert_eq!(c.threads_per_child, None);
    assert_eq!(c.error_log_pipe, None);
    assert_eq!(c.listen_backlog, 511);
    assert_eq!(c.start_servers_or_default(), cpus());
    assert_eq!(c.process_limit(), 16.max(2 * cpus()));
    assert_eq!(c.max_request_workers_or_default(), 400);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);

    let c = config("MPM prefork\n");
    assert_eq!(c.mpm, Mpm::Prefork);
    assert_eq!(c.start_servers_or_default(), 5);
    assert_eq!(c.process_limit(), 256);
    assert_eq!(c.max_request_workers_or_default(), 256);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(Mpm::default(), Mpm::Event);
    assert_eq!(Mpm::Prefork.to_string(), "prefork");
}

#[test]
fn each_directive_sets_its_value() {
    let c = config(
        "MPM prefork\n\
         ServerLimit 300\n\
         MaxRequestWorkers 150\n\
         MinSpareServers 2\n\
         MaxSpareServers 20\n\
         MaxConnectionsPerChild 10000\n\
         GracefulShutdownTimeout 30\n\
         User www-data\n\
         Group #33\n\
         ListenBacklog 1024\n\
         StartServers 3\n",
    );
    assert_eq!(c.mpm, Mpm::Prefork);
    assert_eq!(c.server_limit, Some(300));
    assert_eq!(c.max_request_workers, Some(150));
    assert_eq!(c.min_spare_servers, 2);
    assert_eq!(c.max_spare_servers, 20);
    assert_eq!(c.max_connections_per_child, 10_000);
    assert_eq!(c.graceful_shutdown_timeout, Duration::from_secs(30));
    assert_eq!(c.user.as_deref(), Some("www-data"));
    assert_eq!(c.group.as_deref(), Some("#33"));
    assert_eq!(c.listen_backlog, 1024);
    assert_eq!(c.start_servers_or_default(), 3);
    assert_eq!(c.process_limit(), 300);
    assert_eq!(c.max_request_workers_or_default(), 150);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);

    // Old names, case, later lines win, the limits of each range.
    let cases: &[(&str, Field, &str)] = &[
        (
            "MaxClients 7",
            |c| format!("{:?}", c.max_request_workers),
            "Some(7)",
        ),
        (
            "maxclients 7\nMaxRequestWorkers 8",
            |c| format!("{:?}", c.max_request_workers),
            "Some(8)",
        ),
        (
            "MaxRequestsPerChild 9",
            |c| c.max_connections_per_child.to_string(),
            "9",
        ),
        (
            "MaxConnectionsPerChild 0",
            |c| c.max_connections_per_child.to_string(),
            "0",
        ),
        (
            "MaxConnectionsPerChild 9223372036854775807",
            |c| c.max_connections_per_child.to_string(),
            "9223372036854775807",
        ),
        (
            "ServerLimit 1",
            |c| format!("{:?}", c.server_limit),
            "Some(1)",
        ),
        (
            "SERVERLIMIT 20000",
            |c| format!("{:?}", c.server_limit),
            "Some(20000)",
        ),
        (
            "GracefulShutdownTimeout 0",
            |c| format!("{:?}", c.graceful_shutdown_timeout),
            "0ns",
        ),
        ("ListenBacklog 1", |c| c.listen_backlog.to_string(), "1"),
        (
            "ListenBacklog 2147483647",
            |c| c.listen_backlog.to_string(),
            "2147483647",
        ),
        (
            "ThreadsPerChild 64",
            |c| format!("{:?}", c.threads_per_child),
            "Some(64)",
        ),
        (
            "User nobody\nUser daemon",
            |c| format!("{:?}", c.user),
            "Some(\"daemon\")",
        ),
        ("User #1000", |c| format!("{:?}", c.user), "Some(\"#1000\")"),
        (
            "User svc.proxy_1$",
            |c| format!("{:?}", c.user),
            "Some(\"svc.proxy_1$\")",
        ),
        (
            "Group nogroup",
            |c| format!("{:?}", c.group),
            "Some(\"nogroup\")",
        ),
        ("Group root", |c| format!("{:?}", c.group), "Some(\"root\")"),
        ("Group #0", |c| format!("{:?}", c.group), "Some(\"#0\")"),
    ];
    for (text, get, want) in cases {
        assert_eq!(get(&config(&format!("{text}\n"))), *want, "{text}");
    }
}

#[test]
fn value_errors() {
    let cases = [
        ("MPM", "MPM takes one argument, got 0"),
        ("MPM event prefork", "MPM takes one argument, got 2"),
        ("MPM worker", "MPM: expected event or prefork, got 'worker'"),
        ("ServerLimit 0", "ServerLimit must be an integer from 1 to 20000, got '0'"),
        ("ServerLimit 20001", "ServerLimit must be an integer from 1 to 20000, got '20001'"),
        ("ServerLimit", "ServerLimit takes one argument, got 0"),
        ("MaxRequestWorkers 0", "MaxRequestWorkers must be an integer of at least 1, got '0'"),
        ("MaxClients -5", "MaxClients must be an integer of at least 1, got '-5'"),
        ("MaxRequestWorkers 2147483648", "MaxRequestWorkers: '2147483648' is too large (at most 2147483647)"),
        ("MinSpareServers 0", "MinSpareServers must be an integer of at least 1, got '0'"),
        ("MaxSpareServers x", "MaxSpareServers must be an integer of at least 1, got 'x'"),
        ("MaxConnectionsPerChild -1", "MaxConnectionsPerChild must be an integer of at least 0, got '-1'"),
        ("MaxRequestsPerChild 1k", "MaxRequestsPerChild must be an integer of at least 0, got '1k'"),
        ("GracefulShutdownTimeout 5s", "GracefulShutdownTimeout takes whole seconds without a unit, got '5s' (httpd would read it as 5 seconds)"),
        ("GracefulShutdownTimeout -1", "GracefulShutdownTimeout: expected a whole number of seconds, got '-1'"),
        ("ThreadsPerChild 0", "ThreadsPerChild must be an integer from 1 to 100000, got '0'"),
        ("ListenBacklog 0", "ListenBacklog must be an integer of at least 1, got '0'"),
        ("ListenBacklog 2147483648", "ListenBacklog: '2147483648' is too large (at most 2147483647)"),
        ("ListenBacklog 1 2", "ListenBacklog takes one argument, got 2"),
        ("User", "User takes one argument, got 0"),
        ("User root", "User root: workers must not run as root (httpd refuses uid 0 too)"),
        ("User #0", "User #0: workers must not run as root (httpd refuses uid 0 too)"),
        ("User #00", "User #00: workers must not run as root (httpd refuses uid 0 too)"),
        ("User #abc", "User: expected a name or #id with a decimal id, got '#abc'"),
        ("User #", "User: expected a name or #id with a decimal id, got '#'"),
        ("User #+5", "User: expected a name or #id with a decimal id, got '#+5'"),
        ("User #4294967295", "User: expected a name or #id with a decimal id, got '#4294967295'"),
        ("Group #-1", "Group: expected a name or #id with a decimal id, got '#-1'"),
        ("User \"\"", "User: '' is not a valid name"),
        ("User \"a b\"", "User: 'a b' is not a valid name"),
        ("Group a:b", "Group: 'a:b' is not a valid name"),
        ("Group -g", "Group: '-g' is not a valid name"),
        ("User ../x", "User: '../x' is not a valid name"),
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
    let names = [
        "MPM prefork",
        "ServerLimit 2",
        "MaxRequestWorkers 2",
        "MaxClients 2",
        "MinSpareServers 2",
        "MaxSpareServers 2",
        "MaxConnectionsPerChild 2",
        "MaxRequestsPerChild 2",
        "GracefulShutdownTimeout 2",
        "User nobody",
        "Group nogroup",
        "ThreadsPerChild 2",
        "ListenBacklog 2",
    ];
    for text in names {
        let name = text.split(' ').next().unwrap();
        for section in ["VirtualHost *:80", "Location /a", "Proxy balancer://b"] {
            let tag = section.split(' ').next().unwrap();
            let inner = format!("<{section}>\n{text}\n</{tag}>\n");
            assert_eq!(
                error(&format!("{LISTEN}{inner}")),
                format!("{FILE}:3: {name} cannot occur within <{tag}> section"),
                "{inner}"
            );
        }
    }
    // Inside a Location of a vhost: named after the innermost section.
    assert_eq!(
        error(&format!(
            "{LISTEN}<VirtualHost *>\n<Location /x>\nMPM event\n</Location>\n</VirtualHost>\n"
        )),
        format!("{FILE}:4: MPM cannot occur within <Location> section")
    );
}

#[test]
fn the_mpm_by_directive_or_load_module() {
    let cases = [
        ("MPM prefork", Mpm::Prefork),
        ("mpm PREFORK", Mpm::Prefork),
        ("MPM event", Mpm::Event),
        ("MPM Event\nMPM event", Mpm::Event),
        (
            "LoadModule mpm_prefork_module modules/mod_mpm_prefork.so",
            Mpm::Prefork,
        ),
        (
            "LoadModule mpm_event_module modules/mod_mpm_event.so",
            Mpm::Event,
        ),
        (
            "LoadModule mpm_prefork_module modules/mod_mpm_prefork.so\nMPM prefork",
            Mpm::Prefork,
        ),
        (
            "LoadModule mpm_prefork_module a.so\nLoadModule mpm_prefork_module a.so",
            Mpm::Prefork,
        ),
        (
            "<IfDefine !EVENT>\nLoadModule mpm_prefork_module a.so\n</IfDefine>",
            Mpm::Prefork,
        ),
        ("<IfDefine EVENT>\nMPM prefork\n</IfDefine>", Mpm::Event),
        ("LoadModule proxy_module modules/mod_proxy.so", Mpm::Event),
    ];
    for (text, want) in cases {
        assert_eq!(config(&format!("{text}\n")).mpm, want, "{text}");
    }
    // An MPM chosen in an included file counts, and later <IfModule>s see it.
    let scratch = ScratchDir::new("mpm");
    scratch.write(
        "mods/mpm.load",
        "LoadModule mpm_prefork_module mod_mpm_prefork.so\n",
    );
    let main = scratch.write(
        "main.conf",
        "Listen 127.0.0.1:0\nInclude mods/*.load\n\
         <IfModule mpm_prefork_module>\nMaxRequestWorkers 9\n</IfModule>\n",
    );
    let c = load(&main, &[]).unwrap();
    assert_eq!(c.mpm, Mpm::Prefork);
    assert_eq!(c.max_request_workers, Some(9));
}

#[test]
fn if_module_sees_the_mpm_chosen_so_far() {
    // (MPM line or "", module tested) → whether the section holds.
    let cases = [
        ("MPM prefork", "mpm_prefork_module", true),
        ("MPM prefork", "prefork.c", true),
        ("MPM prefork", "mpm_event_module", false),
        ("MPM prefork", "event.c", false),
        ("MPM event", "mpm_event_module", true),
        ("MPM event", "mpm_prefork_module", false),
        (
            "LoadModule mpm_prefork_module x.so",
            "MPM_PREFORK_MODULE",
            true,
        ),
        ("", "mpm_event_module", true),
        ("", "event.c", true),
        ("", "mpm_prefork_module", false),
        ("MPM prefork", "mod_mpm_prefork.c", false),
        ("MPM prefork", "mpm_worker_module", false),
        ("MPM prefork", "worker.c", false),
    ];
    for (select, module, holds) in cases {
        for negated in [false, true] {
            let bang = if negated { "!" } else { "" };
            let text =
                format!("{select}\n<IfModule {bang}{module}>\nMaxRequestWorkers 3\n</IfModule>\n");
            let c = config(&text);
            assert_eq!(c.max_request_workers == Some(3), holds != negated, "{text}");
        }
    }
}

#[test]
fn mpm_conflicts() {
    let cases = [
        (
            "MPM event\nMPM prefork",
            format!("{FILE}:3: MPM prefork selects the prefork MPM, but MPM event at {FILE}:2 already selected event: only one MPM can be loaded"),
        ),
        (
            "LoadModule mpm_event_module a.so\nLoadModule mpm_prefork_module b.so",
            format!("{FILE}:3: LoadModule mpm_prefork_module selects the prefork MPM, but LoadModule mpm_event_module at {FILE}:2 already selected event: only one MPM can be loaded"),
        ),
        (
            "MPM prefork\n\nLoadModule mpm_event_module b.so",
            format!("{FILE}:4: LoadModule mpm_event_module selects the event MPM, but MPM prefork at {FILE}:2 already selected prefork: only one MPM can be loaded"),
        ),
        (
            "LoadModule mpm_worker_module modules/mod_mpm_worker.so",
            format!("{FILE}:2: LoadModule mpm_worker_module: the worker MPM is not supported (slotgate runs event or prefork)"),
        ),
        (
            "<VirtualHost *>\nLoadModule mpm_prefork_module a.so\n</VirtualHost>",
            format!("{FILE}:3: LoadModule mpm_prefork_module cannot occur within <VirtualHost> section (it selects the MPM for the whole server)"),
        ),
        // An <IfModule> decided for the default, then another MPM: the decision was wrong.
        (
            "<IfModule mpm_event_module>\nStartServers 4\n</IfModule>\nMPM prefork",
            format!("{FILE}:5: MPM prefork comes after <IfModule mpm_event_module> at {FILE}:2, which was decided for the default MPM (event); select the MPM before any <IfModule> that tests one"),
        ),
        (
            "<IfModule !prefork.c>\n</IfModule>\nLoadModule mpm_prefork_module a.so",
            format!("{FILE}:4: LoadModule mpm_prefork_module comes after <IfModule prefork.c> at {FILE}:2, which was decided for the default MPM (event); select the MPM before any <IfModule> that tests one"),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(error(&format!("{LISTEN}{text}\n")), want, "{text}");
    }
    // The default confirmed later is no conflict; an ordinary LoadModule in a vhost is fine.
    let c = config(
        "<IfModule mpm_event_module>\nStartServers 4\n</IfModule>\nMPM event\n\
         <VirtualHost *>\nLoadModule proxy_module m.so\n</VirtualHost>\n",
    );
    assert_eq!((c.mpm, c.start_servers), (Mpm::Event, Some(4)));
}

#[test]
fn max_spare_servers_is_raised_above_min_spare_servers() {
    // (lines after "Listen" and "MPM prefork", so the first is line 3; min, max, warning)
    let raised = "(httpd raises it the same way)";
    let cases: &[(&str, usize, usize, Option<String>)] = &[
        ("MinSpareServers 5\nMaxSpareServers 6", 5, 6, None),
        (
            "MaxSpareServers 3\nMinSpareServers 5",
            5,
            6,
            Some(format!(
                "3: MaxSpareServers 3 is not above MinSpareServers 5; using 6 {raised}"
            )),
        ),
        (
            "MinSpareServers 5\nMaxSpareServers 5",
            5,
            6,
            Some(format!(
                "4: MaxSpareServers 5 is not above MinSpareServers 5; using 6 {raised}"
            )),
        ),
        // MaxSpareServers not written: the warning names the MinSpareServers line.
        (
            "MinSpareServers 12",
            12,
            13,
            Some(format!(
                "3: MaxSpareServers 10 is not above MinSpareServers 12; using 13 {raised}"
            )),
        ),
        (
            "MaxSpareServers 1",
            5,
            6,
            Some(format!(
                "3: MaxSpareServers 1 is not above MinSpareServers 5; using 6 {raised}"
            )),
        ),
    ];
    for (lines, min, max, warning) in cases {
        let c = config(&format!("MPM prefork\n{lines}\n"));
        assert_eq!(
            (c.min_spare_servers, c.max_spare_servers),
            (*min, *max),
            "{lines}"
        );
        let want: Vec<String> = warning.iter().map(|w| format!("{FILE}:{w}")).collect();
        assert_eq!(c.warnings, want, "{lines}");
    }
}

#[test]
fn directives_of_the_other_mpm_warn() {
    let c = config("MinSpareServers 2\nMaxSpareServers 4\nThreadsPerChild 50\n");
    assert_eq!(
        c.warnings,
        [
            format!("{FILE}:2: MinSpareServers has no effect with the event MPM (only with prefork)"),
            format!("{FILE}:3: MaxSpareServers has no effect with the event MPM (only with prefork)"),
            format!("{FILE}:4: ThreadsPerChild: slotgate workers are single-threaded (an event worker serves many connections on one thread); the value only counts toward the default of MaxRequestWorkers (400)"),
        ]
    );
    let c = config("MPM prefork\nThreadsPerChild 50\n");
    assert_eq!(
        c.warnings,
        [format!(
            "{FILE}:3: ThreadsPerChild has no effect with the prefork MPM"
        )]
    );
    let c = config("MPM prefork\nServerLimit 10\nMaxRequestWorkers 20\n");
    assert_eq!(
        c.warnings,
        [format!("{FILE}:4: MaxRequestWorkers 20 is more than ServerLimit 10: at most 10 workers will run")]
    );
    assert_eq!(c.max_request_workers_or_default(), 10);
    let c = config("MPM prefork\nMaxRequestWorkers 30000\n");
    assert_eq!(
        c.warnings,
        [format!("{FILE}:3: MaxRequestWorkers 30000 is more than the largest ServerLimit, 20000: at most 20000 workers will run")]
    );
}

#[test]
fn derived_values_for_both_mpms() {
    // (lines, start_servers_or_default, process_limit, max_request_workers_or_default)
    let cpus = cpus();
    let cases: &[(&str, usize, usize, usize)] = &[
        ("MPM prefork", 5, 256, 256),
        ("MPM prefork\nStartServers 8", 8, 256, 256),
        ("MPM prefork\nMaxRequestWorkers 40", 5, 40, 40),
        ("MPM prefork\nMaxRequestWorkers 3\nStartServers 7", 7, 7, 3),
        ("MPM prefork\nMaxRequestWorkers 500", 5, 500, 500),
        ("MPM prefork\nServerLimit 64", 5, 64, 64),
        (
            "MPM prefork\nServerLimit 64\nMaxRequestWorkers 32",
            5,
            64,
            32,
        ),
        ("MPM prefork\nStartServers 300", 300, 300, 256),
        ("MPM event", cpus, 16.max(2 * cpus), 400),
        ("StartServers 2", 2, 16, 400),
        ("StartServers 12", 12, 24, 400),
        ("StartServers 12\nServerLimit 30", 12, 30, 400),
        ("ServerLimit 4", cpus, 4, 100),
        ("ServerLimit 4\nThreadsPerChild 50", cpus, 4, 200),
        ("ThreadsPerChild 10", cpus, 16.max(2 * cpus), 160),
        ("MaxRequestWorkers 1000\nServerLimit 2", cpus, 2, 1000),
    ];
    for (lines, start, limit, workers) in cases {
        let c = config(&format!("{lines}\n"));
        assert_eq!(
            (
                c.start_servers_or_default(),
                c.process_limit(),
                c.max_request_workers_or_default()
            ),
            (*start, *limit, *workers),
            "{lines}"
        );
    }
}

#[test]
fn piped_error_log() {
    let cases = [
        (
            "ErrorLog \"|/usr/bin/logger -t slotgate\"",
            "/usr/bin/logger -t slotgate",
        ),
        (
            "ErrorLog \"||/usr/bin/logger -t slotgate\"",
            "/usr/bin/logger -t slotgate",
        ),
        (
            "ErrorLog \"|$/usr/bin/logger -t $NAME\"",
            "/usr/bin/logger -t $NAME",
        ),
        (
            "ErrorLog \"| bin/rotatelogs logs/error.%Y 86400 \"",
            "bin/rotatelogs logs/error.%Y 86400",
        ),
        ("ErrorLog logs/e.log\nErrorLog |cat", "cat"),
    ];
    for (text, want) in cases {
        let c = config(&format!("{text}\n"));
        assert_eq!(c.error_log_pipe.as_deref(), Some(want), "{text}");
        assert_eq!(c.error_log, None, "{text}");
    }
    let c = config("ErrorLog |cat\nErrorLog logs/e.log\n");
    assert_eq!(c.error_log_pipe, None, "the later ErrorLog wins");
    assert_eq!(c.error_log, Some(PathBuf::from("/etc/slotgate/logs/e.log")));
    // Inside a vhost a piped ErrorLog is accepted and ignored, as a file.
    let c = config("<VirtualHost *>\nErrorLog \"|/bin/logger\"\n</VirtualHost>\n");
    assert_eq!(
        c.warnings,
        [format!("{FILE}:3: ErrorLog inside <VirtualHost> is ignored: slotgate writes one error log, the main server's")]
    );
    assert_eq!(c.error_log_pipe, None);
}

#[test]
fn piped_access_logs() {
    let c = config(
        "CustomLog \"|/usr/bin/rotatelogs /var/log/slotgate/access.%Y%m%d 86400\" combined\n\
         TransferLog \"|$cat >> /tmp/t.log\"\n\
         CustomLog logs/file.log common env=!x\n\
         <VirtualHost *>\n\
         CustomLog \"||/usr/bin/logger -t vhost\" common env=X\n\
         </VirtualHost>\n",
    );
    let logs: Vec<(PathBuf, Option<&str>, usize)> = c
        .custom_logs
        .iter()
        .map(|l| (l.path.clone(), l.pipe.as_deref(), l.origin.line))
        .collect();
    assert_eq!(
        logs,
        [
            (
                PathBuf::new(),
                Some("/usr/bin/rotatelogs /var/log/slotgate/access.%Y%m%d 86400"),
                2
            ),
            (PathBuf::new(), Some("cat >> /tmp/t.log"), 3),
            (PathBuf::from("/etc/slotgate/logs/file.log"), None, 4),
        ]
    );
    assert!(c.custom_logs[0].format.ends_with("\"%{User-Agent}i\""));
    let v = &c.vhosts[0].custom_logs[0];
    assert_eq!(
        (v.path.clone(), v.pipe.as_deref(), v.env.clone()),
        (
            PathBuf::new(),
            Some("/usr/bin/logger -t vhost"),
            Some((false, "X".to_string()))
        )
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn connections_per_worker_share_out_the_bound() {
    // (lines, workers, connections each worker holds at most)
    let cases: &[(&str, usize, usize)] = &[
        ("MPM event", 1, 400),
        ("MPM event", 4, 100),
        ("MPM event", 3, 134),
        ("MPM event\nServerLimit 2\nThreadsPerChild 3", 1, 6),
        ("MPM event\nMaxRequestWorkers 2", 4, 1),
        ("MPM event\nMaxRequestWorkers 10", 0, 10),
        ("MPM prefork", 5, 1),
        ("MPM prefork\nMaxRequestWorkers 40", 1, 1),
    ];
    for (lines, workers, each) in cases {
        let c = config(&format!("{lines}\n"));
        assert_eq!(
            c.connections_per_worker(*workers),
            *each,
            "{lines} / {workers}"
        );
    }
}
