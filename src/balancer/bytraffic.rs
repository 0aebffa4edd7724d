//! `lbmethod=bytraffic`: fewest bytes per weight (reference §3.4).
//!
//! `traffic = transferred / lbfactor + read / lbfactor`, in integer division
//! with lbfactor on the ×100 scale, where `transferred` counts every byte
//! written to the member (request head and body) and `read` the response
//! status line plus the response body (headers are not counted); both are
//! added by [`Balancer::release`](super::Balancer::release). The lowest
//! traffic wins; a tie goes to the one offered first. Nothing is credited at
//! selection time (as in httpd), so until any bytes have flowed every member
//! is at 0 and the first offered member is chosen every time.
//!
//! Worked example: A at loadfactor 1 (lbfactor 100) and B at loadfactor 2
//! (lbfactor 200):
//!
//! | # | A transferred, read | B transferred, read | traffic A, B       | chosen |
//! |---|---------------------|---------------------|--------------------|--------|
//! | 1 | 0, 0                | 0, 0                | 0, 0               | A (tie, first) |
//! | 2 | 1000, 9000          | 0, 0                | 10 + 90, 0         | B      |
//! | 3 | 1000, 9000          | 3000, 15000         | 100, 15 + 75 = 90  | B      |
//! | 4 | 1000, 9000          | 3000, 17000         | 100, 15 + 85 = 100 | A (tie, first) |
//!
//! Reset (lbmethod change, member re-enabled): both byte counters of every
//! member go to 0.

use scoreboard::MemberSlot;

use super::{first_best, Candidate, Context, LbMethod, Method};

/// The bytraffic rule (stateless).
#[derive(Clone, Copy, Debug, Default)]
pub struct ByTraffic;

/// `transferred / lbfactor + read / lbfactor` (an lbfactor of 0, which the
/// configuration never produces, counts as 1).
pub fn traffic(slot: &MemberSlot) -> u64 {
    let factor = u64::from(slot.lbfactor().max(1));
    slot.transferred() / factor + slot.read() / factor
}

impl LbMethod for ByTraffic {
    fn method(&self) -> Method {
        Method::ByTraffic
    }

    fn elect(&self, offered: &[Candidate<'_>], _ctx: &Context) -> Option<usize> {
        first_best(offered, |a, b| traffic(a) < traffic(b))
    }

    fn reset(&self, slot: &MemberSlot) {
        // The scoreboard has no setter for the byte counters, only adders,
        // and those wrap: adding the two's complement of the value read
        // takes exactly that much away, so bytes another process adds in
        // between are kept rather than lost.
        slot.add_transferred(slot.transferred().wrapping_neg());
        slot.add_read(slot.read().wrapping_neg());
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{pick, Board, M};
    use super::super::Method;

    #[test]
    fn worked_example_loadfactors_1_2() {
        let board = Board::new(2);
        let b = board.balancer(Method::ByTraffic, &[M::new("A", 1), M::new("B", 2)]);
        let a_slot = board.sb.member(0);
        let b_slot = board.sb.member(1);

        assert_eq!(pick(&board, &b), "A");
        b.release(&board.sb, 0, 1000, 9000);
        assert_eq!(pick(&board, &b), "B");
        b.release(&board.sb, 1, 3000, 15000);
        assert_eq!((super::traffic(a_slot), super::traffic(b_slot)), (100, 90));
        assert_eq!(pick(&board, &b), "B");
        b.release(&board.sb, 1, 0, 2000);
        assert_eq!((super::traffic(a_slot), super::traffic(b_slot)), (100, 100));
        assert_eq!(pick(&board, &b), "A");
    }

    #[test]
    fn lowest_traffic_per_weight_wins() {
        let board = Board::new(3);
        let b = board.balancer(
            Method::ByTraffic,
            &[M::new("a", 1), M::new("b", 4), M::new("c", 2)],
        );
        // a: 500/100 + 500/100 = 10; b: 2000/400 + 2000/400 = 10;
        // c: 900/200 + 900/200 = 4 + 4 = 8 (integer division).
        board.sb.member(0).add_transferred(500);
        board.sb.member(0).add_read(500);
        board.sb.member(1).add_transferred(2000);
        board.sb.member(1).add_read(2000);
        board.sb.member(2).add_transferred(900);
        board.sb.member(2).add_read(900);
        assert_eq!(pick(&board, &b), "c");
        // Without traffic every selection goes to the first offered member.
        b.reset(&board.sb);
        assert_eq!(board.traffic(3), [(0, 0), (0, 0), (0, 0)]);
        for _ in 0..3 {
            assert_eq!(pick(&board, &b), "a");
        }
        assert_eq!(board.lbstatus(3), [0, 0, 0], "bytraffic credits nothing");
    }
}
