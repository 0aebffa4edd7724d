//! How an exchange stops short: a detour (choose again, send again) or a
//! fault that says which side failed — the client, the member, or this process
//! (local) — and why. One classification decides the status answered (when
//! nothing has reached the client yet), the log level, and whether the member's
//! `errors` counter moves:
//!
//! | side   | kind                          | status | log   | member errors |
//! |--------|-------------------------------|--------|-------|---------------|
//! | client | bad body / too large / slow   | 400 / 413 / 408 | info | no  |
//! | client | gone (closed, reset, stalled) | —      | info  | no            |
//! | member | unavailable (none reachable)  | 503    | error | by the connect failure |
//! | member | bad response / closed / reset | 502    | error | +1            |
//! | member | timed out                     | 504    | error | +1            |
//! | local  | out of descriptors or memory  | 503 (connects first wait for a descriptor) | error, one line per cause per second | no |

use std::io;
use std::time::{Duration, Instant};

/// What an exchange step asks of its connection instead of going on.
pub(super) enum Detour {
    /// Nothing reached the member: choose again (or answer 503 when out of attempts).
    Retry,
    /// A reused pooled connection turned out closed before anything of the response
    /// came back, and nothing of the request body was consumed: send the request
    /// again on a fresh connection to the same member.
    Replay,
    /// The exchange failed.
    Fail(Fault),
}

impl From<Fault> for Detour {
    fn from(f: Fault) -> Detour {
        Detour::Fail(f)
    }
}

