//! The same RS256-2048 token, four ways, in one run:
//!
//! - (a) `raw_limit`: SHA-256 + RSA verify of the signing input with an
//!   aws-lc-rs key parsed once: what any verifier must at least spend.
//! - (b) `verifier`: token → verified claims (strict framing, claims, warm
//!   key cache from embedded `JWKS_JSON`; the signature through
//!   `jsonwebtoken::crypto::verify` with the set's `DecodingKey`, which
//!   rebuilds the aws-lc key on every call).
//! - (c) `handler`: REST `REQUEST` event JSON bytes → response JSON, as
//!   `main.rs` hands it to `lambda_runtime` (`Authorizer::handle_raw`),
//!   with `AUTH_RULES` set (rule match, entitlements, cached policy).
//! - (a2) `a2_crypto_verify`: the same check through
//!   `authorizer::jwks::verify_rs256` (`jsonwebtoken::crypto::verify` with a
//!   `DecodingKey` built once, the signature as base64url text): what the
//!   verifier pays for the signature; (a2) − (a) is the per-call key rebuild
//!   and signature decode inside `crypto::verify`.
//! - (d) `jsonwebtoken`, for comparison: `jsonwebtoken::decode` (aws-lc-rs
//!   backend) of the same token into a claims map, `DecodingKey` built once
//!   and RS256 + issuer validation; `exp` unchecked because the bench's
//!   clock is fixed in the past. It checks less than (b) and still costs more.
//!
//! After criterion's report it times each again with a fixed iteration
//! count, interleaved in rounds (best round counts, so a noisy neighbour on
//! the shared machine hurts all three alike), and prints the throughput
//! ratios (b)/(a), (c)/(a) and (d)/(a). Targets: (b) ≥ 0.80, (c) ≥ 0.72.
//!
//! Logging: Lambda logs one JSON line per decision at INFO, so by default
//! the bench installs the same subscriber as `main.rs` (JSON, flattened,
//! INFO) writing to `io::sink()` — formatting is paid, no terminal or pipe
//! write is. `AUTHORIZER_BENCH_LOG=off` measures without a subscriber
//! (tracing's disabled fast path), as the bench did before.
//!
//! `cargo bench -p authorizer` (add `-- --quick` for a shorter criterion run).

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use authorizer::claims::TokenUse;
use authorizer::clock::ManualClock;
use authorizer::config::VerifierConfig;
use authorizer::handler::Authorizer;
use authorizer::logging;
use authorizer::testing::{self, TestKey};
use authorizer::verifier::Verifier;
use aws_lc_rs::signature::{ParsedPublicKey, RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use base64::Engine as _;
use criterion::Criterion;
use serde_json::json;
use tracing_subscriber::EnvFilter;

const POOL: &str = "us-east-1_BenchPool";
const CLIENT: &str = "bench-client";
const NOW: i64 = 1_700_000_000;
const RULES: &str = r#"[
  {"route":"GET /notes","scopes_any":["notes/read"]},
  {"route":"POST /notes","scopes_any":["notes/write"]},
  {"route":"GET /notes/{id}","scopes_any":["notes/read"]},
  {"route":"DELETE /notes/{id}","scopes_all":["notes/write"]},
  {"route":"ANY /admin/*","groups_any":["admin"]},
  {"route":"GET /me"}
]"#;

struct Fixture {
    key: ParsedPublicKey,
    jwt_key: jsonwebtoken::DecodingKey,
    jwt_validation: jsonwebtoken::Validation,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
    signature_b64: String,
    token: String,
    verifier: Verifier,
    authorizer: Authorizer,
    event: Vec<u8>,
    rt: tokio::runtime::Runtime,
}

