//! What is on disk: no plaintext names or values, private file modes, one process at a time,
//! and `doctor` with `--restore` after the database is deleted or overwritten.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use keyloom_tests::TestVault;

const PLANTED: &[&str] = &[
    "zebra-payments-svc",
    "QUOKKA_API_TOKEN",
    "tok_planted_value_8f3a9c",
    "team-narwhal",
    "spiffe://planted.example/zebra",
    "prod-ocelot",
    "stripe-api-wombat",
];

#[test]
fn vault_files_hold_no_plaintext_names_or_values() {
    let v = TestVault::init();
    v.ok(&[
        "service",
        "add",
        "zebra-payments-svc",
        "--env",
        "prod-ocelot",
        "--owner",
        "team-narwhal",
        "--spiffe-id",
        "spiffe://planted.example/zebra",
    ]);
    v.ok(&["service", "add", "other", "--env", "dev"]);
    let out = v.run_with_stdin(
        &["secret", "set", "zebra-payments-svc/QUOKKA_API_TOKEN", "--target", "stripe-api-wombat"],
        b"tok_planted_value_8f3a9c",
    );
    keyloom_tests::assert_success(&out, &["secret set"]);
    v.ok(&["intent", "add", "--from", "other", "--to", "zebra-payments-svc"]);
    v.ok(&["secret", "get", "zebra-payments-svc/QUOKKA_API_TOKEN"]);
    let files = v.all_bytes();
    assert!(files.iter().any(|(p, _)| p.ends_with("vault.snapshot")), "snapshot is part of the scan");
    for (path, bytes) in &files {
        for needle in PLANTED {
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "{needle:?} found in plaintext in {}",
                path.display()
            );
        }
        assert!(!bytes.windows(8).any(|w| w == b"tok_plan"), "value prefix in {}", path.display());
    }
}

#[test]
fn vault_directory_is_0700_and_files_0600() {
    let v = TestVault::init();
    v.ok(&["service", "add", "a", "--env", "prod"]);
    fn check(dir: &std::path::Path) {
        let mode = std::fs::metadata(dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                check(&p);
            } else {
                let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", p.display());
            }
        }
    }
    check(&v.path);
}

