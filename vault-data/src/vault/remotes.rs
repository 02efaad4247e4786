//! Remotes: adding a team's secrets server, asking after it, and syncing credentials with its KV
//! v2 mount (push, pull, sync), conflicts and their resolution.
//!
//! Layout on the server: one KV v2 secret per service at `<prefix>/<env>/<service>`, its keys the
//! credential names, so applications, Vault Agent and External Secrets read them directly;
//! Keyloom's ids go in the secret's custom metadata. Every write is check-and-set against the
//! version last read; what changed since the last sync is decided field by field
//! ([`crate::remote::merge`]). The network part of a sync runs on a pool of threads (one pooled
//! connection each), then everything it brings home is committed locally in one audited batch.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::ops::{Deref, DerefMut};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rayon::prelude::*;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use sha2::Sha256;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::audit::{AuditEvent, AuditObject};
use crate::crypto::keys::{Purpose, SubKey};
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::model::names::{self, NameKind};
use crate::model::remote::{Remote, RemoteAuth, SyncConflict, SyncState, SyncedField};
use crate::model::{Credential, ObjectRecord, SecretRef, ServiceSpec};
use crate::remote::client::{self, Client, Endpoint, KvSecret, Written};
use crate::remote::merge::{merge_field, Digest, FieldMerge};
use crate::remote::sealed::{self, FieldPlace};
use crate::remote::{RemoteFault, ServerStatus};
use crate::store::Op;
use crate::vault::remote_tls::{self, TlsSynced};
use crate::vault::sealing::{SealedSpec, Sealing};
use crate::vault::secrets::Item;
use crate::vault::{SecretOptions, Vault};

/// Custom metadata keys Keyloom sets on the secrets it writes.
const META_VAULT: &str = "keyloom_vault";
const META_SERVICE: &str = "keyloom_service";
const META_BASE64: &str = "keyloom_base64";
/// Check-and-set retries before a secret that keeps changing is reported.
const CAS_ATTEMPTS: usize = 5;
/// Requests in flight at once.
const PARALLEL: usize = 16;

/// How a new remote logs in.
pub enum RemoteLogin {
    /// A token.
    Token(SecretString),
    /// AppRole.
    AppRole {
        /// The auth mount (`approle`).
        mount: String,
        /// The role id.
        role_id: String,
        /// The secret id.
        secret_id: SecretString,
    },
}

/// A remote to add.
pub struct RemoteSpec {
    /// Its name here (a DNS label, like services).
    pub name: String,
    /// `https://host:port`.
    pub addr: String,
    /// The KV v2 mount.
    pub kv_mount: String,
    /// The prefix under the mount.
    pub prefix: String,
    /// A namespace, if any.
    pub namespace: Option<String>,
    /// PEM CA certificates to trust for this server (besides the system's).
    pub ca_pem: Option<Vec<u8>>,
    /// Allow `http://` (a local dev server).
    pub insecure_http: bool,
    /// How to log in.
    pub login: RemoteLogin,
    /// Values are sealed before they leave (see [`SealedSpec`]).
    pub sealed: Option<SealedSpec>,
}

/// A remote as listed (no secrets).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RemoteView {
    /// Name.
    pub name: String,
    /// Address.
    pub addr: String,
    /// KV v2 mount.
    pub kv_mount: String,
    /// Prefix.
    pub prefix: String,
    /// Namespace.
    pub namespace: Option<String>,
    /// `token` or `approle`.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub auth: &'static str,
    /// Plain http allowed.
    pub insecure_http: bool,
    /// Services synced with it.
    pub synced_services: usize,
    /// Open conflicts.
    pub conflicts: usize,
    /// The last sync (RFC 3339).
    pub last_sync: Option<String>,
    /// What is sealed before it leaves (`values`, `values and TLS`); none: plaintext.
    pub sealed: Option<&'static str>,
}

/// What `remote status` finds.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RemoteStatus {
    /// The remote.
    pub remote: RemoteView,
    /// Whether the server answered.
    pub reachable: bool,
    /// What it said about itself.
    pub server: Option<ServerStatus>,
    /// Seconds the token has left (0: no expiry), when it could be looked up.
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub token_ttl: Option<u64>,
    /// The token's policies.
    pub policies: Vec<String>,
    /// What went wrong, if anything.
    pub problem: Option<String>,
}

/// Which way a sync goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// Teammates' changes into this vault; nothing is written to the server.
    Pull,
    /// This vault's changes to the server (merging what changed there meanwhile).
    Push,
    /// Both: everything on the server under the prefix, and every local service.
    Sync,
}

impl SyncMode {
    fn writes(self) -> bool {
        self != SyncMode::Pull
    }

    fn reads_all(self) -> bool {
        self != SyncMode::Push
    }

    fn action(self) -> &'static str {
        match self {
            SyncMode::Pull => "remote.pull",
            SyncMode::Push => "remote.push",
            SyncMode::Sync => "remote.sync",
        }
    }
}

/// What one service's sync did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncItem {
    /// The service.
    pub service: String,
    /// Its environment.
    pub environment: String,
    /// The KV path inside the mount.
    pub path: String,
    /// The server's version after the sync.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub remote_version: u64,
    /// Credentials written to the server.
    pub pushed: Vec<String>,
    /// Credentials taken from the server.
    pub pulled: Vec<String>,
    /// Credentials removed on the server (removed here since the last sync).
    pub removed_remote: Vec<String>,
    /// Credentials removed here (removed on the server since the last sync).
    pub removed_local: Vec<String>,
    /// Credentials changed on both sides (see the conflicts).
    pub conflicts: Vec<String>,
    /// The service was new here: made from the server's secret.
    pub created: bool,
    /// The path it was moved from (the service or its environment was renamed).
    pub moved_from: Option<String>,
}

impl SyncItem {
    fn changed(&self) -> bool {
        !(self.pushed.is_empty()
            && self.pulled.is_empty()
            && self.removed_remote.is_empty()
            && self.removed_local.is_empty()
            && self.conflicts.is_empty()
            && !self.created
            && self.moved_from.is_none())
    }
}

/// A service that could not be synced, and why; the others went ahead.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncFailure {
    /// The KV path.
    pub path: String,
    /// Why.
    pub problem: String,
}

/// What a sync did.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SyncReport {
    /// The remote.
    pub remote: String,
    /// Which way.
    pub mode: SyncMode,
    /// Nothing was written anywhere.
    pub dry_run: bool,
    /// Services looked at.
    pub checked: usize,
    /// Services with changes (all of them in `items`).
    pub items: Vec<SyncItem>,
    /// Services that failed (the rest were synced; run again to finish).
    pub failures: Vec<SyncFailure>,
    /// Secrets on the server that were not imported, and why (a name the name rule refuses).
    pub skipped: Vec<SyncFailure>,
    /// Every open conflict with this remote after the sync.
    pub conflicts: Vec<ConflictView>,
    /// Certificates (with their keys) pushed or pulled, on a sealed remote with TLS.
    pub tls: Vec<TlsSynced>,
}

