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
demo: boolean, 
/**
 * Failed unlocks since the last successful one (readable while locked).
 */
failed_unlocks: FailedUnlocks, };

export type FailedUnlocks = { 
/**
 * How many.
 */
count: bigint, 
/**
 * When the last one happened.
 */
last: string | null, };

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
 * When it stops working (none of today's slots expire).
 */
expires: string | null, };

export type SlotKind = "passphrase" | "two_factor" | "recovery" | "device";

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
 * Whether the policy allows it as a new passphrase; front ends refuse it otherwise.
 */
acceptable: boolean, 
/**
 * Whether it is weak enough to warn about (always true when not acceptable).
 */
weak: boolean, 
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
 * Whether nothing here can sign with it (imported for trust only).
 */
trust_only: boolean, 
/**
 * Where it signs, when its key is in a remote's PKI mount (`ca link`).
 */
linked: CaLink | null, 
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
 * Days until it expires, a started day counting as one (0 or negative once expired).
 */
expires_in_days: number, 
/**
 * Expiring by the expiry rule ([`crate::pki::expiry`]) under the default window.
 */
expiring: boolean, 
/**
 * Certificate fields.
 */
certificate: CertInfo, };

export type CaLink = { 
/**
 * The remote's name.
 */
remote: string, 
/**
 * The PKI mount.
 */
pki_mount: string, 
/**
 * The role it signs under.
 */
role: string, };

export type NameConstraintsSpec = { 
/**
 * Permitted DNS suffixes, e.g. `.prod.corp.example` (also matches `prod.corp.example`).
 */
dns: Array<string>, 
/**
 * Permitted URI prefixes, e.g. `spiffe://corp.example/prod`. X.509 cannot express a URI path
 * constraint, so Keyloom enforces these itself at issuance and in `cert verify`.
 */
uri: Array<string>, 
/**
 * Permitted IP ranges in CIDR form, e.g. `10.0.0.0/8`. A constrained CA without any permits no
 * IP address at all (its certificate excludes every range). Not in the CA record: read from
 * the certificate (see `stored_constraints`).
 */
ip: Array<string>, };

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
 * Permitted IP ranges (CAs), as `address/prefix`.
 */
permitted_ip: Array<string>, 
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
 * Days until expiry, a started day counting as one (0 or negative once expired).
 */
expires_in_days: number, 
/**
 * Active and expiring by the expiry rule ([`crate::pki::expiry`]) under the default window,
 * or under the window a list was asked for: front ends show this rather than compute it.
 */
expiring: boolean, 
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

export type IssueDefaults = { 
/**
 * The CA to issue from: the signing CA with the most active certificates in the service's
 * environment, else one named after the environment, else an intermediate, else any.
 */
ca: string | null, 
/**
 * URI SANs: the service's SPIFFE ID, when it has one.
 */
uris: Array<string>, };

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

export type TrustImpact = { 
/**
 * Services whose declared intent stops working (removal) or starts working (addition).
 */
intended: Array<string>, 
/**
 * Other services that lose (removal) or gain (addition) that half of mTLS; a gain here is
 * access no intent asked for.
 */
unintended: Array<string>, };

export type Graph = { 
/**
 * When it was computed.
 */
generated: string, 
/**
 * Nodes.
 */
nodes: Array<Node>, 
/**
 * Edges.
 */
edges: Array<Edge>, 
/**
 * Findings (all of them, most severe first; nodes and edges refer to them by id).
 */
findings: Array<Finding>, 
/**
 * Every environment of the vault (not only those in view), each with its colour slot, so a
 * filtered view keeps the same colours and can offer the other environments.
 */
environments: Array<EnvironmentInfo>, 
/**
 * Whether `mtls` edges are listed for every pair or only for intended/credential pairs.
 */
mtls_pairs: string, };

export type EnvironmentInfo = { 
/**
 * Its name.
 */
name: string, 
/**
 * One of [`COLOUR_SLOTS`] palette slots.
 */
slot: number, 
/**
 * How many services it holds.
 */
services: number, 
/**
 * The id of the node that stands for the whole environment in an overview.
 */
node: string, };

