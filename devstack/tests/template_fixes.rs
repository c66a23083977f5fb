//! The fixes of issue 10 to `template.yaml`, each pinned: read from the
//! template with its tags kept, and — where it is SAM that decides (stages,
//! deployments) — from the SAM transform's own output
//! (`scripts/sam-transform.py`, the translator bundled with SAM CLI in
//! `.venv-sam`, run offline).

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;
use std::process::Command;

use common::{
    if_parts, is_ref_to, parameter, resource, root, strings, tag, template, template_text,
};
use serde_json::Value as Json;
use serde_norway::Value;

/// The parameter's `AllowedPattern` as CloudFormation applies it (the whole value).
fn pattern(t: &Value, name: &str) -> fancy_regex::Regex {
    let p = parameter(t, name)["AllowedPattern"]
        .as_str()
        .unwrap_or_else(|| panic!("{name} has no AllowedPattern"));
    fancy_regex::Regex::new(p).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn accepts(re: &fancy_regex::Regex, value: &str) -> bool {
    re.is_match(value).unwrap()
}

// ------------------------------------------------------------- SAM transform

/// The transform's clock (Unix seconds) unless a test sets another: SAM
/// reads it for `AlwaysDeploy`, and a fixed one makes every output the same
/// on every machine, however fast.
const DEPLOYED_AT: u64 = 1_780_000_000;

/// The transformed template (CloudFormation JSON) of `text` for these
/// parameter values, with the transform's clock at `now` (Unix seconds).
fn transformed_at(text: &str, params: &[&str], now: u64) -> Json {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let input = dir.join(format!(
        "template-{}-{:?}.yaml",
        std::process::id(),
        std::thread::current().id()
    ));
    fs::write(&input, text).unwrap();
    let python = root().join(".venv-sam/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/venv.sh --sam (make test does)",
        python.display()
    );
    let out = Command::new(&python)
        .env("SAM_TRANSFORM_NOW", now.to_string())
        .arg(root().join("scripts/sam-transform.py"))
        .arg(&input)
        .args(params)
        .output()
        .expect("run scripts/sam-transform.py");
    let _ = fs::remove_file(&input);
    assert!(
        out.status.success(),
        "SAM transform failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("transform output is JSON")
}

fn transformed(params: &[&str]) -> Json {
    transformed_at(&template_text(), params, DEPLOYED_AT)
}

fn of_type<'a>(t: &'a Json, ty: &str) -> Vec<(&'a String, &'a Json)> {
    t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == ty)
        .collect()
}

fn deployment_id(t: &Json) -> String {
    let deployments = of_type(t, "AWS::ApiGateway::Deployment");
    assert_eq!(deployments.len(), 1, "one deployment");
    deployments[0].0.clone()
}

#[test]
fn sam_creates_exactly_one_stage_with_throttling_and_access_logs() {
    let t = transformed(&[]);
    let stages = of_type(&t, "AWS::ApiGateway::Stage");
    let names: Vec<&String> = stages.iter().map(|(id, _)| *id).collect();
    assert_eq!(
        stages.len(),
        1,
        "stages {names:?}: without OpenApiVersion SAM adds one named `Stage` that has no \
         throttling and no access logs"
    );
    let stage = &stages[0].1["Properties"];
    assert_eq!(stage["StageName"], serde_json::json!({"Ref": "Stage"}));
    let settings = &stage["MethodSettings"][0];
    assert_eq!(settings["ResourcePath"], "/*");
    assert_eq!(settings["HttpMethod"], "*");
    assert_eq!(
        settings["ThrottlingRateLimit"],
        serde_json::json!({"Ref": "ThrottlingRateLimit"})
    );
    assert!(stage["AccessLogSetting"]["DestinationArn"].is_object());
    // The stage serves the one deployment there is.
    assert_eq!(
        stage["DeploymentId"],
        serde_json::json!({ "Ref": deployment_id(&t) })
    );
    let api = &of_type(&t, "AWS::ApiGateway::RestApi")[0].1["Properties"];
    assert_eq!(api["Body"]["openapi"], "3.0.1");
}

