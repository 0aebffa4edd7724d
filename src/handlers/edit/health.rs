//! Run-time changes to a member's health check (reference §6.2 `w_hm w_hi
//! w_hp w_hf w_hu w_he`, §5; issue #8): the method, interval, passes, fails,
//! uri and expression in the member slot, which the health checker reads at
//! every tick, so a change is followed from the next tick on.
//!
//! The rules, shared by the balancer-manager, `slotgate-top set` and the
//! BalancerPersist restore:
//!
//! * method: `NONE`, `TCP`, `OPTIONS`, `OPTIONS11`, `HEAD`, `HEAD11`, `GET`,
//!   `GET11` (any case; `CPING` is AJP only and refused). `NONE` and `TCP`
//!   clear the expression.
//! * interval: at least 100 ms; a bare number is in the caller's default
//!   unit ([`parse_hc_interval`]: milliseconds for the manager's `w_hi`, as
//!   httpd, seconds for slotgate-top's `hcinterval=`, as the configuration),
//!   or `500ms`, `2s`, `1mi`, `1hr`.
//! * passes, fails: at least 1.
//! * uri: at most 63 bytes, no spaces or control characters; empty clears it.
//! * expression: the name of a `ProxyHCExpr` (at most 15 bytes), stored in the
//!   definition's spelling; empty clears it. When the caller has the
//!   configuration (the manager; slotgate-top with `-f`), the name must be
//!   defined; without it (slotgate-top given only the scoreboard file) any
//!   name is accepted and the checker reports an unknown one as a failed
//!   check (`no ProxyHCExpr NAME`). A name given without a method while the
//!   member's method is NONE or TCP is refused (it would be dropped).
//!
//! [`set_health`] checks every field before it writes any. A change of
//! method starts the pass/fail counters afresh; `C` is left as it is (a
//! passing check or the manager's `w_status_C=0` clears it, as httpd).

use scoreboard::Scoreboard;

use super::{is_balancer_member, member_slot, EditError, EditResult};
use crate::config::{HcExprDef, HcMethod};

/// Longest `hcuri` in bytes (httpd's `hcuri[64]` with its NUL).
pub const MAX_HC_URI: usize = 63;
/// Longest `hcexpr` name in bytes (httpd's `hcexpr[16]` with its NUL).
pub const MAX_HC_EXPR: usize = 15;
/// The shortest `hcinterval` (httpd's watchdog tick).
pub const MIN_HC_INTERVAL_MS: u64 = 100;
/// The interval shown and saved for a slot that holds none (httpd's default).
pub const DEFAULT_HC_INTERVAL_MS: u32 = 30_000;

/// What a bare number means in [`parse_hc_interval`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntervalUnit {
    /// The manager's `w_hi` (httpd: `ap_timeout_parameter_parse(…, "ms")`).
    Millis,
    /// The configuration's `hcinterval=` (and slotgate-top's).
    Seconds,
}

/// A change of health-check settings: `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HealthChange {
    pub method: Option<HcMethod>,
    pub interval_ms: Option<u64>,
    pub passes: Option<u64>,
    pub fails: Option<u64>,
    pub uri: Option<String>,
    pub expr: Option<String>,
}

impl HealthChange {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == HealthChange::default()
    }
}

/// A member's health-check settings as the slot holds them, with the
/// defaults of an unset slot filled in (interval 30 s, counts 1).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HealthSettings {
    pub method: HcMethod,
    pub interval_ms: u32,
    pub passes: u32,
    pub fails: u32,
    pub uri: String,
    pub expr: String,
}

/// The settings of member slot `member` (which must be in use).
pub fn health_of(sb: &Scoreboard, member: usize) -> HealthSettings {
    let m = sb.member(member);
    let interval = match m.hc_interval_ms() {
        0 => DEFAULT_HC_INTERVAL_MS,
        ms => ms,
    };
    HealthSettings {
        method: HcMethod::from_code(m.hc_method()),
        interval_ms: interval,
        passes: m.hc_passes().max(1),
        fails: m.hc_fails().max(1),
        uri: m.hc_uri.get(),
        expr: m.hc_expr.get(),
    }
}

