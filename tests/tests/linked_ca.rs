//! Linked CAs against a real OpenBao PKI mount (`bao server -dev`, started and stopped here): the
//! key stays in the server, Keyloom makes the leaf key and has `pki_int/sign/services` sign a CSR.
//! What comes back is checked by OpenSSL against the mount's own CA, by a rustls mutual-TLS
//! exchange configured from the vault, and revocations land in the mount's CRL.

use std::process::Command;

use keyloom_tests::bao::Bao;
use keyloom_tests::tls::handshake;
use keyloom_tests::TestVault;
use vault_data::pki::crl::Reason;
use vault_data::pki::KeyType;
use vault_data::{
    CreateOptions, Direction, IssueRequest, KdfCost, RemoteLogin, RemoteSpec, SecretString, ServiceSpec, Vault,
};

const TOKEN: &str = "root-token-8c2d61f0aa";
const PAYMENTS: &str = "payments.prod.corp.example";

fn request(dns: &str, key_type: KeyType) -> IssueRequest {
    IssueRequest {
        dns: vec![dns.into()],
        ips: vec![],
        uris: vec![],
        server: true,
        client: true,
        validity_days: 30,
        key_type,
        not_before: None,
    }
}

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl").args(args).output().expect("openssl");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// A vault with payments and checkout (prod) and remote `team` at `bao`.
fn vault_with_remote(bao: &Bao) -> (tempfile::TempDir, Vault) {
    let dir = tempfile::tempdir().unwrap();
    let pw = SecretString::from("linked ca test passphrase".to_string());
    let (mut v, _) =
        Vault::create(&dir.path().join("v"), &pw, CreateOptions { kdf: KdfCost::LogN(4), ..Default::default() })
            .unwrap();
    for name in ["payments", "checkout"] {
        v.services_mut()
            .add(ServiceSpec { name: name.into(), environment: "prod".into(), ..Default::default() })
            .unwrap();
    }
    v.remotes_mut()
        .add(RemoteSpec {
            name: "team".into(),
            addr: bao.addr.clone(),
            kv_mount: "secret".into(),
            prefix: "keyloom".into(),
            namespace: None,
            ca_pem: None,
            insecure_http: true,
            login: RemoteLogin::Token(SecretString::from(TOKEN.to_string())),
            sealed: None,
        })
        .unwrap();
    (dir, v)
}

#[test]
fn a_linked_ca_issues_certificates_openssl_and_rustls_accept_and_revokes_into_the_mounts_crl() {
    let bao = Bao::start(TOKEN);
    let root_pem = bao.setup_pki("corp.example");
    let (dir, mut v) = vault_with_remote(&bao);

    let ca = v.cas_mut().link("prod-issuing-bao", "team", "pki_int", "services").unwrap();
    let link = ca.linked.clone().expect("shown as linked");
    assert_eq!((link.remote.as_str(), link.pki_mount.as_str(), link.role.as_str()), ("team", "pki_int", "services"));
    assert!(!ca.trust_only, "a linked CA signs");
    assert_eq!(ca.certificate.subject, "CN=Corp Issuing");
    // The chain above the mount's issuer came with it, for trust.
    assert_eq!(ca.parent.as_deref(), Some("corp-root"));
    assert!(v.cas().get("corp-root").unwrap().trust_only);

    let a = v.certs_mut().issue("payments", "prod-issuing-bao", &request(PAYMENTS, KeyType::EcdsaP256)).unwrap();
    let b = v
        .certs_mut()
        .issue("checkout", "prod-issuing-bao", &request("checkout.prod.corp.example", KeyType::Ed25519))
        .unwrap();
    assert!(a.has_key && b.has_key, "the keys were made here");
    assert_eq!(a.issuer_ca.as_deref(), Some("prod-issuing-bao"));
    assert_eq!(a.certificate.issuer, "CN=Corp Issuing");

    // OpenSSL, against the mount's own root and the chain Keyloom keeps.
    let d = dir.path();
    std::fs::write(d.join("root.pem"), &root_pem).unwrap();
    std::fs::write(d.join("leaf.pem"), v.certs().pem("payments", false).unwrap()).unwrap();
    std::fs::write(d.join("int.pem"), v.cas().pem("prod-issuing-bao").unwrap()).unwrap();
    let p = |f: &str| d.join(f).to_string_lossy().into_owned();
    let (ok, out) = openssl(&[
        "verify",
        "-CAfile",
        &p("root.pem"),
        "-untrusted",
        &p("int.pem"),
        "-purpose",
        "sslserver",
        &p("leaf.pem"),
    ]);
    assert!(ok, "openssl verify: {out}");
    // The vault's own verifier agrees.
    assert!(v.certs().verify_stored("payments", None).unwrap().ok);

    // rustls mutual TLS, configured only from what the vault hands out.
    v.trust_mut().set("payments", "corp-root", Direction::Inbound, true).unwrap();
    v.trust_mut().set("checkout", "corp-root", Direction::Outbound, true).unwrap();
    let server = v.certs_mut().identity("payments").unwrap();
    let client = v.certs_mut().identity("checkout").unwrap();
    handshake(&server, &client, false, PAYMENTS).expect("mTLS with certificates signed by the mount");

    // Revoking goes to the mount; the mount's CRL is the CA's CRL.
    v.certs_mut().revoke(&a.id.to_string(), Reason::KeyCompromise).unwrap();
    let crl = v.cas_mut().issue_crl("prod-issuing-bao").unwrap();
    std::fs::write(d.join("crl.der"), &crl).unwrap();
    let (ok, text) = openssl(&["crl", "-inform", "DER", "-in", &p("crl.der"), "-noout", "-text"]);
    assert!(ok, "{text}");
    assert!(text.contains("Issuer: CN = Corp Issuing"), "{text}");
    assert!(text.contains(&a.certificate.serial.to_uppercase()), "the mount's CRL lists the revoked serial:\n{text}");
    assert!(!text.contains(&b.certificate.serial.to_uppercase()));
    // And a relying party checking that CRL refuses the certificate.
    let (_, pem) = openssl(&["crl", "-inform", "DER", "-in", &p("crl.der")]);
    std::fs::write(d.join("chain-crl.pem"), format!("{root_pem}\n{}{pem}", v.cas().pem("prod-issuing-bao").unwrap()))
        .unwrap();
    let (ok, out) = openssl(&["verify", "-crl_check", "-CAfile", &p("chain-crl.pem"), &p("leaf.pem")]);
    assert!(!ok && out.contains("revoked"), "openssl -crl_check: {out}");
    // The server agrees: it reports the certificate revoked.
    let serial = a.certificate.serial.as_bytes().chunks(2).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>();
    let got = bao.ok(&["read", "-format=json", &format!("pki_int/cert/{}", serial.join(":"))]);
    let got: serde_json::Value = serde_json::from_str(&got).unwrap();
    assert!(got["data"]["revocation_time"].as_i64().unwrap_or(0) > 0, "{got}");
}

