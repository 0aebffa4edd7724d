//! The differential corpus (issue #15 point 6): every configuration under `conf/corpus/`
//! runs through the real Apache httpd 2.4 (`apache2`, started here as
//! `/work/shared/tools/httpd-oracle` starts it: a wrapper file with the run-time
//! plumbing, then the case) and through slotgate, against the same three origins of this
//! test, with the same requests. For each request the two must agree on the status, on
//! the request the origin saw (which origin, method, target and every header but those
//! in [`ORIGIN_IGNORED`]) and on every response header but those in
//! [`RESPONSE_IGNORED`]; the differences that are intended are the ones in [`INTENDED`],
//! and only they are normalised away.
//!
//! A case is `conf/corpus/NAME.conf`, or a directory `conf/corpus/NAME/` whose entry is
//! `apache2.conf` (its ServerRoot, as Debian's /etc/apache2). Its requests are its
//! `#? METHOD TARGET [| Name: value]…` lines; `#= Name: value` lines add a header to
//! the origins' answers (see `conf/corpus/README.md`). Adding a
//! case is adding a file; both servers must accept it (slotgate's `-t` warnings are
//! printed, not judged). apache2 comes from the Debian package `apache2` (in
//! `.ci/run`'s list; under CI=true a missing apache2 fails the test).

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::wire::{upgrade_echo_origin, RawOrigin, Wire, WIRE_WAIT};
use common::{
    http_request, poll_until, require_tool, Origin, PortReservation, RefusingPort, Response,
    Slotgate, TempDir,
};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// The differences between httpd and slotgate that the comparison allows, each with the
/// reason; README's "Migrating from httpd" repeats this table.
const INTENDED: &[(&str, &str)] = &[
    (
        "Server header",
        "httpd names itself (`Apache/2.4.x (Debian) OpenSSL/…`), slotgate itself \
         (`slotgate/VERSION (Unix)`, no module tokens): compared by shape (name only, \
         name/version, with the OS comment), which is what ServerTokens chooses",
    ),
    (
        "charset of locally written pages",
        "httpd writes its own pages in iso-8859-1, slotgate in utf-8: Content-Type is \
         compared by media type",
    ),
    (
        "bodies of locally written pages",
        "error pages, server-status and balancer-manager are worded differently; of a \
         page's body only the ServerSignature footer's host and port are compared",
    ),
    (
        "the member connection",
        "Connection on the origin side and connection reuse are not compared: httpd \
         pools per child process, slotgate per worker",
    ),
    (
        "the listening port",
        "each server listens on its own port: the port, where a value names it \
         (X-Forwarded-Host, rewritten Location, the signature), is compared as PORT",
    ),
    (
        "Connection: Keep-Alive",
        "on a kept HTTP/1.1 connection httpd echoes the client's keep-alive token, \
         slotgate leaves the default (persistent) unsaid: compared as kept or close",
    ),
    (
        "Date, Content-Length, Keep-Alive, ETag",
        "not compared (time, wording of local pages, timeouts), nor Last-Modified and \
         Accept-Ranges (they come with httpd's own files) and Transfer-Encoding (framing)",
    ),
    (
        "ProxyPassInherit Off",
        "httpd 2.4 still applies the main server's ProxyPass rules in a vhost with \
         ProxyPassInherit Off (reference §9 #1: an httpd bug); slotgate does not, and \
         warns at -t. Requests marked `#?! ProxyPassInherit Off:` must differ",
    ),
];

/// Request headers the origin received that are not compared (INTENDED "the member
/// connection"; framing and length are the connection's business); every other one is.
const ORIGIN_IGNORED: &[&str] = &["connection", "keep-alive", "te", "transfer-encoding"];

/// Response headers not compared (INTENDED "Date, Content-Length, Keep-Alive, ETag";
/// Last-Modified and Accept-Ranges only come with httpd's own files); every other one
/// is, Server and Content-Type by shape (INTENDED).
const RESPONSE_IGNORED: &[&str] = &[
    "date",
    "content-length",
    "keep-alive",
    "etag",
    "last-modified",
    "accept-ranges",
    "transfer-encoding",
];

/// The headers of `headers` not in `ignored`, names lowercased, values of a name
/// joined with ", ".
fn compared(headers: &[(String, String)], ignored: &[&str]) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        if ignored.contains(&name.as_str()) {
            continue;
        }
        out.entry(name)
            .and_modify(|v| {
                v.push_str(", ");
                v.push_str(value);
            })
            .or_insert_with(|| value.clone());
    }
    out
}

