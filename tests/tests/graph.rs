//! The trust graph on a hand-built estate (12 services, 3 environments, 4 CAs) where every kind
//! of finding occurs: exact findings, `explain`, agreement with real rustls handshakes for every
//! ordered pair, and how the graph follows revoke, renew, trust removal and intent removal.

use std::collections::BTreeSet;
use std::process::Command;

use keyloom_tests::tls::handshake;
use time::{Duration, OffsetDateTime};
use vault_data::graph::{CertUse, EdgeKind, FindingKind, FindingOptions, GraphOptions, Remedy, TrustSide};
use vault_data::pki::crl::Reason;
use vault_data::pki::{CaSpec, KeyType, NameConstraintsSpec};
use vault_data::{
    CreateOptions, Direction, IssueRequest, KdfCost, NewSecret, SecretOptions, SecretRef, SecretSlice, SecretString,
    ServiceSpec, Vault,
};

fn ca(name: &str, dns: &[&str]) -> CaSpec {
    CaSpec {
        name: name.into(),
        key_type: KeyType::EcdsaP256,
        validity_days: 365,
        path_len: None,
        constraints: NameConstraintsSpec { dns: dns.iter().map(|d| d.to_string()).collect(), uri: vec![], ip: vec![] },
    }
}

fn leaf(dns: &str, days: u32, not_before: Option<OffsetDateTime>) -> IssueRequest {
    IssueRequest {
        dns: vec![dns.into()],
        ips: vec![],
        uris: vec![],
        server: true,
        client: true,
        validity_days: days,
        not_before,
        key_type: KeyType::EcdsaP256,
    }
}

const SERVICES: &[(&str, &str)] = &[
    ("payments", "prod"),
    ("checkout", "prod"),
    ("orders", "prod"),
    ("ledger", "prod"),
    ("legacy", "prod"),
    ("s-payments", "staging"),
    ("s-checkout", "staging"),
    ("s-search", "staging"),
    ("d-api", "dev"),
    ("d-web", "dev"),
    ("d-tool", "dev"),
    ("d-old", "dev"),
];

fn dns_of(name: &str) -> String {
    if SERVICES.iter().any(|(n, e)| *n == name && *e == "prod") {
        format!("{name}.prod.corp.example")
    } else {
        format!("{name}.staging.corp.example")
    }
}

