//! httpd's access control (mod_authz_core, mod_authz_host) for `<Location>`
//! sections: `Require all|ip|host|local`, `Require not …`, `<RequireAll>`,
//! `<RequireAny>`, `<RequireNone>`.
//!
//! Evaluation is httpd's tri-state one (`apply_authz_sections`): every rule gives
//! [`Decision::Granted`], [`Decision::Denied`] or [`Decision::Neutral`]; a provider
//! (`all`, `ip`, `host`, `local`) only grants or denies; `not` turns granted into
//! denied and denied into neutral (so a negated rule can never grant on its own);
//! `<RequireAll>` is denied by its first denied child, else granted when a child
//! granted, else neutral; `<RequireAny>` is granted by its first granted child, else
//! denied when a child denied, else neutral; `<RequireNone>` is a negated
//! `<RequireAny>`. Several `Require` lines directly in a section are an implicit
//! `<RequireAny>`. A request passes only when the whole gives `Granted`.
//!
//! The configuration checks are httpd's too: a negated rule (`Require not`,
//! `<RequireNone>`) in a `<RequireAny>`, a `<RequireNone>` or directly in the section
//! "has no effect" and is an error; a `<RequireAll>` of only negated rules, or any
//! of the three sections empty, is an error.
//!
//! The configuration builder walks the directive tree itself (so errors carry the
//! right file and line) with [`require_line`], [`section`] and [`top`];
//! [`Require::parse`] does the same for a small text, for tests and tools.

pub mod compat;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The access rules of a section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Require {
    /// `Require all granted` (true) / `Require all denied` (false).
    All(bool),
    /// `Require ip ADDR…`: granted when the client is in one of the networks.
    Ip(Vec<IpNet>),
    /// `Require host NAME…`: granted when the client's forward-confirmed reverse
    /// DNS name is one of the names or ends in `.NAME` (lower case, without a
    /// trailing dot).
    Host(Vec<String>),
    /// `Require local`: the client is a loopback address (127.0.0.0/8, ::1).
    Local,
    /// `Require not …`.
    Not(Box<Require>),
    /// `<RequireAll>`.
    AllOf(Vec<Require>),
    /// `<RequireAny>`, also the implicit section around several `Require` lines.
    AnyOf(Vec<Require>),
    /// `<RequireNone>`.
    NoneOf(Vec<Require>),
}

/// What a rule says about a client (httpd's `authz_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Granted,
    Denied,
    Neutral,
}

/// A network of `Require ip`: the client matches when `client & mask == net`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IpNet {
    V4 { net: u32, mask: u32 },
    V6 { net: u128, mask: u128 },
}

/// The three authorization sections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SectionKind {
    All,
    Any,
    None,
}

impl SectionKind {
    /// `RequireAll` → All, …; case-insensitive. None for any other name.
    pub fn from_name(name: &str) -> Option<SectionKind> {
        match name.to_ascii_lowercase().as_str() {
            "requireall" => Some(SectionKind::All),
            "requireany" => Some(SectionKind::Any),
            "requirenone" => Some(SectionKind::None),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SectionKind::All => "<RequireAll>",
            SectionKind::Any => "<RequireAny>",
            SectionKind::None => "<RequireNone>",
        }
    }

    /// Whether negated rules have an effect inside (httpd: only in an AND section).
    fn takes_negated(self) -> bool {
        self == SectionKind::All
    }
}

/// Where rules are being added: inside a section, or directly in the
/// `<Location>` (an implicit `<RequireAny>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parent {
    Top,
    Section(SectionKind),
}

