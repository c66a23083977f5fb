//! Handler unit tests over the in-memory store, driven by the same proxy
//! events as the integration tests (`events/api/*.json`).

use std::time::{Duration, SystemTime};

use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayProxyResponse, ApiGatewayV2httpRequestContext,
};
use aws_lambda_events::encodings::Body;
use http::{HeaderValue, Method};
use serde_json::{Value, json};

use super::*;
use crate::config::Config;
use crate::store::memory::MemoryStore;

const ALICE: &str = "7d4e1c2a-3b5f-4a6e-9c8d-0f1e2d3c4b5a";

fn fixture(name: &str) -> ApiGatewayProxyRequest {
    let text = match name {
        "health" => include_str!("../../events/api/health.json"),
        "get-me" => include_str!("../../events/api/get-me.json"),
        "post-notes" => include_str!("../../events/api/post-notes.json"),
        "get-notes" => include_str!("../../events/api/get-notes.json"),
        "get-note" => include_str!("../../events/api/get-note.json"),
        "put-note" => include_str!("../../events/api/put-note.json"),
        "delete-note" => include_str!("../../events/api/delete-note.json"),
        "get-admin-user-notes" => include_str!("../../events/api/get-admin-user-notes.json"),
        other => panic!("no fixture {other}"),
    };
    serde_json::from_str(text).unwrap()
}

fn app(quota: u32) -> App<MemoryStore> {
    let cfg = Config::from_lookup(|k| match k {
        "TABLE_NAME" => Some("unused".into()),
        "MAX_NOTES_PER_USER" => Some(quota.to_string()),
        _ => None,
    })
    .unwrap();
    App::new(MemoryStore::new(), cfg)
}

fn as_user(mut req: ApiGatewayProxyRequest, sub: &str) -> ApiGatewayProxyRequest {
    let f = &mut req.request_context.authorizer.fields;
    f.insert("sub".into(), json!(sub));
    f.insert("principalId".into(), json!(sub));
    req
}

fn at_path(mut req: ApiGatewayProxyRequest, path: &str) -> ApiGatewayProxyRequest {
    req.request_context.path = Some(format!("/prod{path}"));
    req.path = Some(path.to_owned());
    req
}

fn with_body(mut req: ApiGatewayProxyRequest, body: &str) -> ApiGatewayProxyRequest {
    req.body = Some(body.to_owned());
    req
}

fn with_header(
    mut req: ApiGatewayProxyRequest,
    name: &'static str,
    value: &str,
) -> ApiGatewayProxyRequest {
    req.headers
        .insert(name, HeaderValue::from_str(value).unwrap());
    req
}

async fn call<S: NoteStore>(app: &App<S>, req: &ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
    respond(app, req, "test-request", SystemTime::now()).await
}

fn json_of(r: &ApiGatewayProxyResponse) -> Value {
    match &r.body {
        Some(Body::Text(t)) => serde_json::from_str(t).unwrap(),
        other => panic!("expected a text body, got {other:?}"),
    }
}

fn hdr<'a>(r: &'a ApiGatewayProxyResponse, name: &str) -> Option<&'a str> {
    r.headers.get(name).map(|v| v.to_str().unwrap())
}