/// How long a server may take to listen.
const START: Duration = Duration::from_secs(20);
/// How long `Drop` waits for apache2 after SIGTERM before SIGKILL.
const STOP: Duration = Duration::from_secs(10);

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("conf/corpus")
}

/// A case: its name, its entry file and the ServerRoot it wants (None: the run dir).
struct Case {
    name: String,
    entry: PathBuf,
    root: Option<PathBuf>,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut entries: Vec<PathBuf> = fs::read_dir(corpus_dir())
        .expect("reading conf/corpus")
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            out.push(Case {
                name,
                entry: path.join("apache2.conf"),
                root: Some(path),
            });
        } else if path.extension().is_some_and(|e| e == "conf") {
            out.push(Case {
                name,
                entry: path,
                root: None,
            });
        }
    }
    out
}

/// One `#?` line (`#?! NAME: …`: one whose answers differ as [`INTENDED`]'s NAME says).
#[derive(Clone, Debug)]
struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    intended: Option<String>,
}

fn requests(text: &str, vars: &BTreeMap<String, String>) -> Vec<Request> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix("#?"))
        .map(|l| {
            let l = substitute(l, vars);
            let (intended, l) = match l.strip_prefix('!') {
                Some(rest) => {
                    let (name, rest) = rest.split_once(':').expect("#?! NAME: without ':'");
                    let name = name.trim().to_string();
                    assert!(
                        INTENDED.iter().any(|(n, _)| *n == name),
                        "#?! {name}: not in INTENDED"
                    );
                    (Some(name), rest.to_string())
                }
                None => (None, l),
            };
            let mut parts = l.split('|');
            let mut first = parts.next().unwrap().split_whitespace();
            let method = first.next().expect("#? without a method").to_string();
            let target = first.next().expect("#? without a target").to_string();
            let headers = parts
                .map(|h| {
                    let (n, v) = h.split_once(':').expect("#? header without ':'");
                    (n.trim().to_string(), v.trim().to_string())
                })
                .collect();
            Request {
                method,
                target,
                headers,
                intended,
            }
        })
        .collect()
}

