//! The Lambda contract for the three event shapes: allow, 403 policies,
//! `Unauthorized` (401) exactness, 500 when the JWKS cannot be had, header
//! forms, context, cache-safe policies, and logs that never hold the token.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use authorizer::clock::ManualClock;
use authorizer::handler::{Authorizer, AuthorizerError};
use authorizer::policy;
use authorizer::testing::{self, TestKey};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const POOL: &str = "us-east-1_TestPool";
const CLIENT: &str = "C1";
const NOW: i64 = 1_700_000_000;
const PREFIX: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/";

const RULES: &str = r#"[
  {"route":"GET /notes","scopes_any":["notes/read"]},
  {"route":"GET /notes/{id}","scopes_any":["notes/read"]},
  {"route":"DELETE /notes/{id}","groups_any":["admin"]},
  {"route":"ANY /admin/*","groups_any":["admin"]},
  {"route":"GET /me","token_use":"id"}
]"#;

fn key() -> &'static TestKey {
    static K: OnceLock<TestKey> = OnceLock::new();
    K.get_or_init(|| TestKey::generate("K1"))
}

fn authorizer(rules: Option<&str>) -> Authorizer {
    let mut env: HashMap<&str, String> = HashMap::new();
    env.insert("USER_POOL_ID", POOL.into());
    env.insert("APP_CLIENT_IDS", CLIENT.into());
    env.insert("JWKS_JSON", testing::jwks(&[key()]).to_string());
    if let Some(r) = rules {
        env.insert("AUTH_RULES", r.into());
    }
    Authorizer::from_lookup(|k| env.get(k).cloned(), Arc::new(ManualClock::new(NOW))).unwrap()
}

fn access(scope: &str, groups: &[&str]) -> String {
    let mut c = testing::access_claims(POOL, CLIENT, "user-1", NOW);
    if !scope.is_empty() {
        c["scope"] = json!(scope);
    }
    if !groups.is_empty() {
        c["cognito:groups"] = json!(groups);
    }
    key().token(&c)
}

fn id_token() -> String {
    key().token(&testing::id_claims(POOL, CLIENT, "user-1", NOW))
}

fn arn(method: &str, path: &str) -> String {
    format!("{PREFIX}{method}{path}")
}

fn rest_request(method: &str, path: &str, headers: Value) -> Value {
    json!({
        "type": "REQUEST",
        "methodArn": arn(method, path),
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "queryStringParameters": {},
        "pathParameters": {},
        "stageVariables": {},
        "requestContext": {"path": path, "accountId": "123456789012", "resourceId": "r1",
            "stage": "prod", "requestId": "req-123", "resourcePath": path, "httpMethod": method, "apiId": "abc123"}
    })
}

fn bearer(method: &str, path: &str, token: &str) -> Value {
    rest_request(
        method,
        path,
        json!({"Authorization": format!("Bearer {token}")}),
    )
}

fn token_event(method: &str, path: &str, value: &str) -> Value {
    json!({"type": "TOKEN", "authorizationToken": value, "methodArn": arn(method, path)})
}

fn v2(method: &str, path: &str, auth: Option<&str>) -> Value {
    let mut headers = json!({"accept": "*/*"});
    if let Some(a) = auth {
        headers["authorization"] = json!(a);
    }
    json!({
        "version": "2.0", "type": "REQUEST",
        "routeArn": format!("arn:aws:execute-api:us-east-1:123456789012:abc123/$default/{method}{path}"),
        "identitySource": [auth.unwrap_or("")],
        "routeKey": format!("{method} {path}"), "rawPath": path, "rawQueryString": "",
        "headers": headers,
        "requestContext": {"accountId": "123456789012", "apiId": "abc123", "domainName": "x", "domainPrefix": "x",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "1.2.3.4", "userAgent": "t"},
            "requestId": "v2-req", "routeKey": format!("{method} {path}"), "stage": "$default", "time": "x", "timeEpoch": 0}
    })
}

async fn unauthorized(a: &Authorizer, event: Value) {
    let err = a
        .handle(event)
        .await
        .expect_err("should fail with Unauthorized");
    assert_eq!(err, AuthorizerError::Unauthorized);
    assert_eq!(err.to_string(), "Unauthorized");
    let diag: lambda_runtime::Diagnostic = err.into();
    assert_eq!(diag.error_message, "Unauthorized");
}

fn allows(response: &Value, method: &str, path: &str) -> bool {
    policy::evaluate(response, &arn(method, path))
}

