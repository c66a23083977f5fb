//! The contract between the authorizer and the API behind it: what the
//! authorizer puts in `requestContext.authorizer`, and how the backend reads
//! it back. Both sides use this crate so the key names exist exactly once.
//!
//! API Gateway (REST) only carries string, number and boolean context values,
//! so multi-valued claims travel space-joined: Cognito scope and group names
//! cannot contain whitespace.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Key names of the authorizer context, as they appear in
/// `requestContext.authorizer` (REST) or `requestContext.authorizer.lambda`
/// (HTTP API v2).
pub mod keys {
    /// The user-pool `sub`: the stable, unique id of the user.
    pub const SUB: &str = "sub";
    /// `username` (access token) or `cognito:username` (ID token).
    pub const USERNAME: &str = "username";
    /// The app client the token was issued to.
    pub const CLIENT_ID: &str = "clientId";
    /// The verified `iss`: which user pool vouched for the caller.
    pub const ISSUER: &str = "issuer";
    /// `access` or `id`.
    pub const TOKEN_USE: &str = "tokenUse";

    // --- principalType (issue 9) -------------------------------------
    /// `user` (a person signed in to the pool) or `machine` (an app client
    /// with a client-credentials token: no `username`, `sub` = client id).
    pub const PRINCIPAL_TYPE: &str = "principalType";
    // -------------------------------------------------------------------
    /// OAuth scopes, space-joined.
    pub const SCOPE: &str = "scope";
    /// `cognito:groups`, space-joined.
    pub const GROUPS: &str = "groups";
    /// `auth_time`, seconds since the epoch.
    pub const AUTH_TIME: &str = "authTime";
    /// `origin_jti`: ties every token of one sign-in together (revocation).
    pub const ORIGIN_JTI: &str = "originJti";
    /// Set by API Gateway itself from the authorizer's `principalId`.
    pub const PRINCIPAL_ID: &str = "principalId";

    // --- token revocation (issue 11)
    /// The token's `exp`, decimal seconds since the epoch (string): how long
    /// a sign-out of this session must be remembered.
    pub const EXPIRES_AT: &str = "expiresAt";
}

/// The verified caller, as the authorizer hands it to the backend.
///
/// Serialises to a flat object of strings and numbers only, which is what a
/// REST API Lambda authorizer may return as `context`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AuthorizerContext {
    #[serde(rename = "sub")]
    pub sub: String,
    #[serde(rename = "username")]
    pub username: String,
    #[serde(rename = "clientId")]
    pub client_id: String,
    #[serde(rename = "issuer")]
    pub issuer: String,
    #[serde(rename = "tokenUse")]
    pub token_use: String,
    // --- principalType (issue 9)
    /// `user` or `machine`; see [`AuthorizerContext::is_user`]. The
    /// authorizer always sets it; empty (a context from an older
    /// authorizer) is not serialised, so such contexts round-trip as they are.
    #[serde(rename = "principalType", skip_serializing_if = "String::is_empty")]
    pub principal_type: String,
    /// Space-joined scopes; empty when the token has none.
    #[serde(rename = "scope")]
    pub scope: String,
    /// Space-joined group names; empty when the user is in no group.
    #[serde(rename = "groups")]
    pub groups: String,
    #[serde(rename = "authTime")]
    pub auth_time: i64,
    /// Empty when the token has no `origin_jti`.
    #[serde(rename = "originJti")]
    pub origin_jti: String,
    // --- token revocation (issue 11)
    /// The token's `exp` (seconds since the epoch); 0 when absent. Travels
    /// as a decimal string (auth-context contract).
    #[serde(rename = "expiresAt", with = "decimal_string", default)]
    pub expires_at: i64,
}

/// `expiresAt` is a decimal string in the context; read either form.
mod decimal_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        Ok(super::seconds(&serde_json::Value::deserialize(d)?))
    }
}

/// Seconds from a context value (number or decimal string); 0 otherwise.
fn seconds(v: &Value) -> i64 {
    match v {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    }
}

/// Why a backend could not read a caller from the request context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextError {
    /// No non-empty `sub`: the route is not behind the authorizer, or the
    /// integration is misconfigured. Never fall back to a default user.
    MissingSub,
}

