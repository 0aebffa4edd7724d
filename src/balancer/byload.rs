//! `lbmethod=byload`: the lowest load the members report themselves (not in
//! httpd).
//!
//! # The header
//!
//! A member reports its load in every response it likes with
//!
//! ```text
//! X-Backend-Load: l=0.5 i=12 b=3
//! ```
//!
//! `key=value` fields separated by spaces, tabs, `,` or `;`, in any order;
//! unknown keys are ignored, and so is a repeated key after its first:
//!
//! | key | value | meaning |
//! |-----|-------|---------|
//! | `l` | decimal ≥ 0, e.g. `0.5`, `12`, `3.25` (digits after the third decimal ignored; at most 4 000 000) | load average (the figure compared) |
//! | `i` | integer | idle workers (stored, shown) |
//! | `b` | integer | busy workers (stored, shown) |
//!
//! `l` is required; a header without a valid `l=` is ignored whole. The
//! worker parses it from the response head's bytes as it arrives ([`record`],
//! no allocation) and stores it, with the time, in the member slot, whatever
//! the lbmethod, so switching to byload has data at once. The header still
//! reaches the client.
//!
//! # The choice
//!
//! For each selection, under the balancer lock:
//!
//! 1. every offered member gets the byrequests credit (`lbstatus +=
//!    lbfactor`, total T);
//! 2. each offered member's **load per weight** is `l × 1000 × 100 /
//!    lbfactor` (an integer; loadfactor 1 is lbfactor 100). A member that
//!    never reported, or whose report is older than [`STALE_MS`], counts as
//!    the average of the offered members with a fresh report (0 when none
//!    has one), so it gets its share and, once answering, reports;
//! 3. the lowest load per weight wins; on equal load the lower `busy` (our
//!    requests in flight), then the higher `lbstatus`, then the first
//!    offered;
//! 4. the winner gets `lbstatus -= T`.
//!
//! Without any report this is exactly bybusyness. Reset: `lbstatus = 0`;
//! reports are kept (they are measurements).
//!
//! Worked example: A, B, C at loadfactor 1, 1, 2 (lbfactor 100, 100, 200);
//! A reports `l=0.5`, B `l=2`, C never reported:
//!
//! | # | load per weight A, B, C                 | busy A, B, C | chosen            |
//! |---|-----------------------------------------|--------------|-------------------|
//! | 1 | 500, 2000, avg 1250                     | 0, 0, 0      | A                 |
//! | 2 | A now reports `l=4`: 4000, 2000, avg 3000 | 1, 0, 0    | B                 |
//! | 3 | C reports `l=3`: 4000, 2000, 1500       | 1, 1, 0      | C (3 per 2 of weight) |

use scoreboard::{MemberSlot, ReportedLoad};

use super::{credit_offered, first_best, Candidate, Context, LbMethod, Method};

/// The response header members report their load in.
pub const HEADER: &str = "x-backend-load";

/// A report older than this (ms) counts as none.
pub const STALE_MS: u64 = 10_000;

/// Largest `l=` accepted (× 1000 fits in a u32).
const MAX_LOAD_MILLI: u64 = 4_000_000_000;

/// Parses an `X-Backend-Load` value: `(load × 1000, idle, busy)`; `None`
/// without a valid `l=`.
pub fn parse(value: &[u8]) -> Option<(u32, u32, u32)> {
    let (mut load, mut idle, mut busy) = (None, None, None);
    for field in value.split(|&b| matches!(b, b' ' | b'\t' | b',' | b';')) {
        let Some(eq) = field.iter().position(|&b| b == b'=') else {
            continue;
        };
        let (key, val) = (&field[..eq], &field[eq + 1..]);
        match key {
            b"l" | b"L" if load.is_none() => load = Some(decimal_milli(val)?),
            b"i" | b"I" if idle.is_none() => idle = integer(val),
            b"b" | b"B" if busy.is_none() => busy = integer(val),
            _ => {}
        }
    }
    Some((load?, idle.unwrap_or(0), busy.unwrap_or(0)))
}