fn fixture() -> Fixture {
    let k = TestKey::generate("bench-kid-1");
    let mut claims =
        testing::access_claims(POOL, CLIENT, "6f1c2d3e-0000-4000-8000-123456789abc", NOW);
    claims["scope"] = json!("notes/read notes/write");
    claims["cognito:groups"] = json!(["users"]);
    let token = k.token(&claims);
    let (signing_input, sig_b64) = token.rsplit_once('.').expect("three segments");
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig_b64)
        .expect("signature");
    let (n, e) = (k.modulus(), k.exponent());
    let key = RsaPublicKeyComponents {
        n: &n[..],
        e: &e[..],
    }
    .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
    .expect("parsed key");

    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let jwt_key = jsonwebtoken::DecodingKey::from_rsa_components(&b64(&n), &b64(&e))
        .expect("jsonwebtoken key");
    let mut jwt_validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    jwt_validation.set_issuer(&[format!(
        "https://cognito-idp.us-east-1.amazonaws.com/{POOL}"
    )]);
    jwt_validation.validate_exp = false;
    jwt_validation.validate_aud = false;
    jwt_validation.required_spec_claims.clear();

    let env: HashMap<&str, String> = [
        ("USER_POOL_ID", POOL.to_string()),
        ("APP_CLIENT_IDS", CLIENT.to_string()),
        ("JWKS_JSON", testing::jwks(&[&k]).to_string()),
        ("AUTH_RULES", RULES.to_string()),
    ]
    .into_iter()
    .collect();
    let clock = Arc::new(ManualClock::new(NOW));
    let verifier = Verifier::new(
        VerifierConfig::from_lookup(|v| env.get(v).cloned()).expect("config"),
        clock.clone(),
    );
    let authorizer = Authorizer::from_lookup(|v| env.get(v).cloned(), clock).expect("authorizer");
    let event = serde_json::to_vec(&rest_request_event(&token)).expect("event");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    Fixture {
        key,
        jwt_key,
        jwt_validation,
        signing_input: signing_input.as_bytes().to_vec(),
        signature,
        signature_b64: sig_b64.to_owned(),
        token,
        verifier,
        authorizer,
        event,
        rt,
    }
}

/// A REST `REQUEST` event as API Gateway sends it (headers as a browser
/// sends them), so (c) pays for skipping what the authorizer does not need.
fn rest_request_event(token: &str) -> serde_json::Value {
    let arn = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes/01HZX3Q8W3";
    let headers = json!({
        "Accept": "application/json", "Accept-Encoding": "gzip, deflate, br",
        "Authorization": format!("Bearer {token}"), "Host": "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com",
        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36", "X-Amzn-Trace-Id": "Root=1-65f0-abc",
        "X-Forwarded-For": "203.0.113.7", "X-Forwarded-Port": "443", "X-Forwarded-Proto": "https"
    });
    let multi: serde_json::Map<String, serde_json::Value> = headers
        .as_object()
        .expect("object")
        .iter()
        .map(|(k, v)| (k.clone(), json!([v])))
        .collect();
    json!({
        "type": "REQUEST", "methodArn": arn, "resource": "/notes/{id}", "path": "/notes/01HZX3Q8W3",
        "httpMethod": "GET", "headers": headers, "multiValueHeaders": multi,
        "queryStringParameters": {}, "multiValueQueryStringParameters": {},
        "pathParameters": {"id": "01HZX3Q8W3"}, "stageVariables": {},
        "requestContext": {
            "path": "/prod/notes/01HZX3Q8W3", "accountId": "123456789012", "resourceId": "abc123",
            "stage": "prod", "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": {"apiKey": "", "sourceIp": "203.0.113.7", "userAgent": "Mozilla/5.0"},
            "resourcePath": "/notes/{id}", "httpMethod": "GET", "apiId": "a1b2c3d4e5"
        }
    })
}

impl Fixture {
    fn raw(&self) -> bool {
        self.key
            .verify_sig(black_box(&self.signing_input), black_box(&self.signature))
            .is_ok()
    }
    fn crypto_verify(&self) -> bool {
        authorizer::jwks::verify_rs256(
            &self.jwt_key,
            black_box(&self.signing_input),
            black_box(&self.signature_b64),
        )
    }
    fn verify(&self) -> bool {
        self.rt
            .block_on(
                self.verifier
                    .verify(black_box(&self.token), TokenUse::Access),
            )
            .is_ok()
    }
    fn jsonwebtoken(&self) -> bool {
        jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            black_box(&self.token),
            &self.jwt_key,
            &self.jwt_validation,
        )
        .is_ok()
    }
    fn handle(&self) -> usize {
        self.rt
            .block_on(self.authorizer.handle_raw(black_box(&self.event), None))
            .map_or(0, |s| s.get().len())
    }
}

