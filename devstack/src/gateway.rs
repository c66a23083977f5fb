//! A local stand-in for an API Gateway REST API with a Lambda REQUEST
//! authorizer and Lambda proxy integrations, faithful where it matters for
//! auth:
//!
//! - requests are served under the stage prefix (`/<stage>/…`); an unknown
//!   resource or method is the `MISSING_AUTHENTICATION_TOKEN` response;
//! - an identity source header missing or empty → `UNAUTHORIZED` (401)
//!   without invoking the authorizer;
//! - the authorizer gets a REQUEST event with the request's `methodArn`; its
//!   result is cached per identity-source value for `ReauthorizeEvery`;
//! - the returned policy is evaluated against the request's method ARN with
//!   IAM wildcard matching ([`crate::policy`]); not allowed → `ACCESS_DENIED`
//!   (403); the error `Unauthorized` → 401; any other authorizer failure or a
//!   malformed answer → `AUTHORIZER_CONFIGURATION_ERROR` (500);
//! - on allow, `principalId` and the context land in
//!   `requestContext.authorizer` of the proxy event; a function error or a
//!   malformed proxy response → 502 like API Gateway;
//! - gateway responses (status, headers, body template) come from the
//!   template's `GatewayResponses`, falling back to `DEFAULT_4XX/5XX` and to
//!   API Gateway's defaults.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use serde_json::{Map, Value, json};

use crate::invoke::{InvokeError, Invoker};
use crate::policy::{self, Decision};
use crate::template::{ApiRoute, ApiSettings, GatewayResponse, PSEUDO_ACCOUNT_ID};

/// Largest request body accepted (API Gateway's payload limit is 10 MB).
const MAX_BODY: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub stage: String,
    pub region: String,
    pub account_id: String,
    pub api_id: String,
    /// Authorizer result cache TTL (zero: every request is authorized afresh).
    pub reauthorize_every: Duration,
    pub identity_headers: Vec<String>,
    /// Function name of the authorizer at the invoke endpoint.
    pub authorizer_function: String,
    pub routes: Vec<ApiRoute>,
    pub gateway_responses: BTreeMap<String, GatewayResponse>,
    /// Preflight response headers (the API's `Cors`), if any.
    pub cors: Option<BTreeMap<String, String>>,
}

impl GatewayConfig {
    pub fn from_api(api: &ApiSettings, region: &str) -> Self {
        Self {
            stage: api.stage.clone(),
            region: region.to_owned(),
            account_id: PSEUDO_ACCOUNT_ID.to_owned(),
            api_id: "devstack".to_owned(),
            reauthorize_every: Duration::from_secs(api.reauthorize_every),
            identity_headers: api.identity_headers.clone(),
            authorizer_function: "authorizer".to_owned(),
            routes: api.routes.clone(),
            gateway_responses: api.gateway_responses.clone(),
            cors: api.cors.clone(),
        }
    }
}

#[derive(Debug, Clone)]
struct CachedAuth {
    principal_id: String,
    policy: Value,
    context: Map<String, Value>,
    expires: Instant,
}

/// The gateway: configuration, the authorizer cache, and counters a test can
/// read to see what happened on the wire.
#[derive(Debug)]
pub struct Gateway {
    cfg: GatewayConfig,
    invoker: Invoker,
    cache: Mutex<HashMap<String, CachedAuth>>,
    authorizer_invocations: AtomicU64,
    request_seq: AtomicU64,
}

enum Reject {
    Unauthorized,
    ExplicitDeny,
    ImplicitDeny,
    AuthorizerError,
}

impl Gateway {
    pub fn new(cfg: GatewayConfig, invoker: Invoker) -> Arc<Self> {
        Arc::new(Self {
            cfg,
            invoker,
            cache: Mutex::new(HashMap::new()),
            authorizer_invocations: AtomicU64::new(0),
            request_seq: AtomicU64::new(0),
        })
    }

    pub fn config(&self) -> &GatewayConfig {
        &self.cfg
    }

    /// How many times the authorizer function was invoked so far.
    pub fn authorizer_invocations(&self) -> u64 {
        self.authorizer_invocations.load(Ordering::SeqCst)
    }

    /// Serves on `listener` until the future is dropped.
    pub async fn serve(self: Arc<Self>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        let app = axum::Router::new().fallback(handle).with_state(self);
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    }

