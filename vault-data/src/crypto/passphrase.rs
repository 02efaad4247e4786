//! Passphrase policy: the scrypt cost of the passphrase slot, and strength estimation.

use serde::Serialize;

/// The lowest scrypt work factor (log2 N) a shipped front end may accept from a user.
///
/// 2^14 with r = 8 is scrypt's original interactive-login recommendation; anything lower makes
/// offline guessing cheap. Tests use it to keep each unlock near 30 ms; real vaults use age's
/// calibrated default (about one second).
pub const MIN_SCRYPT_LOG_N: u8 = 14;

/// Largest work factor accepted when unlocking; stops a tampered slot from asking for hours of work.
pub(crate) const MAX_SCRYPT_LOG_N: u8 = 22;

/// How expensive the passphrase slot's key derivation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KdfCost {
    /// age's calibrated default: about one second on the machine that sets the passphrase.
    #[default]
    Calibrated,
    /// An explicit scrypt log2(N). Front ends refuse values below [`MIN_SCRYPT_LOG_N`]; the library
    /// accepts lower ones so its own tests stay fast.
    LogN(u8),
}

impl KdfCost {
    /// An explicit cost, refused below [`MIN_SCRYPT_LOG_N`] or above the unlock cap.
    pub fn checked(log_n: u8) -> crate::Result<Self> {
        if !(MIN_SCRYPT_LOG_N..=MAX_SCRYPT_LOG_N).contains(&log_n) {
            return Err(crate::Error::Invalid(format!(
                "scrypt work factor {log_n} is outside the safe range {MIN_SCRYPT_LOG_N}..={MAX_SCRYPT_LOG_N}"
            )));
        }
        Ok(KdfCost::LogN(log_n))
    }
}

/// An estimate of how hard a passphrase is to guess, from zxcvbn.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Strength {
    /// 0 (trivial) to 4 (very strong).
    pub score: u8,
    /// log10 of the estimated guesses needed.
    pub guesses_log10: f64,
    /// A hint to make it stronger, if zxcvbn has one.
    pub suggestion: Option<String>,
}

impl Strength {
    /// Scores below 3 are weak enough to warn about.
    pub fn is_weak(&self) -> bool {
        self.score < 3
    }
}

/// Estimates a passphrase's strength. The passphrase itself never leaves this function.
pub fn estimate_strength(passphrase: &str) -> Strength {
    let entropy = zxcvbn::zxcvbn(passphrase, &[]);
    let suggestion = entropy
        .feedback()
        .and_then(|f| f.warning().map(|w| w.to_string()).or_else(|| f.suggestions().first().map(|s| s.to_string())));
    Strength { score: u8::from(entropy.score()), guesses_log10: entropy.guesses_log10(), suggestion }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_and_strong() {
        assert!(estimate_strength("password").is_weak());
        assert!(!estimate_strength("vivid-otter-cobalt-harbor-71").is_weak());
    }

    #[test]
    fn floor_enforced() {
        assert!(KdfCost::checked(MIN_SCRYPT_LOG_N - 1).is_err());
        assert!(KdfCost::checked(MIN_SCRYPT_LOG_N).is_ok());
        assert!(KdfCost::checked(30).is_err());
    }
}
