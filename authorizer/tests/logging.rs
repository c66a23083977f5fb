//! Decision logs: one JSON line per decision, with request id and reason,
//! never the token. Its own test binary: tracing caches per-callsite
//! interest process-wide, so a scoped subscriber must not race other tests.

use std::collections::HashMap;
use std::sync::Arc;

use authorizer::clock::ManualClock;
use authorizer::handler::Authorizer;
use authorizer::testing::{self, CapturedLog, TestKey};
use serde_json::{Value, json};

const POOL: &str = "us-east-1_TestPool";
const CLIENT: &str = "C1";
const NOW: i64 = 1_700_000_000;

fn bearer(method: &str, path: &str, token: &str) -> Value {
    json!({
        "type": "REQUEST",
        "methodArn": format!("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/{method}{path}"),
        "headers": {"Authorization": format!("Bearer {token}")},
        "requestContext": {"requestId": "req-123"}
    })
}

#[tokio::test]
async fn one_json_log_line_per_decision_with_reason_and_never_the_token() {
    // The production format (`main.rs` uses the same function).
    let (out, _guard) = CapturedLog::install("info");
    let key = TestKey::generate("K1");
    let env: HashMap<&str, String> = [
        ("USER_POOL_ID", POOL.to_string()),
        ("APP_CLIENT_IDS", CLIENT.to_string()),
        ("JWKS_JSON", testing::jwks(&[&key]).to_string()),
        ("AUTH_RULES", r#"[{"route":"GET /notes","scopes_any":["notes/read"]},{"route":"DELETE /notes/{id}","groups_any":["admin"]}]"#.to_string()),
    ]
    .into_iter()
    .collect();
    let a =
        Authorizer::from_lookup(|k| env.get(k).cloned(), Arc::new(ManualClock::new(NOW))).unwrap();
    let mut claims = testing::access_claims(POOL, CLIENT, "user-1", NOW);
    claims["scope"] = json!("notes/read");
    let t = key.token(&claims);
    // Same kid, another key: a valid-looking token whose signature fails.
    let forged = TestKey::generate("K1").token(&claims);
    let _ = a.handle(bearer("GET", "/notes", &t)).await;
    let _ = a.handle(bearer("DELETE", "/notes/1", &t)).await;
    let _ = a.handle(bearer("GET", "/nowhere", &t)).await;
    let _ = a.handle(bearer("GET", "/notes", &forged)).await;
    let text = out.text();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let decisions: Vec<(&str, &str)> = lines
        .iter()
        .filter(|l| l["message"] == "authorizer decision")
        .map(|l| {
            (
                l["decision"].as_str().unwrap(),
                l["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        decisions,
        [
            ("allow", ""),
            ("deny", "insufficient_group"),
            ("deny", "no_matching_rule"),
            ("unauthorized", "bad_signature")
        ]
    );
    for l in lines
        .iter()
        .filter(|l| l["message"] == "authorizer decision")
    {
        assert_eq!(l["request_id"], "req-123");
    }
    assert_eq!(lines[0]["sub"], "user-1");
    assert_eq!(lines[0]["level"], "INFO");
    // Lambda's JSON level filtering needs an RFC 3339 timestamp.
    let ts = lines[0]["timestamp"].as_str().unwrap();
    assert!(
        ts.len() >= 20 && ts.as_bytes()[10] == b'T' && ts.ends_with('Z'),
        "{ts}"
    );
    assert!(lines[0].get("target").is_none());
    assert_eq!(lines[0]["rule"], "GET /notes");
    let signature = t.rsplit('.').next().unwrap();
    assert!(
        !text.contains(signature) && !text.contains("Bearer"),
        "token or header leaked into logs"
    );
}
