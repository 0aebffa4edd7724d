//! Which URL a member receives through a balancer (reference §2.6): the member
//! URL, then the path after `balancer://name` in the ProxyPass URL, then the rest
//! of the request path, joined as written; ProxyPassMatch with `$1` to a worker
//! and to a balancer; query strings passed on.

mod common;

use common::*;

fn one_member(pass: &str, member_path: &str, a: &Origin) -> Slotgate {
    start_proxy(
        &format!(
            "<Proxy balancer://c1>\n    BalancerMember http://{{a}}{member_path}\n</Proxy>\n{pass}\n"
        ),
        &[a],
    )
}

/// GETs `path` and returns (status, the target the origin received).
fn target(sg: &Slotgate, a: &Origin, path: &str) -> (u16, String) {
    let before = a.requests();
    let r = http_get(sg.port(), path, &[]);
    if r.status != 200 {
        return (r.status, format!("(not forwarded: {})", r.summary()));
    }
    assert_eq!(a.requests(), before + 1, "{}", r.summary());
    (r.status, a.last_request().target)
}

#[test]
fn matching_slashes_give_the_remainder() {
    let a = Origin::start("a");
    let sg = one_member("ProxyPass /app/ balancer://c1/", "", &a);
    assert_eq!(target(&sg, &a, "/app/x"), (200, "/x".into()));
    assert_eq!(
        target(&sg, &a, "/app/x/y?q=1&r=2"),
        (200, "/x/y?q=1&r=2".into())
    );
    assert_eq!(target(&sg, &a, "/app/"), (200, "/".into()));
}

#[test]
fn root_mapping_passes_the_path_unchanged() {
    let a = Origin::start("a");
    let sg = one_member("ProxyPass / balancer://c1/", "", &a);
    assert_eq!(target(&sg, &a, "/"), (200, "/".into()));
    assert_eq!(
        target(&sg, &a, "/deep/er/page.html?k=v"),
        (200, "/deep/er/page.html?k=v".into())
    );
}

#[test]
fn path_without_slash_to_balancer_with_slash_gives_a_double_slash() {
    // httpd's quirk (reference §9 #2): `/app` + `balancer://c1/` sends `/app/x`
    // to `/` + `/x`.
    let a = Origin::start("a");
    let sg = one_member("ProxyPass /app balancer://c1/", "", &a);
    assert_eq!(target(&sg, &a, "/app/x"), (200, "//x".into()));
}

#[test]
fn path_in_the_balancer_url_is_kept() {
    let a = Origin::start("a");
    let sg = one_member("ProxyPass /p/ balancer://c1/base/", "", &a);
    assert_eq!(target(&sg, &a, "/p/x"), (200, "/base/x".into()));
}

#[test]
fn member_url_path_acts_as_a_base_path() {
    let a = Origin::start("a");
    let sg = one_member("ProxyPass /p/ balancer://c1/", "/m", &a);
    assert_eq!(target(&sg, &a, "/p/x"), (200, "/m/x".into()));
}

#[test]
fn proxy_pass_match_substitutes_groups_for_a_worker() {
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPassMatch ^/img/(.*)$ http://{a}/images/$1\n", &[&a]);
    assert_eq!(
        target(&sg, &a, "/img/cats/1.png"),
        (200, "/images/cats/1.png".into())
    );
    let r = http_get(sg.port(), "/other/img/x", &[]);
    assert_eq!(r.status, 404, "{}", r.summary());
}

#[test]
fn proxy_pass_match_substitutes_groups_for_a_balancer() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "<Proxy balancer://c1>\n    BalancerMember http://{a}\n    BalancerMember http://{b}\n</Proxy>\nProxyPassMatch ^/b/(.*)$ balancer://c1/$1\n",
        &[&a, &b],
    );
    let mut origins = Vec::new();
    for i in 0..4 {
        let r = http_get(sg.port(), &format!("/b/item{i}"), &[]);
        assert_eq!(r.status, 200, "{}", r.summary());
        origins.push(r.origin().to_string());
        let answered = if r.origin() == "a" { &a } else { &b };
        assert_eq!(answered.last_request().target, format!("/item{i}"));
    }
    assert_eq!(origins, ["a", "b", "a", "b"]);
}

#[test]
fn two_balancers_keep_their_members_apart() {
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = start_proxy(
        "<Proxy balancer://one>\n    BalancerMember http://{a}\n</Proxy>\n<Proxy balancer://two>\n    BalancerMember http://{b}\n</Proxy>\nProxyPass /one/ balancer://one/\nProxyPass /two/ balancer://two/\n",
        &[&a, &b],
    );
    for _ in 0..3 {
        assert_eq!(http_get(sg.port(), "/one/x", &[]).origin(), "a");
        assert_eq!(http_get(sg.port(), "/two/x", &[]).origin(), "b");
    }
    assert_eq!((a.requests(), b.requests()), (3, 3));
}

#[test]
fn proxy_pass_inside_location_to_a_balancer() {
    let a = Origin::start("a");
    let sg = start_proxy(
        "<Proxy balancer://c1>\n    BalancerMember http://{a}\n</Proxy>\n<Location /loc/>\n    ProxyPass balancer://c1/in/\n</Location>\n",
        &[&a],
    );
    assert_eq!(target(&sg, &a, "/loc/x"), (200, "/in/x".into()));
}

#[test]
fn proxy_pass_match_without_a_group_reference_appends_the_whole_path() {
    // As httpd: a ProxyPassMatch URL without `$` gets the request path appended.
    let a = Origin::start("a");
    let sg = start_proxy("ProxyPassMatch ^/whole/ http://{a}/base\n", &[&a]);
    assert_eq!(target(&sg, &a, "/whole/x"), (200, "/base/whole/x".into()));
}
