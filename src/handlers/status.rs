//! `SetHandler server-status`: httpd mod_status's page from the scoreboard
//! (reference §7.5), with mod_proxy's balancer tables (§6.6) when
//! `ProxyStatus` is On or Full.
//!
//! Three forms, chosen by the query string (its `&`-separated words):
//!
//! * no word: the HTML page (server version and MPM, current and restart
//!   time, generation, uptime, accesses and traffic, rates, busy and idle
//!   workers, the scoreboard letters with httpd's key, one row per process
//!   slot, then per balancer httpd's *SSes | Timeout | Method* table and the
//!   member table *Sch | Host | Stat | Route | Redir | F | Set | Acc | Busy |
//!   Wr | Rd* with its legend);
//! * `auto`: httpd's machine-readable form, `Key: value` lines with httpd's
//!   key names in httpd's order (first line: the server name, as httpd);
//! * `json`: the same data as one JSON object (described in README, "Status
//!   and metrics").
//!
//! `refresh=N` adds httpd's `Refresh: N` header. Only GET and HEAD are
//! served (405 otherwise).
//!
//! Counting, per process slot state letter (httpd's rules): `_` is idle;
//! `R W K C G` are busy (`G` is also counted in GracefulWorkers); `S`
//! (starting) and `.` (no process) are neither. In event MPM one process
//! serves many connections, so a "worker" here is a process: BusyWorkers +
//! IdleWorkers ≤ Processes. Total Accesses and Total kBytes are the sums of
//! the live process slots (requests read, bytes written to clients); a
//! process that is replaced starts again from 0, as an httpd child does.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::snapshot::{g, html, http_time, is_busy, uptime_words, Balancer, Member, Snapshot};
use super::{Context, Request, Response};
use crate::text::size::strfsize;

/// Letters per line of the HTML scoreboard block (httpd wraps at 64).
const LETTERS_PER_LINE: usize = 64;

/// What the query string asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    Html,
    Auto,
    Json,
}

pub fn serve(req: &Request, ctx: &Context) -> Response {
    if req.method != "GET" && req.method != "HEAD" {
        let mut r = Response::text(405, "server-status answers GET and HEAD only");
        r.headers.push(("Allow".into(), "GET, HEAD".into()));
        return r;
    }
    let mut form = Form::Html;
    let mut refresh = None;
    for word in req.query.unwrap_or("").split(['&', ';']) {
        let (key, value) = word.split_once('=').unwrap_or((word, ""));
        match key {
            "auto" => form = Form::Auto,
            "json" => form = Form::Json,
            "refresh" => {
                refresh = Some(value.parse::<u32>().unwrap_or(1).max(1));
            }
            _ => {}
        }
    }
    let snap = Snapshot::take(ctx);
    let proxy = ctx.config.proxy_status;
    let mut response = match form {
        Form::Html => Response::new(
            200,
            "text/html; charset=utf-8",
            html_page(&snap, req, proxy),
        ),
        Form::Auto => Response::new(
            200,
            "text/plain; charset=utf-8",
            auto(&snap, req.server_name, proxy),
        ),
        Form::Json => {
            let mut body = serde_json::to_vec_pretty(&json_value(&snap, req.server_name, proxy))
                .unwrap_or_default();
            body.push(b'\n');
            Response::new(200, "application/json", body)
        }
    };
    if let Some(n) = refresh {
        response.headers.push(("Refresh".into(), n.to_string()));
    }
    response
}

/// The rates of httpd's page: (requests/s, bytes/s, bytes/request).
fn rates(snap: &Snapshot) -> (f64, f64, f64) {
    let up = snap.server.uptime_secs();
    let acc = snap.total_accesses() as f64;
    let bytes = snap.total_bytes() as f64;
    if up == 0 {
        return (0.0, 0.0, if acc > 0.0 { bytes / acc } else { 0.0 });
    }
    let up = up as f64;
    (
        acc / up,
        bytes / up,
        if acc > 0.0 { bytes / acc } else { 0.0 },
    )
}

