//! The seed's flow as a narrated script against a running stack: every step
//! prints what it does, what it expected and what it got, and the run fails
//! when any step does not behave. The user's side is the `notes` client
//! (client/), run as a subprocess, ending with a sign-out after which the
//! old access token gets 401.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
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

/// The `notes` client (client/), run as a person would: its own private
/// config and token store, `--offline` against this stack.
struct Client {
    bin: PathBuf,
    home: PathBuf,
}

impl Client {
    fn new(bin: &Path, base: &Path, name: &str, root: &Path) -> Result<Self, DemoError> {
        let home = base.join(name);
        std::fs::create_dir_all(&home).map_err(|e| step_err("client home")(e.to_string()))?;
        let c = Self {
            bin: bin.to_owned(),
            home,
        };
        let root = root.to_string_lossy().into_owned();
        c.run(&["--offline", "--root", &root, "configure"], "", &[])?;
        Ok(c)
    }

    /// Runs `notes ARGS` with `stdin`; its stdout, or the step's error.
    fn run(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Result<String, DemoError> {
        let out = self.output(args, stdin, env)?;
        if out.0 {
            Ok(out.1)
        } else {
            Err(step_err("notes")(format!(
                "notes {}: {}",
                args.join(" "),
                out.2.trim()
            )))
        }
    }

    /// (success, stdout, stderr)
    fn output(
        &self,
        args: &[&str],
        stdin: &str,
        env: &[(&str, &str)],
    ) -> Result<(bool, String, String), DemoError> {
        let mut cmd = Command::new(&self.bin);
        cmd.args(args)
            .env("XDG_CONFIG_HOME", self.home.join("config"))
            .env("XDG_STATE_HOME", self.home.join("state"))
            .env("NOTES_TOKEN_STORE", "file")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        // The client calls the gateway, which may be served by this very
        // runtime (`devstack up --demo`): wait for it off the worker.
        let out = tokio::task::block_in_place(|| {
            let mut child = cmd
                .spawn()
                .map_err(|e| step_err("notes")(format!("{}: {e}", self.bin.display())))?;
            if let Some(mut i) = child.stdin.take() {
                let _ = i.write_all(stdin.as_bytes());
            }
            child
                .wait_with_output()
                .map_err(|e| step_err("notes")(e.to_string()))
        })?;
        Ok((
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    /// `notes token`: the one command that prints a token (kept out of
    /// the narration).
    fn token(&self, env: &[(&str, &str)]) -> Result<String, DemoError> {
        Ok(self.run(&["token"], "", env)?.trim().to_owned())
    }
}

fn show(out: &str) {
    for line in out.lines() {
        println!("         | {line}");
    }
}

/// The `notes` binary: `NOTES_BIN`, else next to this executable (or one
/// level up, from a test binary under `deps/`), else built now.
fn notes_bin() -> Result<PathBuf, DemoError> {
    if let Some(p) = std::env::var_os("NOTES_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| step_err("notes binary")(e.to_string()))?;
    for dir in exe.ancestors().skip(1).take(2) {
        let p = dir.join("notes");
        if p.is_file() {
            return Ok(p);
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let ok = Command::new(cargo)
        .args(["build", "--quiet", "-p", "client", "--bin", "notes"])
        .current_dir(root)
        .status()
        .is_ok_and(|s| s.success());
    let built = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("debug/notes");
    if ok && built.is_file() {
        Ok(built)
    } else {
        Err(step_err("notes binary")(
            "not found: cargo build -p client --bin notes".into(),
        ))
    }
}

/// Runs the narrated flow against the stack whose moto endpoint is
/// `AWS_ENDPOINT_URL`. `users` must belong to the same stack as `api_url`.
pub async fn run(api_url: &str, users: &Users) -> Result<(), DemoError> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
    run_with(api_url, users, &endpoint).await
}

/// [`run`] with moto's endpoint given.
pub async fn run_with(api_url: &str, users: &Users, aws_endpoint: &str) -> Result<(), DemoError> {
    let stamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    // A private state file for the client's --offline, and private homes.
    let base = std::env::temp_dir().join(format!("notes-demo-{}-{stamp}", std::process::id()));
    let root = base.join("stack");
    let state = crate::stack::StackInfo {
        provisioned: users.stack().clone(),
        api_url: api_url.to_owned(),
        invoke_port: 0,
        aws_endpoint: aws_endpoint.to_owned(),
    };
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(root.join(".devstack"))?;
        std::fs::write(
            crate::stack::StackInfo::default_path(&root),
            serde_json::to_string(&state).unwrap_or_default(),
        )
    };
    write().map_err(|e| step_err("demo state")(e.to_string()))?;
    let result = narrate(api_url, users, &root, &base, stamp).await;
    let _ = std::fs::remove_dir_all(&base);
    result
}

async fn narrate(
    api_url: &str,
    users: &Users,
    root: &Path,
    base: &Path,
    stamp: u128,
) -> Result<(), DemoError> {
    let http = reqwest::Client::new();
    let mut n = Narrator { step: 0 };
    let alice = format!("alice+{stamp}@example.com");
    let bob = format!("bob+{stamp}@example.com");
    let password = "Correct-Horse-Battery-9";
    let pw_line = format!("{password}\n");
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
    let bin = notes_bin()?;
    let a = Client::new(&bin, base, "alice", root)?;
    let b = Client::new(&bin, base, "bob", root)?;

    println!(
        "API: {api_url}   user pool: {}   client: {}",
        users.stack().user_pool_id,
        users.stack().app_client_id
    );
    println!("Every user step runs the `notes` client (client/) with --offline.");

    n.say("GET /health needs no token");
    n.check(
        "health",
        &api("GET", "/health".into(), None, None).await?,
        200,
    )?;

    n.say(&format!(
        "notes signup + notes confirm: {alice}, {bob} (password on stdin, never an argument)"
    ));
    for (c, u) in [(&a, &alice), (&b, &bob)] {
        show(&c.run(&["signup", "--email", u], &pw_line, &[])?);
        // moto accepts any confirmation code.
        show(&c.run(&["confirm", "--email", u, "--code", "123456"], "", &[])?);
    }

    n.say("notes login (SRP: the password never leaves the machine), then notes whoami");
    show(&a.run(&["login", "--email", &alice], &pw_line, &[])?);
    show(&a.run(&["whoami"], "", &[])?);
    println!("    ok   tokens kept in a 0600 file; no command printed one");

    n.say("notes add + notes list (the API with alice's access token)");
    let id = a
        .run(
            &[
                "add",
                "--title",
                "first note",
                "--body",
                "written offline",
                "--tag",
                "demo",
            ],
            "",
            &[],
        )?
        .trim()
        .to_owned();
    show(&a.run(&["list"], "", &[])?);

    let alice_token = a.token(&[])?;
    n.say(
        "GET /me with `notes token` (what curl -H \"Authorization: Bearer $(notes token)\" sends)",
    );
    let me = api("GET", "/me".into(), Some(alice_token.clone()), None).await?;
    n.check("me", &me, 200)?;
    let alice_sub = me
        .body
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();

    n.say("GET /me with an ID token instead: the most common mistake (401)");
    // The client never hands out ID tokens; the library's sign-in does.
    let ids = users
        .sign_in(&alice, password)
        .await
        .map_err(|e| step_err("sign in")(e.to_string()))?;
    n.check(
        "id token",
        &api("GET", "/me".into(), Some(ids.id.clone()), None).await?,
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
        &api("GET", "/me".into(), Some(tamper(&alice_token)), None).await?,
        401,
    )?;

    n.say("bob signs in and asks for alice's note by id: notes get (404)");
    show(&b.run(&["login", "--email", &bob], &pw_line, &[])?);
    let (ok, _, err) = b.output(&["get", &id], "", &[])?;
    println!("    {} {}", if ok { "FAIL" } else { "ok  " }, err.trim());
    if ok || !err.contains("404") {
        return Err(step_err("cross-user read")("expected a 404".into()));
    }

    let admin_path = format!("/admin/users/{alice_sub}/notes");
    n.say("bob (not an admin) lists alice's notes through /admin");
    n.check(
        "non-admin",
        &api("GET", admin_path.clone(), Some(b.token(&[])?), None).await?,
        403,
    )?;

    n.say("bob joins the `admin` group, signs in again, and asks again");
    users
        .add_to_group(&bob, "admin")
        .await
        .map_err(|e| step_err("add to group")(e.to_string()))?;
    b.run(&["login", "--email", &bob], &pw_line, &[])?;
    n.check(
        "admin",
        &api("GET", admin_path, Some(b.token(&[])?), None).await?,
        200,
    )?;

    n.say("alice's access token is refreshed automatically before it expires");
    // Pretend it is about to expire: anything within the margin is refreshed.
    let refreshed = a.token(&[("NOTES_REFRESH_MARGIN_SECONDS", "1000000")])?;
    println!(
        "    ok   new access token differs from the old one: {}",
        refreshed != alice_token
    );
    n.check(
        "refreshed",
        &api("GET", "/me".into(), Some(refreshed.clone()), None).await?,
        200,
    )?;

    n.say("notes credentials: the identity pool's temporary AWS credentials (credential_process)");
    let creds: Value = serde_json::from_str(a.run(&["credentials"], "", &[])?.trim())
        .map_err(|e| step_err("credentials")(e.to_string()))?;
    println!(
        "    ok   access key {} expires {} (secret and session token not shown)",
        creds["AccessKeyId"].as_str().unwrap_or("MISSING"),
        creds["Expiration"].as_str().unwrap_or("?")
    );

    n.say("notes signout: Cognito sign-out, POST /signout, local tokens deleted");
    show(&a.run(&["signout"], "", &[])?);
    n.say("alice's old access token (and its refreshed sibling) after sign-out");
    n.check(
        "revoked",
        &api("GET", "/me".into(), Some(alice_token), None).await?,
        401,
    )?;
    n.check(
        "revoked (refreshed)",
        &api("GET", "/me".into(), Some(refreshed), None).await?,
        401,
    )?;

    println!("\nAll steps behaved.");
    Ok(())
}
