//! The window's permissions, read from the files Tauri compiles in: every command has its own
//! permission and is granted, and nothing reaches the file system, a shell or a remote origin.

use std::collections::BTreeSet;

const BUILD_RS: &str = include_str!("../build.rs");
const KEYLOOM_SET: &str = include_str!("../permissions/keyloom.toml");
const CAPABILITY: &str = include_str!("../capabilities/main-window.json");
const CONFIG: &str = include_str!("../tauri.conf.json");

fn quoted_lines(text: &str) -> BTreeSet<String> {
    text.lines().filter_map(|l| l.trim().strip_prefix('"')?.strip_suffix("\",").map(str::to_string)).collect()
}

#[test]
fn every_command_has_a_granted_permission() {
    let commands: BTreeSet<String> = keyloom_desktop::ipc::COMMANDS.iter().map(|c| c.name.to_string()).collect();
    assert!(commands.len() > 20, "the IPC table lists the app's commands");
    assert!(BUILD_RS.contains("include!(\"src/ipc_table.rs\")"), "build.rs takes its names from the IPC table");
    let granted = quoted_lines(KEYLOOM_SET);
    let expected: BTreeSet<String> = commands.iter().map(|c| format!("allow-{}", c.replace('_', "-"))).collect();
    assert_eq!(granted, expected, "permissions/keyloom.toml must grant exactly the commands of the IPC table");
}

#[test]
fn one_window_one_capability_no_fs_no_shell() {
    let cap: serde_json::Value = serde_json::from_str(CAPABILITY).unwrap();
    assert_eq!(cap["windows"], serde_json::json!(["main"]));
    assert!(cap.get("remote").is_none(), "no remote origin may call commands");
    let perms: Vec<&str> = cap["permissions"].as_array().unwrap().iter().filter_map(|p| p.as_str()).collect();
    for p in &perms {
        assert!(!p.starts_with("fs:") && !p.starts_with("shell:") && !p.starts_with("http:"), "{p} is too wide");
        assert!(!p.ends_with(":default"), "{p}: grant single commands, not default sets");
    }
    let config: serde_json::Value = serde_json::from_str(CONFIG).unwrap();
    assert_eq!(config["app"]["security"]["capabilities"], serde_json::json!(["main-window"]));
    assert_eq!(config["app"]["windows"].as_array().unwrap().len(), 1);
}

#[test]
fn csp_allows_no_remote_origin_and_no_inline_script() {
    let config: serde_json::Value = serde_json::from_str(CONFIG).unwrap();
    let security = &config["app"]["security"];
    // The page freezes Object.prototype itself once its modules have loaded (frontend/src/main.ts):
    // Cytoscape.js cannot load under Tauri's earlier freeze.
    assert_eq!(security["freezePrototype"], false);
    assert!(include_str!("../../frontend/src/main.ts").contains("Object.freeze(Object.prototype)"));
    let csp = security["csp"].as_object().unwrap();
    assert_eq!(csp["default-src"], "'self'");
    assert_eq!(csp["script-src"], "'self'");
    assert_eq!(csp["style-src"], "'self'");
    assert!(security.get("dangerousDisableAssetCspModification").is_none());
    assert_eq!(csp["object-src"], "'none'");
    for (directive, value) in csp {
        let value = value.as_str().unwrap();
        for source in value.split_whitespace() {
            let local =
                source.starts_with('\'') || source == "data:" || source == "ipc:" || source == "http://ipc.localhost";
            assert!(local, "{directive} allows {source}");
        }
    }
}
