//! Compact JWS framing, decided before any crypto or I/O: size cap, segment
//! count, strict base64url, UTF-8 JSON objects without duplicate keys, and
//! the header's `alg`/`crit`/`kid` rules.

use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::reason::Reason;
use crate::verifier::Rejection;

/// Longest token accepted, in bytes; checked before anything is decoded.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Longest `kid` accepted, in bytes; checked before any lookup.
pub const MAX_KID_BYTES: usize = 256;
/// The only `alg` accepted: Cognito signs with RS256.
pub const ALLOWED_ALG: &str = "RS256";

/// base64url without padding and with canonical trailing bits: one token
/// has exactly one encoding (RFC 7515 §2 + RFC 4648 §3.5).
pub const B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// Header parameters that are never honoured. Trusting `jku`/`x5u`/`x5c`/`jwk`
/// would let the token pick its own key; `zip`/`enc`/`b64` change what the
/// bytes mean. Cognito sends none of them, so their presence is refused.
const REFUSED_HEADER_PARAMS: &[&str] = &["jku", "x5u", "x5c", "jwk", "zip", "enc", "b64"];

/// The parts of a header the verifier acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub kid: String,
}

/// A token that passed framing: its header checked, its payload parsed but
/// NOT trusted (the signature has not been verified yet).
#[derive(Debug)]
pub struct Framed<'a> {
    pub header: Header,
    /// `base64url(header) "." base64url(payload)`: what the signature covers.
    pub signing_input: &'a [u8],
    pub unverified_claims: Map<String, Value>,
    pub signature: Vec<u8>,
}

fn reject(reason: Reason, detail: &'static str) -> Rejection {
    Rejection { reason, detail }
}

/// Splits, decodes and checks a compact JWS. No key is looked up here.
pub fn frame(token: &str) -> Result<Framed<'_>, Rejection> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(reject(Reason::TooLarge, "token exceeds 8 KiB"));
    }
    let bytes = token.as_bytes();
    // Positions of the first two dots, and how many there are (up to 5).
    // `match_indices` with a char uses memchr: the scan is most of framing.
    let (mut d1, mut d2, mut count) = (0, 0, 0);
    for (i, _) in token.match_indices('.').take(5) {
        match count {
            0 => d1 = i,
            1 => d2 = i,
            _ => {}
        }
        count += 1;
    }
    match count {
        2 => {}
        4 => {
            return Err(reject(
                Reason::RefreshOrEncryptedToken,
                "five segments: a JWE such as a refresh token",
            ));
        }
        _ => return Err(reject(Reason::Malformed, "not three segments")),
    }
    let (h, p, s) = (&bytes[..d1], &bytes[d1 + 1..d2], &bytes[d2 + 1..]);
    if h.is_empty() || p.is_empty() || s.is_empty() {
        return Err(reject(Reason::Malformed, "empty segment"));
    }
    let header_json = B64
        .decode(h)
        .map_err(|_| reject(Reason::Malformed, "header is not strict base64url"))?;
    let header_map = parse_json_object(&header_json)
        .map_err(|_| reject(Reason::Malformed, "header is not a JSON object"))?;
    let header = check_header(&header_map)?;
    let payload_json = B64
        .decode(p)
        .map_err(|_| reject(Reason::Malformed, "payload is not strict base64url"))?;
    let unverified_claims = parse_json_object(&payload_json)
        .map_err(|_| reject(Reason::Malformed, "payload is not a JSON object"))?;
    let signature = B64
        .decode(s)
        .map_err(|_| reject(Reason::Malformed, "signature is not strict base64url"))?;
    Ok(Framed {
        header,
        signing_input: &bytes[..d2],
        unverified_claims,
        signature,
    })
}

/// Order matters: `alg` is decided first, so a disallowed algorithm never
/// reaches a key lookup or a fetch, whatever else the header says.
fn check_header(h: &Map<String, Value>) -> Result<Header, Rejection> {
    match h.get("alg") {
        Some(Value::String(a)) if a == ALLOWED_ALG => {}
        _ => return Err(reject(Reason::AlgNotAllowed, "alg is not RS256")),
    }
    if h.contains_key("crit") {
        return Err(reject(
            Reason::CritUnsupported,
            "crit present: no extension is understood",
        ));
    }
    if REFUSED_HEADER_PARAMS.iter().any(|k| h.contains_key(*k)) {
        return Err(reject(
            Reason::UnsupportedHeader,
            "header carries jku/x5u/x5c/jwk/zip/enc/b64",
        ));
    }
    let kid = match h.get("kid") {
        Some(Value::String(k)) if !k.is_empty() && k.len() <= MAX_KID_BYTES => k.clone(),
        _ => {
            return Err(reject(
                Reason::KidMissing,
                "kid missing, not a string, empty or too long",
            ));
        }
    };
    Ok(Header { kid })
}

/// Why a JSON text was refused (no detail: it is never shown to callers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAStrictObject;

/// Parses UTF-8 JSON that must be an object, refusing duplicate keys at
/// every depth. Nesting deeper than serde_json's recursion limit (128) is an
/// error, not a stack overflow.
pub fn parse_json_object(bytes: &[u8]) -> Result<Map<String, Value>, NotAStrictObject> {
    match serde_json::from_slice::<StrictValue>(bytes) {
        Ok(StrictValue(Value::Object(m))) => Ok(m),
        _ => Err(NotAStrictObject),
    }
}

/// A `serde_json::Value` built by a hand-written visitor, because
/// serde_json's own `Value`/`Map` silently keep the LAST of duplicate keys
/// (`{"alg":"none","alg":"RS256"}` would read as RS256 here and as `none`
/// in a parser keeping the first) — a parser differential we refuse.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("JSON without duplicate object keys")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut v = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(StrictValue(e)) = seq.next_element()? {
            v.push(e);
        }
        Ok(Value::Array(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut m = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let StrictValue(v) = map.next_value_seed(StrictSeed)?;
            // One tree walk for both the duplicate check and the insert.
            match m.entry(k) {
                serde_json::map::Entry::Vacant(slot) => {
                    slot.insert(v);
                }
                serde_json::map::Entry::Occupied(_) => {
                    return Err(de::Error::custom("duplicate object key"));
                }
            }
        }
        Ok(Value::Object(m))
    }
}

struct StrictSeed;

impl<'de> DeserializeSeed<'de> for StrictSeed {
    type Value = StrictValue;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<StrictValue, D::Error> {
        StrictValue::deserialize(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_rejected_at_any_depth() {
        assert!(parse_json_object(br#"{"a":1,"a":1}"#).is_err());
        assert!(parse_json_object(br#"{"a":{"b":1,"b":2}}"#).is_err());
        assert!(parse_json_object(br#"{"a":[{"b":1,"b":2}]}"#).is_err());
        assert!(parse_json_object(br#"{"a":1,"b":{"a":1}}"#).is_ok());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_json_object(deep.as_bytes()).is_err());
    }

    #[test]
    fn only_objects() {
        for t in ["[]", "\"s\"", "1", "null", "foo", "{} {}", ""] {
            assert!(parse_json_object(t.as_bytes()).is_err(), "{t}");
        }
    }
}
