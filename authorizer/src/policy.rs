//! Cache-safe IAM policies for REST API authorizers, and an IAM-style
//! evaluator to check them.
//!
//! API Gateway caches an authorizer's policy per identity source (the token)
//! and applies it to **every** route the token is later sent to. So the
//! policy is not "allow this `methodArn`" but "allow every route these claims
//! are entitled to": one `Allow` statement per entitled rule, its ARNs built
//! from the request's `methodArn` prefix (partition, region, account, API id,
//! stage).
//!
//! ## Why there are `Deny` statements
//!
//! In an `execute-api` ARN IAM's `*` matches any characters, `/` included,
//! while a rule's `{id}` matches one segment. `GET /notes/{id}` becomes
//! `GET/notes/*`, which IAM would also match against `GET/notes/1/secret`.
//! Three things keep the policy exact:
//!
//! 1. `ANY` is expanded to the seven methods (a `*` in the method position
//!    would also swallow path segments).
//! 2. For each wildcard of an allowed route, a `Deny` for the same route with
//!    that wildcard replaced by `*/*`: exactly the deeper paths the `*`
//!    over-matches.
//! 3. A more specific rule the principal does *not* meet, overlapping an
//!    allowed one, is denied (or, when it covers the allowed rule for a
//!    method, that method is simply not allowed).
//!
//! Deny wins in IAM, so a `Deny` must never hit a route the principal *is*
//! entitled to. [`Plan`] checks exactly that; when it holds, the policy
//! allows precisely the routes the rules allow, for every request the cache
//! may serve (the argument is in the comments of [`Plan::build`]). It can
//! fail for rule sets such as `GET /notes/{id}` plus `GET /notes/{id}/comments`
//! for a principal entitled to both: IAM globs cannot say "`notes/X/Y` only
//! when `Y` is `comments`". Such a plan is marked `conflicted`: it still
//! never over-grants, but the deny of the deeper wildcard paths also hits
//! the deeper entitled route. If the current request is one of those, the
//! policy falls back to allowing exactly the current `methodArn`. Either way
//! a cached answer can then be a spurious 403 on the other routes until the
//! cache entry expires; the authorizer logs `policy_not_cache_safe`, and the
//! README recommends a route-aware identity source (`$context.httpMethod`,
//! `$context.resourcePath`) or TTL 0 for such APIs.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::claims::PrincipalType;
use crate::rules::{Method, RuleMask, RuleSet, Segment};

/// `methodArn`s near API Gateway's 1,600-byte limit must work; anything
/// much longer is not from API Gateway.
pub const MAX_METHOD_ARN_LEN: usize = 4096;

/// A parsed `arn:<partition>:execute-api:<region>:<account>:<apiId>/<stage>/<METHOD>/<path>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodArn<'a> {
    /// Everything up to and including the `/` after the stage.
    pub prefix: &'a str,
    pub method: Method,
    /// The request path, starting with `/` (`/` for the root resource).
    pub path: &'a str,
    full: &'a str,
}

/// A `methodArn` that is not one API Gateway sends. It comes from API
/// Gateway, not the caller, so the handler answers it with a 500.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed methodArn: {0}")]
pub struct ArnError(&'static str);

impl<'a> MethodArn<'a> {
    pub fn parse(arn: &'a str) -> Result<Self, ArnError> {
        if arn.len() > MAX_METHOD_ARN_LEN {
            return Err(ArnError("too long"));
        }
        let mut parts = arn.splitn(6, ':');
        let (
            Some("arn"),
            Some(partition),
            Some("execute-api"),
            Some(region),
            Some(account),
            Some(resource),
        ) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        )
        else {
            return Err(ArnError(
                "not arn:<partition>:execute-api:<region>:<account>:<resource>",
            ));
        };
        let charset = |s: &str, extra: &[u8]| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
        };
        if !partition.starts_with("aws") || !charset(partition, b"-") {
            return Err(ArnError("partition"));
        }
        if !charset(region, b"-") {
            return Err(ArnError("region"));
        }
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ArnError("account"));
        }
        let mut res = resource.splitn(4, '/');
        let (Some(api), Some(stage), Some(method), Some(rest)) =
            (res.next(), res.next(), res.next(), res.next())
        else {
            return Err(ArnError("resource is not <apiId>/<stage>/<METHOD>/<path>"));
        };
        if !charset(api, b"") {
            return Err(ArnError("api id"));
        }
        if !charset(stage, b"-_$") {
            return Err(ArnError("stage"));
        }
        let method = Method::parse(method).ok_or(ArnError("method"))?;
        // prefix = arn…/<apiId>/<stage>/ ; path = "/" + rest (the "/" before rest).
        let prefix_len = arn.len() - rest.len() - method.as_str().len() - 1;
        let path_start = arn.len() - rest.len() - 1;
        Ok(Self {
            prefix: &arn[..prefix_len],
            method,
            path: &arn[path_start..],
            full: arn,
        })
    }

    pub fn as_str(&self) -> &'a str {
        self.full
    }
}