export type Node = { 
/**
 * `svc:<id>` or `ca:<id>`.
 */
id: string, 
/**
 * Kind.
 */
kind: NodeKind, 
/**
 * Name.
 */
name: string, 
/**
 * Environment (services).
 */
environment: string | null, 
/**
 * Owner (services).
 */
owner: string | null, 
/**
 * Tags (services).
 */
tags: { [key in string]: string }, 
/**
 * Whether the vault can sign with it (CAs).
 */
can_sign: boolean | null, 
/**
 * End of validity (CAs).
 */
not_after: string | null, 
/**
 * Findings that name this node.
 */
findings: Array<string>, };

export type NodeKind = "service" | "ca";

export type Edge = { 
/**
 * Stable id.
 */
id: string, 
/**
 * Kind.
 */
kind: EdgeKind, 
/**
 * Source node id.
 */
from: string, 
/**
 * Target node id.
 */
to: string, 
/**
 * Why it holds.
 */
evidence: Evidence, 
/**
 * When it stops being true (earliest expiry on the chains involved).
 */
valid_until: string | null, 
/**
 * Findings drawn on this edge (over-trust on trust edges, broken intents on intent edges).
 */
findings: Array<string>, };

export type EdgeKind = "issued" | "trusts_inbound" | "trusts_outbound" | "mtls" | "credential" | "intent" | "token";

export type Evidence = { "type": "chain", 
/**
 * Certificate id.
 */
certificate: RecordId, 
/**
 * Serial.
 */
serial: string, 
/**
 * CA names, issuer first.
 */
chain: Array<string>, } | { "type": "mtls", 
/**
 * The caller's client chain, accepted by the callee via `accepted_via`.
 */
client: Evidence, 
/**
 * The CA in the callee's inbound trust.
 */
accepted_via: string, 
/**
 * The callee's server chain, verified by the caller via `verified_via`.
 */
server: Evidence, 
/**
 * The CA in the caller's outbound trust.
 */
verified_via: string, } | { "type": "credential", 
/**
 * Credential names.
 */
names: Array<string>, } | { "type": "intent", 
/**
 * Intent id.
 */
intent: RecordId, 
/**
 * Its note.
 */
note: string | null, } | { "type": "trust" } | { "type": "token", 
/**
 * Each path: issuer, audience and the issuer's published key ids.
 */
paths: Array<TokenEvidence>, };

export type TokenEvidence = { 
/**
 * The issuer's name.
 */
issuer: string, 
/**
 * The audience.
 */
audience: string, 
/**
 * Key ids the issuer publishes.
 */
kids: Array<string>, };

export type Finding = { 
/**
 * Stable id: the same problem keeps the same id across runs.
 */
id: string, 
/**
 * Kind.
 */
kind: FindingKind, 
/**
 * Severity.
 */
severity: Severity, 
/**
 * Entities involved, most relevant first.
 */
entities: Array<EntityRef>, 
/**
 * One line for a person.
 */
message: string, 
/**
 * What to do about it, as data: the CLI renders it as a command, the desktop as a button.
 */
remedy: Remedy | null, 
/**
 * A count the message summarises (accepted identities, impersonable services, ...).
 */
count: number | null, };

