//! Sign-out that the API honours (opt-in: `TOKEN_REVOCATION=true`).
//!
//! Cognito's `RevokeToken`/`GlobalSignOut` stop refreshes, but an access
//! token already issued still passes every local JWT check until it
//! expires (developer guide, "Revoking tokens":
//! <https://docs.aws.amazon.com/cognito/latest/developerguide/token-revocation.html>).
//! So `POST /signout` records the session's `origin_jti` — shared by every
//! token refreshed from the same sign-in — and every request whose
//! `origin_jti` is recorded is refused with 401 `token_revoked`.
//!
//! | item    | `PK`                    | `SK`      | attributes                              |
//! |---------|-------------------------|-----------|-----------------------------------------|
//! | revoked | `REVOKED#<origin_jti>`  | `REVOKED` | `expiresAt` (epoch s, the table's TTL)  |
//!
//! The item lives until the token's own expiry: after that the authorizer
//! refuses the token anyway, and DynamoDB's TTL deletes the item.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use auth_context::AuthorizerContext;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::AttributeValue;

use crate::api::{Reply, StoreOr};
use crate::config::ConfigError;
use crate::error::ApiError;
use crate::store::StoreError;
use crate::store::dynamo::TTL_ATTRIBUTE;

const PK_PREFIX: &str = "REVOKED#";
const SK: &str = "REVOKED";
/// When the context has no `expiresAt` (older authorizer): remember the
/// sign-out for the longest an access token can live (one day).
const FALLBACK_TTL_SECONDS: i64 = 24 * 3600;
/// `origin_jti` is a UUID at Cognito; anything far longer is not one.
const MAX_JTI_LEN: usize = 128;

/// Where revoked sessions are recorded.
pub enum Revocations {
    /// `TOKEN_REVOCATION` off: `POST /signout` does not exist (404).
    Off,
    Dynamo {
        client: Client,
        table: String,
    },
    /// Unit tests and benches.
    Memory(Mutex<HashMap<String, i64>>),
}

/// `TOKEN_REVOCATION`: `true` or `false` (default `false`).
pub fn enabled_from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<bool, ConfigError> {
    match get("TOKEN_REVOCATION").as_deref() {
        None | Some("" | "false") => Ok(false),
        Some("true") => Ok(true),
        Some(v) => Err(ConfigError::Invalid {
            name: "TOKEN_REVOCATION",
            value: v.to_owned(),
            expected: "true or false",
        }),
    }
}

fn unix(now: SystemTime) -> i64 {
    now.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn dynamo_err<E: std::error::Error + ProvideErrorMetadata>(op: &str, e: &E) -> StoreError {
    let detail = format!("{op}: {}", DisplayErrorContext(e));
    match e.code() {
        Some(
            "ProvisionedThroughputExceededException"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "InternalServerError"
            | "ServiceUnavailable",
        ) => StoreError::Unavailable(detail),
        _ => StoreError::Other(detail),
    }
}

fn key(jti: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        (
            "PK".to_owned(),
            AttributeValue::S(format!("{PK_PREFIX}{jti}")),
        ),
        ("SK".to_owned(), AttributeValue::S(SK.to_owned())),
    ])
}

impl Revocations {
    pub fn is_on(&self) -> bool {
        !matches!(self, Self::Off)
    }

    /// Whether the caller's session was signed out. A token without
    /// `origin_jti` cannot be signed out this way and is not refused.
    pub async fn is_revoked(
        &self,
        caller: &AuthorizerContext,
        now: SystemTime,
    ) -> Result<bool, StoreError> {
        let jti = caller.origin_jti.as_str();
        if jti.is_empty() || jti.len() > MAX_JTI_LEN {
            return Ok(false);
        }
        match self {
            Self::Off => Ok(false),
            Self::Memory(m) => Ok(m
                .lock()
                .map_err(|_| StoreError::Other("revocations lock".into()))?
                .get(jti)
                .is_some_and(|&exp| exp > unix(now))),
            Self::Dynamo { client, table } => {
                // Strongly consistent: a sign-out is refused on the very
                // next request, not after replication.
                let out = client
                    .get_item()
                    .table_name(table)
                    .set_key(Some(key(jti)))
                    .consistent_read(true)
                    .projection_expression("#e")
                    .expression_attribute_names("#e", TTL_ATTRIBUTE)
                    .send()
                    .await
                    .map_err(|e| dynamo_err("GetItem", &e))?;
                // TTL deletion lags (up to days): an expired item is ignored.
                Ok(out
                    .item()
                    .and_then(|i| i.get(TTL_ATTRIBUTE))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse::<i64>().ok())
                    .is_some_and(|exp| exp > unix(now)))
            }
        }
    }

    /// Records the caller's session as signed out until its token expires.
    pub async fn revoke(
        &self,
        caller: &AuthorizerContext,
        now: SystemTime,
    ) -> Result<(), StoreError> {
        let jti = caller.origin_jti.as_str();
        let exp = if caller.expires_at > 0 {
            caller.expires_at
        } else {
            unix(now) + FALLBACK_TTL_SECONDS
        };
        match self {
            Self::Off => Ok(()),
            Self::Memory(m) => {
                m.lock()
                    .map_err(|_| StoreError::Other("revocations lock".into()))?
                    .insert(jti.to_owned(), exp);
                Ok(())
            }
            Self::Dynamo { client, table } => {
                let mut item = key(jti);
                item.insert(TTL_ATTRIBUTE.to_owned(), AttributeValue::N(exp.to_string()));
                client
                    .put_item()
                    .table_name(table)
                    .set_item(Some(item))
                    .send()
                    .await
                    .map_err(|e| dynamo_err("PutItem", &e))?;
                Ok(())
            }
        }
    }
}

