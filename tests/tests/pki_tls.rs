//! Certificates from the vault against real TLS peers: a rustls server and client doing mutual
//! TLS over loopback, and `openssl verify` on the same chains.

use std::process::Command;

use keyloom_tests::tls::handshake;
use vault_data::pki::crl::Reason;
use vault_data::pki::{CaSpec, KeyType, NameConstraintsSpec};
use vault_data::{CreateOptions, Direction, IssueRequest, KdfCost, SecretString, ServiceSpec, Vault};

const SERVER_NAME: &str = "payments.prod.corp.example";

fn ca(name: &str) -> CaSpec {
    CaSpec {
        name: name.into(),
        key_type: KeyType::EcdsaP256,
        validity_days: 365,
        path_len: None,
        constraints: Default::default(),
    }
}

fn request(dns: &str, server: bool, client: bool) -> IssueRequest {
    IssueRequest {
        dns: vec![dns.into()],
        ips: vec![],
        uris: vec![],
        server,
        client,
        validity_days: 30,
        key_type: KeyType::EcdsaP256,
        not_before: None,
    }
}

/// payments (A, server) and checkout (B, client) with certificates from prod-issuing under
/// corp-root, A trusting corp-root inbound and B trusting it outbound; other-root trusted by no one.
fn estate() -> (tempfile::TempDir, Vault) {
    let dir = tempfile::tempdir().unwrap();
    let pw = SecretString::from("tls test passphrase".to_string());
    let (mut v, _) =
        Vault::create(&dir.path().join("v"), &pw, CreateOptions { kdf: KdfCost::LogN(4), ..Default::default() })
            .unwrap();
    for (name, env) in [("payments", "prod"), ("checkout", "prod")] {
        v.services_mut().add(ServiceSpec { name: name.into(), environment: env.into(), ..Default::default() }).unwrap();
    }
    v.cas_mut().create(ca("corp-root"), None).unwrap();
    let mut issuing = ca("prod-issuing");
    issuing.constraints = NameConstraintsSpec { dns: vec![".prod.corp.example".into()], uri: vec![], ip: vec![] };
    v.cas_mut().create(issuing, Some("corp-root")).unwrap();
    v.cas_mut().create(ca("other-root"), None).unwrap();
    v.certs_mut().issue("payments", "prod-issuing", &request(SERVER_NAME, true, false)).unwrap();
    v.certs_mut().issue("checkout", "prod-issuing", &request("checkout.prod.corp.example", false, true)).unwrap();
    v.trust_mut().set("payments", "corp-root", Direction::Inbound, true).unwrap();
    v.trust_mut().set("checkout", "corp-root", Direction::Outbound, true).unwrap();
    (dir, v)
}

#[test]
fn mutual_tls_succeeds_only_with_both_trusts_valid_and_unrevoked_certs() {
    let (_dir, mut v) = estate();
    let a = v.certs_mut().identity("payments").unwrap();
    let b = v.certs_mut().identity("checkout").unwrap();
    handshake(&a, &b, true, SERVER_NAME).expect("A trusts B's CA inbound and B trusts A's CA outbound");

    // A stops trusting corp-root inbound (trusts an unrelated root instead): refused.
    v.trust_mut().set("payments", "corp-root", Direction::Inbound, false).unwrap();
    v.trust_mut().set("payments", "other-root", Direction::Inbound, true).unwrap();
    let a_untrusting = v.certs_mut().identity("payments").unwrap();
    let err = handshake(&a_untrusting, &b, true, SERVER_NAME).unwrap_err();
    assert!(err.contains("UnknownIssuer") || err.contains("unknown"), "{err}");
    v.trust_mut().set("payments", "other-root", Direction::Inbound, false).unwrap();
    v.trust_mut().set("payments", "corp-root", Direction::Inbound, true).unwrap();

    // B stops trusting corp-root outbound: B refuses A's server certificate.
    v.trust_mut().set("checkout", "corp-root", Direction::Outbound, false).unwrap();
    v.trust_mut().set("checkout", "other-root", Direction::Outbound, true).unwrap();
    let b_untrusting = v.certs_mut().identity("checkout").unwrap();
    assert!(handshake(&a, &b_untrusting, true, SERVER_NAME).is_err());
    v.trust_mut().set("checkout", "other-root", Direction::Outbound, false).unwrap();
    v.trust_mut().set("checkout", "corp-root", Direction::Outbound, true).unwrap();
    handshake(
        &v.certs_mut().identity("payments").unwrap(),
        &v.certs_mut().identity("checkout").unwrap(),
        true,
        SERVER_NAME,
    )
    .expect("trust restored");

    // B's certificate expired: refused.
    let mut expired = request("checkout.prod.corp.example", false, true);
    expired.not_before = Some(time::OffsetDateTime::now_utc() - time::Duration::days(10));
    expired.validity_days = 2;
    v.services_mut()
        .add(ServiceSpec { name: "old-checkout".into(), environment: "prod".into(), ..Default::default() })
        .unwrap();
    v.certs_mut().issue("old-checkout", "prod-issuing", &expired).unwrap();
    v.trust_mut().set("old-checkout", "corp-root", Direction::Outbound, true).unwrap();
    let b_expired = v.certs_mut().identity("old-checkout").unwrap();
    let err = handshake(&a, &b_expired, true, SERVER_NAME).unwrap_err();
    assert!(err.to_lowercase().contains("expired"), "{err}");

    // B's certificate revoked: refused once A is given the CRL (and only then).
    let b_id = v.certs().get("checkout").unwrap().id.to_string();
    v.certs_mut().revoke(&b_id, Reason::KeyCompromise).unwrap();
    let a_with_crl = v.certs_mut().identity("payments").unwrap();
    assert!(!a_with_crl.crls.is_empty());
    handshake(&a_with_crl, &b, false, SERVER_NAME).expect("without the CRL, A cannot know");
    let err = handshake(&a_with_crl, &b, true, SERVER_NAME).unwrap_err();
    assert!(err.contains("Revoked") || err.contains("revoked"), "{err}");
}

