//! Properties of the request parsers that guard writes, each against a
//! brute-force reference written here: `If-Match` / `If-None-Match`
//! evaluation (RFC 9110 §13.1.1–2) and duplicate-key refusal in bodies.

use api_handler::json::{BodyError, parse_unique};
use api_handler::model::{IfMatch, IfNoneMatch, Version};
use proptest::prelude::*;

/// One entity tag: weak or not, and an opaque tag that is often a version
/// spelling (`7`, `07`) and sometimes any other `etagc` text.
fn tag() -> impl Strategy<Value = (bool, String)> {
    let opaque = prop_oneof![
        (0u64..12).prop_map(|n| n.to_string()),
        (0u64..12).prop_map(|n| format!("0{n}")),
        "[!#-~]{0,6}",
    ];
    (any::<bool>(), opaque)
}

fn ows() -> impl Strategy<Value = String> {
    "[ \t]{0,2}"
}

/// Renders tags as a header value with random whitespace and empty elements.
fn render(tags: &[(bool, String)], seps: &[(String, bool, String)]) -> String {
    let mut out = String::new();
    for (i, (weak, opaque)) in tags.iter().enumerate() {
        let (before, extra_comma, after) = &seps[i];
        if i > 0 {
            out.push_str(before);
            out.push(',');
            if *extra_comma {
                out.push_str(" ,");
            }
            out.push_str(after);
        }
        if *weak {
            out.push_str("W/");
        }
        out.push('"');
        out.push_str(opaque);
        out.push('"');
    }
    out
}

proptest! {
    #[test]
    fn if_match_holds_exactly_when_a_strong_listed_tag_is_the_etag(
        tags in prop::collection::vec(tag(), 0..6),
        seps in prop::collection::vec((ows(), any::<bool>(), ows()), 6),
        lead in ows(),
        trail in ows(),
        current in 1u64..12,
    ) {
        let header = format!("{lead}{}{trail}", render(&tags, &seps));
        let etag = current.to_string();
        // Strong comparison: both strong, opaque tags byte for byte equal.
        let strong = tags.iter().any(|(weak, o)| !weak && *o == etag);
        // Weak comparison: the opaque tags equal, W/ or not.
        let weak = tags.iter().any(|(_, o)| *o == etag);
        let m = IfMatch::parse(header.as_bytes()).unwrap();
        prop_assert_eq!(m.matches(Version(current)), strong, "{:?}", header);
        let n = IfNoneMatch::parse(header.as_bytes()).unwrap();
        prop_assert_eq!(n.matches(Version(current)), weak, "{:?}", header);
    }

    #[test]
    fn an_element_that_is_not_an_entity_tag_makes_the_header_malformed(
        tags in prop::collection::vec(tag(), 0..4),
        seps in prop::collection::vec((ows(), any::<bool>(), ows()), 5),
        junk in "[A-Za-z0-9*]{1,4}",
        at in 0usize..5,
    ) {
        let mut items: Vec<String> = tags
            .iter()
            .map(|(w, o)| format!("{}\"{o}\"", if *w { "W/" } else { "" }))
            .collect();
        let at = at.min(items.len());
        items.insert(at, junk.clone());
        let header = items
            .iter()
            .enumerate()
            .map(|(i, t)| if i == 0 { t.clone() } else { format!("{},{}{t}", seps[i].0, seps[i].2) })
            .collect::<String>();
        // `*` alone is the one unquoted value allowed.
        prop_assume!(header.trim() != "*");
        prop_assert!(IfMatch::parse(header.as_bytes()).is_err(), "{:?}", header);
        prop_assert!(IfNoneMatch::parse(header.as_bytes()).is_err(), "{:?}", header);
    }

    #[test]
    fn a_body_is_refused_exactly_when_an_object_repeats_a_key(
        keys in prop::collection::vec("[ab]{1,2}", 0..6),
        nested in prop::collection::vec("[ab]{1,2}", 0..4),
    ) {
        let inner = nested
            .iter()
            .enumerate()
            .map(|(i, k)| format!("\"{k}\":{i}"))
            .collect::<Vec<_>>()
            .join(",");
        let outer = keys
            .iter()
            .enumerate()
            .map(|(i, k)| format!("\"{k}\":{i}"))
            .chain(std::iter::once(format!("\"zz\":[{{{inner}}}]")))
            .collect::<Vec<_>>()
            .join(",");
        let text = format!("{{{outer}}}");
        let repeats = |ks: &[String]| {
            ks.iter().enumerate().any(|(i, k)| ks[..i].contains(k))
        };
        let expect_dup = repeats(&keys) || repeats(&nested);
        match parse_unique(text.as_bytes()) {
            Ok(v) => {
                prop_assert!(!expect_dup, "{}", text);
                let plain: serde_json::Value = serde_json::from_str(&text).unwrap();
                prop_assert_eq!(v, plain);
            }
            Err(BodyError::DuplicateKey(k)) => {
                prop_assert!(expect_dup, "{}", text);
                prop_assert!(keys.contains(&k) || nested.contains(&k));
            }
            Err(BodyError::Syntax) => prop_assert!(false, "valid JSON refused: {}", text),
        }
    }
}
