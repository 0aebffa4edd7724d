//! httpd's directives outside the proxy family, as pasted configurations carry them
//! (issue #15 point 5, "nothing silent"):
//!
//! - the core directives that change what slotgate does: `ServerTokens` (the `Server`
//!   header and the version slotgate shows), `ServerSignature` (the footer of the error
//!   pages slotgate writes), `UseCanonicalName` (the host named in that footer),
//!   `ServerAdmin` (its `EMail` link), `TraceEnable`, `ExtendedStatus` (server-status is
//!   always extended),
//!   `HostnameLookups` (Off only);
//! - [`IGNORED`] / [`IGNORED_SECTIONS`]: directives that mean nothing to a server that
//!   serves no files, accepted with a `-t` warning that names them and says why;
//! - [`MODULE_OF`]: httpd 2.4's other directives and the module each belongs to, so
//!   that an unknown directive's error says "mod_X's directive, which slotgate does not
//!   serve" rather than only "unknown".

use super::reader::Directive;
use super::scope::{check, fail, flag, named, one_arg, Ctx};
use super::ConfigError;

/// `ServerTokens`: how much of the version the `Server` header shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ServerTokens {
    /// `slotgate`
    Prod,
    /// `slotgate/0`
    Major,
    /// `slotgate/0.1`
    Minor,
    /// `slotgate/0.1.0`
    Min,
    /// `slotgate/0.1.0 (Unix)`
    Os,
    /// As `OS` (httpd adds its modules' tokens; slotgate has none). httpd's default.
    #[default]
    Full,
}

/// `ServerSignature`: the footer line of locally written error pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ServerSignature {
    #[default]
    Off,
    On,
    /// As On, the host name a `mailto:` link to `ServerAdmin`.
    Email,
}

/// The core settings of this file, for the whole server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presentation {
    pub server_tokens: ServerTokens,
    pub server_signature: ServerSignature,
    /// `UseCanonicalName On`: the footer names ServerName, not the client's Host.
    pub use_canonical_name: bool,
    /// `ServerAdmin`, shown by `ServerSignature EMail`.
    pub server_admin: Option<String>,
    /// `TraceEnable` (Off = false: TRACE answered 405 everywhere). Default On: TRACE
    /// is proxied like any method (httpd forwards it to a member too).
    pub trace_enable: bool,
    /// [`Presentation::server_banner`], made once when the configuration is built: the
    /// `Server` header of slotgate's own answers, and of proxied ones whose member sent
    /// none (as httpd).
    pub server_header: String,
}

impl Default for Presentation {
    fn default() -> Presentation {
        Presentation {
            server_tokens: ServerTokens::default(),
            server_signature: ServerSignature::default(),
            use_canonical_name: false,
            server_admin: None,
            trace_enable: true,
            server_header: String::new(),
        }
    }
}

impl Presentation {
    /// The `Server` header's value (and the version server-status shows).
    pub fn server_banner(&self) -> String {
        let version = env!("CARGO_PKG_VERSION");
        let mut parts = version.split('.');
        let major = parts.next().unwrap_or("0");
        let minor = parts.next().unwrap_or("0");
        match self.server_tokens {
            ServerTokens::Prod => "slotgate".to_string(),
            ServerTokens::Major => format!("slotgate/{major}"),
            ServerTokens::Minor => format!("slotgate/{major}.{minor}"),
            ServerTokens::Min => format!("slotgate/{version}"),
            ServerTokens::Os | ServerTokens::Full => format!("slotgate/{version} (Unix)"),
        }
    }

