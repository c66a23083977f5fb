//! AWS credentials from the identity pool (enhanced flow: GetId +
//! GetCredentialsForIdentity with the user-pool ID token), printed as the
//! AWS CLI's `credential_process` JSON.
//! <https://docs.aws.amazon.com/cognito/latest/developerguide/authentication-flow.html>
//! <https://docs.aws.amazon.com/cli/latest/userguide/cli-configure-sourcing-external.html>

use aws_sdk_cognitoidentity::Client;
use aws_sdk_cognitoidentity::primitives::{DateTime, DateTimeFormat};
use serde_json::json;

use crate::claims;
use crate::config::Target;
use crate::error::{Error, Result};
use crate::store::CachedCredentials;

/// Cached credentials are used until this long before they expire.
pub const REUSE_MARGIN_SECONDS: i64 = 300;

pub async fn fetch(
    sdk: &aws_config::SdkConfig,
    target: &Target,
    id_token: &str,
) -> Result<CachedCredentials> {
    let identity = Client::new(sdk);
    let provider = target.login_provider();
    let id = identity
        .get_id()
        .identity_pool_id(&target.identity_pool_id)
        .logins(&provider, id_token)
        .send()
        .await
        .map_err(|e| Error::aws("GetId", &e))?;
    let identity_id = id.identity_id().ok_or_else(|| Error::Aws {
        op: "GetId",
        detail: "no IdentityId in the answer".into(),
    })?;
    let out = identity
        .get_credentials_for_identity()
        .identity_id(identity_id)
        .logins(&provider, id_token)
        .send()
        .await
        .map_err(|e| Error::aws("GetCredentialsForIdentity", &e))?;
    let c = out.credentials().ok_or_else(|| Error::Aws {
        op: "GetCredentialsForIdentity",
        detail: "no Credentials in the answer".into(),
    })?;
    let field = |v: Option<&str>, name: &str| {
        v.filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| Error::Aws {
                op: "GetCredentialsForIdentity",
                detail: format!("no {name} in the answer"),
            })
    };
    Ok(CachedCredentials {
        access_key_id: field(c.access_key_id(), "AccessKeyId")?,
        secret_access_key: field(c.secret_key(), "SecretKey")?,
        session_token: field(c.session_token(), "SessionToken")?,
        expiration: c
            .expiration()
            .map_or_else(|| claims::now() + 3600, DateTime::secs),
    })
}

/// Still good for at least [`REUSE_MARGIN_SECONDS`].
pub fn usable(c: &CachedCredentials) -> bool {
    c.expiration - claims::now() > REUSE_MARGIN_SECONDS
}

/// The `credential_process` output (Version 1).
pub fn process_json(c: &CachedCredentials) -> String {
    let exp = DateTime::from_secs(c.expiration)
        .fmt(DateTimeFormat::DateTime)
        .unwrap_or_default();
    json!({
        "Version": 1,
        "AccessKeyId": c.access_key_id,
        "SecretAccessKey": c.secret_access_key,
        "SessionToken": c.session_token,
        "Expiration": exp,
    })
    .to_string()
}