impl Parent {
    fn takes_negated(self) -> bool {
        match self {
            Parent::Top => false,
            Parent::Section(kind) => kind.takes_negated(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Parent::Top => "<RequireAny>",
            Parent::Section(kind) => kind.name(),
        }
    }
}

/// httpd's providers that slotgate does not have (they need authentication,
/// request data or modules slotgate does not provide).
const UNSUPPORTED_PROVIDERS: &[&str] = &[
    "user",
    "group",
    "valid-user",
    "file-owner",
    "file-group",
    "env",
    "expr",
    "method",
    "forward-dns",
    "dbd-group",
    "dbd-login",
    "dbd-logout",
    "dbm-group",
    "ldap-user",
    "ldap-group",
    "ldap-dn",
    "ldap-attribute",
    "ldap-filter",
    "ldap-search",
];

/// One `Require` line (its arguments, without the word `Require`) added to `parent`.
pub fn require_line(args: &[String], parent: Parent) -> Result<Require, String> {
    let (negated, words) = match args.split_first() {
        None => return Err(
            "Require takes an authorization provider and its arguments (e.g. Require ip 127.0.0.1)"
                .to_string(),
        ),
        Some((first, rest)) if first.eq_ignore_ascii_case("not") => (true, rest),
        Some(_) => (false, args),
    };
    let Some((provider, values)) = words.split_first() else {
        return Err("Require not takes an authorization provider and its arguments".to_string());
    };
    let line = if negated { "Require not" } else { "Require" };
    let rule = match provider.to_ascii_lowercase().as_str() {
        "all" => match values {
            [v] if v.eq_ignore_ascii_case("granted") => Require::All(true),
            [v] if v.eq_ignore_ascii_case("denied") => Require::All(false),
            _ => {
                return Err(format!(
                    "{line} all: the argument must be 'granted' or 'denied', got '{}'",
                    values.join(" ")
                ))
            }
        },
        "ip" => {
            if values.is_empty() {
                return Err(format!("{line} ip takes one or more addresses or networks"));
            }
            let nets = values
                .iter()
                .map(|v| IpNet::parse(v).map_err(|m| format!("{line} ip: {m}")))
                .collect::<Result<Vec<_>, _>>()?;
            Require::Ip(nets)
        }
        "host" => {
            if values.is_empty() {
                return Err(format!(
                    "{line} host takes one or more host or domain names"
                ));
            }
            let mut names = Vec::with_capacity(values.len());
            for v in values {
                let name = v.trim_end_matches('.').to_ascii_lowercase();
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
                {
                    return Err(format!("{line} host: '{v}' is not a host or domain name"));
                }
                names.push(name);
            }
            Require::Host(names)
        }
        "local" => {
            if let Some(v) = values.first() {
                return Err(format!("{line} local takes no arguments, got '{v}'"));
            }
            Require::Local
        }
        p if UNSUPPORTED_PROVIDERS.contains(&p) => {
            return Err(format!(
                "{line} {provider} is not supported: slotgate has only the all, ip, host and \
                 local authorization providers"
            ))
        }
        _ => {
            return Err(format!(
                "{line}: unknown authorization provider '{provider}' (slotgate has all, ip, \
                 host and local)"
            ))
        }
    };
    if negated && !parent.takes_negated() {
        return Err(format!(
            "negative Require directive has no effect in {} directive{}",
            parent.name(),
            match parent {
                Parent::Top => {
                    " (several Require lines directly in a section are an implicit \
                     <RequireAny>; write <RequireAll> with a positive rule, e.g. \
                     Require all granted, and the Require not lines)"
                }
                _ => "",
            }
        ));
    }
    Ok(if negated {
        Require::Not(Box::new(rule))
    } else {
        rule
    })
}

/// A `<RequireAll|Any|None>` section with its rules (already built with
/// `Parent::Section(kind)`) added to `parent`.
pub fn section(kind: SectionKind, parent: Parent, rules: Vec<Require>) -> Result<Require, String> {
    if kind == SectionKind::None && !parent.takes_negated() {
        return Err(format!(
            "negative <RequireNone> directive has no effect in {} directive",
            parent.name()
        ));
    }
    if rules.is_empty() {
        return Err(format!(
            "{} directive contains no authorization directives",
            kind.name()
        ));
    }
    Ok(match kind {
        SectionKind::All => {
            if rules.iter().all(Require::is_negative) {
                return Err(format!(
                    "{} directive contains only negative authorization directives \
                     (they can only deny or stay neutral, never grant; add a positive rule, \
                     e.g. Require all granted)",
                    kind.name()
                ));
            }
            Require::AllOf(rules)
        }
        SectionKind::Any => Require::AnyOf(rules),
        SectionKind::None => Require::NoneOf(rules),
    })
}

/// The rules written directly in a `<Location>` (built with `Parent::Top`): None
/// when there are none, the rule itself when there is one, else their implicit
/// `<RequireAny>`.
pub fn top(mut rules: Vec<Require>) -> Option<Require> {
    match rules.len() {
        0 => None,
        1 => rules.pop(),
        _ => Some(Require::AnyOf(rules)),
    }
}

impl Require {
    /// Whether this rule is negative: `Require not` or `<RequireNone>`.
    pub fn is_negative(&self) -> bool {
        matches!(self, Require::Not(_) | Require::NoneOf(_))
    }

