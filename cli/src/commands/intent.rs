//! `intent add | list | remove`.

use crate::args::IntentCmd;
use crate::context::{table, when, Context};
use crate::error::CliResult;

pub fn run(ctx: &Context, cmd: IntentCmd) -> CliResult<()> {
    let mut vault = ctx.open_unlocked()?;
    match cmd {
        IntentCmd::Add { from, to, note } => {
            let (i, added) = vault.intents_mut().ensure(&from, &to, note)?;
            if ctx.json {
                ctx.print_json(&i)?;
            } else if added {
                println!("Intent added: {} -> {}", i.from, i.to);
            } else {
                println!("Intent already declared: {} -> {}", i.from, i.to);
            }
        }
        IntentCmd::List { service } => {
            let list = vault.intents().list(service.as_deref())?;
            if ctx.json {
                ctx.print_json(&list)?;
            } else {
                let rows = list
                    .iter()
                    .map(|i| vec![i.from.clone(), i.to.clone(), i.note.clone().unwrap_or_default(), when(i.created)])
                    .collect();
                println!("{}", table(&["from", "to", "note", "declared"], rows));
                println!("{} intent(s)", list.len());
            }
        }
        IntentCmd::Remove { from, to } => {
            vault.intents_mut().remove(&from, &to)?;
            if ctx.json {
                ctx.print_json(&serde_json::json!({ "removed": { "from": from, "to": to } }))?;
            } else {
                println!("Intent removed: {from} -> {to}");
            }
        }
    }
    vault.close()
}
