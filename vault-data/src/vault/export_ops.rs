//! Assembling a service's export bundle from the vault, signing it, and recording what left.

use std::fs;
use std::path::PathBuf;

use ed25519_dalek::SigningKey;
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::audit::{AuditEvent, AuditObject};
use crate::error::{Error, Result};
use crate::export::bundle::{Bundle, BundleFile, PUBLIC_MODE, SECRET_MODE};
use crate::export::envfile;
use crate::export::manifest::{self, Manifest, ManifestCertificate, MANIFEST_VERSION};
use crate::export::replace::{self, OutputRecord, ReplaceRule};
use crate::export::write::{render, target_in, write_output, Format, Rendered};
use crate::fs as durable;
use crate::ids::RecordId;
use crate::model::export::ExportRecord;
use crate::model::token::{GrantSide, IssuerRef};
use crate::model::{Certificate, ObjectRecord};
use crate::pki::inspect::inspect;
use crate::vault::cas::{chain, to_pem};
use crate::vault::index::Index;
use crate::vault::{Vault, META_SIGNING_KEY};
use std::ops::{Deref, DerefMut};

/// Where [`Exports::export_to`] writes.
#[derive(Debug, Clone)]
pub enum Destination {
    /// Exactly this path (one service).
    Path(PathBuf),
    /// One output per service in this directory (created 0700 if missing), named by
    /// [`target_in`].
    Into(PathBuf),
}

/// How [`Exports::export_to`] writes.
#[derive(Clone)]
pub struct ExportTarget {
    /// The output format.
    pub format: Format,
    /// Where.
    pub destination: Destination,
    /// Replace previous Keyloom outputs at the output paths (never anything else).
    pub force: bool,
    /// Modification time of tar entries (Unix seconds).
    pub mtime: u64,
}

/// What [`Exports::export_to`] is doing, for progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportStage {
    /// Building and signing bundles.
    Building,
    /// Writing outputs.
    Writing,
}

/// One output [`Exports::export_to`] wrote.
#[derive(Debug)]
pub struct Exported {
    /// The service.
    pub service: String,
    /// Where (resolved).
    pub path: PathBuf,
    /// Whether it replaced a previous output.
    pub replaced: bool,
    /// What it holds.
    pub bundle: Bundle,
}

/// What to put in a bundle.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Export a service that has no active certificate (secrets only).
    pub secrets_only: bool,
    /// Leave out `secrets.env` (the bundle has no use for it, as under `keyloom run`).
    pub no_env: bool,
    /// The format written, for the export record ("dir", "tar.gz", "age", ...).
    pub format: String,
}

/// One line of a service's bundle history.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExportView {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created: OffsetDateTime,
    /// Format.
    pub format: String,
    /// Certificate serial exported, if any.
    pub serial: Option<String>,
    /// Files.
    pub files: Vec<String>,
    /// Secret names.
    pub secrets: Vec<String>,
}

/// What exporting a service would write, without exporting it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BundlePreview {
    /// The service.
    pub service: String,
    /// Serial of the certificate that would leave, if any.
    pub serial: Option<String>,
    /// Files with their modes, manifest last.
    pub files: Vec<PreviewFile>,
    /// Names of the secrets that would leave.
    pub secrets: Vec<String>,
}

/// One file of a [`BundlePreview`].
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PreviewFile {
    /// Path inside the bundle.
    pub path: String,
    /// Unix mode (0600 for keys and secrets).
    pub mode: u32,
}

/// The certificate a bundle carries: the service's newest active one.
fn active_certificate(index: &Index, service: RecordId) -> Option<&Certificate> {
    index
        .certs
        .values()
        .filter(|c| c.service_id == Some(service) && c.status == crate::model::CertStatus::Active)
        .max_by_key(|c| c.created)
}

