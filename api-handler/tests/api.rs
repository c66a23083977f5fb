//! The real handler over DynamoDB, against moto over the wire.
//! Run with `scripts/with-moto.sh cargo test -p api-handler`.

mod helpers;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use api_handler::respond;
use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::{Value, json};

use helpers::*;

fn not_admin(mut req: ApiGatewayProxyRequest) -> ApiGatewayProxyRequest {
    req.request_context
        .authorizer
        .fields
        .insert("groups".into(), json!("users"));
    req
}

#[test]
fn every_api_fixture_round_trips_through_the_event_type() {
    let mut seen = 0;
    for entry in std::fs::read_dir(fixtures_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let parsed: ApiGatewayProxyRequest =
            serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let text = serde_json::to_string(&parsed).unwrap();
        let reparsed: ApiGatewayProxyRequest = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed, reparsed, "{}", path.display());
        // Authenticated fixtures carry what the authorizer produces: the
        // context fields plus principalId, equal to sub.
        let fields = &parsed.request_context.authorizer.fields;
        if !fields.is_empty() {
            assert_eq!(
                fields.get("principalId"),
                fields.get("sub"),
                "{}",
                path.display()
            );
            let ctx = auth_context::AuthorizerContext::from_fields(fields).unwrap();
            let mut expected = serde_json::to_value(&ctx).unwrap();
            expected["principalId"] = json!(ctx.sub);
            assert_eq!(
                serde_json::to_value(fields).unwrap(),
                expected,
                "{}",
                path.display()
            );
        }
        seen += 1;
    }
    assert!(seen >= 8, "expected a fixture per route, found {seen}");
}

#[tokio::test]
async fn each_route_happy_path_over_dynamodb() {
    let (app, _, _) = app(10).await;
    let r = call(&app, &fixture("health")).await;
    assert_eq!((r.status_code, json_of(&r)), (200, json!({"status": "ok"})));

    let created = call(&app, &fixture("post-notes")).await;
    assert_eq!(created.status_code, 201, "{:?}", created.body);
    let note = json_of(&created);
    let id = note["id"].as_str().unwrap().to_owned();
    assert_eq!(
        header(&created, "location"),
        Some(format!("/prod/notes/{id}").as_str())
    );
    assert_eq!(header(&created, "etag"), Some("\"1\""));
    assert_eq!(note["tags"], json!(["home", "weekly"]));

    let me = json_of(&call(&app, &fixture("get-me")).await);
    assert_eq!(
        (me["noteCount"].as_u64(), me["noteQuota"].as_u64()),
        (Some(1), Some(10))
    );
    assert_eq!(me["groups"], json!(["users"]));

    let path = format!("/notes/{id}");
    let got = call(&app, &at_path(fixture("get-note"), &path)).await;
    assert_eq!(
        (got.status_code, header(&got, "etag")),
        (200, Some("\"1\""))
    );
    assert_eq!(json_of(&got), note);

    let list = json_of(&call(&app, &fixture("get-notes")).await);
    assert_eq!(list, json!({"items": [note], "nextCursor": null}));

    let put = call(&app, &at_path(fixture("put-note"), &path)).await;
    assert_eq!(
        (put.status_code, header(&put, "etag")),
        (200, Some("\"2\"")),
        "{:?}",
        put.body
    );
    let updated = json_of(&put);
    assert_eq!(updated["title"], "Groceries (updated)");
    assert_eq!(updated["tags"], json!(["home"]));
    assert_eq!(updated["createdAt"], note["createdAt"]);
    assert_eq!(
        json_of(&call(&app, &at_path(fixture("get-note"), &path)).await),
        updated
    );

    let admin = json_of(&call(&app, &fixture("get-admin-user-notes")).await);
    assert_eq!(admin["items"], json!([updated]));

    let del = call(&app, &at_path(fixture("delete-note"), &path)).await; // If-Match "2"
    assert_eq!(del.status_code, 204);
    assert_eq!(note_count(&app, ALICE).await, 0);
}

