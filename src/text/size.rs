//! Byte counts as httpd writes them: `apr_strfsize` for tables (server-status,
//! the balancer-manager, slotgate-top all show sizes this way), and mod_status's
//! `format_byte_out` / `format_kbyte_out` for its totals and rates.

/// `n` bytes in at most four characters, as httpd's `apr_strfsize`: below 973
/// the plain number (`972`); above, in K, M, G, T or P (powers of 1024), with one
/// decimal below 9.95 (`1.5K`, `9.9M`) and none from there (`10K`, `972K`),
/// switching to the next unit at 973 of the current one (`973K` is `1.0M`).
pub fn strfsize(n: u64) -> String {
    const UNITS: [&str; 5] = ["K", "M", "G", "T", "P"];
    if n < 973 {
        return n.to_string();
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 973.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if v < 9.95 {
        format!("{v:.1}{}", UNITS[unit])
    } else {
        format!("{v:.0}{}", UNITS[unit])
    }
}

/// Bytes as httpd's `format_byte_out` words them: `4095 B`, `12.5 kB`,
/// `3.1 MB`, `1.2 GB`.
pub fn byte_out(bytes: f64) -> String {
    const K: f64 = 1024.0;
    if bytes < 5.0 * K {
        format!("{} B", bytes as u64)
    } else if bytes < K * K / 2.0 {
        format!("{:.1} kB", bytes / K)
    } else if bytes < K * K * K / 2.0 {
        format!("{:.1} MB", bytes / K / K)
    } else {
        format!("{:.1} GB", bytes / K / K / K)
    }
}

/// Kilobytes as httpd's `format_kbyte_out`: `812 kB`, `3.1 MB`, `1.2 GB`.
pub fn kbyte_out(kbytes: u64) -> String {
    if kbytes < 1024 {
        format!("{kbytes} kB")
    } else if kbytes < 1024 * 1024 {
        format!("{:.1} MB", kbytes as f64 / 1024.0)
    } else {
        format!("{:.1} GB", kbytes as f64 / 1024.0 / 1024.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_apr_strfsize() {
        let cases: &[(u64, &str)] = &[
            (0, "0"),
            (972, "972"),
            (973, "1.0K"),
            (1024, "1.0K"),
            (1536, "1.5K"),
            (10_188, "9.9K"),
            (10_189, "10K"),
            (996_351, "973K"),
            (996_352, "1.0M"),
            (5 * 1024 * 1024, "5.0M"),
            (1024u64.pow(4) * 3, "3.0T"),
            (1024u64.pow(5) * 2000, "2000P"),
            (u64::MAX, "16384P"),
        ];
        for &(n, want) in cases {
            assert_eq!(strfsize(n), want, "{n}");
        }
    }

    #[test]
    fn status_totals_and_rates_as_mod_status() {
        assert_eq!(byte_out(4095.0), "4095 B");
        assert_eq!(byte_out(12.5 * 1024.0), "12.5 kB");
        assert_eq!(byte_out(3.1 * 1024.0 * 1024.0), "3.1 MB");
        assert_eq!(kbyte_out(812), "812 kB");
        assert_eq!(kbyte_out(1536), "1.5 MB");
        assert_eq!(kbyte_out(2 * 1024 * 1024), "2.0 GB");
    }
}
