//! The graph's rules on a hand-built estate in memory (no vault, no binary): which remedy each
//! finding carries, and how environment and neighbourhood filters cut the graph.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use crate::graph::findings::{compute, FindingKind, FindingOptions};
use crate::graph::model::{Facts, Model};
use crate::graph::remedy::{CertUse, Remedy};
use crate::graph::view::{build, GraphOptions, NodeKind};
use crate::ids::RecordId;
use crate::model::estate::Estate;
use crate::model::token::{ExternalIssuer, ExternalKey, GrantSide, IssuerRef, KeyRole, TokenAlg, TokenGrant, TokenKey};
use crate::model::{Ca, Credential, CredentialVersion, Intent, NameConstraintsSpec, Service};

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

fn service(e: &mut Estate, name: &str, env: &str) -> RecordId {
    let id = RecordId::random();
    e.put_service(Service {
        id,
        name: name.into(),
        environment: env.into(),
        owner: None,
        tags: BTreeMap::new(),
        spiffe_id: None,
        trust_inbound: Vec::new(),
        trust_outbound: Vec::new(),
        created: now(),
        updated: now(),
    });
    id
}

fn intent(e: &mut Estate, from: RecordId, to: RecordId) {
    let id = RecordId::random();
    e.intents.insert(id, Intent { id, from, to, note: None, created: now() });
}

/// A CA valid `not_before..not_after` (days from now); `signs`: its key is held here.
fn ca(e: &mut Estate, name: &str, signs: bool, not_before: i64, not_after: i64) -> RecordId {
    let id = RecordId::random();
    e.put_ca(Ca {
        id,
        name: name.into(),
        parent: None,
        key_type: None,
        key_payload: signs.then(RecordId::random),
        // No certificate body: the rules tested here read validity from the record.
        cert_der: Vec::new(),
        constraints: NameConstraintsSpec::default(),
        path_len: None,
        not_before: now() + Duration::days(not_before),
        not_after: now() + Duration::days(not_after),
        next_crl_number: 1,
        created: now(),
    });
    id
}

fn findings(e: &Estate) -> Vec<crate::graph::Finding> {
    let m = Model { index: e, now: now(), f: Arc::new(Facts::build(e, now())) };
    compute(&m, FindingOptions::default(), None)
}

fn remedy_of(e: &Estate, kind: FindingKind, first: &str) -> Option<Remedy> {
    let all = findings(e);
    let f = all.iter().find(|f| f.kind == kind && f.entities[0].name == first);
    f.unwrap_or_else(|| panic!("no {kind:?} finding about {first}: {all:#?}")).remedy.clone()
}

#[test]
fn a_stale_credential_is_rotated_by_service_and_name() {
    let mut e = Estate::default();
    let ads = service(&mut e, "ads", "prod");
    let id = RecordId::random();
    e.put_credential(Credential {
        id,
        service_id: ads,
        name: "API_KEY".into(),
        target: None,
        rotate_days: Some(30),
        versions: vec![CredentialVersion {
            version: 1,
            created: now() - Duration::days(45),
            length: 32,
            generated: true,
            payload_id: RecordId::random(),
        }],
        created: now() - Duration::days(45),
    });
    assert_eq!(
        remedy_of(&e, FindingKind::StaleCredential, "ads"),
        Some(Remedy::RotateCredential { service: "ads".into(), name: "API_KEY".into() })
    );
}

#[test]
fn a_caller_without_a_client_certificate_is_told_to_get_one_from_the_ca_the_callee_trusts() {
    let mut e = Estate::default();
    let web = service(&mut e, "web", "prod");
    let api = service(&mut e, "api", "prod");
    let root = ca(&mut e, "prod-root", true, -10, 300);
    e.services.get_mut(&api).unwrap().trust_inbound.push(root);
    intent(&mut e, web, api);
    assert_eq!(
        remedy_of(&e, FindingKind::BrokenIntent, "web"),
        Some(Remedy::IssueCertificate { service: "web".into(), usage: CertUse::Client, ca: Some("prod-root".into()) })
    );
    // Without a CA to name, the remedy still says what to issue.
    e.services.get_mut(&api).unwrap().trust_inbound.clear();
    assert_eq!(
        remedy_of(&e, FindingKind::BrokenIntent, "web"),
        Some(Remedy::IssueCertificate { service: "web".into(), usage: CertUse::Client, ca: None })
    );
}

