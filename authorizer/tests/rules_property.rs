//! Route precedence and cache safety as properties: random rule sets and
//! random requests, each decision of the authorizer (`Authorizer::decide`,
//! exactly what the handler runs after the verifier) compared with a
//! brute-force reference written here from the README's words, and every
//! returned policy, evaluated with IAM matching (`policy::evaluate`),
//! checked never to allow a request of the set that the reference refuses.
//!
//! The reference, from README "AUTH_RULES":
//! - a rule matches a request when its method is the request's (or `ANY`),
//!   it has as many segments, every literal equals the segment byte for
//!   byte and `{name}`/`*` take any one segment (even empty);
//! - "When several rules match, the most specific decides, whatever their
//!   order: segments compare from the left, a literal beating `{name}`/`*`;
//!   on a tie a named method beats ANY";
//! - "Two rules matching exactly the same requests are refused at start-up";
//! - "a route that no rule matches is denied (`no_matching_rule`)";
//! - `principal` (`user` by default, `machine`, `any`): "a request is
//!   decided among the rules admitting the caller's kind only; if rules
//!   match the route but none admits it, `principal_not_allowed`"; a
//!   machine rule wanting ID tokens, or sharing requests with a user rule
//!   that wants them, is refused at start-up;
//! - the verifier is told the `token_use` of the users' deciding rule
//!   (`access` when none): a token of the other kind is `wrong_token_use`;
//! - the deciding rule's requirements all hold, or the first failing one
//!   names the reason: `token_use`, then scopes, then groups.

use std::collections::HashMap;
use std::sync::Arc;

use authorizer::claims::{TokenUse, VerifiedClaims};
use authorizer::clock::ManualClock;
use authorizer::config::VerifierConfig;
use authorizer::handler::Authorizer;
use authorizer::policy::{self, MethodArn};
use authorizer::reason::Reason;
use authorizer::rules::{Method, RuleSet, split_path};
use authorizer::verifier::Verifier;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

const PREFIX: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/";
const POOL: &str = "us-east-1_TestPool";

