// Generated from the Rust types by src-tauri/src/bindings.rs (ts-rs). Do not edit.
// Regenerate: KEYLOOM_UPDATE_BINDINGS=1 cargo test -p keyloom-desktop bindings

export type RecordId = string;

export type VaultStatus = { 
/**
 * The vault's random id (hex).
 */
vault_id: string, 
/**
 * On-disk format version.
 */
format_version: number, 
/**
 * The vault directory.
 */
path: string, 
/**
 * Whether this handle is unlocked.
 */
locked: boolean, 
/**
 * Unlock slots.
 */
slots: Array<SlotInfo>, 
/**
 * Record counts (known only when unlocked).
 */
counts: Counts | null, 
/**
 * Audit entries recorded so far (known only when unlocked).
 */
audit_entries: number | null, 
/**
 * Whether this is a demo vault made by `keyloom demo`.
 */
demo: boolean, };

export type SlotInfo = { 
/**
 * The slot's id.
 */
id: RecordId, 
/**
 * Its kind.
 */
kind: SlotKind, 
/**
 * When it was made.
 */
created: string, 
/**
 * When it stops working (sessions only).
 */
expires: string | null, };

export type SlotKind = "passphrase" | "recovery" | "device" | "session";

export type Counts = { 
/**
 * Services.
 */
services: number, 
/**
 * Credentials.
 */
credentials: number, 
/**
 * Credential versions (each a sealed payload).
 */
credential_versions: number, 
/**
 * Intents.
 */
intents: number, 
/**
 * Certificate authorities.
 */
cas: number, 
/**
 * Certificates (all statuses).
 */
certificates: number, };

export type Strength = { 
/**
 * 0 (trivial) to 4 (very strong).
 */
score: number, 
/**
 * log10 of the estimated guesses needed.
 */
guesses_log10: number, 
/**
 * A hint to make it stronger, if zxcvbn has one.
 */
suggestion: string | null, };

export type Service = { 
/**
 * Random id.
 */
id: RecordId, 
/**
 * Unique name.
 */
name: string, 
/**
 * Environment, e.g. `prod` or `staging`.
 */
environment: string, 
/**
 * Owning team or person.
 */
owner: string | null, 
/**
 * Free-form `key=value` tags.
 */
tags: { [key in string]: string }, 
/**
 * SPIFFE ID, e.g. `spiffe://corp.example/payments`.
 */
spiffe_id: string | null, 
/**
 * CAs it accepts client certificates from (inbound trust store).
 */
trust_inbound: Array<RecordId>, 
/**
 * CAs it verifies servers with (outbound trust store).
 */
trust_outbound: Array<RecordId>, 
/**
 * Creation time.
 */
created: string, 
/**
 * Last change.
 */
updated: string, };

export type ServiceSpec = { 
/**
 * Unique name.
 */
name: string, 
/**
 * Environment.
 */
environment: string, 
/**
 * Owning team or person.
 */
owner: string | null, 
/**
 * Tags.
 */
tags: { [key in string]: string }, 
/**
 * SPIFFE ID.
 */
spiffe_id: string | null, };

export type SecretSummary = { 
/**
 * Credential id.
 */
id: RecordId, 
/**
 * Service name.
 */
service: string, 
/**
 * Secret name.
 */
name: string, 
/**
 * Target service, if any.
 */
target: string | null, 
/**
 * Rotation policy in days.
 */
rotate_days: number | null, 
/**
 * Number of versions kept.
 */
versions: number, 
/**
 * Current version number.
 */
current_version: number, 
/**
 * When the current version was set.
 */
updated: string, 
/**
 * When rotation is due, if there is a policy.
 */
rotation_due: string | null, 
/**
 * Whether that date has passed.
 */
rotation_overdue: boolean, };

export type Credential = { 
/**
 * Random id.
 */
id: RecordId, 
/**
 * The service holding it.
 */
service_id: RecordId, 
/**
 * Name, unique within the service (e.g. `STRIPE_KEY`).
 */
name: string, 
/**
 * Service this credential grants access to, if any (may be outside the vault).
 */
target: string | null, 
/**
 * Rotation policy in days.
 */
rotate_days: number | null, 
/**
 * Every version, oldest first; the last is current.
 */
versions: Array<CredentialVersion>, 
/**
 * Creation time.
 */
created: string, };

export type CredentialVersion = { 
/**
 * 1, 2, 3, ...
 */
version: number, 
/**
 * When this version was set.
 */
created: string, 
/**
 * Length of the value in bytes.
 */
length: number, 
/**
 * Whether Keyloom generated it.
 */
generated: boolean, 
/**
 * Where the value is sealed.
 */
payload_id: RecordId, };

export type Charset = "alphanumeric" | "symbols" | "hex" | "digits";