fn assert_error(r: &ApiGatewayProxyResponse, status: i64, code: &str, field: Option<&str>) {
    assert_eq!(r.status_code, status, "{:?}", r.body);
    let v = json_of(r);
    assert_eq!(v["error"]["code"], code, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert_eq!(v["error"]["field"].as_str(), field, "{v}");
    assert_eq!(hdr(r, "content-type"), Some("application/json"));
}

async fn create(app: &App<MemoryStore>, sub: &str, title: &str) -> Value {
    let req = as_user(
        with_body(
            fixture("post-notes"),
            &json!({"title": title, "body": "b"}).to_string(),
        ),
        sub,
    );
    let r = call(app, &req).await;
    assert_eq!(r.status_code, 201, "{:?}", r.body);
    json_of(&r)
}

/// The id of a note `sub` has just created.
async fn create_id(app: &App<MemoryStore>, sub: &str, title: &str) -> String {
    create(app, sub, title).await["id"]
        .as_str()
        .expect("a created note has an id")
        .to_owned()
}

#[tokio::test]
async fn health_needs_no_caller() {
    let r = call(&app(5), &fixture("health")).await;
    assert_eq!(r.status_code, 200);
    assert_eq!(json_of(&r), json!({"status": "ok"}));
}

#[tokio::test]
async fn a_request_without_sub_is_401_never_a_default_user() {
    let mut req = fixture("get-notes");
    req.request_context.authorizer.fields.clear();
    assert_error(&call(&app(5), &req).await, 401, "unauthorized", None);
    req.request_context
        .authorizer
        .fields
        .insert("sub".into(), json!(""));
    assert_error(&call(&app(5), &req).await, 401, "unauthorized", None);
}

#[tokio::test]
async fn me_reports_identity_count_and_quota() {
    let app = app(7);
    create(&app, ALICE, "one").await;
    let r = call(&app, &fixture("get-me")).await;
    assert_eq!(r.status_code, 200);
    assert_eq!(
        json_of(&r),
        json!({
            "sub": ALICE, "username": "alice", "groups": ["users"],
            "scopes": ["notes/read", "notes/write"], "clientId": "4r8lq2m0v9example3client1d",
            "noteCount": 1, "noteQuota": 7
        })
    );
}

#[tokio::test]
async fn create_then_get_round_trips_with_location_and_etag() {
    let app = app(5);
    let r = call(&app, &fixture("post-notes")).await;
    assert_eq!(r.status_code, 201);
    let note = json_of(&r);
    let id = note["id"].as_str().unwrap();
    assert_eq!(
        hdr(&r, "location"),
        Some(format!("/prod/notes/{id}").as_str())
    );
    assert_eq!(hdr(&r, "etag"), Some("\"1\""));
    assert_eq!(hdr(&r, "cache-control"), Some("no-store"));
    assert_eq!(note["title"], "Groceries");
    assert_eq!(note["tags"], json!(["home", "weekly"]));
    assert_eq!(note["version"], 1);

    let get = call(&app, &at_path(fixture("get-note"), &format!("/notes/{id}"))).await;
    assert_eq!(get.status_code, 200);
    assert_eq!(json_of(&get), note);
    assert_eq!(hdr(&get, "etag"), Some("\"1\""));
}

#[tokio::test]
async fn bodies_are_checked_for_size_media_type_syntax_and_fields() {
    let app = app(5);
    let post = fixture("post-notes");
    let big = format!(r#"{{"title":"t","body":"{}"}}"#, "x".repeat(MAX_BODY_BYTES));
    assert_error(
        &call(&app, &with_body(post.clone(), &big)).await,
        413,
        "payload_too_large",
        None,
    );

    let mut no_ct = post.clone();
    no_ct.headers.remove("content-type");
    assert_error(
        &call(&app, &no_ct).await,
        415,
        "unsupported_media_type",
        Some("Content-Type"),
    );
    let text = with_header(post.clone(), "content-type", "text/plain");
    assert_error(
        &call(&app, &text).await,
        415,
        "unsupported_media_type",
        Some("Content-Type"),
    );
    let charset = with_header(
        with_body(post.clone(), r#"{"title":"t","body":""}"#),
        "content-type",
        "application/json; charset=utf-8",
    );
    assert_eq!(call(&app, &charset).await.status_code, 201);

    let cases: &[(&str, &str, Option<&str>)] = &[
        ("{", "invalid_json", None),
        ("", "invalid_json", None),
        ("[1]", "invalid_json", None),
        (
            r#"{"title":"t","body":"b","owner":"x"}"#,
            "unknown_field",
            Some("owner"),
        ),
        (r#"{"body":"b"}"#, "missing_field", Some("title")),
        (r#"{"title":"t"}"#, "missing_field", Some("body")),
        (
            r#"{"title":"   ","body":"b"}"#,
            "invalid_field",
            Some("title"),
        ),
        (r#"{"title":5,"body":"b"}"#, "invalid_field", Some("title")),
        (
            r#"{"title":"t","body":"b","tags":["ok","NO"]}"#,
            "invalid_field",
            Some("tags[1]"),
        ),
        (
            r#"{"title":"t","body":"b","tags":[1]}"#,
            "invalid_field",
            Some("tags[0]"),
        ),
        (
            r#"{"title":"t","body":"b","tags":"a"}"#,
            "invalid_field",
            Some("tags"),
        ),
    ];
    for (body, code, field) in cases {
        assert_error(
            &call(&app, &with_body(post.clone(), body)).await,
            400,
            code,
            *field,
        );
    }
    let long_body = json!({"title": "t", "body": "y".repeat(20_001)}).to_string();
    assert_error(
        &call(&app, &with_body(post.clone(), &long_body)).await,
        400,
        "invalid_field",
        Some("body"),
    );
    let many_tags = json!({"title": "t", "body": "", "tags": vec!["a"; 11]}).to_string();
    assert_error(
        &call(&app, &with_body(post, &many_tags)).await,
        400,
        "invalid_field",
        Some("tags"),
    );
    // Nothing above was stored.
    let list = json_of(&call(&app, &fixture("get-notes")).await);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let app = app(5);
    let r = call(&app, &at_path(fixture("get-me"), "/nothing")).await;
    assert_error(&r, 404, "route_not_found", None);
    let mut req = fixture("get-notes");
    req.http_method = Method::PATCH;
    let r = call(&app, &req).await;
    assert_error(&r, 405, "method_not_allowed", None);
    assert_eq!(hdr(&r, "allow"), Some("GET, POST"));
}

#[tokio::test]
async fn bad_ids_are_400_and_unknown_ids_404() {
    let app = app(5);
    let r = call(&app, &at_path(fixture("get-note"), "/notes/not-a-ulid")).await;
    assert_error(&r, 400, "invalid_parameter", Some("id"));
    assert_error(
        &call(&app, &fixture("get-note")).await,
        404,
        "not_found",
        None,
    );
    assert_error(
        &call(&app, &fixture("put-note")).await,
        404,
        "not_found",
        None,
    );
    assert_error(
        &call(&app, &fixture("delete-note")).await,
        404,
        "not_found",
        None,
    );
}

#[tokio::test]
async fn put_needs_if_match_and_bumps_the_version() {
    let app = app(5);
    let id = create_id(&app, ALICE, "first").await;
    let put = at_path(fixture("put-note"), &format!("/notes/{id}"));

    let mut no_if_match = put.clone();
    no_if_match.headers.remove("if-match");
    assert_error(
        &call(&app, &no_if_match).await,
        428,
        "precondition_required",
        Some("If-Match"),
    );
    // A weak tag never matches under the strong comparison: 412, not 400.
    let weak = with_header(put.clone(), "if-match", "W/\"1\"");
    assert_error(&call(&app, &weak).await, 412, "precondition_failed", None);
    let bad = with_header(put.clone(), "if-match", "1");
    assert_error(
        &call(&app, &bad).await,
        400,
        "invalid_parameter",
        Some("If-Match"),
    );

    let r = call(&app, &put).await;
    assert_eq!(r.status_code, 200, "{:?}", r.body);
    assert_eq!(hdr(&r, "etag"), Some("\"2\""));
    let v = json_of(&r);
    assert_eq!(
        (v["title"].as_str(), v["version"].as_u64()),
        (Some("Groceries (updated)"), Some(2))
    );

    // The same If-Match again is now stale.
    assert_error(&call(&app, &put).await, 412, "precondition_failed", None);
    let any = with_header(put, "if-match", "*");
    assert_eq!(hdr(&call(&app, &any).await, "etag"), Some("\"3\""));
}

#[tokio::test]
async fn delete_honours_if_match_and_frees_quota() {
    let app = app(1);
    let id = create_id(&app, ALICE, "only").await;
    let del = at_path(fixture("delete-note"), &format!("/notes/{id}"));
    assert_error(&call(&app, &del).await, 412, "precondition_failed", None); // fixture says "2"
    let r = call(&app, &with_header(del.clone(), "if-match", "\"1\"")).await;
    assert_eq!(r.status_code, 204);
    assert!(r.body.is_none());
    let mut unconditional = del.clone();
    unconditional.headers.remove("if-match");
    assert_error(&call(&app, &unconditional).await, 404, "not_found", None);
    create(&app, ALICE, "fits again").await;
}

#[tokio::test]
async fn quota_exceeded_is_409_with_a_stable_code() {
    let app = app(2);
    create(&app, ALICE, "a").await;
    create(&app, ALICE, "b").await;
    assert_error(
        &call(&app, &fixture("post-notes")).await,
        409,
        "quota_exceeded",
        None,
    );
    // Other users have their own quota.
    create(&app, "bob", "c").await;
}

#[tokio::test]
async fn idempotency_key_replays_the_first_answer_or_refuses_a_different_body() {
    let app = app(5);
    let req = with_header(fixture("post-notes"), "idempotency-key", "key-1");
    let first = call(&app, &req).await;
    let again = call(&app, &req).await;
    assert_eq!(first.status_code, 201);
    assert_eq!(again.status_code, 201);
    assert_eq!(first.body, again.body);
    assert_eq!(hdr(&first, "location"), hdr(&again, "location"));
    assert_eq!(hdr(&again, "idempotent-replayed"), Some("true"));

    let other = with_body(req.clone(), r#"{"title":"something else","body":""}"#);
    assert_error(
        &call(&app, &other).await,
        422,
        "idempotency_key_reused",
        Some("Idempotency-Key"),
    );
    // Bob's identical key is his own.
    assert_eq!(call(&app, &as_user(req, "bob")).await.status_code, 201);
    let me = json_of(&call(&app, &fixture("get-me")).await);
    assert_eq!(me["noteCount"], 1);

    let bad = with_header(fixture("post-notes"), "idempotency-key", "has space");
    assert_error(
        &call(&app, &bad).await,
        400,
        "invalid_parameter",
        Some("Idempotency-Key"),
    );
}

#[tokio::test]
async fn listing_is_newest_first_with_an_opaque_cursor() {
    let app = app(10);
    let t0 = SystemTime::now();
    let post = fixture("post-notes");
    for i in 0..5u64 {
        let req = with_body(
            post.clone(),
            &json!({"title": format!("n{i}"), "body": ""}).to_string(),
        );
        assert_eq!(
            respond(&app, &req, "r", t0 + Duration::from_millis(i))
                .await
                .status_code,
            201
        );
    }
    let mut req = fixture("get-notes");
    req.query_string_parameters = [("limit".to_string(), "2".to_string())]
        .into_iter()
        .collect::<HashMap<_, _>>()
        .into();
    let mut titles = Vec::new();
    let mut pages = 0;
    loop {
        let page = json_of(&call(&app, &req).await);
        pages += 1;
        titles.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["title"].as_str().unwrap().to_owned()),
        );
        match page["nextCursor"].as_str() {
            Some(c) => {
                let q: HashMap<String, String> =
                    [("limit".into(), "2".into()), ("cursor".into(), c.into())]
                        .into_iter()
                        .collect();
                req.query_string_parameters = q.into();
            }
            None => break,
        }
    }
    assert_eq!(titles, ["n4", "n3", "n2", "n1", "n0"]);
    assert_eq!(pages, 3);

    for (k, v, code) in [
        ("cursor", "garbage!", "invalid_cursor"),
        ("cursor", "AQ", "invalid_cursor"),
        ("limit", "0", "invalid_parameter"),
        ("limit", "101", "invalid_parameter"),
    ] {
        let q: HashMap<String, String> = [(k.to_string(), v.to_string())].into_iter().collect();
        req.query_string_parameters = q.into();
        assert_error(&call(&app, &req).await, 400, code, Some(k));
    }
}

#[tokio::test]
async fn admin_listing_rechecks_the_group() {
    let app = app(5);
    create(&app, ALICE, "alice's").await;
    let admin = fixture("get-admin-user-notes");
    let r = call(&app, &admin).await;
    assert_eq!(r.status_code, 200);
    assert_eq!(json_of(&r)["items"][0]["title"], "alice's");

    let mut not_admin = admin.clone();
    not_admin
        .request_context
        .authorizer
        .fields
        .insert("groups".into(), json!("users administrators"));
    assert_error(&call(&app, &not_admin).await, 403, "forbidden", None);
    let bad_sub = at_path(admin, "/admin/users/a%20b%00/notes");
    assert_error(
        &call(&app, &bad_sub).await,
        400,
        "invalid_parameter",
        Some("sub"),
    );
}

#[tokio::test]
async fn another_users_notes_are_invisible() {
    let app = app(5);
    let id = create_id(&app, ALICE, "private").await;
    let path = format!("/notes/{id}");
    for name in ["get-note", "put-note", "delete-note"] {
        let req = as_user(
            with_header(at_path(fixture(name), &path), "if-match", "\"1\""),
            "bob",
        );
        assert_error(&call(&app, &req).await, 404, "not_found", None);
    }
    let list = json_of(&call(&app, &as_user(fixture("get-notes"), "bob")).await);
    assert_eq!(list, json!({"items": [], "nextCursor": null}));
    // Alice's note is untouched.
    let r = call(&app, &at_path(fixture("get-note"), &path)).await;
    assert_eq!((r.status_code, hdr(&r, "etag")), (200, Some("\"1\"")));
}

#[tokio::test]
async fn cors_headers_only_when_configured() {
    let plain = call(&app(5), &fixture("get-me")).await;
    assert!(hdr(&plain, "access-control-allow-origin").is_none());
    let cfg = Config::from_lookup(|k| match k {
        "TABLE_NAME" => Some("unused".into()),
        "CORS_ALLOW_ORIGIN" => Some("https://app.example.com".into()),
        _ => None,
    })
    .unwrap();
    let cors_app = App::new(MemoryStore::new(), cfg);
    for req in [fixture("post-notes"), fixture("get-note")] {
        let r = call(&cors_app, &req).await;
        assert_eq!(
            hdr(&r, "access-control-allow-origin"),
            Some("https://app.example.com")
        );
        assert!(hdr(&r, "access-control-expose-headers").is_some_and(|h| h.contains("ETag")));
    }
}

#[test]
fn http_api_v2_lambda_context_is_read_the_same_way() {
    let ctx: ApiGatewayV2httpRequestContext = serde_json::from_value(json!({
        "routeKey": "GET /me", "accountId": "1", "stage": "$default", "requestId": "r",
        "apiId": "a", "domainName": "d", "domainPrefix": "d", "time": "t", "timeEpoch": 0,
        "http": {"method": "GET", "path": "/me", "protocol": "HTTP/1.1", "sourceIp": "1.2.3.4", "userAgent": "x"},
        "authorizer": {"lambda": {"sub": ALICE, "username": "alice", "groups": "admin", "authTime": 5}}
    }))
    .unwrap();
    let c = caller(&ctx.authorizer.unwrap()).unwrap();
    assert_eq!(
        (c.sub.as_str(), c.username.as_str(), c.auth_time),
        (ALICE, "alice", 5)
    );
    assert!(c.in_group("admin"));

    // A REST context that nests `lambda` (as some proxies forward it) works too.
    let mut rest = fixture("get-me").request_context.authorizer;
    let flat = std::mem::take(&mut rest.fields);
    rest.fields
        .insert("lambda".into(), Value::Object(flat.into_iter().collect()));
    assert_eq!(caller(&rest).unwrap().sub, ALICE);
}

mod dynamodb_failures {
    //! The DynamoDB store's error mapping, with `aws-smithy-mocks` standing
    //! in for the service: throttling survives the SDK's retries → 503 with
    //! `Retry-After`; a non-transient error → 500. No detail leaks.

    use std::time::Duration;

    use aws_sdk_dynamodb::Client;
    use aws_sdk_dynamodb::config::retry::RetryConfig;
    use aws_smithy_mocks::{RuleMode, mock, mock_client};

    use super::*;
    use crate::store::dynamo::DynamoStore;

    const THROTTLED: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#;
    const NO_TABLE: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}"#;

    fn dynamo_app(client: Client) -> App<DynamoStore> {
        let cfg = Config::from_lookup(|k| (k == "TABLE_NAME").then(|| "notes".to_owned())).unwrap();
        App::new(DynamoStore::new(client, "notes"), cfg)
    }

    fn retrying(conf: aws_sdk_dynamodb::config::Builder) -> aws_sdk_dynamodb::config::Builder {
        conf.retry_config(
            RetryConfig::standard()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(1)),
        )
    }

    #[tokio::test]
    async fn throttling_after_sdk_retries_is_503_with_retry_after() {
        let get = mock!(Client::get_item)
            .sequence()
            .http_status(400, Some(THROTTLED.into()))
            .times(3)
            .build();
        let txn = mock!(Client::transact_write_items)
            .sequence()
            .http_status(400, Some(THROTTLED.into()))
            .times(3)
            .build();
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&get, &txn], retrying);
        let app = dynamo_app(client);

        let r = call(&app, &fixture("get-note")).await;
        assert_error(&r, 503, "service_unavailable", None);
        assert_eq!(hdr(&r, "retry-after"), Some("1"));
        assert_eq!(get.num_calls(), 3, "the SDK retried before we gave up");
        assert!(
            !json_of(&r).to_string().contains("Throttling"),
            "no internal detail in the answer"
        );

        let r = call(&app, &fixture("post-notes")).await;
        assert_error(&r, 503, "service_unavailable", None);
        assert_eq!(hdr(&r, "retry-after"), Some("1"));
        assert_eq!(txn.num_calls(), 3);
    }

    #[tokio::test]
    async fn a_non_transient_store_error_is_a_plain_500() {
        let get = mock!(Client::get_item)
            .sequence()
            .http_status(400, Some(NO_TABLE.into()))
            .build();
        let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&get], retrying);
        let r = call(&dynamo_app(client), &fixture("get-note")).await;
        assert_error(&r, 500, "internal_error", None);
        assert_eq!(get.num_calls(), 1, "not retried");
        assert!(hdr(&r, "retry-after").is_none());
    }
}

