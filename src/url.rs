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

/// The protocol a member speaks, chosen by its URL's scheme as httpd chooses
/// its scheme handler (mod_proxy_http, mod_proxy_ajp, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// `http`, `https`, `ws`, `wss`: HTTP/1.1.
    Http1,
    /// `ajp`: AJP 1.3.
    Ajp,
    /// `fcgi`: FastCGI, responder role.
    Fcgi,
    /// `scgi`: SCGI.
    Scgi,
    /// `uwsgi`: the uwsgi protocol.
    Uwsgi,
}

/// A member URL scheme: its name, protocol, default port and whether it runs
/// over TLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scheme {
    pub name: &'static str,
    pub protocol: Protocol,
    pub default_port: u16,
    pub tls: bool,
}

/// Every member scheme slotgate serves (default ports as httpd's handlers:
/// AJP 8009, FastCGI 8000, SCGI 4000, uwsgi 3031).
pub const SCHEMES: &[Scheme] = &[
    scheme("http", Protocol::Http1, 80, false),
    scheme("https", Protocol::Http1, 443, true),
    scheme("ws", Protocol::Http1, 80, false),
    scheme("wss", Protocol::Http1, 443, true),
    scheme("fcgi", Protocol::Fcgi, 8000, false),
    scheme("scgi", Protocol::Scgi, 4000, false),
    scheme("uwsgi", Protocol::Uwsgi, 3031, false),
    scheme("ajp", Protocol::Ajp, 8009, false),
];

const fn scheme(name: &'static str, protocol: Protocol, default_port: u16, tls: bool) -> Scheme {
    Scheme {
        name,
        protocol,
        default_port,
        tls,
    }
}

impl Scheme {
    /// The scheme named `name` (lowercase), if slotgate serves it.
    pub fn named(name: &str) -> Option<Scheme> {
        SCHEMES.iter().copied().find(|s| s.name == name)
    }
}

/// The default port of `scheme` (80 for a scheme slotgate does not serve).
pub fn default_port(scheme: &str) -> u16 {
    Scheme::named(scheme).map_or(80, |s| s.default_port)
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
    /// A `..` segment that would climb above `/`: 400, as httpd.
    AboveRoot,
}

impl PathError {
    /// The status the client gets.
    pub fn status(self) -> u16 {
        match self {
            PathError::BadEscape | PathError::AboveRoot => 400,
            PathError::EncodedSlash => 404,
        }
    }

    /// Why, for the error page and the log.
    pub fn reason(self) -> &'static str {
        match self {
            PathError::BadEscape => "a '%' in the path is not followed by two hex digits",
            PathError::EncodedSlash => {
                "an encoded '/' or NUL in the path (AllowEncodedSlashes Off)"
            }
            PathError::AboveRoot => "the path climbs above '/' with '..'",
        }
    }
}

/// The value of a hex digit.
fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// RFC 3986 §2.3 unreserved characters: the ones httpd decodes before it
/// removes dot-segments (so `%2e` is a dot).
fn unreserved(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')
}

/// The path every rule is matched against, as httpd 2.4 builds it (with its
/// defaults `MergeSlashes On` and `AllowEncodedSlashes Off`):
/// 1. escapes of unreserved characters are decoded (`%2e` is `.`, `%41` is `A`),
///    runs of `/` become one, and dot-segments are removed (RFC 3986 §5.2.4): a
///    `.` segment goes, a `..` segment takes the one before it with it, and a
///    `..` with nothing left to take is [`PathError::AboveRoot`];
/// 2. every other escape is decoded; one giving `/` or NUL is
///    [`PathError::EncodedSlash`] (after step 1: a `%2f` segment that a `..`
///    removed is not an error), one that is not `%` and two hex digits is
///    [`PathError::BadEscape`].
///
/// `raw` starts with `/`. The result is `raw` itself when it has no `%`, no `//`
/// and no dot-segment (nothing to do: `/index.html` is such a path), else it is
/// written into `buf` (cleared first).
/// It never holds a dot-segment, since no escape left for step 2 decodes to
/// `.` or `/`.
pub fn normalise_path<'a>(raw: &'a str, buf: &'a mut Vec<u8>) -> Result<&'a [u8], PathError> {
    let b = raw.as_bytes();
    let plain = !b.contains(&b'%') && !b.windows(2).any(|w| w == b"//") && !has_dot_segment(b);
    if plain {
        return Ok(b);
    }
    remove_dot_segments(b, buf)?;
    decode_rest(buf)?;
    Ok(buf)
}

