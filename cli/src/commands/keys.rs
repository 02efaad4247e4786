//! The agent (unlock, lock), passphrase changes, recovery, the device slot, rekey.

use vault_data::{ExposeSecret, SlotKind, Unlock};

use crate::args::{AgentArgs, DeviceCmd, PasswdArgs, RecoverArgs, RekeyArgs, UnlockArgs};
use crate::commands::vault::kdf_cost;
use crate::context::Context;
use crate::error::{CliError, CliResult};
use crate::secret_input;

/// Longest an agent may hold the vault.
const MAX_TTL: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

pub fn unlock(ctx: &Context, args: UnlockArgs) -> CliResult<()> {
    let ttl: std::time::Duration = *args.ttl;
    let idle: std::time::Duration = *args.idle;
    if ttl < std::time::Duration::from_secs(60) || ttl > MAX_TTL {
        return Err(CliError::Usage("--ttl must be between 1 minute and 7 days".into()));
    }
    if idle < std::time::Duration::from_secs(60) {
        return Err(CliError::Usage("--idle must be at least 1 minute".into()));
    }
    crate::agent::start(ctx, crate::agent::Start { ttl, idle })
}

pub fn agent(ctx: &Context, args: AgentArgs) -> CliResult<()> {
    crate::agent::serve(
        ctx,
        std::time::Duration::from_secs(args.ttl_secs),
        std::time::Duration::from_secs(args.idle_secs),
    )
}

/// `lock` with no agent running (with one, the agent answers it): nothing holds the key.
pub fn lock(ctx: &Context) -> CliResult<()> {
    if ctx.json {
        ctx.print_json(&serde_json::json!({ "locked": true, "agent": false }))
    } else {
        println!("No agent is running for this vault: nothing holds its key.");
        Ok(())
    }
}

pub fn passwd(ctx: &Context, args: PasswdArgs) -> CliResult<()> {
    let kdf = kdf_cost(&args.kdf)?;
    let proof = ctx.real_factor()?;
    let mut vault = ctx.open_unlocked_with(&proof)?;
    let new = secret_input::new_passphrase(args.new_passphrase_file.as_deref(), "KEYLOOM_NEW_PASSPHRASE")?;
    secret_input::check_new_passphrase(&new)?;
    vault.keys_mut().change_passphrase(&proof, &new, kdf)?;
    vault.close()?;
    done(
        ctx,
        "Passphrase changed. The old one opens no file in the vault folder now, but a copy of the folder made \
         before still opens with it: if it may have leaked with such a copy, run `keyloom rekey`.",
    )
}

pub fn recover(ctx: &Context, args: RecoverArgs) -> CliResult<()> {
    let kdf = kdf_cost(&args.kdf)?;
    let key = Unlock::RecoveryKey(secret_input::read_secret_file(&args.recovery_key_file)?);
    let mut vault = ctx.open_unlocked_with(&key)?;
    let new = secret_input::new_passphrase(args.new_passphrase_file.as_deref(), "KEYLOOM_NEW_PASSPHRASE")?;
    secret_input::check_new_passphrase(&new)?;
    vault.keys_mut().change_passphrase(&key, &new, kdf)?;
    vault.close()?;
    done(ctx, "Passphrase reset with the recovery key.")
}

pub fn device(ctx: &Context, cmd: DeviceCmd) -> CliResult<()> {
    match cmd {
        DeviceCmd::Enable { cli } => {
            let proof = ctx.real_factor()?;
            let mut vault = ctx.open_unlocked_with(&proof)?;
            vault.keys_mut().enable_device(&proof, cli)?;
            vault.close()?;
            done(
                ctx,
                if cli {
                    "This device now unlocks the vault through the OS keyring, in the desktop app and the CLI. \
                     Any process of this user can read the keyring entry, so any script can now read secrets."
                } else {
                    "The desktop app on this device now unlocks the vault through the OS keyring at start. \
                     Any process of this user can read the keyring entry; the CLI does not use it (`--cli`)."
                },
            )
        }
        DeviceCmd::Disable => {
            let mut vault = ctx.open_unlocked()?;
            let was = vault.keys_mut().disable_device()?;
            vault.close()?;
            done(ctx, if was { "Device unlock disabled." } else { "Device unlock was not enabled." })
        }
        DeviceCmd::Status => {
            let mut vault = ctx.open()?;
            let enabled = vault.status()?.slots.iter().any(|s| s.kind == SlotKind::Device);
            let works = enabled && (vault.is_unlocked() || vault.unlock(Unlock::Device).is_ok());
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
    let proof = ctx.real_factor()?;
    let mut vault = ctx.open_unlocked_with(&proof)?;
    if !ctx.json {
        eprintln!("Rekeying: resealing every record under a new vault key…");
    }
    let report = vault.keys_mut().rekey(&proof, kdf, args.new_recovery_key)?;
    vault.close()?;
    let recovery = report.new_recovery_key.as_ref().map(|k| k.0.expose_secret().to_string());
    if ctx.json {
        let mut v = serde_json::to_value(&report).map_err(|e| CliError::Usage(e.to_string()))?;
        v["recovery_key"] = serde_json::json!(recovery);
        return ctx.print_json(&v);
    }
    println!("Rekeyed: {} records resealed, {} slots rewrapped.", report.records_resealed, report.slots_rewrapped);
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
