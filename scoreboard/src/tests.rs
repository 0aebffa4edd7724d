//! Unit tests. Every loop is bounded; timing is only used for "did not hang"
//! upper bounds and for the documented minimum waits, never for correctness.

use std::fs::{self, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::mem::{align_of, size_of};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult, Pid};

use crate::spinlock::{current_pid, pid_alive};
use crate::*;

/// A scratch directory under the system temp dir, removed on drop.
struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "slotgate-scoreboard-test-{}-{}-{}",
            std::process::id(),
            tag,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

const LAYOUT: Layout = Layout {
    processes: 3,
    balancers: 2,
    members: 5,
};

fn patch(path: &Path, offset: u64, bytes: &[u8]) {
    let mut f = OpenOptions::new().write(true).open(path).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    f.write_all(bytes).unwrap();
}

/// Creates a scoreboard file and drops the mapping.
fn fresh_file(dir: &TempDir, name: &str) -> PathBuf {
    let path = dir.file(name);
    Scoreboard::create(&path, LAYOUT).unwrap();
    path
}

fn addr<T>(r: &T) -> usize {
    r as *const T as usize
}

// ---------------------------------------------------------------------------
// Layout
// ---------------------------------------------------------------------------

#[test]
fn record_sizes_are_cache_line_multiples() {
    assert_eq!(size_of::<Header>(), HEADER_SIZE);
    assert_eq!(size_of::<ProcessSlot>(), PROCESS_SLOT_SIZE);
    assert_eq!(size_of::<BalancerSlot>(), BALANCER_SLOT_SIZE);
    assert_eq!(size_of::<MemberSlot>(), MEMBER_SLOT_SIZE);
    for (size, align) in [
        (size_of::<Header>(), align_of::<Header>()),
        (size_of::<ProcessSlot>(), align_of::<ProcessSlot>()),
        (size_of::<BalancerSlot>(), align_of::<BalancerSlot>()),
        (size_of::<MemberSlot>(), align_of::<MemberSlot>()),
    ] {
        assert_eq!(size % 64, 0);
        assert_eq!(align, 64);
    }
    assert_eq!(SeqStr::<12>::CAPACITY, 96);
    assert_eq!(SeqStr::<48>::CAPACITY, 384);
}

#[test]
fn layout_offsets_add_up() {
    let l = LAYOUT;
    assert_eq!(l.process_offset(), HEADER_SIZE);
    assert_eq!(l.balancer_offset(), HEADER_SIZE + 3 * PROCESS_SLOT_SIZE);
    assert_eq!(
        l.member_offset(),
        HEADER_SIZE + 3 * PROCESS_SLOT_SIZE + 2 * BALANCER_SLOT_SIZE
    );
    assert_eq!(
        l.held_offset(),
        HEADER_SIZE + 3 * PROCESS_SLOT_SIZE + 2 * BALANCER_SLOT_SIZE + 5 * MEMBER_SLOT_SIZE
    );
    // 5 members * 4 bytes, padded to one cache line per process row.
    assert_eq!(l.held_row_stride(), 64);
    assert_eq!(l.file_size(), l.held_offset() + 3 * 64);
    let empty = Layout {
        processes: 0,
        balancers: 0,
        members: 0,
    };
    assert_eq!(empty.held_row_stride(), 0);
    assert_eq!(empty.file_size(), HEADER_SIZE);
    for off in [
        l.balancer_offset(),
        l.member_offset(),
        l.held_offset(),
        l.file_size(),
    ] {
        assert_eq!(off % 64, 0);
    }
}

#[test]
fn held_matrix_rows_are_padded_to_cache_lines() {
    let with = |processes, members| Layout {
        processes,
        balancers: 1,
        members,
    };
    for (members, stride) in [(1, 64), (15, 64), (16, 64), (17, 128), (32, 128), (33, 192)] {
        let l = with(7, members);
        assert_eq!(l.held_row_stride(), stride, "{members} members");
        assert!(l.held_row_stride() >= members as usize * HELD_ENTRY_SIZE);
        assert_eq!(
            l.held_offset(),
            HEADER_SIZE
                + 7 * PROCESS_SLOT_SIZE
                + BALANCER_SLOT_SIZE
                + members as usize * MEMBER_SLOT_SIZE
        );
        assert_eq!(l.file_size(), l.held_offset() + 7 * stride);
    }
    // Members but no processes, or processes but no members: no matrix.
    assert_eq!(with(0, 40).file_size(), with(0, 40).held_offset());
    assert_eq!(with(9, 0).file_size(), with(9, 0).held_offset());
    // The biggest counts accepted still do not saturate.
    let max = Layout {
        processes: MAX_SLOTS,
        balancers: MAX_SLOTS,
        members: MAX_SLOTS,
    };
    assert!(max.file_size() < usize::MAX);
    assert_eq!(
        max.file_size() - max.held_offset(),
        MAX_SLOTS as usize * MAX_SLOTS as usize * HELD_ENTRY_SIZE
    );
}

#[test]
fn held_entries_sit_where_the_layout_says() {
    let dir = TempDir::new("held-addr");
    let layout = Layout {
        processes: 3,
        balancers: 0,
        members: 20,
    };
    let path = dir.file("sb");
    let sb = Scoreboard::create(&path, layout).unwrap();
    assert_eq!(
        fs::metadata(&path).unwrap().len(),
        layout.file_size() as u64
    );
    let base = addr(sb.header());
    let stride = layout.held_row_stride();
    assert_eq!(stride, 128);
    for p in 0..3 {
        for m in 0..20 {
            assert_eq!(
                addr(sb.held(p, m)) - base,
                layout.held_offset() + p * stride + m * HELD_ENTRY_SIZE
            );
            assert_eq!(sb.held(p, m).load(Ordering::Relaxed), 0);
        }
    }
    assert!(addr(sb.held(2, 19)) - base + HELD_ENTRY_SIZE <= layout.file_size());
    // The header records the matrix offset (a u64 at byte 72).
    let bytes = fs::read(&path).unwrap();
    let recorded = u64::from_ne_bytes(bytes[72..80].try_into().unwrap());
    assert_eq!(recorded, layout.held_offset() as u64);
}

#[test]
fn create_then_attach_sees_same_layout() {
    let dir = TempDir::new("layout");
    let path = dir.file("sb");
    let before = unix_time_secs();
    let sb = Scoreboard::create(&path, LAYOUT).unwrap();
    let after = unix_time_secs();

    assert_eq!(
        fs::metadata(&path).unwrap().len(),
        LAYOUT.file_size() as u64
    );
    assert_eq!(&fs::read(&path).unwrap()[..8], &MAGIC);
    assert_eq!(sb.layout(), LAYOUT);
    assert_eq!(sb.path(), path.as_path());
    assert!(!sb.is_read_only());

    let h = sb.header();
    assert_eq!(h.magic(), MAGIC);
    assert_eq!(h.version(), (VERSION_MAJOR, VERSION_MINOR));
    assert_eq!(h.total_size(), LAYOUT.file_size() as u64);
    assert_eq!(h.phase(), Some(Phase::Starting));
    assert_eq!(h.generation(), 0);
    assert_eq!(h.supervisor_pid(), current_pid());
    assert!(before <= h.start_time() && h.start_time() <= after);
    assert_eq!(h.restarts(), 0);
    assert!(h.ports().is_empty());

    assert_eq!(sb.processes().len(), 3);
    assert_eq!(sb.balancers().len(), 2);
    assert_eq!(sb.members().len(), 5);
    let base = addr(h);
    assert_eq!(addr(sb.process(0)) - base, LAYOUT.process_offset());
    assert_eq!(addr(sb.process(2)) - base, LAYOUT.process_offset() + 256);
    assert_eq!(addr(sb.balancer(0)) - base, LAYOUT.balancer_offset());
    assert_eq!(addr(sb.member(0)) - base, LAYOUT.member_offset());
    assert_eq!(
        addr(sb.member(4)) - base + MEMBER_SLOT_SIZE,
        LAYOUT.held_offset()
    );
    assert_eq!(addr(sb.held(0, 0)) - base, LAYOUT.held_offset());
    // Fresh slots are empty.
    for p in sb.processes() {
        assert_eq!(
            (p.pid(), p.state(), p.requests()),
            (0, ProcessState::Empty, 0)
        );
    }
    for m in sb.members() {
        assert!(!m.in_use());
        assert_eq!(m.url.get(), "");
    }

    let other = Scoreboard::attach(&path).unwrap();
    assert_eq!(other.layout(), LAYOUT);
    assert_eq!(other.header().version(), (VERSION_MAJOR, VERSION_MINOR));
    let ro = Scoreboard::attach_readonly(&path).unwrap();
    assert_eq!(ro.layout(), LAYOUT);
    assert!(ro.is_read_only());
}

