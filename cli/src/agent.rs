//! The agent: one process holding the vault unlocked, serving CLI commands over a Unix socket
//! (the transport and its checks are `vault_data::agent`).
//!
//! `keyloom unlock` proves a real factor, then starts `keyloom agent` in the background, handing it
//! the passphrase through a pipe (never the command line or the environment). The agent unlocks,
//! listens, and runs each client's command on its vault, one at a time, with the client's stdin,
//! stdout and stderr. It ends, wiping the key, on `keyloom lock`, when its TTL (fixed at start)
//! is up, or after an idle time.

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use vault_data::agent::{self, Reply, Request};
use vault_data::{SecretString, Vault};

use crate::args::{Cli, Command};
use crate::context::Context;
use crate::error::{CliError, CliResult};

/// Environment variables a client sends along with a command that changes factors: the ones
/// those commands read.
pub const FORWARDED_ENV: &[&str] = &["KEYLOOM_PASSPHRASE", "KEYLOOM_NEW_PASSPHRASE"];

/// Commands that need the passphrase itself (a proof) or a new one, even through the agent.
fn needs_factors(command: &Command) -> bool {
    matches!(
        command,
        Command::Passwd(_)
            | Command::Recover(_)
            | Command::Rekey(_)
            | Command::Device(crate::args::DeviceCmd::Enable { .. })
            | Command::Slot(crate::args::SlotCmd::Add { .. } | crate::args::SlotCmd::Remove { .. })
    )
}

/// What the agent replies with when it was locked by the request.
const LOCKED_EXIT: i32 = 0;

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

/// Whether a command may run inside the agent. The others run in the client: they make or
/// restore a vault, or start processes of their own.
fn runs_in_agent(command: &Command) -> bool {
    !matches!(command, Command::Init(_) | Command::Demo(_) | Command::Unlock(_) | Command::Agent(_) | Command::Run(_))
        && !matches!(command, Command::Doctor(a) if a.restore)
        // A follower polls the agent; sent whole, it would hold the agent for good.
        && !matches!(command, Command::Audit(crate::args::AuditCmd::Export { follow: true, .. }))
}

/// The vault's agent, if one runs. A socket directory that is not private is never used: the
/// command runs here instead, with a warning (someone else may have made that directory).
pub fn connect(ctx: &Context) -> CliResult<Option<std::os::unix::net::UnixStream>> {
    match agent::connect(&ctx.vault_dir) {
        Ok(s) => Ok(s),
        Err(e @ vault_data::Error::Agent(_)) => {
            eprintln!("warning: {e}; running without the agent");
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Runs `cli`'s command through the vault's agent if one is running. `Ok(None)`: no agent, run it
/// here. `Ok(Some(code))`: it ran there and exited with `code`.
pub fn forward(cli: &Cli, ctx: &Context) -> CliResult<Option<i32>> {
    if !runs_in_agent(&cli.command) {
        return Ok(None);
    }
    // `run-bundle` answers `run` only (through `capture`): typed at a terminal, it would print a
    // service's key and secrets through the agent.
    if matches!(cli.command, Command::RunBundle { .. }) {
        return Err(CliError::Usage("run-bundle is internal to `keyloom run`".into()));
    }
    let Some(stream) = connect(ctx)? else {
        return Ok(None);
    };
    let mut argv = Vec::new();
    for a in std::env::args_os() {
        match a.into_string() {
            Ok(s) => argv.push(s),
            Err(_) => {
                return Err(CliError::Usage(
                    "an argument is not UTF-8 text, so it cannot be passed to the agent; stop it with `keyloom lock` \
                     to run this command on its own"
                        .into(),
                ))
            }
        }
    }
    // A key file named by KEYLOOM_KEY_FILE travels as the argument clap would have read it from
    // (the agent parses argv, not the client's environment); it is a path, not a secret.
    if let Some(file) = cli.key_file.as_ref().filter(|_| !argv.iter().any(|a| a.starts_with("--key-file"))) {
        argv.insert(1, format!("--key-file={}", file.display()));
    }
    // Only the commands that need a proof or a new passphrase send them; nothing else of the
    // client's environment reaches the agent.
    let mut env: BTreeMap<String, String> = if needs_factors(&cli.command) {
        FORWARDED_ENV.iter().filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v))).collect()
    } else {
        BTreeMap::new()
    };
    // A remote's token travels to the agent that seals it, from the variables `remote add` reads.
    if matches!(&cli.command, Command::Remote(crate::args::RemoteCmd::Add(_))) {
        for k in crate::commands::remote::TOKEN_VARIABLES {
            if let Ok(v) = std::env::var(k) {
                env.insert(k.to_string(), v);
            }
        }
    }
    prompt_for_agent(&cli.command, ctx, &mut env)?;
    let cwd =
        std::env::current_dir().map_err(|e| CliError::Usage(format!("cannot read the working directory: {e}")))?;
    let request = Request { argv, cwd, env };
    let (stdin, stdout, stderr) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
    let _ = std::io::stdout().flush();
    let reply = agent::call(stream, &request, [stdin.as_fd(), stdout.as_fd(), stderr.as_fd()])?;
    Ok(Some(reply.exit))
}

