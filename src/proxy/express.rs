//! Mass reverse proxy (mod_proxy_express, reference §2.11): a map from the
//! request's host name to a backend URL, read from the text form that httpd's
//! `httxt2dbm` compiles (`hostname backend-URL` per line, `#` comments, blank
//! lines).
//!
//! - [`parse_map`]: text → `HashMap` (O(1) lookups); errors name `FILE:LINE`.
//! - [`MapFile`]: one map file and the map last read from it; [`MapFile::refresh`]
//!   re-reads it when its modification time or size changed, at most once a
//!   second, and keeps the old map when the new text has an error.
//! - [`host_key`]: the lookup key, httpd's server name of the request.
//! - [`target`]: the origin-form target sent to the backend.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::url::encode_path;

/// Host name (lowercase) → backend URL as written.
pub type Map = HashMap<Box<str>, Box<str>>;

/// How often a map file's modification time is looked at, at most.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Parses the text of a map file; `file` names it in errors.
///
/// Each line is `hostname backend-URL`, separated by blanks; a line that is
/// empty, blank or starts with `#` (after leading blanks) is skipped, and so is
/// a `#…` after the URL. Host names are lowercased (the request's name is
/// compared lowercased, as httpd's `ap_get_server_name`); a name written twice
/// takes the later URL (as `httxt2dbm`, which stores one after the other). The
/// URL must be an absolute `http`, `https`, `ws` or `wss` URL without a query:
/// the request's path is appended to it as written.
pub fn parse_map(text: &str, file: &Path) -> Result<Map, String> {
    let mut map = Map::with_capacity(text.len() / 40);
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let at = |m: String| format!("{}:{}: {m}", file.display(), i + 1);
        let mut words = line.split_ascii_whitespace();
        let host = words.next().unwrap_or_default();
        let Some(url) = words.next() else {
            return Err(at(format!("no backend URL for '{host}'")));
        };
        if let Some(extra) = words.next().filter(|w| !w.starts_with('#')) {
            return Err(at(format!(
                "unexpected '{extra}' after the backend URL (a line is `hostname backend-URL`)"
            )));
        }
        check_backend(url).map_err(at)?;
        map.insert(host.to_ascii_lowercase().into(), url.into());
    }
    Ok(map)
}

/// A backend URL: `scheme://host[:port][/path]`, with no query or fragment.
fn check_backend(url: &str) -> Result<(), String> {
    crate::config::parse_backend_url(url)?;
    if url.contains(['?', '#']) {
        return Err(format!(
            "'{url}': a backend URL cannot carry a query or fragment (the request's path is appended to it)"
        ));
    }
    Ok(())
}

/// What was last found at a map file's path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Seen {
    Missing,
    /// Modification time and size.
    File(SystemTime, u64),
}

fn seen(path: &Path) -> Seen {
    match std::fs::metadata(path) {
        Ok(m) => Seen::File(m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()),
        Err(_) => Seen::Missing,
    }
}

/// One map file and the map last read from it without error.
#[derive(Clone, Debug)]
pub struct MapFile {
    pub path: PathBuf,
    pub map: Arc<Map>,
    /// The file as last looked at (read, or refused for an error).
    seen: Seen,
    next_check: Instant,
}

impl MapFile {
    /// Reads `path`. A missing file gives an empty map (a warning is logged; the
    /// file is read once it appears), a file with an error is an error.
    pub fn load(path: &Path) -> Result<MapFile, String> {
        let mut f = MapFile {
            path: path.to_path_buf(),
            map: Arc::new(Map::new()),
            seen: Seen::Missing,
            next_check: Instant::now() + CHECK_INTERVAL,
        };
        let now_seen = seen(path);
        if now_seen == Seen::Missing {
            log::warn!(
                "ProxyExpressDBMFile {}: no such file yet; no host is mapped until it appears",
                path.display()
            );
            return Ok(f);
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("ProxyExpressDBMFile {}: {e}", path.display()))?;
        f.map = Arc::new(parse_map(&text, path)?);
        f.seen = now_seen;
        Ok(f)
    }

