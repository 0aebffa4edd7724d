//! A tiny lock that works across processes sharing the mapping.

use std::fmt;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// How many busy-wait iterations are spent before a waiter starts yielding
/// the CPU (and, for the slow paths, looking at the clock).
pub(crate) const SPINS_BEFORE_YIELD: u32 = 1000;

/// How long [`SpinLock::lock`] waits before it starts checking whether the
/// holder is still alive.
pub const STEAL_AFTER: Duration = Duration::from_millis(100);

/// Busy-wait helper: `spin_loop` first, `yield_now` once waiting drags on.
///
/// Does not allocate or take locks, so it may run in a forked child.
pub(crate) struct Backoff {
    spins: u32,
}

impl Backoff {
    pub(crate) fn new() -> Self {
        Backoff { spins: 0 }
    }

    /// True once the cheap spinning phase is over.
    pub(crate) fn is_slow(&self) -> bool {
        self.spins >= SPINS_BEFORE_YIELD
    }

    pub(crate) fn wait(&mut self) {
        if self.is_slow() {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
        self.spins = self.spins.saturating_add(1);
    }
}

/// The pid a process announced with [`set_current_pid`]; 0 = ask the kernel.
static CURRENT_PID: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// Saves `getpid()` in every lock operation (a system call each time, glibc no
/// longer caches it). Call it in a child right after `fork`, with its own pid: the
/// value is inherited across fork, so a process must never use its parent's.
pub fn set_current_pid(pid: i32) {
    CURRENT_PID.store(pid, std::sync::atomic::Ordering::Relaxed);
}

/// The calling process's id.
pub(crate) fn current_pid() -> i32 {
    let cached = CURRENT_PID.load(std::sync::atomic::Ordering::Relaxed);
    if cached != 0 {
        return cached;
    }
    // SAFETY: getpid has no preconditions and touches no memory we own.
    unsafe { libc::getpid() }
}

/// Whether `pid` names a process that still exists.
///
/// Values that cannot be a process id (zero or negative, e.g. from a corrupt
/// file) count as dead, so a lock holding garbage can be recovered.
/// A process we may not signal (EPERM) exists and therefore counts as alive.
pub(crate) fn pid_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 delivers nothing; kill only checks that the process
    // exists and that we may signal it. No memory is passed.
    let rc = unsafe { libc::kill(pid, 0) };
    if rc == 0 {
        return true;
    }
    std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// A cross-process spin lock: one `AtomicI32` holding the owner's pid
/// (0 = free).
///
/// Meant for short critical sections over shared-memory fields (a balancer's
/// member list, say). Waiters spin, then yield; once a waiter has waited
/// [`STEAL_AFTER`] it checks whether the recorded holder still exists and
/// takes the lock over if that process has died, so a worker that crashed
/// while holding the lock cannot wedge everyone else.
///
/// Limits:
/// * The owner is a *process*: two threads of one process exclude each other
///   as usual, but a thread that calls [`lock`](Self::lock) while its own
///   process already holds the lock waits until that guard is dropped (there
///   is no re-entrancy). Locking twice on the same thread deadlocks.
/// * If the holder dies and its pid is reused before someone notices, the
///   lock stays held until that new process exits.
/// * Data protected by a lock that was stolen may be half-updated; the lock
///   only restores progress, not consistency.
#[repr(C)]
pub struct SpinLock {
    owner: AtomicI32,
}

/// Holds a [`SpinLock`]; releases it when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct SpinGuard<'a> {
    lock: &'a SpinLock,
    me: i32,
}

impl SpinLock {
    /// A free lock (for use outside a mapping; slots in a mapping start free
    /// because the file is zero-filled).
    pub const fn new() -> Self {
        SpinLock {
            owner: AtomicI32::new(0),
        }
    }

    /// The pid currently recorded as holder, 0 if free.
    pub fn holder(&self) -> i32 {
        self.owner.load(Ordering::Relaxed)
    }

    /// Test hook: record `pid` as holder without any checks.
    #[cfg(test)]
    pub(crate) fn force_holder(&self, pid: i32) {
        self.owner.store(pid, Ordering::SeqCst);
    }

    /// Whether some process holds the lock right now.
    pub fn is_locked(&self) -> bool {
        self.holder() != 0
    }

    /// Takes the lock if it is free; never waits and never steals.
    pub fn try_lock(&self) -> Option<SpinGuard<'_>> {
        let me = current_pid();
        self.owner
            .compare_exchange(0, me, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| SpinGuard { lock: self, me })
    }

    /// Takes the lock, waiting as long as a live process holds it.
    ///
    /// Does not allocate, so it may be called in a child right after `fork`.
    pub fn lock(&self) -> SpinGuard<'_> {
        let me = current_pid();
        let mut backoff = Backoff::new();
        let mut waiting_since: Option<Instant> = None;
        loop {
            let holder = self.owner.load(Ordering::Relaxed);
            if holder == 0 {
                if self
                    .owner
                    .compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return SpinGuard { lock: self, me };
                }
            } else if backoff.is_slow() {
                let since = *waiting_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= STEAL_AFTER
                    && !pid_alive(holder)
                    && self
                        .owner
                        .compare_exchange(holder, me, Ordering::Acquire, Ordering::Relaxed)
                        .is_ok()
                {
                    return SpinGuard { lock: self, me };
                }
            }
            backoff.wait();
        }
    }
}

impl Default for SpinLock {
    fn default() -> Self {
        SpinLock::new()
    }
}

impl fmt::Debug for SpinLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpinLock")
            .field("holder", &self.holder())
            .finish()
    }
}

impl Drop for SpinGuard<'_> {
    fn drop(&mut self) {
        // Only release what we still own: if the lock was taken over (which
        // needs us to have looked dead), the new owner keeps it.
        let _ = self
            .lock
            .owner
            .compare_exchange(self.me, 0, Ordering::Release, Ordering::Relaxed);
    }
}

impl fmt::Debug for SpinGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpinGuard")
            .field("owner", &self.me)
            .finish()
    }
}
