//! AJP 1.3 members (`ajp://`, issue #16 §2) through the real binary: against
//! real Tomcat 10 servers (Debian `tomcat10`, started with their own
//! CATALINA_BASE by `common::tomcat`; skipped locally when not installed,
//! a failure under CI=true) and against the test AJP origin
//! (`common::ajp`) for what Tomcat will not do: broken packets, a close in
//! the middle of a response, a bad CPONG.

mod common;

use common::ajp::{AjpMode, AjpOrigin};
use common::tomcat::Tomcat;
use common::*;
use scoreboard::flags;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

fn line<'a>(body: &'a str, key: &str) -> Option<&'a str> {
    body.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
}

#[test]
fn tomcat_serves_get_post_headers_query_and_the_client_address_over_ajp() {
    let Some(tc) = Tomcat::start("tc1", "s3cr3t") else {
        return;
    };
    let sg = Slotgate::start(&format!(
        // The member without a secret first: a later URL with this one as
        // its prefix would share it, as in httpd.
        "{BASE_CONF}ProxyPass /nosecret/ ajp://{tc}/nosecret/\n\
         ProxyPass /app/ ajp://{tc}/ secret=s3cr3t\n",
        tc = tc.addr()
    ));
    let port = sg.port();

    let r = http_get(port, "/app/echo.jsp?a=1&b=x%20y", &[("X-Custom", "v")]);
    let body = String::from_utf8_lossy(&r.body).into_owned();
    assert_eq!(r.status, 200, "{body}\n{}", sg.logs());
    assert_eq!(line(&body, "method"), Some("GET"));
    assert_eq!(line(&body, "uri"), Some("/echo.jsp"));
    assert_eq!(line(&body, "query"), Some("a=1&b=x%20y"));
    // The client's address and port reach Tomcat as the remote address.
    assert_eq!(line(&body, "remote"), Some("127.0.0.1"));
    assert_ne!(line(&body, "remoteport"), Some("-1"));
    assert_eq!(line(&body, "h:X-Custom"), Some("v"));
    assert_eq!(line(&body, "secure"), Some("false"));
    assert_eq!(line(&body, "route"), Some("tc1"));
    assert!(header_values(&r.headers, "content-type")[0].starts_with("text/plain"));

    // A body of more than one AJP packet (8192 bytes), with a length…
    let big: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    let r = http_request(port, "POST", "/app/echo.jsp", &[], Some(&big));
    let body = String::from_utf8_lossy(&r.body).into_owned();
    assert_eq!(r.status, 200, "{body}");
    assert_eq!(line(&body, "body"), Some("100000"), "{body}");
    assert_eq!(line(&body, "method"), Some("POST"));

    // …and chunked by the client (no length: Tomcat asks for each chunk).
    let raw = format!(
        "POST /app/echo.jsp HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Transfer-Encoding: chunked\r\n\r\n{}",
        String::from_utf8(chunk_encode(&[b'c'; 30_000], &[7000])).unwrap()
    );
    let answer = String::from_utf8_lossy(&send_raw(port, raw.as_bytes())).into_owned();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\nbody=30000\n"), "{answer}");

    // HEAD of a static file: its length, no body.
    let r = http_request(port, "HEAD", "/app/hello.txt", &[], None);
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    let r = http_get(port, "/app/hello.txt", &[]);
    assert_eq!(r.body, b"hello from tc1\n");

    // Tomcat requires its secret: a member without it gets 403 from Tomcat.
    let r = http_get(port, "/nosecret/hello.txt", &[]);
    assert_eq!(r.status, 403);
}

