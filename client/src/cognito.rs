//! The user pool side: sign-up, confirmation, SRP sign-in with the
//! challenges a real pool sends, refresh, revocation.
//! Flow reference: <https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-authentication-flow-methods.html>

use std::collections::HashMap;

use aws_cognito_srp::{SrpClient, User};
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AttributeType, AuthFlowType, AuthenticationResultType, ChallengeNameType,
    SoftwareTokenMfaSettingsType, VerifySoftwareTokenResponseType,
};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::claims;
use crate::config::Target;
use crate::error::{Error, Result};
use crate::prompt::Prompt;
use crate::store::Session;

/// A Cognito user-pool client for one target.
pub struct Cognito {
    idp: Client,
    target: Target,
}

/// The tokens of a completed sign-in or refresh.
struct Issued {
    access: String,
    id: String,
    refresh: Option<String>,
    expires_in: i32,
}

fn issued(r: &AuthenticationResultType, op: &'static str) -> Result<Issued> {
    let missing = |what: &str| Error::Aws {
        op,
        detail: format!("no {what} in the answer"),
    };
    Ok(Issued {
        access: r
            .access_token()
            .ok_or_else(|| missing("AccessToken"))?
            .to_owned(),
        id: r.id_token().ok_or_else(|| missing("IdToken"))?.to_owned(),
        refresh: r.refresh_token().map(str::to_owned),
        expires_in: r.expires_in(),
    })
}

fn expires_at(i: &Issued) -> i64 {
    // The token's own `exp` when readable; ExpiresIn otherwise.
    claims::exp(&i.access).unwrap_or_else(|| claims::now() + i64::from(i.expires_in))
}

/// The `otpauth://` URI an authenticator app scans for a TOTP secret
/// (Key Uri Format: label `issuer:account`, `secret` in base32 as Cognito
/// returns it).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}",
        enc(issuer),
        enc(account),
        enc(secret),
        enc(issuer)
    )
}

impl Cognito {
    pub fn new(sdk: &aws_config::SdkConfig, target: Target) -> Self {
        Self {
            idp: Client::new(sdk),
            target,
        }
    }

    /// SignUp with the email as the username; returns the user's `sub`.
    pub async fn sign_up(&self, email: &str, password: &str) -> Result<String> {
        let attr = AttributeType::builder()
            .name("email")
            .value(email)
            .build()
            .map_err(|e| Error::Input(e.to_string()))?;
        let out = self
            .idp
            .sign_up()
            .client_id(&self.target.client_id)
            .username(email)
            .password(password)
            .user_attributes(attr)
            .send()
            .await
            .map_err(|e| Error::aws("SignUp", &e))?;
        Ok(out.user_sub().to_owned())
    }

    /// ConfirmSignUp with the code Cognito sent.
    pub async fn confirm(&self, email: &str, code: &str) -> Result<()> {
        self.idp
            .confirm_sign_up()
            .client_id(&self.target.client_id)
            .username(email)
            .confirmation_code(code)
            .send()
            .await
            .map_err(|e| Error::aws("ConfirmSignUp", &e))?;
        Ok(())
    }

