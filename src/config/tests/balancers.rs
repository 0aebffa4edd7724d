//! Balancers: `<Proxy balancer://…>`, BalancerMember, ProxySet, balancer targets of
//! ProxyPass, balancer and member parameters.

use std::time::Duration;

use super::*;
use crate::config::status_flags as f;
use crate::config::{BalancerConfig, BalancerParams, FlushPackets, WorkerParams};

fn balancer<'a>(c: &'a Config, name: &str) -> &'a BalancerConfig {
    c.balancers
        .iter()
        .find(|b| b.name == name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", c.balancers))
}

fn member_urls(b: &BalancerConfig) -> Vec<&str> {
    b.members.iter().map(|m| m.url.as_str()).collect()
}

/// The parameters of `balancer://c` after `settings` (ProxySet arguments) are applied.
fn params_of(settings: &str) -> BalancerParams {
    let c = config(&format!(
        "<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1\nProxySet {settings}\n</Proxy>\n"
    ));
    c.balancers[0].params.clone()
}

#[test]
fn a_balancer_section_with_members_in_order() {
    let c = config(
        "<Proxy \"balancer://MyCluster\">\n\
         BalancerMember http://127.0.0.1:8081 route=b1\n\
         BalancerMember HTTP://Backend.Example:80/app/ loadfactor=2.5 lbset=1 route=b2 redirect=b1\n\
         BalancerMember http://127.0.0.1:8083 status=+H\n\
         ProxySet lbmethod=bytraffic\n\
         </Proxy>\n\
         ProxyPass /app balancer://mycluster\n",
    );
    assert_eq!(c.balancers.len(), 1);
    let b = balancer(&c, "balancer://mycluster");
    assert_eq!(b.origin.to_string(), format!("{FILE}:2"));
    assert_eq!(
        member_urls(b),
        [
            "http://127.0.0.1:8081",
            "http://backend.example/app/",
            "http://127.0.0.1:8083"
        ]
    );
    let lines: Vec<usize> = b.members.iter().map(|m| m.origin.line).collect();
    assert_eq!(lines, [3, 4, 5]);
    let m0 = &b.members[0].params;
    assert_eq!(m0.route, "b1");
    assert_eq!(m0.loadfactor, 100);
    assert_eq!(m0.lbset, 0);
    assert_eq!(m0.status, f::INIT, "members do not ignore errors");
    assert_eq!(m0.retry, Duration::from_secs(60));
    let m1 = &b.members[1].params;
    assert_eq!((m1.loadfactor, m1.lbset), (250, 1));
    assert_eq!((m1.route.as_str(), m1.redirect.as_str()), ("b2", "b1"));
    assert!(m1.other.is_empty(), "typed keys are not kept in other");
    assert_eq!(b.members[2].params.status, f::INIT | f::HOT_STANDBY);
    assert_eq!(b.params.lbmethod, "bytraffic");
    assert!(b.params.lbmethod_set);
    assert_eq!(
        c.proxy_pass[0].target,
        PassTarget::Url("balancer://mycluster".into())
    );
    assert_eq!(c.proxy_pass[0].params, WorkerParams::default());
}

#[test]
fn balancer_defaults() {
    let p = BalancerParams::default();
    assert_eq!(p.lbmethod, "byrequests");
    assert_eq!(
        (p.sticky_cookie.clone(), p.sticky_param.clone()),
        (None, None)
    );
    assert_eq!(p.sticky_separator, Some(b'.'));
    assert!(!p.scolon_path_delim && !p.nofailover && !p.fail_on_timeout && !p.lbmethod_set);
    assert!(p.force_recovery);
    assert_eq!(p.max_attempts, None);
    assert_eq!(p.timeout, Duration::ZERO);
    assert_eq!(p.growth, 0);
    assert!(p.fail_on_status.is_empty());
    assert_eq!(p.nonce, None);
    let c = config("BalancerMember balancer://c http://127.0.0.1:1\nProxyPass / balancer://c/\n");
    assert_eq!(c.balancers[0].params, p);
    assert_eq!(c.balancer_growth, 5);
    assert!(!c.balancer_persist);
    assert!(!c.proxy_status);
    let wp = WorkerParams::member_default();
    assert_eq!(wp.status, f::INIT);
    assert_eq!((wp.loadfactor, wp.lbset), (100, 0));
    assert_eq!(WorkerParams::default().status, f::INIT | f::IGNORE_ERRORS);
}

