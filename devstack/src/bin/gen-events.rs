//! `gen-events`: writes the sample authorizer events under `events/` and
//! the `sam local` / `cargo lambda` environment that verifies them offline.
//!
//! Tokens are signed with the development key committed at
//! `events/dev-signing-key.DO-NOT-USE-IN-PRODUCTION.pem` (anyone can mint
//! tokens with it; it only ever verifies against the dev pool id below).
//! Output is a pure function of that key, `template.yaml`'s `AUTH_RULES` and
//! the constants here — fixed claims and times, RSA PKCS#1 v1.5 signatures
//! (deterministic) and sorted JSON keys — so running it twice gives
//! identical files and `devstack/tests/events.rs` can prove the committed
//! files are what it produces.
//!
//! Valid tokens expire in 2100 so the events never rot; the expired one
//! expired one hour after it was issued, on 2026-01-01.
//!
//! Usage: `cargo run -p devstack --bin gen-events -- [--root .] [--out events]`

use std::fs;
use std::path::{Path, PathBuf};

use authorizer::testing::{TestKey, access_claims, id_claims, jwks};
use clap::Parser;
use serde_json::{Value, json};

/// The development user pool the events' tokens claim to come from.
pub const POOL_ID: &str = "us-east-1_DEVSTACK01";
/// The development app client (`client_id` of access, `aud` of ID tokens).
pub const CLIENT_ID: &str = "devstacklocalclient0000001";
/// `kid` of the development key.
pub const KID: &str = "dev-signing-key-1";
/// A user with no group.
pub const ALICE_SUB: &str = "0a4c9f1e-2b7d-4e35-9c61-7d8e9fa0b1c2";
/// A member of the `admin` group.
pub const ADMIN_SUB: &str = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b";
/// Issue time of every token: 2026-01-01T00:00:00Z.
pub const ISSUED_AT: i64 = 1_767_225_600;
/// Expiry of every valid token: 2100-01-01T00:00:00Z.
pub const FAR_FUTURE_EXP: i64 = 4_102_444_800;

const ACCOUNT: &str = "123456789012";
const API_ID: &str = "devapi0001";
const STAGE: &str = "dev";
const REGION: &str = "us-east-1";
const KEY_PATH: &str = "events/dev-signing-key.DO-NOT-USE-IN-PRODUCTION.pem";

#[derive(Parser)]
#[command(about = "Regenerates the sample authorizer events and events/env.json")]
struct Args {
    /// Repository root (holds template.yaml and the dev key).
    #[arg(long, default_value = ".")]
    root: PathBuf,
    /// Output directory; `events` under the root when not given.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn main() -> Result<(), String> {
    let args = Args::parse();
    let out = args.out.unwrap_or_else(|| args.root.join("events"));
    let pem = fs::read_to_string(args.root.join(KEY_PATH))
        .map_err(|e| format!("reading {KEY_PATH}: {e}"))?;
    let key = TestKey::from_pkcs8_pem(KID, &pem)?;
    let auth_rules = auth_rules_from_template(&args.root.join("template.yaml"))?;

    let files = render(&key, &auth_rules);
    for (name, contents) in &files {
        let path = out.join(name);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        }
        fs::write(&path, contents).map_err(|e| format!("writing {}: {e}", path.display()))?;
    }
    eprintln!("wrote {} files under {}", files.len(), out.display());
    Ok(())
}

/// The `AUTH_RULES` literal of `AuthorizerFunction`, compacted, so the
/// `cargo lambda watch` env file enforces the same rules as the stack.
fn auth_rules_from_template(path: &Path) -> Result<String, String> {
    let text = fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    let doc: serde_norway::Value =
        serde_norway::from_str(&text).map_err(|e| format!("parsing {}: {e}", path.display()))?;
    let raw = doc
        .get("Resources")
        .and_then(|r| r.get("AuthorizerFunction"))
        .and_then(|f| f.get("Properties"))
        .and_then(|p| p.get("Environment"))
        .and_then(|e| e.get("Variables"))
        .and_then(|v| v.get("AUTH_RULES"))
        .and_then(serde_norway::Value::as_str)
        .ok_or("template.yaml: AuthorizerFunction has no literal AUTH_RULES")?;
    let rules: Value =
        serde_json::from_str(raw).map_err(|e| format!("template AUTH_RULES is not JSON: {e}"))?;
    serde_json::to_string(&rules).map_err(|e| e.to_string())
}

