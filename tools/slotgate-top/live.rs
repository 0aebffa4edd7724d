//! The live view: a snapshot of the scoreboard every interval, with request
//! rates computed from the previous snapshot.
//!
//! On a terminal it draws full screen with plain ANSI sequences (alternate
//! screen, cursor home, erase to end of line/screen; no curses), reads keys
//! when stdin is a terminal too (`q` quits, space redraws now) and puts the
//! terminal back as it was on every way out: `q`, Ctrl-C, SIGTERM, SIGHUP, a
//! closed output or a panic. With stdout not a terminal it prints plain
//! frames one after the other (like `top -b`), separated by a blank line,
//! until it is killed or the reader goes away. `--json` prints one JSON
//! object per line instead.
//!
//! Only the scoreboard file is read, never the daemon, so the view keeps
//! working while the daemon is wedged. If the supervisor replaces the file
//! (a fresh start renames a new one over it) the view attaches to the new
//! one.

use crate::report::{Rates, Snapshot};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::termios::{
    tcgetattr, tcsetattr, LocalFlags, SetArg, SpecialCharacterIndices, Termios,
};
use scoreboard::Scoreboard;
use std::io::{IsTerminal, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct LiveOptions {
    pub interval: Duration,
    pub json: bool,
    pub known: crate::report::Known,
}

/// Runs until `q`, a signal (INT, TERM, HUP) or a closed output.
pub fn run(path: &Path, options: &LiveOptions) -> Result<(), String> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        signal_hook::flag::register(signal, stop.clone())
            .map_err(|e| format!("cannot handle signal {signal}: {e}"))?;
    }
    let screen = !options.json && std::io::stdout().is_terminal();
    // Keys are only read from a terminal; otherwise we refresh until killed.
    let keys = screen && std::io::stdin().is_terminal();
    let _terminal = Terminal::enter(screen, keys);

    let mut file = Attached::new(path)?;
    let mut previous: Option<Snapshot> = None;
    let mut stdout = std::io::stdout().lock();
    loop {
        let note = file.refresh();
        let snapshot = Snapshot::take(&file.sb, path, &options.known);
        let rates = previous.as_ref().map(|p| Rates::between(p, &snapshot));
        let frame = if options.json {
            format!("{}\n", snapshot.to_json_with_rates(rates.as_ref()))
        } else {
            let lines = snapshot.live_lines(rates.as_ref(), options.interval, note.as_deref());
            if screen {
                screen_frame(&lines, terminal_size())
            } else {
                format!("{}\n\n", lines.join("\n"))
            }
        };
        if stdout
            .write_all(frame.as_bytes())
            .and_then(|()| stdout.flush())
            .is_err()
        {
            // The reader went away (a closed pipe): nothing more to show.
            return Ok(());
        }
        previous = Some(snapshot);
        if wait(options.interval, keys, &stop) == Wake::Quit {
            return Ok(());
        }
    }
}

/// The scoreboard mapping, re-attached when the file at `path` is replaced.
struct Attached<'a> {
    path: &'a Path,
    sb: Scoreboard,
    /// (device, inode) of the mapped file.
    id: (u64, u64),
}

impl<'a> Attached<'a> {
    fn new(path: &'a Path) -> Result<Attached<'a>, String> {
        let id =
            file_id(path).map_err(|e| format!("cannot open scoreboard {}: {e}", path.display()))?;
        let sb = crate::attach(path)?;
        Ok(Attached { path, sb, id })
    }

    /// Follows a replaced file; returns a note for the screen when the file
    /// is gone or cannot be attached (the last mapping keeps being shown).
    fn refresh(&mut self) -> Option<String> {
        match file_id(self.path) {
            Ok(id) if id == self.id => None,
            Ok(id) => match crate::attach(self.path) {
                Ok(sb) => {
                    self.sb = sb;
                    self.id = id;
                    None
                }
                Err(e) => Some(format!("(showing the previous file: {e})")),
            },
            Err(e) => Some(format!(
                "(scoreboard {} is gone: {e}; showing its last contents)",
                self.path.display()
            )),
        }
    }
}

fn file_id(path: &Path) -> std::io::Result<(u64, u64)> {
    let meta = std::fs::metadata(path)?;
    Ok((meta.dev(), meta.ino()))
}

/// A full-screen frame: home the cursor, each line cut to the width and
/// followed by erase-to-end-of-line, then erase the rest of the screen.
/// Overwriting in place instead of clearing first does not flicker.
fn screen_frame(lines: &[String], (width, height): (usize, usize)) -> String {
    let mut out = String::from("\x1b[H");
    for (i, line) in lines.iter().take(height.max(1)).enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        out.extend(line.chars().take(width.max(1)));
        out.push_str("\x1b[K");
    }
    out.push_str("\x1b[J");
    out
}

