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

/// Polls (real time, the clock stands still) until `f` holds: background
/// refreshes run on the test's runtime.
async fn eventually<F: std::future::Future<Output = bool>>(what: &str, mut f: impl FnMut() -> F) {
    for _ in 0..400 {
        if f().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("never happened: {what}");
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
    use std::sync::Mutex;
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let sink = Sink::default();
    let w = sink.clone();
    let subscriber = authorizer::logging::subscriber(
        move || w.clone(),
        tracing_subscriber::EnvFilter::new("warn"),
    );
    let guard = tracing::subscriber::set_default(subscriber);
    f.await;
    drop(guard);
    let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    text.lines()
        .filter(|l| l.contains("serving stale JWKS keys"))
        .count()
}