#[test]
fn a_second_process_is_told_who_holds_the_vault() {
    let v = TestVault::init();
    // This test process holds the vault open through the library...
    let held = vault_data::Vault::open(&v.path).unwrap();
    // ...so the binary, told not to wait, is refused, naming our pid and the agent, exit 1.
    let err = v.fails(&["status", "--wait", "0"], 1);
    assert!(err.contains(&format!("vault is in use by process {}", std::process::id())), "{err}");
    assert!(err.contains("keyloom unlock"), "says how to share the vault: {err}");
    // By default it waits for the holder to let go instead of failing.
    let waiter = v.cmd(&["service", "list"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    drop(held);
    let out = waiter.wait_with_output().unwrap();
    keyloom_tests::assert_success(&out, &["service list after waiting"]);
}

#[test]
fn three_parallel_readers_all_succeed_without_an_agent() {
    let v = populated();
    let readers: Vec<_> = (0..3)
        .map(|_| v.cmd(&["secret", "list", "payments", "--json"]).stdout(std::process::Stdio::piped()).spawn().unwrap())
        .collect();
    for r in readers {
        let out = r.wait_with_output().unwrap();
        keyloom_tests::assert_success(&out, &["parallel secret list"]);
        assert!(String::from_utf8_lossy(&out.stdout).contains("TOKEN"));
    }
}

fn populated() -> TestVault {
    let v = TestVault::init();
    for (svc, env) in [("payments", "prod"), ("checkout", "prod"), ("search", "staging")] {
        v.ok(&["service", "add", svc, "--env", env]);
        let out = v.run_with_stdin(&["secret", "set", &format!("{svc}/TOKEN")], format!("value-of-{svc}").as_bytes());
        keyloom_tests::assert_success(&out, &["secret set"]);
    }
    v.ok(&["intent", "add", "--from", "checkout", "--to", "payments"]);
    v
}

fn assert_all_present(v: &TestVault) {
    assert_eq!(v.json(&["service", "list"]).as_array().unwrap().len(), 3);
    for svc in ["payments", "checkout", "search"] {
        assert_eq!(v.ok(&["secret", "get", &format!("{svc}/TOKEN"), "-n"]), format!("value-of-{svc}"));
    }
    assert_eq!(v.json(&["intent", "list"]).as_array().unwrap().len(), 1);
    assert_eq!(v.json(&["audit", "verify"])["ok"], true);
}

#[test]
fn doctor_passes_a_healthy_vault() {
    let v = populated();
    let r = v.json(&["doctor"]);
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(r["snapshot"]["authentic"], true);
    assert_eq!(r["snapshot"]["differences"], 0);
    assert!(r["records_checked"].as_u64().unwrap() >= 3 + 3 + 1 + 8);
    assert_eq!(r["name_problems"], serde_json::json!([]), "every name follows the name rule");
    assert!(v.ok(&["doctor"]).contains("names            OK"));
}

#[test]
fn doctor_restore_after_the_database_is_deleted() {
    let v = populated();
    std::fs::remove_dir_all(v.path.join("db")).unwrap();
    let err = v.fails(&["service", "list"], 1);
    assert!(err.contains("no vault"), "{err}");
    let r = v.json(&["doctor", "--restore"]);
    assert_eq!(r["generation"], "current");
    assert_eq!(r["damaged_copy"], serde_json::Value::Null);
    assert_all_present(&v);
    assert_eq!(v.json(&["doctor"])["ok"], true);
}

#[test]
fn doctor_restore_after_database_bytes_are_overwritten() {
    let v = populated();
    let db_file = v.path.join("db").join("db");
    let mut bytes = std::fs::read(&db_file).unwrap();
    // Overwrite the start of the log, where every record of this small vault lives.
    let end = bytes.len().min(64 * 1024);
    for b in &mut bytes[..end] {
        *b = 0xA5;
    }
    std::fs::write(&db_file, &bytes).unwrap();
    // Whatever sled makes of it, the vault does not silently work with lost data.
    let out = v.run(&["secret", "get", "payments/TOKEN"]);
    assert_ne!(out.status.code(), Some(0), "damaged vault must not answer as if healthy");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    let r = v.json(&["doctor", "--restore"]);
    assert!(r["damaged_copy"].as_str().unwrap().contains("db.damaged-"));
    assert_all_present(&v);
}

#[test]
fn doctor_restore_with_the_recovery_key() {
    let v = populated();
    std::fs::remove_dir_all(v.path.join("db")).unwrap();
    let rk = v.root.path().join("rk.txt");
    std::fs::write(&rk, &v.recovery_key).unwrap();
    let mut c = v.cmd(&["doctor", "--restore", "--recovery-key-file", rk.to_str().unwrap()]);
    c.env_remove("KEYLOOM_PASSPHRASE");
    keyloom_tests::assert_success(&c.output().unwrap(), &["doctor --restore with recovery key"]);
    assert_all_present(&v);
}

#[test]
fn doctor_restore_names_what_was_newer_than_the_snapshot() {
    let v = populated();
    // Keep the snapshot and its journal as they were before one more write, as if recording it
    // there had failed; the database is healthy, so restoring is a deliberate rollback (--force).
    let snap = v.path.join("vault.snapshot");
    let journal = v.path.join("vault.journal");
    let (old, old_journal) = (std::fs::read(&snap).unwrap(), std::fs::read(&journal).unwrap());
    v.ok(&["service", "add", "late-arrival", "--env", "prod"]);
    std::fs::write(&snap, &old).unwrap();
    std::fs::write(&journal, &old_journal).unwrap();
    let r = v.json(&["doctor", "--restore", "--force"]);
    assert_eq!(r["lost_is_known"], true);
    let lost = r["lost"].as_array().unwrap();
    assert_eq!(lost.len(), 1, "{r}");
    assert!(lost[0].as_str().unwrap().contains("service.add late-arrival"), "{r}");
    let names = v.json(&["service", "list"]).to_string();
    assert!(!names.contains("late-arrival"));
    assert_all_present(&v);
}

#[test]
fn a_database_behind_its_snapshot_is_refused() {
    let v = populated();
    // Roll the database back to an older copy while the snapshot stays current.
    let db = v.path.join("db");
    let backup = v.root.path().join("db-old");
    copy_dir(&db, &backup);
    v.ok(&["service", "add", "newer", "--env", "prod"]);
    std::fs::remove_dir_all(&db).unwrap();
    copy_dir(&backup, &db);
    let err = v.fails(&["service", "list"], 3);
    assert!(err.contains("behind its snapshot") && err.contains("doctor --restore"), "{err}");
    v.json(&["doctor", "--restore"]);
    assert!(v.json(&["service", "list"]).to_string().contains("newer"));
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let t = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).unwrap();
        }
    }
}

#[test]
fn init_refuses_an_existing_vault_and_a_non_empty_directory() {
    let v = TestVault::init();
    let err = v.fails(&["init", "--scrypt-log-n", "14"], 1);
    assert!(err.contains("a vault already exists"), "{err}");
    let other = v.root.path().join("not-a-vault");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "keep me").unwrap();
    let mut c = v.cmd(&["init", "--scrypt-log-n", "14"]);
    c.env("KEYLOOM_VAULT", &other);
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    assert_eq!(std::fs::read_to_string(other.join("notes.txt")).unwrap(), "keep me");
}

