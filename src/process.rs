//! Process primitives: the one place in the daemon outside the scoreboard crate
//! with `unsafe` (fork, and signal dispositions in a fresh child).

use std::io;
use std::path::Path;

use nix::sys::signal::{signal, SigHandler, Signal};
use nix::unistd::{fork as nix_fork, ForkResult, Pid};

/// Which side of a fork we are on.
pub enum Forked {
    Parent(Pid),
    Child,
}

/// Forks the calling process.
///
/// Must only be called while the process has a single thread (the supervisor
/// never starts threads), so the child inherits no lock held by another thread.
pub fn fork() -> io::Result<Forked> {
    // SAFETY: the supervisor is single-threaded (it starts no threads and
    // signal-hook's pipe and flag registration spawn none), so the child gets a
    // consistent copy of every lock and allocator state.
    match unsafe { nix_fork() } {
        Ok(ForkResult::Parent { child }) => Ok(Forked::Parent(child)),
        Ok(ForkResult::Child) => Ok(Forked::Child),
        Err(e) => Err(io::Error::from(e)),
    }
}

/// Forks a worker or the health checker: like [`fork`], with the supervisor's
/// signals blocked across the fork, so that one arriving before the child has
/// put back their default actions ([`init_child`], which unblocks them) is held
/// until then instead of running the supervisor's handler in the child and
/// being lost (a stop in that instant then waited for the kill timeout).
pub fn fork_child() -> io::Result<Forked> {
    use nix::sys::signal::{sigprocmask, SigSet, SigmaskHow};
    let mut block = SigSet::empty();
    for s in SUPERVISOR_SIGNALS {
        block.add(s);
    }
    let mut old = SigSet::empty();
    sigprocmask(SigmaskHow::SIG_BLOCK, Some(&block), Some(&mut old)).map_err(io::Error::from)?;
    let forked = fork();
    if !matches!(forked, Ok(Forked::Child)) {
        if let Err(e) = sigprocmask(SigmaskHow::SIG_SETMASK, Some(&old), None) {
            log::error!("unblocking the supervisor's signals after a fork: {e}");
        }
    }
    forked
}

/// The signals the supervisor handles; a child puts them back to their defaults.
pub const SUPERVISOR_SIGNALS: [Signal; 7] = [
    Signal::SIGTERM,
    Signal::SIGINT,
    Signal::SIGCHLD,
    Signal::SIGHUP,
    Signal::SIGUSR1,
    Signal::SIGWINCH,
    Signal::SIGUSR2,
];

/// The environment variable through which a supervisor hands its listening
/// sockets to the binary that replaces it: `ADDR=FD` pairs separated by `;`.
pub const LISTEN_FDS_ENV: &str = "SLOTGATE_LISTEN_FDS";

/// Lets (or stops) `fd` survive an exec.
pub fn set_inheritable(fd: std::os::fd::BorrowedFd<'_>, inherit: bool) -> io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag};
    let flags = if inherit {
        FdFlag::empty()
    } else {
        FdFlag::FD_CLOEXEC
    };
    fcntl(fd, FcntlArg::F_SETFD(flags)).map_err(io::Error::from)?;
    Ok(())
}

/// Takes over a listening socket handed down by the previous binary (see
/// [`LISTEN_FDS_ENV`]). It must be a listening TCP socket; it is made
/// close-on-exec again.
pub fn adopt_listener(fd: i32) -> io::Result<std::net::TcpListener> {
    use std::os::fd::FromRawFd;
    let st = nix::sys::stat::fstat(
        // SAFETY: borrowing only for the fstat call; the descriptor number came
        // from our parent through the environment and is checked by fstat itself.
        unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) },
    )
    .map_err(io::Error::from)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(io::Error::other(format!("descriptor {fd} is not a socket")));
    }
    // SAFETY: the descriptor is open (fstat succeeded) and is a socket that the
    // previous binary handed over for us alone: nothing else in this process owns
    // it, so the TcpListener becomes its single owner.
    let l = unsafe { std::net::TcpListener::from_raw_fd(fd) };
    l.local_addr()?;
    set_inheritable(std::os::fd::AsFd::as_fd(&l), false)?;
    Ok(l)
}

