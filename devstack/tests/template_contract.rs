//! The contracts that tie `template.yaml` to the code it deploys:
//!
//! - every route `api-handler` serves is an API event of the handler, and
//!   nothing else is;
//! - every route but `GET /health` goes through the Lambda authorizer, and
//!   the template's `AUTH_RULES` — parsed by the authorizer's own parser —
//!   has a rule for each of them (`admin` group for `/admin/*`);
//! - every environment variable each function reads is declared, or is
//!   knowingly left to its default (listed below with the reason), and the
//!   template declares nothing the code does not read;
//! - the table's keys and TTL attribute are the ones the handler writes, and
//!   the identity pool role's `LeadingKeys` condition uses the same
//!   partition format.
//!
//! The template is parsed with its CloudFormation tags (`!Ref`, `!GetAtt`,
//! `!If`, …) kept, so a reference is checked as a reference.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use authorizer::rules::{Method, RuleSet};
use common::{is_ref_to, resource, root, strings, tag, template};
use serde_json::Value as Json;
use serde_norway::Value;

/// The routes `api-handler` serves (issue 3), as `(method, API Gateway resource path)`.
const HANDLER_ROUTES: [(&str, &str); 9] = [
    ("GET", "/health"),
    ("GET", "/me"),
    ("GET", "/notes"),
    ("POST", "/notes"),
    ("GET", "/notes/{id}"),
    ("PUT", "/notes/{id}"),
    ("DELETE", "/notes/{id}"),
    ("GET", "/admin/users/{sub}/notes"),
    // Token revocation (issue 11).
    ("POST", "/signout"),
];

/// The only route API Gateway lets through without the authorizer.
const PUBLIC_ROUTE: (&str, &str) = ("GET", "/health");

/// Variables the code reads that the template deliberately does not set.
const AUTHORIZER_DEFAULTED: [(&str, &str); 11] = [
    ("RUST_LOG", LOG_FILTER),
    ("JWKS_STALE_MAX_SECONDS", "safe default (one day)"),
    (
        "JWKS_URL",
        "local stand-ins only; in AWS the pool's own JWKS URL is derived",
    ),
    ("AWS_ENDPOINT_URL", "local stand-ins only"),
    (
        "AWS_ENDPOINT_URL_COGNITO_IDENTITY_PROVIDER",
        "local stand-ins only",
    ),
    ("JWKS_COOLDOWN_SECONDS", "safe default"),
    ("JWKS_FAILURE_BACKOFF_SECONDS", "safe default"),
    ("JWKS_FAILURE_BACKOFF_MAX_SECONDS", "safe default"),
    ("JWKS_MAX_AGE_SECONDS", "safe default"),
    (
        "JWKS_FETCH_TIMEOUT_MS",
        "safe default, fits the 3 s function timeout",
    ),
    ("JWKS_MAX_BYTES", "safe default"),
];
const HANDLER_DEFAULTED: [(&str, &str); 2] = [
    ("IDEMPOTENCY_TTL_SECONDS", "safe default"),
    ("RUST_LOG", LOG_FILTER),
];
const LOG_FILTER: &str =
    "defaults to info; the stack filters the JSON lines with LoggingConfig.ApplicationLogLevel";

fn env_vars(t: &Value, function: &str) -> BTreeSet<String> {
    resource(t, function)["Properties"]["Environment"]["Variables"]
        .as_mapping()
        .unwrap_or_else(|| panic!("{function} declares no environment"))
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect()
}

/// `(event name, method, path, auth)` of every API event of `function`.
fn api_events(t: &Value, function: &str) -> Vec<(String, String, String, Value)> {
    let events = resource(t, function)["Properties"]["Events"].as_mapping();
    events
        .into_iter()
        .flatten()
        .map(|(name, ev)| {
            let name = name.as_str().unwrap().to_owned();
            assert_eq!(
                ev["Type"].as_str(),
                Some("Api"),
                "{function}.{name}: only REST API events"
            );
            let p = &ev["Properties"];
            assert!(
                is_ref_to(&p["RestApiId"], "Api"),
                "{function}.{name} is not on the stack's Api"
            );
            let method = p["Method"].as_str().unwrap().to_ascii_uppercase();
            let path = p["Path"].as_str().unwrap().to_owned();
            (name, method, path, p["Auth"].clone())
        })
        .collect()
}

