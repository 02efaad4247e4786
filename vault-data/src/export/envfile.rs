//! `secrets.env`: one dialect, POSIX shell. The reference reader is `sh` (`set -a; . file`), and
//! it reads back the exact bytes of every value that an environment variable can hold at all:
//!
//! - a value that needs no quoting (no blank, quote, `$`, backslash, shell operator, control
//!   character, and no `~` the shell would expand: leading, or after a `:`) is written bare, `NAME=value`, so the simple readers that do no
//!   quote removal (docker `--env-file`, systemd `EnvironmentFile=`) read it right too;
//! - any other value is single-quoted, a quote inside written as `'\''` (close, escaped quote,
//!   reopen): inside single quotes a POSIX shell takes every byte literally, newlines included;
//! - a value holding a NUL byte cannot be an environment variable in any process, so it is not
//!   written; a comment line names it, and it travels in `secrets.json` (base64), as a compose
//!   file, in the Kubernetes Secret, and as a file under `keyloom run`.
//!
//! Keyloom's own reader ([`super::envparse`]) reads every line this module writes back exactly.
//! What other readers do with the dialect is in docs/ARCHITECTURE.md ("secrets.env dialect").

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Whether a POSIX shell reads `NAME=value` (unquoted) as exactly `value`: no whitespace, no
/// quotes, no expansion or control characters, no `~` where an assignment expands it (at the start
/// and after each `:`), and only ASCII (so a reader that decodes the file as text cannot change it
/// either).
pub fn carried_verbatim(value: &[u8]) -> bool {
    const SPECIAL: &[u8] = b" \t\n\r\x0b\x0c'\"`$\\;&|<>()";
    !value.iter().any(|b| SPECIAL.contains(b) || *b < 0x20 || *b >= 0x7f)
        && value.first() != Some(&b'~')
        && !value.windows(2).any(|w| w == b":~")
}

/// Whether an environment variable can hold `value` at all: the environment is a list of
/// NUL-terminated strings, so a NUL byte cannot be in one.
pub fn fits_environment(value: &[u8]) -> bool {
    !value.contains(&0)
}

/// Whether `value` is text: UTF-8 without NUL bytes. Anything else is binary: `secrets.json`
/// carries it as base64, and `keyloom run` passes it as a file.
pub fn is_text(value: &[u8]) -> bool {
    fits_environment(value) && std::str::from_utf8(value).is_ok()
}

/// A valid environment variable name.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// `value` as a POSIX shell word that evaluates to exactly its bytes (bare when that is safe).
pub fn shell_quote(value: &[u8]) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(value.len() + 2));
    // Empty stays bare too (`NAME=`): readers without quote removal would keep `''` as two quotes.
    if carried_verbatim(value) {
        out.extend_from_slice(value);
        return out;
    }
    out.push(b'\'');
    for &b in value {
        if b == b'\'' {
            out.extend_from_slice(b"'\\''");
        } else {
            out.push(b);
        }
    }
    out.push(b'\'');
    out
}

/// Renders `service`'s `secrets.env`. Refuses (naming the service and the secret) only a name
/// that is not an environment variable name.
pub fn render(service: &str, secrets: &[(String, Zeroizing<Vec<u8>>)]) -> Result<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(Vec::new());
    for (name, value) in secrets {
        if !valid_name(name) {
            return Err(Error::Invalid(format!(
                "{service}/{name} cannot go into secrets.env: {name:?} is not an environment variable name \
                 (letters, digits, _; not starting with a digit); rename the secret or pass --no-env"
            )));
        }
        if !fits_environment(value) {
            out.extend_from_slice(
                format!(
                    "# {name} holds a NUL byte, which no environment variable can carry: it is in secrets.json \
                     (base64) and is passed as a file by keyloom run\n"
                )
                .as_bytes(),
            );
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.push(b'=');
        out.extend_from_slice(&shell_quote(value));
        out.push(b'\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_stays_bare_and_what_is_quoted() {
        assert!(carried_verbatim(b"postgres://u:p@h:5432/db?sslmode=require"));
        assert!(carried_verbatim(b"sk_live_ABC123-._~:/?#[]@!*+,=%"));
        for bad in
            [&b"a b"[..], b"a'b", b"a\"b", b"$HOME", b"a\\b", b"a\nb", b"~root", b"a:~", b"a;b", b"`id`", b"\xff"]
        {
            assert!(!carried_verbatim(bad), "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(shell_quote(b"it's").as_slice(), b"'it'\\''s'");
        assert_eq!(shell_quote(b"").as_slice(), b"");
        assert_eq!(shell_quote(b"plain").as_slice(), b"plain");
        assert!(valid_name("STRIPE_KEY") && !valid_name("1X") && !valid_name("A-B"));
        assert!(is_text(b"caf\xc3\xa9") && !is_text(b"\xff") && !is_text(b"a\0b"));
    }

    /// The reference reader itself: `sh` expands an unquoted `~` at the start of an assignment
    /// and after each `:`, so such values must be quoted to come back as written.
    #[test]
    fn sh_reads_back_tilde_values_and_empty_ones_exactly() {
        let values: [&[u8]; 5] = [b"a:~", b"x:~root/y", b"~root", b"", b"a~b:c"];
        let secrets: Vec<(String, Zeroizing<Vec<u8>>)> =
            values.iter().enumerate().map(|(i, v)| (format!("V{i}"), Zeroizing::new(v.to_vec()))).collect();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secrets.env"), render("svc", &secrets).unwrap().as_slice()).unwrap();
        let out = std::process::Command::new("sh")
            .current_dir(dir.path())
            .args(["-c", "set -a; . ./secrets.env; printf '%s|%s|%s|%s|%s' \"$V0\" \"$V1\" \"$V2\" \"$V3\" \"$V4\""])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "a:~|x:~root/y|~root||a~b:c");
    }

    #[test]
    fn every_value_reads_back_through_keyloom_s_own_reader() {
        let values: Vec<&[u8]> =
            vec![b"p@ss \"w$rd\" \\ x", b"it's", b"line one\nline two\n", b"\xff\xfe\x01bin\x80", b"", b"'", b"#x"];
        let secrets: Vec<(String, Zeroizing<Vec<u8>>)> =
            values.iter().enumerate().map(|(i, v)| (format!("V{i}"), Zeroizing::new(v.to_vec()))).collect();
        let text = render("svc", &secrets).unwrap();
        let back = crate::export::envparse::parse("secrets.env", &text).unwrap();
        assert_eq!(back.len(), values.len());
        for (entry, value) in back.iter().zip(&values) {
            assert_eq!(entry.value.as_slice(), *value, "{}", entry.name);
        }
        let nul = vec![("BLOB".to_string(), Zeroizing::new(b"a\0b".to_vec()))];
        let text = render("svc", &nul).unwrap();
        assert!(text.starts_with(b"# BLOB holds a NUL byte"));
        assert!(crate::export::envparse::parse("secrets.env", &text).unwrap().is_empty());
        let err = render("payments", &[("1X".into(), Zeroizing::new(b"v".to_vec()))]).unwrap_err();
        assert!(err.to_string().contains("payments/1X"), "{err}");
    }
}