mod access_log {
    use std::cell::RefCell;
    use std::io::Write;
    use std::sync::Once;

    use super::*;

    thread_local! {
        static CAPTURED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    }

    /// Writes into a per-thread buffer. Installed as the *global* subscriber:
    /// a scoped one races with other tests over tracing's interest cache.
    struct ThreadBuffer;

    impl Write for ThreadBuffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            CAPTURED.with(|c| c.borrow_mut().extend_from_slice(buf));
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn install() {
        static ONCE: Once = Once::new();
        ONCE.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .json()
                .flatten_event(true)
                .with_writer(|| ThreadBuffer)
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
        });
        CAPTURED.with(|c| c.borrow_mut().clear());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn one_json_line_per_request_without_contents_or_credentials() {
        install();
        let app = app(5);
        let secret_body = r#"{"title":"TOP-SECRET-TITLE","body":"TOP-SECRET-BODY"}"#;
        let req = with_header(
            with_body(fixture("post-notes"), secret_body),
            "authorization",
            "Bearer eyJSECRET.TOKEN",
        );
        let req = with_header(req, "idempotency-key", "KEY-SECRET-ish");
        assert_eq!(
            respond(&app, &req, "req-123", SystemTime::now())
                .await
                .status_code,
            201
        );

        let text = CAPTURED.with(|c| String::from_utf8(c.borrow().clone()).unwrap());
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 1, "{text}");
        let line = &lines[0];
        assert_eq!(line["request_id"], "req-123");
        assert_eq!(line["sub"], ALICE);
        assert_eq!(line["route"], "POST /notes");
        assert_eq!(line["status"], 201);
        assert!(line["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0));
        for secret in ["TOP-SECRET", "eyJSECRET", "KEY-SECRET"] {
            assert!(!text.contains(secret), "{secret} leaked into {text}");
        }
    }
}

