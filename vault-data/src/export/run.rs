//! `keyloom run`: what the child process's environment holds. The child gets the service's
//! secrets and the paths of its TLS files, and nothing that would let it open the vault.

use std::ffi::OsStr;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::export::envfile;

/// The prefix of every environment variable Keyloom reads: `KEYLOOM_PASSPHRASE`,
/// `KEYLOOM_NEW_PASSPHRASE`, `KEYLOOM_VAULT`, `KEYLOOM_SCRYPT_LOG_N`, and whatever comes later (a
/// session, agent socket or key-file variable). A passphrase or key variable in a child's hands
/// opens the whole vault to it, so `run` withholds every inherited variable with this prefix: a
/// list would let the next new variable slip past. (The agent's socket is found through
/// `XDG_RUNTIME_DIR`, which the child keeps; the agent refuses `run` descendants itself.)
pub const KEYLOOM_PREFIX: &str = "KEYLOOM_";

/// The variables `run` sets to the paths of the service's TLS files, with the bundle file each
/// points to. They are the only `KEYLOOM_` variables a child sees, and only those `run` itself set.
pub const TLS_VARIABLES: [(&str, &str); 3] = [
    ("tls/chain.pem", "KEYLOOM_TLS_CERT"),
    ("tls/key.pem", "KEYLOOM_TLS_KEY"),
    ("tls/ca-inbound.pem", "KEYLOOM_TLS_CA"),
];

/// Whether `run` removes the inherited variable `name` from the child's environment (see
/// [`KEYLOOM_PREFIX`]). An inherited `KEYLOOM_TLS_*`, from an outer `run`, goes too: the child
/// gets only the TLS paths of the service it runs as.
pub fn withheld_from_child(name: &OsStr) -> bool {
    name.as_encoded_bytes().starts_with(KEYLOOM_PREFIX.as_bytes())
}

/// The variable `run` sets to the path of bundle file `path`, if it sets one.
pub fn tls_variable(path: &str) -> Option<&'static str> {
    TLS_VARIABLES.iter().find(|(file, _)| *file == path).map(|(_, var)| *var)
}

/// How `run` hands one secret to the child.
pub enum RunSecret {
    /// A text value, as the environment variable `name`.
    Env {
        /// The variable (the secret's name).
        name: String,
        /// The value.
        value: Zeroizing<Vec<u8>>,
    },
    /// A binary value (not UTF-8, or holding a NUL byte, which no environment variable can
    /// carry): written to `file` (relative to `run`'s 0700 temporary directory, mode 0600),
    /// whose path the child finds in the variable `variable`, `<NAME>_FILE` (the convention of
    /// many container images).
    File {
        /// The variable holding the file's path.
        variable: String,
        /// The file, relative to the temporary directory.
        file: String,
        /// The value.
        value: Zeroizing<Vec<u8>>,
    },
}

impl std::fmt::Debug for RunSecret {
    // Never the value.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunSecret::Env { name, .. } => write!(f, "Env({name})"),
            RunSecret::File { variable, file, .. } => write!(f, "File({variable} = {file})"),
        }
    }
}

/// How `run` passes each of `service`'s secrets (from its `secrets.json`): text in the
/// environment, binary values as files (see [`RunSecret::File`]). Refused, naming the service and
/// secret, when a binary value's `<NAME>_FILE` variable is also a secret's name or a TLS variable.
pub fn plan(service: &str, secrets: Vec<(String, Zeroizing<Vec<u8>>)>) -> Result<Vec<RunSecret>> {
    let taken: Vec<String> = secrets.iter().map(|(n, _)| n.clone()).collect();
    secrets
        .into_iter()
        .map(|(name, value)| {
            if envfile::is_text(&value) {
                return Ok(RunSecret::Env { name, value });
            }
            let variable = format!("{name}_FILE");
            if taken.contains(&variable) || TLS_VARIABLES.iter().any(|(_, v)| *v == variable) {
                return Err(Error::Invalid(format!(
                    "{service}/{name} is binary, so `run` passes it as a file named by {variable}, but \
                     {service}/{variable} is a secret too; rename one of them"
                )));
            }
            Ok(RunSecret::File { variable, file: format!("secrets/{name}"), value })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_values_become_files() {
        let v = |b: &[u8]| Zeroizing::new(b.to_vec());
        let p = plan("svc", vec![("A".into(), v(b"it's \"x\"\n")), ("B".into(), v(b"\x00\xff"))]).unwrap();
        assert_eq!(format!("{p:?}"), "[Env(A), File(B_FILE = secrets/B)]");
        let err = plan("svc", vec![("B".into(), v(b"\xff")), ("B_FILE".into(), v(b"x"))]).unwrap_err();
        assert!(err.to_string().contains("svc/B is binary") && err.to_string().contains("svc/B_FILE"), "{err}");
    }

    #[test]
    fn every_variable_keyloom_reads_is_withheld() {
        for name in [
            "KEYLOOM_PASSPHRASE",
            "KEYLOOM_NEW_PASSPHRASE",
            "KEYLOOM_SESSION",
            "KEYLOOM_VAULT",
            "KEYLOOM_AGENT_SOCK",
            "KEYLOOM_KEY_FILE",
            "KEYLOOM_TLS_CERT",
        ] {
            assert!(withheld_from_child(OsStr::new(name)), "{name}");
        }
        for name in ["PATH", "HOME", "KEYLOOM", "MY_KEYLOOM_VAULT", "keyloom_vault"] {
            assert!(!withheld_from_child(OsStr::new(name)), "{name}");
        }
        assert_eq!(tls_variable("tls/key.pem"), Some("KEYLOOM_TLS_KEY"));
        assert_eq!(tls_variable("tls/ca-outbound.pem"), None);
    }
}
