//! The records stored in the mapping.
//!
//! CHANGING THE SIZE OR ORDER OF ANY FIELD OR RECORD IN THIS FILE CHANGES THE
//! FILE FORMAT AND NEEDS A `VERSION_MAJOR` BUMP. New fields may be carved out
//! of a record's `_reserved` words with a `VERSION_MINOR` bump, as long as the
//! record size stays the same and a zero value means "not set" (older
//! supervisors leave reserved words zero). The `const _` assertions at the end
//! of this file pin the sizes and the offsets of the fields.

use std::fmt;
use std::mem::{align_of, offset_of, size_of};
use std::sync::atomic::{AtomicI32, AtomicI64, AtomicU16, AtomicU32, AtomicU64, Ordering};

use crate::flags;
use crate::seqstr::SeqStr;
use crate::spinlock::{SpinGuard, SpinLock};
use crate::{unix_time_ms, MAX_PORTS};

use Ordering::{AcqRel, Acquire, Relaxed, Release};

/// Supervisor life-cycle phase, stored in the header as its `u32` value.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    Starting = 1,
    Running = 2,
    Restarting = 3,
    Stopping = 4,
    Stopped = 5,
}

impl Phase {
    /// Lower-case name: `"starting"`, `"running"`, ...
    pub fn name(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Running => "running",
            Phase::Restarting => "restarting",
            Phase::Stopping => "stopping",
            Phase::Stopped => "stopped",
        }
    }

    /// The phase with this stored value, `None` for anything else (including
    /// the 0 of a zero-filled header).
    pub fn from_u32(v: u32) -> Option<Phase> {
        match v {
            1 => Some(Phase::Starting),
            2 => Some(Phase::Running),
            3 => Some(Phase::Restarting),
            4 => Some(Phase::Stopping),
            5 => Some(Phase::Stopped),
            _ => None,
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a worker process is doing, httpd-scoreboard style. Stored in the slot
/// as the ASCII byte returned by [`code`](Self::code).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProcessState {
    Empty,
    Starting,
    Idle,
    Reading,
    Writing,
    KeepAlive,
    Closing,
    Graceful,
    Dead,
}

impl ProcessState {
    /// The letter shown by status pages: `.`, `S`, `_`, `R`, `W`, `K`, `C`,
    /// `G`, and `.` again for `Dead`.
    pub fn letter(self) -> char {
        match self {
            ProcessState::Dead => '.',
            other => other.code() as char,
        }
    }

    /// The byte stored in the slot; like [`letter`](Self::letter) except that
    /// `Dead` is stored as `X` so it can be told apart from `Empty`.
    pub fn code(self) -> u8 {
        match self {
            ProcessState::Empty => b'.',
            ProcessState::Starting => b'S',
            ProcessState::Idle => b'_',
            ProcessState::Reading => b'R',
            ProcessState::Writing => b'W',
            ProcessState::KeepAlive => b'K',
            ProcessState::Closing => b'C',
            ProcessState::Graceful => b'G',
            ProcessState::Dead => b'X',
        }
    }

    /// Inverse of [`code`](Self::code); 0 (a zero-filled slot) and unknown
    /// bytes read as `Empty`.
    pub fn from_letter(b: u8) -> ProcessState {
        match b {
            b'S' => ProcessState::Starting,
            b'_' => ProcessState::Idle,
            b'R' => ProcessState::Reading,
            b'W' => ProcessState::Writing,
            b'K' => ProcessState::KeepAlive,
            b'C' => ProcessState::Closing,
            b'G' => ProcessState::Graceful,
            b'X' => ProcessState::Dead,
            _ => ProcessState::Empty,
        }
    }
}

// ---------------------------------------------------------------------------
// Header
// ---------------------------------------------------------------------------

/// The first [`HEADER_SIZE`](crate::HEADER_SIZE) bytes of the file.
///
/// The first 64-byte line (identity and geometry) is written once by
/// [`Scoreboard::create`](crate::Scoreboard::create) and checked by attach;
/// the rest is supervisor state.
#[repr(C, align(64))]
pub struct Header {
    magic: AtomicU64,
    version_major: AtomicU16,
    version_minor: AtomicU16,
    header_size: AtomicU32,
    total_size: AtomicU64,
    process_slots: AtomicU32,
    balancer_slots: AtomicU32,
    member_slots: AtomicU32,
    process_slot_size: AtomicU32,
    balancer_slot_size: AtomicU32,
    member_slot_size: AtomicU32,
    process_offset: AtomicU64,
    balancer_offset: AtomicU64,
    // -- line 2 --
    member_offset: AtomicU64,
    held_offset: AtomicU64,
    supervisor_pid: AtomicI32,
    phase: AtomicU32,
    generation: AtomicU64,
    start_time_unix: AtomicU64,
    restarts: AtomicU64,
    port_count: AtomicU32,
    _pad0: AtomicU32,
    ports: [AtomicU16; MAX_PORTS],
    // -- added in 2.2 (carved out of `_reserved`) --
    checker_pid: AtomicI32,
    _pad1: AtomicU32,
    // -- added in 2.4 (carved out of `_reserved`) --
    /// Reloads (HUP, USR1) refused since the file was created.
    reloads_refused: AtomicU64,
    /// Why the last refused reload was refused (cut at 256 bytes).
    reload_refusal: SeqStr<32>,
    _reserved: [AtomicU64; 10],
}

/// The geometry fields of a header, as stored (unvalidated).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub magic: [u8; 8],
    pub version: (u16, u16),
    pub header_size: u32,
    pub total_size: u64,
    pub counts: (u32, u32, u32),
    pub record_sizes: (u32, u32, u32),
    /// Process, balancer, member and held-matrix offsets.
    pub offsets: (u64, u64, u64, u64),
}

impl Header {
    /// Writes the identity/geometry line. Magic goes last, with `Release`.
    pub(crate) fn init_geometry(&self, g: &Geometry) {
        self.version_major.store(g.version.0, Relaxed);
        self.version_minor.store(g.version.1, Relaxed);
        self.header_size.store(g.header_size, Relaxed);
        self.total_size.store(g.total_size, Relaxed);
        self.process_slots.store(g.counts.0, Relaxed);
        self.balancer_slots.store(g.counts.1, Relaxed);
        self.member_slots.store(g.counts.2, Relaxed);
        self.process_slot_size.store(g.record_sizes.0, Relaxed);
        self.balancer_slot_size.store(g.record_sizes.1, Relaxed);
        self.member_slot_size.store(g.record_sizes.2, Relaxed);
        self.process_offset.store(g.offsets.0, Relaxed);
        self.balancer_offset.store(g.offsets.1, Relaxed);
        self.member_offset.store(g.offsets.2, Relaxed);
        self.held_offset.store(g.offsets.3, Relaxed);
        self.magic.store(u64::from_le_bytes(g.magic), Release);
    }

