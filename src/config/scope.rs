//! The directives the main server and a `<VirtualHost>` share: ProxyPass and friends,
//! cookie rules, `<Location>` / `<LocationMatch>`, `<Proxy>` / `<ProxyMatch>`, ProxySet,
//! BalancerMember, the per-server proxy settings and the access log directives.

use std::path::PathBuf;
use std::time::Duration;

use crate::access::{self, Parent, Require, SectionKind};

use super::balancer::{self, Registry};
use super::build::{GLOBAL_ONLY, NOT_PER_VHOST};
use super::health::{self, Templates};
use super::logs::LogScope;
use super::params::{self, PassContext};
use super::reader::Directive;
use super::values;
use super::{env, headers};
use super::{
    ConfigError, CookieRule, HandlerKind, LocationHandler, Origin, PassTarget,
    ProxyPassReverseRule, ProxyPassRule, ProxyVia, WorkerParams,
};
use crate::rules::Section;

/// Directives that httpd also allows per directory, so that inside `<Location>` and
/// `<Proxy>` they are "not supported yet" rather than misplaced.
const PER_DIRECTORY: &[&str] = &[
    "ProxyPreserveHost",
    "ProxyAddHeaders",
    "LimitRequestBody",
    "Proxy100Continue",
    "ProxyWebsocketFallbackToProxyHttp",
    "Header",
    "RequestHeader",
    "SetEnv",
    "UnsetEnv",
    "SetEnvIf",
    "SetEnvIfNoCase",
    "BrowserMatch",
    "BrowserMatchNoCase",
];

/// The server-level directives this builder knows (canonical spelling) besides those of
/// `build.rs`'s [`GLOBAL_ONLY`] and [`NOT_PER_VHOST`] and `mpm.rs`'s process directives:
/// [`server_level`] asks all four lists, so each name is written once.
const SERVER_LEVEL: &[&str] = &[
    "ServerName",
    "ServerAlias",
    "ErrorLog",
    "ProxyRequests",
    "ProxyPreserveHost",
    "ProxyTimeout",
    "ProxyVia",
    "ProxyAddHeaders",
    "ProxyPassInherit",
    "BalancerInherit",
    "LogFormat",
    "CustomLog",
    "TransferLog",
    "LoadModule",
    "ProxyHCExpr",
    "ProxyHCTemplate",
    "ProxyExpressEnable",
    "ProxyExpressDBMFile",
    "ProxyExpressDBMType",
    "RemoteIPHeader",
    "RemoteIPProxiesHeader",
    "RemoteIPInternalProxy",
    "RemoteIPTrustedProxy",
    "RemoteIPInternalProxyList",
    "RemoteIPTrustedProxyList",
];

/// Whether `d` is a server-level directive (misplaced inside `<Location>` or `<Proxy>`):
/// its canonical name.
fn server_level(d: &Directive) -> Option<&'static str> {
    [
        SERVER_LEVEL,
        GLOBAL_ONLY,
        NOT_PER_VHOST,
        super::mpm::DIRECTIVES,
    ]
    .into_iter()
    .find_map(|list| named(d, list))
}

/// Sections that only occur at server level (or in a vhost).
const SERVER_SECTIONS: &[&str] = &[
    "VirtualHost",
    "Location",
    "LocationMatch",
    "Proxy",
    "ProxyMatch",
];

/// What every scope shares while building.
pub(super) struct Ctx {
    pub balancers: Registry,
    /// `ProxyHCExpr` and `ProxyHCTemplate` definitions (one namespace for all servers).
    pub health: health::Defs,
    /// Already prefixed with `FILE:LINE: `.
    pub warnings: Vec<String>,
    pub root: PathBuf,
    /// Errors of lines inside a `<Proxy>` or `<Location>` section, each skipped so
    /// the rest of the section is checked too; the builder collects them in
    /// reading order.
    pub errors: Vec<ConfigError>,
}

impl Ctx {
    pub fn warn(&mut self, origin: &Origin, warning: impl std::fmt::Display) {
        self.warnings.push(format!("{origin}: {warning}"));
    }
}

