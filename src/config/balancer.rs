//! Balancers (reference §2.4, §2.7): names, balancer parameters, `BalancerMember`, and the
//! registry that collects balancers from every context while the tree is built.
//!
//! A balancer comes into being in several ways, as in httpd: `<Proxy balancer://x>`,
//! `BalancerMember balancer://x URL` and a `ProxyPass … balancer://x/` all create it. Only
//! the first two *define* it (give it members); a balancer that a `ProxyPass` names but
//! nothing defines is an error at the end, at that `ProxyPass` line (httpd would start and
//! answer 503). Parameters apply in file order wherever they are written, so a later
//! `ProxySet` wins over an earlier `ProxyPass … lbmethod=…` and the other way round.

use super::health::Templates;
use super::params::{self, apply_worker_param};
use super::reader::Directive;
use super::values;
use super::{
    BalancerConfig, BalancerMemberConfig, BalancerParams, ConfigError, Origin, WorkerParams,
};

/// Longest balancer name httpd stores (`name[96]`, with the NUL), scheme included.
const MAX_BALANCER_NAME: usize = 96;
/// httpd's `sticky[64]` and `sticky_path[64]`.
const MAX_STICKY: usize = 64;
/// httpd's `nonce[37]` (a UUID and the NUL).
const MAX_NONCE: usize = 37;

/// The lbmethods slotgate implements.
const LBMETHODS: &[&str] = &super::lbmethod::Method::ALL;

/// Worker keys, for a hint when one is given as a balancer parameter.
const WORKER_KEYS: &[&str] = &[
    "loadfactor",
    "lbset",
    "route",
    "redirect",
    "status",
    "retry",
    "connectiontimeout",
    "disablereuse",
    "enablereuse",
    "keepalive",
    "ping",
    "min",
    "max",
    "smax",
    "ttl",
    "acquire",
];

/// For a URL that starts with `balancer://` (case-insensitive): the balancer's name
/// (`balancer://name`, lowercased) and the rest of the URL after the name, as written.
/// None for any other URL.
pub(crate) fn balancer_url(url: &str) -> Option<Result<(String, &str), String>> {
    const SCHEME: &str = "balancer://";
    let head = url.get(..SCHEME.len())?;
    if !head.eq_ignore_ascii_case(SCHEME) {
        return None;
    }
    let after = &url[SCHEME.len()..];
    let end = after.find('/').unwrap_or(after.len());
    let (name, rest) = after.split_at(end);
    Some(check_name(url, name).map(|full| (full, rest)))
}

