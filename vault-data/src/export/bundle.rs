//! A bundle in memory: its files (with modes) and its signed manifest. Secret-bearing contents
//! are zeroized when the bundle is dropped.

use zeroize::Zeroizing;

use crate::export::manifest::Manifest;

/// Mode of files holding private keys or secret values.
pub const SECRET_MODE: u32 = 0o600;
/// Mode of public files (certificates, CRLs, public keys, the manifest), wherever Keyloom writes them.
pub const PUBLIC_MODE: u32 = 0o644;

/// One file of a bundle.
pub struct BundleFile {
    /// Path inside the bundle, `/`-separated.
    pub path: String,
    /// Unix mode.
    pub mode: u32,
    /// Contents.
    pub contents: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for BundleFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleFile")
            .field("path", &self.path)
            .field("mode", &format_args!("{:04o}", self.mode))
            .finish()
    }
}

/// A complete bundle: `files` includes `manifest.json` and `manifest.sig`.
#[derive(Debug)]
pub struct Bundle {
    /// The manifest, parsed.
    pub manifest: Manifest,
    /// Every file, manifest last.
    pub files: Vec<BundleFile>,
}
