//! Token minting for tests and benches (feature `test-util`): real RSA keys,
//! real RS256 signatures, Cognito-shaped claims. Never compiled into the
//! Lambda binary.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaEncoding};
use base64::Engine as _;
// The `base64` crate, not the verifier's decoder: tokens are minted by an
// independent implementation.
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

/// An RSA 2048 signing key with its kid.
pub struct TestKey {
    kid: String,
    pair: KeyPair,
}

impl std::fmt::Debug for TestKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestKey").field("kid", &self.kid).finish()
    }
}

impl TestKey {
    /// A fresh RSA 2048 key.
    pub fn generate(kid: &str) -> Self {
        Self {
            kid: kid.to_owned(),
            pair: KeyPair::generate(KeySize::Rsa2048).expect("RSA key generation"),
        }
    }

    /// Loads a PKCS#8 DER private key (e.g. a fixed dev key).
    pub fn from_pkcs8_der(kid: &str, der: &[u8]) -> Result<Self, String> {
        KeyPair::from_pkcs8(der)
            .map(|pair| Self {
                kid: kid.to_owned(),
                pair,
            })
            .map_err(|e| format!("not a PKCS#8 RSA key: {e}"))
    }

    /// Loads a `-----BEGIN PRIVATE KEY-----` PEM.
    pub fn from_pkcs8_pem(kid: &str, pem: &str) -> Result<Self, String> {
        let b64: String = pem
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("-----"))
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("PEM body is not base64: {e}"))?;
        Self::from_pkcs8_der(kid, &der)
    }

    /// The private key as PKCS#8 DER, to persist a generated dev key.
    pub fn to_pkcs8_der(&self) -> Vec<u8> {
        self.pair
            .as_der()
            .expect("PKCS#8 encoding")
            .as_ref()
            .to_vec()
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Big-endian modulus without leading zeros.
    pub fn modulus(&self) -> Vec<u8> {
        self.pair
            .public_key()
            .modulus()
            .big_endian_without_leading_zero()
            .to_vec()
    }

    /// Big-endian public exponent without leading zeros.
    pub fn exponent(&self) -> Vec<u8> {
        self.pair
            .public_key()
            .exponent()
            .big_endian_without_leading_zero()
            .to_vec()
    }

    /// The public JWK, as Cognito publishes it.
    pub fn jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "kid": self.kid,
            "alg": "RS256",
            "use": "sig",
            "n": B64.encode(self.modulus()),
            "e": B64.encode(self.exponent()),
        })
    }

    /// A compact RS256 JWS of `header` and `claims` (serialised as given).
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        let h = B64.encode(serde_json::to_vec(header).expect("header JSON"));
        let p = B64.encode(serde_json::to_vec(claims).expect("claims JSON"));
        self.sign_raw(&h, &p)
    }

    /// Signs `header_b64.payload_b64` exactly as given (for odd encodings).
    pub fn sign_raw(&self, header_b64: &str, payload_b64: &str) -> String {
        self.sign_raw_with(&RSA_PKCS1_SHA256, header_b64, payload_b64)
    }

    /// Like [`Self::sign_raw`] with another RSA scheme (e.g. `RSA_PSS_SHA256`).
    pub fn sign_raw_with(
        &self,
        encoding: &'static dyn RsaEncoding,
        header_b64: &str,
        payload_b64: &str,
    ) -> String {
        let input = format!("{header_b64}.{payload_b64}");
        let sig = self.signature_with(encoding, input.as_bytes());
        format!("{input}.{}", B64.encode(sig))
    }

    /// The raw signature bytes of `message`.
    pub fn signature_with(&self, encoding: &'static dyn RsaEncoding, message: &[u8]) -> Vec<u8> {
        let mut sig = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(encoding, &SystemRandom::new(), message, &mut sig)
            .expect("RSA signing");
        sig
    }

    /// The usual header: `{"kid":…,"alg":"RS256"}` (Cognito's order).
    pub fn header(&self) -> Value {
        json!({"kid": self.kid, "alg": "RS256"})
    }

    /// `sign(&self.header(), claims)`.
    pub fn token(&self, claims: &Value) -> String {
        self.sign(&self.header(), claims)
    }
}

