//! JWKS parsing, caching and fetching against a loopback server with fault
//! injection. Time is a `ManualClock`: cooldown, backoff and max age are
//! tested by moving it, never by sleeping.

mod common;

use std::sync::Arc;
use std::time::Duration;

use authorizer::claims::TokenUse;
use authorizer::clock::{Clock as _, ManualClock};
use authorizer::reason::Reason;
use authorizer::testing::{self, TestKey};
use authorizer::verifier::Verifier;
use common::*;
use serde_json::{Value, json};

use Reason::*;

/// Single pool, no embedded keys, keys from `server`, small timeout.
fn cold(server: &JwksServer, clock: &Arc<ManualClock>, extra: &[(&'static str, &str)]) -> Verifier {
    let mut pairs = vec![
        ("USER_POOL_ID", POOL.to_owned()),
        ("APP_CLIENT_IDS", CLIENT.to_owned()),
        ("JWKS_URL", server.url()),
        ("JWKS_FETCH_TIMEOUT_MS", "300".to_owned()),
    ];
    pairs.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
    verifier(&pairs, clock)
}

/// Same, with `embedded` as `JWKS_JSON`.
fn warm(server: &JwksServer, clock: &Arc<ManualClock>, embedded: &[&TestKey]) -> Verifier {
    let mut pairs = standard_pairs(&server.url());
    pairs.retain(|(k, _)| *k != "JWKS_JSON");
    pairs.push(("JWKS_JSON", testing::jwks(embedded).to_string()));
    pairs.push(("JWKS_FETCH_TIMEOUT_MS", "300".to_owned()));
    verifier(&pairs, clock)
}

fn tok(k: &TestKey) -> String {
    k.token(&access(NOW))
}

fn tok_kid(k: &TestKey, kid: &str) -> String {
    k.sign(&json!({"alg":"RS256","kid":kid}), &access(NOW))
}

#[tokio::test]
async fn embedded_keys_need_no_network() {
    let k = keys();
    let server = JwksServer::start(Mode::Status(500)).await;
    let v = warm(&server, &clock(), &[&k.k1]);
    accept(&v, &tok(&k.k1), TokenUse::Access).await;
    accept(&v, &tok(&k.k1), TokenUse::Access).await;
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn cold_start_fetches_once_then_serves_from_cache() {
    let k = keys();
    let server = JwksServer::start(Mode::Json(testing::jwks(&[&k.k1, &k.k2]))).await;
    let clock = clock();
    let v = cold(&server, &clock, &[]);
    accept(&v, &tok(&k.k1), TokenUse::Access).await;
    accept(&v, &tok(&k.k2), TokenUse::Access).await;
    clock.advance(3599);
    accept(&v, &tok(&k.k1), TokenUse::Access).await;
    assert_eq!(server.hits(), 1);
    assert_eq!(server.paths(), ["/jwks.json"]);
}

/// Each fault leaves a cold verifier with nothing usable: `jwks_unavailable`.
#[tokio::test]
async fn fetch_faults_table() {
    let k = keys();
    let good = testing::jwks(&[&k.k1]);
    let mut big_keys = vec![k.k1.jwk()];
    while serde_json::to_vec(&big_keys).unwrap().len() < 70 * 1024 {
        let mut filler = k.k2.jwk();
        filler["kid"] = json!(format!("filler-{}", big_keys.len()));
        big_keys.push(filler);
    }
    let oversized = serde_json::to_vec(&json!({ "keys": big_keys })).unwrap();
    let redirect_target = JwksServer::start(Mode::Json(good.clone())).await;
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let cases: Vec<(&str, Mode)> = vec![
        ("HTTP 500", Mode::Status(500)),
        ("HTTP 404", Mode::Status(404)),
        ("HTTP 204", Mode::Status(204)),
        (
            "slower than the fetch timeout",
            Mode::Delay(Duration::from_secs(5), good.clone()),
        ),
        (
            "body over 64 KiB with Content-Length",
            Mode::Raw(oversized.clone()),
        ),
        (
            "body over 64 KiB, chunked",
            Mode::Chunked(oversized.clone()),
        ),
        ("invalid JSON", Mode::Raw(b"{\"keys\":[".to_vec())),
        ("JSON array instead of a set", Mode::Raw(b"[]".to_vec())),
        ("keys not an array", Mode::Json(json!({"keys": k.k1.jwk()}))),
        ("keys missing", Mode::Json(json!({"key": [k.k1.jwk()]}))),
        (
            "duplicate JSON member",
            Mode::Raw(format!("{{\"keys\":[],\"keys\":{}}}", good["keys"]).into_bytes()),
        ),
        ("HTML error page", Mode::Raw(b"<html>oops</html>".to_vec())),
        ("302 to another host", Mode::Redirect(redirect_target.url())),
    ];
    let mut failures = Vec::new();
    for (name, mode) in cases {
        let server = JwksServer::start(mode).await;
        let v = cold(&server, &clock(), &[]);
        let started = std::time::Instant::now();
        let got = reason(&v, &tok(&k.k1)).await;
        // Functional bound, not a benchmark: the 300 ms timeout must hold.
        if got != Some(JwksUnavailable) || started.elapsed() > Duration::from_secs(2) {
            failures.push(format!("{name}: got {got:?} after {:?}", started.elapsed()));
        }
        if server.hits() != 1 {
            failures.push(format!("{name}: {} requests", server.hits()));
        }
    }
    // Nothing listening at all.
    let clock = clock();
    let v = verifier(
        &[
            ("USER_POOL_ID", POOL.into()),
            ("APP_CLIENT_IDS", CLIENT.into()),
            ("JWKS_URL", format!("http://{closed_port}/jwks.json")),
        ],
        &clock,
    );
    if reason(&v, &tok(&k.k1)).await != Some(JwksUnavailable) {
        failures.push("connection refused".into());
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(redirect_target.hits(), 0, "the redirect was followed");
}

/// A body within the cap is read in full even when chunked.
#[tokio::test]
async fn chunked_body_within_cap_is_accepted() {
    let k = keys();
    let body = testing::jwks(&[&k.k1]).to_string().into_bytes();
    let server = JwksServer::start(Mode::Chunked(body)).await;
    let v = cold(&server, &clock(), &[]);
    accept(&v, &tok(&k.k1), TokenUse::Access).await;
}

/// Fetched sets with odd entries: a bad key only loses that key.
#[tokio::test]
async fn key_entries_table() {
    let k = keys();
    let jwk_with = |kid: &str, edits: &[(&str, Option<Value>)]| {
        let mut j = k.k3.jwk();
        j["kid"] = json!(kid);
        with(j, edits)
    };
    let weak_n = {
        // A 1024-bit odd modulus: refused before any arithmetic.
        let mut n = vec![0xC5u8; 128];
        n[127] |= 1;
        b64(n)
    };
    let n_b64 = k.k3.jwk()["n"].as_str().unwrap().to_owned();
    let set = json!({"keys": [
        k.k1.jwk(),
        jwk_with("EC", &[("kty", Some(json!("EC"))), ("crv", Some(json!("P-256"))), ("x", Some(json!("AA"))), ("y", Some(json!("AA"))), ("n", None), ("e", None), ("alg", None)]),
        {"kty": "oct", "kid": "OCT", "k": b64(k.k1.modulus())},
        jwk_with("WEAK", &[("n", Some(json!(weak_n)))]),
        jwk_with("E1", &[("e", Some(json!(b64([1u8]))))]),
        jwk_with("E_EVEN", &[("e", Some(json!(b64([1u8, 0, 2]))))]),
        jwk_with("USE_ENC", &[("use", Some(json!("enc")))]),
        jwk_with("OPS_SIGN", &[("key_ops", Some(json!(["sign"])))]),
        jwk_with("OPS_STRING", &[("key_ops", Some(json!("verify")))]),
        jwk_with("OPS_VERIFY", &[("key_ops", Some(json!(["verify"])))]),
        jwk_with("ALG_PS256", &[("alg", Some(json!("PS256")))]),
        jwk_with("ALG_NUM", &[("alg", Some(json!(256)))]),
        jwk_with("NO_KTY", &[("kty", None)]),
        jwk_with("NO_N", &[("n", None)]),
        jwk_with("NO_E", &[("e", None)]),
        jwk_with("N_PADDED", &[("n", Some(json!(format!("{n_b64}="))))]),
        jwk_with("N_LEADING_ZERO", &[("n", Some(json!(b64([&[0u8][..], &k.k3.modulus()].concat()))))]),
        jwk_with("N_STD_ALPHABET", &[("n", Some(json!(n_b64.replace('-', "+").replace('_', "/"))))]),
        jwk_with("MINIMAL", &[("alg", None), ("use", None)]),
        jwk_with("DUP", &[]),
        jwk_with("DUP", &[]),
        {"kty": "RSA", "n": n_b64, "e": "AQAB"},
    ]});
    let server = JwksServer::start(Mode::Json(set)).await;
    let v = cold(&server, &clock(), &[]);
    let k3 = &k.k3;
    let has_std_chars = n_b64.contains('-') || n_b64.contains('_');
    let mut cases = vec![
        case("good key beside bad ones", tok(&k.k1), None),
        case(
            "EC key under an RS256 header",
            tok_kid(k3, "EC"),
            Some(KeyMismatch),
        ),
        case(
            "oct key is never used",
            tok_kid(k3, "OCT"),
            Some(KeyMismatch),
        ),
        case("1024-bit RSA key", tok_kid(k3, "WEAK"), Some(KeyMismatch)),
        case("RSA e = 1", tok_kid(k3, "E1"), Some(KeyMismatch)),
        case("RSA even e", tok_kid(k3, "E_EVEN"), Some(KeyMismatch)),
        case("use enc", tok_kid(k3, "USE_ENC"), Some(KeyMismatch)),
        case(
            "key_ops without verify",
            tok_kid(k3, "OPS_SIGN"),
            Some(KeyMismatch),
        ),
        case(
            "key_ops not an array",
            tok_kid(k3, "OPS_STRING"),
            Some(KeyMismatch),
        ),
        case("key_ops with verify", tok_kid(k3, "OPS_VERIFY"), None),
        case("key alg PS256", tok_kid(k3, "ALG_PS256"), Some(KeyMismatch)),
        case(
            "key alg not a string",
            tok_kid(k3, "ALG_NUM"),
            Some(KeyMismatch),
        ),
        case("kty missing", tok_kid(k3, "NO_KTY"), Some(KeyMismatch)),
        case("n missing", tok_kid(k3, "NO_N"), Some(KeyMismatch)),
        case("e missing", tok_kid(k3, "NO_E"), Some(KeyMismatch)),
        case("n with padding", tok_kid(k3, "N_PADDED"), Some(KeyMismatch)),
        case(
            "n with a leading zero byte",
            tok_kid(k3, "N_LEADING_ZERO"),
            Some(KeyMismatch),
        ),
        case("key without alg and use", tok_kid(k3, "MINIMAL"), None),
        case(
            "kid twice in the set is ambiguous",
            tok_kid(k3, "DUP"),
            Some(KeyMismatch),
        ),
        case(
            "kid not in the set",
            tok_kid(k3, "ABSENT"),
            Some(KidUnknown),
        ),
    ];
    if has_std_chars {
        cases.push(case(
            "n in the standard alphabet",
            tok_kid(k3, "N_STD_ALPHABET"),
            Some(KeyMismatch),
        ));
    }
    run_table(&v, cases).await;
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn disallowed_alg_never_fetches_even_cold() {
    let k = keys();
    let server = JwksServer::start(Mode::Json(testing::jwks(&[&k.k1]))).await;
    let v = cold(&server, &clock(), &[]);
    let p = b64(serde_json::to_vec(&access(NOW)).unwrap());
    for alg in ["none", "HS256", "PS256", "RS512", "ES256"] {
        let h = b64(serde_json::to_vec(&json!({"alg": alg, "kid": "never-seen"})).unwrap());
        let t = k.k1.sign_raw(&h, &p);
        assert_eq!(reason(&v, &t).await, Some(AlgNotAllowed), "{alg}");
    }
    let other_pool = k.k1.sign(
        &json!({"alg":"RS256","kid":"never-seen"}),
        &testing::access_claims("us-west-2_Elsewhere", CLIENT, "u", NOW),
    );
    assert_eq!(reason(&v, &other_pool).await, Some(WrongIssuer));
    assert_eq!(server.hits(), 0);
}

/// E3: an unreachable endpoint is not hammered; backoff doubles.
#[tokio::test]
async fn failure_backoff_doubles_and_recovers() {
    let k = keys();
    let server = JwksServer::start(Mode::Status(500)).await;
    let clock = clock();
    let v = cold(&server, &clock, &[]);
    let t = tok(&k.k1);
    for _ in 0..20 {
        assert_eq!(reason(&v, &t).await, Some(JwksUnavailable));
    }
    assert_eq!(server.hits(), 1, "first failure");
    clock.advance(4);
    assert_eq!(reason(&v, &t).await, Some(JwksUnavailable));
    assert_eq!(server.hits(), 1, "within the 5 s backoff");
    clock.advance(1);
    assert_eq!(reason(&v, &t).await, Some(JwksUnavailable));
    assert_eq!(server.hits(), 2, "backoff over: one retry");
    clock.advance(9);
    assert_eq!(reason(&v, &t).await, Some(JwksUnavailable));
    assert_eq!(server.hits(), 2, "second failure: 10 s backoff");
    clock.advance(1);
    server.set(Mode::Json(testing::jwks(&[&k.k1])));
    accept(&v, &t, TokenUse::Access).await;
    assert_eq!(server.hits(), 3, "recovered");
}

#[tokio::test]
async fn failure_backoff_is_capped() {
    let k = keys();
    let server = JwksServer::start(Mode::Status(503)).await;
    let clock = clock();
    let v = cold(
        &server,
        &clock,
        &[("JWKS_FAILURE_BACKOFF_MAX_SECONDS", "20")],
    );
    let t = tok(&k.k1);
    // Failures at 0, +5, +15 (10 s), then every 20 s (capped, not 40).
    for (step, hits) in [(0, 1), (5, 2), (10, 3), (20, 4), (20, 5)] {
        clock.advance(step);
        assert_eq!(reason(&v, &t).await, Some(JwksUnavailable));
        assert_eq!(server.hits(), hits, "after +{step}");
    }
}

/// E5: a flood of random kids causes one fetch per cooldown window.
#[tokio::test]
async fn random_kid_flood_is_rate_limited_by_cooldown() {
    let k = keys();
    let server = JwksServer::start(Mode::Json(testing::jwks(&[&k.k1]))).await;
    let clock = clock();
    let v = warm(&server, &clock, &[&k.k1]);
    for i in 0..200 {
        let t = tok_kid(&k.k1, &format!("random-{i}"));
        assert_eq!(reason(&v, &t).await, Some(KidUnknown));
    }
    assert_eq!(server.hits(), 1);
    clock.advance(9);
    assert_eq!(
        reason(&v, &tok_kid(&k.k1, "random-x")).await,
        Some(KidUnknown)
    );
    assert_eq!(server.hits(), 1, "cooldown 10 s");
    clock.advance(1);
    assert_eq!(
        reason(&v, &tok_kid(&k.k1, "random-y")).await,
        Some(KidUnknown)
    );
    assert_eq!(server.hits(), 2, "next window");
    // Known keys keep working throughout, without fetches.
    accept(&v, &tok(&k.k1), TokenUse::Access).await;
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn cooldown_is_configurable() {
    let k = keys();
    let server = JwksServer::start(Mode::Json(testing::jwks(&[&k.k1]))).await;
    let clock = clock();
    let mut pairs = standard_pairs(&server.url());
    pairs.push(("JWKS_COOLDOWN_SECONDS", "60".into()));
    let v = verifier(&pairs, &clock);
    reason(&v, &tok_kid(&k.k1, "a")).await;
    clock.advance(59);
    reason(&v, &tok_kid(&k.k1, "b")).await;
    assert_eq!(server.hits(), 1);
    clock.advance(1);
    reason(&v, &tok_kid(&k.k1, "c")).await;
    assert_eq!(server.hits(), 2);
}

/// E6: a new kid is fetched; after the refresh a rotated-out kid is refused.
#[tokio::test]
async fn rotation_accepts_new_kid_and_drops_removed_one() {
    let k = keys();
    let server = JwksServer::start(Mode::Json(testing::jwks(&[&k.k1, &k.k2]))).await;
    let clock = clock();
    let v = cold(&server, &clock, &[]);
    accept(&v, &tok(&k.k1), TokenUse::Access).await;
    server.set(Mode::Json(testing::jwks(&[&k.k2, &k.k3])));
    clock.advance(10);
    accept(&v, &tok(&k.k3), TokenUse::Access).await;
    assert_eq!(server.hits(), 2);
    assert_eq!(reason(&v, &tok(&k.k1)).await, Some(KidUnknown));
    accept(&v, &tok(&k.k2), TokenUse::Access).await;
    assert_eq!(server.hits(), 2, "K1's refusal is within the cooldown");
}

/// Embedded keys are replaced by the first successful fetch.
#[tokio::test]
async fn fetched_set_replaces_embedded_set() {
    let k = keys();
    let server = JwksServer::start(Mode::Json(testing::jwks(&[&k.k2, &k.k3]))).await;
    let clock = clock();
    let v = warm(&server, &clock, &[&k.k1, &k.k2]);
    accept(&v, &tok(&k.k1), TokenUse::Access).await;
    accept(&v, &tok(&k.k3), TokenUse::Access).await;
    assert_eq!(server.hits(), 1);
    assert_eq!(reason(&v, &tok(&k.k1)).await, Some(KidUnknown));
}

/// E7: after the max age the set is refreshed even without an unknown kid,
/// in the background: the request that finds it stale is answered at once
/// from the keys in hand.
#[tokio::test]
async fn max_age_refreshes_and_drops_removed_key() {
    let k = keys();
    let server = JwksServer::start(Mode::Json(testing::jwks(&[&k.k1]))).await;
    let clock = clock();
    let v = cold(&server, &clock, &[]);
    accept(&v, &tok(&k.k1), TokenUse::Access).await;
    server.set(Mode::Json(testing::jwks(&[&k.k2])));
    clock.advance(3599);
    let late = k.k1.token(&access(NOW + 3599));
    accept(&v, &late, TokenUse::Access).await;
    assert_eq!(server.hits(), 1, "still fresh");
    clock.advance(1);
    accept(&v, &late, TokenUse::Access).await;
    eventually("refreshed at max age", || async {
        reason(&v, &late).await == Some(KidUnknown)
    })
    .await;
    assert_eq!(server.hits(), 2, "one background refresh");
}

/// Issue 9: with the endpoint unreachable (a VPC without internet), a known
/// kid never waits on it — not after the max age, not after each backoff
/// window — for `JWKS_STALE_MAX_SECONDS`; then the issuer fails closed.
#[tokio::test]
async fn stale_keys_are_served_without_waiting_then_fail_closed() {
    let k = keys();
    let server = JwksServer::start(Mode::Delay(
        std::time::Duration::from_secs(30),
        json!({"keys": []}),
    ))
    .await;
    let clock = clock();
    let mut pairs = standard_pairs(&server.url());
    pairs.push(("JWKS_FETCH_TIMEOUT_MS", "1500".into()));
    pairs.push(("JWKS_STALE_MAX_SECONDS", "7200".into()));
    let v = verifier(&pairs, &clock);
    for step in [3600, 1, 5, 10, 20, 40, 60, 600, 3000, 3463] {
        clock.advance(step);
        let t = k.k1.token(&access(clock.now()));
        // Polled once: a request that waited on the endpoint (which never
        // answers) or on a refresh in flight would not be ready.
        let verify = std::pin::pin!(v.verify(&t, TokenUse::Access));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match verify.poll(&mut cx) {
            std::task::Poll::Ready(Ok(_)) => {}
            std::task::Poll::Ready(Err(r)) => {
                panic!("refused at +{}: {r}", clock.now() - NOW)
            }
            std::task::Poll::Pending => panic!(
                "a request waited on the JWKS endpoint at +{}",
                clock.now() - NOW
            ),
        }
        // Let the refresh it may have started run (and time out) behind.
        tokio::task::yield_now().await;
    }
    assert_eq!(clock.now(), NOW + 3600 + 7199);
    // One second later the set is past max age + stale max: closed.
    clock.advance(1);
    let t = k.k1.token(&access(clock.now()));
    eventually("fails closed", || async {
        reason(&v, &t).await == Some(JwksUnavailable)
    })
    .await;
    // Recovery: the endpoint answers again, the next attempt installs keys.
    server.set(Mode::Json(testing::jwks(&[&k.k1])));
    clock.advance(60);
    let t = k.k1.token(&access(clock.now()));
    accept(&v, &t, TokenUse::Access).await;
}

/// E8: the same kid republished with new material: the new one is used.
#[tokio::test]
async fn same_kid_new_material_uses_new_material() {
    let k = keys();
    let k1_new = TestKey::generate("K1");
    let server = JwksServer::start(Mode::Json(testing::jwks(&[&k.k1]))).await;
    let clock = clock();
    let v = cold(&server, &clock, &[]);
    accept(&v, &tok(&k.k1), TokenUse::Access).await;
    server.set(Mode::Json(testing::jwks(&[&k1_new])));
    clock.advance(3600);
    let old = k.k1.token(&access(NOW + 3600));
    let new = k1_new.token(&access(NOW + 3600));
    // The stale set answers while the refresh runs behind.
    accept(&v, &old, TokenUse::Access).await;
    eventually("new material installed", || async {
        reason(&v, &old).await == Some(BadSignature)
    })
    .await;
    accept(&v, &new, TokenUse::Access).await;
    assert_eq!(server.hits(), 2);
}

/// The stale-key rule: a failed refresh keeps the keys within the max age
/// and for `JWKS_STALE_MAX_SECONDS` past it; after that nothing is accepted
/// until a refresh succeeds.
#[tokio::test]
async fn failed_refresh_keeps_keys_only_within_max_age_and_stale_max() {
    let k = keys();
    let server = JwksServer::start(Mode::Json(testing::jwks(&[&k.k1]))).await;
    let clock = clock();
    let v = cold(&server, &clock, &[("JWKS_STALE_MAX_SECONDS", "0")]);
    accept(&v, &tok(&k.k1), TokenUse::Access).await;
    server.set(Mode::Status(500));
    clock.advance(100);
    assert_eq!(
        reason(&v, &tok(&k.k3)).await,
        Some(KidUnknown),
        "refetch failed, set still fresh"
    );
    assert_eq!(server.hits(), 2);
    let t = k.k1.token(&access(NOW + 100));
    accept(&v, &t, TokenUse::Access).await;
    clock.set(NOW + 3600);
    let t = k.k1.token(&access(NOW + 3600));
    assert_eq!(
        reason(&v, &t).await,
        Some(JwksUnavailable),
        "past max age, refresh failing"
    );
    assert_eq!(server.hits(), 3);
    server.set(Mode::Json(testing::jwks(&[&k.k1])));
    clock.advance(9);
    assert_eq!(
        reason(&v, &t).await,
        Some(JwksUnavailable),
        "second failure: 10 s backoff"
    );
    clock.advance(1);
    accept(&v, &t, TokenUse::Access).await;
    assert_eq!(server.hits(), 4);
}

/// Embedded keys: past the max age a refresh is tried in the background;
/// if it fails they stay in use (up to `JWKS_STALE_MAX_SECONDS`).
#[tokio::test]
async fn embedded_keys_survive_failed_refresh_past_max_age() {
    let k = keys();
    let server = JwksServer::start(Mode::Status(500)).await;
    let clock = clock();
    let v = warm(&server, &clock, &[&k.k1]);
    clock.advance(3600);
    let t = k.k1.token(&access(NOW + 3600));
    accept(&v, &t, TokenUse::Access).await;
    eventually("a refresh was attempted", || async { server.hits() == 1 }).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    accept(&v, &t, TokenUse::Access).await;
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    assert_eq!(server.hits(), 1, "and is backed off");
}

/// E9: 100 concurrent cold verifications → one fetch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_flight_cold_start() {
    let k = keys();
    let server = JwksServer::start(Mode::Delay(
        Duration::from_millis(100),
        testing::jwks(&[&k.k1]),
    ))
    .await;
    let v = Arc::new(cold(&server, &clock(), &[]));
    let t = Arc::new(tok(&k.k1));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (v, t) = (v.clone(), t.clone());
            tokio::spawn(async move { v.verify(&t, TokenUse::Access).await.map(|c| c.sub) })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap(), "user-1");
    }
    assert_eq!(server.hits(), 1);
}

/// 100 concurrent tokens with a new kid → one refetch, all accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_flight_unknown_kid() {
    let k = keys();
    let server = JwksServer::start(Mode::Delay(
        Duration::from_millis(100),
        testing::jwks(&[&k.k1, &k.k3]),
    ))
    .await;
    let v = Arc::new(warm(&server, &clock(), &[&k.k1]));
    let t = Arc::new(tok(&k.k3));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (v, t) = (v.clone(), t.clone());
            tokio::spawn(async move { v.verify(&t, TokenUse::Access).await.is_ok() })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap());
    }
    assert_eq!(server.hits(), 1);
}

