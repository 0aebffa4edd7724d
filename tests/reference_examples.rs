//! conf/reference-examples.conf, run for real: every fixed member address
//! `127.0.0.1:NNNN` in it is replaced by an Origin of this test (one per
//! distinct address, named `mNNNN` after the port it stands for), every Listen
//! by `Listen 127.0.0.1:0`, and file paths the harness owns (ServerRoot,
//! ScoreboardFile, ErrorLog, PidFile) are left to the harness. Then each
//! ProxyPass / ProxyPassMatch / `<Location>` ProxyPass path gets a request that
//! must be answered 200 by one of the origins, and the examples whose point is
//! where traffic goes are checked for that.

mod common;

use common::*;
use regex::Regex;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/conf/reference-examples.conf");

fn read_examples() -> String {
    fs::read_to_string(FILE).unwrap_or_else(|e| {
        panic!(
            "{FILE} cannot be read ({e}): the reference examples are written by another \
             engineer and this test needs them"
        )
    })
}

/// Physical lines joined where one ends in `\`, with the number of the first.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (i, raw) in text.lines().enumerate() {
        let (start, mut line) = pending.take().unwrap_or((i + 1, String::new()));
        if let Some(head) = raw.strip_suffix('\\') {
            line.push_str(head);
            pending = Some((start, line));
        } else {
            line.push_str(raw);
            out.push((start, line));
        }
    }
    if let Some(p) = pending {
        out.push(p);
    }
    out
}

