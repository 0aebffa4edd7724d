//! How an idle prefork worker waits for its next connection, as httpd's prefork does:
//! so that the kernel wakes one worker per connection, and a busy worker is never
//! woken by new connections at all.
//!
//! - **One listener** ([`PreforkAccept::Blocking`]): the worker blocks in `accept`. The
//!   kernel queues blocked acceptors as exclusive waiters and wakes one per
//!   connection, and the woken one dequeues it inside the same call, so no worker is
//!   woken for nothing and no connection can be left queued while a worker waits.
//!   The listening socket is made blocking with `SO_RCVTIMEO` = one second (the
//!   worker's generation check), which also means a signal always ends the accept
//!   with EINTR (signal(7): accept with a receive timeout is never restarted), so
//!   a graceful stop is seen at once.
//!
//!   `EPOLLEXCLUSIVE` (an epoll set holding only the listener) was the alternative:
//!   it keeps the socket non-blocking, but the kernel only promises to wake "one or
//!   more" waiters, a woken epoll set does not take the connection itself (two quick
//!   arrivals can both go to the same worker, which takes one; the other then waits
//!   for the next arrival), and a busy worker's set still collects readiness it has
//!   to skip when it is idle again. Blocking accept has none of these.
//! - **Several listeners** ([`PreforkAccept::Serialised`]): httpd's accept mutex. The
//!   worker that holds it polls all listeners (and the signal pipe), accepts one
//!   connection and lets go; the others wait on the mutex (a process-shared robust
//!   pthread mutex, httpd's default on Linux; see `config/mutex.rs`), so again one
//!   worker per connection. Waits on the mutex are bounded (one second) so the
//!   worker still marks its progress and notices a stop; the holder's poll ends at
//!   once on a signal.
//!
//! Busy workers (one connection: prefork's capacity) wait in their own epoll set,
//! where the listeners are never registered: nothing is registered or removed per
//! connection.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::time::Duration;

use mio::net::{TcpListener, TcpStream};

use crate::process::SharedMutex;

/// The prefork way of waiting, chosen once per worker from the listener count.
pub(crate) enum PreforkAccept {
    /// One listener, blocking with a receive timeout of `wait`.
    Blocking { wait: Duration },
    /// Several listeners behind the generation's accept mutex.
    Serialised {
        mutex: Arc<SharedMutex>,
        wait: Duration,
    },
}

/// What one idle wait brought.
pub(crate) enum Waited {
    /// A client connection (non-blocking) and the index of its listener.
    Conn(TcpStream, SocketAddr, usize),
    /// Nothing: the wait ran out, a signal came, or the mutex was busy all along.
    Nothing,
    /// Woken for a connection that was gone when accepted (another process took it,
    /// or the client gave up): counted in the process slot as an accept miss.
    Missed,
    /// Accepting failed for a local reason (descriptors, memory): the caller pauses.
    Fault(io::Error),
}

impl PreforkAccept {
    /// Prepares the listeners (shared with every worker of the generation, which all
    /// make the same settings) and says how to wait on them.
    pub fn new(
        listeners: &[std::net::TcpListener],
        mutex: Option<Arc<SharedMutex>>,
        wait: Duration,
    ) -> io::Result<PreforkAccept> {
        match (listeners, mutex) {
            ([], _) => Err(io::Error::other("a prefork worker without a listener")),
            ([one], _) => {
                one.set_nonblocking(false)?;
                socket2::SockRef::from(one).set_read_timeout(Some(wait))?;
                Ok(PreforkAccept::Blocking { wait })
            }
            (_, Some(mutex)) => {
                for l in listeners {
                    l.set_nonblocking(true)?;
                }
                Ok(PreforkAccept::Serialised { mutex, wait })
            }
            (_, None) => Err(io::Error::other(
                "several listeners in prefork but no accept mutex was made",
            )),
        }
    }

