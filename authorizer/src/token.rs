//! Compact JWS framing, decided before any crypto or I/O: size cap, segment
//! count, strict base64url, UTF-8 JSON objects without duplicate keys, and
//! the header's `alg`/`crit`/`kid` rules.
//!
//! Header and payload are read straight into the few typed fields the
//! verifier acts on ([`Claims`]), strings borrowed from the decoded bytes,
//! instead of into a `serde_json::Value` tree: same strictness (see
//! [`crate::strict_json`]), a fraction of the allocations on the hot path.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::reason::Reason;
use crate::strict_json::{KeyLog, Skip, SkipVisitor, Text, from_utf8_slice};
use crate::verifier::Rejection;

/// Longest token accepted, in bytes; checked before anything is decoded.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// Longest `kid` accepted, in bytes; checked before any lookup.
pub const MAX_KID_BYTES: usize = 256;
/// The only `alg` accepted: Cognito signs with RS256.
pub const ALLOWED_ALG: &str = "RS256";

/// base64url without padding and with canonical trailing bits: one token
/// has exactly one encoding (RFC 7515 §2 + RFC 4648 §3.5). base64-simd's
/// strict decoder checks both (its `forgiving_*` functions would not) and
/// decodes a whole token in about a fifth of the time of the `base64`
/// crate's scalar engine — on the hot path, a tenth of the non-RSA budget.
pub const B64: base64_simd::Base64 = base64_simd::URL_SAFE_NO_PAD;

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
pub struct Framed<'t, 'p> {
    pub header: Header,
    /// `base64url(header) "." base64url(payload)`: what the signature covers.
    pub signing_input: &'t [u8],
    pub unverified_claims: Claims<'p>,
    /// The signature segment, still base64url: checked to be strict
    /// base64url here, decoded by `jsonwebtoken::crypto::verify`.
    pub signature: &'t str,
}

fn reject(reason: Reason, detail: &'static str) -> Rejection {
    Rejection { reason, detail }
}

/// Splits, decodes and checks a compact JWS. No key is looked up here.
///
/// `payload` receives the decoded payload; the claims borrow their strings
/// from it rather than copying each one.
pub fn frame<'t, 'p>(
    token: &'t str,
    payload: &'p mut Vec<u8>,
) -> Result<Framed<'t, 'p>, Rejection> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(reject(Reason::TooLarge, "token exceeds 8 KiB"));
    }
    let bytes = token.as_bytes();
    // Positions of the first two dots, and how many there are (up to 5).
    // memchr's SIMD scan: str's own `match_indices` is several times slower
    // over a kilobyte of token.
    let (mut d1, mut d2, mut count) = (0, 0, 0);
    for i in memchr::memchr_iter(b'.', bytes).take(5) {
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
        .decode_to_vec(h)
        .map_err(|_| reject(Reason::Malformed, "header is not strict base64url"))?;
    let header = from_utf8_slice::<RawHeader>(&header_json)
        .map_err(|_| reject(Reason::Malformed, "header is not a JSON object"))?;
    let header = check_header(header)?;
    payload.clear();
    B64.decode_append(p, payload)
        .map_err(|_| reject(Reason::Malformed, "payload is not strict base64url"))?;
    let unverified_claims = from_utf8_slice::<Claims<'p>>(payload)
        .map_err(|_| reject(Reason::Malformed, "payload is not a JSON object"))?;
    // Validated without decoding: the signature check decodes it once.
    B64.check(s)
        .map_err(|_| reject(Reason::Malformed, "signature is not strict base64url"))?;
    Ok(Framed {
        header,
        signing_input: &bytes[..d2],
        unverified_claims,
        signature: &token[d2 + 1..],
    })
}