/// An open conflict.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConflictView {
    /// The remote.
    pub remote: String,
    /// `service/NAME`.
    pub secret: String,
    /// The service.
    pub service: String,
    /// The credential's name.
    pub name: String,
    /// The version here that holds this vault's value.
    pub local_version: u32,
    /// The version here that holds the server's value; `None` when the server deleted it.
    pub remote_value_version: Option<u32>,
    /// The server's KV version it came from.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub remote_version: u64,
    /// When it was found (RFC 3339).
    pub found: String,
}

/// A service's sync state with one remote.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ServiceSync {
    /// The remote.
    pub remote: String,
    /// The KV path inside the mount.
    pub path: String,
    /// The server's version last synced.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub remote_version: u64,
    /// When (RFC 3339).
    pub synced: String,
    /// Credentials changed here since (a push would write them).
    pub changed_here: Vec<String>,
    /// Open conflicts of its credentials with this remote.
    pub conflicts: Vec<String>,
}

/// Which side a conflict resolution keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Take {
    /// This vault's value; the next push writes it.
    Local,
    /// The server's value, which becomes the current version here.
    Remote,
}

feature_handle!(
    /// Secrets servers (OpenBao, HashiCorp Vault) the vault syncs credentials with.
    Remotes, remotes, remotes_mut
);

