//! `keyloom`'s commands as a library: the binary (`main.rs`) runs them for the command line, the
//! agent runs them for its clients, and the desktop app runs them for CLI clients while it holds
//! the vault (`serve_request`). A thin layer: parse arguments, call vault_data, print, map errors
//! to exit codes (1 user error, 2 auth, 3 integrity).

#![forbid(unsafe_code)]

// Every command prints through `output`, so the same code serves a client of the agent (whose
// stdout and stderr it received over the socket) or this process. These shadow the standard
// macros for the whole crate; see output.rs.
macro_rules! println {
    () => { $crate::output::write(format_args!(""), true, false) };
    ($($t:tt)*) => { $crate::output::write(format_args!($($t)*), true, false) };
}
macro_rules! print {
    ($($t:tt)*) => { $crate::output::write(format_args!($($t)*), false, false) };
}
macro_rules! eprintln {
    () => { $crate::output::write(format_args!(""), true, true) };
    ($($t:tt)*) => { $crate::output::write(format_args!($($t)*), true, true) };
}
macro_rules! eprint {
    ($($t:tt)*) => { $crate::output::write(format_args!($($t)*), false, true) };
}

pub mod agent;
mod args;
mod commands;
mod context;
mod error;
mod output;
mod remedy;
mod secret_input;
mod usage;

/// The `keyloom` binary's entry point.
pub fn main_entry() {
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
    let wait = std::time::Duration::from_secs_f64(cli.wait.max(0.0));
    let result =
        context::Context::new(cli.vault.clone(), cli.passphrase_file.clone(), cli.key_file.clone(), cli.json, wait)
            .and_then(|ctx| match agent::forward(&cli, &ctx)? {
                Some(code) => std::process::exit(code),
                None => commands::run(&ctx, cli.command),
            });
    if let Err(e) = result {
        eprintln!("error: {e}");
        if let Some(hint) = e.hint() {
            eprintln!("hint: {hint}");
        }
        std::process::exit(e.exit_code());
    }
}
