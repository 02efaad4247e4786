//! The demo estate: a realistic vault (environments, a CA hierarchy, certificates some of them
//! expiring, credentials, intents, and every kind of finding) for first-run exploration, README
//! screenshots and benchmarks. The same seed builds the same estate (names, structure, dates);
//! keys are always fresh.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use secrecy::SecretSlice;
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::error::Result;
use crate::model::{SecretRef, ServiceSpec};
use crate::pki::{crl::Reason, CaSpec, KeyType, NameConstraintsSpec};
use crate::vault::{Direction, IssueRequest, NewSecret, SecretOptions, Vault};

const WORDS: &[&str] = &[
    "payments",
    "checkout",
    "search",
    "catalog",
    "inventory",
    "orders",
    "shipping",
    "billing",
    "auth",
    "users",
    "notifications",
    "gateway",
    "reports",
    "analytics",
    "recommendations",
    "pricing",
    "fraud",
    "ledger",
    "email",
    "sms",
    "media",
    "profiles",
    "reviews",
    "returns",
    "tax",
    "invoices",
    "loyalty",
    "wishlist",
    "cart",
    "sessions",
    "geo",
    "feeds",
    "ads",
    "audit",
    "scheduler",
    "exports",
    "imports",
    "webhooks",
    "metrics",
    "config",
];

/// What the demo contains.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DemoSummary {
    /// Services.
    pub services: usize,
    /// CAs.
    pub cas: usize,
    /// Certificates.
    pub certificates: usize,
    /// Intents.
    pub intents: usize,
    /// Credentials.
    pub credentials: usize,
}

fn env_of(i: usize) -> &'static str {
    match i % 10 {
        0..=5 => "prod",
        6 | 7 => "staging",
        _ => "dev",
    }
}

fn name_of(i: usize) -> String {
    let w = WORDS[i % WORDS.len()];
    if i < WORDS.len() {
        w.to_string()
    } else {
        format!("{w}-{}", i / WORDS.len() + 1)
    }
}

fn leaf(validity_days: u32, not_before: Option<OffsetDateTime>) -> IssueRequest {
    IssueRequest {
        dns: vec![],
        ips: vec![],
        uris: vec![],
        server: true,
        client: true,
        validity_days,
        not_before,
        key_type: KeyType::EcdsaP256,
    }
}

fn ca_spec(name: &str, days: u32, dns: &[&str], uri: &[&str]) -> CaSpec {
    CaSpec {
        name: name.into(),
        key_type: KeyType::EcdsaP256,
        validity_days: days,
        path_len: None,
        constraints: NameConstraintsSpec {
            dns: dns.iter().map(|s| s.to_string()).collect(),
            uri: uri.iter().map(|s| s.to_string()).collect(),
            ip: Vec::new(),
        },
    }
}

const LEGACY_ROOT: &str = include_str!("demo_legacy_root.pem");

