//! slotgate's scoreboard: a versioned, fixed-layout slot store in a
//! memory-mapped file, shared by the supervisor, its forked worker processes
//! and read-only tools such as `slotgate-top`.
//!
//! # File layout (version 2.4)
//!
//! ```text
//!  offset                                 size
//!  0            +------------------------------------+
//!               | Header                             |  HEADER_SIZE = 512
//!               |  line 0: magic "SLOTGATE", version,|
//!               |          sizes, slot counts,       |
//!               |          region offsets (the last  |
//!               |          two spill into line 1)    |
//!               |  line 1: supervisor pid, phase,    |
//!               |          generation, start time,   |
//!               |          restarts, ports[16]       |
//!               |  line 2: checker pid, refused      |
//!               |          reloads, refusal reason   |
//!               |  reserved (zero)                   |
//!  512          +------------------------------------+
//!               | ProcessSlot[processes]             |  PROCESS_SLOT_SIZE = 128 each
//!  balancer_    +------------------------------------+
//!  offset       | BalancerSlot[balancers]            |  BALANCER_SLOT_SIZE = 512 each
//!  member_      +------------------------------------+
//!  offset       | MemberSlot[members]                |  MEMBER_SLOT_SIZE = 1024 each
//!  held_        +------------------------------------+
//!  offset       | held: AtomicU32[processes][members]|  one row per process slot,
//!               |  row p, column m = requests that   |  held_row_stride() bytes each:
//!               |  process slot p holds on member    |  members * HELD_ENTRY_SIZE (4),
//!               |  slot m                            |  padded to a multiple of 64
//!  total_size   +------------------------------------+
//! ```
//!
//! All records are `#[repr(C, align(64))]` and a multiple of 64 bytes, and
//! every row of the held matrix is padded to a multiple of 64 bytes, so
//! every region (and every process's row, which only that process writes)
//! starts on a cache line, and the mapping itself is page-aligned. Numbers
//! are stored in native byte order (the file is only shared between
//! processes on one host); the magic is the ASCII bytes `SLOTGATE` at
//! offset 0 and the version is two `u16`s at offset 8.
//!
//! **Changing the size or the order of any field or record needs a
//! [`VERSION_MAJOR`] bump.** A new field may be added inside a record's
//! reserved words with a [`VERSION_MINOR`] bump, provided that zero means
//! "not set". Attach accepts any minor version of its own major version.
//! Compile-time assertions in `records.rs` pin all sizes and offsets.
//!
//! Version history: 1.0 had no held matrix (the file ended after the member
//! slots and the header had no `held_offset`); 2.0 added both, so a 1.x
//! file is refused with [`Error::IncompatibleVersion`]. 2.1 carved the
//! member latency histogram (14 bucket counters and a sum) out of the member
//! slot's reserved words; a 2.0 file reads as "no samples yet". 2.2 added
//! the member's live health-check settings (`hc_method`, `hc_interval_ms`,
//! `hc_passes`, `hc_fails`, `hc_uri`, `hc_expr`) and the last check's text
//! (`hc_reason`) to the member slot, and the health checker's pid to the
//! header; in a 2.1 file they read as "no check configured". 2.3 carved the
//! process slot's local-fault counter and its last fault's time and errno
//! out of its reserved words; a 2.2 file reads as "no local fault". 2.4 added
//! the worker's progress mark to the process slot (its last word, offset 120:
//! the watchdog's input) and the refused-reload count and reason to the
//! header (offsets 160 and 168); in a 2.3 file they read as "never marked"
//! (never stalled) and "nothing refused". 2.5 carved the process slot's
//! accept-miss counter (wake-ups for a connection another process took;
//! offset 104) out of its reserved words; a 2.4 file reads as "no miss".
//!
//! # Held counts
//!
//! A member's `busy` counter is shared by all workers. If a worker dies
//! (say `SIGKILL`) in the middle of a request, its increments would never be
//! undone. So each process slot also counts, per member slot, the requests
//! it currently holds ([`Scoreboard::held`]); after the process is gone the
//! supervisor calls [`Scoreboard::release_held`], which takes those counts
//! back off the members' `busy` and zeroes the row.
//!
//! # Soundness
//!
//! Every field of every record is an atomic (strings are [`SeqStr`]s made of
//! atomic words), so every bit pattern is a valid value and other processes
//! may change any byte at any time without a data race in Rust's sense. After
//! [`Scoreboard::attach`] has checked that the file is big enough and that the
//! regions are properly placed, viewing the mapped bytes as `&Header`,
//! `&[ProcessSlot]`, ... is therefore sound even when the contents are
//! garbage: a corrupt file gives odd numbers, never undefined behaviour.
//! [`Scoreboard::attach_readonly`] maps the file private copy-on-write, so
//! even a stray store through a read-only attach is sound (it just stays
//! local to that process).
//!
//! What this crate cannot prevent: if someone truncates the file while it is
//! mapped, touching the lost pages raises `SIGBUS`. The supervisor never
//! truncates a live scoreboard; [`Scoreboard::create`] replaces it by
//! renaming a new file over the old one, and existing mappings keep the old
//! file.

