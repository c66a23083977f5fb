//! Token → [`VerifiedClaims`], or a [`Rejection`] with a stable [`Reason`].
//!
//! Order: framing and header (no I/O) → `iss` picks one of the configured
//! issuers (an exact match; it only selects whose keys to use, it never
//! locates them) → key by kid from THAT issuer's set (may refetch) →
//! RS256 signature over the raw `header.payload` bytes → claims.
//!
//! The cryptography is jsonwebtoken's: keys are its `DecodingKey`s, built
//! once per key set, and the signature is checked by
//! `jsonwebtoken::crypto::verify` ([`crate::jwks::verify_rs256`]). The rest
//! is ours rather than `jsonwebtoken::decode`, which is laxer (duplicate
//! JSON members, loosely typed claims, no Cognito rules) and parses the
//! header twice: strict framing, one decode per segment, typed claims.

use std::sync::Arc;

use crate::claims::{TokenUse, VerifiedClaims};
use crate::clock::Clock;
use crate::config::{JwksSettings, VerifierConfig};
use crate::jwks::{self, Fetcher, IssuerKeys, Lookup};
use crate::reason::Reason;
use crate::token::{self, Claims, Lite};

/// Why a token was refused. `detail` is a fixed text chosen by the
/// verifier, so it can never carry token content into a log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejection {
    pub reason: Reason,
    pub detail: &'static str,
}

impl Rejection {
    pub const fn new(reason: Reason, detail: &'static str) -> Self {
        Self { reason, detail }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.reason, self.detail)
    }
}

impl std::error::Error for Rejection {}

fn reject<T>(reason: Reason, detail: &'static str) -> Result<T, Rejection> {
    Err(Rejection { reason, detail })
}

struct Issuer {
    issuer: String,
    /// Every accepted `iss` of this pool (`ISSUER_FORMAT=both`: two).
    names: Vec<String>,
    keys: Arc<IssuerKeys>,
}

/// The verifier: configuration plus the per-issuer key caches. Build it once
/// per process and share it (`Arc<Verifier>`); the caches then survive
/// across invocations of a warm Lambda.
pub struct Verifier {
    issuers: Vec<Issuer>,
    client_ids: Vec<String>,
    leeway: i64,
    jwks: JwksSettings,
    clock: Arc<dyn Clock>,
    http: Arc<Fetcher>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field(
                "issuers",
                &self.issuers.iter().map(|i| &i.issuer).collect::<Vec<_>>(),
            )
            .field("client_ids", &self.client_ids)
            .field("leeway", &self.leeway)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// No I/O: embedded keys were parsed with the configuration, the HTTP
    /// client is built on the first fetch.
    pub fn new(config: VerifierConfig, clock: Arc<dyn Clock>) -> Self {
        let now = clock.now();
        let VerifierConfig {
            pools,
            client_ids,
            leeway_seconds,
            jwks,
            mut embedded_jwks,
        } = config;
        let issuers = pools
            .into_iter()
            .map(|p| {
                let embedded = embedded_jwks.remove(&p.pool_id);
                Issuer {
                    keys: Arc::new(IssuerKeys::new(p.jwks_url, embedded, now)),
                    issuer: p.issuer,
                    names: p.issuers,
                }
            })
            .collect();
        Self {
            issuers,
            client_ids,
            leeway: leeway_seconds,
            jwks,
            clock,
            http: Arc::new(Fetcher::default()),
        }
    }

