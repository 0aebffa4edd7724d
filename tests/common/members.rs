//! Reading balancers and members out of a running slotgate's scoreboard:
//! snapshots of member slots (`MemberView`), lookup by origin address, a
//! printable table for assertion messages, and bounded waits on a member's
//! state.

use super::{wait_for, Slotgate};
use scoreboard::{flags, Scoreboard, NO_BALANCER};
use std::time::Duration;

/// A copy of one member slot in use, taken at one moment.
#[derive(Clone, Debug)]
pub struct MemberView {
    /// Slot index.
    pub slot: usize,
    /// `balancer://name` of its balancer, None for a standalone worker.
    pub balancer: Option<String>,
    pub url: String,
    pub route: String,
    pub redirect: String,
    /// loadfactor × 100.
    pub lbfactor: u32,
    pub lbset: u32,
    pub status: u32,
    pub elected: u64,
    pub busy: i64,
    pub lbstatus: i64,
    pub transferred: u64,
    pub read: u64,
    pub errors: u64,
}

impl MemberView {
    /// httpd's status display, e.g. `Init Err `.
    pub fn display(&self) -> String {
        flags::display(self.status)
    }

    pub fn has(&self, bit: u32) -> bool {
        self.status & bit != 0
    }

    /// Whether the member URL names `addr` (`127.0.0.1:PORT`): the address
    /// appears in it and is not the start of a longer port number.
    pub fn names(&self, addr: &str) -> bool {
        url_names(&self.url, addr)
    }
}

/// Whether `url` contains `addr` not followed by another digit.
pub fn url_names(url: &str, addr: &str) -> bool {
    url.match_indices(addr).any(|(i, _)| {
        !url[i + addr.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    })
}

/// Every member slot in use, in slot order.
pub fn member_views(sb: &Scoreboard) -> Vec<MemberView> {
    let balancers = sb.balancers();
    sb.members()
        .iter()
        .enumerate()
        .filter(|(_, m)| m.in_use())
        .map(|(slot, m)| MemberView {
            slot,
            balancer: (m.balancer() != NO_BALANCER)
                .then(|| balancers.get(m.balancer() as usize).map(|b| b.name.get()))
                .flatten(),
            url: m.url.get(),
            route: m.route.get(),
            redirect: m.redirect.get(),
            lbfactor: m.lbfactor(),
            lbset: m.lbset(),
            status: m.status(),
            elected: m.elected(),
            busy: m.busy(),
            lbstatus: m.lbstatus(),
            transferred: m.transferred(),
            read: m.read(),
            errors: m.errors(),
        })
        .collect()
}

/// The member table as text, one member a line, for assertion messages.
pub fn member_table(sg: &Slotgate) -> String {
    let sb = match Scoreboard::attach_readonly(sg.scoreboard_path()) {
        Ok(sb) => sb,
        Err(e) => return format!("scoreboard unreadable: {e}"),
    };
    let mut out = String::from("\n");
    for m in member_views(&sb) {
        out.push_str(&format!(
            "  slot {} {} {} route={:?} redirect={:?} factor={} set={} status={:?} ({}) \
             elected={} busy={} lbstatus={} to={} from={} errors={}\n",
            m.slot,
            m.balancer.as_deref().unwrap_or("-"),
            m.url,
            m.route,
            m.redirect,
            m.lbfactor,
            m.lbset,
            m.display(),
            flags::letters(m.status),
            m.elected,
            m.busy,
            m.lbstatus,
            m.transferred,
            m.read,
            m.errors
        ));
    }
    out
}

/// The balancer member (not a standalone worker) whose URL names `addr`;
/// None if there is none. Panics if several do (the test's config is wrong).
pub fn find_member(sg: &Slotgate, addr: &str) -> Option<MemberView> {
    let found: Vec<MemberView> = member_views(&sg.scoreboard())
        .into_iter()
        .filter(|m| m.balancer.is_some() && m.names(addr))
        .collect();
    assert!(
        found.len() <= 1,
        "several balancer members name {addr}:{}",
        member_table(sg)
    );
    found.into_iter().next()
}

/// `find_member`, panicking with the member table if there is none.
pub fn member(sg: &Slotgate, addr: &str) -> MemberView {
    find_member(sg, addr).unwrap_or_else(|| {
        panic!(
            "no balancer member names {addr} in the scoreboard:{}",
            member_table(sg)
        )
    })
}

/// Waits (at most `timeout`) until the balancer member naming `addr` satisfies
/// `check`; panics with `what` and the member table otherwise.
pub fn wait_member(
    sg: &Slotgate,
    addr: &str,
    what: &str,
    timeout: Duration,
    check: impl Fn(&MemberView) -> bool,
) -> MemberView {
    wait_for(
        &format!("member {addr}: {what}"),
        timeout,
        || find_member(sg, addr).filter(|m| check(m)),
        || member_table(sg),
    )
}

/// Waits until the member naming `addr` is in error state (status has E).
pub fn wait_member_in_error(sg: &Slotgate, addr: &str) -> MemberView {
    wait_member(
        sg,
        addr,
        "in error state (E)",
        Duration::from_secs(5),
        |m| m.has(flags::ERROR),
    )
}

/// Index and name of every balancer slot in use.
pub fn balancer_names(sb: &Scoreboard) -> Vec<(usize, String)> {
    sb.balancers()
        .iter()
        .enumerate()
        .filter(|(_, b)| b.in_use())
        .map(|(i, b)| (i, b.name.get()))
        .collect()
}
