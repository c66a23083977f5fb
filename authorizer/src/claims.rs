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

/// Who the token speaks for. A machine token is what Cognito issues to an
/// app client for the client-credentials grant (`/oauth2/token`) or
/// `GetClientToken`: an access token with no `username` whose `sub` is the
/// app client's id.
/// <https://docs.aws.amazon.com/cognito/latest/developerguide/cognito-user-pools-define-resource-servers.html>,
/// <https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GetClientToken.html>
/// (same tokens as the grant, per
/// <https://docs.aws.amazon.com/cli/latest/reference/cognito-idp/get-client-token.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalType {
    User,
    Machine,
}

impl PrincipalType {
    pub const fn as_str(self) -> &'static str {
        match self {
            PrincipalType::User => "user",
            PrincipalType::Machine => "machine",
        }
    }
}

impl VerifiedClaims {
    /// [`PrincipalType::Machine`] exactly for an access token without
    /// `username` whose `sub` equals its `client_id`; everything else is a
    /// user (and so never reaches a machine-only rule).
    pub fn principal_type(&self) -> PrincipalType {
        if self.token_use == TokenUse::Access
            && self.username.is_empty()
            && self.sub == self.client_id
        {
            PrincipalType::Machine
        } else {
            PrincipalType::User
        }
    }
}
