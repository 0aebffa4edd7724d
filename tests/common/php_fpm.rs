//! A real php-fpm (Debian `php8.2-fpm`) for the FastCGI tests: its own
//! master, pid file and pools in a temporary directory (`-n`: no php.ini;
//! `-y`: the test's configuration; `-R`: tests may run as root), in the
//! foreground, killed by PID when dropped.
//!
//! Pools: `unix` on a unix socket, and `tcp_a`, `tcp_b`… on 127.0.0.1 ports
//! reserved by the test. Each pool's scripts see `getenv('POOL')` = its name.
//! The document root holds `index.php` (echoes `$_SERVER`, the pool, and the
//! body's length and SHA-256), `status.php` (a `Status:` and headers),
//! `fatal.php` (a PHP fatal error) and `stderr.php` (`error_log()`, which
//! php-fpm sends as FastCGI STDERR).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;

use super::{poll_true, tool_missing, ChildGuard, PortReservation, TempDir};

/// Where Debian installs the FastCGI process manager.
pub const PHP_FPM: &str = "/usr/sbin/php-fpm8.2";

const INDEX_PHP: &str = r#"<?php
header('Content-Type: text/plain');
$in = file_get_contents('php://input');
echo "POOL=", getenv('POOL'), "\n";
echo "BODY_LEN=", strlen($in), "\n";
echo "BODY_SHA256=", hash('sha256', $in), "\n";
foreach ($_SERVER as $k => $v) { if (is_string($v)) { echo "$k=$v\n"; } }
"#;

const STATUS_PHP: &str = r#"<?php
header('Status: 418 I am a teapot');
header('X-Script: status');
header('Set-Cookie: a=1');
header('Set-Cookie: b=2', false);
echo "short and stout\n";
"#;

const FATAL_PHP: &str = r#"<?php
no_such_function();
"#;

const STDERR_PHP: &str = r#"<?php
error_log("a line for the error log");
echo "ok\n";
"#;

pub struct PhpFpm {
    dir: TempDir,
    /// The master; its pool workers end with it (SIGTERM in `Drop`).
    child: ChildGuard,
    ports: Vec<PortReservation>,
}

impl PhpFpm {
    /// Starts php-fpm with the unix-socket pool and `tcp_pools` TCP pools;
    /// None when php-fpm is not installed (a local run: the test skips; under
    /// CI=true `tool_missing` panics).
    pub fn start(tcp_pools: usize) -> Option<PhpFpm> {
        if !Path::new(PHP_FPM).exists() {
            tool_missing("php-fpm8.2", "php8.2-fpm")?;
        }
        let dir = TempDir::new();
        dir.write("www/index.php", INDEX_PHP);
        dir.write("www/status.php", STATUS_PHP);
        dir.write("www/fatal.php", FATAL_PHP);
        dir.write("www/stderr.php", STDERR_PHP);
        let ports: Vec<PortReservation> = (0..tcp_pools).map(|_| PortReservation::new()).collect();
        let d = dir.path().display();
        let mut conf = format!(
            "[global]\npid = {d}/fpm.pid\nerror_log = {d}/fpm.log\ndaemonize = no\n\
             log_level = notice\n"
        );
        let pool = |name: &str, listen: &str| {
            format!(
                "[{name}]\nlisten = {listen}\nlisten.mode = 0666\npm = static\n\
                 pm.max_children = 2\nenv[POOL] = {name}\ncatch_workers_output = yes\n\
                 php_admin_value[display_errors] = Off\nphp_admin_flag[log_errors] = on\n"
            )
        };
        conf.push_str(&pool("unix", &format!("{d}/fpm.sock")));
        for (i, p) in ports.iter().enumerate() {
            let name = format!("tcp_{}", (b'a' + i as u8) as char);
            conf.push_str(&pool(&name, &p.addr()));
        }
        let conf_path = dir.write("fpm.conf", &conf);
        let child = Command::new(PHP_FPM)
            .args(["-n", "-R", "--nodaemonize", "-y"])
            .arg(&conf_path)
            .args(["-d", "post_max_size=64M", "-d", "memory_limit=256M"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {PHP_FPM}: {e}"));
        let fpm = PhpFpm {
            dir,
            child: ChildGuard::new(child),
            ports,
        };
        let socket = fpm.socket();
        let ready = poll_true(Duration::from_secs(20), || {
            std::os::unix::net::UnixStream::connect(&socket).is_ok()
                && fpm
                    .ports
                    .iter()
                    .all(|p| std::net::TcpStream::connect(p.socket_addr()).is_ok())
        });
        assert!(
            ready,
            "php-fpm did not listen within 20 s; its log:\n{}",
            fpm.log()
        );
        Some(fpm)
    }

    /// The document root (scripts live here).
    pub fn docroot(&self) -> PathBuf {
        self.dir.path().join("www")
    }

    /// The unix-socket pool's socket.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("fpm.sock")
    }

    /// `127.0.0.1:PORT` of TCP pool `i` (0: `tcp_a`).
    pub fn tcp(&self, i: usize) -> String {
        self.ports[i].addr()
    }

    /// Writes a script into the document root.
    pub fn script(&self, name: &str, text: &str) -> PathBuf {
        self.dir.write(&format!("www/{name}"), text)
    }

    /// php-fpm's own log (the workers' stderr with catch_workers_output).
    pub fn log(&self) -> String {
        self.dir.read("fpm.log")
    }

    pub fn pid(&self) -> i32 {
        self.child.pid()
    }
}

impl Drop for PhpFpm {
    fn drop(&mut self) {
        // SIGTERM: the master stops its workers, then exits; ChildGuard's
        // SIGKILL is the bounded fallback.
        self.child.signal(Signal::SIGTERM);
        let _ = self.child.wait_timeout(Duration::from_secs(10));
    }
}