/// Runs `args` (a `keyloom` command line without the program name) in the vault's agent with
/// its stdout captured, for commands that need the agent's answer as data (`run`). `Ok(None)`
/// when no agent runs.
pub fn capture(ctx: &Context, args: &[&str]) -> CliResult<Option<(i32, zeroize::Zeroizing<Vec<u8>>)>> {
    let Some(stream) = connect(ctx)? else { return Ok(None) };
    let mut argv = vec!["keyloom".to_string(), "--vault".to_string(), ctx.vault_dir.display().to_string()];
    argv.extend(args.iter().map(|a| a.to_string()));
    let cwd =
        std::env::current_dir().map_err(|e| CliError::Usage(format!("cannot read the working directory: {e}")))?;
    let request = Request { argv, cwd, env: BTreeMap::new() };
    let (mut reader, writer) =
        std::io::pipe().map_err(|e| CliError::Usage(format!("cannot talk to the agent: {e}")))?;
    let collect = std::thread::spawn(move || {
        let mut out = zeroize::Zeroizing::new(Vec::new());
        let _ = reader.read_to_end(&mut out);
        out
    });
    let devnull =
        std::fs::File::open("/dev/null").map_err(|e| CliError::Usage(format!("cannot open /dev/null: {e}")))?;
    let stderr = std::io::stderr();
    let reply = agent::call(stream, &request, [devnull.as_fd(), writer.as_fd(), stderr.as_fd()]);
    drop(writer);
    let out = collect.join().map_err(|_| CliError::Usage("cannot read the agent's answer".into()))?;
    Ok(Some((reply?.exit, out)))
}

/// The agent never prompts on a client's terminal; commands that need a typed secret ask here
/// first and send it with the request.
fn prompt_for_agent(command: &Command, ctx: &Context, env: &mut BTreeMap<String, String>) -> CliResult<()> {
    use vault_data::ExposeSecret;
    let needs_proof = needs_factors(command) && !matches!(command, Command::Recover(_));
    if needs_proof && ctx.passphrase_file().is_none() && !env.contains_key("KEYLOOM_PASSPHRASE") {
        if let Some(p) = crate::secret_input::passphrase(None)? {
            env.insert("KEYLOOM_PASSPHRASE".into(), p.expose_secret().to_string());
        }
    }
    let needs_new = match command {
        Command::Passwd(a) => a.new_passphrase_file.is_none(),
        Command::Recover(a) => a.new_passphrase_file.is_none(),
        _ => false,
    };
    if needs_new && !env.contains_key("KEYLOOM_NEW_PASSPHRASE") {
        let p = crate::secret_input::new_passphrase(None, "KEYLOOM_NEW_PASSPHRASE")?;
        env.insert("KEYLOOM_NEW_PASSPHRASE".into(), p.expose_secret().to_string());
    }
    Ok(())
}

/// How an agent is started: its lifetime, and the factor that unlocks it.
pub struct Start {
    pub ttl: Duration,
    pub idle: Duration,
}

