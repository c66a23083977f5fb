//! CPU cost of one request through the real handler, excluding DynamoDB I/O:
//! the in-memory store stands in for the table (target ≤ 50 µs/request).
//! Covers routing, identity, parsing/validation, JSON rendering and the
//! access log call (no subscriber installed, as its I/O is not ours).
//!
//! Also what token revocation (`TOKEN_REVOCATION=true`) adds to one
//! request's CPU time: the same `GET /notes/{id}` with revocation off and
//! on. The DynamoDB side (one strongly consistent GetItem per request) is
//! I/O, not measured here; see the README.

use std::hint::black_box;
use std::sync::Mutex;
use std::time::SystemTime;

use api_handler::revocation::Revocations;
use api_handler::store::memory::MemoryStore;
use api_handler::{App, Config, respond};
use aws_lambda_events::apigw::{ApiGatewayProxyRequest, ApiGatewayProxyResponse};
use aws_lambda_events::encodings::Body;
use criterion::{Criterion, criterion_group, criterion_main};

fn fixture(name: &str) -> ApiGatewayProxyRequest {
    let path = format!("{}/../events/api/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Creates a note for `user` and returns the `GET /notes/{id}` that reads
/// it, checked to answer 200 (a bench of a 404 would measure nothing).
fn get_of_a_new_note(
    rt: &tokio::runtime::Runtime,
    app: &App<MemoryStore>,
    user: &str,
) -> ApiGatewayProxyRequest {
    let created: ApiGatewayProxyResponse = rt.block_on(respond(
        app,
        &fixture("post-notes"),
        user,
        SystemTime::now(),
    ));
    let Some(Body::Text(note)) = &created.body else {
        panic!("create failed: {created:?}")
    };
    let id = serde_json::from_str::<serde_json::Value>(note).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut get = fixture("get-note");
    get.path = Some(format!("/notes/{id}"));
    assert_eq!(
        rt.block_on(respond(app, &get, user, SystemTime::now()))
            .status_code,
        200
    );
    get
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let config = Config::from_lookup(|k| match k {
        "TABLE_NAME" => Some("bench".into()),
        // Room for every create criterion runs.
        "MAX_NOTES_PER_USER" => Some("1000000".into()),
        _ => None,
    })
    .unwrap();
    let app = App::new(MemoryStore::new(), config);

    let post = fixture("post-notes");
    let get = get_of_a_new_note(&rt, &app, "bench");

    c.bench_function("GET /notes/{id} (in-memory store)", |b| {
        b.iter(|| rt.block_on(respond(&app, black_box(&get), "bench", SystemTime::now())))
    });
    // Fresh app per sample batch would be fairer to the BTreeMap, but the
    // store is not what is measured; creates stay O(log n) either way.
    c.bench_function("POST /notes (in-memory store)", |b| {
        b.iter(|| rt.block_on(respond(&app, black_box(&post), "bench", SystemTime::now())))
    });
    let invalid = {
        let mut p = post.clone();
        p.body = Some(r#"{"title":"","body":"x"}"#.into());
        p
    };
    c.bench_function("POST /notes 400 (validation)", |b| {
        b.iter(|| {
            rt.block_on(respond(
                &app,
                black_box(&invalid),
                "bench",
                SystemTime::now(),
            ))
        })
    });
}

fn revocation(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let app = |revocations| {
        let config = Config::from_lookup(|k| (k == "TABLE_NAME").then(|| "bench".into())).unwrap();
        App::new(MemoryStore::new(), config).with_revocations(revocations)
    };
    for (name, app) in [
        ("off", app(Revocations::Off)),
        // 10 000 other signed-out sessions in the table.
        (
            "on",
            app(Revocations::Memory(Mutex::new(
                (0..10_000)
                    .map(|i| (format!("other-{i}"), i64::MAX))
                    .collect(),
            ))),
        ),
    ] {
        let get = get_of_a_new_note(&rt, &app, "b");
        c.bench_function(&format!("GET /notes/{{id}} revocation {name}"), |b| {
            b.iter(|| rt.block_on(respond(&app, black_box(&get), "b", SystemTime::now())))
        });
    }
}

criterion_group!(benches, bench, revocation);
criterion_main!(benches);