/// `{"keys":[jwk…]}`.
pub fn jwks(keys: &[&TestKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() })
}

/// The issuer of `pool_id` (`https://cognito-idp.<region>.amazonaws.com/<pool>`).
pub fn issuer(pool_id: &str) -> String {
    crate::config::issuer_for_pool(pool_id).expect("pool id like us-east-1_Abc")
}

/// Claims shaped like a Cognito access token issued at `now`, valid 1 h.
pub fn access_claims(pool_id: &str, client_id: &str, sub: &str, now: i64) -> Value {
    json!({
        "sub": sub,
        "iss": issuer(pool_id),
        "client_id": client_id,
        "origin_jti": format!("origin-{sub}-{now}"),
        "event_id": format!("event-{sub}-{now}"),
        "token_use": "access",
        "scope": "aws.cognito.signin.user.admin",
        "auth_time": now,
        "exp": now + 3600,
        "iat": now,
        "jti": format!("jti-{sub}-{now}"),
        "username": sub,
    })
}

/// Claims shaped like a Cognito ID token issued at `now`, valid 1 h.
pub fn id_claims(pool_id: &str, client_id: &str, sub: &str, now: i64) -> Value {
    json!({
        "sub": sub,
        "email_verified": true,
        "iss": issuer(pool_id),
        "cognito:username": sub,
        "origin_jti": format!("origin-{sub}-{now}"),
        "aud": client_id,
        "event_id": format!("event-{sub}-{now}"),
        "token_use": "id",
        "auth_time": now,
        "exp": now + 3600,
        "iat": now,
        "jti": format!("jti-{sub}-{now}"),
        "email": format!("{sub}@example.com"),
    })
}

/// Claims shaped like a Cognito client-credentials (or `GetClientToken`)
/// access token issued at `now`, valid 1 h: `sub` is the app client id, no
/// `username`, `origin_jti`, `event_id`, `cognito:groups` or `aud`;
/// `auth_time` equals `iat`; `version` 2.
pub fn machine_claims(pool_id: &str, client_id: &str, scope: &str, now: i64) -> Value {
    json!({
        "sub": client_id,
        "token_use": "access",
        "scope": scope,
        "auth_time": now,
        "iss": issuer(pool_id),
        "exp": now + 3600,
        "iat": now,
        "version": 2,
        "jti": format!("jti-{client_id}-{now}"),
        "client_id": client_id,
    })
}

/// Log output captured in memory, in the production format, for tests that
/// assert what the authorizer logs (and what it never logs). Tracing caches
/// per-callsite interest process-wide, so a test using it belongs in a test
/// binary of its own.
#[derive(Clone, Default)]
pub struct CapturedLog(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl CapturedLog {
    /// Captures this thread's events at `filter` (an `EnvFilter` directive)
    /// through [`crate::logging::subscriber`], as `main.rs` logs, until the
    /// guard drops.
    pub fn install(filter: &str) -> (Self, tracing::subscriber::DefaultGuard) {
        let out = Self::default();
        let writer = out.clone();
        let subscriber = crate::logging::subscriber(
            move || writer.clone(),
            tracing_subscriber::EnvFilter::new(filter),
        );
        (out, tracing::subscriber::set_default(subscriber))
    }

    /// Where the capture stands now: a mark for [`Self::text_since`].
    pub fn mark(&self) -> usize {
        self.0.lock().expect("log buffer").len()
    }

    /// Everything captured since the mark `start` (lossy UTF-8: a test
    /// must still see a line that is not valid UTF-8).
    pub fn text_since(&self, start: usize) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("log buffer")[start..]).into_owned()
    }

    /// Everything captured.
    pub fn text(&self) -> String {
        self.text_since(0)
    }
}

impl std::io::Write for CapturedLog {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log buffer").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
