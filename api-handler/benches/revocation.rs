//! What token revocation (`TOKEN_REVOCATION=true`) adds to one request's CPU
//! time: the same `GET /notes/{id}` through the real handler with
//! revocation off and on, the in-memory stores standing in for DynamoDB.
//! The DynamoDB side (one strongly consistent GetItem per request) is I/O,
//! not measured here; see the README.

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

fn app(revocations: Revocations) -> App<MemoryStore> {
    let config = Config::from_lookup(|k| (k == "TABLE_NAME").then(|| "bench".into())).unwrap();
    App::new(MemoryStore::new(), config).with_revocations(revocations)
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
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
        let created: ApiGatewayProxyResponse = rt.block_on(respond(
            &app,
            &fixture("post-notes"),
            "b",
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
            rt.block_on(respond(&app, &get, "b", SystemTime::now()))
                .status_code,
            200
        );
        c.bench_function(&format!("GET /notes/{{id}} revocation {name}"), |b| {
            b.iter(|| rt.block_on(respond(&app, black_box(&get), "b", SystemTime::now())))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
