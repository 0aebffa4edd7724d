//! mod_headers (issue #15 point 1): `Header` on the response to the client,
//! `RequestHeader` on the request to the member, fed by the request's
//! environment (`BALANCER_*`, SetEnvIf, SetEnv).
//!
//! httpd-oracle (2.4.71) with the configuration of `recipe_config` below and two
//! members (routes a and b) answered, for `GET /app/x` without a cookie:
//!   200, headers in this order: Date, Server (the member's), X-Always: yes,
//!   X-Origin: a, Content-Length, Set-Cookie: ROUTEID=.a; path=/,
//!   X-Env: (null)|balancer://c|http://127.0.0.1:PORTA, X-Success: yes,
//!   X-Echo-Me: 1 (echoed from the request);
//!   the member saw X-Forwarded-Proto: https, X-Curl: v7 (SetEnvIf on
//!   User-Agent curl/7…), X-SetEnv: hello.
//! With `Cookie: ROUTEID=.b`: member b, no Set-Cookie (route unchanged).
//! A member's 404 and 302 get the onsuccess headers too (X-Success, Set-Cookie);
//! a 502/503 httpd makes itself gets X-Always only; `Header always unset
//! Server` leaves the member's Server in place.

mod common;

use common::*;

fn recipe_config() -> &'static str {
    "<Proxy balancer://c>\n\
     BalancerMember http://{a} route=a\n\
     BalancerMember http://{b} route=b\n\
     ProxySet stickysession=ROUTEID\n\
     </Proxy>\n\
     <IfModule mod_headers.c>\n\
     Header add Set-Cookie \"ROUTEID=.%{BALANCER_WORKER_ROUTE}e; path=/\" env=BALANCER_ROUTE_CHANGED\n\
     RequestHeader set X-Forwarded-Proto \"https\"\n\
     Header set X-Env \"%{NOPE}e|%{BALANCER_NAME}e|%{BALANCER_WORKER_NAME}e\"\n\
     Header always set X-Always yes\n\
     Header always unset X-Origin\n\
     Header onsuccess set X-Success yes\n\
     Header echo ^X-Ec\n\
     </IfModule>\n\
     <IfModule setenvif_module>\n\
     SetEnvIf User-Agent \"^curl/([0-9]+)\" CURLV=v$1\n\
     RequestHeader set X-Curl \"%{CURLV}e\" env=CURLV\n\
     </IfModule>\n\
     <IfModule mod_env.c>\n\
     SetEnv FROMSETENV hello\n\
     RequestHeader set X-SetEnv \"%{FROMSETENV}e\"\n\
     </IfModule>\n\
     ProxyPass /app balancer://c/app\n\
     ProxyPass /down http://{down}/\n"
}

fn start(a: &Origin, b: &Origin) -> (Slotgate, RefusingPort) {
    let down = RefusingPort::new();
    let conf = recipe_config().replace("{down}", &down.addr());
    (start_proxy(&conf, &[a, b]), down)
}

/// A client that keeps cookies, as a browser does (one cookie: ROUTEID).
struct Browser {
    cookie: Option<String>,
}

impl Browser {
    fn get(&mut self, port: u16, path: &str) -> Response {
        let cookie = self.cookie.clone();
        let mut headers = vec![("User-Agent", "curl/7.88.1")];
        if let Some(c) = &cookie {
            headers.push(("Cookie", c.as_str()));
        }
        let r = http_get(port, path, &headers);
        if let Some(set) = r.header("set-cookie") {
            let pair = set.split(';').next().unwrap_or_default().trim();
            self.cookie = Some(pair.to_string());
        }
        r
    }
}

#[test]
fn the_sticky_session_recipe_makes_a_browser_stick() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let (sg, _down) = start(&a, &b);
    let mut browser = Browser { cookie: None };
    let first = browser.get(sg.port(), "/app/x");
    assert_eq!(first.status, 200, "{}", first.summary());
    let route = first
        .header("set-cookie")
        .unwrap_or_else(|| panic!("no Set-Cookie: {}", first.summary()))
        .to_string();
    assert!(
        route == "ROUTEID=.a; path=/" || route == "ROUTEID=.b; path=/",
        "{route}"
    );
    let member = &route["ROUTEID=.".len()..route.len() - "; path=/".len()];
    let origin = if member == "a" { &a } else { &b };
    let before = origin.requests();
    for i in 0..8 {
        let r = browser.get(sg.port(), "/app/x");
        assert_eq!(r.status, 200, "#{i}: {}", r.summary());
        // The route did not change: no new cookie.
        assert_eq!(r.header("set-cookie"), None, "#{i}: {}", r.summary());
    }
    assert_eq!(
        origin.requests(),
        before + 8,
        "every request went to {member}"
    );
    // A browser without the cookie is balanced to the other member, which
    // sets its own route.
    let mut other = Browser { cookie: None };
    let r = other.get(sg.port(), "/app/x");
    let other_route = r.header("set-cookie").unwrap_or_default().to_string();
    assert_ne!(other_route, route, "{}", r.summary());
}