/// Whether `method` may have an expression (the HTTP methods).
pub fn takes_expr(method: HcMethod) -> bool {
    !matches!(method, HcMethod::None | HcMethod::Tcp | HcMethod::Cping)
}

/// The method names, in code order (`NONE` first).
pub fn hc_method_names() -> Vec<&'static str> {
    (0..HcMethod::COUNT)
        .map(|c| HcMethod::from_code(c).name())
        .collect()
}

/// `w_hm` / `hcmethod=`: a method name, without case.
pub fn parse_hc_method(value: &str) -> EditResult<HcMethod> {
    let value = value.trim();
    if let Some(m) = HcMethod::from_name(value) {
        return Ok(m);
    }
    let names = hc_method_names().join(", ");
    Err(EditError::Invalid(format!(
        "unknown hcmethod '{value}' (one of {names})"
    )))
}

/// `w_hi` / `hcinterval=`: a whole number with an optional unit `ms`, `s`,
/// `mi` or `hr` (any case; httpd's `ap_timeout_parameter_parse`), a bare
/// number in `unit`. Returns milliseconds, checked by [`check_hc_interval`].
pub fn parse_hc_interval(value: &str, unit: IntervalUnit) -> EditResult<u64> {
    let value = value.trim();
    let bad = || {
        EditError::Invalid(format!(
            "hcinterval must be a time such as 500ms, 2s or 1mi, got '{value}'"
        ))
    };
    let split = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (digits, suffix) = value.split_at(split);
    if digits.is_empty() {
        return Err(bad());
    }
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let factor = match suffix.to_ascii_lowercase().as_str() {
        "" => match unit {
            IntervalUnit::Millis => 1,
            IntervalUnit::Seconds => 1000,
        },
        "ms" => 1,
        "s" => 1000,
        "mi" => 60_000,
        "hr" => 3_600_000,
        _ => return Err(bad()),
    };
    let ms = n.checked_mul(factor).ok_or_else(bad)?;
    check_hc_interval(ms)?;
    Ok(ms)
}

/// An interval in milliseconds: 100 ms up to what the slot holds (~49 days).
pub fn check_hc_interval(ms: u64) -> EditResult<u32> {
    if ms < MIN_HC_INTERVAL_MS {
        return Err(EditError::Invalid(format!(
            "hcinterval must be at least {MIN_HC_INTERVAL_MS} ms, got {ms} ms"
        )));
    }
    u32::try_from(ms).map_err(|_| EditError::Invalid(format!("hcinterval of {ms} ms is too long")))
}

/// `hcpasses` / `hcfails`: 1 up to 2^31 - 1 (`what` names it in the error).
pub fn check_hc_count(what: &str, n: u64) -> EditResult<u32> {
    match u32::try_from(n) {
        Ok(n) if (1..=i32::MAX as u32).contains(&n) => Ok(n),
        _ => Err(EditError::Invalid(format!(
            "{what} must be a whole number of at least 1, got {n}"
        ))),
    }
}

/// [`check_hc_count`] of a decimal text.
pub fn parse_hc_count(what: &str, value: &str) -> EditResult<u32> {
    let n = value.trim().parse::<u64>().map_err(|_| {
        EditError::Invalid(format!(
            "{what} must be a whole number of at least 1, got '{value}'"
        ))
    })?;
    check_hc_count(what, n)
}

/// `hcuri`: at most [`MAX_HC_URI`] bytes without spaces or control
/// characters (it goes into the probe's request line); empty is allowed.
pub fn check_hc_uri(uri: &str) -> EditResult {
    if uri.len() > MAX_HC_URI {
        return Err(EditError::Invalid(format!(
            "hcuri is longer than {MAX_HC_URI} bytes"
        )));
    }
    super::check_plain("hcuri", uri)
}

