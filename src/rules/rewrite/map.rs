//! `RewriteMap` sources slotgate serves: `txt:` (key value lines), `rnd:` (the
//! value is `a|b|c`, one taken at random on each look-up: how older
//! configurations balance) and `int:` (toupper, tolower, escape, unescape).
//! Files are read once, when the configuration is read (httpd re-reads a
//! changed file; slotgate on the next restart or graceful restart).

use std::collections::HashMap;
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Internal {
    ToUpper,
    ToLower,
    Escape,
    Unescape,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Txt(HashMap<String, String>),
    /// Each value split at `|`.
    Rnd(HashMap<String, Vec<String>>),
    Int(Internal),
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
            "txt" => Source::Txt(read_pairs(&root.join(arg))?),
            "rnd" => Source::Rnd(
                read_pairs(&root.join(arg))?
                    .into_iter()
                    .map(|(k, v)| (k, v.split('|').map(str::to_string).collect()))
                    .collect(),
            ),
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
            Source::Txt(m) => m.get(key).cloned(),
            Source::Rnd(m) => {
                let choices = m.get(key)?;
                let i = (crate::balancer::random_u64() % choices.len() as u64) as usize;
                Some(choices[i].clone())
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
}
