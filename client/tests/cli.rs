//! The `notes` binary over the wire against moto (`scripts/with-moto.sh
//! cargo test -p client`): a user pool, client and identity pool provisioned
//! from template.yaml by devstack, a `.devstack/stack.json` the client reads
//! with `--offline --root`, and a private config/state home per test.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use std::time::Duration;

use devstack::provision::Provisioned;
use devstack::stack::{StackInfo, StackOptions};
use serde_json::Value;

mod common;

const PASSWORD: &str = "Correct-Horse-Battery-9";

fn unique() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

struct Stack {
    provisioned: Provisioned,
    api_url: String,
    /// A directory holding `.devstack/stack.json` for this stack.
    root: tempfile::TempDir,
}

static STACK: OnceLock<Stack> = OnceLock::new();

/// One offline stack (moto provisioned from template.yaml, both functions
/// under `cargo lambda watch`, the local gateway) for the whole test
/// binary, on its own thread and runtime.
fn stack() -> &'static Stack {
    STACK.get_or_init(|| {
        let endpoint = std::env::var("MOTO_ENDPOINT")
            .expect("MOTO_ENDPOINT is not set: run through scripts/with-moto.sh or `make test`");
        let root = repo_root();
        // Built first, exactly as `cargo lambda watch` builds them, so the
        // first request does not wait for (or time out on) a build.
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        for bin in ["authorizer", "api-handler"] {
            let ok = Command::new(&cargo)
                .args(["build", "--bin", bin])
                .current_dir(&root)
                .status()
                .expect("cargo build")
                .success();
            assert!(ok, "cargo build --bin {bin} failed");
        }
        let log = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| root.join("target"), PathBuf::from)
            .join("client-tests")
            .join(format!("functions-{}.log", std::process::id()));
        let opts = StackOptions {
            root: root.clone(),
            prefix: format!("client-{}", unique()),
            gateway_port: 0,
            functions_port: 0,
            functions_log: Some(log),
            invoke_timeout: Duration::from_secs(300),
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            rt.block_on(async move {
                let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
                match devstack::stack::Stack::start(&sdk, &opts).await {
                    Ok(stack) => {
                        let _ = tx.send(Ok(stack.info.clone()));
                        std::future::pending::<()>().await;
                        drop(stack);
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                    }
                }
            });
        });
        let info = rx
            .recv()
            .expect("stack thread")
            .unwrap_or_else(|e| panic!("the offline stack did not start: {e}"));
        assert_eq!(info.aws_endpoint, endpoint);
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join(".devstack")).expect("mkdir");
        std::fs::write(
            StackInfo::default_path(dir.path()),
            serde_json::to_string(&info).expect("json"),
        )
        .expect("write stack.json");
        Stack {
            provisioned: info.provisioned.clone(),
            api_url: info.api_url.clone(),
            root: dir,
        }
    })
}

/// A private HOME for the client (config + token store) and its commands.
struct Home {
    dir: tempfile::TempDir,
    /// Every output of every command except `token`, for the token scan.
    seen: std::cell::RefCell<Vec<String>>,
}

impl Home {
    fn new() -> Self {
        let h = Self {
            dir: tempfile::tempdir().expect("tempdir"),
            seen: Default::default(),
        };
        let root = stack().root.path().to_str().expect("utf-8").to_owned();
        let out = h.run(&["--offline", "--root", &root, "configure"], "");
        assert!(out.status.success(), "{}", text(&out));
        h
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = common::notes(self.dir.path(), args);
        // Tests that want a refresh set the margin themselves.
        c.env_remove("NOTES_REFRESH_MARGIN_SECONDS")
            .stdin(Stdio::piped());
        c
    }

    fn run_with(&self, mut c: Command, stdin: &str, scan: bool) -> Output {
        let mut child = c.spawn().expect("run notes");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("stdin");
        let out = child.wait_with_output().expect("notes output");
        if scan {
            self.seen.borrow_mut().push(text(&out));
        }
        out
    }

    fn run(&self, args: &[&str], stdin: &str) -> Output {
        self.run_with(self.cmd(args), stdin, args.first() != Some(&"token"))
    }

