// The page's names for the Rust commands. Every function is generated, typed, from the one IPC
// table (src-tauri/src/ipc_table.rs → commands.ts); this file only gives them the names the views
// use, so a changed argument or result type fails svelte-check here or at the call site.
import * as c from "./commands";
import type { FileArg } from "./bindings";

export { asIpcError } from "./ipc";

export const api = {
  status: c.appStatus,
  strength: c.passphraseStrength,
  create: c.vaultCreate,
  createDemo: c.vaultCreateDemo,
  open: c.vaultOpen,
  unlock: c.vaultUnlock,
  lock: c.vaultLock,
  quit: c.appQuit,
  saveRecoveryKey: c.recoveryKeySave,
  recoveryKeyDone: c.recoveryKeyDone,
  rememberDevice: c.deviceRemember,
  pickKeyFile: c.keyFilePick,
  updateSettings: c.settingsUpdate,
  activity: c.activity,

  services: c.servicesList,
  service: c.serviceDetail,
  createService: c.serviceCreate,
  updateService: c.serviceUpdate,
  deleteService: c.serviceDelete,

  credentials: c.credentialsList,
  credentialHistory: c.credentialHistory,
  setCredential: c.credentialSet,
  generateCredential: c.credentialGenerate,
  reveal: c.credentialReveal,
  copy: c.credentialCopy,
  removeCredential: c.credentialRemove,
  renameCredential: c.credentialRename,
  setCredentialPolicy: c.credentialPolicy,

  cas: c.casList,
  createCa: c.caCreate,
  importCas: c.caImport,

  certs: c.certsList,
  cert: c.certDetail,
  issueDefaults: c.certIssueDefaults,
  issueCert: c.certIssue,
  renewCert: c.certRenew,
  revokeCert: c.certRevoke,
  importCert: c.certImport,
  renewExpiring: c.certsRenewExpiring,

  graph: c.graphView,
  findings: c.findingsList,
  explain: c.graphExplain,
  blastRadius: c.graphBlastRadius,
  saveGraphImage: c.graphImageSave,
  setTrust: c.trustSet,
  trustImpact: c.trustImpact,
  addIntent: c.intentAdd,
  removeIntent: c.intentRemove,

  exportPreview: c.exportPreview,
  exportRun: c.exportRun,
  verifyBundle: c.bundleVerify,

  audit: c.auditList,

  remotes: c.remotesList,
  addRemote: c.remoteAdd,
  remoteStatus: c.remoteStatus,
  removeRemote: c.remoteRemove,
  syncRemote: c.remoteSync,
  conflicts: c.conflictsList,
  resolveConflict: c.conflictResolve,
  remoteIdentity: c.remoteIdentity,
  remoteMembers: c.remoteMembers,
  addMember: c.remoteMemberAdd,
  removeMember: c.remoteMemberRemove,
  rotateTokenKey: c.tokenRotate,
  untrustToken: c.tokenUntrust,
  verifyAudit: c.auditVerify,
  exportAudit: c.auditExport,

  changePassphrase: c.passphraseChange,
  rekey: c.vaultRekey,
  backup: c.vaultBackup,
  restore: c.vaultRestore,
};

/** Reads a picked or dropped file into the shape the import commands take. */
export async function readFile(file: File): Promise<FileArg> {
  const buffer = await file.arrayBuffer();
  return { name: file.name, bytes: Array.from(new Uint8Array(buffer)) };
}