#[test]
fn balancer_parameters() {
    type Holds = Box<dyn Fn(&BalancerParams) -> bool>;
    let cases: Vec<(&str, Holds)> = vec![
        (
            "lbmethod=bybusyness",
            Box::new(|p| p.lbmethod == "bybusyness" && p.lbmethod_set),
        ),
        (
            "lbmethod=ByTraffic",
            Box::new(|p| p.lbmethod == "bytraffic"),
        ),
        (
            "lbmethod=byrequests",
            Box::new(|p| p.lbmethod == "byrequests" && p.lbmethod_set),
        ),
        (
            "lbmethod=heartbeat",
            Box::new(|p| p.lbmethod == "heartbeat" && p.lbmethod_set),
        ),
        (
            "lbmethod=ByLatency",
            Box::new(|p| p.lbmethod == "bylatency"),
        ),
        ("lbmethod=byload", Box::new(|p| p.lbmethod == "byload")),
        (
            "lbmethod=hash hashkey=header:X-User",
            Box::new(|p| {
                p.lbmethod == "hash"
                    && p.hash_key == crate::config::lbmethod::HashKey::Header("X-User".into())
            }),
        ),
        (
            "hashkey=cookie:sid",
            Box::new(|p| p.hash_key == crate::config::lbmethod::HashKey::Cookie("sid".into())),
        ),
        (
            "stickysession=JSESSIONID",
            Box::new(|p| {
                p.sticky_cookie.as_deref() == Some("JSESSIONID")
                    && p.sticky_param.as_deref() == Some("JSESSIONID")
            }),
        ),
        (
            "stickysession=JSESSIONID|jsessionid",
            Box::new(|p| {
                p.sticky_cookie.as_deref() == Some("JSESSIONID")
                    && p.sticky_param.as_deref() == Some("jsessionid")
            }),
        ),
        (
            "stickysession=A stickysession=",
            Box::new(|p| p.sticky_cookie.is_none() && p.sticky_param.is_none()),
        ),
        (
            "stickysessionsep=Off",
            Box::new(|p| p.sticky_separator.is_none()),
        ),
        (
            "stickysessionsep=off",
            Box::new(|p| p.sticky_separator.is_none()),
        ),
        (
            "stickysessionsep=~",
            Box::new(|p| p.sticky_separator == Some(b'~')),
        ),
        (
            "stickysessionsep=O",
            Box::new(|p| p.sticky_separator == Some(b'O')),
        ),
        ("scolonpathdelim=On", Box::new(|p| p.scolon_path_delim)),
        ("nofailover=On", Box::new(|p| p.nofailover)),
        ("maxattempts=0", Box::new(|p| p.max_attempts == Some(0))),
        ("maxattempts=3", Box::new(|p| p.max_attempts == Some(3))),
        (
            "timeout=10",
            Box::new(|p| p.timeout == Duration::from_secs(10)),
        ),
        ("growth=100", Box::new(|p| p.growth == 100)),
        ("forcerecovery=Off", Box::new(|p| !p.force_recovery)),
        ("failontimeout=On", Box::new(|p| p.fail_on_timeout)),
        ("failonstatus=503", Box::new(|p| p.fail_on_status == [503])),
        (
            "\"failonstatus=500, 502,503\"",
            Box::new(|p| p.fail_on_status == [500, 502, 503]),
        ),
        (
            "failonstatus=500,503 failonstatus=504",
            Box::new(|p| p.fail_on_status == [504]),
        ),
        ("nonce=None", Box::new(|p| p.nonce.as_deref() == Some(""))),
        (
            "nonce=5b0c2c8c-1f0e-4e8e-9b3d-2f1b9d6a7c11",
            Box::new(|p| p.nonce.as_deref() == Some("5b0c2c8c-1f0e-4e8e-9b3d-2f1b9d6a7c11")),
        ),
        (
            "LBMETHOD=bybusyness NoFailover=on",
            Box::new(|p| p.lbmethod == "bybusyness" && p.nofailover),
        ),
    ];
    for (settings, holds) in cases {
        let p = params_of(settings);
        assert!(holds(&p), "{settings}: {p:?}");
    }
}