#[test]
fn sticky_jsessionid_follows_tomcats_jvm_route() {
    let Some(tc1) = Tomcat::start("tc1", "pw") else {
        return;
    };
    let Some(tc2) = Tomcat::start("tc2", "pw") else {
        return;
    };
    let sg = Slotgate::start(&format!(
        "{BASE_CONF}<Proxy balancer://tomcats>\n\
         BalancerMember ajp://{} route=tc1 secret=pw\n\
         BalancerMember ajp://{} route=tc2 secret=pw\n\
         </Proxy>\n\
         ProxyPass /app/ balancer://tomcats/ stickysession=JSESSIONID|jsessionid\n",
        tc1.addr(),
        tc2.addr()
    ));
    let port = sg.port();
    // Both Tomcats answer (byrequests alternates without a session).
    let mut routes = std::collections::BTreeSet::new();
    for _ in 0..4 {
        let r = http_get(port, "/app/echo.jsp", &[]);
        routes.insert(
            line(&String::from_utf8_lossy(&r.body), "route")
                .unwrap_or("")
                .to_string(),
        );
    }
    assert_eq!(routes.len(), 2, "{routes:?}");
    // A session made by one Tomcat carries its jvmRoute; every later request
    // with the cookie, or with ;jsessionid= in the path, goes back to it.
    for _ in 0..2 {
        let r = http_get(port, "/app/echo.jsp?session=1", &[]);
        let cookie = header_values(&r.headers, "set-cookie")[0].to_string();
        let id = cookie
            .strip_prefix("JSESSIONID=")
            .and_then(|c| c.split(';').next())
            .expect("a JSESSIONID cookie");
        let route = id.rsplit('.').next().unwrap().to_string();
        assert!(route == "tc1" || route == "tc2", "{id}");
        for _ in 0..6 {
            let r = http_get(
                port,
                "/app/echo.jsp",
                &[("Cookie", &format!("JSESSIONID={id}"))],
            );
            let body = String::from_utf8_lossy(&r.body).into_owned();
            assert_eq!(line(&body, "route"), Some(route.as_str()), "{body}");
            assert_eq!(line(&body, "session"), Some(id), "{body}");
        }
        let r = http_get(port, &format!("/app/echo.jsp;jsessionid={id}"), &[]);
        let body = String::from_utf8_lossy(&r.body).into_owned();
        assert_eq!(line(&body, "route"), Some(route.as_str()), "{body}");
    }
}

/// One balancer of one AJP member, on the test origin.
fn balanced(origin: &AjpOrigin, params: &str) -> Slotgate {
    Slotgate::start(&format!(
        "{BASE_CONF}LogLevel info\n\
         <Proxy balancer://j>\n  BalancerMember {} {params}\n</Proxy>\n\
         ProxyPass /j/ balancer://j/\n",
        origin.url()
    ))
}

#[test]
fn requests_reach_the_test_origin_as_httpd_sends_them_and_connections_are_kept() {
    let origin = AjpOrigin::start("a");
    let sg = balanced(&origin, "secret=pw");
    let port = sg.port();
    let mut client = Client::connect(port);
    for i in 0..3 {
        let r = client.request("GET", &format!("/j/p{i}?q={i}"), &[("X-A", "b")], None);
        assert_eq!(r.status, 200);
        assert_eq!(
            String::from_utf8_lossy(&r.body),
            format!("ajp a GET /p{i} body=0")
        );
        assert_eq!(header_values(&r.headers, "x-origin"), ["a"]);
    }
    let r = origin.last_request();
    assert_eq!(r.attribute("secret"), Some("pw"));
    assert_eq!(r.attribute("query_string"), Some("q=2"));
    assert_eq!(r.header("x-a"), Some("b"));
    assert_eq!(r.remote_addr, "127.0.0.1");
    assert!(r.attribute("AJP_REMOTE_PORT").is_some());
    // END_RESPONSE said reuse: one member connection served all three.
    assert_eq!(origin.connections(), 1, "{}", sg.logs());
}