fn first_word(line: &str) -> String {
    line.split_whitespace()
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// The examples rewritten to run here, and the origin name for each fixed address.
struct Prepared {
    text: String,
    /// `127.0.0.1:NNNN` of the file → origin name `mNNNN`.
    names: BTreeMap<String, String>,
}

fn prepare(original: &str) -> Prepared {
    let address = Regex::new(r"127\.0\.0\.1:(\d+)").unwrap();
    let mut names = BTreeMap::new();
    let mut text = String::new();
    let mut listens = 0;
    for (_, line) in logical_lines(original) {
        let word = first_word(&line);
        match word.as_str() {
            "listen" => {
                // One ephemeral listener stands for all of them.
                if listens == 0 {
                    text.push_str("Listen 127.0.0.1:0\n");
                }
                listens += 1;
                continue;
            }
            "serverroot" | "scoreboardfile" | "errorlog" | "pidfile" | "user" | "group" => {
                text.push_str(&format!("# (left to the test harness) {line}\n"));
                continue;
            }
            "customlog" | "transferlog" => {
                // An absolute log path becomes a file in the harness's directory.
                let mut words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
                if let Some(path) = words.get_mut(1) {
                    let bare = path.trim_matches('"');
                    if bare.starts_with('/') {
                        let name = Path::new(bare)
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_else(|| "access.log".to_string());
                        *path = format!("\"{name}\"");
                    }
                }
                text.push_str(&words.join(" "));
                text.push('\n');
                continue;
            }
            _ => {}
        }
        for cap in address.captures_iter(&line) {
            let addr = cap[0].to_string();
            let name = format!("m{}", &cap[1]);
            names.entry(addr).or_insert(name);
        }
        text.push_str(&line);
        text.push('\n');
    }
    if listens == 0 {
        text.insert_str(0, "Listen 127.0.0.1:0\n");
    }
    Prepared { text, names }
}

/// One request to send: the Host to send it with (a vhost's ServerName), the
/// path, and where in the file it comes from.
#[derive(Debug, Clone)]
struct Probe {
    host: Option<String>,
    path: String,
    line: usize,
    source: String,
}

/// A request path that a ProxyPassMatch regex matches, for the simple
/// patterns examples use (`^/img/(.*)$`, `^/(.*\.php)$`); None otherwise.
fn sample_for_regex(pattern: &str) -> Option<String> {
    let mut p = pattern
        .trim_start_matches('^')
        .trim_end_matches('$')
        .to_string();
    for (from, to) in [
        ("(.*)", "probe"),
        ("(.+)", "probe"),
        (".*", "probe"),
        (".+", "probe"),
        ("\\.", "."),
        ("\\/", "/"),
    ] {
        p = p.replace(from, to);
    }
    let p = p.replace(['(', ')'], "");
    if !p.starts_with('/') {
        return None;
    }
    let re = Regex::new(pattern).ok()?;
    re.is_match(&p).then_some(p)
}

fn probe_path(prefix: &str) -> String {
    if prefix.ends_with('/') {
        format!("{prefix}probe")
    } else {
        format!("{prefix}/probe")
    }
}

/// The requests the prepared configuration calls for, and a note for each
/// mapping that could not be turned into a request.
fn probes(text: &str) -> (Vec<Probe>, Vec<String>) {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    // Section stack: (kind, argument). Contents of `<IfDefine NAME>` are
    // skipped (nothing is defined), `<IfDefine !NAME>` read.
    let mut stack: Vec<(String, String)> = Vec::new();
    let mut vhost_name: Option<String> = None;
    let lines = logical_lines(text);
    for (i, (number, line)) in lines.iter().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if let Some(close) = trimmed.strip_prefix("</") {
            let kind = close.trim_end_matches('>').trim().to_ascii_lowercase();
            if let Some(pos) = stack.iter().rposition(|(k, _)| *k == kind) {
                stack.truncate(pos);
            }
            if kind == "virtualhost" {
                vhost_name = None;
            }
            continue;
        }
        if let Some(open) = trimmed.strip_prefix('<') {
            let open = open.trim_end_matches('>');
            let kind = first_word(open);
            let arg = open
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .trim_matches('"')
                .to_string();
            if kind == "virtualhost" {
                // Its ServerName, wherever it is in the section.
                vhost_name = lines[i + 1..]
                    .iter()
                    .map(|(_, l)| l.trim())
                    .take_while(|l| !l.to_ascii_lowercase().starts_with("</virtualhost"))
                    .find(|l| first_word(l) == "servername")
                    .and_then(|l| l.split_whitespace().nth(1))
                    .map(|n| n.split(':').next().unwrap_or(n).to_string());
            }
            stack.push((kind, arg));
            continue;
        }
        let skipped_section = stack
            .iter()
            .any(|(k, a)| k == "ifdefine" && !a.starts_with('!'));
        if skipped_section {
            continue;
        }
        let words: Vec<&str> = trimmed.split_whitespace().collect();
        let location = stack
            .iter()
            .rev()
            .find(|(k, _)| k == "location")
            .map(|(_, a)| a.clone());
        let in_location_match = stack.iter().any(|(k, _)| k == "locationmatch");
        let probe = |path: String| Probe {
            host: vhost_name.clone(),
            path,
            line: *number,
            source: trimmed.to_string(),
        };
        match first_word(trimmed).as_str() {
            "proxypass" => match (&location, words.as_slice()) {
                (Some(loc), [_, url, ..]) if !url.starts_with('/') => {
                    if *url != "!" {
                        out.push(probe(probe_path(loc)));
                    }
                }
                (_, [_, path, url, ..]) if path.starts_with('/') => {
                    if *url != "!" {
                        out.push(probe(probe_path(path)));
                    }
                }
                _ if in_location_match => {
                    skipped.push(format!("line {number}: inside <LocationMatch>: {trimmed}"))
                }
                _ => skipped.push(format!("line {number}: not understood: {trimmed}")),
            },
            "proxypassmatch" => match words.get(1).map(|p| p.trim_matches('"')) {
                Some(pattern) if words.get(2) != Some(&"!") => match sample_for_regex(pattern) {
                    Some(path) => out.push(probe(path)),
                    None => skipped.push(format!("line {number}: no sample path for {trimmed}")),
                },
                _ => {}
            },
            _ => {}
        }
    }
    (out, skipped)
}

#[test]
fn reference_examples_pass_the_syntax_check() {
    assert!(
        Path::new(FILE).exists(),
        "{FILE} is missing: the reference examples are written by another engineer"
    );
    let dir = TempDir::new();
    let out = run_slotgate(&["-t", "-f", FILE], &dir);
    assert_eq!(out.code(), Some(0), "{out:?}");
}