// ---------------------------------------------------------------- model

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Lit(&'static str),
    /// `{name}` or `*`; the text is kept only to write the rule.
    Wild(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct ModelRule {
    /// `None`: ANY.
    method: Option<Method>,
    segs: Vec<Seg>,
    scopes_any: Option<Vec<&'static str>>,
    scopes_all: Option<Vec<&'static str>>,
    groups_any: Option<Vec<&'static str>>,
    groups_all: Option<Vec<&'static str>>,
    token_use: Option<TokenUse>,
    /// `None` (default, users), `user`, `machine` or `any`.
    principal: Option<&'static str>,
}

impl ModelRule {
    fn admits(&self, machine: bool) -> bool {
        match self.principal.unwrap_or("user") {
            "any" => true,
            "machine" => machine,
            _ => !machine,
        }
    }

    /// Some request matches both.
    fn overlaps(&self, other: &ModelRule) -> bool {
        (self.method.is_none() || other.method.is_none() || self.method == other.method)
            && self.segs.len() == other.segs.len()
            && self
                .segs
                .iter()
                .zip(&other.segs)
                .all(|(a, b)| match (a, b) {
                    (Seg::Lit(x), Seg::Lit(y)) => x == y,
                    _ => true,
                })
    }

    fn wants_id(&self) -> bool {
        self.token_use == Some(TokenUse::Id)
    }

    /// Why this rule and an earlier one cannot stand together, if so.
    fn conflicts(&self, earlier: &ModelRule) -> bool {
        let shared_kind = [false, true]
            .iter()
            .any(|&m| self.admits(m) && earlier.admits(m));
        (self.same_requests(earlier) && shared_kind)
            || (self.overlaps(earlier)
                && ((self.admits(true) && earlier.admits(false) && earlier.wants_id())
                    || (earlier.admits(true) && self.admits(false) && self.wants_id())))
    }

    /// Refused on its own.
    fn invalid(&self) -> bool {
        self.admits(true) && self.wants_id()
    }
    fn route(&self) -> String {
        let m = self.method.map_or("ANY", Method::as_str);
        let path: String = if self.segs == [Seg::Lit("")] {
            "/".into()
        } else {
            self.segs
                .iter()
                .map(|s| match s {
                    Seg::Lit(l) | Seg::Wild(l) => format!("/{l}"),
                })
                .collect()
        };
        format!("{m} {path}")
    }

    fn json(&self) -> Value {
        let mut o = json!({ "route": self.route() });
        let mut put = |k: &str, v: &Option<Vec<&str>>| {
            if let Some(v) = v {
                o[k] = json!(v);
            }
        };
        put("scopes_any", &self.scopes_any);
        put("scopes_all", &self.scopes_all);
        put("groups_any", &self.groups_any);
        put("groups_all", &self.groups_all);
        if let Some(t) = self.token_use {
            o["token_use"] = json!(t.as_str());
        }
        if let Some(p) = self.principal {
            o["principal"] = json!(p);
        }
        o
    }

    fn matches(&self, method: Method, path: &[&str]) -> bool {
        self.method.is_none_or(|m| m == method)
            && self.segs.len() == path.len()
            && self.segs.iter().zip(path).all(|(s, p)| match s {
                Seg::Lit(l) => l == p,
                Seg::Wild(_) => true,
            })
    }

    /// README: segments from the left, literal beats wildcard; then a named
    /// method beats ANY. Only asked of two rules matching one request.
    fn beats(&self, other: &ModelRule) -> bool {
        for (a, b) in self.segs.iter().zip(&other.segs) {
            match (a, b) {
                (Seg::Lit(_), Seg::Wild(_)) => return true,
                (Seg::Wild(_), Seg::Lit(_)) => return false,
                _ => {}
            }
        }
        self.method.is_some() && other.method.is_none()
    }

    /// Matches exactly the same requests (brute force over a request grid
    /// would say the same; stated directly).
    fn same_requests(&self, other: &ModelRule) -> bool {
        self.method == other.method
            && self.segs.len() == other.segs.len()
            && self
                .segs
                .iter()
                .zip(&other.segs)
                .all(|(a, b)| match (a, b) {
                    (Seg::Lit(x), Seg::Lit(y)) => x == y,
                    (Seg::Wild(_), Seg::Wild(_)) => true,
                    _ => false,
                })
    }
}

#[derive(Debug, Clone)]
struct Principal {
    /// A client-credentials token: access, no `username`, `sub` = client id.
    machine: bool,
    token_use: TokenUse,
    scopes: Vec<&'static str>,
    groups: Vec<&'static str>,
}

impl Principal {
    fn claims(&self) -> VerifiedClaims {
        if self.machine {
            return VerifiedClaims {
                sub: "C1".into(),
                username: String::new(),
                client_id: "C1".into(),
                issuer: format!("https://cognito-idp.us-east-1.amazonaws.com/{POOL}"),
                token_use: TokenUse::Access,
                scopes: self.scopes.iter().map(|s| s.to_string()).collect(),
                groups: Vec::new(),
                auth_time: 0,
                origin_jti: None,
                exp: 0,
                iat: 0,
            };
        }
        VerifiedClaims {
            sub: "sub-1".into(),
            username: "user-1".into(),
            client_id: "C1".into(),
            issuer: format!("https://cognito-idp.us-east-1.amazonaws.com/{POOL}"),
            token_use: self.token_use,
            scopes: self.scopes.iter().map(|s| s.to_string()).collect(),
            groups: self.groups.iter().map(|s| s.to_string()).collect(),
            auth_time: 0,
            origin_jti: None,
            exp: 0,
            iat: 0,
        }
    }
}

/// The most specific of the rules matching the request that `keep` keeps.
fn most_specific(
    rules: &[ModelRule],
    method: Method,
    path: &[&str],
    keep: impl Fn(&ModelRule) -> bool,
) -> Option<usize> {
    let matching: Vec<usize> = (0..rules.len())
        .filter(|&i| keep(&rules[i]) && rules[i].matches(method, path))
        .collect();
    let winners: Vec<usize> = matching
        .iter()
        .copied()
        .filter(|&i| {
            matching
                .iter()
                .all(|&j| j == i || rules[i].beats(&rules[j]))
        })
        .collect();
    assert!(
        winners.len() <= 1,
        "reference: several most specific rules {winners:?}"
    );
    assert!(
        matching.is_empty() || winners.len() == 1,
        "reference: no most specific rule among {matching:?}"
    );
    winners.first().copied()
}

/// The `token_use` the verifier is told: the users' deciding rule's.
fn expected_token_use(rules: &[ModelRule], method: Method, path: &[&str]) -> TokenUse {
    most_specific(rules, method, path, |r| r.admits(false))
        .map_or(TokenUse::Access, |i| rules[i].token_use.unwrap_or_default())
}

/// The reference decision: the index of the deciding rule and the verdict.
fn reference(
    rules: &[ModelRule],
    p: &Principal,
    method: Method,
    path: &[&str],
) -> (Option<usize>, Result<(), Reason>) {
    let token_use = if p.machine {
        TokenUse::Access
    } else {
        p.token_use
    };
    if expected_token_use(rules, method, path) != token_use {
        return (None, Err(Reason::WrongTokenUse));
    }
    let Some(w) = most_specific(rules, method, path, |r| r.admits(p.machine)) else {
        let any = rules.iter().any(|r| r.matches(method, path));
        return (
            None,
            Err(if any {
                Reason::PrincipalNotAllowed
            } else {
                Reason::NoMatchingRule
            }),
        );
    };
    let r = &rules[w];
    let has = |list: &[&str], x: &str| list.contains(&x);
    let verdict = if r.token_use.unwrap_or_default() != token_use {
        Err(Reason::WrongTokenUse)
    } else if r
        .scopes_any
        .as_ref()
        .is_some_and(|l| !l.iter().any(|s| has(&p.scopes, s)))
        || r.scopes_all
            .as_ref()
            .is_some_and(|l| !l.iter().all(|s| has(&p.scopes, s)))
    {
        Err(Reason::InsufficientScope)
    } else if r
        .groups_any
        .as_ref()
        .is_some_and(|l| !l.iter().any(|g| has(&p.groups, g)))
        || r.groups_all
            .as_ref()
            .is_some_and(|l| !l.iter().all(|g| has(&p.groups, g)))
    {
        Err(Reason::InsufficientGroup)
    } else {
        Ok(())
    };
    (Some(w), verdict)
}

// ---------------------------------------------------------------- strategies

const LITERALS: &[&str] = &["a", "b", "c"];
/// Request segment values: the literals, one no rule names, and empty.
const VALUES: &[&str] = &["a", "b", "c", "d", ""];
const SCOPES: &[&str] = &["s1", "s2", "s3"];
const GROUPS: &[&str] = &["g1", "g2", "g3"];

fn method() -> impl Strategy<Value = Method> {
    proptest::sample::select(Method::ALL.to_vec())
}

fn seg() -> impl Strategy<Value = Seg> {
    prop_oneof![
        3 => proptest::sample::select(LITERALS).prop_map(Seg::Lit),
        1 => Just(Seg::Wild("{id}")),
        1 => Just(Seg::Wild("{x-y_1}")),
        1 => Just(Seg::Wild("*")),
    ]
}

fn names(pool: &'static [&'static str]) -> impl Strategy<Value = Option<Vec<&'static str>>> {
    prop_oneof![
        3 => Just(None),
        1 => proptest::sample::subsequence(pool, 1..=pool.len()).prop_map(Some),
    ]
}

