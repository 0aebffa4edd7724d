//! `lbmethod=bylatency`: power of two choices over the scoreboard's latency
//! average and requests in flight (not in httpd).
//!
//! Every finished exchange folds its duration into the member slot's
//! `latency_ewma_us` (α = 1/8: `avg = (7·avg + sample) / 8`, the first
//! sample taken as is; see `MemberSlot::record_latency_us`), and `busy`
//! counts the requests in flight from every process. Both live in the
//! scoreboard, so all worker processes decide from the same figures, which
//! no per-process balancer can do.
//!
//! For each selection, under the balancer lock:
//!
//! 1. two distinct offered candidates are drawn at random (one when only
//!    one is offered): a per-process xorshift64, seeded from the pid and the
//!    clock ([`random_u64`](super::random_u64));
//! 2. their scores are compared: **`score = latency_ewma_us × (busy + 1)`**
//!    (exact, in 128-bit arithmetic); the lower score wins; on an equal
//!    score the lower `busy`, then the first drawn;
//! 3. a member with no sample yet (`latency_ewma_us == 0`) has no score: it
//!    is compared on `busy` alone and wins a tie, so a new (or re-added)
//!    member is probed at once but only one request at a time while its
//!    first answer is outstanding (no thundering herd on an unknown member);
//! 4. exploration: one selection in [`EXPLORE_ONE_IN`] takes the *loser* of
//!    the comparison.
//!
//! `loadfactor` is not used: the measured latency is the weight.
//!
//! **Decay (a decision).** The average has no time decay: it only moves
//! when the member answers. Under concurrency the slow member keeps being
//! picked (the fast member's score grows with its `busy`), so its average
//! stays current. With little concurrency a member that lost once could be
//! starved forever and never show that it recovered; exploration (step 4)
//! sends it about 1 request in 512 (1 in 256 selections, half of which draw
//! it), so a recovered member's average converges within a few samples (each
//! moves it 1/8 of the way) without a timestamp in the slot and without
//! putting more than 0.4 % of the traffic — less than what a p99 sees — on a
//! slow member. A method reset leaves the average alone: it is a
//! measurement, not a counter.
//!
//! Worked example: A, B, C; A answers in 2 ms, B in 10 ms (5× slower), C
//! has no sample yet:
//!
//! | # | drawn | (ewma µs, busy) of the two      | scores               | chosen                |
//! |---|-------|---------------------------------|----------------------|-----------------------|
//! | 1 | A, B  | (2000, 0), (10000, 0)           | 2000, 10000          | A                     |
//! | 2 | A, B  | (2000, 1), (10000, 0)           | 4000, 10000          | A                     |
//! | 3 | B, A  | (10000, 0), (2000, 5)           | 10000, 12000         | B (A has 5 in flight) |
//! | 4 | A, C  | (2000, 0), (—, 0)               | —, busy 0 = 0        | C (no sample: probed) |
//! | 5 | C, A  | (—, 1), (2000, 0)               | busy 1 > 0           | A (C's probe pending) |

use scoreboard::MemberSlot;

use super::{random_u64, Candidate, Context, LbMethod, Method};

/// One selection in this many takes the loser of the two (exploration).
pub const EXPLORE_ONE_IN: u64 = 256;

/// The bylatency rule (stateless: its only state is the process's random
/// number generator).
#[derive(Clone, Copy, Debug, Default)]
pub struct ByLatency;

/// `latency_ewma_us × (busy + 1)`; `None` without a sample.
pub fn score(slot: &MemberSlot) -> Option<u128> {
    let ewma = slot.latency_ewma_us();
    (ewma != 0).then(|| u128::from(ewma) * (slot.busy().max(0) as u128 + 1))
}

/// Whether `a` (drawn first) beats `b` (see the module documentation).
pub fn beats(a: &MemberSlot, b: &MemberSlot) -> bool {
    let (busy_a, busy_b) = (a.busy(), b.busy());
    match (score(a), score(b)) {
        (Some(sa), Some(sb)) => sa < sb || (sa == sb && busy_a <= busy_b),
        // No sample: on busy alone, a tie goes to the unknown one.
        (None, Some(_)) => busy_a <= busy_b,
        (Some(_), None) => busy_a < busy_b,
        (None, None) => busy_a <= busy_b,
    }
}

