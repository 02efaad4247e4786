//! `run --service S -- command…`: the service's secrets as environment variables and its TLS
//! files in a 0700 temporary directory that is removed when the child exits. Signals are
//! forwarded to the child and its exit code becomes ours.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use vault_data::export::run::{tls_variable, withheld_from_child, RunSecret};

use crate::args::RunArgs;
use crate::context::Context;
use crate::error::{CliError, CliResult};
use zeroize::Zeroizing;

/// The run bundle's files (path, contents): from the agent when one holds the vault, else
/// from the vault opened here and closed again before the child starts.
fn files(ctx: &Context, a: &RunArgs) -> CliResult<Vec<(String, Zeroizing<Vec<u8>>)>> {
    let mut args = vec!["run-bundle", "--service", a.service.as_str()];
    if a.secrets_only {
        args.push("--secrets-only");
    }
    if let Some((exit, out)) = crate::agent::capture(ctx, &args)? {
        if exit != 0 {
            // The agent has said why on our stderr.
            return Err(CliError::Exit { code: exit, message: "the agent could not build the run bundle".into() });
        }
        let parsed: serde_json::Value =
            serde_json::from_slice(&out).map_err(|_| CliError::Usage("the agent's answer is not understood".into()))?;
        let mut files = Vec::new();
        for f in parsed["files"].as_array().into_iter().flatten() {
            let (Some(path), Some(b64)) = (f["path"].as_str(), f["contents"].as_str()) else {
                return Err(CliError::Usage("the agent's answer is not understood".into()));
            };
            let contents = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64)
                .map_err(|_| CliError::Usage("the agent's answer is not understood".into()))?;
            files.push((path.to_string(), Zeroizing::new(contents)));
        }
        return Ok(files);
    }
    let mut vault = ctx.open_unlocked()?;
    let bundle = vault.exports_mut().run_bundle(&a.service, a.secrets_only)?;
    // Release the vault before the child starts: it may itself call keyloom.
    vault.close()?;
    Ok(bundle.files.into_iter().map(|f| (f.path, f.contents)).collect())
}

/// `run-bundle` inside the agent: the run bundle as JSON on the client's stdout (a pipe of the
/// `run` that asked). Refused anywhere else: it is not a way to print a service's key.
pub fn bundle_for_client(ctx: &Context, service: &str, secrets_only: bool) -> CliResult<()> {
    if !crate::output::is_remote() {
        return Err(CliError::Usage("run-bundle is internal to `keyloom run`".into()));
    }
    let mut vault = ctx.open_unlocked()?;
    let bundle = vault.exports_mut().run_bundle(service, secrets_only)?;
    vault.close()?;
    let files: Vec<serde_json::Value> = bundle
        .files
        .iter()
        .map(|f| {
            serde_json::json!({
                "path": f.path,
                "contents": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &f.contents[..]),
            })
        })
        .collect();
    let out = Zeroizing::new(serde_json::to_vec(&serde_json::json!({ "files": files })).unwrap_or_default());
    crate::output::write_stdout_bytes(&out).map_err(|e| CliError::Usage(format!("cannot answer: {e}")))
}

/// Creates `path` (and its parent, 0700) holding `contents`, mode 0600.
fn write_private(path: &std::path::Path, contents: &[u8]) -> CliResult<()> {
    if let Some(parent) = path.parent() {
        let mut b = std::fs::DirBuilder::new();
        std::os::unix::fs::DirBuilderExt::mode(b.recursive(true), 0o700);
        b.create(parent).map_err(CliError::file("cannot create", parent))?;
    }
    let mut o = std::fs::OpenOptions::new();
    std::os::unix::fs::OpenOptionsExt::mode(o.write(true).create_new(true), 0o600);
    let mut file = o.open(path).map_err(CliError::file("cannot create", path))?;
    std::io::Write::write_all(&mut file, contents).map_err(CliError::file("cannot write", path))
}

pub fn run(ctx: &Context, a: RunArgs) -> CliResult<()> {
    let bundle = files(ctx, &a)?;

    let dir = tempfile::Builder::new()
        .prefix("keyloom-run-")
        .tempdir()
        .map_err(|e| CliError::Usage(format!("cannot create a temporary directory: {e}")))?;
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .map_err(CliError::file("cannot set mode of", dir.path()))?;
    let mut cmd = std::process::Command::new(&a.command[0]);
    cmd.args(&a.command[1..]);
    // Nothing of Keyloom's own reaches the child (the rule and its reasons: vault_data::export::run).
    for (name, _) in std::env::vars_os() {
        if withheld_from_child(&name) {
            cmd.env_remove(&name);
        }
    }
    for (path, contents) in &bundle {
        match path.as_str() {
            "secrets.json" => {
                let secrets = vault_data::export::secrets_json::parse(contents)?;
                for secret in vault_data::export::run::plan(&a.service, secrets)? {
                    match secret {
                        RunSecret::Env { name, value } => {
                            cmd.env(name, std::ffi::OsStr::from_bytes(&value));
                        }
                        RunSecret::File { variable, file, value } => {
                            let path = dir.path().join(file);
                            write_private(&path, &value)?;
                            cmd.env(variable, &path);
                        }
                    }
                }
            }
            path => {
                let Some(var) = tls_variable(path) else { continue };
                let path = dir.path().join(path.trim_start_matches("tls/"));
                write_private(&path, contents)?;
                cmd.env(var, &path);
            }
        }
    }
    drop(bundle);
    let mut child = cmd.spawn().map_err(|e| CliError::Usage(format!("cannot start {:?}: {e}", a.command[0])))?;
    let pid = rustix::process::Pid::from_raw(child.id() as i32);
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT])
        .map_err(|e| CliError::Usage(format!("cannot watch signals: {e}")))?;
    let handle = signals.handle();
    let forwarder = std::thread::spawn(move || {
        for sig in signals.forever() {
            if let (Some(pid), Some(s)) = (pid, rustix::process::Signal::from_named_raw(sig)) {
                let _ = rustix::process::kill_process(pid, s);
            }
        }
    });
    let status = child.wait().map_err(|e| CliError::Usage(format!("waiting for the command failed: {e}")))?;
    handle.close();
    let _ = forwarder.join();
    drop(dir);
    let code = status.code().unwrap_or_else(|| 128 + status.signal().unwrap_or(1));
    std::process::exit(code);
}