#[test]
fn header_and_request_header_follow_httpd() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let (sg, _down) = start(&a, &b);
    let r = http_get(
        sg.port(),
        "/app/x",
        &[
            ("User-Agent", "curl/7.88.1"),
            ("X-Echo-Me", "1"),
            ("Cookie", "ROUTEID=.b"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.summary());
    let seen = b.last_request();
    assert_eq!(seen.header("x-forwarded-proto"), Some("https"));
    assert_eq!(seen.header("x-curl"), Some("v7"));
    assert_eq!(seen.header("x-setenv"), Some("hello"));
    assert_eq!(
        r.header("x-env"),
        Some(format!("(null)|balancer://c|http://{}", b.addr()).as_str())
    );
    assert_eq!(r.header("x-always"), Some("yes"));
    assert_eq!(r.header("x-success"), Some("yes"));
    assert_eq!(r.header("x-echo-me"), Some("1"));
    // `always unset` works on the always table only: the member's X-Origin stays.
    assert_eq!(r.header("x-origin"), Some("b"));
    assert_eq!(r.header("set-cookie"), None);
    // The always table goes first, before the member's headers.
    let names: Vec<String> = r
        .headers
        .iter()
        .map(|(n, _)| n.to_ascii_lowercase())
        .collect();
    let always = names.iter().position(|n| n == "x-always").unwrap();
    let origin = names.iter().position(|n| n == "x-origin").unwrap();
    assert!(always < origin, "{names:?}");
}

#[test]
fn a_member_error_gets_onsuccess_headers_and_a_local_error_only_always() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    a.set_mode(Mode::Status(404));
    b.set_mode(Mode::Status(404));
    let (sg, _down) = start(&a, &b);
    let r = http_get(sg.port(), "/app/x", &[]);
    assert_eq!(r.status, 404, "{}", r.summary());
    assert_eq!(r.header("x-success"), Some("yes"), "{}", r.summary());
    assert!(r.header("set-cookie").is_some(), "{}", r.summary());
    let r = http_get(sg.port(), "/down", &[]);
    assert_eq!(r.status, 503, "{}", r.summary());
    assert_eq!(r.header("x-always"), Some("yes"), "{}", r.summary());
    assert_eq!(r.header("x-success"), None, "{}", r.summary());
    let r = http_get(sg.port(), "/nothing", &[]);
    assert_eq!(r.status, 404, "{}", r.summary());
    assert_eq!(r.header("x-always"), Some("yes"), "{}", r.summary());
}

#[test]
fn what_slotgate_cannot_do_is_refused_at_check_time() {
    let dir = TempDir::new();
    for (line, why) in [
        (
            "Header set X v \"expr=%{TIME_HOUR} -gt 12\"",
            "cannot be evaluated by slotgate: at column 1: unknown variable %{TIME_HOUR}",
        ),
        // httpd: "RequestHeader does not support the 'note' action".
        (
            "RequestHeader note X n",
            "RequestHeader does not support the 'note' action",
        ),
        ("RequestHeader echo X", "only for Header"),
        (
            "Header set X %{SSL_CLIENT_S_DN_CN}s",
            "knows the SSL variables HTTPS, SSL_PROTOCOL, SSL_CIPHER",
        ),
        // httpd accepts it but never applies it there (its early rules are
        // read before sections are walked).
        (
            "<Location /x>\nRequestHeader set X v early\n</Location>",
            "'early' applies only in the server or a <VirtualHost>",
        ),
    ] {
        let conf = format!("Listen 127.0.0.1:0\n{line}\n");
        let (out, _) = check_config(&dir, "h.conf", &conf);
        assert_ne!(out.code(), Some(0), "{line}: accepted");
        assert!(out.stderr.contains(why), "{line}: {}", out.stderr);
    }
}