impl std::fmt::Display for ContextError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ContextError::MissingSub => f.write_str(
                "no `sub` in requestContext.authorizer: is the route behind the authorizer?",
            ),
        }
    }
}

impl std::error::Error for ContextError {}

// --- principalType (issue 9) -----------------------------------------------

/// [`keys::PRINCIPAL_TYPE`] values.
pub mod principal_type {
    pub const USER: &str = "user";
    pub const MACHINE: &str = "machine";
}

impl AuthorizerContext {
    /// Whether the caller is a person, so per-user routes may serve it.
    /// Fails closed: `user` says so; any other value is not a user; a
    /// context without the key (an older authorizer) is a user unless it
    /// looks like a machine token (no `username`, `sub` equal to the client
    /// id), the same rule the authorizer applies.
    pub fn is_user(&self) -> bool {
        match self.principal_type.as_str() {
            principal_type::USER => true,
            "" => !(self.username.is_empty() && self.sub == self.client_id),
            _ => false,
        }
    }
}

// ----------------------------------------------------------------------------

impl AuthorizerContext {
    /// The scopes, one per element.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.split_ascii_whitespace()
    }

    /// The group names, one per element.
    pub fn groups(&self) -> impl Iterator<Item = &str> {
        self.groups.split_ascii_whitespace()
    }

    /// Whether the caller is in `group` (byte-exact, case-sensitive like Cognito).
    pub fn in_group(&self, group: &str) -> bool {
        self.groups().any(|g| g == group)
    }

    /// Reads the context back from the flat map API Gateway delivers
    /// (`ApiGatewayRequestAuthorizer::fields` in `aws_lambda_events`).
    ///
    /// API Gateway may deliver values as strings even when the authorizer
    /// returned numbers, so every field accepts either. Only `sub` is
    /// required; it is what every ownership decision hangs on.
    pub fn from_fields(fields: &HashMap<String, Value>) -> Result<Self, ContextError> {
        let text = |key: &str| -> String {
            match fields.get(key) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::Bool(b)) => b.to_string(),
                _ => String::new(),
            }
        };
        let sub = text(keys::SUB);
        if sub.trim().is_empty() {
            return Err(ContextError::MissingSub);
        }
        let auth_time = match fields.get(keys::AUTH_TIME) {
            Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
            Some(Value::String(s)) => s.parse().unwrap_or(0),
            _ => 0,
        };
        Ok(Self {
            sub,
            username: text(keys::USERNAME),
            client_id: text(keys::CLIENT_ID),
            issuer: text(keys::ISSUER),
            token_use: text(keys::TOKEN_USE),
            principal_type: text(keys::PRINCIPAL_TYPE),
            scope: text(keys::SCOPE),
            groups: text(keys::GROUPS),
            auth_time,
            origin_jti: text(keys::ORIGIN_JTI),
            expires_at: fields.get(keys::EXPIRES_AT).map_or(0, seconds),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> AuthorizerContext {
        AuthorizerContext {
            sub: "2f1c…".into(),
            username: "alice".into(),
            client_id: "client1".into(),
            issuer: "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc".into(),
            token_use: "access".into(),
            principal_type: "user".into(),
            scope: "notes/read notes/write".into(),
            groups: "admin users".into(),
            auth_time: 1_700_000_000,
            origin_jti: "o-1".into(),
            expires_at: 1_700_003_600,
        }
    }

    #[test]
    fn serialises_to_the_documented_keys_with_scalar_values_only() {
        let v = serde_json::to_value(sample()).unwrap();
        let obj = v.as_object().unwrap();
        let mut names: Vec<&str> = obj.keys().map(String::as_str).collect();
        names.sort_unstable();
        let mut expected = vec![
            keys::SUB,
            keys::USERNAME,
            keys::CLIENT_ID,
            keys::ISSUER,
            keys::TOKEN_USE,
            keys::PRINCIPAL_TYPE,
            keys::SCOPE,
            keys::GROUPS,
            keys::AUTH_TIME,
            keys::ORIGIN_JTI,
            keys::EXPIRES_AT,
        ];
        expected.sort_unstable();
        assert_eq!(names, expected);
        assert!(
            obj.values()
                .all(|v| v.is_string() || v.is_number() || v.is_boolean())
        );
    }

    #[test]
    fn reads_back_what_it_wrote_even_when_numbers_arrive_as_strings() {
        let ctx = sample();
        let mut fields: HashMap<String, Value> =
            serde_json::from_value(serde_json::to_value(&ctx).unwrap()).unwrap();
        assert_eq!(AuthorizerContext::from_fields(&fields).unwrap(), ctx);
        fields.insert(keys::AUTH_TIME.into(), Value::String("1700000000".into()));
        fields.insert(keys::PRINCIPAL_ID.into(), Value::String("2f1c…".into()));
        assert_eq!(AuthorizerContext::from_fields(&fields).unwrap(), ctx);
    }

    #[test]
    fn missing_or_blank_sub_is_an_error_never_a_default_user() {
        let mut fields = HashMap::new();
        assert_eq!(
            AuthorizerContext::from_fields(&fields),
            Err(ContextError::MissingSub)
        );
        fields.insert(keys::SUB.to_string(), Value::String("  ".into()));
        assert_eq!(
            AuthorizerContext::from_fields(&fields),
            Err(ContextError::MissingSub)
        );
        fields.insert(keys::SUB.to_string(), Value::Null);
        assert_eq!(
            AuthorizerContext::from_fields(&fields),
            Err(ContextError::MissingSub)
        );
    }

    #[test]
    fn splits_groups_and_scopes_exactly() {
        let ctx = sample();
        assert_eq!(
            ctx.scopes().collect::<Vec<_>>(),
            ["notes/read", "notes/write"]
        );
        assert!(ctx.in_group("admin"));
        assert!(!ctx.in_group("Admin"));
        assert!(!ctx.in_group("adm"));
    }

    // --- principalType (issue 9)
    #[test]
    fn principal_type_fails_closed() {
        let user = sample();
        assert!(user.is_user());
        let machine = AuthorizerContext {
            principal_type: principal_type::MACHINE.into(),
            ..sample()
        };
        assert!(!machine.is_user());
        for odd in ["User", "USER", "robot", " user"] {
            let c = AuthorizerContext {
                principal_type: odd.into(),
                ..sample()
            };
            assert!(!c.is_user(), "{odd}");
        }
        // An older authorizer without the key: decided from the claims.
        let legacy_user = AuthorizerContext {
            principal_type: String::new(),
            ..sample()
        };
        assert!(legacy_user.is_user());
        let legacy_machine = AuthorizerContext {
            principal_type: String::new(),
            username: String::new(),
            sub: "client1".into(),
            ..sample()
        };
        assert!(!legacy_machine.is_user());
        let mut fields: HashMap<String, Value> =
            serde_json::from_value(serde_json::to_value(&machine).unwrap()).unwrap();
        assert_eq!(fields[keys::PRINCIPAL_TYPE], "machine");
        fields.remove(keys::PRINCIPAL_TYPE);
        assert_eq!(
            AuthorizerContext::from_fields(&fields)
                .unwrap()
                .principal_type,
            ""
        );
    }
}

// --- token revocation (issue 11)
#[cfg(test)]
mod revocation_tests {
    use super::*;

    #[test]
    fn expires_at_travels_as_a_decimal_string_and_reads_back_from_either_form() {
        let ctx = AuthorizerContext {
            sub: "s".into(),
            expires_at: 1_800_000_123,
            ..Default::default()
        };
        let v = serde_json::to_value(&ctx).unwrap();
        assert_eq!(v[keys::EXPIRES_AT], Value::String("1800000123".into()));
        let mut fields: HashMap<String, Value> = serde_json::from_value(v).unwrap();
        assert_eq!(
            AuthorizerContext::from_fields(&fields).unwrap().expires_at,
            1_800_000_123
        );
        fields.insert(keys::EXPIRES_AT.into(), Value::from(1_800_000_124_i64));
        assert_eq!(
            AuthorizerContext::from_fields(&fields).unwrap().expires_at,
            1_800_000_124
        );
        for bad in [Value::Null, Value::String("soon".into()), Value::Bool(true)] {
            fields.insert(keys::EXPIRES_AT.into(), bad);
            assert_eq!(
                AuthorizerContext::from_fields(&fields).unwrap().expires_at,
                0
            );
        }
        fields.remove(keys::EXPIRES_AT);
        assert_eq!(
            AuthorizerContext::from_fields(&fields).unwrap().expires_at,
            0
        );
    }
}
