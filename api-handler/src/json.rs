//! Request bodies read as JSON with every object key unique, at any depth.
//!
//! `serde_json::Value` keeps the last of repeated keys, so
//! `{"title":"a","title":"b"}` would be read as "b" here and as "a" by a
//! first-wins parser in front of us (a WAF, a log pipeline): a parser
//! differential, refused like the authorizer refuses it in tokens. No crate
//! offers a duplicate-refusing `Value` over serde, and this crate does not
//! depend on the authorizer, so this is a small visitor of its own: it
//! builds the same `Value` serde_json would, and fails on the first repeat.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why a body was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Not JSON at all (or not UTF-8, or nested deeper than serde_json's
    /// recursion limit).
    Syntax,
    /// An object repeats this key.
    DuplicateKey(String),
}

/// Marker message carried through serde's error type; the key itself is
/// kept aside (serde_json errors only hold text).
const DUPLICATE: &str = "duplicate object key: ";

/// Parses `bytes` as JSON, refusing repeated keys in any object.
pub fn parse_unique(bytes: &[u8]) -> Result<Value, BodyError> {
    match serde_json::from_slice::<Unique>(bytes) {
        Ok(Unique(v)) => Ok(v),
        Err(e) => {
            let msg = e.to_string();
            match msg.strip_prefix(DUPLICATE) {
                // serde_json appends " at line L column C".
                Some(rest) => Err(BodyError::DuplicateKey(
                    rest.rsplit_once(" at line ")
                        .map_or(rest, |(k, _)| k)
                        .to_owned(),
                )),
                None => Err(BodyError::Syntax),
            }
        }
    }
}

struct Unique(Value);

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor).map(Unique)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
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
        // serde_json never yields a non-finite float from JSON text.
        Ok(Value::from(v))
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
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Unique(v)) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!("{DUPLICATE}{key}")));
            }
            let Unique(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_keys_are_refused_at_any_depth_and_named() {
        assert_eq!(
            parse_unique(br#"{"title":"a","title":"b"}"#),
            Err(BodyError::DuplicateKey("title".into()))
        );
        assert_eq!(
            parse_unique(br#"{"tags":[{"x":1,"x":2}]}"#),
            Err(BodyError::DuplicateKey("x".into()))
        );
        // Escapes are decoded before comparing: "t\u0069tle" is "title".
        assert_eq!(
            parse_unique(br#"{"title":"a","t\u0069tle":"b"}"#),
            Err(BodyError::DuplicateKey("title".into()))
        );
        // A key containing the marker's tail is still reported whole.
        assert_eq!(
            parse_unique(br#"{"k at line 1":1,"k at line 1":2}"#),
            Err(BodyError::DuplicateKey("k at line 1".into()))
        );
    }

    #[test]
    fn unique_json_reads_exactly_as_serde_json_reads_it() {
        for text in [
            r#"{"title":"a","body":"","tags":["x","y"]}"#,
            r#"{"a":{"b":[1,-2,3.5,true,null,"\u00e9"]},"c":{}}"#,
            "[]",
            "12",
            r#""s""#,
        ] {
            let ours = parse_unique(text.as_bytes()).unwrap();
            let theirs: Value = serde_json::from_str(text).unwrap();
            assert_eq!(ours, theirs, "{text}");
        }
        for bad in ["", "{", r#"{"a":1,}"#, "nul", "\u{feff}{}"] {
            assert_eq!(
                parse_unique(bad.as_bytes()),
                Err(BodyError::Syntax),
                "{bad:?}"
            );
        }
        assert_eq!(parse_unique(b"\"\xff\""), Err(BodyError::Syntax));
        let deep = "[".repeat(10_000);
        assert_eq!(parse_unique(deep.as_bytes()), Err(BodyError::Syntax));
    }
}