#[test]
fn values_are_visible_across_mappings() {
    let dir = TempDir::new("visible");
    let path = dir.file("sb");
    let a = Scoreboard::create(&path, LAYOUT).unwrap();
    let b = Scoreboard::attach(&path).unwrap();
    let r = Scoreboard::attach_readonly(&path).unwrap();

    a.process(1).add_request();
    a.process(1).add_bytes_out(1500);
    assert_eq!(b.process(1).requests(), 1);
    assert_eq!(r.process(1).bytes_out(), 1500);

    b.member(4).url.set("http://10.0.0.7:8080");
    b.member(4).add_error();
    assert_eq!(a.member(4).url.get(), "http://10.0.0.7:8080");
    assert_eq!(r.member(4).errors(), 1);

    b.header().set_phase(Phase::Running);
    b.header().set_ports(&[8080]);
    assert_eq!(a.header().phase(), Some(Phase::Running));
    assert_eq!(r.header().ports(), vec![8080]);

    a.balancer(1).name.set("balancer://app");
    assert_eq!(r.balancer(1).name.get(), "balancer://app");

    // The read-only view keeps following the file...
    a.header().set_generation(5);
    assert_eq!(r.header().generation(), 5);
    // ...and a store through it stays private to this process.
    r.process(0).add_request();
    assert_eq!(a.process(0).requests(), 0);
    assert_eq!(b.process(0).requests(), 0);
}

#[test]
fn readonly_attach_needs_only_read_permission() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("perm");
    let path = fresh_file(&dir, "sb");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o444)).unwrap();
    let ro = Scoreboard::attach_readonly(&path).unwrap();
    assert_eq!(ro.layout(), LAYOUT);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        match Scoreboard::attach(&path) {
            Err(Error::Io { op: "open", .. }) => {}
            other => panic!("expected Io open error, got {other:?}"),
        }
    }
}

#[test]
fn create_replaces_atomically_and_leaves_no_temp_file() {
    let dir = TempDir::new("replace");
    let path = dir.file("sb");
    let old = Scoreboard::create(&path, LAYOUT).unwrap();
    old.process(0).add_request();
    let small = Layout {
        processes: 1,
        balancers: 0,
        members: 1,
    };
    let new = Scoreboard::create(&path, small).unwrap();
    assert_eq!(new.process(0).requests(), 0);
    // The old mapping still works and is now detached from the path.
    old.process(0).add_request();
    assert_eq!(old.process(0).requests(), 2);
    let again = Scoreboard::attach(&path).unwrap();
    assert_eq!(again.layout(), small);
    assert_eq!(again.process(0).requests(), 0);

    let names: Vec<_> = fs::read_dir(&dir.path)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("sb")]);
}

#[test]
fn create_in_missing_directory_is_io_error() {
    let dir = TempDir::new("missing-dir");
    let path = dir.file("no/such/dir/sb");
    match Scoreboard::create(&path, LAYOUT) {
        Err(e @ Error::Io { .. }) => {
            assert_eq!(e.path(), path.as_path());
            assert!(e.to_string().contains(&*path.to_string_lossy()), "{e}");
            assert!(std::error::Error::source(&e).is_some());
        }
        other => panic!("expected Io error, got {other:?}"),
    }
}

#[test]
fn create_rejects_absurd_counts() {
    let dir = TempDir::new("absurd");
    let path = dir.file("sb");
    let huge = Layout {
        processes: MAX_SLOTS + 1,
        balancers: 0,
        members: 0,
    };
    assert!(matches!(
        Scoreboard::create(&path, huge),
        Err(Error::BadLayout { .. })
    ));
    assert!(!path.exists());
}

#[test]
#[should_panic(expected = "process slot 3 out of range")]
fn out_of_range_index_panics_clearly() {
    let dir = TempDir::new("range");
    let sb = Scoreboard::create(&dir.file("sb"), LAYOUT).unwrap();
    let _ = sb.process(3);
}

// ---------------------------------------------------------------------------
// Attaching bad files
// ---------------------------------------------------------------------------

