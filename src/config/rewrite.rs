//! mod_rewrite's directives in server and `<VirtualHost>` context: RewriteEngine,
//! RewriteOptions, RewriteMap, RewriteCond, RewriteRule (the rules themselves
//! run in `crate::rules::rewrite`). Per-directory rewriting (`<Location>`,
//! `<Directory>`, `.htaccess`), RewriteBase, file tests, `prg:`/`dbm:` maps and
//! the flags slotgate does not serve are refused with their reason.

use super::reader::Directive;
use super::scope::{fail, flag, Ctx};
use super::ConfigError;
use crate::rules::rewrite::{
    Action, Cond, CondTest, EnvSet, Map, Pattern, Rewrite, Rule, Template,
};

/// The rewrite directives of one scope while building.
#[derive(Default)]
pub(super) struct RewriteScope {
    engine: Option<bool>,
    inherit: Option<Inherit>,
    maps: Vec<Map>,
    rules: Vec<Rule>,
    /// RewriteCond lines waiting for their RewriteRule.
    pending: Vec<Cond>,
    /// Where the first pending RewriteCond was written.
    pending_at: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Inherit {
    /// The main server's rules after the vhost's own.
    After,
    /// `InheritBefore`: before them.
    Before,
}

const NAMES: &[&str] = &[
    "RewriteEngine",
    "RewriteOptions",
    "RewriteMap",
    "RewriteCond",
    "RewriteRule",
    "RewriteBase",
];

/// A rewrite directive inside `<Location>` / `<Proxy>`: per-directory rewriting,
/// refused with its reason.
pub(super) fn per_directory(d: &Directive, tag: &str) -> Option<ConfigError> {
    let name = super::scope::named(d, NAMES)?;
    Some(fail(
        d,
        format!(
            "{name} inside <{tag}> is not supported: slotgate serves mod_rewrite in server and \
             <VirtualHost> context only (per-directory rewriting rewrites file paths)"
        ),
    ))
}

impl RewriteScope {
    /// One rewrite directive; Ok(false) when `d` is not one.
    pub fn directive(&mut self, d: &Directive, ctx: &mut Ctx) -> Result<bool, ConfigError> {
        match d.name.to_ascii_lowercase().as_str() {
            "rewriteengine" => self.engine = Some(flag(d, "RewriteEngine")?),
            "rewriteoptions" => {
                for a in &d.args {
                    self.inherit = Some(match a.to_ascii_lowercase().as_str() {
                        "inherit" => Inherit::After,
                        "inheritbefore" => Inherit::Before,
                        _ => {
                            return Err(fail(
                                d,
                                format!(
                                    "RewriteOptions {a} is not supported (Inherit and \
                                     InheritBefore are)"
                                ),
                            ))
                        }
                    });
                }
            }
            "rewritemap" => {
                let [name, spec, ..] = d.args.as_slice() else {
                    return Err(fail(d, "RewriteMap takes a name and TYPE:SOURCE"));
                };
                let map = Map::new(name, spec, &ctx.root)
                    .map_err(|m| fail(d, format!("RewriteMap: {m}")))?;
                self.maps.retain(|m| m.name != *name);
                self.maps.push(map);
            }
            "rewritecond" => {
                let cond = self.cond(d)?;
                self.pending_at.get_or_insert_with(|| d.origin.to_string());
                self.pending.push(cond);
            }
            "rewriterule" => {
                let rule = self.rule(d, ctx);
                let conds = std::mem::take(&mut self.pending);
                self.pending_at = None;
                let mut rule = rule?;
                rule.conds = conds;
                self.rules.push(rule);
            }
            "rewritebase" => {
                return Err(fail(
                    d,
                    "RewriteBase is not supported: it only applies to per-directory rewriting, \
                     which slotgate does not serve",
                ))
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn cond(&self, d: &Directive) -> Result<Cond, ConfigError> {
        let (input, pattern, flags) = match d.args.as_slice() {
            [i, p] => (i, p, None),
            [i, p, f] => (i, p, Some(f.as_str())),
            _ => {
                return Err(fail(
                    d,
                    "RewriteCond takes a test string, a pattern and [flags]",
                ))
            }
        };
        let (mut nocase, mut or_next) = (false, false);
        for f in flag_list(d, flags)? {
            match f.to_ascii_lowercase().as_str() {
                "nc" | "nocase" => nocase = true,
                "or" | "ornext" => or_next = true,
                "nv" | "novary" => {}
                _ => {
                    return Err(fail(
                        d,
                        format!("RewriteCond: unknown or unsupported flag '{f}'"),
                    ))
                }
            }
        }
        let input = Template::parse(input).map_err(|m| fail(d, format!("RewriteCond: {m}")))?;
        let (negate, p) = match pattern.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, pattern.as_str()),
        };
        let test = if let Some(x) = p.strip_prefix("<=") {
            CondTest::LessEq(x.into())
        } else if let Some(x) = p.strip_prefix(">=") {
            CondTest::GreaterEq(x.into())
        } else if let Some(x) = p.strip_prefix('<') {
            CondTest::Less(x.into())
        } else if let Some(x) = p.strip_prefix('>') {
            CondTest::Greater(x.into())
        } else if let Some(x) = p.strip_prefix('=') {
            CondTest::Equal(x.trim_matches('"').into())
        } else if let Some(test) = int_test(p) {
            test.map_err(|m| fail(d, format!("RewriteCond {p}: {m}")))?
        } else if p.starts_with('-')
            && p.len() <= 4
            && p[1..].bytes().all(|c| c.is_ascii_alphabetic())
        {
            return Err(fail(
                d,
                format!(
                    "RewriteCond {p}: file tests are not supported (slotgate serves no files; \
                     regex, lexicographic <, >, =, <=, >= and integer -eq, -ne, -lt, -le, -gt, \
                     -ge tests are served)"
                ),
            ));
        } else {
            CondTest::Regex(
                Pattern::new(p, nocase).map_err(|m| fail(d, format!("RewriteCond: {m}")))?,
            )
        };
        Ok(Cond {
            input,
            test,
            negate,
            nocase,
            or_next,
        })
    }

    fn rule(&self, d: &Directive, ctx: &mut Ctx) -> Result<Rule, ConfigError> {
        let (pattern, subst, flags) = match d.args.as_slice() {
            [p, s] => (p, s, None),
            [p, s, f] => (p, s, Some(f.as_str())),
            _ => {
                return Err(fail(
                    d,
                    "RewriteRule takes a pattern, a substitution and [flags]",
                ))
            }
        };
        let mut nocase = false;
        let mut rule = Rule {
            pattern: Pattern::new("", false).expect("empty regex"),
            negate: false,
            subst: None,
            conds: Vec::new(),
            action: Action::Rewrite,
            last: false,
            qsa: false,
            qsd: false,
            noescape: false,
            passthrough: false,
            chain: false,
            skip: 0,
            qsl: false,
            allow_3f: false,
            env: Vec::new(),
            origin: d.origin.to_string(),
        };
        let set_action = |rule: &mut Rule, a: Action, f: &str| {
            if rule.action != Action::Rewrite {
                return Err(fail(
                    d,
                    format!("RewriteRule: flag '{f}' conflicts with an earlier one"),
                ));
            }
            rule.action = a;
            Ok(())
        };
        for f in flag_list(d, flags)? {
            let (name, value) = match f.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (f.as_str(), None),
            };
            match (name.to_ascii_lowercase().as_str(), value) {
                ("l" | "last" | "end", None) => rule.last = true,
                ("nc" | "nocase", None) => nocase = true,
                ("p" | "proxy", None) => set_action(&mut rule, Action::Proxy, &f)?,
                ("r" | "redirect", v) => {
                    let code = match v {
                        None => 302,
                        Some(v) if v.eq_ignore_ascii_case("permanent") => 301,
                        Some(v) if v.eq_ignore_ascii_case("temp") => 302,
                        Some(v) if v.eq_ignore_ascii_case("seeother") => 303,
                        Some(v) => match v.parse::<u16>() {
                            Ok(c) if (300..400).contains(&c) => c,
                            // httpd: "the substitution string is dropped entirely,
                            // and rewriting is stopped as if the L were used"
                            // (httpd-oracle: [R=503] → 503, [R=404] → 404).
                            Ok(c)
                                if (400..600).contains(&c)
                                    && crate::http::reason_phrase(c) != "Unknown" =>
                            {
                                set_action(&mut rule, Action::Status(c), &f)?;
                                continue;
                            }
                            _ => {
                                return Err(fail(
                                    d,
                                    format!(
                                        "RewriteRule: [R={v}]: a redirect status is 300..399, \
                                         or an error status (400..599, one httpd knows) to \
                                         answer with"
                                    ),
                                ))
                            }
                        },
                    };
                    set_action(&mut rule, Action::Redirect(code), &f)?
                }
                ("f" | "forbidden", None) => set_action(&mut rule, Action::Status(403), &f)?,
                ("g" | "gone", None) => set_action(&mut rule, Action::Status(410), &f)?,
                ("qsa" | "qsappend", None) => rule.qsa = true,
                ("qsd" | "qsdiscard", None) => rule.qsd = true,
                ("ne" | "noescape", None) => rule.noescape = true,
                ("pt" | "passthrough", None) => rule.passthrough = true,
                ("c" | "chain", None) => rule.chain = true,
                ("s" | "skip", Some(n)) => {
                    rule.skip = n.parse().map_err(|_| {
                        fail(
                            d,
                            format!("RewriteRule: [S={n}]: the number of rules to skip"),
                        )
                    })?
                }
                ("qsl" | "qslast", None) => rule.qsl = true,
                ("unsafeallow3f", None) => rule.allow_3f = true,
                // No subrequests in slotgate: the rule applies to every request.
                ("ns" | "nosubreq", None) => {}
                ("e" | "env", Some(v)) => rule.env.push(env_flag(d, v, ctx)?),
                _ => {
                    return Err(fail(
                        d,
                        format!(
                            "RewriteRule: flag '{f}' is unknown or not supported (served: L, NC, \
                             P, R[=code], F, G, QSA, QSD, QSL, NE, PT, C, S=N, NS, E=VAR:value, \
                             E=!VAR, UnsafeAllow3F)"
                        ),
                    ))
                }
            }
        }
        let (negate, p) = match pattern.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, pattern.as_str()),
        };
        rule.negate = negate;
        rule.pattern = Pattern::new(p, nocase).map_err(|m| fail(d, format!("RewriteRule: {m}")))?;
        if subst != "-" {
            let t = Template::parse(subst).map_err(|m| fail(d, format!("RewriteRule: {m}")))?;
            if rule.action == Action::Proxy
                && t.literal()
                    .is_some_and(|s| !crate::rules::rewrite::has_scheme(s))
            {
                return Err(fail(
                    d,
                    format!(
                        "RewriteRule: [P] needs an absolute URL (scheme://host/…), got '{subst}'"
                    ),
                ));
            }
            rule.subst = Some(t);
        } else if rule.action == Action::Proxy {
            return Err(fail(
                d,
                "RewriteRule: [P] needs a substitution URL, not '-'",
            ));
        }
        Ok(rule)
    }

    /// RewriteCond lines after the last RewriteRule apply to nothing: a warning.
    fn dangling(&self, warnings: &mut Vec<String>) {
        if let Some(at) = &self.pending_at {
            warnings.push(format!(
                "{at}: RewriteCond without a RewriteRule after it is ignored"
            ));
        }
    }

    /// The rule set of this scope (None when the engine is off or there are no
    /// rules). A vhost sees the main server's maps, and takes its rules with
    /// `RewriteOptions Inherit`/`InheritBefore` (httpd: a vhost inherits neither
    /// the rules nor the engine setting otherwise). Err: a rule names a map that
    /// does not exist.
    pub fn resolve(
        &self,
        main: Option<&RewriteScope>,
        warnings: &mut Vec<String>,
    ) -> Result<Option<Rewrite>, ConfigError> {
        self.dangling(warnings);
        if self.engine != Some(true) {
            return Ok(None);
        }
        let mut maps = self.maps.clone();
        let mut rules = self.rules.clone();
        if let Some(m) = main {
            maps.extend(
                m.maps
                    .iter()
                    .filter(|x| !self.maps.iter().any(|o| o.name == x.name))
                    .cloned(),
            );
            match self.inherit {
                Some(Inherit::After) => rules.extend(m.rules.iter().cloned()),
                Some(Inherit::Before) => rules.splice(0..0, m.rules.iter().cloned()).for_each(drop),
                None => {}
            }
        }
        for r in &rules {
            let mut names = Vec::new();
            if let Some(s) = &r.subst {
                s.map_names(&mut names);
            }
            for c in &r.conds {
                c.input.map_names(&mut names);
            }
            if let Some(n) = names.iter().find(|n| !maps.iter().any(|m| m.name == **n)) {
                return Err(ConfigError {
                    origin: None,
                    message: format!("{}: RewriteRule: no RewriteMap named '{n}'", r.origin),
                });
            }
        }
        Ok((!rules.is_empty()).then_some(Rewrite { rules, maps }))
    }
}

