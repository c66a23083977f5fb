//! The `notes` commands. Only `notes token` prints a token (the access
//! token, for `curl -H "Authorization: Bearer $(notes token)"`); every other
//! command prints at most claims or ids.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::api::Api;
use crate::claims;
use crate::cognito::Cognito;
use crate::config::{self, Source, Target};
use crate::error::{Error, Result};
use crate::prompt::{Prompt, Terminal};
use crate::store::{Session, Store};

#[derive(Parser)]
#[command(
    name = "notes",
    about = "Sign in to the notes stack (deployed or offline), keep the tokens safe, use the API"
)]
pub struct Cli {
    /// Use the deployed CloudFormation stack NAME (remembered).
    #[arg(long, global = true, value_name = "NAME", conflicts_with = "offline")]
    stack: Option<String>,
    /// Use the running offline stack (`make dev`) (remembered).
    #[arg(long, global = true)]
    offline: bool,
    /// With --offline: the checkout whose `.devstack/stack.json` to read
    /// (default: the current directory or a parent).
    #[arg(long, global = true, value_name = "DIR", requires = "offline")]
    root: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Remember the stack (with --stack NAME or --offline) and show it.
    Configure,
    /// Create an account (password read from the terminal or stdin).
    Signup {
        #[arg(long)]
        email: String,
    },
    /// Confirm an account with the code Cognito sent.
    Confirm {
        #[arg(long)]
        email: String,
        /// The confirmation code (asked for when absent).
        #[arg(long)]
        code: Option<String>,
    },
    /// Sign in with SRP (the password never leaves this machine), or with
    /// --hosted through the hosted login page (federated providers).
    Login {
        #[arg(long, conflicts_with = "hosted")]
        email: Option<String>,
        /// Authorization code + PKCE in the browser, redirect to
        /// http://localhost:47615/callback (served on 127.0.0.1).
        #[arg(long)]
        hosted: bool,
        /// With --hosted: go straight to this identity provider
        /// (Google, Facebook, SignInWithApple, or a SAML/OIDC provider name).
        #[arg(long, requires = "hosted")]
        provider: Option<String>,
        /// With --hosted: the login domain (default: the stack's
        /// HostedLoginDomainUrl output).
        #[arg(long, requires = "hosted", value_name = "URL")]
        domain: Option<String>,
        /// With --hosted: the loopback port (must match a callback URL of
        /// the app client).
        #[arg(long, requires = "hosted", default_value_t = crate::hosted::DEFAULT_PORT)]
        port: u16,
    },
    /// Print the current access token (refreshed first if it is about to expire).
    Token,
    /// Show who is signed in: the access token's claims that matter.
    Whoami,
    /// Your notes, through the API.
    #[command(flatten)]
    Notes(NotesCommand),
    /// Temporary AWS credentials from the identity pool, as AWS CLI
    /// `credential_process` JSON (`credential_process = notes credentials`).
    Credentials,
    /// Second factor settings.
    Mfa {
        #[command(subcommand)]
        command: MfaCommand,
    },
    /// Sign out for real: revoke the refresh token (or every session with
    /// --everywhere), tell the API, delete the local tokens.
    Signout {
        /// GlobalSignOut: every session of the user, on every device.
        #[arg(long)]
        everywhere: bool,
    },
}

#[derive(Subcommand)]
enum NotesCommand {
    /// List your notes (newest first).
    List {
        #[arg(long)]
        limit: Option<u8>,
        /// The `next` cursor a previous page printed.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Add a note; prints its id.
    Add {
        #[arg(long)]
        title: String,
        #[arg(long, default_value = "")]
        body: String,
        /// A tag (repeatable).
        #[arg(long = "tag")]
        tags: Vec<String>,
    },
    /// Show one note.
    Get { id: String },
    /// Change a note (ETag/If-Match: never overwrites someone else's change).
    Edit {
        id: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        body: Option<String>,
        /// Replace the tags (repeatable).
        #[arg(long = "tag")]
        tags: Option<Vec<String>>,
        /// Only if the note is still at this version (as `notes get`
        /// showed it); otherwise the API answers 412 and nothing changes.
        #[arg(long, value_name = "N")]
        expect_version: Option<u64>,
    },
    /// Delete a note.
    Rm { id: String },
}

#[derive(Subcommand)]
enum MfaCommand {
    /// Enrol an authenticator app (TOTP) and make it the preferred factor.
    Setup,
}

/// Runs the command line; returns the exit code.
pub async fn main() -> i32 {
    let cli = Cli::parse();
    match run(cli, &Terminal::default()).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("notes: {e}");
            1
        }
    }
}

