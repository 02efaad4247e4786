//! From the command line to a [`Cli`], with two rules clap does not know:
//!
//! - A usage error (unknown flag, bad value, missing argument) exits 1 like any user error;
//!   clap's own 2 would read as "locked or wrong key". `--help` and `--version` exit 0.
//! - An argument holding a private key is refused by its position ("the 2nd --recipient") before
//!   clap sees it, because clap quotes the values it rejects, and text starting with `-----BEGIN`
//!   even reads to it as an unknown flag (quoted twice). Nothing later can quote it either.

use std::collections::HashMap;
use std::ffi::OsString;

use clap::{Arg, Command, CommandFactory, Parser};
use vault_data::{looks_like_private_key, ordinal};

use crate::args::Cli;

/// Why the command line does not run: the text to print (plain), where, and the exit code.
pub struct Exit {
    pub code: i32,
    pub message: String,
    pub to_stderr: bool,
    /// clap's own error, printed by clap (with colour when the terminal takes it).
    clap: Option<clap::Error>,
}

/// Parses `args` (program name first), or says how to end.
pub fn parse_from(args: Vec<OsString>) -> Result<Cli, Exit> {
    if let Some(refusal) = private_key_argument(&args) {
        return Err(Exit { code: 1, message: format!("error: {refusal}\n"), to_stderr: true, clap: None });
    }
    Cli::try_parse_from(args).map_err(|e| {
        // Help and version go to stdout and succeed; everything else is a usage error.
        let to_stderr = e.use_stderr();
        Exit { code: if to_stderr { 1 } else { 0 }, message: e.render().to_string(), to_stderr, clap: Some(e) }
    })
}

/// Parses the process's arguments, or prints why not and exits.
pub fn parse() -> Cli {
    match parse_from(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(exit) => {
            if let Some(e) = &exit.clap {
                let _ = e.print();
            } else if exit.to_stderr {
                eprint!("{}", exit.message);
            } else {
                print!("{}", exit.message);
            }
            std::process::exit(exit.code);
        }
    }
}

/// The first argument that holds a private key, named by position, following the command tree
/// the way clap does: subcommands, `--long[=value]`, `-s[value]`, positionals. The command that
/// `run` starts is the child's business and is not looked at.
fn private_key_argument(args: &[OsString]) -> Option<String> {
    let mut root = Cli::command();
    root.build();
    let mut path: Vec<&Command> = vec![&root];
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut nth = |label: &str| {
        let n = seen.entry(label.to_string()).or_default();
        *n += 1;
        ordinal(*n)
    };
    // The flag waiting for its value, and how many positionals the current command has had.
    let mut pending: Option<String> = None;
    let mut positionals = 0usize;
    let mut only_positionals = false;
    for (i, raw) in args.iter().enumerate().skip(1) {
        let text = raw.to_string_lossy();
        let private = looks_like_private_key(&text);
        if let Some(flag) = pending.take() {
            let n = nth(&flag);
            if private {
                return Some(refusal(&format!("the {n} {flag}"), &flag));
            }
            continue;
        }
        let cmd = *path.last()?;
        if !only_positionals && text == "--" {
            only_positionals = true;
            continue;
        }
        if !only_positionals && text.starts_with("--") && text.len() > 2 {
            let (name, inline) = match text[2..].split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (&text[2..], None),
            };
            if let Some(a) = find_arg(&path, |a| a.get_long() == Some(name)) {
                let flag = format!("--{name}");
                match inline {
                    Some(v) => {
                        let n = nth(&flag);
                        if looks_like_private_key(v) {
                            return Some(refusal(&format!("the {n} {flag}"), &flag));
                        }
                    }
                    None if a.get_action().takes_values() => pending = Some(flag),
                    None => {}
                }
                continue;
            }
            // An unknown flag takes no value; clap reports it. Key text that merely starts with
            // dashes ("-----BEGIN") is named as a positional below.
            if !private {
                continue;
            }
        } else if !only_positionals && text.starts_with('-') && text.len() > 1 {
            let mut chars = text[1..].chars();
            let short = chars.next();
            let inline = chars.as_str();
            if let Some(a) = find_arg(&path, |a| a.get_short().is_some() && a.get_short() == short) {
                if a.get_action().takes_values() {
                    let flag = match (a.get_long(), short) {
                        (Some(l), _) => format!("--{l}"),
                        (None, Some(c)) => format!("-{c}"),
                        (None, None) => "flag".to_string(),
                    };
                    if inline.is_empty() {
                        pending = Some(flag);
                    } else {
                        let n = nth(&flag);
                        if looks_like_private_key(inline) {
                            return Some(refusal(&format!("the {n} {flag}"), &flag));
                        }
                    }
                }
                continue;
            }
            if !private {
                continue;
            }
        }
        if !only_positionals && positionals == 0 {
            if let Some(sub) = cmd.find_subcommand(raw) {
                path.push(sub);
                continue;
            }
        }
        // A positional: which one, by clap's index; the command after `run`'s flags is not ours.
        let arg = cmd
            .get_positionals()
            .find(|a| a.get_index() == Some(positionals + 1))
            .or_else(|| cmd.get_positionals().last().filter(|a| a.get_num_args().is_some_and(|r| r.max_values() > 1)));
        positionals += 1;
        if arg.is_some_and(|a| a.is_trailing_var_arg_set() || a.is_last_set()) {
            return None;
        }
        if private {
            let label = match arg.and_then(|a| a.get_value_names()).and_then(|v| v.first()) {
                Some(name) => format!("<{name}>"),
                None => match arg {
                    Some(a) => format!("<{}>", a.get_id().as_str().to_uppercase()),
                    None => "argument".to_string(),
                },
            };
            let n = nth(&label);
            return Some(if arg.is_some() {
                refusal(&format!("the {n} {label} argument"), &label)
            } else {
                refusal(&format!("argument {i} of the command line"), &label)
            });
        }
    }
    None
}

