//! Verifier configuration, read once at init from the environment.
//!
//! Every fault is a [`ConfigError`] naming the variable, so the function
//! fails its init with a message an operator can act on and never starts in
//! a permissive state.
//!
//! | Variable | Default | Meaning |
//! |---|---|---|
//! | `USER_POOL_ID` | required | one pool id, or several comma-separated |
//! | `APP_CLIENT_IDS` | required | comma-separated app client ids accepted |
//! | `JWKS_URL` | — | JWKS location (single pool only) |
//! | `AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER` | — | base of `<base>/<pool>/.well-known/jwks.json` |
//! | `AWS_ENDPOINT_URL` | — | same, when the Cognito-specific one is unset |
//! | `JWKS_JSON` | — | embedded JWKS, or object pool id → JWKS |
//! | `CLOCK_LEEWAY_SECONDS` | 30 | 0..=300 |
//! | `JWKS_COOLDOWN_SECONDS` | 10 | min. interval between refetches for unknown kids |
//! | `JWKS_FAILURE_BACKOFF_SECONDS` | 5 | first wait after a failed fetch, doubling |
//! | `JWKS_FAILURE_BACKOFF_MAX_SECONDS` | 60 | cap of that doubling |
//! | `JWKS_MAX_AGE_SECONDS` | 3600 | a fetched key set is refreshed after this |
//! | `JWKS_FETCH_TIMEOUT_MS` | 1500 | whole fetch (connect + body), 1..=10000 |
//! | `JWKS_MAX_BYTES` | 65536 | response body cap, 1024..=1048576 |
//! | `JWKS_STALE_MAX_SECONDS` | 86400 | keys served past the max age while refreshes fail, 0..=2592000 |
//! | `ISSUER_FORMAT` | `original` | `original`, `updated` or `both`: the pool's issuer configuration |
//!
//! Empty values count as unset (templates often pass `""` for "not set").

use std::collections::HashMap;
use std::time::Duration;

use crate::jwks::{self, KeySet};

/// Variable names, one source of truth for code, docs and tests.
pub mod vars {
    pub const USER_POOL_ID: &str = "USER_POOL_ID";
    pub const APP_CLIENT_IDS: &str = "APP_CLIENT_IDS";
    pub const JWKS_URL: &str = "JWKS_URL";
    pub const JWKS_JSON: &str = "JWKS_JSON";
    pub const AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER: &str =
        "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER";
    pub const AWS_ENDPOINT_URL: &str = "AWS_ENDPOINT_URL";
    pub const CLOCK_LEEWAY_SECONDS: &str = "CLOCK_LEEWAY_SECONDS";
    pub const JWKS_COOLDOWN_SECONDS: &str = "JWKS_COOLDOWN_SECONDS";
    pub const JWKS_FAILURE_BACKOFF_SECONDS: &str = "JWKS_FAILURE_BACKOFF_SECONDS";
    pub const JWKS_FAILURE_BACKOFF_MAX_SECONDS: &str = "JWKS_FAILURE_BACKOFF_MAX_SECONDS";
    pub const JWKS_MAX_AGE_SECONDS: &str = "JWKS_MAX_AGE_SECONDS";
    pub const JWKS_FETCH_TIMEOUT_MS: &str = "JWKS_FETCH_TIMEOUT_MS";
    pub const JWKS_MAX_BYTES: &str = "JWKS_MAX_BYTES";
    pub const ISSUER_FORMAT: &str = "ISSUER_FORMAT";
    pub const JWKS_STALE_MAX_SECONDS: &str = "JWKS_STALE_MAX_SECONDS";
}

/// The pool's issuer configuration (`IssuerConfiguration.Type`), which sets
/// the `iss` its tokens carry. Both forms are derived from the pool id (its
/// region prefix is the pool's primary region; replica regions issue the
/// primary region's issuer), never from a token.
/// <https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_IssuerConfigurationType.html>
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IssuerFormat {
    /// `https://cognito-idp.<region>.amazonaws.com/<pool>`.
    #[default]
    Original,
    /// `https://issuer-cognito-idp.<region>.amazonaws.com/<pool>`; AWS's
    /// recommendation, and what multi-Region replication needs.
    Updated,
    /// Both issuers, one key set: a pool switching from one to the other
    /// keeps issuing-era tokens valid until they expire.
    Both,
}