/// What `bundle` gives its service to trust, read from its own files: the key ids of every
/// `trusted-jwks/<issuer>.json` and the pins of every peer in `pins.json`. None when it has neither.
fn exported_trust(bundle: &Bundle, record: &ExportRecord) -> Option<crate::model::export::ExportedTrust> {
    let parse = |bytes: &[u8]| serde_json::from_slice::<serde_json::Value>(bytes).ok();
    let mut jwks = Vec::new();
    let mut pins = Vec::new();
    for f in &bundle.files {
        if let Some(issuer) = f.path.strip_prefix("trusted-jwks/").and_then(|n| n.strip_suffix(".json")) {
            let kids = parse(&f.contents)
                .and_then(|v| v.get("keys").and_then(|k| k.as_array()).cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|k| k.get("kid").and_then(|k| k.as_str()).map(String::from))
                .collect();
            jwks.push((issuer.to_string(), kids));
        } else if f.path == "pins.json" {
            let doc = parse(&f.contents)?;
            for p in doc.get("peers").and_then(|p| p.as_array()).into_iter().flatten() {
                let Some(name) = p.get("service").and_then(|s| s.as_str()) else { continue };
                let set: Vec<String> = ["current", "next", "ca"]
                    .iter()
                    .filter_map(|k| p.get(*k).and_then(|v| v.as_str()).map(String::from))
                    .collect();
                pins.push((name.to_string(), set));
            }
        }
    }
    (!jwks.is_empty() || !pins.is_empty()).then(|| crate::model::export::ExportedTrust {
        id: RecordId::random(),
        export_id: record.id,
        service_id: record.service_id,
        jwks,
        pins,
        created: record.created,
    })
}

fn file(path: &str, mode: u32, contents: Vec<u8>) -> BundleFile {
    BundleFile { path: path.into(), mode, contents: Zeroizing::new(contents) }
}

feature_handle!(
    /// Bundles: what a service gets, exports to disk, what `run` hands a child.
    Exports, exports, exports_mut
);

impl<V: Deref<Target = Vault>> Exports<V> {
    /// The bundle signing public key, as `keyloom signing-key export` writes it.
    pub fn signing_public_key(&self) -> Result<String> {
        Ok(manifest::public_key_text(&self.vault.signing_key()?.verifying_key()))
    }

    /// Builds `service`'s bundle: certificate, chain, key (0600), trust stores, secrets (0600), and
    /// a signed manifest. The export is audited (listing every file and secret) and recorded in
    /// the service's bundle history before anything is returned.
    pub fn bundle(&mut self, service: &str, opts: &ExportOptions) -> Result<Bundle>
    where
        V: DerefMut<Target = Vault>,
    {
        let mut v = self.bundles(&[service.to_string()], opts, &|_, _| {})?;
        v.pop().ok_or_else(|| Error::Storage("bundle was not built".into()))
    }

    /// Builds the bundle `keyloom run` hands to a child: the service's secrets, and its TLS files
    /// when it has an active certificate and `secrets_only` is not asked. Unlike an export, a
    /// service without a certificate runs with its secrets alone: the process may need no TLS.
    /// Audited and recorded as an export of format `run`. Refuses a secret named like a TLS
    /// variable `run` sets (see [`crate::export::run::TLS_VARIABLES`]), which would be overwritten.
    pub fn run_bundle(&mut self, service: &str, secrets_only: bool) -> Result<Bundle>
    where
        V: DerefMut<Target = Vault>,
    {
        let index = &self.vault.unlocked()?.index;
        let svc = index.service_named(service)?;
        let secrets_only = secrets_only || active_certificate(index, svc.id).is_none();
        if !secrets_only {
            let tls_variable = |name: &str| crate::export::run::TLS_VARIABLES.iter().any(|(_, var)| *var == name);
            if let Some(c) = index
                .credentials
                .values()
                .find(|c| c.service_id == svc.id && c.current().is_some() && tls_variable(&c.name))
            {
                return Err(Error::TlsVariableName { secret: format!("{}/{}", svc.name, c.name) });
            }
        }
        self.bundle(service, &ExportOptions { secrets_only, no_env: true, format: "run".into() })
    }

