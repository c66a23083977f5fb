//! One offline stack per test binary, shared by every test: moto (from
//! `MOTO_ENDPOINT`, started by `scripts/with-moto.sh`) provisioned from
//! `template.yaml`, both functions under `cargo lambda watch`, the local
//! gateway. Tests isolate themselves with their own users.
//!
//! The stack lives on its own thread and runtime (each `#[tokio::test]` has
//! a runtime of its own that ends with the test); `cargo lambda watch` stops
//! itself when this process exits.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use devstack::cognito::{Tokens, Users};
use devstack::demo::{Answer, call};
use devstack::gateway::{Gateway, GatewayConfig};
use devstack::invoke::Invoker;
use devstack::stack::{Stack, StackInfo, StackOptions};
use devstack::template::Template;
use serde_json::Value;

pub const PASSWORD: &str = "Correct-Horse-Battery-9";

pub struct Shared {
    pub info: StackInfo,
    pub root: PathBuf,
    pub gateway: GatewayConfig,
    pub functions_log: PathBuf,
}

static SHARED: OnceLock<Result<Shared, String>> = OnceLock::new();

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set, else `<root>/target`.
/// Test logs go there so they stay out of the work tree.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

pub fn moto_endpoint() -> String {
    std::env::var("MOTO_ENDPOINT")
        .expect("MOTO_ENDPOINT is not set: run it through scripts/with-moto.sh or `make test`")
}

fn unique() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos()
}

/// Builds the two function binaries exactly as `cargo lambda watch` builds
/// them — one `cargo build --bin X` each, so each has its own feature set —
/// so it finds them fresh on the first request, and compile errors show here
/// rather than as a timeout later.
pub fn build_functions(root: &Path, bins: &[&str]) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    for bin in bins {
        let status = Command::new(&cargo)
            .args(["build", "--bin", bin])
            .current_dir(root)
            .status()
            .map_err(|e| format!("cannot run cargo build: {e}"))?;
        if !status.success() {
            return Err(format!("cargo build --bin {bin} failed"));
        }
    }
    Ok(())
}

fn start_shared() -> Result<Shared, String> {
    moto_endpoint();
    let root = root();
    build_functions(&root, &["authorizer", "api-handler"])?;
    let functions_log = target_dir()
        .join("devstack-e2e")
        .join(format!("functions-{}.log", std::process::id()));
    let (tx, rx) = std::sync::mpsc::channel();
    let opts = StackOptions {
        root: root.clone(),
        prefix: format!("e2e-{}", unique()),
        gateway_port: 0,
        functions_port: 0,
        functions_log: Some(functions_log.clone()),
        invoke_timeout: Duration::from_secs(300),
    };
    std::thread::spawn(move || {
        let rt = match tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                let _ = tx.send(Err(e.to_string()));
                return;
            }
        };
        rt.block_on(async move {
            let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            match Stack::start(&config, &opts).await {
                Ok(stack) => {
                    // Warm both functions (first start of each process).
                    let http = reqwest::Client::new();
                    let _ = call(&http, &stack.info.api_url, "GET", "/health", None, None).await;
                    let _ = call(
                        &http,
                        &stack.info.api_url,
                        "GET",
                        "/me",
                        Some("warm.up.token"),
                        None,
                    )
                    .await;
                    let _ = tx.send(Ok((stack.info.clone(), stack.gateway.config().clone())));
                    std::future::pending::<()>().await;
                    drop(stack);
                }
                Err(e) => {
                    let _ = tx.send(Err(e.to_string()));
                }
            }
        });
    });
    let (info, gateway) = rx.recv().map_err(|e| format!("stack thread died: {e}"))??;
    Ok(Shared {
        info,
        root,
        gateway,
        functions_log,
    })
}

pub fn shared() -> &'static Shared {
    match SHARED.get_or_init(start_shared) {
        Ok(s) => s,
        Err(e) => panic!("the offline stack did not start: {e}"),
    }
}

/// A signed-in test user.
#[derive(Debug, Clone)]
pub struct User {
    pub email: String,
    pub sub: String,
    pub tokens: Tokens,
}

/// Per-test handles (SDK clients and HTTP client bound to the test's runtime).
pub struct Ctx {
    pub shared: &'static Shared,
    pub api: String,
    pub users: Users,
    pub http: reqwest::Client,
}

pub async fn ctx() -> Ctx {
    let shared = shared();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    Ctx {
        shared,
        api: shared.info.api_url.clone(),
        users: Users::new(&config, shared.info.provisioned.clone()),
        http: reqwest::Client::new(),
    }
}

impl Ctx {
    /// Signs up, confirms and signs in a fresh user named after `name`.
    pub async fn user(&self, name: &str) -> User {
        let email = format!("{name}+{}@example.com", unique());
        let sub = self.users.sign_up(&email, PASSWORD).await.expect("sign up");
        self.users.confirm(&email, "123456").await.expect("confirm");
        let tokens = self.users.sign_in(&email, PASSWORD).await.expect("sign in");
        User { email, sub, tokens }
    }

    /// A user in the `admin` group (signed in after joining, so the tokens
    /// carry `cognito:groups`).
    pub async fn admin(&self, name: &str) -> User {
        let mut u = self.user(name).await;
        self.users
            .add_to_group(&u.email, "admin")
            .await
            .expect("add to admin");
        u.tokens = self
            .users
            .sign_in(&u.email, PASSWORD)
            .await
            .expect("sign in again");
        u
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        self.call_at(&self.api, method, path, token, body).await
    }

    pub async fn call_at(
        &self,
        api: &str,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Answer {
        call(&self.http, api, method, path, token, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    /// A gateway of this test's own over the shared functions: its own
    /// authorizer cache (TTL `ttl`) and invocation counter.
    pub async fn own_gateway(&self, ttl: Duration) -> (Arc<Gateway>, String) {
        let mut cfg = self.shared.gateway.clone();
        cfg.reauthorize_every = ttl;
        let invoker = Invoker::new(
            format!("http://127.0.0.1:{}", self.shared.info.invoke_port),
            Duration::from_secs(120),
        );
        let gateway = Gateway::new(cfg, invoker);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let gw = gateway.clone();
        tokio::spawn(async move {
            let _ = gw.serve(listener).await;
        });
        let stage = gateway.config().stage.clone();
        (gateway, format!("http://{addr}/{stage}"))
    }
}

/// The template the stack was provisioned from.
pub fn template() -> Template {
    Template::load(&root().join("template.yaml")).expect("template.yaml")
}