/// slotgate running the prepared examples (plus `extra` lines), with an
/// origin for every fixed member address.
struct Examples {
    // First field, so dropped first: slotgate stops before its origins.
    sg: Slotgate,
    prepared: Prepared,
    /// By the name `mNNNN`.
    origins: BTreeMap<String, Origin>,
}

impl Examples {
    fn start(extra: &str) -> Examples {
        let prepared = prepare(&read_examples());
        assert!(
            !prepared.names.is_empty(),
            "no 127.0.0.1:NNNN member address in {FILE}"
        );
        let origins: BTreeMap<String, Origin> = prepared
            .names
            .values()
            .map(|n| (n.clone(), Origin::start(n)))
            .collect();
        let mut text = prepared.text.clone();
        for (addr, name) in &prepared.names {
            text = text.replace(addr.as_str(), &origins[name].addr());
        }
        text.push_str(extra);
        let sg = Slotgate::start(&text);
        Examples {
            sg,
            prepared,
            origins,
        }
    }

    /// The origin standing for 127.0.0.1:`port` of the file.
    fn origin(&self, port: u16) -> &Origin {
        self.origins.get(&format!("m{port}")).unwrap_or_else(|| {
            panic!("{FILE} has no member 127.0.0.1:{port} any more; update this test")
        })
    }

    /// X-Origins of `n` GETs that must all be 200.
    fn origins_of(&self, path: &str, headers: &[(&str, &str)], n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                let r = http_get(self.sg.port(), path, headers);
                assert_eq!(
                    r.status,
                    200,
                    "{path} #{i}: {}{}",
                    r.summary(),
                    member_table(&self.sg)
                );
                r.origin().to_string()
            })
            .collect()
    }
}

#[test]
fn every_mapping_of_the_reference_examples_answers_from_an_origin() {
    let ex = Examples::start("");
    let (prepared, sg) = (&ex.prepared, &ex.sg);
    let (probes, skipped) = probes(&prepared.text);
    assert!(!probes.is_empty(), "no ProxyPass found in {FILE}");
    let mut failures = Vec::new();
    let mut report = Vec::new();
    for p in &probes {
        let mut headers = Vec::new();
        if let Some(host) = &p.host {
            headers.push(("Host", host.as_str()));
        }
        let r = http_get(sg.port(), &p.path, &headers);
        let origin = r.header("x-origin").unwrap_or("-").to_string();
        report.push(format!(
            "line {} {:?} {} → {} from {origin}",
            p.line, p.host, p.path, r.status
        ));
        if r.status != 200 || !prepared.names.values().any(|n| *n == origin) {
            failures.push(format!(
                "line {} ({}): GET {} Host {:?}: {}",
                p.line,
                p.source,
                p.path,
                p.host,
                r.summary()
            ));
        }
    }
    eprintln!("reference examples:\n{}", report.join("\n"));
    if !skipped.is_empty() {
        eprintln!("mappings without a probe:\n{}", skipped.join("\n"));
    }
    assert!(
        failures.is_empty(),
        "{} of {} mappings failed:\n{}\n{}\n{}",
        failures.len(),
        probes.len(),
        failures.join("\n"),
        member_table(sg),
        sg.logs()
    );
}

// The examples whose point is where the traffic goes (the comments in the
// file quote the reference).

#[test]
fn tiers_example_sends_everything_to_the_hot_standby_of_lbset_0() {
    let ex = Examples::start("");
    let got = ex.origins_of("/tiers/x", &[], 10);
    assert!(got.iter().all(|o| o == "m18082"), "{got:?}");
    assert_eq!(ex.origin(18081).requests() + ex.origin(18083).requests(), 0);
}

#[test]
fn spares_example_alternates_the_normal_member_and_the_first_spare() {
    let ex = Examples::start("");
    let got = ex.origins_of("/spares/x", &[], 10);
    assert_eq!(
        got,
        [
            "m18085", "m18086", "m18085", "m18086", "m18085", "m18086", "m18085", "m18086",
            "m18085", "m18086"
        ],
        "{}",
        member_table(&ex.sg)
    );
    assert_eq!(ex.origin(18084).requests() + ex.origin(18087).requests(), 0);
}

