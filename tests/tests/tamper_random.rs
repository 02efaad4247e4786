//! Random damage: bytes flipped, files truncated, ranges cut out and files deleted, at random
//! places in every file of a vault. Each damaged copy must either open with intact data or fail
//! with the integrity error (exit 3) naming what is damaged: never a panic, never wrong data.
//! Where the newest snapshot is untouched, `doctor --restore` must bring the data back.
//!
//! CI runs 120 cases; `scripts/tamper-test.sh` runs 1,000 (KEYLOOM_TAMPER_CASES).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use keyloom_tests::{Rng, TestVault};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.file_name().is_some_and(|n| n != "vault.lock") {
            out.push(p);
        }
    }
}

/// Damages one file at a random place; returns a description.
fn damage(rng: &mut Rng, file: &Path) -> String {
    let mut bytes = std::fs::read(file).unwrap();
    let len = bytes.len() as u64;
    let what = match rng.below(10) {
        0..=4 if len > 0 => {
            let at = rng.below(len) as usize;
            bytes[at] ^= 1 + rng.below(255) as u8;
            format!("flipped byte {at}")
        }
        5 | 6 if len > 0 => {
            let keep = rng.below(len) as usize;
            bytes.truncate(keep);
            format!("truncated to {keep} bytes")
        }
        7 | 8 if len > 1 => {
            let at = rng.below(len - 1) as usize;
            let n = 1 + rng.below((len - at as u64).min(4096)) as usize;
            bytes.drain(at..at + n);
            format!("cut {n} bytes at {at}")
        }
        _ => {
            std::fs::remove_file(file).unwrap();
            return "deleted".into();
        }
    };
    std::fs::write(file, bytes).unwrap();
    what
}

#[derive(Default)]
struct Tally {
    intact: usize,
    integrity_error: usize,
    restored: usize,
    snapshot_damaged_refused: usize,
}

#[test]
fn random_damage_is_detected_or_harmless_and_restorable() {
    let cases: usize = std::env::var("KEYLOOM_TAMPER_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(120);
    let seed: u64 = std::env::var("KEYLOOM_TAMPER_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x7461_6d70_6572);
    let mut rng = Rng::new(seed);

    // The pristine vault: services, secrets with known values, a bulk import, written and closed.
    let pristine = TestVault::init();
    pristine.ok(&["service", "add", "base", "--env", "prod"]);
    let mut values = BTreeMap::new();
    for i in 0..6 {
        let (name, value) = (format!("KEY_{i}"), format!("value-{i}-{}", rng.next_u64()));
        pristine.run_with_stdin(&["secret", "set", &format!("base/{name}")], value.as_bytes());
        values.insert(name, value);
    }
    for i in 0..8 {
        pristine.ok(&["service", "add", &format!("svc-{i}"), "--env", "staging"]);
    }
    let services: Vec<String> = (0..8).map(|i| format!("svc-{i}")).chain(["base".to_string()]).collect();
    let mut originals = Vec::new();
    files(&pristine.path, &mut originals);
    let relative: Vec<PathBuf> =
        originals.iter().map(|p| p.strip_prefix(&pristine.path).unwrap().to_path_buf()).collect();

    let mut tally = Tally::default();
    let mut failures = Vec::new();
    for case in 0..cases {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("vault");
        copy_dir(&pristine.path, &path);
        let rel = &relative[rng.below(relative.len() as u64) as usize];
        let what = format!("case {case}: {} {}", rel.display(), damage(&mut rng, &path.join(rel)));
        let snapshot_touched =
            rel.to_string_lossy().starts_with("vault.snapshot") && !rel.ends_with("vault.snapshot.prev");
        let tv = TestVault { root, path, recovery_key: pristine.recovery_key.clone() };

        let listed = tv.run(&["service", "list", "--json"]);
        let outcome = match listed.status.code() {
            Some(0) => {
                let v: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap_or_default();
                let mut got: Vec<String> =
                    v.as_array().into_iter().flatten().filter_map(|s| s["name"].as_str().map(str::to_string)).collect();
                got.sort();
                let mut want = services.clone();
                want.sort();
                if got != want {
                    failures.push(format!("{what}: opened with wrong services {got:?}"));
                    continue;
                }
                let secret = tv.run(&["secret", "get", "base/KEY_3"]);
                match secret.status.code() {
                    Some(0) if String::from_utf8_lossy(&secret.stdout).trim_end() == values["KEY_3"] => "intact",
                    Some(3) => "integrity",
                    other => {
                        failures.push(format!(
                            "{what}: secret get gave {other:?}: {}",
                            String::from_utf8_lossy(&secret.stderr)
                        ));
                        continue;
                    }
                }
            }
            Some(3) => "integrity",
            other => {
                failures.push(format!(
                    "{what}: exit {other:?} instead of 0 or 3: {}",
                    String::from_utf8_lossy(&listed.stderr).trim()
                ));
                continue;
            }
        };
        if outcome == "intact" {
            tally.intact += 1;
            continue;
        }
        let stderr = String::from_utf8_lossy(&listed.stderr).to_string();
        if stderr.trim().is_empty() && listed.status.code() == Some(3) {
            failures.push(format!("{what}: integrity error with no message"));
            continue;
        }
        tally.integrity_error += 1;
        // Restore from the snapshot; it must work unless the damage hit the newest snapshot (then
        // the previous one may still serve, or the restore refuses cleanly).
        let restore = tv.run(&["doctor", "--restore"]);
        let back = restore.status.success()
            && tv.run(&["secret", "get", "base/KEY_3"]).stdout.trim_ascii_end() == values["KEY_3"].as_bytes();
        if back {
            tally.restored += 1;
        } else if snapshot_touched && matches!(restore.status.code(), Some(1) | Some(3)) {
            tally.snapshot_damaged_refused += 1;
        } else {
            failures.push(format!(
                "{what}: doctor --restore did not bring the data back (exit {:?}): {}",
                restore.status.code(),
                String::from_utf8_lossy(&restore.stderr).trim()
            ));
        }
    }
    eprintln!(
        "tamper campaign ({cases} cases, seed {seed}): {} opened intact, {} refused with an integrity error \
         ({} restored by doctor --restore, {} with the snapshot itself damaged refused cleanly); {} failures",
        tally.intact,
        tally.integrity_error,
        tally.restored,
        tally.snapshot_damaged_refused,
        failures.len()
    );
    assert!(failures.is_empty(), "{} of {cases} cases went wrong:\n{}", failures.len(), failures.join("\n"));
}
