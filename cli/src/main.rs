//! `keyloom`: the command-line front door to a Keyloom vault. A thin layer: parse arguments,
//! call vault_data, print, map errors to exit codes (1 user error, 2 auth, 3 integrity).

#![forbid(unsafe_code)]

mod args;
mod commands;
mod context;
mod error;
mod secret_input;

use clap::Parser;

fn main() {
    let cli = args::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    if let Err(e) = vault_data::process::harden() {
        eprintln!("warning: {e}");
    }
    let result = context::Context::new(cli.vault, cli.passphrase_file, cli.json)
        .and_then(|ctx| commands::run(&ctx, cli.command));
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}
