//! Cache-safety of the IAM policies: the policy returned for one route,
//! evaluated with IAM wildcard semantics (`policy::evaluate`) against many
//! other routes' `methodArn`s, allows exactly what the rules allow.

use authorizer::claims::{TokenUse, VerifiedClaims};
use authorizer::policy::{self, MethodArn, Plan};
use authorizer::rules::{Method, RuleSet, split_path};
use serde_json::{Value, json};

const PREFIX: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/";

fn claims(token_use: TokenUse, scopes: &[&str], groups: &[&str]) -> VerifiedClaims {
    VerifiedClaims {
        sub: "s".into(),
        username: "u".into(),
        client_id: "C1".into(),
        issuer: "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_X".into(),
        token_use,
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        groups: groups.iter().map(|s| s.to_string()).collect(),
        auth_time: 0,
        origin_jti: None,
        exp: 0,
        iat: 0,
    }
}

/// What the rules decide for a request (the handler's logic, from the rules alone).
fn decide(rules: &RuleSet, c: &VerifiedClaims, m: Method, path: &str) -> bool {
    let segs: Vec<&str> = split_path(path).unwrap().collect();
    rules
        .route_for(m, &segs)
        .is_some_and(|i| rules.rules()[i].check(c).is_ok())
}

fn arn(m: Method, path: &str) -> String {
    format!("{PREFIX}{}{path}", m.as_str())
}

/// Concrete requests probing literal, wildcard, deeper, shallower and unmatched paths.
const PATHS: &[&str] = &[
    "/",
    "/notes",
    "/notes/",
    "/notes/1",
    "/notes/mine",
    "/notes/1/comments",
    "/notes/1/comments/2",
    "/notes/1/x",
    "/notes/mine/comments",
    "/notes/a/b/comments",
    "/admin",
    "/admin/users",
    "/admin/health",
    "/admin/users/1",
    "/admin/health/deep",
    "/me",
    "/me/x",
    "/a/1/b",
    "/a/1/2/b",
    "/a/1/b/c",
    "/other",
    "/x/GET/notes",
];

const RULES: &str = r#"[
  {"route":"GET /notes","scopes_any":["notes/read"]},
  {"route":"POST /notes","scopes_any":["notes/write"]},
  {"route":"GET /notes/{id}","scopes_any":["notes/read"]},
  {"route":"GET /notes/mine"},
  {"route":"DELETE /notes/{id}","scopes_all":["notes/write","notes/delete"]},
  {"route":"ANY /admin/*","groups_any":["admin"]},
  {"route":"GET /admin/health"},
  {"route":"GET /me","token_use":"id"},
  {"route":"GET /"},
  {"route":"POST /a/{x}/b","groups_any":["poster"]},
  {"route":"ANY /a/{x}/b"}
]"#;

fn principals() -> Vec<(&'static str, VerifiedClaims)> {
    use TokenUse::*;
    vec![
        ("nobody_special", claims(Access, &[], &[])),
        ("reader", claims(Access, &["notes/read"], &[])),
        (
            "writer",
            claims(Access, &["notes/read", "notes/write"], &[]),
        ),
        (
            "deleter",
            claims(Access, &["notes/write", "notes/delete"], &[]),
        ),
        ("admin", claims(Access, &[], &["admin"])),
        (
            "admin_poster",
            claims(Access, &["notes/read"], &["admin", "poster"]),
        ),
        ("id_token_user", claims(Id, &[], &["admin"])),
    ]
}

/// Every principal × every request × every method: the policy agrees with
/// the rules, and the plan is exact (not conflicted) for this rule set.
#[test]
fn cache_safety_matrix() {
    let rules = RuleSet::parse(RULES).unwrap();
    for (who, c) in principals() {
        let plan = Plan::build(&rules, rules.entitlements(&c));
        assert!(!plan.is_conflicted(), "{who}: plan should be exact");
        let doc: Value = serde_json::from_str(plan.render(PREFIX).get()).unwrap();
        for path in PATHS {
            for m in Method::ALL {
                let expected = decide(&rules, &c, m, path);
                let a = arn(m, path);
                assert_eq!(
                    policy::evaluate(&doc, &a),
                    expected,
                    "{who}: {m:?} {path}\n{doc:#}"
                );
                let segs: Vec<&str> = split_path(path).unwrap().collect();
                assert_eq!(
                    plan.allows(m, &segs),
                    expected,
                    "{who}: plan.allows {m:?} {path}"
                );
            }
        }
    }
}

