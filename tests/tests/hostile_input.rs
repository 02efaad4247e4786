//! Hostile input, property-based (proptest): random bytes and randomly damaged valid inputs for
//! certificate and key import, CSR signing, the bundle-signing key, bundle verify, the env-file
//! parser and the CLI's env import, and random names against the name rule. Every call must
//! return a clear error or correct data: no panic, no certificate that does not parse, no damaged
//! bundle reported as verified, no env error that shows a value, no value that does not read back
//! as written.
//!
//! Cases per property: PROPTEST_CASES (default 256 here; the long run sets more).

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use vault_data::model::names::{self, NameKind};
use vault_data::pki::import::{key_matches_certificate, parse_certificates, parse_private_key};
use vault_data::pki::inspect::inspect;
use vault_data::pki::{CaSpec, KeyType, NameConstraintsSpec};
use vault_data::{KdfCost, SecretString, ServiceSpec, Vault};

static EXECUTIONS: AtomicUsize = AtomicUsize::new(0);

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// A real certificate, key and CSR made by openssl, to damage.
struct Fixtures {
    _dir: tempfile::TempDir,
    cert_pem: Vec<u8>,
    key_pem: Vec<u8>,
    csr_pem: Vec<u8>,
}

fn fixtures() -> Fixtures {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir.path()).output().expect("openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        "k.pem",
        "-out",
        "c.pem",
        "-subj",
        "/CN=fuzz",
        "-days",
        "30",
    ]);
    run(&["req", "-new", "-key", "k.pem", "-subj", "/CN=api", "-out", "r.csr"]);
    let read = |n: &str| std::fs::read(dir.path().join(n)).unwrap();
    Fixtures { cert_pem: read("c.pem"), key_pem: read("k.pem"), csr_pem: read("r.csr"), _dir: dir }
}

/// Applies up to three random edits (flip, cut, insert) to `base`.
fn damaged(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = base.len().max(1);
    prop::collection::vec((0..3u8, 0..len, any::<u8>()), 1..4).prop_map(move |edits| {
        let mut b = base.clone();
        for (kind, at, byte) in edits {
            let at = at.min(b.len().saturating_sub(1));
            match kind {
                0 if !b.is_empty() => b[at] ^= byte | 1,
                1 if !b.is_empty() => b.truncate(at),
                _ => b.insert(at.min(b.len()), byte),
            }
        }
        b
    })
}

fn bytes_or_damaged(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![prop::collection::vec(any::<u8>(), 0..2048), damaged(base)]
}

#[test]
fn certificate_and_key_import_never_panic_and_never_return_garbage() {
    let fx = fixtures();
    let cert = fx.cert_pem.clone();
    let key = fx.key_pem.clone();
    proptest!(config(), |(input in bytes_or_damaged(cert), key_input in bytes_or_damaged(key))| {
        EXECUTIONS.fetch_add(3, Ordering::Relaxed);
        match parse_certificates(&input, "fuzz.pem") {
            Ok(ders) => {
                for der in &ders {
                    // Anything returned as a certificate must be one.
                    prop_assert!(inspect(der).is_ok());
                }
            }
            Err(e) => prop_assert!(e.to_string().contains("fuzz.pem"), "error does not name the file: {e}"),
        }
        if let Ok(pkcs8) = parse_private_key(&key_input, "fuzz.key") {
            let ders = parse_certificates(&fx.cert_pem, "c.pem").unwrap();
            let _ = key_matches_certificate(&pkcs8, &ders[0], "fuzz.key");
        }
        let _ = inspect(&input);
    });
    eprintln!(
        "hostile input: certificate/key import, {} executions (process total)",
        EXECUTIONS.load(Ordering::Relaxed)
    );
}

