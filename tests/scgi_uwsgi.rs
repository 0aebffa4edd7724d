//! SCGI and uwsgi members through the real binary (issue #16 §4), against a
//! real uWSGI (Debian uwsgi-core + uwsgi-plugin-python3) serving a small WSGI
//! application on its uwsgi socket and its SCGI socket.

mod common;

use common::uwsgi::Uwsgi;
use common::*;

fn line(r: &Response, key: &str) -> Option<String> {
    let prefix = format!("{key}=");
    r.text()
        .lines()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
}

#[test]
fn uwsgi_over_its_uwsgi_socket() {
    let Some(u) = Uwsgi::start() else { return };
    let sg = start_proxy(&format!("ProxyPass /u/ uwsgi://{}/\n", u.uwsgi_addr()), &[]);
    // httpd-oracle, the same ProxyPass: the app saw PATH_INFO=/a/b SCRIPT_NAME=/u BODY_LEN=5.
    let r = http_request(sg.port(), "POST", "/u/a/b?x=1", &[], Some(b"hello"));
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(r.header("x-app"), Some("wsgi"));
    assert_eq!(line(&r, "PATH_INFO").as_deref(), Some("/a/b"));
    assert_eq!(line(&r, "SCRIPT_NAME").as_deref(), Some("/u"));
    assert_eq!(line(&r, "QUERY_STRING").as_deref(), Some("x=1"));
    assert_eq!(line(&r, "BODY_LEN").as_deref(), Some("5"));
    assert_eq!(line(&r, "REQUEST_METHOD").as_deref(), Some("POST"));
    let r = http_get(sg.port(), "/u/x?status=404", &[]);
    assert_eq!(r.status, 404, "{}", r.summary());
    let body = pattern(3 * 1024 * 1024);
    let r = http_request(sg.port(), "PUT", "/u/big", &[], Some(&body));
    assert_eq!(line(&r, "BODY_LEN"), Some(body.len().to_string()));
    assert_eq!(line(&r, "BODY_SHA256"), Some(sha256_hex(&body)));
}

#[test]
fn uwsgi_over_its_scgi_socket() {
    let Some(u) = Uwsgi::start() else { return };
    let sg = start_proxy(&format!("ProxyPass /s/ scgi://{}/\n", u.scgi_addr()), &[]);
    // httpd-oracle, the same ProxyPass: the app saw SCRIPT_NAME=/s/a/b (no
    // PATH_INFO), SCGI=1, BODY_LEN=5; uWSGI answered "Status: 200 OK".
    let r = http_request(sg.port(), "POST", "/s/a/b?x=1", &[], Some(b"hello"));
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(r.header("x-app"), Some("wsgi"));
    assert_eq!(line(&r, "SCRIPT_NAME").as_deref(), Some("/s/a/b"));
    assert_eq!(line(&r, "SCGI").as_deref(), Some("1"));
    assert_eq!(line(&r, "BODY_LEN").as_deref(), Some("5"));
    let r = http_get(sg.port(), "/s/x?status=418", &[]);
    assert_eq!(r.status, 418, "{}", r.summary());
}

#[test]
fn a_chunked_body_to_scgi_or_uwsgi_gets_411() {
    // httpd-oracle: a chunked POST to an SCGI or uwsgi member → 411 Length Required.
    let Some(u) = Uwsgi::start() else { return };
    let sg = start_proxy(
        &format!(
            "ProxyPass /s/ scgi://{}/\nProxyPass /u/ uwsgi://{}/\n",
            u.scgi_addr(),
            u.uwsgi_addr()
        ),
        &[],
    );
    for path in ["/s/x", "/u/x"] {
        let raw = format!(
            "POST {path} HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
             5\r\nhello\r\n0\r\n\r\n"
        );
        let r = send_raw(sg.port(), raw.as_bytes());
        assert!(
            r.starts_with(b"HTTP/1.1 411"),
            "{path}: {}",
            String::from_utf8_lossy(&r)
        );
    }
}
