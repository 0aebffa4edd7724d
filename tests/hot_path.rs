//! The hot path allocates nothing per request in steady state (issue #6).
//!
//! The `slotgate` binary's global allocator counts allocations, and each worker
//! publishes its count in its scoreboard row (`allocations`). These tests warm
//! a worker up, then send thousands of requests over kept-alive connections
//! through a balancer with pooled member connections, and check that the count
//! barely moved: a per-request allocation would add at least one per request.

mod common;

use common::*;
use scoreboard::Scoreboard;
use std::time::Duration;

const RULES: &str = "LogLevel warn
MaxKeepAliveRequests 0
<Proxy balancer://c>
  BalancerMember http://{a}
  BalancerMember http://{b}
</Proxy>
ProxyPass /app balancer://c/app
ProxyPassReverse /app balancer://c/app
";

/// The (requests, allocations) of the one worker once both stop moving: the
/// worker publishes its count at the end of each event-loop turn, just after
/// the responses of that turn went out.
fn settled(sg: &Slotgate, sb: &Scoreboard, requests: u64) -> u64 {
    let pid = *sg.worker_pids().first().expect("a worker");
    let slot = sb
        .processes()
        .iter()
        .find(|p| p.pid() == pid)
        .expect("the worker's process slot");
    let mut last = u64::MAX;
    wait_for(
        &format!("worker {pid}: {requests} requests and a steady allocation count"),
        Duration::from_secs(10),
        || {
            let now = slot.allocations();
            let steady = slot.requests() == requests && now == last;
            last = now;
            // The sampling interval of a steadiness check (two equal samples
            // 70 ms apart), not a wait on a fact: the count has no "final" mark.
            std::thread::sleep(Duration::from_millis(50));
            steady.then_some(now)
        },
        || {
            format!(
                "requests {}, allocations {}",
                slot.requests(),
                slot.allocations()
            )
        },
    )
}

/// Sends `n` requests spread over `clients`, each with the headers a browser
/// sends, and checks each answer.
fn send(clients: &mut [Client], n: usize, path: &str) {
    let headers = [
        (
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64) slotgate-test",
        ),
        ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),
        ("Accept-Language", "en-GB,en;q=0.5"),
        ("Accept-Encoding", "gzip, deflate"),
        ("Cookie", "theme=dark; lang=en"),
        ("Connection", "keep-alive"),
    ];
    let k = clients.len();
    for i in 0..n {
        let r = clients[i % k].request("GET", path, &headers, None);
        assert_eq!(r.status, 200, "{}", r.summary());
    }
}

fn allocations_per_request(path: &str) -> (u64, u64) {
    allocations_with(RULES, path).0
}

/// As [`allocations_per_request`] with `rules`; also hands back the proxy.
fn allocations_with(rules: &str, path: &str) -> ((u64, u64), Slotgate) {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(rules, &[&a, &b]);
    let sb = sg.scoreboard();
    let mut clients: Vec<Client> = (0..4).map(|_| Client::connect(sg.port())).collect();
    // Warm-up: free lists, the member pool and the buffers fill up.
    send(&mut clients, 400, path);
    let before = settled(&sg, &sb, 400);
    let n = 2000;
    send(&mut clients, n, path);
    let after = settled(&sg, &sb, 400 + n as u64);
    ((after - before, n as u64), sg)
}

#[test]
fn keep_alive_requests_through_a_balancer_allocate_nothing() {
    let (allocated, requests) = allocations_per_request("/app/hello");
    // A few growths of long-lived vectors may still happen; one per request
    // (or one per hundred) would show as thousands (or dozens).
    assert!(
        allocated <= requests / 300,
        "{allocated} allocations for {requests} requests in steady state"
    );
}

#[test]
fn chunked_responses_allocate_nothing_either() {
    // The origin answers chunked: the worker de-chunks and re-chunks each piece.
    let (allocated, requests) = allocations_per_request("/app/chunked/3000");
    assert!(
        allocated <= requests / 300,
        "{allocated} allocations for {requests} chunked responses in steady state"
    );
}

#[test]
fn the_count_does_move_when_the_worker_allocates() {
    // The counter is live: new connections (slab growth, socket registration)
    // and a worker's start-up allocate, and the scoreboard shows it.
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(RULES, &[&a, &b]);
    let sb = sg.scoreboard();
    let mut first = vec![Client::connect(sg.port())];
    send(&mut first, 1, "/app/x");
    let start = settled(&sg, &sb, 1);
    assert!(start > 0, "a worker that started allocated something");
    // 300 connections open at once: the slab grows.
    let mut many: Vec<Client> = (0..300).map(|_| Client::connect(sg.port())).collect();
    send(&mut many, 300, "/app/x");
    let later = settled(&sg, &sb, 301);
    assert!(later > start, "allocations {start} → {later}");
}

