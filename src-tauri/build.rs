// Every app command gets its own permission (`allow-<command>`), from the IPC table the app's
// handler, gate and TypeScript functions come from (src/ipc_table.rs; see src/ipc.rs). Only the
// names are taken here. The window's capability grants them through the `keyloom` set in
// permissions/keyloom.toml, generated from the same table.
macro_rules! ipc_table {
    ($( $module:ident :: $name:ident ( $( $arg:ident : $ty:ty ),* ) $( progress ( $p:ty ) )? -> $ret:ty , $gate:ident ; )*) => {
        const COMMANDS: &[&str] = &[ $( stringify!($name) ),* ];
    };
}

include!("src/ipc_table.rs");

fn main() {
    println!("cargo:rerun-if-changed=src/ipc_table.rs");
    let manifest = tauri_build::AppManifest::new().commands(COMMANDS);
    if let Err(e) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        panic!("tauri build step failed: {e:#}");
    }
}
