//! Response bodies are streamed, not buffered (reference §8.5 "Body: streamed
//! as it arrives, with a flush whenever data stops arriving").
//!
//! The origin sends a body piece by piece, server-sent-events style, and
//! sends piece k+1 only after the test client acknowledged piece k (over a
//! channel, waiting at most 20 s). So the client gets each piece only if the
//! proxy passes it on while the member's response is still open; a proxy that
//! waits for more data, or for the end of the body, stalls the exchange and
//! the client's bounded read fails.

mod common;

use common::wire::*;
use common::*;
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Pieces in each streamed body.
const PIECES: usize = 20;
/// How long the origin waits for an acknowledgement.
const ACK_WAIT: Duration = Duration::from_secs(20);

/// Piece `k` of the body: an event line with a varying amount of data.
fn piece(k: usize) -> Vec<u8> {
    let mut p = format!("event: {k}\ndata: ").into_bytes();
    p.extend(std::iter::repeat_n(b'a' + (k % 26) as u8, (k * 53) % 400));
    p.extend_from_slice(b"\n\n");
    p
}

fn whole_body() -> Vec<u8> {
    (0..PIECES).flat_map(piece).collect()
}

/// How the origin frames the streamed body.
#[derive(Clone, Copy, Debug)]
enum Framing {
    Chunked,
    Length,
    /// No length, `Connection: close`, the end of the body is the close.
    Close,
}

/// What the origin noticed (a missing or wrong acknowledgement).
type Problems = Arc<Mutex<Vec<String>>>;

/// An origin streaming `piece(0..PIECES)` in `framing`, each piece after the
/// acknowledgement of the one before.
fn streaming_origin(framing: Framing, acks: Receiver<usize>, problems: Problems) -> RawOrigin {
    let acks = Mutex::new(acks);
    RawOrigin::start("a", move |conn| {
        if conn.read_request().is_none() {
            return;
        }
        let framing_header = match framing {
            Framing::Chunked => "Transfer-Encoding: chunked\r\n".to_string(),
            Framing::Length => format!("Content-Length: {}\r\n", whole_body().len()),
            Framing::Close => "Connection: close\r\n".to_string(),
        };
        let head = format!(
            "HTTP/1.1 200 OK\r\nX-Origin: a\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n{framing_header}\r\n"
        );
        if !conn.write(head.as_bytes()) {
            return;
        }
        let acks = acks.lock().unwrap_or_else(|e| e.into_inner());
        for k in 0..PIECES {
            let p = piece(k);
            let wire_bytes = match framing {
                Framing::Chunked => {
                    let mut b = format!("{:x}\r\n", p.len()).into_bytes();
                    b.extend_from_slice(&p);
                    b.extend_from_slice(b"\r\n");
                    b
                }
                Framing::Length | Framing::Close => p,
            };
            if !conn.write(&wire_bytes) {
                problems
                    .lock()
                    .unwrap()
                    .push(format!("writing piece {k} failed"));
                return;
            }
            match acks.recv_timeout(ACK_WAIT) {
                Ok(n) if n == k => {}
                Ok(n) => {
                    problems
                        .lock()
                        .unwrap()
                        .push(format!("acknowledgement {n} while waiting for {k}"));
                    return;
                }
                Err(_) => {
                    problems.lock().unwrap().push(format!(
                        "no acknowledgement of piece {k}: the client never got it"
                    ));
                    return;
                }
            }
        }
        match framing {
            Framing::Chunked => {
                conn.write(b"0\r\n\r\n");
            }
            Framing::Length => {}
            Framing::Close => conn.shutdown_write(),
        }
        // Stay until the proxy is done with the connection.
        conn.wait_eof(Duration::from_secs(5));
    })
}

/// Requests the stream and, for each piece, reads body bytes until the whole
/// piece is there, checks it, and acknowledges it; then reads the end.
fn read_stream_acknowledging(port: u16, acks: &Sender<usize>, problems: &Problems) -> Response {
    let mut wire = Wire::connect(port);
    wire.send(b"GET /events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n");
    let head = wire.read_head("GET", WIRE_WAIT).unwrap_or_else(|e| {
        panic!(
            "no response head: {e}; origin: {:?}",
            problems.lock().unwrap()
        )
    });
    assert_eq!(head.status, 200, "{}", head.summary());
    let mut pending = Vec::new();
    for k in 0..PIECES {
        let want = piece(k);
        while pending.len() < want.len() {
            match wire.next_body_bytes(WIRE_WAIT) {
                Ok(Some(bytes)) => pending.extend_from_slice(&bytes),
                Ok(None) => panic!("the body ended after {} bytes of piece {k}", pending.len()),
                Err(e) => panic!(
                    "piece {k} did not reach the client (held back by the proxy?): {e}; \
                     got {} of its {} bytes; origin: {:?}",
                    pending.len(),
                    want.len(),
                    problems.lock().unwrap()
                ),
            }
        }
        // The origin sends nothing more before the acknowledgement.
        assert!(
            pending == want,
            "piece {k}: got {:?}, expected {:?}",
            String::from_utf8_lossy(&pending),
            String::from_utf8_lossy(&want)
        );
        pending.clear();
        acks.send(k)
            .expect("the origin stopped listening for acknowledgements");
    }
    match wire.next_body_bytes(WIRE_WAIT) {
        Ok(None) => {}
        Ok(Some(extra)) => panic!(
            "bytes after the last piece: {:?}",
            String::from_utf8_lossy(&extra)
        ),
        Err(e) => panic!("the body did not end properly: {e}"),
    }
    head
}

fn stream_through(conf: &str, framing: Framing) -> Response {
    let (tx, rx) = channel();
    let problems: Problems = Arc::default();
    let a = streaming_origin(framing, rx, Arc::clone(&problems));
    let sg = start_proxy_raw(conf, &[&a]);
    let head = read_stream_acknowledging(sg.port(), &tx, &problems);
    assert!(
        problems.lock().unwrap().is_empty(),
        "{:?}",
        problems.lock().unwrap()
    );
    assert_eq!(a.request_count(), 1, "{}", a.summary());
    head
}

#[test]
fn chunked_response_reaches_the_client_piece_by_piece() {
    let head = stream_through("ProxyPass / http://{a}/\n", Framing::Chunked);
    assert_eq!(head.header("content-type"), Some("text/event-stream"));
}

#[test]
fn content_length_response_reaches_the_client_piece_by_piece() {
    let head = stream_through("ProxyPass / http://{a}/\n", Framing::Length);
    assert_eq!(
        head.header("content-length"),
        Some(whole_body().len().to_string().as_str()),
        "{}",
        head.summary()
    );
}

#[test]
fn close_delimited_response_reaches_the_client_piece_by_piece() {
    stream_through("ProxyPass / http://{a}/\n", Framing::Close);
}

#[test]
fn a_large_io_buffer_does_not_hold_small_pieces_back() {
    stream_through(
        "ProxyIOBufferSize 65536\nProxyPass / http://{a}/ iobuffersize=65536\n",
        Framing::Chunked,
    );
}

#[test]
fn streamed_pieces_arrive_through_a_balancer_too() {
    stream_through(
        "<Proxy balancer://s>\n    BalancerMember http://{a}\n</Proxy>\nProxyPass / balancer://s/\n",
        Framing::Chunked,
    );
}