#[test]
fn balancer_parameter_errors() {
    let long = "S".repeat(64);
    let cases = [
        ("lbmethod=roundrobin", "unknown lbmethod 'roundrobin'; valid methods are byrequests, bytraffic, bybusyness, bylatency, byload, hash, heartbeat".to_string()),
        ("hashkey=query:x", "hashkey must be ip, header:NAME or cookie:NAME, got 'query:x'".to_string()),
        ("hashkey=header:", "hashkey must be ip, header:NAME or cookie:NAME, got 'header:'".to_string()),
        (&*format!("stickysession={long}"), "stickysession must be shorter than 64 bytes, got 64 bytes".to_string()),
        (&*format!("stickysession=A|{long}"), "stickysession must be shorter than 64 bytes, got 64 bytes".to_string()),
        ("stickysession=|x", "stickysession: empty name in '|x' (expected NAME or COOKIE|PARAM)".to_string()),
        ("stickysessionsep=ab", "stickysessionsep must be a single character or Off, got 'ab'".to_string()),
        ("stickysessionsep=", "stickysessionsep must be a single character or Off, got ''".to_string()),
        ("scolonpathdelim=yes", "scolonpathdelim: expected On or Off, got 'yes'".to_string()),
        ("maxattempts=-1", "maxattempts must be an integer of at least 0, got '-1'".to_string()),
        ("timeout=0", "timeout must be at least 1 second, got '0'".to_string()),
        ("timeout=5s", "timeout takes whole seconds without a unit, got '5s' (httpd would read it as 5 seconds)".to_string()),
        ("growth=0", "growth must be an integer from 1 to 100, got '0'".to_string()),
        ("growth=101", "growth must be an integer from 1 to 100, got '101'".to_string()),
        ("failonstatus=500,abc", "failonstatus must be HTTP status codes (100 to 599) separated by commas or blanks, got 'abc' in '500,abc'".to_string()),
        ("failonstatus=600", "failonstatus must be HTTP status codes (100 to 599) separated by commas or blanks, got '600' in '600'".to_string()),
        ("nonce=0123456789012345678901234567890123456", "nonce must be shorter than 37 bytes, got 37 bytes".to_string()),
        ("frob=1", "unknown Balancer parameter 'frob'".to_string()),
        ("lbset=1", "unknown Balancer parameter 'lbset' (lbset is a BalancerMember parameter)".to_string()),
        ("lbmethod", "parameters must be key=value, got 'lbmethod'".to_string()),
    ];
    for (settings, want) in cases {
        let text = format!(
            "{LISTEN}<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1\nProxySet {settings}\n</Proxy>\n"
        );
        assert_eq!(
            error(&text),
            format!("{FILE}:4: ProxySet: {want}"),
            "{settings}"
        );
        // The same parameters on a ProxyPass line go to the balancer too.
        if !settings.contains('=') {
            continue;
        }
        let text = format!(
            "{LISTEN}BalancerMember balancer://c http://127.0.0.1:1\nProxyPass / balancer://c/ {settings}\n"
        );
        assert_eq!(
            error(&text),
            format!("{FILE}:3: ProxyPass: {want}"),
            "{settings}"
        );
    }
}

#[test]
fn member_parameter_errors() {
    let cases = [
        ("loadfactor=0", "loadfactor must be a number from 1 to 100 with at most 2 decimals, got '0'"),
        ("loadfactor=101", "loadfactor must be a number from 1 to 100 with at most 2 decimals, got '101'"),
        ("loadfactor=1.005", "loadfactor must be a number from 1 to 100 with at most 2 decimals, got '1.005'"),
        ("lbset=100", "lbset must be an integer from 0 to 99, got '100'"),
        ("status=X", "status: unknown flag 'X' in 'X'; valid flags are I N D S E H C R"),
        ("route=0123456789012345678901234567890123456789012345678901234567890123", "route must be shorter than 64 bytes, got 64 bytes"),
        ("redirect=0123456789012345678901234567890123456789012345678901234567890123", "redirect must be shorter than 64 bytes, got 64 bytes"),
        ("stickysession=x", "unknown Worker parameter 'stickysession'"),
        ("mapping=servlet", "unknown Worker parameter 'mapping'"),
        ("timeout=1ms", "timeout takes whole seconds without a unit, got '1ms' (httpd would read it as 1 seconds)"),
    ];
    for (param, want) in cases {
        let text = format!(
            "{LISTEN}<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1 {param}\n</Proxy>\n"
        );
        assert_eq!(
            error(&text),
            format!("{FILE}:3: BalancerMember: {want}"),
            "{param}"
        );
        let text = format!("{LISTEN}BalancerMember balancer://c http://127.0.0.1:1 {param}\n");
        assert_eq!(
            error(&text),
            format!("{FILE}:2: BalancerMember: {want}"),
            "{param}"
        );
    }
}

