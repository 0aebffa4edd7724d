//! Request smuggling and ambiguous framing (DESIGN "Bad input and faults",
//! reference §8.3 and §8.5), table-driven over the raw bytes of each case.
//!
//! A refused request gets its status (400, or 501 for a transfer coding
//! slotgate does not implement) and the connection is closed; the origin
//! receives not one byte of it; and a well-formed request on a new connection
//! right after is served. Responses get the same scrutiny: a member that
//! answers a malformed head gives the client 502 and its connection is
//! dropped, so the next request goes out on a new one.

mod common;

use common::wire::*;
use common::*;

/// One request the proxy must refuse: its bytes and the statuses allowed.
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    statuses: &'static [u16],
}

fn case(name: &'static str, bytes: &[u8], statuses: &'static [u16]) -> Case {
    Case {
        name,
        bytes: bytes.to_vec(),
        statuses,
    }
}

/// A POST to /s whose body is framed by `framing` (header lines, each with its
/// CRLF) and followed by `body`, with a second request behind it that would
/// be smuggled if the body were framed differently.
fn post(framing: &str, body: &str) -> Vec<u8> {
    format!(
        "POST /s HTTP/1.1\r\nHost: x\r\n{framing}\r\n{body}GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    .into_bytes()
}

/// The origin and a proxy in front of it. `timeout=5`: a proxy stuck on a
/// member answers 504 in bounded time instead of hanging the test.
fn proxy() -> (RawOrigin, Slotgate) {
    let a = http_origin("a", |_, _| {});
    let sg = start_proxy_raw("ProxyPass / http://{a}/ timeout=5\n", &[&a]);
    (a, sg)
}

/// Sends `case` on a fresh connection and checks: one of its statuses came
/// back, the connection was closed, nothing of it reached the origin, and a
/// well-formed request on a new connection (GET /after/N) is then served.
/// Returns what went wrong, if anything.
fn check_refused(sg: &Slotgate, origin: &RawOrigin, case: &Case, n: usize) -> Result<(), String> {
    let before = origin.request_count();
    let answer = exchange_raw(sg.port(), &case.bytes);
    let mut problems = Vec::new();
    match answer.response() {
        Some(r) if case.statuses.contains(&r.status) => {
            if r.header("x-origin").is_some() {
                problems.push(format!("the refusal came from the origin: {}", r.summary()));
            }
        }
        Some(r) => problems.push(format!(
            "expected one of {:?}, got {}",
            case.statuses,
            r.summary()
        )),
        None => problems.push(format!(
            "expected one of {:?}, got no response: {}",
            case.statuses,
            answer.text()
        )),
    }
    if !answer.closed {
        problems.push(format!(
            "the connection stayed open after the refusal: {}",
            answer.text()
        ));
    }
    let after = format!("/after/{n}");
    let r = http_get(sg.port(), &after, &[]);
    if r.status != 200 || !r.text().ends_with(&after) {
        problems.push(format!(
            "the well-formed request after it failed: {}",
            r.summary()
        ));
    }
    let new: Vec<String> = origin.requests()[before..]
        .iter()
        .map(|q| format!("{} {}", q.method, q.target))
        .collect();
    if new != [format!("GET {after}")] {
        problems.push(format!(
            "the origin received {new:?}, expected only [\"GET {after}\"]"
        ));
    }
    let stray = origin.bytes_in() - origin.bytes_framed();
    if stray != 0 {
        problems.push(format!(
            "the origin received {stray} bytes that are not part of a complete request"
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}: {}", case.name, problems.join("; ")))
    }
}

/// Runs every case of `cases` through `check_refused` and fails listing all
/// the cases that went wrong.
fn assert_all_refused(cases: &[Case]) {
    let (a, sg) = proxy();
    let failures: Vec<String> = cases
        .iter()
        .enumerate()
        .filter_map(|(n, c)| check_refused(&sg, &a, c, n).err())
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n"),
        a.summary()
    );
}

#[test]
fn content_length_and_transfer_encoding_together_are_refused() {
    let chunked_zero = "0\r\n\r\n";
    assert_all_refused(&[
        case(
            "CL then TE",
            &post(
                "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                chunked_zero,
            ),
            &[400],
        ),
        case(
            "TE then CL",
            &post(
                "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                chunked_zero,
            ),
            &[400],
        ),
        case(
            "lower-case names",
            &post(
                "content-length: 5\r\ntransfer-encoding: chunked\r\n",
                chunked_zero,
            ),
            &[400],
        ),
        case(
            "upper-case names and value",
            &post(
                "TRANSFER-ENCODING: CHUNKED\r\nCONTENT-LENGTH: 5\r\n",
                chunked_zero,
            ),
            &[400],
        ),
        case(
            "TE with CL 0",
            &post(
                "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n",
                chunked_zero,
            ),
            &[400],
        ),
    ]);
}

#[test]
fn ambiguous_content_lengths_are_refused() {
    assert_all_refused(&[
        case(
            "two differing Content-Length fields",
            &post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"),
            &[400],
        ),
        case(
            "Content-Length: 1, 2",
            &post("Content-Length: 1, 2\r\n", "ab"),
            &[400],
        ),
        case(
            "Content-Length: +5",
            &post("Content-Length: +5\r\n", "hello"),
            &[400],
        ),
        case(
            "Content-Length: -5",
            &post("Content-Length: -5\r\n", "hello"),
            &[400],
        ),
        case(
            "Content-Length: 1 0",
            &post("Content-Length: 1 0\r\n", "0123456789"),
            &[400],
        ),
        case(
            "Content-Length: 0x5",
            &post("Content-Length: 0x5\r\n", "hello"),
            &[400],
        ),
        case(
            "Content-Length: 5.0",
            &post("Content-Length: 5.0\r\n", "hello"),
            &[400],
        ),
        case(
            "Content-Length: (empty)",
            &post("Content-Length: \r\n", "hello"),
            &[400],
        ),
        case(
            "Content-Length beyond 64 bits",
            &post("Content-Length: 99999999999999999999999\r\n", "hello"),
            &[400, 413],
        ),
    ]);
}

#[test]
fn unusable_transfer_encodings_are_refused() {
    let body = "5\r\nhello\r\n0\r\n\r\n";
    assert_all_refused(&[
        // Several codings ending in something else: 400 by "does not end in
        // chunked", 501 by "more than one coding"; both refuse.
        case(
            "chunked, identity",
            &post("Transfer-Encoding: chunked, identity\r\n", body),
            &[400, 501],
        ),
        case(
            "identity",
            &post("Transfer-Encoding: identity\r\n", "hello"),
            &[400],
        ),
        case(
            "gzip, chunked",
            &post("Transfer-Encoding: gzip, chunked\r\n", body),
            &[501],
        ),
        case(
            "gzip then chunked on two lines",
            &post("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n", body),
            &[400, 501],
        ),
        case(
            "chunked, chunked",
            &post("Transfer-Encoding: chunked, chunked\r\n", body),
            &[400, 501],
        ),
        case(
            "Transfer-Encoding in HTTP/1.0",
            b"POST /s HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            &[400],
        ),
    ]);
}

#[test]
fn bad_chunk_framing_is_refused() {
    let te = "Transfer-Encoding: chunked\r\n";
    assert_all_refused(&[
        case(
            "chunk size zz",
            &post(te, "zz\r\nhello\r\n0\r\n\r\n"),
            &[400],
        ),
        case(
            "chunk size -5",
            &post(te, "-5\r\nhello\r\n0\r\n\r\n"),
            &[400],
        ),
        case(
            "chunk size 0x5",
            &post(te, "0x5\r\nhello\r\n0\r\n\r\n"),
            &[400],
        ),
        case(
            "chunk size of 17 hex digits (2^64)",
            &post(te, "10000000000000000\r\nhello\r\n0\r\n\r\n"),
            &[400, 413],
        ),
        case(
            "chunk size of 17 f's",
            &post(te, "fffffffffffffffff\r\nhello\r\n0\r\n\r\n"),
            &[400, 413],
        ),
        case(
            "chunk data not followed by CRLF",
            &post(te, "5\r\nhelloXX\r\n0\r\n\r\n"),
            &[400],
        ),
        case(
            "trailer line without a colon",
            &post(te, "5\r\nhello\r\n0\r\nnot a trailer\r\n\r\n"),
            &[400],
        ),
        case(
            "chunk data followed by a bare LF",
            &post(te, "5\r\nhello\n0\r\n\r\n"),
            &[400],
        ),
    ]);
}

#[test]
fn malformed_header_lines_are_refused() {
    assert_all_refused(&[
        case(
            "obs-fold continuation line",
            b"GET /s HTTP/1.1\r\nHost: x\r\nX-Folded: one\r\n two\r\n\r\n",
            &[400],
        ),
        case(
            "obs-fold with a tab",
            b"GET /s HTTP/1.1\r\nHost: x\r\nX-Folded: one\r\n\ttwo\r\n\r\n",
            &[400],
        ),
        case(
            "whitespace before the first header line",
            b"GET /s HTTP/1.1\r\n Host: x\r\n\r\n",
            &[400],
        ),
        case(
            "bare CR in a value",
            b"GET /s HTTP/1.1\r\nHost: x\r\nX-A: one\rtwo\r\n\r\n",
            &[400],
        ),
        case(
            "NUL in a value",
            b"GET /s HTTP/1.1\r\nHost: x\r\nX-A: one\0two\r\n\r\n",
            &[400],
        ),
        case(
            "space before the colon",
            b"GET /s HTTP/1.1\r\nHost : x\r\n\r\n",
            &[400],
        ),
        case(
            "tab before the colon",
            b"GET /s HTTP/1.1\r\nHost: x\r\nX-A\t: y\r\n\r\n",
            &[400],
        ),
        case(
            "( in a field name",
            b"GET /s HTTP/1.1\r\nHo(st: x\r\n\r\n",
            &[400],
        ),
        case(
            "field line without a colon",
            b"GET /s HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n",
            &[400],
        ),
        case(
            "bare LF line endings",
            b"GET /s HTTP/1.1\nHost: x\n\n",
            &[400],
        ),
        case(
            "bare LF after one header line",
            b"GET /s HTTP/1.1\r\nHost: x\nX-A: y\r\n\r\n",
            &[400],
        ),
        case(
            "Content-Length with a space before the colon",
            b"POST /s HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello",
            &[400],
        ),
    ]);
}

/// Answers sent for `Transfer-Encoding` spellings a lenient parser accepts:
/// either the request is refused, or it is framed as chunked (the origin gets
/// the 5-byte body and the pipelined request behind it as a request of its
/// own). Anything else (a body taken as a request, a request framed without a
/// body) is a smuggling vector.
#[test]
fn transfer_encoding_spellings_are_refused_or_framed_as_chunked() {
    let spellings: [(&str, &[u8]); 7] = [
        ("tab before the value", b"Transfer-Encoding:\tchunked"),
        ("no space before the value", b"Transfer-Encoding:chunked"),
        ("tab after the value", b"Transfer-Encoding: chunked\t"),
        (
            "spaces around the value",
            b"Transfer-Encoding:   chunked   ",
        ),
        ("mixed case value", b"Transfer-Encoding: ChUnKeD"),
        (
            "vertical tab before the value",
            b"Transfer-Encoding: \x0bchunked",
        ),
        (
            "form feed after the value",
            b"Transfer-Encoding: chunked\x0c",
        ),
    ];
    let (a, sg) = proxy();
    let mut failures = Vec::new();
    for (n, (name, line)) in spellings.iter().enumerate() {
        let before = a.request_count();
        let target = format!("/te/{n}");
        let second = format!("/second/{n}");
        let mut bytes = format!("POST {target} HTTP/1.1\r\nHost: x\r\n").into_bytes();
        bytes.extend_from_slice(line);
        bytes.extend_from_slice(b"\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
        bytes.extend_from_slice(
            format!("GET {second} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        let mut wire = Wire::connect(sg.port());
        let _ = wire.try_send(&bytes);
        let outcome = match wire.read_final("POST", WIRE_WAIT) {
            Err(e) => Err(format!("no response: {e}")),
            Ok((_, first)) if [400, 501].contains(&first.status) => {
                let ending = wire.read_to_close(WIRE_WAIT);
                let got: Vec<String> = a.requests()[before..]
                    .iter()
                    .map(|q| format!("{} {}", q.method, q.target))
                    .collect();
                if !ending.closed {
                    Err("refused but the connection stayed open".to_string())
                } else if !got.is_empty() {
                    Err(format!("refused, yet the origin received {got:?}"))
                } else {
                    Ok(format!("refused with {}", first.status))
                }
            }
            Ok((_, first)) if first.status == 200 => match wire.read_final("GET", WIRE_WAIT) {
                Err(e) => Err(format!(
                    "the body was accepted but the pipelined request got no response: {e}"
                )),
                Ok((_, r)) if r.status != 200 || !r.text().ends_with(&second) => Err(format!(
                    "the pipelined request after the body got {}",
                    r.summary()
                )),
                Ok(_) => {
                    let got: Vec<(String, String, Vec<u8>)> = a.requests()[before..]
                        .iter()
                        .map(|q| (q.method.clone(), q.target.clone(), q.body.clone()))
                        .collect();
                    let want = vec![
                        ("POST".to_string(), target.clone(), b"hello".to_vec()),
                        ("GET".to_string(), second.clone(), Vec::new()),
                    ];
                    if got == want {
                        Ok("framed as chunked".to_string())
                    } else {
                        Err(format!("the origin received {got:?}, expected {want:?}"))
                    }
                }
            },
            Ok((_, first)) => Err(format!("unexpected answer {}", first.summary())),
        };
        match outcome {
            Ok(how) => eprintln!("{name}: {how}"),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
        // Whatever happened, the proxy still serves.
        let r = http_get(sg.port(), "/still-serving", &[]);
        if r.status != 200 {
            failures.push(format!("{name}: the next request got {}", r.summary()));
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n{}",
        failures.join("\n"),
        a.summary()
    );
}

#[test]
fn oversized_chunk_extension_never_reaches_the_origin_as_a_request() {
    let (a, sg) = proxy();
    let mut bytes =
        b"POST /ext HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;".to_vec();
    bytes.extend(std::iter::repeat_n(b'e', 5000));
    bytes.extend_from_slice(b"\r\nhello\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n");
    let answer = exchange_raw(sg.port(), &bytes);
    if let Some(r) = answer.response() {
        assert!(
            [400, 413, 431].contains(&r.status),
            "a 5000-byte chunk extension was answered {}",
            r.summary()
        );
        assert!(r.header("x-origin").is_none(), "{}", r.summary());
    }
    assert!(
        answer.closed,
        "the connection stayed open: {}",
        answer.text()
    );
    assert_eq!(
        a.request_count(),
        0,
        "the origin received a complete request: {}",
        a.summary()
    );
    let r = http_get(sg.port(), "/after", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    let targets: Vec<String> = a.requests().iter().map(|q| q.target.clone()).collect();
    assert_eq!(targets, ["/after"], "{}", a.summary());
}

#[test]
fn short_chunk_extensions_are_accepted() {
    let (a, sg) = proxy();
    let bytes =
        b"POST /ext HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
        5;name=value\r\nhello\r\n6;flag\r\n world\r\n0\r\n\r\n";
    let answer = exchange_raw(sg.port(), bytes);
    let r = answer
        .response()
        .unwrap_or_else(|| panic!("no response: {}", answer.text()));
    assert_eq!(r.status, 200, "{}", r.summary());
    let got = a.requests();
    assert_eq!(got.len(), 1, "{}", a.summary());
    assert_eq!(got[0].body, b"hello world");
}

/// Malformed member responses, by name: each is sent in answer to
/// `GET /bad/N` and the member's connection is then left open, so only the
/// proxy can decide not to use it again.
fn bad_responses() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "bare LF line endings",
            b"HTTP/1.1 200 OK\nContent-Length: 2\n\nok".to_vec(),
        ),
        (
            "Content-Length and Transfer-Encoding",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
                .to_vec(),
        ),
        (
            "two differing Content-Length fields",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!".to_vec(),
        ),
        (
            "Content-Length: -1",
            b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nok".to_vec(),
        ),
        (
            "status code with a letter",
            b"HTTP/1.1 2x0 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
        ),
        (
            "status line without a code",
            b"HTTP/1.1 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
        ),
        ("header line longer than 8192 bytes", {
            let mut r = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
            r.extend(std::iter::repeat_n(b'b', 9000));
            r.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\nok");
            r
        }),
        (
            "header line without a colon",
            b"HTTP/1.1 200 OK\r\nNoColonHere\r\nContent-Length: 2\r\n\r\nok".to_vec(),
        ),
    ]
}

#[test]
fn malformed_member_responses_give_502_and_the_connection_is_dropped() {
    let cases = bad_responses();
    let answers: Vec<Vec<u8>> = cases.iter().map(|(_, bytes)| bytes.clone()).collect();
    let a = RawOrigin::start("a", move |conn| {
        while let Some(request) = conn.read_request() {
            let bad = request
                .target
                .strip_prefix("/bad/")
                .and_then(|n| n.parse::<usize>().ok());
            let ok = match bad {
                Some(n) => conn.write(&answers[n]),
                None => {
                    let body = format!("a conn {} {}", conn.index(), request.target);
                    conn.respond(200, &[], body.as_bytes())
                }
            };
            if !ok {
                return;
            }
        }
    });
    let sg = start_proxy_raw("ProxyPass / http://{a}/ timeout=5\n", &[&a]);
    let mut failures = Vec::new();
    for (n, (name, _)) in cases.iter().enumerate() {
        // A pooled connection first, so a bad one could be handed on.
        let warm = http_get(sg.port(), &format!("/warm/{n}"), &[]);
        let bad = http_get(sg.port(), &format!("/bad/{n}"), &[]);
        let good = http_get(sg.port(), &format!("/good/{n}"), &[]);
        let requests = a.requests();
        let conn_of = |target: String| {
            requests
                .iter()
                .find(|q| q.target == target)
                .map(|q| q.connection)
        };
        let bad_conn = conn_of(format!("/bad/{n}"));
        let good_conn = conn_of(format!("/good/{n}"));
        let mut problems = Vec::new();
        if warm.status != 200 {
            problems.push(format!("the warm-up request got {}", warm.summary()));
        }
        if bad.status != 502 {
            problems.push(format!("expected 502, got {}", bad.summary()));
        }
        if good.status != 200 {
            problems.push(format!("the next request got {}", good.summary()));
        }
        if bad_conn.is_none() || bad_conn == good_conn {
            problems.push(format!(
                "the next request went out on the same member connection ({bad_conn:?}, {good_conn:?})"
            ));
        }
        if !problems.is_empty() {
            failures.push(format!("{name}: {}", problems.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n"),
        a.summary()
    );
}

#[test]
fn the_proxy_serves_after_a_burst_of_refusals() {
    let (a, sg) = proxy();
    for n in 0..50 {
        let bytes = post(
            &format!("Content-Length: {n}\r\nTransfer-Encoding: chunked\r\n"),
            "0\r\n\r\n",
        );
        let answer = exchange_raw(sg.port(), &bytes);
        assert_eq!(answer.status(), Some(400), "round {n}: {}", answer.text());
    }
    let workers = sg.worker_pids();
    let r = http_get(sg.port(), "/after", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(a.request_count(), 1, "{}", a.summary());
    assert_eq!(sg.worker_pids(), workers, "a worker was replaced");
}