#[test]
fn broken_answers_before_the_head_get_502_and_put_the_member_in_error() {
    // httpd-oracle (Apache/2.4.71, one-member balancers of a recording AJP
    // member), 2026-12-07: a packet with magic `XY`, a SEND_BODY_CHUNK packet
    // of 9004 bytes (AH01081 "incoming message is too big 9000, max is
    // 8188") and a close inside the first body chunk each gave the client
    // `503` and left the member `Init Err` in the balancer-manager. slotgate
    // puts the member in error too but answers 502, as for every member that
    // breaks its protocol (issue #16; README "AJP members").
    for mode in [AjpMode::BadMagic, AjpMode::Oversized] {
        let origin = AjpOrigin::start("a");
        origin.set_mode(mode);
        let sg = balanced(&origin, "");
        let r = http_get(sg.port(), "/j/x", &[]);
        assert_eq!(r.status, 502, "{mode:?}: {}", sg.logs());
        assert_eq!(origin.requests(), 1, "{mode:?}: the member got the request");
        wait_member_in_error(&sg, &origin.addr());
        let log = sg.error_log();
        let why = match mode {
            AjpMode::BadMagic => "bad packet magic",
            _ => "larger than packetsize=8192",
        };
        assert!(log.contains(why), "{mode:?}: no {why:?} in:\n{log}");
    }
}

