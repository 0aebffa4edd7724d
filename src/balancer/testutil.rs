//! Test fixtures: a real scoreboard file in the temp directory, members set
//! up slot by slot, and balancers over them.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use scoreboard::{flags, Layout, Scoreboard};

use super::{Balancer, BalancerSpec, Choice, MemberSpec, Method, StickyKeys};

/// The clock of every test (unix ms).
pub const NOW: u64 = 1_700_000_000_000;
/// `retry=` of every test member.
pub const RETRY_MS: u64 = 60_000;

/// A scoreboard file with one balancer slot (0) and `n` member slots,
/// removed when dropped.
pub struct Board {
    pub sb: Scoreboard,
    path: PathBuf,
}

impl Board {
    pub fn new(members: u32) -> Board {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "slotgate-balancer-test-{}-{}-{}.sb",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            scoreboard::unix_time_ms()
        ));
        let layout = Layout {
            processes: 1,
            balancers: 1,
            members,
        };
        let sb = Scoreboard::create(&path, layout).expect("create test scoreboard");
        let slot = sb.balancer(0);
        slot.set_in_use(true);
        slot.name.set("balancer://test");
        Board { sb, path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets up member slot `i` as `members[i]` and returns a balancer over
    /// them (member index == slot index).
    pub fn balancer(&self, method: Method, members: &[M]) -> Balancer {
        for (i, m) in members.iter().enumerate() {
            let slot = self.sb.member(i);
            slot.set_balancer(0);
            slot.url.set(&format!("http://{}", m.name));
            slot.set_lbfactor(m.loadfactor * 100);
            slot.set_lbset(m.lbset);
            slot.set_status(m.flags);
            slot.route.set(&m.route);
            slot.redirect.set(&m.redirect);
            slot.set_error_time(m.error_time);
            slot.set_in_use(true);
        }
        test_balancer(method, members.len())
    }

    /// A selection without sticky keys at [`NOW`]; panics if none.
    pub fn choose(&self, b: &Balancer) -> Choice {
        b.select(&self.sb, &NO_KEYS, NOW)
            .unwrap_or_else(|e| panic!("selection failed: {e}"))
    }

    /// The member's name (its URL without `http://`).
    pub fn name(&self, member: usize) -> String {
        let url = self.sb.member(member).url.get();
        url.trim_start_matches("http://").to_owned()
    }

    pub fn lbstatus(&self, n: usize) -> Vec<i64> {
        (0..n).map(|i| self.sb.member(i).lbstatus()).collect()
    }

    pub fn busy(&self, n: usize) -> Vec<i64> {
        (0..n).map(|i| self.sb.member(i).busy()).collect()
    }

    pub fn elected(&self, n: usize) -> Vec<u64> {
        (0..n).map(|i| self.sb.member(i).elected()).collect()
    }

    pub fn traffic(&self, n: usize) -> Vec<(u64, u64)> {
        (0..n)
            .map(|i| {
                let slot = self.sb.member(i);
                (slot.transferred(), slot.read())
            })
            .collect()
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A balancer over member slots `0..n` of balancer slot 0: no sticky
/// sessions, separator `.`, forcerecovery On, `retry` [`RETRY_MS`].
pub fn test_balancer(method: Method, n: usize) -> Balancer {
    Balancer {
        spec: BalancerSpec {
            name: "balancer://test".to_owned(),
            slot: 0,
            method,
            sticky_cookie: None,
            sticky_param: None,
            sticky_separator: Some(b'.'),
            scolon_path_delim: false,
            nofailover: false,
            max_attempts: n.saturating_sub(1),
            force_recovery: true,
            fail_on_status: Vec::new(),
            fail_on_timeout: false,
            hash_key: super::hash::HashKey::Ip,
        },
        members: (0..n)
            .map(|slot| MemberSpec {
                slot,
                retry_ms: RETRY_MS,
            })
            .collect(),
        hash_table: Default::default(),
    }
}

/// Sticky keys of a request without URL parameter or cookie.
pub const NO_KEYS: StickyKeys<'static> = StickyKeys {
    url: "/",
    cookie_headers: &[],
    headers: &[],
    client_ip: None,
};

/// One selection without sticky keys; returns the chosen member's name.
pub fn pick(board: &Board, b: &Balancer) -> String {
    board.name(board.choose(b).member)
}

/// A member to set up: name, loadfactor (1..100), lbset, status flags
/// (default `INIT`), route, redirect, error time.
#[derive(Clone, Debug)]
pub struct M {
    name: String,
    loadfactor: u32,
    lbset: u32,
    flags: u32,
    route: String,
    redirect: String,
    error_time: u64,
}

impl M {
    pub fn new(name: &str, loadfactor: u32) -> M {
        M {
            name: name.to_owned(),
            loadfactor,
            lbset: 0,
            flags: flags::INIT,
            route: String::new(),
            redirect: String::new(),
            error_time: 0,
        }
    }

    pub fn lbset(mut self, lbset: u32) -> M {
        self.lbset = lbset;
        self
    }

    pub fn flags(mut self, flags: u32) -> M {
        self.flags = flags;
        self
    }

    pub fn route(mut self, route: &str) -> M {
        self.route = route.to_owned();
        self
    }

    pub fn redirect(mut self, redirect: &str) -> M {
        self.redirect = redirect.to_owned();
        self
    }

    pub fn error_at(mut self, unix_ms: u64) -> M {
        self.error_time = unix_ms;
        self
    }
}
