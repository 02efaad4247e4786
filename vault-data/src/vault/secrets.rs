//! Credentials: set, generate, reveal, history, list, remove, bulk import.

use std::collections::HashMap;

use secrecy::{ExposeSecret, SecretSlice};
use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{AuditEvent, AuditObject};
use crate::crypto::generate::{generate_secret, Charset};
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::model::names::{self, NameKind};
use crate::model::{Credential, CredentialVersion, ObjectRecord, SecretRef};
use crate::store::Op;
use crate::vault::Vault;
use std::ops::{Deref, DerefMut};

/// Largest secret value kept in one record (sled stores larger values in separate blob files).
pub const MAX_SECRET_LEN: usize = 64 * 1024;

/// Policy fields set along with a value; `None` keeps what the credential had.
#[derive(Debug, Clone, Default)]
pub struct SecretOptions {
    /// Service this credential grants access to.
    pub target: Option<String>,
    /// Rotation policy in days.
    pub rotate_days: Option<u32>,
}

/// A credential's policy as a whole, for an edit that changes no value: `None` clears a field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretPolicy {
    /// What the credential grants access to (a service or an outside system).
    pub target: Option<String>,
    /// Rotation policy in days.
    pub rotate_days: Option<u32>,
}

/// Longest target text kept; a target is a name, not a document.
const MAX_TARGET_LEN: usize = 200;

/// A rotation policy is a day or more (and, as for certificates, at most a hundred years).
fn check_rotation(days: Option<u32>) -> Result<()> {
    days.map_or(Ok(()), |d| Error::check_range(crate::error::Quantity::RotationDays, d.into(), 1..=36_500))
}

/// A target is shown in lists and findings: one line of printable text.
fn validate_target(target: &str) -> Result<()> {
    if target.trim().is_empty() || target.len() > MAX_TARGET_LEN || target.chars().any(char::is_control) {
        return Err(Error::Invalid(format!("a target is one line of 1 to {MAX_TARGET_LEN} printable characters")));
    }
    Ok(())
}

/// One secret of a bulk import.
pub struct NewSecret {
    /// Where it goes.
    pub reference: SecretRef,
    /// Its value.
    pub value: SecretSlice<u8>,
    /// Policy.
    pub options: SecretOptions,
    /// When the value was set, when importing history kept elsewhere (default: now). Rotation
    /// policy counts from it.
    pub set_at: Option<OffsetDateTime>,
}

/// What lists show about a credential: never its value.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SecretSummary {
    /// Credential id.
    pub id: RecordId,
    /// Service name.
    pub service: String,
    /// Secret name.
    pub name: String,
    /// Target service, if any.
    pub target: Option<String>,
    /// Rotation policy in days.
    pub rotate_days: Option<u32>,
    /// Number of versions kept.
    pub versions: usize,
    /// Current version number.
    pub current_version: u32,
    /// When the current version was set.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub updated: OffsetDateTime,
    /// When rotation is due, if there is a policy.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub rotation_due: Option<OffsetDateTime>,
    /// Whether that date has passed.
    pub rotation_overdue: bool,
}

/// One value to store as a new version.
#[derive(Clone, Copy)]
pub(super) struct Item<'a> {
    pub(super) reference: &'a SecretRef,
    pub(super) value: &'a [u8],
    pub(super) options: &'a SecretOptions,
    pub(super) generated: bool,
    pub(super) at: OffsetDateTime,
    /// Imports may carry an empty value (`EMPTY=` in an env file is a setting, kept as it is);
    /// `set` refuses one, where an empty value is almost always an empty pipe by mistake.
    pub(super) empty_ok: bool,
}

impl<'a> Item<'a> {
    pub(super) fn new(
        reference: &'a SecretRef,
        value: &'a [u8],
        options: &'a SecretOptions,
        generated: bool,
        at: OffsetDateTime,
    ) -> Self {
        Item { reference, value, options, generated, at, empty_ok: false }
    }
}