#[test]
fn csr_signing_refuses_damaged_requests_cleanly() {
    let fx = fixtures();
    let root = tempfile::tempdir().unwrap();
    let pass = SecretString::from("correct horse battery staple".to_string());
    let (mut vault, _) = Vault::create(
        &root.path().join("v"),
        &pass,
        vault_data::CreateOptions { kdf: KdfCost::LogN(14), ..Default::default() },
    )
    .unwrap();
    let spec = CaSpec {
        name: "root".into(),
        key_type: KeyType::EcdsaP256,
        validity_days: 365,
        path_len: None,
        constraints: NameConstraintsSpec::default(),
    };
    vault.cas_mut().create(spec, None).unwrap();
    assert!(vault.cas_mut().sign_csr("root", &fx.csr_pem, 30).is_ok(), "the undamaged CSR is signed");
    // proptest's closure is Fn: the vault goes behind a RefCell.
    let vault = std::cell::RefCell::new(vault);
    proptest!(config(), |(csr in bytes_or_damaged(fx.csr_pem.clone()))| {
        EXECUTIONS.fetch_add(1, Ordering::Relaxed);
        if let Ok(der) = vault.borrow_mut().cas_mut().sign_csr("root", &csr, 30) {
            prop_assert!(inspect(&der).is_ok(), "a signed certificate must parse");
        }
    });
    eprintln!("hostile input: CSR signing, {} executions (process total)", EXECUTIONS.load(Ordering::Relaxed));
    vault.into_inner().close().unwrap();
}

fn export_fixture(root: &Path) -> (std::path::PathBuf, String) {
    let pass = SecretString::from("correct horse battery staple".to_string());
    let (mut vault, _) = Vault::create(
        &root.join("v"),
        &pass,
        vault_data::CreateOptions { kdf: KdfCost::LogN(14), ..Default::default() },
    )
    .unwrap();
    vault.populate_demo(8, 3).unwrap();
    let name = vault.services().list().unwrap().into_iter().map(|s| s.name).find(|n| n == "payments").unwrap();
    let opts = vault_data::ExportOptions { secrets_only: false, no_env: false, format: "dir".into() };
    let bundle = vault.exports_mut().bundle(&name, &opts).unwrap();
    let out = root.join("bundle");
    vault_data::export::write_bundle(&bundle, &vault_data::export::Format::Dir, &out, 0).unwrap();
    let key = vault.exports().signing_public_key().unwrap();
    vault.close().unwrap();
    (out, key)
}

#[test]
fn bundle_verify_and_signing_key_parsing_reject_damage() {
    let root = tempfile::tempdir().unwrap();
    let (bundle, key_text) = export_fixture(root.path());
    let key = vault_data::export::manifest::parse_public_key(&key_text).unwrap();
    assert!(vault_data::export::verify_bundle(&bundle, &key).unwrap().ok);
    let mut files: Vec<_> = std::fs::read_dir(&bundle).unwrap().map(|e| e.unwrap().path()).collect();
    let tls = bundle.join("tls");
    files.extend(std::fs::read_dir(&tls).unwrap().map(|e| e.unwrap().path()));
    files.retain(|p| p.is_file());
    let originals: Vec<Vec<u8>> = files.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let n = files.len();
    // Inserted bytes are never whitespace: a signature file with a trailing newline added is still
    // the same signature.
    let insert = prop::collection::vec(0x21u8..=0xff, 1..32);
    proptest!(config(), |(which in 0..n, edit in insert, at in any::<usize>(), text in ".{0,80}")| {
        EXECUTIONS.fetch_add(2, Ordering::Relaxed);
        let _ = vault_data::export::manifest::parse_public_key(&text);
        // Damage one file: splice random bytes in at a random place.
        let mut bytes = originals[which].clone();
        let pos = at % (bytes.len() + 1);
        bytes.splice(pos..pos, edit.iter().copied());
        std::fs::write(&files[which], &bytes).unwrap();
        let check = vault_data::export::verify_bundle(&bundle, &key);
        std::fs::write(&files[which], &originals[which]).unwrap();
        if let Ok(c) = check {
            prop_assert!(!c.ok, "a damaged bundle verified: {}", files[which].display());
        }
    });
    eprintln!("hostile input: bundle verify, {} executions (process total)", EXECUTIONS.load(Ordering::Relaxed));
}

