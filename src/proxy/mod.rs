//! Reverse-proxy routing: ProxyPass rules (with `!` exclusions and httpd's
//! prefix matching), the members they lead to, the headers sent each way, and
//! ProxyPassReverse.

pub mod forward;
pub mod reverse;
pub mod url;

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use crate::config::{Config, PassTarget};
use url::{decode_path, encode_path, parse_member_url, prefix_match, split_target, PathError};

/// A member: where requests go. For now every distinct `ProxyPass` URL is a
/// standalone member (balancers come with issue #3); `slot` is its member slot
/// in the scoreboard.
#[derive(Clone, Debug)]
pub struct Member {
    pub slot: usize,
    pub url: url::MemberUrl,
    pub host_header: String,
    /// Resolved at start-up; the first address is used.
    pub addrs: Vec<SocketAddr>,
    /// Socket I/O timeout: `timeout=`, else ProxyTimeout, else Timeout.
    pub timeout: Duration,
    /// Connect timeout: `connectiontimeout=`, else the I/O timeout.
    pub connect_timeout: Duration,
    pub retry: Duration,
    /// Initial status flags (scoreboard::flags).
    pub status: u32,
    pub keepalive: bool,
}

#[derive(Clone, Debug)]
enum RuleTarget {
    Exclude,
    /// Target URL as written and the member whose name covers it.
    Url {
        url: String,
        member: usize,
    },
}

#[derive(Clone, Debug)]
struct Rule {
    path: String,
    target: RuleTarget,
    nocanon: bool,
}

/// The routing table of one generation.
#[derive(Clone, Debug)]
pub struct Routes {
    rules: Vec<Rule>,
    pub members: Vec<Member>,
}

/// Where a request goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// No rule matched, or a `!` rule did: served locally (404 for now).
    Local,
    /// To `member`, with this origin-form target (path and query).
    Proxy { member: usize, target: String },
}

/// A request target that cannot be routed; `status` is the client's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteError {
    pub status: u16,
}

impl Routes {
    /// Builds the table from the configuration and resolves member host names.
    pub fn new(cfg: &Config) -> Result<Routes, String> {
        let io_timeout = cfg.proxy_timeout.unwrap_or(cfg.timeout);
        let mut members: Vec<Member> = Vec::new();
        let mut rules = Vec::new();
        for r in &cfg.proxy_pass {
            let target = match &r.target {
                PassTarget::Exclude => RuleTarget::Exclude,
                PassTarget::Url(u) => {
                    let parsed = parse_member_url(u).map_err(|e| format!("{}: {e}", r.origin))?;
                    // httpd shares a worker whose name is a prefix of this URL (reference §2.6).
                    let shared = members
                        .iter()
                        .filter(|m| {
                            parsed.name.starts_with(&m.url.name)
                                && m.url.authority_prefix() == parsed.authority_prefix()
                        })
                        .max_by_key(|m| m.url.name.len())
                        .map(|m| m.slot);
                    let member = match shared {
                        Some(i) => i,
                        None => {
                            let addrs = resolve(&parsed).map_err(|e| {
                                format!("{}: resolving {}: {e}", r.origin, parsed.name)
                            })?;
                            let timeout = r.params.timeout.unwrap_or(io_timeout);
                            members.push(Member {
                                slot: members.len(),
                                host_header: parsed.host_header(),
                                url: parsed,
                                addrs,
                                timeout,
                                connect_timeout: r.params.connection_timeout.unwrap_or(timeout),
                                retry: r.params.retry,
                                status: r.params.status,
                                keepalive: r.params.keepalive,
                            });
                            members.len() - 1
                        }
                    };
                    RuleTarget::Url {
                        url: u.clone(),
                        member,
                    }
                }
            };
            rules.push(Rule {
                path: r.path.clone(),
                target,
                nocanon: r.nocanon,
            });
        }
        Ok(Routes { rules, members })
    }

