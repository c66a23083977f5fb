//! Route rules (`AUTH_RULES`): which token a route needs and what it must carry.
//!
//! `AUTH_RULES` is a JSON array of objects:
//!
//! ```json
//! [{"route":"GET /notes","scopes_any":["notes/read"]},
//!  {"route":"ANY /admin/*","groups_any":["admin"]},
//!  {"route":"GET /me/profile","token_use":"id"}]
//! ```
//!
//! - `route` is `<METHOD|ANY> <path>`; `METHOD` is one of the seven API
//!   Gateway methods, upper case. The path starts with `/`; each segment is a
//!   literal, `{name}` or `*`, and `{name}` and `*` both match exactly one
//!   segment (any value, even empty). `/` alone is the root resource.
//!   Greedy `{proxy+}` is refused: a rule never covers a whole subtree.
//! - `scopes_any`, `scopes_all`, `groups_any`, `groups_all` (non-empty lists
//!   of non-empty names) and `token_use` (`"access"` by default, `"id"` only
//!   where a route explicitly wants ID tokens) are optional; all given
//!   requirements must hold. Comparisons are byte-exact.
//! - Unknown fields, duplicate fields, duplicate routes, an empty array and
//!   more than [`MAX_RULES`] rules are start-up errors naming the rule index
//!   and field.
//!
//! **Precedence**: when several rules match a request, the most specific one
//! decides, independent of the order in the array. Rules are compared
//! segment by segment from the left, a literal beating `{name}`/`*`; when the
//! paths tie, a named method beats `ANY`. Rules of different lengths never
//! match the same request; the order is made total by comparing the segment
//! count first, and sorted once at start-up. Two rules can only tie completely
//! if they match exactly the same requests, and that is refused as a
//! duplicate, so every request has at most one deciding rule.

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::claims::{PrincipalType, TokenUse, VerifiedClaims};
use crate::reason::Reason;

/// At most this many rules: entitlements are a bit set, and an IAM policy
/// listing hundreds of rules × methods would exceed API Gateway's limits.
pub const MAX_RULES: usize = 100;

/// A concrete HTTP method as it appears in an `execute-api` ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
    Head,
    Options,
}

impl Method {
    /// Every method API Gateway can put in a `methodArn`; `ANY` expands to these.
    pub const ALL: [Method; 7] = [
        Method::Get,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Head,
        Method::Options,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
        }
    }

    /// Upper case only, byte-exact: that is how API Gateway writes it.
    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// The method part of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MethodMatch {
    Any,
    Only(Method),
}

impl MethodMatch {
    pub fn matches(self, m: Method) -> bool {
        match self {
            MethodMatch::Any => true,
            MethodMatch::Only(x) => x == m,
        }
    }

    /// The concrete methods this covers.
    pub fn methods(self) -> impl Iterator<Item = Method> {
        Method::ALL.into_iter().filter(move |m| self.matches(*m))
    }

    fn overlaps(self, other: MethodMatch) -> bool {
        match (self, other) {
            (MethodMatch::Only(a), MethodMatch::Only(b)) => a == b,
            _ => true,
        }
    }
}

/// One path segment of a route.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// Matches exactly this segment, byte for byte.
    Literal(String),
    /// `{name}` or `*`: any one segment.
    Wildcard,
}

/// A parsed `<METHOD|ANY> <path>`. Only [`RoutePattern::parse`] builds one,
/// so a literal never holds a character that IAM would read as a wildcard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePattern {
    method: MethodMatch,
    segments: Vec<Segment>,
    text: String,
}

impl RoutePattern {
    pub fn parse(route: &str) -> Result<Self, String> {
        let (method, path) = route
            .split_once(' ')
            .ok_or_else(|| format!("`{route}` is not `<METHOD|ANY> <path>`"))?;
        let method = if method == "ANY" {
            MethodMatch::Any
        } else {
            MethodMatch::Only(Method::parse(method).ok_or_else(|| {
                format!(
                    "method `{method}` is not ANY, GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS"
                )
            })?)
        };
        let segments = parse_path(path)?;
        Ok(Self {
            method,
            segments,
            text: route.to_owned(),
        })
    }

    pub fn method(&self) -> MethodMatch {
        self.method
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segments
    }

    /// As written in `AUTH_RULES`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether a request (method and path segments, see [`split_path`]) is
    /// one this route names.
    pub fn matches(&self, method: Method, segments: &[&str]) -> bool {
        self.method.matches(method)
            && self.segments.len() == segments.len()
            && self.segments.iter().zip(segments).all(|(p, s)| match p {
                Segment::Literal(l) => l == s,
                Segment::Wildcard => true,
            })
    }

