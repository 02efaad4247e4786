// The IPC contract, declared once: every command the window may call, its arguments and result
// (ts-rs types), and whether it runs while the vault is locked. This file is read twice:
// - by src/ipc.rs, whose `ipc_table!` generates the handler list, the lock gate's list and the
//   TypeScript command functions (frontend/src/lib/commands.ts) and permission set
//   (permissions/keyloom.toml), both checked by a test that fails when they drift;
// - by build.rs, whose `ipc_table!` takes only the names, for Tauri's per-command permissions.
// A command that takes a progress channel says `progress(T)`: the page passes a callback.
ipc_table! {
    vault::app_status() -> AppStatus, locked;
    vault::passphrase_strength(passphrase: String) -> Strength, locked;
    vault::vault_create(args: CreateVaultArgs) -> CreatedVault, locked;
    vault::vault_create_demo() -> AppStatus, locked;
    vault::vault_open(path: String) -> AppStatus, locked;
    vault::vault_unlock(args: UnlockArgs) -> UnlockOutcome, locked;
    vault::key_file_pick() -> Option<String>, locked;
    vault::vault_lock() -> AppStatus, unlocked;
    vault::app_quit() -> (), locked;
    vault::recovery_key_save() -> Option<String>, unlocked;
    vault::recovery_key_done() -> (), unlocked;
    vault::device_remember(enabled: bool, current: Option<String>, key_file: Option<String>) -> AppStatus, unlocked;
    vault::settings_update(settings: Settings) -> Settings, unlocked;
    vault::activity() -> (), unlocked;
    services::services_list() -> Vec<Service>, unlocked;
    services::service_detail(name: String) -> ServiceDetail, unlocked;
    services::service_create(spec: ServiceSpec) -> Service, unlocked;
    services::service_update(args: ServiceEditArgs) -> Service, unlocked;
    services::service_delete(name: String, force: bool) -> (), unlocked;
    credentials::credentials_list() -> Vec<SecretSummary>, unlocked;
    credentials::credential_history(service: String, name: String) -> Credential, unlocked;
    credentials::credential_set(credential: CredentialTarget, value: String) -> SecretSummary, unlocked;
    credentials::credential_generate(credential: CredentialTarget, length: usize, charset: Charset) -> SecretSummary, unlocked;
    credentials::credential_reveal(service: String, name: String, version: Option<u32>) -> RevealedSecret, unlocked;
    credentials::credential_copy(service: String, name: String, version: Option<u32>) -> CopyReceipt, unlocked;
    credentials::credential_remove(service: String, name: String) -> (), unlocked;
    credentials::credential_rename(service: String, name: String, new_name: String) -> SecretSummary, unlocked;
    credentials::credential_policy(service: String, name: String, target: Option<String>, rotate_days: Option<u32>) -> SecretSummary, unlocked;
    authorities::cas_list() -> Vec<CaView>, unlocked;
    authorities::ca_create(args: CaCreateArgs) -> CaView, unlocked;
    authorities::ca_import(file: FileArg) -> Vec<CaView>, unlocked;
    certificates::certs_list() -> Vec<CertView>, unlocked;
    certificates::cert_detail(id: String) -> CertDetail, unlocked;
    certificates::cert_issue_defaults(service: String) -> IssueDefaults, unlocked;
    certificates::cert_issue(args: CertIssueArgs) -> CertView, unlocked;
    certificates::cert_renew(id: String, rotate_key: bool) -> CertView, unlocked;
    certificates::cert_revoke(id: String, reason: Reason) -> CertView, unlocked;
    certificates::cert_import(service: String, cert: FileArg, key: FileArg) -> CertView, unlocked;
    certificates::certs_renew_expiring(within_days: u32, rotate_key: bool) progress(Progress) -> Vec<CertView>, unlocked;
    graph::graph_view(query: GraphQuery) -> Graph, unlocked;
    graph::findings_list() -> Vec<Finding>, unlocked;
    graph::graph_explain(from: String, to: String) -> Explanation, unlocked;
    graph::graph_blast_radius(ca: String) -> Finding, unlocked;
    graph::graph_image_save(file_name: String, contents: String, base64: bool) -> Option<String>, unlocked;
    trust::trust_set(service: String, ca: String, inbound: bool, add: bool) -> TrustView, unlocked;
    trust::trust_impact(service: String, ca: String, inbound: bool, add: bool) -> TrustImpact, unlocked;
    intents::intent_add(from: String, to: String, note: Option<String>) -> IntentAdded, unlocked;
    intents::intent_remove(from: String, to: String) -> (), unlocked;
    backup::vault_backup(passphrase: String, confirm: String) -> Option<String>, unlocked;
    backup::vault_restore(args: RestoreArgs) -> AppStatus, locked;
    export::export_preview(args: ExportArgs) -> Vec<BundlePreview>, unlocked;
    export::export_run(args: ExportArgs, destination: String) progress(Progress) -> ExportSummary, unlocked;
    export::bundle_verify(path: String) -> BundleCheck, unlocked;
    audit::audit_list() -> Vec<AuditEntry>, unlocked;
    audit::audit_verify() -> AuditReport, unlocked;
    audit::audit_export() -> Option<String>, unlocked;
    keys::passphrase_change(current: String, passphrase: String, confirm: String, key_file: Option<String>) -> (), unlocked;
    keys::vault_rekey(args: RekeyArgs) -> RekeyOutcome, unlocked;
    remotes::remotes_list() -> Vec<RemoteView>, unlocked;
    remotes::remote_add(args: RemoteAddArgs) -> RemoteView, unlocked;
    remotes::remote_status(name: String) -> RemoteStatus, unlocked;
    remotes::remote_remove(name: String) -> (), unlocked;
    remotes::remote_sync(name: String, mode: SyncMode, environment: Option<String>, dry_run: bool) progress(Progress) -> SyncReport, unlocked;
    remotes::conflicts_list() -> Vec<ConflictView>, unlocked;
    remotes::conflict_resolve(secret: String, remote: String, take: Take) -> ConflictView, unlocked;
    remotes::remote_identity(name: String) -> SealIdentity, unlocked;
    remotes::remote_members(name: String) -> Vec<MemberView>, unlocked;
    remotes::remote_member_add(name: String, member: String, recipient: Option<String>, signing_key: Option<String>) -> MemberView, unlocked;
    remotes::remote_member_remove(name: String, member: String) -> MemberRemoval, unlocked;
    tokens::token_rotate(service: String) -> Vec<TokenKeyView>, unlocked;
    tokens::token_untrust(service: String, issuer: String, audience: String) -> GrantView, unlocked;
}
