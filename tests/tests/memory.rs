//! Memory: every vault key and subkey buffer an unlocked vault holds is zeroized and dropped when it
//! locks or closes, observed through vault_data's own counter of live key buffers (each buffer is
//! wiped in its Drop before the count goes down). One test in its own process, so no other test's
//! keys are counted.

use vault_data::crypto::keys::live_key_buffers;
use vault_data::{CreateOptions, KdfCost, SecretString, Unlock, Vault};

#[test]
fn lock_and_close_wipe_every_key_buffer() {
    let base = live_key_buffers();
    let root = tempfile::tempdir().unwrap();
    let pass = SecretString::from("correct horse battery staple".to_string());
    let (mut vault, _) =
        Vault::create(&root.path().join("v"), &pass, CreateOptions { kdf: KdfCost::LogN(14), ..Default::default() })
            .unwrap();
    vault.populate_demo(8, 1).unwrap();
    assert!(live_key_buffers() >= base + 6, "an unlocked vault holds its key and five subkeys");

    vault.lock().unwrap();
    assert_eq!(live_key_buffers(), base, "lock left key buffers alive");
    assert_eq!(vault.services().list().unwrap_err().code(), "locked");

    vault.unlock(Unlock::Passphrase(pass.clone())).unwrap();
    let secret = vault.secrets().list(None).unwrap().into_iter().next().unwrap();
    let value =
        vault.secrets_mut().reveal(&format!("{}/{}", secret.service, secret.name).parse().unwrap(), None).unwrap();
    assert!(live_key_buffers() > base);
    drop(value); // a SecretSlice: secrecy zeroizes it on drop
    vault.close().unwrap();
    assert_eq!(live_key_buffers(), base, "close left key buffers alive");
}
