//! A minimal W3C WebDriver client for browser tests: starts `chromedriver`
//! on a free port of 127.0.0.1, opens a headless Chromium session with a
//! fresh profile, and speaks the protocol over plain HTTP/1.1 (one
//! `Connection: close` request per command, JSON bodies).
//!
//! Every wait is bounded. Dropping the `Browser` ends the session
//! (DELETE /session/{id}), then kills whatever chromedriver started (the
//! browser's process tree) and chromedriver itself, by PID.

use super::{
    find_tool, pid_alive, poll_every, poll_true, require_tool, tool_missing, unused_port, TempDir,
};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::{json, Value};
use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The key of an element reference in W3C WebDriver JSON.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// How long chromedriver may take to answer GET /status with ready.
const DRIVER_START: Duration = Duration::from_secs(20);
/// Bound on one WebDriver command (connect, write, read the whole answer).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on the DELETE /session of `Drop`.
const QUIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Polling interval of the waits.
const POLL: Duration = Duration::from_millis(50);
/// The `window` property `click_and_wait_page` sets on the page it leaves.
const OLD_PAGE_MARK: &str = "slotgateOldPage";

/// Where chromedriver and the browser are, if both are installed.
#[derive(Clone, Debug)]
pub struct Installed {
    pub chromedriver: PathBuf,
    pub browser: PathBuf,
}

/// chromedriver and a Chromium (or Chrome) binary, or None (after saying
/// which package to install) when one is missing in a local run; under
/// `CI=true` a missing one fails the test (`require_tool`). `CHROMEDRIVER`
/// and `CHROMIUM` override the search in `PATH`.
pub fn installed() -> Option<Installed> {
    let from_env = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_file())
    };
    let chromedriver =
        from_env("CHROMEDRIVER").or_else(|| require_tool("chromedriver", "chromium-driver"))?;
    let browser = from_env("CHROMIUM")
        .or_else(|| {
            ["chromium", "chromium-browser", "google-chrome", "chrome"]
                .iter()
                .find_map(|name| find_tool(name))
        })
        .or_else(|| tool_missing("chromium", "chromium"))?;
    Some(Installed {
        chromedriver,
        browser,
    })
}

/// An HTTP answer from chromedriver.
struct Answer {
    status: u16,
    body: Value,
}

/// One request to chromedriver at `port`; the whole exchange is bounded by
/// `timeout`.
fn http_json(
    port: u16,
    method: &str,
    path: &str,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<Answer, String> {
    let deadline = Instant::now() + timeout;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| format!("connecting to chromedriver on {addr}: {e}"))?;
    stream
        .set_write_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let payload = body.map(|b| b.to_string()).unwrap_or_default();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nAccept: application/json\r\n"
    );
    if body.is_some() || method == "POST" {
        request.push_str(&format!(
            "Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n",
            payload.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(&payload);
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("{method} {path}: writing: {e}"))?;

    let mut raw = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "{method} {path}: no complete answer within {timeout:?}"
            ));
        }
        stream
            .set_read_timeout(Some(left.min(Duration::from_secs(5))))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                raw.extend_from_slice(&buf[..n]);
                // chromedriver may keep the connection open: stop as soon as
                // the answer is complete.
                if answer_complete(&raw) {
                    break;
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut
                    || e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("{method} {path}: reading: {e}")),
        }
    }
    parse_answer(&raw).map_err(|e| format!("{method} {path}: {e}"))
}

/// Whether `raw` holds a whole response with a Content-Length or chunked
/// body (a close-delimited body is only complete at EOF).
fn answer_complete(raw: &[u8]) -> bool {
    let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let body = &raw[end + 4..];
    for line in head.split("\r\n").skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name == "content-length" {
                return value.parse::<usize>().is_ok_and(|n| body.len() >= n);
            }
            if name == "transfer-encoding" && value.contains("chunked") {
                return body.ends_with(b"0\r\n\r\n");
            }
        }
    }
    false
}

