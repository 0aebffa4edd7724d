//! The balancer-manager (`SetHandler balancer-manager`, reference §6): httpd's
//! HTML page with its edit forms and request parameters, its `?xml=1` view,
//! and a JSON API for scripts. Every change goes through [`super::edit`], so
//! it is made in the shared scoreboard and every worker sees it at once.
//!
//! # Requests
//!
//! * `GET <location>`: the page. The query is read for `b`, `w`, `nonce` and
//!   `xml` only (§6.2); `b`/`w` select a balancer/member for the edit form.
//! * `POST <location>` (form-urlencoded): any parameter of §6.2. A change
//!   needs a `Referer` naming this server (else every parameter is dropped
//!   and the plain page is shown, as httpd does) **and** the balancer's
//!   `nonce`: a change with a missing or wrong nonce is refused with 403
//!   (httpd shows the page without applying it; we say so).
//! * JSON (`GET <location>?json`, or `Accept: application/json`): the whole
//!   state. `POST`/`PATCH` with `Content-Type: application/json` applies a
//!   change (see [`apply_json`]) and answers the new state; 400 with
//!   `{"error": …}` for bad input, 403 for a bad nonce. Scripts send no
//!   Referer, so JSON changes need only the nonce: the manager's `<Location>`
//!   must be protected with `Require` (as httpd's must).

use std::fmt::Write as _;

use scoreboard::{flags, Scoreboard};
use serde_json::{json, Map, Value};

use super::edit::{self, EditError};
use super::{persist, Context, Request, Response};
use crate::config::lbmethod::Method;
use crate::config::{HcExprDef, PassTarget};

const HTML: &str = "text/html; charset=utf-8";
const XML: &str = "text/xml; charset=utf-8";
const JSON: &str = "application/json";

/// The parameters a GET's query may carry (§6.2).
const QUERY_PARAMS: [&str; 4] = ["b", "w", "nonce", "xml"];

/// Serves one request to the manager.
pub fn serve(req: &Request, ctx: &Context) -> Response {
    let json_body = req
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("application/json"));
    match req.method {
        "GET" | "HEAD" | "POST" => {}
        "PATCH" if json_body => {}
        _ => {
            let mut r = Response::text(405, "the balancer-manager takes GET and POST");
            r.headers.push(("Allow".into(), "GET, POST, PATCH".into()));
            return r;
        }
    }
    if json_body && req.method != "GET" && req.method != "HEAD" {
        return match serde_json::from_slice::<Value>(req.body) {
            Ok(v) => json_change(&v, ctx),
            Err(e) => json_error(400, &format!("the body is not JSON: {e}")),
        };
    }
    let wants_json = req
        .query
        .is_some_and(|q| parse_form(q).iter().any(|(k, _)| k == "json"))
        || req
            .header("accept")
            .is_some_and(|a| a.to_ascii_lowercase().contains("application/json"));
    if wants_json && (req.method == "GET" || req.method == "HEAD") {
        return Response::new(200, JSON, pretty(&state_json(ctx)));
    }
    form_request(req, ctx)
}

// ---------------------------------------------------------------------------
// Parameters
// ---------------------------------------------------------------------------

/// `application/x-www-form-urlencoded` pairs, each key and value decoded
/// (`+` is a space), then the value once more (httpd decodes twice, §6.2).
pub fn parse_form(s: &str) -> Vec<(String, String)> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let k = percent_decode(&k.replace('+', " "));
            let v = percent_decode(&percent_decode(&v.replace('+', " ")));
            (k, v)
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// %-encodes everything but unreserved characters (for links).
fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || b"-._~".contains(&c) {
            out.push(c as char);
        } else {
            let _ = write!(out, "%{c:02X}");
        }
    }
    out
}

use crate::text::escape::{html as html_escape, xml as xml_escape};

/// The host of a `Referer` URL, lowercased, without user info, port or
/// brackets.
fn referer_host(referer: &str) -> Option<String> {
    let rest = referer.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    Some(strip_port(host_port).to_ascii_lowercase())
}

fn strip_port(host_port: &str) -> &str {
    if let Some(v6) = host_port.strip_prefix('[') {
        return v6.split(']').next().unwrap_or(v6);
    }
    host_port.rsplit_once(':').map_or(host_port, |(h, _)| h)
}

/// The CSRF Referer rule (§6.3): present, and its host equals the server
/// name or the request's Host, without case.
pub fn referer_ok(req: &Request) -> bool {
    let Some(host) = req.header("referer").as_deref().and_then(referer_host) else {
        return false;
    };
    if !host.is_empty() && host.eq_ignore_ascii_case(req.server_name) {
        return true;
    }
    req.header("host")
        .is_some_and(|h| !host.is_empty() && strip_port(h.trim()).eq_ignore_ascii_case(&host))
}

