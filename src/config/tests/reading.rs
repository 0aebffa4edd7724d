//! Reading: comments, continuations, quotes, sections, Include, Define, IfDefine, IfModule.

use super::*;

#[test]
fn comments_continuations_and_quotes_reach_the_directives() {
    let c = config(
        "# a comment\n\
         \x20  # an indented comment\n\
         \n\
         ProxyPass /a \\\n\
         \x20   http://127.0.0.1:8081/a\n\
         ProxyPass \"/b\" 'http://127.0.0.1:8081/b' \"timeout=5\"\n\
         ProxyPass \"/sp ace\" http://127.0.0.1:8081/c\n",
    );
    assert_eq!(pass_paths(&c), ["/a", "/b", "/sp ace"]);
    assert_eq!(pass_url(&c, 0), "http://127.0.0.1:8081/a");
    assert_eq!(
        c.proxy_pass[0].origin.line, 5,
        "line of the first physical line"
    );
    assert_eq!(
        c.proxy_pass[1].params.timeout,
        Some(std::time::Duration::from_secs(5))
    );
}

#[test]
fn a_trailing_hash_is_not_a_comment() {
    assert_eq!(
        error("Listen 127.0.0.1:0\nProxyPreserveHost On # keep the host\n"),
        format!("{FILE}:2: ProxyPreserveHost takes one argument, got 5")
    );
}

#[test]
fn an_unterminated_quote_is_an_error() {
    assert_eq!(
        error("Listen 127.0.0.1:0\nServerName \"example.org\n"),
        format!("{FILE}:2: unterminated quoted string \"example.org")
    );
}

#[test]
fn directive_and_section_names_are_case_insensitive() {
    let c = config(
        "listen 127.0.0.1:1\n\
         PROXYPASS /a http://127.0.0.1:8081/a\n\
         proxyPassReverse /a http://127.0.0.1:8081/a\n\
         <location /l>\n\
         proxypass http://127.0.0.1:8081/l\n\
         </LOCATION>\n\
         <ifmodule MOD_PROXY.C>\n\
         ProxyVia full\n\
         </IfModule>\n",
    );
    assert_eq!(c.listen.len(), 2);
    assert_eq!(pass_paths(&c), ["/l", "/a"]);
    assert_eq!(c.proxy_pass_reverse.len(), 1);
    assert_eq!(c.proxy_via, crate::config::ProxyVia::Full);
}

#[test]
fn unknown_directives_and_sections_are_named_as_written() {
    assert_eq!(
        error("Listen 127.0.0.1:0\n\nFrobnicate on\n"),
        format!("{FILE}:3: unknown directive 'Frobnicate'")
    );
    assert_eq!(
        error(
            "Listen 127.0.0.1:0\n<DirectoryMatch /x>\nProxyPass / http://h/\n</DirectoryMatch>\n"
        ),
        format!("{FILE}:3: ProxyPass cannot occur within <DirectoryMatch> section")
    );
    assert_eq!(
        error("Listen 127.0.0.1:0\n<VirtualHost *:80>\n<Frob>\n</Frob>\n</VirtualHost>\n"),
        format!("{FILE}:3: unknown directive '<Frob>'")
    );
    assert_eq!(
        error("Listen 127.0.0.1:0\n<Location /x>\nFrobnicate\n</Location>\n"),
        format!("{FILE}:3: unknown directive 'Frobnicate'")
    );
}

