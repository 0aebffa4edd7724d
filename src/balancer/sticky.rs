//! Sticky sessions: finding the route a request carries (reference §4.1) and
//! the member it names (§4.2). httpd's quirks are reproduced on purpose
//! (§9 #5): operators' configurations and clients depend on them.
//!
//! Finding the route, with `stickysession=JSESSIONID|jsessionid` and the
//! default separator `.`:
//!
//! | request                                         | route            |
//! |-------------------------------------------------|------------------|
//! | `/p;jsessionid=abc.node1`                       | `node1`          |
//! | `/p?jsessionid=abc.node2&x=1`                   | `node2`          |
//! | `/xjsessionid=v.r/y` (substring match)          | `r/y`            |
//! | `Cookie: a=1; JSESSIONID=abc.node1`             | `node1`          |
//! | `Cookie: JSESSIONID=node1` (no separator)       | none: balanced   |
//! | `Cookie: JSESSIONID=x.node1.node2`              | `node1.node2`    |
//! | URL `?jsessionid=a.n2`, cookie `JSESSIONID=b.n1`| `n2` (URL wins)  |

use scoreboard::{flags, Scoreboard};

use super::{usable_after_retry, MemberSpec, StickyKeys};

/// The route the request carries (reference §4.1), with the name that
/// supplied it: `(name, route)`.
///
/// 1. **URL first** (`param_name`): the first occurrence of the name, as a
///    plain substring anywhere in the URL, that is directly followed by `=`
///    and a non-empty value. The value runs up to the next `?` or `&`, and
///    also `;` when `scolon` (`scolonpathdelim=On`). Being a substring
///    search, `/xjsessionid=v.r/y` matches too. An empty value is no value
///    and the search goes on (httpd would skip the delimiter and read the
///    following parameter's text as the value; we don't reproduce that).
/// 2. **Then the cookie** (`cookie_name`), only if the URL gave no value: in
///    each `Cookie` header in turn (httpd reads only the first), the name
///    must start the header or follow `;`, `,` or white space, then optional
///    white space and `=`; the value runs up to the next `;` or `,`.
///    Case-sensitive.
/// 3. **The route** is what follows the *first* `sep` in the value; a value
///    without the separator has no route at all. With `sep` `None`
///    (`stickysessionsep=Off`) the whole value is the route. An empty route
///    is none.
pub fn route_from_request(
    keys: &StickyKeys<'_>,
    cookie_name: Option<&str>,
    param_name: Option<&str>,
    sep: Option<u8>,
    scolon: bool,
) -> Option<(String, String)> {
    let from_url = param_name.and_then(|name| {
        url_param(keys.url.as_bytes(), name.as_bytes(), scolon).map(|value| (name, value))
    });
    let (name, value) = from_url.or_else(|| {
        let name = cookie_name?;
        keys.cookie_headers
            .iter()
            .find_map(|header| cookie_value(header, name.as_bytes()))
            .map(|value| (name, value))
    })?;
    let route = match sep {
        Some(sep) => match value.iter().position(|&b| b == sep) {
            Some(at) => &value[at + 1..],
            None => {
                log::debug!(
                    "sticky value of {name} has no separator {:?}: no route",
                    char::from(sep)
                );
                return None;
            }
        },
        None => value,
    };
    if route.is_empty() {
        return None;
    }
    Some((name.to_owned(), String::from_utf8_lossy(route).into_owned()))
}

/// C's `isspace`: space, tab, newline, vertical tab, form feed, return.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Position of the first occurrence of `needle` in `hay`.
fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || needle.len() > hay.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The value of URL parameter `name` (see [`route_from_request`], step 1).
fn url_param<'u>(url: &'u [u8], name: &[u8], scolon: bool) -> Option<&'u [u8]> {
    let mut from = 0;
    while let Some(at) = find(&url[from..], name) {
        let start = from + at;
        let after = start + name.len();
        if url.get(after) == Some(&b'=') {
            let rest = &url[after + 1..];
            let end = rest
                .iter()
                .position(|&b| b == b'?' || b == b'&' || (scolon && b == b';'))
                .unwrap_or(rest.len());
            if end > 0 {
                return Some(&rest[..end]);
            }
        }
        from = start + 1;
    }
    None
}