/// `12.345` → 12345; digits after the third decimal are ignored.
fn decimal_milli(val: &[u8]) -> Option<u32> {
    let (int, frac) = match val.iter().position(|&b| b == b'.') {
        Some(dot) => (&val[..dot], &val[dot + 1..]),
        None => (val, &val[val.len()..]),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut milli: u64 = 0;
    for &d in int {
        if !d.is_ascii_digit() {
            return None;
        }
        milli = milli * 10 + u64::from(d - b'0');
        if milli * 1000 > MAX_LOAD_MILLI {
            return None;
        }
    }
    milli *= 1000;
    let mut scale = 100;
    for &d in frac {
        if !d.is_ascii_digit() {
            return None;
        }
        milli += u64::from(d - b'0') * scale;
        scale /= 10;
    }
    u32::try_from(milli).ok()
}

fn integer(val: &[u8]) -> Option<u32> {
    if val.is_empty() || val.len() > 9 || !val.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(val.iter().fold(0u32, |n, &d| n * 10 + u32::from(d - b'0')))
}

/// The worker's hook, called with each final response head's
/// `X-Backend-Load` value (if any): stores a valid report in the member's
/// slot. No allocation.
pub fn record(slot: &MemberSlot, value: Option<&[u8]>, now_ms: u64) {
    let Some((load_milli, idle, busy)) = value.and_then(parse) else {
        return;
    };
    slot.set_reported_load(ReportedLoad {
        load_milli,
        idle,
        busy,
        seen_ms: now_ms.max(1),
    });
}

/// The member's fresh reported load per weight, or `None`.
pub fn load_per_weight(slot: &MemberSlot, now_ms: u64) -> Option<u64> {
    let r = slot.reported_load();
    if r.seen_ms == 0 || now_ms.saturating_sub(r.seen_ms) > STALE_MS {
        return None;
    }
    Some(u64::from(r.load_milli) * 100 / u64::from(slot.lbfactor().max(1)))
}

/// The byload rule (stateless).
#[derive(Clone, Copy, Debug, Default)]
pub struct ByLoad;

impl LbMethod for ByLoad {
    fn method(&self) -> Method {
        Method::ByLoad
    }

    fn elect(&self, offered: &[Candidate<'_>], ctx: &Context) -> Option<usize> {
        let total = credit_offered(offered);
        let (mut sum, mut n) = (0u64, 0u64);
        for c in offered {
            if let Some(l) = load_per_weight(c.slot, ctx.now_ms) {
                sum += l;
                n += 1;
            }
        }
        let average = sum.checked_div(n).unwrap_or(0);
        let load = |s: &MemberSlot| load_per_weight(s, ctx.now_ms).unwrap_or(average);
        let best = first_best(offered, |a, b| {
            let (la, lb) = (load(a), load(b));
            let (ba, bb) = (a.busy(), b.busy());
            la < lb || (la == lb && (ba < bb || (ba == bb && a.lbstatus() > b.lbstatus())))
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
    use super::super::testutil::{pick, Board, M, NOW};
    use super::super::Method;
    use super::{parse, record, STALE_MS};

    #[test]
    fn worked_example_reports_and_average() {
        let board = Board::new(3);
        let b = board.balancer(
            Method::ByLoad,
            &[M::new("A", 1), M::new("B", 1), M::new("C", 2)],
        );
        let sb = &board.sb;
        record(sb.member(0), Some(b"l=0.5 i=12 b=3"), NOW);
        record(sb.member(1), Some(b"l=2"), NOW);
        assert_eq!(pick(&board, &b), "A");
        record(sb.member(0), Some(b"l=4"), NOW);
        assert_eq!(pick(&board, &b), "B");
        record(sb.member(2), Some(b"l=3"), NOW);
        assert_eq!(pick(&board, &b), "C");
        assert_eq!(board.busy(3), [1, 1, 1]);
        let r = sb.member(2).reported_load();
        assert_eq!((r.load_milli, r.idle, r.busy, r.seen_ms), (3000, 0, 0, NOW));
    }

    #[test]
    fn header_format() {
        assert_eq!(parse(b"l=0.5 i=12 b=3"), Some((500, 12, 3)));
        assert_eq!(parse(b"b=3;i=12, l=1.25"), Some((1250, 12, 3)));
        assert_eq!(parse(b"l=7"), Some((7000, 0, 0)));
        assert_eq!(parse(b"l=.5"), Some((500, 0, 0)));
        assert_eq!(parse(b"l=0.12345 x=y"), Some((123, 0, 0)));
        assert_eq!(parse(b"  l=1  l=9 "), Some((1000, 0, 0)), "first wins");
        assert_eq!(parse(b"i=12 b=3"), None, "l is required");
        assert_eq!(parse(b"l=abc"), None);
        assert_eq!(parse(b"l=-1"), None);
        assert_eq!(parse(b"l=."), None);
        assert_eq!(parse(b"l=99999999"), None, "too large");
        assert_eq!(parse(b""), None);
        assert_eq!(parse(b"l=1 i=x"), Some((1000, 0, 0)), "bad i ignored");
    }

    #[test]
    fn without_reports_it_is_bybusyness() {
        let board = Board::new(2);
        let b = board.balancer(Method::ByLoad, &[M::new("a", 1), M::new("b", 1)]);
        let mut seq = Vec::new();
        for _ in 0..4 {
            let m = board.choose(&b).member;
            b.release(&board.sb, m, 0, 0);
            seq.push(board.name(m));
        }
        assert_eq!(seq, ["a", "b", "a", "b"]);
        board.sb.member(0).set_busy(1);
        assert_eq!(pick(&board, &b), "b");
    }

    #[test]
    fn stale_report_counts_as_average() {
        let board = Board::new(2);
        let b = board.balancer(Method::ByLoad, &[M::new("a", 1), M::new("b", 1)]);
        record(board.sb.member(0), Some(b"l=9"), NOW - STALE_MS - 1);
        record(board.sb.member(1), Some(b"l=1"), NOW);
        // a's report is stale: it counts as the average (b's 1): tie, busy,
        // then lbstatus: a first.
        assert_eq!(pick(&board, &b), "a");
        assert_eq!(pick(&board, &b), "b");
    }
}