    pub(crate) fn geometry(&self) -> Geometry {
        Geometry {
            magic: self.magic(),
            version: self.version(),
            header_size: self.header_size.load(Relaxed),
            total_size: self.total_size(),
            counts: (
                self.process_slots.load(Relaxed),
                self.balancer_slots.load(Relaxed),
                self.member_slots.load(Relaxed),
            ),
            record_sizes: (
                self.process_slot_size.load(Relaxed),
                self.balancer_slot_size.load(Relaxed),
                self.member_slot_size.load(Relaxed),
            ),
            offsets: (
                self.process_offset.load(Relaxed),
                self.balancer_offset.load(Relaxed),
                self.member_offset.load(Relaxed),
                self.held_offset.load(Relaxed),
            ),
        }
    }

    /// The 8 magic bytes as stored (`b"SLOTGATE"` in a valid file).
    pub fn magic(&self) -> [u8; 8] {
        self.magic.load(Acquire).to_le_bytes()
    }

    /// `(major, minor)` of the layout that wrote the file.
    pub fn version(&self) -> (u16, u16) {
        (
            self.version_major.load(Relaxed),
            self.version_minor.load(Relaxed),
        )
    }

    /// File size in bytes recorded at creation.
    pub fn total_size(&self) -> u64 {
        self.total_size.load(Relaxed)
    }

    pub fn phase(&self) -> Option<Phase> {
        Phase::from_u32(self.phase.load(Acquire))
    }
    pub fn set_phase(&self, p: Phase) {
        self.phase.store(p as u32, Release);
    }

    /// Restart generation; bumped by the supervisor on every graceful restart.
    pub fn generation(&self) -> u64 {
        self.generation.load(Acquire)
    }
    pub fn set_generation(&self, g: u64) {
        self.generation.store(g, Release);
    }

    pub fn supervisor_pid(&self) -> i32 {
        self.supervisor_pid.load(Relaxed)
    }
    pub fn set_supervisor_pid(&self, pid: i32) {
        self.supervisor_pid.store(pid, Relaxed);
    }

    /// Supervisor start time, unix seconds.
    pub fn start_time(&self) -> u64 {
        self.start_time_unix.load(Relaxed)
    }
    pub fn set_start_time(&self, t: u64) {
        self.start_time_unix.store(t, Relaxed);
    }

    /// Number of restarts since the scoreboard was created.
    pub fn restarts(&self) -> u64 {
        self.restarts.load(Relaxed)
    }
    pub fn add_restart(&self) {
        self.restarts.fetch_add(1, Relaxed);
    }

    /// 2.2: pid of the health-checker child, 0 when none runs.
    pub fn checker_pid(&self) -> i32 {
        self.checker_pid.load(Acquire)
    }
    pub fn set_checker_pid(&self, pid: i32) {
        self.checker_pid.store(pid, Release);
    }

    /// 2.4: reloads (HUP, USR1) refused since the file was created; `-k
    /// graceful` and `-k restart` compare it before and after their signal.
    pub fn reloads_refused(&self) -> u64 {
        self.reloads_refused.load(Acquire)
    }
    /// 2.4: why the last refused reload was refused (empty: none was).
    pub fn reload_refusal(&self) -> String {
        self.reload_refusal.get()
    }
    /// Records a refused reload: the reason first, then the count that
    /// publishes it (with `Release`).
    pub fn add_reload_refused(&self, why: &str) {
        self.reload_refusal.set(why);
        self.reloads_refused.fetch_add(1, Release);
    }
    /// Carries the count over to a new file (a restart that grew it).
    pub fn set_reloads_refused(&self, n: u64, why: &str) {
        self.reload_refusal.set(why);
        self.reloads_refused.store(n, Release);
    }

    /// The listening ports (at most [`MAX_PORTS`]).
    pub fn ports(&self) -> Vec<u16> {
        let n = (self.port_count.load(Acquire) as usize).min(MAX_PORTS);
        self.ports[..n].iter().map(|p| p.load(Relaxed)).collect()
    }

    /// Records the listening ports; anything past [`MAX_PORTS`] is dropped.
    /// The count is published last, with `Release`.
    pub fn set_ports(&self, ports: &[u16]) {
        let n = ports.len().min(MAX_PORTS);
        for (slot, &port) in self.ports.iter().zip(&ports[..n]) {
            slot.store(port, Relaxed);
        }
        for slot in &self.ports[n..] {
            slot.store(0, Relaxed);
        }
        self.port_count.store(n as u32, Release);
    }
}

impl fmt::Debug for Header {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let g = self.geometry();
        f.debug_struct("Header")
            .field("magic", &String::from_utf8_lossy(&g.magic))
            .field("version", &g.version)
            .field("total_size", &g.total_size)
            .field("counts", &g.counts)
            .field("supervisor_pid", &self.supervisor_pid())
            .field("phase", &self.phase())
            .field("generation", &self.generation())
            .field("start_time", &self.start_time())
            .field("restarts", &self.restarts())
            .field("ports", &self.ports())
            .field("checker_pid", &self.checker_pid())
            .field("reloads_refused", &self.reloads_refused())
            .field("reload_refusal", &self.reload_refusal())
            .finish()
    }
}

// ---------------------------------------------------------------------------
// Process slots
// ---------------------------------------------------------------------------

/// One worker process. Written by the supervisor (`reset_for`, `clear`) and
/// by the worker itself (state and counters).
#[repr(C, align(64))]
pub struct ProcessSlot {
    pid: AtomicI32,
    state: AtomicU32,
    generation: AtomicU64,
    connections: AtomicU64,
    total_connections: AtomicU64,
    requests: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    started: AtomicU64,
    last_used: AtomicU64,
    allocations: AtomicU64,
    /// Local faults (descriptors or memory exhausted) since the process
    /// started, and the last one's time (unix ms) and errno (2.3).
    local_faults: AtomicU64,
    local_fault_ms: AtomicU64,
    local_fault_errno: AtomicU64,
    // -- added in 2.5 (carved out of `_reserved`) --
    /// Times the worker was woken for a connection and found none (another
    /// process took it): the thundering herd, which prefork's accept avoids.
    accept_misses: AtomicU64,
    _reserved: [AtomicU64; 1],
    // -- added in 2.4 (the last reserved word) --
    /// When the worker's event loop last turned, [`monotonic_ms`](crate::monotonic_ms);
    /// 0 = never marked (a file of an older supervisor).
    progress_ms: AtomicU64,
}

impl ProcessSlot {
    /// The worker's pid, 0 for an empty slot.
    pub fn pid(&self) -> i32 {
        self.pid.load(Acquire)
    }
    pub fn set_pid(&self, pid: i32) {
        self.pid.store(pid, Release);
    }

    pub fn generation(&self) -> u64 {
        self.generation.load(Relaxed)
    }
    pub fn set_generation(&self, g: u64) {
        self.generation.store(g, Relaxed);
    }

