//! Escaping, one function per target: HTML and XML text and attributes (the
//! balancer-manager, server-status, slotgate-bench's reports), log items (the
//! access log) and terminals (slotgate-top, messages that echo a value).

/// For HTML text and attribute values: `&`, `<`, `>`, `"` and `'` as entities.
pub fn html(s: &str) -> String {
    markup(s, "&#39;")
}

/// For XML text and attribute values: as [`html`], with `'` as `&apos;`.
pub fn xml(s: &str) -> String {
    markup(s, "&apos;")
}

fn markup(s: &str, apostrophe: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str(apostrophe),
            c => out.push(c),
        }
    }
    out
}

/// For a quoted access-log item, as httpd's `ap_escape_logitem`: `"` and `\`
/// behind a backslash, control characters as `\xhh`.
pub fn log_item(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    log_item_into(&mut out, s.as_bytes());
    String::from_utf8(out).unwrap_or_default()
}

/// [`log_item`] appended to `out` without allocating (the access log's hot path):
/// bytes that are not UTF-8 are written as `\xhh` too.
pub fn log_item_into(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let hex = |out: &mut Vec<u8>, b: u32| {
        out.extend_from_slice(&[
            b'\\',
            b'x',
            HEX[(b >> 4 & 15) as usize],
            HEX[(b & 15) as usize],
        ])
    };
    for chunk in s.utf8_chunks() {
        let valid = chunk.valid();
        if !valid.contains(|c: char| c == '"' || c == '\\' || c.is_control()) {
            out.extend_from_slice(valid.as_bytes());
        } else {
            for c in valid.chars() {
                if c == '"' || c == '\\' {
                    out.extend_from_slice(&[b'\\', c as u8]);
                } else if c.is_control() {
                    hex(out, c as u32);
                } else {
                    let mut b = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                }
            }
        }
        for &b in chunk.invalid() {
            hex(out, u32::from(b));
        }
    }
}

/// For a terminal: control characters (C0, DEL, C1) as `\xhh`, so a value read
/// from the scoreboard (a route set at run time, say) cannot move the cursor,
/// change colours or retitle the window of whoever prints it. Everything else,
/// backslashes included, is kept.
pub fn controls(s: &str) -> String {
    if !s.contains(char::is_control) {
        return s.to_string();
    }
    backslashed(s, &[])
}

fn backslashed(s: &str, specials: &[char]) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if specials.contains(&c) {
            out.push('\\');
            out.push(c);
        } else if c.is_control() {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_target_escapes_its_own_characters() {
        let s = "a&b<c>\"d'e\\f\x1b[31mg\u{9b}h\ti\u{7f}é";
        assert_eq!(
            html(s),
            "a&amp;b&lt;c&gt;&quot;d&#39;e\\f\x1b[31mg\u{9b}h\ti\u{7f}é"
        );
        assert_eq!(
            xml(s),
            "a&amp;b&lt;c&gt;&quot;d&apos;e\\f\x1b[31mg\u{9b}h\ti\u{7f}é"
        );
        assert_eq!(
            log_item(s),
            "a&b<c>\\\"d'e\\\\f\\x1b[31mg\\x9bh\\x09i\\x7fé"
        );
        assert_eq!(controls(s), "a&b<c>\"d'e\\f\\x1b[31mg\\x9bh\\x09i\\x7fé");
        let mut out = Vec::new();
        log_item_into(&mut out, b"ok \xff\"");
        assert_eq!(out, b"ok \\xff\\\"");
        assert_eq!(controls("plain"), "plain");
        assert!(!controls(s).contains(char::is_control));
    }
}