fn rule() -> impl Strategy<Value = ModelRule> {
    let segs = prop_oneof![
        1 => Just(vec![Seg::Lit("")]),
        12 => proptest::collection::vec(seg(), 1..=5),
    ];
    (
        proptest::option::weighted(0.7, method()),
        segs,
        names(SCOPES),
        names(SCOPES),
        names(GROUPS),
        names(GROUPS),
        prop_oneof![
            6 => Just(None),
            1 => Just(Some(TokenUse::Access)),
            1 => Just(Some(TokenUse::Id)),
        ],
        prop_oneof![
            4 => Just(None),
            1 => Just(Some("user")),
            2 => Just(Some("machine")),
            2 => Just(Some("any")),
        ],
    )
        .prop_map(
            |(
                method,
                segs,
                scopes_any,
                scopes_all,
                groups_any,
                groups_all,
                token_use,
                principal,
            )| ModelRule {
                method,
                segs,
                scopes_any,
                scopes_all,
                groups_any,
                groups_all,
                token_use,
                principal,
            },
        )
}

/// Up to 40 rules; duplicates and other conflicts are mostly removed (a set
/// with one is only a start-up refusal), and kept in about one set in ten.
fn rule_set() -> impl Strategy<Value = Vec<ModelRule>> {
    (proptest::collection::vec(rule(), 1..=40), 0u8..10).prop_map(|(rules, keep)| {
        if keep == 0 {
            return rules;
        }
        let rules_all = rules.clone();
        let mut out: Vec<ModelRule> = Vec::new();
        for r in rules {
            if !r.invalid() && !out.iter().any(|o| r.conflicts(o)) {
                out.push(r);
            }
        }
        if out.is_empty() {
            return rules_all;
        }
        out
    })
}

