//! Generated secret values: uniform over a chosen alphabet, from the OS random source.

use rand::distributions::{Distribution, Uniform};
use secrecy::SecretSlice;

use crate::error::{Error, Result};

/// Alphabets for generated secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum Charset {
    /// A–Z, a–z, 0–9: safe in URLs, shells and config files.
    #[default]
    Alphanumeric,
    /// Alphanumerics plus punctuation that needs no quoting in most shells.
    Symbols,
    /// Lowercase hexadecimal.
    Hex,
    /// Digits only (PINs).
    Digits,
}

impl Charset {
    fn alphabet(self) -> &'static [u8] {
        match self {
            Charset::Alphanumeric => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            Charset::Symbols => b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.,:;+=@%^~",
            Charset::Hex => b"0123456789abcdef",
            Charset::Digits => b"0123456789",
        }
    }

    /// Parses a charset name as the CLI spells it.
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "alphanumeric" | "alnum" => Ok(Charset::Alphanumeric),
            "symbols" => Ok(Charset::Symbols),
            "hex" => Ok(Charset::Hex),
            "digits" => Ok(Charset::Digits),
            other => Err(Error::unknown_choice(
                crate::error::Choice::Charset,
                other,
                ["alphanumeric", "symbols", "hex", "digits"],
            )),
        }
    }
}

/// Shortest and longest generated secret.
pub const GENERATED_LEN: std::ops::RangeInclusive<usize> = 8..=4096;

/// Generates `len` characters drawn uniformly from `charset`.
pub fn generate_secret(len: usize, charset: Charset) -> Result<SecretSlice<u8>> {
    let (min, max) = (*GENERATED_LEN.start() as u64, *GENERATED_LEN.end() as u64);
    Error::check_range(crate::error::Quantity::GeneratedLength, len as u64, min..=max)?;
    let alphabet = charset.alphabet();
    let dist = Uniform::from(0..alphabet.len());
    let mut rng = rand::rngs::OsRng;
    let value: Vec<u8> = (0..len).map(|_| alphabet[dist.sample(&mut rng)]).collect();
    Ok(SecretSlice::from(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn length_alphabet_and_uniqueness() {
        let a = generate_secret(32, Charset::Hex).unwrap();
        let b = generate_secret(32, Charset::Hex).unwrap();
        assert_eq!(a.expose_secret().len(), 32);
        assert!(a.expose_secret().iter().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(generate_secret(4, Charset::Hex).is_err());
    }
}
