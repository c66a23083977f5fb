//! Reading a token's claims for display and expiry only. Nothing here
//! trusts a claim for access: the API's authorizer verifies the signature.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// The payload of a JWT, or `None` when it is not one.
pub fn payload(token: &str) -> Option<serde_json::Map<String, Value>> {
    let mut parts = token.split('.');
    let (_, p, _) = (parts.next()?, parts.next()?, parts.next()?);
    let bytes = URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// `exp` of a JWT, Unix seconds.
pub fn exp(token: &str) -> Option<i64> {
    payload(token)?.get("exp")?.as_i64()
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The claims `whoami` shows, as `name: value` lines (never the token).
pub fn summary(access_token: &str) -> Vec<(String, String)> {
    let Some(c) = payload(access_token) else {
        return vec![("token".into(), "not a JWT".into())];
    };
    let s = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_owned);
    let mut out = Vec::new();
    for (label, key) in [
        ("sub", "sub"),
        ("username", "username"),
        ("client_id", "client_id"),
        ("issuer", "iss"),
        ("scopes", "scope"),
    ] {
        if let Some(v) = s(key) {
            out.push((label.to_owned(), v));
        }
    }
    let groups = c
        .get("cognito:groups")
        .and_then(Value::as_array)
        .map(|g| {
            g.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    out.push((
        "groups".into(),
        if groups.is_empty() {
            "(none)".into()
        } else {
            groups
        },
    ));
    if let Some(exp) = c.get("exp").and_then(Value::as_i64) {
        let left = exp - now();
        out.push((
            "expires".into(),
            if left > 0 {
                format!("in {}m{:02}s (exp {exp})", left / 60, left % 60)
            } else {
                format!("expired {}s ago (exp {exp})", -left)
            },
        ));
    }
    out
}