pub mod flags;
mod records;
mod seqstr;
mod spinlock;

#[cfg(test)]
mod tests;

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use memmap2::{MmapMut, MmapOptions};

pub use records::{
    BalancerSlot, Header, Heartbeat, LatencyHistogram, MemberSlot, Phase, ProcessSlot,
    ProcessState, ReportedLoad, HC_RESULT_FAILED, HC_RESULT_PASSED, LATENCY_BOUNDS_US,
    LATENCY_BUCKETS,
};
pub use seqstr::{SeqStr, SEQ_READER_GIVE_UP, SEQ_WRITER_TAKEOVER};
pub use spinlock::{set_current_pid, SpinGuard, SpinLock, STEAL_AFTER};

use records::Geometry;

/// The first 8 bytes of every scoreboard file.
pub const MAGIC: [u8; 8] = *b"SLOTGATE";
/// The scoreboard file's mode: it holds the balancer-manager nonces, so only its owner
/// (the supervisor's user, root when `User` is used) writes it and only that owner and the
/// file's group (which the supervisor sets to the workers' run group) read it.
pub const FILE_MODE: u32 = 0o640;
/// Incompatible layout changes bump this; attach requires equality.
pub const VERSION_MAJOR: u16 = 2;
/// Compatible additions (in reserved space) bump this; attach ignores it.
pub const VERSION_MINOR: u16 = 5;
/// Capacity of the header's port list.
pub const MAX_PORTS: usize = 16;
/// [`MemberSlot::balancer`] value of a standalone `ProxyPass` worker.
pub const NO_BALANCER: u32 = u32::MAX;

/// Size of the [`Header`] region in bytes.
pub const HEADER_SIZE: usize = 512;
/// Size of one [`ProcessSlot`] in bytes.
pub const PROCESS_SLOT_SIZE: usize = 128;
/// Size of one [`BalancerSlot`] in bytes.
pub const BALANCER_SLOT_SIZE: usize = 512;
/// Size of one [`MemberSlot`] in bytes.
pub const MEMBER_SLOT_SIZE: usize = 1024;
/// Size of one entry of the held matrix (an `AtomicU32`) in bytes.
pub const HELD_ENTRY_SIZE: usize = 4;
/// Largest slot count of any kind that create and attach accept (keeps
/// sizes far from overflow, and rejects absurd counts in a corrupt header).
pub const MAX_SLOTS: u32 = 1 << 20;

/// Current time as unix milliseconds (0 if the clock is before 1970).
pub fn unix_time_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The system's monotonic clock (`CLOCK_MONOTONIC`: the same for every
/// process on the host, never set back, stopped while suspended) in
/// milliseconds; at least 1, so it never reads as "not set". The time base of
/// [`ProcessSlot::progress_ms`].
pub fn monotonic_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call;
    // CLOCK_MONOTONIC is always available on Linux (a failure leaves it zero).
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec.max(0) as u64 * 1000 + ts.tv_nsec.max(0) as u64 / 1_000_000).max(1)
}

/// A worker whose progress mark is this old (ms) is shown as stalled by the
/// status pages and slotgate-top: its loop wakes at least once a second, so
/// three missed turns. (The supervisor's limit, `WorkerStallTimeout`, is
/// separate.)
pub const STALL_SHOWN_AFTER_MS: u64 = 3000;

