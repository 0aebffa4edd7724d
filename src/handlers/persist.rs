//! `BalancerPersist On`: the run-time settings of every balancer and member,
//! members added through the manager included, kept across restarts in a
//! file beside the scoreboard (`<scoreboard>.persist`).
//!
//! * [`save`] writes the file atomically (a temp file in the same directory,
//!   fsync, rename). The balancer-manager and `slotgate-top set …` call
//!   [`save_if_enabled`] after every successful change; the supervisor marks
//!   every balancer slot with [`PERSIST_FLAG`] when `BalancerPersist On`, so a
//!   tool that only has the scoreboard knows whether to save.
//! * At start the supervisor [`load`]s the file and [`apply`]s it after it
//!   placed the configuration in the slots: the saved values win over the
//!   configuration's, as in httpd (delete the file to make the configuration
//!   authoritative again). Balancers or members no longer configured are
//!   skipped, except members added at run time, which are added again (they
//!   need room: the balancer's `growth`).
//! * At a restart (HUP/USR1) only the added members are restored
//!   ([`apply`] with `only_added`): the configuration's values were just
//!   re-read and the kept slots hold everything else.
//!
//! The format is JSON, one object per balancer with its members:
//!
//! ```json
//! {"format": 1, "balancers": [{"name": "balancer://app", "lbmethod": "byrequests",
//!   "timeout_ms": 0, "maxattempts": 1, "nofailover": false,
//!   "sticky": "JSESSIONID", "sticky_path": "jsessionid",
//!   "members": [{"url": "http://10.0.0.1:8080", "route": "n1", "redirect": "",
//!                "lbfactor": 100, "lbset": 0, "flags": "D", "added": false,
//!                "health": {"method": "GET", "interval_ms": 500, "passes": 2,
//!                           "fails": 2, "uri": "/health", "expr": "ok"}}]}]}
//! ```
//!
//! `flags` holds only the letters the manager may change (I N D H R S C):
//! an error state (E) is never persisted; neither are health-check results
//! (C is, as the manager may set it). `health` holds the member's check
//! settings; a file without it (written before health checks could be
//! changed at run time) leaves them as configured. An `expr` that names no
//! `ProxyHCExpr` of the new configuration is not restored (the rest of the
//! check is).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use scoreboard::{flags, Scoreboard};
use serde_json::{json, Value};

use super::edit;
use crate::config::HcExprDef;

/// Balancer slot flag bit set by the supervisor on every balancer when
/// `BalancerPersist On`: manager and `slotgate-top` changes are saved.
pub const PERSIST_FLAG: u32 = 0x1;

/// The file format's version.
const FORMAT: u64 = 1;

/// The persist file of a scoreboard file: `<scoreboard>.persist`.
pub fn path_for(scoreboard: &Path) -> PathBuf {
    let mut p = scoreboard.as_os_str().to_owned();
    p.push(".persist");
    PathBuf::from(p)
}

/// Whether the supervisor asked for persistence (any balancer slot in use
/// carries [`PERSIST_FLAG`]).
pub fn enabled(sb: &Scoreboard) -> bool {
    sb.balancers()
        .iter()
        .any(|b| b.in_use() && b.flags() & PERSIST_FLAG != 0)
}

/// [`save`] to [`path_for`] the scoreboard when [`enabled`]; a failure is
/// logged, never fatal (the change itself is made).
pub fn save_if_enabled(sb: &Scoreboard) {
    if !enabled(sb) {
        return;
    }
    let path = path_for(sb.path());
    if let Err(e) = save(sb, &path) {
        log::error!("BalancerPersist: writing {}: {e}", path.display());
    }
}

/// The editable status bits (I N D H R S C).
fn editable_bits() -> u32 {
    edit::EDITABLE_FLAGS
        .iter()
        .filter_map(|&l| flags::from_letter(l))
        .fold(0, |a, b| a | b)
}

