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

/// A damaged payload no longer matches the sealed head: the vault refuses to unlock, naming the
/// record, and prints no value; `doctor --restore` rebuilds it from the snapshot.
#[test]
fn a_flipped_payload_is_named_at_unlock_and_restored_from_the_snapshot() {
    let v = vault_with_data();
    let keys = raw_keys(&v.path, "payloads");
    assert_eq!(keys.len(), 1);
    flip_value(&v.path, "payloads", &keys[0], 40);
    let out = v.run(&["secret", "get", "payments/STRIPE_KEY"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("payloads") && err.contains("doctor --restore"), "{err}");
    v.json(&["doctor", "--restore"]);
    assert_eq!(v.ok(&["secret", "get", "payments/STRIPE_KEY"]).trim(), "sk_live_tamper");
}

#[test]
fn tampered_audit_entry_is_named_by_verify() {
    let v = vault_with_data();
    let keys = raw_keys(&v.path, "audit");
    assert!(keys.len() >= 3);
    flip_value(&v.path, "audit", &keys[1], 50);
    // Refused at unlock, naming the entry...
    let err = v.fails(&["audit", "verify"], 3);
    assert!(err.contains("entry #2"), "{err}");
    // ...and `doctor` (which opens without the checks, to look) reports where the chain breaks.
    let out = v.run(&["doctor", "--json"]);
    assert_eq!(out.status.code(), Some(3));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["audit"]["ok"], false);
    assert_eq!(report["audit"]["first_problem"]["seq"], 2);
}