/// The value of cookie `name` in one `Cookie` header (see
/// [`route_from_request`], step 2). The first well-placed occurrence
/// followed by `=` wins, even with an empty value, as in httpd.
pub(super) fn cookie_value<'c>(header: &'c [u8], name: &[u8]) -> Option<&'c [u8]> {
    let mut from = 0;
    while let Some(at) = find(&header[from..], name) {
        let start = from + at;
        let placed =
            start == 0 || matches!(header[start - 1], b';' | b',') || is_c_space(header[start - 1]);
        if placed {
            let mut p = start + name.len();
            while p < header.len() && is_c_space(header[p]) {
                p += 1;
            }
            // httpd wants `=` and at least one more byte.
            if header.get(p) == Some(&b'=') && p + 1 < header.len() {
                let rest = &header[p + 1..];
                let end = rest
                    .iter()
                    .position(|&b| b == b';' || b == b',')
                    .unwrap_or(rest.len());
                return Some(&rest[..end]);
            }
        }
        from = start + 1;
    }
    None
}

/// The member a route names (reference §4.2), as an index into `members`.
///
/// Members whose `route` equals `route` exactly (an empty route never
/// matches) are looked at in two passes, members without H first, then hot
/// standbys; in each pass in configuration order. A matching member is taken
/// if it is usable, or becomes usable through the retry check (§3.6);
/// otherwise, if it has a `redirect`, the member named by the redirect is
/// looked up the same way (at most members − 1 redirects deep, which stops
/// cycles) and taken if usable. Draining (N) members are taken: that is what
/// N is for.
pub fn member_for_route(
    sb: &Scoreboard,
    members: &[MemberSpec],
    route: &str,
    now_ms: u64,
) -> Option<usize> {
    find_route(sb, members, route, now_ms, 1)
}

fn find_route(
    sb: &Scoreboard,
    members: &[MemberSpec],
    route: &str,
    now_ms: u64,
    depth: usize,
) -> Option<usize> {
    if route.is_empty() {
        return None;
    }
    for standby_pass in [false, true] {
        for (i, m) in members.iter().enumerate() {
            let slot = sb.member(m.slot);
            if !slot.in_use() || (slot.status() & flags::HOT_STANDBY != 0) != standby_pass {
                continue;
            }
            if slot.route.get() != route {
                continue;
            }
            if usable_after_retry(slot, m.retry_ms, now_ms) {
                return Some(i);
            }
            let redirect = slot.redirect.get();
            if !redirect.is_empty() && depth < members.len() {
                // find_route only returns members that are usable (after
                // their retry check).
                if let Some(r) = find_route(sb, members, &redirect, now_ms, depth + 1) {
                    log::debug!("route {route} is unusable, redirected to {redirect}");
                    return Some(r);
                }
            }
        }
    }
    None
}

