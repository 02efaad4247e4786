//! Services: list, detail, create, edit, delete.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tauri::AppHandle;
use vault_data::graph::Finding;
use vault_data::{CertView, IntentView, SecretSummary, Service, ServiceSpec, ServiceUpdate, TrustView};

use crate::error::AppResult;
use crate::state::blocking;

/// Every service.
#[tauri::command]
pub async fn services_list(app: AppHandle) -> AppResult<Vec<Service>> {
    blocking(app, |s| s.with_vault(|v| v.services().list())).await
}

/// A service with everything that hangs off it.
#[derive(Serialize, ts_rs::TS)]
pub struct ServiceDetail {
    /// The service.
    pub service: Service,
    /// Its certificates, every status.
    pub certificates: Vec<CertView>,
    /// Its credentials (metadata only).
    pub credentials: Vec<SecretSummary>,
    /// Its inbound and outbound trust stores, by CA name.
    pub trust: TrustView,
    /// Intents from or to it.
    pub intents: Vec<IntentView>,
    /// Findings that name it, most severe first: the page shows what a trust or intent change did.
    pub findings: Vec<Finding>,
    /// How it stands with each remote it was synced with.
    pub sync: Vec<vault_data::ServiceSync>,
    /// Its token signing keys, when it issues tokens (public parts).
    pub token_keys: Vec<vault_data::TokenKeyView>,
    /// Tokens it gets and accepts.
    pub token_grants: Vec<vault_data::GrantView>,
    /// What its clients pin (current key, next key, issuing CA), when it has a server certificate.
    pub pins: Option<vault_data::PinSet>,
}

/// One service's detail page.
#[tauri::command]
pub async fn service_detail(app: AppHandle, name: String) -> AppResult<ServiceDetail> {
    blocking(app, move |s| {
        let finding_options = super::graph::finding_options(s);
        s.with_vault(|v| {
            let service = v.services().get(&name)?;
            let certificates =
                v.certs().list(None)?.into_iter().filter(|c| c.service.as_deref() == Some(&name)).collect();
            let findings = v
                .graph()
                .findings(finding_options)?
                .into_iter()
                .filter(|f| f.entities.iter().any(|e| e.kind == "service" && e.id == service.id))
                .collect();
            Ok(ServiceDetail {
                findings,
                certificates,
                credentials: v.secrets().list(Some(&name))?,
                trust: v.trust().of(&name)?,
                intents: v.intents().list(Some(&name))?,
                sync: v.remotes().service_sync(&name)?,
                token_keys: v.tokens().keys(Some(&name))?,
                token_grants: v.tokens().grants(Some(&name))?,
                pins: v.certs().pins(&name).ok(),
                service,
            })
        })
    })
    .await
}

/// Adds a service.
#[tauri::command]
pub async fn service_create(app: AppHandle, spec: ServiceSpec) -> AppResult<Service> {
    blocking(app, move |s| s.with_vault(|v| v.services_mut().add(spec))).await
}

/// The edit form: the whole new state of the editable fields.
#[derive(Deserialize, ts_rs::TS)]
pub struct ServiceEditArgs {
    /// The service to edit.
    pub name: String,
    /// Environment.
    pub environment: String,
    /// Owner; empty or absent clears it.
    pub owner: Option<String>,
    /// Tags, replacing the current ones.
    pub tags: BTreeMap<String, String>,
    /// SPIFFE ID; empty or absent clears it.
    pub spiffe_id: Option<String>,
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

/// Saves the edit form.
#[tauri::command]
pub async fn service_update(app: AppHandle, args: ServiceEditArgs) -> AppResult<Service> {
    blocking(app, move |s| {
        s.with_vault(|v| {
            let current = v.services().get(&args.name)?;
            let remove_tags = current.tags.keys().filter(|k| !args.tags.contains_key(*k)).cloned().collect();
            let update = ServiceUpdate {
                environment: Some(args.environment),
                owner: Some(non_empty(args.owner)),
                set_tags: args.tags,
                remove_tags,
                spiffe_id: Some(non_empty(args.spiffe_id)),
            };
            v.services_mut().update(&args.name, update)
        })
    })
    .await
}

/// Deletes a service; refused while active certificates, credentials or intents refer to it
/// unless `force`, which removes those secrets and intents and revokes those certificates (the
/// same rule as `keyloom service remove`).
#[tauri::command]
pub async fn service_delete(app: AppHandle, name: String, force: bool) -> AppResult<()> {
    blocking(app, move |s| s.with_vault(|v| v.services_mut().remove(&name, force).map(|_| ()))).await
}
