//! Run-time changes to balancers and members, made directly in the shared
//! scoreboard: the one place the balancer-manager (HTML form, JSON API) and
//! `slotgate-top set …` change anything, so both follow the same rules
//! (reference §6.2–6.4, §3.2).
//!
//! Everything here works on the scoreboard alone (no configuration), so a tool
//! that only has the scoreboard file can use it; only the health-check
//! expression name ([`set_health`]) is checked against the configuration's
//! `ProxyHCExpr`s when the caller has them. Balancers are named as the
//! manager names them (`b`: the name with or without `balancer://`), members by
//! their URL (`w`); [`find_balancer`] and [`find_member`] turn names into slot
//! indexes.
//!
//! A change is visible to every worker at once: settings are read from the
//! slots on every request. Adding a member fills a free member slot completely
//! and bumps the balancer's `member_updated` stamp; workers adopt it on their
//! next use of the balancer (dynamic sync, reference §7.3).
//!
//! The caller persists the new state (`BalancerPersist On`) once its whole
//! change is applied: see [`super::persist::save_if_enabled`].

use std::fmt;

use scoreboard::{flags, MemberSlot, Scoreboard, NO_BALANCER};

use crate::config::lbmethod::Method;

mod health;
pub use health::*;

/// Longest route / redirect / sticky name, in bytes (httpd's `char [64]`
/// with its NUL).
pub const MAX_NAME: usize = 63;

/// The status letters the manager may change (reference §6.2): no `E`, which
/// only retry, forcerecovery or a health check clear.
pub const EDITABLE_FLAGS: [char; 7] = ['I', 'N', 'D', 'H', 'R', 'S', 'C'];

