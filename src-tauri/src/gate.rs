//! Which commands may run while the vault is locked.
//!
//! The capability file decides which commands the window may call at all; this gate decides,
//! on every call, whether the vault's state allows it. While locked (or before any vault is
//! open) only status, unlock and create commands pass; everything else is refused before it
//! runs with `{code: "locked"}`.

/// Whether `command` may run now: everything while unlocked; while locked, only the commands the
/// IPC table marks `locked` (status, unlock, create, open, restore).
pub fn allowed(command: &str, unlocked: bool) -> bool {
    unlocked || crate::ipc::COMMANDS.iter().any(|c| c.while_locked && c.name == command)
}

/// Whether a call counts as the user doing something (status checks do not).
pub fn is_activity(command: &str) -> bool {
    command != "app_status"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locked_vault_allows_only_status_unlock_create() {
        let while_locked: Vec<&str> = crate::ipc::COMMANDS.iter().filter(|c| c.while_locked).map(|c| c.name).collect();
        assert_eq!(
            while_locked,
            [
                "app_status",
                "passphrase_strength",
                "vault_create",
                "vault_create_demo",
                "vault_open",
                "vault_unlock",
                "key_file_pick",
                // Quitting closes the vault; it reveals nothing and must work on the lock screen.
                "app_quit",
                "vault_restore"
            ]
        );
        for cmd in while_locked {
            assert!(allowed(cmd, false));
        }
        for cmd in ["services_list", "credential_reveal", "credential_copy", "cert_issue", "vault_lock", "activity"] {
            assert!(!allowed(cmd, false), "{cmd} must be refused while locked");
            assert!(allowed(cmd, true));
        }
    }
}
