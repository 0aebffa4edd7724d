//! `RewriteMap` sources slotgate serves: `txt:` (key value lines), `rnd:` (the
//! value is `a|b|c`, one taken at random on each look-up: how older
//! configurations balance) and `int:` (toupper, tolower, escape, unescape).
//! A map file is read when the configuration is read (a missing one is an
//! error at `-t`) and, as httpd does, again by a worker whose look-up finds
//! the file's modification time changed; a file gone or unreadable at run time
//! answers no value (the rule's default), logged as httpd logs it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Internal {
    ToUpper,
    ToLower,
    Escape,
    Unescape,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Txt(MapFile),
    /// Each value split at `|` when looked up.
    Rnd(MapFile),
    Int(Internal),
}

/// A `txt:`/`rnd:` file and the pairs last read from it (shared by the
/// clones of a rule set; each worker process has its own copy).
#[derive(Clone, Debug)]
pub struct MapFile {
    path: PathBuf,
    loaded: Arc<Mutex<Loaded>>,
}

#[derive(Debug, Default)]
struct Loaded {
    /// The modification time the pairs were read at; None: no readable file.
    mtime: Option<SystemTime>,
    pairs: HashMap<String, String>,
}

impl PartialEq for MapFile {
    /// Two maps of the same file are the same map.
    fn eq(&self, other: &MapFile) -> bool {
        self.path == other.path
    }
}
impl Eq for MapFile {}

impl MapFile {
    /// Reads `path` (Err: why it cannot be read).
    fn open(path: PathBuf) -> Result<MapFile, String> {
        let mtime = modified(&path)?;
        let pairs = read_pairs(&path)?;
        Ok(MapFile {
            path,
            loaded: Arc::new(Mutex::new(Loaded {
                mtime: Some(mtime),
                pairs,
            })),
        })
    }

    /// The value for `key`, after reading the file again if its modification
    /// time changed since it was read (httpd stats the file on every look-up).
    fn get(&self, key: &str) -> Option<String> {
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        match modified(&self.path) {
            Ok(m) if loaded.mtime == Some(m) => {}
            Ok(m) => match read_pairs(&self.path) {
                Ok(pairs) => {
                    log::info!(
                        "RewriteMap file {} changed: read again",
                        self.path.display()
                    );
                    *loaded = Loaded {
                        mtime: Some(m),
                        pairs,
                    };
                }
                Err(e) => {
                    log::error!("RewriteMap: {e}");
                    *loaded = Loaded::default();
                }
            },
            Err(e) => {
                if loaded.mtime.is_some() {
                    log::error!("RewriteMap: {e}");
                }
                *loaded = Loaded::default();
            }
        }
        loaded.pairs.get(key).cloned()
    }
}