/// The directives of one server: the main server or a `<VirtualHost>`.
#[derive(Default)]
pub(super) struct Scope {
    pub location_rules: Vec<ProxyPassRule>,
    pub server_rules: Vec<ProxyPassRule>,
    pub reverse: Vec<ProxyPassReverseRule>,
    pub cookie_path: Vec<CookieRule>,
    pub cookie_domain: Vec<CookieRule>,
    pub logs: LogScope,
    pub preserve_host: Option<bool>,
    pub add_headers: Option<bool>,
    pub via: Option<ProxyVia>,
    /// `RemoteIPProxyProtocol On|Off` (mod_remoteip).
    pub proxy_protocol: Option<bool>,
    /// `RemoteIPProxyProtocolExceptions` networks (collected for the whole server).
    pub proxy_protocol_exceptions: Vec<access::IpNet>,
    pub timeout: Option<Duration>,
    pub pass_inherit: Option<bool>,
    /// `<Location>` sections with `SetHandler`, in file order.
    pub handlers: Vec<LocationHandler>,
    /// `<Location path>` sections with access rules, in file order.
    pub access: Vec<super::AccessSection>,
    /// `<Proxy pattern>` sections with access rules, in file order (`path` is the
    /// pattern, without `proxy:`).
    pub proxy_access: Vec<super::AccessSection>,
    /// ProxyExpressEnable / ProxyExpressDBMFile / ProxyExpressDBMType.
    pub express: super::express::ExpressScope,
    /// RewriteEngine / RewriteOptions / RewriteMap / RewriteCond / RewriteRule.
    pub rewrite: super::rewrite::RewriteScope,
    /// RemoteIPHeader and its proxy lists.
    pub remoteip: super::remoteip::RemoteIpScope,
    /// Header, RequestHeader, SetEnv, UnsetEnv, SetEnvIf and friends.
    pub rules: crate::rules::Rules,
}

impl Scope {
    /// The rules in evaluation order. httpd merges every `<Location>` that matches a
    /// request in file order, so the *last* matching Location's ProxyPass wins, not the
    /// most specific one (checked on httpd 2.4: with <Location /z/y> written before
    /// <Location /z>, /z/y/x goes to /z's URL). As usual the specific one is written after
    /// the broader one, and then it wins. Routing takes the first matching rule, so the
    /// Location rules go first in reverse file order, then the server-level rules in file
    /// order (reference §2.2).
    pub fn take_rules(&mut self) -> Vec<ProxyPassRule> {
        let mut rules = std::mem::take(&mut self.location_rules);
        rules.reverse();
        rules.append(&mut self.server_rules);
        rules
    }
}

pub(super) fn fail(d: &Directive, message: impl Into<String>) -> ConfigError {
    ConfigError::at(&d.origin, message)
}

/// An unknown directive's error; it names httpd's module when the directive is one
/// of httpd's (`httpd::MODULE_OF`).
pub(super) fn unknown(d: &Directive) -> ConfigError {
    let written = match d.children {
        Some(_) => format!("<{}>", d.name),
        None => d.name.clone(),
    };
    match super::httpd::module_of(&d.name) {
        Some(module) => fail(
            d,
            format!("'{written}' is {module}'s directive, which slotgate does not serve"),
        ),
        None => fail(d, format!("unknown directive '{written}'")),
    }
}

/// A value parser's message as an error at `d`.
pub(super) fn check<T>(d: &Directive, parsed: Result<T, String>) -> Result<T, ConfigError> {
    parsed.map_err(|m| fail(d, m))
}

/// The single argument of `d`, or an error naming `name`.
pub(super) fn one_arg<'a>(d: &'a Directive, name: &str) -> Result<&'a str, ConfigError> {
    match d.args.as_slice() {
        [arg] => Ok(arg),
        args => Err(fail(
            d,
            format!("{name} takes one argument, got {}", args.len()),
        )),
    }
}

/// `name On|Off`.
pub(super) fn flag(d: &Directive, name: &str) -> Result<bool, ConfigError> {
    check(d, values::on_off(name, one_arg(d, name)?))
}

/// The canonical spelling of `d`'s name if it is in `list`.
pub(super) fn named<'a>(d: &Directive, list: &[&'a str]) -> Option<&'a str> {
    list.iter().find(|n| d.is(n)).copied()
}