    pub fn state(&self) -> ProcessState {
        // Only the low byte carries the letter; the rest is ignored so any
        // bit pattern reads as some state.
        ProcessState::from_letter(self.state.load(Relaxed) as u8)
    }
    pub fn set_state(&self, s: ProcessState) {
        self.state.store(u32::from(s.code()), Relaxed);
    }

    /// Connections currently open.
    pub fn connections(&self) -> u64 {
        self.connections.load(Relaxed)
    }
    pub fn set_connections(&self, n: u64) {
        self.connections.store(n, Relaxed);
    }

    /// Connections accepted since the slot was reset.
    pub fn total_connections(&self) -> u64 {
        self.total_connections.load(Relaxed)
    }
    pub fn add_connection(&self) {
        self.total_connections.fetch_add(1, Relaxed);
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Relaxed)
    }
    pub fn add_request(&self) {
        self.requests.fetch_add(1, Relaxed);
    }

    pub fn bytes_in(&self) -> u64 {
        self.bytes_in.load(Relaxed)
    }
    pub fn add_bytes_in(&self, n: u64) {
        self.bytes_in.fetch_add(n, Relaxed);
    }

    pub fn bytes_out(&self) -> u64 {
        self.bytes_out.load(Relaxed)
    }
    pub fn add_bytes_out(&self, n: u64) {
        self.bytes_out.fetch_add(n, Relaxed);
    }

    /// When the worker was started, unix ms.
    pub fn started(&self) -> u64 {
        self.started.load(Relaxed)
    }

    /// When the worker last served a request, unix ms; 0 = not yet.
    pub fn last_used(&self) -> u64 {
        self.last_used.load(Relaxed)
    }
    pub fn set_last_used(&self, unix_ms: u64) {
        self.last_used.store(unix_ms, Relaxed);
    }

    /// Heap allocations the worker has made since it started, as its counting
    /// allocator saw them (published once per event-loop turn).
    pub fn allocations(&self) -> u64 {
        self.allocations.load(Relaxed)
    }
    pub fn set_allocations(&self, n: u64) {
        self.allocations.store(n, Relaxed);
    }

    /// Times the worker ran out of something of its own (descriptors,
    /// memory, socket buffers) while serving: faults that are not a member's.
    pub fn local_faults(&self) -> u64 {
        self.local_faults.load(Relaxed)
    }

    /// The last local fault: (unix ms, errno); None before the first.
    pub fn last_local_fault(&self) -> Option<(u64, i32)> {
        let ms = self.local_fault_ms.load(Acquire);
        (ms != 0).then(|| (ms, self.local_fault_errno.load(Relaxed) as i32))
    }

    /// Counts a local fault with its errno. (The errno is stored before the
    /// time that publishes it; a reader racing two faults may pair one's
    /// time with the other's errno, both real.)
    pub fn record_local_fault(&self, errno: i32, unix_ms: u64) {
        self.local_faults.fetch_add(1, Relaxed);
        self.local_fault_errno.store(errno as u64, Relaxed);
        self.local_fault_ms.store(unix_ms.max(1), Release);
    }

    /// 2.5: times the worker was woken for a connection and found none
    /// (another process took it first); 0 in an older file.
    pub fn accept_misses(&self) -> u64 {
        self.accept_misses.load(Relaxed)
    }
    /// The worker, when an accept it was woken for found nothing.
    pub fn add_accept_miss(&self) {
        self.accept_misses.fetch_add(1, Relaxed);
    }

    /// 2.4: when the worker's loop last turned ([`monotonic_ms`](crate::monotonic_ms));
    /// the supervisor stamps a new slot with the spawn time. 0 = never marked.
    pub fn progress_ms(&self) -> u64 {
        self.progress_ms.load(Relaxed)
    }
    /// The worker, once per loop turn (one relaxed store).
    pub fn mark_progress(&self, monotonic_ms: u64) {
        self.progress_ms.store(monotonic_ms, Relaxed);
    }

    /// How long (ms) the process in this slot has made no progress at
    /// `now` ([`monotonic_ms`](crate::monotonic_ms)); None for an empty slot
    /// or one never marked.
    pub fn stalled_for(&self, now: u64) -> Option<u64> {
        let mark = self.progress_ms();
        (self.pid() != 0 && mark != 0).then(|| now.saturating_sub(mark))
    }

    /// Whether the status pages show this process as stalled at `now`: no
    /// progress for [`STALL_SHOWN_AFTER_MS`](crate::STALL_SHOWN_AFTER_MS).
    pub fn is_stalled(&self, now: u64) -> bool {
        self.stalled_for(now)
            .is_some_and(|ms| ms >= crate::STALL_SHOWN_AFTER_MS)
    }

    fn zero_counters(&self) {
        self.allocations.store(0, Relaxed);
        self.local_faults.store(0, Relaxed);
        self.local_fault_ms.store(0, Relaxed);
        self.local_fault_errno.store(0, Relaxed);
        self.accept_misses.store(0, Relaxed);
        self.progress_ms.store(0, Relaxed);
        self.state
            .store(u32::from(ProcessState::Empty.code()), Relaxed);
        self.generation.store(0, Relaxed);
        self.connections.store(0, Relaxed);
        self.total_connections.store(0, Relaxed);
        self.requests.store(0, Relaxed);
        self.bytes_in.store(0, Relaxed);
        self.bytes_out.store(0, Relaxed);
        self.started.store(0, Relaxed);
        self.last_used.store(0, Relaxed);
    }

    /// Supervisor only: prepares the slot for a new child: all counters 0,
    /// state `Starting`, `started` = now, `last_used` = 0, the progress mark
    /// = now (the watchdog counts a child that never reaches its loop from
    /// its start). The pid is stored
    /// last (with `Release`), so whoever sees it sees a fresh slot.
    ///
    /// The slot's row of held counts (a separate region) is not touched:
    /// call [`Scoreboard::release_held`](crate::Scoreboard::release_held)
    /// for the previous child first.
    pub fn reset_for(&self, pid: i32, generation: u64) {
        self.zero_counters();
        self.generation.store(generation, Relaxed);
        self.started.store(unix_time_ms(), Relaxed);
        self.progress_ms.store(crate::monotonic_ms(), Relaxed);
        self.set_state(ProcessState::Starting);
        self.pid.store(pid, Release);
    }

    /// Supervisor only: the child is gone. Pid goes to 0 first, then every
    /// field is zeroed and the state is `Empty`.
    ///
    /// The slot's row of held counts is not touched; give it back with
    /// [`Scoreboard::release_held`](crate::Scoreboard::release_held) before
    /// clearing.
    pub fn clear(&self) {
        self.pid.store(0, Release);
        self.zero_counters();
    }
}

impl fmt::Debug for ProcessSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessSlot")
            .field("pid", &self.pid())
            .field("generation", &self.generation())
            .field("state", &self.state())
            .field("connections", &self.connections())
            .field("total_connections", &self.total_connections())
            .field("requests", &self.requests())
            .field("bytes_in", &self.bytes_in())
            .field("bytes_out", &self.bytes_out())
            .field("started", &self.started())
            .field("last_used", &self.last_used())
            .field("allocations", &self.allocations())
            .field("accept_misses", &self.accept_misses())
            .field("progress_ms", &self.progress_ms())
            .finish()
    }
}