/// 100 concurrent random kids → one refetch, all refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_flight_random_kids() {
    let k = keys();
    let server = JwksServer::start(Mode::Delay(
        Duration::from_millis(50),
        testing::jwks(&[&k.k1]),
    ))
    .await;
    let v = Arc::new(warm(&server, &clock(), &[&k.k1]));
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let v = v.clone();
            let t = tok_kid(&k.k1, &format!("r{i}"));
            tokio::spawn(
                async move { v.verify(&t, TokenUse::Access).await.err().map(|r| r.reason) },
            )
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), Some(KidUnknown));
    }
    assert_eq!(server.hits(), 1);
}

/// 100 concurrent cold verifications against a failing endpoint → one fetch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_flight_failure() {
    let k = keys();
    let server = JwksServer::start(Mode::Status(500)).await;
    let v = Arc::new(cold(&server, &clock(), &[]));
    let t = Arc::new(tok(&k.k1));
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (v, t) = (v.clone(), t.clone());
            tokio::spawn(
                async move { v.verify(&t, TokenUse::Access).await.err().map(|r| r.reason) },
            )
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), Some(JwksUnavailable));
    }
    assert_eq!(server.hits(), 1);
}

/// The JWKS location is derived per pool, never from the token.
#[tokio::test]
async fn jwks_location_from_endpoint_variables() {
    let k = keys();
    let path = format!("/{POOL}/.well-known/jwks.json");
    for var in [
        "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
        "AWS_ENDPOINT_URL",
    ] {
        let server = JwksServer::start(Mode::ByPath(
            [(path.clone(), testing::jwks(&[&k.k1]))]
                .into_iter()
                .collect(),
        ))
        .await;
        let v = verifier(
            &[
                ("USER_POOL_ID", POOL.into()),
                ("APP_CLIENT_IDS", CLIENT.into()),
                (var, format!("{}/", server.base())),
            ],
            &clock(),
        );
        accept(&v, &tok(&k.k1), TokenUse::Access).await;
        assert_eq!(server.paths(), std::slice::from_ref(&path), "{var}");
    }
}

