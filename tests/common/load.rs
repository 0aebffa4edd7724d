//! Concurrent load for balancing tests: N client threads, each sending its
//! share of requests on a keep-alive connection (reconnecting when the server
//! closes it), tallying statuses and `X-Origin`s. Failures are counted, not
//! panicked on, so a test can assert "zero failures" with the failures listed.
//! The whole run is bounded by `LOAD_DEADLINE`.

use super::client::{Client, Response};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

/// Bound on one whole `run_load`; requests not sent by then count as failures.
pub const LOAD_DEADLINE: Duration = Duration::from_secs(120);

/// What a load run observed.
#[derive(Debug, Default)]
pub struct LoadResult {
    /// Responses by status.
    pub statuses: BTreeMap<u16, usize>,
    /// Responses by `X-Origin` ("-" when absent).
    pub origins: BTreeMap<String, usize>,
    /// One line per failed request (no complete response, or a status other
    /// than 200), at most 50 kept; `failed` counts them all.
    pub failures: Vec<String>,
    pub failed: usize,
    pub responses: usize,
}

impl LoadResult {
    /// Responses from origin `name`.
    pub fn from(&self, name: &str) -> usize {
        self.origins.get(name).copied().unwrap_or(0)
    }

    fn record(&mut self, outcome: Result<&Response, String>) {
        match outcome {
            Ok(r) => {
                self.responses += 1;
                *self.statuses.entry(r.status).or_default() += 1;
                let origin = r.header("x-origin").unwrap_or("-").to_string();
                *self.origins.entry(origin).or_default() += 1;
                if r.status != 200 {
                    self.fail(format!("status {}: {}", r.status, r.summary()));
                }
            }
            Err(e) => self.fail(e),
        }
    }

    fn fail(&mut self, line: String) {
        self.failed += 1;
        if self.failures.len() < 50 {
            self.failures.push(line);
        }
    }

    fn merge(&mut self, other: LoadResult) {
        for (k, v) in other.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        for (k, v) in other.origins {
            *self.origins.entry(k).or_default() += v;
        }
        self.failed += other.failed;
        for f in other.failures {
            if self.failures.len() < 50 {
                self.failures.push(f);
            }
        }
        self.responses += other.responses;
    }
}

/// One request of a load run: path and extra headers.
pub struct LoadRequest {
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl LoadRequest {
    pub fn get(path: &str) -> LoadRequest {
        LoadRequest {
            path: path.to_string(),
            headers: Vec::new(),
        }
    }
}

/// Sends `total` GETs to 127.0.0.1:`port` from `clients` threads; request
/// number k (0-based, over all clients) is `make(k)`. `done` (if given) is
/// incremented after each response, so another thread can act in the middle
/// of the run.
pub fn run_load(
    port: u16,
    clients: usize,
    total: usize,
    make: &(dyn Fn(usize) -> LoadRequest + Sync),
    done: Option<&AtomicUsize>,
) -> LoadResult {
    let next = AtomicUsize::new(0);
    let result = Mutex::new(LoadResult::default());
    let deadline = Instant::now() + LOAD_DEADLINE;
    thread::scope(|scope| {
        for _ in 0..clients {
            scope.spawn(|| {
                let mut mine = LoadResult::default();
                let mut client: Option<Client> = None;
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    if k >= total {
                        break;
                    }
                    if Instant::now() >= deadline {
                        mine.fail(format!("request {k} not sent: {LOAD_DEADLINE:?} passed"));
                        continue;
                    }
                    let request = make(k);
                    let headers: Vec<(&str, &str)> = request
                        .headers
                        .iter()
                        .map(|(n, v)| (n.as_str(), v.as_str()))
                        .collect();
                    let outcome = match client.as_mut() {
                        Some(c) => Ok(c),
                        None => Client::try_connect(port).map(|c| client.insert(c)),
                    }
                    .and_then(|c| c.try_request("GET", &request.path, &headers, None));
                    match &outcome {
                        Ok(r) => {
                            let closing = r
                                .header_all("connection")
                                .iter()
                                .any(|v| v.to_ascii_lowercase().contains("close"));
                            if closing {
                                client = None;
                            }
                        }
                        Err(_) => client = None,
                    }
                    mine.record(
                        outcome
                            .as_ref()
                            .map_err(|e| format!("request {k} {}: {e}", request.path)),
                    );
                    if let Some(done) = done {
                        done.fetch_add(1, Ordering::SeqCst);
                    }
                }
                result.lock().unwrap().merge(mine);
            });
        }
    });
    result.into_inner().unwrap()
}
