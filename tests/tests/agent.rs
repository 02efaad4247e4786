//! The agent (`keyloom unlock` / `lock`) and the rule that only real factors change factors:
//! what a same-user script, an ended agent, another uid, a copy of the folder and an old
//! passphrase can and cannot do.

use std::io::{BufRead, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use keyloom_tests::{gone, TestVault, PASSPHRASE};

fn socket_of(v: &TestVault) -> Option<PathBuf> {
    std::fs::read_dir(v.runtime_dir().join("keyloom"))
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "sock"))
}

fn without_passphrase(v: &TestVault, args: &[&str]) -> std::process::Output {
    let mut c = v.cmd(args);
    c.env_remove("KEYLOOM_PASSPHRASE");
    c.output().unwrap()
}

fn populated() -> TestVault {
    let v = TestVault::init();
    v.ok(&["service", "add", "payments", "--env", "prod"]);
    let out = v.run_with_stdin(&["secret", "set", "payments/STRIPE_KEY"], b"sk_live_agent_canary");
    keyloom_tests::assert_success(&out, &["secret set"]);
    v
}

#[test]
fn the_agent_serves_commands_without_the_passphrase_and_lock_ends_it() {
    let v = populated();
    let slots_before = std::fs::read(v.path.join("vault.slots")).unwrap();
    let started = v.json(&["unlock", "--ttl", "10m"]);
    let pid = started["agent_pid"].as_u64().unwrap() as u32;

    // Directory 0700 and socket 0600, both ours.
    let dir = v.runtime_dir().join("keyloom");
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    let sock = socket_of(&v).expect("agent socket");
    assert_eq!(std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777, 0o600);
    // Nothing secret in its environment or on its command line.
    for what in ["environ", "cmdline"] {
        let bytes = std::fs::read(format!("/proc/{pid}/{what}")).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains(PASSPHRASE) && !text.contains("KEYLOOM_PASSPHRASE"), "agent {what}: {text}");
    }
    // The agent added no slot: it holds the key in memory only.
    assert_eq!(std::fs::read(v.path.join("vault.slots")).unwrap(), slots_before);

    // Commands work with no passphrase anywhere, and three at once all succeed.
    let out = without_passphrase(&v, &["secret", "get", "payments/STRIPE_KEY", "-n"]);
    keyloom_tests::assert_success(&out, &["secret get through the agent"]);
    assert_eq!(out.stdout, b"sk_live_agent_canary");
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let mut c = v.cmd(&["secret", "list", "payments", "--json"]);
            c.env_remove("KEYLOOM_PASSPHRASE").stdout(Stdio::piped()).stderr(Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    for r in readers {
        let out = r.wait_with_output().unwrap();
        keyloom_tests::assert_success(&out, &["parallel reader"]);
        assert!(String::from_utf8_lossy(&out.stdout).contains("STRIPE_KEY"));
    }
    // Stdin reaches the command inside the agent.
    let mut c = v.cmd(&["secret", "set", "payments/WEBHOOK"]);
    c.env_remove("KEYLOOM_PASSPHRASE").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"whsec_from_stdin").unwrap();
    keyloom_tests::assert_success(&child.wait_with_output().unwrap(), &["secret set through the agent"]);

    // lock: the agent wipes the key and exits; the socket is gone; nothing opens without a factor.
    let locked = without_passphrase(&v, &["lock"]);
    keyloom_tests::assert_success(&locked, &["lock"]);
    assert!(gone(pid), "the agent must exit on lock");
    assert!(socket_of(&v).is_none(), "the socket is removed");
    let out = without_passphrase(&v, &["secret", "get", "payments/STRIPE_KEY"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    // What the agent wrote is durable and the chain verifies.
    assert_eq!(v.ok(&["secret", "get", "payments/WEBHOOK", "-n"]), "whsec_from_stdin");
    assert_eq!(v.json(&["audit", "verify"])["ok"], true);
}

#[test]
fn an_agent_unlock_cannot_add_a_factor_or_restore() {
    let v = populated();
    v.json(&["unlock"]);
    // device enable and passwd through the agent need the passphrase itself.
    let out = without_passphrase(&v, &["device", "enable"]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    let mut c = v.cmd(&["passwd"]);
    c.env("KEYLOOM_PASSPHRASE", "not the passphrase").env("KEYLOOM_NEW_PASSPHRASE", "attacker chosen passphrase");
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(2), "passwd with a wrong proof: {}", String::from_utf8_lossy(&out.stderr));
    let out = without_passphrase(&v, &["doctor", "--restore"]);
    assert_ne!(out.status.code(), Some(0), "restore needs a real factor and the vault");
    v.ok(&["lock"]);
    // Nothing changed: the real passphrase still opens it, the attacker's does not.
    v.ok(&["service", "list"]);
    let mut c = v.cmd(&["service", "list"]);
    c.env("KEYLOOM_PASSPHRASE", "attacker chosen passphrase");
    assert_eq!(c.output().unwrap().status.code(), Some(2));
    assert!(!keyloom_tests::slots_file(&v.path).to_string().contains("\"device\""));
}

#[test]
fn another_uid_is_refused_and_a_shared_directory_is_not_used() {
    let v = populated();
    v.json(&["unlock"]);
    let sock = socket_of(&v).unwrap();
    let dir = sock.parent().unwrap().to_path_buf();
    let is_root = rustix_uid() == 0;
    if is_root && Path::new("/usr/bin/setpriv").exists() && Path::new("/usr/bin/python3").exists() {
        // Open the way for uid 65534 so the agent's own check is what stops it.
        let chain = [v.root.path().to_path_buf(), v.runtime_dir(), dir.clone()];
        for d in &chain {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o711)).unwrap();
        }
        std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
        // A well-formed request with its stdio, as a real client sends it: if the agent served it,
        // the secret would land on this process's stdout.
        let script = r#"
import json, socket, struct, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
b = json.dumps({"argv": ["keyloom", "secret", "get", "payments/STRIPE_KEY"], "cwd": "/", "env": {}}).encode()
try:
    socket.send_fds(s, [struct.pack(">I", len(b))], [0, 1, 2])
    s.sendall(b)
    s.settimeout(10)
    print("reply", len(s.recv(100)))
except (BrokenPipeError, ConnectionResetError):
    print("reply 0")
"#;
        let out = Command::new("/usr/bin/setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c", script])
            .arg(&sock)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("reply 0"), "another uid gets no answer: {out:?}");
        assert!(!stdout.contains("sk_live_agent_canary"), "{stdout}");
        // The client never uses a directory others can enter: it warns and runs on its own,
        // which without a passphrase means locked (exit 2), nothing sent to the socket.
        let out = without_passphrase(&v, &["service", "list"]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("not private") && err.contains("running without the agent"), "{err}");
        for d in &chain {
            std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    // Still serving this user.
    keyloom_tests::assert_success(&without_passphrase(&v, &["service", "list"]), &["service list"]);
}

