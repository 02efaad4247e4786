//! Certificates: list, inspect, issue, renew (one or all expiring, with progress), revoke, import.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::AppHandle;
use vault_data::pki::crl::Reason;
use vault_data::pki::KeyType;
use vault_data::{CertView, IssueDefaults, IssueRequest};

use crate::commands::authorities::FileArg;
use crate::error::{AppError, AppResult};
use crate::state::blocking;

/// Every certificate, every status.
#[tauri::command]
pub async fn certs_list(app: AppHandle) -> AppResult<Vec<CertView>> {
    blocking(app, |s| s.with_vault(|v| v.certs().list(None))).await
}

/// A certificate with its PEM chain (public data).
#[derive(Serialize, ts_rs::TS)]
pub struct CertDetail {
    /// The certificate.
    pub cert: CertView,
    /// Leaf and issuing chain, PEM.
    pub pem_chain: String,
}

/// One certificate's fields and PEM.
#[tauri::command]
pub async fn cert_detail(app: AppHandle, id: String) -> AppResult<CertDetail> {
    blocking(app, move |s| {
        s.with_vault(|v| Ok(CertDetail { cert: v.certs().get(&id)?, pem_chain: v.certs().pem(&id, true)? }))
    })
    .await
}

/// The "issue certificate" form.
#[derive(Deserialize, ts_rs::TS)]
pub struct CertIssueArgs {
    /// Service receiving it.
    pub service: String,
    /// Issuing CA.
    pub ca: String,
    /// DNS SANs.
    pub dns: Vec<String>,
    /// IP SANs.
    pub ips: Vec<String>,
    /// URI SANs.
    pub uris: Vec<String>,
    /// serverAuth EKU.
    pub server: bool,
    /// clientAuth EKU.
    pub client: bool,
    /// Validity in days.
    pub validity_days: u32,
    /// Key algorithm.
    pub key_type: KeyType,
}

/// Where the issue form starts for `service`: its environment's issuing CA and its SPIFFE ID.
#[tauri::command]
pub async fn cert_issue_defaults(app: AppHandle, service: String) -> AppResult<IssueDefaults> {
    blocking(app, move |s| s.with_vault(|v| v.certs().defaults(&service))).await
}

/// Issues a certificate with a new key.
#[tauri::command]
pub async fn cert_issue(app: AppHandle, args: CertIssueArgs) -> AppResult<CertView> {
    let ips = args
        .ips
        .iter()
        .map(|ip| ip.trim().parse::<IpAddr>().map_err(|_| AppError::Invalid(format!("{ip:?} is not an IP address"))))
        .collect::<AppResult<Vec<_>>>()?;
    let req = IssueRequest {
        dns: args.dns,
        ips,
        uris: args.uris,
        server: args.server,
        client: args.client,
        validity_days: args.validity_days,
        not_before: None,
        key_type: args.key_type,
    };
    blocking(app, move |s| s.with_vault(|v| v.certs_mut().issue(&args.service, &args.ca, &req))).await
}

/// Renews a certificate, keeping or rotating its key.
#[tauri::command]
pub async fn cert_renew(app: AppHandle, id: String, rotate_key: bool) -> AppResult<CertView> {
    blocking(app, move |s| s.with_vault(|v| v.certs_mut().renew(&id, rotate_key))).await
}

/// Revokes a certificate; its CA's next CRL lists it.
#[tauri::command]
pub async fn cert_revoke(app: AppHandle, id: String, reason: Reason) -> AppResult<CertView> {
    blocking(app, move |s| s.with_vault(|v| v.certs_mut().revoke(&id, reason))).await
}

/// Imports a certificate and its private key for a service.
#[tauri::command]
pub async fn cert_import(app: AppHandle, service: String, cert: FileArg, key: FileArg) -> AppResult<CertView> {
    blocking(app, move |s| {
        s.with_vault(|v| v.certs_mut().import(&cert.bytes, &cert.name, &key.bytes, &key.name, &service))
    })
    .await
}

/// Progress of a bulk operation.
#[derive(Clone, Serialize, ts_rs::TS)]
pub struct Progress {
    /// Items done.
    pub done: usize,
    /// Items in all.
    pub total: usize,
}

/// Renews every active certificate expiring within `within_days`, in one durable operation,
/// streaming progress to the window.
#[tauri::command]
pub async fn certs_renew_expiring(
    app: AppHandle,
    within_days: u32,
    rotate_key: bool,
    on_progress: Channel<Progress>,
) -> AppResult<Vec<CertView>> {
    let within = time::Duration::days(i64::from(within_days));
    blocking(app, move |s| {
        let report = |done: usize, total: usize| {
            let _ = on_progress.send(Progress { done, total });
        };
        s.with_vault(|v| v.certs_mut().renew_expiring(within, rotate_key, &report))
    })
    .await
}
