//! A log-linear latency histogram in nanoseconds.
//!
//! Values below 256 get a bucket each. Above, every power of two is split
//! into 128 equal sub-buckets, so a bucket is at most 1/128 of its lower
//! bound wide and the midpoint reported for it is within 0.4 % of any value
//! it holds (HdrHistogram with 3 significant digits is 0.1 %, with 2 it is
//! 1 %). The whole `u64` range fits in 7 424 counters (58 KiB), allocated
//! once, so recording is an index computation and an increment.

/// Sub-buckets per power of two, as a bit count.
const SUB_BITS: u32 = 7;
const SUB_COUNT: usize = 1 << SUB_BITS;
/// Values below this have an exact bucket each.
const EXACT_LIMIT: u64 = 1 << (SUB_BITS + 1);
const BUCKETS: usize = EXACT_LIMIT as usize + (64 - SUB_BITS as usize - 1) * SUB_COUNT;

pub struct Histogram {
    counts: Vec<u64>,
    count: u64,
    min: u64,
    max: u64,
    sum: u128,
    /// Sum of the squares, for the standard deviation (exact: a u128 holds
    /// 2^64 values of 2^32 ns squared).
    sum_sq: u128,
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

impl Histogram {
    pub fn new() -> Histogram {
        Histogram {
            counts: vec![0; BUCKETS],
            count: 0,
            min: u64::MAX,
            max: 0,
            sum: 0,
            sum_sq: 0,
        }
    }

    /// The bucket holding `value`.
    fn index(value: u64) -> usize {
        if value < EXACT_LIMIT {
            return value as usize;
        }
        let msb = 63 - value.leading_zeros();
        let shift = msb - SUB_BITS; // at least 1
        let mantissa = (value >> shift) as usize; // in [SUB_COUNT, 2 * SUB_COUNT)
        EXACT_LIMIT as usize + (shift as usize - 1) * SUB_COUNT + (mantissa - SUB_COUNT)
    }

    /// The value reported for bucket `index`: its midpoint.
    fn value_of(index: usize) -> u64 {
        if index < EXACT_LIMIT as usize {
            return index as u64;
        }
        let rest = index - EXACT_LIMIT as usize;
        let shift = (rest / SUB_COUNT) as u32 + 1;
        let mantissa = (rest % SUB_COUNT + SUB_COUNT) as u64;
        let low = mantissa << shift;
        low + ((1u64 << shift) >> 1)
    }

    pub fn record(&mut self, value: u64) {
        self.counts[Self::index(value)] += 1;
        self.count += 1;
        self.min = self.min.min(value);
        self.max = self.max.max(value);
        self.sum += u128::from(value);
        self.sum_sq = self
            .sum_sq
            .saturating_add(u128::from(value) * u128::from(value));
    }

    /// Add every value recorded in `other`, as if recorded here.
    pub fn merge(&mut self, other: &Histogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(&other.counts) {
            *mine += theirs;
        }
        self.count += other.count;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.sum += other.sum;
        self.sum_sq = self.sum_sq.saturating_add(other.sum_sq);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn min(&self) -> u64 {
        if self.count == 0 {
            0
        } else {
            self.min
        }
    }

    pub fn max(&self) -> u64 {
        self.max
    }

    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// The population standard deviation of the recorded values (exact, not
    /// from the buckets).
    pub fn stddev(&self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let n = self.count as f64;
        let mean = self.sum as f64 / n;
        (self.sum_sq as f64 / n - mean * mean).max(0.0).sqrt()
    }

    /// The value at quantile `q` (0.0 ..= 1.0): the smallest recorded value
    /// with at least `q` of the values at or below it, to the bucket's
    /// precision, and never outside the recorded min..max.
    pub fn quantile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        if rank >= self.count {
            return self.max; // the top is known exactly
        }
        let mut seen = 0;
        for (index, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return Self::value_of(index).clamp(self.min, self.max);
            }
        }
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close_enough(got: u64, want: f64) -> bool {
        (got as f64 - want).abs() <= want * 0.01
    }

    #[test]
    fn every_value_lands_in_a_bucket_whose_midpoint_is_within_half_a_percent() {
        let mut v = 1u64;
        while v < u64::MAX / 3 {
            for probe in [v, v + 1, v * 3 / 2, v * 2 - 1] {
                let index = Histogram::index(probe);
                assert!(index < BUCKETS);
                let mid = Histogram::value_of(index) as f64;
                assert!(
                    (mid - probe as f64).abs() <= probe as f64 * 0.005,
                    "{probe} -> {mid}"
                );
            }
            v *= 2;
        }
        assert!(Histogram::index(u64::MAX) < BUCKETS);
    }

    #[test]
    fn uniform_distribution_quantiles() {
        // 1 µs ..= 1 s in 1 µs steps.
        let mut h = Histogram::new();
        for us in 1..=1_000_000u64 {
            h.record(us * 1000);
        }
        for (q, want) in [(0.5, 500e6), (0.9, 900e6), (0.99, 990e6), (0.999, 999e6)] {
            let got = h.quantile(q);
            assert!(close_enough(got, want), "q{q}: {got} vs {want}");
        }
        assert_eq!(h.min(), 1000);
        assert_eq!(h.max(), 1_000_000_000);
        assert!(close_enough(h.mean() as u64, 500_000_500.0));
    }

