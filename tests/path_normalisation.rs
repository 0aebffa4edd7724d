//! Dot-segments never get past the rules (issue #13, point 1). Every rule —
//! ProxyPass, its `!` exclusions, ProxyPassMatch, `<Location>` handlers and
//! their `Require`, the mass reverse proxy — sees the request path with
//! dot-segments removed (RFC 3986 §5.2.4, `%2e` counted as a dot), runs of `/`
//! merged (httpd's `MergeSlashes On`) and escapes decoded; a path that climbs
//! above `/` gets 400, an encoded `/` 404 (`AllowEncodedSlashes Off`), and a
//! member never receives a dot-segment through a mapping.
//!
//! The answers recorded below are httpd 2.4.71's (tools/httpd-oracle with the
//! same rules, an origin on 127.0.0.1 printing the request line it got).

mod common;

use common::*;

/// The rules of the issue, plus a `nocanon` rule, a ProxyPassMatch rule and a
/// server-status section that refuses every client (`Require ip` of a
/// documentation address).
const RULES: &str = "\
ProxyPass /secret !
ProxyPass /server-status !
ProxyPass /n/ http://{a}/app/
ProxyPass /raw/ http://{a}/app/ nocanon
ProxyPassMatch ^/m/(.*)$ http://{a}/mm/$1
ProxyPass / http://{a}/
<Location /server-status>
  SetHandler server-status
  Require ip 192.0.2.1
</Location>
";