#[test]
fn ca_remedies_follow_whether_the_ca_signs_and_is_in_use() {
    let mut e = Estate::default();
    let api = service(&mut e, "api", "prod");
    // Made here, unused: remove it if it is not needed.
    ca(&mut e, "spare", true, -10, 300);
    // Trust-only, trusted by nobody, expired: remove it (nothing depends on it).
    ca(&mut e, "old-public-root", false, -400, -1);
    // Made here, expired: replace it.
    let signing = ca(&mut e, "expired-issuing", true, -400, -1);
    // Trust-only and trusted, expiring within the window: trust its successor alongside it.
    let partner = ca(&mut e, "partner-root", false, -3000, 10);
    e.services.get_mut(&api).unwrap().trust_inbound.extend([signing, partner]);

    let ca_finding = |kind: FindingKind, name: &str| remedy_of(&e, kind, name);
    assert_eq!(
        ca_finding(FindingKind::UnusedCa, "spare"),
        Some(Remedy::RemoveCa { ca: "spare".into(), if_unneeded: true })
    );
    assert_eq!(
        ca_finding(FindingKind::Expired, "old-public-root"),
        Some(Remedy::RemoveCa { ca: "old-public-root".into(), if_unneeded: false })
    );
    assert_eq!(
        ca_finding(FindingKind::Expired, "expired-issuing"),
        Some(Remedy::ReplaceCa { ca: "expired-issuing".into() })
    );
    assert_eq!(
        ca_finding(FindingKind::ExpiringSoon, "partner-root"),
        Some(Remedy::TrustSuccessor { ca: "partner-root".into() })
    );
}

/// prod: web -> api -> db, api -> cache; staging: s-web -> s-api.
fn estate_in_two_environments() -> Estate {
    let mut e = Estate::default();
    let web = service(&mut e, "web", "prod");
    let api = service(&mut e, "api", "prod");
    let db = service(&mut e, "db", "prod");
    let cache = service(&mut e, "cache", "prod");
    let s_web = service(&mut e, "s-web", "staging");
    let s_api = service(&mut e, "s-api", "staging");
    intent(&mut e, web, api);
    intent(&mut e, api, db);
    intent(&mut e, api, cache);
    intent(&mut e, s_web, s_api);
    e
}

fn service_names(e: &Estate, opts: &GraphOptions) -> crate::Result<Vec<String>> {
    let m = Model { index: e, now: now(), f: Arc::new(Facts::build(e, now())) };
    let g = build(&m, opts, FindingOptions::default())?;
    let mut names: Vec<String> =
        g.nodes.iter().filter(|n| n.kind == NodeKind::Service).map(|n| n.name.clone()).collect();
    names.sort();
    Ok(names)
}

#[test]
fn the_environment_filter_keeps_one_environment_and_refuses_an_unknown_one() {
    let e = estate_in_two_environments();
    let all = service_names(&e, &GraphOptions::default()).unwrap();
    assert_eq!(all.len(), 6);
    let staging = GraphOptions { environment: Some("staging".into()), ..Default::default() };
    assert_eq!(service_names(&e, &staging).unwrap(), ["s-api", "s-web"]);
    // A typo selects nothing silently nowhere: it is an error naming the environment.
    let typo = GraphOptions { environment: Some("stagign".into()), ..Default::default() };
    let err = service_names(&e, &typo).unwrap_err();
    assert_eq!(err.code(), "unknown_environment");
}

#[test]
fn the_neighbourhood_filter_follows_intents_up_to_its_depth_within_the_environment() {
    let e = estate_in_two_environments();
    let around = |service: &str, depth: usize, environment: Option<&str>| {
        let opts = GraphOptions {
            service: Some(service.into()),
            depth: Some(depth),
            environment: environment.map(Into::into),
            ..Default::default()
        };
        service_names(&e, &opts)
    };
    assert_eq!(around("web", 1, None).unwrap(), ["api", "web"]);
    assert_eq!(around("web", 2, None).unwrap(), ["api", "cache", "db", "web"]);
    assert_eq!(around("db", 0, None).unwrap(), ["db"]);
    // Intents are followed both ways, never across the environment filter.
    assert_eq!(around("s-api", 3, Some("staging")).unwrap(), ["s-api", "s-web"]);
    assert_eq!(around("nope", 1, None).unwrap_err().code(), "unknown_service");
}

