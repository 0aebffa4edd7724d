//! httpd's mod_access_compat (`Order`, `Allow from`, `Deny from`) and core's
//! `Satisfy`, as httpd 2.4 evaluates them next to mod_authz_core's `Require`.
//!
//! `Order` decides how the two lists combine (httpd's `check_dir_access`):
//! - `Deny,Allow` (the default): allowed unless a `Deny` matches, but an `Allow`
//!   that matches allows again;
//! - `Allow,Deny`: refused unless an `Allow` matches, and a matching `Deny`
//!   refuses again;
//! - `Mutual-failure`: allowed only when an `Allow` matches and no `Deny` does.
//!
//! httpd runs this check (its "access" phase) before `Require` (authorization):
//! with `Satisfy All` (the default) a request must pass both, with `Satisfy Any`
//! either. A section with no `Require` line grants as far as `Require` goes
//! (mod_authz_core: "granted (no directives)"). Checked on httpd 2.4 with
//! httpd-oracle (tests/access_compat.rs lists the cases).

use std::net::IpAddr;

use super::{in_domain, IpNet};

/// `Order`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Order {
    #[default]
    DenyAllow,
    AllowDeny,
    MutualFailure,
}

impl Order {
    /// `Order`'s single argument (case-insensitive, no blanks).
    pub fn parse(args: &[String]) -> Result<Order, String> {
        const MESSAGE: &str =
            "Order takes one argument, 'allow,deny', 'deny,allow', or 'mutual-failure'";
        match args {
            [a] => match a.to_ascii_lowercase().as_str() {
                "deny,allow" => Ok(Order::DenyAllow),
                "allow,deny" => Ok(Order::AllowDeny),
                "mutual-failure" => Ok(Order::MutualFailure),
                _ => Err(format!("{MESSAGE}, got '{a}'")),
            },
            _ => Err(MESSAGE.to_string()),
        }
    }
}

/// One `Allow from` / `Deny from` argument.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum From {
    All,
    Net(IpNet),
    /// A host or domain name (lower case): the client's forward-confirmed
    /// reverse DNS name is it or ends in `.name`.
    Host(String),
    /// `env=VAR` (set) or `env=!VAR` (not set): the request's environment as
    /// SetEnvIf left it (httpd runs SetEnvIf before the access checks and
    /// mod_env's SetEnv after them).
    Env {
        name: String,
        negated: bool,
    },
}

/// The arguments of `Allow` / `Deny` (`from` and one or more hosts); `what` is
/// the directive's name for messages.
pub fn from_line(what: &str, args: &[String]) -> Result<Vec<From>, String> {
    let Some((from, hosts)) = args.split_first().filter(|(_, rest)| !rest.is_empty()) else {
        return Err(format!(
            "{what} requires at least two arguments, 'from' followed by hostnames or \
             IP-address wildcards"
        ));
    };
    if !from.eq_ignore_ascii_case("from") {
        return Err(format!("{what} must be followed by 'from', got '{from}'"));
    }
    hosts.iter().map(|h| from_word(what, h)).collect()
}

fn from_word(what: &str, word: &str) -> Result<From, String> {
    let lower = word.to_ascii_lowercase();
    if lower.starts_with("env=") {
        let var = &word[4..];
        let (name, negated) = match var.strip_prefix('!') {
            Some(n) => (n, true),
            None => (var, false),
        };
        if name.is_empty() {
            return Err(format!("{what} from {word}: names no variable"));
        }
        return Ok(From::Env {
            name: name.to_string(),
            negated,
        });
    }
    if lower == "all" {
        return Ok(From::All);
    }
    // httpd: with a '/', it must be a network; else an address (also partial,
    // 10.1) if it parses as one, else a host name.
    if word.contains('/') || word.contains(':') {
        return IpNet::parse(word)
            .map(From::Net)
            .map_err(|m| format!("{what} from: {m}"));
    }
    if let Ok(net) = IpNet::parse(word) {
        return Ok(From::Net(net));
    }
    let name = lower.trim_end_matches('.');
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
    if !ok || name.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(format!(
            "{what} from: '{word}' is neither an IP address or network nor a host name"
        ));
    }
    Ok(From::Host(name.to_string()))
}

