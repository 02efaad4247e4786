//! The one name rule for everything a name turns into outside the vault.
//!
//! A service name becomes a directory and a file name (`export --env` writes `<service>/`), a DNS
//! label and SPIFFE path segment in certificates, a Kubernetes object name and a KV path; an
//! environment name and a CA name go the same ways. So they all follow the strictest of those:
//! an RFC 1123 DNS label, `[a-z0-9]([a-z0-9-]*[a-z0-9])?`, 1–63 characters. Such a name can never
//! be `.` or `..`, start with a dot, hold a slash, whitespace, a control character, uppercase or
//! anything outside ASCII, so it is safe as a single path component on every platform and needs
//! no escaping in shells, YAML or URLs. Names are unique regardless of case, so two records can
//! never land on the same path on a case-insensitive file system (macOS, Windows).
//!
//! Secret names become environment variables (`keyloom run`, `secrets.env`) and file names in
//! bundles, so they are portable environment names: `[A-Za-z_][A-Za-z0-9_]*`, at most 128
//! characters. Case matters for environment variables, so `DB_URL` and `db_url` may coexist.
//!
//! Vaults written before this rule may hold names that break it. Lookups still find them by their
//! exact name; [`crate::Vault::name_problems`] lists them and the rename operations fix them.

use serde::Serialize;

/// Longest service, CA or environment name: one DNS label.
pub const MAX_LABEL_LEN: usize = 63;

/// Longest secret name. Environment variables have no fixed limit; this keeps bundles and
/// listings readable.
pub const MAX_SECRET_NAME_LEN: usize = 128;

/// What a name names; each kind has its rule and its wording in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum NameKind {
    /// A service.
    Service,
    /// A certificate authority.
    Ca,
    /// An environment (a field of services).
    Environment,
    /// A secret (credential) of a service.
    Secret,
}

impl NameKind {
    /// The word used in messages ("service", "CA", ...).
    pub fn label(self) -> &'static str {
        match self {
            NameKind::Service => "service",
            NameKind::Ca => "CA",
            NameKind::Environment => "environment",
            NameKind::Secret => "secret",
        }
    }

    fn rule(self) -> &'static str {
        match self {
            NameKind::Secret => {
                "a secret name is an environment variable name: up to 128 letters, digits and '_', not starting \
                 with a digit"
            }
            _ => {
                "use 1–63 lowercase letters, digits and '-', starting and ending with a letter or digit (the name \
                 becomes a directory, a DNS label and a Kubernetes name)"
            }
        }
    }
}

