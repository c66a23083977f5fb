//! The three authorizer event shapes, told apart by the event itself.
//!
//! | Shape | Detected by | Token from | Route from | Answer |
//! |---|---|---|---|---|
//! | REST `REQUEST` (and HTTP API payload 1.0) | `"type":"REQUEST"`, no `"version":"2.0"` | `Authorization` header, any case | `methodArn` | IAM policy |
//! | REST `TOKEN` | `"type":"TOKEN"` | `authorizationToken` | `methodArn` | IAM policy |
//! | HTTP API payload 2.0 | `"version":"2.0"` | `authorization` header | `requestContext.http.method` + `rawPath` | simple response |
//!
//! Parsed with a lean borrowing serde struct rather than `aws_lambda_events`'
//! request types: those build an `http::HeaderMap`, multi-value maps, query
//! maps and the whole request context for every call, while the authorizer
//! needs five strings. Skipping the rest (serde's `IgnoredAny`) and borrowing
//! unescaped strings keeps the handler's overhead small next to the RSA
//! verify (see `benches/authorizer.rs`).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{IgnoredAny, MapAccess, Visitor};

use crate::rules::Method;
use crate::strict_json::Text;

/// Which shape, with what the handler needs from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizerEvent<'a> {
    /// REST API `REQUEST` authorizer (or HTTP API payload 1.0).
    RestRequest {
        method_arn: Cow<'a, str>,
        authorization: Credential<'a>,
        request_id: Option<Cow<'a, str>>,
    },
    /// REST API `TOKEN` authorizer.
    RestToken {
        method_arn: Cow<'a, str>,
        authorization: Credential<'a>,
    },
    /// HTTP API payload 2.0.
    HttpV2 {
        method: Method,
        /// `rawPath` without the stage prefix (for a stage other than
        /// `$default`), still percent-encoded: [`decode_segment`] decodes
        /// it segment by segment, so `%2F` stays inside its segment.
        raw_path: Cow<'a, str>,
        authorization: Credential<'a>,
        request_id: Option<Cow<'a, str>>,
    },
}

/// What the caller presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential<'a> {
    Missing,
    /// The raw header (or `authorizationToken`) value.
    Present(Cow<'a, str>),
    /// Several `Authorization` headers: never guess which one counts.
    Ambiguous,
}

impl Credential<'_> {
    /// The token: `Bearer <t>` (exactly that prefix, one space) or a bare
    /// `<t>`; anything with whitespace or a comma left (`bearer  <t>`,
    /// `Bearer <t> x`, `Basic …`, two tokens joined by a comma) is refused.
    pub fn token(&self) -> Option<&str> {
        let Credential::Present(v) = self else {
            return None;
        };
        let t = v.strip_prefix("Bearer ").unwrap_or(v);
        if t.is_empty() || has_space_or_comma(t.as_bytes()) {
            return None;
        }
        Some(t)
    }
}

/// Whether `t` holds ASCII whitespace (as `u8::is_ascii_whitespace`: tab,
/// LF, FF, CR, space) or a comma. A token is ~1 KB and this runs per
/// request: a byte-wise `any` exits early per byte and does not vectorise
/// (~0.4 µs); a branch-free OR over fixed 32-byte blocks does.
fn has_space_or_comma(t: &[u8]) -> bool {
    let bad = |b: u8| {
        u8::from(b == b' ')
            | u8::from(b.wrapping_sub(b'\t') < 2) // \t \n
            | u8::from(b.wrapping_sub(0x0c) < 2) // \x0c \r
            | u8::from(b == b',')
    };
    let mut blocks = t.chunks_exact(32);
    for block in &mut blocks {
        if block.iter().fold(0u8, |acc, &b| acc | bad(b)) != 0 {
            return true;
        }
    }
    blocks.remainder().iter().any(|&b| bad(b) != 0)
}

/// Not an authorizer event API Gateway would send. Reported by category
/// and position only: serde's messages quote the offending value (e.g. a
/// `"headers": "Bearer <jwt>"`), and nothing from the input may reach a log
/// line or an error message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("event is not UTF-8 (invalid byte at offset {offset})")]
    NotUtf8 { offset: usize },
    #[error(
        "event is not JSON of the expected shape ({category} error at line {line}, column {column})"
    )]
    Json {
        /// `syntax`, `eof` or `data` (a value of the wrong type or shape).
        category: &'static str,
        line: usize,
        column: usize,
    },
    #[error(
        "unrecognised authorizer event (no \"version\":\"2.0\" and \"type\" is not TOKEN or REQUEST)"
    )]
    Unrecognised,
    #[error("{0} authorizer event without {1}")]
    MissingField(&'static str, &'static str),
    #[error(
        "HTTP API event whose method is not one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"
    )]
    Method,
}

