//! `service add | list | show | edit | remove | rename | import`.

use std::collections::BTreeMap;

use vault_data::{parse_tag, ServiceSpec, ServiceUpdate};

use crate::args::ServiceCmd;
use crate::context::{table, when, Context};
use crate::error::{CliError, CliResult};

fn tags(raw: &[String]) -> CliResult<BTreeMap<String, String>> {
    Ok(raw.iter().map(|t| parse_tag(t)).collect::<Result<_, _>>()?)
}

pub fn run(ctx: &Context, cmd: ServiceCmd) -> CliResult<()> {
    let mut vault = ctx.open_unlocked()?;
    match cmd {
        ServiceCmd::Add { name, environment, owner, tags: t, spiffe_id } => {
            let svc = vault.services_mut().add(ServiceSpec { name, environment, owner, tags: tags(&t)?, spiffe_id })?;
            if ctx.json {
                ctx.print_json(&svc)?;
            } else {
                println!("Added service {} ({}) [{}]", svc.name, svc.environment, svc.id.short());
            }
        }
        ServiceCmd::List => {
            let list = vault.services().list()?;
            if ctx.json {
                ctx.print_json(&list)?;
            } else if list.is_empty() {
                println!("No services yet: add one with `keyloom service add NAME --env ENV`.");
            } else {
                let rows = list
                    .iter()
                    .map(|s| {
                        let tags: Vec<_> = s.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
                        vec![
                            s.name.clone(),
                            s.environment.clone(),
                            s.owner.clone().unwrap_or_default(),
                            tags.join(","),
                            s.spiffe_id.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                println!("{}", table(&["name", "env", "owner", "tags", "spiffe id"], rows));
                println!("{} service(s)", list.len());
            }
        }
        ServiceCmd::Import { file } => {
            let text = if file.as_os_str() == "-" {
                let mut s = String::new();
                std::io::Read::read_to_string(&mut crate::output::stdin(), &mut s)
                    .map_err(|e| CliError::Usage(format!("cannot read stdin: {e}")))?;
                s
            } else {
                std::fs::read_to_string(&file).map_err(CliError::file("cannot read", &file))?
            };
            let specs: Vec<ServiceSpec> = serde_json::from_str(&text)
                .map_err(|e| CliError::Usage(format!("{}: not a JSON array of services ({e})", file.display())))?;
            let added = vault.services_mut().add_many(specs)?;
            if ctx.json {
                ctx.print_json(&added)?;
            } else {
                println!("Added {} service(s)", added.len());
            }
        }
        ServiceCmd::Show { name } => {
            let svc = vault.services().get(&name)?;
            let secrets = vault.secrets().list(Some(&name))?;
            let intents = vault.intents().list(Some(&name))?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "service": svc, "secrets": secrets, "intents": intents }))?;
            } else {
                println!("name       {}", svc.name);
                println!("id         {}", svc.id);
                println!("env        {}", svc.environment);
                println!("owner      {}", svc.owner.as_deref().unwrap_or("-"));
                for (k, v) in &svc.tags {
                    println!("tag        {k}={v}");
                }
                println!("spiffe id  {}", svc.spiffe_id.as_deref().unwrap_or("-"));
                println!("created    {}", when(svc.created));
                println!("updated    {}", when(svc.updated));
                for s in &secrets {
                    println!(
                        "secret     {} (v{}{})",
                        s.name,
                        s.current_version,
                        s.target.as_ref().map(|t| format!(", grants {t}")).unwrap_or_default()
                    );
                }
                for i in &intents {
                    println!("intent     {} -> {}", i.from, i.to);
                }
            }
        }
        ServiceCmd::Edit { name, environment, owner, tags: t, untag, spiffe_id } => {
            let update = ServiceUpdate {
                environment,
                owner: owner.map(|o| if o.is_empty() { None } else { Some(o) }),
                set_tags: tags(&t)?,
                remove_tags: untag,
                spiffe_id: spiffe_id.map(|s| if s.is_empty() { None } else { Some(s) }),
            };
            let svc = vault.services_mut().update(&name, update)?;
            if ctx.json {
                ctx.print_json(&svc)?;
            } else {
                println!("Updated service {}", svc.name);
            }
        }
        ServiceCmd::Rename { name, new_name } => {
            let svc = vault.services_mut().rename(&name, &new_name)?;
            if ctx.json {
                ctx.print_json(&svc)?;
            } else {
                println!("Renamed service {name} to {} [{}]", svc.name, svc.id.short());
            }
        }
        ServiceCmd::Remove { name, force } => {
            let removal = vault.services_mut().remove(&name, force)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({
                    "removed": removal.service,
                    "secrets": removal.secrets,
                    "intents": removal.intents,
                    "revoked": removal.revoked,
                }))?;
            } else {
                println!("Removed service {}", removal.service);
                for s in &removal.secrets {
                    println!("  removed secret {}/{s}", removal.service);
                }
                for i in &removal.intents {
                    println!("  removed intent {i}");
                }
                for c in &removal.revoked {
                    println!("  revoked certificate {} (serial {}, reason cessation-of-operation)", c.id, c.serial);
                }
            }
        }
    }
    vault.close()
}
