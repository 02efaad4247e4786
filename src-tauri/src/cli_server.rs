//! Serves `keyloom` CLI commands while the app holds a vault, on the same socket an agent would use
//! (as 1Password's app serves `op`). sled lets one process open a vault, so without this the CLI
//! could not run at all while the app is open.
//!
//! The socket exists while a vault is open in the app. A command runs only while that vault is
//! unlocked, on the app's own vault handle, under the vault mutex (so it queues with the UI's
//! commands); while locked the client is told to unlock in the app. `keyloom lock` locks the app.
//! Both ends check each other's uid (`vault_data::agent`).

use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::time::Duration;

use tauri::{AppHandle, Emitter, Manager};
use vault_data::agent::{self, Reply};

use crate::idle::LOCKED_EVENT;
use crate::state::{lock, AppState};

/// Starts the server thread: it follows whichever vault the app has open.
pub fn spawn(app: AppHandle) {
    std::thread::spawn(move || {
        let mut serving: Option<(PathBuf, PathBuf, UnixListener)> = None;
        loop {
            let state = app.state::<AppState>();
            let open = lock(&state.vault).as_ref().map(|v| v.path().to_path_buf());
            if serving.as_ref().map(|s| &s.0) != open.as_ref() {
                if let Some((_, socket, _)) = serving.take() {
                    let _ = std::fs::remove_file(socket);
                }
                if let Some(dir) = open {
                    serving = listen(&dir).map(|(socket, l)| (dir, socket, l));
                }
            }
            let accepted = serving.as_ref().map(|(_, _, l)| l.accept());
            match accepted {
                Some(Ok((stream, _))) => serve(&app, serving.as_ref().map(|s| s.0.clone()), stream),
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    });
}

fn listen(dir: &std::path::Path) -> Option<(PathBuf, UnixListener)> {
    let socket = agent::socket_path(dir).ok()?;
    match agent::bind(&socket) {
        Ok(l) => {
            let _ = l.set_nonblocking(true);
            Some((socket, l))
        }
        Err(e) => {
            tracing::warn!(error = %e, "not serving the CLI for this vault");
            None
        }
    }
}

fn serve(app: &AppHandle, dir: Option<PathBuf>, mut stream: std::os::unix::net::UnixStream) {
    let Some(dir) = dir else { return };
    if stream.set_nonblocking(false).is_err() || agent::check_peer(&stream).is_err() {
        return;
    }
    // A client that connects and says nothing must not stall the server.
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Ok(received) = agent::receive(&mut stream) else { return };
    let state = app.state::<AppState>();
    let mut guard = lock(&state.vault);
    let vault = match guard.take() {
        Some(v) if v.is_unlocked() => v,
        other => {
            *guard = other;
            drop(guard);
            keyloom_cli::agent::refuse(
                received,
                "the Keyloom app holds this vault and it is locked: unlock it in the app, then try again",
            );
            let _ = agent::reply(stream, &Reply { exit: 2 });
            return;
        }
    };
    let (exit, back, lock_now) = keyloom_cli::agent::serve_request(&dir, vault, received);
    *guard = back;
    state.sync_unlocked(&guard);
    drop(guard);
    if lock_now {
        if let Err(e) = state.lock_vault() {
            tracing::warn!(code = e.code(), "locking for the CLI could not write the snapshot");
        }
        let _ = app.emit(LOCKED_EVENT, "cli");
    }
    let _ = agent::reply(stream, &Reply { exit });
}