/// Why a change was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditError {
    /// No balancer of that name.
    NoBalancer(String),
    /// No member with that URL in the balancer.
    NoMember(String),
    /// A value out of range or malformed.
    Invalid(String),
    /// `add_member`: the URL is already a member of the balancer.
    Duplicate(String),
    /// `add_member`: no growth slot left (or no free member slot at all).
    NoFreeSlot(String),
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EditError::NoBalancer(b) => write!(f, "no balancer named {b}"),
            EditError::NoMember(w) => write!(f, "no member {w} in this balancer"),
            EditError::Invalid(why) => f.write_str(why),
            EditError::Duplicate(w) => write!(f, "{w} is already a member of this balancer"),
            EditError::NoFreeSlot(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for EditError {}

pub type EditResult<T = ()> = Result<T, EditError>;

// ---------------------------------------------------------------------------
// Lookups
// ---------------------------------------------------------------------------

/// `balancer://name` for `name` or `balancer://name` (scheme and name
/// compared without case, as the configuration lowercases them).
pub fn full_name(name: &str) -> String {
    let bare = name
        .get(..11)
        .filter(|p| p.eq_ignore_ascii_case("balancer://"))
        .map_or(name, |_| &name[11..]);
    format!(
        "balancer://{}",
        bare.trim_end_matches('/').to_ascii_lowercase()
    )
}

/// The name without `balancer://` (the manager's `b`).
pub fn short_name(full: &str) -> &str {
    full.strip_prefix("balancer://").unwrap_or(full)
}

/// The slot of the balancer in use named `name` (with or without
/// `balancer://`).
pub fn find_balancer(sb: &Scoreboard, name: &str) -> Option<usize> {
    let want = full_name(name);
    sb.balancers()
        .iter()
        .position(|b| b.in_use() && b.name.with(|n| n == want))
}

/// The balancer slots in use, in slot order.
pub fn balancers(sb: &Scoreboard) -> Vec<usize> {
    (0..sb.balancers().len())
        .filter(|&i| sb.balancer(i).in_use())
        .collect()
}

/// The member slots in use that belong to balancer slot `balancer`, in slot
/// order.
pub fn members_of(sb: &Scoreboard, balancer: usize) -> Vec<usize> {
    sb.members()
        .iter()
        .enumerate()
        .filter(|(_, m)| m.in_use() && m.balancer() as usize == balancer)
        .map(|(i, _)| i)
        .collect()
}

/// The member slot of `url` in balancer slot `balancer`: the stored URL as
/// written, or its normalised form (`HTTP://H:80/` finds `http://h/`).
pub fn find_member(sb: &Scoreboard, balancer: usize, url: &str) -> Option<usize> {
    let normal = normalise_url(url).ok();
    members_of(sb, balancer).into_iter().find(|&i| {
        sb.member(i)
            .url
            .with(|u| u == url || normal.as_deref() == Some(u))
    })
}

/// Both lookups at once: `(balancer slot, member slot)`.
pub fn find(sb: &Scoreboard, balancer: &str, member: &str) -> EditResult<(usize, usize)> {
    let b = find_balancer(sb, balancer).ok_or_else(|| EditError::NoBalancer(balancer.into()))?;
    let m = find_member(sb, b, member).ok_or_else(|| EditError::NoMember(member.into()))?;
    Ok((b, m))
}

/// The member's identity as the configuration writes it (reference §2.6):
/// scheme and host lowercased, a default port dropped. `http://`, `ws://`,
/// `ajp://`, `fcgi://`, `scgi://` and `uwsgi://` members can be added (a TLS
/// member needs settings only the configuration gives: `SSLProxyEngine`).
pub fn normalise_url(url: &str) -> EditResult<String> {
    let url = url.trim();
    check_plain("member URL", url)?;
    let parsed = crate::url::parse_member_url(url).map_err(EditError::Invalid)?;
    if !matches!(
        parsed.scheme.as_str(),
        "http" | "ws" | "ajp" | "fcgi" | "scgi" | "uwsgi"
    ) {
        return Err(EditError::Invalid(format!(
            "'{url}': scheme {} is not supported",
            parsed.scheme
        )));
    }
    if url.len() > MemberUrlCapacity::BYTES || url.contains(|c: char| c.is_whitespace()) {
        return Err(EditError::Invalid(format!(
            "'{url}' is not a valid member URL"
        )));
    }
    Ok(parsed.name)
}

struct MemberUrlCapacity;
impl MemberUrlCapacity {
    /// The member slot's URL capacity (SeqStr<48>).
    const BYTES: usize = 48 * 8;
}

fn balancer_index(sb: &Scoreboard, balancer: usize) -> EditResult<()> {
    if balancer < sb.balancers().len() && sb.balancer(balancer).in_use() {
        Ok(())
    } else {
        Err(EditError::NoBalancer(format!("slot {balancer}")))
    }
}

fn member_slot(sb: &Scoreboard, member: usize) -> EditResult<&MemberSlot> {
    if member < sb.members().len() && sb.member(member).in_use() {
        Ok(sb.member(member))
    } else {
        Err(EditError::NoMember(format!("slot {member}")))
    }
}

/// The method in force for a balancer slot (its `lbmethod`, byrequests when
/// empty or unknown).
pub fn method_of(sb: &Scoreboard, balancer: usize) -> Method {
    sb.balancer(balancer)
        .lbmethod
        .with(Method::from_name)
        .unwrap_or(Method::ByRequests)
}

// ---------------------------------------------------------------------------
// Member settings
// ---------------------------------------------------------------------------

/// `w_lf`: loadfactor 1..100 (two decimals). Every member of the balancer
/// then restarts with `lbstatus = lbfactor` (reference §3.2, "Reset").
pub fn set_loadfactor(sb: &Scoreboard, balancer: usize, member: usize, f: f64) -> EditResult {
    balancer_index(sb, balancer)?;
    let slot = member_slot(sb, member)?;
    if !(1.0..=100.0).contains(&f) || !f.is_finite() {
        return Err(EditError::Invalid(format!(
            "loadfactor must be from 1 to 100, got {f}"
        )));
    }
    slot.set_lbfactor((f * 100.0).round() as u32);
    let members = members_of(sb, balancer);
    let _guard = sb.balancer(balancer).lock();
    for i in members {
        let m = sb.member(i);
        m.set_lbstatus(i64::from(m.lbfactor()));
    }
    Ok(())
}

/// `w_ls`: lbset 0..99.
pub fn set_lbset(sb: &Scoreboard, member: usize, set: u32) -> EditResult {
    let slot = member_slot(sb, member)?;
    if set > 99 {
        return Err(EditError::Invalid(format!(
            "lbset must be from 0 to 99, got {set}"
        )));
    }
    slot.set_lbset(set);
    Ok(())
}

/// `w_wr`: the member's route; empty or longer than [`MAX_NAME`] clears it
/// (as httpd). Refused with a space or control character (see [`check_plain`]).
pub fn set_route(sb: &Scoreboard, member: usize, route: &str) -> EditResult {
    check_plain("route", route)?;
    let slot = member_slot(sb, member)?;
    slot.route.set(name_or_empty(route));
    Ok(())
}

/// `w_rr`: the member's redirect route; empty or too long clears it; refused
/// with a space or control character.
pub fn set_redirect(sb: &Scoreboard, member: usize, redirect: &str) -> EditResult {
    check_plain("redirect", redirect)?;
    let slot = member_slot(sb, member)?;
    slot.redirect.set(name_or_empty(redirect));
    Ok(())
}

/// A value set at run time (route, redirect, stickysession names, hcuri, a new
/// member's URL) holds no whitespace and no control character: it goes into
/// cookies, request lines, log lines, pages and slotgate-top's terminal, where
/// such a byte would split a header or drive the terminal. The message shows the
/// value escaped, never raw.
pub fn check_plain(what: &str, value: &str) -> EditResult {
    if value.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(EditError::Invalid(format!(
            "{what} '{}' contains a space or control character",
            crate::text::escape::controls(value)
        )));
    }
    Ok(())
}