/// The persisted state of the scoreboard.
pub fn snapshot(sb: &Scoreboard) -> Value {
    let mask = editable_bits();
    let balancers: Vec<Value> = edit::balancers(sb)
        .into_iter()
        .map(|b| {
            let slot = sb.balancer(b);
            let members: Vec<Value> = edit::members_of(sb, b)
                .into_iter()
                .map(|m| {
                    let ms = sb.member(m);
                    json!({
                        "url": ms.url.get(),
                        "route": ms.route.get(),
                        "redirect": ms.redirect.get(),
                        "lbfactor": ms.lbfactor(),
                        "lbset": ms.lbset(),
                        "flags": flags::letters(ms.status() & mask),
                        "added": ms.added(),
                        "health": health_json(sb, m),
                    })
                })
                .collect();
            json!({
                "name": slot.name.get(),
                "lbmethod": slot.lbmethod.get(),
                "timeout_ms": slot.timeout_ms(),
                "maxattempts": slot.max_attempts(),
                "nofailover": slot.nofailover(),
                "sticky": slot.sticky.get(),
                "sticky_path": slot.sticky_path.get(),
                "members": members,
            })
        })
        .collect();
    json!({ "format": FORMAT, "balancers": balancers })
}

/// A member's check settings as saved.
fn health_json(sb: &Scoreboard, m: usize) -> Value {
    let hc = edit::health_of(sb, m);
    json!({
        "method": hc.method.name(),
        "interval_ms": hc.interval_ms,
        "passes": hc.passes,
        "fails": hc.fails,
        "uri": hc.uri,
        "expr": hc.expr,
    })
}

/// Restores saved check settings onto member slot `m` (see the module
/// comment); what was not restored is added to `skipped`.
fn apply_health(
    sb: &Scoreboard,
    m: usize,
    saved: &Value,
    exprs: &[HcExprDef],
    what: &str,
    skipped: &mut Vec<String>,
) {
    let mut change = edit::HealthChange {
        method: saved["method"]
            .as_str()
            .and_then(|n| edit::parse_hc_method(n).ok()),
        interval_ms: saved["interval_ms"].as_u64(),
        passes: saved["passes"].as_u64(),
        fails: saved["fails"].as_u64(),
        uri: saved["uri"].as_str().map(str::to_string),
        expr: saved["expr"].as_str().map(str::to_string),
    };
    if let Some(name) = change.expr.as_deref().filter(|n| !n.is_empty()) {
        if edit::resolve_hc_expr(name, Some(exprs)).is_err() {
            skipped.push(format!("{what}: hcexpr {name} (no such ProxyHCExpr)"));
            change.expr = Some(String::new());
        }
    }
    if let Err(e) = edit::set_health(sb, m, &change, Some(exprs)) {
        skipped.push(format!("{what}: health check ({e})"));
    }
}