fn rustix_uid() -> u32 {
    let out = Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn the_agent_ends_at_its_ttl_and_a_killed_agent_leaves_the_vault_consistent() {
    let v = populated();
    // The hidden `agent` command, as `unlock` starts it, with a 2-second lifetime.
    let mut c = v.cmd(&["agent", "--ttl-secs", "2", "--idle-secs", "600"]);
    c.env_remove("KEYLOOM_PASSPHRASE").stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut agent = c.spawn().unwrap();
    agent.stdin.take().unwrap().write_all(format!("{PASSPHRASE}\n").as_bytes()).unwrap();
    let mut line = String::new();
    std::io::BufReader::new(agent.stdout.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.contains("ready"), "{line}");
    let mut ended = false;
    for _ in 0..200 {
        if agent.try_wait().unwrap().is_some() {
            ended = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(ended, "the agent must end by itself at its TTL");
    assert!(socket_of(&v).is_none());
    assert_eq!(without_passphrase(&v, &["service", "list"]).status.code(), Some(2));

    // A killed agent: its acknowledged writes are there, the vault is healthy, and the stale
    // socket does not stop commands.
    let pid = v.json(&["unlock"])["agent_pid"].as_u64().unwrap() as u32;
    let mut c = v.cmd(&["secret", "set", "payments/AFTER"]);
    c.env_remove("KEYLOOM_PASSPHRASE").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"written-through-agent").unwrap();
    keyloom_tests::assert_success(&child.wait_with_output().unwrap(), &["secret set"]);
    Command::new("kill").args(["-9", &pid.to_string()]).status().unwrap();
    assert!(gone(pid));
    assert_eq!(v.ok(&["secret", "get", "payments/AFTER", "-n"]), "written-through-agent");
    v.ok(&["doctor"]);
}

/// Every file under `dir`, as text (lossy), for "is this ciphertext anywhere" checks.
fn all_text(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(all_text(&p));
        } else {
            out.push((p.clone(), String::from_utf8_lossy(&std::fs::read(&p).unwrap()).to_string()));
        }
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    let st = Command::new("cp").args(["-a"]).arg(from).arg(to).status().unwrap();
    assert!(st.success());
}

#[test]
fn after_passwd_the_old_passphrase_opens_no_file_in_the_folder() {
    let v = populated();
    let old_wrapped: Vec<String> = keyloom_tests::slots_file(&v.path)["slots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["kind"] == "passphrase")
        .map(|s| s["wrapped"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(old_wrapped.len(), 1);
    let new = "a brand new passphrase for this vault";
    let mut c = v.cmd(&["passwd", "--scrypt-log-n", "14"]);
    c.env("KEYLOOM_NEW_PASSPHRASE", new);
    keyloom_tests::assert_success(&c.output().unwrap(), &["passwd"]);
    // Close it the way a user would, so every snapshot is as it will stay.
    let mut c = v.cmd(&["service", "list"]);
    c.env("KEYLOOM_PASSPHRASE", new);
    keyloom_tests::assert_success(&c.output().unwrap(), &["service list"]);

    // The old slot's ciphertext is in no file: not the slots file, the snapshots or sled's log.
    for (path, text) in all_text(&v.path) {
        assert!(!text.contains(&old_wrapped[0]), "old passphrase slot survives in {}", path.display());
    }
    // The attack from the issue: a copy of the folder, the slots file removed, restore with the
    // old passphrase from each snapshot generation.
    for drop_current in [false, true] {
        let copy = v.root.path().join(format!("copy-{drop_current}"));
        copy_dir(&v.path, &copy);
        std::fs::remove_file(copy.join("vault.slots")).unwrap();
        if drop_current {
            std::fs::remove_file(copy.join("vault.snapshot")).unwrap();
        }
        let mut c = v.cmd(&["doctor", "--restore", "--force", "--vault", copy.to_str().unwrap()]);
        c.env("KEYLOOM_PASSPHRASE", PASSPHRASE);
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "old passphrase: {}", String::from_utf8_lossy(&out.stderr));
        // The current passphrase does restore (the test can tell the two apart).
        let mut c = v.cmd(&["doctor", "--restore", "--force", "--vault", copy.to_str().unwrap()]);
        c.env("KEYLOOM_PASSPHRASE", new);
        keyloom_tests::assert_success(&c.output().unwrap(), &["restore with the new passphrase"]);
        assert!(copy.join("vault.slots").exists(), "restore writes the slots back");
    }
}

#[test]
fn doctor_restore_refuses_a_healthy_vault_and_is_audited() {
    let v = populated();
    let before = std::fs::read_dir(&v.path).unwrap().count();
    let err = v.fails(&["doctor", "--restore"], 1);
    assert!(err.contains("nothing is damaged") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read_dir(&v.path).unwrap().count(), before, "nothing was moved aside");
    let r = v.json(&["doctor", "--restore", "--force"]);
    assert!(r["damaged_copy"].is_string());
    let entries = v.json(&["audit", "list", "--action", "vault.restore"]);
    assert_eq!(entries.as_array().unwrap().len(), 1, "{entries}");
    // A device unlock is never enough to roll back.
    let err = vault_data::restore(&v.path, vault_data::Unlock::Device, true).unwrap_err();
    assert_eq!(err.code(), "needs_real_factor");
}

#[test]
fn a_vault_from_the_previous_release_is_migrated_and_its_sessions_dropped() {
    let v = populated();
    // Make it look as the previous release left it: slots as `slot/<id>` records in sled's meta
    // tree (a session among them) and no vault.slots.
    let slots = keyloom_tests::slots_file(&v.path);
    let session_marker = "0123456789abcdef0123456789abcdef";
    {
        let db = keyloom_tests::open_raw(&v.path);
        let meta = db.open_tree("meta").unwrap();
        for s in slots["slots"].as_array().unwrap() {
            let key = format!("slot/{}", s["id"].as_str().unwrap());
            meta.insert(key.as_bytes(), serde_json::to_vec(s).unwrap()).unwrap();
        }
        let mut session = slots["slots"][1].clone();
        session["kind"] = "session".into();
        session["id"] = session_marker.into();
        meta.insert(format!("slot/{session_marker}").as_bytes(), serde_json::to_vec(&session).unwrap()).unwrap();
        db.flush().unwrap();
    }
    std::fs::remove_file(v.path.join("vault.slots")).unwrap();

    assert_eq!(v.ok(&["secret", "get", "payments/STRIPE_KEY", "-n"]), "sk_live_agent_canary");
    let mut kinds: Vec<String> = keyloom_tests::slots_file(&v.path)["slots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap().to_string())
        .collect();
    kinds.sort();
    assert_eq!(kinds, ["passphrase", "recovery"], "sessions are dropped");
    assert!(keyloom_tests::raw_entries(&v.path, "meta", b"slot/").is_empty());
    // Rebuilt, not just deleted: the session record is in no file of the folder any more.
    for (path, text) in all_text(&v.path) {
        assert!(!text.contains(session_marker), "the old session slot survives in {}", path.display());
    }
    v.ok(&["doctor"]);
}

#[test]
fn run_gets_its_bundle_from_the_agent_and_its_child_cannot_use_the_agent() {
    let v = populated();
    v.json(&["unlock"]);
    // The internal command that answers `run` prints nothing typed at a terminal, agent or not.
    let out = without_passphrase(&v, &["run-bundle", "--service", "payments"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "run-bundle printed a bundle: {}", String::from_utf8_lossy(&out.stdout));
    let bin = keyloom_tests::keyloom_bin();
    let vault = v.path.to_str().unwrap().to_string();
    // The child knows where the vault is and tries the agent with it; its own secret it has.
    let script = r#"echo "own=$STRIPE_KEY"; "$KLBIN" --vault "$KLVAULT" --wait 0 secret get payments/STRIPE_KEY; echo "exit=$?""#;
    let mut c = v.cmd(&["run", "--service", "payments", "--secrets-only", "--", "sh", "-c", script]);
    c.env_remove("KEYLOOM_PASSPHRASE").env("KLBIN", &bin).env("KLVAULT", &vault);
    let out = c.output().unwrap();
    keyloom_tests::assert_success(&out, &["run through the agent"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("own=sk_live_agent_canary"), "run got the service's secrets from the agent: {stdout}");
    assert_eq!(stdout.matches("sk_live_agent_canary").count(), 1, "the child's own call must not print it: {stdout}");
    assert!(stdout.contains("exit=2"), "{stdout}\n{stderr}");
    assert!(stderr.contains("started by `keyloom run`"), "{stderr}");
}

/// Two-factor unlock: a slot that needs the passphrase AND a key file. With the plain passphrase
/// slot removed, the passphrase alone, a wrong file or a missing file are refused with a clear
/// message; the right file opens it (directly and through an agent), passwd, rekey and
/// `doctor --restore` work with it, and the recovery key still opens the vault.
#[test]
fn a_two_factor_slot_needs_the_passphrase_and_the_key_file() {
    let v = populated();
    let key = v.root.path().join("keyloom.key");
    let other = v.root.path().join("other.key");
    std::fs::write(&key, b"any file at all \x00\x01 will do").unwrap();
    std::fs::write(&other, b"a different file").unwrap();
    let key_arg = key.to_str().unwrap();
    let empty = v.root.path().join("empty.key");
    std::fs::write(&empty, b"").unwrap();
    let err = v.fails(&["slot", "add", "--key-file", empty.to_str().unwrap(), "--scrypt-log-n", "14"], 1);
    assert!(err.contains("empty"), "{err}");

    let added = v.json(&["slot", "add", "--key-file", key_arg, "--scrypt-log-n", "14"]);
    assert_eq!(added["kind"], "two_factor");
    // Both slots work until the plain one is removed.
    v.ok(&["--key-file", key_arg, "service", "list"]);
    v.ok(&["service", "list"]);
    v.ok(&["--key-file", key_arg, "slot", "remove", "passphrase"]);
    let kinds: Vec<String> =
        v.json(&["slot", "list"]).as_array().unwrap().iter().map(|s| s["kind"].as_str().unwrap().to_string()).collect();
    assert_eq!(kinds, ["recovery", "two_factor"]);

    let err = v.fails(&["secret", "get", "payments/STRIPE_KEY"], 2);
    assert!(err.contains("key file"), "the passphrase alone is refused, saying why: {err}");
    let err = v.fails(&["--key-file", other.to_str().unwrap(), "secret", "get", "payments/STRIPE_KEY"], 2);
    assert!(err.contains("wrong"), "{err}");
    let err = v.fails(&["--key-file", "/nonexistent/keyloom.key", "secret", "get", "payments/STRIPE_KEY"], 1);
    assert!(err.contains("key file") && err.contains("/nonexistent/keyloom.key"), "{err}");
    let out = v.cmd(&["secret", "get", "payments/STRIPE_KEY"]).env("KEYLOOM_KEY_FILE", &key).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "sk_live_agent_canary");
    // The last passphrase slot cannot be removed.
    let id = v.json(&["slot", "list"]).as_array().unwrap()[1]["id"].as_str().unwrap().to_string();
    let err = v.fails(&["--key-file", key_arg, "slot", "remove", &id], 1);
    assert!(err.contains("last passphrase slot"), "{err}");

    // passwd and rekey keep the slot two-factor.
    let out = v
        .cmd(&["--key-file", key_arg, "passwd", "--scrypt-log-n", "14"])
        .env("KEYLOOM_NEW_PASSPHRASE", "a whole new passphrase here")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let new_pass =
        |args: &[&str]| v.cmd(args).env("KEYLOOM_PASSPHRASE", "a whole new passphrase here").output().unwrap();
    assert_eq!(new_pass(&["secret", "get", "payments/STRIPE_KEY"]).status.code(), Some(2));
    let out = new_pass(&["--key-file", key_arg, "rekey", "--scrypt-log-n", "14"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = new_pass(&["--key-file", key_arg, "secret", "get", "payments/STRIPE_KEY"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "sk_live_agent_canary");

    // Through an agent: `unlock` with both factors, then commands need neither.
    let out = new_pass(&["--key-file", key_arg, "unlock"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(without_passphrase(&v, &["secret", "get", "payments/STRIPE_KEY"]).status.code(), Some(0));
    // Changing factors through the agent still needs them, given the client's way (a variable):
    // the key file moves to another file.
    let other_arg = other.to_str().unwrap();
    let out = v
        .cmd(&["slot", "add", "--key-file", other_arg, "--scrypt-log-n", "14"])
        .env("KEYLOOM_PASSPHRASE", "a whole new passphrase here")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "the old file is needed as proof: {}", String::from_utf8_lossy(&out.stderr));
    let out =
        new_pass(&["slot", "add", "--key-file", other_arg, "--current-key-file", key_arg, "--scrypt-log-n", "14"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    v.ok(&["lock"]);
    let out = new_pass(&["--key-file", key_arg, "secret", "get", "payments/STRIPE_KEY"]);
    assert_eq!(out.status.code(), Some(2), "the old key file no longer opens it");
    let out = v
        .cmd(&["secret", "get", "payments/STRIPE_KEY"])
        .env("KEYLOOM_PASSPHRASE", "a whole new passphrase here")
        .env("KEYLOOM_KEY_FILE", &other)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "sk_live_agent_canary");
    let key_arg = other_arg;

    // doctor --restore works with both factors; the recovery key still opens the vault.
    let out = new_pass(&["--key-file", key_arg, "doctor", "--restore", "--force", "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rk = v.root.path().join("rk");
    std::fs::write(&rk, &v.recovery_key).unwrap();
    let out = v
        .cmd(&["doctor", "--recovery-key-file", rk.to_str().unwrap()])
        .env_remove("KEYLOOM_PASSPHRASE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `audit export --follow` streams new entries as JSON lines through the agent (the vault stays
/// usable for other commands meanwhile), refuses to start without an agent, and stops with a
/// message when the agent ends.
#[test]
fn audit_export_follow_streams_new_entries_through_the_agent() {
    use std::io::BufRead;
    let v = populated();
    let err = v.fails(&["audit", "export", "--follow"], 1);
    assert!(err.contains("keyloom unlock"), "{err}");
    v.ok(&["unlock"]);
    let mut follower = v
        .cmd(&["audit", "export", "--follow", "--interval", "0.2"])
        .env_remove("KEYLOOM_PASSPHRASE")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(follower.stdout.take().unwrap()).lines();
    let first: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["seq"], 1);
    assert_eq!(first["action"], "vault.create");
    // While it follows, other commands run as usual, and what they do arrives as new lines.
    without_passphrase(&v, &["service", "add", "followed", "--env", "prod"]);
    let mut seen = Vec::new();
    for line in lines.by_ref() {
        let e: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        seen.push(e["seq"].as_u64().unwrap());
        if e["action"] == "service.add" && e["objects"].to_string().contains("followed") {
            break;
        }
    }
    let mut sorted = seen.clone();
    sorted.dedup();
    assert_eq!(sorted, seen, "no entry is sent twice");
    v.ok(&["lock"]);
    let status = follower.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    let mut err = String::new();
    std::io::Read::read_to_string(&mut follower.stderr.take().unwrap(), &mut err).unwrap();
    assert!(err.contains("agent ended"), "{err}");
}