/// The `#= Name: value` lines: headers every origin adds to its answers.
fn origin_headers(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.trim_start().strip_prefix("#="))
        .map(|l| {
            let (n, v) = l.split_once(':').expect("#= header without ':'");
            (n.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

fn substitute(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("${{{k}}}"), v);
    }
    out
}

/// apache2 running on a wrapper file; SIGTERM (then SIGKILL) by PID on drop.
struct Apache {
    child: Child,
    dir: PathBuf,
}

impl Drop for Apache {
    fn drop(&mut self) {
        let pid = Pid::from_raw(self.child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let child = &mut self.child;
        if poll_until(STOP, || child.try_wait().ok().flatten()).is_none() {
            let _ = kill(pid, Signal::SIGKILL);
            let _ = poll_until(STOP, || child.try_wait().ok().flatten());
        }
    }
}

impl Apache {
    fn logs(&self) -> String {
        let read = |n: &str| fs::read_to_string(self.dir.join(n)).unwrap_or_default();
        format!(
            "--- httpd.conf ---\n{}\n--- stderr ---\n{}\n--- error.log ---\n{}",
            read("httpd.conf"),
            read("httpd.stderr"),
            read("httpd-error.log")
        )
    }
}

/// The modules httpd-oracle loads for a one-file case, when installed.
const ORACLE_MODULES: &[&str] = &[
    "mpm_event",
    "authz_core",
    "authz_host",
    "slotmem_shm",
    "socache_shmcb",
    "proxy",
    "proxy_http",
    "proxy_balancer",
    "lbmethod_byrequests",
    "lbmethod_bytraffic",
    "lbmethod_bybusyness",
    "lbmethod_heartbeat",
    "proxy_hcheck",
    "proxy_wstunnel",
    "status",
    "reqtimeout",
    "watchdog",
    // The neighbours real configurations lean on (issue #15).
    "headers",
    "env",
    "setenvif",
    "rewrite",
    "remoteip",
    "access_compat",
    // Debian's default set, for the file-serving directives a pasted site carries.
    "dir",
    "mime",
];

fn start_apache(apache2: &Path, case: &Case, run: &Path, env: &[(String, String)]) -> Apache {
    let root = case.root.as_deref().unwrap_or(run);
    let mut conf = format!(
        "ServerRoot \"{}\"\nPidFile \"{run}/httpd.pid\"\nErrorLog \"{run}/httpd-error.log\"\n\
         DefaultRuntimeDir \"{run}\"\nMutex \"file:{run}\" default\n",
        root.display(),
        run = run.display()
    );
    if nix::unistd::geteuid().is_root() {
        conf.push_str("User www-data\nGroup www-data\n");
    }
    if case.root.is_none() {
        // mod_mime's default TypesConfig, relative to ServerRoot (the run dir here).
        fs::write(run.join("mime.types"), "text/html html\n").unwrap();
        let mods = Path::new("/usr/lib/apache2/modules");
        for m in ORACLE_MODULES {
            let so = mods.join(format!("mod_{m}.so"));
            if so.exists() {
                conf.push_str(&format!("LoadModule {m}_module \"{}\"\n", so.display()));
            }
        }
    }
    conf.push_str(&format!("Include \"{}\"\n", case.entry.display()));
    fs::write(run.join("httpd.conf"), conf).unwrap();
    let child = Command::new(apache2)
        .arg("-f")
        .arg(run.join("httpd.conf"))
        .arg("-DFOREGROUND")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .current_dir(run)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(run.join("httpd.stderr")).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", apache2.display()));
    Apache {
        child,
        dir: run.to_path_buf(),
    }
}

fn start_slotgate(case: &Case, run: &Path, env: &[(String, String)]) -> Slotgate {
    let root = case.root.as_deref().unwrap_or(run);
    let conf = format!(
        "ServerRoot \"{}\"\nPidFile \"{}/slotgate.pid\"\nInclude \"{}\"\n",
        root.display(),
        run.display(),
        case.entry.display()
    );
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    Slotgate::try_start_full(&conf, &[], &[], &env)
        .unwrap_or_else(|e| panic!("corpus {}: slotgate refused to start: {e}", case.name))
}

/// What one request showed.
#[derive(Debug, PartialEq, Eq)]
struct Seen {
    status: u16,
    /// Which origin got the request, with what it saw.
    origin: Option<BTreeMap<String, String>>,
    response: BTreeMap<String, String>,
    /// The ServerSignature footer from " Server at" on (INTENDED: bodies).
    signature: Option<String>,
    /// After a 101 to a request with an `Upgrade` header: [`UPGRADED_MESSAGE`] as
    /// it came back through the tunnel from `${ORIGIN_WS}`.
    echo: Option<String>,
}

/// What a client sends on an upgraded connection (the WebSocket origin echoes it).
const UPGRADED_MESSAGE: &[u8] = b"corpus message through the tunnel";

/// A request with an `Upgrade` header, on its own connection: the response
/// head, then (after a 101) [`UPGRADED_MESSAGE`] sent and read back, else the
/// body.
fn upgrade_request(port: u16, r: &Request) -> (Response, Option<String>) {
    let mut wire = Wire::connect(port);
    let mut head = format!("{} {} HTTP/1.1\r\n", r.method, r.target);
    if !r
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("host"))
    {
        head.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    for (n, v) in &r.headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    wire.send(head.as_bytes());
    let mut resp = wire
        .read_head(&r.method, WIRE_WAIT)
        .unwrap_or_else(|e| panic!("{} {}: {e}", r.method, r.target));
    if resp.status != 101 {
        resp.body = wire.read_body(WIRE_WAIT).unwrap_or_default();
        return (resp, None);
    }
    wire.send(UPGRADED_MESSAGE);
    let echo = wire
        .read_exact_bytes(UPGRADED_MESSAGE.len(), WIRE_WAIT)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|e| format!("no echo: {e}"));
    (resp, Some(echo))
}

/// INTENDED "Server header": the shape ServerTokens chose.
fn server_shape(value: &str) -> String {
    let first = value.split(' ').next().unwrap_or("");
    let mut shape = match first.contains('/') {
        true => "name/version".to_string(),
        false => "name".to_string(),
    };
    if value.contains('(') {
        shape.push_str(" (os)");
    }
    shape
}

fn observe(origins: &[&Origin], ws: &RawOrigin, port: u16, r: &Request) -> Seen {
    // INTENDED "the listening port".
    let own_port = |v: &str| {
        v.replace(&format!(":{port}"), ":PORT")
            .replace(&format!("Port {port}"), "Port PORT")
    };
    let before: Vec<usize> = origins.iter().map(|o| o.recorded().len()).collect();
    let ws_before = ws.request_count();
    let headers: Vec<(&str, &str)> = r
        .headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let body = (r.method == "POST").then_some(&b"corpus body"[..]);
    let (resp, echo) = match r
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("upgrade"))
    {
        true => upgrade_request(port, r),
        false => (
            http_request(port, &r.method, &r.target, &headers, body),
            None,
        ),
    };
    let mut origin = None;
    if let Some(req) = ws.requests().get(ws_before) {
        let mut seen = BTreeMap::new();
        seen.insert("origin".to_string(), ws.name().to_string());
        seen.insert("method".to_string(), req.method.clone());
        seen.insert("target".to_string(), req.target.clone());
        for (h, v) in compared(&req.headers, ORIGIN_IGNORED) {
            seen.insert(h, own_port(&v));
        }
        origin = Some(seen);
    }
    for (o, n) in origins.iter().zip(before) {
        let recorded = o.recorded();
        if let Some(req) = recorded.get(n) {
            let mut seen = BTreeMap::new();
            seen.insert("origin".to_string(), o.name().to_string());
            seen.insert("method".to_string(), req.method.clone());
            seen.insert("target".to_string(), req.target.clone());
            for (h, v) in compared(&req.headers, ORIGIN_IGNORED) {
                seen.insert(h, own_port(&v));
            }
            origin = Some(seen);
        }
    }
    let mut response = BTreeMap::new();
    for (h, value) in compared(&resp.headers, RESPONSE_IGNORED) {
        let value = match h.as_str() {
            "server" => server_shape(&value),
            "content-type" => value.split(';').next().unwrap_or("").trim().to_string(),
            "connection" => value.to_ascii_lowercase(),
            _ => own_port(&value),
        };
        response.insert(h, value);
    }
    // INTENDED "Connection: Keep-Alive".
    let kept = match response.get("connection") {
        Some(v) if v.contains("close") => "close",
        _ => "kept",
    };
    response.insert("connection".to_string(), kept.to_string());
    let text = resp.text();
    // Error pages only: server-status has an <address> of its own.
    let page = (resp.status >= 400).then_some(text.as_str());
    let signature = page.and_then(|text| text.find("<address>").map(|s| &text[s..]));
    let signature = signature.and_then(|address| {
        let end = address.find("</address>")?;
        let at = address[..end].find(" Server at")?;
        Some(own_port(&address[at..end]))
    });
    Seen {
        status: resp.status,
        origin,
        response,
        signature,
        echo,
    }
}

