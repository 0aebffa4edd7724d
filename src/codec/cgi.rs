//! What FastCGI, SCGI and uwsgi members share: the CGI/1.1 variables a
//! request becomes (httpd's `ap_add_common_vars` + `ap_add_cgi_vars`, as
//! mod_proxy_fcgi, mod_proxy_scgi and mod_proxy_uwsgi send them), and the
//! parser for a script's answer (CGI response headers, `Status:`).
//!
//! Every value below was checked against httpd 2.4 (`httpd-oracle` with a
//! recording FastCGI/SCGI/uwsgi origin); the table in [`build`] says where each
//! comes from. What the three differ in:
//! - SCGI sends `CONTENT_LENGTH` first (its spec requires it, "0" without a
//!   body) and `SCGI=1`, and no `GATEWAY_INTERFACE`;
//! - uwsgi sends `PATH_INFO` (the member path, decoded), `SCRIPT_NAME` cut by
//!   its length, and the client's `Authorization` as `HTTP_AUTHORIZATION`;
//! - FastCGI's `SCRIPT_FILENAME` follows `ProxyFCGIBackendType`.

use std::fmt::Write as _;

use super::{Outgoing, ProtocolError};
use crate::http::{reason_phrase, Framing, Header, ResponseHead};

/// Which member protocol the variables are for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Fcgi,
    Scgi,
    Uwsgi,
}

/// `ProxyFCGIBackendType`: how `SCRIPT_FILENAME` is written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// php-fpm (httpd's default): `proxy:fcgi://host[:port]/path`, which
    /// php-fpm takes apart itself (it finds the script and PATH_INFO).
    #[default]
    Fpm,
    /// Any other FastCGI application: the path alone, without the query.
    Generic,
}

/// A request mapped to a file under `DocumentRoot` (the `SetHandler
/// "proxy:…"` form inside `<FilesMatch>`): the file, and the part of the
/// request path after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ScriptFile<'a> {
    /// The file's path in the file system (`DocumentRoot` + the URL path up
    /// to and including the script's name).
    pub filename: &'a str,
    /// The rest of the request path (decoded), empty when there is none.
    pub path_info: &'a str,
}

/// What a CGI-style request needs beyond [`Outgoing`]: the member as httpd
/// names it in `SCRIPT_FILENAME`, and the virtual host's identity.
#[derive(Clone, Copy, Debug)]
pub struct Site<'a> {
    /// Scheme and authority of the member, port left out when it is the
    /// scheme's default: `fcgi://127.0.0.1:9000`, `fcgi://localhost`
    /// (see [`script_prefix`]).
    pub member: &'a str,
    /// `DocumentRoot` of the virtual host.
    pub document_root: &'a str,
    /// The `Server` banner (after `ServerTokens`).
    pub server_software: &'a str,
    /// `ServerAdmin`, or httpd's "[no address given]".
    pub server_admin: &'a str,
    pub backend: Backend,
    /// Set when the request was mapped through `DocumentRoot`.
    pub file: Option<ScriptFile<'a>>,
    /// `ProxyFCGISetEnvIf` lines (FastCGI only), in file order.
    pub fixups: &'a [EnvFixup],
}

/// `ProxyFCGISetEnvIf condition [!]NAME [value]`: once the variables are
/// built, for each line in order, when `condition` holds (it reads them with
/// `reqenv('NAME')`), `NAME` is set to `value` (a string expression; empty
/// when absent) or, with `!`, removed. Each line sees the changes of the
/// lines before it.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvFixup {
    pub condition: crate::expr::Expr,
    pub name: String,
    /// None: `!NAME` (unset).
    pub value: Option<crate::expr::Word>,
}

/// Expressions compare by their parsed form (a regex by its source).
impl Eq for EnvFixup {}

/// What a `ProxyFCGISetEnvIf` expression reads: the request, and the
/// variables built so far as its environment (`reqenv`).
struct FixupFacts<'a> {
    req: &'a Outgoing<'a>,
    vars: &'a Vars,
}

