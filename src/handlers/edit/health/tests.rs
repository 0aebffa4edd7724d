use std::path::Path;

use scoreboard::flags;

use super::*;
use crate::handlers::edit::{add_member, enable};
use crate::handlers::testutil::Board;

fn board() -> Board {
    Board::new(&[("app", &["http://a:1", "http://b:2"], 1)])
}

/// The `ProxyHCExpr`s `ok` and `Maint` of a parsed configuration.
fn exprs() -> Vec<HcExprDef> {
    let text = "Listen 127.0.0.1:0\n\
        ProxyHCExpr ok {%{REQUEST_STATUS} =~ /^[23]/}\n\
        ProxyHCExpr Maint {hc('body') !~ /Under maintenance/}\n";
    let cfg = crate::config::parse_str(text, Path::new("t.conf"), &[]).expect("config");
    cfg.hc_exprs
}

#[test]
fn parsing_methods_intervals_and_counts() {
    assert_eq!(parse_hc_method("get").unwrap(), HcMethod::Get);
    assert_eq!(parse_hc_method(" OPTIONS11 ").unwrap(), HcMethod::Options11);
    assert_eq!(parse_hc_method("none").unwrap(), HcMethod::None);
    // CPING parses; whether it fits is the member's scheme's business.
    assert_eq!(parse_hc_method("cping").unwrap(), HcMethod::Cping);
    assert!(parse_hc_method("POST")
        .unwrap_err()
        .to_string()
        .contains("GET11"));

    use IntervalUnit::*;
    assert_eq!(parse_hc_interval("500", Millis).unwrap(), 500);
    assert_eq!(parse_hc_interval("2", Seconds).unwrap(), 2000);
    assert_eq!(parse_hc_interval("500ms", Seconds).unwrap(), 500);
    assert_eq!(parse_hc_interval("2S", Millis).unwrap(), 2000);
    assert_eq!(parse_hc_interval("1mi", Millis).unwrap(), 60_000);
    assert_eq!(parse_hc_interval("1hr", Millis).unwrap(), 3_600_000);
    for bad in ["99", "99ms", "", "ms", "1.5s", "5 min", "-1", "100x"] {
        assert!(parse_hc_interval(bad, Millis).is_err(), "{bad}");
    }
    assert!(
        parse_hc_interval("100000hr", Millis).is_err(),
        "beyond u32 ms"
    );
    assert_eq!(parse_hc_interval("100", Millis).unwrap(), 100);

    assert_eq!(parse_hc_count("hcpasses", "3").unwrap(), 3);
    for bad in ["0", "-1", "x", "", "2147483648"] {
        assert!(parse_hc_count("hcfails", bad).is_err(), "{bad}");
    }
}

#[test]
fn each_setter_writes_its_field() {
    let t = board();
    let sb = &t.sb;
    set_hc_method(sb, 1, HcMethod::Get).unwrap();
    assert_eq!(sb.member(1).hc_method(), HcMethod::Get.code());
    set_hc_interval(sb, 1, 250).unwrap();
    assert_eq!(sb.member(1).hc_interval_ms(), 250);
    assert!(set_hc_interval(sb, 1, 99).is_err());
    assert_eq!(sb.member(1).hc_interval_ms(), 250);
    set_hc_passes(sb, 1, 3).unwrap();
    set_hc_fails(sb, 1, 4).unwrap();
    assert_eq!((sb.member(1).hc_passes(), sb.member(1).hc_fails()), (3, 4));
    assert!(set_hc_passes(sb, 1, 0).is_err());
    assert!(set_hc_fails(sb, 1, 0).is_err());
    set_hc_uri(sb, 1, "/health?x=1").unwrap();
    assert_eq!(sb.member(1).hc_uri.get(), "/health?x=1");
    for bad in ["/a b", "/a\r\nX: y", &format!("/{}", "x".repeat(63))] {
        assert!(set_hc_uri(sb, 1, bad).is_err(), "{bad:?}");
    }
    assert_eq!(sb.member(1).hc_uri.get(), "/health?x=1");
    set_hc_uri(sb, 1, &format!("/{}", "x".repeat(62))).unwrap();
    set_hc_uri(sb, 1, "").unwrap();
    assert_eq!(sb.member(1).hc_uri.get(), "");
    // Slot 0 is untouched.
    assert_eq!(sb.member(0).hc_method(), 0);
    assert!(matches!(
        set_hc_method(sb, 7, HcMethod::Get),
        Err(EditError::NoMember(_))
    ));
}

#[test]
fn expressions_must_exist_when_the_configuration_is_known() {
    let t = board();
    let sb = &t.sb;
    let defs = exprs();
    set_hc_method(sb, 0, HcMethod::Get).unwrap();
    set_hc_expr(sb, 0, "OK", Some(&defs)).unwrap();
    assert_eq!(
        sb.member(0).hc_expr.get(),
        "ok",
        "the definition's spelling"
    );
    set_hc_expr(sb, 0, "maint", Some(&defs)).unwrap();
    assert_eq!(sb.member(0).hc_expr.get(), "Maint");
    let e = set_hc_expr(sb, 0, "nosuch", Some(&defs)).unwrap_err();
    assert!(e.to_string().contains("defined: ok, Maint"), "{e}");
    assert_eq!(sb.member(0).hc_expr.get(), "Maint");
    assert!(set_hc_expr(sb, 0, "x", Some(&[]))
        .unwrap_err()
        .to_string()
        .contains("none is defined"));
    // Without the configuration any well-formed name is taken.
    set_hc_expr(sb, 0, "nosuch", None).unwrap();
    assert_eq!(sb.member(0).hc_expr.get(), "nosuch");
    assert!(set_hc_expr(sb, 0, "sixteen_chars_xx", None).is_err());
    assert!(set_hc_expr(sb, 0, "a b", None).is_err());
    set_hc_expr(sb, 0, "", Some(&defs)).unwrap();
    assert_eq!(sb.member(0).hc_expr.get(), "");
}

