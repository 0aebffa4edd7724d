//! The values of `lbmethod=` and `hashkey=`: what a configuration names. The
//! balancer (`crate::balancer`) implements each method and key over the
//! scoreboard; keeping the names here lets the configuration, the manager and
//! slotgate-top check them without reaching up into the balancer.

use std::fmt;

/// The load-balancing methods slotgate implements (`lbmethod=`).
///
/// `heartbeat` does not use the selection skeleton (reference §3.5): its
/// candidates are every usable member, whatever its lbset or H/R/N flags.
/// `hash` runs over the skeleton but with the request's key (see
/// `crate::balancer::hash`); without a key it is byrequests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    ByRequests,
    ByTraffic,
    ByBusyness,
    ByLatency,
    ByLoad,
    Hash,
    Heartbeat,
}

impl Method {
    /// Each method with its `lbmethod=` name, in declaration order (so
    /// `NAMES[m as usize]` is `m`'s entry): the one list of names.
    const NAMES: [(Method, &'static str); 7] = [
        (Method::ByRequests, "byrequests"),
        (Method::ByTraffic, "bytraffic"),
        (Method::ByBusyness, "bybusyness"),
        (Method::ByLatency, "bylatency"),
        (Method::ByLoad, "byload"),
        (Method::Hash, "hash"),
        (Method::Heartbeat, "heartbeat"),
    ];

    /// The valid `lbmethod=` names, for error messages.
    pub const ALL: [&'static str; 7] = {
        let mut all = [""; 7];
        let mut i = 0;
        while i < all.len() {
            all[i] = Method::NAMES[i].1;
            i += 1;
        }
        all
    };

    /// The method named `name` (exact, case-sensitive, as httpd's provider
    /// lookup), or `None`.
    pub fn from_name(name: &str) -> Option<Method> {
        Method::NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(m, _)| *m)
    }

    /// The `lbmethod=` name.
    pub fn name(self) -> &'static str {
        Method::NAMES[self as usize].1
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where `lbmethod=hash` finds the request's key (`hashkey=`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum HashKey {
    /// `hashkey=ip`: the client address.
    #[default]
    Ip,
    /// `hashkey=header:NAME`.
    Header(String),
    /// `hashkey=cookie:NAME`.
    Cookie(String),
}

impl HashKey {
    /// Parses a `hashkey=` value (`ip`, `header:NAME`, `cookie:NAME`; the
    /// kind in any case).
    pub fn parse(value: &str) -> Result<HashKey, String> {
        if value.eq_ignore_ascii_case("ip") {
            return Ok(HashKey::Ip);
        }
        let bad = || format!("hashkey must be ip, header:NAME or cookie:NAME, got '{value}'");
        let (kind, name) = value.split_once(':').ok_or_else(bad)?;
        let token = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"()<>@,;:\\\"/[]?={}".contains(&b));
        if !token {
            return Err(bad());
        }
        if kind.eq_ignore_ascii_case("header") {
            Ok(HashKey::Header(name.to_owned()))
        } else if kind.eq_ignore_ascii_case("cookie") {
            Ok(HashKey::Cookie(name.to_owned()))
        } else {
            Err(bad())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_method_has_its_name_both_ways() {
        for (i, (m, n)) in Method::NAMES.iter().enumerate() {
            assert_eq!(*m as usize, i, "NAMES is in declaration order");
            assert_eq!(m.name(), *n);
            assert_eq!(Method::from_name(n), Some(*m));
            assert_eq!(Method::ALL[i], *n);
        }
        assert_eq!(
            Method::from_name("ByRequests"),
            None,
            "names are case-sensitive"
        );
    }
}