/// The `?auto` text.
pub(crate) fn auto(snap: &Snapshot, server_name: &str, proxy: bool) -> String {
    let s = &snap.server;
    let (req_per_sec, bytes_per_sec, bytes_per_req) = rates(snap);
    let mut out = String::new();
    let mut line = |key: &str, value: &dyn std::fmt::Display| {
        let _ = writeln!(out, "{key}: {value}");
    };
    line("ServerVersion", &s.version);
    line("ServerMPM", &s.mpm);
    line("CurrentTime", &http_time(s.now_ms / 1000));
    line("RestartTime", &http_time(s.start_time));
    line("ParentServerConfigGeneration", &s.generation);
    line("ParentServerMPMGeneration", &s.generation);
    line("ServerUptimeSeconds", &s.uptime_secs());
    line("ServerUptime", &uptime_words(s.uptime_secs()).trim_start());
    line("Total Accesses", &snap.total_accesses());
    line("Total kBytes", &(snap.total_bytes() / 1024));
    line("Uptime", &s.uptime_secs());
    line("ReqPerSec", &g(req_per_sec));
    line("BytesPerSec", &g(bytes_per_sec));
    line("BytesPerReq", &g(bytes_per_req));
    line("BusyWorkers", &snap.busy_workers());
    line("GracefulWorkers", &snap.graceful_workers());
    line("IdleWorkers", &snap.idle_workers());
    line("Processes", &snap.live_processes());
    line("Stopping", &snap.graceful_workers());
    line("ConnsTotal", &snap.connections());
    line("Scoreboard", &snap.letters());
    // slotgate's own: processes whose event loop has not turned for 3 s or more.
    line("StalledWorkers", &snap.stalled_workers());
    // slotgate's own: wake-ups for a connection another process took (a
    // prefork worker woken in vain: the thundering herd, issue #18).
    line(
        "AcceptMisses",
        &snap
            .processes
            .iter()
            .filter(|p| p.pid != 0)
            .map(|p| p.accept_misses)
            .sum::<u64>(),
    );
    // (slotgate's own: descriptors or memory this server ran out of.)
    let live = || snap.processes.iter().filter(|p| p.pid != 0);
    line("LocalFaults", &live().map(|p| p.local_faults).sum::<u64>());
    if let Some(p) = live()
        .filter(|p| p.last_local_fault.is_some())
        .max_by_key(|p| p.last_local_fault)
    {
        line(
            "LastLocalFault",
            &p.last_local_fault_cause().unwrap_or_default(),
        );
    }
    let mut out = format!("{server_name}\n{out}");
    if proxy {
        for (i, b) in snap.balancers.iter().enumerate() {
            let _ = writeln!(out, "ProxyBalancer[{i}]Name: {}", b.name);
            for (j, m) in b.members.iter().enumerate() {
                let w = format!("ProxyBalancer[{i}]Worker[{j}]");
                let _ = writeln!(out, "{w}Name: {}", m.url);
                let _ = writeln!(out, "{w}Status: {}", scoreboard::flags::display(m.status));
                let _ = writeln!(out, "{w}Elected: {}", m.elected);
                let _ = writeln!(out, "{w}Busy: {}", m.busy);
                let _ = writeln!(out, "{w}Sent: {}K", m.transferred / 1024);
                let _ = writeln!(out, "{w}Rcvd: {}K", m.read / 1024);
            }
        }
    }
    out
}

/// The `?json` object: also `slotgate-top --json`'s, so the two share one
/// schema (described in README, "Status and metrics").
pub fn json_value(snap: &Snapshot, server_name: &str, proxy: bool) -> Value {
    let s = &snap.server;
    let (req_per_sec, bytes_per_sec, bytes_per_req) = rates(snap);
    let processes: Vec<Value> = snap
        .processes
        .iter()
        .map(|p| {
            json!({
                "slot": p.slot,
                "pid": p.pid,
                "generation": p.generation,
                "state": p.state.letter().to_string(),
                "busy": is_busy(p.state),
                "connections": p.connections,
                "total_connections": p.total_connections,
                "requests": p.requests,
                "bytes_in": p.bytes_in,
                "bytes_out": p.bytes_out,
                "started_unix_ms": p.started_ms,
                "last_used_unix_ms": p.last_used_ms,
                "stalled_seconds": p.stalled_ms.map(|ms| ms / 1000),
                "local_faults": p.local_faults,
                "accept_misses": p.accept_misses,
                "last_local_fault": p.last_local_fault.map(|(ms, _)| json!({
                    "cause": p.last_local_fault_cause(),
                    "unix_ms": ms,
                })),
            })
        })
        .collect();
    let mut v = json!({
        "server_name": server_name,
        "server_version": s.version,
        "server_mpm": s.mpm,
        "current_time_unix_ms": s.now_ms,
        "restart_time_unix": s.start_time,
        "generation": s.generation,
        "restarts": s.restarts,
        "phase": s.phase,
        "supervisor_pid": s.supervisor_pid,
        "checker_pid": s.checker_pid,
        "ports": s.ports,
        "uptime_seconds": s.uptime_secs(),
        "total_accesses": snap.total_accesses(),
        "total_bytes": snap.total_bytes(),
        "total_kbytes": snap.total_bytes() / 1024,
        "req_per_sec": req_per_sec,
        "bytes_per_sec": bytes_per_sec,
        "bytes_per_req": bytes_per_req,
        "busy_workers": snap.busy_workers(),
        "graceful_workers": snap.graceful_workers(),
        "idle_workers": snap.idle_workers(),
        "stalled_workers": snap.stalled_workers(),
        "processes": snap.live_processes(),
        "connections": snap.connections(),
        "scoreboard": snap.letters(),
        "process_slots": processes,
    });
    if proxy {
        v["balancers"] = Value::Array(snap.balancers.iter().map(balancer_json).collect());
        v["standalone_members"] = Value::Array(snap.standalone.iter().map(member_json).collect());
    }
    v
}