#[tokio::test]
async fn rest_request_allow_without_rules_grants_the_whole_stage() {
    let a = authorizer(None);
    let r = a
        .handle(bearer("GET", "/anything", &access("x", &[])))
        .await
        .unwrap();
    assert_eq!(r["principalId"], "user-1");
    assert_eq!(
        r["policyDocument"]["Statement"][0]["Resource"],
        json!([format!("{PREFIX}*/*")])
    );
    assert!(allows(&r, "DELETE", "/other/deep/path"));
    assert!(
        !policy::evaluate(
            &r,
            "arn:aws:execute-api:us-east-1:123456789012:abc123/test/GET/x"
        ),
        "other stage"
    );
}

#[tokio::test]
async fn rest_request_context_is_the_auth_context_contract_with_scalars_only() {
    let a = authorizer(None);
    let r = a
        .handle(bearer(
            "GET",
            "/x",
            &access("notes/read notes/write", &["admin", "users"]),
        ))
        .await
        .unwrap();
    let ctx = r["context"].as_object().unwrap();
    assert!(
        ctx.values()
            .all(|v| v.is_string() || v.is_number() || v.is_boolean())
    );
    let fields: HashMap<String, Value> = ctx.clone().into_iter().collect();
    let back = auth_context::AuthorizerContext::from_fields(&fields).unwrap();
    assert_eq!(back.sub, "user-1");
    assert_eq!(back.client_id, CLIENT);
    assert_eq!(back.token_use, "access");
    assert_eq!(back.scope, "notes/read notes/write");
    assert_eq!(back.groups, "admin users");
    assert_eq!(back.auth_time, NOW);
    assert_eq!(back.issuer, testing::issuer(POOL));
    assert_eq!(back.origin_jti, format!("origin-user-1-{NOW}"));
}

#[tokio::test]
async fn rest_request_lowercase_header_name() {
    let a = authorizer(None);
    let e = rest_request(
        "GET",
        "/x",
        json!({"authorization": format!("Bearer {}", access("", &[]))}),
    );
    assert!(allows(&a.handle(e).await.unwrap(), "GET", "/x"));
}

#[tokio::test]
async fn rest_request_bare_token_accepted() {
    let a = authorizer(None);
    let e = rest_request("GET", "/x", json!({"AUTHORIZATION": access("", &[])}));
    assert!(allows(&a.handle(e).await.unwrap(), "GET", "/x"));
}

#[tokio::test]
async fn rest_request_header_forms_refused_with_exactly_unauthorized() {
    let a = authorizer(None);
    let t = access("", &[]);
    let cases = [
        ("double_space", format!("Bearer  {t}")),
        ("lowercase_scheme", format!("bearer {t}")),
        ("trailing_part", format!("Bearer {t} x")),
        ("basic", "Basic dXNlcjpwYXNz".to_string()),
        ("comma_joined", format!("Bearer {t},{t}")),
        ("empty_after_bearer", "Bearer ".to_string()),
        ("tab", format!("Bearer\t{t}")),
        ("empty", String::new()),
    ];
    for (name, value) in cases {
        let e = rest_request("GET", "/x", json!({ "Authorization": value }));
        let err = a.handle(e).await.expect_err(name);
        assert_eq!(err.to_string(), "Unauthorized", "{name}");
    }
}

#[tokio::test]
async fn rest_request_missing_header_is_unauthorized() {
    unauthorized(
        &authorizer(None),
        rest_request("GET", "/x", json!({"Accept": "*/*"})),
    )
    .await;
    unauthorized(&authorizer(None), rest_request("GET", "/x", Value::Null)).await;
}

#[tokio::test]
async fn rest_request_two_authorization_headers_are_unauthorized() {
    let a = authorizer(None);
    let t = access("", &[]);
    let mut e = bearer("GET", "/x", &t);
    e["multiValueHeaders"] = json!({"Authorization": [format!("Bearer {t}"), "Bearer other"]});
    unauthorized(&a, e).await;
    let both_cases = rest_request(
        "GET",
        "/x",
        json!({"Authorization": format!("Bearer {t}"), "authorization": "x"}),
    );
    unauthorized(&a, both_cases).await;
}

#[tokio::test]
async fn expired_tampered_and_garbage_tokens_are_unauthorized() {
    let a = authorizer(None);
    let mut c = testing::access_claims(POOL, CLIENT, "user-1", NOW - 7200);
    c["exp"] = json!(NOW - 3600);
    unauthorized(&a, bearer("GET", "/x", &key().token(&c))).await;
    let mut t = access("", &[]);
    t.push('A');
    unauthorized(&a, bearer("GET", "/x", &t)).await;
    unauthorized(&a, bearer("GET", "/x", "not-a-jwt")).await;
}