    /// USER_SRP_AUTH → PASSWORD_VERIFIER, then whatever challenges follow.
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        prompt: &dyn Prompt,
    ) -> Result<Session> {
        let srp = SrpClient::new(
            User::new(&self.target.user_pool_id, username, password),
            &self.target.client_id,
            None,
        );
        let params = srp.get_auth_parameters();
        let out = self
            .idp
            .initiate_auth()
            .client_id(&self.target.client_id)
            .auth_flow(AuthFlowType::UserSrpAuth)
            .auth_parameters("USERNAME", &params.username)
            .auth_parameters("SRP_A", &params.a)
            .send()
            .await
            .map_err(|e| Error::aws("InitiateAuth USER_SRP_AUTH", &e))?;
        let mut challenge = out.challenge_name().cloned();
        let mut cparams = out.challenge_parameters().cloned().unwrap_or_default();
        let mut session = out.session().map(str::to_owned);
        if let Some(r) = out.authentication_result() {
            return self.session_from(username, &issued(r, "InitiateAuth")?);
        }
        // Cognito's internal username (e.g. the sub when signing in by email).
        let mut internal = cparams
            .get("USERNAME")
            .cloned()
            .unwrap_or_else(|| username.to_owned());
        for _ in 0..8 {
            let name = challenge.clone().ok_or_else(|| Error::Aws {
                op: "RespondToAuthChallenge",
                detail: "neither tokens nor a challenge in the answer".into(),
            })?;
            let mut responses: HashMap<String, String> = HashMap::new();
            responses.insert("USERNAME".into(), internal.clone());
            match &name {
                ChallengeNameType::PasswordVerifier => {
                    let p = |k: &str| {
                        cparams.get(k).cloned().ok_or_else(|| Error::Aws {
                            op: "PASSWORD_VERIFIER",
                            detail: format!("challenge parameter {k} missing"),
                        })
                    };
                    let user_id = p("USER_ID_FOR_SRP")?;
                    let secret_block = p("SECRET_BLOCK")?;
                    // Real Cognito sends SECRET_BLOCK in base64; moto sends
                    // its session id, which is not. Signing over its bytes
                    // keeps the offline flow going; a real pool would
                    // reject such a signature, so nothing opens up.
                    let signed_block = if STANDARD.decode(&secret_block).is_ok() {
                        secret_block.clone()
                    } else {
                        STANDARD.encode(secret_block.as_bytes())
                    };
                    let v = srp
                        .verify(&signed_block, &user_id, &p("SALT")?, &p("SRP_B")?)
                        .map_err(|e| Error::Aws {
                            op: "PASSWORD_VERIFIER",
                            detail: e.to_string(),
                        })?;
                    responses.insert("PASSWORD_CLAIM_SECRET_BLOCK".into(), secret_block);
                    responses.insert(
                        "PASSWORD_CLAIM_SIGNATURE".into(),
                        v.password_claim_signature,
                    );
                    responses.insert("TIMESTAMP".into(), v.timestamp);
                }
                ChallengeNameType::NewPasswordRequired => {
                    prompt.tell("The pool requires a new password for this user.");
                    let new = prompt.secret("New password")?;
                    responses.insert("NEW_PASSWORD".into(), new);
                }
                ChallengeNameType::SoftwareTokenMfa => {
                    let code = prompt.line("Code from your authenticator app")?;
                    responses.insert("SOFTWARE_TOKEN_MFA_CODE".into(), code);
                }
                ChallengeNameType::SmsMfa => {
                    let code = prompt.line("Code sent by SMS")?;
                    responses.insert("SMS_MFA_CODE".into(), code);
                }
                ChallengeNameType::EmailOtp => {
                    let code = prompt.line("Code sent by email")?;
                    responses.insert("EMAIL_OTP_CODE".into(), code);
                }
                ChallengeNameType::SelectMfaType => {
                    let choice = prompt.line("Second factor: totp, sms or email")?;
                    let answer = match choice.to_ascii_lowercase().as_str() {
                        "totp" => "SOFTWARE_TOKEN_MFA",
                        "sms" => "SMS_MFA",
                        "email" => "EMAIL_OTP",
                        _ => return Err(Error::Input("answer totp, sms or email".into())),
                    };
                    responses.insert("ANSWER".into(), answer.into());
                }
                ChallengeNameType::MfaSetup => {
                    // TOTP enrolment inside the sign-in: AssociateSoftwareToken
                    // and VerifySoftwareToken with the challenge's session.
                    let s = session.clone().unwrap_or_default();
                    let verified = self.enrol_totp(None, Some(s), &internal, prompt).await?;
                    session = verified;
                }
                other => {
                    return Err(Error::Aws {
                        op: "InitiateAuth",
                        detail: format!(
                            "challenge {} is not supported by this client",
                            other.as_str()
                        ),
                    });
                }
            }
            let out = self
                .idp
                .respond_to_auth_challenge()
                .client_id(&self.target.client_id)
                .challenge_name(name.clone())
                .set_session(session.clone())
                .set_challenge_responses(Some(responses))
                .send()
                .await
                .map_err(|e| Error::aws("RespondToAuthChallenge", &e))?;
            if let Some(r) = out.authentication_result() {
                return self.session_from(username, &issued(r, "RespondToAuthChallenge")?);
            }
            challenge = out.challenge_name().cloned();
            cparams = out.challenge_parameters().cloned().unwrap_or_default();
            if let Some(u) = cparams.get("USERNAME") {
                internal = u.clone();
            }
            session = out.session().map(str::to_owned);
        }
        Err(Error::Aws {
            op: "RespondToAuthChallenge",
            detail: "too many challenges".into(),
        })
    }

    fn session_from(&self, username: &str, i: &Issued) -> Result<Session> {
        Ok(Session {
            username: username.to_owned(),
            access_token: i.access.clone(),
            id_token: i.id.clone(),
            refresh_token: i.refresh.clone().ok_or_else(|| Error::Aws {
                op: "sign-in",
                detail: "no RefreshToken in the answer".into(),
            })?,
            expires_at: expires_at(i),
            aws_credentials: None,
        })
    }

    /// TOTP enrolment: with an access token (`notes mfa setup`) or with a
    /// sign-in session (MFA_SETUP challenge). Shows the secret as an
    /// `otpauth://` URI, asks for the first code, and returns the session
    /// that VerifySoftwareToken hands back (sign-in case).
    /// <https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_AssociateSoftwareToken.html>
    pub async fn enrol_totp(
        &self,
        access_token: Option<&str>,
        session: Option<String>,
        account: &str,
        prompt: &dyn Prompt,
    ) -> Result<Option<String>> {
        let out = self
            .idp
            .associate_software_token()
            .set_access_token(access_token.map(str::to_owned))
            .set_session(session)
            .send()
            .await
            .map_err(|e| Error::aws("AssociateSoftwareToken", &e))?;
        let secret = out.secret_code().unwrap_or_default();
        prompt.tell(&format!(
            "Add this to your authenticator app (scan it as a QR code or paste it):\n  {}",
            otpauth_uri("notes", account, secret)
        ));
        let code = prompt.line("First code from the app")?;
        let v = self
            .idp
            .verify_software_token()
            .set_access_token(access_token.map(str::to_owned))
            .set_session(out.session().map(str::to_owned))
            .user_code(code)
            .friendly_device_name("notes")
            .send()
            .await
            .map_err(|e| Error::aws("VerifySoftwareToken", &e))?;
        if v.status() != Some(&VerifySoftwareTokenResponseType::Success) {
            return Err(Error::Aws {
                op: "VerifySoftwareToken",
                detail: "the code was not accepted".into(),
            });
        }
        if let Some(at) = access_token {
            self.idp
                .set_user_mfa_preference()
                .access_token(at)
                .software_token_mfa_settings(
                    SoftwareTokenMfaSettingsType::builder()
                        .enabled(true)
                        .preferred_mfa(true)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| Error::aws("SetUserMFAPreference", &e))?;
        }
        Ok(v.session().map(str::to_owned))
    }

    /// New ID and access tokens from the refresh token
    /// (`REFRESH_TOKEN_AUTH`; with refresh-token rotation on, Cognito wants
    /// `GetTokensFromRefreshToken`, which also returns a new refresh token).
    /// <https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-refresh-token.html>
    pub async fn refresh(&self, s: &Session) -> Result<Session> {
        let out = self
            .idp
            .initiate_auth()
            .client_id(&self.target.client_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", &s.refresh_token)
            .send()
            .await;
        let i = match out {
            Ok(out) => issued(
                out.authentication_result().ok_or_else(|| Error::Aws {
                    op: "InitiateAuth REFRESH_TOKEN_AUTH",
                    detail: "no AuthenticationResult".into(),
                })?,
                "InitiateAuth REFRESH_TOKEN_AUTH",
            )?,
            Err(e) => {
                let e = Error::aws("InitiateAuth REFRESH_TOKEN_AUTH", &e);
                // A revoked or expired refresh token: sign in again. Any
                // other refusal: try the rotation-aware operation.
                if e.aws_code() == Some("NotAuthorizedException") {
                    return Err(e);
                }
                let out = self
                    .idp
                    .get_tokens_from_refresh_token()
                    .client_id(&self.target.client_id)
                    .refresh_token(&s.refresh_token)
                    .send()
                    .await
                    .map_err(|_| e)?;
                issued(
                    out.authentication_result().ok_or_else(|| Error::Aws {
                        op: "GetTokensFromRefreshToken",
                        detail: "no AuthenticationResult".into(),
                    })?,
                    "GetTokensFromRefreshToken",
                )?
            }
        };
        Ok(Session {
            username: s.username.clone(),
            expires_at: expires_at(&i),
            access_token: i.access,
            id_token: i.id,
            refresh_token: i.refresh.unwrap_or_else(|| s.refresh_token.clone()),
            aws_credentials: s.aws_credentials.clone(),
        })
    }

    /// RevokeToken: the refresh token and the access tokens issued from it.
    /// <https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_RevokeToken.html>
    pub async fn revoke(&self, refresh_token: &str) -> Result<()> {
        self.idp
            .revoke_token()
            .client_id(&self.target.client_id)
            .token(refresh_token)
            .send()
            .await
            .map_err(|e| Error::aws("RevokeToken", &e))?;
        Ok(())
    }

    /// GlobalSignOut: every refresh token of the user.
    /// <https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_GlobalSignOut.html>
    pub async fn global_sign_out(&self, access_token: &str) -> Result<()> {
        self.idp
            .global_sign_out()
            .access_token(access_token)
            .send()
            .await
            .map_err(|e| Error::aws("GlobalSignOut", &e))?;
        Ok(())
    }
}