#[test]
fn a_member_closing_mid_response_never_gives_a_complete_answer() {
    // The origin writes SEND_HEADERS (Content-Length: 100) and half of a
    // 50-byte body chunk, then closes. When slotgate sees the close before
    // the head left for the client, the member is put in error as
    // httpd-oracle shows (slotgate answers 502 where httpd answers 503); when the head already left, the client sees the
    // response cut short by the close and the member stays usable (httpd's
    // answer once bytes reached the client). Never a complete response.
    let origin = AjpOrigin::start("a");
    origin.set_mode(AjpMode::CloseMidResponse);
    let sg = balanced(&origin, "");
    let raw = send_raw(
        sg.port(),
        b"GET /j/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    );
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    if head.starts_with("HTTP/1.1 502") {
        wait_member_in_error(&sg, &origin.addr());
    } else {
        assert!(head.starts_with("HTTP/1.1 200"), "{text}");
        assert!(head.contains("Content-Length: 100"), "{head}");
        assert!(body.len() < 100, "a complete body: {body:?}");
        assert!(!member(&sg, &origin.addr()).has(flags::ERROR));
    }
    let log = sg.error_log();
    assert!(
        log.contains("closed the connection before END_RESPONSE"),
        "{log}"
    );
}

#[test]
fn iobuffersize_raises_the_packet_size() {
    // The same 9004-byte packet passes with iobuffersize=16384 (16384-byte
    // packets, as httpd-oracle showed for iobuffersize=).
    let origin = AjpOrigin::start("a");
    origin.set_mode(AjpMode::Oversized);
    let sg = balanced(&origin, "iobuffersize=16384");
    let r = http_get(sg.port(), "/j/x", &[]);
    assert_eq!(r.status, 200, "{}", sg.logs());
    assert_eq!(r.body, vec![b'o'; 9000]);
}

#[test]
fn cping_health_check_marks_a_member_that_fails_it_and_clears_it_after() {
    let origin = AjpOrigin::start("a");
    let sg = balanced(
        &origin,
        "hcmethod=CPING hcinterval=200ms hcfails=1 hcpasses=1",
    );
    assert!(
        origin.wait_cpings(1, WAIT),
        "no CPING arrived:\n{}",
        sg.logs()
    );
    wait_member(&sg, &origin.addr(), "checked and passing", WAIT, |m| {
        !m.has(flags::HC_FAILED)
    });
    // Requests are still served (the CPING is on its own connection).
    assert_eq!(http_get(sg.port(), "/j/x", &[]).status, 200);

    origin.set_mode(AjpMode::BadCpong);
    wait_member(&sg, &origin.addr(), "C after a bad CPONG", WAIT, |m| {
        m.has(flags::HC_FAILED)
    });
    origin.set_mode(AjpMode::Normal);
    wait_member(&sg, &origin.addr(), "C cleared", WAIT, |m| {
        !m.has(flags::HC_FAILED)
    });
}

#[test]
fn cping_health_check_marks_a_dead_tomcat() {
    let Some(mut tc) = Tomcat::start("tc1", "pw") else {
        return;
    };
    let sg = Slotgate::start(&format!(
        "{BASE_CONF}LogLevel info\n<Proxy balancer://j>\n  BalancerMember ajp://{} secret=pw \
         hcmethod=CPING hcinterval=200ms hcfails=1\n</Proxy>\nProxyPass /j/ balancer://j/\n",
        tc.addr()
    ));
    wait_member(&sg, &tc.addr(), "checked and passing", WAIT, |m| {
        !m.has(flags::HC_FAILED)
    });
    tc.kill();
    wait_member(&sg, &tc.addr(), "C once Tomcat is dead", WAIT, |m| {
        m.has(flags::HC_FAILED)
    });
}

#[test]
fn ping_sends_cping_before_each_request() {
    let origin = AjpOrigin::start("a");
    let sg = balanced(&origin, "ping=2");
    assert_eq!(http_get(sg.port(), "/j/x", &[]).status, 200);
    assert_eq!(http_get(sg.port(), "/j/y", &[]).status, 200);
    assert_eq!(origin.cpings(), 2);
    // A member answering CPING with anything but CPONG fails the request:
    // it broke the protocol, so 502 and the member in error (httpd, which
    // waits for the CPONG before it sends the request, answers 503; slotgate
    // sends the request right behind the CPING: README "AJP members").
    origin.set_mode(AjpMode::BadCpong);
    assert_eq!(http_get(sg.port(), "/j/z", &[]).status, 502);
}

#[test]
fn an_ajp_member_added_at_run_time_is_spoken_to_over_ajp() {
    let a = AjpOrigin::start("a");
    let b = AjpOrigin::start("b");
    let sg = Slotgate::start(&format!(
        "{BASE_CONF}<Proxy balancer://j growth=1>\n  BalancerMember {}\n</Proxy>\n\
         ProxyPass /j/ balancer://j/\n",
        a.url()
    ));
    let sb = scoreboard::Scoreboard::attach(sg.scoreboard_path()).expect("the scoreboard");
    let bal = slotgate::handlers::edit::find_balancer(&sb, "j").expect("balancer j");
    // As the balancer-manager's "add member" form does it.
    let m = slotgate::handlers::edit::add_member(&sb, bal, &b.url()).expect("a growth slot");
    slotgate::handlers::edit::enable(&sb, bal, m).expect("enabling it");
    for _ in 0..6 {
        assert_eq!(
            http_get(sg.port(), "/j/x", &[]).status,
            200,
            "{}",
            sg.logs()
        );
    }
    assert_eq!((a.requests(), b.requests()), (3, 3));
    assert_eq!(b.last_request().uri, "/x");
}

#[test]
fn a_request_head_larger_than_a_packet_gets_400_and_reaches_no_member() {
    // httpd-oracle: three 4000-byte headers to an AJP member with 8192-byte
    // packets got 400 (AH00988 "ajp_send_header: ajp_marshal_into_msgb failed").
    let origin = AjpOrigin::start("a");
    let sg = balanced(&origin, "");
    let v = "v".repeat(4000);
    let r = http_get(sg.port(), "/j/x", &[("X-A", &v), ("X-B", &v), ("X-C", &v)]);
    assert_eq!(r.status, 400, "{}", sg.logs());
    assert_eq!(origin.requests(), 0);
    assert!(
        sg.error_log().contains("more than the packet size 8192"),
        "{}",
        sg.error_log()
    );
    // The member is not blamed: the next request is served.
    assert_eq!(http_get(sg.port(), "/j/x", &[]).status, 200);
}