    /// Parses the access rules of a section body written as text: one `Require`
    /// line per line, `<RequireAll>` … `</RequireAll>` (and Any, None) nested, `#`
    /// comments; words are split at blanks (no quoting). Errors start with
    /// `line N: `. None when the text has no rule.
    pub fn parse(text: &str) -> Result<Option<Require>, String> {
        // A stack of open sections: (kind, line, rules so far); the bottom is the top level.
        let mut stack: Vec<(Option<SectionKind>, usize, Vec<Require>)> =
            vec![(None, 0, Vec::new())];
        let parent_of = |stack: &[(Option<SectionKind>, usize, Vec<Require>)]| match stack
            .last()
            .and_then(|s| s.0)
        {
            None => Parent::Top,
            Some(kind) => Parent::Section(kind),
        };
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let at = |m: String| format!("line {n}: {m}");
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix("</") {
                let name = name.trim_end_matches('>').trim();
                let (Some(kind), opened, rules) = stack.pop().expect("the top level stays") else {
                    return Err(at(format!("</{name}> without a matching <{name}>")));
                };
                if SectionKind::from_name(name) != Some(kind) {
                    return Err(at(format!(
                        "</{name}> closes {} opened at line {opened}",
                        kind.name()
                    )));
                }
                let rule = section(kind, parent_of(&stack), rules)
                    .map_err(|m| format!("line {opened}: {m}"))?;
                stack.last_mut().expect("the top level stays").2.push(rule);
            } else if let Some(name) = line.strip_prefix('<') {
                let name = name.trim_end_matches('>').trim();
                let Some(kind) = SectionKind::from_name(name) else {
                    return Err(at(format!("unknown section '<{name}>'")));
                };
                stack.push((Some(kind), n, Vec::new()));
            } else {
                let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
                if !words[0].eq_ignore_ascii_case("Require") {
                    return Err(at(format!("unknown directive '{}'", words[0])));
                }
                let rule = require_line(&words[1..], parent_of(&stack)).map_err(at)?;
                stack.last_mut().expect("the top level stays").2.push(rule);
            }
        }
        let (kind, opened, rules) = stack.pop().expect("the top level stays");
        if let Some(kind) = kind {
            return Err(format!("line {opened}: {} is not closed", kind.name()));
        }
        Ok(top(rules))
    }

    /// httpd's evaluation of this rule for `client`. `host_of` is called (at
    /// most once) only when a `Require host` rule is reached.
    pub fn decide(
        &self,
        client: IpAddr,
        host_of: &mut dyn FnMut(IpAddr) -> Option<String>,
    ) -> Decision {
        let client = client.to_canonical();
        let mut host: Option<Option<String>> = None;
        self.decide_with(client, &mut |ip| {
            host.get_or_insert_with(|| host_of(ip)).clone()
        })
    }

