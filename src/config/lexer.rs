//! Text → logical lines → words, the way httpd reads a configuration file.
//!
//! - A line ending in `\` continues on the next line. The backslash must be the very last
//!   character (no blank after it); it is removed and the next line is appended as it is, so
//!   `ProxyPass /a \` + `    http://b/` reads as `ProxyPass /a     http://b/`. A logical line
//!   is reported with the number of its first physical line.
//! - After joining, a line whose first non-blank character is `#` is a comment. As in httpd
//!   this is decided on the joined line, so a comment ending in `\` swallows the next line.
//!   A `#` anywhere else is an ordinary character (httpd has no trailing comments).
//! - Words are separated by blanks. A word that starts with `"` or `'` runs to the matching
//!   quote; inside it a backslash before that quote character stands for the quote, every
//!   other backslash is kept. Unquoted words are taken literally. Unlike httpd, which takes
//!   the rest of the line, an unterminated quote is an error.
//! - `${NAME}` is replaced on the whole line before it is split into words (httpd does the
//!   same, so a value holding blanks becomes several words).

/// One logical line: continuation joined, trimmed, neither blank nor a comment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Line {
    /// 1-based number of the first physical line.
    pub number: usize,
    pub text: String,
}

/// Splits a file's text into logical lines.
pub(crate) fn logical_lines(text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut pending: Option<Line> = None;
    for (index, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let (body, continues) = match raw.strip_suffix('\\') {
            Some(body) => (body, true),
            None => (raw, false),
        };
        let line = pending.get_or_insert_with(|| Line {
            number: index + 1,
            text: String::new(),
        });
        line.text.push_str(body);
        if !continues {
            push_logical(&mut out, pending.take());
        }
    }
    // A continuation on the last line of the file simply ends there.
    push_logical(&mut out, pending.take());
    out
}

fn push_logical(out: &mut Vec<Line>, line: Option<Line>) {
    if let Some(line) = line {
        let text = line.text.trim();
        if !text.is_empty() && !text.starts_with('#') {
            out.push(Line {
                number: line.number,
                text: text.to_string(),
            });
        }
    }
}

/// Splits the arguments of a line into words (see the module comment for the quoting rules).
pub(crate) fn split_words(text: &str) -> Result<Vec<String>, String> {
    split(text, false)
}

/// [`split_words`] where, in addition, a word that starts with `{` runs to the matching
/// `}` (braces inside are counted, so `{%{REQUEST_STATUS} =~ /^2/}` is one word) and is
/// delivered without its braces; `\\` inside stands for one backslash, everything else is
/// kept as written. This is httpd's `ap_getword_conf2`, used for `ProxyHCExpr`.
pub(crate) fn split_words_braced(text: &str) -> Result<Vec<String>, String> {
    split(text, true)
}

fn split(text: &str, braces: bool) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(first) = chars.next() else {
            return Ok(words);
        };
        let mut word = String::new();
        if first == '"' || first == '\'' {
            let mut closed = false;
            while let Some(c) = chars.next() {
                if c == '\\' && chars.peek() == Some(&first) {
                    word.push(first);
                    chars.next();
                } else if c == first {
                    closed = true;
                    break;
                } else {
                    word.push(c);
                }
            }
            if !closed {
                return Err(format!("unterminated quoted string {first}{word}"));
            }
        } else if first == '{' && braces {
            let mut depth = 1;
            while let Some(c) = chars.next() {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    '\\' if chars.peek() == Some(&'\\') => {
                        chars.next();
                    }
                    _ => {}
                }
                word.push(c);
            }
            if depth > 0 {
                return Err(format!("unterminated {{…}}: no '}}' closes {{{word}"));
            }
        } else {
            word.push(first);
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                word.push(c);
            }
        }
        words.push(word);
    }
}