export type CaView = { 
/**
 * Id.
 */
id: RecordId, 
/**
 * Name.
 */
name: string, 
/**
 * Parent CA name, if in the vault.
 */
parent: string | null, 
/**
 * Whether the vault holds no key for it (imported for trust only).
 */
trust_only: boolean, 
/**
 * Key algorithm (CAs made here).
 */
key_type: string | null, 
/**
 * Permitted names.
 */
constraints: NameConstraintsSpec, 
/**
 * Path length constraint.
 */
path_len: number | null, 
/**
 * Certificates it issued that the vault holds.
 */
issued: number, 
/**
 * Of those, revoked.
 */
revoked: number, 
/**
 * Certificate fields.
 */
certificate: CertInfo, };

export type NameConstraintsSpec = { 
/**
 * Permitted DNS suffixes, e.g. `.prod.corp.example` (also matches `prod.corp.example`).
 */
dns: Array<string>, 
/**
 * Permitted URI prefixes, e.g. `spiffe://corp.example/prod`. X.509 cannot express a URI path
 * constraint, so Keyloom enforces these itself at issuance and in `cert verify`.
 */
uri: Array<string>, };

export type CertInfo = { 
/**
 * Subject DN (RFC 4514 style).
 */
subject: string, 
/**
 * Subject common name, if any.
 */
common_name: string | null, 
/**
 * Issuer DN.
 */
issuer: string, 
/**
 * Serial number (hex).
 */
serial: string, 
/**
 * Start of validity.
 */
not_before: string, 
/**
 * End of validity.
 */
not_after: string, 
/**
 * DNS SANs.
 */
dns: Array<string>, 
/**
 * IP SANs.
 */
ips: Array<string>, 
/**
 * URI SANs.
 */
uris: Array<string>, 
/**
 * Whether it is a CA (basicConstraints cA).
 */
is_ca: boolean, 
/**
 * Path length constraint of a CA.
 */
path_len: number | null, 
/**
 * serverAuth EKU present.
 */
server_auth: boolean, 
/**
 * clientAuth EKU present.
 */
client_auth: boolean, 
/**
 * Key, e.g. "ECDSA P-256" or "RSA 2048".
 */
key: string, 
/**
 * RSA modulus size in bits (for weak-crypto checks).
 */
rsa_bits: number | null, 
/**
 * Signature algorithm, e.g. "ecdsa-with-SHA256".
 */
signature_algorithm: string, 
/**
 * SHA-256 fingerprint of the DER, colon-separated hex.
 */
sha256_fingerprint: string, 
/**
 * Permitted DNS name constraints (CAs).
 */
permitted_dns: Array<string>, 
/**
 * Whether subject == issuer (a root, or a self-signed leaf).
 */
self_issued: boolean, };

export type KeyType = "ecdsa-p256" | "ecdsa-p384" | "ed25519" | "rsa2048" | "rsa3072" | "rsa4096";

export type CertView = { 
/**
 * Id.
 */
id: RecordId, 
/**
 * Service name.
 */
service: string | null, 
/**
 * Issuing CA name, when the CA is in the vault.
 */
issuer_ca: string | null, 
/**
 * Status.
 */
status: CertStatus, 
/**
 * Revocation, if revoked.
 */
revocation: Revocation | null, 
/**
 * Whether Keyloom holds the private key.
 */
has_key: boolean, 
/**
 * The certificate it renewed.
 */
renews: RecordId | null, 
/**
 * Days until expiry (negative once expired).
 */
expires_in_days: number, 
/**
 * Certificate fields.
 */
certificate: CertInfo, };

export type CertStatus = "active" | "superseded" | "revoked";

export type Revocation = { 
/**
 * Revocation time.
 */
time: string, 
/**
 * Reason.
 */
reason: Reason, };

export type Reason = "unspecified" | "key-compromise" | "ca-compromise" | "affiliation-changed" | "superseded" | "cessation-of-operation";

export type IntentView = { 
/**
 * Intent id.
 */
id: RecordId, 
/**
 * Calling service.
 */
from: string, 
/**
 * Called service.
 */
to: string, 
/**
 * Why.
 */
note: string | null, 
/**
 * Declared at.
 */
created: string, };

export type TrustView = { 
/**
 * Service name.
 */
service: string, 
/**
 * CAs accepted for inbound client certificates.
 */
inbound: Array<string>, 
/**
 * CAs used to verify outbound server certificates.
 */
outbound: Array<string>, };

export type IpcError = { 
/**
 * Stable code, e.g. `wrong_key`, `locked`, `unknown_service`.
 */
code: string, 
/**
 * A sentence a person can act on.
 */
message: string, };