impl Scope {
    /// A directive that the main server and a vhost both take. Ok(false) when `d` is none
    /// of them.
    pub fn directive(&mut self, ctx: &mut Ctx, d: &Directive) -> Result<bool, ConfigError> {
        if d.children.is_some() {
            if d.is("Location") || d.is("LocationMatch") {
                self.location(ctx, d)?;
            } else if d.is("Proxy") || d.is("ProxyMatch") {
                self.proxy_section(ctx, d)?;
            } else {
                return Ok(false);
            }
            return Ok(true);
        }
        match d.name.to_ascii_lowercase().as_str() {
            "proxypass" | "proxypassmatch" => self.pass(ctx, d, PassContext::Server)?,
            "proxypassreverse" => self.reverse.push(params::proxy_pass_reverse(d, None)?),
            "proxypassreversecookiepath" => self.cookie_path.push(cookie_rule(d)?),
            "proxypassreversecookiedomain" => self.cookie_domain.push(cookie_rule(d)?),
            "proxyset" => self.proxy_set(ctx, d)?,
            "balancermember" => {
                let (name, member) = balancer::balancer_member(d, None, &ctx.health.templates)?;
                ctx.balancers.add_member(&name, member)?;
            }
            "proxyrequests" => {
                if flag(d, "ProxyRequests")? {
                    return Err(fail(
                        d,
                        "forward proxying (ProxyRequests On) is not supported",
                    ));
                }
            }
            "proxypreservehost" => self.preserve_host = Some(flag(d, "ProxyPreserveHost")?),
            "proxyaddheaders" => self.add_headers = Some(flag(d, "ProxyAddHeaders")?),
            "proxytimeout" => {
                let arg = one_arg(d, "ProxyTimeout")?;
                self.timeout = Some(check(d, values::whole_seconds("ProxyTimeout", arg, 1))?);
            }
            "proxyvia" => self.via = Some(check(d, proxy_via(one_arg(d, "ProxyVia")?))?),
            "proxypassinherit" => self.pass_inherit = Some(flag(d, "ProxyPassInherit")?),
            "order" | "allow" | "deny" | "satisfy" => {
                // httpd: "order not allowed here" (directory context only).
                let name = named(d, &["Order", "Allow", "Deny", "Satisfy"]).unwrap_or("Order");
                return Err(fail(
                    d,
                    format!(
                        "{name} not allowed here: mod_access_compat's directives go in a \
                         <Location> section"
                    ),
                ));
            }
            "remoteipproxyprotocol" => {
                self.proxy_protocol = Some(flag(d, "RemoteIPProxyProtocol")?);
            }
            "remoteipproxyprotocolexceptions" => {
                if d.args.is_empty() {
                    return Err(fail(
                        d,
                        "RemoteIPProxyProtocolExceptions takes one or more addresses or networks",
                    ));
                }
                for a in &d.args {
                    let net = access::IpNet::parse(a)
                        .map_err(|m| fail(d, format!("RemoteIPProxyProtocolExceptions: {m}")))?;
                    self.proxy_protocol_exceptions.push(net);
                }
            }
            "balancerinherit" => {
                if !flag(d, "BalancerInherit")? {
                    ctx.warn(
                        &d.origin,
                        "BalancerInherit Off has no effect: balancers form one namespace for \
                         the whole server in slotgate",
                    );
                }
            }
            "proxyhcexpr" | "proxyhctemplate" => {
                health::directive(&mut ctx.health, d)?;
            }
            "logformat" => self.logs.log_format(d)?,
            "customlog" => self.logs.custom_log(d, &ctx.root, false)?,
            "transferlog" => self.logs.custom_log(d, &ctx.root, true)?,
            _ if self.rewrite.directive(d, ctx)? => {}
            _ if self.remoteip.directive(d, &ctx.root)? => {}
            _ if super::headers::directive(&mut self.rules, d, None)?
                || super::env::directive(&mut self.rules, ctx, d)? => {}
            _ => return self.express.directive(d, &ctx.root),
        }
        Ok(true)
    }

    /// One `ProxyPass` / `ProxyPassMatch`; a balancer target's parameters go to the
    /// balancer.
    fn pass(&mut self, ctx: &mut Ctx, d: &Directive, at: PassContext) -> Result<(), ConfigError> {
        let pass = params::proxy_pass(d, at, &ctx.health.templates)?;
        if let Some(w) = pass.warning {
            ctx.warn(&d.origin, w);
        }
        if let Some((name, words)) = pass.balancer {
            let what = if d.is("ProxyPassMatch") {
                "ProxyPassMatch"
            } else {
                "ProxyPass"
            };
            let params = ctx.balancers.named_by_pass(&name, &d.origin, what);
            for (key, value) in words {
                balancer::apply_balancer_param(params, &key, &value)
                    .map_err(|m| fail(d, format!("{what}: {m}")))?;
            }
        }
        match at {
            PassContext::Server => self.server_rules.push(pass.rule),
            _ => self.location_rules.push(pass.rule),
        }
        Ok(())
    }

