//! Remedies: what to do about a finding, as data. The core decides which remedy fits; each shell
//! renders it its own way (the CLI as a command or sentence, the desktop as a button where one
//! operation does it). Nothing here is CLI text.

use serde::Serialize;

use crate::ids::RecordId;

/// Which trust store of a service a remedy touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum TrustSide {
    /// The CAs whose client certificates the service accepts.
    Inbound,
    /// The CAs the service verifies servers with.
    Outbound,
}

/// Which kind of certificate a remedy issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CertUse {
    /// A TLS client certificate (clientAuth).
    Client,
    /// A TLS server certificate (serverAuth).
    Server,
}

/// What to do about a finding, with the names and ids the operation needs. Serialized with an
/// `action` tag (`{"action": "remove_trust", "service": …}`) so `--json` and the desktop read the
/// same shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Remedy {
    /// Stop accepting client certificates under `ca` at `service`; where a narrower vault CA
    /// covers every intended caller, trust that one (`instead`).
    RemoveTrust {
        /// Service whose inbound trust is too wide.
        service: String,
        /// The CA to remove from its inbound trust.
        ca: String,
        /// A narrower CA covering every intended caller, to trust in its place.
        instead: Option<String>,
    },
    /// The over-trusted CA is already the narrowest covering the intended callers: issue those
    /// callers from a dedicated CA and trust only that, or declare the intents that are missing.
    DedicatedCa {
        /// Service whose inbound trust is too wide.
        service: String,
        /// The CA it trusts today.
        ca: String,
        /// How many intended callers the dedicated CA must cover.
        intended: usize,
    },
    /// `service` accepts identities from other environments through `ca`: trust a CA that issues
    /// only `environment` identities instead.
    EnvironmentCa {
        /// Service that accepts too much.
        service: String,
        /// The CA spanning environments.
        ca: String,
        /// The service's own environment.
        environment: String,
    },
    /// Issue `service` a certificate for `usage`, from `ca` when one is known to fit.
    IssueCertificate {
        /// Service that needs it.
        service: String,
        /// Client or server.
        usage: CertUse,
        /// The CA the other end trusts, if any.
        ca: Option<String>,
    },
    /// Add `ca` to `service`'s `side` trust store.
    AddTrust {
        /// Service whose trust store lacks the CA.
        service: String,
        /// The CA to add.
        ca: String,
        /// Which store.
        side: TrustSide,
    },
    /// Renew a certificate issued by a CA in this vault.
    RenewCertificate {
        /// Its service.
        service: String,
        /// The certificate.
        certificate: RecordId,
    },
    /// Import the renewal of a certificate made elsewhere (no CA here can renew it).
    ImportRenewal {
        /// Its service.
        service: String,
    },
    /// The service's current certificate is revoked: issue it a new one.
    ReplaceRevoked {
        /// Its service.
        service: String,
        /// The revoked certificate.
        certificate: RecordId,
        /// The CA that issued the revoked one, if it is in the vault.
        ca: Option<String>,
    },
    /// Replace a certificate with weak crypto by an ECDSA P-256 one.
    ReplaceWeakCertificate {
        /// Its service.
        service: String,
    },
    /// The last exported bundle carries a certificate revoked since: issue a new one and export again.
    ReissueAndExport {
        /// The service whose bundle is stale.
        service: String,
    },
    /// Remove a CA from the vault.
    RemoveCa {
        /// The CA.
        ca: String,
        /// Whether removal is only a suggestion (the CA may still be wanted for later use).
        if_unneeded: bool,
    },
    /// A signing CA has expired: replace it and reissue what it signed.
    ReplaceCa {
        /// The CA.
        ca: String,
    },
    /// A signing CA expires soon: create a successor and move its services.
    SucceedCa {
        /// The CA.
        ca: String,
    },
    /// A trusted (trust-only) CA has expired: stop trusting it and trust its successor.
    ReplaceTrustedCa {
        /// The CA.
        ca: String,
    },
    /// A trusted (trust-only) CA expires soon: trust its successor alongside it.
    TrustSuccessor {
        /// The CA.
        ca: String,
    },
    /// Stop trusting a trust-only CA with weak crypto.
    StopTrusting {
        /// The CA.
        ca: String,
    },
    /// A credential is past its rotation policy: set a new value.
    RotateCredential {
        /// The service holding it.
        service: String,
        /// The credential's name.
        name: String,
    },
    /// Stop accepting tokens of `issuer` for `audience` at `service`.
    RemoveTokenTrust {
        /// The accepting service.
        service: String,
        /// The issuer.
        issuer: String,
        /// The audience.
        audience: String,
    },
    /// Export the service's bundle again (and deploy it): what it trusts changed since.
    ExportAgain {
        /// The service.
        service: String,
    },
    /// Rotate an issuing service's token keys (the next key, published, starts signing).
    RotateTokenKey {
        /// The issuing service.
        issuer: String,
    },
    /// An imported issuer's key is weak: have it publish an asymmetric key and import its JWKS
    /// again.
    ReplaceIssuerKey {
        /// The issuer.
        issuer: String,
        /// The weak key's id.
        kid: String,
    },
    /// Keep one side of a sync conflict (both values are in the credential's history).
    ResolveConflict {
        /// The service holding it.
        service: String,
        /// The credential's name.
        name: String,
        /// The remote it conflicts with.
        remote: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serializes_with_an_action_tag_and_its_data() {
        let r =
            Remedy::RemoveTrust { service: "checkout".into(), ca: "corp-root".into(), instead: Some("prod-ca".into()) };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"action": "remove_trust", "service": "checkout", "ca": "corp-root", "instead": "prod-ca"})
        );
        let r = Remedy::AddTrust { service: "api".into(), ca: "root".into(), side: TrustSide::Outbound };
        assert_eq!(serde_json::to_value(&r).unwrap()["side"], "outbound");
        let r = Remedy::IssueCertificate { service: "api".into(), usage: CertUse::Client, ca: None };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"action": "issue_certificate", "service": "api", "usage": "client", "ca": null})
        );
    }
}