impl<V: Deref<Target = Vault>> Remotes<V> {
    /// Every remote.
    pub fn list(&self) -> Result<Vec<RemoteView>> {
        let index = &self.vault.unlocked()?.index;
        let mut out: Vec<RemoteView> = index.remotes.values().map(|r| self.vault.remote_view(r)).collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Every open conflict, with any remote, sorted by secret.
    pub fn conflicts(&self) -> Result<Vec<ConflictView>> {
        self.vault.conflict_views(None)
    }

    /// How `service` stands with each remote it was synced with: the server's version, when,
    /// what changed here since (by the local versions the last sync recorded), open conflicts.
    pub fn service_sync(&self, service: &str) -> Result<Vec<ServiceSync>> {
        let index = &self.vault.unlocked()?.index;
        let svc = index.service_named(service)?;
        let mut out = Vec::new();
        for st in index.sync_states.values().filter(|s| s.service == svc.id) {
            let Some(remote) = index.remotes.get(&st.remote) else { continue };
            let synced: BTreeMap<&str, u32> = st.fields.iter().map(|f| (f.name.as_str(), f.local_version)).collect();
            let mut changed_here: Vec<String> = index
                .credentials
                .values()
                .filter(|c| c.service_id == svc.id)
                .filter(|c| synced.get(c.name.as_str()).copied() != c.current().map(|v| v.version))
                .map(|c| c.name.clone())
                .collect();
            changed_here.extend(
                st.fields
                    .iter()
                    .filter(|f| !index.credential_by_name.contains_key(&(svc.id, f.name.clone())))
                    .map(|f| f.name.clone()),
            );
            changed_here.sort();
            let mut conflicts: Vec<String> = index
                .conflicts
                .values()
                .filter(|c| c.remote == remote.id)
                .filter_map(|c| index.credentials.get(&c.credential))
                .filter(|c| c.service_id == svc.id)
                .map(|c| c.name.clone())
                .collect();
            conflicts.sort();
            out.push(ServiceSync {
                remote: remote.name.clone(),
                path: st.path.clone(),
                remote_version: st.remote_version,
                synced: st.synced.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                changed_here,
                conflicts,
            });
        }
        out.sort_by(|a, b| a.remote.cmp(&b.remote));
        Ok(out)
    }

    /// Asks the server how it is: reachable, sealed, the token's time left and policies. A
    /// problem is reported in the answer, not as an error, so a status is always shown.
    pub fn status(&self, name: &str) -> Result<RemoteStatus> {
        let remote = self.vault.remote_named(name)?.clone();
        let view = self.vault.remote_view(&remote);
        let ep = endpoint(&remote);
        let mut status = RemoteStatus {
            remote: view,
            reachable: false,
            server: None,
            token_ttl: None,
            policies: vec![],
            problem: None,
        };
        match client::health(&ep) {
            Ok(s) => {
                status.reachable = true;
                let sealed = s.sealed;
                status.server = Some(s);
                if sealed {
                    status.problem = Some(RemoteFault::Sealed.to_string());
                    return Ok(status);
                }
            }
            Err(e) => {
                status.problem = Some(e.to_string());
                return Ok(status);
            }
        }
        match self.vault.connect(&remote).and_then(|c| c.lookup_self().map_err(Error::Remote)) {
            Ok(info) => {
                status.token_ttl = Some(info.ttl);
                status.policies = info.policies;
            }
            Err(e) => status.problem = Some(e.to_string()),
        }
        Ok(status)
    }

    /// Adds a remote. Its token (or AppRole secret id) is sealed in the vault like a credential
    /// value; nothing is sent to the server yet (`status` checks the connection).
    pub fn add(&mut self, spec: RemoteSpec) -> Result<RemoteView>
    where
        V: DerefMut<Target = Vault>,
    {
        names::check(NameKind::Service, &spec.name)?;
        let index = &self.vault.unlocked()?.index;
        if index.remotes.values().any(|r| names::folded(&r.name) == names::folded(&spec.name)) {
            return Err(Error::Exists { kind: "remote", name: spec.name });
        }
        let addr = spec.addr.trim().trim_end_matches('/').to_string();
        let https = addr.starts_with("https://");
        // Only scheme, host and port (and a path prefix): credentials or a query in the address
        // would end up in the audit log and in error messages.
        let after_scheme = addr.split_once("://").map_or("", |(_, rest)| rest);
        if after_scheme.is_empty()
            || after_scheme.contains(['@', '?', '#', ' '])
            || after_scheme.chars().any(char::is_control)
        {
            return Err(Error::Invalid(format!(
                "{:?} is not a server address: write scheme://host:port (no user, password or query)",
                addr.split('@').next_back().unwrap_or_default()
            )));
        }
        if !(https || (spec.insecure_http && addr.starts_with("http://"))) {
            return Err(Error::Remote(RemoteFault::PlainHttp { addr }));
        }
        let kv_mount = path_part("KV mount", &spec.kv_mount)?;
        let prefix = path_part("prefix", &spec.prefix)?;
        let ca_der = match &spec.ca_pem {
            None => Vec::new(),
            Some(pem_bytes) => {
                let certs: Vec<Vec<u8>> = pem::parse_many(pem_bytes)
                    .map_err(|_| Error::Remote(RemoteFault::BadCa))?
                    .into_iter()
                    .filter(|p| p.tag() == "CERTIFICATE")
                    .map(|p| p.into_contents())
                    .collect();
                if certs.is_empty() {
                    return Err(Error::Remote(RemoteFault::BadCa));
                }
                certs
            }
        };
        let mut ops = Vec::new();
        let auth = match &spec.login {
            RemoteLogin::Token(token) => {
                let id = RecordId::random();
                ops.push(self.vault.seal_payload(id, token.expose_secret().as_bytes())?);
                RemoteAuth::Token { token: id }
            }
            RemoteLogin::AppRole { mount, role_id, secret_id } => {
                let id = RecordId::random();
                ops.push(self.vault.seal_payload(id, secret_id.expose_secret().as_bytes())?);
                RemoteAuth::AppRole {
                    mount: path_part("AppRole mount", mount)?,
                    role_id: role_id.clone(),
                    secret_id: id,
                }
            }
        };
        let remote = Remote {
            id: RecordId::random(),
            name: spec.name.clone(),
            addr,
            kv_mount,
            prefix,
            namespace: spec.namespace.filter(|n| !n.trim().is_empty()),
            ca_der,
            insecure_http: spec.insecure_http && !https,
            auth,
            created: OffsetDateTime::now_utc(),
        };
        ops.push(self.vault.seal_object(remote.id, &ObjectRecord::Remote(remote.clone()))?);
        let sealing = match &spec.sealed {
            Some(s) => Some(self.vault.seal_setup(remote.id, s, &mut ops)?),
            None => None,
        };
        let obj = AuditObject::new("remote", Some(remote.id), remote.name.clone());
        let how = match &sealing {
            Some((s, _)) if s.with_tls => ", sealed, with TLS",
            Some(_) => ", sealed",
            None => "",
        };
        let event = AuditEvent::success("remote.add", vec![obj])
            .with_detail(format!("{} {}/{}{how}", remote.addr, remote.kv_mount, remote.prefix));
        self.vault.commit(ops, vec![event])?;
        let index = &mut self.vault.unlocked_mut()?.index;
        if let Some((s, members)) = sealing {
            index.sealed.insert(remote.id, s);
            index.members.extend(members.into_iter().map(|m| (m.id, m)));
        }
        index.remotes.insert(remote.id, remote.clone());
        Ok(self.vault.remote_view(&remote))
    }

    /// Removes a remote here (its sealed token, sync state and conflicts); nothing on the server
    /// changes.
    pub fn remove(&mut self, name: &str) -> Result<()>
    where
        V: DerefMut<Target = Vault>,
    {
        let remote = self.vault.remote_named(name)?.clone();
        let index = &self.vault.unlocked()?.index;
        let linked: Vec<String> =
            index.linked_cas.values().filter(|l| l.remote == remote.id).map(|l| index.ca_name(l.ca)).collect();
        if !linked.is_empty() {
            return Err(Error::UsedBy {
                subject: format!("remote {}", names::shown(&remote.name)),
                users: linked.iter().map(|n| format!("linked CA {}", names::shown(n))).collect(),
            });
        }
        let mut ops = vec![Vault::delete_object(remote.id)];
        ops.extend(remote.auth.payloads().into_iter().map(Vault::delete_payload));
        let states: Vec<RecordId> =
            index.sync_states.values().filter(|s| s.remote == remote.id).map(|s| s.id).collect();
        let conflicts: Vec<RecordId> =
            index.conflicts.values().filter(|c| c.remote == remote.id).map(|c| c.id).collect();
        ops.extend(states.iter().chain(&conflicts).copied().map(Vault::delete_object));
        // Its sealing keys, members and rotation flags go with it.
        if let Some(s) = index.sealed.get(&remote.id) {
            ops.extend([
                Vault::delete_object(s.id),
                Vault::delete_payload(s.identity),
                Vault::delete_payload(s.signing),
            ]);
        }
        ops.extend(index.members.values().filter(|m| m.remote == remote.id).map(|m| Vault::delete_object(m.id)));
        ops.extend(index.exposed.values().filter(|x| x.remote == remote.id).map(|x| Vault::delete_object(x.id)));
        let obj = AuditObject::new("remote", Some(remote.id), remote.name.clone());
        self.vault.commit(ops, vec![AuditEvent::success("remote.remove", vec![obj])])?;
        let index = &mut self.vault.unlocked_mut()?.index;
        index.remotes.remove(&remote.id);
        index.sync_states.retain(|_, s| s.remote != remote.id);
        index.conflicts.retain(|_, c| c.remote != remote.id);
        index.sealed.remove(&remote.id);
        index.members.retain(|_, m| m.remote != remote.id);
        index.exposed.retain(|_, x| x.remote != remote.id);
        Ok(())
    }

    /// Syncs credentials with remote `name` (see [`SyncMode`]); `environment` limits it to one
    /// environment, `dry_run` reports without writing anywhere. `progress` gets (done, total)
    /// services. Services that fail (server down mid-way) are listed in the report; the rest are
    /// synced and recorded, so running it again finishes the work.
    pub fn sync(
        &mut self,
        name: &str,
        mode: SyncMode,
        environment: Option<&str>,
        dry_run: bool,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<SyncReport>
    where
        V: DerefMut<Target = Vault>,
    {
        let remote = self.vault.remote_named(name)?.clone();
        if let Some(env) = environment {
            if !mode.reads_all() {
                self.vault.unlocked()?.index.environment_known(env)?;
            }
        }
        let client = self.vault.connect(&remote)?;
        client.preflight(&remote.kv_mount).map_err(Error::Remote)?;
        let key = self.vault.sync_key()?;
        let sealing = self.vault.sealing(&remote)?;
        let mut work = self.vault.local_work(&remote, environment, &key.0)?;
        let mut skipped = Vec::new();
        if mode.reads_all() {
            self.vault.remote_work(&remote, &client, environment, &mut work, &mut skipped)?;
        }
        let total = work.len();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let ctx = Ctx {
            client: &client,
            remote: &remote,
            vault_id: self.vault.vault_id(),
            key: &key.0,
            write: mode.writes() && !dry_run,
            reports_local: mode.writes(),
            sealing: sealing.as_ref(),
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(PARALLEL)
            .build()
            .map_err(|e| Error::Storage(format!("cannot start the sync threads: {e}")))?;
        let outcomes: Vec<(Work, std::result::Result<Plan, RemoteFault>)> = pool.install(|| {
            work.into_par_iter()
                .map(|w| {
                    let result = plan_and_write(&ctx, &w);
                    let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    progress(n, total);
                    (w, result)
                })
                .collect()
        });
        let mut failures = Vec::new();
        let mut plans = Vec::new();
        for (w, result) in outcomes {
            match result {
                Ok(plan) => plans.push((w, plan)),
                Err(fault) => failures.push(SyncFailure { path: w.path.clone(), problem: fault.to_string() }),
            }
        }
        plans.sort_by(|a, b| a.0.path.cmp(&b.0.path));
        let items = if dry_run {
            plans.into_iter().map(|(_, p)| p.item).filter(SyncItem::changed).collect()
        } else {
            self.vault.apply_plans(&remote, mode, plans)?
        };
        // Certificates after values, so services the values brought are there to take them.
        let mut tls = Vec::new();
        if let Some(s) = sealing.as_ref().filter(|s| s.with_tls) {
            let mut work = self.vault.tls_work(&remote, environment)?;
            if mode.reads_all() {
                let index = &self.vault.unlocked()?.index;
                let known = |n: &str| index.service_name_taken(n, None).is_some();
                work.extend(remote_tls::discover(&client, &remote, environment, &known).map_err(Error::Remote)?);
            }
            let (done, failed) = remote_tls::sync_tls(&pool, &client, &remote, s, work, mode.writes() && !dry_run);
            failures.extend(failed.into_iter().map(|(path, fault)| SyncFailure { path, problem: fault.to_string() }));
            if !dry_run {
                tls = remote_tls::pushed(&done);
                tls.extend(self.vault.take_tls(&remote, done, &mut failures)?);
            }
        }
        failures.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(SyncReport {
            remote: remote.name.clone(),
            mode,
            dry_run,
            checked: total,
            items,
            failures,
            skipped,
            conflicts: self.vault.conflict_views(Some(remote.id))?,
            tls,
        })
    }

    /// Resolves the conflict on `secret` (with `remote`, or the only remote it has a conflict
    /// with) by keeping one side. Keeping the server's value makes it the current version here;
    /// keeping this vault's marks the server's value as seen, so the next push writes this one.
    /// Both values stay in the credential's history either way.
    pub fn resolve(&mut self, secret: &SecretRef, remote: Option<&str>, take: Take) -> Result<ConflictView>
    where
        V: DerefMut<Target = Vault>,
    {
        let index = &self.vault.unlocked()?.index;
        let svc = index.service_named(&secret.service)?;
        let cred = index
            .credential_by_name
            .get(&(svc.id, secret.name.clone()))
            .and_then(|id| index.credentials.get(id))
            .ok_or_else(|| Error::UnknownSecret(secret.to_string().into()))?
            .clone();
        let remote_id = match remote {
            Some(r) => Some(self.vault.remote_named(r)?.id),
            None => None,
        };
        let open: Vec<SyncConflict> = index
            .conflicts
            .values()
            .filter(|c| c.credential == cred.id && remote_id.is_none_or(|r| c.remote == r))
            .cloned()
            .collect();
        let conflict = match open.as_slice() {
            [one] => one.clone(),
            [] => return Err(Error::Invalid(format!("{secret} has no open sync conflict"))),
            _ => {
                return Err(Error::Invalid(format!(
                    "{secret} has conflicts with {} remotes: name the remote",
                    open.len()
                )))
            }
        };
        let view =
            self.vault.conflict_view(&conflict).ok_or_else(|| Error::UnknownSecret(secret.to_string().into()))?;
        let key = self.vault.sync_key()?;
        let mut ops = vec![Vault::delete_object(conflict.id)];
        let remote_value = match conflict.remote_value_version {
            0 => None,
            n => Some(self.vault.credential_value(&cred, n)?),
        };
        let mut state = index.sync_states.get(&(conflict.remote, svc.id)).cloned();
        let mut staged = HashMap::new();
        let mut removed = false;
        let remote_digest = remote_value.as_ref().map(|v| digest(&key.0, v));
        let deleted_here = conflict.local_version == 0;
        let keep_local_value = take == Take::Local && !deleted_here;
        // The local version that holds the base's value.
        let mut base_version = conflict.remote_value_version;
        match (take, &remote_value) {
            // The server's value is already a version here; it becomes (or stays) current.
            (Take::Remote, Some(value)) if !deleted_here => {
                base_version =
                    self.vault.stage_synced(&mut staged, secret, value, OffsetDateTime::now_utc(), &mut ops)?.1;
            }
            // Removed on one side: keeping the removal drops the credential here.
            (Take::Remote, None) | (Take::Local, Some(_)) if !keep_local_value => {
                ops.push(Vault::delete_object(cred.id));
                ops.extend(cred.versions.iter().map(|v| Vault::delete_payload(v.payload_id)));
                removed = true;
            }
            _ => {}
        }
        // The server's side becomes the base: a value kept here then counts as this vault's
        // change (the next push writes it), a value taken from there as no change at all.
        if let Some(st) = &mut state {
            set_base(st, &secret.name, remote_digest, base_version);
        }
        if let Some(st) = &state {
            ops.push(self.vault.seal_object(st.id, &ObjectRecord::SyncState(st.clone()))?);
        }
        let obj = AuditObject::new("secret", Some(cred.id), secret.to_string());
        let side = if take == Take::Local { "local" } else { "remote" };
        let event = AuditEvent::success("remote.resolve", vec![obj])
            .with_detail(format!("kept the {side} value (server version {})", conflict.remote_version));
        self.vault.commit(ops, vec![event])?;
        let index = &mut self.vault.unlocked_mut()?.index;
        index.conflicts.remove(&conflict.id);
        for (_, c) in staged {
            index.put_credential(c);
        }
        if removed {
            index.remove_credential(cred.id);
        }
        if let Some(st) = state {
            index.sync_states.insert((st.remote, st.service), st);
        }
        Ok(view)
    }
}

fn set_base(st: &mut SyncState, name: &str, d: Digest, local_version: u32) {
    st.fields.retain(|f| f.name != name);
    if let Some(digest) = d {
        st.fields.push(SyncedField { name: name.to_string(), digest, local_version });
        st.fields.sort_by(|a, b| a.name.cmp(&b.name));
    }
}

/// A mount, prefix or namespace segment: path characters only, no `..`, no empty segments.
pub(crate) fn path_part(what: &str, s: &str) -> Result<String> {
    let t = s.trim().trim_matches('/');
    let ok = !t.is_empty()
        && t.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != "..")
        && t.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if !ok {
        return Err(Error::Invalid(format!(
            "{what} {s:?} is not a path on the server: letters, digits, '-', '_', '.', segments separated by '/'"
        )));
    }
    Ok(t.to_string())
}

fn endpoint(r: &Remote) -> Endpoint {
    Endpoint {
        addr: r.addr.clone(),
        namespace: r.namespace.clone(),
        ca_der: r.ca_der.clone(),
        insecure_http: r.insecure_http,
    }
}

pub(crate) fn digest(key: &[u8; 32], value: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"));
    mac.update(value);
    mac.finalize().into_bytes().into()
}

/// One service to sync: what is here, and what was synced last.
struct Work {
    service: Option<RecordId>,
    name: String,
    environment: String,
    path: String,
    state: Option<SyncState>,
    /// The credentials here: name → (value, version).
    local: BTreeMap<String, (Zeroizing<Vec<u8>>, u32)>,
    /// Open conflicts with this remote, by credential name: the digest of the server's value
    /// they recorded (`None`: deleted there). The same server value is not recorded twice.
    in_conflict: BTreeMap<String, Digest>,
}

/// What the network part decided for one service.
struct Plan {
    item: SyncItem,
    remote_version: u64,
    /// The path the state now refers to.
    path: String,
    /// Values to take from the server: name → value (`None`: remove here).
    take: BTreeMap<String, Option<Zeroizing<Vec<u8>>>>,
    /// New conflicts: name → the server's value (`None`: the server deleted it).
    conflicts: BTreeMap<String, Option<Zeroizing<Vec<u8>>>>,
    /// The new base, name → digest (fields without a base are absent).
    base: BTreeMap<String, [u8; 32]>,
}

struct Ctx<'a> {
    client: &'a Client,
    remote: &'a Remote,
    vault_id: String,
    key: &'a [u8; 32],
    /// Writes to the server.
    write: bool,
    /// The mode writes (true in a push's dry run too): this side's changes are reported.
    reports_local: bool,
    /// A sealed remote's keys: values are opened and verified on read, sealed on write.
    sealing: Option<&'a Sealing>,
}

/// The server's copy of one secret, values decoded.
struct RemoteCopy {
    version: u64,
    fields: BTreeMap<String, Zeroizing<Vec<u8>>>,
    custom: BTreeMap<String, String>,
    /// On a sealed remote: each field as stored (kept as it is when its value is kept) and the
    /// version its signature is for.
    sealed: BTreeMap<String, (String, u64)>,
}

impl RemoteCopy {
    fn empty(version: u64, custom: BTreeMap<String, String>) -> RemoteCopy {
        RemoteCopy { version, fields: BTreeMap::new(), custom, sealed: BTreeMap::new() }
    }
}

/// Opens every field of a sealed remote's secret, refusing the whole secret for one field that
/// is not sealed, not signed by a member, not for this vault or not for this place.
fn open_sealed(
    ctx: &Ctx<'_>,
    s: &Sealing,
    path: &str,
    secret: KvSecret,
) -> std::result::Result<RemoteCopy, RemoteFault> {
    let mut fields = BTreeMap::new();
    let mut sealed_fields = BTreeMap::new();
    let refused = |field: String, why| RemoteFault::Refused { path: path.to_string(), field, why };
    let mut data = secret.data;
    // Each value first (whose it is, is it for us), then the version as a whole: the manifest
    // says which fields this version holds, signed for exactly this version.
    let manifest = data.remove(sealed::MANIFEST_FIELD);
    for (name, text) in &data {
        let place = FieldPlace { mount: &ctx.remote.kv_mount, path, field: name };
        let opened = sealed::open(text, &s.identity, &s.members, &place, secret.version)
            .map_err(|why| refused(name.clone(), why))?;
        sealed_fields.insert(name.clone(), (text.clone(), opened.version));
        fields.insert(name.clone(), opened.value);
    }
    if let Some(m) = manifest {
        data.insert(sealed::MANIFEST_FIELD.to_string(), m);
    }
    sealed::check_manifest(&data, &s.members, &ctx.remote.kv_mount, path, secret.version)
        .map_err(|(field, why)| refused(field, why))?;
    Ok(RemoteCopy { version: secret.version, fields, custom: secret.custom_metadata, sealed: sealed_fields })
}

fn decode(secret: KvSecret) -> RemoteCopy {
    let b64: BTreeSet<&str> =
        secret.custom_metadata.get(META_BASE64).map(|s| s.split(',').collect()).unwrap_or_default();
    let fields = secret
        .data
        .iter()
        .map(|(k, v)| {
            let bytes = match b64.contains(k.as_str()) {
                true => STANDARD.decode(v).unwrap_or_else(|_| v.as_bytes().to_vec()),
                false => v.as_bytes().to_vec(),
            };
            (k.clone(), Zeroizing::new(bytes))
        })
        .collect();
    RemoteCopy { version: secret.version, fields, custom: secret.custom_metadata, sealed: BTreeMap::new() }
}

/// Reads, merges and (when writing) writes one service, retrying when a check-and-set write
/// finds the secret changed meanwhile.
fn plan_and_write(ctx: &Ctx<'_>, w: &Work) -> std::result::Result<Plan, RemoteFault> {
    let mount = &ctx.remote.kv_mount;
    let old_path = w.state.as_ref().map(|s| s.path.clone()).filter(|p| *p != w.path);
    // A sealed secret is read before it is written: the fields kept keep their authors' seals.
    let mut must_read = false;
    for _ in 0..CAS_ATTEMPTS {
        let meta = ctx.client.metadata(mount, &w.path)?;
        // A renamed service reads its old secret until the new path exists.
        let source = match &old_path {
            Some(old) if meta.current_version == 0 => old.clone(),
            _ => w.path.clone(),
        };
        let source_meta = if source == w.path { meta } else { ctx.client.metadata(mount, &source)? };
        let seen = w.state.as_ref().filter(|s| s.path == source).map_or(0, |s| s.remote_version);
        if source_meta.current_version < seen {
            return Err(RemoteFault::RolledBack { path: source, seen, served: source_meta.current_version });
        }
        // The base describes the secret it was synced with: a renamed service whose new path
        // already holds something starts from no base there.
        let base: BTreeMap<String, [u8; 32]> = w
            .state
            .as_ref()
            .filter(|s| s.path == source)
            .map(|s| s.fields.iter().map(|f| (f.name.clone(), f.digest)).collect())
            .unwrap_or_default();
        if source_meta.current_deleted {
            // A deleted current version can be undeleted there; taking it as "every field
            // removed" would drop every credential here.
            return Err(RemoteFault::Unusable {
                path: source,
                why: "its current version is deleted on the server".into(),
            });
        }
        // With a conflict open the base no longer matches the server, so it is always read.
        let mut not_read = false;
        let remote = if source_meta.current_version == 0 {
            RemoteCopy::empty(source_meta.current_version, source_meta.custom_metadata)
        } else if source_meta.current_version == seen && w.state.is_some() && w.in_conflict.is_empty() && !must_read {
            // Unchanged since the last sync: its fields are the base (no values needed: a field
            // unchanged there is never taken from there).
            not_read = true;
            RemoteCopy::empty(seen, source_meta.custom_metadata)
        } else {
            match ctx.client.read(mount, &source)? {
                Some(s) if s.version < seen => {
                    return Err(RemoteFault::RolledBack { path: source, seen, served: s.version })
                }
                Some(s) => match ctx.sealing {
                    Some(sealing) => open_sealed(ctx, sealing, &source, s)?,
                    None => decode(s),
                },
                None => RemoteCopy::empty(0, BTreeMap::new()),
            }
        };
        let unchanged_remote =
            remote.version == seen && w.state.is_some() && remote.version != 0 && w.in_conflict.is_empty();
        // What the server holds must be usable here before anything is written or taken.
        for (name, value) in &remote.fields {
            if let Err(e) = names::check(NameKind::Secret, name) {
                return Err(RemoteFault::Unusable { path: source, why: e.to_string() });
            }
            if value.len() > crate::vault::secrets::MAX_SECRET_LEN {
                return Err(RemoteFault::Unusable {
                    path: source,
                    why: format!("{name} is larger than a secret may be"),
                });
            }
        }
        let remote_digest = |name: &str| -> Digest {
            if unchanged_remote {
                base.get(name).copied()
            } else {
                remote.fields.get(name).map(|v| digest(ctx.key, v))
            }
        };
        let mut names: BTreeSet<String> = base.keys().cloned().collect();
        names.extend(w.local.keys().cloned());
        names.extend(remote.fields.keys().cloned());
        let mut item = SyncItem {
            service: w.name.clone(),
            environment: w.environment.clone(),
            path: w.path.clone(),
            created: w.service.is_none(),
            ..SyncItem::default()
        };
        let mut plan = Plan {
            item: SyncItem::default(),
            remote_version: remote.version,
            path: source.clone(),
            take: BTreeMap::new(),
            conflicts: BTreeMap::new(),
            base: BTreeMap::new(),
        };
        // What the server should hold after a push: its fields with this vault's changes.
        let mut desired: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut writes_needed = !unchanged_remote && remote.version == 0 && !w.local.is_empty();
        for name in &names {
            let b = base.get(name).copied();
            let l = w.local.get(name).map(|(v, _)| digest(ctx.key, v));
            let r = remote_digest(name);
            let remote_value = remote.fields.get(name);
            let keep_remote = |desired: &mut BTreeMap<String, Vec<u8>>| {
                if let Some(v) = remote_value {
                    desired.insert(name.clone(), v.to_vec());
                } else if unchanged_remote {
                    // Unchanged there, so equal to the base, which equals this side where the
                    // field is the same; the local value stands in for it.
                    if let Some((v, _)) = w.local.get(name) {
                        desired.insert(name.clone(), v.to_vec());
                    }
                }
            };
            match merge_field(b, l, r) {
                FieldMerge::Same => {
                    keep_remote(&mut desired);
                    if let Some(d) = l {
                        plan.base.insert(name.clone(), d);
                    }
                }
                FieldMerge::TakeLocal => {
                    writes_needed = true;
                    let list = match w.local.get(name) {
                        Some((v, _)) => {
                            desired.insert(name.clone(), v.to_vec());
                            &mut item.pushed
                        }
                        None => &mut item.removed_remote,
                    };
                    // A pull leaves this side's changes for the next push, and does not list them.
                    if ctx.reports_local {
                        list.push(name.clone());
                    }
                    let new_base = if ctx.write { l } else { b };
                    if let Some(d) = new_base {
                        plan.base.insert(name.clone(), d);
                    }
                }
                FieldMerge::TakeRemote => {
                    keep_remote(&mut desired);
                    match remote_value {
                        Some(v) => {
                            plan.take.insert(name.clone(), Some(v.clone()));
                            item.pulled.push(name.clone());
                        }
                        None => {
                            plan.take.insert(name.clone(), None);
                            item.removed_local.push(name.clone());
                        }
                    }
                    if let Some(d) = r {
                        plan.base.insert(name.clone(), d);
                    }
                }
                FieldMerge::Conflict => {
                    keep_remote(&mut desired);
                    item.conflicts.push(name.clone());
                    if w.in_conflict.get(name) != Some(&r) {
                        plan.conflicts.insert(name.clone(), remote_value.cloned());
                    }
                    if let Some(d) = b {
                        plan.base.insert(name.clone(), d);
                    }
                }
            }
        }
        let moving = source != w.path;
        if ctx.sealing.is_some() && ctx.write && (writes_needed || moving) && not_read {
            must_read = true;
            continue;
        }
        if !ctx.write || (!writes_needed && !moving) {
            if moving && ctx.write {
                item.moved_from = Some(source.clone());
            }
            plan.item = item;
            return Ok(plan);
        }
        // Write the merged secret, check-and-set against the version read at the target path.
        let cas = if moving { 0 } else { remote.version };
        let mut b64 = Vec::new();
        let data: BTreeMap<String, String> = match ctx.sealing {
            Some(sealing) => seal_fields(ctx, sealing, &w.path, desired, &remote, moving, cas + 1)?,
            None => desired
                .into_iter()
                .map(|(k, v)| match String::from_utf8(v) {
                    Ok(s) => (k, s),
                    Err(e) => {
                        b64.push(k.clone());
                        (k, STANDARD.encode(e.into_bytes()))
                    }
                })
                .collect(),
        };
        match ctx.client.write(mount, &w.path, &data, cas)? {
            Written::CasMismatch => continue,
            Written::Version(v) => {
                plan.remote_version = v;
                plan.path = w.path.clone();
            }
        }
        let mut custom = remote.custom.clone();
        custom.insert(META_VAULT.into(), ctx.vault_id.clone());
        if let Some(id) = w.service {
            custom.insert(META_SERVICE.into(), id.to_string());
        }
        if b64.is_empty() {
            custom.remove(META_BASE64);
        } else {
            custom.insert(META_BASE64.into(), b64.join(","));
        }
        if custom != remote.custom || moving {
            ctx.client.set_custom_metadata(mount, &w.path, &custom)?;
        }
        if moving {
            // The old secret goes only if it is still the one this service wrote.
            let old = ctx.client.metadata(mount, &source)?;
            let ours = w.service.is_some_and(|id| old.custom_metadata.get(META_SERVICE) == Some(&id.to_string()))
                && old.current_version == remote.version;
            if ours {
                ctx.client.delete_all(mount, &source)?;
            }
            item.moved_from = Some(source.clone());
        }
        plan.item = item;
        return Ok(plan);
    }
    Err(RemoteFault::Busy { path: w.path.clone() })
}

/// The fields to write to a sealed remote: a value kept as the server holds it keeps its seal
/// (its author's signature); every other one is sealed and signed here for `version`.
fn seal_fields(
    ctx: &Ctx<'_>,
    sealing: &Sealing,
    path: &str,
    desired: BTreeMap<String, Vec<u8>>,
    remote: &RemoteCopy,
    moving: bool,
    version: u64,
) -> std::result::Result<BTreeMap<String, String>, RemoteFault> {
    let mut out = BTreeMap::new();
    for (name, value) in desired {
        let kept = remote.fields.get(&name).is_some_and(|v| v[..] == value[..]);
        let stored = match remote.sealed.get(&name) {
            Some((text, _)) if kept && !moving => text.clone(),
            _ => {
                let place = FieldPlace { mount: &ctx.remote.kv_mount, path, field: &name };
                sealed::seal(&value, &sealing.recipients, &sealing.signer, &place, version).ok_or_else(|| {
                    RemoteFault::Unusable { path: path.to_string(), why: format!("{name} could not be sealed") }
                })?
            }
        };
        out.insert(name, stored);
    }
    let manifest = sealed::manifest(&out, &sealing.signer, &ctx.remote.kv_mount, path, version).ok_or_else(|| {
        RemoteFault::Unusable { path: path.to_string(), why: "its manifest could not be signed".into() }
    })?;
    out.insert(sealed::MANIFEST_FIELD.to_string(), manifest);
    Ok(out)
}

impl Vault {
    /// Stages `value` as the next version of `reference` (an empty value is kept as it is: the
    /// server may hold one).
    fn stage_synced(
        &self,
        staged: &mut HashMap<(RecordId, String), Credential>,
        reference: &SecretRef,
        value: &[u8],
        at: OffsetDateTime,
        ops: &mut Vec<Op>,
    ) -> Result<(RecordId, u32)> {
        let opts = SecretOptions::default();
        let item = Item { empty_ok: true, ..Item::new(reference, value, &opts, false, at) };
        self.stage_secret(staged, &item, ops)
    }