    fn decide_with(
        &self,
        client: IpAddr,
        host_of: &mut dyn FnMut(IpAddr) -> Option<String>,
    ) -> Decision {
        let granted = |yes: bool| {
            if yes {
                Decision::Granted
            } else {
                Decision::Denied
            }
        };
        match self {
            Require::All(yes) => granted(*yes),
            Require::Ip(nets) => granted(nets.iter().any(|n| n.contains(client))),
            Require::Local => granted(is_loopback(client)),
            Require::Host(names) => match host_of(client) {
                // httpd: no name (or only the address) → denied.
                None => Decision::Denied,
                Some(host) => {
                    let host = host.trim_end_matches('.').to_ascii_lowercase();
                    granted(names.iter().any(|n| in_domain(n, &host)))
                }
            },
            Require::Not(rule) => negate(rule.decide_with(client, host_of)),
            Require::AllOf(rules) => {
                let mut result = Decision::Neutral;
                for rule in rules {
                    match rule.decide_with(client, host_of) {
                        Decision::Denied => return Decision::Denied,
                        Decision::Granted => result = Decision::Granted,
                        Decision::Neutral => {}
                    }
                }
                result
            }
            Require::AnyOf(rules) => any_of(rules, client, host_of),
            Require::NoneOf(rules) => negate(any_of(rules, client, host_of)),
        }
    }

    /// Whether `client` may pass: the rules give [`Decision::Granted`] (denied and
    /// neutral both refuse, as in httpd). `host_of` gives the client's host name
    /// (use [`forward_confirmed_host`], behind a cache); it is called at most once,
    /// and only when a `Require host` rule is reached.
    pub fn allows(
        &self,
        client: IpAddr,
        host_of: &mut dyn FnMut(IpAddr) -> Option<String>,
    ) -> bool {
        self.decide(client, host_of) == Decision::Granted
    }

    /// Whether evaluating may need the client's host name.
    pub fn needs_host(&self) -> bool {
        match self {
            Require::Host(_) => true,
            Require::Not(rule) => rule.needs_host(),
            Require::AllOf(rules) | Require::AnyOf(rules) | Require::NoneOf(rules) => {
                rules.iter().any(Require::needs_host)
            }
            Require::All(_) | Require::Ip(_) | Require::Local => false,
        }
    }
}

fn any_of(
    rules: &[Require],
    client: IpAddr,
    host_of: &mut dyn FnMut(IpAddr) -> Option<String>,
) -> Decision {
    let mut result = Decision::Neutral;
    for rule in rules {
        match rule.decide_with(client, host_of) {
            Decision::Granted => return Decision::Granted,
            Decision::Denied => result = Decision::Denied,
            Decision::Neutral => {}
        }
    }
    result
}

fn negate(d: Decision) -> Decision {
    match d {
        Decision::Granted => Decision::Denied,
        Decision::Denied | Decision::Neutral => Decision::Neutral,
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.octets()[0] == 127,
        IpAddr::V6(v6) => v6 == Ipv6Addr::LOCALHOST,
    }
}

/// httpd's `in_domain`: `host` is `domain` or ends in it at a label boundary
/// (`example.com` matches `www.example.com`, not `badexample.com`; `.example.com`
/// matches `www.example.com`).
fn in_domain(domain: &str, host: &str) -> bool {
    let domain = domain.trim_start_matches('.');
    match host.strip_suffix(domain) {
        Some("") => true,
        Some(rest) => rest.ends_with('.'),
        None => false,
    }
}

