//! ServerSignature, UseCanonicalName, TraceEnable and ServerAdmin per
//! `<VirtualHost>` (issue #15): each vhost's own setting over the main
//! server's. conf/corpus/vhosts-signature-trace.conf runs the same shape
//! through apache2; httpd's answers for it, recorded (port 8080 named by
//! `ServerName locked.example.com:8080`):
//! - Host `www.example.com` (main settings: Off), `/nothing` → 404, no footer;
//! - Host `locked.example.com` (EMail, UseCanonicalName On) → 404, footer
//!   `Server at <a href="mailto:ops@example.com">locked.example.com</a> Port 8080`;
//! - Host `open.example.com:81` (On) → footer `Server at open.example.com Port 81`;
//! - `TRACE /app/x`: locked → 405 (TraceEnable Off there), open → proxied;
//! - `/app/redirect?to=ORIGIN/app/login`, Host `locked.example.com:9999` →
//!   `Location: http://locked.example.com:8080/app/login`; Host
//!   `open.example.com:9999` → `http://open.example.com:9999/app/login`.

mod common;

use common::*;

const VHOSTS: &str = "ServerSignature Off
TraceEnable On
ProxyPass /app http://{a}/app
ProxyPassReverse /app http://{a}/app
<VirtualHost *>
    ServerName www.example.com
</VirtualHost>
<VirtualHost *>
    ServerName locked.example.com:8080
    ServerAdmin ops@example.com
    ServerSignature EMail
    UseCanonicalName On
    TraceEnable Off
</VirtualHost>
<VirtualHost *>
    ServerName open.example.com
    ServerSignature On
</VirtualHost>
";

fn footer(r: &Response) -> Option<String> {
    let text = r.text();
    let start = text.find(" Server at")?;
    let end = text[start..].find("</address>")? + start;
    Some(text[start..end].to_string())
}

#[test]
fn each_vhost_has_its_own_signature_trace_and_canonical_name() {
    let a = Origin::start("a");
    let sg = start_proxy(VHOSTS, &[&a]);
    let get = |path: &str, host: &str| http_get(sg.port(), path, &[("Host", host)]);

    let r = get("/nothing", "www.example.com");
    assert_eq!((r.status, footer(&r)), (404, None));
    let r = get("/nothing", "locked.example.com");
    assert_eq!(r.status, 404);
    assert_eq!(
        footer(&r).as_deref(),
        Some(" Server at <a href=\"mailto:ops@example.com\">locked.example.com</a> Port 8080")
    );
    let r = get("/nothing", "open.example.com:81");
    assert_eq!(
        footer(&r).as_deref(),
        Some(" Server at open.example.com Port 81")
    );

    let trace = |host: &str| http_request(sg.port(), "TRACE", "/app/x", &[("Host", host)], None);
    assert_eq!(trace("locked.example.com").status, 405);
    let r = trace("open.example.com");
    assert_eq!((r.status, r.origin()), (200, "a"), "{}", r.summary());

    let to = format!("/app/redirect?to=http://{}/app/login", a.addr());
    let r = get(&to, "locked.example.com:9999");
    assert_eq!(
        r.header("location"),
        Some("http://locked.example.com:8080/app/login")
    );
    let r = get(&to, "open.example.com:9999");
    assert_eq!(
        r.header("location"),
        Some("http://open.example.com:9999/app/login")
    );
}