    fn location(&mut self, ctx: &mut Ctx, section: &Directive) -> Result<(), ConfigError> {
        let is_match = section.is("LocationMatch");
        let tag = if is_match {
            "LocationMatch"
        } else {
            "Location"
        };
        let at = match (is_match, section.args.as_slice()) {
            (true, [regex]) | (false, [_, regex]) if is_match || section.args[0] == "~" => {
                check(
                    section,
                    params::check_regex(regex).map_err(|m| format!("<{tag}>: {m}")),
                )?;
                PassContext::LocationMatch(regex)
            }
            (false, [path]) => {
                if !path.starts_with('/') {
                    return Err(fail(
                        section,
                        format!("<Location>: path must begin with '/', got '{path}'"),
                    ));
                }
                if path.contains(['*', '?', '[']) {
                    return Err(fail(
                        section,
                        format!("<Location {path}>: wildcard paths are not supported yet"),
                    ));
                }
                PassContext::Location(path)
            }
            (true, _) => {
                return Err(fail(
                    section,
                    "<LocationMatch> takes one argument, a regular expression",
                ))
            }
            (false, _) => return Err(fail(section, "<Location> takes one argument, a URL path")),
        };
        let mut pass: Option<&Directive> = None;
        let mut handler: Option<(HandlerKind, &Directive)> = None;
        // Require lines and sections, checked as they come; whether they are kept
        // depends on SetHandler, which may come later in the section.
        let mut require: Vec<(Require, &Directive)> = Vec::new();
        // Order / Allow / Deny / Satisfy, checked as they come; kept for a
        // <Location path> (see below).
        let mut compat = CompatDraft::default();
        let mut compat_lines: Vec<&Directive> = Vec::new();
        let errors_before = ctx.errors.len();
        // Header, RequestHeader, SetEnv… of the section (crate::rules).
        let mut neighbour = crate::rules::Rules::default();
        for d in section.children.iter().flatten() {
            // Each line is checked on its own, so every error of the section is found.
            let mut line = || -> Result<(), ConfigError> {
                if d.children.is_some() {
                    if let Some(kind) = SectionKind::from_name(&d.name) {
                        require.push((require_section(d, kind, Parent::Top)?, d));
                        return Ok(());
                    }
                    return Err(match named(d, SERVER_SECTIONS) {
                        Some(name) => {
                            fail(d, format!("<{name}> cannot occur within <{tag}> section"))
                        }
                        None => unknown(d),
                    });
                }
                if d.is("Require") {
                    let rule = check(d, access::require_line(&d.args, Parent::Top))?;
                    require.push((rule, d));
                    return Ok(());
                }
                if named(d, &["Order", "Allow", "Deny", "Satisfy"]).is_some() {
                    compat_line(&mut compat, d)?;
                    compat_lines.push(d);
                    return Ok(());
                }
                match d.name.to_ascii_lowercase().as_str() {
                    "sethandler" => {
                        let name = one_arg(d, "SetHandler")?;
                        let PassContext::Location(_) = at else {
                            return Err(fail(
                                d,
                                format!(
                                "SetHandler inside <{tag}> is not supported; use <Location path>"
                            ),
                            ));
                        };
                        if name.eq_ignore_ascii_case("none") {
                            // httpd: no handler (a Location nested in a handler's path).
                            handler = None;
                            return Ok(());
                        }
                        let Some(kind) = HandlerKind::from_name(name) else {
                            return Err(fail(
                                d,
                                format!(
                                    "SetHandler '{name}' is not supported (balancer-manager, \
                                 server-status or metrics)"
                                ),
                            ));
                        };
                        // As in httpd, a later SetHandler replaces an earlier one.
                        handler = Some((kind, d));
                    }
                    "proxypass" => {
                        if let Some(first) = pass {
                            return Err(fail(
                            d,
                            format!(
                                "ProxyPass: only one per <{tag}>; this one already has the one at {}",
                                first.origin
                            ),
                        ));
                        }
                        pass = Some(d);
                        if let PassContext::LocationMatch(regex) = at {
                            if !fnmatch_test(regex) {
                                return Err(fail(
                                    d,
                                    format!(
                                    "ProxyPass inside <{tag} {regex}>: httpd compares a pattern \
                                     without *, ? or [...] as a plain prefix, so this rule would \
                                     never match; write the regex with .* (e.g. {regex}.*)"
                                ),
                                ));
                            }
                        }
                        self.pass(ctx, d, at)?;
                    }
                    "proxypassmatch" => {
                        return Err(fail(
                            d,
                            format!(
                                "ProxyPassMatch inside <{tag}> is not supported yet; \
                             use ProxyPass URL inside <LocationMatch regex>"
                            ),
                        ))
                    }
                    "proxypassreverse" => {
                        let PassContext::Location(path) = at else {
                            return Err(fail(
                                d,
                                format!(
                                    "ProxyPassReverse inside <{tag}> is not supported \
                                 (httpd would use the regular expression as the path)"
                                ),
                            ));
                        };
                        self.reverse
                            .push(params::proxy_pass_reverse(d, Some(path))?);
                    }
                    "proxypassreversecookiepath" => self.cookie_path.push(cookie_rule(d)?),
                    "proxypassreversecookiedomain" => self.cookie_domain.push(cookie_rule(d)?),
                    _ => {
                        if let Some(e) = super::rewrite::per_directory(d, tag) {
                            return Err(e);
                        }
                        if super::headers::directive(&mut neighbour, d, Some(tag))?
                            || super::env::directive(&mut neighbour, ctx, d)?
                        {
                            return Ok(());
                        }
                        if let Some(name) = named(d, PER_DIRECTORY)
                            .or_else(|| named(d, &["BalancerMember", "ProxySet"]))
                        {
                            return Err(fail(
                                d,
                                format!("{name} inside <{tag}> is not supported yet"),
                            ));
                        }
                        if let Some(name) = server_level(d) {
                            return Err(fail(
                                d,
                                format!("{name} cannot occur within <{tag}> section"),
                            ));
                        }
                        if super::httpd::ignored(ctx, d)? {
                            return Ok(());
                        }
                        return Err(unknown(d));
                    }
                }
                Ok(())
            };
            if let Err(e) = line() {
                ctx.errors.push(e);
            }
        }
        let covers = match at {
            PassContext::Location(path) => Section::Location(path.to_string()),
            PassContext::LocationMatch(regex) => Section::LocationMatch(
                regex::bytes::Regex::new(regex).expect("checked by check_regex"),
            ),
            PassContext::Server => unreachable!("a section has a path or a regex"),
        };
        if !neighbour.is_empty() {
            self.rules.sections.push((covers.clone(), neighbour));
        }
        if ctx.errors.len() > errors_before {
            // The section's own checks would judge what is left of it: misleading.
            return Ok(());
        }
        let has_compat = compat_lines.iter().any(|d| !d.is("Satisfy"));
        let satisfy = compat_lines
            .iter()
            .any(|d| d.is("Satisfy"))
            .then_some(compat.satisfy_any);
        if !require.is_empty() || !compat_lines.is_empty() {
            self.access.push(super::AccessSection {
                section: covers,
                require: access::top(require.iter().map(|(r, _)| r.clone()).collect()),
                compat: has_compat.then(|| compat.rules.clone()),
                satisfy_any: satisfy,
                origin: section.origin.clone(),
            });
        }
        let Some((kind, set_handler)) = handler else {
            return Ok(());
        };
        if let Some(p) = pass {
            return Err(fail(
                set_handler,
                format!(
                    "SetHandler and ProxyPass (at {}) in the same <{tag}>: a location either \
                     proxies or runs a handler",
                    p.origin
                ),
            ));
        }
        let PassContext::Location(path) = at else {
            unreachable!("SetHandler is refused outside <Location path>");
        };
        let require = access::top(require.into_iter().map(|(r, _)| r).collect());
        let has_compat = !compat_lines.is_empty();
        if kind == HandlerKind::BalancerManager && require.is_none() && !has_compat {
            ctx.warn(
                &section.origin,
                format!(
                    "<Location {path}> with SetHandler balancer-manager has no Require line \
                     (nor Order/Allow/Deny): it refuses every client (403) until one is added, \
                     e.g. Require ip 127.0.0.1"
                ),
            );
        }
        self.handlers.push(LocationHandler {
            path: path.to_string(),
            handler: kind,
            require,
            compat: has_compat.then_some(compat.rules),
            satisfy_any: compat.satisfy_any,
            origin: section.origin.clone(),
        });
        Ok(())
    }

