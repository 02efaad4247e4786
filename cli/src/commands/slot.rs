//! `slot list | add | remove`: two-factor unlock (passphrase AND key file) and dropping the
//! passphrase-only slot.

use vault_data::{KeyFile, RecordId, SlotKind, Unlock};

use crate::args::SlotCmd;
use crate::commands::vault::kdf_cost;
use crate::context::{when, Context};
use crate::error::{CliError, CliResult};
use crate::secret_input;

pub fn run(ctx: &Context, cmd: SlotCmd) -> CliResult<()> {
    match cmd {
        SlotCmd::List => {
            let vault = ctx.open()?;
            let slots = vault.keys().slots()?;
            if ctx.json {
                return ctx.print_json(&slots);
            }
            for s in &slots {
                println!("{}  {:<11} added {}", s.id, label(s.kind), when(s.created));
            }
            Ok(())
        }
        SlotCmd::Add { current_key_file, kdf } => {
            let Some(new_file) = &ctx.key_file else {
                return Err(CliError::Usage(
                    "slot add needs the new key file: keyloom slot add --key-file FILE".into(),
                ));
            };
            let new_file = KeyFile::read(new_file)?;
            let passphrase = secret_input::passphrase(ctx.passphrase_file())?.ok_or_else(|| {
                vault_data::Error::NoUnlockMethod(
                    "adding a slot needs the passphrase (KEYLOOM_PASSPHRASE, --passphrase-file or a terminal)".into(),
                )
            })?;
            // The proof is what opens the vault today: the passphrase alone, or with the key file.
            let proof = match current_key_file {
                Some(f) => Unlock::TwoFactor(passphrase, KeyFile::read(&f)?),
                None => Unlock::Passphrase(passphrase),
            };
            let mut vault = ctx.open_unlocked_with(&proof)?;
            let info = vault.keys_mut().add_two_factor(&proof, &new_file, kdf_cost(&kdf)?)?;
            vault.close()?;
            if ctx.json {
                return ctx.print_json(&info);
            }
            println!("Added two-factor slot {}: the passphrase and this key file now open the vault.", info.id);
            println!("Keep the file safe and backed up apart from the vault; the recovery key still works.");
            println!(
                "To require the file from now on, remove the passphrase-only slot: keyloom slot remove passphrase"
            );
            Ok(())
        }
        SlotCmd::Remove { slot } => {
            let proof = ctx.real_factor()?;
            let mut vault = ctx.open_unlocked_with(&proof)?;
            let id = if slot == "passphrase" {
                vault
                    .keys()
                    .slots()?
                    .iter()
                    .find(|s| s.kind == SlotKind::Passphrase)
                    .map(|s| s.id)
                    .ok_or_else(|| CliError::Usage("this vault has no passphrase-only slot".into()))?
            } else {
                slot.parse::<RecordId>()
                    .map_err(|_| CliError::Usage(format!("`{slot}` is not a slot id (see `keyloom slot list`)")))?
            };
            let removed = vault.keys_mut().remove_slot(&proof, id)?;
            vault.close()?;
            if ctx.json {
                return ctx.print_json(&removed);
            }
            println!("Removed the {} slot {}.", label(removed.kind), removed.id);
            Ok(())
        }
    }
}

fn label(kind: SlotKind) -> &'static str {
    match kind {
        SlotKind::Passphrase => "passphrase",
        SlotKind::TwoFactor => "two-factor",
        SlotKind::Recovery => "recovery",
        SlotKind::Device => "device",
    }
}