/// A backup restores into a new folder with every record, needs both the backup passphrase and the
/// vault's own, and refuses a non-empty target.
#[test]
fn backup_restores_into_a_new_folder() {
    use vault_data::{KdfCost, SecretString, Unlock, Vault};
    let root = tempfile::tempdir().unwrap();
    let pass = SecretString::from(keyloom_tests::PASSPHRASE.to_string());
    let (mut vault, _) = Vault::create(
        &root.path().join("v"),
        &pass,
        vault_data::CreateOptions { kdf: KdfCost::LogN(14), ..Default::default() },
    )
    .unwrap();
    vault.populate_demo(20, 7).unwrap();
    let backup_pass = SecretString::from("backup passphrase for the test".to_string());
    let backup = vault.backup(&backup_pass, KdfCost::LogN(14)).unwrap();
    let before = vault.status().unwrap().counts.unwrap();
    vault.close().unwrap();
    assert!(!backup.windows(7).any(|w| w == b"payment"), "the backup is encrypted");

    let wrong = SecretString::from("not the backup passphrase".to_string());
    let target = root.path().join("restored");
    let err = vault_data::restore_backup(&backup, &wrong, &target, Unlock::Passphrase(pass.clone())).unwrap_err();
    assert_eq!(err.code(), "wrong_key");
    assert!(!target.exists(), "a failed restore leaves nothing behind");

    vault_data::restore_backup(&backup, &backup_pass, &target, Unlock::Passphrase(pass.clone())).unwrap();
    let mut restored = Vault::open(&target).unwrap();
    restored.unlock(Unlock::Passphrase(pass.clone())).unwrap();
    let after = restored.status().unwrap();
    assert_eq!(after.counts.unwrap().services, before.services);
    assert_eq!(after.counts.unwrap().credentials, before.credentials);
    assert!(restored.verify_audit().unwrap().ok);
    restored.close().unwrap();

    let err = vault_data::restore_backup(&backup, &backup_pass, &target, Unlock::Passphrase(pass)).unwrap_err();
    assert!(err.to_string().contains("not empty"), "{err}");
}

/// A write costs what it changes: the full snapshot is left alone and the change goes to the
/// journal, which `doctor --restore` replays; a journal cut mid-frame (a crash) still restores up
/// to its last whole frame.
#[test]
fn writes_append_to_the_journal_and_restore_replays_it() {
    let v = populated();
    let snapshot = v.path.join("vault.snapshot");
    let before = std::fs::read(&snapshot).unwrap();
    let journal_before = std::fs::metadata(v.path.join("vault.journal")).unwrap().len();
    let out = v.run_with_stdin(&["secret", "set", "payments/LATEST"], b"only-in-the-journal");
    keyloom_tests::assert_success(&out, &["secret set"]);
    assert_eq!(std::fs::read(&snapshot).unwrap(), before, "a small write must not rewrite the snapshot");
    let journal_after = std::fs::metadata(v.path.join("vault.journal")).unwrap().len();
    assert!(journal_after > journal_before, "the change is journaled ({journal_before} -> {journal_after})");

    // The database is lost: the snapshot plus its journal bring back the last write.
    std::fs::remove_dir_all(v.path.join("db")).unwrap();
    v.json(&["doctor", "--restore"]);
    assert_eq!(v.ok(&["secret", "get", "payments/LATEST", "-n"]), "only-in-the-journal");

    // A torn last frame: everything before it is restored, and the vault stays consistent.
    let out = v.run_with_stdin(&["secret", "set", "payments/TORN"], b"in-the-torn-frame");
    keyloom_tests::assert_success(&out, &["secret set"]);
    let j = v.path.join("vault.journal");
    let len = std::fs::metadata(&j).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&j).unwrap();
    f.set_len(len - 10).unwrap();
    drop(f);
    std::fs::remove_dir_all(v.path.join("db")).unwrap();
    let r = v.json(&["doctor", "--restore"]);
    assert!(r["records"].as_u64().unwrap() > 0);
    assert_eq!(v.ok(&["secret", "get", "payments/LATEST", "-n"]), "only-in-the-journal");
    v.fails(&["secret", "get", "payments/TORN"], 1);
    assert_eq!(v.json(&["audit", "verify"])["ok"], true);
}

