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
        // Canonical decimal only: Rust's integer parsing also takes a sign
        // (`+5`), and leading zeros (`05`) are another spelling of the same
        // number; one value, one spelling, so caches and logs agree.
        let canonical = !raw.is_empty()
            && raw.bytes().all(|b| b.is_ascii_digit())
            && !(raw.len() > 1 && raw.starts_with('0'));
        match raw.parse::<u8>() {
            Ok(n) if canonical && (1..=Self::MAX).contains(&n) => Ok(Self(n)),
            _ => Err(FieldError::new(
                "limit",
                "must be an integer from 1 to 100 in canonical form (digits only, no sign or leading zero)",
            )),
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

/// One element of an entity-tag list (RFC 9110 §8.8.3), borrowed from the
/// header: `W/` or not, and the opaque tag between the quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntityTag<'a> {
    pub weak: bool,
    pub opaque: &'a [u8],
}

impl EntityTag<'_> {
    /// The version this tag names if the API could have issued it: our tags
    /// are the canonical decimal of the version, so `"07"` or `"a"` names
    /// none (opaque tags compare byte for byte, RFC 9110 §8.8.3.2).
    fn version(&self) -> Option<Version> {
        let canonical = !self.opaque.is_empty()
            && self.opaque.iter().all(u8::is_ascii_digit)
            && !(self.opaque.len() > 1 && self.opaque[0] == b'0');
        if !canonical {
            return None;
        }
        std::str::from_utf8(self.opaque)
            .ok()?
            .parse::<u64>()
            .ok()
            .map(Version)
    }
}

/// A parsed `If-Match` / `If-None-Match` value: `*`, or a list of entity tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagList<'a> {
    Any,
    Tags(Vec<EntityTag<'a>>),
}

/// Parses `"*" / #entity-tag` (RFC 9110 §13.1.1, §13.1.2): list elements
/// separated by optional whitespace and commas, empty elements ignored
/// (§5.6.1.2); `entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE` with
/// `etagc = %x21 / %x23-7E / %x80-FF` (§8.8.3). `None` = malformed syntax.
///
/// Hand-written: the `http` crate has no entity-tag type, and the grammar
/// is a dozen lines.
pub fn parse_tag_list(raw: &[u8]) -> Option<TagList<'_>> {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = raw.iter().position(|b| !is_ows(b)).unwrap_or(raw.len());
    let end = raw
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    let raw = &raw[start..end];
    if raw == b"*" {
        return Some(TagList::Any);
    }
    let mut tags = Vec::new();
    let mut i = 0;
    loop {
        // Separators and empty elements.
        while i < raw.len() && (is_ows(&raw[i]) || raw[i] == b',') {
            i += 1;
        }
        if i == raw.len() {
            return Some(TagList::Tags(tags));
        }
        let weak = raw[i..].starts_with(b"W/");
        if weak {
            i += 2;
        }
        if raw.get(i) != Some(&b'"') {
            return None;
        }
        i += 1;
        let len = raw[i..]
            .iter()
            .position(|&b| !(b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80))?;
        if raw[i + len] != b'"' {
            return None;
        }
        tags.push(EntityTag {
            weak,
            opaque: &raw[i..i + len],
        });
        i += len + 1;
        while i < raw.len() && is_ows(&raw[i]) {
            i += 1;
        }
        if i < raw.len() && raw[i] != b',' {
            return None;
        }
    }
}

/// DynamoDB's `IN` takes at most 100 operands; a longer list of tags this
/// API could have issued is refused rather than half-evaluated.
pub const MAX_CONDITION_TAGS: usize = 100;

fn versions<'a>(
    tags: impl Iterator<Item = &'a EntityTag<'a>>,
    field: &str,
) -> Result<Vec<Version>, FieldError> {
    let mut out: Vec<Version> = Vec::new();
    for v in tags.filter_map(EntityTag::version) {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    if out.len() > MAX_CONDITION_TAGS {
        return Err(FieldError::new(
            field,
            "lists more than 100 distinct entity tags",
        ));
    }
    Ok(out)
}

/// What an `If-Match` header asks for (RFC 9110 §13.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: any current version, as long as the note exists.
    Any,
    /// The versions that a tag of the list names under the strong
    /// comparison. Weak tags and tags this API never issues can match no
    /// version, so they are dropped here; an empty list matches nothing
    /// (412), it is not malformed.
    OneOf(Vec<Version>),
}