    /// Routes a request-target (origin-form or absolute-form).
    pub fn route(&self, request_target: &str) -> Result<Route, RouteError> {
        let (raw_path, query) = split_target(request_target);
        if !raw_path.starts_with('/') {
            return Ok(Route::Local);
        }
        let decoded = decode_path(raw_path).map_err(|e| RouteError {
            status: match e {
                PathError::BadEscape => 400,
                PathError::EncodedSlash => 404,
            },
        })?;
        for rule in &self.rules {
            let Some(n) = prefix_match(rule.path.as_bytes(), &decoded) else {
                continue;
            };
            let RuleTarget::Url { url, member } = &rule.target else {
                return Ok(Route::Local);
            };
            let mut full = url.clone();
            match rule
                .nocanon
                .then(|| prefix_match(rule.path.as_bytes(), raw_path.as_bytes()))
            {
                Some(Some(raw_n)) => full.push_str(&raw_path[raw_n..]),
                _ => encode_path(&decoded[n..], &mut full),
            }
            if let Some(q) = query {
                full.push('?');
                full.push_str(q);
            }
            return Ok(Route::Proxy {
                member: *member,
                target: origin_form(&full),
            });
        }
        Ok(Route::Local)
    }
}

/// The path-and-query of an absolute URL, `/` when it has none.
fn origin_form(full: &str) -> String {
    let rest = full.split_once("://").map_or(full, |(_, r)| r);
    match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => rest[i..].to_string(),
        Some(i) => format!("/{}", &rest[i..]),
        None => "/".to_string(),
    }
}

fn resolve(u: &url::MemberUrl) -> std::io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = (u.host.as_str(), u.port).to_socket_addrs()?.collect();
    if addrs.is_empty() {
        return Err(std::io::Error::other("no address"));
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(conf: &str) -> Routes {
        let cfg = crate::config::parse_str(
            &format!("Listen 127.0.0.1:0\n{conf}"),
            std::path::Path::new("/tmp/t.conf"),
            &[],
        )
        .unwrap();
        Routes::new(&cfg).unwrap()
    }

    #[test]
    fn rules_apply_in_order_with_exclusions() {
        let r = routes(
            "ProxyPass /app/static !\n\
             ProxyPass /app http://127.0.0.1:9001/x\n\
             ProxyPass / http://127.0.0.1:9002/\n",
        );
        let proxy = |m: usize, t: &str| Route::Proxy {
            member: m,
            target: t.to_string(),
        };
        assert_eq!(r.route("/app/static/a.css").unwrap(), Route::Local);
        assert_eq!(r.route("/app/y?q=1").unwrap(), proxy(0, "/x/y?q=1"));
        assert_eq!(r.route("/app").unwrap(), proxy(0, "/x"));
        assert_eq!(r.route("/application").unwrap(), proxy(1, "/application"));
        assert_eq!(r.route("/a%20b").unwrap(), proxy(1, "/a%20b"));
        assert_eq!(r.route("/a%2Fb").unwrap_err().status, 404);
        assert_eq!(r.route("/a%zz").unwrap_err().status, 400);
        assert_eq!(r.route("*").unwrap(), Route::Local);
    }

    #[test]
    fn trailing_slash_mismatch_is_reproduced() {
        let r = routes("ProxyPass /a http://127.0.0.1:9001/\n");
        assert_eq!(
            r.route("/a/x").unwrap(),
            Route::Proxy {
                member: 0,
                target: "//x".into()
            }
        );
    }

    #[test]
    fn members_sharing_a_prefix_are_one_member() {
        let r = routes(
            "ProxyPass /a http://127.0.0.1:9001/\n\
             ProxyPass /b http://127.0.0.1:9001/b/\n\
             ProxyPass /c http://127.0.0.1:9002/\n",
        );
        assert_eq!(r.members.len(), 2);
        assert_eq!(r.members[0].host_header, "127.0.0.1:9001");
    }
}
