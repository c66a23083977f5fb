//! The Lambda handler: event → token → verified claims → rule → answer.
//!
//! | Outcome | REST (`REQUEST`/`TOKEN`) | HTTP API v2 | API Gateway answers |
//! |---|---|---|---|
//! | token missing, malformed, expired, bad signature, wrong `token_use`, … | error `Unauthorized` | error `Unauthorized` | 401 |
//! | valid token, route's rule not met / no rule matches | policy not allowing the route | `isAuthorized: false` | 403 |
//! | valid token, rule met | policy allowing every entitled route | `isAuthorized: true` | backend called |
//! | JWKS unobtainable, malformed `methodArn` or event | error other than `Unauthorized` | same | 500 |
//!
//! A malformed `methodArn` or event comes from API Gateway, not the caller,
//! so it is an internal error (500), never a 401 the client could "fix".
//!
//! HTTP API simple responses are not route-scoped: with caching on and the
//! identity source only `$request.header.Authorization`, one route's `true`
//! would be reused for every route. Disable authorizer caching for HTTP APIs,
//! or add `$context.routeKey` to the identity sources.

use std::sync::Arc;

use auth_context::AuthorizerContext;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::claims::{PrincipalType, TokenUse, VerifiedClaims};
use crate::clock::{Clock, SystemClock};
use crate::config::{self, VerifierConfig};
use crate::event::{AuthorizerEvent, Credential};
use crate::policy::{self, MethodArn, PolicyCache};
use crate::reason::Reason;
use crate::rules::{self, RuleSet, RulesError};
use crate::verifier::Verifier;

/// The environment variable holding the route rules.
pub const AUTH_RULES: &str = "AUTH_RULES";

/// The configuration could not be used; the function must not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid authorizer configuration: {0}")]
    Verifier(#[from] config::ConfigError),
    #[error("invalid authorizer configuration: {0}")]
    Rules(#[from] RulesError),
}

/// Why the handler fails instead of answering with a policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthorizerError {
    /// API Gateway turns exactly this message into a 401.
    #[error("Unauthorized")]
    Unauthorized,
    /// Anything else becomes a 500: never an allow, never a 401.
    #[error("authorizer internal error: {0}")]
    Internal(String),
}

impl From<AuthorizerError> for lambda_runtime::Diagnostic {
    fn from(e: AuthorizerError) -> Self {
        let error_type = match e {
            AuthorizerError::Unauthorized => "Unauthorized",
            AuthorizerError::Internal(_) => "InternalError",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

/// Verifier, rules and the policies built so far. Build once per process.
pub struct Authorizer {
    verifier: Verifier,
    rules: Option<RuleSet>,
    policies: PolicyCache,
    /// Where one EMF metrics line per invocation goes (stdout on Lambda).
    emf: Option<MetricsSink>,
}

/// Receives each invocation's EMF line.
pub type MetricsSink = Arc<dyn Fn(&str) + Send + Sync>;

impl std::fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authorizer")
            .field("verifier", &self.verifier)
            .field("rules", &self.rules.as_ref().map(|r| r.rules().len()))
            .field("emf", &self.emf.is_some())
            .finish_non_exhaustive()
    }
}

impl Authorizer {
    pub fn new(verifier: Verifier, rules: Option<RuleSet>) -> Self {
        Self {
            verifier,
            rules,
            policies: PolicyCache::default(),
            emf: None,
        }
    }

    /// From any variable lookup (tests pass a map). No I/O.
    pub fn from_lookup(
        get: impl Fn(&str) -> Option<String>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        let config = VerifierConfig::from_lookup(&get)?;
        let rules = RuleSet::from_env_value(get(AUTH_RULES).as_deref())?;
        Ok(Self::new(Verifier::new(config, clock), rules))
    }

    /// From the process environment, with the system clock.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok(), Arc::new(SystemClock))
    }

