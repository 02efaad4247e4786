//! `keyloom`: the command-line front door to a Keyloom vault. A thin layer: parse arguments,
//! call vault_data, print, map errors to exit codes (1 user error, 2 auth, 3 integrity).

#![forbid(unsafe_code)]

mod args;
mod commands;
mod context;
mod error;
mod secret_input;
mod usage;

fn main() {
    // `keyloom … | head` closes stdout early; end quietly like other Unix tools instead of
    // panicking in println!.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info.payload().downcast_ref::<String>().map(String::as_str).unwrap_or_default();
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(141);
        }
        default_hook(info);
    }));
    let cli = usage::parse();
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