    /// The configured issuers, in `USER_POOL_ID` order.
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.issuers
            .iter()
            .flat_map(|i| i.names.iter().map(String::as_str))
    }

    /// Full verification; `expected` is the `token_use` the route wants.
    pub async fn verify(
        &self,
        token: &str,
        expected: TokenUse,
    ) -> Result<VerifiedClaims, Rejection> {
        let mut payload = Vec::new();
        let framed = token::frame(token, &mut payload)?;
        let claims = &framed.unverified_claims;

        // `iss` only selects among configured issuers by exact match; an
        // unknown issuer is refused before any lookup or fetch.
        let iss = match &claims.iss {
            Some(Lite::Str(s)) => s.as_ref(),
            _ => return reject(Reason::InvalidClaims, "iss missing or not a string"),
        };
        let Some(issuer) = self
            .issuers
            .iter()
            .find(|i| i.names.iter().any(|n| n == iss))
        else {
            return reject(Reason::WrongIssuer, "iss is not a configured user pool");
        };

        let key = match issuer
            .keys
            .lookup(&framed.header.kid, &self.clock, &self.jwks, &self.http)
            .await
        {
            Lookup::Found(k) => k,
            Lookup::Refused(why) => return reject(Reason::KeyMismatch, why),
            Lookup::Unknown => {
                return reject(Reason::KidUnknown, "no key with this kid for the issuer");
            }
            Lookup::Unavailable => {
                return reject(
                    Reason::JwksUnavailable,
                    "the issuer's key set could not be obtained",
                );
            }
        };
        if !jwks::verify_rs256(&key, framed.signing_input, framed.signature) {
            return reject(Reason::BadSignature, "RS256 signature does not verify");
        }

        // From here on the claims are authentic and from `issuer`.
        self.check_claims(claims, iss, expected)
    }

    fn check_claims(
        &self,
        c: &Claims<'_>,
        issuer: &str,
        expected: TokenUse,
    ) -> Result<VerifiedClaims, Rejection> {
        // Types first: a claim of the wrong type is never read as "absent".
        let token_use = match &c.token_use {
            Some(Lite::Str(s)) if s == "access" => TokenUse::Access,
            Some(Lite::Str(s)) if s == "id" => TokenUse::Id,
            _ => {
                return reject(
                    Reason::InvalidClaims,
                    "token_use is not \"access\" or \"id\"",
                );
            }
        };
        let exp = time(&c.exp)?.ok_or(Rejection::new(Reason::InvalidClaims, "exp missing"))?;
        let iat = time(&c.iat)?.ok_or(Rejection::new(Reason::InvalidClaims, "iat missing"))?;
        let nbf = time(&c.nbf)?;
        let auth_time = time(&c.auth_time)?.unwrap_or(0);
        let sub = match opt_str(&c.sub)? {
            Some(s) if !s.is_empty() => s,
            _ => return reject(Reason::InvalidClaims, "sub missing or empty"),
        };
        let origin_jti = opt_str(&c.origin_jti)?;
        opt_str(&c.jti)?;
        let (client_claim, username_claim) = match token_use {
            TokenUse::Access => (&c.client_id, &c.username),
            TokenUse::Id => (&c.aud, &c.cognito_username),
        };
        let client_id = match client_claim {
            Some(Lite::Str(s)) => s.as_ref(),
            _ => {
                return reject(
                    Reason::InvalidClaims,
                    "client_id/aud missing or not a string",
                );
            }
        };
        let username = opt_str(username_claim)?.unwrap_or_default();
        let scopes = match (token_use, &c.scope) {
            (_, None) => Vec::new(),
            (TokenUse::Access, Some(Lite::Str(s))) => scope_list(s)?,
            (TokenUse::Id, Some(Lite::Str(_))) => Vec::new(),
            _ => return reject(Reason::InvalidClaims, "scope is not a string"),
        };
        let groups = match &c.cognito_groups {
            None => Vec::new(),
            Some(Lite::Array(a)) => group_list(a)?,
            Some(_) => return reject(Reason::InvalidClaims, "cognito:groups is not an array"),
        };

        // Then the decisions, each byte-exact.
        if token_use != expected {
            return reject(
                Reason::WrongTokenUse,
                "token_use is not the one the route wants",
            );
        }
        if !self.client_ids.iter().any(|id| id == client_id) {
            return reject(
                Reason::WrongClient,
                "client_id/aud is not an accepted app client",
            );
        }
        let now = self.clock.now();
        let leeway = self.leeway;
        if now > exp.saturating_add(leeway) {
            return reject(Reason::Expired, "exp has passed");
        }
        if let Some(nbf) = nbf
            && nbf > now.saturating_add(leeway)
        {
            return reject(Reason::NotYetValid, "nbf is in the future");
        }
        if iat > now.saturating_add(leeway) {
            return reject(Reason::IssuedInFuture, "iat is in the future");
        }

        Ok(VerifiedClaims {
            sub,
            username,
            client_id: client_id.to_owned(),
            issuer: issuer.to_owned(),
            token_use,
            scopes,
            groups,
            auth_time,
            origin_jti,
            exp,
            iat,
        })
    }
}

/// A NumericDate as Cognito writes it: a non-negative JSON integer that
/// fits i64. Floats, strings, null, booleans and huge values are refused.
fn time(claim: &Option<Lite<'_>>) -> Result<Option<i64>, Rejection> {
    match claim {
        None => Ok(None),
        Some(Lite::UInt(t)) => match i64::try_from(*t) {
            Ok(t) => Ok(Some(t)),
            Err(_) => reject(
                Reason::InvalidClaims,
                "a time claim is not a non-negative integer",
            ),
        },
        Some(Lite::Int(_) | Lite::Float) => reject(
            Reason::InvalidClaims,
            "a time claim is not a non-negative integer",
        ),
        Some(_) => reject(Reason::InvalidClaims, "a time claim is not a number"),
    }
}

fn opt_str(claim: &Option<Lite<'_>>) -> Result<Option<String>, Rejection> {
    match claim {
        None => Ok(None),
        Some(Lite::Str(s)) => Ok(Some(s.as_ref().to_owned())),
        Some(_) => reject(
            Reason::InvalidClaims,
            "a string claim has another JSON type",
        ),
    }
}

/// RFC 6749 §3.3: `scope-token *( SP scope-token )`. Double, leading or
/// trailing spaces are refused rather than normalised.
fn scope_list(s: &str) -> Result<Vec<String>, Rejection> {
    let mut out = Vec::new();
    for tok in s.split(' ') {
        if tok.is_empty() || tok.chars().any(char::is_whitespace) {
            return reject(Reason::InvalidClaims, "scope is not a space-separated list");
        }
        out.push(tok.to_owned());
    }
    Ok(out)
}

/// Group names travel space-joined in the authorizer context, so one with
/// whitespace (Cognito forbids it) could forge another: refused.
fn group_list(a: &[Lite<'_>]) -> Result<Vec<String>, Rejection> {
    a.iter()
        .map(|g| match g {
            Lite::Str(s) if !s.is_empty() && !s.chars().any(char::is_whitespace) => {
                Ok(s.as_ref().to_owned())
            }
            _ => reject(
                Reason::InvalidClaims,
                "cognito:groups holds a non-string or blank name",
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifier_is_shareable_across_tasks() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Verifier>();
        assert_send_sync::<Rejection>();
    }

    #[test]
    fn scope_grammar() {
        assert_eq!(scope_list("a b").unwrap(), ["a", "b"]);
        for bad in ["", " a", "a ", "a  b", "a\tb", "a\nb"] {
            assert_eq!(
                scope_list(bad).unwrap_err().reason,
                Reason::InvalidClaims,
                "{bad:?}"
            );
        }
    }
}