#[test]
fn cli_env_import_refuses_garbage_without_panicking() {
    let tv = keyloom_tests::TestVault::init();
    tv.ok(&["service", "add", "base", "--env", "prod"]);
    // One process per case, and the vault grows with every accepted file: keep this one small.
    let cases = (std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse::<u32>().ok()).unwrap_or(256) / 8).min(64);
    let cfg = ProptestConfig { cases: cases.max(16), failure_persistence: None, ..ProptestConfig::default() };
    let file = tv.root.path().join("in.env");
    proptest!(cfg, |(body in prop_oneof![prop::collection::vec(any::<u8>(), 0..400), "([A-Z_]{1,8}=[ -~]{0,20}\n){0,5}".prop_map(String::into_bytes)])| {
        EXECUTIONS.fetch_add(1, Ordering::Relaxed);
        std::fs::write(&file, &body).unwrap();
        let out = tv.run(&["secret", "import", "--service", "base", file.to_str().unwrap()]);
        let code = out.status.code();
        prop_assert!(matches!(code, Some(0) | Some(1)), "exit {code:?}: {}", String::from_utf8_lossy(&out.stderr));
    });
    let audit = tv.run(&["audit", "verify"]);
    assert!(audit.status.success());
    eprintln!("hostile input: CLI env import, {} executions (process total)", EXECUTIONS.load(Ordering::Relaxed));
}

/// `[a-z0-9]([a-z0-9-]*[a-z0-9])?`, 1–63 characters, written out independently of the library.
fn matches_label_regex(s: &str) -> bool {
    let edge = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let chars: Vec<char> = s.chars().collect();
    (1..=63).contains(&chars.len())
        && edge(chars[0])
        && edge(chars[chars.len() - 1])
        && chars.iter().all(|c| edge(*c) || *c == '-')
}

/// `[A-Za-z_][A-Za-z0-9_]*`, written out independently of the library.
fn matches_env_regex(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// One plain component: joined to a directory it names a child of that directory, never the
/// directory itself, its parent, a hidden file or somewhere else.
fn safe_path_component(s: &str) -> bool {
    let base = Path::new("/base");
    let joined = base.join(s);
    let comps: Vec<_> = Path::new(s).components().collect();
    comps == [std::path::Component::Normal(std::ffi::OsStr::new(s))]
        && joined.parent() == Some(base)
        && !s.starts_with('.')
        && !s.contains(['/', '\\', '\0'])
}

fn hostile_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9-]{0,66}",
        "[a-zA-Z0-9._/ -]{0,70}",
        "(\\.|\\.\\.|/|-|[a-z]){1,8}",
        "[A-Za-z0-9_-]{0,130}",
        any::<String>(),
        prop::collection::vec(any::<char>(), 0..80).prop_map(|v| v.into_iter().collect()),
    ]
}

