//! `notes login --hosted` against a small authorization server on 127.0.0.1
//! written here: it issues a code bound to the PKCE challenge, and its token
//! endpoint checks the code, the redirect URI and the verifier (S256). The
//! test plays the browser. No AWS service is involved.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use aws_lc_rs::digest::{SHA256, digest};
use axum::extract::{Form, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

mod common;

const CLIENT_ID: &str = "test-client-id";

#[derive(Default)]
struct Server {
    /// code → (code_challenge, redirect_uri)
    codes: HashMap<String, (String, String)>,
    token_calls: usize,
    verifier_ok: bool,
    /// Bind the next code to another challenge (a verifier that cannot match).
    tamper_challenge: bool,
}

type Shared = Arc<Mutex<Server>>;

fn fake_jwt(claims: &Value) -> String {
    let h = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"test"}"#);
    let p = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{h}.{p}.c2lnbmF0dXJlLW5vdC1jaGVja2Vk")
}

async fn authorize(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> Response {
    let get = |k: &str| q.get(k).cloned().unwrap_or_default();
    if get("response_type") != "code"
        || get("client_id") != CLIENT_ID
        || get("code_challenge_method") != "S256"
        || get("code_challenge").is_empty()
    {
        return (axum::http::StatusCode::BAD_REQUEST, "bad authorize request").into_response();
    }
    let mut g = s.lock().expect("lock");
    let code = format!("code-{}", g.codes.len() + 1);
    let challenge = if g.tamper_challenge {
        URL_SAFE_NO_PAD.encode([7u8; 32])
    } else {
        get("code_challenge")
    };
    g.codes
        .insert(code.clone(), (challenge, get("redirect_uri")));
    let sep = if get("redirect_uri").contains('?') {
        '&'
    } else {
        '?'
    };
    Redirect::to(&format!(
        "{}{sep}code={code}&state={}",
        get("redirect_uri"),
        url_encode(&get("state"))
    ))
    .into_response()
}

fn url_encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn token(State(s): State<Shared>, Form(f): Form<HashMap<String, String>>) -> Response {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let mut g = s.lock().expect("lock");
    g.token_calls += 1;
    let refuse = |why: &str| {
        (
            axum::http::StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "invalid_grant", "error_description": why})),
        )
            .into_response()
    };
    if get("grant_type") != "authorization_code" || get("client_id") != CLIENT_ID {
        return refuse("grant_type/client_id");
    }
    let Some((challenge, redirect)) = g.codes.remove(&get("code")) else {
        return refuse("unknown code");
    };
    if redirect != get("redirect_uri") {
        return refuse("redirect_uri");
    }
    let computed = URL_SAFE_NO_PAD.encode(digest(&SHA256, get("code_verifier").as_bytes()));
    if computed != challenge {
        return refuse("code_verifier");
    }
    g.verifier_ok = true;
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 3600;
    let sub = "7d1f0c6e-0000-4000-8000-000000000001";
    axum::Json(json!({
        "access_token": fake_jwt(&json!({"sub": sub, "token_use": "access", "client_id": CLIENT_ID, "username": "google_1234", "exp": exp})),
        "id_token": fake_jwt(&json!({"sub": sub, "token_use": "id", "aud": CLIENT_ID, "email": "fed@example.com", "exp": exp})),
        "refresh_token": "opaque-refresh-token-from-the-test-server",
        "expires_in": 3600,
        "token_type": "Bearer",
    }))
    .into_response()
}

async fn auth_server() -> (String, Shared) {
    let shared: Shared = Arc::default();
    let app = axum::Router::new()
        .route("/oauth2/authorize", axum::routing::get(authorize))
        .route("/oauth2/token", axum::routing::post(token))
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), shared)
}

/// A client home whose remembered target is a (never contacted) offline
/// stack with the test's client id.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = json!({
            "region": "us-east-1", "userPoolId": "us-east-1_Test", "appClientId": CLIENT_ID,
            "identityPoolId": "us-east-1:00000000-0000-0000-0000-000000000000",
            "tableName": "t", "groups": [], "apiUrl": "http://127.0.0.1:9/dev",
            "invokePort": 9, "awsEndpoint": "http://127.0.0.1:9",
        });
        std::fs::create_dir_all(dir.path().join("root/.devstack")).expect("mkdir");
        std::fs::write(
            dir.path().join("root/.devstack/stack.json"),
            state.to_string(),
        )
        .expect("write");
        let h = Self { dir };
        let root = h.dir.path().join("root");
        let out = h
            .cmd(&[
                "--offline",
                "--root",
                root.to_str().expect("utf-8"),
                "configure",
            ])
            .output()
            .expect("configure");
        assert!(out.status.success());
        h
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = common::notes(self.dir.path(), args);
        // The test plays the browser.
        c.env("NOTES_NO_BROWSER", "1").stdin(Stdio::null());
        c
    }

    fn session_file(&self) -> PathBuf {
        self.dir.path().join(format!(
            "state/notes/session-us-east-1_Test.{CLIENT_ID}.json"
        ))
    }
}

