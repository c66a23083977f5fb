//! Where the client points: a deployed stack (its CloudFormation outputs) or
//! the running offline stack (`devstack`'s `.devstack/stack.json`). The
//! choice is remembered in `$XDG_CONFIG_HOME/notes/config.json`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// How the target was found (shown by `notes whoami`, used to re-resolve).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum Source {
    /// A CloudFormation stack, by name.
    Stack { name: String },
    /// The offline stack whose state file lives under `root/.devstack/`.
    Offline { root: PathBuf },
}

/// Everything the client needs to talk to one stack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub source: Source,
    /// Base URL with the stage and no trailing slash.
    pub api_url: String,
    pub region: String,
    pub user_pool_id: String,
    pub client_id: String,
    pub identity_pool_id: String,
    /// `https://PREFIX.auth.REGION.amazoncognito.com` (deployed stacks only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosted_domain: Option<String>,
    /// Offline only: moto's endpoint, used when `AWS_ENDPOINT_URL` is unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_endpoint: Option<String>,
}

impl Target {
    /// The identity pool's login key (and the `iss` host/path) for the pool.
    pub fn login_provider(&self) -> String {
        format!(
            "cognito-idp.{}.amazonaws.com/{}",
            self.region, self.user_pool_id
        )
    }

    /// A key naming this pool + client in the token store (and in the
    /// session file's name: only `[A-Za-z0-9_.-]`, whatever the outputs say).
    pub fn store_key(&self) -> String {
        format!("{}.{}", self.user_pool_id, self.client_id)
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>()
            .replace("..", "__")
    }
}

/// `$XDG_CONFIG_HOME/notes` (or the platform's config directory).
pub fn config_dir() -> Result<PathBuf> {
    dirs::config_dir()
        .map(|d| d.join("notes"))
        .ok_or_else(|| Error::Config("no config directory (set HOME or XDG_CONFIG_HOME)".into()))
}

fn config_path() -> Result<PathBuf> {
    Ok(config_dir()?.join("config.json"))
}

/// The remembered target, if any.
pub fn load() -> Result<Option<Target>> {
    let path = config_path()?;
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| {
            Error::Config(format!(
                "{}: not a notes config file ({e}); run `notes configure` again",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Config(format!("{}: {e}", path.display()))),
    }
}

/// Remembers `target` for the next commands.
pub fn save(target: &Target) -> Result<()> {
    let path = config_path()?;
    let text = serde_json::to_string_pretty(target).map_err(|e| Error::Config(e.to_string()))?;
    crate::store::write_private(&path, text.as_bytes())
}

/// The offline stack's state, as `devstack up` writes it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DevstackState {
    region: String,
    user_pool_id: String,
    app_client_id: String,
    identity_pool_id: String,
    api_url: String,
    aws_endpoint: String,
}

/// Finds `.devstack/stack.json` in `root`, or in the current directory or
/// one of its parents when `root` is `None`.
pub fn offline(root: Option<&Path>) -> Result<Target> {
    let candidates: Vec<PathBuf> = match root {
        Some(r) => vec![r.to_owned()],
        None => std::env::current_dir()
            .map_err(|e| Error::Config(format!("current directory: {e}")))?
            .ancestors()
            .map(Path::to_owned)
            .collect(),
    };
    let Some(root) = candidates
        .into_iter()
        .find(|r| r.join(".devstack").join("stack.json").is_file())
    else {
        return Err(Error::Config(
            "no running offline stack (.devstack/stack.json not found); start one with `make dev` \
             or pass --root"
                .into(),
        ));
    };
    let path = root.join(".devstack").join("stack.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    let s: DevstackState = serde_json::from_str(&text)
        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    let root = std::fs::canonicalize(&root).unwrap_or(root);
    Ok(Target {
        source: Source::Offline { root },
        api_url: s.api_url.trim_end_matches('/').to_owned(),
        region: s.region,
        user_pool_id: s.user_pool_id,
        client_id: s.app_client_id,
        identity_pool_id: s.identity_pool_id,
        hosted_domain: None,
        aws_endpoint: Some(s.aws_endpoint).filter(|e| !e.is_empty()),
    })
}

/// Reads a deployed stack's outputs (`DescribeStacks`, standard credential
/// chain and region).
/// <https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html>
pub async fn from_stack(sdk: &aws_config::SdkConfig, name: &str) -> Result<Target> {
    let cfn = aws_sdk_cloudformation::Client::new(sdk);
    let out = cfn
        .describe_stacks()
        .stack_name(name)
        .send()
        .await
        .map_err(|e| Error::aws("DescribeStacks", &e))?;
    let stack = out
        .stacks()
        .first()
        .ok_or_else(|| Error::Config(format!("stack {name}: not found")))?;
    let output = |key: &str| {
        stack
            .outputs()
            .iter()
            .find(|o| o.output_key() == Some(key))
            .and_then(|o| o.output_value())
            .map(str::to_owned)
    };
    let need = |key: &str| {
        output(key).ok_or_else(|| {
            Error::Config(format!(
                "stack {name}: output {key} is missing (is it this project's template?)"
            ))
        })
    };
    let region = output("Region")
        .or_else(|| sdk.region().map(ToString::to_string))
        .ok_or_else(|| Error::Config("no region (set AWS_REGION)".into()))?;
    Ok(Target {
        source: Source::Stack {
            name: name.to_owned(),
        },
        api_url: need("ApiUrl")?.trim_end_matches('/').to_owned(),
        region,
        user_pool_id: need("UserPoolId")?,
        client_id: need("AppClientId")?,
        identity_pool_id: need("IdentityPoolId")?,
        hosted_domain: output("HostedLoginDomainUrl"),
        aws_endpoint: None,
    })
}

/// The SDK configuration for a target: the standard chain, except that an
/// offline target without `AWS_ENDPOINT_URL` in the environment uses moto's
/// endpoint from the state file (with dummy credentials, as moto needs any).
pub async fn sdk_config(target: Option<&Target>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(t) = target {
        loader = loader.region(aws_config::Region::new(t.region.clone()));
        if let Some(e) = &t.aws_endpoint
            && std::env::var_os("AWS_ENDPOINT_URL").is_none()
        {
            loader = loader.endpoint_url(e).credentials_provider(
                aws_sdk_cognitoidentityprovider::config::Credentials::new(
                    "testing",
                    "testing",
                    None,
                    None,
                    "notes-offline",
                ),
            );
        }
    }
    loader.load().await
}