/// Whether `given` is the balancer's nonce (which must be non-empty:
/// `nonce=None` makes the manager read-only, §6.3).
pub fn nonce_ok(sb: &Scoreboard, balancer: usize, given: Option<&str>) -> bool {
    let Some(given) = given else {
        return false;
    };
    sb.balancer(balancer)
        .nonce
        .with(|n| !n.is_empty() && constant_time_eq(n.as_bytes(), given.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

struct Params(Vec<(String, String)>);

impl Params {
    fn get(&self, k: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
    }
    fn has_change(&self) -> bool {
        self.0
            .iter()
            .any(|(k, _)| !QUERY_PARAMS.contains(&k.as_str()))
    }
}

// ---------------------------------------------------------------------------
// HTML / XML requests
// ---------------------------------------------------------------------------

fn form_request(req: &Request, ctx: &Context) -> Response {
    let sb = ctx.scoreboard;
    let mut pairs: Vec<(String, String)> = req
        .query
        .map(parse_form)
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| QUERY_PARAMS.contains(&k.as_str()))
        .collect();
    if req.method == "POST" {
        // `Params::get` takes the first pair of a name: the body first.
        let mut body = parse_form(&String::from_utf8_lossy(req.body));
        body.append(&mut pairs);
        pairs = body;
    }
    if !pairs.is_empty() && !referer_ok(req) {
        log::info!(
            "balancer-manager: request with parameters but no Referer naming this server: parameters ignored"
        );
        pairs.clear();
    }
    let p = Params(pairs);
    let balancer = p.get("b").and_then(|b| edit::find_balancer(sb, b));
    let member = balancer.and_then(|b| p.get("w").and_then(|w| edit::find_member(sb, b, w)));
    let mut notes = Vec::new();
    let mut status = 200;

    if p.has_change() {
        let Some(b) = balancer else {
            let page = page(req, ctx, None, None, &["no balancer selected (b=)".into()]);
            return Response::new(400, HTML, page);
        };
        if !nonce_ok(sb, b, p.get("nonce")) {
            log::warn!(
                "balancer-manager: change to {} refused: missing or wrong nonce",
                sb.balancer(b).name.get()
            );
            let note = "change refused: missing or wrong nonce".to_string();
            return Response::new(403, HTML, page(req, ctx, Some(b), member, &[note]));
        }
        let exprs = &ctx.config.hc_exprs;
        let (changed, add_failed) = apply_form(sb, b, member, &p, exprs, &mut notes);
        if add_failed {
            status = 400;
        }
        if changed {
            persist::save_if_enabled(sb);
        }
    }
    if p.get("xml").is_some() {
        return Response::new(status, XML, xml(ctx));
    }
    Response::new(status, HTML, page(req, ctx, balancer, member, &notes))
}

/// Applies the form parameters of §6.2; invalid values are ignored (noted
/// for the page). `exprs` are the configuration's `ProxyHCExpr`s, which
/// `w_he` must name. Returns (anything changed, a member addition failed).
fn apply_form(
    sb: &Scoreboard,
    b: usize,
    member: Option<usize>,
    p: &Params,
    exprs: &[HcExprDef],
    notes: &mut Vec<String>,
) -> (bool, bool) {
    let mut changed = false;
    let mut extra = Vec::new();
    let mut note = |r: Result<(), EditError>, what: &str, changed: &mut bool| match r {
        Ok(()) => *changed = true,
        Err(e) => notes.push(format!("{what}: {e}")),
    };
    if let Some(m) = member {
        if let Some(v) = p.get("w_lf") {
            let r = v
                .trim()
                .parse::<f64>()
                .map_err(|_| EditError::Invalid(format!("'{v}' is not a number")))
                .and_then(|f| edit::set_loadfactor(sb, b, m, f));
            note(r, "loadfactor", &mut changed);
        }
        if let Some(v) = p.get("w_ls") {
            let r = parse_u32(v).and_then(|n| edit::set_lbset(sb, m, n));
            note(r, "lbset", &mut changed);
        }
        if let Some(v) = p.get("w_wr") {
            note(edit::set_route(sb, m, v), "route", &mut changed);
        }
        if let Some(v) = p.get("w_rr") {
            note(edit::set_redirect(sb, m, v), "redirect", &mut changed);
        }
        for letter in edit::EDITABLE_FLAGS {
            let key = format!("w_status_{letter}");
            let v = p
                .get(&key)
                .or_else(|| p.get(&format!("w_status_{}", letter.to_ascii_lowercase())));
            match v.map(str::trim) {
                Some("1") => note(
                    edit::set_status_flag(sb, b, m, letter, true),
                    &key,
                    &mut changed,
                ),
                Some("0") => note(
                    edit::set_status_flag(sb, b, m, letter, false),
                    &key,
                    &mut changed,
                ),
                _ => {}
            }
        }
        // The health check (w_hm w_hi w_hp w_hf w_hu w_he): each value
        // checked on its own (a bad one is noted and left out), the rest
        // applied together, so the method's rule on the expression holds.
        let mut hc = edit::HealthChange::default();
        let mut refused = Vec::new();
        let mut field =
            |key: &str, what: &str, set: &mut dyn FnMut(&str) -> Result<(), EditError>| {
                if let Some(e) = p.get(key).and_then(|v| set(v).err()) {
                    refused.push((what.to_string(), e));
                }
            };
        field("w_hm", "hcmethod", &mut |v| {
            hc.method = Some(edit::parse_hc_method(v)?);
            Ok(())
        });
        field("w_hi", "hcinterval", &mut |v| {
            hc.interval_ms = Some(edit::parse_hc_interval(v, edit::IntervalUnit::Millis)?);
            Ok(())
        });
        field("w_hp", "hcpasses", &mut |v| {
            hc.passes = Some(edit::parse_hc_count("hcpasses", v)?.into());
            Ok(())
        });
        field("w_hf", "hcfails", &mut |v| {
            hc.fails = Some(edit::parse_hc_count("hcfails", v)?.into());
            Ok(())
        });
        field("w_hu", "hcuri", &mut |v| {
            edit::check_hc_uri(v)?;
            hc.uri = Some(v.to_string());
            Ok(())
        });
        field("w_he", "hcexpr", &mut |v| {
            hc.expr = Some(edit::resolve_hc_expr(v, Some(exprs))?);
            Ok(())
        });
        for (what, e) in refused {
            note(Err(e), &what, &mut changed);
        }
        if !hc.is_empty() {
            note(
                edit::set_health(sb, m, &hc, Some(exprs)),
                "health check",
                &mut changed,
            );
        }
    } else if p.get("w").is_some() {
        extra.push(format!(
            "no member {} in this balancer",
            p.get("w").unwrap_or("")
        ));
    }
    if let Some(v) = p.get("b_lbm") {
        note(
            edit::set_lbmethod(sb, b, v.trim()),
            "lbmethod",
            &mut changed,
        );
    }
    if let Some(v) = p.get("b_tmo") {
        let r = parse_u32(v).and_then(|n| edit::set_timeout(sb, b, u64::from(n)));
        note(r, "timeout", &mut changed);
    }
    if let Some(v) = p.get("b_max") {
        let r = parse_u32(v).and_then(|n| edit::set_maxattempts(sb, b, n));
        note(r, "maxattempts", &mut changed);
    }
    if let Some(v) = p.get("b_sforce") {
        let r = match v.trim() {
            "1" => edit::set_nofailover(sb, b, true),
            "0" => edit::set_nofailover(sb, b, false),
            other => Err(EditError::Invalid(format!("'{other}' is not 0 or 1"))),
        };
        note(r, "nofailover", &mut changed);
    }
    if let Some(v) = p.get("b_ss") {
        note(edit::set_sticky(sb, b, v), "stickysession", &mut changed);
    }
    let mut add_failed = false;
    if let Some(url) = p.get("b_nwrkr").filter(|u| !u.trim().is_empty()) {
        if p.get("b_wyes") == Some("1") {
            match edit::add_member(sb, b, url) {
                Ok(_) => changed = true,
                Err(e) => {
                    add_failed = true;
                    extra.push(format!("adding member: {e}"));
                }
            }
        } else {
            extra.push("adding member: confirm with b_wyes=1".into());
        }
    }
    notes.append(&mut extra);
    (changed, add_failed)
}

fn parse_u32(v: &str) -> Result<u32, EditError> {
    v.trim()
        .parse::<u32>()
        .map_err(|_| EditError::Invalid(format!("'{v}' is not a whole number")))
}

/// `[vhost -> ]path` of every ProxyPass leading to the balancer.
fn paths_of(ctx: &Context, full: &str) -> String {
    let leads = |t: &PassTarget| match t {
        PassTarget::Url(u) => u == full || u.starts_with(&format!("{full}/")),
        PassTarget::Exclude => false,
    };
    let mut out: Vec<String> = ctx
        .config
        .proxy_pass
        .iter()
        .filter(|r| leads(&r.target))
        .map(|r| r.path.clone())
        .collect();
    for v in &ctx.config.vhosts {
        for r in v.proxy_pass.iter().filter(|r| leads(&r.target)) {
            out.push(format!(
                "{} -> {}",
                v.server_name.as_deref().unwrap_or("*"),
                r.path
            ));
        }
    }
    out.join(", ")
}

fn factor(lbfactor: u32) -> String {
    format!("{:.2}", f64::from(lbfactor) / 100.0)
}

/// The HTML page (§6.1), with the edit form of the selected balancer or
/// member.
fn page(
    req: &Request,
    ctx: &Context,
    selected: Option<usize>,
    member: Option<usize>,
    notes: &[String],
) -> String {
    let sb = ctx.scoreboard;
    let cfg = ctx.config;
    let action = html_escape(req.location);
    let mut h = String::new();
    let server = html_escape(req.server_name);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\
         <title>Balancer Manager</title>\n<style>\
         table{{border-collapse:collapse}}th,td{{border:1px solid #999;padding:2px 6px;text-align:left}}\
         th{{background:#ddd}}.note{{color:#a00}}</style></head>\n<body>\n\
         <h1>Load Balancer Manager for {server}</h1>\n\
         <dl><dt>Server Version: slotgate/{}</dt>\n\
         <dt>Balancer changes will {}be persisted on restart.</dt>\n\
         <dt>Balancers are inherited from main server.</dt>\n\
         <dt>ProxyPass settings are {}inherited from main server.</dt></dl>\n",
        env!("CARGO_PKG_VERSION"),
        if cfg.balancer_persist { "" } else { "NOT " },
        if cfg.vhosts.iter().all(|v| v.proxy_pass_inherit) {
            ""
        } else {
            "NOT "
        },
    );
    for n in notes {
        let _ = writeln!(h, "<p class=\"note\">{}</p>", html_escape(n));
    }
    for b in edit::balancers(sb) {
        let slot = sb.balancer(b);
        let full = slot.name.get();
        let short = edit::short_name(&full).to_string();
        let nonce = slot.nonce.get();
        let link = format!(
            "{}?b={}&amp;nonce={}",
            action,
            url_encode(&short),
            url_encode(&nonce)
        );
        let members = edit::members_of(sb, b);
        let sticky = edit::sticky_display(sb, b);
        let _ = write!(
            h,
            "<hr />\n<h3>LoadBalancer Status for <a href=\"{link}\">{}</a> [{}]</h3>\n\
             <table><tr><th>MaxMembers</th><th>StickySession</th><th>DisableFailover</th>\
             <th>Timeout</th><th>FailoverAttempts</th><th>Method</th><th>Path</th><th>Active</th></tr>\n\
             <tr><td>{} [{} Used]</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>Yes</td></tr>\n</table>\n",
            html_escape(&full),
            html_escape(&format!("slotgate-balancer-{b}")),
            slot.max_members(),
            members.len(),
            if sticky.is_empty() {
                "(None)".to_string()
            } else {
                html_escape(&sticky.replace('|', " | "))
            },
            if slot.nofailover() { "On" } else { "Off" },
            slot.timeout_ms() / 1000,
            slot.max_attempts(),
            html_escape(&edit::method_of(sb, b).to_string()),
            html_escape(&paths_of(ctx, &full)),
        );
        h.push_str(
            "<br />\n<table><tr><th>Worker URL</th><th>Route</th><th>RouteRedir</th>\
             <th>Factor</th><th>Set</th><th>Status</th><th>Elected</th><th>Busy</th>\
             <th>Load</th><th>To</th><th>From</th><th>HC Method</th><th>HC Interval</th>\
             <th>Passes</th><th>Fails</th><th>HC uri</th><th>HC Expr</th>\
             <th>HC Last</th><th>HC Result</th></tr>\n",
        );
        for &m in &members {
            let ms = sb.member(m);
            let url = ms.url.get();
            let _ = writeln!(
                h,
                "<tr><td><a href=\"{action}?b={}&amp;w={}&amp;nonce={}\">{}</a></td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td>{}</tr>",
                url_encode(&short),
                url_encode(&url),
                url_encode(&nonce),
                html_escape(&url),
                html_escape(&ms.route.get()),
                html_escape(&ms.redirect.get()),
                factor(ms.lbfactor()),
                ms.lbset(),
                html_escape(&flags::display(ms.status())),
                ms.elected(),
                ms.busy(),
                ms.lbstatus(),
                crate::text::size::strfsize(ms.transferred()),
                crate::text::size::strfsize(ms.read()),
                hc_cells(ms),
            );
        }
        h.push_str("</table>\n");
        if selected != Some(b) {
            continue;
        }
        let hidden = |w: Option<&str>| {
            let mut s = format!(
                "<input type=\"hidden\" name=\"b\" value=\"{}\">\n\
                 <input type=\"hidden\" name=\"nonce\" value=\"{}\">\n",
                html_escape(&short),
                html_escape(&nonce)
            );
            if let Some(w) = w {
                let _ = writeln!(
                    s,
                    "<input type=\"hidden\" name=\"w\" value=\"{}\">",
                    html_escape(w)
                );
            }
            s
        };
        if let Some(m) = member {
            let ms = sb.member(m);
            let url = ms.url.get();
            let status = ms.status();
            let _ = write!(
                h,
                "<hr />\n<h3>Edit worker settings for {}</h3>\n\
                 <form method=\"POST\" enctype=\"application/x-www-form-urlencoded\" action=\"{action}\">\n\
                 <table><tr><th>Load factor:</th><td><input name=\"w_lf\" id=\"w_lf\" type=text size=3 value=\"{}\"></td></tr>\n\
                 <tr><th>LB Set:</th><td><input name=\"w_ls\" id=\"w_ls\" type=text size=3 value=\"{}\"></td></tr>\n\
                 <tr><th>Route:</th><td><input name=\"w_wr\" id=\"w_wr\" type=text size=20 value=\"{}\"></td></tr>\n\
                 <tr><th>Route Redirect:</th><td><input name=\"w_rr\" id=\"w_rr\" type=text size=20 value=\"{}\"></td></tr>\n",
                html_escape(&url),
                factor(ms.lbfactor()),
                ms.lbset(),
                html_escape(&ms.route.get()),
                html_escape(&ms.redirect.get()),
            );
            for (letter, label) in [
                ('I', "Ignore Errors"),
                ('N', "Draining Mode"),
                ('D', "Disabled"),
                ('H', "Hot Standby"),
                ('R', "Hot Spare"),
                ('S', "Stopped"),
                ('C', "Health Check Failed"),
            ] {
                let on = status & flags::from_letter(letter).unwrap_or(0) != 0;
                let _ = writeln!(
                    h,
                    "<tr><th>{label}:</th><td>\
                     <label><input name=\"w_status_{letter}\" id=\"w_status_{letter}_on\" type=radio value=\"1\"{}> On</label> \
                     <label><input name=\"w_status_{letter}\" id=\"w_status_{letter}_off\" type=radio value=\"0\"{}> Off</label></td></tr>",
                    if on { " checked" } else { "" },
                    if on { "" } else { " checked" },
                );
            }
            health_form(&mut h, &edit::health_of(sb, m), &cfg.hc_exprs);
            let _ = write!(
                h,
                "<tr><td colspan=2><input type=submit id=\"submit\" value=\"Submit\"></td></tr></table>\n{}</form>\n",
                hidden(Some(&url))
            );
        } else {
            let method = edit::method_of(sb, b);
            let _ = write!(
                h,
                "<hr />\n<h3>Edit balancer settings for {}</h3>\n\
                 <form method=\"POST\" enctype=\"application/x-www-form-urlencoded\" action=\"{action}\">\n\
                 <table><tr><th>LBmethod:</th><td><select name=\"b_lbm\" id=\"b_lbm\">",
                html_escape(&full)
            );
            for name in Method::ALL {
                let _ = write!(
                    h,
                    "<option value=\"{name}\"{}>{name}</option>",
                    if name == method.name() {
                        " selected"
                    } else {
                        ""
                    }
                );
            }
            let nofailover = slot.nofailover();
            let _ = write!(
                h,
                "</select></td></tr>\n\
                 <tr><th>Timeout:</th><td><input name=\"b_tmo\" id=\"b_tmo\" type=text size=5 value=\"{}\"></td></tr>\n\
                 <tr><th>Failover Attempts:</th><td><input name=\"b_max\" id=\"b_max\" type=text size=3 value=\"{}\"></td></tr>\n\
                 <tr><th>Disable Failover:</th><td>\
                 <label><input name=\"b_sforce\" type=radio value=\"1\"{}> On</label> \
                 <label><input name=\"b_sforce\" type=radio value=\"0\"{}> Off</label></td></tr>\n\
                 <tr><th>Sticky Session:</th><td><input name=\"b_ss\" id=\"b_ss\" type=text size=20 value=\"{}\"> (Use '-' to delete)</td></tr>\n\
                 <tr><th>Add New Worker:</th><td><input name=\"b_nwrkr\" id=\"b_nwrkr\" type=text size=32 value=\"\"> \
                 Are you sure? <input name=\"b_wyes\" id=\"b_wyes\" type=checkbox value=\"1\"></td></tr>\n\
                 <tr><td colspan=2><input type=submit id=\"submit\" value=\"Submit\"></td></tr></table>\n{}</form>\n",
                slot.timeout_ms() / 1000,
                slot.max_attempts(),
                if nofailover { " checked" } else { "" },
                if nofailover { "" } else { " checked" },
                html_escape(&if sticky.is_empty() { "-".to_string() } else { sticky.clone() }),
                hidden(None)
            );
        }
    }
    h.push_str("<hr />\n</body></html>\n");
    h
}

/// The health-check rows of the member edit form (§6.2 `w_hm` … `w_he`):
/// a select of the methods, a select of the defined expressions (plus the
/// member's own name when it is not defined: submitting it then says so),
/// and inputs for the interval (ms), passes, fails and uri.
fn health_form(h: &mut String, hc: &edit::HealthSettings, exprs: &[HcExprDef]) {
    let selected = |on: bool| if on { " selected" } else { "" };
    h.push_str("<tr><th>HC Method:</th><td><select name=\"w_hm\" id=\"w_hm\">");
    for name in edit::hc_method_names() {
        let _ = write!(
            h,
            "<option value=\"{name}\"{}>{name}</option>",
            selected(name == hc.method.name())
        );
    }
    h.push_str("</select></td></tr>\n");
    let _ = write!(
        h,
        "<tr><th>HC Expr:</th><td><select name=\"w_he\" id=\"w_he\">\
         <option value=\"\"{}>(none)</option>",
        selected(hc.expr.is_empty())
    );
    for def in exprs {
        let _ = write!(
            h,
            "<option value=\"{0}\"{1}>{0}</option>",
            html_escape(&def.name),
            selected(def.name == hc.expr)
        );
    }
    if !hc.expr.is_empty() && !exprs.iter().any(|d| d.name == hc.expr) {
        let _ = write!(
            h,
            "<option value=\"{0}\" selected>{0} (not defined)</option>",
            html_escape(&hc.expr)
        );
    }
    h.push_str("</select> (HTTP methods only)</td></tr>\n");
    for (key, label, size, value) in [
        ("w_hi", "HC Interval (ms)", 6, hc.interval_ms.to_string()),
        ("w_hp", "HC Passes", 3, hc.passes.to_string()),
        ("w_hf", "HC Fails", 3, hc.fails.to_string()),
        ("w_hu", "HC uri", 30, hc.uri.clone()),
    ] {
        let _ = writeln!(
            h,
            "<tr><th>{label}:</th><td><input name=\"{key}\" id=\"{key}\" type=text size={size} value=\"{}\"></td></tr>",
            html_escape(&value)
        );
    }
}

/// httpd's XML view (§6.5).
fn xml(ctx: &Context) -> String {
    let sb = ctx.scoreboard;
    let mut x = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" ?>\n\
         <httpd:manager xmlns:httpd=\"http://httpd.apache.org\">\n  <httpd:balancers>\n",
    );
    let tag = |x: &mut String, indent: usize, name: &str, v: &str| {
        let _ = writeln!(
            x,
            "{:indent$}<httpd:{name}>{}</httpd:{name}>",
            "",
            xml_escape(v)
        );
    };
    for b in edit::balancers(sb) {
        let slot = sb.balancer(b);
        x.push_str("    <httpd:balancer>\n");
        tag(&mut x, 6, "name", &slot.name.get());
        tag(&mut x, 6, "nonce", &slot.nonce.get());
        let sticky = edit::sticky_display(sb, b);
        if !sticky.is_empty() {
            tag(&mut x, 6, "stickysession", &sticky);
            tag(
                &mut x,
                6,
                "nofailover",
                if slot.nofailover() { "On" } else { "Off" },
            );
        }
        tag(
            &mut x,
            6,
            "timeout",
            &(slot.timeout_ms() / 1000).to_string(),
        );
        tag(&mut x, 6, "maxattempts", &slot.max_attempts().to_string());
        tag(&mut x, 6, "lbmethod", edit::method_of(sb, b).name());
        if !sticky.is_empty() {
            let scolon = ctx
                .routes
                .balancers
                .iter()
                .find(|rb| rb.spec.slot == b)
                .is_some_and(|rb| rb.spec.scolon_path_delim);
            tag(
                &mut x,
                6,
                "scolonpathdelim",
                if scolon { "On" } else { "Off" },
            );
        }
        x.push_str("      <httpd:workers>\n");
        for m in edit::members_of(sb, b) {
            let ms = sb.member(m);
            let url = ms.url.get();
            let parsed = crate::url::parse_member_url(&url).ok();
            let pool = ctx
                .routes
                .members
                .iter()
                .find(|rm| rm.slot == m)
                .map(|rm| &rm.pool);
            x.push_str("        <httpd:worker>\n");
            let i = 10;
            tag(&mut x, i, "name", &url);
            tag(
                &mut x,
                i,
                "scheme",
                parsed.as_ref().map_or("", |p| &p.scheme),
            );
            tag(
                &mut x,
                i,
                "hostname",
                parsed.as_ref().map_or("", |p| &p.host),
            );
            tag(&mut x, i, "loadfactor", &factor(ms.lbfactor()));
            tag(
                &mut x,
                i,
                "port",
                &parsed.as_ref().map_or(0, |p| p.port).to_string(),
            );
            tag(&mut x, i, "min", &pool.map_or(0, |p| p.min).to_string());
            tag(&mut x, i, "smax", &pool.map_or(0, |p| p.smax).to_string());
            tag(&mut x, i, "max", &pool.map_or(0, |p| p.max).to_string());
            let ttl = pool.and_then(|p| p.ttl).map_or(0, |t| t.as_secs());
            tag(&mut x, i, "ttl", &ttl.to_string());
            tag(&mut x, i, "status", &flags::display(ms.status()));
            tag(&mut x, i, "retries", &ms.retries().to_string());
            tag(&mut x, i, "lbstatus", &ms.lbstatus().to_string());
            tag(&mut x, i, "loadfactor", &factor(ms.lbfactor()));
            tag(&mut x, i, "transferred", &ms.transferred().to_string());
            tag(&mut x, i, "read", &ms.read().to_string());
            tag(&mut x, i, "elected", &ms.elected().to_string());
            tag(&mut x, i, "route", &ms.route.get());
            tag(&mut x, i, "redirect", &ms.redirect.get());
            tag(&mut x, i, "busy", &ms.busy().to_string());
            tag(&mut x, i, "lbset", &ms.lbset().to_string());
            x.push_str("        </httpd:worker>\n");
        }
        x.push_str("      </httpd:workers>\n    </httpd:balancer>\n");
    }
    x.push_str("  </httpd:balancers>\n</httpd:manager>\n");
    x
}

// ---------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------

fn pretty(v: &Value) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).unwrap_or_default();
    out.push(b'\n');
    out
}

fn json_error(status: u16, msg: &str) -> Response {
    Response::new(status, JSON, pretty(&json!({ "error": msg })))
}

/// The health-check cells of a member row (§6.1): method, interval (ms),
/// `hcpasses (pcount)`, `hcfails (fcount)`, uri, expression, then slotgate's
/// last check time (UTC) and result text.
fn hc_cells(ms: &scoreboard::MemberSlot) -> String {
    let hc = super::snapshot::Health::of(ms);
    let last = match hc.last_check_ms {
        0 => "-".to_string(),
        t => super::snapshot::http_time(t / 1000),
    };
    format!(
        "<td>{}</td><td>{}</td><td>{} ({})</td><td>{} ({})</td><td>{}</td><td>{}</td>\
         <td>{}</td><td>{}</td>",
        hc.method_name(),
        hc.interval_ms,
        hc.passes,
        ms.hc_pcount(),
        hc.fails,
        ms.hc_fcount(),
        html_escape(&hc.uri),
        html_escape(&hc.expr),
        html_escape(&last),
        html_escape(&hc.reason),
    )
}

/// One member as JSON.
pub fn member_json(sb: &Scoreboard, m: usize) -> Value {
    let ms = sb.member(m);
    let status = ms.status();
    let mut flag_map = Map::new();
    for (bit, letter, _) in flags::TABLE {
        flag_map.insert(letter.to_string(), Value::Bool(status & bit != 0));
    }
    json!({
        "url": ms.url.get(),
        "slot": m,
        "route": ms.route.get(),
        "redirect": ms.redirect.get(),
        "loadfactor": f64::from(ms.lbfactor()) / 100.0,
        "lbset": ms.lbset(),
        "status": flags::display(status).trim_end(),
        "flags": Value::Object(flag_map),
        "usable": flags::is_usable(status),
        "elected": ms.elected(),
        "busy": ms.busy(),
        "lbstatus": ms.lbstatus(),
        "transferred": ms.transferred(),
        "read": ms.read(),
        "requests": ms.requests(),
        "errors": ms.errors(),
        "error_time_ms": ms.error_time(),
        "latency_ewma_us": ms.latency_ewma_us(),
        "health": health_json(ms),
    })
}

/// A member's health check as JSON: settings, counters and last result.
pub fn health_json(ms: &scoreboard::MemberSlot) -> Value {
    let hc = super::snapshot::Health::of(ms);
    json!({
        "method": hc.method_name(),
        "interval_ms": hc.interval_ms,
        "passes": hc.passes,
        "fails": hc.fails,
        "uri": hc.uri,
        "expr": hc.expr,
        "pcount": ms.hc_pcount(),
        "fcount": ms.hc_fcount(),
        "last_check_ms": hc.last_check_ms,
        "passed": hc.result.map(|(p, _)| p),
        "status": hc.result.map(|(_, s)| s).filter(|&s| s != 0),
        "reason": hc.reason,
        "failed": ms.status() & flags::HC_FAILED != 0,
    })
}

/// One balancer (with its members) as JSON.
pub fn balancer_json(sb: &Scoreboard, b: usize) -> Value {
    let slot = sb.balancer(b);
    let full = slot.name.get();
    let (cookie, param) = edit::sticky_of(sb, b);
    let members: Vec<Value> = edit::members_of(sb, b)
        .into_iter()
        .map(|m| member_json(sb, m))
        .collect();
    json!({
        "name": full,
        "b": edit::short_name(&full),
        "nonce": slot.nonce.get(),
        "lbmethod": edit::method_of(sb, b).name(),
        "timeout": slot.timeout_ms() / 1000,
        "maxattempts": slot.max_attempts(),
        "nofailover": slot.nofailover(),
        "stickysession": edit::sticky_display(sb, b),
        "sticky_cookie": cookie,
        "sticky_param": param,
        "max_members": slot.max_members(),
        "used_members": members.len(),
        "members": members,
    })
}

/// The whole state: `{"server", "persist", "balancers": [...]}`.
pub fn state_json(ctx: &Context) -> Value {
    let sb = ctx.scoreboard;
    let balancers: Vec<Value> = edit::balancers(sb)
        .into_iter()
        .map(|b| balancer_json(sb, b))
        .collect();
    json!({
        "server": ctx.config.server_name,
        "version": format!("slotgate/{}", env!("CARGO_PKG_VERSION")),
        "persist": ctx.config.balancer_persist,
        "balancers": balancers,
    })
}

/// A JSON change failed: the status and the message.
#[derive(Debug, PartialEq, Eq)]
pub struct JsonError(pub u16, pub String);

fn bad(msg: impl Into<String>) -> JsonError {
    JsonError(400, msg.into())
}

impl From<EditError> for JsonError {
    fn from(e: EditError) -> JsonError {
        bad(e.to_string())
    }
}

/// Applies a JSON change:
///
/// ```json
/// {"balancer": "mycluster", "nonce": "…", "member": "http://h:8080",
///  "loadfactor": 3, "lbset": 0, "route": "r1", "redirect": "",
///  "status": {"D": true, "N": false},
///  "health": {"method": "GET", "interval_ms": 500, "passes": 2, "fails": 2,
///             "uri": "/health", "expr": "ok"}}
/// {"balancer": "mycluster", "nonce": "…", "lbmethod": "bybusyness",
///  "timeout": 5, "maxattempts": 2, "nofailover": true,
///  "stickysession": "JSESSIONID|jsessionid", "add_member": "http://h:8081"}
/// ```
///
/// `balancer` and `nonce` are required; member fields need `member`.
/// `health` takes any of its six fields (`w_hm w_hi w_hp w_hf w_hu w_he`:
/// the interval in milliseconds; `expr` must name one of `exprs`, the
/// configuration's `ProxyHCExpr`s, or be empty to clear it; methods NONE
/// and TCP clear it) and applies them together, or none of them.
/// Fields are checked (names and types) before anything is applied, then
/// applied in the order above; a value the edit refuses (out of range)
/// stops there with 400, earlier fields staying applied.
pub fn apply_json(sb: &Scoreboard, v: &Value, exprs: &[HcExprDef]) -> Result<(), JsonError> {
    let obj = v
        .as_object()
        .ok_or_else(|| bad("the body must be a JSON object"))?;
    const MEMBER_KEYS: [&str; 6] = [
        "loadfactor",
        "lbset",
        "route",
        "redirect",
        "status",
        "health",
    ];
    const BALANCER_KEYS: [&str; 6] = [
        "lbmethod",
        "timeout",
        "maxattempts",
        "nofailover",
        "stickysession",
        "add_member",
    ];
    for k in obj.keys() {
        if !["balancer", "nonce", "member"].contains(&k.as_str())
            && !MEMBER_KEYS.contains(&k.as_str())
            && !BALANCER_KEYS.contains(&k.as_str())
        {
            return Err(bad(format!("unknown field '{k}'")));
        }
    }
    let str_field = |k: &str| -> Result<Option<&str>, JsonError> {
        match obj.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(bad(format!("'{k}' must be a string"))),
        }
    };
    let num_field = |k: &str| -> Result<Option<f64>, JsonError> {
        match obj.get(k) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_f64()
                .map(Some)
                .ok_or_else(|| bad(format!("'{k}' must be a number"))),
            Some(_) => Err(bad(format!("'{k}' must be a number"))),
        }
    };
    let uint_field = |k: &str| -> Result<Option<u64>, JsonError> {
        match obj.get(k) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| bad(format!("'{k}' must be a whole number ≥ 0"))),
        }
    };
    let name = str_field("balancer")?.ok_or_else(|| bad("'balancer' is required"))?;
    let b = edit::find_balancer(sb, name)
        .ok_or_else(|| JsonError(404, format!("no balancer named {name}")))?;
    if !nonce_ok(sb, b, str_field("nonce")?) {
        return Err(JsonError(403, "missing or wrong nonce".into()));
    }
    let member = match str_field("member")? {
        Some(w) => Some(
            edit::find_member(sb, b, w)
                .ok_or_else(|| JsonError(404, format!("no member {w} in {name}")))?,
        ),
        None => None,
    };
    if member.is_none() {
        if let Some(k) = MEMBER_KEYS.iter().find(|k| obj.contains_key(**k)) {
            return Err(bad(format!("'{k}' needs 'member'")));
        }
    }
    // Type checks of everything before the first change.
    let lf = num_field("loadfactor")?;
    let lbset = uint_field("lbset")?;
    let route = str_field("route")?;
    let redirect = str_field("redirect")?;
    let mut status = Vec::new();
    if let Some(s) = obj.get("status") {
        let s = s
            .as_object()
            .ok_or_else(|| bad("'status' must be an object of letter: true|false"))?;
        for (k, v) in s {
            let mut chars = k.chars();
            let (Some(letter), None) = (chars.next(), chars.next()) else {
                return Err(bad(format!("status: '{k}' is not a flag letter")));
            };
            if !edit::EDITABLE_FLAGS.contains(&letter.to_ascii_uppercase()) {
                return Err(bad(format!(
                    "status: flag {k} cannot be changed (one of {})",
                    edit::editable_letters()
                )));
            }
            let on = v
                .as_bool()
                .ok_or_else(|| bad(format!("status: '{k}' must be true or false")))?;
            status.push((letter, on));
        }
    }
    let health = match obj.get("health") {
        None => None,
        Some(h) => Some(health_change(h)?),
    };
    let lbmethod = str_field("lbmethod")?;
    let timeout = uint_field("timeout")?;
    let maxattempts = uint_field("maxattempts")?;
    let nofailover = match obj.get("nofailover") {
        None => None,
        Some(Value::Bool(on)) => Some(*on),
        Some(_) => return Err(bad("'nofailover' must be true or false")),
    };
    let sticky = str_field("stickysession")?;
    let add = str_field("add_member")?;
    if let Some(l) = lbmethod {
        if Method::from_name(l).is_none() {
            return Err(bad(format!(
                "unknown lbmethod '{l}' (one of {})",
                Method::ALL.join(", ")
            )));
        }
    }

    if let Some(m) = member {
        if let Some(f) = lf {
            edit::set_loadfactor(sb, b, m, f)?;
        }
        if let Some(n) = lbset {
            edit::set_lbset(sb, m, u32::try_from(n).unwrap_or(u32::MAX))?;
        }
        if let Some(r) = route {
            edit::set_route(sb, m, r)?;
        }
        if let Some(r) = redirect {
            edit::set_redirect(sb, m, r)?;
        }
        for (letter, on) in status {
            edit::set_status_flag(sb, b, m, letter, on)?;
        }
        if let Some(hc) = health {
            edit::set_health(sb, m, &hc, Some(exprs))?;
        }
    }
    if let Some(l) = lbmethod {
        edit::set_lbmethod(sb, b, l)?;
    }
    if let Some(t) = timeout {
        edit::set_timeout(sb, b, t)?;
    }
    if let Some(n) = maxattempts {
        edit::set_maxattempts(sb, b, u32::try_from(n).unwrap_or(u32::MAX))?;
    }
    if let Some(on) = nofailover {
        edit::set_nofailover(sb, b, on)?;
    }
    if let Some(s) = sticky {
        edit::set_sticky(sb, b, s)?;
    }
    if let Some(url) = add {
        edit::add_member(sb, b, url)?;
    }
    Ok(())
}