    pub(crate) fn remote_named(&self, name: &str) -> Result<&Remote> {
        let index = &self.unlocked()?.index;
        let folded = names::folded(name);
        index.remotes.values().find(|r| names::folded(&r.name) == folded).ok_or_else(|| {
            Error::UnknownRemote(crate::error::Missing::among(name, index.remotes.values().map(|r| r.name.as_str())))
        })
    }

    fn remote_view(&self, r: &Remote) -> RemoteView {
        let (synced, conflicts, last) = match self.unlocked() {
            Ok(u) => {
                let states: Vec<&SyncState> = u.index.sync_states.values().filter(|s| s.remote == r.id).collect();
                let last = states.iter().map(|s| s.synced).max();
                (states.len(), u.index.conflicts.values().filter(|c| c.remote == r.id).count(), last)
            }
            Err(_) => (0, 0, None),
        };
        RemoteView {
            name: r.name.clone(),
            addr: r.addr.clone(),
            kv_mount: r.kv_mount.clone(),
            prefix: r.prefix.clone(),
            namespace: r.namespace.clone(),
            auth: match r.auth {
                RemoteAuth::Token { .. } => "token",
                RemoteAuth::AppRole { .. } => "approle",
            },
            insecure_http: r.insecure_http,
            synced_services: synced,
            conflicts,
            last_sync: last.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()),
            sealed: self.unlocked().ok().and_then(|u| u.index.sealed.get(&r.id)).map(|s| {
                if s.with_tls {
                    "values and TLS"
                } else {
                    "values"
                }
            }),
        }
    }

