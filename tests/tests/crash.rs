//! Crash safety: the real `keyloom` binary, doing single and bulk mutations, is killed with SIGKILL
//! at random moments. After every kill the vault must open, its audit chain must verify, every
//! operation acknowledged (exit 0) before the kill must be there, and no bulk operation may be
//! half-applied.
//!
//! CI runs a short campaign; `scripts/crash-test.sh` runs the long one (KEYLOOM_CRASH_KILLS=500).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use keyloom_tests::{Rng, TestVault};

const BULK_SERVICES: usize = 40;
const BULK_SECRETS: usize = 30;

/// What the vault must contain: acknowledged single items, and bulk groups that must be all or
/// nothing (and all when acknowledged).
#[derive(Default)]
struct Expected {
    services: BTreeSet<String>,
    secrets: BTreeSet<String>,
    /// bulk prefix -> acknowledged?
    service_groups: BTreeMap<String, bool>,
    secret_groups: BTreeMap<String, bool>,
}

enum Op {
    AddService(String),
    ImportServices(String),
    SetSecret(String),
    ImportSecrets(String),
}

/// Runs `op` in a client process and SIGKILLs, after `kill_after`, the client or (with `agent`)
/// the agent doing the work. Returns (acknowledged, killed).
fn run_op(tv: &TestVault, op: &Op, kill_after: Duration, agent: Option<u32>) -> (bool, bool) {
    let dir = tv.root.path();
    let (args, stdin): (Vec<String>, Option<Vec<u8>>) = match op {
        Op::AddService(name) => {
            (vec!["service".into(), "add".into(), name.clone(), "--env".into(), "prod".into()], None)
        }
        Op::ImportServices(prefix) => {
            let specs: Vec<_> = (0..BULK_SERVICES)
                .map(|i| serde_json::json!({ "name": format!("{prefix}-{i}"), "environment": "staging" }))
                .collect();
            let file = dir.join(format!("{prefix}.json"));
            std::fs::write(&file, serde_json::to_vec(&specs).unwrap()).unwrap();
            (vec!["service".into(), "import".into(), file.display().to_string()], None)
        }
        Op::SetSecret(name) => {
            (vec!["secret".into(), "set".into(), format!("base/{name}")], Some(format!("value-of-{name}").into_bytes()))
        }
        Op::ImportSecrets(prefix) => {
            let body: String = (0..BULK_SECRETS).map(|i| format!("{prefix}_{i}=v{i}\n")).collect();
            let file = dir.join(format!("{prefix}.env"));
            std::fs::write(&file, body).unwrap();
            let args = ["secret", "import", "--service", "base", file.to_str().unwrap()];
            (args.iter().map(|s| s.to_string()).collect(), None)
        }
    };
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut cmd = tv.cmd(&arg_refs);
    cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() }).stdout(Stdio::null()).stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn keyloom");
    if let Some(bytes) = stdin {
        let _ = child.stdin.take().expect("stdin").write_all(&bytes);
    }
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return (status.success(), false);
        }
        if start.elapsed() >= kill_after {
            if let Some(pid) = agent {
                // The agent holds the vault and does the work; the client only waits for it.
                std::process::Command::new("kill").args(["-9", &pid.to_string()]).status().expect("kill");
                // SIGKILL lands asynchronously: until the agent is gone its listening socket still
                // takes connections (and resets them), so the checks that follow wait for it.
                assert!(keyloom_tests::gone(pid), "the killed agent {pid} did not go away");
                // The client may still finish on its own (it reaches a dead agent and opens the
                // vault itself): whatever it reports, the agent is gone, and that is the kill.
                let status = child.wait().expect("wait");
                return (status.success(), true);
            }
            // Child::kill is SIGKILL on Unix: no handler runs, nothing is flushed.
            let _ = child.kill();
            let status = child.wait().expect("wait");
            // It may have finished between the check and the kill.
            return (status.success(), status.code().is_none());
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

fn names(v: &serde_json::Value, f: impl Fn(&serde_json::Value) -> String) -> BTreeSet<String> {
    v.as_array().map(|a| a.iter().map(f).collect()).unwrap_or_default()
}

/// Opens the vault and checks it against what was acknowledged; returns a description of the
/// first problem.
fn check(tv: &TestVault, expected: &Expected) -> Result<(), String> {
    let audit = tv.run(&["audit", "verify"]);
    if !audit.status.success() {
        return Err(format!("audit verify failed: {}", String::from_utf8_lossy(&audit.stderr)));
    }
    let services = names(&tv.json(&["service", "list"]), |s| s["name"].as_str().unwrap_or_default().to_string());
    let secrets = names(&tv.json(&["secret", "list"]), |s| {
        format!("{}/{}", s["service"].as_str().unwrap_or_default(), s["name"].as_str().unwrap_or_default())
    });
    for s in &expected.services {
        if !services.contains(s) {
            return Err(format!("acknowledged service {s} is missing"));
        }
    }
    for s in &expected.secrets {
        if !secrets.contains(&format!("base/{s}")) {
            return Err(format!("acknowledged secret base/{s} is missing"));
        }
    }
    for (prefix, acked) in &expected.service_groups {
        let n = services.iter().filter(|s| s.starts_with(&format!("{prefix}-"))).count();
        if !(n == 0 && !acked || n == BULK_SERVICES) {
            return Err(format!("bulk service import {prefix} is half-applied or lost: {n} of {BULK_SERVICES}"));
        }
    }
    for (prefix, acked) in &expected.secret_groups {
        let n = secrets.iter().filter(|s| s.starts_with(&format!("base/{prefix}_"))).count();
        if !(n == 0 && !acked || n == BULK_SECRETS) {
            return Err(format!("bulk secret import {prefix} is half-applied or lost: {n} of {BULK_SECRETS}"));
        }
    }
    Ok(())
}

#[test]
fn sigkill_at_random_moments_loses_nothing_acknowledged() {
    let kills_wanted: usize = std::env::var("KEYLOOM_CRASH_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(30);
    campaign(kills_wanted, false);
}

/// The same with an agent doing the writes: the agent is killed mid-operation, a new one is
/// started, and nothing its clients were told succeeded may be lost.
#[test]
fn sigkill_of_the_agent_at_random_moments_loses_nothing_acknowledged() {
    let kills_wanted: usize =
        std::env::var("KEYLOOM_CRASH_KILLS").ok().and_then(|v| v.parse::<usize>().ok()).map_or(15, |n| n / 2);
    campaign(kills_wanted, true);
}

fn agent_pid(tv: &TestVault) -> u32 {
    tv.json(&["unlock", "--ttl", "30m"])["agent_pid"].as_u64().expect("agent pid") as u32
}

fn campaign(kills_wanted: usize, through_agent: bool) {
    let seed: u64 =
        std::env::var("KEYLOOM_CRASH_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x6b65_796c_6f6f_6d21);
    let mut rng = Rng::new(seed);
    let tv = TestVault::init();
    tv.ok(&["service", "add", "base", "--env", "prod"]);

    let mut expected = Expected::default();
    let (mut kills, mut survived, mut ops, mut acked_ops) = (0usize, 0usize, 0usize, 0usize);
    let mut failures = Vec::new();
    let mut agent: Option<u32> = None;
    while kills < kills_wanted {
        let id = ops;
        ops += 1;
        let op = match rng.below(4) {
            0 => Op::AddService(format!("svc-{id}")),
            1 => Op::ImportServices(format!("bulk{id}")),
            2 => Op::SetSecret(format!("KEY_{id}")),
            _ => Op::ImportSecrets(format!("BULK{id}")),
        };
        // A whole operation takes 40–120 ms here (key derivation, commit, fsync, snapshot), and
        // 5–40 ms through an agent: kill anywhere from the start to a little past the end.
        let kill_after = Duration::from_millis(rng.below(if through_agent { 50 } else { 130 }));
        if through_agent && agent.is_none() {
            agent = Some(agent_pid(&tv));
        }
        let (acked, killed) = run_op(&tv, &op, kill_after, agent);
        if killed {
            agent = None;
        }
        if acked {
            acked_ops += 1;
        }
        match &op {
            Op::AddService(n) if acked => {
                expected.services.insert(n.clone());
            }
            Op::SetSecret(n) if acked => {
                expected.secrets.insert(n.clone());
            }
            Op::ImportServices(p) => {
                expected.service_groups.insert(p.clone(), acked);
            }
            Op::ImportSecrets(p) => {
                expected.secret_groups.insert(p.clone(), acked);
            }
            _ => {}
        }
        if !killed {
            continue;
        }
        kills += 1;
        match check(&tv, &expected) {
            Ok(()) => survived += 1,
            Err(e) => failures.push(format!("kill {kills} (seed {seed}, op {id}): {e}")),
        }
    }
    if agent.is_some() {
        tv.ok(&["lock"]);
    }
    let what = if through_agent { " (agent killed)" } else { "" };
    eprintln!(
        "crash campaign{what}: {survived}/{kills} kills survived; {ops} operations, {acked_ops} acknowledged; seed {seed}"
    );
    assert!(failures.is_empty(), "{} of {kills} kills lost or damaged data:\n{}", failures.len(), failures.join("\n"));
}
