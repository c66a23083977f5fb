//! `AUTH_RULES`: parse errors that name the fault, the route matching table,
//! precedence, and requirement checks.

use authorizer::claims::{TokenUse, VerifiedClaims};
use authorizer::reason::Reason;
use authorizer::rules::{Method, RuleSet, RulesError, split_path};

fn err(json: &str) -> String {
    match RuleSet::parse(json) {
        Ok(_) => panic!("{json} should be refused"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn parse_errors_name_the_rule_index_and_field() {
    let cases: &[(&str, &str, &str)] = &[
        ("not_json", "{", "AUTH_RULES is not a JSON array"),
        (
            "object_not_array",
            r#"{"route":"GET /a"}"#,
            "AUTH_RULES is not a JSON array",
        ),
        ("empty_array", "[]", "empty array"),
        (
            "unknown_field",
            r#"[{"route":"GET /a"},{"route":"GET /b","scope":["x"]}]"#,
            "AUTH_RULES[1]: unknown field `scope`",
        ),
        (
            "duplicate_field",
            r#"[{"route":"GET /a","route":"GET /b"}]"#,
            "AUTH_RULES[0]: duplicate field `route`",
        ),
        (
            "missing_route",
            r#"[{"scopes_any":["x"]}]"#,
            "AUTH_RULES[0]: missing field `route`",
        ),
        (
            "lowercase_method",
            r#"[{"route":"get /a"}]"#,
            "AUTH_RULES[0].route: method `get`",
        ),
        (
            "unknown_method",
            r#"[{"route":"FETCH /a"}]"#,
            "AUTH_RULES[0].route: method `FETCH`",
        ),
        (
            "no_space",
            r#"[{"route":"GET/a"}]"#,
            "AUTH_RULES[0].route: `GET/a` is not `<METHOD|ANY> <path>`",
        ),
        (
            "relative_path",
            r#"[{"route":"GET a/b"}]"#,
            "AUTH_RULES[0].route: path `a/b` must start with `/`",
        ),
        (
            "double_slash",
            r#"[{"route":"GET /a//b"}]"#,
            "AUTH_RULES[0].route: path `/a//b` has an empty segment",
        ),
        (
            "trailing_slash",
            r#"[{"route":"GET /a/"}]"#,
            "has an empty segment",
        ),
        (
            "greedy_proxy",
            r#"[{"route":"ANY /{proxy+}"}]"#,
            "AUTH_RULES[0].route: greedy segment `{proxy+}`",
        ),
        (
            "star_inside_literal",
            r#"[{"route":"GET /a*"}]"#,
            "AUTH_RULES[0].route: segment `a*`",
        ),
        (
            "question_mark_literal",
            r#"[{"route":"GET /a?"}]"#,
            "segment `a?`",
        ),
        (
            "bad_param_name",
            r#"[{"route":"GET /{}"}]"#,
            "segment `{}` is not a valid `{name}`",
        ),
        (
            "empty_scope_list",
            r#"[{"route":"GET /a","scopes_any":[]}]"#,
            "AUTH_RULES[0].scopes_any: empty list",
        ),
        (
            "blank_group",
            r#"[{"route":"GET /a","groups_all":["ok",""]}]"#,
            "AUTH_RULES[0].groups_all: [1]",
        ),
        (
            "scope_with_space",
            r#"[{"route":"GET /a","scopes_all":["a b"]}]"#,
            "AUTH_RULES[0].scopes_all: [0] `a b`",
        ),
        (
            "bad_token_use",
            r#"[{"route":"GET /a","token_use":"ID"}]"#,
            "AUTH_RULES[0]: unknown variant `ID`",
        ),
        (
            "scopes_not_list",
            r#"[{"route":"GET /a","scopes_any":"x"}]"#,
            "AUTH_RULES[0]: invalid type",
        ),
        (
            "duplicate_route_other_param_name",
            r#"[{"route":"GET /n/{id}"},{"route":"GET /n/{noteId}"}]"#,
            "AUTH_RULES[1] (`GET /n/{noteId}`) matches exactly the same requests as AUTH_RULES[0]",
        ),
        (
            "duplicate_any",
            r#"[{"route":"ANY /a"},{"route":"ANY /a","groups_any":["g"]}]"#,
            "AUTH_RULES[1]",
        ),
    ];
    for (name, json, expected) in cases {
        let msg = err(json);
        assert!(
            msg.contains(expected),
            "{name}: `{msg}` does not contain `{expected}`"
        );
    }
}

#[test]
fn too_many_rules_is_an_error() {
    let rules: Vec<String> = (0..101)
        .map(|i| format!(r#"{{"route":"GET /r{i}"}}"#))
        .collect();
    let json = format!("[{}]", rules.join(","));
    assert_eq!(RuleSet::parse(&json).unwrap_err(), RulesError::TooMany(101));
}

#[test]
fn unset_empty_or_blank_means_no_rules() {
    for v in [None, Some(""), Some("  \n")] {
        assert!(RuleSet::from_env_value(v).unwrap().is_none(), "{v:?}");
    }
    assert!(
        RuleSet::from_env_value(Some(r#"[{"route":"GET /"}]"#))
            .unwrap()
            .is_some()
    );
}

const TABLE_RULES: &str = r#"[
  {"route":"GET /notes","scopes_any":["notes/read"]},
  {"route":"GET /notes/{id}","scopes_any":["notes/read"]},
  {"route":"GET /notes/mine"},
  {"route":"DELETE /notes/{id}","scopes_all":["notes/write","notes/delete"]},
  {"route":"ANY /admin/*","groups_any":["admin"]},
  {"route":"GET /admin/health"},
  {"route":"GET /me","token_use":"id"},
  {"route":"GET /"},
  {"route":"POST /a/{x}/b"},
  {"route":"ANY /a/{x}/b","groups_all":["x","y"]}
]"#;

fn route<'a>(rules: &'a RuleSet, method: Method, path: &str) -> Option<&'a str> {
    let segs: Vec<&str> = split_path(path).unwrap().collect();
    rules
        .route_for(method, &segs)
        .map(|i| rules.rules()[i].route.as_str())
}

#[test]
fn route_matching_table_most_specific_wins() {
    let rules = RuleSet::parse(TABLE_RULES).unwrap();
    use Method::*;
    let cases: &[(&str, Method, &str, Option<&str>)] = &[
        ("literal", Get, "/notes", Some("GET /notes")),
        (
            "param_one_segment",
            Get,
            "/notes/42",
            Some("GET /notes/{id}"),
        ),
        (
            "literal_beats_param",
            Get,
            "/notes/mine",
            Some("GET /notes/mine"),
        ),
        ("param_not_deeper", Get, "/notes/42/comments", None),
        ("method_must_match", Post, "/notes", None),
        (
            "delete_param",
            Delete,
            "/notes/mine",
            Some("DELETE /notes/{id}"),
        ),
        (
            "any_covers_post",
            Post,
            "/admin/users",
            Some("ANY /admin/*"),
        ),
        ("star_one_segment_only", Get, "/admin/users/1", None),
        ("star_needs_a_segment", Get, "/admin", None),
        (
            "literal_beats_star",
            Get,
            "/admin/health",
            Some("GET /admin/health"),
        ),
        (
            "literal_any_method_other",
            Post,
            "/admin/health",
            Some("ANY /admin/*"),
        ),
        ("root", Get, "/", Some("GET /")),
        ("case_sensitive_literal", Get, "/NOTES", None),
        (
            "trailing_slash_is_an_empty_segment",
            Get,
            "/notes/",
            Some("GET /notes/{id}"),
        ),
        (
            "named_method_beats_any_same_path",
            Post,
            "/a/1/b",
            Some("POST /a/{x}/b"),
        ),
        ("any_for_other_method", Put, "/a/1/b", Some("ANY /a/{x}/b")),
        ("percent_encoding_not_decoded", Get, "/notes%2Fmine", None),
    ];
    for (name, m, path, expected) in cases {
        assert_eq!(route(&rules, *m, path), *expected, "{name}: {m:?} {path}");
    }
}

#[test]
fn precedence_does_not_depend_on_array_order() {
    let a = RuleSet::parse(r#"[{"route":"ANY /x/*","groups_any":["g"]},{"route":"GET /x/y"}]"#)
        .unwrap();
    let b = RuleSet::parse(r#"[{"route":"GET /x/y"},{"route":"ANY /x/*","groups_any":["g"]}]"#)
        .unwrap();
    for rules in [&a, &b] {
        assert_eq!(route(rules, Method::Get, "/x/y"), Some("GET /x/y"));
        assert_eq!(route(rules, Method::Get, "/x/z"), Some("ANY /x/*"));
    }
}

#[test]
fn leftmost_literal_decides_between_crossed_wildcards() {
    let rules =
        RuleSet::parse(r#"[{"route":"GET /{a}/b"},{"route":"GET /a/{b}","scopes_any":["s"]}]"#)
            .unwrap();
    assert_eq!(route(&rules, Method::Get, "/a/b"), Some("GET /a/{b}"));
    assert_eq!(route(&rules, Method::Get, "/z/b"), Some("GET /{a}/b"));
}

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

#[test]
fn requirements_table() {
    let rules = RuleSet::parse(TABLE_RULES).unwrap();
    let rule = |route: &str| {
        rules
            .rules()
            .iter()
            .find(|r| r.route.as_str() == route)
            .unwrap()
    };
    use TokenUse::*;
    let cases: &[(&str, &str, VerifiedClaims, Result<(), Reason>)] = &[
        (
            "scope_any_met",
            "GET /notes",
            claims(Access, &["x", "notes/read"], &[]),
            Ok(()),
        ),
        (
            "scope_any_missing",
            "GET /notes",
            claims(Access, &["notes/reader"], &[]),
            Err(Reason::InsufficientScope),
        ),
        (
            "scope_case_sensitive",
            "GET /notes",
            claims(Access, &["NOTES/READ"], &[]),
            Err(Reason::InsufficientScope),
        ),
        (
            "scope_all_one_missing",
            "DELETE /notes/{id}",
            claims(Access, &["notes/write"], &[]),
            Err(Reason::InsufficientScope),
        ),
        (
            "scope_all_met",
            "DELETE /notes/{id}",
            claims(Access, &["notes/delete", "notes/write"], &[]),
            Ok(()),
        ),
        (
            "group_any_met",
            "ANY /admin/*",
            claims(Access, &[], &["users", "admin"]),
            Ok(()),
        ),
        (
            "group_case_sensitive",
            "ANY /admin/*",
            claims(Access, &[], &["Admin"]),
            Err(Reason::InsufficientGroup),
        ),
        (
            "group_all_one_missing",
            "ANY /a/{x}/b",
            claims(Access, &[], &["x"]),
            Err(Reason::InsufficientGroup),
        ),
        (
            "no_requirements",
            "GET /notes/mine",
            claims(Access, &[], &[]),
            Ok(()),
        ),
        (
            "id_route_wants_id_token",
            "GET /me",
            claims(Access, &[], &[]),
            Err(Reason::WrongTokenUse),
        ),
        ("id_route_id_token", "GET /me", claims(Id, &[], &[]), Ok(())),
        (
            "access_route_id_token",
            "GET /notes/mine",
            claims(Id, &[], &[]),
            Err(Reason::WrongTokenUse),
        ),
    ];
    for (name, route, c, expected) in cases {
        assert_eq!(rule(route).check(c), *expected, "{name}");
    }
}