    fn conflict_view(&self, c: &SyncConflict) -> Option<ConflictView> {
        let index = &self.unlocked().ok()?.index;
        let cred = index.credentials.get(&c.credential)?;
        Some(ConflictView {
            remote: index.remotes.get(&c.remote).map_or_else(String::new, |r| r.name.clone()),
            secret: format!("{}/{}", index.service_name(cred.service_id), cred.name),
            service: index.service_name(cred.service_id),
            name: cred.name.clone(),
            local_version: c.local_version,
            remote_value_version: (c.remote_value_version != 0).then_some(c.remote_value_version),
            remote_version: c.remote_version,
            found: c.found.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
        })
    }

    fn conflict_views(&self, remote: Option<RecordId>) -> Result<Vec<ConflictView>> {
        let index = &self.unlocked()?.index;
        let mut out: Vec<ConflictView> = index
            .conflicts
            .values()
            .filter(|c| remote.is_none_or(|r| c.remote == r))
            .filter_map(|c| self.conflict_view(c))
            .collect();
        out.sort_by(|a, b| (&a.secret, &a.remote).cmp(&(&b.secret, &b.remote)));
        Ok(out)
    }

    /// The key of the sync digests (zeroized on drop).
    pub(crate) fn sync_key(&self) -> Result<SubKey> {
        Ok(self.unlocked()?.keys.vault_key.derive(&self.vault_id, Purpose::SyncDigest))
    }

