//! Certificates and their private keys through a sealed remote (`remote add --sealed
//! --with-tls`): each service's current certificate chain and key at `<service path>/tls`
//! (fields `chain` and `key`), sealed and signed like values. The newest certificate (by its
//! start of validity) wins: an older one served later, replayed or not, is never taken. Only
//! sealed remotes get here, so a private key never reaches a server in plaintext.

use rayon::prelude::*;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::error::Result;
use crate::model::remote::Remote;
use crate::model::CertStatus;
use crate::pki::import::parse_certificates;
use crate::pki::inspect::inspect;
use crate::remote::client::{Client, Written};
use crate::remote::sealed::{self, FieldPlace};
use crate::remote::RemoteFault;
use crate::vault::cas::to_pem;
use crate::vault::sealing::Sealing;
use crate::vault::Vault;

const CHAIN: &str = "chain";
const KEY: &str = "key";

/// A certificate moved through the remote.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TlsSynced {
    /// The service.
    pub service: String,
    /// `pushed` or `pulled`.
    pub action: &'static str,
    /// The certificate's serial (hex).
    pub serial: String,
}

/// One service's TLS material here.
pub(crate) struct TlsWork {
    pub service: String,
    pub path: String,
    pub local: Option<LocalTls>,
    /// Every certificate of the service here, whatever its status: one of them served again
    /// (a revoked one, say) is never taken back.
    pub known: Vec<Vec<u8>>,
    /// A service new here, made only once its certificate has been verified and is taken.
    pub new_service: Option<crate::model::ServiceSpec>,
}

pub(crate) struct LocalTls {
    leaf: Vec<u8>,
    chain_pem: String,
    key_pem: Zeroizing<String>,
    not_before: time::OffsetDateTime,
}

/// Per service: what was decided, and per KV path: what failed.
pub(crate) type TlsResults = (Vec<(TlsWork, TlsOutcome)>, Vec<(String, RemoteFault)>);

/// What the network part decided.
pub(crate) enum TlsOutcome {
    Nothing,
    Pushed(String),
    Take { chain_pem: String, key_pem: Zeroizing<String>, serial: String },
}