    /// The backend URL of host `key` (lowercase), if mapped.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(|u| &**u)
    }

    /// At most once per [`CHECK_INTERVAL`]: when the file's modification time or
    /// size changed, reads it again. A new text with an error, or a file that
    /// went away, leaves the map as it was and is logged (once per change).
    /// True when the map was replaced.
    pub fn refresh(&mut self, now: Instant) -> bool {
        if now < self.next_check {
            return false;
        }
        self.next_check = now + CHECK_INTERVAL;
        let now_seen = seen(&self.path);
        if now_seen == self.seen {
            return false;
        }
        self.seen = now_seen;
        if now_seen == Seen::Missing {
            log::error!(
                "ProxyExpressDBMFile {}: the file went away; the map read last stays in use",
                self.path.display()
            );
            return false;
        }
        let started = Instant::now();
        let parsed = std::fs::read_to_string(&self.path)
            .map_err(|e| format!("{}: {e}", self.path.display()))
            .and_then(|text| parse_map(&text, &self.path));
        match parsed {
            Ok(map) => {
                log::info!(
                    "ProxyExpressDBMFile {}: reloaded, {} hosts in {} ms",
                    self.path.display(),
                    map.len(),
                    started.elapsed().as_millis()
                );
                self.map = Arc::new(map);
                true
            }
            Err(e) => {
                log::error!(
                    "{e}; the map read last ({} hosts) stays in use",
                    self.map.len()
                );
                false
            }
        }
    }
}

/// The lookup key of a request into `buf`: the Host header without its port
/// (and without IPv6 brackets or one trailing dot), lowercased, as httpd's
/// `ap_get_server_name` with `UseCanonicalName Off`; `server_name` when the
/// request has no Host header (or an empty one).
pub fn host_key<'a>(host: Option<&[u8]>, server_name: &str, buf: &'a mut String) -> &'a str {
    buf.clear();
    let h = host.map(<[u8]>::trim_ascii).unwrap_or_default();
    let name = match h.strip_prefix(b"[") {
        Some(v6) => v6.split(|&b| b == b']').next().unwrap_or_default(),
        None => h.split(|&b| b == b':').next().unwrap_or_default(),
    };
    let name = name.strip_suffix(b".").unwrap_or(name);
    if name.is_empty() {
        buf.extend(server_name.chars().map(|c| c.to_ascii_lowercase()));
    } else {
        buf.extend(name.iter().map(|&b| char::from(b.to_ascii_lowercase())));
    }
    buf
}

