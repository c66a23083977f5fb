//! Domain values that can only hold valid data ("parse, don't validate").
//!
//! Every constructor returns a [`FieldError`] naming the offending field, so
//! the HTTP layer can answer a precise 400 without knowing the rules.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use ulid::Ulid;

/// A rule a client value broke: which field, and why (safe to echo back).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The partition owner: a user-pool `sub`. Only ever built from the
/// authorizer context, or (admin route, after the group check) from the path.
/// Cognito `sub`s are UUIDs; the narrow charset keeps key building trivial.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner(String);

impl Owner {
    pub const MAX_LEN: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let ok = !raw.is_empty()
            && raw.len() <= Self::MAX_LEN
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:@+".contains(&b));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FieldError::new(
                "sub",
                "must be 1-128 characters of [A-Za-z0-9-_.:@+]",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Note title: 1–200 characters after trimming; stored trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct NoteTitle(String);

impl NoteTitle {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let t = raw.trim();
        let n = t.chars().count();
        if n == 0 || n > Self::MAX_CHARS {
            return Err(FieldError::new(
                "title",
                "must be 1-200 characters after trimming",
            ));
        }
        Ok(Self(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Note body: at most 20 000 characters (may be empty).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct NoteBody(String);

impl NoteBody {
    pub const MAX_CHARS: usize = 20_000;

    pub fn parse(raw: String) -> Result<Self, FieldError> {
        // Byte length bounds char count from above: skip counting when short.
        if raw.len() > Self::MAX_CHARS && raw.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new("body", "must be at most 20000 characters"));
        }
        Ok(Self(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One tag: 1–32 characters of `[a-z0-9-]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Tag(String);

impl Tag {
    pub const MAX_CHARS: usize = 32;

    pub fn parse(raw: &str, field: &str) -> Result<Self, FieldError> {
        let ok = !raw.is_empty()
            && raw.len() <= Self::MAX_CHARS
            && raw
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FieldError::new(
                field,
                "each tag must be 1-32 characters of [a-z0-9-]",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// At most 10 tags, in the order given.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct Tags(Vec<Tag>);

impl Tags {
    pub const MAX: usize = 10;

    pub fn parse<'a>(raw: impl ExactSizeIterator<Item = &'a str>) -> Result<Self, FieldError> {
        if raw.len() > Self::MAX {
            return Err(FieldError::new("tags", "at most 10 tags"));
        }
        raw.enumerate()
            .map(|(i, t)| Tag::parse(t, &format!("tags[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(Tag::as_str)
    }
}

/// The validated content of a note, as a client sends it (POST and PUT).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoteContent {
    pub title: NoteTitle,
    pub body: NoteBody,
    pub tags: Tags,
}

/// A note id: a ULID, so ids sort by creation time (newest-first listing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NoteId(Ulid);

impl NoteId {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        // Ulid::from_string accepts exactly 26 Crockford base32 characters.
        Ulid::from_string(raw)
            .map(Self)
            .map_err(|_| FieldError::new("id", "must be a 26-character ULID"))
    }

    pub fn from_ulid(u: Ulid) -> Self {
        Self(u)
    }

    pub fn ulid(self) -> Ulid {
        self.0
    }
}

impl fmt::Display for NoteId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// Page size: 1–100, default 20.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(u8);

impl Limit {
    pub const DEFAULT: Limit = Limit(20);
    pub const MAX: u8 = 100;

    pub fn parse(raw: Option<&str>) -> Result<Self, FieldError> {
        let Some(raw) = raw else {
            return Ok(Self::DEFAULT);
        };
        match raw.parse::<u8>() {
            Ok(n) if (1..=Self::MAX).contains(&n) => Ok(Self(n)),
            _ => Err(FieldError::new("limit", "must be an integer from 1 to 100")),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// Opaque pagination cursor. It carries only the id of the last note of a
/// page; the store rebuilds the full key from the *caller's* partition, so
/// no bytes a client can send select another user's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor(NoteId);

impl Cursor {
    /// Format tag: lets the encoding change later without misreading old cursors.
    const VERSION: u8 = 1;

    pub fn after(id: NoteId) -> Self {
        Self(id)
    }

    pub fn last_id(self) -> NoteId {
        self.0
    }

    pub fn encode(self) -> String {
        let mut raw = [0u8; 17];
        raw[0] = Self::VERSION;
        raw[1..].copy_from_slice(&self.0.ulid().to_bytes());
        URL_SAFE_NO_PAD.encode(raw)
    }

    pub fn decode(raw: &str) -> Result<Self, FieldError> {
        let bad = || FieldError::new("cursor", "is not a cursor this API issued");
        if raw.len() > 32 {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
        let Some((&Self::VERSION, rest)) = bytes.split_first() else {
            return Err(bad());
        };
        let ulid: [u8; 16] = rest.try_into().map_err(|_| bad())?;
        Ok(Self(NoteId(Ulid::from_bytes(ulid))))
    }
}

/// Optimistic-concurrency version; starts at 1, +1 per replace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Version(pub u64);

impl Version {
    pub const FIRST: Version = Version(1);

    pub fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }

    /// Strong entity tag: `"<version>"`.
    pub fn etag(self) -> String {
        format!("\"{}\"", self.0)
    }
}

/// What an `If-Match` header asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: any current version, as long as the note exists.
    Any,
    /// One strong entity tag.
    Version(Version),
}

impl IfMatch {
    /// Parses `*` or one strong tag `"<n>"`. Weak tags (`W/"..."`) can never
    /// match under If-Match (RFC 9110 strong comparison), so they are refused
    /// rather than silently failing; so are lists (this API issues one tag).
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let raw = raw.trim();
        if raw == "*" {
            return Ok(Self::Any);
        }
        raw.strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|d| d.parse::<u64>().ok())
            .map(|v| Self::Version(Version(v)))
            .ok_or_else(|| {
                FieldError::new("If-Match", "must be * or one strong ETag such as \"3\"")
            })
    }
}

/// `Idempotency-Key`: 1–128 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> Result<Self, FieldError> {
        let ok =
            !raw.is_empty() && raw.len() <= 128 && raw.bytes().all(|b| (0x21..=0x7e).contains(&b));
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(FieldError::new(
                "Idempotency-Key",
                "must be 1-128 printable ASCII characters",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_is_trimmed_and_bounded_in_characters_not_bytes() {
        assert_eq!(NoteTitle::parse("  hi  ").unwrap().as_str(), "hi");
        assert!(NoteTitle::parse("   ").is_err());
        assert!(NoteTitle::parse("").is_err());
        assert!(NoteTitle::parse(&"é".repeat(200)).is_ok());
        assert_eq!(
            NoteTitle::parse(&"x".repeat(201)).unwrap_err().field,
            "title"
        );
    }

    #[test]
    fn body_may_be_empty_and_is_bounded_in_characters() {
        assert!(NoteBody::parse(String::new()).is_ok());
        assert!(NoteBody::parse("é".repeat(20_000)).is_ok());
        assert_eq!(
            NoteBody::parse("x".repeat(20_001)).unwrap_err().field,
            "body"
        );
    }

    #[test]
    fn tags_follow_the_charset_length_and_count_rules() {
        assert!(Tags::parse(["a-1", "zz"].into_iter()).is_ok());
        assert_eq!(
            Tags::parse(["ok", "Bad"].into_iter()).unwrap_err().field,
            "tags[1]"
        );
        assert!(Tags::parse([""].into_iter()).is_err());
        assert!(Tags::parse(["a_b"].into_iter()).is_err());
        let long = "a".repeat(33);
        assert!(Tags::parse([long.as_str()].into_iter()).is_err());
        assert!(Tags::parse(std::iter::repeat_n("a", 10)).is_ok());
        assert_eq!(
            Tags::parse(std::iter::repeat_n("a", 11)).unwrap_err().field,
            "tags"
        );
    }

    #[test]
    fn note_ids_must_be_ulids() {
        let id = NoteId::from_ulid(Ulid::new());
        assert_eq!(NoteId::parse(&id.to_string()).unwrap(), id);
        assert!(NoteId::parse("not-a-ulid").is_err());
        assert!(NoteId::parse("").is_err());
        assert!(NoteId::parse("../../USER#other").is_err());
    }

    #[test]
    fn limit_defaults_to_20_and_accepts_1_to_100() {
        assert_eq!(Limit::parse(None).unwrap().get(), 20);
        assert_eq!(Limit::parse(Some("1")).unwrap().get(), 1);
        assert_eq!(Limit::parse(Some("100")).unwrap().get(), 100);
        for bad in ["0", "101", "-1", "abc", "", "1.5", "999999999999"] {
            assert_eq!(Limit::parse(Some(bad)).unwrap_err().field, "limit", "{bad}");
        }
    }

    #[test]
    fn cursor_round_trips_and_rejects_anything_else() {
        let c = Cursor::after(NoteId::from_ulid(Ulid::new()));
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        let enc = c.encode();
        // Every single-character change either fails or still names only a note id.
        for bad in [
            "",
            "AA",
            "not base64!",
            &format!("{enc}A"),
            &enc[1..],
            "VVNFUiNvdGhlcg",
        ] {
            assert_eq!(Cursor::decode(bad).unwrap_err().field, "cursor", "{bad:?}");
        }
        // A wrong version byte is refused.
        let mut raw = URL_SAFE_NO_PAD.decode(&enc).unwrap();
        raw[0] = 2;
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode(raw)).is_err());
    }

    #[test]
    fn etags_are_strong_and_if_match_parses_only_what_we_issue() {
        let v = Version(7);
        assert_eq!(v.etag(), "\"7\"");
        assert_eq!(IfMatch::parse(&v.etag()).unwrap(), IfMatch::Version(v));
        assert_eq!(IfMatch::parse(" * ").unwrap(), IfMatch::Any);
        for bad in ["7", "W/\"7\"", "\"\"", "\"a\"", "\"1\", \"2\"", ""] {
            assert!(IfMatch::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Version::FIRST.next(), Version(2));
    }

    #[test]
    fn idempotency_keys_are_printable_ascii() {
        assert!(IdempotencyKey::parse("3f6c-aa").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(129)).is_err());
    }

    #[test]
    fn owners_are_non_empty_without_whitespace() {
        assert!(Owner::parse("2f1c-11").is_ok());
        assert!(Owner::parse("").is_err());
        assert!(Owner::parse("a b").is_err());
        assert!(Owner::parse("a%20b").is_err());
        assert!(Owner::parse("x\u{0}").is_err());
        assert!(Owner::parse(&"a".repeat(129)).is_err());
    }
}