#[tokio::test]
async fn id_token_on_access_route_is_unauthorized_wrong_token_use() {
    let a = authorizer(Some(RULES));
    unauthorized(&a, bearer("GET", "/notes", &id_token())).await;
    // No rules: every route wants an access token.
    unauthorized(&authorizer(None), bearer("GET", "/x", &id_token())).await;
}

#[tokio::test]
async fn id_token_route_accepts_id_token_and_refuses_access_token() {
    let a = authorizer(Some(RULES));
    let r = a.handle(bearer("GET", "/me", &id_token())).await.unwrap();
    assert!(allows(&r, "GET", "/me"));
    assert!(
        !allows(&r, "GET", "/notes"),
        "an ID token's policy lists only id routes"
    );
    assert_eq!(r["context"]["tokenUse"], "id");
    unauthorized(&a, bearer("GET", "/me", &access("notes/read", &[]))).await;
}

#[tokio::test]
async fn insufficient_scope_is_a_403_policy() {
    let a = authorizer(Some(RULES));
    let r = a
        .handle(bearer("GET", "/notes", &access("notes/write", &[])))
        .await
        .unwrap();
    assert_eq!(r["principalId"], "user-1");
    assert!(!allows(&r, "GET", "/notes"));
}

#[tokio::test]
async fn insufficient_group_is_a_403_policy_that_still_lists_entitled_routes() {
    let a = authorizer(Some(RULES));
    let r = a
        .handle(bearer(
            "DELETE",
            "/notes/1",
            &access("notes/read", &["users"]),
        ))
        .await
        .unwrap();
    assert!(!allows(&r, "DELETE", "/notes/1"));
    assert!(
        allows(&r, "GET", "/notes/1"),
        "cached for GET /notes/1: no spurious 403"
    );
}

#[tokio::test]
async fn no_matching_rule_is_a_403_policy() {
    let a = authorizer(Some(RULES));
    let r = a
        .handle(bearer("GET", "/unlisted", &access("notes/read", &[])))
        .await
        .unwrap();
    assert!(!allows(&r, "GET", "/unlisted"));
    assert!(allows(&r, "GET", "/notes"));
}

#[tokio::test]
async fn policy_decided_for_one_route_is_right_for_every_other_route() {
    let a = authorizer(Some(RULES));
    let probes = [
        ("GET", "/notes"),
        ("GET", "/notes/1"),
        ("GET", "/notes/1/secret"),
        ("DELETE", "/notes/1"),
        ("POST", "/admin/users"),
        ("GET", "/admin/users/1"),
        ("GET", "/me"),
        ("PUT", "/notes"),
    ];
    let principals = [
        (
            "reader",
            access("notes/read", &[]),
            vec![true, true, false, false, false, false, false, false],
        ),
        (
            "admin",
            access("", &["admin"]),
            vec![false, false, false, true, true, false, false, false],
        ),
        (
            "reader_admin",
            access("notes/read", &["admin"]),
            vec![true, true, false, true, true, false, false, false],
        ),
    ];
    for (who, token, expected) in principals {
        let r = a.handle(bearer("GET", "/notes", &token)).await.unwrap();
        for ((m, p), want) in probes.iter().zip(&expected) {
            assert_eq!(
                allows(&r, m, p),
                *want,
                "{who}: decided for GET /notes, probed {m} {p}"
            );
        }
    }
}

#[tokio::test]
async fn token_event_with_bearer_prefix() {
    let a = authorizer(Some(RULES));
    let r = a
        .handle(token_event(
            "GET",
            "/notes/7",
            &format!("Bearer {}", access("notes/read", &[])),
        ))
        .await
        .unwrap();
    assert!(allows(&r, "GET", "/notes/7"));
}

#[tokio::test]
async fn token_event_bare_and_refusals() {
    let a = authorizer(None);
    let r = a
        .handle(token_event("GET", "/x", &access("", &[])))
        .await
        .unwrap();
    assert!(allows(&r, "GET", "/x"));
    unauthorized(&a, token_event("GET", "/x", "Basic abc")).await;
    unauthorized(&a, json!({"type":"TOKEN","methodArn": arn("GET", "/x")})).await;
}

#[tokio::test]
async fn v2_simple_response_allow_with_context() {
    let a = authorizer(Some(RULES));
    let r = a
        .handle(v2(
            "GET",
            "/notes/3",
            Some(&format!("Bearer {}", access("notes/read", &[]))),
        ))
        .await
        .unwrap();
    assert_eq!(r["isAuthorized"], true);
    assert_eq!(r["context"]["sub"], "user-1");
    assert_eq!(
        r.as_object().unwrap().len(),
        2,
        "simple response: isAuthorized + context only"
    );
}

