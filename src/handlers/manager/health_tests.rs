//! The health-check parameters of the balancer-manager (§6.2 `w_hm w_hi w_hp
//! w_hf w_hu w_he`): the member edit form, the form parameters and the JSON
//! `health` object.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use serde_json::{json, Value};

use super::*;
use crate::config::{Config, HcMethod};
use crate::handlers::testutil::Board;
use crate::http::Header;
use crate::proxy::Routes;

const A: &str = "http://127.0.0.1:1";
const B: &str = "http://127.0.0.1:2";

struct T(Board, Config, Routes);

fn setup() -> T {
    let text = format!(
        "Listen 127.0.0.1:0\nServerName mgr.example\n\
         ProxyHCExpr ok {{%{{REQUEST_STATUS}} =~ /^[23]/}}\n\
         ProxyHCExpr Maint {{hc('body') !~ /Under maintenance/}}\n\
         <Proxy balancer://app growth=2>\nBalancerMember {A}\nBalancerMember {B}\n</Proxy>\n\
         ProxyPass /app balancer://app\n"
    );
    let cfg = crate::config::parse_str(&text, Path::new("test.conf"), &[]).expect("config");
    let routes = Routes::new(&cfg).expect("routes");
    T(Board::new(&[("app", &[A, B], 2)]), cfg, routes)
}

fn header(name: &str, value: &str) -> Header {
    Header {
        name: name.into(),
        value: value.as_bytes().to_vec(),
    }
}

fn call(t: &T, method: &str, query: Option<&str>, body: &str, headers: &[Header]) -> Response {
    let req = Request {
        method,
        path: "/balancer-manager",
        query,
        headers,
        body: body.as_bytes(),
        client: IpAddr::V4(Ipv4Addr::LOCALHOST),
        location: "/balancer-manager",
        server_name: "mgr.example",
        local_port: 80,
    };
    let ctx = Context {
        scoreboard: &t.0.sb,
        config: &t.1,
        routes: &t.2,
        now_ms: 0,
    };
    serve(&req, &ctx)
}

fn referer() -> Vec<Header> {
    vec![
        header("Referer", "http://mgr.example/balancer-manager?b=app"),
        header("Host", "mgr.example"),
    ]
}

