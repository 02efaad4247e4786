//! The IPC contract, from the one table in `ipc_table.rs`: the handler list, which commands run
//! while locked (the gate), the TypeScript command functions the page calls
//! (`frontend/src/lib/commands.ts`) and the window's permission set (`permissions/keyloom.toml`).
//! build.rs reads the same table for Tauri's per-command permissions. The generated files are
//! committed; a test fails when they drift (`KEYLOOM_UPDATE_BINDINGS=1` rewrites them).

use ts_rs::{Config, TS};

use crate::clipboard::CopyReceipt;
use crate::commands::authorities::{CaCreateArgs, FileArg};
use crate::commands::backup::RestoreArgs;
use crate::commands::certificates::{CertDetail, CertIssueArgs, Progress};
use crate::commands::credentials::{CredentialTarget, RevealedSecret};
use crate::commands::export::{ExportArgs, ExportSummary};
use crate::commands::graph::GraphQuery;
use crate::commands::intents::IntentAdded;
use crate::commands::keys::{RekeyArgs, RekeyOutcome};
use crate::commands::remotes::RemoteAddArgs;
use crate::commands::services::{ServiceDetail, ServiceEditArgs};
use crate::commands::vault::{AppStatus, CreateVaultArgs, CreatedVault, UnlockArgs, UnlockOutcome};
use crate::settings::Settings;
use vault_data::audit::{AuditEntry, AuditReport};
use vault_data::export::BundleCheck;
use vault_data::graph::{Explanation, Finding, Graph, TrustImpact};
use vault_data::pki::crl::Reason;
use vault_data::{
    BundlePreview, CaView, CertView, Charset, Credential, IssueDefaults, SecretSummary, Service, ServiceSpec, Strength,
    TrustView,
};
use vault_data::{
    ConflictView, GrantView, MemberRemoval, MemberView, RemoteStatus, RemoteView, SealIdentity, SyncMode, SyncReport,
    Take, TokenKeyView,
};

/// One command of the contract.
#[derive(Debug, Clone, Copy)]
pub struct CommandSpec {
    /// Its name on the wire (the Rust function's name).
    pub name: &'static str,
    /// Whether it may run while the vault is locked (or none is open).
    pub while_locked: bool,
}

/// One command's TypeScript shape, from the table.
struct TsCommand {
    name: &'static str,
    args: Vec<(&'static str, String)>,
    progress: Option<String>,
    result: String,
}

macro_rules! ipc_table {
    ($( $module:ident :: $name:ident ( $( $arg:ident : $ty:ty ),* ) $( progress ( $p:ty ) )? -> $ret:ty , $gate:ident ; )*) => {
        /// Every command, in the table's order.
        pub const COMMANDS: &[CommandSpec] =
            &[ $( CommandSpec { name: stringify!($name), while_locked: ipc_table!(@gate $gate) } ),* ];

        /// The invoke handler for every command of the table.
        pub fn handler() -> impl Fn(tauri::ipc::Invoke<tauri::Wry>) -> bool + Send + Sync + 'static {
            tauri::generate_handler![ $( crate::commands::$module::$name ),* ]
        }

        fn ts_commands(cfg: &Config) -> Vec<TsCommand> {
            vec![ $( TsCommand {
                name: stringify!($name),
                args: vec![ $( (stringify!($arg), <$ty as TS>::name(cfg)) ),* ],
                progress: ipc_table!(@progress cfg $($p)?),
                result: <$ret as TS>::name(cfg),
            } ),* ]
        }
    };
    (@gate locked) => { true };
    (@gate unlocked) => { false };
    (@progress $cfg:ident) => { None };
    (@progress $cfg:ident $p:ty) => { Some(<$p as TS>::name($cfg)) };
}

include!("ipc_table.rs");