export type Remedy = { "action": "remove_trust", 
/**
 * Service whose inbound trust is too wide.
 */
service: string, 
/**
 * The CA to remove from its inbound trust.
 */
ca: string, 
/**
 * A narrower CA covering every intended caller, to trust in its place.
 */
instead: string | null, } | { "action": "dedicated_ca", 
/**
 * Service whose inbound trust is too wide.
 */
service: string, 
/**
 * The CA it trusts today.
 */
ca: string, 
/**
 * How many intended callers the dedicated CA must cover.
 */
intended: number, } | { "action": "environment_ca", 
/**
 * Service that accepts too much.
 */
service: string, 
/**
 * The CA spanning environments.
 */
ca: string, 
/**
 * The service's own environment.
 */
environment: string, } | { "action": "issue_certificate", 
/**
 * Service that needs it.
 */
service: string, 
/**
 * Client or server.
 */
usage: CertUse, 
/**
 * The CA the other end trusts, if any.
 */
ca: string | null, } | { "action": "add_trust", 
/**
 * Service whose trust store lacks the CA.
 */
service: string, 
/**
 * The CA to add.
 */
ca: string, 
/**
 * Which store.
 */
side: TrustSide, } | { "action": "renew_certificate", 
/**
 * Its service.
 */
service: string, 
/**
 * The certificate.
 */
certificate: RecordId, } | { "action": "import_renewal", 
/**
 * Its service.
 */
service: string, } | { "action": "replace_revoked", 
/**
 * Its service.
 */
service: string, 
/**
 * The revoked certificate.
 */
certificate: RecordId, 
/**
 * The CA that issued the revoked one, if it is in the vault.
 */
ca: string | null, } | { "action": "replace_weak_certificate", 
/**
 * Its service.
 */
service: string, } | { "action": "reissue_and_export", 
/**
 * The service whose bundle is stale.
 */
service: string, } | { "action": "remove_ca", 
/**
 * The CA.
 */
ca: string, 
/**
 * Whether removal is only a suggestion (the CA may still be wanted for later use).
 */
if_unneeded: boolean, } | { "action": "replace_ca", 
/**
 * The CA.
 */
ca: string, } | { "action": "succeed_ca", 
/**
 * The CA.
 */
ca: string, } | { "action": "replace_trusted_ca", 
/**
 * The CA.
 */
ca: string, } | { "action": "trust_successor", 
/**
 * The CA.
 */
ca: string, } | { "action": "stop_trusting", 
/**
 * The CA.
 */
ca: string, } | { "action": "rotate_credential", 
/**
 * The service holding it.
 */
service: string, 
/**
 * The credential's name.
 */
name: string, } | { "action": "remove_token_trust", 
/**
 * The accepting service.
 */
service: string, 
/**
 * The issuer.
 */
issuer: string, 
/**
 * The audience.
 */
audience: string, } | { "action": "export_again", 
/**
 * The service.
 */
service: string, } | { "action": "rotate_token_key", 
/**
 * The issuing service.
 */
issuer: string, } | { "action": "replace_issuer_key", 
/**
 * The issuer.
 */
issuer: string, 
/**
 * The weak key's id.
 */
kid: string, } | { "action": "resolve_conflict", 
/**
 * The service holding it.
 */
service: string, 
/**
 * The credential's name.
 */
name: string, 
/**
 * The remote it conflicts with.
 */
remote: string, };

export type TrustSide = "inbound" | "outbound";

export type CertUse = "client" | "server";

export type FindingKind = "over_trust" | "broken_intent" | "expired" | "expiring_soon" | "revoked_current" | "revoked_deployed" | "weak_crypto" | "cross_environment" | "stale_credential" | "unused_ca" | "blast_radius" | "sync_conflict" | "exposed_secret" | "unjustified_token_trust" | "shared_audience" | "weak_token_key" | "stale_token_key" | "token_key_across_environments" | "pin_without_backup" | "stale_exported_jwks" | "stale_pins";

export type Severity = "high" | "medium" | "low" | "info";

export type EntityRef = { 
/**
 * "service", "ca", "certificate", "secret".
 */
kind: string, 
/**
 * Record id.
 */
id: RecordId, 
/**
 * Name.
 */
name: string, 
/**
 * The id of its node in the trust graph (services and CAs; other entities have none), so
 * front ends select it without knowing how node ids are made.
 */
node: string | null, };

export type Explanation = { 
/**
 * Caller.
 */
from: string, 
/**
 * Callee.
 */
to: string, 
/**
 * A declared intent exists.
 */
intended: boolean, 
/**
 * The mutual-TLS edge with both chains, when the channel exists.
 */
mtls: Edge | null, 
/**
 * Whether `to` accepts `from`'s client identity, and via which CA.
 */
accepts: string | null, 
/**
 * Whether `from` can verify `to`'s server identity, and via which CA.
 */
can_verify: string | null, 
/**
 * Credentials `from` holds for `to`.
 */
credentials: Array<string>, 
/**
 * Token paths: `from` gets tokens from an issuer that `to` accepts, for an audience.
 */
tokens: Array<TokenEvidence>, 
/**
 * The same, in words ("checkout can call payments with a token from auth, audience payments").
 */
token_paths: Array<string>, 
/**
 * "intended and working" (", with concerns" when `concerns` is not empty), "possible but not
 * intended (over-trust)", "intended but broken", "no channel, none intended".
 */
verdict: string, 
/**
 * Why not, when the channel is missing.
 */
reasons: Array<string>, 
/**
 * What is wrong with a channel that exists: it crosses environments, or the callee accepts a
 * whole CA's identities where intents name a few (the findings say the same).
 */
concerns: Array<string>, };

