//! Issue #15 point 5, end to end: what `-t` says about a pasted httpd configuration
//! (every error at once, each naming the httpd module), and what the core directives
//! slotgate serves do on the wire (ServerTokens, ServerSignature, TraceEnable).

mod common;

use common::{check_config, http_get, http_request, start_proxy, RefusingPort, TempDir};

#[test]
fn check_lists_every_refused_line_naming_its_module() {
    let dir = TempDir::new();
    let text = "Listen 127.0.0.1:0\n\
                SSLStaplingCache shmcb:/x(1)\n\
                Alias /icons/ /usr/share/apache2/icons/\n\
                HostnameLookups On\n\
                ErrorDocument 404 /missing.html\n\
                LoadModule expires_module /usr/lib/apache2/modules/mod_expires.so\n\
                <IfModule mod_expires.c>\n\
                ExpiresActive On\n\
                </IfModule>\n\
                DocumentRoot /var/www/html\n";
    let (out, path) = check_config(&dir, "pasted.conf", text);
    assert_eq!(out.code(), Some(1), "{out:?}");
    let all = format!("{}{}", out.stdout, out.stderr);
    for want in [
        format!(
            "{path}:2: 'SSLStaplingCache' is mod_ssl's directive, which slotgate does not serve"
        ),
        format!("{path}:3: 'Alias' is mod_alias's directive, which slotgate does not serve"),
        format!(
            "{path}:4: HostnameLookups On is not supported: slotgate does no reverse DNS lookups"
        ),
        format!("{path}:5: ErrorDocument is not supported"),
        // Read because LoadModule named the module (httpd's rule), then refused.
        format!(
            "{path}:8: 'ExpiresActive' is mod_expires's directive, which slotgate does not serve"
        ),
    ] {
        assert!(all.contains(&want), "missing '{want}' in:\n{all}");
    }
}

#[test]
fn server_tokens_signature_and_trace_enable_act_on_the_wire() {
    let a = common::Origin::start("a");
    let refused = RefusingPort::new();
    let rules = format!(
        "ServerTokens Prod\nServerSignature On\nTraceEnable Off\n\
         ProxyPass /app http://{{a}}/app\nProxyPass /down http://{}/\n",
        refused.addr()
    );
    let sg = start_proxy(&rules, &[&a]);
    // A proxied answer whose member sent no Server header gets slotgate's (httpd adds
    // its own banner the same way); ServerTokens Prod: the product only.
    let r = http_get(sg.port(), "/app/x", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("server"), Some("slotgate"), "{}", r.summary());
    // A local error page: the same header, and the signature footer naming the Host's
    // name and port (httpd-oracle: "Server at public.test Port 8443").
    let r = http_get(sg.port(), "/down/x", &[("Host", "public.test:8443")]);
    assert_eq!(r.status, 503);
    assert_eq!(r.header("server"), Some("slotgate"));
    assert!(
        r.text()
            .contains("<hr>\n<address>slotgate Server at public.test Port 8443</address>"),
        "{}",
        r.text()
    );
    // TraceEnable Off: 405, the member never asked.
    let before = a.requests();
    let r = http_request(sg.port(), "TRACE", "/app/x", &[], None);
    assert_eq!(r.status, 405, "{}", r.summary());
    assert_eq!(a.requests(), before);
}