    /// The `<address>` footer of an error page (with its `<hr>`), empty for
    /// `ServerSignature Off`. As httpd 2.4 (checked with httpd-oracle): with
    /// `UseCanonicalName Off` the name and port are the Host header's (`host`), the
    /// scheme's `default_port` when Host has none (the connection's `local_port`
    /// without a Host header); with `On` they are ServerName's (`server_name`), the
    /// scheme's port when it names none.
    pub fn signature(
        &self,
        host: Option<&str>,
        server_name: &str,
        local_port: u16,
        default_port: u16,
    ) -> String {
        if self.server_signature == ServerSignature::Off {
            return String::new();
        }
        let (name, port) = match (self.use_canonical_name, host) {
            (false, Some(h)) if !h.is_empty() => {
                let (name, port) = split_port(h);
                (name, port.unwrap_or(default_port))
            }
            (false, _) => (split_port(server_name).0, local_port),
            (true, _) => {
                let (name, port) = split_port(server_name);
                (name, port.unwrap_or(default_port))
            }
        };
        let name = crate::handlers::snapshot::html(name);
        let banner = self.server_banner();
        match (self.server_signature, &self.server_admin) {
            (ServerSignature::Email, Some(admin)) => format!(
                "<hr>\n<address>{banner} Server at <a href=\"mailto:{}\">{name}</a> Port {port}</address>\n",
                crate::handlers::snapshot::html(admin)
            ),
            _ => format!("<hr>\n<address>{banner} Server at {name} Port {port}</address>\n"),
        }
    }
}

/// What a `<VirtualHost>` sets of [`Presentation`] (httpd allows ServerSignature,
/// UseCanonicalName, TraceEnable and ServerAdmin there; ServerTokens is
/// server-wide): None keeps the main server's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VhostPresentation {
    pub server_signature: Option<ServerSignature>,
    pub use_canonical_name: Option<bool>,
    pub trace_enable: Option<bool>,
    pub server_admin: Option<String>,
}

/// The directives of [`VhostPresentation`].
pub(super) const PER_VHOST: &[&str] = &[
    "ServerSignature",
    "UseCanonicalName",
    "TraceEnable",
    "ServerAdmin",
];

impl VhostPresentation {
    /// The vhost's settings over the main server's `main`.
    pub fn over(&self, main: &Presentation) -> Presentation {
        Presentation {
            server_signature: self.server_signature.unwrap_or(main.server_signature),
            use_canonical_name: self.use_canonical_name.unwrap_or(main.use_canonical_name),
            trace_enable: self.trace_enable.unwrap_or(main.trace_enable),
            server_admin: self
                .server_admin
                .clone()
                .or_else(|| main.server_admin.clone()),
            ..main.clone()
        }
    }

    /// One of [`PER_VHOST`] inside `<VirtualHost>`; Ok(false) for any other.
    pub(super) fn directive(&mut self, ctx: &mut Ctx, d: &Directive) -> Result<bool, ConfigError> {
        if named(d, PER_VHOST).is_none() {
            return Ok(false);
        }
        // Read as the main server reads it, then kept as this vhost's own.
        let mut p = Presentation::default();
        directive(&mut p, ctx, d)?;
        match d.name.to_ascii_lowercase().as_str() {
            "serversignature" => self.server_signature = Some(p.server_signature),
            "usecanonicalname" => self.use_canonical_name = Some(p.use_canonical_name),
            "traceenable" => self.trace_enable = Some(p.trace_enable),
            _ => self.server_admin = p.server_admin,
        }
        Ok(true)
    }
}

/// Directives accepted anywhere and ignored, with why they do not matter to slotgate.
pub(super) const IGNORED: &[(&str, &str)] = &[
    (
        "DocumentRoot",
        "slotgate serves no files; requests no ProxyPass or handler takes get 404",
    ),
    (
        "Options",
        "it configures file serving, and slotgate serves no files",
    ),
    ("AllowOverride", "slotgate reads no .htaccess files"),
    ("AllowOverrideList", "slotgate reads no .htaccess files"),
    ("AccessFileName", "slotgate reads no .htaccess files"),
    ("DirectoryIndex", "slotgate serves no directories"),
    ("DirectorySlash", "slotgate serves no directories"),
    (
        "AddType",
        "slotgate serves no files (proxied responses keep their Content-Type)",
    ),
    ("AddCharset", "slotgate serves no files"),
    ("AddLanguage", "slotgate serves no files"),
    ("AddEncoding", "slotgate serves no files"),
    ("AddHandler", "slotgate serves no files"),
    ("AddOutputFilter", "slotgate serves no files"),
    ("DefaultLanguage", "slotgate serves no files"),
    ("LanguagePriority", "slotgate serves no files"),
    ("ForceLanguagePriority", "slotgate serves no files"),
    ("TypesConfig", "slotgate serves no files"),
    ("MIMEMagicFile", "slotgate serves no files"),
    (
        "AddDefaultCharset",
        "it applies to text httpd generates from files; slotgate's own pages name their charset",
    ),
    ("EnableSendfile", "slotgate serves no files"),
    ("EnableMMAP", "slotgate serves no files"),
    ("FileETag", "slotgate serves no files"),
    ("IndexOptions", "slotgate serves no directory listings"),
    ("IndexIgnore", "slotgate serves no directory listings"),
    ("AddIcon", "slotgate serves no directory listings"),
    ("AddIconByType", "slotgate serves no directory listings"),
    ("AddIconByEncoding", "slotgate serves no directory listings"),
    ("AddAlt", "slotgate serves no directory listings"),
    ("AddAltByType", "slotgate serves no directory listings"),
    ("AddAltByEncoding", "slotgate serves no directory listings"),
    ("AddDescription", "slotgate serves no directory listings"),
    ("DefaultIcon", "slotgate serves no directory listings"),
    ("ReadmeName", "slotgate serves no directory listings"),
    ("HeaderName", "slotgate serves no directory listings"),
    (
        "DefaultRuntimeDir",
        "slotgate keeps its run-time files where PidFile and ScoreboardFile say",
    ),
    (
        "Mutex",
        "slotgate's processes take no file or semaphore locks",
    ),
];