// ---------------------------------------------------------------------------
// Balancer slots
// ---------------------------------------------------------------------------

/// One `balancer://` cluster: its settings (editable at run time through the
/// balancer manager) and a lock for multi-field updates.
#[repr(C, align(64))]
pub struct BalancerSlot {
    in_use: AtomicU32,
    lock: SpinLock,
    /// Balancer name, e.g. `balancer://app`.
    pub name: SeqStr<12>,
    /// Load-balancing method: `byrequests`, `bytraffic`, `bybusyness`, ...
    pub lbmethod: SeqStr<2>,
    /// Sticky session cookie/parameter name(s).
    pub sticky: SeqStr<8>,
    /// Sticky session URL path parameter name(s).
    pub sticky_path: SeqStr<8>,
    /// Balancer-manager nonce.
    pub nonce: SeqStr<6>,
    timeout_ms: AtomicU64,
    max_attempts: AtomicU32,
    nofailover: AtomicU32,
    sticky_separator: AtomicU32,
    flags: AtomicU32,
    member_updated: AtomicU64,
    max_members: AtomicU32,
    _pad1: AtomicU32,
    _reserved: [AtomicU64; 17],
}

impl BalancerSlot {
    pub fn in_use(&self) -> bool {
        self.in_use.load(Acquire) != 0
    }
    pub fn set_in_use(&self, in_use: bool) {
        self.in_use.store(u32::from(in_use), Release);
    }

    /// Takes the balancer's cross-process lock.
    pub fn lock(&self) -> SpinGuard<'_> {
        self.lock.lock()
    }

    /// The lock itself (for `try_lock`, `holder`, ...).
    pub fn spin_lock(&self) -> &SpinLock {
        &self.lock
    }

    /// Time to wait for a free member, ms (0 = don't wait).
    pub fn timeout_ms(&self) -> u64 {
        self.timeout_ms.load(Relaxed)
    }
    pub fn set_timeout_ms(&self, ms: u64) {
        self.timeout_ms.store(ms, Relaxed);
    }

    /// `maxattempts`: failover attempts before giving up.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts.load(Relaxed)
    }
    pub fn set_max_attempts(&self, n: u32) {
        self.max_attempts.store(n, Relaxed);
    }

    /// `nofailover=On`.
    pub fn nofailover(&self) -> bool {
        self.nofailover.load(Relaxed) != 0
    }
    pub fn set_nofailover(&self, on: bool) {
        self.nofailover.store(u32::from(on), Relaxed);
    }

    /// `stickysession` route separator; `'\0'` if unset or not a valid char.
    pub fn sticky_separator(&self) -> char {
        char::from_u32(self.sticky_separator.load(Relaxed)).unwrap_or('\0')
    }
    pub fn set_sticky_separator(&self, c: char) {
        self.sticky_separator.store(u32::from(c), Relaxed);
    }

    /// Balancer option bits (meaning defined by the proxy).
    pub fn flags(&self) -> u32 {
        self.flags.load(Acquire)
    }
    /// Replaces all option bits.
    pub fn store_flags(&self, bits: u32) {
        self.flags.store(bits, Release);
    }
    /// Sets `bits` (fetch_or).
    pub fn set_flags(&self, bits: u32) {
        self.flags.fetch_or(bits, AcqRel);
    }
    /// Clears `bits` (fetch_and of the complement).
    pub fn clear_flags(&self, bits: u32) {
        self.flags.fetch_and(!bits, AcqRel);
    }

    /// Change stamp for the member list/settings: workers compare it with
    /// the value they last saw to notice balancer-manager edits.
    pub fn member_updated(&self) -> u64 {
        self.member_updated.load(Acquire)
    }
    pub fn set_member_updated(&self, v: u64) {
        self.member_updated.store(v, Release);
    }
    /// Increments the change stamp and returns the new value.
    pub fn bump_member_updated(&self) -> u64 {
        self.member_updated.fetch_add(1, AcqRel).wrapping_add(1)
    }

    /// Member slots this balancer may hold: its configured members plus its
    /// `growth` (httpd's `MaxMembers`); 0 = not set (a file written before
    /// layout 2.1), read as "no room to grow".
    pub fn max_members(&self) -> u32 {
        self.max_members.load(Relaxed)
    }
    pub fn set_max_members(&self, n: u32) {
        self.max_members.store(n, Relaxed);
    }

    /// Supervisor only: marks the slot unused and zeroes every field and
    /// string (the lock is left alone).
    pub fn clear(&self) {
        self.in_use.store(0, Release);
        self.name.clear();
        self.lbmethod.clear();
        self.sticky.clear();
        self.sticky_path.clear();
        self.nonce.clear();
        self.timeout_ms.store(0, Relaxed);
        self.max_attempts.store(0, Relaxed);
        self.nofailover.store(0, Relaxed);
        self.sticky_separator.store(0, Relaxed);
        self.flags.store(0, Relaxed);
        self.max_members.store(0, Relaxed);
        self.member_updated.store(0, Release);
    }
}

impl fmt::Debug for BalancerSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BalancerSlot")
            .field("in_use", &self.in_use())
            .field("name", &self.name)
            .field("lbmethod", &self.lbmethod)
            .field("sticky", &self.sticky)
            .field("sticky_path", &self.sticky_path)
            .field("timeout_ms", &self.timeout_ms())
            .field("max_attempts", &self.max_attempts())
            .field("nofailover", &self.nofailover())
            .field("sticky_separator", &self.sticky_separator())
            .field("flags", &self.flags())
            .field("member_updated", &self.member_updated())
            .field("max_members", &self.max_members())
            .field("lock", &self.lock)
            .finish()
    }
}

// ---------------------------------------------------------------------------
// Member slots
// ---------------------------------------------------------------------------

