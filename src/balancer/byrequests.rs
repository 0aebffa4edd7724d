//! `lbmethod=byrequests`: weighted request counting (reference §3.2).
//!
//! Each member keeps a signed `lbstatus` in its scoreboard slot, starting at
//! 0. For each selection, under the balancer lock:
//!
//! 1. every offered member, in offer order, gets `lbstatus += lbfactor`, and
//!    the lbfactors add up to a total T;
//! 2. the member with the highest `lbstatus` wins; a tie goes to the one
//!    offered first (the comparison is strictly greater-than);
//! 3. the winner gets `lbstatus -= T`.
//!
//! The sum of all `lbstatus` values therefore stays constant, and over a
//! cycle each member is chosen in proportion to its lbfactor.
//!
//! Worked example: A, B, C at loadfactors 1, 2, 3 (lbfactor 100, 200, 300,
//! T = 600):
//!
//! | # | before (A, B, C)  | after credit      | chosen           | after          |
//! |---|-------------------|-------------------|------------------|----------------|
//! | 1 | 0, 0, 0           | 100, 200, 300     | C                | 100, 200, −300 |
//! | 2 | 100, 200, −300    | 200, 400, 0       | B                | 200, −200, 0   |
//! | 3 | 200, −200, 0      | 300, 0, 300       | A (tie, first)   | −300, 0, 300   |
//! | 4 | −300, 0, 300      | −200, 200, 600    | C                | −200, 200, 0   |
//! | 5 | −200, 200, 0      | −100, 400, 300    | B                | −100, −200, 300|
//! | 6 | −100, −200, 300   | 0, 0, 600         | C                | 0, 0, 0        |
//!
//! The sequence C B A C B C repeats: shares 1:2:3.
//!
//! Reset (lbmethod change, member re-enabled): `lbstatus = 0`.

use scoreboard::MemberSlot;

use super::{credit_offered, first_best, Candidate, Context, LbMethod, Method};

/// The byrequests rule (stateless).
#[derive(Clone, Copy, Debug, Default)]
pub struct ByRequests;

impl LbMethod for ByRequests {
    fn method(&self) -> Method {
        Method::ByRequests
    }

    fn elect(&self, offered: &[Candidate<'_>], _ctx: &Context) -> Option<usize> {
        let total = credit_offered(offered);
        let best = first_best(offered, |a, b| a.lbstatus() > b.lbstatus())?;
        offered[best].slot.add_lbstatus(-total);
        Some(best)
    }

    fn reset(&self, slot: &MemberSlot) {
        slot.set_lbstatus(0);
    }
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{pick, Board, M};
    use super::super::Method;

    #[test]
    fn worked_example_loadfactors_1_2_3() {
        let board = Board::new(3);
        let b = board.balancer(
            Method::ByRequests,
            &[M::new("A", 1), M::new("B", 2), M::new("C", 3)],
        );
        let table: [(&str, [i64; 3]); 6] = [
            ("C", [100, 200, -300]),
            ("B", [200, -200, 0]),
            ("A", [-300, 0, 300]),
            ("C", [-200, 200, 0]),
            ("B", [-100, -200, 300]),
            ("C", [0, 0, 0]),
        ];
        for (round, (chosen, after)) in table.iter().enumerate() {
            assert_eq!(pick(&board, &b), *chosen, "selection {}", round + 1);
            assert_eq!(board.lbstatus(3), after, "lbstatus after {}", round + 1);
        }
        // The cycle repeats.
        let next: Vec<String> = (0..6).map(|_| pick(&board, &b)).collect();
        assert_eq!(next, ["C", "B", "A", "C", "B", "C"]);
        assert_eq!(board.elected(3), [2, 4, 6]);
    }

    #[test]
    fn weights_1_to_4_are_exact_over_1000_selections() {
        let board = Board::new(2);
        let b = board.balancer(Method::ByRequests, &[M::new("a", 1), M::new("b", 4)]);
        for _ in 0..1000 {
            let m = board.choose(&b).member;
            b.release(&board.sb, m, 0, 0);
        }
        assert_eq!(board.elected(2), [200, 800]);
        assert_eq!(board.lbstatus(2), [0, 0]);
        assert_eq!(board.busy(2), [0, 0]);
    }

    #[test]
    fn reset_zeroes_lbstatus() {
        let board = Board::new(2);
        let b = board.balancer(Method::ByRequests, &[M::new("a", 1), M::new("b", 4)]);
        board.choose(&b);
        assert_ne!(board.lbstatus(2), [0, 0]);
        b.reset(&board.sb);
        assert_eq!(board.lbstatus(2), [0, 0]);
    }
}
