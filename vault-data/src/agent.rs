//! The agent's socket: where it lives, who may talk to it, and how a request travels.
//!
//! An unlocked vault can live in one long-running process (the `keyloom` agent, like ssh-agent
//! or rbw-agent) that CLI commands ask instead of deriving the key and reopening the vault each
//! time. Both ends check each other before anything is sent:
//! - the socket sits in a directory owned by this user with mode 0700 (`$XDG_RUNTIME_DIR/keyloom`,
//!   else `/tmp/keyloom-<uid>`), and is itself 0600; a client refuses a directory that is not;
//! - the agent checks every client's uid with `SO_PEERCRED`, and the client checks the agent's.
//!
//! What this does not stop, by design (as with ssh-agent): any process of the same user can use
//! an unlocked agent. docs/SECURITY.md has the threat model.
//!
//! A request is one JSON document (argv, working directory, the variables Keyloom reads) sent
//! with the client's stdin, stdout and stderr as `SCM_RIGHTS` file descriptors, so the command
//! reads and prints exactly as it would in the client. The reply is the exit code.

use std::collections::BTreeMap;
use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Largest request accepted (argv and environment of one command).
const MAX_REQUEST: usize = 1 << 20;

/// What a client asks the agent to do.
#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    /// The command line, as the client's `keyloom` received it (program name first).
    pub argv: Vec<String>,
    /// The client's working directory, for relative paths in the arguments.
    pub cwd: PathBuf,
    /// The client's values of the environment variables Keyloom reads.
    pub env: BTreeMap<String, String>,
}

/// The agent's answer once the command is done.
#[derive(Debug, Serialize, Deserialize)]
pub struct Reply {
    /// The command's exit code.
    pub exit: i32,
}

/// A request received by the agent, with the client's standard streams.
pub struct Received {
    /// The request.
    pub request: Request,
    /// The client's stdin, stdout and stderr.
    pub stdio: [std::fs::File; 3],
    /// The client's process id, as the kernel reports it.
    pub peer_pid: Option<u32>,
}

/// The process ids above `pid` (its parent, the parent's parent, …), from `/proc`. Stops at
/// init or after 64 steps.
pub fn ancestors(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut at = pid;
    for _ in 0..64 {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{at}/stat")) else { break };
        // The command name is in parentheses and may hold spaces: the parent pid follows the last ')'.
        let Some(ppid) = stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)) else { break };
        let Ok(ppid) = ppid.parse::<u32>() else { break };
        if ppid <= 1 {
            break;
        }
        out.push(ppid);
        at = ppid;
    }
    out
}

/// Where this user's agent sockets live: `$XDG_RUNTIME_DIR/keyloom`, else `/tmp/keyloom-<uid>`.
fn socket_dir_path() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(run) => PathBuf::from(run).join("keyloom"),
        None => std::env::temp_dir().join(format!("keyloom-{}", rustix::process::getuid().as_raw())),
    }
}

/// The private directory holding this user's agent sockets, created 0700 if missing. Refused
/// (never used) when it belongs to someone else or others can enter it.
pub fn socket_dir() -> Result<PathBuf> {
    let uid = rustix::process::getuid().as_raw();
    let dir = socket_dir_path();
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::Io { action: "cannot create", path: dir, source: e }),
    }
    check_private_dir(&dir, uid)?;
    Ok(dir)
}

/// What went wrong with the agent's socket or one conversation (see [`Error::Agent`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentFault {
    /// The socket directory is not a private directory of this user.
    #[error(
        "the agent directory {} is not private (owner uid {owner}, mode {mode:o}; expected uid {expected}, mode 700); \
         refusing to use it", .dir.display()
    )]
    NotPrivate {
        /// The directory.
        dir: PathBuf,
        /// Its owner.
        owner: u32,
        /// Its permission bits.
        mode: u32,
        /// The uid it must belong to.
        expected: u32,
    },
    /// Another agent answers on this vault's socket.
    #[error("an agent is already running for this vault")]
    AlreadyRunning,
    /// The process at the other end runs as another user.
    #[error("refused: the process at the other end runs as uid {peer}, not {me}")]
    ForeignPeer {
        /// The peer's uid.
        peer: u32,
        /// This process's uid.
        me: u32,
    },
    /// Sending or receiving failed at the given step.
    #[error("{step}: {detail}")]
    Conversation {
        /// Which step ("cannot talk to the agent", "cannot read the request", ...).
        step: &'static str,
        /// The system's words.
        detail: String,
    },
    /// The agent closed the connection without a reply (it was locked or timed out meanwhile).
    #[error("the agent stopped before answering (was it locked?)")]
    NoReply,
    /// A request larger than an agent accepts.
    #[error("the request is too large")]
    TooLarge,
    /// A request that is not a request, or came without its three standard streams.
    #[error("the request is not understood")]
    Malformed,
}