#[test]
fn header_edit_sees_the_location_proxy_pass_reverse_mapped() {
    // httpd-oracle: with the three lines below and a member answering 302 with
    // `Location: http://MEMBER/app/y`, the client got
    // `Location: https://127.0.0.1:FRONT/app/y` (mapped first, then edited).
    let a = Origin::start("a");
    a.set_mode(Mode::Status(302));
    a.set_response_headers(&[("Location", &format!("http://{}/app/y", a.addr()))]);
    let sg = start_proxy(
        "ProxyPass /app http://{a}/app\nProxyPassReverse /app http://{a}/app\n\
         Header edit Location ^http: https:\n",
        &[&a],
    );
    let r = http_get(sg.port(), "/app/x", &[]);
    assert_eq!(r.status, 302, "{}", r.summary());
    let location = r.header("location").unwrap_or_default();
    assert!(
        location.starts_with("https://") && location.ends_with("/app/y"),
        "{}",
        r.summary()
    );
    assert!(!location.contains(&a.addr()), "{}", r.summary());
}

#[test]
fn location_sections_add_their_rules_after_the_servers() {
    // httpd-oracle, with the lines below: /app/special/x got
    // `X-Order: server, loc` and the member saw `X-Loc-Req: v` (SetEnv in the
    // same Location); /app/specialx got `X-Order: server` only.
    let a = Origin::start("a");
    let sg = start_proxy(
        "ProxyPass /app http://{a}/app\n\
         Header set X-Order server\n\
         <Location /app/special>\n\
         Header append X-Order loc\n\
         RequestHeader set X-Loc-Req \"%{LOCVAR}e\"\n\
         SetEnv LOCVAR v\n\
         </Location>\n",
        &[&a],
    );
    let r = http_get(sg.port(), "/app/special/x", &[]);
    assert_eq!(r.header("x-order"), Some("server, loc"), "{}", r.summary());
    assert_eq!(a.last_request().header("x-loc-req"), Some("v"));
    let r = http_get(sg.port(), "/app/specialx", &[]);
    assert_eq!(r.header("x-order"), Some("server"), "{}", r.summary());
    assert_eq!(a.last_request().header("x-loc-req"), None);
}

#[test]
fn proxy_sections_add_their_rules_between_the_servers_and_the_locations() {
    // httpd-oracle, with the lines below: /app/x (through the balancer) got
    // `X-Order: server, proxy, star, loc` and the member saw `X-Px: p`;
    // /direct/x (a standalone member) got `X-Order: server, star`.
    let a = Origin::start("a");
    let sg = start_proxy(
        "<Proxy balancer://c>\n\
         BalancerMember http://{a}\n\
         Header append X-Order proxy\n\
         RequestHeader set X-Px \"%{PXVAR}e\"\n\
         SetEnv PXVAR p\n\
         </Proxy>\n\
         <Proxy *>\n\
         Header append X-Order star\n\
         </Proxy>\n\
         <Location /app>\n\
         Header append X-Order loc\n\
         </Location>\n\
         Header set X-Order server\n\
         ProxyPass /app balancer://c/app\n\
         ProxyPass /direct http://{a}/app\n",
        &[&a],
    );
    let r = http_get(sg.port(), "/app/x", &[]);
    assert_eq!(
        r.header("x-order"),
        Some("server, proxy, star, loc"),
        "{}",
        r.summary()
    );
    assert_eq!(a.last_request().header("x-px"), Some("p"));
    let r = http_get(sg.port(), "/direct/x", &[]);
    assert_eq!(r.header("x-order"), Some("server, star"), "{}", r.summary());
    assert_eq!(a.last_request().header("x-px"), None);
}

