//! Admin commands: change balancer and member settings by writing the
//! scoreboard directly, so an operator can act when HTTP is unreachable.
//! Every worker reads these settings from the shared file, so a change takes
//! effect on the next request in all of them.
//!
//! ```text
//! slotgate-top -f CONF set balancer://b/http://host:port loadfactor=3 lbset=1
//! slotgate-top -f CONF set balancer://b http://host:port route=r1 status=+D
//! slotgate-top -f CONF set balancer://b lbmethod=bybusyness timeout=5 maxattempts=2
//! slotgate-top -f CONF set balancer://b/http://host:port hcmethod=GET hcinterval=500ms \
//!     hcpasses=2 hcfails=2 hcuri=/health hcexpr=ok
//! slotgate-top -f CONF disable|enable|drain balancer://b http://host:port
//! ```
//!
//! The health-check keys follow the configuration's (`hcinterval=` is in
//! seconds unless it has a unit, as in a `BalancerMember` line; the
//! manager's names `w_hm w_hi w_hp w_hf w_hu w_he` are accepted too, `w_hi`
//! in milliseconds as in the manager). They are applied together, with the
//! manager's rules (`slotgate::handlers::edit::set_health`): NONE and TCP
//! clear `hcexpr`. `hcexpr=` must name a `ProxyHCExpr` of the configuration
//! when it is given with `-f`; given only the scoreboard file, the tool
//! cannot know the expressions and takes the name as it is: the health
//! checker then reports an unknown name as a failed check (`no ProxyHCExpr
//! NAME`), which shows in the member's health result.
//!
//! This module parses and validates the command line and prints what
//! changed (old → new); the changes themselves are
//! `slotgate::handlers::edit`'s, the same operations the balancer manager
//! uses, and `slotgate::handlers::persist::save` saves them when
//! `BalancerPersist On` (the supervisor marks the balancer slots).
//!
//! Every value is checked before anything is written, so a command with one
//! bad setting changes nothing.

use scoreboard::{flags, Scoreboard};
use slotgate::config::lbmethod::Method;
use slotgate::config::{HcExprDef, HcMethod};
use slotgate::handlers::{edit, persist};
use std::path::Path;

/// One admin command from the command line.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `set balancer://b/MEMBER key=value…` or `set balancer://b MEMBER key=value…`.
    SetMember {
        balancer: String,
        member: String,
        changes: Vec<MemberChange>,
    },
    /// `set balancer://b key=value…`.
    SetBalancer {
        balancer: String,
        changes: Vec<BalancerChange>,
    },
    /// `disable|enable|drain balancer://b MEMBER` (or `balancer://b/MEMBER`).
    Status {
        action: Action,
        balancer: String,
        member: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Disable,
    Enable,
    Drain,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MemberChange {
    /// `loadfactor=` (1 to 100, up to two decimals, as httpd).
    LoadFactor(f64),
    /// `lbset=` (0 to 99).
    LbSet(u32),
    /// `route=` (empty clears it).
    Route(String),
    /// `redirect=` (empty clears it).
    Redirect(String),
    /// `status=+D-H…`: each flag letter set (`+`, or no sign) or cleared (`-`).
    Status(Vec<(char, bool)>),
    /// `hcmethod=` (NONE, TCP, OPTIONS, HEAD, GET and the …11 variants, CPING
    /// for AJP members).
    HcMethod(HcMethod),
    /// `hcinterval=`, in milliseconds (at least 100).
    HcInterval(u64),
    /// `hcpasses=` (at least 1).
    HcPasses(u32),
    /// `hcfails=` (at least 1).
    HcFails(u32),
    /// `hcuri=` (empty clears it).
    HcUri(String),
    /// `hcexpr=` (a `ProxyHCExpr` name; empty clears it).
    HcExpr(String),
}

impl MemberChange {
    /// The setting's name, as printed in the report.
    fn key(&self) -> &'static str {
        match self {
            MemberChange::LoadFactor(_) => "loadfactor",
            MemberChange::LbSet(_) => "lbset",
            MemberChange::Route(_) => "route",
            MemberChange::Redirect(_) => "redirect",
            MemberChange::Status(_) => "status",
            MemberChange::HcMethod(_) => "hcmethod",
            MemberChange::HcInterval(_) => "hcinterval",
            MemberChange::HcPasses(_) => "hcpasses",
            MemberChange::HcFails(_) => "hcfails",
            MemberChange::HcUri(_) => "hcuri",
            MemberChange::HcExpr(_) => "hcexpr",
        }
    }
}