    fn credential_value(&self, cred: &Credential, version: u32) -> Result<Zeroizing<Vec<u8>>> {
        let v = cred
            .versions
            .iter()
            .find(|v| v.version == version)
            .ok_or_else(|| Error::Integrity(format!("{} has no version {version}", cred.name)))?;
        self.open_payload(v.payload_id)
    }

    /// Logs in: the sealed token, or an AppRole login with the sealed secret id.
    pub(crate) fn connect(&self, remote: &Remote) -> Result<Client> {
        let ep = endpoint(remote);
        let token = match &remote.auth {
            RemoteAuth::Token { token } => {
                let bytes = self.open_payload(*token)?;
                SecretString::from(String::from_utf8_lossy(&bytes).into_owned())
            }
            RemoteAuth::AppRole { mount, role_id, secret_id } => {
                let bytes = self.open_payload(*secret_id)?;
                let secret = SecretString::from(String::from_utf8_lossy(&bytes).into_owned());
                client::approle_login(&ep, mount, role_id, &secret).map_err(Error::Remote)?
            }
        };
        Client::new(&ep, token).map_err(Error::Remote)
    }

    fn kv_path(remote: &Remote, environment: &str, service: &str) -> String {
        format!("{}/{environment}/{service}", remote.prefix)
    }

