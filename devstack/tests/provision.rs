//! Provisioning moto from the real `template.yaml`, read back through the AWS
//! SDK: what the offline stack runs is what the template deploys.
//!
//! Needs moto: run through `scripts/with-moto.sh` (or `make test`).

use std::time::{SystemTime, UNIX_EPOCH};

use devstack::functions::function_env;
use devstack::provision::provision;
use devstack::template::{Template, default_path};

fn moto() -> String {
    std::env::var("MOTO_ENDPOINT")
        .expect("MOTO_ENDPOINT is not set: run it through scripts/with-moto.sh or `make test`")
}

fn unique(prefix: &str) -> String {
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{n}")
}

#[tokio::test]
async fn provisioned_resources_carry_the_template_settings() {
    moto();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let template = Template::load(&default_path()).unwrap();
    let stack = provision(&config, &template, &unique("prov"))
        .await
        .unwrap();

    // --- user pool, as the template says (not as this test says)
    let tp = template.user_pool().unwrap();
    let tpw = tp.password_policy();
    let idp = aws_sdk_cognitoidentityprovider::Client::new(&config);
    let pool = idp
        .describe_user_pool()
        .user_pool_id(&stack.user_pool_id)
        .send()
        .await
        .unwrap()
        .user_pool
        .unwrap();
    let pw = pool.policies().unwrap().password_policy().unwrap();
    assert_eq!(pw.minimum_length(), tpw.minimum_length);
    assert_eq!(Some(pw.require_uppercase()), tpw.require_uppercase);
    assert_eq!(Some(pw.require_lowercase()), tpw.require_lowercase);
    assert_eq!(Some(pw.require_numbers()), tpw.require_numbers);
    assert_eq!(Some(pw.require_symbols()), tpw.require_symbols);
    let attrs: Vec<&str> = pool
        .username_attributes()
        .iter()
        .map(|a| a.as_str())
        .collect();
    assert_eq!(attrs, tp.username_attributes);
    assert!(attrs.contains(&"email"), "the template signs in with email");
    let verified: Vec<&str> = pool
        .auto_verified_attributes()
        .iter()
        .map(|a| a.as_str())
        .collect();
    assert_eq!(verified, tp.auto_verified_attributes);

    // The policy is enforced: a password the template forbids is refused.
    let weak = idp
        .sign_up()
        .client_id(&stack.app_client_id)
        .username("weak@example.com")
        .password("short")
        .send()
        .await;
    assert!(weak.is_err(), "a 5-character password must be refused");

    // --- app client: public, the template's flows and token validities
    let tc = template.app_client().unwrap();
    let client = idp
        .describe_user_pool_client()
        .user_pool_id(&stack.user_pool_id)
        .client_id(&stack.app_client_id)
        .send()
        .await
        .unwrap()
        .user_pool_client
        .unwrap();
    assert!(client.client_secret().is_none(), "public client: no secret");
    let flows: Vec<&str> = client
        .explicit_auth_flows()
        .iter()
        .map(|f| f.as_str())
        .collect();
    assert_eq!(flows, tc.explicit_auth_flows);
    assert!(
        !flows.contains(&"ALLOW_USER_PASSWORD_AUTH"),
        "no plain password flow in the template"
    );
    assert_eq!(client.access_token_validity(), tc.access_token_validity);
    assert_eq!(client.id_token_validity(), tc.id_token_validity);
    assert_eq!(
        Some(client.refresh_token_validity()),
        tc.refresh_token_validity
    );

    // --- groups: every one the template declares, `admin` among them
    let groups = idp
        .list_groups()
        .user_pool_id(&stack.user_pool_id)
        .send()
        .await
        .unwrap();
    let mut names: Vec<String> = groups
        .groups()
        .iter()
        .filter_map(|g| g.group_name().map(str::to_owned))
        .collect();
    names.sort();
    let mut expected: Vec<String> = template
        .groups()
        .unwrap()
        .into_iter()
        .map(|g| g.group_name)
        .collect();
    expected.sort();
    assert_eq!(names, expected);
    assert!(names.iter().any(|n| n == "admin"));

    // --- identity pool: the user pool + client as its only provider
    let ci = aws_sdk_cognitoidentity::Client::new(&config);
    let ip = ci
        .describe_identity_pool()
        .identity_pool_id(&stack.identity_pool_id)
        .send()
        .await
        .unwrap();
    assert!(!ip.allow_unauthenticated_identities());
    let providers = ip.cognito_identity_providers();
    assert_eq!(providers.len(), 1);
    assert_eq!(
        providers[0].provider_name(),
        Some(stack.login_provider().as_str())
    );
    assert_eq!(providers[0].client_id(), Some(stack.app_client_id.as_str()));

    // --- table: the template's key schema and TTL attribute
    let tt = template.table().unwrap();
    let ddb = aws_sdk_dynamodb::Client::new(&config);
    let table = ddb
        .describe_table()
        .table_name(&stack.table_name)
        .send()
        .await
        .unwrap()
        .table
        .unwrap();
    let keys: Vec<(String, String)> = table
        .key_schema()
        .iter()
        .map(|k| {
            (
                k.attribute_name().to_owned(),
                k.key_type().as_str().to_owned(),
            )
        })
        .collect();
    let tkeys: Vec<(String, String)> = tt
        .key_schema
        .iter()
        .map(|k| (k.attribute_name.clone(), k.key_type.clone()))
        .collect();
    assert_eq!(keys, tkeys);
    assert_eq!(
        tkeys,
        [
            ("PK".to_owned(), "HASH".to_owned()),
            ("SK".to_owned(), "RANGE".to_owned())
        ]
    );
    let ttl = ddb
        .describe_time_to_live()
        .table_name(&stack.table_name)
        .send()
        .await
        .unwrap()
        .time_to_live_description
        .unwrap();
    assert_eq!(
        ttl.attribute_name(),
        tt.time_to_live_specification
            .as_ref()
            .map(|t| t.attribute_name.as_str())
    );
    assert_eq!(ttl.attribute_name(), Some("expiresAt"));

    // --- function environment: the template's, with the deployment's ids
    let env = function_env(&template, &stack).unwrap();
    assert_eq!(env["USER_POOL_ID"], stack.user_pool_id);
    assert_eq!(env["APP_CLIENT_IDS"], stack.app_client_id);
    assert_eq!(env["TABLE_NAME"], stack.table_name);
    assert!(env["AUTH_RULES"].contains("\"groups_any\":[\"admin\"]"));
    assert_eq!(
        env.get("MAX_NOTES_PER_USER").map(String::as_str),
        Some("1000")
    );
    assert!(
        !env.contains_key("JWKS_JSON"),
        "an empty JWKS_JSON is left unset, not set to empty"
    );
}

#[test]
fn the_local_gateway_serves_the_templates_api() {
    let api = Template::load(&default_path()).unwrap().api().unwrap();
    assert_eq!(api.stage, "dev");
    assert_eq!(api.reauthorize_every, 300);
    assert_eq!(api.identity_headers, ["Authorization"]);
    let mut routes: Vec<String> = api
        .routes
        .iter()
        .map(|r| {
            format!(
                "{} {} {}",
                r.method,
                r.resource,
                if r.authorized { "auth" } else { "open" }
            )
        })
        .collect();
    routes.sort();
    assert_eq!(
        routes,
        [
            "DELETE /notes/{id} auth",
            "GET /admin/users/{sub}/notes auth",
            "GET /health open",
            "GET /me auth",
            "GET /notes auth",
            "GET /notes/{id} auth",
            "POST /notes auth",
            "POST /signout auth",
            "PUT /notes/{id} auth",
        ]
    );
    assert!(api.routes.iter().all(|r| r.function == "api-handler"));
    for kind in ["UNAUTHORIZED", "ACCESS_DENIED"] {
        assert!(api.gateway_responses.contains_key(kind), "{kind}");
    }
}
