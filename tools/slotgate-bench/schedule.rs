//! The open-loop schedule: when each of `count` requests is meant to start.
//!
//! Request `i` (from 0) is due `i / rate` seconds after the schedule's start;
//! a rate of 0 means "as fast as possible": every request is due at once.
//! Each time is computed from `i` directly, never by adding up intervals, so
//! there is no drift however long the schedule (a million requests at an
//! awkward rate end exactly where they should).
//!
//! The engine asks `due(elapsed)` how many requests should have started by
//! now and starts the missing ones; each request's latency is then measured
//! from `intended(i)`, not from the moment the engine got round to it (the
//! coordinated-omission correction).

use std::time::Duration;

#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// Requests per second; 0 = all at once.
    rate: f64,
    count: u64,
}

impl Schedule {
    /// `rate` in requests per second (0, negative or not finite: all at once).
    pub fn new(rate: f64, count: u64) -> Schedule {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            0.0
        };
        Schedule { rate, count }
    }

    /// Whether every request is due at the start.
    pub fn all_at_once(&self) -> bool {
        self.rate == 0.0
    }

    /// When request `i` is meant to start, after the schedule's start.
    pub fn intended(&self, i: u64) -> Duration {
        if self.all_at_once() {
            return Duration::ZERO;
        }
        Duration::from_nanos((i as f64 * 1e9 / self.rate).round() as u64)
    }

    /// How many requests are due `elapsed` after the start: those with
    /// `intended(i) <= elapsed`, at most `count`.
    pub fn due(&self, elapsed: Duration) -> u64 {
        if self.all_at_once() {
            return self.count;
        }
        // An estimate from the rate, then corrected so that it agrees
        // exactly with `intended` (which rounds) at the boundaries.
        let estimate = (elapsed.as_secs_f64() * self.rate).floor();
        let mut n = if estimate >= self.count as f64 {
            self.count
        } else {
            estimate as u64 + 1
        };
        while n > 0 && self.intended(n - 1) > elapsed {
            n -= 1;
        }
        while n < self.count && self.intended(n) <= elapsed {
            n += 1;
        }
        n
    }

    /// When the next request after the first `issued` is due (None when all
    /// are issued), to know how long the engine may sleep.
    pub fn next_due(&self, issued: u64) -> Option<Duration> {
        (issued < self.count).then(|| self.intended(issued))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn due_counts_at_given_instants() {
        // 1000/s: request i at i ms.
        let s = Schedule::new(1000.0, 10);
        assert_eq!(s.due(Duration::ZERO), 1);
        assert_eq!(s.due(Duration::from_micros(999)), 1);
        assert_eq!(s.due(ms(1)), 2);
        assert_eq!(s.due(Duration::from_micros(4500)), 5);
        assert_eq!(s.due(ms(9)), 10);
        assert_eq!(s.due(ms(1000)), 10, "never more than count");
        assert_eq!(s.intended(3), ms(3));
        assert_eq!(s.next_due(3), Some(ms(3)));
        assert_eq!(s.next_due(10), None);
    }

    #[test]
    fn zero_rate_is_everything_at_once() {
        for rate in [0.0, -5.0, f64::NAN, f64::INFINITY] {
            let s = Schedule::new(rate, 20_000);
            assert!(s.all_at_once());
            assert_eq!(s.due(Duration::ZERO), 20_000);
            assert_eq!(s.intended(19_999), Duration::ZERO);
        }
        assert_eq!(Schedule::new(0.0, 0).due(ms(5)), 0);
    }

    #[test]
    fn no_drift_over_a_million_requests() {
        // 3 per millisecond is a period (333 333.33 ns) that does not add up
        // exactly in nanoseconds: summing intervals would drift.
        let rate = 3000.0;
        let n = 1_000_000u64;
        let s = Schedule::new(rate, n);
        assert_eq!(s.intended(0), Duration::ZERO);
        assert_eq!(s.intended(n - 1), Duration::from_nanos(333_333_000_000));
        assert_eq!(s.intended(300_000), Duration::from_secs(100));
        let mut previous = Duration::ZERO;
        for i in 0..n {
            let t = s.intended(i);
            assert!(t >= previous, "not monotone at {i}");
            let exact = i as f64 * 1e9 / rate;
            assert!((t.as_nanos() as f64 - exact).abs() <= 0.5 + exact * 1e-15);
            // Exactly i + 1 requests are due at request i's intended time,
            // and i just before it.
            assert_eq!(s.due(t), i + 1, "at {i}");
            if i > 0 {
                assert_eq!(s.due(t - Duration::from_nanos(1)), i, "before {i}");
            }
            previous = t;
        }
        assert_eq!(s.due(Duration::from_secs(1000)), n);
    }

    #[test]
    fn fractional_rates() {
        let s = Schedule::new(0.5, 3); // one every 2 s
        assert_eq!(s.intended(2), Duration::from_secs(4));
        assert_eq!(s.due(Duration::from_millis(1999)), 1);
        assert_eq!(s.due(Duration::from_secs(2)), 2);
    }
}
