//! The local gateway's API Gateway semantics, over the wire: a real HTTP
//! client → the gateway on 127.0.0.1 → a loopback Lambda invoke endpoint
//! that plays scripted functions and records what it received.
//!
//! Routes, stage, identity source and gateway responses come from the real
//! `template.yaml`; the functions are stand-ins so every authorizer outcome
//! (allow, deny, `Unauthorized`, crash, garbage) can be produced on demand.
//! The real functions are driven by the end-to-end tests (package e2e-tests).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::response::{IntoResponse, Response};
use devstack::gateway::{Gateway, GatewayConfig};
use devstack::invoke::Invoker;
use devstack::template::{Template, default_path};
use serde_json::{Value, json};

type Calls = Arc<Mutex<Vec<(String, Value)>>>;

/// The scripted authorizer: behaviour picked by the bearer value.
fn authorizer(event: &Value) -> Response {
    let auth = event["headers"]
        .as_object()
        .and_then(|h| {
            h.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        })
        .and_then(|(_, v)| v.as_str())
        .unwrap_or("");
    let arn = event["methodArn"].as_str().unwrap_or("");
    // arn:…:api/stage/METHOD/path → the API's base for whole-API statements.
    let base: String = arn.splitn(3, '/').take(2).collect::<Vec<_>>().join("/");
    let allow = |resources: Value| {
        Json(json!({
            "principalId": "user-1",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resources}
            ]},
            "context": {"sub": "user-1", "groups": "", "authTime": 1_700_000_000, "flag": true}
        }))
    };
    let fail = |msg: &str| {
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"errorType": "Box<dyn Error>", "errorMessage": msg})),
        )
            .into_response()
    };
    match auth {
        "Bearer all" => allow(json!(format!("{base}/*/*"))).into_response(),
        "Bearer me-only" => allow(json!([format!("{base}/GET/me")])).into_response(),
        "Bearer notes-any-id" => allow(json!(format!("{base}/GET/notes/*"))).into_response(),
        "Bearer deny" => Json(json!({
            "principalId": "user-1",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": format!("{base}/*/*")},
                {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": format!("{base}/GET/me")}
            ]}
        }))
        .into_response(),
        "Bearer nested-context" => Json(json!({
            "principalId": "u", "policyDocument": {"Statement": []}, "context": {"groups": ["admin"]}
        }))
        .into_response(),
        "Bearer crash" => fail("Lambda panicked: boom"),
        "Bearer jwks-down" => fail("jwks_unavailable"),
        _ => fail("Unauthorized"),
    }
}

struct Json(Value);
impl IntoResponse for Json {
    fn into_response(self) -> Response {
        ([("content-type", "application/json")], self.0.to_string()).into_response()
    }
}

async fn functions(calls: Calls, req: Request<Body>) -> Response {
    let path = req.uri().path().to_owned();
    let body = axum::body::to_bytes(req.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let name = path
        .strip_prefix("/2015-03-31/functions/")
        .and_then(|p| p.strip_suffix("/invocations"))
        .unwrap_or("")
        .to_owned();
    calls.lock().unwrap().push((name.clone(), event.clone()));
    match name.as_str() {
        "authorizer" => authorizer(&event),
        "api-handler" => {
            if event["path"] == "/notes/broken" {
                return Json(json!({"body": "no status"})).into_response();
            }
            // Echo the proxy event so the test can look at it.
            Json(json!({
                "statusCode": 200,
                "headers": {"content-type": "application/json", "x-handler": "api-handler"},
                "multiValueHeaders": {"set-cookie": ["a=1", "b=2"]},
                "body": event.to_string(),
                "isBase64Encoded": false
            }))
            .into_response()
        }
        _ => (StatusCode::NOT_FOUND, "no such function").into_response(),
    }
}

struct Fixture {
    url: String,
    gateway: Arc<Gateway>,
    calls: Calls,
    http: reqwest::Client,
}

impl Fixture {
    async fn start(ttl: Duration) -> Self {
        let calls: Calls = Arc::default();
        let c = calls.clone();
        let app = axum::Router::new().fallback(move |req: Request<Body>| functions(c.clone(), req));
        let fl = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let faddr = fl.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(fl, app).await.unwrap() });

        let template = Template::load(&default_path()).unwrap();
        let mut cfg = GatewayConfig::from_api(&template.api().unwrap(), "us-east-1");
        cfg.reauthorize_every = ttl;
        let gateway = Gateway::new(
            cfg,
            Invoker::new(format!("http://{faddr}"), Duration::from_secs(10)),
        );
        let gl = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gaddr = gl.local_addr().unwrap();
        let gw = gateway.clone();
        tokio::spawn(async move { gw.serve(gl).await.unwrap() });
        Self {
            url: format!("http://{gaddr}/dev"),
            gateway,
            calls,
            http: reqwest::Client::new(),
        }
    }

    async fn get(
        &self,
        path: &str,
        auth: Option<&str>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let mut req = self.http.get(format!("{}{path}", self.url));
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        (
            status,
            headers,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    fn calls_to(&self, name: &str) -> Vec<Value> {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, e)| e.clone())
            .collect()
    }
}

#[tokio::test]
async fn health_skips_the_authorizer_and_reaches_the_handler() {
    let f = Fixture::start(Duration::from_secs(300)).await;
    let (status, _, event) = f.get("/health", None).await;
    assert_eq!(status, 200);
    assert_eq!(event["resource"], "/health");
    assert_eq!(event["path"], "/health");
    assert_eq!(event["requestContext"]["stage"], "dev");
    assert!(event["requestContext"].get("authorizer").is_none());
    assert!(f.calls_to("authorizer").is_empty());
}

#[tokio::test]
async fn missing_or_empty_identity_source_is_401_without_invoking() {
    let f = Fixture::start(Duration::from_secs(300)).await;
    for auth in [None, Some(""), Some("   ")] {
        let (status, headers, body) = f.get("/me", auth).await;
        assert_eq!(status, 401, "{auth:?}");
        // The template's UNAUTHORIZED gateway response: body and headers.
        assert_eq!(body["error"]["code"], "unauthorized");
        assert_eq!(headers["www-authenticate"], "Bearer");
        assert_eq!(
            headers["access-control-allow-origin"],
            "http://localhost:3000"
        );
    }
    assert!(f.calls_to("authorizer").is_empty());
    assert!(f.calls_to("api-handler").is_empty());
    assert_eq!(f.gateway.authorizer_invocations(), 0);
}

#[tokio::test]
async fn allow_injects_principal_and_context_into_the_proxy_event() {
    let f = Fixture::start(Duration::from_secs(300)).await;
    let resp = f
        .http
        .get(format!("{}/notes/01J%2DX?limit=5&tag=a&tag=b", f.url))
        .header("Authorization", "Bearer all")
        .header("If-Match", "\"3\"")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-handler"], "api-handler");
    assert_eq!(resp.headers().get_all("set-cookie").iter().count(), 2);
    let event: Value = resp.json_value().await;
    assert_eq!(event["resource"], "/notes/{id}");
    assert_eq!(event["path"], "/notes/01J%2DX");
    assert_eq!(event["httpMethod"], "GET");
    assert_eq!(event["pathParameters"]["id"], "01J-X");
    assert_eq!(event["queryStringParameters"]["limit"], "5");
    assert_eq!(
        event["multiValueQueryStringParameters"]["tag"],
        json!(["a", "b"])
    );
    assert_eq!(event["headers"]["if-match"], "\"3\"");
    let ctx = &event["requestContext"];
    assert_eq!(ctx["resourcePath"], "/notes/{id}");
    assert_eq!(ctx["path"], "/dev/notes/01J%2DX");
    assert_eq!(ctx["authorizer"]["principalId"], "user-1");
    assert_eq!(ctx["authorizer"]["sub"], "user-1");
    assert_eq!(ctx["authorizer"]["authTime"], 1_700_000_000);
    assert_eq!(ctx["authorizer"]["flag"], true);
    // The backend reads the caller with the shared contract.
    let fields = ctx["authorizer"]
        .as_object()
        .unwrap()
        .clone()
        .into_iter()
        .collect();
    let caller = auth_context::AuthorizerContext::from_fields(&fields).unwrap();
    assert_eq!(caller.sub, "user-1");

    // The authorizer saw a REQUEST event for this exact method ARN.
    let auth_events = f.calls_to("authorizer");
    assert_eq!(auth_events.len(), 1);
    let a = &auth_events[0];
    assert_eq!(a["type"], "REQUEST");
    assert_eq!(
        a["methodArn"],
        "arn:aws:execute-api:us-east-1:123456789012:devstack/dev/GET/notes/01J%2DX"
    );
    assert_eq!(a["resource"], "/notes/{id}");
    assert_eq!(a["headers"]["authorization"], "Bearer all");
    assert_eq!(a["requestContext"]["stage"], "dev");
}

#[tokio::test]
async fn policy_is_evaluated_against_each_request_and_cached_per_token() {
    let f = Fixture::start(Duration::from_secs(300)).await;
    // Cached answer allows only GET /me: /me passes, /notes is refused from
    // the cache, without a second invocation.
    assert_eq!(f.get("/me", Some("Bearer me-only")).await.0, 200);
    let (status, _, body) = f.get("/notes", Some("Bearer me-only")).await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(f.gateway.authorizer_invocations(), 1);
    // Wildcards: GET /notes/* covers any id, not the list and not other methods.
    assert_eq!(
        f.get("/notes/abc", Some("Bearer notes-any-id")).await.0,
        200
    );
    assert_eq!(f.get("/notes", Some("Bearer notes-any-id")).await.0, 403);
    let del = f
        .http
        .delete(format!("{}/notes/abc", f.url))
        .header("Authorization", "Bearer notes-any-id")
        .send()
        .await
        .unwrap();
    assert_eq!(del.status(), 403);
    assert_eq!(f.gateway.authorizer_invocations(), 2);
    // An explicit deny beats the allow of everything.
    assert_eq!(f.get("/me", Some("Bearer deny")).await.0, 403);
    assert_eq!(f.get("/notes", Some("Bearer deny")).await.0, 200);
}

#[tokio::test]
async fn cors_preflight_is_answered_without_the_authorizer() {
    let f = Fixture::start(Duration::from_secs(300)).await;
    let resp = f
        .http
        .request(reqwest::Method::OPTIONS, format!("{}/notes/abc", f.url))
        .header("Origin", "http://localhost:3000")
        .header("Access-Control-Request-Method", "PUT")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["access-control-allow-origin"],
        "http://localhost:3000"
    );
    let allowed = resp.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap();
    assert!(
        allowed.contains("Authorization") && allowed.contains("If-Match"),
        "{allowed}"
    );
    assert!(f.calls_to("authorizer").is_empty());
    assert!(f.calls_to("api-handler").is_empty());
}

#[tokio::test]
async fn without_cache_every_request_invokes_the_authorizer() {
    let f = Fixture::start(Duration::ZERO).await;
    for _ in 0..3 {
        assert_eq!(f.get("/me", Some("Bearer all")).await.0, 200);
    }
    assert_eq!(f.gateway.authorizer_invocations(), 3);
}

#[tokio::test]
async fn unauthorized_is_401_and_other_failures_are_500() {
    let f = Fixture::start(Duration::from_secs(300)).await;
    let (status, headers, _) = f.get("/me", Some("Bearer whatever")).await;
    assert_eq!(status, 401);
    assert_eq!(headers["www-authenticate"], "Bearer");
    for bad in ["Bearer crash", "Bearer jwks-down", "Bearer nested-context"] {
        let (status, headers, body) = f.get("/me", Some(bad)).await;
        assert_eq!(status, 500, "{bad}");
        assert_eq!(body, json!({"message": null}), "{bad}");
        assert_eq!(
            headers["x-amzn-errortype"],
            "AuthorizerConfigurationException"
        );
    }
    assert!(f.calls_to("api-handler").is_empty());
}

#[tokio::test]
async fn unknown_routes_and_methods_and_bad_integrations() {
    let f = Fixture::start(Duration::from_secs(300)).await;
    // The template maps MISSING_AUTHENTICATION_TOKEN to 404.
    for path in ["/nope", "/notes/a/b", "/notes/"] {
        let (status, _, body) = f.get(path, Some("Bearer all")).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["error"]["code"], "not_found");
    }
    let outside_stage = f
        .http
        .get(f.url.replace("/dev", "/prod/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(outside_stage.status(), 404);
    let patch = f
        .http
        .patch(format!("{}/me", f.url))
        .header("Authorization", "Bearer all")
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status(), 404);
    assert!(f.calls_to("authorizer").is_empty());
    // A malformed proxy response is API Gateway's 502.
    assert_eq!(f.get("/notes/broken", Some("Bearer all")).await.0, 502);
}

trait JsonValue {
    async fn json_value(self) -> Value;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Value {
        serde_json::from_str(&self.text().await.unwrap()).unwrap()
    }
}