#[test]
fn sections_nest_and_mismatches_name_file_and_line() {
    // Well nested, several levels, including conditionals inside a Location.
    let c = config(
        "<IfModule proxy_module>\n\
         <IfDefine !NOPE>\n\
         <Location /deep>\n\
         <IfModule mod_proxy_http.c>\n\
         ProxyPass http://127.0.0.1:8081/deep\n\
         </IfModule>\n\
         </Location>\n\
         </IfDefine>\n\
         </IfModule>\n",
    );
    assert_eq!(pass_paths(&c), ["/deep"]);

    let cases = [
        (
            "<Location /x>\nProxyPass http://h/\n</Proxy>\n",
            format!("{FILE}:3: </Proxy> closes <Location /x> opened at {FILE}:1"),
        ),
        (
            "\n<Location /x>\n<IfModule mod_proxy.c>\n</Location>\n</IfModule>\n",
            format!("{FILE}:4: </Location> closes <IfModule mod_proxy.c> opened at {FILE}:3"),
        ),
        (
            "ProxyVia On\n<Location /x>\nProxyPass http://h/\n",
            format!("{FILE}:2: <Location> was not closed"),
        ),
        (
            "<IfModule mod_proxy.c>\n<Location /x>\n</Location>\n",
            format!("{FILE}:1: <IfModule> was not closed"),
        ),
        (
            "ProxyVia On\n</Location>\n",
            format!("{FILE}:2: </Location> without matching <Location> section"),
        ),
        (
            "<Location /x\n</Location>\n",
            format!("{FILE}:1: <Location> directive missing closing '>'"),
        ),
        // A false conditional is skipped, but its body must still be well nested.
        (
            "<IfDefine NOPE>\n<Location /x>\n</Proxy>\n</IfDefine>\n",
            format!("{FILE}:3: </Proxy> closes <Location /x> opened at {FILE}:2"),
        ),
        (
            "<IfModule mod_nope.c>\n<Location /x>\n",
            format!("{FILE}:2: <Location> was not closed"),
        ),
        (
            "<IfModule>\n</IfModule>\n",
            format!("{FILE}:1: <IfModule> takes one argument"),
        ),
        (
            "<IfDefine !>\n</IfDefine>\n",
            format!("{FILE}:1: <IfDefine> needs a name after '!'"),
        ),
    ];
    for (text, want) in cases {
        assert_eq!(error(text), want, "{text}");
    }
}