    #[test]
    fn exponential_distribution_quantiles() {
        // Exact quantiles of an exponential with mean 1 ms: -ln(1 - q) ms.
        // The values are placed at the (i + 0.5) / n quantiles, so no RNG.
        let n = 200_000u64;
        let mut h = Histogram::new();
        for i in 0..n {
            let p = (i as f64 + 0.5) / n as f64;
            h.record((-(1.0 - p).ln() * 1e6) as u64);
        }
        for q in [0.5f64, 0.9, 0.99, 0.999] {
            let want = -(1.0 - q).ln() * 1e6;
            let got = h.quantile(q);
            assert!(close_enough(got, want), "q{q}: {got} vs {want}");
        }
    }

    #[test]
    fn bimodal_distribution_picks_the_right_mode() {
        let mut h = Histogram::new();
        for _ in 0..989 {
            h.record(100_000);
        }
        for _ in 0..11 {
            h.record(50_000_000);
        }
        assert!(close_enough(h.quantile(0.5), 100_000.0));
        assert!(close_enough(h.quantile(0.98), 100_000.0));
        assert!(close_enough(h.quantile(0.99), 50_000_000.0));
        assert_eq!(h.quantile(1.0), 50_000_000);
    }

    /// A xorshift64* generator: deterministic test data without a crate.
    struct XorShift(u64);

    impl XorShift {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
    }

    /// Log-uniform values from 1 µs to about 1 s, like latencies.
    fn random_latencies(seed: u64, n: usize) -> Vec<u64> {
        let mut rng = XorShift(seed);
        (0..n)
            .map(|_| {
                let exponent = (rng.next() % 20) as u32; // 2^0 .. 2^19 µs
                let base = 1000u64 << exponent;
                base + rng.next() % base
            })
            .collect()
    }

    /// The exact quantile by the same definition: the smallest value with at
    /// least `q` of the values at or below it.
    fn exact_quantile(sorted: &[u64], q: f64) -> u64 {
        let rank = ((q * sorted.len() as f64).ceil() as usize).max(1);
        sorted[rank.min(sorted.len()) - 1]
    }

    #[test]
    fn random_data_quantiles_match_a_sorted_reference() {
        let values = random_latencies(0x5107_6A7E, 100_000);
        let mut h = Histogram::new();
        for &v in &values {
            h.record(v);
        }
        let mut sorted = values.clone();
        sorted.sort_unstable();
        for q in [0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999, 1.0] {
            let want = exact_quantile(&sorted, q);
            let got = h.quantile(q);
            assert!(
                (got as f64 - want as f64).abs() <= want as f64 * 0.005,
                "q{q}: {got} vs exact {want}"
            );
        }
        assert_eq!((h.min(), h.max()), (sorted[0], sorted[sorted.len() - 1]));
        let n = values.len() as f64;
        let mean = values.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = values
            .iter()
            .map(|&v| (v as f64 - mean).powi(2))
            .sum::<f64>()
            / n;
        assert!((h.mean() - mean).abs() <= mean * 1e-9);
        assert!((h.stddev() - var.sqrt()).abs() <= var.sqrt() * 1e-6);
    }

    #[test]
    fn merge_equals_recording_everything_in_one() {
        let a_values = random_latencies(1, 30_000);
        let b_values = random_latencies(2, 50_000);
        let mut a = Histogram::new();
        let mut b = Histogram::new();
        let mut all = Histogram::new();
        for &v in &a_values {
            a.record(v);
            all.record(v);
        }
        for &v in &b_values {
            b.record(v);
            all.record(v);
        }
        a.merge(&b);
        assert_eq!(a.counts, all.counts);
        assert_eq!(
            (a.count(), a.min(), a.max(), a.sum, a.sum_sq),
            (all.count(), all.min(), all.max(), all.sum, all.sum_sq)
        );
        for q in [0.5, 0.9, 0.99, 0.999] {
            assert_eq!(a.quantile(q), all.quantile(q));
        }
        // Merging an empty histogram changes nothing, either way round.
        let before = (a.count(), a.min(), a.max(), a.quantile(0.99));
        a.merge(&Histogram::new());
        assert_eq!(before, (a.count(), a.min(), a.max(), a.quantile(0.99)));
        let mut empty = Histogram::new();
        empty.merge(&a);
        assert_eq!(
            before,
            (
                empty.count(),
                empty.min(),
                empty.max(),
                empty.quantile(0.99)
            )
        );
    }

    #[test]
    fn stddev_of_known_values() {
        let mut h = Histogram::new();
        for v in [2, 4, 4, 4, 5, 5, 7, 9] {
            h.record(v);
        }
        assert_eq!(h.stddev(), 2.0);
        assert_eq!(Histogram::new().stddev(), 0.0);
    }

    #[test]
    fn empty_histogram_reports_zeros() {
        let h = Histogram::new();
        assert_eq!(
            (h.count(), h.min(), h.max(), h.quantile(0.99)),
            (0, 0, 0, 0)
        );
        assert_eq!(h.mean(), 0.0);
    }
}
