//! What comes back from the member: interim answers and the response head
//! (through ProxyPassReverse, `Header` rules, failonstatus and byload to the
//! client's buffer), and after a 101 the tunnel.

use super::super::buffer::Buffer;
use super::super::conn::BODY_BUFFER;
use super::super::fault::{Detour, Fault, MemberFault};
use super::super::{unix_ms, Ctx};
use super::member::{member_broke, Phase, ResponseState};
use super::{place, via_port, Exchange};
use crate::balancer::byload;
use crate::codec::{Event, MemberCodec};
use crate::http::Framing;
use crate::proxy::forward::{self, ResponseContext};
use crate::proxy::reverse;

impl Exchange {
    /// In `Sending`: decodes interim answers and the response head as they
    /// come; the head (after ProxyPassReverse, Header rules, failonstatus,
    /// byload) goes to the client's buffer and the exchange moves to `Body`
    /// (or `Tunnel` after a 101). Returns whether anything moved.
    pub(super) fn response_head(
        &mut self,
        ctx: &Ctx,
        m: usize,
        output: &mut Buffer,
    ) -> Result<bool, Detour> {
        let name = &ctx.routes.members[m].url.name;
        let balancer = self.balancer();
        let mut progress = false;
        let Phase::Sending(conn) = &mut self.phase else {
            return Ok(false);
        };
        let mut final_head = None;
        while !conn.input.is_empty() {
            let queued = conn.output.len();
            let decoded = conn
                .codec
                .decode(conn.input.data(), &mut conn.output)
                .map_err(|e| member_broke(name, &e))?;
            conn.input.consume(decoded.used);
            progress |= decoded.used > 0 || conn.output.len() != queued;
            let head = match decoded.event {
                Event::Pending => break,
                Event::Interim(head) => {
                    // An interim answer reaches the client once, and never an
                    // HTTP/1.0 one; `proxy-interim-response` other than RFC
                    // (Suppress) keeps them all.
                    if self.head.minor == 1
                        && !(head.status == 100 && self.continue_sent)
                        && interim_allowed(&self.env, name)
                    {
                        self.continue_sent |= head.status == 100;
                        crate::recycle::with_bytes(|out| {
                            forward::interim_head(out, &head);
                            output.extend(out);
                        });
                    }
                    continue;
                }
                Event::Head(head) => head,
                Event::Body(_) | Event::End { .. } => {
                    return Err(Fault::Member(
                        MemberFault::BadResponse,
                        format!("member {name}: a response body before its head"),
                    )
                    .into())
                }
            };
            final_head = Some(head);
            break;
        }
        let Some(head) = final_head else {
            if conn.eof
                && conn.reused
                && self.received == 0
                && !self.body_consumed
                && !self.replayed
            {
                return Err(Detour::Replay);
            }
            if conn.eof {
                let why = match &conn.error {
                    Some(e) => format!("reading the response head from member {name}: {e}"),
                    None => match conn.codec.eof() {
                        Err(e) => format!("member {name}: {e}"),
                        Ok(_) => format!("member {name} closed the connection without a response"),
                    },
                };
                return Err(Fault::Member(MemberFault::BadResponse, why).into());
            }
            return Ok(progress);
        };
        {
            if head.status == 101 {
                // The codec checked that the member agreed to the protocol asked.
                let proto = self.client_upgrade.as_deref().unwrap_or_default();
                let mut out = Vec::with_capacity(256);
                forward::switching_head(&mut out, &head, proto);
                output.extend(&out);
                let queued = out.len();
                self.status = 101;
                self.keep_alive = false;
                let response = ResponseState {
                    chunked_out: false,
                    finished: false,
                    reusable: false,
                    head,
                    queued,
                };
                if let Phase::Sending(conn) = std::mem::replace(&mut self.phase, Phase::Done(None))
                {
                    self.phase = Phase::Tunnel {
                        conn,
                        response,
                        member_write_shut: false,
                    };
                }
                return Ok(true);
            }
            if !self.req_body.is_done() {
                // The request body must be complete for the client connection to stay usable.
                self.keep_alive = false;
            }
            let framing = match head.framing {
                Framing::None => Framing::None,
                Framing::Length(n) => Framing::Length(n),
                Framing::Chunked | Framing::Close if self.head.minor == 1 => Framing::Chunked,
                Framing::Chunked | Framing::Close => {
                    self.keep_alive = false;
                    Framing::Close
                }
            };
            if let (Some(b), Some(i)) = (balancer, self.in_balancer) {
                let balancer = &ctx.routes.balancers[b];
                if balancer.fails_on_status(head.status) {
                    self.error_counted = true;
                    if balancer.mark_error(&ctx.scoreboard, i, unix_ms()) {
                        log::error!(
                            "member {name} of {} is now in error state: status {} (failonstatus)",
                            balancer.spec.name,
                            head.status
                        );
                    }
                }
            }
            // lbmethod=byload: the member's self-reported load (parsed in place).
            if let (Some(load), Some(m)) = (head.header(byload::HEADER), self.member) {
                let slot = ctx.scoreboard.member(ctx.routes.members[m].slot);
                byload::record(slot, Some(load), unix_ms());
            }
            let server = &ctx.routes.servers[self.server];
            // The client's host, for rewriting Location-like headers (rare: built on use);
            // with UseCanonicalName On the server's own name, as httpd's ap_construct_url.
            let canonical = server.presentation.use_canonical_name;
            let map = |v: &str| {
                let host = match canonical {
                    true => None,
                    false => self.head.header("host"),
                };
                let host = host
                    .map(|h| String::from_utf8_lossy(h).into_owned())
                    .unwrap_or_else(|| match canonical {
                        true => server.canonical_name.clone(),
                        false => format!("{}:{}", server.server_name, self.local.port()),
                    });
                reverse::map(&server.reverse, v, &host)
            };
            let cookie =
                |v: &str| reverse::map_cookie(&server.cookie_path, &server.cookie_domain, v);
            let mut rctx = ResponseContext {
                client_minor: self.head.minor,
                server_name: &server.server_name,
                front_port: via_port(&self.head),
                via: server.via,
                framing,
                keep_alive: self.keep_alive,
                reverse: &map,
                cookie: &cookie,
                server: &ctx.config.presentation.server_header,
            };
            let mut head = head;
            let rules = &server.neighbour_rules;
            let unmapped = |_: &str| None;
            if rules.edits_responses() {
                // httpd's Header sees the values ProxyPassReverse mapped.
                forward::map_in_place(&mut head.headers, &rctx);
                rctx.reverse = &unmapped;
                rctx.cookie = &unmapped;
                // A copy: the rules may change the header it comes from.
                let content_type = head
                    .header("content-type")
                    .and_then(|t| std::str::from_utf8(t).ok())
                    .map(crate::recycle::string_from);
                let facts = crate::rules::headers::ExprFacts {
                    head: &self.head,
                    peer: self.peer.ip(),
                    tls: self.tls,
                    status: head.status,
                    content_type: content_type.as_deref(),
                    env: &self.env,
                };
                let workers = || crate::handlers::snapshot::worker_shares(&ctx.scoreboard);
                let rule_ctx = crate::rules::headers::RuleContext {
                    env: &self.env,
                    started_us: self.started_us,
                    now_us: crate::rules::unix_us(),
                    request: &self.head.headers,
                    facts: Some(&facts),
                    workers: Some(&workers),
                };
                let mut buf = crate::recycle::bytes();
                let at = place(ctx, &self.route, &self.head.target, &mut buf);
                rules.edit_response(at, &mut head.headers, &rule_ctx, &mut self.notes);
                crate::recycle::give_bytes(buf);
                if let Some(t) = content_type {
                    crate::recycle::give_string(t);
                }
            }
            let before = output.len();
            crate::recycle::with_bytes(|out| {
                forward::response_head(out, &head, &rctx);
                output.extend(out);
            });
            self.status = head.status;
            let response = ResponseState {
                chunked_out: framing == Framing::Chunked,
                finished: false,
                reusable: false,
                head,
                queued: output.len() - before,
            };
            if let Phase::Sending(conn) = std::mem::replace(&mut self.phase, Phase::Done(None)) {
                self.phase = Phase::Body(conn, response);
            }
        }
        Ok(true)
    }

