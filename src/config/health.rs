//! Health-check configuration (reference §2.10, §5): the `hc*` worker parameters,
//! `ProxyHCExpr`, `ProxyHCTemplate` and `ProxyHCTPsize`.
//!
//! Expressions and templates form one namespace for the whole server (httpd keeps one per
//! virtual host); a name defined twice is an error. `hctemplate=` copies a template defined
//! *earlier* in the file, as httpd; `hcexpr=` may name an expression defined anywhere in the
//! file (httpd wants it earlier), checked once everything is read.

use std::time::Duration;

use super::reader::Directive;
use super::values::{self, TimeUnit};
use super::{Config, ConfigError, HcExprDef, HcMethod, HealthCheck, Origin, PassTarget};
use crate::expr;

/// The health-check worker keys.
pub(crate) const HC_KEYS: &[&str] = &[
    "hcmethod",
    "hcuri",
    "hcinterval",
    "hcpasses",
    "hcfails",
    "hcexpr",
    "hctemplate",
];

/// Longest `hcuri` + 1 (httpd's `hcuri[64]`).
const MAX_HCURI: usize = 64;
/// Longest expression name + 1 (httpd's `hcexpr[16]`).
const MAX_EXPR_NAME: usize = 16;
/// The shortest `hcinterval` (httpd's watchdog tick, `AP_WD_TM_SLICE`).
const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// The `ProxyHCTemplate`s defined so far, in file order: (name, settings).
pub(crate) type Templates = [(String, HealthCheck)];

/// Expressions and templates while the configuration is read.
#[derive(Debug, Default)]
pub(crate) struct Defs {
    pub exprs: Vec<HcExprDef>,
    pub templates: Vec<(String, HealthCheck)>,
    /// Where each of `templates` was defined.
    pub template_origins: Vec<Origin>,
}

/// The settings of a template before its keys: method TCP (not NONE), passes 1, fails 1,
/// interval 30 s (reference §5).
pub(crate) fn template_default() -> HealthCheck {
    HealthCheck {
        method: HcMethod::Tcp,
        ..HealthCheck::default()
    }
}

