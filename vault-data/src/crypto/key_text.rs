//! Recognising private-key text where only public text belongs (a recipient, a file path, any
//! argument), so front ends can refuse it by position and never echo it: an error that quotes
//! the value would print the key to a terminal, a CI log or a bug report.

/// Whether `text` holds a private key: an age identity (`AGE-SECRET-KEY-1…`, or a plugin identity
/// `AGE-PLUGIN-…-1…`), a PEM or OpenSSH private key (`-----BEGIN … PRIVATE KEY-----`, PGP's
/// `PRIVATE KEY BLOCK` too) or a PuTTY key file. Anywhere in the text and in any letter case,
/// since people paste whole files (`"$(cat id_ed25519)"`, `"$(grep AGE-SECRET age-identity.txt)"`).
pub fn looks_like_private_key(text: &str) -> bool {
    let upper = text.to_ascii_uppercase();
    if upper.contains("AGE-SECRET-KEY-1") || upper.contains("PUTTY-USER-KEY-FILE-") {
        return true;
    }
    if upper.match_indices("AGE-PLUGIN-").any(|(i, _)| is_plugin_identity(&upper[i + "AGE-PLUGIN-".len()..])) {
        return true;
    }
    // A PEM armour line: "-----BEGIN <label>-----" whose label names a private key. The label is
    // read up to the closing dashes, or to the end of the line when a paste lost them.
    upper.match_indices("-----BEGIN").any(|(i, _)| {
        let rest = &upper[i + "-----BEGIN".len()..];
        let end = rest.find("-----").or_else(|| rest.find('\n')).unwrap_or(rest.len());
        rest[..end].contains("PRIVATE KEY")
    })
}

/// `AGE-PLUGIN-<NAME>-1<bech32>`: the plugin name, then the bech32 separator and data.
fn is_plugin_identity(after_prefix: &str) -> bool {
    let name_len = after_prefix.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'-').count();
    let token = &after_prefix[..name_len];
    token.rfind("-1").is_some_and(|i| i > 0 && token.len() > i + 2)
}

/// `1st`, `2nd`, `3rd`, `4th`, `11th`, `21st`…: how an error names the n-th (from 1) of several
/// values without quoting any of them.
pub fn ordinal(n: usize) -> String {
    let suffix = match (n % 10, n % 100) {
        (_, 11..=13) => "th",
        (1, _) => "st",
        (2, _) => "nd",
        (3, _) => "rd",
        _ => "th",
    };
    format!("{n}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_keys_of_every_kind_are_recognised() {
        for key in [
            "AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQS3L5YU6",
            "# created: 2024-01-01\n# public key: age1xyz\nAGE-SECRET-KEY-1ABC\n",
            "age-secret-key-1qyqszqgp",
            "AGE-PLUGIN-YUBIKEY-1QQSZQGPQYQSZQGPQYQSZQGP",
            "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG\n-----END PRIVATE KEY-----\n",
            "-----BEGIN EC PRIVATE KEY-----\nMHcC",
            "-----BEGIN RSA PRIVATE KEY-----",
            "-----BEGIN ENCRYPTED PRIVATE KEY-----",
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----",
            "-----BEGIN PGP PRIVATE KEY BLOCK-----",
            "-----BEGIN OPENSSH PRIVATE KEY b3BlbnNzaC1rZXktdjEAAAAA",
            "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none",
            "--recipient=AGE-SECRET-KEY-1QYQSZ",
        ] {
            assert!(looks_like_private_key(key), "{key:?}");
        }
    }

    #[test]
    fn public_keys_and_ordinary_text_are_not_private_keys() {
        for text in [
            "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@host",
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
            "-----BEGIN PUBLIC KEY-----\nMCow\n-----END PUBLIC KEY-----",
            "-----BEGIN CERTIFICATE REQUEST-----",
            "AGE-PLUGIN-",
            "payments/STRIPE_KEY",
            "private key.pem",
            "",
        ] {
            assert!(!looks_like_private_key(text), "{text:?}");
        }
    }

    #[test]
    fn ordinals() {
        let got: Vec<String> = [1, 2, 3, 4, 10, 11, 12, 13, 21, 22, 23, 101, 111, 112].map(ordinal).into();
        assert_eq!(
            got,
            [
                "1st", "2nd", "3rd", "4th", "10th", "11th", "12th", "13th", "21st", "22nd", "23rd", "101st", "111th",
                "112th"
            ]
        );
    }
}