impl IfMatch {
    pub fn parse(raw: &[u8]) -> Result<Self, FieldError> {
        match parse_tag_list(raw) {
            Some(TagList::Any) => Ok(Self::Any),
            Some(TagList::Tags(tags)) => Ok(Self::OneOf(versions(
                tags.iter().filter(|t| !t.weak),
                "If-Match",
            )?)),
            None => Err(FieldError::new(
                "If-Match",
                "must be * or a list of entity tags such as \"3\"",
            )),
        }
    }

    /// The condition holds for a note currently at `current`.
    pub fn matches(&self, current: Version) -> bool {
        match self {
            Self::Any => true,
            Self::OneOf(vs) => vs.contains(&current),
        }
    }
}

/// What an `If-None-Match` header on GET asks for (RFC 9110 §13.1.2): the
/// weak comparison, so `W/"3"` and `"3"` both name version 3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfNoneMatch(IfMatch);

impl IfNoneMatch {
    pub fn parse(raw: &[u8]) -> Result<Self, FieldError> {
        match parse_tag_list(raw) {
            Some(TagList::Any) => Ok(Self(IfMatch::Any)),
            Some(TagList::Tags(tags)) => Ok(Self(IfMatch::OneOf(versions(
                tags.iter(),
                "If-None-Match",
            )?))),
            None => Err(FieldError::new(
                "If-None-Match",
                "must be * or a list of entity tags such as \"3\"",
            )),
        }
    }

    /// A tag of the list names `current`: the client's copy is fresh (304).
    pub fn matches(&self, current: Version) -> bool {
        self.0.matches(current)
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
        for bad in [
            "0",
            "101",
            "-1",
            "abc",
            "",
            "1.5",
            "999999999999",
            "+5",
            "05",
            " 5",
            "5 ",
            "00",
            "0x5",
            "\u{663}",
        ] {
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
    fn etags_are_strong_and_if_match_evaluates_lists_under_strong_comparison() {
        let v = Version(7);
        assert_eq!(v.etag(), "\"7\"");
        let m = |raw: &str| IfMatch::parse(raw.as_bytes()).unwrap();
        assert_eq!(m(&v.etag()), IfMatch::OneOf(vec![v]));
        assert_eq!(m(" * "), IfMatch::Any);
        assert!(m("*").matches(Version(123)));
        // A list matches if any member does; weak tags never do.
        assert!(m("\"1\", \"7\"").matches(v));
        assert!(m("\"1\",\"7\"").matches(v));
        assert!(!m("W/\"7\"").matches(v));
        assert!(!m("W/\"7\", \"8\"").matches(v));
        // Well-formed but never issued: no match (412), not malformed.
        for never in [
            "\"bogus-version\"",
            "\"07\"",
            "\"\"",
            "\"a\"",
            "\"99999999999999999999999\"",
            "",
            " , ,",
        ] {
            assert!(!m(never).matches(v), "{never:?}");
        }
        assert!(
            IfMatch::parse(b"\"\x80\xff\"").is_ok(),
            "obs-text is allowed"
        );
        // Malformed syntax only.
        for bad in [
            "7",
            "\"7",
            "7\"",
            "w/\"7\"",
            "W/7",
            "\"7\" \"8\"",
            "\"7\"x",
            "*, \"7\"",
            "**",
            "\"a b\"",
            "\"a\\\"b\"",
            "\"\x7f\"",
        ] {
            assert_eq!(
                IfMatch::parse(bad.as_bytes()).unwrap_err().field,
                "If-Match",
                "{bad:?}"
            );
        }
        let many: Vec<String> = (1..=101).map(|n| format!("\"{n}\"")).collect();
        assert!(IfMatch::parse(many.join(",").as_bytes()).is_err());
        assert!(IfMatch::parse(many[..100].join(",").as_bytes()).is_ok());
        assert_eq!(Version::FIRST.next(), Version(2));
    }

    #[test]
    fn if_none_match_uses_the_weak_comparison() {
        let n = |raw: &str| IfNoneMatch::parse(raw.as_bytes()).unwrap();
        assert!(n("\"3\"").matches(Version(3)));
        assert!(n("W/\"3\"").matches(Version(3)));
        assert!(n("\"1\", W/\"3\"").matches(Version(3)));
        assert!(n("*").matches(Version(3)));
        assert!(!n("\"4\"").matches(Version(3)));
        assert!(!n("\"03\"").matches(Version(3)));
        assert_eq!(IfNoneMatch::parse(b"3").unwrap_err().field, "If-None-Match");
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