/// Sets a header the way API Gateway does for several field lines: the
/// last in `headers`, all of them in `multiValueHeaders`.
fn with_header_lines(
    mut req: ApiGatewayProxyRequest,
    name: &'static str,
    lines: &[&str],
) -> ApiGatewayProxyRequest {
    req.multi_value_headers.remove(name);
    for l in lines {
        req.multi_value_headers
            .append(name, HeaderValue::from_str(l).unwrap());
    }
    with_header(req, name, lines.last().unwrap())
}

#[tokio::test]
async fn if_match_is_evaluated_per_rfc_9110_on_put_and_delete() {
    let app = app(5);
    let id = create_id(&app, ALICE, "first").await;
    let put = at_path(fixture("put-note"), &format!("/notes/{id}"));
    let del = at_path(fixture("delete-note"), &format!("/notes/{id}"));
    // Well-formed tags that match nothing: 412, whatever they look like.
    for never in [
        "\"bogus-version\"",
        "W/\"1\"",
        "\"01\"",
        "\"2\", W/\"1\"",
        "\"\"",
    ] {
        for req in [&put, &del] {
            let r = call(&app, &with_header(req.clone(), "if-match", never)).await;
            assert_error(&r, 412, "precondition_failed", None);
        }
    }
    // Malformed syntax: 400 naming the header.
    for bad in ["1", "\"1", "W/1", "\"1\" \"2\"", "*, \"1\"", "w/\"1\""] {
        for req in [&put, &del] {
            let r = call(&app, &with_header(req.clone(), "if-match", bad)).await;
            assert_error(&r, 400, "invalid_parameter", Some("If-Match"));
        }
    }
    // A list matches when any member does, including one on another line.
    let r = call(&app, &with_header(put.clone(), "if-match", "\"9\", \"1\"")).await;
    assert_eq!((r.status_code, hdr(&r, "etag")), (200, Some("\"2\"")));
    let r = call(
        &app,
        &with_header_lines(put.clone(), "if-match", &["\"2\"", "\"8\""]),
    )
    .await;
    assert_eq!((r.status_code, hdr(&r, "etag")), (200, Some("\"3\"")));
    let r = call(&app, &with_header(del.clone(), "if-match", "\"1\", \"3\"")).await;
    assert_eq!(r.status_code, 204);
    // Gone: the precondition is not evaluated, the answer is 404.
    let r = call(&app, &with_header(put, "if-match", "*")).await;
    assert_error(&r, 404, "not_found", None);
}