/// `keyloom unlock`: proves a real factor and starts the agent (or says one is running).
pub fn start(ctx: &Context, start: Start) -> CliResult<()> {
    if agent::connect(&ctx.vault_dir)?.is_some() {
        return Err(CliError::Usage(
            "an agent is already running for this vault; `keyloom lock` ends it (its lifetime was fixed when it started)"
                .into(),
        ));
    }
    let method = ctx.real_factor()?;
    let Some(passphrase) = method.passphrase() else {
        return Err(CliError::Usage("starting an agent needs the passphrase".into()));
    };
    let exe = std::env::current_exe().map_err(|e| CliError::Usage(format!("cannot find the keyloom binary: {e}")))?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("--vault").arg(&ctx.vault_dir);
    if let Some(f) = &ctx.key_file {
        // A path, not a secret: the agent reads the file itself.
        cmd.arg("--key-file").arg(std::path::absolute(f).unwrap_or_else(|_| f.clone()));
    }
    cmd.arg("agent")
        .arg("--ttl-secs")
        .arg(start.ttl.as_secs().to_string())
        .arg("--idle-secs")
        .arg(start.idle.as_secs().to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        // Its own process group: Ctrl+C in this terminal must not end it.
        .process_group(0);
    // Nothing of Keyloom's own reaches the agent's environment (it gets the passphrase on stdin).
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("KEYLOOM_") {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd.spawn().map_err(|e| CliError::Usage(format!("cannot start the agent: {e}")))?;
    {
        use vault_data::ExposeSecret;
        let mut stdin = child.stdin.take().ok_or_else(|| CliError::Usage("cannot talk to the agent".into()))?;
        let mut line = zeroize::Zeroizing::new(passphrase.expose_secret().as_bytes().to_vec());
        line.push(b'\n');
        stdin.write_all(&line).map_err(|e| CliError::Usage(format!("cannot talk to the agent: {e}")))?;
    }
    let stdout = child.stdout.take().ok_or_else(|| CliError::Usage("cannot talk to the agent".into()))?;
    let mut status = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut status)
        .map_err(|e| CliError::Usage(format!("the agent did not start: {e}")))?;
    let status: serde_json::Value =
        serde_json::from_str(status.trim()).map_err(|_| CliError::Usage("the agent did not start".into()))?;
    if let Some(err) = status.get("error") {
        let code = status.get("exit").and_then(|c| c.as_i64()).unwrap_or(1) as i32;
        let _ = child.wait();
        return Err(CliError::Exit { code, message: err.as_str().unwrap_or("the agent failed").to_string() });
    }
    let until =
        crate::context::when(time::OffsetDateTime::now_utc() + time::Duration::seconds(start.ttl.as_secs() as i64));
    if ctx.json {
        ctx.print_json(&serde_json::json!({
            "agent_pid": child.id(),
            "locks_at": until,
            "idle_timeout_secs": start.idle.as_secs(),
        }))
    } else {
        println!(
            "Unlocked: agent {} holds the vault until {until} (or {} idle minutes); `keyloom lock` ends it.",
            child.id(),
            start.idle.as_secs() / 60
        );
        Ok(())
    }
}

/// `keyloom agent` (started by `unlock`): reads the passphrase from stdin, unlocks, reports on
/// stdout, then serves until locked, the TTL, or the idle timeout.
pub fn serve(ctx: &Context, ttl: Duration, idle: Duration) -> CliResult<()> {
    let report = |v: serde_json::Value| {
        let mut out = std::io::stdout();
        let _ = writeln!(out, "{v}");
        let _ = out.flush();
    };
    let mut secret = zeroize::Zeroizing::new(String::new());
    let mut stdin = std::io::stdin();
    let _ = stdin.by_ref().take(64 * 1024).read_to_string(&mut secret);
    let passphrase = SecretString::from(secret.trim_end_matches(['\n', '\r']).to_string());
    drop(secret);
    let vault = match ctx.with_key_file(passphrase).and_then(|m| Ok(Vault::open_unlocked(&ctx.vault_dir, m, ctx.wait)?))
    {
        Ok(v) => v,
        Err(e) => {
            report(serde_json::json!({ "error": e.to_string(), "exit": e.exit_code() }));
            return Ok(());
        }
    };
    let path = agent::socket_path(&ctx.vault_dir)?;
    let listener = match agent::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            report(serde_json::json!({ "error": e.to_string(), "exit": 1 }));
            return Ok(());
        }
    };
    let failed = vault.failed_unlocks_before();
    report(serde_json::json!({ "ready": true, "failed_unlocks": failed.count }));
    // Detach from the starter's pipes: nothing more is said there.
    let _ = signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::new(AtomicBool::new(false)));

    let stop = Arc::new(AtomicBool::new(false));
    let last_use = Arc::new(AtomicU64::new(now_secs()));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        let _ = signal_hook::flag::register(sig, stop.clone());
    }
    let deadline = now_secs().saturating_add(ttl.as_secs());
    {
        // The watchdog ends the agent at its deadline or when idle: it raises `stop` and wakes
        // the accept loop with a connection of its own. If a command still holds the loop 10 s
        // later, the process ends anyway: its memory goes with it.
        let (stop, last_use, path) = (stop.clone(), last_use.clone(), path.clone());
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(200));
            let now = now_secs();
            if stop.load(Ordering::SeqCst)
                || now >= deadline
                || now >= last_use.load(Ordering::SeqCst).saturating_add(idle.as_secs())
            {
                stop.store(true, Ordering::SeqCst);
                let _ = std::os::unix::net::UnixStream::connect(&path);
                std::thread::sleep(Duration::from_secs(10));
                let _ = std::fs::remove_file(&path);
                std::process::exit(0);
            }
        });
    }

    let mut vault = Some(vault);
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let Ok(mut stream) = conn else { continue };
        if agent::check_peer(&stream).is_err() {
            continue;
        }
        // A client that connects and then says nothing must not hold the agent past its time.
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let Ok(received) = agent::receive(&mut stream) else { continue };
        if stop.load(Ordering::SeqCst) {
            break;
        }
        last_use.store(now_secs(), Ordering::SeqCst);
        let Some(v) = vault.take() else { break };
        let (exit, back, lock_now) = run_request(ctx, v, received);
        vault = back;
        let _ = agent::reply(stream, &Reply { exit });
        if lock_now || vault.is_none() {
            break;
        }
    }
    let _ = std::fs::remove_file(&path);
    if let Some(v) = vault {
        v.close()?;
    }
    Ok(())
}