#[test]
fn expr_conditions_choose_responses_as_httpd() {
    // httpd-oracle, with the two Header lines below: /app/api/x with X-Trace
    // got X-Api, without X-Trace or on /app/other it did not; a member's 404
    // got X-Err (REQUEST_STATUS is the response's status).
    let a = Origin::start("a");
    let sg = start_proxy(
        "ProxyPass /app http://{a}/app\n\
         Header set X-Api yes \"expr=%{REQUEST_URI} =~ m#^/app/api/# && -n req('X-Trace')\"\n\
         Header always set X-Err yes \"expr=%{REQUEST_STATUS} -ge 400\"\n",
        &[&a],
    );
    let r = http_get(sg.port(), "/app/api/x", &[("X-Trace", "1")]);
    assert_eq!(r.header("x-api"), Some("yes"), "{}", r.summary());
    assert_eq!(r.header("x-err"), None, "{}", r.summary());
    let r = http_get(sg.port(), "/app/api/x", &[]);
    assert_eq!(r.header("x-api"), None, "{}", r.summary());
    let r = http_get(sg.port(), "/app/other", &[("X-Trace", "1")]);
    assert_eq!(r.header("x-api"), None, "{}", r.summary());
    a.set_mode(Mode::Status(404));
    let r = http_get(sg.port(), "/app/x", &[]);
    assert_eq!(r.status, 404, "{}", r.summary());
    assert_eq!(r.header("x-err"), Some("yes"), "{}", r.summary());
}