    /// `<Proxy pattern [key=value…]>` and `<ProxyMatch regex>`.
    fn proxy_section(&mut self, ctx: &mut Ctx, section: &Directive) -> Result<(), ConfigError> {
        let is_match = section.is("ProxyMatch");
        let tag = if is_match { "ProxyMatch" } else { "Proxy" };
        let Some(pattern) = section.args.first() else {
            return Err(fail(section, format!("<{tag}> takes a URL pattern")));
        };
        let pattern = match pattern.get(..6) {
            Some(p) if p.eq_ignore_ascii_case("proxy:") => &pattern[6..],
            _ => pattern.as_str(),
        };
        let args = &section.args[1..];
        let kind = if is_match {
            check(
                section,
                params::check_regex(pattern).map_err(|m| format!("<ProxyMatch>: {m}")),
            )?;
            if !args.is_empty() {
                return Err(fail(
                    section,
                    "<ProxyMatch> takes one argument, a regular expression",
                ));
            }
            ProxyKind::Other
        } else if let Some(parsed) = balancer::balancer_url(pattern) {
            let (name, _) = parsed.map_err(|m| fail(section, format!("<Proxy>: {m}")))?;
            let params = ctx.balancers.define(&name, &section.origin);
            balancer::apply_balancer_words(params, args, section, "<Proxy>")?;
            ProxyKind::Balancer(name)
        } else if fnmatch_test(pattern) || !pattern.contains("://") {
            if let Some(arg) = args.first() {
                return Err(fail(
                    section,
                    format!("<Proxy {pattern}>: parameters ('{arg}') are only allowed for a worker or balancer URL"),
                ));
            }
            ProxyKind::Other
        } else {
            let mut params = Vec::new();
            worker_words(&mut params, args, section, "<Proxy>", &ctx.health.templates)?;
            ProxyKind::Worker(params)
        };
        let mut kind = kind;
        // Which URLs the section's header, environment and access rules cover.
        let covers = if is_match {
            Section::ProxyMatch(regex::bytes::Regex::new(pattern).expect("checked by check_regex"))
        } else {
            Section::Proxy(pattern.to_string())
        };
        let mut neighbour = crate::rules::Rules::default();
        let mut require: Vec<Require> = Vec::new();
        let mut compat = CompatDraft::default();
        let (mut has_compat, mut satisfy) = (false, None);
        for d in section.children.iter().flatten() {
            // Access rules, as in <Location[Match]>.
            let mut line = || -> Result<bool, ConfigError> {
                if let Some(kind) = d
                    .children
                    .as_ref()
                    .and_then(|_| SectionKind::from_name(&d.name))
                {
                    require.push(require_section(d, kind, Parent::Top)?);
                } else if d.children.is_some() {
                    return Ok(false);
                } else if d.is("Require") {
                    require.push(check(d, access::require_line(&d.args, Parent::Top))?);
                } else if named(d, &["Order", "Allow", "Deny", "Satisfy"]).is_some() {
                    compat_line(&mut compat, d)?;
                    if d.is("Satisfy") {
                        satisfy = Some(compat.satisfy_any);
                    } else {
                        has_compat = true;
                    }
                } else {
                    return Ok(false);
                }
                Ok(true)
            };
            match line() {
                Ok(true) => {}
                Ok(false) => {
                    if let Err(e) = proxy_line(ctx, d, &mut kind, tag, pattern, &mut neighbour) {
                        ctx.errors.push(e);
                    }
                }
                Err(e) => ctx.errors.push(e),
            }
        }
        if !require.is_empty() || has_compat || satisfy.is_some() {
            self.proxy_access.push(super::AccessSection {
                section: covers.clone(),
                require: access::top(require),
                compat: has_compat.then_some(compat.rules),
                satisfy_any: satisfy,
                origin: section.origin.clone(),
            });
        }
        if !neighbour.is_empty() {
            self.rules.sections.push((covers, neighbour));
        }
        if let ProxyKind::Worker(params) = kind {
            if !params.is_empty() {
                let what = format!("<Proxy {pattern}>");
                self.set_worker(pattern, &params, &ctx.health.templates)
                    .map_err(|m| fail(section, format!("{what}: {m}")))?;
            }
        }
        Ok(())
    }