/// The names among `known` close enough to `name` to be what was meant (a typo, a letter case,
/// a prefix), closest first, at most three.
pub fn closest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let wanted = folded(name);
    // Up to one edit per four characters (at least one): "prdo" finds "prod", "payments-apj"
    // finds "payments-api", but "db" does not find "ui".
    let limit = (wanted.chars().count() / 4).max(1);
    let mut scored: Vec<(usize, &str)> = known
        .into_iter()
        .filter_map(|k| {
            let f = folded(k);
            let d = strsim::damerau_levenshtein(&wanted, &f);
            let prefix = wanted.len() >= 3 && f.starts_with(&wanted);
            (d <= limit || prefix).then_some((if prefix { d.min(limit) } else { d }, k))
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored.into_iter().take(3).map(|(_, k)| k.to_string()).collect()
}

/// The form under which names must be unique: `Payments` and `payments` fold to the same key, so
/// they can never both exist (they would be one directory on a case-insensitive file system).
pub fn folded(name: &str) -> String {
    name.to_lowercase()
}

/// Whether `name` is a valid DNS label: `[a-z0-9]([a-z0-9-]*[a-z0-9])?`, 1–63 characters. This is
/// the rule for services, CAs and environments.
pub fn is_label(name: &str) -> bool {
    let b = name.as_bytes();
    let inner = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty()
        && b.len() <= MAX_LABEL_LEN
        && b.first().is_some_and(inner)
        && b.last().is_some_and(inner)
        && b.iter().all(|c| inner(c) || *c == b'-')
}

/// Whether `name` is a portable environment variable name, `[A-Za-z_][A-Za-z0-9_]*` (at most
/// [`MAX_SECRET_NAME_LEN`] characters). This is the rule for secrets.
pub fn is_env_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_SECRET_NAME_LEN
        && !b[0].is_ascii_digit()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// Whether `name` follows the rule for `kind`.
pub fn is_valid(kind: NameKind, name: &str) -> bool {
    match kind {
        NameKind::Secret => is_env_name(name),
        _ => is_label(name),
    }
}

/// A name as messages show it: quoted with escapes (so control characters and spaces are
/// visible), and cut short when it is long, so a pasted blob does not flood the terminal.
pub fn shown(name: &str) -> String {
    const MAX: usize = 64;
    if name.chars().count() <= MAX {
        format!("{name:?}")
    } else {
        let head: String = name.chars().take(MAX).collect();
        format!("{head:?}… ({} characters)", name.chars().count())
    }
}

/// Why `name` breaks the rule for `kind` (the first reason found), or `None` when it follows it.
pub fn problem(kind: NameKind, name: &str) -> Option<String> {
    if is_valid(kind, name) {
        return None;
    }
    let len = name.chars().count();
    let max = if kind == NameKind::Secret { MAX_SECRET_NAME_LEN } else { MAX_LABEL_LEN };
    let reason = if name.is_empty() {
        "is empty".to_string()
    } else if len > max {
        format!("is {len} characters long; the limit is {max}")
    } else if name == "." || name == ".." {
        "is a path to a directory, not a name".to_string()
    } else if let Some(c) = name.chars().find(|c| c.is_whitespace() || c.is_control()) {
        format!("contains whitespace or a control character ({c:?})")
    } else if let Some(c) = name.chars().find(|c| !c.is_ascii()) {
        format!("contains {c:?}, which is not ASCII")
    } else if kind == NameKind::Secret {
        if name.as_bytes()[0].is_ascii_digit() {
            "starts with a digit".to_string()
        } else {
            let c = name.chars().find(|c| !c.is_ascii_alphanumeric() && *c != '_').unwrap_or('?');
            format!("contains {c:?}")
        }
    } else if name.chars().any(|c| c.is_ascii_uppercase()) {
        "has uppercase letters".to_string()
    } else if let Some(c) = name.chars().find(|c| !c.is_ascii_alphanumeric() && *c != '-') {
        format!("contains {c:?}")
    } else {
        "starts or ends with '-'".to_string()
    };
    Some(reason)
}

/// Checks `name` against the rule for `kind`; the error says what is wrong and what the rule is.
/// Every place that creates or changes a name calls this before anything is written.
pub fn check(kind: NameKind, name: &str) -> crate::Result<()> {
    match problem(kind, name) {
        None => Ok(()),
        Some(why) => {
            let mut msg =
                format!("{} name {} is not valid: it {why}. {}", kind.label(), shown(name), capital(kind.rule()));
            let suggestion = suggest(kind, name);
            if !suggestion.is_empty() && suggestion != name {
                msg.push_str(&format!(". Try {suggestion:?}"));
            }
            Err(crate::Error::Invalid(msg))
        }
    }
}

fn capital(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// Folds a Latin letter with a diacritic to its base letters (`ő` → `o`, `ß` → `ss`), so names
/// derived from certificate subjects stay readable. Others map to `None`.
fn fold(c: char) -> Option<&'static str> {
    Some(match c {
        'à'..='å' | 'ā' | 'ă' | 'ą' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => "c",
        'ď' | 'đ' | 'ð' => "d",
        'è'..='ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => "e",
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => "g",
        'ĥ' | 'ħ' => "h",
        'ì'..='ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => "i",
        'ĵ' => "j",
        'ķ' => "k",
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => "l",
        'ñ' | 'ń' | 'ņ' | 'ň' => "n",
        'ò'..='ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => "o",
        'œ' => "oe",
        'ŕ' | 'ŗ' | 'ř' => "r",
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => "s",
        'ß' => "ss",
        'ţ' | 'ť' | 'ŧ' | 'ț' => "t",
        'þ' => "th",
        'ù'..='ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => "u",
        'ŵ' => "w",
        'ý' | 'ÿ' | 'ŷ' => "y",
        'ź' | 'ż' | 'ž' => "z",
        _ => return None,
    })
}

/// Turns any text (a certificate subject, an old name) into a DNS label: lowercase ASCII letters
/// and digits, every other run of characters one `-`, at most 63 characters. Returns an empty
/// string when nothing usable is left (e.g. only punctuation or a non-Latin script).
pub fn slugify(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_LABEL_LEN));
    let mut gap = false;
    for c in text.chars().flat_map(char::to_lowercase) {
        // Combining marks (U+0300–U+036F) belong to the letter before: dropping them leaves it.
        if ('\u{300}'..='\u{36f}').contains(&c) {
            continue;
        }
        let piece = if c.is_ascii_alphanumeric() { None } else { fold(c) };
        if c.is_ascii_alphanumeric() || piece.is_some() {
            if gap && !out.is_empty() {
                out.push('-');
            }
            gap = false;
            match piece {
                Some(p) => out.push_str(p),
                None => out.push(c),
            }
        } else {
            gap = true;
        }
        if out.len() >= MAX_LABEL_LEN {
            break;
        }
    }
    out.truncate(MAX_LABEL_LEN);
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// Turns text into a portable environment name: ASCII letters, digits and `_`, every other run
/// of characters one `_`, a leading digit prefixed with `_`. Empty when nothing usable is left.
pub fn env_name_from(text: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for c in text.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.push(c);
        } else {
            gap = true;
        }
    }
    if out.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        out.insert(0, '_');
    }
    out.truncate(MAX_SECRET_NAME_LEN);
    out
}

/// A valid name for `kind` close to `name` (empty when nothing usable is left).
pub fn suggest(kind: NameKind, name: &str) -> String {
    match kind {
        NameKind::Secret => env_name_from(name),
        _ => slugify(name),
    }
}

