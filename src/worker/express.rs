//! Mass reverse proxy (mod_proxy_express) in a worker: this process's copy of
//! the maps (re-read when their file changes, see [`MapFile::refresh`]) and the
//! members it added for express backends, one per backend URL, so that their
//! connections are pooled like any member's.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use super::Ctx;
use crate::proxy::express::{host_key, target, MapFile};
use crate::proxy::{Route, RouteError, Routes};

pub(crate) struct Express {
    maps: Vec<MapFile>,
    /// Backend URL → index in `Ctx::routes.members`.
    members: HashMap<Box<str>, usize>,
    /// The lookup key of the current request (kept for its allocation).
    key: String,
}

impl Express {
    pub fn new(routes: &Routes) -> Express {
        Express {
            maps: routes.express_maps.clone(),
            members: HashMap::new(),
            key: String::new(),
        }
    }

    /// The once-a-second look at the map files (also done on the request path).
    pub fn refresh(&mut self, now: Instant) {
        for m in &mut self.maps {
            m.refresh(now);
        }
    }
}

impl Ctx {
    /// A request on `server` that no ProxyPass rule proxied (none matched, or a
    /// `!` rule did: httpd's mod_proxy_express runs in translate_name after
    /// mod_proxy declined): looked up in the server's express map by host name.
    /// Unknown host (or express off): `Route::Local`, the normal handling.
    /// `path` is the normalised path the ProxyPass rules saw, `query` the
    /// query string as received.
    pub fn express_route(
        &mut self,
        server: usize,
        host: Option<&[u8]>,
        path: &[u8],
        query: Option<&str>,
    ) -> Result<Route, RouteError> {
        let Some(map) = self.routes.servers[server].express else {
            return Ok(Route::Local);
        };
        let ex = &mut self.express;
        ex.maps[map].refresh(self.now);
        let name = &self.routes.servers[server].server_name;
        let key = host_key(host, name, &mut ex.key);
        let Some(url) = ex.maps[map].get(key) else {
            return Ok(Route::Local);
        };
        let member = match ex.members.get(url) {
            Some(&m) => m,
            None => {
                let url = url.to_string();
                let why = format!("mass reverse proxy: {key} maps to");
                self.added_member(&url, &why)?
            }
        };
        let target = target(&self.routes.members[member].url.path, path, query);
        Ok(Route::Proxy { member, target })
    }

    /// The member a worker added for backend `url` (mass reverse proxy, or a
    /// `RewriteRule [P]` to an URL no member covers), added now the first time:
    /// default settings, pooled, counted on the shared `express://*` slot.
    /// `why` starts the log lines ("… maps to").
    pub fn added_member(&mut self, url: &str, why: &str) -> Result<usize, RouteError> {
        if let Some(&m) = self.express.members.get(url) {
            return Ok(m);
        }
        let routes = Arc::make_mut(&mut self.routes);
        match routes.add_express_member(&self.config, url) {
            Ok(m) => {
                self.pool.add_member(routes.members[m].pool);
                log::info!("{why} {url}: using a new member for it");
                self.express.members.insert(url.into(), m);
                Ok(m)
            }
            Err(e) => {
                log::error!("{why} {url}: {e}");
                Err(RouteError { status: 502 })
            }
        }
    }
}