/// `keyloom` with the same environment as `v.cmd(args)`, run through `setpriv` without the
/// capabilities that let root read everything, so root sees what another user would.
fn without_root_read_override(v: &TestVault, args: &[&str]) -> std::process::Output {
    let base = v.cmd(args);
    let mut c = std::process::Command::new("setpriv");
    c.arg("--bounding-set=-dac_override,-dac_read_search").arg(base.get_program()).args(base.get_args());
    c.env_clear();
    for (k, val) in base.get_envs() {
        if let Some(val) = val {
            c.env(k, val);
        }
    }
    c.output().expect("run setpriv")
}

#[test]
fn an_unreadable_or_other_users_vault_is_permission_denied_not_missing() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let v = TestVault::init();
    v.ok(&["service", "add", "pay", "--env", "prod"]);
    let vault = v.path.to_string_lossy().into_owned();
    let me = std::fs::metadata(&v.path).unwrap().uid();
    let check = |out: std::process::Output, what: &str| {
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(stderr.contains("permission denied") && stderr.contains(&vault), "{what}: {stderr}");
        assert!(!stderr.contains("no vault") && !stderr.contains("keyloom init"), "{what}: {stderr}");
    };

    // A vault folder this user cannot look into.
    std::fs::set_permissions(&v.path, std::fs::Permissions::from_mode(0o000)).unwrap();
    for args in [&["status"][..], &["service", "list"], &["init"]] {
        let out = if me == 0 { without_root_read_override(&v, args) } else { v.run(args) };
        check(out, &format!("unreadable, {args:?}"));
    }
    std::fs::set_permissions(&v.path, std::fs::Permissions::from_mode(0o700)).unwrap();

    // Another user's vault (only root can hand a folder to another user). Opening it as root
    // would leave root-owned files its owner cannot open: refused, naming whose it is.
    if me == 0 {
        std::os::unix::fs::chown(&v.path, Some(65534), None).unwrap();
        for args in [&["status"][..], &["secret", "list"]] {
            let out = v.run(args);
            check(out, &format!("other owner, {args:?}"));
            assert!(String::from_utf8_lossy(&v.run(args).stderr).contains("belongs to user id 65534"));
        }
        std::os::unix::fs::chown(&v.path, Some(0), None).unwrap();
    }
    assert_eq!(v.json(&["service", "list"]).as_array().unwrap().len(), 1);
}

/// Restoring is an explicit rollback: `doctor --restore` over a vault behind this machine's
/// anchor, and a backup restored where the vault lived, both pass the anchor, need a real factor
/// and leave an audit entry that says so; the vault then opens normally.
#[test]
fn restores_pass_the_anchor_only_as_explicit_audited_rollbacks() {
    let v = populated();
    let old = v.root.path().join("old");
    assert!(std::process::Command::new("cp").arg("-a").arg(&v.path).arg(&old).status().unwrap().success());
    v.ok(&["service", "add", "newer", "--env", "prod"]);
    std::fs::remove_dir_all(&v.path).unwrap();
    assert!(std::process::Command::new("cp").arg("-a").arg(&old).arg(&v.path).status().unwrap().success());
    v.fails(&["service", "list"], 3);
    let out = v.cmd(&["doctor", "--restore", "--force"]).env_remove("KEYLOOM_PASSPHRASE").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "a restore needs a real factor");
    v.json(&["doctor", "--restore", "--force"]);
    let log = v.json(&["audit", "list", "--action", "vault.restore"]).to_string();
    assert!(log.contains("explicit rollback past this machine's anchor"), "{log}");
    assert!(!v.json(&["service", "list"]).to_string().contains("newer"));

    // A backup restored in place of the vault (the library call the desktop's restore makes).
    use vault_data::{KdfCost, SecretString, Unlock, Vault};
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("v");
    let pass = SecretString::from(keyloom_tests::PASSPHRASE.to_string());
    let (mut vault, _) =
        Vault::create(&dir, &pass, vault_data::CreateOptions { kdf: KdfCost::LogN(14), ..Default::default() }).unwrap();
    let backup_pass = SecretString::from("backup passphrase for the test".to_string());
    let backup = vault.backup(&backup_pass, KdfCost::LogN(14)).unwrap();
    vault
        .services_mut()
        .add(vault_data::ServiceSpec { name: "after-backup".into(), environment: "prod".into(), ..Default::default() })
        .unwrap();
    vault.close().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    vault_data::restore_backup(&backup, &backup_pass, &dir, Unlock::Passphrase(pass.clone())).unwrap();
    let mut restored = Vault::open(&dir).unwrap();
    restored.unlock(Unlock::Passphrase(pass)).unwrap();
    let restore_entry = restored.audit_entries().unwrap().into_iter().rfind(|e| e.action == "vault.restore").unwrap();
    assert!(restore_entry.detail.unwrap().contains("past this machine's anchor"));
}
