//! `ca create | list | show | import | link | rename | remove | crl | sign-csr`.

use vault_data::pki::{CaSpec, KeyType, NameConstraintsSpec};
use vault_data::CaView;

use crate::args::CaCmd;
use crate::context::{table, when, write_new_file, Context};
use crate::error::{CliError, CliResult};

fn print_ca(ca: &CaView) {
    let c = &ca.certificate;
    println!("name         {}", ca.name);
    println!("id           {}", ca.id);
    println!(
        "kind         {}{}",
        if ca.parent.is_some() || !c.self_issued { "intermediate" } else { "root" },
        if ca.trust_only { " (trust only: no key in the vault)" } else { "" }
    );
    if let Some(l) = &ca.linked {
        println!("linked       remote {}, {}/sign/{} (the key stays in the server)", l.remote, l.pki_mount, l.role);
    }
    if let Some(p) = &ca.parent {
        println!("parent       {p}");
    }
    println!("subject      {}", c.subject);
    println!("issuer       {}", c.issuer);
    println!("key          {}", c.key);
    println!("signature    {}", c.signature_algorithm);
    println!("serial       {}", c.serial);
    println!("valid        {} .. {}", when(c.not_before), when(c.not_after));
    if let Some(p) = ca.path_len {
        println!("path length  {p}");
    }
    for d in &ca.constraints.dns {
        println!("permit DNS   {d}");
    }
    for u in &ca.constraints.uri {
        println!("permit URI   {u}");
    }
    println!("sha256       {}", c.sha256_fingerprint);
    println!("issued       {} certificate(s), {} revoked", ca.issued, ca.revoked);
}

pub fn run(ctx: &Context, cmd: CaCmd) -> CliResult<()> {
    let mut vault = ctx.open_unlocked()?;
    match cmd {
        CaCmd::Create { name, key_type, validity_days, parent, permit_dns, permit_uri, permit_ip, path_len } => {
            let spec = CaSpec {
                name,
                key_type: KeyType::parse(&key_type)?,
                validity_days,
                path_len,
                constraints: NameConstraintsSpec { dns: permit_dns, uri: permit_uri, ip: permit_ip },
            };
            let ca = vault.cas_mut().create(spec, parent.as_deref())?;
            if ctx.json {
                ctx.print_json(&ca)?;
            } else {
                println!(
                    "Created CA {} ({}, valid until {})",
                    ca.name,
                    ca.certificate.key,
                    when(ca.certificate.not_after)
                );
            }
        }
        CaCmd::List => {
            let list = vault.cas().list()?;
            if ctx.json {
                ctx.print_json(&list)?;
            } else {
                let rows = list
                    .iter()
                    .map(|c| {
                        vec![
                            c.name.clone(),
                            c.parent.clone().unwrap_or_else(|| {
                                if c.certificate.self_issued {
                                    "(root)".into()
                                } else {
                                    "(external)".into()
                                }
                            }),
                            c.certificate.key.clone(),
                            when(c.certificate.not_after),
                            match (&c.linked, c.trust_only) {
                                (Some(l), _) => format!("signs on {}", l.remote),
                                (None, true) => "trust only".into(),
                                (None, false) => "signs".into(),
                            },
                            c.issued.to_string(),
                        ]
                    })
                    .collect();
                println!("{}", table(&["name", "parent", "key", "expires", "role", "issued"], rows));
                println!("{} CA(s)", list.len());
            }
        }
        CaCmd::Show { name, pem } => {
            if pem {
                print!("{}", vault.cas().pem(&name)?);
            } else {
                let ca = vault.cas().get(&name)?;
                if ctx.json {
                    ctx.print_json(&ca)?;
                } else {
                    print_ca(&ca);
                }
            }
        }
        CaCmd::Import { file, anchor } => {
            let bytes = std::fs::read(&file).map_err(CliError::file("cannot read", &file))?;
            let added = vault.cas_mut().import_as(&bytes, &file.display().to_string(), anchor)?;
            if ctx.json {
                ctx.print_json(&added)?;
            } else {
                let how = if anchor { ", as trust anchors," } else { "" };
                println!("Imported {} CA certificate(s){how} for trust only from {}", added.len(), file.display());
            }
        }
        CaCmd::Link { name, remote, pki_mount, role } => {
            let ca = vault.cas_mut().link(&name, &remote, &pki_mount, &role)?;
            if ctx.json {
                ctx.print_json(&ca)?;
            } else {
                println!(
                    "Linked CA {} to {pki_mount}/sign/{role} on remote {remote} (subject {}, valid until {})",
                    ca.name,
                    ca.certificate.subject,
                    when(ca.certificate.not_after)
                );
            }
        }
        CaCmd::Rename { name, new_name } => {
            let ca = vault.cas_mut().rename(&name, &new_name)?;
            if ctx.json {
                ctx.print_json(&ca)?;
            } else {
                println!("Renamed CA {name} to {} (subject {})", ca.name, ca.certificate.subject);
            }
        }
        CaCmd::Remove { name, force } => {
            let r = vault.cas_mut().remove(&name, force)?;
            if ctx.json {
                ctx.print_json(&r)?;
            } else {
                println!("Removed CA {}", r.ca);
                if !r.untrusted_by.is_empty() {
                    println!("  no longer trusted by: {}", r.untrusted_by.join(", "));
                }
                if !r.revoked.is_empty() {
                    println!("  revoked {} certificate(s) it had issued", r.revoked.len());
                }
            }
        }
        CaCmd::Crl { name, out, der } => {
            let crl = vault.cas_mut().issue_crl(&name)?;
            let bytes = if der { crl } else { vault_data::to_pem("X509 CRL", &crl).into_bytes() };
            write_new_file(&out, &bytes, vault_data::export::bundle::PUBLIC_MODE)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "ca": name, "out": out }))?;
            } else {
                println!("Wrote the CRL of {name} to {}", out.display());
            }
        }
        CaCmd::SignCsr { name, csr, out, validity_days, server, client } => {
            let bytes = std::fs::read(&csr).map_err(CliError::file("cannot read", &csr))?;
            let (server, client) = if !server && !client { (true, false) } else { (server, client) };
            let der = vault.cas_mut().sign_csr_for(&name, &bytes, validity_days, server, client)?;
            write_new_file(
                &out,
                vault_data::to_pem("CERTIFICATE", &der).as_bytes(),
                vault_data::export::bundle::PUBLIC_MODE,
            )?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "ca": name, "out": out }))?;
            } else {
                println!("Signed {} with {name}; certificate written to {}", csr.display(), out.display());
            }
        }
    }
    vault.close()
}