/// One backend: a balancer member, or a standalone `ProxyPass` worker when
/// [`balancer`](Self::balancer) is [`NO_BALANCER`](crate::NO_BALANCER).
#[repr(C, align(64))]
pub struct MemberSlot {
    in_use: AtomicU32,
    balancer: AtomicU32,
    /// Backend URL, e.g. `http://10.0.0.1:8080`.
    pub url: SeqStr<48>,
    /// `route=` (sticky session route).
    pub route: SeqStr<8>,
    /// `redirect=` (route to send new sessions to when draining).
    pub redirect: SeqStr<8>,
    lbfactor: AtomicU32,
    lbset: AtomicU32,
    status: AtomicU32,
    retries: AtomicU32,
    elected: AtomicU64,
    busy: AtomicI64,
    lbstatus: AtomicI64,
    transferred: AtomicU64,
    read: AtomicU64,
    requests: AtomicU64,
    errors: AtomicU64,
    error_time: AtomicU64,
    hc_last_check: AtomicU64,
    latency_ewma_us: AtomicU64,
    hc_pcount: AtomicU32,
    hc_fcount: AtomicU32,
    hc_last_result: AtomicU32,
    /// 2.1: non-zero for a member added at run time (balancer-manager,
    /// slotgate-top) rather than configured.
    added: AtomicU32,
    // -- added in 2.1 (carved out of `_reserved`) --
    /// Latency histogram: finished requests per bucket, *not* cumulative:
    /// entry `i < LATENCY_BUCKETS` counts samples in
    /// `(LATENCY_BOUNDS_US[i-1], LATENCY_BOUNDS_US[i]]`, the last entry
    /// those above the last bound.
    latency_buckets: [AtomicU64; LATENCY_BUCKETS + 1],
    /// Sum of all latency samples, µs.
    latency_sum_us: AtomicU64,
    // -- added in 2.2 (carved out of `_reserved`): the live health-check
    // settings (written by the supervisor from the configuration; the
    // balancer-manager or slotgate-top may change them) and the last result's
    // text. 0 / empty = not set (method NONE: not checked). --
    hc_method: AtomicU32,
    hc_interval_ms: AtomicU32,
    hc_passes: AtomicU32,
    hc_fails: AtomicU32,
    /// `hcuri=`: appended to the URL's path for HTTP checks.
    pub hc_uri: SeqStr<8>,
    /// `hcexpr=`: the name of a `ProxyHCExpr` (at most 15 bytes in httpd).
    pub hc_expr: SeqStr<2>,
    /// Short text of the last check's result: `ok`, `status 500`,
    /// `connect refused`, `timeout`, `expr false`, ...
    pub hc_reason: SeqStr<6>,
    _reserved: [AtomicU64; 5],
    // -- added in 2.2 as well (the last 5 reserved words): what members
    // report about themselves. `lbmethod=byload` reads the `X-Backend-Load`
    // response header's figures, `lbmethod=heartbeat` the mod_heartbeat
    // beacons; 0 = never reported. --
    /// Reported load average × 1000 (`l=`).
    load_milli: AtomicU32,
    /// Reported idle workers (`i=`).
    load_idle: AtomicU32,
    /// Reported busy workers (`b=`).
    load_busy: AtomicU32,
    /// Heartbeat `ready=`.
    hb_ready: AtomicU32,
    /// Heartbeat `busy=`.
    hb_busy: AtomicU32,
    _reserved32: AtomicU32,
    /// When the last `X-Backend-Load` header was stored, unix ms.
    load_seen_ms: AtomicU64,
    /// When the last heartbeat was stored, unix ms.
    hb_seen_ms: AtomicU64,
}

/// A member's self-reported load (see [`MemberSlot::reported_load`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReportedLoad {
    /// Load average × 1000.
    pub load_milli: u32,
    /// Idle workers.
    pub idle: u32,
    /// Busy workers.
    pub busy: u32,
    /// When it was reported, unix ms; 0 = never.
    pub seen_ms: u64,
}

/// A member's last heartbeat (see [`MemberSlot::heartbeat`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Heartbeat {
    /// `ready=`: idle workers.
    pub ready: u32,
    /// `busy=`: busy workers.
    pub busy: u32,
    /// When it was received, unix ms; 0 = never.
    pub seen_ms: u64,
}

/// Outcome of a passed check in [`MemberSlot::hc_last_result`] (bits 16..).
pub const HC_RESULT_PASSED: u32 = 1;
/// Outcome of a failed check in [`MemberSlot::hc_last_result`] (bits 16..).
pub const HC_RESULT_FAILED: u32 = 2;

/// Number of bounded buckets of the member latency histogram.
pub const LATENCY_BUCKETS: usize = 13;

/// Upper bounds (inclusive, µs) of the member latency histogram buckets:
/// 1 ms … 10 s, Prometheus' usual 1-2.5-5 steps. Samples above the last bound
/// land in an overflow bucket (Prometheus' `+Inf`).
pub const LATENCY_BOUNDS_US: [u64; LATENCY_BUCKETS] = [
    1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
    5_000_000, 10_000_000,
];

/// A copy of a member's latency histogram (see
/// [`MemberSlot::latency_histogram`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LatencyHistogram {
    /// Samples per bucket, not cumulative; the last entry is the overflow
    /// bucket (above [`LATENCY_BOUNDS_US`]'s last bound).
    pub buckets: [u64; LATENCY_BUCKETS + 1],
    /// Sum of the samples, µs.
    pub sum_us: u64,
}

impl LatencyHistogram {
    /// Number of samples (the sum of the buckets).
    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// Cumulative counts, one per bound of [`LATENCY_BOUNDS_US`] and a last
    /// one (`+Inf`) equal to [`count`](Self::count).
    pub fn cumulative(&self) -> [u64; LATENCY_BUCKETS + 1] {
        let mut out = self.buckets;
        for i in 1..out.len() {
            out[i] = out[i].wrapping_add(out[i - 1]);
        }
        out
    }
}

/// The histogram bucket a sample of `us` microseconds goes to.
fn latency_bucket(us: u64) -> usize {
    LATENCY_BOUNDS_US.partition_point(|&bound| bound < us)
}

impl MemberSlot {
    pub fn in_use(&self) -> bool {
        self.in_use.load(Acquire) != 0
    }
    pub fn set_in_use(&self, in_use: bool) {
        self.in_use.store(u32::from(in_use), Release);
    }

    /// Index of the owning balancer slot, or `NO_BALANCER`.
    pub fn balancer(&self) -> u32 {
        self.balancer.load(Relaxed)
    }
    pub fn set_balancer(&self, index: u32) {
        self.balancer.store(index, Relaxed);
    }

    /// `loadfactor` ×100 (100..=10000).
    pub fn lbfactor(&self) -> u32 {
        self.lbfactor.load(Relaxed)
    }
    pub fn set_lbfactor(&self, f: u32) {
        self.lbfactor.store(f, Relaxed);
    }

    /// `lbset`.
    pub fn lbset(&self) -> u32 {
        self.lbset.load(Relaxed)
    }
    pub fn set_lbset(&self, set: u32) {
        self.lbset.store(set, Relaxed);
    }

    /// Status bits (see [`flags`](crate::flags)).
    pub fn status(&self) -> u32 {
        self.status.load(Acquire)
    }
    /// Replaces all status bits.
    pub fn set_status(&self, bits: u32) {
        self.status.store(bits, Release);
    }
    /// Sets `bits` (fetch_or).
    pub fn set_flags(&self, bits: u32) {
        self.status.fetch_or(bits, AcqRel);
    }
    /// Clears `bits` (fetch_and of the complement).
    pub fn clear_flags(&self, bits: u32) {
        self.status.fetch_and(!bits, AcqRel);
    }
    /// [`flags::is_usable`] of the current status.
    pub fn is_usable(&self) -> bool {
        flags::is_usable(self.status())
    }

