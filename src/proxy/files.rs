//! Requests for files under `DocumentRoot` that a `<FilesMatch>` section
//! hands to a FastCGI, SCGI or uwsgi member (`SetHandler "proxy:…"`), found
//! as httpd's directory walk finds them: the request path's segments are
//! followed under the document root while each names a directory; the first
//! that does not — an existing file or nothing at all — ends the file name,
//! and the rest of the path is PATH_INFO. A section matches the file's name
//! (its last segment). ProxyPass rules are tried first (as mod_proxy's
//! translate_name runs before the core's file mapping).
//!
//! A name that maps to no existing file is still handed over when its name
//! matches (`/missing.php`): httpd does the same, and php-fpm answers it with
//! "File not found." and 404. A path under a directory that does not exist
//! (`/nodir/x.php`) ends at `nodir`, which does not match `\.php$`: nobody
//! takes it and slotgate answers 404, as httpd does.

use crate::config::FileHandler;

/// Where a request path led under the document root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MappedFile {
    /// The document root, then the path up to and including the first
    /// segment that is not a directory.
    pub filename: String,
    /// The rest of the path ("" when none), starting with '/'.
    pub path_info: String,
}

impl MappedFile {
    /// The file's own name (its last path segment).
    pub fn name(&self) -> &str {
        self.filename.rsplit('/').next().unwrap_or("")
    }
}

/// Maps the decoded, normalised request path `path` under `root`; None when
/// every segment names a directory (a directory request).
pub fn map_to_file(root: &str, path: &str) -> Option<MappedFile> {
    let mut filename = String::from(root.trim_end_matches('/'));
    let mut rest = path;
    loop {
        let trimmed = rest.trim_start_matches('/');
        if trimmed.is_empty() {
            return None;
        }
        let (segment, after) = match trimmed.find('/') {
            Some(i) => (&trimmed[..i], &trimmed[i..]),
            None => (trimmed, ""),
        };
        filename.push('/');
        filename.push_str(segment);
        rest = after;
        let is_dir = std::fs::metadata(&filename).is_ok_and(|m| m.is_dir());
        if !is_dir {
            return Some(MappedFile {
                filename,
                path_info: rest.to_string(),
            });
        }
    }
}

/// The handler (index in `handlers`) for a request path, and the file: the
/// last section in file order whose pattern matches the file's name (a later
/// `SetHandler` replaces an earlier one, as httpd merges `<Files>` sections).
pub fn handler_for(
    handlers: &[FileHandler],
    root: &str,
    path: &str,
) -> Option<(usize, MappedFile)> {
    if handlers.is_empty() {
        return None;
    }
    let mapped = map_to_file(root, path)?;
    let name = mapped.name();
    let index = handlers.iter().rposition(|h| h.pattern.matches(name))?;
    Some((index, mapped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FilePattern, Origin};

    struct Root(std::path::PathBuf);

    impl Root {
        fn new() -> Root {
            use std::sync::atomic::{AtomicUsize, Ordering};
            static N: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "slotgate-files-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::SeqCst)
            ));
            std::fs::create_dir_all(dir.join("sub")).unwrap();
            std::fs::write(dir.join("index.php"), "").unwrap();
            std::fs::write(dir.join("sub/x.php"), "").unwrap();
            Root(dir)
        }
        fn path(&self) -> String {
            self.0.display().to_string()
        }
    }

    impl Drop for Root {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn php() -> Vec<FileHandler> {
        vec![FileHandler {
            pattern: FilePattern::Regex(regex::Regex::new(r"\.php$").unwrap()),
            url: "fcgi://127.0.0.1:9000".into(),
            origin: Origin::file_only(std::sync::Arc::new("t.conf".into())),
        }]
    }

    #[test]
    fn paths_map_as_httpds_directory_walk() {
        // httpd-oracle, DocumentRoot with index.php and sub/x.php, <FilesMatch
        // "\.php$"> SetHandler proxy:fcgi://…; what its FastCGI origin got:
        // /index.php/extra/x → SCRIPT_FILENAME …/index.php, PATH_INFO /extra/x
        // /sub/x.php/more    → …/sub/x.php, /more
        // /nofile.php/pi     → …/nofile.php, /pi (passed on: php-fpm says 404)
        // /nodir/x.php       → not proxied (httpd: 404)
        let root = Root::new();
        let r = root.path();
        let h = php();
        let cases = [
            ("/index.php/extra/x", Some(("/index.php", "/extra/x"))),
            ("/index.php", Some(("/index.php", ""))),
            ("/sub/x.php/more", Some(("/sub/x.php", "/more"))),
            ("/nofile.php/pi", Some(("/nofile.php", "/pi"))),
            ("/nodir/x.php", None),
            ("/sub/", None),
            ("/", None),
            ("/index.html", None),
        ];
        for (path, want) in cases {
            let got = handler_for(&h, &r, path).map(|(i, m)| {
                assert_eq!(i, 0);
                (m.filename, m.path_info)
            });
            let want = want.map(|(f, p)| (format!("{r}{f}"), p.to_string()));
            assert_eq!(got, want, "{path}");
        }
    }

    #[test]
    fn the_last_matching_section_wins() {
        let root = Root::new();
        let mut h = php();
        h.push(FileHandler {
            pattern: FilePattern::Wildcard("index.*".into()),
            url: "fcgi://127.0.0.1:9001".into(),
            origin: h[0].origin.clone(),
        });
        assert_eq!(handler_for(&h, &root.path(), "/index.php").unwrap().0, 1);
        assert_eq!(handler_for(&h, &root.path(), "/sub/x.php").unwrap().0, 0);
        assert!(handler_for(&[], &root.path(), "/index.php").is_none());
    }
}