    /// Emit CloudWatch EMF metrics (see [`crate::metrics`]) per invocation.
    pub fn with_metrics(mut self, on: bool) -> Self {
        self.emf = on.then(|| -> MetricsSink { Arc::new(crate::metrics::write_stdout) });
        self
    }

    /// Metrics lines to `sink` instead (tests).
    pub fn with_metrics_sink(mut self, sink: MetricsSink) -> Self {
        self.emf = Some(sink);
        self
    }

    pub fn rules(&self) -> Option<&RuleSet> {
        self.rules.as_ref()
    }

    /// Convenience over [`Authorizer::handle_json`] for JSON values.
    pub async fn handle(&self, event: Value) -> Result<Value, AuthorizerError> {
        let bytes =
            serde_json::to_vec(&event).map_err(|e| AuthorizerError::Internal(e.to_string()))?;
        let out = self.handle_json(&bytes, None).await?;
        serde_json::from_str(&out).map_err(|e| AuthorizerError::Internal(e.to_string()))
    }

    /// The event as JSON bytes → the response as JSON text.
    /// `lambda_request_id` names the invocation in logs when the event
    /// carries no `requestContext.requestId` (TOKEN events).
    pub async fn handle_json(
        &self,
        event: &[u8],
        lambda_request_id: Option<&str>,
    ) -> Result<String, AuthorizerError> {
        let raw = self.handle_raw(event, lambda_request_id).await?;
        Ok(Box::<str>::from(raw).into())
    }