fn name_or_empty(s: &str) -> &str {
    if s.len() > MAX_NAME {
        ""
    } else {
        s
    }
}

/// `w_status_X`: sets (`on`) or clears status flag `letter`, one of
/// [`EDITABLE_FLAGS`] (case-insensitive). A member that goes from unusable
/// to usable resets the balancer's lbmethod counters (reference §6.2).
pub fn set_status_flag(
    sb: &Scoreboard,
    balancer: usize,
    member: usize,
    letter: char,
    on: bool,
) -> EditResult {
    let upper = letter.to_ascii_uppercase();
    if !EDITABLE_FLAGS.contains(&upper) {
        return Err(EditError::Invalid(format!(
            "status flag {letter} cannot be changed (one of {})",
            editable_letters()
        )));
    }
    let bit = flags::from_letter(upper).expect("editable flags are known letters");
    change_status(sb, balancer, member, bit, on)
}

/// [`EDITABLE_FLAGS`] for messages: `I N D H R S C`.
pub fn editable_letters() -> String {
    let letters: Vec<String> = EDITABLE_FLAGS.iter().map(char::to_string).collect();
    letters.join(" ")
}

fn change_status(
    sb: &Scoreboard,
    balancer: usize,
    member: usize,
    bits: u32,
    on: bool,
) -> EditResult {
    balancer_index(sb, balancer)?;
    let slot = member_slot(sb, member)?;
    let before = slot.status();
    if on {
        slot.set_flags(bits);
    } else {
        slot.clear_flags(bits);
    }
    if !flags::is_usable(before) && slot.is_usable() {
        reset_counters(sb, balancer);
    }
    Ok(())
}

/// Disabled (D): no new request, sticky or not.
pub fn disable(sb: &Scoreboard, balancer: usize, member: usize) -> EditResult {
    change_status(sb, balancer, member, flags::DISABLED, true)
}

/// Back in service: clears D, S and N (disabled, stopped, draining).
pub fn enable(sb: &Scoreboard, balancer: usize, member: usize) -> EditResult {
    change_status(
        sb,
        balancer,
        member,
        flags::DISABLED | flags::STOPPED | flags::DRAIN,
        false,
    )
}