/// Every output file, by path relative to the output directory.
fn render(key: &TestKey, auth_rules: &str) -> Vec<(String, String)> {
    let tokens = Tokens::mint(key);
    let mut files = Vec::new();

    let cases: [(&str, Option<String>, &str, &str); 7] = [
        ("allow", Some(tokens.alice_access.clone()), "GET", "/notes"),
        ("id-token", Some(tokens.alice_id.clone()), "GET", "/notes"),
        ("expired", Some(tokens.expired.clone()), "GET", "/notes"),
        ("missing-header", None, "GET", "/notes"),
        ("tampered", Some(tokens.tampered.clone()), "GET", "/notes"),
        (
            "admin-allow",
            Some(tokens.admin_access.clone()),
            "GET",
            "/admin/users/{sub}/notes",
        ),
        (
            "admin-denied",
            Some(tokens.alice_access.clone()),
            "GET",
            "/admin/users/{sub}/notes",
        ),
    ];
    for (name, token, method, resource) in &cases {
        files.push((
            format!("authorizer/rest-request-{name}.json"),
            pretty(&rest_request(token.as_deref(), method, resource)),
        ));
    }
    for (name, token, method, resource) in cases.iter().take(5) {
        files.push((
            format!("authorizer/rest-token-{name}.json"),
            pretty(&rest_token(token.as_deref(), method, resource)),
        ));
    }
    files.push((
        "authorizer/http-v2-allow.json".into(),
        pretty(&http_v2(&tokens.alice_access, "GET", "/notes")),
    ));
    files.push((
        "authorizer/http-v2-expired.json".into(),
        pretty(&http_v2(&tokens.expired, "GET", "/notes")),
    ));
    // A named stage: `rawPath` carries the stage prefix and is not
    // percent-decoded; the authorizer matches `GET /notes/{id}` on the
    // stage-less, decoded path (issue 9).
    let mut staged = http_v2(&tokens.alice_access, "GET", "/prod/notes/n%201");
    staged["routeArn"] = json!(format!(
        "arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/prod/GET/notes/n%201"
    ));
    staged["routeKey"] = json!("GET /notes/{id}");
    staged["requestContext"]["routeKey"] = json!("GET /notes/{id}");
    staged["requestContext"]["stage"] = json!("prod");
    staged["pathParameters"] = json!({"id": "n 1"});
    files.push((
        "authorizer/http-v2-stage-allow.json".into(),
        pretty(&staged),
    ));

    let jwks_json = serde_json::to_string(&jwks(&[key])).unwrap_or_default();
    // `sam local invoke --env-vars`: only variables the template declares
    // can be overridden; AUTH_RULES is taken from the template itself.
    let env = json!({
        "AuthorizerFunction": {
            "USER_POOL_ID": POOL_ID,
            "APP_CLIENT_IDS": CLIENT_ID,
            "JWKS_JSON": jwks_json,
            "CLOCK_LEEWAY_SECONDS": "30",
        },
        "ApiHandlerFunction": {
            "TABLE_NAME": "notes-local",
            "MAX_NOTES_PER_USER": "1000",
        },
    });
    files.push(("env.json".into(), pretty(&env)));
    // `cargo lambda watch --env-file`: single quotes keep the JSON literal.
    files.push((
        "authorizer.env".into(),
        format!(
            "# Generated by `make events` (devstack/src/bin/gen-events.rs). Development key only.\n\
             USER_POOL_ID={POOL_ID}\n\
             APP_CLIENT_IDS={CLIENT_ID}\n\
             CLOCK_LEEWAY_SECONDS=30\n\
             JWKS_JSON='{jwks_json}'\n\
             AUTH_RULES='{auth_rules}'\n"
        ),
    ));
    files
}

struct Tokens {
    alice_access: String,
    alice_id: String,
    admin_access: String,
    expired: String,
    tampered: String,
}

impl Tokens {
    fn mint(key: &TestKey) -> Self {
        let valid = |mut claims: Value| {
            claims["exp"] = json!(FAR_FUTURE_EXP);
            key.token(&claims)
        };
        let alice_access = valid(access_claims(POOL_ID, CLIENT_ID, ALICE_SUB, ISSUED_AT));
        let alice_id = valid(id_claims(POOL_ID, CLIENT_ID, ALICE_SUB, ISSUED_AT));
        let mut admin = access_claims(POOL_ID, CLIENT_ID, ADMIN_SUB, ISSUED_AT);
        admin["cognito:groups"] = json!(["admin"]);
        let admin_access = valid(admin);
        // Signed correctly, but `exp` is one hour after issue (2026-01-01).
        let expired = key.token(&access_claims(POOL_ID, CLIENT_ID, ALICE_SUB, ISSUED_AT));
        // Alice's signature over a payload claiming the admin group.
        let tampered = {
            let mut forged = access_claims(POOL_ID, CLIENT_ID, ALICE_SUB, ISSUED_AT);
            forged["exp"] = json!(FAR_FUTURE_EXP);
            forged["cognito:groups"] = json!(["admin"]);
            let forged_payload = key.token(&forged);
            let payload = forged_payload.split('.').nth(1).unwrap_or_default();
            let mut parts = alice_access.split('.');
            let header = parts.next().unwrap_or_default();
            let signature = parts.nth(1).unwrap_or_default();
            format!("{header}.{payload}.{signature}")
        };
        Self {
            alice_access,
            alice_id,
            admin_access,
            expired,
            tampered,
        }
    }
}

