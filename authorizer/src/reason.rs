//! Why a request was not allowed: one stable, machine-readable reason per
//! rejection, logged (never the token) and asserted by the tests.

use serde::Serialize;

/// Every reason a token or request is refused. The `snake_case` names are a
/// public contract: dashboards and alarms match on them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    // --- framing, before any crypto or I/O
    /// No token, or not a compact JWS of three non-empty strict base64url
    /// segments holding UTF-8 JSON objects without duplicate keys.
    Malformed,
    /// Longer than the size cap; decided before decoding anything.
    TooLarge,
    /// Five segments: a JWE, which is what a Cognito refresh token is.
    RefreshOrEncryptedToken,
    // --- header and key binding
    /// `alg` not on the allow-list (`none`, HS*, PS*, …), decided before any key lookup.
    AlgNotAllowed,
    /// `kid` missing, not a string, or too long.
    KidMissing,
    /// `crit` present: no extension is understood, so none may be required.
    CritUnsupported,
    /// A header parameter that is never honoured: `jku`, `x5u`, `x5c`, `jwk`
    /// (the token choosing its own key), `zip`, `enc`, `b64`.
    UnsupportedHeader,
    /// No usable key with this `kid` for the token's issuer, even after a refetch.
    KidUnknown,
    /// The JWK exists but does not fit the header (kty/alg/use/key_ops) or is too weak.
    KeyMismatch,
    /// The signature does not verify.
    BadSignature,
    /// The key set could not be obtained at all (fetch failed, nothing cached).
    JwksUnavailable,
    // --- claims
    /// A claim is missing or has the wrong JSON type.
    InvalidClaims,
    Expired,
    NotYetValid,
    IssuedInFuture,
    WrongIssuer,
    WrongClient,
    WrongTokenUse,
    // --- route rules
    /// The token is valid but lacks a scope the route requires.
    InsufficientScope,
    /// The token is valid but the user lacks a group the route requires.
    InsufficientGroup,
    /// `AUTH_RULES` is set and no rule matches the route.
    NoMatchingRule,
    /// Rules match the route, but none admits this kind of caller (a
    /// machine token on a user-only route, or the reverse).
    PrincipalNotAllowed,
}

impl Reason {
    /// The stable name, as logged.
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::Malformed => "malformed",
            Reason::TooLarge => "too_large",
            Reason::RefreshOrEncryptedToken => "refresh_or_encrypted_token",
            Reason::AlgNotAllowed => "alg_not_allowed",
            Reason::KidMissing => "kid_missing",
            Reason::CritUnsupported => "crit_unsupported",
            Reason::UnsupportedHeader => "unsupported_header",
            Reason::KidUnknown => "kid_unknown",
            Reason::KeyMismatch => "key_mismatch",
            Reason::BadSignature => "bad_signature",
            Reason::JwksUnavailable => "jwks_unavailable",
            Reason::InvalidClaims => "invalid_claims",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not_yet_valid",
            Reason::IssuedInFuture => "issued_in_future",
            Reason::WrongIssuer => "wrong_issuer",
            Reason::WrongClient => "wrong_client",
            Reason::WrongTokenUse => "wrong_token_use",
            Reason::InsufficientScope => "insufficient_scope",
            Reason::InsufficientGroup => "insufficient_group",
            Reason::NoMatchingRule => "no_matching_rule",
            Reason::PrincipalNotAllowed => "principal_not_allowed",
        }
    }

    /// Whether this is the verifier's fault rather than the caller's: API
    /// Gateway must answer 500, never 401 and never Allow.
    pub const fn is_internal(self) -> bool {
        matches!(self, Reason::JwksUnavailable)
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_name_equals_as_str() {
        for r in [
            Reason::Malformed,
            Reason::TooLarge,
            Reason::RefreshOrEncryptedToken,
            Reason::AlgNotAllowed,
            Reason::KidMissing,
            Reason::CritUnsupported,
            Reason::UnsupportedHeader,
            Reason::KidUnknown,
            Reason::KeyMismatch,
            Reason::BadSignature,
            Reason::JwksUnavailable,
            Reason::InvalidClaims,
            Reason::Expired,
            Reason::NotYetValid,
            Reason::IssuedInFuture,
            Reason::WrongIssuer,
            Reason::WrongClient,
            Reason::WrongTokenUse,
            Reason::InsufficientScope,
            Reason::InsufficientGroup,
            Reason::NoMatchingRule,
            Reason::PrincipalNotAllowed,
        ] {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
        }
    }
}