impl Vault {
    /// Every service's TLS work for `remote` (its newest active certificate with a key).
    pub(crate) fn tls_work(&self, remote: &Remote, environment: Option<&str>) -> Result<Vec<TlsWork>> {
        let index = &self.unlocked()?.index;
        let mut out = Vec::new();
        for svc in index.services.values().filter(|s| environment.is_none_or(|e| e == s.environment)) {
            let cert = index
                .certs
                .values()
                .filter(|c| c.service_id == Some(svc.id) && c.status == CertStatus::Active && c.key_payload.is_some())
                .max_by_key(|c| c.created);
            let local = match cert {
                Some(c) => {
                    let key = match c.key_payload {
                        Some(p) => self.open_payload(p)?,
                        None => continue,
                    };
                    Some(LocalTls {
                        leaf: c.cert_der.clone(),
                        chain_pem: self.certs().pem(&c.id.to_string(), true)?,
                        key_pem: Zeroizing::new(to_pem("PRIVATE KEY", &key)),
                        not_before: inspect(&c.cert_der)?.not_before,
                    })
                }
                None => None,
            };
            out.push(TlsWork {
                service: svc.name.clone(),
                path: format!("{}/{}/{}/tls", remote.prefix, svc.environment, svc.name),
                local,
                known: index
                    .certs
                    .values()
                    .filter(|c| c.service_id == Some(svc.id))
                    .map(|c| c.cert_der.clone())
                    .collect(),
                new_service: None,
            });
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Imports the certificates the server held newer ones of (making the services new here
    /// first). A certificate that cannot be imported is a failure of its service only.
    pub(crate) fn take_tls(
        &mut self,
        remote: &Remote,
        taken: Vec<(TlsWork, TlsOutcome)>,
        failures: &mut Vec<crate::vault::SyncFailure>,
    ) -> Result<Vec<TlsSynced>> {
        let specs: Vec<crate::model::ServiceSpec> = taken
            .iter()
            .filter(|(_, o)| matches!(o, TlsOutcome::Take { .. }))
            .filter_map(|(w, _)| w.new_service.clone())
            .collect();
        if !specs.is_empty() {
            self.services_mut().add_many(specs)?;
        }
        let mut out = Vec::new();
        for (w, outcome) in taken {
            if let TlsOutcome::Take { chain_pem, key_pem, serial } = outcome {
                let origin = format!("remote {}", remote.name);
                match self.certs_mut().import(chain_pem.as_bytes(), &origin, key_pem.as_bytes(), &origin, &w.service) {
                    Ok(_) => out.push(TlsSynced { service: w.service, action: "pulled", serial }),
                    Err(e) => failures.push(crate::vault::SyncFailure { path: w.path, problem: e.to_string() }),
                }
            }
        }
        Ok(out)
    }
}

/// Services that have only a certificate on the server (a folder `<env>/<name>/` holding a
/// `tls` secret, and no value secret of the same name): new here, to take it.
pub(crate) fn discover(
    client: &Client,
    remote: &Remote,
    environment: Option<&str>,
    known: &dyn Fn(&str) -> bool,
) -> std::result::Result<Vec<TlsWork>, RemoteFault> {
    use crate::model::names::{self, NameKind};
    let mut out = Vec::new();
    for env_dir in client.list(&remote.kv_mount, &remote.prefix)? {
        let Some(env) = env_dir.strip_suffix('/') else { continue };
        if environment.is_some_and(|e| e != env) || names::check(NameKind::Environment, env).is_err() {
            continue;
        }
        let dir = format!("{}/{env}", remote.prefix);
        for entry in client.list(&remote.kv_mount, &dir)? {
            let Some(name) = entry.strip_suffix('/') else { continue };
            if names::check(NameKind::Service, name).is_err()
                || known(name)
                || out.iter().any(|w: &TlsWork| w.service == name)
            {
                continue;
            }
            let path = format!("{dir}/{name}/tls");
            if client.metadata(&remote.kv_mount, &path)?.current_version > 0 {
                out.push(TlsWork {
                    service: name.to_string(),
                    path,
                    local: None,
                    known: Vec::new(),
                    new_service: Some(crate::model::ServiceSpec {
                        name: name.to_string(),
                        environment: env.to_string(),
                        ..Default::default()
                    }),
                });
            }
        }
    }
    Ok(out)
}

/// Runs the TLS part of a sync on `pool`: reads each service's `tls` secret, writes this vault's
/// certificate where it is newer (when `write`), and returns what to take.
pub(crate) fn sync_tls(
    pool: &rayon::ThreadPool,
    client: &Client,
    remote: &Remote,
    sealing: &Sealing,
    work: Vec<TlsWork>,
    write: bool,
) -> TlsResults {
    let results: Vec<(TlsWork, std::result::Result<TlsOutcome, RemoteFault>)> = pool.install(|| {
        work.into_par_iter()
            .map(|w| {
                let r = one(client, remote, sealing, &w, write);
                (w, r)
            })
            .collect()
    });
    let mut done = Vec::new();
    let mut failed = Vec::new();
    for (w, r) in results {
        match r {
            Ok(o) => done.push((w, o)),
            Err(e) => failed.push((w.path, e)),
        }
    }
    (done, failed)
}

fn one(
    client: &Client,
    remote: &Remote,
    sealing: &Sealing,
    w: &TlsWork,
    write: bool,
) -> std::result::Result<TlsOutcome, RemoteFault> {
    let mount = &remote.kv_mount;
    let unusable = |why: String| RemoteFault::Unusable { path: w.path.clone(), why };
    let served = client.read(mount, &w.path)?;
    let theirs = match &served {
        None => None,
        Some(s) => {
            // The version as a whole first: chain and key from one author's write, for exactly
            // this version (no older certificate written back, no mixing).
            sealed::check_manifest(&s.data, &sealing.members, mount, &w.path, s.version)
                .map_err(|(field, why)| RemoteFault::Refused { path: w.path.clone(), field, why })?;
            let open = |field: &str| -> std::result::Result<Zeroizing<Vec<u8>>, RemoteFault> {
                let text = s.data.get(field).ok_or_else(|| unusable(format!("it has no {field} field")))?;
                let place = FieldPlace { mount, path: &w.path, field };
                sealed::open(text, &sealing.identity, &sealing.members, &place, s.version)
                    .map(|o| o.value)
                    .map_err(|why| RemoteFault::Refused { path: w.path.clone(), field: field.into(), why })
            };
            let chain = open(CHAIN)?;
            let key = open(KEY)?;
            let chain_pem = String::from_utf8(chain.to_vec()).map_err(|_| unusable("its chain is not PEM".into()))?;
            let key_pem =
                Zeroizing::new(String::from_utf8(key.to_vec()).map_err(|_| unusable("its key is not PEM".into()))?);
            let leaf = parse_certificates(chain_pem.as_bytes(), &w.path)
                .ok()
                .and_then(|c| c.into_iter().next())
                .ok_or_else(|| unusable("its chain holds no certificate".into()))?;
            let info = inspect(&leaf).map_err(|e| unusable(e.to_string()))?;
            Some((leaf, chain_pem, key_pem, info, s.version))
        }
    };
    // A certificate this vault has or had (revoked, superseded) is never taken back; an unknown
    // one is taken only when it is newer than the one here.
    let version = match (&w.local, theirs) {
        (None, None) => return Ok(TlsOutcome::Nothing),
        (Some(mine), Some((leaf, ..))) if mine.leaf == leaf => return Ok(TlsOutcome::Nothing),
        (None, Some((leaf, ..))) if w.known.contains(&leaf) => return Ok(TlsOutcome::Nothing),
        (None, Some((_, chain_pem, key_pem, info, _))) => {
            return Ok(TlsOutcome::Take { chain_pem, key_pem, serial: info.serial })
        }
        (Some(mine), Some((leaf, chain_pem, key_pem, info, _)))
            if !w.known.contains(&leaf) && info.not_before > mine.not_before =>
        {
            return Ok(TlsOutcome::Take { chain_pem, key_pem, serial: info.serial })
        }
        (Some(_), Some((.., v))) => v,
        (Some(_), None) => 0,
    };
    let Some(mine) = &w.local else { return Ok(TlsOutcome::Nothing) };
    if !write {
        return Ok(TlsOutcome::Nothing);
    }
    let mut data = std::collections::BTreeMap::new();
    for (field, value) in [(CHAIN, mine.chain_pem.as_bytes()), (KEY, mine.key_pem.as_bytes())] {
        let place = FieldPlace { mount, path: &w.path, field };
        let text = sealed::seal(value, &sealing.recipients, &sealing.signer, &place, version + 1)
            .ok_or_else(|| unusable(format!("{field} could not be sealed")))?;
        data.insert(field.to_string(), text);
    }
    let manifest = sealed::manifest(&data, &sealing.signer, mount, &w.path, version + 1)
        .ok_or_else(|| unusable("its manifest could not be signed".into()))?;
    data.insert(sealed::MANIFEST_FIELD.to_string(), manifest);
    match client.write(mount, &w.path, &data, version)? {
        Written::Version(_) => Ok(TlsOutcome::Pushed(inspect(&mine.leaf).map(|i| i.serial).unwrap_or_default())),
        Written::CasMismatch => Err(RemoteFault::Busy { path: w.path.clone() }),
    }
}

/// The pushed entries of an outcome list, for the report.
pub(crate) fn pushed(done: &[(TlsWork, TlsOutcome)]) -> Vec<TlsSynced> {
    done.iter()
        .filter_map(|(w, o)| match o {
            TlsOutcome::Pushed(serial) => {
                Some(TlsSynced { service: w.service.clone(), action: "pushed", serial: serial.clone() })
            }
            _ => None,
        })
        .collect()
}
