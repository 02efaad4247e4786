//! `remote add | list | status | remove | identity | member add|remove|list`, `push`, `pull`, `sync`,
//! `conflicts list | resolve`.

use vault_data::{RemoteLogin, RemoteSpec, SealedSpec, SecretRef, SecretString, SyncMode, SyncReport, Take};

use crate::args::{ConflictsCmd, MemberCmd, RemoteAddArgs, RemoteCmd, SyncArgs, TakeArg};
use crate::context::{progress, table, Context};
use crate::error::{CliError, CliResult};

/// The variables a token is read from, in order (OpenBao's, then Vault's).
pub const TOKEN_VARIABLES: [&str; 2] = ["BAO_TOKEN", "VAULT_TOKEN"];

fn read_secret_file(path: &std::path::Path) -> CliResult<SecretString> {
    let bytes = zeroize::Zeroizing::new(std::fs::read(path).map_err(CliError::file("cannot read", path))?);
    let text = std::str::from_utf8(&bytes).map_err(|_| CliError::Usage(format!("{} is not text", path.display())))?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(CliError::Usage(format!("{} is empty", path.display())));
    }
    Ok(SecretString::from(trimmed.to_string()))
}

pub fn run(ctx: &Context, cmd: RemoteCmd) -> CliResult<()> {
    let mut vault = ctx.open_unlocked()?;
    match cmd {
        RemoteCmd::Add(args) => {
            let RemoteAddArgs {
                name,
                addr,
                kv_mount,
                prefix,
                ca_file,
                namespace,
                token_file,
                role_id,
                secret_id_file,
                approle_mount,
                insecure_http,
                sealed,
                recipients,
                with_tls,
            } = *args;
            let sealed = SealedSpec::from_options(sealed, recipients, with_tls)?;
            let login = match (role_id, secret_id_file, token_file) {
                (Some(role_id), Some(file), _) => {
                    RemoteLogin::AppRole { mount: approle_mount, role_id, secret_id: read_secret_file(&file)? }
                }
                (_, _, Some(file)) => RemoteLogin::Token(read_secret_file(&file)?),
                _ => {
                    let token = TOKEN_VARIABLES
                        .iter()
                        .find_map(|v| crate::output::env_var(v).filter(|t| !t.trim().is_empty()))
                        .ok_or_else(|| {
                            CliError::Usage(
                                "no token: set BAO_TOKEN (or VAULT_TOKEN), pass --token-file, or log in with \
                                 --role-id and --secret-id-file"
                                    .into(),
                            )
                        })?;
                    RemoteLogin::Token(SecretString::from(token.trim().to_string()))
                }
            };
            let ca_pem = match &ca_file {
                Some(f) => Some(std::fs::read(f).map_err(CliError::file("cannot read", f))?),
                None => None,
            };
            let spec = RemoteSpec { name, addr, kv_mount, prefix, namespace, ca_pem, insecure_http, login, sealed };
            let view = vault.remotes_mut().add(spec)?;
            if ctx.json {
                ctx.print_json(&view)?;
            } else {
                println!(
                    "Remote added: {} ({}, KV mount {}, prefix {}); its token is sealed in the vault",
                    view.name, view.addr, view.kv_mount, view.prefix
                );
                if view.sealed.is_some() {
                    let me = vault.remotes().identity(&view.name)?;
                    println!("Sealed: the server gets only ciphertext signed by this vault. Give teammates:");
                    println!("  --recipient {} --signing-key {}", me.recipient, me.signing_key);
                }
                println!("Check it with: keyloom remote status {}", view.name);
            }
        }
        RemoteCmd::List => {
            let list = vault.remotes().list()?;
            if ctx.json {
                ctx.print_json(&list)?;
            } else {
                let rows = list
                    .iter()
                    .map(|r| {
                        vec![
                            r.name.clone(),
                            r.addr.clone(),
                            format!("{}/{}", r.kv_mount, r.prefix),
                            r.auth.to_string(),
                            r.synced_services.to_string(),
                            r.conflicts.to_string(),
                            r.last_sync.clone().unwrap_or_else(|| "never".into()),
                        ]
                    })
                    .collect();
                println!("{}", table(&["name", "address", "path", "auth", "services", "conflicts", "last sync"], rows));
            }
        }
        RemoteCmd::Status { name } => {
            let st = vault.remotes().status(&name)?;
            if ctx.json {
                ctx.print_json(&st)?;
            } else {
                println!("remote     {} ({})", st.remote.name, st.remote.addr);
                match &st.server {
                    Some(s) => println!(
                        "server     {} {}{}",
                        s.version,
                        if s.sealed { "sealed" } else { "unsealed" },
                        if s.standby { ", standby" } else { "" }
                    ),
                    None => println!("server     unreachable"),
                }
                if let Some(ttl) = st.token_ttl {
                    let ttl = if ttl == 0 {
                        "no expiry".to_string()
                    } else {
                        humantime::format_duration(std::time::Duration::from_secs(ttl)).to_string()
                    };
                    println!("token      {ttl}; policies {}", st.policies.join(", "));
                }
                println!(
                    "synced     {} service(s), last {}; {} open conflict(s)",
                    st.remote.synced_services,
                    st.remote.last_sync.as_deref().unwrap_or("never"),
                    st.remote.conflicts
                );
            }
            if let Some(problem) = st.problem {
                vault.close()?;
                return Err(CliError::Usage(shown(&problem)));
            }
        }
        RemoteCmd::Identity { name } => {
            let me = vault.remotes().identity(&name)?;
            if ctx.json {
                ctx.print_json(&me)?;
            } else {
                println!("recipient    {}", me.recipient);
                println!("signing key  {}", me.signing_key);
                println!("Teammates pin this vault with:");
                println!(
                    "  keyloom remote member add {} NAME --recipient {} --signing-key {}",
                    me.remote, me.recipient, me.signing_key
                );
            }
        }
        RemoteCmd::Member(MemberCmd::Add { remote, name, recipient, signing_key }) => {
            let m = vault.remotes_mut().add_member(&remote, &name, recipient.as_deref(), signing_key.as_deref())?;
            if ctx.json {
                ctx.print_json(&m)?;
            } else {
                let what = match (&m.recipient, &m.signing_key) {
                    (Some(_), Some(_)) => "values are encrypted to them, and theirs are accepted",
                    (Some(_), None) => "values are encrypted to them (they cannot author)",
                    _ => "values they sign are accepted (they cannot read)",
                };
                println!("Member {} added to {remote}: {what}; push to encrypt existing values to them", m.name);
            }
        }
        RemoteCmd::Member(MemberCmd::Remove { remote, name }) => {
            let r = vault.remotes_mut().remove_member(&remote, &name)?;
            if ctx.json {
                ctx.print_json(&r)?;
            } else {
                println!(
                    "Member {} removed from {remote}: {} secret(s) re-encrypted to the members left",
                    r.member,
                    r.reencrypted.len()
                );
                if !r.to_rotate.is_empty() {
                    println!("They could read these; rotate them: {}", r.to_rotate.join(", "));
                }
                for f in &r.failed {
                    println!("not re-encrypted: {}: {}", shown(&f.path), shown(&f.problem));
                }
            }
        }
        RemoteCmd::Member(MemberCmd::List { remote }) => {
            let list = vault.remotes().members(&remote)?;
            if ctx.json {
                ctx.print_json(&list)?;
            } else {
                let rows = list
                    .iter()
                    .map(|m| {
                        vec![
                            m.name.clone(),
                            m.recipient.clone().unwrap_or_else(|| "-".into()),
                            m.signing_key.clone().unwrap_or_else(|| "-".into()),
                        ]
                    })
                    .collect();
                println!("{}", table(&["name", "recipient", "signing key"], rows));
            }
        }
        RemoteCmd::Remove { name } => {
            vault.remotes_mut().remove(&name)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "removed": name }))?;
            } else {
                println!("Remote removed here: {name} (nothing on the server changed)");
            }
        }
    }
    vault.close()
}