#[test]
fn issue_example_decided_for_get_a_then_reused_for_other_routes() {
    // Decide for GET /a, then evaluate the SAME policy on other routes.
    let rules = RuleSet::parse(
        r#"[{"route":"GET /a"},{"route":"DELETE /b","groups_any":["admin"]},{"route":"GET /b/{id}"}]"#,
    )
    .unwrap();
    let user = claims(TokenUse::Access, &[], &[]);
    let admin = claims(TokenUse::Access, &[], &["admin"]);
    assert!(decide(&rules, &user, Method::Get, "/a"));
    let doc = |c: &VerifiedClaims| -> Value {
        serde_json::from_str(
            Plan::build(&rules, rules.entitlements(c))
                .render(PREFIX)
                .get(),
        )
        .unwrap()
    };
    let (u, a) = (doc(&user), doc(&admin));
    assert!(policy::evaluate(&u, &arn(Method::Get, "/a")));
    assert!(
        !policy::evaluate(&u, &arn(Method::Delete, "/b")),
        "user: DELETE /b must be 403"
    );
    assert!(
        policy::evaluate(&a, &arn(Method::Delete, "/b")),
        "admin: DELETE /b never a spurious 403"
    );
    assert!(policy::evaluate(&u, &arn(Method::Get, "/b/7")));
    assert!(
        !policy::evaluate(&u, &arn(Method::Get, "/b/7/secret")),
        "{{id}} must not over-grant deeper paths"
    );
}