#[test]
fn deleted_audit_entries_are_found_in_the_middle_and_at_the_end() {
    let v = vault_with_data();
    let keys = raw_keys(&v.path, "audit");
    let n = keys.len();
    remove_raw(&v.path, "audit", &keys[1]);
    let err = v.fails(&["audit", "verify"], 3);
    assert!(err.contains("entry #2 is missing"), "{err}");
    let report = serde_json::from_slice::<serde_json::Value>(&v.run(&["doctor", "--json"]).stdout).unwrap();
    assert_eq!(report["audit"]["first_problem"]["seq"], 2);

    let v = vault_with_data();
    let keys = raw_keys(&v.path, "audit");
    let last = keys.last().unwrap().clone();
    remove_raw(&v.path, "audit", &last);
    let err = v.fails(&["audit", "verify"], 3);
    assert!(err.contains("missing"), "{err}");
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

    // The old copy put back: this machine's anchor refuses it at unlock.
    std::fs::remove_dir_all(&v.path).unwrap();
    assert!(std::process::Command::new("cp").arg("-a").arg(&old_copy).arg(&v.path).status().unwrap().success());
    let err = v.fails(&["audit", "verify"], 3);
    assert!(err.contains("rolled back"), "{err}");
    // On a machine without the anchor (or after a same-user attacker removed it), the chain
    // alone cannot tell and the vault adopts its head with a notice; the signed head kept
    // outside still catches it.
    std::fs::remove_dir_all(v.root.path().join("xdg-config/keyloom/anchors")).unwrap();
    let out = v.run(&["audit", "verify", "--json"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no anchor for this vault"));
    let err = v.fails(&["audit", "head", "--check", second.to_str().unwrap()], 3);
    assert!(err.contains("rolled back"), "{err}");
}

// ----- anti-rollback: the record set in the sealed head, and the anchor outside the folder -----

fn cp_a(from: &std::path::Path, to: &std::path::Path) {
    let _ = std::fs::remove_dir_all(to);
    assert!(std::process::Command::new("cp").arg("-a").arg(from).arg(to).status().unwrap().success());
}

fn audit_actions(v: &TestVault) -> Vec<(String, String)> {
    let log = v.json(&["audit", "list"]);
    log.as_array()
        .unwrap()
        .iter()
        .map(|e| (e["action"].as_str().unwrap().to_string(), e["detail"].as_str().unwrap_or("").to_string()))
        .collect()
}

fn crl_number(v: &TestVault) -> u128 {
    let pem = v.root.path().join("root.crl");
    let _ = std::fs::remove_file(&pem);
    v.ok(&["ca", "crl", "root", "--out", pem.to_str().unwrap()]);
    let out =
        std::process::Command::new("openssl").args(["crl", "-noout", "-crlnumber", "-in"]).arg(&pem).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let hex = text.trim().trim_start_matches("crlNumber=").trim_start_matches("0x");
    u128::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("CRL number in {text:?}"))
}

/// The attack from the issue: copy the folder, revoke a certificate and rotate a leaked
/// credential, put the old copy back. Refused (exit 3) naming both sequence numbers; `doctor`
/// explains; accepting it needs a real factor, is audited, and CRL numbers still go up.
#[test]
fn an_old_copy_of_the_folder_put_back_is_refused_until_accepted() {
    let v = vault_with_data();
    v.ok(&["ca", "create", "root"]);
    v.ok(&["cert", "issue", "--service", "payments", "--ca", "root", "--dns", "payments.example"]);
    let first_crl = crl_number(&v);
    let old_copy = v.root.path().join("old-copy");
    cp_a(&v.path, &old_copy);
    v.ok(&["cert", "revoke", "payments"]);
    let out = v.run_with_stdin(&["secret", "set", "payments/STRIPE_KEY"], b"sk_live_rotated");
    keyloom_tests::assert_success(&out, &["secret set"]);
    let second_crl = crl_number(&v);
    assert!(second_crl > first_crl);

    cp_a(&old_copy, &v.path);
    let out = v.run(&["secret", "get", "payments/STRIPE_KEY"]);
    assert_eq!(out.status.code(), Some(3), "the leaked value must not come back silently");
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rolled back") && err.contains("--accept-rollback"), "{err}");
    let v_seq = err.split("audit entry #").nth(1).and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next());
    let a_seq = err.split("last saw entry #").nth(1).and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next());
    let (v_seq, a_seq): (u64, u64) = (v_seq.unwrap().parse().unwrap(), a_seq.unwrap().parse().unwrap());
    assert!(v_seq < a_seq, "names both sequence numbers: {err}");

    let out = v.run(&["doctor"]);
    assert_eq!(out.status.code(), Some(3));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("anchor") && report.contains("rolled back"), "{report}");

    // A device or agent cannot accept it; with no factor at all, nothing changes.
    let out = v.cmd(&["doctor", "--accept-rollback"]).env_remove("KEYLOOM_PASSPHRASE").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    v.fails(&["service", "list"], 3);

    let out = v.run(&["doctor", "--accept-rollback"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("accepted"));
    // The old state is what the user accepted: the certificate is active again, and the log says so.
    assert_eq!(v.ok(&["secret", "get", "payments/STRIPE_KEY"]).trim(), "sk_live_tamper");
    let accepted: Vec<_> = audit_actions(&v).into_iter().filter(|(a, _)| a == "vault.rollback_accepted").collect();
    assert_eq!(accepted.len(), 1);
    assert!(accepted[0].1.contains(&format!("#{a_seq}")), "{accepted:?}");
    // CRL numbers are time-based: the rolled-back counter does not make them go back.
    assert!(crl_number(&v) > second_crl);
}