    /// After a 101: copies bytes both ways and passes each side's close on to the
    /// other (half-close), until the member has closed and its bytes are delivered.
    pub(super) fn pump_tunnel(
        &mut self,
        input: &mut Buffer,
        output: &mut Buffer,
        client_eof: bool,
    ) -> Result<bool, Detour> {
        let Phase::Tunnel {
            conn,
            response,
            member_write_shut,
        } = &mut self.phase
        else {
            return Ok(false);
        };
        let mut progress = false;
        if !input.is_empty() && conn.output.len() < BODY_BUFFER {
            let n = input.len().min(BODY_BUFFER - conn.output.len());
            conn.output.extend(&input.data()[..n]);
            input.consume(n);
            progress = true;
        }
        progress |= conn.send(&mut self.sent).map_err(|e| {
            Fault::Member(MemberFault::BadResponse, format!("tunnel to member: {e}"))
        })?;
        if client_eof && input.is_empty() && conn.output.is_empty() && !*member_write_shut {
            let _ = conn.stream.shutdown(std::net::Shutdown::Write);
            *member_write_shut = true;
            progress = true;
        }
        progress |= conn.receive(&mut self.received);
        if let Some(e) = conn.error.take() {
            return Err(Fault::Member(
                MemberFault::BadResponse,
                format!("tunnel from member: {e}"),
            )
            .into());
        }
        if !conn.input.is_empty() && output.len() < BODY_BUFFER {
            let n = conn.input.len().min(BODY_BUFFER - output.len());
            output.extend(&conn.input.data()[..n]);
            conn.input.consume(n);
            self.body_bytes += n as u64;
            progress = true;
        }
        // Each direction stays open until its sender closes it (httpd without
        // proxy-nohalfclose): the tunnel ends when both have.
        let member_done = conn.eof && conn.input.is_empty();
        let client_done = client_eof && input.is_empty() && *member_write_shut;
        if member_done && client_done && !response.finished {
            response.finished = true;
            progress = true;
        }
        Ok(progress)
    }

    /// In a tunnel: the member closed its side and everything it sent has been
    /// handed to the client's buffer, so the client's side may be shut for writing.
    pub fn tunnel_member_closed(&self) -> bool {
        match &self.phase {
            Phase::Tunnel { conn, .. } => conn.eof && conn.input.is_empty(),
            _ => false,
        }
    }
}

/// Whether an interim answer may go to the client: `proxy-interim-response`
/// unset or `RFC` (without case); `Suppress` keeps it, and so does any other
/// value, logged as httpd logs it.
fn interim_allowed(env: &crate::rules::env::Env, member: &str) -> bool {
    match env.get("proxy-interim-response") {
        None => true,
        Some(p) if p.eq_ignore_ascii_case("RFC") => true,
        Some(p) if p.eq_ignore_ascii_case("Suppress") => false,
        Some(p) => {
            log::warn!(
                "member {member}: undefined proxy-interim-response policy '{p}' \
                 (RFC or Suppress): the interim answer is not passed on"
            );
            false
        }
    }
}