fn balancer_json(b: &Balancer) -> Value {
    let members: Vec<Value> = b.members.iter().map(member_json).collect();
    json!({
        "name": b.name,
        "lbmethod": b.lbmethod,
        "stickysession": b.sticky,
        "timeout_ms": b.timeout_ms,
        "maxattempts": b.max_attempts,
        "nofailover": b.nofailover,
        "members": members,
    })
}

fn member_json(m: &Member) -> Value {
    let hc = &m.hc;
    json!({
        "slot": m.slot,
        "url": m.url,
        "scheme": m.scheme(),
        "host": m.host(),
        "route": m.route,
        "redirect": m.redirect,
        "lbfactor": f64::from(m.lbfactor) / 100.0,
        "lbset": m.lbset,
        "status": scoreboard::flags::display(m.status).trim_end(),
        "status_flags": scoreboard::flags::letters(m.status),
        "usable": m.usable(),
        "elected": m.elected,
        "busy": m.busy,
        "lbstatus": m.lbstatus,
        "sent": m.transferred,
        "received": m.read,
        "requests": m.requests,
        "errors": m.errors,
        "error_time_unix_ms": m.error_time_ms,
        "hc_passes": m.hc_pcount,
        "hc_fails": m.hc_fcount,
        "latency_ewma_us": m.latency_ewma_us,
        "latency_count": m.latency.count(),
        "latency_sum_us": m.latency.sum_us,
        "health": {
            "method": hc.method_name(),
            "interval_ms": hc.interval_ms,
            "passes": hc.passes,
            "fails": hc.fails,
            "uri": hc.uri,
            "expr": hc.expr,
            "last_check_unix_ms": hc.last_check_ms,
            "passed": hc.result.map(|(passed, _)| passed),
            "reason": hc.reason,
            "failed": m.status & scoreboard::flags::HC_FAILED != 0,
        },
    })
}