/// A `KeySet` parses straight from bytes, as fetched.
#[test]
fn key_set_from_slice() {
    use authorizer::jwks::{JwksError, KeySet};
    let k = keys();
    let set = KeySet::from_slice(testing::jwks(&[&k.k1, &k.k2]).to_string().as_bytes()).unwrap();
    assert_eq!(set.usable_count(), 2);
    assert_eq!(
        KeySet::from_slice(b"{}").unwrap_err(),
        JwksError::NotAKeySet
    );
    assert_eq!(
        KeySet::from_slice(b"{").unwrap_err(),
        JwksError::InvalidJson
    );
    let empty = KeySet::from_slice(br#"{"keys":[]}"#).unwrap();
    assert!(empty.is_empty());
}

#[tokio::test]
async fn max_age_is_configurable() {
    let k = keys();
    let server = JwksServer::start(Mode::Json(testing::jwks(&[&k.k1]))).await;
    let clock = clock();
    let v = cold(&server, &clock, &[("JWKS_MAX_AGE_SECONDS", "120")]);
    accept(&v, &tok(&k.k1), TokenUse::Access).await;
    clock.advance(119);
    accept(&v, &tok(&k.k1), TokenUse::Access).await;
    assert_eq!(server.hits(), 1);
    clock.advance(1);
    accept(&v, &tok(&k.k1), TokenUse::Access).await;
    eventually("refreshed at 120 s", || async { server.hits() == 2 }).await;
}