#[tokio::test]
async fn v2_simple_response_deny_for_unmet_rule_and_unmatched_route() {
    let a = authorizer(Some(RULES));
    let t = format!("Bearer {}", access("notes/read", &[]));
    assert_eq!(
        a.handle(v2("DELETE", "/notes/3", Some(&t))).await.unwrap()["isAuthorized"],
        false
    );
    assert_eq!(
        a.handle(v2("GET", "/nowhere", Some(&t))).await.unwrap()["isAuthorized"],
        false
    );
}

#[tokio::test]
async fn v2_invalid_or_missing_token_is_unauthorized() {
    let a = authorizer(None);
    unauthorized(&a, v2("GET", "/x", None)).await;
    unauthorized(&a, v2("GET", "/x", Some("Bearer nope"))).await;
    unauthorized(&a, v2("GET", "/x", Some(&format!("Bearer {}", id_token())))).await;
}

/// A loopback JWKS endpoint that always answers 500.
async fn failing_jwks_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
        }
    });
    format!("http://{addr}/jwks.json")
}

fn authorizer_with_jwks_url(url: String) -> Authorizer {
    let env: HashMap<&str, String> = [
        ("USER_POOL_ID", POOL.to_string()),
        ("APP_CLIENT_IDS", CLIENT.to_string()),
        ("JWKS_URL", url),
    ]
    .into_iter()
    .collect();
    Authorizer::from_lookup(|k| env.get(k).cloned(), Arc::new(ManualClock::new(NOW))).unwrap()
}

#[tokio::test]
async fn jwks_500_is_an_internal_error_never_unauthorized_or_allow() {
    let a = authorizer_with_jwks_url(failing_jwks_server().await);
    let t = access("", &[]);
    for event in [
        bearer("GET", "/x", &t),
        token_event("GET", "/x", &t),
        v2("GET", "/x", Some(&t)),
    ] {
        let err = a.handle(event).await.expect_err("must not answer");
        assert_eq!(err, AuthorizerError::Internal("jwks_unavailable".into()));
        assert_ne!(err.to_string(), "Unauthorized");
    }
}

#[tokio::test]
async fn jwks_unreachable_is_an_internal_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let a = authorizer_with_jwks_url(format!("http://127.0.0.1:{port}/jwks.json"));
    let err = a
        .handle(bearer("GET", "/x", &access("", &[])))
        .await
        .unwrap_err();
    assert_eq!(err, AuthorizerError::Internal("jwks_unavailable".into()));
}

#[tokio::test]
async fn malformed_method_arn_or_event_is_an_internal_error() {
    let a = authorizer(None);
    let t = access("", &[]);
    let mut e = bearer("GET", "/x", &t);
    e["methodArn"] = json!("arn:aws:execute-api:us-east-1:123456789012:abc123");
    assert!(matches!(
        a.handle(e).await,
        Err(AuthorizerError::Internal(_))
    ));
    for bad in [
        json!({"hello": "world"}),
        json!({"type": "WHATEVER"}),
        json!([1, 2]),
    ] {
        let err = a.handle(bad).await.unwrap_err();
        assert!(matches!(err, AuthorizerError::Internal(_)), "{err:?}");
    }
    let garbage = a.handle_json(b"{not json", None).await.unwrap_err();
    assert!(matches!(garbage, AuthorizerError::Internal(_)));
}