fn summary(service: &str, c: &Credential, now: OffsetDateTime) -> SecretSummary {
    let due = c.rotation_due();
    SecretSummary {
        id: c.id,
        service: service.to_string(),
        name: c.name.clone(),
        target: c.target.clone(),
        rotate_days: c.rotate_days,
        versions: c.versions.len(),
        current_version: c.current().map_or(0, |v| v.version),
        updated: c.current().map_or(c.created, |v| v.created),
        rotation_due: due,
        rotation_overdue: due.is_some_and(|d| d <= now),
    }
}

fn validate_value(reference: &SecretRef, value: &[u8], empty_ok: bool) -> Result<()> {
    if value.is_empty() && !empty_ok {
        return Err(Error::Invalid(format!("the value for {reference} is empty")));
    }
    if value.len() > MAX_SECRET_LEN {
        return Err(Error::Invalid(format!(
            "the value for {reference} is {} bytes; the limit is {MAX_SECRET_LEN}",
            value.len()
        )));
    }
    Ok(())
}

feature_handle!(
    /// Credentials (secrets) and their version history.
    Secrets, secrets, secrets_mut
);

impl<V: Deref<Target = Vault>> Secrets<V> {
    /// Checks, before a value is read, that `reference` can take one: its service exists, and the
    /// secret exists or its name follows the name rule. Front ends call it so a typo fails before
    /// the user types a secret.
    pub fn check_reference(&self, reference: &SecretRef) -> Result<()> {
        let index = &self.vault.unlocked()?.index;
        let svc = index.service_named(&reference.service)?;
        if index.credential_by_name.contains_key(&(svc.id, reference.name.clone())) {
            return Ok(());
        }
        names::check(NameKind::Secret, &reference.name)
    }

    /// Stores `value` as the next version of `reference` (creating the credential if new). An
    /// empty value is refused (an empty pipe, by mistake); [`Secrets::import`] keeps one.
    pub fn set(
        &mut self,
        reference: &SecretRef,
        value: &SecretSlice<u8>,
        options: SecretOptions,
    ) -> Result<SecretSummary>
    where
        V: DerefMut<Target = Vault>,
    {
        let item = Item::new(reference, value.expose_secret(), &options, false, OffsetDateTime::now_utc());
        let mut out = self.vault.store_secrets(&[item], "secret.set")?;
        out.pop().ok_or_else(|| Error::Storage("secret was not stored".into()))
    }

    /// Generates a value of `length` characters from `charset` and stores it as the next version.
    pub fn generate(
        &mut self,
        reference: &SecretRef,
        length: usize,
        charset: Charset,
        options: SecretOptions,
    ) -> Result<SecretSummary>
    where
        V: DerefMut<Target = Vault>,
    {
        let value = generate_secret(length, charset)?;
        let item = Item::new(reference, value.expose_secret(), &options, true, OffsetDateTime::now_utc());
        let mut out = self.vault.store_secrets(&[item], "secret.generate")?;
        out.pop().ok_or_else(|| Error::Storage("secret was not stored".into()))
    }

    /// Stores many secrets in one commit (one durable flush), then writes a snapshot. Unlike
    /// [`Secrets::set`], an empty value is stored as it is (an env file's `EMPTY=`).
    pub fn import(&mut self, secrets: &[NewSecret]) -> Result<Vec<SecretSummary>>
    where
        V: DerefMut<Target = Vault>,
    {
        let now = OffsetDateTime::now_utc();
        let items: Vec<_> = secrets
            .iter()
            .map(|s| Item {
                empty_ok: true,
                ..Item::new(&s.reference, s.value.expose_secret(), &s.options, false, s.set_at.unwrap_or(now))
            })
            .collect();
        let out = self.vault.store_secrets(&items, "secret.import")?;
        self.vault.checkpoint()?;
        Ok(out)
    }

    /// Returns a secret's value (the current version, or `version`). The reveal is audited
    /// durably before the value is returned; if the audit entry cannot be written, nothing is
    /// revealed.
    pub fn reveal(&mut self, reference: &SecretRef, version: Option<u32>) -> Result<SecretSlice<u8>>
    where
        V: DerefMut<Target = Vault>,
    {
        self.vault.read_secret(reference, version, "secret.reveal")
    }

