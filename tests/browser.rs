//! Browser tests: a headless Chromium driven over WebDriver (chromedriver)
//! uses the balancer-manager's HTML forms as an operator would.
//!
//! They need the Debian packages `chromium` and `chromium-driver` (`.ci/run`
//! installs them). Without them each test fails under `CI=true`; in a local
//! run it prints that it was skipped and which package to install, and passes.

mod common;

use common::webdriver::{installed, Browser};
use common::{http_get, render, wait_for, Origin, Slotgate};
use std::time::Duration;

/// Four workers, a manager reachable from 127.0.0.1, two members.
const MANAGER_CONF: &str = "\
Listen 127.0.0.1:0
StartServers 4
ServerName 127.0.0.1
<Location /balancer-manager>
  SetHandler balancer-manager
  Require ip 127.0.0.1
</Location>
ProxyPass /balancer-manager !
<Proxy balancer://app>
  BalancerMember http://{a}
  BalancerMember http://{b}
</Proxy>
ProxyPass / balancer://app/
";

/// A plain balancer, for the test of the browser harness itself.
const PROXY_CONF: &str = "\
Listen 127.0.0.1:0
StartServers 1
ServerName 127.0.0.1
<Proxy balancer://app>
  BalancerMember http://{a}
  BalancerMember http://{b}
</Proxy>
ProxyPass / balancer://app/
";

/// How long the browser may take to show what a step expects.
const PAGE_WAIT: Duration = Duration::from_secs(15);

/// Requests of `origin` whose target starts with `prefix`.
fn requests_to(origin: &Origin, prefix: &str) -> usize {
    origin
        .recorded()
        .iter()
        .filter(|r| r.target.starts_with(prefix))
        .count()
}

/// The browser itself works: it loads a page through the proxy.
#[test]
fn browser_loads_a_proxied_page() {
    let Some(found) = installed() else {
        return;
    };
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = Slotgate::start(&render(PROXY_CONF, &[&a, &b]));
    let browser = Browser::start(&found).unwrap_or_else(|e| panic!("starting the browser: {e}"));
    browser.goto(&format!("http://127.0.0.1:{}/hello", sg.port()));
    let text = browser.wait_text("origin a or origin b", PAGE_WAIT, |t| {
        t.contains("origin a") || t.contains("origin b")
    });
    assert!(text.starts_with("origin "), "page text: {text:?}");
    assert_eq!(requests_to(&a, "/hello") + requests_to(&b, "/hello"), 1);
}

/// The operator opens the balancer-manager, follows member b's link, turns its
/// Disabled status on in the form and submits: the page shows b disabled, and
/// the next 100 requests (spread over the 4 workers) all go to a.
#[test]
fn disabling_a_member_through_the_manager_form_stops_its_traffic() {
    let Some(found) = installed() else {
        return;
    };
    let a = Origin::start("a");
    let b = Origin::start("b");
    let sg = Slotgate::start(&render(MANAGER_CONF, &[&a, &b]));
    sg.wait_workers(4, Duration::from_secs(10));
    let port = sg.port();
    let browser = Browser::start(&found).unwrap_or_else(|e| panic!("starting the browser: {e}"));

    // Before: both members take traffic.
    for i in 0..20 {
        let response = http_get(port, &format!("/before/{i}"), &[]);
        assert_eq!(response.status, 200, "{}", response.summary());
    }
    assert!(
        requests_to(&a, "/before/") > 0 && requests_to(&b, "/before/") > 0,
        "both members should serve before the change: a {} b {}",
        requests_to(&a, "/before/"),
        requests_to(&b, "/before/")
    );

    // The manager page lists member b as a link to its edit form.
    browser.goto(&format!("http://127.0.0.1:{port}/balancer-manager"));
    let b_addr = b.addr();
    let link = browser.wait_find(
        "xpath",
        &format!("//a[contains(@href, 'w=') and contains(normalize-space(.), '{b_addr}')]"),
        PAGE_WAIT,
    );
    browser.click_and_wait_page(&link, PAGE_WAIT);

    // Its form: Disabled on, submit.
    let disabled_on = browser.wait_find(
        "css selector",
        "input[name='w_status_D'][value='1']",
        PAGE_WAIT,
    );
    browser.click(&disabled_on);
    assert!(
        browser.is_selected(&disabled_on),
        "the Disabled radio button did not get selected"
    );
    let submit = browser.xpath(
        "//form[.//input[@name='w_status_D']]//*[(self::input or self::button) and @type='submit']",
    );
    // The POST's answer replaces the edit page, which lists the same rows:
    // wait for that new page before reading them.
    browser.click_and_wait_page(&submit, PAGE_WAIT);

    // The page after the POST shows member b disabled and a not. A row that
    // goes stale while it is read (the page changed under it) is "not yet".
    let row_of = |addr: &str| format!("//tr[.//a[contains(normalize-space(.), '{addr}')]]");
    let row_text = |addr: &str| -> Option<String> {
        browser
            .try_find("xpath", &row_of(addr))
            .and_then(|r| browser.try_text(&r))
    };
    let has_dis = |text: &str| text.split_whitespace().any(|w| w.contains("Dis"));
    let (b_row, a_row) = wait_for(
        &format!("member {b_addr} shown as disabled (Dis)"),
        PAGE_WAIT,
        || {
            let b_row = row_text(&b_addr).filter(|t| has_dis(t))?;
            Some((b_row, row_text(&a.addr())?))
        },
        || format!("page at {}:\n{}", browser.current_url(), browser.source()),
    );
    assert!(
        !has_dis(&a_row),
        "member a should still be enabled: row {a_row:?} (b: {b_row:?})"
    );

    // After: 100 requests, one connection each, spread over the workers.
    for i in 0..100 {
        let response = http_get(port, &format!("/after/{i}"), &[]);
        assert_eq!(response.status, 200, "{}", response.summary());
        assert_eq!(
            response.origin(),
            "a",
            "request {i}: {}",
            response.summary()
        );
    }
    assert_eq!(
        requests_to(&b, "/after/"),
        0,
        "disabled member b got traffic"
    );
    assert_eq!(requests_to(&a, "/after/"), 100);
}
