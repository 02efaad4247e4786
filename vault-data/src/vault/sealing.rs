//! Sealed remotes: this vault's age identity and Ed25519 signing key for a remote, the team's
//! members pinned here (their recipients and signing keys), and removing a member, which
//! re-encrypts every sealed secret this vault synced to the members left and flags the values
//! the removed member could read for rotation. The envelope itself is
//! [`crate::remote::sealed`]; the sync uses [`Sealing`] to open and seal fields.

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::str::FromStr;

use ed25519_dalek::{SigningKey, VerifyingKey};
use secrecy::ExposeSecret;
use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{AuditEvent, AuditObject};
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::model::names::{self, NameKind};
use crate::model::remote::{ExposedSecret, Remote, RemoteMember, SealedRemote};
use crate::model::ObjectRecord;
use crate::remote::client::Written;
use crate::remote::sealed::{self, parse_signing_key, signing_key_text, FieldPlace};
use crate::remote::RemoteFault;
use crate::store::Op;
use crate::vault::remotes::Remotes;
use crate::vault::Vault;

/// Check-and-set retries while re-encrypting one secret.
const REKEY_ATTEMPTS: usize = 5;

/// How a new remote seals (`remote add --sealed`).
#[derive(Debug, Clone, Default)]
pub struct SealedSpec {
    /// Further recipients (`age1…`) values are encrypted to: readers that cannot author.
    pub recipients: Vec<String>,
    /// Sync certificates and their private keys too.
    pub with_tls: bool,
}

impl SealedSpec {
    /// The spec from `remote add`'s options: recipients and TLS only go with sealing, so a
    /// private key never reaches a server in plaintext.
    pub fn from_options(sealed: bool, recipients: Vec<String>, with_tls: bool) -> Result<Option<SealedSpec>> {
        if !sealed {
            if with_tls {
                return Err(Error::Invalid(
                    "TLS keys are synced only to a sealed remote: private keys never go to a server in plaintext"
                        .into(),
                ));
            }
            if !recipients.is_empty() {
                return Err(Error::Invalid("recipients are for a sealed remote".into()));
            }
            return Ok(None);
        }
        for r in &recipients {
            recipient(r)?;
        }
        Ok(Some(SealedSpec { recipients, with_tls }))
    }
}

/// This vault's public half for a sealed remote, to give to teammates.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SealIdentity {
    /// The remote.
    pub remote: String,
    /// This vault's age recipient.
    pub recipient: String,
    /// This vault's signing key (`ed25519:` base64).
    pub signing_key: String,
    /// Certificates and keys are synced too.
    pub with_tls: bool,
}

/// A member as listed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MemberView {
    /// The name given here.
    pub name: String,
    /// Their age recipient: values are encrypted to it.
    pub recipient: Option<String>,
    /// Their signing key: values they sign are accepted.
    pub signing_key: Option<String>,
    /// When added (RFC 3339).
    pub added: String,
}

/// What removing a member did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MemberRemoval {
    /// The member removed.
    pub member: String,
    /// KV paths re-encrypted to the members left.
    pub reencrypted: Vec<String>,
    /// Secrets (SERVICE/NAME) the member could read: rotate them.
    pub to_rotate: Vec<String>,
    /// Secrets not re-encrypted, and why (changed there since this vault's last sync, or the
    /// server could not be reached): the member is removed here all the same.
    pub failed: Vec<crate::vault::SyncFailure>,
}

/// The keys a sync with a sealed remote works with (never Debug: it holds private keys).
pub(crate) struct Sealing {
    pub identity: age::x25519::Identity,
    pub signer: SigningKey,
    /// This vault's recipient and every member's.
    pub recipients: Vec<age::x25519::Recipient>,
    /// This vault's key and every member's: whose values are accepted.
    pub members: Vec<VerifyingKey>,
    /// Certificates and keys are synced too.
    pub with_tls: bool,
}

