//! The offline dev stack: what `make dev`, `make demo` and the end-to-end
//! tests run — Cognito and DynamoDB in moto, both functions as real binaries
//! behind the Lambda Runtime API (`cargo lambda watch`), and a local REST API
//! gateway in front, all on 127.0.0.1 with no Docker.
//!
//! # Layout
//!
//! - [`template`]: reads `template.yaml` (parameters resolved to defaults)
//!   into typed settings: user pool, client, groups, identity pool, table,
//!   API routes, authorizer TTL, gateway responses, function environments.
//! - [`provision`]: creates those resources in moto through the AWS SDK.
//! - [`cognito`]: the user's side: sign up, confirm, sign in, refresh,
//!   identity-pool credentials.
//! - [`functions`]: runs `cargo lambda watch` with each function's environment.
//! - [`invoke`]: calls a function through the Lambda invoke endpoint.
//! - [`policy`]: IAM evaluation of an authorizer policy against a method ARN.
//! - [`gateway`]: the local API Gateway (REST semantics of a Lambda REQUEST
//!   authorizer and proxy integrations).
//! - [`stack`]: all of the above started together.
//! - [`sam_local`]: what `sam local invoke` must answer for each sample event.
//! - [`demo`]: the narrated sign-in → API flow.

pub mod cognito;
pub mod demo;
pub mod functions;
pub mod gateway;
pub mod invoke;
pub mod policy;
pub mod provision;
pub mod sam_local;
pub mod stack;
pub mod template;