#[tokio::test]
async fn get_with_if_none_match_on_the_current_etag_is_304() {
    let app = app(5);
    let id = create_id(&app, ALICE, "first").await;
    let get = at_path(fixture("get-note"), &format!("/notes/{id}"));
    for fresh in ["\"1\"", "W/\"1\"", "\"7\", \"1\"", "*"] {
        let r = call(&app, &with_header(get.clone(), "if-none-match", fresh)).await;
        assert_eq!(r.status_code, 304, "{fresh}");
        assert_eq!(hdr(&r, "etag"), Some("\"1\""));
        assert_eq!(hdr(&r, "cache-control"), Some("no-store"));
        assert!(r.body.is_none());
    }
    for stale in ["\"2\"", "\"01\"", "\"x\""] {
        let r = call(&app, &with_header(get.clone(), "if-none-match", stale)).await;
        assert_eq!((r.status_code, hdr(&r, "etag")), (200, Some("\"1\"")));
        assert_eq!(json_of(&r)["id"], id.as_str());
    }
    let r = call(&app, &with_header(get.clone(), "if-none-match", "1")).await;
    assert_error(&r, 400, "invalid_parameter", Some("If-None-Match"));
    let missing = at_path(fixture("get-note"), "/notes/01ARZ3NDEKTSV4RRFFQ69G5FAV");
    let r = call(&app, &with_header(missing, "if-none-match", "*")).await;
    assert_error(&r, 404, "not_found", None);
}

