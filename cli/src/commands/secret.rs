//! `secret set | generate | get | history | list | remove | rename | import`.

use vault_data::{Charset, ExposeSecret, NewSecret, SecretOptions, SecretRef, SecretSlice, SecretSummary};

use crate::args::{SecretCmd, SecretPolicy};
use crate::context::{table, when, Context};
use crate::error::{CliError, CliResult};
use crate::secret_input;

fn options(p: SecretPolicy) -> SecretOptions {
    SecretOptions { target: p.target, rotate_days: p.rotate_days }
}

fn print_stored(ctx: &Context, s: &SecretSummary, verb: &str) -> CliResult<()> {
    if ctx.json {
        ctx.print_json(s)
    } else {
        println!("{verb} {}/{} version {}", s.service, s.name, s.current_version);
        Ok(())
    }
}

pub fn run(ctx: &Context, cmd: SecretCmd) -> CliResult<()> {
    let mut vault = ctx.open_unlocked()?;
    match cmd {
        SecretCmd::Set { reference, policy, from_file, keep_newline } => {
            let r: SecretRef = reference.parse()?;
            // Check the service and name before reading a value, so a typo fails before the user types.
            vault.secrets().check_reference(&r)?;
            let value = secret_input::secret_value(from_file.as_deref(), keep_newline)?;
            let s = vault.secrets_mut().set(&r, &SecretSlice::from(value.to_vec()), options(policy))?;
            print_stored(ctx, &s, "Stored")?;
        }
        SecretCmd::Generate { reference, length, charset, policy } => {
            let r: SecretRef = reference.parse()?;
            let s = vault.secrets_mut().generate(&r, length, Charset::parse(&charset)?, options(policy))?;
            print_stored(ctx, &s, "Generated")?;
        }
        SecretCmd::Get { reference, version, no_newline } => {
            let r: SecretRef = reference.parse()?;
            let value = vault.secrets_mut().reveal(&r, version)?;
            let bytes = value.expose_secret();
            if ctx.json {
                let v = match std::str::from_utf8(bytes) {
                    Ok(s) => serde_json::json!({ "reference": r.to_string(), "value": s }),
                    Err(_) => {
                        serde_json::json!({ "reference": r.to_string(), "value_hex": hex_encode(bytes) })
                    }
                };
                ctx.print_json(&v)?;
            } else {
                let mut line = zeroize::Zeroizing::new(bytes.to_vec());
                if !no_newline {
                    line.push(b'\n');
                }
                crate::output::write_stdout_bytes(&line)
                    .map_err(|e| CliError::Usage(format!("cannot write to stdout: {e}")))?;
            }
        }
        SecretCmd::History { reference } => {
            let r: SecretRef = reference.parse()?;
            let c = vault.secrets().history(&r)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({
                    "reference": r.to_string(),
                    "target": c.target,
                    "rotate_days": c.rotate_days,
                    "versions": c.versions.iter().map(|v| serde_json::json!({
                        "version": v.version,
                        "created": when(v.created),
                        "length": v.length,
                        "generated": v.generated,
                    })).collect::<Vec<_>>(),
                }))?;
            } else {
                let rows = c
                    .versions
                    .iter()
                    .rev()
                    .map(|v| {
                        vec![
                            v.version.to_string(),
                            when(v.created),
                            v.length.to_string(),
                            if v.generated { "generated" } else { "set" }.into(),
                        ]
                    })
                    .collect();
                println!("{}", table(&["version", "created", "length", "how"], rows));
            }
        }
        SecretCmd::List { service } => {
            let list = vault.secrets().list(service.as_deref())?;
            if ctx.json {
                ctx.print_json(&list)?;
            } else {
                let rows = list
                    .iter()
                    .map(|s| {
                        let due = match s.rotation_due {
                            Some(d) if s.rotation_overdue => format!("OVERDUE since {}", when(d)),
                            Some(d) => when(d),
                            None => "-".into(),
                        };
                        vec![
                            format!("{}/{}", s.service, s.name),
                            s.target.clone().unwrap_or_default(),
                            s.current_version.to_string(),
                            when(s.updated),
                            due,
                        ]
                    })
                    .collect();
                println!("{}", table(&["secret", "target", "version", "updated", "rotation due"], rows));
                println!("{} secret(s)", list.len());
            }
        }
        SecretCmd::Remove { reference } => {
            let r: SecretRef = reference.parse()?;
            vault.secrets_mut().remove(&r)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "removed": r.to_string() }))?;
            } else {
                println!("Removed {r} and all its versions");
            }
        }
        SecretCmd::Rename { reference, new_name } => {
            let r: SecretRef = reference.parse()?;
            let s = vault.secrets_mut().rename(&r, &new_name)?;
            if ctx.json {
                ctx.print_json(&s)?;
            } else {
                println!("Renamed {r} to {}/{} ({} version(s) kept)", s.service, s.name, s.versions);
            }
        }
        SecretCmd::Edit { reference, target, no_target, rotate_days, no_rotation } => {
            let r: SecretRef = reference.parse()?;
            // Fields not named on the command line keep their current value.
            let current = vault.secrets().history(&r)?;
            let policy = vault_data::SecretPolicy {
                target: if no_target { None } else { target.or(current.target) },
                rotate_days: if no_rotation { None } else { rotate_days.or(current.rotate_days) },
            };
            let s = vault.secrets_mut().set_policy(&r, policy)?;
            if ctx.json {
                ctx.print_json(&s)?;
            } else {
                println!(
                    "{r}: target {}, rotation {}",
                    s.target.as_deref().unwrap_or("none"),
                    s.rotate_days.map_or("none".to_string(), |d| format!("every {d} days"))
                );
            }
        }
        SecretCmd::Import { service, file, policy } => {
            vault.services().get(&service)?;
            let opts = options(policy);
            // Keyloom's own strict dialect (vault_data::export::envparse): nothing substituted,
            // nothing guessed, errors with file:line and never a value.
            let entries = vault_data::export::envparse::read_file(&file)?;
            let secrets: Vec<NewSecret> = entries
                .into_iter()
                .map(|mut e| NewSecret {
                    reference: SecretRef { service: service.clone(), name: e.name },
                    value: SecretSlice::from(std::mem::take(&mut *e.value)),
                    options: opts.clone(),
                    set_at: None,
                })
                .collect();
            if secrets.is_empty() {
                return Err(CliError::Usage(format!("{} holds no NAME=value lines", file.display())));
            }
            let stored = vault.secrets_mut().import(&secrets)?;
            if ctx.json {
                ctx.print_json(&stored)?;
            } else {
                println!("Imported {} secret(s) into {service}", stored.len());
            }
        }
    }
    vault.close()
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
