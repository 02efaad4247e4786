//! `doctor [--restore]`.

use vault_data::{Error, Unlock};

use crate::args::DoctorArgs;
use crate::context::{report_notices, when, Context};
use crate::error::{CliError, CliResult};
use crate::secret_input;

fn unlock_method(ctx: &Context, args: &DoctorArgs) -> CliResult<Unlock> {
    if let Some(f) = &args.recovery_key_file {
        return Ok(Unlock::RecoveryKey(secret_input::read_secret_file(f)?));
    }
    match secret_input::passphrase(ctx.passphrase_file())? {
        Some(p) => ctx.with_key_file(p),
        None => Err(Error::NoUnlockMethod(
            "doctor needs the passphrase (KEYLOOM_PASSPHRASE, --passphrase-file) or --recovery-key-file".into(),
        )
        .into()),
    }
}

pub fn run(ctx: &Context, args: DoctorArgs) -> CliResult<()> {
    if args.restore {
        if crate::agent::connect(ctx)?.is_some() {
            return Err(CliError::Usage(
                "an agent holds this vault open; stop it with `keyloom lock` before restoring".into(),
            ));
        }
        let method = unlock_method(ctx, &args)?;
        let r = vault_data::restore_wait(&ctx.vault_dir, method, args.force, ctx.wait)?;
        if ctx.json {
            return ctx.print_json(&r);
        }
        println!("This was an explicit rollback; it is recorded in the vault's audit log.");
        println!(
            "Restored {} records from the {} snapshot ({}, written {}), up to audit entry #{}.",
            r.records,
            r.generation,
            r.snapshot.display(),
            when(r.snapshot_created),
            r.audit_seq
        );
        if let Some(d) = &r.damaged_copy {
            println!("The damaged database was moved to {}.", d.display());
        }
        if r.lost.is_empty() && r.lost_is_known {
            println!("Nothing newer than the snapshot was lost.");
        } else if r.lost.is_empty() {
            println!(
                "The damaged database could not be read, so operations after audit entry #{} (if any) are lost.",
                r.audit_seq
            );
        } else {
            println!("Lost (newer than the snapshot):");
            for l in &r.lost {
                println!("  {l}");
            }
        }
        return Ok(());
    }
    let mut vault = match ctx.open() {
        Ok(v) => v,
        Err(CliError::Vault(e @ (Error::Integrity(_) | Error::Damaged(_)))) => {
            return Err(CliError::CheckFailed(format!(
                "{e}\nthe database cannot be opened; run `keyloom doctor --restore`"
            )))
        }
        Err(e) => return Err(e),
    };
    if args.accept_rollback {
        if vault.is_unlocked() {
            return Err(CliError::Usage(
                "an agent holds this vault open, so it passed its checks; there is no rollback to accept".into(),
            ));
        }
        vault.unlock_accepting_rollback(unlock_method(ctx, &args)?)?;
        report_notices(&vault);
    } else if !vault.is_unlocked() {
        vault.unlock_keys_only(unlock_method(ctx, &args)?)?;
    }
    let report = vault.doctor()?;
    // Names from before the name rule are not damage: listed with their fix, the verdict stands.
    let names = vault.name_problems()?;
    vault.close()?;
    if ctx.json {
        let mut json = serde_json::to_value(&report).map_err(|e| CliError::Usage(e.to_string()))?;
        json["name_problems"] = serde_json::to_value(&names).map_err(|e| CliError::Usage(e.to_string()))?;
        ctx.print_json(&json)?;
    } else {
        println!("records checked  {}", report.records_checked);
        for d in &report.damaged {
            println!("DAMAGED          {d}");
        }
        match &report.audit.first_problem {
            None => println!("audit chain      OK ({} entries)", report.audit.entries),
            Some(p) => println!("audit chain      BROKEN at #{}: {}", p.seq, p.problem),
        }
        println!("snapshot         {}", report.snapshot.verdict);
        println!("records          {}", report.rollback.records);
        println!("anchor           {}", report.rollback.anchor);
        if names.is_empty() {
            println!("names            OK");
        } else {
            println!("names            {} break the name rule; rename them:", names.len());
            for p in &names {
                println!("  {} {}: {}", p.kind.label(), vault_data::model::names::shown(&p.name), p.problem);
                println!("    fix: {}", crate::remedy::render_name_fix(&p.fix));
            }
        }
        println!("verdict          {}", if report.ok { "healthy" } else { "PROBLEMS FOUND" });
    }
    if report.ok {
        Ok(())
    } else if !report.rollback.ok && report.damaged.is_empty() && report.audit.ok {
        Err(CliError::CheckFailed(
            "the vault was rolled back or records were removed (see above): `keyloom doctor --restore` rebuilds it \
             from the newest good snapshot; if you put this copy back on purpose, `keyloom doctor --accept-rollback`"
                .into(),
        ))
    } else {
        Err(CliError::CheckFailed(
            "the vault has problems (see above); `keyloom doctor --restore` rebuilds it from the newest good snapshot"
                .into(),
        ))
    }
}