fn talk(step: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    move |e| Error::Agent(AgentFault::Conversation { step, detail: e.to_string() })
}

/// Checks that `dir` is a real directory (not a link) owned by `uid` with no access for others.
pub fn check_private_dir(dir: &Path, uid: u32) -> Result<()> {
    let meta = std::fs::symlink_metadata(dir).map_err(Error::io("cannot inspect", dir))?;
    if !meta.is_dir() || meta.uid() != uid || meta.permissions().mode() & 0o077 != 0 {
        return Err(Error::Agent(AgentFault::NotPrivate {
            dir: dir.to_path_buf(),
            owner: meta.uid(),
            mode: meta.permissions().mode() & 0o7777,
            expected: uid,
        }));
    }
    Ok(())
}

/// The agent socket for the vault at `vault_dir` (its directory made and checked): one per
/// vault, named by a hash of its path.
pub fn socket_path(vault_dir: &Path) -> Result<PathBuf> {
    Ok(socket_dir()?.join(socket_name(vault_dir)))
}

fn socket_name(vault_dir: &Path) -> String {
    let canonical = std::fs::canonicalize(vault_dir).unwrap_or_else(|_| vault_dir.to_path_buf());
    let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
    format!("agent-{}.sock", &hex::encode(digest)[..16])
}

/// Binds the agent socket at `path`, 0600, replacing a stale socket (one nobody answers on).
pub fn bind(path: &Path) -> Result<UnixListener> {
    if path.exists() {
        if UnixStream::connect(path).is_ok() {
            return Err(Error::Agent(AgentFault::AlreadyRunning));
        }
        std::fs::remove_file(path).map_err(Error::io("cannot remove stale socket", path))?;
    }
    let listener = UnixListener::bind(path).map_err(Error::io("cannot listen on", path))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(Error::io("cannot set mode of", path))?;
    Ok(listener)
}

/// Checks that the process at the other end of `stream` runs as this user.
pub fn check_peer(stream: &UnixStream) -> Result<()> {
    let cred = rustix::net::sockopt::socket_peercred(stream)
        .map_err(|e| talk("cannot identify the process at the other end")(e.into()))?;
    let me = rustix::process::getuid();
    if cred.uid != me {
        return Err(Error::Agent(AgentFault::ForeignPeer { peer: cred.uid.as_raw(), me: me.as_raw() }));
    }
    Ok(())
}

/// The pid of the process at the other end of `stream`.
pub fn peer_pid(stream: &UnixStream) -> Option<u32> {
    rustix::net::sockopt::socket_peercred(stream).ok().and_then(|c| u32::try_from(c.pid.as_raw_nonzero().get()).ok())
}

/// Connects to the agent of `vault_dir`, if one is running, after checking its directory and
/// its uid. `Ok(None)` when there is no agent (no socket, or nobody answering).
pub fn connect(vault_dir: &Path) -> Result<Option<UnixStream>> {
    // Asking whether an agent runs creates nothing: no directory, no agent.
    let dir = socket_dir_path();
    if std::fs::symlink_metadata(&dir).is_err() {
        return Ok(None);
    }
    check_private_dir(&dir, rustix::process::getuid().as_raw())?;
    let path = dir.join(socket_name(vault_dir));
    if !path.exists() {
        return Ok(None);
    }
    let stream = match UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e) if matches!(e.kind(), std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::NotFound) => {
            return Ok(None)
        }
        Err(e) => return Err(Error::Io { action: "cannot connect to", path, source: e }),
    };
    check_peer(&stream)?;
    Ok(Some(stream))
}