/// Draining (N): only requests whose sticky route names the member.
pub fn drain(sb: &Scoreboard, balancer: usize, member: usize) -> EditResult {
    change_status(sb, balancer, member, flags::DRAIN, true)
}

// ---------------------------------------------------------------------------
// Balancer settings
// ---------------------------------------------------------------------------

/// Resets the lbmethod counters of every member of the balancer
/// (`lbstatus` = 0, plus the method's own counters; never `busy`), under
/// the balancer lock.
pub fn reset_counters(sb: &Scoreboard, balancer: usize) {
    let rule = method_of(sb, balancer).rule();
    let members = members_of(sb, balancer);
    let _guard = sb.balancer(balancer).lock();
    for i in members {
        let m = sb.member(i);
        m.set_lbstatus(0);
        rule.reset(m);
    }
}

/// `b_lbm`: the lbmethod; a change resets the new method's counters.
pub fn set_lbmethod(sb: &Scoreboard, balancer: usize, name: &str) -> EditResult {
    balancer_index(sb, balancer)?;
    let method = Method::from_name(name).ok_or_else(|| {
        EditError::Invalid(format!(
            "unknown lbmethod '{name}' (one of {})",
            Method::ALL.join(", ")
        ))
    })?;
    let slot = sb.balancer(balancer);
    if slot.lbmethod.with(|m| m != method.name()) {
        slot.lbmethod.set(method.name());
        reset_counters(sb, balancer);
    }
    Ok(())
}

/// `b_tmo`: seconds to wait for a usable member, 0..7200.
pub fn set_timeout(sb: &Scoreboard, balancer: usize, secs: u64) -> EditResult {
    balancer_index(sb, balancer)?;
    if secs > 7200 {
        return Err(EditError::Invalid(format!(
            "timeout must be from 0 to 7200 seconds, got {secs}"
        )));
    }
    sb.balancer(balancer).set_timeout_ms(secs * 1000);
    Ok(())
}

/// `b_max`: maxattempts, 0..99.
pub fn set_maxattempts(sb: &Scoreboard, balancer: usize, n: u32) -> EditResult {
    balancer_index(sb, balancer)?;
    if n > 99 {
        return Err(EditError::Invalid(format!(
            "maxattempts must be from 0 to 99, got {n}"
        )));
    }
    sb.balancer(balancer).set_max_attempts(n);
    Ok(())
}

/// `b_sforce`: nofailover.
pub fn set_nofailover(sb: &Scoreboard, balancer: usize, on: bool) -> EditResult {
    balancer_index(sb, balancer)?;
    sb.balancer(balancer).set_nofailover(on);
    Ok(())
}

/// `b_ss`: `COOKIE|PARAM`, or one name for both; `-` or empty removes sticky
/// sessions. Each name shorter than 64 bytes.
pub fn set_sticky(sb: &Scoreboard, balancer: usize, value: &str) -> EditResult {
    balancer_index(sb, balancer)?;
    let value = value.trim();
    let (cookie, param) = if value.is_empty() || value == "-" {
        ("", "")
    } else {
        match value.split_once('|') {
            Some((c, p)) => (c.trim(), p.trim()),
            None => (value, value),
        }
    };
    for name in [cookie, param] {
        check_plain("stickysession name", name)?;
        if name.len() > MAX_NAME {
            return Err(EditError::Invalid(format!(
                "stickysession name '{name}' is longer than {MAX_NAME} bytes"
            )));
        }
        if name.contains([';', '=', ',']) {
            return Err(EditError::Invalid(format!(
                "stickysession name '{name}' is not a valid name"
            )));
        }
    }
    let slot = sb.balancer(balancer);
    slot.sticky.set(cookie);
    slot.sticky_path.set(param);
    Ok(())
}

/// `(cookie, param)` of the balancer's stickysession; empty strings when
/// unset.
pub fn sticky_of(sb: &Scoreboard, balancer: usize) -> (String, String) {
    let slot = sb.balancer(balancer);
    (slot.sticky.get(), slot.sticky_path.get())
}