/// Polls until something accepts on `port` (bounded); false at once if apache2 exited.
fn wait_listening(apache: &mut Apache, port: u16) -> bool {
    let child = &mut apache.child;
    poll_until(START, || {
        if let Ok(Some(_)) = child.try_wait() {
            return Some(false);
        }
        std::net::TcpStream::connect(("127.0.0.1", port))
            .ok()
            .map(|_| true)
    })
    .unwrap_or(false)
}

fn run_case(apache2: &Path, case: &Case) -> Vec<String> {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let c = Origin::start("c");
    let ws = upgrade_echo_origin("ws");
    let refused = RefusingPort::new();
    let origins = [&a, &b, &c];
    let text = fs::read_to_string(&case.entry).unwrap();
    let mut problems = Vec::new();
    let mut results: Vec<Vec<Seen>> = Vec::new();
    for server in ["httpd", "slotgate"] {
        let port = PortReservation::new();
        let run = TempDir::new();
        fs::create_dir_all(run.path().join("htdocs")).unwrap();
        fs::create_dir_all(run.path().join("log")).unwrap();
        // The run dir must be reachable by httpd's children (www-data when root).
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(run.path(), fs::Permissions::from_mode(0o755));
        let mut vars = BTreeMap::new();
        let dir = run.path().display().to_string();
        for (k, v) in [
            ("CORPUS_PORT", port.port().to_string()),
            ("ORIGIN_A", a.addr()),
            ("ORIGIN_B", b.addr()),
            ("ORIGIN_C", c.addr()),
            ("ORIGIN_WS", ws.addr()),
            ("REFUSED", refused.addr()),
            ("CORPUS_RUN", dir.clone()),
            ("APACHE_RUN_DIR", dir.clone()),
            ("APACHE_PID_FILE", format!("{dir}/{server}.pid")),
            ("APACHE_LOCK_DIR", dir.clone()),
            ("APACHE_LOG_DIR", format!("{dir}/log")),
            ("APACHE_RUN_USER", "www-data".to_string()),
            ("APACHE_RUN_GROUP", "www-data".to_string()),
        ] {
            vars.insert(k.to_string(), v);
        }
        let env: Vec<(String, String)> = vars.clone().into_iter().collect();
        let reqs = requests(&text, &vars);
        let answers = origin_headers(&text);
        let answers: Vec<(&str, &str)> = answers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        for o in origins {
            o.set_response_headers(&answers);
        }
        assert!(!reqs.is_empty(), "corpus {}: no #? request", case.name);
        let seen: Vec<Seen> = if server == "httpd" {
            let mut apache = start_apache(apache2, case, run.path(), &env);
            assert!(
                wait_listening(&mut apache, port.port()),
                "corpus {}: httpd did not listen within {START:?}\n{}",
                case.name,
                apache.logs()
            );
            reqs.iter()
                .map(|r| observe(&origins, &ws, port.port(), r))
                .collect()
        } else {
            let sg = start_slotgate(case, run.path(), &env);
            reqs.iter()
                .map(|r| observe(&origins, &ws, sg.port(), r))
                .collect()
        };
        results.push(seen);
        let reqs_shown: Vec<String> = reqs
            .iter()
            .map(|r| format!("{} {}", r.method, r.target))
            .collect();
        if server == "slotgate" {
            let httpd = &results[0];
            for (i, (h, s)) in httpd.iter().zip(&results[1]).enumerate() {
                if let Some(name) = &reqs[i].intended {
                    if h == s {
                        problems.push(format!(
                            "corpus {}: request {} ({}): the intended difference \
                             '{name}' is no longer seen: both {h:?}",
                            case.name,
                            i + 1,
                            reqs_shown[i]
                        ));
                    }
                } else if h != s {
                    problems.push(format!(
                        "corpus {}: request {} ({}):\n  httpd:    {h:?}\n  slotgate: {s:?}",
                        case.name,
                        i + 1,
                        reqs_shown[i]
                    ));
                }
            }
        }
    }
    problems
}

