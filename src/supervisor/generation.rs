//! One generation of the server: its configuration, routes, listeners and the
//! placement of its balancers and members in the scoreboard. A graceful restart
//! builds the next generation beside the running one and only then switches.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use scoreboard::{flags, Layout, MemberSlot, Scoreboard};

use super::listeners;
use crate::config::Config;
use crate::proxy::Routes;

/// Spare member slots in a new scoreboard beyond what the configuration needs, so
/// that restarts adding members keep the same file (and its statistics).
const SPARE_MEMBERS: usize = 32;

pub(super) struct Generation {
    pub number: u64,
    pub config: Arc<Config>,
    pub routes: Arc<Routes>,
    /// Worker processes this generation runs.
    pub workers: usize,
    /// Prefork with several listeners: the accept mutex its workers share
    /// (`worker/accept.rs`); a new one per generation.
    pub accept_mutex: Option<Arc<crate::process::SharedMutex>>,
}

impl Generation {
    /// The generation numbered `number` (`accept_mutex` from [`accept_mutex`]).
    pub fn new(
        number: u64,
        config: Config,
        routes: Routes,
        accept_mutex: Option<Arc<crate::process::SharedMutex>>,
    ) -> Generation {
        Generation {
            number,
            workers: config.start_servers_or_default(),
            config: Arc::new(config),
            routes: Arc::new(routes),
            accept_mutex,
        }
    }

    /// Client connections one worker holds at most: 1 in prefork; in event,
    /// MaxRequestWorkers (its default when unset) shared out between the workers.
    pub fn max_connections(&self) -> usize {
        self.config.connections_per_worker(self.workers)
    }
}

/// The accept mutex of a generation whose workers need one (prefork, one connection
/// per worker, waiting on several listeners; see `worker/accept.rs`), else None.
pub(super) fn accept_mutex(
    cfg: &Config,
    listeners: &Listeners,
) -> Result<Option<Arc<crate::process::SharedMutex>>, String> {
    if cfg.mpm != crate::config::Mpm::Prefork || listeners.sockets().count() < 2 {
        return Ok(None);
    }
    let mutex = crate::process::SharedMutex::new()
        .map_err(|e| format!("making the accept mutex (local): {e}"))?;
    Ok(Some(Arc::new(mutex)))
}

/// The listening sockets, each with the address its `Listen` line gave (port 0
/// included), so a restart keeps the very same socket for an unchanged line.
pub(super) struct Listeners {
    entries: Vec<(SocketAddr, TcpListener)>,
}

impl Listeners {
    /// Binds what `cfg` asks for at start, taking over the sockets a binary
    /// upgrade handed down (same configured address).
    pub fn bind(cfg: &Config) -> Result<Listeners, String> {
        Self::bind_over(cfg, inherited()?)
    }

