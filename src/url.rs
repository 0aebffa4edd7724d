//! URL pieces as httpd's proxy handles them: decoding a request path, matching a
//! ProxyPass prefix, re-encoding the remainder, member URLs and ServerAlias
//! wildcards. A leaf module: the configuration, routing, TLS, the health checker
//! and the handlers all read URLs through it, and it depends on none of them.

/// A member URL split into its parts, with httpd's normalisation applied to `name`:
/// scheme and host lowercased, the scheme's default port dropped, the path as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberUrl {
    pub scheme: String,
    /// Host as written in the URL, lowercased; IPv6 literals without brackets.
    pub host: String,
    pub port: u16,
    /// Path part, possibly empty.
    pub path: String,
    /// The normalised URL: the member's identity. For a Unix-socket member,
    /// `unix:/path|http://host/path`, as httpd names it.
    pub name: String,
    /// The socket file of a `unix:/path|http://host/` member (then `host`
    /// only gives the Host header: no name lookup, no TCP).
    pub socket: Option<String>,
}

impl MemberUrl {
    /// The `Host` header value for this member: host, plus `:port` unless it is the
    /// scheme's default (IPv6 literals bracketed).
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == default_port(&self.scheme) {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// `scheme://host[:port]`, normalised: what a target URL starts with.
    pub fn authority_prefix(&self) -> String {
        format!("{}://{}", self.scheme, self.host_header())
    }

    /// The name without a `unix:/path|` prefix: the URL the member itself
    /// sees (what its `Location` headers start with).
    pub fn http_name(&self) -> &str {
        match self.socket {
            Some(_) => self.name.split_once('|').map_or(&self.name, |(_, u)| u),
            None => &self.name,
        }
    }
}

/// The longest socket path `connect` takes (`sun_path` is 108 bytes with its NUL).
pub const MAX_SOCKET_PATH: usize = 107;

/// httpd's Unix-socket member syntax, `unix:/path/to.sock|http://host/path`
/// (also `unix:///path|…`; the scheme in any case): Ok(Some((socket path, the
/// URL after `|`))), Ok(None) for any other URL. A URL after `|` without a
/// host (`http:///x`, `http://`) gets `localhost`, the Host header sent.
/// The path must be absolute: slotgate has no DefaultRuntimeDir to resolve a
/// relative one against.
pub fn split_unix(url: &str) -> Result<Option<(&str, std::borrow::Cow<'_, str>)>, String> {
    if url.len() < 5 || !url[..5].eq_ignore_ascii_case("unix:") {
        return Ok(None);
    }
    let Some((socket, rest)) = url[5..].split_once('|') else {
        return Err(format!(
            "'{url}': a Unix-socket member is written unix:/path/to.sock|http://host/"
        ));
    };
    // unix:///path: an empty authority before the path.
    let socket = match socket.strip_prefix("//") {
        Some(after) if after.starts_with('/') => after,
        Some(_) => return Err(format!("'{url}': unix://HOST/… is not a socket path")),
        None => socket,
    };
    if !socket.starts_with('/') {
        return Err(format!(
            "'{url}': the socket path '{socket}' must be absolute"
        ));
    }
    if socket.len() > MAX_SOCKET_PATH {
        return Err(format!(
            "'{url}': the socket path is longer than {MAX_SOCKET_PATH} bytes"
        ));
    }
    let Some((scheme, after)) = rest.split_once("://") else {
        return Err(format!(
            "'{url}': expected a URL after '|' (unix:/path/to.sock|http://host/)"
        ));
    };
    let rest = if after.is_empty() || after.starts_with('/') {
        std::borrow::Cow::Owned(format!("{scheme}://localhost{after}"))
    } else {
        std::borrow::Cow::Borrowed(rest)
    };
    Ok(Some((socket, rest)))
}

/// The URL a request goes to: `url` without a `unix:/path|` prefix.
pub fn after_socket(url: &str) -> &str {
    match url.get(..5) {
        Some(p) if p.eq_ignore_ascii_case("unix:") => url.split_once('|').map_or(url, |(_, u)| u),
        _ => url,
    }
}

pub fn default_port(scheme: &str) -> u16 {
    match scheme {
        "https" | "wss" => 443,
        _ => 80,
    }
}

/// Parses `scheme://host[:port][/path]`, or `unix:/path|scheme://host[:port][/path]`
/// (see [`split_unix`]).
pub fn parse_member_url(url: &str) -> Result<MemberUrl, String> {
    if let Some((socket, rest)) = split_unix(url)? {
        let mut m = parse_member_url(&rest)?;
        m.name = format!("unix:{socket}|{}", m.name);
        m.socket = Some(socket.to_string());
        return Ok(m);
    }
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("'{url}' is not an absolute URL"))?;
    let scheme = scheme.to_ascii_lowercase();
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("'{url}': unclosed '[' in host"))?;
        (h.to_string(), after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    if host.is_empty() {
        return Err(format!("'{url}' has no host"));
    }
    let port = match port {
        None | Some("") => default_port(&scheme),
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| format!("'{url}': invalid port '{p}'"))?,
    };
    let mut m = MemberUrl {
        scheme,
        host: host.to_ascii_lowercase(),
        port,
        path: path.to_string(),
        name: String::new(),
        socket: None,
    };
    m.name = format!("{}{}", m.authority_prefix(), m.path);
    Ok(m)
}

