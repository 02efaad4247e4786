//! The import rules between vault_data's layers, checked on the source (docs/ARCHITECTURE.md
//! draws the layers). A layer may use the ones below it, never the ones it is forbidden:
//!
//! - `store` (sled, files on disk) never imports `graph`, `pki` or `vault`;
//! - `graph` (the trust graph, findings, remedies) never imports `store` or `vault`: it reads the
//!   in-memory estate (`model::Estate`);
//! - `export` never imports `store`: durable writes go through `fs`;
//! - `model` (records and shared value types) never imports `store`, `vault`, `graph`, `pki` or
//!   `export`.
//!
//! What counts as an import: any `crate::<module>` path in code (a `use`, or a path written
//! inline), and any item re-exported at the crate root (`crate::Vault` is the vault layer).
//! Comments and the `#[cfg(test)]` part at the end of a file are not checked: tests may build
//! fixtures through any layer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// (layer, layers it must not import, why).
const RULES: &[(&str, &[&str], &str)] = &[
    ("store", &["graph", "pki", "vault"], "storage knows bytes, trees and files, not what they mean"),
    ("graph", &["store", "vault"], "the graph is computed from the in-memory estate only"),
    ("export", &["store"], "export writes files through fs, never the database"),
    ("model", &["store", "vault", "graph", "pki", "export"], "records and value types sit below everything"),
    (
        "remote",
        &["store", "vault", "graph", "pki", "export", "model"],
        "the server client knows HTTP and the merge rule, not the vault",
    ),
    ("token", &["store", "vault", "graph", "export", "remote"], "JOSE knows keys and tokens, not the vault"),
];

/// Top-level modules of the crate (the layers and their neighbours).
fn modules(src: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for entry in std::fs::read_dir(src).expect("src dir") {
        let path = entry.expect("entry").path();
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
        if path.is_dir() || (path.extension().is_some_and(|e| e == "rs") && name != "lib" && name != "main") {
            out.insert(name);
        }
    }
    out
}

/// Code without comments, and without the trailing `#[cfg(test)]` part.
fn code_of(text: &str) -> String {
    let text = match text.find("\n#[cfg(test)]\nmod ") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = line.trim_start();
        if line.starts_with("//") {
            continue;
        }
        // A trailing comment; string literals holding "//" are rare in these layers and would
        // only hide, never invent, an import.
        let line = line.split(" //").next().unwrap_or(line);
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Names the crate root re-exports, mapped to the module they come from (`Vault` -> `vault`).
fn root_reexports(lib_rs: &str, modules: &BTreeSet<String>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let code = code_of(lib_rs);
    for stmt in code.split(';') {
        let stmt = stmt.trim();
        let Some(path) = stmt.strip_prefix("pub use ") else { continue };
        let Some(module) = path.split("::").next().map(str::trim) else { continue };
        if !modules.contains(module) {
            continue;
        }
        // The names a statement brings in: the last segment, or every name inside its braces.
        let tail = path.rsplit("::").next().unwrap_or("");
        let names: Vec<&str> = match (path.find('{'), path.rfind('}')) {
            (Some(a), Some(b)) => path[a + 1..b].split(',').collect(),
            _ => vec![tail],
        };
        for n in names {
            let n = n.rsplit("::").next().unwrap_or(n).trim();
            let n = n.rsplit(" as ").next().unwrap_or(n).trim();
            if !n.is_empty() {
                out.insert(n.to_string(), module.to_string());
            }
        }
    }
    out
}

/// The crate modules a piece of code refers to through `crate::`.
fn imports(code: &str, modules: &BTreeSet<String>, reexports: &BTreeMap<String, String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut add = |ident: &str| {
        if modules.contains(ident) {
            out.insert(ident.to_string());
        } else if let Some(m) = reexports.get(ident) {
            out.insert(m.clone());
        }
    };
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `crate::{a::X, b, c::{..}}`: the first segment of each top-level entry.
            let mut depth = 0;
            let mut start = 0;
            for (j, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        add(first_ident(&group[start..j]));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        add(first_ident(&group[start..j]));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            add(first_ident(rest));
        }
    }
    out
}