/// Why an exchange failed, with the side that failed.
#[derive(Debug)]
pub(super) enum Fault {
    Client(ClientFault, String),
    Member(MemberFault, String),
    /// This process ran out of something (a [`LocalCause`]).
    Local(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum ClientFault {
    /// A malformed request body: 400.
    BadRequest,
    /// The request body did not arrive within `Timeout` / `RequestReadTimeout`: 408.
    TimedOut,
    /// The request body exceeds `LimitRequestBody` (or what slotgate holds
    /// to count a chunked body for a FastCGI member): 413.
    TooLarge,
    /// A chunked request body for a member whose protocol needs its length
    /// first (SCGI, uwsgi): 411, as httpd.
    LengthRequired,
    /// The request's variables do not fit the member's protocol (uwsgi's
    /// 64 KiB packet): 431.
    FieldsTooLarge,
    /// The client closed or reset its connection, or stopped reading: nothing
    /// to answer.
    Gone,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MemberFault {
    /// No member could be reached or used (connects refused, all in error, no
    /// free pooled connection within `acquire`): 503.
    Unavailable,
    /// The member's response is malformed or cut short (closed, reset, bad
    /// framing): 502.
    BadResponse,
    /// The member did not answer within its `timeout`: 504. (httpd answers
    /// 502; RFC 9110 §15.6.5 says 504, and so do we.)
    TimedOut,
}

impl Fault {
    /// The status to answer with while nothing of a response reached the client.
    pub fn status(&self) -> u16 {
        match self {
            Fault::Client(ClientFault::BadRequest, _) => 400,
            Fault::Client(ClientFault::TimedOut, _) => 408,
            Fault::Client(ClientFault::TooLarge, _) => 413,
            Fault::Client(ClientFault::LengthRequired, _) => 411,
            Fault::Client(ClientFault::FieldsTooLarge, _) => 431,
            // (Never sent: the client is gone. The access log shows 400, as httpd's does.)
            Fault::Client(ClientFault::Gone, _) => 400,
            Fault::Member(MemberFault::Unavailable, _) => 503,
            Fault::Member(MemberFault::BadResponse, _) => 502,
            Fault::Member(MemberFault::TimedOut, _) => 504,
            Fault::Local(..) => 503,
        }
    }

    pub fn why(&self) -> &str {
        match self {
            Fault::Client(_, w) | Fault::Member(_, w) | Fault::Local(w) => w,
        }
    }

    /// Whether the failure is the member's and counts in its `errors`
    /// (connect failures are counted where they happen, with the error state).
    pub fn counts_against_member(&self) -> bool {
        matches!(
            self,
            Fault::Member(MemberFault::BadResponse | MemberFault::TimedOut, _)
        )
    }

    /// Whether an answer can still be given (a client that is gone gets none).
    pub fn answerable(&self) -> bool {
        !matches!(self, Fault::Client(ClientFault::Gone, _))
    }

    /// The log level: client faults are the client's business (info); member
    /// and local ones are the operator's (error; local ones are rate-limited
    /// by [`LocalFaults`] where they are recorded).
    pub fn level(&self) -> log::Level {
        match self {
            Fault::Client(..) => log::Level::Info,
            Fault::Member(..) | Fault::Local(..) => log::Level::Error,
        }
    }
}

/// This process ran out of something of its own: not the member's fault, and
/// no reason to put a member in error state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum LocalCause {
    /// EMFILE: the process's descriptor limit (`ulimit -n`).
    ProcessDescriptors,
    /// ENFILE: the system's descriptor limit.
    SystemDescriptors,
    /// ENOBUFS: no socket buffer space.
    Buffers,
    /// ENOMEM: no kernel memory.
    Memory,
}

const CAUSES: usize = 4;

impl LocalCause {
    /// The local cause of an error from accept, socket, connect or epoll_ctl;
    /// None when the error says nothing about this process's resources.
    pub fn of(e: &io::Error) -> Option<LocalCause> {
        match e.raw_os_error()? {
            libc::EMFILE => Some(LocalCause::ProcessDescriptors),
            libc::ENFILE => Some(LocalCause::SystemDescriptors),
            libc::ENOBUFS => Some(LocalCause::Buffers),
            libc::ENOMEM => Some(LocalCause::Memory),
            _ => None,
        }
    }

    fn errno(self) -> i32 {
        match self {
            LocalCause::ProcessDescriptors => libc::EMFILE,
            LocalCause::SystemDescriptors => libc::ENFILE,
            LocalCause::Buffers => libc::ENOBUFS,
            LocalCause::Memory => libc::ENOMEM,
        }
    }

    fn index(self) -> usize {
        match self {
            LocalCause::ProcessDescriptors => 0,
            LocalCause::SystemDescriptors => 1,
            LocalCause::Buffers => 2,
            LocalCause::Memory => 3,
        }
    }
}

/// Interval of the local-fault log: one line per cause at most.
pub(super) const LOCAL_LOG_INTERVAL: Duration = Duration::from_secs(1);

/// Counts local faults in the process slot and rate-limits their log: the
/// first fault of a cause is logged at once, later ones within
/// [`LOCAL_LOG_INTERVAL`] are counted and reported by the next line (or by
/// [`flush`](Self::flush) when no further fault comes).
#[derive(Default)]
pub(super) struct LocalFaults {
    /// Per cause: when its last line was written, and faults since then.
    logged: [Option<Instant>; CAUSES],
    suppressed: [u64; CAUSES],
}

impl LocalFaults {
    /// Records a fault of `cause` while doing `what` (e.g. "accepting a
    /// connection"). `slot` is this process's scoreboard slot.
    pub fn record(
        &mut self,
        slot: &scoreboard::ProcessSlot,
        cause: LocalCause,
        what: &str,
        now: Instant,
        unix_ms: u64,
    ) {
        slot.record_local_fault(cause.errno(), unix_ms);
        let i = cause.index();
        if self.logged[i].is_some_and(|t| now.saturating_duration_since(t) < LOCAL_LOG_INTERVAL) {
            self.suppressed[i] += 1;
            return;
        }
        let err = io::Error::from_raw_os_error(cause.errno());
        match std::mem::take(&mut self.suppressed[i]) {
            0 => log::error!("local fault: {what}: {err}"),
            n => log::error!("local fault: {what}: {err} ({n} more like it not logged)"),
        }
        self.logged[i] = Some(now);
    }

    /// Writes the count of faults not yet reported once their interval is over.
    pub fn flush(&mut self, now: Instant) {
        for (i, logged) in self.logged.iter().enumerate() {
            let n = self.suppressed[i];
            if n > 0
                && logged.is_some_and(|t| now.saturating_duration_since(t) >= LOCAL_LOG_INTERVAL)
            {
                let errno = [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM][i];
                let err = io::Error::from_raw_os_error(errno);
                log::error!("local fault: {n} more like it not logged: {err}");
                self.suppressed[i] = 0;
            }
        }
    }

    /// Whether faults wait to be reported by [`flush`](Self::flush).
    #[cfg(test)]
    fn pending(&self) -> bool {
        self.suppressed.iter().any(|&n| n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_causes_are_the_resource_errnos_only() {
        let of = |n| LocalCause::of(&io::Error::from_raw_os_error(n));
        assert_eq!(of(libc::EMFILE), Some(LocalCause::ProcessDescriptors));
        assert_eq!(of(libc::ENFILE), Some(LocalCause::SystemDescriptors));
        assert_eq!(of(libc::ENOBUFS), Some(LocalCause::Buffers));
        assert_eq!(of(libc::ENOMEM), Some(LocalCause::Memory));
        assert_eq!(of(libc::ECONNREFUSED), None);
        assert_eq!(of(libc::ETIMEDOUT), None);
        assert_eq!(LocalCause::of(&io::Error::other("x")), None);
        for c in [
            LocalCause::ProcessDescriptors,
            LocalCause::SystemDescriptors,
            LocalCause::Buffers,
            LocalCause::Memory,
        ] {
            assert_eq!(of(c.errno()), Some(c));
        }
    }

    #[test]
    fn statuses_follow_the_side_and_kind() {
        let w = String::new;
        let table = [
            (Fault::Client(ClientFault::BadRequest, w()), 400, false),
            (Fault::Client(ClientFault::TimedOut, w()), 408, false),
            (Fault::Client(ClientFault::TooLarge, w()), 413, false),
            (Fault::Member(MemberFault::Unavailable, w()), 503, false),
            (Fault::Member(MemberFault::BadResponse, w()), 502, true),
            (Fault::Member(MemberFault::TimedOut, w()), 504, true),
            (Fault::Local(w()), 503, false),
        ];
        for (f, status, counts) in table {
            assert_eq!(f.status(), status, "{f:?}");
            assert_eq!(f.counts_against_member(), counts, "{f:?}");
        }
        assert_eq!(
            Fault::Client(ClientFault::BadRequest, w()).level(),
            log::Level::Info
        );
        assert_eq!(Fault::Local(w()).level(), log::Level::Error);
    }

    #[test]
    fn local_faults_are_counted_each_and_logged_once_per_interval() {
        let dir = std::env::temp_dir().join(format!("sg-fault-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let layout = scoreboard::Layout {
            processes: 1,
            balancers: 0,
            members: 0,
        };
        let sb = scoreboard::Scoreboard::create(&dir, layout).unwrap();
        let slot = sb.process(0);
        let mut f = LocalFaults::default();
        let t0 = Instant::now();
        for i in 0..5 {
            f.record(
                slot,
                LocalCause::ProcessDescriptors,
                "accepting",
                t0,
                1000 + i,
            );
        }
        assert_eq!(slot.local_faults(), 5);
        assert_eq!(slot.last_local_fault(), Some((1004, libc::EMFILE)));
        assert_eq!(f.suppressed[0], 4);
        assert!(f.pending());
        f.flush(t0 + Duration::from_millis(10));
        assert!(f.pending(), "reported before the interval was over");
        f.flush(t0 + LOCAL_LOG_INTERVAL);
        assert!(!f.pending());
        // A new process in the slot starts with none.
        slot.reset_for(4242, 2);
        assert_eq!((slot.local_faults(), slot.last_local_fault()), (0, None));
        let _ = std::fs::remove_file(&dir);
    }
}