impl Vault {
    /// Fills an empty vault with the demo estate of `services` services, and marks it as a demo.
    pub fn populate_demo(&mut self, services: usize, seed: u64) -> Result<DemoSummary> {
        let services = services.max(8);
        let mut rng = StdRng::seed_from_u64(seed);
        let now = OffsetDateTime::now_utc();

        // CA hierarchy: a corporate root, an issuing CA per environment, team CAs in big estates,
        // an old root about to expire that nothing uses, and a weak legacy partner root.
        self.cas_mut().create(ca_spec("corp-root", 3650, &[], &[]), None)?;
        for env in ["prod", "staging", "dev"] {
            let dns = format!(".{env}.corp.example");
            let uri = format!("spiffe://corp.example/{env}");
            self.cas_mut().create(ca_spec(&format!("{env}-issuing"), 1825, &[&dns], &[&uri]), Some("corp-root"))?;
        }
        let team_cas = (services / 700).min(14);
        for t in 0..team_cas {
            self.cas_mut()
                .create(ca_spec(&format!("prod-team-{t}"), 900, &[".prod.corp.example"], &[]), Some("prod-issuing"))?;
        }
        self.cas_mut().create(ca_spec("old-root", 20, &[], &[]), None)?;
        self.cas_mut().import(LEGACY_ROOT.as_bytes(), "demo legacy partner root")?;

        let specs: Vec<ServiceSpec> = (0..services)
            .map(|i| {
                let env = env_of(i);
                let name = name_of(i);
                ServiceSpec {
                    spiffe_id: Some(format!("spiffe://corp.example/{env}/{name}")),
                    owner: Some(format!("team-{}", WORDS[(i * 7) % WORDS.len()])),
                    tags: [("tier".to_string(), (1 + i % 3).to_string())].into(),
                    environment: env.into(),
                    name,
                }
            })
            .collect();
        let added = self.services_mut().add_many(specs)?;

        // A few certificates that tell a story: expiring soon, already expired, revoked.
        let mut special = Vec::new();
        for (i, svc) in added.iter().enumerate().filter(|(i, _)| i % 9 == 4).take(services / 9 + 1) {
            let env = env_of(i);
            // 30-day certificates in their last third (4 to 9 days left): expiring by the rule.
            let mut req = leaf(30, Some(now - Duration::days(21 + (i % 6) as i64)));
            req.dns = vec![format!("{}.{env}.corp.example", svc.name)];
            req.uris = svc.spiffe_id.iter().cloned().collect();
            self.certs_mut().issue(&svc.name, &format!("{env}-issuing"), &req)?;
            special.push(i);
        }
        let expired = &added[1];
        let mut req = leaf(30, Some(now - Duration::days(45)));
        req.dns = vec![format!("{}.prod.corp.example", expired.name)];
        self.certs_mut().issue(&expired.name, "prod-issuing", &req)?;
        for env in ["prod", "staging", "dev"] {
            // A small demo may leave an environment empty.
            match self.exports().services_in(env) {
                Err(crate::Error::UnknownEnvironment(_)) => continue,
                r => r.map(|_| ())?,
            }
            let ca = if env == "prod" && team_cas > 0 { "prod-team-0".to_string() } else { format!("{env}-issuing") };
            self.certs_mut().issue_missing(&ca, env, &leaf(90 + rng.gen_range(0..200), None), &|_, _| {})?;
        }
        let revoked = &added[2];
        let id = self.certs().get(&revoked.name)?.id.to_string();
        self.certs_mut().revoke(&id, Reason::KeyCompromise)?;

        // Trust: prod trusts the corporate root inbound (over-trust, cross-environment), except every
        // third prod service, which trusts only prod-issuing; other environments trust their own.
        let mut changes = Vec::new();
        for (i, svc) in added.iter().enumerate() {
            let env = env_of(i);
            let (inbound, outbound) = match env {
                "prod" if i % 3 == 0 => ("prod-issuing".to_string(), "corp-root".to_string()),
                "prod" => ("corp-root".to_string(), "corp-root".to_string()),
                "staging" => ("staging-issuing".to_string(), "corp-root".to_string()),
                _ => ("dev-issuing".to_string(), "dev-issuing".to_string()),
            };
            changes.push((svc.name.clone(), inbound, Direction::Inbound));
            changes.push((svc.name.clone(), outbound, Direction::Outbound));
        }
        changes.push((added[3].name.clone(), "legacy-partner-root".into(), Direction::Outbound));
        self.trust_mut().set_many(&changes)?;

        // Intents: three callees in the same environment per service, plus one dev -> prod call
        // that cannot work.
        let mut by_env: std::collections::BTreeMap<&str, Vec<usize>> = Default::default();
        for i in 0..services {
            by_env.entry(env_of(i)).or_default().push(i);
        }
        let mut intents = Vec::new();
        for i in 0..services {
            let peers = &by_env[env_of(i)];
            for _ in 0..3 {
                let j = peers[rng.gen_range(0..peers.len())];
                if j != i {
                    intents.push((added[i].name.clone(), added[j].name.clone()));
                }
            }
        }
        let dev = by_env.get("dev").and_then(|d| d.first()).copied().unwrap_or(0);
        intents.push((added[dev].name.clone(), added[0].name.clone()));
        let intents = self.intents_mut().add_many(&intents)?;

        // Credentials: a database password each, API tokens to other services; some overdue.
        let mut fresh = Vec::new();
        let mut stale = Vec::new();
        for (i, svc) in added.iter().enumerate() {
            let mut value =
                |tag: &str| SecretSlice::from(format!("demo-{tag}-{seed}-{i}-{}", rng.gen::<u64>()).into_bytes());
            fresh.push(NewSecret {
                reference: SecretRef { service: svc.name.clone(), name: "DB_PASSWORD".into() },
                value: value("db"),
                options: SecretOptions { target: None, rotate_days: Some(90) },
                set_at: None,
            });
            for k in 0..3usize {
                let target = &added[(i + 1 + k * 5) % services];
                let item = NewSecret {
                    reference: SecretRef {
                        service: svc.name.clone(),
                        name: format!("{}_TOKEN", target.name.to_uppercase().replace('-', "_")),
                    },
                    value: value("token"),
                    options: SecretOptions { target: Some(target.name.clone()), rotate_days: Some(30) },
                    set_at: None,
                };
                if (i + k) % 7 == 0 {
                    stale.push(item);
                } else {
                    fresh.push(item);
                }
            }
        }
        for s in &mut stale {
            s.set_at = Some(now - Duration::days(45));
        }
        fresh.extend(stale);
        self.secrets_mut().import(&fresh)?;

        self.mark_demo()?;
        self.write_snapshot()?;
        let st = self.status()?;
        let counts = st.counts.unwrap_or_default();
        Ok(DemoSummary {
            services: counts.services,
            cas: counts.cas,
            certificates: counts.certificates,
            intents: intents.max(counts.intents),
            credentials: counts.credentials,
        })
    }
}