    /// Every local service (of `environment`) with its current values.
    fn local_work(&self, remote: &Remote, environment: Option<&str>, key: &[u8; 32]) -> Result<Vec<Work>> {
        let index = &self.unlocked()?.index;
        let mut creds: HashMap<RecordId, Vec<&Credential>> = HashMap::new();
        for c in index.credentials.values() {
            creds.entry(c.service_id).or_default().push(c);
        }
        let mut out = Vec::new();
        for svc in index.services.values() {
            if environment.is_some_and(|e| e != svc.environment) {
                continue;
            }
            let mut local = BTreeMap::new();
            for c in creds.get(&svc.id).map(Vec::as_slice).unwrap_or_default() {
                if let Some(v) = c.current() {
                    local.insert(c.name.clone(), (self.open_payload(v.payload_id)?, v.version));
                }
            }
            let mut in_conflict = BTreeMap::new();
            for k in index.conflicts.values().filter(|k| k.remote == remote.id) {
                let Some(c) = index.credentials.get(&k.credential).filter(|c| c.service_id == svc.id) else { continue };
                let theirs = match k.remote_value_version {
                    0 => None,
                    n => Some(digest(key, &self.credential_value(c, n)?)),
                };
                in_conflict.insert(c.name.clone(), theirs);
            }
            out.push(Work {
                service: Some(svc.id),
                name: svc.name.clone(),
                environment: svc.environment.clone(),
                path: Vault::kv_path(remote, &svc.environment, &svc.name),
                state: index.sync_states.get(&(remote.id, svc.id)).cloned(),
                local,
                in_conflict,
            });
        }
        Ok(out)
    }

    /// Adds the server's secrets under the prefix that no local service covers: services new
    /// here. Names the name rule refuses are reported, not imported.
    fn remote_work(
        &self,
        remote: &Remote,
        client: &Client,
        environment: Option<&str>,
        work: &mut Vec<Work>,
        skipped: &mut Vec<SyncFailure>,
    ) -> Result<()> {
        let index = &self.unlocked()?.index;
        let covered: BTreeSet<String> = work
            .iter()
            .flat_map(|w| std::iter::once(w.path.clone()).chain(w.state.as_ref().map(|s| s.path.clone())))
            .collect();
        let envs = client.list(&remote.kv_mount, &remote.prefix).map_err(Error::Remote)?;
        let mut seen_names: BTreeMap<String, String> = BTreeMap::new();
        for env_dir in envs {
            let Some(env) = env_dir.strip_suffix('/') else { continue };
            if environment.is_some_and(|e| e != env) {
                continue;
            }
            let dir = format!("{}/{env}", remote.prefix);
            // A folder name is checked before it goes into a request; a folder that cannot be
            // listed is reported, and the rest of the sync goes on.
            if let Err(e) = names::check(NameKind::Environment, env) {
                skipped.push(SyncFailure { path: dir, problem: e.to_string() });
                continue;
            }
            let names = match client.list(&remote.kv_mount, &dir) {
                Ok(n) => n,
                Err(e) => {
                    skipped.push(SyncFailure { path: dir, problem: e.to_string() });
                    continue;
                }
            };
            for name in names {
                let path = format!("{dir}/{name}");
                if name.ends_with('/') || covered.contains(&path) {
                    continue;
                }
                let refused = names::check(NameKind::Service, &name)
                    .err()
                    .map(|e| e.to_string())
                    .or_else(|| {
                        index
                            .service_name_taken(&name, None)
                            .map(|s| format!("a service {:?} exists here in environment {:?}", s.name, s.environment))
                    })
                    .or_else(|| {
                        seen_names.get(&names::folded(&name)).map(|other| {
                            format!(
                                "{name:?} is also under environment {other:?} on the server; service names are unique"
                            )
                        })
                    });
                if let Some(problem) = refused {
                    skipped.push(SyncFailure { path, problem });
                    continue;
                }
                seen_names.insert(names::folded(&name), env.to_string());
                work.push(Work {
                    service: None,
                    name: name.clone(),
                    environment: env.to_string(),
                    path,
                    state: None,
                    local: BTreeMap::new(),
                    in_conflict: BTreeMap::new(),
                });
            }
        }
        Ok(())
    }

