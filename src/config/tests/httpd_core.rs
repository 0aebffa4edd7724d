//! httpd's directives outside the proxy family (issue #15 point 5): served, accepted
//! with a warning, or refused naming their module; `<IfModule>` after `LoadModule`.

use super::{config, error, parse, FILE, LISTEN};
use crate::config::{ServerSignature, ServerTokens};

#[test]
fn behaviour_directives_are_read() {
    let c = config(
        "ServerTokens Prod\nServerSignature EMail\nServerAdmin ops@x.test\n\
         UseCanonicalName On\nExtendedStatus On\nHostnameLookups Off\n",
    );
    let p = &c.presentation;
    assert_eq!(p.server_tokens, ServerTokens::Prod);
    assert_eq!(p.server_signature, ServerSignature::Email);
    assert_eq!(p.server_admin.as_deref(), Some("ops@x.test"));
    assert!(p.use_canonical_name);
    assert_eq!(p.server_header, "slotgate");
    assert!(p.trace_enable);
    assert!(!config("TraceEnable Off\n").presentation.trace_enable);
    assert!(config("TraceEnable extended\n").presentation.trace_enable);
    // httpd's defaults: ServerTokens Full, ServerSignature Off.
    let c = config("");
    assert_eq!(c.presentation.server_tokens, ServerTokens::Full);
    assert_eq!(
        c.presentation.server_header,
        format!("slotgate/{} (Unix)", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(c.presentation.server_signature, ServerSignature::Off);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let c = config("ServerAdmin ops@x.test\n");
    assert!(
        c.warnings[0].ends_with(":2: ServerAdmin is only shown by ServerSignature EMail (in slotgate's error pages); otherwise it has no effect"),
        "{:?}",
        c.warnings
    );
}

#[test]
fn what_slotgate_cannot_do_is_refused_with_the_reason() {
    for (line, want) in [
        ("HostnameLookups On", "slotgate does no reverse DNS lookups"),
        (
            "HostnameLookups Double",
            "slotgate does no reverse DNS lookups",
        ),
        (
            "UseCanonicalName DNS",
            "slotgate does no reverse DNS lookups",
        ),
        (
            "ErrorDocument 503 /maint.html",
            "ErrorDocument is not supported",
        ),
        (
            "ServerTokens Everything",
            "expected Prod, Major, Minor, Min, OS or Full",
        ),
        ("ServerSignature Maybe", "expected On, Off or EMail"),
    ] {
        let e = error(&format!("{LISTEN}{line}\n"));
        assert!(e.starts_with(&format!("{FILE}:2: ")), "{e}");
        assert!(e.contains(want), "{line}: {e}");
    }
    // Whole-server directives, as httpd.
    let e = error(&format!(
        "{LISTEN}<VirtualHost *:80>\nServerTokens Prod\n</VirtualHost>\n"
    ));
    assert!(
        e.ends_with(":3: ServerTokens cannot occur within <VirtualHost> section"),
        "{e}"
    );
}

#[test]
fn file_serving_directives_are_accepted_with_a_warning_naming_them() {
    let c = config(
        "DocumentRoot /var/www/html\nOptions FollowSymLinks\n<Directory /var/www/>\n\
         Options Indexes FollowSymLinks\nAllowOverride None\nRequire all granted\n</Directory>\n\
         <FilesMatch \"^\\.ht\">\nRequire all denied\n</FilesMatch>\nAccessFileName .htaccess\n\
         <VirtualHost *:80>\nServerAdmin webmaster@localhost\nDocumentRoot /var/www/html\n\
         DirectoryIndex index.html\n</VirtualHost>\n",
    );
    let w = c.warnings.join("\n");
    for want in [
        ":2: DocumentRoot ignored: slotgate serves no files",
        ":3: Options ignored",
        ":4: <Directory> section ignored: it applies to files on disk",
        ":9: <FilesMatch> section ignored",
        ":12: AccessFileName ignored: slotgate reads no .htaccess files",
        ":14: ServerAdmin is only shown by ServerSignature EMail",
        ":15: DocumentRoot ignored",
        ":16: DirectoryIndex ignored",
    ] {
        assert!(w.contains(want), "missing '{want}' in:\n{w}");
    }
    // Inside <Location> and <Proxy> too (Debian's proxy.conf: AddDefaultCharset off).
    let c = config(
        "<Location /app>\nOptions None\nProxyPass http://127.0.0.1:1\n</Location>\n\
         <Proxy *>\nAddDefaultCharset off\n</Proxy>\n",
    );
    let w = c.warnings.join("\n");
    assert!(w.contains(":3: Options ignored"), "{w}");
    assert!(w.contains(":7: AddDefaultCharset ignored"), "{w}");
    // A proxy rule hidden in a <Directory> is not dropped with it: httpd refuses it too.
    let e = error(&format!(
        "{LISTEN}<Directory /srv>\nProxyPass / http://h/\n</Directory>\n"
    ));
    assert!(
        e.ends_with(":3: ProxyPass cannot occur within <Directory> section"),
        "{e}"
    );
}

#[test]
fn unknown_directives_name_their_httpd_module() {
    assert_eq!(
        error(&format!("{LISTEN}SSLStaplingCache shmcb:/x(32768)\n")),
        format!(
            "{FILE}:2: 'SSLStaplingCache' is mod_ssl's directive, which slotgate does not serve"
        )
    );
    assert_eq!(
        error(&format!(
            "{LISTEN}<VirtualHost *:80>\nAlias /icons/ /usr/share/icons/\n</VirtualHost>\n"
        )),
        format!("{FILE}:3: 'Alias' is mod_alias's directive, which slotgate does not serve")
    );
    assert_eq!(
        error(&format!(
            "{LISTEN}<Location /x>\nExpiresActive On\n</Location>\n"
        )),
        format!(
            "{FILE}:3: 'ExpiresActive' is mod_expires's directive, which slotgate does not serve"
        )
    );
    assert_eq!(
        error(&format!("{LISTEN}Frobnicate 1\n")),
        format!("{FILE}:2: unknown directive 'Frobnicate'")
    );
}

#[test]
fn if_module_holds_for_a_module_load_module_names() {
    // Before the LoadModule the section is false (skipped); after it, true, and its body
    // is read: a directive slotgate does not serve is then an error, not silence.
    let text = format!(
        "{LISTEN}<IfModule mod_expires.c>\nExpiresActive On\n</IfModule>\n\
         LoadModule expires_module /usr/lib/apache2/modules/mod_expires.so\n\
         <IfModule mod_expires.c>\nExpiresActive On\n</IfModule>\n"
    );
    assert_eq!(
        error(&text),
        format!(
            "{FILE}:7: 'ExpiresActive' is mod_expires's directive, which slotgate does not serve"
        )
    );
    // Both spellings, and the served modules without any LoadModule.
    let c = config(
        "LoadModule dir_module /x/mod_dir.so\n<IfModule dir_module>\nDirectoryIndex index.html\n\
         </IfModule>\n<IfModule mod_dir.c>\nDirectoryIndex index.html\n</IfModule>\n\
         <IfModule !mod_dir.c>\nFrobnicate\n</IfModule>\n<IfModule mod_proxy.c>\nProxyTimeout 7\n</IfModule>\n",
    );
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    assert_eq!(c.proxy_timeout, Some(std::time::Duration::from_secs(7)));
    assert!(parse(&format!(
        "{LISTEN}<IfModule mod_nothing.c>\nFrobnicate\n</IfModule>\n"
    ))
    .is_ok());
}
