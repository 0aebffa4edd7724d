//! Where log lines go: an append-only file, or the stdin of a piped logger
//! (`|command`, run with `/bin/sh -c`). Each line is one `write`. A pipe is
//! non-blocking: when the logger falls behind, lines are dropped (and counted)
//! rather than stalling a worker's event loop.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};

pub enum Sink {
    File(File),
    Pipe {
        stdin: ChildStdin,
        dropped: AtomicU64,
    },
}

impl Sink {
    pub fn file(path: &Path) -> io::Result<Sink> {
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map(Sink::File)
    }

    /// Starts `command` with a pipe to its stdin. The logger process outlives
    /// nothing: it gets EOF when the last process holding the pipe (the
    /// supervisor, or an old worker finishing) closes it.
    pub fn pipe(command: &str) -> io::Result<Sink> {
        let child = Command::new("/bin/sh")
            .arg("-c")
            .arg(command)
            .stdin(Stdio::piped())
            .spawn()?;
        let stdin = child
            .stdin
            .ok_or_else(|| io::Error::other("piped logger has no stdin"))?;
        let fd = stdin.as_fd();
        let flags =
            nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_GETFL).map_err(io::Error::from)?;
        let flags = nix::fcntl::OFlag::from_bits_truncate(flags) | nix::fcntl::OFlag::O_NONBLOCK;
        nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_SETFL(flags)).map_err(io::Error::from)?;
        Ok(Sink::Pipe {
            stdin,
            dropped: AtomicU64::new(0),
        })
    }

    /// Writes one whole line (a short or refused write to a full pipe drops it).
    pub fn write_line(&self, line: &[u8]) {
        match self {
            Sink::File(f) => {
                let _ = (&*f).write_all(line);
            }
            Sink::Pipe { stdin, dropped } => {
                // Writes up to PIPE_BUF bytes are atomic: a line goes whole or not at all.
                if !matches!((&*stdin).write(line), Ok(n) if n == line.len()) {
                    dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Lines a piped logger could not take.
    pub fn dropped(&self) -> u64 {
        match self {
            Sink::File(_) => 0,
            Sink::Pipe { dropped, .. } => dropped.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piped_logger_receives_lines() {
        let dir = std::env::temp_dir().join(format!("slotgate-sink-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join("out.log");
        let sink = Sink::pipe(&format!("cat >> {}", out.display())).unwrap();
        sink.write_line(b"one\n");
        sink.write_line(b"two\n");
        drop(sink);
        let mut text = String::new();
        for _ in 0..200 {
            text = std::fs::read_to_string(&out).unwrap_or_default();
            if text.lines().count() == 2 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(text, "one\ntwo\n");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
