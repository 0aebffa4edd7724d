//! ProxyPassMatch, `ProxyPass ~`, `<LocationMatch>` and `<Location ~>`.

use super::*;

#[test]
fn regex_rules_are_marked_and_kept_as_written() {
    let c = config(
        "ProxyPassMatch ^/(.*\\.gif)$ http://127.0.0.1:1/images/$1 timeout=3\n\
         ProxyPass ~ ^/api/(v[0-9]+)/ http://127.0.0.1:2/$1/ nocanon\n\
         ProxyPassMatch \\.png$ !\n\
         ProxyPass /plain/ http://127.0.0.1:3/\n\
         <LocationMatch \"^/lm/(.*)$\">\n\
         ProxyPass http://127.0.0.1:4/d/$1\n\
         </LocationMatch>\n\
         <Location ~ \"^/tilde/.*\">\n\
         ProxyPass http://127.0.0.1:5/e\n\
         </Location>\n",
    );
    let got: Vec<(&str, &str, bool, bool)> = c
        .proxy_pass
        .iter()
        .enumerate()
        .map(|(i, r)| (r.path.as_str(), pass_url(&c, i), r.regex, r.from_location))
        .collect();
    assert_eq!(
        got,
        [
            ("^/tilde/.*", "http://127.0.0.1:5/e", true, true),
            ("^/lm/(.*)$", "http://127.0.0.1:4/d/$1", true, true),
            ("^/(.*\\.gif)$", "http://127.0.0.1:1/images/$1", true, false),
            ("^/api/(v[0-9]+)/", "http://127.0.0.1:2/$1/", true, false),
            ("\\.png$", "!", true, false),
            ("/plain/", "http://127.0.0.1:3/", false, false),
        ]
    );
    assert_eq!(
        c.proxy_pass[2].params.timeout,
        Some(std::time::Duration::from_secs(3))
    );
    assert!(c.proxy_pass[3].nocanon);
    assert!(
        c.warnings.is_empty(),
        "no slash warning for regex rules: {:?}",
        c.warnings
    );
}

#[test]
fn a_regex_rule_to_a_balancer() {
    let c = config(
        "BalancerMember balancer://c http://127.0.0.1:1\n\
         ProxyPassMatch ^/x/(.*)$ balancer://C/$1 lbmethod=bytraffic\n",
    );
    assert_eq!(pass_url(&c, 0), "balancer://c/$1");
    assert!(c.proxy_pass[0].regex);
    assert_eq!(c.balancers[0].params.lbmethod, "bytraffic");
}

#[test]
fn regex_errors() {
    let cases = [
        (
            "ProxyPassMatch ^/(a http://h/$1",
            "2: ProxyPassMatch: bad regular expression '^/(a': unclosed group",
        ),
        (
            "ProxyPass ~ ^/(a http://h/$1",
            "2: ProxyPass: bad regular expression '^/(a': unclosed group",
        ),
        (
            "ProxyPassMatch ~ ^/a http://h/",
            "2: ProxyPassMatch: '~' is not allowed: ProxyPassMatch always takes a regular expression",
        ),
        (
            "ProxyPassMatch ^/a",
            "2: ProxyPassMatch takes a regular expression and a URL (or !)",
        ),
        (
            "ProxyPassMatch ^/(.*)$ http://$1/",
            "2: ProxyPassMatch: a $n in the host or port of 'http://$1/' is not supported yet",
        ),
        (
            "ProxyPassMatch ^/(.*)$ http://h:$1/",
            "2: ProxyPassMatch: a $n in the host or port of 'http://h:$1/' is not supported yet",
        ),
        (
            "ProxyPassMatch ^/a ! timeout=1",
            "2: ProxyPassMatch: no parameters are allowed after '!', got 'timeout=1'",
        ),
        (
            "ProxyPassMatch ^/a http://h/ frob=1",
            "2: ProxyPassMatch: unknown Worker parameter 'frob'",
        ),
        (
            "<LocationMatch ^/a.*>\nProxyPass /x http://h/\n</LocationMatch>",
            "3: ProxyPass: inside <LocationMatch> the path is the LocationMatch's (^/a.*); write ProxyPass URL",
        ),
        (
            "<LocationMatch ^/(x>\n</LocationMatch>",
            "2: <LocationMatch>: bad regular expression '^/(x': unclosed group",
        ),
        (
            "<LocationMatch ^/api/>\nProxyPass http://h/\n</LocationMatch>",
            "3: ProxyPass inside <LocationMatch ^/api/>: httpd compares a pattern without *, ? or [...] as a plain prefix, so this rule would never match; write the regex with .* (e.g. ^/api/.*)",
        ),
        (
            "<LocationMatch ^/api/.*>\nProxyPassReverse http://h/\n</LocationMatch>",
            "3: ProxyPassReverse inside <LocationMatch> is not supported (httpd would use the regular expression as the path)",
        ),
        (
            "<Location /x>\nProxyPassMatch http://h/\n</Location>",
            "3: ProxyPassMatch inside <Location> is not supported yet; use ProxyPass URL inside <LocationMatch regex>",
        ),
        (
            "<LocationMatch ^/a.*>\nProxyPass http://h/\nProxyPass http://h/\n</LocationMatch>",
            "4: ProxyPass: only one per <LocationMatch>; this one already has the one at {FILE}:3",
        ),
        (
            "<LocationMatch ^/a.*>\n<LocationMatch ^/b.*>\n</LocationMatch>\n</LocationMatch>",
            "3: <LocationMatch> cannot occur within <LocationMatch> section",
        ),
    ];
    for (text, want) in cases {
        let want = want.replace("{FILE}", FILE);
        assert_eq!(
            error(&format!("{LISTEN}{text}\n")),
            format!("{FILE}:{want}"),
            "{text}"
        );
    }
}

#[test]
fn location_match_wildcard_test_follows_httpd() {
    // httpd's apr_fnmatch_test decides whether the pattern is compiled as a regex.
    for pattern in ["^/a/.*", "^/a?", "^/[ab]/", "^/x/(.*)$"] {
        let c = config(&format!(
            "<LocationMatch \"{pattern}\">\nProxyPass http://h/\n</LocationMatch>\n"
        ));
        assert!(c.proxy_pass[0].regex, "{pattern}");
    }
    for pattern in ["^/a/", "^/a\\*", "^/a\\[", "/plain"] {
        let text = format!(
            "{LISTEN}<LocationMatch \"{pattern}\">\nProxyPass http://h/\n</LocationMatch>\n"
        );
        assert!(error(&text).contains("would never match"), "{pattern}");
    }
    // Without a ProxyPass inside, any regex is fine.
    config("<LocationMatch ^/a/>\nProxyPassReverseCookiePath /a /b\n</LocationMatch>\n");
}
