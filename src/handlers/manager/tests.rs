use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

use scoreboard::flags;
use serde_json::{json, Value};

use super::*;
use crate::config::Config;
use crate::handlers::testutil::Board;
use crate::http::Header;
use crate::proxy::Routes;

const A: &str = "http://127.0.0.1:1";
const B: &str = "http://127.0.0.1:2";

fn setup() -> (Board, Config, Routes) {
    let text = format!(
        "Listen 127.0.0.1:0\nServerName mgr.example\n\
         <Proxy balancer://app growth=2>\nBalancerMember {A}\nBalancerMember {B}\n</Proxy>\n\
         ProxyPass /app balancer://app\n"
    );
    let cfg = crate::config::parse_str(&text, Path::new("test.conf"), &[]).expect("config");
    let routes = Routes::new(&cfg).expect("routes");
    let board = Board::new(&[("app", &[A, B], 2)]);
    (board, cfg, routes)
}

struct Call<'a> {
    method: &'a str,
    query: Option<&'a str>,
    body: &'a str,
    headers: Vec<Header>,
}

fn header(name: &str, value: &str) -> Header {
    Header {
        name: name.into(),
        value: value.as_bytes().to_vec(),
    }
}

fn call(t: &(Board, Config, Routes), c: Call) -> Response {
    let req = Request {
        method: c.method,
        path: "/balancer-manager",
        query: c.query,
        headers: &c.headers,
        body: c.body.as_bytes(),
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

fn get(t: &(Board, Config, Routes), query: Option<&str>, headers: Vec<Header>) -> Response {
    call(
        t,
        Call {
            method: "GET",
            query,
            body: "",
            headers,
        },
    )
}

fn post(t: &(Board, Config, Routes), body: &str, headers: Vec<Header>) -> Response {
    call(
        t,
        Call {
            method: "POST",
            query: None,
            body,
            headers,
        },
    )
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

#[test]
fn page_lists_balancers_members_and_forms() {
    let t = setup();
    let r = get(&t, None, vec![]);
    assert_eq!(r.status, 200);
    let page = text(&r);
    assert!(page.contains("Load Balancer Manager for mgr.example"));
    assert!(page.contains("balancer://app"));
    assert!(page.contains(A) && page.contains(B));
    assert!(page.contains("Init Ok "));
    assert!(page.contains("4 [2 Used]"), "{page}");
    assert!(page.contains("nonce=nonce-app"));
    assert!(!page.contains("name=\"b_lbm\""), "no form unless selected");

    let r = get(&t, Some("b=app&nonce=nonce-app"), referer());
    let page = text(&r);
    for field in [
        "b_lbm", "b_tmo", "b_max", "b_sforce", "b_ss", "b_nwrkr", "b_wyes",
    ] {
        assert!(page.contains(&format!("name=\"{field}\"")), "{field}");
    }
    let w = format!("b=app&w={}&nonce=nonce-app", url_encode(A));
    let page = text(&get(&t, Some(&w), referer()));
    for field in [
        "w_lf",
        "w_ls",
        "w_wr",
        "w_rr",
        "w_status_D",
        "w_status_N",
        "w_status_S",
    ] {
        assert!(page.contains(&format!("name=\"{field}\"")), "{field}");
    }
    assert!(page.contains("name=\"w\" value=\"http://127.0.0.1:1\""));
    assert!(page.contains("action=\"/balancer-manager\""));
}

#[test]
fn each_form_parameter_is_applied() {
    let t = setup();
    let sb = &t.0.sb;
    let body = format!(
        "b=app&w={}&nonce=nonce-app&w_lf=3&w_ls=2&w_wr=r1&w_rr=r2&w_status_D=1&w_status_I=1",
        url_encode(A)
    );
    let r = post(&t, &body, referer());
    assert_eq!(r.status, 200, "{}", text(&r));
    let m = sb.member(0);
    assert_eq!(m.lbfactor(), 300);
    assert_eq!(m.lbset(), 2);
    assert_eq!(m.route.get(), "r1");
    assert_eq!(m.redirect.get(), "r2");
    assert_eq!(flags::display(m.status()), "Init Ign Dis ");

    let body = "b=app&nonce=nonce-app&b_lbm=bytraffic&b_tmo=7&b_max=1&b_sforce=1&b_ss=S%7Cs";
    assert_eq!(post(&t, body, referer()).status, 200);
    let b = sb.balancer(0);
    assert_eq!(b.lbmethod.get(), "bytraffic");
    assert_eq!(b.timeout_ms(), 7000);
    assert_eq!(b.max_attempts(), 1);
    assert!(b.nofailover());
    assert_eq!(
        (b.sticky.get(), b.sticky_path.get()),
        ("S".into(), "s".into())
    );

    // Invalid values are ignored.
    let body = "b=app&nonce=nonce-app&b_tmo=9999&b_lbm=roundrobin";
    assert_eq!(post(&t, body, referer()).status, 200);
    assert_eq!(b.timeout_ms(), 7000);
    assert_eq!(b.lbmethod.get(), "bytraffic");

    // Adding a member: disabled, and 400 once growth is used up.
    let body = "b=app&nonce=nonce-app&b_nwrkr=http%3A%2F%2F127.0.0.1%3A3&b_wyes=1";
    assert_eq!(post(&t, body, referer()).status, 200);
    let added = edit::find_member(sb, 0, "http://127.0.0.1:3").unwrap();
    assert_eq!(flags::display(sb.member(added).status()), "Init Dis ");
    let body = "b=app&nonce=nonce-app&b_nwrkr=http%3A%2F%2F127.0.0.1%3A4&b_wyes=1";
    assert_eq!(post(&t, body, referer()).status, 200);
    let body = "b=app&nonce=nonce-app&b_nwrkr=http%3A%2F%2F127.0.0.1%3A5&b_wyes=1";
    assert_eq!(post(&t, body, referer()).status, 400);
    let body = "b=app&nonce=nonce-app&b_nwrkr=http%3A%2F%2F127.0.0.1%3A3&b_wyes=1";
    assert_eq!(post(&t, body, referer()).status, 400, "duplicate");
}

#[test]
fn nonce_missing_or_wrong_is_refused() {
    let t = setup();
    let sb = &t.0.sb;
    for body in [
        "b=app&b_tmo=5",
        "b=app&nonce=nope&b_tmo=5",
        "b=app&nonce=&b_tmo=5",
    ] {
        let r = post(&t, body, referer());
        assert_eq!(r.status, 403, "{body}");
        assert_eq!(sb.balancer(0).timeout_ms(), 0);
    }
    // nonce=None: an empty nonce accepts nothing.
    sb.balancer(0).nonce.set("");
    assert_eq!(post(&t, "b=app&nonce=&b_tmo=5", referer()).status, 403);
    assert_eq!(sb.balancer(0).timeout_ms(), 0);
}

#[test]
fn referer_rule() {
    let t = setup();
    let sb = &t.0.sb;
    let body = "b=app&nonce=nonce-app&b_tmo=5";
    // No Referer, or another host: parameters dropped, plain page.
    assert_eq!(post(&t, body, vec![]).status, 200);
    let evil = vec![
        header("Referer", "http://evil.example/x"),
        header("Host", "mgr.example"),
    ];
    assert_eq!(post(&t, body, evil).status, 200);
    assert_eq!(sb.balancer(0).timeout_ms(), 0);
    // The Host header's name is accepted too, with a port and in any case.
    let by_host = vec![
        header("Referer", "http://LOCALHOST:8080/balancer-manager"),
        header("Host", "localhost:8080"),
    ];
    assert_eq!(post(&t, body, by_host).status, 200);
    assert_eq!(sb.balancer(0).timeout_ms(), 5000);
    // ?xml=1 without a Referer gives HTML (httpd's quirk).
    let r = get(&t, Some("xml=1"), vec![]);
    assert!(r.content_type.starts_with("text/html"));
}

#[test]
fn get_query_carries_only_b_w_nonce_xml() {
    let t = setup();
    let r = get(&t, Some("b=app&nonce=nonce-app&b_tmo=5"), referer());
    assert_eq!(r.status, 200);
    assert_eq!(t.0.sb.balancer(0).timeout_ms(), 0);
}

#[test]
fn methods() {
    let t = setup();
    for m in ["PUT", "DELETE", "PATCH"] {
        let r = call(
            &t,
            Call {
                method: m,
                query: None,
                body: "",
                headers: vec![],
            },
        );
        assert_eq!(r.status, 405, "{m}");
    }
}

/// A tiny well-formedness check: tags nest and close, one root.
fn well_formed(x: &str) -> bool {
    let body = x.trim();
    let Some(rest) = body.strip_prefix("<?xml") else {
        return false;
    };
    let Some((_, mut rest)) = rest.split_once("?>") else {
        return false;
    };
    let mut stack: Vec<String> = Vec::new();
    let mut roots = 0;
    while let Some(start) = rest.find('<') {
        if rest[..start].contains('>')
            || rest[..start].contains('&') && !rest[..start].contains(';')
        {
            return false;
        }
        let Some(end) = rest[start..].find('>') else {
            return false;
        };
        let tag = &rest[start + 1..start + end];
        if let Some(name) = tag.strip_prefix('/') {
            if stack.pop().as_deref() != Some(name.trim()) {
                return false;
            }
        } else {
            let name = tag.split_whitespace().next().unwrap_or("").to_string();
            if stack.is_empty() {
                roots += 1;
            }
            if !tag.ends_with('/') {
                stack.push(name);
            }
        }
        rest = &rest[start + end + 1..];
    }
    stack.is_empty() && roots == 1 && rest.trim().is_empty()
}

#[test]
fn xml_view_is_well_formed() {
    let t = setup();
    edit::set_route(&t.0.sb, 0, "a<b&c").unwrap();
    let r = get(&t, Some("xml=1"), referer());
    assert!(r.content_type.starts_with("text/xml"));
    let x = text(&r);
    assert!(well_formed(&x), "{x}");
    assert!(x.contains("xmlns:httpd=\"http://httpd.apache.org\""));
    assert!(x.contains("<httpd:name>balancer://app</httpd:name>"));
    assert!(x.contains("<httpd:route>a&lt;b&amp;c</httpd:route>"));
    assert!(x.contains("<httpd:status>Init Ok </httpd:status>"));
    assert!(!well_formed("<?xml version=\"1.0\"?><a><b></a></b>"));
}

fn json_call(t: &(Board, Config, Routes), method: &str, v: &Value) -> (u16, Value) {
    let body = v.to_string();
    let r = call(
        t,
        Call {
            method,
            query: None,
            body: &body,
            headers: vec![header("Content-Type", "application/json")],
        },
    );
    (
        r.status,
        serde_json::from_slice(&r.body).expect("JSON answer"),
    )
}

#[test]
fn json_round_trip() {
    let t = setup();
    let r = get(&t, Some("json"), vec![]);
    assert_eq!(r.content_type, "application/json");
    let state: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(state["balancers"][0]["name"], "balancer://app");
    assert_eq!(state["balancers"][0]["members"][1]["url"], B);
    let nonce = state["balancers"][0]["nonce"].as_str().unwrap().to_string();
    let r = get(&t, None, vec![header("Accept", "application/json")]);
    assert_eq!(r.content_type, "application/json");

    let (status, v) = json_call(
        &t,
        "PATCH",
        &json!({"balancer": "app", "member": B, "nonce": nonce, "loadfactor": 4,
                "status": {"D": true}, "route": "rb"}),
    );
    assert_eq!(status, 200, "{v}");
    let m = &v["balancers"][0]["members"][1];
    assert_eq!(m["loadfactor"], 4.0);
    assert_eq!(m["flags"]["D"], true);
    assert_eq!(m["usable"], false);
    assert_eq!(m["route"], "rb");

    let (status, v) = json_call(
        &t,
        "POST",
        &json!({"balancer": "balancer://app", "nonce": nonce, "lbmethod": "bybusyness",
                "timeout": 3, "maxattempts": 0, "nofailover": true,
                "stickysession": "JSESSIONID|jsessionid", "add_member": "http://127.0.0.1:9"}),
    );
    assert_eq!(status, 200, "{v}");
    let b = &v["balancers"][0];
    assert_eq!(b["lbmethod"], "bybusyness");
    assert_eq!(b["timeout"], 3);
    assert_eq!(b["nofailover"], true);
    assert_eq!(b["stickysession"], "JSESSIONID|jsessionid");
    assert_eq!(b["used_members"], 3);
    assert_eq!(b["members"][2]["status"], "Init Dis");
}

#[test]
fn json_errors() {
    let t = setup();
    let cases = [
        (json!({"balancer": "app", "timeout": 3}), 403),
        (json!({"balancer": "app", "nonce": "x", "timeout": 3}), 403),
        (json!({"balancer": "nope", "nonce": "nonce-app"}), 404),
        (json!({"nonce": "nonce-app"}), 400),
        (
            json!({"balancer": "app", "nonce": "nonce-app", "bogus": 1}),
            400,
        ),
        (
            json!({"balancer": "app", "nonce": "nonce-app", "loadfactor": 2}),
            400,
        ),
        (
            json!({"balancer": "app", "nonce": "nonce-app", "member": A, "loadfactor": 0}),
            400,
        ),
        (
            json!({"balancer": "app", "nonce": "nonce-app", "member": A, "status": {"E": false}}),
            400,
        ),
        (
            json!({"balancer": "app", "nonce": "nonce-app", "lbmethod": "roundrobin"}),
            400,
        ),
        (
            json!({"balancer": "app", "nonce": "nonce-app", "timeout": "3"}),
            400,
        ),
        (json!([1, 2]), 400),
    ];
    for (body, want) in cases {
        let (status, v) = json_call(&t, "POST", &body);
        assert_eq!(status, want, "{body} → {v}");
        assert!(v["error"].is_string());
    }
    let r = call(
        &t,
        Call {
            method: "POST",
            query: None,
            body: "{not json",
            headers: vec![header("Content-Type", "application/json")],
        },
    );
    assert_eq!(r.status, 400);
    assert_eq!(t.0.sb.balancer(0).timeout_ms(), 0);
}

#[test]
fn form_decoding() {
    assert_eq!(
        parse_form("a=1+2&b=%2541&c&d=x%3Dy"),
        vec![
            ("a".into(), "1 2".into()),
            ("b".into(), "A".into()),
            ("c".into(), "".into()),
            ("d".into(), "x=y".into()),
        ]
    );
}
