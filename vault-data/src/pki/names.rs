//! Which names a certificate may carry, checked before anything is signed: rcgen only checks that
//! a name is ASCII, so `bad name!.prod.corp.example` would otherwise be certified.
//!
//! - DNS names are RFC 1123 host names: labels of letters, digits and hyphens, 1–63 characters,
//!   not starting or ending with a hyphen, at most 253 characters in all; a wildcard only as the
//!   whole left-most label (`*.example.com`), never `a*.example.com` or `*.*.example.com`.
//! - URIs have a scheme and an authority (`spiffe://corp.example/payments`) and only the
//!   characters RFC 3986 allows, percent-escapes well formed.
//! - CA constraints use the same rules: a permitted DNS suffix is a host name (with an optional
//!   leading dot, no wildcard), a permitted URI prefix is a URI.

use crate::error::{Error, Result};

const MAX_NAME: usize = 253;
const MAX_LABEL: usize = 63;
/// Longer URIs are not identities but accidents (a pasted file).
const MAX_URI: usize = 2048;

/// Names in errors are quoted, but never at any length.
fn quoted(name: &str) -> String {
    match name.char_indices().nth(80) {
        Some((i, _)) => format!("{:?}…", &name[..i]),
        None => format!("{name:?}"),
    }
}

fn label_problem(label: &str) -> Option<String> {
    if label.is_empty() {
        return Some("it has an empty label (two dots in a row, or a dot at the start or end)".into());
    }
    if label.len() > MAX_LABEL {
        return Some(format!("the label {} is {} characters long; at most {MAX_LABEL}", quoted(label), label.len()));
    }
    if label.contains('*') {
        return Some("a wildcard may only be the whole left-most label, as in *.example.com".into());
    }
    if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        let hint = if label.is_ascii() { "" } else { " (write international names in their xn-- form)" };
        return Some(format!("the label {} may hold only letters, digits and hyphens{hint}", quoted(label)));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Some(format!("the label {} may not start or end with a hyphen", quoted(label)));
    }
    None
}

fn host_problem(name: &str, wildcard_allowed: bool) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".into());
    }
    if name.parse::<std::net::IpAddr>().is_ok() {
        return Some("it is an IP address: give it as an IP address, not a DNS name".into());
    }
    if name.len() > MAX_NAME {
        return Some(format!("it is {} characters long; at most {MAX_NAME}", name.len()));
    }
    let mut labels = name.split('.').peekable();
    if labels.peek() == Some(&"*") {
        if !wildcard_allowed {
            return Some("a wildcard is not allowed here".into());
        }
        labels.next();
        if labels.peek().is_none() {
            return Some("a wildcard needs a domain after it, as in *.example.com".into());
        }
    }
    let labels: Vec<&str> = labels.collect();
    if let Some(p) = labels.iter().find_map(|l| label_problem(l)) {
        return Some(p);
    }
    // RFC 3696: a top-level label is never all digits; such a name is a mistyped address.
    if labels.last().is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit())) {
        return Some("its last label is all digits: an IP address is given as an IP address".into());
    }
    None
}

/// Checks a DNS subject alternative name (a wildcard allowed as the whole left-most label).
pub fn check_dns_name(name: &str) -> Result<()> {
    match host_problem(name, true) {
        None => Ok(()),
        Some(p) => Err(Error::Invalid(format!("{} is not a valid DNS name: {p}", quoted(name)))),
    }
}

/// Checks a URI subject alternative name: a scheme, `://`, an authority, RFC 3986 characters.
pub fn check_uri(uri: &str) -> Result<()> {
    match uri_problem(uri) {
        None => Ok(()),
        Some(p) => Err(Error::Invalid(format!("{} is not a valid URI: {p}", quoted(uri)))),
    }
}

fn uri_problem(uri: &str) -> Option<String> {
    if uri.len() > MAX_URI {
        return Some(format!("it is {} characters long; at most {MAX_URI}", uri.len()));
    }
    let Some((scheme, rest)) = uri.split_once("://") else {
        return Some("it needs a scheme and an authority, e.g. spiffe://corp.example/payments".into());
    };
    let mut s = scheme.bytes();
    let scheme_ok = s.next().is_some_and(|b| b.is_ascii_alphabetic())
        && s.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return Some(format!("the scheme {} is not a letter followed by letters, digits, +, - or .", quoted(scheme)));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Some("the authority (the part after ://) is empty".into());
    }
    let bytes = uri.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let allowed = b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b);
        if !allowed {
            let what = match b {
                b' ' => "a space".to_string(),
                c if c.is_ascii_control() => "a control character".to_string(),
                c if c.is_ascii() => format!("the character {:?}", c as char),
                _ => "a non-ASCII character (percent-encode it)".to_string(),
            };
            return Some(format!("it holds {what}"));
        }
        if b == b'%' && !(bytes.get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))) {
            return Some("a % is not followed by two hex digits".into());
        }
    }
    None
}