/// `base` (a valid label), or `base-2`, `base-3`, ... the first that `taken` does not claim; the
/// base is shortened when the suffix would pass 63 characters.
pub fn unique_label(base: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_string();
    }
    let mut n = 2u64;
    loop {
        let suffix = format!("-{n}");
        let mut head = base[..base.len().min(MAX_LABEL_LEN - suffix.len())].to_string();
        while head.ends_with('-') {
            head.pop();
        }
        let candidate = format!("{head}{suffix}");
        if !taken(&candidate) {
            return candidate;
        }
        n += 1;
    }
}

/// `base` (a valid secret name), or `base_2`, `base_3`, ... the first that `taken` does not claim.
pub fn unique_env_name(base: &str, taken: impl Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_string();
    }
    let mut n = 2u64;
    loop {
        let suffix = format!("_{n}");
        let head = &base[..base.len().min(MAX_SECRET_NAME_LEN - suffix.len())];
        let candidate = format!("{head}{suffix}");
        if !taken(&candidate) {
            return candidate;
        }
        n += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_dns_label_rule() {
        for ok in ["a", "payments", "payments-eu", "a1", "0", "x-y-z", &"a".repeat(63)] {
            assert!(is_label(ok), "{ok:?}");
            assert!(check(NameKind::Service, ok).is_ok());
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "a/b",
            " x",
            "x ",
            "Payments",
            "pay ments",
            "café",
            "-a",
            "a-",
            "a_b",
            "a.b",
            "a\n",
            "\u{200b}a",
            &"a".repeat(64),
        ] {
            assert!(!is_label(bad), "{bad:?}");
            let err = check(NameKind::Environment, bad).unwrap_err().to_string();
            assert!(err.starts_with("environment name "), "{err}");
            assert!(err.contains("lowercase letters, digits and '-'"), "{err}");
        }
    }

    #[test]
    fn secret_names_are_portable_env_names() {
        for ok in ["A", "_", "STRIPE_KEY", "db_url", "_X1", &"A".repeat(128)] {
            assert!(is_env_name(ok), "{ok:?}");
        }
        for bad in ["", "1X", "A-B", "A B", "A.B", "A/B", "É", "A=B", &"A".repeat(129)] {
            assert!(!is_env_name(bad), "{bad:?}");
            assert!(check(NameKind::Secret, bad).unwrap_err().to_string().contains("environment variable"));
        }
        assert!(problem(NameKind::Secret, "1X").unwrap().contains("starts with a digit"));
        assert!(problem(NameKind::Secret, "A-B").unwrap().contains("'-'"));
    }

    #[test]
    fn reasons_name_the_actual_problem() {
        let p = |n: &str| problem(NameKind::Service, n).unwrap();
        assert!(p("..").contains("path"));
        assert!(p("Payments").contains("uppercase"));
        assert!(p(" x").contains("whitespace"));
        assert!(p("zürich").contains("not ASCII"));
        assert!(p(&"a".repeat(64)).contains("64 characters"));
        assert!(p("a/b").contains("'/'"));
        assert!(p("-a").contains("'-'"));
        // The suggestion is itself valid.
        let err = check(NameKind::Service, "Payments EU").unwrap_err().to_string();
        assert!(err.contains("Try \"payments-eu\""), "{err}");
    }

    #[test]
    fn long_names_are_cut_in_messages() {
        let err = check(NameKind::Service, &"x".repeat(10_000)).unwrap_err().to_string();
        assert!(err.len() < 600, "{}", err.len());
        assert!(err.contains("10000 characters"));
    }

    #[test]
    fn slugs_from_certificate_subjects() {
        assert_eq!(slugify("DigiCert Global Root G2"), "digicert-global-root-g2");
        assert_eq!(slugify("NetLock Arany (Class Gold) Főtanúsítvány"), "netlock-arany-class-gold-fotanusitvany");
        assert_eq!(
            slugify("TÜBİTAK Kamu SM SSL Kök Sertifikası - Sürüm 1"),
            "tubitak-kamu-sm-ssl-kok-sertifikasi-surum-1"
        );
        assert_eq!(slugify("  --Hello__World--  "), "hello-world");
        assert_eq!(slugify("中国"), "");
        assert_eq!(slugify("..."), "");
        let long = slugify(&"Very Long Name ".repeat(20));
        assert!(is_label(&long) && long.len() <= 63, "{long}");
    }

    #[test]
    fn unique_labels_take_a_suffix_and_stay_within_63() {
        let taken = ["root", "root-2"];
        assert_eq!(unique_label("root", |n| taken.contains(&n)), "root-3");
        assert_eq!(unique_label("other", |n| taken.contains(&n)), "other");
        let base = "a".repeat(63);
        let next = unique_label(&base, |n| n == base);
        assert_eq!(next.len(), 63);
        assert!(next.ends_with("-2") && is_label(&next));
        assert_eq!(unique_env_name("KEY", |n| n == "KEY"), "KEY_2");
        assert_eq!(env_name_from("1st-key.x"), "_1st_key_x");
    }
}
