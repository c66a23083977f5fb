//! JSON Web Key Sets: parsing into `jsonwebtoken` [`DecodingKey`]s, the
//! RS256 signature check ([`verify_rs256`]), and the per-issuer cache that
//! lives as long as the warm Lambda.
//!
//! # Rules
//!
//! - Each entry of the set is read as a `jsonwebtoken::jwk::Jwk` (the element
//!   type of `JwkSet`), one entry at a time so that one malformed key only
//!   loses itself; the document around it is strict JSON (duplicate members
//!   refused). Our checks stay on top of the crate's typed view.
//! - Usable key: `kty` `RSA`; `alg` absent or `RS256`; `use` absent or
//!   `sig`; `key_ops` absent or an array of strings containing `verify`;
//!   `n` 2048..=8192 bits; `e` odd and in 3..2^32; strict base64url; and
//!   aws-lc accepts it as an RSASSA-PKCS1-v1_5 SHA-256 key. Any other entry
//!   with a kid (EC, `oct`, weak, malformed) is kept as *refused*: a token
//!   naming it fails with `key_mismatch` and it can never verify anything.
//! - The [`DecodingKey`] is built once, when the set is loaded; requests
//!   only borrow it.
//! - Two entries with the same kid in one set: that kid is ambiguous and
//!   refused (`key_mismatch`), rather than picking one silently.
//! - A set that is not `{"keys":[…]}` JSON (or too big, or not HTTP 200) is a
//!   failed fetch; a bad key among good ones only loses that key.
//! - Keys are bound to the issuer whose URL served them (one cache each).
//!
//! # Cache policy
//!
//! - Embedded sets (`JWKS_JSON`) are loaded at init and used first, like a
//!   set fetched at init.
//! - A set is *fresh* for `max_age` seconds. Past it, a request whose kid
//!   the set knows is still answered from it at once, and a refresh runs in
//!   the background (one at a time, respecting the failure backoff): no
//!   request waits on the endpoint while it has a usable key. While every
//!   refresh fails the set stays *usable* for `stale_max` seconds more
//!   (logged at WARN once per backoff window), then the issuer fails closed
//!   (`jwks_unavailable`) until a refresh succeeds.
//! - Unknown kid → one refetch, single-flight (one fetch in flight per
//!   issuer, everyone else waits for its result), at most once per
//!   `cooldown`. After a failure, no fetch for `backoff` (doubling up to a
//!   cap). An unknown kid while a usable set exists is `kid_unknown`, even if
//!   the refetch failed; with no usable set it is `jwks_unavailable`.
//! - A successful fetch replaces the whole set: a kid rotated out stops being
//!   accepted, a kid republished with new material uses the new material.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use aws_lc_rs::signature::{RSA_PKCS1_2048_8192_SHA256, RsaPublicKeyComponents};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm, KeyOperations, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize as _;
use serde_json::Value;

use crate::clock::Clock;
use crate::config::JwksSettings;
use crate::strict_json::parse_json_object;
use crate::token::{B64, MAX_KID_BYTES};

/// One entry of a key set, by kid.
#[derive(Clone)]
pub enum KeyEntry {
    /// Ready to verify RS256 signatures (see [`verify_rs256`]).
    Usable(Arc<DecodingKey>),
    /// Present but never usable; the static text says why (for logs).
    Refused(&'static str),
}

impl std::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyEntry::Usable(_) => f.write_str("Usable"),
            KeyEntry::Refused(why) => write!(f, "Refused({why})"),
        }
    }
}

/// A parsed JWKS: kid → entry.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, KeyEntry>,
}

/// Why a whole key set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwksError {
    #[error("not a JSON object with a \"keys\" array")]
    NotAKeySet,
    #[error("invalid JSON (or duplicate keys / nested too deep)")]
    InvalidJson,
}

