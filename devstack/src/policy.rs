//! What API Gateway does with an authorizer's policy: evaluate it against the
//! request's method ARN, IAM style.
//!
//! Written independently of the authorizer's own policy builder on purpose:
//! the local gateway is the referee the authorizer's policies are checked
//! against, so it must not share their code.

use serde_json::Value;

/// Outcome of evaluating a policy for one `execute-api:Invoke` on one ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// A `Deny` statement matched.
    ExplicitDeny,
    /// No statement allowed it.
    ImplicitDeny,
}

/// Evaluates an IAM policy document (`{"Version":…, "Statement":[…]}`) for
/// `execute-api:Invoke` on `method_arn`: an explicit deny wins, then any
/// allow; otherwise implicitly denied. Anything malformed denies.
pub fn evaluate(policy: &Value, method_arn: &str) -> Decision {
    let statements: Vec<&Value> = match policy.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => return Decision::ImplicitDeny,
    };
    let mut allowed = false;
    for s in statements {
        // Statements this evaluator does not understand never allow.
        if s.get("NotAction").is_some()
            || s.get("NotResource").is_some()
            || s.get("Condition").is_some()
        {
            if s.get("Effect").and_then(Value::as_str) == Some("Deny") {
                return Decision::ExplicitDeny;
            }
            continue;
        }
        let action = any_matches(s.get("Action"), "execute-api:Invoke", true);
        let resource = any_matches(s.get("Resource"), method_arn, false);
        if !(action && resource) {
            continue;
        }
        match s.get("Effect").and_then(Value::as_str) {
            Some("Deny") => return Decision::ExplicitDeny,
            Some("Allow") => allowed = true,
            _ => {}
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

fn any_matches(patterns: Option<&Value>, value: &str, case_insensitive: bool) -> bool {
    let check = |p: &str| {
        if case_insensitive {
            wildcard_match(&p.to_ascii_lowercase(), &value.to_ascii_lowercase())
        } else {
            wildcard_match(p, value)
        }
    };
    match patterns {
        Some(Value::String(p)) => check(p),
        Some(Value::Array(ps)) => ps.iter().filter_map(Value::as_str).any(check),
        _ => false,
    }
}

/// IAM wildcard matching: `*` any run of characters (including none and
/// including `/`), `?` exactly one character; everything else literal.
pub fn wildcard_match(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    let (mut pi, mut vi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, vi));
            pi += 1;
        } else if let Some((sp, sv)) = star {
            pi = sp + 1;
            vi = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/notes/42";

    fn allow(resources: Value) -> Value {
        json!({"Version":"2012-10-17","Statement":[{"Action":"execute-api:Invoke","Effect":"Allow","Resource":resources}]})
    }

    #[test]
    fn wildcards_follow_iam_rules() {
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*c", "abbbc"));
        assert!(wildcard_match("a*c", "ac"));
        assert!(!wildcard_match("a*c", "acb"));
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("a?c", "ac"));
        // `*` crosses `/`, unlike a route template's `{id}`.
        assert!(wildcard_match("arn:x/dev/GET/*", "arn:x/dev/GET/notes/42"));
        assert!(!wildcard_match(
            "arn:x/dev/GET/notes",
            "arn:x/dev/GET/notes/42"
        ));
        assert!(wildcard_match(
            "arn:x/dev/*/notes/*",
            "arn:x/dev/PUT/notes/1"
        ));
    }

    #[test]
    fn allow_on_exact_or_wildcard_resource() {
        assert_eq!(evaluate(&allow(json!(ARN)), ARN), Decision::Allow);
        let list = json!([
            "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/me",
            "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/GET/notes/*"
        ]);
        assert_eq!(evaluate(&allow(list.clone()), ARN), Decision::Allow);
        assert_eq!(
            evaluate(
                &allow(list),
                "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/DELETE/notes/42"
            ),
            Decision::ImplicitDeny
        );
    }

    #[test]
    fn explicit_deny_wins_over_allow() {
        let p = json!({"Statement":[
            {"Action":"execute-api:Invoke","Effect":"Allow","Resource":"*"},
            {"Action":["execute-api:*"],"Effect":"Deny","Resource":ARN}
        ]});
        assert_eq!(evaluate(&p, ARN), Decision::ExplicitDeny);
    }

    #[test]
    fn other_actions_and_malformed_policies_do_not_allow() {
        let p = json!({"Statement":[{"Action":"s3:GetObject","Effect":"Allow","Resource":"*"}]});
        assert_eq!(evaluate(&p, ARN), Decision::ImplicitDeny);
        assert_eq!(evaluate(&json!({}), ARN), Decision::ImplicitDeny);
        assert_eq!(
            evaluate(&json!({"Statement":"x"}), ARN),
            Decision::ImplicitDeny
        );
        let p =
            json!({"Statement":[{"Action":"execute-api:Invoke","Effect":"allow","Resource":"*"}]});
        assert_eq!(evaluate(&p, ARN), Decision::ImplicitDeny);
        let p = json!({"Statement":[{"NotAction":"s3:*","Effect":"Allow","Resource":"*"}]});
        assert_eq!(evaluate(&p, ARN), Decision::ImplicitDeny);
        // Action names are case-insensitive in IAM; resources are not.
        let p =
            json!({"Statement":{"Action":"Execute-API:invoke","Effect":"Allow","Resource":ARN}});
        assert_eq!(evaluate(&p, ARN), Decision::Allow);
        assert_eq!(evaluate(&p, &ARN.to_uppercase()), Decision::ImplicitDeny);
    }
}