/// The `health` object of a JSON change: names and types checked, values
/// parsed (their ranges are [`edit::set_health`]'s).
fn health_change(v: &Value) -> Result<edit::HealthChange, JsonError> {
    const KEYS: [&str; 6] = ["method", "interval_ms", "passes", "fails", "uri", "expr"];
    let obj = v
        .as_object()
        .ok_or_else(|| bad(format!("'health' must be an object of {}", KEYS.join(", "))))?;
    if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(bad(format!(
            "health: unknown field '{k}' (one of {})",
            KEYS.join(", ")
        )));
    }
    let text = |k: &str| -> Result<Option<String>, JsonError> {
        match obj.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad(format!("health: '{k}' must be a string"))),
        }
    };
    let number = |k: &str| -> Result<Option<u64>, JsonError> {
        match obj.get(k) {
            None => Ok(None),
            Some(v) => v
                .as_u64()
                .map(Some)
                .ok_or_else(|| bad(format!("health: '{k}' must be a whole number ≥ 0"))),
        }
    };
    let method = match text("method")? {
        Some(m) => Some(edit::parse_hc_method(&m)?),
        None => None,
    };
    Ok(edit::HealthChange {
        method,
        interval_ms: number("interval_ms")?,
        passes: number("passes")?,
        fails: number("fails")?,
        uri: text("uri")?,
        expr: text("expr")?,
    })
}

fn json_change(v: &Value, ctx: &Context) -> Response {
    match apply_json(ctx.scoreboard, v, &ctx.config.hc_exprs) {
        Ok(()) => {
            persist::save_if_enabled(ctx.scoreboard);
            Response::new(200, JSON, pretty(&state_json(ctx)))
        }
        Err(JsonError(status, msg)) => {
            if status == 403 {
                log::warn!("balancer-manager: JSON change refused: {msg}");
            }
            json_error(status, &msg)
        }
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod health_tests;