    /// Whether some request matches both routes.
    pub fn overlaps(&self, other: &RoutePattern) -> bool {
        self.method.overlaps(other.method)
            && self.segments.len() == other.segments.len()
            && self
                .segments
                .iter()
                .zip(&other.segments)
                .all(|(a, b)| match (a, b) {
                    (Segment::Literal(x), Segment::Literal(y)) => x == y,
                    _ => true,
                })
    }

    /// Precedence: `Less` means `self` is more specific and decides first.
    ///
    /// A total order, the lexicographic order of (segment count, segment
    /// kinds from the left with literal first, named method before `ANY`).
    /// The segment count comes first only to make the order total: rules of
    /// different lengths never match the same request, so how they sort
    /// against each other decides nothing. Comparing only the common prefix
    /// (as an earlier version did) is not transitive and let `sort_by` put a
    /// looser rule first, or abort on more than 20 rules.
    fn specificity_cmp(&self, other: &RoutePattern) -> std::cmp::Ordering {
        // `false` sorts first: a literal beats a wildcard, `Only` beats `Any`.
        let wild = |s: &Segment| matches!(s, Segment::Wildcard);
        let any = |m: MethodMatch| matches!(m, MethodMatch::Any);
        self.segments
            .len()
            .cmp(&other.segments.len())
            .then_with(|| (self.segments.iter().map(wild)).cmp(other.segments.iter().map(wild)))
            .then_with(|| any(self.method).cmp(&any(other.method)))
    }
}

/// Splits a request path into segments: `/` → `[""]`, `/a/b` → `["a","b"]`,
/// `/a/` → `["a",""]`. This is the segmentation IAM's `*` sees in an
/// `execute-api` ARN, so rules and policies agree on every path.
pub fn split_path(path: &str) -> Option<impl Iterator<Item = &str>> {
    path.strip_prefix('/').map(|rest| rest.split('/'))
}

fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    let Some(rest) = path.strip_prefix('/') else {
        return Err(format!("path `{path}` must start with `/`"));
    };
    if rest.is_empty() {
        return Ok(vec![Segment::Literal(String::new())]);
    }
    rest.split('/')
        .map(|seg| {
            if seg.is_empty() {
                return Err(format!(
                    "path `{path}` has an empty segment (`//` or a trailing `/`)"
                ));
            }
            if seg == "*" {
                return Ok(Segment::Wildcard);
            }
            if let Some(inner) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                if inner.ends_with('+') {
                    return Err(format!(
                        "greedy segment `{seg}` is not supported: `{{name}}` and `*` match exactly one segment; add a rule per depth"
                    ));
                }
                if !inner.is_empty()
                    && inner
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                {
                    return Ok(Segment::Wildcard);
                }
                return Err(format!("segment `{seg}` is not a valid `{{name}}`"));
            }
            // `*` and `?` are IAM wildcards and braces are path variables: a
            // literal holding one would make the policy grant more than the rule.
            if seg
                .chars()
                .any(|c| matches!(c, '*' | '?' | '{' | '}') || c.is_whitespace() || c.is_control())
            {
                return Err(format!(
                    "segment `{seg}` must be a literal without `*`, `?`, braces or whitespace, `{{name}}`, or `*`"
                ));
            }
            Ok(Segment::Literal(seg.to_owned()))
        })
        .collect()
}

/// A rule's `principal`: which kind of caller it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalMatch {
    /// People signed in to the pool (the default).
    #[default]
    User,
    /// App clients with client-credentials tokens.
    Machine,
    Any,
}

impl PrincipalMatch {
    pub fn admits(self, p: PrincipalType) -> bool {
        matches!(
            (self, p),
            (PrincipalMatch::Any, _)
                | (PrincipalMatch::User, PrincipalType::User)
                | (PrincipalMatch::Machine, PrincipalType::Machine)
        )
    }
}

/// One rule of `AUTH_RULES`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub route: RoutePattern,
    pub scopes_any: Vec<String>,
    pub scopes_all: Vec<String>,
    pub groups_any: Vec<String>,
    pub groups_all: Vec<String>,
    pub token_use: TokenUse,
    pub principal: PrincipalMatch,
}