#[tokio::test]
async fn method_arn_near_the_1600_byte_limit() {
    let a = authorizer(Some(r#"[{"route":"GET /files/{name}"}]"#));
    let name = "n".repeat(1600 - arn("GET", "/files/").len());
    let path = format!("/files/{name}");
    assert_eq!(arn("GET", &path).len(), 1600);
    let r = a
        .handle(bearer("GET", &path, &access("", &[])))
        .await
        .unwrap();
    assert!(allows(&r, "GET", &path));
    assert!(!allows(&r, "GET", &format!("{path}/more")));
}

#[tokio::test]
async fn bad_auth_rules_fail_construction_with_a_named_fault() {
    let env: HashMap<&str, String> = [
        ("USER_POOL_ID", POOL.to_string()),
        ("APP_CLIENT_IDS", CLIENT.to_string()),
        (
            "AUTH_RULES",
            r#"[{"route":"GET /a"},{"route":"GET /b","scopes":["x"]}]"#.to_string(),
        ),
    ]
    .into_iter()
    .collect();
    let err = Authorizer::from_lookup(|k| env.get(k).cloned(), Arc::new(ManualClock::new(NOW)))
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.starts_with("invalid authorizer configuration: AUTH_RULES[1]: unknown field `scopes`"),
        "{msg}"
    );
    let no_clients: HashMap<&str, String> =
        [("USER_POOL_ID", POOL.to_string())].into_iter().collect();
    let err = Authorizer::from_lookup(
        |k| no_clients.get(k).cloned(),
        Arc::new(ManualClock::new(NOW)),
    )
    .unwrap_err();
    assert!(err.to_string().contains("APP_CLIENT_IDS"), "{err}");
}

/// Our event shapes are the real ones: they parse with `aws_lambda_events`,
/// and so do our responses.
#[tokio::test]
async fn events_and_responses_fit_the_aws_lambda_events_types() {
    use aws_lambda_events::apigw::*;
    let a = authorizer(None);
    let t = access("", &[]);
    let e = bearer("GET", "/x", &t);
    let typed: ApiGatewayCustomAuthorizerRequestTypeRequest =
        serde_json::from_value(e.clone()).unwrap();
    assert_eq!(typed.method_arn.as_deref(), Some(arn("GET", "/x").as_str()));
    let r: ApiGatewayCustomAuthorizerResponse =
        serde_json::from_value(a.handle(e).await.unwrap()).unwrap();
    assert_eq!(r.principal_id.as_deref(), Some("user-1"));
    let te = token_event("GET", "/x", &t);
    let typed: ApiGatewayCustomAuthorizerRequest = serde_json::from_value(te).unwrap();
    assert_eq!(typed.type_.as_deref(), Some("TOKEN"));
    let ve = v2("GET", "/x", Some(&t));
    let typed: ApiGatewayV2CustomAuthorizerV2Request = serde_json::from_value(ve.clone()).unwrap();
    assert_eq!(typed.raw_path.as_deref(), Some("/x"));
    let r: ApiGatewayV2CustomAuthorizerSimpleResponse =
        serde_json::from_value(a.handle(ve).await.unwrap()).unwrap();
    assert!(r.is_authorized);
}

/// The documented IAM limit: `GET /n/{id}` and `GET /n/{id}/c` both
/// entitled. The deeper request still gets an allow (for exactly its ARN),
/// and no answer ever allows a route the rules deny.
#[tokio::test]
async fn conflicted_rules_fall_back_to_the_exact_method_arn_and_never_over_grant() {
    let a = authorizer(Some(
        r#"[{"route":"GET /n/{id}"},{"route":"GET /n/{id}/c"},{"route":"GET /n/{id}/s","groups_any":["g"]}]"#,
    ));
    let t = access("", &[]);
    let deep = a.handle(bearer("GET", "/n/1/c", &t)).await.unwrap();
    assert!(allows(&deep, "GET", "/n/1/c"));
    assert!(
        !allows(&deep, "GET", "/n/2/c"),
        "fallback is scoped to the exact methodArn"
    );
    assert!(!allows(&deep, "GET", "/n/1/s"));
    let shallow = a.handle(bearer("GET", "/n/1", &t)).await.unwrap();
    for (path, rules_allow) in [
        ("/n/1", true),
        ("/n/2", true),
        ("/n/1/s", false),
        ("/n/1/x", false),
        ("/n/1/c/d", false),
    ] {
        assert_eq!(allows(&shallow, "GET", path), rules_allow, "{path}");
    }
}

// ---- issue 9 regressions: route precedence as a total order

/// Issue 9's false Allow: with the old common-prefix comparator a non-admin
/// token on `GET /users/me/secrets` was allowed by `GET /users/me/{field}`,
/// and the policy for `GET /users/me` granted `/secrets` through the cache.
#[tokio::test]
async fn regression_false_allow_three_rules_of_mixed_lengths() {
    let rules = r#"[{"route":"GET /users/me/{field}"},{"route":"GET /users/me"},{"route":"ANY /users/me/secrets","groups_any":["admin"]}]"#;
    let a = authorizer(Some(rules));
    let user = access("", &[]);
    let r = a
        .handle(bearer("GET", "/users/me/secrets", &user))
        .await
        .unwrap();
    assert!(!allows(&r, "GET", "/users/me/secrets"), "{r}");
    let r = a.handle(bearer("GET", "/users/me", &user)).await.unwrap();
    assert!(allows(&r, "GET", "/users/me"));
    assert!(allows(&r, "GET", "/users/me/name"));
    assert!(
        !allows(&r, "GET", "/users/me/secrets"),
        "cached policy grants /secrets: {r}"
    );
    let admin = access("", &["admin"]);
    let r = a
        .handle(bearer("GET", "/users/me/secrets", &admin))
        .await
        .unwrap();
    assert!(allows(&r, "GET", "/users/me/secrets"));
}

/// Issue 9's start-up panic: more than 20 valid rules of mixed lengths
/// made `sort_by` abort ("does not correctly implement a total order").
/// Every rotation of the array must parse and decide alike.
#[tokio::test]
async fn regression_more_than_20_rules_of_mixed_lengths_start_and_decide() {
    let mut rules: Vec<Value> = Vec::new();
    for (i, path) in [
        "/a",
        "/a/{x}",
        "/a/b",
        "/a/b/{y}",
        "/a/{x}/c",
        "/a/b/c",
        "/{x}",
        "/{x}/b",
        "/{x}/{y}",
        "/{x}/b/c",
        "/a/b/c/d",
        "/{x}/{y}/{z}",
        "/a/{x}/{y}/d",
        "/b",
        "/b/{x}",
        "/b/a",
        "/b/{x}/{y}",
        "/c/{x}/c",
        "/c",
        "/c/c/c/c/c",
        "/*/*/*/*/*",
        "/a/*/c/*/e",
    ]
    .iter()
    .enumerate()
    {
        let method = ["GET", "ANY"][i % 2];
        rules.push(json!({"route": format!("{method} {path}"), "groups_any": [format!("g{i}")]}));
    }
    assert!(rules.len() > 20);
    let probes = [
        "/a",
        "/a/b",
        "/a/z",
        "/z/b",
        "/a/b/c",
        "/z/b/c",
        "/a/b/c/d",
        "/a/z/z/d",
        "/c/c/c/c/c",
        "/a/q/c/q/e",
        "/z/z/z/z/z",
        "/b/a",
        "/b/z/z",
    ];
    let mut first: Option<Vec<Option<String>>> = None;
    for rot in 0..rules.len() {
        let mut r = rules.clone();
        r.rotate_left(rot);
        let set = authorizer::rules::RuleSet::parse(&Value::Array(r).to_string())
            .expect("valid rules start");
        let winners: Vec<Option<String>> = probes
            .iter()
            .map(|p| {
                let segs: Vec<&str> = authorizer::rules::split_path(p).unwrap().collect();
                set.route_for(authorizer::rules::Method::Get, &segs)
                    .map(|i| set.rules()[i].route.as_str().to_owned())
            })
            .collect();
        match &first {
            None => first = Some(winners),
            Some(f) => assert_eq!(f, &winners, "rotation {rot}"),
        }
    }
    let w = first.unwrap();
    assert_eq!(w[1].as_deref(), Some("GET /a/b"));
    assert_eq!(w[2].as_deref(), Some("ANY /a/{x}"));
    assert_eq!(w[4].as_deref(), Some("ANY /a/b/c"));
    assert_eq!(w[9].as_deref(), Some("ANY /a/*/c/*/e"));
    assert_eq!(w[10].as_deref(), Some("GET /*/*/*/*/*"));
}

// ---- issue 9: machine (client-credentials) callers

fn machine(scope: &str) -> String {
    key().token(&testing::machine_claims(POOL, CLIENT, scope, NOW))
}

const MACHINE_RULES: &str = r#"[
  {"route":"GET /notes"},
  {"route":"GET /admin/users/{sub}/notes","groups_any":["admin"]},
  {"route":"GET /admin/users/{sub}/notes","principal":"machine","scopes_any":["notes/admin.read"]},
  {"route":"GET /status","principal":"any"}
]"#;