#[test]
fn a_changed_cors_origin_gets_a_new_deployment() {
    // With AlwaysDeploy SAM names the deployment after the second the
    // transform runs, so every `sam deploy` (one transform each, seconds
    // apart at least) creates a new deployment and the stage picks up the
    // origin substituted into gateway responses and preflights.
    let text = template_text();
    let origin_a = ["CorsAllowOrigin=https://a.example.com"];
    let origin_b = ["CorsAllowOrigin=https://b.example.com"];
    let first = transformed_at(&text, &origin_a, DEPLOYED_AT);
    let second = transformed_at(&text, &origin_b, DEPLOYED_AT + 60);
    assert_ne!(
        deployment_id(&first),
        deployment_id(&second),
        "the stage would keep serving the old origin in its gateway responses and preflights"
    );
    // That is the template's doing (AlwaysDeploy), not the transform's:
    // without it the deployment id ignores both the origin and the clock
    // (the finding).
    assert!(text.contains("\n      AlwaysDeploy: true\n"));
    let without = text.replace("\n      AlwaysDeploy: true\n", "\n");
    let first = transformed_at(&without, &origin_a, DEPLOYED_AT);
    let second = transformed_at(&without, &origin_b, DEPLOYED_AT + 60);
    assert_eq!(deployment_id(&first), deployment_id(&second));
}

#[test]
fn the_rest_api_is_created_after_the_account_logging_role_it_needs() {
    // The Ref inside the API's Description orders the API (and so its
    // stage, which has access logging) after the account setting.
    let t = transformed(&["ConfigureApiGatewayAccount=true"]);
    let api = &of_type(&t, "AWS::ApiGateway::RestApi")[0].1["Properties"];
    let description = api["Description"].to_string();
    assert!(
        description.contains("ApiGatewayAccount"),
        "RestApi does not depend on ApiGatewayAccount: {description}"
    );
}

// ------------------------------------------------------------- the template

#[test]
fn a_first_deploy_on_a_fresh_account_sets_up_the_api_logging_role() {
    let t = template();
    let p = parameter(&t, "ConfigureApiGatewayAccount");
    assert_eq!(
        p["Default"].as_str(),
        Some("true"),
        "the stage has access logging, which fails without the account's logging role"
    );
    assert!(
        !resource(&t, "Api")["Properties"]["AccessLogSetting"].is_null(),
        "access logging is why the role is needed"
    );
    let account = resource(&t, "ApiGatewayAccount");
    assert_eq!(
        account["Condition"].as_str(),
        Some("CreateApiGatewayAccount")
    );
    let cond = tag(&t["Conditions"]["CreateApiGatewayAccount"], "Equals")
        .and_then(Value::as_sequence)
        .unwrap();
    assert!(is_ref_to(&cond[0], "ConfigureApiGatewayAccount"));
    assert_eq!(cond[1].as_str(), Some("true"));
}

#[test]
fn the_account_logging_role_and_setting_outlive_the_stack() {
    let t = template();
    for id in ["ApiGatewayCloudWatchRole", "ApiGatewayAccount"] {
        let r = resource(&t, id);
        assert_eq!(r["DeletionPolicy"].as_str(), Some("Retain"), "{id}");
        assert_eq!(r["UpdateReplacePolicy"].as_str(), Some("Retain"), "{id}");
    }
    assert_eq!(
        tag(
            &resource(&t, "ApiGatewayAccount")["Properties"]["CloudWatchRoleArn"],
            "GetAtt"
        )
        .and_then(Value::as_str),
        Some("ApiGatewayCloudWatchRole.Arn")
    );
}

#[test]
fn lambda_platform_lines_are_kept() {
    let t = template();
    assert_eq!(
        t["Globals"]["Function"]["LoggingConfig"]["SystemLogLevel"].as_str(),
        Some("INFO"),
        "START/REPORT lines (duration, memory, init time) are INFO"
    );
}