/// `-eq N` … `-ge N` (N written right after the operator, as httpd reads
/// it): None when `p` is no integer test.
fn int_test(p: &str) -> Option<Result<CondTest, String>> {
    use std::cmp::Ordering::*;
    let (ord, not) = match p.get(..3)? {
        "-eq" => (Equal, false),
        "-ne" => (Equal, true),
        "-lt" => (Less, false),
        "-ge" => (Less, true),
        "-gt" => (Greater, false),
        "-le" => (Greater, true),
        _ => return None,
    };
    Some(match p[3..].trim().parse::<i64>() {
        Ok(n) => Ok(CondTest::Int(ord, not, n)),
        Err(_) => Err(format!("'{}' is not an integer", &p[3..])),
    })
}

/// `[E=VAR:value]`, `[E=VAR]` (the empty value) or `[E=!VAR]`: `v` is what
/// follows `E=`.
fn env_flag(d: &Directive, v: &str, ctx: &mut Ctx) -> Result<EnvSet, ConfigError> {
    if let Some(name) = v.strip_prefix('!') {
        if name.is_empty() || name.contains(':') {
            return Err(fail(
                d,
                format!("RewriteRule: [E=!{name}]: E=!VAR names one variable"),
            ));
        }
        return Ok(EnvSet::Unset { name: name.into() });
    }
    let (name, value) = v.split_once(':').unwrap_or((v, ""));
    if name.is_empty() {
        return Err(fail(
            d,
            format!("RewriteRule: [E={v}]: the variable has no name (E=VAR:value)"),
        ));
    }
    if let Some(w) = crate::rules::env::switch_warning(name) {
        ctx.warn(&d.origin, format!("RewriteRule [E=]: {w}"));
    }
    let value =
        Template::parse(value).map_err(|m| fail(d, format!("RewriteRule: [E={v}]: {m}")))?;
    Ok(EnvSet::Set {
        name: name.into(),
        value,
    })
}

/// `[A,B=c]` split into its flags.
fn flag_list(d: &Directive, flags: Option<&str>) -> Result<Vec<String>, ConfigError> {
    let Some(f) = flags else {
        return Ok(Vec::new());
    };
    let inner = f
        .strip_prefix('[')
        .and_then(|f| f.strip_suffix(']'))
        .ok_or_else(|| {
            fail(
                d,
                format!("{}: flags are written [FLAG,FLAG], got '{f}'", d.name),
            )
        })?;
    Ok(inner
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect())
}
