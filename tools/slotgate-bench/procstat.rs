//! CPU time and proportional memory (PSS) of a process tree, from /proc.
//!
//! A proxy under test is the process `compare` started plus everything it
//! forked (nginx's and httpd's workers, slotgate's workers). Its CPU time is
//! the sum over that tree of `utime + stime + cutime + cstime` (fields 14–17
//! of `/proc/PID/stat`): the own time of every live process, plus the time of
//! the children each one has reaped. Taking the difference of two samples
//! then also counts a child that exited and was reaped between them (its whole
//! life lands in its parent's `cutime`, its earlier share was in the first
//! sample), which matters for prefork servers that recycle processes. Threads
//! are included in their process's figures.

use std::collections::HashMap;
use std::fs;

/// The fields of `/proc/PID/stat` we use; times are in clock ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub pid: i32,
    pub ppid: i32,
    pub utime: u64,
    pub stime: u64,
    pub cutime: u64,
    pub cstime: u64,
}

impl Stat {
    pub fn ticks(&self) -> u64 {
        self.utime + self.stime + self.cutime + self.cstime
    }
}

/// Parse one `/proc/PID/stat` line. The command name (field 2) is in
/// parentheses and may itself hold spaces and parentheses, so the fields are
/// counted from the *last* `)`.
pub fn parse_stat(line: &str) -> Option<Stat> {
    let open = line.find('(')?;
    let close = line.rfind(')')?;
    if close < open {
        return None;
    }
    let pid = line[..open].trim().parse().ok()?;
    // After ") " come field 3 (state), 4 (ppid), … so field N is index N - 3.
    let fields: Vec<&str> = line[close + 1..].split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).copied();
    Some(Stat {
        pid,
        ppid: field(4)?.parse().ok()?,
        utime: field(14)?.parse().ok()?,
        stime: field(15)?.parse().ok()?,
        // Reaped children's times are signed in the kernel's format.
        cutime: field(16)?.parse::<i64>().ok()?.max(0) as u64,
        cstime: field(17)?.parse::<i64>().ok()?.max(0) as u64,
    })
}

/// The `Pss:` line of `/proc/PID/smaps_rollup`, in KiB.
pub fn parse_pss_kib(text: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix("Pss:")?;
        let mut words = rest.split_whitespace();
        let value = words.next()?.parse().ok()?;
        match words.next() {
            Some("kB") | None => Some(value),
            _ => None,
        }
    })
}

/// Every process of the system, by pid.
fn all_stats() -> HashMap<i32, Stat> {
    let mut out = HashMap::new();
    let Ok(dir) = fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<i32>().ok()) else {
            continue;
        };
        // A process may exit between the listing and the read: skip it.
        if let Some(stat) = fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|l| parse_stat(&l))
        {
            out.insert(pid, stat);
        }
    }
    out
}

/// `root` and all its descendants among `stats` (root first).
pub fn tree_of(root: i32, stats: &HashMap<i32, Stat>) -> Vec<i32> {
    let mut children: HashMap<i32, Vec<i32>> = HashMap::new();
    for s in stats.values() {
        children.entry(s.ppid).or_default().push(s.pid);
    }
    let mut out = Vec::new();
    if !stats.contains_key(&root) {
        return out;
    }
    let mut queue = vec![root];
    while let Some(pid) = queue.pop() {
        out.push(pid);
        if let Some(c) = children.get(&pid) {
            queue.extend(c.iter().copied().filter(|c| *c != pid));
        }
    }
    out
}

/// Clock ticks per second (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
pub fn clock_ticks() -> f64 {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(t)) if t > 0 => t as f64,
        _ => 100.0,
    }
}

/// CPU seconds used so far by `root`'s process tree.
pub fn tree_cpu_seconds(root: i32) -> f64 {
    let stats = all_stats();
    let ticks: u64 = tree_of(root, &stats).iter().map(|p| stats[p].ticks()).sum();
    ticks as f64 / clock_ticks()
}

/// PSS of `root`'s process tree in KiB, and the number of processes in it.
pub fn tree_pss_kib(root: i32) -> (u64, usize) {
    let stats = all_stats();
    let tree = tree_of(root, &stats);
    let kib = tree
        .iter()
        .filter_map(|p| fs::read_to_string(format!("/proc/{p}/smaps_rollup")).ok())
        .filter_map(|t| parse_pss_kib(&t))
        .sum();
    (kib, tree.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_line_with_spaces_and_parentheses_in_the_name() {
        let line = "4242 (nginx: worker (x) ) S 4241 4241 4241 0 -1 4194624 1200 0 0 0 \
                    37 12 5 -1 20 0 1 0 123456 10000000 500 18446744073709551615 1 1 0 0 0 0 0 \
                    0 0 0 0 0 17 1 0 0 0 0 0";
        let s = parse_stat(line).unwrap();
        assert_eq!(
            s,
            Stat {
                pid: 4242,
                ppid: 4241,
                utime: 37,
                stime: 12,
                cutime: 5,
                cstime: 0,
            }
        );
        assert_eq!(s.ticks(), 54);
    }

    #[test]
    fn stat_line_from_this_process_parses() {
        let line = fs::read_to_string("/proc/self/stat").unwrap();
        let s = parse_stat(&line).unwrap();
        assert_eq!(s.pid, std::process::id() as i32);
        assert!(s.ppid > 0);
    }

    #[test]
    fn broken_stat_lines_are_refused() {
        assert_eq!(parse_stat(""), None);
        assert_eq!(parse_stat("12 (x"), None);
        assert_eq!(parse_stat("12 (x) S 1 2 3"), None);
        assert_eq!(parse_stat("x (y) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0"), None);
    }

    #[test]
    fn pss_from_smaps_rollup() {
        let text = "55d0c0a00000-7ffd4a1b5000 ---p 00000000 00:00 0    [rollup]\n\
                    Rss:                3320 kB\n\
                    Pss:                1234 kB\n\
                    Pss_Anon:            700 kB\n\
                    Shared_Clean:       2000 kB\n";
        assert_eq!(parse_pss_kib(text), Some(1234));
        assert_eq!(parse_pss_kib("Rss: 10 kB\n"), None);
        assert_eq!(parse_pss_kib("Pss: 10 MB\n"), None);
    }

    #[test]
    fn tree_follows_ppid_links() {
        let mut stats = HashMap::new();
        for (pid, ppid) in [(1, 0), (10, 1), (11, 10), (12, 10), (13, 11), (20, 1)] {
            stats.insert(
                pid,
                Stat {
                    pid,
                    ppid,
                    utime: 1,
                    stime: 0,
                    cutime: 0,
                    cstime: 0,
                },
            );
        }
        let mut t = tree_of(10, &stats);
        t.sort();
        assert_eq!(t, vec![10, 11, 12, 13]);
        assert_eq!(tree_of(99, &stats), Vec::<i32>::new());
    }

    #[test]
    fn own_tree_has_cpu_and_memory() {
        let me = std::process::id() as i32;
        assert!(tree_cpu_seconds(me) >= 0.0);
        let (kib, n) = tree_pss_kib(me);
        assert!(n >= 1);
        assert!(kib > 0, "PSS of this test process");
    }
}