    /// `ProxySet URL key=value…` outside a section: the balancer or worker must be named
    /// earlier in the file (as httpd).
    fn proxy_set(&mut self, ctx: &mut Ctx, d: &Directive) -> Result<(), ConfigError> {
        let Some((url, words)) = d.args.split_first() else {
            return Err(fail(
                d,
                "ProxySet takes a balancer or worker URL and key=value parameters",
            ));
        };
        if let Some(parsed) = balancer::balancer_url(url) {
            let (name, _) = parsed.map_err(|m| fail(d, format!("ProxySet: {m}")))?;
            let Some(params) = ctx.balancers.known(&name) else {
                return Err(fail(d, format!("ProxySet: {name} is not defined (yet)")));
            };
            return balancer::apply_balancer_words(params, words, d, "ProxySet");
        }
        if url.contains('=') {
            return Err(fail(
                d,
                "ProxySet outside <Proxy> must name a balancer or worker first: ProxySet URL key=value…",
            ));
        }
        let mut params = Vec::new();
        worker_words(&mut params, words, d, "ProxySet", &ctx.health.templates)?;
        self.set_worker(url, &params, &ctx.health.templates)
            .map_err(|m| fail(d, format!("ProxySet: {m}")))
    }

    /// Applies worker parameters (already checked) to the standalone workers of this scope
    /// whose worker name is `url`'s. httpd would create the worker when no earlier
    /// `ProxyPass` uses it; that (and worker sharing by URL prefix) is not supported yet.
    fn set_worker(
        &mut self,
        url: &str,
        params: &[(String, String)],
        templates: &Templates,
    ) -> Result<(), String> {
        let name = params::member_url_name(url)?;
        let mut found = false;
        let rules = self
            .location_rules
            .iter_mut()
            .chain(self.server_rules.iter_mut());
        for rule in rules {
            let PassTarget::Url(target) = &rule.target else {
                continue;
            };
            if params::member_url_name(target).ok().as_ref() != Some(&name) {
                continue;
            }
            found = true;
            for (key, value) in params {
                params::apply_worker_param(&mut rule.params, key, value, templates)?;
            }
        }
        if !found {
            return Err(format!(
                "worker {name} is not defined (yet): no earlier ProxyPass of this server uses it \
                 (defining a worker with ProxySet or <Proxy> is not supported yet)"
            ));
        }
        Ok(())
    }
}