export type AuditEntry = { 
/**
 * 1, 2, 3, ... without gaps.
 */
seq: number, 
/**
 * When it happened (UTC).
 */
time: string, 
/**
 * The OS user who did it.
 */
user: string, 
/**
 * What was done, e.g. `secret.reveal`.
 */
action: string, 
/**
 * What it was done to.
 */
objects: Array<AuditObject>, 
/**
 * Whether it succeeded.
 */
outcome: Outcome, 
/**
 * Extra facts (never secret values).
 */
detail: string | null, 
/**
 * SHA-256 (hex) of the previous entry's sealed plaintext; zeros for the first.
 */
prev_hash: string, };

export type AuditObject = { 
/**
 * "service", "secret", "intent", "slot", "vault", ...
 */
kind: string, 
/**
 * Its record id, if it has one.
 */
id: RecordId | null, 
/**
 * Its name at the time (e.g. `payments/STRIPE_KEY`).
 */
name: string, };

export type Outcome = "success" | "failure";

export type AuditReport = { 
/**
 * True when every entry authenticates and the chain is whole up to the head.
 */
ok: boolean, 
/**
 * Entries checked.
 */
entries: number, 
/**
 * The head's sequence number.
 */
head_seq: number, 
/**
 * The first break, if any.
 */
first_problem: AuditProblem | null, };

export type AuditProblem = { 
/**
 * Sequence number where the chain breaks.
 */
seq: number, 
/**
 * What is wrong there.
 */
problem: string, };

export type BundlePreview = { 
/**
 * The service.
 */
service: string, 
/**
 * Serial of the certificate that would leave, if any.
 */
serial: string | null, 
/**
 * Files with their modes, manifest last.
 */
files: Array<PreviewFile>, 
/**
 * Names of the secrets that would leave.
 */
secrets: Array<string>, };

export type PreviewFile = { 
/**
 * Path inside the bundle.
 */
path: string, 
/**
 * Unix mode (0600 for keys and secrets).
 */
mode: number, };

export type BundleCheck = { 
/**
 * True when the signature and every file check out.
 */
ok: boolean, 
/**
 * The service the manifest names (when it could be read).
 */
service: string | null, 
/**
 * Files compared.
 */
files_checked: number, 
/**
 * Everything wrong, one line each, naming the file.
 */
problems: Array<string>, };

export type IpcError = { 
/**
 * Stable code, e.g. `wrong_key`, `locked`, `unknown_service`.
 */
code: IpcErrorCode, 
/**
 * A sentence a person can act on.
 */
message: string, 
/**
 * A known way out, which the page renders in its own words.
 */
hint?: ErrorHint, };

export type ErrorCode = "wrong_key" | "locked" | "no_unlock_method" | "needs_real_factor" | "not_found" | "already_exists" | "in_use" | "unknown_service" | "unknown_secret" | "unknown_intent" | "unknown_ca" | "unknown_environment" | "unknown_certificate" | "unknown_remote" | "exists" | "still_referenced" | "wont_replace" | "needs_force" | "no_active_certificate" | "invalid" | "unknown_choice" | "out_of_range" | "unchanged" | "agent" | "remote" | "token" | "integrity" | "rolled_back" | "unsupported_format" | "storage" | "io" | "permission_denied" | "keyring";

export type ErrorHint = "create_vault" | "restore_from_snapshot" | "accept_rollback" | "force_anyway" | "force_replace" | "secrets_only";

export type IpcErrorCode = ErrorCode | "no_vault" | "throttled" | "clipboard" | "internal";

