//! The API's error vocabulary and its JSON shape
//! `{"error":{"code":"…","message":"…","field":…}}`.

use serde::Serialize;

use crate::model::FieldError;

/// An error answer. `code` is stable (clients branch on it); `message` is
/// for humans and never contains note contents or credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// `Retry-After` seconds (503).
    pub retry_after: Option<u32>,
    /// `Allow` header (405).
    pub allow: Option<&'static str>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
            allow: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// A bad field of the JSON body.
    pub fn invalid_field(e: FieldError) -> Self {
        Self::new(400, "invalid_field", e.message).with_field(e.field)
    }

    /// A bad path segment, query parameter or header.
    pub fn invalid_parameter(e: FieldError) -> Self {
        Self::new(400, "invalid_parameter", e.message).with_field(e.field)
    }

    pub fn not_found() -> Self {
        Self::new(404, "not_found", "no such note")
    }

    pub fn unavailable() -> Self {
        let mut e = Self::new(
            503,
            "service_unavailable",
            "the service is busy; retry after the indicated delay",
        );
        e.retry_after = Some(1);
        e
    }

    pub fn internal() -> Self {
        Self::new(500, "internal_error", "internal error")
    }

    pub fn body(&self) -> String {
        #[derive(Serialize)]
        struct Inner<'a> {
            code: &'a str,
            message: &'a str,
            field: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct Outer<'a> {
            error: Inner<'a>,
        }
        let doc = Outer {
            error: Inner {
                code: self.code,
                message: &self.message,
                field: self.field.as_deref(),
            },
        };
        // Serialising plain strings cannot fail; keep a constant fallback anyway.
        serde_json::to_string(&doc).unwrap_or_else(|_| {
            r#"{"error":{"code":"internal_error","message":"internal error","field":null}}"#.into()
        })
    }
}