fn estate() -> (tempfile::TempDir, Vault) {
    let dir = tempfile::tempdir().unwrap();
    let pw = SecretString::from("graph test".to_string());
    let (mut v, _) =
        Vault::create(&dir.path().join("v"), &pw, CreateOptions { kdf: KdfCost::LogN(4), ..Default::default() })
            .unwrap();
    v.services_mut()
        .add_many(
            SERVICES
                .iter()
                .map(|(n, e)| ServiceSpec { name: n.to_string(), environment: e.to_string(), ..Default::default() })
                .collect(),
        )
        .unwrap();
    v.cas_mut().create(ca("corp-root", &[]), None).unwrap();
    v.cas_mut().create(ca("prod-ca", &[".prod.corp.example"]), Some("corp-root")).unwrap();
    v.cas_mut().create(ca("staging-ca", &[".staging.corp.example"]), Some("corp-root")).unwrap();
    v.cas_mut().create(ca("unused-root", &[]), None).unwrap();

    for s in ["payments", "checkout"] {
        v.certs_mut().issue(s, "prod-ca", &leaf(&dns_of(s), 90, None)).unwrap();
    }
    // Eight days into ten: in its last third, so expiring.
    v.certs_mut()
        .issue("orders", "prod-ca", &leaf(&dns_of("orders"), 10, Some(OffsetDateTime::now_utc() - Duration::days(8))))
        .unwrap();
    v.certs_mut()
        .issue("ledger", "prod-ca", &leaf(&dns_of("ledger"), 5, Some(OffsetDateTime::now_utc() - Duration::days(30))))
        .unwrap();
    for s in ["s-payments", "s-checkout", "s-search", "d-api", "d-web", "d-old"] {
        v.certs_mut().issue(s, "staging-ca", &leaf(&dns_of(s), 90, None)).unwrap();
    }
    let old = v.certs().get("d-old").unwrap().id.to_string();
    v.certs_mut().revoke(&old, Reason::KeyCompromise).unwrap();
    // legacy: a SHA-1-signed certificate made elsewhere (openssl), imported with its key.
    let d = dir.path();
    let out = Command::new("openssl")
        .current_dir(d)
        .args([
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-sha1",
            "-nodes",
            "-keyout",
            "legacy.key",
            "-out",
            "legacy.pem",
            "-days",
            "60",
            "-subj",
            "/CN=legacy",
        ])
        .args(["-addext", "basicConstraints=critical,CA:FALSE", "-addext", "extendedKeyUsage=serverAuth,clientAuth"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cert = std::fs::read(d.join("legacy.pem")).unwrap();
    let key = std::fs::read(d.join("legacy.key")).unwrap();
    v.certs_mut().import(&cert, "legacy.pem", &key, "legacy.key", "legacy").unwrap();

    let trust: &[(&str, &str, Direction)] = &[
        ("payments", "prod-ca", Direction::Inbound),
        ("payments", "corp-root", Direction::Outbound),
        ("checkout", "corp-root", Direction::Both),
        ("orders", "prod-ca", Direction::Both),
        ("s-payments", "staging-ca", Direction::Inbound),
        ("s-payments", "corp-root", Direction::Outbound),
        ("s-checkout", "staging-ca", Direction::Inbound),
        ("s-checkout", "corp-root", Direction::Outbound),
        ("s-search", "staging-ca", Direction::Both),
        ("d-api", "staging-ca", Direction::Both),
        ("d-web", "staging-ca", Direction::Both),
    ];
    for (s, c, d) in trust {
        v.trust_mut().set(s, c, *d, true).unwrap();
    }
    for (from, to) in [
        ("checkout", "payments"),
        ("orders", "payments"),
        ("payments", "checkout"),
        ("d-api", "payments"),
        ("ledger", "payments"),
        ("d-web", "d-tool"),
        ("s-checkout", "s-payments"),
    ] {
        v.intents_mut().add(from, to, None).unwrap();
    }
    v.secrets_mut()
        .import(&[NewSecret {
            reference: SecretRef { service: "s-search".into(), name: "API_TOKEN".into() },
            value: SecretSlice::from(b"token".to_vec()),
            options: SecretOptions { target: Some("s-payments".into()), rotate_days: Some(30) },
            set_at: Some(OffsetDateTime::now_utc() - Duration::days(45)),
        }])
        .unwrap();
    (dir, v)
}

/// (kind, the names of the first two entities) of every finding.
fn summary(v: &Vault) -> BTreeSet<(String, String, String)> {
    v.graph()
        .findings(FindingOptions::default())
        .unwrap()
        .iter()
        .map(|f| {
            let n = |i: usize| f.entities.get(i).map(|e| e.name.clone()).unwrap_or_default();
            let second = if matches!(
                f.kind,
                FindingKind::Expired
                    | FindingKind::ExpiringSoon
                    | FindingKind::RevokedCurrent
                    | FindingKind::WeakCrypto
            ) {
                String::new()
            } else {
                n(1)
            };
            (format!("{:?}", f.kind), n(0), second)
        })
        .collect()
}

fn set(items: &[(&str, &str, &str)]) -> BTreeSet<(String, String, String)> {
    items.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect()
}

#[test]
fn every_kind_of_finding_exactly() {
    let (_dir, v) = estate();
    let expected = set(&[
        ("OverTrust", "checkout", "corp-root"),
        ("OverTrust", "orders", "prod-ca"),
        ("OverTrust", "s-payments", "staging-ca"),
        ("OverTrust", "s-checkout", "staging-ca"),
        ("OverTrust", "s-search", "staging-ca"),
        ("OverTrust", "d-api", "staging-ca"),
        ("OverTrust", "d-web", "staging-ca"),
        ("CrossEnvironment", "checkout", "corp-root"),
        ("CrossEnvironment", "s-payments", "staging-ca"),
        ("CrossEnvironment", "s-checkout", "staging-ca"),
        ("CrossEnvironment", "s-search", "staging-ca"),
        ("CrossEnvironment", "d-api", "staging-ca"),
        ("CrossEnvironment", "d-web", "staging-ca"),
        ("BrokenIntent", "d-api", "payments"),
        ("BrokenIntent", "ledger", "payments"),
        ("BrokenIntent", "d-web", "d-tool"),
        ("Expired", "ledger", ""),
        ("ExpiringSoon", "orders", ""),
        ("RevokedCurrent", "d-old", ""),
        ("WeakCrypto", "legacy", ""),
        ("UnusedCa", "unused-root", ""),
        ("StaleCredential", "s-search", "s-search/API_TOKEN"),
        ("BlastRadius", "corp-root", "checkout"),
        ("BlastRadius", "prod-ca", "checkout"),
        ("BlastRadius", "staging-ca", "checkout"),
    ]);
    assert_eq!(summary(&v), expected);

    let all = v.graph().findings(FindingOptions::default()).unwrap();
    let find = |kind: FindingKind, first: &str| {
        all.iter().find(|f| f.kind == kind && f.entities[0].name == first).unwrap().clone()
    };
    let over = find(FindingKind::OverTrust, "checkout");
    assert_eq!(over.message, "checkout accepts 7 identities via corp-root; intends 1");
    assert_eq!(
        over.remedy,
        Some(Remedy::RemoveTrust {
            service: "checkout".into(),
            ca: "corp-root".into(),
            instead: Some("prod-ca".into())
        })
    );
    let cross = find(FindingKind::CrossEnvironment, "checkout");
    assert!(
        cross.message.contains("accepts 5 identities from other environments via corp-root (dev: 2, staging: 3)"),
        "{}",
        cross.message
    );
    assert_eq!(
        cross.remedy,
        Some(Remedy::EnvironmentCa { service: "checkout".into(), ca: "corp-root".into(), environment: "prod".into() })
    );
    let broken = find(FindingKind::BrokenIntent, "d-api");
    assert!(broken.message.contains("payments does not trust d-api's certificate chain inbound"), "{}", broken.message);
    assert_eq!(
        broken.remedy,
        Some(Remedy::AddTrust { service: "payments".into(), ca: "staging-ca".into(), side: TrustSide::Inbound })
    );
    let ledger = find(FindingKind::BrokenIntent, "ledger");
    assert!(ledger.message.contains("ledger's client certificate expired"));
    assert!(
        matches!(&ledger.remedy, Some(Remedy::IssueCertificate { service, usage: CertUse::Client, .. }) if service == "ledger"),
        "{:?}",
        ledger.remedy
    );
    let d_web = find(FindingKind::BrokenIntent, "d-web");
    assert!(d_web.message.contains("d-tool has no server certificate"));
    assert!(
        matches!(&d_web.remedy, Some(Remedy::IssueCertificate { service, usage: CertUse::Server, .. }) if service == "d-tool"),
        "{:?}",
        d_web.remedy
    );
    let blast = find(FindingKind::BlastRadius, "prod-ca");
    assert!(
        blast.message.contains("could impersonate 3 services (and names under prod.corp.example)"),
        "{}",
        blast.message
    );
    assert_eq!(blast.remedy, None, "blast radius is information, with nothing to run");
    // Every other finding says what to do.
    assert!(all.iter().filter(|f| f.kind != FindingKind::BlastRadius).all(|f| f.remedy.is_some()));
    // Ids are stable across runs.
    let again = v.graph().findings(FindingOptions::default()).unwrap();
    assert_eq!(all.iter().map(|f| &f.id).collect::<Vec<_>>(), again.iter().map(|f| &f.id).collect::<Vec<_>>());
    // Most severe first.
    assert!(all.windows(2).all(|w| w[0].severity <= w[1].severity));
}

#[test]
fn explain_intended_overtrusted_and_broken_pairs() {
    let (_dir, v) = estate();
    let ok = v.graph().explain("checkout", "payments").unwrap();
    assert_eq!(ok.verdict, "intended and working");
    assert_eq!(ok.accepts.as_deref(), Some("prod-ca"));
    assert_eq!(ok.can_verify.as_deref(), Some("corp-root"));
    assert!(ok.mtls.as_ref().unwrap().valid_until.is_some());
    let over = v.graph().explain("s-payments", "checkout").unwrap();
    assert_eq!(over.verdict, "possible but not intended (over-trust)");
    assert_eq!(over.accepts.as_deref(), Some("corp-root"));
    let broken = v.graph().explain("d-api", "payments").unwrap();
    assert_eq!(broken.verdict, "intended but broken");
    assert_eq!(
        broken.reasons,
        vec![
            "payments does not trust d-api's certificate chain inbound".to_string(),
            "d-api does not trust payments's certificate chain outbound".to_string()
        ]
    );
    let cred = v.graph().explain("s-search", "s-payments").unwrap();
    assert_eq!(cred.credentials, vec!["API_TOKEN".to_string()]);
}

#[test]
fn graph_mtls_agrees_with_real_handshakes_for_every_pair() {
    let (_dir, mut v) = estate();
    let g = v
        .graph()
        .view(&GraphOptions { all_mtls_pairs: true, ..Default::default() }, FindingOptions::default())
        .unwrap();
    assert_eq!(g.mtls_pairs, "all");
    let name_of = |node: &str| g.nodes.iter().find(|n| n.id == node).unwrap().name.clone();
    let graph_pairs: BTreeSet<(String, String)> =
        g.edges.iter().filter(|e| e.kind == EdgeKind::Mtls).map(|e| (name_of(&e.from), name_of(&e.to))).collect();
    assert!(graph_pairs.len() >= 10, "{graph_pairs:?}");
    let mut checked = 0;
    for (b, _) in SERVICES {
        for (a, _) in SERVICES {
            if a == b {
                continue;
            }
            let real = match (v.certs_mut().identity(a), v.certs_mut().identity(b)) {
                (Ok(server), Ok(client)) => handshake(&server, &client, true, &dns_of(a)).is_ok(),
                _ => false,
            };
            let claimed = graph_pairs.contains(&(b.to_string(), a.to_string()));
            assert_eq!(claimed, real, "graph says mtls({b} -> {a}) = {claimed}, rustls says {real}");
            checked += 1;
        }
    }
    assert_eq!(checked, 132);
}

#[test]
fn graph_follows_revoke_renew_trust_and_intent_changes() {
    let (_dir, mut v) = estate();
    let s = |v: &Vault| summary(v);
    // Revoking checkout's certificate breaks checkout -> payments and makes it revoked-current.
    let id = v.certs().get("checkout").unwrap().id.to_string();
    v.certs_mut().revoke(&id, Reason::KeyCompromise).unwrap();
    let after = s(&v);
    assert!(after.contains(&("BrokenIntent".into(), "checkout".into(), "payments".into())));
    assert!(after.contains(&("RevokedCurrent".into(), "checkout".into(), "".into())));
    assert_eq!(v.graph().explain("checkout", "payments").unwrap().verdict, "intended but broken");
    // Renewing orders' expiring certificate clears expiring-soon: the new one has a full 10-day life.
    let before = v.graph().findings(FindingOptions { expiring_within: Duration::days(30) }).unwrap();
    let expiring =
        before.iter().find(|f| f.kind == FindingKind::ExpiringSoon && f.entities[0].name == "orders").unwrap();
    // The remedy names the certificate to renew; doing what it says clears the finding.
    let Some(Remedy::RenewCertificate { service, certificate }) = &expiring.remedy else {
        panic!("{:?}", expiring.remedy)
    };
    assert_eq!((service.as_str(), *certificate), ("orders", expiring.entities[1].id));
    v.certs_mut().renew(&certificate.to_string(), false).unwrap();
    let after_renew = v.graph().findings(FindingOptions { expiring_within: Duration::days(30) }).unwrap();
    assert!(
        !after_renew.iter().any(|f| f.kind == FindingKind::ExpiringSoon && f.entities[0].name == "orders"),
        "the renewal is not expiring, and the superseded certificate is not flagged"
    );
    assert_eq!(v.certs().list(None).unwrap().iter().filter(|c| c.service.as_deref() == Some("orders")).count(), 2);
    assert!(v.graph().explain("orders", "payments").unwrap().verdict == "intended and working");
    // Removing corp-root from checkout's inbound trust removes its over-trust and cross-env findings.
    v.trust_mut().set("checkout", "corp-root", Direction::Inbound, false).unwrap();
    let after = s(&v);
    assert!(!after.iter().any(|(k, a, _)| (k == "OverTrust" || k == "CrossEnvironment") && a == "checkout"));
    // ...and payments -> checkout is now broken (checkout accepts nobody).
    assert!(after.contains(&("BrokenIntent".into(), "payments".into(), "checkout".into())));
    // Removing that intent removes the broken-intent finding.
    v.intents_mut().remove("payments", "checkout").unwrap();
    assert!(!s(&v).contains(&("BrokenIntent".into(), "payments".into(), "checkout".into())));
    // orders accepts payments (checkout's identity is revoked now); declaring that call clears
    // orders' over-trust.
    assert!(s(&v).contains(&("OverTrust".into(), "orders".into(), "prod-ca".into())));
    v.intents_mut().add("payments", "orders", None).unwrap();
    assert!(!s(&v).contains(&("OverTrust".into(), "orders".into(), "prod-ca".into())));
}

#[test]
fn neighbourhood_and_environment_filters_and_dot() {
    let (dir, v) = estate();
    let g = v
        .graph()
        .view(&GraphOptions { environment: Some("staging".into()), ..Default::default() }, FindingOptions::default())
        .unwrap();
    assert!(g.nodes.iter().filter(|n| n.environment.is_some()).all(|n| n.environment.as_deref() == Some("staging")));
    assert_eq!(g.nodes.iter().filter(|n| n.environment.is_some()).count(), 3);
    let g = v
        .graph()
        .view(
            &GraphOptions { service: Some("payments".into()), depth: Some(1), ..Default::default() },
            FindingOptions::default(),
        )
        .unwrap();
    let names: BTreeSet<String> = g.nodes.iter().filter(|n| n.environment.is_some()).map(|n| n.name.clone()).collect();
    for n in ["payments", "checkout", "orders", "d-api", "ledger"] {
        assert!(names.contains(n), "{n} is one hop from payments: {names:?}");
    }
    assert!(!names.contains("s-search"));
    // Over-trust is drawn on the trust edge, broken intents on the intent edge.
    let full = v.graph().view(&GraphOptions::default(), FindingOptions::default()).unwrap();
    assert!(full.edges.iter().any(|e| e.kind == EdgeKind::TrustsInbound && !e.findings.is_empty()));
    assert!(full.edges.iter().any(|e| e.kind == EdgeKind::Intent && !e.findings.is_empty()));
    // DOT renders with Graphviz.
    let dot = vault_data::graph::dot::to_dot(&full);
    assert!(dot.contains("subgraph cluster_") && dot.contains("label=\"prod\""));
    let path = dir.path().join("g.dot");
    std::fs::write(&path, dot).unwrap();
    let out =
        Command::new("dot").args(["-Tsvg", path.to_str().unwrap()]).output().expect("graphviz `dot` must be installed");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("<svg"));
}