#[tokio::test]
async fn machine_token_on_a_user_route_is_principal_not_allowed() {
    let a = authorizer(Some(MACHINE_RULES));
    let m = machine("notes/admin.read");
    let r = a.handle(bearer("GET", "/notes", &m)).await.unwrap();
    assert!(!allows(&r, "GET", "/notes"), "{r}");
    assert_eq!(r["context"]["principalType"], "machine");
    assert_eq!(r["context"]["sub"], CLIENT);
    assert_eq!(r["context"]["username"], "");
    // The machine rule of the same route admits it; the user rule's group
    // requirement does not apply to it.
    assert!(allows(&r, "GET", "/admin/users/u1/notes"));
    assert!(allows(&r, "GET", "/status"));
    let r = a
        .handle(bearer("GET", "/admin/users/u1/notes", &m))
        .await
        .unwrap();
    assert!(allows(&r, "GET", "/admin/users/u1/notes"));
    assert!(!allows(&r, "GET", "/notes"));
    // Without the scope: the machine rule decides and refuses.
    let weak = machine("notes/read");
    let r = a
        .handle(bearer("GET", "/admin/users/u1/notes", &weak))
        .await
        .unwrap();
    assert!(!allows(&r, "GET", "/admin/users/u1/notes"));
    // Users: `principalType` user, the user rule decides.
    let admin = access("", &["admin"]);
    let r = a
        .handle(bearer("GET", "/admin/users/u1/notes", &admin))
        .await
        .unwrap();
    assert_eq!(r["context"]["principalType"], "user");
    assert!(allows(&r, "GET", "/admin/users/u1/notes"));
    assert!(allows(&r, "GET", "/notes"));
    let user = access("", &[]);
    let r = a
        .handle(bearer("GET", "/admin/users/u1/notes", &user))
        .await
        .unwrap();
    assert!(!allows(&r, "GET", "/admin/users/u1/notes"));
}

