//! An API Gateway Lambda authorizer for Amazon Cognito user-pool JWTs.
//!
//! # Layout
//!
//! - [`reason`]: the stable, machine-readable reasons for every refusal.
//! - [`clock`]: injected time, so every boundary is tested exactly.
//! - [`claims`]: `token_use` and the claims of a verified token.
//! - [`config`]: the verifier's environment (pools, clients, leeway, JWKS knobs).
//! - [`strict_json`]: JSON without duplicate keys, as a tree or walked in place.
//! - [`token`]: compact JWS framing and the typed header/claims, before any crypto or I/O.
//! - [`jwks`]: key sets parsed once into aws-lc-rs keys; per-issuer cache and fetcher.
//! - [`verifier`]: token → verified claims or a rejection with its reason.
//! - [`rules`]: `AUTH_RULES` route rules, their precedence and requirements.
//! - [`policy`]: cache-safe IAM policies per entitlement set, and an IAM evaluator.
//! - [`event`]: the three authorizer event shapes, parsed leanly.
//! - [`handler`]: the Lambda handler (`Authorizer`) and the 401/403/500 contract.
//! - [`logging`]: the one-JSON-line-per-decision log format.
//! - [`metrics`]: CloudWatch EMF metrics, one line per invocation.
//! - `testing` (feature `test-util`): real keys and Cognito-shaped tokens for tests.

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod claims;
pub mod clock;
pub mod config;
pub mod event;
pub mod handler;
pub mod jwks;
pub mod logging;
pub mod metrics;
pub mod policy;
pub mod reason;
pub mod rules;
pub mod strict_json;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;
pub mod token;
pub mod verifier;