    /// Builds the bundles of many services, audited and recorded in one commit (one durable
    /// flush). If any service cannot be exported, none is. `progress` gets (done, total).
    pub fn bundles(
        &mut self,
        services: &[String],
        opts: &ExportOptions,
        progress: &dyn Fn(usize, usize),
    ) -> Result<Vec<Bundle>>
    where
        V: DerefMut<Target = Vault>,
    {
        let prepared = self.vault.prepare_bundles(services, opts, progress)?;
        self.vault.record_exports(prepared, Vec::new())
    }

    /// What `export --force` may replace for this vault (see [`ReplaceRule`]).
    pub fn replace_rule(&self) -> Result<ReplaceRule> {
        let outputs = self.vault.unlocked()?.index.outputs.values().cloned().collect();
        Ok(ReplaceRule::new(self.vault.signing_key()?.verifying_key(), outputs, self.vault.path()))
    }

    /// Exports `services` and writes them: builds and signs every bundle, checks every output
    /// path, records the exports with where they go and what was written (audited, one commit),
    /// then writes each output. An existing output is replaced only with `force` and only when
    /// [`ReplaceRule`] judges it a previous Keyloom output; anything else at an output path stops
    /// the export before anything is recorded or written. `progress` gets the stage, done, total.
    pub fn export_to(
        &mut self,
        services: &[String],
        opts: &ExportOptions,
        to: &ExportTarget,
        progress: &dyn Fn(ExportStage, usize, usize),
    ) -> Result<Vec<Exported>>
    where
        V: DerefMut<Target = Vault>,
    {
        let targets: Vec<PathBuf> = match &to.destination {
            Destination::Path(p) if services.len() == 1 => vec![p.clone()],
            Destination::Path(_) => {
                return Err(Error::Invalid("several services go into a directory, not to one path".into()))
            }
            Destination::Into(dir) => {
                services.iter().map(|s| target_in(dir, s, &to.format)).collect::<Result<Vec<_>>>()?
            }
        };
        let targets = targets.iter().map(|t| replace::resolve(t)).collect::<Result<Vec<_>>>()?;
        if let Some(t) = targets.iter().enumerate().find_map(|(i, t)| targets[..i].contains(t).then_some(t)) {
            return Err(Error::Invalid(format!("two services would be written to {}", t.display())));
        }
        let rule = self.replace_rule()?;
        let kind = to.format.kind();
        let replacing = targets.iter().map(|t| rule.check(t, kind, to.force)).collect::<Result<Vec<bool>>>()?;

        let prepared =
            self.vault.prepare_bundles(services, opts, &|done, total| progress(ExportStage::Building, done, total))?;
        let rendered =
            prepared.iter().map(|(b, ..)| render(b, &to.format, to.mtime)).collect::<Result<Vec<Rendered>>>()?;
        let created_dir = match &to.destination {
            Destination::Into(dir) if fs::symlink_metadata(dir).is_err() => {
                durable::create_private_dir(dir)?;
                Some(dir)
            }
            _ => None,
        };
        let now = OffsetDateTime::now_utc();
        let mut prepared = prepared;
        let mut outputs = Vec::with_capacity(targets.len());
        for (((_, record, event), out), (target, replaces)) in
            prepared.iter_mut().zip(&rendered).zip(targets.iter().zip(&replacing))
        {
            let (sha256, size) = out.fingerprint();
            outputs.push(OutputRecord {
                id: RecordId::random(),
                export_id: record.id,
                path: target.to_string_lossy().into_owned(),
                kind,
                sha256,
                size,
                created: now,
            });
            let verb = if *replaces { "replacing the previous output at" } else { "to" };
            let detail = event.detail.take().unwrap_or_default();
            event.detail = Some(format!("{detail}; {verb} {}", target.display()));
        }
        let bundles = match self.vault.record_exports(prepared, outputs) {
            Ok(b) => b,
            Err(e) => {
                if let Some(dir) = created_dir {
                    let _ = fs::remove_dir(dir);
                }
                return Err(e);
            }
        };
        let total = targets.len();
        let mut written = Vec::with_capacity(total);
        for (i, (((service, bundle), out), (target, replaces))) in
            services.iter().zip(bundles).zip(&rendered).zip(targets.into_iter().zip(replacing)).enumerate()
        {
            write_output(out, &target, replaces.then_some(&rule))?;
            progress(ExportStage::Writing, i + 1, total);
            written.push(Exported { service: service.clone(), path: target, replaced: replaces, bundle });
        }
        Ok(written)
    }

