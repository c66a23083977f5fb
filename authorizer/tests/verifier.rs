//! The verifier's adversarial table: framing, algorithm and key binding,
//! header parameters, claim types, issuer/client/token_use, and time
//! boundaries with an injected clock. Every case is named and asserts the
//! exact outcome and reason.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use authorizer::claims::TokenUse;
use authorizer::reason::Reason;
use authorizer::testing::{self, TestKey};
use aws_lc_rs::signature::{RSA_PKCS1_SHA384, RSA_PSS_SHA256};
use common::*;
use serde_json::{Value, json};

use Reason::*;

fn k1() -> &'static TestKey {
    &keys().k1
}

fn hdr(v: Value) -> String {
    b64(serde_json::to_vec(&v).unwrap())
}

fn pl(v: &Value) -> String {
    b64(serde_json::to_vec(v).unwrap())
}

fn good() -> String {
    k1().token(&access(NOW))
}

/// Replaces the last character of a base64url segment by one that decodes
/// to the same bytes in a lenient decoder (unused low bits set).
fn noncanonical_last(seg: &str) -> String {
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let unused_bits = match seg.len() % 4 {
        2 => 4,
        3 => 2,
        _ => panic!("segment has no unused bits"),
    };
    let last = *seg.as_bytes().last().unwrap();
    let v = ALPHA.iter().position(|c| *c == last).unwrap();
    let v2 = v | ((1 << unused_bits) - 1);
    assert_ne!(v, v2, "already non-canonical");
    format!("{}{}", &seg[..seg.len() - 1], ALPHA[v2] as char)
}

fn parts(t: &str) -> (String, String, String) {
    let mut it = t.split('.');
    (
        it.next().unwrap().to_owned(),
        it.next().unwrap().to_owned(),
        it.next().unwrap().to_owned(),
    )
}

/// A verifier whose JWKS endpoint counts requests; most tables assert it
/// is never contacted.
async fn setup() -> (JwksServer, authorizer::verifier::Verifier) {
    let k = keys();
    let server = JwksServer::start(Mode::Json(testing::jwks(&[&k.k1, &k.k2, &k.cognito]))).await;
    let v = verifier(&standard_pairs(&server.url()), &clock());
    (server, v)
}