/// The mod_access_compat rules of a section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Compat {
    pub order: Order,
    pub allow: Vec<From>,
    pub deny: Vec<From>,
}

impl Compat {
    /// Whether some `Allow`/`Deny from env=` reads the request's environment.
    pub fn reads_env(&self) -> bool {
        self.allow
            .iter()
            .chain(&self.deny)
            .any(|f| matches!(f, From::Env { .. }))
    }

    /// [`Compat::allows_in`] for a request with an empty environment.
    pub fn allows(
        &self,
        client: IpAddr,
        host_of: &mut dyn FnMut(IpAddr) -> Option<String>,
    ) -> bool {
        self.allows_in(client, host_of, &crate::rules::env::Env::default())
    }

    /// Whether `client` passes (httpd's `check_dir_access`). `host_of` gives the
    /// client's forward-confirmed host name; it is asked only when a host rule is
    /// reached. `env`: the request's environment, for `env=` rules.
    pub fn allows_in(
        &self,
        client: IpAddr,
        host_of: &mut dyn FnMut(IpAddr) -> Option<String>,
        env: &crate::rules::env::Env,
    ) -> bool {
        let client = client.to_canonical();
        let mut host: Option<Option<String>> = None;
        let mut matches = |list: &[From]| {
            list.iter().any(|f| match f {
                From::All => true,
                From::Net(n) => n.contains(client),
                From::Host(name) => host
                    .get_or_insert_with(|| host_of(client))
                    .as_deref()
                    .is_some_and(|h| {
                        in_domain(name, &h.trim_end_matches('.').to_ascii_lowercase())
                    }),
                From::Env { name, negated } => env.is_set(name) != *negated,
            })
        };
        match self.order {
            Order::DenyAllow => !matches(&self.deny) || matches(&self.allow),
            Order::AllowDeny => matches(&self.allow) && !matches(&self.deny),
            Order::MutualFailure => matches(&self.allow) && !matches(&self.deny),
        }
    }
}