#[test]
fn node_ids_name_their_kind_and_record() {
    let e = estate_in_two_environments();
    let m = Model { index: &e, now: now(), f: Arc::new(Facts::build(&e, now())) };
    let g = build(&m, &GraphOptions::default(), FindingOptions::default()).unwrap();
    for n in &g.nodes {
        let id = e.service_by_name[&n.name];
        assert_eq!(n.id, format!("svc:{id}"));
    }
    let ids: HashSet<&str> = g.nodes.iter().map(|n| n.id.as_str()).collect();
    assert!(g.edges.iter().all(|edge| ids.contains(edge.from.as_str()) && ids.contains(edge.to.as_str())));
}

#[test]
fn environment_colours_are_the_same_in_every_vault_and_the_usual_names_never_share_one() {
    use crate::graph::view::{environment_slot, COLOUR_SLOTS};
    let usual = ["prod", "staging", "dev", "test", "qa", "sandbox"];
    let slots: HashSet<u8> = usual.iter().map(|e| environment_slot(e)).collect();
    assert_eq!(slots.len(), usual.len(), "two usual environments share a colour");
    // Fixed values: a colour must not move between releases (FNV-1a, not std's random hasher).
    assert_eq!(environment_slot("prod"), 0);
    assert_eq!(environment_slot("eu-west"), environment_slot("eu-west"));
    for name in ["eu-west", "perf", "preprod", "x"] {
        assert!(environment_slot(name) < COLOUR_SLOTS);
    }
    // A view of one environment lists them all, with the same slots as the full view.
    let e = estate_in_two_environments();
    let m = Model { index: &e, now: now(), f: Arc::new(Facts::build(&e, now())) };
    let full = build(&m, &GraphOptions::default(), FindingOptions::default()).unwrap();
    let prod =
        build(&m, &GraphOptions { environment: Some("prod".into()), ..Default::default() }, FindingOptions::default())
            .unwrap();
    assert_eq!(full.environments, prod.environments);
    assert_eq!(full.environments.len(), 2);
}

#[test]
fn tag_and_finding_kind_filters_keep_the_matching_services_and_only_that_kind_of_finding() {
    let mut e = estate_in_two_environments();
    service(&mut e, "lonely", "prod");
    for (name, tier) in [("web", "1"), ("api", "2")] {
        let id = e.service_by_name[name];
        if let Some(s) = e.services.get_mut(&id) {
            s.tags.insert("tier".into(), tier.into());
        }
    }
    let tier1 = GraphOptions { tag: Some("tier=1".into()), ..Default::default() };
    assert_eq!(service_names(&e, &tier1).unwrap(), ["web"]);
    let any_tier = GraphOptions { tag: Some(" tier ".into()), ..Default::default() };
    assert_eq!(service_names(&e, &any_tier).unwrap(), ["api", "web"]);
    // Every intent here is broken (no certificates): the services with one stay, `lonely` goes.
    let broken = GraphOptions { finding_kind: Some(FindingKind::BrokenIntent), ..Default::default() };
    let names = service_names(&e, &broken).unwrap();
    assert!(!names.contains(&"lonely".to_string()) && names.contains(&"web".to_string()), "{names:?}");
    let m = Model { index: &e, now: now(), f: Arc::new(Facts::build(&e, now())) };
    let g = build(&m, &broken, FindingOptions::default()).unwrap();
    assert!(g.findings.iter().all(|f| f.kind == FindingKind::BrokenIntent), "only that kind is listed");
    assert!(!g.findings.is_empty());
    assert_eq!(FindingKind::parse("over_trust").unwrap(), FindingKind::OverTrust);
    assert_eq!(FindingKind::parse("over-trust").unwrap_err().code(), "unknown_choice");
}

fn grant(e: &mut Estate, service: RecordId, side: GrantSide, issuer: IssuerRef, audience: &str) {
    let id = RecordId::random();
    e.grants.insert(
        id,
        TokenGrant { id, service, side, issuer, audience: audience.into(), scopes: Vec::new(), created: now() },
    );
}