impl EventError {
    fn json(e: &serde_json::Error) -> Self {
        use serde_json::error::Category;
        EventError::Json {
            category: match e.classify() {
                Category::Io => "io",
                Category::Syntax => "syntax",
                Category::Data => "data",
                Category::Eof => "eof",
            },
            line: e.line(),
            column: e.column(),
        }
    }

    /// The category, as logged.
    pub fn category(&self) -> &'static str {
        match self {
            EventError::NotUtf8 { .. } => "not_utf8",
            EventError::Json { category, .. } => category,
            EventError::Unrecognised => "unrecognised",
            EventError::MissingField(..) => "missing_field",
            EventError::Method => "method",
        }
    }
}

#[derive(Deserialize)]
struct Raw<'a> {
    #[serde(borrow, default)]
    version: Option<Cow<'a, str>>,
    #[serde(rename = "type", borrow, default)]
    type_: Option<Cow<'a, str>>,
    #[serde(rename = "methodArn", borrow, default)]
    method_arn: Option<Cow<'a, str>>,
    #[serde(rename = "authorizationToken", borrow, default)]
    authorization_token: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    headers: Option<AuthHeader<'a>>,
    #[serde(rename = "multiValueHeaders", borrow, default)]
    multi_value_headers: Option<AuthHeaderValues<'a>>,
    #[serde(rename = "routeKey", borrow, default)]
    route_key: Option<Cow<'a, str>>,
    #[serde(rename = "rawPath", borrow, default)]
    raw_path: Option<Cow<'a, str>>,
    #[serde(rename = "requestContext", borrow, default)]
    request_context: Option<RawContext<'a>>,
}

#[derive(Deserialize)]
struct RawContext<'a> {
    #[serde(rename = "requestId", borrow, default)]
    request_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    http: Option<RawHttp<'a>>,
    #[serde(borrow, default)]
    stage: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawHttp<'a> {
    #[serde(borrow, default)]
    method: Option<Cow<'a, str>>,
}

/// The `Authorization` value of a `headers` object, found case-insensitively
/// without building a map.
struct AuthHeader<'a>(Credential<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for AuthHeader<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = AuthHeader<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a headers object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut found = Credential::Missing;
                while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                    if key.eq_ignore_ascii_case("authorization") {
                        let value: Option<Text<'de>> = map.next_value()?;
                        found = match (found, value) {
                            (Credential::Missing, Some(Text(v))) => Credential::Present(v),
                            (Credential::Missing, None) => Credential::Missing,
                            _ => Credential::Ambiguous,
                        };
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(AuthHeader(found))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// The `Authorization` values of `multiValueHeaders` (any case): API
/// Gateway's `headers` keeps only the last of repeated headers, so these
/// must agree with it.
struct AuthHeaderValues<'a>(Vec<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for AuthHeaderValues<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = AuthHeaderValues<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a multiValueHeaders object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut all = Vec::new();
                while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
                    if key.eq_ignore_ascii_case("authorization") {
                        let values: Option<Vec<Text<'de>>> = map.next_value()?;
                        all.extend(values.into_iter().flatten().map(|Text(v)| v));
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(AuthHeaderValues(all))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// `headers` and `multiValueHeaders` must tell the same story: one value,
/// the same in both, or the credential is ambiguous (401).
fn reconcile<'a>(single: Credential<'a>, multi: Option<AuthHeaderValues<'a>>) -> Credential<'a> {
    let Some(AuthHeaderValues(values)) = multi else {
        return single;
    };
    match (&single, values.as_slice()) {
        (_, []) => single,
        (Credential::Present(s), [m]) if s == m => single,
        _ => Credential::Ambiguous,
    }
}

/// Percent-decodes one path segment (RFC 3986), as API Gateway's
/// `{name}` path parameters are; `None` for a malformed escape or bytes
/// that are not UTF-8. Hand-written: a dozen lines, and the crates for it
/// decode whole paths (turning `%2F` into a separator) or accept bad escapes.
pub fn decode_segment(seg: &str) -> Option<Cow<'_, str>> {
    if !seg.contains('%') {
        return Some(Cow::Borrowed(seg));
    }
    let b = seg.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            let (Some(h), Some(l)) = (
                b.get(i + 1).copied().and_then(hex),
                b.get(i + 2).copied().and_then(hex),
            ) else {
                return None;
            };
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// `rawPath` without `/<stage>` when the stage is not `$default` (HTTP API
/// puts the stage name in front of the route's path there).
fn strip_stage<'a>(raw: Cow<'a, str>, stage: Option<&str>) -> Cow<'a, str> {
    let Some(stage) = stage.filter(|s| !s.is_empty() && *s != "$default") else {
        return raw;
    };
    let rest = raw
        .strip_prefix('/')
        .and_then(|r| r.strip_prefix(stage))
        .filter(|r| r.is_empty() || r.starts_with('/'));
    match (rest, &raw) {
        (Some(""), _) => Cow::Borrowed("/"),
        (Some(r), Cow::Borrowed(b)) => {
            let start = b.len() - r.len();
            Cow::Borrowed(&b[start..])
        }
        (Some(r), Cow::Owned(_)) => Cow::Owned(r.to_owned()),
        (None, _) => raw,
    }
}

