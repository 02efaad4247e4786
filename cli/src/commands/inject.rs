//! `inject -i template -o output` (`-` for stdin or stdout).

use std::io::Read;
use std::path::Path;

use vault_data::export::template::{parse, Piece};
use vault_data::ExposeSecret;

use crate::context::{write_new_file, Context};
use crate::error::{CliError, CliResult};

fn is_std(p: &Path) -> bool {
    p.as_os_str() == "-"
}

pub fn inject(ctx: &Context, input: &Path, output: &Path, force: bool) -> CliResult<()> {
    let template = if is_std(input) {
        let mut t = String::new();
        crate::output::stdin()
            .read_to_string(&mut t)
            .map_err(|e| CliError::Usage(format!("cannot read the template from stdin: {e}")))?;
        t
    } else {
        std::fs::read_to_string(input).map_err(CliError::file("cannot read", input))?
    };
    let pieces = parse(&template)?;
    let to_stdout = is_std(output);
    if !to_stdout && output.exists() && !force {
        return Err(CliError::Usage(format!("{} exists; pass --force to replace it", output.display())));
    }
    let mut vault = ctx.open_unlocked()?;
    // Resolve every reference before revealing any, so an unknown one reveals nothing.
    for p in &pieces {
        if let Piece::Ref(r, _) = p {
            vault.secrets().history(r)?;
        }
    }
    let mut out = zeroize::Zeroizing::new(Vec::new());
    let mut count = 0;
    for p in &pieces {
        match p {
            Piece::Text(t) => out.extend_from_slice(t.as_bytes()),
            Piece::Ref(r, filter) => {
                let value = vault.secrets_mut().reveal(r, None)?;
                out.extend_from_slice(&filter.render(value.expose_secret(), r)?);
                count += 1;
            }
        }
    }
    vault.close()?;
    if to_stdout {
        crate::output::write_stdout_bytes(&out).map_err(|e| CliError::Usage(format!("cannot write to stdout: {e}")))?;
        return Ok(());
    }
    if force && output.exists() {
        std::fs::remove_file(output).map_err(CliError::file("cannot replace", output))?;
    }
    write_new_file(output, &out, 0o600)?;
    if ctx.json {
        ctx.print_json(&serde_json::json!({ "out": output, "references": count }))
    } else {
        println!("Wrote {} with {count} secret(s) filled in (mode 0600)", output.display());
        Ok(())
    }
}