impl KeySet {
    /// Parses a JWKS document's bytes (strict JSON, duplicate keys refused).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, JwksError> {
        let doc = parse_json_object(bytes).map_err(|_| JwksError::InvalidJson)?;
        Self::from_keys(doc.get("keys"))
    }

    /// Parses an already-decoded JWKS document.
    pub fn from_value(doc: &Value) -> Result<Self, JwksError> {
        let Value::Object(doc) = doc else {
            return Err(JwksError::NotAKeySet);
        };
        Self::from_keys(doc.get("keys"))
    }

    fn from_keys(keys: Option<&Value>) -> Result<Self, JwksError> {
        let Some(Value::Array(keys)) = keys else {
            return Err(JwksError::NotAKeySet);
        };
        let mut out: HashMap<String, KeyEntry> = HashMap::with_capacity(keys.len());
        for jwk in keys {
            let Some(kid) = jwk
                .get("kid")
                .and_then(Value::as_str)
                .filter(|k| !k.is_empty() && k.len() <= MAX_KID_BYTES)
            else {
                // No usable kid: no token can name it, so it is skipped.
                continue;
            };
            let entry = match parse_jwk(jwk) {
                Ok(key) => KeyEntry::Usable(Arc::new(key)),
                Err(why) => KeyEntry::Refused(why),
            };
            match out.get_mut(kid) {
                Some(existing) => *existing = KeyEntry::Refused("kid appears twice in the set"),
                None => {
                    out.insert(kid.to_owned(), entry);
                }
            }
        }
        Ok(Self { keys: out })
    }

    pub fn get(&self, kid: &str) -> Option<&KeyEntry> {
        self.keys.get(kid)
    }

    /// Number of keys that can verify a signature.
    pub fn usable_count(&self) -> usize {
        self.keys
            .values()
            .filter(|e| matches!(e, KeyEntry::Usable(_)))
            .count()
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// Checks an RS256 signature with `jsonwebtoken::crypto::verify`.
///
/// `signature_b64` is the JWS signature segment as it appears in the token
/// (base64url, no padding): that is the form `crypto::verify` takes, so the
/// verifier hands over a slice of the token and nothing is re-encoded.
/// Call it only after the token's framing and header checks passed; any
/// error (bad base64, wrong key family, bad signature) is `false`.
pub fn verify_rs256(key: &DecodingKey, signing_input: &[u8], signature_b64: &str) -> bool {
    jsonwebtoken::crypto::verify(signature_b64, signing_input, key, Algorithm::RS256)
        .unwrap_or(false)
}

fn parse_jwk(jwk: &Value) -> Result<DecodingKey, &'static str> {
    // jsonwebtoken's typed JWK; a member of the wrong JSON type (or an `alg`
    // it does not know) fails here.
    let typed =
        Jwk::deserialize(jwk).map_err(|_| "not a well-formed JWK (a member has the wrong type)")?;
    let AlgorithmParameters::RSA(rsa) = &typed.algorithm else {
        return Err("kty is not RSA (symmetric and EC keys are never used)");
    };
    if !matches!(typed.common.key_algorithm, None | Some(KeyAlgorithm::RS256)) {
        return Err("alg is not RS256");
    }
    if !matches!(
        typed.common.public_key_use,
        None | Some(PublicKeyUse::Signature)
    ) {
        return Err("use is not sig");
    }
    if typed
        .common
        .key_operations
        .as_ref()
        .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
    {
        return Err("key_ops is not an array of strings allowing verify");
    }
    // Our own strict base64url (canonical trailing bits) and size rules;
    // jsonwebtoken's decoder would accept what these refuse.
    let n = B64
        .decode_to_vec(&rsa.n)
        .map_err(|_| "n is not strict base64url")?;
    let e = B64
        .decode_to_vec(&rsa.e)
        .map_err(|_| "e is not strict base64url")?;
    if n.first().is_none_or(|b| *b == 0) || e.first().is_none_or(|b| *b == 0) {
        return Err("n or e is empty or has a leading zero byte");
    }
    let n_bits = n.len() * 8 - n[0].leading_zeros() as usize;
    if n_bits < 2048 {
        return Err("RSA modulus shorter than 2048 bits");
    }
    if n_bits > 8192 {
        return Err("RSA modulus longer than 8192 bits");
    }
    let e_odd = e.last().is_some_and(|b| b & 1 == 1);
    if !e_odd || (e.len() == 1 && e[0] < 3) || e.len() > 4 {
        return Err("RSA exponent is not an odd number in 3..2^32");
    }
    // Once per set: a key aws-lc would refuse at every request is refused
    // now, as a key, instead of surfacing later as `bad_signature`.
    RsaPublicKeyComponents { n: &n, e: &e }
        .to_parsed_public_key(&RSA_PKCS1_2048_8192_SHA256)
        .map_err(|_| "RSA key rejected by aws-lc")?;
    Ok(DecodingKey::from_rsa_raw_components(&n, &e))
}

