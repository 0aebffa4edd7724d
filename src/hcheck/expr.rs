//! `ProxyHCExpr` expressions (the subset of httpd's ap_expr used for health
//! checks): being written (issue #8).

/// What a health-check expression is evaluated against.
#[derive(Clone, Copy, Debug)]
pub struct Probe<'a> {
    /// The response status.
    pub status: u16,
    /// The response's Content-Type, if any.
    pub content_type: Option<&'a str>,
    /// The response body (GET checks; empty otherwise).
    pub body: &'a [u8],
}

/// A parsed expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// Placeholder until the parser lands: true.
    True,
}

impl Expr {
    /// Evaluates against a probe's response; an evaluation error is `false`.
    pub fn eval(&self, _probe: &Probe<'_>) -> bool {
        match self {
            Expr::True => true,
        }
    }
}
