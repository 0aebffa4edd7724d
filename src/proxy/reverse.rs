//! ProxyPassReverse (reference §2.8): a `Location`, `Content-Location` or `URI`
//! value that starts with a rule's URL gets that prefix replaced by the rule's
//! path, and a relative result is made absolute with the client's own Host.

use crate::config::ProxyPassReverseRule;

/// Maps `value`; None when no rule applies (the header is left as it is).
/// `host` is the client's Host header (or ServerName[:port] when it sent none).
pub fn map(rules: &[ProxyPassReverseRule], value: &str, host: &str) -> Option<String> {
    for rule in rules {
        let mapped = if rule.url.starts_with('/') {
            // A path-only rule is compared with the path of the value, whatever its host.
            let path = path_of(value);
            path.starts_with(rule.url.as_str())
                .then(|| format!("{}{}", rule.path, &path[rule.url.len()..]))
        } else {
            let n = rule.url.len();
            (value.len() >= n
                && value.is_char_boundary(n)
                && value[..n].eq_ignore_ascii_case(&rule.url))
            .then(|| format!("{}{}", rule.path, &value[n..]))
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

/// The path (and query) of an absolute URL, or the value itself when relative.
fn path_of(value: &str) -> &str {
    match value.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Origin;
    use std::sync::Arc;

    fn rule(path: &str, url: &str) -> ProxyPassReverseRule {
        ProxyPassReverseRule {
            path: path.into(),
            url: url.into(),
            interpolate: false,
            origin: Origin {
                file: Arc::new("t.conf".into()),
                line: 1,
            },
        }
    }

    #[test]
    fn reverse_mapping_table() {
        let rules = [
            rule("/app/", "http://127.0.0.1:9001/x/"),
            rule("/p", "http://127.0.0.1:9002"),
            rule("/abs/", "/internal/"),
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
        ];
        for (value, want) in cases {
            assert_eq!(map(&rules, value, "pub:8080").as_deref(), *want, "{value}");
        }
    }
}
