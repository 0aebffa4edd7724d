//! httpd's command line, the rest of it (issue #14, point 10): `-S`, `-M`,
//! `-V`, `-X` and `-k configtest`, against the real binary.

mod common;

use common::*;

const VHOSTS: &str = "Listen 127.0.0.1:0
ServerName proxy.test
<VirtualHost *:18779>
  ServerName a.example
  ServerAlias www.a.example
  ProxyPass / http://127.0.0.1:9/
</VirtualHost>
<VirtualHost 127.0.0.1:18777>
  ServerName b.example
</VirtualHost>
<VirtualHost *:18779>
  ServerName c.example
</VirtualHost>
";

#[test]
fn dash_s_lists_virtual_hosts_as_httpd_does() {
    // httpd 2.4.71 (Debian), `apache2 -S` on the same three vhosts (httpd-oracle's
    // file, the vhosts at its lines 51, 56 and 59):
    //   VirtualHost configuration:
    //   127.0.0.1:18777        b.example (/tmp/httpd-oracle-dIxlfQ/httpd.conf:56)
    //   *:18779                is a NameVirtualHost
    //            default server a.example (/tmp/httpd-oracle-dIxlfQ/httpd.conf:51)
    //            port 18779 namevhost a.example (/tmp/httpd-oracle-dIxlfQ/httpd.conf:51)
    //                    alias www.a.example
    //            port 18779 namevhost c.example (/tmp/httpd-oracle-dIxlfQ/httpd.conf:59)
    //   ServerRoot: "/tmp/httpd-oracle-dIxlfQ"
    //   …
    //   PidFile: "/tmp/httpd-oracle-dIxlfQ/httpd.pid"
    //   Define: DUMP_VHOSTS
    //   Define: DUMP_RUN_CFG
    let dir = TempDir::new();
    let path = dir.write("slotgate.conf", VHOSTS);
    let p = path.display();
    let out = run_slotgate(&["-S", "-f", &p.to_string()], &dir);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let root = dir.path().display();
    let want = format!(
        "VirtualHost configuration:
127.0.0.1:18777        b.example ({p}:8)
*:18779                is a NameVirtualHost
         default server a.example ({p}:3)
         port 18779 namevhost a.example ({p}:3)
                 alias www.a.example
         port 18779 namevhost c.example ({p}:11)
Listen: 127.0.0.1:0 ({p}:1)
ServerRoot: \"{root}\"
Main ServerName: \"proxy.test\"
Main ErrorLog: stderr
PidFile: \"{root}/slotgate.pid\"
ScoreboardFile: \"{root}/slotgate.scoreboard\"
Define: DUMP_VHOSTS
Define: DUMP_RUN_CFG
"
    );
    assert_eq!(out.stdout, want);
    assert!(!out.stdout.contains("Syntax OK"));
}

#[test]
fn dash_s_and_dash_m_check_first() {
    let dir = TempDir::new();
    let path = dir.write("slotgate.conf", "Listen 127.0.0.1:0\nFrobnicate on\n");
    let p = path.display().to_string();
    for flag in ["-S", "-M"] {
        let out = run_slotgate(&[flag, "-f", &p], &dir);
        assert_eq!(out.code(), Some(1), "{flag}: {out:?}");
        assert!(
            out.stderr
                .contains(&format!("{p}:2: unknown directive 'Frobnicate'")),
            "{flag}: {out:?}"
        );
        assert_eq!(out.stdout, "", "{flag}");
    }
}

