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
        l.file_size(),
        HEADER_SIZE + 3 * PROCESS_SLOT_SIZE + 2 * BALANCER_SLOT_SIZE + 5 * MEMBER_SLOT_SIZE
    );
    let empty = Layout {
        processes: 0,
        balancers: 0,
        members: 0,
    };
    assert_eq!(empty.file_size(), HEADER_SIZE);
    for off in [l.balancer_offset(), l.member_offset(), l.file_size()] {
        assert_eq!(off % 64, 0);
    }
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
        LAYOUT.file_size()
    );
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
    patch(&path, 8, &2u16.to_ne_bytes());
    match Scoreboard::attach(&path) {
        Err(e @ Error::IncompatibleVersion { .. }) => {
            assert!(matches!(
                e,
                Error::IncompatibleVersion {
                    found_major: 2,
                    found_minor: 0,
                    ..
                }
            ));
            assert_eq!(
                e.to_string(),
                format!(
                    "scoreboard {}: was written by layout version 2.0, this build reads 1.x",
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
                    let v = sb.member(2).url.get();
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
    assert_eq!(h.version(), (1, 0));
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