/// The health-check changes among `changes`, merged into one.
fn health_change(changes: &[MemberChange]) -> edit::HealthChange {
    let mut hc = edit::HealthChange::default();
    for change in changes {
        match change {
            MemberChange::HcMethod(m) => hc.method = Some(*m),
            MemberChange::HcInterval(ms) => hc.interval_ms = Some(*ms),
            MemberChange::HcPasses(n) => hc.passes = Some(u64::from(*n)),
            MemberChange::HcFails(n) => hc.fails = Some(u64::from(*n)),
            MemberChange::HcUri(u) => hc.uri = Some(u.clone()),
            MemberChange::HcExpr(e) => hc.expr = Some(e.clone()),
            _ => {}
        }
    }
    hc
}

#[derive(Debug, Clone, PartialEq)]
pub enum BalancerChange {
    /// `lbmethod=` (any method name: byrequests, bytraffic, bybusyness, bylatency, byload, hash, heartbeat).
    LbMethod(String),
    /// `timeout=` in seconds (0 to 7200).
    Timeout(u64),
    /// `maxattempts=` (0 to 99).
    MaxAttempts(u32),
    /// `stickysession=COOKIE[|PARAM]` (`-` removes it).
    Sticky(String),
    /// `nofailover=On|Off`.
    NoFailover(bool),
}

impl BalancerChange {
    fn key(&self) -> &'static str {
        match self {
            BalancerChange::LbMethod(_) => "lbmethod",
            BalancerChange::Timeout(_) => "timeout",
            BalancerChange::MaxAttempts(_) => "maxattempts",
            BalancerChange::Sticky(_) => "stickysession",
            BalancerChange::NoFailover(_) => "nofailover",
        }
    }
}

/// Is `word` the first word of an admin command?
pub fn is_command(word: &str) -> bool {
    matches!(word, "set" | "disable" | "enable" | "drain")
}

/// Parses an admin command: `words[0]` is the command word (see
/// [`is_command`]), the rest its arguments.
pub fn parse(words: &[String]) -> Result<Command, String> {
    let (verb, args) = words
        .split_first()
        .ok_or_else(|| "no command".to_string())?;
    let (target, rest) = args
        .split_first()
        .ok_or_else(|| format!("{verb} needs a balancer://NAME"))?;
    let (balancer, mut member) = split_target(target)?;
    let mut rest: &[String] = rest;
    // A member URL may also come as its own word after the balancer.
    if member.is_none() {
        if let Some((word, tail)) = rest.split_first() {
            if !word.contains('=') || word.contains("://") {
                member = Some(member_url(word)?);
                rest = tail;
            }
        }
    }
    match verb.as_str() {
        "disable" | "enable" | "drain" => {
            let action = match verb.as_str() {
                "disable" => Action::Disable,
                "enable" => Action::Enable,
                _ => Action::Drain,
            };
            let member = member.ok_or_else(|| {
                format!("{verb} needs a member: {verb} {balancer} http://HOST:PORT")
            })?;
            if let Some(extra) = rest.first() {
                return Err(format!("{verb}: unexpected '{extra}'"));
            }
            Ok(Command::Status {
                action,
                balancer,
                member,
            })
        }
        "set" => {
            if rest.is_empty() {
                return Err(format!("set {target}: nothing to set (give KEY=VALUE)"));
            }
            match member {
                Some(member) => Ok(Command::SetMember {
                    balancer,
                    member,
                    changes: rest
                        .iter()
                        .map(|a| parse_member_change(a))
                        .collect::<Result<_, _>>()?,
                }),
                None => Ok(Command::SetBalancer {
                    balancer,
                    changes: rest
                        .iter()
                        .map(|a| parse_balancer_change(a))
                        .collect::<Result<_, _>>()?,
                }),
            }
        }
        other => Err(format!("unknown command '{other}'")),
    }
}