#[test]
fn max_notes_per_user_is_bounded_like_the_handler() {
    let t = template();
    let p = parameter(&t, "MaxNotesPerUser");
    let min = p["MinValue"].as_u64().unwrap();
    let max = p["MaxValue"]
        .as_u64()
        .expect("MaxNotesPerUser has a MaxValue");
    let config = |v: u64| {
        api_handler::Config::from_lookup(|name| match name {
            "TABLE_NAME" => Some("notes".to_owned()),
            "MAX_NOTES_PER_USER" => Some(v.to_string()),
            _ => None,
        })
    };
    for v in [min, p["Default"].as_u64().unwrap(), max] {
        assert!(
            config(v).is_ok(),
            "the handler refuses {v}, which the template allows"
        );
    }
    assert!(config(max + 1).is_err(), "the template could allow more");
    assert!(config(min - 1).is_err());
}

#[test]
fn identity_provider_names_follow_cognitos_rules_and_do_not_clash() {
    let t = template();
    for name in ["SamlProviderName", "OidcProviderName"] {
        let re = pattern(&t, name);
        for ok in [
            "",
            "Corp",
            "CorpSAML",
            "Okta-Prod",
            "abc",
            &"x".repeat(32),
            "Entra-ID",
        ] {
            assert!(accepts(&re, ok), "{name} should allow {ok:?}");
        }
        for bad in [
            "ab",
            "a",
            &"x".repeat(33),
            "Google",
            "Facebook",
            "SignInWithApple",
            "LoginWithAmazon",
            "COGNITO",
            "_corp",
            "corp_",
            " corp",
            "corp ",
            "Entra ID",
        ] {
            assert!(!accepts(&re, bad), "{name} should refuse {bad:?}");
        }
        // Names that merely contain a built-in name are fine.
        assert!(accepts(&re, "GoogleWorkspace"));
    }
}

#[test]
fn domain_prefix_refuses_the_reserved_words() {
    let t = template();
    let re = pattern(&t, "DomainPrefix");
    for ok in ["", "notes", "notes-dev-1", "a", "my-notes-2026"] {
        assert!(accepts(&re, ok), "DomainPrefix should allow {ok:?}");
    }
    for bad in [
        "aws",
        "my-aws-notes",
        "amazonnotes",
        "notes-cognito",
        "Notes",
        "-notes",
        "notes-",
        &"a".repeat(64),
    ] {
        assert!(!accepts(&re, bad), "DomainPrefix should refuse {bad:?}");
    }
}

#[test]
fn the_authorizers_reserved_concurrency_is_a_parameter() {
    let t = template();
    let p = parameter(&t, "AuthorizerReservedConcurrency");
    assert_eq!(p["Type"].as_str(), Some("Number"));
    assert_eq!(p["MinValue"].as_u64(), Some(0));
    let f = &resource(&t, "AuthorizerFunction")["Properties"]["ReservedConcurrentExecutions"];
    let (cond, then, otherwise) = if_parts(f).expect("ReservedConcurrentExecutions is an !If");
    assert_eq!(cond, "HasReservedConcurrency");
    assert!(is_ref_to(then, "AuthorizerReservedConcurrency"));
    assert!(
        is_ref_to(otherwise, "AWS::NoValue"),
        "0 means no reservation"
    );
}

#[test]
fn managed_login_tokens_can_enrol_totp() {
    let t = template();
    let scopes = strings(&resource(&t, "UserPoolClient")["Properties"]["AllowedOAuthScopes"]);
    assert!(
        scopes.contains(&"aws.cognito.signin.user.admin"),
        "AssociateSoftwareToken needs it; scopes {scopes:?}"
    );
    assert!(
        parameter(&t, "Mfa")["AllowedValues"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|v| v.as_str() == Some("OPTIONAL")),
        "MFA can be enrolled by the user"
    );
}

