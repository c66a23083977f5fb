//! Shared fixtures for the verifier and JWKS tests: keys, configuration,
//! a table runner, and a loopback JWKS server with fault injection.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use authorizer::claims::{TokenUse, VerifiedClaims};
use authorizer::clock::ManualClock;
use authorizer::config::VerifierConfig;
use authorizer::reason::Reason;
use authorizer::testing::{self, TestKey};
use authorizer::verifier::{Rejection, Verifier};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub const POOL: &str = "us-east-1_TestPool";
pub const POOL_B: &str = "eu-west-1_OtherPool";
pub const CLIENT: &str = "C1";
pub const CLIENT_2: &str = "C2";
/// A second accepted client.
pub const CLIENT_9: &str = "C9";
/// The injected "now" of every test.
pub const NOW: i64 = 1_700_000_000;
/// A Cognito-style kid: `+`, `/` and `=` are legal in a kid.
pub const COGNITO_KID: &str = "kbxEboFjTrF9NUaco1UzsY9LdPEXghei2viYpCCaALU=";

/// Keys are expensive to generate: one set per test binary.
pub struct Keys {
    pub k1: TestKey,
    pub k2: TestKey,
    pub k3: TestKey,
    /// Pool B's key.
    pub kb: TestKey,
    pub cognito: TestKey,
}

pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        k1: TestKey::generate("K1"),
        k2: TestKey::generate("K2"),
        k3: TestKey::generate("K3"),
        kb: TestKey::generate("KB"),
        cognito: TestKey::generate(COGNITO_KID),
    })
}

pub fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(NOW))
}

/// A configuration from `pairs` (the rest unset).
pub fn config(pairs: &[(&str, String)]) -> VerifierConfig {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    VerifierConfig::from_lookup(|k| map.get(k).cloned()).expect("valid test configuration")
}

pub fn config_result(
    pairs: &[(&str, &str)],
) -> Result<VerifierConfig, authorizer::config::ConfigError> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    VerifierConfig::from_lookup(|k| map.get(k).cloned())
}

pub fn verifier(pairs: &[(&str, String)], clock: &Arc<ManualClock>) -> Verifier {
    Verifier::new(config(pairs), clock.clone())
}

/// Pool A, client C1, K1+K2+Cognito-kid embedded, and `jwks_url` for refetches.
pub fn standard_pairs(jwks_url: &str) -> Vec<(&'static str, String)> {
    let k = keys();
    vec![
        ("USER_POOL_ID", POOL.to_owned()),
        ("APP_CLIENT_IDS", format!("{CLIENT},{CLIENT_9}")),
        ("JWKS_URL", jwks_url.to_owned()),
        (
            "JWKS_JSON",
            testing::jwks(&[&k.k1, &k.k2, &k.cognito]).to_string(),
        ),
    ]
}

pub fn access(now: i64) -> Value {
    testing::access_claims(POOL, CLIENT, "user-1", now)
}

pub fn id(now: i64) -> Value {
    testing::id_claims(POOL, CLIENT, "user-1", now)
}