    /// Retries done since the member went into error state.
    pub fn retries(&self) -> u32 {
        self.retries.load(Relaxed)
    }
    pub fn set_retries(&self, n: u32) {
        self.retries.store(n, Relaxed);
    }
    pub fn add_retry(&self) {
        self.retries.fetch_add(1, Relaxed);
    }

    /// Times chosen by the load balancer.
    pub fn elected(&self) -> u64 {
        self.elected.load(Relaxed)
    }
    pub fn add_elected(&self) {
        self.elected.fetch_add(1, Relaxed);
    }
    pub fn set_elected(&self, n: u64) {
        self.elected.store(n, Relaxed);
    }

    /// Requests currently in flight.
    pub fn busy(&self) -> i64 {
        self.busy.load(Relaxed)
    }
    pub fn set_busy(&self, n: i64) {
        self.busy.store(n, Relaxed);
    }
    pub fn inc_busy(&self) {
        self.busy.fetch_add(1, Relaxed);
    }
    /// Decrements, never going below 0.
    pub fn dec_busy(&self) {
        let _ = self
            .busy
            .fetch_update(Relaxed, Relaxed, |b| (b > 0).then(|| b - 1));
    }
    /// Subtracts `n`, never going below 0 (like `n` calls of
    /// [`dec_busy`](Self::dec_busy), in one step). `n <= 0` changes
    /// nothing.
    pub fn sub_busy(&self, n: i64) {
        if n <= 0 {
            return;
        }
        let _ = self
            .busy
            .fetch_update(Relaxed, Relaxed, |b| (b > 0).then(|| (b - n).max(0)));
    }

    /// Load-balancer working value (`byrequests`' running score).
    pub fn lbstatus(&self) -> i64 {
        self.lbstatus.load(Relaxed)
    }
    pub fn set_lbstatus(&self, v: i64) {
        self.lbstatus.store(v, Relaxed);
    }
    pub fn add_lbstatus(&self, delta: i64) {
        self.lbstatus.fetch_add(delta, Relaxed);
    }

    /// Bytes sent to the backend.
    pub fn transferred(&self) -> u64 {
        self.transferred.load(Relaxed)
    }
    pub fn add_transferred(&self, n: u64) {
        self.transferred.fetch_add(n, Relaxed);
    }

    /// Bytes received from the backend.
    pub fn read(&self) -> u64 {
        self.read.load(Relaxed)
    }
    pub fn add_read(&self, n: u64) {
        self.read.fetch_add(n, Relaxed);
    }

    pub fn requests(&self) -> u64 {
        self.requests.load(Relaxed)
    }
    pub fn add_request(&self) {
        self.requests.fetch_add(1, Relaxed);
    }

    pub fn errors(&self) -> u64 {
        self.errors.load(Relaxed)
    }
    pub fn add_error(&self) {
        self.errors.fetch_add(1, Relaxed);
    }

    /// When the member last went into error state, unix ms; 0 = never.
    pub fn error_time(&self) -> u64 {
        self.error_time.load(Relaxed)
    }
    pub fn set_error_time(&self, unix_ms: u64) {
        self.error_time.store(unix_ms, Relaxed);
    }

    /// Consecutive passed health checks.
    pub fn hc_pcount(&self) -> u32 {
        self.hc_pcount.load(Relaxed)
    }
    pub fn set_hc_pcount(&self, n: u32) {
        self.hc_pcount.store(n, Relaxed);
    }

    /// Consecutive failed health checks.
    pub fn hc_fcount(&self) -> u32 {
        self.hc_fcount.load(Relaxed)
    }
    pub fn set_hc_fcount(&self, n: u32) {
        self.hc_fcount.store(n, Relaxed);
    }

    /// Whether the member was added at run time (balancer-manager,
    /// slotgate-top) rather than configured; `BalancerPersist` restores
    /// such members.
    pub fn added(&self) -> bool {
        self.added.load(Relaxed) != 0
    }
    pub fn set_added(&self, added: bool) {
        self.added.store(u32::from(added), Relaxed);
    }

    /// Time of the last health check, unix ms; 0 = never.
    pub fn hc_last_check(&self) -> u64 {
        self.hc_last_check.load(Relaxed)
    }
    pub fn set_hc_last_check(&self, unix_ms: u64) {
        self.hc_last_check.store(unix_ms, Relaxed);
    }

    /// Result of the last health check as stored: 0 = none yet, else
    /// [`HC_RESULT_PASSED`] or [`HC_RESULT_FAILED`] in bits 16.. and the HTTP status
    /// (0 for a TCP check or no response) in the low 16 bits; see
    /// [`set_hc_result`](Self::set_hc_result) and
    /// [`hc_result`](Self::hc_result).
    pub fn hc_last_result(&self) -> u32 {
        self.hc_last_result.load(Relaxed)
    }
    pub fn set_hc_last_result(&self, v: u32) {
        self.hc_last_result.store(v, Relaxed);
    }
    /// Stores the last check's outcome and HTTP status (0 = none).
    pub fn set_hc_result(&self, passed: bool, status: u16) {
        let outcome = if passed {
            HC_RESULT_PASSED
        } else {
            HC_RESULT_FAILED
        };
        self.set_hc_last_result((outcome << 16) | u32::from(status));
    }
    /// `Some((passed, status))` of the last check, `None` before the first
    /// (or for a value not written by [`set_hc_result`](Self::set_hc_result)).
    pub fn hc_result(&self) -> Option<(bool, u16)> {
        let v = self.hc_last_result();
        match v >> 16 {
            HC_RESULT_PASSED => Some((true, v as u16)),
            HC_RESULT_FAILED => Some((false, v as u16)),
            _ => None,
        }
    }

    /// 2.2: health-check method code (slotgate's `HcMethod::code`: 0 = NONE,
    /// not checked; 1 TCP, 2 OPTIONS, 3 OPTIONS11, 4 HEAD, 5 HEAD11, 6 GET,
    /// 7 GET11).
    pub fn hc_method(&self) -> u32 {
        self.hc_method.load(Relaxed)
    }
    pub fn set_hc_method(&self, code: u32) {
        self.hc_method.store(code, Relaxed);
    }
    /// 2.2: `hcinterval`, ms (0 = not set).
    pub fn hc_interval_ms(&self) -> u32 {
        self.hc_interval_ms.load(Relaxed)
    }
    pub fn set_hc_interval_ms(&self, ms: u32) {
        self.hc_interval_ms.store(ms, Relaxed);
    }
    /// 2.2: `hcpasses` (0 behaves like 1).
    pub fn hc_passes(&self) -> u32 {
        self.hc_passes.load(Relaxed)
    }
    pub fn set_hc_passes(&self, n: u32) {
        self.hc_passes.store(n, Relaxed);
    }
    /// 2.2: `hcfails` (0 behaves like 1).
    pub fn hc_fails(&self) -> u32 {
        self.hc_fails.load(Relaxed)
    }
    pub fn set_hc_fails(&self, n: u32) {
        self.hc_fails.store(n, Relaxed);
    }

