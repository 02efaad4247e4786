//! Reading env files (`keyloom secret import`): one strict dialect that never changes a value
//! silently. Whatever it cannot read exactly it refuses, with `file:line` and the variable's name,
//! never with any byte of a value (a malformed line is usually a value).
//!
//! The dialect (it reads back every `secrets.env` Keyloom writes, see [`super::envfile`]):
//!
//! - One `NAME=value` per line; `NAME` matches `[A-Za-z_][A-Za-z0-9_]*`. An optional `export `
//!   prefix is allowed, and blanks (spaces, tabs) before the name and around `=`.
//! - Blank lines and lines whose first non-blank character is `#` are comments. A leading UTF-8
//!   byte order mark is skipped. Lines may end in CRLF.
//! - **No substitution, ever**: `$X`, `${X}`, `$(cmd)` and backticks are kept as they are.
//! - Unquoted values are literal up to the end of the line, with leading and trailing blanks (and
//!   a CR) trimmed: `A=pa$$word` is `pa$$word`, `K=it's` is `it's`, `U=a#b` is `a#b`. A `#` after a
//!   blank inside an unquoted value (`K=abc #note`) is refused rather than guessed at: the shell
//!   would drop it as a comment and other readers keep it, so the value must be quoted or the
//!   comment moved to its own line.
//! - Single-quoted values are literal (newlines included, so they may span lines); a quote inside is
//!   written with the POSIX join `'\''` (close, escaped quote, reopen): `K='it'\''s'` is `it's`.
//! - Double-quoted values may span lines and know the dotenv escapes `\n`, `\"`, `\\`, plus `\r`,
//!   `\t` and `\$`; any other backslash sequence is refused (no guessing whether it was meant
//!   literally). `$` needs no escape: nothing is substituted.
//! - After a closing quote only blanks and a ` # comment` may follow; `"a"b` is refused.
//! - Empty values are allowed (`EMPTY=`, `EMPTY=""`, `EMPTY=''`); a name set twice is refused.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::export::envfile::valid_name;

/// One `NAME=value` read from an env file.
pub struct EnvEntry {
    /// The variable's name (a valid environment variable name).
    pub name: String,
    /// The value's exact bytes.
    pub value: Zeroizing<Vec<u8>>,
    /// The 1-based line the entry starts on.
    pub line: usize,
}

impl fmt::Debug for EnvEntry {
    // Never the value: Debug output ends up in logs and panics.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvEntry")
            .field("name", &self.name)
            .field("line", &self.line)
            .field("value", &format_args!("<{} bytes>", self.value.len()))
            .finish()
    }
}

/// Reads and parses the env file at `path`; errors name the file as it was given.
pub fn read_file(path: &Path) -> Result<Vec<EnvEntry>> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(Error::io("cannot read", path))?);
    parse(&path.display().to_string(), &bytes)
}

/// Parses env-file text; `origin` (a file name) starts every error message as `origin:line:`.
pub fn parse(origin: &str, input: &[u8]) -> Result<Vec<EnvEntry>> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let mut p = Parser { origin, input, pos: 0, line: 1 };
    let mut entries: Vec<EnvEntry> = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    while let Some(entry) = p.next_entry()? {
        if let Some(first) = seen.insert(entry.name.clone(), entry.line) {
            return Err(p.error_at(
                entry.line,
                &format!("{} is already set on line {first}; an env file may set each name once", entry.name),
            ));
        }
        entries.push(entry);
    }
    Ok(entries)
}

struct Parser<'a> {
    origin: &'a str,
    input: &'a [u8],
    pos: usize,
    /// The 1-based line `pos` is on.
    line: usize,
}

fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