fn check_name(url: &str, name: &str) -> Result<String, String> {
    if name.is_empty() {
        return Err(format!("no balancer name in '{url}'"));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
    {
        return Err(format!(
            "bad character '{bad}' in the balancer name of '{url}'"
        ));
    }
    let full = format!("balancer://{}", name.to_ascii_lowercase());
    if full.len() >= MAX_BALANCER_NAME {
        return Err(format!(
            "balancer name '{full}' is longer than {} bytes",
            MAX_BALANCER_NAME - 1
        ));
    }
    Ok(full)
}

/// Applies one balancer `key=value` (reference §2.4). The error has no directive prefix.
pub(crate) fn apply_balancer_param(
    params: &mut BalancerParams,
    key: &str,
    value: &str,
) -> Result<(), String> {
    let key = key.to_ascii_lowercase();
    let k = key.as_str();
    match k {
        "lbmethod" => {
            let method = value.to_ascii_lowercase();
            if !LBMETHODS.contains(&method.as_str()) {
                return Err(format!(
                    "unknown lbmethod '{value}'; valid methods are {}",
                    LBMETHODS.join(", ")
                ));
            }
            params.lbmethod = method;
            params.lbmethod_set = true;
        }
        "stickysession" => {
            // httpd: the part before the first '|' is the cookie name, the part after it
            // the URL-parameter name; one name is both. An empty value turns it off.
            if value.is_empty() {
                params.sticky_cookie = None;
                params.sticky_param = None;
                return Ok(());
            }
            let (cookie, param) = value.split_once('|').unwrap_or((value, value));
            for part in [cookie, param] {
                if part.is_empty() {
                    return Err(format!(
                        "stickysession: empty name in '{value}' (expected NAME or COOKIE|PARAM)"
                    ));
                }
                // httpd computes this error but does not return it, and truncates the
                // name (reference §9 #17); we refuse it.
                values::short_string(k, part, MAX_STICKY)?;
            }
            params.sticky_cookie = Some(cookie.to_string());
            params.sticky_param = Some(param.to_string());
        }
        "stickysessionsep" => {
            params.sticky_separator = match value.as_bytes() {
                [b] if b.is_ascii() => Some(*b),
                _ if value.eq_ignore_ascii_case("off") => None,
                _ => {
                    return Err(format!(
                        "stickysessionsep must be a single character or Off, got '{value}'"
                    ))
                }
            };
        }
        "scolonpathdelim" => params.scolon_path_delim = values::on_off(k, value)?,
        "nofailover" => params.nofailover = values::on_off(k, value)?,
        "failontimeout" => params.fail_on_timeout = values::on_off(k, value)?,
        "forcerecovery" => params.force_recovery = values::on_off(k, value)?,
        "maxattempts" => {
            params.max_attempts = Some(values::integer(k, value, 0, i64::from(i32::MAX))? as u32)
        }
        "timeout" => params.timeout = values::whole_seconds(k, value, 1)?,
        "growth" => params.growth = values::integer(k, value, 1, 100)? as u32,
        "hashkey" => params.hash_key = super::lbmethod::HashKey::parse(value)?,
        "failonstatus" => {
            let mut codes = Vec::new();
            for code in value.split([',', ' ']).filter(|c| !c.is_empty()) {
                match code.parse::<u16>() {
                    Ok(n)
                        if (100..=599).contains(&n) && code.bytes().all(|b| b.is_ascii_digit()) =>
                    {
                        codes.push(n)
                    }
                    _ => {
                        return Err(format!(
                            "failonstatus must be HTTP status codes (100 to 599) separated by \
                             commas or blanks, got '{code}' in '{value}'"
                        ))
                    }
                }
            }
            params.fail_on_status = codes;
        }
        "nonce" => {
            if value.eq_ignore_ascii_case("none") {
                params.nonce = Some(String::new());
            } else {
                values::short_string(k, value, MAX_NONCE)?;
                params.nonce = Some(value.to_string());
            }
        }
        _ if WORKER_KEYS.contains(&k) => {
            return Err(format!(
                "unknown Balancer parameter '{k}' ({k} is a BalancerMember parameter)"
            ))
        }
        _ => return Err(format!("unknown Balancer parameter '{k}'")),
    }
    Ok(())
}

/// Applies `key=value` words (from `ProxySet` or a `<Proxy>` line) to `params`. Every word
/// must be key=value; `what` prefixes the messages.
pub(crate) fn apply_balancer_words(
    params: &mut BalancerParams,
    words: &[String],
    d: &Directive,
    what: &str,
) -> Result<(), ConfigError> {
    for (key, value) in params::key_values(words, d, what)? {
        apply_balancer_param(params, key, value)
            .map_err(|m| ConfigError::at(&d.origin, format!("{what}: {m}")))?;
    }
    Ok(())
}

/// Parses `BalancerMember [balancer://name] URL [key=value…]`. `section` is the balancer
/// of the enclosing `<Proxy balancer://…>`, if any; outside one the line must name its
/// balancer. `hctemplate=` copies one of `templates`. Returns the balancer's name and the
/// member.
pub(crate) fn balancer_member(
    d: &Directive,
    section: Option<&str>,
    templates: &Templates,
) -> Result<(String, BalancerMemberConfig), ConfigError> {
    let fail = |m: String| ConfigError::at(&d.origin, format!("BalancerMember: {m}"));
    // As httpd: a word with '=' is a parameter, the others name balancer and member.
    let words: Vec<&String> = d.args.iter().filter(|a| !a.contains('=')).collect();
    let params = d.args.iter().filter_map(|a| a.split_once('='));
    let no_url = || fail("no member URL (expected BalancerMember URL [key=value…])".to_string());
    let (balancer, url) = match section {
        Some(name) => match words.as_slice() {
            [] => return Err(no_url()),
            [url] => (name.to_string(), url.as_str()),
            [first, ..] if balancer_url(first).is_some() => {
                return Err(fail(format!(
                    "inside <Proxy {name}> the balancer is the section's; \
                     write BalancerMember URL [key=value…]"
                )))
            }
            [_, extra, ..] => {
                return Err(fail(format!("parameters must be key=value, got '{extra}'")))
            }
        },
        None => match words.as_slice() {
            [] => return Err(no_url()),
            [only] => {
                return Err(match balancer_url(only) {
                    Some(_) => no_url(),
                    None => fail(
                        "outside <Proxy balancer://…> the balancer must be named: \
                         BalancerMember balancer://NAME URL [key=value…]"
                            .to_string(),
                    ),
                })
            }
            [first, url] => match balancer_url(first) {
                Some(parsed) => (parsed.map_err(&fail)?.0, url.as_str()),
                None => {
                    return Err(fail(format!(
                        "'{first}' is not a balancer name \
                         (expected BalancerMember balancer://NAME URL [key=value…])"
                    )))
                }
            },
            [_, _, extra, ..] => {
                return Err(fail(format!("parameters must be key=value, got '{extra}'")))
            }
        },
    };
    let mut member = BalancerMemberConfig {
        url: params::member_url_name(url).map_err(&fail)?,
        params: WorkerParams::member_default(),
        origin: d.origin.clone(),
    };
    for (key, value) in params {
        apply_worker_param(&mut member.params, key, value, templates).map_err(&fail)?;
    }
    Ok((balancer, member))
}

/// One balancer while the configuration is read.
#[derive(Debug)]
struct Entry {
    config: BalancerConfig,
    /// Where it was first defined (`<Proxy>` or `BalancerMember`); None while only a
    /// `ProxyPass` has named it.
    defined: Option<Origin>,
    /// The first `ProxyPass` / `ProxyPassMatch` that named it, and which of the two.
    first_pass: Option<(Origin, &'static str)>,
}

/// Every balancer named so far, in order of first mention.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    entries: Vec<Entry>,
}

impl Registry {
    fn index(&self, name: &str) -> Option<usize> {
        self.entries.iter().position(|e| e.config.name == name)
    }

    fn entry(&mut self, name: &str, origin: &Origin) -> &mut Entry {
        let i = match self.index(name) {
            Some(i) => i,
            None => {
                self.entries.push(Entry {
                    config: BalancerConfig {
                        name: name.to_string(),
                        params: BalancerParams::default(),
                        members: Vec::new(),
                        origin: origin.clone(),
                    },
                    defined: None,
                    first_pass: None,
                });
                self.entries.len() - 1
            }
        };
        &mut self.entries[i]
    }

    /// `<Proxy balancer://name>` or `BalancerMember balancer://name …` at `origin`: creates
    /// the balancer if needed and marks it defined.
    pub fn define(&mut self, name: &str, origin: &Origin) -> &mut BalancerParams {
        let entry = self.entry(name, origin);
        if entry.defined.is_none() {
            entry.defined = Some(origin.clone());
            entry.config.origin = origin.clone();
        }
        &mut entry.config.params
    }

    /// A `ProxyPass` to the balancer at `origin`: creates it if needed (not defined).
    pub fn named_by_pass(
        &mut self,
        name: &str,
        origin: &Origin,
        what: &'static str,
    ) -> &mut BalancerParams {
        let entry = self.entry(name, origin);
        entry
            .first_pass
            .get_or_insert_with(|| (origin.clone(), what));
        &mut entry.config.params
    }

    /// The parameters of a balancer named earlier (for `ProxySet balancer://…`).
    pub fn known(&mut self, name: &str) -> Option<&mut BalancerParams> {
        let i = self.index(name)?;
        Some(&mut self.entries[i].config.params)
    }

    /// Adds a member to a balancer (defining it). A URL that is already a member of the
    /// same balancer is an error (httpd would share the worker and ignore the later line's
    /// parameters).
    pub fn add_member(
        &mut self,
        name: &str,
        member: BalancerMemberConfig,
    ) -> Result<(), ConfigError> {
        let origin = member.origin.clone();
        self.define(name, &origin);
        let entry = self.entry(name, &origin);
        if let Some(earlier) = entry.config.members.iter().find(|m| m.url == member.url) {
            return Err(ConfigError::at(
                &origin,
                format!(
                    "BalancerMember: {} is already a member of {name} (at {})",
                    member.url, earlier.origin
                ),
            ));
        }
        entry.config.members.push(member);
        Ok(())
    }

    /// The balancers, once everything is read: every balancer a `ProxyPass` names must be
    /// defined, and every defined balancer must have a member.
    pub fn finish(self) -> Result<Vec<BalancerConfig>, ConfigError> {
        for e in &self.entries {
            if e.defined.is_none() {
                if let Some((pass, what)) = &e.first_pass {
                    return Err(ConfigError::at(
                        pass,
                        format!(
                            "{what}: {} is not defined (no <Proxy {0}> or BalancerMember {0} anywhere)",
                            e.config.name
                        ),
                    ));
                }
            }
        }
        for e in &self.entries {
            if let Some(defined) = &e.defined {
                if e.config.members.is_empty() {
                    return Err(ConfigError::at(
                        defined,
                        format!("{} has no BalancerMember", e.config.name),
                    ));
                }
            }
        }
        Ok(self
            .entries
            .into_iter()
            .filter(|e| e.defined.is_some())
            .map(|e| e.config)
            .collect())
    }
}