    /// 2.2: the member's last self-reported load (`X-Backend-Load`).
    /// Each word is read once, relaxed: a report stored meanwhile may be
    /// half in.
    pub fn reported_load(&self) -> ReportedLoad {
        ReportedLoad {
            load_milli: self.load_milli.load(Relaxed),
            idle: self.load_idle.load(Relaxed),
            busy: self.load_busy.load(Relaxed),
            seen_ms: self.load_seen_ms.load(Relaxed),
        }
    }
    /// 2.2: stores a self-reported load (any process, relaxed atomics).
    pub fn set_reported_load(&self, load: ReportedLoad) {
        self.load_milli.store(load.load_milli, Relaxed);
        self.load_idle.store(load.idle, Relaxed);
        self.load_busy.store(load.busy, Relaxed);
        self.load_seen_ms.store(load.seen_ms, Relaxed);
    }
    /// 2.2: the member's last heartbeat (mod_heartbeat's `ready`/`busy`).
    pub fn heartbeat(&self) -> Heartbeat {
        Heartbeat {
            ready: self.hb_ready.load(Relaxed),
            busy: self.hb_busy.load(Relaxed),
            seen_ms: self.hb_seen_ms.load(Relaxed),
        }
    }
    /// 2.2: stores a heartbeat (relaxed atomics).
    pub fn set_heartbeat(&self, hb: Heartbeat) {
        self.hb_ready.store(hb.ready, Relaxed);
        self.hb_busy.store(hb.busy, Relaxed);
        self.hb_seen_ms.store(hb.seen_ms, Relaxed);
    }

    /// Smoothed response latency, µs; 0 = no sample yet.
    pub fn latency_ewma_us(&self) -> u64 {
        self.latency_ewma_us.load(Relaxed)
    }
    /// Latency histogram, copied out (each word read once, relaxed: a
    /// sample recorded meanwhile may be half in).
    pub fn latency_histogram(&self) -> LatencyHistogram {
        let mut h = LatencyHistogram {
            sum_us: self.latency_sum_us.load(Relaxed),
            ..LatencyHistogram::default()
        };
        for (out, bucket) in h.buckets.iter_mut().zip(&self.latency_buckets) {
            *out = bucket.load(Relaxed);
        }
        h
    }

    /// Folds in one sample: `avg = (7 * avg + sample) / 8` (α = 1/8); the
    /// first sample (average 0) is taken as is. Also counts it in the
    /// latency histogram (its bucket and the sum, relaxed atomics).
    pub fn record_latency_us(&self, sample: u64) {
        self.latency_buckets[latency_bucket(sample)].fetch_add(1, Relaxed);
        self.latency_sum_us.fetch_add(sample, Relaxed);
        let _ = self.latency_ewma_us.fetch_update(Relaxed, Relaxed, |avg| {
            if avg == 0 {
                Some(sample)
            } else {
                // Fits: (7 * u64::MAX + u64::MAX) / 8 == u64::MAX.
                Some(((u128::from(avg) * 7 + u128::from(sample)) / 8) as u64)
            }
        });
    }

    /// Supervisor only, when the slot is given to a new member: zeroes the
    /// run-time statistics (elected, busy, lbstatus, transferred, read,
    /// requests, errors, error_time, retries, the health-check counters, last
    /// result and reason, the latency average and histogram, the reported load
    /// and heartbeat) and keeps the
    /// identity and settings (in_use, balancer, url, route, redirect, lbfactor,
    /// lbset, status, the health-check settings).
    ///
    /// Held counts of live workers on this member slot are not touched;
    /// when those requests finish (or their worker dies) they come off the
    /// new member's `busy`, which floors at 0.
    pub fn reset_stats(&self) {
        for field in [
            &self.retries,
            &self.hc_pcount,
            &self.hc_fcount,
            &self.hc_last_result,
            &self.load_milli,
            &self.load_idle,
            &self.load_busy,
            &self.hb_ready,
            &self.hb_busy,
        ] {
            field.store(0, Relaxed);
        }
        for field in [
            &self.elected,
            &self.transferred,
            &self.read,
            &self.requests,
            &self.errors,
            &self.error_time,
            &self.hc_last_check,
            &self.latency_ewma_us,
            &self.latency_sum_us,
            &self.load_seen_ms,
            &self.hb_seen_ms,
        ] {
            field.store(0, Relaxed);
        }
        for bucket in &self.latency_buckets {
            bucket.store(0, Relaxed);
        }
        self.hc_reason.clear();
        self.busy.store(0, Relaxed);
        self.lbstatus.store(0, Relaxed);
    }

    /// Supervisor only: marks the slot unused and zeroes every field and
    /// string (`balancer` becomes 0, not `NO_BALANCER`).
    pub fn clear(&self) {
        self.in_use.store(0, Release);
        self.balancer.store(0, Relaxed);
        self.url.clear();
        self.route.clear();
        self.redirect.clear();
        for field in [
            &self.lbfactor,
            &self.lbset,
            &self.status,
            &self.added,
            &self.hc_method,
            &self.hc_interval_ms,
            &self.hc_passes,
            &self.hc_fails,
        ] {
            field.store(0, Relaxed);
        }
        self.hc_uri.clear();
        self.hc_expr.clear();
        self.reset_stats();
    }
}

impl fmt::Debug for MemberSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemberSlot")
            .field("in_use", &self.in_use())
            .field("balancer", &self.balancer())
            .field("url", &self.url)
            .field("route", &self.route)
            .field("redirect", &self.redirect)
            .field("lbfactor", &self.lbfactor())
            .field("lbset", &self.lbset())
            .field("added", &self.added())
            .field("status", &flags::display(self.status()))
            .field("retries", &self.retries())
            .field("elected", &self.elected())
            .field("busy", &self.busy())
            .field("lbstatus", &self.lbstatus())
            .field("transferred", &self.transferred())
            .field("read", &self.read())
            .field("requests", &self.requests())
            .field("errors", &self.errors())
            .field("error_time", &self.error_time())
            .field("hc_pcount", &self.hc_pcount())
            .field("hc_fcount", &self.hc_fcount())
            .field("hc_last_check", &self.hc_last_check())
            .field("hc_last_result", &self.hc_last_result())
            .field("hc_method", &self.hc_method())
            .field("hc_interval_ms", &self.hc_interval_ms())
            .field("hc_passes", &self.hc_passes())
            .field("hc_fails", &self.hc_fails())
            .field("hc_uri", &self.hc_uri)
            .field("hc_expr", &self.hc_expr)
            .field("hc_reason", &self.hc_reason)
            .field("latency_ewma_us", &self.latency_ewma_us())
            .field("latency_histogram", &self.latency_histogram())
            .finish()
    }
}

// ---------------------------------------------------------------------------
// Layout assertions. If one of these fails you changed the file format:
// bump VERSION_MAJOR (or restore the layout).
// ---------------------------------------------------------------------------

