//! The balancer-manager (to be filled).