fn html_page(snap: &Snapshot, req: &Request, proxy: bool) -> String {
    let s = &snap.server;
    let (req_per_sec, bytes_per_sec, bytes_per_req) = rates(snap);
    let mut o = String::new();
    o.push_str("<!DOCTYPE html>\n<html><head>\n<title>slotgate Status</title>\n");
    o.push_str(
        "<style>table{border-collapse:collapse}td,th{padding:2px 6px;text-align:left}\
         th{background:#ddd}tr:nth-child(even) td{background:#f4f4f4}</style>\n",
    );
    o.push_str("</head><body>\n");
    let _ = writeln!(
        o,
        "<h1>slotgate Server Status for {}</h1>\n",
        html(req.server_name)
    );
    let _ = writeln!(o, "<dl><dt>Server Version: {}</dt>", html(&s.version));
    let _ = writeln!(o, "<dt>Server MPM: {}</dt>", s.mpm);
    o.push_str("</dl><hr /><dl>\n");
    let _ = writeln!(o, "<dt>Current Time: {}</dt>", http_time(s.now_ms / 1000));
    let _ = writeln!(o, "<dt>Restart Time: {}</dt>", http_time(s.start_time));
    let _ = writeln!(
        o,
        "<dt>Parent Server Config. Generation: {}</dt>",
        s.generation
    );
    let _ = writeln!(o, "<dt>Parent Server MPM Generation: {}</dt>", s.generation);
    let _ = writeln!(o, "<dt>Restarts: {}</dt>", s.restarts);
    let _ = writeln!(
        o,
        "<dt>Server uptime: {}</dt>",
        uptime_words(s.uptime_secs())
    );
    let _ = writeln!(
        o,
        "<dt>Total accesses: {} - Total Traffic: {}</dt>",
        snap.total_accesses(),
        crate::text::size::kbyte_out(snap.total_bytes() / 1024)
    );
    let _ = writeln!(
        o,
        "<dt>{} requests/sec - {}/second - {}/request</dt>",
        g(req_per_sec),
        crate::text::size::byte_out(bytes_per_sec),
        crate::text::size::byte_out(bytes_per_req)
    );
    let _ = writeln!(
        o,
        "<dt>{} processes: {} busy, {} idle, {} gracefully finishing; {} connections open</dt>",
        snap.live_processes(),
        snap.busy_workers(),
        snap.idle_workers(),
        snap.graceful_workers(),
        snap.connections()
    );
    let stalled: Vec<String> = snap
        .processes
        .iter()
        .filter(|p| p.pid != 0 && p.stalled_ms.is_some())
        .map(|p| p.slot.to_string())
        .collect();
    if !stalled.is_empty() {
        let _ = writeln!(
            o,
            "<dt><b>{} stalled</b> (no progress for {} s or more; the supervisor replaces \
             a worker stalled past WorkerStallTimeout): slot {}</dt>",
            stalled.len(),
            scoreboard::STALL_SHOWN_AFTER_MS / 1000,
            stalled.join(", ")
        );
    }
    o.push_str("</dl><pre>");
    let letters: Vec<char> = snap.letters().chars().collect();
    for (i, line) in letters.chunks(LETTERS_PER_LINE).enumerate() {
        if i > 0 {
            o.push('\n');
        }
        o.extend(line.iter());
    }
    o.push_str("</pre>\n");
    o.push_str(
        "<p>Scoreboard Key:<br />\n\
         \"<b><code>_</code></b>\" Waiting for Connection, \n\
         \"<b><code>S</code></b>\" Starting up, \n\
         \"<b><code>R</code></b>\" Reading Request,<br />\n\
         \"<b><code>W</code></b>\" Sending Reply, \n\
         \"<b><code>K</code></b>\" Keepalive (read), \n\
         \"<b><code>D</code></b>\" DNS Lookup,<br />\n\
         \"<b><code>C</code></b>\" Closing connection, \n\
         \"<b><code>L</code></b>\" Logging, \n\
         \"<b><code>G</code></b>\" Gracefully finishing,<br />\n\
         \"<b><code>I</code></b>\" Idle cleanup of worker, \n\
         \"<b><code>.</code></b>\" Open slot with no current process<br />\n\
         </p>\n",
    );

    o.push_str(
        "<table border=\"0\"><tr><th>Slot</th><th>PID</th><th>Gen</th><th>M</th>\
         <th>Conns</th><th>Total conns</th><th>Acc</th><th>In</th><th>Out</th>\
         <th>Last used</th><th>Local faults</th><th>Accept misses</th><th>Stalled</th></tr>\n",
    );
    for p in snap.processes.iter().filter(|p| p.pid != 0) {
        let last = if p.last_used_ms == 0 {
            "-".to_string()
        } else {
            format!("{}s ago", s.now_ms.saturating_sub(p.last_used_ms) / 1000)
        };
        let stalled = p
            .stalled_ms
            .map_or_else(|| "-".to_string(), |ms| format!("<b>{}s</b>", ms / 1000));
        let faults = match (p.last_local_fault, p.last_local_fault_cause()) {
            (Some((ms, _)), Some(cause)) => format!(
                "{} (last: {}, {}s ago)",
                p.local_faults,
                html(&cause),
                s.now_ms.saturating_sub(ms) / 1000
            ),
            _ => p.local_faults.to_string(),
        };
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><b>{}</b></td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            p.slot,
            p.pid,
            p.generation,
            html(&p.state.letter().to_string()),
            p.connections,
            p.total_connections,
            p.requests,
            strfsize(p.bytes_in),
            strfsize(p.bytes_out),
            last,
            faults,
            p.accept_misses,
            stalled
        );
    }
    o.push_str("</table>\n");
    o.push_str(
        "<table>\n<tr><th>Slot</th><td>Process slot</td></tr>\n\
         <tr><th>PID</th><td>OS process ID</td></tr>\n\
         <tr><th>Gen</th><td>Generation the process was started in</td></tr>\n\
         <tr><th>M</th><td>Mode of operation (scoreboard letter)</td></tr>\n\
         <tr><th>Conns</th><td>Client connections open now</td></tr>\n\
         <tr><th>Total conns</th><td>Client connections accepted since the process started</td></tr>\n\
         <tr><th>Acc</th><td>Requests read since the process started</td></tr>\n\
         <tr><th>In</th><td>Bytes read from clients</td></tr>\n\
         <tr><th>Out</th><td>Bytes written to clients</td></tr>\n\
         <tr><th>Last used</th><td>Time since the process last started a request</td></tr>\n\
         <tr><th>Local faults</th><td>Times the process ran out of descriptors or memory (accepting pauses; members are not blamed)</td></tr>\n\
         <tr><th>Accept misses</th><td>Times the process was woken for a connection another process took</td></tr>\n\
         <tr><th>Stalled</th><td>Time since the process's event loop last turned, when 3 s or more</td></tr>\n\
         </table>\n",
    );

    if proxy {
        for b in &snap.balancers {
            balancer_html(&mut o, b);
        }
        if !snap.balancers.is_empty() {
            o.push_str(
                "<hr />\n<table>\n\
                 <tr><th>SSes</th><td>Sticky session name</td></tr>\n\
                 <tr><th>Timeout</th><td>Balancer Timeout</td></tr>\n\
                 <tr><th>Sch</th><td>Connection scheme</td></tr>\n\
                 <tr><th>Host</th><td>Backend Hostname</td></tr>\n\
                 <tr><th>Stat</th><td>Worker status</td></tr>\n\
                 <tr><th>Route</th><td>Session Route</td></tr>\n\
                 <tr><th>Redir</th><td>Session Route Redirection</td></tr>\n\
                 <tr><th>F</th><td>Load Balancer Factor</td></tr>\n\
                 <tr><th>Set</th><td>Load Balancer Set</td></tr>\n\
                 <tr><th>Acc</th><td>Number of uses</td></tr>\n\
                 <tr><th>Busy</th><td>Requests in flight</td></tr>\n\
                 <tr><th>Wr</th><td>Number of bytes transferred</td></tr>\n\
                 <tr><th>Rd</th><td>Number of bytes read</td></tr>\n\
                 </table>\n",
            );
        }
    }
    let _ = writeln!(
        o,
        "<hr />\n<address>{} Server at {} Port {}</address>\n</body></html>",
        html(&s.version),
        html(req.server_name),
        req.local_port
    );
    o
}

