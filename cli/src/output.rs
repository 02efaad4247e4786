//! Where a command's input and output go: this process's own stdin/stdout/stderr, or, when the
//! command runs inside the agent for a client, the client's, received over the agent socket.
//!
//! The crate root redefines `println!`, `print!`, `eprintln!` and `eprint!` to call [`write`],
//! so every command prints the same way whether it runs here or in the agent, and a command
//! added later cannot forget to. Environment variables the commands read ([`env_var`]) and
//! standard input ([`stdin`]) follow the same rule.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{IsTerminal, Read, Write};

/// The client a command is running for, inside the agent.
pub struct Client {
    pub stdin: File,
    pub stdout: File,
    pub stderr: File,
    /// The client's values of the variables Keyloom reads (nothing else is sent).
    pub env: BTreeMap<String, String>,
}

thread_local! {
    static CLIENT: RefCell<Option<Client>> = const { RefCell::new(None) };
}

/// Runs `f` with output, input and environment redirected to `client`.
pub fn with_client<T>(client: Client, f: impl FnOnce() -> T) -> T {
    CLIENT.with(|c| *c.borrow_mut() = Some(client));
    let out = f();
    CLIENT.with(|c| {
        if let Some(mut client) = c.borrow_mut().take() {
            let _ = client.stdout.flush();
            let _ = client.stderr.flush();
        }
    });
    out
}

/// Whether a command is running inside the agent for a client.
pub fn is_remote() -> bool {
    CLIENT.with(|c| c.borrow().is_some())
}

/// Writes to stdout (`err` false) or stderr. A closed pipe ends the process quietly here (like
/// other Unix tools); in the agent it only ends that client's output.
pub fn write(args: std::fmt::Arguments<'_>, newline: bool, err: bool) {
    let remote = CLIENT.with(|c| {
        let mut c = c.borrow_mut();
        let Some(client) = c.as_mut() else { return false };
        let f = if err { &mut client.stderr } else { &mut client.stdout };
        let _ = f.write_fmt(args).and_then(|_| if newline { f.write_all(b"\n") } else { Ok(()) });
        true
    });
    if remote {
        return;
    }
    let res = if err {
        let mut e = std::io::stderr().lock();
        e.write_fmt(args).and_then(|_| if newline { e.write_all(b"\n") } else { Ok(()) })
    } else {
        let mut o = std::io::stdout().lock();
        o.write_fmt(args).and_then(|_| if newline { o.write_all(b"\n") } else { Ok(()) })
    };
    if let Err(e) = res {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
    }
}

/// Writes raw bytes (a secret value, an export) to stdout and flushes.
pub fn write_stdout_bytes(bytes: &[u8]) -> std::io::Result<()> {
    let remote = CLIENT.with(|c| {
        c.borrow_mut().as_mut().map(|client| client.stdout.write_all(bytes).and_then(|_| client.stdout.flush()))
    });
    match remote {
        Some(r) => r,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes).and_then(|_| out.flush())
        }
    }
}

/// A variable Keyloom reads, from the client's environment when running for one.
pub fn env_var(name: &str) -> Option<String> {
    if let Some(v) = CLIENT.with(|c| c.borrow().as_ref().map(|c| c.env.get(name).cloned())) {
        return v;
    }
    std::env::var(name).ok()
}

/// How long a command served for a client waits for the client's stdin to say something. The
/// agent (and the desktop app, which holds its vault lock meanwhile) serves one command at a
/// time: a client that never writes must not hold off `lock`, the TTL or the app's auto-lock.
pub const CLIENT_STDIN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Standard input: the client's when running for one (each read waits at most
/// [`CLIENT_STDIN_TIMEOUT`]).
pub fn stdin() -> Box<dyn Read> {
    match CLIENT.with(|c| c.borrow().as_ref().map(|c| c.stdin.try_clone())) {
        Some(Ok(f)) => Box::new(TimedRead(f)),
        Some(Err(_)) => Box::new(std::io::empty()),
        None => Box::new(std::io::stdin()),
    }
}

/// A client's stdin whose reads give up after [`CLIENT_STDIN_TIMEOUT`] without data.
struct TimedRead(File);

impl Read for TimedRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let timeout = rustix::time::Timespec { tv_sec: CLIENT_STDIN_TIMEOUT.as_secs() as i64, tv_nsec: 0 };
        let mut fds = [rustix::event::PollFd::new(&self.0, rustix::event::PollFlags::IN)];
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(0) => Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "nothing arrived on stdin for 30 s")),
            Ok(_) => self.0.read(buf),
            Err(e) => Err(e.into()),
        }
    }
}

/// Whether stdin and stderr are a terminal (prompts need both). A client's terminal is never
/// prompted from the agent: the client asks before it sends the request.
pub fn interactive() -> bool {
    if is_remote() {
        return false;
    }
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Whether stdin is a terminal (so nothing was piped in).
pub fn stdin_is_terminal() -> bool {
    CLIENT.with(|c| match c.borrow().as_ref() {
        Some(client) => client.stdin.is_terminal(),
        None => std::io::stdin().is_terminal(),
    })
}
