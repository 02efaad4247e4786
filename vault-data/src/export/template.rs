//! `keyloom inject`: templates with `{{ keyloom://SERVICE/NAME }}` references.

use crate::error::{Error, Result};
use crate::model::SecretRef;

const SCHEME: &str = "keyloom://";

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// A secret reference.
    Ref(SecretRef),
}

/// Splits a template into text and references. `{{ … }}` that is not a `keyloom://` reference
/// stays as text (other template languages use braces too); a malformed reference is an error.
pub fn parse(template: &str) -> Result<Vec<Piece>> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        let Some(len) = rest[start..].find("}}") else { break };
        let inner = rest[start + 2..start + len].trim();
        if let Some(r) = inner.strip_prefix(SCHEME) {
            out.push(Piece::Text(rest[..start].to_string()));
            let reference: SecretRef = r.parse().map_err(|_| {
                Error::Invalid(format!("{{{{ {inner} }}}} is not a reference: write {{{{ keyloom://SERVICE/NAME }}}}"))
            })?;
            out.push(Piece::Ref(reference));
        } else {
            out.push(Piece::Text(rest[..start + len + 2].to_string()));
        }
        rest = &rest[start + len + 2..];
    }
    out.push(Piece::Text(rest.to_string()));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_plain_braces() {
        let p = parse("a: {{ keyloom://pay/KEY }}\nb: {{ other }}\nc: {{keyloom://x/Y}}").unwrap();
        let refs: Vec<String> =
            p.iter().filter_map(|x| if let Piece::Ref(r) = x { Some(r.to_string()) } else { None }).collect();
        assert_eq!(refs, ["pay/KEY", "x/Y"]);
        assert!(p.contains(&Piece::Text("\nb: {{ other }}".into())));
        assert!(parse("{{ keyloom://nope }}").is_err());
    }
}
