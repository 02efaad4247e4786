//! Intents: declared calls between services.

use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{AuditEvent, AuditObject};
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::model::{Intent, ObjectRecord};
use crate::vault::Vault;
use std::ops::{Deref, DerefMut};

/// An intent with its service names resolved.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct IntentView {
    /// Intent id.
    pub id: RecordId,
    /// Calling service.
    pub from: String,
    /// Called service.
    pub to: String,
    /// Why.
    pub note: Option<String>,
    /// Declared at.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created: OffsetDateTime,
}

feature_handle!(
    /// The declared calls between services (intents).
    Intents, intents, intents_mut
);

impl<V: Deref<Target = Vault>> Intents<V> {
    /// Declares that `from` calls `to`. Both services must exist.
    pub fn add(&mut self, from: &str, to: &str, note: Option<String>) -> Result<IntentView>
    where
        V: DerefMut<Target = Vault>,
    {
        let index = &self.vault.unlocked()?.index;
        let from_id = index.service_named(from)?.id;
        let to_id = index.service_named(to)?.id;
        if from_id == to_id {
            return Err(Error::Invalid(format!("an intent needs two different services (got {from:?} twice)")));
        }
        if index.intents.values().any(|i| i.from == from_id && i.to == to_id) {
            return Err(Error::Exists { kind: "intent", name: format!("{from} -> {to}") });
        }
        let intent =
            Intent { id: RecordId::random(), from: from_id, to: to_id, note, created: OffsetDateTime::now_utc() };
        let op = self.vault.seal_object(intent.id, &ObjectRecord::Intent(intent.clone()))?;
        let obj = AuditObject::new("intent", Some(intent.id), format!("{from} -> {to}"));
        self.vault.commit(vec![op], vec![AuditEvent::success("intent.add", vec![obj])])?;
        self.vault.unlocked_mut()?.index.intents.insert(intent.id, intent.clone());
        Ok(IntentView { id: intent.id, from: from.into(), to: to.into(), note: intent.note, created: intent.created })
    }

    /// Declares that `from` calls `to`, idempotently: when that intent exists, nothing is written
    /// and the second value is false.
    pub fn ensure(&mut self, from: &str, to: &str, note: Option<String>) -> Result<(IntentView, bool)>
    where
        V: DerefMut<Target = Vault>,
    {
        let index = &self.vault.unlocked()?.index;
        let (f, t) = (index.service_named(from)?, index.service_named(to)?);
        if let Some(i) = index.intents.values().find(|i| i.from == f.id && i.to == t.id) {
            let view = IntentView {
                id: i.id,
                from: f.name.clone(),
                to: t.name.clone(),
                note: i.note.clone(),
                created: i.created,
            };
            return Ok((view, false));
        }
        Ok((self.add(from, to, note)?, true))
    }

    /// Declares many intents in one commit; duplicates and self-calls are skipped. Returns how
    /// many were added. Unknown names fail the whole batch before anything is written.
    pub fn add_many(&mut self, pairs: &[(String, String)]) -> Result<usize>
    where
        V: DerefMut<Target = Vault>,
    {
        let index = &self.vault.unlocked()?.index;
        let mut existing: std::collections::HashSet<(RecordId, RecordId)> =
            index.intents.values().map(|i| (i.from, i.to)).collect();
        let now = OffsetDateTime::now_utc();
        let mut new = Vec::new();
        for (from, to) in pairs {
            let (f, t) = (index.service_named(from)?.id, index.service_named(to)?.id);
            if f != t && existing.insert((f, t)) {
                new.push((
                    Intent { id: RecordId::random(), from: f, to: t, note: None, created: now },
                    format!("{from} -> {to}"),
                ));
            }
        }
        let mut ops = Vec::with_capacity(new.len());
        let mut events = Vec::with_capacity(new.len());
        for (i, name) in &new {
            ops.push(self.vault.seal_object(i.id, &ObjectRecord::Intent(i.clone()))?);
            events.push(AuditEvent::success("intent.add", vec![AuditObject::new("intent", Some(i.id), name.clone())]));
        }
        self.vault.commit(ops, events)?;
        let index = &mut self.vault.unlocked_mut()?.index;
        let n = new.len();
        for (i, _) in new {
            index.intents.insert(i.id, i);
        }
        Ok(n)
    }

    /// Every intent, or those touching `service`, sorted by (from, to).
    pub fn list(&self, service: Option<&str>) -> Result<Vec<IntentView>> {
        let index = &self.vault.unlocked()?.index;
        let filter = service.map(|s| index.service_named(s).map(|s| s.id)).transpose()?;
        let mut v: Vec<IntentView> = index
            .intents
            .values()
            .filter(|i| filter.is_none_or(|id| i.from == id || i.to == id))
            .map(|i| IntentView {
                id: i.id,
                from: index.service_name(i.from),
                to: index.service_name(i.to),
                note: i.note.clone(),
                created: i.created,
            })
            .collect();
        v.sort_by(|a, b| (&a.from, &a.to).cmp(&(&b.from, &b.to)));
        Ok(v)
    }

    /// Removes the intent from `from` to `to`.
    pub fn remove(&mut self, from: &str, to: &str) -> Result<()>
    where
        V: DerefMut<Target = Vault>,
    {
        let index = &self.vault.unlocked()?.index;
        let from_id = index.service_named(from)?.id;
        let to_id = index.service_named(to)?.id;
        let id = index
            .intents
            .values()
            .find(|i| i.from == from_id && i.to == to_id)
            .map(|i| i.id)
            .ok_or_else(|| Error::UnknownIntent { from: from.into(), to: to.into() })?;
        let obj = AuditObject::new("intent", Some(id), format!("{from} -> {to}"));
        self.vault.commit(vec![Vault::delete_object(id)], vec![AuditEvent::success("intent.remove", vec![obj])])?;
        self.vault.unlocked_mut()?.index.intents.remove(&id);
        Ok(())
    }
}
