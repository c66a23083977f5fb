//! Helpers shared by the client's test binaries (`mod common;`).

use std::path::Path;
use std::process::{Command, Stdio};

/// `notes args` with its HOME, config, state and (file) token store all in
/// `home`, so a test never touches the user's own; stdout and stderr piped.
/// Each test binary sets stdin and its own environment on top.
pub fn notes(home: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_notes"));
    c.args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"))
        .env("NOTES_TOKEN_STORE", "file")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}