/// `notes login --hosted` under way: the process, the authorize URL it
/// printed, and the thread that reads (and returns) its stderr.
struct Login {
    child: Child,
    url: url::Url,
    reader: std::thread::JoinHandle<String>,
}

/// A fresh authorization server (with `tamper_challenge` set before any
/// code is issued), a client home, and `notes login --hosted` started in it
/// against that server.
async fn start_login(tamper_challenge: bool) -> (Shared, Home, Login) {
    let (domain, server) = auth_server().await;
    server.lock().expect("lock").tamper_challenge = tamper_challenge;
    let home = Home::new();
    // Blocking: it waits on the child's stderr for the URL.
    let (home, login) = tokio::task::spawn_blocking(move || {
        let login = spawn_login(&home, &domain);
        (home, login)
    })
    .await
    .expect("start");
    (server, home, login)
}

fn spawn_login(home: &Home, domain: &str) -> Login {
    let mut child = home
        .cmd(&[
            "login",
            "--hosted",
            "--provider",
            "Google",
            "--domain",
            domain,
            "--port",
            "0",
        ])
        .spawn()
        .expect("spawn notes");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.trim_start().starts_with("http") {
                let _ = tx.send(line.trim().to_owned());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let url = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("notes printed the authorize URL");
    Login {
        child,
        url: url::Url::parse(&url).expect("URL"),
        reader,
    }
}

impl Login {
    /// Waits for `notes` to exit: (success, stdout, stderr).
    async fn finish(self) -> (bool, String, String) {
        tokio::task::spawn_blocking(move || {
            let out = self.child.wait_with_output().expect("wait");
            let err = self.reader.join().expect("stderr");
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                err,
            )
        })
        .await
        .expect("finish")
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hosted_login_with_pkce_and_state() {
    let (server, home, login) = start_login(false).await;
    let url = &login.url;
    let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(url.path(), "/oauth2/authorize");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["identity_provider"], "Google");
    assert!(q["scope"].contains("openid") && q["scope"].contains("notes/read"));
    // Cognito allows plain http only for localhost; the listener is on 127.0.0.1.
    assert!(q["redirect_uri"].starts_with("http://localhost:"));
    assert!(q["redirect_uri"].ends_with("/callback"));
    assert!(!q.contains_key("code_verifier"));
    assert!(q["state"].len() >= 16);

    // The browser: the authorization server redirects to the loopback.
    let page = reqwest::get(url.as_str()).await.expect("browser");
    assert!(page.status().is_success());
    let (ok, stdout, stderr) = login.finish().await;
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("signed in as fed@example.com"), "{stdout}");
    let g = server.lock().expect("lock");
    assert!(
        g.verifier_ok,
        "the token endpoint checked the PKCE verifier"
    );
    let s: Value =
        serde_json::from_str(&std::fs::read_to_string(home.session_file()).expect("session"))
            .expect("json");
    assert_eq!(
        s["refreshToken"],
        "opaque-refresh-token-from-the-test-server"
    );
    assert!(!stdout.contains("eyJ") && !stderr.contains("opaque-refresh"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_callback_with_the_wrong_state_is_refused() {
    let (server, home, login) = start_login(false).await;
    let q: HashMap<String, String> = login.url.query_pairs().into_owned().collect();
    // A forged callback (login CSRF): right path, a code, someone else's state.
    let forged = format!("{}?code=code-1&state=forged-state", q["redirect_uri"]);
    let _ = reqwest::get(&forged).await.expect("callback");
    let (ok, _, stderr) = login.finish().await;
    assert!(!ok);
    assert!(stderr.contains("state does not match"), "{stderr}");
    assert_eq!(
        server.lock().expect("lock").token_calls,
        0,
        "code never used"
    );
    assert!(!home.session_file().exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_endpoint_refusing_the_verifier_fails_the_login() {
    let (server, home, login) = start_login(true).await;
    let _ = reqwest::get(login.url.as_str()).await.expect("browser");
    let (ok, _, stderr) = login.finish().await;
    assert!(!ok);
    assert!(stderr.contains("token endpoint"), "{stderr}");
    let g = server.lock().expect("lock");
    assert_eq!((g.token_calls, g.verifier_ok), (1, false));
    assert!(!home.session_file().exists());
}