/// Whether `pid` descends from a `keyloom run`: its children get a service's secrets, never the
/// vault. (Best effort: a process that detaches from its parent escapes the check; see
/// docs/SECURITY.md.)
fn started_by_keyloom_run(pid: u32) -> bool {
    agent::ancestors(pid).into_iter().any(|a| {
        // The command name from `stat`, not the `exe` link: keyloom processes are not dumpable
        // (hardened), and the kernel refuses `exe` of those to anyone without CAP_SYS_PTRACE.
        let comm = std::fs::read_to_string(format!("/proc/{a}/stat"))
            .ok()
            .and_then(|s| s.split_once('(').and_then(|(_, rest)| rest.rsplit_once(')').map(|(c, _)| c.to_string())));
        let argv = std::fs::read(format!("/proc/{a}/cmdline")).unwrap_or_default();
        let args: Vec<&[u8]> = argv.split(|b| *b == 0).collect();
        // `keyloom [global options] run …`: "run" before any "--".
        let runs = args.iter().skip(1).take_while(|a| *a != b"--").any(|a| *a == b"run");
        comm.as_deref() == Some("keyloom") && runs
    })
}

/// Runs one client's command on `vault`, which another process (the desktop app) holds for the
/// vault at `vault_dir`. Returns the exit code, the vault (unless a panic lost it), and whether
/// the client asked to lock.
pub fn serve_request(
    vault_dir: &std::path::Path,
    vault: Vault,
    received: agent::Received,
) -> (i32, Option<Vault>, bool) {
    let template = Context::new(Some(vault_dir.to_path_buf()), None, None, false, Duration::ZERO);
    match template {
        Ok(t) => run_request(&t, vault, received),
        Err(_) => (1, Some(vault), false),
    }
}

/// Tells a client, on its own stderr, why its request was not run, and the exit code to use.
pub fn refuse(received: agent::Received, message: &str) {
    let [_, _, mut stderr] = received.stdio;
    let _ = writeln!(stderr, "error: {message}");
}

/// Runs one client's command on the vault. Returns the exit code, the vault (unless it was
/// lost to a panic), and whether the client asked to lock.
fn run_request(template: &Context, vault: Vault, received: agent::Received) -> (i32, Option<Vault>, bool) {
    if received.peer_pid.is_none_or(started_by_keyloom_run) {
        refuse(received, "a process started by `keyloom run` cannot use the agent");
        return (2, Some(vault), false);
    }
    let agent::Received { request, stdio: [stdin, stdout, stderr], .. } = received;
    let client = crate::output::Client { stdin, stdout, stderr, env: request.env };
    crate::output::with_client(client, move || {
        let cli = match Cli::try_parse_from(&request.argv) {
            Ok(c) => c,
            Err(e) => {
                eprint!("{e}");
                return (1, Some(vault), false);
            }
        };
        if matches!(cli.command, Command::Lock) {
            if cli.json {
                println!("{}", serde_json::json!({ "locked": true }));
            } else {
                println!("Locked: the agent has wiped the vault key and stopped.");
            }
            return (LOCKED_EXIT, Some(vault), true);
        }
        if !runs_in_agent(&cli.command) {
            eprintln!("error: this command does not run in the agent");
            return (1, Some(vault), false);
        }
        if std::env::set_current_dir(&request.cwd).is_err() {
            eprintln!("error: cannot use the working directory {}", request.cwd.display());
            return (1, Some(vault), false);
        }
        let ctx = Context::for_agent(template, cli.passphrase_file.clone(), cli.key_file.clone(), cli.json, vault);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| crate::commands::run(&ctx, cli.command)));
        let code = match result {
            Ok(Ok(())) => 0,
            Ok(Err(e)) => {
                eprintln!("error: {e}");
                if let Some(hint) = e.hint() {
                    eprintln!("hint: {hint}");
                }
                e.exit_code()
            }
            Err(_) => {
                eprintln!("error: the command failed unexpectedly; the agent stops");
                let _ = std::env::set_current_dir("/");
                return (3, ctx.into_held(), true);
            }
        };
        let _ = std::env::set_current_dir("/");
        (code, ctx.into_held(), false)
    })
}