fn principal() -> impl Strategy<Value = Principal> {
    (
        prop_oneof![3 => Just(false), 1 => Just(true)],
        prop_oneof![4 => Just(TokenUse::Access), 1 => Just(TokenUse::Id)],
        proptest::sample::subsequence(SCOPES, 0..=SCOPES.len()),
        proptest::sample::subsequence(GROUPS, 0..=GROUPS.len()),
    )
        .prop_map(|(machine, token_use, scopes, groups)| Principal {
            machine,
            // Client-credentials tokens are access tokens without groups.
            token_use: if machine { TokenUse::Access } else { token_use },
            scopes,
            groups: if machine { Vec::new() } else { groups },
        })
}

/// A request: (method, path segments). `pick` chooses a rule to aim at (so
/// most requests match something), `values` fill its wildcards.
#[derive(Debug, Clone)]
struct Req {
    method: Method,
    segs: Vec<&'static str>,
}

fn requests(rules: &[ModelRule]) -> impl Strategy<Value = Vec<Req>> + use<> {
    let rules = rules.to_vec();
    let aimed = (
        method(),
        any::<proptest::sample::Index>(),
        proptest::collection::vec(proptest::sample::select(VALUES), 5),
        any::<bool>(),
    )
        .prop_map(move |(m, idx, vals, own_method)| {
            let r = idx.get(&rules);
            let segs = r
                .segs
                .iter()
                .zip(&vals)
                .map(|(s, v)| match s {
                    Seg::Lit(l) => *l,
                    Seg::Wild(_) => v,
                })
                .collect();
            let method = match (own_method, r.method) {
                (true, Some(rm)) => rm,
                _ => m,
            };
            Req { method, segs }
        });
    let random = (
        method(),
        proptest::collection::vec(proptest::sample::select(VALUES), 1..=6),
    )
        .prop_map(|(method, segs)| Req { method, segs });
    proptest::collection::vec(prop_oneof![3 => aimed, 1 => random], 6)
}

fn case() -> impl Strategy<Value = (Vec<ModelRule>, Vec<Principal>, Vec<Req>)> {
    rule_set().prop_flat_map(|rules| {
        let reqs = requests(&rules);
        (Just(rules), proptest::collection::vec(principal(), 1), reqs)
    })
}

// ---------------------------------------------------------------- the check

fn path_of(segs: &[&str]) -> String {
    segs.iter().map(|s| format!("/{s}")).collect()
}

fn arn_of(r: &Req) -> String {
    format!("{PREFIX}{}{}", r.method.as_str(), path_of(&r.segs))
}

fn verifier_config() -> VerifierConfig {
    let env: HashMap<&str, String> = [
        ("USER_POOL_ID", POOL.to_owned()),
        ("APP_CLIENT_IDS", "C1".to_owned()),
    ]
    .into_iter()
    .collect();
    VerifierConfig::from_lookup(|k| env.get(k).cloned()).expect("test configuration")
}

