//! Test fixtures for the handlers: a real scoreboard file in the temp
//! directory with balancers and members set up as the supervisor does.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use scoreboard::{flags, Layout, Scoreboard};

/// A scoreboard with the given balancers, removed when dropped.
pub struct Board {
    pub sb: Scoreboard,
    pub path: PathBuf,
}

/// A fresh temp path for a scoreboard file.
pub fn temp_path(what: &str) -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "slotgate-{what}-test-{}-{}-{}.sb",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        scoreboard::unix_time_ms()
    ))
}

impl Board {
    /// `balancers`: (short name, member URLs, growth). Member slots are
    /// filled in order; 4 spare member slots beyond the growth.
    pub fn new(balancers: &[(&str, &[&str], u32)]) -> Board {
        let members: usize = balancers
            .iter()
            .map(|(_, m, g)| m.len() + *g as usize)
            .sum();
        let layout = Layout {
            processes: 1,
            balancers: balancers.len() as u32,
            members: members as u32 + 4,
        };
        let path = temp_path("handlers");
        let sb = Scoreboard::create(&path, layout).expect("create test scoreboard");
        let mut next = 0;
        for (b, (name, urls, growth)) in balancers.iter().enumerate() {
            let slot = sb.balancer(b);
            slot.name.set(&format!("balancer://{name}"));
            slot.lbmethod.set("byrequests");
            slot.nonce.set(&format!("nonce-{name}"));
            slot.set_sticky_separator('.');
            slot.set_max_attempts(urls.len().saturating_sub(1) as u32);
            slot.set_max_members(urls.len() as u32 + growth);
            slot.set_in_use(true);
            for url in urls.iter() {
                let m = sb.member(next);
                m.url.set(url);
                m.set_balancer(b as u32);
                m.set_lbfactor(100);
                m.set_status(flags::INIT);
                m.set_in_use(true);
                next += 1;
            }
        }
        Board { sb, path }
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