/// Step 1 of [`normalise_path`] into `out`.
fn remove_dot_segments(raw: &[u8], out: &mut Vec<u8>) -> Result<(), PathError> {
    out.clear();
    out.push(b'/');
    let body = raw.strip_prefix(b"/").unwrap_or(raw);
    let mut segments = body.split(|&c| c == b'/').peekable();
    // Invariant: `out` ends in '/' before each segment is appended.
    while let Some(seg) = segments.next() {
        let last = segments.peek().is_none();
        let start = out.len();
        let mut i = 0;
        while i < seg.len() {
            let c = seg[i];
            if c == b'%' {
                let decoded = match (seg.get(i + 1), seg.get(i + 2)) {
                    (Some(&h), Some(&l)) => hex(h).zip(hex(l)).map(|(h, l)| h * 16 + l),
                    _ => None,
                };
                let d = decoded.ok_or(PathError::BadEscape)?;
                if unreserved(d) {
                    out.push(d);
                } else {
                    out.extend_from_slice(&seg[i..i + 3]);
                }
                i += 3;
            } else {
                out.push(c);
                i += 1;
            }
        }
        match &out[start..] {
            b"." => out.truncate(start),
            b".." => {
                out.truncate(start);
                if start == 1 {
                    return Err(PathError::AboveRoot);
                }
                // Drop the segment before, keeping the '/' that precedes it.
                let before = out[..start - 1]
                    .iter()
                    .rposition(|&c| c == b'/')
                    .unwrap_or(0);
                out.truncate(before + 1);
            }
            // An empty segment: `//` (merged) or the end of a path ending in '/'.
            b"" => {}
            _ if !last => out.push(b'/'),
            _ => {}
        }
    }
    Ok(())
}

/// Step 2 of [`normalise_path`], in place: what step 1 left escaped is decoded.
fn decode_rest(buf: &mut Vec<u8>) -> Result<(), PathError> {
    let (mut r, mut w) = (0, 0);
    while r < buf.len() {
        let mut c = buf[r];
        r += 1;
        if c == b'%' {
            let (Some(h), Some(l)) = (
                buf.get(r).copied().and_then(hex),
                buf.get(r + 1).copied().and_then(hex),
            ) else {
                return Err(PathError::BadEscape);
            };
            c = h * 16 + l;
            if c == b'/' || c == 0 {
                return Err(PathError::EncodedSlash);
            }
            r += 2;
        }
        buf[w] = c;
        w += 1;
    }
    buf.truncate(w);
    Ok(())
}

/// Whether a raw (still encoded) path holds a `.` or `..` segment, written
/// plainly or with `%2e`.
pub fn has_dot_segment(raw: &[u8]) -> bool {
    raw.split(|&c| c == b'/').any(|seg| {
        let mut dots = 0;
        let mut i = 0;
        while i < seg.len() {
            if seg[i] == b'.' {
                i += 1;
            } else if seg.len() >= i + 3
                && seg[i] == b'%'
                && seg[i + 1] == b'2'
                && seg[i + 2] | 0x20 == b'e'
            {
                i += 3;
            } else {
                return false;
            }
            dots += 1;
        }
        dots == 1 || dots == 2
    })
}