#[test]
fn member_loadfactors_and_statuses() {
    let cases = [
        ("loadfactor=1", 100, f::INIT),
        ("loadfactor=100", 10_000, f::INIT),
        ("loadfactor=2.5", 250, f::INIT),
        ("loadfactor=1.01 status=+I", 101, f::INIT | f::IGNORE_ERRORS),
        ("loadfactor=99.9", 9990, f::INIT),
        ("status=D", 100, f::INIT | f::DISABLED),
        ("status=+H", 100, f::INIT | f::HOT_STANDBY),
        ("status=R-I", 100, f::INIT | f::HOT_SPARE),
        ("loadfactor=3 loadfactor=4", 400, f::INIT),
    ];
    for (param, loadfactor, status) in cases {
        let c = config(&format!(
            "BalancerMember balancer://c http://127.0.0.1:1 {param}\n"
        ));
        let p = &c.balancers[0].members[0].params;
        assert_eq!((p.loadfactor, p.status), (loadfactor, status), "{param}");
    }
}

#[test]
fn ws_members() {
    let c = config(
        "<Proxy balancer://chat>\n\
         BalancerMember WS://Chat1.Example:80/socket upgrade=websocket max=8 acquire=3s\n\
         BalancerMember ws://127.0.0.1:8082 flushpackets=on flushwait=50 ping=500ms\n\
         BalancerMember http://127.0.0.1:8082\n\
         </Proxy>\n\
         BalancerMember balancer://chat ws://[::1]:8083/ responsefieldsize=100 iobuffersize=4096\n\
         ProxyPass /chat/ balancer://chat/\n",
    );
    let b = balancer(&c, "balancer://chat");
    assert_eq!(
        member_urls(b),
        [
            "ws://chat1.example/socket",
            "ws://127.0.0.1:8082",
            "http://127.0.0.1:8082",
            "ws://[::1]:8083/"
        ],
        "ws and http on one address are different members"
    );
    let m0 = &b.members[0].params;
    assert_eq!(m0.upgrade.as_deref(), Some("websocket"));
    assert_eq!(m0.max, Some(8));
    assert_eq!(m0.acquire, Some(Duration::from_secs(3)));
    assert_eq!(m0.other_value("max"), Some("8"));
    assert_eq!(m0.status, f::INIT);
    let m1 = &b.members[1].params;
    assert_eq!(m1.flush_packets, FlushPackets::On);
    assert_eq!(m1.flush_wait, Duration::from_millis(50));
    assert_eq!(m1.ping, Some(Duration::from_millis(500)));
    assert_eq!(m1.upgrade, None);
    assert!(m1.accepts_upgrade("ws", "websocket"));
    assert!(!b.members[2].params.accepts_upgrade("http", "websocket"));
    let m3 = &b.members[3].params;
    assert_eq!(
        (m3.response_field_size, m3.io_buffer_size),
        (100, Some(4096))
    );
}

#[test]
fn ws_member_errors() {
    let cases = [
        ("ws://127.0.0.1:0", "bad port '0' in 'ws://127.0.0.1:0'"),
        (
            "ws://127.0.0.1:1 flushwait=1001",
            "flushwait must be an integer from 0 to 1000, got '1001'",
        ),
        (
            "ws://127.0.0.1:1 acquire=1x",
            "acquire: expected a time such as 5, 5s, 500ms, 2mi or 1hr, got '1x'",
        ),
        (
            "ws://127.0.0.1:1 upgrade=a;b",
            "upgrade: expected protocol names separated by commas, * or ANY, got 'a;b'",
        ),
    ];
    for (member, want) in cases {
        let text = format!("{LISTEN}<Proxy balancer://c>\nBalancerMember {member}\n</Proxy>\n");
        assert_eq!(
            error(&text),
            format!("{FILE}:3: BalancerMember: {want}"),
            "{member}"
        );
    }
}

#[test]
fn standalone_workers_take_the_typed_member_keys_too() {
    let c = config("ProxyPass /a http://h/ loadfactor=2 lbset=3 route=r redirect=s\n");
    let p = &c.proxy_pass[0].params;
    assert_eq!((p.loadfactor, p.lbset), (200, 3));
    assert_eq!((p.route.as_str(), p.redirect.as_str()), ("r", "s"));
    assert_eq!(p.status, f::INIT | f::IGNORE_ERRORS);
    assert!(p.other.is_empty());
}

