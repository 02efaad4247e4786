//! `init` and `status`.

use std::io::Write;

use vault_data::{CreateOptions, ExposeSecret, KdfCost, Vault};

use crate::args::{InitArgs, KdfArgs};
use crate::context::{when, Context};
use crate::error::{CliError, CliResult};
use crate::secret_input;

/// The scrypt cost a command asked for, refused below the safe floor.
pub fn kdf_cost(args: &KdfArgs) -> CliResult<KdfCost> {
    match args.scrypt_log_n {
        None => Ok(KdfCost::Calibrated),
        Some(n) => Ok(KdfCost::checked(n)?),
    }
}

pub fn init(ctx: &Context, args: InitArgs) -> CliResult<()> {
    let kdf = kdf_cost(&args.kdf)?;
    if let Some(out) = &args.recovery_key_out {
        if out.exists() {
            return Err(CliError::Usage(format!("{} exists; refusing to overwrite it", out.display())));
        }
    }
    let passphrase = match secret_input::passphrase_non_interactive(ctx.passphrase_file())? {
        Some(p) => p,
        None => secret_input::new_passphrase(None, "KEYLOOM_PASSPHRASE")?,
    };
    secret_input::check_new_passphrase(&passphrase)?;
    if !ctx.json {
        eprintln!("Creating the vault (deriving the passphrase key takes a moment)…");
    }
    // With --key-file the vault's daily slot is two-factor from the start.
    let key_file = ctx.key_file.as_deref().map(vault_data::KeyFile::read).transpose()?;
    let (vault, recovery) = Vault::create(&ctx.vault_dir, &passphrase, CreateOptions { kdf, key_file })?;
    let vault_id = vault.vault_id();
    vault.close()?;
    let key = recovery.0.expose_secret();
    if let Some(out) = &args.recovery_key_out {
        let mut f = std::fs::OpenOptions::new();
        std::os::unix::fs::OpenOptionsExt::mode(f.write(true).create_new(true), 0o600);
        let mut file = f.open(out).map_err(CliError::file("cannot create", out))?;
        writeln!(file, "{key}").and_then(|_| file.sync_all()).map_err(CliError::file("cannot write", out))?;
    }
    if ctx.json {
        let recovery_key = if args.recovery_key_out.is_some() { None } else { Some(key) };
        ctx.print_json(&serde_json::json!({
            "vault_id": vault_id,
            "path": ctx.vault_dir,
            "recovery_key": recovery_key,
            "recovery_key_file": args.recovery_key_out,
        }))?;
    } else {
        println!("Created vault {vault_id} at {}", ctx.vault_dir.display());
        match &args.recovery_key_out {
            Some(out) => println!("Recovery key written to {} (mode 0600). Move it somewhere offline.", out.display()),
            None => {
                println!();
                println!("Recovery key (shown once; store it offline, it opens the vault without the passphrase):");
                println!();
                println!("    {key}");
                println!();
            }
        }
    }
    Ok(())
}

