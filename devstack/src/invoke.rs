//! Invoking a function through a Lambda invoke endpoint
//! (`POST /2015-03-31/functions/<name>/invocations`), which is what
//! `cargo lambda watch` serves in front of the real binaries.

use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvokeError {
    /// The function ran and returned an error (`errorMessage` is what the
    /// handler's error displayed, e.g. `Unauthorized`).
    #[error("function error {error_type}: {error_message}")]
    Function {
        error_type: String,
        error_message: String,
    },
    /// The function could not be reached or answered garbage.
    #[error("cannot invoke {function}: {detail}")]
    Transport { function: String, detail: String },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    error_type: Option<String>,
    error_message: Option<String>,
}

/// A client of one invoke endpoint.
#[derive(Debug, Clone)]
pub struct Invoker {
    base: String,
    http: reqwest::Client,
}

impl Invoker {
    /// `base` like `http://127.0.0.1:9000`. `timeout` bounds one invocation
    /// (the first one may include `cargo lambda watch` building the binary).
    pub fn new(base: impl Into<String>, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            base: base.into().trim_end_matches('/').to_owned(),
            http,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub async fn invoke(&self, function: &str, payload: &Value) -> Result<Value, InvokeError> {
        let transport = |detail: String| InvokeError::Transport {
            function: function.to_owned(),
            detail,
        };
        let url = format!("{}/2015-03-31/functions/{function}/invocations", self.base);
        let resp = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(payload.to_string())
            .send()
            .await
            .map_err(|e| transport(e.to_string()))?;
        let status = resp.status();
        let function_error = resp.headers().contains_key("x-amz-function-error");
        let body = resp.bytes().await.map_err(|e| transport(e.to_string()))?;
        if status.is_success() && !function_error {
            return serde_json::from_slice(&body)
                .map_err(|e| transport(format!("response is not JSON: {e}")));
        }
        // Function errors come back as {"errorType", "errorMessage"}; anything
        // else (404 for an unknown function, a 5xx of the emulator) is transport.
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(ErrorBody {
                error_type,
                error_message: Some(error_message),
            }) => Err(InvokeError::Function {
                error_type: error_type.unwrap_or_default(),
                error_message,
            }),
            _ => Err(transport(format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&body)
                    .chars()
                    .take(300)
                    .collect::<String>()
            ))),
        }
    }
}
