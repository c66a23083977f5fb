//! The committed sample events under `events/` are exactly what
//! `gen-events` produces from the committed dev key and `template.yaml`, they
//! parse as the `aws_lambda_events` types the authorizer reads, and their
//! tokens say what their file names say (valid signature or not, expired
//! or not, which pool and client). `events/env.json` only sets variables the
//! template declares, as `sam local invoke --env-vars` requires.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequest, ApiGatewayCustomAuthorizerRequestTypeRequest,
    ApiGatewayV2CustomAuthorizerV2Request,
};
use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{root, template};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// Every file under `dir`, by path relative to `dir`.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path
                    .strip_prefix(base)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn generate(name: &str) -> BTreeMap<String, Vec<u8>> {
    let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("gen-events-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&out);
    let status = Command::new(env!("CARGO_BIN_EXE_gen-events"))
        .arg("--root")
        .arg(root())
        .arg("--out")
        .arg(&out)
        .status()
        .expect("run gen-events");
    assert!(status.success(), "gen-events failed: {status}");
    let files = tree(&out);
    fs::remove_dir_all(&out).unwrap();
    files
}

#[test]
fn committed_events_are_what_the_generator_produces() {
    let generated = generate("check");
    assert!(
        generated.len() >= 15,
        "suspiciously few files: {:?}",
        generated.keys()
    );
    let events = root().join("events");
    for (name, bytes) in &generated {
        let committed = fs::read(events.join(name))
            .unwrap_or_else(|e| panic!("events/{name} is not committed ({e}); run `make events`"));
        assert!(
            committed == *bytes,
            "events/{name} differs from the generator's output; run `make events`"
        );
    }
    // No stale authorizer event the generator no longer writes.
    for name in tree(&events.join("authorizer")).keys() {
        let rel = format!("authorizer/{name}");
        assert!(
            generated.contains_key(&rel),
            "events/{rel} is not generated any more; delete it"
        );
    }
}

#[test]
fn the_generator_is_deterministic() {
    assert_eq!(generate("a"), generate("b"));
}

fn authorizer_events() -> Vec<(String, Value)> {
    tree(&root().join("events/authorizer"))
        .into_iter()
        .map(|(name, bytes)| {
            let v = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, v)
        })
        .collect()
}

/// Parse as `T`, write back, parse again: nothing the authorizer reads is lost.
fn round_trip<T: DeserializeOwned + Serialize>(name: &str, v: &Value) -> T {
    let first: T = serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let written = serde_json::to_value(&first).unwrap();
    let second: T = serde_json::from_value(written.clone()).unwrap();
    assert_eq!(
        serde_json::to_value(&second).unwrap(),
        written,
        "{name} does not round-trip"
    );
    first
}

/// The bearer token of an event, however it is shaped.
fn token_of(name: &str, v: &Value) -> Option<String> {
    let raw = if name.starts_with("rest-token-") {
        let e: ApiGatewayCustomAuthorizerRequest = round_trip(name, v);
        assert_eq!(e.type_.as_deref(), Some("TOKEN"));
        assert!(e.method_arn.is_some());
        e.authorization_token
    } else if name.starts_with("rest-request-") {
        let e: ApiGatewayCustomAuthorizerRequestTypeRequest = round_trip(name, v);
        assert_eq!(e.type_.as_deref(), Some("REQUEST"));
        let arn = e.method_arn.clone().unwrap();
        let path = e.path.clone().unwrap();
        assert!(
            arn.ends_with(&path),
            "{name}: methodArn {arn} is not for {path}"
        );
        e.headers
            .get(http::header::AUTHORIZATION)
            .map(|h| h.to_str().unwrap().to_owned())
    } else if name.starts_with("http-v2-") {
        let e: ApiGatewayV2CustomAuthorizerV2Request = round_trip(name, v);
        assert_eq!(e.version.as_deref(), Some("2.0"));
        e.headers
            .get(http::header::AUTHORIZATION)
            .map(|h| h.to_str().unwrap().to_owned())
    } else {
        panic!("unexpected event file {name}");
    }?;
    Some(
        raw.strip_prefix("Bearer ")
            .expect("Bearer scheme")
            .to_owned(),
    )
}

fn env_json() -> Value {
    serde_json::from_slice(&fs::read(root().join("events/env.json")).unwrap()).unwrap()
}

