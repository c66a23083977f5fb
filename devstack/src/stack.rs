//! The whole offline stack in one value: provisioned Cognito + DynamoDB in
//! moto, both functions under `cargo lambda watch`, and the local gateway.
//! `devstack up` and the end-to-end tests both start it through here.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::functions::{Functions, FunctionsError, free_port, function_env};
use crate::gateway::{Gateway, GatewayConfig};
use crate::invoke::Invoker;
use crate::provision::{ProvisionError, Provisioned, provision};
use crate::template::{Template, TemplateError};

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(transparent)]
    Template(#[from] TemplateError),
    #[error(transparent)]
    Provision(#[from] ProvisionError),
    #[error(transparent)]
    Functions(#[from] FunctionsError),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What a client needs to use a running stack; `devstack up` writes it to
/// `.devstack/stack.json` for `devstack demo` and the other subcommands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StackInfo {
    #[serde(flatten)]
    pub provisioned: Provisioned,
    /// Base URL including the stage, e.g. `http://127.0.0.1:3000/dev`.
    pub api_url: String,
    /// `cargo lambda watch` invoke endpoint (`cargo lambda invoke -P`).
    pub invoke_port: u16,
    /// The moto endpoint everything was provisioned in.
    pub aws_endpoint: String,
}

impl StackInfo {
    pub fn default_path(root: &Path) -> PathBuf {
        root.join(".devstack").join("stack.json")
    }
}

/// Options for [`Stack::start`].
#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Workspace root (where `template.yaml` and `.venv` are).
    pub root: PathBuf,
    /// Prefix of every provisioned name (unique per stack sharing one moto).
    pub prefix: String,
    /// Gateway port; 0 picks a free one.
    pub gateway_port: u16,
    /// `cargo lambda watch` port; 0 picks a free one.
    pub functions_port: u16,
    /// Where `cargo lambda watch` writes its log (build output, function logs).
    pub functions_log: Option<PathBuf>,
    /// How long one invocation may take (the first may include a build).
    pub invoke_timeout: Duration,
}

/// A running stack; dropping it stops the functions.
pub struct Stack {
    pub info: StackInfo,
    pub template: Template,
    pub gateway: Arc<Gateway>,
    pub functions: Functions,
    gateway_task: tokio::task::JoinHandle<()>,
}

impl Stack {
    /// Provisions, starts the functions and serves the gateway (on the
    /// current tokio runtime).
    pub async fn start(
        config: &aws_config::SdkConfig,
        opts: &StackOptions,
    ) -> Result<Self, StackError> {
        let template = Template::load(&opts.root.join("template.yaml"))?;
        let provisioned = provision(config, &template, &opts.prefix).await?;
        let env = function_env(&template, &provisioned)?;
        let port = if opts.functions_port == 0 {
            free_port()?
        } else {
            opts.functions_port
        };
        let log = match &opts.functions_log {
            Some(p) => {
                if let Some(dir) = p.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                Stdio::from(std::fs::File::create(p)?)
            }
            None => Stdio::inherit(),
        };
        let mut functions = Functions::start(&opts.root, port, &env, log)?;
        let mut wait = tokio::task::spawn_blocking(move || {
            let r = functions.wait_listening(Duration::from_secs(60));
            (functions, r)
        });
        let (functions, ready) = (&mut wait)
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        ready?;

        let api = template.api()?;
        let gw_cfg = GatewayConfig::from_api(&api, &provisioned.region);
        let invoker = Invoker::new(functions.invoke_base(), opts.invoke_timeout);
        let gateway = Gateway::new(gw_cfg, invoker);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", opts.gateway_port)).await?;
        let addr = listener.local_addr()?;
        let gw = gateway.clone();
        let gateway_task = tokio::spawn(async move {
            if let Err(e) = gw.serve(listener).await {
                tracing::error!(error = %e, "gateway stopped");
            }
        });
        let aws_endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
        let info = StackInfo {
            api_url: format!("http://{addr}/{}", api.stage),
            invoke_port: functions.port(),
            provisioned,
            aws_endpoint,
        };
        Ok(Self {
            info,
            template,
            gateway,
            functions,
            gateway_task,
        })
    }

    /// Another gateway over the same functions (its own authorizer cache and
    /// counters), e.g. with a different `ReauthorizeEvery`.
    pub async fn extra_gateway(
        &self,
        cfg: GatewayConfig,
    ) -> std::io::Result<(Arc<Gateway>, String)> {
        let invoker = Invoker::new(self.functions.invoke_base(), Duration::from_secs(120));
        let gateway = Gateway::new(cfg, invoker);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let stage = gateway.config().stage.clone();
        let gw = gateway.clone();
        tokio::spawn(async move {
            let _ = gw.serve(listener).await;
        });
        Ok((gateway, format!("http://{addr}/{stage}")))
    }

    /// Stops the gateway and the functions.
    pub fn stop(mut self) {
        self.gateway_task.abort();
        self.functions.stop();
    }
}
