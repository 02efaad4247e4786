//! Names stored before the name rule ([`crate::model::names`]) that break it or collide by case:
//! found for `doctor`, each with a valid unused name to rename it to, as data a shell words.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::error::Result;
use crate::ids::RecordId;
use crate::model::names::{self, folded, NameKind};
use crate::model::{Ca, Credential, ObjectRecord, Service};
use crate::vault::Vault;

/// A stored name that breaks the name rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NameProblem {
    /// What it names.
    pub kind: NameKind,
    /// The record (`None` for an environment, which is a field of services).
    pub id: Option<RecordId>,
    /// The name as stored; for a secret, `SERVICE/NAME`.
    pub name: String,
    /// What is wrong with it.
    pub problem: String,
    /// A valid name, unused, to rename it to.
    pub suggestion: String,
    /// What fixes it (the CLI prints it as the command, with the name quoted for the shell).
    pub fix: NameFix,
}

/// How a stored name that breaks the rule is fixed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum NameFix {
    /// Rename the service, CA or secret `name` (a secret as `SERVICE/NAME`) to `to`; the record
    /// keeps its id, so history and references follow.
    Rename {
        /// What it names.
        kind: NameKind,
        /// The name as stored.
        name: String,
        /// The new name.
        to: String,
    },
    /// Move each of `services` (an environment is a field of services) to environment `to`.
    MoveEnvironment {
        /// The valid environment name.
        to: String,
        /// The services in the badly named environment.
        services: Vec<String>,
    },
}

impl Vault {
    /// Every stored service, CA, environment and secret name that breaks the name rule (names
    /// that differ only in case always include one that does), sorted by kind and name. Reads
    /// the records themselves rather than the index, so it works after
    /// [`Vault::unlock_keys_only`] too; records that cannot be opened are skipped (`doctor`
    /// reports those).
    pub fn name_problems(&self) -> Result<Vec<NameProblem>> {
        let (mut services, mut cas, mut creds) = (Vec::new(), Vec::new(), Vec::new());
        for record in self.readable_objects()? {
            match record {
                ObjectRecord::Service(s) => services.push(s),
                ObjectRecord::Ca(c) => cas.push(c),
                ObjectRecord::Credential(c) => creds.push(c),
                _ => {}
            }
        }
        Ok(find(&services, &cas, &creds))
    }
}

/// Refuses to export a service whose name, or one of whose secrets' names, breaks the rule (only
/// vaults made before the rule hold such names): the names become directories, file names,
/// environment variables and Kubernetes names outside the vault, where `..` or `a b` would do
/// harm. The error names a valid name to rename it to.
pub(crate) fn check_exportable<'a>(service: &str, secrets: impl Iterator<Item = &'a str>) -> Result<()> {
    let refuse = |what: String, why: String, to: String| {
        Err(crate::Error::Invalid(format!(
            "{what} cannot be exported: its name {why}, and names become file names, environment variables and \
             labels outside the vault; rename it first, e.g. to {to} (the vault check lists every such name)"
        )))
    };
    if let Some(why) = names::problem(NameKind::Service, service) {
        let new = Some(names::slugify(service)).filter(|s| !s.is_empty()).unwrap_or_else(|| "NEW-NAME".into());
        return refuse(format!("service {}", names::shown(service)), why, new);
    }
    for name in secrets {
        if let Some(why) = names::problem(NameKind::Secret, name) {
            let new = Some(names::env_name_from(name)).filter(|s| !s.is_empty()).unwrap_or_else(|| "NEW_NAME".into());
            return refuse(format!("secret {}", names::shown(&format!("{service}/{name}"))), why, new);
        }
    }
    Ok(())
}

/// How many stored names fold to each key, to tell a collision by case from the record itself.
fn fold_counts<'a>(names: impl Iterator<Item = &'a str>) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for n in names {
        *counts.entry(folded(n)).or_insert(0) += 1;
    }
    counts
}

