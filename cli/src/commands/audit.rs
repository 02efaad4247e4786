//! `audit list | verify | export`.

use std::io::Write;

use crate::args::AuditCmd;
use crate::context::{table, when, Context};
use crate::error::{CliError, CliResult};

pub fn run(ctx: &Context, cmd: AuditCmd) -> CliResult<()> {
    if let AuditCmd::Export { follow: true, since, interval, .. } = cmd {
        return follow(ctx, since.unwrap_or(0), interval);
    }
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
        AuditCmd::Export { out, since, .. } => {
            let mut entries = vault.audit_entries()?;
            entries.retain(|e| e.seq > since.unwrap_or(0));
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

/// `audit export --follow`: asks the agent for the entries after the last one seen, every
/// `interval` seconds, and streams them as JSON lines. Only an outside copy stops someone who
/// can unlock from rewriting history, so this is meant to feed a SIEM as entries are written.
fn follow(ctx: &Context, mut last: u64, interval: f64) -> CliResult<()> {
    let interval = std::time::Duration::from_secs_f64(interval.clamp(0.1, 3600.0));
    let mut first = true;
    loop {
        let since = last.to_string();
        let Some((code, out)) = crate::agent::capture(ctx, &["audit", "export", "--since", &since])? else {
            return Err(CliError::Usage(if first {
                "--follow reads through an agent, so it never keeps the vault from other commands: start one with \
                 `keyloom unlock`"
                    .into()
            } else {
                format!("the agent ended (locked or timed out); following stopped after entry #{last}")
            }));
        };
        if code != 0 {
            return Err(CliError::Exit { code, message: "the agent could not export the audit log".into() });
        }
        for line in out.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let seq = serde_json::from_slice::<serde_json::Value>(line).ok().and_then(|v| v["seq"].as_u64());
            last = last.max(seq.unwrap_or(last));
            let mut line = line.to_vec();
            line.push(b'\n');
            if crate::output::write_stdout_bytes(&line).is_err() {
                // The reader went away (a closed pipe): nothing left to follow for.
                return Ok(());
            }
        }
        first = false;
        std::thread::sleep(interval);
    }
}