    fn ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert!(out.status.success(), "notes {args:?}: {}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn session_file(&self) -> PathBuf {
        let p = &stack().provisioned;
        self.dir.path().join("state/notes").join(format!(
            "session-{}.{}.json",
            p.user_pool_id, p.app_client_id
        ))
    }

    fn session(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.session_file()).expect("session file"))
            .expect("session json")
    }

    /// Signs up, confirms and signs in a fresh user; returns the email.
    fn signed_in(&self, name: &str) -> String {
        let email = format!("{name}+{}@example.com", unique());
        self.ok(&["signup", "--email", &email], &format!("{PASSWORD}\n"));
        // moto accepts any confirmation code.
        self.ok(&["confirm", "--email", &email, "--code", "123456"], "");
        let out = self.ok(&["login", "--email", &email], &format!("{PASSWORD}\n"));
        assert!(out.contains("signed in"), "{out}");
        email
    }

    /// No output so far holds a JWT or the stored refresh token.
    fn assert_no_token_printed(&self, refresh: Option<&str>) {
        for out in self.seen.borrow().iter() {
            assert!(
                jwt_shaped(out).is_none(),
                "a command printed a JWT-shaped string: {out}"
            );
            if let Some(r) = refresh {
                assert!(!out.contains(r), "a command printed the refresh token");
            }
        }
    }
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The first `xxx.yyy.zzz` run of base64url characters whose first two
/// parts are long enough to be a JWT header and payload.
fn jwt_shaped(s: &str) -> Option<&str> {
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    s.split(|c: char| !(is_b64(c) || c == '.')).find(|w| {
        let parts: Vec<&str> = w.split('.').collect();
        parts.len() == 3 && parts[0].len() >= 10 && parts[1].len() >= 10
    })
}

fn claims(token: &str) -> Value {
    use base64::Engine;
    let p = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(p)
            .expect("base64"),
    )
    .expect("claims")
}

#[test]
fn jwt_scan_finds_a_token_in_text() {
    // The scan itself must be able to fail.
    assert!(jwt_shaped("x eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2ln y").is_some());
    assert!(jwt_shaped("signed in as a.b.c@example.com").is_none());
}

#[test]
fn sign_up_srp_sign_in_whoami_and_token() {
    let home = Home::new();
    let email = home.signed_in("alice");
    let who = home.ok(&["whoami"], "");
    assert!(who.contains(&email), "{who}");
    let session = home.session();
    let sub = claims(session["accessToken"].as_str().expect("access"))["sub"]
        .as_str()
        .expect("sub")
        .to_owned();
    assert!(who.contains(&sub), "{who}");
    assert!(who.contains("expires"), "{who}");

    // `token` prints the access token, and only it.
    let token = home.run(&["token"], "");
    assert!(token.status.success(), "{}", text(&token));
    let printed = String::from_utf8_lossy(&token.stdout).trim().to_owned();
    assert_eq!(printed, session["accessToken"].as_str().expect("access"));
    assert_eq!(claims(&printed)["token_use"], "access");
    assert!(jwt_shaped(&String::from_utf8_lossy(&token.stderr)).is_none());

    home.assert_no_token_printed(session["refreshToken"].as_str());
}

#[test]
fn password_is_never_an_argument() {
    let home = Home::new();
    let out = home.run(
        &["signup", "--email", "x@example.com", "--password", PASSWORD],
        "",
    );
    assert!(!out.status.success());
    let out = home.run(&["login", "--email", "x@example.com", PASSWORD], "");
    assert!(!out.status.success());
}

#[cfg(unix)]
#[test]
fn token_file_is_0600_in_a_0700_directory() {
    use std::os::unix::fs::PermissionsExt;
    let home = Home::new();
    home.signed_in("modes");
    let mode = |p: &Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
    let file = home.session_file();
    assert_eq!(mode(&file), 0o600, "{}", file.display());
    assert_eq!(mode(file.parent().expect("dir")), 0o700);
    // No temporary file is left next to it (atomic rename).
    let entries: Vec<_> = std::fs::read_dir(file.parent().expect("dir"))
        .expect("read dir")
        .collect();
    assert_eq!(entries.len(), 1);
    // Re-written by a refresh: still 0600.
    let mut c = home.cmd(&["whoami"]);
    c.env("NOTES_REFRESH_MARGIN_SECONDS", "1000000");
    assert!(home.run_with(c, "", true).status.success());
    assert_eq!(mode(&file), 0o600);
    let config = home.dir.path().join("config/notes/config.json");
    assert_eq!(mode(&config), 0o600);
}