/// The stored names other than `name` itself that equal it ignoring case.
fn case_twins<'a>(all: &'a [&'a str], name: &str) -> Vec<&'a str> {
    let key = folded(name);
    all.iter().copied().filter(|n| *n != name && folded(n) == key).collect()
}

fn describe(kind: NameKind, name: &str, twins: &[&str]) -> Option<String> {
    let mut problem = names::problem(kind, name)?;
    if !twins.is_empty() {
        let shown: Vec<String> = twins.iter().map(|t| names::shown(t)).collect();
        problem.push_str(&format!("; it differs only in case from {}", shown.join(", ")));
    }
    Some(problem)
}

/// A valid label for `name` that no other stored name (ignoring case) and no earlier suggestion
/// claims; `fallback` when nothing usable is left of the name.
fn label_for(name: &str, fallback: String, counts: &HashMap<String, usize>, suggested: &mut HashSet<String>) -> String {
    let base = Some(names::slugify(name)).filter(|s| !s.is_empty()).unwrap_or(fallback);
    let own = folded(name);
    let taken = |n: &str| {
        let key = folded(n);
        let others = counts.get(&key).copied().unwrap_or(0).saturating_sub(usize::from(key == own));
        others > 0 || suggested.contains(&key)
    };
    let label = names::unique_label(&base, taken);
    suggested.insert(folded(&label));
    label
}

/// The problems among these records (see [`Vault::name_problems`]).
pub(crate) fn find(services: &[Service], cas: &[Ca], creds: &[Credential]) -> Vec<NameProblem> {
    let mut out = Vec::new();

    let service_names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    let counts = fold_counts(service_names.iter().copied());
    let mut suggested = HashSet::new();
    let mut sorted: Vec<&Service> = services.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for s in sorted {
        let Some(problem) = describe(NameKind::Service, &s.name, &case_twins(&service_names, &s.name)) else {
            continue;
        };
        let suggestion = label_for(&s.name, format!("service-{}", s.id.short()), &counts, &mut suggested);
        let fix = NameFix::Rename { kind: NameKind::Service, name: s.name.clone(), to: suggestion.clone() };
        out.push(NameProblem {
            kind: NameKind::Service,
            id: Some(s.id),
            name: s.name.clone(),
            problem,
            suggestion,
            fix,
        });
    }

    let ca_names: Vec<&str> = cas.iter().map(|c| c.name.as_str()).collect();
    let counts = fold_counts(ca_names.iter().copied());
    let mut suggested = HashSet::new();
    let mut sorted: Vec<&Ca> = cas.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    for c in sorted {
        let Some(problem) = describe(NameKind::Ca, &c.name, &case_twins(&ca_names, &c.name)) else {
            continue;
        };
        let suggestion = label_for(&c.name, format!("ca-{}", c.id.short()), &counts, &mut suggested);
        let fix = NameFix::Rename { kind: NameKind::Ca, name: c.name.clone(), to: suggestion.clone() };
        out.push(NameProblem { kind: NameKind::Ca, id: Some(c.id), name: c.name.clone(), problem, suggestion, fix });
    }

    // Environments are a field of services: one problem per spelling, fixed by editing each of
    // its services. Spellings that differ only in case are meant to be one environment, so the
    // suggestion may (and should) merge into one in use.
    let mut envs: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for s in services {
        envs.entry(s.environment.as_str()).or_default().push(s.name.as_str());
    }
    let env_names: Vec<&str> = envs.keys().copied().collect();
    for (env, mut members) in envs {
        let Some(problem) = describe(NameKind::Environment, env, &case_twins(&env_names, env)) else {
            continue;
        };
        members.sort_unstable();
        let suggestion = Some(names::slugify(env)).filter(|s| !s.is_empty()).unwrap_or_else(|| "env".into());
        let fix = NameFix::MoveEnvironment {
            to: suggestion.clone(),
            services: members.iter().map(|m| m.to_string()).collect(),
        };
        out.push(NameProblem {
            kind: NameKind::Environment,
            id: None,
            name: env.to_string(),
            problem,
            suggestion,
            fix,
        });
    }

    // Secrets: case matters for environment variables, so only the rule itself applies.
    let service_of: HashMap<RecordId, &str> = services.iter().map(|s| (s.id, s.name.as_str())).collect();
    let mut by_service: HashMap<RecordId, HashSet<&str>> = HashMap::new();
    for c in creds {
        by_service.entry(c.service_id).or_default().insert(c.name.as_str());
    }
    let mut sorted: Vec<(String, &Credential)> = creds
        .iter()
        .map(|c| (format!("{}/{}", service_of.get(&c.service_id).copied().unwrap_or("<missing service>"), c.name), c))
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut suggested: HashSet<(RecordId, String)> = HashSet::new();
    for (full, c) in sorted {
        let Some(problem) = names::problem(NameKind::Secret, &c.name) else {
            continue;
        };
        let base = Some(names::env_name_from(&c.name)).filter(|s| !s.is_empty()).unwrap_or_else(|| "SECRET".into());
        let used = by_service.get(&c.service_id);
        let suggestion = names::unique_env_name(&base, |n| {
            used.is_some_and(|u| u.contains(n)) || suggested.contains(&(c.service_id, n.to_string()))
        });
        suggested.insert((c.service_id, suggestion.clone()));
        let fix = NameFix::Rename { kind: NameKind::Secret, name: full.clone(), to: suggestion.clone() };
        out.push(NameProblem { kind: NameKind::Secret, id: Some(c.id), name: full, problem, suggestion, fix });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::names::{is_env_name, is_label};

    fn service(name: &str, env: &str) -> Service {
        let now = time::OffsetDateTime::now_utc();
        Service {
            id: RecordId::random(),
            name: name.into(),
            environment: env.into(),
            owner: None,
            tags: Default::default(),
            spiffe_id: None,
            trust_inbound: vec![],
            trust_outbound: vec![],
            created: now,
            updated: now,
        }
    }

    fn cred(service: &Service, name: &str) -> Credential {
        Credential {
            id: RecordId::random(),
            service_id: service.id,
            name: name.into(),
            target: None,
            rotate_days: None,
            versions: vec![],
            created: time::OffsetDateTime::now_utc(),
        }
    }

    #[test]
    fn legacy_names_are_listed_with_a_free_valid_suggestion() {
        let services = vec![
            service("payments", "prod"),
            service("Payments", "Prod"),
            service("..", "prod"),
            service("Zahlungen Zürich", "prod"),
            service("ok", "staging"),
        ];
        let creds = vec![cred(&services[0], "1X"), cred(&services[0], "_1X"), cred(&services[0], "GOOD")];
        let found = find(&services, &[], &creds);
        let by_name = |n: &str| found.iter().find(|p| p.name == n).unwrap_or_else(|| panic!("{n} not listed"));
        assert_eq!(found.len(), 5, "{found:#?}");
        let p = by_name("Payments");
        assert!(p.problem.contains("uppercase") && p.problem.contains("differs only in case from \"payments\""));
        assert_eq!(p.suggestion, "payments-2");
        assert_eq!(
            p.fix,
            NameFix::Rename { kind: NameKind::Service, name: "Payments".into(), to: "payments-2".into() }
        );
        assert_eq!(by_name("..").suggestion.len(), "service-".len() + 8);
        assert_eq!(by_name("Zahlungen Zürich").suggestion, "zahlungen-zurich");
        assert_eq!(
            by_name("Zahlungen Zürich").fix,
            NameFix::Rename {
                kind: NameKind::Service, name: "Zahlungen Zürich".into(), to: "zahlungen-zurich".into()
            }
        );
        let env = by_name("Prod");
        assert_eq!((env.kind, env.id, env.suggestion.as_str()), (NameKind::Environment, None, "prod"));
        assert!(
            matches!(&env.fix, NameFix::MoveEnvironment { to, services } if to == "prod" && services.contains(&"Payments".to_string())),
            "{:?}",
            env.fix
        );
        let s = by_name("payments/1X");
        assert_eq!(s.suggestion, "_1X_2", "_1X is taken in that service");
        for p in &found {
            let ok = if p.kind == NameKind::Secret { is_env_name(&p.suggestion) } else { is_label(&p.suggestion) };
            assert!(ok, "{p:?}");
        }
        // A vault that follows the rule has nothing to report.
        assert!(find(&[service("a", "prod")], &[], &[]).is_empty());
    }

    #[test]
    fn a_lone_uppercase_name_may_take_its_own_lowercase_form() {
        let found = find(&[service("Billing", "prod")], &[], &[]);
        assert_eq!(found[0].suggestion, "billing");
    }

    // ----- A vault made before the name rule -----
    //
    // Releases before the rule wrote names like `..`, `Payments` beside `payments` or `1X`. These
    // write records the way they did: through the same sealed commit, without the check.

    use crate::audit::{AuditEvent, AuditObject};
    use crate::model::{CredentialVersion, SecretRef, ServiceSpec};
    use crate::vault::{Direction, ExportOptions, SecretOptions, Unlock};
    use crate::{Error, KdfCost, SecretString};
    use secrecy::{ExposeSecret, SecretSlice};

    const PASS: &str = "legacy names test";

    fn legacy_service(v: &mut Vault, name: &str, env: &str) -> Service {
        let svc = service(name, env);
        let op = v.seal_object(svc.id, &ObjectRecord::Service(svc.clone())).unwrap();
        let obj = AuditObject::new("service", Some(svc.id), name);
        v.commit(vec![op], vec![AuditEvent::success("service.add", vec![obj])]).unwrap();
        v.unlocked_mut().unwrap().index.put_service(svc.clone());
        svc
    }

    fn legacy_secret(v: &mut Vault, svc: &Service, name: &str, value: &[u8]) -> Credential {
        let mut c = cred(svc, name);
        let payload_id = RecordId::random();
        c.versions.push(CredentialVersion {
            version: 1,
            created: c.created,
            length: value.len(),
            generated: false,
            payload_id,
        });
        let ops = vec![
            v.seal_payload(payload_id, value).unwrap(),
            v.seal_object(c.id, &ObjectRecord::Credential(c.clone())).unwrap(),
        ];
        let obj = AuditObject::new("secret", Some(c.id), format!("{}/{name}", svc.name));
        v.commit(ops, vec![AuditEvent::success("secret.set", vec![obj])]).unwrap();
        v.unlocked_mut().unwrap().index.put_credential(c.clone());
        c
    }

    /// Renames a CA record in place, as old imports named them (`GlobalSign (2)`).
    fn legacy_ca_name(v: &mut Vault, name: &str, legacy: &str) -> RecordId {
        let mut ca = v.unlocked().unwrap().index.ca_named(name).unwrap().clone();
        ca.name = legacy.into();
        let op = v.seal_object(ca.id, &ObjectRecord::Ca(ca.clone())).unwrap();
        v.commit(vec![op], vec![]).unwrap();
        v.unlocked_mut().unwrap().index.put_ca(ca.clone());
        ca.id
    }

    fn reference(s: &str) -> SecretRef {
        s.parse().unwrap()
    }

    #[test]
    fn a_vault_from_before_the_rule_is_found_listed_guarded_and_fixed_by_renames() {
        let dir = tempfile::tempdir().unwrap();
        let pass = SecretString::from(PASS.to_string());
        let (mut v, _) = Vault::create(
            &dir.path().join("v"),
            &pass,
            crate::CreateOptions { kdf: KdfCost::LogN(10), ..Default::default() },
        )
        .unwrap();
        v.services_mut()
            .add(ServiceSpec { name: "payments".into(), environment: "prod".into(), ..Default::default() })
            .unwrap();
        v.cas_mut()
            .create(
                crate::pki::CaSpec {
                    name: "partner-root".into(),
                    key_type: crate::pki::KeyType::EcdsaP256,
                    validity_days: 365,
                    path_len: None,
                    constraints: Default::default(),
                },
                None,
            )
            .unwrap();
        let upper = legacy_service(&mut v, "Payments", "Prod");
        let dots = legacy_service(&mut v, "..", "prod");
        let staging = legacy_service(&mut v, "legacy-staging", "Staging");
        let ca_id = legacy_ca_name(&mut v, "partner-root", "Partner Root (2)");
        let bad_secret = legacy_secret(&mut v, &dots, "1X", b"legacy value");
        v.secrets_mut()
            .set(
                &reference("payments/TOKEN"),
                &SecretSlice::from(b"t".to_vec()),
                SecretOptions { target: Some("..".into()), rotate_days: None },
            )
            .unwrap();
        v.intents_mut().add("payments", "..", None).unwrap();
        v.trust_mut().set("..", "Partner Root (2)", Direction::Inbound, true).unwrap();
        v.close().unwrap();

        // Reopened: lookups match exactly first; a case-insensitive guess that fits two is refused.
        let mut v = Vault::open(&dir.path().join("v")).unwrap();
        v.unlock(Unlock::Passphrase(pass.clone())).unwrap();
        assert_eq!(v.services().get("Payments").unwrap().id, upper.id);
        assert_ne!(v.services().get("payments").unwrap().id, upper.id);
        assert!(matches!(v.services().get("PAYMENTS"), Err(Error::UnknownService(_))));
        assert_eq!(v.services().get("..").unwrap().id, dots.id);
        assert_eq!(v.cas().get("partner root (2)").unwrap().id, ca_id, "a unique case-insensitive match is found");
        // New names still may not collide by case, and bad names stay bad.
        let spec = |n: &str| ServiceSpec { name: n.into(), environment: "prod".into(), ..Default::default() };
        assert!(matches!(v.services_mut().add(spec("PAYMENTS")), Err(Error::Exists { .. })));
        assert!(v.services_mut().add(spec("Payments2")).is_err());
        let err =
            v.services_mut().add(ServiceSpec { environment: "prod ".into(), ..spec("new") }).unwrap_err().to_string();
        assert!(err.contains("environment name"), "{err}");
        // A new environment that differs from one in use only in case is refused, naming it; one
        // in use under its exact spelling is fine even when a legacy spelling exists beside it.
        let err =
            v.services_mut().add(ServiceSpec { environment: "staging".into(), ..spec("new") }).unwrap_err().to_string();
        assert!(err.contains("differs only in case from the environment \"Staging\""), "{err}");
        let err = v
            .services_mut()
            .update("payments", crate::ServiceUpdate { environment: Some("staging".into()), ..Default::default() });
        assert!(err.is_err());
        v.services_mut().add(ServiceSpec { environment: "prod".into(), ..spec("new") }).unwrap();
        v.services_mut().remove("new", false).unwrap();
        // The legacy records keep working where no name leaves the vault.
        v.secrets_mut().set(&reference("../1X"), &SecretSlice::from(b"v2".to_vec()), SecretOptions::default()).unwrap();
        v.services_mut()
            .update("Payments", crate::ServiceUpdate { owner: Some(Some("team".into())), ..Default::default() })
            .unwrap();
        // ... but never as a path, an environment variable or a label.
        let opts = ExportOptions { secrets_only: true, format: "dir".into(), ..Default::default() };
        let err = v.exports_mut().bundle("..", &opts).unwrap_err().to_string();
        assert!(err.contains("cannot be exported") && err.contains("rename it first"), "{err}");
        let err = v.exports().preview(&["Payments".into()], &opts).unwrap_err().to_string();
        assert!(err.contains("rename"), "{err}");
        v.close().unwrap();

        // `doctor` unlocks the keys only and reads the records themselves.
        let mut v = Vault::open(&dir.path().join("v")).unwrap();
        v.unlock_keys_only(Unlock::Passphrase(pass.clone())).unwrap();
        let problems = v.name_problems().unwrap();
        let listed: Vec<(NameKind, &str)> = problems.iter().map(|p| (p.kind, p.name.as_str())).collect();
        assert_eq!(
            listed,
            [
                (NameKind::Service, ".."),
                (NameKind::Service, "Payments"),
                (NameKind::Ca, "Partner Root (2)"),
                (NameKind::Environment, "Prod"),
                (NameKind::Environment, "Staging"),
                (NameKind::Secret, "../1X"),
            ]
        );
        drop(v);

        // The fixes doctor suggests, applied: every record keeps its id, history and references.
        let mut v = Vault::open(&dir.path().join("v")).unwrap();
        v.unlock(Unlock::Passphrase(pass.clone())).unwrap();
        let renamed = v.services_mut().rename("..", "dotdot").unwrap();
        assert_eq!(renamed.id, dots.id);
        assert_eq!(v.intents().list(Some("dotdot")).unwrap()[0].to, "dotdot");
        assert_eq!(v.secrets().list(Some("payments")).unwrap()[0].target.as_deref(), Some("dotdot"));
        assert_eq!(v.trust().of("dotdot").unwrap().inbound, ["Partner Root (2)"]);
        v.cas_mut().rename("Partner Root (2)", "partner-root-2").unwrap();
        assert_eq!(v.trust().of("dotdot").unwrap().inbound, ["partner-root-2"]);
        let s = v.secrets_mut().rename(&reference("dotdot/1X"), "_1X").unwrap();
        assert_eq!((s.id, s.versions), (bad_secret.id, 2));
        let old = v.secrets_mut().reveal(&reference("dotdot/_1X"), Some(1)).unwrap();
        assert_eq!(old.expose_secret(), b"legacy value");
        // `Payments` may not take `payments` (in use), but `payments-2`; its environment is edited.
        assert!(matches!(v.services_mut().rename("Payments", "payments"), Err(Error::Exists { .. })));
        v.services_mut().rename("Payments", "payments-2").unwrap();
        v.services_mut()
            .update("payments-2", crate::ServiceUpdate { environment: Some("prod".into()), ..Default::default() })
            .unwrap();
        v.services_mut()
            .update(&staging.name, crate::ServiceUpdate { environment: Some("staging".into()), ..Default::default() })
            .unwrap();
        assert_eq!(v.name_problems().unwrap(), []);
        v.exports_mut().bundle("dotdot", &opts).unwrap();
        // The audit trail of each record (by id) runs from its creation through its rename.
        let entries = v.audit_entries().unwrap();
        let trail = |id: RecordId| -> Vec<String> {
            entries.iter().filter(|e| e.objects.iter().any(|o| o.id == Some(id))).map(|e| e.action.clone()).collect()
        };
        let svc_trail = trail(dots.id);
        assert_eq!(svc_trail.first().map(String::as_str), Some("service.add"));
        assert!(svc_trail.contains(&"service.rename".to_string()), "{svc_trail:?}");
        assert_eq!(trail(bad_secret.id), ["secret.set", "secret.set", "secret.rename", "secret.reveal"]);
        assert!(v.verify_audit().unwrap().ok);
        v.close().unwrap();
        let mut v = Vault::open(&dir.path().join("v")).unwrap();
        v.unlock(Unlock::Passphrase(pass)).unwrap();
        assert_eq!(v.services().get("dotdot").unwrap().id, dots.id, "renames are durable");
        assert!(v.services().get("..").is_err());
    }
}
