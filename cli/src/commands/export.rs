//! `export`, `bundle verify | history`, `signing-key export`.

use vault_data::export::verify_bundle;
use vault_data::export::write::FileOwner;
use vault_data::{ExportRequest, ExportStage};

use crate::args::{BundleCmd, ExportArgs, SigningKeyCmd};
use crate::context::{progress, table, when, write_new_file, Context};
use crate::error::{CliError, CliResult};

/// The core names an export option in plain words; the CLI names its flag.
fn with_flags(e: vault_data::Error) -> CliError {
    use vault_data::ExportField;
    match e {
        vault_data::Error::ExportOption { option, format, needed } => {
            let flag = match option {
                ExportField::Recipients => "--recipient",
                ExportField::Namespace => "--namespace",
                ExportField::Owner => "--uid/--gid",
                ExportField::P12Password => "--p12-password-file",
            };
            let belongs = option.describe().1;
            CliError::Usage(if needed {
                format!("--format {format} needs {flag}")
            } else {
                format!("{flag} goes with --format {belongs}")
            })
        }
        other => other.into(),
    }
}

pub fn export(ctx: &Context, a: ExportArgs) -> CliResult<()> {
    let p12_password = a.p12_password_file.as_deref().map(crate::secret_input::read_secret_file).transpose()?;
    let request = ExportRequest {
        services: a.service.clone().into_iter().collect(),
        environment: a.environment.clone(),
        format: a.format.clone(),
        recipients: a.recipients.clone(),
        namespace: a.namespace.clone(),
        owner: FileOwner { uid: a.uid, gid: a.gid },
        p12_password,
        secrets_only: a.secrets_only,
        no_env: a.no_env,
    };
    let mut vault = ctx.open_unlocked()?;
    let plan = vault.exports().plan(request).map_err(with_flags)?;
    let services = plan.services.clone();
    let signed = plan.signed();
    // Every service in one audited commit, then one output per service.
    let bar = if ctx.json || a.environment.is_none() {
        indicatif::ProgressBar::hidden()
    } else {
        progress(services.len(), "exporting")
    };
    let destination = vault_data::destination_for(&plan, a.out.clone());
    let written = vault.exports_mut().run(plan, destination, a.force, &|stage, done, _| {
        if stage == ExportStage::Writing && done == 1 {
            bar.set_message("writing");
        }
        bar.set_position(done as u64);
    })?;
    bar.finish_and_clear();
    vault.close()?;
    match (&a.environment, written.as_slice()) {
        (None, [one]) => {
            if ctx.json {
                let files: Vec<_> = one
                    .bundle
                    .files
                    .iter()
                    .map(|f| serde_json::json!({ "path": f.path, "mode": format!("{:04o}", f.mode) }))
                    .collect();
                ctx.print_json(&serde_json::json!({
                    "service": one.service, "format": a.format, "out": one.path, "replaced": one.replaced,
                    "files": files, "manifest": one.bundle.manifest,
                }))
            } else {
                let what = match (signed, one.replaced) {
                    (true, false) => format!("{} files, signed", one.bundle.files.len()),
                    (true, true) => format!("{} files, signed, replacing the previous export", one.bundle.files.len()),
                    (false, false) => format!("as {}", a.format),
                    (false, true) => format!("as {}, replacing the previous export", a.format),
                };
                println!("Exported {} ({what}) to {}", one.service, one.path.display());
                Ok(())
            }
        }
        _ => {
            let env = a.environment.clone().unwrap_or_default();
            if ctx.json {
                let replaced: Vec<_> = written.iter().filter(|w| w.replaced).map(|w| &w.path).collect();
                ctx.print_json(&serde_json::json!({
                    "environment": env, "format": a.format, "out": a.out, "services": services, "replaced": replaced,
                }))
            } else {
                let replaced = written.iter().filter(|w| w.replaced).count();
                let note =
                    if replaced > 0 { format!(" ({replaced} replacing previous exports)") } else { String::new() };
                println!("Exported {} {env} services to {}{note}", services.len(), a.out.display());
                Ok(())
            }
        }
    }
}

pub fn bundle(ctx: &Context, cmd: BundleCmd) -> CliResult<()> {
    match cmd {
        BundleCmd::Verify { path, pubkey } => {
            // Without --pubkey, the vault's own signing key: the common case of checking a bundle
            // this vault exported.
            let text = match &pubkey {
                Some(p) => std::fs::read_to_string(p).map_err(CliError::file("cannot read", p))?,
                None => {
                    let vault = ctx.open_unlocked()?;
                    let text = vault.exports().signing_public_key()?;
                    vault.close()?;
                    text
                }
            };
            let key = vault_data::export::manifest::parse_public_key(&text)?;
            let check = verify_bundle(&path, &key)?;
            if ctx.json {
                ctx.print_json(&check)?;
            } else if check.ok {
                println!(
                    "OK: {} — signature valid, {} files match the manifest",
                    check.service.as_deref().unwrap_or("?"),
                    check.files_checked
                );
            } else {
                println!("FAILED: {}", path.display());
                for p in &check.problems {
                    println!("  {p}");
                }
            }
            if check.ok {
                Ok(())
            } else {
                Err(CliError::CheckFailed(format!("{} does not verify", path.display())))
            }
        }
        BundleCmd::History { service } => {
            let vault = ctx.open_unlocked()?;
            let h = vault.exports().history(&service)?;
            vault.close()?;
            if ctx.json {
                return ctx.print_json(&h);
            }
            let rows = h
                .iter()
                .map(|e| {
                    vec![
                        when(e.created),
                        e.format.clone(),
                        e.serial.clone().unwrap_or_else(|| "-".into()),
                        e.secrets.join(","),
                    ]
                })
                .collect();
            println!("{}", table(&["exported", "format", "certificate serial", "secrets"], rows));
            Ok(())
        }
    }
}

pub fn signing_key(ctx: &Context, cmd: SigningKeyCmd) -> CliResult<()> {
    let SigningKeyCmd::Export { out } = cmd;
    let vault = ctx.open_unlocked()?;
    let text = vault.exports().signing_public_key()?;
    vault.close()?;
    write_new_file(&out, text.as_bytes(), vault_data::export::bundle::PUBLIC_MODE)?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({ "out": out }))
    } else {
        println!("Wrote the bundle signing public key to {}", out.display());
        Ok(())
    }
}