#[test]
fn parameters_on_the_proxy_pass_line_land_on_the_balancer() {
    // Before and after the definition; both lines' parameters apply, in file order.
    let c = config(
        "ProxyPass /a balancer://c/ stickysession=ROUTEID nofailover=On timeout=3 maxattempts=1 nocanon\n\
         <Proxy balancer://c lbmethod=bybusyness>\n\
         BalancerMember http://127.0.0.1:1\n\
         ProxySet timeout=5\n\
         </Proxy>\n\
         ProxyPass /b balancer://C/b/ failonstatus=503\n",
    );
    let b = balancer(&c, "balancer://c");
    assert_eq!(b.origin.line, 3, "defined by the <Proxy> section");
    assert_eq!(b.params.sticky_cookie.as_deref(), Some("ROUTEID"));
    assert!(b.params.nofailover);
    assert_eq!(
        b.params.timeout,
        Duration::from_secs(5),
        "the later ProxySet wins"
    );
    assert_eq!(b.params.max_attempts, Some(1));
    assert_eq!(b.params.lbmethod, "bybusyness");
    assert_eq!(b.params.fail_on_status, [503]);
    let a = &c.proxy_pass[0];
    assert!(a.nocanon);
    assert_eq!(a.params, WorkerParams::default(), "no worker parameters");
    assert_eq!(
        pass_url(&c, 1),
        "balancer://c/b/",
        "scheme and name lowercased"
    );
}

#[test]
fn later_settings_win_in_file_order() {
    let c = config(
        "<Proxy balancer://c>\n\
         BalancerMember http://127.0.0.1:1\n\
         ProxySet lbmethod=bytraffic\n\
         </Proxy>\n\
         ProxyPass / balancer://c/ lbmethod=bybusyness\n",
    );
    assert_eq!(c.balancers[0].params.lbmethod, "bybusyness");
    let c = config(
        "ProxyPass / balancer://c/ lbmethod=bybusyness\n\
         <Proxy balancer://c>\n\
         BalancerMember http://127.0.0.1:1\n\
         ProxySet lbmethod=bytraffic\n\
         </Proxy>\n",
    );
    assert_eq!(c.balancers[0].params.lbmethod, "bytraffic");
}

#[test]
fn the_other_ways_to_define_and_set() {
    let c = config(
        "BalancerMember balancer://outside http://127.0.0.1:1 route=r1\n\
         BalancerMember balancer://Outside http://127.0.0.1:2 route=r2\n\
         ProxySet balancer://outside stickysession=S|s stickysessionsep=Off\n\
         <Proxy balancer://outside>\n\
         BalancerMember http://127.0.0.1:3\n\
         </Proxy>\n\
         <Proxy balancer://second/some/path growth=10>\n\
         BalancerMember http://127.0.0.1:4\n\
         </Proxy>\n\
         ProxyPass /o balancer://outside/\n\
         ProxyPass /s balancer://second/\n",
    );
    let names: Vec<&str> = c.balancers.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(names, ["balancer://outside", "balancer://second"]);
    let o = &c.balancers[0];
    assert_eq!(
        o.origin.line, 2,
        "first defined by the first BalancerMember line"
    );
    assert_eq!(
        member_urls(o),
        [
            "http://127.0.0.1:1",
            "http://127.0.0.1:2",
            "http://127.0.0.1:3"
        ]
    );
    assert_eq!(o.params.sticky_cookie.as_deref(), Some("S"));
    assert_eq!(o.params.sticky_param.as_deref(), Some("s"));
    assert_eq!(o.params.sticky_separator, None);
    assert_eq!(c.balancers[1].params.growth, 10);
}

#[test]
fn a_balancer_without_a_proxy_pass_is_kept() {
    let c = config("<Proxy balancer://spare>\nBalancerMember http://127.0.0.1:1\n</Proxy>\n");
    assert_eq!(c.balancers.len(), 1);
    assert!(c.proxy_pass.is_empty());
}

#[test]
fn proxy_set_after_a_proxy_pass_that_names_the_balancer() {
    // httpd creates the balancer at the ProxyPass, so a later ProxySet finds it.
    let c = config(
        "ProxyPass / balancer://c/\n\
         ProxySet balancer://c lbmethod=bytraffic\n\
         BalancerMember balancer://c http://127.0.0.1:1\n",
    );
    assert_eq!(c.balancers[0].params.lbmethod, "bytraffic");
    assert_eq!(c.balancers[0].origin.line, 4);
}

