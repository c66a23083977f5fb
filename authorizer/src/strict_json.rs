//! JSON read strictly: UTF-8 only, no duplicate object keys at any depth,
//! no number serde_json cannot represent, nesting bounded by serde_json's
//! recursion limit (128) — an error, never a stack overflow.
//!
//! serde_json's own `Value`/`Map` silently keep the LAST of duplicate keys
//! (`{"alg":"none","alg":"RS256"}` reads as RS256 there and as `none` in a
//! parser keeping the first): a parser differential we refuse. Hand-written
//! visitors because no crate offers duplicate-refusing JSON over serde.
//!
//! Two ways in:
//! - [`parse_json_object`] builds a whole `serde_json` tree (JWKS documents,
//!   `JWKS_JSON`: cold paths, where a tree is convenient);
//! - [`Text`], [`KeyLog`] and [`Skip`] are the pieces of the token's hot
//!   path: typed visitors keep the few values they read, borrowed from the
//!   decoded segment, and walk everything else without building it.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why a JSON text was refused (no detail: it is never shown to callers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotAStrictObject;

/// Parses UTF-8 JSON that must be an object, refusing duplicate keys at
/// every depth.
pub fn parse_json_object(bytes: &[u8]) -> Result<Map<String, Value>, NotAStrictObject> {
    match serde_json::from_slice::<StrictValue>(bytes) {
        Ok(StrictValue(Value::Object(m))) => Ok(m),
        _ => Err(NotAStrictObject),
    }
}

/// `serde_json::from_slice`, with the UTF-8 check done once for the whole
/// text: `from_slice` re-validates each borrowed string on its own, while
/// `from_str` trusts text already checked. Refuses exactly the same inputs.
pub fn from_utf8_slice<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> serde_json::Result<T> {
    let text = std::str::from_utf8(bytes).map_err(|_| de::Error::custom("not UTF-8"))?;
    serde_json::from_str(text)
}

/// A string, borrowed from the input unless it held escape sequences.
///
/// serde's own `Cow<str>` impl always allocates (it only borrows in derived
/// structs with `#[serde(borrow)]`); this one borrows whenever it can.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Text<'a>(pub Cow<'a, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The keys seen so far in one object, to refuse a duplicate.
///
/// Linear for the handful of keys real objects have; a hash set past that,
/// so an 8 KiB token of a thousand one-letter keys costs no quadratic time
/// before its signature is even checked.
#[derive(Debug, Default)]
pub struct KeyLog<'a> {
    few: Vec<Cow<'a, str>>,
    many: Option<HashSet<Cow<'a, str>>>,
}

impl<'a> KeyLog<'a> {
    const LINEAR_UP_TO: usize = 16;

    /// Records `key`; `false` if it was already there.
    pub fn insert(&mut self, key: Cow<'a, str>) -> bool {
        if let Some(many) = &mut self.many {
            return many.insert(key);
        }
        if self.few.contains(&key) {
            return false;
        }
        if self.few.len() < Self::LINEAR_UP_TO {
            self.few.push(key);
        } else {
            let mut many: HashSet<_> = self.few.drain(..).collect();
            many.insert(key);
            self.many = Some(many);
        }
        true
    }

    /// Records `key`, failing the parse on a duplicate.
    pub fn insert_or_fail<E: de::Error>(&mut self, key: Cow<'a, str>) -> Result<(), E> {
        if self.insert(key) {
            Ok(())
        } else {
            Err(E::custom("duplicate object key"))
        }
    }
}

/// Any JSON value, walked with every strict rule and then dropped.
///
/// `deserialize_any`, not `deserialize_ignored_any`: serde_json's ignore
/// path does not validate UTF-8 in strings nor reject numbers out of range
/// (`1e309`), and what is refused must not depend on whether it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Skip;

impl<'de> Deserialize<'de> for Skip {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(SkipVisitor)
    }
}

/// The visitor behind [`Skip`]; typed visitors delegate their "wrong type"
/// arms to it so a wrong-typed value is still walked strictly.
pub struct SkipVisitor;

impl<'de> Visitor<'de> for SkipVisitor {
    type Value = Skip;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("JSON without duplicate object keys")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_str<E>(self, _: &str) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_unit<E>(self) -> Result<Skip, E> {
        Ok(Skip)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
        while seq.next_element::<Skip>()?.is_some() {}
        Ok(Skip)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
        let mut keys = KeyLog::default();
        while let Some(Text(k)) = map.next_key::<Text<'de>>()? {
            keys.insert_or_fail(k)?;
            map.next_value::<Skip>()?;
        }
        Ok(Skip)
    }
}

/// A `serde_json::Value` built with the strict rules.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
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
            // One walk for both the duplicate check and the insert.
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
        assert!(serde_json::from_str::<Skip>(&deep).is_err());
    }

    #[test]
    fn only_objects() {
        for t in ["[]", "\"s\"", "1", "null", "foo", "{} {}", ""] {
            assert!(parse_json_object(t.as_bytes()).is_err(), "{t}");
        }
    }

    #[test]
    fn skip_refuses_what_the_tree_refuses() {
        for bad in [
            r#"{"a":1,"a":2}"#,
            r#"{"a":{"b":1,"\u0062":2}}"#,
            r#"[{"b":[{"c":1,"c":1}]}]"#,
            r#"{"n":1e309}"#,
            r#"{"s":"\ud800"}"#,
            r#"{"a":1} x"#,
        ] {
            assert!(serde_json::from_str::<Skip>(bad).is_err(), "{bad}");
            assert!(parse_json_object(bad.as_bytes()).is_err(), "{bad}");
        }
        let not_utf8 = b"{\"s\":\"\xff\"}";
        assert!(serde_json::from_slice::<Skip>(not_utf8).is_err());
        assert!(serde_json::from_str::<Skip>(r#"{"a":[1,2.5,null,true,{"b":"c"}]}"#).is_ok());
    }

    #[test]
    fn key_log_switches_to_hashing_without_losing_keys() {
        let mut log = KeyLog::default();
        let keys: Vec<String> = (0..100).map(|i| format!("k{i}")).collect();
        for k in &keys {
            assert!(log.insert(Cow::Borrowed(k)), "{k}");
        }
        for k in &keys {
            assert!(!log.insert(Cow::Borrowed(k)), "{k} is a duplicate");
        }
    }

    #[test]
    fn from_utf8_slice_refuses_what_from_slice_refuses() {
        for bytes in [
            &b"{\"s\":\"\xff\"}"[..],
            b"{\"s\":\"ok\"} \xc3",
            b"{\"a\":1,}",
            b"",
        ] {
            assert!(from_utf8_slice::<Skip>(bytes).is_err(), "{bytes:?}");
            assert!(serde_json::from_slice::<Skip>(bytes).is_err(), "{bytes:?}");
        }
        let t: Text = from_utf8_slice(br#""plain""#).unwrap();
        assert!(matches!(t.0, Cow::Borrowed("plain")));
    }

    #[test]
    fn text_borrows_unless_escaped() {
        let t: Text = serde_json::from_str(r#""plain""#).unwrap();
        assert!(matches!(t.0, Cow::Borrowed("plain")));
        let t: Text = serde_json::from_str(r#""a\u0062""#).unwrap();
        assert_eq!(t.0, "ab");
    }
}