#[test]
fn name_rule_never_panics_and_accepts_only_safe_names() {
    let root = tempfile::tempdir().unwrap();
    let pass = SecretString::from("correct horse battery staple".to_string());
    let (vault, _) = Vault::create(
        &root.path().join("v"),
        &pass,
        vault_data::CreateOptions { kdf: KdfCost::LogN(14), ..Default::default() },
    )
    .unwrap();
    let vault = std::cell::RefCell::new(vault);
    let accepted = AtomicUsize::new(0);
    proptest!(config(), |(name in hostile_name())| {
        EXECUTIONS.fetch_add(1, Ordering::Relaxed);
        for kind in [NameKind::Service, NameKind::Ca, NameKind::Environment] {
            match names::check(kind, &name) {
                Ok(()) => {
                    prop_assert!(matches_label_regex(&name), "{kind:?} {name:?} accepted");
                    prop_assert!(safe_path_component(&name), "{name:?} is not a safe path component");
                }
                Err(e) => {
                    let msg = e.to_string();
                    prop_assert!(msg.starts_with(&format!("{} name ", kind.label())), "{msg}");
                    prop_assert!(msg.len() < 700, "the message grows with the name: {} bytes", msg.len());
                }
            }
        }
        match names::check(NameKind::Secret, &name) {
            Ok(()) => prop_assert!(matches_env_regex(&name) && safe_path_component(&name), "secret {name:?} accepted"),
            Err(e) => prop_assert!(e.to_string().contains("environment variable name")),
        }
        let slug = names::slugify(&name);
        prop_assert!(slug.is_empty() || matches_label_regex(&slug), "slug {slug:?} of {name:?}");
        let env = names::env_name_from(&name);
        prop_assert!(env.is_empty() || matches_env_regex(&env), "env name {env:?} of {name:?}");
        // Through the vault: accepted only when valid, and then findable by exactly that name.
        let spec = ServiceSpec { name: name.clone(), environment: "prod".into(), ..Default::default() };
        let mut v = vault.borrow_mut();
        match v.services_mut().add(spec) {
            Ok(svc) => {
                accepted.fetch_add(1, Ordering::Relaxed);
                prop_assert!(matches_label_regex(&svc.name) && svc.name == name);
                prop_assert_eq!(v.services().get(&name).unwrap().id, svc.id);
            }
            Err(e) => prop_assert!(
                !matches_label_regex(&name) || e.to_string().contains("already exists"),
                "{name:?} refused: {e}"
            ),
        }
    });
    let n = vault.borrow().services().list().unwrap().len();
    assert_eq!(n, accepted.load(Ordering::Relaxed));
    eprintln!(
        "hostile input: name rule, {} executions (process total), {n} names accepted",
        EXECUTIONS.load(Ordering::Relaxed)
    );
    vault.into_inner().close().unwrap();
}

/// Value bytes for the env-parser properties: `@`, `%` and `~` are in no variable name and in none
/// of the parser's own words, so an error holding one has echoed part of a value.
const VALUE_MARKS: [char; 3] = ['@', '%', '~'];

/// Text near the env dialect: names, `=`, quotes, escapes, joins, comments, line ends, and runs of
/// marked value bytes, in any order.
fn env_text() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        "[A-Za-z_][A-Za-z0-9_]{0,5}",
        prop::sample::select(vec![
            "=", "export ", "\"", "'", "\\", "'\\''", " #", "#", " ", "\t", "\n", "\r\n", "$", "\\n"
        ])
        .prop_map(str::to_string),
        "[@%~a-z0-9 -]{1,6}",
    ];
    prop::collection::vec(piece, 0..32).prop_map(|v| v.concat().into_bytes())
}