impl Rule {
    /// Whether verified claims meet the requirements. `token_use` was
    /// already enforced by the verifier for the deciding rule; it is checked
    /// here too so entitlements listed in a policy are exact.
    pub fn check(&self, claims: &VerifiedClaims) -> Result<(), Reason> {
        if claims.token_use != self.token_use {
            return Err(Reason::WrongTokenUse);
        }
        if !self.principal.admits(claims.principal_type()) {
            return Err(Reason::PrincipalNotAllowed);
        }
        let has = |list: &[String], name: &String| list.iter().any(|x| x == name);
        if (!self.scopes_any.is_empty() && !self.scopes_any.iter().any(|s| has(&claims.scopes, s)))
            || !self.scopes_all.iter().all(|s| has(&claims.scopes, s))
        {
            return Err(Reason::InsufficientScope);
        }
        if (!self.groups_any.is_empty() && !self.groups_any.iter().any(|g| has(&claims.groups, g)))
            || !self.groups_all.iter().all(|g| has(&claims.groups, g))
        {
            return Err(Reason::InsufficientGroup);
        }
        Ok(())
    }
}

/// The parse fault, naming the rule and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    #[error("AUTH_RULES is not a JSON array of rule objects: {0}")]
    NotAnArray(String),
    #[error(
        "AUTH_RULES is an empty array, which would deny every request; unset it to require only a valid access token"
    )]
    Empty,
    #[error("AUTH_RULES has {0} rules; at most {MAX_RULES} are supported")]
    TooMany(usize),
    #[error("AUTH_RULES[{index}]{}: {problem}", field.map(|f| format!(".{f}")).unwrap_or_default())]
    Rule {
        index: usize,
        field: Option<&'static str>,
        problem: String,
    },
    #[error(
        "AUTH_RULES[{second}] (`{route}`) matches exactly the same requests as AUTH_RULES[{first}]; merge them"
    )]
    Duplicate {
        first: usize,
        second: usize,
        route: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    route: String,
    #[serde(default)]
    scopes_any: Option<Vec<String>>,
    #[serde(default)]
    scopes_all: Option<Vec<String>>,
    #[serde(default)]
    groups_any: Option<Vec<String>>,
    #[serde(default)]
    groups_all: Option<Vec<String>>,
    #[serde(default)]
    token_use: Option<TokenUse>,
    #[serde(default)]
    principal: Option<PrincipalMatch>,
}

/// A validated `AUTH_RULES`, with precedence and overlaps worked out once,
/// separately for each kind of caller: a request is decided among the rules
/// that admit the caller's [`PrincipalType`] only.
#[derive(Debug, Clone)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// Index 0: users, 1: machines.
    views: [View; 2],
}

/// The rules one kind of caller sees.
#[derive(Debug, Clone, Default)]
struct View {
    /// Rule indices admitting this principal type, most specific first.
    order: Vec<usize>,
    /// `shadows[n]`: the rules of this view that rule `n` overrides on some
    /// request (`n` is more specific and they overlap). Bit `i` is rule `i`;
    /// zero for rules outside the view.
    shadows: Vec<u128>,
}

const fn view_index(p: PrincipalType) -> usize {
    match p {
        PrincipalType::User => 0,
        PrincipalType::Machine => 1,
    }
}

/// A set of rule indices (bit `i` is rule `i`).
pub type RuleMask = u128;

impl RuleSet {
    /// Parses `AUTH_RULES`. `None`, empty or blank → `Ok(None)`: no rules.
    pub fn from_env_value(value: Option<&str>) -> Result<Option<Self>, RulesError> {
        match value {
            Some(v) if !v.trim().is_empty() => Self::parse(v).map(Some),
            _ => Ok(None),
        }
    }

