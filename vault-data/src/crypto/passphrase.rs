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
        let safe = u64::from(MIN_SCRYPT_LOG_N)..=u64::from(MAX_SCRYPT_LOG_N);
        crate::Error::check_range(crate::error::Quantity::ScryptWorkFactor, log_n.into(), safe)?;
        Ok(KdfCost::LogN(log_n))
    }
}

/// The one rule for new passphrases, shared by the CLI and the desktop app.
///
/// zxcvbn scores a passphrase 0 (trivial) to 4 (very strong). Below [`PassphrasePolicy::refuse_below`]
/// a new passphrase is refused outright; below [`PassphrasePolicy::warn_below`] it is accepted with
/// a warning. The two shells used to disagree (the desktop refused scores under 2, the CLI only
/// warned under 3); [`PassphrasePolicy::STANDARD`] keeps both: refuse under 2, warn under 3.
/// Score 2 is "safely unguessable" by an online attacker (about 10^8 guesses); the vault's scrypt
/// slot slows offline guessing further, so 2 is the floor and 3 the goal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassphrasePolicy {
    /// Scores below this are refused.
    pub refuse_below: u8,
    /// Scores below this (and at least [`PassphrasePolicy::refuse_below`]) are accepted with a warning.
    pub warn_below: u8,
}

impl Default for PassphrasePolicy {
    fn default() -> Self {
        PassphrasePolicy::STANDARD
    }
}

/// Why a refused passphrase was refused; the same words in both shells.
pub const TOO_WEAK: &str = "this passphrase is too easy to guess: use four or more random words";

impl PassphrasePolicy {
    /// The rule every front end applies to a new passphrase: refuse under 2, warn under 3.
    pub const STANDARD: PassphrasePolicy = PassphrasePolicy { refuse_below: 2, warn_below: 3 };

    /// Scores a passphrase and gives this policy's verdict. The passphrase itself never leaves
    /// this function (zxcvbn's feedback names patterns, not the text).
    pub fn judge(&self, passphrase: &str) -> Strength {
        let entropy = zxcvbn::zxcvbn(passphrase, &[]);
        let suggestion = entropy.feedback().and_then(|f| {
            f.warning().map(|w| w.to_string()).or_else(|| f.suggestions().first().map(|s| s.to_string()))
        });
        let score = u8::from(entropy.score());
        Strength {
            score,
            guesses_log10: entropy.guesses_log10(),
            acceptable: score >= self.refuse_below,
            weak: score < self.warn_below,
            suggestion,
        }
    }

    /// The verdict on a new passphrase, or an error when the policy refuses it. Call it where a
    /// passphrase is about to be set, after the current factor is proven, so a wrong current
    /// passphrase is still reported as such.
    pub fn check_new(&self, passphrase: &str) -> crate::Result<Strength> {
        let verdict = self.judge(passphrase);
        if !verdict.acceptable {
            return Err(crate::Error::Invalid(TOO_WEAK.into()));
        }
        Ok(verdict)
    }
}

/// The policy's verdict on a passphrase: zxcvbn's estimate of how hard it is to guess, and
/// whether a new passphrase may be set to it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Strength {
    /// 0 (trivial) to 4 (very strong).
    pub score: u8,
    /// log10 of the estimated guesses needed.
    pub guesses_log10: f64,
    /// Whether the policy allows it as a new passphrase; front ends refuse it otherwise.
    pub acceptable: bool,
    /// Whether it is weak enough to warn about (always true when not acceptable).
    pub weak: bool,
    /// A hint to make it stronger, if zxcvbn has one.
    pub suggestion: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_and_strong() {
        let p = PassphrasePolicy::STANDARD;
        assert!(p.judge("password").weak);
        assert!(!p.judge("vivid-otter-cobalt-harbor-71").weak);
    }

    #[test]
    fn refuses_below_two_and_warns_below_three() {
        let p = PassphrasePolicy::STANDARD;
        for weak in ["password", "123456", "qwerty", "letmein1", "aaaaaaaa"] {
            let v = p.judge(weak);
            assert!(v.score < 2 && !v.acceptable && v.weak, "{weak}: {v:?}");
            let err = p.check_new(weak).unwrap_err();
            assert_eq!(err.category(), crate::ErrorCategory::User);
            assert!(!err.to_string().contains(weak), "the error never echoes the passphrase");
        }
        // Every verdict agrees with its score: refused under 2, warned under 3, never both ways.
        for text in ["password", "Tr0ub4dour", "Tr0ub4dour&3", "kitchen pony", "vivid otter cobalt harbor 71"] {
            let v = p.judge(text);
            assert_eq!(v.acceptable, v.score >= 2, "{text}: {v:?}");
            assert_eq!(v.weak, v.score < 3, "{text}: {v:?}");
            assert_eq!(p.check_new(text).is_ok(), v.acceptable);
        }
    }

    #[test]
    fn passphrases_the_tests_and_docs_use_are_accepted() {
        // The test suites set these as new passphrases through the CLI; the refusal must not break them.
        for ok in [
            "correct horse battery staple",
            "vivid otter cobalt harbor 71",
            "a much newer passphrase 42",
            "attacker chosen passphrase",
            "a whole new passphrase here",
            "a brand new passphrase for this vault",
            "new passphrase canary",
        ] {
            assert!(
                PassphrasePolicy::STANDARD.check_new(ok).is_ok(),
                "{ok}: {:?}",
                PassphrasePolicy::STANDARD.judge(ok)
            );
        }
    }

    #[test]
    fn a_stricter_policy_moves_both_lines() {
        let strict = PassphrasePolicy { refuse_below: 4, warn_below: 4 };
        let v = strict.judge("kitchen pony");
        assert!(v.score < 4 && !v.acceptable && v.weak);
    }

    #[test]
    fn floor_enforced() {
        assert!(KdfCost::checked(MIN_SCRYPT_LOG_N - 1).is_err());
        assert!(KdfCost::checked(MIN_SCRYPT_LOG_N).is_ok());
        assert!(KdfCost::checked(30).is_err());
    }
}