pub fn status(ctx: &Context) -> CliResult<()> {
    let mut vault = ctx.open()?;
    // Counts need the key; never prompt for a status line. No key offered at all is the plain
    // locked state (exit 0); a key that was offered and failed (a wrong KEYLOOM_PASSPHRASE, an
    // unreadable --passphrase-file) is an error like in any other command, after the status.
    let unlock_error = match ctx.unlock_quietly(&mut vault) {
        Ok(()) => {
            crate::context::report_failed_unlocks(&vault);
            crate::context::report_notices(&vault);
            None
        }
        Err(CliError::Vault(vault_data::Error::NoUnlockMethod(e))) => {
            tracing::debug!(error = %e, "status without unlocking");
            None
        }
        Err(e) => Some(e),
    };
    let st = vault.status()?;
    if ctx.json {
        // The status's own fields, in their order, plus `unlock_error` (null, or {code, message}).
        #[derive(serde::Serialize)]
        struct Status<'a> {
            #[serde(flatten)]
            status: &'a vault_data::VaultStatus,
            unlock_error: Option<serde_json::Value>,
        }
        let err = unlock_error.as_ref().map(|e| serde_json::json!({ "code": e.code(), "message": e.to_string() }));
        ctx.print_json(&Status { status: &st, unlock_error: err })?;
        return unlock_error.map_or(Ok(()), Err);
    }
    println!("vault      {}", st.vault_id);
    println!("path       {}", st.path.display());
    println!("format     {}", st.format_version);
    if st.demo {
        println!("demo       yes: this vault holds the generated demo estate");
    }
    let state = match (&unlock_error, st.locked) {
        (Some(CliError::Vault(vault_data::Error::WrongKey)), _) => "locked: the passphrase or key given is wrong",
        (Some(_), _) => "locked: the key given could not be used (see the error below)",
        (None, true) => "locked (counts need the passphrase or an agent: `keyloom unlock`)",
        (None, false) => "unlocked",
    };
    println!("state      {state}");
    if st.failed_unlocks.count > 0 {
        let last = st.failed_unlocks.last.map(|t| format!(", the last at {}", when(t))).unwrap_or_default();
        println!("failed     {} unlock attempt(s) since the last successful unlock{last}", st.failed_unlocks.count);
    }
    for s in &st.slots {
        let exp = s.expires.map(|e| format!(", expires {}", when(e))).unwrap_or_default();
        println!("slot       {:?} {} (created {}{exp})", s.kind, s.id.short(), when(s.created));
    }
    if let Some(c) = st.counts {
        println!(
            "records    {} services, {} secrets ({} versions), {} intents",
            c.services, c.credentials, c.credential_versions, c.intents
        );
    }
    if let Some(n) = st.audit_entries {
        println!("audit      {n} entries");
    }
    unlock_error.map_or(Ok(()), Err)
}

pub fn demo(ctx: &Context, args: crate::args::DemoArgs) -> CliResult<()> {
    let kdf = kdf_cost(&args.kdf)?;
    // A demo holds made-up data: when no passphrase is given, one is generated and printed, so
    // the vault can be opened again (the desktop app asks for it). A given one is never echoed.
    let (passphrase, source, generated) = match secret_input::passphrase_non_interactive(ctx.passphrase_file())? {
        Some(p) => {
            let source = match ctx.passphrase_file() {
                Some(f) => format!("the passphrase in {}", f.display()),
                None => "the passphrase in KEYLOOM_PASSPHRASE".to_string(),
            };
            (p, source, false)
        }
        None => {
            let bytes = vault_data::crypto::generate::generate_secret(24, vault_data::Charset::Alphanumeric)?;
            let text = String::from_utf8_lossy(bytes.expose_secret()).into_owned();
            (vault_data::SecretString::from(text), "a generated passphrase".to_string(), true)
        }
    };
    if !ctx.json {
        eprintln!("Building a demo estate of {} services (seed {})…", args.services, args.seed);
    }
    let (mut vault, recovery) =
        Vault::create(&ctx.vault_dir, &passphrase, CreateOptions { kdf, ..Default::default() })?;
    let summary = vault.populate_demo(args.services, args.seed)?;
    vault.close()?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "path": ctx.vault_dir,
            "demo": true,
            "summary": summary,
            "recovery_key": recovery.0.expose_secret(),
            "passphrase_source": source,
            "passphrase": generated.then(|| passphrase.expose_secret().to_string()),
        }))
    } else {
        println!(
            "Demo vault (clearly marked as a demo) at {}: {} services, {} CAs, {} certificates, {} intents, {} credentials.",
            ctx.vault_dir.display(),
            summary.services,
            summary.cas,
            summary.certificates,
            summary.intents,
            summary.credentials
        );
        if generated {
            println!("Passphrase (generated for this demo): {}", passphrase.expose_secret());
        } else {
            println!("Passphrase: {source}");
        }
        println!("Try: keyloom --vault {} findings", ctx.vault_dir.display());
        Ok(())
    }
}