    /// Like [`Secrets::reveal`], for a value that goes to the clipboard rather than the
    /// screen: audited as `secret.copy`, so the log tells the two apart.
    pub fn copy(&mut self, reference: &SecretRef, version: Option<u32>) -> Result<SecretSlice<u8>>
    where
        V: DerefMut<Target = Vault>,
    {
        self.vault.read_secret(reference, version, "secret.copy")
    }

    /// A credential with its versions (timestamps and lengths; no values).
    pub fn history(&self, reference: &SecretRef) -> Result<Credential> {
        self.vault.credential(reference).cloned()
    }

    /// Every credential, or those of `service`, sorted by service then name.
    pub fn list(&self, service: Option<&str>) -> Result<Vec<SecretSummary>> {
        let index = &self.vault.unlocked()?.index;
        let filter = service.map(|s| index.service_named(s).map(|s| s.id)).transpose()?;
        let now = OffsetDateTime::now_utc();
        let mut v: Vec<SecretSummary> = index
            .credentials
            .values()
            .filter(|c| filter.is_none_or(|id| c.service_id == id))
            .map(|c| summary(&index.service_name(c.service_id), c, now))
            .collect();
        v.sort_by(|a, b| (&a.service, &a.name).cmp(&(&b.service, &b.name)));
        Ok(v)
    }

    /// Renames a credential within its service. The record keeps its id and every version, so
    /// its history and audit trail follow it. The new name must be a portable environment name
    /// not used by another secret of the service. Bundles exported earlier keep the old name in
    /// their history: that is the name those bundles carry.
    pub fn rename(&mut self, reference: &SecretRef, new_name: &str) -> Result<SecretSummary>
    where
        V: DerefMut<Target = Vault>,
    {
        let mut cred = self.vault.credential(reference)?.clone();
        if cred.name == new_name {
            return Err(Error::Unchanged { subject: reference.to_string(), what: "name" });
        }
        names::check(NameKind::Secret, new_name)?;
        let index = &self.vault.unlocked()?.index;
        let service = index.service_name(cred.service_id);
        if index.credential_by_name.contains_key(&(cred.service_id, new_name.to_string())) {
            return Err(Error::Exists { kind: "secret", name: format!("{service}/{new_name}") });
        }
        let old = std::mem::replace(&mut cred.name, new_name.to_string());
        let op = self.vault.seal_object(cred.id, &ObjectRecord::Credential(cred.clone()))?;
        let obj = AuditObject::new("secret", Some(cred.id), format!("{service}/{new_name}"));
        let detail = format!("renamed from {old:?} to {new_name:?}");
        self.vault.commit(vec![op], vec![AuditEvent::success("secret.rename", vec![obj]).with_detail(detail)])?;
        let index = &mut self.vault.unlocked_mut()?.index;
        index.remove_credential(cred.id);
        index.put_credential(cred.clone());
        Ok(summary(&service, &cred, OffsetDateTime::now_utc()))
    }

    /// Replaces a credential's target and rotation policy without storing a new value. Audited
    /// with the old and new policy; an edit that changes nothing is refused.
    pub fn set_policy(&mut self, reference: &SecretRef, policy: SecretPolicy) -> Result<SecretSummary>
    where
        V: DerefMut<Target = Vault>,
    {
        if let Some(target) = &policy.target {
            validate_target(target)?;
        }
        check_rotation(policy.rotate_days)?;
        let mut cred = self.vault.credential(reference)?.clone();
        let old = SecretPolicy { target: cred.target.clone(), rotate_days: cred.rotate_days };
        if old == policy {
            return Err(Error::Unchanged { subject: reference.to_string(), what: "policy" });
        }
        cred.target = policy.target.clone();
        cred.rotate_days = policy.rotate_days;
        let op = self.vault.seal_object(cred.id, &ObjectRecord::Credential(cred.clone()))?;
        let obj = AuditObject::new("secret", Some(cred.id), reference.to_string());
        let show = |p: &SecretPolicy| {
            format!(
                "target {}, rotation {}",
                p.target.as_deref().unwrap_or("none"),
                p.rotate_days.map_or("none".to_string(), |d| format!("{d} days"))
            )
        };
        let detail = format!("{} -> {}", show(&old), show(&policy));
        self.vault.commit(vec![op], vec![AuditEvent::success("secret.policy", vec![obj]).with_detail(detail)])?;
        let u = self.vault.unlocked_mut()?;
        let service = u.index.service_name(cred.service_id);
        u.index.put_credential(cred.clone());
        Ok(summary(&service, &cred, OffsetDateTime::now_utc()))
    }