/// Order matters: `alg` is decided first, so a disallowed algorithm never
/// reaches a key lookup or a fetch, whatever else the header says.
fn check_header(h: RawHeader<'_>) -> Result<Header, Rejection> {
    match h.alg {
        Some(Lite::Str(a)) if a == ALLOWED_ALG => {}
        _ => return Err(reject(Reason::AlgNotAllowed, "alg is not RS256")),
    }
    if h.crit {
        return Err(reject(
            Reason::CritUnsupported,
            "crit present: no extension is understood",
        ));
    }
    if h.refused {
        return Err(reject(
            Reason::UnsupportedHeader,
            "header carries jku/x5u/x5c/jwk/zip/enc/b64",
        ));
    }
    match h.kid {
        Some(Lite::Str(k)) if !k.is_empty() && k.len() <= MAX_KID_BYTES => Ok(Header {
            kid: k.into_owned(),
        }),
        _ => Err(reject(
            Reason::KidMissing,
            "kid missing, not a string, empty or too long",
        )),
    }
}

/// A JSON value as far as the verifier reads it: strings (borrowed where
/// possible) and numbers kept, arrays kept element by element, everything
/// else only walked (strictly) and remembered as "something else".
#[derive(Debug, Clone, PartialEq)]
pub enum Lite<'a> {
    Str(Cow<'a, str>),
    /// A JSON integer that fits `u64` (serde_json's reading of non-negative integers).
    UInt(u64),
    /// A negative JSON integer that fits `i64`.
    Int(i64),
    /// Any other JSON number (fraction or exponent).
    Float,
    Array(Vec<Lite<'a>>),
    /// `null`, `true`/`false` or an object.
    Other,
}

impl<'de> Deserialize<'de> for Lite<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Lite<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("JSON without duplicate object keys")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Lite<'de>, E> {
                Ok(Lite::Other)
            }
            fn visit_unit<E>(self) -> Result<Lite<'de>, E> {
                Ok(Lite::Other)
            }
            fn visit_u64<E>(self, v: u64) -> Result<Lite<'de>, E> {
                Ok(Lite::UInt(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Lite<'de>, E> {
                Ok(Lite::Int(v))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Lite<'de>, E> {
                Ok(Lite::Float)
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Lite<'de>, E> {
                Ok(Lite::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Lite<'de>, E> {
                Ok(Lite::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Lite<'de>, E> {
                Ok(Lite::Str(Cow::Owned(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Lite<'de>, A::Error> {
                let mut v = Vec::new();
                while let Some(e) = seq.next_element::<Lite<'de>>()? {
                    v.push(e);
                }
                Ok(Lite::Array(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Lite<'de>, A::Error> {
                SkipVisitor.visit_map(map).map(|Skip| Lite::Other)
            }
        }
        d.deserialize_any(V)
    }
}

/// The header as read: the two parameters acted on, and whether any
/// refused one is present. Every key is checked for duplicates.
struct RawHeader<'a> {
    alg: Option<Lite<'a>>,
    kid: Option<Lite<'a>>,
    crit: bool,
    refused: bool,
}

impl<'de> Deserialize<'de> for RawHeader<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawHeader<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JOSE header object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawHeader<'de>, A::Error> {
                let mut h = RawHeader {
                    alg: None,
                    kid: None,
                    crit: false,
                    refused: false,
                };
                let mut keys = KeyLog::default();
                while let Some(Text(k)) = map.next_key::<Text<'de>>()? {
                    match k.as_ref() {
                        "alg" => h.alg = Some(map.next_value()?),
                        "kid" => h.kid = Some(map.next_value()?),
                        name => {
                            h.crit |= name == "crit";
                            h.refused |= REFUSED_HEADER_PARAMS.contains(&name);
                            map.next_value::<Skip>()?;
                        }
                    }
                    keys.insert_or_fail(k)?;
                }
                Ok(h)
            }
        }
        d.deserialize_map(V)
    }
}

/// The payload as read, NOT yet trusted: the claims the verifier acts on
/// (`None` when absent), every other claim walked strictly and dropped.
/// Every key, known or not, is checked for duplicates.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Claims<'a> {
    pub iss: Option<Lite<'a>>,
    pub token_use: Option<Lite<'a>>,
    pub sub: Option<Lite<'a>>,
    pub exp: Option<Lite<'a>>,
    pub iat: Option<Lite<'a>>,
    pub nbf: Option<Lite<'a>>,
    pub auth_time: Option<Lite<'a>>,
    pub jti: Option<Lite<'a>>,
    pub origin_jti: Option<Lite<'a>>,
    pub client_id: Option<Lite<'a>>,
    pub aud: Option<Lite<'a>>,
    pub username: Option<Lite<'a>>,
    pub cognito_username: Option<Lite<'a>>,
    pub scope: Option<Lite<'a>>,
    pub cognito_groups: Option<Lite<'a>>,
}

