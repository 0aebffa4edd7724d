//! Which requests a `<Location>`, `<LocationMatch>`, `<Proxy>` or
//! `<ProxyMatch>` section covers: one answer for the header and environment
//! rules of `crate::rules` and for the access rules (`crate::config::AccessSection`).
//!
//! httpd merges the sections of a proxied request in two groups (its "sections"
//! documentation, checked with httpd-oracle in tests/headers_module.rs): first
//! every `<Proxy>` and `<ProxyMatch>` whose pattern matches the URL the request
//! goes to (`balancer://name/path`, `http://host:port/path`), in file order, as
//! `<Directory>` would be; then every `<Location>` and `<LocationMatch>` whose
//! path or regular expression matches the request's path, in file order.

use regex::bytes::Regex;

/// A section's pattern.
#[derive(Clone, Debug)]
pub enum Section {
    /// `<Location path>`: the path and what is below it, at a segment boundary.
    Location(String),
    /// `<LocationMatch regex>` (or `<Location ~ regex>`): the regex finds a
    /// match in the path.
    LocationMatch(Regex),
    /// `<Proxy pattern>`: with a wildcard (`*`, `?`, `[…]`) the whole URL must
    /// match it, else it is a prefix of the URL (compared without case).
    Proxy(String),
    /// `<ProxyMatch regex>` (or `<Proxy ~ regex>`): the regex finds a match in
    /// the URL.
    ProxyMatch(Regex),
}

impl PartialEq for Section {
    fn eq(&self, other: &Section) -> bool {
        self.is_proxy() == other.is_proxy()
            && self.is_regex() == other.is_regex()
            && self.text() == other.text()
    }
}

impl Eq for Section {}

/// Where a request is: its path and, once routed to a member or balancer, the
/// URL it goes to, in two pieces (`base` + `target`: `balancer://c` +
/// `/app/x?q`, `http://127.0.0.1:8080` + `/app/x`), so that finding it
/// allocates nothing.
#[derive(Clone, Copy, Debug)]
pub struct Place<'a> {
    pub path: &'a [u8],
    pub url: Option<(&'a str, &'a str)>,
}

impl Section {
    /// The pattern as written (for messages).
    pub fn text(&self) -> &str {
        match self {
            Section::Location(p) | Section::Proxy(p) => p,
            Section::LocationMatch(r) | Section::ProxyMatch(r) => r.as_str(),
        }
    }

    /// The section's tag, for messages (`Location`, `ProxyMatch`…).
    pub fn tag(&self) -> &'static str {
        match self {
            Section::Location(_) => "Location",
            Section::LocationMatch(_) => "LocationMatch",
            Section::Proxy(_) => "Proxy",
            Section::ProxyMatch(_) => "ProxyMatch",
        }
    }

    /// `<Proxy>` or `<ProxyMatch>` (merged before the Locations).
    pub fn is_proxy(&self) -> bool {
        matches!(self, Section::Proxy(_) | Section::ProxyMatch(_))
    }

    fn is_regex(&self) -> bool {
        matches!(self, Section::LocationMatch(_) | Section::ProxyMatch(_))
    }

    /// Whether the section covers a request at `at`.
    pub fn covers(&self, at: &Place<'_>) -> bool {
        match self {
            Section::Location(p) => location_covers(p, at.path),
            Section::LocationMatch(r) => r.is_match(at.path),
            Section::Proxy(p) => at.url.is_some_and(|(base, target)| {
                if crate::url::has_wildcard(p) {
                    joined(base, target, |u| {
                        crate::url::wildcard(p.as_bytes(), u, crate::url::Wildcards::Full)
                    })
                } else {
                    prefix_of(p.as_bytes(), base.as_bytes(), target.as_bytes())
                }
            }),
            Section::ProxyMatch(r) => at
                .url
                .is_some_and(|(base, target)| joined(base, target, |u| r.is_match(u))),
        }
    }
}

/// The path `<Location>` sections match a request `target` against, as
/// httpd's `r->uri`: normalised (`crate::url::normalise_path`; as received
/// when it cannot be), without the query; written into `out` (cleared first).
pub fn request_path(target: &str, out: &mut Vec<u8>) {
    let (raw, _) = crate::url::split_target(target);
    crate::recycle::with_bytes(|scratch| {
        let path = crate::url::normalise_path(raw, scratch).unwrap_or(raw.as_bytes());
        out.clear();
        out.extend_from_slice(path);
    });
}

