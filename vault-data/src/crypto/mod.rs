//! The key hierarchy: the vault key, its HKDF subkeys, record sealing and the unlock slots
//! that wrap the vault key with age.

pub mod device_keyring;
pub mod generate;
pub mod key_text;
pub mod keys;
pub mod passphrase;
pub mod seal;
pub mod slots;