/// Current time as unix seconds (0 if the clock is before 1970).
pub fn unix_time_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Slot counts, which determine the whole file geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub processes: u32,
    pub balancers: u32,
    pub members: u32,
}

impl Layout {
    /// Byte offset of the first [`ProcessSlot`].
    pub fn process_offset(&self) -> usize {
        HEADER_SIZE
    }

    /// Byte offset of the first [`BalancerSlot`].
    pub fn balancer_offset(&self) -> usize {
        self.process_offset()
            .saturating_add((self.processes as usize).saturating_mul(PROCESS_SLOT_SIZE))
    }

    /// Byte offset of the first [`MemberSlot`].
    pub fn member_offset(&self) -> usize {
        self.balancer_offset()
            .saturating_add((self.balancers as usize).saturating_mul(BALANCER_SLOT_SIZE))
    }

    /// Byte offset of the held matrix (row 0, column 0).
    pub fn held_offset(&self) -> usize {
        self.member_offset()
            .saturating_add((self.members as usize).saturating_mul(MEMBER_SLOT_SIZE))
    }

    /// Bytes from one row of the held matrix to the next: `members`
    /// entries of [`HELD_ENTRY_SIZE`] bytes, rounded up to a multiple of 64
    /// so that each process slot's row has cache lines of its own.
    pub fn held_row_stride(&self) -> usize {
        (self.members as usize)
            .saturating_mul(HELD_ENTRY_SIZE)
            .saturating_add(63)
            & !63
    }

    /// Total file size in bytes. (Saturates instead of overflowing; counts
    /// up to [`MAX_SLOTS`] never come close.)
    pub fn file_size(&self) -> usize {
        self.held_offset()
            .saturating_add((self.processes as usize).saturating_mul(self.held_row_stride()))
    }

    /// True if every slot count is at most `other`'s, i.e. a configuration
    /// needing `self` can run on a scoreboard created with `other` (every
    /// slot index it uses exists there). A restart that wants to keep the
    /// existing file checks `needed.fits_in(&sb.layout())`; if not, it has
    /// to create a bigger file.
    pub fn fits_in(&self, other: &Layout) -> bool {
        self.processes <= other.processes
            && self.balancers <= other.balancers
            && self.members <= other.members
    }

    fn check_counts(&self) -> Result<(), String> {
        for (what, n) in [
            ("process", self.processes),
            ("balancer", self.balancers),
            ("member", self.members),
        ] {
            if n > MAX_SLOTS {
                return Err(format!("{n} {what} slots (at most {MAX_SLOTS} allowed)"));
            }
        }
        Ok(())
    }

    fn geometry(&self) -> Geometry {
        Geometry {
            magic: MAGIC,
            version: (VERSION_MAJOR, VERSION_MINOR),
            header_size: HEADER_SIZE as u32,
            total_size: self.file_size() as u64,
            counts: (self.processes, self.balancers, self.members),
            record_sizes: (
                PROCESS_SLOT_SIZE as u32,
                BALANCER_SLOT_SIZE as u32,
                MEMBER_SLOT_SIZE as u32,
            ),
            offsets: (
                self.process_offset() as u64,
                self.balancer_offset() as u64,
                self.member_offset() as u64,
                self.held_offset() as u64,
            ),
        }
    }
}

/// Why a scoreboard could not be created or attached.
#[derive(Debug)]
pub enum Error {
    /// A system call failed; `op` says which step ("open", "map", ...).
    Io {
        path: PathBuf,
        op: &'static str,
        source: std::io::Error,
    },
    /// The file does not start with [`MAGIC`].
    BadMagic { path: PathBuf },
    /// The file was written by a different major layout version.
    IncompatibleVersion {
        path: PathBuf,
        found_major: u16,
        found_minor: u16,
    },
    /// The file is shorter than its header says (or than a header).
    Truncated {
        path: PathBuf,
        expected: u64,
        found: u64,
    },
    /// The header's geometry is inconsistent.
    BadLayout { path: PathBuf, reason: String },
}

impl Error {
    /// The scoreboard path the error is about.
    pub fn path(&self) -> &Path {
        match self {
            Error::Io { path, .. }
            | Error::BadMagic { path }
            | Error::IncompatibleVersion { path, .. }
            | Error::Truncated { path, .. }
            | Error::BadLayout { path, .. } => path,
        }
    }