/// What a `<Proxy>` section names.
enum ProxyKind {
    /// `balancer://name`.
    Balancer(String),
    /// A worker URL, with the worker parameters given so far.
    Worker(Vec<(String, String)>),
    /// A wildcard, a regex or a non-URL pattern.
    Other,
}

/// Checks worker `key=value` words and appends them to `params`.
fn worker_words(
    params: &mut Vec<(String, String)>,
    words: &[String],
    d: &Directive,
    what: &str,
    templates: &Templates,
) -> Result<(), ConfigError> {
    let mut scratch = WorkerParams::default();
    for (key, value) in params::key_values(words, d, what)? {
        params::apply_worker_param(&mut scratch, key, value, templates)
            .map_err(|m| fail(d, format!("{what}: {m}")))?;
        params.push((key.to_string(), value.to_string()));
    }
    Ok(())
}

/// The mod_access_compat lines of a `<Location>` so far.
#[derive(Default)]
struct CompatDraft {
    rules: access::compat::Compat,
    satisfy_any: bool,
}

/// One `Order`, `Allow`, `Deny` or `Satisfy` line of a `<Location>`.
fn compat_line(draft: &mut CompatDraft, d: &Directive) -> Result<(), ConfigError> {
    use access::compat;
    let name = d.name.to_ascii_lowercase();
    match name.as_str() {
        "order" => draft.rules.order = check(d, compat::Order::parse(&d.args))?,
        "allow" => {
            let mut list = check(d, compat::from_line("Allow", &d.args))?;
            draft.rules.allow.append(&mut list);
        }
        "deny" => {
            let mut list = check(d, compat::from_line("Deny", &d.args))?;
            draft.rules.deny.append(&mut list);
        }
        _ => draft.satisfy_any = check(d, compat::satisfy_any(&d.args))?,
    }
    Ok(())
}

/// A `<RequireAll|Any|None>` section added to `parent`, with its nested rules;
/// errors at the line that has them.
fn require_section(
    section: &Directive,
    kind: SectionKind,
    parent: Parent,
) -> Result<Require, ConfigError> {
    let tag = kind.name();
    if let Some(arg) = section.args.first() {
        return Err(fail(
            section,
            format!("{tag} takes no arguments, got '{arg}'"),
        ));
    }
    let inside = Parent::Section(kind);
    let mut rules = Vec::new();
    for d in section.children.iter().flatten() {
        if d.children.is_some() {
            let Some(child) = SectionKind::from_name(&d.name) else {
                return Err(fail(
                    d,
                    format!(
                        "<{}> cannot occur within {tag} section (only Require, <RequireAll>, \
                         <RequireAny> and <RequireNone> can)",
                        d.name
                    ),
                ));
            };
            rules.push(require_section(d, child, inside)?);
        } else if d.is("Require") {
            rules.push(check(d, access::require_line(&d.args, inside))?);
        } else {
            return Err(fail(
                d,
                format!(
                    "{} cannot occur within {tag} section (only Require, <RequireAll>, \
                     <RequireAny> and <RequireNone> can)",
                    d.name
                ),
            ));
        }
    }
    check(section, access::section(kind, parent, rules))
}