fn check_case(
    config: &VerifierConfig,
    rules: &[ModelRule],
    principals: &[Principal],
    reqs: &[Req],
) -> Result<(), TestCaseError> {
    let json = Value::Array(rules.iter().map(ModelRule::json).collect()).to_string();
    let duplicate = (0..rules.len())
        .any(|i| rules[i].invalid() || (0..i).any(|j| rules[i].conflicts(&rules[j])));
    let parsed = RuleSet::parse(&json);
    let set = match (parsed, duplicate) {
        (Err(e), true) => {
            let msg = e.to_string();
            prop_assert!(msg.starts_with("AUTH_RULES["), "{msg}");
            return Ok(());
        }
        (Err(e), false) => return Err(TestCaseError::fail(format!("refused {json}: {e}"))),
        (Ok(_), true) => return Err(TestCaseError::fail(format!("duplicate accepted: {json}"))),
        (Ok(set), false) => set,
    };
    let clock = Arc::new(ManualClock::new(0));
    let auth = Authorizer::new(Verifier::new(config.clone(), clock), Some(set));
    let set = auth.rules().expect("rules");
    for p in principals {
        let claims = p.claims();
        // Documents already checked for this principal: most requests get
        // the same cached entitlement policy, and the check depends only on it.
        let mut checked: Vec<String> = Vec::new();
        for req in reqs {
            let (want_rule, want) = reference(rules, p, req.method, &req.segs);
            let arn_text = arn_of(req);
            let arn = MethodArn::parse(&arn_text).expect("test ARN");
            let path = path_of(&req.segs);
            let segs: Vec<&str> = split_path(&path).expect("path").collect();
            prop_assert_eq!(&segs, &req.segs);
            // The verifier's step, as the handler runs it: the users'
            // deciding rule names the `token_use` (the verifier's own tests
            // cover that it refuses the other kind).
            let expected = set
                .route_for(req.method, &segs)
                .map_or(TokenUse::Access, |i| set.rules()[i].token_use);
            if claims.token_use != expected {
                prop_assert_eq!(
                    Err(Reason::WrongTokenUse),
                    want,
                    "{:?} by {:?} in {}",
                    req,
                    p,
                    json
                );
                continue;
            }
            let out = auth.decide(&claims, req.method, &segs, Some(arn));
            prop_assert_eq!(
                out.rule,
                want_rule,
                "deciding rule for {:?} by {:?} in {}",
                req,
                p,
                json
            );
            prop_assert_eq!(
                out.verdict,
                want,
                "decision for {:?} by {:?} in {}",
                req,
                p,
                json
            );
            // Cache safety: the returned policy, applied by API Gateway to
            // every other request of this token, allows none the rules refuse.
            let text = out.policy.expect("REST policy").document().get().to_owned();
            if checked.contains(&text) {
                continue;
            }
            let doc: Value = serde_json::from_str(&text).expect("policy JSON");
            checked.push(text);
            for other in reqs {
                if policy::evaluate(&doc, &arn_of(other)) {
                    let (_, v) = reference(rules, p, other.method, &other.segs);
                    // (a cached policy is served to the same token, so the
                    // same principal, whatever the route)
                    prop_assert!(
                        v.is_ok(),
                        "policy returned for {:?} allows {:?} ({:?}) for {:?} in {}",
                        req,
                        other,
                        v,
                        p,
                        json
                    );
                }
            }
        }
    }
    Ok(())
}

/// At least 10 000 random rule sets (issue 9).
#[test]
fn decisions_equal_the_reference_and_policies_never_over_grant() {
    let config = verifier_config();
    let mut runner = TestRunner::new(Config {
        cases: 10_000,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&case(), |(rules, principals, reqs)| {
            check_case(&config, &rules, &principals, &reqs)
        })
        .unwrap();
}

/// Start-up never panics, whatever `AUTH_RULES` holds: random JSON-ish text
/// and random rule-shaped arrays are accepted or refused with a message
/// naming the variable.
#[test]
fn any_auth_rules_value_is_parsed_or_refused_by_name_never_a_panic() {
    let mut runner = TestRunner::new(Config {
        cases: 2_000,
        failure_persistence: None,
        ..Config::default()
    });
    let fragment = proptest::sample::select(vec![
        "[",
        "]",
        "{",
        "}",
        ",",
        ":",
        "\"route\"",
        "\"GET /a\"",
        "\"ANY /{x}/*\"",
        "\"scopes_any\"",
        "[\"s\"]",
        "[]",
        "null",
        "1",
        "\"token_use\"",
        "\"id\"",
        "\"/\"",
        "\" \"",
        "\"GET /a/\"",
    ]);
    let text = proptest::collection::vec(fragment, 0..30).prop_map(|v| v.concat());
    runner
        .run(&text, |t| {
            if let Err(e) = RuleSet::parse(&t) {
                prop_assert!(e.to_string().starts_with("AUTH_RULES"), "{e}");
            }
            Ok(())
        })
        .unwrap();
}
