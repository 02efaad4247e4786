//! `token-key create | rotate | list`, `jwks`, `token-issuer import | list`,
//! `token client|trust add|remove`, `token list`, `token mint`.

use std::path::Path;

use vault_data::model::token::GrantSide;
use vault_data::{MintRequest, TokenKeyView};

use crate::args::{GrantArgs, GrantCmd, TokenCmd, TokenIssuerCmd, TokenKeyCmd};
use crate::context::{table, write_new_file, Context};
use crate::error::{CliError, CliResult};

fn print_keys(keys: &[TokenKeyView]) {
    let rows = keys
        .iter()
        .map(|k| {
            vec![
                k.service.clone(),
                k.alg.name().to_string(),
                format!("{:?}", k.role).to_lowercase(),
                k.kid.clone(),
                format!("{} d", k.days_in_role),
            ]
        })
        .collect();
    println!("{}", table(&["issuer", "alg", "role", "kid", "in role"], rows));
}

pub fn keys(ctx: &Context, cmd: TokenKeyCmd) -> CliResult<()> {
    let mut vault = ctx.open_unlocked()?;
    let keys = match cmd {
        TokenKeyCmd::Create { service, alg } => {
            let alg = vault_data::parse_alg(&alg)?;
            vault.tokens_mut().create_key(&service, alg)?
        }
        TokenKeyCmd::Rotate { service } => vault.tokens_mut().rotate(&service)?,
        TokenKeyCmd::List { service } => vault.tokens().keys(service.as_deref())?,
    };
    if ctx.json {
        ctx.print_json(&keys)?;
    } else {
        print_keys(&keys);
    }
    vault.close()
}

pub fn jwks(ctx: &Context, issuer: &str, out: Option<&Path>) -> CliResult<()> {
    let vault = ctx.open_unlocked()?;
    let doc = vault.tokens().jwks(issuer)?;
    let text = serde_json::to_string_pretty(&doc).map_err(|e| CliError::Usage(e.to_string()))? + "\n";
    match out {
        Some(path) => {
            write_new_file(path, text.as_bytes(), vault_data::export::bundle::PUBLIC_MODE)?;
            if !ctx.json {
                println!("Wrote the JWKS of {issuer} to {}", path.display());
            }
        }
        None => print!("{text}"),
    }
    vault.close()
}

pub fn issuers(ctx: &Context, cmd: TokenIssuerCmd) -> CliResult<()> {
    let mut vault = ctx.open_unlocked()?;
    match cmd {
        TokenIssuerCmd::Import { name, jwks, issuer_url, environment } => {
            let bytes = std::fs::read(&jwks).map_err(CliError::file("cannot read", &jwks))?;
            let origin = jwks.display().to_string();
            let view = vault.tokens_mut().import_issuer(
                &name,
                &bytes,
                &origin,
                issuer_url.as_deref(),
                environment.as_deref(),
            )?;
            if ctx.json {
                ctx.print_json(&view)?;
            } else {
                println!("Issuer {} recorded with {} key(s)", view.name, view.kids.len());
                for w in &view.weaknesses {
                    println!("  weak: {w}");
                }
            }
        }
        TokenIssuerCmd::List => {
            let list = vault.tokens().issuers()?;
            if ctx.json {
                ctx.print_json(&list)?;
            } else {
                let rows = list
                    .iter()
                    .map(|i| {
                        vec![
                            i.name.clone(),
                            i.kind.to_string(),
                            i.environment.clone().unwrap_or_else(|| "-".into()),
                            i.kids.len().to_string(),
                            if i.weaknesses.is_empty() { "-".into() } else { i.weaknesses.join("; ") },
                        ]
                    })
                    .collect();
                println!("{}", table(&["issuer", "kind", "env", "keys", "weak"], rows));
            }
        }
    }
    vault.close()
}

fn grant(ctx: &Context, side: GrantSide, cmd: GrantCmd) -> CliResult<()> {
    let mut vault = ctx.open_unlocked()?;
    let (view, added) = match cmd {
        GrantCmd::Add(GrantArgs { service, issuer, audience, scopes }) => {
            (vault.tokens_mut().grant(&service, side, &issuer, &audience, &scopes)?, true)
        }
        GrantCmd::Remove(GrantArgs { service, issuer, audience, .. }) => {
            (vault.tokens_mut().ungrant(&service, side, &issuer, &audience)?, false)
        }
    };
    if ctx.json {
        ctx.print_json(&view)?;
    } else {
        let verb = match (side, added) {
            (GrantSide::Client, true) => "now gets",
            (GrantSide::Client, false) => "no longer gets",
            (GrantSide::Accepts, true) => "now accepts",
            (GrantSide::Accepts, false) => "no longer accepts",
        };
        println!("{} {verb} tokens from {} for audience {}", view.service, view.issuer, view.audience);
    }
    vault.close()
}

pub fn run(ctx: &Context, cmd: TokenCmd) -> CliResult<()> {
    match cmd {
        TokenCmd::Client(c) => grant(ctx, GrantSide::Client, c),
        TokenCmd::Trust(c) => grant(ctx, GrantSide::Accepts, c),
        TokenCmd::List { service } => {
            let vault = ctx.open_unlocked()?;
            let list = vault.tokens().grants(service.as_deref())?;
            if ctx.json {
                ctx.print_json(&list)?;
            } else {
                let rows = list
                    .iter()
                    .map(|g| {
                        vec![
                            g.service.clone(),
                            if g.side == GrantSide::Client { "gets".into() } else { "accepts".into() },
                            g.issuer.clone(),
                            g.audience.clone(),
                            g.scopes.join(" "),
                        ]
                    })
                    .collect();
                println!("{}", table(&["service", "tokens", "issuer", "audience", "scopes"], rows));
            }
            vault.close()
        }
        TokenCmd::Mint { issuer, aud, sub, ttl, scopes, allow_prod } => {
            let ttl = humantime::parse_duration(&ttl)
                .map_err(|e| CliError::Usage(format!("--ttl {ttl:?}: {e} (e.g. 5m)")))?;
            let ttl = time::Duration::try_from(ttl).map_err(|e| CliError::Usage(format!("--ttl: {e}")))?;
            let mut vault = ctx.open_unlocked()?;
            let minted = vault.tokens_mut().mint(&MintRequest {
                issuer: &issuer,
                audience: &aud,
                subject: &sub,
                ttl,
                scopes: &scopes,
                allow_prod,
            })?;
            if ctx.json {
                ctx.print_json(&minted)?;
            } else {
                println!("{}", minted.token);
            }
            vault.close()
        }
    }
}