#[test]
fn definition_errors() {
    let cases = [
        (
            "ProxySet balancer://x lbmethod=bytraffic\n<Proxy balancer://x>\nBalancerMember http://127.0.0.1:1\n</Proxy>\n",
            "2: ProxySet: balancer://x is not defined (yet)",
        ),
        (
            "ProxyPass /a http://127.0.0.1:1/\nProxyPass / balancer://nope/\nProxyPass /b balancer://nope/b\n",
            "3: ProxyPass: balancer://nope is not defined (no <Proxy balancer://nope> or BalancerMember balancer://nope anywhere)",
        ),
        (
            "ProxyPassMatch ^/(.*) balancer://nope/$1\n",
            "2: ProxyPassMatch: balancer://nope is not defined (no <Proxy balancer://nope> or BalancerMember balancer://nope anywhere)",
        ),
        (
            "<Proxy balancer://empty>\nProxySet lbmethod=bytraffic\n</Proxy>\nProxyPass / balancer://empty/\n",
            "2: balancer://empty has no BalancerMember",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1\nBalancerMember HTTP://127.0.0.1:1\n</Proxy>\n",
            "4: BalancerMember: http://127.0.0.1:1 is already a member of balancer://c (at {FILE}:3)",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember http://h:80/\n</Proxy>\nBalancerMember balancer://c http://h/\n",
            "5: BalancerMember: http://h/ is already a member of balancer://c (at {FILE}:3)",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember gopher://127.0.0.1:1\n</Proxy>\n",
            "3: BalancerMember: unsupported scheme 'gopher' in 'gopher://127.0.0.1:1'",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember 127.0.0.1:1\n</Proxy>\n",
            "3: BalancerMember: '127.0.0.1:1' is not a URL (expected http://host[:port][/path])",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember\n</Proxy>\n",
            "3: BalancerMember: no member URL (expected BalancerMember URL [key=value…])",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember balancer://c http://127.0.0.1:1\n</Proxy>\n",
            "3: BalancerMember: inside <Proxy balancer://c> the balancer is the section's; write BalancerMember URL [key=value…]",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1 loose\n</Proxy>\n",
            "3: BalancerMember: parameters must be key=value, got 'loose'",
        ),
        (
            "BalancerMember http://127.0.0.1:1\n",
            "2: BalancerMember: outside <Proxy balancer://…> the balancer must be named: BalancerMember balancer://NAME URL [key=value…]",
        ),
        (
            "BalancerMember balancer://c\n",
            "2: BalancerMember: no member URL (expected BalancerMember URL [key=value…])",
        ),
        (
            "BalancerMember http://a http://127.0.0.1:1\n",
            "2: BalancerMember: 'http://a' is not a balancer name (expected BalancerMember balancer://NAME URL [key=value…])",
        ),
        (
            "ProxyPass / balancer:///\n",
            "2: ProxyPass: no balancer name in 'balancer:///'",
        ),
        (
            "ProxyPass / balancer://a:80/\n",
            "2: ProxyPass: bad character ':' in the balancer name of 'balancer://a:80/'",
        ),
        (
            "<Proxy balancer://c lbmethod=nope>\nBalancerMember http://127.0.0.1:1\n</Proxy>\n",
            "2: <Proxy>: unknown lbmethod 'nope'; valid methods are byrequests, bytraffic, bybusyness, bylatency, byload, hash, heartbeat",
        ),
        (
            "<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1\nProxySet balancer://c lbmethod=bytraffic\n</Proxy>\n",
            "4: ProxySet: parameters must be key=value, got 'balancer://c'",
        ),
        (
            "ProxySet balancer://c\n",
            "2: ProxySet: balancer://c is not defined (yet)",
        ),
        (
            "ProxySet\n",
            "2: ProxySet takes a balancer or worker URL and key=value parameters",
        ),
    ];
    for (text, want) in cases {
        let want = want.replace("{FILE}", FILE);
        assert_eq!(
            error(&format!("{LISTEN}{text}")),
            format!("{FILE}:{want}"),
            "{text}"
        );
    }
}

