// Every app command gets its own permission (`allow-<command>`), generated from this list; the
// window's capability grants them through the `keyloom` set in permissions/keyloom.toml. A
// command missing here cannot be invoked from the UI at all.
const COMMANDS: &[&str] = &[
    "app_status",
    "passphrase_strength",
    "vault_create",
    "vault_create_demo",
    "vault_open",
    "vault_unlock",
    "vault_lock",
    "recovery_key_save",
    "recovery_key_done",
    "key_file_pick",
    "device_remember",
    "settings_update",
    "activity",
    "services_list",
    "service_detail",
    "service_create",
    "service_update",
    "service_delete",
    "credentials_list",
    "credential_history",
    "credential_set",
    "credential_generate",
    "credential_reveal",
    "credential_copy",
    "credential_remove",
    "cas_list",
    "ca_create",
    "ca_import",
    "certs_list",
    "cert_detail",
    "cert_issue",
    "cert_renew",
    "cert_revoke",
    "cert_import",
    "certs_renew_expiring",
    "graph_view",
    "findings_list",
    "graph_explain",
    "graph_blast_radius",
    "graph_image_save",
    "trust_set",
    "vault_backup",
    "vault_restore",
    "export_preview",
    "export_run",
    "bundle_verify",
    "audit_list",
    "audit_verify",
    "audit_export",
    "passphrase_change",
    "vault_rekey",
];

fn main() {
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        panic!("tauri build step failed: {e:#}");
    }
}
