//! ProxyPassReverse (reference §2.8): a `Location`, `Content-Location` or `URI`
//! value that starts with a rule's URL gets that prefix replaced by the rule's
//! path, and a relative result is made absolute with the client's own Host.
//! Also the cookie rules: `ProxyPassReverseCookiePath` / `…Domain`.

use super::routes::ReverseRule;
use crate::config::CookieRule;

/// Maps `value`; None when no rule applies (the header is left as it is).
/// `host` is the client's Host header (or ServerName[:port] when it sent none).
pub fn map(rules: &[ReverseRule], value: &str, host: &str) -> Option<String> {
    let normalised = normalise(value);
    for rule in rules {
        let mapped = if rule.url.starts_with('/') {
            // A path-only rule is compared with the path of the value, whatever its host.
            let path = path_of(value);
            path.starts_with(rule.url.as_str())
                .then(|| format!("{}{}", rule.path, &path[rule.url.len()..]))
        } else {
            let url = normalise(&rule.url);
            let n = url.len();
            (normalised.len() >= n
                && normalised.is_char_boundary(n)
                && normalised[..n].eq_ignore_ascii_case(&url))
            .then(|| format!("{}{}", rule.path, &normalised[n..]))
        };
        if let Some(m) = mapped {
            return Some(if m.starts_with('/') {
                format!("http://{host}{m}")
            } else {
                m
            });
        }
    }
    None
}

/// Lowercases scheme and host and drops the scheme's default port, so that
/// `HTTP://Host:80/x` and `http://host/x` compare equal (reference §9 #3 fix).
fn normalise(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let scheme = scheme.to_ascii_lowercase();
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let mut authority = rest[..end].to_ascii_lowercase();
    let default = if scheme == "https" { ":443" } else { ":80" };
    if authority.ends_with(default) {
        authority.truncate(authority.len() - default.len());
    }
    format!("{scheme}://{authority}{}", &rest[end..])
}

/// The path (and query) of an absolute URL, or the value itself when relative.
fn path_of(value: &str) -> &str {
    match value.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => value,
    }
}

/// Rewrites the `path=` and `domain=` attributes of a Set-Cookie value. As httpd
/// (reference §2.8, §9 #4), a matching attribute value is replaced *whole*: `path=`
/// matches by case-sensitive prefix, `domain=` by case-insensitive prefix.
pub fn map_cookie(paths: &[CookieRule], domains: &[CookieRule], value: &str) -> Option<String> {
    if paths.is_empty() && domains.is_empty() {
        return None;
    }
    let mut changed = false;
    let parts: Vec<String> = value
        .split(';')
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                return part.to_string();
            }
            let lead = part.len() - part.trim_start().len();
            let (name, val) = match part.trim_start().split_once('=') {
                Some((n, v)) => (n, v),
                None => return part.to_string(),
            };
            let found = if name.eq_ignore_ascii_case("path") {
                paths.iter().find(|r| val.starts_with(&r.internal))
            } else if name.eq_ignore_ascii_case("domain") {
                domains.iter().find(|r| {
                    val.len() >= r.internal.len()
                        && val[..r.internal.len()].eq_ignore_ascii_case(&r.internal)
                })
            } else {
                None
            };
            match found {
                Some(r) => {
                    changed = true;
                    format!("{}{}={}", &part[..lead], name, r.public)
                }
                None => part.to_string(),
            }
        })
        .collect();
    changed.then(|| parts.join(";"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Origin;
    use std::sync::Arc;

    fn rule(path: &str, url: &str) -> ReverseRule {
        ReverseRule {
            path: path.into(),
            url: url.into(),
        }
    }

    #[test]
    fn reverse_mapping_table() {
        let rules = [
            rule("/app/", "http://127.0.0.1:9001/x/"),
            rule("/p", "http://127.0.0.1:9002"),
            rule("/abs/", "/internal/"),
            rule("/d/", "http://Member.test/"),
        ];
        let cases: &[(&str, Option<&str>)] = &[
            (
                "http://127.0.0.1:9001/x/y?z=1",
                Some("http://pub:8080/app/y?z=1"),
            ),
            ("HTTP://127.0.0.1:9001/x/", Some("http://pub:8080/app/")),
            ("http://127.0.0.1:9002/q", Some("http://pub:8080/p/q")),
            ("http://elsewhere/x/", None),
            ("http://other:1/internal/a", Some("http://pub:8080/abs/a")),
            ("/internal/b", Some("http://pub:8080/abs/b")),
            ("/other", None),
            ("http://member.test:80/k", Some("http://pub:8080/d/k")),
        ];
        for (value, want) in cases {
            assert_eq!(map(&rules, value, "pub:8080").as_deref(), *want, "{value}");
        }
    }

    fn cookie(internal: &str, public: &str) -> CookieRule {
        CookieRule {
            internal: internal.into(),
            public: public.into(),
            origin: Origin {
                file: Arc::new("t.conf".into()),
                line: 1,
            },
        }
    }

    #[test]
    fn cookie_rules_replace_the_whole_attribute() {
        let paths = [cookie("/app", "/pub")];
        let domains = [cookie("internal.example", "public.example")];
        let cases: &[(&str, Option<&str>)] = &[
            (
                "a=b; Path=/app/sub; HttpOnly",
                Some("a=b; Path=/pub; HttpOnly"),
            ),
            ("a=b; path=/other", None),
            (
                "a=b; Domain=INTERNAL.example; path=/app",
                Some("a=b; Domain=public.example; path=/pub"),
            ),
            ("path=/app", None),
        ];
        for (v, want) in cases {
            assert_eq!(map_cookie(&paths, &domains, v).as_deref(), *want, "{v}");
        }
    }
}