/// Checks a CA's permitted DNS suffix (`.prod.corp.example` or `prod.corp.example`; no wildcard).
pub fn check_permitted_dns(suffix: &str) -> Result<()> {
    let host = suffix.strip_prefix('.').unwrap_or(suffix);
    match host_problem(host, false) {
        None => Ok(()),
        Some(p) => Err(Error::Invalid(format!("{} is not a valid permitted DNS suffix: {p}", quoted(suffix)))),
    }
}

/// Checks a CA's permitted URI prefix (`spiffe://corp.example/prod`).
pub fn check_permitted_uri(prefix: &str) -> Result<()> {
    match uri_problem(prefix) {
        None => Ok(()),
        Some(p) => Err(Error::Invalid(format!("{} is not a valid permitted URI prefix: {p}", quoted(prefix)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_names_follow_rfc_1123_with_a_left_most_wildcard() {
        let l63 = "a".repeat(63);
        let long_ok = [l63.as_str(); 3].join(".") + ".example"; // 63*3 + 2 + 8 = 199
        for ok in ["payments.prod.corp.example", "a", "x-1.example", "*.example.com", "*.svc", "PAY.Example", &long_ok]
        {
            assert!(check_dns_name(ok).is_ok(), "{ok}: {:?}", check_dns_name(ok));
        }
        let l64 = "a".repeat(64);
        let too_long = [l63.as_str(); 4].join(".") + ".ab"; // 255
        for (bad, why) in [
            ("bad name!.prod.corp.example", "only letters, digits and hyphens"),
            ("under_score.example", "only letters, digits and hyphens"),
            ("-lead.example", "start or end with a hyphen"),
            ("trail-.example", "start or end with a hyphen"),
            ("a..b", "empty label"),
            ("example.com.", "empty label"),
            (".example.com", "empty label"),
            ("", "empty"),
            (&format!("{l64}.example"), "at most 63"),
            (&too_long, "at most 253"),
            ("a*.example.com", "wildcard may only be the whole left-most label"),
            ("*.*.x", "wildcard may only be the whole left-most label"),
            ("foo.*.example", "wildcard may only be the whole left-most label"),
            ("*", "needs a domain after it"),
            ("10.0.0.1", "it is an IP address"),
            ("::1", "it is an IP address"),
            ("host.123", "all digits"),
            ("bücher.example", "xn--"),
        ] {
            let e = check_dns_name(bad).expect_err(bad).to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn uris_need_a_scheme_an_authority_and_rfc_3986_characters() {
        for ok in ["spiffe://corp.example/payments", "https://a.example:8443/x?y=1#z", "spiffe://td_1/ns/a%20b"] {
            assert!(check_uri(ok).is_ok(), "{ok}: {:?}", check_uri(ok));
        }
        for (bad, why) in [
            ("corp.example/payments", "needs a scheme"),
            ("localhost:8080", "needs a scheme"),
            ("1http://x", "the scheme"),
            ("://x", "the scheme"),
            ("spiffe:///payments", "authority"),
            ("spiffe://corp example/p", "a space"),
            ("spiffe://corp.example/p\n", "control character"),
            ("spiffe://corp.example/ü", "non-ASCII"),
            ("spiffe://corp.example/<p>", "'<'"),
            ("spiffe://corp.example/%zz", "two hex digits"),
            ("spiffe://corp.example/%2", "two hex digits"),
        ] {
            let e = check_uri(bad).expect_err(bad).to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[test]
    fn constraints_use_the_same_rules_without_wildcards() {
        assert!(check_permitted_dns(".prod.corp.example").is_ok());
        assert!(check_permitted_dns("prod.corp.example").is_ok());
        assert!(check_permitted_dns("*.prod.corp.example").is_err());
        assert!(check_permitted_dns("..prod").is_err());
        assert!(check_permitted_dns(".bad name").is_err());
        assert!(check_permitted_uri("spiffe://corp.example/prod").is_ok());
        assert!(check_permitted_uri("corp.example/prod").is_err());
    }

    #[test]
    fn long_names_are_quoted_short() {
        let e = check_dns_name(&"x!".repeat(500)).unwrap_err().to_string();
        assert!(e.len() < 400, "{e}");
    }
}