impl Parser<'_> {
    fn error_at(&self, line: usize, message: &str) -> Error {
        Error::Invalid(format!("{}:{line}: {message}", self.origin))
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    fn skip_blanks(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(is_blank) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// Moves past the end of the current line (its `\n` included).
    fn skip_line(&mut self) {
        match self.input[self.pos..].iter().position(|&b| b == b'\n') {
            Some(i) => {
                self.pos += i + 1;
                self.line += 1;
            }
            None => self.pos = self.input.len(),
        }
    }

    /// Whether only a CR may stand between here and the end of the line.
    fn at_line_end(&self) -> bool {
        matches!(&self.input[self.pos..], [] | [b'\n', ..] | [b'\r'] | [b'\r', b'\n', ..])
    }

    fn next_entry(&mut self) -> Result<Option<EnvEntry>> {
        loop {
            self.skip_blanks();
            if self.pos >= self.input.len() {
                return Ok(None);
            }
            if self.at_line_end() || self.peek() == Some(b'#') {
                self.skip_line();
                continue;
            }
            return self.entry().map(Some);
        }
    }

    fn entry(&mut self) -> Result<EnvEntry> {
        let line = self.line;
        // Nothing of the line is echoed until it has the shape NAME=: until then it may as well
        // be a value (a stray token, the tail of a broken multi-line value).
        let not_an_entry =
            |p: &Self| p.error_at(line, "not a NAME=value line (the line is not shown: it may hold a secret)");
        if self.input[self.pos..].starts_with(b"export") && self.input.get(self.pos + 6).copied().is_some_and(is_blank)
        {
            self.pos += 6;
            self.skip_blanks();
        }
        let start = self.pos;
        while self.peek().is_some_and(|b| b != b'=' && b != b'\n' && !is_blank(b)) {
            self.pos += 1;
        }
        let raw_name = &self.input[start..self.pos];
        self.skip_blanks();
        if self.peek() != Some(b'=') {
            return Err(not_an_entry(self));
        }
        self.pos += 1;
        let name = match std::str::from_utf8(raw_name) {
            Ok(n) if valid_name(n) => n.to_string(),
            _ => {
                return Err(self.error_at(
                    line,
                    "the name before '=' is not a valid variable name (letters, digits and _, not starting \
                     with a digit; the name is not shown: it may hold a secret)",
                ))
            }
        };
        self.skip_blanks();
        let value = match self.peek() {
            Some(b'"') => self.double_quoted(&name, line)?,
            Some(b'\'') => self.single_quoted(&name, line)?,
            _ => self.unquoted(&name, line)?,
        };
        Ok(EnvEntry { name, value, line })
    }

    fn unquoted(&mut self, name: &str, line: usize) -> Result<Zeroizing<Vec<u8>>> {
        let rest = &self.input[self.pos..];
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let mut value = &rest[..end];
        while let [head @ .., b' ' | b'\t' | b'\r'] = value {
            value = head;
        }
        // A blank before `#` (also the blank just after `=`, already skipped) makes a comment in a
        // shell but part of the value elsewhere: refuse instead of guessing.
        let after_blank = self.pos > 0 && is_blank(self.input[self.pos - 1]);
        if value.first() == Some(&b'#') && after_blank || value.windows(2).any(|w| is_blank(w[0]) && w[1] == b'#') {
            return Err(self.error_at(
                line,
                &format!(
                    "{name}: a '#' after a blank in an unquoted value is ambiguous (a comment to a shell, \
                     part of the value to others): quote the value, or put the comment on its own line"
                ),
            ));
        }
        let value = Zeroizing::new(value.to_vec());
        self.skip_line();
        Ok(value)
    }

    fn unterminated(&self, name: &str, line: usize, quote: &str) -> Error {
        self.error_at(line, &format!("{name}: the {quote} quote opened on this line is never closed"))
    }

    fn double_quoted(&mut self, name: &str, line: usize) -> Result<Zeroizing<Vec<u8>>> {
        let mut value = Zeroizing::new(Vec::new());
        self.pos += 1;
        loop {
            let Some(b) = self.peek() else { return Err(self.unterminated(name, line, "double")) };
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let unescaped = match self.peek() {
                        None => return Err(self.unterminated(name, line, "double")),
                        Some(b'n') => b'\n',
                        Some(b'r') => b'\r',
                        Some(b't') => b'\t',
                        Some(b'"') => b'"',
                        Some(b'\\') => b'\\',
                        Some(b'$') => b'$',
                        // Not even the offending character is shown: it is part of the value.
                        Some(_) => {
                            return Err(self.error_at(
                                self.line,
                                &format!(
                                    "{name}: unsupported backslash escape in a double-quoted value (known: \\n \\r \
                                     \\t \\\" \\\\ \\$; write \\\\ for a backslash, or single-quote the value)"
                                ),
                            ))
                        }
                    };
                    value.push(unescaped);
                    self.pos += 1;
                }
                b'\n' => {
                    value.push(b);
                    self.line += 1;
                }
                _ => value.push(b),
            }
        }
        self.after_quotes(name)?;
        Ok(value)
    }

    fn single_quoted(&mut self, name: &str, line: usize) -> Result<Zeroizing<Vec<u8>>> {
        let mut value = Zeroizing::new(Vec::new());
        self.single_segment(&mut value, name, line)?;
        // The POSIX join: `'it'\''s'` is `it` + `'` + `s`.
        while self.input[self.pos..].starts_with(b"\\'") {
            self.pos += 2;
            value.push(b'\'');
            if self.peek() == Some(b'\'') {
                self.single_segment(&mut value, name, self.line)?;
            }
        }
        self.after_quotes(name)?;
        Ok(value)
    }

    /// One `'…'` segment, taken literally (newlines included).
    fn single_segment(&mut self, value: &mut Vec<u8>, name: &str, line: usize) -> Result<()> {
        self.pos += 1;
        let rest = &self.input[self.pos..];
        let Some(end) = rest.iter().position(|&b| b == b'\'') else {
            return Err(self.unterminated(name, line, "single"));
        };
        value.extend_from_slice(&rest[..end]);
        self.line += rest[..end].iter().filter(|&&b| b == b'\n').count();
        self.pos += end + 1;
        Ok(())
    }

    /// After a closing quote: blanks, then the end of the line or a ` # comment`.
    fn after_quotes(&mut self, name: &str) -> Result<()> {
        let blanks = self.skip_blanks();
        if self.at_line_end() || (blanks > 0 && self.peek() == Some(b'#')) {
            self.skip_line();
            return Ok(());
        }
        Err(self.error_at(
            self.line,
            &format!(
                "{name}: unexpected text after the closing quote (quote the whole value; a comment needs a blank \
                 before '#')"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::envfile;

    fn ok(text: &str) -> Vec<(String, Vec<u8>)> {
        parse("t.env", text.as_bytes())
            .unwrap_or_else(|e| panic!("{text:?}: {e}"))
            .into_iter()
            .map(|e| (e.name, e.value.to_vec()))
            .collect()
    }

    fn one(text: &str) -> String {
        let v = ok(text);
        assert_eq!(v.len(), 1, "{text:?}");
        String::from_utf8(v[0].1.clone()).unwrap()
    }

    fn err(text: &str) -> String {
        match parse("t.env", text.as_bytes()) {
            Ok(v) => panic!("{text:?} parsed as {v:?}"),
            Err(e) => e.to_string(),
        }
    }

    /// POSIX single quoting, as `sh` reads it (the encoding the exports issue plans for secrets.env).
    fn sh_quote(value: &str) -> String {
        format!("'{}'", value.replace('\'', r"'\''"))
    }

    #[test]
    fn nothing_is_substituted() {
        // The parser never looks at the environment; these would expand in a shell.
        assert_eq!(one("A=pa$$word"), "pa$$word");
        assert_eq!(one("A=${HOME}"), "${HOME}");
        assert_eq!(one("A=$HOME"), "$HOME");
        assert_eq!(one("A=\"${HOME} $(id) `id`\""), "${HOME} $(id) `id`");
        assert_eq!(one("A='$HOME'"), "$HOME");
        assert_eq!(one(r#"A="\$HOME""#), "$HOME");
    }

    #[test]
    fn unquoted_values_are_literal_to_the_end_of_the_line() {
        assert_eq!(one("K=it's"), "it's");
        assert_eq!(one(r"K=a\nb"), r"a\nb");
        assert_eq!(one("K=a#b"), "a#b");
        assert_eq!(one("K=#b"), "#b");
        assert_eq!(one("K=x=y=z"), "x=y=z");
        assert_eq!(one("K=a b\tc"), "a b\tc");
        assert_eq!(one("K=  padded \t\r\n"), "padded");
        assert_eq!(one("K=ab\"c"), "ab\"c");
        assert_eq!(one("K=ünï©ødé 🔑"), "ünï©ødé 🔑");
        assert_eq!(one("K=value"), "value", "no newline at the end of the file");
    }

    #[test]
    fn quoted_values() {
        assert_eq!(one("K='it'\\''s'"), "it's");
        assert_eq!(one("K=''\\'''"), "'");
        assert_eq!(one("K='a'\\'"), "a'", "a join may end the value");
        assert_eq!(one("K='a'\\'\\''b'"), "a''b");
        assert_eq!(one("K='a\\nb \" $X'"), "a\\nb \" $X");
        assert_eq!(one("K='line1\nline2'"), "line1\nline2");
        assert_eq!(one(r#"K="a\nb\"c\\d\te\rf""#), "a\nb\"c\\d\te\rf");
        assert_eq!(one("K=\"multi\nline\""), "multi\nline");
        assert_eq!(one("K=\"it's\""), "it's");
        assert_eq!(one("K=\"a #b\"  # comment"), "a #b");
        assert_eq!(one("K='x'\t# comment\r\n"), "x");
        assert_eq!(one("K = \"spaced\""), "spaced");
    }

    #[test]
    fn comments_blanks_export_and_empty_values() {
        let text = "\u{feff}# header\n\n   # indented comment\n\t\nexport A=1\nexport\tB='2'\nEMPTY=\nE2=\"\"\nE3=''\n\
                    export=3\r\nLAST=4";
        let got: Vec<(String, String)> =
            ok(text).into_iter().map(|(n, v)| (n, String::from_utf8(v).unwrap())).collect();
        let want = [("A", "1"), ("B", "2"), ("EMPTY", ""), ("E2", ""), ("E3", ""), ("export", "3"), ("LAST", "4")];
        assert_eq!(got, want.map(|(n, v)| (n.to_string(), v.to_string())));
        assert!(ok("").is_empty() && ok("\n# only\n").is_empty());
    }

    #[test]
    fn errors_give_file_line_and_name_never_the_value() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("A=1\nB=2\nA=SECRETX", "t.env:3:", Some("A is already set on line 1")),
            ("A=1\nSECRETX\n", "t.env:2:", None),
            ("A=1\n\nSECRET-X=1\n", "t.env:3:", None),
            ("1SECRETX=v", "t.env:1:", None),
            ("SECRET X=v", "t.env:1:", None),
            ("K=\"SECRETX", "t.env:1:", Some("K: the double quote")),
            ("A=1\nK='SECRETX\nmore", "t.env:2:", Some("K: the single quote")),
            ("K=\"SECRETX\"tail", "t.env:1:", Some("K: unexpected text")),
            ("K='SECRETX'tail", "t.env:1:", Some("K: unexpected text")),
            ("K='SECRETX''x'", "t.env:1:", Some("K: unexpected text")),
            ("K=\"SECRETX\\q\"", "t.env:1:", Some("K: unsupported backslash escape")),
            ("K=\"a\nb\\xSECRETX\"", "t.env:2:", Some("K: unsupported backslash escape")),
            ("K=SECRETX #x", "t.env:1:", Some("K: a '#' after a blank")),
            ("K= #SECRETX", "t.env:1:", Some("K: a '#' after a blank")),
            ("K=\"SECRETX\"#x", "t.env:1:", Some("K: unexpected text")),
            ("export SECRETX", "t.env:1:", None),
        ];
        for (text, at, says) in cases {
            let e = err(text);
            assert!(e.starts_with(at), "{text:?}: {e}");
            if let Some(s) = says {
                assert!(e.contains(s), "{text:?}: {e}");
            }
            assert!(!e.contains("SECRET"), "{text:?} leaks: {e}");
        }
        assert!(err("\"unterminated\n\n").contains("t.env:1:"));
    }

    #[test]
    fn debug_never_shows_the_value() {
        let v = parse("t.env", b"K=SECRETX").unwrap();
        let d = format!("{v:?}");
        assert!(d.contains("\"K\"") && !d.contains("SECRETX"), "{d}");
    }

    const HOSTILE: &[&str] = &[
        "it's",
        "'",
        "''",
        "'\\''",
        "multi\nline\n",
        "\n",
        "pa$$word",
        "${HOME}",
        "$(id)`id`",
        "back\\slash\\",
        "\\n",
        "\"double\"",
        "p@ss \"w$rd\" \\ x",
        "ünï©ødé 🔑",
        "",
        " lead and trail ",
        "a #b",
        "#start",
        "x=y",
        "crlf\r\n",
        "tab\there",
    ];

    #[test]
    fn reads_back_what_secrets_env_writes() {
        // Every value comes back byte for byte (the writer quotes what needs quoting).
        for (i, v) in HOSTILE.iter().chain(&["plain", "postgres://u:p@h:5432/db?sslmode=require", "a#b~c"]).enumerate()
        {
            let name = format!("K{i}");
            let secrets = vec![(name.clone(), Zeroizing::new(v.as_bytes().to_vec()))];
            let text = envfile::render("svc", &secrets).unwrap();
            let back = parse("secrets.env", &text).unwrap_or_else(|e| panic!("{v:?}: {e}"));
            assert_eq!(back.len(), 1);
            assert_eq!((back[0].name.as_str(), back[0].value.as_slice()), (name.as_str(), v.as_bytes()), "{v:?}");
        }
        // Many secrets in one file, as an export writes them.
        let all: Vec<_> = ["a", "", "b#c", "d=e"]
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("S_{i}"), Zeroizing::new(v.as_bytes().to_vec())))
            .collect();
        let back = parse("secrets.env", &envfile::render("svc", &all).unwrap()).unwrap();
        assert_eq!(
            back.iter().map(|e| (e.name.clone(), e.value.to_vec())).collect::<Vec<_>>(),
            all.iter().map(|(n, v)| (n.clone(), v.to_vec())).collect::<Vec<_>>()
        );
    }

    #[test]
    fn posix_single_quoting_round_trips_and_agrees_with_sh() {
        let mut file = String::new();
        for (i, v) in HOSTILE.iter().enumerate() {
            file.push_str(&format!("K{i}={}\n", sh_quote(v)));
        }
        let back = parse("secrets.env", file.as_bytes()).unwrap();
        for (i, v) in HOSTILE.iter().enumerate() {
            assert_eq!(back[i].name, format!("K{i}"));
            assert_eq!(back[i].value.as_slice(), v.as_bytes(), "{v:?}");
        }
        // The reference reader: `sh` sourcing the same file.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.env");
        std::fs::write(&path, &file).unwrap();
        for (i, v) in HOSTILE.iter().enumerate() {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("set -a; . \"$1\"; printf %s \"$K{i}\""))
                .arg("sh")
                .arg(&path)
                .env_clear()
                .output()
                .unwrap();
            assert!(out.status.success());
            assert_eq!(out.stdout, v.as_bytes(), "sh reads {v:?} differently");
        }
    }
}