    fn io(path: &Path, op: &'static str, source: std::io::Error) -> Error {
        Error::Io {
            path: path.to_path_buf(),
            op,
            source,
        }
    }

    fn bad_layout(path: &Path, reason: String) -> Error {
        Error::BadLayout {
            path: path.to_path_buf(),
            reason,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "scoreboard {}: ", self.path().display())?;
        match self {
            Error::Io { op, source, .. } => write!(f, "cannot {op}: {source}"),
            Error::BadMagic { .. } => f.write_str("not a slotgate scoreboard (bad magic)"),
            Error::IncompatibleVersion {
                found_major,
                found_minor,
                ..
            } => write!(
                f,
                "was written by layout version {found_major}.{found_minor}, \
                 this build reads {VERSION_MAJOR}.x"
            ),
            Error::Truncated {
                expected, found, ..
            } => write!(
                f,
                "file is truncated: {found} bytes, expected {expected} bytes"
            ),
            Error::BadLayout { reason, .. } => write!(f, "inconsistent layout: {reason}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// A mapped scoreboard file.
///
/// `Send + Sync`: the mapping is shared memory consisting only of atomics.
/// References handed out borrow `self`, so the mapping outlives them.
pub struct Scoreboard {
    /// Start of the mapping, with write provenance (taken once from `map`).
    base: NonNull<u8>,
    layout: Layout,
    path: PathBuf,
    read_only: bool,
    /// Keeps the mapping alive; never accessed through directly after
    /// construction (all access goes through `base`).
    _map: MmapMut,
}

// SAFETY: `base` points into the mapping owned by `_map`, which lives exactly
// as long as the Scoreboard and never moves. The mapped memory is only ever
// accessed through shared references to atomics, which are safe to use from
// any thread at the same time.
unsafe impl Send for Scoreboard {}
// SAFETY: see `Send`; `&Scoreboard` only hands out `&` to atomic records.
unsafe impl Sync for Scoreboard {}

const _: () = {
    const fn send_sync<T: Send + Sync>() {}
    send_sync::<Scoreboard>();
    send_sync::<Header>();
    send_sync::<MemberSlot>();
};

impl Scoreboard {
    /// Supervisor only. Creates (or replaces) the scoreboard at `path`, with mode
    /// [`FILE_MODE`] (less if the umask says so).
    ///
    /// The new file is built as `.<name>.tmp.<pid>` in the same directory:
    /// sized, header initialised (magic, version, geometry, phase
    /// `Starting`, generation 0, this process's pid, the current time), slots
    /// zero-filled; then it is renamed over `path`, so nobody ever attaches a
    /// half-written file. Processes attached to the old file keep seeing the
    /// old file. The directory must exist.
    pub fn create(path: &Path, layout: Layout) -> Result<Scoreboard, Error> {
        layout
            .check_counts()
            .map_err(|reason| Error::bad_layout(path, reason))?;
        let name = path.file_name().ok_or_else(|| {
            Error::io(
                path,
                "create",
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "path has no file name"),
            )
        })?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".tmp.{}", std::process::id()));
        let tmp = dir.join(tmp_name);

        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .mode(FILE_MODE)
            .open(&tmp)
            .map_err(|e| Error::io(path, "create temporary file", e))?;

        let built = Self::build(path, &file, layout).and_then(|sb| {
            std::fs::rename(&tmp, path)
                .map(|()| sb)
                .map_err(|e| Error::io(path, "rename temporary file into place", e))
        });
        if built.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        built
    }

    fn build(path: &Path, file: &File, layout: Layout) -> Result<Scoreboard, Error> {
        let size = layout.file_size();
        file.set_len(size as u64)
            .map_err(|e| Error::io(path, "resize temporary file", e))?;
        // SAFETY: the file was just created by us and is not yet visible
        // under its final name; its length is `size` and nobody truncates
        // it. All later access goes through atomics (see `from_map`).
        let map = unsafe { MmapOptions::new().len(size).map_mut(file) }
            .map_err(|e| Error::io(path, "map", e))?;
        let sb = Self::from_map(path, map, layout, false);

        let h = sb.header();
        h.set_phase(Phase::Starting);
        h.set_generation(0);
        h.set_supervisor_pid(spinlock::current_pid());
        h.set_start_time(unix_time_secs());
        h.init_geometry(&layout.geometry());
        Ok(sb)
    }

    /// Attaches read-write (workers, the supervisor after exec, tests).
    ///
    /// Checks, in order: the file is at least a header long (`Truncated`,
    /// or `BadMagic` if its first bytes are not the magic), magic
    /// (`BadMagic`), major version (`IncompatibleVersion`; the minor version
    /// may differ), header and record sizes, slot counts and region offsets
    /// (`BadLayout`), `total_size` against the counts (`BadLayout`) and the
    /// file length against `total_size` (`Truncated` if shorter, `BadLayout`
    /// if longer). Any content gives an error or a usable scoreboard, never
    /// a panic or undefined behaviour.
    pub fn attach(path: &Path) -> Result<Scoreboard, Error> {
        Self::open(path, false)
    }

    /// Attaches for inspection only (`slotgate-top`); needs only read
    /// permission. Same checks as [`attach`](Self::attach).
    ///
    /// The file is mapped private copy-on-write, so everything stays sound
    /// and nothing faults even if a setter is called; but such a store only
    /// changes this process's private copy of that page (which from then on
    /// stops following the file). Do not call setters on a read-only attach;
    /// [`is_read_only`](Self::is_read_only) tells which kind you have.
    pub fn attach_readonly(path: &Path) -> Result<Scoreboard, Error> {
        Self::open(path, true)
    }

    fn open(path: &Path, read_only: bool) -> Result<Scoreboard, Error> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(!read_only)
            .open(path)
            .map_err(|e| Error::io(path, "open", e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io(path, "stat", e))?
            .len();

        if len < HEADER_SIZE as u64 {
            // Too short to map a header. Tell a foreign file from a cut-off
            // scoreboard by whatever prefix of the magic is there.
            let mut head = [0u8; 8];
            let n = (len as usize).min(head.len());
            file.read_exact(&mut head[..n])
                .map_err(|e| Error::io(path, "read", e))?;
            if head[..n] != MAGIC[..n] {
                return Err(Error::BadMagic {
                    path: path.to_path_buf(),
                });
            }
            return Err(Error::Truncated {
                path: path.to_path_buf(),
                expected: HEADER_SIZE as u64,
                found: len,
            });
        }
        let map_len = usize::try_from(len)
            .map_err(|_| Error::bad_layout(path, format!("file is {len} bytes, too big to map")))?;

        // SAFETY: the file may change under us, which is fine because the
        // mapped bytes are only ever read and written through atomics. It
        // may also be truncated by someone else, which would raise SIGBUS on
        // access (documented at crate level); nothing in slotgate does that.
        let map = unsafe {
            if read_only {
                MmapOptions::new().len(map_len).map_copy(&file)
            } else {
                MmapOptions::new().len(map_len).map_mut(&file)
            }
        }
        .map_err(|e| Error::io(path, "map", e))?;

        // Until validated, only the header (which fits: len >= HEADER_SIZE)
        // is looked at.
        let provisional = Layout {
            processes: 0,
            balancers: 0,
            members: 0,
        };
        let mut sb = Self::from_map(path, map, provisional, read_only);
        sb.layout = validate(path, &sb.header().geometry(), len)?;
        Ok(sb)
    }

    /// Wraps a mapping whose length has been checked to cover
    /// `layout.file_size()` bytes (at least the header).
    fn from_map(path: &Path, mut map: MmapMut, layout: Layout, read_only: bool) -> Scoreboard {
        assert!(map.len() >= layout.file_size() && map.len() >= HEADER_SIZE);
        // A mapping is never null; take the pointer once, with write
        // provenance, and from now on use only it.
        let base = NonNull::new(map.as_mut_ptr()).expect("mmap returned a null pointer");
        Scoreboard {
            base,
            layout,
            path: path.to_path_buf(),
            read_only,
            _map: map,
        }
    }

    /// The path given at create/attach time.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Slot counts.
    pub fn layout(&self) -> Layout {
        self.layout
    }

    /// True for [`attach_readonly`](Self::attach_readonly).
    pub fn is_read_only(&self) -> bool {
        self.read_only
    }

    pub fn header(&self) -> &Header {
        // SAFETY: the mapping is at least HEADER_SIZE == size_of::<Header>()
        // bytes (checked before `from_map`), page-aligned (>= align 64), and
        // lives as long as `self`. Header consists only of atomics, so any
        // bytes are a valid Header and concurrent changes by other processes
        // are atomic accesses, not data races.
        unsafe { &*self.base.as_ptr().cast::<Header>() }
    }

    /// # Safety
    /// `offset + count * size_of::<T>()` must lie within the validated
    /// layout, `offset` must be a multiple of 64, and `T` must be one of the
    /// all-atomic 64-aligned record types.
    unsafe fn region<T>(&self, offset: usize, count: u32) -> &[T] {
        // SAFETY: per the function contract the range is inside the mapping
        // (which lives as long as `self`), aligned (page-aligned base plus a
        // multiple of 64) and made of all-atomic records, for which every
        // bit pattern is valid and shared access is data-race free.
        unsafe {
            std::slice::from_raw_parts(self.base.as_ptr().add(offset).cast::<T>(), count as usize)
        }
    }

    /// All process slots.
    pub fn processes(&self) -> &[ProcessSlot] {
        // SAFETY: the validated layout places `processes` ProcessSlots at
        // process_offset (a multiple of 64) inside the mapping.
        unsafe { self.region(self.layout.process_offset(), self.layout.processes) }
    }

    /// All balancer slots.
    pub fn balancers(&self) -> &[BalancerSlot] {
        // SAFETY: as for `processes`, at balancer_offset.
        unsafe { self.region(self.layout.balancer_offset(), self.layout.balancers) }
    }

    /// All member slots.
    pub fn members(&self) -> &[MemberSlot] {
        // SAFETY: as for `processes`, at member_offset.
        unsafe { self.region(self.layout.member_offset(), self.layout.members) }
    }

    /// Row `process` of the held matrix: one entry per member slot.
    /// Panics if `process` is out of range.
    fn held_row(&self, process: usize) -> &[AtomicU32] {
        let l = self.layout;
        if process >= l.processes as usize {
            panic!(
                "scoreboard {}: process slot {process} out of range ({} process slots)",
                self.path.display(),
                l.processes
            );
        }
        // Cannot overflow: this is below file_size(), which for a validated
        // layout equals the length of the mapping.
        let offset = l.held_offset() + process * l.held_row_stride();
        // SAFETY: `process < processes`, so the row's `members` entries
        // (members * 4 <= held_row_stride bytes) lie inside the held region,
        // which the validated layout places inside the mapping (alive as
        // long as `self`). `offset` is a multiple of 64 (held_offset follows
        // 64-byte records, the stride is a multiple of 64) on a page-aligned
        // base, so the entries are 4-aligned. AtomicU32 accepts any bit
        // pattern and shared access to it is data-race free.
        unsafe {
            std::slice::from_raw_parts(
                self.base.as_ptr().add(offset).cast::<AtomicU32>(),
                l.members as usize,
            )
        }
    }

    /// Requests process slot `process` currently holds on member slot
    /// `member`. Panics (naming the scoreboard and the bound) if either
    /// index is out of range.
    ///
    /// Only the worker in that process slot changes its row while it is
    /// alive: `fetch_add(1)` when it takes a request to the member,
    /// `fetch_sub(1)` when it is done with it. To make a death between two
    /// steps err on the harmless side (too low a `busy` heals once the
    /// member goes idle, because `busy` floors at 0; too high a `busy`
    /// lasts forever), keep the held count at least this process's share
    /// of `busy`:
    ///
    /// ```text
    /// take:    held(p, m).fetch_add(1); member(m).inc_busy();
    /// finish:  member(m).dec_busy();    held(p, m).fetch_sub(1);
    /// ```
    ///
    /// [`ProcessSlot::reset_for`] and [`ProcessSlot::clear`] do not touch
    /// the row; the supervisor gives it back with
    /// [`release_held`](Self::release_held).
    pub fn held(&self, process: usize, member: usize) -> &AtomicU32 {
        let row = self.held_row(process);
        match row.get(member) {
            Some(entry) => entry,
            None => panic!(
                "scoreboard {}: member slot {member} out of range ({} member slots)",
                self.path.display(),
                row.len()
            ),
        }
    }

    /// Supervisor only, after the worker in process slot `process` is gone
    /// (reaped), and before the slot is cleared or reused: gives back
    /// everything it held. For every member slot, the held entry is
    /// swapped to 0 and its old value subtracted from that member's `busy`
    /// ([`MemberSlot::sub_busy`], which floors at 0). Returns the sum of
    /// the held counts taken (`busy` may have dropped by less, if it was
    /// already lower). A second call returns 0 and changes nothing.
    ///
    /// Panics if `process` is out of range.
    pub fn release_held(&self, process: usize) -> u64 {
        let row = self.held_row(process);
        let members = self.members();
        let mut total = 0u64;
        for (entry, member) in row.iter().zip(members) {
            // Swap first: whoever takes a count subtracts it, so even two
            // racing callers never give back the same request twice.
            let n = entry.swap(0, Ordering::AcqRel);
            if n != 0 {
                member.sub_busy(i64::from(n));
                total += u64::from(n);
            }
        }
        total
    }

    /// Process slot `i`. Panics if `i` is out of range.
    pub fn process(&self, i: usize) -> &ProcessSlot {
        let all = self.processes();
        match all.get(i) {
            Some(slot) => slot,
            None => panic!(
                "scoreboard {}: process slot {i} out of range ({} process slots)",
                self.path.display(),
                all.len()
            ),
        }
    }

    /// Balancer slot `i`. Panics if `i` is out of range.
    pub fn balancer(&self, i: usize) -> &BalancerSlot {
        let all = self.balancers();
        match all.get(i) {
            Some(slot) => slot,
            None => panic!(
                "scoreboard {}: balancer slot {i} out of range ({} balancer slots)",
                self.path.display(),
                all.len()
            ),
        }
    }

    /// Member slot `i`. Panics if `i` is out of range.
    pub fn member(&self, i: usize) -> &MemberSlot {
        let all = self.members();
        match all.get(i) {
            Some(slot) => slot,
            None => panic!(
                "scoreboard {}: member slot {i} out of range ({} member slots)",
                self.path.display(),
                all.len()
            ),
        }
    }
}

impl fmt::Debug for Scoreboard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scoreboard")
            .field("path", &self.path)
            .field("layout", &self.layout)
            .field("read_only", &self.read_only)
            .finish()
    }
}