pub fn sync(ctx: &Context, args: SyncArgs, mode: SyncMode) -> CliResult<()> {
    let mut vault = ctx.open_unlocked()?;
    let what = match mode {
        SyncMode::Pull => "pulling",
        SyncMode::Push => "pushing",
        SyncMode::Sync => "syncing",
    };
    let bar = if ctx.json { indicatif::ProgressBar::hidden() } else { progress(0, what) };
    let report =
        vault.remotes_mut().sync(&args.remote, mode, args.environment.as_deref(), args.dry_run, &|done, total| {
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        })?;
    bar.finish_and_clear();
    vault.close()?;
    if ctx.json {
        ctx.print_json(&report)?;
    } else {
        print_report(&report);
    }
    if !report.failures.is_empty() {
        return Err(CliError::SyncIncomplete(report.failures.len()));
    }
    if mode == SyncMode::Sync && !report.conflicts.is_empty() {
        return Err(CliError::Conflicts(report.conflicts.len()));
    }
    Ok(())
}

/// Text the server chose (paths, its error strings), with control characters shown as `?` so a
/// hostile server cannot drive the terminal.
fn shown(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

fn print_report(r: &SyncReport) {
    let verb = if r.dry_run { "would " } else { "" };
    for item in &r.items {
        let mut parts = Vec::new();
        for (label, list) in [
            ("push", &item.pushed),
            ("pull", &item.pulled),
            ("remove there", &item.removed_remote),
            ("remove here", &item.removed_local),
            ("conflict", &item.conflicts),
        ] {
            if !list.is_empty() {
                parts.push(format!("{verb}{label} {}", list.join(", ")));
            }
        }
        if item.created {
            parts.insert(0, format!("{verb}create the service here"));
        }
        if let Some(from) = &item.moved_from {
            parts.push(format!("{verb}move from {from}"));
        }
        println!(
            "{}/{} ({} v{}): {}",
            item.environment,
            item.service,
            item.path,
            item.remote_version,
            parts.join("; ")
        );
    }
    for t in &r.tls {
        println!("{}: certificate {} {} (with its key, sealed)", t.service, t.serial, t.action);
    }
    for s in &r.skipped {
        println!("skipped {}: {}", shown(&s.path), shown(&s.problem));
    }
    for f in &r.failures {
        eprintln!("failed {}: {}", shown(&f.path), shown(&f.problem));
    }
    for c in &r.conflicts {
        let theirs =
            c.remote_value_version.map_or_else(|| "deleted there".to_string(), |v| format!("theirs is version {v}"));
        println!(
            "conflict {} with {}: yours is version {}, {theirs}; keyloom conflicts resolve {} --take local|remote",
            c.secret, c.remote, c.local_version, c.secret
        );
    }
    println!(
        "{} {} service(s) with {}: {} changed{}, {} conflict(s), {} failed",
        if r.dry_run { "Checked" } else { "Synced" },
        r.checked,
        r.remote,
        r.items.len(),
        if r.dry_run { " (dry run: nothing written)" } else { "" },
        r.conflicts.len(),
        r.failures.len()
    );
}

pub fn conflicts(ctx: &Context, cmd: ConflictsCmd) -> CliResult<()> {
    let mut vault = ctx.open_unlocked()?;
    match cmd {
        ConflictsCmd::List => {
            let list = vault.remotes().conflicts()?;
            if ctx.json {
                ctx.print_json(&list)?;
            } else {
                let rows = list
                    .iter()
                    .map(|c| {
                        vec![
                            c.secret.clone(),
                            c.remote.clone(),
                            c.local_version.to_string(),
                            c.remote_value_version.map_or_else(|| "deleted".into(), |v| v.to_string()),
                            c.remote_version.to_string(),
                        ]
                    })
                    .collect();
                println!(
                    "{}",
                    table(&["secret", "remote", "yours (version)", "theirs (version)", "server version"], rows)
                );
                println!(
                    "{} conflict(s); keep one side with: keyloom conflicts resolve SERVICE/NAME --take local|remote",
                    list.len()
                );
            }
        }
        ConflictsCmd::Resolve { secret, take, remote } => {
            let reference: SecretRef = secret.parse()?;
            let take = match take {
                TakeArg::Local => Take::Local,
                TakeArg::Remote => Take::Remote,
            };
            let view = vault.remotes_mut().resolve(&reference, remote.as_deref(), take)?;
            if ctx.json {
                ctx.print_json(&view)?;
            } else {
                let side = if take == Take::Local { "yours" } else { "theirs" };
                let deleted = match take {
                    Take::Local => view.local_version == 0,
                    Take::Remote => view.remote_value_version.is_none(),
                };
                if deleted {
                    println!(
                        "Resolved {} with {}: kept the deletion ({side}); the credential is removed here.",
                        view.secret, view.remote
                    );
                } else {
                    println!(
                        "Resolved {} with {}: kept {side}; both values stay in its history. Run `keyloom push {}` to write it there.",
                        view.secret, view.remote, view.remote
                    );
                }
            }
        }
    }
    vault.close()
}