#[test]
fn access_token_is_refreshed_before_it_expires() {
    let home = Home::new();
    home.signed_in("refresh");
    let before = home.session();
    // Not near expiry: the same token.
    let t1 = home.run(&["token"], "");
    assert_eq!(
        String::from_utf8_lossy(&t1.stdout).trim(),
        before["accessToken"].as_str().expect("access")
    );
    // Within the margin (moto's tokens live an hour): refreshed and stored.
    let mut c = home.cmd(&["token"]);
    c.env("NOTES_REFRESH_MARGIN_SECONDS", "1000000");
    let t2 = home.run_with(c, "", false);
    assert!(t2.status.success(), "{}", text(&t2));
    let new = String::from_utf8_lossy(&t2.stdout).trim().to_owned();
    assert_ne!(new, before["accessToken"].as_str().expect("access"));
    let after = home.session();
    assert_eq!(after["accessToken"].as_str(), Some(new.as_str()));
    assert_eq!(after["refreshToken"], before["refreshToken"]);
    assert_eq!(
        claims(&new)["origin_jti"],
        claims(before["accessToken"].as_str().expect("access"))["origin_jti"],
        "tokens refreshed from one session share origin_jti"
    );
    home.assert_no_token_printed(before["refreshToken"].as_str());
}

#[test]
fn new_password_required_is_answered() {
    let home = Home::new();
    let p = &stack().provisioned;
    let email = format!("invited+{}@example.com", unique());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let idp = rt.block_on(async {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        aws_sdk_cognitoidentityprovider::Client::new(&sdk)
    });
    rt.block_on(
        idp.admin_create_user()
            .user_pool_id(&p.user_pool_id)
            .username(&email)
            .temporary_password("Temporary-Pass-1")
            .send(),
    )
    .expect("admin create user");
    // No new password on stdin: the challenge was asked and not answered.
    let out = home.run(&["login", "--email", &email], "Temporary-Pass-1\n");
    assert!(!out.status.success());
    assert!(text(&out).contains("New password"), "{}", text(&out));
    home.ok(
        &["login", "--email", &email],
        "Temporary-Pass-1\nBrand-New-Pass-22\n",
    );
    let user = rt
        .block_on(
            idp.admin_get_user()
                .user_pool_id(&p.user_pool_id)
                .username(&email)
                .send(),
        )
        .expect("admin get user");
    assert_eq!(user.user_status().map(|s| s.as_str()), Some("CONFIRMED"));
    home.assert_no_token_printed(None);
}

#[test]
fn totp_enrolment_then_sign_in_asks_for_the_code() {
    let home = Home::new();
    let email = home.signed_in("totp");
    let out = home.run(&["mfa", "setup"], "123456\n");
    assert!(out.status.success(), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("otpauth://totp/notes:"), "{err}");
    assert!(err.contains("secret="), "{err}");
    // Signing in now needs the code: without it the login fails.
    let out = home.run(&["login", "--email", &email], &format!("{PASSWORD}\n"));
    assert!(!out.status.success());
    assert!(text(&out).contains("authenticator"), "{}", text(&out));
    home.ok(
        &["login", "--email", &email],
        &format!("{PASSWORD}\n123456\n"),
    );
    home.assert_no_token_printed(None);
}

