//! The PKI part of the CLI tour through the real binary, with its `--json` shapes.

use keyloom_tests::TestVault;

#[test]
fn pki_tour() {
    let v = TestVault::init();
    for (svc, env) in [("payments", "prod"), ("checkout", "prod"), ("search", "prod"), ("dev-tool", "dev")] {
        v.ok(&["service", "add", svc, "--env", env]);
    }
    let root = v.json(&["ca", "create", "corp-root", "--key-type", "ecdsa-p256", "--validity-days", "3650"]);
    assert_eq!(root["certificate"]["self_issued"], true);
    let int = v.json(&[
        "ca",
        "create",
        "prod-issuing",
        "--parent",
        "corp-root",
        "--permit-dns",
        ".prod.corp.example",
        "--permit-uri",
        "spiffe://corp.example/prod",
        "--permit-ip",
        "10.0.0.0/8",
    ]);
    assert_eq!(int["parent"], "corp-root");
    assert_eq!(int["constraints"]["ip"][0], "10.0.0.0/8");
    assert_eq!(int["constraints"]["dns"][0], ".prod.corp.example");
    assert_eq!(int["certificate"]["permitted_dns"][0], "prod.corp.example");

    let c = v.json(&[
        "cert",
        "issue",
        "--service",
        "payments",
        "--ca",
        "prod-issuing",
        "--dns",
        "payments.prod.corp.example",
        "--ip",
        "10.0.0.5",
        "--uri",
        "spiffe://corp.example/prod/payments",
        "--server",
        "--client",
        "--validity-days",
        "30",
    ]);
    let cert = &c["certificate"];
    assert_eq!(cert["common_name"], "payments");
    assert_eq!(cert["ips"][0], "10.0.0.5");
    assert_eq!(cert["uris"][0], "spiffe://corp.example/prod/payments");
    assert_eq!((cert["server_auth"].as_bool(), cert["client_auth"].as_bool()), (Some(true), Some(true)));
    assert!(cert["serial"].as_str().unwrap().len() >= 32, "16-byte serial");
    assert_eq!(c["expires_in_days"], 30, "a started day counts, as the desktop shows it");
    // A URI outside the CA's permitted prefix is refused, naming it.
    let err = v.fails(
        &[
            "cert",
            "issue",
            "--service",
            "payments",
            "--ca",
            "prod-issuing",
            "--dns",
            "x.prod.corp.example",
            "--uri",
            "spiffe://corp.example/staging/x",
        ],
        1,
    );
    assert!(err.contains("URI:spiffe://corp.example/staging/x"), "{err}");
    // An address outside the permitted range is refused; so is any address under a CA that
    // permits names but no range, whose certificate excludes every address for other verifiers.
    let err = v.fails(
        &[
            "cert",
            "issue",
            "--service",
            "payments",
            "--ca",
            "prod-issuing",
            "--dns",
            "x.prod.corp.example",
            "--ip",
            "192.168.1.5",
        ],
        1,
    );
    assert!(err.contains("IP:192.168.1.5") && err.contains("10.0.0.0/8"), "{err}");
    v.ok(&["ca", "create", "names-only", "--parent", "corp-root", "--permit-dns", ".corp.example"]);
    let err = v.fails(
        &[
            "cert",
            "issue",
            "--service",
            "payments",
            "--ca",
            "names-only",
            "--dns",
            "x.corp.example",
            "--ip",
            "10.0.0.9",
        ],
        1,
    );
    assert!(err.contains("permits no IP address"), "{err}");
    for (ca, expect) in [("names-only", "IP:0.0.0.0/0.0.0.0"), ("prod-issuing", "IP:10.0.0.0/255.0.0.0")] {
        let pem = v.ok(&["ca", "show", ca, "--pem"]);
        let mut child = std::process::Command::new("openssl")
            .args(["x509", "-noout", "-text"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), pem.as_bytes()).unwrap();
        let text = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
        assert!(text.contains("Name Constraints") && text.contains(expect), "{ca}: {text}");
    }

    // Bulk: every prod service without an active certificate (checkout and search, not dev-tool).
    let issued = v.json(&["cert", "issue", "--ca", "prod-issuing", "--env", "prod", "--missing"]);
    let names: Vec<_> = issued.as_array().unwrap().iter().map(|c| c["service"].as_str().unwrap().to_string()).collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"checkout".to_string()) && names.contains(&"search".to_string()));
    assert!(issued[0]["certificate"]["dns"][0].as_str().unwrap().ends_with(".prod.corp.example"));
    assert_eq!(
        v.json(&["cert", "issue", "--ca", "prod-issuing", "--env", "prod", "--missing"]).as_array().unwrap().len(),
        0
    );

    let expiring = v.json(&["cert", "list", "--expiring-within", "31"]);
    assert_eq!(expiring.as_array().unwrap().len(), 0, "a fresh 30-day certificate is not in its last third yet");
    let pem = v.ok(&["cert", "show", "payments", "--pem", "--chain"]);
    assert_eq!(pem.matches("BEGIN CERTIFICATE").count(), 3, "leaf, intermediate, root");
    assert!(!pem.contains("PRIVATE KEY"));
    assert_eq!(v.ok(&["ca", "show", "prod-issuing", "--pem"]).matches("BEGIN CERTIFICATE").count(), 1);

    // Renew keeps the key unless told otherwise; the old one is superseded; history is kept.
    let old_id = c["id"].as_str().unwrap().to_string();
    let renewed = v.json(&["cert", "renew", "payments"]);
    assert_eq!(renewed["renews"].as_str().unwrap(), old_id);
    assert_eq!(v.json(&["cert", "show", &old_id])["status"], "superseded");
    let rotated = v.json(&["cert", "renew", "payments", "--rotate-key"]);
    let fp = |x: &serde_json::Value| x["certificate"]["sha256_fingerprint"].as_str().unwrap().to_string();
    assert_ne!(fp(&renewed), fp(&rotated));
    assert_eq!(v.json(&["cert", "list"]).as_array().unwrap().len(), 5);
    let bulk = v.json(&["cert", "renew", "--expiring-within", "31"]);
    assert_eq!(bulk.as_array().unwrap().len(), 0, "nothing is due: renewal does not churn");

    // Revoke, then the CRL lists it and verify says so.
    let current = v.json(&["cert", "show", "payments"])["id"].as_str().unwrap().to_string();
    let revoked = v.json(&["cert", "revoke", &current, "--reason", "key-compromise"]);
    assert_eq!(revoked["status"], "revoked");
    assert_eq!(revoked["revocation"]["reason"], "key-compromise");
    let crl = v.root.path().join("prod.crl.pem");
    v.ok(&["ca", "crl", "prod-issuing", "--out", crl.to_str().unwrap()]);
    assert!(std::fs::read_to_string(&crl).unwrap().starts_with("-----BEGIN X509 CRL-----"));
    let err = v.fails(&["ca", "crl", "prod-issuing", "--out", crl.to_str().unwrap()], 1);
    assert!(err.contains("refusing to overwrite"), "{err}");
    let out = v.run(&["cert", "verify", &current, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["server"].as_str().unwrap().contains("revoked"), "{report}");
    // Checking a healthy certificate in the future: expired by then.
    let search = v.json(&["cert", "show", "search"])["id"].as_str().unwrap().to_string();
    assert_eq!(v.json(&["cert", "verify", &search])["ok"], true);
    let out = v.run(&["cert", "verify", &search, "--at", "2031-01-01T00:00:00Z", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["server"].as_str().unwrap().contains("expired"), "{report}");

    // Trust stores.
    v.ok(&["trust", "add", "payments", "--ca", "corp-root", "--inbound"]);
    let t = v.json(&["trust", "add", "checkout", "--ca", "prod-issuing", "--both"]);
    assert_eq!(t["inbound"][0], "prod-issuing");
    assert_eq!(t["outbound"][0], "prod-issuing");
    let t = v.json(&["trust", "list", "payments"]);
    assert_eq!(t["inbound"][0], "corp-root");
    assert_eq!(t["outbound"].as_array().unwrap().len(), 0);
    // Adding it again is not an error: it says so and changes nothing.
    let again = v.ok(&["trust", "add", "payments", "--ca", "corp-root", "--inbound"]);
    assert!(again.contains("already trusts"), "{again}");
    v.ok(&["trust", "remove", "payments", "--ca", "corp-root", "--inbound"]);
    let err = v.fails(&["trust", "add", "payments", "--ca", "nope", "--inbound"], 1);
    assert!(err.contains("unknown CA \"nope\""), "{err}");

    // Everything above is in the audit log, and the chain still verifies.
    let actions = v.json(&["audit", "list"]).to_string();
    for a in ["ca.create", "cert.issue", "cert.renew", "cert.revoke", "ca.crl", "trust.add", "trust.remove"] {
        assert!(actions.contains(a), "no {a} in the audit log");
    }
    assert_eq!(v.json(&["audit", "verify"])["ok"], true);
    assert_eq!(v.json(&["status"])["counts"]["certificates"], 5, "the bulk renewal above renewed nothing");
}

#[test]
fn removing_a_service_revokes_its_active_certificates() {
    let v = TestVault::init();
    v.ok(&["service", "add", "payments", "--env", "prod"]);
    v.ok(&["ca", "create", "corp-root"]);
    let cert = v.json(&["cert", "issue", "--service", "payments", "--ca", "corp-root", "--dns", "payments.example"]);
    let (id, serial) = (cert["id"].as_str().unwrap(), cert["certificate"]["serial"].as_str().unwrap());
    // Without --force the certificate is named and nothing changes.
    let err = v.fails(&["service", "remove", "payments"], 1);
    assert!(err.contains("active certificate") && err.contains(serial), "{err}");
    assert_eq!(v.json(&["cert", "show", id])["status"], "active");
    let removed = v.json(&["service", "remove", "payments", "--force"]);
    assert_eq!(removed["revoked"][0]["serial"], serial);
    let shown = v.json(&["cert", "show", id]);
    assert_eq!(shown["status"], "revoked");
    assert_eq!(shown["revocation"]["reason"], "cessation-of-operation");
    let listed = v.json(&["cert", "list"]);
    assert!(listed.as_array().unwrap().iter().any(|c| c["id"] == id && c["status"] == "revoked"), "{listed}");
    let crl = v.root.path().join("root.crl.pem");
    v.ok(&["ca", "crl", "corp-root", "--out", crl.to_str().unwrap()]);
    let text = std::process::Command::new("openssl")
        .args(["crl", "-in", crl.to_str().unwrap(), "-noout", "-text"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout).to_ascii_lowercase().replace(':', "");
    assert!(text.contains(&serial.to_ascii_lowercase().replace(':', "")), "the CRL lists {serial}: {text}");
    let revokes = v.json(&["audit", "list", "--action", "cert.revoke"]);
    assert!(revokes[0]["detail"].as_str().unwrap().contains(serial), "{revokes}");
}

/// One expiry rule: a certificate is expiring in the last third of its lifetime or within the
/// window, whichever is shorter; renewing gives a full new lifetime, so renewal stops churning.
#[test]
fn a_30_day_certificate_is_not_expiring_on_day_one_and_renewal_is_idempotent() {
    let v = TestVault::init();
    v.ok(&["service", "add", "api", "--env", "prod"]);
    v.ok(&["service", "add", "old", "--env", "prod"]);
    v.ok(&["ca", "create", "root", "--validity-days", "3650"]);
    let fresh =
        v.json(&["cert", "issue", "--service", "api", "--ca", "root", "--dns", "api.example", "--validity-days", "30"]);
    assert_eq!(fresh["expires_in_days"], 30, "a started day counts: a 30-day certificate has 30 days");
    let expiring = |v: &TestVault| -> Vec<serde_json::Value> {
        let f = v.json(&["findings"]);
        f.as_array().unwrap().iter().filter(|f| f["kind"] == "expiring_soon").cloned().collect()
    };
    assert!(expiring(&v).is_empty(), "a 30-day certificate is not expiring on day one: {:?}", expiring(&v));
    assert_eq!(v.json(&["cert", "list", "--expiring-within", "30"]).as_array().unwrap().len(), 0);
    assert_eq!(v.json(&["cert", "renew", "--expiring-within", "30"]).as_array().unwrap().len(), 0);
    // Issued 25 days ago for 30 days: in its last third, so expiring, and renewed once.
    let start = (time::OffsetDateTime::now_utc() - time::Duration::days(25))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let aged = v.json(&[
        "cert",
        "issue",
        "--service",
        "old",
        "--ca",
        "root",
        "--dns",
        "old.example",
        "--validity-days",
        "30",
        "--not-before",
        &start,
    ]);
    let found = expiring(&v);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0]["message"].as_str().unwrap().contains("expires in 5 days"), "{found:?}");
    let renewed = v.json(&["cert", "renew", "--expiring-within", "30"]);
    assert_eq!(renewed.as_array().unwrap().len(), 1, "{renewed}");
    assert_eq!(renewed[0]["renews"], aged["id"]);
    assert_eq!(renewed[0]["expires_in_days"], 30, "the renewal has a full new lifetime");
    assert_eq!(v.json(&["cert", "renew", "--expiring-within", "30"]).as_array().unwrap().len(), 0, "idempotent");
    // The superseded certificate is not flagged, and its row shows no countdown.
    assert!(expiring(&v).is_empty(), "{:?}", expiring(&v));
    let table = v.ok(&["cert", "list"]);
    assert!(!table.contains("days!"), "{table}");
}