impl IssuerFormat {
    fn parse(raw: Option<String>) -> Result<Self, ConfigError> {
        match raw.as_deref().map(str::trim) {
            None | Some("original") => Ok(IssuerFormat::Original),
            Some("updated") => Ok(IssuerFormat::Updated),
            Some("both") => Ok(IssuerFormat::Both),
            Some(_) => Err(invalid(
                vars::ISSUER_FORMAT,
                "must be `original`, `updated` or `both` (lower case)",
            )),
        }
    }
}

pub const DEFAULT_LEEWAY_SECONDS: i64 = 30;
pub const MAX_LEEWAY_SECONDS: i64 = 300;

/// Why the configuration was refused. Messages name the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is required and must not be empty")]
    Missing(&'static str),
    #[error("{var}: {problem}")]
    Invalid { var: &'static str, problem: String },
}

fn invalid(var: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        var,
        problem: problem.into(),
    }
}

/// One configured user pool: the issuer its tokens must carry and where its
/// keys live (never taken from a token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    pub pool_id: String,
    pub region: String,
    /// The first accepted issuer (see `issuers`), compared byte-exactly.
    pub issuer: String,
    /// Every accepted `iss` (two for [`IssuerFormat::Both`]); one key set.
    pub issuers: Vec<String>,
    pub jwks_url: String,
}

/// JWKS cache and fetch knobs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JwksSettings {
    /// Minimum seconds between refetches caused by unknown kids.
    pub cooldown_seconds: i64,
    /// Wait after the first failed fetch; doubles per consecutive failure.
    pub failure_backoff_seconds: i64,
    pub failure_backoff_max_seconds: i64,
    /// Seconds after which a set is refreshed (in the background while its
    /// keys are still served).
    pub max_age_seconds: i64,
    /// How long past the max age a set's keys are still served while every
    /// refresh fails; after that the issuer fails closed.
    pub stale_max_seconds: i64,
    /// Whole-fetch deadline (connect, headers and body).
    pub fetch_timeout: Duration,
    pub max_body_bytes: usize,
}

impl Default for JwksSettings {
    fn default() -> Self {
        Self {
            cooldown_seconds: 10,
            failure_backoff_seconds: 5,
            failure_backoff_max_seconds: 60,
            max_age_seconds: 3600,
            stale_max_seconds: 86_400,
            fetch_timeout: Duration::from_millis(1500),
            max_body_bytes: 64 * 1024,
        }
    }
}

/// Everything the verifier needs, validated.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    pub pools: Vec<PoolConfig>,
    /// Accepted `client_id` (access) / `aud` (ID); never empty.
    pub client_ids: Vec<String>,
    pub leeway_seconds: i64,
    pub jwks: JwksSettings,
    /// Embedded key sets from `JWKS_JSON`, by pool id, already parsed.
    pub embedded_jwks: HashMap<String, KeySet>,
}

/// `https://cognito-idp.<region>.amazonaws.com/<poolId>`, or `None` when
/// the pool id has no `<region>_<suffix>` shape.
pub fn issuer_for_pool(pool_id: &str) -> Option<String> {
    let region = region_of(pool_id)?;
    Some(format!(
        "https://cognito-idp.{region}.amazonaws.com/{pool_id}"
    ))
}

fn region_of(pool_id: &str) -> Option<&str> {
    let (region, suffix) = pool_id.split_once('_')?;
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    // The suffix's length is not checked: local stand-ins use 32 hex chars.
    let suffix_ok = !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_alphanumeric());
    (region_ok && suffix_ok).then_some(region)
}