    /// As [`Authorizer::handle_json`], the response as raw JSON that
    /// `lambda_runtime` writes out as it is: serialised once, never parsed
    /// back (`RawValue::from_string` would re-parse it on every call).
    pub async fn handle_raw(
        &self,
        event: &[u8],
        lambda_request_id: Option<&str>,
    ) -> Result<Box<RawValue>, AuthorizerError> {
        let reason = std::cell::Cell::new("internal");
        let out = self.handle_inner(event, lambda_request_id, &reason).await;
        if let Some(sink) = &self.emf {
            let ts = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis());
            sink(&crate::metrics::emf_line(reason.get(), ts));
        }
        out
    }

    async fn handle_inner(
        &self,
        event: &[u8],
        lambda_request_id: Option<&str>,
        reason_out: &std::cell::Cell<&'static str>,
    ) -> Result<Box<RawValue>, AuthorizerError> {
        let event = match AuthorizerEvent::parse(event) {
            Ok(e) => e,
            Err(e) => {
                // `e` names a category and a position, never input bytes.
                tracing::error!(
                    request_id = lambda_request_id.unwrap_or(""),
                    decision = "error",
                    reason = "bad_event",
                    category = e.category(),
                    detail = %e,
                    "authorizer decision"
                );
                reason_out.set("bad_event");
                return Err(AuthorizerError::Internal(format!("bad_event: {e}")));
            }
        };
        let mut log = Decision {
            request_id: event.request_id().or(lambda_request_id).unwrap_or(""),
            kind: event.kind(),
            method: "",
            path: "",
            rule: "",
            sub: "",
            reason: reason_out,
        };

        let (method, path, arn) = match &event {
            AuthorizerEvent::RestRequest { method_arn, .. }
            | AuthorizerEvent::RestToken { method_arn, .. } => match MethodArn::parse(method_arn) {
                Ok(arn) => (arn.method, arn.path, Some(arn)),
                Err(e) => return Err(log.error("bad_method_arn", e.to_string())),
            },
            AuthorizerEvent::HttpV2 {
                method, raw_path, ..
            } => (*method, raw_path.as_ref(), None),
        };
        log.method = method.as_str();
        let Some(segments) = rules::split_path(path) else {
            return Err(log.error("bad_path", "request path does not start with `/`".into()));
        };
        // REST's methodArn path is already decoded; HTTP API's rawPath is
        // not: decode per segment so both match rules alike.
        let decoded: Vec<std::borrow::Cow<'_, str>> = if arn.is_none() {
            match segments.map(crate::event::decode_segment).collect() {
                Some(d) => d,
                None => {
                    return Err(
                        log.error("bad_path", "malformed percent-encoding in rawPath".into())
                    );
                }
            }
        } else {
            segments.map(std::borrow::Cow::Borrowed).collect()
        };
        log.path = path;
        let segments: Vec<&str> = decoded.iter().map(|s| s.as_ref()).collect();

        let winner = self
            .rules
            .as_ref()
            .and_then(|r| r.route_for(method, &segments).map(|i| (r, i)));
        if let Some((r, i)) = winner {
            log.rule = r.rules()[i].route.as_str();
        }
        let expected = winner.map_or(TokenUse::Access, |(r, i)| r.rules()[i].token_use);

        let Some(token) = event.credential().token() else {
            let detail = match event.credential() {
                Credential::Missing => "no token",
                Credential::Ambiguous => "several Authorization headers",
                Credential::Present(_) => "not `Bearer <token>` or a bare token",
            };
            return Err(log.unauthorized(Reason::Malformed, detail));
        };
        let claims = match self.verifier.verify(token, expected).await {
            Ok(c) => c,
            Err(rej) if rej.reason.is_internal() => {
                return Err(log.error(rej.reason.as_str(), rej.detail.to_owned()));
            }
            Err(rej) => return Err(log.unauthorized(rej.reason, rej.detail)),
        };
        log.sub = &claims.sub;

        let outcome = self.decide(&claims, method, &segments, arn);
        log.rule = match (&self.rules, outcome.rule) {
            (Some(r), Some(i)) => r.rules()[i].route.as_str(),
            _ => "",
        };
        match outcome.fallback {
            Fallback::None => {}
            Fallback::SingleRoute => tracing::warn!(
                request_id = log.request_id,
                rule = log.rule,
                "policy_not_cache_safe: allowing only this methodArn; use a route-aware identity source or TTL 0"
            ),
            Fallback::DenyAll => tracing::error!(
                request_id = log.request_id,
                "policy would allow a denied route; denying"
            ),
        }
        let verdict = outcome.verdict;
        let context = ContextRef(&claims);
        let out = match &outcome.policy {
            None => serde_json::value::to_raw_value(&SimpleResponse {
                is_authorized: verdict.is_ok(),
                context,
            }),
            Some(document) => serde_json::value::to_raw_value(&PolicyResponse {
                principal_id: &claims.sub,
                policy_document: document.document(),
                context,
            }),
        };
        let out = out.map_err(|e| log.error("internal", e.to_string()))?;
        log.decided(verdict);
        Ok(out)
    }

    /// The decision for verified claims on a request, and the policy
    /// returned with it (REST only; `arn: None` is HTTP API v2). This is
    /// everything the handler does after the verifier, as one pure step so
    /// that the property tests check exactly what runs. The deciding rule is
    /// the most specific one admitting the caller's principal type.
    pub fn decide(
        &self,
        claims: &VerifiedClaims,
        method: rules::Method,
        segments: &[&str],
        arn: Option<MethodArn<'_>>,
    ) -> Outcome {
        let principal = claims.principal_type();
        let mut rule = None;
        let (mask, verdict) = match &self.rules {
            // No rules: any valid user token; a machine token has no route.
            None if principal == PrincipalType::Machine => (0, Err(Reason::PrincipalNotAllowed)),
            None => (0, Ok(())),
            Some(r) => {
                let mask = r.entitlements(claims);
                rule = r.route_for_principal(method, segments, principal);
                let verdict = match rule {
                    None if r.any_matches(method, segments) => Err(Reason::PrincipalNotAllowed),
                    None => Err(Reason::NoMatchingRule),
                    Some(i) if mask & (1 << i) != 0 => Ok(()),
                    Some(i) => Err(r.rules()[i]
                        .check(claims)
                        .err()
                        .unwrap_or(Reason::NoMatchingRule)),
                };
                (mask, verdict)
            }
        };
        let Some(arn) = arn else {
            return Outcome {
                verdict,
                rule,
                policy: None,
                fallback: Fallback::None,
            };
        };
        if self.rules.is_none() && verdict.is_err() {
            return Outcome {
                verdict,
                rule,
                policy: Some(PolicyDocument::Owned(policy::deny_document(arn.prefix))),
                fallback: Fallback::None,
            };
        }
        let allowed = verdict.is_ok();
        let rendered = self
            .policies
            .get(self.rules.as_ref(), principal, arn.prefix, mask);
        let plan = &rendered.plan;
        // Proven not to happen for an unconflicted plan (see
        // `policy::Plan::build`); checked anyway where it is cheap, and
        // always for conflicted plans, failing closed.
        let (policy, fallback) =
            if allowed && plan.is_conflicted() && !plan.allows(method, segments) {
                (
                    PolicyDocument::Owned(policy::single_route_document(&arn)),
                    Fallback::SingleRoute,
                )
            } else if !allowed && plan.allows(method, segments) {
                (
                    PolicyDocument::Owned(policy::deny_document(arn.prefix)),
                    Fallback::DenyAll,
                )
            } else {
                (PolicyDocument::Cached(rendered), Fallback::None)
            };
        Outcome {
            verdict,
            rule,
            policy: Some(policy),
            fallback,
        }
    }
}