    /// What exporting each of `services` would write, and which secrets would leave, so a person
    /// can check before anything happens. Builds the bundles in memory and drops them: nothing is
    /// written, recorded or audited.
    pub fn preview(&self, services: &[String], opts: &ExportOptions) -> Result<Vec<BundlePreview>> {
        let key = self.vault.signing_key()?;
        let now = OffsetDateTime::now_utc();
        services
            .iter()
            .map(|service| {
                let (bundle, record, _) = self.vault.prepare_bundle(service, opts, &key, now)?;
                Ok(BundlePreview {
                    service: service.clone(),
                    serial: record.serial,
                    files: bundle.files.iter().map(|f| PreviewFile { path: f.path.clone(), mode: f.mode }).collect(),
                    secrets: record.secrets,
                })
            })
            .collect()
    }

    /// Names of the services of `environment`, sorted.
    /// An environment no service is in is an error.
    pub fn services_in(&self, environment: &str) -> Result<Vec<String>> {
        let index = &self.vault.unlocked()?.index;
        index.environment_known(environment)?;
        let mut v: Vec<String> =
            index.services.values().filter(|s| s.environment == environment).map(|s| s.name.clone()).collect();
        v.sort();
        Ok(v)
    }

    /// Every export of `service`, newest first.
    pub fn history(&self, service: &str) -> Result<Vec<ExportView>> {
        let index = &self.vault.unlocked()?.index;
        let svc = index.service_named(service)?;
        let mut v: Vec<ExportView> = index
            .exports
            .values()
            .filter(|e| e.service_id == svc.id)
            .map(|e| ExportView {
                created: e.created,
                format: e.format.clone(),
                serial: e.serial.clone(),
                files: e.files.clone(),
                secrets: e.secrets.clone(),
            })
            .collect();
        v.sort_by_key(|e| std::cmp::Reverse(e.created));
        Ok(v)
    }
}

impl Vault {
    pub(crate) fn signing_key(&self) -> Result<SigningKey> {
        let pt = self
            .open_meta(META_SIGNING_KEY)?
            .ok_or_else(|| Error::Integrity("the vault's signing key record is missing".into()))?;
        let bytes: [u8; 32] = pt
            .as_slice()
            .try_into()
            .map_err(|_| Error::Integrity("the vault's signing key record is damaged".into()))?;
        Ok(SigningKey::from_bytes(&bytes))
    }

    fn prepare_bundles(
        &self,
        services: &[String],
        opts: &ExportOptions,
        progress: &dyn Fn(usize, usize),
    ) -> Result<Vec<(Bundle, ExportRecord, AuditEvent)>> {
        let key = self.signing_key()?;
        let now = OffsetDateTime::now_utc();
        let mut prepared = Vec::with_capacity(services.len());
        for (i, service) in services.iter().enumerate() {
            prepared.push(self.prepare_bundle(service, opts, &key, now)?);
            progress(i + 1, services.len());
        }
        Ok(prepared)
    }

