//! `FcgiOrigin`: a FastCGI responder inside the test process, on 127.0.0.1:0,
//! for what a real php-fpm will not do: record the exact PARAMS it got, and
//! answer with bytes the test chooses (a broken record, a wrong request id,
//! an OVERLOADED status, a close in the middle).
//!
//! Each connection: read records until the empty STDIN (or the peer closes),
//! record the request, write `answer(&request)`, then close — or, when the
//! request asked KEEP_CONN and `keep` is set, read the next request. One
//! thread accepts, one serves each connection; every read has a timeout and
//! dropping the origin stops the threads within a bounded time.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

/// One request as received.
#[derive(Clone, Debug, Default)]
pub struct FcgiRequest {
    /// BEGIN_REQUEST's flags (1: KEEP_CONN).
    pub flags: u8,
    pub params: Vec<(String, String)>,
    pub stdin: Vec<u8>,
}

impl FcgiRequest {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

type Answer = dyn Fn(&FcgiRequest) -> Vec<u8> + Send + Sync;

pub struct FcgiOrigin {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<FcgiRequest>>>,
    accept: Option<JoinHandle<()>>,
}

/// A record of `kind` for request 1.
pub fn record(kind: u8, content: &[u8]) -> Vec<u8> {
    let mut v = vec![1, kind, 0, 1];
    v.extend_from_slice(&(content.len() as u16).to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(content);
    v
}

/// STDOUT with `cgi` (head and body), an empty STDOUT, END_REQUEST complete.
pub fn answer(cgi: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for piece in cgi.chunks(65535) {
        v.extend(record(6, piece));
    }
    v.extend(record(6, b""));
    v.extend(record(3, &[0, 0, 0, 0, 0, 0, 0, 0]));
    v
}

impl FcgiOrigin {
    /// Starts the origin; `answer` makes the bytes for each request.
    pub fn start(answer: impl Fn(&FcgiRequest) -> Vec<u8> + Send + Sync + 'static) -> FcgiOrigin {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding 127.0.0.1:0");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let answer: Arc<Answer> = Arc::new(answer);
        let accept = {
            let (stop, requests) = (stop.clone(), requests.clone());
            thread::spawn(move || {
                let mut workers = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let (stop, requests, answer) =
                                (stop.clone(), requests.clone(), answer.clone());
                            workers.push(thread::spawn(move || {
                                serve(stream, &stop, &requests, &*answer)
                            }));
                        }
                        Err(_) => thread::sleep(Duration::from_millis(5)),
                    }
                }
                for w in workers {
                    let _ = w.join();
                }
            })
        };
        FcgiOrigin {
            addr,
            stop,
            requests,
            accept: Some(accept),
        }
    }

    /// `127.0.0.1:PORT`
    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    pub fn requests(&self) -> Vec<FcgiRequest> {
        self.requests.lock().unwrap().clone()
    }
}

impl Drop for FcgiOrigin {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

fn read_exact(s: &mut TcpStream, buf: &mut [u8], stop: &AtomicBool) -> bool {
    let mut at = 0;
    while at < buf.len() {
        if stop.load(Ordering::SeqCst) {
            return false;
        }
        match s.read(&mut buf[at..]) {
            Ok(0) => return false,
            Ok(n) => at += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return false,
        }
    }
    true
}

fn pairs(mut b: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let len = |b: &mut &[u8]| -> Option<usize> {
        let first = *b.first()?;
        if first & 0x80 == 0 {
            *b = &b[1..];
            Some(first as usize)
        } else {
            let v = b.get(..4)?;
            let n = (u32::from_be_bytes([v[0], v[1], v[2], v[3]]) & 0x7fff_ffff) as usize;
            *b = &b[4..];
            Some(n)
        }
    };
    while !b.is_empty() {
        let (Some(n), Some(v)) = (len(&mut b), len(&mut b)) else {
            break;
        };
        if b.len() < n + v {
            break;
        }
        out.push((
            String::from_utf8_lossy(&b[..n]).into_owned(),
            String::from_utf8_lossy(&b[n..n + v]).into_owned(),
        ));
        b = &b[n + v..];
    }
    out
}

fn serve(mut s: TcpStream, stop: &AtomicBool, requests: &Mutex<Vec<FcgiRequest>>, answer: &Answer) {
    let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
    loop {
        let mut req = FcgiRequest::default();
        let mut params = Vec::new();
        loop {
            let mut h = [0u8; 8];
            if !read_exact(&mut s, &mut h, stop) {
                return;
            }
            let len = usize::from(u16::from_be_bytes([h[4], h[5]]));
            let mut body = vec![0u8; len + usize::from(h[6])];
            if !read_exact(&mut s, &mut body, stop) {
                return;
            }
            body.truncate(len);
            match h[1] {
                1 => req.flags = body.get(2).copied().unwrap_or(0),
                4 => params.extend_from_slice(&body),
                5 if len == 0 => break,
                5 => req.stdin.extend_from_slice(&body),
                _ => {}
            }
        }
        req.params = pairs(&params);
        let bytes = answer(&req);
        let keep = req.flags & 1 != 0;
        requests.lock().unwrap().push(req);
        if s.write_all(&bytes).is_err() || !keep {
            return;
        }
    }
}