#[tokio::test]
async fn machine_decisions_name_their_reason() {
    use authorizer::claims::PrincipalType;
    use authorizer::reason::Reason;
    let a = authorizer(Some(MACHINE_RULES));
    let v = authorizer::verifier::Verifier::new(
        {
            let env: HashMap<&str, String> = [
                ("USER_POOL_ID", POOL.to_string()),
                ("APP_CLIENT_IDS", CLIENT.to_string()),
                ("JWKS_JSON", testing::jwks(&[key()]).to_string()),
            ]
            .into_iter()
            .collect();
            authorizer::config::VerifierConfig::from_lookup(|k| env.get(k).cloned()).unwrap()
        },
        Arc::new(ManualClock::new(NOW)),
    );
    let claims = v
        .verify(
            &machine("notes/admin.read"),
            authorizer::claims::TokenUse::Access,
        )
        .await
        .unwrap();
    assert_eq!(claims.principal_type(), PrincipalType::Machine);
    let m = authorizer::rules::Method::Get;
    let cases: &[(&str, Result<(), Reason>)] = &[
        ("/notes", Err(Reason::PrincipalNotAllowed)),
        ("/admin/users/u1/notes", Ok(())),
        ("/status", Ok(())),
        ("/elsewhere", Err(Reason::NoMatchingRule)),
    ];
    for (path, want) in cases {
        let segs: Vec<&str> = authorizer::rules::split_path(path).unwrap().collect();
        assert_eq!(a.decide(&claims, m, &segs, None).verdict, *want, "{path}");
    }
    // A user token whose `sub` is not its client id, or with a username,
    // is a user even without groups.
    let user = v
        .verify(&access("", &[]), authorizer::claims::TokenUse::Access)
        .await
        .unwrap();
    assert_eq!(user.principal_type(), PrincipalType::User);
    let mut odd = testing::machine_claims(POOL, CLIENT, "x", NOW);
    odd["username"] = json!("someone");
    let odd = v
        .verify(&key().token(&odd), authorizer::claims::TokenUse::Access)
        .await
        .unwrap();
    assert_eq!(odd.principal_type(), PrincipalType::User);
    // No AUTH_RULES: every valid user token, no machine token.
    let open = authorizer(None);
    assert_eq!(
        open.decide(&claims, m, &["notes"], None).verdict,
        Err(Reason::PrincipalNotAllowed)
    );
    let r = open
        .handle(bearer("GET", "/notes", &machine("x")))
        .await
        .unwrap();
    assert!(!allows(&r, "GET", "/notes"));
    assert!(!allows(&r, "POST", "/anything/else"));
}

#[test]
fn principal_refusals_name_the_rule_and_field() {
    let cases: &[(&str, &str)] = &[
        (
            r#"[{"route":"GET /a","principal":"robot"}]"#,
            "AUTH_RULES[0]: unknown variant `robot`",
        ),
        (
            r#"[{"route":"GET /a","principal":"machine","token_use":"id"}]"#,
            "AUTH_RULES[0].token_use: `id` with `principal` machine or any",
        ),
        (
            r#"[{"route":"GET /a","token_use":"id"},{"route":"ANY /{x}","principal":"any"}]"#,
            "AUTH_RULES[1].principal: shares requests with AUTH_RULES[0] (`GET /a`)",
        ),
        (
            r#"[{"route":"GET /a","principal":"any"},{"route":"GET /a","principal":"machine"}]"#,
            "AUTH_RULES[1] (`GET /a`) matches exactly the same requests as AUTH_RULES[0]",
        ),
    ];
    for (json, want) in cases {
        let e = authorizer::rules::RuleSet::parse(json)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with(want), "{json}: {e}");
    }
    // Same route for users and for machines is two rules, not a duplicate.
    authorizer::rules::RuleSet::parse(
        r#"[{"route":"GET /a","principal":"user"},{"route":"GET /a","principal":"machine"}]"#,
    )
    .unwrap();
}

