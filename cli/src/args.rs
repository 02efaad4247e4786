//! The command line, as clap parses it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Keyloom: an encrypted vault of service certificates, keys and credentials.
#[derive(Parser, Debug)]
#[command(name = "keyloom", version, about)]
pub struct Cli {
    /// The vault directory [default: the platform data dir, e.g. ~/.local/share/keyloom/vault]
    #[arg(long, global = true, env = "KEYLOOM_VAULT", value_name = "PATH")]
    pub vault: Option<PathBuf>,
    /// Read the passphrase from this file (first line) instead of KEYLOOM_PASSPHRASE or a prompt
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// The key file of a two-factor slot, used with the passphrase
    #[arg(long, global = true, env = "KEYLOOM_KEY_FILE", value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Print machine-readable JSON
    #[arg(long, global = true)]
    pub json: bool,
    /// Seconds to wait for another keyloom process to close the vault (an agent shares it instead)
    #[arg(long, global = true, default_value_t = 10.0, value_name = "SECS")]
    pub wait: f64,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create a new vault and print its recovery key once
    Init(InitArgs),
    /// Show the vault's id, format, unlock slots and (when it can be unlocked) record counts
    Status,
    /// Start an agent holding the vault unlocked, so later commands skip the key derivation
    Unlock(UnlockArgs),
    /// Stop this vault's agent: the vault key is wiped from memory
    Lock,
    /// The agent process that `unlock` starts (not for direct use)
    #[command(hide = true)]
    Agent(AgentArgs),
    /// What `run` asks an agent for: the service's run bundle as JSON (only inside an agent)
    #[command(hide = true)]
    RunBundle {
        /// The service
        #[arg(long)]
        service: String,
        /// Only secrets
        #[arg(long)]
        secrets_only: bool,
    },
    /// Services: add, list, show, edit, remove
    #[command(subcommand)]
    Service(ServiceCmd),
    /// Secrets (credentials) of services
    #[command(subcommand)]
    Secret(SecretCmd),
    /// Declared calls between services ("A calls B")
    #[command(subcommand)]
    Intent(IntentCmd),
    /// Certificate authorities: create, import, show, CRLs, CSR signing
    #[command(subcommand)]
    Ca(CaCmd),
    /// Service certificates: issue, list, show, renew, revoke, import, verify
    #[command(subcommand)]
    Cert(CertCmd),
    /// Service trust stores (which CAs a service accepts and verifies with)
    #[command(subcommand)]
    Trust(TrustCmd),
    /// The trust graph: nodes (services, CAs) and edges (trusts, issued, mtls, credential, intent) with evidence
    Graph(GraphArgs),
    /// Every finding, most severe first
    Findings(FindingsArgs),
    /// Can FROM reach TO? By which chain or credential? Was it intended?
    Explain {
        /// Calling service
        from: String,
        /// Called service
        to: String,
    },
    /// What an attacker holding this CA's key could impersonate, and to whom
    BlastRadius {
        /// CA name
        ca: String,
    },
    /// Create a new vault holding a realistic demo estate (clearly marked as a demo)
    Demo(DemoArgs),
    /// Export a service's signed bundle (certificate, chain, key, trust stores, secrets)
    Export(ExportArgs),
    /// Verify an exported bundle, or show a service's bundle history
    #[command(subcommand)]
    Bundle(BundleCmd),
    /// The bundle signing key
    #[command(subcommand)]
    SigningKey(SigningKeyCmd),
    /// Run a command with a service's secrets as environment variables and, if it has a
    /// certificate, its TLS files in a private temporary directory (KEYLOOM_TLS_CERT,
    /// KEYLOOM_TLS_KEY, KEYLOOM_TLS_CA). No other KEYLOOM_* variable reaches the command.
    Run(RunArgs),
    /// Fill a template's {{ keyloom://SERVICE/NAME }} references; add `| json`, `| yaml` or
    /// `| shell` inside the braces to quote the value for that kind of file
    Inject {
        /// Template (`-` for stdin)
        #[arg(short = 'i', long = "in")]
        input: PathBuf,
        /// Output (created 0600; `-` for stdout)
        #[arg(short = 'o', long = "out")]
        output: PathBuf,
        /// Replace an existing output
        #[arg(long)]
        force: bool,
    },
    /// Change the passphrase (new one from KEYLOOM_NEW_PASSPHRASE, --new-passphrase-file or a prompt)
    Passwd(PasswdArgs),
    /// Set a new passphrase with the recovery key (for a forgotten passphrase)
    Recover(RecoverArgs),
    /// Remember on this device: unlock through the OS keyring
    #[command(subcommand)]
    Device(DeviceCmd),
    /// Unlock slots: list them, add a two-factor slot (passphrase AND key file), remove one
    #[command(subcommand)]
    Slot(SlotCmd),
    /// Replace the vault key and reseal every record
    Rekey(RekeyArgs),
    /// The audit log
    #[command(subcommand)]
    Audit(AuditCmd),
    /// Check the vault; with --restore, rebuild a damaged vault from its newest good snapshot
    Doctor(DoctorArgs),
    /// Secrets servers (OpenBao, HashiCorp Vault) to sync credentials with: add, list, status, remove
    #[command(subcommand)]
    Remote(RemoteCmd),
    /// Write this vault's credential changes to a remote's KV v2 mount (merging changes made there)
    Push(SyncArgs),
    /// Take teammates' changes from a remote into this vault (nothing is written to the server)
    Pull(SyncArgs),
    /// Pull, then push; exits 1 when conflicts remain
    Sync(SyncArgs),
    /// Credentials changed both here and on a remote since the last sync
    #[command(subcommand)]
    Conflicts(ConflictsCmd),
    /// Token signing keys of an issuing service: create (current + next), rotate, list
    #[command(name = "token-key", subcommand)]
    TokenKey(TokenKeyCmd),
    /// Print an issuer's JWKS (current, next and previous public keys), or write it with --out
    Jwks {
        /// The issuer (a service with token keys, or an imported issuer)
        issuer: String,
        /// Write it to this file (refused if it exists)
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Issuers known from their JWKS (an identity provider, a gateway): import, list
    #[command(name = "token-issuer", subcommand)]
    TokenIssuer(TokenIssuerCmd),
    /// Who gets tokens and who accepts them; mint a development token
    #[command(subcommand)]
    Token(TokenCmd),
    /// Print the public-key pins of a service (current key, next key, issuing CA) in the form a
    /// client takes: curl, okhttp or envoy; JSON with --json
    Pins {
        /// The service
        service: String,
        /// curl (--pinnedpubkey), okhttp (CertificatePinner) or envoy (verify_certificate_spki)
        #[arg(long, default_value = "curl")]
        format: String,
    },
    /// Print a shell completion script: `source <(keyloom completions bash)`
    Completions {
        /// bash, zsh or fish
        shell: clap_complete::Shell,
    },
}

#[derive(Args, Debug)]
pub struct KdfArgs {
    /// scrypt work factor log2(N) for the passphrase slot [default: age's calibrated ~1 s]
    #[arg(long, value_name = "N")]
    pub scrypt_log_n: Option<u8>,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    #[command(flatten)]
    pub kdf: KdfArgs,
    /// Write the recovery key to this new file (mode 0600) instead of printing it
    #[arg(long, value_name = "FILE")]
    pub recovery_key_out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct UnlockArgs {
    /// How long the agent holds the vault (e.g. 30m, 8h; at most 7 days), fixed now
    #[arg(long, default_value = "30m")]
    pub ttl: humantime::Duration,
    /// Lock after this long without a command
    #[arg(long, default_value = "15m")]
    pub idle: humantime::Duration,
}

#[derive(Args, Debug)]
pub struct AgentArgs {
    /// Lifetime in seconds
    #[arg(long)]
    pub ttl_secs: u64,
    /// Idle timeout in seconds
    #[arg(long)]
    pub idle_secs: u64,
}

#[derive(Subcommand, Debug)]
pub enum ServiceCmd {
    /// Add a service
    Add {
        /// Unique name: lowercase letters, digits and '-' (it becomes a directory and a DNS label)
        name: String,
        /// Environment (prod, staging, ...)
        #[arg(long = "env")]
        environment: String,
        /// Owning team or person
        #[arg(long)]
        owner: Option<String>,
        /// key=value tag (repeatable)
        #[arg(long = "tag", value_name = "KEY=VALUE")]
        tags: Vec<String>,
        /// SPIFFE ID, e.g. spiffe://corp.example/payments
        #[arg(long)]
        spiffe_id: Option<String>,
    },
    /// List services
    List,
    /// Add many services from a JSON array of {"name", "environment", "owner"?, "tags"?, "spiffe_id"?} in one operation
    Import {
        /// The JSON file (`-` for stdin)
        file: PathBuf,
    },
    /// Show a service with its secrets and intents
    Show {
        /// Service name
        name: String,
    },
    /// Change a service's environment, owner, tags or SPIFFE ID
    Edit {
        /// Service name
        name: String,
        /// New environment
        #[arg(long = "env")]
        environment: Option<String>,
        /// New owner
        #[arg(long)]
        owner: Option<String>,
        /// Set a key=value tag (repeatable)
        #[arg(long = "tag", value_name = "KEY=VALUE")]
        tags: Vec<String>,
        /// Remove a tag (repeatable)
        #[arg(long = "untag", value_name = "KEY")]
        untag: Vec<String>,
        /// New SPIFFE ID
        #[arg(long)]
        spiffe_id: Option<String>,
    },
    /// Remove a service (refused while secrets or intents refer to it, unless --force)
    Remove {
        /// Service name
        name: String,
        /// Also remove its secrets and intents
        #[arg(long)]
        force: bool,
    },
    /// Rename a service, keeping its secrets, certificates, intents, trust, history and audit trail
    Rename {
        /// Current name
        name: String,
        /// New name: lowercase letters, digits and '-'
        new_name: String,
    },
}

#[derive(Args, Debug)]
pub struct SecretPolicy {
    /// The service this secret grants access to
    #[arg(long)]
    pub target: Option<String>,
    /// Rotation policy in days
    #[arg(long)]
    pub rotate_days: Option<u32>,
}

#[derive(Subcommand, Debug)]
pub enum SecretCmd {
    /// Store a value (from stdin, or a hidden prompt on a terminal) as the next version
    Set {
        /// SERVICE/NAME
        reference: String,
        #[command(flatten)]
        policy: SecretPolicy,
        /// Read the value from this file instead of stdin
        #[arg(long, value_name = "FILE")]
        from_file: Option<PathBuf>,
        /// Keep a trailing newline (by default one trailing newline is dropped)
        #[arg(long)]
        keep_newline: bool,
    },
    /// Generate a random value and store it as the next version (the value is not printed)
    Generate {
        /// SERVICE/NAME
        reference: String,
        /// Length in characters
        #[arg(long, default_value_t = 32)]
        length: usize,
        /// alphanumeric, symbols, hex or digits
        #[arg(long, default_value = "alphanumeric")]
        charset: String,
        #[command(flatten)]
        policy: SecretPolicy,
    },
    /// Print a value (audited as a reveal)
    Get {
        /// SERVICE/NAME
        reference: String,
        /// An older version
        #[arg(long)]
        version: Option<u32>,
        /// Do not print a newline after the value
        #[arg(short = 'n', long)]
        no_newline: bool,
    },
    /// Versions of a secret, with timestamps (no values)
    History {
        /// SERVICE/NAME
        reference: String,
    },
    /// List secrets (names, targets, versions, rotation due; no values)
    List {
        /// Only this service's secrets
        service: Option<String>,
    },
    /// Remove a secret and all its versions
    Remove {
        /// SERVICE/NAME
        reference: String,
    },
    /// Rename a secret within its service, keeping every version and its audit trail
    Rename {
        /// SERVICE/NAME
        reference: String,
        /// New name: letters, digits and '_', not starting with a digit
        new_name: String,
    },
    /// Change a secret's target or rotation policy without storing a new value
    Edit {
        /// SERVICE/NAME
        reference: String,
        /// The service (or outside system) this secret grants access to
        #[arg(long, conflicts_with = "no_target")]
        target: Option<String>,
        /// Forget the target
        #[arg(long)]
        no_target: bool,
        /// Rotation policy in days
        #[arg(long, value_name = "DAYS", conflicts_with = "no_rotation")]
        rotate_days: Option<u32>,
        /// Drop the rotation policy
        #[arg(long)]
        no_rotation: bool,
    },
    /// Import an env file's NAME=value lines into a service in one durable operation (nothing
    /// substituted: `$X` stays `$X`; 'single' and "double" quotes as in secrets.env and dotenv)
    Import {
        /// The service receiving the secrets
        #[arg(long)]
        service: String,
        /// The env file
        file: PathBuf,
        #[command(flatten)]
        policy: SecretPolicy,
    },
}

#[derive(Subcommand, Debug)]
pub enum IntentCmd {
    /// Declare that one service calls another
    Add {
        /// Calling service
        #[arg(long)]
        from: String,
        /// Called service
        #[arg(long)]
        to: String,
        /// Why
        #[arg(long)]
        note: Option<String>,
    },
    /// List intents
    List {
        /// Only intents touching this service
        #[arg(long)]
        service: Option<String>,
    },
    /// Remove an intent
    Remove {
        /// Calling service
        #[arg(long)]
        from: String,
        /// Called service
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum CaCmd {
    /// Create a root CA, or an intermediate with --parent
    Create {
        /// Unique name, also the certificate's CN: lowercase letters, digits and '-'
        name: String,
        /// ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, rsa-3072 or rsa-4096
        #[arg(long, default_value = "ecdsa-p256")]
        key_type: String,
        /// Validity in days
        #[arg(long, default_value_t = 3650)]
        validity_days: u32,
        /// Sign with this CA (makes an intermediate)
        #[arg(long)]
        parent: Option<String>,
        /// Permitted DNS suffix, e.g. .prod.corp.example (repeatable)
        #[arg(long = "permit-dns", value_name = "SUFFIX")]
        permit_dns: Vec<String>,
        /// Permitted URI prefix, e.g. spiffe://corp.example/prod (repeatable)
        #[arg(long = "permit-uri", value_name = "PREFIX")]
        permit_uri: Vec<String>,
        /// Permitted IP range, e.g. 10.0.0.0/8 (repeatable); a constrained CA without one permits
        /// no IP address
        #[arg(long = "permit-ip", value_name = "CIDR")]
        permit_ip: Vec<String>,
        /// Maximum number of intermediates below it
        #[arg(long)]
        path_len: Option<u8>,
    },
    /// List CAs
    List,
    /// Show a CA's fields (or its certificate with --pem)
    Show {
        /// CA name
        name: String,
        /// Print the certificate as PEM
        #[arg(long)]
        pem: bool,
    },
    /// Import CA certificates (PEM bundle or DER) for trust only; each is named from its subject.
    /// Self-signed ones become trust anchors, others intermediates unless --anchor
    Import {
        /// The file
        file: PathBuf,
        /// Make every CA in the file a trust anchor, self-signed or not (chains may end at it)
        #[arg(long)]
        anchor: bool,
    },
    /// Rename a CA, keeping the trust stores, certificates and audit trail that refer to it
    Rename {
        /// Current name
        name: String,
        /// New name: lowercase letters, digits and '-'
        new_name: String,
    },
    /// Remove a CA (refused while services trust it or it issued active certificates, unless --force)
    Remove {
        /// CA name
        name: String,
        /// Also remove it from every trust store and revoke the active certificates it issued
        #[arg(long)]
        force: bool,
    },
    /// Link a CA whose key stays in a remote's PKI mount: certificates are signed there from CSRs
    /// made here, revocations go there, and the mount's CRL is the CA's CRL
    Link {
        /// Name for the CA here: lowercase letters, digits and '-'
        name: String,
        /// The remote (see `remote add`)
        #[arg(long)]
        remote: String,
        /// The PKI mount on the server
        #[arg(long, default_value = "pki")]
        pki_mount: String,
        /// The role certificates are signed under (`<mount>/sign/<role>`)
        #[arg(long)]
        role: String,
    },
    /// Write the CA's current CRL (PEM, or DER with --der); a linked CA's is its mount's
    Crl {
        /// CA name
        name: String,
        /// Output file
        #[arg(long)]
        out: PathBuf,
        /// Write DER instead of PEM
        #[arg(long)]
        der: bool,
    },
    /// Sign a certificate signing request (PEM or DER)
    SignCsr {
        /// CA name
        name: String,
        /// The CSR file
        csr: PathBuf,
        /// Output file (PEM)
        #[arg(long)]
        out: PathBuf,
        /// Validity in days
        #[arg(long, default_value_t = 90)]
        validity_days: u32,
        /// serverAuth (default: serverAuth only when neither is given; the CSR's own EKUs are ignored)
        #[arg(long)]
        server: bool,
        /// clientAuth
        #[arg(long)]
        client: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum CertCmd {
    /// Issue a service certificate, or (with --env and --missing) one for every service lacking one
    Issue {
        /// The service (omit with --missing)
        #[arg(long, required_unless_present = "missing")]
        service: Option<String>,
        /// The issuing CA
        #[arg(long)]
        ca: String,
        /// DNS SAN (repeatable)
        #[arg(long)]
        dns: Vec<String>,
        /// IP SAN (repeatable)
        #[arg(long)]
        ip: Vec<std::net::IpAddr>,
        /// URI SAN, e.g. a SPIFFE ID (repeatable)
        #[arg(long)]
        uri: Vec<String>,
        /// serverAuth (default: both server and client when neither is given)
        #[arg(long)]
        server: bool,
        /// clientAuth
        #[arg(long)]
        client: bool,
        /// Validity in days
        #[arg(long, default_value_t = 90)]
        validity_days: u32,
        /// Key type of the new key
        #[arg(long, default_value = "ecdsa-p256")]
        key_type: String,
        /// Start of validity (RFC 3339) instead of now
        #[arg(long)]
        not_before: Option<String>,
        /// With --missing: the environment whose services get certificates
        #[arg(long = "env", requires = "missing")]
        environment: Option<String>,
        /// Issue to every service of --env without an active certificate
        #[arg(long, requires = "environment", conflicts_with = "service")]
        missing: bool,
    },
    /// List certificates
    List {
        /// Only active certificates expiring within this many days
        #[arg(long, value_name = "DAYS")]
        expiring_within: Option<u32>,
    },
    /// Show a certificate (by id, id prefix or service)
    Show {
        /// Certificate id or service name
        target: String,
        /// Print the certificate as PEM
        #[arg(long)]
        pem: bool,
        /// With --pem: append the CA chain
        #[arg(long, requires = "pem")]
        chain: bool,
    },
    /// Renew a certificate, or every one expiring within N days
    Renew {
        /// Certificate id or service name
        #[arg(required_unless_present = "expiring_within")]
        target: Option<String>,
        /// Generate a new key instead of keeping the current one
        #[arg(long)]
        rotate_key: bool,
        /// Renew every active certificate expiring within this many days
        #[arg(long, value_name = "DAYS", conflicts_with = "target")]
        expiring_within: Option<u32>,
    },
    /// Revoke a certificate
    Revoke {
        /// Certificate id (or service)
        target: String,
        /// unspecified, key-compromise, ca-compromise, affiliation-changed, superseded, cessation-of-operation
        #[arg(long, default_value = "unspecified")]
        reason: String,
    },
    /// Import a certificate and its private key for a service
    Import {
        /// Certificate file (PEM or DER)
        file: PathBuf,
        /// Private key file (PKCS#8, SEC1 or PKCS#1; PEM or DER)
        #[arg(long)]
        key: PathBuf,
        /// The service it belongs to
        #[arg(long)]
        service: String,
    },
    /// Remove a certificate and its private key (refused for a service's active certificate unless
    /// --force, which revokes it first; a revoked certificate its CA's CRL must still list is kept)
    Remove {
        /// Certificate id, id prefix, or service (its active certificate)
        target: String,
        /// Revoke an active certificate first
        #[arg(long)]
        force: bool,
    },
    /// Check a certificate's chain against the vault's CAs; says why it fails
    Verify {
        /// Certificate id, service name, or a certificate file
        target: String,
        /// Check at this time (RFC 3339) instead of now
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum TrustCmd {
    /// Add a CA to a service's trust store(s)
    Add(TrustArgs),
    /// Remove a CA from a service's trust store(s)
    Remove(TrustArgs),
    /// Show a service's trust stores
    List {
        /// Service name
        service: String,
    },
}

#[derive(Args, Debug)]
pub struct TrustArgs {
    /// Service name
    pub service: String,
    /// CA name
    #[arg(long)]
    pub ca: String,
    /// Accept client certificates from this CA
    #[arg(long, group = "direction")]
    pub inbound: bool,
    /// Verify servers with this CA
    #[arg(long, group = "direction")]
    pub outbound: bool,
    /// Both
    #[arg(long, group = "direction")]
    pub both: bool,
}

#[derive(Args, Debug)]
pub struct GraphArgs {
    /// json or dot (Graphviz)
    #[arg(long, default_value = "json", value_parser = ["json", "dot"])]
    pub format: String,
    /// Only this environment
    #[arg(long = "env")]
    pub environment: Option<String>,
    /// Only the neighbourhood of this service
    #[arg(long)]
    pub service: Option<String>,
    /// Hops around --service
    #[arg(long, default_value_t = 1, requires = "service")]
    pub depth: usize,
    /// Only services with this tag: key=value, or key for any value
    #[arg(long)]
    pub tag: Option<String>,
    /// Only what a finding of this kind names, e.g. over_trust or broken_intent
    #[arg(long = "finding")]
    pub finding_kind: Option<String>,
    /// An mtls edge for every pair that can talk (up to 300 services), not only intended and
    /// credential pairs (the default, as in the app)
    #[arg(long)]
    pub all_mtls_pairs: bool,
    /// Expiry warning window in days (a certificate is expiring within it or in the last third of its lifetime, whichever is shorter)
    #[arg(long, default_value_t = vault_data::pki::expiry::DEFAULT_WINDOW_DAYS)]
    pub expiring_within: u32,
}

#[derive(Args, Debug)]
pub struct FindingsArgs {
    /// Only this severity and worse: high, medium, low, info
    #[arg(long)]
    pub severity: Option<String>,
    /// Expiry warning window in days (a certificate is expiring within it or in the last third of its lifetime, whichever is shorter)
    #[arg(long, default_value_t = vault_data::pki::expiry::DEFAULT_WINDOW_DAYS)]
    pub expiring_within: u32,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Number of services
    #[arg(long, default_value_t = 40)]
    pub services: usize,
    /// Seed: the same seed builds the same estate
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[command(flatten)]
    pub kdf: KdfArgs,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The service (or use --env for every service of an environment)
    #[arg(required_unless_present = "environment")]
    pub service: Option<String>,
    /// Export every service of this environment into the --out directory
    #[arg(long = "env", conflicts_with = "service")]
    pub environment: Option<String>,
    /// dir, tar.gz, age (a tar.gz encrypted to --recipient), k8s, compose, env or p12
    #[arg(long, default_value = "dir", value_parser = ["dir", "tar.gz", "age", "k8s", "compose", "env", "p12"])]
    pub format: String,
    /// File holding the PKCS#12 password (with --format p12)
    #[arg(long, value_name = "FILE")]
    pub p12_password_file: Option<PathBuf>,
    /// Kubernetes namespace (with --format k8s)
    #[arg(long)]
    pub namespace: Option<String>,
    /// Where to write it (a directory with --env)
    #[arg(long)]
    pub out: PathBuf,
    /// age recipient: age1… or an SSH public key (repeatable; with --format age)
    #[arg(long = "recipient")]
    pub recipients: Vec<String>,
    /// Replace a previous Keyloom export at the output path (one this vault's export history
    /// records there, or a bundle signed by this vault); anything else is never replaced
    #[arg(long)]
    pub force: bool,
    /// Export a service without an active certificate (secrets only)
    #[arg(long)]
    pub secrets_only: bool,
    /// Leave out secrets.env
    #[arg(long)]
    pub no_env: bool,
    /// With --format compose: owner (uid) of the secret files and key, so a container running as
    /// that user can read them (needs root)
    #[arg(long)]
    pub uid: Option<u32>,
    /// With --format compose: group (gid) of the secret files and key; without --uid they become
    /// 0640, readable by a container running with that group
    #[arg(long)]
    pub gid: Option<u32>,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The service
    #[arg(long)]
    pub service: String,
    /// Only secrets, no TLS files, even if the service has a certificate
    #[arg(long)]
    pub secrets_only: bool,
    /// The command and its arguments
    #[arg(trailing_var_arg = true, required = true, num_args = 1..)]
    pub command: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum BundleCmd {
    /// Check the signature and every file of a bundle (directory or tar.gz)
    Verify {
        /// The bundle
        path: PathBuf,
        /// The signing public key (from `keyloom signing-key export`) [default: this vault's own,
        /// which needs the vault unlocked]
        #[arg(long)]
        pubkey: Option<PathBuf>,
    },
    /// Which certificate versions and secrets of a service were exported, and when
    History {
        /// The service
        service: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum SigningKeyCmd {
    /// Write the public half of the bundle signing key
    Export {
        /// Output file
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct PasswdArgs {
    /// Read the new passphrase from this file
    #[arg(long, value_name = "FILE")]
    pub new_passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    pub kdf: KdfArgs,
}

#[derive(Args, Debug)]
pub struct RecoverArgs {
    /// File holding the recovery key (AGE-SECRET-KEY-1…)
    #[arg(long, value_name = "FILE")]
    pub recovery_key_file: PathBuf,
    /// Read the new passphrase from this file
    #[arg(long, value_name = "FILE")]
    pub new_passphrase_file: Option<PathBuf>,
    #[command(flatten)]
    pub kdf: KdfArgs,
}

#[derive(Subcommand, Debug)]
pub enum DeviceCmd {
    /// Keep an unlock key in the OS keyring so the desktop app on this device opens the vault
    /// without a passphrase (needs the passphrase now)
    Enable {
        /// Let the keyloom CLI use it too: any script of this user then reads secrets without a prompt
        #[arg(long)]
        cli: bool,
    },
    /// Remove the device key from the vault and the OS keyring
    Disable,
    /// Whether this vault has a device slot, and whether this device's keyring opens it
    Status,
}

#[derive(Subcommand, Debug)]
pub enum SlotCmd {
    /// Every unlock slot: its id, kind and age
    List,
    /// Add a slot that needs the passphrase AND the file given with --key-file (any non-empty file)
    Add {
        /// The key file that opens the vault today, when it has only a two-factor slot
        #[arg(long, value_name = "FILE")]
        current_key_file: Option<PathBuf>,
        #[command(flatten)]
        kdf: KdfArgs,
    },
    /// Remove a slot by id (or `passphrase` for the plain passphrase slot); the last passphrase
    /// slot and the recovery slot stay
    Remove {
        /// Slot id from `slot list`, or `passphrase`
        slot: String,
    },
}

#[derive(Args, Debug)]
pub struct RekeyArgs {
    /// Also replace the recovery key (the new one is printed once)
    #[arg(long)]
    pub new_recovery_key: bool,
    #[command(flatten)]
    pub kdf: KdfArgs,
}

#[derive(Subcommand, Debug)]
pub enum AuditCmd {
    /// Audit entries, newest first
    List {
        /// At most this many entries
        #[arg(long)]
        limit: Option<usize>,
        /// Only entries whose action starts with this (e.g. secret.reveal, service)
        #[arg(long)]
        action: Option<String>,
    },
    /// Verify the hash chain from the first entry to the head
    Verify,
    /// Export every entry for a SIEM (JSON lines)
    Export {
        /// Output format
        #[arg(long, default_value = "jsonl", value_parser = ["jsonl"])]
        format: String,
        /// Write to this file instead of stdout
        #[arg(long, value_name = "FILE", conflicts_with = "follow")]
        out: Option<PathBuf>,
        /// Only entries after this sequence number
        #[arg(long, value_name = "SEQ")]
        since: Option<u64>,
        /// Keep streaming new entries as they are written (through the agent, so the vault stays
        /// usable); for a log shipper such as Filebeat, Fluent Bit or the Splunk forwarder
        #[arg(long)]
        follow: bool,
        /// With --follow: seconds between checks for new entries
        #[arg(long, default_value_t = 2.0, value_name = "SECS", requires = "follow")]
        interval: f64,
    },
    /// The newest entry's number and hash, signed with the vault's key: keep it outside the vault
    /// folder (a ticket, a SIEM) and check it later with --check
    Head {
        /// Check a head saved earlier: signed by this vault, and still in its history
        #[arg(long, value_name = "FILE")]
        check: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// Rebuild the database from the newest snapshot that authenticates (refused on a healthy vault)
    #[arg(long)]
    pub restore: bool,
    /// With --restore: roll a healthy vault back to its snapshot anyway
    #[arg(long, requires = "restore")]
    pub force: bool,
    /// Accept a vault that is behind this machine's anchor or whose records no longer match its
    /// head (after putting an older copy back on purpose); needs the passphrase or recovery key
    /// and is recorded in the audit log
    #[arg(long, conflicts_with = "restore")]
    pub accept_rollback: bool,
    /// Unlock with the recovery key in this file instead of the passphrase
    #[arg(long, value_name = "FILE")]
    pub recovery_key_file: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_definition_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}

#[derive(Subcommand, Debug)]
pub enum RemoteCmd {
    /// Add a remote. The token comes from --token-file, else BAO_TOKEN or VAULT_TOKEN; or log in
    /// with AppRole (--role-id and --secret-id-file). It is sealed in the vault.
    Add(Box<RemoteAddArgs>),
    /// List remotes
    List,
    /// Ask a remote how it is: reachable, sealed, the token's time left and policies, last sync
    Status {
        /// The remote
        name: String,
    },
    /// Remove a remote here (its sealed token, sync state and conflicts); the server is not touched
    Remove {
        /// The remote
        name: String,
    },
    /// Print this vault's recipient and signing key for a sealed remote, for teammates'
    /// `remote member add`
    Identity {
        /// The remote
        name: String,
    },
    /// The members of a sealed remote: whom values are encrypted to, whose values are accepted
    #[command(subcommand)]
    Member(MemberCmd),
}

#[derive(Subcommand, Debug)]
pub enum MemberCmd {
    /// Pin a teammate: values are encrypted to their recipient, values signed by their key accepted
    Add {
        /// The remote
        remote: String,
        /// A name for them here
        name: String,
        /// Their age recipient (age1…), from their `remote identity`
        #[arg(long)]
        recipient: Option<String>,
        /// Their signing key (ed25519:…), from their `remote identity`
        #[arg(long)]
        signing_key: Option<String>,
    },
    /// Remove a member: secrets synced there are re-encrypted to the members left, and values
    /// they could read are flagged for rotation
    Remove {
        /// The remote
        remote: String,
        /// The member
        name: String,
    },
    /// List members
    List {
        /// The remote
        remote: String,
    },
}

#[derive(Args, Debug)]
pub struct SyncArgs {
    /// The remote
    pub remote: String,
    /// Only this environment
    #[arg(long = "env")]
    pub environment: Option<String>,
    /// Say what would change, change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Subcommand, Debug)]
pub enum ConflictsCmd {
    /// List open conflicts
    List,
    /// Keep one side of a conflict; both values stay in the credential's history
    Resolve {
        /// SERVICE/NAME
        secret: String,
        /// Which value to keep
        #[arg(long, value_enum)]
        take: TakeArg,
        /// The remote, when the secret has conflicts with more than one
        #[arg(long)]
        remote: Option<String>,
    },
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum TakeArg {
    /// This vault's value (the next push writes it)
    Local,
    /// The server's value (it becomes the current version here)
    Remote,
}

#[derive(Args, Debug)]
pub struct RemoteAddArgs {
    /// A name for it here
    pub name: String,
    /// The server, e.g. https://bao.corp.example:8200
    #[arg(long)]
    pub addr: String,
    /// The KV v2 mount
    #[arg(long, default_value = "secret")]
    pub kv_mount: String,
    /// Where under the mount Keyloom keeps `<env>/<service>` secrets
    #[arg(long, default_value = "keyloom")]
    pub prefix: String,
    /// PEM file with the CA certificate(s) that issued the server's certificate
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Namespace (Vault Enterprise, OpenBao namespaces)
    #[arg(long)]
    pub namespace: Option<String>,
    /// A file holding the token (instead of BAO_TOKEN / VAULT_TOKEN)
    #[arg(long, conflicts_with_all = ["role_id", "secret_id_file"])]
    pub token_file: Option<PathBuf>,
    /// AppRole role id (with --secret-id-file)
    #[arg(long, requires = "secret_id_file")]
    pub role_id: Option<String>,
    /// A file holding the AppRole secret id
    #[arg(long, requires = "role_id")]
    pub secret_id_file: Option<PathBuf>,
    /// The AppRole auth mount
    #[arg(long, default_value = "approle")]
    pub approle_mount: String,
    /// Allow a plain http:// address (a local dev server only: the token and secrets travel unencrypted)
    #[arg(long)]
    pub insecure_http: bool,
    /// Seal values before they leave: age-encrypted to this vault and its members, signed by this
    /// vault (the server holds only ciphertext)
    #[arg(long)]
    pub sealed: bool,
    /// A further age recipient (age1…) that may read sealed values (repeatable; with --sealed)
    #[arg(long = "recipient")]
    pub recipients: Vec<String>,
    /// Sync certificates and their private keys too (with --sealed only)
    #[arg(long)]
    pub with_tls: bool,
}

#[derive(Subcommand, Debug)]
pub enum TokenKeyCmd {
    /// Make a service a token issuer: a current signing key and the next one, both published
    Create {
        /// The issuing service
        #[arg(long)]
        service: String,
        /// ES256, EdDSA or RS256
        #[arg(long, default_value = "ES256")]
        alg: String,
    },
    /// The next key (already published) starts signing; the current one stays published as
    /// previous; a new next key is made
    Rotate {
        /// The issuing service
        #[arg(long)]
        service: String,
    },
    /// List token keys (public parts)
    List {
        /// Only this service
        #[arg(long)]
        service: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum TokenIssuerCmd {
    /// Record an issuer from its JWKS (public keys only; HS256, `none` and weak RSA keys are findings)
    Import {
        /// A name for it here (issuers and services share one namespace)
        name: String,
        /// Its JWKS file
        #[arg(long)]
        jwks: PathBuf,
        /// Its `iss` URL
        #[arg(long)]
        issuer_url: Option<String>,
        /// The environment it serves
        #[arg(long = "env")]
        environment: Option<String>,
    },
    /// List issuers: services with token keys and imported ones
    List,
}

#[derive(Args, Debug)]
pub struct GrantArgs {
    /// The service
    pub service: String,
    /// The issuer
    #[arg(long)]
    pub issuer: String,
    /// The audience
    #[arg(long)]
    pub audience: String,
    /// A scope (repeatable)
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum GrantCmd {
    /// Add one
    Add(GrantArgs),
    /// Remove one
    Remove(GrantArgs),
}

#[derive(Subcommand, Debug)]
pub enum TokenCmd {
    /// A service gets tokens from an issuer for an audience (client credentials, a gateway exchange)
    #[command(subcommand)]
    Client(GrantCmd),
    /// A service accepts tokens from an issuer for an audience
    #[command(subcommand)]
    Trust(GrantCmd),
    /// List who gets and who accepts tokens
    List {
        /// Only this service
        service: Option<String>,
    },
    /// Mint a token for development and tests (audited; at most 15 minutes; refused for a
    /// production issuer unless --allow-prod)
    Mint {
        /// The issuing service
        #[arg(long)]
        issuer: String,
        /// The audience
        #[arg(long)]
        aud: String,
        /// The subject (the calling service)
        #[arg(long)]
        sub: String,
        /// Lifetime, e.g. 5m (at most 15m)
        #[arg(long, default_value = "5m")]
        ttl: String,
        /// A scope (repeatable)
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Allow an issuer in a production environment
        #[arg(long)]
        allow_prod: bool,
    },
}