/// Sections accepted and ignored, body and all: they apply to files on disk, which
/// slotgate does not serve (a request is matched by `<Location>`).
pub(super) const IGNORED_SECTIONS: &[&str] =
    &["Directory", "DirectoryMatch", "Files", "FilesMatch"];

/// Proxy directives httpd refuses inside `<Directory>` and `<Files>`.
const NOT_PER_DIRECTORY: &[&str] = &[
    "ProxyPass",
    "ProxyPassMatch",
    "ProxyPassReverse",
    "ProxyPassReverseCookiePath",
    "ProxyPassReverseCookieDomain",
    "BalancerMember",
    "ProxySet",
    "VirtualHost",
    "Location",
    "LocationMatch",
    "Proxy",
    "ProxyMatch",
];

/// The behaviour directives of the core that this file sets. `Ok(false)` when `d` is
/// none of them, nor an ignored directive or section.
pub(super) fn directive(
    p: &mut Presentation,
    ctx: &mut Ctx,
    d: &Directive,
) -> Result<bool, ConfigError> {
    if d.children.is_some() {
        let Some(name) = named(d, IGNORED_SECTIONS) else {
            return Ok(false);
        };
        // What httpd itself refuses there must not disappear with the section.
        for child in d.children.iter().flatten() {
            if let Some(misplaced) = named(child, NOT_PER_DIRECTORY) {
                return Err(fail(
                    child,
                    format!("{misplaced} cannot occur within <{name}> section"),
                ));
            }
        }
        ctx.warn(
            &d.origin,
            format!(
                "<{name}> section ignored: it applies to files on disk, and slotgate serves \
                 no files (requests are matched by <Location>)"
            ),
        );
        return Ok(true);
    }
    match d.name.to_ascii_lowercase().as_str() {
        "servertokens" => p.server_tokens = check(d, server_tokens(one_arg(d, "ServerTokens")?))?,
        "serversignature" => {
            let arg = one_arg(d, "ServerSignature")?;
            p.server_signature = match arg.to_ascii_lowercase().as_str() {
                "off" => ServerSignature::Off,
                "on" => ServerSignature::On,
                "email" => ServerSignature::Email,
                _ => {
                    return Err(fail(
                        d,
                        format!("ServerSignature: expected On, Off or EMail, got '{arg}'"),
                    ))
                }
            };
        }
        "usecanonicalname" => {
            let arg = one_arg(d, "UseCanonicalName")?;
            if arg.eq_ignore_ascii_case("dns") {
                return Err(fail(
                    d,
                    "UseCanonicalName DNS is not supported: slotgate does no reverse DNS lookups \
                     (use On or Off)",
                ));
            }
            p.use_canonical_name = flag(d, "UseCanonicalName")?;
        }
        "traceenable" => {
            let arg = one_arg(d, "TraceEnable")?;
            // `extended` also allows a request body, which slotgate never refused.
            p.trace_enable = match arg.to_ascii_lowercase().as_str() {
                "on" | "extended" => true,
                "off" => false,
                _ => {
                    return Err(fail(
                        d,
                        format!("TraceEnable: expected On, Off or extended, got '{arg}'"),
                    ))
                }
            };
        }
        "serveradmin" => {
            p.server_admin = Some(one_arg(d, "ServerAdmin")?.to_string());
            ctx.warn(
                &d.origin,
                "ServerAdmin is only shown by ServerSignature EMail (in slotgate's error \
                 pages); otherwise it has no effect",
            );
        }
        // server-status is always extended in slotgate: the directive has nothing to change.
        "extendedstatus" => {
            flag(d, "ExtendedStatus")?;
        }
        "hostnamelookups" => {
            let arg = one_arg(d, "HostnameLookups")?;
            if !arg.eq_ignore_ascii_case("off") {
                let lower = arg.to_ascii_lowercase();
                return Err(fail(
                    d,
                    match lower.as_str() {
                        "on" | "double" => format!(
                            "HostnameLookups {arg} is not supported: slotgate does no reverse DNS \
                             lookups (%h logs the client's address, as with Off)"
                        ),
                        _ => format!("HostnameLookups: expected On, Off or Double, got '{arg}'"),
                    },
                ));
            }
        }
        "errordocument" => {
            return Err(fail(
                d,
                "ErrorDocument is not supported: slotgate writes its own error pages (httpd's \
                 shape) and would not serve the page or text given; remove it or keep the page \
                 on a member",
            ))
        }
        _ => return ignored(ctx, d),
    }
    Ok(true)
}

