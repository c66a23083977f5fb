//! Nothing from the input reaches a log line or an error message: every
//! malformed-event case, each carrying a real, valid token, is answered with
//! an internal error (500) naming a category and a position, and neither the
//! captured log output nor the error returned to Lambda holds any of the
//! token's bytes. Its own test binary: it installs a scoped subscriber
//! (tracing caches per-callsite interest process-wide).

use std::collections::HashMap;
use std::sync::Arc;

use authorizer::clock::ManualClock;
use authorizer::handler::{Authorizer, AuthorizerError};
use authorizer::testing::{self, CapturedLog, TestKey};
use serde_json::{Value, json};

const POOL: &str = "us-east-1_TestPool";
const CLIENT: &str = "C1";
const NOW: i64 = 1_700_000_000;
const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/notes";

/// Every way an event can be malformed, each with `t` (the token) inside.
fn cases(t: &str) -> Vec<(&'static str, Vec<u8>)> {
    let b = format!("Bearer {t}");
    let j = |v: Value| v.to_string().into_bytes();
    vec![
        // the issue's example: a string where an object belongs
        (
            "headers_is_a_string",
            j(json!({"type":"REQUEST","methodArn":ARN,"headers": b})),
        ),
        (
            "authorization_is_a_list",
            j(json!({"type":"REQUEST","methodArn":ARN,"headers":{"Authorization":[b]}})),
        ),
        (
            "authorization_is_an_object",
            j(json!({"type":"REQUEST","methodArn":ARN,"headers":{"Authorization":{"v":b}}})),
        ),
        (
            "multi_value_headers_not_lists",
            j(json!({"type":"REQUEST","methodArn":ARN,"headers":{"Authorization":b},
                "multiValueHeaders":{"Authorization": b}})),
        ),
        (
            "multi_value_headers_is_a_string",
            j(json!({"type":"REQUEST","methodArn":ARN,"multiValueHeaders": b})),
        ),
        (
            "method_arn_is_an_object",
            j(json!({"type":"REQUEST","methodArn":{"arn": t},"headers":{"Authorization":b}})),
        ),
        (
            "method_arn_is_the_token",
            j(json!({"type":"REQUEST","methodArn": t,"headers":{"Authorization":b}})),
        ),
        (
            "type_is_the_token",
            j(json!({"type": t, "methodArn":ARN,"headers":{"Authorization":b}})),
        ),
        (
            "type_is_a_number_next_to_the_token",
            j(json!({"type": 7, "authorizationToken": b, "methodArn":ARN})),
        ),
        (
            "authorization_token_is_a_list",
            j(json!({"type":"TOKEN","authorizationToken":[b],"methodArn":ARN})),
        ),
        (
            "token_event_without_method_arn",
            j(json!({"type":"TOKEN","authorizationToken":b})),
        ),
        (
            "v2_method_is_the_token",
            j(
                json!({"version":"2.0","rawPath":"/notes","headers":{"authorization":b},
                "requestContext":{"http":{"method": t}}}),
            ),
        ),
        (
            "v2_route_key_is_the_token",
            j(json!({"version":"2.0","rawPath":"/notes","headers":{"authorization":b},
                "routeKey": format!("{t} /notes")})),
        ),
        (
            "v2_raw_path_is_the_token",
            j(
                json!({"version":"2.0","rawPath": t,"headers":{"authorization":b},
                "requestContext":{"http":{"method":"GET"}}}),
            ),
        ),
        (
            "v2_raw_path_is_a_number",
            j(
                json!({"version":"2.0","rawPath": 1,"headers":{"authorization":b},
                "requestContext":{"http":{"method":"GET"}}}),
            ),
        ),
        (
            "request_context_is_the_token",
            j(
                json!({"type":"REQUEST","methodArn":ARN,"headers":{"Authorization":b},
                "requestContext": b}),
            ),
        ),
        (
            "version_is_the_token",
            j(json!({"version": t, "headers":{"authorization":b}})),
        ),
        ("whole_event_is_the_token", j(json!(b))),
        ("whole_event_is_a_list", j(json!([b, ARN]))),
        (
            "truncated_inside_the_token",
            format!(r#"{{"type":"REQUEST","methodArn":"{ARN}","headers":{{"Authorization":"{b}"#)
                .into_bytes(),
        ),
        (
            "bad_escape_after_the_token",
            format!(
                r#"{{"type":"REQUEST","methodArn":"{ARN}","headers":{{"Authorization":"{b}\q"}}}}"#
            )
            .into_bytes(),
        ),
        (
            "control_character_after_the_token",
            format!(
                "{{\"type\":\"REQUEST\",\"methodArn\":\"{ARN}\",\"headers\":{{\"Authorization\":\"{b}\u{1}\"}}}}"
            )
            .into_bytes(),
        ),
        (
            "trailing_garbage_after_the_event",
            format!(
                r#"{{"type":"REQUEST","methodArn":"{ARN}","headers":{{"Authorization":"{b}"}}}} {t}"#
            )
            .into_bytes(),
        ),
        ("bare_token_not_json", b.clone().into_bytes()),
        ("not_utf8_after_the_token", {
            let mut v = format!(r#"{{"type":"REQUEST","headers":{{"Authorization":"{b}"#)
                .into_bytes();
            v.extend_from_slice(b"\xff\xfe\"}}");
            v
        }),
        (
            "duplicate_method_arn",
            format!(
                r#"{{"type":"REQUEST","methodArn":"{ARN}","methodArn":"{t}","headers":{{"Authorization":"{b}"}}}}"#
            )
            .into_bytes(),
        ),
        (
            "token_as_a_key_then_wrong_type",
            format!(r#"{{"{t}":1,"type":"REQUEST","methodArn":"{ARN}","headers":[1]}}"#)
                .into_bytes(),
        ),
    ]
}

#[tokio::test]
async fn malformed_events_with_a_real_token_never_echo_any_of_its_bytes() {
    let (out, _guard) = CapturedLog::install("trace");
    let key = TestKey::generate("K1");
    let env: HashMap<&str, String> = [
        ("USER_POOL_ID", POOL.to_string()),
        ("APP_CLIENT_IDS", CLIENT.to_string()),
        ("JWKS_JSON", testing::jwks(&[&key]).to_string()),
    ]
    .into_iter()
    .collect();
    let a =
        Authorizer::from_lookup(|k| env.get(k).cloned(), Arc::new(ManualClock::new(NOW))).unwrap();
    let token = key.token(&testing::access_claims(POOL, CLIENT, "user-1", NOW));
    // The token is valid: a well-formed event with it is allowed.
    let good = json!({"type":"REQUEST","methodArn":ARN,"headers":{"Authorization":format!("Bearer {token}")}});
    assert!(a.handle(good).await.is_ok());

    // Any 12-byte window of the token, so no part of it slips through.
    let windows: Vec<&str> = (0..token.len().saturating_sub(12))
        .step_by(6)
        .map(|i| &token[i..i + 12])
        .collect();
    let cases = cases(&token);
    for (name, event) in &cases {
        let before = out.mark();
        let result = a.handle_json(event, Some("lambda-req-1")).await;
        let err = match result {
            Err(e @ AuthorizerError::Internal(_)) => e,
            other => panic!("{name}: expected an internal error, got {other:?}"),
        };
        let diag: lambda_runtime::Diagnostic = err.clone().into();
        let response = format!("{} {}", diag.error_type, diag.error_message);
        assert!(
            diag.error_message
                .starts_with("authorizer internal error: bad_"),
            "{name}: {response}"
        );
        let logged = out.text_since(before);
        assert!(!logged.is_empty(), "{name}: nothing logged");
        let line: Value = serde_json::from_str(logged.lines().last().unwrap()).unwrap();
        assert_eq!(line["decision"], "error", "{name}: {logged}");
        assert_eq!(line["request_id"], "lambda-req-1", "{name}: {logged}");
        for w in &windows {
            assert!(
                !logged.contains(w),
                "{name}: token bytes in the log: {logged}"
            );
            assert!(
                !response.contains(w),
                "{name}: token bytes in the response: {response}"
            );
        }
        assert!(!logged.contains("Bearer"), "{name}: {logged}");
        assert!(!response.contains("Bearer"), "{name}: {response}");
    }
    assert!(cases.len() >= 25);
}
