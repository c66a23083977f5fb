//! Configuration, read once at init. A bad value stops the cold start with a
//! message naming the variable, instead of failing requests later.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// `TABLE_NAME` (required).
    pub table_name: String,
    /// `MAX_NOTES_PER_USER` (default 1000, 1..=1_000_000).
    pub max_notes_per_user: u32,
    /// `IDEMPOTENCY_TTL_SECONDS` (default 86400, 60..=2_592_000).
    pub idempotency_ttl: Duration,
    /// `CORS_ALLOW_ORIGIN` (optional): with a proxy integration the function,
    /// not API Gateway, must put CORS headers on real responses.
    pub cors_allow_origin: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set (required)")]
    Missing(&'static str),
    #[error("{name}={value:?} is invalid: {expected}")]
    Invalid {
        name: &'static str,
        value: String,
        expected: &'static str,
    },
}

impl Config {
    pub const DEFAULT_MAX_NOTES: u32 = 1000;
    pub const DEFAULT_IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3600);

    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Same as [`Config::from_env`], over any lookup (testable without
    /// touching the process environment).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let table_name = get("TABLE_NAME").ok_or(ConfigError::Missing("TABLE_NAME"))?;
        let table_ok = (3..=255).contains(&table_name.len())
            && table_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        if !table_ok {
            return Err(ConfigError::Invalid {
                name: "TABLE_NAME",
                value: table_name,
                expected: "a DynamoDB table name (3-255 of [A-Za-z0-9_.-])",
            });
        }
        let max_notes_per_user = number(
            &get,
            "MAX_NOTES_PER_USER",
            Self::DEFAULT_MAX_NOTES.into(),
            1,
            1_000_000,
        )?;
        let ttl = number(
            &get,
            "IDEMPOTENCY_TTL_SECONDS",
            Self::DEFAULT_IDEMPOTENCY_TTL.as_secs(),
            60,
            2_592_000,
        )?;
        let cors_allow_origin = match get("CORS_ALLOW_ORIGIN") {
            None => None,
            Some(o)
                if !o.is_empty()
                    && o.len() <= 256
                    && o.bytes().all(|b| (0x21..=0x7e).contains(&b)) =>
            {
                Some(o)
            }
            Some(o) => {
                return Err(ConfigError::Invalid {
                    name: "CORS_ALLOW_ORIGIN",
                    value: o,
                    expected: "one origin such as https://app.example.com, or *",
                });
            }
        };
        Ok(Self {
            table_name,
            max_notes_per_user: u32::try_from(max_notes_per_user)
                .unwrap_or(Self::DEFAULT_MAX_NOTES),
            idempotency_ttl: Duration::from_secs(ttl),
            cors_allow_origin,
        })
    }
}

fn number(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let Some(raw) = get(name) else {
        return Ok(default);
    };
    match raw.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(ConfigError::Invalid {
            name,
            value: raw,
            expected: match name {
                "MAX_NOTES_PER_USER" => "an integer from 1 to 1000000",
                _ => "an integer number of seconds from 60 to 2592000",
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| m.get(k).cloned())
    }

    #[test]
    fn defaults_apply_when_only_the_table_is_set() {
        let c = cfg(&[("TABLE_NAME", "notes")]).unwrap();
        assert_eq!(c.table_name, "notes");
        assert_eq!(c.max_notes_per_user, 1000);
        assert_eq!(c.idempotency_ttl, Duration::from_secs(86_400));
        assert_eq!(c.cors_allow_origin, None);
    }

    #[test]
    fn missing_table_and_bad_numbers_are_named_in_the_error() {
        assert_eq!(
            cfg(&[]).unwrap_err().to_string(),
            "TABLE_NAME is not set (required)"
        );
        let e = cfg(&[("TABLE_NAME", "notes"), ("MAX_NOTES_PER_USER", "lots")]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("MAX_NOTES_PER_USER=\"lots\" is invalid"),
            "{e}"
        );
        assert!(cfg(&[("TABLE_NAME", "notes"), ("MAX_NOTES_PER_USER", "0")]).is_err());
        assert!(cfg(&[("TABLE_NAME", "notes"), ("IDEMPOTENCY_TTL_SECONDS", "5")]).is_err());
        assert!(cfg(&[("TABLE_NAME", "no spaces")]).is_err());
        assert!(cfg(&[("TABLE_NAME", "notes"), ("CORS_ALLOW_ORIGIN", "a b")]).is_err());
        let c = cfg(&[
            ("TABLE_NAME", "notes"),
            ("CORS_ALLOW_ORIGIN", "https://app.example.com"),
        ])
        .unwrap();
        assert_eq!(
            c.cors_allow_origin.as_deref(),
            Some("https://app.example.com")
        );
        assert_eq!(
            cfg(&[("TABLE_NAME", "t-1"), ("MAX_NOTES_PER_USER", "5")])
                .unwrap()
                .max_notes_per_user,
            5
        );
    }
}