/// A directive of [`IGNORED`], anywhere (also inside `<Location>` and `<Proxy>`):
/// warned about, Ok(true); Ok(false) for any other.
pub(super) fn ignored(ctx: &mut Ctx, d: &Directive) -> Result<bool, ConfigError> {
    if d.children.is_some() {
        return Ok(false);
    }
    let Some((name, why)) = IGNORED.iter().find(|(n, _)| d.is(n)) else {
        return Ok(false);
    };
    if d.args.is_empty() {
        return Err(fail(d, format!("{name} takes at least one argument")));
    }
    ctx.warn(&d.origin, format!("{name} ignored: {why}"));
    Ok(true)
}

/// `host:port` → (host, Some(port)); `[v6]:port` alike; without a port (host, None).
pub(crate) fn split_port(value: &str) -> (&str, Option<u16>) {
    match value.rsplit_once(':') {
        Some((name, port)) if !port.contains(']') => match port.parse() {
            Ok(p) => (name, Some(p)),
            Err(_) => (value, None),
        },
        _ => (value, None),
    }
}

fn server_tokens(arg: &str) -> Result<ServerTokens, String> {
    Ok(match arg.to_ascii_lowercase().as_str() {
        "prod" | "productonly" => ServerTokens::Prod,
        "major" => ServerTokens::Major,
        "minor" => ServerTokens::Minor,
        "min" | "minimal" => ServerTokens::Min,
        "os" => ServerTokens::Os,
        "full" => ServerTokens::Full,
        _ => {
            return Err(format!(
                "ServerTokens: expected Prod, Major, Minor, Min, OS or Full, got '{arg}'"
            ))
        }
    })
}