#[test]
fn paths_that_need_normalising_allocate_nothing_either() {
    // Dot-segments, an encoded dot, merged slashes and an escape that is
    // re-encoded: the normalised path is built in a recycled buffer (issue #13).
    let (allocated, requests) = allocations_per_request("/app/x/../y/%2e//a%20b?q=1");
    assert!(
        allocated <= requests / 300,
        "{allocated} allocations for {requests} normalised paths in steady state"
    );
}

#[test]
fn access_logging_allocates_nothing_either() {
    // Debian's `combined` with mod_logio's `%I %O` (Debian's stock format) and
    // the codes that were missing before issue #14 (`%{ms}T %k %X %R %A %L`).
    let rules = format!(
        "{RULES}LogFormat \"%h %l %u %t \\\"%r\\\" %>s %O \\\"%{{Referer}}i\\\" \\\"%{{User-Agent}}i\\\" \
         %I %{{ms}}T %k %X %R %A %L %{{BALANCER_WORKER_NAME}}e\" wire\n\
         CustomLog access.log combined\nCustomLog wire.log wire\n"
    );
    let ((allocated, requests), sg) = allocations_with(&rules, "/app/hello");
    // Every request was logged, twice: the logs were on while counting.
    for file in ["access.log", "wire.log"] {
        let text = std::fs::read_to_string(sg.dir().join(file)).expect(file);
        assert_eq!(text.lines().count() as u64, 400 + requests, "{file}");
        let last = text.lines().last().unwrap_or_default();
        assert!(
            last.contains("\"GET /app/hello HTTP/1.1\" 200 "),
            "{file}: {last}"
        );
        assert!(last.contains("slotgate-test"), "{file}: {last}");
    }
    assert!(
        allocated <= requests / 300,
        "{allocated} allocations for {requests} logged requests in steady state"
    );
}

#[test]
fn fixed_header_rules_allocate_nothing_either() {
    // mod_headers with fixed values (issue #15): the request gets one header
    // and the response one, both from the worker's free lists; a BALANCER_*
    // variable fills the environment on every request.
    let rules = format!(
        "{RULES}RequestHeader set X-Forwarded-Proto \"https\"\n\
         Header set X-Frame-Options SAMEORIGIN\n\
         SetEnvIf Request_URI ^/app TAGGED=1\n\
         CustomLog rules.log \"%{{X-Frame-Options}}o %{{TAGGED}}e %{{X-Forwarded-Proto}}i\"\n"
    );
    let ((allocated, requests), sg) = allocations_with(&rules, "/app/hello");
    // The rules were on while counting: the log shows their effects (%i reads
    // the request headers as RequestHeader left them, as httpd's headers_in).
    let lines = wait_lines(&sg.dir().join("rules.log"), 1, Duration::from_secs(5));
    assert_eq!(lines[0], "SAMEORIGIN 1 https");
    assert!(
        allocated <= requests / 300,
        "{allocated} allocations for {requests} requests with header rules in steady state"
    );
}

#[test]
fn header_rules_of_match_and_member_url_sections_allocate_nothing_either() {
    // Finding the sections that cover a request (issue #15: <ProxyMatch> and
    // <Proxy member-URL> match the URL the request goes to, <LocationMatch> the
    // normalised path) borrows the URL's pieces and the worker's buffers.
    let rules = format!(
        "{RULES}<ProxyMatch \"^balancer://c/app/\">\nHeader set X-PM pm\n</ProxyMatch>\n\
         <Proxy \"http://{{a}}/\">\nHeader set X-Member m\n</Proxy>\n\
         <Proxy \"*/app/h*\">\nRequestHeader set X-Wild w\n</Proxy>\n\
         <LocationMatch \"^/app/h\">\nHeader set X-LM lm\n</LocationMatch>\n\
         CustomLog sections.log \"%{{X-PM}}o %{{X-LM}}o %{{X-Wild}}i\"\n"
    );
    let ((allocated, requests), sg) = allocations_with(&rules, "/app/hello");
    let lines = wait_lines(&sg.dir().join("sections.log"), 1, Duration::from_secs(5));
    assert_eq!(lines[0], "pm lm w");
    assert!(
        allocated <= requests / 300,
        "{allocated} allocations for {requests} requests with section header rules"
    );
}