/// One token of an ARN glob after `<METHOD>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(String),
    /// IAM `*` in a segment position: one or more whole segments.
    Star,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Glob {
    method: Method,
    toks: Vec<Tok>,
}

impl Glob {
    fn from_segments(method: Method, segs: &[Segment]) -> Self {
        let toks = segs
            .iter()
            .map(|s| match s {
                Segment::Literal(l) => Tok::Lit(l.clone()),
                Segment::Wildcard => Tok::Star,
            })
            .collect();
        Self { method, toks }
    }

    fn render(&self, prefix: &str) -> String {
        let mut s = String::with_capacity(prefix.len() + 8 + self.toks.len() * 8);
        s.push_str(prefix);
        s.push_str(self.method.as_str());
        for t in &self.toks {
            s.push('/');
            match t {
                Tok::Lit(l) => s.push_str(l),
                Tok::Star => s.push('*'),
            }
        }
        s
    }

    /// Whether IAM would match this glob against a request.
    fn matches(&self, method: Method, segs: &[&str]) -> bool {
        method == self.method
            && seg_dp(&self.toks, segs.len(), |t, j| match t {
                Tok::Lit(l) => l == segs[j],
                Tok::Star => true,
            })
    }

    /// Whether some request matches both this glob and the route `segs`.
    fn meets(&self, method: Method, segs: &[Segment]) -> bool {
        method == self.method
            && seg_dp(&self.toks, segs.len(), |t, j| match (t, &segs[j]) {
                (Tok::Lit(a), Segment::Literal(b)) => a == b,
                _ => true,
            })
    }
}

/// `toks` against `m` segments, where `Star` takes one or more segments and
/// `fits(tok, j)` says whether a non-star token can take segment `j`.
fn seg_dp(toks: &[Tok], m: usize, fits: impl Fn(&Tok, usize) -> bool) -> bool {
    // dp[j]: toks[i..] matches segments[j..], computed from i = n down to 0.
    let mut next = vec![false; m + 1];
    next[m] = true;
    for t in toks.iter().rev() {
        let mut cur = vec![false; m + 1];
        for j in (0..m).rev() {
            cur[j] = match t {
                Tok::Star => next[j + 1] || cur[j + 1],
                lit => fits(lit, j) && next[j + 1],
            };
        }
        next = cur;
    }
    next[0]
}

/// The policy for one set of entitlements, independent of the API and stage.
#[derive(Debug, Clone)]
pub struct Plan {
    /// One entry per entitled rule that allows anything: its globs.
    allow: Vec<Vec<Glob>>,
    deny: Vec<Glob>,
    /// A deny also hits an entitled route (see the module docs).
    conflicted: bool,
}

impl Plan {
    /// Everything: no `AUTH_RULES`, any valid access token.
    fn everything() -> Self {
        Self {
            allow: vec![vec![]],
            deny: vec![],
            conflicted: false,
        }
    }

    /// The plan for the rules in `mask`.
    ///
    /// Why it is exact when not `conflicted` — write `S` for the entitled
    /// rules, a "cell" for an entitled rule on one of its methods:
    /// - every allowed request lies in some cell's glob and outside that
    ///   cell's overflow denies, so the cell's rule matches it exactly; its
    ///   deciding rule is that rule or a more specific overlapping one, and
    ///   a more specific one outside `S` is in the deny list (or had removed
    ///   the cell) — so the deciding rule is in `S`: no over-grant;
    /// - a request decided by a rule in `S` lies in its cell's glob (the
    ///   cell is kept: a covering more specific rule would decide instead),
    ///   and no deny meets any entitled cell: no spurious 403.
    pub fn build(rules: &RuleSet, mask: RuleMask) -> Self {
        Self::build_for(rules, PrincipalType::User, mask)
    }