/// `hcexpr`: empty (no expression), or a name of at most [`MAX_HC_EXPR`]
/// bytes. With `exprs` (the configuration's `ProxyHCExpr`s) the name must be
/// one of them, matched without case; the result is the definition's
/// spelling. Without, any well-formed name is taken as given.
pub fn resolve_hc_expr(name: &str, exprs: Option<&[HcExprDef]>) -> EditResult<String> {
    let name = name.trim();
    if name.is_empty() {
        return Ok(String::new());
    }
    if name.len() > MAX_HC_EXPR || name.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(EditError::Invalid(format!(
            "hcexpr '{}' is not a ProxyHCExpr name (at most {MAX_HC_EXPR} bytes, no spaces)",
            name.escape_debug()
        )));
    }
    let Some(exprs) = exprs else {
        return Ok(name.to_string());
    };
    match exprs.iter().find(|d| d.name.eq_ignore_ascii_case(name)) {
        Some(def) => Ok(def.name.clone()),
        None => {
            let known: Vec<&str> = exprs.iter().map(|d| d.name.as_str()).collect();
            Err(EditError::Invalid(format!(
                "hcexpr {name} names no ProxyHCExpr ({})",
                if known.is_empty() {
                    "none is defined".to_string()
                } else {
                    format!("defined: {}", known.join(", "))
                }
            )))
        }
    }
}

/// A checked change, ready to be written.
struct Checked {
    method: HcMethod,
    interval: Option<u32>,
    passes: Option<u32>,
    fails: Option<u32>,
    expr: Option<String>,
}

/// Whether [`set_health`] would take `change`, without writing anything.
pub fn check_health(
    sb: &Scoreboard,
    member: usize,
    change: &HealthChange,
    exprs: Option<&[HcExprDef]>,
) -> EditResult {
    check(sb, member, change, exprs).map(|_| ())
}

fn check(
    sb: &Scoreboard,
    member: usize,
    change: &HealthChange,
    exprs: Option<&[HcExprDef]>,
) -> EditResult<Checked> {
    let slot = member_slot(sb, member)?;
    if !is_balancer_member(sb, member) {
        return Err(EditError::Invalid(
            "only balancer members are health-checked".into(),
        ));
    }
    let interval = change.interval_ms.map(check_hc_interval).transpose()?;
    let passes = change
        .passes
        .map(|n| check_hc_count("hcpasses", n))
        .transpose()?;
    let fails = change
        .fails
        .map(|n| check_hc_count("hcfails", n))
        .transpose()?;
    if let Some(uri) = &change.uri {
        check_hc_uri(uri)?;
    }
    let method = change
        .method
        .unwrap_or_else(|| HcMethod::from_code(slot.hc_method()));
    let url = slot.url.get();
    let scheme = crate::url::after_socket(&url)
        .split_once("://")
        .and_then(|(s, _)| crate::url::Scheme::named(s));
    if let Some(why) = scheme.and_then(|s| method.misfit(&s)) {
        return Err(EditError::Invalid(why));
    }
    let expr = match &change.expr {
        Some(name) => Some(resolve_hc_expr(name, exprs)?),
        None => None,
    };
    let expr = if takes_expr(method) {
        expr
    } else {
        match (change.method, expr) {
            // NONE and TCP clear the expression (reference §6.2).
            (Some(_), _) => Some(String::new()),
            (None, Some(name)) if !name.is_empty() => {
                return Err(EditError::Invalid(format!(
                    "hcexpr needs an HTTP hcmethod (OPTIONS, HEAD or GET); the member's is {}",
                    method.name()
                )))
            }
            (None, other) => other,
        }
    };
    Ok(Checked {
        method,
        interval,
        passes,
        fails,
        expr,
    })
}