/// Replaces every `${NAME}` for which `lookup` has a value. Returns the new text and the
/// names that had none; their `${NAME}` is left in the text, as httpd does. A `${` without
/// a closing `}` (or `${}`) is left alone and not reported. Replacement is one pass: a value
/// that itself contains `${…}` is not expanded again.
pub(crate) fn substitute(
    text: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len());
    let mut undefined = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) if end > 0 => {
                let name = &after[..end];
                match lookup(name) {
                    Some(value) => out.push_str(&value),
                    None => {
                        out.push_str(&rest[start..start + 2 + end + 1]);
                        if !undefined.iter().any(|n| n == name) {
                            undefined.push(name.to_string());
                        }
                    }
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    (out, undefined)
}

/// What a logical line is, before its arguments are split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LineKind<'a> {
    /// `<Name args…>`: the name without `<`, and the raw text between it and the last `>`.
    Open { name: &'a str, args: &'a str },
    /// `</Name>`.
    Close { name: &'a str },
    /// `Name args…`.
    Plain,
}

/// Classifies a (trimmed, substituted) logical line.
pub(crate) fn classify(text: &str) -> Result<LineKind<'_>, String> {
    if let Some(inner) = text.strip_prefix("</") {
        let Some(inner) = inner.strip_suffix('>') else {
            return Err(format!("</{inner} is missing its closing '>'"));
        };
        let name = inner.trim();
        if name.is_empty() {
            return Err("empty closing tag '</>'".to_string());
        }
        if name.contains(char::is_whitespace) {
            return Err(format!("closing tag '{text}' takes no arguments"));
        }
        return Ok(LineKind::Close { name });
    }
    if let Some(inner) = text.strip_prefix('<') {
        let name_end = inner
            .find(|c: char| c.is_whitespace() || c == '>')
            .unwrap_or(inner.len());
        let name = &inner[..name_end];
        if name.is_empty() {
            return Err(format!("section tag '{text}' has no name"));
        }
        let rest = &inner[name_end..];
        let Some(gt) = rest.rfind('>') else {
            return Err(format!("<{name}> directive missing closing '>'"));
        };
        if !rest[gt + 1..].trim().is_empty() {
            return Err(format!(
                "unexpected text '{}' after <{name} …>",
                rest[gt + 1..].trim()
            ));
        }
        return Ok(LineKind::Open {
            name,
            args: &rest[..gt],
        });
    }
    Ok(LineKind::Plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<(usize, String)> {
        logical_lines(text)
            .into_iter()
            .map(|l| (l.number, l.text))
            .collect()
    }

    #[test]
    fn comments_blanks_and_continuations() {
        let cases: &[(&str, &[(usize, &str)])] = &[
            ("", &[]),
            ("\n\n   \n", &[]),
            ("# comment\nListen 80\n", &[(2, "Listen 80")]),
            ("   # indented comment\n\tListen 80  ", &[(2, "Listen 80")]),
            (
                "Listen 80 # not a comment",
                &[(1, "Listen 80 # not a comment")],
            ),
            (
                "ProxyPass /a \\\n   http://b/\nX",
                &[(1, "ProxyPass /a    http://b/"), (3, "X")],
            ),
            ("Pro\\\nxyPass /a\\\n \\\n!", &[(1, "ProxyPass /a !")]),
            // A blank after the backslash: no continuation.
            ("A \\ \nB", &[(1, "A \\"), (2, "B")]),
            ("A\r\nB\r\n", &[(1, "A"), (2, "B")]),
            ("A \\\r\nB\r\n", &[(1, "A B")]),
            // httpd joins before looking for comments: the comment swallows the next line.
            ("# note \\\nListen 80\nListen 81", &[(3, "Listen 81")]),
            // A continuation on the last line ends with the file.
            ("Listen 80 \\", &[(1, "Listen 80")]),
        ];
        for (text, want) in cases {
            let want: Vec<(usize, String)> =
                want.iter().map(|(n, s)| (*n, s.to_string())).collect();
            assert_eq!(lines(text), want, "text {text:?}");
        }
    }

    #[test]
    fn words_and_quotes() {
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("  a   b\tc ", &["a", "b", "c"]),
            (r#""a b" c"#, &["a b", "c"]),
            (r#"'a b' "c d""#, &["a b", "c d"]),
            (r#""say \"hi\"""#, &[r#"say "hi""#]),
            (r#"'it\'s'"#, &["it's"]),
            (
                r#""back\slash" 'no \"escape'"#,
                &[r"back\slash", r#"no \"escape"#],
            ),
            (r#""" x"#, &["", "x"]),
            (r#""ab"cd"#, &["ab", "cd"]),
            (r#"ab"cd""#, &[r#"ab"cd""#]),
            (r"unquoted\ backslash", &[r"unquoted\", "backslash"]),
        ];
        for (text, want) in cases {
            assert_eq!(split_words(text).unwrap(), *want, "text {text:?}");
        }
        for bad in [r#""open"#, r#"a 'b"#, r#""esc\""#] {
            let err = split_words(bad).unwrap_err();
            assert!(err.contains("unterminated"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn substitution() {
        let lookup = |name: &str| match name {
            "A" => Some("alpha".to_string()),
            "E" => Some(String::new()),
            "L" => Some("${A}".to_string()),
            _ => None,
        };
        let cases: &[(&str, &str, &[&str])] = &[
            ("plain", "plain", &[]),
            ("x${A}y", "xalphay", &[]),
            ("${A}${A}", "alphaalpha", &[]),
            ("[${E}]", "[]", &[]),
            ("${L}", "${A}", &[]),
            (
                "${NOPE} ${NOPE} ${B}",
                "${NOPE} ${NOPE} ${B}",
                &["NOPE", "B"],
            ),
            ("${} $A ${A", "${} $A ${A", &[]),
            ("$${A}", "$alpha", &[]),
        ];
        for (text, want, undefined) in cases {
            let (got, missing) = substitute(text, lookup);
            assert_eq!(got, *want, "text {text:?}");
            assert_eq!(missing, *undefined, "text {text:?}");
        }
    }

    #[test]
    fn line_kinds() {
        assert_eq!(classify("Listen 80"), Ok(LineKind::Plain));
        assert_eq!(
            classify("<Location /a>"),
            Ok(LineKind::Open {
                name: "Location",
                args: " /a"
            })
        );
        assert_eq!(
            classify(r#"<Location "/a>b">"#),
            Ok(LineKind::Open {
                name: "Location",
                args: r#" "/a>b""#
            })
        );
        assert_eq!(
            classify("<IfModule>"),
            Ok(LineKind::Open {
                name: "IfModule",
                args: ""
            })
        );
        assert_eq!(
            classify("</Location>"),
            Ok(LineKind::Close { name: "Location" })
        );
        assert_eq!(
            classify("</ Location >"),
            Ok(LineKind::Close { name: "Location" })
        );
        let errors = [
            ("<Location /a", "<Location> directive missing closing '>'"),
            ("<Location /a> x", "unexpected text 'x' after <Location …>"),
            ("<>", "section tag '<>' has no name"),
            ("</Location", "</Location is missing its closing '>'"),
            ("</>", "empty closing tag '</>'"),
            (
                "</Location x>",
                "closing tag '</Location x>' takes no arguments",
            ),
        ];
        for (text, want) in errors {
            assert_eq!(classify(text), Err(want.to_string()), "text {text:?}");
        }
    }

    #[test]
    fn braced_words() {
        let words = |t: &str| split_words_braced(t);
        assert_eq!(
            words(r#"ProxyHCExpr ok {%{REQUEST_STATUS} =~ /^[234]/}"#).unwrap(),
            ["ProxyHCExpr", "ok", "%{REQUEST_STATUS} =~ /^[234]/"]
        );
        // Quotes and blanks inside braces are kept; nested braces are counted.
        assert_eq!(
            words(r#"X {a == "b c"  && {x}}tail "q r""#).unwrap(),
            ["X", r#"a == "b c"  && {x}"#, "tail", "q r"]
        );
        // A doubled backslash stands for one; others are kept.
        assert_eq!(words(r"{a\\b\d}").unwrap(), [r"a\b\d"]);
        assert_eq!(words("{}").unwrap(), [""]);
        assert_eq!(
            words("X {a {b}"),
            Err("unterminated {…}: no '}' closes {a {b}".to_string())
        );
        // Without braces, split_words keeps them as ordinary characters.
        assert_eq!(split_words("{a b}").unwrap(), ["{a", "b}"]);
    }
}