fn balancer_html(o: &mut String, b: &Balancer) {
    let _ = writeln!(
        o,
        "<hr />\n<h1>Proxy LoadBalancer Status for {}</h1>",
        html(&b.name)
    );
    let _ = writeln!(
        o,
        "<table border=\"0\"><tr><th>SSes</th><th>Timeout</th><th>Method</th></tr>\n\
         <tr><td>{}</td><td>{}</td><td>{}</td></tr>\n</table>",
        if b.sticky.is_empty() {
            "-".to_string()
        } else {
            html(&b.sticky)
        },
        b.timeout_ms / 1000,
        html(&b.lbmethod)
    );
    o.push_str(
        "<table border=\"0\"><tr><th>Sch</th><th>Host</th><th>Stat</th><th>Route</th>\
         <th>Redir</th><th>F</th><th>Set</th><th>Acc</th><th>Busy</th><th>Wr</th>\
         <th>Rd</th></tr>\n",
    );
    for m in &b.members {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html(m.scheme()),
            html(m.host()),
            html(&scoreboard::flags::display(m.status)),
            html(&m.route),
            html(&m.redirect),
            m.factor(),
            m.lbset,
            m.elected,
            m.busy,
            strfsize(m.transferred),
            strfsize(m.read)
        );
    }
    o.push_str("</table>\n");
}

#[cfg(test)]
mod tests {
    use scoreboard::{flags, ProcessState};

    use super::super::snapshot::fixture::{get, Fixture};
    use super::*;

    const NOW_MS: u64 = 1_795_427_671_500;

    const CONF: &str = "\
ProxyStatus On
<Proxy balancer://c>
    BalancerMember http://127.0.0.1:9001 route=a
    BalancerMember http://127.0.0.1:9002 route=b loadfactor=2.5 redirect=a
    ProxySet stickysession=JSESSIONID|jsessionid
</Proxy>
<Proxy balancer://d>
    BalancerMember http://[::1]:9004 status=+H
</Proxy>
ProxyPass /s http://127.0.0.1:9003/
ProxyPass /d balancer://d/
ProxyPass / balancer://c/
";

    /// Slots: `_` (10 requests, 4096 bytes out), `W` (5, 2048, 3 conns),
    /// `G`, empty, `S`; started 100 s before NOW_MS; generation 3.
    fn fill(f: &Fixture) {
        let sb = &f.sb;
        sb.header().set_start_time(NOW_MS / 1000 - 100);
        sb.header().set_generation(3);
        sb.header().add_restart();
        let procs = [
            (100, ProcessState::Idle, 10, 4096, 0),
            (101, ProcessState::Writing, 5, 2048, 3),
            (102, ProcessState::Graceful, 0, 0, 1),
            (0, ProcessState::Empty, 0, 0, 0),
            (103, ProcessState::Starting, 0, 0, 0),
        ];
        for (i, (pid, state, requests, out, conns)) in procs.into_iter().enumerate() {
            let p = sb.process(i);
            p.set_pid(pid);
            p.set_state(state);
            p.set_generation(3);
            for _ in 0..requests {
                p.add_request();
            }
            p.add_bytes_out(out);
            p.add_bytes_in(out / 2);
            p.set_connections(conns);
        }
        // Local faults: two in process 1 (the later one counts as the last),
        // one in process 2.
        sb.process(1)
            .record_local_fault(libc::ENOBUFS, NOW_MS - 9000);
        sb.process(2)
            .record_local_fault(libc::EMFILE, NOW_MS - 2000);
        sb.process(1)
            .record_local_fault(libc::EMFILE, NOW_MS - 5000);
        // Accept misses: two in process 1, one in process 2.
        sb.process(1).add_accept_miss();
        sb.process(1).add_accept_miss();
        sb.process(2).add_accept_miss();
        let m0 = sb.member(f.routes.balancers[0].members[0].slot);
        for _ in 0..7 {
            m0.add_elected();
            m0.add_request();
        }
        m0.add_transferred(3 * 1024 + 10);
        m0.add_read(20 * 1024);
        m0.set_busy(2);
        let m1 = sb.member(f.routes.balancers[0].members[1].slot);
        m1.add_elected();
        m1.set_flags(flags::ERROR);
    }