/// Whether some member has `route` (for `nofailover`, reference §4.3).
pub fn route_exists(sb: &Scoreboard, members: &[MemberSpec], route: &str) -> bool {
    !route.is_empty()
        && members.iter().any(|m| {
            let slot = sb.member(m.slot);
            slot.in_use() && slot.route.get() == route
        })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::{Board, M, NOW};
    use super::super::{Method, StickyKeys};
    use super::*;
    use scoreboard::flags::{DISABLED, DRAIN, ERROR, HOT_STANDBY, INIT};

    /// `stickysession=JSESSIONID|jsessionid`, separator `.` unless given.
    fn route(
        url: &str,
        cookies: &[&str],
        sep: Option<u8>,
        scolon: bool,
    ) -> Option<(String, String)> {
        let headers: Vec<&[u8]> = cookies.iter().map(|c| c.as_bytes()).collect();
        let keys = StickyKeys {
            url,
            cookie_headers: &headers,
            headers: &[],
            client_ip: None,
        };
        route_from_request(&keys, Some("JSESSIONID"), Some("jsessionid"), sep, scolon)
    }

    /// (url, Cookie headers, separator, scolonpathdelim, expected (name, route)).
    type Row = (
        &'static str,
        &'static [&'static str],
        Option<u8>,
        bool,
        Option<(String, String)>,
    );

    fn r(name: &str, route: &str) -> Option<(String, String)> {
        Some((name.to_owned(), route.to_owned()))
    }

    #[test]
    fn extraction_table() {
        let dot = Some(b'.');
        #[rustfmt::skip]
        let table: &[Row] = &[
            // URL parameter forms.
            ("/p;jsessionid=abc.node1", &[], dot, false, r("jsessionid", "node1")),
            ("/p?jsessionid=abc.node2&x=1", &[], dot, false, r("jsessionid", "node2")),
            ("/p?x=1&jsessionid=abc.node3", &[], dot, false, r("jsessionid", "node3")),
            ("/p;jsessionid=abc.node1?q=2", &[], dot, false, r("jsessionid", "node1")),
            // An empty value is none; the cookie is consulted.
            ("/p?x=1&jsessionid=", &[], dot, false, None),
            ("/p?x=1&jsessionid=", &["JSESSIONID=s.c1"], dot, false, r("JSESSIONID", "c1")),
            ("/p?jsessionid=&jsessionid=s.u2", &[], dot, false, r("jsessionid", "u2")),
            // Plain substring search anywhere in the URL [obs].
            ("/xjsessionid=v.r/y", &[], dot, false, r("jsessionid", "r/y")),
            ("/jsessionidx=a.b?jsessionid=c.d", &[], dot, false, r("jsessionid", "d")),
            // scolonpathdelim.
            ("/p?jsessionid=abc.n1;foo", &[], dot, false, r("jsessionid", "n1;foo")),
            ("/p?jsessionid=abc.n1;foo", &[], dot, true, r("jsessionid", "n1")),
            // Case-sensitive URL parameter name.
            ("/p?JSESSIONID2=a.b", &[], dot, false, None),
            // Cookie positions.
            ("/", &["JSESSIONID=abc.c1"], dot, false, r("JSESSIONID", "c1")),
            ("/", &["a=1; JSESSIONID=abc.c2"], dot, false, r("JSESSIONID", "c2")),
            ("/", &["a=1;JSESSIONID=abc.c3; b=2"], dot, false, r("JSESSIONID", "c3")),
            ("/", &["a=1,JSESSIONID=abc.c4,b=2"], dot, false, r("JSESSIONID", "c4")),
            ("/", &["a=1;\tJSESSIONID = abc.c5"], dot, false, r("JSESSIONID", "c5")),
            ("/", &["XJSESSIONID=abc.c6"], dot, false, None),
            ("/", &["XJSESSIONID=abc.c6; JSESSIONID=abc.c7"], dot, false, r("JSESSIONID", "c7")),
            ("/", &["jsessionid=abc.c8"], dot, false, None),
            ("/", &["JSESSIONIDX=abc.c9"], dot, false, None),
            ("/", &["JSESSIONID="], dot, false, None),
            // Every Cookie header is searched, in order.
            ("/", &["a=1", "JSESSIONID=abc.c10"], dot, false, r("JSESSIONID", "c10")),
            // The URL wins over the cookie [obs], even without a route.
            ("/p?jsessionid=a.n2", &["JSESSIONID=b.n1"], dot, false, r("jsessionid", "n2")),
            ("/p?jsessionid=nosep", &["JSESSIONID=b.n1"], dot, false, None),
            // Route: after the first separator; none without one [obs][quirk].
            ("/", &["JSESSIONID=node1"], dot, false, None),
            ("/", &["JSESSIONID=x.node1.node2"], dot, false, r("JSESSIONID", "node1.node2")),
            ("/", &["JSESSIONID=x_node1"], Some(b'_'), false, r("JSESSIONID", "node1")),
            // stickysessionsep Off: the whole value.
            ("/", &["JSESSIONID=node1"], None, false, r("JSESSIONID", "node1")),
            ("/p?jsessionid=a.b", &[], None, false, r("jsessionid", "a.b")),
            // An empty route is none.
            ("/", &["JSESSIONID=abc."], dot, false, None),
            ("/p?jsessionid=abc.&x", &[], dot, false, None),
            // The cookie mod_headers recipe sets: ROUTEID=.route.
            ("/", &["JSESSIONID=.n3"], dot, false, r("JSESSIONID", "n3")),
        ];
        for (url, cookies, sep, scolon, want) in table {
            assert_eq!(
                &route(url, cookies, *sep, *scolon),
                want,
                "url {url:?} cookies {cookies:?} sep {sep:?} scolon {scolon}"
            );
        }
    }

    #[test]
    fn names_can_differ_or_be_missing() {
        let headers: [&[u8]; 1] = [b"ROUTEID=.n1"];
        let keys = StickyKeys {
            url: "/a?sid=x.n2",
            cookie_headers: &headers,
            headers: &[],
            client_ip: None,
        };
        assert_eq!(
            route_from_request(&keys, Some("ROUTEID"), None, Some(b'.'), false),
            r("ROUTEID", "n1")
        );
        assert_eq!(
            route_from_request(&keys, None, Some("sid"), Some(b'.'), false),
            r("sid", "n2")
        );
        assert_eq!(
            route_from_request(&keys, None, None, Some(b'.'), false),
            None
        );
    }

    #[test]
    fn route_lookup() {
        let board = Board::new(5);
        let b = board.balancer(
            Method::ByRequests,
            &[
                M::new("a", 1).route("r1"),
                M::new("b", 1).route("r2").flags(INIT | DRAIN),
                M::new("c", 1).route("r3").flags(INIT | ERROR).error_at(NOW),
                M::new("d", 1)
                    .route("r4")
                    .flags(INIT | DISABLED)
                    .redirect("r1"),
                M::new("e", 1).route("r5").flags(INIT | HOT_STANDBY),
            ],
        );
        let find = |route: &str| member_for_route(&board.sb, &b.members, route, NOW);
        assert_eq!(find("r1"), Some(0));
        assert_eq!(find("r2"), Some(1), "draining members are taken by route");
        assert_eq!(find("r3"), None, "in error, retry not due");
        assert_eq!(find("r4"), Some(0), "redirect r4 -> r1");
        assert_eq!(find("r5"), Some(4), "standbys in the second pass");
        assert_eq!(find("R1"), None, "case-sensitive");
        assert_eq!(find(""), None);
        assert_eq!(find("nope"), None);
        assert!(route_exists(&board.sb, &b.members, "r3"));
        assert!(!route_exists(&board.sb, &b.members, "nope"));
        // The retry check runs on the routed member.
        assert_eq!(
            member_for_route(&board.sb, &b.members, "r3", NOW + 60_001),
            Some(2)
        );
        assert_eq!(board.sb.member(2).retries(), 1);
    }

    #[test]
    fn non_standby_member_first_and_redirect_cycles_end() {
        let board = Board::new(3);
        let b = board.balancer(
            Method::ByRequests,
            &[
                M::new("h", 1).route("r").flags(INIT | HOT_STANDBY),
                M::new("n", 1).route("r"),
                M::new("x", 1)
                    .route("x1")
                    .flags(INIT | DISABLED)
                    .redirect("x1"),
            ],
        );
        assert_eq!(member_for_route(&board.sb, &b.members, "r", NOW), Some(1));
        assert_eq!(member_for_route(&board.sb, &b.members, "x1", NOW), None);
    }
}
