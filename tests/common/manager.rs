//! Talking to a balancer-manager at `/balancer-manager` (tests/manager.rs,
//! tests/health_runtime.rs): its JSON state, the first balancer's nonce, a
//! JSON change, and form-urlencoding.

use serde_json::Value;

use super::client::{http_get, http_request};

/// The manager's whole state (`?json`).
pub fn manager_state(port: u16) -> Value {
    let r = http_get(port, "/balancer-manager?json", &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    serde_json::from_slice(&r.body).expect("JSON state")
}

/// The nonce of the first balancer.
pub fn manager_nonce(port: u16) -> String {
    manager_state(port)["balancers"][0]["nonce"]
        .as_str()
        .expect("a nonce")
        .to_string()
}

/// A JSON change (PATCH): the status and the JSON answer (Null if none).
pub fn manager_json_post(port: u16, v: &Value) -> (u16, Value) {
    let body = v.to_string();
    let r = http_request(
        port,
        "PATCH",
        "/balancer-manager",
        &[("Content-Type", "application/json")],
        Some(body.as_bytes()),
    );
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

/// A form change (POST) with the Referer the manager wants (`manager.test`).
pub fn manager_form_post(port: u16, body: &str) -> super::client::Response {
    http_request(
        port,
        "POST",
        "/balancer-manager",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Referer", "http://manager.test/balancer-manager"),
        ],
        Some(body.as_bytes()),
    )
}

/// Percent-encodes everything but ASCII letters and digits (a form value).
pub fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                (c as char).to_string()
            } else {
                format!("%{c:02X}")
            }
        })
        .collect()
}