/// The origin-form target on a backend whose URL has path `backend_path`: as
/// httpd, the backend URL followed by the request's normalised path `path`
/// (see `url::normalise_path`; re-encoded as for ProxyPass) and its query
/// string. So `http://h/base` and `/echo?z=1` give `/base/echo?z=1`, and a
/// backend URL ending in `/` gives a double slash (`http://h/` and `/x`: `//x`).
pub fn target(backend_path: &str, path: &[u8], query: Option<&str>) -> String {
    let mut out = crate::recycle::string();
    out.push_str(backend_path);
    encode_path(path, &mut out);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Map, String> {
        parse_map(text, Path::new("/srv/map.txt"))
    }

    #[test]
    fn lines_comments_and_blanks() {
        let m = parse(
            "# the map\n\
             \n\
             www1.Example.com   http://10.0.0.1:8080\n\
             \t  \n\
             www2.example.com\thttp://10.0.0.2/base   # second\n\
             \x20 # indented comment\n\
             www1.example.com http://10.0.0.3\n",
        )
        .unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(
            &*m["www1.example.com"], "http://10.0.0.3",
            "the later line wins"
        );
        assert_eq!(&*m["www2.example.com"], "http://10.0.0.2/base");
    }

    #[test]
    fn errors_name_file_and_line() {
        assert_eq!(
            parse("a http://x\nb\n").unwrap_err(),
            "/srv/map.txt:2: no backend URL for 'b'"
        );
        let e = parse("\n\na ftp://x\n").unwrap_err();
        assert!(e.starts_with("/srv/map.txt:3: "), "{e}");
        assert!(e.contains("unsupported scheme"), "{e}");
        let e = parse("a http://x/?q=1\n").unwrap_err();
        assert!(
            e.starts_with("/srv/map.txt:1: ") && e.contains("query"),
            "{e}"
        );
        let e = parse("a http://x extra\n").unwrap_err();
        assert!(e.starts_with("/srv/map.txt:1: unexpected 'extra'"), "{e}");
        let e = parse("a notaurl\n").unwrap_err();
        assert!(e.starts_with("/srv/map.txt:1: "), "{e}");
    }

    #[test]
    fn a_hundred_thousand_entries() {
        let mut text = String::new();
        for i in 0..100_000 {
            text.push_str(&format!(
                "host{i}.example.com http://10.{}.{}.{}:8080/app\n",
                i / 65536,
                (i / 256) % 256,
                i % 256
            ));
        }
        let m = parse(&text).unwrap();
        assert_eq!(m.len(), 100_000);
        assert_eq!(&*m["host99999.example.com"], "http://10.1.134.159:8080/app");
        assert_eq!(&*m["host0.example.com"], "http://10.0.0.0:8080/app");
    }

    #[test]
    fn host_key_is_httpds_server_name() {
        let mut buf = String::new();
        let key = |h: Option<&[u8]>, buf: &mut String| host_key(h, "Main.Example", buf).to_string();
        assert_eq!(
            key(Some(b"WWW.Example.COM:8080"), &mut buf),
            "www.example.com"
        );
        assert_eq!(key(Some(b"www.example.com."), &mut buf), "www.example.com");
        assert_eq!(key(Some(b" www.example.com "), &mut buf), "www.example.com");
        assert_eq!(key(Some(b"[::1]:80"), &mut buf), "::1");
        assert_eq!(key(Some(b"[FE80::1]"), &mut buf), "fe80::1");
        assert_eq!(key(Some(b"10.0.0.1:81"), &mut buf), "10.0.0.1");
        assert_eq!(key(None, &mut buf), "main.example");
        assert_eq!(key(Some(b""), &mut buf), "main.example");
    }

    #[test]
    fn targets_append_the_path_and_query() {
        let t = |b: &str, p: &str, q: Option<&str>| target(b, p.as_bytes(), q);
        assert_eq!(t("/base", "/echo", Some("z=1")), "/base/echo?z=1");
        assert_eq!(t("", "/x", None), "/x");
        assert_eq!(t("/", "/x", None), "//x");
        assert_eq!(t("/b", "/a b", None), "/b/a%20b");
        assert_eq!(t("", "/p", Some("q")), "/p?q");
    }

    #[test]
    fn refresh_follows_the_file_and_keeps_the_old_map_on_error() {
        let dir = std::env::temp_dir().join(format!("slotgate-express-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("map.txt");
        std::fs::write(&path, "a.test http://127.0.0.1:1\n").unwrap();
        let mut f = MapFile::load(&path).unwrap();
        assert_eq!(f.get("a.test"), Some("http://127.0.0.1:1"));
        let t0 = Instant::now();
        std::fs::write(
            &path,
            "a.test http://127.0.0.1:2\nb.test http://127.0.0.1:3\n",
        )
        .unwrap();
        assert!(!f.refresh(t0), "not before a second has passed");
        assert!(f.refresh(t0 + Duration::from_secs(2)));
        assert_eq!(f.get("a.test"), Some("http://127.0.0.1:2"));
        assert_eq!(f.get("b.test"), Some("http://127.0.0.1:3"));
        std::fs::write(&path, "a.test http://127.0.0.1:4\nbroken\n").unwrap();
        assert!(!f.refresh(t0 + Duration::from_secs(4)));
        assert_eq!(f.get("a.test"), Some("http://127.0.0.1:2"), "old map kept");
        std::fs::remove_file(&path).unwrap();
        assert!(!f.refresh(t0 + Duration::from_secs(6)));
        assert_eq!(f.get("b.test"), Some("http://127.0.0.1:3"), "old map kept");
        std::fs::write(&path, "c.test http://127.0.0.1:5\n").unwrap();
        assert!(f.refresh(t0 + Duration::from_secs(8)));
        assert_eq!(f.get("a.test"), None);
        assert_eq!(f.get("c.test"), Some("http://127.0.0.1:5"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_broken_file_at_start_is_an_error_a_missing_one_is_empty() {
        let dir = std::env::temp_dir().join(format!("slotgate-express2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("map.txt");
        assert!(MapFile::load(&path).unwrap().map.is_empty());
        std::fs::write(&path, "ok.test http://127.0.0.1:1\nbad\n").unwrap();
        let e = MapFile::load(&path).unwrap_err();
        assert!(e.ends_with("map.txt:2: no backend URL for 'bad'"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