#[test]
fn pool_mail_goes_through_ses_when_a_sender_is_given() {
    let t = template();
    let email = &resource(&t, "UserPool")["Properties"]["EmailConfiguration"];
    let (cond, ses, default) = if_parts(email).expect("EmailConfiguration is an !If");
    assert_eq!(cond, "HasSesSender");
    assert_eq!(ses["EmailSendingAccount"].as_str(), Some("DEVELOPER"));
    assert!(is_ref_to(&ses["SourceArn"], "SesSourceArn"));
    assert_eq!(
        default["EmailSendingAccount"].as_str(),
        Some("COGNITO_DEFAULT")
    );
    assert_eq!(parameter(&t, "SesSourceArn")["Default"].as_str(), Some(""));
}

/// The authorizer's `ISSUER_FORMAT` for each `IssuerConfiguration` value.
fn issuer_format_for(t: &Value, issuer_configuration: &str) -> String {
    let env = &resource(t, "AuthorizerFunction")["Properties"]["Environment"]["Variables"];
    let v = &env["ISSUER_FORMAT"];
    if let Some((cond, then, otherwise)) = if_parts(v) {
        let eq = tag(&t["Conditions"][cond], "Equals")
            .and_then(Value::as_sequence)
            .unwrap_or_else(|| panic!("condition {cond} is not an !Equals"));
        assert!(is_ref_to(&eq[0], "IssuerConfiguration"), "{cond}");
        let holds = eq[1].as_str() == Some(issuer_configuration);
        return (if holds { then } else { otherwise })
            .as_str()
            .unwrap()
            .to_owned();
    }
    if let Some(args) = tag(v, "FindInMap").and_then(Value::as_sequence) {
        assert!(is_ref_to(&args[1], "IssuerConfiguration"));
        let map = args[0].as_str().unwrap();
        let key = args[2].as_str().unwrap();
        return t["Mappings"][map][issuer_configuration][key]
            .as_str()
            .unwrap()
            .to_owned();
    }
    panic!("ISSUER_FORMAT is neither !If nor !FindInMap over IssuerConfiguration: {v:?}");
}

#[test]
fn the_pools_issuer_format_and_the_authorizers_always_agree() {
    let t = template();
    let p = parameter(&t, "IssuerConfiguration");
    assert_eq!(
        p["Default"].as_str(),
        Some("ORIGINAL"),
        "UPDATED only once AWS documents that the identity pool accepts such tokens"
    );
    let pool = &resource(&t, "UserPool")["Properties"];
    assert!(is_ref_to(
        &pool["IssuerConfiguration"]["Type"],
        "IssuerConfiguration"
    ));
    let allowed = strings(&p["AllowedValues"]);
    assert!(allowed.contains(&"ORIGINAL"));
    for value in allowed {
        let want = match value {
            "ORIGINAL" => "original",
            "UPDATED" => "updated",
            other => panic!("unknown issuer configuration {other}"),
        };
        assert_eq!(
            issuer_format_for(&t, value),
            want,
            "IssuerConfiguration={value}: the authorizer would refuse every token of the pool"
        );
    }
    // The stack's Issuer output follows the same condition.
    let (cond, updated, original) = if_parts(&t["Outputs"]["Issuer"]["Value"]).unwrap();
    assert_eq!(cond, "UpdatedIssuer");
    assert!(
        tag(updated, "Sub")
            .unwrap()
            .as_str()
            .unwrap()
            .starts_with("https://issuer-cognito-idp.")
    );
    assert!(
        tag(original, "Sub")
            .unwrap()
            .as_str()
            .unwrap()
            .starts_with("https://cognito-idp.")
    );
}

// ------------------------------------------------------------- operability

/// The EMF contract between the authorizer and the dashboard / alarms.
const EMF_NAMESPACE: &str = "CognitoNotes/Authorizer";
const EMF_COUNTERS: [&str; 3] = ["JwksFetches", "JwksFetchFailures", "StaleKeysServed"];

