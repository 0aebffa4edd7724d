//! Active health checks (mod_proxy_hcheck, reference §5; issue #8): the
//! expressions of `ProxyHCExpr` (`expr`) and the health-checker child process
//! that probes members and sets or clears their `C` flag (`checker`).

pub mod checker;
pub mod expr;
