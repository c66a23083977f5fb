//! The seed's flow as a narrated script against a running stack: every step
//! prints what it does, what it expected and what it got, and the run fails
//! when any step does not behave.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde_json::{Value, json};

use crate::cognito::Users;

/// A demo step that did not behave.
#[derive(Debug, thiserror::Error)]
#[error("step {step:?}: {detail}")]
pub struct DemoError {
    pub step: String,
    pub detail: String,
}

/// An HTTP answer, as the demo and the tests look at it.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

/// Calls `method api_url+path` with an optional bearer token and JSON body.
pub async fn call(
    http: &reqwest::Client,
    api_url: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<Answer, reqwest::Error> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut req = http.request(method, format!("{api_url}{path}"));
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.bytes().await?;
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// The token with its payload changed (the user made an admin) and the
/// signature left as it was: what an attacker would try.
pub fn tamper(token: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let [h, p, s] = parts.as_slice() else {
        return format!("{token}x");
    };
    let mut claims: Value = B64URL
        .decode(p)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_else(|| json!({}));
    claims["cognito:groups"] = json!(["admin"]);
    format!("{h}.{}.{s}", B64URL.encode(claims.to_string()))
}

/// The id of a created note: the last segment of `Location`, else `id`.
pub fn note_id(a: &Answer) -> Option<String> {
    a.headers
        .get("location")
        .and_then(|l| l.to_str().ok())
        .and_then(|l| l.rsplit('/').next())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .or_else(|| a.body.get("id").and_then(Value::as_str).map(str::to_owned))
}

struct Narrator {
    step: usize,
}

impl Narrator {
    fn say(&mut self, what: &str) {
        self.step += 1;
        println!("\n{:>2}. {what}", self.step);
    }

    fn check(&self, what: &str, a: &Answer, expected: u16) -> Result<(), DemoError> {
        let body = a.body.to_string();
        let short: String = body.chars().take(160).collect();
        let ok = a.status == expected;
        println!(
            "    {} {} (expected {expected}) {short}",
            if ok { "ok  " } else { "FAIL" },
            a.status
        );
        if ok {
            Ok(())
        } else {
            Err(DemoError {
                step: what.to_owned(),
                detail: format!("expected HTTP {expected}, got {} {short}", a.status),
            })
        }
    }
}

fn step_err(step: &str) -> impl FnOnce(String) -> DemoError + '_ {
    move |detail| DemoError {
        step: step.to_owned(),
        detail,
    }
}