/// `resource` with `{sub}` / `{id}` filled the way API Gateway would.
fn concrete_path(resource: &str) -> String {
    resource
        .replace("{sub}", ALICE_SUB)
        .replace("{id}", "01JDEV0000000000000000NOTE")
}

fn method_arn(method: &str, path: &str) -> String {
    format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/{STAGE}/{method}{path}")
}

fn path_parameters(resource: &str) -> Value {
    let mut params = serde_json::Map::new();
    if resource.contains("{sub}") {
        params.insert("sub".into(), json!(ALICE_SUB));
    }
    if resource.contains("{id}") {
        params.insert("id".into(), json!("01JDEV0000000000000000NOTE"));
    }
    Value::Object(params)
}

/// A REST API REQUEST authorizer event, as API Gateway sends it.
fn rest_request(token: Option<&str>, method: &str, resource: &str) -> Value {
    let path = concrete_path(resource);
    let mut headers = serde_json::Map::new();
    headers.insert("Accept".into(), json!("application/json"));
    headers.insert(
        "Host".into(),
        json!(format!("{API_ID}.execute-api.{REGION}.amazonaws.com")),
    );
    headers.insert("User-Agent".into(), json!("curl/8.5.0"));
    if let Some(token) = token {
        headers.insert("Authorization".into(), json!(format!("Bearer {token}")));
    }
    let multi: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.clone(), json!([v])))
        .collect();
    json!({
        "type": "REQUEST",
        "methodArn": method_arn(method, &path),
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": multi,
        "queryStringParameters": {},
        "multiValueQueryStringParameters": {},
        "pathParameters": path_parameters(resource),
        "stageVariables": {},
        "requestContext": {
            "path": format!("/{STAGE}{path}"),
            "accountId": ACCOUNT,
            "resourceId": "dev001",
            "stage": STAGE,
            "requestId": "c0ffee00-0000-4000-8000-000000000001",
            "identity": { "sourceIp": "203.0.113.10", "userAgent": "curl/8.5.0" },
            "resourcePath": resource,
            "httpMethod": method,
            "apiId": API_ID,
        },
    })
}

/// A REST API TOKEN authorizer event (the header's value only).
fn rest_token(token: Option<&str>, method: &str, resource: &str) -> Value {
    let mut event = json!({
        "type": "TOKEN",
        "methodArn": method_arn(method, &concrete_path(resource)),
    });
    if let Some(token) = token {
        event["authorizationToken"] = json!(format!("Bearer {token}"));
    }
    event
}

/// An HTTP API (payload 2.0) REQUEST authorizer event.
fn http_v2(token: &str, method: &str, path: &str) -> Value {
    let bearer = format!("Bearer {token}");
    json!({
        "version": "2.0",
        "type": "REQUEST",
        "routeArn": format!("arn:aws:execute-api:{REGION}:{ACCOUNT}:{API_ID}/$default/{method}{path}"),
        "identitySource": [bearer],
        "routeKey": format!("{method} {path}"),
        "rawPath": path,
        "rawQueryString": "",
        "headers": {
            "accept": "application/json",
            "authorization": bearer,
            "host": format!("{API_ID}.execute-api.{REGION}.amazonaws.com"),
            "user-agent": "curl/8.5.0",
        },
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": API_ID,
            "domainName": format!("{API_ID}.execute-api.{REGION}.amazonaws.com"),
            "domainPrefix": API_ID,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "203.0.113.10",
                "userAgent": "curl/8.5.0",
            },
            "requestId": "c0ffee00-0000-4000-8000-000000000002",
            "routeKey": format!("{method} {path}"),
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": ISSUED_AT * 1000,
        },
        "pathParameters": {},
        "stageVariables": {},
    })
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap_or_default();
    s.push('\n');
    s
}