/// Applies `command` to the scoreboard at `path` and prints each change as
/// `old → new`. An unknown balancer or member is an error (exit 1).
/// `exprs`: the `ProxyHCExpr`s of the configuration given with `-f`, which
/// `hcexpr=` must name (`None` without a configuration: not checked).
pub fn run(command: &Command, path: &Path, exprs: Option<&[HcExprDef]>) -> Result<(), String> {
    let sb = attach_for_writing(path)?;
    let lines = apply(&sb, command, exprs)?;
    for line in &lines {
        println!("{}", crate::report::terminal_text(line));
    }
    // The supervisor marks the balancers when `BalancerPersist On`; save as
    // the manager does, but say where, and fail loudly (the change is made).
    if persist::enabled(&sb) {
        let file = persist::path_for(sb.path());
        persist::save(&sb, &file).map_err(|e| {
            format!(
                "changed, but not saved for BalancerPersist: writing {}: {e}",
                file.display()
            )
        })?;
        println!("saved to {} (BalancerPersist On)", file.display());
    }
    Ok(())
}

fn attach_for_writing(path: &Path) -> Result<Scoreboard, String> {
    if let Err(e) = std::fs::metadata(path) {
        return Err(format!("cannot open scoreboard {}: {e}", path.display()));
    }
    Scoreboard::attach(path).map_err(|e| {
        let msg = e.to_string();
        let shown = path.display().to_string();
        if msg.contains(&shown) {
            format!("cannot change the scoreboard: {msg}")
        } else {
            format!("cannot open scoreboard {shown} for writing: {msg}")
        }
    })
}