impl crate::expr::Vars for FixupFacts<'_> {
    fn status(&self) -> u16 {
        0
    }

    fn content_type(&self) -> Option<&str> {
        None
    }

    fn request(&self, var: &crate::expr::RequestVar) -> std::borrow::Cow<'_, str> {
        use crate::expr::RequestVar as V;
        use std::borrow::Cow;
        let head = self.req.head;
        let (path, query) = split_query(&head.target);
        match var {
            V::Header(name) => head
                .header(name)
                .map_or(Cow::Borrowed(""), String::from_utf8_lossy),
            V::Method => Cow::Borrowed(&head.method),
            V::Uri => Cow::Borrowed(path),
            V::Query => Cow::Borrowed(query),
            V::RemoteAddr => Cow::Owned(self.req.client.ip().to_string()),
            V::Protocol if head.minor == 0 => Cow::Borrowed("HTTP/1.0"),
            V::Protocol => Cow::Borrowed("HTTP/1.1"),
            V::Https => Cow::Borrowed(if self.req.https { "on" } else { "off" }),
            V::Scheme => Cow::Borrowed(if self.req.https { "https" } else { "http" }),
            V::Env(name) => self
                .vars
                .get(name)
                .map_or(Cow::Borrowed(""), String::from_utf8_lossy),
        }
    }
}

/// Applies `ProxyFCGISetEnvIf` lines to built variables (see [`EnvFixup`]).
pub fn apply_fixups(req: &Outgoing<'_>, fixups: &[EnvFixup], vars: &mut Vars) {
    for f in fixups {
        let facts = FixupFacts { req, vars };
        if !f.condition.eval(&facts) {
            continue;
        }
        match &f.value {
            None => vars.unset(&f.name),
            Some(word) => {
                let value = word.value(&facts).into_owned();
                vars.set(&f.name, value.as_bytes());
            }
        }
    }
}

/// A FastCGI, SCGI or uwsgi member's settings (built once per member).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberSettings {
    /// `scheme://host[:port]` as `SCRIPT_FILENAME` names the member.
    pub script: std::sync::Arc<str>,
}

impl MemberSettings {
    pub fn for_url(url: &crate::url::MemberUrl) -> MemberSettings {
        let host = url.host.trim_start_matches('[').trim_end_matches(']');
        MemberSettings {
            script: script_prefix(&url.scheme, host, url.port).into(),
        }
    }
}

/// What httpd writes for `SERVER_ADMIN` when `ServerAdmin` is not set.
pub const NO_ADMIN: &str = "[no address given]";

/// httpd's `DocumentRoot` when the configuration names none (Debian's build).
pub const DEFAULT_DOCUMENT_ROOT: &str = "/var/www/html";

/// `scheme://host[:port]` of a member, as `SCRIPT_FILENAME` shows it: the
/// port only when it is not the scheme's default (httpd's canonical form).
pub fn script_prefix(scheme: &str, host: &str, port: u16) -> String {
    let mut s = String::with_capacity(scheme.len() + host.len() + 10);
    s.push_str(scheme);
    s.push_str("://");
    if host.contains(':') {
        let _ = write!(s, "[{host}]");
    } else {
        s.push_str(host);
    }
    if port != crate::url::default_port(scheme) {
        let _ = write!(s, ":{port}");
    }
    s
}

/// The variables of one request, in the order they are sent. Names compare
/// without regard to case (as httpd's tables); setting a name already present
/// replaces its value and keeps its place.
///
/// All names and values live in one byte buffer (from the worker's free list,
/// given back on drop) and the list holds their ranges: building a request's
/// thirty-odd variables costs no allocation per variable. A replaced value's
/// old bytes stay unused in the buffer until `clear`.
#[derive(Debug)]
pub struct Vars {
    data: Vec<u8>,
    list: Vec<Entry>,
}

/// Where one variable's name and value are in `Vars::data`.
#[derive(Clone, Copy, Debug)]
struct Entry {
    name: (u32, u32),
    value: (u32, u32),
}

impl Default for Vars {
    fn default() -> Vars {
        Vars {
            data: crate::recycle::bytes(),
            list: Vec::with_capacity(48),
        }
    }
}

impl Drop for Vars {
    fn drop(&mut self) {
        crate::recycle::give_bytes(std::mem::take(&mut self.data));
    }
}

impl Vars {
    pub fn clear(&mut self) {
        self.data.clear();
        self.list.clear();
    }

    fn slice(&self, (from, to): (u32, u32)) -> &[u8] {
        &self.data[from as usize..to as usize]
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.list
            .iter()
            .position(|e| self.slice(e.name).eq_ignore_ascii_case(name.as_bytes()))
    }

