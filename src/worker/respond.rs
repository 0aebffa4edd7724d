//! Responses slotgate writes itself: error pages in httpd's shape.

use super::buffer::Buffer;
use crate::http::reason_phrase;

use crate::handlers::snapshot::html as html_escape;

/// Appends a complete error response. `detail` is shown in the page (member URLs
/// and the like: nothing the client did not already know or the operator minds).
pub fn error(out: &mut Buffer, status: u16, detail: &str, keep_alive: bool) -> u64 {
    error_with_headers(out, status, detail, keep_alive, &[])
}

/// [`error`] with `extra` headers (mod_headers' `always` table) after Server.
pub fn error_with_headers(
    out: &mut Buffer,
    status: u16,
    detail: &str,
    keep_alive: bool,
    extra: &[crate::http::Header],
) -> u64 {
    let reason = reason_phrase(status);
    let body = format!(
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>{status} {reason}</title>\n\
         </head><body>\n<h1>{reason}</h1>\n<p>{}</p>\n</body></html>\n",
        html_escape(detail)
    );
    let mut head = format!("HTTP/1.1 {status} {reason}\r\nServer: slotgate\r\n").into_bytes();
    for h in extra {
        head.extend_from_slice(h.name.as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(&h.value);
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(
        format!(
            "Content-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n{}\r\n",
            body.len(),
            if keep_alive {
                ""
            } else {
                "Connection: close\r\n"
            }
        )
        .as_bytes(),
    );
    out.extend(&head);
    out.extend(body.as_bytes());
    body.len() as u64
}

/// Appends a handler's answer (`crate::handlers`): its status, type, extra
/// headers and body, with Content-Length; no body for HEAD. Returns the body size.
pub fn handler(
    out: &mut Buffer,
    r: &crate::handlers::Response,
    keep_alive: bool,
    head_request: bool,
) -> u64 {
    let reason = reason_phrase(r.status);
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nServer: slotgate\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
        r.status,
        r.content_type,
        r.body.len()
    );
    for (name, value) in &r.headers {
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    head.push_str(if keep_alive {
        "\r\n"
    } else {
        "Connection: close\r\n\r\n"
    });
    out.extend(head.as_bytes());
    if head_request {
        return 0;
    }
    out.extend(&r.body);
    r.body.len() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_pages_are_complete_responses() {
        let mut b = Buffer::new();
        error(&mut b, 503, "member <x> down", false);
        let text = String::from_utf8(b.data().to_vec()).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(head.contains("Connection: close"));
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        assert!(body.contains("member &lt;x&gt; down"));
    }

    #[test]
    fn handler_answers_carry_their_headers_and_length() {
        let mut b = Buffer::new();
        let mut r = crate::handlers::Response::text(200, "ok");
        r.headers.push(("Cache-Control".into(), "no-store".into()));
        assert_eq!(handler(&mut b, &r, true, false), 3);
        let text = String::from_utf8(b.data().to_vec()).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(text.contains("Cache-Control: no-store\r\n"));
        assert!(text.contains("Content-Length: 3\r\n"));
        assert!(!text.contains("Connection: close"));
        assert!(text.ends_with("\r\n\r\nok\n"));
        let mut b = Buffer::new();
        assert_eq!(handler(&mut b, &r, false, true), 0);
        let text = String::from_utf8(b.data().to_vec()).unwrap();
        assert!(text.ends_with("Connection: close\r\n\r\n"));
    }
}