impl<'a> Claims<'a> {
    /// The slot for a claim the verifier reads, by name.
    fn slot(&mut self, name: &str) -> Option<&mut Option<Lite<'a>>> {
        Some(match name {
            "iss" => &mut self.iss,
            "token_use" => &mut self.token_use,
            "sub" => &mut self.sub,
            "exp" => &mut self.exp,
            "iat" => &mut self.iat,
            "nbf" => &mut self.nbf,
            "auth_time" => &mut self.auth_time,
            "jti" => &mut self.jti,
            "origin_jti" => &mut self.origin_jti,
            "client_id" => &mut self.client_id,
            "aud" => &mut self.aud,
            "username" => &mut self.username,
            "cognito:username" => &mut self.cognito_username,
            "scope" => &mut self.scope,
            "cognito:groups" => &mut self.cognito_groups,
            _ => return None,
        })
    }
}

impl<'de> Deserialize<'de> for Claims<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Claims<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JWT claims object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Claims<'de>, A::Error> {
                let mut c = Claims::default();
                // Known claims are told apart by their slot being filled;
                // only the others need remembering.
                let mut others = KeyLog::default();
                while let Some(Text(k)) = map.next_key::<Text<'de>>()? {
                    match c.slot(&k) {
                        Some(Some(_)) => return Err(de::Error::custom("duplicate object key")),
                        Some(slot) => *slot = Some(map.next_value()?),
                        None => {
                            others.insert_or_fail(k)?;
                            map.next_value::<Skip>()?;
                        }
                    }
                }
                Ok(c)
            }
        }
        d.deserialize_map(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: &str) -> Result<Claims<'_>, serde_json::Error> {
        serde_json::from_str(json)
    }

    #[test]
    fn claims_keep_types_apart() {
        let c = claims(
            r#"{"iss":"i","exp":12,"nbf":-1,"iat":1.5,"sub":null,"cognito:groups":["a",1,{}],"x":{"y":[1]}}"#,
        )
        .unwrap();
        assert_eq!(c.iss, Some(Lite::Str("i".into())));
        assert_eq!(c.exp, Some(Lite::UInt(12)));
        assert_eq!(c.nbf, Some(Lite::Int(-1)));
        assert_eq!(c.iat, Some(Lite::Float));
        assert_eq!(c.sub, Some(Lite::Other));
        assert_eq!(
            c.cognito_groups,
            Some(Lite::Array(vec![
                Lite::Str("a".into()),
                Lite::UInt(1),
                Lite::Other
            ]))
        );
        assert_eq!(c.jti, None);
    }

    #[test]
    fn claims_refuse_duplicates_known_or_not_and_escaped_or_not() {
        for dup in [
            r#"{"exp":1,"exp":1}"#,
            r#"{"exp":1,"\u0065xp":2}"#,
            r#"{"x":1,"x":2}"#,
            r#"{"x":{"a":1,"a":2}}"#,
            r#"{"scope":{"a":1,"a":2}}"#,
            r#"{"cognito:groups":[{"a":1,"a":2}]}"#,
        ] {
            assert!(claims(dup).is_err(), "{dup}");
        }
    }

    #[test]
    fn header_reads_alg_kid_and_flags() {
        let h: RawHeader =
            serde_json::from_str(r#"{"kid":"k","alg":"RS256","crit":null,"x5u":1}"#).unwrap();
        assert_eq!(h.alg, Some(Lite::Str("RS256".into())));
        assert_eq!(h.kid, Some(Lite::Str("k".into())));
        assert!(h.crit && h.refused);
        assert!(serde_json::from_str::<RawHeader>(r#"{"typ":"JWT","typ":"JWT"}"#).is_err());
        assert!(serde_json::from_str::<RawHeader>(r#"["RS256"]"#).is_err());
    }
}
