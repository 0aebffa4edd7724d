//! ProxyExpressEnable, ProxyExpressDBMFile, ProxyExpressDBMType.

use std::path::{Path, PathBuf};

use super::*;

#[test]
fn off_by_default() {
    let c = config("");
    assert!(!c.express.enable);
    assert_eq!(c.express.map_file, None);
    assert_eq!(c.express.active_map(), None);
}

#[test]
fn the_map_is_resolved_against_server_root() {
    let c = config(
        "ProxyExpressEnable On\nProxyExpressDBMFile conf/express.txt\nProxyExpressDBMType TXT\n",
    );
    assert!(c.express.enable);
    assert_eq!(
        c.express.active_map(),
        Some(Path::new("/etc/slotgate/conf/express.txt"))
    );
    assert_eq!(c.express.origin.as_ref().unwrap().line, 3);
    let c = config("ProxyExpressDBMFile /srv/map.txt\nProxyExpressEnable on\n");
    assert_eq!(c.express.map_file, Some(PathBuf::from("/srv/map.txt")));
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn a_vhost_inherits_and_may_turn_it_off() {
    let c = config(
        "ProxyExpressEnable On\nProxyExpressDBMFile /srv/main.txt\n\
         <VirtualHost *>\nServerName a.test\n</VirtualHost>\n\
         <VirtualHost *>\nServerName b.test\nProxyExpressEnable Off\n</VirtualHost>\n\
         <VirtualHost *>\nServerName c.test\nProxyExpressDBMFile /srv/c.txt\n</VirtualHost>\n",
    );
    assert_eq!(
        c.vhosts[0].express.active_map(),
        Some(Path::new("/srv/main.txt"))
    );
    assert_eq!(
        c.vhosts[1].express.active_map(),
        None,
        "Off in a vhost wins (§9 #15)"
    );
    assert_eq!(
        c.vhosts[2].express.active_map(),
        Some(Path::new("/srv/c.txt"))
    );
    // Enabled only in a vhost.
    let c = config(
        "ProxyExpressDBMFile /srv/main.txt\n\
         <VirtualHost *>\nServerName a.test\nProxyExpressEnable On\n</VirtualHost>\n",
    );
    assert_eq!(c.express.active_map(), None);
    assert_eq!(
        c.vhosts[0].express.active_map(),
        Some(Path::new("/srv/main.txt"))
    );
}

#[test]
fn only_the_txt_type_is_supported() {
    for t in ["default", "sdbm", "gdbm", "ndbm", "db"] {
        let e = error(&format!(
            "{LISTEN}ProxyExpressEnable On\nProxyExpressDBMType {t}\n"
        ));
        assert!(
            e.starts_with(&format!(
                "{FILE}:3: ProxyExpressDBMType {t}: only 'txt' is supported"
            )),
            "{e}"
        );
    }
}

#[test]
fn errors_name_the_line() {
    let e = error(&format!("{LISTEN}ProxyExpressEnable maybe\n"));
    assert!(e.starts_with(&format!("{FILE}:2: ")), "{e}");
    let e = error(&format!("{LISTEN}ProxyExpressDBMFile a b\n"));
    assert_eq!(
        e,
        format!("{FILE}:2: ProxyExpressDBMFile takes one argument, got 2")
    );
    let e = error(&format!(
        "{LISTEN}<Location /x>\nProxyExpressEnable On\n</Location>\n"
    ));
    assert!(
        e.starts_with(&format!(
            "{FILE}:3: ProxyExpressEnable cannot occur within <Location>"
        )),
        "{e}"
    );
}

#[test]
fn enabled_without_a_map_warns() {
    let c = config("ProxyExpressEnable On\n");
    assert_eq!(c.express.active_map(), None);
    assert_eq!(c.warnings.len(), 1);
    assert!(c.warnings[0].starts_with(&format!("{FILE}:2: ProxyExpressEnable On without")));
}
