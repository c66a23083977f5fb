//! `VerifierConfig::from_lookup`: the environment contract. Every refusal
//! names the variable an operator has to fix.

mod common;

use std::time::Duration;

use authorizer::config::{ConfigError, JwksSettings, VerifierConfig};
use authorizer::testing;
use common::*;
use serde_json::json;

fn base() -> Vec<(&'static str, &'static str)> {
    vec![("USER_POOL_ID", POOL), ("APP_CLIENT_IDS", "C1")]
}

fn with_base(extra: &[(&'static str, &str)]) -> Result<VerifierConfig, ConfigError> {
    let mut pairs: Vec<(&str, &str)> = base();
    pairs.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    pairs.extend_from_slice(extra);
    config_result(&pairs)
}

#[test]
fn defaults() {
    let c = with_base(&[]).unwrap();
    assert_eq!(c.client_ids, ["C1"]);
    assert_eq!(c.leeway_seconds, 30);
    assert_eq!(c.jwks, JwksSettings::default());
    assert_eq!(c.jwks.cooldown_seconds, 10);
    assert_eq!(c.jwks.failure_backoff_seconds, 5);
    assert_eq!(c.jwks.failure_backoff_max_seconds, 60);
    assert_eq!(c.jwks.max_age_seconds, 3600);
    assert_eq!(c.jwks.fetch_timeout, Duration::from_millis(1500));
    assert_eq!(c.jwks.max_body_bytes, 65536);
    assert!(c.embedded_jwks.is_empty());
    let [pool] = c.pools.as_slice() else {
        panic!("one pool")
    };
    assert_eq!(pool.pool_id, POOL);
    assert_eq!(pool.region, "us-east-1");
    assert_eq!(
        pool.issuer,
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool"
    );
    assert_eq!(
        pool.jwks_url,
        "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool/.well-known/jwks.json"
    );
}

#[test]
fn knobs_override_defaults() {
    let c = with_base(&[
        ("CLOCK_LEEWAY_SECONDS", "300"),
        ("JWKS_COOLDOWN_SECONDS", "30"),
        ("JWKS_FAILURE_BACKOFF_SECONDS", "2"),
        ("JWKS_FAILURE_BACKOFF_MAX_SECONDS", "8"),
        ("JWKS_MAX_AGE_SECONDS", "600"),
        ("JWKS_FETCH_TIMEOUT_MS", "250"),
        ("JWKS_MAX_BYTES", "2048"),
        ("JWKS_STALE_MAX_SECONDS", "0"),
    ])
    .unwrap();
    assert_eq!(c.leeway_seconds, 300);
    assert_eq!(
        c.jwks,
        JwksSettings {
            cooldown_seconds: 30,
            failure_backoff_seconds: 2,
            failure_backoff_max_seconds: 8,
            max_age_seconds: 600,
            stale_max_seconds: 0,
            fetch_timeout: Duration::from_millis(250),
            max_body_bytes: 2048,
        }
    );
}

#[test]
fn jwks_location_precedence() {
    let url = |extra: &[(&'static str, &str)]| with_base(extra).unwrap().pools[0].jwks_url.clone();
    let path = format!("{POOL}/.well-known/jwks.json");
    assert_eq!(
        url(&[("JWKS_URL", "http://127.0.0.1:9/k.json")]),
        "http://127.0.0.1:9/k.json"
    );
    assert_eq!(
        url(&[
            (
                "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
                "http://127.0.0.1:7/"
            ),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:8")
        ]),
        format!("http://127.0.0.1:7/{path}")
    );
    assert_eq!(
        url(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:8")]),
        format!("http://127.0.0.1:8/{path}")
    );
    assert_eq!(
        url(&[
            ("JWKS_URL", "https://keys.example/jwks"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:8")
        ]),
        "https://keys.example/jwks"
    );
    // Empty means unset (templates pass "" for optional parameters).
    assert_eq!(
        url(&[("JWKS_URL", ""), ("AWS_ENDPOINT_URL", "")]).as_str(),
        format!("https://cognito-idp.us-east-1.amazonaws.com/{path}")
    );
}

#[test]
fn multi_pool() {
    let c = with_base(&[
        (
            "USER_POOL_ID",
            "us-east-1_A1,eu-west-1_0123456789abcdef0123456789abcdef",
        ),
        ("APP_CLIENT_IDS", "C1, C2"),
    ])
    .unwrap();
    let issuers: Vec<_> = c.pools.iter().map(|p| p.issuer.as_str()).collect();
    assert_eq!(
        issuers,
        [
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_A1",
            "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_0123456789abcdef0123456789abcdef"
        ]
    );
    assert_eq!(c.client_ids, ["C1", "C2"]);
}

#[test]
fn embedded_jwks_forms() {
    let k = keys();
    let doc = testing::jwks(&[&k.k1]).to_string();
    let c = with_base(&[("JWKS_JSON", &doc)]).unwrap();
    assert_eq!(c.embedded_jwks[POOL].usable_count(), 1);

    let map = json!({ POOL: testing::jwks(&[&k.k1, &k.k2]), POOL_B: testing::jwks(&[&k.kb]) })
        .to_string();
    let c = with_base(&[
        ("USER_POOL_ID", &format!("{POOL},{POOL_B}")),
        ("JWKS_JSON", &map),
    ])
    .unwrap();
    assert_eq!(c.embedded_jwks[POOL].usable_count(), 2);
    assert_eq!(c.embedded_jwks[POOL_B].usable_count(), 1);

    // One pool embedded, the other fetched: allowed.
    let partial = json!({ POOL: testing::jwks(&[&k.k1]) }).to_string();
    let c = with_base(&[
        ("USER_POOL_ID", &format!("{POOL},{POOL_B}")),
        ("JWKS_JSON", &partial),
    ])
    .unwrap();
    assert!(!c.embedded_jwks.contains_key(POOL_B));
}

/// (case name, variables, the variable the message must name).
type Refusal<'a> = (&'a str, Vec<(&'static str, &'a str)>, &'a str);

/// Each refusal names the variable to fix.
#[test]
fn refusals_table() {
    let k = keys();
    let doc = testing::jwks(&[&k.k1]).to_string();
    let two_pools = format!("{POOL},{POOL_B}");
    let unknown_pool_map = json!({ "us-west-2_Nope": testing::jwks(&[&k.k1]) }).to_string();
    let only_weak = json!({"keys":[{"kty":"RSA","kid":"w","n":"AQAB","e":"AQAB"}]}).to_string();
    let only_oct = json!({"keys":[{"kty":"oct","kid":"o","k":"c2VjcmV0"}]}).to_string();
    let dup = format!(
        "{{\"keys\":[],\"keys\":{}}}",
        testing::jwks(&[&k.k1])["keys"]
    );
    let cases: Vec<Refusal> = vec![
        (
            "USER_POOL_ID missing",
            vec![("APP_CLIENT_IDS", "C1")],
            "USER_POOL_ID",
        ),
        (
            "USER_POOL_ID empty",
            vec![("USER_POOL_ID", " "), ("APP_CLIENT_IDS", "C1")],
            "USER_POOL_ID",
        ),
        (
            "USER_POOL_ID without region",
            vec![("USER_POOL_ID", "TestPool"), ("APP_CLIENT_IDS", "C1")],
            "USER_POOL_ID",
        ),
        (
            "USER_POOL_ID upper-case region",
            vec![("USER_POOL_ID", "US-EAST-1_X"), ("APP_CLIENT_IDS", "C1")],
            "USER_POOL_ID",
        ),
        (
            "USER_POOL_ID empty suffix",
            vec![("USER_POOL_ID", "us-east-1_"), ("APP_CLIENT_IDS", "C1")],
            "USER_POOL_ID",
        ),
        (
            "USER_POOL_ID with a slash",
            vec![("USER_POOL_ID", "us-east-1_A/B"), ("APP_CLIENT_IDS", "C1")],
            "USER_POOL_ID",
        ),
        (
            "USER_POOL_ID empty entry",
            vec![
                ("USER_POOL_ID", "us-east-1_A,,us-east-1_B"),
                ("APP_CLIENT_IDS", "C1"),
            ],
            "USER_POOL_ID",
        ),
        (
            "USER_POOL_ID duplicate",
            vec![
                ("USER_POOL_ID", "us-east-1_A,us-east-1_A"),
                ("APP_CLIENT_IDS", "C1"),
            ],
            "USER_POOL_ID",
        ),
        (
            "APP_CLIENT_IDS missing",
            vec![("USER_POOL_ID", POOL)],
            "APP_CLIENT_IDS",
        ),
        (
            "APP_CLIENT_IDS empty",
            vec![("USER_POOL_ID", POOL), ("APP_CLIENT_IDS", "")],
            "APP_CLIENT_IDS",
        ),
        (
            "APP_CLIENT_IDS only commas",
            vec![("USER_POOL_ID", POOL), ("APP_CLIENT_IDS", " , ")],
            "APP_CLIENT_IDS",
        ),
        (
            "APP_CLIENT_IDS inner whitespace",
            vec![("USER_POOL_ID", POOL), ("APP_CLIENT_IDS", "C 1")],
            "APP_CLIENT_IDS",
        ),
        (
            "leeway above 300",
            vec![("CLOCK_LEEWAY_SECONDS", "301")],
            "CLOCK_LEEWAY_SECONDS",
        ),
        (
            "leeway negative",
            vec![("CLOCK_LEEWAY_SECONDS", "-1")],
            "CLOCK_LEEWAY_SECONDS",
        ),
        (
            "leeway not a number",
            vec![("CLOCK_LEEWAY_SECONDS", "30s")],
            "CLOCK_LEEWAY_SECONDS",
        ),
        (
            "cooldown zero",
            vec![("JWKS_COOLDOWN_SECONDS", "0")],
            "JWKS_COOLDOWN_SECONDS",
        ),
        (
            "fetch timeout above 10 s",
            vec![("JWKS_FETCH_TIMEOUT_MS", "10001")],
            "JWKS_FETCH_TIMEOUT_MS",
        ),
        (
            "body cap tiny",
            vec![("JWKS_MAX_BYTES", "10")],
            "JWKS_MAX_BYTES",
        ),
        (
            "max age below a minute",
            vec![("JWKS_MAX_AGE_SECONDS", "59")],
            "JWKS_MAX_AGE_SECONDS",
        ),
        (
            "stale max negative",
            vec![("JWKS_STALE_MAX_SECONDS", "-1")],
            "JWKS_STALE_MAX_SECONDS",
        ),
        (
            "stale max over 30 days",
            vec![("JWKS_STALE_MAX_SECONDS", "2592001")],
            "JWKS_STALE_MAX_SECONDS",
        ),
        (
            "backoff cap below base",
            vec![
                ("JWKS_FAILURE_BACKOFF_SECONDS", "10"),
                ("JWKS_FAILURE_BACKOFF_MAX_SECONDS", "5"),
            ],
            "JWKS_FAILURE_BACKOFF_MAX_SECONDS",
        ),
        (
            "JWKS_URL with two pools",
            vec![
                ("USER_POOL_ID", &two_pools),
                ("JWKS_URL", "https://x.example/jwks"),
            ],
            "JWKS_URL",
        ),
        (
            "JWKS_URL ftp",
            vec![("JWKS_URL", "ftp://x.example/jwks")],
            "JWKS_URL",
        ),
        (
            "JWKS_URL file",
            vec![("JWKS_URL", "file:///etc/passwd")],
            "JWKS_URL",
        ),
        (
            "JWKS_URL not a URL",
            vec![("JWKS_URL", "keys.json")],
            "JWKS_URL",
        ),
        (
            "AWS_ENDPOINT_URL not a URL",
            vec![("AWS_ENDPOINT_URL", "localhost:5000")],
            "AWS_ENDPOINT_URL",
        ),
        (
            "JWKS_JSON not JSON",
            vec![("JWKS_JSON", "{keys:")],
            "JWKS_JSON",
        ),
        ("JWKS_JSON an array", vec![("JWKS_JSON", "[]")], "JWKS_JSON"),
        (
            "JWKS_JSON empty object",
            vec![("JWKS_JSON", "{}")],
            "JWKS_JSON",
        ),
        (
            "JWKS_JSON keys not an array",
            vec![("JWKS_JSON", r#"{"keys":{}}"#)],
            "JWKS_JSON",
        ),
        (
            "JWKS_JSON duplicate member",
            vec![("JWKS_JSON", &dup)],
            "JWKS_JSON",
        ),
        (
            "JWKS_JSON bare set with two pools",
            vec![("USER_POOL_ID", &two_pools), ("JWKS_JSON", &doc)],
            "JWKS_JSON",
        ),
        (
            "JWKS_JSON map naming an unconfigured pool",
            vec![("JWKS_JSON", &unknown_pool_map)],
            "JWKS_JSON",
        ),
        (
            "JWKS_JSON only a weak key",
            vec![("JWKS_JSON", &only_weak)],
            "JWKS_JSON",
        ),
        (
            "JWKS_JSON only an oct key",
            vec![("JWKS_JSON", &only_oct)],
            "JWKS_JSON",
        ),
    ];
    let mut failures = Vec::new();
    for (name, extra, var) in cases {
        // Rows about the required variables give the whole environment.
        let got = if name.starts_with("USER_POOL_ID") || name.starts_with("APP_CLIENT_IDS") {
            config_result(&extra)
        } else {
            with_base(&extra)
        };
        match got {
            Ok(_) => failures.push(format!("{name}: accepted")),
            Err(e) => {
                let msg = e.to_string();
                let names_var = msg.starts_with(var)
                    && (var != "AWS_ENDPOINT_URL" || !msg.starts_with("AWS_ENDPOINT_URL_"));
                if !names_var {
                    failures.push(format!("{name}: message {msg:?} does not lead with {var}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn missing_is_a_distinct_error() {
    assert_eq!(
        config_result(&[("APP_CLIENT_IDS", "C1")]).unwrap_err(),
        ConfigError::Missing("USER_POOL_ID")
    );
    assert_eq!(
        config_result(&[("USER_POOL_ID", POOL)])
            .unwrap_err()
            .to_string(),
        "APP_CLIENT_IDS is required and must not be empty"
    );
}

#[test]
fn from_env_reads_the_process_environment() {
    // Only proves the wiring; every rule is covered through from_lookup.
    // With USER_POOL_ID unset in the test process, the answer must be the
    // Missing error, never a permissive default.
    if std::env::var_os("USER_POOL_ID").is_none() {
        assert_eq!(
            VerifierConfig::from_env().unwrap_err(),
            ConfigError::Missing("USER_POOL_ID")
        );
    }
}