/// A concrete request path for an API Gateway resource path.
fn sample_path(resource: &str) -> String {
    resource
        .split('/')
        .map(|s| {
            if s.starts_with('{') {
                "sample-value"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn auth_rules_json(t: &Value) -> String {
    resource(t, "AuthorizerFunction")["Properties"]["Environment"]["Variables"]["AUTH_RULES"]
        .as_str()
        .expect("AUTH_RULES is a literal string in the template")
        .to_owned()
}

#[test]
fn every_handler_route_is_an_api_event_of_the_handler_and_nothing_else_is() {
    let t = template();
    let declared: BTreeSet<(String, String)> = api_events(&t, "ApiHandlerFunction")
        .into_iter()
        .map(|(_, m, p, _)| (m, p))
        .collect();
    let served: BTreeSet<(String, String)> = HANDLER_ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        declared, served,
        "API events of ApiHandlerFunction vs. the routes it serves"
    );
    assert!(
        t["Resources"]["AuthorizerFunction"]["Properties"]["Events"].is_null(),
        "the authorizer is invoked by API Gateway as an authorizer, never as a route"
    );
}

#[test]
fn no_route_but_health_skips_the_authorizer() {
    let t = template();
    let api = &resource(&t, "Api")["Properties"];
    let auth = &api["Auth"];
    let default = auth["DefaultAuthorizer"]
        .as_str()
        .expect("the API has a default authorizer");
    let authorizer = &auth["Authorizers"][default];
    assert_eq!(
        tag(&authorizer["FunctionArn"], "GetAtt").and_then(Value::as_str),
        Some("AuthorizerFunction.Arn"),
        "the default authorizer is the authorizer function"
    );
    assert_eq!(authorizer["FunctionPayloadType"].as_str(), Some("REQUEST"));
    let headers = strings(&authorizer["Identity"]["Headers"]);
    assert_eq!(
        headers,
        ["Authorization"],
        "identity source is the Authorization header alone"
    );
    assert!(
        auth["Authorizers"].as_mapping().unwrap().len() == 1,
        "one authorizer only"
    );

    // Every function's every API event: NONE only on /health, and no
    // event may pick a different authorizer.
    let resources = t["Resources"].as_mapping().unwrap();
    for (id, r) in resources {
        if r["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let id = id.as_str().unwrap();
        for (name, method, path, ev_auth) in api_events(&t, id) {
            let chosen = ev_auth["Authorizer"].as_str();
            if (method.as_str(), path.as_str()) == PUBLIC_ROUTE {
                assert_eq!(chosen, Some("NONE"), "{id}.{name}: /health is public");
            } else {
                assert!(
                    chosen.is_none() || chosen == Some(default),
                    "{id}.{name} ({method} {path}) must use the default authorizer, not {chosen:?}"
                );
                assert!(
                    ev_auth["ApiKeyRequired"].is_null() && ev_auth["AuthorizationScopes"].is_null()
                );
            }
        }
    }
    // No second API (HTTP API, raw RestApi) that could expose the handler.
    for (id, r) in resources {
        let ty = r["Type"].as_str().unwrap_or_default();
        assert!(
            !matches!(
                ty,
                "AWS::Serverless::HttpApi" | "AWS::ApiGateway::RestApi" | "AWS::ApiGatewayV2::Api"
            ),
            "{} is a second API",
            id.as_str().unwrap()
        );
    }
}

#[test]
fn auth_rules_parse_with_the_authorizers_parser_and_cover_every_protected_route() {
    let t = template();
    let raw = auth_rules_json(&t);
    let rules = RuleSet::parse(&raw)
        .unwrap_or_else(|e| panic!("AUTH_RULES would fail the authorizer's init: {e}"));
    let parsed: Vec<Json> = serde_json::from_str(&raw).unwrap();

    for (method, resource) in HANDLER_ROUTES {
        if (method, resource) == PUBLIC_ROUTE {
            continue;
        }
        let path = sample_path(resource);
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let m = Method::parse(method).unwrap();
        let index = rules.route_for(m, &segments).unwrap_or_else(|| {
            panic!("no AUTH_RULES rule for {method} {resource}: the authorizer would deny it")
        });
        let rule = &rules.rules()[index];
        // Plain access tokens everywhere (see the template's comment on
        // why custom scopes would lock out SRP sign-ins); `admin` for /admin.
        assert_eq!(rule.token_use.as_str(), "access", "{method} {resource}");
        assert!(
            rule.scopes_any.is_empty() && rule.scopes_all.is_empty(),
            "{method} {resource}"
        );
        if resource.starts_with("/admin/") {
            assert_eq!(
                rule.groups_any,
                ["admin"],
                "{method} {resource} needs the admin group"
            );
        } else {
            assert!(
                rule.groups_any.is_empty() && rule.groups_all.is_empty(),
                "{method} {resource}"
            );
        }
        // The rule is written for exactly this route (not a wildcard that
        // happens to match), so the table of rules reads as the API.
        assert!(
            parsed
                .iter()
                .any(|r| r["route"] == format!("{method} {resource}").as_str()),
            "AUTH_RULES should name {method} {resource} explicitly"
        );
    }
    // Users' rules: one per protected route. Machine rules (issue 9) only
    // for the admin listing, scoped.
    let (users, machines): (Vec<&Json>, Vec<&Json>) = parsed
        .iter()
        .partition(|r| r.get("principal").is_none_or(|p| p == "user"));
    assert_eq!(
        users.len(),
        HANDLER_ROUTES.len() - 1,
        "one rule per protected route, no strays"
    );
    for m in machines {
        assert_eq!(m["route"], "GET /admin/users/{sub}/notes", "{m}");
        assert_eq!(m["principal"], "machine", "{m}");
        assert_eq!(
            m["scopes_any"],
            serde_json::json!(["notes/admin.read"]),
            "{m}"
        );
    }
}

/// Uppercase `SNAKE_CASE` string literals in the Rust files under `dir`:
/// the environment variable names the code reads.
fn env_names_in(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for text in rust_sources_in(dir) {
        for (i, literal) in text.split('"').enumerate() {
            let looks_like_env = i % 2 == 1
                && literal.contains('_')
                && literal.starts_with(|c: char| c.is_ascii_uppercase())
                && literal
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if looks_like_env {
                out.insert(literal.to_owned());
            }
        }
    }
    out
}

/// The text of every Rust file under `dir`, subdirectories included.
fn rust_sources_in(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(fs::read_to_string(&p).unwrap());
            }
        }
    }
    out
}

/// Reserved variables the Lambda service sets itself (and templates may not).
fn set_by_lambda(name: &str) -> bool {
    name.starts_with("AWS_LAMBDA_")
        || matches!(
            name,
            "AWS_REGION" | "AWS_DEFAULT_REGION" | "AWS_EXECUTION_ENV" | "LAMBDA_TASK_ROOT"
        )
}

fn check_env(function: &str, crate_dir: &str, required: &[&str], defaulted: &[(&str, &str)]) {
    let t = template();
    let declared = env_vars(&t, function);
    let read = env_names_in(&root().join(crate_dir).join("src"));
    for name in required {
        assert!(
            read.contains(*name),
            "{crate_dir} no longer reads {name}; update the contract"
        );
    }
    for name in &read {
        let is_defaulted = defaulted.iter().any(|(d, _)| d == name) || set_by_lambda(name);
        assert!(
            declared.contains(name) || is_defaulted,
            "{crate_dir} reads {name} but {function} does not declare it in template.yaml \
             (declare it, or list it as knowingly defaulted here with the reason)"
        );
    }
    for name in &declared {
        assert!(
            !set_by_lambda(name),
            "{function} sets the reserved variable {name}"
        );
        assert!(
            read.contains(name),
            "{function} declares {name}, which {crate_dir} never reads"
        );
    }
    let want: BTreeSet<String> = required.iter().map(|s| s.to_string()).collect();
    assert_eq!(declared, want, "{function}'s environment");
}

#[test]
fn every_variable_the_authorizer_reads_is_declared() {
    use authorizer::config::vars;
    check_env(
        "AuthorizerFunction",
        "authorizer",
        &[
            vars::USER_POOL_ID,
            vars::APP_CLIENT_IDS,
            authorizer::handler::AUTH_RULES,
            vars::JWKS_JSON,
            vars::CLOCK_LEEWAY_SECONDS,
            vars::ISSUER_FORMAT,
        ],
        &AUTHORIZER_DEFAULTED,
    );
    let t = template();
    let env = &resource(&t, "AuthorizerFunction")["Properties"]["Environment"]["Variables"];
    assert!(is_ref_to(&env["USER_POOL_ID"], "UserPool"));
    // `!If [HasMachineClient, !Join [",", [web, machine]], !Ref UserPoolClient]`.
    let ids = &env["APP_CLIENT_IDS"];
    let branches = tag(ids, "If").and_then(Value::as_sequence);
    match branches {
        Some(b) => {
            assert_eq!(b[0].as_str(), Some("HasMachineClient"));
            assert!(is_ref_to(&b[2], "UserPoolClient"));
        }
        None => assert!(is_ref_to(ids, "UserPoolClient")),
    }
}

#[test]
fn every_variable_the_handler_reads_is_declared() {
    check_env(
        "ApiHandlerFunction",
        "api-handler",
        &[
            "TABLE_NAME",
            "MAX_NOTES_PER_USER",
            "CORS_ALLOW_ORIGIN",
            "TOKEN_REVOCATION",
        ],
        &HANDLER_DEFAULTED,
    );
    let t = template();
    let env = &resource(&t, "ApiHandlerFunction")["Properties"]["Environment"]["Variables"];
    assert!(
        is_ref_to(&env["TABLE_NAME"], "NotesTable"),
        "the handler uses the stack's table"
    );
    assert!(
        is_ref_to(&env["CORS_ALLOW_ORIGIN"], "CorsAllowOrigin"),
        "the handler answers with the same CORS origin as the gateway"
    );
}

#[test]
fn table_keys_and_ttl_match_what_the_handler_writes() {
    let t = template();
    let table = resource(&t, "NotesTable");
    assert_eq!(table["Type"].as_str(), Some("AWS::DynamoDB::Table"));
    let p = &table["Properties"];
    let keys: Vec<(&str, &str)> = p["KeySchema"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap(),
                k["KeyType"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(keys, [("PK", "HASH"), ("SK", "RANGE")]);
    let attrs: Vec<(&str, &str)> = p["AttributeDefinitions"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| {
            (
                k["AttributeName"].as_str().unwrap(),
                k["AttributeType"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(attrs, [("PK", "S"), ("SK", "S")]);
    assert_eq!(p["BillingMode"].as_str(), Some("PAY_PER_REQUEST"));
    assert_eq!(
        p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"].as_bool(),
        Some(true)
    );
    assert_eq!(p["SSESpecification"]["SSEEnabled"].as_bool(), Some(true));
    let ttl = &p["TimeToLiveSpecification"];
    assert_eq!(ttl["Enabled"].as_bool(), Some(true));
    assert_eq!(ttl["AttributeName"].as_str(), Some("expiresAt"));

    // The handler really writes that attribute and that partition format.
    let handler_src = root().join("api-handler/src");
    let literals = string_literals_in(&handler_src);
    assert!(
        literals.contains("expiresAt"),
        "api-handler no longer writes `expiresAt`"
    );
    assert!(
        literals.iter().any(|l| l.starts_with("USER#")),
        "api-handler partitions are not `USER#<sub>`"
    );
}

fn string_literals_in(dir: &Path) -> BTreeSet<String> {
    rust_sources_in(dir)
        .iter()
        .flat_map(|text| text.split('"').skip(1).step_by(2).map(str::to_owned))
        .collect()
}

#[test]
fn identity_pool_credentials_reach_only_the_callers_partition() {
    let t = template();
    let tags = &resource(&t, "IdentityPoolPrincipalTags")["Properties"];
    assert_eq!(
        tags["PrincipalTags"]["sub"].as_str(),
        Some("sub"),
        "principal tag `sub` = user-pool sub"
    );
    assert_eq!(tags["UseDefaults"].as_bool(), Some(false));

    let role = &resource(&t, "AuthenticatedIdentityRole")["Properties"];
    let trust = &role["AssumeRolePolicyDocument"]["Statement"][0];
    let actions = strings(&trust["Action"]);
    assert!(
        actions.contains(&"sts:TagSession"),
        "principal tags need sts:TagSession"
    );
    assert!(is_ref_to(
        &trust["Condition"]["StringEquals"]["cognito-identity.amazonaws.com:aud"],
        "IdentityPool"
    ));
    assert_eq!(
        trust["Condition"]["ForAnyValue:StringLike"]["cognito-identity.amazonaws.com:amr"].as_str(),
        Some("authenticated")
    );
    for statement in role["Policies"][0]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
    {
        let leading = &statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:LeadingKeys"];
        assert_eq!(
            leading
                .as_sequence()
                .map(|s| s.iter().filter_map(Value::as_str).collect::<Vec<_>>()),
            Some(vec!["USER#${aws:PrincipalTag/sub}"]),
            "every statement is limited to the caller's partition"
        );
    }
    let pool = &resource(&t, "IdentityPool")["Properties"];
    assert_eq!(
        pool["AllowUnauthenticatedIdentities"].as_bool(),
        Some(false)
    );
    assert_eq!(pool["AllowClassicFlow"].as_bool(), Some(false));
}

#[test]
fn the_authorizer_role_grants_nothing_but_its_own_logs() {
    let t = template();
    let role = &resource(&t, "AuthorizerRole")["Properties"];
    for policy in role["Policies"].as_sequence().unwrap() {
        for statement in policy["PolicyDocument"]["Statement"].as_sequence().unwrap() {
            for action in statement["Action"].as_sequence().unwrap() {
                let action = action.as_str().unwrap();
                assert!(
                    action.starts_with("logs:"),
                    "authorizer role grants {action}"
                );
            }
        }
    }
    assert!(role["ManagedPolicyArns"].is_null());
    let handler_role = &resource(&t, "ApiHandlerRole")["Properties"];
    for policy in handler_role["Policies"].as_sequence().unwrap() {
        for statement in policy["PolicyDocument"]["Statement"].as_sequence().unwrap() {
            for action in statement["Action"].as_sequence().unwrap() {
                let action = action.as_str().unwrap();
                assert!(
                    action.starts_with("logs:")
                        || (action.starts_with("dynamodb:") && !action.contains('*')),
                    "handler role grants {action}"
                );
                assert_ne!(action, "dynamodb:Scan", "the handler never scans");
            }
        }
    }
}