/// What [`Authorizer::decide`] concluded.
#[derive(Debug)]
pub struct Outcome {
    /// Allowed, or the reason it is not.
    pub verdict: Result<(), Reason>,
    /// The deciding rule (an index into `AUTH_RULES`), if one matched.
    pub rule: Option<usize>,
    /// The `policyDocument` (REST); `None` for HTTP API v2.
    pub policy: Option<PolicyDocument>,
    /// Whether the entitlement policy had to be replaced for this request.
    pub fallback: Fallback,
}

/// A `policyDocument`: the cached one of the entitlement set, or one built
/// for this request only.
#[derive(Debug)]
pub enum PolicyDocument {
    Cached(Arc<policy::Rendered>),
    Owned(Box<RawValue>),
}

impl PolicyDocument {
    pub fn document(&self) -> &RawValue {
        match self {
            PolicyDocument::Cached(r) => &r.document,
            PolicyDocument::Owned(d) => d,
        }
    }
}

/// Why the entitlement policy was not returned as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    None,
    /// Conflicted plan not covering this request: only its `methodArn`.
    SingleRoute,
    /// The plan would allow a denied request (never expected): deny all.
    DenyAll,
}

/// REST authorizer answer (`REQUEST` and `TOKEN`).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct PolicyResponse<'a> {
    principal_id: &'a str,
    policy_document: &'a RawValue,
    context: ContextRef<'a>,
}

/// HTTP API payload 2.0 simple response.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct SimpleResponse<'a> {
    is_authorized: bool,
    context: ContextRef<'a>,
}

/// The backend's view of the caller, scalars only (REST forbids others).
pub fn context_of(claims: &VerifiedClaims) -> AuthorizerContext {
    AuthorizerContext {
        sub: claims.sub.clone(),
        username: claims.username.clone(),
        client_id: claims.client_id.clone(),
        issuer: claims.issuer.clone(),
        token_use: claims.token_use.as_str().to_owned(),
        principal_type: claims.principal_type().as_str().to_owned(),
        scope: claims.scopes.join(" "),
        groups: claims.groups.join(" "),
        auth_time: claims.auth_time,
        origin_jti: claims.origin_jti.clone().unwrap_or_default(),
        expires_at: claims.exp,
    }
}

/// [`context_of`] serialised without building it: the same keys (from
/// `auth_context::keys`), written straight from the claims. Hot path.
struct ContextRef<'a>(&'a VerifiedClaims);