/// Writes the state atomically: `path.tmp.<pid>` beside it, fsync, rename.
pub fn save(sb: &Scoreboard, path: &Path) -> std::io::Result<()> {
    let mut text = serde_json::to_vec_pretty(&snapshot(sb)).map_err(std::io::Error::other)?;
    text.push(b'\n');
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp.{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Reads a persist file: `Ok(None)` when there is none.
pub fn load(path: &Path) -> Result<Option<Value>, String> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let v: Value = serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if v.get("format").and_then(Value::as_u64) != Some(FORMAT) || !v["balancers"].is_array() {
        return Err(format!("{}: not a slotgate persist file", path.display()));
    }
    Ok(Some(v))
}

/// Applies a loaded state onto the scoreboard (see the module comment);
/// with `only_added`, only members added at run time that the scoreboard
/// lacks are added again. `exprs` are the configuration's `ProxyHCExpr`s
/// (a saved `hcexpr` must be one of them). Returns what was skipped, for
/// the log.
pub fn apply(sb: &Scoreboard, state: &Value, only_added: bool, exprs: &[HcExprDef]) -> Vec<String> {
    let mut skipped = Vec::new();
    let mask = editable_bits();
    let empty = Vec::new();
    for sbal in state["balancers"].as_array().unwrap_or(&empty) {
        let name = sbal["name"].as_str().unwrap_or("");
        let Some(b) = edit::find_balancer(sb, name) else {
            skipped.push(format!("balancer {name} is not configured any more"));
            continue;
        };
        let slot = sb.balancer(b);
        if !only_added {
            if let Some(m) = sbal["lbmethod"].as_str().filter(|m| !m.is_empty()) {
                if edit::set_lbmethod(sb, b, m).is_err() {
                    skipped.push(format!("{name}: lbmethod {m}"));
                }
            }
            if let Some(t) = sbal["timeout_ms"].as_u64() {
                slot.set_timeout_ms(t);
            }
            if let Some(n) = sbal["maxattempts"].as_u64() {
                slot.set_max_attempts(n.min(99) as u32);
            }
            if let Some(on) = sbal["nofailover"].as_bool() {
                slot.set_nofailover(on);
            }
            if let (Some(c), Some(p)) = (sbal["sticky"].as_str(), sbal["sticky_path"].as_str()) {
                match edit::check_plain("sticky", c).and(edit::check_plain("sticky_path", p)) {
                    Ok(()) => {
                        slot.sticky.set(c);
                        slot.sticky_path.set(p);
                    }
                    Err(e) => skipped.push(format!("{name}: {e}")),
                }
            }
        }
        for smem in sbal["members"].as_array().unwrap_or(&empty) {
            let url = smem["url"].as_str().unwrap_or("");
            let added = smem["added"].as_bool().unwrap_or(false);
            let m = match edit::find_member(sb, b, url) {
                Some(_) if only_added => continue,
                Some(m) => m,
                None if added => match edit::add_member(sb, b, url) {
                    Ok(m) => m,
                    Err(e) => {
                        skipped.push(format!("{name}: member {url}: {e}"));
                        continue;
                    }
                },
                None => {
                    skipped.push(format!("{name}: member {url} is not configured any more"));
                    continue;
                }
            };
            if only_added && !added {
                continue;
            }
            let ms = sb.member(m);
            if let Some(f) = smem["lbfactor"]
                .as_u64()
                .filter(|f| (100..=10_000).contains(f))
            {
                ms.set_lbfactor(f as u32);
            }
            if let Some(s) = smem["lbset"].as_u64().filter(|s| *s <= 99) {
                ms.set_lbset(s as u32);
            }
            for (key, field) in [("route", &ms.route), ("redirect", &ms.redirect)] {
                if let Some(r) = smem[key].as_str() {
                    match edit::check_plain(key, r) {
                        Ok(()) => {
                            field.set(r);
                        }
                        Err(e) => skipped.push(format!("{name}: member {url}: {e}")),
                    }
                }
            }
            if let Some(letters) = smem["flags"].as_str() {
                let bits = letters
                    .chars()
                    .filter_map(flags::from_letter)
                    .fold(0, |a, b| a | b)
                    & mask;
                ms.set_status((ms.status() & !mask) | bits | flags::INIT);
            }
            if smem["health"].is_object() {
                let what = format!("{name}: member {url}");
                apply_health(sb, m, &smem["health"], exprs, &what, &mut skipped);
            }
        }
    }
    skipped
}

/// The supervisor's call after placing the configuration: load
/// `<scoreboard>.persist` and apply it (`only_added` at a restart; `exprs`
/// the configuration's `ProxyHCExpr`s), then write the file back (so it
/// exists and `slotgate-top` keeps it current).
pub fn restore(sb: &Scoreboard, only_added: bool, exprs: &[HcExprDef]) {
    let path = path_for(sb.path());
    match load(&path) {
        Ok(Some(state)) => {
            for s in apply(sb, &state, only_added, exprs) {
                log::warn!("BalancerPersist: {s}: not restored");
            }
            log::info!("BalancerPersist: settings restored from {}", path.display());
        }
        Ok(None) => {}
        Err(e) => log::warn!("BalancerPersist: {e}; starting from the configuration"),
    }
    if let Err(e) = save(sb, &path) {
        log::error!("BalancerPersist: writing {}: {e}", path.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::testutil::Board;

    const A: &str = "http://a:1";
    const B: &str = "http://b:2";

    #[test]
    fn restore_skips_values_with_control_characters() {
        let t = Board::new(&[("app", &[A, B], 2)]);
        let sb = &t.sb;
        edit::set_route(sb, 0, "ok").unwrap();
        let mut state = snapshot(sb);
        state["balancers"][0]["members"][0]["route"] = "\u{1b}[2J".into();
        state["balancers"][0]["members"][0]["redirect"] = "r\n".into();
        state["balancers"][0]["sticky"] = "S\u{7}".into();
        let skipped = apply(sb, &state, false, &[]);
        assert_eq!(skipped.len(), 3, "{skipped:?}");
        assert!(
            skipped.iter().all(|s| !s.contains(char::is_control)),
            "{skipped:?}"
        );
        assert_eq!(sb.member(0).route.get(), "ok");
        assert_eq!(sb.member(0).redirect.get(), "");
        assert_eq!(sb.balancer(0).sticky.get(), "");
    }

    #[test]
    fn save_load_round_trip_and_apply_onto_a_fresh_scoreboard() {
        let t = Board::new(&[("app", &[A, B], 2)]);
        let sb = &t.sb;
        edit::set_loadfactor(sb, 0, 1, 4.0).unwrap();
        edit::set_lbset(sb, 1, 1).unwrap();
        edit::set_route(sb, 1, "rb").unwrap();
        edit::set_redirect(sb, 1, "ra").unwrap();
        edit::disable(sb, 0, 0).unwrap();
        sb.member(1).set_flags(flags::ERROR);
        edit::set_lbmethod(sb, 0, "bybusyness").unwrap();
        edit::set_timeout(sb, 0, 5).unwrap();
        edit::set_maxattempts(sb, 0, 0).unwrap();
        edit::set_nofailover(sb, 0, true).unwrap();
        edit::set_sticky(sb, 0, "C|p").unwrap();
        let added = edit::add_member(sb, 0, "http://new:3").unwrap();
        edit::set_loadfactor(sb, 0, added, 2.0).unwrap();
        edit::enable(sb, 0, added).unwrap();

        let path = path_for(&t.path);
        save(sb, &path).unwrap();
        let state = load(&path).unwrap().expect("a file");
        assert_eq!(state, snapshot(sb));
        std::fs::remove_file(&path).unwrap();
        assert_eq!(load(&path).unwrap(), None);

        let fresh = Board::new(&[("app", &[A, B], 2)]);
        let f = &fresh.sb;
        assert!(apply(f, &state, false, &[]).is_empty());
        let b = f.balancer(0);
        assert_eq!(b.lbmethod.get(), "bybusyness");
        assert_eq!(b.timeout_ms(), 5000);
        assert_eq!(b.max_attempts(), 0);
        assert!(b.nofailover());
        assert_eq!(edit::sticky_display(f, 0), "C|p");
        assert_eq!(flags::display(f.member(0).status()), "Init Dis ");
        let m = f.member(1);
        assert_eq!((m.lbfactor(), m.lbset()), (400, 1));
        assert_eq!(
            (m.route.get(), m.redirect.get()),
            ("rb".into(), "ra".into())
        );
        assert_eq!(flags::display(m.status()), "Init Ok ", "E is not persisted");
        let n = edit::find_member(f, 0, "http://new:3").expect("added member restored");
        assert_eq!(f.member(n).lbfactor(), 200);
        assert_eq!(flags::display(f.member(n).status()), "Init Ok ");
        assert!(f.member(n).added());
        assert_eq!(snapshot(f), state);
    }

    #[test]
    fn only_added_and_unknown_names() {
        let t = Board::new(&[("app", &[A], 1)]);
        edit::add_member(&t.sb, 0, "http://new:3").unwrap();
        edit::set_timeout(&t.sb, 0, 9).unwrap();
        let state = snapshot(&t.sb);

        let fresh = Board::new(&[("app", &[A], 1)]);
        assert!(apply(&fresh.sb, &state, true, &[]).is_empty());
        assert!(edit::find_member(&fresh.sb, 0, "http://new:3").is_some());
        assert_eq!(fresh.sb.balancer(0).timeout_ms(), 0, "only added members");

        let other = Board::new(&[("other", &[B], 0)]);
        let skipped = apply(&other.sb, &state, false, &[]);
        assert_eq!(skipped.len(), 1, "{skipped:?}");
    }

    #[test]
    fn health_checks_of_configured_and_added_members_are_restored() {
        let text = "Listen 127.0.0.1:0\nProxyHCExpr ok {%{REQUEST_STATUS} =~ /^2/}\n";
        let cfg = crate::config::parse_str(text, Path::new("t.conf"), &[]).unwrap();
        let exprs = &cfg.hc_exprs;
        let t = Board::new(&[("app", &[A, B], 1)]);
        let sb = &t.sb;
        let change = edit::HealthChange {
            method: Some(crate::config::HcMethod::Get11),
            interval_ms: Some(250),
            passes: Some(2),
            fails: Some(3),
            uri: Some("/health".into()),
            expr: Some("ok".into()),
        };
        edit::set_health(sb, 1, &change, Some(exprs)).unwrap();
        let added = edit::add_member(sb, 0, "http://new:3").unwrap();
        let tcp = edit::HealthChange {
            method: Some(crate::config::HcMethod::Tcp),
            interval_ms: Some(1000),
            ..edit::HealthChange::default()
        };
        edit::set_health(sb, added, &tcp, Some(exprs)).unwrap();
        let state = snapshot(sb);
        assert_eq!(
            state["balancers"][0]["members"][1]["health"],
            json!({"method": "GET11", "interval_ms": 250, "passes": 2, "fails": 3,
                   "uri": "/health", "expr": "ok"})
        );
        assert_eq!(
            state["balancers"][0]["members"][0]["health"]["method"],
            "NONE"
        );

        let fresh = Board::new(&[("app", &[A, B], 1)]);
        assert!(apply(&fresh.sb, &state, false, exprs).is_empty());
        assert_eq!(edit::health_of(&fresh.sb, 1), edit::health_of(sb, 1));
        let n = edit::find_member(&fresh.sb, 0, "http://new:3").unwrap();
        assert_eq!(edit::health_of(&fresh.sb, n), edit::health_of(sb, added));
        assert_eq!(snapshot(&fresh.sb), state);

        // At a restart only the added member comes back, with its check.
        let restarted = Board::new(&[("app", &[A, B], 1)]);
        assert!(apply(&restarted.sb, &state, true, exprs).is_empty());
        let n = edit::find_member(&restarted.sb, 0, "http://new:3").unwrap();
        assert_eq!(restarted.sb.member(n).hc_interval_ms(), 1000);
        assert_eq!(
            restarted.sb.member(1).hc_method(),
            0,
            "configured: untouched"
        );

        // An expression the configuration no longer defines is left out.
        let other = Board::new(&[("app", &[A, B], 1)]);
        let skipped = apply(&other.sb, &state, false, &[]);
        assert_eq!(skipped.len(), 1, "{skipped:?}");
        assert!(skipped[0].contains("hcexpr ok"), "{skipped:?}");
        let hc = edit::health_of(&other.sb, 1);
        assert_eq!((hc.method.name(), hc.expr.as_str()), ("GET11", ""));
        assert_eq!((hc.interval_ms, hc.uri.as_str()), (250, "/health"));

        // A file without `health` leaves the checks as configured.
        let mut old = state.clone();
        for m in old["balancers"][0]["members"].as_array_mut().unwrap() {
            m.as_object_mut().unwrap().remove("health");
        }
        let plain = Board::new(&[("app", &[A, B], 1)]);
        assert!(apply(&plain.sb, &old, false, exprs).is_empty());
        assert_eq!(plain.sb.member(1).hc_method(), 0);
    }

    #[test]
    fn save_if_enabled_follows_the_flag() {
        let t = Board::new(&[("app", &[A], 0)]);
        let path = path_for(&t.path);
        save_if_enabled(&t.sb);
        assert!(!path.exists());
        t.sb.balancer(0).set_flags(PERSIST_FLAG);
        save_if_enabled(&t.sb);
        assert!(path.exists());
        std::fs::write(&path, "garbage").unwrap();
        assert!(load(&path).is_err());
        std::fs::remove_file(&path).unwrap();
    }
}