#[test]
fn a_false_conditional_skips_everything_inside() {
    // Unknown directives, bad values and Includes of missing files are not looked at.
    let c = config(
        "<IfModule mod_ldap.c>\n\
         LDAPTrustedMode SSL\n\
         Include /does/not/exist.conf\n\
         Define SKIPPED yes\n\
         ProxyPass ${UNDEFINED_IN_SKIPPED_BODY} x\n\
         </IfModule>\n\
         <IfDefine SKIPPED>\n\
         ProxyPass /skipped http://127.0.0.1:8081/\n\
         </IfDefine>\n",
    );
    assert!(c.proxy_pass.is_empty());
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn if_module_knows_slotgates_modules_in_both_spellings() {
    let cases = [
        ("mod_proxy.c", true),
        ("proxy_module", true),
        ("mod_proxy_http.c", true),
        ("proxy_http_module", true),
        ("mod_proxy_balancer.c", true),
        ("lbmethod_byrequests_module", true),
        ("mod_lbmethod_bytraffic.c", true),
        ("mod_lbmethod_bybusyness.c", true),
        ("lbmethod_heartbeat_module", true),
        ("mod_proxy_hcheck.c", true),
        ("proxy_wstunnel_module", true),
        ("mod_proxy_express.c", true),
        ("slotmem_shm_module", true),
        ("mod_status.c", true),
        ("watchdog_module", true),
        ("mod_headers.c", true),
        ("headers_module", true),
        ("mod_env.c", true),
        ("setenvif_module", true),
        ("mod_ldap.c", false),
        ("mod_ssl.c", true),
        ("ssl_module", true),
        ("mod_proxy", false),
        ("proxy", false),
        ("mod_proxy_ajp.c", false),
    ];
    for (module, present) in cases {
        for negated in [false, true] {
            let bang = if negated { "!" } else { "" };
            let c = config(&format!(
                "<IfModule {bang}{module}>\nProxyPass /in http://127.0.0.1:8081/\n</IfModule>\n"
            ));
            assert_eq!(
                c.proxy_pass.len() == 1,
                present != negated,
                "<IfModule {bang}{module}>"
            );
        }
    }
}

#[test]
fn if_define_sees_command_line_and_define_names() {
    let text = "Listen 127.0.0.1:0\n\
                <IfDefine A>\nProxyPass /a http://127.0.0.1:8081/a\n</IfDefine>\n\
                <IfDefine !A>\nProxyPass /not-a http://127.0.0.1:8081/x\n</IfDefine>\n\
                Define B\n\
                <IfDefine B>\nProxyPass /b http://127.0.0.1:8081/b\n</IfDefine>\n\
                UnDefine B\n\
                <IfDefine B>\nProxyPass /b-again http://127.0.0.1:8081/b\n</IfDefine>\n\
                UnDefine A\n\
                <IfDefine !A>\nProxyPass /a-gone http://127.0.0.1:8081/a\n</IfDefine>\n";
    let with_a = parse_with(text, &["A"]).unwrap();
    assert_eq!(pass_paths(&with_a), ["/a", "/b", "/a-gone"]);
    let without = parse_with(text, &[]).unwrap();
    assert_eq!(pass_paths(&without), ["/not-a", "/b", "/a-gone"]);
}

#[test]
fn define_and_variables() {
    std::env::set_var("SLOTGATE_CONFIG_TEST_ENV", "/from-env");
    let c = parse_with(
        "Define port 8081\n\
         Define backend \"http://127.0.0.1:${port}\"\n\
         Define both \"/two http://127.0.0.1:1\"\n\
         Listen 127.0.0.1:${port}\n\
         ProxyPass /a ${backend}/a\n\
         ProxyPass ${both}\n\
         ProxyPass ${SLOTGATE_CONFIG_TEST_ENV} ${backend}/e\n\
         ProxyPass /empty${FLAG} ${backend}/f\n\
         Define port 9\n\
         ProxyPass /later http://127.0.0.1:${port}\n",
        &["FLAG"],
    )
    .unwrap();
    assert_eq!(c.listen[0].addr.port(), 8081);
    assert_eq!(
        pass_paths(&c),
        ["/a", "/two", "/from-env", "/empty", "/later"]
    );
    assert_eq!(pass_url(&c, 0), "http://127.0.0.1:8081/a");
    assert_eq!(pass_url(&c, 1), "http://127.0.0.1:1");
    assert_eq!(pass_url(&c, 4), "http://127.0.0.1:9");
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
}

#[test]
fn a_variable_can_empty_a_line_or_open_a_section() {
    let c = parse_with(
        "\u{feff}Listen 127.0.0.1:0\n${EMPTY}\n  ${EMPTY}  \n${EMPTY}<Location /l>\n${EMPTY} ProxyPass http://127.0.0.1:1/l\n</Location>\n",
        &["EMPTY"],
    )
    .unwrap();
    assert_eq!(pass_paths(&c), ["/l"]);
}

#[test]
fn an_undefined_variable_is_kept_with_a_warning() {
    let c = config("ServerName ${SLOTGATE_SURELY_UNDEFINED_NAME}.example\n");
    assert_eq!(c.server_name, "${SLOTGATE_SURELY_UNDEFINED_NAME}.example");
    assert_eq!(
        c.warnings,
        [format!(
            "{FILE}:2: config variable ${{SLOTGATE_SURELY_UNDEFINED_NAME}} is not defined"
        )]
    );
    // UnDefine makes a name undefined again.
    let c = config("Define X 1\nUnDefine X\nServerName h${X}\n");
    assert_eq!(c.server_name, "h${X}");
    assert_eq!(c.warnings.len(), 1);
}

#[test]
fn define_errors() {
    let cases = [
        ("Define\n", "Define takes one or two arguments"),
        ("Define a b c\n", "Define takes one or two arguments"),
        (
            "Define a:b c\n",
            "Define: variable name must not contain ':', got 'a:b'",
        ),
        ("UnDefine\n", "UnDefine takes one argument"),
    ];
    for (text, want) in cases {
        assert_eq!(
            error(&format!("{LISTEN}{text}")),
            format!("{FILE}:2: {want}")
        );
    }
}

#[test]
fn load_module_is_accepted_and_ignored() {
    let c = config(
        "LoadModule proxy_module modules/mod_proxy.so\nLoadModule x_module /nowhere/mod_x.so\n",
    );
    assert!(c.proxy_pass.is_empty());
    assert_eq!(
        error("LoadModule proxy_module\n"),
        format!("{FILE}:1: LoadModule takes two arguments, a module name and a path")
    );
}

#[test]
fn include_globs_relative_to_server_root_in_sorted_order() {
    let s = ScratchDir::new("glob");
    s.write("conf.d/20-b.conf", "ProxyPass /b http://127.0.0.1:8081/b\n");
    s.write("conf.d/10-a.conf", "ProxyPass /a http://127.0.0.1:8081/a\n");
    s.write("conf.d/30-c.conf", "ProxyPass /c http://127.0.0.1:8081/c\n");
    s.write("conf.d/.hidden.conf", "Frobnicate\n");
    s.write("conf.d/notes.txt", "Frobnicate\n");
    s.write(
        "sites/one/x.conf",
        "ProxyPass /one http://127.0.0.1:8081/\n",
    );
    s.write(
        "sites/two/x.conf",
        "ProxyPass /two http://127.0.0.1:8081/\n",
    );
    let main = s.write(
        "main.conf",
        "Listen 127.0.0.1:0\nInclude conf.d/*.conf\nInclude sites/*/x.conf\n",
    );
    let c = load(&main, &[]).unwrap();
    assert_eq!(pass_paths(&c), ["/a", "/b", "/c", "/one", "/two"]);
    assert_eq!(*c.proxy_pass[0].origin.file, s.0.join("conf.d/10-a.conf"));
    assert_eq!(c.proxy_pass[0].origin.line, 1);
}

#[test]
fn include_follows_server_root_changes() {
    let s = ScratchDir::new("root");
    s.write(
        "other/extra.conf",
        "ProxyPass /other http://127.0.0.1:8081/\n",
    );
    s.write("extra.conf", "ProxyPass /main http://127.0.0.1:8081/\n");
    let main = s.write(
        "main.conf",
        &format!(
            "Listen 127.0.0.1:0\nInclude extra.conf\nServerRoot {}\nInclude extra.conf\nPidFile p.pid\n",
            s.path("other")
        ),
    );
    let c = load(&main, &[]).unwrap();
    assert_eq!(pass_paths(&c), ["/main", "/other"]);
    assert_eq!(c.server_root, s.0.join("other"));
    assert_eq!(c.pid_file, Some(s.0.join("other/p.pid")));
    assert_eq!(c.scoreboard_file, s.0.join("other/slotgate.scoreboard"));
}

#[test]
fn include_of_a_directory_reads_every_file_below_it_sorted() {
    let s = ScratchDir::new("dir");
    s.write("inc/b.conf", "ProxyPass /b http://127.0.0.1:8081/\n");
    s.write("inc/a/z.conf", "ProxyPass /az http://127.0.0.1:8081/\n");
    s.write("inc/a.conf", "ProxyPass /a http://127.0.0.1:8081/\n");
    let main = s.write("main.conf", "Listen 127.0.0.1:0\nInclude inc\n");
    let c = load(&main, &[]).unwrap();
    assert_eq!(pass_paths(&c), ["/az", "/a", "/b"]);
}

#[test]
fn include_inside_a_location_adds_to_that_location() {
    let s = ScratchDir::new("inloc");
    s.write("loc.inc", "ProxyPass http://127.0.0.1:8081/l\n");
    let main = s.write(
        "main.conf",
        "Listen 127.0.0.1:0\n<Location /l>\nInclude loc.inc\n</Location>\n",
    );
    let c = load(&main, &[]).unwrap();
    assert_eq!(pass_paths(&c), ["/l"]);
    assert!(c.proxy_pass[0].from_location);
}

#[test]
fn include_optional_ignores_what_is_missing() {
    let s = ScratchDir::new("optional");
    let main = s.write(
        "main.conf",
        "Listen 127.0.0.1:0\nIncludeOptional nothing/*.conf\nIncludeOptional missing.conf\n",
    );
    let c = load(&main, &[]).unwrap();
    assert!(c.proxy_pass.is_empty());
}

#[test]
fn include_errors() {
    let s = ScratchDir::new("incerr");
    let main_path = s.0.join("main.conf");
    let m = main_path.display();
    let cases = [
        (
            "Include missing.conf\n",
            format!(
                "{m}:2: Include: '{}' does not exist",
                s.path("missing.conf")
            ),
        ),
        (
            "Include nothing/*.conf\n",
            format!(
                "{m}:2: Include: no file matches '{}'",
                s.path("nothing/*.conf")
            ),
        ),
        ("Include\n", format!("{m}:2: Include takes one argument")),
        (
            "IncludeOptional a b\n",
            format!("{m}:2: IncludeOptional takes one argument"),
        ),
    ];
    for (text, want) in cases {
        std::fs::write(&main_path, format!("{LISTEN}{text}")).unwrap();
        assert_eq!(
            load(&main_path, &[]).unwrap_err().to_string(),
            want,
            "{text}"
        );
    }
}

#[test]
fn an_error_inside_an_included_file_names_that_file() {
    let s = ScratchDir::new("incline");
    let inc = s.write("sub/part.conf", "# part\n\nProxyVia Sometimes\n");
    let main = s.write(
        "main.conf",
        "Listen 127.0.0.1:0\nIncludeOptional sub/*.conf\n",
    );
    assert_eq!(
        load(&main, &[]).unwrap_err().to_string(),
        format!(
            "{}:3: ProxyVia: expected Off, On, Full or Block, got 'Sometimes'",
            inc.display()
        )
    );
    // A section must be closed in the file that opened it.
    s.write("sub/part.conf", "<Location /x>\n");
    assert_eq!(
        load(&main, &[]).unwrap_err().to_string(),
        format!("{}:1: <Location> was not closed", inc.display())
    );
}

#[test]
fn include_loops_are_errors() {
    let s = ScratchDir::new("loop");
    let a = s.write("a.conf", "ProxyVia On\nInclude b.conf\n");
    s.write("b.conf", "\nInclude a.conf\n");
    let main = s.write("main.conf", "Listen 127.0.0.1:0\nInclude a.conf\n");
    assert_eq!(
        load(&main, &[]).unwrap_err().to_string(),
        format!(
            "{}:2: Include: include loop: '{}' is already being read",
            s.path("b.conf"),
            a.display()
        )
    );
    // Including the main file from itself.
    let main = s.write("self.conf", "Listen 127.0.0.1:0\nInclude self.conf\n");
    let err = load(&main, &[]).unwrap_err().to_string();
    assert!(err.contains("include loop"), "{err}");
}

#[test]
fn include_depth_is_limited() {
    let s = ScratchDir::new("depth");
    for i in 0..40 {
        s.write(&format!("d{i}.conf"), &format!("Include d{}.conf\n", i + 1));
    }
    s.write("d40.conf", "ProxyVia On\n");
    let main = s.write("main.conf", "Listen 127.0.0.1:0\nInclude d0.conf\n");
    let err = load(&main, &[]).unwrap_err().to_string();
    assert!(
        err.ends_with("Include: files nested more than 32 levels deep"),
        "{err}"
    );
    // 30 levels are fine.
    s.write("d30.conf", "ProxyVia On\n");
    assert!(load(&main, &[]).is_ok());
}

#[test]
fn server_root_errors() {
    assert_eq!(
        error("ServerRoot /nonexistent/slotgate-root\nListen 127.0.0.1:0\n"),
        format!(
            "{FILE}:1: ServerRoot must be a valid directory, '/nonexistent/slotgate-root' is not"
        )
    );
    assert_eq!(
        error("Listen 127.0.0.1:0\n<Location /x>\nServerRoot /\n</Location>\n"),
        format!("{FILE}:3: ServerRoot cannot occur within <Location> section")
    );
}