/// `Satisfy All|Any`.
pub fn satisfy_any(args: &[String]) -> Result<bool, String> {
    match args {
        [a] if a.eq_ignore_ascii_case("all") => Ok(false),
        [a] if a.eq_ignore_ascii_case("any") => Ok(true),
        _ => Err(format!(
            "Satisfy takes 'All' or 'Any', got '{}'",
            args.join(" ")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compat(order: &str, allow: &[&str], deny: &[&str]) -> Compat {
        let words = |l: &[&str]| -> Vec<String> {
            std::iter::once("from")
                .chain(l.iter().copied())
                .map(str::to_string)
                .collect()
        };
        Compat {
            order: Order::parse(&[order.to_string()]).unwrap(),
            allow: if allow.is_empty() {
                vec![]
            } else {
                from_line("Allow", &words(allow)).unwrap()
            },
            deny: if deny.is_empty() {
                vec![]
            } else {
                from_line("Deny", &words(deny)).unwrap()
            },
        }
    }

    /// (order, allow, deny, client, allowed): the rows httpd 2.4 gave
    /// (httpd-oracle, a server-status <Location> per row, requests from 127.0.0.1
    /// and 127.0.0.2).
    #[test]
    fn orders_as_httpd() {
        type Row<'a> = (&'a str, &'a [&'a str], &'a [&'a str], &'a str, bool);
        let rows: &[Row] = &[
            ("deny,allow", &["127.0.0.1"], &["all"], "127.0.0.1", true),
            ("deny,allow", &["127.0.0.1"], &["all"], "127.0.0.2", false),
            ("allow,deny", &["127.0.0.1"], &[], "127.0.0.1", true),
            ("allow,deny", &["127.0.0.1"], &[], "127.0.0.2", false),
            ("deny,allow", &[], &["127.0.0.2"], "127.0.0.1", true),
            ("deny,allow", &[], &["127.0.0.2"], "127.0.0.2", false),
            (
                "allow,deny",
                &["127.0.0.1"],
                &["127.0.0.1"],
                "127.0.0.1",
                false,
            ),
            (
                "mutual-failure",
                &["127"],
                &["127.0.0.2"],
                "127.0.0.1",
                true,
            ),
            (
                "mutual-failure",
                &["127"],
                &["127.0.0.2"],
                "127.0.0.2",
                false,
            ),
            ("allow,deny", &[], &[], "127.0.0.1", false),
            ("deny,allow", &["127.0.0.1"], &[], "127.0.0.2", true),
            (
                "Allow,Deny",
                &["127.0.0.0/255.0.0.0"],
                &["127.0.0.2/32"],
                "127.0.0.1",
                true,
            ),
            (
                "Allow,Deny",
                &["127.0.0.0/255.0.0.0"],
                &["127.0.0.2/32"],
                "127.0.0.2",
                false,
            ),
        ];
        for &(order, allow, deny, client, allowed) in rows {
            let c = compat(order, allow, deny);
            let got = c.allows(client.parse().unwrap(), &mut |_| None);
            assert_eq!(
                got, allowed,
                "Order {order}, Allow {allow:?}, Deny {deny:?}, {client}"
            );
        }
    }

    #[test]
    fn hosts_match_whole_labels() {
        let c = compat("deny,allow", &["example.com"], &["all"]);
        let name = |n: &'static str| move |_| Some(n.to_string());
        assert!(c.allows("10.0.0.1".parse().unwrap(), &mut name("www.example.com")));
        assert!(!c.allows("10.0.0.1".parse().unwrap(), &mut name("badexample.com")));
        assert!(!c.allows("10.0.0.1".parse().unwrap(), &mut |_| None));
    }

    /// `Allow from env=VAR` / `Deny from env=!VAR` read the environment.
    #[test]
    fn env_rules_read_the_request_environment() {
        let c = compat("deny,allow", &["env=LETIN"], &["all"]);
        assert!(c.reads_env());
        let mut env = crate::rules::env::Env::default();
        let client = "10.0.0.1".parse().unwrap();
        assert!(!c.allows_in(client, &mut |_| None, &env));
        env.set("letin", "1");
        assert!(c.allows_in(client, &mut |_| None, &env));
        let c = compat("allow,deny", &["all"], &["env=!GOOD"]);
        assert!(!c.allows_in(client, &mut |_| None, &crate::rules::env::Env::default()));
        env.set("GOOD", "");
        assert!(c.allows_in(client, &mut |_| None, &env));
        assert!(!compat("deny,allow", &["10.0.0.1"], &[]).reads_env());
    }

    #[test]
    fn refuses_what_httpd_refuses() {
        let s = |v: &[&str]| v.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        assert!(Order::parse(&s(&["deny,", "allow"])).is_err());
        assert!(Order::parse(&s(&["deny"])).is_err());
        assert!(from_line("Allow", &s(&["127.0.0.1"])).is_err());
        assert!(from_line("Allow", &s(&["to", "127.0.0.1"])).is_err());
        assert!(from_line("Allow", &s(&["from", "env="])).is_err());
        assert!(from_line("Allow", &s(&["from", "10.0.0.0/33"])).is_err());
        assert_eq!(
            from_line("Deny", &s(&["from", "Host.Example.", "10.1"])).unwrap(),
            vec![
                From::Host("host.example".into()),
                From::Net(IpNet::parse("10.1").unwrap())
            ]
        );
        assert!(satisfy_any(&s(&["any"])).unwrap());
        assert!(satisfy_any(&s(&["some"])).is_err());
    }
}