/// Why a request path cannot be proxied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PathError {
    /// A `%` not followed by two hex digits: 400.
    BadEscape,
    /// An encoded `/` or NUL (httpd's `AllowEncodedSlashes Off`): 404.
    EncodedSlash,
}

/// Percent-decodes a URL path as httpd's `ap_unescape_url` does.
pub fn decode_path(raw: &str) -> Result<Vec<u8>, PathError> {
    let mut out = Vec::with_capacity(raw.len());
    decode_path_into(raw, &mut out)?;
    Ok(out)
}

/// [`decode_path`] into `out` (cleared first), reusing its allocation.
pub fn decode_path_into(raw: &str, out: &mut Vec<u8>) -> Result<(), PathError> {
    let b = raw.as_bytes();
    out.clear();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hi = b.get(i + 1).and_then(|&c| (c as char).to_digit(16));
            let lo = b.get(i + 2).and_then(|&c| (c as char).to_digit(16));
            let (Some(hi), Some(lo)) = (hi, lo) else {
                return Err(PathError::BadEscape);
            };
            let c = (hi * 16 + lo) as u8;
            if c == b'/' || c == 0 {
                return Err(PathError::EncodedSlash);
            }
            out.push(c);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(())
}

/// Re-encodes decoded path bytes the way httpd's proxy canonicalises a path:
/// unreserved characters and `$-_.+!*'(),;:@&=/~` stay, everything else is `%XX`.
pub fn encode_path(decoded: &[u8], out: &mut String) {
    const KEEP: &[u8] = b"~$-_.+!*'(),;:@&=/";
    for &c in decoded {
        if c.is_ascii_alphanumeric() || KEEP.contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
}

/// httpd's ProxyPass prefix test on a decoded path. A run of `/` in the pattern
/// matches a run of `/` in the path; the match must end at a segment boundary
/// unless the pattern ends in `/`. Returns the length of `path` matched.
pub fn prefix_match(pattern: &[u8], path: &[u8]) -> Option<usize> {
    let (mut a, mut u) = (0, 0);
    while a < pattern.len() {
        if pattern[a] == b'/' {
            if path.get(u) != Some(&b'/') {
                return None;
            }
            while pattern.get(a) == Some(&b'/') {
                a += 1;
            }
            while path.get(u) == Some(&b'/') {
                u += 1;
            }
        } else {
            if path.get(u) != Some(&pattern[a]) {
                return None;
            }
            a += 1;
            u += 1;
        }
    }
    let ends_in_slash = pattern.last() == Some(&b'/');
    if !ends_in_slash && u < path.len() && path[u] != b'/' {
        return None;
    }
    Some(u)
}

/// Splits an origin-form request target into path and query (without `?`). An
/// absolute-form target (`http://host/p`) is reduced to its path, as a reverse
/// proxy with `ProxyRequests Off` serves it.
pub fn split_target(target: &str) -> (&str, Option<&str>) {
    let t = match target.split_once("://") {
        Some((scheme, rest)) if !scheme.contains('/') => rest.find('/').map_or("/", |i| &rest[i..]),
        _ => target,
    };
    match t.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (t, None),
    }
}