    /// Appends `bytes` to the buffer: their range.
    fn append(&mut self, bytes: &[u8]) -> (u32, u32) {
        let from = self.data.len() as u32;
        self.data.extend_from_slice(bytes);
        (from, self.data.len() as u32)
    }

    /// Points `name` (added when missing) at the bytes from `from` to the end.
    fn bind(&mut self, name: &str, from: u32) {
        let value = (from, self.data.len() as u32);
        match self.find(name) {
            Some(i) => self.list[i].value = value,
            None => {
                let name = self.append(name.as_bytes());
                self.list.push(Entry { name, value });
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.find(name).map(|i| self.slice(self.list[i].value))
    }

    pub fn set(&mut self, name: &str, value: &[u8]) {
        let from = self.data.len() as u32;
        self.data.extend_from_slice(value);
        self.bind(name, from);
    }

    /// Sets `name` to `value` written out (numbers, addresses), without a
    /// temporary string.
    pub fn set_display(&mut self, name: &str, value: impl std::fmt::Display) {
        use std::io::Write as _;
        let from = self.data.len() as u32;
        let _ = write!(self.data, "{value}");
        self.bind(name, from);
    }

    /// Sets `name` to the pieces of `parts` one after the other.
    pub fn set_parts(&mut self, name: &str, parts: &[&[u8]]) {
        let from = self.data.len() as u32;
        for p in parts {
            self.data.extend_from_slice(p);
        }
        self.bind(name, from);
    }

    /// Sets `name` to `text` with its `%XX` escapes decoded (invalid ones
    /// kept as written), as httpd decodes a path.
    fn set_decoded(&mut self, name: &str, text: &str) {
        let from = self.data.len() as u32;
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if b[i] == b'%' && i + 2 < b.len() {
                if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                    self.data.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
            }
            self.data.push(b[i]);
            i += 1;
        }
        self.bind(name, from);
    }

    /// Cuts `n` bytes off the end of `name`'s value.
    fn cut(&mut self, name: &str, n: usize) {
        if let Some(i) = self.find(name) {
            let (from, to) = self.list[i].value;
            self.list[i].value = (from, to - (n as u32).min(to - from));
        }
    }

    /// Appends `value` to an existing one after ", " (headers sent twice),
    /// or sets it.
    fn merge(&mut self, name: &str, value: &[u8]) {
        let Some(i) = self.find(name) else {
            return self.set(name, value);
        };
        let (old_from, old_to) = self.list[i].value;
        let from = self.data.len() as u32;
        self.data
            .extend_from_within(old_from as usize..old_to as usize);
        self.data.extend_from_slice(b", ");
        self.data.extend_from_slice(value);
        self.list[i].value = (from, self.data.len() as u32);
    }

    pub fn unset(&mut self, name: &str) {
        if let Some(i) = self.find(name) {
            self.list.remove(i);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.list.iter().map(|e| {
            let name = std::str::from_utf8(self.slice(e.name)).unwrap_or_default();
            (name, self.slice(e.value))
        })
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// The path and query of an origin-form target.
fn split_query(target: &str) -> (&str, &str) {
    match target.split_once('?') {
        Some((p, q)) => (p, q),
        None => (target, ""),
    }
}

/// The request's host name and port as httpd's `UseCanonicalName Off` gives
/// them: from the `Host` header (port: the scheme's default when it names
/// none), else `ServerName` and the local port.
fn server_name_port<'a>(req: &Outgoing<'a>) -> (&'a str, u16) {
    let default_port = if req.https { 443 } else { 80 };
    let Some(host) = req
        .head
        .header("host")
        .and_then(|h| std::str::from_utf8(h).ok())
    else {
        return (req.server_name, req.local.port());
    };
    let host = host.trim();
    let (name, port) = if let Some(v6) = host.strip_prefix('[') {
        match v6.split_once(']') {
            Some((_, rest)) => {
                let end = host.len() - rest.len();
                (&host[..end], rest.strip_prefix(':'))
            }
            None => (host, None),
        }
    } else {
        match host.rsplit_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (host, None),
        }
    };
    let port = port.and_then(|p| p.parse().ok()).unwrap_or(default_port);
    (name, port)
}

/// Whether a header name can become an `HTTP_*` variable: httpd drops names
/// with anything but letters, digits and '-' (so `X_Under` cannot pose as
/// `X-Under`).
fn exportable(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// `HTTP_` + the name upper-cased with '-' as '_'.
fn http_var(name: &str, out: &mut String) {
    out.clear();
    out.push_str("HTTP_");
    out.extend(name.bytes().map(|b| {
        if b == b'-' {
            '_'
        } else {
            b.to_ascii_uppercase() as char
        }
    }));
}

/// Builds the variables httpd sends for `req` to a `dialect` member, into
/// `vars` (cleared first). Order and values as httpd 2.4:
///
/// | variable | from |
/// |---|---|
/// | the request environment | SetEnv, SetEnvIf, BALANCER_* … in the order set |
/// | `HTTP_*` | request headers, repeats joined by ", "; `Content-Type`/`-Length` as `CONTENT_TYPE`/`_LENGTH`; `Authorization`, `Proxy-Authorization` and `Proxy` (httpoxy) left out |
/// | `PATH` | slotgate's own `PATH` |
/// | `SERVER_SIGNATURE` | empty (ServerSignature Off) |
/// | `SERVER_SOFTWARE` | the `Server` banner |
/// | `SERVER_NAME`, `SERVER_PORT` | the `Host` header (UseCanonicalName Off) |
/// | `SERVER_ADDR`, `REMOTE_ADDR`, `REMOTE_PORT` | the connection (the client after mod_remoteip) |
/// | `DOCUMENT_ROOT`, `CONTEXT_DOCUMENT_ROOT` | `DocumentRoot`; `CONTEXT_PREFIX` empty |
/// | `REQUEST_SCHEME`, `HTTPS` | `http`/`https`; `HTTPS=on` over TLS |
/// | `SERVER_ADMIN` | `ServerAdmin` |
/// | `SCRIPT_FILENAME` | see [`Backend`] and [`ScriptFile`] |
/// | `GATEWAY_INTERFACE` | `CGI/1.1` (not for SCGI) |
/// | `SERVER_PROTOCOL`, `REQUEST_METHOD` | the request line |
/// | `QUERY_STRING` | the query of the mapped target ("" when none) |
/// | `REQUEST_URI` | the request-target as the client sent it |
/// | `SCRIPT_NAME`, `PATH_INFO`, `PATH_TRANSLATED` | the decoded request path; split at the script for [`ScriptFile`] |
pub fn build(req: &Outgoing<'_>, site: &Site<'_>, dialect: Dialect, vars: &mut Vars) {
    vars.clear();
    if dialect == Dialect::Scgi {
        vars.set_display("CONTENT_LENGTH", req.body_length.unwrap_or(0));
        vars.set("SCGI", b"1");
    }
    for (k, v) in req.env.iter() {
        vars.set(k, v.as_bytes());
    }
    let (member_path, query) = split_query(req.target);
    let member_path = if member_path.is_empty() {
        "/"
    } else {
        member_path
    };
    if dialect == Dialect::Uwsgi {
        vars.set_decoded("PATH_INFO", member_path);
    }
    let mut name = crate::recycle::string();
    for h in &req.head.headers {
        if h.is("content-type") {
            vars.set("CONTENT_TYPE", &h.value);
        } else if h.is("content-length") {
            vars.set("CONTENT_LENGTH", &h.value);
        } else if h.is("authorization")
            || h.is("proxy-authorization")
            || h.is("proxy")
            || h.is("transfer-encoding")
            || !exportable(&h.name)
        {
            continue;
        } else {
            http_var(&h.name, &mut name);
            vars.merge(&name, &h.value);
        }
    }
    crate::recycle::give_string(name);
    // A chunked body FastCGI gets whole: the codec counts it (as httpd, which
    // spools it) and sets the length before the parameters go out.
    if let Some(n) = req.body_length.filter(|&n| n > 0) {
        if vars.get("CONTENT_LENGTH").is_none() {
            vars.set_display("CONTENT_LENGTH", n);
        }
    }
    vars.set("PATH", process_path().as_bytes());
    vars.set("SERVER_SIGNATURE", b"");
    vars.set("SERVER_SOFTWARE", site.server_software.as_bytes());
    let (server_name, server_port) = server_name_port(req);
    vars.set("SERVER_NAME", server_name.as_bytes());
    vars.set_display("SERVER_ADDR", req.local.ip());
    vars.set_display("SERVER_PORT", server_port);
    vars.set_display("REMOTE_ADDR", req.client.ip());
    vars.set("DOCUMENT_ROOT", site.document_root.as_bytes());
    vars.set("REQUEST_SCHEME", if req.https { b"https" } else { b"http" });
    if req.https {
        vars.set("HTTPS", b"on");
    }
    vars.set("CONTEXT_PREFIX", b"");
    vars.set("CONTEXT_DOCUMENT_ROOT", site.document_root.as_bytes());
    vars.set("SERVER_ADMIN", site.server_admin.as_bytes());
    set_script_filename(vars, site, dialect, member_path);
    vars.set_display("REMOTE_PORT", req.client.port());
    if dialect != Dialect::Scgi {
        vars.set("GATEWAY_INTERFACE", b"CGI/1.1");
    }
    let protocol = if req.head.minor == 0 {
        "HTTP/1.0"
    } else {
        "HTTP/1.1"
    };
    vars.set("SERVER_PROTOCOL", protocol.as_bytes());
    vars.set("REQUEST_METHOD", req.head.method.as_bytes());
    vars.set("QUERY_STRING", query.as_bytes());
    vars.set("REQUEST_URI", req.head.target.as_bytes());
    let (client_path, _) = split_query(&req.head.target);
    vars.set_decoded("SCRIPT_NAME", client_path);
    if let Some(file) = site
        .file
        .filter(|f| !f.path_info.is_empty() && dialect != Dialect::Uwsgi)
    {
        let info = file.path_info.as_bytes();
        if vars.get("SCRIPT_NAME").is_some_and(|s| s.ends_with(info)) {
            vars.cut("SCRIPT_NAME", info.len());
        }
        vars.set("PATH_INFO", info);
        let root = site.document_root.trim_end_matches('/').as_bytes();
        vars.set_parts("PATH_TRANSLATED", &[root, info]);
    }
    if dialect == Dialect::Uwsgi {
        uwsgi_script_name(vars);
        if let Some(auth) = req.head.header("authorization") {
            vars.set("HTTP_AUTHORIZATION", auth);
        }
    }
}

/// `SCRIPT_FILENAME`: the file under `DocumentRoot` or the member path, with
/// `proxy:scheme://host[:port]` before it except for a GENERIC FastCGI
/// backend (whose path also loses any query, as httpd's does).
fn set_script_filename(vars: &mut Vars, site: &Site<'_>, dialect: Dialect, member_path: &str) {
    let path = site.file.map_or(member_path, |f| f.filename);
    if dialect == Dialect::Fcgi && site.backend == Backend::Generic {
        return vars.set("SCRIPT_FILENAME", path.as_bytes());
    }
    let slash: &[u8] = if path.starts_with('/') { b"" } else { b"/" };
    vars.set_parts(
        "SCRIPT_FILENAME",
        &[b"proxy:", site.member.as_bytes(), slash, path.as_bytes()],
    );
}

/// mod_proxy_uwsgi's SCRIPT_NAME: cut by PATH_INFO's length when PATH_INFO
/// is not "/" (whatever the characters; a PATH_INFO longer than SCRIPT_NAME
/// leaves it whole), and "" for a SCRIPT_NAME of "/" with PATH_INFO "/".
fn uwsgi_script_name(vars: &mut Vars) {
    let (Some(script), Some(info)) = (vars.get("SCRIPT_NAME"), vars.get("PATH_INFO")) else {
        return;
    };
    let cut = if info != b"/" {
        match script.len().checked_sub(info.len()) {
            Some(n) => script[..n].to_vec(),
            None => return,
        }
    } else if script == b"/" {
        Vec::new()
    } else {
        return;
    };
    vars.set("SCRIPT_NAME", &cut);
}

/// slotgate's own `PATH` (httpd passes its environment's), or httpd's
/// compiled default.
fn process_path() -> &'static str {
    static PATH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PATH.get_or_init(|| {
        std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".to_string())
    })
}

/// Largest CGI response head accepted (as an HTTP head's).
pub const MAX_CGI_HEAD: usize = 64 * 1024;

/// Parses a script's response head (CGI/1.1 §6) from the start of `buf`:
/// `Ok(None)` while the empty line has not come. As httpd's proxy modules do:
/// - `Status: NNN reason` sets the status (a status that is not three digits
///   is an error); without it the status is 200, `Location` included (httpd's
///   mod_proxy_fcgi and mod_proxy_scgi pass a Location with 200, checked with
///   httpd-oracle; the 302 rewrite is mod_cgi's);
/// - lines may end in CRLF or LF; a line without a colon is an error;
/// - `Content-Length` and `Transfer-Encoding` are dropped: the body runs to
///   the end of the script's output (httpd sent all six bytes of a body
///   declared as 3);
/// - `head_request`, 204 and 304 answers have no body.
///
/// An error is a member breaking its protocol (httpd answers 500 here; a
/// member's malformed answer is a 502 in slotgate, as for HTTP members).
pub fn parse_head(buf: &[u8], head_request: bool) -> Result<Option<ResponseHead>, ProtocolError> {
    let mut status: Option<(u16, String)> = None;
    let mut headers: Vec<Header> = crate::http::spare_header_list();
    let mut at = 0;
    loop {
        let Some(nl) = buf[at..].iter().position(|&b| b == b'\n') else {
            if buf.len() > MAX_CGI_HEAD {
                return Err(ProtocolError(format!(
                    "the script's response head is longer than {MAX_CGI_HEAD} bytes"
                )));
            }
            return Ok(None);
        };
        let end = at + nl + 1;
        if end > MAX_CGI_HEAD {
            return Err(ProtocolError(format!(
                "the script's response head is longer than {MAX_CGI_HEAD} bytes"
            )));
        }
        let mut line = &buf[at..at + nl];
        if let Some(l) = line.strip_suffix(b"\r") {
            line = l;
        }
        at = end;
        if line.is_empty() {
            break;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(ProtocolError(format!(
                "malformed header from script: '{}'",
                String::from_utf8_lossy(&line[..line.len().min(80)])
            )));
        };
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| is_token(b)) {
            return Err(ProtocolError(format!(
                "malformed header name from script: '{}'",
                String::from_utf8_lossy(&name[..name.len().min(80)])
            )));
        }
        let name = std::str::from_utf8(name).unwrap_or_default();
        let value = crate::http::trim(&line[colon + 1..]);
        if name.eq_ignore_ascii_case("status") {
            status = Some(parse_status(value)?);
        } else if name.eq_ignore_ascii_case("content-length")
            || name.eq_ignore_ascii_case("transfer-encoding")
        {
            continue;
        } else {
            headers.push(crate::http::spare_header(name, value));
        }
        if headers.len() > crate::http::MAX_HEADERS {
            return Err(ProtocolError(format!(
                "the script sent more than {} header lines",
                crate::http::MAX_HEADERS
            )));
        }
    }
    let (status, reason) = status.unwrap_or((200, String::new()));
    let reason = if reason.is_empty() {
        crate::recycle::string_from(reason_phrase(status))
    } else {
        reason
    };
    let framing = if head_request || status == 204 || status == 304 {
        Framing::None
    } else {
        Framing::Close
    };
    Ok(Some(ResponseHead {
        status,
        reason,
        minor: 1,
        headers,
        len: at,
        framing,
    }))
}

fn is_token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `Status:`'s value: three digits, then an optional reason.
fn parse_status(value: &[u8]) -> Result<(u16, String), ProtocolError> {
    let bad = || {
        ProtocolError(format!(
            "invalid Status line from script: '{}'",
            String::from_utf8_lossy(&value[..value.len().min(80)])
        ))
    };
    if value.len() < 3 || !value[..3].iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    if value.len() > 3 && value[3] != b' ' && value[3] != b'\t' {
        return Err(bad());
    }
    let code = u16::from(value[0] - b'0') * 100
        + u16::from(value[1] - b'0') * 10
        + u16::from(value[2] - b'0');
    // A script has one answer: an interim (1xx) status would leave the
    // client waiting for a final one that never comes.
    if code < 200 {
        return Err(bad());
    }
    let mut reason = crate::recycle::string();
    reason.push_str(&String::from_utf8_lossy(crate::http::trim(&value[3..])));
    Ok((code, reason))
}

#[cfg(test)]
#[path = "cgi_tests.rs"]
mod tests;