/// The target: from the flags (then remembered) or the config file.
async fn target(cli: &Cli) -> Result<Target> {
    let t = if let Some(name) = &cli.stack {
        let sdk = config::sdk_config(None).await;
        config::from_stack(&sdk, name).await?
    } else if cli.offline {
        config::offline(cli.root.as_deref())?
    } else {
        return config::load()?.ok_or_else(|| {
            Error::Config(
                "no stack chosen: pass --stack NAME (deployed) or --offline (make dev) once".into(),
            )
        });
    };
    config::save(&t)?;
    Ok(t)
}

/// The signed-in session, refreshed when its access token expires within
/// `NOTES_REFRESH_MARGIN_SECONDS` (default 300).
pub(crate) async fn fresh_session(cognito: &Cognito, store: &Store) -> Result<Session> {
    let s = store.load()?.ok_or(Error::NotSignedIn)?;
    let margin = std::env::var("NOTES_REFRESH_MARGIN_SECONDS")
        .ok()
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                Error::Config("NOTES_REFRESH_MARGIN_SECONDS must be a number of seconds".into())
            })
        })
        .transpose()?
        .unwrap_or(300);
    if s.expires_at - claims::now() > margin {
        return Ok(s);
    }
    match cognito.refresh(&s).await {
        Ok(new) => {
            store.save(&new)?;
            Ok(new)
        }
        Err(e) if e.aws_code() == Some("NotAuthorizedException") => {
            // Revoked or expired: the stored session is useless now.
            store.delete()?;
            Err(Error::Config(
                "the session has ended (refresh token revoked or expired): run `notes login`"
                    .into(),
            ))
        }
        Err(e) => Err(e),
    }
}

pub async fn run(cli: Cli, prompt: &dyn Prompt) -> Result<()> {
    let target = target(&cli).await?;
    let sdk = config::sdk_config(Some(&target)).await;
    let cognito = Cognito::new(&sdk, target.clone());
    let store = Store::new(target.store_key());
    match cli.command {
        Command::Configure => {
            match &target.source {
                Source::Stack { name } => println!("stack:      {name}"),
                Source::Offline { root } => println!("offline:    {}", root.display()),
            }
            println!("api:        {}", target.api_url);
            println!("user pool:  {}", target.user_pool_id);
            println!("app client: {}", target.client_id);
            Ok(())
        }
        Command::Signup { email } => {
            let password = prompt.secret("Password")?;
            let sub = cognito.sign_up(&email, &password).await?;
            println!(
                "signed up {email} (sub {sub}); confirm with the emailed code: notes confirm --email {email}"
            );
            Ok(())
        }
        Command::Confirm { email, code } => {
            let code = match code {
                Some(c) => c,
                None => prompt.line("Confirmation code")?,
            };
            cognito.confirm(&email, &code).await?;
            println!("confirmed {email}; sign in with: notes login --email {email}");
            Ok(())
        }
        Command::Login {
            hosted: true,
            provider,
            domain,
            port,
            ..
        } => {
            let domain = domain
                .or_else(|| target.hosted_domain.clone())
                .ok_or_else(|| {
                    Error::Config(
                        "this stack has no hosted login domain (the offline stack has none); \
                         pass --domain"
                            .into(),
                    )
                })?;
            let session = crate::hosted::login(
                &crate::hosted::Options {
                    domain: &domain,
                    client_id: &target.client_id,
                    provider: provider.as_deref(),
                    port,
                    open_browser: std::env::var_os("NOTES_NO_BROWSER").is_none(),
                },
                prompt,
            )
            .await?;
            store.save(&session)?;
            println!("signed in as {}", session.username);
            Ok(())
        }
        Command::Login { email, .. } => {
            let email = match email {
                Some(e) => e,
                None => prompt.line("Email")?,
            };
            let password = prompt.secret("Password")?;
            let session = cognito.sign_in(&email, &password, prompt).await?;
            store.save(&session)?;
            println!("signed in as {email}");
            Ok(())
        }
        Command::Token => {
            let s = fresh_session(&cognito, &store).await?;
            println!("{}", s.access_token);
            Ok(())
        }
        Command::Whoami => {
            let s = fresh_session(&cognito, &store).await?;
            println!("{:<10} {}", "account", s.username);
            for (k, v) in claims::summary(&s.access_token) {
                println!("{k:<10} {v}");
            }
            Ok(())
        }
        Command::Mfa {
            command: MfaCommand::Setup,
        } => {
            let s = fresh_session(&cognito, &store).await?;
            cognito
                .enrol_totp(Some(&s.access_token), None, &s.username, prompt)
                .await?;
            println!("authenticator app enrolled; sign-in will ask for its code");
            Ok(())
        }
        Command::Notes(n) => {
            let s = fresh_session(&cognito, &store).await?;
            notes(&Api::new(&target.api_url, &s.access_token), n).await
        }
        Command::Credentials => {
            let mut s = fresh_session(&cognito, &store).await?;
            let creds = match s.aws_credentials.clone().filter(crate::identity::usable) {
                Some(c) => c,
                None => {
                    let c = crate::identity::fetch(&sdk, &target, &s.id_token).await?;
                    s.aws_credentials = Some(c.clone());
                    store.save(&s)?;
                    c
                }
            };
            println!("{}", crate::identity::process_json(&creds));
            Ok(())
        }
        Command::Signout { everywhere } => signout(&target, &cognito, &store, everywhere).await,
    }
}