/// Sends `request` with the standard streams `stdio` (stdin, stdout, stderr), then waits for
/// the reply.
pub fn call(mut stream: UnixStream, request: &Request, stdio: [std::os::fd::BorrowedFd<'_>; 3]) -> Result<Reply> {
    let body = serde_json::to_vec(request).map_err(|e| talk("cannot encode the request")(e.into()))?;
    let len = (body.len() as u32).to_be_bytes();
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(3))];
    let mut control = rustix::net::SendAncillaryBuffer::new(&mut space);
    if !control.push(rustix::net::SendAncillaryMessage::ScmRights(&stdio)) {
        return Err(Error::Agent(AgentFault::Malformed));
    }
    let sent = rustix::net::sendmsg(&stream, &[IoSlice::new(&len)], &mut control, rustix::net::SendFlags::empty())
        .map_err(|e| talk("cannot talk to the agent")(e.into()))?;
    if sent != len.len() {
        return Err(talk("cannot talk to the agent")(std::io::ErrorKind::WriteZero.into()));
    }
    stream.write_all(&body).map_err(talk("cannot talk to the agent"))?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).map_err(talk("the agent did not answer"))?;
    serde_json::from_slice(&answer).map_err(|_| Error::Agent(AgentFault::NoReply))
}

/// Receives one request (after the caller checked the peer).
pub fn receive(stream: &mut UnixStream) -> Result<Received> {
    let mut len = [0u8; 4];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(3))];
    let mut control = rustix::net::RecvAncillaryBuffer::new(&mut space);
    let got = rustix::net::recvmsg(
        stream.as_fd(),
        &mut [IoSliceMut::new(&mut len)],
        &mut control,
        rustix::net::RecvFlags::CMSG_CLOEXEC,
    )
    .map_err(|e| talk("cannot read the request")(e.into()))?;
    let mut fds: Vec<OwnedFd> = Vec::new();
    for msg in control.drain() {
        if let rustix::net::RecvAncillaryMessage::ScmRights(rights) = msg {
            fds.extend(rights);
        }
    }
    if got.bytes < len.len() {
        stream.read_exact(&mut len[got.bytes..]).map_err(talk("cannot read the request"))?;
    }
    let n = u32::from_be_bytes(len) as usize;
    if n > MAX_REQUEST {
        return Err(Error::Agent(AgentFault::TooLarge));
    }
    let mut body = vec![0u8; n];
    stream.read_exact(&mut body).map_err(talk("cannot read the request"))?;
    let request: Request = serde_json::from_slice(&body).map_err(|_| Error::Agent(AgentFault::Malformed))?;
    let [a, b, c]: [OwnedFd; 3] = fds.try_into().map_err(|_| Error::Agent(AgentFault::Malformed))?;
    Ok(Received { request, stdio: [a.into(), b.into(), c.into()], peer_pid: peer_pid(stream) })
}

/// Sends the reply and closes the connection.
pub fn reply(mut stream: UnixStream, reply: &Reply) -> Result<()> {
    let body = serde_json::to_vec(reply).map_err(|e| talk("cannot encode the reply")(e.into()))?;
    stream.write_all(&body).map_err(talk("cannot answer the client"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_others_can_enter_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let uid = rustix::process::getuid().as_raw();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        check_private_dir(d.path(), uid).unwrap();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(matches!(check_private_dir(d.path(), uid), Err(Error::Agent(AgentFault::NotPrivate { .. }))));
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        assert!(check_private_dir(d.path(), uid + 1).is_err(), "another owner is refused");
    }

    #[test]
    fn request_travels_with_its_streams() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let req = Request { argv: vec!["keyloom".into(), "status".into()], cwd: "/".into(), env: BTreeMap::new() };
        let (mut r, w) = std::io::pipe().unwrap();
        let t = std::thread::spawn(move || {
            let stdin = std::fs::File::open("/dev/null").unwrap();
            let err = std::fs::File::open("/dev/null").unwrap();
            call(a, &req, [stdin.as_fd(), w.as_fd(), err.as_fd()]).unwrap().exit
        });
        check_peer(&b).unwrap();
        let got = receive(&mut b).unwrap();
        assert_eq!(got.request.argv, ["keyloom", "status"]);
        let [_, mut out, _] = got.stdio;
        out.write_all(b"hello").unwrap();
        drop(out);
        reply(b, &Reply { exit: 7 }).unwrap();
        assert_eq!(t.join().unwrap(), 7);
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "hello");
    }
}
