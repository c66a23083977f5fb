//! `notes`: a command-line client for the notes stack, deployed or offline.
//!
//! - [`config`]: which stack (CloudFormation outputs or `.devstack/stack.json`)
//! - [`cognito`]: sign-up, SRP sign-in and its challenges, refresh, sign-out
//! - [`store`]: the session in the OS keyring or a 0600 file
//! - [`api`]: the notes API; [`identity`]: identity-pool AWS credentials
//! - [`cli`]: the commands

pub mod api;
pub mod claims;
pub mod cli;
pub mod cognito;
pub mod config;
pub mod error;
pub mod hosted;
pub mod identity;
pub mod prompt;
pub mod store;