/// `ProxyPassReverseCookiePath|Domain internal public [interpolate]`.
fn cookie_rule(d: &Directive) -> Result<CookieRule, ConfigError> {
    let name = if d.is("ProxyPassReverseCookiePath") {
        "ProxyPassReverseCookiePath"
    } else {
        "ProxyPassReverseCookieDomain"
    };
    let (internal, public) = match d.args.as_slice() {
        [internal, public] => (internal, public),
        [internal, public, keyword] if keyword.eq_ignore_ascii_case("interpolate") => {
            (internal, public)
        }
        [_, _, other] => {
            return Err(fail(
                d,
                format!("{name}: the third argument can only be 'interpolate', got '{other}'"),
            ))
        }
        _ => {
            return Err(fail(
                d,
                format!("{name} takes an internal and a public value, and optionally interpolate"),
            ))
        }
    };
    Ok(CookieRule {
        internal: internal.clone(),
        public: public.clone(),
        origin: d.origin.clone(),
    })
}

/// httpd treats a `<LocationMatch>` pattern without a wildcard as a plain
/// prefix when it matches the `ProxyPass` inside (`crate::url::has_wildcard`).
fn fnmatch_test(pattern: &str) -> bool {
    crate::url::has_wildcard(pattern)
}

pub(super) fn proxy_via(value: &str) -> Result<ProxyVia, String> {
    Ok(match value.to_ascii_lowercase().as_str() {
        "off" => ProxyVia::Off,
        "on" => ProxyVia::On,
        "full" => ProxyVia::Full,
        "block" => ProxyVia::Block,
        _ => {
            return Err(format!(
                "ProxyVia: expected Off, On, Full or Block, got '{value}'"
            ))
        }
    })
}

/// One line of a `<Proxy>` section (see `Scope::proxy_section`).
fn proxy_line(
    ctx: &mut Ctx,
    d: &Directive,
    kind: &mut ProxyKind,
    tag: &str,
    pattern: &str,
    neighbour: &mut crate::rules::Rules,
) -> Result<(), ConfigError> {
    if d.children.is_some() {
        return Err(match named(d, SERVER_SECTIONS) {
            Some(name) => fail(d, format!("<{name}> cannot occur within <{tag}> section")),
            None => unknown(d),
        });
    }
    if d.is("BalancerMember") {
        let ProxyKind::Balancer(name) = &*kind else {
            return Err(fail(
                    d,
                    format!("BalancerMember inside <{tag} {pattern}>: only a <Proxy balancer://…> section takes members"),
                ));
        };
        let (_, member) = balancer::balancer_member(d, Some(name), &ctx.health.templates)?;
        ctx.balancers.add_member(name, member)?;
    } else if d.is("ProxySet") {
        match kind {
                ProxyKind::Balancer(name) => {
                    let params = ctx
                        .balancers
                        .known(name)
                        .expect("the section defined it");
                    balancer::apply_balancer_words(params, &d.args, d, "ProxySet")?;
                }
                ProxyKind::Worker(params) => {
                    worker_words(params, &d.args, d, "ProxySet", &ctx.health.templates)?
                }
                ProxyKind::Other => {
                    return Err(fail(
                        d,
                        format!("ProxySet inside <{tag} {pattern}> is not supported yet (it names no single worker or balancer)"),
                    ))
                }
            }
    } else if let Some(e) = super::rewrite::per_directory(d, tag) {
        return Err(e);
    } else if headers::directive(neighbour, d, Some(tag))? || env::directive(neighbour, ctx, d)? {
        return Ok(());
    } else if let Some(name) = named(d, PER_DIRECTORY) {
        return Err(fail(
            d,
            format!("{name} inside <{tag}> is not supported yet"),
        ));
    } else if let Some(name) =
        server_level(d).or_else(|| named(d, &["ProxyPass", "ProxyPassMatch", "ProxyPassReverse"]))
    {
        return Err(fail(
            d,
            format!("{name} cannot occur within <{tag}> section"),
        ));
    } else if !super::httpd::ignored(ctx, d)? {
        return Err(unknown(d));
    }
    Ok(())
}