    fn parse_auto(text: &str) -> Vec<(String, String)> {
        text.lines()
            .skip(1)
            .map(|l| {
                let (k, v) = l.split_once(": ").unwrap_or_else(|| panic!("line {l:?}"));
                (k.to_string(), v.to_string())
            })
            .collect()
    }

    #[test]
    fn auto_has_httpds_keys_in_order_and_the_scoreboards_values() {
        let f = Fixture::new(CONF, 5);
        fill(&f);
        let r = serve(&get("GET", Some("auto")), &f.ctx(NOW_MS));
        assert_eq!(r.status, 200);
        assert_eq!(r.content_type, "text/plain; charset=utf-8");
        let text = String::from_utf8(r.body).unwrap();
        assert_eq!(text.lines().next(), Some("status.test"));
        let pairs = parse_auto(&text);
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        let server_keys = [
            "ServerVersion",
            "ServerMPM",
            "CurrentTime",
            "RestartTime",
            "ParentServerConfigGeneration",
            "ParentServerMPMGeneration",
            "ServerUptimeSeconds",
            "ServerUptime",
            "Total Accesses",
            "Total kBytes",
            "Uptime",
            "ReqPerSec",
            "BytesPerSec",
            "BytesPerReq",
            "BusyWorkers",
            "GracefulWorkers",
            "IdleWorkers",
            "Processes",
            "Stopping",
            "ConnsTotal",
            "Scoreboard",
            "StalledWorkers",
            "AcceptMisses",
            "LocalFaults",
            "LastLocalFault",
        ];
        assert_eq!(&keys[..server_keys.len()], &server_keys);
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
                .unwrap_or_else(|| panic!("no {k}"))
        };
        assert_eq!(
            get("ServerVersion"),
            format!("slotgate/{}", env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(get("ServerMPM"), "event");
        assert_eq!(get("CurrentTime"), "Monday, 23-Nov-2026 09:54:31 UTC");
        assert_eq!(get("RestartTime"), "Monday, 23-Nov-2026 09:52:51 UTC");
        assert_eq!(get("ParentServerConfigGeneration"), "3");
        assert_eq!(get("ServerUptimeSeconds"), "100");
        assert_eq!(get("ServerUptime"), "1 minute 40 seconds");
        assert_eq!(get("Total Accesses"), "15");
        assert_eq!(get("Total kBytes"), "6");
        assert_eq!(get("Uptime"), "100");
        assert_eq!(get("ReqPerSec"), "0.15");
        assert_eq!(get("BytesPerSec"), "61.44");
        assert_eq!(get("BytesPerReq"), "409.6");
        assert_eq!(get("BusyWorkers"), "2");
        assert_eq!(get("GracefulWorkers"), "1");
        assert_eq!(get("IdleWorkers"), "1");
        assert_eq!(get("Processes"), "4");
        assert_eq!(get("ConnsTotal"), "4");
        assert_eq!(get("Scoreboard"), "_WG.S");
        assert_eq!(get("StalledWorkers"), "0");
        assert_eq!(get("AcceptMisses"), "3");
        assert_eq!(get("LocalFaults"), "3");
        assert_eq!(get("LastLocalFault"), "Too many open files (os error 24)");

        // §6.6: the balancers in configuration order, then their members.
        let proxy: Vec<(String, String)> = pairs[server_keys.len()..].to_vec();
        let lines: Vec<String> = proxy.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        assert_eq!(
            lines,
            [
                "ProxyBalancer[0]Name: balancer://c",
                "ProxyBalancer[0]Worker[0]Name: http://127.0.0.1:9001",
                "ProxyBalancer[0]Worker[0]Status: Init Ok ",
                "ProxyBalancer[0]Worker[0]Elected: 7",
                "ProxyBalancer[0]Worker[0]Busy: 2",
                "ProxyBalancer[0]Worker[0]Sent: 3K",
                "ProxyBalancer[0]Worker[0]Rcvd: 20K",
                "ProxyBalancer[0]Worker[1]Name: http://127.0.0.1:9002",
                "ProxyBalancer[0]Worker[1]Status: Init Err ",
                "ProxyBalancer[0]Worker[1]Elected: 1",
                "ProxyBalancer[0]Worker[1]Busy: 0",
                "ProxyBalancer[0]Worker[1]Sent: 0K",
                "ProxyBalancer[0]Worker[1]Rcvd: 0K",
                "ProxyBalancer[1]Name: balancer://d",
                "ProxyBalancer[1]Worker[0]Name: http://[::1]:9004",
                "ProxyBalancer[1]Worker[0]Status: Init Stby Ok ",
                "ProxyBalancer[1]Worker[0]Elected: 0",
                "ProxyBalancer[1]Worker[0]Busy: 0",
                "ProxyBalancer[1]Worker[0]Sent: 0K",
                "ProxyBalancer[1]Worker[0]Rcvd: 0K",
            ]
        );
    }

    #[test]
    fn proxy_status_off_leaves_out_the_balancers() {
        let f = Fixture::new(&CONF.replace("ProxyStatus On", "ProxyStatus Off"), 2);
        let ctx = f.ctx(NOW_MS);
        let auto = String::from_utf8(serve(&get("GET", Some("auto")), &ctx).body).unwrap();
        assert!(auto.contains("Scoreboard: .."), "{auto}");
        assert!(!auto.contains("ProxyBalancer"), "{auto}");
        let html = String::from_utf8(serve(&get("GET", None), &ctx).body).unwrap();
        assert!(!html.contains("Proxy LoadBalancer Status"));
        let json: Value = serde_json::from_slice(&serve(&get("GET", Some("json")), &ctx).body)
            .expect("valid JSON");
        assert!(json.get("balancers").is_none());
    }

    #[test]
    fn an_unstarted_scoreboard_gives_zero_rates() {
        let f = Fixture::new("ProxyPass / http://127.0.0.1:9001/\n", 3);
        f.sb.header().set_start_time(0);
        let auto =
            String::from_utf8(serve(&get("GET", Some("auto")), &f.ctx(NOW_MS)).body).unwrap();
        for line in [
            "Total Accesses: 0",
            "Uptime: 0",
            "ReqPerSec: 0",
            "BytesPerSec: 0",
            "BytesPerReq: 0",
            "BusyWorkers: 0",
            "IdleWorkers: 0",
            "Processes: 0",
            "Scoreboard: ...",
        ] {
            assert!(auto.lines().any(|l| l == line), "{line} in {auto}");
        }
    }

    #[test]
    fn json_carries_the_same_data() {
        let f = Fixture::new(CONF, 5);
        fill(&f);
        let r = serve(&get("GET", Some("json")), &f.ctx(NOW_MS));
        assert_eq!(r.content_type, "application/json");
        let v: Value = serde_json::from_slice(&r.body).expect("valid JSON");
        assert_eq!(v["server_name"], "status.test");
        assert_eq!(v["server_mpm"], "event");
        assert_eq!(v["generation"], 3);
        assert_eq!(v["restarts"], 1);
        assert_eq!(v["uptime_seconds"], 100);
        assert_eq!(v["total_accesses"], 15);
        assert_eq!(v["total_bytes"], 6144);
        assert_eq!(v["total_kbytes"], 6);
        assert_eq!(v["req_per_sec"], 0.15);
        assert_eq!(v["busy_workers"], 2);
        assert_eq!(v["idle_workers"], 1);
        assert_eq!(v["graceful_workers"], 1);
        assert_eq!(v["processes"], 4);
        assert_eq!(v["connections"], 4);
        assert_eq!(v["scoreboard"], "_WG.S");
        let slots = v["process_slots"].as_array().unwrap();
        assert_eq!(slots.len(), 5);
        assert_eq!(slots[1]["pid"], 101);
        assert_eq!(slots[1]["state"], "W");
        assert_eq!(slots[1]["busy"], true);
        assert_eq!(slots[1]["requests"], 5);
        assert_eq!(slots[1]["bytes_out"], 2048);
        assert_eq!(slots[1]["bytes_in"], 1024);
        assert_eq!(slots[3]["state"], ".");
        let b = &v["balancers"][0];
        assert_eq!(b["name"], "balancer://c");
        assert_eq!(b["lbmethod"], "byrequests");
        assert_eq!(b["stickysession"], "JSESSIONID|jsessionid");
        let m = &b["members"];
        assert_eq!(m[0]["url"], "http://127.0.0.1:9001");
        assert_eq!(m[0]["host"], "127.0.0.1");
        assert_eq!(m[0]["scheme"], "http");
        assert_eq!(m[0]["route"], "a");
        assert_eq!(m[0]["elected"], 7);
        assert_eq!(m[0]["requests"], 7);
        assert_eq!(m[0]["busy"], 2);
        assert_eq!(m[0]["sent"], 3 * 1024 + 10);
        assert_eq!(m[0]["received"], 20 * 1024);
        assert_eq!(m[0]["usable"], true);
        assert_eq!(m[1]["lbfactor"], 2.5);
        assert_eq!(m[1]["redirect"], "a");
        assert_eq!(m[1]["status"], "Init Err");
        assert_eq!(m[1]["status_flags"], "OE");
        assert_eq!(m[1]["usable"], false);
        assert_eq!(v["balancers"][1]["members"][0]["host"], "::1");
    }

    #[test]
    fn a_worker_without_progress_shows_as_stalled_everywhere() {
        let f = Fixture::new(CONF, 5);
        fill(&f);
        let now = scoreboard::monotonic_ms();
        // Slot 0 (`_`) last turned its loop 42 s ago, slot 1 just now; slot 2
        // was never marked (a file of an older supervisor): not stalled.
        f.sb.process(0).mark_progress(now.saturating_sub(42_000));
        f.sb.process(1).mark_progress(now);
        let ctx = f.ctx(NOW_MS);
        let auto = String::from_utf8(serve(&get("GET", Some("auto")), &ctx).body).unwrap();
        assert!(auto.lines().any(|l| l == "StalledWorkers: 1"), "{auto}");
        assert!(
            auto.lines().any(|l| l == "Scoreboard: _WG.S"),
            "the letter stays what the worker last said: {auto}"
        );
        let v: Value =
            serde_json::from_slice(&serve(&get("GET", Some("json")), &ctx).body).unwrap();
        assert_eq!(v["stalled_workers"], 1);
        let slots = v["process_slots"].as_array().unwrap();
        let stalled = slots[0]["stalled_seconds"]
            .as_u64()
            .expect("slot 0 stalled");
        assert!((42..60).contains(&stalled), "{stalled}");
        assert_eq!(slots[1]["stalled_seconds"], Value::Null);
        assert_eq!(slots[2]["stalled_seconds"], Value::Null);
        let page = String::from_utf8(serve(&get("GET", None), &ctx).body).unwrap();
        assert!(page.contains("<b>1 stalled</b>"), "{page}");
        assert!(page.contains("): slot 0</dt>"), "{page}");
        let row = |pid: &str| {
            page.lines()
                .find(|l| l.contains(&format!("</td><td>{pid}</td><td>3</td>")))
                .unwrap_or_else(|| panic!("no row of pid {pid}: {page}"))
        };
        // The Stalled column: seconds for slot 0, "-" for slot 1.
        assert!(row("100").ends_with("s</b></td></tr>"), "{}", row("100"));
        assert!(row("101").ends_with("<td>-</td></tr>"), "{}", row("101"));
    }

    /// mod_headers' `%i` / `%b` count as this page does: of the five slots
    /// (`_WG.S`) one is idle (20 %) and two are busy (40 %).
    #[test]
    fn header_worker_shares_count_as_the_page() {
        let f = Fixture::new(CONF, 5);
        fill(&f);
        assert_eq!(crate::handlers::snapshot::worker_shares(&f.sb), (20, 40));
    }

    #[test]
    fn html_page_has_httpds_parts() {
        let f = Fixture::new(CONF, 5);
        fill(&f);
        let r = serve(&get("GET", Some("refresh=5")), &f.ctx(NOW_MS));
        assert_eq!(r.status, 200);
        assert_eq!(r.content_type, "text/html; charset=utf-8");
        assert_eq!(r.headers, [("Refresh".to_string(), "5".to_string())]);
        let page = String::from_utf8(r.body).unwrap();
        for part in [
            &format!("Server Version: slotgate/{}", env!("CARGO_PKG_VERSION")),
            "Server MPM: event",
            "Current Time: Monday, 23-Nov-2026 09:54:31 UTC",
            "Restart Time: Monday, 23-Nov-2026 09:52:51 UTC",
            "Parent Server Config. Generation: 3",
            "Server uptime:  1 minute 40 seconds",
            "Total accesses: 15 - Total Traffic: 6 kB",
            "0.15 requests/sec - 61 B/second - 409 B/request",
            "4 processes: 2 busy, 1 idle, 1 gracefully finishing; 4 connections open",
            "<pre>_WG.S</pre>",
            "\"<b><code>.</code></b>\" Open slot with no current process",
            "<tr><td>1</td><td>101</td><td>3</td><td><b>W</b></td><td>3</td>",
            "<h1>Proxy LoadBalancer Status for balancer://c</h1>",
            "<tr><td>JSESSIONID|jsessionid</td><td>0</td><td>byrequests</td></tr>",
            "<tr><td>http</td><td>127.0.0.1</td><td>Init Ok </td><td>a</td><td></td>\
             <td>1.00</td><td>0</td><td>7</td><td>2</td><td>3.0K</td><td>20K</td></tr>",
            "<tr><td>http</td><td>127.0.0.1</td><td>Init Err </td><td>b</td><td>a</td>\
             <td>2.50</td>",
            "<tr><td>http</td><td>::1</td><td>Init Stby Ok </td>",
            "<tr><th>Rd</th><td>Number of bytes read</td></tr>",
            "Server at status.test Port 8080",
        ] {
            assert!(page.contains(part), "missing {part:?} in\n{page}");
        }
        // The empty slot has no row.
        assert!(!page.contains("<tr><td>3</td>"));
    }

    #[test]
    fn only_get_and_head() {
        let f = Fixture::new(CONF, 1);
        let ctx = f.ctx(NOW_MS);
        assert_eq!(serve(&get("HEAD", Some("auto")), &ctx).status, 200);
        let r = serve(&get("POST", None), &ctx);
        assert_eq!(r.status, 405);
        assert_eq!(r.headers, [("Allow".to_string(), "GET, HEAD".to_string())]);
    }
}