#[test]
fn weights_example_goes_c_b_a_c_b_c() {
    let ex = Examples::start("");
    let got = ex.origins_of("/weights/x", &[], 12);
    let want = ["m18093", "m18092", "m18091", "m18093", "m18092", "m18093"];
    assert_eq!(got[..6], want, "{got:?}");
    assert_eq!(got[6..], want, "{got:?}");
}

#[test]
fn sticky_example_redirects_r1_sessions_to_r2_marked_route_changed() {
    let ex = Examples::start(
        "LogFormat \"%r %{BALANCER_WORKER_ROUTE}e %{BALANCER_ROUTE_CHANGED}e\" routes\n\
         CustomLog reference-routes.log routes\n",
    );
    let got = ex.origins_of("/sticky/x", &[("Cookie", "ROUTEID=.r1")], 3);
    assert!(got.iter().all(|o| o == "m18102"), "{got:?}");
    assert_eq!(ex.origin(18101).requests(), 0);
    let lines = wait_lines(
        &ex.sg.dir().join("reference-routes.log"),
        3,
        std::time::Duration::from_secs(5),
    );
    for line in &lines {
        assert_eq!(line, "GET /sticky/x HTTP/1.1 r2 1", "{lines:?}");
    }
}

#[test]
fn strict_example_routes_by_path_parameter_and_refuses_failover() {
    let ex = Examples::start("");
    // scolonpathdelim=On: the route ends at the next `;`.
    let got = ex.origins_of("/strict/p;jsessionid=x.n1;v=1", &[], 3);
    assert!(got.iter().all(|o| o == "m18111"), "{got:?}");
    let got = ex.origins_of("/strict/p", &[("Cookie", "JSESSIONID=x.n2")], 3);
    assert!(got.iter().all(|o| o == "m18112"), "{got:?}");
    ex.origin(18111).stop_listening();
    for i in 0..2 {
        let r = http_get(ex.sg.port(), "/strict/p", &[("Cookie", "JSESSIONID=x.n1")]);
        assert_eq!(
            r.status,
            503,
            "#{i}: {}{}",
            r.summary(),
            member_table(&ex.sg)
        );
    }
    let got = ex.origins_of("/strict/p", &[("Cookie", "JSESSIONID=x.n2")], 2);
    assert!(got.iter().all(|o| o == "m18112"), "{got:?}");
}

#[test]
fn based_example_uses_the_member_path_as_a_base() {
    let ex = Examples::start("");
    assert_eq!(ex.origins_of("/based/x", &[], 1), ["m18121"]);
    assert_eq!(ex.origin(18121).last_request().target, "/app/x");
}

#[test]
fn recovery_example_puts_failing_members_in_error_and_then_answers_503() {
    let ex = Examples::start("");
    let (first, second) = (ex.origin(18131), ex.origin(18132));
    first.set_mode(Mode::Status(500));
    second.set_mode(Mode::Status(503));
    // failonstatus: each response still reaches the client, then the member
    // is in error.
    let r = http_get(ex.sg.port(), "/recovery/x", &[]);
    assert_eq!((r.status, r.origin()), (500, "m18131"), "{}", r.summary());
    let r = http_get(ex.sg.port(), "/recovery/x", &[]);
    assert_eq!((r.status, r.origin()), (503, "m18132"), "{}", r.summary());
    wait_member_in_error(&ex.sg, &first.addr());
    wait_member_in_error(&ex.sg, &second.addr());
    first.set_mode(Mode::Normal);
    second.set_mode(Mode::Normal);
    // forcerecovery Off: 503 at once until retry (10 s) is due.
    let r = http_get(ex.sg.port(), "/recovery/x", &[]);
    assert_eq!(r.status, 503, "{}{}", r.summary(), member_table(&ex.sg));
    assert!(r.header("x-origin").is_none(), "{}", r.summary());
    assert_eq!(first.requests() + second.requests(), 2);
}

#[test]
fn sample_paths_for_simple_regexes() {
    assert_eq!(
        sample_for_regex("^/img/(.*)$").as_deref(),
        Some("/img/probe")
    );
    assert_eq!(
        sample_for_regex("^/(.*\\.php)$").as_deref(),
        Some("/probe.php")
    );
    assert_eq!(sample_for_regex("\\.jpg$"), None);
}