#[test]
fn wildcard_overflow_is_denied_explicitly() {
    let rules = RuleSet::parse(r#"[{"route":"GET /notes/{id}"}]"#).unwrap();
    let c = claims(TokenUse::Access, &[], &[]);
    let doc: Value = serde_json::from_str(
        Plan::build(&rules, rules.entitlements(&c))
            .render(PREFIX)
            .get(),
    )
    .unwrap();
    assert_eq!(
        doc,
        json!({"Version":"2012-10-17","Statement":[
            {"Action":"execute-api:Invoke","Effect":"Allow","Resource":[format!("{PREFIX}GET/notes/*")]},
            {"Action":"execute-api:Invoke","Effect":"Deny","Resource":[format!("{PREFIX}GET/notes/*/*")]}
        ]})
    );
}

#[test]
fn any_is_expanded_so_the_method_star_cannot_swallow_segments() {
    let rules = RuleSet::parse(r#"[{"route":"ANY /notes"}]"#).unwrap();
    let c = claims(TokenUse::Access, &[], &[]);
    let doc: Value = serde_json::from_str(
        Plan::build(&rules, rules.entitlements(&c))
            .render(PREFIX)
            .get(),
    )
    .unwrap();
    let resources = doc["Statement"][0]["Resource"].as_array().unwrap();
    assert_eq!(resources.len(), 7);
    assert!(policy::evaluate(&doc, &arn(Method::Patch, "/notes")));
    // `…/prod/*/notes` would have matched this:
    assert!(!policy::evaluate(&doc, &arn(Method::Get, "/x/notes")));
}

#[test]
fn entitled_to_nothing_is_an_explicit_deny_for_the_whole_stage() {
    let rules = RuleSet::parse(r#"[{"route":"GET /a","groups_any":["g"]}]"#).unwrap();
    let c = claims(TokenUse::Access, &[], &[]);
    let doc: Value = serde_json::from_str(
        Plan::build(&rules, rules.entitlements(&c))
            .render(PREFIX)
            .get(),
    )
    .unwrap();
    assert_eq!(doc["Statement"][0]["Effect"], "Deny");
    assert_eq!(doc["Statement"][0]["Resource"][0], format!("{PREFIX}*/*"));
    assert!(!policy::evaluate(&doc, &arn(Method::Get, "/a")));
}

/// The documented limit: a wildcard route plus a deeper route under it, both
/// entitled. IAM cannot express it exactly; the plan is marked conflicted
/// and still never over-grants (it may 403 the deeper route when cached).
#[test]
fn conflicted_plan_never_over_grants() {
    let rules = RuleSet::parse(r#"[{"route":"GET /n/{id}"},{"route":"GET /n/{id}/c"},{"route":"GET /n/{id}/s","groups_any":["g"]}]"#)
        .unwrap();
    let c = claims(TokenUse::Access, &[], &[]);
    let plan = Plan::build(&rules, rules.entitlements(&c));
    assert!(plan.is_conflicted());
    let doc: Value = serde_json::from_str(plan.render(PREFIX).get()).unwrap();
    for path in ["/n/1", "/n/1/c", "/n/1/s", "/n/1/x", "/n/1/c/d", "/n/1/2/c"] {
        let allowed = policy::evaluate(&doc, &arn(Method::Get, path));
        if allowed {
            assert!(
                decide(&rules, &c, Method::Get, path),
                "over-grant on {path}"
            );
        }
    }
    assert!(policy::evaluate(&doc, &arn(Method::Get, "/n/1")));
}

#[test]
fn single_route_fallback_allows_only_that_arn_and_refuses_wildcard_characters() {
    let a = arn(Method::Get, "/n/1/c");
    let parsed = MethodArn::parse(&a).unwrap();
    let doc: Value = serde_json::from_str(policy::single_route_document(&parsed).get()).unwrap();
    assert!(policy::evaluate(&doc, &a));
    assert!(!policy::evaluate(&doc, &arn(Method::Get, "/n/2/c")));
    let star = arn(Method::Get, "/n/*");
    let doc: Value = serde_json::from_str(
        policy::single_route_document(&MethodArn::parse(&star).unwrap()).get(),
    )
    .unwrap();
    assert!(!policy::evaluate(&doc, &star));
    assert!(!policy::evaluate(&doc, &arn(Method::Get, "/n/x")));
}

#[test]
fn method_arn_parsing_is_strict() {
    let ok = [
        ("root", format!("{PREFIX}GET/"), "/"),
        ("deep", format!("{PREFIX}DELETE/a/b/c"), "/a/b/c"),
        (
            "default_stage",
            "arn:aws:execute-api:eu-west-1:123456789012:abc/$default/GET/x".to_string(),
            "/x",
        ),
        (
            "china_partition",
            "arn:aws-cn:execute-api:cn-north-1:123456789012:abc/prod/GET/x".to_string(),
            "/x",
        ),
    ];
    for (name, a, path) in ok {
        assert_eq!(MethodArn::parse(&a).map(|m| m.path), Ok(path), "{name}");
    }
    let bad = [
        ("not_arn", "hello".to_string()),
        (
            "wrong_service",
            "arn:aws:lambda:us-east-1:123456789012:abc/prod/GET/x".to_string(),
        ),
        (
            "short_account",
            "arn:aws:execute-api:us-east-1:1234:abc/prod/GET/x".to_string(),
        ),
        ("no_method", PREFIX.to_string()),
        ("method_without_slash", format!("{PREFIX}GET")),
        ("method_any", format!("{PREFIX}ANY/x")),
        ("method_lowercase", format!("{PREFIX}get/x")),
        (
            "wildcard_stage",
            "arn:aws:execute-api:us-east-1:123456789012:abc/*/GET/x".to_string(),
        ),
        ("too_long", format!("{PREFIX}GET/{}", "a".repeat(5000))),
    ];
    for (name, a) in bad {
        assert!(MethodArn::parse(&a).is_err(), "{name}");
    }
}

#[test]
fn evaluate_deny_wins_then_allow_then_default_deny() {
    let a = arn(Method::Get, "/x");
    let allow =
        json!({"Effect":"Allow","Action":"execute-api:Invoke","Resource":format!("{PREFIX}*")});
    let deny =
        json!({"Effect":"Deny","Action":"execute-api:*","Resource":[format!("{PREFIX}GET/x")]});
    let other = json!({"Effect":"Allow","Action":"execute-api:Invoke","Resource":format!("{PREFIX}POST/*")});
    let doc = |s: Vec<Value>| json!({"policyDocument":{"Version":"2012-10-17","Statement":s}});
    assert!(policy::evaluate(&doc(vec![allow.clone()]), &a));
    assert!(!policy::evaluate(
        &doc(vec![allow.clone(), deny.clone()]),
        &a
    ));
    assert!(!policy::evaluate(&doc(vec![deny, allow]), &a));
    assert!(!policy::evaluate(&doc(vec![other]), &a));
    assert!(!policy::evaluate(&doc(vec![]), &a));
    let not_resource = json!({"Effect":"Allow","Action":"execute-api:Invoke","NotResource":"x"});
    assert!(
        !policy::evaluate(&doc(vec![not_resource]), &a),
        "unusual allow is ignored"
    );
}