fn text(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

fn form(t: &T, params: &str) -> Response {
    let body = format!("b=app&w={}&nonce=nonce-app&{params}", url_encode(A));
    call(t, "POST", None, &body, &referer())
}

fn json_call(t: &T, v: &Value) -> (u16, Value) {
    let r = call(
        t,
        "PATCH",
        None,
        &v.to_string(),
        &[header("Content-Type", "application/json")],
    );
    (r.status, serde_json::from_slice(&r.body).expect("JSON"))
}

#[test]
fn the_member_form_has_the_health_inputs() {
    let t = setup();
    let sb = &t.0.sb;
    edit::set_hc_method(sb, 0, HcMethod::Get).unwrap();
    edit::set_hc_expr(sb, 0, "Maint", Some(&t.1.hc_exprs)).unwrap();
    let q = format!("b=app&w={}&nonce=nonce-app", url_encode(A));
    let page = text(&call(&t, "GET", Some(&q), "", &referer()));
    for field in ["w_hm", "w_he", "w_hi", "w_hp", "w_hf", "w_hu"] {
        assert!(page.contains(&format!("name=\"{field}\"")), "{field}");
    }
    for option in [
        "<option value=\"NONE\">NONE</option>",
        "<option value=\"GET\" selected>GET</option>",
        "<option value=\"GET11\">GET11</option>",
        "<option value=\"\">(none)</option>",
        "<option value=\"ok\">ok</option>",
        "<option value=\"Maint\" selected>Maint</option>",
        "name=\"w_hi\" id=\"w_hi\" type=text size=6 value=\"30000\"",
        "name=\"w_hp\" id=\"w_hp\" type=text size=3 value=\"1\"",
    ] {
        assert!(page.contains(option), "'{option}' missing:\n{page}");
    }
    // A name set without the configuration (slotgate-top given only the
    // scoreboard) is shown, marked.
    sb.member(0).hc_expr.set("gone");
    let page = text(&call(&t, "GET", Some(&q), "", &referer()));
    assert!(page.contains("<option value=\"gone\" selected>gone (not defined)</option>"));
}

#[test]
fn form_parameters_change_the_check() {
    let t = setup();
    let sb = &t.0.sb;
    let r = form(
        &t,
        "w_hm=get11&w_hi=250&w_hp=2&w_hf=3&w_hu=%2Fhealth&w_he=maint",
    );
    assert_eq!(r.status, 200, "{}", text(&r));
    let hc = edit::health_of(sb, 0);
    assert_eq!(
        (hc.method, hc.interval_ms, hc.passes, hc.fails),
        (HcMethod::Get11, 250, 2, 3)
    );
    assert_eq!((hc.uri.as_str(), hc.expr.as_str()), ("/health", "Maint"));
    assert_eq!(sb.member(1).hc_method(), 0, "only the selected member");

    // Units: a bare interval is in ms, a suffix is honoured.
    assert_eq!(form(&t, "w_hi=2s").status, 200);
    assert_eq!(sb.member(0).hc_interval_ms(), 2000);

    // Invalid values are noted and left out; the valid ones still apply.
    let r = form(&t, "w_hi=50&w_hp=0&w_hf=5&w_he=nosuch&w_hu=%2Fa%20b");
    let page = text(&r);
    assert_eq!(r.status, 200);
    for note in [
        "hcinterval: hcinterval must be at least 100 ms",
        "hcpasses: hcpasses must be",
        "hcexpr: hcexpr nosuch names no ProxyHCExpr (defined: ok, Maint)",
        "hcuri: hcuri",
    ] {
        assert!(page.contains(note), "'{note}' missing:\n{page}");
    }
    let hc = edit::health_of(sb, 0);
    assert_eq!((hc.interval_ms, hc.passes, hc.fails), (2000, 2, 5));
    assert_eq!((hc.uri.as_str(), hc.expr.as_str()), ("/health", "Maint"));
    assert!(form(&t, "w_hm=CPING").status == 200);
    assert_eq!(sb.member(0).hc_method(), HcMethod::Get11.code());

    // TCP clears the expression, even with the old one still in the form.
    assert_eq!(form(&t, "w_hm=TCP&w_he=Maint").status, 200);
    assert_eq!(sb.member(0).hc_method(), HcMethod::Tcp.code());
    assert_eq!(sb.member(0).hc_expr.get(), "");
}

#[test]
fn form_health_changes_need_the_nonce() {
    let t = setup();
    let body = format!("b=app&w={}&nonce=wrong&w_hm=GET", url_encode(A));
    let r = call(&t, "POST", None, &body, &referer());
    assert_eq!(r.status, 403);
    assert_eq!(t.0.sb.member(0).hc_method(), 0);
    // Without a Referer every parameter is dropped.
    let body = format!("b=app&w={}&nonce=nonce-app&w_hm=GET", url_encode(A));
    assert_eq!(call(&t, "POST", None, &body, &[]).status, 200);
    assert_eq!(t.0.sb.member(0).hc_method(), 0);
}

#[test]
fn json_health_object() {
    let t = setup();
    let sb = &t.0.sb;
    let (status, v) = json_call(
        &t,
        &json!({"balancer": "app", "nonce": "nonce-app", "member": B,
                "health": {"method": "GET", "interval_ms": 500, "passes": 2,
                           "fails": 2, "uri": "/health", "expr": "OK"}}),
    );
    assert_eq!(status, 200, "{v}");
    let h = &v["balancers"][0]["members"][1]["health"];
    assert_eq!(h["method"], "GET");
    assert_eq!(h["interval_ms"], 500);
    assert_eq!(
        (h["passes"].clone(), h["fails"].clone()),
        (json!(2), json!(2))
    );
    assert_eq!(h["uri"], "/health");
    assert_eq!(h["expr"], "ok", "the definition's spelling");

    // Partial changes keep the rest; TCP clears the expression.
    let (status, _) = json_call(
        &t,
        &json!({"balancer": "app", "nonce": "nonce-app", "member": B,
                "health": {"method": "tcp"}}),
    );
    assert_eq!(status, 200);
    let hc = edit::health_of(sb, 1);
    assert_eq!((hc.method, hc.interval_ms), (HcMethod::Tcp, 500));
    assert_eq!(hc.expr, "");

    for (health, want) in [
        (json!({"interval_ms": 99}), "at least 100 ms"),
        (json!({"passes": 0}), "hcpasses"),
        (
            json!({"method": "GET", "expr": "nosuch"}),
            "names no ProxyHCExpr",
        ),
        (json!({"expr": "ok"}), "HTTP hcmethod"),
        (json!({"method": "CPING"}), "AJP"),
        (json!({"uri": "/a b"}), "hcuri"),
        (json!({"interval": 5}), "unknown field 'interval'"),
        (json!({"interval_ms": "5s"}), "whole number"),
        (json!({"uri": 5}), "must be a string"),
        (json!("GET"), "must be an object"),
    ] {
        let (status, v) = json_call(
            &t,
            &json!({"balancer": "app", "nonce": "nonce-app", "member": B, "health": health}),
        );
        assert_eq!(status, 400, "{health}: {v}");
        let msg = v["error"].as_str().unwrap_or("");
        assert!(msg.contains(want), "{health}: {msg}");
    }
    // All or nothing: a bad field leaves the others unapplied.
    let (status, _) = json_call(
        &t,
        &json!({"balancer": "app", "nonce": "nonce-app", "member": B,
                "health": {"method": "HEAD", "fails": 0}}),
    );
    assert_eq!(status, 400);
    assert_eq!(sb.member(1).hc_method(), HcMethod::Tcp.code());

    let (status, _) = json_call(
        &t,
        &json!({"balancer": "app", "nonce": "wrong", "member": B, "health": {"method": "GET"}}),
    );
    assert_eq!(status, 403);
    let (status, v) = json_call(
        &t,
        &json!({"balancer": "app", "nonce": "nonce-app", "health": {"method": "GET"}}),
    );
    assert_eq!(status, 400);
    assert!(v["error"].as_str().unwrap().contains("needs 'member'"));
    assert_eq!(sb.member(1).hc_method(), HcMethod::Tcp.code());
}

#[test]
fn json_add_member_then_check_it() {
    let t = setup();
    let sb = &t.0.sb;
    let c = "http://127.0.0.1:3";
    let (status, v) = json_call(
        &t,
        &json!({"balancer": "app", "nonce": "nonce-app", "add_member": c}),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["balancers"][0]["members"][2]["health"]["method"], "NONE");
    let (status, v) = json_call(
        &t,
        &json!({"balancer": "app", "nonce": "nonce-app", "member": c,
                "status": {"D": false},
                "health": {"method": "GET", "uri": "/health", "interval_ms": 200, "fails": 1}}),
    );
    assert_eq!(status, 200, "{v}");
    let m = edit::find_member(sb, 0, c).unwrap();
    assert_eq!(sb.member(m).hc_method(), HcMethod::Get.code());
    assert!(sb.member(m).is_usable());
    assert!(crate::hcheck::checker::wanted(sb));
}