    /// Removes a credential and every version of its value.
    pub fn remove(&mut self, reference: &SecretRef) -> Result<()>
    where
        V: DerefMut<Target = Vault>,
    {
        let cred = self.vault.credential(reference)?.clone();
        let mut ops = vec![Vault::delete_object(cred.id)];
        ops.extend(cred.versions.iter().map(|v| Vault::delete_payload(v.payload_id)));
        let obj = AuditObject::new("secret", Some(cred.id), reference.to_string());
        self.vault.commit(ops, vec![AuditEvent::success("secret.remove", vec![obj])])?;
        self.vault.unlocked_mut()?.index.remove_credential(cred.id);
        Ok(())
    }
}

impl Vault {
    fn credential(&self, reference: &SecretRef) -> Result<&Credential> {
        let index = &self.unlocked()?.index;
        let svc = index.service_named(&reference.service)?;
        index
            .credential_by_name
            .get(&(svc.id, reference.name.clone()))
            .and_then(|id| index.credentials.get(id))
            .ok_or_else(|| {
                let known: Vec<String> = index
                    .credentials
                    .values()
                    .filter(|c| c.service_id == svc.id)
                    .map(|c| format!("{}/{}", svc.name, c.name))
                    .collect();
                Error::UnknownSecret(crate::error::Missing::among(
                    &reference.to_string(),
                    known.iter().map(String::as_str),
                ))
            })
    }

    /// Builds the ops for one new version; `staged` holds credentials changed earlier in the
    /// same batch.
    pub(super) fn stage_secret(
        &self,
        staged: &mut HashMap<(RecordId, String), Credential>,
        item: &Item<'_>,
        ops: &mut Vec<Op>,
    ) -> Result<(RecordId, u32)> {
        let Item { reference, value, options, generated, at: now, empty_ok } = *item;
        let index = &self.unlocked()?.index;
        let svc = index.service_named(&reference.service)?;
        let key = (svc.id, reference.name.clone());
        let mut cred = match staged.remove(&key) {
            Some(c) => c,
            None => match index.credential_by_name.get(&key).and_then(|id| index.credentials.get(id)) {
                // A new version of a credential from a vault made before the name rule is fine;
                // only a new name is checked.
                Some(c) => c.clone(),
                None => {
                    names::check(NameKind::Secret, &reference.name)?;
                    Credential {
                        id: RecordId::random(),
                        service_id: svc.id,
                        name: reference.name.clone(),
                        target: None,
                        rotate_days: None,
                        versions: Vec::new(),
                        created: now,
                    }
                }
            },
        };
        validate_value(reference, value, empty_ok)?;
        if let Some(target) = &options.target {
            validate_target(target)?;
            cred.target = Some(target.clone());
        }
        check_rotation(options.rotate_days)?;
        if options.rotate_days.is_some() {
            cred.rotate_days = options.rotate_days;
        }
        let payload_id = RecordId::random();
        let version = cred.current().map_or(1, |v| v.version + 1);
        cred.versions.push(CredentialVersion { version, created: now, length: value.len(), generated, payload_id });
        ops.push(self.seal_payload(payload_id, value)?);
        ops.push(self.seal_object(cred.id, &ObjectRecord::Credential(cred.clone()))?);
        let id = cred.id;
        staged.insert(key, cred);
        Ok((id, version))
    }

