//! The stale-keys WARN, in its own test binary: it installs a scoped
//! subscriber (tracing caches per-callsite interest process-wide).

mod common;

use std::sync::Arc;

use authorizer::claims::TokenUse;
use authorizer::clock::{Clock as _, ManualClock};
use authorizer::testing;
use authorizer::testing::TestKey;
use authorizer::verifier::Verifier;
use common::*;

fn warm(server: &JwksServer, clock: &Arc<ManualClock>, embedded: &[&TestKey]) -> Verifier {
    let pairs = vec![
        ("USER_POOL_ID", POOL.to_owned()),
        ("APP_CLIENT_IDS", CLIENT.to_owned()),
        ("JWKS_URL", server.url()),
        ("JWKS_JSON", testing::jwks(embedded).to_string()),
    ];
    verifier(&pairs, clock)
}

/// A failing refresh behind stale keys is logged once per backoff window.
#[tokio::test]
async fn stale_keys_warn_once_per_window() {
    let k = keys();
    let server = JwksServer::start(Mode::Status(500)).await;
    let clock = clock();
    let v = warm(&server, &clock, &[&k.k1]);
    clock.advance(3600);
    let warned = authorizer_log_count(async {
        for _ in 0..5 {
            let t = k.k1.token(&access(clock.now()));
            accept(&v, &t, TokenUse::Access).await;
        }
        eventually("refresh attempted", || async { server.hits() >= 1 }).await;
        for _ in 0..5 {
            let t = k.k1.token(&access(clock.now()));
            accept(&v, &t, TokenUse::Access).await;
        }
    })
    .await;
    assert_eq!(warned, 1, "one WARN for the window");
    assert_eq!(server.hits(), 1, "one attempt per backoff window");
}

/// Counts "serving stale JWKS keys" WARN lines emitted while `f` runs.
async fn authorizer_log_count(f: impl std::future::Future<Output = ()>) -> usize {
    let (log, guard) = testing::CapturedLog::install("warn");
    f.await;
    drop(guard);
    log.text()
        .lines()
        .filter(|l| l.contains("serving stale JWKS keys"))
        .count()
}