    pub fn parse(json: &str) -> Result<Self, RulesError> {
        // Raw elements first, so each rule's error carries its index and a
        // duplicate field inside a rule is an error rather than "last wins".
        let raw: Vec<&RawValue> =
            serde_json::from_str(json).map_err(|e| RulesError::NotAnArray(e.to_string()))?;
        if raw.is_empty() {
            return Err(RulesError::Empty);
        }
        if raw.len() > MAX_RULES {
            return Err(RulesError::TooMany(raw.len()));
        }
        let mut rules = Vec::with_capacity(raw.len());
        for (index, r) in raw.iter().enumerate() {
            let err = |field, problem: String| RulesError::Rule {
                index,
                field,
                problem,
            };
            let r: RawRule = serde_json::from_str(r.get()).map_err(|e| err(None, e.to_string()))?;
            let route = RoutePattern::parse(&r.route).map_err(|p| err(Some("route"), p))?;
            let list = |field: &'static str, v: Option<Vec<String>>| match v {
                None => Ok(Vec::new()),
                Some(v) if v.is_empty() => Err(err(
                    Some(field),
                    "empty list (omit the field for no requirement)".into(),
                )),
                Some(v) => {
                    for (i, name) in v.iter().enumerate() {
                        if name.is_empty() || name.chars().any(char::is_whitespace) {
                            return Err(err(
                                Some(field),
                                format!(
                                    "[{i}] `{name}` is empty or holds whitespace, so no token could carry it"
                                ),
                            ));
                        }
                    }
                    Ok(v)
                }
            };
            rules.push(Rule {
                route,
                scopes_any: list("scopes_any", r.scopes_any)?,
                scopes_all: list("scopes_all", r.scopes_all)?,
                groups_any: list("groups_any", r.groups_any)?,
                groups_all: list("groups_all", r.groups_all)?,
                token_use: r.token_use.unwrap_or_default(),
                principal: r.principal.unwrap_or_default(),
            });
            let rule = &rules[index];
            if rule.principal != PrincipalMatch::User && rule.token_use == TokenUse::Id {
                return Err(err(
                    Some("token_use"),
                    "`id` with `principal` machine or any: machine tokens are access tokens".into(),
                ));
            }
        }
        Self::new(rules)
    }

    fn new(rules: Vec<Rule>) -> Result<Self, RulesError> {
        let user = Self::view(&rules, PrincipalType::User)?;
        let machine = Self::view(&rules, PrincipalType::Machine)?;
        // The verifier is told the `token_use` before it knows who calls
        // (from the users' rule), so a machine rule must not share requests
        // with a user rule that wants ID tokens.
        for &m in &machine.order {
            for &u in &user.order {
                if rules[u].token_use == TokenUse::Id && rules[m].route.overlaps(&rules[u].route) {
                    return Err(RulesError::Rule {
                        index: m,
                        field: Some("principal"),
                        problem: format!(
                            "shares requests with AUTH_RULES[{u}] (`{}`), which wants ID tokens; machine tokens are access tokens",
                            rules[u].route.as_str()
                        ),
                    });
                }
            }
        }
        Ok(Self {
            rules,
            views: [user, machine],
        })
    }

    fn view(rules: &[Rule], p: PrincipalType) -> Result<View, RulesError> {
        let n = rules.len();
        let mut order: Vec<usize> = (0..n).filter(|&i| rules[i].principal.admits(p)).collect();
        order.sort_by(|&a, &b| {
            rules[a]
                .route
                .specificity_cmp(&rules[b].route)
                .then(a.cmp(&b))
        });
        let mut rank = vec![usize::MAX; n];
        for (pos, &i) in order.iter().enumerate() {
            rank[i] = pos;
        }
        let mut members = order.clone();
        members.sort_unstable();
        let mut shadows = vec![0u128; n];
        for (x, &a) in members.iter().enumerate() {
            for &b in &members[x + 1..] {
                let (ra, rb) = (&rules[a].route, &rules[b].route);
                if !ra.overlaps(rb) {
                    continue;
                }
                if ra.specificity_cmp(rb).is_eq() {
                    return Err(RulesError::Duplicate {
                        first: a,
                        second: b,
                        route: rb.as_str().to_owned(),
                    });
                }
                if rank[a] < rank[b] {
                    shadows[a] |= 1 << b;
                } else {
                    shadows[b] |= 1 << a;
                }
            }
        }
        Ok(View { order, shadows })
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Index of the rule that decides a user's request, if any.
    pub fn route_for(&self, method: Method, segments: &[&str]) -> Option<usize> {
        self.route_for_principal(method, segments, PrincipalType::User)
    }

    /// Index of the rule that decides a request of this kind of caller.
    pub fn route_for_principal(
        &self,
        method: Method,
        segments: &[&str],
        p: PrincipalType,
    ) -> Option<usize> {
        self.views[view_index(p)]
            .order
            .iter()
            .copied()
            .find(|&i| self.rules[i].route.matches(method, segments))
    }

    /// Whether any rule, for any kind of caller, matches the request.
    pub fn any_matches(&self, method: Method, segments: &[&str]) -> bool {
        self.rules.iter().any(|r| r.route.matches(method, segments))
    }

    /// The rules these claims satisfy.
    pub fn entitlements(&self, claims: &VerifiedClaims) -> RuleMask {
        self.rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.check(claims).is_ok())
            .fold(0, |m, (i, _)| m | (1 << i))
    }

    /// Rules that `rule` overrides wherever both match, for users.
    pub fn shadowed_by(&self, rule: usize) -> RuleMask {
        self.shadowed_by_in(PrincipalType::User, rule)
    }

    /// Rules that `rule` overrides wherever both match, for this kind of caller.
    pub fn shadowed_by_in(&self, p: PrincipalType, rule: usize) -> RuleMask {
        self.views[view_index(p)]
            .shadows
            .get(rule)
            .copied()
            .unwrap_or(0)
    }
}
