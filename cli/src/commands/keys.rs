//! Sessions, passphrase changes, recovery, the device slot, rekey.

use vault_data::{ExposeSecret, SlotKind, Unlock};

use crate::args::{DeviceCmd, PasswdArgs, RecoverArgs, RekeyArgs, UnlockArgs};
use crate::commands::vault::kdf_cost;
use crate::context::{when, Context};
use crate::error::{CliError, CliResult};
use crate::secret_input;

pub fn unlock(ctx: &Context, args: UnlockArgs) -> CliResult<()> {
    let ttl = time::Duration::try_from(*args.ttl).map_err(|_| CliError::Usage("the --ttl is too long".into()))?;
    let mut vault = ctx.open_unlocked()?;
    let session = vault.create_session(ttl)?;
    vault.close()?;
    let token = session.token.expose_secret();
    if ctx.json {
        ctx.print_json(&serde_json::json!({ "session": token, "expires": when(session.expires) }))
    } else {
        // Stdout is meant for `eval`; the token only unlocks together with the vault directory.
        println!("export KEYLOOM_SESSION='{token}'");
        eprintln!("# session expires at {}; `keyloom lock` ends it", when(session.expires));
        Ok(())
    }
}

pub fn lock(ctx: &Context) -> CliResult<()> {
    let mut vault = ctx.open()?;
    // Audited when a key is at hand; otherwise queued until the next unlock.
    let _ = ctx.unlock(&mut vault, false);
    let n = vault.end_sessions()?;
    vault.close()?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({ "sessions_ended": n }))
    } else {
        println!("Locked: {n} session(s) ended.");
        Ok(())
    }
}

pub fn passwd(ctx: &Context, args: PasswdArgs) -> CliResult<()> {
    let kdf = kdf_cost(&args.kdf)?;
    let (mut vault, _) = ctx.open_with_passphrase()?;
    let new = secret_input::new_passphrase(args.new_passphrase_file.as_deref(), "KEYLOOM_NEW_PASSPHRASE")?;
    secret_input::warn_if_weak(&new);
    vault.change_passphrase(&new, kdf)?;
    vault.close()?;
    done(ctx, "Passphrase changed.")
}

pub fn recover(ctx: &Context, args: RecoverArgs) -> CliResult<()> {
    let kdf = kdf_cost(&args.kdf)?;
    let key = secret_input::read_secret_file(&args.recovery_key_file)?;
    let mut vault = ctx.open()?;
    vault.unlock(Unlock::RecoveryKey(key))?;
    let new = secret_input::new_passphrase(args.new_passphrase_file.as_deref(), "KEYLOOM_NEW_PASSPHRASE")?;
    secret_input::warn_if_weak(&new);
    vault.change_passphrase(&new, kdf)?;
    vault.close()?;
    done(ctx, "Passphrase reset with the recovery key.")
}

pub fn device(ctx: &Context, cmd: DeviceCmd) -> CliResult<()> {
    match cmd {
        DeviceCmd::Enable => {
            let mut vault = ctx.open_unlocked()?;
            vault.enable_device()?;
            vault.close()?;
            done(ctx, "This device now unlocks the vault through the OS keyring.")
        }
        DeviceCmd::Disable => {
            let mut vault = ctx.open_unlocked()?;
            let was = vault.disable_device()?;
            vault.close()?;
            done(ctx, if was { "Device unlock disabled." } else { "Device unlock was not enabled." })
        }
        DeviceCmd::Status => {
            let mut vault = ctx.open()?;
            let enabled = vault.status()?.slots.iter().any(|s| s.kind == SlotKind::Device);
            let works = enabled && vault.unlock(Unlock::Device).is_ok();
            vault.close()?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "enabled": enabled, "this_device_unlocks": works }))
            } else {
                println!(
                    "device unlock: {}",
                    match (enabled, works) {
                        (false, _) => "not enabled",
                        (true, true) => "enabled, and this device's keyring opens the vault",
                        (true, false) => "enabled, but this device's keyring does not open the vault",
                    }
                );
                Ok(())
            }
        }
    }
}

pub fn rekey(ctx: &Context, args: RekeyArgs) -> CliResult<()> {
    let kdf = kdf_cost(&args.kdf)?;
    let (mut vault, passphrase) = ctx.open_with_passphrase()?;
    if !ctx.json {
        eprintln!("Rekeying: resealing every record under a new vault key…");
    }
    let report = vault.rekey(&passphrase, kdf, args.new_recovery_key)?;
    vault.close()?;
    let recovery = report.new_recovery_key.as_ref().map(|k| k.0.expose_secret().to_string());
    if ctx.json {
        let mut v = serde_json::to_value(&report).map_err(|e| CliError::Usage(e.to_string()))?;
        v["recovery_key"] = serde_json::json!(recovery);
        return ctx.print_json(&v);
    }
    println!(
        "Rekeyed: {} records resealed, {} slots rewrapped, {} sessions ended.",
        report.records_resealed, report.slots_rewrapped, report.sessions_ended
    );
    if let Some(k) = recovery {
        println!("\nNew recovery key (shown once; the old one no longer works):\n\n    {k}\n");
    }
    Ok(())
}

fn done(ctx: &Context, message: &str) -> CliResult<()> {
    if ctx.json {
        ctx.print_json(&serde_json::json!({ "ok": true, "message": message }))
    } else {
        println!("{message}");
        Ok(())
    }
}