#[tokio::test]
async fn framing_table() {
    let (server, v) = setup().await;
    let t = good();
    let (h, p, s) = parts(&t);
    let k = k1();

    // A valid token of exactly 8192 bytes, and one of 8193.
    let sized = |target: usize| -> String {
        // base64 lengths are never 1 mod 4, so vary the header too; lengths
        // are computed first and only the hit is signed.
        for header in (0..3).map(|i| json!({"alg":"RS256","kid":"K1","typ":"J".repeat(i)})) {
            for filler in 0..8000 {
                let c = with(access(NOW), &[("pad", Some(json!("x".repeat(filler))))]);
                let len = hdr(header.clone()).len() + pl(&c).len() + 2 + 342;
                if len == target {
                    let tok = k.sign(&header, &c);
                    assert_eq!(tok.len(), target);
                    return tok;
                }
                if len > target {
                    break;
                }
            }
        }
        panic!("no filler gives {target} bytes")
    };
    let nested = |depth: usize| {
        let body = format!(
            "{{\"iss\":\"x\",\"n\":{}{}}}",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        k.sign_raw(&h, &b64(body))
    };
    let sig_padded = format!("{h}.{p}.{s}==");
    // 256-byte signature → 342 chars, 4 unused bits in the last one.
    let sig_noncanonical = format!("{h}.{p}.{}", noncanonical_last(&s));
    // Header of 26 bytes → 35 chars, 2 unused bits; signed as sent so only
    // the strict decoder can tell.
    let h26 = hdr(json!({"kid":"K1","alg":"RS256"}));
    assert_eq!(h26.len() % 4, 3);
    let header_noncanonical = k.sign_raw(&noncanonical_last(&h26), &p);
    let header_noncanonical_accepted_form = k.sign_raw(&h26, &p);
    let invalid_utf8_header = {
        let mut raw = br#"{"kid":"K1","alg":"RS256","x":""#.to_vec();
        raw.extend_from_slice(&[0xff, 0xfe]);
        raw.extend_from_slice(br#""}"#);
        k.sign_raw(&b64(raw), &p)
    };
    let invalid_utf8_payload = {
        let mut raw = br#"{"iss":""#.to_vec();
        raw.extend_from_slice(&[0xc3, 0x28]);
        raw.extend_from_slice(br#""}"#);
        k.sign_raw(&h, &b64(raw))
    };
    let mut dup_token_use = serde_json::to_string(&access(NOW)).unwrap();
    dup_token_use.pop();
    dup_token_use.push_str(r#","token_use":"id"}"#);
    let mut dup_nested = serde_json::to_string(&access(NOW)).unwrap();
    dup_nested.pop();
    dup_nested.push_str(r#","x":{"a":1,"a":2}}"#);

    let cases = vec![
        case("empty string", String::new(), Some(Malformed)),
        case("whitespace only", "   ".into(), Some(Malformed)),
        case("json null", "null".into(), Some(Malformed)),
        case("two segments", format!("{h}.{p}"), Some(Malformed)),
        case("four segments", format!("{h}.{p}.{s}.{s}"), Some(Malformed)),
        case("trailing dot", format!("{t}."), Some(Malformed)),
        case("six segments", format!("{t}.a.b.c"), Some(Malformed)),
        case(
            "five segments (JWE / refresh token)",
            "eyJjdHkiOiJKV1QiLCJlbmMiOiJBMjU2R0NNIiwiYWxnIjoiUlNBLU9BRVAifQ.a2V5.aXY.Y2lwaGVy.dGFn"
                .into(),
            Some(RefreshOrEncryptedToken),
        ),
        case("empty header segment", format!(".{p}.{s}"), Some(Malformed)),
        case(
            "empty payload segment",
            format!("{h}..{s}"),
            Some(Malformed),
        ),
        case(
            "empty signature segment",
            format!("{h}.{p}."),
            Some(Malformed),
        ),
        case(
            "alg none with empty signature",
            format!("{}.{p}.", hdr(json!({"alg":"none","kid":"K1"}))),
            Some(Malformed),
        ),
        case(
            "plus in header",
            format!("+{}.{p}.{s}", &h[1..]),
            Some(Malformed),
        ),
        case(
            "slash in signature",
            format!("{h}.{p}./{}", &s[1..]),
            Some(Malformed),
        ),
        case(
            "space in payload",
            format!("{h}.{} {}.{s}", &p[..4], &p[5..]),
            Some(Malformed),
        ),
        case(
            "newline in payload",
            format!("{h}.{}\n{}.{s}", &p[..4], &p[5..]),
            Some(Malformed),
        ),
        case(
            "percent in signature",
            format!("{h}.{p}.%{}", &s[1..]),
            Some(Malformed),
        ),
        case(
            "bearer prefix is not the verifier's business",
            format!("Bearer {t}"),
            Some(Malformed),
        ),
        case("padding on signature", sig_padded, Some(Malformed)),
        case(
            "padding on header",
            k.sign_raw(&format!("{h26}="), &p),
            Some(Malformed),
        ),
        case(
            "non-canonical trailing bits in signature",
            sig_noncanonical,
            Some(Malformed),
        ),
        case(
            "non-canonical trailing bits in header",
            header_noncanonical,
            Some(Malformed),
        ),
        case(
            "canonical 26-byte header accepted",
            header_noncanonical_accepted_form,
            None,
        ),
        case(
            "header is a JSON array",
            k.sign_raw(&b64("[\"RS256\"]"), &p),
            Some(Malformed),
        ),
        case("header is foo", k.sign_raw("Zm9v", &p), Some(Malformed)),
        case(
            "payload is a JSON array",
            k.sign_raw(&h, &b64("[1]")),
            Some(Malformed),
        ),
        case(
            "payload is a JSON string",
            k.sign_raw(&h, &b64("\"sub\"")),
            Some(Malformed),
        ),
        case("payload is foo", k.sign_raw(&h, "Zm9v"), Some(Malformed)),
        case("header not UTF-8", invalid_utf8_header, Some(Malformed)),
        case("payload not UTF-8", invalid_utf8_payload, Some(Malformed)),
        case(
            "duplicate alg in header",
            k.sign_raw(&b64(r#"{"alg":"none","alg":"RS256","kid":"K1"}"#), &p),
            Some(Malformed),
        ),
        case(
            "duplicate kid in header",
            k.sign_raw(&b64(r#"{"alg":"RS256","kid":"K2","kid":"K1"}"#), &p),
            Some(Malformed),
        ),
        case(
            "duplicate token_use in payload",
            k.sign_raw(&h, &b64(&dup_token_use)),
            Some(Malformed),
        ),
        case(
            "duplicate key in nested payload object",
            k.sign_raw(&h, &b64(&dup_nested)),
            Some(Malformed),
        ),
        case(
            "payload nested 2000 deep (under the size cap)",
            nested(2000),
            Some(Malformed),
        ),
        case("payload nested 10000 deep", nested(10_000), Some(TooLarge)),
        case(
            "trailing garbage after payload object",
            k.sign_raw(&h, &b64(format!("{}x", access(NOW)))),
            Some(Malformed),
        ),
        case("exactly 8192 bytes accepted", sized(8192), None),
        case("8193 bytes too large", sized(8193), Some(TooLarge)),
        case(
            "9000 bytes of garbage: too_large before decoding",
            "!".repeat(9000),
            Some(TooLarge),
        ),
    ];
    run_table(&v, cases).await;
    assert_eq!(server.hits(), 0, "framing must not fetch keys");
}

#[tokio::test]
async fn algorithm_table() {
    let (server, v) = setup().await;
    let k = k1();
    let claims = access(NOW);
    let p = pl(&claims);
    // Every disallowed alg uses an UNKNOWN kid: a lookup would fetch.
    let with_alg = |alg: Value| k.sign_raw(&hdr(json!({"alg": alg, "kid": "unknown-kid"})), &p);
    let hmac_token = |secret: &[u8]| {
        let h = hdr(json!({"alg":"HS256","kid":"K1"}));
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
        let tag = aws_lc_rs::hmac::sign(&key, format!("{h}.{p}").as_bytes());
        format!("{h}.{p}.{}", b64(tag.as_ref()))
    };
    // The DER SPKI a confused verifier would use as an HMAC secret.
    let spki_der = {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::signature::KeyPair as _;
        let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(&k.to_pkcs8_der()).unwrap();
        pair.public_key().as_der().unwrap().as_ref().to_vec()
    };
    let h = k.header();
    let hb = hdr(h.clone());
    let pss = k.sign_raw_with(
        &RSA_PSS_SHA256,
        &hdr(json!({"alg":"PS256","kid":"unknown-kid"})),
        &p,
    );
    let pss_as_rs256 = k.sign_raw_with(&RSA_PSS_SHA256, &hb, &p);
    let rs384_as_rs256 = k.sign_raw_with(&RSA_PKCS1_SHA384, &hb, &p);
    let t = k.token(&claims);
    let (th, tp, ts) = parts(&t);
    let sig = { authorizer::token::B64.decode_to_vec(&ts).unwrap() };
    let mut flipped = sig.clone();
    flipped[100] ^= 1;
    // serde_json's object key order depends on its `preserve_order` feature,
    // which workspace-wide feature unification may switch on: re-encode the
    // header in whichever key order the token was *not* signed with.
    let alg_first = b64(r#"{"alg":"RS256","kid":"K1"}"#);
    let kid_first = b64(r#"{"kid":"K1","alg":"RS256"}"#);
    assert!(th == alg_first || th == kid_first, "unexpected header {th}");
    let reordered_header = if th == alg_first {
        kid_first
    } else {
        alg_first
    };
    let reordered = format!("{reordered_header}.{tp}.{ts}");
    let other_sub = pl(&with(claims.clone(), &[("sub", Some(json!("user-2")))]));
    let other_key = TestKey::generate("K1");
    let none_with_valid_sig = {
        let hn = hdr(json!({"alg":"none","kid":"K1"}));
        k.sign_raw(&hn, &p)
    };

    let cases = vec![
        case(
            "alg none with K1's valid signature",
            none_with_valid_sig,
            Some(AlgNotAllowed),
        ),
        case("alg None", with_alg(json!("None")), Some(AlgNotAllowed)),
        case("alg NONE", with_alg(json!("NONE")), Some(AlgNotAllowed)),
        case("alg empty string", with_alg(json!("")), Some(AlgNotAllowed)),
        case("alg null", with_alg(Value::Null), Some(AlgNotAllowed)),
        case("alg number", with_alg(json!(123)), Some(AlgNotAllowed)),
        case("alg array", with_alg(json!(["RS256"])), Some(AlgNotAllowed)),
        case(
            "alg lower-case rs256",
            with_alg(json!("rs256")),
            Some(AlgNotAllowed),
        ),
        case(
            "alg RS256 with trailing space",
            with_alg(json!("RS256 ")),
            Some(AlgNotAllowed),
        ),
        case(
            "alg missing",
            k.sign_raw(&hdr(json!({"kid":"unknown-kid"})), &p),
            Some(AlgNotAllowed),
        ),
        case(
            "HS256 over K1's DER SPKI",
            hmac_token(&spki_der),
            Some(AlgNotAllowed),
        ),
        case(
            "HS256 over K1's raw n",
            hmac_token(&k.modulus()),
            Some(AlgNotAllowed),
        ),
        case("PS256 signed by K1", pss, Some(AlgNotAllowed)),
        case(
            "RS384 header",
            with_alg(json!("RS384")),
            Some(AlgNotAllowed),
        ),
        case(
            "RS512 header",
            with_alg(json!("RS512")),
            Some(AlgNotAllowed),
        ),
        case(
            "ES256 header",
            with_alg(json!("ES256")),
            Some(AlgNotAllowed),
        ),
        case(
            "EdDSA header",
            with_alg(json!("EdDSA")),
            Some(AlgNotAllowed),
        ),
        case(
            "PSS signature under an RS256 header",
            pss_as_rs256,
            Some(BadSignature),
        ),
        case(
            "RS384 signature under an RS256 header",
            rs384_as_rs256,
            Some(BadSignature),
        ),
        case(
            "bit flip in signature",
            format!("{th}.{tp}.{}", b64(&flipped)),
            Some(BadSignature),
        ),
        case(
            "signature one byte short",
            format!("{th}.{tp}.{}", b64(&sig[1..])),
            Some(BadSignature),
        ),
        case(
            "signature one byte long",
            format!("{th}.{tp}.{}", b64([sig.as_slice(), &[0]].concat())),
            Some(BadSignature),
        ),
        case(
            "signature of zeros",
            format!("{th}.{tp}.{}", b64(vec![0u8; 256])),
            Some(BadSignature),
        ),
        case(
            "payload changed after signing",
            format!("{th}.{other_sub}.{ts}"),
            Some(BadSignature),
        ),
        case(
            "header re-encoded with reordered keys",
            reordered,
            Some(BadSignature),
        ),
        case(
            "signed by K2 but kid K1",
            keys().k2.sign(&h, &claims),
            Some(BadSignature),
        ),
        case(
            "signed by a stranger's key named K1",
            other_key.token(&claims),
            Some(BadSignature),
        ),
        case("valid RS256 by K1", t.clone(), None),
        case("valid RS256 by K2", keys().k2.token(&claims), None),
    ];
    run_table(&v, cases).await;
    assert_eq!(
        server.hits(),
        0,
        "a disallowed alg must never reach a key lookup"
    );
}

#[tokio::test]
async fn header_table() {
    let (server, v) = setup().await;
    let k = k1();
    let p = pl(&access(NOW));
    let sign_h = |h: Value| k.sign_raw(&hdr(h), &p);
    let attacker = TestKey::generate("K1");
    let embedded_jwk = attacker.sign(
        &json!({"alg":"RS256","kid":"K1","jwk": attacker.jwk()}),
        &access(NOW),
    );
    let cases = vec![
        case(
            "kid missing",
            sign_h(json!({"alg":"RS256"})),
            Some(KidMissing),
        ),
        case(
            "kid number",
            sign_h(json!({"alg":"RS256","kid":1})),
            Some(KidMissing),
        ),
        case(
            "kid object",
            sign_h(json!({"alg":"RS256","kid":{"k":"K1"}})),
            Some(KidMissing),
        ),
        case(
            "kid null",
            sign_h(json!({"alg":"RS256","kid":null})),
            Some(KidMissing),
        ),
        case(
            "kid array",
            sign_h(json!({"alg":"RS256","kid":["K1"]})),
            Some(KidMissing),
        ),
        case(
            "kid empty",
            sign_h(json!({"alg":"RS256","kid":""})),
            Some(KidMissing),
        ),
        case(
            "kid 257 bytes",
            sign_h(json!({"alg":"RS256","kid":"k".repeat(257)})),
            Some(KidMissing),
        ),
        case(
            "kid 10 KiB",
            sign_h(json!({"alg":"RS256","kid":"k".repeat(10 * 1024)})),
            Some(TooLarge),
        ),
        case(
            "kid 256 bytes, unknown",
            sign_h(json!({"alg":"RS256","kid":"k".repeat(256)})),
            Some(KidUnknown),
        ),
        case(
            "kid path traversal",
            sign_h(json!({"alg":"RS256","kid":"../../dev/null"})),
            Some(KidUnknown),
        ),
        case(
            "kid SQL",
            sign_h(json!({"alg":"RS256","kid":"' OR 1=1--"})),
            Some(KidUnknown),
        ),
        case(
            "kid NUL",
            sign_h(json!({"alg":"RS256","kid":"\u{0}"})),
            Some(KidUnknown),
        ),
        case(
            "kid emoji",
            sign_h(json!({"alg":"RS256","kid":"🔑"})),
            Some(KidUnknown),
        ),
        case(
            "kid K1 with trailing space",
            sign_h(json!({"alg":"RS256","kid":"K1 "})),
            Some(KidUnknown),
        ),
        case(
            "Cognito kid with + / =",
            keys().cognito.token(&access(NOW)),
            None,
        ),
        case(
            "jku header",
            sign_h(json!({"alg":"RS256","kid":"K1","jku":"http://127.0.0.1:1/jwks"})),
            Some(UnsupportedHeader),
        ),
        case(
            "x5u header",
            sign_h(json!({"alg":"RS256","kid":"K1","x5u":"http://127.0.0.1:1/cert"})),
            Some(UnsupportedHeader),
        ),
        case(
            "x5c header",
            sign_h(json!({"alg":"RS256","kid":"K1","x5c":["MIIB"]})),
            Some(UnsupportedHeader),
        ),
        case(
            "embedded jwk with attacker signature",
            embedded_jwk,
            Some(UnsupportedHeader),
        ),
        case(
            "zip DEF",
            sign_h(json!({"alg":"RS256","kid":"K1","zip":"DEF"})),
            Some(UnsupportedHeader),
        ),
        case(
            "enc header",
            sign_h(json!({"alg":"RS256","kid":"K1","enc":"A256GCM"})),
            Some(UnsupportedHeader),
        ),
        case(
            "b64 false without crit",
            sign_h(json!({"alg":"RS256","kid":"K1","b64":false})),
            Some(UnsupportedHeader),
        ),
        case(
            "crit exp",
            sign_h(json!({"alg":"RS256","kid":"K1","crit":["exp"]})),
            Some(CritUnsupported),
        ),
        case(
            "crit empty",
            sign_h(json!({"alg":"RS256","kid":"K1","crit":[]})),
            Some(CritUnsupported),
        ),
        case(
            "crit b64 with b64 false",
            sign_h(json!({"alg":"RS256","kid":"K1","crit":["b64"],"b64":false})),
            Some(CritUnsupported),
        ),
        case(
            "crit naming an absent parameter",
            sign_h(json!({"alg":"RS256","kid":"K1","crit":["nope"]})),
            Some(CritUnsupported),
        ),
        case(
            "crit null",
            sign_h(json!({"alg":"RS256","kid":"K1","crit":null})),
            Some(CritUnsupported),
        ),
        case(
            "typ JWT is harmless",
            sign_h(json!({"alg":"RS256","kid":"K1","typ":"JWT"})),
            None,
        ),
    ];
    run_table(&v, cases).await;
    // Every unknown kid above wanted a refetch; the cooldown allows one.
    assert_eq!(server.hits(), 1, "unknown kids: one refetch per cooldown");
}

/// `jku`/`x5u` pointing at a live listener: it must see no connection.
#[tokio::test]
async fn jku_and_x5u_are_never_fetched() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while listener.accept().await.is_ok() {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let (server, v) = setup().await;
    let k = k1();
    let attacker = TestKey::generate("attacker");
    for (name, header) in [
        (
            "jku",
            json!({"alg":"RS256","kid":"K1","jku": format!("http://{addr}/jwks.json")}),
        ),
        (
            "x5u",
            json!({"alg":"RS256","kid":"K1","x5u": format!("http://{addr}/cert.pem")}),
        ),
        (
            "jku unknown kid",
            json!({"alg":"RS256","kid":"attacker","jku": format!("http://{addr}/jwks.json")}),
        ),
    ] {
        let t = k.sign(&header, &access(NOW));
        assert_eq!(reason(&v, &t).await, Some(UnsupportedHeader), "{name}");
        let t = attacker.sign(&header, &access(NOW));
        assert_eq!(
            reason(&v, &t).await,
            Some(UnsupportedHeader),
            "{name} (attacker key)"
        );
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        0,
        "the token's URL was contacted"
    );
    assert_eq!(server.hits(), 0);
}

#[tokio::test]
async fn claim_types_table() {
    let (_server, v) = setup().await;
    let k = k1();
    let a = |edits: &[(&str, Option<Value>)]| k.token(&with(access(NOW), edits));
    let i = |edits: &[(&str, Option<Value>)]| k.token(&with(id(NOW), edits));
    let raw_exp = |exp: &str| {
        let mut c = with(access(NOW), &[("exp", None)]).to_string();
        c.pop();
        k.sign_raw(&hdr(k.header()), &b64(format!("{c},\"exp\":{exp}}}")))
    };
    let cases = vec![
        case("exp missing", a(&[("exp", None)]), Some(InvalidClaims)),
        case(
            "exp as string",
            a(&[("exp", Some(json!("9999999999")))]),
            Some(InvalidClaims),
        ),
        case(
            "exp null",
            a(&[("exp", Some(Value::Null))]),
            Some(InvalidClaims),
        ),
        case(
            "exp true",
            a(&[("exp", Some(json!(true)))]),
            Some(InvalidClaims),
        ),
        case(
            "exp float",
            a(&[("exp", Some(json!(1_700_003_600.5)))]),
            Some(InvalidClaims),
        ),
        case(
            "exp negative",
            a(&[("exp", Some(json!(-1)))]),
            Some(InvalidClaims),
        ),
        case(
            "exp array",
            a(&[("exp", Some(json!([NOW + 60])))]),
            Some(InvalidClaims),
        ),
        case(
            "exp 2^64",
            raw_exp("18446744073709551616"),
            Some(InvalidClaims),
        ),
        case(
            "exp i64::MAX + 1",
            raw_exp("9223372036854775808"),
            Some(InvalidClaims),
        ),
        case(
            "exp in exponent notation",
            raw_exp("1.7e10"),
            Some(InvalidClaims),
        ),
        case(
            "exp 1e309 is not JSON we accept",
            raw_exp("1e309"),
            Some(Malformed),
        ),
        case("exp NaN is not JSON", raw_exp("NaN"), Some(Malformed)),
        case(
            "exp i64::MAX accepted",
            raw_exp("9223372036854775807"),
            None,
        ),
        case("iat missing", a(&[("iat", None)]), Some(InvalidClaims)),
        case(
            "iat as string",
            a(&[("iat", Some(json!(NOW.to_string())))]),
            Some(InvalidClaims),
        ),
        case(
            "iat float",
            a(&[("iat", Some(json!(1.5)))]),
            Some(InvalidClaims),
        ),
        case(
            "iat null",
            a(&[("iat", Some(Value::Null))]),
            Some(InvalidClaims),
        ),
        case(
            "nbf as string",
            a(&[("nbf", Some(json!("0")))]),
            Some(InvalidClaims),
        ),
        case(
            "nbf null",
            a(&[("nbf", Some(Value::Null))]),
            Some(InvalidClaims),
        ),
        case(
            "nbf negative",
            a(&[("nbf", Some(json!(-5)))]),
            Some(InvalidClaims),
        ),
        case(
            "auth_time as string",
            a(&[("auth_time", Some(json!("1")))]),
            Some(InvalidClaims),
        ),
        case(
            "auth_time float",
            a(&[("auth_time", Some(json!(1.25)))]),
            Some(InvalidClaims),
        ),
        case("sub missing", a(&[("sub", None)]), Some(InvalidClaims)),
        case(
            "sub number",
            a(&[("sub", Some(json!(42)))]),
            Some(InvalidClaims),
        ),
        case(
            "sub null",
            a(&[("sub", Some(Value::Null))]),
            Some(InvalidClaims),
        ),
        case(
            "sub empty",
            a(&[("sub", Some(json!("")))]),
            Some(InvalidClaims),
        ),
        case("iss missing", a(&[("iss", None)]), Some(InvalidClaims)),
        case(
            "iss null",
            a(&[("iss", Some(Value::Null))]),
            Some(InvalidClaims),
        ),
        case(
            "iss array",
            a(&[("iss", Some(json!([testing::issuer(POOL)])))]),
            Some(InvalidClaims),
        ),
        case(
            "token_use missing",
            a(&[("token_use", None)]),
            Some(InvalidClaims),
        ),
        case(
            "token_use refresh",
            a(&[("token_use", Some(json!("refresh")))]),
            Some(InvalidClaims),
        ),
        case(
            "token_use ID upper-case",
            a(&[("token_use", Some(json!("ID")))]),
            Some(InvalidClaims),
        ),
        case(
            "token_use with trailing space",
            a(&[("token_use", Some(json!("access ")))]),
            Some(InvalidClaims),
        ),
        case(
            "token_use array",
            a(&[("token_use", Some(json!(["access"])))]),
            Some(InvalidClaims),
        ),
        case(
            "token_use null",
            a(&[("token_use", Some(Value::Null))]),
            Some(InvalidClaims),
        ),
        case(
            "client_id missing",
            a(&[("client_id", None)]),
            Some(InvalidClaims),
        ),
        case(
            "client_id array",
            a(&[("client_id", Some(json!([CLIENT])))]),
            Some(InvalidClaims),
        ),
        case(
            "client_id number",
            a(&[("client_id", Some(json!(1)))]),
            Some(InvalidClaims),
        ),
        id_case("id aud missing", i(&[("aud", None)]), Some(InvalidClaims)),
        id_case(
            "id aud array of both",
            i(&[("aud", Some(json!([CLIENT, CLIENT_2])))]),
            Some(InvalidClaims),
        ),
        id_case(
            "id aud array of one",
            i(&[("aud", Some(json!([CLIENT])))]),
            Some(InvalidClaims),
        ),
        case(
            "scope array",
            a(&[("scope", Some(json!(["notes/read"])))]),
            Some(InvalidClaims),
        ),
        case(
            "scope number",
            a(&[("scope", Some(json!(1)))]),
            Some(InvalidClaims),
        ),
        case(
            "scope leading space",
            a(&[("scope", Some(json!(" notes/read")))]),
            Some(InvalidClaims),
        ),
        case(
            "scope double space",
            a(&[("scope", Some(json!("a  b")))]),
            Some(InvalidClaims),
        ),
        case(
            "scope trailing space",
            a(&[("scope", Some(json!("a ")))]),
            Some(InvalidClaims),
        ),
        case(
            "scope tab separated",
            a(&[("scope", Some(json!("a\tb")))]),
            Some(InvalidClaims),
        ),
        case(
            "scope empty string",
            a(&[("scope", Some(json!("")))]),
            Some(InvalidClaims),
        ),
        case("scope absent accepted", a(&[("scope", None)]), None),
        case(
            "groups as a string",
            a(&[("cognito:groups", Some(json!("admin")))]),
            Some(InvalidClaims),
        ),
        case(
            "groups with null",
            a(&[("cognito:groups", Some(json!([null])))]),
            Some(InvalidClaims),
        ),
        case(
            "groups with number",
            a(&[("cognito:groups", Some(json!([1])))]),
            Some(InvalidClaims),
        ),
        case(
            "group name with a space",
            a(&[("cognito:groups", Some(json!(["users admin"])))]),
            Some(InvalidClaims),
        ),
        case(
            "group name empty",
            a(&[("cognito:groups", Some(json!([""])))]),
            Some(InvalidClaims),
        ),
        case(
            "groups users+admin accepted",
            a(&[("cognito:groups", Some(json!(["users", "admin"])))]),
            None,
        ),
        case(
            "username number",
            a(&[("username", Some(json!(7)))]),
            Some(InvalidClaims),
        ),
        id_case(
            "cognito:username array",
            i(&[("cognito:username", Some(json!(["u"])))]),
            Some(InvalidClaims),
        ),
        case(
            "origin_jti number",
            a(&[("origin_jti", Some(json!(1)))]),
            Some(InvalidClaims),
        ),
        case(
            "jti object",
            a(&[("jti", Some(json!({})))]),
            Some(InvalidClaims),
        ),
        case(
            "unknown extra claims ignored",
            a(&[("custom:tenant", Some(json!({"x":[1,2]})))]),
            None,
        ),
    ];
    run_table(&v, cases).await;
}

#[tokio::test]
async fn issuer_client_and_token_use_table() {
    let (_server, v) = setup().await;
    let k = k1();
    let a = |edits: &[(&str, Option<Value>)]| k.token(&with(access(NOW), edits));
    let iss = testing::issuer(POOL);
    let cases = vec![
        case(
            "iss another pool",
            a(&[("iss", Some(json!(testing::issuer("us-east-1_Other"))))]),
            Some(WrongIssuer),
        ),
        case(
            "iss trailing slash",
            a(&[("iss", Some(json!(format!("{iss}/"))))]),
            Some(WrongIssuer),
        ),
        case(
            "iss http scheme",
            a(&[("iss", Some(json!(iss.replace("https://", "http://"))))]),
            Some(WrongIssuer),
        ),
        case(
            "iss other region",
            a(&[(
                "iss",
                Some(json!(
                    iss.replace("cognito-idp.us-east-1", "cognito-idp.eu-west-1")
                )),
            )]),
            Some(WrongIssuer),
        ),
        case(
            "iss upper-case",
            a(&[("iss", Some(json!(iss.to_uppercase())))]),
            Some(WrongIssuer),
        ),
        case(
            "iss pool id case changed",
            a(&[("iss", Some(json!(iss.replace("TestPool", "testpool"))))]),
            Some(WrongIssuer),
        ),
        case(
            "iss identity pool issuer",
            a(&[("iss", Some(json!("https://cognito-identity.amazonaws.com")))]),
            Some(WrongIssuer),
        ),
        case(
            "iss homoglyph (Cyrillic a)",
            a(&[(
                "iss",
                Some(json!(iss.replace("amazonaws", "\u{430}mazonaws"))),
            )]),
            Some(WrongIssuer),
        ),
        case(
            "iss with leading space",
            a(&[("iss", Some(json!(format!(" {iss}"))))]),
            Some(WrongIssuer),
        ),
        case(
            "iss empty",
            a(&[("iss", Some(json!("")))]),
            Some(WrongIssuer),
        ),
        case(
            "id token on an access route",
            k.token(&id(NOW)),
            Some(WrongTokenUse),
        ),
        id_case(
            "access token on an id route",
            k.token(&access(NOW)),
            Some(WrongTokenUse),
        ),
        id_case("id token on an id route", k.token(&id(NOW)), None),
        case(
            "client_id C2 not accepted",
            a(&[("client_id", Some(json!(CLIENT_2)))]),
            Some(WrongClient),
        ),
        case(
            "client_id lower-case",
            a(&[("client_id", Some(json!("c1")))]),
            Some(WrongClient),
        ),
        case(
            "client_id with trailing space",
            a(&[("client_id", Some(json!("C1 ")))]),
            Some(WrongClient),
        ),
        case(
            "client_id homoglyph (Cyrillic Es)",
            a(&[("client_id", Some(json!("\u{421}1")))]),
            Some(WrongClient),
        ),
        case(
            "client_id empty",
            a(&[("client_id", Some(json!("")))]),
            Some(WrongClient),
        ),
        case(
            "second configured client accepted",
            a(&[("client_id", Some(json!(CLIENT_9)))]),
            None,
        ),
        id_case(
            "id aud C2 not accepted",
            k.token(&with(id(NOW), &[("aud", Some(json!(CLIENT_2)))])),
            Some(WrongClient),
        ),
        id_case(
            "id aud second client accepted",
            k.token(&with(id(NOW), &[("aud", Some(json!(CLIENT_9)))])),
            None,
        ),
        case(
            "access token with an aud is still judged by client_id",
            a(&[("aud", Some(json!("elsewhere")))]),
            None,
        ),
    ];
    run_table(&v, cases).await;
}

#[tokio::test]
async fn time_boundaries_table() {
    let (_server, v) = setup().await;
    let k = k1();
    let a = |edits: &[(&str, Option<Value>)]| k.token(&with(access(NOW - 600), edits));
    let cases = vec![
        case(
            "exp = now - leeway - 1",
            a(&[("exp", Some(json!(NOW - 31)))]),
            Some(Expired),
        ),
        case(
            "exp = now - leeway",
            a(&[("exp", Some(json!(NOW - 30)))]),
            None,
        ),
        case(
            "exp = now - leeway + 1",
            a(&[("exp", Some(json!(NOW - 29)))]),
            None,
        ),
        case("exp = now", a(&[("exp", Some(json!(NOW)))]), None),
        case("exp = 0", a(&[("exp", Some(json!(0)))]), Some(Expired)),
        case(
            "iat = now + leeway + 1",
            a(&[("iat", Some(json!(NOW + 31)))]),
            Some(IssuedInFuture),
        ),
        case(
            "iat = now + leeway",
            a(&[("iat", Some(json!(NOW + 30)))]),
            None,
        ),
        case("iat = 0", a(&[("iat", Some(json!(0)))]), None),
        case(
            "nbf = now + leeway + 1",
            a(&[("nbf", Some(json!(NOW + 31)))]),
            Some(NotYetValid),
        ),
        case(
            "nbf = now + leeway",
            a(&[("nbf", Some(json!(NOW + 30)))]),
            None,
        ),
        case("nbf absent (Cognito omits it)", a(&[("nbf", None)]), None),
        case(
            "expired beats a future nbf",
            a(&[
                ("exp", Some(json!(NOW - 31))),
                ("nbf", Some(json!(NOW + 31))),
            ]),
            Some(Expired),
        ),
    ];
    run_table(&v, cases).await;

    // Leeway 0: the boundary moves to `now` exactly.
    let clock = clock();
    let mut pairs = standard_pairs("http://127.0.0.1:1/unused");
    pairs.push(("CLOCK_LEEWAY_SECONDS", "0".into()));
    let v0 = verifier(&pairs, &clock);
    let cases = vec![
        case(
            "leeway 0: exp = now - 1",
            a(&[("exp", Some(json!(NOW - 1)))]),
            Some(Expired),
        ),
        case("leeway 0: exp = now", a(&[("exp", Some(json!(NOW)))]), None),
        case(
            "leeway 0: iat = now + 1",
            a(&[("iat", Some(json!(NOW + 1)))]),
            Some(IssuedInFuture),
        ),
        case(
            "leeway 0: nbf = now + 1",
            a(&[("nbf", Some(json!(NOW + 1)))]),
            Some(NotYetValid),
        ),
        case("leeway 0: nbf = now", a(&[("nbf", Some(json!(NOW)))]), None),
    ];
    run_table(&v0, cases).await;

    // The clock moving makes a once-valid token expire, exactly.
    let t = k.token(&access(NOW));
    assert!(v0.verify(&t, TokenUse::Access).await.is_ok());
    clock.set(NOW + 3600);
    assert!(v0.verify(&t, TokenUse::Access).await.is_ok());
    clock.advance(1);
    assert_eq!(reason(&v0, &t).await, Some(Expired));
}

#[tokio::test]
async fn accepted_token_yields_its_claims() {
    let (_server, v) = setup().await;
    let c = with(
        access(NOW),
        &[
            ("scope", Some(json!("notes/read notes/write"))),
            ("cognito:groups", Some(json!(["users", "admin"]))),
            ("username", Some(json!("alice"))),
        ],
    );
    let got = accept(&v, &k1().token(&c), TokenUse::Access).await;
    assert_eq!(got.sub, "user-1");
    assert_eq!(got.username, "alice");
    assert_eq!(got.client_id, CLIENT);
    assert_eq!(got.issuer, testing::issuer(POOL));
    assert_eq!(got.token_use, TokenUse::Access);
    assert_eq!(got.scopes, ["notes/read", "notes/write"]);
    assert_eq!(got.groups, ["users", "admin"]);
    assert_eq!(got.auth_time, NOW);
    assert_eq!(
        got.origin_jti.as_deref(),
        Some(format!("origin-user-1-{NOW}").as_str())
    );
    assert_eq!(got.exp, NOW + 3600);
    assert_eq!(got.iat, NOW);

    let got = accept(&v, &k1().token(&id(NOW)), TokenUse::Id).await;
    assert_eq!(got.client_id, CLIENT);
    assert_eq!(got.username, "user-1");
    assert_eq!(got.token_use, TokenUse::Id);
    assert!(got.scopes.is_empty());
}

/// Keys are bound to the issuer whose endpoint served them.
#[tokio::test]
async fn multi_pool_key_binding_table() {
    let k = keys();
    let server = JwksServer::start(Mode::ByPath(
        [
            (
                format!("/{POOL}/.well-known/jwks.json"),
                testing::jwks(&[&k.k1]),
            ),
            (
                format!("/{POOL_B}/.well-known/jwks.json"),
                testing::jwks(&[&k.kb]),
            ),
        ]
        .into_iter()
        .collect(),
    ))
    .await;
    let v = verifier(
        &[
            ("USER_POOL_ID", format!("{POOL},{POOL_B}")),
            ("APP_CLIENT_IDS", CLIENT.into()),
            ("AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER", server.base()),
        ],
        &clock(),
    );
    let b_claims = testing::access_claims(POOL_B, CLIENT, "user-b", NOW);
    let cases = vec![
        case("pool A token, pool A key", k.k1.token(&access(NOW)), None),
        case("pool B token, pool B key", k.kb.token(&b_claims), None),
        case(
            "pool B key signing iss = pool A",
            k.kb.token(&access(NOW)),
            Some(KidUnknown),
        ),
        case(
            "pool A key signing iss = pool B",
            k.k1.token(&b_claims),
            Some(KidUnknown),
        ),
        case(
            "unconfigured pool with a valid signature",
            k.k1.token(&testing::access_claims(
                "us-west-2_Stranger",
                CLIENT,
                "u",
                NOW,
            )),
            Some(WrongIssuer),
        ),
    ];
    run_table(&v, cases).await;
    let mut paths = server.paths();
    paths.sort();
    assert_eq!(
        paths,
        [
            format!("/{POOL_B}/.well-known/jwks.json"),
            format!("/{POOL}/.well-known/jwks.json"),
        ],
        "one fetch per pool, at the derived location, none for the stranger"
    );
}

#[test]
fn rejection_display_names_reason_and_never_token() {
    let r = authorizer::verifier::Rejection::new(Expired, "exp has passed");
    assert_eq!(r.to_string(), "expired: exp has passed");
}
