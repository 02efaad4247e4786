//! Process hardening for anything that holds an unlocked vault.

use crate::error::{Error, Result};

/// Disables core dumps and ptrace attach by other processes of the same user (Linux:
/// `PR_SET_DUMPABLE 0` and `RLIMIT_CORE 0`), and makes new files private (umask 077), so secrets
/// in memory do not end up in a core file and nothing the process writes is readable by others.
pub fn harden() -> Result<()> {
    use rustix::process::{setrlimit, umask, Resource, Rlimit};
    umask(rustix::fs::Mode::from_raw_mode(0o077));
    setrlimit(Resource::Core, Rlimit { current: Some(0), maximum: Some(0) })
        .map_err(|e| Error::Storage(format!("cannot disable core dumps: {e}")))?;
    #[cfg(target_os = "linux")]
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        .map_err(|e| Error::Storage(format!("cannot disable ptrace attach: {e}")))?;
    Ok(())
}