/// `GET target` on a fresh connection, sent byte for byte as given.
fn get(sg: &Slotgate, target: &str) -> Response {
    let raw = send_raw(
        sg.port(),
        format!("GET {target} HTTP/1.1\r\nHost: front.test\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    split_raw_response(&raw)
        .unwrap_or_else(|| panic!("{target}: no response: {:?}", String::from_utf8_lossy(&raw)))
}

/// The target the origin received for the request just answered with 200.
fn forwarded(sg: &Slotgate, origin: &Origin, target: &str) -> String {
    let before = origin.requests();
    let r = get(sg, target);
    assert_eq!(r.status, 200, "{target}: {}", r.summary());
    assert_eq!(
        origin.requests(),
        before + 1,
        "{target}: not forwarded once"
    );
    origin.last_request().target
}

/// Asserts `target` is answered with `status` and the origin sees nothing.
fn refused(sg: &Slotgate, origin: &Origin, target: &str, status: u16) {
    let before = origin.requests();
    let r = get(sg, target);
    assert_eq!(r.status, status, "{target}: {}", r.summary());
    assert_eq!(
        origin.requests(),
        before,
        "{target} reached the origin as {:?}",
        origin.last_request().target
    );
}

/// httpd: 404 for each (the `/secret` exclusion applies); slotgate used to
/// forward `/app/../secret`, which the origin serves as `/secret`.
#[test]
fn dot_segments_do_not_bypass_an_exclusion() {
    let a = Origin::start("a");
    let sg = start_proxy(RULES, &[&a]);
    // The origin does serve the excluded path to whoever reaches it.
    assert_eq!(http_get(a.port(), "/secret", &[]).status, 200);
    let served = a.requests();
    for target in [
        "/n/../secret",
        "/n/%2e%2e/secret",
        "/n/%2E%2E/secret",
        "/n/.%2e/secret",
        "/n/./../secret",
        "/n/x/../../secret",
        "/n/../secret?x=1",
        "//secret",
        "/n/..//secret",
        "/raw/../secret",
        "/m/x/../../secret",
        "http://front.test/n/../secret",
    ] {
        refused(&sg, &a, target, 404);
    }
    assert_eq!(a.requests(), served);
}

/// httpd: `/n/x/../y` → `/app/y`, `/n/x/%2e/y` → `/app/x/y`, `/n//x//y` →
/// `/app/x/y`, `/n/x/..` → `/app/`, `/n/..` → `/` (the `/` rule), `/n/..x/y`
/// and `/n/.../x` unchanged, `/m/x/../y` → `/mm/y`, `%41%7e` → `A~`.
#[test]
fn members_receive_the_normalised_path() {
    let a = Origin::start("a");
    let sg = start_proxy(RULES, &[&a]);
    for (target, want) in [
        ("/n/x/../y", "/app/y"),
        ("/n/x/%2e/y", "/app/x/y"),
        ("/n/x/./y?q=/../", "/app/x/y?q=/../"),
        ("/n//x//y", "/app/x/y"),
        ("/n/x/..", "/app/"),
        ("/n/x/.", "/app/x/"),
        ("/n/..", "/"),
        ("/n/..x/y", "/app/..x/y"),
        ("/n/.../x", "/app/.../x"),
        ("/n/a;x/../b", "/app/b"),
        ("/n/%41%7e", "/app/A~"),
        ("/n/%2f/../x", "/app/x"),
        ("/m/x/../y", "/mm/y"),
        ("/.", "/"),
    ] {
        assert_eq!(forwarded(&sg, &a, target), want, "{target}");
    }
}

/// httpd: 400 for a path that climbs above `/` (`/..`, `/../x`, `/%2e%2e/x`,
/// `/n/../../x`, `/a/b/../../../x`), checked before the encoded slash
/// (`/../%2f`: 400); 404 for `%2f` and `%00` that remain (AllowEncodedSlashes
/// Off); 400 for a bad escape.
#[test]
fn climbing_above_the_root_and_encoded_slashes_are_refused() {
    let a = Origin::start("a");
    let sg = start_proxy(RULES, &[&a]);
    for target in [
        "/..",
        "/../x",
        "/%2e%2e/x",
        "/n/../../x",
        "/a/b/../../../x",
        "/../%2f",
        "/n/%zz/../x",
        "/n/%2e%2",
    ] {
        refused(&sg, &a, target, 400);
    }
    for target in ["/n/a%2fb", "/n/a%2Fb", "/n/a%00b", "/raw/a%2fb"] {
        refused(&sg, &a, target, 404);
    }
}

/// `nocanon` forwards the rest of the raw path (httpd: `/raw/a%41b/./c` is
/// sent as `/app/a%41b/./c`, `/raw/x/../y%20z` as `/app/x/../y%20z`), but it is
/// matched by the normalised path (httpd: `/raw/../secret` gets 404). slotgate
/// sends the normalised rest instead when the raw rest holds a dot-segment, so
/// that no dot-segment reaches the member (httpd sends `/raw/../raw/y` as
/// `/app/../raw/y`, which the member resolves outside `/app/`).
#[test]
fn nocanon_forwards_the_raw_path_without_dot_segments() {
    let a = Origin::start("a");
    let sg = start_proxy(RULES, &[&a]);
    for (target, want) in [
        ("/raw/a%41b", "/app/a%41b"),
        ("/raw/y%20z?a=../b", "/app/y%20z?a=../b"),
        ("/raw/a%41b/./c", "/app/aAb/c"),
        ("/raw/x/../y%20z", "/app/y%20z"),
        ("/raw/../raw/y", "/app/y"),
        ("/raw/%2e%2e/raw/y", "/app/y"),
    ] {
        assert_eq!(forwarded(&sg, &a, target), want, "{target}");
    }
}

/// httpd: 403 for `/server-status`, `/n/../server-status`,
/// `/x/%2e%2e/server-status`, `//server-status` and `/server-status/.` (the
/// section's `Require` applies to each); slotgate used to forward the first
/// dot form to the origin and answer 404 to the others.
#[test]
fn location_sections_see_the_normalised_path() {
    let a = Origin::start("a");
    let sg = start_proxy(RULES, &[&a]);
    for target in [
        "/server-status",
        "/n/../server-status",
        "/x/%2e%2e/server-status",
        "//server-status",
        "/server-status/.",
    ] {
        refused(&sg, &a, target, 403);
    }
    // With the section open to this client, the handler answers.
    let open = RULES.replace("Require ip 192.0.2.1", "Require local");
    let sg = start_proxy(&open, &[&a]);
    let r = get(&sg, "/x/../server-status?auto");
    assert_eq!(r.status, 200, "{}", r.summary());
    assert!(r.text().contains("Scoreboard:"), "{}", r.text());
    assert_eq!(a.requests(), 0);
}

/// The mass reverse proxy looks the host up and appends the normalised path:
/// `/x/../y` goes to the backend as `/base/y`, never with the dot-segment.
#[test]
fn express_backends_receive_the_normalised_path() {
    let a = Origin::start("a");
    let dir = TempDir::new();
    let map = dir.write("map.txt", &render("a.test http://{a}/base\n", &[&a]));
    let conf = format!(
        "ProxyExpressEnable On\nProxyExpressDBMFile \"{}\"\nProxyExpressDBMType txt\n",
        map.display()
    );
    let sg = start_proxy(&conf, &[]);
    for (target, want) in [
        ("/x/../y", "/base/y"),
        ("/x/%2e%2e/y/./z", "/base/y/z"),
        ("//y", "/base/y"),
    ] {
        let raw = send_raw(
            sg.port(),
            format!("GET {target} HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
        let r = split_raw_response(&raw).expect("a response");
        assert_eq!(r.status, 200, "{target}: {}", r.summary());
        assert_eq!(a.last_request().target, want, "{target}");
    }
    let raw = send_raw(
        sg.port(),
        b"GET /../y HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(split_raw_response(&raw).expect("a response").status, 400);
    assert_eq!(a.requests(), 3);
}
