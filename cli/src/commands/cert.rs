//! `cert issue | list | show | renew | revoke | import | verify`.

use vault_data::model::CertStatus;
use vault_data::pki::crl::Reason;
use vault_data::pki::KeyType;
use vault_data::{CertView, IssueRequest};

use crate::args::CertCmd;
use crate::context::{progress, table, when, Context};
use crate::error::{CliError, CliResult};

fn rows(list: &[CertView]) -> Vec<Vec<String>> {
    list.iter()
        .map(|c| {
            let names: Vec<String> =
                c.certificate.dns.iter().chain(&c.certificate.ips).chain(&c.certificate.uris).cloned().collect();
            let active = c.status == CertStatus::Active;
            let i = &c.certificate;
            let expiry = if active && c.expires_in_days <= 0 {
                format!("EXPIRED {}", when(i.not_after))
            } else if c.expiring {
                format!("{} ({} days!)", when(i.not_after), c.expires_in_days)
            } else {
                when(i.not_after)
            };
            vec![
                c.id.short(),
                c.service.clone().unwrap_or_else(|| c.certificate.common_name.clone().unwrap_or_default()),
                c.issuer_ca.clone().unwrap_or_else(|| "(external)".into()),
                format!("{:?}", c.status).to_lowercase(),
                expiry,
                names.join(","),
            ]
        })
        .collect()
}

fn print_cert(c: &CertView) {
    let i = &c.certificate;
    println!("id           {}", c.id);
    println!("service      {}", c.service.as_deref().unwrap_or("-"));
    println!(
        "status       {:?}{}",
        c.status,
        c.revocation.as_ref().map(|r| format!(" ({:?}, {})", r.reason, when(r.time))).unwrap_or_default()
    );
    println!("subject      {}", i.subject);
    println!("issuer       {}{}", i.issuer, c.issuer_ca.as_ref().map(|n| format!(" [{n}]")).unwrap_or_default());
    println!("serial       {}", i.serial);
    println!("valid        {} .. {} ({} days left)", when(i.not_before), when(i.not_after), c.expires_in_days);
    for d in &i.dns {
        println!("DNS          {d}");
    }
    for ip in &i.ips {
        println!("IP           {ip}");
    }
    for u in &i.uris {
        println!("URI          {u}");
    }
    let mut eku = Vec::new();
    if i.server_auth {
        eku.push("serverAuth");
    }
    if i.client_auth {
        eku.push("clientAuth");
    }
    println!("usage        {}", if eku.is_empty() { "-".into() } else { eku.join(", ") });
    println!("key          {}{}", i.key, if c.has_key { " (private key in the vault)" } else { "" });
    println!("signature    {}", i.signature_algorithm);
    println!("sha256       {}", i.sha256_fingerprint);
}

fn print_list(ctx: &Context, list: &[CertView], verb: &str) -> CliResult<()> {
    if ctx.json {
        ctx.print_json(&list)
    } else {
        println!("{verb} {} certificate(s)", list.len());
        if !list.is_empty() {
            println!("{}", table(&["id", "service", "ca", "status", "expires", "names"], rows(list)));
        }
        Ok(())
    }
}

fn parse_time(t: &str) -> CliResult<time::OffsetDateTime> {
    time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
        .map_err(|e| CliError::Usage(format!("{t:?} is not an RFC 3339 time such as 2027-01-01T00:00:00Z ({e})")))
}