fn alarms(t: &Value) -> Vec<(String, &Value)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::CloudWatch::Alarm"))
        .map(|(id, r)| (id.as_str().unwrap().to_owned(), &r["Properties"]))
        .collect()
}

/// `(namespace, metric)` pairs an alarm watches, and the dimension values.
fn watched(alarm: &Value) -> Vec<(String, String, Vec<Value>)> {
    let one = |m: &Value| {
        (
            m["Namespace"].as_str().unwrap().to_owned(),
            m["MetricName"].as_str().unwrap().to_owned(),
            m["Dimensions"]
                .as_sequence()
                .map(|d| d.iter().map(|d| d["Value"].clone()).collect())
                .unwrap_or_default(),
        )
    };
    match alarm["Metrics"].as_sequence() {
        Some(ms) => ms
            .iter()
            .filter(|m| !m["MetricStat"].is_null())
            .map(|m| one(&m["MetricStat"]["Metric"]))
            .collect(),
        None => vec![one(alarm)],
    }
}

#[test]
fn alarms_cover_what_an_operator_watches_and_notify_the_optional_topic() {
    let t = template();
    let alarms = alarms(&t);
    let api_name = &resource(&t, "Api")["Properties"]["Name"];
    let covers = |ns: &str, metric: &str, dim: &dyn Fn(&Value) -> bool| {
        alarms.iter().any(|(_, a)| {
            watched(a)
                .iter()
                .any(|(n, m, dims)| n == ns && m == metric && dims.iter().any(dim))
        })
    };
    assert!(
        covers("AWS/Lambda", "Throttles", &|d| is_ref_to(
            d,
            "AuthorizerFunction"
        )),
        "authorizer throttles"
    );
    assert!(
        covers(EMF_NAMESPACE, "Decisions", &|d| d.as_str()
            == Some(authorizer::reason::Reason::JwksUnavailable.as_str())),
        "authorizer failures (keys unavailable → 500)"
    );
    assert!(
        covers("AWS/ApiGateway", "5XXError", &|d| d == api_name),
        "API 5xx"
    );
    assert!(
        covers("AWS/ApiGateway", "Latency", &|d| d == api_name),
        "API latency"
    );
    assert!(
        covers("AWS/DynamoDB", "ReadThrottleEvents", &|d| is_ref_to(
            d,
            "NotesTable"
        )) && covers("AWS/DynamoDB", "WriteThrottleEvents", &|d| is_ref_to(
            d,
            "NotesTable"
        )),
        "DynamoDB throttles"
    );
    // The API metrics are keyed by the API's name, which must be the one set.
    assert!(tag(api_name, "Sub").is_some(), "the API has a fixed Name");

    let topic = resource(&t, "AlarmTopic");
    assert_eq!(topic["Condition"].as_str(), Some("HasAlarmEmail"));
    assert!(is_ref_to(
        &topic["Properties"]["Subscription"][0]["Endpoint"],
        "AlarmEmail"
    ));
    assert_eq!(parameter(&t, "AlarmEmail")["Default"].as_str(), Some(""));
    for (id, a) in &alarms {
        assert_eq!(
            a["TreatMissingData"].as_str(),
            Some("notBreaching"),
            "{id}: no traffic is no alarm"
        );
        for actions in ["AlarmActions", "OKActions"] {
            let (cond, then, otherwise) =
                if_parts(&a[actions]).unwrap_or_else(|| panic!("{id}.{actions} is not an !If"));
            assert_eq!(cond, "HasAlarmEmail", "{id}.{actions}");
            assert!(is_ref_to(&then[0], "AlarmTopic"), "{id}.{actions}");
            assert!(is_ref_to(otherwise, "AWS::NoValue"), "{id}.{actions}");
        }
    }
}