    fn method_arn(&self, method: &str, path: &str) -> String {
        format!(
            "arn:aws:execute-api:{}:{}:{}/{}/{}/{}",
            self.cfg.region,
            self.cfg.account_id,
            self.cfg.api_id,
            self.cfg.stage,
            method,
            path.trim_start_matches('/')
        )
    }

    fn request_id(&self) -> String {
        let n = self.request_seq.fetch_add(1, Ordering::Relaxed);
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        format!(
            "{:08x}-{:04x}-4000-8000-{:012x}",
            t.as_secs() & 0xffff_ffff,
            n & 0xffff,
            t.subsec_nanos()
        )
    }

    /// Builds a gateway response of `kind` (e.g. `UNAUTHORIZED`) the way API
    /// Gateway does: the template's override if any, else `DEFAULT_4XX/5XX`,
    /// else the built-in `{"message":$context.error.messageString}`.
    fn gateway_response(
        &self,
        kind: &str,
        status: u16,
        error_type: &str,
        message: Option<&str>,
    ) -> Response {
        let default_kind = if status >= 500 {
            "DEFAULT_5XX"
        } else {
            "DEFAULT_4XX"
        };
        let specific = self.cfg.gateway_responses.get(kind);
        let fallback = self.cfg.gateway_responses.get(default_kind);
        let status = specific.and_then(|g| g.status).unwrap_or(status);
        let template = specific
            .and_then(|g| g.template.clone())
            .or_else(|| fallback.and_then(|g| g.template.clone()))
            .unwrap_or_else(|| r#"{"message":$context.error.messageString}"#.to_owned());
        let quoted = message.map_or_else(
            || "null".to_owned(),
            |m| Value::String(m.to_owned()).to_string(),
        );
        let body = template
            .replace("$context.error.messageString", &quoted)
            .replace("$context.error.message", message.unwrap_or(""));
        let mut resp = Response::new(Body::from(body));
        *resp.status_mut() =
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let h = resp.headers_mut();
        h.insert("content-type", HeaderValue::from_static("application/json"));
        if let Ok(v) = HeaderValue::from_str(error_type) {
            h.insert("x-amzn-errortype", v);
        }
        // Specific headers override the default response type's.
        for g in [fallback, specific].into_iter().flatten() {
            for (k, v) in &g.headers {
                if let (Ok(k), Ok(v)) = (
                    HeaderName::from_bytes(k.as_bytes()),
                    HeaderValue::from_str(v),
                ) {
                    h.insert(k, v);
                }
            }
        }
        resp
    }

    fn reject(&self, r: Reject) -> Response {
        match r {
            Reject::Unauthorized => self.gateway_response(
                "UNAUTHORIZED",
                401,
                "UnauthorizedException",
                Some("Unauthorized"),
            ),
            Reject::ExplicitDeny => self.gateway_response(
                "ACCESS_DENIED",
                403,
                "AccessDeniedException",
                Some("User is not authorized to access this resource with an explicit deny"),
            ),
            Reject::ImplicitDeny => self.gateway_response(
                "ACCESS_DENIED",
                403,
                "AccessDeniedException",
                Some("User is not authorized to access this resource"),
            ),
            Reject::AuthorizerError => self.gateway_response(
                "AUTHORIZER_CONFIGURATION_ERROR",
                500,
                "AuthorizerConfigurationException",
                None,
            ),
        }
    }

    /// Runs the authorizer (or takes its cached answer) and evaluates the
    /// policy for this request's method ARN.
    async fn authorize(
        &self,
        req: &RequestParts,
        route: &ApiRoute,
        params: &BTreeMap<String, String>,
    ) -> Result<(String, Map<String, Value>), Reject> {
        let mut identity = Vec::new();
        for name in &self.cfg.identity_headers {
            match req.header(name) {
                Some(v) if !v.trim().is_empty() => identity.push(v.to_owned()),
                _ => return Err(Reject::Unauthorized),
            }
        }
        let cache_key = identity.join(",");
        let method_arn = self.method_arn(&req.method, &req.path);
        let ttl = self.cfg.reauthorize_every;
        let cached = if ttl.is_zero() {
            None
        } else {
            let now = Instant::now();
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            cache.retain(|_, c| c.expires > now);
            cache.get(&cache_key).cloned()
        };
        let auth = match cached {
            Some(c) => c,
            None => {
                let event = authorizer_event(req, route, params, &method_arn, self);
                self.authorizer_invocations.fetch_add(1, Ordering::SeqCst);
                let answer = match self
                    .invoker
                    .invoke(&self.cfg.authorizer_function, &event)
                    .await
                {
                    Ok(v) => v,
                    Err(InvokeError::Function { error_message, .. })
                        if error_message == "Unauthorized" =>
                    {
                        return Err(Reject::Unauthorized);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "authorizer failed");
                        return Err(Reject::AuthorizerError);
                    }
                };
                let auth = parse_authorizer_answer(&answer, Instant::now() + ttl).ok_or_else(|| {
                    tracing::warn!("authorizer answered without a principalId, a policy or with a non-scalar context");
                    Reject::AuthorizerError
                })?;
                if !ttl.is_zero() {
                    let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
                    cache.insert(cache_key, auth.clone());
                }
                auth
            }
        };
        match policy::evaluate(&auth.policy, &method_arn) {
            Decision::Allow => Ok((auth.principal_id, auth.context)),
            Decision::ExplicitDeny => Err(Reject::ExplicitDeny),
            Decision::ImplicitDeny => Err(Reject::ImplicitDeny),
        }
    }