/// (columns, rows) of the terminal on stdout, 80×24 when unknown.
fn terminal_size() -> (usize, usize) {
    // `None` when the ioctl fails or either dimension is 0.
    match terminal_size::terminal_size_of(std::io::stdout()) {
        Some((terminal_size::Width(cols), terminal_size::Height(rows))) => {
            (usize::from(cols), usize::from(rows))
        }
        None => (80, 24),
    }
}

#[derive(PartialEq, Eq, Debug)]
enum Wake {
    Refresh,
    Quit,
}

/// Waits one interval, watching the stop flag and (with `keys`) stdin.
fn wait(interval: Duration, keys: bool, stop: &AtomicBool) -> Wake {
    let deadline = Instant::now() + interval;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Wake::Quit;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Wake::Refresh;
        }
        // Short slices, so a signal is seen promptly even if poll restarts.
        let slice = left.min(Duration::from_millis(100));
        if !keys {
            std::thread::sleep(slice);
            continue;
        }
        let stdin = std::io::stdin();
        let mut fds = [PollFd::new(stdin.as_fd(), PollFlags::POLLIN)];
        // The slice is at most 100 ms, so it fits a u16.
        let timeout = PollTimeout::from(slice.as_millis() as u16);
        match poll(&mut fds, timeout) {
            Ok(n) if n > 0 => {}
            _ => continue, // timeout or EINTR
        }
        let mut buf = [0u8; 64];
        // Straight from the descriptor, bypassing std's stdin buffer.
        let got = match nix::unistd::read(stdin.as_fd(), &mut buf) {
            // The terminal hung up.
            Ok(0) => return Wake::Quit,
            Ok(got) => got,
            Err(_) => continue,
        };
        match key_action(&buf[..got]) {
            Some(wake) => return wake,
            None => continue,
        }
    }
}

/// What a key press does: `q`/`Q`/Ctrl-C/Ctrl-D quit, space/`r` redraw now.
fn key_action(bytes: &[u8]) -> Option<Wake> {
    if bytes.iter().any(|b| matches!(b, b'q' | b'Q' | 0x03 | 0x04)) {
        Some(Wake::Quit)
    } else if bytes.iter().any(|b| matches!(b, b' ' | b'r' | b'R')) {
        Some(Wake::Refresh)
    } else {
        None
    }
}

/// The terminal state to put back: the alternate screen and hidden cursor
/// (when drawing full screen) and stdin's termios (when reading keys).
struct Terminal {
    screen: bool,
    saved: Option<Termios>,
}

impl Terminal {
    fn enter(screen: bool, keys: bool) -> Terminal {
        let mut saved = None;
        if keys {
            let stdin = std::io::stdin();
            if let Ok(mut t) = tcgetattr(stdin.as_fd()) {
                let original = t.clone();
                // No line buffering, no echo; ISIG stays on so Ctrl-C is
                // still SIGINT (handled like q).
                t.local_flags &= !(LocalFlags::ICANON | LocalFlags::ECHO);
                t.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
                t.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
                if tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &t).is_ok() {
                    saved = Some(original);
                }
            }
        }
        if screen {
            // Alternate screen, hide the cursor, clear.
            let mut out = std::io::stdout();
            let _ = out.write_all(b"\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J");
            let _ = out.flush();
        }
        Terminal { screen, saved }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if self.screen {
            // Show the cursor, leave the alternate screen.
            let mut out = std::io::stdout();
            let _ = out.write_all(b"\x1b[?25h\x1b[?1049l");
            let _ = out.flush();
        }
        if let Some(t) = &self.saved {
            // Puts back the termios read in `enter`.
            let _ = tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert_eq!(key_action(b"q"), Some(Wake::Quit));
        assert_eq!(key_action(b"Q"), Some(Wake::Quit));
        assert_eq!(key_action(&[0x03]), Some(Wake::Quit));
        assert_eq!(key_action(b" "), Some(Wake::Refresh));
        assert_eq!(key_action(b"x"), None);
        // An arrow key's escape sequence is ignored.
        assert_eq!(key_action(b"\x1b[A"), None);
    }

    #[test]
    fn screen_frames_are_cut_to_the_terminal() {
        let lines = vec!["abcdef".to_string(), "gh".to_string(), "ij".to_string()];
        let frame = screen_frame(&lines, (4, 2));
        assert_eq!(frame, "\x1b[Habcd\x1b[K\r\ngh\x1b[K\x1b[J");
    }

    #[test]
    fn wait_returns_at_once_when_stopped() {
        let stop = AtomicBool::new(true);
        let start = Instant::now();
        assert_eq!(wait(Duration::from_secs(5), false, &stop), Wake::Quit);
        assert!(start.elapsed() < Duration::from_secs(1));
        stop.store(false, Ordering::Relaxed);
        assert_eq!(wait(Duration::from_millis(10), false, &stop), Wake::Refresh);
    }
}