export type Settings = { 
/**
 * The vault opened last, offered at the next start.
 */
last_vault: string | null, 
/**
 * Idle minutes before auto-lock; 0 turns auto-lock off.
 */
auto_lock_minutes: number, 
/**
 * Seconds before a copied secret is taken off the clipboard.
 */
clipboard_clear_secs: number, 
/**
 * Days ahead that certificates count as expiring soon.
 */
expiry_warning_days: number, };

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
 * Whether a device slot exists ("remember on this device" is on).
 */
device_slot: boolean, 
/**
 * Whether the device key may unlock now: a device slot exists and the vault has not been
 * locked since the app started.
 */
device_unlock: boolean, 
/**
 * Whether a two-factor slot (passphrase AND key file) exists.
 */
two_factor: boolean, 
/**
 * Whether the passphrase alone opens nothing: the key file is needed.
 */
needs_key_file: boolean, 
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
confirm: string, 
/**
 * A key file: the vault then opens only with the passphrase AND this file (two-factor).
 */
key_file: string | null, };

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
remember: boolean, 
/**
 * The key file, for a vault with a two-factor slot.
 */
key_file: string | null, };

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
intents: Array<IntentView>, 
/**
 * Findings that name it, most severe first: the page shows what a trust or intent change did.
 */
findings: Array<Finding>, 
/**
 * How it stands with each remote it was synced with.
 */
sync: Array<ServiceSync>, 
/**
 * Its token signing keys, when it issues tokens (public parts).
 */
token_keys: Array<TokenKeyView>, 
/**
 * Tokens it gets and accepts.
 */
token_grants: Array<GrantView>, 
/**
 * What its clients pin (current key, next key, issuing CA), when it has a server certificate.
 */
pins: PinSet | null, };

export type IntentAdded = { 
/**
 * The intent.
 */
intent: IntentView, 
/**
 * Whether it is new.
 */
created: boolean, };

export type RemoteAddArgs = { 
/**
 * A name for it here.
 */
name: string, 
/**
 * `https://host:port`.
 */
addr: string, 
/**
 * The KV v2 mount.
 */
kv_mount: string, 
/**
 * The prefix under the mount.
 */
prefix: string, 
/**
 * A namespace, if any.
 */
namespace: string | null, 
/**
 * PEM text of the server's CA, if the system does not trust it.
 */
ca_pem: string | null, 
/**
 * Allow plain http (a local dev server).
 */
insecure_http: boolean, 
/**
 * The token (or empty, with AppRole).
 */
token: string | null, 
/**
 * AppRole role id.
 */
role_id: string | null, 
/**
 * AppRole secret id.
 */
secret_id: string | null, 
/**
 * Seal values before they leave (age to the members, signed by this vault).
 */
sealed: boolean, 
/**
 * Further age recipients, one per line (sealed only).
 */
recipients: string, };

export type RemoteView = { 
/**
 * Name.
 */
name: string, 
/**
 * Address.
 */
addr: string, 
/**
 * KV v2 mount.
 */
kv_mount: string, 
/**
 * Prefix.
 */
prefix: string, 
/**
 * Namespace.
 */
namespace: string | null, 
/**
 * `token` or `approle`.
 */
auth: string, 
/**
 * Plain http allowed.
 */
insecure_http: boolean, 
/**
 * Services synced with it.
 */
synced_services: number, 
/**
 * Open conflicts.
 */
conflicts: number, 
/**
 * The last sync (RFC 3339).
 */
last_sync: string | null, 
/**
 * What is sealed before it leaves (`values`, `values and TLS`); none: plaintext.
 */
sealed: string | null, };

export type RemoteStatus = { 
/**
 * The remote.
 */
remote: RemoteView, 
/**
 * Whether the server answered.
 */
reachable: boolean, 
/**
 * What it said about itself.
 */
server: ServerStatus | null, 
/**
 * Seconds the token has left (0: no expiry), when it could be looked up.
 */
token_ttl: number | null, 
/**
 * The token's policies.
 */
policies: Array<string>, 
/**
 * What went wrong, if anything.
 */
problem: string | null, };

export type ServerStatus = { 
/**
 * Initialized.
 */
initialized: boolean, 
/**
 * Sealed: nothing can be read or written until it is unsealed.
 */
sealed: boolean, 
/**
 * A standby node (it forwards to the active one).
 */
standby: boolean, 
/**
 * The server's version.
 */
version: string, };