fn first_ident(s: &str) -> &str {
    let s = s.trim_start();
    let end = s.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(s.len());
    &s[..end]
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("layer dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every breach of [`RULES`] under `src`, as "file imports module (why)".
fn breaches(src: &Path) -> Vec<String> {
    let modules = modules(src);
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let reexports = root_reexports(&lib, &modules);
    let mut out = Vec::new();
    for (layer, forbidden, why) in RULES {
        let mut files = Vec::new();
        let dir = src.join(layer);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        }
        let single = src.join(format!("{layer}.rs"));
        if single.is_file() {
            files.push(single);
        }
        assert!(!files.is_empty(), "layer {layer} has no source files: update RULES");
        files.sort();
        for f in files {
            let code = code_of(&std::fs::read_to_string(&f).expect("source file"));
            for m in imports(&code, &modules, &reexports) {
                if forbidden.contains(&m.as_str()) {
                    let rel = f.strip_prefix(src).unwrap_or(&f).display().to_string();
                    out.push(format!("src/{rel} ({layer}) imports {m}: {why}"));
                }
            }
        }
    }
    out
}

/// The files of `vault/` that hold the records layer: sealing, commits, snapshots, the audit
/// chain, unlock and repair. Every other file there is a feature (services, secrets, CAs, ...)
/// and names records, never the database's trees.
const RECORDS_LAYER: &[&str] = &[
    "mod.rs",
    "index.rs",
    "audit_log.rs",
    "doctor.rs",
    "key_admin.rs",
    "migrate.rs",
    "pending.rs",
    "rollback.rs",
    "unlock.rs",
];

/// Feature files of `vault/` that name a tree (`TreeName`) or the store's scans.
fn feature_files_naming_trees(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&src.join("vault"), &mut files);
    files.sort();
    files
        .into_iter()
        .filter(|f| !f.file_name().is_some_and(|n| RECORDS_LAYER.iter().any(|r| n == *r)))
        .filter(|f| {
            let code = code_of(&std::fs::read_to_string(f).expect("source file"));
            code.contains("TreeName") || code.contains("self.store.")
        })
        .map(|f| f.strip_prefix(src).unwrap_or(&f).display().to_string())
        .collect()
}

#[test]
fn vault_features_name_records_not_trees() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = feature_files_naming_trees(&src);
    assert!(
        found.is_empty(),
        "feature files building store operations (use the records layer in vault/mod.rs): {found:?}"
    );
}

#[test]
fn layers_import_only_what_their_rules_allow() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = breaches(&src);
    assert!(found.is_empty(), "layer rules broken (see src/layer_rules.rs):\n{}", found.join("\n"));
}

#[test]
fn the_check_sees_every_way_of_importing() {
    let modules: BTreeSet<String> =
        ["vault", "store", "graph", "model", "error"].iter().map(|s| s.to_string()).collect();
    let reexports = root_reexports("pub use vault::{Unlock, Vault};\npub use error::{Error, Result};", &modules);
    let found = |text: &str| imports(&code_of(text), &modules, &reexports);
    let one = |m: &str| BTreeSet::from([m.to_string()]);
    assert_eq!(found("use crate::vault::index::Index;"), one("vault"));
    assert_eq!(found("fn f() { crate::store::durable::sync_dir(p) }"), one("store"));
    assert_eq!(found("use crate::{model::Service, store::Store};"), BTreeSet::from(["model".into(), "store".into()]));
    assert_eq!(found("use crate::{graph::{a, b}, vault};"), BTreeSet::from(["graph".into(), "vault".into()]));
    assert_eq!(found("fn f(v: &crate::Vault) {}"), one("vault"), "a root re-export is still its layer");
    assert_eq!(found("use crate::Result;"), one("error"));
    // Not imports: comments, docs and tests.
    assert!(found("// see crate::vault::Vault\n/// or crate::store").is_empty());
    assert!(found("fn f() {}\n#[cfg(test)]\nmod tests { use crate::vault::Vault; }").is_empty());
    // A test-only helper in the middle of a file is still checked (only a trailing test module is not).
    assert_eq!(found("#[cfg(test)]\nuse crate::vault::Vault;\nfn f() {}"), one("vault"));
}
