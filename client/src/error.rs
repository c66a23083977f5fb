//! The client's errors: one line each, never a token or a password.

use aws_sdk_cognitoidentityprovider::error::{DisplayErrorContext, ProvideErrorMetadata};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Config(String),
    #[error("{op}: {detail}")]
    Aws { op: &'static str, detail: String },
    #[error("not signed in: run `notes login`")]
    NotSignedIn,
    #[error("{0}")]
    Input(String),
    #[error("token store: {0}")]
    Store(String),
    #[error("{0}")]
    Api(String),
    #[error("{0}")]
    Http(String),
}

impl Error {
    /// The service's own code and message (e.g. `NotAuthorizedException:
    /// Incorrect username or password.`), else the error chain.
    pub fn aws<E: std::error::Error + ProvideErrorMetadata>(op: &'static str, e: &E) -> Self {
        let detail = match (e.code(), e.message()) {
            (Some(code), Some(msg)) => format!("{code}: {msg}"),
            (Some(code), None) => code.to_owned(),
            _ => DisplayErrorContext(e).to_string(),
        };
        Self::Aws { op, detail }
    }

    /// The AWS error code, when this is an AWS error.
    pub fn aws_code(&self) -> Option<&str> {
        match self {
            Self::Aws { detail, .. } => detail.split(':').next(),
            _ => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
