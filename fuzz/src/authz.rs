//! The authorizer as the sample events configure it: the committed
//! development key and pool (events/authorizer.env), a fixed clock.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use authorizer::clock::ManualClock;
use authorizer::config::VerifierConfig;
use authorizer::handler::Authorizer;
use authorizer::testing::TestKey;
use authorizer::verifier::Verifier;

/// The development signing key: the only key whose tokens may ever pass.
pub const KEY_PEM: &str = include_str!("../../events/dev-signing-key.DO-NOT-USE-IN-PRODUCTION.pem");
pub const KID: &str = "dev-signing-key-1";
const ENV: &str = include_str!("../../events/authorizer.env");

/// 2026-05-28: after the sample "expired" token's exp, long before the
/// valid ones' (2100).
pub const NOW: i64 = 1_780_000_000;

/// `KEY=VALUE` / `KEY='VALUE'` lines of events/authorizer.env, plus an
/// endpoint that refuses connections, so no input can make it reach out.
pub fn env() -> HashMap<String, String> {
    let mut out: HashMap<String, String> = ENV
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v
                .strip_prefix('\'')
                .and_then(|v| v.strip_suffix('\''))
                .unwrap_or(v);
            (k.to_owned(), v.to_owned())
        })
        .collect();
    out.insert("AWS_ENDPOINT_URL".into(), "http://127.0.0.1:9".into());
    out
}

pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(NOW))
}

pub fn key() -> &'static TestKey {
    static K: OnceLock<TestKey> = OnceLock::new();
    K.get_or_init(|| TestKey::from_pkcs8_pem(KID, KEY_PEM).expect("dev key"))
}

/// The token is exactly what the development key produces for its header
/// and payload (RSASSA-PKCS1-v1_5 is deterministic): anything else that
/// passes — another key, a re-encoded signature, a changed byte — is a bug.
pub fn signed_by_key(token: &str) -> bool {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    key().sign_raw(h, p) == token
}

pub fn verifier() -> &'static Verifier {
    static V: OnceLock<Verifier> = OnceLock::new();
    V.get_or_init(|| {
        let env = env();
        let config = VerifierConfig::from_lookup(|k| env.get(k).cloned()).expect("dev config");
        Verifier::new(config, clock())
    })
}

pub fn authorizer() -> &'static Authorizer {
    static A: OnceLock<Authorizer> = OnceLock::new();
    A.get_or_init(|| {
        let env = env();
        Authorizer::from_lookup(|k| env.get(k).cloned(), clock()).expect("dev authorizer")
    })
}
