//! mod_env's and mod_setenvif's directives: `SetEnv NAME [value]`, `UnsetEnv
//! NAME…`, `SetEnvIf[NoCase] attribute regex [!]VAR[=value]…` and
//! `BrowserMatch[NoCase] regex [!]VAR[=value]…` (server and `<VirtualHost>`;
//! see `crate::rules`). Setting one of mod_proxy's switches that slotgate does
//! not act on is warned about.

use super::reader::Directive;
use super::scope::{fail, Ctx};
use super::ConfigError;
use crate::rules::env::{switch_warning, EnvRule};
use crate::rules::setenvif::{compile, Assign, Attribute, SetEnvIf};
use crate::rules::Rules;

/// Takes the four modules' lines; false for any other directive.
pub(super) fn directive(
    rules: &mut Rules,
    ctx: &mut Ctx,
    d: &Directive,
) -> Result<bool, ConfigError> {
    let name = d.name.to_ascii_lowercase();
    let switch = |ctx: &mut Ctx, var: &str| {
        if let Some(w) = switch_warning(var) {
            ctx.warn(&d.origin, format!("{}: {w}", d.name));
        }
    };
    match name.as_str() {
        "setenv" => {
            let (var, value) = match d.args.as_slice() {
                [var] => (var, ""),
                [var, value] => (var, value.as_str()),
                _ => {
                    return Err(fail(
                        d,
                        "SetEnv takes a variable name and an optional value",
                    ))
                }
            };
            switch(ctx, var);
            rules.env.push(EnvRule::Set {
                name: var.clone(),
                value: value.to_string(),
            });
        }
        "unsetenv" => {
            if d.args.is_empty() {
                return Err(fail(d, "UnsetEnv takes one or more variable names"));
            }
            for var in &d.args {
                rules.env.push(EnvRule::Unset { name: var.clone() });
            }
        }
        "setenvif" | "setenvifnocase" | "browsermatch" | "browsermatchnocase" => {
            let no_case = name.ends_with("nocase");
            let browser = name.starts_with("browsermatch");
            let (attribute, rest) = if browser {
                ("User-Agent", &d.args[..])
            } else {
                match d.args.split_first() {
                    Some((a, rest)) => (a.as_str(), rest),
                    None => return Err(fail(d, format!("{} takes an attribute", d.name))),
                }
            };
            let Some((pattern, assigns)) = rest.split_first() else {
                return Err(fail(d, format!("{} takes a regular expression", d.name)));
            };
            if assigns.is_empty() {
                return Err(fail(
                    d,
                    format!("{} takes at least one variable to set", d.name),
                ));
            }
            if attribute.starts_with("expr=") || pattern.starts_with("expr=") {
                return Err(fail(
                    d,
                    format!("{}: expr= is not supported by slotgate", d.name),
                ));
            }
            let at = |m: String| fail(d, format!("{}: {m}", d.name));
            let attribute = Attribute::parse(attribute, no_case).map_err(at)?;
            let regex = compile(pattern, no_case).map_err(at)?;
            let assigns = assigns
                .iter()
                .map(|w| Assign::parse(w))
                .collect::<Result<Vec<_>, _>>()
                .map_err(at)?;
            for a in &assigns {
                if let Assign::Set { name, .. } = a {
                    switch(ctx, name);
                }
            }
            let substitutes = assigns
                .iter()
                .any(|a| matches!(a, Assign::Set { value, .. } if value.contains('$')));
            rules.set_env_if.push(SetEnvIf {
                attribute,
                regex,
                assigns,
                substitutes,
            });
        }
        "setenvifexpr" => {
            return Err(fail(d, "SetEnvIfExpr is not supported by slotgate"));
        }
        "passenv" => {
            return Err(fail(
                d,
                "PassEnv is not supported: slotgate runs no CGI scripts to pass variables to",
            ));
        }
        _ => return Ok(false),
    }
    Ok(true)
}