#[tokio::test]
async fn bodies_with_a_repeated_key_are_refused() {
    let app = app(5);
    for (body, field) in [
        (r#"{"title":"a","body":"b","title":"c"}"#, "title"),
        (r#"{"title":"a","body":"b","b\u006fdy":"c"}"#, "body"),
    ] {
        let r = call(
            &app,
            &as_user(with_body(fixture("post-notes"), body), ALICE),
        )
        .await;
        assert_error(&r, 400, "duplicate_key", Some(field));
    }
    let id = create_id(&app, ALICE, "first").await;
    let put = with_body(
        at_path(fixture("put-note"), &format!("/notes/{id}")),
        r#"{"title":"a","body":"b","tags":[],"tags":["x"]}"#,
    );
    let put = with_header(put, "if-match", "\"1\"");
    assert_error(&call(&app, &put).await, 400, "duplicate_key", Some("tags"));
    // Nothing was written by the refused requests.
    let list = json_of(&call(&app, &as_user(fixture("get-notes"), ALICE)).await);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["version"], 1);
}

#[tokio::test]
async fn numeric_query_parameters_must_be_canonical_and_single() {
    let app = app(5);
    let list = |q: &[(&str, &str)]| {
        let mut req = as_user(fixture("get-notes"), ALICE);
        let single: HashMap<String, String> = q
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut multi: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in q {
            multi.entry(k.to_string()).or_default().push(v.to_string());
        }
        req.query_string_parameters = single.into();
        req.multi_value_query_string_parameters = multi.into();
        req
    };
    for bad in ["+5", "05", " 5", "5 ", "5.0", "0x5"] {
        let r = call(&app, &list(&[("limit", bad)])).await;
        assert_error(&r, 400, "invalid_parameter", Some("limit"));
    }
    let r = call(&app, &list(&[("limit", "5"), ("limit", "6")])).await;
    assert_error(&r, 400, "invalid_parameter", Some("limit"));
    let r = call(&app, &list(&[("limit", "5")])).await;
    assert_eq!(r.status_code, 200);
}
