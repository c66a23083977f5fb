//! End to end, over the wire: a user signs in to the user pool (moto), calls
//! the local REST API gateway with the token, the real authorizer binary
//! validates it (JWKS from moto), the real api-handler binary runs on
//! DynamoDB (moto). Everything `make demo` shows, as assertions, and more.
//!
//! Run: `scripts/with-moto.sh cargo test -p e2e-tests` (or `make test`).

mod helpers;

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use authorizer::testing::{TestKey, access_claims};
use devstack::demo::{note_id, tamper};
use devstack::functions::{Functions, free_port};
use devstack::policy::{self, Decision};
use helpers::ctx;
use serde_json::{Value, json};

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_public() {
    let c = ctx().await;
    let a = c.call("GET", "/health", None, None).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, json!({"status": "ok"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_token_reaches_me_and_the_notes_api() {
    let c = ctx().await;
    let alice = c.user("alice").await;
    let t = Some(alice.tokens.access.as_str());

    let me = c.call("GET", "/me", t, None).await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    assert_eq!(me.body["sub"], alice.sub.as_str());
    assert_eq!(
        me.body["clientId"],
        c.shared.info.provisioned.app_client_id.as_str()
    );
    assert_eq!(me.body["groups"], json!([]));
    assert_eq!(me.body["scopes"], json!(["aws.cognito.signin.user.admin"]));
    assert_eq!(me.body["noteCount"], 0);

    let created = c
        .call(
            "POST",
            "/notes",
            t,
            Some(&json!({"title": "hello", "body": "offline", "tags": ["e2e"]})),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert!(created.headers.contains_key("etag"));
    let id = note_id(&created).expect("note id");

    let list = c.call("GET", "/notes", t, None).await;
    assert_eq!(list.status, 200);
    let ids: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["id"].as_str())
        .collect();
    assert_eq!(ids, [id.as_str()]);

    let one = c.call("GET", &format!("/notes/{id}"), t, None).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["title"], "hello");

    let me = c.call("GET", "/me", t, None).await;
    assert_eq!(me.body["noteCount"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn id_token_missing_token_and_tampered_token_are_401() {
    let c = ctx().await;
    let u = c.user("carol").await;

    // The seed's most common mistake: the ID token on an API.
    let id = c.call("GET", "/me", Some(&u.tokens.id), None).await;
    assert_eq!(id.status, 401);
    assert_eq!(id.headers["www-authenticate"], "Bearer");

    let none = c.call("GET", "/notes", None, None).await;
    assert_eq!(none.status, 401);

    // Payload changed to claim `admin`, signature left as it was.
    let tampered = tamper(&u.tokens.access);
    assert_ne!(tampered, u.tokens.access);
    assert_eq!(
        c.call("GET", "/me", Some(&tampered), None).await.status,
        401
    );
    let admin_path = format!("/admin/users/{}/notes", u.sub);
    assert_eq!(
        c.call("GET", &admin_path, Some(&tampered), None)
            .await
            .status,
        401
    );

    // A refresh token is not a bearer token either.
    let refresh = u.tokens.refresh.clone().expect("refresh token");
    assert_eq!(c.call("GET", "/me", Some(&refresh), None).await.status, 401);

    // The real token still works: nothing above was cached as a pass.
    assert_eq!(
        c.call("GET", "/me", Some(&u.tokens.access), None)
            .await
            .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_signed_by_a_key_not_in_the_jwks_is_401() {
    let c = ctx().await;
    let u = c.user("mallory").await;
    let p = &c.shared.info.provisioned;
    let claims = access_claims(&p.user_pool_id, &p.app_client_id, &u.sub, now());
    // Same kid as moto's key (`dummy`), different key: bad signature.
    let same_kid = TestKey::generate("dummy").token(&claims);
    // A rotated-in kid the pool never published: unknown after a refetch.
    let new_kid = TestKey::generate("rotated-2026").token(&claims);
    for token in [same_kid, new_kid] {
        assert_eq!(c.call("GET", "/me", Some(&token), None).await.status, 401);
        assert_eq!(
            c.call("GET", "/notes", Some(&token), None).await.status,
            401
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_note_is_404_on_every_route() {
    let c = ctx().await;
    let a = c.user("ann").await;
    let b = c.user("ben").await;
    let created = c
        .call(
            "POST",
            "/notes",
            Some(&a.tokens.access),
            Some(&json!({"title": "ann's", "body": "private"})),
        )
        .await;
    assert_eq!(created.status, 201);
    let id = note_id(&created).unwrap();
    let etag = created.headers["etag"].to_str().unwrap().to_owned();
    let bt = Some(b.tokens.access.as_str());
    let path = format!("/notes/{id}");

    assert_eq!(c.call("GET", &path, bt, None).await.status, 404);
    let put = c
        .http
        .put(format!("{}{path}", c.api))
        .header("authorization", format!("Bearer {}", b.tokens.access))
        .header("content-type", "application/json")
        .header("if-match", &etag)
        .body(json!({"title": "ben was here", "body": ""}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 404);
    assert_eq!(c.call("DELETE", &path, bt, None).await.status, 404);
    let list = c.call("GET", "/notes", bt, None).await;
    assert_eq!(list.body["items"], json!([]));

    // Ann's note is untouched.
    let mine = c.call("GET", &path, Some(&a.tokens.access), None).await;
    assert_eq!(mine.status, 200);
    assert_eq!(mine.body["title"], "ann's");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_route_is_403_for_users_and_200_for_the_admin_group() {
    let c = ctx().await;
    let owner = c.user("olga").await;
    let created = c
        .call(
            "POST",
            "/notes",
            Some(&owner.tokens.access),
            Some(&json!({"title": "t", "body": "b"})),
        )
        .await;
    assert_eq!(created.status, 201);
    let path = format!("/admin/users/{}/notes", owner.sub);

    let plain = c.user("pete").await;
    let denied = c.call("GET", &path, Some(&plain.tokens.access), None).await;
    assert_eq!(denied.status, 403);
    assert_eq!(denied.body["error"]["code"], "forbidden");

    let admin = c.admin("ada").await;
    let me = c.call("GET", "/me", Some(&admin.tokens.access), None).await;
    assert_eq!(me.body["groups"], json!(["admin"]));
    let allowed = c.call("GET", &path, Some(&admin.tokens.access), None).await;
    assert_eq!(allowed.status, 200, "{:?}", allowed.body);
    let ids: Vec<String> = allowed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(ids, [note_id(&created).unwrap()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_token_sign_in_gives_a_working_new_access_token() {
    let c = ctx().await;
    let u = c.user("rita").await;
    let refreshed = c
        .users
        .refresh(u.tokens.refresh.as_deref().unwrap())
        .await
        .unwrap();
    assert_ne!(refreshed.access, u.tokens.access);
    let me = c.call("GET", "/me", Some(&refreshed.access), None).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["sub"], u.sub.as_str());
    // The refreshed ID token is still not an API token.
    assert_eq!(
        c.call("GET", "/me", Some(&refreshed.id), None).await.status,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identity_pool_trades_the_id_token_for_aws_credentials() {
    let c = ctx().await;
    let u = c.user("ivan").await;
    let creds = c.users.aws_credentials(&u.tokens.id).await.unwrap();
    assert!(
        creds
            .identity_id
            .starts_with(&format!("{}:", c.shared.info.provisioned.region))
    );
    assert!(!creds.access_key_id.is_empty());
    assert!(creds.has_secret_and_session);
    // (moto mints a new identity id per GetId; real Cognito returns the same
    // one for the same user, so that is not asserted here.)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_policy_is_right_for_every_route_within_the_ttl() {
    let c = ctx().await;
    let (gw, api) = c.own_gateway(Duration::from_secs(300)).await;
    let u = c.user("uma").await;
    let t = Some(u.tokens.access.as_str());

    // One authorizer call, then four different routes from the cache: each
    // answered as the authorizer would have answered it.
    assert_eq!(c.call_at(&api, "GET", "/me", t, None).await.status, 200);
    assert_eq!(c.call_at(&api, "GET", "/notes", t, None).await.status, 200);
    let created = c
        .call_at(
            &api,
            "POST",
            "/notes",
            t,
            Some(&json!({"title": "x", "body": "y"})),
        )
        .await;
    assert_eq!(created.status, 201);
    let id = note_id(&created).unwrap();
    assert_eq!(
        c.call_at(&api, "GET", &format!("/notes/{id}"), t, None)
            .await
            .status,
        200
    );
    // …and no over-grant: the admin route stays closed from the same cache.
    let admin_path = format!("/admin/users/{}/notes", u.sub);
    assert_eq!(
        c.call_at(&api, "GET", &admin_path, t, None).await.status,
        403
    );
    assert_eq!(gw.authorizer_invocations(), 1);

    // An admin's cached policy opens the admin route and the plain ones.
    let a = c.admin("adam").await;
    let at = Some(a.tokens.access.as_str());
    assert_eq!(
        c.call_at(&api, "GET", &admin_path, at, None).await.status,
        200
    );
    assert_eq!(c.call_at(&api, "GET", "/me", at, None).await.status, 200);
    assert_eq!(gw.authorizer_invocations(), 2);

    // Missing token: 401 without invoking the authorizer.
    assert_eq!(c.call_at(&api, "GET", "/me", None, None).await.status, 401);
    assert_eq!(gw.authorizer_invocations(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_users_see_only_their_own_notes() {
    let c = ctx().await;
    let mut users = Vec::new();
    for i in 0..4 {
        users.push(c.user(&format!("con{i}")).await);
    }
    let mut tasks = Vec::new();
    for (i, u) in users.iter().enumerate() {
        for n in 0..3 {
            let (http, api, token) = (c.http.clone(), c.api.clone(), u.tokens.access.clone());
            tasks.push(tokio::spawn(async move {
                let body = json!({"title": format!("user {i} note {n}"), "body": ""});
                devstack::demo::call(&http, &api, "POST", "/notes", Some(&token), Some(&body))
                    .await
                    .unwrap()
                    .status
            }));
        }
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 201);
    }
    let mut checks = Vec::new();
    for (i, u) in users.iter().enumerate() {
        let (http, api, token, sub) = (
            c.http.clone(),
            c.api.clone(),
            u.tokens.access.clone(),
            u.sub.clone(),
        );
        checks.push(tokio::spawn(async move {
            let (me, list) = tokio::join!(
                devstack::demo::call(&http, &api, "GET", "/me", Some(&token), None),
                devstack::demo::call(&http, &api, "GET", "/notes", Some(&token), None),
            );
            let (me, list) = (me.unwrap(), list.unwrap());
            assert_eq!(me.body["sub"], sub.as_str());
            let mut titles: Vec<String> = list.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["title"].as_str().unwrap().to_owned())
                .collect();
            titles.sort();
            assert_eq!(
                titles,
                (0..3)
                    .map(|n| format!("user {i} note {n}"))
                    .collect::<Vec<_>>()
            );
        }));
    }
    for c in checks {
        c.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_narrated_demo_passes_against_the_stack() {
    let c = ctx().await;
    devstack::demo::run(&c.api, &c.users).await.unwrap();
}

/// `cargo lambda invoke --data-file events/…` against `cargo lambda watch`
/// started with `--env-file events/authorizer.env`, exactly as the README
/// tells a person to do: the shipped events answer as their names say.
#[test]
fn cargo_lambda_invoke_with_the_shipped_authorizer_events() {
    let root = helpers::root();
    helpers::build_functions(&root, &["authorizer"]).unwrap();
    let port = free_port().unwrap();
    std::fs::create_dir_all(helpers::target_dir()).unwrap();
    let log = std::fs::File::create(
        helpers::target_dir().join(format!("cargo-lambda-invoke-{port}.log")),
    )
    .unwrap();
    let mut watch = Functions::start_with(
        &root,
        port,
        &Default::default(),
        &["--env-file", "events/authorizer.env"],
        Stdio::from(log),
    )
    .unwrap();
    watch.wait_listening(Duration::from_secs(60)).unwrap();
    let cargo_lambda = root.join(".venv/bin/cargo-lambda");
    let invoke = |event: &str| {
        let out = Command::new(&cargo_lambda)
            .args([
                "lambda",
                "invoke",
                "authorizer",
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
            ])
            .arg(port.to_string())
            .args(["--data-file", event])
            .current_dir(&root)
            .output()
            .unwrap();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        (out.status.success(), text(&out.stdout), text(&out.stderr))
    };
    let method_arn = |event: &str| -> String {
        let e: Value =
            serde_json::from_str(&std::fs::read_to_string(root.join(event)).unwrap()).unwrap();
        e["methodArn"].as_str().unwrap().to_owned()
    };

    let allow = "events/authorizer/rest-request-allow.json";
    let (ok, out, err) = invoke(allow);
    assert!(ok, "allow event failed: {err}");
    let answer: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(answer["principalId"].is_string());
    assert_eq!(
        policy::evaluate(&answer["policyDocument"], &method_arn(allow)),
        Decision::Allow
    );

    // A valid token without the admin group: a policy that does not allow it.
    let denied = "events/authorizer/rest-request-admin-denied.json";
    let (ok, out, err) = invoke(denied);
    assert!(ok, "admin-denied event failed: {err}");
    let answer: Value = serde_json::from_str(out.trim()).unwrap();
    assert_ne!(
        policy::evaluate(&answer["policyDocument"], &method_arn(denied)),
        Decision::Allow
    );

    for event in [
        "events/authorizer/rest-request-id-token.json",
        "events/authorizer/rest-request-tampered.json",
        "events/authorizer/rest-request-expired.json",
        "events/authorizer/rest-request-missing-header.json",
    ] {
        let (ok, out, err) = invoke(event);
        assert!(!ok, "{event} must fail, answered {out}");
        assert!(err.contains("Unauthorized"), "{event}: {err}");
    }
    watch.stop();
    // The functions started under watch are gone with it.
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}