/// First thing a child does: default signal actions (so SIGTERM ends a worker and
/// the supervisor's handlers, which write to the supervisor's pipe, never run in
/// it), and SIGTERM when the supervisor dies, so no worker outlives it.
///
/// SIGUSR1 is the exception: the worker installs its own action for it through
/// signal-hook, whose handler is already installed in this process (inherited);
/// resetting it here would leave signal-hook believing it is installed while the
/// default action (terminate) applies. The supervisor's actions on it are removed
/// by unregistering `inherited` (its ids), and SIGUSR1 stays blocked (as
/// `fork_child` left it) until the child has registered its own action and calls
/// [`accept_stop_signal`]: a graceful stop or restart sent right after the fork
/// is then held, not lost.
///
/// An error (a signal action, the signal mask or the parent-death signal that
/// could not be set) means the child cannot run safely: it should exit.
pub fn init_child(supervisor: Pid, inherited: &[signal_hook::SigId]) -> io::Result<()> {
    for id in inherited {
        signal_hook::low_level::unregister(*id);
    }
    for s in SUPERVISOR_SIGNALS {
        if s == Signal::SIGUSR1 {
            continue;
        }
        // SIGINT from a terminal reaches the whole process group; stopping is the
        // supervisor's decision, so workers ignore it.
        let action = if s == Signal::SIGINT {
            SigHandler::SigIgn
        } else {
            SigHandler::SigDfl
        };
        // SAFETY: installing SIG_DFL or SIG_IGN runs no handler code; the child is single-threaded.
        unsafe { signal(s, action) }
            .map_err(|e| io::Error::other(format!("setting the action of {s}: {e}")))?;
    }
    // Blocked by `fork_child`: what arrived meanwhile is delivered now, to the
    // default actions.
    let mut blocked = nix::sys::signal::SigSet::empty();
    for s in SUPERVISOR_SIGNALS {
        if s != Signal::SIGUSR1 {
            blocked.add(s);
        }
    }
    nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_UNBLOCK,
        Some(&blocked),
        None,
    )
    .map_err(|e| io::Error::other(format!("unblocking signals: {e}")))?;
    die_with(supervisor)
}

/// Unblocks SIGUSR1 in a child once it has registered its action for it (see
/// [`init_child`]); one that arrived since the fork is delivered now.
pub fn accept_stop_signal() -> io::Result<()> {
    let mut usr1 = nix::sys::signal::SigSet::empty();
    usr1.add(Signal::SIGUSR1);
    nix::sys::signal::sigprocmask(nix::sys::signal::SigmaskHow::SIG_UNBLOCK, Some(&usr1), None)
        .map_err(|e| io::Error::other(format!("unblocking SIGUSR1: {e}")))
}

/// SIGTERM when the supervisor dies, so no worker outlives it. Linux clears this
/// setting when a process changes its user, so it is set again after
/// [`drop_privileges`]. An error means the child could outlive the
/// supervisor unnoticed: it should exit.
pub fn die_with(supervisor: Pid) -> io::Result<()> {
    nix::sys::prctl::set_pdeathsig(Some(Signal::SIGTERM)).map_err(|e| {
        io::Error::other(format!("setting SIGTERM as the parent-death signal: {e}"))
    })?;
    // The supervisor may have died before prctl: then nobody would tell us.
    if nix::unistd::getppid() != supervisor {
        std::process::exit(0);
    }
    Ok(())
}

/// Detaches the calling process from its terminal: a new session, a second fork
/// (so it can never reacquire a terminal; the intermediate process exits), the
/// root directory as working directory, stdin from /dev/null, stdout and stderr to
/// `stderr_log`. Returns in the final daemon process only.
pub fn detach(stderr_log: &std::path::Path) -> io::Result<()> {
    nix::unistd::setsid().map_err(io::Error::from)?;
    match fork()? {
        Forked::Parent(_) => std::process::exit(0),
        Forked::Child => {}
    }
    std::env::set_current_dir("/")?;
    let null = std::fs::File::open("/dev/null")?;
    let err = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(stderr_log)?;
    nix::unistd::dup2_stdin(&null).map_err(io::Error::from)?;
    nix::unistd::dup2_stdout(&err).map_err(io::Error::from)?;
    nix::unistd::dup2_stderr(&err).map_err(io::Error::from)?;
    Ok(())
}

/// `User` / `Group` (`name` or `#id`), applied in a worker right after fork, once
/// the listeners are bound, when the supervisor runs as root; a no-op otherwise.
/// Without `Group`, the user's primary group is used.
pub fn drop_privileges(user: Option<&str>, group: Option<&str>) -> io::Result<()> {
    let Some((uid, gid)) = run_ids(user, group)? else {
        return Ok(());
    };
    nix::unistd::setgroups(&[gid]).map_err(io::Error::from)?;
    nix::unistd::setgid(gid).map_err(io::Error::from)?;
    nix::unistd::setuid(uid).map_err(io::Error::from)?;
    Ok(())
}