/// httpd 2.4 directives slotgate does not serve, by module (from httpd's directive
/// index). The proxy family's directives that slotgate does not take are here too.
pub(super) const MODULE_OF: &[(&str, &str)] = &[
    // core
    ("AcceptFilter", "core"),
    ("AcceptPathInfo", "core"),
    ("CGIMapExtension", "core"),
    ("ContentDigest", "core"),
    ("DefaultType", "core"),
    ("EnableExceptionHook", "core"),
    ("Error", "core"),
    ("FlushMaxPipelined", "core"),
    ("FlushMaxThreshold", "core"),
    ("ForceType", "core"),
    ("GprofDir", "core"),
    ("HttpProtocolOptions", "core"),
    ("LimitInternalRecursion", "core"),
    ("LimitXMLRequestBody", "core"),
    ("MaxRangeOverlaps", "core"),
    ("MaxRangeReversals", "core"),
    ("MaxRanges", "core"),
    ("MergeTrailers", "core"),
    ("Protocol", "core"),
    ("Protocols", "core"),
    ("ProtocolsHonorOrder", "core"),
    ("QualifyRedirectURL", "core"),
    ("RegisterHttpMethod", "core"),
    ("RLimitCPU", "core"),
    ("RLimitMEM", "core"),
    ("RLimitNPROC", "core"),
    ("ScriptInterpreterSource", "core"),
    ("SeeRequestTail", "core"),
    ("ServerPath", "core"),
    ("SetInputFilter", "core"),
    ("SetOutputFilter", "core"),
    ("UseCanonicalPhysicalPort", "core"),
    ("If", "core"),
    ("ElseIf", "core"),
    ("Else", "core"),
    ("IfFile", "core"),
    ("IfDirective", "core"),
    ("IfSection", "core"),
    ("Limit", "core"),
    ("LimitExcept", "core"),
    // modules
    ("Alias", "mod_alias"),
    ("AliasMatch", "mod_alias"),
    ("Redirect", "mod_alias"),
    ("RedirectMatch", "mod_alias"),
    ("RedirectPermanent", "mod_alias"),
    ("RedirectTemp", "mod_alias"),
    ("ScriptAlias", "mod_alias"),
    ("ScriptAliasMatch", "mod_alias"),
    ("AuthType", "mod_authn_core"),
    ("AuthName", "mod_authn_core"),
    ("AuthBasicProvider", "mod_auth_basic"),
    ("AuthUserFile", "mod_authn_file"),
    ("AuthGroupFile", "mod_authz_groupfile"),
    ("AuthDigestProvider", "mod_auth_digest"),
    ("AuthLDAPURL", "mod_authnz_ldap"),
    ("AuthMerging", "mod_authz_core"),
    ("AuthzSendForbiddenOnFailure", "mod_authz_core"),
    ("RequireAll", "mod_authz_core"),
    ("RequireAny", "mod_authz_core"),
    ("RequireNone", "mod_authz_core"),
    ("Header", "mod_headers"),
    ("RequestHeader", "mod_headers"),
    ("RewriteEngine", "mod_rewrite"),
    ("RewriteRule", "mod_rewrite"),
    ("RewriteCond", "mod_rewrite"),
    ("RewriteMap", "mod_rewrite"),
    ("RewriteBase", "mod_rewrite"),
    ("RewriteOptions", "mod_rewrite"),
    ("SetEnv", "mod_env"),
    ("UnsetEnv", "mod_env"),
    ("PassEnv", "mod_env"),
    ("SetEnvIf", "mod_setenvif"),
    ("SetEnvIfNoCase", "mod_setenvif"),
    ("SetEnvIfExpr", "mod_setenvif"),
    ("BrowserMatch", "mod_setenvif"),
    ("BrowserMatchNoCase", "mod_setenvif"),
    ("RemoteIPHeader", "mod_remoteip"),
    ("RemoteIPInternalProxy", "mod_remoteip"),
    ("RemoteIPInternalProxyList", "mod_remoteip"),
    ("RemoteIPTrustedProxy", "mod_remoteip"),
    ("RemoteIPTrustedProxyList", "mod_remoteip"),
    ("RemoteIPProxiesHeader", "mod_remoteip"),
    ("Order", "mod_access_compat"),
    ("Allow", "mod_access_compat"),
    ("Deny", "mod_access_compat"),
    ("Satisfy", "mod_access_compat"),
    ("SSLStaplingCache", "mod_ssl"),
    ("SSLUseStapling", "mod_ssl"),
    ("SSLStaplingResponderTimeout", "mod_ssl"),
    ("SSLStaplingReturnResponderErrors", "mod_ssl"),
    ("SSLSessionCache", "mod_ssl"),
    ("SSLSessionCacheTimeout", "mod_ssl"),
    ("SSLSessionTickets", "mod_ssl"),
    ("SSLCompression", "mod_ssl"),
    ("SSLOpenSSLConfCmd", "mod_ssl"),
    ("SSLOptions", "mod_ssl"),
    ("SSLRandomSeed", "mod_ssl"),
    ("SSLPassPhraseDialog", "mod_ssl"),
    ("SSLVerifyClient", "mod_ssl"),
    ("SSLVerifyDepth", "mod_ssl"),
    ("SSLCACertificateFile", "mod_ssl"),
    ("SSLCACertificatePath", "mod_ssl"),
    ("SSLCARevocationFile", "mod_ssl"),
    ("SSLCARevocationPath", "mod_ssl"),
    ("SSLCertificateChainFile", "mod_ssl"),
    ("SSLRequire", "mod_ssl"),
    ("SSLRequireSSL", "mod_ssl"),
    ("SSLStrictSNIVHostCheck", "mod_ssl"),
    ("SSLUserName", "mod_ssl"),
    ("SSLFIPS", "mod_ssl"),
    ("SSLCryptoDevice", "mod_ssl"),
    ("SSLInsecureRenegotiation", "mod_ssl"),
    ("SSLHonorCipherOrder", "mod_ssl"),
    ("ExpiresActive", "mod_expires"),
    ("ExpiresByType", "mod_expires"),
    ("ExpiresDefault", "mod_expires"),
    ("AddOutputFilterByType", "mod_filter"),
    ("FilterDeclare", "mod_filter"),
    ("FilterProvider", "mod_filter"),
    ("FilterChain", "mod_filter"),
    ("DeflateCompressionLevel", "mod_deflate"),
    ("DeflateBufferSize", "mod_deflate"),
    ("DeflateMemLevel", "mod_deflate"),
    ("DeflateWindowSize", "mod_deflate"),
    ("DeflateFilterNote", "mod_deflate"),
    ("CacheEnable", "mod_cache"),
    ("CacheDisable", "mod_cache"),
    ("CacheRoot", "mod_cache_disk"),
    ("CacheDefaultExpire", "mod_cache"),
    ("CacheIgnoreHeaders", "mod_cache"),
    ("CacheQuickHandler", "mod_cache"),
    ("H2Direct", "mod_http2"),
    ("H2Push", "mod_http2"),
    ("H2MaxSessionStreams", "mod_http2"),
    ("SecRuleEngine", "mod_security2"),
    ("SecRule", "mod_security2"),
    ("PHPIniDir", "mod_php"),
    ("php_value", "mod_php"),
    ("php_flag", "mod_php"),
    ("php_admin_value", "mod_php"),
    ("php_admin_flag", "mod_php"),
    ("WSGIDaemonProcess", "mod_wsgi"),
    ("WSGIProcessGroup", "mod_wsgi"),
    ("WSGIScriptAlias", "mod_wsgi"),
    ("SuexecUserGroup", "mod_suexec"),
    ("UserDir", "mod_userdir"),
    ("CGIDScriptTimeout", "mod_cgid"),
    ("ScriptSock", "mod_cgid"),
    ("ScriptLog", "mod_cgi"),
    ("DavLockDB", "mod_dav_fs"),
    ("Dav", "mod_dav"),
    ("SubstituteMaxLineLength", "mod_substitute"),
    ("Substitute", "mod_substitute"),
    ("LuaHookTranslateName", "mod_lua"),
    ("ProxyHTMLEnable", "mod_proxy_html"),
    ("ProxyHTMLURLMap", "mod_proxy_html"),
    ("ProxyHTMLExtended", "mod_proxy_html"),
    ("ProxyErrorOverride", "mod_proxy"),
    ("ProxyRemote", "mod_proxy"),
    ("ProxyRemoteMatch", "mod_proxy"),
    ("NoProxy", "mod_proxy"),
    ("ProxyBlock", "mod_proxy"),
    ("ProxyDomain", "mod_proxy"),
    ("ProxyMaxForwards", "mod_proxy"),
    ("ProxyReceiveBufferSize", "mod_proxy"),
    ("ProxySourceAddress", "mod_proxy"),
    ("ProxyFCGIBackendType", "mod_proxy_fcgi"),
    ("ProxyFCGISetEnvIf", "mod_proxy_fcgi"),
    ("ProxyFtpDirCharset", "mod_proxy_ftp"),
    ("AllowCONNECT", "mod_proxy_connect"),
    ("ProxyHTMLInterp", "mod_proxy_html"),
    ("BufferSize", "mod_buffer"),
    ("KeptBodySize", "mod_request"),
    ("MaxRequestsPerChild", "mpm_common"),
    ("MaxClients", "mpm_common"),
    ("MaxMemFree", "mpm_common"),
    ("MaxSpareThreads", "mpm_common"),
    ("MinSpareThreads", "mpm_common"),
    ("ThreadLimit", "mpm_common"),
    ("ThreadStackSize", "mpm_common"),
    ("AsyncRequestWorkerFactor", "event"),
    ("CoreDumpDirectory", "mpm_common"),
    ("StatusCompat", "mod_status"),
    ("CookieTracking", "mod_usertrack"),
    ("CookieName", "mod_usertrack"),
    ("BalancerNonce", "mod_proxy"),
    ("Session", "mod_session"),
    ("SessionCookieName", "mod_session_cookie"),
    ("ModMimeUsePathInfo", "mod_mime"),
    ("RemoveType", "mod_mime"),
    ("RemoveHandler", "mod_mime"),
    ("MultiviewsMatch", "mod_mime"),
    ("BufferedLogs", "mod_log_config"),
    ("GlobalLog", "mod_log_config"),
    ("LogIOTrackTTFB", "mod_logio"),
    ("ErrorLogFormat", "core"),
];

