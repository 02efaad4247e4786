//! `keyloom run`: what the child process's environment holds. The child gets the service's
//! secrets and the paths of its TLS files, and nothing that would let it open the vault.

use std::ffi::OsStr;

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

#[cfg(test)]
mod tests {
    use super::*;

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