/// Whether `token`'s RS256 signature verifies with a key of `jwks`.
fn signature_ok(token: &str, jwks: &Value) -> bool {
    let (signed, sig) = token.rsplit_once('.').unwrap();
    let sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    jwks["keys"].as_array().unwrap().iter().any(|k| {
        let n = URL_SAFE_NO_PAD.decode(k["n"].as_str().unwrap()).unwrap();
        let e = URL_SAFE_NO_PAD.decode(k["e"].as_str().unwrap()).unwrap();
        RsaPublicKeyComponents { n: &n, e: &e }
            .verify(&RSA_PKCS1_2048_8192_SHA256, signed.as_bytes(), &sig)
            .is_ok()
    })
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[test]
fn every_event_round_trips_and_its_token_is_what_its_name_says() {
    let env = env_json();
    let authorizer_env = &env["AuthorizerFunction"];
    let jwks: Value = serde_json::from_str(authorizer_env["JWKS_JSON"].as_str().unwrap()).unwrap();
    let pool = authorizer_env["USER_POOL_ID"].as_str().unwrap();
    let client = authorizer_env["APP_CLIENT_IDS"].as_str().unwrap();
    let issuer = format!("https://cognito-idp.us-east-1.amazonaws.com/{pool}");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // Far enough that no test run will ever see these tokens expire.
    let year_2100 = 4_102_444_800;

    let events = authorizer_events();
    assert!(
        events.len() >= 14,
        "{:?}",
        events.iter().map(|e| &e.0).collect::<Vec<_>>()
    );
    for (name, v) in &events {
        let token = token_of(name, v);
        if name.contains("missing-header") {
            assert!(token.is_none(), "{name} carries a token");
            continue;
        }
        let token = token.unwrap_or_else(|| panic!("{name} has no token"));
        let c = claims(&token);
        assert_eq!(c["iss"], issuer.as_str(), "{name}");
        assert_eq!(
            signature_ok(&token, &jwks),
            !name.contains("tampered"),
            "{name}: signature"
        );
        let exp = c["exp"].as_i64().unwrap();
        if name.contains("expired") {
            assert!(exp < now, "{name} is not expired");
        } else {
            assert_eq!(exp, year_2100, "{name} must not expire inside tests");
        }
        if name.contains("id-token") {
            assert_eq!(c["token_use"], "id", "{name}");
            assert_eq!(c["aud"], client, "{name}");
        } else {
            assert_eq!(c["token_use"], "access", "{name}");
            assert_eq!(c["client_id"], client, "{name}");
        }
        let groups = c["cognito:groups"].as_array().cloned().unwrap_or_default();
        assert_eq!(
            groups.iter().any(|g| g == "admin"),
            name.contains("admin-allow") || name.contains("tampered"),
            "{name}: admin group"
        );
    }
}

/// `sam local invoke --env-vars` silently ignores variables the template
/// does not declare; every one in env.json must be declared.
#[test]
fn env_json_only_sets_variables_the_template_declares() {
    let template = template();
    let env = env_json();
    let functions = env.as_object().unwrap();
    assert!(
        functions.contains_key("AuthorizerFunction")
            && functions.contains_key("ApiHandlerFunction")
    );
    for (function, vars) in functions {
        let declared =
            template["Resources"][function.as_str()]["Properties"]["Environment"]["Variables"]
                .as_mapping()
                .unwrap_or_else(|| panic!("{function} declares no variables in template.yaml"));
        for (var, value) in vars.as_object().unwrap() {
            assert!(
                declared.contains_key(var.as_str()),
                "{function}.{var} is in env.json but not declared in template.yaml"
            );
            assert!(
                value.is_string(),
                "{function}.{var}: env.json values must be strings"
            );
        }
    }
}

/// IAM-style match of a policy resource (`*` any run, `?` one character).
fn arn_matches(pattern: &str, arn: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
            Some((b'?', rest)) => !s.is_empty() && go(rest, &s[1..]),
            Some((c, rest)) => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    go(pattern.as_bytes(), arn.as_bytes())
}

/// Whether a REST authorizer response lets `arn` through.
fn policy_allows(response: &Value, arn: &str) -> bool {
    let statements = response["policyDocument"]["Statement"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let hits = |effect: &str| {
        statements.iter().any(|s| {
            s["Effect"] == effect
                && s["Resource"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .chain(s["Resource"].as_str().map(|_| &s["Resource"]))
                    .filter_map(Value::as_str)
                    .any(|r| arn_matches(r, arn))
        })
    };
    hits("Allow") && !hits("Deny")
}

/// What `sam local invoke AuthorizerFunction -e <event> --env-vars
/// events/env.json` answers: the real authorizer, configured from env.json
/// plus the template's own AUTH_RULES, on the real clock, with any JWKS
/// fetch pointed at a closed port — the embedded dev JWKS must suffice.
#[tokio::test]
async fn the_authorizer_answers_each_event_as_its_name_says() {
    let env = env_json();
    let mut vars: BTreeMap<String, String> = env["AuthorizerFunction"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    let template = template();
    let rules = template["Resources"]["AuthorizerFunction"]["Properties"]["Environment"]["Variables"]["AUTH_RULES"]
        .as_str()
        .unwrap()
        .to_owned();
    vars.insert("AUTH_RULES".into(), rules);
    vars.insert("AWS_ENDPOINT_URL".into(), "http://127.0.0.1:9".into());
    let authorizer = authorizer::handler::Authorizer::from_lookup(
        |k| vars.get(k).cloned(),
        std::sync::Arc::new(authorizer::clock::SystemClock),
    )
    .expect("env.json + template AUTH_RULES is a valid configuration");

    for (name, event) in authorizer_events() {
        let outcome = authorizer.handle(event.clone()).await;
        let allowed = name.ends_with("allow.json");
        if name.starts_with("http-v2-") {
            match outcome {
                Ok(r) => assert_eq!(r["isAuthorized"].as_bool(), Some(allowed), "{name}: {r}"),
                Err(e) => assert!(!allowed && e.to_string() == "Unauthorized", "{name}: {e}"),
            }
            continue;
        }
        let arn = event["methodArn"].as_str().unwrap();
        if allowed {
            let r = outcome.unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                policy_allows(&r, arn),
                "{name}: policy does not allow {arn}: {r}"
            );
            let sub = claims(&token_of(&name, &event).unwrap())["sub"].clone();
            assert_eq!(r["principalId"], sub, "{name}");
        } else if name.contains("admin-denied") {
            let r =
                outcome.unwrap_or_else(|e| panic!("{name}: a valid token gets a policy, not {e}"));
            assert!(!policy_allows(&r, arn), "{name}: policy allows {arn}: {r}");
        } else {
            let e = outcome.expect_err(&name);
            assert_eq!(e.to_string(), "Unauthorized", "{name}");
        }
    }
}
