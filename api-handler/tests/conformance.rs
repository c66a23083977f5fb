//! HTTP conformance over DynamoDB (moto, over the wire): RFC 9110
//! preconditions, duplicate JSON keys, canonical query numbers.
//! Run with `scripts/with-moto.sh cargo test -p api-handler --test conformance`.

mod helpers;

use http::HeaderValue;
use serde_json::json;

use helpers::*;

#[tokio::test]
async fn if_match_lists_weak_and_unknown_tags_are_evaluated_against_dynamodb() {
    let (app, _client, _table) = app(10).await;
    let id = create(&app, ALICE, "first").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/notes/{id}");
    let put = at_path(fixture("put-note"), &path);
    let del = at_path(fixture("delete-note"), &path);

    // Every well-formed non-matching value is 412 and writes nothing; this
    // includes lists whose members can name no version (the store's
    // never-true condition) and lists evaluated with `IN`.
    for never in [
        "\"bogus-version\"",
        "W/\"1\"",
        "\"2\", \"3\", W/\"1\"",
        "\"01\"",
    ] {
        assert_error(
            &call(&app, &with_header(put.clone(), "if-match", never)).await,
            412,
            "precondition_failed",
        );
        assert_error(
            &call(&app, &with_header(del.clone(), "if-match", never)).await,
            412,
            "precondition_failed",
        );
    }
    assert_eq!(
        note_count(&app, ALICE).await,
        1,
        "no refused delete applied"
    );
    assert_error(
        &call(&app, &with_header(put.clone(), "if-match", "\"1\" \"2\"")).await,
        400,
        "invalid_parameter",
    );

    let r = call(&app, &with_header(put.clone(), "if-match", "\"5\", \"1\"")).await;
    assert_eq!(r.status_code, 200, "{:?}", r.body);
    assert_eq!(header(&r, "etag"), Some("\"2\""));
    assert_eq!(json_of(&r)["version"], 2);

    // Two field lines form one list (API Gateway: last in `headers`, all in
    // `multiValueHeaders`).
    let mut two_lines = with_header(del.clone(), "if-match", "\"9\"");
    two_lines.multi_value_headers.remove("if-match");
    for l in ["\"2\"", "\"9\""] {
        two_lines
            .multi_value_headers
            .append("if-match", HeaderValue::from_static(l));
    }
    let r = call(&app, &two_lines).await;
    assert_eq!(r.status_code, 204, "{:?}", r.body);
    assert_eq!(note_count(&app, ALICE).await, 0);

    // A missing note is 404 whatever the precondition says.
    for v in ["*", "\"bogus\"", "\"2\""] {
        assert_error(
            &call(&app, &with_header(put.clone(), "if-match", v)).await,
            404,
            "not_found",
        );
    }
}

#[tokio::test]
async fn get_answers_304_when_if_none_match_names_the_current_version() {
    let (app, _client, _table) = app(10).await;
    let id = create(&app, ALICE, "first").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let get = at_path(fixture("get-note"), &format!("/notes/{id}"));
    let r = call(&app, &with_header(get.clone(), "if-none-match", "W/\"1\"")).await;
    assert_eq!(r.status_code, 304);
    assert_eq!(header(&r, "etag"), Some("\"1\""));
    assert!(r.body.is_none());
    let r = call(&app, &with_header(get.clone(), "if-none-match", "\"2\"")).await;
    assert_eq!(r.status_code, 200);
    assert_eq!(json_of(&r)["title"], "first");
    assert_error(
        &call(&app, &with_header(get, "if-none-match", "nope")).await,
        400,
        "invalid_parameter",
    );
}

#[tokio::test]
async fn duplicate_body_keys_and_non_canonical_limits_are_400() {
    let (app, _client, _table) = app(10).await;
    let mut post = as_user(fixture("post-notes"), ALICE);
    post.body = Some(r#"{"title":"kept?","body":"","title":"or this?"}"#.into());
    let r = call(&app, &post).await;
    assert_error(&r, 400, "duplicate_key");
    assert_eq!(json_of(&r)["error"]["field"], "title");
    assert_eq!(note_count(&app, ALICE).await, 0);

    create(&app, ALICE, "one").await;
    let list = as_user(fixture("get-notes"), ALICE);
    for bad in ["+5", "05", " 5"] {
        let r = call(&app, &with_query(list.clone(), &[("limit", bad)])).await;
        assert_error(&r, 400, "invalid_parameter");
        assert_eq!(json_of(&r)["error"]["field"], "limit");
    }
    let r = call(&app, &with_query(list, &[("limit", "5")])).await;
    assert_eq!(r.status_code, 200);
    assert_eq!(json_of(&r)["items"], json!([json_of(&r)["items"][0]]));
}