    async fn handle(&self, req: RequestParts) -> Response {
        let Some(path) = req
            .raw_path
            .strip_prefix(&format!("/{}", self.cfg.stage))
            .filter(|p| p.starts_with('/') || p.is_empty())
        else {
            return self.missing_route();
        };
        let path = if path.is_empty() { "/" } else { path };
        let req = RequestParts {
            path: path.to_owned(),
            ..req
        };
        // SAM answers CORS preflights with a mock integration on every
        // resource, without the authorizer.
        if req.method == "OPTIONS"
            && let Some(cors) = &self.cfg.cors
            && self.match_route("ANY", &req.path).is_some()
        {
            let mut resp = Response::new(Body::empty());
            for (k, v) in cors {
                if let (Ok(k), Ok(v)) = (
                    HeaderName::from_bytes(k.as_bytes()),
                    HeaderValue::from_str(v),
                ) {
                    resp.headers_mut().insert(k, v);
                }
            }
            return resp;
        }
        let Some((route, params)) = self.match_route(&req.method, &req.path) else {
            return self.missing_route();
        };
        let authorizer = if route.authorized {
            match self.authorize(&req, route, &params).await {
                Ok((principal, mut context)) => {
                    context.insert("principalId".to_owned(), Value::String(principal));
                    context.insert("integrationLatency".to_owned(), json!(0));
                    Some(context)
                }
                Err(r) => return self.reject(r),
            }
        } else {
            None
        };
        let event = proxy_event(&req, route, &params, authorizer, self);
        match self.invoker.invoke(&route.function, &event).await {
            Ok(v) => proxy_response(&v).unwrap_or_else(|| {
                tracing::warn!(function = %route.function, "malformed Lambda proxy response");
                self.internal_error()
            }),
            Err(e) => {
                tracing::warn!(function = %route.function, error = %e, "integration failed");
                self.internal_error()
            }
        }
    }

    fn missing_route(&self) -> Response {
        self.gateway_response(
            "MISSING_AUTHENTICATION_TOKEN",
            403,
            "MissingAuthenticationTokenException",
            Some("Missing Authentication Token"),
        )
    }

    fn internal_error(&self) -> Response {
        // What API Gateway answers when a proxy integration fails.
        let mut r = self.gateway_response(
            "DEFAULT_5XX",
            502,
            "InternalServerErrorException",
            Some("Internal server error"),
        );
        *r.status_mut() = StatusCode::BAD_GATEWAY;
        r
    }

    fn match_route(
        &self,
        method: &str,
        path: &str,
    ) -> Option<(&ApiRoute, BTreeMap<String, String>)> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let mut best: Option<(&ApiRoute, BTreeMap<String, String>, usize)> = None;
        for route in &self.cfg.routes {
            if route.method != method && route.method != "ANY" && method != "ANY" {
                continue;
            }
            let tpl: Vec<&str> = route.resource.trim_start_matches('/').split('/').collect();
            if tpl.len() != segments.len() {
                continue;
            }
            let mut params = BTreeMap::new();
            let mut literal = 0;
            let ok = tpl.iter().zip(&segments).all(|(t, s)| {
                if let Some(name) = t.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                    params.insert(name.to_owned(), percent_decode(s));
                    !s.is_empty()
                } else {
                    literal += 1;
                    t == s
                }
            });
            // API Gateway prefers literal segments over variables.
            if ok && best.as_ref().is_none_or(|(_, _, l)| literal > *l) {
                best = Some((route, params, literal));
            }
        }
        best.map(|(r, p, _)| (r, p))
    }
}