#[test]
fn none_and_tcp_clear_the_expression() {
    let t = board();
    let sb = &t.sb;
    let defs = exprs();
    for method in [HcMethod::Tcp, HcMethod::None] {
        let change = HealthChange {
            method: Some(HcMethod::Get11),
            expr: Some("ok".into()),
            ..HealthChange::default()
        };
        set_health(sb, 0, &change, Some(&defs)).unwrap();
        assert_eq!(sb.member(0).hc_expr.get(), "ok");
        // The method clears it, even when the same change names one.
        let change = HealthChange {
            method: Some(method),
            expr: Some("ok".into()),
            ..HealthChange::default()
        };
        set_health(sb, 0, &change, Some(&defs)).unwrap();
        assert_eq!(sb.member(0).hc_expr.get(), "", "{method:?}");
        assert_eq!(sb.member(0).hc_method(), method.code());
        // An expression alone is refused while the method takes none.
        assert!(set_hc_expr(sb, 0, "ok", Some(&defs))
            .unwrap_err()
            .to_string()
            .contains("HTTP hcmethod"));
        set_hc_expr(sb, 0, "", Some(&defs)).unwrap();
    }
}

#[test]
fn set_health_checks_everything_before_writing() {
    let t = board();
    let sb = &t.sb;
    let change = HealthChange {
        method: Some(HcMethod::Get),
        interval_ms: Some(500),
        passes: Some(2),
        fails: Some(0),
        uri: Some("/health".into()),
        expr: None,
    };
    assert!(set_health(sb, 0, &change, None).is_err());
    let m = sb.member(0);
    assert_eq!(
        (m.hc_method(), m.hc_interval_ms(), m.hc_passes()),
        (0, 0, 0)
    );
    assert_eq!(m.hc_uri.get(), "");
    let change = HealthChange {
        fails: Some(2),
        ..change
    };
    set_health(sb, 0, &change, None).unwrap();
    assert_eq!(
        health_of(sb, 0),
        HealthSettings {
            method: HcMethod::Get,
            interval_ms: 500,
            passes: 2,
            fails: 2,
            uri: "/health".into(),
            expr: String::new(),
        }
    );
    assert!(HealthChange::default().is_empty());
    assert!(!change.is_empty());
}

#[test]
fn a_new_method_restarts_the_counters_but_keeps_c() {
    let t = board();
    let sb = &t.sb;
    set_hc_method(sb, 0, HcMethod::Get).unwrap();
    let m = sb.member(0);
    m.set_hc_fcount(1);
    m.set_hc_pcount(1);
    m.set_flags(flags::HC_FAILED);
    set_hc_method(sb, 0, HcMethod::Get).unwrap();
    assert_eq!((m.hc_pcount(), m.hc_fcount()), (1, 1), "same method");
    set_hc_method(sb, 0, HcMethod::Head).unwrap();
    assert_eq!((m.hc_pcount(), m.hc_fcount()), (0, 0));
    assert!(m.status() & flags::HC_FAILED != 0);
}

#[test]
fn standalone_workers_are_refused() {
    let t = board();
    t.sb.member(1).set_balancer(scoreboard::NO_BALANCER);
    assert!(set_hc_method(&t.sb, 1, HcMethod::Get)
        .unwrap_err()
        .to_string()
        .contains("only balancer members"));
}

#[test]
fn an_added_member_starts_without_a_check_whatever_the_slot_held() {
    let t = board();
    let sb = &t.sb;
    // The free slot 2 held another member's check earlier.
    let old = sb.member(2);
    old.set_hc_method(HcMethod::Get.code());
    old.set_hc_interval_ms(100);
    old.hc_uri.set("/old");
    old.hc_expr.set("old");
    let slot = add_member(sb, 0, "http://new:3").unwrap();
    assert_eq!(slot, 2);
    assert_eq!(
        health_of(sb, slot),
        HealthSettings {
            method: HcMethod::None,
            interval_ms: DEFAULT_HC_INTERVAL_MS,
            passes: 1,
            fails: 1,
            uri: String::new(),
            expr: String::new(),
        }
    );
    // Then it is given a check and enabled, as the manager does.
    let change = HealthChange {
        method: Some(HcMethod::Get),
        interval_ms: Some(200),
        fails: Some(1),
        uri: Some("/health".into()),
        ..HealthChange::default()
    };
    set_health(sb, slot, &change, None).unwrap();
    enable(sb, 0, slot).unwrap();
    assert_eq!(sb.member(slot).hc_method(), HcMethod::Get.code());
    assert!(sb.member(slot).is_usable());
}