/// The choice among `offered` for the random draws `r1`, `r2` (which pair)
/// and `r3` (exploration): the index into `offered`.
pub fn choose(offered: &[Candidate<'_>], r1: u64, r2: u64, r3: u64) -> Option<usize> {
    let n = offered.len() as u64;
    match n {
        0 => None,
        1 => Some(0),
        _ => {
            let i = r1 % n;
            let mut j = r2 % (n - 1);
            if j >= i {
                j += 1;
            }
            let (i, j) = (i as usize, j as usize);
            let (win, lose) = if beats(offered[i].slot, offered[j].slot) {
                (i, j)
            } else {
                (j, i)
            };
            Some(if r3.is_multiple_of(EXPLORE_ONE_IN) {
                lose
            } else {
                win
            })
        }
    }
}

impl LbMethod for ByLatency {
    fn method(&self) -> Method {
        Method::ByLatency
    }

    fn elect(&self, offered: &[Candidate<'_>], _ctx: &Context) -> Option<usize> {
        if offered.len() < 2 {
            return choose(offered, 0, 0, 1);
        }
        let (r1, r2, r3) = (random_u64(), random_u64(), random_u64());
        choose(offered, r1, r2, r3)
    }

    fn reset(&self, _slot: &MemberSlot) {}
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{Board, M};
    use super::super::{seed_random, Candidate, Method};
    use super::choose;

    fn candidates(board: &Board, n: usize) -> Vec<Candidate<'_>> {
        (0..n)
            .map(|i| Candidate {
                member: i,
                slot: board.sb.member(i),
            })
            .collect()
    }

    #[test]
    fn worked_example_a_fast_b_slow_c_new() {
        let board = Board::new(3);
        board.balancer(
            Method::ByLatency,
            &[M::new("A", 1), M::new("B", 1), M::new("C", 1)],
        );
        let (a, b, c) = (board.sb.member(0), board.sb.member(1), board.sb.member(2));
        a.record_latency_us(2000);
        b.record_latency_us(10_000);
        let offered = candidates(&board, 3);
        // (r1, r2) draw (i, j): i = r1 % 3, then j from the other two.
        let draw = |i: u64, j: u64| (i, if j > i { j - 1 } else { j });
        let pick = |(r1, r2): (u64, u64)| choose(&offered, r1, r2, 1).unwrap();
        // 1: A vs B, both idle: 2000 < 10000.
        assert_eq!(pick(draw(0, 1)), 0);
        // 2: A has 1 in flight: 4000 < 10000.
        a.set_busy(1);
        assert_eq!(pick(draw(0, 1)), 0);
        // 3: A has 5 in flight: 12000 > 10000, B wins.
        a.set_busy(5);
        assert_eq!(pick(draw(1, 0)), 1);
        // 4: A idle vs C without a sample: C is probed.
        a.set_busy(0);
        assert_eq!(pick(draw(0, 2)), 2);
        // 5: C's probe is in flight: A.
        c.set_busy(1);
        assert_eq!(pick(draw(2, 0)), 0);
        // Exploration takes the loser.
        assert_eq!(choose(&offered, 0, 0, 0), Some(1));
    }

    #[test]
    fn slow_member_gets_at_most_a_fifth_under_load() {
        // Closed-loop simulation: 8 requests in flight, each member answering
        // in its latency; B is 5× slower. Selections see busy and the EWMA.
        seed_random(7);
        let board = Board::new(2);
        let bal = board.balancer(Method::ByLatency, &[M::new("A", 1), M::new("B", 1)]);
        let latency = [1000u64, 5000];
        // (finish time, member) of the requests in flight.
        let mut in_flight: Vec<(u64, usize)> = Vec::new();
        let mut now = 0u64;
        let mut chosen = [0u32; 2];
        for _ in 0..10_000 {
            while in_flight.len() >= 8 {
                in_flight.sort();
                let (t, m) = in_flight.remove(0);
                now = t;
                board.sb.member(m).record_latency_us(latency[m]);
                bal.release(&board.sb, m, 0, 0);
            }
            let m = board.choose(&bal).member;
            chosen[m] += 1;
            in_flight.push((now + latency[m], m));
        }
        let share = f64::from(chosen[1]) / 10_000.0;
        assert!(share <= 0.2, "slow member got {share}: {chosen:?}");
        assert!(share > 0.01, "slow member still sampled: {chosen:?}");
    }

    #[test]
    fn idle_slow_member_is_explored_rarely() {
        seed_random(11);
        let board = Board::new(2);
        let bal = board.balancer(Method::ByLatency, &[M::new("A", 1), M::new("B", 1)]);
        board.sb.member(0).record_latency_us(1000);
        board.sb.member(1).record_latency_us(5000);
        let mut b = 0;
        for _ in 0..25_600 {
            let m = board.choose(&bal).member;
            bal.release(&board.sb, m, 0, 0);
            b += usize::from(m == 1);
        }
        // About 1 in 256.
        assert!((50..=150).contains(&b), "explored {b} times");
    }

    #[test]
    fn one_candidate_and_reset() {
        let board = Board::new(1);
        let bal = board.balancer(Method::ByLatency, &[M::new("A", 1)]);
        board.sb.member(0).record_latency_us(1234);
        assert_eq!(board.choose(&bal).member, 0);
        bal.reset(&board.sb);
        assert_eq!(board.sb.member(0).latency_ewma_us(), 1234, "kept");
    }
}