#[tokio::test]
async fn each_route_error_paths_over_dynamodb() {
    let (app, _, _) = app(2).await;
    let id = create(&app, ALICE, "one").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/notes/{id}");

    // Routing.
    assert_error(
        &call(&app, &at_path(fixture("get-me"), "/nope")).await,
        404,
        "route_not_found",
    );
    let mut patch = fixture("get-notes");
    patch.http_method = http::Method::PATCH;
    assert_error(&call(&app, &patch).await, 405, "method_not_allowed");
    // Identity.
    let mut anonymous = fixture("get-notes");
    anonymous.request_context.authorizer.fields.clear();
    assert_error(&call(&app, &anonymous).await, 401, "unauthorized");
    // Bodies.
    let post = fixture("post-notes");
    let huge = json!({"title": "t", "body": "x".repeat(70_000)});
    assert_error(
        &call(&app, &with_body(post.clone(), &huge)).await,
        413,
        "payload_too_large",
    );
    assert_error(
        &call(&app, &without_header(post.clone(), "content-type")).await,
        415,
        "unsupported_media_type",
    );
    let mut broken = post.clone();
    broken.body = Some("{not json".into());
    assert_error(&call(&app, &broken).await, 400, "invalid_json");
    let extra = json!({"title": "t", "body": "", "id": "01KB5Z8Q3M7N2P4R6T8V0W2X4Y"});
    assert_error(
        &call(&app, &with_body(post.clone(), &extra)).await,
        400,
        "unknown_field",
    );
    assert_error(
        &call(
            &app,
            &with_body(post.clone(), &json!({"title": "", "body": ""})),
        )
        .await,
        400,
        "invalid_field",
    );
    // Quota: 2 allowed, 1 used.
    create(&app, ALICE, "two").await;
    assert_error(&call(&app, &post).await, 409, "quota_exceeded");
    assert_eq!(note_count(&app, ALICE).await, 2);
    // Ids and preconditions.
    assert_error(
        &call(&app, &at_path(fixture("get-note"), "/notes/xyz")).await,
        400,
        "invalid_parameter",
    );
    assert_error(&call(&app, &fixture("get-note")).await, 404, "not_found");
    assert_error(&call(&app, &fixture("put-note")).await, 404, "not_found");
    assert_error(&call(&app, &fixture("delete-note")).await, 404, "not_found");
    let put = at_path(fixture("put-note"), &path);
    assert_error(
        &call(&app, &without_header(put.clone(), "if-match")).await,
        428,
        "precondition_required",
    );
    assert_error(
        &call(&app, &with_header(put.clone(), "if-match", "\"9\"")).await,
        412,
        "precondition_failed",
    );
    assert_error(
        &call(&app, &with_header(put, "if-match", "nonsense")).await,
        400,
        "invalid_parameter",
    );
    let del = at_path(fixture("delete-note"), &path);
    assert_error(
        &call(&app, &with_header(del.clone(), "if-match", "\"9\"")).await,
        412,
        "precondition_failed",
    );
    assert_eq!(
        note_count(&app, ALICE).await,
        2,
        "a failed delete changes nothing"
    );
    let ok = call(&app, &with_header(del.clone(), "if-match", "\"1\"")).await;
    assert_eq!(ok.status_code, 204);
    assert_error(
        &call(&app, &without_header(del, "if-match")).await,
        404,
        "not_found",
    );
    assert_eq!(note_count(&app, ALICE).await, 1);
    // Listing parameters.
    let list = fixture("get-notes");
    assert_error(
        &call(&app, &with_query(list.clone(), &[("limit", "0")])).await,
        400,
        "invalid_parameter",
    );
    assert_error(
        &call(&app, &with_query(list, &[("cursor", "%%%")])).await,
        400,
        "invalid_cursor",
    );
    // Admin route, non-admin caller.
    let bob = not_admin(as_user(fixture("get-admin-user-notes"), BOB));
    assert_error(&call(&app, &bob).await, 403, "forbidden");
}

#[tokio::test]
async fn another_user_cannot_read_list_update_or_delete() {
    let (app, _, _) = app(10).await;
    let note = create(&app, ALICE, "alice's secret").await;
    let id = note["id"].as_str().unwrap();
    let path = format!("/notes/{id}");

    let get = call(&app, &as_user(at_path(fixture("get-note"), &path), BOB)).await;
    assert_error(&get, 404, "not_found");
    let put = as_user(
        with_header(at_path(fixture("put-note"), &path), "if-match", "\"1\""),
        BOB,
    );
    assert_error(&call(&app, &put).await, 404, "not_found");
    let put_any = as_user(
        with_header(at_path(fixture("put-note"), &path), "if-match", "*"),
        BOB,
    );
    assert_error(&call(&app, &put_any).await, 404, "not_found");
    let del = as_user(
        without_header(at_path(fixture("delete-note"), &path), "if-match"),
        BOB,
    );
    assert_error(&call(&app, &del).await, 404, "not_found");
    let list = json_of(&call(&app, &as_user(fixture("get-notes"), BOB)).await);
    assert_eq!(list, json!({"items": [], "nextCursor": null}));
    let admin = not_admin(as_user(fixture("get-admin-user-notes"), BOB));
    assert_error(&call(&app, &admin).await, 403, "forbidden");
    // A body field cannot redirect a write either.
    let sneaky = as_user(
        with_body(
            fixture("post-notes"),
            &json!({"title": "x", "body": "", "sub": ALICE}),
        ),
        BOB,
    );
    assert_error(&call(&app, &sneaky).await, 400, "unknown_field");

    // Alice's note and count are untouched.
    let again = call(&app, &at_path(fixture("get-note"), &path)).await;
    assert_eq!((again.status_code, json_of(&again)), (200, note));
    assert_eq!(note_count(&app, ALICE).await, 1);
    assert_eq!(note_count(&app, BOB).await, 0);
}

