//! DocumentRoot, ProxyFCGIBackendType and `<FilesMatch>` proxy handlers
//! (issue #16 §3).

use super::{config, error, LISTEN};
use crate::codec::cgi::Backend;
use crate::config::FilePattern;

#[test]
fn document_root_is_kept_per_server() {
    let c = config(
        "DocumentRoot /var/www/html/\n<VirtualHost *:8080>\nServerName a\n\
         DocumentRoot \"/srv/a\"\n</VirtualHost>\n",
    );
    assert_eq!(c.cgi.document_root.as_deref(), Some("/var/www/html"));
    assert_eq!(c.vhosts[0].cgi.document_root.as_deref(), Some("/srv/a"));
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    let e = error(&format!("{LISTEN}DocumentRoot www\n"));
    assert!(
        e.contains("DocumentRoot 'www' must be an absolute path"),
        "{e}"
    );
}

#[test]
fn the_backend_type_is_fpm_or_generic_at_server_level() {
    assert_eq!(config("").cgi.backend, None);
    assert_eq!(
        config("ProxyFCGIBackendType GENERIC\n").cgi.backend,
        Some(Backend::Generic)
    );
    assert_eq!(
        config("ProxyFCGIBackendType fpm\n").cgi.backend,
        Some(Backend::Fpm)
    );
    let e = error(&format!("{LISTEN}ProxyFCGIBackendType CGI\n"));
    assert!(e.contains("expected FPM or GENERIC, got 'CGI'"), "{e}");
    let e = error(&format!(
        "{LISTEN}<VirtualHost *:8080>\nProxyFCGIBackendType GENERIC\n</VirtualHost>\n"
    ));
    assert!(e.contains("server level only"), "{e}");
}

#[test]
fn files_sections_without_a_proxy_handler_are_still_ignored_with_a_warning() {
    let c = config("<FilesMatch \"\\.phps$\">\nRequire all granted\n</FilesMatch>\n");
    assert!(c.cgi.file_handlers.is_empty());
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("<FilesMatch> section ignored")),
        "{:?}",
        c.warnings
    );
}

#[test]
fn a_proxy_handler_names_a_cgi_style_member() {
    let e = error(&format!(
        "{LISTEN}<FilesMatch \"\\.php$\">\nSetHandler \"proxy:http://127.0.0.1:8080\"\n</FilesMatch>\n"
    ));
    assert!(
        e.contains("only fcgi://, scgi:// and uwsgi:// members take files"),
        "{e}"
    );
    let e = error(&format!(
        "{LISTEN}<FilesMatch \"(\">\nSetHandler \"proxy:fcgi://127.0.0.1:9000\"\n</FilesMatch>\n"
    ));
    assert!(e.contains("bad regular expression"), "{e}");
    let e = error(&format!(
        "{LISTEN}<Directory /var/www>\n<FilesMatch \"\\.php$\">\n\
         SetHandler \"proxy:fcgi://127.0.0.1:9000\"\n</FilesMatch>\n</Directory>\n"
    ));
    assert!(e.contains("within <Directory> is not supported"), "{e}");
    let e = error(&format!(
        "{LISTEN}<FilesMatch \"\\.php$\">\nRequire ip 10.0.0.0/8\n\
         SetHandler \"proxy:fcgi://127.0.0.1:9000\"\n</FilesMatch>\n"
    ));
    assert!(e.contains("not supported yet"), "{e}");
}

#[test]
fn patterns_match_file_names() {
    let re = FilePattern::Regex(regex::Regex::new(r"\.php$").unwrap());
    assert!(re.matches("index.php") && !re.matches("index.phps"));
    let w = FilePattern::Wildcard("*.php".into());
    assert!(w.matches("x.php") && !w.matches("x.html"));
}

#[test]
fn set_env_if_lines_are_read_in_order() {
    let c = config(
        "ProxyFCGISetEnvIf \"true\" !HTTP_ACCEPT\n\
         ProxyFCGISetEnvIf \"reqenv('QUERY_STRING') =~ /magic/\" MAGIC \"yes %{reqenv:REQUEST_METHOD}\"\n\
         ProxyFCGISetEnvIf \"true\" EMPTYVAR\n",
    );
    let f = &c.cgi.fixups;
    assert_eq!(f.len(), 3);
    assert_eq!(
        (f[0].name.as_str(), f[0].value.is_none()),
        ("HTTP_ACCEPT", true)
    );
    assert_eq!(f[1].name, "MAGIC");
    assert_eq!(f[2].value, Some(crate::expr::Word::Literal(String::new())));
    for (line, want) in [
        ("ProxyFCGISetEnvIf true\n", "takes a condition"),
        ("ProxyFCGISetEnvIf \"true\" !X \"v\"\n", "takes no value"),
        (
            "ProxyFCGISetEnvIf \"reqenv('A') =~ /(x)/\" A \"$1\"\n",
            "back-references",
        ),
        ("ProxyFCGISetEnvIf \"nonsense(\" A\n", "the condition"),
        (
            "<VirtualHost *:8080>\nProxyFCGISetEnvIf true A\n</VirtualHost>\n",
            "server level only",
        ),
    ] {
        let e = error(&format!("{LISTEN}{line}"));
        assert!(e.contains(want), "{line}: {e}");
    }
}

#[test]
fn fcgi_directives_inside_sections_say_so() {
    for section in ["Location /app", "Proxy \"fcgi://127.0.0.1:9000\""] {
        let tag = section.split(' ').next().unwrap();
        let e = error(&format!(
            "{LISTEN}<{section}>\nProxyFCGIBackendType GENERIC\n</{tag}>\n"
        ));
        assert!(
            e.contains(&format!(
                "ProxyFCGIBackendType inside <{tag}> is not supported yet"
            )),
            "{e}"
        );
    }
}

#[test]
fn a_document_root_a_handler_uses_is_not_warned_about() {
    let c = config(
        "DocumentRoot /var/www/html\n<FilesMatch \"\\.php$\">\n\
         SetHandler \"proxy:unix:/run/php/php8.2-fpm.sock|fcgi://localhost\"\n</FilesMatch>\n",
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.cgi.file_handlers.len(), 1);
    assert_eq!(
        c.cgi.file_handlers[0].url,
        "unix:/run/php/php8.2-fpm.sock|fcgi://localhost"
    );
}

#[test]
fn scgi_redirects_and_sendfile_are_off() {
    config("ProxySCGIInternalRedirect Off\nProxySCGISendfile off\n");
    let e = error(&format!("{LISTEN}ProxySCGIInternalRedirect On\n"));
    assert!(
        e.contains("ProxySCGIInternalRedirect On is not supported"),
        "{e}"
    );
    let e = error(&format!("{LISTEN}ProxySCGISendfile X-Sendfile\n"));
    assert!(e.contains("only ProxySCGISendfile Off"), "{e}");
}