/// Checks a header read from a file of `len` bytes; returns its layout.
fn validate(path: &Path, g: &Geometry, len: u64) -> Result<Layout, Error> {
    if g.magic != MAGIC {
        return Err(Error::BadMagic {
            path: path.to_path_buf(),
        });
    }
    if g.version.0 != VERSION_MAJOR {
        return Err(Error::IncompatibleVersion {
            path: path.to_path_buf(),
            found_major: g.version.0,
            found_minor: g.version.1,
        });
    }
    let bad = |reason: String| Error::bad_layout(path, reason);
    if g.header_size as usize != HEADER_SIZE {
        return Err(bad(format!(
            "header size {} (expected {HEADER_SIZE})",
            g.header_size
        )));
    }
    let ours = (
        PROCESS_SLOT_SIZE as u32,
        BALANCER_SLOT_SIZE as u32,
        MEMBER_SLOT_SIZE as u32,
    );
    if g.record_sizes != ours {
        return Err(bad(format!(
            "record sizes {:?} (expected {ours:?})",
            g.record_sizes
        )));
    }
    let layout = Layout {
        processes: g.counts.0,
        balancers: g.counts.1,
        members: g.counts.2,
    };
    layout.check_counts().map_err(bad)?;
    let expected = layout.geometry();
    if g.offsets != expected.offsets {
        return Err(bad(format!(
            "region offsets {:?} do not match the slot counts (expected {:?})",
            g.offsets, expected.offsets
        )));
    }
    if g.total_size != expected.total_size {
        return Err(bad(format!(
            "header says {} bytes but {} process, {} balancer and {} member slots \
             (and their held matrix) need {}",
            g.total_size, layout.processes, layout.balancers, layout.members, expected.total_size
        )));
    }
    if len < expected.total_size {
        return Err(Error::Truncated {
            path: path.to_path_buf(),
            expected: expected.total_size,
            found: len,
        });
    }
    if len > expected.total_size {
        return Err(bad(format!(
            "file is {len} bytes, header says {}",
            expected.total_size
        )));
    }
    Ok(layout)
}
