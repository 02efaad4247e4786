//! Importing what people actually have, through the real binary: keys in PKCS#8, SEC1 and
//! PKCS#1 made by openssl, CA bundles (Debian's whole ca-certificates bundle), CSRs, every key
//! type, and hostile input that must fail clearly and change nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use keyloom_tests::TestVault;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").current_dir(dir).args(args).output().expect("openssl must be installed");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn file(v: &TestVault, name: &str) -> PathBuf {
    v.root.path().join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A self-signed server certificate and key in the given openssl key format.
fn openssl_cert(v: &TestVault, stem: &str, keygen: &[&str]) -> (PathBuf, PathBuf) {
    let dir = v.root.path();
    openssl(dir, keygen);
    let key = file(v, &format!("{stem}.key"));
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-x509",
            "-key",
            s(&key),
            "-subj",
            &format!("/CN={stem}"),
            "-days",
            "30",
            "-addext",
            &format!("subjectAltName=DNS:{stem}.example"),
            "-addext",
            "basicConstraints=critical,CA:FALSE",
            "-out",
            &format!("{stem}.crt"),
        ],
    );
    (file(v, &format!("{stem}.crt")), key)
}

#[test]
fn imports_keys_in_pkcs8_sec1_and_pkcs1_and_rejects_a_mismatch() {
    let v = TestVault::init();
    v.ok(&["service", "add", "legacy-billing", "--env", "prod"]);
    let cases = [
        (
            "pkcs8",
            vec!["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "pkcs8.key"],
            "BEGIN PRIVATE KEY",
            "ECDSA P-256",
        ),
        (
            "sec1",
            vec!["ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", "sec1.key"],
            "BEGIN EC PRIVATE KEY",
            "ECDSA P-384",
        ),
        ("pkcs1", vec!["genrsa", "-traditional", "-out", "pkcs1.key", "2048"], "BEGIN RSA PRIVATE KEY", "RSA 2048"),
    ];
    for (stem, keygen, marker, key_desc) in &cases {
        let (crt, key) = openssl_cert(&v, stem, keygen);
        assert!(std::fs::read_to_string(&key).unwrap().contains(marker), "{stem} key is {marker}");
        let out = v.json(&["cert", "import", s(&crt), "--key", s(&key), "--service", "legacy-billing"]);
        assert_eq!(out["certificate"]["key"], *key_desc);
        assert_eq!(out["has_key"], true);
        assert_eq!(out["service"], "legacy-billing");
    }
    // DER certificate and DER PKCS#8 key.
    let dir = v.root.path();
    openssl(dir, &["x509", "-in", "pkcs8.crt", "-outform", "DER", "-out", "pkcs8.der"]);
    openssl(dir, &["pkcs8", "-topk8", "-nocrypt", "-in", "pkcs8.key", "-outform", "DER", "-out", "pkcs8-key.der"]);
    v.ok(&[
        "cert",
        "import",
        s(&file(&v, "pkcs8.der")),
        "--key",
        s(&file(&v, "pkcs8-key.der")),
        "--service",
        "legacy-billing",
    ]);

    // A key that belongs to another certificate: refused, naming the key file; nothing stored.
    let before = v.json(&["cert", "list"]).as_array().unwrap().len();
    let err = v.fails(
        &[
            "cert",
            "import",
            s(&file(&v, "pkcs8.crt")),
            "--key",
            s(&file(&v, "sec1.key")),
            "--service",
            "legacy-billing",
        ],
        1,
    );
    assert!(err.contains("sec1.key") && err.contains("does not match"), "{err}");
    assert_eq!(v.json(&["cert", "list"]).as_array().unwrap().len(), before);
}

#[test]
fn hostile_input_fails_clearly_and_changes_nothing() {
    let v = TestVault::init();
    v.ok(&["service", "add", "svc", "--env", "prod"]);
    v.ok(&["ca", "create", "root"]);
    let (crt, key) = openssl_cert(
        &v,
        "good",
        &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "good.key"],
    );
    let pem = std::fs::read_to_string(&crt).unwrap();
    let bad_base64 = pem.replacen("MII", "M!I", 1);
    let truncated = pem[..pem.len() / 2].to_string();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage.pem", b"\x00\x01\x02 this is not a certificate \xff\xfe".to_vec()),
        ("bad-base64.pem", bad_base64.into_bytes()),
        ("truncated.pem", truncated.into_bytes()),
        ("empty.pem", Vec::new()),
        ("no-cert.pem", b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".to_vec()),
        ("random.der", (0..2000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect()),
    ];
    let before = keyloom_tests::data_trees(&v.path).len();
    for (name, bytes) in &cases {
        let path = file(&v, name);
        std::fs::write(&path, bytes).unwrap();
        let err = v.fails(&["ca", "import", s(&path)], 1);
        assert!(err.contains(name), "{name}: {err}");
        let err = v.fails(&["cert", "import", s(&path), "--key", s(&key), "--service", "svc"], 1);
        assert!(err.contains(name), "{name}: {err}");
        let err = v.fails(&["cert", "import", s(&crt), "--key", s(&path), "--service", "svc"], 1);
        assert!(err.contains(name), "{name}: {err}");
        let err = v.fails(&["ca", "sign-csr", "root", s(&path), "--out", s(&file(&v, "never.pem"))], 1);
        assert!(err.contains("CSR"), "{name}: {err}");
        assert!(!file(&v, "never.pem").exists());
    }
    assert_eq!(keyloom_tests::data_trees(&v.path).len(), before, "no record was added by any failure");
}

#[test]
fn imports_every_certificate_of_debians_ca_bundle() {
    let bundle = Path::new("/etc/ssl/certs/ca-certificates.crt");
    assert!(bundle.exists(), "Debian's ca-certificates package must be installed (.ci/run installs it)");
    let expected = std::fs::read_to_string(bundle).unwrap().matches("-----BEGIN CERTIFICATE-----").count();
    assert!(expected > 50);
    let v = TestVault::init();
    let added = v.json(&["ca", "import", s(bundle)]);
    assert_eq!(added.as_array().unwrap().len(), expected);
    assert!(added.as_array().unwrap().iter().all(|c| c["trust_only"] == true));
    // Each is named by a slug of its subject that follows the name rule, unique, with the
    // subject kept for display.
    let names: Vec<&str> = added.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    for n in &names {
        let ok = !n.is_empty()
            && n.len() <= 63
            && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !n.starts_with('-')
            && !n.ends_with('-');
        assert!(ok, "{n:?} breaks the name rule");
    }
    let unique: std::collections::HashSet<&&str> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "names are unique");
    let by_name = |n: &str| added.as_array().unwrap().iter().find(|c| c["name"] == n).cloned();
    let g2 = by_name("digicert-global-root-g2").expect("CN=DigiCert Global Root G2 → digicert-global-root-g2");
    assert!(g2["certificate"]["subject"].as_str().unwrap().contains("DigiCert Global Root G2"));
    assert!(by_name("security-communication-rootca2").is_some(), "no CN: named from the OU");
    // Four roots are CN=GlobalSign: the others are told apart by their OU; two identical subjects
    // by a suffix.
    assert!(by_name("globalsign").is_some() && by_name("globalsign-root-ca-r3").is_some(), "{names:?}");
    let firma = "autoridad-de-certificacion-firmaprofesional-cif-a62634068";
    assert!(by_name(firma).is_some() && by_name(&format!("{firma}-2")).is_some(), "{names:?}");
    assert!(names.iter().all(|n| !n.contains("--")));
    // Public roots that no service trusts are not this estate's problems: no "unused CA", no
    // SHA-1 self-signatures as weak crypto, expired ones only as information (with a fix that
    // works as written).
    let findings = v.json(&["findings"]);
    let list = findings.as_array().unwrap();
    assert!(list.len() <= 6, "the README's bundle import adds only a handful of findings: {findings:#}");
    assert!(list.iter().all(|f| f["severity"] == "info" && f["kind"] == "expired"), "{findings:#}");
    if let Some(f) = list.first() {
        let fix = f["fix"].as_str().unwrap();
        let name = fix.strip_prefix("keyloom ca remove ").expect("the fix is a command");
        v.ok(&["ca", "remove", name]);
        assert_eq!(v.json(&["findings"]).as_array().unwrap().len(), list.len() - 1);
        let err = v.fails(&["ca", "show", &name[..name.len() - 1]], 1);
        assert!(err.contains("unknown CA"), "{err}");
    }
    // A typo gets a suggestion.
    let err = v.fails(&["ca", "show", "digicert-global-root-g3x"], 1);
    assert!(err.contains("did you mean \"digicert-global-root-g3\""), "{err}");
    // Importing again adds nothing new; and nothing here can sign.
    let again = v.json(&["ca", "import", s(bundle)]).as_array().unwrap().len();
    assert!(again <= 1, "only a removed root comes back: {again}");
    let first = added[0]["name"].as_str().unwrap().to_string();
    v.ok(&["service", "add", "svc", "--env", "prod"]);
    let err = v.fails(&["cert", "issue", "--service", "svc", "--ca", &first, "--dns", "svc.example"], 1);
    assert!(err.contains("trust only"), "{err}");
}

