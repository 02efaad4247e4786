//! `graph`, `findings`, `explain`, `blast-radius`.

use vault_data::graph::{Finding, FindingOptions, GraphOptions, Severity};

use crate::args::{FindingsArgs, GraphArgs};
use crate::context::{table, Context};
use crate::error::CliResult;
use crate::remedy::FindingJson;

fn window(days: u32) -> FindingOptions {
    FindingOptions { expiring_within: vault_data::pki::expiry::window_days(days) }
}

pub fn graph(ctx: &Context, a: GraphArgs) -> CliResult<()> {
    let vault = ctx.open_unlocked()?;
    let finding_kind = a.finding_kind.as_deref().map(vault_data::graph::FindingKind::parse).transpose()?;
    let opts = GraphOptions {
        environment: a.environment,
        service: a.service,
        depth: Some(a.depth),
        tag: a.tag,
        finding_kind,
        all_mtls_pairs: a.all_mtls_pairs,
    };
    let g = vault.graph().view(&opts, window(a.expiring_within))?;
    vault.close()?;
    if a.format == "dot" {
        print!("{}", vault_data::graph::dot::to_dot(&g));
        Ok(())
    } else {
        // Each finding also carries its remedy worded for the terminal, as `findings --json` does.
        ctx.print_json(&crate::remedy::GraphJson::from(&g))
    }
}

fn severity_label(s: Severity) -> &'static str {
    match s {
        Severity::High => "HIGH",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Info => "info",
    }
}

fn print_findings(ctx: &Context, list: &[Finding]) -> CliResult<()> {
    if ctx.json {
        let list: Vec<FindingJson> = list.iter().map(FindingJson::from).collect();
        return ctx.print_json(&list);
    }
    if list.is_empty() {
        println!("No findings.");
        return Ok(());
    }
    let rows = list
        .iter()
        .map(|f| {
            vec![
                f.id.clone(),
                severity_label(f.severity).into(),
                format!("{:?}", f.kind),
                f.message.clone(),
                crate::remedy::fix_text(f).unwrap_or_default(),
            ]
        })
        .collect();
    println!("{}", table(&["id", "severity", "kind", "finding", "suggested fix"], rows));
    println!("{} finding(s)", list.len());
    Ok(())
}

pub fn findings(ctx: &Context, a: FindingsArgs) -> CliResult<()> {
    let vault = ctx.open_unlocked()?;
    let mut list = vault.graph().findings(window(a.expiring_within))?;
    vault.close()?;
    if let Some(s) = a.severity {
        let floor = Severity::parse(&s)?;
        list.retain(|f| f.severity <= floor);
    }
    print_findings(ctx, &list)
}

pub fn explain(ctx: &Context, from: &str, to: &str) -> CliResult<()> {
    let vault = ctx.open_unlocked()?;
    let e = vault.graph().explain(from, to)?;
    vault.close()?;
    if ctx.json {
        return ctx.print_json(&e);
    }
    println!("{} -> {}: {}", e.from, e.to, e.verdict);
    println!("  intended:     {}", if e.intended { "yes" } else { "no" });
    match &e.accepts {
        Some(ca) => println!("  {} accepts {}'s client certificate via {ca}", e.to, e.from),
        None => println!("  {} does not accept {}'s client identity", e.to, e.from),
    }
    match &e.can_verify {
        Some(ca) => println!("  {} verifies {}'s server certificate via {ca}", e.from, e.to),
        None => println!("  {} cannot verify {}'s server identity", e.from, e.to),
    }
    if let Some(m) = &e.mtls {
        if let Some(until) = m.valid_until {
            println!("  mutual TLS works until {}", crate::context::when(until));
        }
        if let vault_data::graph::Evidence::Mtls { client, server, .. } = &m.evidence {
            for (what, ev) in [("client chain", client), ("server chain", server)] {
                if let vault_data::graph::Evidence::Chain { serial, chain, .. } = ev.as_ref() {
                    println!("  {what}: serial {serial} <- {}", chain.join(" <- "));
                }
            }
        }
    }
    for c in &e.credentials {
        println!("  credential:   {}/{c}", e.from);
    }
    for (t, words) in e.tokens.iter().zip(&e.token_paths) {
        println!("  token:        {words} (keys {})", t.kids.join(", "));
    }
    for c in &e.concerns {
        println!("  concern:      {c}");
    }
    for r in &e.reasons {
        println!("  why not:      {r}");
    }
    Ok(())
}

pub fn blast_radius(ctx: &Context, ca: &str) -> CliResult<()> {
    let vault = ctx.open_unlocked()?;
    let f = vault.graph().blast_radius(ca)?;
    vault.close()?;
    if ctx.json {
        return ctx.print_json(&FindingJson::from(&f));
    }
    println!("{}", f.message);
    let victims: Vec<&str> = f.entities.iter().skip(1).map(|e| e.name.as_str()).collect();
    if !victims.is_empty() {
        println!(
            "services that would accept the forgeries: {}{}",
            victims.join(", "),
            if f.count.unwrap_or(0) > victims.len() { ", …" } else { "" }
        );
    }
    Ok(())
}
