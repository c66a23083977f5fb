//! `devstack`: the offline stack's command line (`make dev`, `make demo`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Parser, Subcommand};
use devstack::cognito::Users;
use devstack::stack::{Stack, StackInfo, StackOptions};

#[derive(Parser)]
#[command(about = "Offline Cognito + API Gateway + Lambda + DynamoDB stack on moto (no Docker)")]
struct Cli {
    /// Workspace root (template.yaml, .venv, .devstack/).
    #[arg(long, default_value_t = default_root(), global = true)]
    root: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Provision moto from template.yaml, run both functions and the local
    /// API gateway until Ctrl-C (moto's endpoint comes from AWS_ENDPOINT_URL).
    Up {
        /// Gateway port on 127.0.0.1 (0: any free port).
        #[arg(long, default_value_t = 3000)]
        port: u16,
        /// `cargo lambda watch` invoke port (0: any free port).
        #[arg(long, default_value_t = 9000)]
        functions_port: u16,
        /// Run the narrated demo once everything is up, then stop.
        #[arg(long)]
        demo: bool,
    },
    /// Run the narrated demo against the running stack (.devstack/stack.json).
    Demo,
    /// Add a user to a group (e.g. `admin`); sign in again to see it in tokens.
    /// (Users sign up and sign in with the `notes` client, client/.)
    AddToGroup {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "admin")]
        group: String,
    },
}

fn default_root() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| ".".to_owned(), |p| p.display().to_string())
}

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    // The gateway logs one line per request while serving; during the demo
    // the narration says it all.
    let quiet = matches!(cli.command, Command::Up { demo: true, .. } | Command::Demo);
    let default_filter = if quiet {
        "devstack=warn"
    } else {
        "devstack=info"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .with_writer(std::io::stderr)
        .init();
    let root = PathBuf::from(&cli.root);
    let result = match cli.command {
        Command::Up {
            port,
            functions_port,
            demo,
        } => up(&root, port, functions_port, demo).await,
        Command::Demo => {
            with_running(&root, |info, users| async move {
                Ok(devstack::demo::run_with(&info.api_url, &users, &info.aws_endpoint).await?)
            })
            .await
        }
        Command::AddToGroup { email, group } => {
            with_running(&root, |_, users| async move {
                users.add_to_group(&email, &group).await?;
                println!("{email} is now in group {group}; sign in again for new tokens");
                Ok(())
            })
            .await
        }
    };
    if let Err(e) = result {
        eprintln!("devstack: {e}");
        std::process::exit(1);
    }
}

async fn sdk_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    // The subcommands that talk to an already running stack find moto from
    // the state file when the shell has no AWS_ENDPOINT_URL.
    if let Some(e) = endpoint.filter(|e| !e.is_empty())
        && std::env::var_os("AWS_ENDPOINT_URL").is_none()
    {
        loader = loader
            .endpoint_url(e)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_cognitoidentityprovider::config::Credentials::new(
                "testing", "testing", None, None, "devstack",
            ));
    }
    loader.load().await
}

async fn with_running<F, Fut>(root: &Path, f: F) -> Result<()>
where
    F: FnOnce(StackInfo, Users) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let path = StackInfo::default_path(root);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "no running stack ({}: {e}); start one with `make dev`",
            path.display()
        )
    })?;
    let info: StackInfo = serde_json::from_str(&text)?;
    let config = sdk_config(Some(&info.aws_endpoint)).await;
    let users = Users::new(&config, info.provisioned.clone());
    f(info, users).await
}

async fn up(root: &Path, port: u16, functions_port: u16, demo: bool) -> Result<()> {
    if std::env::var_os("AWS_ENDPOINT_URL").is_none() {
        return Err(
            "AWS_ENDPOINT_URL is not set: run it through scripts/dev.sh (or scripts/with-moto.sh)"
                .into(),
        );
    }
    let config = sdk_config(None).await;
    let opts = StackOptions {
        root: root.to_owned(),
        prefix: "devstack".to_owned(),
        gateway_port: port,
        functions_port,
        // The demo's narration stays readable; the functions' output goes to a file.
        functions_log: demo.then(|| root.join(".devstack").join("functions.log")),
        invoke_timeout: Duration::from_secs(300),
    };
    eprintln!("==> provisioning from template.yaml, starting cargo lambda watch and the gateway");
    let stack = Stack::start(&config, &opts).await?;
    let info = stack.info.clone();
    let state = StackInfo::default_path(root);
    if let Some(dir) = state.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&state, serde_json::to_string_pretty(&info)?)?;
    let result = if demo {
        let users = Users::new(&config, info.provisioned.clone());
        devstack::demo::run_with(&info.api_url, &users, &info.aws_endpoint)
            .await
            .map_err(Into::into)
    } else {
        print_banner(&info, &stack);
        tokio::signal::ctrl_c().await?;
        eprintln!("\n==> stopping");
        Ok(())
    };
    let _ = std::fs::remove_file(&state);
    stack.stop();
    result
}

fn print_banner(info: &StackInfo, stack: &Stack) {
    let p = &info.provisioned;
    let ttl = stack.gateway.config().reauthorize_every.as_secs();
    println!(
        r#"
Offline stack is up (Ctrl-C stops everything).

  API (stage {stage})   {api}
  moto endpoint         {moto}
  user pool             {pool}
  app client            {client}
  identity pool         {ipool}
  table                 {table}
  functions             cargo lambda watch on 127.0.0.1:{fport} (authorizer, api-handler)
  authorizer cache      {ttl} s per Authorization header (ReauthorizeEvery)

Try it (another terminal, in this directory):

  curl -s {api}/health
  alias notes='cargo run -q -p client --bin notes --'
  notes --offline signup --email alice@example.com        # asks for the password
  notes confirm --email alice@example.com --code 123456   # moto takes any code
  notes login --email alice@example.com                   # SRP
  notes whoami
  notes add --title hello --body offline
  notes list
  curl -s {api}/me -H "Authorization: Bearer $(notes token)"
  notes signout                                           # the old token now gets 401
  cargo run -q --bin devstack -- add-to-group --email alice@example.com --group admin
  # events/ are signed with the in-repo dev key: invoke them against a watch
  # configured for it (see README), not this stack's user pool.
  make demo                                                      # the whole flow, narrated
"#,
        stage = stack.gateway.config().stage,
        api = info.api_url,
        moto = info.aws_endpoint,
        pool = p.user_pool_id,
        client = p.app_client_id,
        ipool = p.identity_pool_id,
        table = p.table_name,
        fport = info.invoke_port,
    );
}
