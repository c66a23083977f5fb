//! Runs both functions as their real binaries behind the Lambda Runtime API,
//! with `cargo lambda watch` (from the project's `.venv`), and the
//! environment each function reads in the template.
//!
//! The child runs under a small shell supervisor that stops it (and so the
//! function processes it started) when the process that asked for it goes
//! away, however that happens — a test binary exiting, Ctrl-C, a crash.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::provision::Provisioned;
use crate::template::{Template, TemplateError};

#[derive(Debug, thiserror::Error)]
pub enum FunctionsError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error("cannot start {program}: {source} (run scripts/venv.sh first)")]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error("cargo lambda watch did not listen on 127.0.0.1:{port} within {secs} s")]
    NotListening { port: u16, secs: u64 },
}

/// The environment of both functions: what the template declares, with the
/// values only a deployment knows (pool, client, table) filled in from what
/// was provisioned. Empty values are left out ("unset", not "set to empty").
pub fn function_env(
    template: &Template,
    stack: &Provisioned,
) -> Result<BTreeMap<String, String>, TemplateError> {
    let mut env = BTreeMap::new();
    for binary in ["authorizer", "api-handler"] {
        env.extend(template.function_env(binary)?);
    }
    env.insert("USER_POOL_ID".into(), stack.user_pool_id.clone());
    env.insert("APP_CLIENT_IDS".into(), stack.app_client_id.clone());
    env.insert("TABLE_NAME".into(), stack.table_name.clone());
    env.retain(|_, v| !v.is_empty());
    Ok(env)
}

/// A running `cargo lambda watch`, stopped on drop.
#[derive(Debug)]
pub struct Functions {
    child: Child,
    port: u16,
    stopped: bool,
}

impl Functions {
    /// Starts `cargo lambda watch` in the workspace at `root` on
    /// 127.0.0.1:`port`, with `env` added to the inherited environment
    /// (which carries `AWS_ENDPOINT_URL` and the dummy credentials).
    pub fn start(
        root: &Path,
        port: u16,
        env: &BTreeMap<String, String>,
        log: Stdio,
    ) -> Result<Self, FunctionsError> {
        Self::start_with(root, port, env, &[], log)
    }

    /// [`Functions::start`] with extra `cargo lambda watch` arguments (e.g.
    /// `--env-file events/authorizer.env`).
    pub fn start_with(
        root: &Path,
        port: u16,
        env: &BTreeMap<String, String>,
        extra_args: &[&str],
        log: Stdio,
    ) -> Result<Self, FunctionsError> {
        let program = root.join(".venv/bin/cargo-lambda");
        // `exec` keeps one process to stop; the loop stops it when the parent
        // (whose pid is passed in) is gone.
        let supervisor = r#"
"$@" &
child=$!
trap 'kill -TERM $child 2>/dev/null; wait $child; exit 0' TERM INT HUP
while kill -0 "$DEVSTACK_PARENT" 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 0.5; done
kill -TERM $child 2>/dev/null
wait $child
"#;
        let child = Command::new("sh")
            .arg("-c")
            .arg(supervisor)
            .arg("devstack-functions")
            .arg(&program)
            .args([
                "lambda",
                "watch",
                "--invoke-address",
                "127.0.0.1",
                "--invoke-port",
            ])
            .arg(port.to_string())
            .arg("--ignore-changes")
            .args(extra_args)
            .current_dir(root)
            .envs(env)
            .env("DEVSTACK_PARENT", std::process::id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|source| FunctionsError::Spawn { program, source })?;
        Ok(Self {
            child,
            port,
            stopped: false,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn invoke_base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Waits until the invoke endpoint accepts connections.
    pub fn wait_listening(&mut self, timeout: Duration) -> Result<(), FunctionsError> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(FunctionsError::NotListening {
            port: self.port,
            secs: timeout.as_secs(),
        })
    }

    /// Stops `cargo lambda watch` and the functions it runs.
    pub fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        // SIGTERM to the supervisor, which forwards it and waits.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Functions {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A free TCP port on 127.0.0.1 (the kernel's choice; free at the time of
/// asking).
pub fn free_port() -> std::io::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}
