//! The trust graph, findings, "explain A B" and a CA's blast radius.

use serde::Deserialize;
use tauri::AppHandle;
use vault_data::graph::{Explanation, Finding, FindingKind, FindingOptions, Graph, GraphOptions};

use crate::error::AppResult;
use crate::state::{blocking, lock};

/// Which part of the graph to draw.
#[derive(Deserialize, ts_rs::TS)]
pub struct GraphQuery {
    /// Only services of this environment (and the CAs they touch).
    pub environment: Option<String>,
    /// Only the neighbourhood of this service...
    pub service: Option<String>,
    /// ...up to this many hops.
    pub depth: Option<usize>,
    /// Only services with this tag (`key=value` or `key`).
    pub tag: Option<String>,
    /// Only what findings of this kind name.
    pub finding_kind: Option<FindingKind>,
    /// Every pair that can talk by mTLS as its own edge (slow for big views), not just the
    /// intended and credential pairs.
    pub all_mtls_pairs: bool,
}

pub(crate) fn finding_options(state: &crate::state::AppState) -> FindingOptions {
    let days = lock(&state.settings).expiry_warning_days;
    FindingOptions { expiring_within: time::Duration::days(i64::from(days)) }
}

/// The graph (or a slice of it) with every finding.
#[tauri::command]
pub async fn graph_view(app: AppHandle, query: GraphQuery) -> AppResult<Graph> {
    blocking(app, move |s| {
        let opts = GraphOptions {
            environment: query.environment.filter(|e| !e.is_empty()),
            service: query.service.filter(|e| !e.is_empty()),
            depth: query.depth,
            tag: query.tag.filter(|t| !t.trim().is_empty()),
            finding_kind: query.finding_kind,
            all_mtls_pairs: query.all_mtls_pairs,
        };
        let findings = finding_options(s);
        s.with_vault(|v| v.graph().view(&opts, findings))
    })
    .await
}

/// Every finding, most severe first.
#[tauri::command]
pub async fn findings_list(app: AppHandle) -> AppResult<Vec<Finding>> {
    blocking(app, |s| {
        let opts = finding_options(s);
        s.with_vault(|v| v.graph().findings(opts))
    })
    .await
}

/// Can `from` reach `to`, how, and was it intended?
#[tauri::command]
pub async fn graph_explain(app: AppHandle, from: String, to: String) -> AppResult<Explanation> {
    blocking(app, move |s| s.with_vault(|v| v.graph().explain(&from, &to))).await
}

/// What CA `ca`'s compromise would expose.
#[tauri::command]
pub async fn graph_blast_radius(app: AppHandle, ca: String) -> AppResult<Finding> {
    blocking(app, move |s| s.with_vault(|v| v.graph().blast_radius(&ca))).await
}

/// Saves the drawn graph as an image: asks where (a dialog opened from Rust) and writes
/// `contents` there (SVG text, or PNG as base64). Returns the path, or None when cancelled.
#[tauri::command]
pub async fn graph_image_save(
    app: AppHandle,
    file_name: String,
    contents: String,
    base64: bool,
) -> AppResult<Option<String>> {
    use base64::Engine;
    let bytes = if base64 {
        base64::engine::general_purpose::STANDARD
            .decode(contents.trim())
            .map_err(|_| crate::error::AppError::Invalid("the image data is not valid base64".into()))?
    } else {
        contents.into_bytes()
    };
    let picked = crate::dialogs::file_dialog(&app, "Save the graph").set_file_name(&file_name).blocking_save_file();
    let Some(path) = picked else { return Ok(None) };
    let path = path.into_path().map_err(|e| crate::error::AppError::Invalid(format!("cannot save there: {e}")))?;
    blocking(app, move |_| {
        vault_data::paths::write_private_file(&path, &bytes)?;
        Ok(Some(path.display().to_string()))
    })
    .await
}