#[test]
fn global_sign_out_ends_the_session() {
    let home = Home::new();
    home.signed_in("signout");
    let session = home.session();
    let refresh = session["refreshToken"]
        .as_str()
        .expect("refresh")
        .to_owned();
    let out = home.ok(&["signout", "--everywhere"], "");
    assert!(out.contains("signed out"), "{out}");
    assert!(!home.session_file().exists());
    let out = home.run(&["whoami"], "");
    assert!(!out.status.success());
    assert!(text(&out).contains("not signed in"), "{}", text(&out));
    // The refresh token is dead at Cognito too.
    let p = stack().provisioned.clone();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let r = rt.block_on(async {
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        aws_sdk_cognitoidentityprovider::Client::new(&sdk)
            .initiate_auth()
            .client_id(&p.app_client_id)
            .auth_flow(aws_sdk_cognitoidentityprovider::types::AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", &refresh)
            .send()
            .await
    });
    assert!(r.is_err(), "refresh after GlobalSignOut must fail");
    home.assert_no_token_printed(Some(&refresh));
}

#[test]
fn config_remembers_the_stack() {
    let home = Home::new();
    // No --offline from here on: the remembered choice is used.
    let out = home.ok(&["configure"], "");
    assert!(out.contains(&stack().provisioned.user_pool_id), "{out}");
    let fresh = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_notes"))
        .arg("whoami")
        .env("XDG_CONFIG_HOME", fresh.path().join("c"))
        .env("XDG_STATE_HOME", fresh.path().join("s"))
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(text(&out).contains("--stack NAME"), "{}", text(&out));
}

/// The single stderr line of a failed command.
fn failure_line(out: &Output) -> String {
    assert!(!out.status.success(), "expected a failure: {}", text(out));
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    err.trim_end().to_owned()
}

#[test]
fn notes_add_list_get_edit_rm_over_the_api() {
    let home = Home::new();
    home.signed_in("notes");
    let id = home
        .ok(
            &["add", "--title", "first", "--body", "hello", "--tag", "a"],
            "",
        )
        .trim()
        .to_owned();
    assert_eq!(id.len(), 26, "a ULID: {id}");
    let list = home.ok(&["list"], "");
    assert!(
        list.contains(&id) && list.contains("first") && list.contains("[a]"),
        "{list}"
    );
    let got = home.ok(&["get", &id], "");
    assert!(got.contains("hello") && got.contains("version: 1"), "{got}");
    let edited = home.ok(&["edit", &id, "--title", "renamed"], "");
    assert!(edited.contains("version 2"), "{edited}");
    let got = home.ok(&["get", &id], "");
    assert!(got.contains("renamed") && got.contains("hello"), "{got}");
    // Editing from a stale read: 412, explained, and nothing written.
    let stale = home.run(
        &["edit", &id, "--title", "lost", "--expect-version", "1"],
        "",
    );
    let line = failure_line(&stale);
    assert!(
        line.contains("412") && line.contains("nothing was written"),
        "{line}"
    );
    assert!(home.ok(&["get", &id], "").contains("renamed"));
    home.ok(&["rm", &id], "");
    let line = failure_line(&home.run(&["get", &id], ""));
    assert!(line.contains("404"), "{line}");
    // Another user never sees the note (their own partition).
    let other = Home::new();
    other.signed_in("other");
    let id2 = home_note(&home);
    let line = failure_line(&other.run(&["get", &id2], ""));
    assert!(line.contains("404"), "{line}");
    home.assert_no_token_printed(None);
    other.assert_no_token_printed(None);
}

fn home_note(home: &Home) -> String {
    home.ok(&["add", "--title", "mine"], "").trim().to_owned()
}

#[test]
fn a_refused_token_is_a_one_line_401() {
    let home = Home::new();
    home.signed_in("tampered");
    // A session whose access token is not the pool's (signature broken).
    let path = home.session_file();
    let mut s = home.session();
    let t = s["accessToken"].as_str().expect("access").to_owned();
    s["accessToken"] = Value::String(format!("{}x", t));
    std::fs::write(&path, s.to_string()).expect("write");
    let line = failure_line(&home.run(&["list"], ""));
    assert!(
        line.starts_with("notes: 401:") && line.contains("notes login"),
        "{line}"
    );
    home.assert_no_token_printed(None);
}

#[test]
fn credentials_read_the_callers_own_items() {
    let home = Home::new();
    home.signed_in("creds");
    let id = home_note(&home);
    let out = home.ok(&["credentials"], "");
    let c: Value = serde_json::from_str(out.trim()).expect("credential_process JSON");
    assert_eq!(c["Version"], 1);
    for k in [
        "AccessKeyId",
        "SecretAccessKey",
        "SessionToken",
        "Expiration",
    ] {
        assert!(c[k].as_str().is_some_and(|v| !v.is_empty()), "{k}: {c}");
    }
    // Cached in the session until shortly before they expire: a cached
    // entry with a distinctive key and a far expiry is what comes back...
    let mut session = home.session();
    assert!(
        session["awsCredentials"].is_object(),
        "cached after the first call"
    );
    session["awsCredentials"]["accessKeyId"] = Value::String("CACHEDKEY".into());
    session["awsCredentials"]["expiration"] = Value::from(4_000_000_000_i64);
    std::fs::write(home.session_file(), session.to_string()).expect("write");
    let cached: Value = serde_json::from_str(home.ok(&["credentials"], "").trim()).expect("json");
    assert_eq!(cached["AccessKeyId"], "CACHEDKEY");
    // ...and one about to expire is fetched again.
    session["awsCredentials"]["expiration"] = Value::from(1_i64);
    std::fs::write(home.session_file(), session.to_string()).expect("write");
    let fresh: Value = serde_json::from_str(home.ok(&["credentials"], "").trim()).expect("json");
    assert_eq!(fresh["AccessKeyId"], c["AccessKeyId"]);

    let session = home.session();
    let sub = claims(session["idToken"].as_str().expect("id"))["sub"]
        .as_str()
        .expect("sub")
        .to_owned();
    let p = stack().provisioned.clone();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let items = rt.block_on(async {
        let creds = aws_sdk_dynamodb::config::Credentials::new(
            c["AccessKeyId"].as_str().unwrap_or_default(),
            c["SecretAccessKey"].as_str().unwrap_or_default(),
            c["SessionToken"].as_str().map(str::to_owned),
            None,
            "notes-credentials",
        );
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .credentials_provider(creds)
            .load()
            .await;
        aws_sdk_dynamodb::Client::new(&sdk)
            .query()
            .table_name(&p.table_name)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(
                ":pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!("USER#{sub}")),
            )
            .send()
            .await
            .expect("query with the identity-pool credentials")
    });
    let found = items.items().iter().any(|i| {
        i.get("id")
            .and_then(|v| v.as_s().ok())
            .is_some_and(|v| v == &id)
    });
    assert!(found, "the caller's note {id} is in its partition");
    home.assert_no_token_printed(None);
}

/// `GET /me` with a bearer token: (status, body).
fn me_with(token: &str) -> (u16, Value) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let r = reqwest::Client::new()
            .get(format!("{}/me", stack().api_url))
            .bearer_auth(token)
            .send()
            .await
            .expect("GET /me");
        let status = r.status().as_u16();
        let bytes = r.bytes().await.unwrap_or_default();
        let body = serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null);
        (status, body)
    })
}

