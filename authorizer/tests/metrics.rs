//! EMF metrics: the emitted line is valid CloudWatch EMF JSON with the
//! contract's namespace, metrics and dimension, one line per invocation,
//! with the decision's reason and the JWKS counters flushed into it. Its own
//! test binary: the JWKS counters are process-wide.

mod common;

use std::sync::{Arc, Mutex};

use authorizer::handler::Authorizer;
use authorizer::testing;
use common::*;
use serde_json::{Value, json};

fn lines_sink() -> (Arc<Mutex<Vec<String>>>, authorizer::handler::MetricsSink) {
    let out = Arc::new(Mutex::new(Vec::<String>::new()));
    let o = out.clone();
    (
        out,
        Arc::new(move |l: &str| o.lock().unwrap().push(l.to_owned())),
    )
}

/// Checks the EMF structure and returns (Reason, Decisions, fetches, failures, stale).
fn parse(line: &str) -> (String, u64, u64, u64, u64) {
    assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
    let v: Value = serde_json::from_str(line).expect("EMF line is JSON");
    let aws = &v["_aws"];
    assert!(aws["Timestamp"].as_u64().unwrap() > 1_600_000_000_000);
    let directives = aws["CloudWatchMetrics"].as_array().unwrap();
    assert_eq!(directives.len(), 2);
    for d in directives {
        assert_eq!(d["Namespace"], "CognitoNotes/Authorizer");
        for m in d["Metrics"].as_array().unwrap() {
            assert_eq!(m["Unit"], "Count");
            // every metric named in a directive has a numeric member
            assert!(v[m["Name"].as_str().unwrap()].is_u64(), "{m}");
        }
    }
    assert_eq!(directives[0]["Dimensions"], json!([["Reason"]]));
    assert_eq!(
        directives[0]["Metrics"],
        json!([{"Name":"Decisions","Unit":"Count"}])
    );
    assert_eq!(directives[1]["Dimensions"], json!([[]]));
    let names: Vec<&str> = directives[1]["Metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["Name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["JwksFetches", "JwksFetchFailures", "StaleKeysServed"]
    );
    let n = |k: &str| v[k].as_u64().unwrap();
    (
        v["Reason"].as_str().unwrap().to_owned(),
        n("Decisions"),
        n("JwksFetches"),
        n("JwksFetchFailures"),
        n("StaleKeysServed"),
    )
}

fn event(token: &str, path: &str) -> Value {
    json!({
        "type": "REQUEST",
        "methodArn": format!("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET{path}"),
        "headers": {"Authorization": format!("Bearer {token}")},
        "requestContext": {"requestId": "r"}
    })
}

#[tokio::test]
async fn one_emf_line_per_invocation_with_reason_and_jwks_counters() {
    let k = keys();
    let server = JwksServer::start(Mode::Json(testing::jwks(&[&k.k1, &k.k2]))).await;
    let clock = clock();
    let (out, sink) = lines_sink();
    let mut pairs = standard_pairs(&server.url());
    pairs.retain(|(n, _)| *n != "JWKS_JSON");
    pairs.push(("JWKS_JSON", testing::jwks(&[&k.k1]).to_string()));
    pairs.push(("AUTH_RULES", r#"[{"route":"GET /notes"}]"#.into()));
    let env: std::collections::HashMap<&str, String> = pairs.into_iter().collect();
    let a = Authorizer::from_lookup(|n| env.get(n).cloned(), clock.clone())
        .unwrap()
        .with_metrics_sink(sink);

    let t1 = k.k1.token(&access(NOW));
    let t2 = k.k2.token(&access(NOW)); // unknown kid → one fetch
    let expired = k.k1.token(&access(NOW - 7200));
    a.handle(event(&t1, "/notes")).await.unwrap();
    a.handle(event(&t2, "/notes")).await.unwrap();
    let _ = a.handle(event(&expired, "/notes")).await;
    a.handle(event(&t1, "/elsewhere")).await.unwrap();
    let _ = a.handle_json(b"{not json", None).await;
    let got: Vec<_> = out.lock().unwrap().iter().map(|l| parse(l)).collect();
    assert_eq!(
        got,
        [
            ("allowed".into(), 1, 0, 0, 0),
            ("allowed".into(), 1, 1, 0, 0),
            ("expired".into(), 1, 0, 0, 0),
            ("no_matching_rule".into(), 1, 0, 0, 0),
            ("bad_event".into(), 1, 0, 0, 0),
        ]
    );

    // A failing endpoint behind a stale set: stale serves and a failure,
    // counted into the next lines.
    out.lock().unwrap().clear();
    server.set(Mode::Status(500));
    clock.advance(3600);
    let t = k.k2.token(&access(NOW + 3600));
    for _ in 0..3 {
        a.handle(event(&t, "/notes")).await.unwrap();
    }
    for _ in 0..200 {
        if server.hits() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    a.handle(event(&t, "/notes")).await.unwrap();
    let got: Vec<_> = out.lock().unwrap().iter().map(|l| parse(l)).collect();
    assert_eq!(got.len(), 4);
    assert!(got.iter().all(|g| g.0 == "allowed" && g.1 == 1));
    let sum = |f: fn(&(String, u64, u64, u64, u64)) -> u64| got.iter().map(f).sum::<u64>();
    assert_eq!(sum(|g| g.4), 4, "every request served a stale key");
    assert_eq!(sum(|g| g.2), 1, "one background refresh");
    assert_eq!(sum(|g| g.3), 1, "which failed");
}