fn print_note(n: &crate::api::Note) {
    println!("id:      {}", n.id);
    println!("title:   {}", n.title);
    println!("tags:    {}", n.tags.join(", "));
    println!("version: {}  updated {}", n.version, n.updated_at);
    if !n.body.is_empty() {
        println!("\n{}", n.body);
    }
}

async fn notes(api: &Api, cmd: NotesCommand) -> Result<()> {
    match cmd {
        NotesCommand::List { limit, cursor } => {
            let page = api.list(limit, cursor.as_deref()).await?;
            for n in &page.items {
                let tags = if n.tags.is_empty() {
                    String::new()
                } else {
                    format!("  [{}]", n.tags.join(", "))
                };
                println!("{}  {}{tags}", n.id, n.title);
            }
            if let Some(c) = page.next_cursor {
                eprintln!("more: notes list --cursor {c}");
            }
        }
        NotesCommand::Add { title, body, tags } => {
            let n = api.add(&title, &body, &tags).await?;
            println!("{}", n.id);
        }
        NotesCommand::Get { id } => print_note(&api.get(&id).await?.0),
        NotesCommand::Edit {
            id,
            title,
            body,
            tags,
            expect_version,
        } => {
            // Read, change, write back with If-Match: a 412 means someone
            // (another device) changed it in between, and nothing is lost.
            let (mut n, etag) = api.get(&id).await?;
            // The API's ETag is the quoted version number
            // (api-handler `Version::etag`).
            let etag = expect_version.map_or(etag, |v| format!("\"{v}\""));
            if let Some(t) = title {
                n.title = t;
            }
            if let Some(b) = body {
                n.body = b;
            }
            if let Some(t) = tags {
                n.tags = t;
            }
            let n = api.replace(&id, &etag, &n).await?;
            println!("updated {} (version {})", n.id, n.version);
        }
        NotesCommand::Rm { id } => {
            api.delete(&id).await?;
            println!("deleted {id}");
        }
    }
    Ok(())
}

async fn signout(
    target: &Target,
    cognito: &Cognito,
    store: &Store,
    everywhere: bool,
) -> Result<()> {
    let Some(s) = store.load()? else {
        println!("not signed in");
        return Ok(());
    };
    let mut problems = Vec::new();
    // First the API (while the access token is still accepted): it records
    // the session's origin_jti so this access token, and any refreshed
    // from the same session, are refused from now on.
    match Api::new(&target.api_url, &s.access_token).signout().await {
        Ok(()) => {}
        // A stack deployed with TokenRevocation=false has no such route.
        Err(Error::Api(line)) if line.starts_with("404") => eprintln!(
            "note: this API does not record sign-outs (TokenRevocation off): \
             the current access token stays valid until it expires"
        ),
        Err(e) => problems.push(format!("the API did not record the sign-out: {e}")),
    }
    // moto implements GlobalSignOut but not RevokeToken.
    let offline = matches!(target.source, Source::Offline { .. });
    let r = if everywhere || offline {
        cognito.global_sign_out(&s.access_token).await
    } else {
        cognito.revoke(&s.refresh_token).await
    };
    if let Err(e) = r {
        problems.push(e.to_string());
    }
    store.delete()?;
    if problems.is_empty() {
        println!(
            "signed out{}; local tokens deleted",
            if everywhere { " everywhere" } else { "" }
        );
        Ok(())
    } else {
        Err(Error::Api(format!(
            "local tokens deleted, but: {}",
            problems.join("; ")
        )))
    }
}
