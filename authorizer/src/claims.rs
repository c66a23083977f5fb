//! What a verified token tells us about the caller.

use serde::{Deserialize, Serialize};

/// Cognito's `token_use` claim. Refresh tokens are opaque JWEs and never
/// reach this type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum TokenUse {
    /// Access token: the only kind an API should accept by default.
    #[default]
    Access,
    /// ID token: identity for the client application, not an API credential.
    Id,
}

impl TokenUse {
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenUse::Access => "access",
            TokenUse::Id => "id",
        }
    }
}

/// Claims of a token whose framing, algorithm, signature, issuer, client,
/// `token_use` and times have all been checked. Only the verifier builds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedClaims {
    pub sub: String,
    /// `username` (access) or `cognito:username` (ID); empty if absent.
    pub username: String,
    /// `client_id` (access) or `aud` (ID).
    pub client_id: String,
    pub issuer: String,
    pub token_use: TokenUse,
    /// `scope`, split on spaces; empty for ID tokens.
    pub scopes: Vec<String>,
    /// `cognito:groups`; empty when absent.
    pub groups: Vec<String>,
    /// `auth_time`; 0 when absent.
    pub auth_time: i64,
    pub origin_jti: Option<String>,
    pub exp: i64,
    pub iat: i64,
}