fn parse_authorizer_answer(v: &Value, expires: Instant) -> Option<CachedAuth> {
    let principal_id = v.get("principalId")?.as_str()?.to_owned();
    let policy = v.get("policyDocument")?.clone();
    if !policy.is_object() {
        return None;
    }
    let context = match v.get("context") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => {
            if m.values().any(|x| x.is_object() || x.is_array()) {
                return None;
            }
            m.clone()
        }
        Some(_) => return None,
    };
    Some(CachedAuth {
        principal_id,
        policy,
        context,
        expires,
    })
}

/// The parts of an HTTP request the events are built from.
#[derive(Debug, Clone)]
struct RequestParts {
    method: String,
    raw_path: String,
    /// Path without the stage prefix.
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
    body: Bytes,
    source_ip: String,
}

impl RequestParts {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn header_maps(&self) -> (Map<String, Value>, Map<String, Value>) {
        let mut single = Map::new();
        let mut multi: Map<String, Value> = Map::new();
        for (k, v) in &self.headers {
            single.insert(k.clone(), Value::String(v.clone()));
            match multi.get_mut(k) {
                Some(Value::Array(a)) => a.push(Value::String(v.clone())),
                _ => {
                    multi.insert(k.clone(), json!([v]));
                }
            }
        }
        (single, multi)
    }

    fn query_maps(&self) -> (Value, Value) {
        let Some(q) = self.query.as_deref().filter(|q| !q.is_empty()) else {
            return (Value::Null, Value::Null);
        };
        let mut single = Map::new();
        let mut multi: Map<String, Value> = Map::new();
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (k, v) = (
                percent_decode(&k.replace('+', " ")),
                percent_decode(&v.replace('+', " ")),
            );
            single.insert(k.clone(), Value::String(v.clone()));
            match multi.get_mut(&k) {
                Some(Value::Array(a)) => a.push(Value::String(v)),
                _ => {
                    multi.insert(k, json!([v]));
                }
            }
        }
        (Value::Object(single), Value::Object(multi))
    }
}

fn percent_decode(s: &str) -> String {
    let hex = |b: u8| (b as char).to_digit(16);
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn request_context(req: &RequestParts, route: &ApiRoute, gw: &Gateway) -> Map<String, Value> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mut ctx = Map::new();
    ctx.insert("accountId".into(), json!(gw.cfg.account_id));
    ctx.insert("apiId".into(), json!(gw.cfg.api_id));
    ctx.insert("resourceId".into(), json!("devres"));
    ctx.insert("resourcePath".into(), json!(route.resource));
    ctx.insert("httpMethod".into(), json!(req.method));
    ctx.insert(
        "path".into(),
        json!(format!("/{}{}", gw.cfg.stage, req.path)),
    );
    ctx.insert("stage".into(), json!(gw.cfg.stage));
    ctx.insert("requestId".into(), json!(gw.request_id()));
    ctx.insert("requestTimeEpoch".into(), json!(now.as_millis() as u64));
    ctx.insert("protocol".into(), json!("HTTP/1.1"));
    ctx.insert(
        "identity".into(),
        json!({"sourceIp": req.source_ip, "userAgent": req.header("user-agent")}),
    );
    ctx
}

fn authorizer_event(
    req: &RequestParts,
    route: &ApiRoute,
    params: &BTreeMap<String, String>,
    method_arn: &str,
    gw: &Gateway,
) -> Value {
    let (headers, multi_headers) = req.header_maps();
    let (query, multi_query) = req.query_maps();
    json!({
        "type": "REQUEST",
        "methodArn": method_arn,
        "resource": route.resource,
        "path": req.path,
        "httpMethod": req.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": params,
        "stageVariables": Value::Null,
        "requestContext": request_context(req, route, gw),
    })
}