/// `<Proxy>` keeps its access rules (enforced on the requests proxied to URLs it
/// matches); `<ProxyMatch>` does not enforce them yet: a grant is ignored with a
/// warning, a restriction refused.
#[test]
fn access_control_inside_proxy() {
    let c = config(
        "<Proxy *>\n\
         Require all granted\n\
         </Proxy>\n\
         <Proxy balancer://c>\n\
         BalancerMember http://127.0.0.1:1\n\
         Order deny,allow\n\
         Deny from all\n\
         Allow from 10.1\n\
         </Proxy>\n",
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.proxy_access.len(), 2);
    assert_eq!(c.proxy_access[0].section.text(), "*");
    assert_eq!(
        c.proxy_access[0].require,
        Some(crate::access::Require::All(true))
    );
    assert_eq!(c.proxy_access[1].section.text(), "balancer://c");
    let compat = c.proxy_access[1].compat.as_ref().unwrap();
    assert_eq!(compat.deny, [crate::access::compat::From::All]);
    assert_eq!(c.balancers[0].members.len(), 1);
    // <ProxyMatch> keeps them too, with its regular expression.
    let c =
        config("<ProxyMatch ^http://x.*>\nRequire ip 10.0.0.0/8\nDeny from all\n</ProxyMatch>\n");
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.proxy_access.len(), 1);
    assert_eq!(c.proxy_access[0].section.tag(), "ProxyMatch");
    assert_eq!(c.proxy_access[0].section.text(), "^http://x.*");
    assert!(c.proxy_access[0].compat.is_some());
}

#[test]
fn proxy_section_misuse() {
    let cases = [
        ("<Proxy>\n</Proxy>", "2: <Proxy> takes a URL pattern"),
        ("<Proxy *>\nProxySet timeout=3\n</Proxy>", "3: ProxySet inside <Proxy *> is not supported yet (it names no single worker or balancer)"),
        ("<Proxy *>\nBalancerMember http://127.0.0.1:1\n</Proxy>", "3: BalancerMember inside <Proxy *>: only a <Proxy balancer://…> section takes members"),
        ("<Proxy * timeout=3>\n</Proxy>", "2: <Proxy *>: parameters ('timeout=3') are only allowed for a worker or balancer URL"),
        ("<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1\nProxyPreserveHost On\n</Proxy>", "4: ProxyPreserveHost inside <Proxy> is not supported yet"),
        ("<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1\nProxyPass / http://h/\n</Proxy>", "4: ProxyPass cannot occur within <Proxy> section"),
        ("<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1\nListen 1\n</Proxy>", "4: Listen cannot occur within <Proxy> section"),
        ("<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1\n<Location /x>\n</Location>\n</Proxy>", "4: <Location> cannot occur within <Proxy> section"),
        ("<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1\nFrobnicate a b\n</Proxy>", "4: unknown directive 'Frobnicate'"),
        ("<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1\nExpiresActive On\n</Proxy>", "4: 'ExpiresActive' is mod_expires's directive, which slotgate does not serve"),
        ("<Proxy http://127.0.0.1:1/>\nRequestHeader set X v early\n</Proxy>", "3: RequestHeader: 'early' applies only in the server or a <VirtualHost> (httpd reads early rules before it looks at <Proxy>, so there it would do nothing)"),
        ("<ProxyMatch ^http://(a>\n</ProxyMatch>", "2: <ProxyMatch>: bad regular expression '^http://(a': unclosed group"),
        ("<ProxyMatch ^http://a/.*>\nProxySet timeout=3\n</ProxyMatch>", "3: ProxySet inside <ProxyMatch ^http://a/.*> is not supported yet (it names no single worker or balancer)"),
    ];
    for (text, want) in cases {
        assert_eq!(
            error(&format!("{LISTEN}{text}\n")),
            format!("{FILE}:{want}"),
            "{text}"
        );
    }
    let c = config(
        "<ProxyMatch \"^http://127\\.0\\.0\\.1:1/.*\">\nRequire all granted\nSetEnv a b\n</ProxyMatch>\n",
    );
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    assert_eq!(c.proxy_access.len(), 1);
}

