//! The TypeScript types of everything that crosses IPC, generated from the Rust types with ts-rs
//! into `frontend/src/lib/bindings.ts`. A unit test fails when the committed file is stale;
//! `KEYLOOM_UPDATE_BINDINGS=1 cargo test -p keyloom-desktop bindings` rewrites it.

use ts_rs::{Config, TS};

use crate::clipboard::CopyReceipt;
use crate::commands::authorities::{CaCreateArgs, FileArg};
use crate::commands::backup::RestoreArgs;
use crate::commands::certificates::{CertDetail, CertIssueArgs, Progress};
use crate::commands::credentials::{CredentialTarget, RevealedSecret};
use crate::commands::export::{ExportArgs, ExportSummary};
use crate::commands::graph::GraphQuery;
use crate::commands::keys::{RekeyArgs, RekeyOutcome};
use crate::commands::services::{ServiceDetail, ServiceEditArgs};
use crate::commands::vault::{AppStatus, CreateVaultArgs, CreatedVault, UnlockArgs, UnlockOutcome};
use crate::error::IpcError;
use crate::settings::Settings;

fn decl<T: TS>(cfg: &Config) -> String {
    format!("export {}", T::decl(cfg))
}

/// The whole bindings file.
pub fn typescript() -> String {
    use vault_data::audit::{AuditEntry, AuditObject, AuditProblem, AuditReport, Outcome};
    use vault_data::export::BundleCheck;
    use vault_data::graph::{
        CertUse, Edge, EdgeKind, EntityRef, EnvironmentInfo, Evidence, Explanation, Finding, FindingKind, Graph, Node,
        NodeKind, Remedy, Severity, TrustImpact, TrustSide,
    };
    use vault_data::model::certificate::{CertStatus, Revocation};
    use vault_data::pki::crl::Reason;
    use vault_data::pki::{CertInfo, KeyType, NameConstraintsSpec};
    use vault_data::vault::Counts;
    use vault_data::{BundlePreview, PreviewFile};
    use vault_data::{
        CaView, CertView, Charset, Credential, CredentialVersion, IntentView, IssueDefaults, RecordId, SecretSummary,
        Service, ServiceSpec, SlotInfo, SlotKind, Strength, TrustView, VaultStatus,
    };
    let cfg = Config::default();
    let decls = [
        // vault_data
        decl::<RecordId>(&cfg),
        decl::<VaultStatus>(&cfg),
        decl::<vault_data::FailedUnlocks>(&cfg),
        decl::<SlotInfo>(&cfg),
        decl::<SlotKind>(&cfg),
        decl::<Counts>(&cfg),
        decl::<Strength>(&cfg),
        decl::<Service>(&cfg),
        decl::<ServiceSpec>(&cfg),
        decl::<SecretSummary>(&cfg),
        decl::<Credential>(&cfg),
        decl::<CredentialVersion>(&cfg),
        decl::<Charset>(&cfg),
        decl::<CaView>(&cfg),
        decl::<vault_data::CaLink>(&cfg),
        decl::<NameConstraintsSpec>(&cfg),
        decl::<CertInfo>(&cfg),
        decl::<KeyType>(&cfg),
        decl::<CertView>(&cfg),
        decl::<CertStatus>(&cfg),
        decl::<Revocation>(&cfg),
        decl::<Reason>(&cfg),
        decl::<IntentView>(&cfg),
        decl::<IssueDefaults>(&cfg),
        decl::<TrustView>(&cfg),
        decl::<TrustImpact>(&cfg),
        decl::<Graph>(&cfg),
        decl::<EnvironmentInfo>(&cfg),
        decl::<Node>(&cfg),
        decl::<NodeKind>(&cfg),
        decl::<Edge>(&cfg),
        decl::<EdgeKind>(&cfg),
        decl::<Evidence>(&cfg),
        decl::<vault_data::graph::TokenEvidence>(&cfg),
        decl::<Finding>(&cfg),
        decl::<Remedy>(&cfg),
        decl::<TrustSide>(&cfg),
        decl::<CertUse>(&cfg),
        decl::<FindingKind>(&cfg),
        decl::<Severity>(&cfg),
        decl::<EntityRef>(&cfg),
        decl::<Explanation>(&cfg),
        decl::<AuditEntry>(&cfg),
        decl::<AuditObject>(&cfg),
        decl::<Outcome>(&cfg),
        decl::<AuditReport>(&cfg),
        decl::<AuditProblem>(&cfg),
        decl::<BundlePreview>(&cfg),
        decl::<PreviewFile>(&cfg),
        decl::<BundleCheck>(&cfg),
        // the desktop app's own
        decl::<IpcError>(&cfg),
        decl::<vault_data::ErrorCode>(&cfg),
        decl::<vault_data::ErrorHint>(&cfg),
        crate::error::ipc_error_code_decl(),
        decl::<Settings>(&cfg),
        decl::<AppStatus>(&cfg),
        decl::<CreateVaultArgs>(&cfg),
        decl::<CreatedVault>(&cfg),
        decl::<UnlockArgs>(&cfg),
        decl::<UnlockOutcome>(&cfg),
        decl::<ServiceDetail>(&cfg),
        decl::<crate::commands::intents::IntentAdded>(&cfg),
        decl::<crate::commands::remotes::RemoteAddArgs>(&cfg),
        decl::<vault_data::RemoteView>(&cfg),
        decl::<vault_data::RemoteStatus>(&cfg),
        decl::<vault_data::remote::ServerStatus>(&cfg),
        decl::<vault_data::SealIdentity>(&cfg),
        decl::<vault_data::MemberView>(&cfg),
        decl::<vault_data::MemberRemoval>(&cfg),
        decl::<vault_data::TlsSynced>(&cfg),
        decl::<vault_data::TokenKeyView>(&cfg),
        decl::<vault_data::PinSet>(&cfg),
        decl::<vault_data::GrantView>(&cfg),
        decl::<vault_data::model::token::TokenAlg>(&cfg),
        decl::<vault_data::model::token::KeyRole>(&cfg),
        decl::<vault_data::model::token::GrantSide>(&cfg),
        decl::<vault_data::SyncMode>(&cfg),
        decl::<vault_data::SyncReport>(&cfg),
        decl::<vault_data::SyncItem>(&cfg),
        decl::<vault_data::SyncFailure>(&cfg),
        decl::<vault_data::ConflictView>(&cfg),
        decl::<vault_data::ServiceSync>(&cfg),
        decl::<vault_data::Take>(&cfg),
        decl::<ServiceEditArgs>(&cfg),
        decl::<CredentialTarget>(&cfg),
        decl::<RevealedSecret>(&cfg),
        decl::<CopyReceipt>(&cfg),
        decl::<CaCreateArgs>(&cfg),
        decl::<FileArg>(&cfg),
        decl::<CertIssueArgs>(&cfg),
        decl::<CertDetail>(&cfg),
        decl::<Progress>(&cfg),
        decl::<GraphQuery>(&cfg),
        decl::<ExportArgs>(&cfg),
        decl::<ExportSummary>(&cfg),
        decl::<RekeyArgs>(&cfg),
        decl::<RekeyOutcome>(&cfg),
        decl::<RestoreArgs>(&cfg),
    ];
    let mut out = String::from(
        "// Generated from the Rust types by src-tauri/src/bindings.rs (ts-rs). Do not edit.\n\
         // Regenerate: KEYLOOM_UPDATE_BINDINGS=1 cargo test -p keyloom-desktop bindings\n\n",
    );
    for d in decls {
        out.push_str(&d);
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn bindings_are_fresh() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../frontend/src/lib/bindings.ts");
        let generated = super::typescript();
        if std::env::var_os("KEYLOOM_UPDATE_BINDINGS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "frontend/src/lib/bindings.ts is stale: run KEYLOOM_UPDATE_BINDINGS=1 cargo test -p keyloom-desktop bindings"
        );
    }
}