#[test]
fn note_puts_a_response_header_into_the_access_logs_percent_n() {
    // httpd-oracle, with the lines below:
    //   GET /app/x?q=1 HTTP/1.1 note=a tag=t al=v seen=yes  (the member sent X-Origin: a)
    //   GET /nothing HTTP/1.1 note=- tag=- al=v seen=yes    (a local 404: `always` only)
    //   GET /balancer-manager HTTP/1.1 note=- tag=t al=v seen=yes
    // and the manager page carried X-HE: v (an early onsuccess line reaches a
    // handler's page), the proxied answer did not.
    let a = Origin::start("a");
    let sg = start_proxy(
        "ProxyPass /app http://{a}/app\n\
         <Location /balancer-manager>\nSetHandler balancer-manager\nRequire all granted\n</Location>\n\
         Header note X-Origin mynote\n\
         Header set X-Tag t\n\
         Header note X-Tag tag\n\
         Header always set X-AL v\n\
         Header always note X-AL alnote\n\
         Header set X-HE v early\n\
         SetEnvIf Request_URI . SEEN=yes\n\
         LogFormat \"%r note=%{mynote}n tag=%{tag}n al=%{alnote}n seen=%{SEEN}e\" notes\n\
         CustomLog notes.log notes\n",
        &[&a],
    );
    let r = http_get(sg.port(), "/app/x?q=1", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-he"), None, "{}", r.summary());
    assert_eq!(http_get(sg.port(), "/nothing", &[]).status, 404);
    let r = http_get(sg.port(), "/balancer-manager", &[]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-he"), Some("v"), "{}", r.summary());
    let lines = wait_lines(
        &sg.dir().join("notes.log"),
        3,
        std::time::Duration::from_secs(10),
    );
    assert_eq!(
        lines,
        [
            "GET /app/x?q=1 HTTP/1.1 note=a tag=t al=v seen=yes",
            "GET /nothing HTTP/1.1 note=- tag=- al=v seen=yes",
            "GET /balancer-manager HTTP/1.1 note=- tag=t al=v seen=yes"
        ]
    );
}

#[test]
fn early_request_headers_come_before_setenvif_with_an_empty_environment() {
    // httpd-oracle, with the lines below: the member saw X-Early: e and
    // X-F: (null) (the early rule ran before SetEnvIf set BAR); the client got
    // X-Saw: 1 (SetEnvIf saw the early header), X-AE: v and X-AE2: (null)
    // (always early, also on a 404), and no X-G (an early onsuccess header is
    // replaced by the member's response). mod_rewrite sees the early header
    // too: `RewriteCond %{HTTP:X-Early} =e` let /r through to /rewritten.
    let a = Origin::start("a");
    let sg = start_proxy(
        "ProxyPass /app http://{a}/app\n\
         RewriteEngine On\n\
         RewriteCond %{HTTP:X-Early} =e\n\
         RewriteRule ^/r$ http://{a}/rewritten [P]\n\
         RequestHeader set X-Early e early\n\
         SetEnvIf X-Early e SAW_EARLY=1\n\
         Header set X-Saw \"%{SAW_EARLY}e\"\n\
         SetEnvIf Host . BAR=baz\n\
         RequestHeader set X-F \"%{BAR}e\" early\n\
         Header set X-G v early\n\
         Header always set X-AE v early\n\
         Header always set X-AE2 \"%{BAR}e\" early\n",
        &[&a],
    );
    let r = http_get(sg.port(), "/app/x", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    let seen = a.last_request();
    assert_eq!(seen.header("x-early"), Some("e"));
    assert_eq!(seen.header("x-f"), Some("(null)"));
    assert_eq!(r.header("x-saw"), Some("1"), "{}", r.summary());
    assert_eq!(r.header("x-ae"), Some("v"), "{}", r.summary());
    assert_eq!(r.header("x-ae2"), Some("(null)"), "{}", r.summary());
    assert_eq!(r.header("x-g"), None, "{}", r.summary());
    let r = http_get(sg.port(), "/nothing", &[]);
    assert_eq!(r.status, 404);
    assert_eq!(r.header("x-ae"), Some("v"), "{}", r.summary());
    let r = http_get(sg.port(), "/r", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(a.last_request().target, "/rewritten");
}

#[test]
fn expr_values_request_header_conditions_and_ssl_variables() {
    // httpd-oracle, with the lines below, for GET /app/x?q=1 with X-Trace:
    // X-Uri: /app/x, X-S: [off][(null)] (plain HTTP), and the member saw
    // X-C: c; without X-Trace the member saw no X-C.
    let a = Origin::start("a");
    let sg = start_proxy(
        "ProxyPass /app http://{a}/app\n\
         Header set X-Uri \"expr=%{REQUEST_URI}\"\n\
         Header set X-Full \"expr=http://%{HTTP_HOST}%{REQUEST_URI}?%{QUERY_STRING}\"\n\
         RequestHeader set X-C c \"expr=-n %{HTTP:X-Trace}\"\n\
         Header set X-S \"[%{HTTPS}s][%{SSL_PROTOCOL}s]\"\n\
         Header set X-L %l\n\
         Header set X-IB \"%i %b\"\n",
        &[&a],
    );
    let r = http_get(
        sg.port(),
        "/app/x?q=1",
        &[("X-Trace", "1"), ("Host", "h.test")],
    );
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(r.header("x-uri"), Some("/app/x"), "{}", r.summary());
    assert_eq!(
        r.header("x-full"),
        Some("http://h.test/app/x?q=1"),
        "{}",
        r.summary()
    );
    assert_eq!(r.header("x-s"), Some("[off][(null)]"), "{}", r.summary());
    // httpd-oracle: `i=98 b=1` (idle and busy shares of the worker slots).
    let ib = r.header("x-ib").unwrap_or_default();
    let shares: Vec<u32> = ib
        .split(' ')
        .zip(["i=", "b="])
        .filter_map(|(w, p)| w.strip_prefix(p)?.parse().ok())
        .collect();
    assert!(
        shares.len() == 2 && shares[0] + shares[1] <= 100,
        "{}",
        r.summary()
    );
    // httpd-oracle: `X-L: l=5.85/4.79/2.83` (three load averages, two decimals).
    let load = r.header("x-l").unwrap_or_default();
    let averages: Vec<&str> = load
        .strip_prefix("l=")
        .unwrap_or_default()
        .split('/')
        .collect();
    assert_eq!(averages.len(), 3, "{}", r.summary());
    for a in averages {
        let (whole, decimals) = a.split_once('.').unwrap_or_default();
        assert!(
            whole.parse::<i64>().is_ok() && decimals.len() == 2,
            "{}",
            r.summary()
        );
    }
    assert_eq!(a.last_request().header("x-c"), Some("c"));
    http_get(sg.port(), "/app/x", &[]);
    assert_eq!(a.last_request().header("x-c"), None);
    // httpd-oracle: %{REQUEST_URI} is the decoded, normalised path
    // (/app/%6d/../x%20y gave `X-Uri: /app/x y`).
    let r = http_get(sg.port(), "/app/%6d/../x%20y", &[]);
    assert_eq!(r.header("x-uri"), Some("/app/x y"), "{}", r.summary());
}

#[test]
fn location_match_proxy_match_and_member_url_sections_merge_as_httpd() {
    // httpd-oracle, with these sections (PORT the member's):
    //   /app/m  -> X-Order: server, proxymatch, proxyurl, locmatch, loc
    //   /app/x  -> X-Order: server, proxyurl, loc
    //   /bal/m  -> X-Order: server, pmbal  (balancer://c/app/m: the member
    //              URL section does not cover it)
    // Proxies first (file order), then Locations (file order).
    let a = Origin::start("a");
    let sg = start_proxy(
        "ProxyPass /app http://{a}/app\n\
         ProxyPass /bal balancer://c/app\n\
         <Proxy balancer://c>\nBalancerMember http://{a}\n</Proxy>\n\
         Header set X-Order server\n\
         <LocationMatch \"^/app/(m|n)\">\nHeader append X-Order locmatch\n</LocationMatch>\n\
         <Location /app>\nHeader append X-Order loc\n</Location>\n\
         <ProxyMatch \"^http://{a}/app/m\">\nHeader append X-Order proxymatch\n</ProxyMatch>\n\
         <Proxy \"http://{a}/\">\nHeader append X-Order proxyurl\n</Proxy>\n\
         <ProxyMatch \"^balancer://c/\">\nHeader append X-Order pmbal\n</ProxyMatch>\n",
        &[&a],
    );
    // Sections see the normalised path, as httpd's r->uri: /app/%6d,
    // /app/x/../m and /app//m got the same X-Order as /app/m (httpd-oracle).
    for (path, want) in [
        ("/app/m", "server, proxymatch, proxyurl, locmatch, loc"),
        ("/app/%6d", "server, proxymatch, proxyurl, locmatch, loc"),
        ("/app/x/../m", "server, proxymatch, proxyurl, locmatch, loc"),
        ("/app//m", "server, proxymatch, proxyurl, locmatch, loc"),
        ("/app/x", "server, proxyurl, loc"),
        ("/bal/m", "server, pmbal"),
    ] {
        let r = http_get(sg.port(), path, &[]);
        assert_eq!(r.header("x-order"), Some(want), "{path}: {}", r.summary());
    }
}

#[test]
fn handler_pages_get_the_header_rules() {
    // httpd-oracle: the balancer-manager page got X-Frame-Options: SAMEORIGIN
    // (always), X-OnSuccess: yes and X-Order: server, mgrloc (its Location's
    // line after the server's); a server-status refused by `Require all
    // denied` (403) got X-Frame-Options only.
    let sg = start_proxy(
        "Header always set X-Frame-Options SAMEORIGIN\n\
         Header onsuccess set X-OnSuccess yes\n\
         Header set X-Order server\n\
         <Location /balancer-manager>\nSetHandler balancer-manager\nRequire all granted\n\
         Header append X-Order mgrloc\n</Location>\n\
         <Location /denied-status>\nSetHandler server-status\nRequire all denied\n</Location>\n\
         <Location /metrics>\nSetHandler metrics\nRequire all granted\n</Location>\n",
        &[],
    );
    let r = http_get(sg.port(), "/balancer-manager", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(
        r.header("x-frame-options"),
        Some("SAMEORIGIN"),
        "{}",
        r.summary()
    );
    assert_eq!(r.header("x-onsuccess"), Some("yes"), "{}", r.summary());
    assert_eq!(
        r.header("x-order"),
        Some("server, mgrloc"),
        "{}",
        r.summary()
    );
    let r = http_get(sg.port(), "/metrics", &[]);
    assert_eq!(r.status, 200, "{}", r.summary());
    assert_eq!(
        r.header("x-frame-options"),
        Some("SAMEORIGIN"),
        "{}",
        r.summary()
    );
    let r = http_get(sg.port(), "/denied-status", &[]);
    assert_eq!(r.status, 403, "{}", r.summary());
    assert_eq!(
        r.header("x-frame-options"),
        Some("SAMEORIGIN"),
        "{}",
        r.summary()
    );
    assert_eq!(r.header("x-onsuccess"), None, "{}", r.summary());
}

#[test]
fn a_proxy_section_is_a_prefix_of_the_url_as_in_httpd() {
    // httpd-oracle, with the lines below: /c/x got `X-Order: server, c` and
    // /cd/x `X-Order: server, c, cd` (`<Proxy balancer://c>` is a prefix of
    // `balancer://cd/app/x`: httpd compares a pattern without wildcards as one).
    let a = Origin::start("a");
    let sg = start_proxy(
        "<Proxy balancer://c>\nBalancerMember http://{a}\nHeader append X-Order c\n</Proxy>\n\
         <Proxy balancer://cd>\nBalancerMember http://{a}\nHeader append X-Order cd\n</Proxy>\n\
         Header set X-Order server\n\
         ProxyPass /c balancer://c/app\n\
         ProxyPass /cd balancer://cd/app\n",
        &[&a],
    );
    for (path, want) in [("/c/x", "server, c"), ("/cd/x", "server, c, cd")] {
        let r = http_get(sg.port(), path, &[]);
        assert_eq!(r.header("x-order"), Some(want), "{path}: {}", r.summary());
    }
}