/// auth (prod) issues with a current key and no next; keycloak is imported with an HS256 key;
/// checkout gets auth tokens for `payments`, which payments (intended) and billing (not) accept;
/// web (staging) accepts auth tokens for any audience; payments also accepts keycloak's.
fn token_estate() -> (Estate, RecordId, RecordId, RecordId) {
    let mut e = Estate::default();
    let auth = service(&mut e, "auth", "prod");
    let checkout = service(&mut e, "checkout", "prod");
    let payments = service(&mut e, "payments", "prod");
    let billing = service(&mut e, "billing", "prod");
    let web = service(&mut e, "web", "staging");
    let key = RecordId::random();
    e.token_keys.insert(
        key,
        TokenKey {
            id: key,
            service: auth,
            alg: TokenAlg::ES256,
            kid: "kid-auth-current-0123456789".into(),
            public_jwk: "{}".into(),
            key_payload: RecordId::random(),
            role: KeyRole::Current,
            created: now() - Duration::days(10),
            since: now() - Duration::days(10),
        },
    );
    let kc = RecordId::random();
    e.issuers.insert(
        kc,
        ExternalIssuer {
            id: kc,
            name: "keycloak".into(),
            issuer_url: None,
            environment: Some("prod".into()),
            keys: vec![ExternalKey {
                kid: "hs1".into(),
                kty: "oct".into(),
                alg: Some("HS256".into()),
                rsa_bits: None,
                jwk: "{}".into(),
            }],
            imported: now(),
        },
    );
    let auth_ref = IssuerRef::Service(auth);
    grant(&mut e, checkout, GrantSide::Client, auth_ref, "payments");
    grant(&mut e, payments, GrantSide::Accepts, auth_ref, "payments");
    grant(&mut e, billing, GrantSide::Accepts, auth_ref, "payments");
    grant(&mut e, web, GrantSide::Accepts, auth_ref, "*");
    grant(&mut e, payments, GrantSide::Accepts, IssuerRef::External(kc), "payments");
    intent(&mut e, checkout, payments);
    (e, checkout, payments, billing)
}

#[test]
fn token_findings_name_unjustified_trust_shared_and_wildcard_audiences_weak_and_stale_keys_and_environments() {
    let (e, ..) = token_estate();
    let token_kinds = [
        FindingKind::UnjustifiedTokenTrust,
        FindingKind::SharedAudience,
        FindingKind::WeakTokenKey,
        FindingKind::StaleTokenKey,
        FindingKind::TokenKeyAcrossEnvironments,
    ];
    let mut got: Vec<(FindingKind, String)> =
        findings(&e).into_iter().filter(|f| token_kinds.contains(&f.kind)).map(|f| (f.kind, f.message)).collect();
    got.sort();
    let mut want = vec![
        (
            FindingKind::UnjustifiedTokenTrust,
            "billing accepts tokens from auth (audience payments) that checkout can get, and no intent says checkout calls billing".to_string(),
        ),
        (
            FindingKind::UnjustifiedTokenTrust,
            "web accepts tokens from auth (audience payments) that checkout can get, and no intent says checkout calls web".to_string(),
        ),
        (
            FindingKind::SharedAudience,
            "audience payments of auth is accepted by billing, payments: a token for one works at the others".to_string(),
        ),
        (
            FindingKind::SharedAudience,
            "web accepts tokens from auth for any audience: a token meant for any other service works here".to_string(),
        ),
        (
            FindingKind::WeakTokenKey,
            "issuer keycloak: key hs1 is a shared secret (HS256): anyone who verifies can also mint".to_string(),
        ),
        (
            FindingKind::StaleTokenKey,
            "token issuer auth publishes no next key, so a rotation would break verifiers".to_string(),
        ),
        (
            FindingKind::TokenKeyAcrossEnvironments,
            "the keys of auth are accepted in prod and staging: a token from one environment works in the others".to_string(),
        ),
    ];
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn explain_names_token_paths_and_the_graph_draws_them() {
    let (e, checkout, payments, billing) = token_estate();
    let m = Model { index: &e, now: now(), f: Arc::new(Facts::build(&e, now())) };
    let x = crate::graph::explain::explain(&m, checkout, payments);
    assert_eq!(x.token_paths, ["checkout can call payments with a token from auth, audience payments"]);
    assert_eq!(x.tokens[0].kids, ["kid-auth-current-0123456789"]);
    assert_eq!(x.verdict, "intended and working");
    let y = crate::graph::explain::explain(&m, checkout, billing);
    assert_eq!(y.verdict, "possible but not intended (over-trust)");
    let g = build(&m, &GraphOptions::default(), FindingOptions::default()).unwrap();
    let tokens: Vec<(&str, &str)> = g
        .edges
        .iter()
        .filter(|e| e.kind == crate::graph::view::EdgeKind::Token)
        .map(|e| (e.from.as_str(), e.to.as_str()))
        .collect();
    assert_eq!(tokens.len(), 3, "checkout to payments, billing and web: {tokens:?}");
    assert!(tokens.iter().all(|(f, _)| *f == format!("svc:{checkout}")));
}