/// Applies one worker key to `health` when it is a health-check key (`k` lowercased);
/// Ok(false) for any other key. The error has no directive prefix.
pub(crate) fn apply_param(
    health: &mut HealthCheck,
    k: &str,
    value: &str,
    templates: &Templates,
) -> Result<bool, String> {
    match k {
        "hcmethod" => health.method = method(value)?,
        "hcuri" => {
            values::short_string(k, value, MAX_HCURI)?;
            health.uri = value.to_string();
        }
        "hcinterval" => {
            health.interval = values::time_at_least(k, value, TimeUnit::Seconds, MIN_INTERVAL)?
        }
        // httpd treats 0 like 1 (a count of 0 is reached by the first result).
        "hcpasses" => health.passes = count(k, value)?,
        "hcfails" => health.fails = count(k, value)?,
        "hcexpr" => {
            if value.is_empty() {
                return Err("hcexpr: empty expression name".to_string());
            }
            values::short_string(k, value, MAX_EXPR_NAME)?;
            health.expr = Some(value.to_string());
        }
        "hctemplate" => {
            if value.is_empty() {
                return Err("hctemplate: empty template name".to_string());
            }
            let Some((_, template)) = templates
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(value))
            else {
                let known = match templates.len() {
                    0 => "none is defined".to_string(),
                    _ => format!(
                        "defined: {}",
                        templates
                            .iter()
                            .map(|(n, _)| n.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                return Err(format!(
                    "hctemplate: unknown ProxyHCTemplate '{value}' (a template must be \
                     defined before it is used; {known})"
                ));
            };
            *health = template.clone();
        }
        _ => return Ok(false),
    }
    Ok(true)
}

fn method(value: &str) -> Result<HcMethod, String> {
    if let Some(m) = HcMethod::from_name(value) {
        return Ok(m);
    }
    let names: Vec<&str> = (0..HcMethod::COUNT)
        .map(|c| HcMethod::from_code(c).name())
        .collect();
    Err(format!(
        "hcmethod: expected one of {}, got '{value}'",
        names.join(", ")
    ))
}

/// Refuses a check the member's protocol cannot answer: CPING needs an AJP
/// member, OPTIONS/HEAD/GET an HTTP one (TCP fits all). httpd accepts these and
/// fails every check at run time; slotgate says so at `-t`.
fn method_fits(
    method: HcMethod,
    url: &str,
    origin: &Origin,
    what: &str,
) -> Result<(), ConfigError> {
    let scheme = crate::url::after_socket(url)
        .split_once("://")
        .and_then(|(s, _)| crate::url::Scheme::named(&s.to_ascii_lowercase()));
    match scheme.and_then(|s| method.misfit(&s)) {
        Some(why) => Err(ConfigError::at(origin, format!("{what}: {why}"))),
        None => Ok(()),
    }
}

fn count(k: &str, value: &str) -> Result<u32, String> {
    let n = values::integer(k, value, 0, i64::from(i32::MAX))?;
    Ok((n as u32).max(1))
}

/// `ProxyHCExpr` and `ProxyHCTemplate` (main server and virtual hosts). Ok(false) when `d`
/// is neither.
pub(super) fn directive(defs: &mut Defs, d: &Directive) -> Result<bool, ConfigError> {
    if d.is("ProxyHCExpr") {
        defs.exprs.push(expr_directive(defs, d)?);
    } else if d.is("ProxyHCTemplate") {
        let (name, health) = template_directive(defs, d)?;
        defs.templates.push((name, health));
        defs.template_origins.push(d.origin.clone());
    } else {
        return Ok(false);
    }
    Ok(true)
}

/// `ProxyHCExpr name {expression}` (the reader delivers the braces' content as one word).
fn expr_directive(defs: &Defs, d: &Directive) -> Result<HcExprDef, ConfigError> {
    let fail = |m: String| ConfigError::at(&d.origin, format!("ProxyHCExpr: {m}"));
    let (name, text) = match d.args.as_slice() {
        [name, text] => (name, text),
        [] | [_] => {
            return Err(fail(
                "expected a name and an expression in braces: ProxyHCExpr NAME {EXPRESSION}"
                    .to_string(),
            ))
        }
        [_, _, extra, ..] => {
            return Err(fail(format!(
                "unexpected '{extra}' after the expression (write the expression in \
                 braces: ProxyHCExpr NAME {{EXPRESSION}})"
            )))
        }
    };
    if name.is_empty() {
        return Err(fail("empty expression name".to_string()));
    }
    if name.len() >= MAX_EXPR_NAME {
        return Err(fail(format!(
            "the name '{name}' is longer than {} characters",
            MAX_EXPR_NAME - 1
        )));
    }
    if let Some(earlier) = defs
        .exprs
        .iter()
        .find(|e| e.name.eq_ignore_ascii_case(name))
    {
        return Err(fail(format!(
            "{name} is already defined (at {}); expression names are global in slotgate",
            earlier.origin
        )));
    }
    let expr = expr::parse(text).map_err(|m| fail(format!("{name} {{{text}}}: {m}")))?;
    Ok(HcExprDef {
        name: name.clone(),
        expr,
        origin: d.origin.clone(),
    })
}

/// `ProxyHCTemplate name key=value…`: only hc* keys.
fn template_directive(defs: &Defs, d: &Directive) -> Result<(String, HealthCheck), ConfigError> {
    let fail = |m: String| ConfigError::at(&d.origin, format!("ProxyHCTemplate: {m}"));
    let Some((name, words)) = d.args.split_first() else {
        return Err(fail(
            "expected a name and hc* parameters: ProxyHCTemplate NAME key=value…".to_string(),
        ));
    };
    if name.is_empty() || name.contains('=') {
        return Err(fail(format!(
            "expected a template name first, got '{name}' (ProxyHCTemplate NAME key=value…)"
        )));
    }
    if let Some(i) = defs
        .templates
        .iter()
        .position(|(n, _)| n.eq_ignore_ascii_case(name))
    {
        return Err(fail(format!(
            "{name} is already defined (at {}); template names are global in slotgate",
            defs.template_origins[i]
        )));
    }
    let mut health = template_default();
    for word in words {
        let Some((key, value)) = word.split_once('=') else {
            return Err(fail(format!(
                "{name}: parameters must be key=value, got '{word}'"
            )));
        };
        let k = key.to_ascii_lowercase();
        if !apply_param(&mut health, &k, value, &defs.templates)
            .map_err(|m| fail(format!("{name}: {m}")))?
        {
            return Err(fail(format!(
                "{name}: only health-check parameters ({}) are allowed, got '{key}'",
                HC_KEYS.join(", ")
            )));
        }
    }
    Ok((name.clone(), health))
}

/// `ProxyHCTPsize n` (main server only). Ok(false) for any other directive.
pub(super) fn server_directive(config: &mut Config, d: &Directive) -> Result<bool, ConfigError> {
    if !d.is("ProxyHCTPsize") {
        return Ok(false);
    }
    let [arg] = d.args.as_slice() else {
        return Err(ConfigError::at(
            &d.origin,
            "ProxyHCTPsize takes one argument, a number of probes (0 or more)",
        ));
    };
    let n = values::integer("ProxyHCTPsize", arg, 0, i64::from(i32::MAX))
        .map_err(|m| ConfigError::at(&d.origin, m))?;
    config.hc_tpsize = n as usize;
    Ok(true)
}

/// At the end of reading: moves the definitions into `config` and checks that every
/// `hcexpr=` names a `ProxyHCExpr` (rewriting it in the definition's spelling). Warns
/// about standalone workers with a check, which is never run.
pub(super) fn finish(
    config: &mut Config,
    defs: Defs,
    warnings: &mut Vec<String>,
) -> Result<(), ConfigError> {
    let exprs = defs.exprs;
    let resolve = |health: &mut HealthCheck, origin: &Origin, what: &str| {
        let Some(name) = &health.expr else {
            return Ok(());
        };
        match exprs.iter().find(|e| e.name.eq_ignore_ascii_case(name)) {
            Some(def) => {
                health.expr = Some(def.name.clone());
                Ok(())
            }
            None => {
                let known = match exprs.len() {
                    0 => "none is defined".to_string(),
                    _ => format!(
                        "defined: {}",
                        exprs
                            .iter()
                            .map(|e| e.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                };
                Err(ConfigError::at(
                    origin,
                    format!("{what}: hcexpr={name} names no ProxyHCExpr ({known})"),
                ))
            }
        }
    };
    let mut templates = defs.templates;
    for ((name, health), origin) in templates.iter_mut().zip(&defs.template_origins) {
        resolve(health, origin, &format!("ProxyHCTemplate {name}"))?;
    }
    let rules = config.proxy_pass.iter_mut().chain(
        config
            .vhosts
            .iter_mut()
            .flat_map(|v| v.proxy_pass.iter_mut()),
    );
    for rule in rules {
        let what = format!("ProxyPass {}", rule.path);
        resolve(&mut rule.params.health, &rule.origin, &what)?;
        if let PassTarget::Url(url) = &rule.target {
            method_fits(rule.params.health.method, url, &rule.origin, &what)?;
        }
        if rule.params.health.method != HcMethod::None && matches!(rule.target, PassTarget::Url(_))
        {
            warnings.push(format!(
                "{}: {what}: hcmethod={} on a standalone worker is accepted but never run \
                 (only balancer members are checked)",
                rule.origin,
                rule.params.health.method.name()
            ));
        }
    }
    for balancer in &mut config.balancers {
        for member in &mut balancer.members {
            let what = format!("BalancerMember {}", member.url);
            resolve(&mut member.params.health, &member.origin, &what)?;
            method_fits(
                member.params.health.method,
                &member.url,
                &member.origin,
                &what,
            )?;
        }
    }
    config.hc_exprs = exprs;
    config.hc_templates = templates;
    Ok(())
}