/// Runs the narrated flow. `users` must belong to the same stack as `api_url`.
pub async fn run(api_url: &str, users: &Users) -> Result<(), DemoError> {
    let http = reqwest::Client::new();
    let mut n = Narrator { step: 0 };
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let alice = format!("alice+{stamp}@example.com");
    let bob = format!("bob+{stamp}@example.com");
    let password = "Correct-Horse-Battery-9";
    let api = |m: &'static str, p: String, t: Option<String>, b: Option<Value>| {
        let http = http.clone();
        async move {
            call(&http, api_url, m, &p, t.as_deref(), b.as_ref())
                .await
                .map_err(|e| DemoError {
                    step: format!("{m} {p}"),
                    detail: e.to_string(),
                })
        }
    };

    println!(
        "API: {api_url}   user pool: {}   client: {}",
        users.stack().user_pool_id,
        users.stack().app_client_id
    );

    n.say("GET /health needs no token");
    n.check(
        "health",
        &api("GET", "/health".into(), None, None).await?,
        200,
    )?;

    n.say(&format!("Sign up and confirm two users: {alice}, {bob}"));
    let mut subs = Vec::new();
    for u in [&alice, &bob] {
        let sub = users
            .sign_up(u, password)
            .await
            .map_err(|e| step_err("sign up")(e.to_string()))?;
        users
            .confirm(u, "123456")
            .await
            .map_err(|e| step_err("confirm")(e.to_string()))?;
        println!("    ok   {u}: sub {sub} (moto accepts any confirmation code)");
        subs.push(sub);
    }
    let alice_sub = subs[0].clone();

    n.say("Sign in as alice: ID, access and refresh tokens");
    let a = users
        .sign_in(&alice, password)
        .await
        .map_err(|e| step_err("sign in")(e.to_string()))?;
    println!(
        "    ok   access token {} bytes, ID token {} bytes, refresh token {}",
        a.access.len(),
        a.id.len(),
        if a.refresh.is_some() {
            "present"
        } else {
            "MISSING"
        }
    );

    n.say("GET /me with alice's access token");
    let me = api("GET", "/me".into(), Some(a.access.clone()), None).await?;
    n.check("me", &me, 200)?;

    n.say("POST /notes with alice's access token");
    let created = api(
        "POST",
        "/notes".into(),
        Some(a.access.clone()),
        Some(json!({"title": "first note", "body": "written offline", "tags": ["demo"]})),
    )
    .await?;
    n.check("create note", &created, 201)?;
    let id = note_id(&created)
        .ok_or_else(|| step_err("create note")("no note id in the answer".into()))?;

    n.say("GET /notes (alice's list)");
    n.check(
        "list notes",
        &api("GET", "/notes".into(), Some(a.access.clone()), None).await?,
        200,
    )?;

    n.say("GET /me with alice's ID token instead: the most common mistake");
    n.check(
        "id token",
        &api("GET", "/me".into(), Some(a.id.clone()), None).await?,
        401,
    )?;

    n.say("GET /me without a token");
    n.check(
        "no token",
        &api("GET", "/me".into(), None, None).await?,
        401,
    )?;

    n.say("GET /me with a tampered access token (payload says admin, signature unchanged)");
    n.check(
        "tampered",
        &api("GET", "/me".into(), Some(tamper(&a.access)), None).await?,
        401,
    )?;

    n.say("Sign in as bob; bob reads alice's note by id");
    let b = users
        .sign_in(&bob, password)
        .await
        .map_err(|e| step_err("sign in bob")(e.to_string()))?;
    n.check(
        "cross-user read",
        &api("GET", format!("/notes/{id}"), Some(b.access.clone()), None).await?,
        404,
    )?;

    let admin_path = format!("/admin/users/{alice_sub}/notes");
    n.say("bob (not an admin) lists alice's notes through /admin");
    n.check(
        "non-admin",
        &api("GET", admin_path.clone(), Some(b.access.clone()), None).await?,
        403,
    )?;

    n.say("bob joins the `admin` group, signs in again, and asks again");
    users
        .add_to_group(&bob, "admin")
        .await
        .map_err(|e| step_err("add to group")(e.to_string()))?;
    let b = users
        .sign_in(&bob, password)
        .await
        .map_err(|e| step_err("sign in bob")(e.to_string()))?;
    n.check(
        "admin",
        &api("GET", admin_path, Some(b.access.clone()), None).await?,
        200,
    )?;

    n.say("alice refreshes her session with the refresh token");
    let refresh = a
        .refresh
        .clone()
        .ok_or_else(|| step_err("refresh")("no refresh token".into()))?;
    let r = users
        .refresh(&refresh)
        .await
        .map_err(|e| step_err("refresh")(e.to_string()))?;
    println!(
        "    ok   new access token differs from the old one: {}",
        r.access != a.access
    );
    n.check(
        "refreshed",
        &api("GET", "/me".into(), Some(r.access.clone()), None).await?,
        200,
    )?;

    n.say("The identity pool turns alice's ID token into temporary AWS credentials");
    let c = users
        .aws_credentials(&a.id)
        .await
        .map_err(|e| step_err("identity pool")(e.to_string()))?;
    println!(
        "    ok   identity {} access key {} (secret and session token {})",
        c.identity_id,
        c.access_key_id,
        if c.has_secret_and_session {
            "present"
        } else {
            "MISSING"
        }
    );

    println!("\nAll steps behaved.");
    Ok(())
}