fn modified(path: &Path) -> Result<SystemTime, String> {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .map_err(|e| format!("cannot read map file {}: {e}", path.display()))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Map {
    pub name: String,
    pub source: Source,
}

impl Map {
    /// `RewriteMap name type:source`; the error says why it is refused.
    pub fn new(name: &str, spec: &str, root: &Path) -> Result<Map, String> {
        let (kind, arg) = spec
            .split_once(':')
            .ok_or_else(|| format!("'{spec}': a map is TYPE:SOURCE (txt:, rnd: or int:)"))?;
        let source = match kind.to_ascii_lowercase().as_str() {
            "txt" => Source::Txt(MapFile::open(root.join(arg))?),
            "rnd" => Source::Rnd(MapFile::open(root.join(arg))?),
            "int" => Source::Int(match arg.to_ascii_lowercase().as_str() {
                "toupper" => Internal::ToUpper,
                "tolower" => Internal::ToLower,
                "escape" => Internal::Escape,
                "unescape" => Internal::Unescape,
                _ => {
                    return Err(format!(
                        "int:{arg}: unknown internal map (toupper, tolower, escape, unescape)"
                    ))
                }
            }),
            "prg" | "dbm" | "dbd" | "fastdbd" => {
                return Err(format!(
                    "{kind}: maps are not supported (slotgate runs no map programs and reads no \
                     databases; txt:, rnd: and int: are served)"
                ))
            }
            _ => return Err(format!("{kind}: unknown map type (txt:, rnd:, int:)")),
        };
        Ok(Map {
            name: name.to_string(),
            source,
        })
    }

    /// The value for `key`, None when the map has none.
    pub fn lookup(&self, key: &str) -> Option<String> {
        match &self.source {
            Source::Txt(f) => f.get(key),
            Source::Rnd(f) => {
                let value = f.get(key)?;
                let choices: Vec<&str> = value.split('|').collect();
                let i = (crate::balancer::random_u64() % choices.len() as u64) as usize;
                Some(choices[i].to_string())
            }
            Source::Int(f) => Some(match f {
                Internal::ToUpper => key.to_ascii_uppercase(),
                Internal::ToLower => key.to_ascii_lowercase(),
                Internal::Escape => {
                    let mut out = String::new();
                    crate::url::encode_path(key.as_bytes(), &mut out);
                    out
                }
                Internal::Unescape => unescape(key),
            }),
        }
    }
}

/// `%XX` decoded (invalid escapes kept as written).
pub fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A map file: `key value` per line, `#` comments, blank lines skipped; the
/// first line for a key wins (as httpd's linear search).
fn read_pairs(path: &Path) -> Result<HashMap<String, String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read map file {}: {e}", path.display()))?;
    let mut map = HashMap::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("");
        let mut words = line.split_whitespace();
        if let (Some(k), Some(v)) = (words.next(), words.next()) {
            map.entry(k.to_string()).or_insert_with(|| v.to_string());
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_maps() {
        let root = Path::new("/");
        let up = Map::new("u", "int:toupper", root).unwrap();
        assert_eq!(up.lookup("aB").as_deref(), Some("AB"));
        let esc = Map::new("e", "int:escape", root).unwrap();
        assert_eq!(esc.lookup("a b/c").as_deref(), Some("a%20b/c"));
        let un = Map::new("e", "int:unescape", root).unwrap();
        assert_eq!(un.lookup("a%20b%2").as_deref(), Some("a b%2"));
        assert!(Map::new("p", "prg:/bin/cat", root)
            .unwrap_err()
            .contains("not supported"));
    }

    #[test]
    fn random_maps_choose_among_the_alternatives() {
        let dir = std::env::temp_dir().join(format!("rnd-map-{}", std::process::id()));
        std::fs::write(&dir, "# servers\nstatic a|b|c\nother x\n").unwrap();
        let m = Map::new("r", &format!("rnd:{}", dir.display()), Path::new("/")).unwrap();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            seen.insert(m.lookup("static").unwrap());
        }
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert_eq!(m.lookup("other").as_deref(), Some("x"));
        assert_eq!(m.lookup("none"), None);
        std::fs::remove_file(dir).unwrap();
    }

    #[test]
    fn a_changed_map_file_is_read_again() {
        let path = std::env::temp_dir().join(format!("txt-map-{}", std::process::id()));
        std::fs::write(&path, "a one\n").unwrap();
        let m = Map::new("t", &format!("txt:{}", path.display()), Path::new("/")).unwrap();
        let copy = m.clone();
        assert_eq!(m.lookup("a").as_deref(), Some("one"));
        // A new modification time (set, not waited for: no sleep).
        std::fs::write(&path, "a two\nb three\n").unwrap();
        let later = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(later)
            .unwrap();
        assert_eq!(copy.lookup("a").as_deref(), Some("two"));
        assert_eq!(m.lookup("b").as_deref(), Some("three"));
        // Gone: no value (the rule's default), as httpd.
        std::fs::remove_file(&path).unwrap();
        assert_eq!(m.lookup("a"), None);
    }
}