impl serde::Serialize for ContextRef<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use auth_context::keys;
        use serde::ser::SerializeMap;
        let c = self.0;
        let mut m = s.serialize_map(Some(10))?;
        m.serialize_entry(keys::SUB, &c.sub)?;
        m.serialize_entry(keys::USERNAME, &c.username)?;
        m.serialize_entry(keys::CLIENT_ID, &c.client_id)?;
        m.serialize_entry(keys::ISSUER, &c.issuer)?;
        m.serialize_entry(keys::TOKEN_USE, c.token_use.as_str())?;
        m.serialize_entry(keys::PRINCIPAL_TYPE, c.principal_type().as_str())?;
        // `join` then one string: serde's `collect_str` would go through
        // `fmt` and an escaping adaptor per fragment, several times slower.
        m.serialize_entry(keys::SCOPE, &c.scopes.join(" "))?;
        m.serialize_entry(keys::GROUPS, &c.groups.join(" "))?;
        m.serialize_entry(keys::AUTH_TIME, &c.auth_time)?;
        m.serialize_entry(keys::ORIGIN_JTI, c.origin_jti.as_deref().unwrap_or(""))?;
        // Token revocation (issue 11): how long a sign-out must be remembered.
        m.serialize_entry(keys::EXPIRES_AT, &c.exp.to_string())?;
        m.end()
    }
}

/// What one decision log line says. Never the token or a header.
struct Decision<'a> {
    request_id: &'a str,
    kind: &'static str,
    method: &'static str,
    path: &'a str,
    rule: &'a str,
    sub: &'a str,
    /// The reason code for the metrics line.
    reason: &'a std::cell::Cell<&'static str>,
}

impl Decision<'_> {
    fn unauthorized(&self, reason: Reason, detail: &str) -> AuthorizerError {
        self.reason.set(reason.as_str());
        tracing::info!(
            request_id = self.request_id,
            event = self.kind,
            decision = "unauthorized",
            reason = reason.as_str(),
            detail,
            method = self.method,
            path = self.path,
            rule = self.rule,
            "authorizer decision"
        );
        AuthorizerError::Unauthorized
    }

    fn error(&self, reason: &'static str, detail: String) -> AuthorizerError {
        self.reason.set(reason);
        tracing::error!(
            request_id = self.request_id,
            event = self.kind,
            decision = "error",
            reason,
            detail = detail.as_str(),
            method = self.method,
            path = self.path,
            rule = self.rule,
            "authorizer decision"
        );
        AuthorizerError::Internal(reason.to_owned())
    }

    fn decided(&self, verdict: Result<(), Reason>) {
        let (decision, reason) = match verdict {
            Ok(()) => ("allow", ""),
            Err(r) => ("deny", r.as_str()),
        };
        self.reason
            .set(if reason.is_empty() { "allowed" } else { reason });
        tracing::info!(
            request_id = self.request_id,
            event = self.kind,
            decision,
            reason,
            method = self.method,
            path = self.path,
            rule = self.rule,
            sub = self.sub,
            "authorizer decision"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hot_path_context_equals_the_auth_context_serialisation() {
        let claims = VerifiedClaims {
            sub: "s\"1".into(),
            username: "u".into(),
            client_id: "c".into(),
            issuer: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X".into(),
            token_use: TokenUse::Id,
            scopes: vec!["a/b".into(), "c".into()],
            groups: vec!["g1".into(), "g2".into()],
            auth_time: 12,
            origin_jti: Some("o".into()),
            exp: 0,
            iat: 0,
        };
        let fast: Value = serde_json::to_value(ContextRef(&claims)).unwrap();
        assert_eq!(fast, serde_json::to_value(context_of(&claims)).unwrap());
        let none = VerifiedClaims {
            scopes: vec![],
            groups: vec![],
            origin_jti: None,
            ..claims
        };
        let fast: Value = serde_json::to_value(ContextRef(&none)).unwrap();
        assert_eq!(fast, serde_json::to_value(context_of(&none)).unwrap());
    }
}