// ---- issue 9: HTTP API v2 paths, and headers that disagree

fn v2_staged(method: &str, stage: &str, raw_path: &str, token: &str) -> Value {
    let mut e = v2(method, raw_path, Some(&format!("Bearer {token}")));
    e["requestContext"]["stage"] = json!(stage);
    e["rawPath"] = json!(raw_path);
    e
}

#[tokio::test]
async fn v2_matches_the_stage_less_percent_decoded_path() {
    let a = authorizer(Some(RULES));
    let t = access("notes/read", &[]);
    let admin = access("", &["admin"]);
    let cases: &[(&str, &str, &str, &String, bool)] = &[
        ("GET", "prod", "/prod/notes", &t, true),
        ("GET", "prod", "/prod/notes/n%201", &t, true),
        // a literal spelled with escapes is the same literal
        ("GET", "prod", "/prod/n%6Ftes", &t, true),
        ("GET", "prod", "/prod/%6E%6F%74%65%73/1", &t, true),
        // `%2F` stays inside its segment: one `{id}`, not two segments
        ("GET", "prod", "/prod/notes/a%2Fb", &t, true),
        ("DELETE", "prod", "/prod/notes/1", &t, false),
        ("DELETE", "prod", "/prod/notes/1", &admin, true),
        // the stage name is not a path segment of the route
        ("GET", "prod", "/prod/prod/notes", &t, false),
        ("GET", "$default", "/notes", &t, true),
        ("GET", "$default", "/prod/notes", &t, false),
        // the stage only as a whole leading segment
        ("GET", "pro", "/prod/notes", &t, false),
        ("ANY", "prod", "/prod/notes", &t, false),
    ];
    for (method, stage, path, token, want) in cases {
        let event = v2_staged(method, stage, path, token);
        let r = a.handle(event).await;
        match r {
            Ok(r) => assert_eq!(r["isAuthorized"], *want, "{method} {stage} {path}: {r}"),
            Err(e) => assert!(!want, "{method} {stage} {path}: {e}"),
        }
    }
    for bad in ["/prod/notes/%zz", "/prod/notes/%4", "/prod/notes/%ff"] {
        let err = a
            .handle(v2_staged("GET", "prod", bad, &t))
            .await
            .unwrap_err();
        assert_eq!(err, AuthorizerError::Internal("bad_path".into()), "{bad}");
    }
}

#[tokio::test]
async fn headers_and_multi_value_headers_must_agree() {
    let a = authorizer(Some(RULES));
    let t = access("notes/read", &[]);
    let other = access("notes/read notes/write", &[]);
    let b = |x: &str| format!("Bearer {x}");
    let rest = |single: Option<&str>, multi: Value| {
        let mut e = bearer("GET", "/notes", "unused");
        match single {
            Some(s) => e["headers"] = json!({"Authorization": s}),
            None => e["headers"] = json!({}),
        }
        e["multiValueHeaders"] = multi;
        e
    };
    // agreeing: allowed
    let r = a
        .handle(rest(Some(&b(&t)), json!({"Authorization": [b(&t)]})))
        .await
        .unwrap();
    assert!(allows(&r, "GET", "/notes"));
    let r = a
        .handle(rest(Some(&b(&t)), json!({"accept": ["*/*"]})))
        .await
        .unwrap();
    assert!(allows(&r, "GET", "/notes"));
    // disagreeing, repeated, or only in one of them: 401
    for (single, multi) in [
        (Some(b(&t)), json!({"Authorization": [b(&other)]})),
        (Some(b(&t)), json!({"authorization": [b(&other)]})),
        (Some(b(&t)), json!({"Authorization": [b(&t), b(&t)]})),
        (Some(b(&t)), json!({"Authorization": [b(&other), b(&t)]})),
        (None, json!({"Authorization": [b(&t)]})),
    ] {
        unauthorized(&a, rest(single.as_deref(), multi)).await;
    }
    // HTTP API v2 too
    let mut e = v2("GET", "/notes", Some(&b(&t)));
    e["multiValueHeaders"] = json!({"authorization": [b(&other)]});
    unauthorized(&a, e).await;
    let mut e = v2("GET", "/notes", Some(&b(&t)));
    e["multiValueHeaders"] = json!({"authorization": [b(&t)]});
    assert_eq!(a.handle(e).await.unwrap()["isAuthorized"], true);
}