/// Whether `<Location location>` covers `path`: the path itself or below it at
/// a segment boundary (a trailing `/` of the location is not needed).
fn location_covers(location: &str, path: &[u8]) -> bool {
    let p = location.trim_end_matches('/');
    path.strip_prefix(p.as_bytes())
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(b"/") || p.is_empty())
}

/// Whether `prefix` starts `a` + `b` (without case).
fn prefix_of(prefix: &[u8], a: &[u8], b: &[u8]) -> bool {
    let (in_a, in_b) = prefix.split_at(prefix.len().min(a.len()));
    a.len() >= in_a.len()
        && a[..in_a.len()].eq_ignore_ascii_case(in_a)
        && b.len() >= in_b.len()
        && b[..in_b.len()].eq_ignore_ascii_case(in_b)
}

/// `f` of `a` + `b` in one buffer (from the worker's free list).
fn joined(a: &str, b: &str, f: impl FnOnce(&[u8]) -> bool) -> bool {
    crate::recycle::with_bytes(|buf| {
        buf.clear();
        buf.extend_from_slice(a.as_bytes());
        buf.extend_from_slice(b.as_bytes());
        f(buf)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at<'a>(path: &'a str, url: Option<(&'a str, &'a str)>) -> Place<'a> {
        Place {
            path: path.as_bytes(),
            url,
        }
    }

    /// `<Proxy>` patterns as httpd's proxy_walk compares them (fnmatch without
    /// flags for a wildcard, else a prefix), and the other three kinds.
    #[test]
    fn sections_cover_as_httpd_walks_them() {
        let re = |r: &str| Regex::new(r).unwrap();
        let member = Some(("http://10.0.0.1:8080", "/open/a/b"));
        let cases: Vec<(Section, Place<'_>, bool)> = vec![
            (
                Section::Proxy("*".into()),
                at("/x", Some(("balancer://app", "/x"))),
                true,
            ),
            (Section::Proxy("*".into()), at("/x", None), false),
            (
                Section::Proxy("balancer://app".into()),
                at("/", Some(("balancer://app", "/x"))),
                true,
            ),
            (
                Section::Proxy("balancer://app/x".into()),
                at("/", Some(("balancer://app", "/x"))),
                true,
            ),
            (
                Section::Proxy("balancer://app/y".into()),
                at("/", Some(("balancer://app", "/x"))),
                false,
            ),
            (
                Section::Proxy("balancer://app".into()),
                at("/", Some(("balancer://other", "/x"))),
                false,
            ),
            (
                Section::Proxy("http://10.0.0.1:8080/open*".into()),
                at("/", member),
                true,
            ),
            (
                Section::Proxy("http://10.0.0.1:8080/x*".into()),
                at("/", member),
                false,
            ),
            (
                Section::Proxy("http://10.0.0.?:8080/*".into()),
                at("/", member),
                true,
            ),
            (
                Section::Proxy("http://10.0.0.[1-3]:8080/*".into()),
                at("/", member),
                true,
            ),
            (
                Section::Proxy("http://10.0.0.[!1-3]:8080/*".into()),
                at("/", member),
                false,
            ),
            (
                Section::Proxy("HTTP://10.0.0.1:8080/".into()),
                at("/", member),
                true,
            ),
            (
                Section::ProxyMatch(re("^http://10\\.0\\.0\\.1:8080/open/")),
                at("/", member),
                true,
            ),
            (Section::ProxyMatch(re("/b$")), at("/", member), true),
            (
                Section::ProxyMatch(re("^balancer:")),
                at("/", member),
                false,
            ),
            (Section::Location("/app".into()), at("/app/x", member), true),
            (Section::Location("/app/".into()), at("/app", None), true),
            (
                Section::Location("/app".into()),
                at("/application", None),
                false,
            ),
            (
                Section::LocationMatch(re("^/app/(m|n)")),
                at("/app/m", None),
                true,
            ),
            (
                Section::LocationMatch(re("^/app/(m|n)")),
                at("/app/x", None),
                false,
            ),
        ];
        for (section, place, want) in cases {
            assert_eq!(section.covers(&place), want, "{section:?} {place:?}");
        }
    }
}