#[test]
fn the_corpus_runs_alike_on_httpd_and_slotgate() {
    // Debian installs it in /usr/sbin, which a user's PATH may lack.
    let sbin = Path::new("/usr/sbin/apache2");
    let found = match sbin.exists() {
        true => Some(sbin.to_path_buf()),
        false => require_tool("apache2", "apache2"),
    };
    let Some(apache2) = found else {
        return;
    };
    let cases = cases();
    assert!(cases.len() >= 10, "the corpus has {} cases", cases.len());
    // CORPUS_CASE=NAME runs that case alone (while writing one); CI sets none.
    let only = std::env::var("CORPUS_CASE").ok();
    let mut problems = Vec::new();
    for case in cases
        .iter()
        .filter(|c| only.as_ref().is_none_or(|n| *n == c.name))
    {
        problems.extend(run_case(&apache2, case));
    }
    assert!(
        problems.is_empty(),
        "{} differences (the intended ones, already allowed, are: {:?}):\n{}",
        problems.len(),
        INTENDED.iter().map(|(what, _)| *what).collect::<Vec<_>>(),
        problems.join("\n")
    );
}

#[test]
fn every_case_passes_slotgate_check_and_names_what_it_ignores() {
    // `-t` on the static vhost: accepted, and each ignored directive named with why.
    let dir = TempDir::new();
    let case = corpus_dir().join("static-vhost-next-to-proxy.conf");
    let conf = dir.write(
        "check.conf",
        &format!(
            "ServerRoot \"{}\"\nInclude \"{}\"\n",
            dir.path().display(),
            case.display()
        ),
    );
    let out = Command::new(common::slotgate_exe())
        .arg("-t")
        .arg("-f")
        .arg(&conf)
        .env("CORPUS_PORT", "8080")
        .env("ORIGIN_A", "127.0.0.1:9")
        .env("CORPUS_RUN", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for want in [
        "DocumentRoot ignored: slotgate serves no files",
        "DirectoryIndex ignored: slotgate serves no directories",
        "<Directory> section ignored: it applies to files on disk",
        "<FilesMatch> section ignored",
        "AddDefaultCharset ignored",
        "ServerAdmin is only shown by ServerSignature EMail",
    ] {
        assert!(
            stderr.contains(want) || stdout.contains(want),
            "missing '{want}':\n{stdout}\n{stderr}"
        );
    }
}