/// The `b_ss` form of the sticky names: `A`, `A|B`, or empty.
pub fn sticky_display(sb: &Scoreboard, balancer: usize) -> String {
    match sticky_of(sb, balancer) {
        (c, p) if c.is_empty() && p.is_empty() => String::new(),
        (c, p) if c == p || p.is_empty() => c,
        (c, p) => format!("{c}|{p}"),
    }
}

// ---------------------------------------------------------------------------
// Adding members
// ---------------------------------------------------------------------------

/// Guards the choice of a free member slot against another process adding a
/// member at the same moment: the lock of balancer slot 0 (held only while
/// a slot is claimed; no other lock is taken under it).
fn membership_lock(sb: &Scoreboard) -> scoreboard::SpinGuard<'_> {
    sb.balancer(0).lock()
}

/// `b_nwrkr` + `b_wyes=1` (reference §6.4): `url` becomes a member of the
/// balancer in a free member slot, **disabled** (`Init Dis`), loadfactor 1,
/// lbset 0, no route or redirect, no health check (hcmethod NONE, the
/// other hc settings at their defaults), statistics zeroed. Refused when the
/// URL is bad, already a member, or the balancer already holds its
/// `max_members` (configured members + `growth`). Returns the member slot.
///
/// The balancer's `member_updated` stamp is bumped last, so a worker that
/// sees the new stamp sees the whole slot.
pub fn add_member(sb: &Scoreboard, balancer: usize, url: &str) -> EditResult<usize> {
    balancer_index(sb, balancer)?;
    let name = normalise_url(url)?;
    let b = sb.balancer(balancer);
    let slot = {
        let _guard = membership_lock(sb);
        let members = members_of(sb, balancer);
        if members
            .iter()
            .any(|&i| sb.member(i).url.with(|u| u == name))
        {
            return Err(EditError::Duplicate(name));
        }
        let max = b.max_members() as usize;
        if members.len() >= max {
            return Err(EditError::NoFreeSlot(format!(
                "{} has no free slot: {} of {max} used (raise growth=)",
                b.name.get(),
                members.len()
            )));
        }
        let free = (0..sb.members().len())
            .find(|&i| !sb.member(i).in_use())
            .ok_or_else(|| EditError::NoFreeSlot("no free member slot in the scoreboard".into()))?;
        let m = sb.member(free);
        m.reset_stats();
        m.url.set(&name);
        m.route.clear();
        m.redirect.clear();
        m.set_lbfactor(100);
        m.set_lbset(0);
        health::reset_health(m);
        m.set_status(flags::INIT | flags::DISABLED);
        m.set_balancer(balancer as u32);
        m.set_added(true);
        m.set_in_use(true);
        free
    };
    b.bump_member_updated();
    log::info!(
        "{}: member {name} added (slot {slot}, disabled)",
        b.name.get()
    );
    Ok(slot)
}