/// The 401 for a signed-out session.
pub fn revoked() -> ApiError {
    ApiError::new(
        401,
        "token_revoked",
        "this session was signed out; sign in again",
    )
}

/// `POST /signout` for an authenticated caller.
pub async fn signout(
    revocations: &Revocations,
    caller: &AuthorizerContext,
    now: SystemTime,
) -> Result<Reply, StoreOr> {
    if !revocations.is_on() {
        return Err(ApiError::new(404, "route_not_found", "no such route").into());
    }
    if caller.origin_jti.is_empty() || caller.origin_jti.len() > MAX_JTI_LEN {
        return Err(ApiError::new(
            400,
            "not_revocable",
            "this token carries no origin_jti (token revocation off for its app client, or a machine token)",
        )
        .into());
    }
    revocations.revoke(caller, now).await?;
    Ok(Reply {
        status: 204,
        headers: Vec::new(),
        body: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(jti: &str, exp: i64) -> AuthorizerContext {
        AuthorizerContext {
            sub: "s".into(),
            origin_jti: jti.into(),
            expires_at: exp,
            ..Default::default()
        }
    }

    #[test]
    fn the_setting_is_strict() {
        let get = |v: &'static str| move |_: &str| Some(v.to_owned());
        assert_eq!(enabled_from_lookup(|_| None), Ok(false));
        assert_eq!(enabled_from_lookup(get("true")), Ok(true));
        assert_eq!(enabled_from_lookup(get("false")), Ok(false));
        for bad in ["TRUE", "1", "yes", "on"] {
            let e = enabled_from_lookup(get(bad)).unwrap_err();
            assert!(e.to_string().contains("TOKEN_REVOCATION"), "{e}");
        }
    }

    #[tokio::test]
    async fn a_recorded_session_is_refused_until_its_token_expires() {
        let r = Revocations::Memory(Mutex::default());
        let now = UNIX_EPOCH + std::time::Duration::from_secs(1_000);
        let a = caller("jti-a", 2_000);
        assert!(!r.is_revoked(&a, now).await.unwrap());
        let Ok(reply) = signout(&r, &a, now).await else {
            panic!("signout failed");
        };
        assert_eq!(reply.status, 204);
        assert!(r.is_revoked(&a, now).await.unwrap());
        // Another session of the same user is untouched.
        assert!(!r.is_revoked(&caller("jti-b", 2_000), now).await.unwrap());
        // A refreshed token of the same session (same origin_jti) is refused.
        assert!(r.is_revoked(&caller("jti-a", 2_500), now).await.unwrap());
        let later = UNIX_EPOCH + std::time::Duration::from_secs(2_001);
        assert!(!r.is_revoked(&a, later).await.unwrap());
    }

    #[tokio::test]
    async fn off_means_no_route_and_no_check() {
        let r = Revocations::Off;
        let a = caller("jti-a", 2_000);
        let Err(StoreOr::Api(e)) = signout(&r, &a, SystemTime::now()).await else {
            panic!("expected an API error");
        };
        assert_eq!(e.status, 404);
        assert!(!r.is_revoked(&a, SystemTime::now()).await.unwrap());
    }

    #[tokio::test]
    async fn a_token_without_origin_jti_cannot_sign_out() {
        let r = Revocations::Memory(Mutex::default());
        let Err(StoreOr::Api(e)) = signout(&r, &caller("", 2_000), SystemTime::now()).await else {
            panic!("expected an API error");
        };
        assert_eq!((e.status, e.code), (400, "not_revocable"));
    }

    /// Through the real handler: the route, the 204, and the 401 after it.
    #[tokio::test]
    async fn signout_through_the_handler_refuses_the_session_afterwards() {
        use aws_lambda_events::apigw::ApiGatewayProxyRequest;
        let fixture = |name: &str| -> ApiGatewayProxyRequest {
            let text = match name {
                "get-notes" => include_str!("../../events/api/get-notes.json"),
                _ => include_str!("../../events/api/get-me.json"),
            };
            serde_json::from_str(text).unwrap()
        };
        let config =
            crate::Config::from_lookup(|k| (k == "TABLE_NAME").then(|| "notes".into())).unwrap();
        let mut signout_req = fixture("get-me");
        signout_req.http_method = http::Method::POST;
        signout_req.path = Some("/signout".into());
        signout_req.resource = Some("/signout".into());
        // The fixture's token expired long ago: a sign-out of it would be
        // remembered for no time at all. A live token's exp instead.
        let exp = unix(SystemTime::now()) + 3600;
        signout_req.request_context.authorizer.fields.insert(
            "expiresAt".into(),
            serde_json::Value::String(exp.to_string()),
        );
        let list = fixture("get-notes");
        let now = SystemTime::now();

        let off = crate::App::new(crate::store::memory::MemoryStore::new(), config.clone());
        let r = crate::respond(&off, &signout_req, "t", now).await;
        assert_eq!(r.status_code, 404);

        let on = crate::App::new(crate::store::memory::MemoryStore::new(), config)
            .with_revocations(Revocations::Memory(Mutex::default()));
        assert_eq!(crate::respond(&on, &list, "t", now).await.status_code, 200);
        let r = crate::respond(&on, &signout_req, "t", now).await;
        assert_eq!(r.status_code, 204);
        let r = crate::respond(&on, &list, "t", now).await;
        assert_eq!(r.status_code, 401);
        let body = match &r.body {
            Some(aws_lambda_events::encodings::Body::Text(t)) => t.clone(),
            other => panic!("{other:?}"),
        };
        assert!(body.contains("token_revoked"), "{body}");
        let mut get = signout_req.clone();
        get.http_method = http::Method::GET;
        assert_eq!(crate::respond(&on, &get, "t", now).await.status_code, 405);
    }
}