fn recipient(text: &str) -> Result<age::x25519::Recipient> {
    age::x25519::Recipient::from_str(text.trim())
        .map_err(|_| Error::Invalid(format!("{:?} is not an age X25519 recipient (age1…)", text.trim())))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

impl Vault {
    /// New sealing keys for `remote` (and its reader-only recipients), as records and payloads.
    pub(crate) fn seal_setup(
        &self,
        remote: RecordId,
        spec: &SealedSpec,
        ops: &mut Vec<Op>,
    ) -> Result<(SealedRemote, Vec<RemoteMember>)> {
        let now = OffsetDateTime::now_utc();
        let mut members = Vec::new();
        for (i, r) in spec.recipients.iter().enumerate() {
            let parsed = recipient(r)?;
            members.push(RemoteMember {
                id: RecordId::random(),
                remote,
                name: format!("reader-{}", i + 1),
                recipient: Some(parsed.to_string()),
                verifying: None,
                added: now,
            });
        }
        let identity = age::x25519::Identity::generate();
        let signer = SigningKey::generate(&mut rand::rngs::OsRng);
        let sealed = SealedRemote {
            id: RecordId::random(),
            remote,
            identity: RecordId::random(),
            signing: RecordId::random(),
            recipient: identity.to_public().to_string(),
            verifying: signer.verifying_key().to_bytes(),
            with_tls: spec.with_tls,
            created: now,
        };
        ops.push(self.seal_payload(sealed.identity, identity.to_string().expose_secret().as_bytes())?);
        ops.push(self.seal_payload(sealed.signing, signer.as_bytes())?);
        ops.push(self.seal_object(sealed.id, &ObjectRecord::SealedRemote(sealed.clone()))?);
        for m in &members {
            ops.push(self.seal_object(m.id, &ObjectRecord::RemoteMember(m.clone()))?);
        }
        Ok((sealed, members))
    }

    /// The keys to sync with `remote`, when it is sealed.
    pub(crate) fn sealing(&self, remote: &Remote) -> Result<Option<Sealing>> {
        let index = &self.unlocked()?.index;
        let Some(sealed) = index.sealed.get(&remote.id) else { return Ok(None) };
        let members: Vec<&RemoteMember> = index.members.values().filter(|m| m.remote == remote.id).collect();
        self.sealing_for(sealed, &members).map(Some)
    }

    fn sealing_for(&self, sealed: &SealedRemote, members: &[&RemoteMember]) -> Result<Sealing> {
        let id_text = self.open_payload(sealed.identity)?;
        let identity = std::str::from_utf8(&id_text)
            .ok()
            .and_then(|t| age::x25519::Identity::from_str(t).ok())
            .ok_or_else(|| Error::Integrity("a sealed remote's identity cannot be read".into()))?;
        let seed: [u8; 32] = self
            .open_payload(sealed.signing)?
            .as_slice()
            .try_into()
            .map_err(|_| Error::Integrity("a sealed remote's signing key cannot be read".into()))?;
        let signer = SigningKey::from_bytes(&seed);
        let mut recipients = vec![identity.to_public()];
        let mut keys = vec![signer.verifying_key()];
        for m in members {
            if let Some(r) = &m.recipient {
                recipients.push(recipient(r)?);
            }
            if let Some(k) = m.verifying.and_then(|b| VerifyingKey::from_bytes(&b).ok()) {
                keys.push(k);
            }
        }
        Ok(Sealing { identity, signer, recipients, members: keys, with_tls: sealed.with_tls })
    }

    fn sealed_of(&self, remote: &Remote) -> Result<SealedRemote> {
        self.unlocked()?.index.sealed.get(&remote.id).cloned().ok_or_else(|| {
            Error::Invalid(format!(
                "remote {} is not sealed; members belong to sealed remotes",
                names::shown(&remote.name)
            ))
        })
    }
}

impl<V: Deref<Target = Vault>> Remotes<V> {
    /// This vault's recipient and signing key for sealed remote `name`, to give to teammates.
    pub fn identity(&self, name: &str) -> Result<SealIdentity> {
        let remote = self.vault.remote_named(name)?;
        let sealed = self.vault.sealed_of(remote)?;
        let key = VerifyingKey::from_bytes(&sealed.verifying)
            .map_err(|_| Error::Integrity("a sealed remote's signing key cannot be read".into()))?;
        Ok(SealIdentity {
            remote: remote.name.clone(),
            recipient: sealed.recipient.clone(),
            signing_key: signing_key_text(&key),
            with_tls: sealed.with_tls,
        })
    }

    /// The members of sealed remote `name`, by name.
    pub fn members(&self, name: &str) -> Result<Vec<MemberView>> {
        let remote = self.vault.remote_named(name)?;
        self.vault.sealed_of(remote)?;
        let index = &self.vault.unlocked()?.index;
        let mut out: Vec<MemberView> = index
            .members
            .values()
            .filter(|m| m.remote == remote.id)
            .map(|m| MemberView {
                name: m.name.clone(),
                recipient: m.recipient.clone(),
                signing_key: m.verifying.and_then(|b| VerifyingKey::from_bytes(&b).ok()).map(|k| signing_key_text(&k)),
                added: rfc3339(m.added),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Pins a teammate on sealed remote `name`: values are encrypted to `recipient` from the next
    /// push, and values signed by `signing_key` are accepted. At least one is needed.
    pub fn add_member(
        &mut self,
        name: &str,
        member: &str,
        recipient_text: Option<&str>,
        signing_key: Option<&str>,
    ) -> Result<MemberView>
    where
        V: DerefMut<Target = Vault>,
    {
        names::check(NameKind::Service, member)?;
        let remote = self.vault.remote_named(name)?.clone();
        let sealed = self.vault.sealed_of(&remote)?;
        if recipient_text.is_none() && signing_key.is_none() {
            return Err(Error::Invalid("a member needs a recipient, a signing key or both".into()));
        }
        let recipient_parsed = recipient_text.map(recipient).transpose()?.map(|r| r.to_string());
        let verifying = match signing_key {
            Some(t) => Some(
                parse_signing_key(t)
                    .ok_or_else(|| Error::Invalid(format!("{:?} is not a signing key (ed25519:<base64>)", t.trim())))?
                    .to_bytes(),
            ),
            None => None,
        };
        let index = &self.vault.unlocked()?.index;
        let theirs = index.members.values().filter(|m| m.remote == remote.id);
        for m in theirs {
            if names::folded(&m.name) == names::folded(member) {
                return Err(Error::Exists { kind: "member", name: m.name.clone() });
            }
            if recipient_parsed.is_some() && m.recipient == recipient_parsed
                || verifying.is_some() && m.verifying == verifying
            {
                return Err(Error::Invalid(format!("that key is already member {}'s", names::shown(&m.name))));
            }
        }
        if recipient_parsed.as_deref() == Some(sealed.recipient.as_str()) || verifying == Some(sealed.verifying) {
            return Err(Error::Invalid("that is this vault's own key".into()));
        }
        let m = RemoteMember {
            id: RecordId::random(),
            remote: remote.id,
            name: member.to_string(),
            recipient: recipient_parsed,
            verifying,
            added: OffsetDateTime::now_utc(),
        };
        let op = self.vault.seal_object(m.id, &ObjectRecord::RemoteMember(m.clone()))?;
        let objs = vec![AuditObject::new("remote", Some(remote.id), remote.name.clone())];
        let what = match (&m.recipient, &m.verifying) {
            (Some(_), Some(_)) => "reads and signs",
            (Some(_), None) => "reads",
            _ => "signs",
        };
        let event = AuditEvent::success("remote.member.add", objs).with_detail(format!("{} ({what})", m.name));
        self.vault.commit(vec![op], vec![event])?;
        self.vault.unlocked_mut()?.index.members.insert(m.id, m.clone());
        Ok(MemberView {
            name: m.name,
            recipient: m.recipient,
            signing_key: signing_key
                .map(|_| ())
                .and(m.verifying)
                .and_then(|b| VerifyingKey::from_bytes(&b).ok())
                .map(|k| signing_key_text(&k)),
            added: rfc3339(m.added),
        })
    }

    /// Removes member `member` of sealed remote `name`: every secret this vault synced there is
    /// re-encrypted to the members left (and signed by this vault), so the next value read there
    /// is not for them; values they could read are flagged for rotation (a finding). Their
    /// signatures are no longer accepted. Secrets that cannot be re-encrypted stop the removal
    /// before anything changes here.
    pub fn remove_member(&mut self, name: &str, member: &str) -> Result<MemberRemoval>
    where
        V: DerefMut<Target = Vault>,
    {
        let remote = self.vault.remote_named(name)?.clone();
        let sealed = self.vault.sealed_of(&remote)?;
        let index = &self.vault.unlocked()?.index;
        let gone = index
            .members
            .values()
            .find(|m| m.remote == remote.id && names::folded(&m.name) == names::folded(member))
            .cloned()
            .ok_or_else(|| {
                Error::Invalid(format!("remote {} has no member {}", names::shown(&remote.name), names::shown(member)))
            })?;
        // Opened with the old members (the values there were written by them), sealed to the new.
        let all: Vec<&RemoteMember> = index.members.values().filter(|m| m.remote == remote.id).collect();
        let old = self.vault.sealing_for(&sealed, &all)?;
        let left: Vec<&RemoteMember> = all.iter().copied().filter(|m| m.id != gone.id).collect();
        let new = self.vault.sealing_for(&sealed, &left)?;
        // The member goes here whatever the server does: a server that cannot be reached, or a
        // secret that cannot be re-encrypted, must not keep them trusted.
        let key = self.vault.sync_key()?;
        let mut states: Vec<&crate::model::remote::SyncState> =
            index.sync_states.values().filter(|s| s.remote == remote.id).collect();
        states.sort_by(|a, b| a.path.cmp(&b.path));
        let mut reencrypted = Vec::new();
        let mut failed = Vec::new();
        let mut read_fields: Vec<(RecordId, String, u32)> = Vec::new();
        let mut tls_exposed: Vec<String> = Vec::new();
        let tls_known: Vec<Vec<u8>> = index.certs.values().map(|c| c.cert_der.clone()).collect();
        match self.vault.connect(&remote) {
            Err(e) => failed.push(crate::vault::SyncFailure { path: remote.addr.clone(), problem: e.to_string() }),
            Ok(client) => {
                for st in states {
                    // Only values this vault synced are vouched for again: anything else there
                    // (a value not pulled yet, written by the member on the way out, or forged)
                    // is left as it is and reported.
                    let base: BTreeMap<&str, &crate::model::remote::SyncedField> =
                        st.fields.iter().map(|f| (f.name.as_str(), f)).collect();
                    let accept = |field: &str, value: &[u8]| {
                        base.get(field).is_some_and(|f| f.digest == crate::vault::remotes::digest(&key.0, value))
                    };
                    match rekey(&client, &remote, &st.path, &old, &new, &accept) {
                        Ok(fields) if !fields.is_empty() => {
                            reencrypted.push(st.path.clone());
                            read_fields.extend(fields.into_iter().filter_map(|f| {
                                base.get(f.as_str()).map(|b| (st.service, f.clone(), b.local_version))
                            }));
                        }
                        Ok(_) => {}
                        Err(e) => {
                            failed.push(crate::vault::SyncFailure { path: st.path.clone(), problem: e.to_string() })
                        }
                    }
                    if sealed.with_tls {
                        let tls = format!("{}/tls", st.path);
                        let known_cert = |field: &str, value: &[u8]| {
                            field != "chain"
                                || crate::pki::import::parse_certificates(value, &tls)
                                    .ok()
                                    .and_then(|c| c.into_iter().next())
                                    .is_some_and(|leaf| tls_known.contains(&leaf))
                        };
                        match rekey(&client, &remote, &tls, &old, &new, &known_cert) {
                            Ok(fields) if !fields.is_empty() => {
                                reencrypted.push(tls.clone());
                                tls_exposed.push(index.service_name(st.service));
                            }
                            Ok(_) => {}
                            Err(e) => failed.push(crate::vault::SyncFailure { path: tls, problem: e.to_string() }),
                        }
                    }
                }
            }
        }
        let now = OffsetDateTime::now_utc();
        let mut ops = vec![Vault::delete_object(gone.id)];
        let mut flags = Vec::new();
        let mut to_rotate = Vec::new();
        if gone.recipient.is_some() {
            // The version flagged is the one holding the value they could read (the synced
            // base), so a newer value here clears the flag and that value coming back does not.
            for (service, field, version) in &read_fields {
                let Some(cred) =
                    index.credential_by_name.get(&(*service, field.clone())).and_then(|id| index.credentials.get(id))
                else {
                    continue;
                };
                let flag = ExposedSecret {
                    id: RecordId::random(),
                    remote: remote.id,
                    credential: cred.id,
                    version: (*version).max(1),
                    member: gone.name.clone(),
                    found: now,
                };
                ops.push(self.vault.seal_object(flag.id, &ObjectRecord::ExposedSecret(flag.clone()))?);
                to_rotate.push(format!("{}/{}", index.service_name(*service), cred.name));
                flags.push(flag);
            }
            to_rotate.extend(tls_exposed.iter().map(|s| format!("{s} (TLS private key: renew with --rotate-key)")));
        }
        to_rotate.sort();
        let objs = vec![AuditObject::new("remote", Some(remote.id), remote.name.clone())];
        let event = AuditEvent::success("remote.member.remove", objs).with_detail(format!(
            "{}: {} secret(s) re-encrypted to the members left, {} value(s) to rotate, {} not re-encrypted",
            gone.name,
            reencrypted.len(),
            to_rotate.len(),
            failed.len()
        ));
        self.vault.commit(ops, vec![event])?;
        let index = &mut self.vault.unlocked_mut()?.index;
        index.members.remove(&gone.id);
        for f in flags {
            index.exposed.insert(f.id, f);
        }
        Ok(MemberRemoval { member: gone.name, reencrypted, to_rotate, failed })
    }
}

/// Re-seals every field of `path` to `new`'s recipients, verified with `old`'s members and the
/// manifest for the version served, as one check-and-set write with a new manifest. Every value
/// must pass `accept` (this vault synced exactly it); otherwise nothing is written. Returns the
/// fields it holds (none when the secret is gone).
fn rekey(
    client: &crate::remote::client::Client,
    remote: &Remote,
    path: &str,
    old: &Sealing,
    new: &Sealing,
    accept: &dyn Fn(&str, &[u8]) -> bool,
) -> std::result::Result<Vec<String>, RemoteFault> {
    let mount = &remote.kv_mount;
    let refused = |field: &str, why| RemoteFault::Refused { path: path.to_string(), field: field.to_string(), why };
    for _ in 0..REKEY_ATTEMPTS {
        let Some(secret) = client.read(mount, path)? else { return Ok(Vec::new()) };
        let next = secret.version + 1;
        sealed::check_manifest(&secret.data, &old.members, mount, path, secret.version)
            .map_err(|(field, why)| refused(&field, why))?;
        let mut data = BTreeMap::new();
        for (field, text) in secret.data.iter().filter(|(k, _)| k.as_str() != sealed::MANIFEST_FIELD) {
            let place = FieldPlace { mount, path, field };
            let opened = sealed::open(text, &old.identity, &old.members, &place, secret.version)
                .map_err(|why| refused(field, why))?;
            if !accept(field, &opened.value) {
                return Err(RemoteFault::Unusable {
                    path: path.to_string(),
                    why: format!("{field} changed there since this vault last synced it; not vouched for again"),
                });
            }
            let sealed_text =
                sealed::seal(&opened.value, &new.recipients, &new.signer, &place, next).ok_or_else(|| {
                    RemoteFault::Unusable { path: path.to_string(), why: format!("{field} could not be sealed") }
                })?;
            data.insert(field.clone(), sealed_text);
        }
        let fields: Vec<String> = data.keys().cloned().collect();
        let manifest = sealed::manifest(&data, &new.signer, mount, path, next).ok_or_else(|| {
            RemoteFault::Unusable { path: path.to_string(), why: "its manifest could not be signed".into() }
        })?;
        data.insert(sealed::MANIFEST_FIELD.to_string(), manifest);
        match client.write(mount, path, &data, secret.version)? {
            Written::Version(_) => return Ok(fields),
            Written::CasMismatch => continue,
        }
    }
    Err(RemoteFault::Busy { path: path.to_string() })
}
