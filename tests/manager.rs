//! The balancer-manager against the real binary with 4 workers (issue #7): a
//! change through the HTML form and through the JSON API reaches every worker
//! (the next 100 requests honour it, counted at the origins), a missing or
//! wrong nonce is refused, and `BalancerPersist On` keeps changes (an added
//! member included) across a full stop and start.

mod common;

use common::*;
use serde_json::json;

const MANAGER: &str = "<Location /balancer-manager>
  SetHandler balancer-manager
  Require ip 127.0.0.1
</Location>
ProxyPass /balancer-manager !
";

fn conf(origins: &[&Origin], extra: &str) -> String {
    render(
        &format!(
            "Listen 127.0.0.1:0
StartServers 4
LogLevel warn
ServerName manager.test
{extra}
<Proxy balancer://app growth=1>
  BalancerMember http://{{a}}
  BalancerMember http://{{b}}
</Proxy>
{MANAGER}ProxyPass / balancer://app/
"
        ),
        origins,
    )
}

/// Sends `n` requests and returns how many each origin got meanwhile.
fn spread(port: u16, origins: &[&Origin], n: usize) -> Vec<usize> {
    let before: Vec<usize> = origins.iter().map(|o| o.requests()).collect();
    for _ in 0..n {
        assert_eq!(http_get(port, "/x", &[]).status, 200);
    }
    origins
        .iter()
        .zip(before)
        .map(|(o, b)| o.requests() - b)
        .collect()
}

fn form_post(port: u16, body: &str, referer: bool) -> Response {
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if referer {
        headers.push(("Referer", "http://manager.test/balancer-manager"));
    }
    http_request(
        port,
        "POST",
        "/balancer-manager",
        &headers,
        Some(body.as_bytes()),
    )
}

#[test]
fn form_change_reaches_every_worker() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = Slotgate::start(&conf(&[&a, &b], ""));
    sg.wait_workers(4, std::time::Duration::from_secs(10));
    let port = sg.port();
    let page = http_get(port, "/balancer-manager", &[]);
    assert_eq!(page.status, 200);
    assert!(page
        .text()
        .contains("Load Balancer Manager for manager.test"));
    let n = manager_nonce(port);
    let wa = format!("http://{}", a.addr());

    // Disable a through the member form.
    let body = format!(
        "b=app&w={}&nonce={}&w_status_D=1",
        form_encode(&wa),
        form_encode(&n)
    );
    let r = form_post(port, &body, true);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("Init Dis "));
    assert_eq!(spread(port, &[&a, &b], 100), [0, 100]);

    // Re-enable with loadfactor 3: a gets 3/4 of the next 100.
    let body = format!(
        "b=app&w={}&nonce={}&w_status_D=0&w_lf=3",
        form_encode(&wa),
        form_encode(&n)
    );
    assert_eq!(form_post(port, &body, true).status, 200);
    assert_eq!(spread(port, &[&a, &b], 100), [75, 25]);

    // Missing or wrong nonce: refused, nothing changes.
    let body = format!("b=app&w={}&w_status_D=1", form_encode(&wa));
    assert_eq!(form_post(port, &body, true).status, 403);
    let body = format!("b=app&w={}&nonce=wrong&w_status_D=1", form_encode(&wa));
    assert_eq!(form_post(port, &body, true).status, 403);
    // No Referer: the parameters are dropped (the plain page, as httpd).
    let body = format!(
        "b=app&w={}&nonce={}&w_status_D=1",
        form_encode(&wa),
        form_encode(&n)
    );
    assert_eq!(form_post(port, &body, false).status, 200);
    assert_eq!(spread(port, &[&a, &b], 100), [75, 25]);

    // The XML view.
    let r = http_get(
        port,
        "/balancer-manager?xml=1",
        &[("Referer", "http://manager.test/balancer-manager")],
    );
    assert!(r.text().starts_with("<?xml"), "{}", r.text());
}

#[test]
fn json_change_reaches_every_worker() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let c = Origin::start("c");
    let sg = Slotgate::start(&conf(&[&a, &b], ""));
    sg.wait_workers(4, std::time::Duration::from_secs(10));
    let port = sg.port();
    let n = manager_nonce(port);
    let wb = format!("http://{}", b.addr());

    let (status, v) = manager_json_post(
        port,
        &json!({"balancer": "app", "nonce": n, "member": wb, "status": {"D": true}}),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(spread(port, &[&a, &b], 100), [100, 0]);

    // Add c (starts disabled), then enable it: a and c share.
    let wc = format!("http://{}", c.addr());
    let (status, v) = manager_json_post(
        port,
        &json!({"balancer": "app", "nonce": n, "add_member": wc}),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["balancers"][0]["members"][2]["status"], "Init Dis");
    let (status, _) = manager_json_post(
        port,
        &json!({"balancer": "app", "nonce": n, "member": wc, "status": {"D": false}}),
    );
    assert_eq!(status, 200);
    assert_eq!(spread(port, &[&a, &b, &c], 100), [50, 0, 50]);

    // Refusals.
    let (status, v) = manager_json_post(
        port,
        &json!({"balancer": "app", "member": wb, "status": {"D": false}}),
    );
    assert_eq!(status, 403, "{v}");
    let (status, _) = manager_json_post(
        port,
        &json!({"balancer": "app", "nonce": "nope", "member": wb, "status": {"D": false}}),
    );
    assert_eq!(status, 403);
    let (status, _) = manager_json_post(
        port,
        &json!({"balancer": "app", "nonce": n, "add_member": "http://127.0.0.1:9"}),
    );
    assert_eq!(status, 400, "growth=1 is used up");
    assert_eq!(spread(port, &[&a, &b, &c], 100), [50, 0, 50]);
}

#[test]
fn persistence_across_a_full_restart() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let c = Origin::start("c");
    let keep = TempDir::new();
    let sb_path = keep.path().join("slotgate.scoreboard");
    let text = conf(
        &[&a, &b],
        &format!(
            "BalancerPersist On\nScoreboardFile \"{}\"",
            sb_path.display()
        ),
    );
    let wb = format!("http://{}", b.addr());
    let wc = format!("http://{}", c.addr());
    {
        let mut sg = Slotgate::start(&text);
        let port = sg.port();
        let n = manager_nonce(port);
        for change in [
            json!({"balancer": "app", "nonce": n, "member": wb, "loadfactor": 3}),
            json!({"balancer": "app", "nonce": n, "add_member": wc}),
            json!({"balancer": "app", "nonce": n, "member": wc, "status": {"D": false}, "loadfactor": 4}),
        ] {
            let (status, v) = manager_json_post(port, &change);
            assert_eq!(status, 200, "{v}");
        }
        assert_eq!(spread(port, &[&a, &b, &c], 80), [10, 30, 40]);
        sg.stop();
    }
    assert!(keep.path().join("slotgate.scoreboard.persist").exists());
    let sg = Slotgate::start(&text);
    let port = sg.port();
    let s = manager_state(port);
    let members = &s["balancers"][0]["members"];
    assert_eq!(members.as_array().map(Vec::len), Some(3), "{s}");
    assert_eq!(spread(port, &[&a, &b, &c], 80), [10, 30, 40]);
}
