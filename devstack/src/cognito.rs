//! The user's side of Cognito, through the AWS SDK: sign up, confirm, sign
//! in, refresh, and trade an ID token for AWS credentials at the identity
//! pool. Used by the CLI, the demo and the end-to-end tests.
//!
//! Sign-in uses `USER_PASSWORD_AUTH`: the template's public client allows only
//! SRP (the password never leaves the device), but moto does not check a
//! client's allowed flows, and SRP needs a client-side big-number exchange
//! that adds nothing to what the offline stack demonstrates. The tokens are
//! the same.

use aws_sdk_cognitoidentityprovider::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_cognitoidentityprovider::operation::initiate_auth::InitiateAuthOutput;
use aws_sdk_cognitoidentityprovider::types::{AttributeType, AuthFlowType};

use crate::provision::Provisioned;

#[derive(Debug, thiserror::Error)]
#[error("{step}: {detail}")]
pub struct CognitoError {
    pub step: &'static str,
    pub detail: String,
}

fn err<E: std::error::Error + ProvideErrorMetadata>(
    step: &'static str,
) -> impl FnOnce(E) -> CognitoError {
    // The service's own code and message when there is one (e.g.
    // `UsernameExistsException: …`); the whole error chain otherwise.
    move |e| CognitoError {
        step,
        detail: match (e.code(), e.message()) {
            (Some(code), Some(msg)) => format!("{code}: {msg}"),
            _ => DisplayErrorContext(&e).to_string(),
        },
    }
}

/// The tokens of a completed InitiateAuth (sign-in or refresh).
fn tokens_from(out: &InitiateAuthOutput) -> Result<Tokens, CognitoError> {
    let r = out
        .authentication_result()
        .ok_or_else(|| missing("InitiateAuth", "AuthenticationResult (a challenge?)"))?;
    Ok(Tokens {
        id: r
            .id_token()
            .ok_or_else(|| missing("InitiateAuth", "IdToken"))?
            .to_owned(),
        access: r
            .access_token()
            .ok_or_else(|| missing("InitiateAuth", "AccessToken"))?
            .to_owned(),
        refresh: r.refresh_token().map(str::to_owned),
    })
}

fn missing(step: &'static str, what: &str) -> CognitoError {
    CognitoError {
        step,
        detail: format!("no {what} in the answer"),
    }
}

/// The three tokens of a sign-in. `refresh` is absent after a refresh.
#[derive(Clone)]
pub struct Tokens {
    pub id: String,
    pub access: String,
    pub refresh: Option<String>,
}

impl std::fmt::Debug for Tokens {
    // Tokens are credentials: never in logs or panic messages.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens { .. }")
    }
}

/// Temporary AWS credentials from the identity pool (secret left out).
#[derive(Debug, Clone)]
pub struct IdentityCredentials {
    pub identity_id: String,
    pub access_key_id: String,
    pub has_secret_and_session: bool,
    pub expiration_epoch: Option<i64>,
}

/// A Cognito user-side client for one provisioned stack.
#[derive(Debug, Clone)]
pub struct Users {
    idp: aws_sdk_cognitoidentityprovider::Client,
    identity: aws_sdk_cognitoidentity::Client,
    stack: Provisioned,
}

impl Users {
    pub fn new(config: &aws_config::SdkConfig, stack: Provisioned) -> Self {
        Self {
            idp: aws_sdk_cognitoidentityprovider::Client::new(config),
            identity: aws_sdk_cognitoidentity::Client::new(config),
            stack,
        }
    }

    pub fn stack(&self) -> &Provisioned {
        &self.stack
    }

    /// SignUp (public client call); returns the new user's `sub`.
    pub async fn sign_up(&self, email: &str, password: &str) -> Result<String, CognitoError> {
        let out = self
            .idp
            .sign_up()
            .client_id(&self.stack.app_client_id)
            .username(email)
            .password(password)
            .user_attributes(
                AttributeType::builder()
                    .name("email")
                    .value(email)
                    .build()
                    .map_err(|e| CognitoError {
                        step: "SignUp",
                        detail: e.to_string(),
                    })?,
            )
            .send()
            .await
            .map_err(err("SignUp"))?;
        Ok(out.user_sub().to_owned())
    }

    /// ConfirmSignUp with the emailed code (moto accepts any code).
    pub async fn confirm(&self, email: &str, code: &str) -> Result<(), CognitoError> {
        self.idp
            .confirm_sign_up()
            .client_id(&self.stack.app_client_id)
            .username(email)
            .confirmation_code(code)
            .send()
            .await
            .map_err(err("ConfirmSignUp"))?;
        Ok(())
    }

    /// AdminAddUserToGroup: membership shows in the next tokens' `cognito:groups`.
    pub async fn add_to_group(&self, email: &str, group: &str) -> Result<(), CognitoError> {
        self.idp
            .admin_add_user_to_group()
            .user_pool_id(&self.stack.user_pool_id)
            .username(email)
            .group_name(group)
            .send()
            .await
            .map_err(err("AdminAddUserToGroup"))?;
        Ok(())
    }

    pub async fn sign_in(&self, email: &str, password: &str) -> Result<Tokens, CognitoError> {
        let out = self
            .idp
            .initiate_auth()
            .client_id(&self.stack.app_client_id)
            .auth_flow(AuthFlowType::UserPasswordAuth)
            .auth_parameters("USERNAME", email)
            .auth_parameters("PASSWORD", password)
            .send()
            .await
            .map_err(err("InitiateAuth USER_PASSWORD_AUTH"))?;
        tokens_from(&out)
    }

    /// REFRESH_TOKEN_AUTH: new ID and access tokens for a refresh token.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens, CognitoError> {
        let out = self
            .idp
            .initiate_auth()
            .client_id(&self.stack.app_client_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", refresh_token)
            .send()
            .await
            .map_err(err("InitiateAuth REFRESH_TOKEN_AUTH"))?;
        tokens_from(&out)
    }

    /// Identity pool, enhanced flow: GetId + GetCredentialsForIdentity with
    /// the user-pool ID token as the login.
    pub async fn aws_credentials(
        &self,
        id_token: &str,
    ) -> Result<IdentityCredentials, CognitoError> {
        let provider = self.stack.login_provider();
        let id = self
            .identity
            .get_id()
            .identity_pool_id(&self.stack.identity_pool_id)
            .logins(&provider, id_token)
            .send()
            .await
            .map_err(err("GetId"))?;
        let identity_id = id
            .identity_id()
            .ok_or_else(|| missing("GetId", "IdentityId"))?
            .to_owned();
        let creds = self
            .identity
            .get_credentials_for_identity()
            .identity_id(&identity_id)
            .logins(&provider, id_token)
            .send()
            .await
            .map_err(err("GetCredentialsForIdentity"))?;
        let c = creds
            .credentials()
            .ok_or_else(|| missing("GetCredentialsForIdentity", "Credentials"))?;
        Ok(IdentityCredentials {
            identity_id,
            access_key_id: c.access_key_id().unwrap_or_default().to_owned(),
            has_secret_and_session: c.secret_key().is_some_and(|s| !s.is_empty())
                && c.session_token().is_some_and(|s| !s.is_empty()),
            expiration_epoch: c.expiration().map(|e| e.secs()),
        })
    }
}