    /// Waits (at most about `wait`, twice that behind a busy mutex) for one
    /// connection on `listeners`; `signals` is the worker's signal pipe.
    pub fn wait(&self, listeners: &[TcpListener], signals: BorrowedFd<'_>) -> Waited {
        match self {
            PreforkAccept::Blocking { wait } => blocking(&listeners[0], signals, *wait),
            PreforkAccept::Serialised { mutex, wait } => match mutex.lock_for(*wait) {
                Ok(true) => {
                    let got = poll_then_accept(listeners, signals, *wait);
                    if let Err(e) = mutex.unlock() {
                        log::error!("releasing the accept mutex: {e}");
                    }
                    got
                }
                Ok(false) => Waited::Nothing,
                Err(e) => {
                    log::error!("taking the accept mutex: {e}");
                    // Do not spin on a broken mutex: wait as its holder would.
                    poll_fds(&[], signals, *wait);
                    Waited::Nothing
                }
            },
        }
    }
}

fn blocking(l: &TcpListener, signals: BorrowedFd<'_>, wait: Duration) -> Waited {
    match accepted(l.accept(), 0) {
        Waited::Nothing if !is_blocking(l) => {
            // Someone made the shared socket non-blocking again (a generation of
            // the event MPM after a restart): wait for readiness instead, bounded,
            // until this worker notices its generation has ended.
            let ready = poll_fds(&[l.as_fd()], signals, wait);
            if ready.first() == Some(&true) {
                match accepted(l.accept(), 0) {
                    Waited::Nothing => Waited::Missed,
                    other => other,
                }
            } else {
                Waited::Nothing
            }
        }
        other => other,
    }
}

fn poll_then_accept(listeners: &[TcpListener], signals: BorrowedFd<'_>, wait: Duration) -> Waited {
    let fds: Vec<BorrowedFd<'_>> = listeners.iter().map(|l| l.as_fd()).collect();
    let ready = poll_fds(&fds, signals, wait);
    match ready.iter().position(|r| *r) {
        Some(i) => match accepted(listeners[i].accept(), i) {
            Waited::Nothing => Waited::Missed,
            other => other,
        },
        None => Waited::Nothing,
    }
}

/// One `accept` result as a [`Waited`]; `WouldBlock` (the receive timeout of a
/// blocking listener, or nothing queued on a non-blocking one) is `Nothing`.
fn accepted(got: io::Result<(TcpStream, SocketAddr)>, index: usize) -> Waited {
    match got {
        Ok((stream, peer)) => Waited::Conn(stream, peer, index),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock
                    | io::ErrorKind::Interrupted
                    | io::ErrorKind::ConnectionAborted
            ) =>
        {
            Waited::Nothing
        }
        Err(e) => Waited::Fault(e),
    }
}

fn is_blocking(l: &TcpListener) -> bool {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    fcntl(l, FcntlArg::F_GETFL)
        .is_ok_and(|flags| !OFlag::from_bits_truncate(flags).contains(OFlag::O_NONBLOCK))
}

/// Polls `fds` and `signals` for input for up to `wait`: which of `fds` are
/// readable (all false after a timeout, a signal, or input on `signals`, which the
/// caller's event loop drains).
fn poll_fds(fds: &[BorrowedFd<'_>], signals: BorrowedFd<'_>, wait: Duration) -> Vec<bool> {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut set: Vec<PollFd<'_>> = fds
        .iter()
        .map(|fd| PollFd::new(*fd, PollFlags::POLLIN))
        .collect();
    set.push(PollFd::new(signals, PollFlags::POLLIN));
    let ms = u16::try_from(wait.as_millis()).unwrap_or(u16::MAX);
    match poll(&mut set, PollTimeout::from(ms)) {
        Ok(n) if n > 0 => set[..fds.len()]
            .iter()
            .map(|p| p.revents().is_some_and(|r| !r.is_empty()))
            .collect(),
        Ok(_) => vec![false; fds.len()],
        Err(e) => {
            if e != nix::errno::Errno::EINTR {
                log::error!(
                    "waiting for a connection (poll on {} listeners): {e}",
                    fds.len()
                );
            }
            vec![false; fds.len()]
        }
    }
}
