//! `ISSUER_FORMAT`: the accepted issuers and the JWKS location follow from
//! the pool id and the setting, never from the token.

mod common;

use authorizer::claims::TokenUse;
use authorizer::reason::Reason;
use common::*;
use serde_json::json;

const ORIGINAL: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool";
const UPDATED: &str = "https://issuer-cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool";

fn pairs(format: Option<&str>) -> Vec<(&'static str, String)> {
    let mut p = vec![
        ("USER_POOL_ID", POOL.to_owned()),
        ("APP_CLIENT_IDS", CLIENT.to_owned()),
        (
            "JWKS_JSON",
            authorizer::testing::jwks(&[&keys().k1]).to_string(),
        ),
    ];
    if let Some(f) = format {
        p.push(("ISSUER_FORMAT", f.to_owned()));
    }
    p
}

#[test]
fn issuers_and_jwks_urls_per_format() {
    let cases: &[(Option<&str>, &[&str], &str)] = &[
        (None, &[ORIGINAL], ORIGINAL),
        (Some("original"), &[ORIGINAL], ORIGINAL),
        (Some("updated"), &[UPDATED], UPDATED),
        // One key set for both issuers, from the location every pool serves.
        (Some("both"), &[ORIGINAL, UPDATED], ORIGINAL),
        (Some(""), &[ORIGINAL], ORIGINAL),
    ];
    for (format, issuers, key_host) in cases {
        let c = config(&pairs(*format));
        let pool = &c.pools[0];
        assert_eq!(pool.issuers, *issuers, "{format:?}");
        assert_eq!(pool.issuer, issuers[0], "{format:?}");
        assert_eq!(
            pool.jwks_url,
            format!("{key_host}/.well-known/jwks.json"),
            "{format:?}"
        );
    }
    // A configured location still wins, for every format.
    for f in ["original", "updated", "both"] {
        let mut p = pairs(Some(f));
        p.push(("JWKS_URL", "http://127.0.0.1:9/jwks.json".into()));
        assert_eq!(config(&p).pools[0].jwks_url, "http://127.0.0.1:9/jwks.json");
        let mut p = pairs(Some(f));
        p.push(("AWS_ENDPOINT_URL", "http://127.0.0.1:5000".into()));
        assert_eq!(
            config(&p).pools[0].jwks_url,
            format!("http://127.0.0.1:5000/{POOL}/.well-known/jwks.json")
        );
    }
    // Several pools: each pool's own region (the primary region in its id).
    let mut p = pairs(Some("updated"));
    p[0].1 = format!("{POOL},{POOL_B}");
    p.pop();
    p.push(("ISSUER_FORMAT", "updated".into()));
    p.retain(|(k, _)| *k != "JWKS_JSON");
    let c = config(&p);
    assert_eq!(
        c.pools[1].issuers,
        ["https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_OtherPool"]
    );
}

#[test]
fn unknown_issuer_format_is_refused_by_name() {
    for bad in ["ORIGINAL", "Updated", "new", "original,updated"] {
        let e = config_result(&[
            ("USER_POOL_ID", POOL),
            ("APP_CLIENT_IDS", CLIENT),
            ("ISSUER_FORMAT", bad),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("ISSUER_FORMAT: must be `original`, `updated` or `both`"),
            "{bad}: {e}"
        );
    }
}

#[tokio::test]
async fn tokens_are_accepted_exactly_for_the_configured_issuers() {
    let clock = clock();
    let token = |iss: &str| {
        keys()
            .k1
            .token(&with(access(NOW), &[("iss", Some(json!(iss)))]))
    };
    let other_region = "https://issuer-cognito-idp.eu-west-1.amazonaws.com/us-east-1_TestPool";
    let table: &[(Option<&str>, &str, Option<Reason>)] = &[
        (None, ORIGINAL, None),
        (None, UPDATED, Some(Reason::WrongIssuer)),
        (Some("updated"), UPDATED, None),
        (Some("updated"), ORIGINAL, Some(Reason::WrongIssuer)),
        (Some("both"), ORIGINAL, None),
        (Some("both"), UPDATED, None),
        // Never derived from the token: another region's updated host is not the pool's.
        (Some("both"), other_region, Some(Reason::WrongIssuer)),
        (Some("updated"), other_region, Some(Reason::WrongIssuer)),
    ];
    for (format, iss, want) in table {
        let v = verifier(&pairs(*format), &clock);
        let got = v.verify(&token(iss), TokenUse::Access).await;
        match want {
            None => assert_eq!(got.unwrap().issuer, *iss, "{format:?} {iss}"),
            Some(r) => assert_eq!(got.unwrap_err().reason, *r, "{format:?} {iss}"),
        }
    }
}
