//! Native file dialogs, opened from Rust so the page never names a path to write. They start in
//! the user's documents (or home) folder, not the app's working directory.

use tauri::{AppHandle, Runtime};
use tauri_plugin_dialog::{DialogExt, FileDialogBuilder};

/// A file dialog titled `title`, starting where a person keeps their files.
pub fn file_dialog<R: Runtime>(app: &AppHandle<R>, title: &str) -> FileDialogBuilder<R> {
    let dialog = app.dialog().file().set_title(title);
    let start = directories::UserDirs::new().and_then(|d| {
        d.document_dir().filter(|p| p.is_dir()).map(std::path::Path::to_path_buf).or(Some(d.home_dir().to_path_buf()))
    });
    match start {
        Some(dir) => dialog.set_directory(dir),
        None => dialog,
    }
}
