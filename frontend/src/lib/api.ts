// Typed calls to the Rust commands. Argument and result types come from bindings.ts, which is
// generated from the Rust types; this file only names the commands.
import { Channel, invoke } from "@tauri-apps/api/core";
import type {
  AppStatus,
  CaCreateArgs,
  CaView,
  CertDetail,
  CertIssueArgs,
  CertView,
  Charset,
  CopyReceipt,
  CreatedVault,
  CreateVaultArgs,
  Credential,
  CredentialTarget,
  FileArg,
  IpcError,
  Progress,
  AuditEntry,
  AuditReport,
  BundleCheck,
  BundlePreview,
  ExportArgs,
  ExportSummary,
  Explanation,
  Finding,
  Graph,
  GraphQuery,
  RekeyArgs,
  RekeyOutcome,
  RestoreArgs,
  TrustView,
  Reason,
  RevealedSecret,
  SecretSummary,
  Service,
  ServiceDetail,
  ServiceEditArgs,
  ServiceSpec,
  Settings,
  Strength,
  UnlockArgs,
  UnlockOutcome,
} from "./bindings";

/** Turns whatever a failed call threw into the `{code, message}` shape Rust sends. */
export function asIpcError(e: unknown): IpcError {
  if (typeof e === "object" && e !== null && "code" in e && "message" in e) {
    const { code, message } = e as { code: unknown; message: unknown };
    if (typeof code === "string" && typeof message === "string") return { code, message };
  }
  if (typeof e === "string") return { code: "internal", message: e };
  if (e instanceof Error) return { code: "internal", message: e.message };
  return { code: "internal", message: "something went wrong" };
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (e) {
    throw asIpcError(e);
  }
}

export const api = {
  status: () => call<AppStatus>("app_status"),
  strength: (passphrase: string) => call<Strength>("passphrase_strength", { passphrase }),
  create: (args: CreateVaultArgs) => call<CreatedVault>("vault_create", { args }),
  createDemo: () => call<AppStatus>("vault_create_demo"),
  open: (path: string) => call<AppStatus>("vault_open", { path }),
  unlock: (args: UnlockArgs) => call<UnlockOutcome>("vault_unlock", { args }),
  lock: () => call<AppStatus>("vault_lock"),
  saveRecoveryKey: () => call<string | null>("recovery_key_save"),
  recoveryKeyDone: () => call<null>("recovery_key_done"),
  rememberDevice: (enabled: boolean, current: string | null, keyFile: string | null = null) =>
    call<AppStatus>("device_remember", { enabled, current, keyFile }),
  pickKeyFile: () => call<string | null>("key_file_pick"),
  updateSettings: (settings: Settings) => call<Settings>("settings_update", { settings }),
  activity: () => call<null>("activity"),

  services: () => call<Service[]>("services_list"),
  service: (name: string) => call<ServiceDetail>("service_detail", { name }),
  createService: (spec: ServiceSpec) => call<Service>("service_create", { spec }),
  updateService: (args: ServiceEditArgs) => call<Service>("service_update", { args }),
  deleteService: (name: string, force: boolean) => call<null>("service_delete", { name, force }),

  credentials: () => call<SecretSummary[]>("credentials_list"),
  credentialHistory: (service: string, name: string) => call<Credential>("credential_history", { service, name }),
  setCredential: (credential: CredentialTarget, value: string) =>
    call<SecretSummary>("credential_set", { credential, value }),
  generateCredential: (credential: CredentialTarget, length: number, charset: Charset) =>
    call<SecretSummary>("credential_generate", { credential, length, charset }),
  reveal: (service: string, name: string, version: number | null) =>
    call<RevealedSecret>("credential_reveal", { service, name, version }),
  copy: (service: string, name: string, version: number | null) =>
    call<CopyReceipt>("credential_copy", { service, name, version }),
  removeCredential: (service: string, name: string) => call<null>("credential_remove", { service, name }),

  cas: () => call<CaView[]>("cas_list"),
  createCa: (args: CaCreateArgs) => call<CaView>("ca_create", { args }),
  importCas: (file: FileArg) => call<CaView[]>("ca_import", { file }),

  certs: () => call<CertView[]>("certs_list"),
  cert: (id: string) => call<CertDetail>("cert_detail", { id }),
  issueCert: (args: CertIssueArgs) => call<CertView>("cert_issue", { args }),
  renewCert: (id: string, rotateKey: boolean) => call<CertView>("cert_renew", { id, rotateKey }),
  revokeCert: (id: string, reason: Reason) => call<CertView>("cert_revoke", { id, reason }),
  importCert: (service: string, cert: FileArg, key: FileArg) => call<CertView>("cert_import", { service, cert, key }),
  renewExpiring: (withinDays: number, rotateKey: boolean, onProgress: (p: Progress) => void) => {
    const channel = new Channel<Progress>();
    channel.onmessage = onProgress;
    return call<CertView[]>("certs_renew_expiring", { withinDays, rotateKey, onProgress: channel });
  },

  graph: (query: GraphQuery) => call<Graph>("graph_view", { query }),
  findings: () => call<Finding[]>("findings_list"),
  explain: (from: string, to: string) => call<Explanation>("graph_explain", { from, to }),
  blastRadius: (ca: string) => call<Finding>("graph_blast_radius", { ca }),
  saveGraphImage: (fileName: string, contents: string, base64: boolean) =>
    call<string | null>("graph_image_save", { fileName, contents, base64 }),
  setTrust: (service: string, ca: string, inbound: boolean, add: boolean) =>
    call<TrustView>("trust_set", { service, ca, inbound, add }),

  exportPreview: (args: ExportArgs) => call<BundlePreview[]>("export_preview", { args }),
  exportRun: (args: ExportArgs, destination: string, onProgress: (p: Progress) => void) => {
    const channel = new Channel<Progress>();
    channel.onmessage = onProgress;
    return call<ExportSummary>("export_run", { args, destination, onProgress: channel });
  },
  verifyBundle: (path: string) => call<BundleCheck>("bundle_verify", { path }),

  audit: () => call<AuditEntry[]>("audit_list"),
  verifyAudit: () => call<AuditReport>("audit_verify"),
  exportAudit: () => call<string | null>("audit_export"),

  changePassphrase: (current: string, passphrase: string, confirm: string, keyFile: string | null = null) =>
    call<null>("passphrase_change", { current, passphrase, confirm, keyFile }),
  rekey: (args: RekeyArgs) => call<RekeyOutcome>("vault_rekey", { args }),
  backup: (passphrase: string, confirm: string) => call<string | null>("vault_backup", { passphrase, confirm }),
  restore: (args: RestoreArgs) => call<AppStatus>("vault_restore", { args }),
};

/** Reads a picked or dropped file into the shape the import commands take. */
export async function readFile(file: File): Promise<FileArg> {
  const buffer = await file.arrayBuffer();
  return { name: file.name, bytes: Array.from(new Uint8Array(buffer)) };
}