#[test]
fn attach_missing_file_is_io_error() {
    let dir = TempDir::new("nofile");
    let path = dir.file("absent");
    match Scoreboard::attach(&path) {
        Err(Error::Io { op, source, .. }) => {
            assert_eq!(op, "open");
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected Io error, got {other:?}"),
    }
    assert!(matches!(
        Scoreboard::attach_readonly(&path),
        Err(Error::Io { .. })
    ));
}

#[test]
fn attach_empty_file_is_truncated() {
    let dir = TempDir::new("empty");
    let path = dir.file("sb");
    fs::write(&path, b"").unwrap();
    match Scoreboard::attach(&path) {
        Err(Error::Truncated {
            expected, found, ..
        }) => assert_eq!((expected, found), (HEADER_SIZE as u64, 0)),
        other => panic!("expected Truncated, got {other:?}"),
    }
}

#[test]
fn attach_file_shorter_than_header() {
    let dir = TempDir::new("short");
    let full = fresh_file(&dir, "full");
    let bytes = fs::read(&full).unwrap();

    // A cut-off scoreboard.
    let path = dir.file("cut");
    fs::write(&path, &bytes[..100]).unwrap();
    match Scoreboard::attach(&path) {
        Err(Error::Truncated {
            expected, found, ..
        }) => assert_eq!((expected, found), (HEADER_SIZE as u64, 100)),
        other => panic!("expected Truncated, got {other:?}"),
    }
    // Even a cut inside the magic is recognised as a cut scoreboard.
    fs::write(&path, &bytes[..3]).unwrap();
    assert!(matches!(
        Scoreboard::attach(&path),
        Err(Error::Truncated { found: 3, .. })
    ));
    // A short foreign file.
    fs::write(&path, b"hello, world\n").unwrap();
    assert!(matches!(
        Scoreboard::attach_readonly(&path),
        Err(Error::BadMagic { .. })
    ));
}

#[test]
fn attach_wrong_magic() {
    let dir = TempDir::new("magic");
    let path = fresh_file(&dir, "sb");
    patch(&path, 0, b"X");
    assert!(matches!(
        Scoreboard::attach(&path),
        Err(Error::BadMagic { .. })
    ));
    // All zeros of the right size.
    let zeros = dir.file("zeros");
    fs::write(&zeros, vec![0u8; LAYOUT.file_size()]).unwrap();
    assert!(matches!(
        Scoreboard::attach_readonly(&zeros),
        Err(Error::BadMagic { .. })
    ));
}

#[test]
fn attach_wrong_major_version() {
    let dir = TempDir::new("major");
    let path = fresh_file(&dir, "sb");
    patch(&path, 8, &3u16.to_ne_bytes());
    patch(&path, 10, &0u16.to_ne_bytes());
    match Scoreboard::attach(&path) {
        Err(e @ Error::IncompatibleVersion { .. }) => {
            assert!(matches!(
                e,
                Error::IncompatibleVersion {
                    found_major: 3,
                    found_minor: 0,
                    ..
                }
            ));
            assert_eq!(
                e.to_string(),
                format!(
                    "scoreboard {}: was written by layout version 3.0, this build reads 2.x",
                    path.display()
                )
            );
        }
        other => panic!("expected IncompatibleVersion, got {other:?}"),
    }
}

#[test]
fn attach_accepts_other_minor_version() {
    let dir = TempDir::new("minor");
    let path = fresh_file(&dir, "sb");
    patch(&path, 10, &7u16.to_ne_bytes());
    let sb = Scoreboard::attach(&path).unwrap();
    assert_eq!(sb.header().version(), (VERSION_MAJOR, 7));
    assert_eq!(sb.layout(), LAYOUT);
}

/// A header as layout version 1.0 wrote it (no held matrix, no
/// `held_offset`; supervisor state started at byte 72), followed by
/// zero-filled slots, `file_size` bytes in all.
fn v1_file(layout: Layout) -> Vec<u8> {
    let member_offset = layout.member_offset();
    let v1_size = member_offset + layout.members as usize * MEMBER_SLOT_SIZE;
    let mut bytes = vec![0u8; v1_size];
    let mut put = |at: usize, b: &[u8]| bytes[at..at + b.len()].copy_from_slice(b);
    put(0, &MAGIC);
    put(8, &1u16.to_ne_bytes());
    put(10, &0u16.to_ne_bytes());
    put(12, &(HEADER_SIZE as u32).to_ne_bytes());
    put(16, &(v1_size as u64).to_ne_bytes());
    put(24, &layout.processes.to_ne_bytes());
    put(28, &layout.balancers.to_ne_bytes());
    put(32, &layout.members.to_ne_bytes());
    put(36, &(PROCESS_SLOT_SIZE as u32).to_ne_bytes());
    put(40, &(BALANCER_SLOT_SIZE as u32).to_ne_bytes());
    put(44, &(MEMBER_SLOT_SIZE as u32).to_ne_bytes());
    put(48, &(layout.process_offset() as u64).to_ne_bytes());
    put(56, &(layout.balancer_offset() as u64).to_ne_bytes());
    put(64, &(member_offset as u64).to_ne_bytes());
    put(72, &1234i32.to_ne_bytes()); // supervisor pid
    put(76, &(Phase::Running as u32).to_ne_bytes());
    bytes
}

#[test]
fn attach_v1_file_is_incompatible() {
    let dir = TempDir::new("v1");
    let path = dir.file("sb");
    let bytes = v1_file(LAYOUT);
    assert!(bytes.len() < LAYOUT.file_size());
    fs::write(&path, &bytes).unwrap();
    for attach in [Scoreboard::attach, Scoreboard::attach_readonly] {
        match attach(&path) {
            Err(e @ Error::IncompatibleVersion { .. }) => {
                assert!(matches!(
                    e,
                    Error::IncompatibleVersion {
                        found_major: 1,
                        found_minor: 0,
                        ..
                    }
                ));
                assert!(
                    e.to_string()
                        .ends_with("was written by layout version 1.0, this build reads 2.x"),
                    "{e}"
                );
            }
            other => panic!("expected IncompatibleVersion, got {other:?}"),
        }
    }
    // Even when the v1 file happens to have the v2 length.
    let mut padded = bytes;
    padded.resize(LAYOUT.file_size(), 0);
    fs::write(&path, &padded).unwrap();
    assert!(matches!(
        Scoreboard::attach(&path),
        Err(Error::IncompatibleVersion { found_major: 1, .. })
    ));
    // Recreating replaces it with a current file.
    let sb = Scoreboard::create(&path, LAYOUT).unwrap();
    assert_eq!(sb.header().version(), (VERSION_MAJOR, VERSION_MINOR));
    assert!(Scoreboard::attach(&path).is_ok());
}

#[test]
fn attach_held_offset_not_matching_counts() {
    let dir = TempDir::new("held-offset");
    for wrong in [
        0u64,
        LAYOUT.member_offset() as u64,
        LAYOUT.held_offset() as u64 + 64,
        u64::MAX,
    ] {
        let path = fresh_file(&dir, "sb");
        patch(&path, 72, &wrong.to_ne_bytes());
        match Scoreboard::attach(&path) {
            Err(e @ Error::BadLayout { .. }) => {
                assert!(e.to_string().contains("region offsets"), "{e}");
            }
            other => panic!("expected BadLayout for held_offset {wrong}, got {other:?}"),
        }
    }
}

#[test]
fn attach_total_size_not_matching_counts() {
    let dir = TempDir::new("total");
    let path = fresh_file(&dir, "sb");
    let wrong = LAYOUT.file_size() as u64 + 1024;
    patch(&path, 16, &wrong.to_ne_bytes());
    assert!(matches!(
        Scoreboard::attach(&path),
        Err(Error::BadLayout { .. })
    ));

    // A count that disagrees with total_size.
    let path = fresh_file(&dir, "sb2");
    patch(&path, 32, &(LAYOUT.members + 1).to_ne_bytes());
    assert!(matches!(
        Scoreboard::attach(&path),
        Err(Error::BadLayout { .. })
    ));

    // A count that disagrees with the region offsets.
    let path = fresh_file(&dir, "sb3");
    patch(&path, 24, &(LAYOUT.processes + 1).to_ne_bytes());
    assert!(matches!(
        Scoreboard::attach(&path),
        Err(Error::BadLayout { .. })
    ));

    // Absurd counts must not overflow anything.
    let path = fresh_file(&dir, "sb4");
    patch(&path, 24, &[0xff; 12]);
    assert!(matches!(
        Scoreboard::attach(&path),
        Err(Error::BadLayout { .. })
    ));

    // A different header size.
    let path = fresh_file(&dir, "sb5");
    patch(&path, 12, &1024u32.to_ne_bytes());
    assert!(matches!(
        Scoreboard::attach(&path),
        Err(Error::BadLayout { .. })
    ));
}

#[test]
fn attach_file_truncated_or_grown_after_creation() {
    let dir = TempDir::new("trunc");
    let path = fresh_file(&dir, "sb");
    let full = LAYOUT.file_size() as u64;
    let f = OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(full - 1000).unwrap();
    match Scoreboard::attach(&path) {
        Err(e @ Error::Truncated { .. }) => {
            assert!(matches!(e, Error::Truncated { expected, found, .. }
                if expected == full && found == full - 1000));
            assert!(e.to_string().contains("truncated"), "{e}");
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    f.set_len(full + 4096).unwrap();
    assert!(matches!(
        Scoreboard::attach_readonly(&path),
        Err(Error::BadLayout { .. })
    ));
    f.set_len(full).unwrap();
    assert!(Scoreboard::attach(&path).is_ok());
}

#[test]
fn attach_never_panics_on_corrupt_headers() {
    let dir = TempDir::new("fuzz");
    let good = fs::read(fresh_file(&dir, "good")).unwrap();
    let path = dir.file("sb");
    // Deterministic xorshift; 300 variants with random bytes in the first
    // 128 header bytes, keeping magic and major version most of the time so
    // that the deeper checks are reached.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut accepted = 0;
    for round in 0..300 {
        let mut bytes = good.clone();
        for _ in 0..(1 + next() % 4) {
            let at = (next() % 128) as usize;
            bytes[at] = next() as u8;
        }
        if round % 4 != 0 {
            bytes[..8].copy_from_slice(&MAGIC);
            bytes[8..10].copy_from_slice(&VERSION_MAJOR.to_ne_bytes());
        }
        fs::write(&path, &bytes).unwrap();
        if let Ok(sb) = Scoreboard::attach(&path) {
            accepted += 1;
            // Whatever got accepted must be fully readable.
            let _ = format!("{:?}", sb.header());
            for p in sb.processes() {
                let _ = (p.pid(), p.state(), p.requests());
            }
            for b in sb.balancers() {
                let _ = (b.name.get(), b.sticky_separator());
            }
            for m in sb.members() {
                let _ = (m.url.get(), flags::display(m.status()));
            }
        }
    }
    // Supervisor-state bytes (beyond the first line) are legitimately free.
    assert!(accepted > 0);
}

#[test]
fn error_messages_name_the_path() {
    let p = PathBuf::from("/x/y");
    let e = Error::BadMagic { path: p.clone() };
    assert_eq!(
        e.to_string(),
        "scoreboard /x/y: not a slotgate scoreboard (bad magic)"
    );
    let e = Error::Truncated {
        path: p.clone(),
        expected: 4096,
        found: 100,
    };
    assert_eq!(
        e.to_string(),
        "scoreboard /x/y: file is truncated: 100 bytes, expected 4096 bytes"
    );
    let e = Error::BadLayout {
        path: p.clone(),
        reason: "because".into(),
    };
    assert_eq!(
        e.to_string(),
        "scoreboard /x/y: inconsistent layout: because"
    );
    let e = Error::Io {
        path: p,
        op: "open",
        source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
    };
    assert!(e.to_string().starts_with("scoreboard /x/y: cannot open: "));
}

// ---------------------------------------------------------------------------
// Sequence-locked strings
// ---------------------------------------------------------------------------

#[test]
fn seqstr_round_trip() {
    let s = SeqStr::<4>::new();
    assert_eq!(s.get(), "");
    assert!(s.set("hello"));
    assert_eq!(s.get(), "hello");
    assert_eq!(s.try_get().as_deref(), Some("hello"));
    let exact = "0123456789abcdef0123456789abcdef";
    assert!(s.set(exact));
    assert_eq!(s.get(), exact);
    // A shorter value leaves no trace of the longer one.
    assert!(s.set("hi"));
    assert_eq!(s.get(), "hi");
    assert!(s.set("Grüße, 世界"));
    assert_eq!(s.get(), "Grüße, 世界");
    s.clear();
    assert_eq!(s.get(), "");
    assert_eq!(s.seq() % 2, 0);
}

#[test]
fn seqstr_with_sees_what_get_returns() {
    let s = SeqStr::<48>::new();
    s.with(|v| assert_eq!(v, ""));
    let long = "x".repeat(SeqStr::<48>::CAPACITY);
    assert!(s.set(&long));
    s.with(|v| assert_eq!(v, long));
    assert!(s.set("Grüße"));
    assert_eq!(s.with(str::len), "Grüße".len());
    let small = SeqStr::<2>::new();
    assert!(small.set("route1"));
    assert_eq!(small.with(|v| v.to_string()), small.get());
}

#[test]
fn seqstr_truncates_at_char_boundary() {
    let s = SeqStr::<2>::new();
    assert_eq!(SeqStr::<2>::CAPACITY, 16);
    assert!(!s.set("0123456789abcdefXYZ"));
    assert_eq!(s.get(), "0123456789abcdef");
    // 14 ASCII bytes + a 3-byte char crossing the 16-byte limit.
    assert!(!s.set("aaaaaaaaaaaaaa€"));
    assert_eq!(s.get(), "aaaaaaaaaaaaaa");
    // 2-byte chars that fill exactly 16 bytes, then one too many.
    assert!(s.set("éééééééé"));
    assert_eq!(s.get(), "éééééééé");
    assert!(!s.set("ééééééééé"));
    assert_eq!(s.get(), "éééééééé");
}

#[test]
fn seqstr_readers_never_see_torn_values() {
    let dir = TempDir::new("torn");
    let path = dir.file("sb");
    let writer_sb = Arc::new(Scoreboard::create(&path, LAYOUT).unwrap());
    let reader_sb = Arc::new(Scoreboard::attach(&path).unwrap());
    let a: String = format!("http://a/{}", "a".repeat(20));
    let b: String = "b".repeat(300);
    writer_sb.member(2).url.set(&a);

    let done = Arc::new(AtomicBool::new(false));
    let seen_b = Arc::new(AtomicU64::new(0));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let sb = Arc::clone(&reader_sb);
            let (a, b) = (a.clone(), b.clone());
            let done = Arc::clone(&done);
            let seen_b = Arc::clone(&seen_b);
            std::thread::spawn(move || {
                let mut reads = 0u64;
                while !done.load(Ordering::Acquire) && reads < 50_000_000 {
                    // A reader gives up after SEQ_READER_GIVE_UP when the writer
                    // stalls mid-write (a loaded machine can preempt it that
                    // long); `try_get` says so with None. What it returns as
                    // consistent must never be torn.
                    let Some(v) = sb.member(2).url.try_get() else {
                        reads += 1;
                        continue;
                    };
                    if v == b {
                        seen_b.fetch_add(1, Ordering::Relaxed);
                    } else {
                        assert_eq!(v, a, "torn read after {reads} reads");
                    }
                    reads += 1;
                }
                reads
            })
        })
        .collect();

    let writer = {
        let sb = Arc::clone(&writer_sb);
        let (a, b) = (a.clone(), b.clone());
        std::thread::spawn(move || {
            for i in 0..200_000u32 {
                sb.member(2).url.set(if i % 2 == 0 { &b } else { &a });
                if i % 16 == 0 {
                    std::thread::yield_now();
                }
            }
        })
    };
    writer.join().unwrap();
    done.store(true, Ordering::Release);
    let total: u64 = readers.into_iter().map(|r| r.join().unwrap()).sum();
    assert!(total > 0);
    // Last write (i = 199_999) stored `a`.
    assert_eq!(reader_sb.member(2).url.get(), a);
    // Both values were observed, so reads did overlap writes.
    assert!(seen_b.load(Ordering::Relaxed) > 0);
}

#[test]
fn seqstr_survives_a_writer_that_died_mid_write() {
    let s = SeqStr::<4>::new();
    s.set("before");
    // A writer took the sequence (odd) and never finished.
    s.force_seq(s.seq() + 1);

    let t = Instant::now();
    assert_eq!(s.try_get(), None);
    assert!(t.elapsed() >= SEQ_READER_GIVE_UP);
    // get() gives up too and returns the (here intact) bytes.
    assert_eq!(s.get(), "before");

    // The next writer takes over once the sequence has been stuck long enough.
    let t = Instant::now();
    assert!(s.set("after"));
    let waited = t.elapsed();
    assert!(waited >= SEQ_WRITER_TAKEOVER, "{waited:?}");
    assert!(waited < Duration::from_secs(30), "{waited:?}");
    assert_eq!(s.seq() % 2, 0);
    assert_eq!(s.try_get().as_deref(), Some("after"));
}

#[test]
fn seqstr_decodes_garbage_lossily() {
    let dir = TempDir::new("garbage");
    let path = fresh_file(&dir, "sb");
    // member 0's url: seq at +8, len at +12, words from +16.
    let url = LAYOUT.member_offset() as u64 + 8;
    patch(&path, url + 4, &u32::MAX.to_ne_bytes());
    patch(&path, url + 8, &[0xff, 0xfe, b'o', b'k']);
    let sb = Scoreboard::attach(&path).unwrap();
    let v = sb.member(0).url.get();
    // Length clamped to the capacity, invalid bytes replaced.
    assert!(v.starts_with("\u{fffd}\u{fffd}ok"), "{v:?}");
    assert_eq!(v.len(), 2 * 3 + 2 + (SeqStr::<48>::CAPACITY - 4));
}

// ---------------------------------------------------------------------------
// Held counts
// ---------------------------------------------------------------------------

fn held_row(sb: &Scoreboard, process: usize) -> Vec<u32> {
    (0..sb.members().len())
        .map(|m| sb.held(process, m).load(Ordering::Relaxed))
        .collect()
}

#[test]
fn held_counts_per_process_and_member() {
    let dir = TempDir::new("held");
    let path = dir.file("sb");
    let sb = Scoreboard::create(&path, LAYOUT).unwrap();
    let other = Scoreboard::attach(&path).unwrap();
    let ro = Scoreboard::attach_readonly(&path).unwrap();
    for p in 0..3 {
        for m in 0..5 {
            // Distinct value per entry: any overlap of rows or columns shows.
            sb.held(p, m)
                .store((10 * p + m + 1) as u32, Ordering::Relaxed);
        }
    }
    for p in 0..3 {
        for m in 0..5 {
            let want = (10 * p + m + 1) as u32;
            assert_eq!(other.held(p, m).load(Ordering::Relaxed), want);
            assert_eq!(ro.held(p, m).load(Ordering::Relaxed), want);
        }
    }
    other.held(1, 4).fetch_add(5, Ordering::Relaxed);
    other.held(1, 4).fetch_sub(1, Ordering::Relaxed);
    assert_eq!(sb.held(1, 4).load(Ordering::Relaxed), 15 + 4);
    assert_eq!(held_row(&sb, 0), vec![1, 2, 3, 4, 5]);
    assert_eq!(held_row(&sb, 2), vec![21, 22, 23, 24, 25]);
    // The held matrix is a region of its own: slot records are unaffected.
    for m in sb.members() {
        assert_eq!(m.busy(), 0);
    }
    for p in sb.processes() {
        assert_eq!(p.requests(), 0);
    }
}

#[test]
fn process_slot_reset_and_clear_leave_held_counts_alone() {
    let dir = TempDir::new("held-clear");
    let sb = Scoreboard::create(&dir.file("sb"), LAYOUT).unwrap();
    sb.held(1, 0).store(2, Ordering::Relaxed);
    sb.held(1, 3).store(7, Ordering::Relaxed);
    sb.process(1).reset_for(4242, 1);
    sb.process(1).add_request();
    sb.process(1).clear();
    assert_eq!(held_row(&sb, 1), vec![2, 0, 0, 7, 0]);
    sb.process(1).reset_for(4343, 2);
    assert_eq!(held_row(&sb, 1), vec![2, 0, 0, 7, 0]);
    // Clearing a member slot does not touch its column either.
    sb.member(3).clear();
    assert_eq!(sb.held(1, 3).load(Ordering::Relaxed), 7);
}

#[test]
fn release_held_subtracts_exactly_and_floors_busy() {
    let dir = TempDir::new("release");
    let sb = Scoreboard::create(&dir.file("sb"), LAYOUT).unwrap();
    let busy = |v: [i64; 5]| {
        for (m, b) in v.into_iter().enumerate() {
            sb.member(m).set_busy(b);
        }
    };
    let busies = || sb.members().iter().map(|m| m.busy()).collect::<Vec<_>>();
    let set_row = |p: usize, v: [u32; 5]| {
        for (m, n) in v.into_iter().enumerate() {
            sb.held(p, m).store(n, Ordering::Relaxed);
        }
    };

    busy([10, 7, 0, 3, 20]);
    set_row(0, [3, 0, 0, 1, 20]);
    set_row(1, [4, 7, 0, 0, 0]);
    set_row(2, [1, 0, 0, 2, 0]);
    assert_eq!(sb.release_held(1), 11);
    assert_eq!(busies(), vec![6, 0, 0, 3, 20]);
    assert_eq!(held_row(&sb, 1), vec![0; 5]);
    // Other rows are untouched.
    assert_eq!(held_row(&sb, 0), vec![3, 0, 0, 1, 20]);
    assert_eq!(held_row(&sb, 2), vec![1, 0, 0, 2, 0]);
    // Releasing again gives nothing back.
    assert_eq!(sb.release_held(1), 0);
    assert_eq!(busies(), vec![6, 0, 0, 3, 20]);

    // busy lower than what is held (e.g. reset meanwhile): floors at 0,
    // and the return value is still what the process held.
    busy([2, 0, 5, 0, 25]);
    assert_eq!(sb.release_held(0), 24);
    assert_eq!(busies(), vec![0, 0, 5, 0, 5]);
    assert_eq!(held_row(&sb, 0), vec![0; 5]);

    // Counts near u32::MAX add up in u64.
    set_row(2, [u32::MAX, u32::MAX, 0, 0, 1]);
    busy([i64::MAX, 1, 1, 1, 1]);
    assert_eq!(sb.release_held(2), 2 * u64::from(u32::MAX) + 1);
    assert_eq!(busies(), vec![i64::MAX - i64::from(u32::MAX), 0, 1, 1, 0]);
}

#[test]
fn release_held_on_a_scoreboard_without_members() {
    let dir = TempDir::new("release-none");
    let layout = Layout {
        processes: 2,
        balancers: 1,
        members: 0,
    };
    let sb = Scoreboard::create(&dir.file("sb"), layout).unwrap();
    assert_eq!(sb.release_held(1), 0);
}

#[test]
#[should_panic(expected = "process slot 3 out of range (3 process slots)")]
fn held_process_out_of_range_panics_clearly() {
    let dir = TempDir::new("held-range-p");
    let sb = Scoreboard::create(&dir.file("sb"), LAYOUT).unwrap();
    let _ = sb.held(3, 0);
}

#[test]
#[should_panic(expected = "member slot 5 out of range (5 member slots)")]
fn held_member_out_of_range_panics_clearly() {
    let dir = TempDir::new("held-range-m");
    let sb = Scoreboard::create(&dir.file("sb"), LAYOUT).unwrap();
    let _ = sb.held(2, 5);
}

#[test]
#[should_panic(expected = "process slot 7 out of range (3 process slots)")]
fn release_held_out_of_range_panics_clearly() {
    let dir = TempDir::new("release-range");
    let sb = Scoreboard::create(&dir.file("sb"), LAYOUT).unwrap();
    let _ = sb.release_held(7);
}

#[test]
fn sub_busy_floors_at_zero() {
    let dir = TempDir::new("sub-busy");
    let sb = Scoreboard::create(&dir.file("sb"), LAYOUT).unwrap();
    let m = sb.member(0);
    m.set_busy(5);
    m.sub_busy(2);
    assert_eq!(m.busy(), 3);
    m.sub_busy(0);
    m.sub_busy(-4);
    assert_eq!(m.busy(), 3, "n <= 0 changes nothing");
    m.sub_busy(3);
    assert_eq!(m.busy(), 0);
    m.sub_busy(1);
    assert_eq!(m.busy(), 0);
    m.set_busy(4);
    m.sub_busy(i64::MAX);
    assert_eq!(m.busy(), 0);
    // Like dec_busy, a (corrupt) negative value is left alone.
    m.set_busy(-4);
    m.sub_busy(1);
    m.dec_busy();
    assert_eq!(m.busy(), -4);
}

#[test]
fn layout_fits_in() {
    let l = |processes, balancers, members| Layout {
        processes,
        balancers,
        members,
    };
    let file = l(8, 2, 10);
    assert!(file.fits_in(&file));
    assert!(l(0, 0, 0).fits_in(&file));
    assert!(l(8, 1, 10).fits_in(&file));
    assert!(l(4, 2, 3).fits_in(&file));
    assert!(!l(9, 2, 10).fits_in(&file));
    assert!(!l(8, 3, 10).fits_in(&file));
    assert!(!l(8, 2, 11).fits_in(&file));
    assert!(!file.fits_in(&l(0, 0, 0)));
    assert!(l(0, 0, 0).fits_in(&l(0, 0, 0)));
    // Not "smaller file": fewer members but more processes does not fit.
    let other = l(9, 2, 1);
    assert!(other.file_size() < file.file_size());
    assert!(!other.fits_in(&file));
    // A scoreboard's own layout is what a restart compares against.
    let dir = TempDir::new("fits");
    let sb = Scoreboard::create(&dir.file("sb"), file).unwrap();
    assert!(l(8, 2, 9).fits_in(&sb.layout()));
    assert!(!l(8, 2, 12).fits_in(&sb.layout()));
}

#[test]
fn member_reset_stats_keeps_identity_and_settings() {
    let dir = TempDir::new("reset-stats");
    let sb = Scoreboard::create(&dir.file("sb"), LAYOUT).unwrap();
    let m = sb.member(2);
    m.set_in_use(true);
    m.set_balancer(1);
    m.url.set("http://10.1.2.3:8080");
    m.route.set("n1");
    m.redirect.set("n2");
    m.set_lbfactor(300);
    m.set_lbset(2);
    m.set_status(flags::INIT | flags::DRAIN);

    m.add_elected();
    m.set_busy(4);
    m.set_lbstatus(-17);
    m.add_transferred(100);
    m.add_read(200);
    m.add_request();
    m.add_error();
    m.set_error_time(999);
    m.set_retries(3);
    m.set_hc_pcount(5);
    m.set_hc_fcount(6);
    m.set_hc_last_check(777);
    m.set_hc_last_result(503);
    m.record_latency_us(1234);
    sb.held(0, 2).store(4, Ordering::Relaxed);

    m.reset_stats();

    assert!(m.in_use());
    assert_eq!(m.balancer(), 1);
    assert_eq!(m.url.get(), "http://10.1.2.3:8080");
    assert_eq!(
        (m.route.get(), m.redirect.get()),
        ("n1".into(), "n2".into())
    );
    assert_eq!((m.lbfactor(), m.lbset()), (300, 2));
    assert_eq!(m.status(), flags::INIT | flags::DRAIN);

    assert_eq!(
        (
            m.elected(),
            m.busy(),
            m.lbstatus(),
            m.transferred(),
            m.read(),
            m.requests(),
            m.errors(),
            m.error_time(),
        ),
        (0, 0, 0, 0, 0, 0, 0, 0)
    );
    assert_eq!(m.retries(), 0);
    assert_eq!(
        (
            m.hc_pcount(),
            m.hc_fcount(),
            m.hc_last_check(),
            m.hc_last_result()
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(m.latency_ewma_us(), 0);
    assert_eq!(m.latency_histogram(), LatencyHistogram::default());
    // Held counts belong to the processes, not to the member slot.
    assert_eq!(sb.held(0, 2).load(Ordering::Relaxed), 4);
    // A later release of that process floors the new member's busy at 0.
    assert_eq!(sb.release_held(0), 4);
    assert_eq!(m.busy(), 0);
}

// ---------------------------------------------------------------------------
// Cross-process updates
// ---------------------------------------------------------------------------

/// In a forked child: make sure nothing unwinds back into the test harness.
struct ExitOnUnwind;

impl Drop for ExitOnUnwind {
    fn drop(&mut self) {
        // SAFETY: _exit ends the process without running any user-space
        // cleanup; always fine to call.
        unsafe { libc::_exit(101) }
    }
}

#[test]
fn forked_children_sum_exactly() {
    const CHILDREN: usize = 4;
    const ITERS: u64 = 100_000;
    let dir = TempDir::new("fork");
    let sb = Scoreboard::create(&dir.file("sb"), LAYOUT).unwrap();
    // Everything the children touch is resolved before forking: no
    // allocation and no panicking paths after the fork.
    let proc0 = sb.process(0);
    let member = sb.member(1);
    let bal = sb.balancer(0);
    let mut children: Vec<Pid> = Vec::with_capacity(CHILDREN);

    for _ in 0..CHILDREN {
        // SAFETY: cargo's harness runs tests on several threads, so the
        // child starts with a copy of memory in which other threads may have
        // held locks (malloc's, stdio's). The child therefore only does
        // atomic operations on the shared mapping plus async-signal-safe
        // system calls (getpid, clock_gettime, sched_yield, kill from
        // SpinLock::lock) and leaves with _exit: no allocation, no locks, no
        // output, no return into the harness.
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                let guard = ExitOnUnwind;
                for _ in 0..ITERS {
                    proc0.add_request();
                    member.inc_busy();
                    member.add_transferred(3);
                    member.add_lbstatus(-2);
                    member.add_elected();
                    let _lock = bal.lock();
                    // Not atomic as a whole: only the lock keeps it exact.
                    let x = bal.timeout_ms();
                    bal.set_timeout_ms(x + 1);
                }
                std::mem::forget(guard);
                // SAFETY: see above; ends the child without cleanup.
                unsafe { libc::_exit(0) }
            }
            ForkResult::Parent { child } => children.push(child),
        }
    }
    for child in children {
        assert_eq!(waitpid(child, None).unwrap(), WaitStatus::Exited(child, 0));
    }
    let n = CHILDREN as u64 * ITERS;
    assert_eq!(proc0.requests(), n);
    assert_eq!(member.busy(), n as i64);
    assert_eq!(member.transferred(), 3 * n);
    assert_eq!(member.lbstatus(), -2 * n as i64);
    assert_eq!(member.elected(), n);
    assert_eq!(bal.timeout_ms(), n);
    assert!(!bal.spin_lock().is_locked());
}

/// What child `child` of `killed_children_give_back_exactly` leaves held on
/// each member: it takes `ITERS` requests, spread unevenly over the
/// members, and finishes every third one it took.
fn simulated_held(child: usize, iters: u64, members: usize) -> Vec<u32> {
    let mut held = vec![0u32; members];
    for k in 0..iters {
        let m = ((k as usize) * (child + 1) + child) % members;
        held[m] += 1;
        if k % 3 == 2 {
            held[m] -= 1;
        }
    }
    held
}

#[test]
fn killed_children_give_back_exactly() {
    use nix::sys::signal::{kill, Signal};

    const CHILDREN: usize = 3;
    const ITERS: u64 = 30_000;
    const MEMBERS: usize = 5;
    // One more process slot than children: the parent plays a live worker
    // in the last one, whose share must survive the others' release.
    let layout = Layout {
        processes: CHILDREN as u32 + 1,
        balancers: 1,
        members: MEMBERS as u32,
    };
    let dir = TempDir::new("held-fork");
    let sb = Scoreboard::create(&dir.file("sb"), layout).unwrap();
    let live = CHILDREN;
    for m in 0..MEMBERS {
        sb.held(live, m).fetch_add(2, Ordering::Relaxed);
        sb.member(m).inc_busy();
        sb.member(m).inc_busy();
    }

    // Resolved before forking, as in forked_children_sum_exactly: the
    // children only do atomic operations, then wait to be killed.
    let members: Vec<&MemberSlot> = (0..MEMBERS).map(|m| sb.member(m)).collect();
    let rows: Vec<Vec<&AtomicU32>> = (0..CHILDREN)
        .map(|p| (0..MEMBERS).map(|m| sb.held(p, m)).collect())
        .collect();
    let mut children: Vec<Pid> = Vec::with_capacity(CHILDREN);

    for (c, row) in rows.iter().enumerate() {
        let slot = sb.process(c);
        slot.set_state(ProcessState::Starting);
        // SAFETY: as in forked_children_sum_exactly: the child only does
        // atomic operations on the shared mapping and async-signal-safe
        // system calls (pause), touches no lock or allocator, and never
        // returns into the harness (it is killed, or leaves via _exit).
        match unsafe { fork() }.expect("fork") {
            ForkResult::Child => {
                // Never disarmed: the child's only way out is SIGKILL.
                let _guard = ExitOnUnwind;
                for k in 0..ITERS {
                    let m = ((k as usize) * (c + 1) + c) % MEMBERS;
                    // Take: held first, then busy.
                    row[m].fetch_add(1, Ordering::Relaxed);
                    members[m].inc_busy();
                    if k % 3 == 2 {
                        // Finish: busy first, then held.
                        members[m].dec_busy();
                        row[m].fetch_sub(1, Ordering::Relaxed);
                    }
                }
                // Still "in the middle" of its remaining requests.
                slot.set_state(ProcessState::Writing);
                loop {
                    // SAFETY: pause is async-signal-safe and has no
                    // preconditions; SIGKILL ends the process here.
                    unsafe { libc::pause() };
                }
            }
            ForkResult::Parent { child } => {
                slot.set_pid(child.as_raw());
                children.push(child);
            }
        }
    }

    // Wait (bounded) until every child has done its part, then kill them
    // all: nothing gets decremented on the way out.
    let deadline = Instant::now() + Duration::from_secs(60);
    while (0..CHILDREN).any(|c| sb.process(c).state() != ProcessState::Writing) {
        if Instant::now() > deadline {
            for &child in &children {
                let _ = kill(child, Signal::SIGKILL);
                let _ = waitpid(child, None);
            }
            panic!("children did not finish within 60 s");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    for &child in &children {
        kill(child, Signal::SIGKILL).unwrap();
        assert_eq!(
            waitpid(child, None).unwrap(),
            WaitStatus::Signaled(child, Signal::SIGKILL, false)
        );
    }

    let expected: Vec<Vec<u32>> = (0..CHILDREN)
        .map(|c| simulated_held(c, ITERS, MEMBERS))
        .collect();
    for (c, want) in expected.iter().enumerate() {
        assert_eq!(&held_row(&sb, c), want, "child {c}");
    }
    let busy_now = |released: usize| -> Vec<i64> {
        (0..MEMBERS)
            .map(|m| {
                2 + expected[released..]
                    .iter()
                    .map(|row| i64::from(row[m]))
                    .sum::<i64>()
            })
            .collect()
    };
    let busies = || sb.members().iter().map(|m| m.busy()).collect::<Vec<_>>();
    assert_eq!(busies(), busy_now(0));

    // The supervisor reaps each child: give back, then clear the slot.
    for (c, want) in expected.iter().enumerate() {
        let total: u64 = want.iter().map(|&n| u64::from(n)).sum();
        assert_eq!(sb.release_held(c), total, "child {c}");
        sb.process(c).clear();
        assert_eq!(busies(), busy_now(c + 1), "after releasing child {c}");
        assert_eq!(held_row(&sb, c), vec![0; MEMBERS]);
    }
    // Only the live worker's share is left; once it is gone too, busy is
    // back to exactly 0.
    assert_eq!(busies(), vec![2; MEMBERS]);
    assert_eq!(sb.release_held(live), 2 * MEMBERS as u64);
    assert_eq!(busies(), vec![0; MEMBERS]);
}

// ---------------------------------------------------------------------------
// SpinLock
// ---------------------------------------------------------------------------

/// The pid of a child that has exited and been reaped.
fn dead_pid() -> i32 {
    // SAFETY: the child calls only _exit (async-signal-safe), so the state
    // other harness threads left behind in its memory does not matter.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Child => {
            // SAFETY: ends the child immediately without any cleanup.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            assert_eq!(waitpid(child, None).unwrap(), WaitStatus::Exited(child, 0));
            child.as_raw()
        }
    }
}

#[test]
fn pid_liveness() {
    assert!(pid_alive(current_pid()));
    assert!(!pid_alive(dead_pid()));
    assert!(!pid_alive(0));
    assert!(!pid_alive(-1));
}

#[test]
fn spinlock_steals_from_dead_holder() {
    let dir = TempDir::new("steal");
    let sb = Scoreboard::create(&dir.file("sb"), LAYOUT).unwrap();
    let lock = sb.balancer(1).spin_lock();
    for corpse in [dead_pid(), -7] {
        lock.force_holder(corpse);
        assert!(lock.try_lock().is_none());
        let t = Instant::now();
        let guard = sb.balancer(1).lock();
        let waited = t.elapsed();
        assert_eq!(lock.holder(), current_pid());
        assert!(waited >= STEAL_AFTER, "{waited:?}");
        assert!(waited < Duration::from_secs(30), "{waited:?}");
        drop(guard);
        assert_eq!(lock.holder(), 0);
    }
}

#[test]
fn spinlock_try_lock_and_release() {
    let lock = SpinLock::new();
    let g = lock.try_lock().expect("free lock");
    assert_eq!(lock.holder(), current_pid());
    assert!(lock.try_lock().is_none());
    drop(g);
    assert!(!lock.is_locked());
    // A guard whose lock was taken over does not release the new owner's.
    let g = lock.lock();
    lock.force_holder(1);
    drop(g);
    assert_eq!(lock.holder(), 1);
}

#[test]
fn spinlock_excludes_threads() {
    let lock = Arc::new(SpinLock::new());
    let counter = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (lock, counter) = (Arc::clone(&lock), Arc::clone(&counter));
            std::thread::spawn(move || {
                for _ in 0..20_000 {
                    let _g = lock.lock();
                    let v = counter.load(Ordering::Relaxed);
                    counter.store(v + 1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(counter.load(Ordering::Relaxed), 80_000);
    assert!(!lock.is_locked());
}

// ---------------------------------------------------------------------------
// Header, process, balancer and member fields
// ---------------------------------------------------------------------------

#[test]
fn phase_round_trip() {
    let all = [
        (Phase::Starting, "starting"),
        (Phase::Running, "running"),
        (Phase::Restarting, "restarting"),
        (Phase::Stopping, "stopping"),
        (Phase::Stopped, "stopped"),
    ];
    let dir = TempDir::new("phase");
    let path = dir.file("sb");
    let sb = Scoreboard::create(&path, LAYOUT).unwrap();
    let other = Scoreboard::attach_readonly(&path).unwrap();
    for (p, name) in all {
        assert_eq!(p.name(), name);
        assert_eq!(p.to_string(), name);
        assert_eq!(Phase::from_u32(p as u32), Some(p));
        sb.header().set_phase(p);
        assert_eq!(sb.header().phase(), Some(p));
        assert_eq!(other.header().phase(), Some(p));
    }
    assert_eq!(Phase::from_u32(0), None);
    assert_eq!(Phase::from_u32(6), None);
}

#[test]
fn ports_round_trip() {
    let dir = TempDir::new("ports");
    let path = dir.file("sb");
    let sb = Scoreboard::create(&path, LAYOUT).unwrap();
    let other = Scoreboard::attach(&path).unwrap();
    let h = sb.header();
    h.set_ports(&[80, 443, 8080]);
    assert_eq!(other.header().ports(), vec![80, 443, 8080]);
    let many: Vec<u16> = (1..=20).collect();
    h.set_ports(&many);
    assert_eq!(other.header().ports(), many[..MAX_PORTS].to_vec());
    h.set_ports(&[9000]);
    assert_eq!(other.header().ports(), vec![9000]);
    h.set_ports(&[]);
    assert!(other.header().ports().is_empty());
}

#[test]
fn header_fields_round_trip() {
    let dir = TempDir::new("header");
    let sb = Scoreboard::create(&dir.file("sb"), LAYOUT).unwrap();
    let h = sb.header();
    h.set_generation(42);
    h.set_supervisor_pid(4321);
    h.set_start_time(1_700_000_000);
    h.add_restart();
    h.add_restart();
    assert_eq!(h.generation(), 42);
    assert_eq!(h.supervisor_pid(), 4321);
    assert_eq!(h.start_time(), 1_700_000_000);
    assert_eq!(h.restarts(), 2);
    assert_eq!(h.version(), (2, 5));
    assert_eq!(h.checker_pid(), 0);
    h.set_checker_pid(999);
    assert_eq!(h.checker_pid(), 999);
}

#[test]
fn refused_reloads_are_counted_with_the_last_reason() {
    let dir = TempDir::new("refused");
    let path = dir.file("sb");
    let sb = Scoreboard::create(&path, LAYOUT).unwrap();
    let h = sb.header();
    assert_eq!(
        (h.reloads_refused(), h.reload_refusal()),
        (0, String::new())
    );
    h.add_reload_refused("a.conf:3: could not bind");
    h.add_reload_refused("a.conf:9: bad directive");
    let seen = Scoreboard::attach_readonly(&path).unwrap();
    assert_eq!(seen.header().reloads_refused(), 2);
    assert_eq!(seen.header().reload_refusal(), "a.conf:9: bad directive");
    // A long reason is cut, not refused.
    h.add_reload_refused(&"x".repeat(1000));
    assert_eq!(h.reload_refusal().len(), 256);
    h.set_reloads_refused(7, "kept");
    assert_eq!(
        (h.reloads_refused(), h.reload_refusal()),
        (7, "kept".into())
    );
}

#[test]
fn progress_mark_gives_the_stall_and_a_new_slot_starts_unstalled() {
    let dir = TempDir::new("progress");
    let sb = Scoreboard::create(&dir.file("sb"), LAYOUT).unwrap();
    let p = sb.process(1);
    let now = monotonic_ms();
    // An empty slot, or one never marked (an older supervisor), is never stalled.
    assert_eq!(p.stalled_for(now), None);
    p.set_pid(77);
    assert_eq!(p.stalled_for(now), None);
    p.reset_for(77, 1);
    let mark = p.progress_ms();
    assert!(mark >= now, "reset_for stamps the spawn time");
    assert!(!p.is_stalled(mark + STALL_SHOWN_AFTER_MS - 1));
    assert!(p.is_stalled(mark + STALL_SHOWN_AFTER_MS));
    p.mark_progress(mark + 10_000);
    assert_eq!(p.stalled_for(mark + 12_500), Some(2_500));
    assert_eq!(
        p.stalled_for(mark),
        Some(0),
        "a mark ahead of `now` is no stall"
    );
    p.clear();
    assert_eq!((p.progress_ms(), p.stalled_for(now)), (0, None));
}

#[test]
fn member_health_check_settings_round_trip_and_clear() {
    let dir = TempDir::new("hcfields");
    let sb = Scoreboard::create(&dir.file("sb"), LAYOUT).unwrap();
    let m = sb.member(0);
    // A fresh slot: no check configured, no result yet.
    assert_eq!(
        (
            m.hc_method(),
            m.hc_interval_ms(),
            m.hc_passes(),
            m.hc_fails()
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(m.hc_result(), None);
    assert_eq!(m.hc_reason.get(), "");
    m.set_hc_method(6);
    m.set_hc_interval_ms(200);
    m.set_hc_passes(2);
    m.set_hc_fails(3);
    m.hc_uri.set("/health");
    m.hc_expr.set("ok234");
    m.hc_reason.set("status 500");
    m.set_hc_result(false, 500);
    assert_eq!(m.hc_result(), Some((false, 500)));
    m.set_hc_result(true, 0);
    assert_eq!(m.hc_result(), Some((true, 0)));
    // Statistics go, settings stay.
    m.reset_stats();
    assert_eq!(m.hc_result(), None);
    assert_eq!(m.hc_reason.get(), "");
    assert_eq!(
        (
            m.hc_method(),
            m.hc_interval_ms(),
            m.hc_passes(),
            m.hc_fails()
        ),
        (6, 200, 2, 3)
    );
    assert_eq!(
        (m.hc_uri.get(), m.hc_expr.get()),
        ("/health".into(), "ok234".into())
    );
    // Clearing the slot forgets everything.
    m.clear();
    assert_eq!(
        (
            m.hc_method(),
            m.hc_interval_ms(),
            m.hc_passes(),
            m.hc_fails()
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(
        (m.hc_uri.get(), m.hc_expr.get()),
        (String::new(), String::new())
    );
}

#[test]
fn attach_accepts_an_older_minor_version() {
    // A 2.0 file (before the latency histogram) attaches; its zero reserved
    // words read as an empty histogram.
    let dir = TempDir::new("minor");
    let path = fresh_file(&dir, "sb");
    patch(&path, 10, &0u16.to_ne_bytes());
    let sb = Scoreboard::attach(&path).unwrap();
    assert_eq!(sb.header().version(), (2, 0));
    assert_eq!(sb.member(0).latency_histogram().count(), 0);
}

#[test]
fn process_state_letters() {
    use ProcessState::*;
    let all = [
        (Empty, '.'),
        (Starting, 'S'),
        (Idle, '_'),
        (Reading, 'R'),
        (Writing, 'W'),
        (KeepAlive, 'K'),
        (Closing, 'C'),
        (Graceful, 'G'),
        (Dead, '.'),
    ];
    for (s, letter) in all {
        assert_eq!(s.letter(), letter);
        assert_eq!(ProcessState::from_letter(s.code()), s);
    }
    assert_eq!(Dead.code(), b'X');
    assert_eq!(ProcessState::from_letter(0), Empty);
    assert_eq!(ProcessState::from_letter(b'?'), Empty);
}

#[test]
fn process_slot_lifecycle() {
    let dir = TempDir::new("proc");
    let sb = Scoreboard::create(&dir.file("sb"), LAYOUT).unwrap();
    let p = sb.process(2);
    p.reset_for(1234, 7);
    let before = unix_time_ms();
    assert_eq!(p.pid(), 1234);
    assert_eq!(p.generation(), 7);
    assert_eq!(p.state(), ProcessState::Starting);
    assert!(p.started() > 0 && p.started() <= before);
    assert_eq!(p.last_used(), 0);

    p.set_state(ProcessState::KeepAlive);
    p.set_connections(3);
    p.add_connection();
    p.add_request();
    p.add_bytes_in(10);
    p.add_bytes_out(20);
    p.set_last_used(before);
    assert_eq!(p.state(), ProcessState::KeepAlive);
    assert_eq!(
        (
            p.connections(),
            p.total_connections(),
            p.requests(),
            p.bytes_in(),
            p.bytes_out(),
            p.last_used()
        ),
        (3, 1, 1, 10, 20, before)
    );

    // A new child in the same slot starts from zero.
    p.reset_for(5678, 8);
    assert_eq!((p.pid(), p.requests(), p.bytes_out()), (5678, 0, 0));
    p.add_request();
    p.clear();
    assert_eq!(p.pid(), 0);
    assert_eq!(p.state(), ProcessState::Empty);
    assert_eq!(
        (p.generation(), p.requests(), p.started(), p.connections()),
        (0, 0, 0, 0)
    );
    p.set_pid(99);
    p.set_generation(3);
    assert_eq!((p.pid(), p.generation()), (99, 3));
}

#[test]
fn balancer_fields_round_trip() {
    let dir = TempDir::new("balancer");
    let sb = Scoreboard::create(&dir.file("sb"), LAYOUT).unwrap();
    let b = sb.balancer(1);
    assert!(!b.in_use());
    b.set_in_use(true);
    b.name.set("balancer://cluster");
    b.lbmethod.set("bybusyness");
    b.sticky.set("JSESSIONID|jsessionid");
    b.sticky_path.set("jsessionid");
    b.nonce.set("0b5a9e4c-6c1d-4d8e-9a3f-2f1e0d9c8b7a");
    b.set_timeout_ms(2500);
    b.set_max_attempts(3);
    b.set_nofailover(true);
    b.set_sticky_separator('.');
    b.store_flags(0b1010);
    b.set_flags(0b0001);
    b.clear_flags(0b1000);
    assert_eq!(b.bump_member_updated(), 1);
    assert_eq!(b.bump_member_updated(), 2);

    assert!(b.in_use());
    assert_eq!(b.name.get(), "balancer://cluster");
    assert_eq!(b.lbmethod.get(), "bybusyness");
    assert_eq!(b.sticky.get(), "JSESSIONID|jsessionid");
    assert_eq!(b.sticky_path.get(), "jsessionid");
    assert_eq!(b.nonce.get(), "0b5a9e4c-6c1d-4d8e-9a3f-2f1e0d9c8b7a");
    assert_eq!(b.timeout_ms(), 2500);
    assert_eq!(b.max_attempts(), 3);
    assert!(b.nofailover());
    assert_eq!(b.sticky_separator(), '.');
    assert_eq!(b.flags(), 0b0011);
    assert_eq!(b.member_updated(), 2);
    b.set_member_updated(10);
    assert_eq!(b.member_updated(), 10);

    b.clear();
    assert!(!b.in_use());
    assert_eq!(b.name.get(), "");
    assert_eq!(
        (b.timeout_ms(), b.flags(), b.sticky_separator()),
        (0, 0, '\0')
    );
    // The other balancer slot was never touched.
    assert_eq!(sb.balancer(0).name.get(), "");
}

#[test]
fn member_counters() {
    let dir = TempDir::new("member");
    let sb = Scoreboard::create(&dir.file("sb"), LAYOUT).unwrap();
    let m = sb.member(3);
    m.set_in_use(true);
    m.set_balancer(NO_BALANCER);
    m.url.set("http://127.0.0.1:9000");
    m.route.set("node1");
    m.redirect.set("node2");
    m.set_lbfactor(250);
    m.set_lbset(1);
    m.set_status(flags::INIT);
    m.set_flags(flags::ERROR | flags::HOT_STANDBY);
    m.clear_flags(flags::ERROR);
    assert!(m.in_use());
    assert_eq!(m.balancer(), NO_BALANCER);
    assert_eq!(m.url.get(), "http://127.0.0.1:9000");
    assert_eq!(
        (m.route.get(), m.redirect.get()),
        ("node1".into(), "node2".into())
    );
    assert_eq!((m.lbfactor(), m.lbset()), (250, 1));
    assert_eq!(m.status(), flags::INIT | flags::HOT_STANDBY);
    assert!(m.is_usable());

    m.inc_busy();
    m.inc_busy();
    m.dec_busy();
    m.dec_busy();
    m.dec_busy();
    assert_eq!(m.busy(), 0, "busy floors at 0");
    m.set_busy(5);
    assert_eq!(m.busy(), 5);

    m.set_lbstatus(10);
    m.add_lbstatus(-25);
    assert_eq!(m.lbstatus(), -15);
    m.add_elected();
    m.set_elected(m.elected() + 1);
    m.add_transferred(100);
    m.add_read(200);
    m.add_request();
    m.add_error();
    m.set_error_time(123);
    m.set_retries(2);
    m.add_retry();
    m.set_hc_pcount(4);
    m.set_hc_fcount(1);
    m.set_hc_last_check(456);
    m.set_hc_last_result(200);
    assert_eq!(
        (
            m.elected(),
            m.transferred(),
            m.read(),
            m.requests(),
            m.errors(),
            m.error_time(),
            m.retries()
        ),
        (2, 100, 200, 1, 1, 123, 3)
    );
    assert_eq!(
        (
            m.hc_pcount(),
            m.hc_fcount(),
            m.hc_last_check(),
            m.hc_last_result()
        ),
        (4, 1, 456, 200)
    );

    assert_eq!(m.latency_ewma_us(), 0);
    m.record_latency_us(800);
    assert_eq!(m.latency_ewma_us(), 800);
    m.record_latency_us(1600);
    assert_eq!(m.latency_ewma_us(), 900);
    for _ in 0..200 {
        m.record_latency_us(100);
    }
    assert!(m.latency_ewma_us() <= 107, "{}", m.latency_ewma_us());
    m.record_latency_us(u64::MAX);
    assert!(m.latency_ewma_us() > 0);

    m.clear();
    assert!(!m.in_use());
    assert_eq!(m.url.get(), "");
    assert_eq!(
        (m.status(), m.busy(), m.requests(), m.latency_ewma_us()),
        (0, 0, 0, 0)
    );
    // Neighbours are untouched.
    assert_eq!(sb.member(2).requests(), 0);
    assert_eq!(sb.member(4).url.get(), "");
}

#[test]
fn latency_histogram_buckets_sum_and_reset() {
    let dir = TempDir::new("latency-histogram");
    let sb = Scoreboard::create(&dir.file("sb"), LAYOUT).unwrap();
    let m = sb.member(1);
    assert_eq!(m.latency_histogram(), LatencyHistogram::default());
    assert_eq!(m.latency_histogram().count(), 0);

    // Bounds are inclusive (Prometheus' `le`): 1000 µs is in the 1 ms bucket.
    let samples = [
        0,
        999,
        1_000,
        1_001,
        2_500,
        7_000,
        10_000_000,
        10_000_001,
        3_600_000_000,
    ];
    for s in samples {
        m.record_latency_us(s);
    }
    let h = m.latency_histogram();
    let mut expected = [0u64; LATENCY_BUCKETS + 1];
    expected[0] = 3; // 0, 999, 1000
    expected[1] = 2; // 1001, 2500
    expected[3] = 1; // 7000
    expected[LATENCY_BUCKETS - 1] = 1; // 10 s
    expected[LATENCY_BUCKETS] = 2; // above 10 s
    assert_eq!(h.buckets, expected);
    assert_eq!(h.count(), samples.len() as u64);
    assert_eq!(h.sum_us, samples.iter().sum::<u64>());
    let cumulative = h.cumulative();
    assert!(cumulative.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(cumulative[0], 3);
    assert_eq!(cumulative[LATENCY_BUCKETS], h.count());
    assert!(LATENCY_BOUNDS_US.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(LATENCY_BOUNDS_US[0], 1_000);
    assert_eq!(LATENCY_BOUNDS_US[LATENCY_BUCKETS - 1], 10_000_000);

    // Another attach sees the same words; neighbours are untouched.
    let other = Scoreboard::attach(&dir.file("sb")).unwrap();
    assert_eq!(other.member(1).latency_histogram(), h);
    assert_eq!(other.member(0).latency_histogram().count(), 0);
    assert_eq!(other.member(2).latency_histogram().count(), 0);

    m.reset_stats();
    assert_eq!(m.latency_histogram(), LatencyHistogram::default());
    m.record_latency_us(42);
    m.clear();
    assert_eq!(m.latency_histogram(), LatencyHistogram::default());
}

#[test]
fn latency_histogram_counts_every_concurrent_sample() {
    let dir = TempDir::new("latency-threads");
    let sb = Arc::new(Scoreboard::create(&dir.file("sb"), LAYOUT).unwrap());
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let sb = Arc::clone(&sb);
            std::thread::spawn(move || {
                for i in 0..5_000u64 {
                    sb.member(0)
                        .record_latency_us((i * 997 + t * 13) % 20_000_000);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let h = sb.member(0).latency_histogram();
    assert_eq!(h.count(), 20_000);
    let expected: u64 = (0..4u64)
        .flat_map(|t| (0..5_000u64).map(move |i| (i * 997 + t * 13) % 20_000_000))
        .sum();
    assert_eq!(h.sum_us, expected);
}

#[test]
fn flag_display_and_letters() {
    use flags::*;
    assert_eq!(display(INIT), "Init Ok ");
    assert_eq!(display(INIT | ERROR), "Init Err ");
    assert_eq!(display(INIT | HOT_STANDBY), "Init Stby Ok ");
    assert_eq!(display(INIT | DISABLED), "Init Dis ");
    assert_eq!(display(0), "??? ");
    assert_eq!(display(DRAIN), "Drn ");
    assert_eq!(
        display(0xfff),
        "Init Ign Drn Gen Shut Dis Stop Err Stby Free HcFl Spar "
    );
    assert_eq!(letters(INIT | ERROR), "OE");
    assert_eq!(letters(INIT | IGNORE_ERRORS | HOT_STANDBY), "OIH");
    assert_eq!(letters(0xfff), "OINGUDSEHFCR");
    assert_eq!(letters(0), "");

    assert!(is_usable(INIT));
    assert!(is_usable(INIT | DRAIN | HOT_STANDBY | IGNORE_ERRORS));
    assert!(!is_usable(0));
    for bad in [SHUTDOWN, DISABLED, STOPPED, ERROR, HC_FAILED] {
        assert!(!is_usable(INIT | bad));
    }
    for (bit, letter, _) in TABLE {
        assert_eq!(from_letter(letter), Some(bit));
        assert_eq!(from_letter(letter.to_ascii_lowercase()), Some(bit));
    }
    assert_eq!(from_letter('z'), None);
}
