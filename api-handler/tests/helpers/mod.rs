//! Shared setup for the moto-backed tests: a client pointed at moto, a
//! uniquely named table per test, the real handler over it, and the proxy
//! fixtures from `events/api/`.
#![allow(dead_code)]

use std::path::PathBuf;
use std::time::SystemTime;

use api_handler::store::dynamo::{DynamoStore, TTL_ATTRIBUTE};
use api_handler::{App, Config, respond};
use aws_config::BehaviorVersion;
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use http::HeaderValue;
use serde_json::{Value, json};

pub const ALICE: &str = "7d4e1c2a-3b5f-4a6e-9c8d-0f1e2d3c4b5a";
pub const BOB: &str = "1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b";

pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").unwrap_or_else(|_| {
        panic!("MOTO_ENDPOINT is not set: run it through scripts/with-moto.sh or `make test`")
    })
}

pub async fn client() -> Client {
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(moto_endpoint())
        .load()
        .await;
    Client::new(&sdk)
}

/// A fresh table with the production key schema and TTL attribute.
pub async fn create_table(client: &Client) -> String {
    let name = format!("notes-{}", ulid::Ulid::new().to_string().to_lowercase());
    let attr = |n: &str| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name(&name)
        .attribute_definitions(attr("PK"))
        .attribute_definitions(attr("SK"))
        .key_schema(key("PK", KeyType::Hash))
        .key_schema(key("SK", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .expect("create table in moto");
    client
        .update_time_to_live()
        .table_name(&name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(TTL_ATTRIBUTE)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("enable TTL in moto");
    name
}

/// The real handler over DynamoDB (moto), with a fresh table.
pub async fn app(quota: u32) -> (App<DynamoStore>, Client, String) {
    let client = client().await;
    let table = create_table(&client).await;
    let t = table.clone();
    let config = Config::from_lookup(move |k| match k {
        "TABLE_NAME" => Some(t.clone()),
        "MAX_NOTES_PER_USER" => Some(quota.to_string()),
        _ => None,
    })
    .unwrap();
    (
        App::new(DynamoStore::new(client.clone(), table.clone()), config),
        client,
        table,
    )
}

pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../events/api")
}

pub fn fixture(name: &str) -> ApiGatewayProxyRequest {
    let path = fixtures_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

pub fn as_user(mut req: ApiGatewayProxyRequest, sub: &str) -> ApiGatewayProxyRequest {
    let f = &mut req.request_context.authorizer.fields;
    f.insert("sub".into(), json!(sub));
    f.insert("principalId".into(), json!(sub));
    req
}

pub fn at_path(mut req: ApiGatewayProxyRequest, path: &str) -> ApiGatewayProxyRequest {
    req.request_context.path = Some(format!("/prod{path}"));
    req.path = Some(path.to_owned());
    req
}

pub fn with_body(mut req: ApiGatewayProxyRequest, body: &Value) -> ApiGatewayProxyRequest {
    req.body = Some(body.to_string());
    req
}

pub fn with_header(
    mut req: ApiGatewayProxyRequest,
    name: &'static str,
    value: &str,
) -> ApiGatewayProxyRequest {
    req.headers
        .insert(name, HeaderValue::from_str(value).unwrap());
    req
}

pub fn without_header(
    mut req: ApiGatewayProxyRequest,
    name: &'static str,
) -> ApiGatewayProxyRequest {
    req.headers.remove(name);
    req
}

pub fn with_query(
    mut req: ApiGatewayProxyRequest,
    pairs: &[(&str, &str)],
) -> ApiGatewayProxyRequest {
    let q: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    req.query_string_parameters = q.into();
    req
}

pub async fn call(app: &App<DynamoStore>, req: &ApiGatewayProxyRequest) -> ApiGatewayProxyResponse {
    respond(app, req, "integration-test", SystemTime::now()).await
}

pub fn json_of(r: &ApiGatewayProxyResponse) -> Value {
    match &r.body {
        Some(Body::Text(t)) => serde_json::from_str(t).unwrap(),
        other => panic!("expected a text body, got {other:?}"),
    }
}

pub fn header<'a>(r: &'a ApiGatewayProxyResponse, name: &str) -> Option<&'a str> {
    r.headers.get(name).map(|v| v.to_str().unwrap())
}

#[track_caller]
pub fn assert_error(r: &ApiGatewayProxyResponse, status: i64, code: &str) {
    assert_eq!(r.status_code, status, "{:?}", r.body);
    let v = json_of(r);
    assert_eq!(v["error"]["code"], code, "{v}");
}

/// Creates a note for `sub` and returns its JSON.
pub async fn create(app: &App<DynamoStore>, sub: &str, title: &str) -> Value {
    let req = as_user(
        with_body(
            fixture("post-notes"),
            &json!({"title": title, "body": format!("body of {title}")}),
        ),
        sub,
    );
    let r = call(app, &req).await;
    assert_eq!(r.status_code, 201, "{:?}", r.body);
    json_of(&r)
}

pub async fn note_count(app: &App<DynamoStore>, sub: &str) -> u64 {
    json_of(&call(app, &as_user(fixture("get-me"), sub)).await)["noteCount"]
        .as_u64()
        .unwrap()
}

/// Every note id in `sub`'s listing, following cursors.
pub async fn all_titles(app: &App<DynamoStore>, sub: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut req = as_user(with_query(fixture("get-notes"), &[("limit", "100")]), sub);
    loop {
        let page = json_of(&call(app, &req).await);
        out.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["title"].as_str().unwrap().to_owned()),
        );
        match page["nextCursor"].as_str() {
            Some(c) => req = with_query(req, &[("limit", "100"), ("cursor", c)]),
            None => return out,
        }
    }
}

