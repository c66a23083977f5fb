//! Lambda entry point: wiring only.

use api_handler::store::dynamo::DynamoStore;
use api_handler::{App, Config, handle};
use aws_config::BehaviorVersion;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        // Keep the RFC 3339 `timestamp`: with the template's JSON log format,
        // Lambda's level filtering treats a line without a valid timestamp
        // as INFO, so ERROR lines could be filtered out.
        .init();

    let config = Config::from_env().map_err(|e| format!("configuration error: {e}"))?;
    let sdk = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk),
        config.table_name.clone(),
    );
    let revocation = api_handler::revocation::enabled_from_lookup(|k| std::env::var(k).ok())
        .map_err(|e| format!("configuration error: {e}"))?;
    let mut app = App::new(store, config);
    if revocation {
        let table = app.config.table_name.clone();
        app = app.with_revocations(api_handler::revocation::Revocations::Dynamo {
            client: aws_sdk_dynamodb::Client::new(&sdk),
            table,
        });
    }
    let app = &app;
    run(service_fn(move |event: LambdaEvent<_>| handle(app, event))).await
}