/// `*` and `?` wildcards as ServerAlias uses them.
/// (The pattern is lowercase; `s` is compared without case.)
pub fn wildcard_match(pattern: &str, s: &[u8]) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
            Some((b'?', rest)) => !s.is_empty() && go(rest, &s[1..]),
            Some((c, rest)) => {
                s.first().map(u8::to_ascii_lowercase) == Some(*c) && go(rest, &s[1..])
            }
        }
    }
    go(pattern.as_bytes(), s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_match_follows_httpd() {
        let cases: &[(&str, &str, Option<usize>)] = &[
            ("/app", "/app", Some(4)),
            ("/app", "/app/", Some(4)),
            ("/app", "/app/x", Some(4)),
            ("/app", "/application", None),
            ("/app/", "/app", None),
            ("/app/", "/app/x", Some(5)),
            ("/app/", "/app//x", Some(6)),
            ("/a//b", "/a/b/c", Some(4)),
            ("/", "/foo", Some(1)),
            ("/", "//foo", Some(2)),
            ("/x", "/X", None),
        ];
        for (pat, path, want) in cases {
            assert_eq!(
                prefix_match(pat.as_bytes(), path.as_bytes()),
                *want,
                "{pat} vs {path}"
            );
        }
    }

    #[test]
    fn decode_and_encode_round_trip_httpd_style() {
        assert_eq!(decode_path("/a%20b").unwrap(), b"/a b");
        assert_eq!(decode_path("/a%2fb"), Err(PathError::EncodedSlash));
        assert_eq!(decode_path("/a%00"), Err(PathError::EncodedSlash));
        assert_eq!(decode_path("/a%zz"), Err(PathError::BadEscape));
        assert_eq!(decode_path("/a%2"), Err(PathError::BadEscape));
        let mut s = String::new();
        encode_path("/a b/~x/é\"<".as_bytes(), &mut s);
        assert_eq!(s, "/a%20b/~x/%C3%A9%22%3C");
    }

    #[test]
    fn member_urls_are_normalised() {
        let m = parse_member_url("HTTP://Example.COM:80/App/").unwrap();
        assert_eq!(m.name, "http://example.com/App/");
        assert_eq!(m.host_header(), "example.com");
        let m = parse_member_url("http://127.0.0.1:8080").unwrap();
        assert_eq!((m.port, m.path.as_str()), (8080, ""));
        assert_eq!(m.host_header(), "127.0.0.1:8080");
        let m = parse_member_url("http://[::1]:9000/x").unwrap();
        assert_eq!(m.host, "::1");
        assert_eq!(m.name, "http://[::1]:9000/x");
        assert!(parse_member_url("http://h:99999/").is_err());
        assert!(parse_member_url("nourl").is_err());
    }

    #[test]
    fn unix_socket_members() {
        let m = parse_member_url("unix:/run/app.sock|http://LocalHost/App/").unwrap();
        assert_eq!(m.socket.as_deref(), Some("/run/app.sock"));
        assert_eq!(m.name, "unix:/run/app.sock|http://localhost/App/");
        assert_eq!(m.http_name(), "http://localhost/App/");
        assert_eq!(
            (m.host_header(), m.path.as_str()),
            ("localhost".into(), "/App/")
        );
        let m = parse_member_url("UNIX:///run/app.sock|http://").unwrap();
        assert_eq!(m.name, "unix:/run/app.sock|http://localhost");
        let m = parse_member_url("unix:/s|ws:///chat").unwrap();
        assert_eq!(
            (m.scheme.as_str(), m.host.as_str(), m.path.as_str()),
            ("ws", "localhost", "/chat")
        );
        let m = parse_member_url("unix:/s|http://app.internal:8080/").unwrap();
        assert_eq!(m.host_header(), "app.internal:8080");
        for bad in [
            "unix:/run/app.sock",
            "unix:run/app.sock|http://x/",
            "unix://host/run/app.sock|http://x/",
            "unix:/run/app.sock|localhost",
        ] {
            assert!(parse_member_url(bad).is_err(), "{bad} accepted");
        }
        let long = format!("unix:/{}|http://x/", "a".repeat(MAX_SOCKET_PATH));
        assert!(parse_member_url(&long).unwrap_err().contains("longer than"));
        assert_eq!(after_socket("unix:/a|http://h/x"), "http://h/x");
        assert_eq!(after_socket("http://h/x"), "http://h/x");
        assert!(parse_member_url("http://h/").unwrap().socket.is_none());
    }

    #[test]
    fn targets_split_into_path_and_query() {
        assert_eq!(split_target("/a?b=1"), ("/a", Some("b=1")));
        assert_eq!(split_target("/a"), ("/a", None));
        assert_eq!(split_target("http://h:1/p?q"), ("/p", Some("q")));
        assert_eq!(split_target("http://h"), ("/", None));
    }

    #[test]
    fn wildcards_match_without_case() {
        assert!(wildcard_match("w?w.*", b"WwW.x"));
        assert!(wildcard_match("*.example.com", b"a.b.Example.com"));
        assert!(!wildcard_match("*.example.com", b"example.org"));
        assert!(!wildcard_match("w?w", b"ww"));
    }
}