export type Settings = { 
/**
 * The vault opened last, offered at the next start.
 */
last_vault: string | null, 
/**
 * Idle minutes before auto-lock; 0 turns auto-lock off.
 */
auto_lock_minutes: number, };

export type AppStatus = { 
/**
 * The open vault, if any.
 */
vault: VaultStatus | null, 
/**
 * Whether it is unlocked.
 */
unlocked: boolean, 
/**
 * Whether a device slot exists, so unlocking needs no typing.
 */
device_slot: boolean, 
/**
 * Seconds before another unlock attempt is accepted.
 */
retry_after_secs: number, 
/**
 * The demo vault's (public) passphrase, when the open vault is the demo.
 */
demo_passphrase: string | null, 
/**
 * Where a new vault goes when the user does not choose.
 */
default_vault_path: string | null, 
/**
 * App settings.
 */
settings: Settings, };

export type CreateVaultArgs = { 
/**
 * Vault folder; the default location when empty.
 */
path: string | null, 
/**
 * The new passphrase.
 */
passphrase: string, 
/**
 * The same, typed again.
 */
confirm: string, };

export type CreatedVault = { 
/**
 * The app's state, now with the new vault unlocked.
 */
status: AppStatus, 
/**
 * The recovery key (`AGE-SECRET-KEY-1…`): the one time it is shown.
 */
recovery_key: string, };

export type UnlockArgs = { 
/**
 * The passphrase; absent to use the device key.
 */
passphrase: string | null, 
/**
 * After a passphrase unlock, remember the vault on this device (OS keyring).
 */
remember: boolean, };

export type UnlockOutcome = { 
/**
 * The app's state.
 */
status: AppStatus, 
/**
 * Something the user should know, e.g. that the keyring was unavailable.
 */
notice: string | null, };

export type ServiceDetail = { 
/**
 * The service.
 */
service: Service, 
/**
 * Its certificates, every status.
 */
certificates: Array<CertView>, 
/**
 * Its credentials (metadata only).
 */
credentials: Array<SecretSummary>, 
/**
 * Its inbound and outbound trust stores, by CA name.
 */
trust: TrustView, 
/**
 * Intents from or to it.
 */
intents: Array<IntentView>, };

export type ServiceEditArgs = { 
/**
 * The service to edit.
 */
name: string, 
/**
 * Environment.
 */
environment: string, 
/**
 * Owner; empty or absent clears it.
 */
owner: string | null, 
/**
 * Tags, replacing the current ones.
 */
tags: { [key in string]: string }, 
/**
 * SPIFFE ID; empty or absent clears it.
 */
spiffe_id: string | null, };

export type CredentialTarget = { 
/**
 * Owning service.
 */
service: string, 
/**
 * Credential name, e.g. `STRIPE_KEY`.
 */
name: string, 
/**
 * What it grants access to.
 */
target: string | null, 
/**
 * Rotation policy in days.
 */
rotate_days: number | null, };

export type RevealedSecret = { 
/**
 * The value: UTF-8 text, or base64 when `binary`.
 */
value: string, 
/**
 * Whether the value is not text and `value` is base64.
 */
binary: boolean, };

export type CopyReceipt = { 
/**
 * Seconds until the clipboard is cleared.
 */
clears_in_secs: number, };

export type CaCreateArgs = { 
/**
 * Name, also the subject CN.
 */
name: string, 
/**
 * Parent CA for an intermediate; absent for a root.
 */
parent: string | null, 
/**
 * Key algorithm.
 */
key_type: KeyType, 
/**
 * Validity in days.
 */
validity_days: number, 
/**
 * Maximum intermediates below it.
 */
path_len: number | null, 
/**
 * Permitted DNS suffixes and URI prefixes.
 */
constraints: NameConstraintsSpec, };

export type FileArg = { 
/**
 * File name as the user saw it.
 */
name: string, 
/**
 * Contents.
 */
bytes: Array<number>, };

export type CertIssueArgs = { 
/**
 * Service receiving it.
 */
service: string, 
/**
 * Issuing CA.
 */
ca: string, 
/**
 * DNS SANs.
 */
dns: Array<string>, 
/**
 * IP SANs.
 */
ips: Array<string>, 
/**
 * URI SANs.
 */
uris: Array<string>, 
/**
 * serverAuth EKU.
 */
server: boolean, 
/**
 * clientAuth EKU.
 */
client: boolean, 
/**
 * Validity in days.
 */
validity_days: number, 
/**
 * Key algorithm.
 */
key_type: KeyType, };

export type CertDetail = { 
/**
 * The certificate.
 */
cert: CertView, 
/**
 * Leaf and issuing chain, PEM.
 */
pem_chain: string, };

export type Progress = { 
/**
 * Items done.
 */
done: number, 
/**
 * Items in all.
 */
total: number, };