/// The module `name` belongs to in httpd 2.4, when the table knows it.
pub(super) fn module_of(name: &str) -> Option<&'static str> {
    MODULE_OF
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|&(_, m)| m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn banners_follow_server_tokens() {
        let v = env!("CARGO_PKG_VERSION");
        let banner = |t| {
            Presentation {
                server_tokens: t,
                ..Presentation::default()
            }
            .server_banner()
        };
        assert_eq!(banner(ServerTokens::Prod), "slotgate");
        assert_eq!(banner(ServerTokens::Min), format!("slotgate/{v}"));
        assert_eq!(banner(ServerTokens::Full), format!("slotgate/{v} (Unix)"));
        assert!(banner(ServerTokens::Major).starts_with("slotgate/"));
        assert_eq!(server_tokens("ProductOnly"), Ok(ServerTokens::Prod));
        assert!(server_tokens("Everything").is_err());
    }

    #[test]
    fn the_signature_names_the_host_as_use_canonical_name_says() {
        let mut p = Presentation {
            server_tokens: ServerTokens::Prod,
            ..Presentation::default()
        };
        assert_eq!(p.signature(Some("a.test"), "main.test", 80, 80), "");
        p.server_signature = ServerSignature::On;
        // httpd-oracle, ServerSignature On: "Server at foo.test Port 99" (Host:
        // foo.test:99), "Server at www.example.com Port 80" (Host: www.example.com, on
        // port 39125), "Server at 127.0.0.1 Port 48109" (Host: 127.0.0.1:48109).
        assert_eq!(
            p.signature(Some("a.test"), "main.test", 8080, 80),
            "<hr>\n<address>slotgate Server at a.test Port 80</address>\n"
        );
        assert!(p
            .signature(Some("foo.test:99"), "main.test", 8080, 80)
            .contains("Server at foo.test Port 99"));
        assert!(p
            .signature(Some("[::1]"), "main.test", 8080, 443)
            .contains("Server at [::1] Port 443"));
        assert!(p
            .signature(None, "main.test", 8080, 80)
            .contains("Server at main.test Port 8080"));
        // UseCanonicalName On, ServerName proxy.test, Host foo.test:99: httpd-oracle says
        // "Server at proxy.test Port 80".
        p.use_canonical_name = true;
        assert!(p
            .signature(Some("foo.test:99"), "main.test", 8080, 80)
            .contains("Server at main.test Port 80"));
        p.server_signature = ServerSignature::Email;
        p.server_admin = Some("ops@x.test".into());
        assert!(p
            .signature(None, "main.test", 80, 80)
            .contains("<a href=\"mailto:ops@x.test\">main.test</a>"));
    }

    #[test]
    fn one_name_one_module() {
        for (i, (name, _)) in MODULE_OF.iter().enumerate() {
            let first = MODULE_OF
                .iter()
                .position(|(n, _)| n.eq_ignore_ascii_case(name));
            assert_eq!(first, Some(i), "{name} is listed twice");
        }
        assert_eq!(module_of("sslstaplingcache"), Some("mod_ssl"));
        assert_eq!(module_of("NoSuchThing"), None);
    }
}