#[test]
fn ca_and_cert_remove_are_refused_while_referenced_and_forced_removal_revokes_and_audits() {
    let v = TestVault::init();
    v.ok(&["service", "add", "api", "--env", "prod"]);
    v.ok(&["ca", "create", "root"]);
    v.ok(&["ca", "create", "issuing", "--parent", "root", "--validity-days", "365"]);
    v.ok(&["ca", "create", "spare"]);
    let cert = v.json(&["cert", "issue", "--service", "api", "--ca", "issuing", "--dns", "api.example"]);
    let id = cert["id"].as_str().unwrap();
    v.ok(&["trust", "add", "api", "--ca", "root", "--both"]);
    // An unused CA made here is a finding whose fix works as written.
    let findings = v.json(&["findings"]);
    let unused = findings.as_array().unwrap().iter().find(|f| f["kind"] == "unused_ca").expect("spare is unused");
    assert!(unused["fix"].as_str().unwrap().contains("keyloom ca remove spare"), "{unused}");
    v.ok(&["ca", "remove", "spare"]);
    assert!(v.fails(&["ca", "show", "spare"], 1).contains("unknown CA"));
    // Referenced: refused, naming why, and nothing changes.
    let err = v.fails(&["ca", "remove", "root"], 1);
    assert!(err.contains("issuing"), "a CA with CAs below it: {err}");
    let err = v.fails(&["ca", "remove", "issuing"], 1);
    assert!(err.contains("--force") && err.contains("api"), "{err}");
    assert_eq!(v.json(&["cert", "show", id])["status"], "active");
    let err = v.fails(&["cert", "remove", id], 1);
    assert!(err.contains("active") && err.contains("--force"), "{err}");
    // Forced: the CA's active certificates are revoked, then it goes; all audited.
    let r = v.json(&["ca", "remove", "issuing", "--force"]);
    assert_eq!(r["revoked"][0], id);
    assert_eq!(v.json(&["cert", "show", id])["status"], "revoked");
    let r = v.json(&["ca", "remove", "root", "--force"]);
    assert_eq!(r["untrusted_by"][0], "api");
    assert_eq!(v.json(&["trust", "list", "api"])["inbound"].as_array().unwrap().len(), 0);
    // The certificate (its CA gone, so no CRL to keep it on) is removed with its key.
    let r = v.json(&["cert", "remove", id]);
    assert_eq!(r["kept_for_crl"], false);
    assert!(v.fails(&["cert", "show", id], 1).contains("no certificate"));
    let actions: Vec<String> = v
        .json(&["audit", "list"])
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_string())
        .collect();
    for a in ["ca.remove", "cert.remove", "cert.revoke", "trust.remove"] {
        assert!(actions.iter().any(|x| x == a), "{a} audited: {actions:?}");
    }
    // A forced removal of an active certificate whose CA signs here keeps a revoked record for
    // the CRL, and removes only its key.
    v.ok(&["ca", "create", "root2"]);
    let c2 = v.json(&["cert", "issue", "--service", "api", "--ca", "root2", "--dns", "api.example"]);
    let id2 = c2["id"].as_str().unwrap();
    let r = v.json(&["cert", "remove", id2, "--force"]);
    assert_eq!((r["revoked"].as_bool(), r["kept_for_crl"].as_bool()), (Some(true), Some(true)), "{r}");
    let shown = v.json(&["cert", "show", id2]);
    assert_eq!((shown["status"].as_str(), shown["has_key"].as_bool()), (Some("revoked"), Some(false)));
}
