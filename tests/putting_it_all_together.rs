//! `conf/putting-it-all-together.conf`, the "putting it all together" slide
//! of httpd's reverse-proxy talk (issue #16 §5): `-t` refuses only its
//! h2c:// line, naming HTTP/2 as not served yet; without that line, with the
//! talk's host names mapped to members of the test, it starts and serves
//! each of its routes (HTTP balancer, AJP balancer, plain HTTP member).

mod common;

use common::ajp::AjpOrigin;
use common::*;

fn example() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/conf/putting-it-all-together.conf"
    );
    std::fs::read_to_string(path).expect("reading conf/putting-it-all-together.conf")
}

#[test]
fn check_refuses_only_the_h2c_line_and_names_http2() {
    let dir = TempDir::new();
    let (out, path) = check_config(&dir, "talk.conf", &example());
    assert_eq!(out.code(), Some(1), "{out:?}");
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with(&format!("{path}:")))
        .collect();
    assert_eq!(
        errors,
        [format!(
            "{path}:26: ProxyPass: 'h2c://pappy:80/': h2c:// members speak HTTP/2, which \
             slotgate does not serve yet (issue #17)"
        )],
        "{}",
        out.stderr
    );
}

#[test]
fn without_h2c_and_with_local_members_it_loads_and_serves_every_route() {
    let php: Vec<Origin> = ["php1", "php2", "phpbkup", "phpexp", "images"]
        .iter()
        .map(|n| Origin::start(n))
        .collect();
    let tc1 = AjpOrigin::start("tc1");
    let tc2 = AjpOrigin::start("tc2");
    let dir = TempDir::new();
    let socket = dir.path().join("www.socket");
    let mut text = example()
        .lines()
        .filter(|l| !l.contains("h2c://"))
        .collect::<Vec<_>>()
        .join("\n");
    text = text.replace("Listen 80", "Listen 127.0.0.1:0\nStartServers 1");
    for o in &php {
        text = text.replace(&format!("{}:8080", o.name()), &o.addr());
    }
    text = text
        .replace("tc1:8089", &tc1.addr())
        .replace("tc2:8089", &tc2.addr())
        .replace("/home/www.socket", &socket.display().to_string());

    let (out, _) = check_config(&dir, "talk.conf", &text);
    assert_eq!(out.code(), Some(0), "{text}\n{out:?}");
    assert!(out.stdout.contains("Syntax OK"), "{out:?}");

    let sg = Slotgate::start(&text);
    let port = sg.port();
    // /apps/: the PHP balancer (bytraffic over php1 and php2; the hot
    // standby and lbset 1 stay idle while they are usable).
    for _ in 0..6 {
        let r = http_get(port, "/apps/x", &[]);
        assert_eq!(r.status, 200);
        let who = header_values(&r.headers, "x-origin")[0].to_string();
        assert!(who == "php1" || who == "php2", "{who}");
    }
    assert_eq!(php[2].requests() + php[3].requests(), 0);
    // /serv/: the Tomcats over AJP, byrequests with loadfactor 10 and 40:
    // one request in five to tc1.
    for _ in 0..10 {
        let r = http_get(port, "/serv/app", &[]);
        assert_eq!(r.status, 200, "{}", sg.logs());
    }
    assert_eq!((tc1.requests(), tc2.requests()), (2, 8));
    // The member URL's `/` then the balancer's `/app`: httpd-oracle sends
    // `//app` too for this slide (FORWARD_REQUEST recorded, 2026-12-07).
    assert_eq!(tc2.last_request().uri, "//app");
    // /images/: a plain HTTP member.
    let r = http_get(port, "/images/logo.png", &[]);
    assert_eq!(header_values(&r.headers, "x-origin"), ["images"]);
}