impl<'a> AuthorizerEvent<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self, EventError> {
        let text = std::str::from_utf8(bytes).map_err(|e| EventError::NotUtf8 {
            offset: e.valid_up_to(),
        })?;
        let raw: Raw<'a> = serde_json::from_str(text).map_err(|e| EventError::json(&e))?;
        let (request_id, http_method, stage) = match raw.request_context {
            Some(c) => (c.request_id, c.http.and_then(|h| h.method), c.stage),
            None => (None, None, None),
        };
        let header =
            |raw_headers: Option<AuthHeader<'a>>| raw_headers.map_or(Credential::Missing, |h| h.0);
        if raw.version.as_deref() == Some("2.0") {
            // The actual method; `routeKey` may say ANY or `$default`.
            let method_text = http_method
                .or_else(|| {
                    raw.route_key
                        .as_deref()
                        .and_then(|k| k.split_once(' '))
                        .map(|(m, _)| Cow::Owned(m.to_owned()))
                })
                .ok_or(EventError::MissingField(
                    "HTTP API",
                    "requestContext.http.method",
                ))?;
            let method = Method::parse(&method_text).ok_or(EventError::Method)?;
            let raw_path = raw
                .raw_path
                .ok_or(EventError::MissingField("HTTP API", "rawPath"))?;
            return Ok(AuthorizerEvent::HttpV2 {
                method,
                raw_path: strip_stage(raw_path, stage.as_deref()),
                authorization: reconcile(header(raw.headers), raw.multi_value_headers),
                request_id,
            });
        }
        match raw.type_.as_deref() {
            Some("TOKEN") => Ok(AuthorizerEvent::RestToken {
                method_arn: raw
                    .method_arn
                    .ok_or(EventError::MissingField("TOKEN", "methodArn"))?,
                authorization: raw
                    .authorization_token
                    .map_or(Credential::Missing, Credential::Present),
            }),
            Some("REQUEST") => {
                let authorization = reconcile(header(raw.headers), raw.multi_value_headers);
                Ok(AuthorizerEvent::RestRequest {
                    method_arn: raw
                        .method_arn
                        .ok_or(EventError::MissingField("REQUEST", "methodArn"))?,
                    authorization,
                    request_id,
                })
            }
            _ => Err(EventError::Unrecognised),
        }
    }

    pub fn credential(&self) -> &Credential<'a> {
        match self {
            AuthorizerEvent::RestRequest { authorization, .. }
            | AuthorizerEvent::RestToken { authorization, .. }
            | AuthorizerEvent::HttpV2 { authorization, .. } => authorization,
        }
    }

    pub fn request_id(&self) -> Option<&str> {
        match self {
            AuthorizerEvent::RestRequest { request_id, .. }
            | AuthorizerEvent::HttpV2 { request_id, .. } => request_id.as_deref(),
            AuthorizerEvent::RestToken { .. } => None,
        }
    }

    /// The shape's name, as logged.
    pub fn kind(&self) -> &'static str {
        match self {
            AuthorizerEvent::RestRequest { .. } => "rest_request",
            AuthorizerEvent::RestToken { .. } => "rest_token",
            AuthorizerEvent::HttpV2 { .. } => "http_v2",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_scan_agrees_with_the_bytewise_rule() {
        for b in 0..=u8::MAX {
            for pos in [0, 1, 63, 64, 65, 200] {
                let mut t = vec![b'a'; 201];
                t[pos] = b;
                let expected = b.is_ascii_whitespace() || b == b',';
                assert_eq!(has_space_or_comma(&t), expected, "byte {b} at {pos}");
            }
        }
        assert!(!has_space_or_comma(b""));
    }
}