    /// The listeners of a restart, built beside this set, which is not touched:
    /// an unchanged `Listen` line (same configured address, port 0 included)
    /// gets the very same socket (a duplicate descriptor), so it never closes
    /// and no connection is refused; a new line is bound now. On error the new
    /// sockets close and this set is as it was (a refused restart must not
    /// cost the running server its listeners, nor poison the next restart).
    pub fn rebind(&self, cfg: &Config) -> Result<Listeners, String> {
        let running = self
            .entries
            .iter()
            .map(|(a, l)| {
                l.try_clone()
                    .map(|l| (*a, l))
                    .map_err(|e| format!("duplicating the listener for {a}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Self::bind_over(cfg, running)
    }

    /// `cfg`'s listeners: each from `old` when its configured address is
    /// there (each socket used once), else bound now.
    fn bind_over(
        cfg: &Config,
        mut old: Vec<(SocketAddr, TcpListener)>,
    ) -> Result<Listeners, String> {
        let mut entries = Vec::new();
        for l in &cfg.listen {
            let sock = match old.iter().position(|(a, _)| *a == l.addr) {
                Some(i) => old.swap_remove(i).1,
                None => listeners::bind(l.addr, cfg.listen_backlog).map_err(|e| {
                    format!("{}: could not bind to address {}: {e}", l.origin, l.addr)
                })?,
            };
            entries.push((l.addr, sock));
        }
        Ok(Listeners { entries })
    }

    /// `ADDR=FD;…` for handing the sockets to a new binary.
    pub fn handover(&self) -> String {
        use std::os::fd::AsRawFd;
        self.entries
            .iter()
            .map(|(a, l)| format!("{a}={}", l.as_raw_fd()))
            .collect::<Vec<_>>()
            .join(";")
    }

    /// Closes this process's copies of the sockets (the health checker,
    /// which never accepts, right after fork).
    pub fn close(&mut self) {
        self.entries.clear();
    }

    pub fn sockets(&self) -> impl Iterator<Item = &TcpListener> {
        self.entries.iter().map(|(_, l)| l)
    }

    /// The ports actually bound, in `Listen` order.
    pub fn ports(&self) -> Vec<u16> {
        self.sockets()
            .filter_map(|l| l.local_addr().ok())
            .map(|a| a.port())
            .collect()
    }

    pub fn addresses(&self) -> Vec<String> {
        self.sockets()
            .filter_map(|l| l.local_addr().ok())
            .map(|a| a.to_string())
            .collect()
    }
}

/// Listening sockets handed down by the binary this one replaces (USR2).
fn inherited() -> Result<Vec<(SocketAddr, TcpListener)>, String> {
    let Ok(list) = std::env::var(crate::process::LISTEN_FDS_ENV) else {
        return Ok(Vec::new());
    };
    std::env::remove_var(crate::process::LISTEN_FDS_ENV);
    let mut out = Vec::new();
    for item in list.split(';').filter(|s| !s.is_empty()) {
        let (addr, fd) = item
            .rsplit_once('=')
            .ok_or_else(|| format!("{}: bad entry '{item}'", crate::process::LISTEN_FDS_ENV))?;
        let addr: SocketAddr = addr
            .parse()
            .map_err(|_| format!("bad address in '{item}'"))?;
        let fd: i32 = fd
            .parse()
            .map_err(|_| format!("bad descriptor in '{item}'"))?;
        let l = crate::process::adopt_listener(fd)
            .map_err(|e| format!("taking over the listener for {addr}: {e}"))?;
        out.push((addr, l));
    }
    Ok(out)
}

/// The scoreboard layout a configuration needs.
pub(super) fn layout_for(cfg: &Config, routes: &Routes, workers: usize) -> Layout {
    Layout {
        // Old workers finishing after a graceful restart and the new ones run side by side.
        processes: cfg.process_limit().max(2 * workers) as u32,
        balancers: (routes.balancers.len() + cfg.balancer_growth as usize) as u32,
        members: (routes.member_slots(cfg) + SPARE_MEMBERS) as u32,
    }
}

/// Who a member is across generations: its balancer (or none) and its URL.
fn member_key(sb: &Scoreboard, slot: &MemberSlot) -> (String, String) {
    let b = slot.balancer();
    let balancer = if b == scoreboard::NO_BALANCER || b as usize >= sb.balancers().len() {
        String::new()
    } else {
        sb.balancer(b as usize).name.get()
    };
    (balancer, slot.url.get())
}

/// Places `routes`' balancers and members in `sb`: a balancer or member already
/// there (same name, same balancer and URL) keeps its slot with its statistics and
/// run-time settings, except settings whose configured value changed since
/// `previous`; new ones take free slots, fully initialised; slots of members gone
/// from the configuration are released.
pub(super) fn place(
    sb: &Scoreboard,
    cfg: &Config,
    routes: &mut Routes,
    previous: Option<&Routes>,
) -> Result<(), String> {
    let existing_balancers: HashMap<String, usize> = sb
        .balancers()
        .iter()
        .enumerate()
        .filter(|(_, b)| b.in_use())
        .map(|(i, b)| (b.name.get(), i))
        .collect();
    let existing_members: HashMap<(String, String), usize> = sb
        .members()
        .iter()
        .enumerate()
        .filter(|(_, m)| m.in_use())
        .map(|(i, m)| (member_key(sb, m), i))
        .collect();
    // Only slots free before this restart are handed out: a slot released now may
    // still be written by an old worker that is finishing.
    let mut free_balancers = (0..sb.balancers().len()).filter(|&i| !sb.balancer(i).in_use());
    let free_members: Vec<usize> = (0..sb.members().len())
        .filter(|&i| !sb.member(i).in_use())
        .collect();

    let mut balancer_slots = Vec::new();
    for b in routes.balancers.iter_mut() {
        let slot = match existing_balancers.get(&b.spec.name) {
            Some(&s) => s,
            None => free_balancers
                .next()
                .ok_or_else(|| "no free balancer slot in the scoreboard".to_string())?,
        };
        b.spec.slot = slot;
        balancer_slots.push(slot);
    }
    let names: Vec<String> = routes
        .balancers
        .iter()
        .map(|b| b.spec.name.clone())
        .collect();
    routes.assign_slots(
        |balancer, url| {
            existing_members
                .get(&(balancer.unwrap_or("").to_string(), url.to_string()))
                .copied()
        },
        free_members.into_iter(),
    )?;

    for (i, b) in routes.balancers.iter().enumerate() {
        let slot = sb.balancer(b.spec.slot);
        let before = previous.and_then(|p| p.balancers.iter().find(|o| o.spec.name == b.spec.name));
        let changed = |f: &dyn Fn(&crate::balancer::BalancerSpec) -> String| {
            before.is_none_or(|o| f(&o.spec) != f(&b.spec))
        };
        let fresh = !slot.in_use();
        if fresh || changed(&|s| s.method.name().to_string()) {
            slot.lbmethod.set(b.spec.method.name());
        }
        if fresh || changed(&|s| format!("{:?}{:?}", s.sticky_cookie, s.sticky_param)) {
            slot.sticky
                .set(b.spec.sticky_cookie.as_deref().unwrap_or(""));
            slot.sticky_path
                .set(b.spec.sticky_param.as_deref().unwrap_or(""));
        }
        if fresh || changed(&|s| s.max_attempts.to_string()) {
            slot.set_max_attempts(b.spec.max_attempts as u32);
        }
        if fresh || changed(&|s| s.nofailover.to_string()) {
            slot.set_nofailover(b.spec.nofailover);
        }
        let config = cfg.balancers.iter().find(|c| c.name == b.spec.name);
        if let Some(bc) = config {
            slot.set_timeout_ms(bc.params.timeout.as_millis() as u64);
        }
        if fresh {
            // `nonce=None` empties it (a read-only manager, as httpd); no
            // `nonce=` gives a random UUID-formatted one per start.
            match config.and_then(|bc| bc.params.nonce.as_deref()) {
                Some(n) => slot.nonce.set(n),
                None => slot.nonce.set(&random_nonce()?),
            };
        }
        let growth = config.map_or(0, |bc| bc.params.growth);
        slot.set_max_members(b.members.len() as u32 + growth);
        if cfg.balancer_persist {
            slot.set_flags(crate::handlers::persist::PERSIST_FLAG);
        } else {
            slot.clear_flags(crate::handlers::persist::PERSIST_FLAG);
        }
        slot.name.set(&names[i]);
        slot.set_sticky_separator(b.spec.sticky_separator.map_or('\0', char::from));
        slot.set_in_use(true);
    }

    for m in &routes.members {
        let slot = sb.member(m.slot);
        let balancer_name = m.balancer.map(|b| names[b].clone()).unwrap_or_default();
        let kept = existing_members.contains_key(&(balancer_name.clone(), m.url.name.clone()));
        let before = previous.and_then(|p| {
            p.members.iter().find(|o| {
                o.url.name == m.url.name
                    && o.balancer
                        .map(|b| p.balancers[b].spec.name.clone())
                        .unwrap_or_default()
                        == balancer_name
            })
        });
        if !kept {
            slot.reset_stats();
            slot.url.set(&m.url.name);
        }
        let apply = |what: &str, changed: bool| {
            if kept && changed {
                log::info!(
                    "member {}: configured {what} changed; the new value replaces the run-time one",
                    m.url.name
                );
            }
            !kept || changed
        };
        if apply(
            "loadfactor",
            before.is_none_or(|o| o.lbfactor != m.lbfactor),
        ) {
            slot.set_lbfactor(m.lbfactor);
        }
        if apply("lbset", before.is_none_or(|o| o.lbset != m.lbset)) {
            slot.set_lbset(m.lbset);
        }
        if apply(
            "route",
            before.is_none_or(|o| o.route != m.route || o.redirect != m.redirect),
        ) {
            slot.route.set(&m.route);
            slot.redirect.set(&m.redirect);
        }
        if apply("status", before.is_none_or(|o| o.status != m.status)) {
            slot.set_status(m.status | flags::INIT);
        }
        // The health check (only balancer members are checked, as httpd):
        // like the settings above, a run-time change (balancer-manager,
        // slotgate-top) survives a restart unless the configured check
        // changed.
        let hc = match m.balancer {
            Some(_) => m.health.clone(),
            None => crate::config::HealthCheck::default(),
        };
        if apply(
            "health check",
            before.is_none_or(|o| {
                o.health != m.health || o.balancer.is_some() != m.balancer.is_some()
            }),
        ) {
            slot.set_hc_method(hc.method.code());
            slot.set_hc_interval_ms(hc.interval.as_millis().min(u128::from(u32::MAX)) as u32);
            slot.set_hc_passes(hc.passes);
            slot.set_hc_fails(hc.fails);
            slot.hc_uri.set(&hc.uri);
            slot.hc_expr.set(hc.expr.as_deref().unwrap_or(""));
        }
        let expr = slot.hc_expr.get();
        if !expr.is_empty() && !cfg.hc_exprs.iter().any(|d| d.name == expr) {
            log::warn!(
                "member {}: hcexpr {expr} set at run time names no ProxyHCExpr any more; removed",
                m.url.name
            );
            slot.hc_expr.clear();
        }
        slot.set_added(false);
        slot.set_balancer(
            m.balancer
                .map_or(scoreboard::NO_BALANCER, |b| balancer_slots[b] as u32),
        );
        slot.set_in_use(true);
    }

    // Release what the new configuration no longer has.
    let used_members: Vec<usize> = routes.members.iter().map(|m| m.slot).collect();
    for (_, &s) in existing_members.iter() {
        if !used_members.contains(&s) {
            sb.member(s).set_in_use(false);
        }
    }
    for (_, &s) in existing_balancers.iter() {
        if !balancer_slots.contains(&s) {
            sb.balancer(s).set_in_use(false);
        }
    }
    Ok(())
}

/// A random nonce for the balancer-manager, formatted as a version-4 UUID
/// (httpd's): 16 bytes from the OS CSPRNG. There is no weaker fallback: the nonce is
/// all that stands between a forged form post and a change to the balancer, so
/// start-up (or the restart) fails when the OS has no random source to give.
pub(crate) fn random_nonce() -> Result<String, String> {
    let mut b = [0u8; 16];
    getrandom::getrandom(&mut b).map_err(|e| {
        format!(
            "local: no balancer-manager nonce: the operating system's random number              generator is not available ({e})"
        )
    })?;
    Ok(uuid_v4(b))
}

/// 16 random bytes as a version-4 UUID: `xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`.
fn uuid_v4(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Copies a member's statistics and run-time settings into a slot of a new
/// scoreboard (a restart whose configuration outgrew the old file).
pub(super) fn carry_over(old: &Scoreboard, new: &Scoreboard) {
    let mut by_key: HashMap<(String, String), usize> = HashMap::new();
    for (i, m) in new.members().iter().enumerate() {
        if m.in_use() {
            by_key.insert(member_key(new, m), i);
        }
    }
    for m in old.members().iter().filter(|m| m.in_use()) {
        let Some(&i) = by_key.get(&member_key(old, m)) else {
            continue;
        };
        let to = new.member(i);
        to.set_elected(m.elected());
        to.add_transferred(m.transferred());
        to.add_read(m.read());
        to.set_lbstatus(m.lbstatus());
        to.set_status(m.status());
        to.set_error_time(m.error_time());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonce_is_a_version_4_uuid_of_fresh_random_bytes() {
        assert_eq!(uuid_v4([0; 16]), "00000000-0000-4000-8000-000000000000");
        assert_eq!(uuid_v4([0xff; 16]), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        let a = random_nonce().expect("the OS CSPRNG");
        let b = random_nonce().expect("the OS CSPRNG");
        assert_ne!(a, b);
        for n in [&a, &b] {
            assert_eq!(n.len(), 36, "{n}");
            assert_eq!(&n[14..15], "4", "{n}");
            assert!("89ab".contains(&n[19..20]), "{n}");
        }
    }
}
