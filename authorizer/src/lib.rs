//! An API Gateway Lambda authorizer for Amazon Cognito user-pool JWTs.
//!
//! # Layout
//!
//! - [`reason`]: the stable, machine-readable reasons for every refusal.
//! - [`clock`]: injected time, so every boundary is tested exactly.
//! - [`claims`]: `token_use` and the claims of a verified token.
//! - (more modules are being added: token framing, JWKS cache, verifier,
//!   route rules, cache-safe policies, the Lambda handler.)

#![cfg_attr(not(test), deny(clippy::unwrap_used, clippy::expect_used))]

pub mod claims;
pub mod clock;
pub mod reason;
