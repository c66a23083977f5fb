//! Reading secrets and codes: from the terminal (a password without echo)
//! or, when stdin is not a terminal, one line of stdin each — so scripts and
//! tests pipe them in, and a password is never a command-line argument.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Mutex;

use crate::error::{Error, Result};

/// What the sign-in flow asks the person for.
pub trait Prompt: Send + Sync {
    /// A password (no echo on a terminal).
    fn secret(&self, label: &str) -> Result<String>;
    /// A code or a choice (echoed).
    fn line(&self, label: &str) -> Result<String>;
    /// A message for the person (stderr), e.g. the TOTP enrolment URI.
    fn tell(&self, text: &str);
}

/// The process's terminal or stdin.
#[derive(Default)]
pub struct Terminal {
    // stdin is read line by line through one buffer, so piped answers
    // are not lost between prompts.
    lock: Mutex<()>,
}

impl Terminal {
    fn stdin_line(&self, label: &str) -> Result<String> {
        let _g = self.lock.lock().map_err(|_| Error::Input("stdin".into()))?;
        let mut line = String::new();
        let n = std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| Error::Input(format!("{label}: {e}")))?;
        if n == 0 {
            return Err(Error::Input(format!("{label}: no input (stdin closed)")));
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

impl Prompt for Terminal {
    fn secret(&self, label: &str) -> Result<String> {
        if std::io::stdin().is_terminal() {
            rpassword::prompt_password(format!("{label}: "))
                .map_err(|e| Error::Input(format!("{label}: {e}")))
        } else {
            self.stdin_line(label)
        }
    }

    fn line(&self, label: &str) -> Result<String> {
        if std::io::stdin().is_terminal() {
            eprint!("{label}: ");
            let _ = std::io::stderr().flush();
        }
        Ok(self.stdin_line(label)?.trim().to_owned())
    }

    fn tell(&self, text: &str) {
        eprintln!("{text}");
    }
}