/// Applies `change` to member slot `member` (a balancer member) after
/// checking every field (see the module comment for the rules and for
/// `exprs`). Nothing is written when a field is refused.
pub fn set_health(
    sb: &Scoreboard,
    member: usize,
    change: &HealthChange,
    exprs: Option<&[HcExprDef]>,
) -> EditResult {
    let Checked {
        method,
        interval,
        passes,
        fails,
        expr,
    } = check(sb, member, change, exprs)?;
    let slot = sb.member(member);

    // The checker reads the slot concurrently: a check being switched on
    // gets its method last (so it never runs with the old uri or interval),
    // one being switched off first.
    let method_changed = change.method.is_some_and(|m| m.code() != slot.hc_method());
    if method_changed && method == HcMethod::None {
        slot.set_hc_method(method.code());
    }
    if let Some(ms) = interval {
        slot.set_hc_interval_ms(ms);
    }
    if let Some(n) = passes {
        slot.set_hc_passes(n);
    }
    if let Some(n) = fails {
        slot.set_hc_fails(n);
    }
    if let Some(uri) = &change.uri {
        slot.hc_uri.set(uri);
    }
    if let Some(name) = &expr {
        slot.hc_expr.set(name);
    }
    if method_changed {
        // Counts of another kind of check do not carry over.
        slot.set_hc_pcount(0);
        slot.set_hc_fcount(0);
        slot.set_hc_method(method.code());
        log::info!(
            "member {}: health check {}",
            slot.url.get(),
            if method == HcMethod::None {
                "off (hcmethod NONE)".to_string()
            } else {
                format!("hcmethod {}", method.name())
            }
        );
    }
    Ok(())
}

/// `w_hm` alone.
pub fn set_hc_method(sb: &Scoreboard, member: usize, method: HcMethod) -> EditResult {
    let change = HealthChange {
        method: Some(method),
        ..HealthChange::default()
    };
    set_health(sb, member, &change, None)
}

/// `w_hi` alone, in milliseconds.
pub fn set_hc_interval(sb: &Scoreboard, member: usize, ms: u64) -> EditResult {
    let change = HealthChange {
        interval_ms: Some(ms),
        ..HealthChange::default()
    };
    set_health(sb, member, &change, None)
}

/// `w_hp` alone.
pub fn set_hc_passes(sb: &Scoreboard, member: usize, n: u64) -> EditResult {
    let change = HealthChange {
        passes: Some(n),
        ..HealthChange::default()
    };
    set_health(sb, member, &change, None)
}

/// `w_hf` alone.
pub fn set_hc_fails(sb: &Scoreboard, member: usize, n: u64) -> EditResult {
    let change = HealthChange {
        fails: Some(n),
        ..HealthChange::default()
    };
    set_health(sb, member, &change, None)
}

/// `w_hu` alone.
pub fn set_hc_uri(sb: &Scoreboard, member: usize, uri: &str) -> EditResult {
    let change = HealthChange {
        uri: Some(uri.to_string()),
        ..HealthChange::default()
    };
    set_health(sb, member, &change, None)
}

/// `w_he` alone (see [`resolve_hc_expr`] for `exprs`).
pub fn set_hc_expr(
    sb: &Scoreboard,
    member: usize,
    name: &str,
    exprs: Option<&[HcExprDef]>,
) -> EditResult {
    let change = HealthChange {
        expr: Some(name.to_string()),
        ..HealthChange::default()
    };
    set_health(sb, member, &change, exprs)
}

/// The settings a member added at run time starts with: worker defaults
/// (no check, interval 30 s, counts 1, no uri or expression), whatever the
/// slot held before.
pub(super) fn reset_health(slot: &scoreboard::MemberSlot) {
    slot.set_hc_method(HcMethod::None.code());
    slot.set_hc_interval_ms(DEFAULT_HC_INTERVAL_MS);
    slot.set_hc_passes(1);
    slot.set_hc_fails(1);
    slot.hc_uri.clear();
    slot.hc_expr.clear();
}

#[cfg(test)]
mod tests;