impl IpNet {
    /// One argument of `Require ip`: an address (`10.1.2.3`, `2001:db8::1`), a
    /// partial IPv4 address (`10`, `10.1`, `10.1.2`, also with a trailing dot: the
    /// network of the given bytes), or either with `/bits` or (IPv4) `/netmask`.
    /// Host bits beyond the mask are cleared, as APR does.
    pub fn parse(text: &str) -> Result<IpNet, String> {
        let bad = || {
            format!(
                "'{text}' is not an IP address or network (10.1.2.3, 10.1, 10.0.0.0/8, \
                 10.0.0.0/255.0.0.0, 2001:db8::/32)"
            )
        };
        let (addr, mask) = match text.split_once('/') {
            Some((a, m)) => (a, Some(m)),
            None => (text, None),
        };
        if addr.contains(':') {
            let a: Ipv6Addr = addr.parse().map_err(|_| bad())?;
            let bits = match mask {
                None => 128,
                Some(m) => match m.parse::<u32>() {
                    Ok(b) if b <= 128 && m.bytes().all(|c| c.is_ascii_digit()) => b,
                    _ => return Err(format!("{}: an IPv6 mask must be 0 to 128 bits", bad())),
                },
            };
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            return Ok(IpNet::V6 {
                net: u128::from(a) & mask,
                mask,
            });
        }
        let (net, implied) = partial_v4(addr).ok_or_else(bad)?;
        let mask =
            match mask {
                None => implied,
                Some(m) if !m.is_empty() && m.bytes().all(|c| c.is_ascii_digit()) => {
                    match m.parse::<u32>() {
                        Ok(b) if b <= 32 => {
                            if b == 0 {
                                0
                            } else {
                                u32::MAX << (32 - b)
                            }
                        }
                        _ => return Err(format!("{}: an IPv4 mask must be 0 to 32 bits", bad())),
                    }
                }
                Some(m) => u32::from(m.parse::<Ipv4Addr>().map_err(|_| {
                    format!("{}: '{m}' is neither a bit count nor a netmask", bad())
                })?),
            };
        Ok(IpNet::V4 {
            net: net & mask,
            mask,
        })
    }

    /// Whether `client` (already canonical: a mapped address as IPv4) is in the
    /// network. An IPv4 network never matches an IPv6 client and the other way
    /// round.
    pub fn contains(&self, client: IpAddr) -> bool {
        match (self, client) {
            (IpNet::V4 { net, mask }, IpAddr::V4(c)) => u32::from(c) & mask == *net,
            (IpNet::V6 { net, mask }, IpAddr::V6(c)) => u128::from(c) & mask == *net,
            _ => false,
        }
    }
}

/// `a[.b[.c[.d]]][.]` → (address, mask of the given bytes).
fn partial_v4(text: &str) -> Option<(u32, u32)> {
    let text = match text.strip_suffix('.') {
        Some(t) if !t.is_empty() && !t.ends_with('.') => t,
        Some(_) => return None,
        None => text,
    };
    let mut net = 0u32;
    let mut count = 0;
    for part in text.split('.') {
        if count == 4
            || part.is_empty()
            || part.len() > 3
            || !part.bytes().all(|c| c.is_ascii_digit())
        {
            return None;
        }
        let byte: u8 = part.parse().ok()?;
        net |= u32::from(byte) << (24 - 8 * count);
        count += 1;
    }
    let mask = if count == 4 {
        u32::MAX
    } else {
        u32::MAX << (32 - 8 * count)
    };
    Some((net, mask))
}

/// The client's host name as httpd's `Require host` sees it (`REMOTE_DOUBLE_REV`):
/// the reverse DNS name of `ip`, kept only when a forward lookup of that name gives
/// `ip` back. None when either lookup fails or does not confirm. **Blocking**: it
/// asks the system resolver (getnameinfo, getaddrinfo); cache the answers.
pub fn forward_confirmed_host(ip: IpAddr) -> Option<String> {
    let ip = ip.to_canonical();
    let name = dns_lookup::lookup_addr(&ip).ok()?;
    // A resolver that answers with the address itself gave no name.
    if name.parse::<IpAddr>().is_ok() {
        return None;
    }
    let confirmed = dns_lookup::lookup_host(&name)
        .ok()?
        .any(|addr| addr.to_canonical() == ip);
    confirmed.then(|| name.trim_end_matches('.').to_ascii_lowercase())
}

#[cfg(test)]
mod tests;
