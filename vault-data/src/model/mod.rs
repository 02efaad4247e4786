//! The domain records kept (sealed) in the `objects` tree.

pub mod ca;
pub mod certificate;
pub mod credential;
pub mod estate;
pub mod export;
pub mod intent;
pub mod names;
pub mod remote;
pub mod service;
pub mod timestamp;
pub mod token;
pub mod types;

use serde::{Deserialize, Serialize};

pub use ca::{Ca, LinkedCa, TrustAnchor};
pub use certificate::{CertStatus, Certificate, Revocation};
pub use credential::{Credential, CredentialVersion, SecretRef};
pub use intent::Intent;
pub use service::{Service, ServiceSpec};
pub use types::{KeyType, NameConstraintsSpec, Reason};

/// Everything the `objects` tree holds. Sealed as postcard (compact, fast to decode: unlocking
/// decodes every record); new variants go at the end so old records keep their tags.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum ObjectRecord {
    Service(Service),
    Credential(Credential),
    Intent(Intent),
    Ca(Ca),
    Certificate(Certificate),
    Export(export::ExportRecord),
    Output(export::OutputRecord),
    TrustAnchor(ca::TrustAnchor),
    Remote(remote::Remote),
    SyncState(remote::SyncState),
    SyncConflict(remote::SyncConflict),
    LinkedCa(ca::LinkedCa),
    SealedRemote(remote::SealedRemote),
    RemoteMember(remote::RemoteMember),
    ExposedSecret(remote::ExposedSecret),
    TokenKey(token::TokenKey),
    ExternalIssuer(token::ExternalIssuer),
    TokenGrant(token::TokenGrant),
    NextKey(certificate::NextKey),
    ExportedTrust(export::ExportedTrust),
}

impl ObjectRecord {
    /// The id the record carries inside.
    pub(crate) fn id(&self) -> crate::ids::RecordId {
        match self {
            ObjectRecord::Service(x) => x.id,
            ObjectRecord::Credential(x) => x.id,
            ObjectRecord::Intent(x) => x.id,
            ObjectRecord::Ca(x) => x.id,
            ObjectRecord::Certificate(x) => x.id,
            ObjectRecord::Export(x) => x.id,
            ObjectRecord::Output(x) => x.id,
            ObjectRecord::TrustAnchor(x) => x.id,
            ObjectRecord::Remote(x) => x.id,
            ObjectRecord::SyncState(x) => x.id,
            ObjectRecord::SyncConflict(x) => x.id,
            ObjectRecord::LinkedCa(x) => x.id,
            ObjectRecord::SealedRemote(x) => x.id,
            ObjectRecord::RemoteMember(x) => x.id,
            ObjectRecord::ExposedSecret(x) => x.id,
            ObjectRecord::TokenKey(x) => x.id,
            ObjectRecord::ExternalIssuer(x) => x.id,
            ObjectRecord::TokenGrant(x) => x.id,
            ObjectRecord::NextKey(x) => x.id,
            ObjectRecord::ExportedTrust(x) => x.id,
        }
    }

    pub(crate) fn encode(&self) -> crate::Result<zeroize::Zeroizing<Vec<u8>>> {
        postcard::to_stdvec(self)
            .map(zeroize::Zeroizing::new)
            .map_err(|e| crate::Error::Storage(format!("cannot encode record: {e}")))
    }

    pub(crate) fn decode(bytes: &[u8]) -> Option<ObjectRecord> {
        postcard::from_bytes(bytes).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::RecordId;

    #[test]
    fn records_round_trip_in_both_encodings() {
        let now = time::OffsetDateTime::now_utc();
        let svc = Service {
            id: RecordId::random(),
            name: "payments".into(),
            environment: "prod".into(),
            owner: Some("team-pay".into()),
            tags: [("tier".to_string(), "1".to_string())].into(),
            spiffe_id: None,
            trust_inbound: vec![RecordId::random()],
            trust_outbound: vec![],
            created: now,
            updated: now,
        };
        // Binary, as sealed on disk: timestamps keep nanoseconds.
        let rec = ObjectRecord::Service(svc.clone());
        match ObjectRecord::decode(&rec.encode().unwrap()) {
            Some(ObjectRecord::Service(back)) => assert_eq!(back, svc),
            other => panic!("decoded {other:?}"),
        }
        // JSON, as front ends see it: RFC 3339 text and hex ids.
        let json = serde_json::to_value(&svc).unwrap();
        assert!(json["created"].as_str().unwrap().contains('T'));
        assert_eq!(json["id"].as_str().unwrap(), svc.id.to_string());
        assert_eq!(serde_json::from_value::<Service>(json).unwrap(), svc);
        assert!(ObjectRecord::decode(b"\xff\xff garbage").is_none());
    }
}