    /// Commits the export records (and where they were written), with their audit events.
    fn record_exports(
        &mut self,
        prepared: Vec<(Bundle, ExportRecord, AuditEvent)>,
        outputs: Vec<OutputRecord>,
    ) -> Result<Vec<Bundle>> {
        let many = prepared.len() > 1;
        let mut ops = Vec::with_capacity(prepared.len() + outputs.len());
        let mut events = Vec::with_capacity(prepared.len());
        let mut records = Vec::with_capacity(prepared.len());
        let mut bundles = Vec::with_capacity(prepared.len());
        let mut trusts = Vec::new();
        for (bundle, record, event) in prepared {
            if let Some(t) = exported_trust(&bundle, &record) {
                ops.push(self.seal_object(t.id, &ObjectRecord::ExportedTrust(t.clone()))?);
                trusts.push(t);
            }
            ops.push(self.seal_object(record.id, &ObjectRecord::Export(record.clone()))?);
            events.push(event);
            records.push(record);
            bundles.push(bundle);
        }
        for o in &outputs {
            ops.push(self.seal_object(o.id, &ObjectRecord::Output(o.clone()))?);
        }
        self.commit(ops, events)?;
        let index = &mut self.unlocked_mut()?.index;
        for r in records {
            index.exports.insert(r.id, r);
        }
        for t in trusts {
            index.exported_trust.insert(t.export_id, t);
        }
        for o in outputs {
            index.outputs.insert(o.id, o);
        }
        if many {
            self.checkpoint()?;
        }
        Ok(bundles)
    }