/// The dashboard body with the `!Sub` variables filled in, as JSON.
fn dashboard() -> Json {
    let t = template();
    let body = tag(
        &resource(&t, "Dashboard")["Properties"]["DashboardBody"],
        "Sub",
    )
    .expect("DashboardBody is a !Sub");
    let text = match body {
        Value::String(s) => s.clone(),
        Value::Sequence(seq) => seq[0].as_str().unwrap().to_owned(),
        _ => panic!("unexpected DashboardBody"),
    };
    let mut filled = String::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("${") {
        filled.push_str(&rest[..start]);
        let end = rest[start..].find('}').unwrap() + start;
        filled.push_str("VALUE");
        rest = &rest[end + 1..];
    }
    filled.push_str(rest);
    serde_json::from_str(&filled).unwrap_or_else(|e| panic!("dashboard body is not JSON: {e}"))
}

#[test]
fn the_dashboard_plots_the_authorizers_emf_metrics() {
    let d = dashboard();
    let widgets = d["widgets"].as_array().unwrap();
    let all_metrics: Vec<&Json> = widgets
        .iter()
        .flat_map(|w| w["properties"]["metrics"].as_array().unwrap())
        .collect();
    // Decisions by every Reason, whatever reasons exist: a SEARCH over the dimension.
    let search = all_metrics
        .iter()
        .filter_map(|m| m[0]["expression"].as_str())
        .find(|e| e.contains("Decisions"))
        .expect("a widget plots Decisions");
    assert!(
        search.starts_with(&format!(
            "SEARCH('{{{EMF_NAMESPACE},Reason}} MetricName=\"Decisions\"'"
        )),
        "{search}"
    );
    // The JWKS counters, with the namespace carried by `"."`.
    let rows: Vec<Vec<&str>> = all_metrics
        .iter()
        .map(|m| {
            m.as_array()
                .unwrap()
                .iter()
                .filter_map(Json::as_str)
                .collect()
        })
        .collect();
    let mut namespace = "";
    let mut plotted = BTreeSet::new();
    for row in &rows {
        if let [ns, metric, ..] = row.as_slice() {
            if *ns != "." && *ns != "..." {
                namespace = ns;
            }
            if namespace == EMF_NAMESPACE {
                plotted.insert(metric.to_string());
            }
        }
    }
    for counter in EMF_COUNTERS {
        assert!(
            plotted.contains(counter),
            "{counter} not plotted: {plotted:?}"
        );
    }
}

#[test]
fn the_dashboard_and_alarms_use_the_names_the_authorizer_emits() {
    // Once the authorizer emits EMF (it names its namespace in its source),
    // every name the dashboard relies on must be one it writes.
    let src = root().join("authorizer/src");
    let mut text = String::new();
    for entry in fs::read_dir(&src).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "rs") {
            text.push_str(&fs::read_to_string(&p).unwrap());
        }
    }
    let emits = text.contains(EMF_NAMESPACE);
    for name in EMF_COUNTERS.iter().chain(&["Decisions", "Reason"]) {
        assert!(
            !emits || text.contains(name),
            "the authorizer emits {EMF_NAMESPACE} but never names {name}"
        );
    }
    // Whether or not it emits yet, the reason the alarm watches is a real one.
    let t = template();
    let reason =
        resource(&t, "AuthorizerKeysUnavailableAlarm")["Properties"]["Dimensions"][0]["Value"]
            .as_str()
            .unwrap()
            .to_owned();
    assert_eq!(reason, authorizer::reason::Reason::JwksUnavailable.as_str());
    assert!(authorizer::reason::Reason::JwksUnavailable.is_internal());
}

