//! The Lambda entry point: JSON logs, configuration, run. Nothing else.
//!
//! A bad configuration never reaches `lambda_runtime::run`: it is reported
//! to the Runtime API's init-error endpoint (so the invoke fails with
//! `Runtime.InitError` and the operator-readable message) and `main` returns
//! the error, so the process exits and the function never starts, let alone
//! in a permissive state. No network and no HTTP client at init: embedded
//! keys (`JWKS_JSON`) are parsed, anything else waits for the first token.

use std::sync::Arc;

use authorizer::handler::Authorizer;
use authorizer::logging;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::value::RawValue;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    tracing::subscriber::set_global_default(logging::subscriber(
        std::io::stdout,
        logging::filter_from_env(),
    ))?;

    let authorizer = match Authorizer::from_env() {
        Ok(a) => Arc::new(a.with_metrics(true)),
        Err(e) => {
            tracing::error!(error = %e, "configuration rejected; the function will not start");
            report_init_error(&e.to_string()).await;
            return Err(e.into());
        }
    };

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        let authorizer = authorizer.clone();
        async move {
            authorizer
                .handle_raw(
                    event.payload.get().as_bytes(),
                    Some(&event.context.request_id),
                )
                .await
        }
    }))
    .await
}

/// POST /runtime/init/error, as the Runtime API expects for a failed init.
/// Best effort: the process exits with the error either way.
async fn report_init_error(message: &str) {
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        return; // not on Lambda (e.g. a local run): stderr is enough
    }
    let body = serde_json::json!({
        "errorType": "Runtime.InitError.Configuration",
        "errorMessage": message,
    })
    .to_string();
    let request = lambda_runtime_api_client::build_request()
        .method("POST")
        .uri("/2018-06-01/runtime/init/error")
        .header("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")
        .header("content-type", "application/json")
        .body(lambda_runtime_api_client::body::Body::from(body));
    let (Ok(request), Ok(client)) = (
        request,
        lambda_runtime_api_client::Client::builder().build(),
    ) else {
        return;
    };
    if let Err(e) = client.call(request).await {
        tracing::error!(error = %e, "could not report the init error to the Runtime API");
    }
}
