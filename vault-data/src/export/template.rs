//! `keyloom inject`: templates with `{{ keyloom://SERVICE/NAME }}` references, each optionally
//! followed by a filter that quotes the value for the file it lands in: `| json`, `| yaml` or
//! `| shell`. Without a filter the value is inserted as it is.

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::model::SecretRef;

const SCHEME: &str = "keyloom://";

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// A secret reference and how to quote its value.
    Ref(SecretRef, Filter),
}

/// How a value is written into the template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// As it is.
    Raw,
    /// A JSON string literal, quotes included.
    Json,
    /// A YAML double-quoted scalar, quotes included (every control character escaped).
    Yaml,
    /// A POSIX shell single-quoted word.
    Shell,
}

impl Filter {
    fn parse(name: &str) -> Result<Filter> {
        Ok(match name {
            "json" => Filter::Json,
            "yaml" | "yml" => Filter::Yaml,
            "shell" | "sh" => Filter::Shell,
            "raw" => Filter::Raw,
            other => {
                return Err(Error::unknown_choice(
                    crate::error::Choice::TemplateFilter,
                    other,
                    ["json", "yaml", "shell", "raw"],
                ))
            }
        })
    }

    /// `value` quoted for this filter. Errors name the reference, never the value.
    pub fn render(self, value: &[u8], reference: &SecretRef) -> Result<Zeroizing<Vec<u8>>> {
        let text = || {
            std::str::from_utf8(value).map_err(|_| {
                Error::Invalid(format!("{reference} is not UTF-8 text, so it cannot be written as a {self:?} string"))
            })
        };
        Ok(Zeroizing::new(match self {
            Filter::Raw => value.to_vec(),
            Filter::Json => serde_json::to_vec(text()?)
                .map_err(|_| Error::Invalid(format!("{reference} cannot be JSON-encoded")))?,
            Filter::Yaml => {
                let mut out = String::with_capacity(value.len() + 2);
                out.push('"');
                for c in text()?.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\t' => out.push_str("\\t"),
                        '\r' => out.push_str("\\r"),
                        // YAML forbids most control characters even inside quotes, and line or
                        // paragraph separators and a BOM would be folded or dropped: escape them.
                        c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                            out.push_str(&format!("\\u{:04X}", u32::from(c)));
                        }
                        c => out.push(c),
                    }
                }
                out.push('"');
                out.into_bytes()
            }
            Filter::Shell => {
                if value.contains(&0) {
                    return Err(Error::Invalid(format!(
                        "{reference} contains a NUL byte, which no shell word can hold"
                    )));
                }
                let mut out = Vec::with_capacity(value.len() + 2);
                out.push(b'\'');
                for b in value {
                    if *b == b'\'' {
                        out.extend_from_slice(b"'\\''");
                    } else {
                        out.push(*b);
                    }
                }
                out.push(b'\'');
                out
            }
        }))
    }
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
            let (r, filter) = match r.split_once('|') {
                Some((r, f)) => (r.trim(), Filter::parse(f.trim())?),
                None => (r, Filter::Raw),
            };
            let reference: SecretRef = r.parse().map_err(|_| {
                Error::Invalid(format!("{{{{ {inner} }}}} is not a reference: write {{{{ keyloom://SERVICE/NAME }}}}"))
            })?;
            out.push(Piece::Ref(reference, filter));
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
            p.iter().filter_map(|x| if let Piece::Ref(r, _) = x { Some(r.to_string()) } else { None }).collect();
        assert_eq!(refs, ["pay/KEY", "x/Y"]);
        assert!(p.contains(&Piece::Text("\nb: {{ other }}".into())));
        assert!(parse("{{ keyloom://nope }}").is_err());
        assert!(parse("{{ keyloom://x/Y | base64 }}").is_err());
        assert!(matches!(parse("{{ keyloom://x/Y | yaml }}").unwrap()[1], Piece::Ref(_, Filter::Yaml)));
    }

    #[test]
    fn filters_quote_hostile_values() {
        let r: SecretRef = "x/Y".parse().unwrap();
        let v = "p@ss \"w$rd\" \\ x\nit's\u{7f}";
        let json = Filter::Json.render(v.as_bytes(), &r).unwrap();
        assert_eq!(serde_json::from_slice::<String>(&json).unwrap(), v);
        let yaml = Filter::Yaml.render(v.as_bytes(), &r).unwrap();
        let doc = format!("k: {}\n", std::str::from_utf8(&yaml).unwrap());
        let parsed: std::collections::BTreeMap<String, String> = serde_norway::from_str(&doc).unwrap();
        assert_eq!(parsed["k"], v);
        assert_eq!(&*Filter::Shell.render(b"it's", &r).unwrap(), b"'it'\\''s'");
        assert!(Filter::Shell.render(b"a\0b", &r).is_err());
    }
}
