//! The trust graph, findings, "explain A B" and a CA's blast radius.

use serde::Deserialize;
use tauri::AppHandle;
use vault_data::graph::{Explanation, Finding, FindingOptions, Graph, GraphOptions};

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
}

fn finding_options(state: &crate::state::AppState) -> FindingOptions {
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
        };
        let findings = finding_options(s);
        s.with_vault(|v| v.graph(&opts, findings))
    })
    .await
}

/// Every finding, most severe first.
#[tauri::command]
pub async fn findings_list(app: AppHandle) -> AppResult<Vec<Finding>> {
    blocking(app, |s| {
        let opts = finding_options(s);
        s.with_vault(|v| v.findings(opts))
    })
    .await
}

/// Can `from` reach `to`, how, and was it intended?
#[tauri::command]
pub async fn graph_explain(app: AppHandle, from: String, to: String) -> AppResult<Explanation> {
    blocking(app, move |s| s.with_vault(|v| v.explain(&from, &to))).await
}

/// What CA `ca`'s compromise would expose.
#[tauri::command]
pub async fn graph_blast_radius(app: AppHandle, ca: String) -> AppResult<Finding> {
    blocking(app, move |s| s.with_vault(|v| v.blast_radius(&ca))).await
}
