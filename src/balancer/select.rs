//! The selection skeleton shared by every lbmethod (reference §3.1), forced
//! recovery (§3.6), the sticky credit (§3.2) and the helpers the methods are
//! written with.

use scoreboard::{flags, MemberSlot, Scoreboard};
use smallvec::SmallVec;

use super::{usable_after_retry, Balancer, Candidate, Context, LbMethod};

thread_local! {
    /// The xorshift64 state of [`random_u64`]; 0 = not seeded yet. Worker
    /// processes are single-threaded, so this is per process.
    static RANDOM: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// A cheap pseudo-random number (xorshift64), seeded on first use from the
/// process id and the clock: good enough to pick candidates, never for
/// anything secret. No allocation, no system call after the first use.
pub fn random_u64() -> u64 {
    RANDOM.with(|state| {
        let mut x = state.get();
        if x == 0 {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            x = splitmix64(nanos ^ (u64::from(std::process::id()) << 32)) | 1;
        }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        state.set(x);
        x
    })
}

/// Seeds this thread's [`random_u64`] (tests: a reproducible sequence).
pub fn seed_random(seed: u64) {
    RANDOM.with(|state| state.set(splitmix64(seed) | 1));
}

/// SplitMix64's finaliser: a strong 64-bit mixer.
pub(crate) fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The byrequests credit, used by byrequests and bybusyness: every offered
/// candidate, in offer order, gets `lbstatus += lbfactor`. Returns the total
/// T of the lbfactors credited, which the winner is then debited.
///
/// Call with the balancer lock held.
pub fn credit_offered(offered: &[Candidate<'_>]) -> i64 {
    let mut total = 0i64;
    for c in offered {
        let factor = i64::from(c.slot.lbfactor());
        c.slot.add_lbstatus(factor);
        total += factor;
    }
    total
}

/// The index of the best candidate: the first one that no later candidate
/// `beats` (a strict comparison, so a tie goes to the one offered first).
/// `None` when `offered` is empty.
pub fn first_best(
    offered: &[Candidate<'_>],
    beats: impl Fn(&MemberSlot, &MemberSlot) -> bool,
) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, c) in offered.iter().enumerate() {
        match best {
            Some(b) if !beats(c.slot, offered[b].slot) => {}
            _ => best = Some(i),
        }
    }
    best
}

impl Balancer {
    /// forcerecovery (reference §3.6), run before every selection: when
    /// *every* member is in E and none is due for retry, clear E on all of
    /// them. A member without E — even a disabled or stopped one — counts as
    /// healthy and prevents it (§9 #13, reproduced). The retry checks run
    /// whether or not `forcerecovery` is on.
    pub(super) fn force_recovery(&self, sb: &Scoreboard, now_ms: u64) {
        for (_, spec, slot) in self.live(sb) {
            if slot.status() & flags::ERROR == 0 {
                return;
            }
            usable_after_retry(slot, spec.retry_ms, now_ms);
            if slot.status() & flags::ERROR == 0 {
                return;
            }
        }
        if !self.spec.force_recovery {
            return;
        }
        log::warn!(
            "{}: all members are in error state, forcing recovery",
            self.spec.name
        );
        for (_, _, slot) in self.live(sb) {
            slot.clear_flags(flags::ERROR);
            slot.add_retry();
        }
    }

    /// The skeleton (reference §3.1): for each lbset in ascending order,
    /// offer the usable normal members, then as many usable spares as there
    /// are unusable (or draining) normal members; if that offers nobody, the
    /// usable standbys of the same lbset. Returns the chosen member, whose
    /// `elected` and `busy` have been incremented.
    pub(super) fn elect_by_method(
        &self,
        sb: &Scoreboard,
        rule: &dyn LbMethod,
        ctx: &Context,
    ) -> Option<usize> {
        let now_ms = ctx.now_ms;
        // Inline up to 16 members: a selection allocates nothing.
        let mut lbsets: SmallVec<[u32; 16]> =
            self.live(sb).map(|(_, _, slot)| slot.lbset()).collect();
        lbsets.sort_unstable();
        lbsets.dedup();

        let mut offered: SmallVec<[Candidate<'_>; 16]> = SmallVec::new();
        let mut spares: SmallVec<[Candidate<'_>; 16]> = SmallVec::new();
        let mut standbys: SmallVec<[Candidate<'_>; 16]> = SmallVec::new();
        for lbset in lbsets {
            offered.clear();
            spares.clear();
            standbys.clear();
            let mut unusable = 0usize;
            for (member, spec, slot) in self.live(sb) {
                if slot.lbset() != lbset {
                    continue;
                }
                let status = slot.status();
                let spare = status & flags::HOT_SPARE != 0;
                let standby = status & flags::HOT_STANDBY != 0;
                if status & flags::DRAIN != 0 {
                    // Only sticky requests reach a draining member; a
                    // draining normal member lets a spare stand in.
                    if !spare && !standby {
                        unusable += 1;
                    }
                    continue;
                }
                let usable = usable_after_retry(slot, spec.retry_ms, now_ms);
                let candidate = Candidate { member, slot };
                if spare {
                    if usable {
                        spares.push(candidate);
                    }
                } else if standby {
                    if usable {
                        standbys.push(candidate);
                    }
                } else if usable {
                    offered.push(candidate);
                } else {
                    unusable += 1;
                }
            }
            offered.extend(spares.iter().take(unusable).copied());
            if let Some(m) = self.elect_locked(sb, rule, &offered, ctx) {
                return Some(m);
            }
            if let Some(m) = self.elect_locked(sb, rule, &standbys, ctx) {
                return Some(m);
            }
        }
        None
    }

    /// Runs the method over `offered` under the balancer lock and counts the
    /// winner as elected and busy, in the same critical section, so that the
    /// next selection in any process sees it.
    pub(super) fn elect_locked(
        &self,
        sb: &Scoreboard,
        rule: &dyn LbMethod,
        offered: &[Candidate<'_>],
        ctx: &Context,
    ) -> Option<usize> {
        if offered.is_empty() {
            return None;
        }
        let _guard = sb.balancer(self.spec.slot).lock();
        let best = offered.get(rule.elect(offered, ctx)?)?;
        best.slot.add_elected();
        best.slot.inc_busy();
        Some(best.member)
    }

    /// The sticky route chose `member`: keep the counters fair (reference
    /// §3.2, "Sticky requests keep the counters fair") — every usable
    /// member of any lbset, standbys and spares included, gets `lbstatus +=
    /// lbfactor`, and the routed member is debited the total — then count it
    /// as elected and busy. The same for every lbmethod.
    pub(super) fn take_routed(&self, sb: &Scoreboard, member: usize) {
        let routed = sb.member(self.members[member].slot);
        let _guard = sb.balancer(self.spec.slot).lock();
        let mut total = 0i64;
        for (_, _, slot) in self.live(sb) {
            if slot.is_usable() {
                let factor = i64::from(slot.lbfactor());
                slot.add_lbstatus(factor);
                total += factor;
            }
        }
        routed.add_lbstatus(-total);
        routed.add_elected();
        routed.inc_busy();
    }
}