    /// [`Plan::build`] for one kind of caller: only the rules admitting it
    /// decide its requests, so only they shadow or are denied.
    pub fn build_for(rules: &RuleSet, principal: PrincipalType, mask: RuleMask) -> Self {
        let all = rules.rules();
        let entitled = |i: usize| mask & (1 << i) != 0;
        let mut allow = Vec::new();
        let mut cells: Vec<(Method, usize)> = Vec::new();
        let mut deny: Vec<Glob> = Vec::new();
        for (i, rule) in all.iter().enumerate() {
            if !entitled(i) {
                continue;
            }
            let mut globs = Vec::new();
            for m in rule.route.method().methods() {
                // Not entitled to a more specific rule covering this cell
                // completely (same path, this method): leave the cell out.
                let covered = (0..all.len()).any(|n| {
                    !entitled(n)
                        && rules.shadowed_by_in(principal, n) & (1 << i) != 0
                        && all[n].route.method().matches(m)
                        && all[n].route.segments() == rule.route.segments()
                });
                if covered {
                    continue;
                }
                let g = Glob::from_segments(m, rule.route.segments());
                for (p, t) in g.toks.iter().enumerate() {
                    if *t == Tok::Star {
                        let mut toks = g.toks.clone();
                        toks.insert(p, Tok::Star);
                        deny.push(Glob { method: m, toks });
                    }
                }
                cells.push((m, i));
                globs.push(g);
            }
            if !globs.is_empty() {
                allow.push(globs);
            }
        }
        for (n, rule) in all.iter().enumerate() {
            if entitled(n) {
                continue;
            }
            let shadowed = rules.shadowed_by_in(principal, n);
            for m in rule.route.method().methods() {
                if cells
                    .iter()
                    .any(|&(cm, ci)| cm == m && shadowed & (1 << ci) != 0)
                {
                    deny.push(Glob::from_segments(m, rule.route.segments()));
                }
            }
        }
        deny.dedup();
        let conflicted = cells.iter().any(|&(m, i)| {
            let segs = all[i].route.segments();
            deny.iter().any(|d| d.meets(m, segs))
        });
        Self {
            allow,
            deny,
            conflicted,
        }
    }

    pub fn is_conflicted(&self) -> bool {
        self.conflicted
    }

    /// Whether the policy rendered from this plan allows a request.
    pub fn allows(&self, method: Method, segs: &[&str]) -> bool {
        let everything = self.allow.len() == 1 && self.allow[0].is_empty();
        (everything || self.allow.iter().flatten().any(|g| g.matches(method, segs)))
            && !self.deny.iter().any(|g| g.matches(method, segs))
    }

