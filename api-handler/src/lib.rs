//! The protected notes API: an API Gateway (REST proxy) Lambda behind the
//! Cognito authorizer, storing notes in DynamoDB with per-user isolation,
//! optimistic concurrency, quotas and idempotent creates.
//!
//! # Layout
//! - [`handler`]: the Lambda edge — proxy event in, proxy response out;
//!   caller from the authorizer context, request parsing, access log.
//! - [`routes`]: method + path → [`routes::Route`] (404 / 405).
//! - [`api`]: the operations, pure over [`store::NoteStore`].
//! - [`model`]: newtypes that can only hold valid values (title, body, tags,
//!   ids, limit, cursor, version/ETag, idempotency key, owner).
//! - [`store`]: the `NoteStore` trait, [`store::dynamo::DynamoStore`] and
//!   [`store::memory::MemoryStore`].
//! - [`error`]: the JSON error shape and codes.
//! - [`json`]: request bodies as JSON with unique object keys.
//! - [`config`]: environment configuration, read once at init.
//! - [`revocation`]: `POST /signout` and refusing signed-out sessions
//!   (`TOKEN_REVOCATION`).
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod api;
pub mod config;
pub mod error;
pub mod handler;
pub mod json;
pub mod model;
pub mod revocation;
pub mod routes;
pub mod store;

pub use api::App;
pub use config::Config;
pub use handler::{handle, respond};