/// The real handler over a fresh table, reached through [`serialising_gateway`].
pub async fn serialised_app(quota: u32) -> (App<DynamoStore>, Client, String) {
    let gateway = serialising_gateway().await;
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(gateway)
        .load()
        .await;
    let client = Client::new(&sdk);
    let table = create_table(&client).await;
    let t = table.clone();
    let config = Config::from_lookup(move |k| match k {
        "TABLE_NAME" => Some(t.clone()),
        "MAX_NOTES_PER_USER" => Some(quota.to_string()),
        _ => None,
    })
    .unwrap();
    (
        App::new(DynamoStore::new(client.clone(), table.clone()), config),
        client,
        table,
    )
}

/// Starts a loopback HTTP gateway on 127.0.0.1:0 that forwards every
/// request to moto, one at a time, and returns its URL.
///
/// Why: moto's server is multi-threaded and its TransactWriteItems is not
/// isolated (it evaluates items one by one and rolls back by restoring a
/// deep copy of the whole table, which can undo a concurrent transaction's
/// committed writes). DynamoDB executes each request atomically; running
/// moto's requests one at a time restores exactly that guarantee and no
/// more. Requests from concurrent handlers still interleave freely between
/// calls, so any read-then-write in the handler would still race and fail
/// these tests.
pub async fn serialising_gateway() -> String {
    use axum::body::{Body as AxumBody, to_bytes};
    use axum::extract::Request;
    use axum::response::Response;
    use std::sync::Arc;

    let upstream = moto_endpoint();
    let http = reqwest::Client::new();
    let turn = Arc::new(tokio::sync::Mutex::new(()));
    let forward = move |req: Request| {
        let (http, turn, upstream) = (http.clone(), Arc::clone(&turn), upstream.clone());
        async move {
            let (parts, body) = req.into_parts();
            let body = to_bytes(body, usize::MAX).await.unwrap();
            let path = parts
                .uri
                .path_and_query()
                .map_or("/", |p| p.as_str())
                .to_owned();
            let mut headers = parts.headers;
            headers.remove(http::header::HOST);
            let _one_at_a_time = turn.lock().await;
            let up = http
                .request(parts.method, format!("{upstream}{path}"))
                .headers(headers)
                .body(body)
                .send()
                .await
                .expect("forward to moto");
            let mut res = Response::builder().status(up.status());
            for (k, v) in up.headers() {
                res = res.header(k, v);
            }
            res.body(AxumBody::from(
                up.bytes().await.expect("moto response body"),
            ))
            .unwrap()
        }
    };
    let router = axum::Router::new().fallback(forward);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}
