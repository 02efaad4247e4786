//! Certificate pinning: each service's pin set (its current key's SPKI pin, its next key's, and
//! its issuing CA's), the pin sets of the peers a service calls (what its bundle's `pins.json`
//! carries), and the next keys themselves, made when a service gets a certificate and taken by
//! `cert renew --rotate-key`.

use std::ops::Deref;

use serde::Serialize;
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::model::certificate::NextKey;
use crate::model::{CertStatus, KeyType};
use crate::pki::pin;
use crate::vault::certs::Certificates;
use crate::vault::index::Index;
use crate::vault::Vault;

/// What a client pins for one service.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PinSet {
    /// The service pinned.
    pub service: String,
    /// The DNS names of its current certificate.
    pub dns: Vec<String>,
    /// SHA-256 SPKI pin (base64) of its current key.
    pub current: String,
    /// The pin of its next key (taken by the next `cert renew --rotate-key`); none when it has
    /// no next key yet, and a pinned client would then break at that rotation.
    pub next: Option<String>,
    /// The pin of the CA that issued its certificate, when that CA is in the vault.
    pub ca: Option<String>,
}

impl PinSet {
    /// Every pin, current first.
    pub fn all(&self) -> Vec<&str> {
        std::iter::once(self.current.as_str()).chain(self.next.as_deref()).chain(self.ca.as_deref()).collect()
    }
}

/// A next key for `service` of `key_type`, with its PKCS#8 (v1) private key.
pub(crate) fn new_next_key(service: RecordId, key_type: KeyType) -> Result<(NextKey, zeroize::Zeroizing<Vec<u8>>)> {
    let kp = key_type.generate()?;
    let pkcs8 = crate::pki::key_type::pkcs8_v1(&kp.serialize_der())?;
    let spki = rcgen::PublicKeyData::subject_public_key_info(&kp);
    Ok((
        NextKey {
            id: RecordId::random(),
            service,
            key_type,
            key_payload: RecordId::random(),
            pin: pin::of_spki(&spki),
            created: OffsetDateTime::now_utc(),
        },
        pkcs8,
    ))
}

/// The pin set of `service`: from its newest active server certificate.
pub(crate) fn pin_set(index: &Index, service: RecordId) -> Result<Option<PinSet>> {
    let Some(cert) = index
        .certs
        .values()
        .filter(|c| c.service_id == Some(service) && c.status == CertStatus::Active && c.server_auth)
        .filter(|c| c.not_after > OffsetDateTime::now_utc())
        .max_by_key(|c| c.created)
    else {
        return Ok(None);
    };
    let info = crate::pki::inspect::inspect(&cert.cert_der)?;
    let ca = match cert.issuer.and_then(|i| index.cas.get(&i)) {
        Some(ca) if !ca.cert_der.is_empty() => Some(pin::of_certificate(&ca.cert_der)?),
        _ => None,
    };
    Ok(Some(PinSet {
        service: index.service_name(service),
        dns: info.dns,
        current: pin::of_certificate(&cert.cert_der)?,
        next: index.next_keys.get(&service).map(|n| n.pin.clone()),
        ca,
    }))
}

/// The pin sets of the services `client` intends to call (those with a server certificate).
pub(crate) fn peer_pins(index: &Index, client: RecordId) -> Result<Vec<PinSet>> {
    let mut peers: Vec<RecordId> = index.intents.values().filter(|i| i.from == client).map(|i| i.to).collect();
    peers.sort_by_key(|p| index.service_name(*p));
    peers.dedup();
    let mut out = Vec::new();
    for p in peers {
        if let Some(set) = pin_set(index, p)? {
            out.push(set);
        }
    }
    Ok(out)
}

impl<V: Deref<Target = Vault>> Certificates<V> {
    /// The pins clients of `service` use: its current key, its next key and its issuing CA.
    pub fn pins(&self, service: &str) -> Result<PinSet> {
        let index = &self.vault.unlocked()?.index;
        let svc = index.service_named(service)?;
        pin_set(index, svc.id)?.ok_or_else(|| Error::NoActiveCertificate { service: svc.name.clone() })
    }

    /// The pin sets of the services `client` calls (its intents): what its bundle's `pins.json`
    /// holds.
    pub fn peer_pins(&self, client: &str) -> Result<Vec<PinSet>> {
        let index = &self.vault.unlocked()?.index;
        peer_pins(index, index.service_named(client)?.id)
    }
}

/// The forms a pin set is printed in, one per kind of client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinFormat {
    /// curl's `--pinnedpubkey` value: `sha256//A;sha256//B`.
    Curl,
    /// OkHttp's `CertificatePinner` (Kotlin), one `add` per DNS name.
    Okhttp,
    /// Envoy's `verify_certificate_spki` list (YAML).
    Envoy,
}

impl PinFormat {
    /// Every form, as named on the command line.
    pub const NAMES: [&'static str; 3] = ["curl", "okhttp", "envoy"];

    /// Parses a form's name.
    pub fn parse(name: &str) -> Result<PinFormat> {
        match name.to_ascii_lowercase().as_str() {
            "curl" => Ok(PinFormat::Curl),
            "okhttp" => Ok(PinFormat::Okhttp),
            "envoy" => Ok(PinFormat::Envoy),
            _ => Err(Error::unknown_choice(crate::error::Choice::PinFormat, name, PinFormat::NAMES.map(String::from))),
        }
    }
}

impl PinSet {
    /// The pin set in the form `format`'s client takes.
    pub fn render(&self, format: PinFormat) -> String {
        let pins = self.all();
        match format {
            PinFormat::Curl => pins.iter().map(|p| format!("sha256//{p}")).collect::<Vec<_>>().join(";") + "\n",
            PinFormat::Okhttp => {
                let mut out = String::from("CertificatePinner.Builder()\n");
                for dns in &self.dns {
                    let list: Vec<String> = pins.iter().map(|p| format!("\"sha256/{p}\"")).collect();
                    out.push_str(&format!("    .add(\"{dns}\", {})\n", list.join(", ")));
                }
                out.push_str("    .build()\n");
                out
            }
            PinFormat::Envoy => {
                let mut out = String::from("verify_certificate_spki:\n");
                for p in pins {
                    out.push_str(&format!("- \"{p}\"\n"));
                }
                out
            }
        }
    }
}
