//! Wrong keys and tampered records: clear errors, the right exit codes, nothing changed.

use keyloom_tests::{data_trees, flip_value, raw_keys, remove_raw, TestVault};

fn vault_with_data() -> TestVault {
    let v = TestVault::init();
    v.ok(&["service", "add", "payments", "--env", "prod"]);
    let out = v.run_with_stdin(&["secret", "set", "payments/STRIPE_KEY"], b"sk_live_tamper");
    keyloom_tests::assert_success(&out, &["secret set"]);
    v.ok(&["service", "add", "checkout", "--env", "prod"]);
    v.ok(&["intent", "add", "--from", "checkout", "--to", "payments"]);
    v
}

#[test]
fn wrong_passphrase_exits_2_and_changes_nothing() {
    let v = TestVault::init();
    v.ok(&["service", "add", "payments", "--env", "prod"]);
    let before = data_trees(&v.path);
    let mut c = v.cmd(&["service", "add", "evil", "--env", "prod"]);
    c.env("KEYLOOM_PASSPHRASE", "not the passphrase");
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong passphrase or key"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("not the passphrase"));
    assert_eq!(data_trees(&v.path), before, "a refused unlock must not change any record");
    // The failed attempt is recorded once the vault opens.
    let entries = v.json(&["audit", "list", "--action", "vault.unlock"]);
    let e = &entries.as_array().unwrap()[0];
    assert_eq!(e["outcome"], "failure");
    assert!(e["detail"].as_str().unwrap().contains("passphrase"));
    assert_eq!(v.json(&["service", "list"]).as_array().unwrap().len(), 1);
}

#[test]
fn status_tells_a_wrong_passphrase_from_a_locked_vault() {
    let v = TestVault::init();
    // No key offered: locked, exit 0, unlock_error null (the fields scripts read are unchanged).
    let mut c = v.cmd(&["status", "--json"]);
    c.env_remove("KEYLOOM_PASSPHRASE");
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let st: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((st["locked"].as_bool(), st["unlock_error"].is_null()), (Some(true), true));
    assert!(st["vault_id"].is_string() && st["slots"].is_array());
    let mut c = v.cmd(&["status"]);
    c.env_remove("KEYLOOM_PASSPHRASE");
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("state      locked (counts need"));

    // A wrong passphrase: said so, exit 2, in text and JSON; the passphrase itself never shown.
    for json in [false, true] {
        let mut c = v.cmd(if json { &["status", "--json"][..] } else { &["status"] });
        c.env("KEYLOOM_PASSPHRASE", "not the passphrase");
        let out = c.output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
        assert!(stderr.contains("wrong passphrase or key"), "{stderr}");
        assert!(!stdout.contains("not the passphrase") && !stderr.contains("not the passphrase"));
        if json {
            let st: serde_json::Value = serde_json::from_str(&stdout).unwrap();
            assert_eq!(st["locked"], true);
            assert_eq!(st["unlock_error"]["code"], "wrong_key");
        } else {
            assert!(stdout.contains("locked: the passphrase or key given is wrong"), "{stdout}");
        }
    }
    // The right one: unlocked, with counts.
    let st = v.json(&["status"]);
    assert_eq!((st["locked"].as_bool(), st["unlock_error"].is_null()), (Some(false), true));
}

