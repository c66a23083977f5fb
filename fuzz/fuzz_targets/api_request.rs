//! api-handler: proxy request → response over the in-memory store.
//! Properties: every status is in openapi.yaml's table for the operation
//! (unrouted: 404/405); every body is JSON (`application/json`); every
//! error body is `{"error":{code,message,field}}` with a code documented
//! for its status; 204/304 have no body; ETag on note answers; never 5xx
//! (the in-memory store cannot fail).
#![no_main]

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use api_handler::store::memory::MemoryStore;
use api_handler::{App, Config, respond, routes};
use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use aws_lambda_events::encodings::Body;
use http::{HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use notes_fuzz::{api::table, block_on};
use serde_json::{Value, json};

const BASE: &str = include_str!("../../events/api/get-me.json");
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"];

fn app() -> App<MemoryStore> {
    let cfg = Config::from_lookup(|k| match k {
        "TABLE_NAME" => Some("fuzz".into()),
        "MAX_NOTES_PER_USER" => Some("3".into()),
        _ => None,
    })
    .expect("config");
    App::new(MemoryStore::new(), cfg)
}

fn base() -> ApiGatewayProxyRequest {
    serde_json::from_str(BASE).expect("fixture")
}

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_780_000_000)
}

/// Input layout: method byte, path byte, flags byte, then newline-separated
/// fields: path segment, If-Match, If-None-Match, Idempotency-Key,
/// Content-Type, query (`k=v&k=v`), body (the rest, newlines included).
fn request(data: &[u8], note_id: &str) -> Option<ApiGatewayProxyRequest> {
    let (&[m, p, flags], rest) = data.split_first_chunk::<3>()?;
    let text = String::from_utf8_lossy(rest);
    let mut fields = text.splitn(7, '\n');
    let mut next = || fields.next().unwrap_or_default().to_owned();
    let (seg, if_match, if_none, key, ctype, query, body) =
        (next(), next(), next(), next(), next(), next(), next());

    let mut req = base();
    req.http_method =
        Method::from_bytes(METHODS[usize::from(m) % METHODS.len()].as_bytes()).ok()?;
    let path = match p % 8 {
        0 => "/health".to_owned(),
        1 => "/me".to_owned(),
        2 => "/notes".to_owned(),
        3 => format!("/notes/{note_id}"),
        4 => format!("/notes/{seg}"),
        5 => format!("/admin/users/{seg}/notes"),
        6 => format!("/notes/{note_id}/"),
        _ => seg.clone(),
    };
    req.request_context.path = Some(format!("/prod{path}"));
    req.path = Some(path);
    let fields = &mut req.request_context.authorizer.fields;
    if flags & 1 != 0 {
        fields.insert("groups".into(), json!("admin"));
    }
    if flags & 2 != 0 {
        fields.clear();
    }
    req.headers.clear();
    req.multi_value_headers.clear();
    for (name, value, present) in [
        ("if-match", &if_match, flags & 4 != 0),
        ("if-none-match", &if_none, flags & 8 != 0),
        ("idempotency-key", &key, flags & 16 != 0),
        ("content-type", &ctype, flags & 32 == 0),
    ] {
        if !present {
            continue;
        }
        let v = HeaderValue::from_str(value).ok()?;
        req.headers.insert(name, v.clone());
        req.multi_value_headers.append(name, v);
    }
    let mut single: HashMap<String, String> = HashMap::new();
    let mut multi: HashMap<String, Vec<String>> = HashMap::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        single.insert(k.to_owned(), v.to_owned());
        multi.entry(k.to_owned()).or_default().push(v.to_owned());
    }
    req.query_string_parameters = single.into();
    req.multi_value_query_string_parameters = multi.into();
    req.is_base64_encoded = flags & 64 != 0;
    req.body = (flags & 128 == 0).then_some(body);
    Some(req)
}

fn check(req: &ApiGatewayProxyRequest, r: &aws_lambda_events::apigw::ApiGatewayProxyResponse) {
    let status = u16::try_from(r.status_code).expect("status fits u16");
    let t = table();
    let path = req.path.as_deref().unwrap_or_default();
    let route = routes::route(&req.http_method, path).map(|r| r.name());
    match route {
        Ok(route) => {
            let documented = &t.statuses[route];
            assert!(
                documented.contains(&status),
                "{route} answered {status}, documented: {documented:?}"
            );
        }
        Err(_) => assert!(matches!(status, 404 | 405), "unrouted answered {status}"),
    }
    assert!(status < 500, "5xx from the in-memory store: {:?}", r.body);
    if status == 405 {
        assert!(r.headers.contains_key("allow"));
    }
    let content_type = r.headers.get("content-type").map(|v| v.as_bytes());
    match &r.body {
        None => assert!(content_type.is_none()),
        Some(Body::Text(text)) => {
            assert!(!matches!(status, 204 | 304), "{status} with a body");
            assert_eq!(content_type, Some(&b"application/json"[..]));
            let v: Value = serde_json::from_str(text).expect("body is JSON");
            if status >= 400 {
                let e = &v["error"];
                let code = e["code"].as_str().expect("error.code");
                assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()));
                assert!(e["field"].is_null() || e["field"].is_string());
                assert_eq!(v.as_object().map(|o| o.len()), Some(1));
                assert!(
                    t.codes.get(&status).is_some_and(|c| c.contains(code)),
                    "code {code} not documented for {status}"
                );
            }
        }
        Some(other) => panic!("non-text body {other:?}"),
    }
    let one_note = matches!(route, Ok("GET /notes/{id}" | "PUT /notes/{id}"));
    if matches!(status, 201 | 304) || (status == 200 && one_note) {
        assert!(r.headers.contains_key("etag"), "{status} without ETag");
    }
}

fuzz_target!(|data: &[u8]| {
    let app = app();
    // One existing note, so GET/PUT/DELETE and preconditions reach the store.
    let mut create = base();
    create.http_method = Method::POST;
    create.path = Some("/notes".into());
    create
        .headers
        .insert("content-type", HeaderValue::from_static("application/json"));
    create.body = Some(r#"{"title":"seed","body":"b","tags":["t"]}"#.into());
    let created = block_on(respond(&app, &create, "fuzz", now()));
    let Some(Body::Text(t)) = &created.body else {
        panic!("seed note not created")
    };
    let v: Value = serde_json::from_str(t).expect("created JSON");
    let id = v["id"].as_str().expect("id").to_owned();

    let Some(req) = request(data, &id) else {
        return;
    };
    let r = block_on(respond(&app, &req, "fuzz", now()));
    check(&req, &r);
});
