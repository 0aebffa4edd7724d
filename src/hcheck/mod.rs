//! Active health checks (mod_proxy_hcheck, reference §5; issue #8): the
//! health-checker child process that probes members and sets or clears their
//! `C` flag (`checker`). The `ProxyHCExpr` expressions it evaluates are parsed
//! by the configuration, so they live in the leaf module `crate::expr`.

pub mod checker;