/// Without any key: delete one certificate record (so it would drop off the next CRL), or put
/// an older version of one record back among new ones (a mix of two real copies).
#[test]
fn a_deleted_or_stale_record_is_refused_at_unlock() {
    let v = vault_with_data();
    v.ok(&["ca", "create", "root"]);
    v.ok(&["cert", "issue", "--service", "payments", "--ca", "root", "--dns", "payments.example"]);
    v.ok(&["cert", "revoke", "payments"]);
    let one_copy = v.root.path().join("copy-1");
    cp_a(&v.path, &one_copy);
    let out = v.run_with_stdin(&["secret", "set", "payments/STRIPE_KEY"], b"sk_live_rotated");
    keyloom_tests::assert_success(&out, &["secret set"]);

    // A mix: every record new, but the credential record (and its payloads) from the older copy.
    let old_objects = keyloom_tests::raw_entries(&one_copy, "objects", b"");
    let old_payloads = keyloom_tests::raw_entries(&one_copy, "payloads", b"");
    let pristine = v.root.path().join("pristine");
    cp_a(&v.path, &pristine);
    {
        let db = keyloom_tests::open_raw(&v.path);
        let objects = db.open_tree("objects").unwrap();
        for (k, val) in &old_objects {
            if objects.get(k).unwrap().is_some_and(|now| now.as_ref() != val.as_slice()) {
                objects.insert(k.as_slice(), val.as_slice()).unwrap();
            }
        }
        let payloads = db.open_tree("payloads").unwrap();
        payloads.clear().unwrap();
        for (k, val) in &old_payloads {
            payloads.insert(k.as_slice(), val.as_slice()).unwrap();
        }
        db.flush().unwrap();
    }
    let err = v.fails(&["secret", "get", "payments/STRIPE_KEY"], 3);
    assert!(err.contains("do not match its sealed head"), "{err}");
    // Accepted on purpose, the mix becomes the vault: it opens again, and keeps opening.
    v.ok(&["doctor", "--accept-rollback"]);
    assert_eq!(v.ok(&["secret", "get", "payments/STRIPE_KEY"]).trim(), "sk_live_tamper");
    v.ok(&["service", "list"]);

    // Deleting one certificate record (from the newer copy, taken back on purpose first).
    cp_a(&pristine, &v.path);
    v.ok(&["doctor", "--accept-rollback"]);
    assert_eq!(v.ok(&["secret", "get", "payments/STRIPE_KEY"]).trim(), "sk_live_rotated");
    let objects_now = keyloom_tests::raw_keys(&v.path, "objects");
    let mut refused = 0;
    for k in &objects_now {
        cp_a(&pristine, &v.path);
        remove_raw(&v.path, "objects", k);
        let out = v.run(&["ca", "crl", "root", "--out", v.root.path().join("x.crl").to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(3), "deleting record {k:?} went unnoticed");
        assert!(String::from_utf8_lossy(&out.stderr).contains("do not match its sealed head"));
        refused += 1;
    }
    assert!(refused >= 4, "services, the CA, the certificate and the credential");
    // doctor explains, and --restore (the snapshot is intact) brings the record back.
    let out = v.run(&["doctor"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stdout).contains("do not match its sealed head"));
    v.json(&["doctor", "--restore"]);
    assert!(v.run(&["service", "list"]).status.success());
}

/// Cutting the audit tail: an older sealed head put back and the later entries deleted.
#[test]
fn a_cut_audit_tail_is_refused() {
    let v = vault_with_data();
    let old_head = keyloom_tests::raw_entries(&v.path, "meta", b"audit_head");
    let seqs_before = keyloom_tests::raw_keys(&v.path, "audit").len();
    // Only reads happen after the copy, so the records besides the audit tail are the same.
    v.ok(&["secret", "get", "payments/STRIPE_KEY"]);
    v.ok(&["secret", "get", "payments/STRIPE_KEY"]);
    let keys = keyloom_tests::raw_keys(&v.path, "audit");
    assert!(keys.len() > seqs_before);
    {
        let db = keyloom_tests::open_raw(&v.path);
        let audit = db.open_tree("audit").unwrap();
        for k in &keys[seqs_before..] {
            audit.remove(k.as_slice()).unwrap();
        }
        let meta = db.open_tree("meta").unwrap();
        meta.insert(old_head[0].0.as_slice(), old_head[0].1.as_slice()).unwrap();
        db.flush().unwrap();
    }
    // Also make the snapshot agree, as someone who cut it with care would: remove both.
    for f in ["vault.snapshot", "vault.snapshot.prev", "vault.journal", "vault.journal.prev"] {
        let _ = std::fs::remove_file(v.path.join(f));
    }
    let err = v.fails(&["audit", "verify"], 3);
    assert!(err.contains("rolled back"), "{err}");
}