/// The user and group workers switch to: `User` and `Group` (or the user's primary
/// group) looked up, when this process is root and `User` is given; None otherwise
/// (workers keep the supervisor's ids).
pub fn run_ids(
    user: Option<&str>,
    group: Option<&str>,
) -> io::Result<Option<(nix::unistd::Uid, nix::unistd::Gid)>> {
    use nix::unistd::{Gid, Group, Uid, User};
    if !nix::unistd::geteuid().is_root() {
        return Ok(None);
    }
    let Some(user) = user else { return Ok(None) };
    let not_found = |what: &str, name: &str| io::Error::other(format!("{what} '{name}' not found"));
    let u = match user.strip_prefix('#') {
        Some(id) => User::from_uid(Uid::from_raw(
            id.parse().map_err(|_| not_found("User", user))?,
        )),
        None => User::from_name(user),
    }
    .map_err(io::Error::from)?
    .ok_or_else(|| not_found("User", user))?;
    let gid = match group {
        Some(g) => match g.strip_prefix('#') {
            Some(id) => Gid::from_raw(id.parse().map_err(|_| not_found("Group", g))?),
            None => {
                Group::from_name(g)
                    .map_err(io::Error::from)?
                    .ok_or_else(|| not_found("Group", g))?
                    .gid
            }
        },
        None => u.gid,
    };
    Ok(Some((u.uid, gid)))
}

/// Gives the scoreboard file at `path` to the workers' run group (see [`run_ids`]), so
/// that with mode `scoreboard::FILE_MODE` root and that group can read it (slotgate-top
/// run as the service user) and nobody else can (it holds the balancer-manager nonces).
/// A no-op when workers keep the supervisor's ids.
pub fn share_scoreboard(path: &Path, user: Option<&str>, group: Option<&str>) -> io::Result<()> {
    if let Some((_, gid)) = run_ids(user, group)? {
        nix::unistd::chown(path, None, Some(gid)).map_err(io::Error::from)?;
    }
    Ok(())
}

/// The global allocator of the `slotgate` binary: the system allocator, plus a
/// count of the allocations this process makes, which each worker publishes in
/// its scoreboard row (`allocations`) so a test can show that serving requests
/// in steady state allocates nothing. The count is one relaxed add on a
/// process-local atomic per allocation: free where nothing allocates.
pub struct CountingAllocator;

static ALLOCATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Allocations (and growing reallocations) this process has made so far.
pub fn allocations() -> u64 {
    ALLOCATIONS.load(std::sync::atomic::Ordering::Relaxed)
}