#[test]
fn linking_and_issuing_refuse_what_the_server_refuses_and_change_nothing() {
    let bao = Bao::start(TOKEN);
    bao.setup_pki("corp.example");
    let v = TestVault::init();
    v.ok(&["service", "add", "payments", "--env", "prod"]);
    let token = v.root.path().join("bao-token");
    std::fs::write(&token, TOKEN).unwrap();
    let t = token.to_string_lossy().into_owned();
    v.ok(&["remote", "add", "team", "--addr", &bao.addr, "--insecure-http", "--token-file", &t]);

    // A mount or role that is not there: refused, nothing recorded.
    let before = keyloom_tests::data_trees_after_close(&v);
    let err =
        v.fails(&["ca", "link", "bao-ca", "--remote", "team", "--pki-mount", "pki_nope", "--role", "services"], 1);
    assert!(err.contains("pki_nope"), "{err}");
    let err = v.fails(&["ca", "link", "bao-ca", "--remote", "team", "--pki-mount", "pki_int", "--role", "nope"], 1);
    assert!(err.contains("no role \"nope\""), "{err}");
    let err = v.fails(&["ca", "link", "bao-ca", "--remote", "team", "--pki-mount", "../sys", "--role", "services"], 1);
    assert!(err.contains("not a path"), "{err}");
    assert!(before == keyloom_tests::data_trees_after_close(&v), "a refused link changed the vault");

    let linked = v.json(&["ca", "link", "bao-ca", "--remote", "team", "--pki-mount", "pki_int", "--role", "services"]);
    assert_eq!(linked["linked"]["pki_mount"], "pki_int");
    let shown = v.ok(&["ca", "show", "bao-ca"]);
    assert!(shown.contains("linked       remote team, pki_int/sign/services"), "{shown}");

    // A name the role does not allow: the server says no, no certificate is recorded.
    let err =
        v.fails(&["cert", "issue", "--service", "payments", "--ca", "bao-ca", "--dns", "payments.evil.example"], 1);
    assert!(err.contains("payments.evil.example"), "the server's reason is shown: {err}");
    assert_eq!(v.json(&["cert", "list"]).as_array().unwrap().len(), 0);
    // A CSR can only be signed where the key is.
    let err = v.fails(&["ca", "sign-csr", "bao-ca", "/dev/null", "--out", "/tmp/never.pem"], 1);
    assert!(err.contains("signs in PKI mount"), "{err}");

    let issued =
        v.json(&["cert", "issue", "--service", "payments", "--ca", "bao-ca", "--dns", "payments.prod.corp.example"]);
    let id = issued["id"].as_str().unwrap().to_string();
    v.ok(&["cert", "revoke", &id]);
    // Audited with the server's serial, never the token.
    let audit = v.ok(&["audit", "list", "--json", "--limit", "100"]);
    assert!(audit.contains("signed by pki_int/sign/services (server serial "), "{audit}");
    assert!(audit.contains("revoked on remote team (pki_int, serial "), "{audit}");
    assert!(!audit.contains(TOKEN));

    // The remote cannot go while a CA signs through it.
    let err = v.fails(&["remote", "remove", "team"], 1);
    assert!(err.contains("used by linked CA \"bao-ca\""), "{err}");
    let removed = v.ok(&["ca", "remove", "bao-ca", "--force"]);
    assert!(removed.contains("Removed CA bao-ca"), "{removed}");
    assert!(v.json(&["ca", "list"]).as_array().unwrap().iter().all(|c| c["name"] != "bao-ca"));
    v.ok(&["remote", "remove", "team"]);
}
