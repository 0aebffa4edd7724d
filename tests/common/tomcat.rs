//! `Tomcat`: a real Apache Tomcat 10 (Debian `tomcat10`) with its own
//! CATALINA_BASE in a temporary folder: one AJP/1.3 connector on a reserved
//! port of 127.0.0.1 (with `secretRequired` and a secret, Tomcat's default),
//! no shutdown port, `jvmRoute` on the Engine, and a ROOT webapp holding
//! `hello.txt` and `echo.jsp`, which answers the facts of the request it got:
//!
//! ```text
//! method=GET / uri=/echo.jsp / query=a=1 / remote=127.0.0.1 / remoteport=N /
//! server=NAME:PORT / secure=false / body=N / session=ID.ROUTE (with ?session)
//! h:NAME=VALUE for each header
//! ```
//!
//! The JVM is started directly (not through catalina.sh), so its PID is the
//! child's; it is killed by that PID when the guard is dropped. Readiness is
//! a CPONG on the AJP port, polled within a bounded time.

use super::{find_tool, poll_every, tool_missing, ChildGuard, PortReservation, TempDir};
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Where Debian's tomcat10 keeps Tomcat (CATALINA_HOME).
const HOME: &str = "/usr/share/tomcat10";
/// How long a start may take on a loaded two-core machine.
const START_TIMEOUT: Duration = Duration::from_secs(120);

const ECHO_JSP: &str = r#"<%@ page contentType="text/plain; charset=UTF-8" session="false" %><%
long n = 0; byte[] b = new byte[8192]; java.io.InputStream in = request.getInputStream(); int r;
while ((r = in.read(b)) > 0) n += r;
out.print("method=" + request.getMethod() + "\n");
out.print("uri=" + request.getRequestURI() + "\n");
out.print("query=" + request.getQueryString() + "\n");
out.print("remote=" + request.getRemoteAddr() + "\n");
out.print("remoteport=" + request.getRemotePort() + "\n");
out.print("server=" + request.getServerName() + ":" + request.getServerPort() + "\n");
out.print("secure=" + request.isSecure() + "\n");
out.print("body=" + n + "\n");
if (request.getParameter("session") != null) {
  out.print("session=" + request.getSession(true).getId() + "\n");
} else if (request.getSession(false) != null) {
  out.print("session=" + request.getSession(false).getId() + "\n");
}
out.print("route=" + System.getProperty("test.route") + "\n");
java.util.Enumeration<String> names = request.getHeaderNames();
while (names.hasMoreElements()) { String h = names.nextElement(); out.print("h:" + h + "=" + request.getHeader(h) + "\n"); }
%>"#;

/// A running Tomcat; killed when dropped.
pub struct Tomcat {
    child: ChildGuard,
    dir: TempDir,
    port: PortReservation,
    route: String,
}

impl Tomcat {
    /// Starts Tomcat with `jvmRoute=route` and an AJP connector requiring
    /// `secret`; None (the test then skips) when tomcat10 is not installed and
    /// CI is not set (under CI=true a missing tomcat10 fails the test).
    pub fn start(route: &str, secret: &str) -> Option<Tomcat> {
        if !Path::new(HOME).join("bin/bootstrap.jar").exists() {
            tool_missing("tomcat10", "tomcat10")?;
        }
        let java = find_tool("java").or_else(|| tool_missing("java", "tomcat10"))?;
        let dir = TempDir::new();
        let port = PortReservation::new();
        let base = dir.path();
        for sub in ["conf", "logs", "temp", "work", "lib", "webapps/ROOT"] {
            fs::create_dir_all(base.join(sub)).expect("creating CATALINA_BASE");
        }
        fs::copy("/etc/tomcat10/web.xml", base.join("conf/web.xml"))
            .or_else(|_| fs::copy(format!("{HOME}/etc/web.xml"), base.join("conf/web.xml")))
            .expect("copying Tomcat's conf/web.xml");
        // The JSP compiler: Debian ships it apart from Tomcat's lib/.
        if !Path::new(HOME).join("lib/ecj.jar").exists() {
            let _ = std::os::unix::fs::symlink(
                "/usr/share/java/eclipse-jdt-core.jar",
                base.join("lib/ecj.jar"),
            );
        }
        dir.write(
            "conf/server.xml",
            &format!(
                r#"<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector protocol="AJP/1.3" address="127.0.0.1" port="{port}"
               secretRequired="true" secret="{secret}" redirectPort="8443" maxThreads="16"/>
    <Engine name="Catalina" defaultHost="localhost" jvmRoute="{route}">
      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false"/>
    </Engine>
  </Service>
</Server>
"#,
                port = port.port()
            ),
        );
        dir.write("webapps/ROOT/echo.jsp", ECHO_JSP);
        dir.write("webapps/ROOT/hello.txt", &format!("hello from {route}\n"));
        let out = fs::File::create(base.join("logs/stdout.log")).expect("Tomcat's log");
        let err = out.try_clone().expect("Tomcat's log");
        let child = Command::new(java)
            .args([
                "-Xmx192m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-Djava.awt.headless=true",
            ])
            .arg(format!("-Dcatalina.home={HOME}"))
            .arg(format!("-Dcatalina.base={}", base.display()))
            .arg(format!("-Djava.io.tmpdir={}", base.join("temp").display()))
            .arg(format!("-Dtest.route={route}"))
            .arg("-cp")
            .arg(format!(
                "{HOME}/bin/bootstrap.jar:{HOME}/bin/tomcat-juli.jar"
            ))
            .args(["org.apache.catalina.startup.Bootstrap", "start"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("starting Tomcat's JVM");
        let mut tomcat = Tomcat {
            child: ChildGuard::new(child),
            dir,
            port,
            route: route.to_string(),
        };
        let addr = tomcat.addr();
        let ready = poll_every(Duration::from_millis(200), START_TIMEOUT, || {
            if tomcat.child.wait_timeout(Duration::ZERO).is_some() {
                return Some(false);
            }
            cping(&addr).then_some(true)
        });
        assert_eq!(
            ready,
            Some(true),
            "Tomcat did not answer CPING on {addr} within {START_TIMEOUT:?}; its log:\n{}",
            tomcat.logs()
        );
        Some(tomcat)
    }

    /// `127.0.0.1:PORT` of the AJP connector.
    pub fn addr(&self) -> String {
        self.port.addr()
    }

    pub fn route(&self) -> &str {
        &self.route
    }

    pub fn pid(&self) -> i32 {
        self.child.pid()
    }

    /// Kills the JVM now (a member that died).
    pub fn kill(&mut self) {
        self.child.signal(nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait_timeout(Duration::from_secs(10));
    }

    /// Tomcat's stdout/stderr (startup, errors).
    pub fn logs(&self) -> String {
        fs::read_to_string(self.dir.path().join("logs/stdout.log")).unwrap_or_default()
    }
}

/// One CPING → CPONG exchange on a fresh connection (bounded by timeouts).
pub fn cping(addr: &str) -> bool {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(2)));
    if s.write_all(&[0x12, 0x34, 0, 1, 10]).is_err() {
        return false;
    }
    let mut got = [0u8; 5];
    s.read_exact(&mut got).is_ok() && got == [b'A', b'B', 0, 1, 9]
}