export type SealIdentity = { 
/**
 * The remote.
 */
remote: string, 
/**
 * This vault's age recipient.
 */
recipient: string, 
/**
 * This vault's signing key (`ed25519:` base64).
 */
signing_key: string, 
/**
 * Certificates and keys are synced too.
 */
with_tls: boolean, };

export type MemberView = { 
/**
 * The name given here.
 */
name: string, 
/**
 * Their age recipient: values are encrypted to it.
 */
recipient: string | null, 
/**
 * Their signing key: values they sign are accepted.
 */
signing_key: string | null, 
/**
 * When added (RFC 3339).
 */
added: string, };

export type MemberRemoval = { 
/**
 * The member removed.
 */
member: string, 
/**
 * KV paths re-encrypted to the members left.
 */
reencrypted: Array<string>, 
/**
 * Secrets (SERVICE/NAME) the member could read: rotate them.
 */
to_rotate: Array<string>, 
/**
 * Secrets not re-encrypted, and why (changed there since this vault's last sync, or the
 * server could not be reached): the member is removed here all the same.
 */
failed: Array<SyncFailure>, };

export type TlsSynced = { 
/**
 * The service.
 */
service: string, 
/**
 * `pushed` or `pulled`.
 */
action: string, 
/**
 * The certificate's serial (hex).
 */
serial: string, };

export type TokenKeyView = { 
/**
 * The issuing service.
 */
service: string, 
/**
 * Algorithm.
 */
alg: TokenAlg, 
/**
 * Key id (RFC 7638 thumbprint).
 */
kid: string, 
/**
 * Next, current or previous.
 */
role: KeyRole, 
/**
 * When made (RFC 3339).
 */
created: string, 
/**
 * Days since it took its role.
 */
days_in_role: number, };

export type PinSet = { 
/**
 * The service pinned.
 */
service: string, 
/**
 * The DNS names of its current certificate.
 */
dns: Array<string>, 
/**
 * SHA-256 SPKI pin (base64) of its current key.
 */
current: string, 
/**
 * The pin of its next key (taken by the next `cert renew --rotate-key`); none when it has
 * no next key yet, and a pinned client would then break at that rotation.
 */
next: string | null, 
/**
 * The pin of the CA that issued its certificate, when that CA is in the vault.
 */
ca: string | null, };

export type GrantView = { 
/**
 * The service.
 */
service: string, 
/**
 * Gets or accepts.
 */
side: GrantSide, 
/**
 * The issuer's name.
 */
issuer: string, 
/**
 * The audience.
 */
audience: string, 
/**
 * Scopes.
 */
scopes: Array<string>, };

export type TokenAlg = "ES256" | "EdDSA" | "RS256";

export type KeyRole = "next" | "current" | "previous";

export type GrantSide = "client" | "accepts";

export type SyncMode = "pull" | "push" | "sync";

export type SyncReport = { 
/**
 * The remote.
 */
remote: string, 
/**
 * Which way.
 */
mode: SyncMode, 
/**
 * Nothing was written anywhere.
 */
dry_run: boolean, 
/**
 * Services looked at.
 */
checked: number, 
/**
 * Services with changes (all of them in `items`).
 */
items: Array<SyncItem>, 
/**
 * Services that failed (the rest were synced; run again to finish).
 */
failures: Array<SyncFailure>, 
/**
 * Secrets on the server that were not imported, and why (a name the name rule refuses).
 */
skipped: Array<SyncFailure>, 
/**
 * Every open conflict with this remote after the sync.
 */
conflicts: Array<ConflictView>, 
/**
 * Certificates (with their keys) pushed or pulled, on a sealed remote with TLS.
 */
tls: Array<TlsSynced>, };