/// Applies `command`; returns the report lines (one per setting).
pub fn apply(
    sb: &Scoreboard,
    command: &Command,
    exprs: Option<&[HcExprDef]>,
) -> Result<Vec<String>, String> {
    let balancer_name = match command {
        Command::SetMember { balancer, .. }
        | Command::SetBalancer { balancer, .. }
        | Command::Status { balancer, .. } => balancer,
    };
    let b = edit::find_balancer(sb, balancer_name).ok_or_else(|| {
        let known: Vec<String> = edit::balancers(sb)
            .into_iter()
            .map(|i| sb.balancer(i).name.get())
            .collect();
        format!(
            "no balancer named {} (the scoreboard has {})",
            edit::full_name(balancer_name),
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        )
    })?;
    let name = sb.balancer(b).name.get();
    let find_member = |url: &str| {
        edit::find_member(sb, b, url).ok_or_else(|| {
            let known: Vec<String> = edit::members_of(sb, b)
                .into_iter()
                .map(|i| sb.member(i).url.get())
                .collect();
            format!(
                "no member {url} in {name} (its members: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )
        })
    };
    let failed = |e: edit::EditError| format!("{name}: {e}");
    let mut lines = Vec::new();
    match command {
        Command::SetMember {
            member, changes, ..
        } => {
            let m = find_member(member)?;
            let url = sb.member(m).url.get();
            // The health-check keys go in together (the method's rule on
            // the expression), checked before anything is written.
            let hc = health_change(changes);
            if !hc.is_empty() {
                edit::check_health(sb, m, &hc, exprs).map_err(failed)?;
            }
            let before: Vec<String> = changes.iter().map(|c| member_value(sb, m, c)).collect();
            for change in changes {
                match change {
                    MemberChange::LoadFactor(f) => edit::set_loadfactor(sb, b, m, *f),
                    MemberChange::LbSet(set) => edit::set_lbset(sb, m, *set),
                    MemberChange::Route(r) => edit::set_route(sb, m, r),
                    MemberChange::Redirect(r) => edit::set_redirect(sb, m, r),
                    MemberChange::Status(letters) => letters
                        .iter()
                        .try_for_each(|&(l, on)| edit::set_status_flag(sb, b, m, l, on)),
                    _ => Ok(()),
                }
                .map_err(failed)?;
            }
            if !hc.is_empty() {
                edit::set_health(sb, m, &hc, exprs).map_err(failed)?;
            }
            for (change, before) in changes.iter().zip(before) {
                let after = member_value(sb, m, change);
                lines.push(report_line(
                    &name,
                    Some(&url),
                    change.key(),
                    &before,
                    &after,
                ));
            }
        }
        Command::Status { action, member, .. } => {
            let m = find_member(member)?;
            let url = sb.member(m).url.get();
            let before = status_text(sb.member(m).status());
            match action {
                Action::Disable => edit::disable(sb, b, m),
                Action::Enable => edit::enable(sb, b, m),
                Action::Drain => edit::drain(sb, b, m),
            }
            .map_err(failed)?;
            let after = status_text(sb.member(m).status());
            lines.push(report_line(&name, Some(&url), "status", &before, &after));
        }
        Command::SetBalancer { changes, .. } => {
            for change in changes {
                let before = balancer_value(sb, b, change);
                match change {
                    BalancerChange::LbMethod(m) => edit::set_lbmethod(sb, b, m),
                    BalancerChange::Timeout(t) => edit::set_timeout(sb, b, *t),
                    BalancerChange::MaxAttempts(n) => edit::set_maxattempts(sb, b, *n),
                    BalancerChange::Sticky(s) => edit::set_sticky(sb, b, s),
                    BalancerChange::NoFailover(on) => edit::set_nofailover(sb, b, *on),
                }
                .map_err(failed)?;
                let after = balancer_value(sb, b, change);
                lines.push(report_line(&name, None, change.key(), &before, &after));
            }
        }
    }
    Ok(lines)
}

/// `balancer://b http://h:1: loadfactor 1 → 3`, or `… loadfactor 3 (unchanged)`.
fn report_line(
    balancer: &str,
    member: Option<&str>,
    key: &str,
    before: &str,
    after: &str,
) -> String {
    let whom = match member {
        Some(url) => format!("{balancer} {url}"),
        None => balancer.to_string(),
    };
    if before == after {
        format!("{whom}: {key} {after} (unchanged)")
    } else {
        format!("{whom}: {key} {before} → {after}")
    }
}

fn quoted_or_none(s: String) -> String {
    if s.is_empty() {
        "(none)".to_string()
    } else {
        s
    }
}

/// `Init Dis` (httpd's status words, without the trailing space).
fn status_text(bits: u32) -> String {
    flags::display(bits).trim_end().to_string()
}

fn member_value(sb: &Scoreboard, m: usize, change: &MemberChange) -> String {
    let slot = sb.member(m);
    match change {
        MemberChange::LoadFactor(_) => loadfactor_text(slot.lbfactor()),
        MemberChange::LbSet(_) => slot.lbset().to_string(),
        MemberChange::Route(_) => quoted_or_none(slot.route.get()),
        MemberChange::Redirect(_) => quoted_or_none(slot.redirect.get()),
        MemberChange::Status(_) => status_text(slot.status()),
        MemberChange::HcMethod(_) => edit::health_of(sb, m).method.name().to_string(),
        MemberChange::HcInterval(_) => format!("{}ms", edit::health_of(sb, m).interval_ms),
        MemberChange::HcPasses(_) => edit::health_of(sb, m).passes.to_string(),
        MemberChange::HcFails(_) => edit::health_of(sb, m).fails.to_string(),
        MemberChange::HcUri(_) => quoted_or_none(slot.hc_uri.get()),
        MemberChange::HcExpr(_) => quoted_or_none(slot.hc_expr.get()),
    }
}

/// lbfactor ×100 → "3", "2.5", "1.25".
fn loadfactor_text(x100: u32) -> String {
    let text = format!("{}.{:02}", x100 / 100, x100 % 100);
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn balancer_value(sb: &Scoreboard, b: usize, change: &BalancerChange) -> String {
    let slot = sb.balancer(b);
    match change {
        BalancerChange::LbMethod(_) => quoted_or_none(slot.lbmethod.get()),
        BalancerChange::Timeout(_) => format!("{}s", slot.timeout_ms() / 1000),
        BalancerChange::MaxAttempts(_) => slot.max_attempts().to_string(),
        BalancerChange::Sticky(_) => quoted_or_none(edit::sticky_display(sb, b)),
        BalancerChange::NoFailover(_) => if slot.nofailover() { "On" } else { "Off" }.to_string(),
    }
}

/// `balancer://b` → ("balancer://b", None); `balancer://b/http://h:1` →
/// ("balancer://b", Some("http://h:1")). A bare name `b` means `balancer://b`.
fn split_target(target: &str) -> Result<(String, Option<String>), String> {
    let rest = target.strip_prefix("balancer://").unwrap_or(target);
    let (name, member) = match rest.split_once('/') {
        Some((name, member)) => (name, Some(member)),
        None => (rest, None),
    };
    if name.is_empty() || name.contains(':') || name.contains('=') {
        return Err(format!("'{target}' is not balancer://NAME[/MEMBER-URL]"));
    }
    let member = match member {
        None | Some("") => None,
        Some(m) => Some(member_url(m)?),
    };
    Ok((format!("balancer://{name}"), member))
}

/// A member URL as given (`http://host:port`), checked for a scheme.
fn member_url(word: &str) -> Result<String, String> {
    match word.split_once("://") {
        Some((scheme, rest)) if !scheme.is_empty() && !rest.is_empty() => Ok(word.to_string()),
        _ => Err(format!(
            "'{word}' is not a member URL (like http://HOST:PORT)"
        )),
    }
}

fn key_value(arg: &str) -> Result<(String, &str), String> {
    let (key, value) = arg
        .split_once('=')
        .ok_or_else(|| format!("'{arg}' is not KEY=VALUE"))?;
    Ok((key.to_ascii_lowercase(), value))
}

fn parse_member_change(arg: &str) -> Result<MemberChange, String> {
    let (key, value) = key_value(arg)?;
    match key.as_str() {
        "loadfactor" | "lbfactor" | "w_lf" => parse_loadfactor(value).map(MemberChange::LoadFactor),
        "lbset" | "w_ls" => value
            .parse::<u32>()
            .ok()
            .filter(|s| *s <= 99)
            .map(MemberChange::LbSet)
            .ok_or_else(|| format!("lbset must be 0 to 99, not '{value}'")),
        "route" | "w_wr" => name_value(&key, value).map(MemberChange::Route),
        "redirect" | "w_rr" => name_value(&key, value).map(MemberChange::Redirect),
        "status" => parse_status(value).map(MemberChange::Status),
        "hcmethod" | "w_hm" => edit::parse_hc_method(value)
            .map(MemberChange::HcMethod)
            .map_err(|e| e.to_string()),
        "hcinterval" | "w_hi" => {
            let unit = if key == "w_hi" {
                edit::IntervalUnit::Millis
            } else {
                edit::IntervalUnit::Seconds
            };
            edit::parse_hc_interval(value, unit)
                .map(MemberChange::HcInterval)
                .map_err(|e| e.to_string())
        }
        "hcpasses" | "w_hp" => edit::parse_hc_count("hcpasses", value)
            .map(MemberChange::HcPasses)
            .map_err(|e| e.to_string()),
        "hcfails" | "w_hf" => edit::parse_hc_count("hcfails", value)
            .map(MemberChange::HcFails)
            .map_err(|e| e.to_string()),
        "hcuri" | "w_hu" => edit::check_hc_uri(value)
            .map(|()| MemberChange::HcUri(value.to_string()))
            .map_err(|e| e.to_string()),
        "hcexpr" | "w_he" => edit::resolve_hc_expr(value, None)
            .map(MemberChange::HcExpr)
            .map_err(|e| e.to_string()),
        "lbmethod" | "timeout" | "maxattempts" => Err(format!(
            "{key} is a balancer setting: set balancer://NAME {key}={value} (without a member)"
        )),
        _ => Err(format!(
            "unknown member setting '{key}' (loadfactor, lbset, route, redirect, status, \
             hcmethod, hcinterval, hcpasses, hcfails, hcuri, hcexpr)"
        )),
    }
}

fn parse_balancer_change(arg: &str) -> Result<BalancerChange, String> {
    let (key, value) = key_value(arg)?;
    match key.as_str() {
        "lbmethod" | "b_lbm" => {
            let m = value.to_ascii_lowercase();
            if Method::from_name(&m).is_some() {
                Ok(BalancerChange::LbMethod(m))
            } else {
                Err(format!(
                    "unknown lbmethod '{value}' ({})",
                    Method::ALL.join(", ")
                ))
            }
        }
        // The same ranges as slotgate::handlers::edit (which checks again).
        "timeout" | "b_tmo" => value
            .parse::<u64>()
            .ok()
            .filter(|t| *t <= 7200)
            .map(BalancerChange::Timeout)
            .ok_or_else(|| format!("timeout must be 0 to 7200 seconds, not '{value}'")),
        "maxattempts" | "b_max" => value
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= 99)
            .map(BalancerChange::MaxAttempts)
            .ok_or_else(|| format!("maxattempts must be 0 to 99, not '{value}'")),
        "stickysession" | "b_ss" => Ok(BalancerChange::Sticky(value.to_string())),
        "nofailover" | "b_sforce" => match value.to_ascii_lowercase().as_str() {
            "on" | "1" | "yes" | "true" => Ok(BalancerChange::NoFailover(true)),
            "off" | "0" | "no" | "false" => Ok(BalancerChange::NoFailover(false)),
            _ => Err(format!("nofailover must be On or Off, not '{value}'")),
        },
        "loadfactor" | "lbfactor" | "lbset" | "route" | "redirect" | "status" | "hcmethod"
        | "hcinterval" | "hcpasses" | "hcfails" | "hcuri" | "hcexpr" => Err(format!(
            "{key} is a member setting: set balancer://NAME/http://HOST:PORT {key}={value}"
        )),
        _ => Err(format!(
            "unknown balancer setting '{key}' (lbmethod, timeout, maxattempts, stickysession, nofailover)"
        )),
    }
}

/// A route or redirect: at most `edit::MAX_NAME` bytes (the manager would
/// silently clear a longer one, as httpd), no spaces; empty clears it.
fn name_value(key: &str, value: &str) -> Result<String, String> {
    if value.len() > edit::MAX_NAME {
        return Err(format!("{key} is longer than {} bytes", edit::MAX_NAME));
    }
    edit::check_plain(key, value).map_err(|e| e.to_string())?;
    Ok(value.to_string())
}

/// httpd's loadfactor: 1 to 100, at most two decimals.
fn parse_loadfactor(value: &str) -> Result<f64, String> {
    let bad = || format!("loadfactor must be 1 to 100 (two decimals at most), not '{value}'");
    let ok_digits = value.chars().all(|c| c.is_ascii_digit() || c == '.')
        && value.split('.').nth(1).is_none_or(|d| d.len() <= 2)
        && value.matches('.').count() <= 1;
    if !ok_digits {
        return Err(bad());
    }
    let f: f64 = value.parse().map_err(|_| bad())?;
    if (1.0..=100.0).contains(&f) {
        Ok(f)
    } else {
        Err(bad())
    }
}

/// `+D`, `-D`, `D`, `+D-H`, `-DS` (a sign applies to the letters after it
/// until the next sign; no sign means set).
fn parse_status(value: &str) -> Result<Vec<(char, bool)>, String> {
    let mut on = true;
    let mut out = Vec::new();
    for c in value.chars() {
        match c {
            '+' => on = true,
            '-' => on = false,
            c if edit::EDITABLE_FLAGS.contains(&c.to_ascii_uppercase()) => {
                out.push((c.to_ascii_uppercase(), on))
            }
            c => {
                let known: String = edit::EDITABLE_FLAGS.iter().collect();
                return Err(format!(
                    "status flag '{c}' in '{value}' cannot be set (one of {known}, with + or -)"
                ));
            }
        }
    }
    if out.is_empty() {
        return Err(format!("status needs flags like +D or -D, not '{value}'"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    fn ok(line: &str) -> Command {
        parse(&words(line)).unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    fn err(line: &str) -> String {
        match parse(&words(line)) {
            Ok(c) => panic!("{line}: parsed as {c:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn set_member_in_one_word_or_two() {
        let want = Command::SetMember {
            balancer: "balancer://b".to_string(),
            member: "http://h:8080".to_string(),
            changes: vec![MemberChange::LoadFactor(3.0)],
        };
        assert_eq!(ok("set balancer://b/http://h:8080 loadfactor=3"), want);
        assert_eq!(ok("set balancer://b http://h:8080 loadfactor=3"), want);
        assert_eq!(ok("set b/http://h:8080 loadfactor=3"), want);
    }

    #[test]
    fn member_settings() {
        let Command::SetMember { changes, .. } =
            ok("set balancer://b/http://h:1 lbfactor=2.5 lbset=1 route=r1 redirect= status=+D-H")
        else {
            panic!()
        };
        assert_eq!(
            changes,
            vec![
                MemberChange::LoadFactor(2.5),
                MemberChange::LbSet(1),
                MemberChange::Route("r1".to_string()),
                MemberChange::Redirect(String::new()),
                MemberChange::Status(vec![('D', true), ('H', false)]),
            ]
        );
    }

    #[test]
    fn health_check_settings() {
        let Command::SetMember { changes, .. } = ok(
            "set balancer://b/http://h:1 hcmethod=get hcinterval=500ms hcpasses=2 hcfails=3 \
             hcuri=/health hcexpr=ok",
        ) else {
            panic!()
        };
        assert_eq!(
            changes,
            vec![
                MemberChange::HcMethod(HcMethod::Get),
                MemberChange::HcInterval(500),
                MemberChange::HcPasses(2),
                MemberChange::HcFails(3),
                MemberChange::HcUri("/health".to_string()),
                MemberChange::HcExpr("ok".to_string()),
            ]
        );
        // hcinterval= is in seconds as in the configuration, w_hi in ms as
        // in the manager.
        let Command::SetMember { changes, .. } =
            ok("set balancer://b/http://h:1 hcinterval=2 w_hi=300 w_hm=TCP hcexpr= hcuri=")
        else {
            panic!()
        };
        assert_eq!(
            changes,
            vec![
                MemberChange::HcInterval(2000),
                MemberChange::HcInterval(300),
                MemberChange::HcMethod(HcMethod::Tcp),
                MemberChange::HcExpr(String::new()),
                MemberChange::HcUri(String::new()),
            ]
        );
        // CPING parses; applying it checks the member's scheme (AJP only), as
        // the balancer-manager does.
        let Command::SetMember { changes, .. } = ok("set balancer://b/ajp://h:1 hcmethod=CPING")
        else {
            panic!()
        };
        assert_eq!(changes, vec![MemberChange::HcMethod(HcMethod::Cping)]);
        assert!(err("set balancer://b/http://h:1 hcinterval=50ms").contains("at least 100"));
        assert!(err("set balancer://b/http://h:1 hcpasses=0").contains("hcpasses"));
        assert!(err("set balancer://b/http://h:1 hcfails=x").contains("hcfails"));
        assert!(err("set balancer://b/http://h:1 hcexpr=sixteen_chars_xx").contains("15 bytes"));
        assert!(err("set balancer://b hcmethod=GET").contains("member setting"));
    }

    #[test]
    fn balancer_settings() {
        assert_eq!(
            ok("set balancer://b lbmethod=ByBusyness timeout=5 maxattempts=2"),
            Command::SetBalancer {
                balancer: "balancer://b".to_string(),
                changes: vec![
                    BalancerChange::LbMethod("bybusyness".to_string()),
                    BalancerChange::Timeout(5),
                    BalancerChange::MaxAttempts(2),
                ],
            }
        );
        let Command::SetBalancer { changes, .. } =
            ok("set balancer://b stickysession=JSESSIONID|jsessionid nofailover=On")
        else {
            panic!()
        };
        assert_eq!(
            changes,
            vec![
                BalancerChange::Sticky("JSESSIONID|jsessionid".to_string()),
                BalancerChange::NoFailover(true),
            ]
        );
    }

    #[test]
    fn status_commands() {
        for (verb, action) in [
            ("disable", Action::Disable),
            ("enable", Action::Enable),
            ("drain", Action::Drain),
        ] {
            let want = Command::Status {
                action,
                balancer: "balancer://b".to_string(),
                member: "http://h:1".to_string(),
            };
            assert_eq!(ok(&format!("{verb} balancer://b http://h:1")), want);
            assert_eq!(ok(&format!("{verb} balancer://b/http://h:1")), want);
        }
    }

    #[test]
    fn status_letters() {
        assert_eq!(parse_status("+D").unwrap(), vec![('D', true)]);
        assert_eq!(parse_status("-d").unwrap(), vec![('D', false)]);
        assert_eq!(parse_status("D").unwrap(), vec![('D', true)]);
        assert_eq!(
            parse_status("-DS+N").unwrap(),
            vec![('D', false), ('S', false), ('N', true)]
        );
        assert!(parse_status("+").is_err());
        assert!(parse_status("+Z").unwrap_err().contains("'Z'"));
        // Error is only cleared by a retry or a health check.
        assert!(parse_status("-E").is_err());
    }

    #[test]
    fn loadfactors() {
        assert_eq!(parse_loadfactor("1").unwrap(), 1.0);
        assert_eq!(parse_loadfactor("100").unwrap(), 100.0);
        assert_eq!(parse_loadfactor("2.25").unwrap(), 2.25);
        for bad in ["0", "101", "2.125", "-1", "x", "", "1e1", "1.2.3", "0.5"] {
            assert!(parse_loadfactor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(err("set").contains("balancer://NAME"));
        assert!(err("set balancer://b").contains("nothing to set"));
        assert!(err("set balancer://b/http://h:1").contains("nothing to set"));
        assert!(err("set balancer://b/http://h:1 weight=3").contains("unknown member setting"));
        assert!(err("set balancer://b/http://h:1 timeout=3").contains("balancer setting"));
        assert!(err("set balancer://b loadfactor=3").contains("member setting"));
        assert!(err("set balancer://b lbmethod=random").contains("unknown lbmethod"));
        assert!(err("set balancer://b timeout=soon").contains("timeout"));
        assert!(err("set balancer://b timeout=7201").contains("timeout"));
        assert!(err("set balancer://b maxattempts=100").contains("maxattempts"));
        assert!(err("set balancer://b nofailover=maybe").contains("On or Off"));
        assert!(err("set balancer://b/http://h:1 lbset=100").contains("lbset"));
        let long = format!("set balancer://b/http://h:1 route={}", "r".repeat(64));
        assert!(err(&long).contains("longer than 63"));
        assert!(err("set balancer://b/http://h:1 loadfactor").contains("KEY=VALUE"));
        assert!(err("disable balancer://b").contains("needs a member"));
        assert!(err("disable balancer://b http://h:1 now").contains("unexpected"));
        assert!(err("drain balancer://b h:1").contains("not a member URL"));
        assert!(err("set balancer:///http://h:1 lbset=1").contains("not balancer://NAME"));
    }
}
