//! One module per noun; each function parses nothing, calls vault_data, prints.

pub mod audit;
pub mod ca;
pub mod cert;
pub mod doctor;
pub mod export;
pub mod graph;
pub mod inject;
pub mod intent;
pub mod keys;
pub mod remote;
pub mod run;
pub mod secret;
pub mod service;
pub mod slot;
pub mod token;
pub mod trust;
pub mod vault;

use crate::args::Command;
use crate::context::Context;
use crate::error::CliResult;

pub fn run(ctx: &Context, command: Command) -> CliResult<()> {
    match command {
        Command::Init(a) => vault::init(ctx, a),
        Command::Status => vault::status(ctx),
        Command::Unlock(a) => keys::unlock(ctx, a),
        Command::Lock => keys::lock(ctx),
        Command::Agent(a) => keys::agent(ctx, a),
        Command::RunBundle { service, secrets_only } => run::bundle_for_client(ctx, &service, secrets_only),
        Command::Service(c) => service::run(ctx, c),
        Command::Secret(c) => secret::run(ctx, c),
        Command::Intent(c) => intent::run(ctx, c),
        Command::Remote(c) => remote::run(ctx, c),
        Command::Push(a) => remote::sync(ctx, a, vault_data::SyncMode::Push),
        Command::Pull(a) => remote::sync(ctx, a, vault_data::SyncMode::Pull),
        Command::Sync(a) => remote::sync(ctx, a, vault_data::SyncMode::Sync),
        Command::Conflicts(c) => remote::conflicts(ctx, c),
        Command::TokenKey(c) => token::keys(ctx, c),
        Command::Jwks { issuer, out } => token::jwks(ctx, &issuer, out.as_deref()),
        Command::TokenIssuer(c) => token::issuers(ctx, c),
        Command::Token(c) => token::run(ctx, c),
        Command::Pins { service, format } => cert::pins(ctx, &service, &format),
        Command::Ca(c) => ca::run(ctx, c),
        Command::Cert(c) => cert::run(ctx, c),
        Command::Trust(c) => trust::run(ctx, c),
        Command::Graph(a) => graph::graph(ctx, a),
        Command::Findings(a) => graph::findings(ctx, a),
        Command::Explain { from, to } => graph::explain(ctx, &from, &to),
        Command::BlastRadius { ca } => graph::blast_radius(ctx, &ca),
        Command::Demo(a) => vault::demo(ctx, a),
        Command::Export(a) => export::export(ctx, a),
        Command::Bundle(c) => export::bundle(ctx, c),
        Command::SigningKey(c) => export::signing_key(ctx, c),
        Command::Run(a) => run::run(ctx, a),
        Command::Inject { input, output, force } => inject::inject(ctx, &input, &output, force),
        Command::Passwd(a) => keys::passwd(ctx, a),
        Command::Recover(a) => keys::recover(ctx, a),
        Command::Device(c) => keys::device(ctx, c),
        Command::Rekey(a) => keys::rekey(ctx, a),
        Command::Slot(c) => slot::run(ctx, c),
        Command::Audit(c) => audit::run(ctx, c),
        Command::Doctor(a) => doctor::run(ctx, a),
        Command::Completions { shell } => completions(shell),
    }
}

/// Writes the completion script for `shell`; it needs no vault.
fn completions(shell: clap_complete::Shell) -> CliResult<()> {
    let mut cmd = <crate::args::Cli as clap::CommandFactory>::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "keyloom", &mut script);
    match crate::output::write_stdout_bytes(&script) {
        // `keyloom completions bash | head` is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.map_err(|e| crate::error::CliError::Usage(format!("cannot write to stdout: {e}"))),
    }
}
