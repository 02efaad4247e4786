//! `run --service S -- command…`: the service's secrets as environment variables and its TLS
//! files in a 0700 temporary directory that is removed when the child exits. Signals are
//! forwarded to the child and its exit code becomes ours.

use std::os::unix::process::ExitStatusExt;

use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use vault_data::export::run::{tls_variable, withheld_from_child};

use crate::args::RunArgs;
use crate::context::Context;
use crate::error::{CliError, CliResult};

pub fn run(ctx: &Context, a: RunArgs) -> CliResult<()> {
    let mut vault = ctx.open_unlocked()?;
    let bundle = vault.run_bundle(&a.service, a.secrets_only)?;
    // Release the vault before the child starts: it may itself call keyloom.
    vault.close()?;

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
    for f in &bundle.files {
        match f.path.as_str() {
            "secrets.json" => {
                let map: std::collections::BTreeMap<String, String> =
                    serde_json::from_slice(&f.contents).map_err(|e| CliError::Usage(e.to_string()))?;
                cmd.envs(map);
            }
            path => {
                let Some(var) = tls_variable(path) else { continue };
                let path = dir.path().join(path.trim_start_matches("tls/"));
                let mut o = std::fs::OpenOptions::new();
                std::os::unix::fs::OpenOptionsExt::mode(o.write(true).create_new(true), 0o600);
                let mut file = o.open(&path).map_err(CliError::file("cannot create", &path))?;
                std::io::Write::write_all(&mut file, &f.contents).map_err(CliError::file("cannot write", &path))?;
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
