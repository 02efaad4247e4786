//! Export bundles: a service's certificate, key, trust stores and secrets in the layout of
//! DESIGN.md, described by a signed manifest, written as a directory, a tar.gz or an age file,
//! and verified against the vault's bundle signing key.

pub mod bundle;
pub mod envfile;
pub mod envparse;
pub mod manifest;
pub mod platform;
pub mod replace;
pub mod run;
pub mod secrets_json;
pub mod template;
pub mod verify;
pub mod write;

pub use bundle::{Bundle, BundleFile};
pub use manifest::{Manifest, ManifestFile};
pub use replace::{OutputKind, ReplaceRule};
pub use verify::{verify_bundle, BundleCheck};
pub use write::{render, target_in, write_bundle, Format, Rendered};