#[test]
fn every_key_type_issues_and_verifies() {
    let v = TestVault::init();
    v.ok(&["service", "add", "svc", "--env", "prod"]);
    for kt in ["ecdsa-p256", "ecdsa-p384", "ed25519", "rsa-2048", "rsa-3072", "rsa-4096"] {
        let ca = format!("ca-{kt}");
        v.ok(&["ca", "create", &ca, "--key-type", kt, "--validity-days", "30"]);
        let c = v.json(&["cert", "issue", "--service", "svc", "--ca", &ca, "--dns", "svc.example", "--key-type", kt]);
        let id = c["id"].as_str().unwrap();
        let report = v.json(&["cert", "verify", id]);
        assert_eq!(report["ok"], true, "{kt}: {report}");
        let sig = c["certificate"]["signature_algorithm"].as_str().unwrap();
        let expected = match kt {
            "ecdsa-p256" => "ecdsa-with-SHA256",
            "ecdsa-p384" => "ecdsa-with-SHA384",
            "ed25519" => "Ed25519",
            _ => "sha256WithRSAEncryption",
        };
        assert_eq!(sig, expected, "{kt}: signature follows the issuer's key");
    }
}

#[test]
fn csr_signing_and_imported_leaves_outside_name_constraints() {
    let v = TestVault::init();
    let dir = v.root.path();
    v.ok(&["ca", "create", "root"]);
    v.ok(&["ca", "create", "prod", "--parent", "root", "--permit-dns", ".prod.corp.example", "--validity-days", "365"]);
    // A CSR inside the constraints is signed; one outside is refused.
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "csr.key",
            "-subj",
            "/CN=api",
            "-addext",
            "subjectAltName=DNS:api.prod.corp.example",
            "-out",
            "ok.csr",
        ],
    );
    v.ok(&["ca", "sign-csr", "prod", s(&file(&v, "ok.csr")), "--out", s(&file(&v, "ok.pem"))]);
    std::fs::write(file(&v, "root.pem"), v.ok(&["ca", "show", "root", "--pem"])).unwrap();
    std::fs::write(file(&v, "prod.pem"), v.ok(&["ca", "show", "prod", "--pem"])).unwrap();
    openssl(dir, &["verify", "-CAfile", "root.pem", "-untrusted", "prod.pem", "ok.pem"]);
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "bad.key",
            "-subj",
            "/CN=evil",
            "-addext",
            "subjectAltName=DNS:evil.example.com",
            "-out",
            "bad.csr",
        ],
    );
    let err = v.fails(&["ca", "sign-csr", "prod", s(&file(&v, "bad.csr")), "--out", s(&file(&v, "bad.pem"))], 1);
    assert!(err.contains("evil.example.com"), "{err}");

    // An IP SAN under a CA that permits only DNS names is refused, and nothing is written.
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ip.key",
            "-subj",
            "/CN=api",
            "-addext",
            "subjectAltName=DNS:api.prod.corp.example,IP:10.1.2.3",
            "-addext",
            "extendedKeyUsage=clientAuth,codeSigning",
            "-out",
            "ip.csr",
        ],
    );
    let before = v.json(&["cert", "list"]).as_array().unwrap().len();
    let err = v.fails(&["ca", "sign-csr", "prod", s(&file(&v, "ip.csr")), "--out", s(&file(&v, "ip.pem"))], 1);
    assert!(err.contains("10.1.2.3") && err.contains("IP"), "{err}");
    assert!(!file(&v, "ip.pem").exists());
    assert_eq!(v.json(&["cert", "list"]).as_array().unwrap().len(), before);
    // Under a CA that permits a range, the same CSR is signed, and OpenSSL accepts the chain
    // with the CA's IP constraint in force; an address outside the range is still refused.
    v.ok(&[
        "ca",
        "create",
        "prod-ip",
        "--parent",
        "root",
        "--permit-dns",
        ".prod.corp.example",
        "--permit-ip",
        "10.0.0.0/8",
    ]);
    v.ok(&["ca", "sign-csr", "prod-ip", s(&file(&v, "ip.csr")), "--out", s(&file(&v, "ip-ok.pem")), "--client"]);
    for (name, ca) in [("root.pem", "root"), ("prod-ip.pem", "prod-ip")] {
        std::fs::write(file(&v, name), v.ok(&["ca", "show", ca, "--pem"])).unwrap();
    }
    let out = std::process::Command::new("openssl")
        .args(["verify", "-CAfile", s(&file(&v, "root.pem")), "-untrusted", s(&file(&v, "prod-ip.pem"))])
        .arg(file(&v, "ip-ok.pem"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            "ip.key",
            "-subj",
            "/CN=api",
            "-addext",
            "subjectAltName=DNS:api.prod.corp.example,IP:192.168.7.7",
            "-out",
            "ip-out.csr",
        ],
    );
    let err =
        v.fails(&["ca", "sign-csr", "prod-ip", s(&file(&v, "ip-out.csr")), "--out", s(&file(&v, "ip-out.pem"))], 1);
    assert!(err.contains("192.168.7.7") && err.contains("10.0.0.0/8"), "{err}");
    // The signer decides the EKUs, not the CSR (which asked for clientAuth and codeSigning), and
    // keyUsage follows the key type: an ECDSA key signs, it cannot encipher.
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            "csr.key",
            "-subj",
            "/CN=api",
            "-addext",
            "subjectAltName=DNS:api.prod.corp.example",
            "-addext",
            "extendedKeyUsage=clientAuth,codeSigning",
            "-out",
            "eku.csr",
        ],
    );
    let text = |pem: &str| {
        let out =
            Command::new("openssl").current_dir(dir).args(["x509", "-in", pem, "-noout", "-text"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    v.ok(&["ca", "sign-csr", "prod", s(&file(&v, "eku.csr")), "--out", s(&file(&v, "eku-default.pem"))]);
    let t = text("eku-default.pem");
    assert!(t.contains("TLS Web Server Authentication") && !t.contains("Client Authentication"), "{t}");
    assert!(!t.contains("Code Signing") && !t.contains("Key Encipherment") && t.contains("Digital Signature"), "{t}");
    v.ok(&[
        "ca",
        "sign-csr",
        "prod",
        s(&file(&v, "eku.csr")),
        "--out",
        s(&file(&v, "eku-both.pem")),
        "--server",
        "--client",
    ]);
    let t = text("eku-both.pem");
    assert!(t.contains("TLS Web Server Authentication") && t.contains("TLS Web Client Authentication"), "{t}");
    v.ok(&["ca", "sign-csr", "prod", s(&file(&v, "eku.csr")), "--out", s(&file(&v, "eku-client.pem")), "--client"]);
    assert!(!text("eku-client.pem").contains("Server Authentication"));
    // An RSA key may also encipher (TLS 1.2 RSA key exchange).
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "rsa.key",
            "-subj",
            "/CN=api",
            "-addext",
            "subjectAltName=DNS:api.prod.corp.example",
            "-out",
            "rsa.csr",
        ],
    );
    v.ok(&["ca", "sign-csr", "prod", s(&file(&v, "rsa.csr")), "--out", s(&file(&v, "rsa.pem"))]);
    let t = text("rsa.pem");
    assert!(t.contains("Digital Signature, Key Encipherment"), "{t}");

    // An external CA with name constraints, and a leaf it signed that violates them (openssl
    // signs whatever it is told): imported, then `cert verify` says why it fails.
    std::fs::write(file(&v, "ext.cnf"), "[req]\ndistinguished_name=dn\n[dn]\n[v3_ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nnameConstraints=critical,permitted;DNS:.good.example\n[leaf]\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:www.bad.example\n").unwrap();
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "ext-ca.key",
            "-subj",
            "/CN=external-constrained",
            "-days",
            "30",
            "-config",
            "ext.cnf",
            "-extensions",
            "v3_ca",
            "-out",
            "ext-ca.pem",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-subj",
            "/CN=www",
            "-out",
            "leaf.csr",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ext-ca.pem",
            "-CAkey",
            "ext-ca.key",
            "-days",
            "10",
            "-extfile",
            "ext.cnf",
            "-extensions",
            "leaf",
            "-out",
            "leaf.pem",
        ],
    );
    v.ok(&["ca", "import", s(&file(&v, "ext-ca.pem"))]);
    v.ok(&["service", "add", "www", "--env", "prod"]);
    v.ok(&["cert", "import", s(&file(&v, "leaf.pem")), "--key", s(&file(&v, "leaf.key")), "--service", "www"]);
    let out = v.run(&["cert", "verify", "www", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["server"].as_str().unwrap().contains("name constraints"), "{report}");
}