/// Parses a whole HTTP/1.1 response read to EOF (Content-Length, chunked or
/// close-delimited body).
fn parse_answer(raw: &[u8]) -> Result<Answer, String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no complete head in {:?}", String::from_utf8_lossy(raw)))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut content_length = None;
    let mut chunked = false;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse::<usize>().ok();
            } else if name.eq_ignore_ascii_case("transfer-encoding")
                && value.to_ascii_lowercase().contains("chunked")
            {
                chunked = true;
            }
        }
    }
    let rest = &raw[end + 4..];
    let body: Vec<u8> = if chunked {
        dechunk(rest)?
    } else if let Some(n) = content_length {
        if rest.len() < n {
            return Err(format!("body cut short: {} of {n} bytes", rest.len()));
        }
        rest[..n].to_vec()
    } else {
        rest.to_vec()
    };
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            format!(
                "status {status}, body is not JSON ({e}): {:?}",
                String::from_utf8_lossy(&body)
            )
        })?
    };
    Ok(Answer { status, body })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("chunk size line without CRLF")?;
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size {
            return Err("chunk cut short".to_string());
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or(&[]);
    }
}

/// The parent PID of `pid` from /proc/PID/stat.
fn parent_of(pid: i32) -> Option<i32> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// Every descendant of `root` (children, their children…), found through
/// /proc; bounded by the number of processes.
fn descendants(root: i32) -> Vec<i32> {
    let all: Vec<(i32, i32)> = match fs::read_dir("/proc") {
        Ok(entries) => entries
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
            .filter_map(|pid| Some((pid, parent_of(pid)?)))
            .collect(),
        Err(_) => return Vec::new(),
    };
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let parent = found[i];
        for &(pid, ppid) in &all {
            if ppid == parent && !found.contains(&pid) {
                found.push(pid);
            }
        }
        i += 1;
    }
    found.remove(0);
    found
}

/// A WebDriver element reference.
#[derive(Clone, Debug)]
pub struct Element(String);

/// A headless Chromium driven through chromedriver; stopped when dropped.
pub struct Browser {
    driver: Option<Child>,
    port: u16,
    session: Option<String>,
    /// Processes chromedriver started (the browser and its helpers), as last
    /// seen; killed by PID in `Drop` if still alive.
    browser_pids: Vec<i32>,
    // Last field: removed after the processes are gone.
    dir: TempDir,
}

impl Browser {
    /// Starts chromedriver and opens a headless session; Err with
    /// chromedriver's log when that fails.
    pub fn start(installed: &Installed) -> Result<Browser, String> {
        let mut browser = Browser {
            driver: None,
            port: 0,
            session: None,
            browser_pids: Vec::new(),
            dir: TempDir::new(),
        };
        let mut last_error = String::new();
        // A port picked by `unused_port` may be taken before chromedriver binds
        // it: three attempts.
        for attempt in 0..3 {
            let port = unused_port();
            let log = browser
                .dir
                .path()
                .join(format!("chromedriver{attempt}.log"));
            let out = browser
                .dir
                .path()
                .join(format!("chromedriver{attempt}.out"));
            let out_file = File::create(&out).map_err(|e| e.to_string())?;
            let err_file = out_file.try_clone().map_err(|e| e.to_string())?;
            let child = Command::new(&installed.chromedriver)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(out_file)
                .stderr(err_file)
                .spawn()
                .map_err(|e| format!("starting {}: {e}", installed.chromedriver.display()))?;
            browser.driver = Some(child);
            browser.port = port;
            match browser.wait_ready() {
                Ok(()) => {
                    last_error.clear();
                    break;
                }
                Err(e) => {
                    last_error = format!("{e}\n{}", browser.driver_log());
                    browser.stop_driver();
                }
            }
        }
        if browser.driver.is_none() {
            return Err(last_error);
        }
        let profile = browser.dir.path().join("profile");
        fs::create_dir_all(&profile).map_err(|e| e.to_string())?;
        let binary = installed.browser.clone();
        browser.new_session(&binary, &profile)?;
        Ok(browser)
    }