pub fn run(ctx: &Context, cmd: CertCmd) -> CliResult<()> {
    let mut vault = ctx.open_unlocked()?;
    match cmd {
        CertCmd::Issue {
            service,
            ca,
            dns,
            ip,
            uri,
            server,
            client,
            validity_days,
            key_type,
            not_before,
            environment,
            missing,
        } => {
            let (server, client) = if !server && !client { (true, true) } else { (server, client) };
            let not_before = not_before.as_deref().map(parse_time).transpose()?;
            let req = IssueRequest {
                dns,
                ips: ip,
                uris: uri,
                server,
                client,
                validity_days,
                key_type: KeyType::parse(&key_type)?,
                not_before,
            };
            if missing {
                let env = environment.ok_or_else(|| CliError::Usage("--missing needs --env".into()))?;
                let bar = if ctx.json { indicatif::ProgressBar::hidden() } else { progress(0, "issuing") };
                let issued = vault.certs_mut().issue_missing(&ca, &env, &req, &|done, total| {
                    bar.set_length(total as u64);
                    bar.set_position(done as u64);
                })?;
                bar.finish_and_clear();
                print_list(ctx, &issued, "Issued")?;
            } else {
                let service = service.ok_or_else(|| CliError::Usage("say which --service".into()))?;
                let c = vault.certs_mut().issue(&service, &ca, &req)?;
                if ctx.json {
                    ctx.print_json(&c)?;
                } else {
                    println!(
                        "Issued {} a certificate from {ca}: {} (serial {}, until {})",
                        service,
                        c.id.short(),
                        c.certificate.serial,
                        when(c.certificate.not_after)
                    );
                }
            }
        }
        CertCmd::List { expiring_within } => {
            let within = expiring_within.map(vault_data::pki::expiry::window_days);
            let list = vault.certs().list(within)?;
            print_list(ctx, &list, "Listing")?;
        }
        CertCmd::Show { target, pem, chain } => {
            if pem {
                print!("{}", vault.certs().pem(&target, chain)?);
            } else {
                let c = vault.certs().get(&target)?;
                if ctx.json {
                    ctx.print_json(&c)?;
                } else {
                    print_cert(&c);
                }
            }
        }
        CertCmd::Renew { target, rotate_key, expiring_within } => match (target, expiring_within) {
            (Some(t), _) => {
                let c = vault.certs_mut().renew(&t, rotate_key)?;
                if ctx.json {
                    ctx.print_json(&c)?;
                } else {
                    println!(
                        "Renewed: new certificate {} until {}{}",
                        c.id.short(),
                        when(c.certificate.not_after),
                        if rotate_key { " with a new key" } else { "" }
                    );
                }
            }
            (None, Some(days)) => {
                let bar = if ctx.json { indicatif::ProgressBar::hidden() } else { progress(0, "renewing") };
                let list = vault.certs_mut().renew_expiring(
                    vault_data::pki::expiry::window_days(days),
                    rotate_key,
                    &|done, total| {
                        bar.set_length(total as u64);
                        bar.set_position(done as u64);
                    },
                )?;
                bar.finish_and_clear();
                print_list(ctx, &list, "Renewed")?;
            }
            (None, None) => return Err(CliError::Usage("say which certificate, or --expiring-within DAYS".into())),
        },
        CertCmd::Revoke { target, reason } => {
            let c = vault.certs_mut().revoke(&target, Reason::parse(&reason)?)?;
            if ctx.json {
                ctx.print_json(&c)?;
            } else {
                println!(
                    "Revoked certificate {} (serial {}); `keyloom ca crl` publishes it",
                    c.id.short(),
                    c.certificate.serial
                );
            }
        }
        CertCmd::Import { file, key, service } => {
            let cert = std::fs::read(&file).map_err(CliError::file("cannot read", &file))?;
            let key_bytes = zeroize::Zeroizing::new(std::fs::read(&key).map_err(CliError::file("cannot read", &key))?);
            let c = vault.certs_mut().import(
                &cert,
                &file.display().to_string(),
                &key_bytes,
                &key.display().to_string(),
                &service,
            )?;
            if ctx.json {
                ctx.print_json(&c)?;
            } else {
                println!(
                    "Imported certificate {} for {service} (issuer: {})",
                    c.id.short(),
                    c.issuer_ca.as_deref().unwrap_or(&c.certificate.issuer)
                );
            }
        }
        CertCmd::Remove { target, force } => {
            let r = vault.certs_mut().remove(&target, force)?;
            if ctx.json {
                ctx.print_json(&r)?;
            } else {
                let short = &r.id[..r.id.len().min(8)];
                if r.revoked {
                    println!("Revoked certificate {short} (serial {})", r.serial);
                }
                if r.kept_for_crl {
                    println!(
                        "Removed the private key of certificate {short}; its record stays, revoked, because its CA's CRL \
                         lists it until it expires"
                    );
                } else {
                    println!("Removed certificate {short} (serial {})", r.serial);
                }
            }
        }
        CertCmd::Verify { target, at } => {
            let at = at.as_deref().map(parse_time).transpose()?;
            let path = std::path::Path::new(&target);
            let report = if path.is_file() {
                let bytes = std::fs::read(path).map_err(CliError::file("cannot read", path))?;
                let ders = vault_data::pki::import::parse_certificates(&bytes, &target)?;
                // The first certificate is checked; the others in the file may serve as its chain.
                vault.certs().verify_with(&ders[0], &ders[1..], at)?
            } else {
                vault.certs().verify_stored(&target, at)?
            };
            if ctx.json {
                ctx.print_json(&report)?;
            } else if report.ok {
                for (usage, r) in [("server", &report.server), ("client", &report.client)] {
                    match r {
                        Some(None) => println!("{usage}: OK (chain: {})", report.chain.join(" -> ")),
                        Some(Some(why)) => println!("{usage}: FAILED: {why}"),
                        None => {}
                    }
                }
            }
            if !report.ok {
                vault.close()?;
                // One line on stderr: what failed and why, so a script's log says it all.
                let why: Vec<String> = [("server", &report.server), ("client", &report.client)]
                    .iter()
                    .filter_map(|(usage, r)| r.as_ref().and_then(|r| r.as_ref()).map(|why| format!("{usage}: {why}")))
                    .collect();
                return Err(CliError::Usage(format!("{target} does not verify: {}", why.join("; "))));
            }
        }
    }
    vault.close()
}

/// `pins SERVICE --format curl|okhttp|envoy` (or `--json`).
pub fn pins(ctx: &Context, service: &str, format: &str) -> CliResult<()> {
    let vault = ctx.open_unlocked()?;
    let set = vault.certs().pins(service)?;
    if ctx.json {
        ctx.print_json(&set)?;
    } else {
        print!("{}", set.render(vault_data::PinFormat::parse(format)?));
        if set.next.is_none() {
            eprintln!("warning: {service} has no next key yet: a client pinning only this set breaks at its next key rotation");
        }
    }
    vault.close()
}