#[tokio::test]
async fn cursors_cannot_reach_another_partition_and_tampering_is_400() {
    let (app, _, _) = app(20).await;
    let t0 = SystemTime::now();
    for i in 0..5u64 {
        let req = with_body(
            fixture("post-notes"),
            &json!({"title": format!("n{i}"), "body": ""}),
        );
        assert_eq!(
            respond(&app, &req, "r", t0 + Duration::from_millis(i))
                .await
                .status_code,
            201
        );
    }
    create(&app, BOB, "bob's").await;

    let page1 = json_of(&call(&app, &with_query(fixture("get-notes"), &[("limit", "2")])).await);
    let titles = |p: &Value| {
        p["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["title"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(titles(&page1), [json!("n4"), json!("n3")]);
    let cursor = page1["nextCursor"].as_str().unwrap();
    let page2 = json_of(
        &call(
            &app,
            &with_query(fixture("get-notes"), &[("limit", "2"), ("cursor", cursor)]),
        )
        .await,
    );
    assert_eq!(titles(&page2), [json!("n2"), json!("n1")]);

    // Alice's cursor in Bob's hands only walks Bob's partition.
    let bobs = as_user(with_query(fixture("get-notes"), &[("cursor", cursor)]), BOB);
    let r = json_of(&call(&app, &bobs).await);
    assert!(titles(&r).iter().all(|t| t == "bob's"), "{r}");

    // Flipping any character either fails with 400 or still stays in the caller's partition.
    let mut tampered = cursor.to_owned();
    tampered.push('A');
    for bad in [
        tampered.as_str(),
        "",
        "VVNFUiNib2I",
        &cursor[..cursor.len() - 1],
        "eyJQSyI6IlVTRVIjYm9iIn0",
    ] {
        let r = call(&app, &with_query(fixture("get-notes"), &[("cursor", bad)])).await;
        assert_error(&r, 400, "invalid_cursor");
    }
    assert_eq!(
        all_titles(&app, ALICE).await,
        ["n4", "n3", "n2", "n1", "n0"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_puts_with_the_same_if_match_have_exactly_one_winner() {
    let (app, _, _) = serialised_app(10).await;
    let app = Arc::new(app);
    let id = create(&app, ALICE, "contended").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/notes/{id}");
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let app = Arc::clone(&app);
            let req = with_body(
                with_header(at_path(fixture("put-note"), &path), "if-match", "\"1\""),
                &json!({"title": format!("writer {i}"), "body": format!("body {i}"), "tags": [format!("w{i}")]}),
            );
            tokio::spawn(async move { (i, call(&app, &req).await) })
        })
        .collect();
    let mut winners = Vec::new();
    let mut stale = 0;
    for t in tasks {
        let (i, r) = t.await.unwrap();
        match r.status_code {
            200 => winners.push((i, json_of(&r))),
            412 => stale += 1,
            other => panic!("unexpected {other}: {:?}", r.body),
        }
    }
    assert_eq!((winners.len(), stale), (1, 19));
    let (i, winner) = &winners[0];
    let stored = json_of(&call(&app, &at_path(fixture("get-note"), &path)).await);
    assert_eq!(&stored, winner);
    assert_eq!(stored["title"], format!("writer {i}"));
    assert_eq!(stored["body"], format!("body {i}"));
    assert_eq!(stored["version"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_creates_at_the_quota_boundary_fill_exactly_the_free_slots() {
    let (app, client, table) = serialised_app(8).await;
    let app = Arc::new(app);
    for i in 0..3 {
        create(&app, ALICE, &format!("pre {i}")).await;
    }
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let app = Arc::clone(&app);
            let req = with_body(
                fixture("post-notes"),
                &json!({"title": format!("race {i}"), "body": ""}),
            );
            tokio::spawn(async move { call(&app, &req).await })
        })
        .collect();
    let (mut created, mut refused) = (0, 0);
    for t in tasks {
        let r = t.await.unwrap();
        match r.status_code {
            201 => created += 1,
            409 => {
                assert_eq!(json_of(&r)["error"]["code"], "quota_exceeded");
                refused += 1;
            }
            other => panic!("unexpected {other}: {:?}", r.body),
        }
    }
    assert_eq!((created, refused), (5, 15));
    assert_eq!(all_titles(&app, ALICE).await.len(), 8);
    assert_eq!(note_count(&app, ALICE).await, 8);
    // The counter item itself, read straight from the table.
    let profile = client
        .get_item()
        .table_name(&table)
        .key("PK", AttributeValue::S(format!("USER#{ALICE}")))
        .key("SK", AttributeValue::S("PROFILE".into()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        profile.item.unwrap()["noteCount"],
        AttributeValue::N("8".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idempotent_retries_create_nothing_new() {
    let (app, client, table) = serialised_app(10).await;
    let app = Arc::new(app);
    let req = fixture("post-notes-idempotent");
    let first = call(&app, &req).await;
    assert_eq!(first.status_code, 201, "{:?}", first.body);
    // Sequential and concurrent retries all get the first answer.
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let (app, req) = (Arc::clone(&app), req.clone());
            tokio::spawn(async move { call(&app, &req).await })
        })
        .collect();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status_code, 201);
        assert_eq!(r.body, first.body);
        assert_eq!(header(&r, "location"), header(&first, "location"));
        assert_eq!(header(&r, "etag"), header(&first, "etag"));
    }
    assert_eq!(note_count(&app, ALICE).await, 1);
    assert_eq!(all_titles(&app, ALICE).await, ["Pay rent"]);

    let different = with_body(
        req.clone(),
        &json!({"title": "Pay rent", "body": "after the 3rd"}),
    );
    assert_error(&call(&app, &different).await, 422, "idempotency_key_reused");
    assert_eq!(note_count(&app, ALICE).await, 1);

    // The record carries the TTL attribute the table expires it by.
    let key = req
        .headers
        .get("idempotency-key")
        .unwrap()
        .to_str()
        .unwrap();
    let rec = client
        .get_item()
        .table_name(&table)
        .key("PK", AttributeValue::S(format!("USER#{ALICE}")))
        .key("SK", AttributeValue::S(format!("IDEMPOTENCY#{key}")))
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let expires: i64 = rec["expiresAt"].as_n().unwrap().parse().unwrap();
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (now + 86_000..=now + 86_500).contains(&expires),
        "{expires} vs {now}"
    );

    // Once expired (TTL deletion lags), the key is free again: a new note.
    let later = SystemTime::now() + Duration::from_secs(2 * 86_400);
    let r = respond(&app, &req, "later", later).await;
    assert_eq!(r.status_code, 201);
    assert_ne!(r.body, first.body);
    assert_eq!(note_count(&app, ALICE).await, 2);
}

/// A machine (client-credentials) caller as the authorizer describes it:
/// `principalType` machine, `sub` = client id, no username, no groups.
fn as_machine(mut req: ApiGatewayProxyRequest, scope: &str) -> ApiGatewayProxyRequest {
    let f = &mut req.request_context.authorizer.fields;
    f.insert("principalType".into(), json!("machine"));
    f.insert("sub".into(), json!("3n4b5urk1ft4fl3mg5e8hcgcbr"));
    f.insert("clientId".into(), json!("3n4b5urk1ft4fl3mg5e8hcgcbr"));
    f.insert("username".into(), json!(""));
    f.insert("groups".into(), json!(""));
    f.insert("scope".into(), json!(scope));
    req
}

#[tokio::test]
async fn machine_principals_are_refused_on_per_user_routes_and_may_list_with_the_admin_scope() {
    let (app, _, _) = app(10).await;
    create(&app, ALICE, "alice's").await;
    for name in [
        "get-me",
        "get-notes",
        "post-notes",
        "get-note",
        "put-note",
        "delete-note",
    ] {
        let r = call(&app, &as_machine(fixture(name), "notes/admin.read")).await;
        assert_error(&r, 403, "machine_principal_not_allowed");
    }
    // A machine-looking context without the key (older authorizer): refused too.
    let mut legacy = as_machine(fixture("get-notes"), "");
    legacy
        .request_context
        .authorizer
        .fields
        .remove("principalType");
    assert_error(
        &call(&app, &legacy).await,
        403,
        "machine_principal_not_allowed",
    );
    let r = call(
        &app,
        &as_machine(fixture("get-admin-user-notes"), "notes/admin.read"),
    )
    .await;
    assert_eq!(r.status_code, 200, "{:?}", r.body);
    assert_eq!(json_of(&r)["items"][0]["title"], "alice's");
    let r = call(
        &app,
        &as_machine(fixture("get-admin-user-notes"), "notes/read"),
    )
    .await;
    assert_error(&r, 403, "forbidden");
    // A user is still served, and a user with the scope but not the group is not an admin.
    assert_eq!(call(&app, &fixture("get-notes")).await.status_code, 200);
    let mut scoped_user = not_admin(fixture("get-admin-user-notes"));
    scoped_user
        .request_context
        .authorizer
        .fields
        .insert("scope".into(), json!("notes/admin.read"));
    assert_error(&call(&app, &scoped_user).await, 403, "forbidden");
}