fn proxy_event(
    req: &RequestParts,
    route: &ApiRoute,
    params: &BTreeMap<String, String>,
    authorizer: Option<Map<String, Value>>,
    gw: &Gateway,
) -> Value {
    let (headers, multi_headers) = req.header_maps();
    let (query, multi_query) = req.query_maps();
    let mut ctx = request_context(req, route, gw);
    if let Some(a) = authorizer {
        ctx.insert("authorizer".into(), Value::Object(a));
    }
    let (body, is_b64) = if req.body.is_empty() {
        (Value::Null, false)
    } else {
        match std::str::from_utf8(&req.body) {
            Ok(s) => (Value::String(s.to_owned()), false),
            Err(_) => (Value::String(B64.encode(&req.body)), true),
        }
    };
    json!({
        "resource": route.resource,
        "path": req.path,
        "httpMethod": req.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": if params.is_empty() { Value::Null } else { json!(params) },
        "stageVariables": Value::Null,
        "requestContext": ctx,
        "body": body,
        "isBase64Encoded": is_b64,
    })
}

/// Maps a Lambda proxy response to HTTP; `None` when it is malformed (API
/// Gateway answers 502 then).
fn proxy_response(v: &Value) -> Option<Response> {
    let status = v.get("statusCode").and_then(|s| match s {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    })?;
    let status = StatusCode::from_u16(u16::try_from(status).ok()?).ok()?;
    let body = match v.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => {
            if v.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
                B64.decode(s).ok()?
            } else {
                s.clone().into_bytes()
            }
        }
        Some(_) => return None,
    };
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    let h: &mut HeaderMap = resp.headers_mut();
    if let Some(Value::Object(hs)) = v.get("headers") {
        for (k, val) in hs {
            let val = match val {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            h.insert(
                HeaderName::from_bytes(k.as_bytes()).ok()?,
                HeaderValue::from_str(&val).ok()?,
            );
        }
    }
    if let Some(Value::Object(hs)) = v.get("multiValueHeaders") {
        for (k, vals) in hs {
            let name = HeaderName::from_bytes(k.as_bytes()).ok()?;
            h.remove(&name);
            for val in vals.as_array()? {
                h.append(name.clone(), HeaderValue::from_str(val.as_str()?).ok()?);
            }
        }
    }
    Some(resp)
}

async fn handle(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request<Body>,
) -> Response {
    let (parts, body) = req.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return gw.gateway_response(
            "REQUEST_TOO_LARGE",
            413,
            "RequestTooLargeException",
            Some("Request Too Long"),
        );
    };
    let headers = parts
        .headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect();
    let method = if parts.method == Method::HEAD {
        "HEAD".to_owned()
    } else {
        parts.method.as_str().to_owned()
    };
    let rp = RequestParts {
        method,
        raw_path: parts.uri.path().to_owned(),
        path: String::new(),
        query: parts.uri.query().map(str::to_owned),
        headers,
        body,
        source_ip: peer.ip().to_string(),
    };
    let started = Instant::now();
    let (method, path) = (rp.method.clone(), rp.raw_path.clone());
    let resp = gw.handle(rp).await;
    // Never the headers: they carry the token.
    tracing::info!(%method, %path, status = resp.status().as_u16(), ms = started.elapsed().as_millis() as u64, "request");
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_is_lenient_and_exact() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("x%2"), "x%2");
    }

    #[test]
    fn authorizer_answers_need_principal_policy_and_scalar_context() {
        let at = Instant::now();
        let ok = json!({"principalId":"u","policyDocument":{"Statement":[]},"context":{"a":"b","n":1,"t":true}});
        assert!(parse_authorizer_answer(&ok, at).is_some());
        assert!(parse_authorizer_answer(&json!({"policyDocument":{}}), at).is_none());
        assert!(parse_authorizer_answer(&json!({"principalId":"u"}), at).is_none());
        let nested = json!({"principalId":"u","policyDocument":{},"context":{"a":["b"]}});
        assert!(parse_authorizer_answer(&nested, at).is_none());
    }

    #[test]
    fn proxy_responses_map_status_headers_and_base64_bodies() {
        let r = proxy_response(&json!({"statusCode":201,"headers":{"ETag":"\"1\""},"multiValueHeaders":{"X-A":["1","2"]},"body":"aGk=","isBase64Encoded":true})).unwrap();
        assert_eq!(r.status(), 201);
        assert_eq!(r.headers()["etag"], "\"1\"");
        assert_eq!(r.headers().get_all("x-a").iter().count(), 2);
        assert!(proxy_response(&json!({"body":"x"})).is_none());
        assert!(proxy_response(&json!({"statusCode":200,"body":{"not":"a string"}})).is_none());
    }
}