    /// Commits what the network part brought home: new services, values taken, conflicts (both
    /// values kept as versions), the new sync state, one audit entry per service naming the
    /// server's version.
    fn apply_plans(&mut self, remote: &Remote, mode: SyncMode, plans: Vec<(Work, Plan)>) -> Result<Vec<SyncItem>> {
        // Services new here first (their own commit), so the credentials below can name them.
        let specs: Vec<ServiceSpec> = plans
            .iter()
            .filter(|(w, p)| w.service.is_none() && (!p.take.is_empty() || !p.conflicts.is_empty()))
            .map(|(w, _)| ServiceSpec {
                name: w.name.clone(),
                environment: w.environment.clone(),
                ..Default::default()
            })
            .collect();
        if !specs.is_empty() {
            self.services_mut().add_many(specs)?;
        }
        let now = OffsetDateTime::now_utc();
        let mut ops: Vec<Op> = Vec::new();
        let mut events = Vec::new();
        let mut staged: HashMap<(RecordId, String), Credential> = HashMap::new();
        let mut removed: Vec<RecordId> = Vec::new();
        let mut new_states = Vec::new();
        let mut new_conflicts = Vec::new();
        let mut items = Vec::new();
        for (w, plan) in plans {
            let index = &self.unlocked()?.index;
            let Ok(svc) = index.service_named(&w.name).map(|s| s.id) else { continue };
            let mut base = plan.base.clone();
            let mut local_versions: BTreeMap<String, u32> = w.local.iter().map(|(k, (_, v))| (k.clone(), *v)).collect();
            for (name, value) in &plan.take {
                let reference = SecretRef { service: w.name.clone(), name: name.clone() };
                match value {
                    Some(v) => {
                        let (_, version) = self.stage_synced(&mut staged, &reference, v, now, &mut ops)?;
                        local_versions.insert(name.clone(), version);
                    }
                    None => {
                        let index = &self.unlocked()?.index;
                        if let Some(c) =
                            index.credential_by_name.get(&(svc, name.clone())).and_then(|id| index.credentials.get(id))
                        {
                            ops.push(Vault::delete_object(c.id));
                            ops.extend(c.versions.iter().map(|v| Vault::delete_payload(v.payload_id)));
                            removed.push(c.id);
                        }
                    }
                }
            }
            for (name, remote_value) in &plan.conflicts {
                let reference = SecretRef { service: w.name.clone(), name: name.clone() };
                let Some((local_value, _)) = w.local.get(name) else {
                    // Deleted here, changed there: the server's value comes back as a version,
                    // and the conflict asks whether the deletion stands.
                    if let Some(v) = remote_value {
                        let (id, version) = self.stage_synced(&mut staged, &reference, v, now, &mut ops)?;
                        new_conflicts.push(SyncConflict {
                            id: RecordId::random(),
                            remote: remote.id,
                            credential: id,
                            local_version: 0,
                            remote_value_version: version,
                            remote_version: plan.remote_version,
                            found: now,
                        });
                    }
                    continue;
                };
                // Both values become versions: the server's, then this vault's again, so the
                // current value here does not change until the user picks.
                let remote_value_version = match remote_value {
                    Some(v) => self.stage_synced(&mut staged, &reference, v, now, &mut ops)?.1,
                    None => 0,
                };
                let (id, local_version) = if remote_value_version == 0 {
                    let index = &self.unlocked()?.index;
                    let c = index
                        .credential_by_name
                        .get(&(svc, name.clone()))
                        .and_then(|id| index.credentials.get(id))
                        .ok_or_else(|| Error::UnknownSecret(reference.to_string().into()))?;
                    (c.id, c.current().map_or(0, |v| v.version))
                } else {
                    self.stage_synced(&mut staged, &reference, local_value, now, &mut ops)?
                };
                local_versions.insert(name.clone(), local_version);
                new_conflicts.push(SyncConflict {
                    id: RecordId::random(),
                    remote: remote.id,
                    credential: id,
                    local_version,
                    remote_value_version,
                    remote_version: plan.remote_version,
                    found: now,
                });
            }
            // A field whose base is this side's value records the local version holding it.
            let fields: Vec<SyncedField> = std::mem::take(&mut base)
                .into_iter()
                .map(|(name, digest)| {
                    let local_version = local_versions.get(&name).copied().unwrap_or(0);
                    SyncedField { name, digest, local_version }
                })
                .collect();
            let state = SyncState {
                id: w.state.as_ref().map_or_else(RecordId::random, |s| s.id),
                remote: remote.id,
                service: svc,
                path: plan.path.clone(),
                remote_version: plan.remote_version,
                fields,
                synced: now,
            };
            let unchanged = w.state.as_ref().is_some_and(|s| {
                s.path == state.path && s.remote_version == state.remote_version && s.fields == state.fields
            });
            if !unchanged {
                ops.push(self.seal_object(state.id, &ObjectRecord::SyncState(state.clone()))?);
                new_states.push(state);
            }
            let mut item = plan.item;
            item.remote_version = plan.remote_version;
            if item.changed() || !unchanged {
                let obj = AuditObject::new("service", Some(svc), w.name.clone());
                let mut detail =
                    format!("{} {}/{} version {}", remote.name, remote.kv_mount, plan.path, plan.remote_version);
                for (label, list) in
                    [("pushed", &item.pushed), ("pulled", &item.pulled), ("conflicts", &item.conflicts)]
                {
                    if !list.is_empty() {
                        detail.push_str(&format!("; {label} {}", list.join(",")));
                    }
                }
                events.push(AuditEvent::success(mode.action(), vec![obj]).with_detail(detail));
            }
            if item.changed() {
                items.push(item);
            }
        }
        // A conflict whose server value changed again is replaced by the newer one (both server
        // values stay in the history).
        let replaced: Vec<RecordId> = {
            let index = &self.unlocked()?.index;
            index
                .conflicts
                .values()
                .filter(|old| new_conflicts.iter().any(|c| c.remote == old.remote && c.credential == old.credential))
                .map(|old| old.id)
                .collect()
        };
        ops.extend(replaced.iter().copied().map(Vault::delete_object));
        for c in &new_conflicts {
            ops.push(self.seal_object(c.id, &ObjectRecord::SyncConflict(c.clone()))?);
        }
        if !ops.is_empty() || !events.is_empty() {
            self.commit(ops, events)?;
        }
        let index = &mut self.unlocked_mut()?.index;
        for (_, c) in staged {
            index.put_credential(c);
        }
        for id in removed {
            index.remove_credential(id);
        }
        for st in new_states {
            index.sync_states.insert((st.remote, st.service), st);
        }
        for id in replaced {
            index.conflicts.remove(&id);
        }
        for c in new_conflicts {
            index.conflicts.insert(c.id, c);
        }
        Ok(items)
    }
}