/// A key set as cached for one issuer.
#[derive(Debug)]
struct CachedSet {
    keys: KeySet,
    /// When it was loaded (clock seconds).
    loaded_at: i64,
    /// Bumped on every install, so waiters see that someone else refreshed.
    generation: u64,
}

impl CachedSet {
    fn fresh(&self, now: i64, max_age: i64) -> bool {
        now < self.loaded_at.saturating_add(max_age)
    }
    fn usable(&self, now: i64, s: &JwksSettings) -> bool {
        now < self
            .loaded_at
            .saturating_add(s.max_age_seconds)
            .saturating_add(s.stale_max_seconds)
    }
}

#[derive(Debug, Default)]
struct FetchState {
    last_attempt: Option<i64>,
    consecutive_failures: u32,
    backoff_until: i64,
}

/// The outcome of a key lookup.
#[derive(Debug, Clone)]
pub enum Lookup {
    Found(Arc<DecodingKey>),
    /// The kid is in the set but its key is refused.
    Refused(&'static str),
    /// Not in a usable set, even after any refetch allowed now.
    Unknown,
    /// No usable set could be obtained.
    Unavailable,
}

/// One issuer's keys and the state of fetching them.
#[derive(Debug)]
pub struct IssuerKeys {
    url: String,
    current: RwLock<Option<Arc<CachedSet>>>,
    fetch: tokio::sync::Mutex<FetchState>,
    /// A background refresh is running.
    refreshing: AtomicBool,
    /// Mirror of the failure backoff, so serving a stale key during an
    /// outage spawns nothing until the next attempt is due.
    retry_at: AtomicI64,
    /// Until when the "serving stale keys" WARN is not repeated.
    stale_warned_until: AtomicI64,
}

impl IssuerKeys {
    pub fn new(url: String, embedded: Option<KeySet>, now: i64) -> Self {
        let current = embedded.map(|keys| {
            Arc::new(CachedSet {
                keys,
                loaded_at: now,
                generation: 1,
            })
        });
        Self {
            url,
            current: RwLock::new(current),
            fetch: tokio::sync::Mutex::new(FetchState::default()),
            refreshing: AtomicBool::new(false),
            retry_at: AtomicI64::new(i64::MIN),
            stale_warned_until: AtomicI64::new(i64::MIN),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn snapshot(&self) -> Option<Arc<CachedSet>> {
        // A poisoned lock only means a panic elsewhere mid-assignment of an
        // Arc; the value is still whole.
        match self.current.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn install(&self, set: Arc<CachedSet>) {
        let set = Some(set);
        match self.current.write() {
            Ok(mut g) => *g = set,
            Err(p) => *p.into_inner() = set,
        }
    }

    /// Finds `kid`, refetching when the rules above allow it.
    pub async fn lookup(
        self: &Arc<Self>,
        kid: &str,
        clock: &Arc<dyn Clock>,
        settings: &JwksSettings,
        http: &Arc<Fetcher>,
    ) -> Lookup {
        let max_age = settings.max_age_seconds;
        let now = clock.now();
        // Fast path: a set that knows the kid. No lock beyond a read; past
        // the max age the key is served and the refresh runs behind.
        let seen = self.snapshot();
        if let Some(set) = &seen
            && let Some(entry) = set.keys.get(kid)
        {
            if set.fresh(now, max_age) {
                return entry_lookup(entry);
            }
            if set.usable(now, settings) {
                crate::metrics::STALE_KEYS_SERVED.fetch_add(1, Ordering::Relaxed);
                self.refresh_behind(now, clock, settings, http);
                self.warn_stale(now, set, settings);
                return entry_lookup(entry);
            }
        }
        let seen_generation = seen.as_ref().map_or(0, |s| s.generation);

        // Slow path (unknown kid, or nothing usable), single-flight: one
        // fetch at a time per issuer; whoever waited re-checks what the
        // previous holder installed.
        let mut st = self.fetch.lock().await;
        let now = clock.now();
        let current = self.snapshot();
        if let Some(set) = &current
            && set.generation != seen_generation
            && set.fresh(now, max_age)
        {
            return set.keys.get(kid).map_or(Lookup::Unknown, entry_lookup);
        }
        let usable = current.as_ref().filter(|s| s.usable(now, settings));
        let known_in_usable = usable.and_then(|s| s.keys.get(kid));
        let fresh = current.as_ref().is_some_and(|s| s.fresh(now, max_age));
        let fallback = || match (usable, known_in_usable) {
            (Some(_), Some(entry)) => entry_lookup(entry),
            (Some(_), None) => Lookup::Unknown,
            (None, _) => Lookup::Unavailable,
        };

        if now < st.backoff_until {
            return fallback();
        }
        // A fresh set and an unknown kid: refetch at most once per cooldown.
        if fresh
            && st
                .last_attempt
                .is_some_and(|t| now < t.saturating_add(settings.cooldown_seconds))
        {
            return fallback();
        }
        match self.attempt(&mut st, now, settings, http).await {
            Some(keys) => keys.keys.get(kid).map_or(Lookup::Unknown, entry_lookup),
            None => fallback(),
        }
    }

    /// One fetch under the single-flight lock: installs the set, or records
    /// the failure and its backoff.
    async fn attempt(
        &self,
        st: &mut FetchState,
        now: i64,
        settings: &JwksSettings,
        http: &Fetcher,
    ) -> Option<Arc<CachedSet>> {
        st.last_attempt = Some(now);
        crate::metrics::JWKS_FETCHES.fetch_add(1, Ordering::Relaxed);
        match http.fetch(&self.url, settings).await {
            Ok(keys) => {
                st.consecutive_failures = 0;
                st.backoff_until = 0;
                self.retry_at.store(i64::MIN, Ordering::Release);
                let generation = self.snapshot().map_or(0, |c| c.generation) + 1;
                let set = Arc::new(CachedSet {
                    keys,
                    loaded_at: now,
                    generation,
                });
                self.install(Arc::clone(&set));
                Some(set)
            }
            Err(e) => {
                // The URL is configuration; the error names no token data.
                tracing::warn!(jwks_url = %self.url, error = %e, "JWKS fetch failed");
                crate::metrics::JWKS_FETCH_FAILURES.fetch_add(1, Ordering::Relaxed);
                st.consecutive_failures = st.consecutive_failures.saturating_add(1);
                let doublings = st.consecutive_failures.saturating_sub(1).min(20);
                let wait = settings
                    .failure_backoff_seconds
                    .saturating_mul(1_i64 << doublings)
                    .min(settings.failure_backoff_max_seconds);
                st.backoff_until = now.saturating_add(wait);
                self.retry_at.store(st.backoff_until, Ordering::Release);
                None
            }
        }
    }

    /// Starts one background refresh unless one runs or the backoff says
    /// not yet. Outside a Tokio runtime (never on Lambda) it does nothing.
    fn refresh_behind(
        self: &Arc<Self>,
        now: i64,
        clock: &Arc<dyn Clock>,
        settings: &JwksSettings,
        http: &Arc<Fetcher>,
    ) {
        if now < self.retry_at.load(Ordering::Acquire) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let (me, clock, settings, http) = (
            Arc::clone(self),
            Arc::clone(clock),
            settings.clone(),
            Arc::clone(http),
        );
        runtime.spawn(async move {
            {
                let mut st = me.fetch.lock().await;
                let now = clock.now();
                let stale = me
                    .snapshot()
                    .is_none_or(|s| !s.fresh(now, settings.max_age_seconds));
                if stale && now >= st.backoff_until {
                    me.attempt(&mut st, now, &settings, &http).await;
                }
            }
            me.refreshing.store(false, Ordering::Release);
        });
    }

    /// WARN that stale keys are in use, once per backoff window.
    fn warn_stale(&self, now: i64, set: &CachedSet, settings: &JwksSettings) {
        let until = self.stale_warned_until.load(Ordering::Acquire);
        if now < until {
            return;
        }
        let next = self
            .retry_at
            .load(Ordering::Acquire)
            .max(now.saturating_add(settings.failure_backoff_seconds));
        if self
            .stale_warned_until
            .compare_exchange(until, next, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            let fresh_until = set.loaded_at.saturating_add(settings.max_age_seconds);
            tracing::warn!(
                jwks_url = %self.url,
                stale_for_seconds = now.saturating_sub(fresh_until),
                fails_closed_in_seconds = fresh_until
                    .saturating_add(settings.stale_max_seconds)
                    .saturating_sub(now),
                "serving stale JWKS keys while the refresh fails"
            );
        }
    }
}

fn entry_lookup(entry: &KeyEntry) -> Lookup {
    match entry {
        KeyEntry::Usable(k) => Lookup::Found(Arc::clone(k)),
        KeyEntry::Refused(why) => Lookup::Refused(why),
    }
}

/// Why a fetch failed (for the log; the caller only sees `jwks_unavailable`).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("HTTP client could not be built: {0}")]
    Client(String),
    #[error("request failed: {0}")]
    Request(String),
    #[error("timed out")]
    Timeout,
    #[error("HTTP status {0} (redirects are not followed)")]
    Status(u16),
    #[error("body larger than {0} bytes")]
    TooLarge(usize),
    #[error("{0}")]
    Jwks(#[from] JwksError),
}

/// Fetches key sets over HTTP(S). The client is built on first use, so a
/// cold start with embedded keys does no TLS setup at all.
#[derive(Debug, Default)]
pub struct Fetcher {
    client: OnceLock<Result<reqwest::Client, String>>,
}

impl Fetcher {
    fn client(&self, settings: &JwksSettings) -> Result<&reqwest::Client, FetchError> {
        self.client
            .get_or_init(|| {
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .connect_timeout(settings.fetch_timeout)
                    .timeout(settings.fetch_timeout)
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| FetchError::Client(e.clone()))
    }

    /// GET `url` → parsed set, within the timeout and the body cap.
    pub async fn fetch(&self, url: &str, settings: &JwksSettings) -> Result<KeySet, FetchError> {
        let client = self.client(settings)?;
        let cap = settings.max_body_bytes;
        let work = async {
            let mut resp = client
                .get(url)
                .header(reqwest::header::ACCEPT, "application/json")
                .send()
                .await
                .map_err(|e| FetchError::Request(e.without_url().to_string()))?;
            if resp.status() != reqwest::StatusCode::OK {
                return Err(FetchError::Status(resp.status().as_u16()));
            }
            if resp.content_length().is_some_and(|l| l > cap as u64) {
                return Err(FetchError::TooLarge(cap));
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp
                .chunk()
                .await
                .map_err(|e| FetchError::Request(e.without_url().to_string()))?
            {
                if body.len() + chunk.len() > cap {
                    return Err(FetchError::TooLarge(cap));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(KeySet::from_slice(&body)?)
        };
        tokio::time::timeout(settings.fetch_timeout, work)
            .await
            .map_err(|_| FetchError::Timeout)?
    }
}
