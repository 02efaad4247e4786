//! `audit list | verify | export`.

use std::io::Write;

use crate::args::AuditCmd;
use crate::context::{table, when, Context};
use crate::error::{CliError, CliResult};

pub fn run(ctx: &Context, cmd: AuditCmd) -> CliResult<()> {
    let vault = ctx.open_unlocked()?;
    match cmd {
        AuditCmd::Head { check: None } => {
            let head = vault.signed_audit_head()?;
            if ctx.json {
                ctx.print_json(&head)?;
            } else {
                println!("entry      #{}", head.seq);
                println!("hash       {}", head.hash);
                println!("signed at  {}", when(head.signed_at));
                println!("(keep `keyloom audit head --json` output outside the vault folder; `--check FILE` later)");
            }
        }
        AuditCmd::Head { check: Some(file) } => {
            let text = std::fs::read(&file).map_err(CliError::file("cannot read", &file))?;
            let anchored: vault_data::audit::signed_head::SignedHead = serde_json::from_slice(&text).map_err(|_| {
                CliError::Usage(format!("{} is not a head saved by `keyloom audit head --json`", file.display()))
            })?;
            vault.check_audit_head(&anchored)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "ok": true, "seq": anchored.seq }))?;
            } else {
                println!(
                    "OK: entry #{} is still in the history with the anchored hash, and the chain verifies.",
                    anchored.seq
                );
            }
        }
        AuditCmd::List { limit, action } => {
            let mut entries = vault.audit_entries()?;
            entries.reverse();
            if let Some(a) = &action {
                entries.retain(|e| e.action.starts_with(a.as_str()));
            }
            if let Some(n) = limit {
                entries.truncate(n);
            }
            if ctx.json {
                ctx.print_json(&entries)?;
            } else {
                let rows = entries
                    .iter()
                    .map(|e| {
                        let objs: Vec<_> = e.objects.iter().map(|o| o.name.as_str()).collect();
                        vec![
                            e.seq.to_string(),
                            when(e.time),
                            e.user.clone(),
                            e.action.clone(),
                            format!("{:?}", e.outcome).to_lowercase(),
                            objs.join(", "),
                            e.detail.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                println!("{}", table(&["#", "time", "user", "action", "outcome", "objects", "detail"], rows));
            }
        }
        AuditCmd::Verify => {
            let report = vault.verify_audit()?;
            if ctx.json {
                ctx.print_json(&report)?;
            } else if report.ok {
                println!("Audit chain OK: {} entries, head #{}", report.entries, report.head_seq);
            } else if let Some(p) = &report.first_problem {
                println!("Audit chain BROKEN at entry #{}: {}", p.seq, p.problem);
            }
            if !report.ok {
                let p = report.first_problem.map(|p| format!("entry #{}: {}", p.seq, p.problem)).unwrap_or_default();
                return Err(CliError::CheckFailed(format!("the audit chain is broken at {p}")));
            }
        }
        AuditCmd::Export { format: _, out } => {
            let entries = vault.audit_entries()?;
            let mut buf = Vec::new();
            for e in &entries {
                serde_json::to_writer(&mut buf, e).map_err(|e| CliError::Usage(e.to_string()))?;
                buf.push(b'\n');
            }
            match out {
                Some(path) => {
                    let mut f = std::fs::OpenOptions::new();
                    std::os::unix::fs::OpenOptionsExt::mode(f.write(true).create_new(true), 0o600);
                    let mut file = f.open(&path).map_err(CliError::file("cannot create", &path))?;
                    file.write_all(&buf)
                        .and_then(|_| file.sync_all())
                        .map_err(CliError::file("cannot write", &path))?;
                    eprintln!("Exported {} entries to {}", entries.len(), path.display());
                }
                None => crate::output::write_stdout_bytes(&buf).map_err(|e| CliError::Usage(e.to_string()))?,
            }
        }
    }
    vault.close()
}