/// Whether the member slot belongs to a balancer (not a standalone worker).
pub fn is_balancer_member(sb: &Scoreboard, member: usize) -> bool {
    sb.member(member).balancer() != NO_BALANCER
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::testutil::Board;

    fn board() -> Board {
        // balancer://app with members a (lf 1), b (lf 4) and room for 1 more.
        Board::new(&[("app", &["http://a:1", "http://b:2"], 1)])
    }

    #[test]
    fn runtime_values_refuse_whitespace_and_control_characters() {
        let t = board();
        let sb = &t.sb;
        set_route(sb, 0, "r1").unwrap();
        for bad in [
            "\u{1b}[2J",
            "a b",
            "a\tb",
            "r\u{7f}",
            "r\u{9b}1m",
            "x\r\nSet-Cookie: y",
        ] {
            let err = set_route(sb, 0, bad).unwrap_err().to_string();
            assert!(err.contains("control character"), "{err}");
            assert!(!err.contains(char::is_control), "{err:?}");
            assert!(set_redirect(sb, 0, bad).is_err(), "{bad:?}");
            assert!(set_sticky(sb, 0, bad).is_err(), "{bad:?}");
            assert!(set_hc_uri(sb, 0, bad).is_err(), "{bad:?}");
            assert!(
                add_member(sb, 0, &format!("http://c:3/{bad}")).is_err(),
                "{bad:?}"
            );
        }
        assert_eq!(sb.member(0).route.get(), "r1");
        // Over-long stays httpd's way: cleared, not refused.
        set_route(sb, 0, &"r".repeat(MAX_NAME + 1)).unwrap();
        assert_eq!(sb.member(0).route.get(), "");
    }

    #[test]
    fn lookups() {
        let t = board();
        assert_eq!(find_balancer(&t.sb, "app"), Some(0));
        assert_eq!(find_balancer(&t.sb, "balancer://app"), Some(0));
        assert_eq!(find_balancer(&t.sb, "BALANCER://App/"), Some(0));
        assert_eq!(find_balancer(&t.sb, "other"), None);
        assert_eq!(find_member(&t.sb, 0, "http://a:1"), Some(0));
        assert_eq!(find_member(&t.sb, 0, "HTTP://B:2"), Some(1));
        assert_eq!(find_member(&t.sb, 0, "http://c:3"), None);
        assert_eq!(find(&t.sb, "app", "http://b:2"), Ok((0, 1)));
        assert!(matches!(
            find(&t.sb, "x", "http://b:2"),
            Err(EditError::NoBalancer(_))
        ));
        assert!(matches!(
            find(&t.sb, "app", "http://x"),
            Err(EditError::NoMember(_))
        ));
    }

    #[test]
    fn loadfactor_recomputes_lbstatus() {
        let t = board();
        t.sb.member(0).set_lbstatus(-300);
        t.sb.member(1).set_lbstatus(300);
        set_loadfactor(&t.sb, 0, 0, 2.5).unwrap();
        assert_eq!(t.sb.member(0).lbfactor(), 250);
        assert_eq!(t.sb.member(0).lbstatus(), 250);
        assert_eq!(t.sb.member(1).lbstatus(), 100);
        for bad in [0.0, 100.5, -1.0, f64::NAN] {
            assert!(set_loadfactor(&t.sb, 0, 0, bad).is_err(), "{bad}");
        }
        assert_eq!(t.sb.member(0).lbfactor(), 250);
        set_loadfactor(&t.sb, 0, 0, 100.0).unwrap();
        assert_eq!(t.sb.member(0).lbfactor(), 10000);
    }

    #[test]
    fn lbset_route_redirect() {
        let t = board();
        set_lbset(&t.sb, 1, 3).unwrap();
        assert_eq!(t.sb.member(1).lbset(), 3);
        assert!(set_lbset(&t.sb, 1, 100).is_err());
        set_route(&t.sb, 1, "node2").unwrap();
        set_redirect(&t.sb, 1, "node1").unwrap();
        assert_eq!(t.sb.member(1).route.get(), "node2");
        assert_eq!(t.sb.member(1).redirect.get(), "node1");
        set_route(&t.sb, 1, &"x".repeat(64)).unwrap();
        assert_eq!(t.sb.member(1).route.get(), "");
        set_redirect(&t.sb, 1, "").unwrap();
        assert_eq!(t.sb.member(1).redirect.get(), "");
    }

    #[test]
    fn status_flags_and_reenable_reset() {
        let t = board();
        t.sb.member(0).set_lbstatus(70);
        t.sb.member(1).set_lbstatus(-70);
        set_status_flag(&t.sb, 0, 1, 'D', true).unwrap();
        assert_eq!(flags::display(t.sb.member(1).status()), "Init Dis ");
        assert_eq!(t.sb.member(0).lbstatus(), 70, "disabling resets nothing");
        set_status_flag(&t.sb, 0, 1, 'd', false).unwrap();
        assert!(t.sb.member(1).is_usable());
        assert_eq!(t.sb.member(0).lbstatus(), 0, "re-enabling resets");
        for l in ['I', 'N', 'H', 'R', 'S', 'C'] {
            set_status_flag(&t.sb, 0, 0, l, true).unwrap();
            assert!(t.sb.member(0).status() & flags::from_letter(l).unwrap() != 0);
            set_status_flag(&t.sb, 0, 0, l, false).unwrap();
        }
        assert_eq!(flags::display(t.sb.member(0).status()), "Init Ok ");
        assert!(set_status_flag(&t.sb, 0, 0, 'E', false).is_err());
        assert!(set_status_flag(&t.sb, 0, 0, 'O', false).is_err());
        drain(&t.sb, 0, 0).unwrap();
        disable(&t.sb, 0, 0).unwrap();
        assert_eq!(flags::display(t.sb.member(0).status()), "Init Drn Dis ");
        enable(&t.sb, 0, 0).unwrap();
        assert_eq!(flags::display(t.sb.member(0).status()), "Init Ok ");
    }

    #[test]
    fn balancer_settings() {
        let t = board();
        t.sb.member(0).set_lbstatus(5);
        set_lbmethod(&t.sb, 0, "bybusyness").unwrap();
        assert_eq!(t.sb.balancer(0).lbmethod.get(), "bybusyness");
        assert_eq!(t.sb.member(0).lbstatus(), 0);
        assert!(set_lbmethod(&t.sb, 0, "roundrobin").is_err());
        for name in ["bylatency", "byload", "hash", "heartbeat"] {
            set_lbmethod(&t.sb, 0, name).unwrap();
            assert_eq!(t.sb.balancer(0).lbmethod.get(), name);
        }
        set_lbmethod(&t.sb, 0, "bybusyness").unwrap();
        set_timeout(&t.sb, 0, 30).unwrap();
        assert_eq!(t.sb.balancer(0).timeout_ms(), 30_000);
        assert!(set_timeout(&t.sb, 0, 7201).is_err());
        set_maxattempts(&t.sb, 0, 3).unwrap();
        assert_eq!(t.sb.balancer(0).max_attempts(), 3);
        assert!(set_maxattempts(&t.sb, 0, 100).is_err());
        set_nofailover(&t.sb, 0, true).unwrap();
        assert!(t.sb.balancer(0).nofailover());
        set_sticky(&t.sb, 0, "JSESSIONID|jsessionid").unwrap();
        assert_eq!(
            sticky_of(&t.sb, 0),
            ("JSESSIONID".into(), "jsessionid".into())
        );
        assert_eq!(sticky_display(&t.sb, 0), "JSESSIONID|jsessionid");
        set_sticky(&t.sb, 0, "S").unwrap();
        assert_eq!(sticky_display(&t.sb, 0), "S");
        set_sticky(&t.sb, 0, "-").unwrap();
        assert_eq!(sticky_display(&t.sb, 0), "");
        assert!(set_sticky(&t.sb, 0, &"x".repeat(64)).is_err());
    }

    #[test]
    fn add_member_into_growth_slot() {
        let t = board();
        let stamp = t.sb.balancer(0).member_updated();
        let slot = add_member(&t.sb, 0, "HTTP://New:8080/x").unwrap();
        let m = t.sb.member(slot);
        assert!(m.in_use());
        assert_eq!(m.url.get(), "http://new:8080/x");
        assert_eq!(m.balancer(), 0);
        assert!(m.added());
        assert_eq!(m.lbfactor(), 100);
        assert_eq!(flags::display(m.status()), "Init Dis ");
        assert_eq!(t.sb.balancer(0).member_updated(), stamp + 1);
        assert_eq!(find_member(&t.sb, 0, "http://new:8080/x"), Some(slot));
        // growth=1 is used up
        assert!(matches!(
            add_member(&t.sb, 0, "http://other:1"),
            Err(EditError::NoFreeSlot(_))
        ));
        assert!(matches!(
            add_member(&t.sb, 0, "http://a:1"),
            Err(EditError::Duplicate(_))
        ));
        assert!(matches!(
            add_member(&t.sb, 0, "nonsense"),
            Err(EditError::Invalid(_))
        ));
        assert!(matches!(
            add_member(&t.sb, 0, "ftp://h/"),
            Err(EditError::Invalid(_))
        ));
    }
}