/// Re-encodes decoded path bytes the way httpd's proxy canonicalises a path:
/// unreserved characters and `$-_.+!*'(),;:@&=/~` stay, everything else is `%XX`.
pub fn encode_path(decoded: &[u8], out: &mut String) {
    const KEEP: &[u8] = b"~$-_.+!*'(),;:@&=/";
    for &c in decoded {
        if c.is_ascii_alphanumeric() || KEEP.contains(&c) {
            out.push(c as char);
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.push('%');
            out.push(HEX[usize::from(c >> 4)] as char);
            out.push(HEX[usize::from(c & 15)] as char);
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
/// (The head parser has checked the target's form, see `http::head`.)
pub fn split_target(target: &str) -> (&str, Option<&str>) {
    let t = match target.split_once("://") {
        Some((scheme, rest)) if !scheme.contains(['/', '?']) => match rest.find(['/', '?']) {
            Some(i) => &rest[i..],
            None => "/",
        },
        _ => target,
    };
    match t.split_once('?') {
        Some(("", q)) => ("/", Some(q)),
        Some((p, q)) => (p, Some(q)),
        None => (t, None),
    }
}

/// `*` and `?` wildcards as ServerAlias uses them.
/// (The pattern is lowercase; `s` is compared without case.)
pub fn wildcard_match(pattern: &str, s: &[u8]) -> bool {
    wildcard(pattern.as_bytes(), s, Wildcards::HostName)
}

/// The two wildcard dialects httpd uses, served by [`wildcard`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wildcards {
    /// `ServerAlias` (httpd's `ap_strcasecmp_match`): `*` any run, `?` one
    /// byte, everything else literal and compared without case (the pattern
    /// in lowercase).
    HostName,
    /// `<Proxy>` (`apr_fnmatch` without flags): also `[…]` sets (`!` or `^`
    /// negates, `a-z` ranges) and `\` escaping the next byte; case matters.
    Full,
}

/// Whether `s` matches the wildcard `pattern` in dialect `how`.
pub fn wildcard(pattern: &[u8], s: &[u8], how: Wildcards) -> bool {
    let full = how == Wildcards::Full;
    match pattern.split_first() {
        None => s.is_empty(),
        Some((b'*', rest)) => (0..=s.len()).any(|i| wildcard(rest, &s[i..], how)),
        Some((b'?', rest)) => !s.is_empty() && wildcard(rest, &s[1..], how),
        Some((b'[', rest)) if full => {
            let Some(close) = rest.iter().skip(1).position(|&c| c == b']').map(|i| i + 1) else {
                return s.first() == Some(&b'[') && wildcard(rest, &s[1..], how);
            };
            let Some(&c) = s.first() else { return false };
            let (negate, set) = match rest[..close].split_first() {
                Some((b'!' | b'^', set)) => (true, set),
                _ => (false, &rest[..close]),
            };
            let mut hit = false;
            let mut i = 0;
            while i < set.len() {
                if i + 2 < set.len() && set[i + 1] == b'-' {
                    hit |= (set[i]..=set[i + 2]).contains(&c);
                    i += 3;
                } else {
                    hit |= set[i] == c;
                    i += 1;
                }
            }
            hit != negate && wildcard(&rest[close + 1..], &s[1..], how)
        }
        Some((b'\\', rest)) if full && !rest.is_empty() => {
            s.first() == Some(&rest[0]) && wildcard(&rest[1..], &s[1..], how)
        }
        Some((&c, rest)) if full => s.first() == Some(&c) && wildcard(rest, &s[1..], how),
        Some((&c, rest)) => {
            s.first().map(u8::to_ascii_lowercase) == Some(c) && wildcard(rest, &s[1..], how)
        }
    }
}

/// httpd's `apr_fnmatch_test`: whether a pattern holds a wildcard (`*`, `?`,
/// or `[` with a matching `]`); a backslash escapes the next character.
pub fn has_wildcard(pattern: &str) -> bool {
    let mut open = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '?' | '*' => return true,
            // The escaped character is literal; at the end the loop ends anyway.
            '\\' => {
                chars.next();
            }
            '[' => open = true,
            ']' if open => return true,
            _ => {}
        }
    }
    false
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

    fn norm(raw: &str) -> Result<String, PathError> {
        let mut buf = Vec::new();
        normalise_path(raw, &mut buf).map(|p| String::from_utf8_lossy(p).into_owned())
    }

    #[test]
    fn decode_and_encode_round_trip_httpd_style() {
        assert_eq!(norm("/a%20b").unwrap(), "/a b");
        assert_eq!(norm("/a%2fb"), Err(PathError::EncodedSlash));
        assert_eq!(norm("/a%2F"), Err(PathError::EncodedSlash));
        assert_eq!(norm("/a%00"), Err(PathError::EncodedSlash));
        assert_eq!(norm("/a%zz"), Err(PathError::BadEscape));
        assert_eq!(norm("/a%2"), Err(PathError::BadEscape));
        assert_eq!(norm("/a%"), Err(PathError::BadEscape));
        // A '%' decoded from %25 is not decoded again.
        assert_eq!(norm("/%252e%252e/x").unwrap(), "/%2e%2e/x");
        assert_eq!(norm("/%2541").unwrap(), "/%41");
        let mut s = String::new();
        encode_path("/a b/~x/é\"<%".as_bytes(), &mut s);
        assert_eq!(s, "/a%20b/~x/%C3%A9%22%3C%25");
    }

    /// RFC 3986 §5.2.4's own examples and §5.4's, reduced to their paths (the
    /// merge of §5.2.3 already done: base `/b/c/d;p`).
    #[test]
    fn dot_segments_are_removed_as_rfc_3986_5_2_4() {
        let cases: &[(&str, &str)] = &[
            // §5.2.4 walks these two through step by step.
            ("/a/b/c/./../../g", "/a/g"),
            ("/mid/content=5/../6", "/mid/6"),
            // §5.4.1 normal examples (paths after merging with /b/c/).
            ("/b/c/g", "/b/c/g"),
            ("/b/c/./g", "/b/c/g"),
            ("/b/c/g/", "/b/c/g/"),
            ("/b/c/.", "/b/c/"),
            ("/b/c/./", "/b/c/"),
            ("/b/c/..", "/b/"),
            ("/b/c/../", "/b/"),
            ("/b/c/../g", "/b/g"),
            ("/b/c/../..", "/"),
            ("/b/c/../../", "/"),
            ("/b/c/../../g", "/g"),
            // §5.4.2 abnormal examples that stay below the root.
            ("/b/c/g.", "/b/c/g."),
            ("/b/c/.g", "/b/c/.g"),
            ("/b/c/g..", "/b/c/g.."),
            ("/b/c/..g", "/b/c/..g"),
            ("/b/c/./../g", "/b/g"),
            ("/b/c/./g/.", "/b/c/g/"),
            ("/b/c/g/./h", "/b/c/g/h"),
            ("/b/c/g/../h", "/b/c/h"),
            ("/b/c/g;x=1/./y", "/b/c/g;x=1/y"),
            ("/b/c/g;x=1/../y", "/b/c/y"),
        ];
        for (raw, want) in cases {
            assert_eq!(norm(raw).as_deref(), Ok(*want), "{raw}");
        }
    }

    /// What httpd 2.4.71 forwarded or answered for each path (httpd-oracle,
    /// `ProxyPass /n/ http://m/app/`): the normalised path here is what its
    /// rules saw.
    #[test]
    fn paths_are_normalised_as_httpd() {
        let cases: &[(&str, Result<&str, PathError>)] = &[
            ("/", Ok("/")),
            ("/n/x", Ok("/n/x")),
            ("/n/../secret", Ok("/secret")),
            ("/n/%2e%2e/secret", Ok("/secret")),
            ("/n/%2E%2E/secret", Ok("/secret")),
            ("/n/.%2e/secret", Ok("/secret")),
            ("/n/%2E./secret", Ok("/secret")),
            ("/n/./../secret", Ok("/secret")),
            ("/n/x/%2e/y", Ok("/n/x/y")),
            ("/n/%2e", Ok("/n/")),
            ("/n/..", Ok("/")),
            ("/.", Ok("/")),
            ("/./", Ok("/")),
            ("/n/.../x", Ok("/n/.../x")),
            ("/n/..x/y", Ok("/n/..x/y")),
            ("/n/x..", Ok("/n/x..")),
            ("/n/a;x/../b", Ok("/n/b")),
            // MergeSlashes On.
            ("/n//x//y", Ok("/n/x/y")),
            ("//secret", Ok("/secret")),
            ("/n/x/", Ok("/n/x/")),
            ("/n/x//", Ok("/n/x/")),
            // Unreserved escapes decode; others after the dots are gone.
            ("/n/%41%7e", Ok("/n/A~")),
            ("/n/%2f/../x", Ok("/n/x")),
            ("/n/a%5cb", Ok("/n/a\\b")),
            // Climbing above the root: 400.
            ("/..", Err(PathError::AboveRoot)),
            ("/../x", Err(PathError::AboveRoot)),
            ("/%2e%2e/x", Err(PathError::AboveRoot)),
            ("/n/../../x", Err(PathError::AboveRoot)),
            ("/a/b/../../../x", Err(PathError::AboveRoot)),
            ("/../%2f", Err(PathError::AboveRoot)),
            ("/n/%2e%2", Err(PathError::BadEscape)),
            ("/n/%zz/../x", Err(PathError::BadEscape)),
        ];
        for (raw, want) in cases {
            assert_eq!(norm(raw).as_deref(), want.as_deref(), "{raw}");
        }
    }

    /// Every path of up to six pieces from an alphabet of separators, dots
    /// (plain and encoded) and other bytes: a normalised path starts with `/`,
    /// holds no dot-segment and no `//`, and is a fixed point (normalising its
    /// re-encoding gives it back).
    #[test]
    fn normalised_paths_hold_no_dot_segment() {
        const PIECES: [&str; 8] = ["/", ".", "a", "%2e", "%2E", "%41", "%2f", "%25"];
        let mut raw = String::new();
        let (mut buf, mut again) = (Vec::new(), Vec::new());
        let mut checked = 0;
        for n in 0..=6u32 {
            for mut code in 0..PIECES.len().pow(n) {
                raw.clear();
                raw.push('/');
                for _ in 0..n {
                    raw.push_str(PIECES[code % PIECES.len()]);
                    code /= PIECES.len();
                }
                let Ok(path) = normalise_path(&raw, &mut buf) else {
                    continue;
                };
                let path = path.to_vec();
                assert!(path.starts_with(b"/"), "{raw}");
                assert!(!path.windows(2).any(|w| w == b"//"), "{raw}");
                assert!(
                    !path.split(|&c| c == b'/').any(|s| s == b"." || s == b".."),
                    "{raw} gave {:?}",
                    String::from_utf8_lossy(&path)
                );
                let mut encoded = String::new();
                encode_path(&path, &mut encoded);
                assert_eq!(normalise_path(&encoded, &mut again).unwrap(), path, "{raw}");
                checked += 1;
            }
        }
        assert!(checked > 10_000, "{checked}");
    }

    #[test]
    fn plain_paths_are_used_as_they_are() {
        let mut buf = Vec::new();
        for raw in ["/app/static/x", "/index.html", "/a/..b/c./.d", "/"] {
            let p = normalise_path(raw, &mut buf).unwrap();
            assert_eq!(p.as_ptr(), raw.as_ptr(), "{raw}: no copy for a plain path");
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn dot_segments_are_found_in_raw_paths() {
        for raw in [
            "../x",
            "a/./b",
            "a/..",
            "a/%2e%2e/b",
            "a/%2E/b",
            "a/.%2e",
            ".",
        ] {
            assert!(has_dot_segment(raw.as_bytes()), "{raw}");
        }
        for raw in [
            "a/b",
            "a/.../b",
            "a/..x",
            "x../b",
            "a/%2e%2e%2e",
            "a/%2f",
            "",
        ] {
            assert!(!has_dot_segment(raw.as_bytes()), "{raw}");
        }
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
        assert_eq!(split_target("http://h?q=/x"), ("/", Some("q=/x")));
        assert_eq!(split_target("HTTPS://h/p"), ("/p", None));
    }

    #[test]
    fn wildcards_match_without_case() {
        assert!(wildcard_match("w?w.*", b"WwW.x"));
        assert!(wildcard_match("*.example.com", b"a.b.Example.com"));
        assert!(!wildcard_match("*.example.com", b"example.org"));
        assert!(!wildcard_match("w?w", b"ww"));
        // One matcher, two dialects: ServerAlias folds case and takes `[` and
        // `\\` literally; <Proxy> (apr_fnmatch) has sets and escapes, and case
        // matters.
        assert!(wildcard(b"a[b]*", b"A[B]x", Wildcards::HostName));
        assert!(!wildcard(b"a[b]*", b"abx", Wildcards::HostName));
        assert!(wildcard(b"a[b]*", b"a[b]x", Wildcards::HostName));
        assert!(wildcard(b"a[b]*", b"abx", Wildcards::Full));
        assert!(!wildcard(b"a*", b"Ab", Wildcards::Full));
        assert!(wildcard(b"a\\*b", b"a*b", Wildcards::Full));
        assert!(!wildcard(b"a\\*b", b"axb", Wildcards::Full));
        assert!(
            has_wildcard("http://h/[ab]") && !has_wildcard("http://h/a\\*") && !has_wildcard("/a[")
        );
    }
}