#[test]
fn worker_sections_and_proxy_set_for_standalone_workers() {
    let c = config(
        "ProxyPass /a http://Backend:80/app/ timeout=5\n\
         ProxyPass /b http://backend/app/\n\
         ProxyPass /c http://backend/other/\n\
         <Proxy http://backend/app/ retry=0>\n\
         ProxySet connectiontimeout=2 status=D\n\
         Require all granted\n\
         </Proxy>\n\
         ProxySet http://BACKEND/other/ keepalive=On\n",
    );
    let p: Vec<&WorkerParams> = c.proxy_pass.iter().map(|r| &r.params).collect();
    for a in &p[..2] {
        assert_eq!(a.retry, Duration::ZERO);
        assert_eq!(a.connection_timeout, Some(Duration::from_secs(2)));
        assert_eq!(a.status, f::INIT | f::IGNORE_ERRORS | f::DISABLED);
    }
    assert_eq!(p[0].timeout, Some(Duration::from_secs(5)));
    assert_eq!(p[2].retry, Duration::from_secs(60));
    assert!(p[2].keepalive);
    let cases = [
        (
            "<Proxy http://nobody/ timeout=3>\n</Proxy>\n",
            "2: <Proxy http://nobody/>: worker http://nobody/ is not defined (yet): no earlier ProxyPass of this server uses it (defining a worker with ProxySet or <Proxy> is not supported yet)",
        ),
        (
            "ProxySet http://nobody/ timeout=3\nProxyPass / http://nobody/\n",
            "2: ProxySet: worker http://nobody/ is not defined (yet): no earlier ProxyPass of this server uses it (defining a worker with ProxySet or <Proxy> is not supported yet)",
        ),
        (
            "ProxyPass / http://h/\n<Proxy http://h/>\nProxySet lbmethod=bytraffic\n</Proxy>\n",
            "4: ProxySet: unknown Worker parameter 'lbmethod'",
        ),
        ("ProxySet timeout=3\n", "2: ProxySet outside <Proxy> must name a balancer or worker first: ProxySet URL key=value…"),
    ];
    for (text, want) in cases {
        assert_eq!(
            error(&format!("{LISTEN}{text}")),
            format!("{FILE}:{want}"),
            "{text}"
        );
    }
    // Only access control: nothing to apply, no worker needed.
    config("<Proxy http://nobody/>\nRequire all granted\n</Proxy>\n");
}

#[test]
fn proxy_pass_reverse_to_a_balancer() {
    let c = config(
        "<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1\n</Proxy>\n\
         ProxyPass /app/ balancer://c/\n\
         ProxyPassReverse /app/ balancer://c/\n\
         ProxyPassReverse /x/ balancer://Other/\n",
    );
    assert_eq!(
        c.proxy_pass_reverse[0].url, "balancer://c/",
        "kept as written"
    );
    assert_eq!(
        c.warnings,
        [format!("{FILE}:7: ProxyPassReverse: balancer://other is not defined; the rule is compared as a plain URL")]
    );
}

#[test]
fn trailing_slash_warning_for_balancer_targets() {
    let c = config(
        "BalancerMember balancer://c http://127.0.0.1:1\n\
         ProxyPass / balancer://c\n",
    );
    assert_eq!(
        c.warnings,
        [format!("{FILE}:3: ProxyPass / balancer://c: trailing slashes of path and URL differ; /x will be sent as balancer://cx")]
    );
}

#[test]
fn server_level_balancer_directives() {
    let c = config("BalancerGrowth 20\nBalancerPersist On\nProxyStatus Full\n");
    assert_eq!(c.balancer_growth, 20);
    assert!(c.balancer_persist);
    assert!(c.proxy_status);
    let c = config("BalancerGrowth 0\nProxyStatus On\nProxyStatus Off\n");
    assert_eq!(c.balancer_growth, 0);
    assert!(!c.proxy_status);
    for (text, want) in [
        (
            "BalancerGrowth 1001",
            "BalancerGrowth must be an integer from 0 to 1000, got '1001'",
        ),
        (
            "BalancerGrowth -1",
            "BalancerGrowth must be an integer from 0 to 1000, got '-1'",
        ),
        (
            "BalancerPersist maybe",
            "BalancerPersist: expected On or Off, got 'maybe'",
        ),
        (
            "ProxyStatus Some",
            "ProxyStatus: expected Off, On or Full, got 'Some'",
        ),
        (
            "BalancerInherit",
            "BalancerInherit takes one argument, got 0",
        ),
        (
            "ProxyPassInherit x",
            "ProxyPassInherit: expected On or Off, got 'x'",
        ),
    ] {
        assert_eq!(
            error(&format!("{LISTEN}{text}\n")),
            format!("{FILE}:2: {want}"),
            "{text}"
        );
    }
    let c = config("BalancerInherit Off\nBalancerInherit On\n");
    assert_eq!(
        c.warnings,
        [format!("{FILE}:2: BalancerInherit Off has no effect: balancers form one namespace for the whole server in slotgate")]
    );
}