#[test]
fn names_that_are_not_rfc_1123_host_names_or_uris_are_refused_and_nothing_is_written() {
    let v = TestVault::init();
    v.ok(&["service", "add", "svc", "--env", "prod"]);
    v.ok(&["ca", "create", "root"]);
    v.ok(&[
        "ca",
        "create",
        "prod",
        "--parent",
        "root",
        "--permit-dns",
        ".prod.corp.example",
        "--permit-ip",
        "10.0.0.0/8",
        "--validity-days",
        "365",
    ]);
    let before = keyloom_tests::data_trees(&v.path);
    let long_label = format!("{}.prod.corp.example", "a".repeat(64));
    for (ca, dns, why) in [
        ("prod", "bad name!.prod.corp.example", "may hold only letters, digits and hyphens"),
        ("root", "bad name!.prod.corp.example", "may hold only letters, digits and hyphens"),
        ("root", "under_score.example", "may hold only letters, digits and hyphens"),
        ("root", "a*.example.com", "wildcard may only be the whole left-most label"),
        ("root", "*.*.x", "wildcard may only be the whole left-most label"),
        ("root", "-api.example", "may not start or end with a hyphen"),
        ("root", "api..example", "empty label"),
        ("prod", &long_label, "at most 63"),
        ("root", "10.0.0.7", "it is an IP address"),
    ] {
        let err = v.fails(&["cert", "issue", "--service", "svc", "--ca", ca, &format!("--dns={dns}")], 1);
        assert!(err.contains("is not a valid DNS name") && err.contains(why), "{dns}: {err}");
    }
    for (uri, why) in
        [("corp.example/svc", "scheme"), ("spiffe://corp example/svc", "a space"), ("spiffe:///svc", "authority")]
    {
        let err = v.fails(&["cert", "issue", "--service", "svc", "--ca", "root", "--uri", uri], 1);
        assert!(err.contains("is not a valid URI") && err.contains(why), "{uri}: {err}");
    }
    let err = v.fails(&["ca", "create", "wild", "--permit-dns", "*.corp.example"], 1);
    assert!(err.contains("not a valid permitted DNS suffix"), "{err}");
    let err = v.fails(&["ca", "create", "nouri", "--permit-uri", "corp.example/prod"], 1);
    assert!(err.contains("not a valid permitted URI prefix"), "{err}");
    let err = v.fails(&["ca", "create", "noip", "--permit-ip", "10.0.0.0"], 1);
    assert!(err.contains("not an IP range"), "{err}");
    // A CSR asking for a name that is not a host name is not signed.
    openssl(
        v.root.path(),
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "u.key",
            "-subj",
            "/CN=u",
            "-addext",
            "subjectAltName=DNS:bad_name.prod.corp.example",
            "-out",
            "u.csr",
        ],
    );
    let err = v.fails(&["ca", "sign-csr", "prod", s(&file(&v, "u.csr")), "--out", s(&file(&v, "u.pem"))], 1);
    assert!(err.contains("is not a valid DNS name"), "{err}");
    assert!(!file(&v, "u.pem").exists());
    assert_eq!(keyloom_tests::data_trees(&v.path), before, "a refused name changed the vault");
    assert!(v.json(&["cert", "list"]).as_array().unwrap().is_empty());

    // Valid names still issue: a left-most wildcard, mixed case, an IP and a SPIFFE ID together.
    v.ok(&[
        "cert",
        "issue",
        "--service",
        "svc",
        "--ca",
        "prod",
        "--dns",
        "*.prod.corp.example",
        "--dns",
        "API-1.Prod.corp.example",
        "--ip",
        "10.0.0.7",
        "--uri",
        "spiffe://corp.example/prod/svc",
    ]);
}