    /// Stores items as new versions in one commit.
    fn store_secrets(&mut self, items: &[Item<'_>], action: &str) -> Result<Vec<SecretSummary>> {
        let mut staged = HashMap::new();
        let mut ops = Vec::with_capacity(items.len() * 2);
        let mut events = Vec::with_capacity(items.len());
        for item in items {
            let (id, version) = self.stage_secret(&mut staged, item, &mut ops)?;
            let obj = AuditObject::new("secret", Some(id), item.reference.to_string());
            events.push(AuditEvent::success(action, vec![obj]).with_detail(format!("version {version}")));
        }
        self.commit(ops, events)?;
        let now = OffsetDateTime::now_utc();
        let u = self.unlocked_mut()?;
        let mut out = Vec::with_capacity(staged.len());
        for (_, cred) in staged {
            out.push(summary(&u.index.service_name(cred.service_id), &cred, now));
            u.index.put_credential(cred);
        }
        out.sort_by(|a, b| (&a.service, &a.name).cmp(&(&b.service, &b.name)));
        Ok(out)
    }

    fn read_secret(&mut self, reference: &SecretRef, version: Option<u32>, action: &str) -> Result<SecretSlice<u8>> {
        let cred = self.credential(reference)?;
        let v = match version {
            None => cred.current(),
            Some(n) => cred.versions.iter().find(|v| v.version == n),
        }
        .ok_or_else(|| Error::Invalid(format!("{reference} has no version {}", version.unwrap_or(0))))?
        .clone();
        let obj = AuditObject::new("secret", Some(cred.id), reference.to_string());
        let value = self.open_payload(v.payload_id)?;
        self.commit(
            vec![],
            vec![AuditEvent::success(action, vec![obj]).with_detail(format!("version {}", v.version))],
        )?;
        Ok(SecretSlice::from(value.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretSlice;

    use super::*;
    use crate::crypto::passphrase::KdfCost;
    use crate::model::ServiceSpec;

    #[test]
    fn a_policy_edit_changes_the_policy_only_and_refuses_a_target_of_several_lines() {
        let dir = tempfile::tempdir().unwrap();
        let (mut v, _) = Vault::create(
            &dir.path().join("v"),
            &age::secrecy::SecretString::from("a passphrase for the policy test".to_string()),
            crate::CreateOptions { kdf: KdfCost::LogN(10), ..Default::default() },
        )
        .unwrap();
        v.services_mut()
            .add(ServiceSpec { name: "payments".into(), environment: "prod".into(), ..Default::default() })
            .unwrap();
        let r: SecretRef = "payments/STRIPE_KEY".parse().unwrap();
        v.secrets_mut().set(&r, &SecretSlice::from(b"sk_1".to_vec()), SecretOptions::default()).unwrap();
        let p = |t: Option<&str>, d: Option<u32>| SecretPolicy { target: t.map(Into::into), rotate_days: d };
        let s = v.secrets_mut().set_policy(&r, p(Some("stripe"), Some(30))).unwrap();
        assert_eq!((s.target.as_deref(), s.rotate_days, s.versions), (Some("stripe"), Some(30), 1));
        for bad in [p(Some("stripe\nadmin"), None), p(Some("  "), None)] {
            assert_eq!(v.secrets_mut().set_policy(&r, bad).unwrap_err().code(), "invalid");
        }
        assert_eq!(v.secrets_mut().set_policy(&r, p(None, Some(0))).unwrap_err().code(), "out_of_range");
        assert_eq!(
            v.secrets_mut().set_policy(&r, p(Some("stripe"), Some(30))).unwrap_err().code(),
            "unchanged",
            "no change"
        );
        let cleared = v.secrets_mut().set_policy(&r, p(None, None)).unwrap();
        assert_eq!((cleared.target, cleared.rotate_days), (None, None));
        assert_eq!(v.secrets_mut().reveal(&r, None).unwrap().expose_secret(), b"sk_1");
    }
}