#[test]
fn every_checkov_skip_is_justified_next_to_its_resource() {
    let t = template();
    let mut skips = 0;
    for (id, r) in t["Resources"].as_mapping().unwrap() {
        let id = id.as_str().unwrap();
        let Some(list) = r["Metadata"]["checkov"]["skip"].as_sequence() else {
            assert!(
                r["Metadata"]["checkov"].is_null(),
                "{id}: checkov metadata without a skip list"
            );
            continue;
        };
        for skip in list {
            let check = skip["id"].as_str().unwrap_or_default();
            assert!(check.starts_with("CKV_"), "{id}: skip without a check id");
            let why = skip["comment"].as_str().unwrap_or_default();
            assert!(
                why.split_whitespace().count() >= 10,
                "{id} skips {check} without a reason worth the name: {why:?}"
            );
            skips += 1;
        }
    }
    // The build metadata SAM reads is untouched by the skips.
    for (function, binary) in [
        ("AuthorizerFunction", "authorizer"),
        ("ApiHandlerFunction", "api-handler"),
    ] {
        let m = &resource(&t, function)["Metadata"];
        assert_eq!(m["BuildMethod"].as_str(), Some("rust-cargolambda"));
        assert_eq!(
            m["BuildProperties"].as_mapping().unwrap().len(),
            1,
            "{function}"
        );
        assert_eq!(m["BuildProperties"]["Binary"].as_str(), Some(binary));
    }
    assert!(skips > 0);
}

// ------------------------------------------------------------- browsers

/// Every request header the API documents (`openapi.yaml`, `in: header`),
/// and the two every call sends, pass the CORS preflight: a browser cannot
/// send a header the preflight does not allow.
#[test]
fn the_cors_preflight_allows_every_documented_request_header() {
    let t = template();
    let api = of_api(&t);
    let allowed: BTreeSet<String> = api["Properties"]["Cors"]["AllowHeaders"]
        .as_str()
        .expect("Cors.AllowHeaders is a literal")
        .trim_matches('\'')
        .split(',')
        .map(|h| h.trim().to_ascii_lowercase())
        .collect();
    let openapi: Value =
        serde_norway::from_str(&fs::read_to_string(root().join("openapi.yaml")).unwrap()).unwrap();
    let mut documented = BTreeSet::from(["authorization".to_owned(), "content-type".to_owned()]);
    collect_header_parameters(&openapi, &mut documented);
    assert!(
        documented.contains("if-none-match") && documented.contains("idempotency-key"),
        "openapi.yaml's header parameters were not found: {documented:?}"
    );
    let missing: Vec<_> = documented.difference(&allowed).collect();
    assert!(missing.is_empty(), "Cors.AllowHeaders lacks {missing:?}");
}

fn of_api(t: &Value) -> &Value {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .find(|r| r["Type"].as_str() == Some("AWS::Serverless::Api"))
        .expect("an AWS::Serverless::Api")
}

fn collect_header_parameters(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Mapping(m) => {
            if v["in"].as_str() == Some("header")
                && let Some(name) = v["name"].as_str()
            {
                out.insert(name.to_ascii_lowercase());
            }
            m.values().for_each(|x| collect_header_parameters(x, out));
        }
        Value::Sequence(s) => s.iter().for_each(|x| collect_header_parameters(x, out)),
        _ => {}
    }
}

/// Cognito accepts plain-http callback and sign-out URLs only for
/// `http://localhost` (CreateUserPoolClient, CallbackURLs:
/// https://docs.aws.amazon.com/cognito-user-identity-pools/latest/APIReference/API_CreateUserPoolClient.html),
/// so any other default would fail the first deploy.
#[test]
fn default_callback_and_logout_urls_are_ones_cognito_accepts() {
    let t = template();
    for name in ["CallbackUrls", "LogoutUrls"] {
        let default = parameter(&t, name)["Default"].as_str().unwrap();
        for url in default.split(',') {
            assert!(
                url.starts_with("https://")
                    || url.starts_with("http://localhost:")
                    || url.starts_with("http://localhost/"),
                "{name} default {url:?}: Cognito refuses plain http except for localhost"
            );
        }
    }
    assert!(
        parameter(&t, "CallbackUrls")["Default"]
            .as_str()
            .unwrap()
            .contains("http://localhost:47615/callback"),
        "the client's hosted-login redirect (client/src/hosted.rs) is a default callback URL"
    );
}