fn pem_file(dir: &std::path::Path, name: &str, ders: &[Vec<u8>], tag: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    let text: String = ders.iter().map(|d| vault_data::to_pem(tag, d)).collect();
    std::fs::write(&p, text).unwrap();
    p
}

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().expect("openssl (Debian package openssl) must be installed");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn openssl_verifies_the_same_chains_and_honours_the_crl() {
    let (dir, mut v) = estate();
    let d = dir.path();
    let root = v.cas().pem("corp-root").unwrap();
    std::fs::write(d.join("root.pem"), &root).unwrap();
    std::fs::write(d.join("int.pem"), v.cas().pem("prod-issuing").unwrap()).unwrap();
    std::fs::write(d.join("leaf.pem"), v.certs().pem("checkout", false).unwrap()).unwrap();
    let p = |f: &str| d.join(f).to_string_lossy().to_string();
    let (ok, out) = openssl(&["verify", "-CAfile", &p("root.pem"), "-untrusted", &p("int.pem"), &p("leaf.pem")]);
    assert!(ok, "{out}");
    // The chain printed by `cert show --pem --chain` verifies as well.
    std::fs::write(d.join("chain.pem"), v.certs().pem("checkout", true).unwrap()).unwrap();
    let (ok, out) = openssl(&["verify", "-CAfile", &p("root.pem"), "-untrusted", &p("chain.pem"), &p("leaf.pem")]);
    assert!(ok, "{out}");

    let id = v.certs().get("checkout").unwrap().id.to_string();
    v.certs_mut().revoke(&id, Reason::KeyCompromise).unwrap();
    let crl = v.cas_mut().issue_crl("prod-issuing").unwrap();
    pem_file(d, "crl.pem", &[crl], "X509 CRL");
    // The CRL itself verifies against its CA...
    std::fs::write(d.join("cas.pem"), format!("{}{}", v.cas().pem("prod-issuing").unwrap(), root)).unwrap();
    let (ok, out) = openssl(&["crl", "-in", &p("crl.pem"), "-CAfile", &p("cas.pem"), "-noout", "-verify"]);
    assert!(ok && out.contains("verify OK"), "{out}");
    // ...and with -crl_check the revoked leaf fails.
    let (ok, out) = openssl(&[
        "verify",
        "-crl_check",
        "-CRLfile",
        &p("crl.pem"),
        "-CAfile",
        &p("root.pem"),
        "-untrusted",
        &p("int.pem"),
        &p("leaf.pem"),
    ]);
    assert!(!ok && out.contains("revoked"), "{out}");
    // The vault's own check agrees.
    let report = v.certs().verify_stored(&id, None).unwrap();
    assert!(!report.ok);
    assert!(report.client.unwrap().unwrap().contains("revoked"));
}

#[test]
fn name_constraints_stop_issuance_and_fail_verification() {
    let (_dir, mut v) = estate();
    let before = v.certs().list(None).unwrap().len();
    let err = v
        .certs_mut()
        .issue("payments", "prod-issuing", &request("payments.staging.corp.example", true, false))
        .unwrap_err();
    assert!(err.to_string().contains("not permitted by prod-issuing"), "{err}");
    assert_eq!(v.certs().list(None).unwrap().len(), before, "nothing written");
    // An intermediate may not widen its parent's constraints either.
    let mut wide = ca("wide");
    wide.constraints.dns = vec![".corp.example".into()];
    let err = v.cas_mut().create(wide, Some("prod-issuing")).unwrap_err();
    assert!(err.to_string().contains("outside its parent"), "{err}");
    // An intermediate cannot outlive its parent.
    let mut long = ca("long-lived");
    long.validity_days = 5000;
    let err = v.cas_mut().create(long, Some("corp-root")).unwrap_err();
    assert!(err.to_string().contains("cannot outlive its parent"), "{err}");
}
