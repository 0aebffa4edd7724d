use std::net::IpAddr;

use super::{forward_confirmed_host, Decision, IpNet, Require};

fn rules(text: &str) -> Require {
    match Require::parse(text) {
        Ok(Some(r)) => r,
        Ok(None) => panic!("no rule in:\n{text}"),
        Err(e) => panic!("{e}\n--- rules:\n{text}"),
    }
}

fn error(text: &str) -> String {
    match Require::parse(text) {
        Ok(r) => panic!("accepted: {r:?}\n--- rules:\n{text}"),
        Err(e) => e,
    }
}

/// The host names of the table: every address resolves to nothing except these.
fn host_of(ip: IpAddr) -> Option<String> {
    match ip.to_string().as_str() {
        "192.0.2.10" => Some("www.example.com".into()),
        "192.0.2.11" => Some("badexample.com".into()),
        "192.0.2.12" => Some("Ops.Example.COM.".into()),
        "2001:db8::10" => Some("v6.example.org".into()),
        _ => None,
    }
}

fn allowed(rule: &Require, client: &str) -> bool {
    let ip: IpAddr = client.parse().expect(client);
    rule.allows(ip, &mut host_of)
}

/// Rules × clients: "+" allowed, "-" denied.
#[test]
fn rule_table() {
    let table: &[(&str, &[(&str, bool)])] = &[
        ("Require all granted", &[("10.0.0.1", true), ("::1", true)]),
        (
            "Require all denied",
            &[("10.0.0.1", false), ("127.0.0.1", false)],
        ),
        (
            "Require ip 127.0.0.1",
            &[
                ("127.0.0.1", true),
                ("127.0.0.2", false),
                ("::ffff:127.0.0.1", true),
                ("::1", false),
            ],
        ),
        (
            "Require ip 10.1",
            &[
                ("10.1.0.0", true),
                ("10.1.255.3", true),
                ("10.2.0.1", false),
                ("110.1.0.1", false),
            ],
        ),
        (
            "Require ip 10",
            &[("10.200.1.1", true), ("11.0.0.1", false)],
        ),
        (
            "Require ip 192.168.1.",
            &[("192.168.1.77", true), ("192.168.10.1", false)],
        ),
        (
            "Require ip 10.0.0.0/8 172.16.0.0/12",
            &[
                ("10.9.8.7", true),
                ("172.31.255.255", true),
                ("172.32.0.1", false),
                ("::ffff:10.0.0.5", true),
                ("192.168.0.1", false),
            ],
        ),
        (
            "Require ip 10.1.0.0/255.255.0.0",
            &[("10.1.9.9", true), ("10.2.9.9", false)],
        ),
        // Host bits beyond the mask are cleared, as APR does.
        (
            "Require ip 10.1.2.3/16",
            &[("10.1.200.1", true), ("10.0.0.1", false)],
        ),
        (
            "Require ip 0.0.0.0/0",
            &[("203.0.113.9", true), ("::1", false)],
        ),
        (
            "Require ip 2001:db8::/32",
            &[
                ("2001:db8:1::5", true),
                ("2001:db9::1", false),
                ("10.0.0.1", false),
            ],
        ),
        ("Require ip ::1", &[("::1", true), ("127.0.0.1", false)]),
        // A mapped client compares as IPv4 only, never against an IPv6 rule (APR).
        ("Require ip ::ffff:0:0/96", &[("::ffff:10.0.0.1", false)]),
        (
            "Require local",
            &[
                ("127.0.0.1", true),
                ("127.9.9.9", true),
                ("::1", true),
                ("::ffff:127.0.0.1", true),
                ("10.0.0.1", false),
                ("::2", false),
            ],
        ),
        (
            "Require host example.com",
            &[
                ("192.0.2.10", true),  // www.example.com
                ("192.0.2.11", false), // badexample.com: not at a label boundary
                ("192.0.2.12", true),  // Ops.Example.COM.: case and trailing dot
                ("192.0.2.99", false), // no name
            ],
        ),
        (
            "Require host .example.com",
            &[("192.0.2.10", true), ("192.0.2.11", false)],
        ),
        (
            "Require host www.example.com",
            &[("192.0.2.10", true), ("192.0.2.12", false)],
        ),
        (
            "Require host example.org",
            &[("2001:db8::10", true), ("192.0.2.10", false)],
        ),
        // Several lines: an implicit RequireAny.
        (
            "Require ip 10.0.0.0/8\nRequire local",
            &[
                ("10.1.1.1", true),
                ("127.0.0.1", true),
                ("192.168.0.1", false),
            ],
        ),
        (
            "<RequireAll>\nRequire all granted\nRequire not ip 10.1\n</RequireAll>",
            &[("10.1.0.9", false), ("10.2.0.9", true), ("::1", true)],
        ),
        (
            "<RequireAll>\nRequire ip 10.0.0.0/8\nRequire not ip 10.1 10.2\n</RequireAll>",
            &[
                ("10.1.0.9", false),
                ("10.2.0.9", false),
                ("10.3.0.9", true),
                ("11.0.0.1", false),
            ],
        ),
        (
            "<RequireAll>\nRequire ip 10.0.0.0/8\nRequire host example.com\n</RequireAll>",
            &[("10.0.0.1", false), ("192.0.2.10", false)],
        ),
        (
            "<RequireAll>\nRequire ip 192.0.2.0/24\nRequire host example.com\n</RequireAll>",
            &[("192.0.2.10", true), ("192.0.2.11", false)],
        ),
        (
            "<RequireAll>\n  Require local\n  <RequireNone>\n    Require ip 127.0.0.2\n    \
             Require ip ::1\n  </RequireNone>\n</RequireAll>",
            &[
                ("127.0.0.1", true),
                ("127.0.0.2", false),
                ("::1", false),
                ("10.0.0.1", false),
            ],
        ),
        (
            "<RequireAny>\n  <RequireAll>\n    Require ip 10.0.0.0/8\n    Require not ip 10.9\n  \
             </RequireAll>\n  Require local\n</RequireAny>",
            &[
                ("10.1.1.1", true),
                ("10.9.1.1", false),
                ("127.0.0.1", true),
                ("8.8.8.8", false),
            ],
        ),
        // A RequireAll whose positive child is itself a section.
        (
            "<RequireAll>\n<RequireAny>\nRequire ip 10.1\nRequire ip 10.2\n</RequireAny>\n\
             Require not ip 10.2.3.4\n</RequireAll>",
            &[
                ("10.1.0.1", true),
                ("10.2.0.1", true),
                ("10.2.3.4", false),
                ("10.3.0.1", false),
            ],
        ),
    ];
    let mut failures = Vec::new();
    for (text, cases) in table {
        let rule = rules(text);
        for (client, want) in cases.iter() {
            if allowed(&rule, client) != *want {
                failures.push(format!(
                    "{text:?} for {client}: want {}",
                    if *want { "allowed" } else { "denied" }
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// httpd's tri-state: a negated rule and a RequireNone never grant, and neutral
/// refuses (a RequireAll of a neutral rule only is neutral, hence refused).
#[test]
fn tri_state_decisions() {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let d = |r: &Require, c: &str| r.decide(ip(c), &mut host_of);
    let not = Require::Not(Box::new(Require::Ip(vec![IpNet::parse("10.1").unwrap()])));
    assert_eq!(d(&not, "10.1.0.1"), Decision::Denied);
    assert_eq!(d(&not, "10.2.0.1"), Decision::Neutral);
    let none = Require::NoneOf(vec![Require::Local]);
    assert_eq!(d(&none, "127.0.0.1"), Decision::Denied);
    assert_eq!(d(&none, "10.0.0.1"), Decision::Neutral);
    assert!(!none.allows(ip("10.0.0.1"), &mut host_of));
    let any = Require::AnyOf(vec![Require::All(false), Require::Local]);
    assert_eq!(d(&any, "10.0.0.1"), Decision::Denied);
    assert_eq!(d(&any, "127.0.0.1"), Decision::Granted);
    let all = Require::AllOf(vec![not.clone(), none.clone()]);
    assert_eq!(d(&all, "10.2.0.1"), Decision::Neutral);
    assert_eq!(d(&all, "10.1.0.1"), Decision::Denied);
}

/// `host_of` is asked only when a host rule is reached, and once per evaluation.
#[test]
fn host_lookup_only_when_needed() {
    let rule = rules("Require ip 10.0.0.0/8\nRequire host example.com\nRequire host example.org");
    assert!(rule.needs_host());
    assert!(!rules("<RequireAll>\nRequire local\nRequire not ip 10\n</RequireAll>").needs_host());
    let calls = std::cell::Cell::new(0);
    let mut counting = |ip: IpAddr| {
        calls.set(calls.get() + 1);
        host_of(ip)
    };
    assert!(rule.allows("10.0.0.1".parse().unwrap(), &mut counting));
    assert_eq!(calls.get(), 0);
    assert!(!rule.allows("192.0.2.11".parse().unwrap(), &mut counting));
    assert_eq!(calls.get(), 1);
}

#[test]
fn parse_errors() {
    let cases: &[(&str, &str)] = &[
        ("Require", "line 1: Require takes an authorization provider"),
        (
            "Require not",
            "line 1: Require not takes an authorization provider",
        ),
        (
            "Require all",
            "line 1: Require all: the argument must be 'granted' or 'denied', got ''",
        ),
        ("Require all allowed", "got 'allowed'"),
        (
            "Require ip",
            "line 1: Require ip takes one or more addresses",
        ),
        (
            "Require ip 10.0.0.256",
            "'10.0.0.256' is not an IP address or network",
        ),
        ("Require ip 1.2.3.4.5", "'1.2.3.4.5' is not an IP address"),
        ("Require ip 10..1", "'10..1' is not an IP address"),
        (
            "Require ip example.com",
            "'example.com' is not an IP address",
        ),
        (
            "Require ip 10.0.0.0/33",
            "an IPv4 mask must be 0 to 32 bits",
        ),
        (
            "Require ip 10.0.0.0/255.0.x.0",
            "'255.0.x.0' is neither a bit count nor a netmask",
        ),
        (
            "Require ip 2001:db8::/129",
            "an IPv6 mask must be 0 to 128 bits",
        ),
        (
            "Require ip 2001:db8::/ffff::",
            "an IPv6 mask must be 0 to 128 bits",
        ),
        (
            "Require host",
            "Require host takes one or more host or domain names",
        ),
        (
            "Require host exa/mple",
            "'exa/mple' is not a host or domain name",
        ),
        (
            "Require local 10.0.0.1",
            "Require local takes no arguments, got '10.0.0.1'",
        ),
        ("Require valid-user", "Require valid-user is not supported"),
        ("Require not user bob", "Require not user is not supported"),
        ("Require bogus x", "unknown authorization provider 'bogus'"),
        // Negation: httpd's messages.
        (
            "Require not ip 10.1",
            "line 1: negative Require directive has no effect in <RequireAny> directive",
        ),
        (
            "Require local\nRequire not ip 10.1",
            "line 2: negative Require directive has no effect in <RequireAny> directive",
        ),
        (
            "<RequireAny>\nRequire local\nRequire not ip 10.1\n</RequireAny>",
            "line 3: negative Require directive has no effect in <RequireAny> directive",
        ),
        (
            "<RequireNone>\nRequire ip 10.1\n</RequireNone>",
            "line 1: negative <RequireNone> directive has no effect in <RequireAny> directive",
        ),
        (
            "<RequireAll>\nRequire all granted\n<RequireNone>\nRequire not ip 10.1\n\
             </RequireNone>\n</RequireAll>",
            "line 4: negative Require directive has no effect in <RequireNone> directive",
        ),
        (
            "<RequireAll>\nRequire not ip 10.1\nRequire not local\n</RequireAll>",
            "line 1: <RequireAll> directive contains only negative authorization directives",
        ),
        (
            "<RequireAll>\n<RequireNone>\nRequire local\n</RequireNone>\n</RequireAll>",
            "line 1: <RequireAll> directive contains only negative authorization directives",
        ),
        (
            "<RequireAll>\n</RequireAll>",
            "line 1: <RequireAll> directive contains no authorization directives",
        ),
        (
            "<RequireAny>\nRequire local",
            "line 1: <RequireAny> is not closed",
        ),
        (
            "<RequireAny>\nRequire local\n</RequireAll>",
            "line 3: </RequireAll> closes <RequireAny> opened at line 1",
        ),
        (
            "</RequireAny>",
            "line 1: </RequireAny> without a matching <RequireAny>",
        ),
    ];
    let mut failures = Vec::new();
    for (text, want) in cases {
        match Require::parse(text) {
            Ok(r) => failures.push(format!("{text:?}: accepted as {r:?}")),
            Err(e) if !e.contains(want) => {
                failures.push(format!("{text:?}: got {e:?}, want it to contain {want:?}"))
            }
            Err(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Keywords are case-insensitive, as in httpd.
    assert_eq!(rules("REQUIRE ALL GRANTED"), Require::All(true));
    assert!(error("Require ip 10.0.0.0/8/8").contains("is neither a bit count"));
}

#[test]
fn parsed_shapes() {
    assert_eq!(Require::parse("# nothing\n").unwrap(), None);
    assert_eq!(rules("Require local"), Require::Local);
    assert_eq!(
        rules("Require ip 10.1 ::1\nRequire host Example.COM."),
        Require::AnyOf(vec![
            Require::Ip(vec![
                IpNet::V4 {
                    net: 0x0a01_0000,
                    mask: 0xffff_0000
                },
                IpNet::V6 {
                    net: 1,
                    mask: u128::MAX
                },
            ]),
            Require::Host(vec!["example.com".into()]),
        ])
    );
    assert_eq!(
        rules("<RequireAll>\nRequire all granted\nRequire not local\n</RequireAll>"),
        Require::AllOf(vec![
            Require::All(true),
            Require::Not(Box::new(Require::Local))
        ])
    );
}

/// Loopback has no name in most resolvers' reverse zones, or "localhost", which
/// resolves back to it; either answer is consistent. A documentation address has
/// no name.
#[test]
fn forward_confirmed_lookup() {
    match forward_confirmed_host("127.0.0.1".parse().unwrap()) {
        None => {}
        Some(name) => assert!(!name.is_empty() && !name.ends_with('.'), "{name}"),
    }
}
