//! A real uWSGI (Debian `uwsgi-core` + `uwsgi-plugin-python3`) serving a small
//! WSGI application on a uwsgi socket and an SCGI socket, both on 127.0.0.1
//! ports reserved by the test; master process in the foreground, stopped by
//! PID (SIGTERM with `--die-on-term`, SIGKILL as the fallback) when dropped.
//!
//! The application answers every request with `text/plain` lines: each string
//! of its WSGI environ as `KEY=VALUE`, sorted, then `BODY_LEN=` and
//! `BODY_SHA256=` of the body it read; header `X-App: wsgi`. A query
//! `status=NNN` makes it answer with that status.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::Signal;

use super::{find_tool, poll_true, tool_missing, ChildGuard, PortReservation, TempDir};

/// The Python 3 plugin of uwsgi-core.
pub const PYTHON3_PLUGIN: &str = "/usr/lib/uwsgi/plugins/python3_plugin.so";

const APP: &str = r#"import hashlib
def application(environ, start_response):
    body = environ['wsgi.input'].read()
    lines = ["%s=%s" % (k, v) for k, v in sorted(environ.items()) if isinstance(v, str)]
    lines.append("BODY_LEN=%d" % len(body))
    lines.append("BODY_SHA256=%s" % hashlib.sha256(body).hexdigest())
    status = '200 OK'
    q = environ.get('QUERY_STRING', '')
    if q.startswith('status='):
        status = q[7:10] + ' Chosen'
    start_response(status, [('Content-Type', 'text/plain'), ('X-App', 'wsgi')])
    return [("\n".join(lines) + "\n").encode()]
"#;

pub struct Uwsgi {
    dir: TempDir,
    child: ChildGuard,
    uwsgi: PortReservation,
    scgi: PortReservation,
}

impl Uwsgi {
    /// None when uWSGI or its Python 3 plugin is missing (local run: skip).
    pub fn start() -> Option<Uwsgi> {
        let exe = find_tool("uwsgi").or_else(|| tool_missing("uwsgi", "uwsgi-core"))?;
        if !Path::new(PYTHON3_PLUGIN).exists() {
            tool_missing("python3_plugin.so", "uwsgi-plugin-python3")?;
        }
        let dir = TempDir::new();
        let app = dir.write("app.py", APP);
        let (uwsgi, scgi) = (PortReservation::new(), PortReservation::new());
        let child = Command::new(exe)
            .args(["--plugin", "python3", "--uwsgi-socket"])
            .arg(uwsgi.addr())
            .arg("--scgi-socket")
            .arg(scgi.addr())
            .arg("--wsgi-file")
            .arg(&app)
            .args([
                "--master",
                "--die-on-term",
                "--processes",
                "2",
                "--need-app",
            ])
            .args(["--buffer-size", "65535", "--logto"])
            .arg(dir.path().join("uwsgi.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting uwsgi: {e}"));
        let u = Uwsgi {
            dir,
            child: ChildGuard::new(child),
            uwsgi,
            scgi,
        };
        let ready = poll_true(Duration::from_secs(20), || {
            std::net::TcpStream::connect(u.uwsgi.socket_addr()).is_ok()
                && std::net::TcpStream::connect(u.scgi.socket_addr()).is_ok()
        });
        assert!(
            ready,
            "uWSGI did not listen within 20 s; its log:\n{}",
            u.log()
        );
        Some(u)
    }

    /// `127.0.0.1:PORT` of the uwsgi-protocol socket.
    pub fn uwsgi_addr(&self) -> String {
        self.uwsgi.addr()
    }

    /// `127.0.0.1:PORT` of the SCGI socket.
    pub fn scgi_addr(&self) -> String {
        self.scgi.addr()
    }

    pub fn log(&self) -> String {
        self.dir.read("uwsgi.log")
    }
}

impl Drop for Uwsgi {
    fn drop(&mut self) {
        self.child.signal(Signal::SIGTERM);
        let _ = self.child.wait_timeout(Duration::from_secs(10));
    }
}