fn time_n(n: u32, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed()
}

/// Whether decisions are logged (see the module docs); returns the mode name.
fn install_logging() -> &'static str {
    if std::env::var("AUTHORIZER_BENCH_LOG").is_ok_and(|v| v == "off") {
        return "off (no subscriber)";
    }
    // As in `main.rs`, but into a sink: the bench measures formatting, not
    // the speed of whatever terminal runs it.
    let subscriber = logging::subscriber(std::io::sink, EnvFilter::new("info"));
    tracing::subscriber::set_global_default(subscriber).expect("first subscriber");
    "JSON at INFO into io::sink (as on Lambda, minus the stdout write)"
}

fn main() {
    let logging = install_logging();
    let fx = fixture();
    assert!(
        fx.raw() && fx.crypto_verify() && fx.verify() && fx.jsonwebtoken(),
        "the bench token must verify"
    );
    let response = fx
        .rt
        .block_on(fx.authorizer.handle_json(&fx.event, None))
        .expect("handler allows");
    assert!(response.contains("\"Allow\""), "{response}");

    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("rs256_2048");
    g.bench_function("a_raw_limit", |b| b.iter(|| fx.raw()));
    g.bench_function("a2_crypto_verify", |b| b.iter(|| fx.crypto_verify()));
    g.bench_function("b_verifier", |b| b.iter(|| fx.verify()));
    g.bench_function("c_handler", |b| b.iter(|| fx.handle()));
    g.bench_function("d_jsonwebtoken", |b| b.iter(|| fx.jsonwebtoken()));
    g.finish();
    c.final_summary();

    // Our own interleaved timing for the ratios.
    let n = 2_000;
    let rounds = 7;
    let (mut a, mut a2, mut b, mut h, mut j) = (
        Duration::MAX,
        Duration::MAX,
        Duration::MAX,
        Duration::MAX,
        Duration::MAX,
    );
    for _ in 0..rounds {
        a = a.min(time_n(n, || {
            black_box(fx.raw());
        }));
        a2 = a2.min(time_n(n, || {
            black_box(fx.crypto_verify());
        }));
        b = b.min(time_n(n, || {
            black_box(fx.verify());
        }));
        h = h.min(time_n(n, || {
            black_box(fx.handle());
        }));
        j = j.min(time_n(n, || {
            black_box(fx.jsonwebtoken());
        }));
    }
    let per = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(n);
    println!();
    println!("RS256-2048, best of {rounds} rounds × {n} iterations; decision logging: {logging}");
    println!(
        "  (a) raw limit : {:8.2} µs/op  {:9.0} op/s",
        per(a),
        1e6 / per(a)
    );
    println!(
        "  (a2) crypto::verify: {:8.2} µs/op  {:9.0} op/s  (the verifier's signature check)",
        per(a2),
        1e6 / per(a2)
    );
    println!(
        "  (b) verifier  : {:8.2} µs/op  {:9.0} op/s",
        per(b),
        1e6 / per(b)
    );
    println!(
        "  (c) handler   : {:8.2} µs/op  {:9.0} op/s",
        per(h),
        1e6 / per(h)
    );
    println!(
        "  (d) jsonwebtoken: {:8.2} µs/op  {:9.0} op/s  (for comparison)",
        per(j),
        1e6 / per(j)
    );
    println!(
        "  (a2)/(a) throughput ratio: {:.3}  (jsonwebtoken::crypto::verify alone)",
        per(a) / per(a2)
    );
    println!(
        "  (b)/(a) throughput ratio: {:.3}  (target ≥ 0.80)",
        per(a) / per(b)
    );
    println!(
        "  (c)/(a) throughput ratio: {:.3}  (target ≥ 0.72)",
        per(a) / per(h)
    );
    println!(
        "  (d)/(a) throughput ratio: {:.3}  (jsonwebtoken::decode, for comparison)",
        per(a) / per(j)
    );
}
