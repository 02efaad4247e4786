//! `secrets.env`: lines that a POSIX shell (`set -a; . file`) and `docker --env-file` both read
//! back as the exact bytes. docker takes the rest of the line literally (no quote removal), so no
//! quoting can serve both: a value either needs none, or it is refused, naming the secret.

use crate::error::{Error, Result};

/// Whether a POSIX shell reads `NAME=value` (unquoted) as exactly `value`: no whitespace, no
/// quotes, no expansion or control characters, and no leading `~`.
pub fn carried_verbatim(value: &[u8]) -> bool {
    const SPECIAL: &[u8] = b" \t\n\r\x0b\x0c'\"`$\\;&|<>()";
    !value.iter().any(|b| SPECIAL.contains(b) || *b < 0x20 || *b == 0x7f) && value.first() != Some(&b'~')
}

/// A valid environment variable name.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Renders `secrets.env`, or refuses naming the first secret it cannot carry.
pub fn render(secrets: &[(String, zeroize::Zeroizing<Vec<u8>>)]) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let mut out = zeroize::Zeroizing::new(Vec::new());
    for (name, value) in secrets {
        if !valid_name(name) {
            return Err(Error::Invalid(format!(
                "secret {name:?} is not a valid environment variable name (letters, digits, _; not starting with a digit)"
            )));
        }
        if !carried_verbatim(value) {
            return Err(Error::Invalid(format!(
                "secret {name} cannot go into secrets.env: its value holds a space, quote, $, backslash, newline or \
                 shell operator, which a POSIX shell and docker --env-file read differently; use secrets.json (or pass --no-env)"
            )));
        }
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
        out.extend_from_slice(value);
        out.push(b'\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_both_readers_agree_on() {
        assert!(carried_verbatim(b"postgres://u:p@h:5432/db?sslmode=require"));
        assert!(carried_verbatim(b"sk_live_ABC123-._~:/?#[]@!*+,=%"));
        for bad in [&b"a b"[..], b"a'b", b"a\"b", b"$HOME", b"a\\b", b"a\nb", b"~root", b"a;b", b"`id`"] {
            assert!(!carried_verbatim(bad), "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(valid_name("STRIPE_KEY") && !valid_name("1X") && !valid_name("A-B"));
    }
}