// SAFETY: every method forwards its arguments unchanged to `System`, which
// upholds `GlobalAlloc`'s contract; the counter has no effect on memory.
unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // SAFETY: the caller's layout is passed on as received.
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // SAFETY: as in `alloc`.
        unsafe { std::alloc::System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: `ptr` came from this allocator (hence from `System`) with `layout`.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` with `layout`; `new` is the caller's size.
        unsafe { std::alloc::System.realloc(ptr, layout, new) }
    }
}

/// A mutex shared by the processes forked after it is made: httpd's `pthread`
/// accept mutex (its default on Linux), a process-shared, robust pthread mutex in
/// a page of anonymous shared memory. Robust: when its holder dies, the next
/// locker takes it over (`EOWNERDEAD`) instead of waiting for ever. The mapping
/// is inherited by fork and unmapped by each process when it drops its copy; the
/// mutex itself needs no cleanup (nothing outlives the last process).
pub struct SharedMutex {
    mutex: std::ptr::NonNull<libc::pthread_mutex_t>,
}

// SAFETY: the mutex is process-shared and designed to be locked from any thread
// of any process mapping it; the pointer is only handed to the pthread calls.
unsafe impl Send for SharedMutex {}
// SAFETY: as above: every operation goes through the pthread mutex itself.
unsafe impl Sync for SharedMutex {}

extern "C" {
    // glibc 2.30+: `pthread_mutex_timedlock` against a chosen clock (the libc
    // crate does not declare it). CLOCK_MONOTONIC: a wall-clock jump cannot
    // stretch a wait.
    fn pthread_mutex_clocklock(
        mutex: *mut libc::pthread_mutex_t,
        clock: libc::clockid_t,
        abstime: *const libc::timespec,
    ) -> libc::c_int;
}

impl SharedMutex {
    /// Maps a page and initialises a process-shared robust mutex in it.
    pub fn new() -> io::Result<SharedMutex> {
        let size = std::mem::size_of::<libc::pthread_mutex_t>();
        // SAFETY: an anonymous shared mapping of a fresh region: no file, no
        // existing memory is affected; the result is checked below.
        let page = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if page == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let mutex = page.cast::<libc::pthread_mutex_t>();
        let mut attr = std::mem::MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
        // SAFETY: `attr` is initialised by pthread_mutexattr_init before any other
        // use and destroyed after; `mutex` points to a zeroed, page-aligned,
        // writable region large enough for a pthread_mutex_t, not yet shared with
        // any other process (we have not forked since mapping it).
        let err = unsafe {
            let a = attr.as_mut_ptr();
            let mut err = libc::pthread_mutexattr_init(a);
            if err == 0 {
                err = libc::pthread_mutexattr_setpshared(a, libc::PTHREAD_PROCESS_SHARED);
                if err == 0 {
                    err = libc::pthread_mutexattr_setrobust(a, libc::PTHREAD_MUTEX_ROBUST);
                }
                if err == 0 {
                    err = libc::pthread_mutex_init(mutex, a);
                }
                libc::pthread_mutexattr_destroy(a);
            }
            err
        };
        let made = SharedMutex {
            // SAFETY: mmap succeeded, so `page` is not null.
            mutex: unsafe { std::ptr::NonNull::new_unchecked(mutex) },
        };
        if err != 0 {
            return Err(io::Error::from_raw_os_error(err));
        }
        Ok(made)
    }

    /// Waits up to `wait` for the mutex: Ok(true) when this process holds it
    /// (also when it took it over from a holder that died), Ok(false) when the
    /// wait ran out. Signals do not cut the wait short (pthread waits resume).
    pub fn lock_for(&self, wait: std::time::Duration) -> io::Result<bool> {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes one timespec into `now`, which we own.
        if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let end = std::time::Duration::new(now.tv_sec as u64, now.tv_nsec as u32) + wait;
        let abstime = libc::timespec {
            tv_sec: end.as_secs() as libc::time_t,
            tv_nsec: libc::c_long::from(end.subsec_nanos() as i32),
        };
        // SAFETY: `mutex` was initialised by `new` in memory that stays mapped
        // while `self` lives; `abstime` is a valid timespec on our stack.
        let err = unsafe {
            pthread_mutex_clocklock(self.mutex.as_ptr(), libc::CLOCK_MONOTONIC, &abstime)
        };
        match err {
            0 => Ok(true),
            libc::ETIMEDOUT => Ok(false),
            libc::EOWNERDEAD => {
                // The holder died holding it: the state it guards (none: it only
                // serialises accept) is consistent; mark the mutex so.
                // SAFETY: we hold the mutex (EOWNERDEAD returns it locked).
                let err = unsafe { libc::pthread_mutex_consistent(self.mutex.as_ptr()) };
                if err != 0 {
                    return Err(io::Error::from_raw_os_error(err));
                }
                Ok(true)
            }
            e => Err(io::Error::from_raw_os_error(e)),
        }
    }

    /// Releases the mutex this process holds (after `lock_for` returned true).
    pub fn unlock(&self) -> io::Result<()> {
        // SAFETY: initialised mutex in live memory; pthread checks the owner of
        // a robust mutex and returns EPERM rather than misbehave.
        match unsafe { libc::pthread_mutex_unlock(self.mutex.as_ptr()) } {
            0 => Ok(()),
            e => Err(io::Error::from_raw_os_error(e)),
        }
    }
}

impl Drop for SharedMutex {
    fn drop(&mut self) {
        // SAFETY: unmaps this process's view of the page mapped in `new`; no
        // reference into it outlives `self`. Other processes keep theirs.
        unsafe {
            libc::munmap(
                self.mutex.as_ptr().cast(),
                std::mem::size_of::<libc::pthread_mutex_t>(),
            );
        }
    }
}

/// Gives the free memory of the heap back to the kernel (glibc's `malloc_trim`):
/// what a prefork worker freed after its last connection stops counting as its
/// private memory. Costs a walk of the allocator's free lists: for idle moments.
pub fn trim_heap() {
    // SAFETY: malloc_trim only releases free memory of glibc's allocator (which
    // `System`, behind our counting allocator, uses); no live allocation moves.
    unsafe {
        libc::malloc_trim(0);
    }
}