fn token_of(home: &Home) -> String {
    let out = home.run(&["token"], "");
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn signout_revokes_the_session_at_the_api() {
    let home = Home::new();
    let email = home.signed_in("revoke");
    let old = token_of(&home);
    // A refreshed token of the same session, and a second session of the
    // same user on another "device".
    let mut c = home.cmd(&["token"]);
    c.env("NOTES_REFRESH_MARGIN_SECONDS", "1000000");
    let refreshed = String::from_utf8_lossy(&home.run_with(c, "", false).stdout)
        .trim()
        .to_owned();
    assert_ne!(refreshed, old);
    let other = Home::new();
    other.ok(&["login", "--email", &email], &format!("{PASSWORD}\n"));
    let second = token_of(&other);
    for t in [&old, &refreshed, &second] {
        assert_eq!(me_with(t).0, 200);
    }

    let out = home.run(&["signout"], "");
    assert!(out.status.success(), "{}", text(&out));
    assert!(!home.session_file().exists());
    // The signed-out session's tokens are refused at once (the gateway's
    // authorizer cache still says Allow; the handler checks every request).
    for t in [&old, &refreshed] {
        let (status, body) = me_with(t);
        assert_eq!(status, 401, "{body}");
        assert_eq!(body["error"]["code"], "token_revoked", "{body}");
    }
    // The other session is another origin_jti: still served by the API.
    assert_eq!(me_with(&second).0, 200);
    // The client explains the 401 in one line.
    let s = other.session();
    let mut revoked = s.clone();
    revoked["accessToken"] = Value::String(old.clone());
    std::fs::write(other.session_file(), revoked.to_string()).expect("write");
    let line = failure_line(&other.run(&["list"], ""));
    assert!(line.contains("signed out (token revoked)"), "{line}");
    home.assert_no_token_printed(None);
}