fn list(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<Vec<String>, ConfigError> {
    let raw = non_empty(get, var).ok_or(ConfigError::Missing(var))?;
    let mut out: Vec<String> = Vec::new();
    for item in raw.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(invalid(var, "empty entry in the comma-separated list"));
        }
        if item.chars().any(char::is_whitespace) {
            return Err(invalid(var, format!("entry {item:?} contains whitespace")));
        }
        if out.iter().any(|o| o == item) {
            return Err(invalid(var, format!("entry {item:?} is listed twice")));
        }
        out.push(item.to_owned());
    }
    Ok(out)
}

fn non_empty(get: &impl Fn(&str) -> Option<String>, var: &str) -> Option<String> {
    get(var).filter(|v| !v.trim().is_empty())
}

fn int(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: i64,
    range: std::ops::RangeInclusive<i64>,
) -> Result<i64, ConfigError> {
    let Some(raw) = non_empty(get, var) else {
        return Ok(default);
    };
    let v: i64 = raw
        .trim()
        .parse()
        .map_err(|_| invalid(var, format!("{raw:?} is not an integer")))?;
    if !range.contains(&v) {
        return Err(invalid(
            var,
            format!("{v} is outside {}..={}", range.start(), range.end()),
        ));
    }
    Ok(v)
}

fn http_url(var: &'static str, raw: &str) -> Result<String, ConfigError> {
    let url = reqwest::Url::parse(raw.trim())
        .map_err(|e| invalid(var, format!("{raw:?} is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid(
            var,
            format!("{raw:?} must be an http(s) URL with a host"),
        ));
    }
    Ok(raw.trim().to_owned())
}

impl VerifierConfig {
    /// Reads the configuration through `get` (the variables in [`vars`]),
    /// so tests need no process environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let pool_ids = list(&get, vars::USER_POOL_ID)?;
        let client_ids = list(&get, vars::APP_CLIENT_IDS)?;

        let jwks_url = non_empty(&get, vars::JWKS_URL)
            .map(|u| http_url(vars::JWKS_URL, &u))
            .transpose()?;
        if jwks_url.is_some() && pool_ids.len() > 1 {
            return Err(invalid(
                vars::JWKS_URL,
                "only allowed with a single USER_POOL_ID; with several pools the JWKS location is derived per pool",
            ));
        }
        // The same precedence as aws-config: the service-specific endpoint first.
        let base = match non_empty(&get, vars::AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER) {
            Some(b) => Some(http_url(
                vars::AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER,
                &b,
            )?),
            None => non_empty(&get, vars::AWS_ENDPOINT_URL)
                .map(|b| http_url(vars::AWS_ENDPOINT_URL, &b))
                .transpose()?,
        };

        let issuer_format = IssuerFormat::parse(non_empty(&get, vars::ISSUER_FORMAT))?;
        let mut pools = Vec::with_capacity(pool_ids.len());
        for pool_id in pool_ids {
            let region = region_of(&pool_id)
                .ok_or_else(|| {
                    invalid(
                        vars::USER_POOL_ID,
                        format!("{pool_id:?} is not a user pool id like us-east-1_AbC123"),
                    )
                })?
                .to_owned();
            let original = format!("https://cognito-idp.{region}.amazonaws.com/{pool_id}");
            let updated = format!("https://issuer-cognito-idp.{region}.amazonaws.com/{pool_id}");
            let issuers = match issuer_format {
                IssuerFormat::Original => vec![original.clone()],
                IssuerFormat::Updated => vec![updated.clone()],
                IssuerFormat::Both => vec![original.clone(), updated.clone()],
            };
            // Updated issuers serve the key set at `<issuer>/.well-known/jwks.json`
            // (from several regions); that host refuses pools still on the
            // original format, so `both` reads the original location, which
            // serves the same key set.
            let key_host = match issuer_format {
                IssuerFormat::Updated => &updated,
                IssuerFormat::Original | IssuerFormat::Both => &original,
            };
            let issuer = issuers[0].clone();
            let jwks_url = match (&jwks_url, &base) {
                (Some(u), _) => u.clone(),
                (None, Some(b)) => {
                    format!(
                        "{}/{pool_id}/.well-known/jwks.json",
                        b.trim_end_matches('/')
                    )
                }
                (None, None) => format!("{key_host}/.well-known/jwks.json"),
            };
            pools.push(PoolConfig {
                pool_id,
                region,
                issuer,
                issuers,
                jwks_url,
            });
        }

