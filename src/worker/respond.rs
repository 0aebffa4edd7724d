//! Responses slotgate writes itself: error pages in httpd's shape.

use super::buffer::Buffer;
use crate::http::reason_phrase;

use crate::handlers::snapshot::html as html_escape;

/// What slotgate's own responses say about the server: the `Server` header
/// (`ServerTokens`) and the error pages' footer (`ServerSignature`, empty when Off).
#[derive(Clone, Debug, Default)]
pub struct Banner {
    pub server: String,
    pub signature: String,
}

impl Banner {
    /// For a request on local port `local_port` naming `host` (its Host header; None
    /// when no request head is known), answered by the server named `server_name`;
    /// `default_port` is the scheme's (80, 443 under TLS).
    pub fn new(
        p: &crate::config::Presentation,
        host: Option<&str>,
        server_name: &str,
        local_port: u16,
        default_port: u16,
    ) -> Banner {
        Banner {
            server: p.server_header.clone(),
            signature: p.signature(host, server_name, local_port, default_port),
        }
    }
}

/// Appends a complete error response. `detail` is shown in the page (member URLs
/// and the like: nothing the client did not already know or the operator minds).
pub fn error(
    out: &mut Buffer,
    status: u16,
    detail: &str,
    keep_alive: bool,
    banner: &Banner,
) -> u64 {
    error_with_headers(out, status, detail, keep_alive, banner, &[])
}

/// [`error`] with `extra` headers (mod_headers' `always` table) after Server.
pub fn error_with_headers(
    out: &mut Buffer,
    status: u16,
    detail: &str,
    keep_alive: bool,
    banner: &Banner,
    extra: &[crate::http::Header],
) -> u64 {
    let body = error_page(status, detail, banner);
    local_page(out, status, None, &body, keep_alive, banner, extra)
}

/// Appends a redirect (`Location: location`) with a short page, httpd's shape,
/// with the banner's `Server` header and signature footer and `extra` headers.
pub fn redirect(
    out: &mut Buffer,
    status: u16,
    location: &str,
    keep_alive: bool,
    banner: &Banner,
    extra: &[crate::http::Header],
) -> u64 {
    let reason = reason_phrase(status);
    let body = format!(
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>{status} {reason}</title>\n\
         </head><body>\n<h1>{reason}</h1>\n<p>The document has moved <a href=\"{}\">here</a>.</p>\n{}</body></html>\n",
        html_escape(location),
        banner.signature
    );
    local_page(
        out,
        status,
        Some(location),
        &body,
        keep_alive,
        banner,
        extra,
    )
}

/// The head of a page slotgate writes (Server, Location when given, `extra`,
/// Content-Type, Content-Length, Connection), then `body`; returns its size.
fn local_page(
    out: &mut Buffer,
    status: u16,
    location: Option<&str>,
    body: &str,
    keep_alive: bool,
    banner: &Banner,
    extra: &[crate::http::Header],
) -> u64 {
    let reason = reason_phrase(status);
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nServer: {}\r\n",
        banner.server
    )
    .into_bytes();
    if let Some(at) = location {
        head.extend_from_slice(format!("Location: {at}\r\n").as_bytes());
    }
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

/// The HTML of an error page (httpd's shape) with the banner's signature footer.
pub fn error_page(status: u16, detail: &str, banner: &Banner) -> String {
    let reason = reason_phrase(status);
    format!(
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>{status} {reason}</title>\n\
         </head><body>\n<h1>{reason}</h1>\n<p>{}</p>\n{}</body></html>\n",
        html_escape(detail),
        banner.signature
    )
}

/// Appends a handler's answer (`crate::handlers`): its status, type, extra
/// headers and body, with Content-Length; no body for HEAD. Returns the body size.
pub fn handler(
    out: &mut Buffer,
    r: &crate::handlers::Response,
    keep_alive: bool,
    head_request: bool,
    server: &str,
) -> u64 {
    let reason = reason_phrase(r.status);
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nServer: {server}\r\nContent-Type: {}\r\nContent-Length: {}\r\n",
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
        let banner = Banner {
            server: "slotgate/9".into(),
            signature: "<hr>\n<address>sig</address>\n".into(),
        };
        error(&mut b, 503, "member <x> down", false, &banner);
        let text = String::from_utf8(b.data().to_vec()).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 Service Unavailable\r\n"));
        assert!(head.contains("Connection: close"));
        assert!(head.contains(&format!("Content-Length: {}", body.len())));
        assert!(body.contains("member &lt;x&gt; down"));
        assert!(head.contains("\r\nServer: slotgate/9\r\n"));
        assert!(body.ends_with("<address>sig</address>\n</body></html>\n"));
    }

    #[test]
    fn handler_answers_carry_their_headers_and_length() {
        let mut b = Buffer::new();
        let mut r = crate::handlers::Response::text(200, "ok");
        r.headers.push(("Cache-Control".into(), "no-store".into()));
        assert_eq!(handler(&mut b, &r, true, false, "slotgate"), 3);
        let text = String::from_utf8(b.data().to_vec()).unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(text.contains("Cache-Control: no-store\r\n"));
        assert!(text.contains("Content-Length: 3\r\n"));
        assert!(!text.contains("Connection: close"));
        assert!(text.ends_with("\r\n\r\nok\n"));
        let mut b = Buffer::new();
        assert_eq!(handler(&mut b, &r, false, true, "slotgate"), 0);
        let text = String::from_utf8(b.data().to_vec()).unwrap();
        assert!(text.ends_with("Connection: close\r\n\r\n"));
    }
}