#[test]
fn flipped_object_record_is_an_integrity_error_naming_it() {
    let v = TestVault::init();
    v.ok(&["service", "add", "payments", "--env", "prod"]);
    let keys = raw_keys(&v.path, "objects");
    assert_eq!(keys.len(), 1);
    flip_value(&v.path, "objects", &keys[0], 30);
    let err = v.fails(&["service", "list"], 3);
    let id: String = keys[0].iter().map(|b| format!("{b:02x}")).collect();
    assert!(err.contains(&id) && err.contains("objects"), "names the record: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn flipped_payload_fails_the_reveal_not_the_vault() {
    let v = vault_with_data();
    let keys = raw_keys(&v.path, "payloads");
    assert_eq!(keys.len(), 1);
    flip_value(&v.path, "payloads", &keys[0], 40);
    // Listing never decrypts payloads, so it still works...
    assert_eq!(v.json(&["secret", "list"]).as_array().unwrap().len(), 1);
    // ...but the reveal fails with exit 3, naming the record, and prints no value.
    let out = v.run(&["secret", "get", "payments/STRIPE_KEY"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("payloads"));
}

#[test]
fn tampered_audit_entry_is_named_by_verify() {
    let v = vault_with_data();
    let keys = raw_keys(&v.path, "audit");
    assert!(keys.len() >= 3);
    flip_value(&v.path, "audit", &keys[1], 50);
    let out = v.run(&["audit", "verify", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["first_problem"]["seq"], 2);
    assert!(report["first_problem"]["problem"].as_str().unwrap().contains("#2"));
}

#[test]
fn deleted_audit_entries_are_found_in_the_middle_and_at_the_end() {
    let v = vault_with_data();
    let keys = raw_keys(&v.path, "audit");
    let n = keys.len();
    remove_raw(&v.path, "audit", &keys[1]);
    let report = serde_json::from_slice::<serde_json::Value>(&v.run(&["audit", "verify", "--json"]).stdout).unwrap();
    assert_eq!(report["first_problem"]["seq"], 2);
    assert!(report["first_problem"]["problem"].as_str().unwrap().contains("missing"));

    let v = vault_with_data();
    let keys = raw_keys(&v.path, "audit");
    let last = keys.last().unwrap().clone();
    remove_raw(&v.path, "audit", &last);
    let out = v.run(&["audit", "verify", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["first_problem"]["problem"].as_str().unwrap().contains("missing"), "{report}");
    assert!(n >= 3);
}

#[test]
fn a_record_moved_to_another_id_fails_authentication() {
    let v = TestVault::init();
    v.ok(&["service", "add", "a", "--env", "prod"]);
    v.ok(&["service", "add", "b", "--env", "prod"]);
    let keys = raw_keys(&v.path, "objects");
    let db = keyloom_tests::open_raw(&v.path);
    let t = db.open_tree("objects").unwrap();
    let a = t.get(&keys[0]).unwrap().unwrap();
    t.insert(&keys[1], a).unwrap();
    db.flush().unwrap();
    drop(t);
    drop(db);
    v.fails(&["service", "list"], 3);
}

/// Encrypts `event` (JSON) to the vault's public inbox recipient with the `age` CLI, as anyone
/// who can write the folder could.
fn plant_locked_event(v: &TestVault, events: &[serde_json::Value]) {
    let db = keyloom_tests::open_raw(&v.path);
    let meta = db.open_tree("meta").unwrap();
    let recipient = String::from_utf8(meta.get(b"inbox_recipient").unwrap().unwrap().to_vec()).unwrap();
    for (i, event) in events.iter().enumerate() {
        let mut age = std::process::Command::new("age")
            .args(["-r", &recipient])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("age (apt install age)");
        use std::io::Write;
        age.stdin.take().unwrap().write_all(&serde_json::to_vec(event).unwrap()).unwrap();
        let ct = age.wait_with_output().unwrap().stdout;
        meta.insert(format!("pending/planted{i:04}").as_bytes(), ct).unwrap();
    }
    db.flush().unwrap();
}

/// The inbox for locked-time events is public (anyone who can write the folder can encrypt to
/// it): planted events cannot claim other actions, are marked unauthenticated with clamped times,
/// and filling the inbox does not silently push real failed unlocks out.
#[test]
fn planted_inbox_events_are_refused_marked_and_counted() {
    let v = TestVault::init();
    plant_locked_event(
        &v,
        &[
            serde_json::json!({"time": "2020-01-01T00:00:00Z", "user": "admin", "action": "secret.set",
                               "outcome": "success", "detail": "rotated by the security team"}),
            serde_json::json!({"time": "2099-01-01T00:00:00Z", "user": "mallory", "action": "vault.unlock",
                               "outcome": "failure", "detail": "passphrase unlock refused"}),
        ],
    );
    let entries = v.json(&["audit", "list"]);
    let all = entries.as_array().unwrap();
    assert!(!all.iter().any(|e| e["action"] == "secret.set"), "a planted event cannot claim another action");
    let refused = all.iter().find(|e| e["action"] == "vault.inbox").expect("the refusal is recorded");
    assert!(refused["detail"].as_str().unwrap().contains("\"secret.set\""), "{refused}");
    let unlock = all
        .iter()
        .find(|e| e["action"] == "vault.unlock" && e["user"] == "mallory")
        .expect("a failed unlock still passes, marked");
    assert!(unlock["detail"].as_str().unwrap().starts_with("recorded while locked (not authenticated)"), "{unlock}");
    assert!(unlock["time"].as_str().unwrap() < "2099", "times are clamped to now: {unlock}");

    // A full inbox: the next real failed unlock is counted, not lost without a trace.
    let planted: Vec<_> = (0..1000)
        .map(|_| {
            serde_json::json!({"time": "2020-01-01T00:00:00Z", "user": "x", "action": "vault.unlock",
                                    "outcome": "failure", "detail": "noise"})
        })
        .collect();
    plant_locked_event(&v, &planted[..1]);
    {
        // The same ciphertext under 1,000 keys fills it quickly.
        let db = keyloom_tests::open_raw(&v.path);
        let meta = db.open_tree("meta").unwrap();
        let ct = meta.get(b"pending/planted0000").unwrap().unwrap();
        for i in 1..1000 {
            meta.insert(format!("pending/fill{i:04}").as_bytes(), ct.clone()).unwrap();
        }
        db.flush().unwrap();
    }
    let mut c = v.cmd(&["service", "list"]);
    c.env("KEYLOOM_PASSPHRASE", "not the passphrase");
    assert_eq!(c.output().unwrap().status.code(), Some(2));
    let entries = v.json(&["audit", "list"]).to_string();
    assert!(entries.contains("1 locked-time event(s) were dropped because the inbox was full"), "{entries}");
}

/// Failed unlocks are counted on disk, so a new process (or an app restart) does not start
/// afresh: `status` shows the count, the next unlock reports it and clears it, and after two
/// failures every front end waits before trying again.
#[test]
fn failed_unlocks_are_counted_across_processes_and_reported_at_the_next_unlock() {
    let v = TestVault::init();
    for _ in 0..2 {
        let mut c = v.cmd(&["service", "list"]);
        c.env("KEYLOOM_PASSPHRASE", "not the passphrase");
        assert_eq!(c.output().unwrap().status.code(), Some(2));
    }
    let mut c = v.cmd(&["status", "--json"]);
    c.env_remove("KEYLOOM_PASSPHRASE");
    let st: serde_json::Value = serde_json::from_slice(&c.output().unwrap().stdout).unwrap();
    assert_eq!(st["failed_unlocks"]["count"], 2, "{st}");
    let out = v.run(&["service", "list"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2 failed unlock attempt(s) since the last successful unlock"), "{err}");
    assert!(err.contains("waiting"), "the second failure earns a delay: {err}");
    let mut c = v.cmd(&["status", "--json"]);
    c.env_remove("KEYLOOM_PASSPHRASE");
    let st: serde_json::Value = serde_json::from_slice(&c.output().unwrap().stdout).unwrap();
    assert_eq!(st["failed_unlocks"]["count"], 0, "the unlock cleared it: {st}");
}

/// A head kept outside the folder catches what nothing inside it can: an old copy of the folder
/// put back (or a cut log) fails the check with exit 3, an edited head fails its signature, and a
/// history that only grew passes.
#[test]
fn an_anchored_audit_head_catches_a_rolled_back_folder() {
    let v = TestVault::init();
    v.ok(&["service", "add", "payments", "--env", "prod"]);
    let old_copy = v.root.path().join("old-copy");
    assert!(std::process::Command::new("cp").arg("-a").arg(&v.path).arg(&old_copy).status().unwrap().success());
    let first = v.root.path().join("head-1.json");
    std::fs::write(&first, v.ok(&["audit", "head", "--json"])).unwrap();
    v.ok(&["service", "add", "checkout", "--env", "prod"]);
    // The history grew: the first anchor still checks out.
    v.ok(&["audit", "head", "--check", first.to_str().unwrap()]);
    let second = v.root.path().join("head-2.json");
    std::fs::write(&second, v.ok(&["audit", "head", "--json"])).unwrap();

    // An edited head does not verify.
    let mut edited: serde_json::Value = serde_json::from_slice(&std::fs::read(&second).unwrap()).unwrap();
    edited["seq"] = serde_json::json!(edited["seq"].as_u64().unwrap() - 1);
    let edited_path = v.root.path().join("edited.json");
    std::fs::write(&edited_path, edited.to_string()).unwrap();
    let err = v.fails(&["audit", "head", "--check", edited_path.to_str().unwrap()], 3);
    assert!(err.contains("not signed by this vault's key"), "{err}");

    // The old copy put back: `audit verify` alone cannot tell, the anchor can.
    std::fs::remove_dir_all(&v.path).unwrap();
    assert!(std::process::Command::new("cp").arg("-a").arg(&old_copy).arg(&v.path).status().unwrap().success());
    assert_eq!(v.json(&["audit", "verify"])["ok"], true);
    let err = v.fails(&["audit", "head", "--check", second.to_str().unwrap()], 3);
    assert!(err.contains("rolled back"), "{err}");
}
