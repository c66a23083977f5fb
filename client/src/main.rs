//! `notes`: the command line; everything is in the library (`client::cli`).

#[tokio::main]
async fn main() {
    std::process::exit(client::cli::main().await);
}