        let leeway_seconds = int(
            &get,
            vars::CLOCK_LEEWAY_SECONDS,
            DEFAULT_LEEWAY_SECONDS,
            0..=MAX_LEEWAY_SECONDS,
        )?;
        let d = JwksSettings::default();
        let failure_backoff_seconds = int(
            &get,
            vars::JWKS_FAILURE_BACKOFF_SECONDS,
            d.failure_backoff_seconds,
            1..=3600,
        )?;
        let jwks = JwksSettings {
            cooldown_seconds: int(
                &get,
                vars::JWKS_COOLDOWN_SECONDS,
                d.cooldown_seconds,
                1..=3600,
            )?,
            failure_backoff_seconds,
            failure_backoff_max_seconds: int(
                &get,
                vars::JWKS_FAILURE_BACKOFF_MAX_SECONDS,
                d.failure_backoff_max_seconds.max(failure_backoff_seconds),
                failure_backoff_seconds..=3600,
            )?,
            max_age_seconds: int(
                &get,
                vars::JWKS_MAX_AGE_SECONDS,
                d.max_age_seconds,
                60..=86_400,
            )?,
            stale_max_seconds: int(
                &get,
                vars::JWKS_STALE_MAX_SECONDS,
                d.stale_max_seconds,
                0..=30 * 86_400,
            )?,
            fetch_timeout: Duration::from_millis(int(
                &get,
                vars::JWKS_FETCH_TIMEOUT_MS,
                1500,
                1..=10_000,
            )? as u64),
            max_body_bytes: int(&get, vars::JWKS_MAX_BYTES, 64 * 1024, 1024..=1024 * 1024)?
                as usize,
        };

        let embedded_jwks = match non_empty(&get, vars::JWKS_JSON) {
            None => HashMap::new(),
            Some(raw) => embedded(&raw, &pools)?,
        };

        Ok(Self {
            pools,
            client_ids,
            leeway_seconds,
            jwks,
            embedded_jwks,
        })
    }

    /// [`Self::from_lookup`] over the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }
}

/// `JWKS_JSON`: a JWKS document (one pool configured) or an object mapping
/// pool id → JWKS document. Each must hold at least one usable RS256 key:
/// an embedded set that verifies nothing is a deployment mistake.
fn embedded(raw: &str, pools: &[PoolConfig]) -> Result<HashMap<String, KeySet>, ConfigError> {
    let var = vars::JWKS_JSON;
    let doc = crate::strict_json::parse_json_object(raw.as_bytes()).map_err(|_| {
        invalid(
            var,
            "not a JSON object (or has duplicate keys / is nested too deep)",
        )
    })?;
    let mut out = HashMap::new();
    let mut add = |pool_id: &str, set: &serde_json::Value| -> Result<(), ConfigError> {
        let keys = jwks::KeySet::from_value(set)
            .map_err(|e| invalid(var, format!("key set for pool {pool_id}: {e}")))?;
        if keys.usable_count() == 0 {
            return Err(invalid(
                var,
                format!("key set for pool {pool_id} holds no usable RS256 signing key"),
            ));
        }
        out.insert(pool_id.to_owned(), keys);
        Ok(())
    };
    if doc.contains_key("keys") {
        let [pool] = pools else {
            return Err(invalid(
                var,
                "a bare JWKS document is only allowed with a single USER_POOL_ID; map pool id -> JWKS instead",
            ));
        };
        add(&pool.pool_id, &serde_json::Value::Object(doc))?;
    } else {
        if doc.is_empty() {
            return Err(invalid(
                var,
                "neither a JWKS document nor a pool id -> JWKS map",
            ));
        }
        for (pool_id, set) in &doc {
            if !pools.iter().any(|p| &p.pool_id == pool_id) {
                return Err(invalid(
                    var,
                    format!("pool {pool_id:?} is not listed in USER_POOL_ID"),
                ));
            }
            add(pool_id, set)?;
        }
    }
    Ok(out)
}