/// `claims` with `edits` applied: `Some(v)` sets, `None` removes.
pub fn with(mut claims: Value, edits: &[(&str, Option<Value>)]) -> Value {
    let obj = claims.as_object_mut().expect("claims object");
    for (k, v) in edits {
        match v {
            Some(v) => {
                obj.insert((*k).to_owned(), v.clone());
            }
            None => {
                obj.remove(*k);
            }
        }
    }
    claims
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// One named row of an adversarial table.
pub struct Case {
    pub name: &'static str,
    pub token: String,
    pub expected: TokenUse,
    /// `None`: accepted; `Some(r)`: rejected with exactly `r`.
    pub want: Option<Reason>,
}

pub fn case(name: &'static str, token: String, want: Option<Reason>) -> Case {
    Case {
        name,
        token,
        expected: TokenUse::Access,
        want,
    }
}

pub fn id_case(name: &'static str, token: String, want: Option<Reason>) -> Case {
    Case {
        name,
        token,
        expected: TokenUse::Id,
        want,
    }
}

/// Runs every case, then fails once listing every mismatch by name.
pub async fn run_table(v: &Verifier, cases: Vec<Case>) -> usize {
    let mut failures = Vec::new();
    let n = cases.len();
    let mut names = std::collections::HashSet::new();
    for c in cases {
        assert!(names.insert(c.name), "duplicate case name {}", c.name);
        let got = v.verify(&c.token, c.expected).await;
        let got_reason = got.as_ref().err().map(|r: &Rejection| r.reason);
        if got_reason != c.want {
            failures.push(format!(
                "{}: want {:?}, got {:?}",
                c.name,
                c.want,
                got.as_ref().map(|_| "accepted")
            ));
        }
        if let Err(r) = &got {
            // The detail is a fixed text: it must never echo the token.
            assert!(
                c.token.len() < 8 || !r.detail.contains(&c.token[..8]),
                "{}: detail leaks token text",
                c.name
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    n
}

pub async fn accept(v: &Verifier, token: &str, expected: TokenUse) -> VerifiedClaims {
    match v.verify(token, expected).await {
        Ok(c) => c,
        Err(r) => panic!("expected acceptance, got {r}"),
    }
}

pub async fn reason(v: &Verifier, token: &str) -> Option<Reason> {
    v.verify(token, TokenUse::Access)
        .await
        .err()
        .map(|r| r.reason)
}

/// What the loopback JWKS server answers.
#[derive(Clone)]
pub enum Mode {
    /// 200 with this JSON.
    Json(Value),
    /// This status with an empty body.
    Status(u16),
    /// Waits, then 200 with this JSON.
    Delay(Duration, Value),
    /// 200 with these bytes (Content-Length set).
    Raw(Vec<u8>),
    /// 200, chunked transfer encoding, no Content-Length.
    Chunked(Vec<u8>),
    /// 302 to this location.
    Redirect(String),
    /// JSON by request path (404 for others).
    ByPath(HashMap<String, Value>),
}

/// A minimal HTTP/1.1 server on 127.0.0.1:0 that counts requests.
pub struct JwksServer {
    pub addr: SocketAddr,
    hits: Arc<AtomicUsize>,
    paths: Arc<Mutex<Vec<String>>>,
    mode: Arc<Mutex<Mode>>,
}

impl JwksServer {
    pub async fn start(mode: Mode) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let hits = Arc::new(AtomicUsize::new(0));
        let paths = Arc::new(Mutex::new(Vec::new()));
        let mode = Arc::new(Mutex::new(mode));
        let (h, p, m) = (hits.clone(), paths.clone(), mode.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let (h, p, m) = (h.clone(), p.clone(), m.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf);
                    let path = head.split(' ').nth(1).unwrap_or("").to_owned();
                    h.fetch_add(1, Ordering::SeqCst);
                    p.lock().unwrap().push(path.clone());
                    let mode = m.lock().unwrap().clone();
                    let resp = respond(mode, &path).await;
                    let _ = sock.write_all(&resp).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        Self {
            addr,
            hits,
            paths,
            mode,
        }
    }

    /// The JWKS URL of a single-pool setup.
    pub fn url(&self) -> String {
        format!("http://{}/jwks.json", self.addr)
    }

    /// A base for `<base>/<pool>/.well-known/jwks.json`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    pub fn paths(&self) -> Vec<String> {
        self.paths.lock().unwrap().clone()
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
}

fn ok(content: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        content.len()
    )
    .into_bytes();
    r.extend_from_slice(content);
    r
}

async fn respond(mode: Mode, path: &str) -> Vec<u8> {
    match mode {
        Mode::Json(v) => ok(v.to_string().as_bytes()),
        Mode::Status(code) => {
            format!("HTTP/1.1 {code} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                .into_bytes()
        }
        Mode::Delay(d, v) => {
            tokio::time::sleep(d).await;
            ok(v.to_string().as_bytes())
        }
        Mode::Raw(b) => ok(&b),
        Mode::Chunked(b) => {
            let mut r = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
            for c in b.chunks(4096) {
                r.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
                r.extend_from_slice(c);
                r.extend_from_slice(b"\r\n");
            }
            r.extend_from_slice(b"0\r\n\r\n");
            r
        }
        Mode::Redirect(to) => format!(
            "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .into_bytes(),
        Mode::ByPath(map) => match map.get(path) {
            Some(v) => ok(v.to_string().as_bytes()),
            None => {
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
            }
        },
    }
}

/// Polls (real time, the clock stands still) until `f` holds: background
/// refreshes run on the test's runtime.
pub async fn eventually<F: std::future::Future<Output = bool>>(
    what: &str,
    mut f: impl FnMut() -> F,
) {
    for _ in 0..400 {
        if f().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("never happened: {what}");
}