export type SyncItem = { 
/**
 * The service.
 */
service: string, 
/**
 * Its environment.
 */
environment: string, 
/**
 * The KV path inside the mount.
 */
path: string, 
/**
 * The server's version after the sync.
 */
remote_version: number, 
/**
 * Credentials written to the server.
 */
pushed: Array<string>, 
/**
 * Credentials taken from the server.
 */
pulled: Array<string>, 
/**
 * Credentials removed on the server (removed here since the last sync).
 */
removed_remote: Array<string>, 
/**
 * Credentials removed here (removed on the server since the last sync).
 */
removed_local: Array<string>, 
/**
 * Credentials changed on both sides (see the conflicts).
 */
conflicts: Array<string>, 
/**
 * The service was new here: made from the server's secret.
 */
created: boolean, 
/**
 * The path it was moved from (the service or its environment was renamed).
 */
moved_from: string | null, };

export type SyncFailure = { 
/**
 * The KV path.
 */
path: string, 
/**
 * Why.
 */
problem: string, };

export type ConflictView = { 
/**
 * The remote.
 */
remote: string, 
/**
 * `service/NAME`.
 */
secret: string, 
/**
 * The service.
 */
service: string, 
/**
 * The credential's name.
 */
name: string, 
/**
 * The version here that holds this vault's value.
 */
local_version: number, 
/**
 * The version here that holds the server's value; `None` when the server deleted it.
 */
remote_value_version: number | null, 
/**
 * The server's KV version it came from.
 */
remote_version: number, 
/**
 * When it was found (RFC 3339).
 */
found: string, };

export type ServiceSync = { 
/**
 * The remote.
 */
remote: string, 
/**
 * The KV path inside the mount.
 */
path: string, 
/**
 * The server's version last synced.
 */
remote_version: number, 
/**
 * When (RFC 3339).
 */
synced: string, 
/**
 * Credentials changed here since (a push would write them).
 */
changed_here: Array<string>, 
/**
 * Open conflicts of its credentials with this remote.
 */
conflicts: Array<string>, };

export type Take = "local" | "remote";

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

export type GraphQuery = { 
/**
 * Only services of this environment (and the CAs they touch).
 */
environment: string | null, 
/**
 * Only the neighbourhood of this service...
 */
service: string | null, 
/**
 * ...up to this many hops.
 */
depth: number | null, 
/**
 * Only services with this tag (`key=value` or `key`).
 */
tag: string | null, 
/**
 * Only what findings of this kind name.
 */
finding_kind: FindingKind | null, 
/**
 * Every pair that can talk by mTLS as its own edge (slow for big views), not just the
 * intended and credential pairs.
 */
all_mtls_pairs: boolean, };

export type ExportArgs = { 
/**
 * Services by name (ignored when `environment` is set).
 */
services: Array<string>, 
/**
 * Every service of this environment.
 */
environment: string | null, 
/**
 * dir, tar.gz, age, k8s, compose, env or p12.
 */
format: string, 
/**
 * age recipients (`age1…`, `ssh-ed25519 …`).
 */
recipients: Array<string>, 
/**
 * Kubernetes namespace.
 */
namespace: string | null, 
/**
 * The PKCS#12 file's password (p12 only).
 */
p12_password: string | null, 
/**
 * Secrets only: leave the certificate and key in the vault.
 */
secrets_only: boolean, };

export type ExportSummary = { 
/**
 * Paths written, one per service.
 */
written: Array<string>, 
/**
 * Whether the format carries the signed manifest (dir, tar.gz, age).
 */
signed: boolean, 
/**
 * The vault's bundle-signing public key, to verify them with.
 */
signing_key: string, };

export type RekeyArgs = { 
/**
 * The current passphrase: the proof, and the passphrase of the rewrapped slot.
 */
current: string, 
/**
 * Also replace the recovery key.
 */
new_recovery_key: boolean, 
/**
 * The key file, for a vault with a two-factor slot.
 */
key_file: string | null, };

export type RekeyOutcome = { 
/**
 * Records sealed again under the new key.
 */
records_resealed: number, 
/**
 * The new recovery key: the one time it is shown (the old one no longer opens the vault).
 */
recovery_key: string | null, };

export type RestoreArgs = { 
/**
 * The backup file.
 */
backup: string, 
/**
 * The passphrase the backup was encrypted to.
 */
backup_passphrase: string, 
/**
 * The vault's own passphrase (at the time of the backup).
 */
vault_passphrase: string, 
/**
 * A new or empty folder for the restored vault.
 */
folder: string, };