    fn prepare_bundle(
        &self,
        service: &str,
        opts: &ExportOptions,
        signing_key: &SigningKey,
        now: OffsetDateTime,
    ) -> Result<(Bundle, ExportRecord, AuditEvent)> {
        let index = &self.unlocked()?.index;
        let svc = index.service_named(service)?.clone();
        let cert = active_certificate(index, svc.id).cloned();
        if cert.is_none() && !opts.secrets_only {
            return Err(Error::NoActiveCertificate { service: svc.name.clone() });
        }
        let mut files = Vec::new();
        let mut manifest_cert = None;
        if let Some(c) = cert.as_ref().filter(|_| !opts.secrets_only) {
            let payload = c.key_payload.ok_or_else(|| {
                Error::Invalid(format!(
                    "Keyloom holds no private key for {}'s certificate; import it with its key",
                    svc.name
                ))
            })?;
            let info = inspect(&c.cert_der)?;
            let leaf = to_pem("CERTIFICATE", &c.cert_der);
            let mut chain_pem = leaf.clone();
            if let Some(ca) = c.issuer.and_then(|i| index.cas.get(&i)) {
                for ca in chain(index, ca).iter().filter(|ca| ca.parent.is_some()) {
                    chain_pem.push_str(&to_pem("CERTIFICATE", &ca.cert_der));
                }
            }
            let pems = |ids: &[RecordId]| -> String {
                ids.iter().filter_map(|i| index.cas.get(i)).map(|ca| to_pem("CERTIFICATE", &ca.cert_der)).collect()
            };
            let (inbound, outbound) = (pems(&svc.trust_inbound), pems(&svc.trust_outbound));
            let key = crate::pki::key_type::pkcs8_v1(&self.open_payload(payload)?)?;
            files.push(file("tls/cert.pem", PUBLIC_MODE, leaf.into_bytes()));
            files.push(file("tls/chain.pem", PUBLIC_MODE, chain_pem.into_bytes()));
            files.push(BundleFile {
                path: "tls/key.pem".into(),
                mode: SECRET_MODE,
                contents: Zeroizing::new(to_pem("PRIVATE KEY", &key).into_bytes()),
            });
            if !inbound.is_empty() {
                files.push(file("tls/ca-inbound.pem", PUBLIC_MODE, inbound.into_bytes()));
            }
            if !outbound.is_empty() {
                files.push(file("tls/ca-outbound.pem", PUBLIC_MODE, outbound.into_bytes()));
            }
            manifest_cert = Some(ManifestCertificate {
                id: c.id.to_string(),
                serial: info.serial.clone(),
                issuer: info.issuer.clone(),
                not_after: info.not_after.format(&Rfc3339).unwrap_or_default(),
            });
        }
        let index = &self.unlocked()?.index;
        let mut creds: Vec<_> = index.credentials.values().filter(|c| c.service_id == svc.id).cloned().collect();
        creds.sort_by(|a, b| a.name.cmp(&b.name));
        super::name_problems::check_exportable(&svc.name, creds.iter().map(|c| c.name.as_str()))?;
        let mut secrets = Vec::with_capacity(creds.len());
        for c in &creds {
            if let Some(v) = c.current() {
                secrets.push((c.name.clone(), self.open_payload(v.payload_id)?));
            }
        }
        if !secrets.is_empty() {
            if !opts.no_env {
                files.push(BundleFile {
                    path: "secrets.env".into(),
                    mode: SECRET_MODE,
                    contents: envfile::render(&svc.name, &secrets)?,
                });
            }
            files.push(BundleFile {
                path: "secrets.json".into(),
                mode: SECRET_MODE,
                contents: crate::export::secrets_json::render(&secrets)?,
            });
        }
        // Tokens: an issuer's own JWKS (current, next and previous public keys), and the JWKS of
        // every issuer the service accepts tokens from, so verifiers hold the next key before it
        // signs. Issuer names follow the service name rule, so they are safe file names.
        {
            let json = |v: serde_json::Value| serde_json::to_vec_pretty(&v).map_err(|e| Error::Storage(e.to_string()));
            if index.token_keys.values().any(|k| k.service == svc.id) {
                let jwks = crate::vault::tokens::jwks_of(index, IssuerRef::Service(svc.id));
                files.push(file("jwks.json", PUBLIC_MODE, json(jwks)?));
            }
            let mut accepted: Vec<IssuerRef> = index
                .grants
                .values()
                .filter(|g| g.service == svc.id && g.side == GrantSide::Accepts)
                .map(|g| g.issuer)
                .collect();
            accepted.sort_by_key(|i| index.issuer_name(*i));
            accepted.dedup();
            let peers = crate::vault::pins::peer_pins(index, svc.id)?;
            if !peers.is_empty() {
                let doc = serde_json::json!({ "service": svc.name, "peers": peers });
                files.push(file("pins.json", PUBLIC_MODE, json(doc)?));
            }
            for issuer in accepted {
                let name = index.issuer_name(issuer);
                crate::model::names::check(crate::model::names::NameKind::Service, &name)?;
                let jwks = crate::vault::tokens::jwks_of(index, issuer);
                files.push(file(&format!("trusted-jwks/{name}.json"), PUBLIC_MODE, json(jwks)?));
            }
        }
        if files.is_empty() {
            return Err(Error::Invalid(format!("{} has nothing to export (no certificate, no secrets)", svc.name)));
        }
        let manifest = Manifest {
            manifest_version: MANIFEST_VERSION,
            service: svc.name.clone(),
            environment: svc.environment.clone(),
            vault_id: self.vault_id(),
            created: now.format(&Rfc3339).unwrap_or_default(),
            certificate: manifest_cert,
            secrets: secrets.iter().map(|(n, _)| n.clone()).collect(),
            files: files.iter().map(|f| manifest::file_entry(&f.path, f.mode, &f.contents)).collect(),
        };
        let manifest_bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Storage(e.to_string()))?;
        let sig = manifest::sign(signing_key, &manifest_bytes);
        files.push(file("manifest.json", PUBLIC_MODE, manifest_bytes));
        files.push(file("manifest.sig", PUBLIC_MODE, sig));

        let record = ExportRecord {
            id: RecordId::random(),
            service_id: svc.id,
            certificate: cert.as_ref().filter(|_| !opts.secrets_only).map(|c| c.id),
            serial: manifest.certificate.as_ref().map(|c| c.serial.clone()),
            format: opts.format.clone(),
            files: files.iter().map(|f| f.path.clone()).collect(),
            secrets: manifest.secrets.clone(),
            created: now,
        };
        let detail = format!(
            "{} bundle: {}{}",
            opts.format,
            record.files.join(", "),
            if record.secrets.is_empty() { String::new() } else { format!("; secrets {}", record.secrets.join(", ")) }
        );
        let obj = AuditObject::new("service", Some(svc.id), svc.name.clone());
        let event = AuditEvent::success("export", vec![obj]).with_detail(detail);
        Ok((Bundle { manifest, files }, record, event))
    }
}