/// `snake_case` → `camelCase`, as Tauri names a command's arguments on the page.
fn camel(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut upper = false;
    for c in s.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The type names a TypeScript type expression uses that bindings.ts declares.
fn declared_names(ts: &str, out: &mut std::collections::BTreeSet<String>) {
    for word in ts.split(|c: char| !c.is_ascii_alphanumeric() && c != '_') {
        if word.starts_with(|c: char| c.is_ascii_uppercase()) && !matches!(word, "Array" | "Record" | "Partial") {
            out.insert(word.to_string());
        }
    }
}

/// frontend/src/lib/commands.ts: one typed function per command.
pub fn typescript_commands() -> String {
    let cfg = Config::default();
    let commands = ts_commands(&cfg);
    let mut types = std::collections::BTreeSet::new();
    for c in &commands {
        for (_, t) in &c.args {
            declared_names(t, &mut types);
        }
        declared_names(&c.result, &mut types);
        if let Some(p) = &c.progress {
            declared_names(p, &mut types);
        }
    }
    let mut out = String::from(
        "// Generated from src-tauri/src/ipc_table.rs by src-tauri/src/ipc.rs: do not edit.\n\
         // KEYLOOM_UPDATE_BINDINGS=1 cargo test -p keyloom-desktop --lib rewrites it.\n",
    );
    out.push_str(&format!(
        "import type {{ {} }} from \"./bindings\";\nimport {{ call, callWithProgress }} from \"./ipc\";\n",
        types.into_iter().collect::<Vec<_>>().join(", ")
    ));
    for c in &commands {
        let mut params: Vec<String> = c.args.iter().map(|(n, t)| format!("{}: {t}", camel(n))).collect();
        let keys: Vec<String> = c.args.iter().map(|(n, _)| camel(n)).collect();
        let object = if keys.is_empty() { "{}".to_string() } else { format!("{{ {} }}", keys.join(", ")) };
        let body = match &c.progress {
            Some(p) => {
                params.push(format!("onProgress: (p: {p}) => void"));
                format!("callWithProgress<{}, {p}>(\"{}\", {object}, onProgress)", c.result, c.name)
            }
            None => format!("call<{}>(\"{}\", {object})", c.result, c.name),
        };
        out.push_str(&format!(
            "export const {} = ({}): Promise<{}> => {body};\n",
            camel(c.name),
            params.join(", "),
            c.result
        ));
    }
    out
}

/// permissions/keyloom.toml: the window's set, one `allow-<command>` per command.
pub fn permission_set() -> String {
    let mut out = String::from(
        "# Generated from src/ipc_table.rs by src/ipc.rs (a test fails when it drifts): one `allow-<command>`\n\
         # per app command. The main window gets exactly this set; nothing here reaches the file system or a shell.\n\
         [[set]]\n\
         identifier = \"keyloom\"\n\
         description = \"Keyloom's own commands. While the vault is locked only the commands marked `locked` in \
         src/ipc_table.rs run (enforced in src/gate.rs).\"\n\
         permissions = [\n",
    );
    for c in COMMANDS {
        out.push_str(&format!("  \"allow-{}\",\n", c.name.replace('_', "-")));
    }
    out.push_str("]\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh(relative: &str, generated: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
        if std::env::var_os("KEYLOOM_UPDATE_BINDINGS").is_some() {
            std::fs::write(&path, generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "{relative} is stale: run KEYLOOM_UPDATE_BINDINGS=1 cargo test -p keyloom-desktop --lib"
        );
    }

    #[test]
    fn the_generated_command_functions_and_permissions_are_fresh() {
        fresh("../frontend/src/lib/commands.ts", &typescript_commands());
        fresh("permissions/keyloom.toml", &permission_set());
    }

    #[test]
    fn the_table_is_well_formed() {
        let mut names: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "a command is declared twice");
        let ts = typescript_commands();
        assert!(ts.contains(
            "export const vaultUnlock = (args: UnlockArgs): Promise<UnlockOutcome> => call<UnlockOutcome>(\"vault_unlock\", { args });"
        ));
        assert!(ts.contains("onProgress: (p: Progress) => void"));
        assert_eq!(camel("rotate_key"), "rotateKey");
    }
}