/// An argument of the innermost command, or a global one of a command above it.
fn find_arg<'a>(path: &[&'a Command], pick: impl Fn(&Arg) -> bool) -> Option<&'a Arg> {
    path.iter().rev().find_map(|c| c.get_arguments().find(|a| pick(a)))
}

fn refusal(which: &str, flag: &str) -> String {
    if flag == "--recipient" {
        format!("{which} is a private key; pass its public key (age1… or ssh-…). It was not printed; keep private keys off command lines")
    } else {
        format!("{which} holds a private key. It was not printed; keep private keys off command lines (pass the path of a file, or a public key)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        std::iter::once("keyloom").chain(args.iter().copied()).map(OsString::from).collect()
    }

    /// Every path through the command tree, e.g. ["cert", "issue"], leaves only.
    fn leaves(cmd: &Command, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        let subs: Vec<&Command> = cmd.get_subcommands().filter(|c| c.get_name() != "help").collect();
        if subs.is_empty() {
            out.push(prefix);
            return;
        }
        // A command with subcommands is itself a usage error without one.
        out.push(prefix.clone());
        for s in subs {
            let mut p = prefix.clone();
            p.push(s.get_name().to_string());
            leaves(s, p, out);
        }
    }

    #[test]
    fn a_usage_error_exits_1_on_every_command() {
        let mut paths = Vec::new();
        leaves(&Cli::command(), Vec::new(), &mut paths);
        assert!(paths.len() > 60, "walked only {} commands", paths.len());
        for path in &paths {
            let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
            args.push("--no-such-flag");
            let exit = parse_from(os(&args)).err().unwrap_or_else(|| panic!("{args:?} parsed"));
            assert_eq!(exit.code, 1, "{args:?}: {}", exit.message);
            assert!(exit.to_stderr, "{args:?}");
            // Without the bad flag, a leaf's help still exits 0.
            let mut help: Vec<&str> = path.iter().map(String::as_str).collect();
            help.push("--help");
            let exit = parse_from(os(&help)).err().unwrap_or_else(|| panic!("{help:?} parsed"));
            assert_eq!((exit.code, exit.to_stderr), (0, false), "{help:?}");
        }
    }

    #[test]
    fn help_and_version_exit_0_and_a_missing_subcommand_exits_1() {
        for args in [&["--help"][..], &["--version"], &["help"], &["help", "cert"], &["cert", "issue", "-h"]] {
            let exit = parse_from(os(args)).err().unwrap_or_else(|| panic!("{args:?} parsed"));
            assert_eq!((exit.code, exit.to_stderr), (0, false), "{args:?}");
        }
        for args in [&[][..], &["cert"], &["cert", "list", "--all"], &["unlock", "--ttl", "-5m"], &["intent", "add"]] {
            let exit = parse_from(os(args)).err().unwrap_or_else(|| panic!("{args:?} parsed"));
            assert_eq!(exit.code, 1, "{args:?}: {}", exit.message);
        }
    }

    const AGE_ID: &str = "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS3L5YU6";
    const SSH_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n";
    const PUB: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

    fn refused(args: &[&str]) -> String {
        let exit = parse_from(os(args)).err().unwrap_or_else(|| panic!("{args:?} parsed"));
        assert_eq!(exit.code, 1, "{args:?}");
        assert!(!exit.message.contains("QYQSZQGP") && !exit.message.contains("b3BlbnNzaC1"), "{}", exit.message);
        exit.message
    }

    #[test]
    fn private_keys_are_refused_by_position_and_never_quoted() {
        let export = ["export", "pay", "--format", "age", "--out", "x"];
        let with = |extra: &[&'static str]| -> Vec<&'static str> { export.iter().chain(extra).copied().collect() };
        let m = refused(&with(&["--recipient", PUB, "--recipient", AGE_ID]));
        assert!(m.contains("the 2nd --recipient is a private key; pass its public key"), "{m}");
        let m = refused(&with(&["--recipient", SSH_KEY]));
        assert!(m.contains("the 1st --recipient is a private key"), "{m}");
        let inline = format!("--recipient={AGE_ID}");
        let mut args = export.to_vec();
        args.extend([inline.as_str(), "--recipient", PUB]);
        let m = refused(&args);
        assert!(m.contains("the 1st --recipient is a private key"), "{m}");
        let m = refused(&["cert", "import", "c.pem", "--service", "pay", "--key", SSH_KEY]);
        assert!(m.contains("the 1st --key holds a private key"), "{m}");
        let m = refused(&["cert", "import", SSH_KEY, "--service", "pay", "--key", "k.pem"]);
        assert!(m.contains("the 1st <FILE> argument holds a private key"), "{m}");
        let m = refused(&["recover", "--recovery-key-file", AGE_ID]);
        assert!(m.contains("the 1st --recovery-key-file"), "{m}");
        let m = refused(&["--vault", AGE_ID, "status"]);
        assert!(m.contains("the 1st --vault"), "{m}");
        let m = refused(&["cert", "list", "--all", AGE_ID]);
        assert!(m.contains("argument 4 of the command line"), "{m}");
        let m = refused(&["inject", "-i", SSH_KEY, "-o", "out"]);
        assert!(m.contains("the 1st --in"), "{m}");
        // The child's own arguments under `run` are not Keyloom's to judge.
        assert!(parse_from(os(&["run", "--service", "pay", "--", "printf", AGE_ID])).is_ok());
        assert!(parse_from(os(&["run", "--service", "pay", "printf", AGE_ID])).is_ok());
    }
}
