//! "Remember on this device" against the real Secret Service: the test starts its own D-Bus
//! session with an unlocked gnome-keyring, enables the device slot, and opens the vault with no
//! passphrase. Without a reachable Secret Service, `device enable` fails clearly and changes nothing.

use std::process::Command;

use keyloom_tests::{keyloom_bin, TestVault};

fn tool_present(name: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {name}")).output().is_ok_and(|o| o.status.success())
}

#[test]
fn device_slot_opens_the_vault_without_a_passphrase() {
    assert!(
        tool_present("dbus-run-session") && tool_present("gnome-keyring-daemon"),
        "this test needs dbus-run-session and gnome-keyring-daemon (Debian: dbus, gnome-keyring); .ci/run installs them"
    );
    let v = TestVault::init();
    v.ok(&["service", "add", "payments", "--env", "prod"]);
    let out = v.run_with_stdin(&["secret", "set", "payments/TOKEN"], b"device-unlocked-value");
    keyloom_tests::assert_success(&out, &["secret set"]);

    let bin = keyloom_bin();
    let script = format!(
        r#"set -e
echo -n test-keyring-pw | gnome-keyring-daemon --unlock --components=secrets >/dev/null
# Remembered for the desktop app only: the CLI does not use it.
"{bin}" device enable
if env -u KEYLOOM_PASSPHRASE "{bin}" secret get payments/TOKEN 2>/dev/null; then echo "UNEXPECTED: CLI used the device slot"; exit 1; fi
# --cli lets the CLI use it too; enabling it needs the passphrase, a device unlock is not enough.
"{bin}" device enable --cli
if env -u KEYLOOM_PASSPHRASE "{bin}" device enable --cli 2>/dev/null; then echo "UNEXPECTED: device unlock added a slot"; exit 1; fi
# A rekey keeps the device slot working for the CLI (the check value follows the key).
"{bin}" rekey --scrypt-log-n 14 >/dev/null
# From here on no passphrase exists anywhere in the environment.
unset KEYLOOM_PASSPHRASE
"{bin}" device status --json
"{bin}" secret get payments/TOKEN
# A substitute vault with the same (public) id and a device slot wrapped to this device's
# (public) recipient: refused, so nothing is written under the attacker's key.
id=$("{bin}" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["vault_id"])')
recipient=$(python3 -c 'import json,sys; print([s["recipient"] for s in json.load(open(sys.argv[1]))["slots"] if s["kind"]=="device"][0])' "$KEYLOOM_VAULT/vault.slots")
mv "$KEYLOOM_VAULT" "$KEYLOOM_VAULT.real"
# (made on the attacker's machine: its own config dir)
XDG_CONFIG_HOME="$HOME/attacker-config" "{forge}" impostor "$KEYLOOM_VAULT" "$id" "$recipient"
set +e
msg=$(echo planted | "{bin}" secret set payments/NEW_TOKEN 2>&1); code=$?
set -e
if [ "$code" != 3 ]; then echo "UNEXPECTED: substitute vault gave exit $code: $msg"; exit 1; fi
case "$msg" in *"not the vault this device remembers"*) echo "substitute refused";; *) echo "UNEXPECTED message: $msg"; exit 1;; esac
rm -rf "$KEYLOOM_VAULT"; mv "$KEYLOOM_VAULT.real" "$KEYLOOM_VAULT"
"{bin}" secret get payments/TOKEN
"{bin}" device disable
if "{bin}" secret get payments/TOKEN 2>/dev/null; then echo "UNEXPECTED: opened after disable"; exit 1; fi
echo done
"#,
        bin = bin.display(),
        forge = bin.with_file_name("keyloom-forge").display()
    );
    // The same isolated environment as every other keyloom call, inside a fresh D-Bus session.
    let env = v.cmd(&[]);
    let out = Command::new("dbus-run-session")
        .args(["--", "sh", "-c", &script])
        .env_clear()
        .envs(env.get_envs().filter_map(|(k, val)| val.map(|val| (k.to_owned(), val.to_owned()))))
        .output()
        .expect("run dbus-run-session");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("\"this_device_unlocks\": true"), "{stdout}");
    assert!(stdout.contains("device-unlocked-value"), "{stdout}");
    assert!(stdout.contains("substitute refused"), "{stdout}");
    assert!(stdout.trim_end().ends_with("done"), "{stdout}");
    let actions = v.json(&["audit", "list"]).to_string();
    assert!(actions.contains("device.enable") && actions.contains("device.disable"));
}

#[test]
fn device_enable_without_a_secret_service_fails_clearly_and_changes_nothing() {
    let v = TestVault::init();
    let before = v.json(&["status"])["slots"].as_array().unwrap().len();
    let mut c = v.cmd(&["device", "enable"]);
    // A bus address that leads nowhere: no Secret Service is reachable.
    c.env("DBUS_SESSION_BUS_ADDRESS", format!("unix:path={}/no-bus", v.root.path().display()));
    let out = c.output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("OS keyring") && err.contains("Secret Service"), "{err}");
    assert_eq!(v.json(&["status"])["slots"].as_array().unwrap().len(), before);
}