    /// Polls GET /status until chromedriver says ready (bounded).
    fn wait_ready(&mut self) -> Result<(), String> {
        let mut last = String::from("no answer yet");
        let outcome = poll_every(POLL, DRIVER_START, || {
            if let Some(child) = self.driver.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.driver = None;
                    return Some(Err(format!("chromedriver exited with {status} ({last})")));
                }
            }
            match http_json(self.port, "GET", "/status", None, Duration::from_secs(5)) {
                Ok(a) if a.body["value"]["ready"] == json!(true) => return Some(Ok(())),
                Ok(a) => last = format!("status {} {}", a.status, a.body),
                Err(e) => last = e,
            }
            None
        });
        outcome.unwrap_or_else(|| {
            Err(format!(
                "chromedriver not ready on port {} within {DRIVER_START:?}: {last}",
                self.port
            ))
        })
    }

    fn new_session(&mut self, binary: &Path, profile: &Path) -> Result<(), String> {
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "pageLoadStrategy": "normal",
                    "timeouts": { "implicit": 0, "pageLoad": 30000, "script": 10000 },
                    "goog:chromeOptions": {
                        "binary": binary.to_string_lossy(),
                        "args": [
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-dev-shm-usage",
                            "--no-first-run",
                            "--no-default-browser-check",
                            "--disable-extensions",
                            "--disable-background-networking",
                            format!("--user-data-dir={}", profile.display()),
                        ],
                    },
                },
            },
        });
        let value = self
            .command("POST", "/session", Some(capabilities))
            .map_err(|e| format!("{e}\n{}", self.driver_log()))?;
        let id = value["sessionId"]
            .as_str()
            .ok_or_else(|| format!("no sessionId in {value}"))?;
        self.session = Some(id.to_string());
        self.remember_browser_pids();
        Ok(())
    }

    /// chromedriver's output and log, for messages.
    pub fn driver_log(&self) -> String {
        let mut text = String::new();
        if let Ok(entries) = fs::read_dir(self.dir.path()) {
            let mut paths: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
            paths.sort();
            for path in paths.iter().filter(|p| p.is_file()) {
                let content = fs::read_to_string(path).unwrap_or_default();
                let tail: String = content
                    .lines()
                    .rev()
                    .take(40)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<Vec<_>>()
                    .join("\n");
                text.push_str(&format!("--- {} (tail) ---\n{tail}\n", path.display()));
            }
        }
        text
    }

    fn remember_browser_pids(&mut self) {
        if let Some(driver) = &self.driver {
            for pid in descendants(driver.id() as i32) {
                if !self.browser_pids.contains(&pid) {
                    self.browser_pids.push(pid);
                }
            }
        }
    }

    /// Sends one WebDriver command; returns the answer's `value`, or Err
    /// with the WebDriver error and message.
    pub fn command(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let answer = http_json(self.port, method, path, body.as_ref(), COMMAND_TIMEOUT)?;
        let value = answer.body.get("value").cloned().unwrap_or(Value::Null);
        if answer.status != 200 {
            return Err(format!(
                "{method} {path}: status {}: {} {}",
                answer.status,
                value["error"].as_str().unwrap_or("?"),
                value["message"].as_str().unwrap_or(&value.to_string())
            ));
        }
        Ok(value)
    }

    fn session_path(&self, rest: &str) -> String {
        format!(
            "/session/{}{rest}",
            self.session.as_deref().expect("no WebDriver session")
        )
    }

    /// `command` on `/session/{id}{rest}`; panics with the error.
    fn session_command(&self, method: &str, rest: &str, body: Option<Value>) -> Value {
        let path = self.session_path(rest);
        self.command(method, &path, body)
            .unwrap_or_else(|e| panic!("WebDriver: {e}"))
    }

    /// Loads `url` and waits for it (the session's page-load timeout: 30 s).
    pub fn goto(&self, url: &str) {
        self.session_command("POST", "/url", Some(json!({ "url": url })));
    }

    pub fn current_url(&self) -> String {
        self.session_command("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub fn title(&self) -> String {
        self.session_command("GET", "/title", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The page's HTML as the browser serializes it now.
    pub fn source(&self) -> String {
        self.session_command("GET", "/source", None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The rendered text of the whole page (`document.body.innerText`).
    pub fn body_text(&self) -> String {
        self.execute(
            "return document.body ? document.body.innerText : '';",
            json!([]),
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub fn execute(&self, script: &str, args: Value) -> Value {
        self.session_command(
            "POST",
            "/execute/sync",
            Some(json!({ "script": script, "args": args })),
        )
    }

    fn element_from(value: &Value) -> Option<Element> {
        value[ELEMENT_KEY]
            .as_str()
            .map(|id| Element(id.to_string()))
    }

    /// Every element matching `using` (`css selector`, `xpath`, `link text`…).
    pub fn find_all(&self, using: &str, selector: &str) -> Vec<Element> {
        let value = self.session_command(
            "POST",
            "/elements",
            Some(json!({ "using": using, "value": selector })),
        );
        value
            .as_array()
            .map(|a| a.iter().filter_map(Browser::element_from).collect())
            .unwrap_or_default()
    }

    /// The first element matching `using`/`selector`, None if there is none.
    pub fn try_find(&self, using: &str, selector: &str) -> Option<Element> {
        let path = self.session_path("/element");
        match self.command(
            "POST",
            &path,
            Some(json!({ "using": using, "value": selector })),
        ) {
            Ok(value) => Browser::element_from(&value),
            Err(e) if e.contains("no such element") => None,
            Err(e) => panic!("WebDriver: {e}"),
        }
    }

    /// The first element matching a CSS selector; panics with the page source if none.
    pub fn css(&self, selector: &str) -> Element {
        self.try_find("css selector", selector).unwrap_or_else(|| {
            panic!(
                "no element matches CSS {selector:?} on {}; page:\n{}",
                self.current_url(),
                self.source()
            )
        })
    }

    /// The first element matching an XPath; panics with the page source if none.
    pub fn xpath(&self, selector: &str) -> Element {
        self.try_find("xpath", selector).unwrap_or_else(|| {
            panic!(
                "no element matches XPath {selector:?} on {}; page:\n{}",
                self.current_url(),
                self.source()
            )
        })
    }

    /// Waits (bounded by `timeout`) for an element matching `using`/`selector`.
    pub fn wait_find(&self, using: &str, selector: &str, timeout: Duration) -> Element {
        poll_every(POLL, timeout, || self.try_find(using, selector)).unwrap_or_else(|| {
            panic!(
                "no element matched {using} {selector:?} within {timeout:?} on {}; page:\n{}",
                self.current_url(),
                self.source()
            )
        })
    }

    /// Waits (bounded) until `check` holds for the page's rendered text;
    /// returns that text.
    pub fn wait_text(&self, what: &str, timeout: Duration, check: impl Fn(&str) -> bool) -> String {
        let mut text = String::new();
        let shown = poll_every(POLL, timeout, || {
            text = self.body_text();
            check(&text).then(|| text.clone())
        });
        shown.unwrap_or_else(|| {
            panic!(
                "page at {} did not show {what} within {timeout:?}; text:\n{text}",
                self.current_url()
            )
        })
    }

    fn element_path(&self, element: &Element, rest: &str) -> String {
        format!("/element/{}{rest}", element.0)
    }

    pub fn click(&self, element: &Element) {
        let rest = self.element_path(element, "/click");
        self.session_command("POST", &rest, Some(json!({})));
    }

    /// Clears a text input or textarea.
    pub fn clear(&self, element: &Element) {
        let rest = self.element_path(element, "/clear");
        self.session_command("POST", &rest, Some(json!({})));
    }

    /// Types `text` into the element.
    pub fn send_keys(&self, element: &Element, text: &str) {
        let rest = self.element_path(element, "/value");
        self.session_command("POST", &rest, Some(json!({ "text": text })));
    }

    /// The element's rendered text.
    pub fn text(&self, element: &Element) -> String {
        let rest = self.element_path(element, "/text");
        self.session_command("GET", &rest, None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// The element's rendered text, or None when the element is gone: its
    /// page was replaced (the browser navigated) or it left the document. A
    /// wait treats that as "not yet" and looks the element up again.
    pub fn try_text(&self, element: &Element) -> Option<String> {
        let path = self.session_path(&self.element_path(element, "/text"));
        match self.command("GET", &path, None) {
            Ok(value) => Some(value.as_str().unwrap_or_default().to_string()),
            Err(e) if element_gone(&e) => None,
            Err(e) => panic!("WebDriver: {e}"),
        }
    }

    /// Runs `script` like `execute`, but returns the WebDriver error instead
    /// of panicking (between two pages the browser may refuse scripts).
    fn try_execute(&self, script: &str) -> Result<Value, String> {
        let path = self.session_path("/execute/sync");
        self.command("POST", &path, Some(json!({ "script": script, "args": [] })))
    }

    /// Clicks `element`, which starts a navigation (a link, a form's submit
    /// button), and waits (bounded by `timeout`) until the page it was on has
    /// been replaced by one that has finished loading. chromedriver's click
    /// may return before a form submission's navigation starts: a lookup
    /// right after it can still find the old page's elements, which then go
    /// stale under the caller. The old page is told apart by a mark set on
    /// its `window` (a new page has a new `window`), not by an element
    /// reference, whose errors vary while the page is being replaced.
    pub fn click_and_wait_page(&self, element: &Element, timeout: Duration) {
        self.execute(&format!("window.{OLD_PAGE_MARK} = true;"), json!([]));
        self.click(element);
        let probe = format!(
            "return window.{OLD_PAGE_MARK} === undefined ? document.readyState : 'the old page';"
        );
        let mut last = String::from("nothing yet");
        let loaded = poll_every(POLL, timeout, || {
            match self.try_execute(&probe) {
                Ok(state) if state == json!("complete") => return Some(()),
                Ok(state) => last = format!("state {state}"),
                Err(e) => last = e,
            }
            None
        });
        if loaded.is_none() {
            panic!(
                "no new page loaded within {timeout:?} after the click (last: {last}); at {}, page:\n{}",
                self.current_url(),
                self.source()
            );
        }
    }

    /// The element's HTML attribute `name` (None when absent).
    pub fn attribute(&self, element: &Element, name: &str) -> Option<String> {
        let rest = self.element_path(element, &format!("/attribute/{name}"));
        self.session_command("GET", &rest, None)
            .as_str()
            .map(str::to_string)
    }

    /// The element's DOM property `name` (e.g. `checked`, `value`).
    pub fn property(&self, element: &Element, name: &str) -> Value {
        let rest = self.element_path(element, &format!("/property/{name}"));
        self.session_command("GET", &rest, None)
    }

    /// Whether a checkbox, radio button or option is selected.
    pub fn is_selected(&self, element: &Element) -> bool {
        let rest = self.element_path(element, "/selected");
        self.session_command("GET", &rest, None) == json!(true)
    }

    /// SIGKILLs chromedriver (if running) and reaps it (bounded).
    fn stop_driver(&mut self) {
        if let Some(mut driver) = self.driver.take() {
            if let Ok(None) = driver.try_wait() {
                let _ = kill(Pid::from_raw(driver.id() as i32), Signal::SIGKILL);
            }
            // SIGKILL cannot be ignored; still bounded.
            poll_true(Duration::from_secs(5), || {
                !matches!(driver.try_wait(), Ok(None))
            });
        }
    }

    /// Ends the session (the browser exits), bounded by `QUIT_TIMEOUT`.
    fn quit(&mut self) {
        if let Some(id) = self.session.take() {
            self.remember_browser_pids();
            let _ = http_json(
                self.port,
                "DELETE",
                &format!("/session/{id}"),
                None,
                QUIT_TIMEOUT,
            );
        }
    }
}

/// Whether a WebDriver error says the element no longer exists in the
/// current page ("stale element reference"; some chromedriver versions answer
/// "no such element", or an inspector error, for an element of a document
/// being replaced).
fn element_gone(error: &str) -> bool {
    error.contains("stale element reference")
        || error.contains("no such element")
        || error.contains("does not belong to the document")
}

/// SIGKILLs each of `pids` still alive, then waits (2 s at most) for them to go.
fn kill_all(pids: &[i32]) {
    for &pid in pids {
        if pid > 0 && pid_alive(pid) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    poll_true(Duration::from_secs(2), || {
        !pids
            .iter()
            .any(|&p| pid_alive(p) && super::proc_state(p) != "Z")
    });
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.quit();
        // Whatever chromedriver started and is still there: the browser and
        // its helpers (PIDs seen earlier, and the current descendants).
        self.remember_browser_pids();
        let mut pids = self.browser_pids.clone();
        // Processes whose parent died were re-parented; the list seen earlier
        // still names them. Only kill PIDs that still look like the browser's.
        pids.retain(|&pid| {
            fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .map(|c| c.contains("chrom"))
                .unwrap_or(false)
        });
        kill_all(&pids);
        self.stop_driver();
        if thread::panicking() {
            eprintln!("{}", self.driver_log());
        }
    }
}
