//! Hosted login (Cognito managed login, and through it the federated
//! providers): authorization code with PKCE (S256) and a loopback redirect
//! on 127.0.0.1 (RFC 8252 §7.3), `state` checked before the code is used.
//! <https://docs.aws.amazon.com/cognito/latest/developerguide/authorization-endpoint.html>
//! <https://docs.aws.amazon.com/cognito/latest/developerguide/token-endpoint.html>

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
    BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, CsrfToken, EndpointNotSet, EndpointSet, ExtraTokenFields,
    PkceCodeChallenge, RedirectUrl, RefreshToken, Scope, StandardRevocableToken,
    StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};

use crate::claims;
use crate::error::{Error, Result};
use crate::prompt::Prompt;
use crate::store::Session;

/// The fixed loopback redirect: Cognito matches callback URLs exactly, so
/// the template's `CallbackUrls` lists this one. Its host is `localhost`,
/// not `127.0.0.1` (RFC 8252's preference), because Cognito accepts plain
/// http only for `http://localhost`
/// (https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolClient.html,
/// CallbackURLs); the listener itself binds 127.0.0.1 only.
pub const DEFAULT_PORT: u16 = 47615;
pub const CALLBACK_PATH: &str = "/callback";

/// Cognito's token endpoint also returns the ID token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct IdTokenField {
    id_token: String,
}
impl ExtraTokenFields for IdTokenField {}

type Tokens = StandardTokenResponse<IdTokenField, BasicTokenType>;
type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    Tokens,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

pub struct Options<'a> {
    /// `https://PREFIX.auth.REGION.amazoncognito.com`
    pub domain: &'a str,
    pub client_id: &'a str,
    /// `identity_provider`: skip the chooser (Google, Facebook,
    /// SignInWithApple, a SAML/OIDC provider name).
    pub provider: Option<&'a str>,
    /// Loopback port (0: any free one, for tests).
    pub port: u16,
    /// Try to open the URL in a browser.
    pub open_browser: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct HttpError(String);

/// oauth2's HTTP hook, over the workspace's reqwest (no redirects: the
/// token endpoint must answer itself).
async fn send(
    http: &reqwest::Client,
    req: oauth2::HttpRequest,
) -> std::result::Result<oauth2::HttpResponse, HttpError> {
    let (parts, body) = req.into_parts();
    let resp = http
        .request(parts.method, parts.uri.to_string())
        .headers(parts.headers)
        .body(body)
        .send()
        .await
        .map_err(|e| HttpError(e.to_string()))?;
    let mut out = http::Response::builder().status(resp.status());
    for (k, v) in resp.headers() {
        out = out.header(k, v);
    }
    let bytes = resp.bytes().await.map_err(|e| HttpError(e.to_string()))?;
    out.body(bytes.to_vec())
        .map_err(|e| HttpError(e.to_string()))
}

fn client(domain: &str, client_id: &str, redirect: &str) -> Result<OAuthClient> {
    let bad = |what: &str| Error::Config(format!("hosted login: bad {what} URL"));
    let domain = domain.trim_end_matches('/');
    Ok(oauth2::Client::new(ClientId::new(client_id.to_owned()))
        .set_auth_uri(
            AuthUrl::new(format!("{domain}/oauth2/authorize")).map_err(|_| bad("authorize"))?,
        )
        .set_token_uri(TokenUrl::new(format!("{domain}/oauth2/token")).map_err(|_| bad("token"))?)
        .set_redirect_uri(RedirectUrl::new(redirect.to_owned()).map_err(|_| bad("redirect"))?))
}

