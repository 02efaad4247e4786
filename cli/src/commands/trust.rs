//! `trust add | remove | list`.

use vault_data::{Direction, TrustView};

use crate::args::{TrustArgs, TrustCmd};
use crate::context::Context;
use crate::error::{CliError, CliResult};

fn direction(a: &TrustArgs) -> CliResult<Direction> {
    match (a.inbound, a.outbound, a.both) {
        (true, false, false) => Ok(Direction::Inbound),
        (false, true, false) => Ok(Direction::Outbound),
        (false, false, true) => Ok(Direction::Both),
        _ => Err(CliError::Usage("say which trust store: --inbound, --outbound or --both".into())),
    }
}

fn print(ctx: &Context, t: &TrustView) -> CliResult<()> {
    if ctx.json {
        return ctx.print_json(t);
    }
    println!("{}", t.service);
    println!(
        "  inbound (accepts client certificates from):  {}",
        if t.inbound.is_empty() { "-".into() } else { t.inbound.join(", ") }
    );
    println!(
        "  outbound (verifies servers with):            {}",
        if t.outbound.is_empty() { "-".into() } else { t.outbound.join(", ") }
    );
    Ok(())
}

pub fn run(ctx: &Context, cmd: TrustCmd) -> CliResult<()> {
    let mut vault = ctx.open_unlocked()?;
    let view = match cmd {
        TrustCmd::Add(a) => {
            let d = direction(&a)?;
            let (view, added) = vault.trust_mut().ensure(&a.service, &a.ca, d)?;
            if !added && !ctx.json {
                println!("{} already trusts {} ({})", view.service, a.ca, format!("{d:?}").to_lowercase());
            }
            view
        }
        TrustCmd::Remove(a) => {
            let d = direction(&a)?;
            // Measured before the change: which callers this takes access from.
            let impact = vault.graph().trust_impact(&a.service, &a.ca, d, false)?;
            let view = vault.trust_mut().set(&a.service, &a.ca, d, false)?;
            if !ctx.json {
                if !impact.intended.is_empty() {
                    eprintln!("Intents that stop working: {}", impact.intended.join(", "));
                }
                if !impact.unintended.is_empty() {
                    eprintln!("Also no longer connects (no intent): {}", impact.unintended.join(", "));
                }
            }
            view
        }
        TrustCmd::List { service } => vault.trust().of(&service)?,
    };
    print(ctx, &view)?;
    vault.close()
}