#[test]
fn env_parser_never_panics_and_its_errors_never_show_a_value() {
    use vault_data::export::envparse::parse;
    proptest!(config(), |(input in prop_oneof![prop::collection::vec(any::<u8>(), 0..1024), env_text()])| {
        EXECUTIONS.fetch_add(1, Ordering::Relaxed);
        let lines = input.iter().filter(|&&b| b == b'\n').count() + 1;
        match parse("fuzz.env", &input) {
            Ok(entries) => {
                for e in &entries {
                    prop_assert!(vault_data::export::envfile::valid_name(&e.name));
                    prop_assert!(e.line >= 1 && e.line <= lines);
                }
            }
            Err(e) => {
                let msg = e.to_string();
                // fuzz.env:LINE: with a 1-based line number inside the input, not an offset.
                let line: usize = msg
                    .strip_prefix("fuzz.env:")
                    .and_then(|r| r.split(':').next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                prop_assert!(line >= 1 && line <= lines, "no file:line in {msg:?}");
                prop_assert!(!msg.contains(VALUE_MARKS), "a value byte in {msg:?}");
            }
        }
    });
    eprintln!("hostile input: env parser, {} executions (process total)", EXECUTIONS.load(Ordering::Relaxed));
}

#[test]
fn env_values_read_back_exactly_as_written() {
    use vault_data::export::{envfile, envparse};
    static WRITTEN: AtomicUsize = AtomicUsize::new(0);
    let value = prop_oneof![
        any::<String>().prop_map(String::into_bytes),
        "[ -~]{0,40}".prop_map(String::into_bytes),
        "[A-Za-z0-9:/?#@!*+,=%._~-]{0,40}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..40),
    ];
    proptest!(config(), |(values in prop::collection::vec(value, 1..6))| {
        EXECUTIONS.fetch_add(2, Ordering::Relaxed);
        let secrets: Vec<(String, zeroize::Zeroizing<Vec<u8>>)> =
            values.iter().enumerate().map(|(i, v)| (format!("V_{i}"), zeroize::Zeroizing::new(v.clone()))).collect();
        // Keyloom's secrets.env writer takes every value; each comes back byte for byte, except one
        // holding a NUL (no environment variable can), which is left out as a comment.
        let text = envfile::render("svc", &secrets).map_err(|e| TestCaseError::fail(e.to_string()))?;
        WRITTEN.fetch_add(1, Ordering::Relaxed);
        let back = envparse::parse("secrets.env", &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back: Vec<_> = back.into_iter().map(|e| (e.name, e.value.to_vec())).collect();
        let want: Vec<_> =
            secrets.iter().filter(|(_, v)| !v.contains(&0)).map(|(n, v)| (n.clone(), v.to_vec())).collect();
        prop_assert_eq!(back, want);
        // So does POSIX single quoting (`'\\''` joins), which carries any byte at all.
        let mut text = Vec::new();
        for (name, v) in &secrets {
            text.extend_from_slice(format!("export {name}='").as_bytes());
            for &b in v.iter() {
                if b == b'\'' { text.extend_from_slice(b"'\\''") } else { text.push(b) }
            }
            text.extend_from_slice(b"'\n");
        }
        let back = envparse::parse("quoted.env", &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back.len(), secrets.len());
        for (e, (name, v)) in back.iter().zip(&secrets) {
            prop_assert_eq!((&e.name, e.value.as_slice()), (name, v.as_slice()));
        }
    });
    let written = WRITTEN.load(Ordering::Relaxed);
    assert!(written > 0, "the writer accepted no generated file: the round trip proved nothing");
    eprintln!("hostile input: env round trip, {written} files the writer accepted");
}

#[test]
fn cli_env_import_stores_values_exactly_and_refuses_bad_files_whole() {
    let tv = keyloom_tests::TestVault::init();
    tv.ok(&["service", "add", "base", "--env", "prod"]);
    let file = tv.root.path().join("in.env");
    // Each line was stored changed, or refused the whole file, before Keyloom had its own parser.
    let lines: &[(&str, &str)] = &[
        ("A=pa$$word", "pa$$word"),
        ("STOLEN=${KEYLOOM_PASSPHRASE}", "${KEYLOOM_PASSPHRASE}"),
        ("HOMELESS=$HOME/x", "$HOME/x"),
        ("EMPTY=", ""),
        ("export Q='it'\\''s'", "it's"),
        ("D=\"two\\nlines \\\"quoted\\\" \\\\ $X\"", "two\nlines \"quoted\" \\ $X"),
        ("M='multi\nline'", "multi\nline"),
        ("U=ünï©ødé 🔑", "ünï©ødé 🔑"),
    ];
    let body: String = lines.iter().map(|(l, _)| format!("{l}\n")).collect();
    std::fs::write(&file, body).unwrap();
    tv.ok(&["secret", "import", "--service", "base", file.to_str().unwrap()]);
    for (line, want) in lines {
        let name = line.trim_start_matches("export ").split('=').next().unwrap();
        let got = tv.json(&["secret", "get", &format!("base/{name}")]);
        assert_eq!(got["value"].as_str(), Some(*want), "{line}");
    }
    // A bad line refuses the whole file, saying where, and stores nothing.
    std::fs::write(&file, "NEW_ONE=fine\nA=changed\nBROKEN=\"half a value\n").unwrap();
    let err = tv.fails(&["secret", "import", "--service", "base", file.to_str().unwrap()], 1);
    assert!(err.contains(&format!("{}:3: BROKEN", file.display())), "{err}");
    assert!(!err.contains("half a value"), "{err}");
    assert_eq!(tv.json(&["secret", "get", "base/A"])["value"], "pa$$word");
    tv.fails(&["secret", "get", "base/NEW_ONE"], 1);
}