const _: () = assert!(size_of::<SeqStr<1>>() == 16 && align_of::<SeqStr<1>>() == 8);
const _: () = assert!(size_of::<SeqStr<48>>() == 8 + 48 * 8);
const _: () = assert!(size_of::<SpinLock>() == 4 && align_of::<SpinLock>() == 4);

const _: () = assert!(size_of::<Header>() == crate::HEADER_SIZE);
const _: () = assert!(align_of::<Header>() == 64);
const _: () = assert!(offset_of!(Header, magic) == 0);
const _: () = assert!(offset_of!(Header, version_major) == 8);
const _: () = assert!(offset_of!(Header, version_minor) == 10);
const _: () = assert!(offset_of!(Header, header_size) == 12);
const _: () = assert!(offset_of!(Header, total_size) == 16);
const _: () = assert!(offset_of!(Header, process_slots) == 24);
const _: () = assert!(offset_of!(Header, member_slot_size) == 44);
const _: () = assert!(offset_of!(Header, balancer_offset) == 56);
const _: () = assert!(offset_of!(Header, member_offset) == 64);
const _: () = assert!(offset_of!(Header, held_offset) == 72);
const _: () = assert!(offset_of!(Header, supervisor_pid) == 80);
const _: () = assert!(offset_of!(Header, phase) == 84);
const _: () = assert!(offset_of!(Header, generation) == 88);
const _: () = assert!(offset_of!(Header, restarts) == 104);
const _: () = assert!(offset_of!(Header, port_count) == 112);
const _: () = assert!(offset_of!(Header, ports) == 120);
const _: () = assert!(offset_of!(Header, checker_pid) == 152);
const _: () = assert!(offset_of!(Header, reloads_refused) == 160);
const _: () = assert!(offset_of!(Header, reload_refusal) == 168);
const _: () = assert!(offset_of!(Header, _reserved) == 432);

const _: () = assert!(size_of::<ProcessSlot>() == crate::PROCESS_SLOT_SIZE);
const _: () = assert!(align_of::<ProcessSlot>() == 64);
const _: () = assert!(offset_of!(ProcessSlot, state) == 4);
const _: () = assert!(offset_of!(ProcessSlot, generation) == 8);
const _: () = assert!(offset_of!(ProcessSlot, requests) == 32);
const _: () = assert!(offset_of!(ProcessSlot, last_used) == 64);
const _: () = assert!(offset_of!(ProcessSlot, allocations) == 72);
const _: () = assert!(offset_of!(ProcessSlot, local_faults) == 80);
const _: () = assert!(offset_of!(ProcessSlot, local_fault_ms) == 88);
const _: () = assert!(offset_of!(ProcessSlot, local_fault_errno) == 96);
const _: () = assert!(offset_of!(ProcessSlot, accept_misses) == 104);
const _: () = assert!(offset_of!(ProcessSlot, _reserved) == 112);
const _: () = assert!(offset_of!(ProcessSlot, progress_ms) == 120);

const _: () = assert!(size_of::<BalancerSlot>() == crate::BALANCER_SLOT_SIZE);
const _: () = assert!(align_of::<BalancerSlot>() == 64);
const _: () = assert!(offset_of!(BalancerSlot, lock) == 4);
const _: () = assert!(offset_of!(BalancerSlot, name) == 8);
const _: () = assert!(offset_of!(BalancerSlot, lbmethod) == 112);
const _: () = assert!(offset_of!(BalancerSlot, sticky) == 136);
const _: () = assert!(offset_of!(BalancerSlot, sticky_path) == 208);
const _: () = assert!(offset_of!(BalancerSlot, nonce) == 280);
const _: () = assert!(offset_of!(BalancerSlot, timeout_ms) == 336);
const _: () = assert!(offset_of!(BalancerSlot, flags) == 356);
const _: () = assert!(offset_of!(BalancerSlot, member_updated) == 360);
const _: () = assert!(offset_of!(BalancerSlot, max_members) == 368);
const _: () = assert!(offset_of!(BalancerSlot, _reserved) == 376);

const _: () = assert!(size_of::<MemberSlot>() == crate::MEMBER_SLOT_SIZE);
const _: () = assert!(align_of::<MemberSlot>() == 64);
const _: () = assert!(offset_of!(MemberSlot, url) == 8);
const _: () = assert!(offset_of!(MemberSlot, route) == 400);
const _: () = assert!(offset_of!(MemberSlot, redirect) == 472);
const _: () = assert!(offset_of!(MemberSlot, lbfactor) == 544);
const _: () = assert!(offset_of!(MemberSlot, status) == 552);
const _: () = assert!(offset_of!(MemberSlot, elected) == 560);
const _: () = assert!(offset_of!(MemberSlot, busy) == 568);
const _: () = assert!(offset_of!(MemberSlot, error_time) == 616);
const _: () = assert!(offset_of!(MemberSlot, latency_ewma_us) == 632);
const _: () = assert!(offset_of!(MemberSlot, hc_pcount) == 640);
const _: () = assert!(offset_of!(MemberSlot, added) == 652);
const _: () = assert!(offset_of!(MemberSlot, latency_buckets) == 656);
const _: () = assert!(offset_of!(MemberSlot, latency_sum_us) == 768);
const _: () = assert!(offset_of!(MemberSlot, hc_method) == 776);
const _: () = assert!(offset_of!(MemberSlot, hc_fails) == 788);
const _: () = assert!(offset_of!(MemberSlot, hc_uri) == 792);
const _: () = assert!(offset_of!(MemberSlot, hc_expr) == 864);
const _: () = assert!(offset_of!(MemberSlot, hc_reason) == 888);
const _: () = assert!(offset_of!(MemberSlot, _reserved) == 944);
const _: () = assert!(offset_of!(MemberSlot, load_milli) == 984);
const _: () = assert!(offset_of!(MemberSlot, hb_ready) == 996);
const _: () = assert!(offset_of!(MemberSlot, load_seen_ms) == 1008);
const _: () = assert!(offset_of!(MemberSlot, hb_seen_ms) == 1016);

// Records tile the file without gaps and keep every region 64-byte aligned.
const _: () = assert!(crate::HEADER_SIZE.is_multiple_of(64));
const _: () = assert!(crate::PROCESS_SLOT_SIZE.is_multiple_of(64));
const _: () = assert!(crate::BALANCER_SLOT_SIZE.is_multiple_of(64));
const _: () = assert!(crate::MEMBER_SLOT_SIZE.is_multiple_of(64));

// The held matrix: AtomicU32 entries, rows padded to whole cache lines.
const _: () = assert!(size_of::<AtomicU32>() == crate::HELD_ENTRY_SIZE);
const _: () = assert!(align_of::<AtomicU32>() <= crate::HELD_ENTRY_SIZE);
const _: () = assert!(64usize.is_multiple_of(crate::HELD_ENTRY_SIZE));