#[test]
fn dash_m_lists_the_modules_served_in_httpds_format() {
    // `apache2 -M` prints "Loaded Modules:" then " NAME_module (static|shared)".
    let dir = TempDir::new();
    let path = dir.write(
        "slotgate.conf",
        "MPM prefork\nListen 127.0.0.1:0\nProxyPass / http://127.0.0.1:9/\n",
    );
    let out = run_slotgate(&["-M", "-f", &path.display().to_string()], &dir);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let mut lines = out.stdout.lines();
    assert_eq!(lines.next(), Some("Loaded Modules:"));
    let modules: Vec<&str> = lines.collect();
    for m in [
        " core_module (static)",
        " log_config_module (static)",
        " logio_module (static)",
        " mpm_prefork_module (static)",
        " proxy_module (static)",
        " proxy_balancer_module (static)",
        " lbmethod_byrequests_module (static)",
        " proxy_hcheck_module (static)",
        " ssl_module (static)",
        " status_module (static)",
    ] {
        assert!(modules.contains(&m), "{m} missing: {modules:?}");
    }
    assert!(
        !modules.iter().any(|m| m.contains("mpm_event")),
        "{modules:?}"
    );
    assert!(modules
        .iter()
        .all(|m| m.starts_with(' ') && m.ends_with("_module (static)")));
    // The same list answers <IfModule>: every module -M names is present.
    let mut text = String::from("MPM prefork\nListen 127.0.0.1:0\n");
    for m in &modules {
        let name = m.trim().trim_end_matches(" (static)");
        text.push_str(&format!(
            "<IfModule !{name}>\nFrobnicate {name}\n</IfModule>\n"
        ));
    }
    let (out, _) = check_config(&dir, "ifmodule.conf", &text);
    assert_eq!(out.code(), Some(0), "{out:?}");
}

#[test]
fn dash_v_prints_version_and_build_settings() {
    let dir = TempDir::new();
    let path = dir.write("slotgate.conf", "MPM prefork\nListen 127.0.0.1:0\n");
    let out = run_slotgate(&["-V", "-f", &path.display().to_string()], &dir);
    assert_eq!(out.code(), Some(0), "{out:?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(
        lines[0],
        format!("Server version: slotgate/{}", env!("CARGO_PKG_VERSION"))
    );
    assert!(lines.contains(&"Server MPM:     prefork"), "{lines:?}");
    assert!(lines.contains(&"Server compiled with...."), "{lines:?}");
    assert!(
        lines.contains(&format!(" -D SERVER_CONFIG_FILE=\"{}\"", path.display()).as_str()),
        "{lines:?}"
    );
}

#[test]
fn k_configtest_is_dash_t() {
    let dir = TempDir::new();
    let good = dir.write("good.conf", "Listen 127.0.0.1:0\n");
    let out = run_slotgate(
        &["-k", "configtest", "-f", &good.display().to_string()],
        &dir,
    );
    assert_eq!(out.code(), Some(0), "{out:?}");
    assert!(out.stdout.contains("Syntax OK"), "{out:?}");
    let bad = dir.write("bad.conf", "Listen 127.0.0.1:0\nTimeout never\n");
    let p = bad.display().to_string();
    let out = run_slotgate(&["-k", "configtest", "-f", &p], &dir);
    assert_eq!(out.code(), Some(1), "{out:?}");
    assert!(out.stderr.contains(&format!("{p}:2: ")), "{out:?}");
}

#[test]
fn usage_names_every_option() {
    let dir = TempDir::new();
    let out = run_slotgate(&["-h"], &dir);
    assert_eq!(out.code(), Some(0), "{out:?}");
    for option in ["-S", "-M", "-V", "-X", "configtest", "-t", "-k"] {
        assert!(
            out.stdout.contains(option),
            "{option} missing: {}",
            out.stdout
        );
    }
}

/// `-X` on a configuration asking for 3 workers: one worker, the supervisor in
/// the foreground (the process started is the one named in the scoreboard).
fn one_worker(mpm: &str) {
    let a = Origin::start("a");
    let conf = format!(
        "{mpm}\nStartServers 3\nMinSpareServers 3\nMaxSpareServers 6\n{}",
        render("ProxyPass / http://{a}/\n", &[&a])
    );
    let sg = Slotgate::try_start_with_args(&format!("{BASE_CONF}{conf}"), &["-X"])
        .unwrap_or_else(|e| panic!("{e}"));
    let sb = sg.scoreboard();
    assert_eq!(
        sb.header().supervisor_pid(),
        sg.pid(),
        "the supervisor stays in the foreground"
    );
    for _ in 0..3 {
        assert_eq!(http_get(sg.port(), "/x", &[]).status, 200);
    }
    assert_eq!(sg.worker_pids().len(), 1, "{mpm}: {:?}", sg.worker_pids());
}

#[test]
fn dash_x_runs_one_worker_in_the_foreground() {
    one_worker("MPM event");
    one_worker("MPM prefork");
}