    /// The `policyDocument` JSON for an API/stage prefix.
    pub fn render(&self, prefix: &str) -> Box<RawValue> {
        let mut statements = Vec::new();
        for globs in &self.allow {
            let resource = if globs.is_empty() {
                vec![format!("{prefix}*/*")]
            } else {
                globs.iter().map(|g| g.render(prefix)).collect()
            };
            statements.push(Statement::new("Allow", resource));
        }
        if !self.deny.is_empty() {
            statements.push(Statement::new(
                "Deny",
                self.deny.iter().map(|g| g.render(prefix)).collect(),
            ));
        }
        if self.allow.is_empty() {
            // Entitled to nothing: say so, for every route of the stage.
            statements.push(Statement::new("Deny", vec![format!("{prefix}*/*")]));
        }
        document(statements)
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Statement {
    action: &'static str,
    effect: &'static str,
    resource: Vec<String>,
}

impl Statement {
    fn new(effect: &'static str, resource: Vec<String>) -> Self {
        Self {
            action: "execute-api:Invoke",
            effect,
            resource,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Document {
    version: &'static str,
    statement: Vec<Statement>,
}

/// Serialised once, as raw JSON the response embeds verbatim (never parsed
/// again). Serialising plain strings cannot fail; if it somehow did, a
/// `null` document makes API Gateway answer 500: closed, never open.
fn document(statement: Vec<Statement>) -> Box<RawValue> {
    let doc = Document {
        version: "2012-10-17",
        statement,
    };
    serde_json::value::to_raw_value(&doc).unwrap_or_else(|_| RawValue::NULL.to_owned())
}

/// The `policyDocument` allowing exactly one `methodArn` (the fallback for a
/// conflicted plan). An ARN holding an IAM wildcard character would allow
/// more than itself, so it gets a deny instead.
pub fn single_route_document(arn: &MethodArn<'_>) -> Box<RawValue> {
    if arn.as_str().contains(['*', '?']) {
        return document(vec![Statement::new(
            "Deny",
            vec![format!("{}*/*", arn.prefix)],
        )]);
    }
    document(vec![Statement::new("Allow", vec![arn.as_str().to_owned()])])
}

/// The `policyDocument` denying every route of the API/stage.
pub fn deny_document(prefix: &str) -> Box<RawValue> {
    document(vec![Statement::new("Deny", vec![format!("{prefix}*/*")])])
}

/// Rendered policies, per API/stage prefix and entitlement set: a warm
/// authorizer builds each policy once. Bounded, since prefixes come from
/// the deployment and entitlement sets from the rules, but a bug or an odd
/// deployment must not grow memory without limit.
#[derive(Debug, Default)]
pub struct PolicyCache {
    map: RwLock<HashMap<Box<str>, ByMask>>,
}

/// The rendered policies of one API/stage prefix, per kind of caller and
/// entitlement set.
type ByMask = HashMap<(PrincipalType, RuleMask), Arc<Rendered>>;

/// A plan and its `policyDocument` for one prefix.
#[derive(Debug)]
pub struct Rendered {
    pub plan: Plan,
    pub document: Box<RawValue>,
}

const POLICY_CACHE_MAX: usize = 1024;

impl PolicyCache {
    /// `rules: None` means no `AUTH_RULES` (everything for a valid token).
    pub fn get(
        &self,
        rules: Option<&RuleSet>,
        principal: PrincipalType,
        prefix: &str,
        mask: RuleMask,
    ) -> Arc<Rendered> {
        let key = (principal, mask);
        if let Ok(map) = self.map.read()
            && let Some(r) = map.get(prefix).and_then(|m| m.get(&key))
        {
            return r.clone();
        }
        let plan = match rules {
            Some(rules) => Plan::build_for(rules, principal, mask),
            None => Plan::everything(),
        };
        let rendered = Arc::new(Rendered {
            document: plan.render(prefix),
            plan,
        });
        if let Ok(mut map) = self.map.write() {
            if map.values().map(HashMap::len).sum::<usize>() >= POLICY_CACHE_MAX {
                map.clear();
            }
            map.entry(prefix.into())
                .or_default()
                .insert(key, rendered.clone());
        }
        rendered
    }
}

/// Evaluates an IAM policy the way API Gateway does for an authorizer
/// result: an explicit `Deny` matching `method_arn` wins, then an `Allow`,
/// and otherwise the request is denied. `policy` is either a whole
/// authorizer response (with `policyDocument`) or the document itself.
///
/// Only `Action`/`Resource` are understood; a statement using `NotAction`,
/// `NotResource` or `Condition` is treated as matching when it denies and
/// ignored when it allows, so anything unexpected fails closed.
pub fn evaluate(policy: &Value, method_arn: &str) -> bool {
    let doc = policy.get("policyDocument").unwrap_or(policy);
    let statements: Vec<&Value> = match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => return false,
    };
    fn strings(v: Option<&Value>) -> Vec<&str> {
        match v {
            Some(Value::String(s)) => vec![s.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
    let mut allowed = false;
    for st in statements {
        let unusual = ["NotAction", "NotResource", "Condition"]
            .iter()
            .any(|k| st.get(k).is_some());
        let applies = unusual
            || (strings(st.get("Action"))
                .iter()
                .any(|a| iam_glob(a, "execute-api:Invoke"))
                && strings(st.get("Resource"))
                    .iter()
                    .any(|r| iam_glob(r, method_arn)));
        match st.get("Effect").and_then(Value::as_str) {
            Some("Deny") if applies => return false,
            Some("Allow") if applies && !unusual => allowed = true,
            _ => {}
        }
    }
    allowed
}

/// IAM string matching: `*` any run of characters (`/` included), `?` one
/// character, everything else exact and case-sensitive.
pub fn iam_glob(pattern: &str, text: &str) -> bool {
    // Bytes when both are ASCII (every ARN API Gateway sends), else chars,
    // so `?` always stands for one character.
    if pattern.is_ascii() && text.is_ascii() {
        return glob(pattern.as_bytes(), text.as_bytes(), b'*', b'?');
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    glob(&p, &t, '*', '?')
}

fn glob<T: Copy + PartialEq>(p: &[T], t: &[T], any: T, one: T) -> bool {
    let (mut i, mut j) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while j < t.len() {
        if i < p.len() && (p[i] == one || (p[i] != any && p[i] == t[j])) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == any {
            star = Some((i, j));
            i += 1;
        } else if let Some((si, sj)) = star {
            i = si + 1;
            j = sj + 1;
            star = Some((si, sj + 1));
        } else {
            return false;
        }
    }
    p[i..].iter().all(|&c| c == any)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_glob_semantics() {
        assert!(iam_glob("a/*", "a/b/c"));
        assert!(iam_glob("a/*", "a/"));
        assert!(!iam_glob("a/*", "a"));
        assert!(iam_glob("a/?", "a/b"));
        assert!(!iam_glob("a/?", "a/bc"));
        assert!(iam_glob("*", ""));
        assert!(!iam_glob("A", "a"));
        assert!(iam_glob("a*b*c", "aXbYbZc"));
    }

    #[test]
    fn method_arn_parts() {
        let a =
            MethodArn::parse("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/notes/1")
                .unwrap();
        assert_eq!(
            a.prefix,
            "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/"
        );
        assert_eq!(a.method, Method::Get);
        assert_eq!(a.path, "/notes/1");
        let root = MethodArn::parse("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/")
            .unwrap();
        assert_eq!(root.path, "/");
    }
}