/// Runs the whole flow and returns the new session.
pub async fn login(o: &Options<'_>, prompt: &dyn Prompt) -> Result<Session> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", o.port))
        .await
        .map_err(|e| Error::Config(format!("cannot listen on 127.0.0.1:{}: {e}", o.port)))?;
    let port = listener
        .local_addr()
        .map_err(|e| Error::Config(e.to_string()))?
        .port();
    let redirect = format!("http://localhost:{port}{CALLBACK_PATH}");
    let oauth = client(o.domain, o.client_id, &redirect)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut req = oauth
        .authorize_url(CsrfToken::new_random)
        .add_scopes(
            ["openid", "email", "profile", "notes/read", "notes/write"]
                .map(|s| Scope::new(s.to_owned())),
        )
        .set_pkce_challenge(challenge);
    if let Some(p) = o.provider {
        req = req.add_extra_param("identity_provider", p);
    }
    let (url, state) = req.url();
    prompt.tell(&format!(
        "Open this URL to sign in (waiting on {redirect}):\n  {url}"
    ));
    if o.open_browser {
        let _ = open::that_detached(url.as_str());
    }

    let query = wait_for_callback(listener).await?;
    if let Some(e) = query.get("error") {
        return Err(Error::Api(format!("hosted login refused: {e}")));
    }
    // state first: a callback that does not carry ours is not an answer
    // to this request (login CSRF), and its code is never used.
    if query.get("state").map(String::as_str) != Some(state.secret().as_str()) {
        return Err(Error::Api(
            "hosted login: the callback's state does not match; ignored".into(),
        ));
    }
    let code = query
        .get("code")
        .ok_or_else(|| Error::Api("hosted login: no code in the callback".into()))?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Http(e.to_string()))?;
    let caller = |r| send(&http, r);
    let tokens = oauth
        .exchange_code(AuthorizationCode::new(code.clone()))
        .set_pkce_verifier(verifier)
        .request_async(&caller)
        .await
        .map_err(|e| Error::Api(format!("hosted login: token endpoint: {}", oauth_error(&e))))?;
    session(&tokens)
}

fn oauth_error<E: std::error::Error>(e: &E) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

fn session(t: &Tokens) -> Result<Session> {
    let access = t.access_token().secret().clone();
    let id = t.extra_fields().id_token.clone();
    let refresh = t
        .refresh_token()
        .map(RefreshToken::secret)
        .cloned()
        .ok_or_else(|| Error::Api("hosted login: no refresh token".into()))?;
    let username = claims::payload(&id)
        .and_then(|c| {
            c.get("email")
                .or_else(|| c.get("cognito:username"))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_default();
    let expires_at = claims::exp(&access).unwrap_or_else(|| {
        claims::now()
            + t.expires_in()
                .map_or(3600, |d| i64::try_from(d.as_secs()).unwrap_or(3600))
    });
    Ok(Session {
        username,
        access_token: access,
        id_token: id,
        refresh_token: refresh,
        expires_at,
        aws_credentials: None,
    })
}

/// Serves the loopback redirect until one request reaches the callback
/// path; returns its query parameters.
async fn wait_for_callback(listener: tokio::net::TcpListener) -> Result<HashMap<String, String>> {
    let (tx, rx) = tokio::sync::oneshot::channel::<HashMap<String, String>>();
    let tx = Arc::new(Mutex::new(Some(tx)));
    let app = axum::Router::new().route(
        CALLBACK_PATH,
        axum::routing::get(move |q: axum::extract::RawQuery| {
            let tx = tx.clone();
            async move {
                let params: HashMap<String, String> =
                    url::form_urlencoded::parse(q.0.unwrap_or_default().as_bytes())
                        .into_owned()
                        .collect();
                if let Ok(mut g) = tx.lock()
                    && let Some(tx) = g.take()
                {
                    let _ = tx.send(params);
                }
                axum::response::Html(
                    "<p>notes: you can close this window and go back to the terminal.</p>",
                )
            }
        }),
    );
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = done_rx.await;
            })
            .await;
    });
    let params = rx
        .await
        .map_err(|_| Error::Api("hosted login: the loopback server stopped".into()))?;
    let _ = done_tx.send(());
    let _ = server.await;
    Ok(params)
}
