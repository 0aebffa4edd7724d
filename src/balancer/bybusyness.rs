//! `lbmethod=bybusyness`: fewest requests in flight (reference §3.3).
//!
//! `busy` counts the requests currently assigned to a member by any process
//! (a selection adds 1, the end of the attempt takes 1 away). For each
//! selection, under the balancer lock:
//!
//! 1. every offered member gets the byrequests credit (`lbstatus +=
//!    lbfactor`, total T);
//! 2. the member with the lowest `busy` wins; on equal `busy` the higher
//!    `lbstatus` wins, and a full tie goes to the one offered first;
//! 3. the winner gets `lbstatus -= T`.
//!
//! With no load this is exactly byrequests.
//!
//! Worked example: A, B, C at loadfactor 1 (lbfactor 100, T = 300), with 2,
//! 1 and 0 requests in flight:
//!
//! | # | busy before (A, B, C) | lbstatus after credit | chosen             | lbstatus after  |
//! |---|-----------------------|-----------------------|--------------------|-----------------|
//! | 1 | 2, 1, 0               | 100, 100, 100         | C (least busy)     | 100, 100, −200  |
//! | 2 | 2, 1, 1               | 200, 200, −100        | B (tie on busy, higher lbstatus) | 200, −100, −100 |
//! | 3 | 2, 2, 1               | 300, 0, 0             | C (least busy)     | 300, 0, −300    |
//!
//! Reset (lbmethod change, member re-enabled): `lbstatus = 0`. Unlike httpd,
//! `busy` is left alone (reference §9 #14): clearing it while requests are in
//! flight would skew it until they drain.

use scoreboard::MemberSlot;

use super::{credit_offered, first_best, Candidate, Context, LbMethod, Method};

/// The bybusyness rule (stateless).
#[derive(Clone, Copy, Debug, Default)]
pub struct ByBusyness;

impl LbMethod for ByBusyness {
    fn method(&self) -> Method {
        Method::ByBusyness
    }

    fn elect(&self, offered: &[Candidate<'_>], _ctx: &Context) -> Option<usize> {
        let total = credit_offered(offered);
        let best = first_best(offered, |a, b| {
            let (busy_a, busy_b) = (a.busy(), b.busy());
            busy_a < busy_b || (busy_a == busy_b && a.lbstatus() > b.lbstatus())
        })?;
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
    fn worked_example_busy_2_1_0() {
        let board = Board::new(3);
        let b = board.balancer(
            Method::ByBusyness,
            &[M::new("A", 1), M::new("B", 1), M::new("C", 1)],
        );
        board.sb.member(0).set_busy(2);
        board.sb.member(1).set_busy(1);
        let table: [(&str, [i64; 3], [i64; 3]); 3] = [
            ("C", [100, 100, -200], [2, 1, 1]),
            ("B", [200, -100, -100], [2, 2, 1]),
            ("C", [300, 0, -300], [2, 2, 2]),
        ];
        for (round, (chosen, lbstatus, busy)) in table.iter().enumerate() {
            assert_eq!(pick(&board, &b), *chosen, "selection {}", round + 1);
            assert_eq!(board.lbstatus(3), lbstatus, "lbstatus after {}", round + 1);
            assert_eq!(board.busy(3), busy, "busy after {}", round + 1);
        }
    }

    #[test]
    fn busier_member_is_avoided() {
        let board = Board::new(2);
        let b = board.balancer(Method::ByBusyness, &[M::new("a", 1), M::new("b", 100)]);
        // b has by far the higher weight, but a request in flight.
        board.sb.member(1).set_busy(1);
        assert_eq!(pick(&board, &b), "a");
        // Now both have one in flight: the weight (lbstatus) decides.
        assert_eq!(pick(&board, &b), "b");
    }

    #[test]
    fn ties_go_to_lbstatus_then_order() {
        let board = Board::new(2);
        let b = board.balancer(Method::ByBusyness, &[M::new("a", 1), M::new("b", 1)]);
        // Equal busy, equal lbstatus: the first offered.
        assert_eq!(pick(&board, &b), "a");
        // Equal busy (a is busy 1, give b 1 too); b's lbstatus is higher.
        board.sb.member(1).set_busy(1);
        assert_eq!(pick(&board, &b), "b");
        // Without load it alternates like byrequests.
        board.sb.member(0).set_busy(0);
        board.sb.member(1).set_busy(0);
        let mut seq = Vec::new();
        for _ in 0..4 {
            let m = board.choose(&b).member;
            b.release(&board.sb, m, 0, 0);
            seq.push(board.name(m));
        }
        assert_eq!(seq, ["a", "b", "a", "b"]);
    }

    #[test]
    fn reset_keeps_busy() {
        let board = Board::new(2);
        let b = board.balancer(Method::ByBusyness, &[M::new("a", 1), M::new("b", 1)]);
        board.choose(&b);
        board.choose(&b);
        assert_eq!(board.busy(2), [1, 1]);
        b.reset(&board.sb);
        assert_eq!(board.lbstatus(2), [0, 0]);
        assert_eq!(board.busy(2), [1, 1], "a reset never clears busy (§9 #14)");
    }
}
