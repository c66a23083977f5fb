//! Where the session (ID, access and refresh tokens) is kept between
//! commands: the OS keyring when one answers, else a file under the XDG
//! state directory (`$XDG_STATE_HOME/notes/`, mode 0700) written atomically
//! with mode 0600. `NOTES_TOKEN_STORE=keyring|file|auto` (default `auto`)
//! forces one of them.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// One signed-in session. Never printed: `Debug` shows no token.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub username: String,
    pub access_token: String,
    pub id_token: String,
    pub refresh_token: String,
    /// The access token's expiry, Unix seconds.
    pub expires_at: i64,
    /// Cached identity-pool credentials (`notes credentials`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_credentials: Option<CachedCredentials>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("username", &self.username)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Temporary AWS credentials from the identity pool, kept until shortly
/// before they expire.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CachedCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// Unix seconds.
    pub expiration: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Auto,
    Keyring,
    File,
}

fn mode() -> Result<Mode> {
    match std::env::var("NOTES_TOKEN_STORE").as_deref() {
        Err(_) | Ok("" | "auto") => Ok(Mode::Auto),
        Ok("keyring") => Ok(Mode::Keyring),
        Ok("file") => Ok(Mode::File),
        Ok(_) => Err(Error::Config(
            "NOTES_TOKEN_STORE must be auto, keyring or file".into(),
        )),
    }
}

/// `$XDG_STATE_HOME/notes` (or `~/.local/state/notes`).
pub fn state_dir() -> Result<PathBuf> {
    dirs::state_dir()
        .or_else(|| dirs::home_dir().map(|h| h.join(".local").join("state")))
        .map(|d| d.join("notes"))
        .ok_or_else(|| Error::Store("no state directory (set HOME or XDG_STATE_HOME)".into()))
}

/// The session file for one pool + client (file store).
pub fn session_path(key: &str) -> Result<PathBuf> {
    Ok(state_dir()?.join(format!("session-{key}.json")))
}

/// The token store for one pool + app client.
pub struct Store {
    key: String,
}

const SERVICE: &str = "notes-cli";

impl Store {
    pub fn new(key: String) -> Self {
        Self { key }
    }

    fn entry(&self) -> std::result::Result<keyring::Entry, keyring::Error> {
        keyring::Entry::new(SERVICE, &self.key)
    }

    pub fn load(&self) -> Result<Option<Session>> {
        let mode = mode()?;
        if mode != Mode::File {
            match self.entry().and_then(|e| e.get_password()) {
                Ok(text) => return parse(&text).map(Some),
                Err(keyring::Error::NoEntry) if mode == Mode::Keyring => return Ok(None),
                Err(e) if mode == Mode::Keyring => return Err(Error::Store(e.to_string())),
                // auto: no keyring here, or nothing in it: the file.
                Err(_) => {}
            }
        }
        let path = session_path(&self.key)?;
        match std::fs::read_to_string(&path) {
            Ok(text) => parse(&text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Store(format!("{}: {e}", path.display()))),
        }
    }

    pub fn save(&self, session: &Session) -> Result<()> {
        let text = serde_json::to_string(session).map_err(|e| Error::Store(e.to_string()))?;
        let mode = mode()?;
        if mode != Mode::File {
            match self.entry().and_then(|e| e.set_password(&text)) {
                Ok(()) => {
                    // A file left from before would be stale: remove it.
                    let _ = std::fs::remove_file(session_path(&self.key)?);
                    return Ok(());
                }
                Err(e) if mode == Mode::Keyring => return Err(Error::Store(e.to_string())),
                Err(_) => {}
            }
        }
        write_private(&session_path(&self.key)?, text.as_bytes())
    }

    /// Deletes the session wherever it is.
    pub fn delete(&self) -> Result<()> {
        if mode()? != Mode::File
            && let Ok(e) = self.entry()
        {
            match e.delete_credential() {
                Ok(()) | Err(keyring::Error::NoEntry) => {}
                Err(_) if mode()? == Mode::Auto => {}
                Err(e) => return Err(Error::Store(e.to_string())),
            }
        }
        match std::fs::remove_file(session_path(&self.key)?) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::Store(e.to_string())),
        }
    }
}

fn parse(text: &str) -> Result<Session> {
    serde_json::from_str(text).map_err(|_| {
        Error::Store("the stored session is unreadable; run `notes login` again".into())
    })
}

/// Writes `bytes` to `path` atomically (a temporary file in the same
/// directory, synced, then renamed over it) with mode 0600, in a directory
/// made (or tightened to) mode 0700.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| Error::Store(format!("{}: no parent directory", path.display())))?;
    let io = |e: std::io::Error| Error::Store(format!("{}: {e}", path.display()));
    std::fs::create_dir_all(dir).map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
    }
    // tempfile creates the file with mode 0600 on Unix.
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}
